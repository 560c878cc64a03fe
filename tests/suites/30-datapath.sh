# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# Datapath smoke tests: kipsec in netns dpa against Linux xfrm in netns
# dpb, configured with the same `ip xfrm` command lines, over a veth pair.
#
#   dpa (kipsec)                               dpb (xfrm)
#   lo  10.1.0.1  fd01::1                      lo  10.2.0.1  fd02::1
#   va  10.0.0.1  fd00::1  ==== veth ====  vb  10.0.0.2  fd00::2
#
# Neighbours are static so that no ARP/ND is on the wire: one ping is then
# exactly one ESP packet each way, which the counter checks rely on.  The
# inner addresses on lo are the preferred sources of the routes to the
# peer's inner address; tunnel-mode policies protect inner<->inner with
# the veth addresses as the outer ones.

DP_PY=/usr/bin/python3
DP_KEY=0x0102030405060708090a0b0c0d0e0f1011121314
DP_AEAD="aead rfc4106(gcm(aes)) $DP_KEY 128"

# one `ip -batch` a namespace: each ip process costs ~0.6 s in the guest
dp_topo() {
	ip -batch - <<-EOF
		netns add dpa
		netns add dpb
		link add va netns dpa address 02:00:00:00:30:01 type veth peer name vb netns dpb address 02:00:00:00:30:02
	EOF
	ip -n dpa -batch - <<-EOF
		link set lo up
		addr add 10.0.0.1/24 dev va
		addr add fd00::1/64 dev va nodad
		addr add 10.1.0.1/32 dev lo
		addr add fd01::1/128 dev lo nodad
		link set va up
		neigh add 10.0.0.2 lladdr 02:00:00:00:30:02 dev va nud permanent
		neigh add fd00::2 lladdr 02:00:00:00:30:02 dev va nud permanent
		route add 10.2.0.1/32 via 10.0.0.2 src 10.1.0.1
		route add fd02::1/128 via fd00::2 src fd01::1
	EOF
	ip -n dpb -batch - <<-EOF
		link set lo up
		addr add 10.0.0.2/24 dev vb
		addr add fd00::2/64 dev vb nodad
		addr add 10.2.0.1/32 dev lo
		addr add fd02::1/128 dev lo nodad
		link set vb up
		neigh add 10.0.0.1 lladdr 02:00:00:00:30:01 dev vb nud permanent
		neigh add fd00::1 lladdr 02:00:00:00:30:01 dev vb nud permanent
		route add 10.1.0.1/32 via 10.0.0.1 src 10.2.0.1
		route add fd01::1/128 via fd00::1 src fd02::1
	EOF
}

# the kipsec side runs `ip xfrm` grammar through the CLI, the peer ip xfrm
dp_a() { "$KIPSEC" -n dpa "$@"; }
dp_b() { ip -n dpb xfrm "$@"; }

# dp_conf MODE OUTER_A OUTER_B INNER_A INNER_B [extra state args...]
# SPI 0x100 carries a->b, 0x200 b->a; the same lines on both sides.  In
# the extra arguments the word SEL stands for the SA's selector (the inner
# addresses): xfrm needs it for 6-in-4, and "flag af-unspec" for 4-in-6.
dp_conf() {
	local mode=$1 oa=$2 ob=$3 ia=$4 ib=$5 tab tba side a
	local xab=() xba=()
	shift 5
	for a in "$@"; do
		if [ "$a" = SEL ]; then
			xab+=(sel src "$ia" dst "$ib")
			xba+=(sel src "$ib" dst "$ia")
		else
			xab+=("$a")
			xba+=("$a")
		fi
	done
	tab="tmpl proto esp mode $mode"
	tba="tmpl proto esp mode $mode"
	if [ "$mode" = tunnel ]; then
		tab="tmpl src $oa dst $ob proto esp mode $mode"
		tba="tmpl src $ob dst $oa proto esp mode $mode"
	fi
	for side in dp_a dp_b; do
		# shellcheck disable=SC2086
		$side state add src "$oa" dst "$ob" proto esp spi 0x100 \
			mode "$mode" $DP_AEAD ${xab[@]+"${xab[@]}"}
		# shellcheck disable=SC2086
		$side state add src "$ob" dst "$oa" proto esp spi 0x200 \
			mode "$mode" $DP_AEAD ${xba[@]+"${xba[@]}"}
	done
	# shellcheck disable=SC2086
	{
		dp_a policy add src "$ia" dst "$ib" dir out $tab
		dp_a policy add src "$ib" dst "$ia" dir in $tba
		dp_b policy add src "$ib" dst "$ia" dir out $tba
		dp_b policy add src "$ia" dst "$ib" dir in $tab
	}
}

