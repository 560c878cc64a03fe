#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The KTAP test runner, run inside the guest by tests/guest/stage2.sh.
#
# Every tests/suites/*.sh is sourced in turn; it defines test functions
# and registers them, in order, with
#
#	ktest NAME FUNCTION [TIMEOUT-SECONDS]
#
# Each test then runs in its own bash, with `set -eu -o pipefail`, the
# suite and this file sourced, bounded by its timeout (default 240 s).
# It passes by returning 0.  Inside a test:
#
#	skip "reason"	a missing prerequisite: KTAP SKIP, never a pass
#
# A test known to be a SKIP when it is registered (a feature not built yet)
# is registered with `ktest_skip NAME REASON` and costs nothing to report.
#	log "text"	a diagnostic line, shown after the result
#	fail "text"	fail now with a reason
#
# After each test the runner removes every netns, flushes xfrm and kipsec
# configuration, reloads kipsec.ko if the test left it unloaded, and fails
# the test if the kernel log gained a report meanwhile (tests/lib/kreport.sh).
# A kernel with kmemleak is scanned after the last test.
#
# Usage: ktest.sh [FILTER]   FILTER: extended regex on "suite:test"

KTEST_LIB=${BASH_SOURCE[0]}
# shellcheck source=tests/lib/kreport.sh
source "$(dirname "$KTEST_LIB")/kreport.sh"
KTEST_BAD=$KREPORT_RE

skip() {
	echo "$*" > "${KTEST_SKIP_FILE:-/dev/null}"
	exit 4
}

log() {
	echo "KTEST-LOG: $*"
}

fail() {
	echo "FAIL: $*"
	exit 1
}

# in_netns NS CMD...: run CMD in network namespace NS.  Half the cost of
# `ip netns exec` in the guest (no /sys remount, no /etc/netns binds, one
# small binary): use `ip netns exec` only when those are needed.
in_netns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

ktest() {
	[ -n "${KTEST_RUNNING:-}" ] && return 0
	KTEST_NAMES+=("$KTEST_SUITE:$1")
	KTEST_FUNCS+=("$2")
	KTEST_FILES+=("$KTEST_SUITE_FILE")
	KTEST_TMO+=("${3:-240}")
	KTEST_SKIPS+=("")
	KTEST_LIGHT+=("")
}

