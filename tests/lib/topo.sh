# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# Two-namespace topology and helpers for the interop suites (40-interop,
# 45-spd, 46-esn-scale).  Sourced by the suites; every test builds the
# topology itself (the runner deletes every netns after each test).
#
#      netns ka (kipsec side)                    netns xb (xfrm side)
#   +---------------------------+           +---------------------------+
#   | lo   10.98.1.1/32         |           | lo   10.98.2.1/32         |
#   |      fd98:1::1/128        |           |      fd98:2::1/128        |
#   |                           |           |                           |
#   | vka  10.99.0.1/24  =======|== veth ===|====== vxb 10.99.0.2/24    |
#   |      fd99::1/64           |           |       fd99::2/64          |
#   |      02:00:00:00:99:01    |           |       02:00:00:00:99:02   |
#   +---------------------------+           +---------------------------+
#   routes: 10.98.2.1 via 10.99.0.2,        routes: 10.98.1.1 via 10.99.0.1,
#           fd98:2::1 via fd99::2                   fd98:1::1 via fd99::1
#
# The inner (tunnel-mode) addresses, on lo, are the preferred sources of the routes
# to the peer's inner address, so traffic between 10.98.1.1 and 10.98.2.1
# (fd98:1::1 and fd98:2::1) is what the tunnel-mode policies protect, with
# the veth addresses as the template's outer addresses.  Neighbours are
# static: ARP/ND are not what these suites test (an any-protocol transport
# policy between the veth addresses would otherwise also protect unicast
# NS/NA).
#
# The same command lines configure both ends: ka_tool runs `ip xfrm ARGS`
# grammar through the kipsec CLI ($KIPSEC) in netns ka, xb_tool through
# `ip xfrm` in netns xb.
#
# Knobs (environment):
#   KA_TOOL=kipsec  (default) the ka side is kipsec; it must hold no xfrm
#                   state or policy.
#   KA_TOOL=xfrm    xfrm on both sides: proves the tests themselves.  The
#                   kipsec counters are then read from xfrm's equivalents
#                   (ka_count).  Run it in the guest with e.g.
#                   tests/run-vm.sh shell 'KA_TOOL=xfrm bash tests/lib/ktest.sh 40-'
#   PY              python3 used by the helpers (default /usr/bin/python3).

KA_TOOL=${KA_TOOL:-kipsec}
PY=${PY:-/usr/bin/python3}
TOPO_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SNIFF=$TOPO_LIB/sniff.py
: "${KIPSEC:=${REPO:-$(cd "$TOPO_LIB/../.." && pwd)}/tools/kipsec}"

KA=ka
XB=xb
KA_IF=vka
XB_IF=vxb
KA_MAC=02:00:00:00:99:01
XB_MAC=02:00:00:00:99:02
KA4=10.99.0.1
XB4=10.99.0.2
KA6=fd99::1
XB6=fd99::2
KAI4=10.98.1.1
XBI4=10.98.2.1
KAI6=fd98:1::1
XBI6=fd98:2::1

# SPIs and reqids of the SA pair: KX carries ka -> xb, XK carries xb -> ka.
SPI_KX=0x00001001
SPI_XK=0x00002002
REQ_KX=11
REQ_XK=22

# Scratch directory of the current test (removed by topo_down).
TOPO_TMP=${TOPO_TMP:-/tmp/kipsec-topo.$$}

# --- topology --------------------------------------------------------------

topo_down() {
	ip netns del "$KA" 2>/dev/null || true
	ip netns del "$XB" 2>/dev/null || true
	rm -rf "$TOPO_TMP"
}

# topo_up: build the two namespaces (see the drawing above), with as few
# processes as possible (each costs ~0.1 s under TCG).
topo_up() {
	topo_down
	mkdir -p "$TOPO_TMP"
	ip -batch - <<-EOF
		netns add $KA
		netns add $XB
	EOF
	ip link add "$KA_IF" netns "$KA" address "$KA_MAC" type veth \
		peer name "$XB_IF" netns "$XB" address "$XB_MAC"
	topo_side "$KA" "$KA_IF" "$KA4" "$KA6" "$KAI4" "$KAI6" \
		"$XB4" "$XB6" "$XBI4" "$XBI6" "$XB_MAC"
	topo_side "$XB" "$XB_IF" "$XB4" "$XB6" "$XBI4" "$XBI6" \
		"$KA4" "$KA6" "$KAI4" "$KAI6" "$KA_MAC"
}

