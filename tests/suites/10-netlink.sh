# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# The "kipsec" generic netlink family, spoken raw (tests/tools/nlraw.py):
# resolution in every netns, strict validation with extack messages,
# permissions, SA and policy life cycle, dumps, and no key material out.
#
# Python starts slowly in the emulated guest, so most tests send all their
# requests through one `nlraw.py --batch` process: one request per line,
# each with its expected outcome (--expect ERRNO --msg TEXT); the batch
# stops and fails at the first line that does not get it.

NLRAW=$REPO/tests/tools/nlraw.py

nl() {
	python3 "$NLRAW" "$@"
}

nl_batch() {
	python3 "$NLRAW" --batch
}

# values of NAME=... in nlraw output on stdin, space separated
field() {
	sed -n "s/^$1=//p" | tr '\n' ' ' | sed 's/ $//'
}

KEY_HEX=c0ffee00112233445566778899aabbccddeeff01
# counters in a stats nest: every enum kipsec_stat entry but UNSPEC
NL_NSTATS=$(($(grep -c '^\s*KIPSEC_STAT_[A-Z_]*,' \
	"$REPO/include/uapi/linux/kipsec.h") - 1))
AEAD="sa_aead_name='str:rfc4106(gcm(aes))' sa_aead_key=hex:$KEY_HEX sa_aead_icv=u32:128"
# a valid tunnel mode ESP SA without its SPI, and the identity of one
SA="sa_family=u16:2 sa_src=ip:10.0.0.1 sa_dst=ip:10.0.0.2 sa_proto=u8:50 sa_mode=u8:1 sa_reqid=u32:7 sa_replay_window=u32:128"
ID="sa_family=u16:2 sa_dst=ip:10.0.0.2 sa_proto=u8:50"
SEL="pol_sel={ sel_family=u16:2 sel_src=ip:10.1.0.0 sel_splen=u8:16 sel_dst=ip:10.2.0.0 sel_dplen=u8:16 }"
TMPL="pol_tmpl={ tmpl_family=u16:2 tmpl_src=ip:10.0.0.1 tmpl_dst=ip:10.0.0.2 tmpl_proto=u8:50 tmpl_mode=u8:1 }"

# the number of an attribute of enum kipsec_attr
attr_type() {
	awk -v want="$1," '/^enum kipsec_attr/ { on = 1; n = -1; next }
	     on && /^[ \t]*KIPSEC_A_[A-Z_0-9]*,/ { n++ }
	     on && $1 == want { print n; exit }' \
		"$REPO/include/uapi/linux/kipsec.h"
}

t_family_resolves() {
	nl info_get | grep -q '^info_version=' || fail "no INFO_GET in init_net"
	ip netns add nl1
	in_netns nl1 python3 "$NLRAW" info_get |
		grep -q '^info_sa_count=0$' || fail "no INFO_GET in a new netns"
	ip netns del nl1
}
ktest family_resolves_in_every_netns t_family_resolves

t_info() {
	local out ver caps want
	out=$(nl info_get)
	log "$(echo "$out" | tr '\n' ' ')"
	ver=$(sed -n 's/^#define KIPSEC_VERSION "\(.*\)"/\1/p' "$REPO/src/kipsec.h")
	[ "$(echo "$out" | field info_version)" = "\"$ver\"" ] ||
		fail "version is not $ver"
	caps=$(echo "$out" | field info_caps)
	# ESP | ESN | IPV6 | TUNNEL | TRANSPORT
	want=$(( (1 << 0) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) ))
	[ $((caps & want)) = "$want" ] || fail "caps $caps lack $want"
	[ "$(echo "$out" | field info_replay_max)" = 65536 ] ||
		fail "replay max is not 65536"
}
ktest info_reports_version_and_caps t_info

