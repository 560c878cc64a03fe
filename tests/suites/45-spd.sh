# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Security policy database behaviour of the kipsec side (netns ka), with
# Linux xfrm (netns xb) as the peer where the wire is involved.  Topology:
# tests/lib/topo.sh (ka 10.99.0.1 -- veth -- 10.99.0.2 xb).  What arrives
# on the peer is seen by an AF_PACKET sniffer on xb's veth
# (tests/lib/sniff.py) and by xfrm's SA counters; drops by kipsec's global
# counters (`kipsec -j stats`).  All traffic is transport mode over IPv4:
# the policy decisions do not depend on the mode.
#
# KA_TOOL=xfrm runs the same tests with xfrm on the ka side too, the
# counters then read from /proc/net/xfrm_stat (see xfrm_mib_of in topo.sh):
#   tests/run-vm.sh shell 'KA_TOOL=xfrm bash tests/lib/ktest.sh 45-spd'

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

GCM='rfc4106(gcm(aes))'
H4="$KA4/32"	# host prefixes
P4="$XB4/32"

spd_setup() {
	need_kipsec
	need_py
	topo_up
}

# The template of ka's protected outbound/inbound traffic.
TMPL_OUT="tmpl src $KA4 dst $XB4 proto esp reqid $REQ_KX mode transport"
TMPL_IN="tmpl src $XB4 dst $KA4 proto esp reqid $REQ_XK mode transport"

# Priority (lowest value first) decides between overlapping policies,
# whatever their specificity: four cases, one UDP port each, three
# datagrams each; a block policy drops them and counts out_discard, an
# allow policy without template lets them through in plaintext.
t_priority() {
	local d0 d port exp want
	spd_setup
	sniff_start prio "$XB" "$XB_IF" --save none
	# port  narrow (udp dport P)  broad (any protocol)   reaches xb
	while read -r port narrow nprio broad bprio exp; do
		# shellcheck disable=SC2086
		{
		cfg ka policy flush
		cfg ka policy add src $H4 dst $P4 proto udp dport "$port" dir out \
			action $narrow priority "$nprio"
		cfg ka policy add src $H4 dst $P4 dir out action $broad \
			priority "$bprio"
		}
		cfg_apply
		d0=$(ka_stat out_discard)
		udp_send "$KA" "$KA4" "$XB4" "$port" 3
		d=$(($(ka_stat out_discard) - d0))
		want=$((exp ? 0 : 3))
		expect_eq "port $port ($narrow/$nprio vs $broad/$bprio): out_discard" \
			"$d" "$want"
	done <<-EOF
		5001 block 10 allow 20 0
		5002 block 20 allow 10 1
		5003 allow 20 block 10 0
		5004 allow 10 block 20 1
	EOF
	sniff_stop prio
	expect_eq "udp 5001 at xb (narrow block 10 over broad allow 20)" \
		"$(sniff_count prio in:udp:5001)" 0
	expect_eq "udp 5002 at xb (broad allow 10 over narrow block 20)" \
		"$(sniff_count prio in:udp:5002)" 3
	expect_eq "udp 5003 at xb (broad block 10 over narrow allow 20)" \
		"$(sniff_count prio in:udp:5003)" 0
	expect_eq "udp 5004 at xb (narrow allow 10 over broad block 20)" \
		"$(sniff_count prio in:udp:5004)" 3
}
ktest spd_priority_order t_priority 150

# Bypass: everything between the hosts is protected (priority 100) except
# udp dport 5002, an allow policy without template (priority 10) on both
# sides: 5002 crosses in plaintext, 5001 as ESP.
t_bypass() {
	spd_setup
	sa_pair transport 4 4 "$GCM" 128 128
	POL_PRIO=100 pol_pair transport 4 4
	cfg ka policy add src $H4 dst $P4 proto udp dport 5002 dir out priority 10
	cfg xb policy add src $H4 dst $P4 proto udp dport 5002 dir in priority 10
	cfg_apply
	sniff_start byp "$XB" "$XB_IF" --save none
	udp_send "$KA" "$KA4" "$XB4" 5002 3
	udp_send "$KA" "$KA4" "$XB4" 5001 3
	sniff_stop byp
	expect_eq "plaintext udp 5002 at xb" "$(sniff_count byp in:udp:5002)" 3
	expect_eq "plaintext udp 5001 at xb" "$(sniff_count byp in:udp:5001)" 0
	expect_eq "ESP from ka at xb" "$(sniff_count byp "in:esp:$SPI_KX")" 3
	snap
	expect_eq "xfrm in SA packets" "$(snap_get xb $SPI_KX packets)" 3
	expect_eq "kipsec out SA packets" "$(snap_get ka $SPI_KX packets)" 3
}
ktest spd_bypass t_bypass 120

