#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Known-answer tests: published ESP packets against a kipsec receiver.

The vectors are the JSON files in tests/vectors/ (see README.md there).
For one vector, `run` builds two network namespaces joined by a veth
pair, configures the receiving side with the vector's SA (key and salt,
SPI, mode, ESN, a replay window of 32) and an inbound policy, then
injects Ethernet frames carrying the vector's packet on the peer side
with an AF_PACKET socket and checks, in this order:

  1. the packet with its last byte (ICV) flipped is dropped as an
     authentication failure and not delivered; without integrity, the
     packet with its pad length corrupted is dropped as a bad trailer
     (kipsec; xfrm: a protocol error) and not delivered;
  2. the packet is accepted once (in_packets 1) and, when its inner
     packet is deliverable, a raw socket on the receiver gets exactly the
     inner packet (tunnel mode) or payload (transport mode);
  3. the same packet again is dropped as a replay, which also proves that
     step 2 authenticated it (the window only moves after authentication);
     a packet with an empty payload, which fails the trailer check, is
     dropped for its trailer again (the window moves only after the
     trailer check, as in xfrm_input).

The flipped copy goes first because a copy of an accepted packet would be
a replay, dropped before decryption; the genuine packet after it proves
that the failed copy did not move the replay window.

Backends: `kipsec` (the default; configured with the kipsec CLI, counters
read over the kipsec generic netlink family directly) and `xfrm` (Linux
xfrm configured with ip xfrm, for reference: a vector that fails on both
is suspect, not the datapath).

Vectors without an outer IP header (draft-mcgrew, scapy) are wrapped in an
IPv4 header: the addresses of the xfrm state quoted in the source when
there is one, else 192.0.2.1 -> 192.0.2.2.  draft-mcgrew uses next header
1 even for IPv4 payloads; such a vector is received in transport mode, so
its payload is delivered as the ICMP protocol's (a raw socket sees it).

Exit status: 0 pass, 1 fail, 4 skip (reason on the last line "SKIP: ...").

Usage:
  vectors.py list                       every vector, usable or why not
  vectors.py show NAME                  what run would configure
  vectors.py run [--backend B] NAME...  run vectors (NAME may omit .json)
  vectors.py run --all                  every vector, a summary at the end
