# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# NAT traversal: ESP in UDP (RFC 3948), kipsec in netns ka against Linux
# xfrm in netns xb (tests/lib/topo.sh), both configured with the same
# lines `state add ... encap espinudp 4500 4500 0.0.0.0`:
#
#   ka (kipsec)  vka 10.99.0.1 ==== veth ==== vxb 10.99.0.2  xb (xfrm)
#                lo  10.98.1.1                lo  10.98.2.1
#
# xfrm receives ESP in UDP only through a socket on port 4500 with
# UDP_ENCAP_ESPINUDP set (tests/tools/udpencap.py in xb); kipsec takes it
# at LOCAL_IN and needs no socket.  A capture on vxb proves that the wire
# carries UDP 4500 and no plain ESP; both sides' SA counters that every
# packet went through the SAs, over IPv4 and IPv6 outer addresses.  No
# NAT sits between them there: those tests check the encapsulation.  The
# tests after "a NAT in the path" below add a NAT netns, and its mapping
# changes.

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

N56_ENCAP="encap espinudp 4500 4500 0.0.0.0"
N56_UDPENCAP=$TOPO_LIB/../tools/udpencap.py

# n56_encap_sock NS [-6]: an UDP_ENCAP_ESPINUDP socket on port 4500 in NS
# (IPv6 with -6), until n56_encap_stop, or for 200 s
n56_encap_sock() {
	local i
	rm -f "$TOPO_TMP/encap.$1.ready"
	nsenter --net="/run/netns/$1" "$PY" "$N56_UDPENCAP" --timeout 200 \
		--ready "$TOPO_TMP/encap.$1.ready" ${2:-} &
	echo $! >>"$TOPO_TMP/encap.pids"
	for i in $(seq 1 100); do
		[ -e "$TOPO_TMP/encap.$1.ready" ] && return 0
		sleep 0.1
	done
	fail "udpencap.py did not start in $1"
}

n56_encap_stop() {
	local pid
	for pid in $(cat "$TOPO_TMP/encap.pids"); do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -f "$TOPO_TMP/encap.pids"
}

# n56_setup MODE [OUTER]: the SA pair with UDP encapsulation and the
# policies, over IPv4 (OUTER 4, the default) or IPv6 (6)
n56_setup() {
	local v=${2:-4} encap=$N56_ENCAP six=
	need_kipsec
	need_py
	topo_up
	if [ "$v" = 6 ]; then
		encap="encap espinudp 4500 4500 ::"
		six=-6
	fi
	sa_pair "$1" "$v" "$v" 'rfc4106(gcm(aes))' 128 128 $encap
	pol_pair "$1" "$v" "$v"
	cfg_apply
	n56_encap_sock "$XB" $six
	# xfrm on both sides (KA_TOOL=xfrm) needs the socket on both
	[ "$KA_TOOL" = kipsec ] || n56_encap_sock "$KA" $six
}

# n56_traffic MODE: pings both ways and TCP both ways, captured on vka.
# What kipsec sends (out) must be UDP 4500 and nothing else; what xfrm
# sends (in) too.  (Received frames are seen again after decapsulation:
# both sides re-inject the inner packet on the device, so plaintext is
# checked on the sending side only.)
n56_traffic() {
	local out v=${2:-4}
	cell_addrs "$1" "$v" "$v"
	sniff_start n56 "$KA" "$KA_IF" --save all --dir out
	ping_ok "$KA" "$T_KA" "$T_XB" 3
	ping_ok "$XB" "$T_XB" "$T_KA" 3
	tcp_both "$KA" "$T_KA" "$XB" "$T_XB" 200000 5601
	sniff_stop n56
	expect_ge "UDP 4500 packets ka -> xb on the wire" \
		"$(sniff_count n56 out:udp:4500)" 10
	expect_eq "plain ESP ka -> xb" "$(sniff_count n56 out:esp)" 0
	expect_eq "plaintext TCP ka -> xb" "$(sniff_count n56 out:tcp)" 0
	expect_eq "plaintext ICMP ka -> xb" "$(sniff_count n56 out:icmp)" 0
	expect_eq "plaintext ICMPv6 ka -> xb" "$(sniff_count n56 out:icmp6:128)" 0
	expect_ge "UDP 4500 packets xb -> ka on the wire" \
		"$(sniff_count n56 in:udp:4500)" 10
	expect_eq "plain ESP xb -> ka" "$(sniff_count n56 in:esp)" 0
	if [ "$v" = 6 ]; then n56_udp_header6; else n56_udp_header; fi
	# every packet went through the SAs, at both ends
	snap
	expect_ge "kipsec SA ka->xb packets" "$(snap_get ka $SPI_KX packets)" 10
	expect_ge "kipsec SA xb->ka packets" "$(snap_get ka $SPI_XK packets)" 10
	expect_eq "xfrm SA ka->xb packets = kipsec's" \
		"$(snap_get xb $SPI_KX packets)" "$(snap_get ka $SPI_KX packets)"
	expect_eq "xfrm SA xb->ka packets = kipsec's" \
		"$(snap_get xb $SPI_XK packets)" "$(snap_get ka $SPI_XK packets)"
	out=$(xfrm_in_errors "$XB")
	[ -z "$out" ] || fail "xfrm input errors: $out"
	expect_eq "kipsec in_auth_fail" "$(ka_stat in_auth_fail)" 0
	if [ "$KA_TOOL" = kipsec ]; then
		expect_eq "kipsec in_encap_mismatch" \
			"$(ka_stat in_encap_mismatch)" 0
	fi
	n56_encap_stop
	topo_check_clean
}

