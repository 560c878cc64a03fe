#!/bin/sh
# checkpatch --strict and sparse over the module, -Werror build of the tool.
set -e
cd "$(dirname "$0")/.."
CP=$(ls -d /usr/src/linux-source-*/scripts/checkpatch.pl 2>/dev/null | head -n 1)
if [ -z "$CP" ]; then
	if [ -f /usr/src/linux-source-6.1.tar.xz ] || { scripts/deps.sh && apt-get install -y -qq linux-source-6.1 >/dev/null; }; then
		tar -C /usr/src -xJf /usr/src/linux-source-6.1.tar.xz linux-source-6.1/scripts
		CP=/usr/src/linux-source-6.1/scripts/checkpatch.pl
	fi
fi
rc=0
echo "== checkpatch --strict"
perl "$CP" --strict --no-tree --quiet --terse --show-types \
	--ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES \
	-f src/*.c src/*.h include/uapi/linux/kipsec.h || rc=1
echo "== sparse"
make -s module C=2 CHECK="sparse -Wno-decl" 2>&1 | grep -E 'warning|error' && rc=1
echo "== tool"
make -s tool || rc=1
[ $rc = 0 ] && echo "lint: clean"
exit $rc
