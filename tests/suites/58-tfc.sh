# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Traffic flow confidentiality (RFC 4303 2.6, 2.7): kipsec (netns ka)
# against Linux xfrm (netns xb), on the topology of tests/lib/topo.sh.
#
#   ka vka 10.99.0.1 / fd99::1 ===== veth ===== vxb 10.99.0.2 / fd99::2 xb
#
# - tfcpad: the same `state add ... tfcpad N` lines on both sides; the ESP
#   packets captured on vka have the same length whichever side sent them,
#   the length esp_output() gives (payload padded to N, capped by what the
#   outer MTU leaves); `state list` shows the padding as ip xfrm does.
# - tfcpad outside ESP tunnel mode is refused by both; `state update`
#   keeps the padding of a mature SA on both.
# - dummy packets (next header 59), crafted by tests/tools/espcraft.py for
#   an SA with NULL encryption: kipsec drops them silently as in_dummy
#   after authentication and takes their sequence number (a replay of one
#   is in_replay); xfrm 6.1 fails them as XfrmInStateProtoError before its
#   window moves, so a replay of one is that error again.

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

TFC_GCM='rfc4106(gcm(aes))'
TFC_KEY=0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
TFC_NULL="enc cipher_null \"\" auth-trunc hmac(sha256) $TFC_KEY 128"
TFC_CRAFT=$TOPO_LIB/../tools/espcraft.py

# tfc_lens CAPTURE SPI: the distinct IP lengths of the captured ESP
# packets of SPI (frames less their Ethernet header)
tfc_lens() {
	awk -v s="$2" '$2 == s { print length($4) / 2 - 14 }' \
		"$TOPO_TMP/$1.cap" | sort -un | tr '\n' ' '
}

# tfc_cell OUTER INNER TFCPAD WANT [EXTRA SA ARGS]: a GCM-128 tunnel with
# tfcpad TFCPAD on both sides; pings both ways; every ESP packet is WANT
# bytes long.
tfc_cell() {
	local outer=$1 inner=$2 pad=$3 want=$4 kx xk side spi
	shift 4
	need_kipsec
	need_py
	topo_up
	sa_pair tunnel "$outer" "$inner" "$TFC_GCM" 128 128 tfcpad "$pad" "$@"
	pol_pair tunnel "$outer" "$inner"
	cfg_apply
	sniff_start tfc "$KA" "$KA_IF"
	ping_ok "$KA" "$T_KA" "$T_XB" 2
	ping_ok "$XB" "$T_XB" "$T_KA" 2
	sniff_stop tfc
	kx=$(tfc_lens tfc "$SPI_KX") xk=$(tfc_lens tfc "$SPI_XK")
	log "tfcpad $pad, $outer/$inner: kipsec sent $kx, xfrm sent $xk"
	expect_eq "ESP lengths kipsec sent" "$kx" "$want "
	expect_eq "ESP lengths xfrm sent" "$xk" "$want "
	snap
	for side in ka xb; do
		for spi in $SPI_KX $SPI_XK; do
			expect_eq "$side SA $spi packets" \
				"$(snap_get "$side" "$spi" packets)" 4
		done
	done
	expect_eq "xfrm input errors" "$(xfrm_in_errors "$XB")" ""
	expect_eq "state list tfcpad lines" \
		"$(ka_tool state list | grep tfcpad)" \
		"$(xb_tool state list | grep tfcpad)"
	[ "$KA_TOOL" = xfrm ] && return 0
	expect_eq "JSON tfcpad" \
		"$("$KIPSEC" -n "$KA" -j state list | jq -c '[.[].tfcpad]')" \
		"[$pad,$pad]"
}

# IPv4: an 84-byte ping padded to 500, then to the cipher's 4 bytes:
# 20 + 8 (ESP) + 8 (IV) + 504 + 16 (ICV)
t_tfc_pad4() { tfc_cell 4 4 500 556; }
ktest tfcpad_tunnel4 t_tfc_pad4 120

# IPv6: tfcpad beyond the MTU pads to what 1500 bytes leave, 1426 + 2
t_tfc_pad6() { tfc_cell 6 6 5000 1500; }
ktest tfcpad_tunnel6_capped t_tfc_pad6 120

# 4-in-6: the cap counts the outer IPv6 header, not the inner IPv4 one
t_tfc_pad46() { tfc_cell 6 4 100000 1500 flag af-unspec; }
ktest tfcpad_tunnel4in6_capped t_tfc_pad46 120

# tfc_refused SIDE ARGS...: `state add ARGS` fails on SIDE
tfc_refused() {
	local side=$1
	shift
	if side_tool "$side" state add "$@" 2>"$TOPO_TMP/err"; then
		fail "$side accepted state add $*"
	fi
	log "$side: $(cat "$TOPO_TMP/err")"
}