# n56_udp_header: kipsec's first IPv4 packet is ESP in UDP as xfrm sends
# it: ports 4500, UDP length = IP length - 20, checksum 0, then the SPI
n56_udp_header() {
	local hex
	hex=$(awk '$1 == "out" && substr($4, 25, 4) == "0800" { print $4; exit }' \
		"$TOPO_TMP/n56.cap")
	[ -n "$hex" ] || fail "no frame sent by ka saved"
	"$PY" - "$hex" "$SPI_KX" <<-'EOF' || fail "bad UDP header: $hex"
		import struct, sys
		f = bytes.fromhex(sys.argv[1])
		ip = f[14:]
		ihl = (ip[0] & 15) * 4
		tot = struct.unpack("!H", ip[2:4])[0]
		sp, dp, ul, ck, spi = struct.unpack("!HHHHI", ip[ihl:ihl + 12])
		assert ip[9] == 17, "protocol %d" % ip[9]
		assert (sp, dp) == (4500, 4500), (sp, dp)
		assert ul == tot - ihl, (ul, tot)
		assert ck == 0, ck
		assert spi == int(sys.argv[2], 16), hex(spi)
	EOF
}

# n56_udp_header6: kipsec's first IPv6 packet is ESP in UDP as xfrm's
# esp6 sends it: ports 4500, UDP length = payload length, and a checksum
# (mandatory over IPv6) that verifies, then the SPI
n56_udp_header6() {
	local hex
	hex=$(awk '$1 == "out" && substr($4, 25, 4) == "86dd" && substr($4, 41, 2) == "11" { print $4; exit }' \
		"$TOPO_TMP/n56.cap")
	[ -n "$hex" ] || fail "no IPv6 UDP frame sent by ka saved"
	"$PY" - "$hex" "$SPI_KX" <<-'EOF' || fail "bad UDP header: $hex"
		import struct, sys
		f = bytes.fromhex(sys.argv[1])
		ip = f[14:]
		plen = struct.unpack("!H", ip[4:6])[0]
		u = ip[40:40 + plen]
		sp, dp, ul, ck, spi = struct.unpack("!HHHHI", u[:12])
		assert (sp, dp) == (4500, 4500), (sp, dp)
		assert ul == plen == len(u), (ul, plen, len(u))
		assert ck != 0, "no checksum"
		data = ip[8:40] + struct.pack("!IxxxB", ul, 17) + u
		data += bytes(len(data) % 2)
		s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
		while s >> 16:
		    s = (s & 0xffff) + (s >> 16)
		assert s == 0xffff, "checksum does not verify: %x" % s
		assert spi == int(sys.argv[2], 16), hex(spi)
	EOF
}

t_natt_tunnel4() {
	n56_setup tunnel
	n56_traffic tunnel
}
ktest natt_tunnel4 t_natt_tunnel4 180

t_natt_transport4() {
	n56_setup transport
	n56_traffic transport
}
ktest natt_transport4 t_natt_transport4 180

# IPv6 outer addresses (esp6 has taken ESP in UDP since Linux 5.8)
t_natt_tunnel6() {
	n56_setup tunnel 6
	n56_traffic tunnel 6
}
ktest natt_tunnel6 t_natt_tunnel6 180

