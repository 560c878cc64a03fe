// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: conversion between the XFRM netlink wire structures
 * (include/uapi/linux/xfrm.h: xfrm_usersa_info, xfrm_userpolicy_info,
 * xfrm_user_tmpl, xfrm_algo*, xfrm_replay_state(_esn), xfrm_lifetime_*)
 * and kipsec's SAs and policies.
 *
 * Requests are checked as xfrm_user checks them (verify_newsa_info(),
 * verify_newpolicy_info(), validate_tmpl()), with the same errors; what
 * kipsec does not implement is refused with EOPNOTSUPP and a message,
 * never accepted and ignored.  Replies have the layout of xfrm_user's
 * (copy_to_user_state_extra(), copy_to_user_policy()), except that keys
 * are zero-filled, as xfrm_user does under lockdown: kipsec keeps no copy
 * of a key outside the transform.
 */
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/udp.h>
#include "xfrm_nl.h"

/* xfrm's "no limit" is ~0; kipsec's is 0 */
static u64 lft_in(u64 v)
{
	return v == XFRM_INF ? 0 : v;
}

static void lft_parse(const struct xfrm_lifetime_cfg *x,
		      struct kipsec_lft_cfg *k)
{
	k->soft_bytes = lft_in(x->soft_byte_limit);
	k->hard_bytes = lft_in(x->hard_byte_limit);
	k->soft_packets = lft_in(x->soft_packet_limit);
	k->hard_packets = lft_in(x->hard_packet_limit);
	k->soft_add = lft_in(x->soft_add_expires_seconds);
	k->hard_add = lft_in(x->hard_add_expires_seconds);
	k->soft_use = lft_in(x->soft_use_expires_seconds);
	k->hard_use = lft_in(x->hard_use_expires_seconds);
}

/**
 * kipsec_xfrm_lft_out - kipsec limits as xfrm shows them
 * @k: the limits, 0 for none
 * @x: filled: byte and packet limits ~0 for none (ip xfrm's "(INF)"),
 *     time limits 0 for none, as xfrm stores them
 */
void kipsec_xfrm_lft_out(const struct kipsec_lft_cfg *k,
			 struct xfrm_lifetime_cfg *x)
{
	x->soft_byte_limit = k->soft_bytes ? : XFRM_INF;
	x->hard_byte_limit = k->hard_bytes ? : XFRM_INF;
	x->soft_packet_limit = k->soft_packets ? : XFRM_INF;
	x->hard_packet_limit = k->hard_packets ? : XFRM_INF;
	x->soft_add_expires_seconds = k->soft_add;
	x->hard_add_expires_seconds = k->hard_add;
	x->soft_use_expires_seconds = k->soft_use;
	x->hard_use_expires_seconds = k->hard_use;
}

static bool family_ok(u16 family)
{
	return family == AF_INET || family == AF_INET6;
}

static int check_sel(const struct xfrm_selector *sel,
		     struct netlink_ext_ack *extack)
{
	switch (sel->family) {
	case AF_UNSPEC:
		return 0;
	case AF_INET:
		if (sel->prefixlen_d > 32 || sel->prefixlen_s > 32) {
			NL_SET_ERR_MSG(extack,
				       "Invalid prefix length in selector (must be <= 32 for IPv4)");
			return -EINVAL;
		}
		return 0;
	case AF_INET6:
		if (sel->prefixlen_d > 128 || sel->prefixlen_s > 128) {
			NL_SET_ERR_MSG(extack,
				       "Invalid prefix length in selector (must be <= 128 for IPv6)");
			return -EINVAL;
		}
		return 0;
	}
	NL_SET_ERR_MSG(extack, "Invalid address family in selector");
	return -EINVAL;
}

/* @msg is a string constant: the macros want a literal */
static void set_err_attr(struct netlink_ext_ack *extack, struct nlattr *a,
			 const char *msg)
{
	if (!extack)
		return;
	extack->_msg = msg;
	extack->bad_attr = a;
}

/* an attribute whose u32 must be 0 (absent is 0) */
static int refuse_nonzero_u32(struct nlattr *a, const char *msg,
			      struct netlink_ext_ack *extack)
{
	if (!a || !nla_get_u32(a))
		return 0;
	set_err_attr(extack, a, msg);
	return -EOPNOTSUPP;
}

static int refuse_attr(struct nlattr *a, const char *msg,
		       struct netlink_ext_ack *extack)
{
	if (!a)
		return 0;
	set_err_attr(extack, a, msg);
	return -EOPNOTSUPP;
}

/**
 * kipsec_xfrm_check_unsupported - refuse what kipsec cannot do
 * @attrs: a parsed request (xfrma_policy)
 * @extack: names the attribute refused
 *
 * Marks (a zero mark is accepted: strongSwan sends one), interface ids,
 * security contexts, hardware offload and output marks.
 *
 * Return: 0, or -EOPNOTSUPP.
 */
int kipsec_xfrm_check_unsupported(struct nlattr **attrs,
				  struct netlink_ext_ack *extack)
{
	struct nlattr *a = attrs[XFRMA_MARK];
	int err;