# dp_kstats: every counter of every kipsec SA in dpa, "SPI FIELD VALUE"
dp_kstats() {
	dp_a -s -j state list | $DP_PY -c '
import json, sys
for sa in json.load(sys.stdin):
    for k, v in sa["stats"].items():
        print("0x%x" % sa["spi_num"], k, v)'
}

# dp_kget STATS SPI FIELD: one value of dp_kstats output (-1: none)
dp_kget() {
	awk -v s="$2" -v f="$3" 'BEGIN { v = -1 }
		$1 == s && $2 == f { v = $3 } END { print v }' <<< "$1"
}

# dp_kstat SPI FIELD: one kipsec SA counter in dpa
dp_kstat() {
	dp_kget "$(dp_kstats)" "$1" "$2"
}

# dp_gstat FIELD: a kipsec global counter in dpa
dp_gstat() {
	dp_a -j stats | $DP_PY -c '
import json, sys
def find(o, k):
    if isinstance(o, dict):
        if k in o:
            return o[k]
        for v in o.values():
            r = find(v, k)
            if r is not None:
                return r
    if isinstance(o, list):
        for v in o:
            r = find(v, k)
            if r is not None:
                return r
    return None
r = find(json.load(sys.stdin), sys.argv[1])
print(-1 if r is None else r)' "$1"
}

# dp_xpkts SRC DST SPI: packets counted by the xfrm SA in dpb
dp_xpkts() {
	ip -n dpb -s xfrm state get src "$1" dst "$2" proto esp \
		spi "$3" |
		sed -n 's/.*(bytes), \([0-9]*\)(packets).*/\1/p' | head -n 1
}

dp_ping() {
	in_netns "$1" timeout 20 busybox ping -q -c "${4:-3}" -W 2 \
		-I "$2" "$3" >/dev/null
}

dp_expect() {
	[ "$2" = "$3" ] || fail "$1: expected $3, got $2"
}

# ping both ways between the inner addresses, 3 each; exact counters
# N=6 on all four SAs (3 requests + 3 replies each way)
dp_pingpong() {
	local oa=$1 ob=$2 ia=$3 ib=$4 st
	dp_ping dpa "$ia" "$ib" || fail "kipsec -> xfrm ping $ia -> $ib"
	dp_ping dpb "$ib" "$ia" || fail "xfrm -> kipsec ping $ib -> $ia"
	st=$(dp_kstats)
	dp_expect "kipsec out 0x100" "$(dp_kget "$st" 0x100 out_packets)" 6
	dp_expect "kipsec in 0x200" "$(dp_kget "$st" 0x200 in_packets)" 6
	dp_expect "xfrm 0x100" "$(dp_xpkts "$oa" "$ob" 0x100)" 6
	dp_expect "xfrm 0x200" "$(dp_xpkts "$ob" "$oa" 0x200)" 6
	dp_expect "kipsec in 0x100" "$(dp_kget "$st" 0x100 in_packets)" 0
	dp_expect "kipsec auth failures" "$(dp_kget "$st" 0x200 in_auth_fail)" 0
}

dp_need() {
	[ -x "$KIPSEC" ] || skip "tools/kipsec not built"
	modinfo esp4 >/dev/null 2>&1 || skip "no esp4 for the xfrm peer"
}

