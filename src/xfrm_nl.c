// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: the XFRM netlink personality.
 *
 * With the module parameter xfrm_netlink=1, kipsec owns the NETLINK_XFRM
 * kernel socket of every netns, in place of xfrm_user: `ip xfrm`,
 * strongSwan's kernel-netlink plugin and other IKE daemons then configure
 * kipsec with the messages they send to xfrm, unmodified.  Only one
 * module can own the socket of a netns, so kipsec refuses to load while
 * xfrm_user is loaded, and xfrm_user refuses to load while kipsec owns it.
 *
 * A second front end beside the generic netlink family (netlink.c): it
 * parses the XFRM structures (xfrm_conv.c) and commits through the same
 * core calls, kipsec_sa_setup() and kipsec_sa_add(), kipsec_policy_add(),
 * kipsec_sa_allocspi(), so both APIs see one SAD and one SPD.  Events are
 * raised by the core once (event.c) and rendered here for the XFRM
 * multicast groups, in xfrm_user's formats.
 *
 * Every message, reads included, needs CAP_NET_ADMIN in the user
 * namespace owning the netns, as xfrm_user requires.  Messages run in the
 * sender's context, in parallel; the core serialises writers on
 * kipsec_net.lock.
 */
#include <linux/module.h>
#include <linux/in.h>
#include <net/sock.h>
#include <linux/ipsec.h>
#include "xfrm_nl.h"

bool kipsec_xfrm_netlink __read_mostly;
module_param_named(xfrm_netlink, kipsec_xfrm_netlink, bool, 0444);
MODULE_PARM_DESC(xfrm_netlink,
		 "own the NETLINK_XFRM socket (ip xfrm, IKE daemons) instead of xfrm_user");

typedef int (*xfrm_doit_t)(struct sk_buff *skb, struct nlmsghdr *nlh,
			   struct nlattr **attrs,
			   struct netlink_ext_ack *extack);

static const struct nla_policy xfrma_policy[XFRMA_MAX + 1] = {
	[XFRMA_SA]		= { .len = sizeof(struct xfrm_usersa_info) },
	[XFRMA_POLICY]		= { .len = sizeof(struct xfrm_userpolicy_info) },
	[XFRMA_LASTUSED]	= { .type = NLA_U64 },
	[XFRMA_ALG_AUTH_TRUNC]	= { .len = sizeof(struct xfrm_algo_auth) },
	[XFRMA_ALG_AEAD]	= { .len = sizeof(struct xfrm_algo_aead) },
	[XFRMA_ALG_AUTH]	= { .len = sizeof(struct xfrm_algo) },
	[XFRMA_ALG_CRYPT]	= { .len = sizeof(struct xfrm_algo) },
	[XFRMA_ALG_COMP]	= { .len = sizeof(struct xfrm_algo) },
	[XFRMA_ENCAP]		= { .len = sizeof(struct xfrm_encap_tmpl) },
	[XFRMA_TMPL]		= { .len = sizeof(struct xfrm_user_tmpl) },
	[XFRMA_SEC_CTX]		= { .len = sizeof(struct xfrm_user_sec_ctx) },
	[XFRMA_LTIME_VAL]	= { .len = sizeof(struct xfrm_lifetime_cur) },
	[XFRMA_REPLAY_VAL]	= { .len = sizeof(struct xfrm_replay_state) },
	[XFRMA_REPLAY_THRESH]	= { .type = NLA_U32 },
	[XFRMA_ETIMER_THRESH]	= { .type = NLA_U32 },
	[XFRMA_SRCADDR]		= { .len = sizeof(xfrm_address_t) },
	[XFRMA_COADDR]		= { .len = sizeof(xfrm_address_t) },
	[XFRMA_POLICY_TYPE]	= { .len = sizeof(struct xfrm_userpolicy_type) },
	[XFRMA_MIGRATE]		= { .len = sizeof(struct xfrm_user_migrate) },
	[XFRMA_KMADDRESS]	= { .len = sizeof(struct xfrm_user_kmaddress) },
	[XFRMA_MARK]		= { .len = sizeof(struct xfrm_mark) },
	[XFRMA_TFCPAD]		= { .type = NLA_U32 },
	[XFRMA_REPLAY_ESN_VAL]	= { .len = sizeof(struct xfrm_replay_state_esn) },
	[XFRMA_SA_EXTRA_FLAGS]	= { .type = NLA_U32 },
	[XFRMA_PROTO]		= { .type = NLA_U8 },
	[XFRMA_ADDRESS_FILTER]	= { .len = sizeof(struct xfrm_address_filter) },
	[XFRMA_OFFLOAD_DEV]	= { .len = sizeof(struct xfrm_user_offload) },
	[XFRMA_SET_MARK]	= { .type = NLA_U32 },
	[XFRMA_SET_MARK_MASK]	= { .type = NLA_U32 },
	[XFRMA_IF_ID]		= { .type = NLA_U32 },
	[XFRMA_MTIMER_THRESH]	= { .type = NLA_U32 },
};

static const struct nla_policy xfrma_spd_policy[XFRMA_SPD_MAX + 1] = {
	[XFRMA_SPD_IPV4_HTHRESH] = { .len = sizeof(struct xfrmu_spdhthresh) },
	[XFRMA_SPD_IPV6_HTHRESH] = { .len = sizeof(struct xfrmu_spdhthresh) },
};

static struct kipsec_net *req_kn(const struct sk_buff *skb)
{
	return kipsec_pernet(sock_net(skb->sk));
}

/* answer the sender of @in with @msg; skb->sk is the kernel socket */
static int reply(struct sk_buff *in, struct sk_buff *msg)
{
	return nlmsg_unicast(in->sk, msg, NETLINK_CB(in).portid);
}

/* SAs */

/* an SA as an XFRM_MSG_NEWSA (dump, get, allocspi) or an event */
static int sa_fill(struct sk_buff *skb, struct kipsec_sa *sa, u32 portid,
		   u32 seq, int type, int flags)
{
	struct xfrm_usersa_info *p;
	struct nlmsghdr *nlh;

	nlh = nlmsg_put(skb, portid, seq, type, sizeof(*p), flags);
	if (!nlh)
		return -EMSGSIZE;
	p = nlmsg_data(nlh);
	kipsec_xfrm_sa_info(sa, p);
	if (kipsec_xfrm_sa_put_attrs(skb, sa)) {
		nlmsg_cancel(skb, nlh);
		return -EMSGSIZE;
	}
	nlmsg_end(skb, nlh);
	return 0;
}

/* answer @in with @sa as XFRM_MSG_NEWSA; drops the caller's reference */
static int sa_reply(struct sk_buff *in, struct nlmsghdr *nlh,
		    struct kipsec_sa *sa)
{
	struct sk_buff *msg;
	int err = -ENOMEM;

