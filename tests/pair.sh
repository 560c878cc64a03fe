#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The two-guest test (tests/run-vm.sh pair): strongSwan keys kipsec in
# guest a and Linux xfrm in guest b, and the two gateways carry their
# clients' traffic through an IKEv2 site-to-site tunnel over a real link.
#
#  guest a: kipsec (xfrm_netlink=1,            guest b: Linux xfrm
#           no xfrm_user), charon                       (xfrm_user, esp4), charon
# +-----------------------------+            +-----------------------------+
# | netns client                |            |                netns client |
# |   cl 10.77.1.2/24           |            |           cl 10.77.2.2/24   |
# |    | veth                   |            |              veth |         |
# | gw 10.77.1.1/24             |            |             gw 10.77.2.1/24 |
# | eth0 10.77.0.1/24 ==========|== link ===|=========== eth0 10.77.0.2/24 |
# +-----------------------------+            +-----------------------------+
# CHILD_SA "net": 10.77.1.0/24 <=> 10.77.2.0/24, ESP tunnel, AES-GCM-128,
# IKEv2 with a PSK; the link is QEMU's -netdev dgram (UDP on 127.0.0.1).
#
# Guest a runs the tests and prints KTAP; guest b sets itself up and then
# serves guest a's requests.  They meet in a 9p directory both mount
# writable ($PAIR_SHARE, the host's $JOB/share):
#   ready.b            guest b's setup verdict: "ok", "skip REASON" or
#                      "fail REASON"
#   req.N              guest a asks guest b to run a bash script (N counts
#                      from 1; written under another name, then renamed)
#   out.N, rc.N        guest b's answer: its output, then its exit status
#   done               guest a has finished: guest b stops serving
# Every wait polls a condition (a file appearing, an SA installed, a
# counter reached), bounded; none is a fixed sleep.
#
# Usage: pair.sh a|b    (run by tests/guest/stage2.sh in each guest)
# Sourced without arguments it only defines its functions (guest b's
# requests and guest a's tests source it so).

# shellcheck source=tests/lib/ktest.sh
source "$REPO/tests/lib/ktest.sh"
# shellcheck source=tests/lib/topo.sh
source "$REPO/tests/lib/topo.sh"

PAIR_LIB=$REPO/tests/pair.sh
PAIR_SHARE=/run/pair-share
W=/tmp/pair
SW_CHARON=/usr/lib/ipsec/charon
SW_PLUGINS="random nonce openssl kdf pem pkcs1 x509 revocation constraints pubkey \
socket-default kernel-netlink vici"
export STRONGSWAN_CONF=$W/strongswan.conf

LINK_A=10.77.0.1
LINK_B=10.77.0.2
CL_A=10.77.1.2
CL_B=10.77.2.2
TCP_BYTES=1048576

# nap SECONDS: sleep without starting a process (a read that times out)
nap() {
	[ -p "$W/nap" ] || mkfifo "$W/nap" 2>/dev/null
	read -rt "$1" <>"$W/nap" || true
}

# until_ok SECONDS DESC CMD...: poll CMD every 0.2 s until it succeeds;
# fail (with both charons' logs) after SECONDS
until_ok() {
	local end=$((SECONDS + $1)) desc=$2
	shift 2
	until "$@"; do
		[ $SECONDS -lt $end ] || pair_fail "timed out waiting for $desc"
		nap 0.2
	done
}

# pair_fail TEXT: fail with the tails of both charons' logs
pair_fail() {
	set +e
	echo "--- charon in guest $(pair_role)"
	tail -n 15 "$W/charon.log" "$W/charon.out" 2>/dev/null
	if [ "$(pair_role)" = a ]; then
		echo "--- charon in guest b"
		RB_TIMEOUT=10 rb tail -n 15 "$W/charon.log" "$W/charon.out"
	fi
	fail "$*"
}

pair_role() {
	cat "$W/role" 2>/dev/null
}

# --- setup, on either guest --------------------------------------------------

