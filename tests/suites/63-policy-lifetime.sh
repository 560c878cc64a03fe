# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Policy lifetimes (`policy add ... limit ...`), policy expire events,
# `index` and `ptype`.  Where xfrm has the behaviour, the same command
# lines run against `ip xfrm` in netns xb of the same guest and the
# results are compared: kipsec in netns ka (tests/lib/topo.sh).
#
# As xfrm_policy_timer(): only the time limits of a policy are enforced;
# time-use-* count from the policy's last use (its creation when unused);
# a hard limit deletes the policy and sends one expire event (hard), no
# delete event.
#
# Events are read from `kipsec monitor -j` and `ip xfrm monitor` writing
# to files; each monitor has joined its group once it reports a dummy
# policy that the test adds and deletes (pl_mon_start).

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

PL_KJ=$TOPO_TMP/kipsec.json	# kipsec monitor -j
PL_KT=$TOPO_TMP/kipsec.txt	# kipsec monitor
PL_XT=$TOPO_TMP/xfrm.txt	# ip xfrm monitor
PL_PIDS=()
PL_DUMMY="src 10.77.77.77 dst 10.77.77.78 dir fwd"

pl_need() {
	[ "$KA_TOOL" = kipsec ] || skip "kipsec only: compares kipsec with xfrm"
	need_kipsec
	command -v jq >/dev/null || skip "no jq"
}

# pl_bg FILE CMD...: CMD in the background, its output in FILE
pl_bg() {
	local f=$1
	shift
	"$@" >"$f" 2>"$f.err" &
	PL_PIDS+=($!)
	trap 'kill "${PL_PIDS[@]}" 2>/dev/null || true' EXIT
}

# pl_mon_start: both kipsec monitors in ka, ip xfrm monitor in xb, each
# seen to report a dummy policy (bounded)
pl_mon_start() {
	mkdir -p "$TOPO_TMP"
	pl_bg "$PL_KJ" in_netns "$KA" "$KIPSEC" monitor -j
	pl_bg "$PL_KT" in_netns "$KA" "$KIPSEC" monitor
	pl_bg "$PL_XT" in_netns "$XB" ip xfrm monitor
	local i
	for ((i = 0; i < 40; i++)); do
		printf '%s\n' "policy add $PL_DUMMY" "policy delete $PL_DUMMY" |
			"$KIPSEC" -n "$KA" -batch - >/dev/null
		printf 'xfrm %s\n' "policy add $PL_DUMMY" \
			"policy delete $PL_DUMMY" | ip -n "$XB" -batch -
		grep -q '10.77.77.78' "$PL_KJ" && grep -q '10.77.77.78' "$PL_KT" &&
			grep -q '10.77.77.78' "$PL_XT" && return 0
		sleep 0.2
	done
	fail "a monitor never reported the dummy policy: $(cat "$TOPO_TMP"/*.err)"
}

# pl_events DST: the kipsec events of the policy to DST, in order, one
# word each (an expiry is expire_policy_soft or expire_policy_hard)
pl_events() {
	jq -r --arg d "$1" 'select(.sel.dst == $d) |
		.event + (if .event == "expire_policy" then
			(if .hard then "_hard" else "_soft" end) else "" end)' \
		"$PL_KJ" | tr '\n' ' ' | sed 's/ $//'
}

# pl_wait_gone DST...: until neither kipsec (ka) nor xfrm (xb) lists a
# policy to DST (bounded: 30 s)
pl_wait_gone() {
	local d left end=$((SECONDS + 30))
	while ((SECONDS < end)); do
		left=
		for d in "$@"; do
			"$KIPSEC" -n "$KA" policy list dst "$d" | grep -q . &&
				left+=" kipsec:$d"
			ip -n "$XB" xfrm policy list dst "$d" | grep -q . &&
				left+=" xfrm:$d"
		done
		[ -z "$left" ] && return 0
		sleep 0.2
	done
	fail "policies still listed:$left"
}