# topo_side NS IF A4 A6 I4 I6 PEER4 PEER6 PEERI4 PEERI6 PEERMAC
# (new namespaces have rp_filter 0 in the guest; every address is nodad)
topo_side() {
	local ns=$1 ifc=$2 a4=$3 a6=$4 i4=$5 i6=$6 p4=$7 p6=$8 pi4=$9
	local pi6=${10} pmac=${11}

	ip -n "$ns" -batch - <<-EOF
		link set lo up
		addr add $i4/32 dev lo
		addr add $i6/128 dev lo nodad
		addr add $a4/24 dev $ifc
		addr add $a6/64 dev $ifc nodad
		link set $ifc up
		neigh replace $p4 lladdr $pmac dev $ifc nud permanent
		neigh replace $p6 lladdr $pmac dev $ifc nud permanent
		route add $pi4/32 via $p4 dev $ifc src $i4
		route add $pi6/128 via $p6 dev $ifc src $i6
	EOF
}

# topo_check_clean: both sides run in one kernel, so the kipsec side must
# not have ended up with xfrm configuration, nor the xfrm side with kipsec
# configuration.
topo_check_clean() {
	[ "$KA_TOOL" = kipsec ] || return 0
	if [ -n "$(ip -n "$KA" xfrm state)$(ip -n "$KA" xfrm policy)" ]; then
		fail "netns $KA holds xfrm configuration"
	fi
	local n
	n=$("$KIPSEC" -n "$XB" -j state list | jq length)
	[ "$n" = 0 ] || fail "netns $XB holds $n kipsec SAs"
}

# need_kipsec: skip unless the kipsec CLI can talk to the module.
need_kipsec() {
	[ "$KA_TOOL" = kipsec ] || return 0
	[ -x "$KIPSEC" ] || skip "kipsec CLI $KIPSEC not built"
	grep -q '^kipsec ' /proc/modules || skip "kipsec.ko not loaded"
}

need_py() {
	[ -x "$PY" ] || skip "no $PY"
}

# --- the configuration tools -------------------------------------------------

# ka_tool ARGS...: `ip xfrm ARGS` grammar on the kipsec side.  Options such
# as -s/-j come first, as with ip(8): ka_tool -s -j state list.
ka_tool() {
	if [ "$KA_TOOL" = xfrm ]; then
		local opts=()
		while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do
			[ "$1" = -j ] || opts+=("$1")	# ip xfrm has no JSON
			shift
		done
		ip "${opts[@]}" -n "$KA" xfrm "$@"
	else
		"$KIPSEC" -n "$KA" "$@"
	fi
}

xb_tool() {
	local opts=()
	while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do
		opts+=("$1")
		shift
	done
	ip "${opts[@]}" -n "$XB" xfrm "$@"
}

# side_tool ka|xb ARGS...
side_tool() {
	local side=$1
	shift
	case $side in
	ka) ka_tool "$@" ;;
	xb) xb_tool "$@" ;;
	*) fail "side_tool: unknown side $side" ;;
	esac
}

# Configuration is collected with cfg and applied with cfg_apply: the xfrm
# side as one `ip -batch`, the kipsec side as one `kipsec -batch` (one
# process).  Lines are `ip xfrm` arguments: no quoting needed.
#   cfg ka|xb|both ARGS...
cfg() {
	local side=$1
	shift
	case $side in
	ka|xb) echo "$*" >>"$TOPO_TMP/$side.cfg" ;;
	both) echo "$*" >>"$TOPO_TMP/ka.cfg"
	      echo "$*" >>"$TOPO_TMP/xb.cfg" ;;
	*) fail "cfg: unknown side $side" ;;
	esac
}

