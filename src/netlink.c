// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: the "kipsec" generic netlink family, the control plane.
 *
 * Described in docs/netlink.md and docs/kipsec.yaml.  Operations run in
 * parallel (parallel_ops); writers serialise on kipsec_net.lock.  Every
 * operation has its own attribute policy and is strictly validated.  Every
 * command, reads included, needs CAP_NET_ADMIN in the user namespace that
 * owns the network namespace (GENL_UNS_ADMIN_PERM), as xfrm_user requires
 * for every message: SPIs, endpoints, sequence numbers and selectors are
 * not for unprivileged users.  Family resolution (nlctrl) stays open.
 *
 * resv_start_op is KIPSEC_CMD_POLICY_NEW + 1, not past the last command:
 * the core's header check would refuse NLM_F_REPLACE, which SA_NEW and
 * POLICY_NEW take (as ip xfrm state/policy update).  pre_doit performs the
 * same checks for the commands below resv_start_op, allowing
 * NLM_F_REPLACE, NLM_F_CREATE and NLM_F_EXCL on the two NEW commands only.
 */
#include <linux/in.h>
#include <linux/in6.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include "kipsec.h"

static struct genl_family kipsec_nl_family;

#define KIPSEC_AEAD_KEY_MAX	64	/* bytes, key || salt */
#define KIPSEC_ENC_KEY_MAX	64	/* bytes, key || nonce */
#define KIPSEC_AUTH_KEY_MAX	128	/* bytes: HMAC keys may be long */
#define KIPSEC_CAPS		(KIPSEC_CAP_ESP | KIPSEC_CAP_AH | \
				 KIPSEC_CAP_ESN | KIPSEC_CAP_IPV6 | \
				 KIPSEC_CAP_TUNNEL | KIPSEC_CAP_TRANSPORT | \
				 KIPSEC_CAP_NATT)

/* a required attribute: sets the missing-attribute extack and a message */
#define REQUIRE(info, attr, msg) ({					\
	struct genl_info *__ri = (info);				\
	bool __missing = GENL_REQ_ATTR_CHECK(__ri, attr);		\
									\
	if (__missing)							\
		NL_SET_ERR_MSG_MOD(__ri->extack, msg);			\
	__missing;							\
})

#define REQUIRE_NESTED(extack, nest, tb, attr, msg) ({			\
	struct netlink_ext_ack *__ea = (extack);			\
	bool __missing = NL_REQ_ATTR_CHECK(__ea, nest, tb, attr);	\
									\
	if (__missing)							\
		NL_SET_ERR_MSG_MOD(__ea, msg);				\
	__missing;							\
})

static const struct nla_policy sel_nl_policy[KIPSEC_A_SEL_MAX + 1] = {
	[KIPSEC_A_SEL_FAMILY]	= { .type = NLA_U16 },
	[KIPSEC_A_SEL_SRC]	= NLA_POLICY_RANGE(NLA_BINARY, 4, 16),
	[KIPSEC_A_SEL_DST]	= NLA_POLICY_RANGE(NLA_BINARY, 4, 16),
	[KIPSEC_A_SEL_SPLEN]	= NLA_POLICY_MAX(NLA_U8, 128),
	[KIPSEC_A_SEL_DPLEN]	= NLA_POLICY_MAX(NLA_U8, 128),
	[KIPSEC_A_SEL_PROTO]	= { .type = NLA_U8 },
	[KIPSEC_A_SEL_SPORT]	= { .type = NLA_BE16 },
	[KIPSEC_A_SEL_DPORT]	= { .type = NLA_BE16 },
};

static const struct nla_policy tmpl_nl_policy[KIPSEC_A_TMPL_MAX + 1] = {
	[KIPSEC_A_TMPL_FAMILY]	= { .type = NLA_U16 },
	[KIPSEC_A_TMPL_SRC]	= NLA_POLICY_RANGE(NLA_BINARY, 4, 16),
	[KIPSEC_A_TMPL_DST]	= NLA_POLICY_RANGE(NLA_BINARY, 4, 16),
	[KIPSEC_A_TMPL_PROTO]	= { .type = NLA_U8 },
	[KIPSEC_A_TMPL_SPI]	= { .type = NLA_BE32 },
	[KIPSEC_A_TMPL_REQID]	= { .type = NLA_U32 },
	[KIPSEC_A_TMPL_MODE]	= NLA_POLICY_MAX(NLA_U8, KIPSEC_MODE_TUNNEL),
	[KIPSEC_A_TMPL_LEVEL]	= NLA_POLICY_MAX(NLA_U8, KIPSEC_LEVEL_USE),
};

#define READ_ONLY { .type = NLA_REJECT, \
		    .reject_message = "kipsec: attribute is only sent by the kernel" }

static const struct nla_policy lft_nl_policy[KIPSEC_A_LFT_MAX + 1] = {
	[KIPSEC_A_LFT_PAD]		= READ_ONLY,
	[KIPSEC_A_LFT_SOFT_BYTES]	= { .type = NLA_U64 },
	[KIPSEC_A_LFT_HARD_BYTES]	= { .type = NLA_U64 },
	[KIPSEC_A_LFT_SOFT_PACKETS]	= { .type = NLA_U64 },
	[KIPSEC_A_LFT_HARD_PACKETS]	= { .type = NLA_U64 },
	[KIPSEC_A_LFT_SOFT_ADD]		= { .type = NLA_U64 },
	[KIPSEC_A_LFT_HARD_ADD]		= { .type = NLA_U64 },
	[KIPSEC_A_LFT_SOFT_USE]		= { .type = NLA_U64 },
	[KIPSEC_A_LFT_HARD_USE]		= { .type = NLA_U64 },
};

static const struct nla_policy encap_nl_policy[KIPSEC_A_ENCAP_MAX + 1] = {
	[KIPSEC_A_ENCAP_TYPE]	= { .type = NLA_U16 },
	[KIPSEC_A_ENCAP_SPORT]	= { .type = NLA_BE16 },
	[KIPSEC_A_ENCAP_DPORT]	= { .type = NLA_BE16 },
	[KIPSEC_A_ENCAP_OADDR]	= NLA_POLICY_RANGE(NLA_BINARY, 4, 16),
};

/* SA_NEW, SA_DEL, SA_GET, SA_FLUSH */
static const struct nla_policy sa_nl_policy[KIPSEC_A_MAX + 1] = {
	[KIPSEC_A_SA_FAMILY]	= { .type = NLA_U16 },
	[KIPSEC_A_SA_SRC]	= NLA_POLICY_RANGE(NLA_BINARY, 4, 16),
	[KIPSEC_A_SA_DST]	= NLA_POLICY_RANGE(NLA_BINARY, 4, 16),
	[KIPSEC_A_SA_PROTO]	= { .type = NLA_U8 },
	[KIPSEC_A_SA_SPI]	= { .type = NLA_BE32 },
	[KIPSEC_A_SA_REQID]	= { .type = NLA_U32 },
	[KIPSEC_A_SA_MODE]	= NLA_POLICY_MAX(NLA_U8, KIPSEC_MODE_TUNNEL),
	[KIPSEC_A_SA_FLAGS]	= { .type = NLA_U32 },
	[KIPSEC_A_SA_REPLAY_WINDOW] = { .type = NLA_U32 },
	[KIPSEC_A_SA_SEQ]	= { .type = NLA_U64 },
	[KIPSEC_A_SA_OSEQ]	= { .type = NLA_U64 },
	[KIPSEC_A_SA_AEAD_NAME]	= { .type = NLA_STRING, .len = 63 },
	[KIPSEC_A_SA_AEAD_KEY]	= { .type = NLA_BINARY,
				    .len = KIPSEC_AEAD_KEY_MAX },
	[KIPSEC_A_SA_AEAD_ICV]	= { .type = NLA_U32 },
	[KIPSEC_A_SA_SEL]	= NLA_POLICY_NESTED(sel_nl_policy),
	[KIPSEC_A_SA_STATS]	= READ_ONLY,
	[KIPSEC_A_SA_ENC_NAME]	= { .type = NLA_STRING, .len = 63 },
	[KIPSEC_A_SA_ENC_KEY]	= { .type = NLA_BINARY,
				    .len = KIPSEC_ENC_KEY_MAX },
	[KIPSEC_A_SA_AUTH_NAME]	= { .type = NLA_STRING, .len = 63 },
	[KIPSEC_A_SA_AUTH_KEY]	= { .type = NLA_BINARY,
				    .len = KIPSEC_AUTH_KEY_MAX },
	[KIPSEC_A_SA_AUTH_TRUNC] = { .type = NLA_U32 },
	[KIPSEC_A_SA_KEY_BITS]	= READ_ONLY,
	[KIPSEC_A_SA_ENC_KEY_BITS] = READ_ONLY,
	[KIPSEC_A_SA_AUTH_KEY_BITS] = READ_ONLY,
	[KIPSEC_A_SA_LIFETIME]	= NLA_POLICY_NESTED(lft_nl_policy),
	[KIPSEC_A_SA_CURLFT]	= READ_ONLY,
	[KIPSEC_A_EV_HARD]	= READ_ONLY,
	[KIPSEC_A_EV_PROTO]	= READ_ONLY,
	[KIPSEC_A_SA_STATE]	= READ_ONLY,
	[KIPSEC_A_SA_ACQ_SEQ]	= { .type = NLA_U32 },
	[KIPSEC_A_SPI_MIN]	= { .type = NLA_U32 },
	[KIPSEC_A_SPI_MAX]	= { .type = NLA_U32 },
	[KIPSEC_A_SA_ENCAP]	= NLA_POLICY_NESTED(encap_nl_policy),
	[KIPSEC_A_EV_NEW_ADDR]	= READ_ONLY,
	[KIPSEC_A_EV_NEW_SPORT]	= READ_ONLY,
	[KIPSEC_A_SA_TFCPAD]	= { .type = NLA_U32 },
	[KIPSEC_A_SA_EXTRA_FLAGS] = NLA_POLICY_MASK(NLA_U32,
						    KIPSEC_SA_XFLAGS_ALL),
};

