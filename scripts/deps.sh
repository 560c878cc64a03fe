#!/bin/sh
# Install from Debian's packages everything building and testing kipsec
# needs.  Idempotent: quiet, and quick, when everything is there.
set -e

PKGS="make gcc libc6-dev pkg-config libmnl-dev sparse \
linux-image-amd64 linux-headers-amd64 \
qemu-system-x86 busybox-static kmod cpio iproute2 iperf3 python3 \
procps util-linux xz-utils linux-perf nftables jq python3-yaml ethtool \
strongswan-charon strongswan-swanctl libstrongswan-standard-plugins \
libnss3-tools libnss3 libnspr4 libaudit1 libcap-ng0 libcrypt1 libcurl3-nss \
libevent-core-2.1-7 libevent-pthreads-2.1-7 libldap-2.5-0 libldns3 \
libpam0g libselinux1 libsystemd0 libunbound8"

# libreswan conflicts with strongSwan's packages, which 73-strongswan
# needs, so it is not installed: its runtime libraries are (above), and
# its .deb is unpacked here, where 74-libreswan runs pluto from
LS_DIR=$(cd "$(dirname "$0")/.." && pwd)/tests/.build/libreswan

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
# the headers must match an installed image: linux-headers-amd64 and
# linux-image-amd64 move together, but check the result anyway
[ -n "$missing" ] || [ -n "$(ls -d /lib/modules/*/build 2>/dev/null)" ] || missing="linux-headers-amd64"
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

# unpack_libreswan: libreswan's files under $LS_DIR (the .deb kept in
# $LS_DIR.deb/), for the suite to run; nothing under / changes
unpack_libreswan() {
	[ -x "$LS_DIR/usr/libexec/ipsec/pluto" ] && return 0
	echo "kipsec deps: unpacking libreswan into $LS_DIR"
	mkdir -p "$LS_DIR.deb"
	rm -f "$LS_DIR".deb/libreswan_*.deb
	# apt-get download writes into the current directory
	(cd "$LS_DIR.deb" && apt-get download -qq libreswan 2>/dev/null) || {
		$SUDO apt-get update -qq >/dev/null
		(cd "$LS_DIR.deb" && apt-get download -qq libreswan)
	}
	rm -rf "$LS_DIR"
	dpkg -x "$LS_DIR".deb/libreswan_*.deb "$LS_DIR"
}

if [ -z "$missing" ]; then
	unpack_libreswan
	exit 0
fi

echo "kipsec deps: installing$missing"
# strongswan-starter (pulled in by strongswan-charon) enables a service:
# nothing starts it on these machines (no init system runs services, and
# a policy-rc.d, where present, denies invoke-rc.d), and the tests start
# their own charons with their own configuration, so it does not matter
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
unpack_libreswan
echo "kipsec deps: done"
