# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# strongSwan, unmodified, keys kipsec: kipsec is loaded with
# xfrm_netlink=1 (xfrm_user unloaded), so charon's kernel-netlink plugin
# installs its SAs and policies in kipsec, which is then the datapath.
# One charon per netns of tests/lib/topo.sh (ka and xb, both on kipsec:
# the personality owns NETLINK_XFRM in every netns), IKEv2 with a PSK,
# two tunnel-mode CHILD_SAs: "gcm" (aes128gcm16) between the inner
# addresses 10.98.1.1 and 10.98.2.1, "cbc" (aes128-sha256) between
# 10.98.1.2 and 10.98.2.2.
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

sw_restore() {
	local pid
	for pid in "$TOPO_TMP"/*.charon.pid; do
		[ -e "$pid" ] && kill "$(cat "$pid")" 2>/dev/null
	done
	sleep 1
	printf 'xfrm state flush\nxfrm policy flush\n' | ip -batch - 2>/dev/null
	rmmod kipsec 2>/dev/null
	modprobe -q xfrm_user
	insmod "$KIPSEC_KO"
}

# sw_load: kipsec with xfrm_netlink=1 in place of xfrm_user (restored on exit)
sw_load() {
	[ -x "$SW_CHARON" ] || skip "no $SW_CHARON (strongswan-charon)"
	command -v swanctl >/dev/null || skip "no swanctl (strongswan-swanctl)"
	[ -f "$KIPSEC_KO" ] || skip "no $KIPSEC_KO"
	rmmod kipsec 2>/dev/null || true
	rmmod xfrm_user 2>/dev/null || skip "xfrm_user cannot be unloaded"
	trap sw_restore EXIT
	insmod "$KIPSEC_KO" xfrm_netlink=1 || fail "insmod xfrm_netlink=1 failed"
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

# sw_conf NS LOCAL REMOTE LOCAL_IN REMOTE_IN LOCAL_IN_B REMOTE_IN_B
sw_conf() {
	local ns=$1 me=$2 peer=$3 li=$4 ri=$5 lib=$6 rib=$7
	local d=$TOPO_TMP/$ns

	mkdir -p "$d"
	cat >"$d/strongswan.conf" <<-EOF
		charon {
		  load = $SW_PLUGINS
		  install_routes = no
		  retransmit_timeout = 8
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
		    local {
		      auth = psk
		      id = $me
		    }
		    remote {
		      auth = psk
		      id = $peer
		    }
		    children {
		      gcm {
		        local_ts = $li/32
		        remote_ts = $ri/32
		        mode = tunnel
		        esp_proposals = aes128gcm16
		      }
		      cbc {
		        local_ts = $lib/32
		        remote_ts = $rib/32
		        mode = tunnel
		        esp_proposals = aes128-sha256
		      }
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
		tail -n 12 "$TOPO_TMP/$ns.log" "$TOPO_TMP/$ns.out"
	done
	[ -n "${SW_LOGDIR:-}" ] && cp "$TOPO_TMP"/*.log "$SW_LOGDIR"/
	fail "$*"
}

# sw_spis NS: the SPIs kipsec holds in NS, sorted, one a line
sw_spis() {
	"$KIPSEC" -n "$1" -j state list | jq -r '.[] | .spi' | sort
}

# sw_poll DESC CMD...: poll CMD (every 0.5 s, at most 120 s) until it succeeds
sw_poll() {
	local desc=$1 i
	shift
	for ((i = 0; i < 240; i++)); do
		"$@" && return 0
		sleep 0.5
	done
	sw_fail "timed out waiting for $desc"
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

sw_up() {
	sw_load
	sw_topo
	sw_conf "$KA" "$KA4" "$XB4" "$KAI4" "$XBI4" "$KAI4B" "$XBI4B"
	sw_conf "$XB" "$XB4" "$KA4" "$XBI4" "$KAI4" "$XBI4B" "$KAI4B"
	sw_start "$KA"
	sw_start "$XB"
	sw_ctl "$KA" --initiate --child gcm --timeout 140 \
		>"$TOPO_TMP/init.out" 2>&1 ||
		{ cat "$TOPO_TMP/init.out"; sw_fail "initiate gcm"; }
	sw_ctl "$KA" --initiate --child cbc --timeout 140 \
		>"$TOPO_TMP/init2.out" 2>&1 ||
		{ cat "$TOPO_TMP/init2.out"; sw_fail "initiate cbc"; }
	sw_poll "gcm INSTALLED in $XB" sw_installed "$XB" gcm
	sw_poll "cbc INSTALLED in $XB" sw_installed "$XB" cbc
}

t_sw_tunnel() {
	local before old new spi

	need_py
	sw_up
	sw_nsas "$KA" 4 || sw_fail "kipsec in $KA holds $(sw_spis "$KA" | wc -l) SAs, not 4"
	sw_nsas "$XB" 4 || sw_fail "kipsec in $XB holds $(sw_spis "$XB" | wc -l) SAs, not 4"
	"$KIPSEC" -n "$KA" state list | grep -q 'rfc4106(gcm(aes))' ||
		sw_fail "no GCM SA in kipsec"
	"$KIPSEC" -n "$KA" state list | grep -q 'hmac(sha256)' ||
		sw_fail "no HMAC-SHA256 SA in kipsec"
	[ -z "$(in_netns "$KA" awk '$2 != 0' /proc/net/xfrm_stat)" ] ||
		sw_fail "xfrm counted packets: $(in_netns "$KA" cat /proc/net/xfrm_stat)"

	before=$(sw_packets "$KA")
	ping_ok "$KA" "$KAI4" "$XBI4" 3
	ping_ok "$KA" "$KAI4B" "$XBI4B" 3
	expect_ge "kipsec packets in $KA" "$(sw_packets "$KA")" $((before + 12))

	# rekey: new SPIs, the old ones deleted, traffic still flows
	old=$(sw_spis "$KA")
	sw_ctl "$KA" --rekey --child gcm >/dev/null || sw_fail "rekey gcm"
	sw_ctl "$KA" --rekey --child cbc >/dev/null || sw_fail "rekey cbc"
	sw_poll "rekeyed SAs in $KA" sw_rekeyed "$KA" "$old"
	sw_poll "rekeyed SAs in $XB" sw_rekeyed "$XB" "$old"
	new=$(sw_spis "$KA")
	log "SPIs before rekey: $(echo $old), after: $(echo $new)"
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

# sw_rekeyed NS OLD: NS holds 4 SAs, none of them with an SPI of OLD
sw_rekeyed() {
	local spi
	sw_nsas "$1" 4 || return 1
	for spi in $(sw_spis "$1"); do
		[[ $'\n'$2$'\n' == *$'\n'$spi$'\n'* ]] && return 1
	done
	return 0
}
ktest strongswan_tunnel t_sw_tunnel 600
