// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec CLI: generic netlink through libmnl.
 *
 * The socket asks for extended ACKs (NETLINK_EXT_ACK) without the echo of
 * the request (NETLINK_CAP_ACK), so the kernel's NL_SET_ERR_MSG text comes
 * back with every error and is printed as iproute2 prints it:
 * "Error: <text>." and exit code 2.
 *
 * Debug aid: with KIPSEC_DRYRUN=1 in the environment nothing is sent;
 * each request is decoded on stdout (key material as its length only).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "cli.h"

#define NL_BUF_SIZE (1 << 16)

static struct mnl_socket *nl;
static uint16_t family_id;
static unsigned int seq;
static unsigned int portid;
static int dryrun = -1;

bool nl_dryrun(void)
{
	if (dryrun < 0) {
		const char *e = getenv("KIPSEC_DRYRUN");

		dryrun = e && *e && strcmp(e, "0") != 0;
	}
	return dryrun;
}

/* ---------------------------------------------------------------- dry run */

enum akind { K_U8, K_U16, K_U32, K_U64, K_BE16, K_BE32, K_ADDR, K_STR,
	     K_SECRET, K_SEL, K_TMPL, K_STATS };

struct adesc {
	const char *name;
	enum akind kind;
};

static const struct adesc top_desc[__KIPSEC_A_MAX] = {
	[KIPSEC_A_INFO_VERSION] = { "INFO_VERSION", K_STR },
	[KIPSEC_A_INFO_CAPS] = { "INFO_CAPS", K_U32 },
	[KIPSEC_A_INFO_REPLAY_MAX] = { "INFO_REPLAY_MAX", K_U32 },
	[KIPSEC_A_INFO_SA_COUNT] = { "INFO_SA_COUNT", K_U32 },
	[KIPSEC_A_INFO_POLICY_COUNT] = { "INFO_POLICY_COUNT", K_U32 },
	[KIPSEC_A_SA_FAMILY] = { "SA_FAMILY", K_U16 },
	[KIPSEC_A_SA_SRC] = { "SA_SRC", K_ADDR },
	[KIPSEC_A_SA_DST] = { "SA_DST", K_ADDR },
	[KIPSEC_A_SA_PROTO] = { "SA_PROTO", K_U8 },
	[KIPSEC_A_SA_SPI] = { "SA_SPI", K_BE32 },
	[KIPSEC_A_SA_REQID] = { "SA_REQID", K_U32 },
	[KIPSEC_A_SA_MODE] = { "SA_MODE", K_U8 },
	[KIPSEC_A_SA_FLAGS] = { "SA_FLAGS", K_U32 },
	[KIPSEC_A_SA_REPLAY_WINDOW] = { "SA_REPLAY_WINDOW", K_U32 },
	[KIPSEC_A_SA_SEQ] = { "SA_SEQ", K_U64 },
	[KIPSEC_A_SA_OSEQ] = { "SA_OSEQ", K_U64 },
	[KIPSEC_A_SA_AEAD_NAME] = { "SA_AEAD_NAME", K_STR },
	[KIPSEC_A_SA_AEAD_KEY] = { "SA_AEAD_KEY", K_SECRET },
	[KIPSEC_A_SA_AEAD_ICV] = { "SA_AEAD_ICV", K_U32 },
	[KIPSEC_A_SA_SEL] = { "SA_SEL", K_SEL },
	[KIPSEC_A_SA_STATS] = { "SA_STATS", K_STATS },
	[KIPSEC_A_SA_ENC_NAME] = { "SA_ENC_NAME", K_STR },
	[KIPSEC_A_SA_ENC_KEY] = { "SA_ENC_KEY", K_SECRET },
	[KIPSEC_A_SA_AUTH_NAME] = { "SA_AUTH_NAME", K_STR },
	[KIPSEC_A_SA_AUTH_KEY] = { "SA_AUTH_KEY", K_SECRET },
	[KIPSEC_A_SA_AUTH_TRUNC] = { "SA_AUTH_TRUNC", K_U32 },
	[KIPSEC_A_SA_KEY_BITS] = { "SA_KEY_BITS", K_U32 },
	[KIPSEC_A_POL_SEL] = { "POL_SEL", K_SEL },
	[KIPSEC_A_POL_DIR] = { "POL_DIR", K_U8 },
	[KIPSEC_A_POL_PRIORITY] = { "POL_PRIORITY", K_U32 },
	[KIPSEC_A_POL_ACTION] = { "POL_ACTION", K_U8 },
	[KIPSEC_A_POL_INDEX] = { "POL_INDEX", K_U32 },
	[KIPSEC_A_POL_TMPL] = { "POL_TMPL", K_TMPL },
	[KIPSEC_A_POL_STATS] = { "POL_STATS", K_STATS },
	[KIPSEC_A_STATS] = { "STATS", K_STATS },
	[KIPSEC_A_SA_ENC_KEY_BITS] = { "SA_ENC_KEY_BITS", K_U32 },
	[KIPSEC_A_SA_AUTH_KEY_BITS] = { "SA_AUTH_KEY_BITS", K_U32 },
};