t_natt_transport6() {
	n56_setup transport 6
	n56_traffic transport 6
}
ktest natt_transport6 t_natt_transport6 180

# state list prints the encapsulation as ip xfrm does, JSON too
t_natt_cli() {
	local k x line
	need_kipsec
	need_py
	topo_up
	sa_pair tunnel 4 4 'rfc4106(gcm(aes))' 128 128 $N56_ENCAP
	cfg_apply
	k=$(ka_tool state list | grep -P '^\tencap ')
	x=$(xb_tool state list | grep -P '^\tencap ')
	line=$'\tencap type espinudp sport 4500 dport 4500 addr 0.0.0.0'
	expect_eq "kipsec encap lines" "$k" "$line"$'\n'"$line"
	expect_eq "kipsec encap lines = ip xfrm's" "$k" "$x"
	[ "$KA_TOOL" = kipsec ] || return 0
	k=$("$KIPSEC" -n "$KA" -j state list | jq -c '[.[].encap]')
	expect_eq "JSON encap" "$k" \
		'[{"type":"espinudp","sport":4500,"dport":4500,"addr":"0.0.0.0"},{"type":"espinudp","sport":4500,"dport":4500,"addr":"0.0.0.0"}]'
	# other ports and an original address are kept as given
	"$KIPSEC" -n "$KA" state add src 10.99.0.1 dst 10.99.0.9 proto esp \
		spi 0x77 mode tunnel $(alg_args 'rfc4106(gcm(aes))' 128 128 3) \
		encap espinudp 4501 1234 192.0.2.7
	"$KIPSEC" -n "$KA" state get src 10.99.0.1 dst 10.99.0.9 proto esp \
		spi 0x77 | grep -qP '^\tencap type espinudp sport 4501 dport 1234 addr 192.0.2.7$' ||
		fail "encap of spi 0x77: $("$KIPSEC" -n "$KA" state get src 10.99.0.1 dst 10.99.0.9 proto esp spi 0x77)"
	"$KIPSEC" info | grep -q natt || fail "info does not show natt"
}
ktest natt_cli t_natt_cli 120

# what kipsec refuses, each with a message
t_natt_refused() {
	local out key
	need_kipsec
	[ "$KA_TOOL" = kipsec ] || skip "kipsec CLI only"
	topo_up
	key=$(keyhex 20 1)
	out=$("$KIPSEC" -n "$KA" state add src 10.99.0.1 dst 10.99.0.2 \
		proto ah spi 0x10 mode tunnel auth 'hmac(sha256)' "$(keyhex 32 1)" \
		$N56_ENCAP 2>&1) && fail "AH with encap accepted"
	[[ $out == *"ESP only"* ]] || fail "AH with encap: $out"
	out=$("$KIPSEC" -n "$KA" state add src 10.99.0.1 dst 10.99.0.2 \
		proto esp spi 0x12 mode tunnel aead 'rfc4106(gcm(aes))' "$key" \
		128 encap espinudp-nonike 4500 4500 0.0.0.0 2>&1) &&
		fail "espinudp-nonike accepted"
	[[ $out == *"espinudp (2)"* ]] || fail "espinudp-nonike: $out"
	out=$("$KIPSEC" -n "$KA" state add src 10.99.0.1 dst 10.99.0.2 \
		proto esp spi 0x13 mode tunnel aead 'rfc4106(gcm(aes))' "$key" \
		128 encap espinudp 0 4500 0.0.0.0 2>&1) && fail "port 0 accepted"
	[[ $out == *"non-zero"* ]] || fail "port 0: $out"
	out=$("$KIPSEC" -n "$KA" state add src 10.99.0.1 dst 10.99.0.2 \
		proto esp spi 0x14 mode tunnel aead 'rfc4106(gcm(aes))' "$key" \
		128 encap foo 4500 4500 0.0.0.0 2>&1) && fail "encap foo accepted"
	[[ $out == *"ENCAP-TYPE"* ]] || fail "encap foo: $out"
	[ -z "$("$KIPSEC" -n "$KA" state list)" ] || fail "a refused SA was added"
}
ktest natt_refused t_natt_refused 60

