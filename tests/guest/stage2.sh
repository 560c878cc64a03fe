#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/run-vm.sh: set the machine up, load kipsec.ko, run
# the job, report on the second serial port and power off.
JOB=$1
REPO=$2
export REPO JOB
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C LC_ALL=C

mount -t proc proc /proc
mount -t sysfs sys /sys
# /tmp stays the overlay (writable, tmpfs-backed): the repository may live there
mount -t tmpfs tmpfs /run
mkdir -p /run/netns /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
hostname kipsec-guest
ip link set lo up

OUT=/dev/ttyS1
exec >"$OUT" 2>&1

finish() {
	echo "KIPSEC-EXIT $1"
	sync
	echo o > /proc/sysrq-trigger 2>/dev/null
	sleep 10
	busybox poweroff -f
}

MODE=$(cat "$JOB/mode")
ARG=$(cat "$JOB/arg")
export KIPSEC_KO=$REPO/kipsec.ko
export KIPSEC=$REPO/tools/kipsec

# The crypto API would otherwise pick the generic C implementations.
modprobe -q aesni_intel 2>/dev/null
modprobe -q ghash_clmulni_intel 2>/dev/null
modprobe -q chacha20poly1305 2>/dev/null
modprobe -q gcm 2>/dev/null
for m in xfrm_user esp4 esp6 xfrm4_tunnel xfrm6_tunnel tunnel4 tunnel6 \
	 veth dummy; do
	modprobe -q "$m" 2>/dev/null
done

if ! insmod "$KIPSEC_KO"; then
	echo "not ok: insmod $KIPSEC_KO failed"
	dmesg | tail -n 20 | sed 's/^/# /'
	finish 1
fi

cd "$REPO" || finish 1
case "$MODE" in
check)
	bash "$REPO/tests/lib/ktest.sh" "$ARG"
	finish $?
	;;
demo)
	bash "$REPO/tests/demo.sh"
	finish $?
	;;
bench)
	bash "$REPO/tests/bench.sh" "$ARG"
	finish $?
	;;
shell)
	bash -c "$ARG"
	finish $?
	;;
pair)
	# ARG: this guest's role in the two-guest test, a or b
	bash "$REPO/tests/pair.sh" "$ARG"
	finish $?
	;;
*)
	echo "unknown mode $MODE"
	finish 1
	;;
esac
