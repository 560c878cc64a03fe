#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""nlraw.py - send hand-built kipsec generic netlink messages.

A stdlib-only client for tests: it resolves the "kipsec" family through
nlctrl, builds one request from the command line, prints the kernel's
answer (errno and extack message, or the decoded reply attributes) and
can check the outcome.

  nlraw.py [options] CMD [ATTR ...]

CMD is a command name without its prefix (info_get, sa_new, ...) or a
number.  Each ATTR is NAME=TYPE:VALUE, where NAME is an attribute name
without KIPSEC_A_ (sa_spi, sel_family, tmpl_proto, ...) or a number, and
TYPE is one of
  u8 u16 u32 u64 be16 be32  an integer (0x.. accepted)
  str                       a NUL-terminated string
  strn                      a string without NUL
  hex                       bytes given in hex
  ip                        an IPv4 or IPv6 address (4 or 16 bytes)
  flag                      no payload (VALUE empty)
A nest is NAME={ ATTR ... } with "{" and "}" as separate arguments.

Options:
  --dump            NLM_F_DUMP request
  --replace         NLM_F_REPLACE (state/policy update)
  --flags N         extra nlmsg_flags bits
  --expect ERR      succeed only if the kernel answers errno ERR (EPERM,
                    EINVAL, ... or OK)
  --msg TEXT        and the extack message contains TEXT
  --hex             also print every received message in hex
  --quiet           print nothing on success
  --count N         send N requests, "{i}" in ATTRs replaced by 1..N;
                    stops at the first error
  --batch           (first option, alone) read one request per line of
                    stdin, each with its own options; stop at the first
                    line whose outcome is not the expected one

