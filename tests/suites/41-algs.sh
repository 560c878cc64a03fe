# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# ESP with a separate cipher and integrity algorithm, and AES-CCM, against
# Linux xfrm (tests/lib/topo.sh: kipsec in netns ka, xfrm in netns xb, the
# same command lines on both sides).
#
# Every cipher x integrity pair (cbc(aes) with 128/192/256-bit keys in
# turn, rfc3686(ctr(aes)) likewise, ecb(cipher_null), cbc(des3_ede)) x
# (hmac(sha1), hmac(sha256), hmac(sha384), hmac(sha512), xcbc(aes),
# cmac(aes), hmac(md5)), plus rfc4309(ccm(aes)) with each key and ICV
# length and the three ciphers without integrity: 34 SA pairs.  Integrity
# alternates between `auth NAME KEY` (xfrm's default truncation) and
# `auth-trunc NAME KEY BITS` (the RFC truncation).
#
# To fit the budget, one test per phase installs all 34 pairs at once, each
# with its own addresses, reqids and SPIs:
#   transport v4/v6: secondary veth addresses 10.99.0.(10+i) <-> .(110+i),
#                    fd99::1:i <-> fd99::2:i
#   tunnel v4/v6:    inner lo addresses 10.98.1.(10+i) <-> 10.98.2.(10+i),
#                    fd98:1::1:i <-> fd98:2::1:i, outer the veth addresses;
#                    7 ESN SA pairs (authencesn, one per integrity
#                    algorithm) whose sequence numbers start above
#                    2^32, so that the high half counts in the ICV
# then one python process pings and moves 16 KB over TCP both ways for
# every pair, and one counter dump per side is compared: each SA's packets
# as sent by one side and accepted by the other, no xfrm input error, no
# kipsec drop.
#
# algs_refusals: what must be refused is, with the kernel's message, exit
# 2, nothing installed.
#
# KA_TOOL=xfrm runs xfrm on both sides (see tests/lib/topo.sh).

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

ALGS_TCP=16384

# algs_list: one line per SA pair, "ALGO-CLAUSE-WITHOUT-KEYS" as a template
# where K<n> stands for an n-byte key (distinct per SA).
algs_list() {
	local ciphers=("cbc(aes) 16" "cbc(aes) 24" "cbc(aes) 32" \
		       "rfc3686(ctr(aes)) 20" "rfc3686(ctr(aes)) 28" \
		       "rfc3686(ctr(aes)) 36")
	# name key-bytes RFC-truncation
	local auths=("hmac(sha1) 20 96" "hmac(sha256) 32 128" \
		     "hmac(sha384) 48 192" "hmac(sha512) 64 256" \
		     "xcbc(aes) 16 96" "cmac(aes) 16 96" "hmac(md5) 16 96")
	local i=0 a an ak at c cn ck
	for a in "${auths[@]}"; do
		read -r an ak at <<<"$a"
		for c in aes ctr null 3des; do
			case $c in
			aes) read -r cn ck <<<"${ciphers[$((i % 3))]}" ;;
			ctr) read -r cn ck <<<"${ciphers[$((3 + (i + 1) % 3))]}" ;;
			null) cn='ecb(cipher_null)' ck=0 ;;
			3des) cn='cbc(des3_ede)' ck=24 ;;
			esac
			if ((i % 2)); then
				echo "enc $cn K$ck auth-trunc $an K$ak $at"
			else
				echo "enc $cn K$ck auth $an K$ak"
			fi
			i=$((i + 1))
		done
	done
	echo "aead rfc4309(ccm(aes)) K19 64"
	echo "aead rfc4309(ccm(aes)) K27 96"
	echo "aead rfc4309(ccm(aes)) K35 128"
	echo "enc cbc(aes) K16"
	echo "enc rfc3686(ctr(aes)) K20"
	echo "enc ecb(cipher_null) K0"
}

