#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Fuzz the kipsec generic netlink family, and check the SAD and SPD after.

  nlfuzz.py [--count N] [--seed S] [--unpriv]

Sends N requests, one at a time, each answered before the next:
  - a third entirely random (command number, flags, attribute bytes);
  - the rest structure-aware: a request built from small pools of valid
    values (so that adds, updates, deletes and flushes meet each other),
    then, with some probability, damaged: an attribute dropped, its
    length changed, its type changed, a huge value, a string without its
    terminator, a nest flag flipped, a random attribute added, bytes
    appended.

Every request must be answered (an ack, an error or a dump).  A model
follows the requests the kernel accepted: at the end the SAs and policies
the kernel dumps must be exactly the model's.  The kernel validates the
attributes strictly, so an accepted request means what it says.

--unpriv: run as a user without CAP_NET_ADMIN; every request must be
refused with EPERM (EOPNOTSUPP for a command that does not exist,
EINVAL when netlink itself refuses the flags), and nothing may change.

Prints "sent N accepted A refused R per-second P" and exits 1 on a
mismatch.
"""

import argparse
import errno
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nlraw  # noqa: E402

E = nlraw.ENUMS
NLA_F_NESTED = 0x8000
REQ = nlraw.NLM_F_REQUEST | nlraw.NLM_F_ACK

AF_INET, AF_INET6 = 2, 10
ESP, AH = 50, 51
DSTS4 = [socket.inet_aton("10.77.0.%d" % i) for i in (1, 2, 3)]
DSTS6 = [socket.inet_pton(AF_INET6, "fd77::%d" % i) for i in (1, 2)]
SRC4 = socket.inet_aton("10.77.1.1")
SRC6 = socket.inet_pton(AF_INET6, "fd77:1::1")
ALGS = [
    ("aead", "rfc4106(gcm(aes))", 20, 128),
    ("enc-auth", ("cbc(aes)", 16), ("hmac(sha256)", 32, 128)),
]
# the attributes that give an SA or a policy a life of its own (lifetimes)
# are never sent: an SA expiring by itself would leave the model
NEVER = {v for k, v in E.items()
         if k.startswith("KIPSEC_A_") and "LIFETIME" in k}
CMD_NAME = {v: k[len("KIPSEC_CMD_"):] for k, v in E.items()
            if k.startswith("KIPSEC_CMD_")}


def a(name, payload, nested=False):
    t = E["KIPSEC_A_" + name]
    return nlraw.nla(t | (NLA_F_NESTED if nested else 0), payload)


def u8(v): return struct.pack("=B", v)
def u16(v): return struct.pack("=H", v)
def u32(v): return struct.pack("=I", v)
def be32(v): return struct.pack("!I", v)
def s(v): return v.encode() + b"\0"


class Gen:
    def __init__(self, rnd):
        self.r = rnd

    def family(self):
        return self.r.choice((AF_INET, AF_INET, AF_INET6))

    def sa_id(self):
        fam = self.family()
        dst = self.r.choice(DSTS4 if fam == AF_INET else DSTS6)
        proto = self.r.choice((ESP, ESP, AH))
        spi = self.r.randrange(0x100, 0x110)
        return fam, dst, proto, spi

    def sa_id_attrs(self, fam, dst, proto, spi):
        return [a("SA_FAMILY", u16(fam)), a("SA_DST", dst),
                a("SA_PROTO", u8(proto)), a("SA_SPI", be32(spi))]

    def sa_new(self):
        fam, dst, proto, spi = self.sa_id()
        attrs = self.sa_id_attrs(fam, dst, proto, spi)
        attrs += [a("SA_SRC", SRC4 if fam == AF_INET else SRC6),
                  a("SA_MODE", u8(self.r.choice((0, 1)))),
                  a("SA_REQID", u32(self.r.randrange(0, 4))),
                  a("SA_REPLAY_WINDOW", u32(self.r.choice((0, 32, 4096))))]
        if proto == AH:
            attrs += [a("SA_AUTH_NAME", s("hmac(sha256)")),
                      a("SA_AUTH_KEY", b"\x11" * 32),
                      a("SA_AUTH_TRUNC", u32(96))]
        elif self.r.random() < 0.5:
            attrs += [a("SA_AEAD_NAME", s("rfc4106(gcm(aes))")),
                      a("SA_AEAD_KEY", b"\x22" * 20),
                      a("SA_AEAD_ICV", u32(128))]
        else:
            attrs += [a("SA_ENC_NAME", s("cbc(aes)")),
                      a("SA_ENC_KEY", b"\x33" * 16),
                      a("SA_AUTH_NAME", s("hmac(sha256)")),
                      a("SA_AUTH_KEY", b"\x44" * 32),
                      a("SA_AUTH_TRUNC", u32(128))]
        return attrs

    def sel(self):
        fam = self.family()
        if fam == AF_INET:
            src = socket.inet_aton("10.78.%d.0" % self.r.randrange(0, 3))
            dst = socket.inet_aton("10.79.0.0")
            plen = (24, 16)
        else:
            src = socket.inet_pton(AF_INET6, "fd78:%d::" % self.r.randrange(3))
            dst = socket.inet_pton(AF_INET6, "fd79::")
            plen = (64, 48)
        proto = self.r.choice((0, 6, 17))
        body = (a("SEL_FAMILY", u16(fam)) + a("SEL_SRC", src) +
                a("SEL_DST", dst) + a("SEL_SPLEN", u8(plen[0])) +
                a("SEL_DPLEN", u8(plen[1])) + a("SEL_PROTO", u8(proto)))
        return fam, body

    def pol_id(self):
        fam, body = self.sel()
        d = self.r.choice((0, 1, 2))
        return [a("POL_SEL", body, nested=True), a("POL_DIR", u8(d))]

    def pol_new(self):
        attrs = self.pol_id()
        attrs.append(a("POL_PRIORITY", u32(self.r.randrange(0, 3))))
        act = self.r.choice((0, 0, 1))
        attrs.append(a("POL_ACTION", u8(act)))
        if act == 0 and self.r.random() < 0.7:
            tmpl = (a("TMPL_PROTO", u8(self.r.choice((ESP, AH)))) +
                    a("TMPL_MODE", u8(0)) +
                    a("TMPL_REQID", u32(self.r.randrange(0, 4))))
            attrs.append(a("POL_TMPL", tmpl, nested=True))
        return attrs

    def request(self):
        """(cmd name, flags, [attribute bytes])"""
        r = self.r.random()
        if r < 0.30:
            return "SA_NEW", REQ, self.sa_new()
        if r < 0.38:
            return "SA_NEW", REQ | nlraw.NLM_F_REPLACE, self.sa_new()
        if r < 0.50:
            return "SA_DEL", REQ, self.sa_id_attrs(*self.sa_id())
        if r < 0.55:
            return "SA_GET", REQ, self.sa_id_attrs(*self.sa_id())
        if r < 0.57:
            fl = [a("SA_PROTO", u8(self.r.choice((ESP, AH))))] \
                if self.r.random() < 0.5 else []
            return "SA_FLUSH", REQ, fl
        if r < 0.75:
            return "POLICY_NEW", REQ, self.pol_new()
        if r < 0.80:
            return "POLICY_NEW", REQ | nlraw.NLM_F_REPLACE, self.pol_new()
        if r < 0.90:
            return "POLICY_DEL", REQ, self.pol_id()
        if r < 0.93:
            return "POLICY_GET", REQ, self.pol_id()
        if r < 0.94:
            return "POLICY_FLUSH", REQ, []
        if r < 0.96:
            return "SA_GET", REQ | nlraw.NLM_F_DUMP, []
        if r < 0.98:
            return "POLICY_GET", REQ | nlraw.NLM_F_DUMP, []
        return self.r.choice(("INFO_GET", "STATS_GET")), REQ, []

    def damage(self, attrs):
        """One damaged copy of an attribute list (as bytes)."""
        r = self.r
        attrs = list(attrs)
        how = r.randrange(8)
        i = r.randrange(len(attrs)) if attrs else 0
        if how == 0 and attrs:
            del attrs[i]
        elif how == 1 and attrs:       # length changed, payload kept
            ln, t = struct.unpack_from("=HH", attrs[i])
            body = attrs[i][4:ln]
            body = body[:r.randrange(len(body))] if body and r.random() < .5 \
                else body + os.urandom(r.randrange(1, 9))
            attrs[i] = nlraw.nla(t, body)
        elif how == 2 and attrs:       # type changed
            ln, t = struct.unpack_from("=HH", attrs[i])
            nt = r.randrange(1, 64)
            if nt in NEVER:
                nt = 1
            attrs[i] = nlraw.nla(nt | (t & NLA_F_NESTED), attrs[i][4:ln])
        elif how == 3 and attrs:       # huge value of the same size
            ln, t = struct.unpack_from("=HH", attrs[i])
            attrs[i] = nlraw.nla(t, b"\xff" * (ln - 4))
        elif how == 4 and attrs:       # string without its terminator
            ln, t = struct.unpack_from("=HH", attrs[i])
            body = attrs[i][4:ln].rstrip(b"\0") + b"x" * r.randrange(1, 80)
            attrs[i] = nlraw.nla(t, body)
        elif how == 5 and attrs:       # nest flag flipped
            ln, t = struct.unpack_from("=HH", attrs[i])
            attrs[i] = nlraw.nla(t ^ NLA_F_NESTED, attrs[i][4:ln])
        elif how == 6:                 # random attribute added
            t = r.randrange(0, 64)
            if t in NEVER:
                t = 0
            attrs.insert(i, nlraw.nla(t, os.urandom(r.randrange(0, 24))))
        else:                          # bytes appended
            attrs.append(os.urandom(r.randrange(1, 12)))
        return attrs

    def random_request(self):
        r = self.r
        blob = b""
        for _ in range(r.randrange(0, 6)):
            t = r.randrange(0, 1 << 16) & ~0x4000
            if (t & 0x3FFF) in NEVER:
                t = 0
            blob += nlraw.nla(t, os.urandom(r.randrange(0, 40)))
        flags = REQ | r.choice((0, 0, nlraw.NLM_F_REPLACE, nlraw.NLM_F_DUMP,
                                r.randrange(0, 0x1000)))
        return r.randrange(0, 32), flags, blob


class Model:
    """The SAs and policies the accepted requests leave."""

    def __init__(self):
        self.sas = set()
        self.pols = set()

    @staticmethod
    def attrs_of(blob):
        return {t & 0x3FFF: p for t, p in nlraw.parse_attrs(blob)}

    def sa_key(self, at):
        fam = struct.unpack("=H", at[E["KIPSEC_A_SA_FAMILY"]])[0]
        dst = at[E["KIPSEC_A_SA_DST"]].ljust(16, b"\0")
        return (fam, dst, at[E["KIPSEC_A_SA_PROTO"]][0],
                struct.unpack("!I", at[E["KIPSEC_A_SA_SPI"]])[0])

    def pol_key(self, at):
        sel = self.attrs_of(at[E["KIPSEC_A_POL_SEL"]])
        fields = tuple(sel.get(E["KIPSEC_A_SEL_" + n], b"")
                       for n in ("FAMILY", "SRC", "DST", "SPLEN", "DPLEN",
                                 "PROTO", "SPORT", "DPORT"))
        return (at[E["KIPSEC_A_POL_DIR"]][0],) + self.norm_sel(fields)

    @staticmethod
    def norm_sel(f):
        """A selector's fields as the kernel reports them: absent and zero
        are the same, addresses are 16 bytes."""
        fam, src, dst, spl, dpl, proto, sport, dport = f
        z = lambda b, n: (b or b"\0" * n)  # noqa: E731
        return (z(fam, 2), z(src, 16).ljust(16, b"\0"),
                z(dst, 16).ljust(16, b"\0"), z(spl, 1), z(dpl, 1),
                z(proto, 1), z(sport, 2), z(dport, 2))

    def apply(self, cmd, flags, blob):
        at = self.attrs_of(blob)
        if cmd == "SA_NEW":
            self.sas.add(self.sa_key(at))
        elif cmd == "SA_DEL":
            self.sas.discard(self.sa_key(at))
        elif cmd == "SA_FLUSH":
            p = at.get(E["KIPSEC_A_SA_PROTO"])
            self.sas = {k for k in self.sas if p and k[2] != p[0]}
        elif cmd == "POLICY_NEW":
            self.pols.add(self.pol_key(at))
        elif cmd == "POLICY_DEL":
            self.pols.discard(self.pol_key(at))
        elif cmd == "POLICY_FLUSH":
            self.pols = set()


def dump(g, fid, cmd, keyf):
    seq = g.send(fid, REQ | nlraw.NLM_F_DUMP, E["KIPSEC_CMD_" + cmd], 1, b"")
    msgs, err, text, _ = g.recv_all(seq)
    if err:
        sys.exit("dump %s failed: %d %s" % (cmd, err, text))
    return {keyf(Model.attrs_of(p[4:])) for _, _, p in msgs}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--unpriv", action="store_true")
    args = ap.parse_args()

    rnd = random.Random(args.seed)
    gen, model = Gen(rnd), Model()
    g = nlraw.Genl()
    fid = g.family_id("kipsec")
    if fid is None:
        sys.exit("no kipsec family")
    accepted = refused = 0
    t0 = time.monotonic()
    for _ in range(args.count):
        if rnd.random() < 1 / 3:
            cmdno, flags, blob = gen.random_request()
            name = CMD_NAME.get(cmdno)
        else:
            name, flags, attrs = gen.request()
            cmdno = E["KIPSEC_CMD_" + name]
            damaged = rnd.random() < 0.5
            blob = b"".join(gen.damage(attrs) if damaged else attrs)
        seq = g.send(fid, flags, cmdno, 1, blob)
        _, err, text, _ = g.recv_all(seq)
        if args.unpriv:
            # EOPNOTSUPP: no such command, refused before the privilege
            # is checked; EINVAL: netlink itself refused the flags
            if err not in (-errno.EPERM, -errno.EOPNOTSUPP) and not (
                    err == -errno.EINVAL and "nlmsg_flags" in text):
                sys.exit("unprivileged request %s %s answered %d: %s"
                         % (name or cmdno, blob.hex(), err, text))
            refused += 1
            continue
        if err:
            refused += 1
            continue
        accepted += 1
        if name and not flags & nlraw.NLM_F_DUMP == nlraw.NLM_F_DUMP:
            model.apply(name, flags, blob)
    dt = time.monotonic() - t0
    print("sent %d accepted %d refused %d per-second %d"
          % (args.count, accepted, refused, args.count / dt if dt else 0))
    if args.unpriv:
        return 0

    sas = dump(g, fid, "SA_GET", model.sa_key)
    pols = dump(g, fid, "POLICY_GET", model.pol_key)
    bad = 0
    for what, got, want in (("SA", sas, model.sas),
                            ("policy", pols, model.pols)):
        for k in sorted(want - got, key=repr)[:5]:
            print("%s missing from the kernel: %r" % (what, k))
            bad += 1
        for k in sorted(got - want, key=repr)[:5]:
            print("%s the requests never added: %r" % (what, k))
            bad += 1
    print("model: %d SAs, %d policies; kernel: %d SAs, %d policies"
          % (len(model.sas), len(model.pols), len(sas), len(pols)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