# pair_net ME PEER: the link address, the client netns behind the gateway,
# forwarding, and the route to the peer's client subnet (ME, PEER: 1 for
# guest a, 2 for guest b)
pair_net() {
	local me=$1 peer=$2 i
	modprobe -q virtio_net
	for ((i = 0; i < 100; i++)); do
		[ -e /sys/class/net/eth0 ] && break
		nap 0.1
	done
	[ -e /sys/class/net/eth0 ] || { echo "fail no eth0 (virtio_net)"; return; }
	ip -batch - <<-EOF || { echo "fail ip batch"; return; }
		addr add 10.77.0.$me/24 dev eth0
		link set eth0 up
		netns add client
		link add gw type veth peer name cl netns client
		addr add 10.77.$me.1/24 dev gw
		link set gw up
		route add 10.77.$peer.0/24 via 10.77.0.$peer dev eth0
	EOF
	ip -n client -batch - <<-EOF || { echo "fail ip -n client batch"; return; }
		link set lo up
		addr add 10.77.$me.2/24 dev cl
		link set cl up
		route add default via 10.77.$me.1
	EOF
	sysctl -qw net.ipv4.ip_forward=1
	echo ok
}

# pair_conf ME PEER: charon's strongswan.conf and swanctl.conf
pair_conf() {
	local me=$1 peer=$2
	cat >"$W/strongswan.conf" <<-EOF
		charon {
		  load = $SW_PLUGINS
		  install_routes = no
		  retransmit_timeout = 8
		  # the old inbound SA outlives a rekey (for packets in flight) by
		  # 5 s by default: the test waits for it to go
		  delete_rekeyed_delay = 2
		  filelog {
		    main {
		      path = $W/charon.log
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
	cat >"$W/swanctl.conf" <<-EOF
		connections {
		  net {
		    version = 2
		    local_addrs = 10.77.0.$me
		    remote_addrs = 10.77.0.$peer
		    proposals = aes128-sha256-modp2048
		    local {
		      auth = psk
		      id = 10.77.0.$me
		    }
		    remote {
		      auth = psk
		      id = 10.77.0.$peer
		    }
		    children {
		      net {
		        local_ts = 10.77.$me.0/24
		        remote_ts = 10.77.$peer.0/24
		        esp_proposals = aes128gcm16
		        mode = tunnel
		      }
		    }
		  }
		}
		secrets {
		  ike-net {
		    id-a = 10.77.0.$me
		    id-b = 10.77.0.$peer
		    secret = kipsec-pair-test-psk
		  }
		}
	EOF
}

# pair_charon: start charon (one per guest: the default /run paths) and
# load its configuration; prints the verdict
pair_charon() {
	local i
	"$SW_CHARON" >"$W/charon.out" 2>&1 &
	echo $! >"$W/charon.pid"
	for ((i = 0; i < 300; i++)); do
		[ -S /run/charon.vici ] && break
		kill -0 "$(cat "$W/charon.pid")" 2>/dev/null || break
		nap 0.2
	done
	[ -S /run/charon.vici ] || { echo "fail charon did not start"; return; }
	swanctl --load-all --file "$W/swanctl.conf" >"$W/load.out" 2>&1 ||
		{ echo "fail swanctl --load-all: $(tail -n 3 "$W/load.out")"; return; }
	echo ok
}

# pair_modules ROLE: kipsec as the XFRM personality in guest a (xfrm_user
# must be out: only one module can own NETLINK_XFRM), Linux xfrm alone in
# guest b
pair_modules() {
	rmmod kipsec 2>/dev/null
	if [ "$1" = a ]; then
		if grep -q '^xfrm_user ' /proc/modules && ! rmmod xfrm_user; then
			echo "skip xfrm_user cannot be unloaded"
			return
		fi
		insmod "$KIPSEC_KO" xfrm_netlink=1 || { echo "fail insmod xfrm_netlink=1"; return; }
	else
		if ! modprobe -q xfrm_user || ! modprobe -q esp4; then
			echo "skip no xfrm_user or esp4"
			return
		fi
	fi
	echo ok
}

# pair_setup ROLE: everything a guest needs before the tests; prints the
# verdict for ready.ROLE
pair_setup() {
	local role=$1 me=1 peer=2 v
	[ "$role" = b ] && me=2 peer=1
	[ -x "$SW_CHARON" ] || { echo "skip no $SW_CHARON (strongswan-charon)"; return; }
	command -v swanctl >/dev/null || { echo "skip no swanctl (strongswan-swanctl)"; return; }
	command -v jq >/dev/null || { echo "skip no jq"; return; }
	v=$(pair_modules "$role")
	[ "$v" = ok ] || { echo "$v"; return; }
	v=$(pair_net "$me" "$peer")
	[ "$v" = ok ] || { echo "$v"; return; }
	pair_conf "$me" "$peer"
	pair_charon
}

# --- guest b: serve guest a ---------------------------------------------------

pair_serve() {
	local n=1 s=$PAIR_SHARE
	until [ -e "$s/done" ]; do
		if [ -e "$s/req.$n" ]; then
			echo "${SECONDS}s: request $n: $(tail -n 1 "$s/req.$n")"
			timeout -k 5 150 bash "$s/req.$n" >"$s/.out.$n" 2>&1 </dev/null
			echo $? >"$s/.rc.$n"
			mv "$s/.out.$n" "$s/out.$n"
			mv "$s/.rc.$n" "$s/rc.$n"
			n=$((n + 1))
		else
			nap 0.05
		fi
	done
	echo "served $((n - 1)) requests"
}

# --- guest a: requests to guest b ---------------------------------------------

# rb CMD...: run CMD (words joined, as by bash -c) in guest b with this
# file's functions; prints its output and returns its status (1 if guest
# b does not answer within RB_TIMEOUT seconds, 170 by default)
rb() {
	local n s=$PAIR_SHARE end=$((SECONDS + ${RB_TIMEOUT:-170})) rc
	read -r n <"$W/rb.n" 2>/dev/null || n=0
	n=$((n + 1))
	echo "$n" >"$W/rb.n"
	printf 'source %q\nset -o pipefail\n%s\n' "$PAIR_LIB" "$*" >"$s/.req.$n"
	mv "$s/.req.$n" "$s/req.$n"
	until [ -e "$s/rc.$n" ]; do
		if [ $SECONDS -ge $end ]; then
			echo "guest b did not answer request $n: $*"
			return 1
		fi
		nap 0.05
	done
	cat "$s/out.$n"
	read -r rc <"$s/rc.$n"
	return "$rc"
}

# --- checks, on either guest ---------------------------------------------------

# installed: charon lists the CHILD_SA net as INSTALLED
installed() {
	swanctl --list-sas --child net 2>/dev/null | grep -q INSTALLED
}

# spis: the SPIs of the SAs this guest's datapath holds, sorted, one a
# line (kipsec in guest a, xfrm in guest b)
spis() {
	if [ "$(pair_role)" = a ]; then
		"$KIPSEC" -j state list | jq -r '.[] | .spi' | sort
	else
		ip xfrm state | awk '/proto esp spi/ { split($4, x, "("); print x[1] }' | sort
	fi
}

# sa_count N: the datapath holds exactly N SAs
sa_count() {
	[ "$(spis | grep -c .)" = "$1" ]
}

# none_of SPIS: the datapath holds no SA with an SPI of SPIS
none_of() {
	local spi cur
	cur=$(spis)
	for spi in $1; do
		[[ $'\n'$cur$'\n' == *$'\n'$spi$'\n'* ]] && return 1
	done
	return 0
}

# rekeyed: two SAs, none with an SPI of OLD_SPIS
rekeyed() {
	sa_count 2 && none_of "$OLD_SPIS"
}

# sa_counters: one line per SA, "SRC PACKETS BYTES" (packets and bytes
# each SA carried: kipsec counts in and out separately, an SA is used one
# way)
sa_counters() {
	if [ "$(pair_role)" = a ]; then
		"$KIPSEC" -s -j state list | jq -r '.[] | .stats as $s |
			"\(.src) \($s.in_packets + $s.out_packets) \($s.in_bytes + $s.out_bytes)"'
	else
		ip -s xfrm state | awk '
			/^src / { src = $2 }
			/lifetime current:/ { getline; gsub(/[(),]/, " ")
				print src, $3, $1 }'
	fi
}

# sa_min SRC PACKETS BYTES: the SA from SRC carried at least PACKETS
# packets and BYTES bytes
sa_min() {
	local c
	local src pk by
	c=$(sa_counters | awk -v s="$1" '$1 == s')
	[ "$(echo "$c" | grep -c .)" = 1 ] || { echo "SAs from $1: '$c'"; return 1; }
	read -r src pk by <<<"$c"
	if [ "$pk" -lt "$2" ] || [ "$by" -lt "$3" ]; then
		echo "SA from $src carried $pk packets, $by bytes; expected >= $2, >= $3"
		return 1
	fi
}

# drops: every drop or error counter of the datapath that is not 0 (kipsec
# stats, or xfrm's /proc/net/xfrm_stat); empty when all are 0.  Not
# out_too_big: the clients' full-size DF TCP segments, forwarded into the
# tunnel, are refused with ICMP "fragmentation needed" by both gateways
# until the clients lower their path MTU; xfrm's are refused by
# ip_forward() against the bundle's MTU, which xfrm_stat does not count.
drops() {
	if [ "$(pair_role)" = a ]; then
		"$KIPSEC" -j stats show |
			jq -r --arg nd "$KIPSEC_NOT_DROP|^out_too_big$" 'to_entries[] |
			select(.key | test($nd) | not) |
			select(.value != 0) | "\(.key)=\(.value)"'
	else
		awk '$2 != 0 { print $1 "=" $2 }' /proc/net/xfrm_stat
	fi
}

# no_drops WHERE: fail unless drops is empty
no_drops() {
	local d
	d=$(drops)
	[ -z "$d" ] || pair_fail "drop counters in $1: $d"
}

# step TEXT: a diagnostic with the test's time so far
step() {
	log "${SECONDS}s: $*"
}

# stream_start NAME: a steady ping from this guest's client to the other
# client, 5 a second, until stream_stop
stream_start() {
	local peer=$CL_B me=$CL_A
	[ "$(pair_role)" = b ] && peer=$CL_A me=$CL_B
	# bash starts background commands with SIGINT ignored: stream_stop
	# needs it, ping prints its statistics on it
	# (nsenter itself, not in_netns: $! must be ping)
	nsenter --net=/run/netns/client env --default-signal=INT \
		busybox ping -i 0.2 -I "$me" "$peer" >"$W/$1.out" 2>&1 &
	echo $! >"$W/$1.pid"
}

# stream_replies NAME N: the stream has had N replies or more
stream_replies() {
	[ "$(grep -c 'seq=' "$W/$1.out")" -ge "$2" ]
}

# stream_stop NAME: stop the stream and print "SENT ANSWERED GAPS": a gap
# is a lost packet before the last answered one (the one in flight when
# the stream stops does not count)
stream_stop() {
	local pid i
	pid=$(cat "$W/$1.pid")
	kill -INT "$pid"
	wait "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		nap 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		echo "the stream did not stop on SIGINT"
		return 1
	fi
	awk '/seq=/ { sub(/.*seq=/, ""); s[$1 + 0] = 1; n++; if ($1 + 0 > max) max = $1 + 0 }
	     / packets transmitted/ { sent = $1 }
	     END { gaps = 0; for (i = 0; i <= max; i++) if (!(i in s)) gaps++
		   print sent + 0, n + 0, gaps }' "$W/$1.out"
}

# --- guest a: the tests -----------------------------------------------------------

# t_ready: both guests are set up, and the link carries packets
t_ready() {
	local v
	v=$(cat "$W/setup")
	case $v in
	ok) ;;
	skip*) skip "guest a: ${v#skip }" ;;
	*) fail "guest a: $v" ;;
	esac
	until_ok 150 "guest b's setup" test -s "$PAIR_SHARE/ready.b"
	v=$(cat "$PAIR_SHARE/ready.b")
	case $v in
	ok) ;;
	skip*) skip "guest b: ${v#skip }" ;;
	*) fail "guest b: $v" ;;
	esac
	grep -q '^xfrm_user ' /proc/modules && fail "xfrm_user is loaded in guest a"
	rb 'grep -q "^kipsec " /proc/modules && exit 1; grep -q "^xfrm_user " /proc/modules' ||
		fail "guest b does not run Linux xfrm alone"
	busybox ping -c 3 -W 2 -w 10 "$LINK_B" >"$W/link.out" 2>&1 ||
		fail "no ping over the link: $(tail -n 2 "$W/link.out")"
}

