# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# ICMP errors about a protected flow: kipsec (netns ka) against Linux xfrm
# (netns xb), the same `ip xfrm` lines on both sides (tests/lib/topo.sh),
# tunnel mode, IPv4 and IPv6.
#
#      netns ka (kipsec)                        netns xb (xfrm)
#   lo  10.98.1.1  fd98:1::1                 lo  10.98.2.1  fd98:2::1
#   vka 10.99.0.1  fd99::1  ==== veth ====  vxb 10.99.0.2  fd99::2
#     ^ sniff.py: what each side sends      ^ sniff.py
#
# The policies protect UDP only (proto udp) between the inner addresses,
# so an ICMP error about a UDP flow is not covered by them, as one from a
# router inside the protected network whose own address is outside the
# selector.  Each side sends one datagram to a closed port of the other
# from a connected socket; the port unreachable comes back and the
# socket reports ECONNREFUSED if the error was accepted.  As xfrm
# (icmp_route_lookup/icmp_rcv and their IPv6 twins):
#   no flags                the error goes in plaintext and is accepted
#   policy flag icmp        it goes through the SA covering the reverse of
#                           the quoted flow; the receiving SA lacks flag
#                           icmp, so the inbound policy check drops it
#   + SA flag icmp          the receiver checks the reverse of the quoted
#                           flow instead, and accepts it
# Both directions must give the same (one is kipsec's, one xfrm's), and
# what xfrm gives.

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

ICMP_GCM='rfc4106(gcm(aes))'

# icmp_probe FAMILY: "kx=refused|timeout xk=refused|timeout"; kx: ka sends
# (the error comes from xfrm), xk: xb sends (the error comes from kipsec)
icmp_probe() {
	timeout 30 "$PY" - "$1" "$KAI4" "$XBI4" "$KAI6" "$XBI6" <<-'EOF'
		import ctypes, os, select, socket, sys, time
		v6 = sys.argv[1] == "6"
		ka, xb = sys.argv[4:6] if v6 else sys.argv[2:4]
		af = socket.AF_INET6 if v6 else socket.AF_INET
		libc = ctypes.CDLL(None, use_errno=True)
		def enter(ns):
		    fd = os.open("/run/netns/" + ns, os.O_RDONLY)
		    if libc.setns(fd, 0x40000000):
		        raise OSError(ctypes.get_errno(), "setns " + ns)
		    os.close(fd)
		socks = {}
		for d, ns, src, dst in (("kx", "ka", ka, xb), ("xk", "xb", xb, ka)):
		    enter(ns)
		    s = socket.socket(af, socket.SOCK_DGRAM)
		    s.bind((src, 0))
		    s.connect((dst, 9))
		    s.send(b"probe")
		    socks[d] = s
		res = {"kx": "timeout", "xk": "timeout"}
		end = time.time() + 4
		while time.time() < end and "timeout" in res.values():
		    for d, s in socks.items():
		        if res[d] != "timeout" or not select.select([s], [], [], 0.1)[0]:
		            continue
		        try:
		            s.recv(64)
		            res[d] = "data"
		        except ConnectionRefusedError:
		            res[d] = "refused"
		print("kx=%s xk=%s" % (res["kx"], res["xk"]))
	EOF
}

# icmp_case FAMILY POLFLAG SAFLAG WANT_RESULT WANT_ESP WANT_PLAIN:
# POLFLAG/SAFLAG 0/1; WANT_ESP: ESP packets each way (the probe, and the
# error when protected); WANT_PLAIN: plaintext errors each way
icmp_case() {
	local fam=$1 pf=() sf=() got key
	local ka=$KAI4/32 xb=$XBI4/32 oka=$KA4 oxb=$XB4
	[ "$2" = 1 ] && pf=(flag icmp)
	[ "$3" = 1 ] && sf=(flag icmp)
	if [ "$fam" = 6 ]; then
		ka=$KAI6/128 xb=$XBI6/128 oka=$KA6 oxb=$XB6 key=icmp6:1
	else
		key=icmp:3
	fi
	flush_both
	sa_pair tunnel "$fam" "$fam" "$ICMP_GCM" 128 128 "${sf[@]}"
	cfg ka policy add src "$ka" dst "$xb" proto udp dir out "${pf[@]}" \
		tmpl src "$oka" dst "$oxb" proto esp reqid "$REQ_KX" mode tunnel
	cfg ka policy add src "$xb" dst "$ka" proto udp dir in "${pf[@]}" \
		tmpl src "$oxb" dst "$oka" proto esp reqid "$REQ_XK" mode tunnel
	cfg xb policy add src "$xb" dst "$ka" proto udp dir out "${pf[@]}" \
		tmpl src "$oxb" dst "$oka" proto esp reqid "$REQ_XK" mode tunnel
	cfg xb policy add src "$ka" dst "$xb" proto udp dir in "${pf[@]}" \
		tmpl src "$oka" dst "$oxb" proto esp reqid "$REQ_KX" mode tunnel
	cfg_apply

	# each side's own output ("out"): a tap on the receiving side also
	# sees the inner packets xfrm re-injects there after decapsulation
	sniff_start wka "$KA" "$KA_IF"
	sniff_start wxb "$XB" "$XB_IF"
	got=$(icmp_probe "$fam")
	sniff_stop wka
	sniff_stop wxb
	log "v$fam policy flag icmp $2, SA flag icmp $3: $got;" \
		"esp $(sniff_count wka out:esp:0x00001001)/$(sniff_count wxb out:esp:0x00002002)," \
		"plain $(sniff_count wka out:$key)/$(sniff_count wxb out:$key)"
	expect_eq "probe results (kx: xfrm's error to kipsec, xk: the reverse)" \
		"$got" "kx=$4 xk=$4"
	expect_eq "ESP from kipsec" "$(sniff_count wka out:esp:0x00001001)" "$5"
	expect_eq "ESP from xfrm" "$(sniff_count wxb out:esp:0x00002002)" "$5"
	expect_eq "plaintext errors from kipsec" "$(sniff_count wka out:$key)" "$6"
	expect_eq "plaintext errors from xfrm" "$(sniff_count wxb out:$key)" "$6"
}

t_icmp() {
	local fam=$1
	need_kipsec
	need_py
	topo_up
	icmp_case "$fam" 0 0 refused 1 1
	icmp_case "$fam" 1 0 timeout 2 0
	icmp_case "$fam" 1 1 refused 2 0
	# SA flag alone: the error is not protected, the plaintext one passes
	icmp_case "$fam" 0 1 refused 1 1
	topo_check_clean
}
t_icmp4() { t_icmp 4; }
t_icmp6() { t_icmp 6; }

ktest icmp_error_reverse_v4 t_icmp4 180
ktest icmp_error_reverse_v6 t_icmp6 180