# cfg_apply: apply and forget the collected lines; fails on the first error.
cfg_apply() {
	if [ -s "$TOPO_TMP/xb.cfg" ]; then
		sed 's/^/xfrm /' "$TOPO_TMP/xb.cfg" | ip -n "$XB" -batch - ||
			fail "xb: ip xfrm batch failed: $(cat "$TOPO_TMP/xb.cfg")"
	fi
	if [ -s "$TOPO_TMP/ka.cfg" ]; then
		if [ "$KA_TOOL" = xfrm ]; then
			sed 's/^/xfrm /' "$TOPO_TMP/ka.cfg" | ip -n "$KA" -batch - ||
				fail "ka: ip xfrm batch failed"
		else
			"$KIPSEC" -n "$KA" -batch "$TOPO_TMP/ka.cfg" ||
				fail "ka: kipsec batch failed: $(cat "$TOPO_TMP/ka.cfg")"
		fi
	fi
	rm -f "$TOPO_TMP/ka.cfg" "$TOPO_TMP/xb.cfg"
}

flush_both() {
	cfg both state flush
	cfg both policy flush
	cfg_apply
}

# --- SA pair and policies -----------------------------------------------------

# keyhex NBYTES SEED: a deterministic key of NBYTES bytes.
keyhex() {
	local n=$1 seed=$2 i s="0x"
	for ((i = 0; i < n; i++)); do
		s+=$(printf '%02x' $(((seed * 31 + i * 7 + 1) & 255)))
	done
	echo "$s"
}

# alg_args NAME KEYBITS ICVBITS SEED: the aead clause of `state add`;
# KEYBITS is the cipher key, the 32-bit salt is appended.
alg_args() {
	local name=$1 bits=$2 icv=$3 seed=$4
	echo "aead $name $(keyhex $(((bits + 32) / 8)) "$seed") $icv"
}

# cell_addrs MODE OUTER INNER: outer and selector addresses of a cell
# (OUTER/INNER: 4 or 6).  Sets O_KA O_XB (outer), S_KA S_XB (selector
# prefixes) and T_KA T_XB (the traffic endpoints).
cell_addrs() {
	local mode=$1 outer=$2 inner=$3
	if [ "$outer" = 6 ]; then O_KA=$KA6 O_XB=$XB6; else O_KA=$KA4 O_XB=$XB4; fi
	if [ "$mode" = transport ]; then
		[ "$outer" = "$inner" ] || fail "transport mode is single-family"
		T_KA=$O_KA T_XB=$O_XB
	elif [ "$inner" = 6 ]; then
		T_KA=$KAI6 T_XB=$XBI6
	else
		T_KA=$KAI4 T_XB=$XBI4
	fi
	if [ "$inner" = 6 ]; then
		S_KA=$T_KA/128 S_XB=$T_XB/128
	else
		S_KA=$T_KA/32 S_XB=$T_XB/32
	fi
}

# sa_pair MODE OUTER INNER ALGNAME KEYBITS ICV [EXTRA STATE ARGS...]
# Collects the two SAs (KX: ka -> xb, XK: xb -> ka) for both sides, with
# identical command lines.  In EXTRA, the word SEL stands for the SA's
# selector (sel src S_KA dst S_XB, reversed for XK).
sa_pair() {
	local mode=$1 outer=$2 inner=$3 alg=$4 bits=$5 icv=$6 a
	local kx=() xk=()
	shift 6
	cell_addrs "$mode" "$outer" "$inner"
	for a in "$@"; do
		if [ "$a" = SEL ]; then
			kx+=(sel src "$S_KA" dst "$S_XB")
			xk+=(sel src "$S_XB" dst "$S_KA")
		else
			kx+=("$a")
			xk+=("$a")
		fi
	done
	cfg both state add src "$O_KA" dst "$O_XB" proto esp spi "$SPI_KX" \
		reqid "$REQ_KX" mode "$mode" "$(alg_args "$alg" "$bits" "$icv" 1)" \
		"${kx[@]}"
	cfg both state add src "$O_XB" dst "$O_KA" proto esp spi "$SPI_XK" \
		reqid "$REQ_XK" mode "$mode" "$(alg_args "$alg" "$bits" "$icv" 2)" \
		"${xk[@]}"
}