# same_spis B_SPIS: guest a's kipsec holds the same two SAs as guest b's
# xfrm (B_SPIS: its spis)
same_spis() {
	local a b=$1
	a=$(spis)
	[ "$(echo "$a" | grep -c .)" = 2 ] || pair_fail "kipsec holds SAs '$a', not 2"
	[ "$a" = "$b" ] || pair_fail "kipsec holds '$a', xfrm in guest b '$b'"
}

# t_a_initiates: kipsec's charon initiates; both datapaths hold the pair
t_a_initiates() {
	local out
	swanctl --initiate --child net --timeout 90 >"$W/init.out" 2>&1 ||
		pair_fail "initiate: $(tail -n 3 "$W/init.out")"
	out=$(rb 'until_ok 60 "CHILD_SA installed" installed && spis') ||
		pair_fail "guest b: $out"
	same_spis "$out"
	swanctl --list-sas --ike net | grep -q '_i\*' ||
		pair_fail "guest a is not the initiator: $(swanctl --list-sas)"
	"$KIPSEC" state list | grep -q 'rfc4106(gcm(aes))' ||
		pair_fail "no GCM SA in kipsec: $("$KIPSEC" state list)"
	log "SPIs $(spis | tr '\n' ' ')"
}

# tcp_listen: a TCP receiver in this guest's client, into $W/rx, until
# the sender closes
tcp_listen() {
	rm -f "$W/rx"
	in_netns client busybox nc -l -p 5001 </dev/null >"$W/rx" 2>"$W/rx.err" &
	echo $! >"$W/nc.pid"
}

