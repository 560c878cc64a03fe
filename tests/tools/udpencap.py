#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Hold a UDP socket with UDP_ENCAP_ESPINUDP, as an IKE daemon does.

  udpencap.py [--port 4500] [--addr 0.0.0.0] [-6] [--ready FILE] [--timeout S]

Linux xfrm receives ESP in UDP (RFC 3948) only through a UDP socket
bound to the port with setsockopt(SOL_UDP, UDP_ENCAP, UDP_ENCAP_ESPINUDP):
its encap_rcv hook (xfrm4_udp_encap_rcv) takes the ESP packets before
the socket queue.  This holds such a socket until killed or --timeout
seconds; --ready FILE is created once the option is set.  IKE packets
(non-ESP marker) reaching the socket are read and discarded.  Like an
IKE daemon's, the socket has a per-socket bypass policy (IP_XFRM_POLICY,
allow, both directions): xfrm checks the inbound policy on the UDP packet
before its encap_rcv hook (udp_queue_rcv_one_skb()), and a transport
mode policy between the two hosts would otherwise refuse it.  With -6
the socket is IPv6 (xfrm6_udp_encap_rcv, Linux 5.8 and later), bound to
:: unless --addr says otherwise.  kipsec
needs no such socket: its LOCAL_IN hook takes ESP in UDP itself.
"""

import argparse
import select
import socket
import struct
import time

SOL_UDP = 17
UDP_ENCAP = 100
UDP_ENCAP_ESPINUDP = 2
IP_XFRM_POLICY = 17
IPV6_XFRM_POLICY = 35


def bypass(direction, family):
    """struct xfrm_userpolicy_info: any selector, action allow"""
    sel = bytes(32) + struct.pack("=HHHHHBBB3xiI", 0, 0, 0, 0,
                                  family, 0, 0, 0, 0, 0)
    lft = struct.pack("=8Q", *([0xFFFFFFFFFFFFFFFF] * 4 + [0] * 4))
    raw = sel + lft + bytes(32) + struct.pack("=IIBBBB", 0, 0, direction,
                                              0, 0, 0)
    return raw + bytes((-len(raw)) % 8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=4500)
    ap.add_argument("--addr")
    ap.add_argument("-6", dest="v6", action="store_true")
    ap.add_argument("--ready")
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args()
    fam = socket.AF_INET6 if a.v6 else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.addr or ("::" if a.v6 else "0.0.0.0"), a.port))
    for direction in (0, 1):
        if a.v6:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_XFRM_POLICY,
                         bypass(direction, fam))
        else:
            s.setsockopt(socket.IPPROTO_IP, IP_XFRM_POLICY,
                         bypass(direction, fam))
    s.setsockopt(SOL_UDP, UDP_ENCAP, UDP_ENCAP_ESPINUDP)
    if a.ready:
        open(a.ready, "w").close()
    end = time.monotonic() + a.timeout
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], 1.0)
        if r:
            s.recv(65536)


if __name__ == "__main__":
    main()
