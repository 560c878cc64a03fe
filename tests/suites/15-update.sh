# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# `state update` and nonce uniqueness: an update keeps the SA's sequence
# numbers, replay window and counters (as xfrm_state_update() keeps the
# state it updates), an update cannot change the key or the algorithms,
# and the explicit IV of the counter-mode algorithms is not the bare
# sequence number, so that an SA deleted and added again with the same key
# does not repeat a nonce.
#
# kipsec in netns ka, Linux xfrm in netns xb (tests/lib/topo.sh).

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

UPD_GCM='rfc4106(gcm(aes))'

# upd_line SPI: the ka side's `state add` line of that SA of a transport
# GCM pair (sa_pair), as `state update`, collected for ka only
upd_line() {
	sa_pair transport 4 4 "$UPD_GCM" 128 128 replay-window 32
	grep "spi $1" "$TOPO_TMP/ka.cfg" | sed 's/^state add /state update /' \
		>"$TOPO_TMP/ka.tmp"
	mv "$TOPO_TMP/ka.tmp" "$TOPO_TMP/ka.cfg"
	rm -f "$TOPO_TMP/xb.cfg"
}

# upd_sa_field SPI FIELD: a field of ka's SA in `kipsec -s -j state list`
upd_sa_field() {
	local spi
	printf -v spi '0x%08x' $(($1))
	"$KIPSEC" -n "$KA" -s -j state list |
		jq -r --arg s "$spi" ".[] | select(.spi == \$s) | $2"
}

# Outbound: `state update` with the same line must not restart the
# sequence number (it would repeat nonces under the same key, and the
# xfrm peer would drop the packets as replays).
t_update_keeps_oseq() {
	need_kipsec
	topo_up
	sa_pair transport 4 4 "$UPD_GCM" 128 128 replay-window 32
	pol_pair transport 4 4
	cfg_apply
	ping_ok "$KA" "$KA4" "$XB4" 2
	upd_line "$SPI_KX"
	cfg_apply
	ping_ok "$KA" "$KA4" "$XB4" 2
	expect_eq "xfrm replay drops on the SA kipsec sends with" \
		"$(xfrm_sa_stat "$XB" "$KA4" "$XB4" "$SPI_KX" replay)" 0
	expect_eq "kipsec output sequence number after update" \
		"$(upd_sa_field "$SPI_KX" .oseq)" 4
	expect_eq "kipsec out_packets carried over the update" \
		"$(upd_sa_field "$SPI_KX" .stats.out_packets)" 4
}
ktest update_keeps_output_seq t_update_keeps_oseq 120

# Inbound: `state update` must not reset the replay window; a packet
# received before the update, sent again after it, is a replay.
t_update_keeps_window() {
	local i rp=0
	need_kipsec
	need_py
	topo_up
	sa_pair transport 4 4 "$UPD_GCM" 128 128 replay-window 32
	pol_pair transport 4 4
	cfg_apply
	sniff_start esp "$XB" "$XB_IF" --dir out --save esp --count 1
	ping_ok "$XB" "$XB4" "$KA4" 1
	sniff_stop esp
	expect_eq "captured ESP frame" \
		"$(awk 'NR == 1 { print $2, $3 }' "$TOPO_TMP/esp.cap")" "$SPI_XK 1"
	upd_line "$SPI_XK"
	cfg_apply
	inject esp "$XB" "$XB_IF" 0
	for i in $(seq 1 50); do
		rp=$(upd_sa_field "$SPI_XK" .stats.in_replay)
		[ "$rp" = 1 ] && break
		sleep 0.1
	done
	expect_eq "kipsec in_replay of the old packet after update" "$rp" 1
	expect_eq "kipsec in_packets" "$(upd_sa_field "$SPI_XK" .stats.in_packets)" 1
}
ktest update_keeps_replay_window t_update_keeps_window 120

