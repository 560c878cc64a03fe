// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec CLI: `kipsec policy ...`, the grammar of `ip xfrm policy ...`.
 *
 * A kipsec policy has at most one template: action allow with a template
 * is PROTECT, allow without one BYPASS, block DISCARD.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cli.h"

struct ktmpl {
	bool set;
	struct kid id;
	uint32_t reqid;
	bool has_reqid;
	uint8_t mode;
	bool has_mode;
	uint8_t level;
	bool has_level;
};

/* a request, a dumped policy or a list filter */
struct pol {
	struct ksel sel;
	uint8_t dir;
	bool has_dir;
	uint32_t priority;
	bool has_priority;
	uint8_t action;
	bool has_action;
	uint32_t index;
	bool has_index;
	struct ktmpl tmpl;
	struct kstats stats;
	uint64_t lft[N_LFT];	/* in enum kipsec_lft_attr order */
	bool has_lft;
	uint64_t cur[2];	/* add time, last use time */
	bool has_cur;
	uint8_t ptype;		/* enum kipsec_ptype */
	bool has_ptype;
	uint32_t flags;		/* enum kipsec_pol_flags */
	bool has_flags;
};

static void __noreturn usage(void)
{
	fprintf(stderr,
		"Usage: kipsec policy { add | update } SELECTOR dir DIR [ index INDEX ]\n"
		"        [ ptype PTYPE ] [ action ACTION ] [ priority PRIORITY ]\n"
		"        [ flag FLAG-LIST ] [ LIMIT-LIST ] [ tmpl TMPL ]\n"
		"Usage: kipsec policy { delete | get } { SELECTOR | index INDEX } dir DIR\n"
		"        [ ptype PTYPE ]\n"
		"Usage: kipsec policy { deleteall | list } [ SELECTOR ] [ dir DIR ]\n"
		"        [ index INDEX ] [ ptype PTYPE ] [ action ACTION ] [ priority PRIORITY ]\n"
		"Usage: kipsec policy flush [ ptype PTYPE ]\n"
		"Usage: kipsec policy count\n"
		"SELECTOR := [ src ADDR[/PLEN] ] [ dst ADDR[/PLEN] ] [ UPSPEC ]\n"
		"UPSPEC := proto { { tcp | udp | sctp | dccp } [ sport PORT ] [ dport PORT ] |\n"
		"                  { icmp | ipv6-icmp } [ type NUMBER ] [ code NUMBER ] |\n"
		"                  PROTO }\n"
		"DIR := in | out | fwd\n"
		"PTYPE := main | sub   (sub policies are refused by the module)\n"
		"ACTION := allow | block\n"
		"FLAG-LIST := [ FLAG-LIST ] FLAG\n"
		"FLAG := icmp | 0xHEX   (xfrm's values; not localok)\n"
		"LIMIT-LIST := [ LIMIT-LIST ] limit LIMIT\n"
		"LIMIT := { time-soft | time-hard | time-use-soft | time-use-hard } SECONDS |\n"
		"         { byte-soft | byte-hard } SIZE | { packet-soft | packet-hard } COUNT\n"
		"         (policies, as xfrm's, enforce only the time limits)\n"
		"TMPL := ID [ mode MODE ] [ reqid REQID ] [ level LEVEL ]\n"
		"ID := [ src ADDR ] [ dst ADDR ] proto XFRM-PROTO [ spi SPI ]\n"
		"XFRM-PROTO := esp | ah\n"
		"MODE := transport | tunnel\n"
		"LEVEL := required | use\n"
		"A policy takes one template. ADDR[/PLEN] without /PLEN is a host.\n"
		"Not supported: mark, ctx, flag localok, dev, if_id, ptype sub, set.\n");
	exit(0);
}

/* ------------------------------------------------------------- parsing */

static bool is_sel_keyword(const char *w)
{
	static const char *const kw[] = {
		"src", "dst", "proto", "sport", "dport", "type", "code",
		"dev", "key",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kw); i++)
		if (strcmp(w, kw[i]) == 0)
			return true;
	return false;
}

