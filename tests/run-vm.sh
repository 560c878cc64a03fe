#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot Debian's kernel under QEMU with the freshly built kipsec.ko and run
# one job inside it:
#
#   tests/run-vm.sh check [FILTER]   the test suites (KTAP); FILTER is an
#                                    extended regex on "suite:test"
#   tests/run-vm.sh demo             the demonstration (tests/demo.sh)
#   tests/run-vm.sh bench            the benchmark (tests/bench.sh)
#   tests/run-vm.sh shell 'CMDS'     run CMDS as root with kipsec.ko loaded
#   tests/run-vm.sh pair             two guests on one link: strongSwan
#                                    keying kipsec in one and Linux xfrm in
#                                    the other (tests/pair.sh, KTAP)
#
# The guest mounts the host's root read-only over 9p with a tmpfs overlay
# (see docs/testing.md), so the repository and every host tool are at the
# same paths inside.  Results come back on the second serial port; the
# first is the kernel console, which is scanned for every form of kernel
# report (tests/lib/kreport.sh).
#
# Environment: KIPSEC_VM_TIMEOUT (seconds, default 3600; 600 for pair),
# KIPSEC_VM_SMP (default 2; 1 a guest for pair), KIPSEC_VM_MEM (default
# 2048; 1024 a guest for pair), KIPSEC_VM_ACCEL (kvm|tcg, default: probe),
# KIPSEC_VM_KEEP=1 keeps the job directory.
set -u

REPO=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:-check}
ARG=${2:-}
KO=$REPO/kipsec.ko
if [ "$MODE" = pair ]; then
	# two guests share the machine's cores with each other (and with
	# other users): one vCPU each
	TIMEOUT=${KIPSEC_VM_TIMEOUT:-600}
	SMP=${KIPSEC_VM_SMP:-1}
	MEM=${KIPSEC_VM_MEM:-1024}
else
	TIMEOUT=${KIPSEC_VM_TIMEOUT:-3600}
	SMP=${KIPSEC_VM_SMP:-2}
	MEM=${KIPSEC_VM_MEM:-2048}
fi

die() { echo "run-vm: $*" >&2; exit 1; }

[ -f "$KO" ] || die "$KO is not built; run 'make'"
KVER=$(modinfo -F vermagic "$KO" | cut -d' ' -f1)
VMLINUZ=/boot/vmlinuz-$KVER
[ -r "$VMLINUZ" ] || die "no $VMLINUZ for kipsec.ko's kernel $KVER; run 'make deps'"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing; run 'make deps'"

BUILD=$REPO/tests/.build
mkdir -p "$BUILD"
INITRD=$BUILD/initramfs-$KVER.cpio.gz

