# SPDX-License-Identifier: GPL-2.0
# The kipsec CLI: ip xfrm's grammar, text and JSON output, errors.
#
# Every suite is sourced into one shell, so helpers carry a t20_ prefix.

T20_KEY=0x0102030405060708090a0b0c0d0e0f1011121314
T20_KEYHEX=0102030405060708090a0b0c0d0e0f10
T20_GCM='rfc4106(gcm(aes))'
# counters of a table: every enum kipsec_stat entry but UNSPEC
T20_NSTATS=$(($(grep -c '^\s*KIPSEC_STAT_[A-Z_]*,' \
	"$REPO/include/uapi/linux/kipsec.h") - 1))

t20_need() {
	[ -x "$KIPSEC" ] || skip "the kipsec CLI is not built ($KIPSEC)"
	command -v python3 >/dev/null || skip "python3 is missing"
}

# t20_expect RC PATTERN CMD...: CMD exits RC and its output has PATTERN
t20_expect() {
	local want=$1 pat=$2 out rc=0
	shift 2
	out=$("$@" 2>&1) || rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, want $want: $out"
	grep -qF -- "$pat" <<<"$out" || fail "'$*': no '$pat' in: $out"
}

t20_sad_count() {
	"$KIPSEC" state count | awk '$1 == "SAD" { print $3 }'
}

t20_spd_count() {
	"$KIPSEC" policy count | awk '{ n += $NF } END { print n + 0 }'
}

# t20_pycheck CODE DOC...: parse every DOC as JSON into d[0], d[1], ...
# and run CODE (assert statements) on them; python starts once, it is
# slow under TCG
t20_pycheck() {
	local code=$1
	shift
	python3 -c '
import json, sys
d = []
for i, a in enumerate(sys.argv[2:]):
    try:
        d.append(json.loads(a))
    except ValueError as e:
        sys.exit("document %d is not JSON (%s): %r" % (i, e, a))
exec(sys.argv[1])
' "$code" "$@" || fail "JSON check failed"
}

t20_sa_add() {	# SPI [more args]
	local spi=$1
	shift
	"$KIPSEC" state add src 10.0.0.1 dst 10.0.0.2 proto esp spi "$spi" \
		mode tunnel aead "$T20_GCM" "$T20_KEY" 128 "$@"
}

t20_no_key() {	# TEXT...: the key bytes must not appear
	if grep -qi "$T20_KEYHEX" <<<"$*"; then
		fail "key material in the output: $*"
	fi
}

t_cli_help_version() {
	t20_need
	t20_expect 0 "Usage: kipsec" "$KIPSEC" --help
	t20_expect 0 "Usage: kipsec" "$KIPSEC" -h
	t20_expect 0 "OBJECT :=" "$KIPSEC" help
	t20_expect 0 "policy | monitor | stats" "$KIPSEC" help
	t20_expect 0 "OBJECTS := { acquire | expire | sa | policy | mapping }" "$KIPSEC" monitor help
	t20_expect 0 "Usage: kipsec state { add | update } ID" "$KIPSEC" state help
	t20_expect 0 "TMPL := ID" "$KIPSEC" policy help
	t20_expect 0 "kipsec utility, version" "$KIPSEC" -V
	t20_expect 0 "kipsec module, version" "$KIPSEC" -Version
	t20_expect 1 'Object "bogus" is unknown' "$KIPSEC" bogus
	t20_expect 1 'Option "-z" is unknown' "$KIPSEC" -z state list
	t20_expect 1 "Usage: kipsec" "$KIPSEC"
}
ktest cli_help_version t_cli_help_version

