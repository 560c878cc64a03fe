# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Path MTU: kipsec (netns ka) and xfrm (netns xb) with a router between
# them whose link to xb has a 1400-byte MTU:
#
#   ka vka 10.99.0.1 ==== vr1 10.99.0.254  [r]  vr2 10.99.1.254 ==== vxb 10.99.1.2
#                        (1500)                 (1400)
#
# Full-size DF TCP both ways must complete: the router's ICMP
# "fragmentation needed" / "packet too big" about kipsec's ESP (or
# ESP-in-UDP) packets is read by kipsec (icmp_pmtu) and lowers the outer
# route's path MTU.  In tunnel mode a DF inner packet that no longer fits
# is refused with ICMP to its sender (out_too_big), as xfrm does, so no
# outer packet with DF is ever fragmented; the capture on the small link
# (vr2) checks that.  Tunnel endpoints use inner addresses on lo (ka
# 10.98.0.1, xb 10.98.1.2) other than the outer ones; a client netns c
# (10.97.0.2) behind ka tests forwarded traffic.  IPv6 uses fd99::/fd98::
# and the same 1400-byte link: over a 1280-byte one an IPv6 tunnel packet
# of the minimum MTU must be fragmented by xfrm too.

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

pmtu_topo() {
	ip netns del r 2>/dev/null || true
	ip -batch - <<-EOF
		netns add $KA
		netns add $XB
		netns add r
	EOF
	ip link add vka netns "$KA" type veth peer name vr1 netns r
	ip link add vxb netns "$XB" mtu 1400 type veth peer name vr2 netns r
	ip -n r link set vr2 mtu 1400
	ip -n "$KA" -batch - <<-EOF
		link set lo up
		addr add 10.99.0.1/24 dev vka
		link set vka up
		route add default via 10.99.0.254
	EOF
	ip -n "$XB" -batch - <<-EOF
		link set lo up
		addr add 10.99.1.2/24 dev vxb
		link set vxb up
		route add default via 10.99.1.254
	EOF
	ip -n r -batch - <<-EOF
		link set lo up
		addr add 10.99.0.254/24 dev vr1
		addr add 10.99.1.254/24 dev vr2
		link set vr1 up
		link set vr2 up
	EOF
	ip netns exec r sysctl -qw net.ipv4.ip_forward=1
	ip netns exec r sysctl -qw net.ipv6.conf.all.forwarding=1
	ip -n "$KA" -batch - <<-EOF
		addr add fd99::1/64 dev vka nodad
		route add default via fd99::254
		addr add 10.98.0.1/32 dev lo
		addr add fd98::1/128 dev lo nodad
	EOF
	ip -n "$XB" -batch - <<-EOF
		addr add fd99:1::2/64 dev vxb nodad
		route add default via fd99:1::254
		addr add 10.98.1.2/32 dev lo
		addr add fd98:1::2/128 dev lo nodad
	EOF
	ip -n r -batch - <<-EOF
		addr add fd99::254/64 dev vr1 nodad
		addr add fd99:1::254/64 dev vr2 nodad
	EOF
}

# pmtu_client: netns c behind ka (10.97.0.2, fd97::2), ka forwarding
pmtu_client() {
	ip netns del c 2>/dev/null || true
	ip netns add c
	ip link add vc netns c type veth peer name vkc netns "$KA"
	ip -n c -batch - <<-EOF
		link set lo up
		addr add 10.97.0.2/24 dev vc
		addr add fd97::2/64 dev vc nodad
		link set vc up
		route add default via 10.97.0.1
		route add default via fd97::1
	EOF
	ip -n "$KA" -batch - <<-EOF
		addr add 10.97.0.1/24 dev vkc
		addr add fd97::1/64 dev vkc nodad
		link set vkc up
	EOF
	ip netns exec "$KA" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "$KA" sysctl -qw net.ipv6.conf.all.forwarding=1
}

pmtu_down() {
	local pid
	for pid in $(cat "$TOPO_TMP/pmtu.pids" 2>/dev/null); do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -f "$TOPO_TMP/pmtu.pids"
	ip netns del r 2>/dev/null || true
	ip netns del c 2>/dev/null || true
}

# pmtu_addrs FAMILY MODE [fwd|h2h]: set OA OB (outer) and IA IB (inner
# endpoints of the traffic), SA/SB the selectors' prefixes
pmtu_addrs() {
	if [ "$1" = 4 ]; then
		OA=10.99.0.1 OB=10.99.1.2 IA=10.98.0.1 IB=10.98.1.2 P=32
		[ "${3:-}" = fwd ] && IA=10.97.0.2
	else
		OA=fd99::1 OB=fd99:1::2 IA=fd98::1 IB=fd98:1::2 P=128
		[ "${3:-}" = fwd ] && IA=fd97::2
	fi
	if [ "$2" != tunnel ] || [ "${3:-}" = h2h ]; then
		IA=$OA IB=$OB
	fi
}