# ktest_light NAME FUNCTION [TIMEOUT]: a test that only reports what an
# earlier test of its suite left (configuring nothing itself when that
# result is there); after it the runner removes any netns but flushes no
# configuration, which saves the ip and kipsec processes (about a second
# under TCG) for each of 50-vectors' sixty results.
ktest_light() {
	[ -n "${KTEST_RUNNING:-}" ] && return 0
	ktest "$@"
	KTEST_LIGHT[${#KTEST_LIGHT[@]} - 1]=1
}

# ktest_skip NAME REASON: a test known at registration to be a SKIP (a
# missing feature or prerequisite); reported without starting a process.
ktest_skip() {
	[ -n "${KTEST_RUNNING:-}" ] && return 0
	ktest "$1" true
	KTEST_SKIPS[${#KTEST_SKIPS[@]} - 1]=$2
}

# Few processes: under TCG every fork+exec costs tens of milliseconds.
ktest_cleanup() {
	local ns
	for ns in /run/netns/*; do
		[ -e "$ns" ] && { ip -all netns delete 2>/dev/null; break; }
	done
	printf 'xfrm state flush\nxfrm policy flush\n' | ip -batch - 2>/dev/null
	# a test killed by its timeout may not finish its EXIT trap (bash
	# runs it on the timeout's SIGTERM, but the SIGKILL 5 s later cuts it
	# short): undo what tests change in the kernel's global settings here
	[ -n "${KTEST_MODPROBE:-}" ] && echo "$KTEST_MODPROBE" >/proc/sys/kernel/modprobe
	# and the module configuration tests drop (kipsec-test-*.conf)
	rm -f /etc/modprobe.d/kipsec-test-*.conf
	# the suites that load kipsec as the XFRM personality (xfrm_netlink=1)
	# unload xfrm_user: plain kipsec and xfrm_user come back.  Their
	# daemons (charon) are in the test's process group, which the timeout
	# kills as a whole.
	if [ "$(cat /sys/module/kipsec/parameters/xfrm_netlink 2>/dev/null)" = Y ]; then
		rmmod kipsec 2>/dev/null
	fi
	if [ -n "${KTEST_XFRM_USER:-}" ] && ! grep -q '^xfrm_user ' /proc/modules; then
		modprobe -q xfrm_user
	fi
	if ! grep -q '^kipsec ' /proc/modules; then
		insmod "$KIPSEC_KO" 2>/dev/null
	fi
	if [ -x "$KIPSEC" ]; then
		printf 'state flush\npolicy flush\n' | "$KIPSEC" -batch - >/dev/null 2>&1
	fi
}

ktest_main() {
	local filter=$1 f i n name rc log skipf reason total
	local pass=0 failn=0 skipn=0

	KTEST_NAMES=() KTEST_FUNCS=() KTEST_FILES=() KTEST_TMO=() KTEST_SKIPS=()
	KTEST_LIGHT=()
	for f in "$REPO"/tests/suites/*.sh; do
		KTEST_SUITE=$(basename "$f" .sh)
		KTEST_SUITE_FILE=$f
		# shellcheck disable=SC1090
		source "$f"
	done

	local sel=()
	for i in "${!KTEST_NAMES[@]}"; do
		if [ -z "$filter" ] || [[ ${KTEST_NAMES[$i]} =~ $filter ]]; then
			sel+=("$i")
		fi
	done
	total=${#sel[@]}
	KTEST_MODPROBE=$(cat /proc/sys/kernel/modprobe)
	KTEST_XFRM_USER=
	grep -q '^xfrm_user ' /proc/modules && KTEST_XFRM_USER=1
	dmesg -c >/dev/null
	echo "TAP version 13"
	echo "1..$total"
	n=0
	for i in "${sel[@]}"; do
		n=$((n + 1))
		name=${KTEST_NAMES[$i]}
		if [ -n "${KTEST_SKIPS[$i]}" ]; then
			echo "ok $n $name # SKIP ${KTEST_SKIPS[$i]}"
			skipn=$((skipn + 1))
			continue
		fi
		log=/tmp/ktest.$n.log
		skipf=/tmp/ktest.$n.skip
		rm -f "$skipf"
		local t0=$SECONDS
		KTEST_RUNNING=1 KTEST_SKIP_FILE=$skipf timeout -k 5 "${KTEST_TMO[$i]}" \
			bash -c 'set -eu -o pipefail; source "$1"; source "$2"; "$3"' \
			ktest "$KTEST_LIB" "${KTEST_FILES[$i]}" "${KTEST_FUNCS[$i]}" \
			>"$log" 2>&1 </dev/null &
		local tpid=$!
		wait "$tpid"
		rc=$?
		# timeout leads its own process group: whatever the test left
		# running (a monitor behind a shell function survives the kill
		# of the function's subshell) would hold netlink sockets, and
		# xfrm_user or kipsec could not be unloaded by later tests
		if kill -KILL -- "-$tpid" 2>/dev/null; then
			local w
			for ((w = 0; w < 50; w++)); do
				kill -0 -- "-$tpid" 2>/dev/null || break
				sleep 0.1
			done
		fi
		[ $rc = 124 ] || [ $rc = 137 ] && echo "FAIL: timed out after ${KTEST_TMO[$i]}s" >>"$log"
		if [ -n "${KTEST_LIGHT[$i]}" ] && [ $rc = 0 ]; then
			for f in /run/netns/*; do
				[ -e "$f" ] && { ktest_cleanup; break; }
			done
		else
			ktest_cleanup
		fi
		# the kernel log since the previous test (each read clears it)
		dmesg -c >/tmp/ktest.dmesg 2>/dev/null
		if grep -E "$KTEST_BAD" /tmp/ktest.dmesg >/dev/null; then
			echo "FAIL: the kernel complained:" >>"$log"
			grep -E -A10 "$KTEST_BAD" /tmp/ktest.dmesg | head -n 40 >>"$log"
			rc=1
		fi
		if [ $rc = 0 ]; then
			echo "ok $n $name"
			pass=$((pass + 1))
		elif [ $rc = 4 ] && [ -s "$skipf" ]; then
			reason=$(head -n 1 "$skipf")
			echo "ok $n $name # SKIP $reason"
			skipn=$((skipn + 1))
		else
			echo "not ok $n $name"
			tail -n 40 "$log" | sed 's/^/# /'
			failn=$((failn + 1))
		fi
		grep '^KTEST-LOG: ' "$log" | sed 's/^KTEST-LOG: /# /'
		echo "# time: $((SECONDS - t0)) s"
	done
	kreport_kmemleak
	ktest_final_unload || failn=$((failn + 1))
	echo "$pass passed, $failn failed, $skipn skipped"
	[ $failn = 0 ]
}

# ktest_final_unload: unload kipsec after the last test; the module
# checks at unload that every SA and policy it allocated was freed, so a
# leak anywhere in the run is reported (and a module that cannot unload
# holds a reference it should not)
ktest_final_unload() {
	grep -q '^kipsec ' /proc/modules || return 0
	ip -all netns delete 2>/dev/null
	if ! rmmod kipsec 2>/tmp/ktest.rmmod; then
		echo "# FAIL: kipsec did not unload after the last test: $(cat /tmp/ktest.rmmod)"
		return 1
	fi
	dmesg -c >/tmp/ktest.dmesg 2>/dev/null
	grep -E "$KTEST_BAD" /tmp/ktest.dmesg >/dev/null || return 0
	echo "# FAIL: the kernel complained when kipsec unloaded:"
	grep -E -A10 "$KTEST_BAD" /tmp/ktest.dmesg | head -n 20 | sed 's/^/# /'
	return 1
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	ktest_main "${1:-}"
	exit $?
fi