	if (a) {
		const struct xfrm_mark *m = nla_data(a);

		if (m->v || m->m) {
			NL_SET_ERR_MSG_ATTR(extack, a,
					    "kipsec: marks are not supported (XFRMA_MARK must be 0)");
			return -EOPNOTSUPP;
		}
	}
	err = refuse_nonzero_u32(attrs[XFRMA_IF_ID],
				 "kipsec: xfrm interfaces (XFRMA_IF_ID) are not supported",
				 extack);
	if (!err)
		err = refuse_attr(attrs[XFRMA_SEC_CTX],
				  "kipsec: security contexts (XFRMA_SEC_CTX) are not supported",
				  extack);
	if (!err)
		err = refuse_attr(attrs[XFRMA_OFFLOAD_DEV],
				  "kipsec: hardware offload (XFRMA_OFFLOAD_DEV) is not supported",
				  extack);
	if (!err)
		err = refuse_nonzero_u32(attrs[XFRMA_SET_MARK],
					 "kipsec: output marks (XFRMA_SET_MARK) are not supported",
					 extack);
	return err;
}

/* attributes of a new SA that kipsec lacks the feature for */
static int sa_check_unsupported(struct nlattr **attrs,
				struct netlink_ext_ack *extack)
{
	int err = kipsec_xfrm_check_unsupported(attrs, extack);

	if (!err)
		err = refuse_attr(attrs[XFRMA_ALG_COMP],
				  "kipsec: IPComp (XFRMA_ALG_COMP) is not supported",
				  extack);
	if (!err)
		err = refuse_attr(attrs[XFRMA_COADDR],
				  "kipsec: care-of addresses (XFRMA_COADDR) are not supported",
				  extack);
	if (!err)
		err = refuse_attr(attrs[XFRMA_MTIMER_THRESH],
				  "kipsec: mapping timers (XFRMA_MTIMER_THRESH) are not supported",
				  extack);
	return err;
}

/* the algorithm attributes present for each protocol, as xfrm_user */
static int sa_check_algs_present(u8 proto, struct nlattr **attrs,
				 struct netlink_ext_ack *extack)
{
	bool auth = attrs[XFRMA_ALG_AUTH] || attrs[XFRMA_ALG_AUTH_TRUNC];

	switch (proto) {
	case IPPROTO_AH:
		if (!auth) {
			NL_SET_ERR_MSG(extack,
				       "Missing required attribute for AH: AUTH_TRUNC or AUTH");
			return -EINVAL;
		}
		if (attrs[XFRMA_ALG_AEAD] || attrs[XFRMA_ALG_CRYPT] ||
		    attrs[XFRMA_TFCPAD]) {
			NL_SET_ERR_MSG(extack,
				       "Invalid attributes for AH: AEAD, CRYPT, COMP, TFCPAD");
			return -EINVAL;
		}
		return 0;
	case IPPROTO_ESP:
		if (!auth && !attrs[XFRMA_ALG_CRYPT] && !attrs[XFRMA_ALG_AEAD]) {
			NL_SET_ERR_MSG(extack,
				       "Missing required attribute for ESP: at least one of AUTH, AUTH_TRUNC, CRYPT, AEAD");
			return -EINVAL;
		}
		if ((auth || attrs[XFRMA_ALG_CRYPT]) && attrs[XFRMA_ALG_AEAD]) {
			NL_SET_ERR_MSG(extack,
				       "Invalid attribute combination for ESP: AEAD can't be used with AUTH, AUTH_TRUNC, CRYPT");
			return -EINVAL;
		}
		return 0;
	case IPPROTO_COMP:
	case IPPROTO_DSTOPTS:
	case IPPROTO_ROUTING:
		NL_SET_ERR_MSG(extack,
			       "kipsec: only ESP and AH SAs are supported (no IPComp, no Mobile IPv6)");
		return -EOPNOTSUPP;
	}
	NL_SET_ERR_MSG(extack, "Unsupported protocol");
	return -EINVAL;
}

/* XFRMA_TFCPAD on ESP: tunnel mode only, as verify_newsa_info() */
static int sa_check_tfcpad(const struct xfrm_usersa_info *p,
			   struct nlattr **attrs,
			   struct netlink_ext_ack *extack)
{
	if (p->id.proto == IPPROTO_ESP && attrs[XFRMA_TFCPAD] &&
	    p->mode != XFRM_MODE_TUNNEL) {
		NL_SET_ERR_MSG(extack,
			       "TFC padding can only be used in tunnel mode");
		return -EINVAL;
	}
	return 0;
}

/*
 * An algorithm attribute: its name NUL-terminated, its key within the
 * attribute (as xfrm_user's verify_one_alg(), verify_aead(),
 * verify_auth_trunc()).  @hdr is the structure's size, @key_bits its key
 * length.
 */
static int check_alg(struct nlattr *a, size_t hdr, u32 key_bits, char *name,
		     struct netlink_ext_ack *extack)
{
	if (nla_len(a) < hdr + DIV_ROUND_UP(key_bits, 8)) {
		NL_SET_ERR_MSG_ATTR(extack, a,
				    "Invalid AEAD/AUTH/CRYPT attribute length: key longer than the attribute");
		return -EINVAL;
	}
	if (DIV_ROUND_UP(key_bits, 8) > KIPSEC_XFRM_KEY_MAX) {
		NL_SET_ERR_MSG_ATTR(extack, a, "kipsec: key too long");
		return -EINVAL;
	}
	name[63] = '\0';	/* as xfrm_user: the name ends in the struct */
	return 0;
}