/* POLICY_NEW, POLICY_DEL, POLICY_GET, POLICY_FLUSH */
static const struct nla_policy pol_nl_policy[KIPSEC_A_MAX + 1] = {
	[KIPSEC_A_POL_SEL]	= NLA_POLICY_NESTED(sel_nl_policy),
	[KIPSEC_A_POL_DIR]	= NLA_POLICY_MAX(NLA_U8, KIPSEC_DIR_MAX),
	[KIPSEC_A_POL_PRIORITY]	= { .type = NLA_U32 },
	[KIPSEC_A_POL_ACTION]	= NLA_POLICY_MAX(NLA_U8, KIPSEC_ACTION_BLOCK),
	[KIPSEC_A_POL_INDEX]	= { .type = NLA_U32 },
	[KIPSEC_A_POL_TMPL]	= NLA_POLICY_NESTED(tmpl_nl_policy),
	[KIPSEC_A_POL_STATS]	= READ_ONLY,
	[KIPSEC_A_EV_HARD]	= READ_ONLY,
	[KIPSEC_A_POL_LIFETIME]	= NLA_POLICY_NESTED(lft_nl_policy),
	[KIPSEC_A_POL_CURLFT]	= READ_ONLY,
	[KIPSEC_A_POL_PTYPE]	= { .type = NLA_U8 },
	[KIPSEC_A_POL_FLAGS]	= NLA_POLICY_MASK(NLA_U32, KIPSEC_POL_F_ICMP),
};

/* INFO_GET, STATS_GET: no attribute */
static const struct nla_policy none_nl_policy[KIPSEC_A_PAD + 1] = {
	[KIPSEC_A_PAD]		= READ_ONLY,
};

static int addr_len(u16 family)
{
	return family == AF_INET ? 4 : 16;
}

static int check_family(struct nlattr *attr, u16 *family,
			struct netlink_ext_ack *extack)
{
	*family = nla_get_u16(attr);
	if (*family != AF_INET && *family != AF_INET6) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "kipsec: family must be AF_INET or AF_INET6");
		return -EAFNOSUPPORT;
	}
	return 0;
}

/* an address attribute, exactly as long as @family says */
static int get_addr(struct nlattr *attr, u16 family, xfrm_address_t *a,
		    struct netlink_ext_ack *extack)
{
	memset(a, 0, sizeof(*a));
	if (nla_len(attr) != addr_len(family)) {
		if (family == AF_INET)
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "kipsec: address length does not match the family: AF_INET needs 4 bytes");
		else
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "kipsec: address length does not match the family: AF_INET6 needs 16 bytes");
		return -EINVAL;
	}
	memcpy(a, nla_data(attr), addr_len(family));
	return 0;
}

static int put_addr(struct sk_buff *skb, int type, u16 family,
		    const xfrm_address_t *a)
{
	return nla_put(skb, type, addr_len(family), a);
}

/*
 * A selector.  FAMILY is required; SRC and DST default to any, their
 * prefix lengths to the full length when the address is given, else 0.
 * A port comes with an all-ones mask; ports need a protocol.
 */
static int parse_sel(struct nlattr *nest, struct xfrm_selector *sel,
		     struct netlink_ext_ack *extack)
{
	struct nlattr *tb[KIPSEC_A_SEL_MAX + 1];
	u16 family;
	u8 plen;
	int err;

	memset(sel, 0, sizeof(*sel));
	err = nla_parse_nested(tb, KIPSEC_A_SEL_MAX, nest, sel_nl_policy,
			       extack);
	if (err)
		return err;
	if (REQUIRE_NESTED(extack, nest, tb, KIPSEC_A_SEL_FAMILY,
			   "selector needs a family"))
		return -EINVAL;
	err = check_family(tb[KIPSEC_A_SEL_FAMILY], &family, extack);
	if (err)
		return err;
	sel->family = family;

	if (tb[KIPSEC_A_SEL_SRC]) {
		err = get_addr(tb[KIPSEC_A_SEL_SRC], family, &sel->saddr,
			       extack);
		if (err)
			return err;
		sel->prefixlen_s = addr_len(family) * 8;
	}
	if (tb[KIPSEC_A_SEL_DST]) {
		err = get_addr(tb[KIPSEC_A_SEL_DST], family, &sel->daddr,
			       extack);
		if (err)
			return err;
		sel->prefixlen_d = addr_len(family) * 8;
	}
	if (tb[KIPSEC_A_SEL_SPLEN]) {
		plen = nla_get_u8(tb[KIPSEC_A_SEL_SPLEN]);
		if (plen > addr_len(family) * 8) {
			NL_SET_ERR_MSG_ATTR(extack, tb[KIPSEC_A_SEL_SPLEN],
					    "kipsec: source prefix length too long for the family");
			return -EINVAL;
		}
		sel->prefixlen_s = plen;
	}
	if (tb[KIPSEC_A_SEL_DPLEN]) {
		plen = nla_get_u8(tb[KIPSEC_A_SEL_DPLEN]);
		if (plen > addr_len(family) * 8) {
			NL_SET_ERR_MSG_ATTR(extack, tb[KIPSEC_A_SEL_DPLEN],
					    "kipsec: destination prefix length too long for the family");
			return -EINVAL;
		}
		sel->prefixlen_d = plen;
	}
	if (tb[KIPSEC_A_SEL_PROTO])
		sel->proto = nla_get_u8(tb[KIPSEC_A_SEL_PROTO]);
	if ((tb[KIPSEC_A_SEL_SPORT] || tb[KIPSEC_A_SEL_DPORT]) &&
	    !sel->proto) {
		NL_SET_ERR_MSG_MOD(extack,
				   "selector ports (or ICMP type/code) need a protocol");
		return -EINVAL;
	}
	if (tb[KIPSEC_A_SEL_SPORT]) {
		sel->sport = nla_get_be16(tb[KIPSEC_A_SEL_SPORT]);
		sel->sport_mask = htons(0xffff);
	}
	if (tb[KIPSEC_A_SEL_DPORT]) {
		sel->dport = nla_get_be16(tb[KIPSEC_A_SEL_DPORT]);
		sel->dport_mask = htons(0xffff);
	}
	return 0;
}

static int put_sel(struct sk_buff *skb, int type,
		   const struct xfrm_selector *sel)
{
	struct nlattr *nest = nla_nest_start(skb, type);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u16(skb, KIPSEC_A_SEL_FAMILY, sel->family) ||
	    put_addr(skb, KIPSEC_A_SEL_SRC, sel->family, &sel->saddr) ||
	    put_addr(skb, KIPSEC_A_SEL_DST, sel->family, &sel->daddr) ||
	    nla_put_u8(skb, KIPSEC_A_SEL_SPLEN, sel->prefixlen_s) ||
	    nla_put_u8(skb, KIPSEC_A_SEL_DPLEN, sel->prefixlen_d) ||
	    nla_put_u8(skb, KIPSEC_A_SEL_PROTO, sel->proto) ||
	    (sel->sport_mask &&
	     nla_put_be16(skb, KIPSEC_A_SEL_SPORT, sel->sport)) ||
	    (sel->dport_mask &&
	     nla_put_be16(skb, KIPSEC_A_SEL_DPORT, sel->dport))) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int put_stats(struct sk_buff *skb, int type,
		     struct kipsec_stats __percpu *stats)
{
	u64 v[__KIPSEC_STAT_MAX];
	struct nlattr *nest;
	int i;

	kipsec_stats_sum(stats, v);
	nest = nla_nest_start(skb, type);
	if (!nest)
		return -EMSGSIZE;
	for (i = KIPSEC_STAT_UNSPEC + 1; i <= KIPSEC_STAT_MAX; i++) {
		if (nla_put_u64_64bit(skb, i, v[i], KIPSEC_STAT_UNSPEC)) {
			nla_nest_cancel(skb, nest);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(skb, nest);
	return 0;
}

/*
 * The core checks the generic netlink header only for commands from
 * resv_start_op on; do the same for the others, with the NEW commands
 * also taking the create/replace flags.
 */
static int kipsec_pre_doit(const struct genl_ops *ops, struct sk_buff *skb,
			   struct genl_info *info)
{
	u16 allowed = NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO;

	if (ops->cmd >= kipsec_nl_family.resv_start_op)
		return 0;
	if (info->genlhdr->reserved) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "genlmsghdr.reserved field is not 0");
		return -EINVAL;
	}
	if (ops->cmd == KIPSEC_CMD_SA_NEW || ops->cmd == KIPSEC_CMD_POLICY_NEW)
		allowed |= NLM_F_REPLACE | NLM_F_CREATE | NLM_F_EXCL;
	if (info->nlhdr->nlmsg_flags & ~allowed) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "ambiguous or reserved bits set in nlmsg_flags");
		return -EINVAL;
	}
	return 0;
}

/* INFO_GET */

