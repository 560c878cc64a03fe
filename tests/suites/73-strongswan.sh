# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# strongSwan, unmodified, keys kipsec: kipsec is loaded with
# xfrm_netlink=1 (xfrm_user unloaded), so charon's kernel-netlink plugin
# installs its SAs and policies in kipsec, which is then the datapath.
# One charon per netns of tests/lib/topo.sh (ka and xb, both on kipsec:
# the personality owns NETLINK_XFRM in every netns), IKEv2 with a PSK;
# ka's charon initiates.  strongswan_tunnel: GCM and CBC/SHA-256 tunnels,
# rekey, terminate.  strongswan_features: trap policies and ACQUIRE, ESN,
# rekey at a soft packet limit (EXPIRE), IPv6 in IPv4, transport mode.
# strongswan_mobike: the SAs follow ka's new address.
# strongswan_natt_lifecycle: forced UDP encapsulation (NAT-T) on the
# SAs and the wire, CHILD_SA rekeys at kipsec's soft time limit under a
# steady ping with nothing lost, an IKE_SA rekey, a CHILD_SA deleted at
# kipsec's hard time limit, DPD clearing ka once xb's charon is gone.
#
# Each charon reads its own strongswan.conf (STRONGSWAN_CONF), logs to
# $TOPO_TMP/NS.log (knl 2) and listens on its own vici socket; it runs in
# a mount namespace of its own with a private /run for its pid file.

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

SW_CHARON=/usr/lib/ipsec/charon
SW_PLUGINS="random nonce openssl kdf pem pkcs1 x509 revocation constraints pubkey \
socket-default kernel-netlink vici updown"
KAI4B=10.98.1.2
XBI4B=10.98.2.2

# sw_load: kipsec with xfrm_netlink=1 in place of xfrm_user (restored on exit)
sw_load() {
	[ -x "$SW_CHARON" ] || skip "no $SW_CHARON (strongswan-charon)"
	command -v swanctl >/dev/null || skip "no swanctl (strongswan-swanctl)"
	# the charons remove their SAs and policies before kipsec goes
	xnl_load "xnl_stop_daemons '*.charon.pid'"
}

# sw_topo: topo.sh's namespaces plus a second inner address on each side
sw_topo() {
	topo_up
	ip -n "$KA" -batch - <<-EOF
		addr add $KAI4B/32 dev lo
		route add $XBI4B/32 via $XB4 dev $KA_IF src $KAI4B
	EOF
	ip -n "$XB" -batch - <<-EOF
		addr add $XBI4B/32 dev lo
		route add $KAI4B/32 via $KA4 dev $XB_IF src $XBI4B
	EOF
}

# sw_conf NS LOCAL REMOTE CHILDREN: NS's strongswan.conf and swanctl.conf,
# with the CHILD_SAs that the function CHILDREN prints (given "ka" or "xb",
# the side it writes for); SW_CHARON_EXTRA adds lines to the charon
# section, SW_CONN_EXTRA to the connection
SW_CHARON_EXTRA=
SW_CONN_EXTRA=
sw_conf() {
	local ns=$1 me=$2 peer=$3 children=$4
	local d=$TOPO_TMP/$ns

	mkdir -p "$d"
	cat >"$d/strongswan.conf" <<-EOF
		charon {
		  load = $SW_PLUGINS
		  install_routes = no
		  retransmit_timeout = 8
		$SW_CHARON_EXTRA
		  plugins {
		    vici {
		      socket = unix://$d/vici
		    }
		  }
		  filelog {
		    main {
		      path = $TOPO_TMP/$ns.log
		      default = 1
		      knl = 2
		      ike = 2
		      cfg = 1
		      time_format = %T
		      flush_line = yes
		    }
		  }
		}
		swanctl {
		  load = pem pkcs1 x509 revocation constraints pubkey openssl random
		}
	EOF
	cat >"$d/swanctl.conf" <<-EOF
		connections {
		  sw {
		    version = 2
		    local_addrs = $me
		    remote_addrs = $peer
		    proposals = aes128-sha256-modp2048
		$SW_CONN_EXTRA
		    local {
		      auth = psk
		      id = $me
		    }
		    remote {
		      auth = psk
		      id = $peer
		    }
		    children {
		$("$children" "$ns")
		    }
		  }
		}
		secrets {
		  ike-sw {
		    id-a = $me
		    id-b = $peer
		    secret = kipsec-strongswan-test-psk
		  }
		}
	EOF
}

