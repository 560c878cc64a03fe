#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A user-space ESP-in-TCP endpoint (RFC 8229) for tests/suites/57-espintcp.sh.

server: accept one connection on ADDR:PORT, read the "IKETCP" prefix, set
TCP_ULP "espintcp", then echo every IKE message back (first byte + 1).
client: connect from SPORT, send "IKETCP", set the ULP, send IKE messages
(non-ESP marker + payload) and check each echo, until --stop FILE exists;
writes the number of round trips to --count FILE.

Through the ULP, send() takes the marker and payload (the kernel adds the
2-byte length) and recv() returns them, length stripped, marker kept.
"""
import argparse
import os
import socket
import sys
import time

TCP_ULP = 31
MARKER = b"\0\0\0\0"


def ike_msg(i):
    return MARKER + b"IKE" + i.to_bytes(4, "big") + bytes(range(200))


def echo(msg):
    return msg[:4] + bytes([(msg[4] + 1) & 0xff]) + msg[5:]


def server(a):
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.addr, a.port))
    ls.listen(1)
    open(a.ready, "w").close()
    ls.settimeout(a.timeout)
    s, _ = ls.accept()
    s.settimeout(a.timeout)
    pfx = b""
    while len(pfx) < 6:
        pfx += s.recv(6 - len(pfx))
    if pfx != b"IKETCP":
        sys.exit("bad prefix %r" % pfx)
    s.setsockopt(socket.IPPROTO_TCP, TCP_ULP, b"espintcp")
    while True:
        m = s.recv(4096)
        if not m:
            return
        if not m.startswith(MARKER) or m[4:7] != b"IKE":
            sys.exit("server: bad IKE message %r" % m[:16])
        s.send(echo(m))


def client(a):
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.src, a.sport))
    s.settimeout(a.timeout)
    s.connect((a.addr, a.port))
    s.sendall(b"IKETCP")
    s.setsockopt(socket.IPPROTO_TCP, TCP_ULP, b"espintcp")
    ulp = s.getsockopt(socket.IPPROTO_TCP, TCP_ULP, 16).rstrip(b"\0")
    if ulp != b"espintcp":
        sys.exit("ULP is %r" % ulp)
    n = 0
    deadline = time.time() + a.timeout
    while time.time() < deadline:
        m = ike_msg(n)
        s.send(m)
        r = s.recv(4096)
        if r != echo(m):
            sys.exit("client: echo %d differs: %r" % (n, r[:16]))
        n += 1
        with open(a.count, "w") as f:
            f.write("%d\n" % n)
        if a.stop and os.path.exists(a.stop):
            break
        time.sleep(0.2)
    s.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["server", "client"])
    p.add_argument("--addr", required=True)
    p.add_argument("--port", type=int, default=4500)
    p.add_argument("--src", default="")
    p.add_argument("--sport", type=int, default=0)
    p.add_argument("--ready", default="/dev/null")
    p.add_argument("--count", default="/dev/null")
    p.add_argument("--stop", default="")
    p.add_argument("--timeout", type=float, default=200)
    a = p.parse_args()
    server(a) if a.mode == "server" else client(a)


if __name__ == "__main__":
    main()