static int sa_parse_aead(struct nlattr *a, struct kipsec_alg_params *p,
			 struct netlink_ext_ack *extack)
{
	struct xfrm_algo_aead *alg = nla_data(a);
	int err;

	err = check_alg(a, sizeof(*alg), alg->alg_key_len, alg->alg_name,
			extack);
	if (err)
		return err;
	p->aead_name = alg->alg_name;
	p->aead_key = alg->alg_key;
	p->aead_keylen = DIV_ROUND_UP(alg->alg_key_len, 8);
	p->aead_icv_bits = alg->alg_icv_len;
	return 0;
}

static int sa_parse_crypt(struct nlattr *a, struct kipsec_alg_params *p,
			  struct netlink_ext_ack *extack)
{
	struct xfrm_algo *alg = nla_data(a);
	int err;

	err = check_alg(a, sizeof(*alg), alg->alg_key_len, alg->alg_name,
			extack);
	if (err)
		return err;
	p->enc_name = alg->alg_name;
	p->enc_key = alg->alg_key;
	p->enc_keylen = DIV_ROUND_UP(alg->alg_key_len, 8);
	return 0;
}

/* AUTH_TRUNC wins over AUTH, as in xfrm_state_construct() */
static int sa_parse_auth(struct nlattr **attrs, struct kipsec_alg_params *p,
			 struct netlink_ext_ack *extack)
{
	struct nlattr *a = attrs[XFRMA_ALG_AUTH_TRUNC];
	int err;

	if (a) {
		struct xfrm_algo_auth *alg = nla_data(a);

		err = check_alg(a, sizeof(*alg), alg->alg_key_len,
				alg->alg_name, extack);
		if (err)
			return err;
		p->auth_name = alg->alg_name;
		p->auth_key = alg->alg_key;
		p->auth_keylen = DIV_ROUND_UP(alg->alg_key_len, 8);
		p->auth_trunc_bits = alg->alg_trunc_len;
		return 0;
	}
	a = attrs[XFRMA_ALG_AUTH];
	if (a) {
		struct xfrm_algo *alg = nla_data(a);

		err = check_alg(a, sizeof(*alg), alg->alg_key_len,
				alg->alg_name, extack);
		if (err)
			return err;
		p->auth_name = alg->alg_name;
		p->auth_key = alg->alg_key;
		p->auth_keylen = DIV_ROUND_UP(alg->alg_key_len, 8);
	}
	return 0;
}

static int sa_parse_algs(struct nlattr **attrs, struct kipsec_alg_params *p,
			 struct netlink_ext_ack *extack)
{
	int err = 0;

	if (attrs[XFRMA_ALG_AEAD])
		err = sa_parse_aead(attrs[XFRMA_ALG_AEAD], p, extack);
	if (!err && attrs[XFRMA_ALG_CRYPT])
		err = sa_parse_crypt(attrs[XFRMA_ALG_CRYPT], p, extack);
	if (!err)
		err = sa_parse_auth(attrs, p, extack);
	return err;
}

static bool key_zero(const u8 *key, unsigned int len)
{
	return len && !memchr_inv(key, 0, len);
}

/**
 * kipsec_xfrm_keys_zero - does a request carry zero-filled keys
 * @p: its parsed algorithms
 *
 * GETSA replies carry zero-filled keys, and an IKE daemon that moves an
 * SA to new addresses re-adds it from such a reply (strongSwan's
 * update_sa(): GETSA, DELSA, NEWSA).  Those zeros must never become a
 * key anybody knows.
 *
 * Return: true when any key of @p is all zeros.
 */
bool kipsec_xfrm_keys_zero(const struct kipsec_alg_params *p)
{
	return key_zero(p->aead_key, p->aead_keylen) ||
	       key_zero(p->enc_key, p->enc_keylen) ||
	       key_zero(p->auth_key, p->auth_keylen);
}

/**
 * kipsec_xfrm_wipe_keys - wipe the keys of a request once they are used
 * @attrs: the parsed request
 */
void kipsec_xfrm_wipe_keys(struct nlattr **attrs)
{
	static const int types[] = {
		XFRMA_ALG_AEAD, XFRMA_ALG_CRYPT, XFRMA_ALG_AUTH,
		XFRMA_ALG_AUTH_TRUNC,
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(types); i++)
		if (attrs[types[i]])
			memzero_explicit(nla_data(attrs[types[i]]),
					 nla_len(attrs[types[i]]));
}