static void parse_tmpl(struct ktmpl *t, int *argcp, char ***argvp)
{
	int argc = *argcp;
	char **argv = *argvp;
	bool any = false;

	while (argc > 0) {
		if (id_parse(&t->id, &argc, &argv)) {
			/* consumed */
		} else if (strcmp(*argv, "mode") == 0) {
			NEXT_ARG();
			if (t->has_mode)
				duparg("mode", *argv);
			t->mode = mode_parse(*argv);
			t->has_mode = true;
		} else if (strcmp(*argv, "reqid") == 0) {
			NEXT_ARG();
			if (t->has_reqid)
				duparg("reqid", *argv);
			if (get_u32(&t->reqid, *argv))
				invarg("value after \"reqid\" is invalid",
				       *argv);
			t->has_reqid = true;
		} else if (strcmp(*argv, "level") == 0) {
			NEXT_ARG();
			if (strcmp(*argv, "required") == 0)
				t->level = KIPSEC_LEVEL_REQUIRED;
			else if (strcmp(*argv, "use") == 0)
				t->level = KIPSEC_LEVEL_USE;
			else
				invarg("LEVEL value is invalid", *argv);
			t->has_level = true;
		} else {
			break;
		}
		any = true;
		argc--;
		argv++;
	}
	if (!any)
		missarg("TMPL");
	t->set = true;
	*argcp = argc + 1;
	*argvp = argv - 1;
}

static const char *const unsupported_pol_kw[][2] = {
	{ "mark", "is not supported by kipsec" },
	{ "ctx", "(security context) is not supported by kipsec" },
	{ "if_id", "is not supported by kipsec" },
	{ "offload", "is not supported by kipsec" },
};

static void check_unsupported(const char *kw)
{
	unsigned int i;

	for (i = 0; i < sizeof(unsupported_pol_kw) /
			sizeof(unsupported_pol_kw[0]); i++)
		if (strcmp(kw, unsupported_pol_kw[i][0]) == 0)
			unsupported(kw, unsupported_pol_kw[i][1]);
}

enum parse_mode { P_ADD, P_ID, P_FILTER };

/* xfrm's XFRM_POLICY_* bits, which enum kipsec_pol_flags keeps */
#define XFRM_P_LOCALOK	1
#define XFRM_P_ICMP	2

/* FLAG-LIST after "flag": argv on the first flag, left on the last */
static uint32_t parse_pol_flags(int *argcp, char ***argvp)
{
	int argc = *argcp;
	char **argv = *argvp;
	uint32_t flags = 0;
	bool any = false;
	uint8_t x;

	while (argc > 0) {
		if (strcmp(*argv, "icmp") == 0) {
			flags |= KIPSEC_POL_F_ICMP;
		} else if (strcmp(*argv, "localok") == 0) {
			unsupported("localok", "(policy flag) is not supported by kipsec");
		} else if (!any && strncmp(*argv, "0x", 2) == 0) {
			if (get_u8(&x, *argv))
				invarg("FLAG value is invalid", *argv);
			if (x & ~XFRM_P_ICMP)
				usage_error("policy flag %s: only icmp (0x%x) is supported by kipsec",
					    *argv, XFRM_P_ICMP);
			flags = x;
			any = true;
			argc--;
			argv++;
			break;
		} else {
			break;
		}
		any = true;
		argc--;
		argv++;
	}
	if (!any)
		invarg("FLAG value is invalid", *argv);
	*argcp = argc + 1;
	*argvp = argv - 1;
	return flags;
}

/* main or sub: the module decides (it refuses sub, with a message) */
static uint8_t ptype_parse(const char *arg)
{
	if (strcmp(arg, "main") == 0)
		return KIPSEC_PTYPE_MAIN;
	if (strcmp(arg, "sub") == 0)
		return KIPSEC_PTYPE_SUB;
	invarg("PTYPE value is invalid", arg);
}