"""

import argparse
import ctypes
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), '..', '..'))
VEC_DIR = os.path.join(REPO, 'tests', 'vectors')
UAPI = os.path.join(REPO, 'include', 'uapi', 'linux', 'kipsec.h')
EXIT_SKIP = 4
REPLAY_WINDOW = 32
TIMEOUT = 5.0


class Skip(Exception):
    """The vector cannot be used; the message says why."""


class Fail(Exception):
    """The receiver did not behave as it must."""


LOG_COPY = []     # run --results: the lines of the vector being run


def log(msg):
    print(msg, flush=True)
    LOG_COPY.append(msg)


# ---------------------------------------------------------------- vectors

def vector_names():
    return sorted(f[:-5] for f in os.listdir(VEC_DIR)
                  if f.endswith('.json') and f != 'INDEX.json')


def load(name):
    if name.endswith('.json'):
        name = name[:-5]
    with open(os.path.join(VEC_DIR, name + '.json')) as f:
        v = json.load(f)
    v['name'] = name
    return v


def aead_name(v):
    """The crypto API name of the vector's combined-mode algorithm, None
    when it has a cipher and an integrity algorithm, or Skip."""
    alg = v.get('algorithm', '')
    if v.get('protocol') == 'AH':
        raise Skip('AH not implemented')
    if v.get('protocol') != 'ESP':
        raise Skip('protocol %r is not ESP' % v.get('protocol'))
    if re.search(r'(^|[^3])DES-CBC', alg):
        raise Skip('single DES refused')
    if 'GCM' in alg and '4106' in alg:
        return 'rfc4106(gcm(aes))'
    if 'GMAC' in alg and '4543' in alg:
        return 'rfc4543(gcm(aes))'
    if 'ChaCha20-Poly1305' in alg:
        return 'rfc7539esp(chacha20,poly1305)'
    if 'CCM' in alg and '4309' in alg:
        return 'rfc4309(ccm(aes))'
    return None


# ESP ciphers and integrity algorithms, as the vectors' "algorithm" names them
ENC_NAMES = (('3DES-CBC', 'cbc(des3_ede)'), ('AES-CBC', 'cbc(aes)'),
             ('AES-CTR', 'rfc3686(ctr(aes))'), ('ESP NULL', 'ecb(cipher_null)'))
AUTH_NAMES = (('HMAC-SHA-256', 'hmac(sha256)'), ('HMAC-SHA-384', 'hmac(sha384)'),
              ('HMAC-SHA-512', 'hmac(sha512)'), ('HMAC-SHA1', 'hmac(sha1)'),
              ('HMAC-MD5', 'hmac(md5)'), ('AES-XCBC-MAC', 'xcbc(aes)'))


def alg_args(v):
    """The algorithm clauses of `state add` (ip xfrm grammar), or Skip."""
    alg = v.get('algorithm', '')
    icv_bits = 8 * int(v['icv_len'])
    aead = aead_name(v)
    if aead:
        key = bytes.fromhex(v['key_hex'] + (v.get('salt_hex') or ''))
        return ['aead', aead, '0x' + key.hex(), str(icv_bits)]
    enc = [n for k, n in ENC_NAMES if k in alg]
    if not enc:
        raise Skip('unknown cipher: ' + alg)
    key = bytes.fromhex((v.get('key_hex') or '') + (v.get('salt_hex') or ''))
    args = ['enc', enc[0], '0x' + key.hex() if key else '']
    if alg.endswith('+ none'):
        if icv_bits:
            raise Skip('no integrity algorithm but an ICV')
        return args
    auth = [n for k, n in AUTH_NAMES if k in alg]
    if not auth:
        raise Skip('unknown integrity algorithm: ' + alg)
    return args + ['auth-trunc', auth[0], '0x' + v['auth_key_hex'],
                   str(icv_bits)]


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ipv4_header(src, dst, proto, payload_len, ttl=64):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + payload_len, 0, 0, ttl,
                    proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack('!H', csum(h)) + h[12:]


def ipv4_problem(p):
    """Why an IPv4 packet would not reach a local socket, or None."""
    if len(p) < 20 or p[0] >> 4 != 4:
        return 'not an IPv4 packet'
    ihl = (p[0] & 15) * 4
    if ihl < 20 or len(p) < ihl:
        return 'bad IPv4 header length'
    tot = struct.unpack('!H', p[2:4])[0]
    if tot != len(p):
        return 'inner IPv4 total length %d, packet %d octets' % (tot, len(p))
    if csum(p[:ihl]):
        return 'bad inner IPv4 header checksum'
    if struct.unpack('!H', p[6:8])[0] & 0x3fff:
        return 'inner packet is a fragment'
    d = p[16]
    if d >= 224 or d == 0 or d == 127:
        return 'inner destination is not unicast'
    return None


IPV6_EXT = (0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254)


def ipv6_problem(p):
    if len(p) < 40 or p[0] >> 4 != 6:
        return 'not an IPv6 packet'
    if struct.unpack('!H', p[4:6])[0] + 40 != len(p):
        return 'inner IPv6 payload length does not match'
    if p[6] in IPV6_EXT:
        return 'inner packet has extension headers'
    if p[24] == 0xff:
        return 'inner destination is multicast'
    return None


class Case:
    """Everything run() needs about one vector."""

    def __init__(self, v):
        self.name = v['name']
        self.notes = []
        self.alg_args = alg_args(v)
        self.icv_bits = 8 * int(v['icv_len'])
        self.spi = int(str(v['spi']), 0)
        if self.spi == 0:
            raise Skip('SPI 0 is reserved (RFC 4303 2.1: never sent on the '
                       'wire); Linux xfrm does not look it up either')
        self.seq = int(v['seq'])
        self.esn = bool(v.get('esn'))
        if not v.get('esp_plaintext_with_trailer_hex'):
            raise Skip('vector has no decrypted payload with trailer')
        ept = bytes.fromhex(v['esp_plaintext_with_trailer_hex'])
        self.nh = ept[-1]
        self.padlen = ept[-2]
        self.payload = ept[:len(ept) - 2 - ept[-2]]
        self._outer(v)
        self._mode(v)
        self._expect()

    def _outer(self, v):
        pkt = bytes.fromhex(v['esp_packet_hex'])
        if v.get('esp_packet_includes_ip_header'):
            ver = pkt[0] >> 4
            if ver == 4:
                ihl = (pkt[0] & 15) * 4
                if pkt[9] != 50:
                    raise Skip('outer protocol %d is not ESP' % pkt[9])
                if csum(pkt[:ihl]):
                    fixed = pkt[:10] + b'\0\0' + pkt[12:ihl]
                    fixed = fixed[:10] + struct.pack('!H', csum(fixed)) + \
                        fixed[12:]
                    pkt = fixed + pkt[ihl:]
                    self.notes.append('outer IPv4 checksum was wrong: fixed '
                                      '(not covered by the ICV)')
                self.family = socket.AF_INET
                self.saddr = socket.inet_ntop(socket.AF_INET, pkt[12:16])
                self.daddr = socket.inet_ntop(socket.AF_INET, pkt[16:20])
                self.esp = pkt[ihl:]
            elif ver == 6:
                if pkt[6] != 50:
                    raise Skip('outer next header %d is not ESP' % pkt[6])
                self.family = socket.AF_INET6
                self.saddr = socket.inet_ntop(socket.AF_INET6, pkt[8:24])
                self.daddr = socket.inet_ntop(socket.AF_INET6, pkt[24:40])
                self.esp = pkt[40:]
            else:
                raise Skip('outer header is neither IPv4 nor IPv6')
            self.l3 = pkt
        else:
            m = re.search(r'state add src (\S+) dst (\S+)', v.get('source', ''))
            if m:
                self.saddr, self.daddr = m.group(1), m.group(2)
                why = 'the addresses of the xfrm state in the source'
            else:
                self.saddr, self.daddr = '192.0.2.1', '192.0.2.2'
                why = 'TEST-NET-1 addresses'
            self.family = socket.AF_INET
            self.esp = pkt
            self.l3 = ipv4_header(self.saddr, self.daddr, 50, len(pkt))
            self.l3 += pkt
            self.notes.append('no outer IP header in the vector: wrapped in '
                              'IPv4 %s -> %s (%s)' %
                              (self.saddr, self.daddr, why))
        spi, seq_lo = struct.unpack('!II', self.esp[:8])
        if spi != self.spi or seq_lo != self.seq & 0xffffffff:
            raise Fail('vector inconsistent: packet SPI/seq %#x/%d, fields '
                       '%#x/%d' % (spi, seq_lo, self.spi, self.seq))

    def _mode(self, v):
        text = v.get('mode', '')
        if self.nh in (4, 41):
            self.mode = 'tunnel'
        elif self.nh == 59:
            self.mode = 'tunnel' if text.startswith('tunnel') else 'transport'
        else:
            self.mode = 'transport'
            if not text.startswith('transport'):
                self.notes.append('next header %d: received in transport '
                                  'mode (vector mode: %s)' % (self.nh, text))

    def _expect(self):
        """Set self.inner: (family, proto, bytes a raw socket must read,
        local address to add) or None, and self.why_not."""
        self.inner = None
        self.inner_family = None
        self.why_not = None
        p = self.payload
        if self.nh == 59:
            self.why_not = 'dummy packet (next header 59): nothing to deliver'
        elif not p:
            self.why_not = 'empty payload: nothing to deliver'
        elif self.mode == 'tunnel' and self.nh == 4:
            self.inner_family = socket.AF_INET
            self.why_not = ipv4_problem(p)
            if not self.why_not:
                ihl = (p[0] & 15) * 4
                self.inner = (socket.AF_INET, p[9], p[ihl:],
                              socket.inet_ntop(socket.AF_INET, p[16:20]),
                              socket.inet_ntop(socket.AF_INET, p[12:16]))
        elif self.mode == 'tunnel' and self.nh == 41:
            self.inner_family = socket.AF_INET6
            self.why_not = ipv6_problem(p)
            if not self.why_not:
                self.inner = (socket.AF_INET6, p[6], p[40:],
                              socket.inet_ntop(socket.AF_INET6, p[24:40]),
                              socket.inet_ntop(socket.AF_INET6, p[8:24]))
        elif self.nh in (4, 41, 50, 51) or self.nh in IPV6_EXT:
            self.why_not = 'next header %d in transport mode' % self.nh
        else:
            self.inner = (self.family, self.nh, p, self.daddr, self.saddr)
        if self.inner and self.mode == 'tunnel' and \
           (self.inner[3] == self.saddr or self.inner[4] == self.daddr):
            # e.g. an echo reply sent back through the SA towards its
            # source: the receiver cannot own the inner destination
            # without making the outer source a local (martian) address
            self.why_not = 'inner %s -> %s is the reverse of the SA' % \
                (self.inner[4], self.inner[3])
            self.inner = None

    def describe(self):
        a = self.alg_args
        d = {'alg': ' '.join(a[i + 1] for i, w in enumerate(a)
                             if w in ('aead', 'enc', 'auth-trunc')),
             'icv_bits': self.icv_bits, 'spi': '%#x' % self.spi,
             'seq': '%#x' % self.seq, 'esn': self.esn, 'mode': self.mode,
             'outer': '%s -> %s' % (self.saddr, self.daddr),
             'next_header': self.nh, 'payload_len': len(self.payload),
             'delivery': 'checked' if self.inner else
                         'counters only: ' + str(self.why_not),
             'notes': self.notes}
        return d


# ---------------------------------------------------------------- AH

# the integrity algorithms of AH vectors, as ip xfrm names them
AH_AUTHS = (('HMAC-SHA-256', 'hmac(sha256)'), ('HMAC-SHA-384', 'hmac(sha384)'),
            ('HMAC-SHA-512', 'hmac(sha512)'), ('HMAC-SHA1', 'hmac(sha1)'),
            ('HMAC-SHA-1', 'hmac(sha1)'), ('HMAC-MD5', 'hmac(md5)'),
            ('AES-XCBC', 'xcbc(aes)'), ('AES-CMAC', 'cmac(aes)'))


def make_case(v):
    """The Case of a vector: ESP (Case) or AH (AhCase)."""
    if v.get('protocol') == 'AH':
        return AhCase(v)
    return Case(v)


class AhCase(Case):
    """An AH vector: the SA and policy lines are the ESP ones with proto ah
    and the integrity algorithm (auth-trunc) as alg_args, plus flag align4
    when an IPv4 vector pads AH to 32 bits only (Linux xfrm pads IPv4 AH
    to 64 bits unless the SA has align4), and flag af-unspec for a tunnel
    of the other family."""

    def __init__(self, v):
        self.name = v['name']
        self.notes = []
        alg = v.get('algorithm', '')
        if 'GMAC' in alg:
            raise Skip('AH with AES-GMAC (RFC 4543) needs an AEAD in AH, '
                       'which Linux xfrm does not accept (AH takes auth or '
                       'auth-trunc only); kipsec follows')
        self.alg = None
        for pat, name in AH_AUTHS:
            if pat in alg:
                self.alg = name
                break
        if not self.alg:
            raise Skip('AH integrity algorithm not supported: ' + alg)
        self.key = bytes.fromhex(v['auth_key_hex'])
        self.icv_bits = 8 * int(v['icv_len'])
        self.spi = int(str(v['spi']), 0)
        if self.spi == 0:
            raise Skip('SPI 0 is reserved (RFC 4302 2.4)')
        self.seq = int(v['seq'])
        self.esn = bool(v.get('esn'))
        if not v.get('esp_packet_includes_ip_header'):
            raise Skip('AH vector without its IP header (the ICV covers it)')
        self._outer_ah(bytes.fromhex(v['esp_packet_hex']))
        self._mode(v)
        self._expect()
        self._icmp6_check()
        # a tunnel of the other family: xfrm needs an SA without selector
        self.af_unspec = self.mode == 'tunnel' and \
            self.inner_family not in (None, self.family)
        self.alg_args = ['auth-trunc', self.alg, '0x' + self.key.hex(),
                         str(self.icv_bits)]
        flags = ['align4'] * self.align4 + ['af-unspec'] * self.af_unspec
        if flags:
            self.alg_args += ['flag'] + flags

    def _icmp6_check(self):
        """A raw ICMPv6 socket drops a payload with a bad checksum."""
        if not self.inner or self.inner[0] != socket.AF_INET6 or \
           self.inner[1] != 58:
            return
        p = self.inner[2]
        pseudo = socket.inet_pton(socket.AF_INET6, self.inner[4]) + \
            socket.inet_pton(socket.AF_INET6, self.inner[3]) + \
            struct.pack('!II', len(p), 58)
        if csum(pseudo + p):
            self.why_not = 'the ICMPv6 payload has a wrong checksum (an ' \
                'ICMPv4 echo carried as ICMPv6): raw sockets drop it'
            self.inner = None

    def _outer_ah(self, pkt):
        ver = pkt[0] >> 4
        if ver == 4:
            off = (pkt[0] & 15) * 4
            if pkt[9] != 51:
                raise Skip('outer protocol %d is not AH' % pkt[9])
            if csum(pkt[:off]):
                fixed = pkt[:10] + b'\0\0' + pkt[12:off]
                fixed = fixed[:10] + struct.pack('!H', csum(fixed)) + \
                    fixed[12:]
                pkt = fixed + pkt[off:]
                self.notes.append('outer IPv4 checksum was wrong: fixed '
                                  '(not covered by the ICV)')
            self.family = socket.AF_INET
            self.saddr = socket.inet_ntop(socket.AF_INET, pkt[12:16])
            self.daddr = socket.inet_ntop(socket.AF_INET, pkt[16:20])
        elif ver == 6:
            nh, off = pkt[6], 40
            while nh in (0, 43, 60):
                nh, off = pkt[off], off + (pkt[off + 1] + 1) * 8
            if nh != 51:
                raise Skip('no AH header in the IPv6 packet')
            self.family = socket.AF_INET6
            self.saddr = socket.inet_ntop(socket.AF_INET6, pkt[8:24])
            self.daddr = socket.inet_ntop(socket.AF_INET6, pkt[24:40])
        else:
            raise Skip('outer header is neither IPv4 nor IPv6')
        ah = pkt[off:]
        ahlen = (ah[1] + 2) * 4
        self.nh = ah[0]
        spi, seq_lo = struct.unpack('!II', ah[4:12])
        if spi != self.spi or seq_lo != self.seq & 0xffffffff:
            raise Fail('vector inconsistent: packet SPI/seq %#x/%d, fields '
                       '%#x/%d' % (spi, seq_lo, self.spi, self.seq))
        if ahlen < 12 + self.icv_bits // 8:
            raise Fail('vector inconsistent: AH length %d, ICV %d bits' %
                       (ahlen, self.icv_bits))
        self.align4 = ver == 4 and ahlen % 8 != 0
        if self.align4:
            self.notes.append('AH padded to 32 bits: SA with flag align4')
        self.payload = ah[ahlen:]
        self.esp = ah
        self.l3 = pkt

    def config_args(self, args):
        """Bed.config's SA and policy lines, with proto ah."""
        out = list(args)
        if 'proto' in out:
            out[out.index('proto') + 1] = 'ah'
        return out

    def describe(self):
        d = Case.describe(self)
        d['proto'] = 'ah'
        d['align4'] = self.align4
        d['af_unspec'] = self.af_unspec
        return d