t_reject_malformed() {
	nl_batch <<EOF
# an attribute type beyond KIPSEC_A_MAX
--expect EINVAL --msg "Unknown attribute type" sa_get $ID sa_spi=be32:1 200=u32:1
--expect EINVAL --msg "Unknown attribute type" info_get 77=u8:1
# a known attribute that the command does not take, a reply-only one
--expect EINVAL --msg "Unsupported attribute" sa_get $ID sa_spi=be32:1 pol_dir=u8:1
--expect EINVAL --msg "only sent by the kernel" sa_new $SA sa_spi=be32:1 $AEAD sa_key_bits=u32:128
# wrong lengths: 3-byte SPI, 1-byte family, 4-byte direction
--expect EINVAL --msg "invalid attribute length" sa_get $ID sa_spi=hex:000001
--expect EINVAL --msg "invalid attribute length" sa_get sa_family=u8:2 sa_dst=ip:10.0.0.2 sa_proto=u8:50 sa_spi=be32:1
--expect EINVAL --msg "invalid attribute length" policy_new $SEL pol_dir=u32:1
# a 5-byte IPv4 address
--expect EINVAL --msg "address length does not match the family" sa_get sa_family=u16:2 sa_dst=hex:0a00000201 sa_proto=u8:50 sa_spi=be32:1
# a nest without NLA_F_NESTED is not a nest
--expect EINVAL --msg "NLA_F_NESTED is missing" sa_new $SA sa_spi=be32:1 $AEAD $(attr_type KIPSEC_A_SA_SEL)=hex:0600010002000000
# reserved header bits
--expect EINVAL --msg "reserved bits" --flags 0x100 sa_get $ID sa_spi=be32:1
info_get
EOF
}
ktest reject_malformed_messages t_reject_malformed

t_reject_missing() {
	local out
	out=$(nl --expect EINVAL --msg "missing SA SPI" sa_new \
		sa_family=u16:2 sa_src=ip:10.0.0.1 sa_dst=ip:10.0.0.2 \
		sa_proto=u8:50 sa_mode=u8:1 sa_aead_name='str:rfc4106(gcm(aes))' \
		sa_aead_key=hex:$KEY_HEX sa_aead_icv=u32:128) ||
		fail "SA_NEW without SPI: $out"
	log "$out"
	# the extack also names the missing attribute
	echo "$out" | grep -q "missing attribute $(attr_type KIPSEC_A_SA_SPI)" ||
		fail "no missing-attribute type in the extack"
	nl_batch <<EOF
--expect EINVAL --msg "missing SA mode" sa_new sa_family=u16:2 sa_src=ip:10.0.0.1 sa_dst=ip:10.0.0.2 sa_proto=u8:50 sa_spi=be32:1 $AEAD
--expect EINVAL --msg "AEAD needs a key" sa_new $SA sa_spi=be32:1 sa_aead_name=str:gcm(aes) sa_aead_icv=u32:128
--expect EINVAL --msg "missing SA destination" sa_del sa_family=u16:2 sa_proto=u8:50 sa_spi=be32:1
--expect EINVAL --msg "missing policy direction" policy_new $SEL
--expect EINVAL --msg "missing policy selector" policy_del pol_dir=u8:1
--expect EINVAL --msg "selector needs a family" policy_new pol_dir=u8:1 pol_sel={ sel_src=ip:10.0.0.1 }
--expect EINVAL --msg "template needs a protocol" policy_new pol_dir=u8:1 $SEL pol_tmpl={ tmpl_mode=u8:1 }
--expect EINVAL --msg "template addresses need a template family" policy_new pol_dir=u8:1 $SEL pol_tmpl={ tmpl_proto=u8:50 tmpl_dst=ip:10.0.0.2 }
EOF
	[ "$(nl info_get | field info_sa_count)" = 0 ] ||
		fail "a rejected SA_NEW left an SA"
}
ktest reject_missing_required_attribute t_reject_missing

t_reject_family() {
	nl_batch <<EOF
--expect EINVAL --msg "AF_INET needs 4 bytes" sa_new sa_family=u16:2 sa_src=ip:2001:db8::1 sa_dst=ip:10.0.0.2 sa_proto=u8:50 sa_spi=be32:1 sa_mode=u8:1 $AEAD
--expect EINVAL --msg "AF_INET6 needs 16 bytes" sa_new sa_family=u16:10 sa_src=ip:2001:db8::1 sa_dst=ip:10.0.0.2 sa_proto=u8:50 sa_spi=be32:1 sa_mode=u8:1 $AEAD
--expect EAFNOSUPPORT --msg "family must be AF_INET or AF_INET6" sa_get sa_family=u16:7 sa_dst=ip:10.0.0.2 sa_proto=u8:50 sa_spi=be32:1
--expect EINVAL --msg "AF_INET needs 4 bytes" policy_new pol_dir=u8:1 pol_sel={ sel_family=u16:2 sel_src=ip:2001:db8::1 }
--expect EINVAL --msg "AF_INET6 needs 16 bytes" policy_new pol_dir=u8:1 $SEL pol_tmpl={ tmpl_family=u16:10 tmpl_proto=u8:50 tmpl_dst=ip:10.0.0.2 }
--expect EINVAL --msg "prefix length too long" policy_new pol_dir=u8:1 pol_sel={ sel_family=u16:2 sel_src=ip:10.0.0.0 sel_splen=u8:33 }
--expect EINVAL --msg "a transport mode SA selector must have the SA family" sa_new $SA sa_mode=u8:0 sa_spi=be32:1 $AEAD sa_sel={ sel_family=u16:10 }
EOF
}
ktest reject_address_family_mismatch t_reject_family