# pol_pair MODE OUTER INNER [EXTRA SELECTOR ARGS...]
# Collects the out and in policies of each side, protecting S_KA <-> S_XB
# with templates naming the outer addresses; POL_PRIO, if set, is their
# priority.
pol_pair() {
	local mode=$1 outer=$2 inner=$3 prio=()
	shift 3
	cell_addrs "$mode" "$outer" "$inner"
	[ -n "${POL_PRIO:-}" ] && prio=(priority "$POL_PRIO")
	cfg ka policy add src "$S_KA" dst "$S_XB" "$@" dir out "${prio[@]}" \
		tmpl src "$O_KA" dst "$O_XB" proto esp reqid "$REQ_KX" mode "$mode"
	cfg ka policy add src "$S_XB" dst "$S_KA" "$@" dir in "${prio[@]}" \
		tmpl src "$O_XB" dst "$O_KA" proto esp reqid "$REQ_XK" mode "$mode"
	cfg xb policy add src "$S_XB" dst "$S_KA" "$@" dir out "${prio[@]}" \
		tmpl src "$O_XB" dst "$O_KA" proto esp reqid "$REQ_XK" mode "$mode"
	cfg xb policy add src "$S_KA" dst "$S_XB" "$@" dir in "${prio[@]}" \
		tmpl src "$O_KA" dst "$O_XB" proto esp reqid "$REQ_KX" mode "$mode"
}

# --- traffic ---------------------------------------------------------------

