#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every suite, in two guests at once, then the two-guest pair test
# (tests/pair.sh) as soon as one of them is done: what `make check` does
# in one guest, measured here before `make check` moves to it.
#
# Under TCG a guest running the suites keeps about one host core busy:
# most tests wait on a python start, a handshake or a poll.  Two guests,
# each booted once and each given whole suites, use the machine's two
# cores and take about half the time of one.  The suites are dealt out
# longest first by the weights below (seconds measured here; a suite not
# listed counts SUITE_DEFAULT), so both guests finish close together.
#
# Usage: tests/check.sh [FILTER]   FILTER as for tests/run-vm.sh check;
#                                  with it, one guest and no pair test
# Environment: KIPSEC_CHECK_SHARDS (default 2; 1 runs one guest),
# KIPSEC_CHECK_PAIR=0 leaves out the pair test.
set -u

REPO=$(cd "$(dirname "$0")/.." && pwd)
FILTER=${1:-}
SHARDS=${KIPSEC_CHECK_SHARDS:-2}
PAIR=${KIPSEC_CHECK_PAIR:-1}
SUITE_DEFAULT=30

# suite weights, in seconds of a guest's run on a 2-core TCG machine with
# the other guest running (50-vectors: less its per-result cleanup)
declare -A WEIGHT=(
	[01-module]=72 [10-netlink]=75 [11-nlfuzz]=13 [12-privilege]=29
	[15-update]=37 [20-cli]=112 [30-datapath]=191 [32-hooks]=75
	[35-teardown]=90 [36-drops]=66 [40-interop]=223 [41-algs]=65
	[42-ah]=31 [43-tos]=103 [44-icmp]=120 [45-spd]=148 [46-esn-scale]=41
	[47-perf-paths]=49 [50-vectors]=300 [55-pmtu]=239 [56-natt]=185
	[57-espintcp]=51 [58-tfc]=26 [60-lifecycle]=37 [61-acquire]=72
	[62-rekey]=76 [63-policy-lifetime]=45 [70-xfrm-netlink]=14
	[72-ike-bypass]=29 [73-strongswan]=196 [74-libreswan]=36
)

# deal SHARDS: print one regex per shard, suites longest first, each to
# the shard with the least weight so far
deal() {
	local -a load=() pat=()
	local s w i best
	for ((i = 0; i < SHARDS; i++)); do load[i]=0; pat[i]=; done
	while read -r w s; do
		best=0
		for ((i = 1; i < SHARDS; i++)); do
			[ "${load[i]}" -lt "${load[best]}" ] && best=$i
		done
		load[best]=$((load[best] + w))
		pat[best]+="${pat[best]:+|}$s"
	done < <(for f in "$REPO"/tests/suites/*.sh; do
			s=$(basename "$f" .sh)
			echo "${WEIGHT[$s]:-$SUITE_DEFAULT} $s"
		done | sort -rn)
	for ((i = 0; i < SHARDS; i++)); do
		[ -n "${pat[i]}" ] && echo "^(${pat[i]}):"
	done
}

OUT=$(mktemp -d)
PIDS=()
cleanup() {
	# the runners, not the prefixing pipelines: their own traps stop
	# their guests
	cat "$OUT"/*.pid 2>/dev/null | xargs -r kill 2>/dev/null
	rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run NAME CMD...: CMD's output, prefixed with [NAME], streamed and kept
# in $OUT/NAME.log; its status in $OUT/NAME.rc
run() {
	local name=$1
	shift
	{
		"$@" 2>&1 &
		echo $! > "$OUT/$name.pid"
		wait $!
		echo $? > "$OUT/$name.rc"
	} | tee "$OUT/$name.log" | sed -u "s/^/[$name] /" &
	PIDS+=($!)
}

# a FILTER selects tests across suites: one guest runs it
if [ -n "$FILTER" ]; then
	REGEX=("$FILTER")
else
	mapfile -t REGEX < <(deal)
fi
t0=$SECONDS
n=0
for re in "${REGEX[@]}"; do
	n=$((n + 1))
	echo "# check: guest s$n runs $re"
	run "s$n" "$REPO/tests/run-vm.sh" check "$re"
done
if [ "$PAIR" = 1 ] && [ -z "$FILTER" ]; then
	# the pair's two guests start when a suite guest is done
	wait -n "${PIDS[@]}"
	run pair "$REPO/tests/run-vm.sh" pair
fi
wait "${PIDS[@]}"
PIDS=()

rc=0
echo "# check: results after $((SECONDS - t0)) s"
for f in "$OUT"/*.log; do
	name=$(basename "$f" .log)
	status=$(cat "$OUT/$name.rc" 2>/dev/null || echo 1)
	summary=$(grep -E '^[0-9]+ passed, ' "$f" | tail -n 1)
	[ -n "$summary" ] || summary="$(grep -c '^ok ' "$f") ok, $(grep -c '^not ok ' "$f") not ok"
	echo "# $name: $summary (exit $status)"
	grep '^not ok ' "$f" | sed "s/^/#   $name: /"
	[ "$status" = 0 ] || rc=1
done
[ $rc = 0 ] && echo "# check: PASS" || echo "# check: FAIL"
exit $rc
