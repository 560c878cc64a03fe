# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Path MTU: kipsec (netns ka) and xfrm (netns xb) with a router between
# them whose link to xb has a 1400-byte MTU:
#
#   ka vka 10.99.0.1 ==== vr1 10.99.0.254  [r]  vr2 10.99.1.254 ==== vxb 10.99.1.2
#                        (1500)                 (1400)
#
# Full-size DF TCP from ka to xb in ESP transport mode must complete:
# the router's ICMP "fragmentation needed" about kipsec's ESP packets is
# read by kipsec (icmp_pmtu) and lowers the outer route's path MTU.

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
}

t_pmtu_transport4() {
	local k=0x$(printf '%040x' 7) side
	need_kipsec
	need_py
	mkdir -p "$TOPO_TMP"
	pmtu_topo
	for side in ka xb; do
		side_tool $side state add src 10.99.0.1 dst 10.99.1.2 proto esp \
			spi 0x1001 reqid 1 mode transport \
			aead 'rfc4106(gcm(aes))' "$k" 128
		side_tool $side state add src 10.99.1.2 dst 10.99.0.1 proto esp \
			spi 0x2002 reqid 2 mode transport \
			aead 'rfc4106(gcm(aes))' "$k" 128
	done
	side_tool ka policy add src 10.99.0.1 dst 10.99.1.2 proto tcp dir out \
		tmpl proto esp reqid 1 mode transport
	side_tool ka policy add src 10.99.1.2 dst 10.99.0.1 proto tcp dir in \
		tmpl proto esp reqid 2 mode transport
	side_tool xb policy add src 10.99.1.2 dst 10.99.0.1 proto tcp dir out \
		tmpl proto esp reqid 2 mode transport
	side_tool xb policy add src 10.99.0.1 dst 10.99.1.2 proto tcp dir in \
		tmpl proto esp reqid 1 mode transport
	in_netns "$XB" timeout 60 "$PY" -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.99.1.2", 5201)); s.listen(1); c, _ = s.accept(); n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d)
print(n)' >"$TOPO_TMP/got" &
	sleep 1
	in_netns "$KA" timeout 40 "$PY" -c '
import socket
s = socket.create_connection(("10.99.1.2", 5201))
s.setsockopt(socket.IPPROTO_IP, 10, 2)   # IP_MTU_DISCOVER, IP_PMTUDISC_DO
s.sendall(b"x" * 2000000); s.close()' || fail "DF TCP over the 1400 link stalled"
	wait
	[ "$(cat "$TOPO_TMP/got")" = 2000000 ] ||
		fail "received $(cat "$TOPO_TMP/got") of 2000000 bytes"
	expect_ge "icmp_pmtu" "$(ka_stat icmp_pmtu)" 1
	ip netns del r
}
ktest pmtu_transport4_df_tcp t_pmtu_transport4 120
