#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""AF_PACKET capture and injection for the kipsec interop suites.

tcpdump is not available in the test guest; this is just enough of it.

  sniff.py capture -i IF [-o FILE] [--ready FILE] [--save esp|all|none]
                   [--dir in|out|any] [--count N] [--timeout S]
      Capture the IPv4/IPv6 frames seen on IF until SIGTERM, --timeout
      seconds, or --count saved frames.  On exit print a summary on
      stdout, one "KEY COUNT" line per key, where DIR is "in" (received
      on IF) or "out" (sent on IF):
          DIR:all            every IP frame
          DIR:esp            ESP packets; DIR:esp:0xSPI per SPI
          DIR:icmp:TYPE      plaintext ICMPv4 of that type
          DIR:icmp6:TYPE     plaintext ICMPv6 of that type
          DIR:udp:DPORT      plaintext UDP to that port (also DIR:udp)
          DIR:tcp:DPORT      plaintext TCP to that port (also DIR:tcp)
          DIR:proto:N        any other IP protocol
          DIR:from:SRC:PROTO every frame by source address and protocol
          DIR:df, DIR:nodf   IPv4 frames with DF set, with DF clear
          DIR:frag           IPv4 fragments, IPv6 frames with a fragment
                             header; DIR:frag:df IPv4 fragments with DF
      Saved frames (--save, --dir filter) go to FILE, one per line:
      "DIR SPI SEQ HEX" (SPI/SEQ are 0 for non-ESP frames).

  sniff.py inject -i IF -f FILE -n INDEX [--flip OFFSET]
      Send saved frame INDEX (0-based) of FILE out of IF, unchanged or
      with the byte at OFFSET from the start of the ESP header (negative:
      from the end of the IP packet) inverted.