# ping_ok NS SRC DST COUNT: COUNT echo requests, all answered.
ping_ok() {
	local ns=$1 src=$2 dst=$3 count=${4:-2} out fam=-4 got
	[ "${dst#*:}" != "$dst" ] && fam=-6
	out=$(in_netns "$ns" timeout $((count + 8)) busybox ping "$fam" -A \
		-c "$count" -W 2 -w $((count + 5)) -I "$src" "$dst" 2>&1) || true
	got=$(echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
	if [ "${got:-0}" != "$count" ]; then
		echo "$out"
		fail "ping $src -> $dst in $ns: ${got:-0}/$count answered"
	fi
}

# ping_fails NS SRC DST: no answer (bounded).
ping_fails() {
	local ns=$1 src=$2 dst=$3 out fam=-4 got
	[ "${dst#*:}" != "$dst" ] && fam=-6
	out=$(in_netns "$ns" timeout 8 busybox ping "$fam" -c 2 -W 1 -w 3 \
		-I "$src" "$dst" 2>&1) || true
	got=$(echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
	[ "${got:-0}" = 0 ] || fail "ping $src -> $dst in $ns answered: $out"
}

# tcp_both NS_A ADDR_A NS_B ADDR_B NBYTES PORT: NBYTES over TCP from A to B
# and from B to A at the same time (one python process entering both
# namespaces); fails unless both directions deliver exactly NBYTES.
tcp_both() {
	local out
	out=$(timeout 60 "$PY" - "$@" <<-'EOF' 2>&1
		import ctypes, os, socket, sys, threading
		na, aa, nb, ab, n, port = sys.argv[1:7]
		n, port = int(n), int(port)
		libc = ctypes.CDLL(None, use_errno=True)
		def enter(ns):
		    fd = os.open("/run/netns/" + ns, os.O_RDONLY)
		    if libc.setns(fd, 0x40000000):
		        raise OSError(ctypes.get_errno(), "setns " + ns)
		    os.close(fd)
		def fam(a):
		    return socket.AF_INET6 if ":" in a else socket.AF_INET
		def listen(ns, a):
		    enter(ns)
		    s = socket.socket(fam(a), socket.SOCK_STREAM)
		    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		    s.bind((a, port))
		    s.listen(1)
		    return s
		def connect(ns, a, peer):
		    enter(ns)
		    s = socket.socket(fam(a), socket.SOCK_STREAM)
		    s.settimeout(20)
		    s.bind((a, 0))
		    s.connect((peer, port))
		    return s
		la, lb = listen(na, aa), listen(nb, ab)
		ca = connect(na, aa, ab)
		cb = connect(nb, ab, aa)
		la.settimeout(20); lb.settimeout(20)
		sa, sb = la.accept()[0], lb.accept()[0]   # sa: B->A, sb: A->B
		got = {}
		def send(s):
		    s.sendall(bytes(range(256)) * (n // 256) + b"x" * (n % 256))
		    s.shutdown(socket.SHUT_WR)
		def recv(s, key):
		    s.settimeout(20)
		    t = 0
		    while True:
		        d = s.recv(65536)
		        if not d:
		            break
		        t += len(d)
		    got[key] = t
		th = [threading.Thread(target=send, args=(ca,)),
		      threading.Thread(target=send, args=(cb,)),
		      threading.Thread(target=recv, args=(sb, "a2b")),
		      threading.Thread(target=recv, args=(sa, "b2a"))]
		for t in th: t.start()
		for t in th: t.join(40)
		print("a2b=%d b2a=%d" % (got.get("a2b", -1), got.get("b2a", -1)))
	EOF
	) || true
	if [ "$out" != "a2b=$5 b2a=$5" ]; then
		echo "$out"
		fail "tcp $2 <-> $4: expected $5 bytes each way, got: ${out##*$'\n'}"
	fi
}

# udp_send NS SRC DST PORT COUNT: COUNT datagrams, one at a time, send
# errors ignored (a dropped packet may fail sendto with EPERM).
udp_send() {
	timeout 20 "$PY" - "$@" <<-'EOF' 2>&1 || true
		import ctypes, os, socket, sys
		ns, src, dst, port, count = sys.argv[1:6]
		libc = ctypes.CDLL(None, use_errno=True)
		fd = os.open("/run/netns/" + ns, os.O_RDONLY)
		libc.setns(fd, 0x40000000)
		f = socket.AF_INET6 if ":" in dst else socket.AF_INET
		s = socket.socket(f, socket.SOCK_DGRAM)
		s.bind((src, 0))
		for i in range(int(count)):
		    try:
		        s.sendto(b"kipsec-test %d" % i, (dst, int(port)))
		    except OSError:
		        pass
	EOF
}

# --- capture and injection (tests/lib/sniff.py) ---------------------------------

# sniff_start NAME NS IF [sniff.py capture options]: capture in the
# background into $TOPO_TMP/NAME.cap; returns once the socket is bound.
sniff_start() {
	local name=$1 ns=$2 ifc=$3 i
	shift 3
	rm -f "$TOPO_TMP/$name".*
	# nsenter itself, not in_netns: $! must be the capturing process
	nsenter --net="/run/netns/$ns" timeout 120 "$PY" "$SNIFF" capture -i "$ifc" \
		-o "$TOPO_TMP/$name.cap" --ready "$TOPO_TMP/$name.ready" "$@" \
		>"$TOPO_TMP/$name.sum" 2>"$TOPO_TMP/$name.err" &
	echo $! >"$TOPO_TMP/$name.pid"
	for i in $(seq 1 100); do
		[ -e "$TOPO_TMP/$name.ready" ] && return 0
		kill -0 "$(cat "$TOPO_TMP/$name.pid")" 2>/dev/null || break
		sleep 0.1
	done
	cat "$TOPO_TMP/$name.err"
	fail "sniffer $name did not start"
}

# sniff_stop NAME: stop the capture; its summary ("key count" lines) is
# then in $TOPO_TMP/NAME.sum.
sniff_stop() {
	local name=$1 pid
	pid=$(cat "$TOPO_TMP/$name.pid")
	sleep 0.3
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	[ -s "$TOPO_TMP/$name.sum" ] || {
		cat "$TOPO_TMP/$name.err"
		fail "sniffer $name gave no summary"
	}
}

# sniff_count NAME KEY: the summary count of KEY (0 if absent).  Keys:
# see tests/lib/sniff.py (e.g. in:esp, in:udp:5001, out:icmp:0).
sniff_count() {
	awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }' \
		"$TOPO_TMP/$1.sum"
}

# inject NAME NS IF INDEX [sniff.py inject options]: send captured frame
# INDEX (0-based, order of capture) of capture NAME out of IF.
inject() {
	local name=$1 ns=$2 ifc=$3 idx=$4
	shift 4
	in_netns "$ns" timeout 20 "$PY" "$SNIFF" inject -i "$ifc" \
		-f "$TOPO_TMP/$name.cap" -n "$idx" "$@" ||
		fail "inject $name#$idx failed"
}

# --- counters ----------------------------------------------------------------

# xfrm_sa_get NS SRC DST SPI: `ip -s xfrm state get` of one SA.
xfrm_sa_get() {
	ip -s -n "$1" xfrm state get src "$2" dst "$3" proto esp spi "$4"
}

# xfrm_sa_stat NS SRC DST SPI replay-window|replay|failed
xfrm_sa_stat() {
	xfrm_sa_get "$1" "$2" "$3" "$4" | awk -v f="$5" '
		/^[ \t]*stats:/ { getline
			for (i = 1; i < NF; i++) if ($i == f) { print $(i + 1); exit } }'
}

# xfrm_counts NS: one line per SA of NS: "SPI PACKETS BYTES REPLAY-WINDOW
# REPLAY FAILED" (lifetime current and stats of `ip -s xfrm state`).
xfrm_counts() {
	ip -s -n "$1" xfrm state | awk '
		function out() { if (spi != "") print spi, pk, by, rw, rp, fl }
		/^src / { out(); spi = ""; pk = by = rw = rp = fl = 0 }
		/proto esp spi/ { split($4, x, "("); spi = x[1] }
		/lifetime current:/ { getline; gsub(/[(),]/, " "); by = $1; pk = $3 }
		/^[ \t]*stats:/ { getline
			for (i = 1; i < NF; i++) {
				if ($i == "replay-window") rw = $(i + 1)
				if ($i == "replay") rp = $(i + 1)
				if ($i == "failed") fl = $(i + 1) } }
		END { out() }'
}

# ka_counts: the same lines for the kipsec side (packets/bytes: in + out,
# an SA is used in one direction only).
ka_counts() {
	if [ "$KA_TOOL" = xfrm ]; then
		xfrm_counts "$KA"
		return
	fi
	"$KIPSEC" -n "$KA" -s -j state list | jq -r '.[] | .stats as $s |
		"\(.spi) \($s.in_packets + $s.out_packets)" +
		" \($s.in_bytes + $s.out_bytes) \($s.in_window) \($s.in_replay)" +
		" \($s.in_auth_fail)"'
}

# snap: snapshot both sides' SA counters; then snap_get ka|xb SPI FIELD,
# FIELD one of packets bytes window replay auth_fail.
snap() {
	local side spi f1 f2 f3 f4 f5
	ka_counts >"$TOPO_TMP/ka.cnt"
	xfrm_counts "$XB" >"$TOPO_TMP/xb.cnt"
	declare -gA SNAP=()
	for side in ka xb; do
		while read -r spi f1 f2 f3 f4 f5; do
			SNAP[$side:$spi:packets]=$f1 SNAP[$side:$spi:bytes]=$f2
			SNAP[$side:$spi:window]=$f3 SNAP[$side:$spi:replay]=$f4
			SNAP[$side:$spi:auth_fail]=$f5
		done <"$TOPO_TMP/$side.cnt"
	done
}

snap_get() {
	local spi
	case $3 in
	packets|bytes|window|replay|auth_fail) ;;
	*) fail "snap_get: unknown field $3" ;;
	esac
	printf -v spi '0x%08x' $(($2))
	echo "${SNAP[$1:$spi:$3]:-0}"
}

# the kipsec counters that count no drop: traffic, ICMP about the SA's
# packets (icmp_pmtu) and SYNs whose MSS was lowered (mss_clamped); jq:
#   jq --arg nd "$KIPSEC_NOT_DROP" '... select(.key | test($nd) | not)'
KIPSEC_NOT_DROP='^(in|out)_(packets|bytes)$|^icmp_pmtu$|^mss_clamped$'

# xfrm_mib NS NAME: a /proc/net/xfrm_stat counter of NS.
xfrm_mib() {
	in_netns "$1" awk -v k="$2" '$1 == k { print $2 }' /proc/net/xfrm_stat
}

# xfrm_in_errors NS: every non-zero XfrmIn* error counter of NS, or nothing.
xfrm_in_errors() {
	in_netns "$1" awk '$1 ~ /^XfrmIn/ && $2 != 0 { printf "%s=%s ", $1, $2 }' \
		/proc/net/xfrm_stat
}

# The xfrm equivalent of a kipsec global counter, for KA_TOOL=xfrm.
xfrm_mib_of() {
	case $1 in
	in_no_sa) echo XfrmInNoStates ;;
	in_auth_fail) echo XfrmInStateProtoError ;;
	in_replay|in_window) echo XfrmInStateSeqError ;;
	in_plaintext|in_policy_mismatch) echo XfrmInTmplMismatch ;;
	in_discard) echo XfrmInPolBlock ;;
	out_discard) echo XfrmOutPolBlock ;;
	out_no_sa) echo XfrmOutNoStates ;;
	out_seq_overflow) echo XfrmOutStateSeqError ;;
	in_malformed|in_bad_trailer) echo XfrmInStateInvalid ;;
	*) echo "" ;;
	esac
}

