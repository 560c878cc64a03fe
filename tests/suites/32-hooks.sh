# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# The netfilter hooks against the rest of the stack: IPv6 reassembly
# before LOCAL_IN, the order against conntrack, and packets that re-enter
# IP output through a tunnel device while kipsec sends.  kipsec in netns
# ka, Linux xfrm in netns xb (tests/lib/topo.sh).

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

HK_AEAD="rfc4106(gcm(aes))"

hk_need() {
	need_kipsec
	modinfo esp4 >/dev/null 2>&1 || skip "no esp4 for the xfrm peer"
}

# hk_bigping NS SRC DST COUNT: COUNT pings of 3000 bytes (three fragments
# each on the 1500-byte veth); prints how many were answered.
hk_bigping() {
	local out fam=-4
	[ "${3#*:}" != "$3" ] && fam=-6
	out=$(in_netns "$1" timeout $(($4 + 12)) busybox ping "$fam" -c "$4" \
		-W 3 -w $(($4 + 8)) -s 3000 -I "$2" "$3" 2>&1) || true
	echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p'
}

# IPv6 ESP fragmented by the peer is reassembled before kipsec sees it,
# from the very first packet of an IPv6 transport SA: nothing of the netns
# has been through a kipsec hook before it arrives.
t_hk_defrag_first() {
	local got
	hk_need
	topo_up
	sa_pair transport 6 6 "$HK_AEAD" 128 128
	pol_pair transport 6 6
	cfg_apply
	got=$(hk_bigping "$XB" "$XB6" "$KA6" 1)
	expect_eq "first fragmented ESP answered" "${got:-0}" 1
	snap
	expect_eq "kipsec in packets" "$(snap_get ka "$SPI_XK" packets)" 1
}
ktest defrag_before_first_packet t_hk_defrag_first 90

HK_MODPROBE_CONF=/etc/modprobe.d/kipsec-test-no-defrag.conf
HK_MODPROBE_COUNT=/tmp/kipsec-test-modprobe.count

hk_restore_modprobe() {
	rm -f "$HK_MODPROBE_CONF" "$HK_MODPROBE_COUNT"
}

# hk_unload_defrag: kipsec and nf_defrag_ipv6 unloaded (kipsec reloaded
# and a SKIP when nf_defrag_ipv6 stays in use)
hk_unload_defrag() {
	local i
	rmmod kipsec || skip "kipsec.ko cannot be unloaded"
	for i in $(seq 1 50); do
		grep -q '^nf_defrag_ipv6 ' /proc/modules || break
		rmmod nf_defrag_ipv6 2>/dev/null && break
		sleep 0.2	# netns cleanup drops its users asynchronously
	done
	if grep -q '^nf_defrag_ipv6 ' /proc/modules; then
		insmod "$KIPSEC_KO"
		skip "nf_defrag_ipv6 is in use (conntrack?)"
	fi
}

# Without nf_defrag_ipv6 kipsec cannot see fragmented IPv6 whole: it asks
# for the module once, and drops (in_fragment) every IPv6 fragment that
# reaches LOCAL_IN instead of taking fragmented ESP for plaintext.
t_hk_no_defrag() {
	local got n
	hk_need
	hk_unload_defrag
	trap hk_restore_modprobe EXIT
	# every request for the module fails, and is counted
	echo "install nf_defrag_ipv6 /bin/sh -c 'echo x >>$HK_MODPROBE_COUNT; exit 1'" \
		>"$HK_MODPROBE_CONF"
	: >"$HK_MODPROBE_COUNT"
	insmod "$KIPSEC_KO"
	topo_up
	sa_pair transport 6 6 "$HK_AEAD" 128 128
	pol_pair transport 6 6
	cfg_apply
	ping_ok "$KA" "$KA6" "$XB6" 2	# unfragmented traffic is unaffected
	got=$(hk_bigping "$XB" "$XB6" "$KA6" 3)
	expect_eq "fragmented pings answered" "${got:-0}" 0
	expect_ge "in_fragment" "$(ka_stat in_fragment)" 3
	n=$(wc -l <"$HK_MODPROBE_COUNT")
	expect_le "requests for nf_defrag_ipv6" "$n" 1
	grep -q '^nf_defrag_ipv6 ' /proc/modules &&
		fail "nf_defrag_ipv6 got loaded despite the install rule"
	return 0
}
ktest no_defrag_fails_closed t_hk_no_defrag 120