	msg = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (msg) {
		err = sa_fill(msg, sa, NETLINK_CB(in).portid, nlh->nlmsg_seq,
			      XFRM_MSG_NEWSA, 0);
		if (err)
			kfree_skb(msg);
		else
			err = reply(in, msg);
	}
	kipsec_sa_put(sa);
	return err;
}

/*
 * Zero-filled keys: the SA this socket deleted moments ago with the same
 * SPI, whose keyed transform the re-add takes over (kipsec_sa_keep()).
 * Keys are never returned, so this is how an IKE daemon moves an SA.
 */
static struct kipsec_sa *newsa_xform_from(struct sk_buff *skb,
					  const struct kipsec_sa_cfg *c,
					  struct netlink_ext_ack *extack)
{
	struct kipsec_sa *from;

	if (!kipsec_xfrm_keys_zero(&c->alg))
		return NULL;
	from = kipsec_sa_take_kept(req_kn(skb), c, NETLINK_CB(skb).portid);
	if (from)
		return from;
	NL_SET_ERR_MSG(extack,
		       "kipsec: an all-zero key is refused: keys are never returned, and no SA this socket deleted has this SPI");
	return ERR_PTR(-EINVAL);
}

static int xfrm_nl_newsa(struct sk_buff *skb, struct nlmsghdr *nlh,
			 struct nlattr **attrs, struct netlink_ext_ack *extack)
{
	bool update = nlh->nlmsg_type == XFRM_MSG_UPDSA;
	struct kipsec_sa_cfg c = {};
	struct kipsec_sa *sa, *from;
	int err;

	err = kipsec_xfrm_sa_parse(nlmsg_data(nlh), attrs, &c, extack);
	if (err)
		goto out;
	from = newsa_xform_from(skb, &c, extack);
	if (IS_ERR(from)) {
		err = PTR_ERR(from);
		goto out;
	}
	sa = kipsec_sa_alloc();
	err = sa ? kipsec_sa_setup(sa, &c, from, extack) : -ENOMEM;
	if (!err)
		err = kipsec_sa_add(req_kn(skb), sa, update, c.set, extack);
	if (err)
		kipsec_sa_put(sa);
	kipsec_sa_put(from);
out:
	/* the transform has its own copy: wipe the ones in the request */
	kipsec_xfrm_wipe_keys(attrs);
	return err;
}

/* the SA of an xfrm_usersa_id, under kipsec_net.lock; -ESRCH if none */
static struct kipsec_sa *sa_find(struct kipsec_net *kn,
				 const struct xfrm_usersa_id *id,
				 struct netlink_ext_ack *extack)
{
	struct kipsec_sa_key key;
	struct kipsec_sa *sa = NULL;

	lockdep_assert_held(&kn->lock);
	if (id->family == AF_INET || id->family == AF_INET6) {
		kipsec_sa_key_init(&key, id->family, &id->daddr, id->spi,
				   id->proto);
		sa = kipsec_sa_find_locked(kn, &key);
	}
	if (!sa) {
		NL_SET_ERR_MSG_MOD(extack, "no such SA");
		return ERR_PTR(-ESRCH);
	}
	return sa;
}

static int xfrm_nl_delsa(struct sk_buff *skb, struct nlmsghdr *nlh,
			 struct nlattr **attrs, struct netlink_ext_ack *extack)
{
	struct kipsec_net *kn = req_kn(skb);
	struct kipsec_sa *sa;
	int err;

	err = kipsec_xfrm_check_unsupported(attrs, extack);
	if (err)
		return err;
	mutex_lock(&kn->lock);
	sa = sa_find(kn, nlmsg_data(nlh), extack);
	if (!IS_ERR(sa)) {
		kipsec_sa_hold(sa);
		kipsec_sa_unlink(kn, sa);
		/* for a re-add from a GETSA reply (newsa_xform_from()) */
		if (sa->larval)
			kipsec_sa_put(sa);
		else
			kipsec_sa_keep(kn, sa, NETLINK_CB(skb).portid);
	}
	mutex_unlock(&kn->lock);
	return PTR_ERR_OR_ZERO(sa);
}

static int xfrm_nl_getsa(struct sk_buff *skb, struct nlmsghdr *nlh,
			 struct nlattr **attrs, struct netlink_ext_ack *extack)
{
	struct kipsec_net *kn = req_kn(skb);
	struct kipsec_sa *sa;
	int err;

	err = kipsec_xfrm_check_unsupported(attrs, extack);
	if (err)
		return err;
	mutex_lock(&kn->lock);
	sa = sa_find(kn, nlmsg_data(nlh), extack);
	if (!IS_ERR(sa))
		kipsec_sa_hold(sa);
	mutex_unlock(&kn->lock);
	if (IS_ERR(sa))
		return PTR_ERR(sa);
	return sa_reply(skb, nlh, sa);
}

/*
 * SA dump state in cb->args: [0] set once the request is parsed, [1] its
 * struct xfrm_address_filter (or NULL), [2] the protocol asked for,
 * [3] the SAs dumped so far.
 */
static bool prefix_match(const xfrm_address_t *a, const xfrm_address_t *b,
			 u8 plen)
{
	const u8 *x = (const u8 *)a, *y = (const u8 *)b;
	unsigned int bytes = plen / 8, bits = plen % 8;

	if (memcmp(x, y, bytes))
		return false;
	return !bits || !((x[bytes] ^ y[bytes]) & (0xff00 >> bits));
}

/* xfrm_state_filter_match() and xfrm_id_proto_match() */
static bool sa_dump_match(struct kipsec_sa *sa, struct netlink_callback *cb)
{
	const struct xfrm_address_filter *f = (void *)cb->args[1];
	u8 proto = cb->args[2];

	if (proto && proto != IPSEC_PROTO_ANY && proto != sa->key.proto)
		return false;
	if (!f)
		return true;
	if ((f->family == AF_INET || f->family == AF_INET6) &&
	    f->family != sa->key.family)
		return false;
	return prefix_match(&sa->saddr, &f->saddr, f->splen) &&
	       prefix_match(&sa->key.daddr, &f->daddr, f->dplen);
}

static int sa_dump_start(struct netlink_callback *cb)
{
	struct nlattr *attrs[XFRMA_MAX + 1];
	struct xfrm_address_filter *f;
	int err;

	err = nlmsg_parse_deprecated(cb->nlh, 0, attrs, XFRMA_MAX,
				     xfrma_policy, cb->extack);
	if (err)
		return err;
	if (attrs[XFRMA_ADDRESS_FILTER]) {
		f = kmemdup(nla_data(attrs[XFRMA_ADDRESS_FILTER]), sizeof(*f),
			    GFP_KERNEL);
		if (!f)
			return -ENOMEM;
		if (f->splen > 128 || f->dplen > 128) {
			kfree(f);
			return -EINVAL;
		}
		cb->args[1] = (long)f;
	}
	if (attrs[XFRMA_PROTO])
		cb->args[2] = nla_get_u8(attrs[XFRMA_PROTO]);
	cb->args[0] = 1;
	return 0;
}