static void parse_policy(struct pol *p, enum parse_mode pm, int argc,
			 char **argv)
{
	memset(p, 0, sizeof(*p));
	while (argc > 0) {
		if (strcmp(*argv, "dir") == 0) {
			NEXT_ARG();
			if (p->has_dir)
				duparg("dir", *argv);
			p->dir = dir_parse(*argv);
			p->has_dir = true;
		} else if (strcmp(*argv, "index") == 0) {
			NEXT_ARG();
			if (p->has_index)
				duparg("index", *argv);
			if (get_u32(&p->index, *argv))
				invarg("INDEX value is invalid", *argv);
			p->has_index = true;
		} else if (strcmp(*argv, "priority") == 0 && pm != P_ID) {
			NEXT_ARG();
			if (p->has_priority)
				duparg("priority", *argv);
			if (get_u32(&p->priority, *argv))
				invarg("PRIORITY value is invalid", *argv);
			p->has_priority = true;
		} else if (strcmp(*argv, "action") == 0 && pm != P_ID) {
			NEXT_ARG();
			if (p->has_action)
				duparg("action", *argv);
			if (strcmp(*argv, "allow") == 0)
				p->action = KIPSEC_ACTION_ALLOW;
			else if (strcmp(*argv, "block") == 0)
				p->action = KIPSEC_ACTION_BLOCK;
			else
				invarg("ACTION value is invalid", *argv);
			p->has_action = true;
		} else if (strcmp(*argv, "ptype") == 0) {
			NEXT_ARG();
			if (p->has_ptype)
				duparg("ptype", *argv);
			p->ptype = ptype_parse(*argv);
			p->has_ptype = true;
		} else if (strcmp(*argv, "flag") == 0 && pm == P_ADD) {
			NEXT_ARG();
			p->flags |= parse_pol_flags(&argc, &argv);
			p->has_flags = true;
		} else if (strcmp(*argv, "limit") == 0 && pm == P_ADD) {
			lft_parse(p->lft, &argc, &argv);
			p->has_lft = true;
		} else if (strcmp(*argv, "tmpl") == 0 && pm == P_ADD) {
			/*
			 * A bundle (e.g. ESP then AH) would apply two
			 * transforms to one packet; kipsec applies one per
			 * packet (see docs/architecture.md, AH).
			 */
			if (p->tmpl.set)
				unsupported("tmpl",
					    "given twice: bundles (more than one template) are not supported; use one ESP template with integrity");
			NEXT_ARG();
			parse_tmpl(&p->tmpl, &argc, &argv);
		} else if (is_sel_keyword(*argv)) {
			sel_parse(&p->sel, &argc, &argv);
		} else if (strcmp(*argv, "help") == 0) {
			usage();
		} else {
			check_unsupported(*argv);
			invarg("unknown keyword", *argv);
		}
		argc--;
		argv++;
	}
	if (pm != P_FILTER) {
		if (!p->has_dir)
			missarg("dir");
		sel_finish(&p->sel, preferred_family);
	}
	if (pm == P_ID && p->has_index && p->sel.set)
		usage_error("give either SELECTOR or \"index\", not both");
	if (p->tmpl.set && !p->tmpl.id.has_proto)
		usage_error("missing \"proto\" in \"tmpl\"");
}

static void put_tmpl(struct nlmsghdr *nlh, const struct ktmpl *t)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, KIPSEC_A_POL_TMPL);
	int len = af_bytelen(t->id.family);

	if (t->id.family) {
		mnl_attr_put_u16(nlh, KIPSEC_A_TMPL_FAMILY, t->id.family);
		if (t->id.has_src)
			mnl_attr_put(nlh, KIPSEC_A_TMPL_SRC, len, t->id.src);
		if (t->id.has_dst)
			mnl_attr_put(nlh, KIPSEC_A_TMPL_DST, len, t->id.dst);
	}
	mnl_attr_put_u8(nlh, KIPSEC_A_TMPL_PROTO, t->id.proto);
	if (t->id.has_spi)
		mnl_attr_put_u32(nlh, KIPSEC_A_TMPL_SPI, htonl(t->id.spi));
	mnl_attr_put_u32(nlh, KIPSEC_A_TMPL_REQID, t->reqid);
	mnl_attr_put_u8(nlh, KIPSEC_A_TMPL_MODE, t->mode);
	mnl_attr_put_u8(nlh, KIPSEC_A_TMPL_LEVEL, t->level);
	mnl_attr_nest_end(nlh, nest);
}