t_reject_values() {
	nl_batch <<EOF
--expect EINVAL --msg "replay window larger" sa_new $SA sa_spi=be32:1 $AEAD sa_replay_window=u32:65537
sa_new $SA sa_spi=be32:1 $AEAD sa_replay_window=u32:65536
--expect EINVAL --msg "AH carries only an integrity algorithm" sa_new sa_family=u16:2 sa_src=ip:10.0.0.1 sa_dst=ip:10.0.0.2 sa_proto=u8:51 sa_spi=be32:2 sa_mode=u8:1 $AEAD
--expect EPROTONOSUPPORT --msg "SA protocol must be ESP" sa_new sa_family=u16:2 sa_src=ip:10.0.0.1 sa_dst=ip:10.0.0.2 sa_proto=u8:6 sa_spi=be32:2 sa_mode=u8:1 $AEAD
--expect EINVAL --msg "SPI must not be 0" sa_new $SA sa_spi=be32:0 $AEAD
--expect EOPNOTSUPP --msg "single DES is insecure" sa_new $SA sa_spi=be32:2 sa_enc_name=str:cbc(des) sa_enc_key=hex:0011223344556677
--expect EINVAL --msg "excludes separate enc and auth" sa_new $SA sa_spi=be32:2 $AEAD sa_enc_name=str:cbc(aes) sa_enc_key=hex:00112233445566778899aabbccddeeff
--expect EINVAL --msg "unknown SA flags" sa_new $SA sa_spi=be32:2 $AEAD sa_flags=u32:0x100
--expect EINVAL --msg "need the ESN flag" sa_new $SA sa_spi=be32:2 $AEAD sa_oseq=u64:0x100000000
--expect ERANGE --msg "integer out of range" sa_new $SA sa_spi=be32:2 $AEAD sa_mode=u8:2
--expect EINVAL --msg "need a protocol" policy_new pol_dir=u8:1 pol_sel={ sel_family=u16:2 sel_dport=be16:80 }
--expect ERANGE --msg "integer out of range" policy_new $SEL pol_dir=u8:3
--expect EINVAL --msg "index does not match direction" policy_new $SEL pol_dir=u8:1 pol_index=u32:10
--expect EOPNOTSUPP --msg "sub policies (ptype sub) are not supported" policy_new $SEL pol_dir=u8:1 pol_ptype=u8:1
--expect EINVAL --msg "invalid policy type" policy_new $SEL pol_dir=u8:1 pol_ptype=u8:2
--expect EINVAL --msg "only sent by the kernel" policy_new $SEL pol_dir=u8:1 pol_curlft=u64:1
--expect EPROTONOSUPPORT --msg "template protocol must be ESP (50) or AH (51)" policy_new $SEL pol_dir=u8:1 pol_tmpl={ tmpl_proto=u8:6 }
sa_flush
EOF
	[ "$(nl info_get | field 'info_[a-z]*_count')" = "0 0" ] ||
		fail "a rejected request left something behind"
}
ktest reject_bad_values t_reject_values