# tcp_send PEER: TCP_BYTES of random data from this guest's client to
# PEER's tcp_listen; prints "SIZE MD5" of what it sent
tcp_send() {
	local i
	head -c "$TCP_BYTES" /dev/urandom >"$W/tx"
	# the receiver may not listen yet: a refused connection is retried
	for ((i = 0; i < 50; i++)); do
		# shellcheck disable=SC2016
		in_netns client timeout 60 bash -c 'cat "$1" >"/dev/tcp/$2/5001"' \
			tcp "$W/tx" "$1" 2>"$W/tx.err" && break
		grep -q refused "$W/tx.err" || { cat "$W/tx.err"; return 1; }
		nap 0.2
	done
	echo "$(stat -c %s "$W/tx") $(md5sum <"$W/tx" | cut -d' ' -f1)"
}

# tcp_received: wait for tcp_listen's receiver to see the end; prints
# "SIZE MD5" of what it received
tcp_received() {
	until_ok 60 "the TCP receiver to finish" gone "$(cat "$W/nc.pid")"
	echo "$(stat -c %s "$W/rx") $(md5sum <"$W/rx" | cut -d' ' -f1)"
}

# tcp_xfer ab|ba: TCP_BYTES from client a to client b or back; what
# arrives must be what was sent, byte for byte
tcp_xfer() {
	local tx rx
	if [ "$1" = ab ]; then
		rb tcp_listen || pair_fail "TCP receiver in guest b"
		tx=$(tcp_send "$CL_B") || pair_fail "TCP send from guest a: $tx"
		rx=$(rb tcp_received) || pair_fail "guest b: $rx"
	else
		tcp_listen
		tx=$(rb tcp_send "$CL_A") || pair_fail "TCP send from guest b: $tx"
		rx=$(tcp_received)
	fi
	expect_eq "TCP $1: size and MD5 received" "$rx" "$tx"
	log "TCP $1: $rx"
}