t_dp_transport4() {
	dp_need
	dp_topo
	dp_conf transport 10.0.0.1 10.0.0.2 10.0.0.1 10.0.0.2
	dp_pingpong 10.0.0.1 10.0.0.2 10.0.0.1 10.0.0.2
}
ktest gcm128_transport_v4 t_dp_transport4

t_dp_tunnel4() {
	dp_need
	dp_topo
	dp_conf tunnel 10.0.0.1 10.0.0.2 10.1.0.1 10.2.0.1
	dp_pingpong 10.0.0.1 10.0.0.2 10.1.0.1 10.2.0.1
}
ktest gcm128_tunnel_v4 t_dp_tunnel4

t_dp_transport6() {
	dp_need
	dp_topo
	dp_conf transport fd00::1 fd00::2 fd00::1 fd00::2
	dp_pingpong fd00::1 fd00::2 fd00::1 fd00::2
}
ktest gcm128_transport_v6 t_dp_transport6

t_dp_tunnel6() {
	dp_need
	dp_topo
	dp_conf tunnel fd00::1 fd00::2 fd01::1 fd02::1
	dp_pingpong fd00::1 fd00::2 fd01::1 fd02::1
}
ktest gcm128_tunnel_v6 t_dp_tunnel6

t_dp_4in6() {
	dp_need
	dp_topo
	dp_conf tunnel fd00::1 fd00::2 10.1.0.1 10.2.0.1 flag af-unspec
	dp_pingpong fd00::1 fd00::2 10.1.0.1 10.2.0.1
}
ktest gcm128_tunnel_4in6 t_dp_4in6

t_dp_6in4() {
	dp_need
	dp_topo
	dp_conf tunnel 10.0.0.1 10.0.0.2 fd01::1 fd02::1 SEL
	dp_pingpong 10.0.0.1 10.0.0.2 fd01::1 fd02::1
}
ktest gcm128_tunnel_6in4 t_dp_6in4

t_dp_esn() {
	dp_need
	dp_topo
	dp_conf transport 10.0.0.1 10.0.0.2 10.0.0.1 10.0.0.2 \
		flag esn replay-window 64
	dp_pingpong 10.0.0.1 10.0.0.2 10.0.0.1 10.0.0.2
}
ktest gcm128_esn_transport_v4 t_dp_esn

# dp_wait_listen PORT: until a TCP socket listens on PORT in dpb (20 s)
dp_wait_listen() {
	local _
	for _ in $(seq 1 100); do
		in_netns dpb ss -Hltn "sport = :$1" | grep -q . && return 0
		sleep 0.2
	done
	fail "nothing listens on port $1"
}

# 1 MB over TCP from the kipsec side through a tunnel: GSO segments are
# split before the transform; the data must arrive intact.
dp_tcp() {
	local dst=$1 src=$2 out
	in_netns dpb $DP_PY -c '
import socket, hashlib, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001)); s.listen(1); s.settimeout(30)
c, _ = s.accept(); c.settimeout(30); h = hashlib.sha256(); n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d); h.update(d)
print(n, h.hexdigest())' "$dst" > /tmp/dp_tcp.out &
	dp_wait_listen 5001
	out=$(in_netns dpa timeout 60 $DP_PY -c '
import socket, hashlib, sys
data = bytes(range(256)) * 4096
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.bind((sys.argv[2], 0)); s.settimeout(30)
s.connect((sys.argv[1], 5001)); s.sendall(data); s.close()
print(len(data), hashlib.sha256(data).hexdigest())' "$dst" "$src")
	wait
	log "sent $out, received $(cat /tmp/dp_tcp.out)"
	[ "$out" = "$(cat /tmp/dp_tcp.out)" ] || fail "TCP data differs"
}