static int sa_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct kipsec_net *kn = kipsec_pernet(sock_net(skb->sk));
	long idx = 0, skip = cb->args[3];
	struct kipsec_sa *sa;
	int err = 0;

	if (!cb->args[0]) {
		err = sa_dump_start(cb);
		if (err)
			return err;
	}
	mutex_lock(&kn->lock);
	/* newest first, as xfrm_state_walk() lists them */
	list_for_each_entry_reverse(sa, &kn->sa_list, list) {
		if (idx++ < skip || !sa_dump_match(sa, cb))
			continue;
		err = sa_fill(skb, sa, NETLINK_CB(cb->skb).portid,
			      cb->nlh->nlmsg_seq, XFRM_MSG_NEWSA, NLM_F_MULTI);
		if (err) {
			idx--;
			break;
		}
	}
	mutex_unlock(&kn->lock);
	cb->args[3] = idx;
	if (err && !skb->len)
		return err;
	return skb->len;
}

static int sa_dump_done(struct netlink_callback *cb)
{
	kfree((void *)cb->args[1]);
	return 0;
}

static int xfrm_nl_flushsa(struct sk_buff *skb, struct nlmsghdr *nlh,
			   struct nlattr **attrs,
			   struct netlink_ext_ack *extack)
{
	const struct xfrm_usersa_flush *p = nlmsg_data(nlh);
	struct kipsec_net *kn = req_kn(skb);
	u8 proto = p->proto == IPSEC_PROTO_ANY ? 0 : p->proto;

	mutex_lock(&kn->lock);
	kipsec_sa_flush(kn, proto);
	mutex_unlock(&kn->lock);
	return 0;
}

/* verify_spi_info() */
static int spi_check(const struct xfrm_userspi_info *p,
		     struct netlink_ext_ack *extack)
{
	u8 proto = p->info.id.proto;

	if (proto == IPPROTO_COMP) {
		NL_SET_ERR_MSG(extack, "kipsec: IPComp is not supported");
		return -EOPNOTSUPP;
	}
	if (proto != IPPROTO_ESP && proto != IPPROTO_AH) {
		NL_SET_ERR_MSG(extack, "Invalid protocol");
		return -EINVAL;
	}
	if (p->min > p->max) {
		NL_SET_ERR_MSG(extack, "Invalid SPI range: min > max");
		return -EINVAL;
	}
	return 0;
}

static int xfrm_nl_allocspi(struct sk_buff *skb, struct nlmsghdr *nlh,
			    struct nlattr **attrs,
			    struct netlink_ext_ack *extack)
{
	const struct xfrm_userspi_info *p = nlmsg_data(nlh);
	struct kipsec_spi_req req = {};
	struct kipsec_sa *sa;
	int err;

	err = spi_check(p, extack);
	if (!err)
		err = kipsec_xfrm_check_unsupported(attrs, extack);
	if (err)
		return err;
	req.family = p->info.family;
	req.saddr = p->info.saddr;
	req.daddr = p->info.id.daddr;
	req.proto = p->info.id.proto;
	req.mode = p->info.mode;
	req.reqid = p->info.reqid;
	req.seq = p->info.seq;
	req.min = p->min;
	req.max = p->max;
	sa = kipsec_sa_allocspi(req_kn(skb), &req, extack);
	if (IS_ERR(sa))
		return PTR_ERR(sa);
	return sa_reply(skb, nlh, sa);
}

/* the struct xfrm_usersa_id that names @sa in NEWAE, DELSA and MAPPING */
static void sa_id_fill(struct xfrm_usersa_id *id, const struct kipsec_sa *sa)
{
	id->daddr = sa->key.daddr;
	id->spi = sa->key.spi;
	id->family = sa->key.family;
	id->proto = sa->key.proto;
}

/* NEWAE/GETAE: the replay state and the usage of an SA */
static int ae_fill(struct sk_buff *skb, struct kipsec_sa *sa,
		   const struct xfrm_aevent_id *req, u32 portid, u32 seq)
{
	struct xfrm_lifetime_cur cur;
	struct xfrm_aevent_id *id;
	struct nlmsghdr *nlh;

	nlh = nlmsg_put(skb, portid, seq, XFRM_MSG_NEWAE, sizeof(*id), 0);
	if (!nlh)
		return -EMSGSIZE;
	id = nlmsg_data(nlh);
	memset(id, 0, sizeof(*id));
	sa_id_fill(&id->sa_id, sa);
	id->saddr = sa->saddr;
	id->reqid = sa->reqid;
	id->flags = req->flags;
	kipsec_xfrm_sa_curlft(sa, &cur);
	/* kipsec sends no asynchronous events: both thresholds are 0 */
	if (kipsec_xfrm_put_replay(skb, sa) ||
	    nla_put_64bit(skb, XFRMA_LTIME_VAL, sizeof(cur), &cur,
			  XFRMA_PAD) ||
	    ((req->flags & XFRM_AE_RTHR) &&
	     nla_put_u32(skb, XFRMA_REPLAY_THRESH, 0)) ||
	    ((req->flags & XFRM_AE_ETHR) &&
	     nla_put_u32(skb, XFRMA_ETIMER_THRESH, 0))) {
		nlmsg_cancel(skb, nlh);
		return -EMSGSIZE;
	}
	nlmsg_end(skb, nlh);
	return 0;
}

static int xfrm_nl_getae(struct sk_buff *skb, struct nlmsghdr *nlh,
			 struct nlattr **attrs, struct netlink_ext_ack *extack)
{
	const struct xfrm_aevent_id *p = nlmsg_data(nlh);
	struct kipsec_net *kn = req_kn(skb);
	struct kipsec_sa *sa;
	struct sk_buff *msg;
	int err;

	err = kipsec_xfrm_check_unsupported(attrs, extack);
	if (err)
		return err;
	msg = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&kn->lock);
	sa = sa_find(kn, &p->sa_id, extack);
	err = PTR_ERR_OR_ZERO(sa);
	if (!err)
		err = ae_fill(msg, sa, p, NETLINK_CB(skb).portid,
			      nlh->nlmsg_seq);
	mutex_unlock(&kn->lock);
	if (err) {
		kfree_skb(msg);
		return err;
	}
	return reply(skb, msg);
}

/*
 * Setting the replay state or the usage of an installed SA is refused:
 * an IKE daemon moving an SA (MOBIKE) adds the new SA with its replay
 * state instead (XFRMA_REPLAY_VAL or XFRMA_REPLAY_ESN_VAL on NEWSA).
 */
