# SPDX-License-Identifier: GPL-2.0
# Known answers: the anti-replay self-tests, the AEAD parameter rules, and
# published ESP packets (tests/vectors/, see README.md there) received by
# kipsec: one test per vector, driven by tests/tools/vectors.py.

VEC_TOOL=$REPO/tests/tools/vectors.py

# reload kipsec.ko with module parameters; the caller restores it
vec_reload() {
	rmmod kipsec
	insmod "$KIPSEC_KO" "$@"
}

vec_restore() {
	rmmod kipsec 2>/dev/null || true
	insmod "$KIPSEC_KO"
}

t_replay_selftest() {
	trap vec_restore EXIT
	dmesg -c >/dev/null
	vec_reload selftest=1 || fail "insmod selftest=1 failed: $(dmesg | tail -n 5)"
	dmesg | grep -q 'kipsec: replay self-tests: pass' ||
		fail "no pass line: $(dmesg | grep kipsec | tail -n 5)"
}
ktest replay_selftest t_replay_selftest

# state add must refuse what xfrm refuses, with a message naming the problem
t_aead_rules() {
	local k16=0x000102030405060708090a0b0c0d0e0f k36 out
	k36=0x$(printf '%072d' 0)
	[ -x "$KIPSEC" ] || skip "tools/kipsec not built"
	sa() {
		"$KIPSEC" state add src 10.0.0.1 dst 10.0.0.2 proto esp spi "$1" \
			mode tunnel aead "$2" "$3" "$4" 2>&1
	}
	sa 0x101 'rfc4106(gcm(aes))' ${k16}01020304 128 >/dev/null
	sa 0x102 'rfc4106(gcm(aes))' ${k16}01020304 64 >/dev/null
	sa 0x103 'rfc4106(gcm(aes))' ${k16}01020304 96 >/dev/null
	sa 0x104 'rfc4543(gcm(aes))' ${k16}01020304 128 >/dev/null
	sa 0x105 'rfc7539esp(chacha20,poly1305)' "$k36" 128 >/dev/null
	if out=$(sa 0x110 'rfc4106(gcm(aes))' "$k16" 128); then
		fail "a key without salt was accepted"
	fi
	grep -qi 'key length' <<<"$out" || fail "key length message: $out"
	if out=$(sa 0x111 'rfc4106(gcm(aes))' ${k16}01020304 112); then
		fail "ICV 112 was accepted"
	fi
	grep -qi 'ICV length' <<<"$out" || fail "ICV message: $out"
	if out=$(sa 0x112 'rfc4543(gcm(aes))' ${k16}01020304 96); then
		fail "GMAC with ICV 96 was accepted"
	fi
	if out=$(sa 0x113 'rfc7539esp(chacha20,poly1305)' ${k16}01020304 128); then
		fail "chacha20 with a 128-bit key was accepted"
	fi
	if out=$(sa 0x114 'gcm(aes)' ${k16}01020304 128); then
		fail "gcm(aes) without rfc4106 was accepted"
	fi
	grep -qi 'unknown AEAD' <<<"$out" || fail "unknown algorithm message: $out"
	log "accepted: gcm ICV 64/96/128, gmac, chacha20; refused with messages"
}
ktest aead_parameter_rules t_aead_rules

# All usable vectors run in one python process (python alone takes ~3.5 s
# to start in the guest); it leaves NAME.rc and NAME.log in VEC_RES, and
# each vector's own test then reports its result.
VEC_RES=/tmp/kipsec-vectors

t_vectors_run() {
	[ -x "$KIPSEC" ] || skip "tools/kipsec not built"
	local xpid
	rm -rf "$VEC_RES"
	mkdir -p "$VEC_RES/xfrm"
	# the reference run on Linux xfrm (vectors_on_linux_xfrm reports it)
	# goes at the same time, on the other vCPU
	python3 "$VEC_TOOL" run --backend xfrm --all --results "$VEC_RES/xfrm" \
		>"$VEC_RES/xfrm.out" 2>&1 &
	xpid=$!
	# shellcheck disable=SC2046
	python3 "$VEC_TOOL" run --results "$VEC_RES" \
		$(awk -F '\t' '$2 == "use" { print $1 }' \
		  "$REPO/tests/vectors/usable.tsv") >"$VEC_RES/all.out" 2>&1 ||
		true
	wait "$xpid" || true
	log "$(grep -E '[0-9]+ passed, ' "$VEC_RES/all.out" | tail -n 1)"
	[ -n "$(ls "$VEC_RES"/*.rc 2>/dev/null)" ] ||
		fail "vectors.py wrote no result: $(tail -n 5 "$VEC_RES/all.out")"
}
ktest vectors_run_kipsec t_vectors_run 1200

