#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: kipsec against Linux xfrm in the same guest, same topology,
# same keys, in alternating turns (xfrm, kipsec, xfrm, kipsec, ...).
#
#   netns ba 10.97.1.1 (inner) --- veth 10.97.0.1 <=== ESP tunnel ===> 10.97.0.2 --- 10.97.2.1 netns bb
#
# Both ends run the datapath under test (xfrm in both netns, or kipsec in
# both), so a row measures one encryption and one decryption per packet.
# Prints a table, and each row again as a "BENCH-JSON {...}" line that
# `make bench` collects into bench-results.json (docs/performance.md).
#
# Settings (environment, or VAR=value words in $1 from run-vm.sh bench):
# BENCH_TURNS (3), BENCH_SECS (4), BENCH_ROWS (regex on row names),
# BENCH_TAG (a label, default smpN), BENCH_SAS (100000) and BENCH_POLS
# (10000): the sizes of the extra tables, BENCH_PROFILE=impl[,impl]: perf
# profiles instead of the table.
set -u
for kv in ${1:-}; do export "${kv?}"; done
K=${KIPSEC:-$REPO/tools/kipsec}
TURNS=${BENCH_TURNS:-3}
SECS=${BENCH_SECS:-4}
ROWS=${BENCH_ROWS:-.}
TAG=${BENCH_TAG:-smp$(nproc)}
A=ba	# the sender's netns
B=bb	# the receiver's

KEY16=0x00112233445566778899aabbccddeeff01020304
KEY32=0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff01020304

topo_up() {
	ip netns add "$A"
	ip netns add "$B"
	ip link add vb-a netns "$A" type veth peer name vb-b netns "$B"
	ip -n "$A" addr add 10.97.0.1/24 dev vb-a
	ip -n "$B" addr add 10.97.0.2/24 dev vb-b
	ip -n "$A" addr add 10.97.1.1/32 dev lo
	ip -n "$B" addr add 10.97.2.1/32 dev lo
	for n in "$A" "$B"; do ip -n "$n" link set lo up; done
	ip -n "$A" link set vb-a up
	ip -n "$B" link set vb-b up
	ip -n "$A" route add 10.97.2.0/24 via 10.97.0.2 src 10.97.1.1
	ip -n "$B" route add 10.97.1.0/24 via 10.97.0.1 src 10.97.2.1
}

topo_down() {
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
}

# apply IMPL NS FILE: `ip xfrm` lines of FILE in netns NS, one process
apply() {
	if [ "$1" = xfrm ]; then
		sed 's/^/xfrm /' "$3" | ip -n "$2" -batch -
	else
		"$K" -n "$2" -batch "$3" >/dev/null
	fi
}

# configure IMPL ALG KEY ICV: the same command lines for xfrm and kipsec
configure() {
	local impl=$1 alg=$2 key=$3 icv=$4 ns f rc=0
	f=$(mktemp)
	for ns in "$A" "$B"; do
		cat >"$f" <<-EOF
			state add src 10.97.0.1 dst 10.97.0.2 proto esp spi 0x2001 reqid 1 mode tunnel aead $alg $key $icv replay-window 1024
			state add src 10.97.0.2 dst 10.97.0.1 proto esp spi 0x2002 reqid 2 mode tunnel aead $alg $key $icv replay-window 1024
		EOF
		if [ "$ns" = "$A" ]; then
			cat >>"$f" <<-EOF
				policy add src 10.97.1.0/24 dst 10.97.2.0/24 dir out tmpl src 10.97.0.1 dst 10.97.0.2 proto esp reqid 1 mode tunnel
				policy add src 10.97.2.0/24 dst 10.97.1.0/24 dir in tmpl src 10.97.0.2 dst 10.97.0.1 proto esp reqid 2 mode tunnel
			EOF
		else
			cat >>"$f" <<-EOF
				policy add src 10.97.2.0/24 dst 10.97.1.0/24 dir out tmpl src 10.97.0.2 dst 10.97.0.1 proto esp reqid 2 mode tunnel
				policy add src 10.97.1.0/24 dst 10.97.2.0/24 dir in tmpl src 10.97.0.1 dst 10.97.0.2 proto esp reqid 1 mode tunnel
			EOF
		fi
		apply "$impl" "$ns" "$f" || rc=1
	done
	rm -f "$f"
	return $rc
}

unconfigure() {
	local ns
	for ns in "$A" "$B"; do
		ip -n $ns xfrm state flush; ip -n $ns xfrm policy flush
		ip netns exec $ns "$K" state flush 2>/dev/null
		ip netns exec $ns "$K" policy flush 2>/dev/null
	done
}