# A netns whose request for nf_defrag_ipv6 failed (no modprobe, as early
# in boot) does not keep the next netns from asking: its first
# fragmented ESP is reassembled.
t_hk_defrag_retry() {
	local got mp
	hk_need
	hk_unload_defrag
	insmod "$KIPSEC_KO"
	ip netns add early
	mp=$(cat /proc/sys/kernel/modprobe)
	echo >/proc/sys/kernel/modprobe
	in_netns early "$KIPSEC" policy add src fd97::1 dst fd97::2 dir out \
		action block || { echo "$mp" >/proc/sys/kernel/modprobe; fail "policy add"; }
	echo "$mp" >/proc/sys/kernel/modprobe
	ip netns del early
	! grep -q '^nf_defrag_ipv6 ' /proc/modules ||
		fail "nf_defrag_ipv6 loaded without a modprobe"
	topo_up
	sa_pair transport 6 6 "$HK_AEAD" 128 128
	pol_pair transport 6 6
	cfg_apply
	got=$(hk_bigping "$XB" "$XB6" "$KA6" 1)
	expect_eq "first fragmented ESP after a failed request" "${got:-0}" 1
}
ktest defrag_requested_again t_hk_defrag_retry 120

# hk_nft NS: stateful filtering in NS: replies only when conntrack has
# confirmed the connection; new echo requests and ESP are let in.
hk_nft() {
	in_netns "$1" nft -f - <<-EOF
		table inet hk {
			chain in {
				type filter hook input priority filter; policy drop;
				ct state established,related accept
				ct state new icmp type echo-request accept
				meta l4proto esp accept
			}
		}
	EOF
}

# Conntrack running in the netns before kipsec.ko is loaded: kipsec still
# acts after the conntrack confirmation, as xfrm does (xfrm transforms in
# dst_output, after POST_ROUTING), so masquerading and stateful rules
# work for protected traffic both ways, and the entries are confirmed.
t_hk_conntrack() {
	local ct
	hk_need
	[ -x /usr/sbin/nft ] || skip "no nft (Debian package nftables)"
	topo_up
	hk_nft "$XB" || skip "nftables does not work in the guest"
	hk_nft "$KA"
	# ka masquerades its inner address behind its veth address
	in_netns "$KA" nft -f - <<-EOF
		table ip hknat {
			chain post {
				type nat hook postrouting priority srcnat;
				ip saddr $KAI4 ip daddr $XBI4 masquerade
			}
		}
	EOF
	# kipsec's hooks now register after conntrack's in ka
	rmmod kipsec
	insmod "$KIPSEC_KO"
	sa_pair tunnel 4 4 "$HK_AEAD" 128 128
	cfg ka policy add src 0.0.0.0/0 dst "$XBI4/32" dir out \
		tmpl src "$KA4" dst "$XB4" proto esp reqid "$REQ_KX" mode tunnel
	cfg ka policy add src "$XBI4/32" dst 0.0.0.0/0 dir in \
		tmpl src "$XB4" dst "$KA4" proto esp reqid "$REQ_XK" mode tunnel
	cfg xb policy add src "$XBI4/32" dst 0.0.0.0/0 dir out \
		tmpl src "$XB4" dst "$KA4" proto esp reqid "$REQ_XK" mode tunnel
	cfg xb policy add src 0.0.0.0/0 dst "$XBI4/32" dir in \
		tmpl src "$KA4" dst "$XB4" proto esp reqid "$REQ_KX" mode tunnel
	cfg_apply
	ping_ok "$KA" "$KAI4" "$XBI4" 2		# masqueraded as $KA4
	ping_ok "$XB" "$XBI4" "$KAI4" 2
	ct=$(in_netns "$KA" cat /proc/net/nf_conntrack 2>/dev/null) ||
		skip "no /proc/net/nf_conntrack"
	echo "$ct" | grep -E "src=$KAI4 dst=$XBI4 .* src=$XBI4 dst=$KA4 " |
		grep -qv UNREPLIED || { echo "$ct"; fail "no confirmed masqueraded entry"; }
	echo "$ct" | grep -E "src=$XBI4 dst=$KAI4 .* src=$KAI4 dst=$XBI4 " |
		grep -qv UNREPLIED || { echo "$ct"; fail "no confirmed entry for xb's ping"; }
}
ktest conntrack_before_kipsec t_hk_conntrack 120