static const struct adesc sel_desc[__KIPSEC_A_SEL_MAX] = {
	[KIPSEC_A_SEL_FAMILY] = { "SEL_FAMILY", K_U16 },
	[KIPSEC_A_SEL_SRC] = { "SEL_SRC", K_ADDR },
	[KIPSEC_A_SEL_DST] = { "SEL_DST", K_ADDR },
	[KIPSEC_A_SEL_SPLEN] = { "SEL_SPLEN", K_U8 },
	[KIPSEC_A_SEL_DPLEN] = { "SEL_DPLEN", K_U8 },
	[KIPSEC_A_SEL_PROTO] = { "SEL_PROTO", K_U8 },
	[KIPSEC_A_SEL_SPORT] = { "SEL_SPORT", K_BE16 },
	[KIPSEC_A_SEL_DPORT] = { "SEL_DPORT", K_BE16 },
};

static const struct adesc tmpl_desc[__KIPSEC_A_TMPL_MAX] = {
	[KIPSEC_A_TMPL_FAMILY] = { "TMPL_FAMILY", K_U16 },
	[KIPSEC_A_TMPL_SRC] = { "TMPL_SRC", K_ADDR },
	[KIPSEC_A_TMPL_DST] = { "TMPL_DST", K_ADDR },
	[KIPSEC_A_TMPL_PROTO] = { "TMPL_PROTO", K_U8 },
	[KIPSEC_A_TMPL_SPI] = { "TMPL_SPI", K_BE32 },
	[KIPSEC_A_TMPL_REQID] = { "TMPL_REQID", K_U32 },
	[KIPSEC_A_TMPL_MODE] = { "TMPL_MODE", K_U8 },
	[KIPSEC_A_TMPL_LEVEL] = { "TMPL_LEVEL", K_U8 },
};

static const char *const cmd_names[__KIPSEC_CMD_MAX] = {
	[KIPSEC_CMD_INFO_GET] = "INFO_GET",
	[KIPSEC_CMD_SA_NEW] = "SA_NEW",
	[KIPSEC_CMD_SA_DEL] = "SA_DEL",
	[KIPSEC_CMD_SA_GET] = "SA_GET",
	[KIPSEC_CMD_SA_FLUSH] = "SA_FLUSH",
	[KIPSEC_CMD_POLICY_NEW] = "POLICY_NEW",
	[KIPSEC_CMD_POLICY_DEL] = "POLICY_DEL",
	[KIPSEC_CMD_POLICY_GET] = "POLICY_GET",
	[KIPSEC_CMD_POLICY_FLUSH] = "POLICY_FLUSH",
	[KIPSEC_CMD_STATS_GET] = "STATS_GET",
};

static void dump_attrs(const struct nlattr *head, size_t len,
		       const struct adesc *desc, unsigned int max, int lvl);