# An update cannot change the key or the algorithm (a new key is a new
# SA), nor move a sequence number back; the SA is left as it was.
t_update_new_key_refused() {
	local k1 k2 id out rc
	need_kipsec
	k1=0x000102030405060708090a0b0c0d0e0f01020304
	k2=0x100102030405060708090a0b0c0d0e0f01020304
	id="src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1000 mode tunnel"
	# shellcheck disable=SC2086
	"$KIPSEC" state add $id aead "$UPD_GCM" $k1 128 reqid 3 replay-oseq 5
	for alg in "$UPD_GCM $k2 128" "rfc4543(gcm(aes)) $k1 128" \
		   "$UPD_GCM $k1 96"; do
		rc=0
		# shellcheck disable=SC2086
		out=$("$KIPSEC" state update $id aead $alg 2>&1) || rc=$?
		[ "$rc" != 0 ] || fail "update to aead $alg was accepted"
		grep -q 'a new key is a new SA' <<<"$out" ||
			fail "update to aead $alg: message: $out"
	done
	log "refused: $out"
	rc=0
	# shellcheck disable=SC2086
	out=$("$KIPSEC" state update $id aead "$UPD_GCM" $k1 128 \
		replay-oseq 2 2>&1) || rc=$?
	[ "$rc" != 0 ] || fail "update moving the output sequence back was accepted"
	grep -q 'sequence number back' <<<"$out" || fail "oseq back: message: $out"
	# the same key: accepted, and the sequence number is kept
	# shellcheck disable=SC2086
	"$KIPSEC" state update $id aead "$UPD_GCM" $k1 128 reqid 4
	out=$("$KIPSEC" -j state list | jq -r '.[0] | "\(.reqid) \(.oseq)"')
	expect_eq "reqid and oseq after the same-key update" "$out" "4 5"
	# `auth` and `auth-trunc` with xfrm's default truncation (96 bits for
	# hmac(sha256)) are the same algorithm: not a new key
	k2=0x$(printf '%064d' 7)
	"$KIPSEC" state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 \
		mode tunnel enc 'cbc(aes)' "${k1%01020304}" auth 'hmac(sha256)' "$k2"
	"$KIPSEC" state update src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 \
		mode tunnel enc 'cbc(aes)' "${k1%01020304}" \
		auth-trunc 'hmac(sha256)' "$k2" 96
}
ktest update_new_key_refused t_update_new_key_refused 60

# The explicit IV of GCM is not the sequence number, and an SA deleted
# and added again with the same key sends another IV for the same number.
t_gcm_iv_not_seq() {
	local sa pol iv1 iv2 iv3 n
	need_kipsec
	need_py
	topo_up
	sa="state add src $KA4 dst $XB4 proto esp spi $SPI_KX reqid $REQ_KX"
	sa+=" mode transport $(alg_args "$UPD_GCM" 128 128 1)"
	pol="policy add src $KA4/32 dst $XB4/32 dir out tmpl src $KA4 dst $XB4"
	pol+=" proto esp reqid $REQ_KX mode transport"
	cfg ka "$sa"
	cfg ka "$pol"
	cfg_apply
	sniff_start iv "$XB" "$XB_IF" --dir in --save esp --count 3
	# no SA on the xfrm side: the echo requests go unanswered
	in_netns "$KA" busybox ping -c 1 -W 1 -w 1 "$XB4" >/dev/null 2>&1 || true
	cfg ka "state delete src $KA4 dst $XB4 proto esp spi $SPI_KX"
	cfg ka "$sa"
	cfg_apply
	in_netns "$KA" busybox ping -c 1 -W 1 -w 1 "$XB4" >/dev/null 2>&1 || true
	# an update keeps the key, so it must keep the IV salt too
	cfg ka "state update ${sa#state add }"
	cfg_apply
	in_netns "$KA" busybox ping -c 1 -W 1 -w 1 "$XB4" >/dev/null 2>&1 || true
	sniff_stop iv
	n=$(wc -l <"$TOPO_TMP/iv.cap")
	expect_eq "captured ESP frames" "$n" 3
	# Ethernet 14 + IPv4 20 + SPI 4 + sequence number 4: then the IV
	iv1=$(awk 'NR == 1 { print $2, $3, substr($4, 85, 16) }' "$TOPO_TMP/iv.cap")
	iv2=$(awk 'NR == 2 { print $2, $3, substr($4, 85, 16) }' "$TOPO_TMP/iv.cap")
	iv3=$(awk 'NR == 3 { print $2, $3, substr($4, 85, 16) }' "$TOPO_TMP/iv.cap")
	log "first SA: spi seq iv $iv1; same key again: $iv2; updated: $iv3"
	[ "${iv1% *}" = "$SPI_KX 1" ] || fail "first frame: $iv1"
	[ "${iv2% *}" = "$SPI_KX 1" ] || fail "second frame: $iv2"
	[ "${iv3% *}" = "$SPI_KX 2" ] || fail "third frame: $iv3"
	[ "${iv1##* }" != 0000000000000001 ] || fail "the IV is the sequence number"
	[ "${iv1##* }" != "${iv2##* }" ] ||
		fail "the same key sent the same IV for sequence number 1 twice"
	# IV XOR sequence number is the salt: the same before and after
	[ "$(printf %016x $((0x${iv2##* } ^ 1)))" = \
	  "$(printf %016x $((0x${iv3##* } ^ 2)))" ] ||
		fail "the update drew a new IV salt for the same key"
}
ktest gcm_iv_is_not_the_seq t_gcm_iv_not_seq 120