t_cli_usage_errors() {
	local before after k="$KIPSEC" g=$T20_GCM key=$T20_KEY
	t20_need
	t20_sa_add 0x100
	"$k" policy add src 10.9.0.0/16 dst 10.8.0.0/16 dir out
	before="$(t20_sad_count)/$(t20_spd_count)"
	t20_expect 1 'argument "foo" is wrong: unknown keyword' \
		t20_sa_add 0x101 foo
	t20_expect 1 'value after "replay-window" is invalid' \
		t20_sa_add 0x101 replay-window abc
	t20_expect 1 'value after "replay-window" is invalid' \
		t20_sa_add 0x101 replay-window -1
	t20_expect 1 'argument "10.0.0.300" is wrong: value after "src"' \
		"$k" state add src 10.0.0.300 dst 10.0.0.2 proto esp spi 1 \
		aead "$g" "$key" 128
	t20_expect 1 'the same address family is required' \
		"$k" state add src 10.0.0.1 dst fc00::2 proto esp spi 1 \
		aead "$g" "$key" 128
	t20_expect 1 'Error: missing "spi"' \
		"$k" state add src 10.0.0.1 dst 10.0.0.2 proto esp \
		aead "$g" "$key" 128
	t20_expect 1 'Error: missing "proto"' \
		"$k" state get src 10.0.0.1 dst 10.0.0.2 spi 0x100
	t20_expect 1 'value after "spi" is invalid' \
		"$k" state get dst 10.0.0.2 proto esp spi 0x1ffffffff
	t20_expect 1 'argument "time-hardd" is wrong: LIMIT value is invalid' \
		t20_sa_add 0x101 limit time-hardd 10
	t20_expect 1 '"ALGO-ICV-LEN"' \
		"$k" state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 1 \
		aead "$g" "$key"
	t20_expect 1 'ALGO-KEYMAT value is invalid' \
		"$k" state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 1 \
		aead "$g" 0xzz 128
	t20_expect 1 '"enc" or "aead" is required' \
		"$k" state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 1
	t20_expect 1 'esn flag set without replay-window' \
		t20_sa_add 0x101 flag esn
	t20_expect 1 '"wildrecv" (state flag) is not supported' \
		t20_sa_add 0x101 flag wildrecv
	t20_expect 1 'MODE value is not supported' \
		"$k" state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 1 \
		mode beet aead "$g" "$key" 128
	t20_expect 1 '"replay-window" needs a value' \
		t20_sa_add 0x101 replay-window
	t20_expect 1 'Error: missing "dir"' \
		"$k" policy add src 10.0.0.0/24 dst 10.1.0.0/24
	t20_expect 1 '"sport" and "dport" are invalid with proto=icmp' \
		"$k" policy add src 10.0.0.0/24 dst 10.1.0.0/24 proto icmp \
		sport 80 dir out
	t20_expect 1 'value after "type" is invalid' \
		"$k" policy add src 10.0.0.0/24 dst 10.1.0.0/24 proto icmp \
		type 300 dir out
	t20_expect 1 'DIR value is invalid' \
		"$k" policy add src 10.0.0.0/24 dst 10.1.0.0/24 dir up
	t20_expect 1 'argument "10.0.0.0/33" is wrong' \
		"$k" policy add src 10.0.0.0/33 dst 10.1.0.0/24 dir out
	t20_expect 2 'index does not match direction' \
		"$k" policy add src 10.0.0.0/24 dst 10.1.0.0/24 dir out index 8
	t20_expect 1 '"tmpl" given twice' \
		"$k" policy add src 10.0.0.0/24 dst 10.1.0.0/24 dir out \
		tmpl proto esp tmpl proto esp
	t20_expect 1 'LIMIT value is invalid' \
		"$k" policy add src 10.0.0.0/24 dst 10.1.0.0/24 dir out \
		limit time-hardest 5
	t20_expect 1 'Command "frob" is unknown' "$k" state frob
	after="$(t20_sad_count)/$(t20_spd_count)"
	[ "$before" = "$after" ] ||
		fail "usage errors changed the configuration: $before -> $after"
	log "SAs/policies before and after: $after"
}
ktest cli_usage_errors t_cli_usage_errors

t_cli_state_roundtrip() {
	local out
	t20_need
	[ "$(t20_sad_count)" = 0 ] || fail "SAD not empty at start"
	t20_sa_add 0x1000 reqid 7 replay-window 64 flag esn af-unspec \
		sel src 10.1.0.0/24 dst 10.2.0.0/16 proto tcp sport 22
	out=$("$KIPSEC" state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 4096)
	t20_no_key "$out"
	log "$(head -n 1 <<<"$out")"
	grep -qx 'src 10.0.0.1 dst 10.0.0.2' <<<"$out" || fail "no id line: $out"
	grep -qP '^\tproto esp spi 0x00001000 reqid 7 mode tunnel$' <<<"$out" ||
		fail "no proto line: $out"
	grep -qP '^\treplay-window 64 flag af-unspec esn$' <<<"$out" ||
		fail "no replay-window line: $out"
	grep -qP '^\taead rfc4106\(gcm\(aes\)\) \(160 bits\) 128$' <<<"$out" ||
		fail "no aead line: $out"
	grep -qP '^\tsel src 10.1.0.0/24 dst 10.2.0.0/16 proto tcp sport 22 $' \
		<<<"$out" || fail "no sel line: $out"
	out=$("$KIPSEC" state list)
	t20_no_key "$out"
	grep -q 'spi 0x00001000' <<<"$out" || fail "list misses the SA: $out"
	[ "$(t20_sad_count)" = 1 ] || fail "state count is not 1"
	"$KIPSEC" state delete src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1000
	[ "$(t20_sad_count)" = 0 ] || fail "state count is not 0 after delete"
	[ -z "$("$KIPSEC" state list)" ] || fail "list not empty after delete"
	t20_expect 2 "Error: " "$KIPSEC" state get src 10.0.0.1 dst 10.0.0.2 \
		proto esp spi 0x1000
}
ktest cli_state_roundtrip t_cli_state_roundtrip