# UDP that is not kipsec's ESP in UDP goes on to the sockets of ka: IKE
# (non-ESP marker), a NAT keepalive, an unknown SPI, and a known SPI sent
# to another port than its SA's
t_natt_passthrough() {
	local got base_in base_nosa rxpid
	[ "$KA_TOOL" = kipsec ] || skip "kipsec only (xfrm needs its socket)"
	n56_setup tunnel
	base_in=$(ka_stat in_packets)
	base_nosa=$(ka_stat in_no_sa)
	rm -f "$TOPO_TMP/rx.ready"
	nsenter --net="/run/netns/$KA" timeout 30 "$PY" - "$KA4" \
		"$TOPO_TMP/rx.ready" >"$TOPO_TMP/rx.out" <<-'PYEOF' &
		import select, socket, sys
		socks = []
		for port in (4500, 4501):
		    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		    s.bind((sys.argv[1], port))
		    socks.append(s)
		open(sys.argv[2], "w").close()
		got = []
		while len(got) < 4:
		    r, _, _ = select.select(socks, [], [], 20)
		    if not r:
		        break
		    for s in r:
		        d = s.recv(2048)
		        got.append("%d:%s" % (s.getsockname()[1], d[:4].hex()))
		print(" ".join(sorted(got)))
	PYEOF
	rxpid=$!
	for _ in $(seq 1 100); do
		[ -e "$TOPO_TMP/rx.ready" ] && break
		sleep 0.1
	done
	nsenter --net="/run/netns/$XB" "$PY" - "$KA4" "$SPI_XK" <<-'PYEOF'
		import socket, struct, sys
		s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		dst = sys.argv[1]
		known = struct.pack("!I", int(sys.argv[2], 16))
		s.sendto(b"\0\0\0\0" + b"IKE" * 10, (dst, 4500))
		s.sendto(b"\xff", (dst, 4500))
		s.sendto(b"\0\0\x99\x99" + bytes(28), (dst, 4500))
		s.sendto(known + bytes(28), (dst, 4501))
	PYEOF
	wait "$rxpid" || true
	got=$(cat "$TOPO_TMP/rx.out")
	expect_eq "datagrams the sockets of ka got" "$got" \
		"4500:00000000 4500:00009999 4500:ff 4501:${SPI_XK#0x}"
	expect_eq "kipsec in_packets" "$(ka_stat in_packets)" "$base_in"
	expect_eq "kipsec in_no_sa" "$(ka_stat in_no_sa)" "$base_nosa"
	n56_encap_stop
}
ktest natt_passthrough t_natt_passthrough 120

# state update may change the encapsulation to a new mapping, but not
# add or remove it, as xfrm_state_update(): same lines, same outcome
t_natt_update() {
	local k x alg out side
	need_kipsec
	topo_up
	alg=$(alg_args 'rfc4106(gcm(aes))' 128 128 1)
	cfg both state add src "$KA4" dst "$XB4" proto esp spi 0x31 \
		mode tunnel $alg $N56_ENCAP
	cfg both state add src "$KA4" dst "$XB4" proto esp spi 0x32 \
		mode tunnel $alg
	cfg both state update src "$KA4" dst "$XB4" proto esp spi 0x31 \
		mode tunnel $alg encap espinudp 4600 4700 10.0.0.9
	cfg_apply
	k=$(ka_tool state list | grep -P '^\tencap ')
	x=$(xb_tool state list | grep -P '^\tencap ')
	expect_eq "new mapping (ip xfrm)" "$x" \
		$'\tencap type espinudp sport 4600 dport 4700 addr 10.0.0.9'
	expect_eq "new mapping" "$k" "$x"
	for side in ka xb; do
		out=$(side_tool $side state update src "$KA4" dst "$XB4" \
			proto esp spi 0x31 mode tunnel $alg 2>&1) &&
			fail "$side: update removing encap accepted"
		out=$(side_tool $side state update src "$KA4" dst "$XB4" \
			proto esp spi 0x32 mode tunnel $alg $N56_ENCAP 2>&1) &&
			fail "$side: update adding encap accepted"
	done
	[[ $out == *"Invalid argument"* ]] || fail "xfrm: $out"
	[ "$KA_TOOL" = kipsec ] || return 0
	out=$(ka_tool state update src "$KA4" dst "$XB4" proto esp spi 0x32 \
		mode tunnel $alg $N56_ENCAP 2>&1) || true
	[[ $out == *"cannot add or remove the UDP encapsulation"* ]] ||
		fail "kipsec: $out"
}
ktest natt_update t_natt_update 60

