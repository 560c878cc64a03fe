#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Send mutated ESP packets at one SA and report what was sent.

  espfuzz.py --src A --dst B --spi SPI --key HEX [--count N] [--seed S]

The SA uses NULL encryption and HMAC-SHA-256-128 (tests/tools/espcraft.py),
so a mutation can keep a valid ICV and reach the checks behind it.  Each
packet is one of these mutations of a valid IPv4 transport-mode packet:

  trunc     the IP payload cut at a random length (header, ICV, anywhere)
  flip      one random byte of the ESP packet inverted (SPI excepted)
  padlen    a valid ICV over a random pad length
  nexthdr   a valid ICV over a random next header
  spi       a random SPI
  seq       a valid ICV over a sequence number at an edge (0, 1, 2^31,
            2^32 - 1, far ahead, just behind the window)
  frag      a valid packet split into two IPv4 fragments
  big       a valid packet of up to 64 KB, in IPv4 fragments
  ok        a valid packet with the next sequence number

Every packet sent is either accepted by the SA or dropped under a named
reason, so the receiver's counters must add up to what this prints on its
last line: "sent N packets M fragments R per-second".
"""

import argparse
import random
import socket
import struct
import sys
import time
import os

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import espcraft  # noqa: E402

MUTATIONS = ("trunc", "flip", "padlen", "nexthdr", "spi", "seq", "frag",
             "big", "ok")
# a big packet is some 25 fragments and a 64 KB HMAC: one in a hundred
WEIGHTS = (12, 12, 12, 12, 12, 12, 12, 1, 12)
SEQ_EDGES = (0, 1, 1 << 31, (1 << 32) - 1)


def ip_frags(src, dst, payload, ident, first):
    """IPv4 fragments of an ESP payload: FIRST bytes (a multiple of 8),
    then pieces that fit a 1500-byte link."""
    out, off = [], 0
    while off < len(payload):
        size = first if off == 0 else 1480
        part = payload[off:off + size]
        more = 1 if off + len(part) < len(payload) else 0
        out.append(espcraft.ipv4(src, dst, socket.IPPROTO_ESP, part, ident,
                                 (more << 13) | (off // 8)))
        off += len(part)
    return out


class Fuzzer:
    def __init__(self, args):
        self.a = args
        self.rnd = random.Random(args.seed)
        self.seq = args.seq
        self.ident = 1

    def valid(self, seq=None, data=None, nexthdr=socket.IPPROTO_UDP,
              padlen=None):
        if seq is None:
            self.seq += 1
            seq = self.seq
        data = data if data is not None else espcraft.udp(9)
        return espcraft.esp(self.a.spi, seq & 0xFFFFFFFF, self.a.key, data,
                            nexthdr, padlen)

    def ip(self, payload):
        return [espcraft.ipv4(self.a.src, self.a.dst, socket.IPPROTO_ESP,
                              payload)]

    def frags(self, payload):
        self.ident = (self.ident + 1) & 0xFFFF
        first = self.rnd.randrange(8, min(len(payload), 1480)) // 8 * 8
        return ip_frags(self.a.src, self.a.dst, payload, self.ident, first)

    def packet(self, kind):
        """The IP datagrams (one, or two fragments) of one fuzzed packet."""
        r = self.rnd
        if kind == "trunc":
            p = self.valid()
            return self.ip(p[:r.randrange(0, len(p))])
        if kind == "flip":
            p = bytearray(self.valid())
            p[r.randrange(4, len(p))] ^= r.randrange(1, 256)
            return self.ip(bytes(p))
        if kind == "padlen":
            return self.ip(self.valid(padlen=r.randrange(0, 256)))
        if kind == "nexthdr":
            # not ESP or AH: the decapsulated packet would be another
            # IPsec packet, counted a second time
            nh = r.choice([n for n in range(256) if n not in (50, 51)])
            return self.ip(self.valid(nexthdr=nh))
        if kind == "spi":
            p = bytearray(self.valid())
            spi = r.randrange(0, 1 << 32)
            if spi == self.a.spi:
                spi ^= 1
            p[0:4] = struct.pack("!I", spi)
            return self.ip(bytes(p))
        if kind == "seq":
            ahead = self.seq + r.randrange(1, 1 << 20)
            edges = SEQ_EDGES + (ahead, max(0, self.seq - r.randrange(1, 200)))
            seq = r.choice(edges)
            if seq == ahead:
                self.seq = ahead	# the valid packets follow it
            return self.ip(self.valid(seq=seq))
        if kind == "frag":
            return self.frags(self.valid())
        if kind == "big":
            size = r.randrange(1500, 65535 - 20 - 8 - 2 - 16 - 8 - 3)
            return self.frags(self.valid(data=espcraft.udp(9, b"z" * size)))
        return self.ip(self.valid())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--spi", required=True, type=lambda s: int(s, 0))
    ap.add_argument("--key", required=True,
                    type=lambda s: bytes.fromhex(s.removeprefix("0x")))
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seq", type=int, default=0,
                    help="the last sequence number already used")
    args = ap.parse_args()

    fz = Fuzzer(args)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    frags = 0
    t0 = time.monotonic()
    for _ in range(args.count):
        kind = fz.rnd.choices(MUTATIONS, WEIGHTS)[0]
        dgrams = fz.packet(kind)
        for d in dgrams:
            while True:
                try:
                    s.sendto(d, (args.dst, 0))
                    break
                except (BlockingIOError, InterruptedError):
                    time.sleep(0.001)
        if len(dgrams) > 1:
            frags += len(dgrams)
    dt = time.monotonic() - t0
    print("sent %d packets %d fragments %d per-second"
          % (args.count, frags, args.count / dt if dt else 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
