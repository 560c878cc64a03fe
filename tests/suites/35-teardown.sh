# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Tearing down under traffic: packets still in the crypto (cryptd/pcrypt,
# defer_crypto's workqueue, the parallel mode's per-CPU workers and
# reorder ring) when their netns is deleted or kipsec.ko is unloaded.
# They must finish, or be dropped, without touching freed state: the
# harness fails the test on any BUG/WARNING/Oops on the console.
# Budget: about 45 s (4 cycles in each mode: two netns deletions, two
# unloads).

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

TD_NS=td
TD_A=10.97.0.1
TD_B=10.97.0.2

# td_up: netns td with both ends of one ESP transport SA pair on lo, so
# that one UDP sender drives kipsec's output and input paths at once.
td_up() {
	local k1 k2
	k1=$(keyhex 20 5)
	k2=$(keyhex 20 6)
	ip netns add "$TD_NS"
	ip -n "$TD_NS" -batch - <<-EOF
		link set lo up
		addr add $TD_A/32 dev lo
		addr add $TD_B/32 dev lo
		route replace local $TD_B dev lo table local src $TD_A
	EOF
	"$KIPSEC" -n "$TD_NS" -batch - <<-EOF
		state add src $TD_A dst $TD_B proto esp spi 0x3501 mode transport aead rfc4106(gcm(aes)) $k1 128
		state add src $TD_B dst $TD_A proto esp spi 0x3502 mode transport aead rfc4106(gcm(aes)) $k2 128
		policy add src $TD_A dst $TD_B proto udp dir out tmpl src $TD_A dst $TD_B proto esp mode transport
		policy add src $TD_A dst $TD_B proto udp dir in tmpl src $TD_A dst $TD_B proto esp mode transport
	EOF
}

# td_flood: 600-byte datagrams from A to B as fast as one shell sends
# them (above esp.c's ESP_PAR_MIN_LEN: spread over the CPUs), in the
# background; the shell's pid in TD_PID.
td_flood() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	nsenter --net="/run/netns/$TD_NS" bash -c '
		printf -v d "%0600d" 0
		while :; do echo "$d" >"/dev/udp/$1/9"; done' _ "$TD_B" \
		>/dev/null 2>&1 &
	TD_PID=$!
}

# td_wait_traffic: until kipsec has encrypted and decrypted packets
td_wait_traffic() {
	local i n
	for i in $(seq 1 50); do
		n=$("$KIPSEC" -n "$TD_NS" -j stats show 2>/dev/null |
			jq '[.out_packets, .in_packets] | min' 2>/dev/null) || n=0
		[ "${n:-0}" -gt 0 ] && return 0
		sleep 0.1
	done
	fail "no traffic through kipsec in netns $TD_NS"
}

td_stop_flood() {
	kill -KILL "$TD_PID" 2>/dev/null || true
	wait "$TD_PID" 2>/dev/null || true
}

# td_cycles N PARAMS...: N times, with kipsec.ko loaded with PARAMS: build
# the netns, start the flood, then delete the netns (odd cycles) or unload
# the module (even cycles) while packets are in flight.
td_cycles() {
	local n=$1 i
	shift
	for i in $(seq 1 "$n"); do
		if ! grep -q '^kipsec ' /proc/modules; then
			insmod "$KIPSEC_KO" "$@"
		fi
		td_up
		td_flood
		td_wait_traffic
		if [ $((i % 2)) = 1 ]; then
			# the flood's shell holds the netns: the netns goes
			# away once both are gone, with packets in the crypto
			td_stop_flood
			ip netns del "$TD_NS"
		else
			rmmod kipsec
			td_stop_flood
			ip netns del "$TD_NS"
		fi
	done
	grep -q '^kipsec ' /proc/modules || insmod "$KIPSEC_KO"
}

td_reload() {
	rmmod kipsec
	insmod "$KIPSEC_KO" "$@"
}

t_teardown_async() {
	need_kipsec
	td_reload force_async=1 defer_crypto=1 parallel=0
	td_cycles 4 force_async=1 defer_crypto=1 parallel=0
	td_reload
}
ktest netns_del_rmmod_async_in_flight t_teardown_async 120

t_teardown_parallel() {
	need_kipsec
	[ "$(nproc)" -ge 2 ] || skip "one CPU: nothing runs in parallel"
	td_reload parallel=1
	td_cycles 4 parallel=1
	td_reload
}
ktest netns_del_rmmod_parallel_in_flight t_teardown_parallel 120