# sw_child NAME LOCAL_TS REMOTE_TS ESP_PROPOSALS [SETTING...]: one child
sw_child() {
	local name=$1 l=$2 r=$3 esp=$4 kv
	shift 4
	printf '%s {\n local_ts = %s\n remote_ts = %s\n esp_proposals = %s\n' \
		"$name" "$l" "$r" "$esp"
	for kv in "$@"; do
		printf ' %s\n' "$kv"
	done
	printf '}\n'
}

# sw_ts SIDE A B: A on side ka, B on side xb (local and remote swap)
sw_ts() {
	if [ "$1" = "$KA" ]; then echo "$2"; else echo "$3"; fi
}

# the CHILD_SAs of strongswan_tunnel: GCM and CBC/SHA-256 tunnels
sw_children_tunnel() {
	local s=$1
	sw_child gcm "$(sw_ts "$s" $KAI4 $XBI4)/32" "$(sw_ts "$s" $XBI4 $KAI4)/32" \
		aes128gcm16 "mode = tunnel"
	sw_child cbc "$(sw_ts "$s" $KAI4B $XBI4B)/32" \
		"$(sw_ts "$s" $XBI4B $KAI4B)/32" aes128-sha256 "mode = tunnel"
}

# sw_ctl NS COMMAND ARGS...: swanctl COMMAND against NS's charon
sw_ctl() {
	local ns=$1 cmd=$2
	shift 2
	STRONGSWAN_CONF=$TOPO_TMP/$ns/strongswan.conf \
		swanctl "$cmd" --uri "unix://$TOPO_TMP/$ns/vici" "$@"
}

# sw_start NS: start NS's charon and load its configuration
sw_start() {
	local ns=$1 i
	# shellcheck disable=SC2016
	STRONGSWAN_CONF=$TOPO_TMP/$ns/strongswan.conf \
		nsenter --net="/run/netns/$ns" unshare -m sh -c \
		'mount -t tmpfs tmpfs /run && exec "$0"' "$SW_CHARON" \
		>"$TOPO_TMP/$ns.out" 2>&1 &
	echo $! >"$TOPO_TMP/$ns.charon.pid"
	for ((i = 0; i < 300; i++)); do
		[ -S "$TOPO_TMP/$ns/vici" ] && break
		kill -0 "$!" 2>/dev/null || break
		sleep 0.2
	done
	[ -S "$TOPO_TMP/$ns/vici" ] || sw_fail "charon in $ns did not start"
	sw_ctl "$ns" --load-all --file "$TOPO_TMP/$ns/swanctl.conf" \
		>"$TOPO_TMP/$ns.load" 2>&1 || sw_fail "swanctl --load-all in $ns"
}

# sw_fail TEXT: fail with the tail of the charons' logs
sw_fail() {
	local ns
	set +e
	for ns in "$KA" "$XB"; do
		echo "--- charon in $ns"
		grep -E 'EXPIRE|job for CHILD_SA|giving up|error' "$TOPO_TMP/$ns.log" | tail -n 6
		echo "..."
		tail -n 8 "$TOPO_TMP/$ns.log" "$TOPO_TMP/$ns.out"
	done
	fail "$*"
}

# sw_spis NS: the SPIs kipsec holds in NS, sorted, one a line
sw_spis() {
	"$KIPSEC" -n "$1" -j state list | jq -r '.[] | .spi' | sort
}

# sw_poll DESC CMD...: poll CMD (every 0.5 s, at most 120 s) until it
# succeeds.  The bound is in seconds, not tries: one try runs swanctl and
# the CLI a few times, which may take seconds under TCG.
sw_poll() {
	local desc=$1 end=$((SECONDS + 120))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || sw_fail "timed out waiting for $desc"
		sleep 0.5
	done
}

# sw_nsas NS N: kipsec holds exactly N SAs in NS
sw_nsas() {
	[ "$(sw_spis "$1" | wc -l)" = "$2" ]
}

# sw_installed NS CHILD: swanctl lists CHILD as INSTALLED in NS
sw_installed() {
	sw_ctl "$1" --list-sas --child "$2" 2>/dev/null | grep -q INSTALLED
}

