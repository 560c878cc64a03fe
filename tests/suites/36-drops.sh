# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Every malformed or unwanted ESP packet is dropped and counted under its
# own reason.  The packets are crafted by tests/tools/espcraft.py for an
# SA with NULL encryption and HMAC-SHA-256, so that each field a receiver
# checks can be set at will, and sent from netns xb to kipsec in netns ka
# (tests/lib/topo.sh) over a raw socket: no IPsec on the sending side.
#
# No KA_TOOL=xfrm mode: xfrm counts several of these reasons under one MIB
# (XfrmInStateProtoError) and has no selector counter.

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

DR_KEY=0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
DR_ALGS="enc cipher_null \"\" auth-trunc hmac(sha256) $DR_KEY 128"
DR_CRAFT=$TOPO_LIB/../tools/espcraft.py

dr_setup() {
	need_kipsec
	need_py
	topo_up
}

# dr_send CASE[:COUNT]...: crafted packets xb -> ka under SPI_XK
dr_send() {
	in_netns "$XB" "$PY" "$DR_CRAFT" --src "$XB4" --dst "$KA4" \
		--spi "$SPI_XK" --key "$DR_KEY" "$@" >/dev/null ||
		fail "espcraft.py failed"
}

# dr_in: packets kipsec accepted on SPI_XK
dr_in() {
	snap
	snap_get ka "$SPI_XK" packets
}

# dr_snap: the global counters, one "name value" line each
dr_snap() {
	local c
	for c in in_no_sa in_malformed in_auth_fail in_bad_trailer \
		in_replay in_selector; do
		echo "$c $(ka_stat "$c")"
	done
}

# dr_delta BEFORE NAME: NAME's growth since the snapshot BEFORE
dr_delta() {
	echo $(($(ka_stat "$2") - $(awk -v k="$2" '$1 == k { print $2 }' <<<"$1")))
}

# Transport mode: a valid packet is accepted; a replayed one, a bad ICV,
# a pad length beyond the payload, a truncated packet and an unknown SPI
# each grow their own counter by exactly the packets sent, and no other.
t_dr_reasons() {
	local before c want
	dr_setup
	cfg ka state add src "$XB4" dst "$KA4" proto esp spi "$SPI_XK" \
		mode transport replay-window 32 "$DR_ALGS"
	cfg_apply
	before=$(dr_snap)
	dr_send ok:3 replay:1 icv:2 padlen:2 short:2 nosa:2
	poll_eq "SA $SPI_XK packets" 3 dr_in
	for c in in_replay:1 in_auth_fail:2 in_bad_trailer:2 \
		in_malformed:2 in_no_sa:2 in_selector:0; do
		want=${c#*:}
		poll_eq "${c%:*}" "$want" dr_delta "$before" "${c%:*}"
	done
	snap
	expect_eq "SA replay drops" "$(snap_get ka "$SPI_XK" replay)" 1
	expect_eq "SA auth failures" "$(snap_get ka "$SPI_XK" auth_fail)" 2
}
ktest every_drop_has_its_reason t_dr_reasons 120

# Tunnel mode with a selector: an inner packet from outside it is
# in_selector; one inside it is accepted.  The SA counts all three, as
# xfrm's SA counters do: they were authentic, and the selector is checked
# on the decapsulated packet.
t_dr_selector() {
	local before
	dr_setup
	cfg ka state add src "$XB4" dst "$KA4" proto esp spi "$SPI_XK" \
		mode tunnel replay-window 32 sel src "$XBI4/32" dst "$KAI4/32" \
		"$DR_ALGS"
	cfg_apply
	before=$(dr_snap)
	dr_send --inner 10.98.2.99 "$KAI4" tunnel:2
	dr_send --seq 3 --inner "$XBI4" "$KAI4" tunnel:1
	poll_eq "SA $SPI_XK packets" 3 dr_in
	poll_eq "in_selector" 2 dr_delta "$before" in_selector
}
ktest inner_packet_outside_the_selector t_dr_selector 120