# Each time limit fires, on kipsec as on xfrm: a soft limit sends an event
# (the policy stays), a hard limit deletes the policy with an event and no
# delete event; an unused policy's use-time counts from its creation.  The
# kipsec text monitor prints the expiry as ip xfrm monitor does.
t_pl_time_limits() {
	pl_need
	ip -batch - <<-EOF
		netns add $KA
		netns add $XB
	EOF
	pl_mon_start
	local p1="src 10.0.1.1 dst 10.0.2.1 dir out"
	local p2="src 10.0.1.2 dst 10.0.2.2 dir out"
	local p3="src 10.0.1.3 dst 10.0.2.3 dir in"
	local p4="src 10.0.1.4 dst 10.0.2.4 dir out"
	cfg both policy add "$p1" limit time-soft 1 limit time-hard 3
	cfg both policy add "$p2" limit time-hard 1
	cfg both policy add "$p3" limit time-use-hard 2
	cfg both policy add "$p4" limit time-soft 600 limit time-hard 900 \
		limit time-use-soft 300 limit byte-hard 1 limit packet-soft 2
	cfg_apply
	pl_wait_gone 10.0.2.1 10.0.2.2 10.0.2.3
	local e
	e=$(pl_events 10.0.2.1)
	[ "$e" = "add_policy expire_policy_soft expire_policy_hard" ] ||
		fail "10.0.2.1 (time-soft, time-hard): $e"
	e=$(pl_events 10.0.2.2)
	[ "$e" = "add_policy expire_policy_hard" ] || fail "10.0.2.2 (time-hard): $e"
	e=$(pl_events 10.0.2.3)
	[ "$e" = "add_policy expire_policy_hard" ] ||
		fail "10.0.2.3 (time-use-hard, unused): $e"
	# xfrm said the same: one soft, three hard expiries
	local n
	n=$(grep -c 'hard 1' "$PL_XT" || true)
	expect_eq "xfrm hard expiries" "$n" 3
	n=$(grep -c 'hard 0' "$PL_XT" || true)
	expect_eq "xfrm soft expiries" "$n" 1
	n=$(grep -c 'hard 1' "$PL_KT" || true)
	expect_eq "kipsec (text) hard expiries" "$n" 3
	# the text of one expiry, as ip's (kipsec prints no "ptype main")
	local k x
	k=$(sed -n '/^Expired src 10.0.1.2/,/hard/p' "$PL_KT")
	x=$(sed -n '/^Expired src 10.0.1.2/,/hard/p' "$PL_XT" |
		sed 's/ptype main //')
	{ [ -n "$k" ] && [ "$k" = "$x" ]; } ||
		fail "monitor text differs from ip xfrm monitor:
kipsec: $k
xfrm:   $x"
	# the long-lived one: its limits as ip -s prints them, all kept
	k=$("$KIPSEC" -n "$KA" -s policy list dst 10.0.2.4 |
		sed -n '/lifetime config/,/expire use/p')
	x=$(ip -n "$XB" -s xfrm policy list dst 10.0.2.4 |
		sed -n '/lifetime config/,/expire use/p')
	{ [ -n "$k" ] && [ "$k" = "$x" ]; } ||
		fail "-s lifetime config differs from ip's:
kipsec: $k
xfrm:   $x"
	"$KIPSEC" -n "$KA" -s policy list dst 10.0.2.4 |
		grep -q "add [0-9-]* [0-9:]* use -" ||
		fail "no add/use times in -s: $("$KIPSEC" -n "$KA" -s policy list)"
	k=$("$KIPSEC" -n "$KA" -j policy list dst 10.0.2.4 | jq -c '.[0] |
		[.lifetime["time-soft"], .lifetime["time-hard"],
		 .lifetime["time-use-soft"], .lifetime["byte-hard"],
		 .lifetime["packet-soft"], .lifetime["time-use-hard"],
		 (.lifetime_current.add_time > 0), .lifetime_current.use_time]')
	[ "$k" = "[600,900,300,1,2,0,true,0]" ] || fail "-j lifetime: $k"
}
ktest time_limits_expire_like_xfrm t_pl_time_limits 90

# time-use-* count from the last use: a policy in use outlives its
# time-use-hard, then expires once traffic stops; byte and packet limits
# are not enforced on policies (as xfrm).  kipsec's out policy (ka) and
# xfrm's in policy (xb) both see the same echo requests.
t_pl_use_time() {
	pl_need
	topo_up
	pl_mon_start
	# 30 requests over 14.5 s or more, never 4 s apart, from before the
	# policies exist (a policy never used counts from its add)
	pl_bg "$TOPO_TMP/ping" in_netns "$KA" timeout 50 busybox ping -c 30 \
		-i 0.5 -W 2 -w 45 -I "$KA4" "$XB4"
	local ping=${PL_PIDS[-1]}
	local lim="limit time-use-hard 4 limit byte-hard 1 limit packet-hard 1"
	cfg ka policy add src "$KA4" dst "$XB4" dir out "$lim"
	cfg xb policy add src "$KA4" dst "$XB4" dir in "$lim"
	cfg_apply
	local add use
	add=$("$KIPSEC" -n "$KA" -j policy list dst "$XB4" |
		jq '.[0].lifetime_current.add_time')
	# checked while the requests flow, past the add + time-use-hard
	while (($(date +%s) < add + 7)); do sleep 0.5; done
	"$KIPSEC" -n "$KA" policy list dst "$XB4" | grep -q . ||
		fail "kipsec: the policy in use expired: $(pl_events "$XB4")"
	ip -n "$XB" xfrm policy list dst "$XB4" | grep -q . ||
		fail "xfrm: the policy in use expired"
	use=$("$KIPSEC" -n "$KA" -j policy list dst "$XB4" |
		jq '.[0].lifetime_current | .use_time - .add_time')
	[ "$use" -ge 5 ] || fail "use time not the last use: add + $use s"
	kill -0 "$ping" 2>/dev/null || log "the pings ended before the checks"
	wait "$ping" || true
	local got
	got=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' "$TOPO_TMP/ping")
	expect_eq "echo replies (byte/packet limits not enforced)" \
		"${got:-0}" 30
	pl_wait_gone "$XB4"
	[ "$(pl_events "$XB4")" = "add_policy expire_policy_hard" ] ||
		fail "events: $(pl_events "$XB4")"
}
ktest use_time_counts_from_last_use t_pl_use_time 90

# index on add, get and delete by index, as xfrm: the index asked for
# when free and of the right direction, another one when taken, kept by
# update; a wrong direction is refused.
t_pl_index() {
	pl_need
	ip -batch - <<-EOF
		netns add $KA
		netns add $XB
	EOF
	mkdir -p "$TOPO_TMP"
	local s1="src 10.0.3.1 dst 10.0.4.1" s2="src 10.0.3.2 dst 10.0.4.2"
	cfg both policy add "$s1" dir out index 17 priority 5
	cfg both policy add "$s2" dir out index 17
	cfg both policy update "$s1" dir out index 25 priority 6
	cfg_apply
	local k x
	k=$("$KIPSEC" -n "$KA" -s policy list | grep -o 'index [0-9]* priority [0-9]*' |
		tr '\n' ' ')
	x=$(ip -n "$XB" -s xfrm policy list | grep -o 'index [0-9]* priority [0-9]*' |
		tr '\n' ' ')
	log "kipsec: $k"
	log "xfrm:   $x"
	echo "$k" | grep -q "index 17 priority 6" ||
		fail "index 17 not kept by update: $k"
	{ [ "$(echo "$k" | grep -o 'index' | wc -l)" = 2 ] &&
		[ "$(echo "$k" | grep -o 'index 17 ' | wc -l)" = 1 ]; } ||
		fail "a taken index was given twice: $k"
	[ "$(echo "$x" | grep -o 'index 17 ' | wc -l)" = 1 ] ||
		fail "xfrm differs: $x"
	# by index: get, wrong direction, delete, delete again
	k=$("$KIPSEC" -n "$KA" -j policy get index 17 dir out | jq -r 'if type == "array" then .[0] else . end | .sel.dst')
	[ "$k" = 10.0.4.1 ] || fail "get index 17: $k"
	local rc=0
	"$KIPSEC" -n "$KA" policy get index 17 dir in 2>/dev/null || rc=$?
	expect_eq "get index 17 dir in (exit)" "$rc" 2
	"$KIPSEC" -n "$KA" policy delete index 17 dir out
	ip -n "$XB" xfrm policy delete index 17 dir out
	rc=0
	"$KIPSEC" -n "$KA" policy delete index 17 dir out 2>/dev/null || rc=$?
	expect_eq "second delete index 17 (exit)" "$rc" 2
	"$KIPSEC" -n "$KA" policy list dst 10.0.4.1 | grep -q . &&
		fail "deleted by index, still listed"
	# index 8 is a dir-in index: both refuse it for dir out
	local ko xo
	ko=$("$KIPSEC" -n "$KA" policy add src 10.0.3.3 dst 10.0.4.3 \
		dir out index 8 2>&1) && fail "kipsec accepted index 8 dir out"
	xo=$(ip -n "$XB" xfrm policy add src 10.0.3.3 dst 10.0.4.3 \
		dir out index 8 2>&1) && fail "xfrm accepted index 8 dir out"
	grep -q "index does not match direction" <<<"$ko" ||
		fail "kipsec message: $ko"
	log "xfrm says: $xo"
}
ktest index_on_add_get_delete t_pl_index 60

# ptype: main is accepted everywhere ip takes it; sub is refused by the
# module with a clear message (kipsec has no sub SPD); bad input is
# refused with ip's messages and changes nothing.
t_pl_ptype_and_bad_input() {
	pl_need
	ip netns add "$KA"
	local k=("$KIPSEC" -n "$KA") s="src 10.0.5.1 dst 10.0.6.1"
	printf '%s\n' "policy add $s dir out ptype main" \
		"policy get $s dir out ptype main" \
		"policy update $s dir out ptype main priority 3" |
		"${k[@]}" -batch - >/dev/null || fail "ptype main refused"
	[ "$("${k[@]}" -j policy list ptype main | jq length)" = 1 ] ||
		fail "list ptype main: $("${k[@]}" policy list ptype main)"
	[ "$("${k[@]}" -j policy list ptype sub | jq length)" = 0 ] ||
		fail "list ptype sub shows main policies"
	local cmd out rc
	for cmd in "policy add src 10.0.5.2 dst 10.0.6.2 dir out ptype sub" \
		"policy update $s dir out ptype sub" \
		"policy get $s dir out ptype sub" \
		"policy delete $s dir out ptype sub" \
		"policy flush ptype sub"; do
		rc=0
		# shellcheck disable=SC2086
		out=$("${k[@]}" $cmd 2>&1) || rc=$?
		{ [ "$rc" = 2 ] &&
			grep -q "sub policies (ptype sub) are not supported" <<<"$out"; } ||
			fail "'$cmd': rc $rc: $out"
	done
	for cmd in "ptype foo|PTYPE value is invalid" \
		"limit time-hard x|value after" \
		"limit frob 1|LIMIT value is invalid" \
		"limit|limit" \
		"ptype main ptype main|duplicate"; do
		rc=0
		# shellcheck disable=SC2086
		out=$("${k[@]}" policy add src 10.0.5.3 dst 10.0.6.3 dir out \
			${cmd%%|*} 2>&1) || rc=$?
		{ [ "$rc" = 1 ] && grep -qi -- "${cmd#*|}" <<<"$out"; } ||
			fail "'${cmd%%|*}': rc $rc: $out"
	done
	rc=0
	# shellcheck disable=SC2086
	out=$("${k[@]}" policy get $s dir out limit time-hard 1 2>&1) || rc=$?
	[ "$rc" = 1 ] || fail "limit on get accepted: $out"
	[ "$("${k[@]}" -j policy list | jq length)" = 1 ] ||
		fail "refused requests changed the SPD: $("${k[@]}" policy list)"
	"${k[@]}" policy flush ptype main
	[ "$("${k[@]}" -j policy list | jq length)" = 0 ] ||
		fail "flush ptype main left policies"
}
ktest ptype_and_bad_input t_pl_ptype_and_bad_input 60

# Policy timers die with their policies: pending ones in a netns that is
# deleted and in the netns left when the module is removed, while one
# has already fired (soft).  A timer left behind would run after its
# policy (or the module) is gone: the runner fails the test on the
# kernel's warning or oops.
t_pl_teardown() {
	pl_need
	ip netns add "$KA"
	local lim="limit time-soft 1 limit time-hard 3"
	# shellcheck disable=SC2086
	"$KIPSEC" -n "$KA" policy add src 10.0.7.1 dst 10.0.8.1 dir out $lim
	# shellcheck disable=SC2086
	"$KIPSEC" policy add src 10.0.7.2 dst 10.0.8.2 dir out $lim
	"$KIPSEC" policy add src 10.0.7.3 dst 10.0.8.3 dir in \
		limit time-use-soft 1 limit time-use-hard 60
	sleep 1.5	# the soft limits fired, the timers are armed again
	ip netns del "$KA"
	rmmod kipsec
	insmod "$KIPSEC_KO"
	sleep 3		# past where the hard limits would have fired
	[ "$("$KIPSEC" -j policy list | jq length)" = 0 ] ||
		fail "policies survived the module"
}
ktest timers_die_with_netns_and_module t_pl_teardown 60
