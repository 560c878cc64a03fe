#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The XFRM netlink personality (module parameter xfrm_netlink=1): ip xfrm
# configures kipsec through NETLINK_XFRM.  One test for now, which swaps
# xfrm_user for kipsec with xfrm_netlink=1 and restores both at its end
# (module reloads are slow under TCG).

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

XNL_KEY=0x0102030405060708090a0b0c0d0e0f1011121314

t_xfrm_nl_state_policy() {
	local out
	xnl_load
	ip xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 \
		reqid 1 mode tunnel aead 'rfc4106(gcm(aes))' $XNL_KEY 128
	out=$(ip xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp \
		spi 0x1001 reqid 1 mode tunnel aead 'rfc4106(gcm(aes))' \
		$XNL_KEY 128 2>&1) && fail "duplicate add accepted"
	[[ $out == *"exists"* ]] || fail "duplicate add: $out"
	# what a GETSA reply holds, re-added: a key anybody knows
	out=$(ip xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp \
		spi 0x1002 reqid 1 mode tunnel aead 'rfc4106(gcm(aes))' \
		0x0000000000000000000000000000000000000000 128 2>&1) &&
		fail "all-zero key accepted"
	[[ $out == *"all-zero key"* ]] || fail "zero key: $out"
	out=$(ip xfrm state list)
	[[ $out == *"spi 0x00001001"* ]] || fail "state list: $out"
	[[ $out == *"0x0000000000000000000000000000000000000000 128"* ]] ||
		fail "key not zero-filled: $out"
	[[ $out != *"0102030405"* ]] || fail "key leaked: $out"
	"$KIPSEC" state list | grep -q 'spi 0x00001001' ||
		fail "kipsec CLI does not see the SA"
	ip xfrm policy add src 10.1.0.0/24 dst 10.2.0.0/24 dir out \
		tmpl src 10.0.0.1 dst 10.0.0.2 proto esp reqid 1 mode tunnel
	ip xfrm policy list | grep -q 'src 10.1.0.0/24 dst 10.2.0.0/24' ||
		fail "policy list"
	ip xfrm state allocspi src 10.0.0.1 dst 10.0.0.3 proto esp |
		grep -q 'spi 0x' || fail "allocspi"
	out=$(ip xfrm state delete src 10.0.0.1 dst 10.0.0.9 proto esp \
		spi 0x5 2>&1) && fail "delete of a missing SA accepted"
	[[ $out == *"no such SA"* ]] || fail "delete missing: $out"
	ip xfrm state count | grep -q 'SAD count 2' || fail "state count"
	modprobe -q xfrm_user 2>/dev/null &&
		fail "xfrm_user loaded while kipsec owns NETLINK_XFRM"
	ip xfrm state flush
	ip xfrm policy flush
	[ -z "$(ip xfrm state list)" ] || fail "flush left SAs"
}
ktest xfrm_nl_state_policy t_xfrm_nl_state_policy 240

XNL_K16=0x0102030405060708090a0b0c0d0e0f10
XNL_K32=0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20

# xnl_cmds: SAs and policies of every kind ip xfrm's listing shows
xnl_cmds() {
	local gcm='rfc4106(gcm(aes))' cbc='cbc(aes)' sha='hmac(sha256)'

	cat <<-EOF
	xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 reqid 1 mode tunnel aead $gcm $XNL_KEY 128 flag decap-dscp icmp
	xfrm state add src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x1002 reqid 2 mode transport enc $cbc $XNL_K16 auth-trunc $sha $XNL_K32 128 replay-window 64 sel src 10.0.0.2 dst 10.0.0.1 proto tcp
	xfrm state add src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x1004 reqid 4 mode tunnel enc $cbc $XNL_K16 auth-trunc $sha $XNL_K32 128 flag esn replay-window 1024 limit time-soft 1000 limit time-hard 2000 limit byte-soft 100000 limit packet-hard 500
	xfrm state add src 10.0.0.1 dst 10.0.0.3 proto ah spi 0x1003 reqid 3 mode transport auth hmac(sha1) $XNL_KEY
	xfrm state add src fd00::1 dst fd00::2 proto esp spi 0x2001 reqid 5 mode tunnel aead $gcm $XNL_KEY 128 flag noecn extra-flag dont-encap-dscp
	xfrm policy add src 10.1.0.0/24 dst 10.2.0.0/24 dir out priority 100 flag icmp tmpl src 10.0.0.1 dst 10.0.0.2 proto esp reqid 1 mode tunnel
	xfrm policy add src 10.2.0.0/24 dst 10.1.0.0/24 dir in priority 100 tmpl src 10.0.0.2 dst 10.0.0.1 proto esp reqid 4 mode tunnel level use
	xfrm policy add src 10.2.0.0/24 dst 10.1.0.0/24 dir fwd action block
	xfrm policy add src 10.0.0.1 dst 10.0.0.3 proto udp dport 53 dir out tmpl proto ah mode transport
	xfrm policy add src fd01::/64 dst fd02::/64 dir out tmpl src fd00::1 dst fd00::2 proto esp reqid 5 mode tunnel
	xfrm policy add src 10.5.0.0/16 dst 10.6.0.0/16 dir out limit time-hard 900
	EOF
}

