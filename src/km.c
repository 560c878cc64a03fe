// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: an xfrm key manager that compiles per-socket policies.
 *
 * IKE daemons exempt their own sockets from IPsec with
 * setsockopt(IP_XFRM_POLICY / IPV6_XFRM_POLICY) in the XFRM format.  The
 * kernel hands the option to each registered key manager in turn until
 * one accepts it; without xfrm_user loaded there is none and the call
 * fails.  kipsec registers this key manager at load, always: it accepts
 * exactly what xfrm_user's xfrm_compile_policy() accepts, with the same
 * checks and errors, so its position in the list next to xfrm_user
 * changes no outcome.  Every other callback is left empty or declines.
 */
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/module.h>
#include <net/udp.h>
#include <net/xfrm.h>
#include "kipsec.h"

static int kipsec_km_verify_info(const struct xfrm_userpolicy_info *p)
{
	switch (p->share) {
	case XFRM_SHARE_ANY:
	case XFRM_SHARE_SESSION:
	case XFRM_SHARE_USER:
	case XFRM_SHARE_UNIQUE:
		break;
	default:
		return -EINVAL;
	}
	if (p->action != XFRM_POLICY_ALLOW && p->action != XFRM_POLICY_BLOCK)
		return -EINVAL;
	switch (p->sel.family) {
	case AF_INET:
		if (p->sel.prefixlen_d > 32 || p->sel.prefixlen_s > 32)
			return -EINVAL;
		break;
	case AF_INET6:
		if (!IS_ENABLED(CONFIG_IPV6))
			return -EAFNOSUPPORT;
		if (p->sel.prefixlen_d > 128 || p->sel.prefixlen_s > 128)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (p->dir >= XFRM_POLICY_MAX)
		return -EINVAL;
	return 0;
}

static int kipsec_km_verify_tmpl(struct xfrm_user_tmpl *ut, int nr,
				 u16 family, u8 dir)
{
	u16 prev = family;
	int i;

	if (nr > XFRM_MAX_DEPTH)
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		/* a zero family means the policy's, as xfrm_user reads it */
		if (!ut[i].family)
			ut[i].family = family;
		if (ut[i].mode == XFRM_MODE_TUNNEL ||
		    ut[i].mode == XFRM_MODE_BEET) {
			if (ut[i].optional && dir == XFRM_POLICY_OUT)
				return -EINVAL;
		} else if (ut[i].family != prev) {
			return -EINVAL;
		}
		if (ut[i].mode >= XFRM_MODE_MAX)
			return -EINVAL;
		prev = ut[i].family;
		if (ut[i].family != AF_INET &&
		    !(IS_ENABLED(CONFIG_IPV6) && ut[i].family == AF_INET6))
			return -EINVAL;
		if (!xfrm_id_proto_valid(ut[i].id.proto))
			return -EINVAL;
	}
	return 0;
}

static void kipsec_km_copy_tmpl(struct xfrm_policy *xp,
				const struct xfrm_user_tmpl *ut, int nr)
{
	int i;

	xp->xfrm_nr = nr;
	for (i = 0; i < nr; i++, ut++) {
		struct xfrm_tmpl *t = &xp->xfrm_vec[i];

		t->id = ut->id;
		t->saddr = ut->saddr;
		t->reqid = ut->reqid;
		t->mode = ut->mode;
		t->share = ut->share;
		t->optional = ut->optional;
		t->aalgos = ut->aalgos;
		t->ealgos = ut->ealgos;
		t->calgos = ut->calgos;
		t->allalgs = !~(t->ealgos & t->aalgos & t->calgos);
		t->encap_family = ut->family;
	}
}

static int kipsec_km_optname_check(const struct sock *sk, int opt)
{
	switch (sk->sk_family) {
	case AF_INET:
		return opt == IP_XFRM_POLICY ? 0 : -EOPNOTSUPP;
	case AF_INET6:
		if (IS_ENABLED(CONFIG_IPV6))
			return opt == IPV6_XFRM_POLICY ? 0 : -EOPNOTSUPP;
		return -EINVAL;
	default:
		return -EINVAL;
	}
}

/*
 * Called under no lock from xfrm_user_policy(); on failure *dir holds the
 * error.  The checks and their order are xfrm_compile_policy()'s.
 */
