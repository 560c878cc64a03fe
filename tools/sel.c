// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec CLI: selectors (ip xfrm's SELECTOR and UPSPEC) and counters.
 *
 * As in xfrm, the selector of an ICMP flow carries the type in the source
 * port and the code in the destination port.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cli.h"

const char *const stat_names[__KIPSEC_STAT_MAX] = {
	[KIPSEC_STAT_OUT_PACKETS] = "out_packets",
	[KIPSEC_STAT_OUT_BYTES] = "out_bytes",
	[KIPSEC_STAT_IN_PACKETS] = "in_packets",
	[KIPSEC_STAT_IN_BYTES] = "in_bytes",
	[KIPSEC_STAT_IN_AUTH_FAIL] = "in_auth_fail",
	[KIPSEC_STAT_IN_REPLAY] = "in_replay",
	[KIPSEC_STAT_IN_WINDOW] = "in_window",
	[KIPSEC_STAT_IN_BAD_TRAILER] = "in_bad_trailer",
	[KIPSEC_STAT_IN_NO_SA] = "in_no_sa",
	[KIPSEC_STAT_IN_MALFORMED] = "in_malformed",
	[KIPSEC_STAT_IN_POLICY_MISMATCH] = "in_policy_mismatch",
	[KIPSEC_STAT_IN_PLAINTEXT] = "in_plaintext",
	[KIPSEC_STAT_IN_SELECTOR] = "in_selector",
	[KIPSEC_STAT_IN_DISCARD] = "in_discard",
	[KIPSEC_STAT_OUT_NO_SA] = "out_no_sa",
	[KIPSEC_STAT_OUT_DISCARD] = "out_discard",
	[KIPSEC_STAT_OUT_SEQ_OVERFLOW] = "out_seq_overflow",
	[KIPSEC_STAT_OUT_ROUTE] = "out_route",
	[KIPSEC_STAT_OUT_ERROR] = "out_error",
	[KIPSEC_STAT_CRYPTO_ERROR] = "crypto_error",
	[KIPSEC_STAT_SA_DEAD] = "sa_dead",
	[KIPSEC_STAT_IN_FRAGMENT] = "in_fragment",
	[KIPSEC_STAT_SA_EXPIRED] = "sa_expired",
	[KIPSEC_STAT_IN_STATE_INVALID] = "in_state_invalid",
	[KIPSEC_STAT_ICMP_PMTU] = "icmp_pmtu",
	[KIPSEC_STAT_IN_ENCAP_MISMATCH] = "in_encap_mismatch",
	[KIPSEC_STAT_IN_DUMMY] = "in_dummy",
	[KIPSEC_STAT_OUT_TOO_BIG] = "out_too_big",
	[KIPSEC_STAT_OUT_NO_TCP_SK] = "out_no_tcp_sk",
	[KIPSEC_STAT_MSS_CLAMPED] = "mss_clamped",
};

static bool is_port_proto(uint8_t p)
{
	return p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_SCTP ||
	       p == IPPROTO_DCCP || p == IPPROTO_UDPLITE;
}

static bool is_icmp_proto(uint8_t p)
{
	return p == IPPROTO_ICMP || p == IPPROTO_ICMPV6 || p == 135 /* MH */;
}

static void sel_addr(struct ksel *sel, bool is_src, const char *key,
		     const char *arg)
{
	struct kaddr a;
	char msg[64];

	if (get_prefix(&a, arg)) {
		snprintf(msg, sizeof(msg),
			 "value after \"%s\" is not a valid address or prefix",
			 key);
		invarg(msg, arg);
	}
	if (is_src ? sel->has_src : sel->has_dst)
		duparg(key, arg);
	if (sel->family && sel->family != a.family)
		invarg("the same address family is required between \"src\" and \"dst\"",
		       arg);
	sel->family = a.family;
	if (is_src) {
		memcpy(sel->src, a.data, sizeof(sel->src));
		sel->splen = a.bitlen;
		sel->has_src = true;
	} else {
		memcpy(sel->dst, a.data, sizeof(sel->dst));
		sel->dplen = a.bitlen;
		sel->has_dst = true;
	}
}

static void sel_num(uint16_t *v, bool *has, uint16_t max, const char *key,
		    const char *arg)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "value after \"%s\" is invalid", key);
	if (*has)
		duparg(key, arg);
	if (get_u16(v, arg) || *v > max)
		invarg(msg, arg);
	*has = true;
}