t_dp_gso_tcp() {
	local gso
	dp_need
	dp_topo
	dp_conf tunnel 10.0.0.1 10.0.0.2 10.1.0.1 10.2.0.1
	gso=$(in_netns dpa ethtool -k va 2>/dev/null |
		sed -n 's/^generic-segmentation-offload: //p') || true
	log "va gso: ${gso:-unknown}"
	dp_tcp 10.2.0.1 10.1.0.1
	[ "$(dp_kstat 0x100 out_error)" = 0 ] || fail "out_error counted"
	if command -v iperf3 >/dev/null; then
		in_netns dpb timeout 20 iperf3 -s -1 -B 10.2.0.1 \
			>/dev/null 2>&1 &
		dp_wait_listen 5201
		log "iperf3 kipsec->xfrm tunnel: $(in_netns dpa timeout 20 \
			iperf3 -c 10.2.0.1 -B 10.1.0.1 -t 2 2>&1 |
			sed -n 's/.* \([0-9.]* [MG]bits\/sec\).*sender/\1/p')"
		wait
	fi
}
ktest gso_tcp_tunnel_v4 t_dp_gso_tcp 120

t_dp_gso_tcp6() {
	dp_need
	dp_topo
	dp_conf tunnel fd00::1 fd00::2 fd01::1 fd02::1
	dp_tcp fd02::1 fd01::1
}
ktest gso_tcp_tunnel_v6 t_dp_gso_tcp6 120

# A PROTECT policy without its SA: nothing leaves in plaintext.  The peer
# captures on its veth (tests/lib/sniff.py, bound before the ping starts)
# while kipsec pings.
t_dp_no_sa() {
	local seen before after pid i sum=/tmp/dp_sniff.sum
	dp_need
	dp_topo
	dp_a policy add src 10.0.0.1 dst 10.0.0.2 dir out \
		tmpl proto esp mode transport
	before=$(dp_gstat out_no_sa)
	rm -f /tmp/dp_sniff.*
	# nsenter itself, not in_netns: $! must be the capturing process
	nsenter --net=/run/netns/dpb timeout 60 $DP_PY \
		"$(dirname "$KTEST_LIB")/sniff.py" capture -i vb --save none \
		--ready /tmp/dp_sniff.ready >"$sum" 2>/tmp/dp_sniff.err &
	pid=$!
	for ((i = 0; i < 150; i++)); do
		[ -e /tmp/dp_sniff.ready ] && break
		kill -0 "$pid" 2>/dev/null || fail "capture: $(cat /tmp/dp_sniff.err)"
		sleep 0.1
	done
	[ -e /tmp/dp_sniff.ready ] || fail "the capture never started"
	! dp_ping dpa 10.0.0.1 10.0.0.2 || fail "ping got through without SA"
	kill -TERM "$pid"
	wait "$pid" || true
	grep -q '^saved ' "$sum" || fail "capture gave no summary: $(cat /tmp/dp_sniff.err)"
	seen=$(awk '$1 == "in:icmp:8" { print $2 } END { if (!NR) print 0 }' "$sum")
	seen=${seen:-0}
	after=$(dp_gstat out_no_sa)
	log "ICMP echo requests seen by the peer: $seen; out_no_sa $before -> $after"
	[ "$seen" = 0 ] || fail "plaintext ICMP left kipsec"
	# busybox ping stops at the first EPERM from the dropped packet
	[ "$after" -ge $((before + 1)) ] || fail "out_no_sa not counted"
}
ktest no_plaintext_without_sa t_dp_no_sa

# Plaintext arriving where an inbound PROTECT policy requires ESP: dropped
# and counted.
t_dp_plaintext_in() {
	dp_need
	dp_topo
	dp_a policy add src 10.0.0.2 dst 10.0.0.1 dir in \
		tmpl proto esp mode transport
	! dp_ping dpb 10.0.0.2 10.0.0.1 || fail "plaintext ping accepted"
	[ "$(dp_gstat in_plaintext)" -ge 3 ] || fail "in_plaintext not counted"
}
ktest plaintext_in_dropped t_dp_plaintext_in

# Asynchronous completion: with esp.c's defer_crypto knob every request is
# submitted from a workqueue and completes after the hook returned, as
# with an asynchronous driver (crypto.c's force_async cannot wrap the
# AES-NI driver in cryptd).
t_dp_async() {
	local p=/sys/module/kipsec/parameters/defer_crypto ok=1
	dp_need
	[ -w "$p" ] || skip "no defer_crypto parameter"
	echo 1 > "$p"
	dp_topo
	dp_conf tunnel fd00::1 fd00::2 10.1.0.1 10.2.0.1 flag af-unspec
	(dp_pingpong fd00::1 fd00::2 10.1.0.1 10.2.0.1 &&
	 dp_tcp 10.2.0.1 10.1.0.1) || ok=0
	echo 0 > "$p"
	[ $ok = 1 ] || fail "deferred crypto"
}
ktest async_crypto_4in6 t_dp_async 180