static int xfrm_nl_newae(struct sk_buff *skb, struct nlmsghdr *nlh,
			 struct nlattr **attrs, struct netlink_ext_ack *extack)
{
	NL_SET_ERR_MSG(extack,
		       "kipsec: NEWAE (setting the replay state or usage of an installed SA) is not supported");
	return -EOPNOTSUPP;
}

static int xfrm_nl_getsadinfo(struct sk_buff *skb, struct nlmsghdr *nlh,
			      struct nlattr **attrs,
			      struct netlink_ext_ack *extack)
{
	struct kipsec_net *kn = req_kn(skb);
	struct xfrmu_sadhinfo sh = {};
	struct nlmsghdr *rnlh;
	struct sk_buff *msg;
	u32 count;

	msg = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	rnlh = nlmsg_put(msg, NETLINK_CB(skb).portid, nlh->nlmsg_seq,
			 XFRM_MSG_NEWSADINFO, sizeof(u32), 0);
	if (!rnlh)
		goto err;
	*(u32 *)nlmsg_data(rnlh) = *(u32 *)nlmsg_data(nlh);
	mutex_lock(&kn->lock);
	count = kn->sa_count;
	mutex_unlock(&kn->lock);
	/* no hash to speak of: the count, and the most the SAD may hold */
	sh.sadhcnt = count;
	sh.sadhmcnt = READ_ONCE(kn->sa_max);
	if (nla_put_u32(msg, XFRMA_SAD_CNT, count) ||
	    nla_put(msg, XFRMA_SAD_HINFO, sizeof(sh), &sh))
		goto err;
	nlmsg_end(msg, rnlh);
	return reply(skb, msg);
err:
	kfree_skb(msg);
	return -EMSGSIZE;
}

/* Policies */

static int pol_fill(struct sk_buff *skb, struct kipsec_policy *pol,
		    u32 portid, u32 seq, int flags)
{
	struct xfrm_userpolicy_info *p;
	struct nlmsghdr *nlh;

	nlh = nlmsg_put(skb, portid, seq, XFRM_MSG_NEWPOLICY, sizeof(*p),
			flags);
	if (!nlh)
		return -EMSGSIZE;
	p = nlmsg_data(nlh);
	kipsec_xfrm_pol_info(pol, p);
	if ((pol->has_tmpl &&
	     kipsec_xfrm_put_tmpl(skb, &pol->tmpl, pol->sel.family)) ||
	    kipsec_xfrm_put_ptype(skb)) {
		nlmsg_cancel(skb, nlh);
		return -EMSGSIZE;
	}
	nlmsg_end(skb, nlh);
	return 0;
}

static int xfrm_nl_newpolicy(struct sk_buff *skb, struct nlmsghdr *nlh,
			     struct nlattr **attrs,
			     struct netlink_ext_ack *extack)
{
	bool update = nlh->nlmsg_type == XFRM_MSG_UPDPOLICY;
	struct kipsec_policy *pol;
	int err;

	pol = kipsec_policy_alloc();
	if (!pol)
		return -ENOMEM;
	err = kipsec_xfrm_pol_parse(nlmsg_data(nlh), attrs, pol, extack);
	if (!err)
		err = kipsec_policy_add(req_kn(skb), pol, update, extack);
	if (err)
		kipsec_policy_free(pol);
	return err;
}

/* the policy of an xfrm_userpolicy_id, under kipsec_net.lock */
static struct kipsec_policy *pol_find(struct kipsec_net *kn,
				      const struct xfrm_userpolicy_id *p,
				      struct nlattr **attrs,
				      struct netlink_ext_ack *extack)
{
	struct kipsec_policy *pol;
	int err;

	lockdep_assert_held(&kn->lock);
	err = kipsec_xfrm_ptype_check(attrs, extack);
	if (!err)
		err = kipsec_xfrm_check_unsupported(attrs, extack);
	if (err)
		return ERR_PTR(err);
	if (p->dir > XFRM_POLICY_FWD) {
		NL_SET_ERR_MSG(extack, "Invalid policy direction");
		return ERR_PTR(-EINVAL);
	}
	if (p->index) {
		pol = kipsec_policy_find_index_locked(kn, p->index);
		if (pol && pol->dir != p->dir)
			pol = NULL;
	} else {
		pol = kipsec_policy_find_locked(kn, p->dir, &p->sel);
	}
	if (!pol) {
		NL_SET_ERR_MSG_MOD(extack, "no such policy");
		return ERR_PTR(-ENOENT);
	}
	return pol;
}

/* DELPOLICY and GETPOLICY, as xfrm_user's xfrm_get_policy() */
static int xfrm_nl_getpolicy(struct sk_buff *skb, struct nlmsghdr *nlh,
			     struct nlattr **attrs,
			     struct netlink_ext_ack *extack)
{
	bool delete = nlh->nlmsg_type == XFRM_MSG_DELPOLICY;
	struct kipsec_net *kn = req_kn(skb);
	struct kipsec_policy *pol;
	struct sk_buff *msg = NULL;
	int err;

	if (!delete) {
		msg = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
		if (!msg)
			return -ENOMEM;
	}
	mutex_lock(&kn->lock);
	pol = pol_find(kn, nlmsg_data(nlh), attrs, extack);
	err = PTR_ERR_OR_ZERO(pol);
	if (!err && delete)
		kipsec_policy_unlink(kn, pol);
	else if (!err)
		err = pol_fill(msg, pol, NETLINK_CB(skb).portid,
			       nlh->nlmsg_seq, 0);
	mutex_unlock(&kn->lock);
	if (err || delete) {
		kfree_skb(msg);
		return err;
	}
	return reply(skb, msg);
}

/* policy dump cursor: cb->args[0] direction, cb->args[1] position in it */
static int pol_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct kipsec_net *kn = kipsec_pernet(sock_net(skb->sk));
	struct kipsec_policy *pol;
	int dir, err = 0;
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
			cb->args[1] = idx;
		}
		cb->args[1] = 0;
		cb->args[0] = dir + 1;
	}
out:
	mutex_unlock(&kn->lock);
	if (err && !skb->len)
		return err;
	return skb->len;
}

static int xfrm_nl_flushpolicy(struct sk_buff *skb, struct nlmsghdr *nlh,
			       struct nlattr **attrs,
			       struct netlink_ext_ack *extack)
{
	struct kipsec_net *kn = req_kn(skb);
	int err;

	err = kipsec_xfrm_ptype_check(attrs, extack);
	if (err)
		return err;
	mutex_lock(&kn->lock);
	kipsec_policy_flush(kn);
	mutex_unlock(&kn->lock);
	return 0;
}

