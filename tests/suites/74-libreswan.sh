# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# libreswan's pluto, unmodified, keys kipsec: kipsec is loaded with
# xfrm_netlink=1 (xfrm_user unloaded), so pluto's XFRM netlink calls
# install its SAs and policies in kipsec, which is then the datapath.
# One pluto per netns of tests/lib/topo.sh (ka and xb, both on kipsec),
# IKEv2 with a PSK; ka's pluto initiates.  libreswan_tunnel: one
# AES-GCM tunnel between the inner addresses, established, its SAs in
# kipsec, pings both ways through kipsec and not through xfrm, pluto's
# traffic status (GETSA), a rekey of the IPsec SA, and the teardown;
# and pluto refuses a MOBIKE connection, kipsec answering its MIGRATE
# probe as a kernel without CONFIG_XFRM_MIGRATE does.
#
# Debian's libreswan conflicts with strongSwan's packages, so it is not
# installed: scripts/deps.sh unpacks its .deb under tests/.build/libreswan
# (LIBRESWAN_ROOT overrides), and this suite runs pluto from there with
# every path given on its command line and in its ipsec.conf, nothing
# under /etc.  Each pluto gets a directory of its own under $TOPO_TMP
# (ipsec.conf, ipsec.secrets, an NSS db, its control socket), logs to
# $TOPO_TMP/NS.log, and runs in a mount namespace of its own with a
# private /run.

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

LS_ROOT=${LIBRESWAN_ROOT:-${REPO:-$(cd "$TOPO_LIB/../.." && pwd)}/tests/.build/libreswan}
LS_LIBEXEC=$LS_ROOT/usr/libexec/ipsec
LS_PLUTO=$LS_LIBEXEC/pluto
LS_WHACK=$LS_LIBEXEC/whack
LS_ADDCONN=$LS_LIBEXEC/addconn

# ls_load: libreswan's files, then kipsec with xfrm_netlink=1 in place
# of xfrm_user (restored on exit)
ls_load() {
	local f
	for f in "$LS_PLUTO" "$LS_WHACK" "$LS_ADDCONN"; do
		[ -x "$f" ] || skip "no $f (libreswan: run make deps)"
	done
	command -v certutil >/dev/null || skip "no certutil (libnss3-tools)"
	# the plutos delete their SAs and policies before kipsec goes
	xnl_load "xnl_stop_daemons '*.pluto.pid'"
}

# ls_conf NS LOCAL REMOTE LSUBNET RSUBNET: NS's ipsec.conf, secrets and
# NSS db (pluto keeps its keys in NSS even for a PSK)
ls_conf() {
	local ns=$1 me=$2 peer=$3 lnet=$4 rnet=$5
	local d=$TOPO_TMP/$ns

	mkdir -p "$d/run" "$d/nss"
	certutil -N --empty-password -d "sql:$d/nss" ||
		fail "certutil -N in $d/nss"
	# updown disabled: the topology routes the inner addresses already,
	# and libreswan's _updown is not installed
	cat >"$d/ipsec.conf" <<-EOF
		config setup
		  logfile=$TOPO_TMP/$ns.log
		  logtime=yes
		  plutodebug=none
		  dumpdir=$d/run
		  ipsecdir=$d
		  nssdir=$d/nss
		  secretsfile=$d/ipsec.secrets
		  nhelpers=1
		conn ls
		  ikev2=insist
		  authby=secret
		  left=$me
		  leftsubnet=$lnet
		  right=$peer
		  rightsubnet=$rnet
		  ike=aes128-sha2_256-modp2048
		  esp=aes_gcm128-null
		  leftupdown=%disabled
		  rightupdown=%disabled
		  auto=add
	EOF
	printf '%s %s : PSK "kipsec-libreswan-test-psk"\n' "$me" "$peer" \
		>"$d/ipsec.secrets"
	chmod 600 "$d/ipsec.secrets"
}

# ls_conf_mobike NS: a second connection, with MOBIKE, which NS's pluto
# must refuse: kipsec answers its MIGRATE probe with ENOPROTOOPT
ls_conf_mobike() {
	cat >>"$TOPO_TMP/$1/ipsec.conf" <<-EOF
		conn mk
		  ikev2=insist
		  authby=secret
		  mobike=yes
		  left=$KA4
		  right=$XB4
		  leftupdown=%disabled
		  auto=add
	EOF
}

