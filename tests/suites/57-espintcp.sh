# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# ESP in TCP (RFC 8229): kipsec at both ends, since this kernel's xfrm is
# built without CONFIG_INET_ESPINTCP.  kipsec runs in netns ka and in
# netns xb of tests/lib/topo.sh, both configured by the kipsec CLI:
#
#   ka (kipsec)  vka 10.99.0.1 ==== veth ==== vxb 10.99.0.2  xb (kipsec)
#   espintcp.py server :4500   <== TCP ==     espintcp.py client :40000
#
# tests/tools/espintcp.py is the IKE daemon's part: it connects, sends
# "IKETCP", sets TCP_ULP "espintcp" on both sockets and exchanges IKE
# messages through the ULP while the ESP of the SAs (ka -> xb: encap
# espintcp 4500 40000, xb -> ka: 40000 4500) flows on the same stream.
# A capture on vka proves that only that TCP connection is on the wire.

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

N57_TOOL=$TOPO_LIB/../tools/espintcp.py
N57_CPORT=40000

# n57_cfg NS: kipsec lines from stdin for netns NS
n57_cfg() {
	"$KIPSEC" -n "$1" -batch - || fail "$1: kipsec batch failed"
}

# n57_sas MODE OUTER: the SA pair with TCP encapsulation, on both sides
n57_sas() {
	local mode=$1 oa
	cell_addrs "$mode" "$2" "$2"
	if [ "$2" = 6 ]; then oa=::; else oa=0.0.0.0; fi
	for ns in "$KA" "$XB"; do
		n57_cfg "$ns" <<-EOF2
			state add src $O_KA dst $O_XB proto esp spi $SPI_KX reqid $REQ_KX mode $mode $(alg_args 'rfc4106(gcm(aes))' 128 128 1) encap espintcp 4500 $N57_CPORT $oa
			state add src $O_XB dst $O_KA proto esp spi $SPI_XK reqid $REQ_XK mode $mode $(alg_args 'rfc4106(gcm(aes))' 128 128 2) encap espintcp $N57_CPORT 4500 $oa
		EOF2
	done
}

# n57_pols MODE OUTER: the policies; in transport mode the TCP
# connection itself is bypassed, as an IKE daemon's socket policy would
n57_pols() {
	local mode=$1 pre=
	cell_addrs "$mode" "$2" "$2"
	POL_PRIO=100 pol_pair "$mode" "$2" "$2"
	n57_cfg "$KA" <"$TOPO_TMP/ka.cfg"
	n57_cfg "$XB" <"$TOPO_TMP/xb.cfg"
	rm -f "$TOPO_TMP/ka.cfg" "$TOPO_TMP/xb.cfg"
	[ "$mode" = transport ] || return 0
	pre="src $S_KA dst $S_XB proto tcp sport 4500"
	n57_cfg "$KA" <<-EOF2
		policy add $pre dir out priority 10
		policy add src $S_XB dst $S_KA proto tcp dport 4500 dir in priority 10
	EOF2
	n57_cfg "$XB" <<-EOF2
		policy add src $S_XB dst $S_KA proto tcp dport 4500 dir out priority 10
		policy add $pre dir in priority 10
	EOF2
}

# n57_ike OUTER: the server in ka, the client in xb; returns once the
# first IKE round trip went through the ULP both ways
n57_ike() {
	local i
	rm -f "$TOPO_TMP/ike.ready" "$TOPO_TMP/ike.count" "$TOPO_TMP/ike.stop"
	in_netns "$KA" "$PY" "$N57_TOOL" server --addr "$O_KA" \
		--ready "$TOPO_TMP/ike.ready" --timeout 150 \
		2>"$TOPO_TMP/ike.server.err" &
	echo $! >"$TOPO_TMP/ike.pids"
	for ((i = 0; i < 100; i++)); do
		[ -e "$TOPO_TMP/ike.ready" ] && break
		sleep 0.1
	done
	in_netns "$XB" "$PY" "$N57_TOOL" client --addr "$O_KA" --src "$O_XB" \
		--sport "$N57_CPORT" --count "$TOPO_TMP/ike.count" \
		--stop "$TOPO_TMP/ike.stop" --timeout 150 \
		2>"$TOPO_TMP/ike.client.err" &
	echo $! >>"$TOPO_TMP/ike.pids"
	poll_eq "first IKE round trip through the ULP" 1 n57_ike_count_min1
}

n57_ike_count() {
	cat "$TOPO_TMP/ike.count" 2>/dev/null || echo 0
}

n57_ike_count_min1() {
	local n
	n=$(n57_ike_count)
	[ "$n" -ge 1 ] && echo 1 || echo 0
}

# n57_ike_stop: the client stops after its next round trip; both must
# exit cleanly (every echo was intact)
n57_ike_stop() {
	local pid
	touch "$TOPO_TMP/ike.stop"
	for pid in $(cat "$TOPO_TMP/ike.pids"); do
		wait "$pid" || fail "espintcp.py failed: $(cat "$TOPO_TMP"/ike.*.err)"
	done
}

# n57_counts NS: "SPI PACKETS" of every kipsec SA of NS
n57_pkts() {
	"$KIPSEC" -n "$1" -s -j state list | jq -r --arg spi "$2" \
		'.[] | select(.spi == $spi) | .stats.in_packets + .stats.out_packets'
}

n57_stat() {
	"$KIPSEC" -n "$1" -j stats show | jq --arg k "$2" '.[$k] // error("no " + $k)'
}