# sw_packets NS: in + out packets over every kipsec SA of NS
sw_packets() {
	"$KIPSEC" -n "$1" -s -j state list |
		jq '[.[] | .stats.in_packets + .stats.out_packets] | add // 0'
}

# sw_up CHILDREN: kipsec as the XFRM personality, the topology, and a
# charon on each side with the CHILD_SAs of the function CHILDREN
sw_up() {
	sw_load
	sw_topo
	sw_conf "$KA" "$KA4" "$XB4" "$1"
	sw_conf "$XB" "$XB4" "$KA4" "$1"
	sw_start "$KA"
	sw_start "$XB"
}

# sw_initiate CHILD: ka's charon brings CHILD up, and xb installed it too
sw_initiate() {
	sw_ctl "$KA" --initiate --child "$1" --timeout 140 \
		>"$TOPO_TMP/init-$1.out" 2>&1 ||
		{ cat "$TOPO_TMP/init-$1.out"; sw_fail "initiate $1"; }
	sw_poll "$1 INSTALLED in $XB" sw_installed "$XB" "$1"
}

# sw_child_spis NS CHILD: the SPIs charon lists for CHILD, one a line
sw_child_spis() {
	sw_ctl "$1" --list-sas --child "$2" |
		awk '$1 == "in" || $1 == "out" { sub(/,.*/, "", $2); print "0x" $2 }' |
		sort
}

# sw_has_spis NS SPIS: kipsec holds every SPI of SPIS in NS
sw_has_spis() {
	local spi have
	have=$(sw_spis "$1")
	for spi in $2; do
		[[ $'\n'$have$'\n' == *$'\n'$spi$'\n'* ]] || return 1
	done
}

# sw_none_of NS SPIS: kipsec holds no SPI of SPIS in NS
sw_none_of() {
	local spi have
	have=$(sw_spis "$1")
	for spi in $2; do
		[[ $'\n'$have$'\n' == *$'\n'$spi$'\n'* ]] && return 1
	done
	return 0
}

# sw_rekeyed NS OLD: NS holds 4 SAs, none of them with an SPI of OLD
sw_rekeyed() {
	sw_nsas "$1" 4 && sw_none_of "$1" "$2"
}

# sw_has_policy NS DST: kipsec holds a policy towards DST in NS
sw_has_policy() {
	"$KIPSEC" -n "$1" policy list | grep -qE "dst $2( |$)"
}

t_sw_tunnel() {
	local before old new

	need_py
	sw_up sw_children_tunnel
	sw_initiate gcm
	sw_initiate cbc
	sw_nsas "$KA" 4 || sw_fail "kipsec in $KA holds $(sw_spis "$KA" | wc -l) SAs, not 4"
	sw_nsas "$XB" 4 || sw_fail "kipsec in $XB holds $(sw_spis "$XB" | wc -l) SAs, not 4"
	"$KIPSEC" -n "$KA" state list | grep -q 'rfc4106(gcm(aes))' ||
		sw_fail "no GCM SA in kipsec"
	"$KIPSEC" -n "$KA" state list | grep -q 'hmac(sha256)' ||
		sw_fail "no HMAC-SHA256 SA in kipsec"
	# shellcheck disable=SC2016
	[ -z "$(in_netns "$KA" awk '$2 != 0' /proc/net/xfrm_stat)" ] ||
		sw_fail "xfrm counted packets: $(in_netns "$KA" cat /proc/net/xfrm_stat)"

	before=$(sw_packets "$KA")
	ping_ok "$KA" "$KAI4" "$XBI4" 3
	ping_ok "$KA" "$KAI4B" "$XBI4B" 3
	expect_ge "kipsec packets in $KA" "$(sw_packets "$KA")" $((before + 12))
	# charon reads the SA's usage back (GETSA)
	sw_ctl "$KA" --list-sas --child gcm | grep -q ' [1-9][0-9]* packets' ||
		sw_fail "swanctl lists no packets: $(sw_ctl "$KA" --list-sas)"

	# rekey: new SPIs, the old ones deleted, traffic still flows
	old=$(sw_spis "$KA")
	sw_ctl "$KA" --rekey --child gcm >/dev/null || sw_fail "rekey gcm"
	sw_ctl "$KA" --rekey --child cbc >/dev/null || sw_fail "rekey cbc"
	sw_poll "rekeyed SAs in $KA" sw_rekeyed "$KA" "$old"
	sw_poll "rekeyed SAs in $XB" sw_rekeyed "$XB" "$old"
	new=$(sw_spis "$KA")
	log "SPIs before rekey: ${old//$'\n'/ }, after: ${new//$'\n'/ }"
	before=$(sw_packets "$KA")
	ping_ok "$KA" "$KAI4" "$XBI4" 3
	ping_ok "$XB" "$XBI4B" "$KAI4B" 3
	expect_ge "kipsec packets after rekey" "$(sw_packets "$KA")" $((before + 12))

	sw_ctl "$KA" --terminate --ike sw --timeout 60 >/dev/null ||
		sw_fail "terminate"
	sw_poll "no SA left in $KA" sw_nsas "$KA" 0
	sw_poll "no SA left in $XB" sw_nsas "$XB" 0
	[ -z "$("$KIPSEC" -n "$KA" policy list)" ] ||
		sw_fail "policies left in $KA: $("$KIPSEC" -n "$KA" policy list)"
}