vec_run() {
	local rc=0 line out
	if [ -r "$VEC_RES/$1.rc" ]; then
		rc=$(cat "$VEC_RES/$1.rc")
		out=$(cat "$VEC_RES/$1.log")
	else	# run alone (a FILTER that left out vectors_run_kipsec)
		[ -x "$KIPSEC" ] || skip "tools/kipsec not built"
		out=$(python3 "$VEC_TOOL" run "$1" 2>&1) || rc=$?
	fi
	case $rc in
	0)
		while IFS= read -r line; do log "$line"; done <<<"$out"
		;;
	4)
		skip "$(sed -n 's/^SKIP: //p' <<<"$out" | tail -n 1)"
		;;
	*)
		echo "$out"
		fail "$(sed -n 's/^FAIL: //p' <<<"$out" | tail -n 1)"
		;;
	esac
}

# one test per vector file; tests/vectors/usable.tsv (the output of
# vectors.py list, checked below) says which cannot be used and why, so
# that those skip without a result
vec_i=0
while IFS=$'\t' read -r vec_n vec_use vec_why; do
	vec_i=$((vec_i + 1))
	if [ "$vec_use" = use ]; then
		eval "t_vector_$vec_i() { vec_run '$vec_n'; }"
		ktest_light "vector_$vec_n" "t_vector_$vec_i" 60
	else
		ktest_skip "vector_$vec_n" "$vec_why"
	fi
done <"$REPO/tests/vectors/usable.tsv"
unset vec_i vec_n vec_use vec_why

t_vector_list() {
	python3 "$VEC_TOOL" list | diff -u "$REPO/tests/vectors/usable.tsv" - ||
		fail "tests/vectors/usable.tsv is stale: regenerate with vectors.py list"
}
ktest vector_list_is_current t_vector_list

# the same packets through asynchronous crypto (pcrypt): the completion
# path of the datapath must give the same answers
vec_restore_sync() {
	vec_restore
	# pcrypt's instances outrank the algorithms they wrap until it goes
	rmmod pcrypt 2>/dev/null || true
}

t_vectors_async() {
	local out
	[ -x "$KIPSEC" ] || skip "tools/kipsec not built"
	trap vec_restore_sync EXIT
	vec_reload force_async=1
	grep -q Y /sys/module/kipsec/parameters/force_async
	out=$(python3 "$VEC_TOOL" run dpdk_aes_128_gcm dpdk_aes_256_gcm_v6 \
		draft-mcgrew-gcm-test-01_case01_gcm128_esn \
		odp_ipv4_esp_null_aes_gmac_128_transport \
		rfc7634_appA_chacha20poly1305_tunnel 2>&1) ||
		fail "with force_async=1: $(tail -n 1 <<<"$out")"
	log "force_async=1: $(tail -n 1 <<<"$out")"
}
ktest vectors_force_async t_vectors_async 300

# the reference: Linux xfrm must pass the same vectors, else the vector or
# the tool is wrong rather than kipsec
t_vectors_xfrm() {
	local out
	if [ -s "$VEC_RES/xfrm.out" ]; then	# left by vectors_run_kipsec
		out=$(cat "$VEC_RES/xfrm.out")
	else
		out=$(python3 "$VEC_TOOL" run --backend xfrm --all 2>&1) || true
	fi
	echo "$out"
	log "$(tail -n 1 <<<"$out")"
	tail -n 1 <<<"$out" | grep -q ' 0 failed'
}
ktest vectors_on_linux_xfrm t_vectors_xfrm 600