Output: "OK" or "ERR <NAME> (<errno>): <extack>" and, for replies, one
"name=value" line per attribute ("nest.name=value" inside nests), with a
"---" line between messages.  Exit 0 on success (or on the --expect
outcome), 1 on another kernel answer, 2 on a local error.
"""

import errno
import ipaddress
import os
import re
import shlex
import socket
import struct
import sys

NETLINK_GENERIC = 16
NETLINK_EXT_ACK = 11
SOL_NETLINK = 270
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_REPLACE = 0x100
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_ACK_TLVS = 0x200
NLM_F_CAPPED = 0x100
NLMSGERR_ATTR_MSG = 1
NLMSGERR_ATTR_OFFS = 2
NLMSGERR_ATTR_MISS_TYPE = 5
GENL_ID_CTRL = 16
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
NLA_F_NESTED = 0x8000

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.path.join(HERE, '..', '..', 'include', 'uapi', 'linux',
                      'kipsec.h')


def parse_header(path):
    """Enum names and values of kipsec.h: {'KIPSEC_A_SA_SPI': 12, ...}."""
    names = {}
    text = open(path).read()
    text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
    for body in re.findall(r'enum\s+\w+\s*\{(.*?)\}', text, flags=re.S):
        val = -1
        for item in body.split(','):
            item = item.strip()
            if not item:
                continue
            if '=' in item:
                name, expr = [x.strip() for x in item.split('=', 1)]
                expr = re.sub(r'\b([A-Z_][A-Z0-9_]*)\b',
                              lambda m: str(names.get(m.group(1), 0)), expr)
                val = eval(expr, {}, {})
            else:
                name = item
                val += 1
            names[name] = val
    return names


ENUMS = parse_header(HEADER)


def cmd_number(s):
    if s.isdigit():
        return int(s)
    key = 'KIPSEC_CMD_' + s.upper()
    if key not in ENUMS:
        raise SystemExit('nlraw: unknown command ' + s)
    return ENUMS[key]


def attr_number(s):
    if s.isdigit():
        return int(s)
    key = 'KIPSEC_A_' + s.upper()
    if key not in ENUMS:
        raise SystemExit('nlraw: unknown attribute ' + s)
    return ENUMS[key]


def nla(atype, payload):
    hdr = struct.pack('=HH', 4 + len(payload), atype)
    pad = b'\0' * ((4 - len(payload) % 4) % 4)
    return hdr + payload + pad


def encode_value(typ, val):
    def num(v):
        return int(v, 0)
    if typ == 'u8':
        return struct.pack('=B', num(val))
    if typ == 'u16':
        return struct.pack('=H', num(val))
    if typ == 'u32':
        return struct.pack('=I', num(val))
    if typ == 'u64':
        return struct.pack('=Q', num(val))
    if typ == 'be16':
        return struct.pack('>H', num(val))
    if typ == 'be32':
        return struct.pack('>I', num(val))
    if typ == 'str':
        return val.encode() + b'\0'
    if typ == 'strn':
        return val.encode()
    if typ == 'hex':
        v = val[2:] if val.startswith('0x') else val
        return bytes.fromhex(v)
    if typ == 'ip':
        return ipaddress.ip_address(val).packed
    if typ == 'flag':
        return b''
    raise SystemExit('nlraw: unknown type ' + typ)


def build_attrs(args, pos=0, nested=False):
    """Encode ATTR arguments from args[pos]; returns (bytes, next pos)."""
    out = b''
    while pos < len(args):
        a = args[pos]
        if a == '}':
            if not nested:
                raise SystemExit('nlraw: unbalanced }')
            return out, pos + 1
        if '=' not in a:
            raise SystemExit('nlraw: bad attribute ' + a)
        name, spec = a.split('=', 1)
        atype = attr_number(name)
        if spec == '{':
            inner, pos = build_attrs(args, pos + 1, True)
            out += nla(atype | NLA_F_NESTED, inner)
            continue
        typ, _, val = spec.partition(':')
        out += nla(atype, encode_value(typ, val))
        pos += 1
    if nested:
        raise SystemExit('nlraw: missing }')
    return out, pos


def parse_attrs(data):
    """[(type, payload)] of a buffer of attributes."""
    res = []
    off = 0
    while off + 4 <= len(data):
        alen, atype = struct.unpack_from('=HH', data, off)
        if alen < 4:
            break
        res.append((atype & 0x3fff, data[off + 4:off + alen]))
        off += (alen + 3) & ~3
    return res


# reply decoding: attribute names by nest
NESTED_PREFIXES = ('KIPSEC_A_SEL_', 'KIPSEC_A_TMPL_', 'KIPSEC_A_LFT_',
                   'KIPSEC_A_CURLFT_')
TOP = {v: k[len('KIPSEC_A_'):].lower() for k, v in ENUMS.items()
       if k.startswith('KIPSEC_A_') and not k.startswith(NESTED_PREFIXES)
       and k != 'KIPSEC_A_MAX'}
SEL = {v: k[len('KIPSEC_A_'):].lower() for k, v in ENUMS.items()
       if k.startswith('KIPSEC_A_SEL_') and not k.endswith('_MAX')}
TMPL = {v: k[len('KIPSEC_A_'):].lower() for k, v in ENUMS.items()
        if k.startswith('KIPSEC_A_TMPL_') and not k.endswith('_MAX')}
STAT = {v: k[len('KIPSEC_STAT_'):].lower() for k, v in ENUMS.items()
        if k.startswith('KIPSEC_STAT_') and not k.endswith('_MAX')}

TYPES = {
    'info_version': 'str', 'sa_aead_name': 'str', 'sa_enc_name': 'str',
    'sa_auth_name': 'str',
    'sa_src': 'ip', 'sa_dst': 'ip', 'sel_src': 'ip', 'sel_dst': 'ip',
    'tmpl_src': 'ip', 'tmpl_dst': 'ip',
    'sa_spi': 'be32', 'tmpl_spi': 'be32', 'sel_sport': 'be16',
    'sel_dport': 'be16',
    'sa_sel': 'sel', 'pol_sel': 'sel', 'pol_tmpl': 'tmpl',
    'sa_stats': 'stats', 'pol_stats': 'stats', 'stats': 'stats',
}


def fmt_value(name, payload):
    t = TYPES.get(name)
    if t == 'str':
        return '"%s"' % payload.rstrip(b'\0').decode(errors='replace')
    if t == 'ip' and len(payload) in (4, 16):
        return str(ipaddress.ip_address(payload))
    if t == 'be32' and len(payload) == 4:
        return '0x%08x' % struct.unpack('>I', payload)[0]
    if t == 'be16' and len(payload) == 2:
        return str(struct.unpack('>H', payload)[0])
    if len(payload) == 1:
        return str(payload[0])
    if len(payload) == 2:
        return str(struct.unpack('=H', payload)[0])
    if len(payload) == 4:
        return str(struct.unpack('=I', payload)[0])
    if len(payload) == 8:
        return str(struct.unpack('=Q', payload)[0])
    return 'hex:' + payload.hex()


def print_attrs(data, names, prefix=''):
    for atype, payload in parse_attrs(data):
        if names is STAT:
            if atype == 0:
                continue    # padding
            name = STAT.get(atype, str(atype))
            print('%s%s=%d' % (prefix, name, struct.unpack('=Q', payload)[0]))
            continue
        name = names.get(atype, str(atype))
        kind = TYPES.get(name)
        if kind in ('sel', 'tmpl', 'stats'):
            sub = {'sel': SEL, 'tmpl': TMPL, 'stats': STAT}[kind]
            print_attrs(payload, sub, prefix + name + '.')
        elif name == 'pad':
            continue
        else:
            print('%s%s=%s' % (prefix, name, fmt_value(name, payload)))


class Genl:
    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                  NETLINK_GENERIC)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.sock.bind((0, 0))
        self.seq = 1

    def send(self, mtype, flags, cmd, version, attrs):
        self.seq += 1
        genl = struct.pack('=BBH', cmd, version, 0)
        body = genl + attrs
        hdr = struct.pack('=IHHII', 16 + len(body), mtype, flags, self.seq, 0)
        self.sock.send(hdr + body)
        return self.seq

    def recv_all(self, seq):
        """Messages answering seq: (list of (type, flags, payload), err,
        extack message, raw bytes)."""
        msgs = []
        raw = b''
        self.datagrams = 0
        while True:
            data = self.sock.recv(1 << 20)
            self.datagrams += 1
            raw += data
            off = 0
            while off + 16 <= len(data):
                mlen, mtype, mflags, mseq, _ = struct.unpack_from(
                    '=IHHII', data, off)
                payload = data[off + 16:off + mlen]
                off += (mlen + 3) & ~3
                if mseq != seq:
                    continue
                if mtype == NLMSG_ERROR:
                    err = struct.unpack_from('=i', payload)[0]
                    text = ''
                    if mflags & NLM_F_ACK_TLVS:
                        olen = 16 if mflags & NLM_F_CAPPED else \
                            struct.unpack_from('=I', payload, 4)[0]
                        tlvs = payload[4 + ((olen + 3) & ~3):]
                        for atype, p in parse_attrs(tlvs):
                            if atype == NLMSGERR_ATTR_MSG:
                                text = p.rstrip(b'\0').decode(
                                    errors='replace')
                            elif atype == NLMSGERR_ATTR_MISS_TYPE:
                                text += ' [missing attribute %d]' % \
                                    struct.unpack('=I', p)[0]
                    return msgs, err, text.strip(), raw
                if mtype == NLMSG_DONE:
                    err = 0
                    if len(payload) >= 4:
                        err = struct.unpack_from('=i', payload)[0]
                    return msgs, err, '', raw
                msgs.append((mtype, mflags, payload))

    def family_id(self, name):
        seq = self.send(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK,
                        CTRL_CMD_GETFAMILY, 1,
                        nla(CTRL_ATTR_FAMILY_NAME, name.encode() + b'\0'))
        msgs, err, text, _ = self.recv_all(seq)
        if err:
            return None
        for _, _, payload in msgs:
            for atype, p in parse_attrs(payload[4:]):
                if atype == CTRL_ATTR_FAMILY_ID:
                    return struct.unpack('=H', p)[0]
        return None


def run(g, fid, argv):
    """One request as given by argv; returns the exit status."""
    flags = NLM_F_REQUEST | NLM_F_ACK
    expect = None
    msg_sub = None
    show_hex = quiet = False
    count = 0
    args = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == '--dump':
            flags |= NLM_F_DUMP
        elif a == '--replace':
            flags |= NLM_F_REPLACE
        elif a == '--flags':
            i += 1
            flags |= int(argv[i], 0)
        elif a == '--expect':
            i += 1
            expect = argv[i]
        elif a == '--msg':
            i += 1
            msg_sub = argv[i]
        elif a == '--hex':
            show_hex = True
        elif a == '--quiet':
            quiet = True
        elif a == '--count':
            i += 1
            count = int(argv[i], 0)
        else:
            args.append(a)
        i += 1
    if not args:
        print(__doc__, file=sys.stderr)
        return 2

    cmd = cmd_number(args[0])
    if count:
        # N requests, "{i}" in the arguments replaced by 1..N
        for n in range(1, count + 1):
            attrs, _ = build_attrs([x.replace('{i}', str(n))
                                    for x in args[1:]])
            seq = g.send(fid, flags, cmd, 1, attrs)
            msgs, err, text, raw = g.recv_all(seq)
            if err:
                break
    else:
        attrs, _ = build_attrs(args[1:])
        seq = g.send(fid, flags, cmd, 1, attrs)
        msgs, err, text, raw = g.recv_all(seq)

    if err:
        name = errno.errorcode.get(-err, str(-err))
        print('ERR %s (%d): %s' % (name, err, text))
    elif not quiet:
        print('OK' + (': ' + text if text else ''))
        for n, (_, _, payload) in enumerate(msgs):
            if n:
                print('---')
            print_attrs(payload[4:], TOP)
    if show_hex:
        print('hex:' + raw.hex())
    if flags & NLM_F_DUMP == NLM_F_DUMP and not err:
        print('# %d messages in %d datagrams' % (len(msgs), g.datagrams))

    if expect is None or expect == 'OK':
        ok = err == 0
    else:
        ok = err != 0 and getattr(errno, expect, None) == -err
    if not ok:
        print('nlraw: expected %s' % (expect or 'OK'), file=sys.stderr)
    if ok and msg_sub is not None and msg_sub not in text:
        print('nlraw: extack does not contain "%s"' % msg_sub,
              file=sys.stderr)
        ok = False
    return 0 if ok else 1


def main(argv):
    if not argv or argv[0] in ('-h', '--help'):
        print(__doc__)
        return 0 if argv else 2
    g = Genl()
    fid = g.family_id('kipsec')
    if fid is None:
        print('ERR family "kipsec" not found')
        return 2 if '--expect' not in argv else 1
    if argv[0] != '--batch':
        return run(g, fid, argv)
    # --batch: one request per line of stdin, stop at the first failure
    for n, line in enumerate(sys.stdin, 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        print('> ' + line)
        sys.stdout.flush()
        rc = run(g, fid, shlex.split(line))
        sys.stdout.flush()
        if rc:
            print('nlraw: batch line %d failed: %s' % (n, line),
                  file=sys.stderr)
            return rc
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