t_cli_state_json() {
	local list get pretty get6 count stats empty
	t20_need
	t20_sa_add 0x1000 reqid 7 replay-window 128 flag esn \
		sel src 10.1.0.0/24 dst 10.2.0.0/16 proto udp dport 4500
	"$KIPSEC" state add src fc00::1 dst fc00::2 proto esp spi 0x2000 \
		aead 'rfc7539esp(chacha20,poly1305)' \
		0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324 128
	list=$("$KIPSEC" -j state list)
	get=$("$KIPSEC" -j state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1000)
	pretty=$("$KIPSEC" -j -p state list)
	get6=$("$KIPSEC" -j state get src fc00::1 dst fc00::2 proto esp spi 0x2000)
	count=$("$KIPSEC" -j state count)
	stats=$("$KIPSEC" -j -s state list)
	empty=$("$KIPSEC" -j state list spi 0x9999)
	t20_no_key "$list $get $pretty $get6 $stats"
	[ "$(wc -l <<<"$pretty")" -gt 20 ] || fail "-p did not pretty-print: $pretty"
	[ "$empty" = "[]" ] || fail "empty list is not []: $empty"
	t20_pycheck '
lst, g, pretty, g6, count, stats = d[:6]
assert len(lst) == 2, lst
assert lst == pretty, (lst, pretty)
assert (g["spi"], g["spi_num"], g["reqid"], g["mode"], g["replay_window"],
        g["flags"]) == ("0x00001000", 4096, 7, "tunnel", 128, ["esn"]), g
assert (g["src"], g["dst"], g["family"], g["proto"]) == \
       ("10.0.0.1", "10.0.0.2", "inet", "esp"), g
assert g["aead"] == {"name": "rfc4106(gcm(aes))", "key_bits": 160,
                     "icv_bits": 128}, g
assert (g["sel"]["src"], g["sel"]["src_len"], g["sel"]["dst_len"],
        g["sel"]["proto"], g["sel"]["dport"]) == \
       ("10.1.0.0", 24, 16, "udp", 4500), g
assert "sport" not in g["sel"] and "stats" not in g, g
assert (g6["family"], g6["src"], g6["aead"]["key_bits"]) == \
       ("inet6", "fc00::1", 288), g6
assert count == {"sad_count": 2}, count
assert all(len(sa["stats"]) == '"$T20_NSTATS"' for sa in stats), stats
' "$list" "$get" "$pretty" "$get6" "$count" "$stats"
}
ktest cli_state_json t_cli_state_json

t_cli_state_stats_text() {
	local out
	t20_need
	t20_sa_add 0x1000
	out=$("$KIPSEC" -s state list)
	grep -qP '^\tlifetime current:$' <<<"$out" || fail "no lifetime: $out"
	grep -qP '^\t  in 0\(bytes\), 0\(packets\)  out 0\(bytes\), 0\(packets\)$' \
		<<<"$out" || fail "no counters line: $out"
	grep -q 'spi 0x00001000(4096)' <<<"$out" || fail "-s spi: $out"
	! grep -q in_auth_fail <<<"$out" || fail "-s shows zero drop counters"
	out=$("$KIPSEC" -s -s state list | grep -oP '^\t  \K[a-z_]+(?= 0$)' |
		tr '\n' ' ')
	[ "$out" = "in_auth_fail in_replay in_window in_bad_trailer in_no_sa \
in_malformed in_policy_mismatch in_plaintext in_selector in_discard out_no_sa \
out_discard out_seq_overflow out_route out_error crypto_error sa_dead \
in_fragment sa_expired in_state_invalid icmp_pmtu in_encap_mismatch in_dummy \
out_too_big out_no_tcp_sk mss_clamped " ] ||
		fail "-s -s drop counters: $out"
}
ktest cli_state_stats_text t_cli_state_stats_text