# algs_gen MODE FAMILY: from $TOPO_TMP/list, in one process (forks are
# dear under TCG), the files of a phase: ka.addr and xb.addr (ip -batch:
# addresses, routes, neighbours), ka.cfg and xb.cfg (the same SA lines on
# both sides, each side's policies; K<n> in the list becomes an n-byte
# key, distinct per SA, K0 an empty one) and pairs ("I KA-ADDR XB-ADDR").
# Pair I: SPIs 0x1000+I (ka -> xb) and 0x2000+I, reqids 100+I and 200+I;
# transport: veth addresses 10.99.0.(10+I) <-> .(110+I), fd99::1:I <->
# fd99::2:I; tunnel: lo addresses 10.98.1.(10+I) <-> 10.98.2.(10+I),
# fd98:1::1:I <-> fd98:2::1:I, outer the veth addresses, ESN with
# sequence numbers above 2^32.
algs_gen() {
	local noesn=
	grep -qx esn <<<"${ALGS_MISSING:-}" && noesn=1
	awk -v mode="$1" -v fam="$2" -v dir="$TOPO_TMP" -v noesn="$noesn" \
	    -v ka_if="$KA_IF" -v xb_if="$XB_IF" -v ka_mac="$KA_MAC" \
	    -v xb_mac="$XB_MAC" -v ka4="$KA4" -v xb4="$XB4" -v ka6="$KA6" \
	    -v xb6="$XB6" '
	function key(n, seed,   i, s) {
		if (n == 0)
			return "\"\""
		s = "0x"
		for (i = 0; i < n; i++)
			s = s sprintf("%02x", (seed * 31 + i * 7 + 1) % 256)
		return s
	}
	function keys(tpl, seed,   w, n, i, out) {
		n = split(tpl, w, " ")
		out = ""
		for (i = 1; i <= n; i++) {
			if (w[i] ~ /^K[0-9]+$/)
				w[i] = key(substr(w[i], 2) + 0, seed++)
			out = out (i > 1 ? " " : "") w[i]
		}
		return out
	}
	BEGIN {
		plen = fam == 4 ? 32 : 128
		nodad = fam == 4 ? "" : " nodad"
	}
	{
		i = NR - 1
		# tunnel: ESN on one pair per integrity algorithm, the cipher
		# rotating (each new authencesn instance costs seconds)
		esn = !noesn && mode == "tunnel" && i < 28 && i % 4 == int(i / 4) % 4 ? \
			" flag esn replay-seq-hi 1 replay-oseq-hi 1" : ""
		if (mode == "transport" && fam == 4) {
			a = "10.99.0." (10 + i); b = "10.99.0." (110 + i)
		} else if (mode == "transport") {
			a = "fd99::1:" i; b = "fd99::2:" i
		} else if (fam == 4) {
			a = "10.98.1." (10 + i); b = "10.98.2." (10 + i)
		} else {
			a = "fd98:1::1:" i; b = "fd98:2::1:" i
		}
		if (mode == "transport") {
			oa = a; ob = b
			print "addr add " a "/" plen " dev " ka_if nodad > (dir "/ka.addr")
			print "addr add " b "/" plen " dev " xb_if nodad > (dir "/xb.addr")
			print "route add " b "/" plen " dev " ka_if " src " a > (dir "/ka.addr")
			print "route add " a "/" plen " dev " xb_if " src " b > (dir "/xb.addr")
			print "neigh replace " b " lladdr " xb_mac " dev " ka_if \
				" nud permanent" > (dir "/ka.addr")
			print "neigh replace " a " lladdr " ka_mac " dev " xb_if \
				" nud permanent" > (dir "/xb.addr")
		} else {
			oa = fam == 4 ? ka4 : ka6; ob = fam == 4 ? xb4 : xb6
			print "addr add " a "/" plen " dev lo" nodad > (dir "/ka.addr")
			print "addr add " b "/" plen " dev lo" nodad > (dir "/xb.addr")
			print "route add " b "/" plen " via " ob " dev " ka_if " src " a \
				> (dir "/ka.addr")
			print "route add " a "/" plen " via " oa " dev " xb_if " src " b \
				> (dir "/xb.addr")
		}
		kx = "state add src " oa " dst " ob " proto esp spi " (4096 + i) \
			" reqid " (100 + i) " mode " mode " replay-window 1024" esn \
			" " keys($0, i * 8)
		xk = "state add src " ob " dst " oa " proto esp spi " (8192 + i) \
			" reqid " (200 + i) " mode " mode " replay-window 1024" esn \
			" " keys($0, i * 8 + 4)
		tk = " proto esp reqid " (100 + i) " mode " mode
		tx = " proto esp reqid " (200 + i) " mode " mode
		print kx > (dir "/ka.cfg"); print kx > (dir "/xb.cfg")
		print xk > (dir "/ka.cfg"); print xk > (dir "/xb.cfg")
		print "policy add src " a "/" plen " dst " b "/" plen \
			" dir out tmpl src " oa " dst " ob tk > (dir "/ka.cfg")
		print "policy add src " b "/" plen " dst " a "/" plen \
			" dir in tmpl src " ob " dst " oa tx > (dir "/ka.cfg")
		print "policy add src " b "/" plen " dst " a "/" plen \
			" dir out tmpl src " ob " dst " oa tx > (dir "/xb.cfg")
		print "policy add src " a "/" plen " dst " b "/" plen \
			" dir in tmpl src " oa " dst " ob tk > (dir "/xb.cfg")
		print i, a, b > (dir "/pairs")
	}' "$TOPO_TMP/list"
}