# ---------------------------------------------------------------- netns

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class InNetns:
    """Run the with-block in a named network namespace (this thread)."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.old = os.open('/proc/self/ns/net', os.O_RDONLY)
        _enter(self.name)

    def __exit__(self, *exc):
        _libc.setns(self.old, CLONE_NEWNET)
        os.close(self.old)


def _enter(name):
    fd = os.open('/run/netns/' + name, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), 'setns ' + name)
    finally:
        os.close(fd)


def sh(cmd, ns=None, check=True, stdin=None):
    """Run cmd in netns ns: ip with -n, anything else after setns (cheaper
    than ip netns exec, which matters in an emulated guest)."""
    pre = None
    if ns and cmd[0] == 'ip':
        cmd = ['ip', '-n', ns] + cmd[1:]
    elif ns:
        def pre():
            _enter(ns)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=30, input=stdin,
                       preexec_fn=pre)
    if check and r.returncode:
        raise Fail('%s: exit %d: %s' % (' '.join(cmd), r.returncode,
                                        r.stdout.strip()))
    return r


def sysctl(ns, key, value):
    with InNetns(ns):
        with open('/proc/sys/' + key.replace('.', '/'), 'w') as f:
            f.write(str(value))


def hwaddr(ns, dev):
    import fcntl
    with InNetns(ns):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        r = fcntl.ioctl(s.fileno(), 0x8927,              # SIOCGIFHWADDR
                        struct.pack('256s', dev.encode()))
    finally:
        s.close()
    return r[18:24]


# ---------------------------------------------------------------- counters

def uapi_enum(prefix):
    """{name: value} of the enum members starting with prefix, parsed from
    the uapi header so that this tool follows its changes."""
    with open(UAPI) as f:
        text = re.sub(r'/\*.*?\*/', '', f.read(), flags=re.S)
    out = {}
    for body in re.findall(r'enum\s+\w+\s*{(.*?)}', text, flags=re.S):
        names = [m.strip() for m in body.split(',') if m.strip()]
        if not names or not names[0].split('=')[0].strip().startswith(prefix):
            continue
        val = -1
        for m in names:
            if '=' in m:
                k, e = (x.strip() for x in m.split('=', 1))
                try:
                    val = int(e, 0)
                except ValueError:
                    val = eval(e, {}, dict(out))   # "1 << 2", "X - 1"
            else:
                k, val = m, val + 1
            out[k] = val
    return out


class Genl:
    """A minimal generic netlink client for the kipsec family."""

    NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300
    NLMSG_ERROR, NLMSG_DONE = 2, 3

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)
        self.sock.bind((0, 0))
        self.sock.settimeout(5)
        self.seq = 0
        fam = self.request(0x10, 3, 1,
                           self.attr(2, b'kipsec\0'))   # CTRL_CMD_GETFAMILY
        self.family = None
        for _, attrs in fam:
            if 1 in attrs:                              # CTRL_ATTR_FAMILY_ID
                self.family = struct.unpack('=H', attrs[1][:2])[0]
        if self.family is None:
            raise Fail('kipsec generic netlink family not found')

    @staticmethod
    def attr(t, data):
        n = 4 + len(data)
        return struct.pack('=HH', n, t) + data + b'\0' * ((4 - n % 4) % 4)

    @staticmethod
    def parse(data):
        out = {}
        while len(data) >= 4:
            n, t = struct.unpack('=HH', data[:4])
            if n < 4:
                break
            out[t & 0x3fff] = data[4:n]
            data = data[(n + 3) & ~3:]
        return out

    def request(self, family, cmd, version, payload=b'', flags=0):
        self.seq += 1
        body = struct.pack('=BBH', cmd, version, 0) + payload
        msg = struct.pack('=IHHII', 16 + len(body), family,
                          self.NLM_F_REQUEST | flags, self.seq, 0) + body
        self.sock.send(msg)
        out = []
        while True:
            data = self.sock.recv(1 << 16)
            done = False
            while len(data) >= 16:
                n, t, fl, seq, _ = struct.unpack('=IHHII', data[:16])
                if t == self.NLMSG_ERROR:
                    err = struct.unpack('=i', data[16:20])[0]
                    if err:
                        raise Fail('netlink error %d' % err)
                    done = True
                elif t == self.NLMSG_DONE:
                    done = True
                else:
                    out.append((t, self.parse(data[20:n])))
                    if not fl & 2:                      # not NLM_F_MULTI
                        done = True
                data = data[(n + 3) & ~3:]
            if done:
                return out


class KipsecCounters:
    """Per-SA counters of the receiver, over generic netlink."""

    def __init__(self, ns):
        self.ns = ns
        cmds = uapi_enum('KIPSEC_CMD_')
        self.attrs = uapi_enum('KIPSEC_A_')
        self.stats = {k[len('KIPSEC_STAT_'):].lower(): v
                      for k, v in uapi_enum('KIPSEC_STAT_').items()
                      if not k.startswith('__') and k != 'KIPSEC_STAT_MAX'}
        self.cmd_get = cmds['KIPSEC_CMD_SA_GET']
        with InNetns(ns):
            self.genl = Genl()

    def read(self, spi):
        msgs = self.genl.request(self.genl.family, self.cmd_get, 1,
                                 flags=Genl.NLM_F_DUMP)
        a_spi = self.attrs['KIPSEC_A_SA_SPI']
        a_stats = self.attrs['KIPSEC_A_SA_STATS']
        for _, attrs in msgs:
            if a_spi in attrs and \
               struct.unpack('!I', attrs[a_spi][:4])[0] == spi:
                raw = self.parse_stats(attrs.get(a_stats, b''))
                return {k: raw.get(v, 0) for k, v in self.stats.items()}
        raise Fail('SA %#x not found in the kipsec SA dump' % spi)

    @staticmethod
    def parse_stats(data):
        return {t: struct.unpack('=Q', v[:8])[0]
                for t, v in Genl.parse(data).items() if len(v) >= 8}


class XfrmCounters:
    """The same names for Linux xfrm: packets from ip -s xfrm state, replay
    and authentication failures from /proc/net/xfrm_stat (one SA per netns,
    so the netns counters are the SA's)."""

    XFRM_MSG_GETSA = 0x12
    # struct xfrm_usersa_info: sel (56), id (daddr 16, spi 4, proto 1, pad
    # 3), saddr (16), lft (64), curlft (bytes, packets, ...)
    OFF_SPI, OFF_PACKETS = 56 + 16, 56 + 24 + 16 + 64 + 8

    def __init__(self, ns):
        self.ns = ns
        with InNetns(ns):
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                      6)                # NETLINK_XFRM
        self.sock.settimeout(5)
        self.seq = 0

    def packets(self, spi):
        """in_packets of the SA: an XFRM_MSG_GETSA dump (no ip process per
        poll: each costs ~0.6 s in the guest)"""
        self.seq += 1
        self.sock.send(struct.pack('=IHHII', 16, self.XFRM_MSG_GETSA,
                                   Genl.NLM_F_REQUEST | Genl.NLM_F_DUMP,
                                   self.seq, 0))
        n_pkts = 0
        while True:
            data = self.sock.recv(1 << 16)
            while len(data) >= 16:
                n, t = struct.unpack('=IH', data[:6])
                if t in (Genl.NLMSG_DONE, Genl.NLMSG_ERROR):
                    return n_pkts
                body = data[16:n]
                if t == 0x10 and len(body) >= self.OFF_PACKETS + 8 and \
                   struct.unpack('!I', body[self.OFF_SPI:self.OFF_SPI + 4])[0] \
                   == spi:                              # XFRM_MSG_NEWSA
                    n_pkts = struct.unpack(
                        '=Q', body[self.OFF_PACKETS:self.OFF_PACKETS + 8])[0]
                data = data[(n + 3) & ~3:]

    def read(self, spi):
        with InNetns(self.ns):
            with open('/proc/self/net/xfrm_stat') as f:
                st = f.read()
        g = dict((k, int(v)) for k, v in re.findall(r'(\w+)\s+(\d+)', st))
        return {'in_packets': self.packets(spi),
                'in_replay': g.get('XfrmInStateSeqError', 0),
                'in_auth_fail': g.get('XfrmInStateProtoError', 0),
                'in_no_sa': g.get('XfrmInNoStates', 0),
                'in_policy_mismatch': g.get('XfrmInPolBlock', 0) +
                g.get('XfrmInNoPols', 0),
                'in_bad_trailer': g.get('XfrmInStateModeError', 0)}