static int xfrm_nl_getspdinfo(struct sk_buff *skb, struct nlmsghdr *nlh,
			      struct nlattr **attrs,
			      struct netlink_ext_ack *extack)
{
	struct kipsec_net *kn = req_kn(skb);
	struct xfrmu_spdhthresh t4 = { 32, 32 }, t6 = { 128, 128 };
	struct xfrmu_spdhinfo sh = {};
	struct xfrmu_spdinfo si = {};
	struct kipsec_policy *pol;
	struct nlmsghdr *rnlh;
	struct sk_buff *msg;

	msg = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	rnlh = nlmsg_put(msg, NETLINK_CB(skb).portid, nlh->nlmsg_seq,
			 XFRM_MSG_NEWSPDINFO, sizeof(u32), 0);
	if (!rnlh)
		goto err;
	*(u32 *)nlmsg_data(rnlh) = *(u32 *)nlmsg_data(nlh);
	mutex_lock(&kn->lock);
	list_for_each_entry(pol, &kn->policies[KIPSEC_DIR_IN], list)
		si.incnt++;
	list_for_each_entry(pol, &kn->policies[KIPSEC_DIR_OUT], list)
		si.outcnt++;
	list_for_each_entry(pol, &kn->policies[KIPSEC_DIR_FWD], list)
		si.fwdcnt++;
	mutex_unlock(&kn->lock);
	sh.spdhcnt = si.incnt + si.outcnt + si.fwdcnt;
	sh.spdhmcnt = READ_ONCE(kn->policy_max);
	if (nla_put(msg, XFRMA_SPD_INFO, sizeof(si), &si) ||
	    nla_put(msg, XFRMA_SPD_HINFO, sizeof(sh), &sh) ||
	    nla_put(msg, XFRMA_SPD_IPV4_HTHRESH, sizeof(t4), &t4) ||
	    nla_put(msg, XFRMA_SPD_IPV6_HTHRESH, sizeof(t6), &t6))
		goto err;
	nlmsg_end(msg, rnlh);
	return reply(skb, msg);
err:
	kfree_skb(msg);
	return -EMSGSIZE;
}

/*
 * The prefix-length thresholds of xfrm's policy hash: checked as xfrm
 * does and accepted; kipsec hashes every (prefix lengths) shape in use,
 * so it has nothing to tune.
 */
static int xfrm_nl_newspdinfo(struct sk_buff *skb, struct nlmsghdr *nlh,
			      struct nlattr **attrs,
			      struct netlink_ext_ack *extack)
{
	struct nlattr *a4 = attrs[XFRMA_SPD_IPV4_HTHRESH];
	struct nlattr *a6 = attrs[XFRMA_SPD_IPV6_HTHRESH];
	const struct xfrmu_spdhthresh *t;

	if (a4) {
		t = nla_data(a4);
		if (t->lbits > 32 || t->rbits > 32)
			return -EINVAL;
	}
	if (a6) {
		t = nla_data(a6);
		if (t->lbits > 128 || t->rbits > 128)
			return -EINVAL;
	}
	return 0;
}

/* what kipsec does not implement, or what only the kernel sends */
static int xfrm_nl_unsupported(struct sk_buff *skb, struct nlmsghdr *nlh,
			       struct nlattr **attrs,
			       struct netlink_ext_ack *extack)
{
	NL_SET_ERR_MSG(extack, "kipsec: this XFRM message is not supported");
	return -EOPNOTSUPP;
}

/*
 * MIGRATE gets what xfrm_user built without CONFIG_XFRM_MIGRATE answers:
 * IKE daemons probe for that errno (libreswan's pluto sends an empty
 * MIGRATE and takes any other answer for support), and then refuse
 * MOBIKE up front instead of failing when an address moves.
 */
static int xfrm_nl_migrate(struct sk_buff *skb, struct nlmsghdr *nlh,
			   struct nlattr **attrs,
			   struct netlink_ext_ack *extack)
{
	NL_SET_ERR_MSG(extack, "kipsec: XFRM_MSG_MIGRATE is not supported");
	return -ENOPROTOOPT;
}

#define T(type)	((type) - XFRM_MSG_BASE)

/**
 * struct kipsec_xfrm_link - how one XFRM message type is handled
 * @doit: the handler of a request
 * @dump: the dump of a GET with NLM_F_DUMP, or NULL
 * @done: the end of that dump, or NULL
 * @min: the size of the message's fixed header (xfrm_msg_min)
 * @nla_pol: the attribute policy, xfrma_policy when NULL
 * @nla_max: its highest attribute
 */
struct kipsec_xfrm_link {
	xfrm_doit_t doit;
	int (*dump)(struct sk_buff *skb, struct netlink_callback *cb);
	int (*done)(struct netlink_callback *cb);
	unsigned int min;
	const struct nla_policy *nla_pol;
	int nla_max;
};

static const struct kipsec_xfrm_link xfrm_nl_links[XFRM_NR_MSGTYPES] = {
	[T(XFRM_MSG_NEWSA)] = { xfrm_nl_newsa, NULL, NULL,
		sizeof(struct xfrm_usersa_info) },
	[T(XFRM_MSG_DELSA)] = { xfrm_nl_delsa, NULL, NULL,
		sizeof(struct xfrm_usersa_id) },
	[T(XFRM_MSG_GETSA)] = { xfrm_nl_getsa, sa_dump, sa_dump_done,
		sizeof(struct xfrm_usersa_id) },
	[T(XFRM_MSG_NEWPOLICY)] = { xfrm_nl_newpolicy, NULL, NULL,
		sizeof(struct xfrm_userpolicy_info) },
	[T(XFRM_MSG_DELPOLICY)] = { xfrm_nl_getpolicy, NULL, NULL,
		sizeof(struct xfrm_userpolicy_id) },
	[T(XFRM_MSG_GETPOLICY)] = { xfrm_nl_getpolicy, pol_dump, NULL,
		sizeof(struct xfrm_userpolicy_id) },
	[T(XFRM_MSG_ALLOCSPI)] = { xfrm_nl_allocspi, NULL, NULL,
		sizeof(struct xfrm_userspi_info) },
	[T(XFRM_MSG_ACQUIRE)] = { xfrm_nl_unsupported, NULL, NULL,
		sizeof(struct xfrm_user_acquire) },
	[T(XFRM_MSG_EXPIRE)] = { xfrm_nl_unsupported, NULL, NULL,
		sizeof(struct xfrm_user_expire) },
	[T(XFRM_MSG_UPDPOLICY)] = { xfrm_nl_newpolicy, NULL, NULL,
		sizeof(struct xfrm_userpolicy_info) },
	[T(XFRM_MSG_UPDSA)] = { xfrm_nl_newsa, NULL, NULL,
		sizeof(struct xfrm_usersa_info) },
	[T(XFRM_MSG_POLEXPIRE)] = { xfrm_nl_unsupported, NULL, NULL,
		sizeof(struct xfrm_user_polexpire) },
	[T(XFRM_MSG_FLUSHSA)] = { xfrm_nl_flushsa, NULL, NULL,
		sizeof(struct xfrm_usersa_flush) },
	[T(XFRM_MSG_FLUSHPOLICY)] = { xfrm_nl_flushpolicy, NULL, NULL, 0 },
	[T(XFRM_MSG_NEWAE)] = { xfrm_nl_newae, NULL, NULL,
		sizeof(struct xfrm_aevent_id) },
	[T(XFRM_MSG_GETAE)] = { xfrm_nl_getae, NULL, NULL,
		sizeof(struct xfrm_aevent_id) },
	[T(XFRM_MSG_REPORT)] = { xfrm_nl_unsupported, NULL, NULL,
		sizeof(struct xfrm_user_report) },
	[T(XFRM_MSG_MIGRATE)] = { xfrm_nl_migrate, NULL, NULL,
		sizeof(struct xfrm_userpolicy_id) },
	[T(XFRM_MSG_GETSADINFO)] = { xfrm_nl_getsadinfo, NULL, NULL,
		sizeof(u32) },
	[T(XFRM_MSG_NEWSPDINFO)] = { xfrm_nl_newspdinfo, NULL, NULL,
		sizeof(u32), xfrma_spd_policy, XFRMA_SPD_MAX },
	[T(XFRM_MSG_GETSPDINFO)] = { xfrm_nl_getspdinfo, NULL, NULL,
		sizeof(u32) },
	[T(XFRM_MSG_MAPPING)] = { xfrm_nl_unsupported, NULL, NULL,
		sizeof(struct xfrm_user_mapping) },
	[T(XFRM_MSG_SETDEFAULT)] = { xfrm_nl_unsupported, NULL, NULL,
		sizeof(struct xfrm_userpolicy_default) },
	[T(XFRM_MSG_GETDEFAULT)] = { xfrm_nl_unsupported, NULL, NULL,
		sizeof(struct xfrm_userpolicy_default) },
};