static int kipsec_nl_info_get(struct sk_buff *skb, struct genl_info *info)
{
	struct kipsec_net *kn = kipsec_pernet(genl_info_net(info));
	struct sk_buff *msg;
	u32 sa_count, pol_count;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &kipsec_nl_family, 0,
				KIPSEC_CMD_INFO_GET);
	if (!hdr)
		goto err;
	mutex_lock(&kn->lock);
	sa_count = kn->sa_count;
	pol_count = kn->policy_count;
	mutex_unlock(&kn->lock);
	if (nla_put_string(msg, KIPSEC_A_INFO_VERSION, KIPSEC_VERSION) ||
	    nla_put_u32(msg, KIPSEC_A_INFO_CAPS, KIPSEC_CAPS) ||
	    nla_put_u32(msg, KIPSEC_A_INFO_REPLAY_MAX,
			KIPSEC_REPLAY_WINDOW_MAX) ||
	    nla_put_u32(msg, KIPSEC_A_INFO_SA_COUNT, sa_count) ||
	    nla_put_u32(msg, KIPSEC_A_INFO_POLICY_COUNT, pol_count))
		goto err;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

err:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

/* STATS_GET */

static int kipsec_nl_stats_get(struct sk_buff *skb, struct genl_info *info)
{
	struct kipsec_net *kn = kipsec_pernet(genl_info_net(info));
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &kipsec_nl_family, 0,
				KIPSEC_CMD_STATS_GET);
	if (!hdr || put_stats(msg, KIPSEC_A_STATS, kn->stats)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/* SAs */

/* the SA identity of SA_DEL/SA_GET: FAMILY, DST, PROTO, SPI [, SRC] */
static int parse_sa_id(struct genl_info *info, struct kipsec_sa_key *key,
		       xfrm_address_t *saddr, bool *has_saddr)
{
	struct nlattr **tb = info->attrs;
	xfrm_address_t daddr;
	u16 family;
	int err;

	if (REQUIRE(info, KIPSEC_A_SA_FAMILY, "missing SA family") ||
	    REQUIRE(info, KIPSEC_A_SA_DST, "missing SA destination") ||
	    REQUIRE(info, KIPSEC_A_SA_PROTO, "missing SA protocol") ||
	    REQUIRE(info, KIPSEC_A_SA_SPI, "missing SA SPI"))
		return -EINVAL;
	err = check_family(tb[KIPSEC_A_SA_FAMILY], &family, info->extack);
	if (err)
		return err;
	err = get_addr(tb[KIPSEC_A_SA_DST], family, &daddr, info->extack);
	if (err)
		return err;
	*has_saddr = !!tb[KIPSEC_A_SA_SRC];
	if (*has_saddr) {
		err = get_addr(tb[KIPSEC_A_SA_SRC], family, saddr,
			       info->extack);
		if (err)
			return err;
	}
	kipsec_sa_key_init(key, family, &daddr,
			   nla_get_be32(tb[KIPSEC_A_SA_SPI]),
			   nla_get_u8(tb[KIPSEC_A_SA_PROTO]));
	return 0;
}

static int put_lifetime(struct sk_buff *skb, struct kipsec_sa *sa);

/* KIPSEC_A_SA_ENCAP of an SA with UDP encapsulation */
static int put_encap(struct sk_buff *skb, const struct kipsec_sa *sa)
{
	const struct kipsec_sa_encap *e = &sa->encap;
	struct nlattr *nest;

	if (!e->type)
		return 0;
	nest = nla_nest_start(skb, KIPSEC_A_SA_ENCAP);
	if (!nest ||
	    nla_put_u16(skb, KIPSEC_A_ENCAP_TYPE, e->type) ||
	    nla_put_be16(skb, KIPSEC_A_ENCAP_SPORT, e->sport) ||
	    nla_put_be16(skb, KIPSEC_A_ENCAP_DPORT, e->dport) ||
	    put_addr(skb, KIPSEC_A_ENCAP_OADDR, sa->key.family, &e->oaddr))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int sa_fill_cmd(struct sk_buff *skb, struct kipsec_sa *sa, u32 portid,
		       u32 seq, int flags, u8 cmd)
{
	u16 family = sa->key.family;
	u64 top, oseq;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &kipsec_nl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	spin_lock_bh(&sa->lock);
	top = sa->replay.top;
	oseq = sa->oseq;
	spin_unlock_bh(&sa->lock);
	/* never a key: only the names, key lengths and ICV lengths */
	if (nla_put_u16(skb, KIPSEC_A_SA_FAMILY, family) ||
	    put_addr(skb, KIPSEC_A_SA_SRC, family, &sa->saddr) ||
	    put_addr(skb, KIPSEC_A_SA_DST, family, &sa->key.daddr) ||
	    nla_put_u8(skb, KIPSEC_A_SA_PROTO, sa->key.proto) ||
	    nla_put_be32(skb, KIPSEC_A_SA_SPI, sa->key.spi) ||
	    nla_put_u32(skb, KIPSEC_A_SA_REQID, sa->reqid) ||
	    nla_put_u8(skb, KIPSEC_A_SA_MODE, sa->mode) ||
	    nla_put_u32(skb, KIPSEC_A_SA_FLAGS, sa->flags) ||
	    nla_put_u32(skb, KIPSEC_A_SA_REPLAY_WINDOW, sa->replay.size) ||
	    nla_put_u64_64bit(skb, KIPSEC_A_SA_SEQ, top, KIPSEC_A_PAD) ||
	    nla_put_u64_64bit(skb, KIPSEC_A_SA_OSEQ, oseq, KIPSEC_A_PAD) ||
	    (sa->alg_name[0] &&
	     (nla_put_string(skb, KIPSEC_A_SA_AEAD_NAME, sa->alg_name) ||
	      nla_put_u32(skb, KIPSEC_A_SA_AEAD_ICV, sa->icv_len * 8) ||
	      nla_put_u32(skb, KIPSEC_A_SA_KEY_BITS, sa->key_bits))) ||
	    (sa->enc_name[0] &&
	     (nla_put_string(skb, KIPSEC_A_SA_ENC_NAME, sa->enc_name) ||
	      nla_put_u32(skb, KIPSEC_A_SA_ENC_KEY_BITS,
			  sa->enc_key_bits))) ||
	    (sa->auth_name[0] &&
	     (nla_put_string(skb, KIPSEC_A_SA_AUTH_NAME, sa->auth_name) ||
	      nla_put_u32(skb, KIPSEC_A_SA_AUTH_TRUNC, sa->icv_len * 8) ||
	      nla_put_u32(skb, KIPSEC_A_SA_AUTH_KEY_BITS,
			  sa->auth_key_bits))) ||
	    (sa->sel.family && put_sel(skb, KIPSEC_A_SA_SEL, &sa->sel)) ||
	    put_stats(skb, KIPSEC_A_SA_STATS, sa->stats) ||
	    put_lifetime(skb, sa) ||
	    put_encap(skb, sa) ||
	    (sa->tfcpad &&
	     nla_put_u32(skb, KIPSEC_A_SA_TFCPAD, sa->tfcpad)) ||
	    nla_put_u8(skb, KIPSEC_A_SA_STATE, kipsec_sa_state(sa)) ||
	    (sa->acq_seq &&
	     nla_put_u32(skb, KIPSEC_A_SA_ACQ_SEQ, sa->acq_seq)) ||
	    (sa->xflags &&
	     nla_put_u32(skb, KIPSEC_A_SA_EXTRA_FLAGS, sa->xflags))) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int sa_fill(struct sk_buff *skb, struct kipsec_sa *sa, u32 portid,
		   u32 seq, int flags)
{
	return sa_fill_cmd(skb, sa, portid, seq, flags, KIPSEC_CMD_SA_GET);
}

static int sa_check_new(struct genl_info *info)
{
	struct nlattr **tb = info->attrs;
	u8 proto;

	if (REQUIRE(info, KIPSEC_A_SA_FAMILY, "missing SA family") ||
	    REQUIRE(info, KIPSEC_A_SA_SRC, "missing SA source") ||
	    REQUIRE(info, KIPSEC_A_SA_DST, "missing SA destination") ||
	    REQUIRE(info, KIPSEC_A_SA_PROTO, "missing SA protocol") ||
	    REQUIRE(info, KIPSEC_A_SA_SPI, "missing SA SPI") ||
	    REQUIRE(info, KIPSEC_A_SA_MODE, "missing SA mode"))
		return -EINVAL;
	proto = nla_get_u8(tb[KIPSEC_A_SA_PROTO]);
	if (proto != IPPROTO_ESP && proto != IPPROTO_AH) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[KIPSEC_A_SA_PROTO],
				    "kipsec: SA protocol must be ESP (50) or AH (51)");
		return -EPROTONOSUPPORT;
	}
	if (!nla_get_be32(tb[KIPSEC_A_SA_SPI])) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[KIPSEC_A_SA_SPI],
				    "kipsec: SPI must not be 0");
		return -EINVAL;
	}
	if (tb[KIPSEC_A_SA_AEAD_NAME] &&
	    (REQUIRE(info, KIPSEC_A_SA_AEAD_KEY, "AEAD needs a key") ||
	     REQUIRE(info, KIPSEC_A_SA_AEAD_ICV,
		     "AEAD needs an ICV length")))
		return -EINVAL;
	if (!tb[KIPSEC_A_SA_AEAD_NAME] &&
	    (tb[KIPSEC_A_SA_AEAD_KEY] || tb[KIPSEC_A_SA_AEAD_ICV])) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "AEAD key or ICV length without an AEAD name");
		return -EINVAL;
	}
	if (!tb[KIPSEC_A_SA_ENC_NAME] && tb[KIPSEC_A_SA_ENC_KEY]) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "cipher key without a cipher name");
		return -EINVAL;
	}
	if (!tb[KIPSEC_A_SA_AUTH_NAME] &&
	    (tb[KIPSEC_A_SA_AUTH_KEY] || tb[KIPSEC_A_SA_AUTH_TRUNC])) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "integrity key or truncation without an integrity algorithm name");
		return -EINVAL;
	}
	if (tb[KIPSEC_A_SA_REPLAY_WINDOW] &&
	    nla_get_u32(tb[KIPSEC_A_SA_REPLAY_WINDOW]) >
	    KIPSEC_REPLAY_WINDOW_MAX) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[KIPSEC_A_SA_REPLAY_WINDOW],
				    "kipsec: replay window larger than KIPSEC_REPLAY_WINDOW_MAX (65536)");
		return -EINVAL;
	}
	if (tb[KIPSEC_A_SA_FLAGS] &&
	    nla_get_u32(tb[KIPSEC_A_SA_FLAGS]) & ~KIPSEC_SA_FLAGS_ALL) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[KIPSEC_A_SA_FLAGS],
				    "kipsec: unknown SA flags");
		return -EINVAL;
	}
	return 0;
}