/* XFRM_STATE_* flags to enum kipsec_sa_flags */
static int sa_parse_flags(u8 xf, u32 *flags, struct netlink_ext_ack *extack)
{
	if (xf & XFRM_STATE_WILDRECV) {
		NL_SET_ERR_MSG(extack,
			       "kipsec: SA flag wildrecv is not supported");
		return -EOPNOTSUPP;
	}
	*flags = 0;
	if (xf & XFRM_STATE_NOECN)
		*flags |= KIPSEC_SA_F_NOECN;
	if (xf & XFRM_STATE_DECAP_DSCP)
		*flags |= KIPSEC_SA_F_DECAP_DSCP;
	if (xf & XFRM_STATE_ICMP)
		*flags |= KIPSEC_SA_F_ICMP;
	if (xf & XFRM_STATE_NOPMTUDISC)
		*flags |= KIPSEC_SA_F_NOPMTUDISC;
	if (xf & XFRM_STATE_AF_UNSPEC)
		*flags |= KIPSEC_SA_F_AF_UNSPEC;
	if (xf & XFRM_STATE_ALIGN4)
		*flags |= KIPSEC_SA_F_ALIGN4;
	if (xf & XFRM_STATE_ESN)
		*flags |= KIPSEC_SA_F_ESN;
	return 0;
}

static u8 sa_flags_out(u32 flags)
{
	u8 xf = 0;

	if (flags & KIPSEC_SA_F_NOECN)
		xf |= XFRM_STATE_NOECN;
	if (flags & KIPSEC_SA_F_DECAP_DSCP)
		xf |= XFRM_STATE_DECAP_DSCP;
	if (flags & KIPSEC_SA_F_ICMP)
		xf |= XFRM_STATE_ICMP;
	if (flags & KIPSEC_SA_F_NOPMTUDISC)
		xf |= XFRM_STATE_NOPMTUDISC;
	if (flags & KIPSEC_SA_F_AF_UNSPEC)
		xf |= XFRM_STATE_AF_UNSPEC;
	if (flags & KIPSEC_SA_F_ALIGN4)
		xf |= XFRM_STATE_ALIGN4;
	if (flags & KIPSEC_SA_F_ESN)
		xf |= XFRM_STATE_ESN;
	return xf;
}

/*
 * The replay window and the sequence numbers to start from: the ESN
 * attribute (as verify_replay()), else the legacy one, whose window is
 * at most 32 packets as in xfrm.  A sequence number given as 0 is not
 * set, so that an update carries the SA's own over.
 */
static int sa_parse_replay(const struct xfrm_usersa_info *p,
			   struct nlattr **attrs, struct kipsec_sa_cfg *c,
			   struct netlink_ext_ack *extack)
{
	struct nlattr *re = attrs[XFRMA_REPLAY_ESN_VAL];
	struct nlattr *rp = attrs[XFRMA_REPLAY_VAL];

	c->window = min_t(u32, p->replay_window, 32);
	if (re) {
		const struct xfrm_replay_state_esn *rs = nla_data(re);

		if (rs->bmp_len > XFRMA_REPLAY_ESN_MAX / sizeof(rs->bmp[0]) / 8) {
			NL_SET_ERR_MSG(extack, "ESN bitmap length must be <= 128");
			return -EINVAL;
		}
		if (nla_len(re) < sizeof(*rs) + rs->bmp_len * sizeof(u32) &&
		    nla_len(re) != sizeof(*rs)) {
			NL_SET_ERR_MSG(extack,
				       "ESN attribute is too short to fit the full bitmap length");
			return -EINVAL;
		}
		if (p->replay_window) {
			NL_SET_ERR_MSG(extack, "ESN not compatible with legacy replay_window");
			return -EINVAL;
		}
		c->window = rs->replay_window;
		c->seq = (u64)rs->seq_hi << 32 | rs->seq;
		c->oseq = (u64)rs->oseq_hi << 32 | rs->oseq;
	} else if (p->flags & XFRM_STATE_ESN) {
		NL_SET_ERR_MSG(extack, "Missing required attribute for ESN");
		return -EINVAL;
	} else if (rp) {
		const struct xfrm_replay_state *rs = nla_data(rp);

		c->seq = rs->seq;
		c->oseq = rs->oseq;
	}
	if (c->seq)
		c->set |= KIPSEC_SA_SET_SEQ;
	if (c->oseq)
		c->set |= KIPSEC_SA_SET_OSEQ;
	return 0;
}

static int sa_parse_mode(u8 mode, struct netlink_ext_ack *extack)
{
	switch (mode) {
	case XFRM_MODE_TRANSPORT:
	case XFRM_MODE_TUNNEL:
		return 0;
	case XFRM_MODE_ROUTEOPTIMIZATION:
	case XFRM_MODE_BEET:
		NL_SET_ERR_MSG(extack, "kipsec: only transport and tunnel mode are supported");
		return -EOPNOTSUPP;
	}
	NL_SET_ERR_MSG(extack, "Unsupported mode");
	return -EINVAL;
}

/*
 * XFRMA_SA_EXTRA_FLAGS: dont-encap-dscp, whose value kipsec shares;
 * oseq-may-wrap (sequence numbers that wrap) is refused, as kipsec never
 * reuses a sequence number.
 */
static int sa_parse_xflags(struct nlattr *a, u32 *xflags,
			   struct netlink_ext_ack *extack)
{
	u32 v = a ? nla_get_u32(a) : 0;