# ka_stat NAME: a global kipsec counter of netns ka (`kipsec -j stats`),
# JSON names as in docs/cli.md: in_no_sa, out_discard, ...
ka_stat() {
	local m
	if [ "$KA_TOOL" = xfrm ]; then
		m=$(xfrm_mib_of "$1")
		[ -n "$m" ] || fail "ka_stat: no xfrm equivalent of $1"
		xfrm_mib "$KA" "$m"
		return
	fi
	"$KIPSEC" -n "$KA" -j stats show | jq --arg k "$1" '.[$k] // error("no " + $k)'
}

# expect_eq WHAT GOT WANT / expect_ge WHAT GOT MIN / expect_le WHAT GOT MAX
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', expected $3"
}

expect_ge() {
	[ "$2" -ge "$3" ] 2>/dev/null || fail "$1: got '$2', expected >= $3"
}

# poll_eq DESC WANT CMD...: wait (bounded) until CMD prints at least WANT,
# then expect exactly WANT: a counter that a transform bumps later (the
# crypto driver may complete asynchronously) is read once it settled
poll_eq() {
	local desc=$1 want=$2 v i
	shift 2
	for ((i = 0; i < 50; i++)); do
		v=$("$@")
		[ "$v" -ge "$want" ] 2>/dev/null && break
		sleep 0.2
	done
	expect_eq "$desc" "$v" "$want"
}

