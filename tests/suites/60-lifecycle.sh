# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# SA lifecycle: lifetimes (`limit ...`), the events of the "events"
# multicast group and `kipsec monitor`.  Topology: tests/lib/topo.sh
# (ka, kipsec, 10.99.0.1 -- veth -- 10.99.0.2, xb, xfrm), transport mode,
# SPI_KX carries ka -> xb (echo requests), SPI_XK xb -> ka (replies).
#
# Events are read from `kipsec monitor -j` writing to a file: one JSON
# object a line with an "event" key.  A monitor has joined the group once
# it reports a dummy SA that the test adds and deletes (lc_mon_sync).

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

LC_GCM='rfc4106(gcm(aes))'
LC_AEAD="aead $LC_GCM 0x0102030405060708090a0b0c0d0e0f1011121314 128"
LC_MON=$TOPO_TMP/monitor
LC_PID=

lc_need() {
	[ "$KA_TOOL" = kipsec ] || skip "kipsec only: events and lifetimes"
	need_kipsec
	command -v jq >/dev/null || skip "no jq"
}

# lc_mon_start: `kipsec monitor -j` in ka, writing to $LC_MON, subscribed
lc_mon_start() {
	mkdir -p "$TOPO_TMP"
	in_netns "$KA" "$KIPSEC" monitor -j >"$LC_MON" 2>"$LC_MON.err" &
	LC_PID=$!
	trap 'kill "$LC_PID" 2>/dev/null || true' EXIT
	local i
	for ((i = 0; i < 40; i++)); do
		printf '%s\n' \
			"state add src 10.99.0.1 dst 10.99.0.9 proto esp spi 0x5e1f mode transport $LC_AEAD" \
			"state delete src 10.99.0.1 dst 10.99.0.9 proto esp spi 0x5e1f" |
			"$KIPSEC" -n "$KA" -batch - >/dev/null
		grep -q '"0x00005e1f"' "$LC_MON" && return 0
		kill -0 "$LC_PID" 2>/dev/null ||
			fail "kipsec monitor exited: $(cat "$LC_MON.err")"
		sleep 0.2
	done
	fail "kipsec monitor never reported the dummy SA"
}

# lc_wait EVENT SPI [hard|soft]: until such an event (bounded); grep, not
# jq: the monitor prints the keys in a fixed order (event first, hard last)
lc_wait() {
	local re="\"event\":\"$1\".*\"spi\":\"$2\"" i
	[ -n "${3:-}" ] && re+=".*\"hard\":$([ "$3" = hard ] && echo true || echo false)"
	for ((i = 0; i < 100; i++)); do
		grep -q "$re" "$LC_MON" && return 0
		sleep 0.2
	done
	fail "no $1 ${3:-} event for $2 in: $(cat "$LC_MON")"
}

# lc_events [SPI]: the events (of one SPI), in order, one word each;
# an expiry is expire_soft or expire_hard; the dummy SA is left out
lc_events() {
	jq -r --arg s "${1:-}" 'select(.spi != "0x00005e1f") |
		select($s == "" or .spi == $s) |
		.event + (if .event == "expire" then
			(if .hard then "_hard" else "_soft" end) else "" end)' \
		"$LC_MON" | tr '\n' ' ' | sed 's/ $//'
}

# lc_spis: the SPIs of the mature SAs kipsec has in ka (a PROTECT policy
# left without SA lists its acquire as a larval SA with SPI 0)
lc_spis() {
	"$KIPSEC" -n "$KA" -j state list |
		jq -r '.[] | select(.state != "larval") | .spi' | tr '\n' ' '
}

# lc_pair "KX LIMITS" "XK LIMITS": the SA pair and the policies, the
# limits (and any other state arguments) on the kipsec side only
lc_pair() {
	local kxl=$1 xkl=$2
	cfg xb state add src "$KA4" dst "$XB4" proto esp spi "$SPI_KX" \
		reqid "$REQ_KX" mode transport "$LC_AEAD"
	cfg xb state add src "$XB4" dst "$KA4" proto esp spi "$SPI_XK" \
		reqid "$REQ_XK" mode transport "$LC_AEAD"
	cfg ka state add src "$KA4" dst "$XB4" proto esp spi "$SPI_KX" \
		reqid "$REQ_KX" mode transport "$LC_AEAD" "$kxl"
	cfg ka state add src "$XB4" dst "$KA4" proto esp spi "$SPI_XK" \
		reqid "$REQ_XK" mode transport "$LC_AEAD" "$xkl"
	pol_pair transport 4 4
	cfg_apply
}