t_unprivileged_eperm() {
	local cmd out
	local -a writes=(
		"sa_new $SA sa_spi=be32:1 $AEAD"
		"sa_del $ID sa_spi=be32:1"
		"sa_flush"
		"policy_new $SEL pol_dir=u8:1"
		"policy_del $SEL pol_dir=u8:1"
		"policy_flush"
	)
	local -a reads=(info_get stats_get "--dump sa_get" "--dump policy_get")
	# an unmapped user in a user namespace: no CAP_NET_ADMIN over init_net,
	# so it neither changes nor reads anything (as xfrm_user)
	out=$(for cmd in "${writes[@]}" "${reads[@]}"; do
		echo "--expect EPERM $cmd"
	done | unshare -U python3 "$NLRAW" --batch) || fail "$out"
	[ "$(echo "$out" | grep -c '^ERR EPERM (-1)')" = 10 ] ||
		fail "not 10 times EPERM (-1): $out"
	# root of a user namespace without its capabilities, in its own netns
	out=$(for cmd in "${writes[@]}" "${reads[@]}"; do echo "--expect EPERM $cmd"; done |
		unshare -U -r -n setpriv --bounding-set=-all --inh-caps=-all \
		python3 "$NLRAW" --batch) || fail "$out"
	# ... and with them: CAP_NET_ADMIN over its own netns is enough
	out=$(printf '%s\n' "sa_new $SA sa_spi=be32:1 $AEAD" \
		"policy_new $SEL pol_dir=u8:1" stats_get "--dump sa_get" \
		"--dump policy_get" info_get |
		unshare -U -r -n python3 "$NLRAW" --batch) ||
		fail "userns root cannot configure its own netns: $out"
	[ "$(echo "$out" | field 'info_[a-z]*_count')" = "1 1" ] ||
		fail "not configured in the new netns: $out"
	[ "$(nl info_get | field 'info_[a-z]*_count')" = "0 0" ] ||
		fail "something was configured in init_net"
}
ktest unprivileged_gets_eperm_on_every_request t_unprivileged_eperm

t_sa_lifecycle() {
	local out get
	out=$(nl_batch <<EOF
sa_new $SA sa_spi=be32:0x100 $AEAD sa_seq=u64:5 sa_oseq=u64:9 sa_sel={ sel_family=u16:2 sel_src=ip:10.1.0.0 sel_splen=u8:16 }
info_get
sa_get $ID sa_spi=be32:0x100
--expect ESRCH --msg "no such SA" sa_get $ID sa_spi=be32:0x100 sa_src=ip:10.9.9.9
sa_del $ID sa_spi=be32:0x100 sa_src=ip:10.0.0.1
info_get
--expect ESRCH --msg "no such SA" sa_del $ID sa_spi=be32:0x100
--expect ESRCH --msg "no such SA" sa_get $ID sa_spi=be32:0x100
EOF
	) || fail "$out"
	[ "$(echo "$out" | field info_sa_count)" = "1 0" ] ||
		fail "SA counts are not 1 then 0"
	get=$(echo "$out" | sed -n '/^> sa_get/,/^> /p')
	log "$(echo "$get" | grep -v '^sa_stats' | tr '\n' ' ')"
	[ "$(echo "$get" | field sa_spi)" = 0x00000100 ] || fail "wrong SPI"
	[ "$(echo "$get" | field sa_src)" = 10.0.0.1 ] || fail "wrong src"
	[ "$(echo "$get" | field sa_dst)" = 10.0.0.2 ] || fail "wrong dst"
	[ "$(echo "$get" | field sa_reqid)" = 7 ] || fail "wrong reqid"
	[ "$(echo "$get" | field sa_mode)" = 1 ] || fail "wrong mode"
	[ "$(echo "$get" | field sa_seq)" = 5 ] || fail "wrong seq"
	[ "$(echo "$get" | field sa_oseq)" = 9 ] || fail "wrong oseq"
	[ "$(echo "$get" | field sa_replay_window)" = 128 ] || fail "wrong window"
	[ "$(echo "$get" | field sa_aead_name)" = '"rfc4106(gcm(aes))"' ] ||
		fail "wrong AEAD name"
	[ "$(echo "$get" | field sa_aead_icv)" = 128 ] || fail "wrong ICV"
	[ "$(echo "$get" | field sa_key_bits)" = 160 ] || fail "wrong key bits"
	[ "$(echo "$get" | field sa_sel.sel_splen)" = 16 ] || fail "wrong selector"
	[ "$(echo "$get" | grep -c '^sa_stats\.')" = "$NL_NSTATS" ] ||
		fail "SA stats are not $NL_NSTATS counters"
}
ktest sa_add_get_delete t_sa_lifecycle