void sel_parse(struct ksel *sel, int *argcp, char ***argvp)
{
	int argc = *argcp;
	char **argv = *argvp;
	const char *ports = NULL, *typecode = NULL;
	bool any = false;

	while (argc > 0) {
		if (strcmp(*argv, "src") == 0) {
			NEXT_ARG();
			sel_addr(sel, true, "src", *argv);
		} else if (strcmp(*argv, "dst") == 0) {
			NEXT_ARG();
			sel_addr(sel, false, "dst", *argv);
		} else if (strcmp(*argv, "proto") == 0) {
			int p;

			NEXT_ARG();
			if (sel->has_proto)
				duparg("proto", *argv);
			p = strcmp(*argv, "any") == 0 ? 0 :
			    proto_getbyname(*argv);
			if (p < 0)
				invarg("\"PROTO\" is invalid", *argv);
			sel->proto = p;
			sel->has_proto = true;
		} else if (strcmp(*argv, "sport") == 0 ||
			   strcmp(*argv, "dport") == 0) {
			bool src = (*argv)[0] == 's';

			ports = *argv;
			NEXT_ARG();
			sel_num(src ? &sel->sport : &sel->dport,
				src ? &sel->has_sport : &sel->has_dport,
				UINT16_MAX, ports, *argv);
		} else if (strcmp(*argv, "type") == 0 ||
			   strcmp(*argv, "code") == 0) {
			bool type = (*argv)[0] == 't';

			typecode = *argv;
			NEXT_ARG();
			sel_num(type ? &sel->sport : &sel->dport,
				type ? &sel->has_sport : &sel->has_dport,
				UINT8_MAX, typecode, *argv);
		} else if (strcmp(*argv, "dev") == 0) {
			unsupported("dev", "(selector device) is not supported by kipsec");
		} else if (strcmp(*argv, "key") == 0) {
			unsupported("key", "(GRE key selector) is not supported by kipsec");
		} else {
			break;
		}
		any = true;
		argc--;
		argv++;
	}
	if (!any)
		missarg("SELECTOR");
	if (ports && typecode)
		usage_error("\"%s\" and \"%s\" cannot be used together", ports,
			    typecode);
	if (ports && !is_port_proto(sel->proto)) {
		char b[8];

		usage_error("\"sport\" and \"dport\" are invalid with proto=%s",
			    proto_name(sel->proto, b, sizeof(b)));
	}
	if (typecode && !is_icmp_proto(sel->proto)) {
		char b[8];

		usage_error("\"type\" and \"code\" are invalid with proto=%s",
			    proto_name(sel->proto, b, sizeof(b)));
	}
	sel->set = true;
	/* leave argv on the last word consumed, as iproute2 does */
	*argcp = argc + 1;
	*argvp = argv - 1;
}

void sel_finish(struct ksel *sel, int default_family)
{
	if (!sel->family)
		sel->family = default_family ? default_family : AF_INET;
	if (!sel->has_src)
		sel->splen = 0;
	if (!sel->has_dst)
		sel->dplen = 0;
}

void sel_put(struct nlmsghdr *nlh, uint16_t type, const struct ksel *sel)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, type);
	int len = af_bytelen(sel->family);

	mnl_attr_put_u16(nlh, KIPSEC_A_SEL_FAMILY, sel->family);
	mnl_attr_put(nlh, KIPSEC_A_SEL_SRC, len, sel->src);
	mnl_attr_put(nlh, KIPSEC_A_SEL_DST, len, sel->dst);
	mnl_attr_put_u8(nlh, KIPSEC_A_SEL_SPLEN, sel->splen);
	mnl_attr_put_u8(nlh, KIPSEC_A_SEL_DPLEN, sel->dplen);
	if (sel->proto)
		mnl_attr_put_u8(nlh, KIPSEC_A_SEL_PROTO, sel->proto);
	if (sel->has_sport)
		mnl_attr_put_u16(nlh, KIPSEC_A_SEL_SPORT, htons(sel->sport));
	if (sel->has_dport)
		mnl_attr_put_u16(nlh, KIPSEC_A_SEL_DPORT, htons(sel->dport));
	mnl_attr_nest_end(nlh, nest);
}

static int attr_len_ok(const struct nlattr *a, unsigned int len)
{
	return a && mnl_attr_get_payload_len(a) == len;
}