# ---------------------------------------------------------------- run

class Bed:
    """Two netns, kv (receiver) and kp (peer), joined by veth v0 - v1."""

    def __init__(self, case, backend):
        self.case = case
        self.backend = backend
        tag = '%d' % os.getpid()
        self.kv, self.kp = 'kvr' + tag, 'kvp' + tag
        self.cli = os.environ.get('KIPSEC') or \
            os.path.join(REPO, 'tools', 'kipsec')
        self.up = False

    def config(self, args):
        cmd = ['ip', 'xfrm'] if self.backend == 'xfrm' else [self.cli]
        args = getattr(self.case, 'config_args', list)(args)
        r = sh(cmd + args, self.kv, check=False)
        if r.returncode:
            raise Fail('%s %s: %s' % (os.path.basename(cmd[-1]),
                                      ' '.join(args), r.stdout.strip()))

    def setup(self):
        c = self.case
        sh(['ip', 'netns', 'add', self.kv])
        sh(['ip', 'netns', 'add', self.kp])
        self.up = True
        sh(['ip', 'link', 'add', 'v0', 'netns', self.kv, 'type', 'veth',
            'peer', 'name', 'v1', 'netns', self.kp])
        v6 = c.family == socket.AF_INET6
        plen = '/128' if v6 else '/32'
        nodad = ' nodad' if v6 else ''
        # the largest MTU: kipsec lowers the MSS of a TCP SYN that comes
        # through a transport-mode or host-to-host SA to what the route
        # back to the peer carries (docs/architecture.md, "MTU"); the
        # vectors' SYNs (MSS 1460) must reach the raw socket as sent
        batch = ['link set lo up', 'link set v0 mtu 65535 up',
                 'addr add %s%s dev v0%s' % (c.daddr, plen, nodad),
                 'route add %s%s dev v0' % (c.saddr, plen)]
        if c.inner and c.inner[3] != c.daddr:
            iv6 = c.inner[0] == socket.AF_INET6
            batch.append('addr add %s%s dev lo%s' %
                         (c.inner[3], '/128' if iv6 else '/32',
                          ' nodad' if iv6 else ''))
        for k in ('all', 'default', 'v0'):
            sysctl(self.kv, 'net.ipv4.conf.%s.rp_filter' % k, 0)
        sh(['ip', '-b', '-'], self.kv, stdin='\n'.join(batch) + '\n')
        sh(['ip', 'link', 'set', 'v1', 'up'], self.kp)
        self.mac = hwaddr(self.kv, 'v0')
        # until linkwatch has run, the qdisc drops what is sent
        end = time.monotonic() + TIMEOUT
        for ns, dev in ((self.kv, 'v0'), (self.kp, 'v1')):
            while 'state UP' not in sh(['ip', '-o', 'link', 'show', 'dev',
                                        dev], ns).stdout:
                if time.monotonic() > end:
                    raise Fail('%s did not come up' % dev)
                time.sleep(0.05)

        # the SA
        sa = ['state', 'add', 'src', c.saddr, 'dst', c.daddr, 'proto', 'esp',
              'spi', '%#x' % c.spi, 'reqid', '1', 'mode', c.mode,
              'replay-window', str(REPLAY_WINDOW)]
        if c.esn:
            sa += ['flag', 'esn']
        if c.seq >> 32:
            # top of the window right below the vector's number, so that
            # the high half is inferred right (RFC 4303 A.2)
            top = c.seq - 1
            sa += ['replay-seq', '%#x' % (top & 0xffffffff),
                   'replay-seq-hi', '%#x' % (top >> 32)]
        sa += c.alg_args
        self.config(sa)

        # the inbound policy that lets the decapsulated packet in
        if c.mode == 'tunnel':
            if c.inner:
                isrc = c.inner[4] + ('/128' if c.inner[0] == socket.AF_INET6
                                     else '/32')
                idst = c.inner[3] + ('/128' if c.inner[0] == socket.AF_INET6
                                     else '/32')
            elif c.inner_family == socket.AF_INET6:
                isrc = idst = '::/0'
            else:
                isrc = idst = '0.0.0.0/0'
            self.config(['policy', 'add', 'src', isrc, 'dst', idst, 'dir',
                         'in', 'tmpl', 'src', c.saddr, 'dst', c.daddr,
                         'proto', 'esp', 'reqid', '1', 'mode', 'tunnel'])
        else:
            self.config(['policy', 'add', 'src', c.saddr + plen, 'dst',
                         c.daddr + plen, 'dir', 'in', 'tmpl', 'proto', 'esp',
                         'reqid', '1', 'mode', 'transport'])

        if self.backend == 'xfrm':
            self.counters = XfrmCounters(self.kv)
        else:
            self.counters = KipsecCounters(self.kv)

        # sockets: the raw listener on the receiver, the injector on the peer
        self.raw = None
        if c.inner:
            with InNetns(self.kv):
                self.raw = socket.socket(c.inner[0], socket.SOCK_RAW,
                                         c.inner[1])
                self.raw.setblocking(False)
        with InNetns(self.kp):
            self.tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            self.tx.bind(('v1', 0))
        src = hwaddr(self.kp, 'v1')
        ethertype = 0x86dd if v6 else 0x0800
        self.eth = self.mac + src + struct.pack('!H', ethertype)
        self.drain()

    def teardown(self):
        for s in ('raw', 'tx'):
            if getattr(self, s, None):
                getattr(self, s).close()
        if self.up:
            sh(['ip', '-b', '-'], check=False,
               stdin='netns del %s\nnetns del %s\n' % (self.kv, self.kp))

    def inject(self, l3):
        self.tx.send(self.eth + l3)

    def drain(self):
        got = []
        while self.raw:
            try:
                got.append(self.raw.recv(65536))
            except BlockingIOError:
                break
        return got

    def matches(self, pkts):
        c = self.case
        n = 0
        for p in pkts:
            if c.inner[0] == socket.AF_INET:
                p = p[(p[0] & 15) * 4:]     # v4 raw sockets see the header
            if p == c.inner[2]:
                n += 1
        return n

    def wait(self, what, cond, timeout=TIMEOUT):
        end = time.monotonic() + timeout
        while True:
            c = self.counters.read(self.case.spi)
            if cond(c):
                return c
            if time.monotonic() > end:
                raise Fail('%s: timed out, counters %s' % (what, nonzero(c)))
            time.sleep(0.05)