# an SA with UDP encapsulation takes no plain ESP, and an SA without
# takes no ESP in UDP (xfrm_input() compares the encapsulation type)
t_natt_mismatch() {
	local base
	[ "$KA_TOOL" = kipsec ] || skip "kipsec counter in_encap_mismatch"
	n56_setup tunnel
	cell_addrs tunnel 4 4
	ping_ok "$KA" "$T_KA" "$T_XB" 1
	# xb now sends plain ESP to ka's encapsulated SA
	cfg xb state delete src "$XB4" dst "$KA4" proto esp spi "$SPI_XK"
	cfg xb state add src "$XB4" dst "$KA4" proto esp spi "$SPI_XK" \
		reqid "$REQ_XK" mode tunnel \
		"$(alg_args 'rfc4106(gcm(aes))' 128 128 2)"
	cfg_apply
	base=$(ka_stat in_encap_mismatch)
	ping_fails "$XB" "$T_XB" "$T_KA"
	expect_ge "in_encap_mismatch after plain ESP" \
		$(($(ka_stat in_encap_mismatch) - base)) 1
	n56_encap_stop
}
ktest natt_mismatch t_natt_mismatch 120

# The XFRM netlink personality: XFRMA_ENCAP becomes the SA's encapsulation
# and comes back in ip xfrm's dumps.  Swaps xfrm_user for kipsec with
# xfrm_netlink=1 and restores both at the end (slow under TCG).

t_natt_xfrm_netlink() {
	local out key=0x0102030405060708090a0b0c0d0e0f1011121314
	[ "$KA_TOOL" = kipsec ] || skip "kipsec's XFRM personality only"
	need_kipsec
	xnl_load
	ip xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 \
		reqid 1 mode tunnel aead 'rfc4106(gcm(aes))' $key 128 \
		encap espinudp 4500 4501 192.0.2.1
	out=$(ip xfrm state list)
	grep -qP '^\tencap type espinudp sport 4500 dport 4501 addr 192.0.2.1$' \
		<<<"$out" || fail "ip xfrm state list: $out"
	out=$("$KIPSEC" -j state list | jq -c '.[0].encap')
	expect_eq "kipsec sees the encapsulation" "$out" \
		'{"type":"espinudp","sport":4500,"dport":4501,"addr":"192.0.2.1"}'
	out=$(ip xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp \
		spi 0x1002 reqid 1 mode tunnel aead 'rfc4106(gcm(aes))' $key \
		128 encap espinudp-nonike 4500 4500 0.0.0.0 2>&1) &&
		fail "espinudp-nonike accepted"
	[[ $out == *"only UDP_ENCAP_ESPINUDP"* ]] || fail "nonike: $out"
	out=$(ip xfrm state add src 10.0.0.1 dst 10.0.0.2 proto ah \
		spi 0x1003 reqid 1 mode tunnel auth 'hmac(sha1)' $key \
		encap espinudp 4500 4500 0.0.0.0 2>&1) && fail "AH with encap accepted"
	[[ $out == *"ESP only"* ]] || fail "AH with encap: $out"
	ip xfrm state flush
}
ktest natt_xfrm_netlink t_natt_xfrm_netlink 240

# ---- a NAT in the path --------------------------------------------------
#
#   np (private)             nr (NAT router)                   nq (public)
#   pv 10.97.1.1 ====== nv0 10.97.1.254  nv1 10.99.0.1 ====== qv 10.99.0.2
#   lo 10.98.1.1         snat UDP 10.97.1.1:4500             lo 10.98.2.1
#                        -> 10.99.0.1:40001 (nftables)
#
# The private side's SAs use ports 4500 4500 and its own address; the
# public side's are configured as an IKE daemon would after NAT
# detection: the peer is 10.99.0.1 port 40001.  A new mapping is forced
# by moving the snat rule to port 40002 and flushing the NAT's conntrack
# table (ctnetlink: no conntrack tool needed).  The public side then
# receives authentic packets from 10.99.0.1:40002 and reports the change;
# its packets to the old port die at the NAT until its SAs are updated.

N56N_P=np N56N_R=nr N56N_Q=nq
N56N_P4=10.97.1.1 N56N_R4=10.99.0.1 N56N_Q4=10.99.0.2
N56N_PI=10.98.1.1 N56N_QI=10.98.2.1
N56N_SPQ=0x00003003 N56N_SQP=0x00004004