static int xfrm_nl_dump_start(struct sk_buff *skb, struct nlmsghdr *nlh,
			      const struct kipsec_xfrm_link *link)
{
	struct netlink_dump_control c = {
		.dump = link->dump,
		.done = link->done,
	};

	if (!link->dump)
		return -EINVAL;
	return netlink_dump_start(skb->sk, skb, nlh, &c);
}

static int xfrm_nl_rcv_msg(struct sk_buff *skb, struct nlmsghdr *nlh,
			   struct netlink_ext_ack *extack)
{
	struct nlattr *attrs[XFRMA_MAX + 1];
	const struct kipsec_xfrm_link *link;
	int type = nlh->nlmsg_type;
	int err;

	if (type < XFRM_MSG_BASE || type > XFRM_MSG_MAX)
		return -EINVAL;
	link = &xfrm_nl_links[T(type)];
	/* all messages need privileges, even GET, as in xfrm_user */
	if (!netlink_net_capable(skb, CAP_NET_ADMIN))
		return -EPERM;
	if ((type == XFRM_MSG_GETSA || type == XFRM_MSG_GETPOLICY) &&
	    (nlh->nlmsg_flags & NLM_F_DUMP))
		return xfrm_nl_dump_start(skb, nlh, link);
	if (!link->doit)
		return -EINVAL;
	err = nlmsg_parse_deprecated(nlh, link->min, attrs,
				     link->nla_max ? : XFRMA_MAX,
				     link->nla_pol ? : xfrma_policy, extack);
	if (err)
		return err;
	return link->doit(skb, nlh, attrs, extack);
}

static void xfrm_nl_rcv(struct sk_buff *skb)
{
	netlink_rcv_skb(skb, xfrm_nl_rcv_msg);
}

/* Events: rendered as xfrm_user renders them, for its groups */

/* send @skb to @group of @net's XFRM socket, or drop it */
static void xfrm_nl_mcast(struct net *net, struct sk_buff *skb, u32 group)
{
	struct kipsec_net *kn = kipsec_pernet(net);
	struct sock *nlsk;

	rcu_read_lock();
	nlsk = rcu_dereference(kn->xfrm_nlsk);
	if (nlsk)
		nlmsg_multicast(nlsk, skb, 0, group, GFP_ATOMIC);
	else
		kfree_skb(skb);
	rcu_read_unlock();
}

/* a message for @group, or NULL when nobody listens (or no memory) */
static struct sk_buff *xfrm_nl_event_new(struct net *net, u32 group,
					 gfp_t gfp)
{
	struct kipsec_net *kn = kipsec_pernet(net);
	struct sock *nlsk;
	bool listen;

	if (!kipsec_xfrm_netlink)
		return NULL;
	rcu_read_lock();
	nlsk = rcu_dereference(kn->xfrm_nlsk);
	listen = nlsk && netlink_has_listeners(nlsk, group);
	rcu_read_unlock();
	return listen ? nlmsg_new(NLMSG_DEFAULT_SIZE, gfp) : NULL;
}

/* XFRM_MSG_EXPIRE: build_expire() */
static int sa_expire_fill(struct sk_buff *skb, struct kipsec_sa *sa, u8 hard)
{
	struct xfrm_user_expire *ue;
	struct nlmsghdr *nlh;

	nlh = nlmsg_put(skb, 0, 0, XFRM_MSG_EXPIRE, sizeof(*ue), 0);
	if (!nlh)
		return -EMSGSIZE;
	ue = nlmsg_data(nlh);
	memset(ue, 0, sizeof(*ue));
	kipsec_xfrm_sa_info(sa, &ue->state);
	ue->hard = hard;
	nlmsg_end(skb, nlh);
	return 0;
}

/* XFRM_MSG_DELSA: the SA's id, then XFRMA_SA and the usual attributes */
static int sa_del_fill(struct sk_buff *skb, struct kipsec_sa *sa)
{
	struct xfrm_usersa_id *id;
	struct nlmsghdr *nlh;
	struct nlattr *a;

	nlh = nlmsg_put(skb, 0, 0, XFRM_MSG_DELSA, sizeof(*id), 0);
	if (!nlh)
		return -EMSGSIZE;
	id = nlmsg_data(nlh);
	memset(id, 0, sizeof(*id));
	sa_id_fill(id, sa);
	a = nla_reserve(skb, XFRMA_SA, sizeof(struct xfrm_usersa_info));
	if (!a || kipsec_xfrm_sa_put_attrs(skb, sa)) {
		nlmsg_cancel(skb, nlh);
		return -EMSGSIZE;
	}
	kipsec_xfrm_sa_info(sa, nla_data(a));
	nlmsg_end(skb, nlh);
	return 0;
}

/**
 * kipsec_xfrm_notify_sa - render an SA event for the XFRM groups
 * @net: the SA's netns
 * @sa: the SA
 * @ev: KIPSEC_EV_SA_*: add, update and delete go to XFRMNLGRP_SA as
 *      NEWSA, UPDSA and DELSA; expiries to XFRMNLGRP_EXPIRE as EXPIRE
 *
 * Process context, kipsec_net.lock held (event.c).
 */