# poll_stat_delta DESC WANT BASE NAME: poll_eq on kipsec's global counter
# NAME (ka_stat) minus BASE
poll_stat_delta() {
	local base=$3 name=$4
	poll_eq "$1" "$2" stat_delta "$name" "$base"
}

stat_delta() {
	echo $(($(ka_stat "$1") - $2))
}

expect_le() {
	[ "$2" -le "$3" ] 2>/dev/null || fail "$1: got '$2', expected <= $3"
}

# xnl_stop_daemons GLOB: stop the IKE daemons whose pid files in
# $TOPO_TMP match GLOB (on SIGTERM they remove their SAs and policies)
# and wait until every one is gone: `kill -0 PID...` would fail as soon
# as one is, as after a test that killed one itself
xnl_stop_daemons() {
	local f pids=() i
	# shellcheck disable=SC2231
	for f in "$TOPO_TMP"/$1; do
		[ -e "$f" ] && pids+=("$(cat "$f")")
	done
	[ ${#pids[@]} = 0 ] && return 0
	kill "${pids[@]}" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		xnl_any_alive "${pids[@]}" || return 0
		sleep 0.2
	done
}

# xnl_any_alive PID...: one of the PIDs still runs
xnl_any_alive() {
	local pid
	for pid in "$@"; do
		kill -0 "$pid" 2>/dev/null && return 0
	done
	return 1
}

# xnl_restore: xfrm_user and plain kipsec, as the other tests expect them
xnl_restore() {
	printf 'xfrm state flush\nxfrm policy flush\n' | ip -batch - 2>/dev/null
	rmmod kipsec 2>/dev/null
	modprobe -q xfrm_user
	insmod "$KIPSEC_KO"
}

# xnl_load [CMD]: kipsec as the XFRM personality (xfrm_netlink=1) in
# place of xfrm_user; on exit CMD (stopping the test's daemons, say),
# then xnl_restore
xnl_load() {
	local out
	[ -f "$KIPSEC_KO" ] || skip "no $KIPSEC_KO"
	rmmod kipsec 2>/dev/null || true
	if grep -q '^xfrm_user ' /proc/modules; then
		out=$(rmmod xfrm_user 2>&1) ||
			skip "xfrm_user cannot be unloaded: $out $(grep xfrm_user /proc/modules)"
	fi
	# shellcheck disable=SC2064
	trap "${1:+$1; }xnl_restore" EXIT
	insmod "$KIPSEC_KO" xfrm_netlink=1 || fail "insmod xfrm_netlink=1 failed"
}