# n56n_batch NS: ip xfrm lines from stdin, applied by kipsec in
# $N56N_KIPSEC_NS, by ip xfrm elsewhere
n56n_batch() {
	if [ "$1" = "$N56N_KIPSEC_NS" ]; then
		"$KIPSEC" -n "$1" -batch - || fail "$1: kipsec batch failed"
	else
		sed 's/^/xfrm /' | ip -n "$1" -batch - ||
			fail "$1: ip xfrm batch failed"
	fi
}

n56n_need() {
	[ "$KA_TOOL" = kipsec ] || skip "kipsec against xfrm only"
	need_kipsec
	need_py
	command -v nft >/dev/null || skip "no nft (nftables)"
	command -v jq >/dev/null || skip "no jq"
}

# n56n_topo: the three namespaces and the NAT at port 40001
n56n_topo() {
	mkdir -p "$TOPO_TMP"
	ip -batch - <<-EOF
		netns add $N56N_P
		netns add $N56N_R
		netns add $N56N_Q
		link add pv netns $N56N_P type veth peer name nv0 netns $N56N_R
		link add qv netns $N56N_Q type veth peer name nv1 netns $N56N_R
	EOF
	ip -n "$N56N_P" -batch - <<-EOF
		link set lo up
		addr add $N56N_PI/32 dev lo
		addr add $N56N_P4/24 dev pv
		link set pv up
		route add $N56N_QI/32 via 10.97.1.254 src $N56N_PI
		route add 10.99.0.0/24 via 10.97.1.254
	EOF
	ip -n "$N56N_R" -batch - <<-EOF
		link set lo up
		addr add 10.97.1.254/24 dev nv0
		addr add $N56N_R4/24 dev nv1
		link set nv0 up
		link set nv1 up
	EOF
	ip -n "$N56N_Q" -batch - <<-EOF
		link set lo up
		addr add $N56N_QI/32 dev lo
		addr add $N56N_Q4/24 dev qv
		link set qv up
		route add $N56N_PI/32 via $N56N_R4 src $N56N_QI
	EOF
	in_netns "$N56N_R" sysctl -qw net.ipv4.ip_forward=1
	in_netns "$N56N_R" nft -f - <<-EOF || skip "nft cannot set up NAT"
		table ip n56 {
			chain post {
				type nat hook postrouting priority srcnat;
				oifname "nv1" ip saddr $N56N_P4 udp sport 4500 snat to $N56N_R4:40001
			}
		}
	EOF
}

# n56n_remap PORT: the NAT maps the private side's 4500 to PORT from now
n56n_remap() {
	in_netns "$N56N_R" nft -f - <<-EOF
		flush chain ip n56 post
		add rule ip n56 post oifname "nv1" ip saddr $N56N_P4 udp sport 4500 snat to $N56N_R4:$1
	EOF
	# IPCTNL_MSG_CT_DELETE without attributes flushes the IPv4 table
	in_netns "$N56N_R" "$PY" - <<-'PYEOF' || fail "conntrack flush failed"
		import socket, struct, sys
		s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)
		s.send(struct.pack("=IHHIIBBH", 20, (1 << 8) | 2, 1 | 4, 1, 0,
		                   socket.AF_INET, 0, 0))
		r = s.recv(4096)
		sys.exit(struct.unpack("=i", r[16:20])[0] != 0)
	PYEOF
}

# n56n_sas_side NS MODE QPORT: the SAs and policies of one side; QPORT is
# the NATed port the public side knows the private side by
n56n_sas_side() {
	local ns=$1 mode=$2 qport=$3 kpq kqp
	kpq=$(alg_args 'rfc4106(gcm(aes))' 128 128 5)
	kqp=$(alg_args 'rfc4106(gcm(aes))' 128 128 6)
	if [ "$ns" = "$N56N_P" ]; then
		n56n_batch "$ns" <<-EOF
			state add src $N56N_P4 dst $N56N_Q4 proto esp spi $N56N_SPQ reqid 1 mode $mode $kpq encap espinudp 4500 4500 0.0.0.0
			state add src $N56N_Q4 dst $N56N_P4 proto esp spi $N56N_SQP reqid 2 mode $mode $kqp encap espinudp 4500 4500 0.0.0.0
			policy add src $N56N_PI/32 dst $N56N_QI/32 dir out tmpl src $N56N_P4 dst $N56N_Q4 proto esp reqid 1 mode $mode
			policy add src $N56N_QI/32 dst $N56N_PI/32 dir in tmpl src $N56N_Q4 dst $N56N_P4 proto esp reqid 2 mode $mode
		EOF
		return
	fi
	n56n_batch "$ns" <<-EOF
		state add src $N56N_R4 dst $N56N_Q4 proto esp spi $N56N_SPQ reqid 1 mode $mode $kpq encap espinudp $qport 4500 0.0.0.0
		state add src $N56N_Q4 dst $N56N_R4 proto esp spi $N56N_SQP reqid 2 mode $mode $kqp encap espinudp 4500 $qport 0.0.0.0
		policy add src $N56N_QI/32 dst $N56N_PI/32 dir out tmpl src $N56N_Q4 dst $N56N_R4 proto esp reqid 2 mode $mode
		policy add src $N56N_PI/32 dst $N56N_QI/32 dir in tmpl src $N56N_R4 dst $N56N_Q4 proto esp reqid 1 mode $mode
	EOF
}

