# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# DS field (DSCP, ECN) and TTL / hop limit through a tunnel-mode SA pair,
# IPv4 and IPv6: kipsec (netns ka) against Linux xfrm (netns xb), the same
# `ip xfrm` lines on both sides (tests/lib/topo.sh), SA flags none, noecn
# and decap-dscp.
#
#      netns ka (kipsec)                        netns xb (xfrm)
#   lo  10.98.1.1  fd98:1::1                 lo  10.98.2.1  fd98:2::1
#   vka 10.99.0.1  fd99::1  ==== veth ====  vxb 10.99.0.2  fd99::2
#                                            ^ AF_PACKET: outer headers
#
# One python process sends UDP from each inner address to the other with
# chosen DS fields (IP_TOS, IPV6_TCLASS) and TTL 33, reads on vxb the outer
# header of each ESP packet (encapsulation: DS field, TTL/hop limit, DF)
# and receives the inner packets after decapsulation on both sides
# (IP_RECVTOS/IP_RECVTTL, IPV6_RECVTCLASS/IPV6_RECVHOPLIMIT).  Then again
# with an nftables rule at PREROUTING of both sides that rewrites the outer
# header of arriving ESP to DSCP AF11 and ECN CE, as a router on the path
# could: decapsulation keeps the inner DSCP or, with decap-dscp, takes the
# outer one, and propagates CE into an ECT inner packet unless noecn.
#
# Each packet's line for the kipsec -> xfrm direction (encapsulated by
# kipsec, decapsulated by xfrm) must equal the one for xfrm -> kipsec, and
# both must equal the values xfrm is known to produce (RFC 6040 encap,
# DSCP copied, outer TTL 64, inner TTL kept).  A CE outer header over a
# not-ECT inner packet is left out: kipsec drops it (RFC 6040), xfrm
# delivers it unchanged (docs/architecture.md, differences).

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

TOS_GCM='rfc4106(gcm(aes))'

# tos_run FAMILY "TOS..." : one line a packet and direction,
#   kx|xk TOS outer=DS/TTL[/DF] inner=DS/TTL   (inner=none: not received)
tos_run() {
	timeout 60 "$PY" - "$1" "$2" "$KAI4" "$XBI4" "$KAI6" "$XBI6" <<-'EOF'
		import ctypes, os, select, socket, struct, sys, time
		fam, toss = sys.argv[1], [int(t, 0) for t in sys.argv[2].split()]
		kai4, xbi4, kai6, xbi6 = sys.argv[3:7]
		v6 = fam == "6"
		ka, xb = (kai6, xbi6) if v6 else (kai4, xbi4)
		af = socket.AF_INET6 if v6 else socket.AF_INET
		libc = ctypes.CDLL(None, use_errno=True)
		def enter(ns):
		    fd = os.open("/run/netns/" + ns, os.O_RDONLY)
		    if libc.setns(fd, 0x40000000):
		        raise OSError(ctypes.get_errno(), "setns " + ns)
		    os.close(fd)
		def receiver(ns, addr):
		    enter(ns)
		    s = socket.socket(af, socket.SOCK_DGRAM)
		    if v6:
		        s.setsockopt(socket.IPPROTO_IPV6, 66, 1)   # RECVTCLASS
		        s.setsockopt(socket.IPPROTO_IPV6, 51, 1)   # RECVHOPLIMIT
		    else:
		        s.setsockopt(socket.IPPROTO_IP, 13, 1)     # RECVTOS
		        s.setsockopt(socket.IPPROTO_IP, 12, 1)     # RECVTTL
		    s.bind((addr, 5001))
		    return s
		def sender(ns, src, dst, tos):
		    enter(ns)
		    s = socket.socket(af, socket.SOCK_DGRAM)
		    if v6:
		        s.setsockopt(socket.IPPROTO_IPV6, 67, tos)  # TCLASS
		        s.setsockopt(socket.IPPROTO_IPV6, 16, 33)   # UNICAST_HOPS
		    else:
		        s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
		        s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 33)
		    s.bind((src, 0))
		    s.sendto(b"tos %d" % tos, (dst, 5001))
		    s.close()
		enter("xb")
		cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
		cap.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
		cap.bind(("vxb", 0))
		rx = {"kx": receiver("xb", xb), "xk": receiver("ka", ka)}
		for tos in toss:
		    sender("ka", ka, xb, tos)
		    sender("xb", xb, ka, tos)
		    time.sleep(0.05)
		outer = {0x1001: [], 0x2002: []}
		cap.setblocking(False)
		end = time.time() + 3
		while time.time() < end and min(len(v) for v in outer.values()) < len(toss):
		    try:
		        f = cap.recv(4096)
		    except BlockingIOError:
		        time.sleep(0.05)
		        continue
		    et = f[12:14]
		    if et == b"\x08\x00" and not v6 and f[23] == 50:
		        ihl = (f[14] & 15) * 4
		        spi = struct.unpack("!I", f[14 + ihl:18 + ihl])[0]
		        o = "0x%02x/%d/%s" % (f[15], f[22], "df" if f[20] & 0x40 else "-")
		    elif et == b"\x86\xdd" and v6 and f[20] == 50:
		        spi = struct.unpack("!I", f[54:58])[0]
		        o = "0x%02x/%d" % (((f[14] & 15) << 4) | (f[15] >> 4), f[21])
		    else:
		        continue
		    if spi in outer:
		        outer[spi].append(o)
		inner = {"kx": {}, "xk": {}}
		for d, s in rx.items():
		    s.setblocking(False)
		    end = time.time() + 2
		    while time.time() < end and len(inner[d]) < len(toss):
		        if not select.select([s], [], [], 0.2)[0]:
		            continue
		        data, anc, _, _ = s.recvmsg(64, 256)
		        ds = ttl = -1
		        for lvl, typ, v in anc:
		            n = v[0] if len(v) == 1 else struct.unpack("i", v[:4])[0]
		            if typ in (1, 67):      # IP_TOS, IPV6_TCLASS
		                ds = n
		            elif typ in (2, 52):    # IP_TTL, IPV6_HOPLIMIT
		                ttl = n
		        inner[d][int(data.split()[1])] = "0x%02x/%d" % (ds, ttl)
		for d, spi in (("kx", 0x1001), ("xk", 0x2002)):
		    for i, tos in enumerate(toss):
		        o = outer[spi][i] if i < len(outer[spi]) else "none"
		        print("%s 0x%02x outer=%s inner=%s" %
		              (d, tos, o, inner[d].get(tos, "none")))
	EOF
}