# pmtu_setup FAMILY MODE [fwd|natt|nopmtudisc|h2h]: topology, SAs and
# policies, kipsec in ka and xfrm in xb, the same command lines
pmtu_setup() {
	local k=0x$(printf '%040x' 7) side extra=() fwd
	need_kipsec
	need_py
	mkdir -p "$TOPO_TMP"
	pmtu_down
	pmtu_topo
	[ "${3:-}" = fwd ] && pmtu_client
	pmtu_addrs "$1" "$2" "${3:-}"
	case ${3:-} in
	natt) extra=(encap espinudp 4500 4500 0.0.0.0) ;;
	nopmtudisc) extra=(flag nopmtudisc) ;;
	esac
	for side in ka xb; do
		side_tool $side state add src $OA dst $OB proto esp \
			spi 0x1001 reqid 1 mode "$2" \
			aead 'rfc4106(gcm(aes))' "$k" 128 "${extra[@]}"
		side_tool $side state add src $OB dst $OA proto esp \
			spi 0x2002 reqid 2 mode "$2" \
			aead 'rfc4106(gcm(aes))' "$k" 128 "${extra[@]}"
	done
	fwd=in
	[ "${3:-}" = fwd ] && fwd=fwd
	side_tool ka policy add src $IA/$P dst $IB/$P proto tcp dir out \
		tmpl src $OA dst $OB proto esp reqid 1 mode "$2"
	side_tool ka policy add src $IB/$P dst $IA/$P proto tcp dir $fwd \
		tmpl src $OB dst $OA proto esp reqid 2 mode "$2"
	side_tool xb policy add src $IB/$P dst $IA/$P proto tcp dir out \
		tmpl src $OB dst $OA proto esp reqid 2 mode "$2"
	side_tool xb policy add src $IA/$P dst $IB/$P proto tcp dir in \
		tmpl src $OA dst $OB proto esp reqid 1 mode "$2"
	if [ "${3:-}" = natt ]; then
		rm -f "$TOPO_TMP/encap.ready"
		nsenter --net="/run/netns/$XB" "$PY" "$TOPO_LIB/../tools/udpencap.py" \
			--timeout 200 --ready "$TOPO_TMP/encap.ready" &
		echo $! >>"$TOPO_TMP/pmtu.pids"
		poll_file "$TOPO_TMP/encap.ready"
	fi
}

poll_file() {
	local i
	for i in $(seq 1 100); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	fail "$1 did not appear"
}

PMTU_BYTES=1500000

# pmtu_xfer SRV_NS SRV_ADDR CLI_NS CLI_ADDR: $PMTU_BYTES of DF TCP from
# CLI_ADDR to SRV_ADDR; fails on a stall
pmtu_xfer() {
	local got=$TOPO_TMP/got.$1
	rm -f "$got" "$got.ready"
	in_netns "$1" timeout 60 "$PY" -c '
import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((a, 5201)); s.listen(1); open(sys.argv[2], "w").close()
c, _ = s.accept(); n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d)
print(n)' "$2" "$got.ready" >"$got" &
	local srv=$!
	poll_file "$got.ready"
	in_netns "$3" timeout 40 "$PY" -c '
import socket, sys
d, a = sys.argv[1], sys.argv[2]
six = ":" in d
s = socket.socket(socket.AF_INET6 if six else socket.AF_INET)
if six:
    s.setsockopt(socket.IPPROTO_IPV6, 23, 2)   # IPV6_MTU_DISCOVER, DO
else:
    s.setsockopt(socket.IPPROTO_IP, 10, 2)     # IP_MTU_DISCOVER, DO
s.bind((a, 0)); s.connect((d, 5201))
s.sendall(b"x" * int(sys.argv[3])); s.close()' "$2" "$4" "$PMTU_BYTES" ||
		fail "DF TCP $4 -> $2 over the 1400 link stalled"
	wait $srv || true
	[ "$(cat "$got")" = "$PMTU_BYTES" ] ||
		fail "$4 -> $2: received $(cat "$got") of $PMTU_BYTES bytes"
}

# pmtu_both [CLIENT_NS]: DF TCP both ways between the inner endpoints
# (from CLIENT_NS instead of ka), captured on the small link
pmtu_both() {
	local cns=${1:-$KA}
	sniff_start small r vr2 --save none
	pmtu_xfer "$XB" "$IB" "$cns" "$IA"
	pmtu_xfer "$cns" "$IA" "$XB" "$IB"
	sniff_stop small
}

# pmtu_no_df_frag: no fragment with DF on the small link (IPv4), no
# fragment at all (IPv6, where every packet is DF for routers)
pmtu_no_df_frag() {
	local k
	for k in out:frag:df in:frag:df; do
		expect_eq "$k on the small link" "$(sniff_count small $k)" 0
	done
	if [ "$1" = 6 ]; then
		expect_eq "IPv6 fragments on the small link" \
			$(($(sniff_count small out:frag) + $(sniff_count small in:frag))) 0
	fi
}


# pmtu_frags: outer fragments seen on the small link, both directions
pmtu_frags() {
	echo $(($(sniff_count small out:frag) + $(sniff_count small in:frag)))
}

