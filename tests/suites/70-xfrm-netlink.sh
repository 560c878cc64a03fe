#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The XFRM netlink personality (module parameter xfrm_netlink=1): ip xfrm
# configures kipsec through NETLINK_XFRM.  One test for now, which swaps
# xfrm_user for kipsec with xfrm_netlink=1 and restores both at its end
# (module reloads are slow under TCG).

xnl_restore() {
	printf 'xfrm state flush\nxfrm policy flush\n' | ip -batch - 2>/dev/null
	rmmod kipsec 2>/dev/null
	modprobe -q xfrm_user
	insmod "$KIPSEC_KO"
}

xnl_load() {
	rmmod kipsec 2>/dev/null || true
	rmmod xfrm_user 2>/dev/null || skip "xfrm_user cannot be unloaded"
	trap xnl_restore EXIT
	insmod "$KIPSEC_KO" xfrm_netlink=1 || fail "insmod xfrm_netlink=1 failed"
}

XNL_KEY=0x0102030405060708090a0b0c0d0e0f1011121314

t_xfrm_nl_state_policy() {
	local out
	xnl_load
	ip xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 \
		reqid 1 mode tunnel aead 'rfc4106(gcm(aes))' $XNL_KEY 128
	out=$(ip xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp \
		spi 0x1001 reqid 1 mode tunnel aead 'rfc4106(gcm(aes))' \
		$XNL_KEY 128 2>&1) && fail "duplicate add accepted"
	[[ $out == *"exists"* ]] || fail "duplicate add: $out"
	out=$(ip xfrm state list)
	[[ $out == *"spi 0x00001001"* ]] || fail "state list: $out"
	[[ $out == *"0x0000000000000000000000000000000000000000 128"* ]] ||
		fail "key not zero-filled: $out"
	[[ $out != *"0102030405"* ]] || fail "key leaked: $out"
	"$KIPSEC" state list | grep -q 'spi 0x00001001' ||
		fail "kipsec CLI does not see the SA"
	ip xfrm policy add src 10.1.0.0/24 dst 10.2.0.0/24 dir out \
		tmpl src 10.0.0.1 dst 10.0.0.2 proto esp reqid 1 mode tunnel
	ip xfrm policy list | grep -q 'src 10.1.0.0/24 dst 10.2.0.0/24' ||
		fail "policy list"
	ip xfrm state allocspi src 10.0.0.1 dst 10.0.0.3 proto esp |
		grep -q 'spi 0x' || fail "allocspi"
	out=$(ip xfrm state delete src 10.0.0.1 dst 10.0.0.9 proto esp \
		spi 0x5 2>&1) && fail "delete of a missing SA accepted"
	[[ $out == *"no such SA"* ]] || fail "delete missing: $out"
	ip xfrm state count | grep -q 'SAD count 2' || fail "state count"
	modprobe -q xfrm_user 2>/dev/null &&
		fail "xfrm_user loaded while kipsec owns NETLINK_XFRM"
	ip xfrm state flush
	ip xfrm policy flush
	[ -z "$(ip xfrm state list)" ] || fail "flush left SAs"
}
ktest xfrm_nl_state_policy t_xfrm_nl_state_policy 240