# The crypto modules of the phases: "MODULE[|ALTERNATIVE] REGEX" lines,
# REGEX (awk) the list lines that need the module; "-" every line, "esn"
# the ESN pairs of the tunnel phases.
ALGS_MODS='authenc .
echainiv .
seqiv .
drbg|jitterentropy_rng|ansi_cprng .
authencesn esn
ccm ccm[(]
ctr ctr[(]
xcbc xcbc[(]
cmac cmac[(]
des3_ede_x86_64|des_generic des3_ede
sha512_ssse3|sha512_generic sha384|sha512
crypto_null cipher_null|^enc[^ ]*[ ][^ ]*[ ]K[0-9]*$
ecb ecb[(]'

# algs_modules: load the crypto modules the phases need in one modprobe,
# then point kernel.modprobe at /bin/true until the test ends: otherwise
# every new algorithm name (authenc(...), echainiv(authenc(...)), ...)
# costs two modprobe runs under TCG, a minute per phase in all.  When one
# is missing, each is tried, and ALGS_MISSING lists the REGEXes of
# ALGS_MODS whose module (and every alternative) is missing: those pairs
# are left out (algs_filter), the others still run; a module needed by
# every pair makes the phase a SKIP.  The runner restores kernel.modprobe
# should a timeout cut the EXIT trap short.
algs_modules() {
	local old mods re ok m
	ALGS_MISSING=
	# shellcheck disable=SC2046
	if ! modprobe -a $(awk '{ gsub(/[|]/, " ", $1); print $1 }' \
			<<<"$ALGS_MODS") 2>/dev/null; then
		while read -r mods re; do
			ok=
			for m in ${mods//|/ }; do
				modprobe -q "$m" 2>/dev/null && { ok=1; break; }
			done
			[ -n "$ok" ] && continue
			[ "$re" = . ] && skip "no crypto module $mods (every pair needs it)"
			ALGS_MISSING+="$re"$'\n'
			log "no crypto module $mods: pairs matching /$re/ not tested"
		done <<<"$ALGS_MODS"
	fi
	old=$(cat /proc/sys/kernel/modprobe)
	[ "$old" = /bin/true ] && return 0
	# shellcheck disable=SC2064
	trap "echo '$old' >/proc/sys/kernel/modprobe" EXIT
	echo /bin/true >/proc/sys/kernel/modprobe
}

# algs_filter: algs_list's lines on stdin, without those that need a
# missing module (ALGS_MISSING; "esn" is for algs_gen)
algs_filter() {
	awk -v missing="$ALGS_MISSING" '
	BEGIN { n = split(missing, re, "\n") }
	{
		for (i = 1; i <= n; i++)
			if (re[i] != "" && re[i] != "esn" && $0 ~ re[i])
				next
		print
	}'
}

# algs_counts_bad NPAIRS MIN: from $TOPO_TMP/ka.cnt and xb.cnt (lines
# "SPI PACKETS BYTES WINDOW REPLAY AUTH-FAIL", tests/lib/topo.sh), what is
# wrong, or nothing: each SA's packets equal on both sides and at least
# MIN, no authentication failure, every SA present on both sides
algs_counts_bad() {
	awk -v n="$1" -v min="$2" '
	FNR == NR { ka[$1] = $2; kf[$1] = $6; nk++; next }
	{ xb[$1] = $2; xf[$1] = $6; nx++ }
	END {
		if (nk != 2 * n || nx != 2 * n)
			printf "SA count ka %d xb %d, want %d; ", nk, nx, 2 * n
		for (s in ka) {
			if (ka[s] != xb[s])
				printf "%s packets ka %d xb %d; ", s, ka[s], xb[s]
			else if (ka[s] < min)
				printf "%s packets %d < %d; ", s, ka[s], min
			if (kf[s] || xf[s])
				printf "%s auth failures ka %d xb %d; ", s, kf[s], xf[s]
		}
	}' "$TOPO_TMP/ka.cnt" "$TOPO_TMP/xb.cnt"
}

# algs_phase MODE FAMILY: the test of one phase
algs_phase() {
	local mode=$1 fam=$2 n npairs bad errs t0=$SECONDS t1 t2 t3
	need_kipsec
	need_py
	algs_modules
	topo_up
	algs_list | algs_filter >"$TOPO_TMP/list"
	algs_gen "$mode" "$fam"
	npairs=$(wc -l <"$TOPO_TMP/pairs")
	ip -n "$KA" -batch "$TOPO_TMP/ka.addr"
	ip -n "$XB" -batch "$TOPO_TMP/xb.addr"
	t1=$SECONDS
	algs_apply
	t2=$SECONDS

	# traffic: every pair, ping and TCP both ways, in one process
	algs_traffic "$TOPO_TMP/pairs" >"$TOPO_TMP/traffic" 2>&1 || true
	n=$(grep -c '^ok ' "$TOPO_TMP/traffic" || true)
	if [ "$n" != "$npairs" ]; then
		grep -v '^ok ' "$TOPO_TMP/traffic" | head -n 20
		fail "traffic: $n of $npairs pairs passed: $(grep -v '^ok ' \
			"$TOPO_TMP/traffic" | head -n 2 | tr '\n' ' ')"
	fi
	t3=$SECONDS

	# counters: one dump per side, the last ACKs given time to land
	for n in 1 2 3 4 5; do
		ka_counts >"$TOPO_TMP/ka.cnt"
		xfrm_counts "$XB" >"$TOPO_TMP/xb.cnt"
		bad=$(algs_counts_bad "$npairs" $((2 + ALGS_TCP / 1500)))
		[ -z "$bad" ] && break
		sleep 0.5
	done
	[ -z "$bad" ] || fail "counters: $bad"
	errs=$(xfrm_in_errors "$XB")
	[ -z "$errs" ] || fail "xfrm input errors on $XB: $errs"
	if [ "$KA_TOOL" = kipsec ]; then
		errs=$("$KIPSEC" -n "$KA" -j stats | jq -r --arg nd "$KIPSEC_NOT_DROP" \
			'to_entries | map(select(.value > 0 and
				(.key | test($nd) | not))) |
			 map("\(.key)=\(.value)") | join(" ")')
		[ -z "$errs" ] || fail "kipsec drops on $KA: $errs"
	fi
	topo_check_clean
	log "$mode IPv$fam: $npairs SA pairs$([ "$mode" = tunnel ] &&
		echo " (7 with ESN, sequence numbers above 2^32)"), ping and" \
		"$ALGS_TCP bytes of TCP both ways each, packets sent = accepted"
	log "times: setup $((t1 - t0)) s, SAs and policies $((t2 - t1)) s," \
		"traffic $((t3 - t2)) s, checks $((SECONDS - t3)) s"
}

# algs_apply: the collected lines, in one batch per side (keys may be "")
algs_apply() {
	sed 's/^/xfrm /' "$TOPO_TMP/xb.cfg" | ip -n "$XB" -batch - ||
		fail "xb: ip xfrm batch failed"
	if [ "$KA_TOOL" = xfrm ]; then
		sed 's/^/xfrm /' "$TOPO_TMP/ka.cfg" | ip -n "$KA" -batch - ||
			fail "ka: ip xfrm batch failed"
	else
		"$KIPSEC" -n "$KA" -batch "$TOPO_TMP/ka.cfg" 2>"$TOPO_TMP/ka.err" || {
			cat "$TOPO_TMP/ka.err"
			fail "ka: kipsec batch failed: $(grep Error "$TOPO_TMP/ka.err" | head -n 1)"
		}
	fi
	rm -f "$TOPO_TMP/ka.cfg" "$TOPO_TMP/xb.cfg"
}

# algs_traffic PAIRS: for each line "I KA-ADDR XB-ADDR", an ICMP echo each
# way and TCP both ways at once; prints "ok I" or what failed
algs_traffic() {
	timeout 200 "$PY" - "$KA" "$XB" "$ALGS_TCP" "$1" <<-'EOF'
		import ctypes, os, socket, struct, sys, threading, time
		ka, xb, n, pairs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
		libc = ctypes.CDLL(None, use_errno=True)
		def enter(ns):
		    fd = os.open("/run/netns/" + ns, os.O_RDONLY)
		    if libc.setns(fd, 0x40000000):
		        raise OSError(ctypes.get_errno(), "setns " + ns)
		    os.close(fd)
		def fam(a):
		    return socket.AF_INET6 if ":" in a else socket.AF_INET
		def csum(b):
		    if len(b) % 2:
		        b += b"\0"
		    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
		    while s >> 16:
		        s = (s & 0xffff) + (s >> 16)
		    return ~s & 0xffff
		def ping(ns, src, dst, ident):
		    enter(ns)
		    v6 = fam(dst) == socket.AF_INET6
		    s = socket.socket(fam(dst), socket.SOCK_RAW,
		                      socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
		    s.bind((src, 0))
		    body = b"kipsec-algs" * 8
		    t = 128 if v6 else 8
		    h = struct.pack("!BBHHH", t, 0, 0, ident, 1) + body
		    if not v6:
		        h = h[:2] + struct.pack("!H", csum(h)) + h[4:]
		    s.settimeout(0.5)
		    for attempt in range(6):
		        s.sendto(h, (dst, 0))
		        end = time.monotonic() + 0.5
		        while time.monotonic() < end:
		            try:
		                r, a = s.recvfrom(2048)
		            except socket.timeout:
		                break
		            if not v6:
		                r = r[(r[0] & 15) * 4:]
		            if a[0] == dst and len(r) >= 8 and r[0] == (129 if v6 else 0) \
		               and struct.unpack("!H", r[4:6])[0] == ident:
		                s.close()
		                return attempt
		    s.close()
		    raise Exception("no echo reply %s -> %s in %s" % (src, dst, ns))
		def tcp(aa, ab, port):
		    enter(ka)
		    la = socket.socket(fam(aa)); la.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		    la.bind((aa, port)); la.listen(1)
		    enter(xb)
		    lb = socket.socket(fam(ab)); lb.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		    lb.bind((ab, port)); lb.listen(1)
		    enter(ka)
		    ca = socket.socket(fam(aa)); ca.settimeout(20); ca.bind((aa, 0))
		    ca.connect((ab, port))
		    enter(xb)
		    cb = socket.socket(fam(ab)); cb.settimeout(20); cb.bind((ab, 0))
		    cb.connect((aa, port))
		    la.settimeout(20); lb.settimeout(20)
		    sa, sb = la.accept()[0], lb.accept()[0]
		    data = bytes(range(256)) * (n // 256) + b"y" * (n % 256)
		    got = {}
		    def send(s):
		        s.sendall(data)
		        s.shutdown(socket.SHUT_WR)
		    def recv(s, k):
		        s.settimeout(20)
		        b = b""
		        while True:
		            d = s.recv(65536)
		            if not d:
		                break
		            b += d
		        got[k] = b == data
		    th = [threading.Thread(target=send, args=(ca,)),
		          threading.Thread(target=send, args=(cb,)),
		          threading.Thread(target=recv, args=(sb, "a2b")),
		          threading.Thread(target=recv, args=(sa, "b2a"))]
		    for t in th: t.start()
		    for t in th: t.join(30)
		    for s in (la, lb, ca, cb, sa, sb):
		        s.close()
		    if got != {"a2b": True, "b2a": True}:
		        raise Exception("tcp %s <-> %s: %s" % (aa, ab, got))
		for line in open(pairs):
		    i, aa, ab = line.split()
		    try:
		        r1 = ping(ka, aa, ab, 0x4100 + int(i))
		        r2 = ping(xb, ab, aa, 0x4200 + int(i))
		        tcp(aa, ab, 6000 + int(i))
		        print("ok %s %s <-> %s%s" % (i, aa, ab,
		              " (ping retried)" if r1 or r2 else ""), flush=True)
		    except Exception as e:
		        print("pair %s: %s" % (i, e), flush=True)
	EOF
}

t_algs_transport_v4() { algs_phase transport 4; }
t_algs_transport_v6() { algs_phase transport 6; }
t_algs_tunnel_v4() { algs_phase tunnel 4; }
t_algs_tunnel_v6() { algs_phase tunnel 6; }
ktest algs_transport_v4 t_algs_transport_v4 300
ktest algs_transport_v6 t_algs_transport_v6 240
ktest algs_tunnel_v4_esn t_algs_tunnel_v4 300
ktest algs_tunnel_v6_esn t_algs_tunnel_v6 240

# what must be refused: the kernel's message, exit 2, nothing installed
t_algs_refusals() {
	local k16=0x00112233445566778899aabbccddeeff n=0 out
	local id="src 10.0.0.1 dst 10.0.0.2 proto esp"
	[ -x "$KIPSEC" ] || skip "tools/kipsec not built"
	grep -q '^kipsec ' /proc/modules || skip "kipsec.ko not loaded"
	# refuse PATTERN STATE-ADD-ARGS...
	refuse() {
		local pat=$1 rc=0
		shift
		n=$((n + 1))
		# shellcheck disable=SC2086
		out=$("$KIPSEC" state add $id spi $((0x500 + n)) "$@" 2>&1) || rc=$?
		[ "$rc" = 2 ] || fail "'$*' exited $rc, want 2: $out"
		grep -qF -- "$pat" <<<"$out" || fail "'$*': no '$pat' in: $out"
	}
	refuse "single DES is insecure" enc 'cbc(des)' 0x0011223344556677 \
		auth 'hmac(sha1)' ${k16}00112233
	refuse "single DES is insecure" enc des 0x0011223344556677
	refuse "unknown cipher" enc 'cbc(nosuch)' $k16
	refuse "unknown cipher" enc 'cbc(twofish)' $k16
	refuse "unknown integrity algorithm" enc 'cbc(aes)' $k16 \
		auth 'hmac(sha3)' $k16
	refuse "unknown AEAD" aead 'rfc4106(ccm(aes))' ${k16}00112233 128
	refuse "key length does not fit cbc(aes): 128, 192 or 256" \
		enc 'cbc(aes)' ${k16}0011
	refuse "key length does not fit rfc3686(ctr(aes))" \
		enc 'rfc3686(ctr(aes))' $k16
	refuse "key length does not fit cbc(des3_ede): 192" \
		enc 'cbc(des3_ede)' $k16
	refuse "ecb(cipher_null) takes no key" enc 'ecb(cipher_null)' $k16
	refuse "key length does not fit xcbc(aes): 128" enc 'cbc(aes)' $k16 \
		auth 'xcbc(aes)' ${k16}00112233
	refuse "key length does not fit rfc4309(ccm(aes))" \
		aead 'rfc4309(ccm(aes))' ${k16}00112233 128
	refuse "ICV length must be 64, 96 or 128 bits for rfc4309" \
		aead 'rfc4309(ccm(aes))' ${k16}001122 32
	refuse "hmac(sha256) truncation must be a multiple of 8 bits from 64 to 256" \
		enc 'cbc(aes)' $k16 auth-trunc 'hmac(sha256)' $k16 100
	refuse "hmac(sha1) truncation must be a multiple of 8 bits from 64 to 160" \
		enc 'cbc(aes)' $k16 auth-trunc 'hmac(sha1)' $k16 192
	refuse "truncation must be a multiple of 8 bits from 64" \
		enc 'cbc(aes)' $k16 auth-trunc 'hmac(sha512)' $k16 32
	refuse "excludes separate enc and auth" \
		aead 'rfc4106(gcm(aes))' ${k16}00112233 128 enc 'cbc(aes)' $k16
	refuse "excludes separate enc and auth" \
		aead 'rfc4106(gcm(aes))' ${k16}00112233 128 auth 'hmac(sha1)' $k16
	id="src 10.0.0.1 dst 10.0.0.2 proto ah"
	refuse "unknown integrity algorithm" auth 'hmac(nosuch)' $k16
	refuse "key length does not fit cmac(aes): 128" auth 'cmac(aes)' 0x0011
	[ "$("$KIPSEC" state count | awk '{ print $3 }')" = 0 ] ||
		fail "a refused SA was installed: $("$KIPSEC" state list)"
	# the CLI's own checks of an alias: exit 1, before the kernel
	id="src 10.0.0.1 dst 10.0.0.2 proto esp"
	# shellcheck disable=SC2086
	out=$("$KIPSEC" state add $id spi 0x600 alg aes128-sha256 $k16 $k16 2>&1) &&
		fail "alias with a short integrity key accepted"
	grep -qF 'needs a 256-bit key for hmac(sha256)' <<<"$out" ||
		fail "alias key message: $out"
	log "$n refusals with the kernel's message, exit 2, nothing installed"
}
ktest algs_refusals t_algs_refusals 60