static int policy_modify(int argc, char **argv, bool update)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct pol p;

	parse_policy(&p, P_ADD, argc, argv);
	nlh = nl_new(buf, KIPSEC_CMD_POLICY_NEW,
		     update ? NLM_F_REPLACE : NLM_F_CREATE | NLM_F_EXCL);
	sel_put(nlh, KIPSEC_A_POL_SEL, &p.sel);
	mnl_attr_put_u8(nlh, KIPSEC_A_POL_DIR, p.dir);
	mnl_attr_put_u32(nlh, KIPSEC_A_POL_PRIORITY, p.priority);
	mnl_attr_put_u8(nlh, KIPSEC_A_POL_ACTION, p.action);
	if (p.has_index)
		mnl_attr_put_u32(nlh, KIPSEC_A_POL_INDEX, p.index);
	if (p.has_ptype)
		mnl_attr_put_u8(nlh, KIPSEC_A_POL_PTYPE, p.ptype);
	if (p.has_lft)
		lft_put(nlh, KIPSEC_A_POL_LIFETIME, p.lft);
	if (p.has_flags)
		mnl_attr_put_u32(nlh, KIPSEC_A_POL_FLAGS, p.flags);
	if (p.tmpl.set)
		put_tmpl(nlh, &p.tmpl);
	return nl_talk(nlh, NULL, NULL, false);
}

/* ------------------------------------------------------------- printing */

static int tmpl_get(const struct nlattr *nest, struct ktmpl *t)
{
	const struct nlattr *tb[NL_TB_MAX];
	const struct nlattr *a;
	int len;

	memset(t, 0, sizeof(*t));
	if (nl_parse_nested(nest, tb))
		return -1;
	t->set = true;
	a = tb[KIPSEC_A_TMPL_FAMILY];
	if (a && mnl_attr_get_payload_len(a) == 2)
		t->id.family = mnl_attr_get_u16(a);
	len = af_bytelen(t->id.family);
	a = tb[KIPSEC_A_TMPL_SRC];
	if (t->id.family && a && mnl_attr_get_payload_len(a) == (unsigned int)len) {
		memcpy(t->id.src, mnl_attr_get_payload(a), len);
		t->id.has_src = true;
	}
	a = tb[KIPSEC_A_TMPL_DST];
	if (t->id.family && a && mnl_attr_get_payload_len(a) == (unsigned int)len) {
		memcpy(t->id.dst, mnl_attr_get_payload(a), len);
		t->id.has_dst = true;
	}
	a = tb[KIPSEC_A_TMPL_PROTO];
	if (a && mnl_attr_get_payload_len(a) == 1)
		t->id.proto = mnl_attr_get_u8(a);
	a = tb[KIPSEC_A_TMPL_SPI];
	if (a && mnl_attr_get_payload_len(a) == 4)
		t->id.spi = ntohl(mnl_attr_get_u32(a));
	a = tb[KIPSEC_A_TMPL_REQID];
	if (a && mnl_attr_get_payload_len(a) == 4)
		t->reqid = mnl_attr_get_u32(a);
	a = tb[KIPSEC_A_TMPL_MODE];
	if (a && mnl_attr_get_payload_len(a) == 1)
		t->mode = mnl_attr_get_u8(a);
	a = tb[KIPSEC_A_TMPL_LEVEL];
	if (a && mnl_attr_get_payload_len(a) == 1)
		t->level = mnl_attr_get_u8(a);
	return 0;
}