	BUILD_BUG_ON(KIPSEC_SA_XF_DONT_ENCAP_DSCP !=
		     XFRM_SA_XFLAG_DONT_ENCAP_DSCP);
	if (v & ~KIPSEC_SA_XFLAGS_ALL) {
		set_err_attr(extack, a,
			     "kipsec: of XFRMA_SA_EXTRA_FLAGS only dont-encap-dscp is supported (not oseq-may-wrap)");
		return -EOPNOTSUPP;
	}
	*xflags = v;
	return 0;
}

/*
 * XFRMA_ENCAP: ESP in UDP (UDP_ENCAP_ESPINUDP) or in TCP
 * (TCP_ENCAP_ESPINTCP); kipsec_sa_setup() checks the rest (ESP, ports,
 * the ULP) for both front ends.
 */
static int sa_parse_encap(struct nlattr *a, struct kipsec_sa_encap *e,
			  struct netlink_ext_ack *extack)
{
	const struct xfrm_encap_tmpl *t;

	if (!a)
		return 0;
	t = nla_data(a);
	if (t->encap_type != UDP_ENCAP_ESPINUDP &&
	    t->encap_type != TCP_ENCAP_ESPINTCP) {
		NL_SET_ERR_MSG_ATTR(extack, a,
				    "kipsec: only UDP_ENCAP_ESPINUDP and TCP_ENCAP_ESPINTCP are supported in XFRMA_ENCAP (not ESPINUDP_NON_IKE)");
		return -EOPNOTSUPP;
	}
	e->type = t->encap_type;
	e->sport = t->encap_sport;
	e->dport = t->encap_dport;
	e->oaddr = t->encap_oa;
	return 0;
}

/**
 * kipsec_xfrm_sa_parse - a NEWSA/UPDSA request as a struct kipsec_sa_cfg
 * @p: the request's struct xfrm_usersa_info
 * @attrs: its attributes (xfrma_policy); the algorithm names are
 *         terminated in place and @c points into them
 * @c: zeroed by the caller, filled
 * @extack: the reason of a refusal, in xfrm_user's words where it has one
 *
 * Return: 0, -EINVAL, or -EOPNOTSUPP for what kipsec does not implement.
 */
int kipsec_xfrm_sa_parse(const struct xfrm_usersa_info *p,
			 struct nlattr **attrs, struct kipsec_sa_cfg *c,
			 struct netlink_ext_ack *extack)
{
	int err;

	if (!family_ok(p->family)) {
		NL_SET_ERR_MSG(extack, "Invalid address family");
		return -EINVAL;
	}
	c->sel = p->sel;
	if (!c->sel.family && !(p->flags & XFRM_STATE_AF_UNSPEC))
		c->sel.family = p->family;
	err = check_sel(&c->sel, extack);
	if (!err)
		err = sa_check_algs_present(p->id.proto, attrs, extack);
	if (!err)
		err = sa_check_tfcpad(p, attrs, extack);
	if (!err)
		err = sa_check_unsupported(attrs, extack);
	if (!err)
		err = sa_parse_mode(p->mode, extack);
	if (!err)
		err = sa_parse_flags(p->flags, &c->flags, extack);
	if (!err)
		err = sa_parse_replay(p, attrs, c, extack);
	if (!err)
		err = sa_parse_encap(attrs[XFRMA_ENCAP], &c->encap, extack);
	if (!err)
		err = sa_parse_xflags(attrs[XFRMA_SA_EXTRA_FLAGS], &c->xflags,
				      extack);
	if (err)
		return err;
	c->family = p->family;
	c->saddr = p->saddr;
	c->daddr = p->id.daddr;
	c->spi = p->id.spi;
	c->proto = p->id.proto;
	c->mode = p->mode;
	c->reqid = p->reqid;
	c->acq_seq = p->seq;
	if (attrs[XFRMA_TFCPAD])
		c->tfcpad = nla_get_u32(attrs[XFRMA_TFCPAD]);
	lft_parse(&p->lft, &c->lft);
	return sa_parse_algs(attrs, &c->alg, extack);
}

/**
 * kipsec_xfrm_sa_curlft - an SA's usage as struct xfrm_lifetime_cur
 * @sa: the SA
 * @c: filled
 */
void kipsec_xfrm_sa_curlft(struct kipsec_sa *sa, struct xfrm_lifetime_cur *c)
{
	u64 bytes, packets;

	kipsec_lft_usage(sa, &bytes, &packets);
	c->bytes = bytes;
	c->packets = packets;
	c->add_time = sa->lft.add_time;
	c->use_time = atomic64_read(&sa->lft.use_time);
}

/* the replay state travels as ESN state when it does not fit the legacy */
static bool sa_replay_esn(const struct kipsec_sa *sa)
{
	return (sa->flags & KIPSEC_SA_F_ESN) || sa->replay.size > 32;
}

/**
 * kipsec_xfrm_sa_info - an SA as struct xfrm_usersa_info
 * @sa: the SA
 * @p: filled (copy_to_user_state())
 */