xnl_changes() {
	cat <<-EOF
	xfrm state delete src 10.0.0.1 dst 10.0.0.3 proto ah spi 0x1003
	xfrm policy delete src 10.2.0.0/24 dst 10.1.0.0/24 dir fwd
	xfrm state update src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 reqid 1 mode tunnel aead rfc4106(gcm(aes)) $XNL_KEY 128
	xfrm state flush
	xfrm policy flush
	EOF
}

# xnl_monitor_ready: an XFRM netlink socket has joined a group
# (/proc/net/netlink: protocol 6, groups not zero)
xnl_monitor_ready() {
	local i
	for ((i = 0; i < 100; i++)); do
		awk '$2 == 6 && $4 != "00000000" { f = 1 } END { exit !f }' \
			/proc/net/netlink && return
		sleep 0.1
	done
	fail "ip xfrm monitor did not subscribe"
}

# xnl_session DIR: the same ip xfrm session, its outputs in DIR, keys
# masked (xfrm_user shows them, kipsec zero-fills them)
xnl_session() {
	local d=$1 mon i

	mkdir -p "$d"
	ip xfrm monitor >"$d/monitor" 2>&1 &
	mon=$!
	xnl_monitor_ready
	xnl_cmds | ip -batch - >"$d/add" 2>&1 || fail "$d: add: $(cat "$d/add")"
	ip xfrm state list >"$d/state"
	"$KIPSEC" state list >"$d/kstate" 2>&1 || true
	ip xfrm policy list >"$d/policy"
	ip xfrm state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 \
		>"$d/get" 2>&1
	ip xfrm policy get src 10.1.0.0/24 dst 10.2.0.0/24 dir out \
		>"$d/pget" 2>&1
	{ ip xfrm state count; ip xfrm policy count; } >"$d/count"
	xnl_changes | ip -batch - >"$d/changes" 2>&1
	ip xfrm state list >"$d/flushed"
	for ((i = 0; i < 100; i++)); do
		grep -q '^Flushed policy' "$d/monitor" && break
		sleep 0.1
	done
	kill "$mon"
	wait "$mon" 2>/dev/null || true
	sed -i -E 's/0x[0-9a-f]{20,}/KEY/g' "$d"/*
}

# xnl_records FILE: one line per entry of an ip xfrm listing, sorted
xnl_records() {
	awk '/^[^ \t]/ { if (r != "") print r; r = $0; next }
	     { r = r "|" $0 } END { if (r != "") print r }' "$1" | sort
}

t_xfrm_nl_iproute2_same() {
	local d f
	[ -f "$KIPSEC_KO" ] || skip "no $KIPSEC_KO"
	modprobe -q xfrm_user || skip "xfrm_user cannot be loaded"
	d=$(mktemp -d)
	xnl_session "$d/xfrm"
	xnl_load
	xnl_session "$d/kipsec"
	for f in add state get pget count changes flushed monitor; do
		cmp -s "$d/xfrm/$f" "$d/kipsec/$f" ||
			fail "ip xfrm $f differs: $(diff "$d/xfrm/$f" "$d/kipsec/$f" | head -20)"
	done
	# policies: the same entries; kipsec lists them by direction
	[ "$(xnl_records "$d/xfrm/policy")" = "$(xnl_records "$d/kipsec/policy")" ] ||
		fail "ip xfrm policy list differs: $(diff "$d/xfrm/policy" "$d/kipsec/policy" | head -20)"
	# ip xfrm state list (6.1) shows no extra flag, against xfrm_user neither:
	# kipsec's own listing shows what XFRMA_SA_EXTRA_FLAGS set
	grep -q 'extra_flag dont-encap-dscp' "$d/kipsec/kstate" ||
		fail "no extra_flag in: $(cat "$d/kipsec/kstate")"
	log "kipsec shows: $(grep -m1 extra_flag "$d/kipsec/kstate")"
	log "$(wc -l <"$d/kipsec/monitor") monitor lines, $(wc -l <"$d/kipsec/state") state lines: as xfrm_user's"
	rm -rf "$d"
}
ktest xfrm_nl_iproute2_same t_xfrm_nl_iproute2_same 240

# xnl_sa SPI SRC DST KEY: an ESP transport SA, in either tool's grammar
xnl_sa() {
	echo "state add src $2 dst $3 proto esp spi $1 reqid 1 mode transport aead rfc4106(gcm(aes)) $4 128"
}

# xnl_oseq NS SPI: the output sequence number ip xfrm shows for SPI
xnl_oseq() {
	ip -n "$1" xfrm state get src "$KA4" dst "$XB4" proto esp spi "$2" |
		sed -n 's/.*oseq 0x\([0-9a-f]*\).*/\1/p'
}

