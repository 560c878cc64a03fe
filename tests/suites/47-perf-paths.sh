# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The fast paths (policy hash, SA cache, per-CPU pools, parallel
# crypto) must not change behaviour (tests/lib/topo.sh topology,
# kipsec in ka, xfrm in xb):
# - policy lookup (policy.c: a hash probe per prefix shape instead of a
#   list walk) still takes the lowest priority, then the oldest, whatever
#   the prefix lengths, among thousands of exact policies;
# - the policy's cached outbound SA (hooks.c out_sa(), sa_cache) follows
#   the SAD: a newer SA takes over, a deleted or replaced SA is not used;
# - parallel crypto of one SA (esp.c) still sends its packets in order: xb
#   receives with replay-window 1, where any reordering is a replay drop.
# Budget: about a minute.

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

GCM='rfc4106(gcm(aes))'

# udp_burst NS DST LEN PORT... : one datagram of LEN bytes per PORT
# argument, from one shell
udp_burst() {
	local ns=$1 dst=$2 len=$3
	shift 3
	# shellcheck disable=SC2016 # expanded by the inner shell
	nsenter --net="/run/netns/$ns" bash -c '
		dst=$1 len=$2; shift 2
		printf -v d "%0*d" "$len" 0
		for p in "$@"; do echo "$d" >"/dev/udp/$dst/$p"; done' _ "$dst" "$len" "$@" \
		2>/dev/null || true
}

# pol_hits: "DPORT SRC_LEN DST_LEN OUT_DISCARD" for every ka out policy
# that has a destination port
pol_hits() {
	"$KIPSEC" -n "$KA" -s -j policy list | jq -r '.[] | select(.dir == "out")
		| select(.sel.dport != null)
		| "\(.sel.dport) \(.sel.src_len) \(.sel.dst_len) \(.stats.out_discard)"'
}

hits_of() {	# PORT SRC_LEN DST_LEN
	awk -v p="$1" -v s="$2" -v d="$3" \
		'$1 == p && $2 == s && $3 == d { print $4 }' "$TOPO_TMP/hits"
}

# Overlapping block policies of several prefix shapes; each UDP port is one
# case and the policy that counted the drop is the one that matched.
t_policy_order() {
	local f i
	need_kipsec
	topo_up
	f=$TOPO_TMP/fill.batch
	# 3000 exact policies of other hosts, most preferred: never match
	for ((i = 0; i < 3000; i++)); do
		echo "policy add src 10.210.$((i >> 8)).$((i & 255))/32" \
			"dst 10.99.0.2/32 proto udp dport 6001 dir out priority 0" \
			"action block"
	done >"$f"
	# PORT: exact /32 vs wider, priority decides, then age
	cat >>"$f" <<-EOF
		policy add src $KA4/32 dst $XB4/32 proto udp dport 6001 dir out priority 10 action block
		policy add src 10.99.0.0/24 dst 10.99.0.0/24 proto udp dport 6001 dir out priority 5 action block
		policy add src $KA4/32 dst $XB4/32 proto udp dport 6002 dir out priority 5 action block
		policy add src 10.99.0.0/24 dst 10.99.0.0/24 proto udp dport 6002 dir out priority 10 action block
		policy add src $KA4/32 dst $XB4/32 proto udp dport 6003 dir out priority 7 action block
		policy add src 10.99.0.0/16 dst 0.0.0.0/0 proto udp dport 6003 dir out priority 7 action block
		policy add src 10.99.0.0/16 dst 0.0.0.0/0 proto udp dport 6004 dir out priority 7 action block
		policy add src $KA4/32 dst $XB4/32 proto udp dport 6004 dir out priority 7 action block
		policy add src $KA6/128 dst $XB6/128 proto udp dport 6005 dir out priority 9 action block
		policy add src fd99::/64 dst fd99::/64 proto udp dport 6005 dir out priority 3 action block
	EOF
	"$KIPSEC" -n "$KA" -batch "$f" || fail "kipsec -batch of the policies failed"
	# the duplicate check finds the policy among thousands
	if "$KIPSEC" -n "$KA" policy add src 10.210.11.7/32 dst 10.99.0.2/32 \
		proto udp dport 6001 dir out priority 0 action block 2>/dev/null; then
		fail "a duplicate policy was accepted"
	fi
	"$KIPSEC" -n "$KA" policy update src 10.210.11.7/32 dst 10.99.0.2/32 \
		proto udp dport 6001 dir out priority 1 action block ||
		fail "policy update failed"

	udp_burst "$KA" "$XB4" 1 6001 6002 6003 6004
	udp_burst "$KA" "$XB6" 1 6005
	pol_hits >"$TOPO_TMP/hits"
	expect_eq "6001: /24 prio 5 over /32 prio 10" "$(hits_of 6001 24 24)" 1
	expect_eq "6001: /32 prio 10 loses" "$(hits_of 6001 32 32 | sort -n | tail -n 1)" 0
	expect_eq "6002: /32 prio 5 over /24 prio 10" "$(hits_of 6002 32 32)" 1
	expect_eq "6002: /24 prio 10 loses" "$(hits_of 6002 24 24)" 0
	expect_eq "6003: equal priority, the older /32 wins" "$(hits_of 6003 32 32)" 1
	expect_eq "6003: the newer /16 loses" "$(hits_of 6003 16 0)" 0
	expect_eq "6004: equal priority, the older /16 wins" "$(hits_of 6004 16 0)" 1
	expect_eq "6004: the newer /32 loses" "$(hits_of 6004 32 32)" 0
	expect_eq "6005: /64 prio 3 over /128 prio 9" "$(hits_of 6005 64 64)" 1

	# delete winners: the next policy in order takes over
	printf '%s\n' \
		"policy delete src 10.99.0.0/24 dst 10.99.0.0/24 proto udp dport 6001 dir out" \
		"policy delete src $KA4/32 dst $XB4/32 proto udp dport 6003 dir out" \
		>"$f"
	"$KIPSEC" -n "$KA" -batch "$f" || fail "policy delete failed"
	udp_burst "$KA" "$XB4" 1 6001 6003
	pol_hits >"$TOPO_TMP/hits"
	expect_eq "6001 after delete: the /32" "$(hits_of 6001 32 32 | sort -n | tail -n 1)" 1
	expect_eq "6003 after delete: the /16" "$(hits_of 6003 16 0)" 1
	expect_eq "out_discard" "$(ka_stat out_discard)" 7
}
ktest policy_lookup_order t_policy_order 60