# Port and protocol selectors: only udp dport 5001 is protected; udp 5002
# and ICMP stay plaintext.
t_port_selector() {
	spd_setup
	sa_pair transport 4 4 "$GCM" 128 128
	pol_pair transport 4 4 proto udp dport 5001
	cfg_apply
	sniff_start port "$XB" "$XB_IF" --save none
	udp_send "$KA" "$KA4" "$XB4" 5001 3
	udp_send "$KA" "$KA4" "$XB4" 5002 4
	ping_ok "$KA" "$KA4" "$XB4" 2
	sniff_stop port
	expect_eq "ESP from ka at xb" "$(sniff_count port "in:esp:$SPI_KX")" 3
	expect_eq "plaintext udp 5001 at xb" "$(sniff_count port in:udp:5001)" 0
	expect_eq "plaintext udp 5002 at xb" "$(sniff_count port in:udp:5002)" 4
	expect_eq "plaintext echo requests at xb" "$(sniff_count port in:icmp:8)" 2
	snap
	expect_eq "xfrm in SA packets (udp 5001 only)" \
		"$(snap_get xb $SPI_KX packets)" 3
	expect_eq "kipsec out SA packets (udp 5001 only)" \
		"$(snap_get ka $SPI_KX packets)" 3
}
ktest spd_port_selector t_port_selector 120

# ICMP type selector: only echo requests (type 8) from ka are protected;
# the echo replies come back in plaintext.
t_icmp_type() {
	spd_setup
	sa_pair transport 4 4 "$GCM" 128 128
	cfg ka policy add src $H4 dst $P4 proto icmp type 8 dir out $TMPL_OUT
	cfg xb policy add src $H4 dst $P4 proto icmp type 8 dir in $TMPL_OUT
	cfg_apply
	sniff_start icmp "$XB" "$XB_IF" --save none
	ping_ok "$KA" "$KA4" "$XB4" 3
	sniff_stop icmp
	expect_eq "ESP echo requests at xb" "$(sniff_count icmp "in:esp:$SPI_KX")" 3
	expect_eq "plaintext echo requests at xb" "$(sniff_count icmp in:icmp:8)" 0
	expect_eq "plaintext echo replies from xb" "$(sniff_count icmp out:icmp:0)" 3
	snap
	expect_eq "xfrm in SA packets" "$(snap_get xb $SPI_KX packets)" 3
	expect_eq "kipsec out SA packets" "$(snap_get ka $SPI_KX packets)" 3
	expect_eq "kipsec in SA packets" "$(snap_get ka $SPI_XK packets)" 0
}
ktest spd_icmp_type t_icmp_type 120

# Inbound block policy: dropped and counted as in_discard.
t_discard_in() {
	local d0
	spd_setup
	cfg ka policy add src $P4 dst $H4 proto udp dir in action block
	cfg_apply
	d0=$(ka_stat in_discard)
	udp_send "$XB" "$XB4" "$KA4" 5001 3
	poll_stat_delta "in_discard" 3 "$d0" in_discard
	# other protocols are not blocked
	ping_ok "$XB" "$XB4" "$KA4" 2
}
ktest spd_discard_in t_discard_in 120

# A plaintext packet matching an inbound PROTECT policy is dropped and
# counted as in_plaintext (the peer has no IPsec configuration at all).
t_in_plaintext() {
	local d0
	spd_setup
	sa_pair transport 4 4 "$GCM" 128 128
	rm -f "$TOPO_TMP/xb.cfg"	# the kipsec side only
	cfg ka policy add src $P4 dst $H4 dir in $TMPL_IN
	cfg_apply
	d0=$(ka_stat in_plaintext)
	udp_send "$XB" "$XB4" "$KA4" 5001 3
	poll_stat_delta "in_plaintext" 3 "$d0" in_plaintext
	ping_fails "$XB" "$XB4" "$KA4"
	snap
	expect_eq "kipsec in SA packets" "$(snap_get ka $SPI_XK packets)" 0
}
ktest spd_in_plaintext t_in_plaintext 120

# An outbound PROTECT policy without SA: nothing leaves, not even in
# plaintext; counted as out_no_sa.
t_out_no_sa() {
	local d0
	spd_setup
	cfg ka policy add src $H4 dst $P4 dir out $TMPL_OUT
	cfg_apply
	sniff_start nosa "$XB" "$XB_IF" --save none
	d0=$(ka_stat out_no_sa)
	udp_send "$KA" "$KA4" "$XB4" 5001 3
	poll_stat_delta "out_no_sa" 3 "$d0" out_no_sa
	ping_fails "$KA" "$KA4" "$XB4"
	sniff_stop nosa
	expect_eq "packets from $KA4 at xb" \
		"$(sniff_count nosa "in:from:$KA4:17")$(sniff_count nosa "in:from:$KA4:1")$(sniff_count nosa "in:from:$KA4:50")" 000
}
ktest spd_out_no_sa t_out_no_sa 120