t_cli_state_update() {
	local out
	t20_need
	t20_sa_add 0x1000 reqid 1 replay-window 32
	"$KIPSEC" state update src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1000 \
		mode tunnel aead "$T20_GCM" "$T20_KEY" 128 reqid 9 replay-window 256
	out=$("$KIPSEC" state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1000)
	grep -q 'reqid 9 mode tunnel' <<<"$out" || fail "update: $out"
	grep -q 'replay-window 256 ' <<<"$out" || fail "update: $out"
	[ "$(t20_sad_count)" = 1 ] || fail "update added an SA"
	t20_expect 2 "Error: " "$KIPSEC" state update src 10.0.0.1 \
		dst 10.0.0.2 proto esp spi 0x1001 mode tunnel \
		aead "$T20_GCM" "$T20_KEY" 128
	[ "$(t20_sad_count)" = 1 ] || fail "update of a missing SA added it"
}
ktest cli_state_update t_cli_state_update

t_cli_kernel_extack() {
	local k="$KIPSEC" key=$T20_KEY out
	t20_need
	# the kernel's own text, iproute2 style, exit 2
	t20_expect 2 "ICV" "$k" state add src 10.0.0.1 dst 10.0.0.2 proto esp \
		spi 1 aead "$T20_GCM" "$key" 100
	t20_expect 2 "algorithm" "$k" state add src 10.0.0.1 dst 10.0.0.2 \
		proto esp spi 1 aead 'nosuch(alg)' "$key" 128
	t20_sa_add 0x1000
	t20_expect 2 "exists" t20_sa_add 0x1000
	t20_expect 2 "single DES" "$k" state add src 10.0.0.1 dst 10.0.0.2 \
		proto esp spi 2 enc 'cbc(des)' 0x0011223344556677 \
		auth-trunc 'hmac(sha256)' 0x00112233445566778899aabbccddeeff 128
	t20_expect 2 "xcbc" "$k" state add src 10.0.0.1 dst 10.0.0.2 proto ah \
		spi 3 auth 'xcbc(aes)' 0x0011223344
	out=$("$k" state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 4 \
		aead "$T20_GCM" "$key" 100 2>&1) || true
	grep -qE '^Error: .+\.$' <<<"$out" || fail "not iproute2 style: $out"
	log "kernel says: $out"
	[ "$(t20_sad_count)" = 1 ] || fail "a refused SA was added"
}
ktest cli_kernel_extack t_cli_kernel_extack

t_cli_state_flush_deleteall() {
	t20_need
	t20_sa_add 0x1001 reqid 1
	t20_sa_add 0x1002 reqid 2
	t20_sa_add 0x1003 reqid 2
	"$KIPSEC" state add src fc00::1 dst fc00::2 proto esp spi 0x1004 \
		aead "$T20_GCM" "$T20_KEY" 128
	[ "$("$KIPSEC" state list reqid 2 | grep -c '^src')" = 2 ] ||
		fail "list reqid 2"
	[ "$("$KIPSEC" state list dst fc00::/16 | grep -c '^src')" = 1 ] ||
		fail "list dst prefix"
	"$KIPSEC" state deleteall reqid 2
	[ "$(t20_sad_count)" = 2 ] || fail "deleteall reqid 2 left $(t20_sad_count)"
	"$KIPSEC" state deleteall src fc00::1
	[ "$(t20_sad_count)" = 1 ] || fail "deleteall src fc00::1"
	t20_sa_add 0x1005
	"$KIPSEC" state flush proto esp
	[ "$(t20_sad_count)" = 0 ] || fail "flush proto esp"
	t20_sa_add 0x1006
	"$KIPSEC" state flush
	[ "$(t20_sad_count)" = 0 ] || fail "flush"
}
ktest cli_state_flush_deleteall t_cli_state_flush_deleteall