t_sa_duplicate() {
	local out
	out=$(nl_batch <<EOF
sa_new $SA sa_spi=be32:0x200 $AEAD
--expect EEXIST --msg "SA already exists" sa_new $SA sa_spi=be32:0x200 $AEAD
# the flags the CLI sends for "state add"
--expect EEXIST --flags 0x600 sa_new $SA sa_spi=be32:0x200 $AEAD
# same SPI to another destination: another SA
sa_new $SA sa_dst=ip:10.0.0.3 sa_spi=be32:0x200 $AEAD
# state update replaces, or fails when there is nothing to replace
--replace sa_new $SA sa_spi=be32:0x200 $AEAD sa_reqid=u32:9
sa_get $ID sa_spi=be32:0x200
--expect ESRCH --msg "no such SA" --replace sa_new $SA sa_spi=be32:0x201 $AEAD
info_get
sa_flush sa_proto=u8:51
info_get
sa_flush
info_get
EOF
	) || fail "$out"
	[ "$(echo "$out" | field sa_reqid)" = 9 ] ||
		fail "update did not replace the SA"
	[ "$(echo "$out" | field info_sa_count)" = "2 2 0" ] ||
		fail "SA counts are not 2 2 0"
}
ktest sa_duplicate_eexist_update_flush t_sa_duplicate

t_sa_no_key() {
	local out
	out=$(nl_batch <<EOF
sa_new $SA sa_spi=be32:0x300 $AEAD
--hex sa_get $ID sa_spi=be32:0x300
--hex --dump sa_get
EOF
	) || fail "$out"
	# only the answers, not the echo of the request lines
	out=$(echo "$out" | grep -v '^> ')
	[ "$(echo "$out" | grep -c '^hex:')" = 2 ] || fail "no raw replies"
	# neither the key nor any 8 bytes of it, in the replies or decoded
	echo "$out" | grep -qi "$KEY_HEX" && fail "key in a reply"
	echo "$out" | grep -qi "${KEY_HEX:0:16}" && fail "key start in a reply"
	echo "$out" | grep -qi "${KEY_HEX:16:16}" && fail "key part in a reply"
	echo "$out" | grep -qi "${KEY_HEX:24:16}" && fail "salt in a reply"
	[ "$(echo "$out" | grep -c '^sa_key_bits=160$')" = 2 ] ||
		fail "no key length in the replies"
}
ktest sa_reply_has_no_key_material t_sa_no_key

t_sa_dump_multipart() {
	local out n
	out=$(nl_batch <<EOF
--quiet --count 300 sa_new $SA sa_spi=be32:{i} $AEAD
info_get
--dump sa_get
sa_flush
info_get
EOF
	) || fail "$(echo "$out" | tail -n 5)"
	[ "$(echo "$out" | field info_sa_count)" = "300 0" ] ||
		fail "SA counts are not 300 then 0"
	n=$(echo "$out" | grep -c '^sa_spi=')
	log "$(echo "$out" | grep '^# .* datagrams')"
	[ "$n" = 300 ] || fail "dump returned $n SAs"
	[ "$(echo "$out" | grep '^sa_spi=' | sort -u | wc -l)" = 300 ] ||
		fail "dump repeated SAs"
	echo "$out" | grep -Eq '^# 300 messages in ([2-9]|[1-9][0-9]+) datagrams' ||
		fail "dump fit in one datagram"
}
ktest sa_dump_spans_messages t_sa_dump_multipart