# ls_whack NS ARGS...: whack against NS's pluto
ls_whack() {
	local ns=$1
	shift
	"$LS_WHACK" --ctlsocket "$TOPO_TMP/$ns/run/pluto.ctl" "$@"
}

# ls_fail TEXT: fail with the tail of the plutos' logs
ls_fail() {
	local ns
	set +e
	for ns in "$KA" "$XB"; do
		echo "--- pluto in $ns"
		tail -n 15 "$TOPO_TMP/$ns.log" "$TOPO_TMP/$ns.out"
		echo "--- kipsec in $ns"
		"$KIPSEC" -n "$ns" state list
		"$KIPSEC" -n "$ns" policy list
	done
	fail "$*"
}

# ls_ready NS: NS's pluto has loaded the connection and listens for IKE
# (its own addconn --autoall does both, in that order, once it starts);
# whack's output is read whole (grep -q would break whack's pipe)
ls_ready() {
	local out
	out=$(ls_whack "$1" --status 2>/dev/null) || return 1
	[[ $out == *"interface "*":500"* ]]
}

# ls_start NS: start NS's pluto (ls_wait waits for it); pluto runs
# IPSEC_EXECDIR/addconn, a path compiled in (/usr/libexec/ipsec), so the
# unpacked libexec is bound over /usr/libexec in pluto's mount namespace
ls_start() {
	local ns=$1 d=$TOPO_TMP/$1
	# shellcheck disable=SC2016
	nsenter --net="/run/netns/$ns" unshare -m sh -c \
		'mount -t tmpfs tmpfs /run && mount --bind "$0" /usr/libexec &&
		exec "$@"' "$LS_ROOT/usr/libexec" "$LS_PLUTO" \
		--nofork --config "$d/ipsec.conf" --rundir "$d/run" \
		--nssdir "$d/nss" --secretsfile "$d/ipsec.secrets" \
		--ipsecdir "$d" --no-dnssec \
		>"$TOPO_TMP/$ns.out" 2>&1 &
	echo $! >"$TOPO_TMP/$ns.pluto.pid"
}

# ls_wait NS: NS's pluto is ready, or fail (bounded: 40 s)
ls_wait() {
	local ns=$1 pid i
	pid=$(cat "$TOPO_TMP/$ns.pluto.pid")
	for ((i = 0; i < 100; i++)); do
		ls_ready "$ns" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	ls_ready "$ns" && return 0
	# a runtime library missing (libreswan is unpacked, not installed:
	# make deps installs its libraries by name, and a list can fall
	# behind) is a prerequisite, not a failure; it is checked here, not
	# with pluto --version beforehand, which costs seconds in the guest
	if grep -q 'error while loading shared libraries' "$TOPO_TMP/$ns.out"; then
		skip "pluto does not run: $(head -n 1 "$TOPO_TMP/$ns.out")"
	fi
	ls_fail "pluto in $ns did not start"
}

# ls_errors: what the plutos logged as errors (a kernel call refused)
ls_errors() {
	grep -hE 'ERROR|FATAL|errno' "$TOPO_TMP/$KA.log" "$TOPO_TMP/$XB.log" || true
}

# ls_poll DESC CMD...: poll CMD (every 0.5 s, at most 30 s) until it succeeds
ls_poll() {
	local desc=$1 i
	shift
	for ((i = 0; i < 60; i++)); do
		"$@" && return 0
		sleep 0.5
	done
	ls_fail "timed out waiting for $desc"
}

# ls_up NS: pluto in NS lists the connection's IPsec SA in its traffic status
ls_up() {
	local out
	out=$(ls_whack "$1" --trafficstatus 2>/dev/null) || return 1
	[[ $out == *'"ls", type=ESP'* ]]
}

# ls_pluto_spis NS: the ESP SPIs pluto's status names, sorted, one a line
ls_pluto_spis() {
	ls_whack "$1" --status | grep -o 'esp\.[0-9a-f]*@' |
		sed 's/^esp\.\([0-9a-f]*\)@$/\1/' |
		while read -r s; do printf '0x%08x\n' "0x$s"; done | sort -u
}