def nonzero(c):
    return {k: v for k, v in c.items() if v}


def bad_trailer_copy(case):
    """For ESP without integrity and a CBC or counter-mode cipher: the
    packet with the ciphertext bit flips that turn its pad length into 255
    (more than the packet holds), or None.  CBC: the byte at the same
    position in the previous block (or IV); CTR and NULL: the byte
    itself."""
    if case.icv_bits or isinstance(case, AhCase):
        return None
    enc = case.alg_args[1] if case.alg_args[0] == 'enc' else ''
    if enc.startswith('cbc('):
        back = 8 if 'des' in enc else 16
    elif enc.startswith('rfc3686(') or enc == 'ecb(cipher_null)':
        back = 0
    else:
        return None
    bad = bytearray(case.l3)
    bad[-2 - back] ^= case.padlen ^ 0xff
    return bytes(bad)


def run_case(case, backend):
    if backend == 'xfrm' and not case.payload:
        raise Skip('Linux xfrm drops an empty ESP payload as a protocol '
                   'error before the replay window moves (esp_input_done2: '
                   'padlen + 2 + alen >= elen)')
    bed = Bed(case, backend)
    try:
        bed.setup()
        c0 = bed.counters.read(case.spi)
        if any(c0.get(k) for k in ('in_packets', 'in_auth_fail',
                                   'in_replay')):
            raise Fail('counters not zero at start: %s' % nonzero(c0))
        auth = 'in_auth_fail'

        # 1. tampered ICV: an authentication failure, nothing delivered.
        # Without integrity (ICV 0) a copy whose pad length is corrupted
        # instead: dropped for its trailer, and it must not move the
        # window (step 2 then needs the sequence number it carries).
        tampered = 1 if case.icv_bits else 0
        bad_pad = bad_trailer_copy(case)
        if tampered:
            bad = bytearray(case.l3)
            bad[-1] ^= 1
            bed.inject(bytes(bad))
            c1 = bed.wait('flipped last byte -> %s' % auth,
                          lambda c: c[auth] >= 1)
            if c1['in_packets'] or c1[auth] != 1:
                raise Fail('tampered packet: counters %s' % nonzero(c1))
            log('tampered copy dropped: %s 1' % auth)
        elif bad_pad:
            # xfrm counts esp_input's -EINVAL as a protocol error
            why = 'in_auth_fail' if backend == 'xfrm' else 'in_bad_trailer'
            tampered = 1 if why == auth else 0
            bed.inject(bad_pad)
            c1 = bed.wait('pad length corrupted -> %s' % why,
                          lambda c: c[why] >= 1)
            if c1['in_packets'] or c1[why] != 1:
                raise Fail('bad trailer copy: counters %s' % nonzero(c1))
            time.sleep(0.1)
            if case.inner and bed.matches(bed.drain()):
                raise Fail('the bad trailer copy was delivered')
            log('copy with a corrupted pad length dropped: %s 1' % why)
        else:
            log('no integrity algorithm: a tampered copy is undetectable, '
                'not sent')

        # 2. the packet: accepted once
        bed.inject(case.l3)
        if case.nh == 59 or not case.payload:
            # a dummy packet or an empty payload: authenticated, then
            # discarded (counted as a bad trailer when empty, as esp4's
            # padlen + 2 + alen >= elen does; the trailer is checked only
            # after authentication); step 3 proves a dummy packet was
            # authenticated
            c2 = bed.wait('packet -> in_packets or in_bad_trailer',
                          lambda c: c['in_packets'] +
                          c.get('in_bad_trailer', 0) >= 1)
        else:
            c2 = bed.wait('packet -> in_packets 1',
                          lambda c: c['in_packets'] >= 1)
        if c2['in_packets'] > 1 or c2[auth] != tampered:
            raise Fail('packet: counters %s' % nonzero(c2))
        if case.inner:
            end = time.monotonic() + TIMEOUT
            got = 0
            while got < 1 and time.monotonic() < end:
                got += bed.matches(bed.drain())
                time.sleep(0.02)
            if got != 1:
                raise Fail('inner packet not delivered to the raw socket '
                           '(in_packets %d)' % c2['in_packets'])
            log('accepted, inner packet delivered (%d octets, protocol %d)'
                % (len(case.inner[2]), case.inner[1]))
        else:
            log('accepted (in_packets %d); delivery not checked: %s'
                % (c2['in_packets'], case.why_not))

        # 3. the same packet again: a replay.  An empty payload failed its
        # trailer check, and the window moves only after it (as in
        # xfrm_input): the copy is dropped for its trailer again.
        bed.inject(case.l3)
        if not case.payload:
            c3 = bed.wait('packet again -> in_bad_trailer 2',
                          lambda c: c.get('in_bad_trailer', 0) >= 2)
            if c3['in_replay'] or c3['in_packets'] or c3[auth] != tampered:
                raise Fail('packet again: counters %s' % nonzero(c3))
            log('empty payload again: in_bad_trailer 2 (a bad trailer does '
                'not move the window)')
            log('counters: %s' % nonzero(c3))
            return
        c3 = bed.wait('replayed packet -> in_replay',
                      lambda c: c['in_replay'] >= 1)
        if c3['in_replay'] != 1 or c3['in_packets'] != c2['in_packets'] or \
           c3[auth] != tampered:
            raise Fail('replayed packet: counters %s' % nonzero(c3))
        time.sleep(0.1)
        if case.inner and bed.matches(bed.drain()):
            raise Fail('the replayed packet was delivered')
        log('replayed copy dropped: in_replay 1')
        log('counters: %s' % nonzero(c3))
    finally:
        bed.teardown()