# n56n_update QPORT: the public side follows the new mapping, as an IKE
# daemon does on a mapping event
n56n_update() {
	local kpq kqp
	kpq=$(alg_args 'rfc4106(gcm(aes))' 128 128 5)
	kqp=$(alg_args 'rfc4106(gcm(aes))' 128 128 6)
	n56n_batch "$N56N_Q" <<-EOF
		state update src $N56N_R4 dst $N56N_Q4 proto esp spi $N56N_SPQ reqid 1 mode tunnel $kpq encap espinudp $1 4500 0.0.0.0
		state update src $N56N_Q4 dst $N56N_R4 proto esp spi $N56N_SQP reqid 2 mode tunnel $kqp encap espinudp 4500 $1 0.0.0.0
	EOF
}

# n56n_up KIPSEC_NS: topology, tunnel SAs, xfrm's encap socket, and
# pings both ways (the private side first: it opens the NAT mapping)
n56n_up() {
	N56N_KIPSEC_NS=$1
	n56n_topo
	n56n_sas_side "$N56N_P" tunnel 40001
	n56n_sas_side "$N56N_Q" tunnel 40001
	if [ "$N56N_KIPSEC_NS" = "$N56N_P" ]; then
		n56_encap_sock "$N56N_Q"
	else
		n56_encap_sock "$N56N_P"
	fi
	ping_ok "$N56N_P" "$N56N_PI" "$N56N_QI" 2
	ping_ok "$N56N_Q" "$N56N_QI" "$N56N_PI" 2
}

# n56n_pings N: N echo requests from the private side, 0.2 s apart,
# answered or not (after a remap the replies go to the old port)
n56n_pings() {
	in_netns "$N56N_P" timeout 20 busybox ping -4 -c "$1" -i 0.2 -W 1 \
		-I "$N56N_PI" "$N56N_QI" >/dev/null 2>&1 || true
}

# kipsec behind the NAT, Linux xfrm the peer outside: traffic both ways
# through the NAT; after a remap, xfrm reports the new mapping (the
# reference for the event kipsec sends) and kipsec's packets go on
t_natt_behind_nat() {
	local mon out
	n56n_need
	n56n_up "$N56N_P"
	mon=$TOPO_TMP/xmon
	# nsenter itself, not in_netns: a function sent to the background is
	# a subshell, and killing it would leave the monitor running, its
	# netlink socket holding xfrm_user (or kipsec) loaded
	nsenter --net="/run/netns/$N56N_Q" ip xfrm monitor >"$mon" 2>&1 &
	echo $! >>"$TOPO_TMP/encap.pids"
	n56n_remap 40002
	n56n_pings 10
	for _ in $(seq 1 50); do
		grep -q ':40002' "$mon" && break
		sleep 0.2
	done
	out=$(grep -m1 '^Mapping change' "$mon" || true)
	log "ip xfrm monitor: $out"
	expect_eq "xfrm's mapping event" "$out" \
		"Mapping change $N56N_R4:40001 -> $N56N_R4:40002"
	n56n_update 40002
	ping_ok "$N56N_Q" "$N56N_QI" "$N56N_PI" 2
	ping_ok "$N56N_P" "$N56N_PI" "$N56N_QI" 2
	n56_encap_stop
}
ktest natt_behind_nat t_natt_behind_nat 120