ktest strongswan_tunnel t_sw_tunnel 600

# the CHILD_SAs of strongswan_features
sw_children_features() {
	local s=$1 trap=() pkts=()
	# ka's charon only: trap policies (kipsec's ACQUIRE starts the IKE_SA)
	# and a soft packet limit (kipsec's soft EXPIRE starts the rekey)
	if [ "$s" = "$KA" ]; then
		trap=("start_action = trap")
		pkts=("rekey_packets = 30" "life_packets = 1000" "rand_packets = 0")
	fi
	sw_child trap "$(sw_ts "$s" $KAI4 $XBI4)/32" "$(sw_ts "$s" $XBI4 $KAI4)/32" \
		aes128gcm16-esn "${trap[@]}"
	sw_child pkts "$(sw_ts "$s" $KAI4B $XBI4B)/32" \
		"$(sw_ts "$s" $XBI4B $KAI4B)/32" aes128-sha256-esn "${pkts[@]}"
	sw_child v6 "$(sw_ts "$s" $KAI6 $XBI6)/128" "$(sw_ts "$s" $XBI6 $KAI6)/128" \
		aes256gcm16
	sw_child tp "dynamic[icmp]" "dynamic[icmp]" aes128gcm16 "mode = transport"
}

# sw_trigger: one ping from ka's inner address, and the trap child is up
sw_trigger() {
	in_netns "$KA" timeout 5 busybox ping -c 1 -W 2 -I "$KAI4" "$XBI4" \
		>/dev/null 2>&1 || true
	sw_installed "$KA" trap
}

t_sw_features() {
	local old new

	need_py
	sw_up sw_children_features
	sw_poll "trap policies in $KA" sw_has_policy "$KA" "$XBI4/32"
	sw_nsas "$KA" 0 || sw_fail "SAs before any traffic: $(sw_spis "$KA")"
	sw_poll "trap child up on demand" sw_trigger
	ping_ok "$KA" "$KAI4" "$XBI4" 3
	[ "$("$KIPSEC" -n "$KA" state list | grep -c 'flag.*esn')" -ge 2 ] ||
		sw_fail "no ESN SAs: $("$KIPSEC" -n "$KA" state list)"

	sw_initiate pkts
	sw_initiate v6
	sw_initiate tp
	sw_nsas "$KA" 8 || sw_fail "kipsec holds $(sw_spis "$KA" | wc -l) SAs, not 8"
	ping_ok "$KA" "$KAI6" "$XBI6" 3
	ping_ok "$KA" "$KA4" "$XB4" 3
	"$KIPSEC" -n "$KA" state list | grep -q 'mode transport' ||
		sw_fail "no transport SA: $("$KIPSEC" -n "$KA" state list)"

	# 32 packets each way cross the soft limit of 30, not the hard one
	old=$(sw_child_spis "$KA" pkts)
	ping_ok "$KA" "$KAI4B" "$XBI4B" 20
	ping_ok "$KA" "$KAI4B" "$XBI4B" 12
	sw_poll "rekey of pkts on its soft packet limit" sw_none_of "$KA" "$old"
	new=$(sw_child_spis "$KA" pkts)
	sw_has_spis "$KA" "$new" || sw_fail "kipsec lacks the new SPIs $new"
	log "pkts SPIs ${old//$'\n'/ } replaced by ${new//$'\n'/ } at the soft limit"
	ping_ok "$KA" "$KAI4B" "$XBI4B" 3

	sw_ctl "$KA" --terminate --ike sw --timeout 60 >/dev/null ||
		sw_fail "terminate"
	sw_poll "no SA left in $KA" sw_nsas "$KA" 0
	sw_has_policy "$KA" "$XBI4/32" ||
		sw_fail "terminate removed the trap policies"
	sw_ctl "$KA" --uninstall --child trap >/dev/null || sw_fail "uninstall"
	[ -z "$("$KIPSEC" -n "$KA" policy list)" ] ||
		sw_fail "policies left: $("$KIPSEC" -n "$KA" policy list)"
}
ktest strongswan_features t_sw_features 600

