#!/bin/sh
# Print the kernel build directory to build kipsec.ko against:
# the running kernel's when installed, else the newest /lib/modules/*/build
# whose /boot/vmlinuz-* is installed (the host here cannot load modules,
# so the build must not depend on the running kernel).
run=/lib/modules/$(uname -r)/build
if [ -d "$run" ]; then
	echo "$run"
	exit 0
fi
for d in $(ls -d /lib/modules/*/build 2>/dev/null | sort -rV); do
	v=$(basename "$(dirname "$d")")
	if [ -e "/boot/vmlinuz-$v" ]; then
		echo "$d"
		exit 0
	fi
done
echo /lib/modules/none/build