# gw_check PACKETS BYTES: each SA of this gateway carried at least
# PACKETS packets and BYTES bytes, and no drop or error was counted;
# prints sa_counters
gw_check() {
	local d
	sa_min "$LINK_A" "$1" "$2" && sa_min "$LINK_B" "$1" "$2" || return 1
	d=$(drops)
	[ -z "$d" ] || { echo "drop or error counters: $d"; return 1; }
	sa_counters
}

# both_checked PACKETS BYTES: gw_check on both gateways; sets KA_CNT and
# XB_CNT to their counters
both_checked() {
	KA_CNT=$(gw_check "$1" "$2") || pair_fail "kipsec: $KA_CNT"
	XB_CNT=$(rb gw_check "$1" "$2") || pair_fail "xfrm in guest b: $XB_CNT"
	log "kipsec SAs (src packets bytes): $(echo "$KA_CNT" | tr '\n' ';')"
	log "xfrm SAs in guest b: $(echo "$XB_CNT" | tr '\n' ';')"
}

# counts_agree le|eq: for each SA, the receiving gateway counted no more
# packets and bytes than the sending one (le), or exactly as many (eq);
# after both_checked
counts_agree() {
	local a=$KA_CNT b=$XB_CNT src pk by spk sby rpk rby
	while read -r src pk by; do
		read -r _ spk sby <<<"$(echo "$b" | awk -v s="$src" '$1 == s')"
		# the SA from guest a's address is kipsec's outbound one
		if [ "$src" = "$LINK_A" ]; then
			read -r spk sby rpk rby <<<"$pk $by $spk $sby"
		else
			rpk=$pk rby=$by
		fi
		if [ -z "$spk" ] || [ "$rpk" -gt "$spk" ] || [ "$rby" -gt "$sby" ] ||
		   { [ "$1" = eq ] && [ "$rpk $rby" != "$spk $sby" ]; }; then
			pair_fail "SA from $src: sent $spk packets, $sby bytes; received $rpk, $rby"
		fi
	done <<<"$a"
}