static void wipe_attr(struct nlattr *attr)
{
	if (attr)
		memzero_explicit(nla_data(attr), nla_len(attr));
}

static u64 u64_or_0(const struct nlattr *attr)
{
	return attr ? nla_get_u64(attr) : 0;
}

/* KIPSEC_A_SA_LIFETIME, when present: the limits; 0 is no limit */
static int parse_lifetime(struct nlattr *nest, struct kipsec_lft_cfg *c,
			  struct netlink_ext_ack *extack)
{
	struct nlattr *tb[KIPSEC_A_LFT_MAX + 1];
	int err;

	if (!nest)
		return 0;
	err = nla_parse_nested(tb, KIPSEC_A_LFT_MAX, nest, lft_nl_policy,
			       extack);
	if (err)
		return err;
	c->soft_bytes = u64_or_0(tb[KIPSEC_A_LFT_SOFT_BYTES]);
	c->hard_bytes = u64_or_0(tb[KIPSEC_A_LFT_HARD_BYTES]);
	c->soft_packets = u64_or_0(tb[KIPSEC_A_LFT_SOFT_PACKETS]);
	c->hard_packets = u64_or_0(tb[KIPSEC_A_LFT_HARD_PACKETS]);
	c->soft_add = u64_or_0(tb[KIPSEC_A_LFT_SOFT_ADD]);
	c->hard_add = u64_or_0(tb[KIPSEC_A_LFT_HARD_ADD]);
	c->soft_use = u64_or_0(tb[KIPSEC_A_LFT_SOFT_USE]);
	c->hard_use = u64_or_0(tb[KIPSEC_A_LFT_HARD_USE]);
	return 0;
}

/* the algorithms of SA_NEW; @names holds the three names */
static void sa_parse_algs(struct nlattr **tb, struct kipsec_alg_params *p,
			  char names[3][64])
{
	if (tb[KIPSEC_A_SA_AEAD_NAME]) {
		nla_strscpy(names[0], tb[KIPSEC_A_SA_AEAD_NAME], 64);
		p->aead_name = names[0];
		p->aead_key = nla_data(tb[KIPSEC_A_SA_AEAD_KEY]);
		p->aead_keylen = nla_len(tb[KIPSEC_A_SA_AEAD_KEY]);
		p->aead_icv_bits = nla_get_u32(tb[KIPSEC_A_SA_AEAD_ICV]);
	}
	if (tb[KIPSEC_A_SA_ENC_NAME]) {
		nla_strscpy(names[1], tb[KIPSEC_A_SA_ENC_NAME], 64);
		p->enc_name = names[1];
		if (tb[KIPSEC_A_SA_ENC_KEY]) {
			p->enc_key = nla_data(tb[KIPSEC_A_SA_ENC_KEY]);
			p->enc_keylen = nla_len(tb[KIPSEC_A_SA_ENC_KEY]);
		}
	}
	if (tb[KIPSEC_A_SA_AUTH_NAME]) {
		nla_strscpy(names[2], tb[KIPSEC_A_SA_AUTH_NAME], 64);
		p->auth_name = names[2];
		if (tb[KIPSEC_A_SA_AUTH_KEY]) {
			p->auth_key = nla_data(tb[KIPSEC_A_SA_AUTH_KEY]);
			p->auth_keylen = nla_len(tb[KIPSEC_A_SA_AUTH_KEY]);
		}
		if (tb[KIPSEC_A_SA_AUTH_TRUNC])
			p->auth_trunc_bits =
				nla_get_u32(tb[KIPSEC_A_SA_AUTH_TRUNC]);
	}
}

/* KIPSEC_A_SA_ENCAP, when present: the UDP encapsulation (NAT-T) */
static int parse_encap(struct nlattr *nest, u16 family,
		       struct kipsec_sa_encap *e, struct netlink_ext_ack *extack)
{
	struct nlattr *tb[KIPSEC_A_ENCAP_MAX + 1];
	int err;

	if (!nest)
		return 0;
	err = nla_parse_nested(tb, KIPSEC_A_ENCAP_MAX, nest, encap_nl_policy,
			       extack);
	if (err)
		return err;
	if (REQUIRE_NESTED(extack, nest, tb, KIPSEC_A_ENCAP_TYPE,
			   "encapsulation needs a type") ||
	    REQUIRE_NESTED(extack, nest, tb, KIPSEC_A_ENCAP_SPORT,
			   "encapsulation needs a source port") ||
	    REQUIRE_NESTED(extack, nest, tb, KIPSEC_A_ENCAP_DPORT,
			   "encapsulation needs a destination port"))
		return -EINVAL;
	e->type = nla_get_u16(tb[KIPSEC_A_ENCAP_TYPE]);
	if (!e->type) {
		NL_SET_ERR_MSG_ATTR(extack, tb[KIPSEC_A_ENCAP_TYPE],
				    "kipsec: encapsulation type 0 is none: leave KIPSEC_A_SA_ENCAP out");
		return -EINVAL;
	}
	e->sport = nla_get_be16(tb[KIPSEC_A_ENCAP_SPORT]);
	e->dport = nla_get_be16(tb[KIPSEC_A_ENCAP_DPORT]);
	if (tb[KIPSEC_A_ENCAP_OADDR])
		return get_addr(tb[KIPSEC_A_ENCAP_OADDR], family, &e->oaddr,
				extack);
	return 0;
}

/* SA_NEW's attributes as a struct kipsec_sa_cfg, keys excepted */
static int sa_parse_cfg(struct genl_info *info, struct kipsec_sa_cfg *c)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr **tb = info->attrs;
	int err;

	err = check_family(tb[KIPSEC_A_SA_FAMILY], &c->family, extack);
	if (!err)
		err = get_addr(tb[KIPSEC_A_SA_DST], c->family, &c->daddr,
			       extack);
	if (!err)
		err = get_addr(tb[KIPSEC_A_SA_SRC], c->family, &c->saddr,
			       extack);
	if (err)
		return err;
	c->spi = nla_get_be32(tb[KIPSEC_A_SA_SPI]);
	c->proto = nla_get_u8(tb[KIPSEC_A_SA_PROTO]);
	c->mode = nla_get_u8(tb[KIPSEC_A_SA_MODE]);
	if (tb[KIPSEC_A_SA_REQID])
		c->reqid = nla_get_u32(tb[KIPSEC_A_SA_REQID]);
	if (tb[KIPSEC_A_SA_FLAGS])
		c->flags = nla_get_u32(tb[KIPSEC_A_SA_FLAGS]);
	if (tb[KIPSEC_A_SA_EXTRA_FLAGS])
		c->xflags = nla_get_u32(tb[KIPSEC_A_SA_EXTRA_FLAGS]);
	if (tb[KIPSEC_A_SA_REPLAY_WINDOW])
		c->window = nla_get_u32(tb[KIPSEC_A_SA_REPLAY_WINDOW]);
	if (tb[KIPSEC_A_SA_SEQ]) {
		c->seq = nla_get_u64(tb[KIPSEC_A_SA_SEQ]);
		c->set |= KIPSEC_SA_SET_SEQ;
	}
	if (tb[KIPSEC_A_SA_OSEQ]) {
		c->oseq = nla_get_u64(tb[KIPSEC_A_SA_OSEQ]);
		c->set |= KIPSEC_SA_SET_OSEQ;
	}
	if (tb[KIPSEC_A_SA_ACQ_SEQ])
		c->acq_seq = nla_get_u32(tb[KIPSEC_A_SA_ACQ_SEQ]);
	if (tb[KIPSEC_A_SA_TFCPAD])
		c->tfcpad = nla_get_u32(tb[KIPSEC_A_SA_TFCPAD]);
	if (tb[KIPSEC_A_SA_SEL]) {
		err = parse_sel(tb[KIPSEC_A_SA_SEL], &c->sel, extack);
		if (err)
			return err;
	}
	err = parse_encap(tb[KIPSEC_A_SA_ENCAP], c->family, &c->encap, extack);
	if (err)
		return err;
	return parse_lifetime(tb[KIPSEC_A_SA_LIFETIME], &c->lft, extack);
}

/* fill a new SA from SA_NEW, everything but the tables */
static int sa_build(struct genl_info *info, struct kipsec_sa *sa,
		    unsigned int *set)
{
	struct nlattr **tb = info->attrs;
	struct kipsec_sa_cfg c = {};
	char names[3][64];
	int err;

	err = sa_parse_cfg(info, &c);
	if (!err) {
		sa_parse_algs(tb, &c.alg, names);
		err = kipsec_sa_setup(sa, &c, NULL, info->extack);
		*set = c.set;
	}
	/* the transform has its own copy: wipe the ones in the request */
	wipe_attr(tb[KIPSEC_A_SA_AEAD_KEY]);
	wipe_attr(tb[KIPSEC_A_SA_ENC_KEY]);
	wipe_attr(tb[KIPSEC_A_SA_AUTH_KEY]);
	return err;
}