t_cli_policy_roundtrip() {
	local out idx byidx
	t20_need
	"$KIPSEC" policy add src 10.1.0.0/24 dst 10.2.0.0/16 proto tcp \
		sport 1024 dport 443 dir out priority 100 action block
	"$KIPSEC" policy add src 10.1.0.0/24 dst 10.2.0.0/16 dir in priority 7
	"$KIPSEC" policy add src fc00::1 dst fc01::/64 proto udp dir fwd \
		priority 0x10
	out=$("$KIPSEC" policy list)
	grep -qx 'src 10.1.0.0/24 dst 10.2.0.0/16 proto tcp sport 1024 dport 443 ' \
		<<<"$out" || fail "no selector line: $out"
	grep -qP '^\tdir out action block priority 100 $' <<<"$out" ||
		fail "no dir line: $out"
	grep -qx 'src fc00::1/128 dst fc01::/64 proto udp ' <<<"$out" ||
		fail "no v6 selector: $out"
	grep -qP '^\tdir fwd priority 16 $' <<<"$out" || fail "priority 0x10: $out"
	[ "$(t20_spd_count)" = 3 ] || fail "count is not 3"
	out=$("$KIPSEC" policy get src 10.1.0.0/24 dst 10.2.0.0/16 proto tcp \
		sport 1024 dport 443 dir out)
	grep -q 'priority 100' <<<"$out" || fail "get by selector: $out"
	idx=$("$KIPSEC" -j policy get src 10.1.0.0/24 dst 10.2.0.0/16 dir in |
		sed -n 's/.*"index":\([0-9]*\).*/\1/p')
	[ -n "$idx" ] || fail "no index in the JSON"
	byidx=$("$KIPSEC" -j policy get index "$idx" dir in)
	t20_expect 2 "Error: " "$KIPSEC" policy get index "$idx" dir out
	"$KIPSEC" policy delete index "$idx" dir in
	"$KIPSEC" policy delete src 10.1.0.0/24 dst 10.2.0.0/16 proto tcp \
		sport 1024 dport 443 dir out
	[ "$(t20_spd_count)" = 1 ] || fail "count is not 1 after deletes"
	t20_expect 2 "Error: " "$KIPSEC" policy delete src 10.1.0.0/24 \
		dst 10.2.0.0/16 dir in
	out=$("$KIPSEC" -j policy list)
	t20_pycheck '
byidx, lst = d
assert (byidx["dir"], byidx["priority"], byidx["action"]) == \
       ("in", 7, "allow"), byidx
assert byidx["sel"]["src"] == "10.1.0.0" and "tmpl" not in byidx, byidx
assert len(lst) == 1, lst
assert (lst[0]["sel"]["family"], lst[0]["sel"]["dst_len"],
        lst[0]["sel"]["proto"], lst[0]["priority"]) == \
       ("inet6", 64, "udp", 16), lst
' "$byidx" "$out"
}
ktest cli_policy_roundtrip t_cli_policy_roundtrip

t_cli_policy_icmp_tmpl() {
	local out
	t20_need
	"$KIPSEC" policy add src 10.1.0.0/24 dst 10.2.0.0/24 proto icmp \
		type 8 code 0 dir out priority 5 \
		tmpl src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x1234 reqid 3 \
		mode tunnel level use
	"$KIPSEC" policy add src fc00::/64 dst fc01::/64 proto ipv6-icmp \
		type 128 dir out tmpl proto esp reqid 4 mode transport
	out=$("$KIPSEC" policy list)
	grep -qx 'src 10.1.0.0/24 dst 10.2.0.0/24 proto icmp type 8 code 0 ' \
		<<<"$out" || fail "icmp selector: $out"
	grep -qP '^\ttmpl src 192.0.2.1 dst 192.0.2.2$' <<<"$out" ||
		fail "tmpl line: $out"
	grep -qP '^\t\tproto esp spi 0x00001234 reqid 3 mode tunnel$' <<<"$out" ||
		fail "tmpl proto line: $out"
	grep -qP '^\t\tlevel use $' <<<"$out" || fail "level use: $out"
	grep -qx 'src fc00::/64 dst fc01::/64 proto ipv6-icmp type 128 ' \
		<<<"$out" || fail "ipv6-icmp selector: $out"
	out=$("$KIPSEC" -j policy get src 10.1.0.0/24 dst 10.2.0.0/24 \
		proto icmp type 8 code 0 dir out)
	t20_pycheck '
p = d[0]
assert (p["sel"]["proto"], p["sel"]["type"], p["sel"]["code"]) == \
       ("icmp", 8, 0), p
assert "sport" not in p["sel"] and "dport" not in p["sel"], p
assert p["tmpl"] == {"src": "192.0.2.1", "dst": "192.0.2.2", "proto": "esp",
                     "spi": "0x00001234", "spi_num": 0x1234, "reqid": 3,
                     "mode": "tunnel", "level": "use"}, p
' "$out"
	# type 8 and type 0 are different selectors
	t20_expect 2 "Error: " "$KIPSEC" policy get src 10.1.0.0/24 \
		dst 10.2.0.0/24 proto icmp type 0 code 0 dir out
}
ktest cli_policy_icmp_tmpl t_cli_policy_icmp_tmpl