static int pol_get(const struct nlmsghdr *nlh, struct pol *p)
{
	const struct nlattr *tb[NL_TB_MAX];
	const struct nlattr *a;

	memset(p, 0, sizeof(*p));
	if (nl_parse(nlh, tb) || !tb[KIPSEC_A_POL_SEL] ||
	    sel_get(tb[KIPSEC_A_POL_SEL], &p->sel))
		return -1;
	a = tb[KIPSEC_A_POL_DIR];
	if (!a || mnl_attr_get_payload_len(a) != 1)
		return -1;
	p->dir = mnl_attr_get_u8(a);
	p->has_dir = true;
	a = tb[KIPSEC_A_POL_PRIORITY];
	if (a && mnl_attr_get_payload_len(a) == 4)
		p->priority = mnl_attr_get_u32(a);
	a = tb[KIPSEC_A_POL_ACTION];
	if (a && mnl_attr_get_payload_len(a) == 1)
		p->action = mnl_attr_get_u8(a);
	a = tb[KIPSEC_A_POL_INDEX];
	if (a && mnl_attr_get_payload_len(a) == 4) {
		p->index = mnl_attr_get_u32(a);
		p->has_index = true;
	}
	a = tb[KIPSEC_A_POL_FLAGS];
	if (a && mnl_attr_get_payload_len(a) == 4)
		p->flags = mnl_attr_get_u32(a);
	if (tb[KIPSEC_A_POL_TMPL] && tmpl_get(tb[KIPSEC_A_POL_TMPL], &p->tmpl))
		return -1;
	if (stats_get(tb[KIPSEC_A_POL_STATS], &p->stats))
		return -1;
	p->has_lft = !u64_nest(tb[KIPSEC_A_POL_LIFETIME],
			       KIPSEC_A_LFT_SOFT_BYTES, p->lft, N_LFT);
	p->has_cur = !u64_nest(tb[KIPSEC_A_POL_CURLFT],
			       KIPSEC_A_CURLFT_ADD_TIME, p->cur,
			       ARRAY_SIZE(p->cur));
	return 0;
}

static void tmpl_print(const struct ktmpl *t, int sel_family)
{
	char buf[INET6_ADDRSTRLEN], pb[8], spi[16];
	int family = t->id.family ? t->id.family : sel_family;

	open_json_object("tmpl");
	print_string(PRINT_ANY, "src", "\ttmpl src %s ",
		     addr_str(family, t->id.src, buf, sizeof(buf)));
	print_string(PRINT_ANY, "dst", "dst %s",
		     addr_str(family, t->id.dst, buf, sizeof(buf)));
	print_nl();
	print_string(PRINT_ANY, "proto", "\t\tproto %s ",
		     xfrmproto_name(t->id.proto, pb, sizeof(pb)));
	if (t->id.spi || show_stats) {
		snprintf(spi, sizeof(spi), "0x%08x", t->id.spi);
		print_string(PRINT_ANY, "spi", "spi %s", spi);
		print_uint(PRINT_JSON, "spi_num", NULL, t->id.spi);
		if (show_stats)
			print_fp("(%u)", t->id.spi);
		print_fp(" ");
	}
	print_uint(PRINT_ANY, "reqid", "reqid %u", t->reqid);
	if (show_stats)
		print_fp("(0x%08x)", t->reqid);
	print_string(PRINT_ANY, "mode", " mode %s", mode_name(t->mode));
	print_nl();
	if (t->level == KIPSEC_LEVEL_USE || show_stats) {
		print_string(PRINT_ANY, "level", "\t\tlevel %s ",
			     t->level == KIPSEC_LEVEL_USE ? "use" : "required");
		print_nl();
	}
	close_json_object();
}

/* the limits, and the times for the "lifetime current" block in @cur */
static void pol_lifetime_print(const struct pol *p, char *cur, size_t len)
{
	char a[32], u[32];

	cur[0] = 0;
	if (p->has_lft)
		lft_print(p->lft);
	if (!p->has_cur)
		return;
	if (is_json_context()) {
		open_json_object("lifetime_current");
		print_u64(PRINT_JSON, "add_time", NULL, p->cur[0]);
		print_u64(PRINT_JSON, "use_time", NULL, p->cur[1]);
		close_json_object();
		return;
	}
	lft_time_str(p->cur[0], a, sizeof(a));
	lft_time_str(p->cur[1], u, sizeof(u));
	snprintf(cur, len, "\t  add %s use %s\n", a, u);
}

/* as ip xfrm: "flag icmp" when set, with the value under -s */
static void pol_flags_print(uint32_t flags)
{
	if (flags || show_stats)
		print_fp("flag ");
	open_json_array("flags");
	if (flags & KIPSEC_POL_F_ICMP)
		print_string(PRINT_ANY, NULL, "%s", "icmp");
	close_json_array();
	if (show_stats)
		print_fp(" (0x%02x)", flags);
}