void kipsec_xfrm_sa_info(struct kipsec_sa *sa, struct xfrm_usersa_info *p)
{
	u64 st[__KIPSEC_STAT_MAX];

	memset(p, 0, sizeof(*p));
	p->sel = sa->sel;
	p->id.daddr = sa->key.daddr;
	p->id.spi = sa->key.spi;
	p->id.proto = sa->key.proto;
	p->saddr = sa->saddr;
	kipsec_xfrm_lft_out(&sa->lft.cfg, &p->lft);
	kipsec_xfrm_sa_curlft(sa, &p->curlft);
	kipsec_stats_sum(sa->stats, st);
	p->stats.replay_window = st[KIPSEC_STAT_IN_WINDOW];
	p->stats.replay = st[KIPSEC_STAT_IN_REPLAY];
	p->stats.integrity_failed = st[KIPSEC_STAT_IN_AUTH_FAIL];
	p->seq = sa->acq_seq;
	p->reqid = sa->reqid;
	p->family = sa->key.family;
	p->mode = sa->mode;
	p->replay_window = sa_replay_esn(sa) ? 0 : sa->replay.size;
	p->flags = sa_flags_out(sa->flags);
}

/* an algorithm attribute of @hdr bytes and a zero-filled key of @bits */
static void *put_alg(struct sk_buff *skb, int type, size_t hdr, u32 bits,
		     const char *name)
{
	struct nlattr *a;
	char *data;

	a = nla_reserve(skb, type, hdr + DIV_ROUND_UP(bits, 8));
	if (!a)
		return NULL;
	data = nla_data(a);
	memset(data, 0, nla_len(a));
	strscpy(data, name, 64);	/* alg_name is first in every struct */
	return data;
}

/* keys are never sent: zero-filled, as xfrm_user under lockdown */
static int sa_put_algs(struct sk_buff *skb, struct kipsec_sa *sa)
{
	struct xfrm_algo_aead *aead;
	struct xfrm_algo_auth *trunc;
	struct xfrm_algo *alg;

	if (sa->alg_name[0]) {
		aead = put_alg(skb, XFRMA_ALG_AEAD, sizeof(*aead),
			       sa->key_bits, sa->alg_name);
		if (!aead)
			return -EMSGSIZE;
		aead->alg_key_len = sa->key_bits;
		aead->alg_icv_len = sa->icv_len * 8;
	}
	if (sa->auth_name[0]) {
		alg = put_alg(skb, XFRMA_ALG_AUTH, sizeof(*alg),
			      sa->auth_key_bits, sa->auth_name);
		if (!alg)
			return -EMSGSIZE;
		alg->alg_key_len = sa->auth_key_bits;
		trunc = put_alg(skb, XFRMA_ALG_AUTH_TRUNC, sizeof(*trunc),
				sa->auth_key_bits, sa->auth_name);
		if (!trunc)
			return -EMSGSIZE;
		trunc->alg_key_len = sa->auth_key_bits;
		trunc->alg_trunc_len = sa->icv_len * 8;
	}
	if (sa->enc_name[0]) {
		alg = put_alg(skb, XFRMA_ALG_CRYPT, sizeof(*alg),
			      sa->enc_key_bits, sa->enc_name);
		if (!alg)
			return -EMSGSIZE;
		alg->alg_key_len = sa->enc_key_bits;
	}
	return 0;
}

/* XFRMA_ENCAP, as copy_to_user_encap() */
static int sa_put_encap(struct sk_buff *skb, const struct kipsec_sa *sa)
{
	struct xfrm_encap_tmpl *t;
	struct nlattr *a;

	if (!sa->encap.type)
		return 0;
	a = nla_reserve(skb, XFRMA_ENCAP, sizeof(*t));
	if (!a)
		return -EMSGSIZE;
	t = nla_data(a);
	memset(t, 0, sizeof(*t));
	t->encap_type = sa->encap.type;
	t->encap_sport = sa->encap.sport;
	t->encap_dport = sa->encap.dport;
	t->encap_oa = sa->encap.oaddr;
	return 0;
}

/**
 * kipsec_xfrm_put_replay - XFRMA_REPLAY_VAL or XFRMA_REPLAY_ESN_VAL
 * @skb: the message
 * @sa: the SA
 *
 * The sequence numbers, not the window's bitmap (a ring in kipsec): the
 * bitmap is sent as zeros.
 *
 * Return: 0 or -EMSGSIZE.
 */
int kipsec_xfrm_put_replay(struct sk_buff *skb, struct kipsec_sa *sa)
{
	struct xfrm_replay_state_esn *rs;
	struct xfrm_replay_state legacy = {};
	u32 words = min_t(u32, DIV_ROUND_UP(sa->replay.size, 32), 128);
	struct nlattr *a;
	u64 top, oseq;

	spin_lock_bh(&sa->lock);
	top = sa->replay.top;
	oseq = sa->oseq;
	spin_unlock_bh(&sa->lock);
	if (!sa_replay_esn(sa)) {
		legacy.seq = top;
		legacy.oseq = oseq;
		return nla_put(skb, XFRMA_REPLAY_VAL, sizeof(legacy), &legacy);
	}
	a = nla_reserve(skb, XFRMA_REPLAY_ESN_VAL,
			sizeof(*rs) + words * sizeof(u32));
	if (!a)
		return -EMSGSIZE;
	rs = nla_data(a);
	memset(rs, 0, nla_len(a));
	rs->bmp_len = words;
	rs->seq = lower_32_bits(top);
	rs->seq_hi = upper_32_bits(top);
	rs->oseq = lower_32_bits(oseq);
	rs->oseq_hi = upper_32_bits(oseq);
	rs->replay_window = sa->replay.size;
	return 0;
}