int sel_get(const struct nlattr *nest, struct ksel *sel)
{
	const struct nlattr *tb[NL_TB_MAX];
	int len;

	memset(sel, 0, sizeof(*sel));
	if (nl_parse_nested(nest, tb))
		return -1;
	if (!attr_len_ok(tb[KIPSEC_A_SEL_FAMILY], 2))
		return -1;
	sel->family = mnl_attr_get_u16(tb[KIPSEC_A_SEL_FAMILY]);
	if (sel->family == AF_UNSPEC)
		return 0;		/* no selector */
	if (sel->family != AF_INET && sel->family != AF_INET6)
		return -1;
	len = af_bytelen(sel->family);
	sel->set = true;
	if (attr_len_ok(tb[KIPSEC_A_SEL_SRC], len)) {
		memcpy(sel->src, mnl_attr_get_payload(tb[KIPSEC_A_SEL_SRC]), len);
		sel->has_src = true;
	}
	if (attr_len_ok(tb[KIPSEC_A_SEL_DST], len)) {
		memcpy(sel->dst, mnl_attr_get_payload(tb[KIPSEC_A_SEL_DST]), len);
		sel->has_dst = true;
	}
	if (attr_len_ok(tb[KIPSEC_A_SEL_SPLEN], 1))
		sel->splen = mnl_attr_get_u8(tb[KIPSEC_A_SEL_SPLEN]);
	if (attr_len_ok(tb[KIPSEC_A_SEL_DPLEN], 1))
		sel->dplen = mnl_attr_get_u8(tb[KIPSEC_A_SEL_DPLEN]);
	if (attr_len_ok(tb[KIPSEC_A_SEL_PROTO], 1)) {
		sel->proto = mnl_attr_get_u8(tb[KIPSEC_A_SEL_PROTO]);
		sel->has_proto = sel->proto != 0;
	}
	if (attr_len_ok(tb[KIPSEC_A_SEL_SPORT], 2)) {
		sel->sport = ntohs(mnl_attr_get_u16(tb[KIPSEC_A_SEL_SPORT]));
		sel->has_sport = true;
	}
	if (attr_len_ok(tb[KIPSEC_A_SEL_DPORT], 2)) {
		sel->dport = ntohs(mnl_attr_get_u16(tb[KIPSEC_A_SEL_DPORT]));
		sel->has_dport = true;
	}
	return 0;
}

void sel_print(const struct ksel *sel, const char *json_key)
{
	char buf[INET6_ADDRSTRLEN], pb[8];
	bool icmp = is_icmp_proto(sel->proto);

	open_json_object(json_key);
	print_string(PRINT_JSON, "family", NULL, family_name(sel->family));
	print_string(PRINT_ANY, "src", "src %s",
		     addr_str(sel->family, sel->src, buf, sizeof(buf)));
	print_uint(PRINT_ANY, "src_len", "/%u ", sel->splen);
	print_string(PRINT_ANY, "dst", "dst %s",
		     addr_str(sel->family, sel->dst, buf, sizeof(buf)));
	print_uint(PRINT_ANY, "dst_len", "/%u ", sel->dplen);
	if (sel->proto) {
		print_string(PRINT_ANY, "proto", "proto %s ",
			     proto_name(sel->proto, pb, sizeof(pb)));
		print_uint(PRINT_JSON, "proto_num", NULL, sel->proto);
	}
	if (icmp) {
		if (sel->has_sport)
			print_uint(PRINT_ANY, "type", "type %u ", sel->sport);
		if (sel->has_dport)
			print_uint(PRINT_ANY, "code", "code %u ", sel->dport);
	} else {
		if (sel->has_sport && sel->sport)
			print_uint(PRINT_ANY, "sport", "sport %u ", sel->sport);
		if (sel->has_dport && sel->dport)
			print_uint(PRINT_ANY, "dport", "dport %u ", sel->dport);
	}
	close_json_object();
}

bool addr_match(const uint8_t *a, const uint8_t *b, int bits)
{
	int bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes))
		return false;
	if (rest) {
		uint8_t mask = 0xff << (8 - rest);

		if ((a[bytes] ^ b[bytes]) & mask)
			return false;
	}
	return true;
}

bool id_parse(struct kid *id, int *argcp, char ***argvp)
{
	int argc = *argcp;
	char **argv = *argvp;
	const char *key = *argv;
	struct kaddr a;
	int p;

	if (strcmp(key, "src") == 0 || strcmp(key, "dst") == 0) {
		bool src = key[0] == 's';
		char msg[64];

		NEXT_ARG();
		if (get_prefix(&a, *argv)) {
			snprintf(msg, sizeof(msg),
				 "value after \"%s\" is not a valid address",
				 key);
			invarg(msg, *argv);
		}
		if (src ? id->has_src : id->has_dst)
			duparg(key, *argv);
		if (id->family && id->family != a.family)
			invarg("the same address family is required between \"src\" and \"dst\"",
			       *argv);
		id->family = a.family;
		memcpy(src ? id->src : id->dst, a.data, sizeof(a.data));
		if (src) {
			id->splen = a.bitlen;
			id->has_src = true;
		} else {
			id->dplen = a.bitlen;
			id->has_dst = true;
		}
	} else if (strcmp(key, "proto") == 0) {
		NEXT_ARG();
		if (id->has_proto)
			duparg("proto", *argv);
		p = xfrmproto_getbyname(*argv);
		if (p < 0 && (strcmp(*argv, "comp") == 0 ||
			      strcmp(*argv, "route2") == 0 ||
			      strcmp(*argv, "hao") == 0 ||
			      strcmp(*argv, "ipsec-any") == 0))
			invarg("XFRM-PROTO value is not supported by kipsec (esp | ah)",
			       *argv);
		if (p < 0)
			invarg("\"XFRM-PROTO\" is invalid", *argv);
		id->proto = p;
		id->has_proto = true;
	} else if (strcmp(key, "spi") == 0) {
		NEXT_ARG();
		if (id->has_spi)
			duparg("spi", *argv);
		if (get_u32(&id->spi, *argv))
			invarg("value after \"spi\" is invalid", *argv);
		id->has_spi = true;
	} else {
		return false;
	}
	*argcp = argc;
	*argvp = argv;
	return true;
}