# t_traffic: pings and TCP both ways between the clients, counted by both
# datapaths, without drops
t_traffic() {
	local out
	ping_ok client "$CL_A" "$CL_B" 5
	rb "ping_ok client $CL_B $CL_A 5" || pair_fail "ping from guest b's client"
	step "pings"
	tcp_xfer ab
	step "TCP a to b"
	tcp_xfer ba
	step "TCP b to a"
	# each SA carried 10 pings (5 each way) and the TCP data one way
	both_checked 10 "$TCP_BYTES"
	# the link may lose a TCP segment: then the receiver counts less
	counts_agree le
}

# rekey_from a|b: that guest's charon rekeys the CHILD_SA; both datapaths
# end up with two new SAs
rekey_from() {
	local out
	OLD_SPIS=$(spis)
	export OLD_SPIS
	if [ "$1" = a ]; then
		swanctl --rekey --child net >"$W/rekey.out" 2>&1 || pair_fail "rekey in guest a"
	else
		out=$(rb swanctl --rekey --child net) || pair_fail "rekey in guest b: $out"
	fi
	until_ok 60 "kipsec rekeyed (after a rekey from $1)" rekeyed
	step "kipsec rekeyed (from $1)"
	out=$(rb "OLD_SPIS='$OLD_SPIS' until_ok 60 'xfrm rekeyed' rekeyed && spis") ||
		pair_fail "guest b did not rekey: $out"
	step "xfrm rekeyed (from $1)"
	same_spis "$out"
}