void kipsec_xfrm_notify_sa(struct net *net, struct kipsec_sa *sa,
			   enum kipsec_event ev)
{
	bool expire = ev == KIPSEC_EV_SA_SOFT_EXPIRE ||
		      ev == KIPSEC_EV_SA_HARD_EXPIRE;
	u32 group = expire ? XFRMNLGRP_EXPIRE : XFRMNLGRP_SA;
	struct sk_buff *skb;
	int err;

	skb = xfrm_nl_event_new(net, group, GFP_KERNEL);
	if (!skb)
		return;
	if (expire)
		err = sa_expire_fill(skb, sa, ev == KIPSEC_EV_SA_HARD_EXPIRE);
	else if (ev == KIPSEC_EV_SA_DEL)
		err = sa_del_fill(skb, sa);
	else
		err = sa_fill(skb, sa, 0, 0, ev == KIPSEC_EV_SA_UPDATE ?
			      XFRM_MSG_UPDSA : XFRM_MSG_NEWSA, 0);
	if (err) {
		kfree_skb(skb);
		return;
	}
	xfrm_nl_mcast(net, skb, group);
}

/* the attributes after a policy: its template and the policy type */
static int pol_put_attrs(struct sk_buff *skb, struct kipsec_policy *pol)
{
	if (pol->has_tmpl &&
	    kipsec_xfrm_put_tmpl(skb, &pol->tmpl, pol->sel.family))
		return -EMSGSIZE;
	return kipsec_xfrm_put_ptype(skb);
}

/* NEWPOLICY, UPDPOLICY, DELPOLICY events: xfrm_notify_policy() */
static int pol_event_fill(struct sk_buff *skb, struct kipsec_policy *pol,
			  int type)
{
	struct xfrm_userpolicy_info *p;
	struct xfrm_userpolicy_id *id;
	struct nlmsghdr *nlh;
	struct nlattr *a;

	if (type != XFRM_MSG_DELPOLICY) {
		nlh = nlmsg_put(skb, 0, 0, type, sizeof(*p), 0);
		if (!nlh)
			return -EMSGSIZE;
		p = nlmsg_data(nlh);
	} else {
		nlh = nlmsg_put(skb, 0, 0, type, sizeof(*id), 0);
		if (!nlh)
			return -EMSGSIZE;
		id = nlmsg_data(nlh);
		memset(id, 0, sizeof(*id));
		id->dir = pol->dir;
		id->sel = pol->sel;
		a = nla_reserve(skb, XFRMA_POLICY, sizeof(*p));
		if (!a)
			goto cancel;
		p = nla_data(a);
	}
	kipsec_xfrm_pol_info(pol, p);
	if (pol_put_attrs(skb, pol))
		goto cancel;
	nlmsg_end(skb, nlh);
	return 0;
cancel:
	nlmsg_cancel(skb, nlh);
	return -EMSGSIZE;
}

/* XFRM_MSG_POLEXPIRE: build_polexpire() */
static int pol_expire_fill(struct sk_buff *skb, struct kipsec_policy *pol,
			   u8 hard)
{
	struct xfrm_user_polexpire *upe;
	struct nlmsghdr *nlh;

	nlh = nlmsg_put(skb, 0, 0, XFRM_MSG_POLEXPIRE, sizeof(*upe), 0);
	if (!nlh)
		return -EMSGSIZE;
	upe = nlmsg_data(nlh);
	memset(upe, 0, sizeof(*upe));
	kipsec_xfrm_pol_info(pol, &upe->pol);
	upe->hard = hard;
	if (pol_put_attrs(skb, pol)) {
		nlmsg_cancel(skb, nlh);
		return -EMSGSIZE;
	}
	nlmsg_end(skb, nlh);
	return 0;
}

/**
 * kipsec_xfrm_notify_policy - render a policy event for the XFRM groups
 * @net: the policy's netns
 * @pol: the policy
 * @ev: KIPSEC_EV_POLICY_*: add, update and delete go to XFRMNLGRP_POLICY,
 *      expiries to XFRMNLGRP_EXPIRE as POLEXPIRE
 *
 * Process context, kipsec_net.lock held (event.c).
 */
void kipsec_xfrm_notify_policy(struct net *net, struct kipsec_policy *pol,
			       enum kipsec_event ev)
{
	bool expire = ev == KIPSEC_EV_POLICY_SOFT_EXPIRE ||
		      ev == KIPSEC_EV_POLICY_HARD_EXPIRE;
	u32 group = expire ? XFRMNLGRP_EXPIRE : XFRMNLGRP_POLICY;
	struct sk_buff *skb;
	int err, type;

	skb = xfrm_nl_event_new(net, group, GFP_KERNEL);
	if (!skb)
		return;
	if (expire) {
		err = pol_expire_fill(skb, pol,
				      ev == KIPSEC_EV_POLICY_HARD_EXPIRE);
	} else {
		type = ev == KIPSEC_EV_POLICY_ADD ? XFRM_MSG_NEWPOLICY :
		       ev == KIPSEC_EV_POLICY_UPDATE ? XFRM_MSG_UPDPOLICY :
		       XFRM_MSG_DELPOLICY;
		err = pol_event_fill(skb, pol, type);
	}
	if (err) {
		kfree_skb(skb);
		return;
	}
	xfrm_nl_mcast(net, skb, group);
}

/**
 * kipsec_xfrm_notify_flush - render a flush for the XFRM groups
 * @net: the netns
 * @ev: KIPSEC_EV_SA_FLUSH (FLUSHSA to XFRMNLGRP_SA) or
 *      KIPSEC_EV_POLICY_FLUSH (FLUSHPOLICY to XFRMNLGRP_POLICY)
 * @proto: the SA protocol flushed, 0 for all
 */
void kipsec_xfrm_notify_flush(struct net *net, enum kipsec_event ev,
			      u8 proto)
{
	bool sa = ev == KIPSEC_EV_SA_FLUSH;
	u32 group = sa ? XFRMNLGRP_SA : XFRMNLGRP_POLICY;
	struct xfrm_usersa_flush *p;
	struct nlmsghdr *nlh;
	struct sk_buff *skb;

	skb = xfrm_nl_event_new(net, group, GFP_KERNEL);
	if (!skb)
		return;
	nlh = nlmsg_put(skb, 0, 0, sa ? XFRM_MSG_FLUSHSA :
			XFRM_MSG_FLUSHPOLICY, sa ? sizeof(*p) : 0, 0);
	if (!nlh || (!sa && kipsec_xfrm_put_ptype(skb))) {
		kfree_skb(skb);
		return;
	}
	if (sa) {
		p = nlmsg_data(nlh);
		memset(p, 0, sizeof(*p));
		p->proto = proto;
	}
	nlmsg_end(skb, nlh);
	xfrm_nl_mcast(net, skb, group);
}

