# SPDX-License-Identifier: GPL-2.0
# The module's life cycle: load, unload, per-netns state, no leaks.

slab_unreclaimable_kb() {
	awk '/^SUnreclaim:/ { print $2 }' /proc/meminfo
}

# Configure something in the init netns and in a second netns so that
# unloading has to tear SAs and policies down, when the CLI can.
configure_some() {
	[ -x "$KIPSEC" ] || return 0
	"$KIPSEC" state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x100 \
		mode tunnel aead 'rfc4106(gcm(aes))' \
		0x0102030405060708090a0b0c0d0e0f1011121314 128 2>/dev/null || true
	"$KIPSEC" policy add src 10.1.0.0/16 dst 10.2.0.0/16 dir out \
		tmpl src 10.0.0.1 dst 10.0.0.2 proto esp mode tunnel 2>/dev/null || true
}

t_insmod_rmmod_50() {
	local i before after n
	ip netns add m1
	rmmod kipsec
	before=$(slab_unreclaimable_kb)
	for i in $(seq 1 50); do
		insmod "$KIPSEC_KO"
		# every fifth cycle unloads with SAs and policies in two netns
		if [ $((i % 5)) = 0 ]; then
			configure_some
			in_netns m1 sh -c "$(declare -f configure_some); configure_some"
		fi
		rmmod kipsec
	done
	# RCU callbacks and deferred frees settle
	sleep 2
	after=$(slab_unreclaimable_kb)
	insmod "$KIPSEC_KO"
	log "SUnreclaim before ${before} kB, after 50 cycles ${after} kB"
	# 50 cycles must not leave more than 1 MB of unreclaimable slab behind
	[ $((after - before)) -lt 1024 ] || fail "slab grew by $((after - before)) kB"
	# every load said so (src/main.c), and no unload found an SA or a
	# policy still allocated (it WARNs, which the runner also reports)
	n=$(dmesg | grep -c 'kipsec .* loaded$' || true)
	[ "$n" -ge 51 ] || fail "$n 'kipsec ... loaded' lines for 51 loads"
	! dmesg | grep 'SAs and [0-9]* policies leaked' ||
		fail "an unload found SAs or policies still allocated"
}
ktest insmod_rmmod_50_times t_insmod_rmmod_50 600

# sa_churn_batch FILE N MODE: N SAs added, then deleted one by one
# (MODE delete) or by a flush (MODE flush), as one kipsec batch
sa_churn_batch() {
	awk -v n="$2" -v mode="$3" 'BEGIN {
		for (i = 1; i <= n; i++)
			printf "state add src 10.0.0.1 dst 10.0.0.2 proto esp " \
			       "spi %d mode tunnel aead rfc4106(gcm(aes)) " \
			       "0x%040x 128\n", 256 + i, i
		for (i = 1; mode == "delete" && i <= n; i++)
			printf "state delete src 10.0.0.1 dst 10.0.0.2 " \
			       "proto esp spi %d\n", 256 + i
		if (mode == "flush")
			print "state flush"
	}' >"$1"
}

# SUnreclaim minus its value BASE, in bytes per SA of N
slab_per_sa() {
	echo $((($(slab_unreclaimable_kb) - $1) * 1024 / $2))
}

# Each SA added and deleted gives back what it took: 2,000 SA lifetimes
# (AES-GCM, so each allocates its transform) in a netns may leave at most
# 64 bytes each of unreclaimable slab behind.  An SA struct alone is
# larger than that, a transform several times larger, so one leaked
# object per SA shows; the slab is polled, since SAs are freed after an
# RCU grace period.  The module's SA count is exact: 0 afterwards.
SA_CHURN_N=500
t_sa_churn_no_leak() {
	local base got i
	[ -x "$KIPSEC" ] || skip "tools/kipsec not built"
	ip netns add churn
	sa_churn_batch /tmp/churn.del $SA_CHURN_N delete
	sa_churn_batch /tmp/churn.flush $SA_CHURN_N flush
	# first rounds fill the slab caches (and their per-CPU partial
	# lists) and instantiate the AEAD; only the later rounds are counted
	for i in 1 2; do
		in_netns churn "$KIPSEC" -batch /tmp/churn.del
		in_netns churn "$KIPSEC" -batch /tmp/churn.flush
	done
	sleep 1
	base=$(slab_unreclaimable_kb)
	for i in 1 2; do
		in_netns churn "$KIPSEC" -batch /tmp/churn.del
		in_netns churn "$KIPSEC" -batch /tmp/churn.flush
	done
	for ((i = 0; i < 40; i++)); do
		got=$(slab_per_sa "$base" $((4 * SA_CHURN_N)))
		[ "$got" -le 64 ] && break
		sleep 0.5
	done
	log "SUnreclaim after $((4 * SA_CHURN_N)) SAs added and deleted:" \
		"$got bytes an SA"
	[ "$got" -le 64 ] || fail "SUnreclaim grew by $got bytes an SA"
	got=$(in_netns churn "$KIPSEC" -j info | jq .sa_count)
	[ "$got" = 0 ] || fail "sa_count $got after every SA was deleted"
}
ktest sa_churn_leaves_no_slab t_sa_churn_no_leak 300