# new_sas_used: both of kipsec's current SAs carried at least 3 packets
new_sas_used() {
	[ "$(sa_counters | awk '$2 >= 3' | grep -c .)" = 2 ]
}

# t_rekey: rekeys from each side while both clients ping each other:
# no reply lost, no drop counted
t_rekey() {
	local a b first sent got gaps
	first=$(spis)
	stream_start stream
	rb stream_start stream || pair_fail "guest b's stream"
	until_ok 30 "the stream's first replies" stream_replies stream 3
	step "streams running"
	rekey_from a
	rekey_from b
	none_of "$first" || pair_fail "SPIs not renewed: $first, then $(spis)"
	until_ok 30 "traffic on the new SAs" new_sas_used
	rb 'until_ok 30 "replies in guest b" stream_replies stream 10' ||
		pair_fail "guest b's stream has no replies"
	step "new SAs used"
	a=$(stream_stop stream) || pair_fail "guest a's stream: $a"
	b=$(rb stream_stop stream) || pair_fail "guest b's stream: $b"
	log "streams (sent answered gaps): guest a $a, guest b $b"
	read -r sent got gaps <<<"$a"
	if [ "$got" -lt 10 ] || [ "$gaps" != 0 ]; then
		pair_fail "guest a's stream: $got of $sent pings answered, $gaps lost"
	fi
	read -r sent got gaps <<<"$b"
	if [ "$got" -lt 10 ] || [ "$gaps" != 0 ]; then
		pair_fail "guest b's stream: $got of $sent pings answered, $gaps lost"
	fi
	no_drops "kipsec"
	a=$(rb drops) || pair_fail "guest b: $a"
	[ -z "$a" ] || pair_fail "xfrm error counters in guest b: $a"
}

# t_b_initiates: guest a ends the IKE_SA; guest b brings it back up
t_b_initiates() {
	local out
	swanctl --terminate --ike net --timeout 60 >"$W/term.out" 2>&1 ||
		pair_fail "terminate in guest a"
	until_ok 30 "kipsec's SAs deleted" sa_count 0
	rb 'until_ok 30 "xfrm SAs deleted" sa_count 0' || pair_fail "guest b kept SAs"
	out=$(rb swanctl --initiate --child net --timeout 90) ||
		pair_fail "initiate in guest b: $(echo "$out" | tail -n 3)"
	step "guest b initiated"
	until_ok 60 "CHILD_SA installed in guest a" installed
	out=$(rb spis) || pair_fail "guest b: $out"
	same_spis "$out"
	swanctl --list-sas --ike net | grep -q '_r\*' ||
		pair_fail "guest a is not the responder: $(swanctl --list-sas)"
	ping_ok client "$CL_A" "$CL_B" 3
	rb "ping_ok client $CL_B $CL_A 3" || pair_fail "ping from guest b's client"
	# 6 pings of 84 bytes each way, every one answered: both gateways
	# count the same
	both_checked 6 504
	counts_agree eq
}

# gone PID: the process has exited
gone() {
	! kill -0 "$1" 2>/dev/null
}

# t_teardown: guest b ends it; kipsec is left with nothing, and unloads
# without a leak report
t_teardown() {
	local out pid
	out=$(rb swanctl --terminate --ike net --timeout 60) || pair_fail "terminate in guest b: $out"
	until_ok 30 "kipsec's SAs deleted" sa_count 0
	[ -z "$("$KIPSEC" policy list)" ] || pair_fail "policies left: $("$KIPSEC" policy list)"
	# charon's own per-socket bypass policies stay while it runs
	out=$(rb 'ip xfrm state; ip xfrm policy | grep -B1 -E "^\s+dir " || true')
	[ -z "$out" ] || pair_fail "xfrm in guest b kept: $out"
	no_drops "kipsec"
	pid=$(cat "$W/charon.pid")
	kill "$pid"
	until_ok 30 "charon to stop" gone "$pid"
	rmmod kipsec || fail "kipsec does not unload"
}

# --- guest a: the runner ---------------------------------------------------------

