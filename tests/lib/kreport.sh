# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# What counts as a kernel report, for the console watch of run-vm.sh and
# the per-test dmesg check of ktest.sh.  One extended regex, so that both
# see the same forms:
#   BUG: / BUG <cache> (SLUB, no colon), kernel BUG, Oops, general
#   protection, WARNING:, refcount_t, KASAN, KFENCE, UBSAN:, kmemleak's
#   "unreferenced object", hung tasks ("INFO: task ... blocked"), RCU
#   stalls ("rcu: INFO", "self-detected stall"), "page allocation
#   failure", lockdep ("possible ... locking dependency", "possible
#   recursive locking", "inconsistent lock state", "suspicious RCU
#   usage") and atomic sleeps.
KREPORT_RE='\bBUG[: ]|WARNING:|Oops|general protection|KASAN|KFENCE|UBSAN:'
KREPORT_RE+='|refcount_t|unreferenced object|INFO: task .* blocked'
KREPORT_RE+='|rcu: INFO|self-detected stall|detected stalls'
KREPORT_RE+='|page allocation failure|locking dependency|recursive locking'
KREPORT_RE+='|inconsistent lock state|suspicious RCU usage'
KREPORT_RE+='|sleeping function called from invalid context'

# kreport_kmemleak: on a kernel with kmemleak, scan now and copy what it
# found to the kernel log (and so to the console watch); silent otherwise
kreport_kmemleak() {
	local f=/sys/kernel/debug/kmemleak
	[ -e "$f" ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	[ -w "$f" ] || return 0
	# an object is reported once it has looked unreferenced for two scans
	echo scan >"$f" 2>/dev/null
	echo scan >"$f" 2>/dev/null
	grep -a '' "$f" | sed 's/^/kmemleak: /' >/dev/kmsg 2>/dev/null
	echo clear >"$f" 2>/dev/null
}