# Tunnel outer header: DSCP copied from the inner packet, ECN per RFC 6040
# (ECT(1) inner -> ECT(1) outer; CE inner -> ECT(0) outer), DF copied.
# UDP with TOS 0xb9 (EF + ECT(1)) and 0xbb (EF + CE) from kipsec; the
# peer's AF_PACKET socket reads the outer IPv4 header of the ESP frames.
t_dp_outer_hdr() {
	local got _
	rm -f /tmp/dp_hdr.ready
	dp_need
	dp_topo
	dp_conf tunnel 10.0.0.1 10.0.0.2 10.1.0.1 10.2.0.1
	in_netns dpb timeout 20 $DP_PY -c '
import socket, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("vb", 0)); s.settimeout(0.5); out = []; end = time.time() + 8
open("/tmp/dp_hdr.ready", "w").close()
while time.time() < end and len(out) < 2:
    try:
        f = s.recv(2048)
    except socket.timeout:
        continue
    if f[12:14] == b"\x08\x00" and f[23] == 50 and f[26:30] == bytes([10, 0, 0, 1]):
        out.append("%02x/%02x/%d" % (f[15], f[20] & 0x40, f[22]))
print(" ".join(out))' > /tmp/dp_hdr.out &
	# python takes seconds to start under TCG: send once it listens
	for _ in $(seq 1 200); do
		[ -e /tmp/dp_hdr.ready ] && break
		sleep 0.1
	done
	in_netns dpa $DP_PY -c '
import socket
for tos in (0xb9, 0xbb):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
    s.bind(("10.1.0.1", 0)); s.sendto(b"x" * 100, ("10.2.0.1", 9))
    s.close()'
	wait
	got=$(cat /tmp/dp_hdr.out)
	log "outer tos/DF/ttl: $got"
	# 0xb9 -> b9, 0xbb (CE) -> ba; DF set (0x40) as in the inner
	# UDP packet (IP_PMTUDISC default), TTL 64
	[ "$got" = "b9/40/64 ba/40/64" ] || fail "outer header: $got"
}
ktest tunnel_outer_dscp_ecn_df t_dp_outer_hdr

# A gateway: kipsec in dpa forwards for dpc (10.3.0.2) through a tunnel to
# the xfrm host dpb; decapsulated replies are forwarded back (FORWARD hook
# with the SA marker, dir fwd policy).
t_dp_forward() {
	dp_need
	dp_topo
	ip netns add dpc
	ip link add vc netns dpc type veth peer name vac netns dpa
	ip -n dpc link set lo up
	ip -n dpc addr add 10.3.0.2/24 dev vc
	ip -n dpa addr add 10.3.0.1/24 dev vac
	ip -n dpc link set vc up
	ip -n dpa link set vac up
	ip -n dpc route add default via 10.3.0.1
	in_netns dpa sysctl -qw net.ipv4.ip_forward=1
	ip -n dpb route add 10.3.0.0/24 via 10.0.0.1 src 10.2.0.1
	local side
	for side in dp_a dp_b; do
		# shellcheck disable=SC2086
		$side state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x100 \
			mode tunnel $DP_AEAD
		# shellcheck disable=SC2086
		$side state add src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x200 \
			mode tunnel $DP_AEAD
	done
	dp_a policy add src 10.3.0.0/24 dst 10.2.0.1 dir out \
		tmpl src 10.0.0.1 dst 10.0.0.2 proto esp mode tunnel
	dp_a policy add src 10.2.0.1 dst 10.3.0.0/24 dir fwd \
		tmpl src 10.0.0.2 dst 10.0.0.1 proto esp mode tunnel
	dp_b policy add src 10.2.0.1 dst 10.3.0.0/24 dir out \
		tmpl src 10.0.0.2 dst 10.0.0.1 proto esp mode tunnel
	dp_b policy add src 10.3.0.0/24 dst 10.2.0.1 dir in \
		tmpl src 10.0.0.1 dst 10.0.0.2 proto esp mode tunnel
	in_netns dpc timeout 20 busybox ping -q -c 3 -W 2 10.2.0.1 \
		>/dev/null || fail "ping through the kipsec gateway"
	st=$(dp_kstats)
	dp_expect "kipsec out 0x100" "$(dp_kget "$st" 0x100 out_packets)" 3
	dp_expect "kipsec in 0x200" "$(dp_kget "$st" 0x200 in_packets)" 3
	dp_expect "xfrm 0x100" "$(dp_xpkts 10.0.0.1 10.0.0.2 0x100)" 3
	# without the fwd policy, decapsulated tunnel traffic is refused
	dp_a policy delete src 10.2.0.1 dst 10.3.0.0/24 dir fwd
	! in_netns dpc timeout 10 busybox ping -q -c 1 -W 2 10.2.0.1 \
		>/dev/null || fail "forwarded without a fwd policy"
	[ "$(dp_gstat in_policy_mismatch)" -ge 1 ] ||
		fail "in_policy_mismatch not counted"
}
ktest tunnel_gateway_forward_v4 t_dp_forward