# extra tables: install N unrelated SAs or policies on the sender, where
# the outbound policy and SA lookups of the data and the inbound SA lookup
# of the ACKs happen (xfrm needs ~4 ms per SA and ~17 ms per policy at
# 10,000 under TCG: both ends, three times, would not fit the bound)
fill_sas() {
	local impl=$1 n=$2 f
	f=$(mktemp)
	awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++)
		printf "state add src 10.200.%d.%d dst 10.201.%d.%d proto esp spi 0x%x mode tunnel aead rfc4106(gcm(aes)) 0x00112233445566778899aabbccddeeff01020304 128\n",
			int(i / 256) % 256, i % 256, int(i / 256) % 256, i % 256, 1048576 + i }' >"$f"
	apply "$impl" "$A" "$f" || { rm -f "$f"; return 1; }
	rm -f "$f"
}

fill_policies() {
	local impl=$1 n=$2 f
	f=$(mktemp)
	awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++)
		printf "policy add src 10.210.%d.%d/32 dst 10.211.%d.%d/32 proto udp dport %d dir out priority %d action block\n",
			int(i / 256) % 256, i % 256, int(i / 256) % 256, i % 256, 1000 + i % 60000, 100 + i }' >"$f"
	apply "$impl" "$A" "$f" || { rm -f "$f"; return 1; }
	rm -f "$f"
}

# measurements; each prints one number
tcp_mbps() {
	local streams=$1
	ip netns exec "$B" iperf3 -s -1 -B 10.97.2.1 -D >/dev/null 2>&1
	sleep 0.5
	timeout $((SECS + 15)) ip netns exec "$A" iperf3 -c 10.97.2.1 -B 10.97.1.1 \
		-t "$SECS" -P "$streams" -J 2>/dev/null |
		jq -e '.end.sum_received.bits_per_second / 1e6 * 10 | round / 10' 2>/dev/null ||
		echo 0
}