# kipsec outside, Linux xfrm behind the NAT: kipsec receives from the
# NAT and reports its new mapping on the events group, at most once a
# second, without changing the SA
t_natt_mapping_event() {
	local mon got n t0 t1 base
	n56n_need
	n56n_up "$N56N_Q"
	mon=$TOPO_TMP/kmon
	nsenter --net="/run/netns/$N56N_Q" "$KIPSEC" monitor -j mapping \
		>"$mon" 2>&1 &
	echo $! >>"$TOPO_TMP/encap.pids"
	n56n_pings 3
	[ ! -s "$mon" ] || fail "mapping event without a change: $(cat "$mon")"
	base=$("$KIPSEC" -n "$N56N_Q" -s -j state get src "$N56N_R4" \
		dst "$N56N_Q4" proto esp spi "$N56N_SPQ" | jq '.stats.in_packets')
	n56n_remap 40002
	t0=$(date +%s)
	n56n_pings 15
	t1=$(date +%s)
	for _ in $(seq 1 25); do
		[ -s "$mon" ] && break
		sleep 0.2
	done
	got=$(head -1 "$mon" | jq -c '{event, old_addr, old_sport, new_addr,
		new_sport, dst, proto, spi, reqid, dport}')
	expect_eq "kipsec's mapping event" "$got" \
		"{\"event\":\"mapping\",\"old_addr\":\"$N56N_R4\",\"old_sport\":40001,\"new_addr\":\"$N56N_R4\",\"new_sport\":40002,\"dst\":\"$N56N_Q4\",\"proto\":\"esp\",\"spi\":\"$N56N_SPQ\",\"reqid\":1,\"dport\":4500}"
	# the packets were delivered, the SA kept its mapping
	n=$("$KIPSEC" -n "$N56N_Q" -s -j state get src "$N56N_R4" \
		dst "$N56N_Q4" proto esp spi "$N56N_SPQ" | jq '.stats.in_packets')
	expect_ge "packets from the new mapping taken" $((n - base)) 15
	"$KIPSEC" -n "$N56N_Q" state get src "$N56N_R4" dst "$N56N_Q4" \
		proto esp spi "$N56N_SPQ" | grep -q 'sport 40001 dport 4500' ||
		fail "the SA's mapping changed"
	# 15 packets over about 3 s: one event a second, not one a packet
	n=$(wc -l <"$mon")
	log "$n events in $((t1 - t0)) s"
	expect_le "mapping events" "$n" $((t1 - t0 + 1))
	n56n_update 40002
	ping_ok "$N56N_Q" "$N56N_QI" "$N56N_PI" 2
	n=$(wc -l <"$mon")
	n56n_pings 5
	expect_eq "mapping events once the SA follows" "$(wc -l <"$mon")" "$n"
	n56_encap_stop
}
ktest natt_mapping_event t_natt_mapping_event 120

# The same with kipsec's XFRM personality: the mapping change reaches
# `ip xfrm monitor` as XFRM_MSG_MAPPING, printed as xfrm's is in
# natt_behind_nat (`ip xfrm monitor` has no `mapping` keyword: all
# groups are watched).  The xfrm side is configured before xfrm_user goes
# (its SAs and its encap socket stay in the xfrm core).
t_natt_mapping_xfrm_netlink() {
	local mon out
	n56n_need
	N56N_KIPSEC_NS=$N56N_Q
	n56n_topo
	n56n_sas_side "$N56N_P" tunnel 40001
	n56_encap_sock "$N56N_P"
	xnl_load n56_encap_stop
	n56n_sas_side "$N56N_Q" tunnel 40001
	mon=$TOPO_TMP/xmon
	nsenter --net="/run/netns/$N56N_Q" ip xfrm monitor >"$mon" 2>&1 &
	echo $! >>"$TOPO_TMP/encap.pids"
	ping_ok "$N56N_P" "$N56N_PI" "$N56N_QI" 2
	n56n_remap 40002
	n56n_pings 10
	for _ in $(seq 1 50); do
		grep -q ':40002' "$mon" && break
		sleep 0.2
	done
	out=$(grep -m1 '^Mapping change' "$mon" || true)
	log "ip xfrm monitor: $(grep -A1 -m1 '^Mapping change' "$mon" | tr '\n\t' '  ')"
	expect_eq "XFRM_MSG_MAPPING from kipsec" "$out" \
		"Mapping change $N56N_R4:40001 -> $N56N_R4:40002"
}
ktest natt_mapping_xfrm_netlink t_natt_mapping_xfrm_netlink 240