# Both sides refuse tfcpad in transport mode and on AH; an update of a
# mature SA keeps the padding it was added with, on both.
t_tfc_rules() {
	local side sa
	need_kipsec
	topo_up
	sa="src $KA4 dst $XB4 proto esp spi 0x3003 mode tunnel"
	sa+=" $(alg_args "$TFC_GCM" 128 128 3)"
	for side in ka xb; do
		# shellcheck disable=SC2086
		tfc_refused "$side" src "$KA4" dst "$XB4" proto esp spi 0x3001 \
			mode transport $(alg_args "$TFC_GCM" 128 128 3) tfcpad 100
		tfc_refused "$side" src "$KA4" dst "$XB4" proto ah spi 0x3002 \
			mode tunnel auth-trunc 'hmac(sha256)' "$TFC_KEY" 128 \
			tfcpad 100
		cfg "$side" state add "$sa" tfcpad 500
		cfg "$side" state update "$sa" tfcpad 900
	done
	cfg_apply
	expect_eq "kipsec tfcpad after update" \
		"$(ka_tool state list | grep tfcpad)" $'\ttfcpad 500'
	expect_eq "xfrm tfcpad after update" \
		"$(xb_tool state list | grep tfcpad)" $'\ttfcpad 500'
}
ktest tfcpad_rules t_tfc_rules 120

# tfc_craft NS SRC DST SPI CASE...: crafted ESP packets (espcraft.py)
tfc_craft() {
	local ns=$1 src=$2 dst=$3 spi=$4
	shift 4
	in_netns "$ns" "$PY" "$TFC_CRAFT" --src "$src" --dst "$dst" \
		--spi "$spi" --key "$TFC_KEY" "$@" >/dev/null ||
		fail "espcraft.py failed"
}

tfc_ka_sa_stat() {
	"$KIPSEC" -n "$KA" -s -j state list | jq ".[0].stats.$1"
}

# A valid packet, a dummy packet, a replay of the dummy, a valid packet,
# to each side.  kipsec: 2 accepted, in_dummy 1, in_replay 1, no error;
# xfrm: 2 accepted, the dummy and its replay XfrmInStateProtoError.
t_tfc_dummy() {
	local b_dummy b_replay b_trailer b_proto b_seq
	need_kipsec
	need_py
	topo_up
	cfg ka state add src "$XB4" dst "$KA4" proto esp spi "$SPI_XK" \
		mode transport replay-window 32 "$TFC_NULL"
	cfg xb state add src "$KA4" dst "$XB4" proto esp spi "$SPI_KX" \
		mode transport replay-window 32 "$TFC_NULL"
	cfg_apply
	b_dummy=$(ka_stat in_dummy) b_replay=$(ka_stat in_replay)
	b_trailer=$(ka_stat in_bad_trailer)
	b_proto=$(xfrm_mib "$XB" XfrmInStateProtoError)
	b_seq=$(xfrm_mib "$XB" XfrmInStateSeqError)
	tfc_craft "$XB" "$XB4" "$KA4" "$SPI_XK" ok dummy replay ok
	tfc_craft "$KA" "$KA4" "$XB4" "$SPI_KX" ok dummy replay ok
	poll_eq "kipsec SA packets" 2 tfc_ka_sa_stat in_packets
	poll_stat_delta "kipsec in_dummy" 1 "$b_dummy" in_dummy
	poll_stat_delta "kipsec in_replay" 1 "$b_replay" in_replay
	expect_eq "kipsec in_bad_trailer" \
		"$(stat_delta in_bad_trailer "$b_trailer")" 0
	expect_eq "kipsec SA in_dummy" "$(tfc_ka_sa_stat in_dummy)" 1
	expect_eq "kipsec SA in_replay" "$(tfc_ka_sa_stat in_replay)" 1
	expect_eq "kipsec SA highest seq" \
		"$("$KIPSEC" -n "$KA" -j state list | jq '.[0].seq')" 4
	poll_eq "xfrm SA packets" 2 xfrm_sa_stat_pk
	expect_eq "xfrm XfrmInStateProtoError" \
		$(($(xfrm_mib "$XB" XfrmInStateProtoError) - b_proto)) 2
	expect_eq "xfrm XfrmInStateSeqError" \
		$(($(xfrm_mib "$XB" XfrmInStateSeqError) - b_seq)) 0
}
ktest dummy_packets t_tfc_dummy 180

xfrm_sa_stat_pk() {
	snap
	snap_get xb "$SPI_KX" packets
}