static int kipsec_nl_sa_new(struct sk_buff *skb, struct genl_info *info)
{
	struct kipsec_net *kn = kipsec_pernet(genl_info_net(info));
	bool update = info->nlhdr->nlmsg_flags & NLM_F_REPLACE;
	unsigned int set = 0;
	struct kipsec_sa *sa;
	int err;

	err = sa_check_new(info);
	if (err)
		return err;
	sa = kipsec_sa_alloc();
	if (!sa)
		return -ENOMEM;
	err = sa_build(info, sa, &set);
	if (err)
		goto out_put;
	err = kipsec_sa_add(kn, sa, update, set, info->extack);
	if (!err)
		return 0;
out_put:
	kipsec_sa_put(sa);
	return err;
}

/* SA_DEL, SA_GET: the SA, under kn->lock */
static struct kipsec_sa *sa_find(struct kipsec_net *kn, struct genl_info *info,
				 int *errp)
{
	struct kipsec_sa_key key;
	xfrm_address_t saddr;
	struct kipsec_sa *sa;
	bool has_saddr;

	*errp = parse_sa_id(info, &key, &saddr, &has_saddr);
	if (*errp)
		return NULL;
	sa = kipsec_sa_find_locked(kn, &key);
	if (sa && has_saddr &&
	    memcmp(&sa->saddr, &saddr, addr_len(key.family)))
		sa = NULL;
	if (!sa) {
		NL_SET_ERR_MSG_MOD(info->extack, "no such SA");
		*errp = -ESRCH;
	}
	return sa;
}

static int kipsec_nl_sa_del(struct sk_buff *skb, struct genl_info *info)
{
	struct kipsec_net *kn = kipsec_pernet(genl_info_net(info));
	struct kipsec_sa *sa;
	int err;

	mutex_lock(&kn->lock);
	sa = sa_find(kn, info, &err);
	if (sa)
		kipsec_sa_unlink(kn, sa);
	mutex_unlock(&kn->lock);
	return err;
}

/* answer a request with @sa as @cmd, and drop the caller's reference */
static int sa_reply(struct genl_info *info, struct kipsec_sa *sa, u8 cmd)
{
	struct sk_buff *msg;
	int err = -ENOMEM;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		goto out;
	err = sa_fill_cmd(msg, sa, info->snd_portid, info->snd_seq, 0, cmd);
	if (err) {
		nlmsg_free(msg);
		goto out;
	}
	err = genlmsg_reply(msg, info);
out:
	kipsec_sa_put(sa);
	return err;
}

static int kipsec_nl_sa_get(struct sk_buff *skb, struct genl_info *info)
{
	struct kipsec_net *kn = kipsec_pernet(genl_info_net(info));
	struct kipsec_sa *sa;
	int err;

	mutex_lock(&kn->lock);
	sa = sa_find(kn, info, &err);
	if (sa)
		kipsec_sa_hold(sa);
	mutex_unlock(&kn->lock);
	if (!sa)
		return err;
	return sa_reply(info, sa, KIPSEC_CMD_SA_GET);
}

static int acq_fill_cmd(struct sk_buff *skb, const struct kipsec_acq *acq,
			u32 portid, u32 seq, int flags, u8 cmd);

struct acq_dump_arg {
	struct sk_buff *skb;
	struct netlink_callback *cb;
};

static int acq_dump_one(const struct kipsec_acq *acq, void *arg)
{
	struct acq_dump_arg *d = arg;

	return acq_fill_cmd(d->skb, acq, NETLINK_CB(d->cb->skb).portid,
			    d->cb->nlh->nlmsg_seq, NLM_F_MULTI,
			    KIPSEC_CMD_SA_GET);
}

/* the acquires in progress, after the SAs: larval SAs without SPI */
static int sa_dump_acq(struct sk_buff *skb, struct netlink_callback *cb,
		       struct kipsec_net *kn)
{
	struct acq_dump_arg d = { .skb = skb, .cb = cb };

	kipsec_acq_walk(kn, &cb->args[3], acq_dump_one, &d);
	return skb->len;
}

/*
 * SA dump cursor: cb->args[0] counts the SAs dumped, cb->args[1] holds a
 * reference to the last one.  A dump resumes after that SA when it is
 * still in the SAD (O(1)), else by counting (an SA may then be missed or
 * repeated, as with any netlink dump that races with changes).  Then
 * cb->args[2] is set and cb->args[3] counts the acquires dumped.
 */
static int kipsec_nl_sa_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct kipsec_net *kn = kipsec_pernet(sock_net(skb->sk));
	struct kipsec_sa *last = (struct kipsec_sa *)cb->args[1];
	struct kipsec_sa *sa, *new_last = NULL;
	long idx = 0, skip = cb->args[0];
	int err = 0;

	if (cb->args[2])	/* the SAs are done: the acquires */
		return sa_dump_acq(skb, cb, kn);
	mutex_lock(&kn->lock);
	if (last && !READ_ONCE(last->dead)) {
		sa = list_next_entry(last, list);
		idx = skip;
	} else {
		sa = list_first_entry(&kn->sa_list, struct kipsec_sa, list);
	}
	list_for_each_entry_from(sa, &kn->sa_list, list) {
		if (idx < skip) {
			idx++;
			continue;
		}
		err = sa_fill(skb, sa, NETLINK_CB(cb->skb).portid,
			      cb->nlh->nlmsg_seq, NLM_F_MULTI);
		if (err)
			break;
		idx++;
		new_last = sa;
	}
	if (new_last) {
		kipsec_sa_hold(new_last);
		kipsec_sa_put(last);
		cb->args[1] = (long)new_last;
	}
	mutex_unlock(&kn->lock);
	cb->args[0] = idx;
	/* an SA too big for an empty message would loop forever */
	if (err && !new_last && !skb->len)
		return err;
	if (!err) {
		cb->args[2] = 1;
		return sa_dump_acq(skb, cb, kn);
	}
	return skb->len;
}

static int kipsec_nl_sa_dump_done(struct netlink_callback *cb)
{
	kipsec_sa_put((struct kipsec_sa *)cb->args[1]);
	cb->args[1] = 0;
	return 0;
}

static int kipsec_nl_sa_flush(struct sk_buff *skb, struct genl_info *info)
{
	struct kipsec_net *kn = kipsec_pernet(genl_info_net(info));
	u8 proto = 0;

	if (info->attrs[KIPSEC_A_SA_PROTO])
		proto = nla_get_u8(info->attrs[KIPSEC_A_SA_PROTO]);
	mutex_lock(&kn->lock);
	kipsec_sa_flush(kn, proto);
	mutex_unlock(&kn->lock);
	return 0;
}

/* SA_ALLOCSPI: FAMILY, SRC, DST, PROTO [, MODE, REQID, ACQ_SEQ, MIN, MAX] */
static int allocspi_parse(struct genl_info *info, struct kipsec_spi_req *req)
{
	struct nlattr **tb = info->attrs;
	int err;

	if (REQUIRE(info, KIPSEC_A_SA_FAMILY, "missing SA family") ||
	    REQUIRE(info, KIPSEC_A_SA_SRC, "missing SA source") ||
	    REQUIRE(info, KIPSEC_A_SA_DST, "missing SA destination") ||
	    REQUIRE(info, KIPSEC_A_SA_PROTO, "missing SA protocol"))
		return -EINVAL;
	if (tb[KIPSEC_A_SA_SPI]) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[KIPSEC_A_SA_SPI],
				    "kipsec: allocspi chooses the SPI: give min and max instead");
		return -EINVAL;
	}
	err = check_family(tb[KIPSEC_A_SA_FAMILY], &req->family,
			   info->extack);
	if (!err)
		err = get_addr(tb[KIPSEC_A_SA_DST], req->family, &req->daddr,
			       info->extack);
	if (!err)
		err = get_addr(tb[KIPSEC_A_SA_SRC], req->family, &req->saddr,
			       info->extack);
	if (err)
		return err;
	req->proto = nla_get_u8(tb[KIPSEC_A_SA_PROTO]);
	if (tb[KIPSEC_A_SA_MODE])
		req->mode = nla_get_u8(tb[KIPSEC_A_SA_MODE]);
	if (tb[KIPSEC_A_SA_REQID])
		req->reqid = nla_get_u32(tb[KIPSEC_A_SA_REQID]);
	if (tb[KIPSEC_A_SA_ACQ_SEQ])
		req->seq = nla_get_u32(tb[KIPSEC_A_SA_ACQ_SEQ]);
	/* ip xfrm's default range */
	req->min = tb[KIPSEC_A_SPI_MIN] ? nla_get_u32(tb[KIPSEC_A_SPI_MIN]) :
		   0x100;
	req->max = tb[KIPSEC_A_SPI_MAX] ? nla_get_u32(tb[KIPSEC_A_SPI_MAX]) :
		   0x0fffffff;
	return 0;
}

static int kipsec_nl_sa_allocspi(struct sk_buff *skb, struct genl_info *info)
{
	struct kipsec_net *kn = kipsec_pernet(genl_info_net(info));
	struct kipsec_spi_req req = {};
	struct kipsec_sa *sa;
	int err;

	err = allocspi_parse(info, &req);
	if (err)
		return err;
	sa = kipsec_sa_allocspi(kn, &req, info->extack);
	if (IS_ERR(sa))
		return PTR_ERR(sa);
	return sa_reply(info, sa, KIPSEC_CMD_SA_ALLOCSPI);
}

