#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""sockpol.py ACTION: set an XFRM-format per-socket policy (in and out) on
UDP IPv4 and IPv6 sockets, as IKE daemons do for their bypass; prints
"ok" or the errno name of the first failure.  ACTION: allow, block, or
bad (an invalid action, which must fail with EINVAL).

sockpol.py serve NS ADDR PORT allow|none: in netns NS, a UDP socket on
ADDR:PORT (with the bypass policy when allow) prints "ready", answers
one datagram with "pong" and prints "got", or "timeout" after 20 s.

sockpol.py ask NS ADDR PORT: in netns NS, send "ping" to ADDR:PORT and
print "pong" when the answer comes, "timeout" after 5 s."""
import ctypes
import errno
import os
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


def setns(name):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    if libc.setns(fd, 0x40000000):
        raise OSError(ctypes.get_errno(), "setns " + name)


def udp(addr):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    return fam, socket.socket(fam, socket.SOCK_DGRAM)


def serve(ns, addr, port, action):
    setns(ns)
    fam, s = udp(addr)
    if action == "allow":
        lvl, opt = ((socket.IPPROTO_IP, IP_XFRM_POLICY)
                    if fam == socket.AF_INET
                    else (socket.IPPROTO_IPV6, IPV6_XFRM_POLICY))
        for d in (0, 1):
            s.setsockopt(lvl, opt, userpolicy(fam, d, 0))
    s.bind((addr, int(port)))
    s.settimeout(20)
    print("ready", flush=True)
    try:
        _, peer = s.recvfrom(100)
    except socket.timeout:
        print("timeout")
        return 1
    s.sendto(b"pong", peer)
    print("got")
    return 0


def ask(ns, addr, port):
    setns(ns)
    _, s = udp(addr)
    s.settimeout(5)
    s.sendto(b"ping", (addr, int(port)))
    try:
        print(s.recv(100).decode())
    except socket.timeout:
        print("timeout")
        return 1
    return 0


def main():
    if sys.argv[1] == "serve":
        return serve(*sys.argv[2:6])
    if sys.argv[1] == "ask":
        return ask(*sys.argv[2:5])
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