# The initramfs: busybox plus the modules that mount the host root.
build_initramfs() {
	local dir mods m
	dir=$(mktemp -d)
	mkdir -p "$dir"/bin "$dir"/lib/mods "$dir"/proc "$dir"/sys "$dir"/dev \
		"$dir"/lower "$dir"/upper "$dir"/newroot
	cp /bin/busybox "$dir"/bin/busybox
	mods=$(for m in virtio_pci 9pnet_virtio 9p overlay; do
		modprobe -S "$KVER" --show-depends "$m"; done |
		awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++')
	: > "$dir"/lib/mods/order
	for m in $mods; do
		cp "$m" "$dir"/lib/mods/
		basename "$m" >> "$dir"/lib/mods/order
	done
	cp "$REPO"/tests/guest/init "$dir"/init
	chmod +x "$dir"/init
	(cd "$dir" && find . | cpio -o -H newc --quiet | gzip -1) > "$INITRD.tmp"
	mv "$INITRD.tmp" "$INITRD"
	rm -rf "$dir"
}
# under a lock: tests/check.sh starts two of us at once on a fresh tree,
# and a guest must never boot a half-written initramfs
exec 9>"$INITRD.lock"
flock 9
if [ ! -f "$INITRD" ] || [ "$REPO/tests/guest/init" -nt "$INITRD" ]; then
	build_initramfs || die "cannot build the initramfs"
fi
exec 9>&-

JOB=$(mktemp -d "$BUILD/job.XXXXXX")
chmod 755 "$JOB"
QPIDS=()
cleanup() {
	[ ${#QPIDS[@]} -gt 0 ] && kill "${QPIDS[@]}" 2>/dev/null
	[ "${KIPSEC_VM_KEEP:-0}" = 1 ] || rm -rf "$JOB"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# KVM only when a bounded probe shows that it boots (docs/testing.md).
probe_kvm() {
	local cache=$BUILD/kvm-probe-$KVER out
	if [ -f "$cache" ]; then cat "$cache"; return; fi
	if [ ! -w /dev/kvm ]; then echo tcg | tee "$cache"; return; fi
	out=$(mktemp -d)
	echo probe > "$out/mode"
	timeout 25 qemu-system-x86_64 -enable-kvm -cpu host -m 256 -smp 1 \
		-kernel "$VMLINUZ" -initrd "$INITRD" -nographic -no-reboot \
		-append "console=ttyS0 panic=-1 kipsec_probe=1" >"$out/log" 2>&1
	if grep -q KIPSEC-KVM-OK "$out/log"; then echo kvm; else echo tcg; fi | tee "$cache"
	rm -rf "$out"
}
ACCEL=${KIPSEC_VM_ACCEL:-$(probe_kvm)}
if [ "$ACCEL" = kvm ]; then
	ACCEL_ARGS=(-enable-kvm -cpu host)
else
	ACCEL_ARGS=(-accel tcg,thread=multi -cpu max)
fi

# boot DIR [QEMU ARGS...]: start a guest in the background on the job
# directory DIR (mode, arg; console and result come back there); its pid
# is appended to QPIDS
boot() {
	local dir=$1
	shift
	: > "$dir/result"
	qemu-system-x86_64 "${ACCEL_ARGS[@]}" -smp "$SMP" -m "$MEM" \
		-kernel "$VMLINUZ" -initrd "$INITRD" \
		-append "console=ttyS0 loglevel=5 panic=-1 oops=panic mitigations=off kipsec_job=$dir kipsec_repo=$REPO" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-display none -monitor none -no-reboot \
		-serial "file:$dir/console" -serial "file:$dir/result" \
		"$@" >"$dir/qemu.log" 2>&1 &
	QPIDS+=($!)
}

# wait_guests: wait for every guest of QPIDS, bounded by TIMEOUT in all
wait_guests() {
	local deadline=$((SECONDS + TIMEOUT)) p alive
	while :; do
		alive=0
		for p in "${QPIDS[@]}"; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		[ $alive = 0 ] && break
		if [ $SECONDS -ge $deadline ]; then
			echo "run-vm: guest timed out after ${TIMEOUT}s" >&2
			kill "${QPIDS[@]}" 2>/dev/null
			TIMED_OUT=1
			break
		fi
		sleep 1
	done
	for p in "${QPIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	QPIDS=()
}

# verdict DIR [NAME]: the guest's exit status (1 without one), after
# checking its console for kernel reports, which fail the run whatever
# the tests said
verdict() {
	local dir=$1 name=${2:+$2: } status rc=1
	status=$(grep -a '^KIPSEC-EXIT ' "$dir/result" | tail -n 1 | awk '{print $2}' | tr -d '\r')
	[ -n "$status" ] && rc=$status
	[ -n "${TIMED_OUT:-}" ] && rc=1
	if grep -aE "$KREPORT_RE" "$dir/console" >/dev/null; then
		echo "run-vm: ${name}the guest kernel complained:" >&2
		grep -aE -B2 -A20 "$KREPORT_RE" "$dir/console" | head -n 80 |
			sed 's/^/# console: /' >&2
		rc=1
	fi
	if [ -z "$status" ]; then
		echo "run-vm: ${name}the guest gave no verdict; console tail:" >&2
		tail -n 30 "$dir/console" | sed 's/^/# console: /' >&2
		grep -v 'module ui-ui' "$dir/qemu.log" | tail -n 5 | sed 's/^/# qemu: /' >&2
	fi
	return "$rc"
}

# shellcheck source=tests/lib/kreport.sh
source "$REPO/tests/lib/kreport.sh"

if [ "$MODE" != pair ]; then
	printf '%s\n' "$ARG" > "$JOB/arg"
	echo "$MODE" > "$JOB/mode"
	echo "# run-vm: kernel $KVER, $ACCEL, $SMP vCPUs, job $MODE ${ARG:+($ARG)}" >&2
	boot "$JOB" -nic none
	# Stream the guest's results while it runs; bound the whole run.
	tail -n +1 -f --pid="${QPIDS[0]}" "$JOB/result" &
	TPID=$!
	wait_guests
	wait "$TPID" 2>/dev/null
	verdict "$JOB"
	exit $?
fi

# Pair: guest a (kipsec keyed by strongSwan) runs the tests and prints
# KTAP; guest b (Linux xfrm keyed by strongSwan) serves it.  They share
# a point-to-point Ethernet link, QEMU's -netdev dgram between two local
# UDP ports, and a writable 9p directory ($JOB/share) where the two
# scripts meet (tests/pair.sh).
if ! qemu-system-x86_64 -netdev help 2>/dev/null | grep -qx dgram; then
	printf 'TAP version 13\n1..1\nok 1 pair # SKIP qemu has no -netdev dgram (QEMU 7.2 or later)\n'
	exit 0
fi
# Two free ports: the kernel picks them, and QEMU binds them a moment
# later (another user could take one in between: the guests then fail
# to start, which the run reports).
read -r PA PB < <(python3 -c 'import socket
s = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for i in (0, 1)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])') || die "no free UDP ports"
mkdir -p "$JOB/a" "$JOB/b" "$JOB/share"
chmod 777 "$JOB/share"
for g in a b; do
	echo pair > "$JOB/$g/mode"
	echo "$g" > "$JOB/$g/arg"
done
# link LOCAL-PORT REMOTE-PORT MAC: the guest's end of the link, in LINK
link() {
	LINK=(-netdev "dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=$1,remote.type=inet,remote.host=127.0.0.1,remote.port=$2"
	      -device "virtio-net-pci,netdev=n0,mac=$3")
}
echo "# run-vm: kernel $KVER, $ACCEL, two guests of $SMP vCPU, link on UDP ports $PA and $PB" >&2
share=(-virtfs "local,path=$JOB/share,mount_tag=kipsec_share,security_model=none")
link "$PA" "$PB" 52:54:00:77:00:01
boot "$JOB/a" "${share[@]}" "${LINK[@]}"
link "$PB" "$PA" 52:54:00:77:00:02
boot "$JOB/b" "${share[@]}" "${LINK[@]}"
tail -n +1 -f --pid="${QPIDS[0]}" "$JOB/a/result" &
TPID=$!
wait_guests
wait "$TPID" 2>/dev/null
rc=0
verdict "$JOB/a" "guest a" || rc=1
# guest b's own lines (its setup and what it served) as diagnostics
grep -av '^KIPSEC-EXIT ' "$JOB/b/result" | tr -d '\r' | sed 's/^/# b: /'
verdict "$JOB/b" "guest b" || rc=1
exit "$rc"