n57_need() {
	[ "$KA_TOOL" = kipsec ] || skip "needs kipsec at both ends"
	need_kipsec
	need_py
	command -v jq >/dev/null || skip "no jq"
}

# n57_traffic MODE OUTER: ESP in TCP both ways, IKE beside it
n57_traffic() {
	local mode=$1 v=$2 ike0 x
	n57_need
	topo_up
	n57_sas "$mode" "$v"
	n57_pols "$mode" "$v"
	n57_ike "$v"
	ike0=$(n57_ike_count)
	sniff_start n57 "$KA" "$KA_IF" --dir out
	ping_ok "$KA" "$T_KA" "$T_XB" 3
	ping_ok "$XB" "$T_XB" "$T_KA" 3
	tcp_both "$KA" "$T_KA" "$XB" "$T_XB" 200000 5701
	sniff_stop n57
	x=$(n57_ike_count)
	[ "$x" -gt "$ike0" ] || fail "no IKE round trip while ESP flowed"
	n57_ike_stop
	expect_ge "TCP to port $N57_CPORT (ka -> xb)" \
		"$(sniff_count n57 out:tcp:$N57_CPORT)" 10
	expect_ge "TCP to port 4500 (xb -> ka)" "$(sniff_count n57 in:tcp:4500)" 10
	expect_eq "plain ESP ka -> xb" "$(sniff_count n57 out:esp)" 0
	expect_eq "plaintext TCP ka -> xb" "$(sniff_count n57 out:tcp:5701)" 0
	expect_eq "plaintext ICMP ka -> xb" "$(sniff_count n57 out:icmp)" 0
	expect_eq "plaintext ICMPv6 ka -> xb" "$(sniff_count n57 out:icmp6:128)" 0
	expect_eq "UDP ka -> xb" "$(sniff_count n57 out:udp)" 0
	expect_ge "ka SA ka->xb packets" "$(n57_pkts "$KA" "$SPI_KX")" 10
	expect_ge "ka SA xb->ka packets" "$(n57_pkts "$KA" "$SPI_XK")" 10
	expect_eq "xb SA ka->xb packets = ka's" "$(n57_pkts "$XB" "$SPI_KX")" \
		"$(n57_pkts "$KA" "$SPI_KX")"
	expect_eq "xb SA xb->ka packets = ka's" "$(n57_pkts "$XB" "$SPI_XK")" \
		"$(n57_pkts "$KA" "$SPI_XK")"
	for x in in_auth_fail in_encap_mismatch out_no_tcp_sk in_no_sa; do
		expect_eq "ka $x" "$(n57_stat "$KA" $x)" 0
		expect_eq "xb $x" "$(n57_stat "$XB" $x)" 0
	done
}

t_espintcp_tunnel4() { n57_traffic tunnel 4; }
ktest espintcp_tunnel4 t_espintcp_tunnel4 240

t_espintcp_transport4() { n57_traffic transport 4; }
ktest espintcp_transport4 t_espintcp_transport4 240

t_espintcp_tunnel6() { n57_traffic tunnel 6; }
ktest espintcp_tunnel6 t_espintcp_tunnel6 240

# No TCP socket with the ULP: the outbound packets are dropped and
# counted as out_no_tcp_sk
t_espintcp_no_sock() {
	n57_need
	topo_up
	n57_sas tunnel 4
	n57_pols tunnel 4
	ping_fails "$KA" "$T_KA" "$T_XB"
	x=$(n57_stat "$KA" out_no_tcp_sk)
	expect_ge "ka out_no_tcp_sk" "$x" 1
	expect_eq "ka SA ka->xb packets" "$(n57_pkts "$KA" "$SPI_KX")" 0
}
ktest espintcp_no_sock t_espintcp_no_sock 120

# The module cannot go while a socket carries its ULP, and goes once the
# socket is closed
t_espintcp_unload() {
	local out
	n57_need
	topo_up
	cell_addrs tunnel 4 4
	n57_ike 4
	out=$(rmmod kipsec 2>&1) && fail "rmmod kipsec worked with a ULP socket"
	n57_ike_stop
	for ((i = 0; i < 50; i++)); do
		rmmod kipsec 2>/dev/null && break
		sleep 0.2
	done
	grep -q '^kipsec ' /proc/modules && fail "kipsec still loaded after close"
	insmod "$KIPSEC_KO" || fail "insmod kipsec"
}
ktest espintcp_unload t_espintcp_unload 120

# The XFRM personality: XFRMA_ENCAP with TCP_ENCAP_ESPINTCP, from ip xfrm,
# becomes an espintcp SA, and comes back in ip xfrm's and kipsec's lists
t_espintcp_xfrm_netlink() {
	local out
	n57_need
	xnl_load
	topo_up
	ip -n "$XB" xfrm state add src "$XB4" dst "$KA4" proto esp spi 0x3003 \
		reqid 3 mode tunnel $(alg_args 'rfc4106(gcm(aes))' 128 128 3) \
		encap espintcp "$N57_CPORT" 4500 0.0.0.0 ||
		fail "ip xfrm state add ... encap espintcp refused"
	out=$(ip -n "$XB" xfrm state list)
	echo "$out" | grep -q "encap type espintcp sport $N57_CPORT dport 4500" ||
		fail "ip xfrm does not show the espintcp encap: $out"
	out=$("$KIPSEC" -n "$XB" state list)
	echo "$out" | grep -q "encap type espintcp sport $N57_CPORT dport 4500" ||
		fail "kipsec does not show the espintcp encap: $out"
	ip -n "$XB" xfrm state flush
}
ktest espintcp_xfrm_netlink t_espintcp_xfrm_netlink 120