/* a policy; for an event, @ev names it, @prefix starts the text, @hard >= 0 */
static void pol_print_ev(const struct pol *p, const char *ev,
			 const char *prefix, int hard)
{
	char cur[96];

	open_json_object(NULL);
	if (ev)
		print_string(PRINT_JSON, "event", NULL, ev);
	if (prefix)
		print_fp("%s", prefix);
	sel_print(&p->sel, "sel");
	print_nl();
	print_string(PRINT_ANY, "dir", "\tdir %s ", dir_name(p->dir));
	if (p->action == KIPSEC_ACTION_BLOCK || show_stats || json)
		print_string(PRINT_ANY, "action", "action %s ",
			     p->action == KIPSEC_ACTION_BLOCK ?
			     "block" : "allow");
	if (p->has_index && (show_stats || json))
		print_uint(PRINT_ANY, "index", "index %u ", p->index);
	print_uint(PRINT_ANY, "priority", "priority %u ", p->priority);
	pol_flags_print(p->flags);
	print_nl();
	if (p->tmpl.set)
		tmpl_print(&p->tmpl, p->sel.family);
	pol_lifetime_print(p, cur, sizeof(cur));
	if (show_stats)
		stats_print_object(&p->stats, cur);
	if (hard >= 0) {
		print_bool(PRINT_JSON, "hard", NULL, hard);
		print_fp("\thard %d\n", hard);
	}
	close_json_object();
}

static void pol_print(const struct pol *p)
{
	pol_print_ev(p, NULL, NULL, -1);
}

int pol_event_print(const struct nlmsghdr *nlh, const char *ev,
		    const char *prefix, bool expire)
{
	const struct nlattr *tb[NL_TB_MAX];
	uint8_t hard = 0;
	struct pol p;

	if (pol_get(nlh, &p) || nl_parse(nlh, tb))
		return -1;
	if (expire && tb[KIPSEC_A_EV_HARD] &&
	    mnl_attr_get_payload_len(tb[KIPSEC_A_EV_HARD]) == 1)
		hard = mnl_attr_get_u8(tb[KIPSEC_A_EV_HARD]);
	pol_print_ev(&p, ev, prefix, expire ? hard : -1);
	return 0;
}

/*
 * An acquire, as ip xfrm monitor prints XFRM_MSG_ACQUIRE: the protocol,
 * the packet's selector, the policy and its template; the SA endpoints
 * and the sequence number (-s, and in JSON) that state allocspi seq and
 * state add seq answer.
 */
int acq_event_print(const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[NL_TB_MAX];
	char pb[8], buf[INET6_ADDRSTRLEN];
	const struct nlattr *a;
	struct ksel sel = { 0 };
	uint16_t family = 0;
	uint32_t seq = 0;
	uint8_t proto = 0;
	struct pol p;

	if (nl_parse(nlh, tb) || pol_get(nlh, &p))
		return -1;
	a = tb[KIPSEC_A_SA_PROTO];
	if (a && mnl_attr_get_payload_len(a) == 1)
		proto = mnl_attr_get_u8(a);
	a = tb[KIPSEC_A_SA_ACQ_SEQ];
	if (a && mnl_attr_get_payload_len(a) == 4)
		seq = mnl_attr_get_u32(a);
	a = tb[KIPSEC_A_SA_FAMILY];
	if (a && mnl_attr_get_payload_len(a) == 2)
		family = mnl_attr_get_u16(a);
	if (tb[KIPSEC_A_SA_SEL] && sel_get(tb[KIPSEC_A_SA_SEL], &sel))
		return -1;

	open_json_object(NULL);
	print_string(PRINT_JSON, "event", NULL, "acquire");
	print_string(PRINT_ANY, "proto", "acquire proto %s ",
		     xfrmproto_name(proto, pb, sizeof(pb)));
	print_nl();
	if ((family == AF_INET || family == AF_INET6) &&
	    tb[KIPSEC_A_SA_SRC] && tb[KIPSEC_A_SA_DST] &&
	    mnl_attr_get_payload_len(tb[KIPSEC_A_SA_DST]) ==
	    (unsigned int)af_bytelen(family) &&
	    mnl_attr_get_payload_len(tb[KIPSEC_A_SA_SRC]) ==
	    (unsigned int)af_bytelen(family)) {
		print_string(PRINT_JSON, "src", NULL,
			     addr_str(family,
				      mnl_attr_get_payload(tb[KIPSEC_A_SA_SRC]),
				      buf, sizeof(buf)));
		print_string(PRINT_JSON, "dst", NULL,
			     addr_str(family,
				      mnl_attr_get_payload(tb[KIPSEC_A_SA_DST]),
				      buf, sizeof(buf)));
	}
	if (sel.set) {
		print_fp("  sel ");
		sel_print(&sel, "sel");
		print_nl();
	}
	open_json_object("policy");
	print_fp("  policy ");
	sel_print(&p.sel, "sel");
	print_nl();
	print_string(PRINT_ANY, "dir", "\tdir %s ", dir_name(p.dir));
	if (p.has_index)
		print_uint(PRINT_ANY, "index", "index %u ", p.index);
	print_uint(PRINT_ANY, "priority", "priority %u ", p.priority);
	print_nl();
	if (p.tmpl.set)
		tmpl_print(&p.tmpl, p.sel.family);
	close_json_object();
	print_uint(PRINT_JSON, "seq", NULL, seq);
	if (show_stats) {
		print_fp("  seq 0x%08x ", seq);
		print_nl();
	}
	close_json_object();
	return 0;
}