# tos_mangle on|off: rewrite the outer DS field of arriving ESP on both
# sides (DSCP AF11, ECN CE) before either datapath sees it
tos_mangle() {
	local ns
	for ns in "$KA" "$XB"; do
		if [ "$1" = on ]; then
			ip netns exec "$ns" nft -f - <<-'EOF' ||
				table inet kt {
					chain pre {
						type filter hook prerouting priority -300;
						meta nfproto ipv4 ip protocol esp ip dscp set af11 ip ecn set ce
						meta nfproto ipv6 ip6 nexthdr esp ip6 dscp set af11 ip6 ecn set ce
					}
				}
			EOF
				skip "nftables cannot rewrite the DS field"
		else
			ip netns exec "$ns" nft delete table inet kt 2>/dev/null || true
		fi
	done
}

# tos_expect FILE DIR TOS WANT: the line of DIR and TOS in FILE is WANT
tos_expect() {
	local got
	got=$(awk -v d="$2" -v t="$3" '$1 == d && $2 == t { print $3 " " $4 }' "$1")
	[ "$got" = "$4" ] || {
		cat "$1"
		fail "$2 tos $3: got '$got', want '$4'"
	}
}

# tos_expect_inner FILE DIR TOS WANT: as tos_expect, the inner part only
tos_expect_inner() {
	local got
	got=$(awk -v d="$2" -v t="$3" '$1 == d && $2 == t { print $4 }' "$1")
	[ "$got" = "$4" ] || {
		cat "$1"
		fail "$2 tos $3: got '$got', want '$4'"
	}
}

# tos_compare FILE: kipsec -> xfrm lines equal xfrm -> kipsec lines
tos_compare() {
	local kx xk
	kx=$(awk '$1 == "kx" { $1 = ""; print }' "$1")
	xk=$(awk '$1 == "xk" { $1 = ""; print }' "$1")
	[ "$kx" = "$xk" ] || {
		cat "$1"
		fail "kipsec and xfrm differ (kx: encapsulated by kipsec, decapsulated by xfrm; xk: the reverse)"
	}
}

# tos_case FAMILY FLAGS... : SA pair with FLAGS, plain then mangled runs;
# checks symmetry and xfrm's values
tos_case() {
	local fam=$1 f=$TOPO_TMP/tos.out flags df="" o ttl=64
	shift
	flags="$*"
	[ "$fam" = 4 ] && df=/df
	flush_both
	if [ -n "$flags" ]; then
		sa_pair tunnel "$fam" "$fam" "$TOS_GCM" 128 128 flag "$@"
	else
		sa_pair tunnel "$fam" "$fam" "$TOS_GCM" 128 128
	fi
	pol_pair tunnel "$fam" "$fam"
	cfg_apply

	tos_mangle off
	tos_run "$fam" "0xb8 0xb9 0xba 0xbb 0x00" >"$f"
	log "v$fam flags '$flags', as sent: $(tr '\n' ';' <"$f")"
	tos_compare "$f"
	# encapsulation: DSCP copied, ECN per RFC 6040 (CE -> ECT(0)) or
	# cleared with noecn; decapsulation of an unchanged outer header
	# gives the inner packet as sent
	for o in "0xb8 0xb8" "0xb9 0xb9" "0xba 0xba" "0xbb 0xba" "0x00 0x00"; do
		set -- $o
		local want=$2
		case " $flags " in
		*" noecn "*) want=$(printf '0x%02x' $(($2 & 0xfc))) ;;
		esac
		tos_expect "$f" kx "$1" "outer=$want/$ttl$df inner=$1/33"
	done

	tos_mangle on
	tos_run "$fam" "0xb9 0xba" >"$f"
	tos_mangle off
	log "v$fam flags '$flags', outer AF11+CE: $(tr '\n' ';' <"$f")"
	tos_compare "$f"
	for o in 0xb9 0xba; do
		local ds=$((o & 0xfc)) ecn=$((o & 3)) want
		case " $flags " in *" decap-dscp "*) ds=0x28 ;; esac
		case " $flags " in *" noecn "*) ;; *) ecn=3 ;; esac
		want=$(printf '0x%02x' $((ds | ecn)))
		tos_expect_inner "$f" kx "$o" "inner=$want/33"
	done
}

t_tos() {
	local fam=$1
	need_kipsec
	need_py
	command -v nft >/dev/null || skip "no nft"
	topo_up
	tos_case "$fam"
	tos_case "$fam" noecn
	tos_case "$fam" decap-dscp
	tos_case "$fam" noecn decap-dscp
	topo_check_clean
}
t_tos4() { t_tos 4; }
t_tos6() { t_tos 6; }

ktest tunnel_ds_ttl_v4 t_tos4 240
ktest tunnel_ds_ttl_v6 t_tos6 240