bool id_match(const struct kid *f, const struct kid *s)
{
	if ((f->has_src || f->has_dst) && f->family != s->family)
		return false;
	if (f->has_src && !addr_match(f->src, s->src, f->splen))
		return false;
	if (f->has_dst && !addr_match(f->dst, s->dst, f->dplen))
		return false;
	if (f->has_proto && f->proto != s->proto)
		return false;
	if (f->has_spi && f->spi != s->spi)
		return false;
	return true;
}

bool sel_match(const struct ksel *f, const struct ksel *s)
{
	if ((f->has_src || f->has_dst) && f->family != s->family)
		return false;
	if (f->has_src && !addr_match(f->src, s->src, f->splen))
		return false;
	if (f->has_dst && !addr_match(f->dst, s->dst, f->dplen))
		return false;
	if (f->has_proto && f->proto != s->proto)
		return false;
	if (f->has_sport && f->sport != s->sport)
		return false;
	if (f->has_dport && f->dport != s->dport)
		return false;
	return true;
}

int stats_get(const struct nlattr *nest, struct kstats *st)
{
	const struct nlattr *a;

	memset(st, 0, sizeof(*st));
	if (!nest)
		return 0;
	mnl_attr_for_each_nested(a, nest) {
		unsigned int t = mnl_attr_get_type(a);

		if (t == 0 || t >= __KIPSEC_STAT_MAX)
			continue;	/* a newer module's counter */
		if (mnl_attr_get_payload_len(a) == 8)
			st->v[t] = mnl_attr_get_u64(a);
		else if (mnl_attr_get_payload_len(a) == 4)
			st->v[t] = mnl_attr_get_u32(a);
		else
			return -1;
	}
	st->present = true;
	return 0;
}

void stats_print_object(const struct kstats *st, const char *cur)
{
	bool header = false;
	int i;

	if (!st->present)
		return;
	if (is_json_context()) {
		open_json_object("stats");
		for (i = 1; i < __KIPSEC_STAT_MAX; i++)
			print_u64(PRINT_JSON, stat_names[i], NULL, st->v[i]);
		close_json_object();
		return;
	}
	print_fp("\tlifetime current:\n");
	print_fp("\t  in %llu(bytes), %llu(packets)  out %llu(bytes), %llu(packets)\n",
		 (unsigned long long)st->v[KIPSEC_STAT_IN_BYTES],
		 (unsigned long long)st->v[KIPSEC_STAT_IN_PACKETS],
		 (unsigned long long)st->v[KIPSEC_STAT_OUT_BYTES],
		 (unsigned long long)st->v[KIPSEC_STAT_OUT_PACKETS]);
	if (cur && *cur)
		print_fp("%s", cur);
	for (i = KIPSEC_STAT_IN_AUTH_FAIL; i < __KIPSEC_STAT_MAX; i++) {
		if (!st->v[i] && show_stats < 2)
			continue;
		if (!header)
			print_fp("\tstats:\n");
		header = true;
		print_fp("\t  %s %llu\n", stat_names[i],
			 (unsigned long long)st->v[i]);
	}
}

void stats_print_table(const struct kstats *st)
{
	int i;

	open_json_object(NULL);
	for (i = 1; i < __KIPSEC_STAT_MAX; i++) {
		print_string(PRINT_FP, NULL, "%-24s", stat_names[i]);
		print_u64(PRINT_ANY, stat_names[i], "%" PRIu64, st->v[i]);
		print_nl();
	}
	close_json_object();
}

int u64_nest(const struct nlattr *nest, int first, uint64_t *v,
	     unsigned int n)
{
	const struct nlattr *a;

	if (!nest)
		return -1;
	memset(v, 0, n * sizeof(*v));
	mnl_attr_for_each_nested(a, nest) {
		int t = mnl_attr_get_type(a) - first;

		if (t >= 0 && (unsigned int)t < n &&
		    mnl_attr_get_payload_len(a) == 8)
			v[t] = mnl_attr_get_u64(a);
	}
	return 0;
}