static void dump_attr(const struct nlattr *a, const struct adesc *desc,
		      unsigned int max, int lvl)
{
	unsigned int type = mnl_attr_get_type(a);
	unsigned int len = mnl_attr_get_payload_len(a);
	const void *p = mnl_attr_get_payload(a);
	const struct adesc *d = type < max ? &desc[type] : NULL;
	char buf[64];

	printf("%*s", lvl * 4, "");
	if (!d || !d->name) {
		printf("attr %u len %u\n", type, len);
		return;
	}
	printf("%s", d->name);
	switch (d->kind) {
	case K_U8:
		printf(" %u", len >= 1 ? *(const uint8_t *)p : 0);
		break;
	case K_U16:
		printf(" %u", len >= 2 ? mnl_attr_get_u16(a) : 0);
		break;
	case K_U32:
		printf(" %u", len >= 4 ? mnl_attr_get_u32(a) : 0);
		break;
	case K_U64:
		printf(" %llu", len >= 8 ?
		       (unsigned long long)mnl_attr_get_u64(a) : 0ULL);
		break;
	case K_BE16:
		printf(" %u (be16)", len >= 2 ? ntohs(mnl_attr_get_u16(a)) : 0);
		break;
	case K_BE32:
		printf(" 0x%08x (be32)",
		       len >= 4 ? ntohl(mnl_attr_get_u32(a)) : 0);
		break;
	case K_ADDR:
		printf(" %s", len == 16 ? addr_str(AF_INET6, p, buf, sizeof(buf)) :
		       len == 4 ? addr_str(AF_INET, p, buf, sizeof(buf)) : "?");
		break;
	case K_STR:
		printf(" \"%.*s\"", (int)strnlen(p, len), (const char *)p);
		break;
	case K_SECRET:
		printf(" <%u bytes, not shown>", len);
		break;
	case K_SEL:
		putchar('\n');
		dump_attrs(p, len, sel_desc, __KIPSEC_A_SEL_MAX, lvl + 1);
		return;
	case K_TMPL:
		putchar('\n');
		dump_attrs(p, len, tmpl_desc, __KIPSEC_A_TMPL_MAX, lvl + 1);
		return;
	case K_STATS:
		printf(" (%u bytes)", len);
		break;
	}
	printf(" [len %u]\n", len);
}

static void dump_attrs(const struct nlattr *head, size_t len,
		       const struct adesc *desc, unsigned int max, int lvl)
{
	const struct nlattr *attr;

	mnl_attr_for_each_payload(head, len)
		dump_attr(attr, desc, max, lvl);
}

static void dump_request(const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
	const char *name = g->cmd < __KIPSEC_CMD_MAX ? cmd_names[g->cmd] : NULL;

	bool dump = (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;

	printf("kipsec dry run: %s flags 0x%x%s%s%s%s%s\n",
	       name ? name : "?", nlh->nlmsg_flags,
	       nlh->nlmsg_flags & NLM_F_ACK ? " ack" : "",
	       dump ? " dump" : "",
	       nlh->nlmsg_flags & NLM_F_CREATE ? " create" : "",
	       !dump && nlh->nlmsg_flags & NLM_F_EXCL ? " excl" : "",
	       !dump && nlh->nlmsg_flags & NLM_F_REPLACE ? " replace" : "");
	dump_attrs(mnl_nlmsg_get_payload_offset(nlh, sizeof(*g)),
		   (const char *)mnl_nlmsg_get_payload_tail(nlh) -
		   (const char *)mnl_nlmsg_get_payload_offset(nlh, sizeof(*g)),
		   top_desc, __KIPSEC_A_MAX, 1);
}

/* ---------------------------------------------------------------- errors */

struct talk {
	mnl_cb_t cb;
	void *data;
	int err;		/* negative errno from the kernel */
	char msg[512];		/* NLMSGERR_ATTR_MSG */
	int miss_type;		/* NLMSGERR_ATTR_MISS_TYPE, -1 when absent */
};

static void parse_extack(const struct nlmsghdr *nlh, size_t off,
			 struct talk *t)
{
	const struct nlattr *a;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (off > nlh->nlmsg_len - NLMSG_HDRLEN)
		return;
	mnl_attr_for_each(a, nlh, off) {
		switch (mnl_attr_get_type(a)) {
		case NLMSGERR_ATTR_MSG:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				snprintf(t->msg, sizeof(t->msg), "%s",
					 mnl_attr_get_str(a));
			break;
		case NLMSGERR_ATTR_MISS_TYPE:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				t->miss_type = mnl_attr_get_u32(a);
			break;
		}
	}
}

static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct talk *t = data;
	size_t off = sizeof(*e);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		t->err = -EBADMSG;
		return MNL_CB_STOP;
	}
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	parse_extack(nlh, off, t);
	if (e->error == 0) {
		if (t->msg[0]) {
			size_t n = strlen(t->msg);

			fprintf(stderr, "Warning: %s%s\n", t->msg,
				t->msg[n - 1] == '.' ? "" : ".");
			t->msg[0] = '\0';
		}
		return MNL_CB_STOP;
	}
	t->err = e->error;
	return MNL_CB_STOP;
}

static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;
	int err = 0;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int))
		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(int));
	if (err < 0) {
		t->err = err;
		parse_extack(nlh, sizeof(int), t);
	}
	return MNL_CB_STOP;
}

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;

	if (nlh->nlmsg_type != family_id)
		return MNL_CB_OK;
	if (!t->cb)
		return MNL_CB_OK;
	return t->cb(nlh, t->data);
}