def run_one(name, backend):
    """0 pass, 1 fail, EXIT_SKIP skip; prints why."""
    try:
        v = load(name)
        case = make_case(v)
        for n in case.notes:
            log('note: ' + n)
        run_case(case, backend)
        log('PASS: %s' % name)
        return 0
    except Skip as e:
        log('SKIP: %s' % e)
        return EXIT_SKIP
    except Fail as e:
        log('FAIL: %s: %s' % (name, e))
        return 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    sub.add_parser('list')
    s = sub.add_parser('show')
    s.add_argument('name')
    r = sub.add_parser('run')
    r.add_argument('--backend', choices=('kipsec', 'xfrm'), default='kipsec')
    r.add_argument('--all', action='store_true')
    r.add_argument('--results', metavar='DIR',
                   help='write NAME.rc and NAME.log for each vector into '
                   'DIR (one python process for a whole suite)')
    r.add_argument('names', nargs='*')
    a = ap.parse_args()

    if a.cmd == 'list':
        for n in vector_names():
            try:
                make_case(load(n))
                print('%s\tuse' % n)
            except (Skip, Fail) as e:
                print('%s\tskip\t%s' % (n, e))
        return 0
    if a.cmd == 'show':
        try:
            print(json.dumps(make_case(load(a.name)).describe(), indent=1))
        except (Skip, Fail) as e:
            print('%s: %s' % (type(e).__name__, e))
        return 0
    names = vector_names() if a.all else a.names
    if len(names) == 1 and not a.results:
        return run_one(names[0], a.backend)
    res = {}
    for n in names:
        log('--- %s' % n)
        del LOG_COPY[:]
        res[n] = run_one(n, a.backend)
        if a.results:
            with open(os.path.join(a.results, n + '.log'), 'w') as f:
                f.write('\n'.join(LOG_COPY) + '\n')
            with open(os.path.join(a.results, n + '.rc'), 'w') as f:
                f.write('%d\n' % res[n])
    p = sum(1 for x in res.values() if x == 0)
    s = sum(1 for x in res.values() if x == EXIT_SKIP)
    f = [n for n, x in res.items() if x not in (0, EXIT_SKIP)]
    log('%d passed, %d failed, %d skipped%s' %
        (p, len(f), s, (': ' + ' '.join(f)) if f else ''))
    return 1 if f else 0


if __name__ == '__main__':
    sys.exit(main())