# the CHILD_SA of strongswan_mobike
sw_children_mobike() {
	local s=$1
	sw_child gcm "$(sw_ts "$s" $KAI4 $XBI4)/32" "$(sw_ts "$s" $XBI4 $KAI4)/32" \
		aes128gcm16-esn
}

# sw_sa_src NS SRC: kipsec's SAs in NS are all to or from SRC
sw_sa_src() {
	local n
	n=$("$KIPSEC" -n "$1" -j state list |
		jq --arg a "$2" '[.[] | select(.src == $a or .dst == $a)] | length')
	[ "$n" = 2 ] && sw_nsas "$1" 2
}

# sw_seq NS seq|oseq SRC: that sequence number of NS's SA from SRC
sw_seq() {
	"$KIPSEC" -n "$1" -j state list |
		jq --arg a "$3" --arg f "$2" '[.[] | select(.src == $a) | .[$f]][0] // 0'
}

# MOBIKE: ka's IKE address moves; both charons move the SAs (GETSA and
# GETAE for the replay state, DELSA, NEWSA with it) and the policies'
# templates (UPDPOLICY), and the tunnel carries on from the new address
t_sw_mobike() {
	local new=10.99.0.11

	need_py
	sw_load
	sw_topo
	# IPv4 only: with IPv6 on the veths MOBIKE may as well pick the
	# IPv6 path, and the test could not say where the SAs must go
	in_netns "$KA" sysctl -qw net.ipv6.conf.$KA_IF.disable_ipv6=1
	in_netns "$XB" sysctl -qw net.ipv6.conf.$XB_IF.disable_ipv6=1
	sw_conf "$KA" "$KA4" "$XB4" sw_children_mobike
	sw_conf "$XB" "$XB4" "$KA4" sw_children_mobike
	sw_start "$KA"
	sw_start "$XB"
	sw_initiate gcm
	ping_ok "$KA" "$KAI4" "$XBI4" 5
	in_netns "$KA" sysctl -qw net.ipv4.conf.all.promote_secondaries=1 \
		net.ipv4.conf.$KA_IF.promote_secondaries=1
	ip -n "$KA" -batch - <<-EOF2
		addr add $new/24 dev $KA_IF
		addr del $KA4/24 dev $KA_IF
	EOF2
	sw_poll "SAs moved to $new in $KA" sw_sa_src "$KA" "$new"
	sw_poll "SAs moved to $new in $XB" sw_sa_src "$XB" "$new"
	"$KIPSEC" -n "$KA" policy list | grep -q "tmpl src $new dst $XB4" ||
		sw_fail "policy templates not moved: $("$KIPSEC" -n "$KA" policy list)"
	ping_ok "$KA" "$KAI4" "$XBI4" 5
	# the moved SAs carry on the sequence numbers (charon read them with
	# GETAE and gave them back on NEWSA): 10 pings each way so far
	expect_ge "ka's outbound sequence number after the move" \
		"$(sw_seq "$KA" oseq "$new")" 10
	expect_ge "xb's inbound sequence number after the move" \
		"$(sw_seq "$XB" seq "$new")" 10
	sw_ctl "$KA" --list-sas | grep -q "$new" ||
		sw_fail "charon did not move: $(sw_ctl "$KA" --list-sas)"
}
ktest strongswan_mobike t_sw_mobike 600