/**
 * kipsec_xfrm_sa_put_attrs - the attributes that follow an SA's
 *                            xfrm_usersa_info (copy_to_user_state_extra())
 * @skb: the message
 * @sa: the SA
 *
 * Return: 0 or -EMSGSIZE.
 */
int kipsec_xfrm_sa_put_attrs(struct sk_buff *skb, struct kipsec_sa *sa)
{
	if ((sa->xflags &&
	     nla_put_u32(skb, XFRMA_SA_EXTRA_FLAGS, sa->xflags)) ||
	    sa_put_algs(skb, sa) || sa_put_encap(skb, sa) ||
	    (sa->tfcpad && nla_put_u32(skb, XFRMA_TFCPAD, sa->tfcpad)))
		return -EMSGSIZE;
	return kipsec_xfrm_put_replay(skb, sa);
}

/**
 * kipsec_xfrm_ptype_check - XFRMA_POLICY_TYPE: main, or absent
 * @attrs: the parsed request
 * @extack: the reason of a refusal
 *
 * Return: 0, -EOPNOTSUPP for sub policies, -EINVAL for anything else.
 */
int kipsec_xfrm_ptype_check(struct nlattr **attrs,
			    struct netlink_ext_ack *extack)
{
	const struct xfrm_userpolicy_type *upt;

	if (!attrs[XFRMA_POLICY_TYPE])
		return 0;
	upt = nla_data(attrs[XFRMA_POLICY_TYPE]);
	if (upt->type == XFRM_POLICY_TYPE_MAIN)
		return 0;
	if (upt->type == XFRM_POLICY_TYPE_SUB) {
		NL_SET_ERR_MSG(extack,
			       "kipsec: sub policies (ptype sub) are not supported; only ptype main");
		return -EOPNOTSUPP;
	}
	NL_SET_ERR_MSG(extack, "Invalid policy type");
	return -EINVAL;
}

/* verify_newpolicy_info() */
static int pol_check_info(const struct xfrm_userpolicy_info *p,
			  struct netlink_ext_ack *extack)
{
	if (p->share > XFRM_SHARE_UNIQUE) {
		NL_SET_ERR_MSG(extack, "Invalid policy share");
		return -EINVAL;
	}
	if (p->action != XFRM_POLICY_ALLOW && p->action != XFRM_POLICY_BLOCK) {
		NL_SET_ERR_MSG(extack, "Invalid policy action");
		return -EINVAL;
	}
	if (!family_ok(p->sel.family)) {
		NL_SET_ERR_MSG(extack, "Invalid selector family");
		return -EINVAL;
	}
	if (check_sel(&p->sel, extack))
		return -EINVAL;
	if (p->dir > XFRM_POLICY_FWD) {
		NL_SET_ERR_MSG(extack, "Invalid policy direction");
		return -EINVAL;
	}
	if (p->index && (p->index & 7) != p->dir) {
		NL_SET_ERR_MSG(extack, "Policy index doesn't match direction");
		return -EINVAL;
	}
	if (p->flags & ~XFRM_POLICY_ICMP) {
		NL_SET_ERR_MSG(extack, "kipsec: policy flag localok is not supported");
		return -EOPNOTSUPP;
	}
	return 0;
}

/* validate_tmpl() for the one template kipsec supports */
static int pol_check_tmpl(struct xfrm_user_tmpl *ut, u16 family, u8 dir,
			  struct netlink_ext_ack *extack)
{
	if (!ut->family)
		ut->family = family;
	if (ut->mode == XFRM_MODE_BEET ||
	    ut->mode == XFRM_MODE_ROUTEOPTIMIZATION) {
		NL_SET_ERR_MSG(extack,
			       "kipsec: only transport and tunnel mode templates are supported");
		return -EOPNOTSUPP;
	}
	if (ut->mode >= XFRM_MODE_MAX || ut->mode == XFRM_MODE_IN_TRIGGER) {
		NL_SET_ERR_MSG(extack, "Mode in template must be < XFRM_MODE_MAX (5)");
		return -EINVAL;
	}
	if (ut->mode == XFRM_MODE_TUNNEL && ut->optional &&
	    dir == XFRM_POLICY_OUT) {
		NL_SET_ERR_MSG(extack, "Mode in optional template not allowed in outbound policy");
		return -EINVAL;
	}
	if (ut->mode == XFRM_MODE_TRANSPORT && ut->family != family) {
		NL_SET_ERR_MSG(extack, "Mode in template doesn't support a family change");
		return -EINVAL;
	}
	if (!family_ok(ut->family)) {
		NL_SET_ERR_MSG(extack, "Invalid family in template");
		return -EINVAL;
	}
	if (ut->id.proto == IPPROTO_COMP) {
		NL_SET_ERR_MSG(extack, "kipsec: IPComp templates are not supported");
		return -EOPNOTSUPP;
	}
	if (ut->id.proto != IPPROTO_ESP && ut->id.proto != IPPROTO_AH) {
		NL_SET_ERR_MSG(extack, "Invalid XFRM protocol in template");
		return -EINVAL;
	}
	return 0;
}