# Transport mode and host-to-host tunnels: the ESP packets take the TCP
# packets' own route, so kipsec clamps the MSS of SYN and SYN-ACK to the
# route's MTU less the ESP overhead (mss_clamped), as xfrm's bundle MTU
# does.  The first round learns the path MTU from the router's ICMP
# mid-connection (300 KB from ka); a connection cannot follow that with
# its MSS, so its later segments are fragmented (logged only).  Every connection opened
# once the path MTU is known must leave no outer fragment on the small
# link: both ways, since xb advertises its full MSS and only the clamp of
# the SYN-ACK arriving at ka keeps ka's segments small.
t_pmtu_samehost() {
	local first
	pmtu_setup "$1" "$2" "${3:-}"
	sniff_start small r vr2 --save none
	PMTU_BYTES=300000 pmtu_xfer "$XB" "$IB" "$KA" "$IA"
	sniff_stop small
	first=$(pmtu_frags)
	expect_ge "icmp_pmtu" "$(ka_stat icmp_pmtu)" 1
	sniff_start small r vr2 --save none
	pmtu_xfer "$XB" "$IB" "$KA" "$IA"
	pmtu_xfer "$KA" "$IA" "$XB" "$IB"
	sniff_stop small
	log "$2$1${3:+ $3}: outer fragments on the small link: $first while the path MTU was learned, $(pmtu_frags) after"
	expect_eq "outer fragments once the path MTU is known" "$(pmtu_frags)" 0
	if [ "$KA_TOOL" = kipsec ]; then
		expect_ge "mss_clamped" "$(ka_stat mss_clamped)" 4
	fi
	pmtu_down
}
t_pmtu_transport4() { t_pmtu_samehost 4 transport; }
t_pmtu_transport6() { t_pmtu_samehost 6 transport; }
t_pmtu_h2h4() { t_pmtu_samehost 4 tunnel h2h; }
t_pmtu_h2h6() { t_pmtu_samehost 6 tunnel h2h; }
ktest pmtu_transport4_df_tcp t_pmtu_transport4 240
ktest pmtu_transport6_df_tcp t_pmtu_transport6 240
ktest pmtu_h2h4_df_tcp t_pmtu_h2h4 240
ktest pmtu_h2h6_df_tcp t_pmtu_h2h6 240

t_pmtu_tunnel() {
	pmtu_setup "$1" tunnel
	pmtu_both
	pmtu_no_df_frag "$1"
	expect_ge "icmp_pmtu" "$(ka_stat icmp_pmtu)" 1
	pmtu_down
}
t_pmtu_tunnel4() { t_pmtu_tunnel 4; }
t_pmtu_tunnel6() { t_pmtu_tunnel 6; }
ktest pmtu_tunnel4_df_tcp t_pmtu_tunnel4 120
ktest pmtu_tunnel6_df_tcp t_pmtu_tunnel6 120

# forwarded: c sends full-size DF TCP through ka's tunnel; ka answers
# with ICMP frag-needed / packet too big carrying the MTU left inside the
# tunnel, as xfrm does (forwarding ignores the learned path MTU)
t_pmtu_forward() {
	local icmp
	pmtu_setup "$1" tunnel fwd
	sniff_start client "$KA" vkc --save none
	pmtu_both c
	sniff_stop client
	pmtu_no_df_frag "$1"
	if [ "$1" = 4 ]; then
		icmp=$(sniff_count client out:icmp:3)
	else
		icmp=$(sniff_count client out:icmp6:2)
	fi
	expect_ge "ICMP errors from ka to c" "$icmp" 1
	expect_ge "out_too_big" "$(ka_stat out_too_big)" 1
	pmtu_down
}
t_pmtu_forward4() { t_pmtu_forward 4; }
t_pmtu_forward6() { t_pmtu_forward 6; }
ktest pmtu_forward4_df_tcp t_pmtu_forward4 120
ktest pmtu_forward6_df_tcp t_pmtu_forward6 120

# ESP in UDP: the router's ICMP quotes UDP 4500 and the SPI behind it
t_pmtu_natt4() {
	pmtu_setup 4 tunnel natt
	pmtu_both
	pmtu_no_df_frag 4
	expect_ge "out:udp:4500 on the small link" \
		"$(sniff_count small out:udp:4500)" 1
	expect_eq "plain ESP on the small link" "$(sniff_count small out:esp)" 0
	expect_ge "icmp_pmtu" "$(ka_stat icmp_pmtu)" 1
	pmtu_down
}
ktest pmtu_natt4_df_tcp t_pmtu_natt4 120

# flag nopmtudisc: the outer header never carries DF, the router
# fragments the outer packets, and traffic flows; no ICMP about them
t_pmtu_nopmtudisc4() {
	pmtu_setup 4 tunnel nopmtudisc
	pmtu_both
	expect_ge "outer fragments to xb" "$(sniff_count small out:frag)" 2
	expect_eq "outer DF to xb" "$(sniff_count small out:df)" 0
	expect_eq "icmp_pmtu" "$(ka_stat icmp_pmtu)" 0
	pmtu_down
}
ktest pmtu_nopmtudisc4 t_pmtu_nopmtudisc4 120
