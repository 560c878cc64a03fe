#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: an ESP tunnel between two network namespaces, kipsec on one
# end and Linux xfrm on the other, configured with the same command lines.
#
#   netns ka (kipsec)                         netns xb (Linux xfrm)
#   10.98.1.1 (inner, lo)                     10.98.2.1 (inner, lo)
#        |                                         |
#   veth-a 10.99.0.1/24  <===== ESP tunnel =====>  veth-b 10.99.0.2/24
set -u
K=${KIPSEC:-$(dirname "$0")/../tools/kipsec}

step() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "kipsec.ko is loaded and its generic netlink family answers"
grep '^kipsec ' /proc/modules
run "$K" -V
run "$K" info || exit 1

step "two network namespaces on a veth pair"
ip netns add ka
ip netns add xb
ip link add veth-a netns ka type veth peer name veth-b netns xb
ip -n ka addr add 10.99.0.1/24 dev veth-a
ip -n xb addr add 10.99.0.2/24 dev veth-b
ip -n ka addr add 10.98.1.1/32 dev lo
ip -n xb addr add 10.98.2.1/32 dev lo
for n in ka xb; do
	ip -n $n link set lo up
done
ip -n ka link set veth-a up
ip -n xb link set veth-b up
ip -n ka route add 10.98.2.0/24 via 10.99.0.2 src 10.98.1.1
ip -n xb route add 10.98.1.0/24 via 10.99.0.1 src 10.98.2.1

KEY1=0x1111111111111111111111111111111111111111
KEY2=0x2222222222222222222222222222222222222222
ALG='rfc4106(gcm(aes))'
# The same lines for both ends; $1 is "ip xfrm" or "kipsec".
configure() {
	local tool=$1 ns=$2 ; shift 2
	local x="ip netns exec $ns $tool"
	run $x state add src 10.99.0.1 dst 10.99.0.2 proto esp spi 0x1001 reqid 1 \
		mode tunnel aead "$ALG" $KEY1 128 replay-window 128
	run $x state add src 10.99.0.2 dst 10.99.0.1 proto esp spi 0x1002 reqid 2 \
		mode tunnel aead "$ALG" $KEY2 128 replay-window 128
	if [ "$ns" = ka ]; then
		run $x policy add src 10.98.1.0/24 dst 10.98.2.0/24 dir out \
			tmpl src 10.99.0.1 dst 10.99.0.2 proto esp reqid 1 mode tunnel
		run $x policy add src 10.98.2.0/24 dst 10.98.1.0/24 dir in \
			tmpl src 10.99.0.2 dst 10.99.0.1 proto esp reqid 2 mode tunnel
	else
		run $x policy add src 10.98.2.0/24 dst 10.98.1.0/24 dir out \
			tmpl src 10.99.0.2 dst 10.99.0.1 proto esp reqid 2 mode tunnel
		run $x policy add src 10.98.1.0/24 dst 10.98.2.0/24 dir in \
			tmpl src 10.99.0.1 dst 10.99.0.2 proto esp reqid 1 mode tunnel
	fi
}

step "kipsec end (netns ka)"
configure "$K" ka || { echo "demo: kipsec refused the configuration"; exit 1; }
step "Linux xfrm end (netns xb)"
configure "ip xfrm" xb

step "ping through the tunnel, both ways"
rc=0
run ip netns exec ka busybox ping -c 3 -W 2 -I 10.98.1.1 10.98.2.1 || rc=1
run ip netns exec xb busybox ping -c 3 -W 2 -I 10.98.2.1 10.98.1.1 || rc=1

step "iperf3, 3 seconds, kipsec -> xfrm"
ip netns exec xb iperf3 -s -1 -B 10.98.2.1 -D >/dev/null 2>&1
sleep 1
timeout 20 ip netns exec ka iperf3 -c 10.98.2.1 -B 10.98.1.1 -t 3 -f m |
	grep -E 'sender|receiver' || rc=1

step "kipsec's SA counters"
run ip netns exec ka "$K" -s state list
step "xfrm's SA counters"
run ip netns exec xb ip -s xfrm state list
step "kipsec's drop counters (netns ka)"
run ip netns exec ka "$K" stats

ip netns del ka
ip netns del xb
[ $rc = 0 ] && echo "demo: the tunnel carried traffic both ways" ||
	echo "demo: traffic did not pass"
exit $rc