static int pol_parse_tmpl(struct nlattr *a, struct kipsec_policy *pol,
			  struct netlink_ext_ack *extack)
{
	struct xfrm_user_tmpl *ut;
	struct kipsec_tmpl *t = &pol->tmpl;
	int nr, err;

	if (!a)
		return 0;
	nr = nla_len(a) / sizeof(*ut);
	if (nr > 1) {
		NL_SET_ERR_MSG_ATTR(extack, a,
				    "kipsec: policies with more than one template (bundles) are not supported");
		return -EOPNOTSUPP;
	}
	if (!nr)
		return 0;
	ut = nla_data(a);
	err = pol_check_tmpl(ut, pol->sel.family, pol->dir, extack);
	if (err)
		return err;
	memset(t, 0, sizeof(*t));
	t->family = ut->family;
	t->saddr = ut->saddr;
	t->daddr = ut->id.daddr;
	t->proto = ut->id.proto;
	t->spi = ut->id.spi;
	t->reqid = ut->reqid;
	t->mode = ut->mode;
	t->level = ut->optional ? KIPSEC_LEVEL_USE : KIPSEC_LEVEL_REQUIRED;
	pol->has_tmpl = true;
	return 0;
}

/**
 * kipsec_xfrm_pol_parse - a NEWPOLICY/UPDPOLICY request into @pol
 * @p: the request's struct xfrm_userpolicy_info
 * @attrs: its attributes
 * @pol: from kipsec_policy_alloc(), filled
 * @extack: the reason of a refusal
 *
 * Return: 0, -EINVAL, or -EOPNOTSUPP for what kipsec does not implement.
 */
int kipsec_xfrm_pol_parse(const struct xfrm_userpolicy_info *p,
			  struct nlattr **attrs, struct kipsec_policy *pol,
			  struct netlink_ext_ack *extack)
{
	int err;

	err = pol_check_info(p, extack);
	if (!err)
		err = kipsec_xfrm_ptype_check(attrs, extack);
	if (!err)
		err = kipsec_xfrm_check_unsupported(attrs, extack);
	if (err)
		return err;
	pol->sel = p->sel;
	pol->dir = p->dir;
	pol->priority = p->priority;
	pol->action = p->action;
	/* enum kipsec_pol_flags has xfrm's values */
	pol->flags = p->flags & XFRM_POLICY_ICMP;
	pol->index = p->index;
	lft_parse(&p->lft, &pol->lft);
	return pol_parse_tmpl(attrs[XFRMA_TMPL], pol, extack);
}

/**
 * kipsec_xfrm_pol_info - a policy as struct xfrm_userpolicy_info
 * @pol: the policy
 * @p: filled (copy_to_user_policy())
 */
void kipsec_xfrm_pol_info(struct kipsec_policy *pol,
			  struct xfrm_userpolicy_info *p)
{
	memset(p, 0, sizeof(*p));
	p->sel = pol->sel;
	kipsec_xfrm_lft_out(&pol->lft, &p->lft);
	p->curlft.add_time = pol->add_time;
	p->curlft.use_time = READ_ONCE(pol->use_time);
	p->priority = pol->priority;
	p->index = pol->index;
	p->dir = pol->dir;
	p->action = pol->action;
	p->flags = pol->flags;
	p->share = XFRM_SHARE_ANY;
}

/**
 * kipsec_xfrm_put_tmpl - XFRMA_TMPL with one template
 * @skb: the message
 * @t: the template
 * @sel_family: the policy's family, for a template without one
 *
 * Return: 0 or -EMSGSIZE.
 */
int kipsec_xfrm_put_tmpl(struct sk_buff *skb, const struct kipsec_tmpl *t,
			 u16 sel_family)
{
	struct xfrm_user_tmpl ut;

	memset(&ut, 0, sizeof(ut));
	ut.id.daddr = t->daddr;
	ut.id.spi = t->spi;
	ut.id.proto = t->proto;
	ut.family = t->family ? : sel_family;
	ut.saddr = t->saddr;
	ut.reqid = t->reqid;
	ut.mode = t->mode;
	ut.optional = t->level == KIPSEC_LEVEL_USE;
	/* kipsec does not restrict a template's algorithms */
	ut.aalgos = ~0U;
	ut.ealgos = ~0U;
	ut.calgos = ~0U;
	return nla_put(skb, XFRMA_TMPL, sizeof(ut), &ut);
}

/**
 * kipsec_xfrm_put_ptype - XFRMA_POLICY_TYPE main, as xfrm_user sends it
 *                         on a kernel with sub policies (Debian's)
 * @skb: the message
 *
 * Return: 0 or -EMSGSIZE.
 */
int kipsec_xfrm_put_ptype(struct sk_buff *skb)
{
	struct xfrm_userpolicy_type upt;

	memset(&upt, 0, sizeof(upt));
	upt.type = XFRM_POLICY_TYPE_MAIN;
	return nla_put(skb, XFRMA_POLICY_TYPE, sizeof(upt), &upt);
}