# the CHILD_SAs of strongswan_natt_lifecycle.  Only ka's charon gets the
# short lifetimes, so that what happens to xb's SAs shows what ka's
# charon did on kipsec's EXPIREs: nat is rekeyed every few seconds at
# kipsec's soft time limit; hard is never rekeyed and is deleted at its
# hard time limit
sw_children_natt() {
	local s=$1 rk=() hard=()
	if [ "$s" = "$KA" ]; then
		rk=("rekey_time = 6s" "life_time = 60s" "rand_time = 0")
		hard=("rekey_time = 0" "life_time = 15s" "rand_time = 0")
	fi
	sw_child nat "$(sw_ts "$s" $KAI4 $XBI4)/32" "$(sw_ts "$s" $XBI4 $KAI4)/32" \
		aes128gcm16 "${rk[@]}"
	sw_child hard "$(sw_ts "$s" $KAI4B $XBI4B)/32" \
		"$(sw_ts "$s" $XBI4B $KAI4B)/32" aes128-sha256 "${hard[@]}"
}

# sw_plain_sas NS: how many of NS's kipsec SAs are not ESP in UDP 4500 4500
sw_plain_sas() {
	"$KIPSEC" -n "$1" -j state list | jq '[.[] | select(.encap.type !=
		"espinudp" or .encap.sport != 4500 or .encap.dport != 4500)] | length'
}

# sw_drops NS: the sum of kipsec's drop counters in NS (every counter but
# the counters of KIPSEC_NOT_DROP)
sw_drops() {
	"$KIPSEC" -n "$1" -j stats | jq --arg nd "$KIPSEC_NOT_DROP" '[to_entries[] | select(.key |
		test($nd) | not) | .value] | add'
}

# sw_ike NS: NS's established IKE_SA, as its two IKE SPIs
sw_ike() {
	sw_ctl "$1" --list-sas --ike sw 2>/dev/null |
		awk '$1 == "sw:" && $3 == "ESTABLISHED," {
			gsub(/\*/, ""); print $5, $6; exit }'
}

# sw_ike_rekeyed NS OLD: NS has an established IKE_SA other than OLD, and
# the nat CHILD_SA under it
sw_ike_rekeyed() {
	local now
	now=$(sw_ike "$1")
	[ -n "$now" ] && [ "$now" != "$2" ] && sw_installed "$1" nat
}

# sw_gone OLD: no SPI of OLD is left in kipsec on either side
sw_gone() {
	sw_none_of "$KA" "$1" && sw_none_of "$XB" "$1"
}

# sw_ka_clear: no SA and no policy left in ka's kipsec
sw_ka_clear() {
	sw_nsas "$KA" 0 && [ -z "$("$KIPSEC" -n "$KA" policy list)" ]
}