# lc_ping COUNT: echo requests ka -> xb, answered or not (bounded)
lc_ping() {
	in_netns "$KA" timeout $(($1 + 6)) busybox ping -q -c "$1" -W 1 \
		-w $(($1 + 3)) -I "$KA4" "$XB4" >/dev/null 2>&1 || true
}

# SA and policy changes reach the monitor in order; keys never do.  The
# limits show in `-s state list` as ip xfrm prints them, and in -j.
t_lc_events() {
	lc_need
	ip netns add "$KA"
	lc_mon_start
	local sa="src $KA4 dst $XB4 proto esp spi $SPI_KX"
	printf '%s\n' \
		"state add $sa mode transport $LC_AEAD limit time-soft 100 limit byte-hard 5000" \
		"state update $sa mode transport $LC_AEAD limit time-soft 200 time-hard 300 limit packet-soft 7" \
		"policy add src $KA4 dst $XB4 dir out tmpl proto esp mode transport" |
		"$KIPSEC" -n "$KA" -batch - || fail "add/update batch"
	local out
	out=$("$KIPSEC" -n "$KA" -s state list)
	echo "$out" | grep -q "lifetime config:" || fail "no lifetime config in: $out"
	echo "$out" | grep -q "limit: soft 7(packets), hard (INF)(packets)" ||
		fail "packet limits not shown: $out"
	echo "$out" | grep -q "expire add: soft 200(sec), hard 300(sec)" ||
		fail "time limits not shown: $out"
	echo "$out" | grep -q "add [0-9-]* [0-9:]* use -" ||
		fail "add/use times not shown: $out"
	out=$("$KIPSEC" -n "$KA" -j state list | jq -c '.[0] |
		[.lifetime["time-soft"], .lifetime["time-hard"],
		 .lifetime["packet-soft"], .lifetime["byte-hard"],
		 (.lifetime_current.add_time > 0), .lifetime_current.use_time]')
	[ "$out" = "[200,300,7,0,true,0]" ] || fail "-j lifetime: $out"
	printf '%s\n' \
		"policy delete src $KA4 dst $XB4 dir out" \
		"state delete $sa" |
		"$KIPSEC" -n "$KA" -batch - || fail "delete batch"
	lc_wait delete_sa "$(printf 0x%08x "$SPI_KX")"
	out=$(lc_events)
	[ "$out" = "add_sa update_sa add_policy delete_policy delete_sa" ] ||
		fail "events: $out"
	! grep -qi "0102030405060708" "$LC_MON" || fail "a key in the events"
}
ktest sa_and_policy_events_in_order t_lc_events 60

# time-soft/time-hard count from the SA's creation, time-use-* from its
# first packet: soft, then hard, then the SA is gone.
t_lc_time() {
	lc_need
	topo_up
	lc_mon_start
	lc_pair "limit time-use-soft 1 limit time-use-hard 2" \
		"limit time-soft 6 limit time-hard 8"
	local kx xk use
	kx=$(printf 0x%08x "$SPI_KX") xk=$(printf 0x%08x "$SPI_XK")
	use=$("$KIPSEC" -n "$KA" -j state list |
		jq --arg s "$kx" '.[] | select(.spi == $s) | .lifetime_current.use_time')
	[ "$use" = 0 ] || fail "use time before any packet: $use"
	ping_ok "$KA" "$KA4" "$XB4" 1
	lc_wait expire "$kx" hard
	lc_wait expire "$xk" hard
	[ "$(lc_events "$kx")" = "add_sa expire_soft expire_hard" ] ||
		fail "$kx (time-use): $(lc_events "$kx")"
	[ "$(lc_events "$xk")" = "add_sa expire_soft expire_hard" ] ||
		fail "$xk (time): $(lc_events "$xk")"
	[ -z "$(lc_spis)" ] || fail "hard-expired SAs still listed: $(lc_spis)"
}
ktest time_limits_soft_then_hard t_lc_time 60

# packet limits outbound (5 requests go out, the 6th drops as sa_expired),
# byte limits inbound (counted after authentication: the reply that
# exceeds the limit is delivered, the SA then goes).
t_lc_traffic() {
	lc_need
	topo_up
	lc_mon_start
	lc_pair "limit packet-soft 3 limit packet-hard 5" \
		"limit byte-soft 1 limit byte-hard 100"
	local kx xk n
	kx=$(printf 0x%08x "$SPI_KX") xk=$(printf 0x%08x "$SPI_XK")
	# two replies of 64 bytes each: soft at the first, hard at the second
	lc_ping 2
	lc_wait expire "$xk" hard
	[ "$(lc_events "$xk")" = "add_sa expire_soft expire_hard" ] ||
		fail "$xk (bytes): $(lc_events "$xk")"
	# requests 3, 4 (soft), 5 go out; the 6th is refused (hard)
	lc_ping 5
	lc_wait expire "$kx" hard
	[ "$(lc_events "$kx")" = "add_sa expire_soft expire_hard" ] ||
		fail "$kx (packets): $(lc_events "$kx")"
	n=$(xfrm_counts "$XB" | awk -v s="$kx" '$1 == s { print $2 }')
	expect_eq "packets the peer received on $kx" "$n" 5
	expect_ge "sa_expired drops" "$(ka_stat sa_expired)" 1
	[ -z "$(lc_spis)" ] || fail "hard-expired SAs still listed: $(lc_spis)"
}
ktest packet_and_byte_limits t_lc_traffic 90

# Running out of sequence numbers is a hard expiry: event, SA deleted.
t_lc_seq() {
	lc_need
	topo_up
	lc_mon_start
	lc_pair "replay-oseq 0xfffffffe" ""
	local kx
	kx=$(printf 0x%08x "$SPI_KX")
	lc_ping 3
	lc_wait expire "$kx" hard
	[ "$(lc_events "$kx")" = "add_sa expire_hard" ] ||
		fail "$kx: $(lc_events "$kx")"
	expect_ge "out_seq_overflow" "$(ka_stat out_seq_overflow)" 1
	! lc_spis | grep -q "$kx" || fail "exhausted SA still listed"
}
ktest seq_exhaustion_is_a_hard_expiry t_lc_seq 60

# With ESN the sequence space is 64 bits: the SA carries packet 2^64 - 1
# and expires hard at the next one, not at 2^32.
t_lc_esn_seq() {
	lc_need
	topo_up
	lc_mon_start
	lc_pair "flag esn replay-window 32 replay-oseq-hi 0xffffffff replay-oseq 0xfffffffe" ""
	local kx
	kx=$(printf 0x%08x "$SPI_KX")
	lc_ping 3
	lc_wait expire "$kx" hard
	[ "$(lc_events "$kx")" = "add_sa expire_hard" ] ||
		fail "$kx: $(lc_events "$kx")"
	expect_eq "packets sent before the sequence space ran out" \
		"$(ka_stat out_packets)" 1
	expect_ge "out_seq_overflow" "$(ka_stat out_seq_overflow)" 1
}
ktest esn_seq_exhaustion_at_2_64 t_lc_esn_seq 60

# Events carry SA contents: a user without CAP_NET_ADMIN cannot join.
t_lc_unpriv() {
	lc_need
	ip netns add "$KA"
	local out rc=0
	out=$(in_netns "$KA" timeout 10 setpriv --reuid 65534 --regid 65534 \
		--clear-groups --inh-caps=-all "$KIPSEC" monitor 2>&1) || rc=$?
	if [ "$rc" = 0 ] || [ "$rc" = 124 ]; then
		fail "unprivileged monitor was not refused (rc $rc): $out"
	fi
	echo "$out" | grep -q "Operation not permitted" ||
		fail "unprivileged monitor: $out"
}
ktest unprivileged_monitor_refused t_lc_unpriv 30
