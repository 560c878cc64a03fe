# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The kipsec generic netlink family under generated requests
# (tests/fuzz/nlfuzz.py): random and structure-aware, damaged and not,
# from a user without CAP_NET_ADMIN and from root.  `make fuzz` runs the
# same with more requests (NL_FUZZ_COUNT).

NL_FUZZ=$REPO/tests/fuzz/nlfuzz.py
NL_FUZZ_COUNT=${NL_FUZZ_COUNT:-3000}

# Every request is answered; an unprivileged user changes nothing; what
# root's accepted requests added, changed and deleted is exactly what the
# SAD and SPD hold at the end.
t_nlfuzz() {
	local out
	[ -x "$KIPSEC" ] || skip "tools/kipsec not built"
	command -v setpriv >/dev/null || skip "no setpriv"
	ip netns add nlf
	# a damaged algorithm name would start modprobe (processes under TCG)
	# for each request: an empty kernel.modprobe makes request_module()
	# fail at once; the runner restores it
	echo >/proc/sys/kernel/modprobe
	out=$(in_netns nlf setpriv --reuid 65534 --regid 65534 --clear-groups \
		--inh-caps=-all /usr/bin/python3 "$NL_FUZZ" --unpriv \
		--count $((NL_FUZZ_COUNT / 5)) --seed "${NL_FUZZ_SEED:-1}" 2>&1) ||
		fail "unprivileged: $out"
	log "unprivileged: $out"
	out=$(in_netns nlf /usr/bin/python3 "$NL_FUZZ" --count "$NL_FUZZ_COUNT" \
		--seed "${NL_FUZZ_SEED:-1}" 2>&1) || fail "root: $out"
	log "root: ${out//$'\n'/; }"
}
ktest netlink_fuzz_model_holds t_nlfuzz $((120 + NL_FUZZ_COUNT / 20))