# NAT traversal forced (encap = yes), CHILD_SA rekeys at kipsec's soft
# expiry under a steady ping, an IKE_SA rekey, a CHILD_SA deleted at
# kipsec's hard expiry, and DPD clearing the survivor when xb's charon
# dies: one pair of charons for all (they cost the most time)
t_sw_natt_lifecycle() {
	local old hard ike n out sent got d0k d0x

	need_py
	# DPD declares the peer dead after its retransmits: 3 s, 3 s and 3 s
	# rather than the default 8 s growing by 1.8 five times (330 s)
	SW_CHARON_EXTRA="retransmit_timeout = 3
retransmit_base = 1.0
retransmit_tries = 2"
	SW_CONN_EXTRA="encap = yes
dpd_delay = 2s"
	sw_up sw_children_natt
	sw_initiate nat
	sw_initiate hard
	hard=$(sw_child_spis "$KA" hard)

	# NAT-T: every SA is ESP in UDP 4500 4500, and so is the wire
	# (a rekey of nat may be under way: 4 SAs or more)
	expect_ge "SAs in $KA" "$(sw_spis "$KA" | wc -l)" 4
	expect_ge "SAs in $XB" "$(sw_spis "$XB" | wc -l)" 4
	expect_eq "SAs not ESP in UDP 4500 in $KA" "$(sw_plain_sas "$KA")" 0
	expect_eq "SAs not ESP in UDP 4500 in $XB" "$(sw_plain_sas "$XB")" 0
	sniff_start natt "$KA" "$KA_IF"
	ping_ok "$KA" "$KAI4" "$XBI4" 5
	ping_ok "$XB" "$XBI4B" "$KAI4B" 5
	sniff_stop natt
	expect_ge "UDP 4500 packets ka -> xb" "$(sniff_count natt out:udp:4500)" 10
	expect_ge "UDP 4500 packets xb -> ka" "$(sniff_count natt in:udp:4500)" 10
	expect_eq "plain ESP ka -> xb" "$(sniff_count natt out:esp)" 0
	expect_eq "plain ESP xb -> ka" "$(sniff_count natt in:esp)" 0
	expect_eq "plaintext ICMP ka -> xb" "$(sniff_count natt out:icmp:8)" 0
	expect_eq "kipsec in_encap_mismatch in $KA" \
		"$("$KIPSEC" -n "$KA" -j stats | jq .in_encap_mismatch)" 0

	# CHILD_SA rekeys under a steady ping (20 a second for 20 s, across
	# at least one rekey at kipsec's soft limit): nothing lost, no drop
	old=$(sw_child_spis "$KA" nat)
	n=$(grep -c 'creating rekey job for CHILD_SA' "$TOPO_TMP/$KA.log" || true)
	d0k=$(sw_drops "$KA")
	d0x=$(sw_drops "$XB")
	out=$(in_netns "$KA" timeout 60 busybox ping -i 0.05 -c 400 -W 5 \
		-I "$KAI4" "$XBI4" 2>&1 | tail -n 2) || true
	sent=$(echo "$out" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
	got=$(echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
	if [ "${sent:-0}" != 400 ] || [ "${got:-0}" != 400 ]; then
		sw_fail "steady ping across rekeys: $out"
	fi
	sw_none_of "$KA" "$old" || sw_fail "nat not rekeyed during the ping"
	n=$(($(grep -c 'creating rekey job for CHILD_SA' "$TOPO_TMP/$KA.log") - n))
	expect_ge "rekeys at kipsec's soft expiry during the ping" "$n" 1
	expect_eq "kipsec drops in $KA during the rekeys" "$(sw_drops "$KA")" "$d0k"
	expect_eq "kipsec drops in $XB during the rekeys" "$(sw_drops "$XB")" "$d0x"
	log "400/400 pings across $n rekeys of nat, no drop (at ${SECONDS}s)"

	# IKE_SA rekey: a new IKE_SA takes over the CHILD_SAs, traffic goes on
	ike=$(sw_ike "$KA")
	[ -n "$ike" ] || sw_fail "no established IKE_SA"
	sw_ctl "$KA" --rekey --ike sw >/dev/null || sw_fail "rekey the IKE_SA"
	sw_poll "IKE_SA rekeyed in $KA" sw_ike_rekeyed "$KA" "$ike"
	sw_poll "IKE_SA rekeyed in $XB" sw_ike_rekeyed "$XB" "$ike"
	log "IKE SPIs $ike replaced by $(sw_ike "$KA") (at ${SECONDS}s)"
	ping_ok "$KA" "$KAI4" "$XBI4" 3

	# hard: kipsec's hard EXPIRE reached ka's charon, which deleted the
	# CHILD_SA at both ends (xb's SAs have no short lifetime of their own,
	# so only ka's DELETE removes them).  charon then negotiates it
	# afresh, with new SPIs (strongSwan 5.9.8 re-creates a CHILD_SA that
	# expired without a rekey)
	sw_poll "hard deleted at its hard lifetime" sw_gone "$hard"
	grep -qE "creating delete job for CHILD_SA ESP/(${hard//$'\n'/|})/" \
		"$TOPO_TMP/$KA.log" ||
		sw_fail "no hard EXPIRE for hard's SAs (${hard//$'\n'/ }) reached charon"
	log "hard's SAs deleted at their hard lifetime (at ${SECONDS}s)"

	# DPD: xb's charon dies without a word; ka's finds it dead and
	# removes its SAs and policies from kipsec
	kill -KILL "$(cat "$TOPO_TMP/$XB.charon.pid")"
	sw_poll "ka's SAs and policies cleared after DPD" sw_ka_clear
	grep -q 'giving up after' "$TOPO_TMP/$KA.log" ||
		sw_fail "ka's charon did not give up on xb"
	log "DPD cleared ka (at ${SECONDS}s)"
}
ktest strongswan_natt_lifecycle t_sw_natt_lifecycle 600