t_policy_lifecycle() {
	local out idx
	out=$(nl_batch <<EOF
policy_new $SEL pol_dir=u8:1 pol_priority=u32:10 $TMPL
info_get
--expect EEXIST --msg "policy already exists" policy_new $SEL pol_dir=u8:1
--expect EEXIST --flags 0x600 policy_new $SEL pol_dir=u8:1
# same selector, other direction: another policy
policy_new $SEL pol_dir=u8:0 pol_action=u8:1
policy_get $SEL pol_dir=u8:1
EOF
	) || fail "$out"
	log "$(echo "$out" | grep '^pol_' | grep -v '^pol_stats' | tr '\n' ' ')"
	[ "$(echo "$out" | field info_policy_count)" = 1 ] || fail "count not 1"
	[ "$(echo "$out" | field pol_priority)" = 10 ] || fail "wrong priority"
	[ "$(echo "$out" | field pol_tmpl.tmpl_dst)" = 10.0.0.2 ] ||
		fail "wrong template"
	[ "$(echo "$out" | field pol_sel.sel_dplen)" = 16 ] ||
		fail "wrong selector"
	[ "$(echo "$out" | grep -c '^pol_stats\.')" = "$NL_NSTATS" ] ||
		fail "policy stats are not $NL_NSTATS counters"
	idx=$(echo "$out" | field pol_index)
	[ $((idx & 7)) = 1 ] || fail "index $idx does not encode dir out"

	out=$(nl_batch <<EOF
# policy update keeps the index, and creates when there is nothing
--replace policy_new $SEL pol_dir=u8:1 pol_priority=u32:20
policy_get pol_index=u32:$idx
--expect ENOENT --msg "no such policy" policy_get pol_index=u32:$idx pol_dir=u8:0
--replace policy_new $SEL pol_dir=u8:2
--dump policy_get
policy_del pol_index=u32:$idx
--expect ENOENT --msg "no such policy" policy_del pol_index=u32:$idx
policy_del $SEL pol_dir=u8:0
policy_del $SEL pol_dir=u8:2
info_get
--quiet --count 5 policy_new pol_dir=u8:2 pol_sel={ sel_family=u16:10 sel_dst=ip:2001:db8::{i} } pol_priority=u32:{i}
info_get
policy_flush
info_get
EOF
	) || fail "$out"
	[ "$(echo "$out" | sed -n '/^> policy_get/,/^> /p' | field pol_priority)" = 20 ] ||
		fail "update did not replace the policy"
	echo "$out" | sed -n '/^> policy_get/,/^> /p' | grep -q '^pol_tmpl' &&
		fail "update kept the template"
	[ "$(echo "$out" | sed -n '/^> --dump/,/^> /p' | grep -c '^pol_index=')" = 3 ] ||
		fail "dump does not show 3 policies"
	[ "$(echo "$out" | field info_policy_count)" = "0 5 0" ] ||
		fail "policy counts are not 0 5 0"
}
ktest policy_add_get_update_delete t_policy_lifecycle

t_stats_and_netns() {
	local out
	out=$(nl stats_get)
	[ "$(echo "$out" | grep -c '^stats\.')" = "$NL_NSTATS" ] ||
		fail "STATS_GET does not have $NL_NSTATS counters"
	ip netns add nl2
	out=$(printf '%s\n' "sa_new $SA sa_spi=be32:0x400 $AEAD" \
		"policy_new $SEL pol_dir=u8:1 $TMPL" info_get |
		in_netns nl2 python3 "$NLRAW" --batch) || fail "$out"
	[ "$(echo "$out" | field 'info_[a-z]*_count')" = "1 1" ] ||
		fail "not configured in its netns"
	[ "$(nl info_get | field 'info_[a-z]*_count')" = "0 0" ] ||
		fail "configuration of another netns visible"
	# the netns goes away with its SA and policy
	ip netns del nl2
}
ktest stats_and_netns_isolation t_stats_and_netns

t_docs_in_sync() {
	python3 -c 'import yaml' 2>/dev/null || skip "no python3-yaml"
	python3 - "$REPO" <<'PY'
import sys, yaml
sys.path.insert(0, sys.argv[1] + '/tests/tools')
import nlraw
E = nlraw.ENUMS
y = yaml.safe_load(open(sys.argv[1] + '/docs/kipsec.yaml'))
bad = []
def num(prefix, name):
    return E.get(prefix + name.upper().replace('-', '_'))
for s, p in (('kipsec', 'KIPSEC_A_'), ('sel', 'KIPSEC_A_SEL_'),
             ('tmpl', 'KIPSEC_A_TMPL_')):
    attrs = [a for a in y['attribute-sets'] if a['name'] == s][0]['attributes']
    bad += [a['name'] for i, a in enumerate(attrs) if num(p, a['name']) != i]
    if len(attrs) != E[p + 'MAX'] + 1:
        bad.append(s + ': attribute count')
ops = y['operations']['list']
bad += [o['name'] for i, o in enumerate(ops) if num('KIPSEC_CMD_', o['name']) != i]
if len(ops) != E['KIPSEC_CMD_MAX'] + 1:
    bad.append('command count')
st = [d for d in y['definitions'] if d['name'] == 'stat'][0]['entries']
bad += [n for i, n in enumerate(st) if num('KIPSEC_STAT_', n) != i]
doc = open(sys.argv[1] + '/docs/netlink.md').read()
bad += [k for k in E if k.startswith('KIPSEC_CMD_') and not k.endswith('MAX')
        and k not in ('KIPSEC_CMD_UNSPEC',) and k not in doc]
if bad:
    sys.exit('out of sync with kipsec.h: ' + ', '.join(bad))
PY
}
ktest docs_match_the_uapi_header t_docs_in_sync