# Packets larger than the MTU: the outer ESP packets are fragmented and
# reassembled (IPv4 by ip_local_deliver, IPv6 by nf_defrag_ipv6, which
# kipsec enables in the netns) both ways.
t_dp_big() {
	dp_need
	dp_topo
	dp_conf transport fd00::1 fd00::2 fd00::1 fd00::2
	in_netns dpa timeout 20 busybox ping -q -c 2 -W 3 -s 3000 \
		fd00::2 >/dev/null || fail "big ping v6 kipsec -> xfrm"
	in_netns dpb timeout 20 busybox ping -q -c 2 -W 3 -s 3000 \
		fd00::1 >/dev/null || fail "big ping v6 xfrm -> kipsec"
	dp_expect "kipsec in 0x200" "$(dp_kstat 0x200 in_packets)" 4
	ip -all netns delete
	dp_topo
	dp_conf tunnel 10.0.0.1 10.0.0.2 10.1.0.1 10.2.0.1
	dp_ping dpa 10.1.0.1 10.2.0.1 2 || fail "warm-up"
	in_netns dpa timeout 20 busybox ping -q -c 2 -W 3 -s 3000 \
		-I 10.1.0.1 10.2.0.1 >/dev/null || fail "big ping v4 kipsec -> xfrm"
	in_netns dpb timeout 20 busybox ping -q -c 2 -W 3 -s 3000 \
		-I 10.2.0.1 10.1.0.1 >/dev/null || fail "big ping v4 xfrm -> kipsec"
}
ktest big_packets_fragmented t_dp_big 120

# The output sequence number never wraps: from 2^32-3, two packets go out
# (2^32-2, 2^32-1), then the SA refuses and counts out_seq_overflow; an
# exhausted SA is hard-expired and deleted, so the counts are the global
# ones (0x100 is the only outbound SA).
t_dp_seq_wrap() {
	dp_need
	dp_topo
	dp_conf transport 10.0.0.1 10.0.0.2 10.0.0.1 10.0.0.2
	dp_a state delete src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x100
	# shellcheck disable=SC2086
	dp_a state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x100 \
		mode transport $DP_AEAD replay-oseq 0xfffffffd
	dp_ping dpa 10.0.0.1 10.0.0.2 2 || fail "last two sequence numbers"
	! dp_ping dpa 10.0.0.1 10.0.0.2 1 || fail "sequence number wrapped"
	dp_expect "out_packets" "$(dp_gstat out_packets)" 2
	dp_expect "out_seq_overflow" "$(dp_gstat out_seq_overflow)" 1
}
ktest seq_never_wraps t_dp_seq_wrap