/*
 * Every kipsec command needs CAP_NET_ADMIN over the netns; the generic
 * netlink core refuses without any text, so say what is wrong.
 */
static const char eperm_msg[] =
	"permission denied: reading or changing kipsec's SAs and policies needs CAP_NET_ADMIN (run as root)";

static void report(const struct talk *t)
{
	size_t n = strlen(t->msg);

	if (!n && t->err == -EPERM)
		fprintf(stderr, "Error: %s.\n", eperm_msg);
	else if (n)
		fprintf(stderr, "Error: %s%s\n", t->msg,
			t->msg[n - 1] == '.' ? "" : ".");
	else if (t->miss_type >= 0)
		fprintf(stderr, "Error: %s (missing attribute %s).\n",
			strerror(-t->err),
			t->miss_type < __KIPSEC_A_MAX &&
			top_desc[t->miss_type].name ?
			top_desc[t->miss_type].name : "?");
	else
		fprintf(stderr, "Error: %s.\n", strerror(-t->err));
}

/* ---------------------------------------------------------------- socket */

static void fatal_errno(const char *what)
{
	fprintf(stderr, "Error: %s: %s.\n", what, strerror(errno));
	exit(EXIT_KERNEL);
}

static int exchange(struct nlmsghdr *nlh, struct talk *t)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = error_cb,
		[NLMSG_DONE] = done_cb,
	};
	static char buf[NL_BUF_SIZE];
	int ret;

	nlh->nlmsg_seq = ++seq;
	t->err = 0;
	t->msg[0] = '\0';
	t->miss_type = -1;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		fatal_errno("cannot talk to the kernel");
	do {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0)
			fatal_errno("cannot receive from the kernel");
		ret = mnl_cb_run2(buf, n, nlh->nlmsg_seq, portid, data_cb, t,
				  ctl, NLMSG_MIN_TYPE);
	} while (ret > MNL_CB_STOP);
	if (ret < 0 && !t->err)
		t->err = errno ? -errno : -EINVAL;
	return t->err;
}

static int open_socket(void)
{
	int one = 1;

	nl = mnl_socket_open(NETLINK_GENERIC);
	if (!nl)
		fatal_errno("cannot open a generic netlink socket");
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		fatal_errno("cannot bind the netlink socket");
	/* both are best effort: old kernels still work, without the text */
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	portid = mnl_socket_get_portid(nl);
	seq = time(NULL);
	return 0;
}

static uint32_t mcgrp_events;	/* id of the "events" group, 0 unknown */

/* CTRL_ATTR_MCAST_GROUPS: remember the id of "events" */
static void family_groups(const struct nlattr *groups)
{
	const struct nlattr *g, *a;

	mnl_attr_for_each_nested(g, groups) {
		const char *name = NULL;
		uint32_t id = 0;

		mnl_attr_for_each_nested(a, g) {
			if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_NAME &&
			    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				name = mnl_attr_get_str(a);
			if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_ID &&
			    mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				id = mnl_attr_get_u32(a);
		}
		if (name && strcmp(name, KIPSEC_MCGRP_EVENTS) == 0)
			mcgrp_events = id;
	}
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
		    mnl_attr_validate(a, MNL_TYPE_U16) == 0)
			*(uint16_t *)data = mnl_attr_get_u16(a);
		if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GROUPS)
			family_groups(a);
	}
	return MNL_CB_OK;
}

/* 0, or a negative errno (-ENOENT: no such family) */
static int resolve_family(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	struct talk t = { .cb = family_cb };
	uint16_t id = 0;
	int err;

	if (family_id)
		return 0;
	if (!nl)
		open_socket();
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, KIPSEC_GENL_NAME);
	t.data = &id;
	/* data_cb filters on family_id: the controller's id for now */
	family_id = GENL_ID_CTRL;
	err = exchange(nlh, &t);
	family_id = 0;
	if (err)
		return err;
	if (!id)
		return -ENOENT;
	family_id = id;
	return 0;
}

bool nl_family_present(void)
{
	if (nl_dryrun())
		return false;
	return resolve_family() == 0;
}

static void need_family(void)
{
	int err = resolve_family();

	if (err == -ENOENT) {
		fprintf(stderr,
			"Error: the kipsec module is not loaded (genetlink family \"%s\" not found).\n",
			KIPSEC_GENL_NAME);
		exit(EXIT_KERNEL);
	}
	if (err) {
		fprintf(stderr, "Error: cannot resolve genetlink family \"%s\": %s.\n",
			KIPSEC_GENL_NAME, strerror(-err));
		exit(EXIT_KERNEL);
	}
}