static bool filter_match(const struct pol *f, const struct pol *p)
{
	if (f->has_dir && f->dir != p->dir)
		return false;
	if (f->sel.set && !sel_match(&f->sel, &p->sel))
		return false;
	if (f->has_index && f->index != p->index)
		return false;
	if (f->has_action && f->action != p->action)
		return false;
	if (f->has_priority && f->priority != p->priority)
		return false;
	/* every kipsec policy is a main one */
	if (f->has_ptype && f->ptype != KIPSEC_PTYPE_MAIN)
		return false;
	return true;
}

struct list_ctx {
	const struct pol *f;
	bool collect;		/* deleteall, count: keep (index, dir) */
	struct pol *pols;
	size_t n, cap;
};

static int list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct list_ctx *c = data;
	struct pol p;

	if (pol_get(nlh, &p)) {
		fprintf(stderr, "Warning: skipping a malformed policy message.\n");
		return MNL_CB_OK;
	}
	if (c->f && !filter_match(c->f, &p))
		return MNL_CB_OK;
	if (!c->collect) {
		pol_print(&p);
		return MNL_CB_OK;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct pol *n = realloc(c->pols, cap * sizeof(*n));

		if (!n)
			return MNL_CB_ERROR;
		c->pols = n;
		c->cap = cap;
	}
	c->pols[c->n++] = p;
	return MNL_CB_OK;
}

static int policy_list(int argc, char **argv)
{
	struct pol f;
	struct list_ctx c = { .f = &f };

	parse_policy(&f, P_FILTER, argc, argv);
	new_json_obj();
	open_json_array(NULL);
	nl_dump(KIPSEC_CMD_POLICY_GET, list_cb, &c);
	close_json_array();
	delete_json_obj();
	return 0;
}

static void put_key(struct nlmsghdr *nlh, const struct pol *p)
{
	if (p->has_index)
		mnl_attr_put_u32(nlh, KIPSEC_A_POL_INDEX, p->index);
	else
		sel_put(nlh, KIPSEC_A_POL_SEL, &p->sel);
	mnl_attr_put_u8(nlh, KIPSEC_A_POL_DIR, p->dir);
	if (p->has_ptype)
		mnl_attr_put_u8(nlh, KIPSEC_A_POL_PTYPE, p->ptype);
}

static int policy_deleteall(int argc, char **argv)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct pol f;
	struct list_ctx c = { .f = &f, .collect = true };
	size_t i;

	parse_policy(&f, P_FILTER, argc, argv);
	nl_dump(KIPSEC_CMD_POLICY_GET, list_cb, &c);
	for (i = 0; i < c.n; i++) {
		struct nlmsghdr *nlh = nl_new(buf, KIPSEC_CMD_POLICY_DEL, 0);

		put_key(nlh, &c.pols[i]);
		nl_talk(nlh, NULL, NULL, false);
	}
	free(c.pols);
	return 0;
}

