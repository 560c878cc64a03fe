#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""sockpol.py ACTION: set an XFRM-format per-socket policy (in and out) on
UDP IPv4 and IPv6 sockets, as IKE daemons do for their bypass; prints
"ok" or the errno name of the first failure.  ACTION: allow, block, or
bad (an invalid action, which must fail with EINVAL)."""
import errno
import socket
import struct
import sys

IP_XFRM_POLICY = 17
IPV6_XFRM_POLICY = 35
ACTIONS = {"allow": 0, "block": 1, "bad": 7}


def userpolicy(family, direction, action):
    sel = bytes(16) * 2 + struct.pack("=HHHHHBBB3xiI", 0, 0, 0, 0, family,
                                      0, 0, 0, 0, 0)
    lft = struct.pack("=8Q", *([0xFFFFFFFFFFFFFFFF] * 4 + [0] * 4))
    cur = bytes(32)
    tail = struct.pack("=IIBBBB", 0, 0, direction, action, 0, 0)
    raw = sel + lft + cur + tail
    return raw + bytes((-len(raw)) % 8)


def main():
    action = ACTIONS[sys.argv[1]]
    for fam, lvl, opt in ((socket.AF_INET, socket.IPPROTO_IP, IP_XFRM_POLICY),
                          (socket.AF_INET6, socket.IPPROTO_IPV6,
                           IPV6_XFRM_POLICY)):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        for d in (0, 1):
            try:
                s.setsockopt(lvl, opt, userpolicy(fam, d, action))
            except OSError as e:
                print(errno.errorcode[e.errno])
                return 1
        s.close()
    print("ok")
    return 0


sys.exit(main())
