#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Craft ESP packets, good and bad, for an SA with NULL encryption.

With `enc cipher_null ""` and `auth-trunc hmac(sha256) KEY 128` the ESP
payload is in clear and only the ICV needs the key, which the standard
library computes: every field a receiver checks can then be set at will.

  espcraft.py --src A --dst B --spi SPI --key HEX CASE[:COUNT] ...

sends, from a raw socket in the current netns, COUNT (default 1) IPv4
transport-mode ESP packets of each CASE, in the order given, with
sequence numbers counting up from --seq (default 1):

  ok        a valid packet (a UDP datagram to --dport)
  replay    a copy of the previous "ok" or "dummy" packet (same sequence
            number)
  dummy     a valid dummy packet (RFC 4303 2.6): next header 59, a few
            bytes of junk as payload
  icv       a valid packet with its last ICV byte inverted
  padlen    a valid ICV over a trailer whose pad length exceeds the payload
  short     an ESP header and 4 bytes: shorter than header plus ICV
  nosa      a valid packet under SPI + 1
  tunnel    (with --inner SRC DST) tunnel mode: an inner IPv4/UDP packet
  unaligned for an SA with a 16-byte block cipher (cbc(aes)) and the same
            integrity key: a 16-byte IV and 17 bytes of ciphertext under a
            valid ICV, which the cipher cannot decrypt (not whole blocks)
"""

import argparse
import hashlib
import hmac
import socket
import struct
import sys

ICV_LEN = 16


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ident=0, frag=0x4000):
    """An IPv4 datagram; FRAG is the flags and fragment offset field
    (default DF, no fragment)."""
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident,
                      frag, 64, proto, 0, socket.inet_aton(src),
                      socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def udp(dport, data=b"kipsec espcraft"):
    # checksum 0: none, valid for IPv4
    return struct.pack("!HHHH", 40000, dport, 8 + len(data), 0) + data


def esp(spi, seq, key, payload, nexthdr, padlen=None):
    pad = (-(len(payload) + 2)) % 4
    trailer = bytes(range(1, pad + 1))
    trailer += struct.pack("!BB", pad if padlen is None else padlen, nexthdr)
    body = struct.pack("!II", spi, seq) + payload + trailer
    icv = hmac.new(key, body, hashlib.sha256).digest()[:ICV_LEN]
    return body + icv


def packets(args, case, seq, last_ok):
    """The ESP payload of one packet of CASE, and the new last "ok" one."""
    data = udp(args.dport)
    if case == "ok":
        p = esp(args.spi, seq, args.key, data, socket.IPPROTO_UDP)
        return p, p
    if case == "dummy":
        p = esp(args.spi, seq, args.key, b"tfc-dummy", 59)
        return p, p
    if case == "replay":
        if last_ok is None:
            sys.exit("replay needs an earlier ok packet")
        return last_ok, last_ok
    if case == "icv":
        p = bytearray(esp(args.spi, seq, args.key, data, socket.IPPROTO_UDP))
        p[-1] ^= 0xFF
        return bytes(p), last_ok
    if case == "padlen":
        return esp(args.spi, seq, args.key, data, socket.IPPROTO_UDP,
                   padlen=200), last_ok
    if case == "short":
        return struct.pack("!II", args.spi, seq) + b"\0" * 4, last_ok
    if case == "nosa":
        return esp(args.spi + 1, seq, args.key, data,
                   socket.IPPROTO_UDP), last_ok
    if case == "unaligned":
        body = struct.pack("!II", args.spi, seq) + bytes(16) + bytes(17)
        icv = hmac.new(args.key, body, hashlib.sha256).digest()[:ICV_LEN]
        return body + icv, last_ok
    if case == "tunnel":
        if not args.inner:
            sys.exit("tunnel needs --inner SRC DST")
        inner = ipv4(args.inner[0], args.inner[1], socket.IPPROTO_UDP, data)
        return esp(args.spi, seq, args.key, inner, 4), last_ok
    sys.exit("unknown case " + case)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--spi", required=True, type=lambda s: int(s, 0))
    ap.add_argument("--key", required=True,
                    type=lambda s: bytes.fromhex(s.removeprefix("0x")))
    ap.add_argument("--seq", type=int, default=1)
    ap.add_argument("--dport", type=int, default=9)
    ap.add_argument("--inner", nargs=2, metavar=("SRC", "DST"))
    ap.add_argument("cases", nargs="+")
    args = ap.parse_args()

    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    seq, last_ok, sent = args.seq, None, 0
    for spec in args.cases:
        case, _, count = spec.partition(":")
        for _ in range(int(count or 1)):
            payload, last_ok = packets(args, case, seq, last_ok)
            s.sendto(ipv4(args.src, args.dst, socket.IPPROTO_ESP, payload),
                     (args.dst, 0))
            seq += 1
            sent += 1
    print(sent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