"""

import argparse
import os
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def parse_ip(frame):
    """Return (version, src, dst, proto, l4_offset, ip_end) or None."""
    if len(frame) < 14:
        return None
    etype = struct.unpack("!H", frame[12:14])[0]
    if etype == 0x0800 and len(frame) >= 34:
        ihl = (frame[14] & 0x0F) * 4
        tot = struct.unpack("!H", frame[16:18])[0]
        src = socket.inet_ntop(socket.AF_INET, frame[26:30])
        dst = socket.inet_ntop(socket.AF_INET, frame[30:34])
        return 4, src, dst, frame[23], 14 + ihl, 14 + tot
    if etype == 0x86DD and len(frame) >= 54:
        plen = struct.unpack("!H", frame[18:20])[0]
        nh = frame[20]
        src = socket.inet_ntop(socket.AF_INET6, frame[22:38])
        dst = socket.inet_ntop(socket.AF_INET6, frame[38:54])
        off = 54
        while nh in (0, 43, 60, 44) and off + 8 <= len(frame):
            if nh == 44:
                hlen = 8
            else:
                hlen = (frame[off + 1] + 1) * 8
            nh = frame[off]
            off += hlen
        return 6, src, dst, nh, off, 54 + plen
    return None


def frag_keys(frame, ver, d):
    """DF and fragment keys of an IP frame."""
    if ver == 4:
        fo = struct.unpack("!H", frame[20:22])[0]
        keys = [d + (":df" if fo & 0x4000 else ":nodf")]
        if fo & 0x3FFF:
            keys.append(d + ":frag")
            if fo & 0x4000:
                keys.append(d + ":frag:df")
        return keys
    nh, off = frame[20], 54
    while nh in (0, 43, 60, 44) and off + 8 <= len(frame):
        if nh == 44:
            return [d + ":frag"]
        nh = frame[off]
        off += (frame[off + 1] + 1) * 8
    return []


def classify(frame, direction):
    """Summary keys of a frame, and (spi, seq) for ESP."""
    ip = parse_ip(frame)
    if ip is None:
        return [], None
    ver, src, dst, proto, l4, _ = ip
    d = direction
    keys = [d + ":all", "%s:from:%s:%d" % (d, src, proto)]
    keys += frag_keys(frame, ver, d)
    esp = None
    if proto == 50 and len(frame) >= l4 + 8:
        spi, seq = struct.unpack("!II", frame[l4:l4 + 8])
        keys += [d + ":esp", "%s:esp:0x%08x" % (d, spi)]
        esp = (spi, seq)
    elif proto == 1 and len(frame) > l4:
        keys += [d + ":icmp", "%s:icmp:%d" % (d, frame[l4])]
    elif proto == 58 and len(frame) > l4:
        keys += [d + ":icmp6", "%s:icmp6:%d" % (d, frame[l4])]
    elif proto in (6, 17) and len(frame) >= l4 + 4:
        name = "tcp" if proto == 6 else "udp"
        dport = struct.unpack("!H", frame[l4 + 2:l4 + 4])[0]
        keys += ["%s:%s" % (d, name), "%s:%s:%d" % (d, name, dport)]
    else:
        keys += ["%s:proto:%d" % (d, proto)]
    return keys, esp


def capture(args):
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                      socket.htons(ETH_P_ALL))
    s.bind((args.interface, 0))
    out = open(args.output, "w") if args.output else None
    if args.ready:
        open(args.ready, "w").close()
    counts = {}
    saved = [0]

    def take(frame, addr):
        """Count one frame and save it; False once --count are saved."""
        direction = "out" if addr[2] == PACKET_OUTGOING else "in"
        keys, esp = classify(frame, direction)
        for k in keys:
            counts[k] = counts.get(k, 0) + 1
        if not keys or out is None or args.save == "none":
            return True
        if args.dir != "any" and args.dir != direction:
            return True
        if args.save == "esp" and esp is None:
            return True
        spi, seq = esp or (0, 0)
        out.write("%s 0x%08x %d %s\n" % (direction, spi, seq, frame.hex()))
        out.flush()
        saved[0] += 1
        return not (args.count and saved[0] >= args.count)

    deadline = time.monotonic() + args.timeout
    more = True
    while more and not stop and time.monotonic() < deadline:
        try:
            r, _, _ = select.select([s], [], [], 0.1)
        except InterruptedError:
            continue
        if r:
            more = take(*s.recvfrom(65535))
    # stopped: what the socket already holds was seen, so it counts too
    s.setblocking(False)
    while more:
        try:
            more = take(*s.recvfrom(65535))
        except (BlockingIOError, InterruptedError):
            break
    if out:
        out.close()
    for k in sorted(counts):
        print(k, counts[k])
    print("saved", saved[0])
    return 0


def inject(args):
    with open(args.file) as f:
        lines = [ln.split() for ln in f if ln.strip()]
    if args.index >= len(lines):
        print("only %d frames in %s" % (len(lines), args.file),
              file=sys.stderr)
        return 1
    frame = bytearray(bytes.fromhex(lines[args.index][3]))
    if args.flip is not None:
        ip = parse_ip(bytes(frame))
        if ip is None or ip[3] != 50:
            print("frame %d is not ESP" % args.index, file=sys.stderr)
            return 1
        l4, end = ip[4], ip[5]
        pos = l4 + args.flip if args.flip >= 0 else end + args.flip
        if not l4 <= pos < end:
            print("offset %d outside the ESP packet" % args.flip,
                  file=sys.stderr)
            return 1
        frame[pos] ^= 0xFF
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((args.interface, 0))
    s.send(bytes(frame))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("capture")
    c.add_argument("-i", "--interface", required=True)
    c.add_argument("-o", "--output")
    c.add_argument("--ready")
    c.add_argument("--save", choices=("esp", "all", "none"), default="esp")
    c.add_argument("--dir", choices=("in", "out", "any"), default="any")
    c.add_argument("--count", type=int, default=0)
    c.add_argument("--timeout", type=float, default=60)
    i = sub.add_parser("inject")
    i.add_argument("-i", "--interface", required=True)
    i.add_argument("-f", "--file", required=True)
    i.add_argument("-n", "--index", type=int, required=True)
    i.add_argument("--flip", type=int)
    args = p.parse_args()
    return capture(args) if args.cmd == "capture" else inject(args)


if __name__ == "__main__":
    sys.exit(main())