# strongSwan moves an SA to new addresses with GETSA, DELSA and a NEWSA
# built from the reply, whose keys kipsec zero-fills: the re-added SA must
# take over the deleted one's key and numbers, checked against a peer that
# knows the real key (kipsec's own CLI in xb)
t_xfrm_nl_readd_keeps_key() {
	local zero=0x0000000000000000000000000000000000000000 out before
	[ -x "$KIPSEC" ] || skip "no $KIPSEC"
	xnl_load
	topo_up
	for ns in "$KA" "$XB"; do
		printf '%s\n%s\n' "$(xnl_sa 0x100 "$KA4" "$XB4" "$XNL_KEY")" \
			"$(xnl_sa 0x200 "$XB4" "$KA4" "$XNL_KEY")" >"$TOPO_TMP/$ns.sa"
	done
	sed 's/^/xfrm /' "$TOPO_TMP/$KA.sa" | ip -n "$KA" -batch - ||
		fail "ka: ip xfrm state add"
	ip -n "$KA" -batch - <<-EOF || fail "ka: ip xfrm policy add"
		xfrm policy add src $KA4 dst $XB4 dir out tmpl src $KA4 dst $XB4 proto esp reqid 1 mode transport
		xfrm policy add src $XB4 dst $KA4 dir in tmpl src $XB4 dst $KA4 proto esp reqid 1 mode transport
	EOF
	cat "$TOPO_TMP/$XB.sa" - >"$TOPO_TMP/xb.batch" <<-EOF
		policy add src $XB4 dst $KA4 dir out tmpl src $XB4 dst $KA4 proto esp reqid 1 mode transport
		policy add src $KA4 dst $XB4 dir in tmpl src $KA4 dst $XB4 proto esp reqid 1 mode transport
	EOF
	"$KIPSEC" -n "$XB" -batch "$TOPO_TMP/xb.batch" || fail "xb: kipsec batch"
	ping_ok "$KA" "$KA4" "$XB4" 3
	before=$(xnl_oseq "$KA" 0x100)
	[ -n "$before" ] || fail "no oseq: $(ip -n "$KA" xfrm state list)"
	# another socket (another ip process) may not re-add it
	ip -n "$KA" xfrm state delete src "$KA4" dst "$XB4" proto esp spi 0x100
	out=$(ip -n "$KA" xfrm $(xnl_sa 0x100 "$KA4" "$XB4" $zero) 2>&1) &&
		fail "a zero key re-added from another socket"
	[[ $out == *"all-zero key"* ]] || fail "zero key: $out"
	sed 's/^/xfrm /' "$TOPO_TMP/$KA.sa" | grep 0x100 |
		ip -n "$KA" -batch - || fail "ka: add again with the key"
	ping_ok "$KA" "$KA4" "$XB4" 3
	before=$(xnl_oseq "$KA" 0x100)
	# one socket: delete, then add with zero-filled keys, as charon does
	ip -n "$KA" -batch - <<-EOF || fail "delete and re-add in one socket"
		xfrm state delete src $KA4 dst $XB4 proto esp spi 0x100
		xfrm $(xnl_sa 0x100 "$KA4" "$XB4" $zero)
	EOF
	ping_ok "$KA" "$KA4" "$XB4" 3
	expect_ge "oseq after the re-add" $((16#$(xnl_oseq "$KA" 0x100))) \
		$((16#$before + 3))
	log "re-added SA kept its key: oseq 0x$before -> 0x$(xnl_oseq "$KA" 0x100)"
}
ktest xfrm_nl_readd_keeps_key t_xfrm_nl_readd_keeps_key 240