static int get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct pol p;

	if (pol_get(nlh, &p)) {
		fprintf(stderr, "Error: malformed policy message from the kernel.\n");
		return MNL_CB_ERROR;
	}
	pol_print(&p);
	return MNL_CB_OK;
}

static int policy_get_or_delete(int argc, char **argv, bool del)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct pol p;

	parse_policy(&p, P_ID, argc, argv);
	nlh = nl_new(buf, del ? KIPSEC_CMD_POLICY_DEL : KIPSEC_CMD_POLICY_GET,
		     0);
	put_key(nlh, &p);
	if (del)
		return nl_talk(nlh, NULL, NULL, false);
	new_json_obj();
	nl_talk(nlh, get_cb, NULL, false);
	delete_json_obj();
	return 0;
}

static int policy_flush(int argc, char **argv)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int ptype = -1;

	while (argc > 0) {
		if (strcmp(*argv, "ptype") == 0) {
			NEXT_ARG();
			if (ptype >= 0)
				duparg("ptype", *argv);
			ptype = ptype_parse(*argv);
		} else if (strcmp(*argv, "help") == 0) {
			usage();
		} else {
			invarg("unknown keyword", *argv);
		}
		argc--;
		argv++;
	}
	nlh = nl_new(buf, KIPSEC_CMD_POLICY_FLUSH, 0);
	if (ptype >= 0)
		mnl_attr_put_u8(nlh, KIPSEC_A_POL_PTYPE, ptype);
	return nl_talk(nlh, NULL, NULL, false);
}

static int policy_count(int argc, char **argv)
{
	struct list_ctx c = { .collect = true };
	unsigned int n[KIPSEC_DIR_MAX + 1] = { 0 };
	size_t i;

	if (argc > 0) {
		if (strcmp(*argv, "help") == 0)
			usage();
		invarg("unknown keyword", *argv);
	}
	nl_dump(KIPSEC_CMD_POLICY_GET, list_cb, &c);
	for (i = 0; i < c.n; i++)
		if (c.pols[i].dir <= KIPSEC_DIR_MAX)
			n[c.pols[i].dir]++;
	free(c.pols);
	if (nl_dryrun())
		return 0;
	new_json_obj();
	open_json_object(NULL);
	print_uint(PRINT_ANY, "in", "SPD IN  %u\n", n[KIPSEC_DIR_IN]);
	print_uint(PRINT_ANY, "out", "SPD OUT %u\n", n[KIPSEC_DIR_OUT]);
	print_uint(PRINT_ANY, "fwd", "SPD FWD %u\n", n[KIPSEC_DIR_FWD]);
	close_json_object();
	delete_json_obj();
	return 0;
}

int do_policy(int argc, char **argv)
{
	const char *cmd;

	if (argc < 1)
		return policy_list(0, NULL);
	cmd = *argv;
	argc--;
	argv++;
	if (matches(cmd, "add") == 0)
		return policy_modify(argc, argv, false);
	if (matches(cmd, "update") == 0)
		return policy_modify(argc, argv, true);
	if (matches(cmd, "delete") == 0 || strcmp(cmd, "del") == 0)
		return policy_get_or_delete(argc, argv, true);
	if (matches(cmd, "deleteall") == 0 || strcmp(cmd, "delall") == 0)
		return policy_deleteall(argc, argv);
	if (matches(cmd, "list") == 0 || matches(cmd, "show") == 0 ||
	    strcmp(cmd, "lst") == 0)
		return policy_list(argc, argv);
	if (matches(cmd, "get") == 0)
		return policy_get_or_delete(argc, argv, false);
	if (matches(cmd, "flush") == 0)
		return policy_flush(argc, argv);
	if (matches(cmd, "count") == 0)
		return policy_count(argc, argv);
	if (matches(cmd, "help") == 0)
		usage();
	if (strcmp(cmd, "set") == 0)
		unsupported("set", "(SPD hash thresholds) is not supported by kipsec");
	fprintf(stderr, "Command \"%s\" is unknown, try \"kipsec policy help\".\n",
		cmd);
	exit(EXIT_USAGE);
}