udp_pps() {
	local len=$1
	ip netns exec "$B" iperf3 -s -1 -B 10.97.2.1 -D >/dev/null 2>&1
	sleep 0.5
	timeout $((SECS + 15)) ip netns exec "$A" iperf3 -u -c 10.97.2.1 -B 10.97.1.1 \
		-t "$SECS" -l "$len" -b 0 -J 2>/dev/null |
		jq -e '.end.sum | (.packets - .lost_packets) / .seconds | round' 2>/dev/null ||
		echo 0
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# row NAME UNIT SETUP MEASURE: alternating turns, median of each, ratio
row() {
	local name=$1 unit=$2 setup=$3 measure=$4 t impl v xs="" ks="" mx mk ratio
	[[ $name =~ $ROWS ]] || return 0
	for t in $(seq 1 "$TURNS"); do
		for impl in xfrm kipsec; do
			topo_up
			if ! $setup $impl; then
				echo "# $name: $impl setup failed" >&2
				v=0
			else
				v=$($measure)
			fi
			topo_down
			if [ $impl = xfrm ]; then xs="$xs $v"; else ks="$ks $v"; fi
		done
	done
	mx=$(echo $xs | tr ' ' '\n' | median)
	mk=$(echo $ks | tr ' ' '\n' | median)
	ratio=$(awk -v k="$mk" -v x="$mx" 'BEGIN { if (x > 0) printf "%.2f", k / x; else print "n/a" }')
	printf '%-34s %-7s %12s %12s %7s   xfrm:[%s ] kipsec:[%s ]\n' "$name" "$unit" "$mx" "$mk" "$ratio" "$xs" "$ks"
	printf 'BENCH-JSON {"row":"%s","tag":"%s","unit":"%s","xfrm":%s,"kipsec":%s,"ratio":"%s","xfrm_runs":"%s","kipsec_runs":"%s"}\n' \
		"$name" "$TAG" "$unit" "$mx" "$mk" "$ratio" "$xs" "$ks"
}

# row_kept NAME UNIT SETUP MEASURE: as row, for setups too slow to repeat
# per turn (the big tables): each datapath gets its topology and tables
# once (netns ${A}x/${B}x and ${A}k/${B}k side by side), then the turns
# alternate on them
row_kept() {
	local name=$1 unit=$2 setup=$3 measure=$4 t impl v xs="" ks="" mx mk ratio ok_x=1 ok_k=1
	[[ $name =~ $ROWS ]] || return 0
	A=bax B=bbx topo_up
	A=bax B=bbx $setup xfrm || { echo "# $name: xfrm setup failed" >&2; ok_x=0; }
	A=bak B=bbk topo_up
	A=bak B=bbk $setup kipsec || { echo "# $name: kipsec setup failed" >&2; ok_k=0; }
	for t in $(seq 1 "$TURNS"); do
		v=0; [ $ok_x = 1 ] && v=$(A=bax B=bbx $measure)
		xs="$xs $v"
		v=0; [ $ok_k = 1 ] && v=$(A=bak B=bbk $measure)
		ks="$ks $v"
	done
	A=bax B=bbx topo_down
	A=bak B=bbk topo_down
	mx=$(echo $xs | tr ' ' '\n' | median)
	mk=$(echo $ks | tr ' ' '\n' | median)
	ratio=$(awk -v k="$mk" -v x="$mx" 'BEGIN { if (x > 0) printf "%.2f", k / x; else print "n/a" }')
	printf '%-34s %-7s %12s %12s %7s   xfrm:[%s ] kipsec:[%s ]\n' "$name" "$unit" "$mx" "$mk" "$ratio" "$xs" "$ks"
	printf 'BENCH-JSON {"row":"%s","tag":"%s","unit":"%s","xfrm":%s,"kipsec":%s,"ratio":"%s","xfrm_runs":"%s","kipsec_runs":"%s"}\n' \
		"$name" "$TAG" "$unit" "$mx" "$mk" "$ratio" "$xs" "$ks"
}

gcm128() { configure "$1" 'rfc4106(gcm(aes))' $KEY16 128; }
gcm256() { configure "$1" 'rfc4106(gcm(aes))' $KEY32 128; }
chacha() { configure "$1" 'rfc7539esp(chacha20,poly1305)' $KEY32 128; }
gcm128_100k_sas() { fill_sas "$1" "${BENCH_SAS:-100000}" && gcm128 "$1"; }
gcm128_10k_pols() { fill_policies "$1" "${BENCH_POLS:-10000}" && gcm128 "$1"; }
tcp1() { tcp_mbps 1; }
tcp4() { tcp_mbps 4; }
udp64() { udp_pps 64; }
udp1400() { udp_pps 1400; }

# The crypto ceiling: the same AEAD driver, in-kernel, no datapath (tcrypt,
# 1420-byte blocks, the size of a full-MTU ESP payload), one CPU.
ceiling() {
	local mode
	[[ ceiling =~ $ROWS ]] || return 0
	for mode in 211 213; do
		dmesg -c >/dev/null
		modprobe tcrypt mode=$mode sec=1 >/dev/null 2>&1
		dmesg | python3 -c '
import re, sys
alg = None
for line in sys.stdin:
    m = re.search(r"testing speed of (\S+) \((\S+)\) (encryption|decryption)", line)
    if m:
        alg = m.groups()
        continue
    m = re.search(r"\((\d+) bit key, 1420 byte blocks\): (\d+) operations in (\d+) seconds \((\d+) bytes\)", line)
    if m and alg and alg[0].startswith("rfc"):
        mbps = int(m.group(4)) * 8 / 1e6 / int(m.group(3))
        name = "ceiling_%s_%sbit_%s" % (alg[0], m.group(1), alg[2][:3])
        print("%-34s %-7s %12s %12.0f %7s   driver %s" % (name, "Mbit/s", "-", mbps, "-", alg[1]))
        print("BENCH-JSON {\"row\":\"%s\",\"unit\":\"Mbit/s\",\"ceiling\":%.0f,\"driver\":\"%s\"}" % (name, mbps, alg[1]))
'
	done
}

# profile IMPL: a guest-wide perf profile (perf record -a -g) during the
# single-stream TCP row; prints the top entries of perf report.
profile() {
	local impl=$1 data=/tmp/bench-perf.data
	command -v perf >/dev/null || { echo "# profile: no perf (linux-perf)"; return 0; }
	topo_up
	gcm128 "$impl" || { topo_down; return 1; }
	ip netns exec "$B" iperf3 -s -1 -B 10.97.2.1 -D >/dev/null 2>&1
	sleep 0.5
	# perf takes seconds to start under TCG: it starts the client itself,
	# so that the samples cover the transfer
	perf record -q -e cpu-clock -a -g -o "$data" -- \
		ip netns exec "$A" iperf3 -c 10.97.2.1 -B 10.97.1.1 -t "$SECS" 2>&1 |
		grep -E 'sender|receiver'
	topo_down
	printf '# profile %s: perf record -e cpu-clock -a -g, %d s of tcp_1stream_gcm128\n' "$impl" "$SECS"
	perf report -i "$data" --stdio --no-children --sort symbol -g none \
		--percent-limit 0.7 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n "${BENCH_PROFILE_LINES:-30}"
	perf report -i "$data" --stdio --no-children --sort dso -g none 2>/dev/null |
		grep -v '^#' | grep -v '^$' | head -n 8
	rm -f "$data"
}

if [ -n "${BENCH_PROFILE:-}" ]; then
	for impl in ${BENCH_PROFILE//,/ }; do profile "$impl"; done
	exit 0
fi

printf '# kipsec bench, %s, %d turns of %d s each, %s\n' "$TAG" "$TURNS" "$SECS" "$(uname -r)"
printf '%-34s %-7s %12s %12s %7s\n' row unit xfrm kipsec ratio
row "tcp_1stream_gcm128" Mbit/s gcm128 tcp1
row "tcp_4streams_gcm128" Mbit/s gcm128 tcp4
row "udp64_pps_gcm128" pkt/s gcm128 udp64
row "udp1400_pps_gcm128" pkt/s gcm128 udp1400
row "tcp_1stream_gcm256" Mbit/s gcm256 tcp1
row "tcp_1stream_chacha20poly1305" Mbit/s chacha tcp1
row_kept "tcp_1stream_gcm128_10k_policies" Mbit/s gcm128_10k_pols tcp1
row_kept "tcp_1stream_gcm128_100k_sas" Mbit/s gcm128_100k_sas tcp1
ceiling
exit 0