t_cli_policy_update() {
	local out
	t20_need
	"$KIPSEC" policy add src 10.1.0.0/24 dst 10.2.0.0/24 dir out priority 9
	t20_expect 2 "exists" "$KIPSEC" policy add src 10.1.0.0/24 \
		dst 10.2.0.0/24 dir out priority 9
	"$KIPSEC" policy update src 10.1.0.0/24 dst 10.2.0.0/24 dir out \
		priority 3 tmpl src 10.0.0.1 dst 10.0.0.2 proto esp mode tunnel
	out=$("$KIPSEC" -j policy list)
	"$KIPSEC" policy update src 10.1.0.0/24 dst 10.2.0.0/24 dir out \
		action block
	t20_pycheck '
a, b = d
assert len(a) == 1 and a[0]["priority"] == 3, a
assert a[0]["tmpl"]["mode"] == "tunnel", a
assert len(b) == 1 and b[0]["action"] == "block" and "tmpl" not in b[0], b
' "$out" "$("$KIPSEC" -j policy list)"
}
ktest cli_policy_update t_cli_policy_update

t_cli_policy_flush_deleteall() {
	t20_need
	"$KIPSEC" policy add src 10.1.0.0/24 dst 10.2.0.0/24 dir out
	"$KIPSEC" policy add src 10.1.0.0/24 dst 10.3.0.0/24 dir out
	"$KIPSEC" policy add src 10.2.0.0/24 dst 10.1.0.0/24 dir in
	"$KIPSEC" policy add src 10.2.0.0/24 dst 10.1.0.0/24 dir fwd
	[ "$("$KIPSEC" policy count | awk '/OUT/ { print $3 }')" = 2 ] ||
		fail "SPD OUT count"
	[ "$("$KIPSEC" policy list dir out | grep -c '^src')" = 2 ] ||
		fail "list dir out"
	"$KIPSEC" policy deleteall dir out
	[ "$(t20_spd_count)" = 2 ] || fail "deleteall dir out"
	"$KIPSEC" policy deleteall dst 10.1.0.0/16 dir in
	[ "$(t20_spd_count)" = 1 ] || fail "deleteall with a selector filter"
	"$KIPSEC" policy add src 10.1.0.0/24 dst 10.2.0.0/24 dir out
	"$KIPSEC" policy flush
	[ "$(t20_spd_count)" = 0 ] || fail "flush"
}
ktest cli_policy_flush_deleteall t_cli_policy_flush_deleteall

t_cli_stats_info() {
	local out
	t20_need
	out=$("$KIPSEC" stats)
	[ "$(wc -l <<<"$out")" = "$T20_NSTATS" ] ||
		fail "not $T20_NSTATS counters: $out"
	grep -qE '^in_auth_fail +[0-9]+$' <<<"$out" || fail "no in_auth_fail"
	grep -qE '^sa_dead +[0-9]+$' <<<"$out" || fail "no sa_dead"
	t20_pycheck '
st, info = d
assert len(st) == '"$T20_NSTATS"' and all(isinstance(v, int) for v in st.values()), st
assert info["replay_window_max"] == 65536, info
assert "esp" in info["capabilities"], info
' "$("$KIPSEC" -j stats)" "$("$KIPSEC" -j info)"
	"$KIPSEC" info | grep -q '^version ' || fail "info"
}
ktest cli_stats_info t_cli_stats_info

t_cli_abbrev() {
	t20_need
	t20_sa_add 0x1000
	"$KIPSEC" st l | grep -q 'spi 0x00001000' || fail "st l"
	"$KIPSEC" sa show | grep -q 'spi 0x00001000' || fail "sa show"
	"$KIPSEC" state | grep -q 'spi 0x00001000' || fail "state"
	"$KIPSEC" p a src 10.0.0.0/8 dst 10.0.0.0/8 dir in
	"$KIPSEC" pol l | grep -q 'dir in' || fail "pol l"
	[ "$("$KIPSEC" --json st l | cut -c1-9)" = '[{"src":"' ] || fail "--json"
}
ktest cli_abbrev t_cli_abbrev