t_rmmod_with_netns_alive() {
	ip netns add m2
	in_netns m2 ip link set lo up
	rmmod kipsec
	insmod "$KIPSEC_KO"
	# the new module instance must serve the existing netns too
	[ -x "$KIPSEC" ] || skip "tools/kipsec not built"
	in_netns m2 "$KIPSEC" info >/dev/null
}
ktest rmmod_with_netns_alive t_rmmod_with_netns_alive

t_netns_exit_frees() {
	local i
	[ -x "$KIPSEC" ] || skip "tools/kipsec not built"
	for i in $(seq 1 10); do
		ip netns add x$i
		in_netns x$i sh -c "$(declare -f configure_some); configure_some"
		ip netns del x$i
	done
	# the module must still unload cleanly afterwards
	sleep 1
	rmmod kipsec
	insmod "$KIPSEC_KO"
}
ktest netns_exit_frees_state t_netns_exit_frees

t_modinfo() {
	modinfo "$KIPSEC_KO" | grep -q '^license: *GPL'
	modinfo "$KIPSEC_KO" | grep -q '^alias: *net-pf-16-proto-16-family-kipsec'
	grep -q . /sys/module/kipsec/version
}
ktest modinfo_license_alias_version t_modinfo

# The console watch (tests/lib/kreport.sh) knows every form of report a
# debug kernel prints, and no ordinary line trips it.
t_kreport_forms() {
	local missed tripped
	missed=$(grep -vE "$KREPORT_RE" <<'REPORTS' || true
[   12.3] BUG: unable to handle page fault for address: ffff888
[   12.3] BUG kmalloc-64 (Tainted: G O): Poison overwritten
[   12.3] kernel BUG at net/core/skbuff.c:110!
[   12.3] WARNING: CPU: 1 PID: 7 at src/state.c:10 kipsec_sa_put
[   12.3] BUG: KASAN: slab-use-after-free in kipsec_esp_input
[   12.3] BUG: KFENCE: out-of-bounds read in esp_input
[   12.3] UBSAN: shift-out-of-bounds in src/replay.c:80:14
[   12.3] kmemleak: unreferenced object 0xffff8880 (size 64):
[   12.3] INFO: task kworker/0:1:12 blocked for more than 120 seconds.
[   12.3] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:
[   12.3] rcu: INFO: rcu_preempt self-detected stall on CPU
[   12.3] swapper/0: page allocation failure: order:4, mode:0x40cc0
[   12.3] WARNING: possible circular locking dependency detected
[   12.3] WARNING: possible recursive locking detected
[   12.3] WARNING: inconsistent lock state
[   12.3] WARNING: suspicious RCU usage
[   12.3] BUG: sleeping function called from invalid context at mm/slab.h
[   12.3] refcount_t: underflow; use-after-free.
[   12.3] general protection fault, probably for non-canonical address
[   12.3] Oops: 0000 [#1] PREEMPT SMP NOPTI
REPORTS
)
	tripped=$(grep -E "$KREPORT_RE" <<'ORDINARY' || true
[    1.2] kfence: initialized - using 2097152 bytes for 255 objects
[    1.2] DEBUG_LOCKS_WARN_ON is not set
[    3.4] kipsec: loaded (parallel=1, force_async=0)
[    3.4] rcu: Hierarchical RCU implementation.
[    3.4] Freeing unused kernel image (initmem) memory: 2800K
ORDINARY
)
	[ -z "$missed" ] || fail "not seen as reports: $missed"
	[ -z "$tripped" ] || fail "ordinary lines seen as reports: $tripped"
}
ktest kreport_sees_every_report_form t_kreport_forms 30