# A GRE underlay under a kipsec tunnel: the ESP packets kipsec sends into
# gre1 come back to IP output as GRE packets, which a kipsec policy
# protects in turn.  Nothing leaves on the veth but ESP.
t_hk_gre_underlay() {
	local i
	hk_need
	topo_up
	for i in ka:"$KA4":"$XB4":1 xb:"$XB4":"$KA4":2; do
		IFS=: read -r ns l r n <<<"$i"
		ip -n "$ns" link add gre1 type gre local "$l" remote "$r" ttl 64 ||
			skip "no GRE devices"
		# IPv6 would send its own GRE packets (router solicitations,
		# MLD) into the capture below
		in_netns "$ns" sysctl -qw net.ipv6.conf.gre1.disable_ipv6=1
		ip -n "$ns" -batch - <<-EOF || fail "cannot set up gre1 in $ns"
			addr add 10.77.0.$n/30 dev gre1
			link set gre1 up
		EOF
	done
	# overlay: inner addresses, tunnel mode between the GRE addresses
	cfg both state add src 10.77.0.1 dst 10.77.0.2 proto esp spi "$SPI_KX" \
		reqid "$REQ_KX" mode tunnel "$(alg_args "$HK_AEAD" 128 128 1)"
	cfg both state add src 10.77.0.2 dst 10.77.0.1 proto esp spi "$SPI_XK" \
		reqid "$REQ_XK" mode tunnel "$(alg_args "$HK_AEAD" 128 128 2)"
	# underlay: GRE between the veth addresses, transport mode
	cfg both state add src "$KA4" dst "$XB4" proto esp spi 0x3003 \
		reqid 33 mode transport "$(alg_args "$HK_AEAD" 128 128 3)"
	cfg both state add src "$XB4" dst "$KA4" proto esp spi 0x4004 \
		reqid 44 mode transport "$(alg_args "$HK_AEAD" 128 128 4)"
	cfg ka policy add src "$KAI4/32" dst "$XBI4/32" dir out \
		tmpl src 10.77.0.1 dst 10.77.0.2 proto esp reqid "$REQ_KX" mode tunnel
	cfg ka policy add src "$XBI4/32" dst "$KAI4/32" dir in \
		tmpl src 10.77.0.2 dst 10.77.0.1 proto esp reqid "$REQ_XK" mode tunnel
	cfg xb policy add src "$XBI4/32" dst "$KAI4/32" dir out \
		tmpl src 10.77.0.2 dst 10.77.0.1 proto esp reqid "$REQ_XK" mode tunnel
	cfg xb policy add src "$KAI4/32" dst "$XBI4/32" dir in \
		tmpl src 10.77.0.1 dst 10.77.0.2 proto esp reqid "$REQ_KX" mode tunnel
	cfg ka policy add src "$KA4/32" dst "$XB4/32" proto gre dir out \
		tmpl proto esp reqid 33 mode transport
	cfg ka policy add src "$XB4/32" dst "$KA4/32" proto gre dir in \
		tmpl proto esp reqid 44 mode transport
	cfg xb policy add src "$XB4/32" dst "$KA4/32" proto gre dir out \
		tmpl proto esp reqid 44 mode transport
	cfg xb policy add src "$KA4/32" dst "$XB4/32" proto gre dir in \
		tmpl proto esp reqid 33 mode transport
	cfg_apply
	sniff_start wire "$XB" "$XB_IF" --save none
	ping_ok "$KA" "$KAI4" "$XBI4" 2
	sniff_stop wire
	expect_eq "plaintext GRE on the wire" "$(sniff_count wire in:proto:47)" 0
	expect_eq "ESP of the underlay SA" "$(sniff_count wire in:esp:0x00003003)" 2
	snap
	expect_eq "kipsec overlay SA out" "$(snap_get ka "$SPI_KX" packets)" 2
}
ktest gre_underlay_protected t_hk_gre_underlay 120

# The same over an ip6gre underlay that a block policy forbids: the GRE
# packets that carry kipsec's ESP are classified and dropped, none leaves.
t_hk_ip6gre_block() {
	hk_need
	topo_up
	ip -n "$KA" -batch - <<-EOF || skip "no ip6gre devices"
		link add gre6 type ip6gre local $KA6 remote $XB6 ttl 64 encaplimit none
		addr add fd77::1/64 dev gre6 nodad
		link set gre6 up
	EOF
	cfg ka state add src fd77::1 dst fd77::2 proto esp spi "$SPI_KX" \
		reqid "$REQ_KX" mode tunnel "$(alg_args "$HK_AEAD" 128 128 1)"
	cfg ka policy add src "$KAI6/128" dst "$XBI6/128" dir out \
		tmpl src fd77::1 dst fd77::2 proto esp reqid "$REQ_KX" mode tunnel
	cfg ka policy add src "$KA6/128" dst "$XB6/128" proto gre dir out \
		action block
	cfg_apply
	sniff_start wire "$KA" "$KA_IF" --save none
	ping_fails "$KA" "$KAI6" "$XBI6"
	sniff_stop wire
	expect_eq "GRE on the wire" "$(sniff_count wire out:proto:47)" 0
	expect_ge "kipsec overlay SA out" \
		"$("$KIPSEC" -n "$KA" -s -j state list | jq '.[0].stats.out_packets')" 1
	expect_ge "out_discard" "$(ka_stat out_discard)" 1
}
ktest ip6gre_underlay_blocked t_hk_ip6gre_block 90
