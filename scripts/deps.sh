#!/bin/sh
# Install from Debian's packages everything building and testing kipsec
# needs.  Idempotent: quiet, and quick, when everything is there.
set -e

PKGS="make gcc libc6-dev pkg-config libmnl-dev sparse \
linux-image-amd64 linux-headers-amd64 \
qemu-system-x86 busybox-static kmod cpio iproute2 iperf3 python3 \
procps util-linux xz-utils linux-perf nftables jq python3-yaml \
strongswan-charon strongswan-swanctl libstrongswan-standard-plugins"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
# the headers must match an installed image: linux-headers-amd64 and
# linux-image-amd64 move together, but check the result anyway
[ -n "$missing" ] || [ -n "$(ls -d /lib/modules/*/build 2>/dev/null)" ] || missing="linux-headers-amd64"
[ -z "$missing" ] && exit 0

echo "kipsec deps: installing$missing"
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# strongswan-starter (pulled in by strongswan-charon) enables a service:
# nothing starts it on these machines (no init system runs services, and
# a policy-rc.d, where present, denies invoke-rc.d), and the tests start
# their own charons with their own configuration, so it does not matter
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "kipsec deps: done"