# ls_spis NS: the SPIs kipsec holds in NS, sorted, one a line
ls_spis() {
	"$KIPSEC" -n "$1" -j state list | jq -r '.[] | .spi' | sort
}

# ls_nsas NS N: kipsec holds exactly N SAs in NS
ls_nsas() {
	[ "$(ls_spis "$1" | wc -l)" = "$2" ]
}

# ls_packets NS: in + out packets over every kipsec SA of NS
ls_packets() {
	"$KIPSEC" -n "$1" -s -j state list |
		jq '[.[] | .stats.in_packets + .stats.out_packets] | add // 0'
}

# ls_xfrm_counted NS: every non-zero /proc/net/xfrm_stat counter of NS
ls_xfrm_counted() {
	# shellcheck disable=SC2016
	in_netns "$1" awk '$2 != 0 { printf "%s=%s ", $1, $2 }' /proc/net/xfrm_stat
}

# ls_has_policy NS DST: kipsec holds a policy towards DST in NS
ls_has_policy() {
	"$KIPSEC" -n "$1" policy list | grep -qE "dst $2( |$)"
}

# ls_no_policy NS DST: the negation, for ls_poll
ls_no_policy() {
	! ls_has_policy "$1" "$2"
}

# ls_rekeyed NS OLD: kipsec holds two SAs in NS, neither with an SPI of OLD
ls_rekeyed() {
	local spi have
	have=$(ls_spis "$1")
	[ "$(echo "$have" | grep -c .)" = 2 ] || return 1
	for spi in $2; do
		[[ $'\n'$have$'\n' == *$'\n'$spi$'\n'* ]] && return 1
	done
	return 0
}

# ls_no_tunnel_policy NS: kipsec holds no policy with a tunnel-mode
# template in NS
ls_no_tunnel_policy() {
	local out
	out=$("$KIPSEC" -n "$1" policy list)
	[[ $out != *"mode tunnel"* ]]
}

# ls_traffic NS in|out: pluto's byte count of the connection (from GETSA)
ls_traffic() {
	ls_whack "$1" --trafficstatus |
		sed -n "s/.*\"ls\".* ${2}Bytes=\([0-9]*\).*/\1/p"
}