# Capture ESP packets of xb -> ka that kipsec has not accepted yet: xb has
# the SA pair and policies, ka everything but the inbound SA (SPI_XK).
# xb sends 3 UDP datagrams (seq 1..3), all dropped by ka as in_no_sa and
# saved in capture "esp"; then ka gets the inbound SA with replay-window 4.
# Sets NOSA_DROPS (in_no_sa delta).
replay_setup() {
	local d0 i seq
	spd_setup
	sa_pair transport 4 4 "$GCM" 128 128 replay-window 4
	pol_pair transport 4 4
	grep -v "spi $SPI_XK" "$TOPO_TMP/ka.cfg" >"$TOPO_TMP/ka.tmp"
	mv "$TOPO_TMP/ka.tmp" "$TOPO_TMP/ka.cfg"
	cfg_apply
	sniff_start esp "$XB" "$XB_IF" --dir out --save esp
	d0=$(ka_stat in_no_sa)
	udp_send "$XB" "$XB4" "$KA4" 5001 3
	sniff_stop esp
	NOSA_DROPS=$(($(ka_stat in_no_sa) - d0))
	# frame i carries sequence number i + 1
	for i in 0 1 2; do
		seq=$(awk -v n=$((i + 1)) 'NR == n { print $2, $3 }' "$TOPO_TMP/esp.cap")
		expect_eq "captured ESP frame $i" "$seq" "$SPI_XK $((i + 1))"
	done
	sa_pair transport 4 4 "$GCM" 128 128 replay-window 4
	grep "spi $SPI_XK" "$TOPO_TMP/ka.cfg" >"$TOPO_TMP/ka.tmp"
	mv "$TOPO_TMP/ka.tmp" "$TOPO_TMP/ka.cfg"
	rm -f "$TOPO_TMP/xb.cfg"
	cfg_apply
}

# in_packets of ka's inbound SA
xk_in() {
	snap
	snap_get ka "$SPI_XK" packets
}

# An ESP packet with an unknown SPI: in_no_sa.
t_in_no_sa() {
	replay_setup
	expect_eq "in_no_sa" "$NOSA_DROPS" 3
	# the same packets are accepted once the SA exists
	inject esp "$XB" "$XB_IF" 0
	inject esp "$XB" "$XB_IF" 1
	poll_eq "kipsec in SA packets after the SA was added" 2 xk_in
}
ktest spd_in_no_sa t_in_no_sa 120

# A captured ESP packet with its last byte (ICV) flipped: in_auth_fail; the
# original is then still accepted (the failure did not move the window).
t_in_auth_fail() {
	local d0
	replay_setup
	d0=$(ka_stat in_auth_fail)
	inject esp "$XB" "$XB_IF" 0 --flip -1
	poll_stat_delta "in_auth_fail" 1 "$d0" in_auth_fail
	snap
	expect_eq "SA in_auth_fail" "$(snap_get ka "$SPI_XK" auth_fail)" 1
	expect_eq "kipsec in SA packets" "$(snap_get ka "$SPI_XK" packets)" 0
	# a flipped byte in the encrypted payload fails too
	inject esp "$XB" "$XB_IF" 1 --flip 20
	poll_stat_delta "in_auth_fail" 2 "$d0" in_auth_fail
	inject esp "$XB" "$XB_IF" 0
	poll_eq "kipsec in SA packets" 1 xk_in
}
ktest spd_in_auth_fail t_in_auth_fail 120

# A captured ESP packet sent twice: accepted once, then in_replay.
t_in_replay() {
	local d0
	replay_setup
	inject esp "$XB" "$XB_IF" 0
	poll_eq "kipsec in SA packets" 1 xk_in
	d0=$(ka_stat in_replay)
	inject esp "$XB" "$XB_IF" 0
	poll_stat_delta "in_replay" 1 "$d0" in_replay
	snap
	expect_eq "SA in_replay" "$(snap_get ka "$SPI_XK" replay)" 1
	expect_eq "kipsec in SA packets" "$(snap_get ka "$SPI_XK" packets)" 1
}
ktest spd_in_replay t_in_replay 120

# Window 4: after seq 3 and 6 more packets (seq 4..9), seq 1 is left of
# the window: in_window (not in_replay: it was never seen).
t_in_window() {
	local d0 r0
	replay_setup
	inject esp "$XB" "$XB_IF" 2
	udp_send "$XB" "$XB4" "$KA4" 5001 6
	poll_eq "kipsec in SA packets" 7 xk_in
	d0=$(ka_stat in_window)
	r0=$(ka_stat in_replay)
	inject esp "$XB" "$XB_IF" 0
	poll_stat_delta "in_window" 1 "$d0" in_window
	snap
	expect_eq "SA in_window" "$(snap_get ka "$SPI_XK" window)" 1
	expect_eq "kipsec in SA packets" "$(snap_get ka "$SPI_XK" packets)" 7
	[ "$KA_TOOL" = xfrm ] ||	# xfrm counts both as one MIB counter
		expect_eq "in_replay" $(($(ka_stat in_replay) - r0)) 0
}
ktest spd_in_window t_in_window 120