/* Policies */

static int parse_tmpl(struct nlattr *nest, struct kipsec_tmpl *t,
		      struct netlink_ext_ack *extack)
{
	struct nlattr *tb[KIPSEC_A_TMPL_MAX + 1];
	int err;

	memset(t, 0, sizeof(*t));
	err = nla_parse_nested(tb, KIPSEC_A_TMPL_MAX, nest, tmpl_nl_policy,
			       extack);
	if (err)
		return err;
	if (REQUIRE_NESTED(extack, nest, tb, KIPSEC_A_TMPL_PROTO,
			   "template needs a protocol"))
		return -EINVAL;
	t->proto = nla_get_u8(tb[KIPSEC_A_TMPL_PROTO]);
	if (t->proto != IPPROTO_ESP && t->proto != IPPROTO_AH) {
		NL_SET_ERR_MSG_ATTR(extack, tb[KIPSEC_A_TMPL_PROTO],
				    "kipsec: template protocol must be ESP (50) or AH (51)");
		return -EPROTONOSUPPORT;
	}
	if (tb[KIPSEC_A_TMPL_FAMILY]) {
		err = check_family(tb[KIPSEC_A_TMPL_FAMILY], &t->family,
				   extack);
		if (err)
			return err;
	} else if (tb[KIPSEC_A_TMPL_SRC] || tb[KIPSEC_A_TMPL_DST]) {
		NL_SET_ERR_MSG_MOD(extack,
				   "template addresses need a template family");
		NL_SET_ERR_ATTR_MISS(extack, nest, KIPSEC_A_TMPL_FAMILY);
		return -EINVAL;
	}
	if (tb[KIPSEC_A_TMPL_SRC]) {
		err = get_addr(tb[KIPSEC_A_TMPL_SRC], t->family, &t->saddr,
			       extack);
		if (err)
			return err;
	}
	if (tb[KIPSEC_A_TMPL_DST]) {
		err = get_addr(tb[KIPSEC_A_TMPL_DST], t->family, &t->daddr,
			       extack);
		if (err)
			return err;
	}
	if (tb[KIPSEC_A_TMPL_SPI])
		t->spi = nla_get_be32(tb[KIPSEC_A_TMPL_SPI]);
	if (tb[KIPSEC_A_TMPL_REQID])
		t->reqid = nla_get_u32(tb[KIPSEC_A_TMPL_REQID]);
	if (tb[KIPSEC_A_TMPL_MODE])
		t->mode = nla_get_u8(tb[KIPSEC_A_TMPL_MODE]);
	if (tb[KIPSEC_A_TMPL_LEVEL])
		t->level = nla_get_u8(tb[KIPSEC_A_TMPL_LEVEL]);
	return 0;
}