t_ls_tunnel() {
	local ns spis before n

	ls_load
	topo_up
	ls_conf "$KA" "$KA4" "$XB4" "$KAI4/32" "$XBI4/32"
	ls_conf "$XB" "$XB4" "$KA4" "$XBI4/32" "$KAI4/32"
	ls_conf_mobike "$KA"
	ls_start "$KA"
	ls_start "$XB"
	ls_wait "$KA"
	ls_wait "$XB"
	log "plutos up after $SECONDS s"
	# MIGRATE is not implemented: pluto must know it and refuse MOBIKE
	[[ $(ls_whack "$KA" --status) != *'"mk":'* ]] ||
		ls_fail "pluto added a MOBIKE connection on kipsec"
	grep -q 'MOBIKE kernel support missing' "$TOPO_TMP/$KA.log" ||
		ls_fail "pluto did not say why it refused the MOBIKE connection"
	timeout 90 "$LS_WHACK" --ctlsocket "$TOPO_TMP/$KA/run/pluto.ctl" \
		--name ls --initiate >"$TOPO_TMP/initiate.out" 2>&1 ||
		{ cat "$TOPO_TMP/initiate.out"; ls_fail "whack --initiate"; }
	ls_poll "the IPsec SA up in $KA" ls_up "$KA"
	ls_poll "the IPsec SA up in $XB" ls_up "$XB"
	log "IPsec SA up after $SECONDS s"

	# the SAs pluto negotiated are the ones kipsec holds, on both sides
	spis=$(ls_pluto_spis "$KA")
	[ "$(echo "$spis" | grep -c .)" = 2 ] ||
		ls_fail "pluto in $KA names SPIs '$spis', not two"
	for ns in "$KA" "$XB"; do
		ls_nsas "$ns" 2 ||
			ls_fail "kipsec in $ns holds SAs '$(ls_spis "$ns")', not 2"
		[ "$(ls_spis "$ns")" = "$spis" ] ||
			ls_fail "kipsec in $ns holds $(ls_spis "$ns"), pluto negotiated $spis"
		"$KIPSEC" -n "$ns" state list | grep -q 'rfc4106(gcm(aes))' ||
			ls_fail "no GCM SA in kipsec in $ns: $("$KIPSEC" -n "$ns" state list)"
		"$KIPSEC" -n "$ns" state list | grep -q 'mode tunnel' ||
			ls_fail "no tunnel-mode SA in $ns"
	done
	ls_has_policy "$KA" "$XBI4/32" ||
		ls_fail "no policy to $XBI4 in $KA: $("$KIPSEC" -n "$KA" policy list)"
	ls_has_policy "$XB" "$KAI4/32" ||
		ls_fail "no policy to $KAI4 in $XB: $("$KIPSEC" -n "$XB" policy list)"

	before=$(ls_packets "$KA")
	ping_ok "$KA" "$KAI4" "$XBI4" 3
	ping_ok "$XB" "$XBI4" "$KAI4" 3
	# 3 requests and 3 replies each way: 12 packets over ka's two SAs
	poll_eq "kipsec packets in $KA" $((before + 12)) ls_packets "$KA"
	expect_ge "kipsec packets in $XB" "$(ls_packets "$XB")" 12
	for ns in "$KA" "$XB"; do
		[ -z "$(ls_xfrm_counted "$ns")" ] ||
			ls_fail "xfrm counted packets in $ns: $(ls_xfrm_counted "$ns")"
	done
	# pluto reads the SAs' byte counts back from kipsec (GETSA)
	n=$(ls_traffic "$KA" in)
	expect_ge "pluto's inBytes in $KA" "${n:-0}" 1
	n=$(ls_traffic "$KA" out)
	expect_ge "pluto's outBytes in $KA" "${n:-0}" 1
	log "SPIs ${spis//$'\n'/ }; $(ls_whack "$KA" --trafficstatus | grep '"ls"')"

	# rekey the IPsec SA (CREATE_CHILD_SA): new SPIs in kipsec, the old
	# SAs deleted on both sides, and the traffic moves to the new ones
	ls_whack "$KA" --name ls --rekey-ipsec >"$TOPO_TMP/rekey.out" 2>&1 ||
		{ cat "$TOPO_TMP/rekey.out"; ls_fail "whack --rekey-ipsec"; }
	ls_poll "rekeyed SAs in $KA" ls_rekeyed "$KA" "$spis"
	ls_poll "rekeyed SAs in $XB" ls_rekeyed "$XB" "$spis"
	[ "$(ls_spis "$XB")" = "$(ls_spis "$KA")" ] ||
		ls_fail "after the rekey ka holds $(ls_spis "$KA"), xb $(ls_spis "$XB")"
	ping_ok "$KA" "$KAI4" "$XBI4" 2
	ping_ok "$XB" "$XBI4" "$KAI4" 2
	poll_eq "kipsec packets over the new SAs in $KA" 8 ls_packets "$KA"
	log "SPIs after the rekey: $(ls_spis "$KA" | tr '\n' ' ') ($SECONDS s)"

	# deleting the connection deletes its SAs on both sides and its
	# policies in ka; xb's pluto, told by ka, replaces its tunnel
	# policies by an outbound trap (a template of reqid 0 in transport
	# mode between 0.0.0.0 and 0.0.0.0), as it does on xfrm
	ls_whack "$KA" --name ls --delete >/dev/null 2>&1 ||
		ls_fail "whack --delete"
	ls_poll "no SA left in $KA" ls_nsas "$KA" 0
	ls_poll "no SA left in $XB" ls_nsas "$XB" 0
	ls_poll "no policy to $XBI4 in $KA" ls_no_policy "$KA" "$XBI4/32"
	ls_poll "no tunnel policy in $XB" ls_no_tunnel_policy "$XB"
	[ -z "$(ls_errors)" ] || ls_fail "pluto logged errors: $(ls_errors)"
	log "deleted after $SECONDS s"
}
ktest libreswan_tunnel t_ls_tunnel 300