t_cli_netns() {
	t20_need
	ip netns add t20ns
	"$KIPSEC" -n t20ns state add src 10.0.0.1 dst 10.0.0.2 proto esp \
		spi 0x77 aead "$T20_GCM" "$T20_KEY" 128
	[ "$("$KIPSEC" -n t20ns state count)" = "SAD count 1" ] ||
		fail "not in the netns"
	[ "$(t20_sad_count)" = 0 ] || fail "leaked into init_net"
	[ "$(ip netns exec t20ns "$KIPSEC" state count)" = "SAD count 1" ] ||
		fail "ip netns exec"
	ip netns del t20ns
}
ktest cli_netns t_cli_netns

t_cli_module_missing() {
	local out rc=0
	t20_need
	rmmod kipsec || skip "kipsec.ko cannot be unloaded"
	out=$("$KIPSEC" state list 2>&1) || rc=$?
	insmod "$KIPSEC_KO"
	[ $rc = 2 ] || fail "exit $rc, want 2"
	grep -qF 'Error: the kipsec module is not loaded (genetlink family "kipsec" not found).' \
		<<<"$out" || fail "message: $out"
}
ktest cli_module_missing t_cli_module_missing

t_cli_dryrun() {
	local out
	t20_need
	out=$(KIPSEC_DRYRUN=1 "$KIPSEC" state add src 10.0.0.1 dst 10.0.0.2 \
		proto esp spi 0x42 aead "$T20_GCM" "$T20_KEY" 128 \
		replay-seq 5 replay-oseq-hi 1 replay-oseq 2 flag esn replay-window 32)
	t20_no_key "$out"
	grep -q 'SA_NEW' <<<"$out" || fail "no SA_NEW: $out"
	grep -q 'SA_SPI 0x00000042' <<<"$out" || fail "no SPI: $out"
	grep -q 'SA_OSEQ 4294967298' <<<"$out" || fail "oseq-hi: $out"
	grep -q 'SA_AEAD_KEY <20 bytes, not shown>' <<<"$out" || fail "key: $out"
	[ "$(t20_sad_count)" = 0 ] || fail "dry run reached the kernel"
}
ktest cli_dryrun t_cli_dryrun

# The same command lines through ip xfrm and kipsec print the same text,
# once ip's key is replaced by kipsec's key length and ip's extras
# (replay bitmap, ptype) are dropped.
t_cli_text_like_ip() {
	local line a b
	t20_need
	line="state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1000 reqid 7
		mode tunnel aead rfc4106(gcm(aes)) $T20_KEY 128 replay-window 32
		flag af-unspec sel src 10.1.0.0/24 dst 10.2.0.0/16 proto tcp sport 22"
	# shellcheck disable=SC2086
	ip xfrm $line || skip "ip xfrm cannot add the reference SA"
	# shellcheck disable=SC2086
	"$KIPSEC" $line
	a=$(ip xfrm state list | sed -e "s/ $T20_KEY / (160 bits) /" \
		-e 's/, bitmap 0x[0-9a-f]*//')
	b=$("$KIPSEC" state list)
	[ "$a" = "$b" ] || fail "state differs from ip xfrm:
$(diff <(echo "$a") <(echo "$b"))"
	for line in \
		"policy add src 10.1.0.0/24 dst 10.2.0.0/16 proto tcp sport 1024
		 dport 443 dir in priority 100 action block" \
		"policy add src fc00::/64 dst fc01::1 proto ipv6-icmp type 128
		 code 0 dir out priority 7 tmpl src fc00::1 dst fc00::2 proto esp
		 spi 0x1234 reqid 3 mode tunnel" \
		"policy add src 10.3.0.0/24 dst 10.4.0.0/24 dir in
		 tmpl proto esp mode transport level use"; do
		# shellcheck disable=SC2086
		ip xfrm $line
		# shellcheck disable=SC2086
		"$KIPSEC" $line
		a=$(ip xfrm policy list | sed 's/ptype main //')
		b=$("$KIPSEC" policy list)
		[ "$a" = "$b" ] || fail "policy differs from ip xfrm:
$(diff <(echo "$a") <(echo "$b"))"
		ip xfrm policy flush
		"$KIPSEC" policy flush
	done
}
ktest cli_text_like_ip t_cli_text_like_ip