static int put_tmpl(struct sk_buff *skb, const struct kipsec_tmpl *t)
{
	struct nlattr *nest = nla_nest_start(skb, KIPSEC_A_POL_TMPL);

	if (!nest)
		return -EMSGSIZE;
	if ((t->family &&
	     (nla_put_u16(skb, KIPSEC_A_TMPL_FAMILY, t->family) ||
	      put_addr(skb, KIPSEC_A_TMPL_SRC, t->family, &t->saddr) ||
	      put_addr(skb, KIPSEC_A_TMPL_DST, t->family, &t->daddr))) ||
	    nla_put_u8(skb, KIPSEC_A_TMPL_PROTO, t->proto) ||
	    nla_put_be32(skb, KIPSEC_A_TMPL_SPI, t->spi) ||
	    nla_put_u32(skb, KIPSEC_A_TMPL_REQID, t->reqid) ||
	    nla_put_u8(skb, KIPSEC_A_TMPL_MODE, t->mode) ||
	    nla_put_u8(skb, KIPSEC_A_TMPL_LEVEL, t->level)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int put_pol_lifetime(struct sk_buff *skb, struct kipsec_policy *pol);

static int pol_fill_cmd(struct sk_buff *skb, struct kipsec_policy *pol,
			u32 portid, u32 seq, int flags, u8 cmd)
{
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &kipsec_nl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (put_sel(skb, KIPSEC_A_POL_SEL, &pol->sel) ||
	    nla_put_u8(skb, KIPSEC_A_POL_DIR, pol->dir) ||
	    nla_put_u32(skb, KIPSEC_A_POL_PRIORITY, pol->priority) ||
	    nla_put_u8(skb, KIPSEC_A_POL_ACTION, pol->action) ||
	    nla_put_u32(skb, KIPSEC_A_POL_INDEX, pol->index) ||
	    nla_put_u32(skb, KIPSEC_A_POL_FLAGS, pol->flags) ||
	    (pol->has_tmpl && put_tmpl(skb, &pol->tmpl)) ||
	    put_stats(skb, KIPSEC_A_POL_STATS, pol->stats) ||
	    put_pol_lifetime(skb, pol)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int pol_fill(struct sk_buff *skb, struct kipsec_policy *pol,
		    u32 portid, u32 seq, int flags)
{
	return pol_fill_cmd(skb, pol, portid, seq, flags,
			    KIPSEC_CMD_POLICY_GET);
}

/*
 * KIPSEC_A_POL_PTYPE, on every policy request: main, or absent.  Sub
 * policies (xfrm's second SPD, consulted before the main one, used by
 * Mobile IPv6 route optimisation) are not supported: refused, not
 * silently treated as main.
 */
static int check_ptype(struct genl_info *info)
{
	struct nlattr *a = info->attrs[KIPSEC_A_POL_PTYPE];

	if (!a || nla_get_u8(a) == KIPSEC_PTYPE_MAIN)
		return 0;
	if (nla_get_u8(a) == KIPSEC_PTYPE_SUB) {
		NL_SET_ERR_MSG_ATTR(info->extack, a,
				    "kipsec: sub policies (ptype sub) are not supported; only ptype main");
		return -EOPNOTSUPP;
	}
	NL_SET_ERR_MSG_ATTR(info->extack, a, "kipsec: invalid policy type");
	return -EINVAL;
}

/* KIPSEC_A_POL_INDEX of POLICY_NEW: 0 or an index of the direction */
static int policy_new_index(struct genl_info *info, struct kipsec_policy *pol)
{
	struct nlattr *a = info->attrs[KIPSEC_A_POL_INDEX];

	if (!a)
		return 0;
	pol->index = nla_get_u32(a);
	if (pol->index && (pol->index & 7) != pol->dir) {
		NL_SET_ERR_MSG_ATTR(info->extack, a,
				    "kipsec: policy index does not match direction (index & 7 must be the direction: in 0, out 1, fwd 2)");
		return -EINVAL;
	}
	return 0;
}

static int kipsec_nl_policy_new(struct sk_buff *skb, struct genl_info *info)
{
	struct kipsec_net *kn = kipsec_pernet(genl_info_net(info));
	bool replace = info->nlhdr->nlmsg_flags & NLM_F_REPLACE;
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr **tb = info->attrs;
	struct kipsec_policy *pol;
	int err;

	if (REQUIRE(info, KIPSEC_A_POL_SEL, "missing policy selector") ||
	    REQUIRE(info, KIPSEC_A_POL_DIR, "missing policy direction"))
		return -EINVAL;
	err = check_ptype(info);
	if (err)
		return err;
	pol = kipsec_policy_alloc();
	if (!pol)
		return -ENOMEM;
	err = parse_sel(tb[KIPSEC_A_POL_SEL], &pol->sel, extack);
	if (err)
		goto out_free;
	pol->dir = nla_get_u8(tb[KIPSEC_A_POL_DIR]);
	err = policy_new_index(info, pol);
	if (err)
		goto out_free;
	err = parse_lifetime(tb[KIPSEC_A_POL_LIFETIME], &pol->lft, extack);
	if (err)
		goto out_free;
	if (tb[KIPSEC_A_POL_PRIORITY])
		pol->priority = nla_get_u32(tb[KIPSEC_A_POL_PRIORITY]);
	if (tb[KIPSEC_A_POL_ACTION])
		pol->action = nla_get_u8(tb[KIPSEC_A_POL_ACTION]);
	if (tb[KIPSEC_A_POL_FLAGS])
		pol->flags = nla_get_u32(tb[KIPSEC_A_POL_FLAGS]);
	if (tb[KIPSEC_A_POL_TMPL]) {
		err = parse_tmpl(tb[KIPSEC_A_POL_TMPL], &pol->tmpl, extack);
		if (err)
			goto out_free;
		pol->has_tmpl = true;
	}

	err = kipsec_policy_add(kn, pol, replace, extack);
	if (!err)
		return 0;
out_free:
	kipsec_policy_free(pol);
	return err;
}

/* POLICY_DEL, POLICY_GET: by INDEX, or by SEL and DIR; under kn->lock */
static struct kipsec_policy *pol_find(struct kipsec_net *kn,
				      struct genl_info *info, int *errp)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr **tb = info->attrs;
	struct kipsec_policy *pol;
	struct xfrm_selector sel;

	*errp = check_ptype(info);
	if (*errp)
		return NULL;
	if (tb[KIPSEC_A_POL_INDEX]) {
		u32 index = nla_get_u32(tb[KIPSEC_A_POL_INDEX]);

		pol = kipsec_policy_find_index_locked(kn, index);
		if (pol && tb[KIPSEC_A_POL_DIR] &&
		    pol->dir != nla_get_u8(tb[KIPSEC_A_POL_DIR]))
			pol = NULL;
	} else {
		if (REQUIRE(info, KIPSEC_A_POL_SEL,
			    "missing policy selector (or index)") ||
		    REQUIRE(info, KIPSEC_A_POL_DIR,
			    "missing policy direction")) {
			*errp = -EINVAL;
			return NULL;
		}
		*errp = parse_sel(tb[KIPSEC_A_POL_SEL], &sel, extack);
		if (*errp)
			return NULL;
		pol = kipsec_policy_find_locked(kn,
						nla_get_u8(tb[KIPSEC_A_POL_DIR]),
						&sel);
	}
	if (!pol) {
		NL_SET_ERR_MSG_MOD(extack, "no such policy");
		*errp = -ENOENT;
	}
	return pol;
}

static int kipsec_nl_policy_del(struct sk_buff *skb, struct genl_info *info)
{
	struct kipsec_net *kn = kipsec_pernet(genl_info_net(info));
	struct kipsec_policy *pol;
	int err;

	mutex_lock(&kn->lock);
	pol = pol_find(kn, info, &err);
	if (pol)
		kipsec_policy_unlink(kn, pol);
	mutex_unlock(&kn->lock);
	return err;
}

static int kipsec_nl_policy_get(struct sk_buff *skb, struct genl_info *info)
{
	struct kipsec_net *kn = kipsec_pernet(genl_info_net(info));
	struct kipsec_policy *pol;
	struct sk_buff *msg;
	int err;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&kn->lock);
	pol = pol_find(kn, info, &err);
	if (pol)
		err = pol_fill(msg, pol, info->snd_portid, info->snd_seq, 0);
	mutex_unlock(&kn->lock);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

/* policy dump cursor: cb->args[0] direction, cb->args[1] position in it */
static int kipsec_nl_policy_dump(struct sk_buff *skb,
				 struct netlink_callback *cb)
{
	struct kipsec_net *kn = kipsec_pernet(sock_net(skb->sk));
	struct kipsec_policy *pol;
	int dir, err = 0;
	bool any = false;
	long idx;

	mutex_lock(&kn->lock);
	for (dir = cb->args[0]; dir <= KIPSEC_DIR_MAX; dir++) {
		idx = 0;
		list_for_each_entry(pol, &kn->policies[dir], list) {
			if (idx++ < cb->args[1])
				continue;
			err = pol_fill(skb, pol, NETLINK_CB(cb->skb).portid,
				       cb->nlh->nlmsg_seq, NLM_F_MULTI);
			if (err)
				goto out;
			any = true;
			cb->args[1] = idx;
		}
		cb->args[1] = 0;
		cb->args[0] = dir + 1;
	}
out:
	mutex_unlock(&kn->lock);
	if (err && !any && !skb->len)
		return err;
	return skb->len;
}

static int kipsec_nl_policy_flush(struct sk_buff *skb,
				  struct genl_info *info)
{
	struct kipsec_net *kn = kipsec_pernet(genl_info_net(info));
	int err = check_ptype(info);

	if (err)
		return err;
	mutex_lock(&kn->lock);
	kipsec_policy_flush(kn);
	mutex_unlock(&kn->lock);
	return 0;
}

static const struct genl_ops kipsec_nl_ops[] = {
	{
		.cmd = KIPSEC_CMD_INFO_GET,
		.doit = kipsec_nl_info_get,
		.policy = none_nl_policy,
		.maxattr = ARRAY_SIZE(none_nl_policy) - 1,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KIPSEC_CMD_SA_NEW,
		.doit = kipsec_nl_sa_new,
		.policy = sa_nl_policy,
		.maxattr = KIPSEC_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KIPSEC_CMD_SA_DEL,
		.doit = kipsec_nl_sa_del,
		.policy = sa_nl_policy,
		.maxattr = KIPSEC_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KIPSEC_CMD_SA_GET,
		.doit = kipsec_nl_sa_get,
		.dumpit = kipsec_nl_sa_dump,
		.done = kipsec_nl_sa_dump_done,
		.policy = sa_nl_policy,
		.maxattr = KIPSEC_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KIPSEC_CMD_SA_FLUSH,
		.doit = kipsec_nl_sa_flush,
		.policy = sa_nl_policy,
		.maxattr = KIPSEC_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KIPSEC_CMD_POLICY_NEW,
		.doit = kipsec_nl_policy_new,
		.policy = pol_nl_policy,
		.maxattr = KIPSEC_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KIPSEC_CMD_POLICY_DEL,
		.doit = kipsec_nl_policy_del,
		.policy = pol_nl_policy,
		.maxattr = KIPSEC_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KIPSEC_CMD_POLICY_GET,
		.doit = kipsec_nl_policy_get,
		.dumpit = kipsec_nl_policy_dump,
		.policy = pol_nl_policy,
		.maxattr = KIPSEC_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KIPSEC_CMD_POLICY_FLUSH,
		.doit = kipsec_nl_policy_flush,
		.policy = pol_nl_policy,
		.maxattr = KIPSEC_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KIPSEC_CMD_STATS_GET,
		.doit = kipsec_nl_stats_get,
		.policy = none_nl_policy,
		.maxattr = ARRAY_SIZE(none_nl_policy) - 1,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = KIPSEC_CMD_SA_ALLOCSPI,
		.doit = kipsec_nl_sa_allocspi,
		.policy = sa_nl_policy,
		.maxattr = KIPSEC_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
};

/*
 * Events: SA and policy contents, never keys, to CAP_NET_ADMIN holders in
 * the user namespace owning the netns only (checked when they join).
 */
enum kipsec_nl_mcgrp {
	KIPSEC_NLGRP_EVENTS,
};

static const struct genl_multicast_group kipsec_nl_mcgrps[] = {
	[KIPSEC_NLGRP_EVENTS] = { .name = KIPSEC_MCGRP_EVENTS,
				  .flags = GENL_MCAST_CAP_NET_ADMIN },
};

static struct genl_family kipsec_nl_family __ro_after_init = {
	.name = KIPSEC_GENL_NAME,
	.version = KIPSEC_GENL_VERSION,
	.maxattr = KIPSEC_A_MAX,
	.netnsok = true,
	.parallel_ops = true,
	.pre_doit = kipsec_pre_doit,
	.module = THIS_MODULE,
	.ops = kipsec_nl_ops,
	.n_ops = ARRAY_SIZE(kipsec_nl_ops),
	.mcgrps = kipsec_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(kipsec_nl_mcgrps),
	.resv_start_op = KIPSEC_CMD_POLICY_NEW + 1,
};

/* Lifetimes and events */

static int put_u64_attrs(struct sk_buff *skb, int type, const u64 *v, int n,
			 int first, int pad)
{
	struct nlattr *nest = nla_nest_start(skb, type);
	int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < n; i++) {
		if (nla_put_u64_64bit(skb, first + i, v[i], pad)) {
			nla_nest_cancel(skb, nest);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* KIPSEC_A_SA_LIFETIME, in enum kipsec_lft_attr order, and CURLFT */
static int put_lifetime(struct sk_buff *skb, struct kipsec_sa *sa)
{
	const struct kipsec_lft_cfg *c = &sa->lft.cfg;
	const u64 cfg[] = {
		c->soft_bytes, c->hard_bytes, c->soft_packets, c->hard_packets,
		c->soft_add, c->hard_add, c->soft_use, c->hard_use,
	};
	u64 cur[4];

	kipsec_lft_usage(sa, &cur[0], &cur[1]);
	cur[2] = sa->lft.add_time;
	cur[3] = atomic64_read(&sa->lft.use_time);
	if (put_u64_attrs(skb, KIPSEC_A_SA_LIFETIME, cfg, ARRAY_SIZE(cfg),
			  KIPSEC_A_LFT_SOFT_BYTES, KIPSEC_A_LFT_PAD) ||
	    put_u64_attrs(skb, KIPSEC_A_SA_CURLFT, cur, ARRAY_SIZE(cur),
			  KIPSEC_A_CURLFT_BYTES, KIPSEC_A_CURLFT_PAD))
		return -EMSGSIZE;
	return 0;
}

/*
 * KIPSEC_A_POL_LIFETIME, as an SA's, and KIPSEC_A_POL_CURLFT: the times
 * only (the policy's packets are in its counters)
 */
static int put_pol_lifetime(struct sk_buff *skb, struct kipsec_policy *pol)
{
	const struct kipsec_lft_cfg *c = &pol->lft;
	const u64 cfg[] = {
		c->soft_bytes, c->hard_bytes, c->soft_packets, c->hard_packets,
		c->soft_add, c->hard_add, c->soft_use, c->hard_use,
	};
	const u64 cur[] = { pol->add_time, READ_ONCE(pol->use_time) };

	if (put_u64_attrs(skb, KIPSEC_A_POL_LIFETIME, cfg, ARRAY_SIZE(cfg),
			  KIPSEC_A_LFT_SOFT_BYTES, KIPSEC_A_LFT_PAD) ||
	    put_u64_attrs(skb, KIPSEC_A_POL_CURLFT, cur, ARRAY_SIZE(cur),
			  KIPSEC_A_CURLFT_ADD_TIME, KIPSEC_A_CURLFT_PAD))
		return -EMSGSIZE;
	return 0;
}

static void notify(struct net *net, struct sk_buff *msg)
{
	genlmsg_multicast_netns(&kipsec_nl_family, net, msg, 0,
				KIPSEC_NLGRP_EVENTS, GFP_KERNEL);
}

/* a message for an event, or NULL when nobody listens (or no memory) */
static struct sk_buff *event_new(struct net *net)
{
	if (!genl_has_listeners(&kipsec_nl_family, net, KIPSEC_NLGRP_EVENTS))
		return NULL;
	return genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
}

/**
 * kipsec_nl_notify_sa - send an SA event to the "events" group
 * @net: the SA's netns
 * @sa: the SA, as a dump shows it
 * @cmd: KIPSEC_CMD_SA_NEW, _UPD, _DEL or _EXPIRE
 * @hard: for SA_EXPIRE, 1 hard or 0 soft (KIPSEC_A_EV_HARD); else -1
 */
void kipsec_nl_notify_sa(struct net *net, struct kipsec_sa *sa, u8 cmd,
			 int hard)
{
	struct sk_buff *msg;

	msg = event_new(net);
	if (!msg)
		return;
	if (sa_fill_cmd(msg, sa, 0, 0, 0, cmd)) {
		nlmsg_free(msg);
		return;
	}
	/* the flag goes at the end of the message sa_fill_cmd() ended */
	if (hard >= 0) {
		if (nla_put_u8(msg, KIPSEC_A_EV_HARD, hard)) {
			nlmsg_free(msg);
			return;
		}
		nlmsg_hdr(msg)->nlmsg_len = msg->len;
	}
	notify(net, msg);
}

/**
 * kipsec_nl_notify_policy - send a policy event to the "events" group
 * @net: the policy's netns
 * @pol: the policy, as a dump shows it
 * @cmd: KIPSEC_CMD_POLICY_NEW, _UPD, _DEL or _EXPIRE
 * @hard: for POLICY_EXPIRE, 1 hard or 0 soft (KIPSEC_A_EV_HARD); else -1
 */
void kipsec_nl_notify_policy(struct net *net, struct kipsec_policy *pol,
			     u8 cmd, int hard)
{
	struct sk_buff *msg;

	msg = event_new(net);
	if (!msg)
		return;
	if (pol_fill_cmd(msg, pol, 0, 0, 0, cmd)) {
		nlmsg_free(msg);
		return;
	}
	/* as for SAs: the flag goes at the end of the ended message */
	if (hard >= 0) {
		if (nla_put_u8(msg, KIPSEC_A_EV_HARD, hard)) {
			nlmsg_free(msg);
			return;
		}
		nlmsg_hdr(msg)->nlmsg_len = msg->len;
	}
	notify(net, msg);
}

/**
 * kipsec_nl_notify_flush - send a flush event to the "events" group
 * @net: the netns
 * @cmd: KIPSEC_CMD_SA_FLUSH or KIPSEC_CMD_POLICY_FLUSH
 * @proto: SA_FLUSH: the protocol flushed, 0 for all (KIPSEC_A_EV_PROTO)
 */
void kipsec_nl_notify_flush(struct net *net, u8 cmd, u8 proto)
{
	struct sk_buff *msg;
	void *hdr;

	msg = event_new(net);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &kipsec_nl_family, 0, cmd);
	if (!hdr || nla_put_u8(msg, KIPSEC_A_EV_PROTO, proto)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	notify(net, msg);
}

/* the SA an acquire asks for, as a larval SA without SPI (xfrm's ACQ) */
static int acq_put_sa(struct sk_buff *skb, const struct kipsec_acq *acq)
{
	u16 family = acq->family;
	u64 cur[4] = { 0, 0, acq->add_time, 0 };
	u64 cfg[8] = {};
	long left = (long)(acq->expires - jiffies);

	/* hard_add: what is left of its life, rounded up */
	cfg[5] = left > 0 ? DIV_ROUND_UP(left, HZ) : 0;
	if (nla_put_u16(skb, KIPSEC_A_SA_FAMILY, family) ||
	    put_addr(skb, KIPSEC_A_SA_SRC, family, &acq->saddr) ||
	    put_addr(skb, KIPSEC_A_SA_DST, family, &acq->daddr) ||
	    nla_put_u8(skb, KIPSEC_A_SA_PROTO, acq->proto) ||
	    nla_put_be32(skb, KIPSEC_A_SA_SPI, 0) ||
	    nla_put_u32(skb, KIPSEC_A_SA_REQID, acq->reqid) ||
	    nla_put_u8(skb, KIPSEC_A_SA_MODE, acq->mode) ||
	    nla_put_u32(skb, KIPSEC_A_SA_FLAGS, 0) ||
	    nla_put_u32(skb, KIPSEC_A_SA_REPLAY_WINDOW, 0) ||
	    put_sel(skb, KIPSEC_A_SA_SEL, &acq->sel) ||
	    put_u64_attrs(skb, KIPSEC_A_SA_LIFETIME, cfg, ARRAY_SIZE(cfg),
			  KIPSEC_A_LFT_SOFT_BYTES, KIPSEC_A_LFT_PAD) ||
	    put_u64_attrs(skb, KIPSEC_A_SA_CURLFT, cur, ARRAY_SIZE(cur),
			  KIPSEC_A_CURLFT_BYTES, KIPSEC_A_CURLFT_PAD) ||
	    nla_put_u8(skb, KIPSEC_A_SA_STATE, KIPSEC_SA_STATE_LARVAL) ||
	    nla_put_u32(skb, KIPSEC_A_SA_ACQ_SEQ, acq->seq))
		return -EMSGSIZE;
	return 0;
}

/* the policy of an acquire: as xfrm_user_acquire's policy and template */
static int acq_put_policy(struct sk_buff *skb, const struct kipsec_acq *acq)
{
	if (put_sel(skb, KIPSEC_A_POL_SEL, &acq->pol_sel) ||
	    nla_put_u8(skb, KIPSEC_A_POL_DIR, acq->pol_dir) ||
	    nla_put_u32(skb, KIPSEC_A_POL_PRIORITY, acq->pol_priority) ||
	    nla_put_u8(skb, KIPSEC_A_POL_ACTION, KIPSEC_ACTION_ALLOW) ||
	    nla_put_u32(skb, KIPSEC_A_POL_INDEX, acq->pol_index) ||
	    put_tmpl(skb, &acq->tmpl))
		return -EMSGSIZE;
	return 0;
}

/* an acquire as an SA dump entry (SA_GET) or as the ACQUIRE event */
static int acq_fill_cmd(struct sk_buff *skb, const struct kipsec_acq *acq,
			u32 portid, u32 seq, int flags, u8 cmd)
{
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &kipsec_nl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (acq_put_sa(skb, acq) ||
	    (cmd == KIPSEC_CMD_ACQUIRE && acq_put_policy(skb, acq))) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/**
 * kipsec_nl_notify_acquire - send an acquire to the "events" group
 * @net: the netns
 * @acq: the acquire
 * @cmd: KIPSEC_CMD_ACQUIRE
 *
 * Any context: allocates with GFP_ATOMIC (the output hook calls it).
 */
void kipsec_nl_notify_acquire(struct net *net, const struct kipsec_acq *acq,
			      u8 cmd)
{
	struct sk_buff *msg;

	if (!genl_has_listeners(&kipsec_nl_family, net, KIPSEC_NLGRP_EVENTS))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_ATOMIC);
	if (!msg)
		return;
	if (acq_fill_cmd(msg, acq, 0, 0, 0, cmd)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_multicast_netns(&kipsec_nl_family, net, msg, 0,
				KIPSEC_NLGRP_EVENTS, GFP_ATOMIC);
}

/* the MAPPING event: the SA's id, its old mapping, then the new one */
static int mapping_fill(struct sk_buff *skb, const struct kipsec_sa *sa,
			const xfrm_address_t *naddr, __be16 nsport)
{
	u16 family = sa->key.family;
	void *hdr;

	hdr = genlmsg_put(skb, 0, 0, &kipsec_nl_family, 0, KIPSEC_CMD_MAPPING);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u16(skb, KIPSEC_A_SA_FAMILY, family) ||
	    put_addr(skb, KIPSEC_A_SA_SRC, family, &sa->saddr) ||
	    put_addr(skb, KIPSEC_A_SA_DST, family, &sa->key.daddr) ||
	    nla_put_u8(skb, KIPSEC_A_SA_PROTO, sa->key.proto) ||
	    nla_put_be32(skb, KIPSEC_A_SA_SPI, sa->key.spi) ||
	    nla_put_u32(skb, KIPSEC_A_SA_REQID, sa->reqid) ||
	    put_encap(skb, sa) ||
	    put_addr(skb, KIPSEC_A_EV_NEW_ADDR, family, naddr) ||
	    nla_put_be16(skb, KIPSEC_A_EV_NEW_SPORT, nsport)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/**
 * kipsec_nl_notify_mapping - send a NAT mapping change to "events"
 * @net: the SA's netns
 * @sa: the inbound SA, with its old mapping
 * @naddr: the new outer source address
 * @nsport: the new UDP source port
 *
 * Any context: allocates with GFP_ATOMIC (the packet path calls it).
 */
void kipsec_nl_notify_mapping(struct net *net, const struct kipsec_sa *sa,
			      const xfrm_address_t *naddr, __be16 nsport)
{
	struct sk_buff *msg;

	if (!genl_has_listeners(&kipsec_nl_family, net, KIPSEC_NLGRP_EVENTS))
		return;
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_ATOMIC);
	if (!msg)
		return;
	if (mapping_fill(msg, sa, naddr, nsport)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_multicast_netns(&kipsec_nl_family, net, msg, 0,
				KIPSEC_NLGRP_EVENTS, GFP_ATOMIC);
}

int kipsec_netlink_init(void)
{
	return genl_register_family(&kipsec_nl_family);
}

void kipsec_netlink_exit(void)
{
	genl_unregister_family(&kipsec_nl_family);
}
