# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# IKE bypass: kipsec registers an xfrm key manager, so an IKE daemon's
# setsockopt(IP_XFRM_POLICY / IPV6_XFRM_POLICY) in the XFRM format works
# with xfrm_user unloaded, with xfrm_user's checks; and kipsec's hooks
# honour such a bypass both ways, whatever its SPD says.

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

BP_TOOL=$REPO/tests/tools/sockpol.py

# bp_without_xfrm_user: kipsec loaded, xfrm_user not; restored on exit
bp_without_xfrm_user() {
	[ -f "$KIPSEC_KO" ] || skip "no $KIPSEC_KO"
	command -v python3 >/dev/null || skip "no python3"
	trap 'modprobe xfrm_user 2>/dev/null; grep -q "^kipsec " /proc/modules || insmod "$KIPSEC_KO"' EXIT
	if grep -q '^xfrm_user ' /proc/modules; then
		rmmod xfrm_user 2>/dev/null || skip "xfrm_user busy"
	fi
	grep -q '^kipsec ' /proc/modules || insmod "$KIPSEC_KO" ||
		fail "insmod kipsec"
}

t_bp_km() {
	local out
	bp_without_xfrm_user
	out=$(python3 "$BP_TOOL" allow) || true
	[ "$out" = ok ] || fail "allow bypass with kipsec's km: $out"
	out=$(python3 "$BP_TOOL" block) || true
	[ "$out" = ok ] || fail "block policy with kipsec's km: $out"
	out=$(python3 "$BP_TOOL" bad) || true
	[ "$out" = EINVAL ] || fail "invalid action: $out, not EINVAL"
	rmmod kipsec || fail "rmmod kipsec"
	out=$(python3 "$BP_TOOL" allow) || true
	[ "$out" != ok ] || fail "setsockopt worked with no key manager"
	insmod "$KIPSEC_KO" || fail "insmod kipsec"
}
ktest km_accepts_socket_policy t_bp_km 120

# bp_serve NAME ADDR PORT allow|none: sockpol.py serve in ka, in the
# background (output in $TOPO_TMP/NAME); returns once the socket is bound
bp_serve() {
	local i
	python3 "$BP_TOOL" serve "$KA" "$2" "$3" "$4" >"$TOPO_TMP/$1" 2>&1 &
	for ((i = 0; i < 150; i++)); do
		grep -q ready "$TOPO_TMP/$1" && return
		sleep 0.2
	done
	fail "$1: no server: $(cat "$TOPO_TMP/$1")"
}

# bp_protect A B: ka requires ESP for everything between A and B, and has
# no SA: only a bypass lets a packet through
bp_protect() {
	cfg ka policy add src "$1" dst "$2" dir out \
		tmpl src "$1" dst "$2" proto esp mode transport
	cfg ka policy add src "$2" dst "$1" dir in \
		tmpl src "$2" dst "$1" proto esp mode transport
}

t_bp_traffic() {
	local base out
	need_kipsec
	command -v python3 >/dev/null || skip "no python3"
	topo_up
	bp_protect "$KA4" "$XB4"
	bp_protect "$KA6" "$XB6"
	cfg_apply
	base=$(ka_stat in_plaintext)
	bp_serve plain "$KA4" 501 none
	out=$(python3 "$BP_TOOL" ask "$XB" "$KA4" 501) || true
	[ "$out" = timeout ] || fail "a socket without bypass answered: $out"
	poll_stat_delta "plaintext drops" 1 "$base" in_plaintext
	kill %1 2>/dev/null || true
	for a in "$KA4 $XB4" "$KA6 $XB6"; do
		set -- $a
		bp_serve "ike-$1" "$1" 500 allow
		out=$(python3 "$BP_TOOL" ask "$XB" "$1" 500) || true
		[ "$out" = pong ] || fail "bypass socket on $1: $out"
		wait $! || fail "server on $1: $(cat "$TOPO_TMP/ike-$1")"
	done
	log "IKE socket answered through PROTECT policies, v4 and v6"
}
ktest socket_bypass_both_ways t_bp_traffic 180
