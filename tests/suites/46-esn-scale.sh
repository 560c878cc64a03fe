# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Extended sequence numbers across the 2^32 boundary against xfrm, the
# kipsec side at scale (10,000 SAs, 1,000 policies), and bad command
# lines.  Topology and helpers: tests/lib/topo.sh (kipsec in netns ka,
# xfrm in netns xb).  KA_TOOL=xfrm runs xfrm on both sides:
#   tests/run-vm.sh shell 'KA_TOOL=xfrm bash tests/lib/ktest.sh 46-esn'

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

GCM='rfc4106(gcm(aes))'

# esn_of ka|xb SPI: "SEQ OSEQ" of an SA as 64-bit decimal numbers.
esn_of() {
	local side=$1 spi v
	spi=$(printf '0x%08x' $(($2)))
	if [ "$side" = ka ] && [ "$KA_TOOL" = kipsec ]; then
		ka_tool -j state list | jq -r --arg s "$spi" \
			'.[] | select(.spi == $s) | "\(.seq // 0) \(.oseq // 0)"'
		return
	fi
	local ns=$XB
	[ "$side" = ka ] && ns=$KA
	# " seq-hi 0x1, seq 0x18, oseq-hi 0x0, oseq 0x0"
	v=$(ip -n "$ns" xfrm state | awk -v s="$spi" '
		/proto esp spi/ { split($4, x, "("); cur = x[1] }
		/seq-hi/ && cur == s { gsub(/,/, ""); print $2, $4, $6, $8; exit }')
	[ -n "$v" ] || { echo "0 0"; return; }
	set -- $v
	echo "$(($1 << 32 | $2)) $(($3 << 32 | $4))"
}

# 20 pings each way: each SA carries 40 packets, starting at sequence
# number 0xfffffff1, so the last is 2^32 + 0x18 (xfrm: oseq-hi 1,
# oseq 0x18).  Both senders cross the boundary, both receivers accept it.
t_esn_boundary() {
	local want=$((0xfffffff0 + 40)) ka_kx ka_xk xb_kx xb_xk errs side spi
	need_kipsec
	topo_up
	sa_pair transport 4 4 "$GCM" 128 128 flag esn replay-window 128 \
		replay-seq-hi 0 replay-seq 0xfffffff0 \
		replay-oseq-hi 0 replay-oseq 0xfffffff0
	pol_pair transport 4 4
	cfg_apply
	ping_ok "$KA" "$KA4" "$XB4" 20
	ping_ok "$XB" "$XB4" "$KA4" 20
	ka_kx=$(esn_of ka $SPI_KX) ka_xk=$(esn_of ka $SPI_XK)
	xb_kx=$(esn_of xb $SPI_KX) xb_xk=$(esn_of xb $SPI_XK)
	log "seq/oseq: ka out $ka_kx, ka in $ka_xk, xb in $xb_kx, xb out $xb_xk" \
		"(want $want)"
	expect_eq "kipsec out SA oseq (ka->xb)" "${ka_kx#* }" "$want"
	expect_eq "xfrm in SA seq (ka->xb)" "${xb_kx% *}" "$want"
	expect_eq "xfrm out SA oseq (xb->ka)" "${xb_xk#* }" "$want"
	expect_eq "kipsec in SA seq (xb->ka)" "${ka_xk% *}" "$want"
	ip -n "$XB" xfrm state get src "$XB4" dst "$KA4" proto esp spi "$SPI_XK" |
		grep -q 'oseq-hi 0x1,' || fail "xfrm out SA does not show oseq-hi 0x1"
	snap
	for side in ka xb; do
		for spi in $SPI_KX $SPI_XK; do
			expect_eq "$side SA $spi packets" \
				"$(snap_get "$side" "$spi" packets)" 40
		done
	done
	errs=$(xfrm_in_errors "$XB")
	[ -z "$errs" ] || fail "xfrm input errors on $XB: $errs"
}
ktest esn_boundary t_esn_boundary 180

# --- scale ---------------------------------------------------------------

# now: seconds since the epoch with milliseconds; since T0: elapsed.
now() { date +%s.%N | cut -c1-14; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ka_apply FILE: apply ip-xfrm lines on the kipsec side as fast as the
# tool allows: ip -batch for xfrm, kipsec -batch if the CLI has it, else
# one CLI call per line, 4 in parallel.
ka_apply() {
	if [ "$KA_TOOL" = xfrm ]; then
		sed 's/^/xfrm /' "$1" | ip -n "$KA" -batch -
	elif "$KIPSEC" -n "$KA" -batch /dev/null 2>/dev/null; then
		"$KIPSEC" -n "$KA" -batch "$1"
	else
		xargs -P 4 -L 1 "$KIPSEC" -n "$KA" <"$1"
	fi
}

# ka_per_line: true when ka_apply has to run one CLI call per line.
ka_per_line() {
	[ "$KA_TOOL" = kipsec ] && ! "$KIPSEC" -n "$KA" -batch /dev/null 2>/dev/null
}

ka_sa_count() {
	if [ "$KA_TOOL" = xfrm ]; then
		ip -n "$KA" xfrm state | grep -c '^src' || true
	else
		ka_tool -j state list | jq length
	fi
}

ka_pol_count() {
	if [ "$KA_TOOL" = xfrm ]; then
		ip -n "$KA" xfrm policy | grep -c '^src' || true
	else
		ka_tool -j policy list | jq length
	fi
}

# sa_lines FIRST COUNT, pol_lines FIRST COUNT: distinct SAs and policies.
sa_lines() {
	local i key
	key=$(keyhex 20 7)
	for ((i = $1; i < $1 + $2; i++)); do
		printf 'state add src %s dst %s proto esp spi 0x%08x reqid %d mode transport aead %s %s 128\n' \
			"$KA4" "$XB4" $((0x100000 + i)) $((i + 1)) "$GCM" "$key"
	done
}

pol_lines() {
	local i
	for ((i = $1; i < $1 + $2; i++)); do
		printf 'policy add src 10.200.%d.%d/32 dst 10.201.0.0/16 dir out priority %d tmpl src %s dst %s proto esp reqid %d mode transport\n' \
			$((i / 256)) $((i % 256)) $((i + 1)) "$KA4" "$XB4" $((i + 1))
	done
}

# 10,000 SAs and 1,000 policies, as the issue asks, unless the CLI has no
# batch mode and one call per line would take more than SCALE_BUDGET
# seconds (default 60): then as many as fit, said in the log (under TCG
# the CLI manages 4-20 calls a second, 4 in parallel).  Only the
# counts are asserted, never the times.
t_scale() {
	local n_sa=10000 n_pol=1000 probe=100 t rate budget=${SCALE_BUDGET:-60}
	need_kipsec
	ip netns add "$KA"
	mkdir -p "$TOPO_TMP"

	sa_lines 0 $probe >"$TOPO_TMP/sa0"
	t=$(now)
	ka_apply "$TOPO_TMP/sa0" || fail "adding $probe SAs failed"
	t=$(since "$t")
	rate=$(awk -v n=$probe -v t="$t" 'BEGIN { printf "%d", n / (t > 0 ? t : 0.001) }')
	log "$probe SAs added in $t s ($rate/s)"
	if ka_per_line && [ $((rate * budget)) -lt $n_sa ]; then
		n_sa=$((rate * budget / 100 * 100))
		[ $n_sa -lt $probe ] && n_sa=$probe
		n_pol=$((n_sa / 10))
		log "SCALE REDUCED: $rate SAs/s (no batch mode in the CLI): $n_sa SAs" \
			"and $n_pol policies instead of 10000/1000"
	fi

	if [ $n_sa -gt $probe ]; then
		sa_lines $probe $((n_sa - probe)) >"$TOPO_TMP/sa1"
		t=$(now)
		ka_apply "$TOPO_TMP/sa1" || fail "adding SAs failed"
		log "$((n_sa - probe)) more SAs added in $(since "$t") s"
	fi
	t=$(now)
	expect_eq "SAs listed" "$(ka_sa_count)" $n_sa
	log "$n_sa SAs listed in $(since "$t") s"

	pol_lines 0 $n_pol >"$TOPO_TMP/pol"
	t=$(now)
	ka_apply "$TOPO_TMP/pol" || fail "adding policies failed"
	log "$n_pol policies added in $(since "$t") s"
	t=$(now)
	expect_eq "policies listed" "$(ka_pol_count)" $n_pol
	log "$n_pol policies listed in $(since "$t") s"

	# one of them, looked up by its SPI
	ka_tool state get src "$KA4" dst "$XB4" proto esp \
		spi "$(printf '0x%08x' $((0x100000 + n_sa - 1)))" >/dev/null ||
		fail "state get of the last SA failed"

	t=$(now)
	ka_tool state flush
	log "$n_sa SAs flushed in $(since "$t") s"
	t=$(now)
	ka_tool policy flush
	log "$n_pol policies flushed in $(since "$t") s"
	expect_eq "SAs after flush" "$(ka_sa_count)" 0
	expect_eq "policies after flush" "$(ka_pol_count)" 0
	rm -rf "$TOPO_TMP"
}
ktest scale_10000_sa_1000_policies t_scale 420

# --- bad input --------------------------------------------------------------

# bad REGEX ARGS...: the command line fails, says something matching REGEX
# (case-insensitive) on stderr, and changes neither the SAs nor the policies.
bad() {
	local re=$1 before after err
	shift
	before=$(ka_tool state list; ka_tool policy list)
	if err=$(ka_tool "$@" 2>&1 >/dev/null); then
		fail "accepted: $*"
	fi
	after=$(ka_tool state list; ka_tool policy list)
	log "'$*': $err"
	[ -n "$err" ] || fail "no error message for: $*"
	echo "$err" | grep -Eqi "$re" || fail "unclear message for '$*': $err"
	[ "$before" = "$after" ] || fail "'$*' changed the configuration"
}

t_bad_input() {
	local key tail
	need_kipsec
	ip netns add "$KA"
	key=$(keyhex 20 3)
	tail="mode transport aead $GCM $key 128"
	# something to keep intact
	ka_tool state add src "$KA4" dst "$XB4" proto esp spi 0x100 reqid 1 $tail
	ka_tool policy add src "$KA4/32" dst "$XB4/32" dir out \
		tmpl src "$KA4" dst "$XB4" proto esp reqid 1 mode transport

	if [ "$KA_TOOL" = kipsec ]; then	# ip xfrm takes a missing SPI as 0
		bad 'spi' state add src "$KA4" dst "$XB4" proto esp reqid 2 $tail
	fi
	# xfrm only says "unable to initialize cryptographic operations"
	local keyre='key|length'
	[ "$KA_TOOL" = xfrm ] && keyre+='|cryptographic'
	bad "$keyre" state add src "$KA4" dst "$XB4" proto esp \
		spi 0x101 mode transport aead "$GCM" "$(keyhex 21 3)" 128
	bad 'alg|not found|unknown|foo' state add src "$KA4" dst "$XB4" \
		proto esp spi 0x102 mode transport aead 'rfc4106(gcm(foo))' "$key" 128
	bad 'prefix|/33|invalid' policy add src "$KA4/33" dst "$XB4/32" dir out
	bad 'prefix|/129|invalid' policy add src fd99::1/129 dst fd99::2/128 dir in
	bad 'replay|window|65537' state add src "$KA4" dst "$XB4" proto esp \
		spi 0x103 replay-window 65537 $tail
	# and the same SPI twice
	bad 'exist' state add src "$KA4" dst "$XB4" proto esp spi 0x100 reqid 1 $tail
	expect_eq "SAs" "$(ka_sa_count)" 1
	expect_eq "policies" "$(ka_pol_count)" 1
}
ktest bad_input_changes_nothing t_bad_input 120
