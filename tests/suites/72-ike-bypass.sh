# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# IKE bypass: kipsec registers an xfrm key manager, so an IKE daemon's
# setsockopt(IP_XFRM_POLICY / IPV6_XFRM_POLICY) in the XFRM format works
# with xfrm_user unloaded, with xfrm_user's checks.

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
