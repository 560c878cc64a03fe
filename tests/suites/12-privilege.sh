# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Who may read the SAD and SPD, what an SA gives back when freed, and how
# much one network namespace may configure:
#
# - every request of the family, reads included, needs CAP_NET_ADMIN over
#   the netns (as xfrm_user): the CLI says so in plain words, exit 2;
# - AH and ESP SAs drop their crypto transforms (module references) when
#   deleted;
# - net.kipsec.sa_max / policy_max bound the SAD and SPD of a netns.
#
# uid 65534 runs through setpriv (util-linux, the host's, shared with the
# guest); one CLI -batch or one nlraw.py --batch per user and netns.

NLRAW=$REPO/tests/tools/nlraw.py
P12_KEY=0x00112233445566778899aabbccddeeff
P12_GCM='rfc4106(gcm(aes))'
P12_GCMKEY=0x0102030405060708090a0b0c0d0e0f1011121314
P12_EPERM="permission denied: reading or changing kipsec's SAs and policies needs CAP_NET_ADMIN (run as root)"

# as uid/gid 65534 without groups, in netns p
p12_nobody() {
	in_netns p setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

p12_need() {
	[ -x "$KIPSEC" ] || skip "the CLI is not built"
	command -v setpriv >/dev/null || skip "no setpriv"
}

# one SA and one policy in netns p
p12_setup() {
	ip netns add p
	"$KIPSEC" -n p -batch - <<-EOF
		state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x4242 mode tunnel aead '$P12_GCM' $P12_GCMKEY 128
		policy add src 10.1.0.0/16 dst 10.2.0.0/16 dir out tmpl src 10.0.0.1 dst 10.0.0.2 proto esp mode tunnel
	EOF
}

P12_READS="state list
state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x4242
state count
policy list
policy get src 10.1.0.0/16 dst 10.2.0.0/16 dir out
policy count
info
stats"

t_unpriv_cli_reads() {
	local out rc n json
	p12_need
	p12_setup
	# root reads it: the SA is there to be leaked
	"$KIPSEC" -n p state list | grep -q 0x00004242 ||
		fail "root does not see the SA"
	n=$(echo "$P12_READS" | wc -l)
	for json in "" -j; do
		rc=0
		out=$(echo "$P12_READS" |
			p12_nobody "$KIPSEC" $json -force -batch - 2>&1) || rc=$?
		[ "$rc" = 2 ] || fail "kipsec $json -batch as uid 65534 exited $rc (want 2): $(head -n 2 <<<"$out")"
		[ "$(grep -cxF "Error: $P12_EPERM." <<<"$out")" = "$n" ] ||
			fail "kipsec $json: not $n plain EPERM messages: $out"
		! grep -qiE '4242|10\.0\.0\.|10\.1\.0\.' <<<"$out" ||
			fail "kipsec $json: SAD/SPD content leaked: $out"
	done
	# one on its own: exit status 2, nothing on stdout
	rc=0
	out=$(p12_nobody "$KIPSEC" state list 2>/dev/null) || rc=$?
	[ "$rc" = 2 ] && [ -z "$out" ] ||
		fail "state list as uid 65534: exit $rc, stdout: $out"
	# -V: the module is there, its version is not for uid 65534
	out=$(p12_nobody "$KIPSEC" -V)
	grep -qx 'kipsec module loaded (its version: permission denied)' <<<"$out" ||
		fail "kipsec -V as uid 65534: $out"
}
ktest unprivileged_cli_reads_eperm t_unpriv_cli_reads

t_unpriv_raw_reads() {
	local out
	p12_need
	p12_setup
	# family resolution (nlctrl) still works; every read is refused
	out=$(p12_nobody python3 "$NLRAW" --batch <<-EOF
		--expect EPERM info_get
		--expect EPERM stats_get
		--expect EPERM sa_get sa_family=u16:2 sa_dst=ip:10.0.0.2 sa_proto=u8:50 sa_spi=be32:0x4242
		--expect EPERM --dump sa_get
		--expect EPERM policy_get pol_index=u32:1
		--expect EPERM --dump policy_get
	EOF
	) || fail "$out"
	[ "$(grep -c '^ERR EPERM (-1)' <<<"$out")" = 6 ] ||
		fail "not 6 times EPERM: $out"
}
ktest unprivileged_raw_reads_eperm t_unpriv_raw_reads

# refcnt of each loaded crypto module an SA's transform pins
p12_refs() {
	local m
	for m in "$@"; do
		if [ -r "/sys/module/$m/refcnt" ]; then
			printf '%s=%s ' "$m" "$(cat "/sys/module/$m/refcnt")"
		fi
	done
}

# p12_cycles ADD-ARGS...: 20 add/delete cycles of SA spi 0x1..0x14 in one
# batch, in netns p
p12_cycles() {
	local i
	for i in $(seq 1 20); do
		echo "state add src 10.0.0.1 dst 10.0.0.2 proto $* spi $i"
		echo "state delete src 10.0.0.1 dst 10.0.0.2 proto $1 spi $i"
	done | "$KIPSEC" -n p -batch -
}

# p12_settle START MODULES...: wait (bounded) for the refcounts to come
# back to START; the SAs are freed after an RCU grace period
p12_settle() {
	local start=$1 now i
	shift
	for i in $(seq 1 100); do
		now=$(p12_refs "$@")
		[ "$now" = "$start" ] && return 0
		sleep 0.2
	done
	fail "module references: before '$start', after '$now'"
}

p12_refcount_check() {
	local mods=$1 start
	shift
	# the first transform instantiates the templates; count from then
	p12_cycles "$@"
	start=$(p12_refs $mods)
	p12_settle "$start" $mods
	start=$(p12_refs $mods)
	[ -n "$start" ] || skip "none of $mods is a loaded module"
	p12_cycles "$@"
	p12_settle "$start" $mods
	log "$*: $start"
}

t_ah_frees_transform() {
	p12_need
	modprobe -a xcbc 2>/dev/null || true
	[ -r /sys/module/xcbc/refcnt ] || skip "xcbc is not a module"
	ip netns add p
	p12_refcount_check "xcbc cmac" ah auth-trunc 'xcbc(aes)' "$P12_KEY" 96
	modprobe -a cmac 2>/dev/null || true
	p12_refcount_check "xcbc cmac" ah auth-trunc 'cmac(aes)' "$P12_KEY" 96
}
ktest ah_sa_frees_its_transform t_ah_frees_transform

t_esp_frees_transform() {
	p12_need
	modprobe -a authenc 2>/dev/null || true
	[ -r /sys/module/authenc/refcnt ] || skip "authenc is not a module"
	ip netns add p
	p12_refcount_check "authenc hmac sha256_generic sha256_ssse3" \
		esp enc 'cbc(aes)' "$P12_KEY" auth-trunc 'hmac(sha256)' "$P12_KEY" 128
}
ktest esp_authenc_sa_frees_its_transform t_esp_frees_transform

P12_SYS=/proc/sys/net/kipsec

p12_sa() {
	echo "state add src 10.0.0.1 dst 10.0.0.2 proto esp spi $1 aead '$P12_GCM' $P12_GCMKEY 128"
}

p12_pol() {
	echo "policy add src 10.1.$1.0/24 dst 10.2.0.0/16 dir out"
}

t_limits() {
	local init_sa init_pol out rc i
	p12_need
	[ -r $P12_SYS/sa_max ] || fail "no $P12_SYS/sa_max"
	init_sa=$(cat $P12_SYS/sa_max)
	init_pol=$(cat $P12_SYS/policy_max)
	# the bench installs 100,000 SAs a side
	[ "$init_sa" -ge 100000 ] && [ "$init_pol" -ge 100000 ] ||
		fail "defaults too low: sa_max $init_sa, policy_max $init_pol"
	ip netns add p
	in_netns p sh -c "echo 5 >$P12_SYS/sa_max; echo 5 >$P12_SYS/policy_max"
	for i in 1 2 3 4 5; do p12_sa $i; p12_pol $i; done |
		"$KIPSEC" -n p -batch - || fail "5 SAs and 5 policies refused"
	rc=0
	out=$(p12_sa 6 | "$KIPSEC" -n p -batch - 2>&1) || rc=$?
	[ "$rc" = 2 ] && grep -q '^Error: .*SA limit reached.*net.kipsec.sa_max' <<<"$out" ||
		fail "6th SA: exit $rc: $out"
	rc=0
	out=$(p12_pol 6 | "$KIPSEC" -n p -batch - 2>&1) || rc=$?
	[ "$rc" = 2 ] && grep -q '^Error: .*policy limit reached.*net.kipsec.policy_max' <<<"$out" ||
		fail "6th policy: exit $rc: $out"
	# replacing is not adding; deleting one lets one more in
	"$KIPSEC" -n p -batch - <<-EOF || fail "update or delete+add at the limit refused"
		state update src 10.0.0.1 dst 10.0.0.2 proto esp spi 5 aead '$P12_GCM' $P12_GCMKEY 128
		state delete src 10.0.0.1 dst 10.0.0.2 proto esp spi 1
		$(p12_sa 6)
		policy delete src 10.1.1.0/24 dst 10.2.0.0/16 dir out
		$(p12_pol 6)
	EOF
	out=$("$KIPSEC" -n p info)
	grep -q '^sa-count 5$' <<<"$out" && grep -q '^policy-count 5$' <<<"$out" ||
		fail "not 5 and 5: $out"
	# the other namespaces keep theirs
	[ "$(cat $P12_SYS/sa_max) $(cat $P12_SYS/policy_max)" = "$init_sa $init_pol" ] ||
		fail "init_net's limits changed"
	# root of a user namespace starts its netns with init_net's limit and
	# may lower it, not raise it
	out=$(unshare -U -r -n sh -c "f=$P12_SYS/sa_max; cat \$f
		echo 7 >\$f; cat \$f
		echo $((init_sa + 1)) >\$f 2>/dev/null || echo refused; cat \$f" |
		tr '\n' ' ')
	[ "$out" = "$init_sa 7 refused 7 " ] ||
		fail "userns root's sa_max: start, lowered, raised: $out"
}
ktest sa_and_policy_limits t_limits

# SAs are charged to the memory cgroup of the task that adds them: their
# per-CPU counters and route caches show as "percpu" in its memory.stat
# (nothing else the CLI does allocates per-CPU memory)
t_memcg_accounting() {
	local cg=/sys/fs/cgroup/p12 i pcpu
	p12_need
	grep -q '^[^ ]* /sys/fs/cgroup cgroup2 ' /proc/mounts ||
		mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null ||
		skip "cannot mount cgroup2"
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
	mkdir -p $cg
	[ -r $cg/memory.stat ] || skip "no memory controller"
	ip netns add p
	for i in $(seq 1 200); do p12_sa $i; done >/tmp/p12.batch
	sh -c "echo \$\$ >$cg/cgroup.procs && exec $KIPSEC -n p -batch /tmp/p12.batch" ||
		fail "200 SAs refused"
	pcpu=$(awk '$1 == "percpu" { print $2 }' $cg/memory.stat)
	"$KIPSEC" -n p state flush
	rmdir $cg 2>/dev/null || true
	log "percpu charged for 200 SAs: $pcpu bytes"
	[ "${pcpu:-0}" -gt 0 ] || fail "200 SAs charged no per-CPU memory to their cgroup"
}
ktest sa_memory_charged_to_memcg t_memcg_accounting