static struct xfrm_policy *kipsec_km_compile(struct sock *sk, int opt,
					     u8 *data, int len, int *dir)
{
	struct xfrm_userpolicy_info *p = (struct xfrm_userpolicy_info *)data;
	struct xfrm_user_tmpl *ut = (struct xfrm_user_tmpl *)(p + 1);
	struct xfrm_policy *xp;
	int nr;

	*dir = kipsec_km_optname_check(sk, opt);
	if (*dir)
		return NULL;
	*dir = -EINVAL;
	if (len < sizeof(*p) || kipsec_km_verify_info(p))
		return NULL;
	nr = (len - sizeof(*p)) / sizeof(*ut);
	if (kipsec_km_verify_tmpl(ut, nr, p->sel.family, p->dir))
		return NULL;
	if (p->dir > XFRM_POLICY_OUT)
		return NULL;
	xp = xfrm_policy_alloc(sock_net(sk), GFP_ATOMIC);
	if (!xp) {
		*dir = -ENOBUFS;
		return NULL;
	}
	xp->priority = p->priority;
	xp->index = p->index;
	xp->selector = p->sel;
	xp->lft = p->lft;
	xp->action = p->action;
	xp->flags = p->flags;
	xp->family = p->sel.family;
	xp->type = XFRM_POLICY_TYPE_MAIN;
	kipsec_km_copy_tmpl(xp, ut, nr);
	*dir = p->dir;
	return xp;
}

/**
 * kipsec_sk_verdict - what a socket's own XFRM policy says of a packet
 * @sk: the packet's socket, or NULL
 * @dir: XFRM_POLICY_IN or XFRM_POLICY_OUT
 * @fl: the packet
 *
 * As in xfrm_sk_policy_lookup(), a socket policy whose selector matches
 * takes the place of the SPD.  kipsec carries out the two kinds IKE
 * daemons set: allow without templates (the bypass of their own
 * packets) and block.  A socket policy with templates asks for a
 * transform of its own, which kipsec does not build: the SPD decides.
 * Called under rcu_read_lock() (netfilter hooks).
 *
 * Return: the verdict.
 */
enum kipsec_sk_verdict kipsec_sk_verdict(const struct sock *sk, int dir,
					 const struct kipsec_flow *fl)
{
	const struct xfrm_policy *pol;

	if (!sk || !sk_fullsock(sk))
		return KIPSEC_SK_SPD;
	pol = rcu_dereference(sk->sk_policy[dir]);
	if (!pol || READ_ONCE(pol->walk.dead) ||
	    !kipsec_selector_match(&pol->selector, fl))
		return KIPSEC_SK_SPD;
	if (pol->action == XFRM_POLICY_BLOCK)
		return KIPSEC_SK_BLOCK;
	return pol->xfrm_nr ? KIPSEC_SK_SPD : KIPSEC_SK_BYPASS;
}

/* the UDP socket a local packet will reach, with a reference, or NULL */
static struct sock *km_udp_sock(struct sk_buff *skb,
				const struct kipsec_flow *fl)
{
	struct net *net = dev_net(skb->dev);

	if (fl->proto != IPPROTO_UDP)
		return NULL;
	if (fl->family == AF_INET)
		return udp4_lib_lookup(net, fl->saddr.a4, fl->sport,
				       fl->daddr.a4, fl->dport, inet_iif(skb));
#if IS_ENABLED(CONFIG_IPV6)
	return udp6_lib_lookup(net, &fl->saddr.in6, fl->sport,
			       &fl->daddr.in6, fl->dport, inet6_iif(skb));
#else
	return NULL;
#endif
}

/**
 * kipsec_sk_in_bypass - is a plaintext local packet for a bypass socket
 * @skb: the packet, at LOCAL_IN
 * @fl: its flow
 *
 * xfrm checks inbound policy when a socket takes the packet, so a
 * socket's bypass lets its IKE packets in whatever the SPD says.
 * kipsec checks at LOCAL_IN, before any socket: for a packet the SPD
 * would drop, it looks up the UDP socket that will take it (IKE runs
 * over UDP) and asks that socket's inbound policy.  Only packets about
 * to be dropped pay for the lookup.
 *
 * Return: true when the packet may pass.
 */
bool kipsec_sk_in_bypass(struct sk_buff *skb, const struct kipsec_flow *fl)
{
	struct sock *sk = km_udp_sock(skb, fl);
	bool pass;

	if (!sk)
		return false;
	pass = kipsec_sk_verdict(sk, XFRM_POLICY_IN, fl) == KIPSEC_SK_BYPASS;
	sock_put(sk);
	return pass;
}

/* kipsec raises its own acquires: decline xfrm's, as a listener-less km */
static int kipsec_km_acquire(struct xfrm_state *x, struct xfrm_tmpl *t,
			     struct xfrm_policy *xp)
{
	return -ESRCH;
}

static struct xfrm_mgr kipsec_km = {
	.acquire	= kipsec_km_acquire,
	.compile_policy	= kipsec_km_compile,
};

void kipsec_km_init(void)
{
	xfrm_register_km(&kipsec_km);
}

void kipsec_km_exit(void)
{
	xfrm_unregister_km(&kipsec_km);
}