t_cli_batch() {
	local f=/tmp/t20.batch out rc=0
	t20_need
	cat >"$f" <<-EOT
	# an ip -batch file works unchanged
	xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x10 mode tunnel aead 'rfc4106(gcm(aes))' $T20_KEY 128
	state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x11 aead "rfc4106(gcm(aes))" $T20_KEY 128   # comment

	policy add src 10.1.0.0/24 dst 10.2.0.0/24 dir out tmpl src 10.0.0.1 dst 10.0.0.2 proto esp mode tunnel
	state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x12 aead x $T20_KEY 128 bogus
	state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x13 aead 'rfc4106(gcm(aes))' $T20_KEY 128
	EOT
	out=$("$KIPSEC" -batch "$f" 2>&1) || rc=$?
	[ $rc = 1 ] || fail "batch exited $rc, want 1: $out"
	grep -qF "Command failed $f:6" <<<"$out" || fail "no failed line: $out"
	[ "$(t20_sad_count)/$(t20_spd_count)" = "2/1" ] ||
		fail "batch applied $(t20_sad_count)/$(t20_spd_count)"
	"$KIPSEC" state flush
	"$KIPSEC" policy flush
	rc=0
	out=$("$KIPSEC" -b "$f" -force 2>&1) || rc=$?
	[ $rc = 1 ] || fail "-force exited $rc"
	[ "$(t20_sad_count)" = 3 ] || fail "-force did not go on"
	echo "state count" | "$KIPSEC" -b - | grep -qx 'SAD count 3' ||
		fail "batch from stdin"
	rm -f "$f"
}
ktest cli_batch t_cli_batch

# extra-flag dont-encap-dscp: kept, shown as ip shows it, in JSON; the
# other XFRM extra flag is refused by the tool
t_cli_state_extra_flag() {
	local out
	t20_need
	t20_sa_add 0x1000 flag nopmtudisc extra-flag dont-encap-dscp
	t20_sa_add 0x1001 extra-flag 1
	out=$("$KIPSEC" state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1000)
	grep -qP '^\treplay-window 0 flag nopmtudisc extra_flag dont-encap-dscp$' \
		<<<"$out" || fail "no extra_flag: $out"
	out=$("$KIPSEC" -j state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001)
	[ "$(jq -c .extra_flags <<<"$out")" = '["dont-encap-dscp"]' ] ||
		fail "JSON extra_flags: $out"
	t20_expect 1 "oseq-may-wrap" t20_sa_add 0x1002 extra-flag oseq-may-wrap
	t20_expect 1 "extra-flag" t20_sa_add 0x1002 extra-flag 2
	"$KIPSEC" state flush
}
ktest cli_state_extra_flag t_cli_state_extra_flag

# SA flags decap-dscp and icmp, policy flag icmp: given by name or as
# xfrm's value, listed as ip lists them, in JSON, refused localok
t_cli_flags() {
	local sa pol
	t20_need
	t20_sa_add 0x20 flag noecn decap-dscp icmp || fail "state add flags"
	t20_sa_add 0x21 flag 0x12 || fail "state add flag 0x12"
	"$KIPSEC" state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x20 |
		grep -q 'flag noecn decap-dscp icmp$' || fail "SA flags text"
	"$KIPSEC" state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x21 |
		grep -q 'flag decap-dscp icmp$' || fail "SA flag 0x12 text"
	"$KIPSEC" policy add src 10.1.0.0/24 dst 10.2.0.0/24 dir out \
		flag icmp tmpl src 10.0.0.1 dst 10.0.0.2 proto esp mode tunnel ||
		fail "policy add flag icmp"
	"$KIPSEC" policy add src 10.1.0.0/24 dst 10.2.0.0/24 dir in \
		flag 0x2 || fail "policy add flag 0x2"
	"$KIPSEC" policy list | grep -c 'priority 0 flag icmp$' |
		grep -qx 2 || fail "policy flag text: $("$KIPSEC" policy list)"
	t20_expect 1 '"localok" (policy flag) is not supported' \
		"$KIPSEC" policy add src 10.3.0.0/24 dst 10.4.0.0/24 dir out \
		flag localok
	t20_expect 1 'only icmp' \
		"$KIPSEC" policy add src 10.3.0.0/24 dst 10.4.0.0/24 dir out \
		flag 0x3
	sa=$("$KIPSEC" -j state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x20)
	pol=$("$KIPSEC" -j policy list)
	t20_pycheck '
assert d[0]["flags"] == ["noecn", "decap-dscp", "icmp"], d[0]
assert all(p["flags"] == ["icmp"] for p in d[1]), d[1]' "$sa" "$pol"
	"$KIPSEC" state flush
	"$KIPSEC" policy flush
}
ktest cli_flags t_cli_flags