/* XFRM_MSG_ACQUIRE: build_acquire() */
static int acq_fill(struct sk_buff *skb, const struct kipsec_acq *acq)
{
	struct kipsec_lft_cfg none = {};
	struct xfrm_user_acquire *ua;
	struct nlmsghdr *nlh;

	nlh = nlmsg_put(skb, 0, 0, XFRM_MSG_ACQUIRE, sizeof(*ua), 0);
	if (!nlh)
		return -EMSGSIZE;
	ua = nlmsg_data(nlh);
	memset(ua, 0, sizeof(*ua));
	ua->id.daddr = acq->daddr;
	ua->id.proto = acq->proto;
	ua->saddr = acq->saddr;
	ua->sel = acq->sel;
	ua->policy.sel = acq->pol_sel;
	kipsec_xfrm_lft_out(&none, &ua->policy.lft);
	ua->policy.priority = acq->pol_priority;
	ua->policy.index = acq->pol_index;
	/* as xfrm: the policy is reported as outbound */
	ua->policy.dir = XFRM_POLICY_OUT;
	ua->policy.action = XFRM_POLICY_ALLOW;
	ua->policy.share = XFRM_SHARE_ANY;
	ua->aalgos = ~0U;
	ua->ealgos = ~0U;
	ua->calgos = ~0U;
	ua->seq = acq->seq;
	if (kipsec_xfrm_put_tmpl(skb, &acq->tmpl, acq->pol_sel.family) ||
	    kipsec_xfrm_put_ptype(skb)) {
		nlmsg_cancel(skb, nlh);
		return -EMSGSIZE;
	}
	nlmsg_end(skb, nlh);
	return 0;
}

/**
 * kipsec_xfrm_notify_acquire - render an acquire for XFRMNLGRP_ACQUIRE
 * @net: the netns
 * @acq: the acquire
 *
 * From the output hook: softirq, RCU held; allocates with GFP_ATOMIC.
 */
void kipsec_xfrm_notify_acquire(struct net *net, const struct kipsec_acq *acq)
{
	struct sk_buff *skb;

	skb = xfrm_nl_event_new(net, XFRMNLGRP_ACQUIRE, GFP_ATOMIC);
	if (!skb)
		return;
	if (acq_fill(skb, acq)) {
		kfree_skb(skb);
		return;
	}
	xfrm_nl_mcast(net, skb, XFRMNLGRP_ACQUIRE);
}

/* XFRM_MSG_MAPPING: build_mapping() */
static int mapping_fill(struct sk_buff *skb, const struct kipsec_sa *sa,
			const xfrm_address_t *naddr, __be16 nsport)
{
	struct xfrm_user_mapping *um;
	struct nlmsghdr *nlh;

	nlh = nlmsg_put(skb, 0, 0, XFRM_MSG_MAPPING, sizeof(*um), 0);
	if (!nlh)
		return -EMSGSIZE;
	um = nlmsg_data(nlh);
	memset(um, 0, sizeof(*um));
	sa_id_fill(&um->id, sa);
	um->reqid = sa->reqid;
	um->old_saddr = sa->saddr;
	um->new_saddr = *naddr;
	um->old_sport = sa->encap.sport;
	um->new_sport = nsport;
	nlmsg_end(skb, nlh);
	return 0;
}

/**
 * kipsec_xfrm_notify_mapping - render a NAT mapping change for
 *                              XFRMNLGRP_MAPPING, as xfrm_send_mapping()
 * @net: the SA's netns
 * @sa: the inbound ESP SA with UDP encapsulation, its old mapping
 * @naddr: the new outer source address
 * @nsport: the new UDP source port
 *
 * From the packet path: any context; allocates with GFP_ATOMIC.
 */
void kipsec_xfrm_notify_mapping(struct net *net, const struct kipsec_sa *sa,
				const xfrm_address_t *naddr, __be16 nsport)
{
	struct sk_buff *skb;

	skb = xfrm_nl_event_new(net, XFRMNLGRP_MAPPING, GFP_ATOMIC);
	if (!skb)
		return;
	if (mapping_fill(skb, sa, naddr, nsport)) {
		kfree_skb(skb);
		return;
	}
	xfrm_nl_mcast(net, skb, XFRMNLGRP_MAPPING);
}

/* The socket of each netns */

static int __net_init xfrm_nl_net_init(struct net *net)
{
	struct kipsec_net *kn = kipsec_pernet(net);
	struct netlink_kernel_cfg cfg = {
		.groups	= XFRMNLGRP_MAX,
		.input	= xfrm_nl_rcv,
	};
	struct sock *nlsk;

	nlsk = netlink_kernel_create(net, NETLINK_XFRM, &cfg);
	if (!nlsk) {
		pr_err("kipsec: xfrm_netlink=1: cannot create the NETLINK_XFRM socket; is xfrm_user loaded? (rmmod xfrm_user first, and keep it from loading: 'install xfrm_user /bin/false' in modprobe.d)\n");
		return -EBUSY;
	}
	kn->xfrm_nlsk_stash = nlsk;
	rcu_assign_pointer(kn->xfrm_nlsk, nlsk);
	return 0;
}

static void __net_exit xfrm_nl_net_pre_exit(struct net *net)
{
	RCU_INIT_POINTER(kipsec_pernet(net)->xfrm_nlsk, NULL);
}

/* after pre_exit and a grace period: no event can reach the socket */
static void __net_exit xfrm_nl_net_exit(struct net *net)
{
	struct kipsec_net *kn = kipsec_pernet(net);

	netlink_kernel_release(kn->xfrm_nlsk_stash);
	kn->xfrm_nlsk_stash = NULL;
}

static struct pernet_operations xfrm_nl_net_ops = {
	.init = xfrm_nl_net_init,
	.pre_exit = xfrm_nl_net_pre_exit,
	.exit = xfrm_nl_net_exit,
};

/**
 * kipsec_xfrm_nl_init - take NETLINK_XFRM in every netns, if asked to
 *
 * After the pernet state of main.c is registered: the sockets live in it.
 *
 * Return: 0, or -EBUSY when xfrm_user owns the socket.
 */
int kipsec_xfrm_nl_init(void)
{
	int err;

	if (!kipsec_xfrm_netlink)
		return 0;
	err = register_pernet_subsys(&xfrm_nl_net_ops);
	if (err)
		return err;
	pr_info("kipsec: serving XFRM netlink (ip xfrm, IKE daemons)\n");
	return 0;
}

void kipsec_xfrm_nl_exit(void)
{
	if (kipsec_xfrm_netlink)
		unregister_pernet_subsys(&xfrm_nl_net_ops);
}
