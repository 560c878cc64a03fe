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
		in_replay in_selector crypto_error; do
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

# A packet the crypto API refuses for another reason than its ICV is
# crypto_error: under cbc(aes) with hmac(sha256), a valid ICV over
# ciphertext that is not whole cipher blocks passes authentication, and
# the cipher then fails with -EINVAL (xfrm: XfrmInStateProtoError).  Valid
# packets before and after are accepted.
t_dr_crypto_error() {
	local before
	dr_setup
	cfg ka state add src "$XB4" dst "$KA4" proto esp spi "$SPI_XK" \
		mode transport replay-window 32 \
		enc "cbc(aes)" 0x000102030405060708090a0b0c0d0e0f \
		auth-trunc "hmac(sha256)" "$DR_KEY" 128
	cfg_apply
	before=$(dr_snap)
	dr_send unaligned:3
	poll_eq "crypto_error" 3 dr_delta "$before" crypto_error
	expect_eq "in_auth_fail" "$(dr_delta "$before" in_auth_fail)" 0
	expect_eq "in_malformed" "$(dr_delta "$before" in_malformed)" 0
	snap
	expect_eq "SA $SPI_XK packets" "$(snap_get ka "$SPI_XK" packets)" 0
}
ktest undecryptable_packet_is_crypto_error t_dr_crypto_error 120

# sa_dead: a packet that found its outbound SA, which is deleted before
# the packet takes a sequence number.  The window is the transform of one
# packet; a UDP GSO send (up to 64 segments, each through kipsec's
# transform in turn behind one lookup) widens it to a whole burst.  UDP
# bursts leave ka while its SA is deleted and added again, until a
# segment is caught: every deletion is a chance, and under TCG the first
# few usually suffice.
# dr_gso_flood STOP-FILE: UDP GSO bursts from ka to xb until STOP-FILE
# exists (at most 120 s)
dr_gso_flood() {
	timeout 120 "$PY" - "$KA" "$KA4" "$XB4" "$1" <<-'EOF' 2>&1 || true
		import ctypes, os, socket, sys
		ns, src, dst, stop = sys.argv[1:5]
		libc = ctypes.CDLL(None, use_errno=True)
		libc.setns(os.open("/run/netns/" + ns, os.O_RDONLY), 0x40000000)
		s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		s.bind((src, 0))
		s.setsockopt(socket.SOL_UDP, 103, 1000)	# UDP_SEGMENT
		buf = bytes(60000)
		while not os.path.exists(stop):
		    try:
		        s.sendto(buf, (dst, 9))
		    except OSError:
		        pass
	EOF
}

t_dr_sa_dead() {
	local before i pid dead=0 sa
	dr_setup
	sa="state add src $KA4 dst $XB4 proto esp spi $SPI_KX mode transport"
	sa+=" reqid $REQ_KX $DR_ALGS"
	cfg ka "$sa"
	cfg ka policy add src "$KA4/32" dst "$XB4/32" proto udp dir out \
		tmpl src "$KA4" dst "$XB4" proto esp reqid "$REQ_KX" \
		mode transport
	cfg_apply
	before=$(ka_stat sa_dead)
	dr_gso_flood "$TOPO_TMP/flood.stop" >"$TOPO_TMP/flood.out" &
	pid=$!
	for ((i = 1; i <= 60; i++)); do
		sleep 0.2
		"$KIPSEC" -n "$KA" state delete src "$KA4" dst "$XB4" \
			proto esp spi "$SPI_KX"
		dead=$(($(ka_stat sa_dead) - before))
		[ "$dead" -gt 0 ] && break
		"$KIPSEC" -n "$KA" -batch - <<<"$sa"
	done
	touch "$TOPO_TMP/flood.stop"
	wait "$pid" || true
	log "sa_dead $dead after $i deletions under UDP GSO bursts"
	[ "$dead" -gt 0 ] ||
		fail "no sa_dead in 60 deletions: $(head -c 300 "$TOPO_TMP/flood.out")"
}
ktest deleted_sa_in_flight_is_sa_dead t_dr_sa_dead 180

# The receive drop reasons; with the SA's accepted packets they account
# for every ESP packet that reaches kipsec.
DR_IN_REASONS='in_auth_fail in_replay in_window in_bad_trailer in_no_sa
in_malformed in_policy_mismatch in_plaintext in_selector in_discard
crypto_error sa_dead in_fragment sa_expired'

# dr_accounted SPI: the drops under every receive reason, plus the
# packets SPI accepted
dr_accounted() {
	local drops acc
	drops=$("$KIPSEC" -n "$KA" -j stats show | jq --arg r "$DR_IN_REASONS" \
		'. as $s | [$r | splits("\\s+") | $s[.]] | add')
	acc=$("$KIPSEC" -n "$KA" -s -j state list | jq --arg spi "$1" \
		'[.[] | select(.spi == $spi) | .stats.in_packets] | add // 0')
	echo $((drops + acc))
}

# DR_FUZZ_COUNT mutated ESP packets (tests/fuzz/espfuzz.py) at one SA
# while a tunnel on another SA carries pings: no report, the pings all
# answered, and every fuzzed packet either accepted or dropped under a
# named reason.  `make fuzz` runs the same with a million packets.
DR_FUZZ_COUNT=${DR_FUZZ_COUNT:-20000}
DR_FUZZ_SPI=0x0000f00d
t_dr_fuzz() {
	local pid out sent
	dr_setup
	sa_pair tunnel 4 4 'rfc4106(gcm(aes))' 128 128
	pol_pair tunnel 4 4
	cfg ka state add src "$XB4" dst "$KA4" proto esp spi "$DR_FUZZ_SPI" \
		mode transport replay-window 64 "$DR_ALGS"
	cfg_apply
	in_netns "$XB" "$PY" "$TOPO_LIB/../fuzz/espfuzz.py" --src "$XB4" \
		--dst "$KA4" --spi "$DR_FUZZ_SPI" --key "$DR_KEY" \
		--count "$DR_FUZZ_COUNT" --seed "${DR_FUZZ_SEED:-1}" \
		>"$TOPO_TMP/fuzz.out" 2>&1 &
	pid=$!
	ping_ok "$KA" "$KAI4" "$XBI4" 20
	wait "$pid" || fail "espfuzz.py: $(cat "$TOPO_TMP/fuzz.out")"
	out=$(tail -n 1 "$TOPO_TMP/fuzz.out")
	log "$out"
	sent=$(awk '{ print $2 }' <<<"$out")
	poll_eq "packets accepted or dropped with a reason" "$sent" \
		dr_accounted "$DR_FUZZ_SPI"
	ping_ok "$KA" "$KAI4" "$XBI4" 3
}
ktest fuzzed_esp_all_accounted t_dr_fuzz $((300 + DR_FUZZ_COUNT / 100))