# The cached outbound SA follows the SAD (tunnel template with endpoints:
# cacheable).  Two pings per step; the ka SA counters tell which SA
# carried them.
t_sa_cache() {
	local spi3=0x00001003 d0
	need_kipsec
	topo_up
	sa_pair tunnel 4 4 "$GCM" 128 128
	pol_pair tunnel 4 4
	cfg_apply
	ping_ok "$KA" "$KAI4" "$XBI4" 2
	snap
	expect_eq "KX carries the first pings" "$(snap_get ka $SPI_KX packets)" 2

	# a newer SA for the same template takes over at once
	cfg both state add src "$KA4" dst "$XB4" proto esp spi $spi3 \
		reqid "$REQ_KX" mode tunnel "$(alg_args "$GCM" 128 128 3)"
	cfg_apply
	ping_ok "$KA" "$KAI4" "$XBI4" 2
	snap
	expect_eq "the newer SA carries the pings" "$(snap_get ka $spi3 packets)" 2
	expect_eq "the older SA is left" "$(snap_get ka $SPI_KX packets)" 2

	# deleted: back to the older one, nothing dropped
	cfg ka state delete src "$KA4" dst "$XB4" proto esp spi $spi3
	cfg_apply
	ping_ok "$KA" "$KAI4" "$XBI4" 2
	snap
	expect_eq "after delete, the older SA again" "$(snap_get ka $SPI_KX packets)" 4

	# replaced (same key: a new SA object that goes on with the counters)
	cfg ka state update src "$KA4" dst "$XB4" proto esp spi "$SPI_KX" \
		reqid "$REQ_KX" mode tunnel "$(alg_args "$GCM" 128 128 1)"
	cfg_apply
	ping_ok "$KA" "$KAI4" "$XBI4" 2
	snap
	expect_eq "the replacing SA carries the pings" "$(snap_get ka $SPI_KX packets)" 6

	# no SA: dropped, never sent with a stale cached SA
	d0=$(ka_stat out_no_sa)
	cfg ka state delete src "$KA4" dst "$XB4" proto esp spi "$SPI_KX"
	cfg_apply
	ping_fails "$KA" "$KAI4" "$XBI4"
	expect_ge "out_no_sa after the delete" "$(($(ka_stat out_no_sa) - d0))" 1
}
ktest sa_cache_follows_sad t_sa_cache 60

# One SA's packets go out in order although its crypto runs on every CPU:
# xb's SA has replay-window 1, so a packet overtaken by a later one is a
# window drop there (xfrm ignores the window at 0).  The ICMP errors xb
# returns come back through kipsec's parallel decryption, also window 1.
t_parallel_order() {
	local n=400 ports got
	need_kipsec
	[ "$(nproc)" -ge 2 ] || skip "one CPU: nothing runs in parallel"
	[ "$(cat /sys/module/kipsec/parameters/parallel 2>/dev/null)" = Y ] ||
		skip "kipsec parameter parallel is off"
	topo_up
	sa_pair tunnel 4 4 "$GCM" 128 128 replay-window 1
	pol_pair tunnel 4 4
	cfg_apply
	ports=$(seq 7001 $((7000 + n)))
	# 600 bytes: above esp.c's ESP_PAR_MIN_LEN, so spread over the CPUs
	# shellcheck disable=SC2086
	udp_burst "$KA" "$XBI4" 600 $ports
	snap
	got=$(snap_get xb $SPI_KX packets)
	expect_eq "xfrm replay drops (reordered packets)" "$(snap_get xb $SPI_KX replay)" 0
	expect_eq "xfrm window drops" "$(snap_get xb $SPI_KX window)" 0
	expect_eq "packets received by xfrm" "$got" "$n"
	expect_eq "xfrm input errors" "$(xfrm_in_errors "$XB")" ""
	expect_eq "kipsec window drops" "$(snap_get ka $SPI_XK window)" 0
	expect_eq "kipsec replay drops" "$(snap_get ka $SPI_XK replay)" 0
}
ktest parallel_crypto_in_order t_parallel_order 60