PAIR_TESTS=(ready t_ready a_initiates t_a_initiates traffic t_traffic
	rekey_under_traffic t_rekey b_initiates t_b_initiates teardown t_teardown)

# pair_run: the tests in order, as KTAP; each needs the ones before it,
# so after a failure the rest are reported failed without running
pair_run() {
	local i n=0 name rc log total=$((${#PAIR_TESTS[@]} / 2)) t0
	local pass=0 failn=0 skipn=0 broken=

	echo "TAP version 13"
	echo "1..$total"
	dmesg -c >/dev/null
	for ((i = 0; i < ${#PAIR_TESTS[@]}; i += 2)); do
		n=$((n + 1))
		name=pair:${PAIR_TESTS[i]}
		log=$W/test.$n.log
		t0=$SECONDS
		if [ -s "$W/skip" ]; then
			echo "ok $n $name # SKIP $(cat "$W/skip")"
			skipn=$((skipn + 1))
			continue
		fi
		if [ -n "$broken" ]; then
			echo "not ok $n $name"
			echo "# not run: $broken failed"
			failn=$((failn + 1))
			continue
		fi
		rm -f "$W/skip.now"
		# shellcheck disable=SC2016
		KTEST_SKIP_FILE=$W/skip.now timeout -k 5 180 \
			bash -c 'set -eu -o pipefail; source "$1"; "$2"' \
			pair "$PAIR_LIB" "${PAIR_TESTS[i + 1]}" >"$log" 2>&1 </dev/null
		rc=$?
		[ $rc = 124 ] || [ $rc = 137 ] && echo "FAIL: timed out after 180s" >>"$log"
		dmesg -c >"$W/dmesg" 2>/dev/null
		if grep -E "$KREPORT_RE" "$W/dmesg" >/dev/null; then
			echo "FAIL: the kernel complained:" >>"$log"
			grep -E -A10 "$KREPORT_RE" "$W/dmesg" | head -n 40 >>"$log"
			rc=1
		fi
		if [ $rc = 0 ]; then
			echo "ok $n $name"
			pass=$((pass + 1))
		elif [ $rc = 4 ] && [ -s "$W/skip.now" ]; then
			cp "$W/skip.now" "$W/skip"
			echo "ok $n $name # SKIP $(cat "$W/skip")"
			skipn=$((skipn + 1))
		else
			echo "not ok $n $name"
			tail -n 40 "$log" | sed 's/^/# /'
			failn=$((failn + 1))
			broken=$name
		fi
		grep '^KTEST-LOG: ' "$log" | sed 's/^KTEST-LOG: /# /'
		echo "# time: $((SECONDS - t0)) s"
	done
	echo "$pass passed, $failn failed, $skipn skipped"
	[ $failn = 0 ]
}

# pair_main ROLE
pair_main() {
	local role=$1 v
	mkdir -p "$W" "$PAIR_SHARE"
	echo "$role" >"$W/role"
	hostname "kipsec-pair-$role"
	if ! mount -t 9p -o trans=virtio,version=9p2000.L,cache=none kipsec_share \
			"$PAIR_SHARE"; then
		echo "not ok: guest $role cannot mount the shared directory"
		return 1
	fi
	v=$(pair_setup "$role" 2>&1 | tail -n 1)
	if [ "$role" = a ]; then
		# t_ready reports it
		echo "$v" >"$W/setup"
		trap 'touch "$PAIR_SHARE/done"' EXIT
		pair_run
		return
	fi
	echo "$v" >"$PAIR_SHARE/.ready.b"
	mv "$PAIR_SHARE/.ready.b" "$PAIR_SHARE/ready.b"
	echo "setup: $v"
	case $v in
	ok) ;;
	skip*) return 0 ;;
	*) return 1 ;;
	esac
	# guest a may take its time: the host bounds the whole run
	pair_serve
	kill "$(cat "$W/charon.pid")" 2>/dev/null
	return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	pair_main "$1"
	exit $?
fi