struct nlmsghdr *nl_new(void *buf, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = KIPSEC_GENL_VERSION;
	return nlh;
}

int nl_talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data, bool soft)
{
	struct talk t = { .cb = cb, .data = data };
	int err;

	if ((nlh->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP)
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (nl_dryrun()) {
		dump_request(nlh);
		return 0;
	}
	need_family();
	nlh->nlmsg_type = family_id;
	err = exchange(nlh, &t);
	if (err && !soft) {
		report(&t);
		exit(EXIT_KERNEL);
	}
	return err;
}

int nl_dump(uint8_t cmd, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_new(buf, cmd, NLM_F_DUMP);

	return nl_talk(nlh, cb, data, false);
}

/* ---------------------------------------------------------------- parsing */

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	unsigned int type = mnl_attr_get_type(a);

	if (type < NL_TB_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

int nl_parse(const struct nlmsghdr *nlh, const struct nlattr **tb)
{
	memset(tb, 0, sizeof(*tb) * NL_TB_MAX);
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), attr_cb, tb) ==
	       MNL_CB_ERROR ? -1 : 0;
}

int nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb)
{
	memset(tb, 0, sizeof(*tb) * NL_TB_MAX);
	return mnl_attr_parse_nested(nest, attr_cb, tb) == MNL_CB_ERROR ?
	       -1 : 0;
}

static uint32_t get_u32_attr(const struct nlattr *a)
{
	return a && mnl_attr_get_payload_len(a) >= 4 ? mnl_attr_get_u32(a) : 0;
}

static int info_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NL_TB_MAX];
	struct kinfo *info = data;

	if (nl_parse(nlh, tb))
		return MNL_CB_ERROR;
	if (tb[KIPSEC_A_INFO_VERSION] &&
	    mnl_attr_validate(tb[KIPSEC_A_INFO_VERSION],
			      MNL_TYPE_NUL_STRING) == 0)
		snprintf(info->version, sizeof(info->version), "%s",
			 mnl_attr_get_str(tb[KIPSEC_A_INFO_VERSION]));
	info->caps = get_u32_attr(tb[KIPSEC_A_INFO_CAPS]);
	info->replay_max = get_u32_attr(tb[KIPSEC_A_INFO_REPLAY_MAX]);
	info->sa_count = get_u32_attr(tb[KIPSEC_A_INFO_SA_COUNT]);
	info->policy_count = get_u32_attr(tb[KIPSEC_A_INFO_POLICY_COUNT]);
	return MNL_CB_OK;
}

int nl_info_get(struct kinfo *info, bool soft)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_new(buf, KIPSEC_CMD_INFO_GET, 0);

	memset(info, 0, sizeof(*info));
	return nl_talk(nlh, info_cb, info, soft);
}

uint8_t nl_genl_cmd(const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);

	return g->cmd;
}

/*
 * Join the "events" group (the kernel requires CAP_NET_ADMIN) and hand
 * every kipsec message to @cb until an error.
 */
int nl_monitor(mnl_cb_t cb, void *data)
{
	static char buf[NL_BUF_SIZE];
	const struct nlmsghdr *nlh;
	int n, len;

	need_family();
	if (!mcgrp_events) {
		fprintf(stderr, "Error: the kipsec module has no \"%s\" multicast group.\n",
			KIPSEC_MCGRP_EVENTS);
		exit(EXIT_KERNEL);
	}
	if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &mcgrp_events,
				  sizeof(mcgrp_events)) < 0) {
		fprintf(stderr, "Error: cannot join the kipsec \"%s\" group: %s.\n",
			KIPSEC_MCGRP_EVENTS, strerror(errno));
		exit(EXIT_KERNEL);
	}
	for (;;) {
		len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (len < 0) {
			if (errno == ENOBUFS || errno == EINTR)
				continue;	/* events lost: go on */
			fatal_errno("cannot receive events");
		}
		nlh = (const struct nlmsghdr *)buf;
		while (mnl_nlmsg_ok(nlh, len)) {
			if (nlh->nlmsg_type == family_id) {
				n = cb(nlh, data);
				if (n <= MNL_CB_STOP)
					return n;
			}
			nlh = mnl_nlmsg_next(nlh, &len);
		}
	}
}
