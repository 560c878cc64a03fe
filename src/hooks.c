// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: netfilter hooks, the entry points of the datapath.
 *
 *   POST_ROUTING (v4, v6)  outbound: SPD lookup, steal, segment, ESP/AH
 *   LOCAL_IN     (v4, v6)  inbound: ESP/AH packets to the SA, policy check
 *                          of plaintext and of decapsulated packets
 *   FORWARD      (v4, v6)  policy check of forwarded packets
 *
 * Every hook returns NF_ACCEPT at once when the netns has no kipsec
 * configuration.  Two per-CPU markers, valid only with BH disabled, tie
 * the synchronous re-entries of the stack to kipsec:
 *
 *   xmit_nest  > 0 while this CPU sends a packet kipsec built; the
 *              POST_ROUTING hook then accepts it, so nothing kipsec emits
 *              is processed twice;
 *   rx_mark    {skb, sa} while this CPU re-injects a decapsulated packet;
 *              the LOCAL_IN/FORWARD hooks then check it against the
 *              inbound policy for that SA instead of as plaintext.
 *
 * See docs/architecture.md.
 */
#include <linux/kernel.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/netdevice.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/netfilter/ipv6/nf_defrag_ipv6.h>
#include "kipsec.h"
#include "datapath.h"

/* after every other hook, conntrack confirmation included (see docs) */
#define KIPSEC_HOOK_PRIO	INT_MAX

struct kipsec_rx_mark {
	const struct sk_buff *skb;
	struct kipsec_sa *sa;
};

static DEFINE_PER_CPU(unsigned int, kipsec_xmit_nest);
static DEFINE_PER_CPU(struct kipsec_rx_mark, kipsec_rx_mark);

/**
 * struct kipsec_hooks_net - hooks.c's own per-netns state
 * @net: the netns
 * @defrag_work: enables nf_defrag_ipv6 in process context
 * @defrag_state: bit 0 set once the enabling was scheduled
 * @defrag_on: nf_defrag_ipv6 is enabled for the netns
 */
struct kipsec_hooks_net {
	struct net *net;
	struct work_struct defrag_work;
	unsigned long defrag_state;
	bool defrag_on;
};

static unsigned int kipsec_hooks_net_id __read_mostly;

static void defrag_work_fn(struct work_struct *work)
{
	struct kipsec_hooks_net *hn = container_of(work, struct kipsec_hooks_net,
						   defrag_work);
	int (*enable)(struct net *net);

	/*
	 * Resolved at run time, not link time, so that a plain insmod of
	 * kipsec.ko works without nf_defrag_ipv6 loaded beforehand.  The
	 * module reference symbol_get() takes is kept while enabled.
	 */
	request_module("nf_defrag_ipv6");
	enable = symbol_get(nf_defrag_ipv6_enable);
	if (enable && !enable(hn->net)) {
		WRITE_ONCE(hn->defrag_on, true);
		return;
	}
	if (enable)
		symbol_put(nf_defrag_ipv6_enable);
	clear_bit(0, &hn->defrag_state);	/* retry later */
}

/* the netns is active: make sure IPv6 reassembles before LOCAL_IN */
static void need_defrag(struct net *net)
{
	struct kipsec_hooks_net *hn = net_generic(net, kipsec_hooks_net_id);

	if (likely(READ_ONCE(hn->defrag_on)))
		return;
	if (!test_and_set_bit(0, &hn->defrag_state))
		schedule_work(&hn->defrag_work);
}

int kipsec_hooks_xmit(struct net *net, struct sk_buff *skb)
{
	int err;

	nf_reset_ct(skb);
	local_bh_disable();
	__this_cpu_inc(kipsec_xmit_nest);
	if (ip_hdr(skb)->version == 4) {
		memset(IPCB(skb), 0, sizeof(*IPCB(skb)));
		err = ip_local_out(net, NULL, skb);
	} else {
		memset(IP6CB(skb), 0, sizeof(*IP6CB(skb)));
		err = ip6_local_out(net, NULL, skb);
	}
	__this_cpu_dec(kipsec_xmit_nest);
	local_bh_enable();
	return err;
}

void kipsec_hooks_reinject(struct kipsec_sa *sa, struct sk_buff *skb)
{
	struct kipsec_rx_mark saved, *m;

	local_bh_disable();
	rcu_read_lock();
	m = this_cpu_ptr(&kipsec_rx_mark);
	saved = *m;
	m->skb = skb;
	m->sa = sa;
	netif_receive_skb_core(skb);
	m = this_cpu_ptr(&kipsec_rx_mark);
	*m = saved;
	rcu_read_unlock();
	local_bh_enable();
}

/* ports of TCP, UDP, UDP-Lite, SCTP, DCCP; type/code of ICMP and ICMPv6 */
static void decode_ports(const struct sk_buff *skb, int off,
			 struct kipsec_flow *fl)
{
	__be16 buf[2], *p;
	u8 *ic;

	switch (fl->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
	case IPPROTO_DCCP:
		p = skb_header_pointer(skb, off, sizeof(buf), buf);
		if (p) {
			fl->sport = p[0];
			fl->dport = p[1];
		}
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		ic = skb_header_pointer(skb, off, 2, buf);
		if (ic) {
			fl->sport = htons(ic[0]);
			fl->dport = htons(ic[1]);
		}
		break;
	}
}

/* the SPD view of the packet at skb's network header; -EINVAL if bad */
static int decode_flow(const struct sk_buff *skb, u8 pf,
		       struct kipsec_flow *fl)
{
	int noff = skb_network_offset(skb);

	memset(fl, 0, sizeof(*fl));
	if (pf == NFPROTO_IPV4) {
		const struct iphdr *iph = ip_hdr(skb);

		fl->family = AF_INET;
		fl->saddr.a4 = iph->saddr;
		fl->daddr.a4 = iph->daddr;
		fl->proto = iph->protocol;
		/* as xfrm: no ports in any fragment */
		if (!ip_is_fragment(iph))
			decode_ports(skb, noff + iph->ihl * 4, fl);
	} else {
		const struct ipv6hdr *ip6h = ipv6_hdr(skb);
		__be16 frag_off = 0;
		u8 nexthdr = ip6h->nexthdr;
		int off;

		fl->family = AF_INET6;
		memcpy(&fl->saddr.in6, &ip6h->saddr, sizeof(fl->saddr.in6));
		memcpy(&fl->daddr.in6, &ip6h->daddr, sizeof(fl->daddr.in6));
		off = ipv6_skip_exthdr(skb, noff + sizeof(*ip6h), &nexthdr,
				       &frag_off);
		if (off < 0)
			return -EINVAL;
		fl->proto = nexthdr;
		if (!(frag_off & htons(IP6_OFFSET)))
			decode_ports(skb, off, fl);
	}
	return 0;
}

static void policy_count(struct kipsec_policy *pol, enum kipsec_stat s)
{
	if (pol->stats)
		kipsec_stats_inc(pol->stats, s);
}

/* apply the SA's transform to one non-GSO packet; consumes skb */
static void xform_output(struct net *net, struct kipsec_sa *sa,
			 struct sk_buff *skb)
{
	if (unlikely(!kipsec_lft_out(sa, skb->len))) {
		kipsec_drop(net, sa, KIPSEC_STAT_SA_EXPIRED);
		kfree_skb(skb);
		return;
	}
	if (sa->key.proto == IPPROTO_AH)
		kipsec_ah_output(net, sa, skb);
	else
		kipsec_esp_output(net, sa, skb);
}

/*
 * The outbound SA of a PROTECT policy.  When the template names the SA's
 * destination, the choice does not depend on the packet (unless the SA
 * has a selector of its own), and the policy caches it: sa_cache, valid
 * while kipsec_net.genid (bumped by every SAD change) is the value it was
 * when the cache was filled, so a newer SA (rekey) takes over at once.
 * Otherwise (transport templates without destination) every packet
 * searches the SAD.  Takes a reference.
 */
static struct kipsec_sa *out_sa(struct net *net, struct kipsec_policy *pol,
				const struct kipsec_flow *fl)
{
	const struct kipsec_tmpl *t = &pol->tmpl;
	struct kipsec_sa *sa, *old;
	int genid;

	if (!t->family || !(t->daddr.a6[0] | t->daddr.a6[1] |
			    t->daddr.a6[2] | t->daddr.a6[3]))
		return kipsec_sa_find_out(net, t, fl);

	genid = atomic_read(&kipsec_pernet(net)->genid);
	sa = rcu_dereference(pol->sa_cache);
	if (sa && READ_ONCE(pol->sa_genid) == genid && !READ_ONCE(sa->dead) &&
	    !sa->sel.family && refcount_inc_not_zero(&sa->refcnt))
		return sa;

	sa = kipsec_sa_find_out(net, t, fl);
	if (!sa || sa->sel.family)
		return sa;		/* none, or chosen per packet */
	kipsec_sa_hold(sa);		/* the cache's reference */
	WRITE_ONCE(pol->sa_genid, genid);
	old = unrcu_pointer(xchg(&pol->sa_cache, RCU_INITIALIZER(sa)));
	kipsec_sa_put(old);
	return sa;
}

static unsigned int kipsec_output(struct net *net, struct sk_buff *skb, u8 pf)
{
	struct sk_buff *segs, *seg, *next;
	struct kipsec_policy *pol;
	struct kipsec_flow fl;
	struct kipsec_sa *sa;

	if (decode_flow(skb, pf, &fl)) {
		/* cannot tell which policy applies: fail closed */
		kipsec_drop(net, NULL, KIPSEC_STAT_OUT_ERROR);
		return NF_DROP;
	}
	pol = kipsec_policy_lookup(net, KIPSEC_DIR_OUT, &fl);
	if (!pol)
		return NF_ACCEPT;
	if (pol->action == KIPSEC_ACTION_BLOCK) {
		policy_count(pol, KIPSEC_STAT_OUT_DISCARD);
		kipsec_drop(net, NULL, KIPSEC_STAT_OUT_DISCARD);
		return NF_DROP;
	}
	if (!pol->has_tmpl)
		return NF_ACCEPT;

	sa = out_sa(net, pol, &fl);
	if (!sa) {
		/* never plaintext for PROTECT, whatever the level */
		policy_count(pol, KIPSEC_STAT_OUT_NO_SA);
		kipsec_drop(net, NULL, KIPSEC_STAT_OUT_NO_SA);
		return NF_DROP;
	}
	policy_count(pol, KIPSEC_STAT_OUT_PACKETS);

	if (skb_is_gso(skb)) {
		segs = skb_gso_segment(skb, 0);
		if (IS_ERR_OR_NULL(segs)) {
			kipsec_drop(net, sa, KIPSEC_STAT_OUT_ERROR);
			kipsec_sa_put(sa);
			return NF_DROP;
		}
		consume_skb(skb);
		skb_list_walk_safe(segs, seg, next) {
			skb_mark_not_on_list(seg);
			xform_output(net, sa, seg);
		}
	} else {
		xform_output(net, sa, skb);
	}
	kipsec_sa_put(sa);
	return NF_STOLEN;
}

static unsigned int kipsec_out_hook(void *priv, struct sk_buff *skb,
				    const struct nf_hook_state *state)
{
	if (!READ_ONCE(kipsec_pernet(state->net)->active))
		return NF_ACCEPT;
	if (this_cpu_read(kipsec_xmit_nest))
		return NF_ACCEPT;
	need_defrag(state->net);
	return kipsec_output(state->net, skb, state->pf);
}

/*
 * Policy check of a packet decapsulated from @sa (as xfrm's
 * __xfrm_policy_check with a one-entry secpath).
 */
static unsigned int check_decap(struct net *net, struct sk_buff *skb, u8 pf,
				u8 dir, struct kipsec_sa *sa)
{
	struct kipsec_policy *pol;
	struct kipsec_flow fl;
	bool tunnel = sa->mode == KIPSEC_MODE_TUNNEL;

	if (decode_flow(skb, pf, &fl)) {
		kipsec_drop(net, sa, KIPSEC_STAT_IN_MALFORMED);
		return NF_DROP;
	}
	if (sa->sel.family && !kipsec_selector_match(&sa->sel, &fl)) {
		kipsec_drop(net, sa, KIPSEC_STAT_IN_SELECTOR);
		return NF_DROP;
	}
	pol = kipsec_policy_lookup(net, dir, &fl);
	if (!pol) {
		if (!tunnel)
			return NF_ACCEPT;
		goto mismatch;
	}
	if (pol->action == KIPSEC_ACTION_BLOCK) {
		policy_count(pol, KIPSEC_STAT_IN_DISCARD);
		kipsec_drop(net, sa, KIPSEC_STAT_IN_DISCARD);
		return NF_DROP;
	}
	if (pol->has_tmpl && kipsec_tmpl_match_sa(&pol->tmpl, sa)) {
		policy_count(pol, KIPSEC_STAT_IN_PACKETS);
		return NF_ACCEPT;
	}
	/* no template, or an optional one that does not match */
	if ((!pol->has_tmpl || pol->tmpl.level == KIPSEC_LEVEL_USE) && !tunnel)
		return NF_ACCEPT;
	policy_count(pol, KIPSEC_STAT_IN_POLICY_MISMATCH);
mismatch:
	kipsec_drop(net, sa, KIPSEC_STAT_IN_POLICY_MISMATCH);
	return NF_DROP;
}

/* policy check of a packet that arrived in plaintext */
static unsigned int check_plain(struct net *net, struct sk_buff *skb, u8 pf,
				u8 dir)
{
	struct kipsec_policy *pol;
	struct kipsec_flow fl;

	if (decode_flow(skb, pf, &fl)) {
		kipsec_drop(net, NULL, KIPSEC_STAT_IN_MALFORMED);
		return NF_DROP;
	}
	pol = kipsec_policy_lookup(net, dir, &fl);
	if (!pol)
		return NF_ACCEPT;
	if (pol->action == KIPSEC_ACTION_BLOCK) {
		policy_count(pol, KIPSEC_STAT_IN_DISCARD);
		kipsec_drop(net, NULL, KIPSEC_STAT_IN_DISCARD);
		return NF_DROP;
	}
	if (pol->has_tmpl && pol->tmpl.level == KIPSEC_LEVEL_REQUIRED) {
		policy_count(pol, KIPSEC_STAT_IN_PLAINTEXT);
		kipsec_drop(net, NULL, KIPSEC_STAT_IN_PLAINTEXT);
		return NF_DROP;
	}
	return NF_ACCEPT;
}

/*
 * The protocol (IPPROTO_ESP or IPPROTO_AH), SPI and outer destination of
 * an IPsec packet; 0 if the packet is neither.  IPv6: the first ESP or AH
 * header in the extension header chain (ipv6_skip_exthdr() would skip AH).
 */
static u8 ipsec_spi(struct sk_buff *skb, u8 pf, xfrm_address_t *daddr,
		    __be32 *spi)
{
	int noff = skb_network_offset(skb);
	__be32 buf, *p;
	u8 nexthdr;
	int off;

	memset(daddr, 0, sizeof(*daddr));
	if (pf == NFPROTO_IPV4) {
		const struct iphdr *iph = ip_hdr(skb);

		nexthdr = iph->protocol;
		if (nexthdr != IPPROTO_ESP && nexthdr != IPPROTO_AH)
			return 0;
		daddr->a4 = iph->daddr;
		off = noff + iph->ihl * 4;
	} else {
		const struct ipv6hdr *ip6h = ipv6_hdr(skb);

		nexthdr = ip6h->nexthdr;
		off = noff + sizeof(*ip6h);
		while (nexthdr != IPPROTO_ESP && nexthdr != IPPROTO_AH) {
			struct ipv6_opt_hdr _h, *h;

			if (!ipv6_ext_hdr(nexthdr) ||
			    nexthdr == NEXTHDR_NONE ||
			    nexthdr == NEXTHDR_FRAGMENT)
				return 0;
			h = skb_header_pointer(skb, off, sizeof(_h), &_h);
			if (!h)
				return 0;
			off += ipv6_optlen(h);
			nexthdr = h->nexthdr;
		}
		memcpy(&daddr->in6, &ip6h->daddr, sizeof(daddr->in6));
	}
	/* the SPI: AH's second word, ESP's first */
	p = skb_header_pointer(skb, off + (nexthdr == IPPROTO_AH ? 4 : 0),
			       sizeof(buf), &buf);
	if (!p) {
		/* too short: the transform counts it as malformed */
		*spi = 0;
		return nexthdr;
	}
	*spi = *p;
	return nexthdr;
}

static unsigned int kipsec_input(struct net *net, struct sk_buff *skb, u8 pf)
{
	struct kipsec_sa *sa;
	xfrm_address_t daddr;
	__be32 spi;
	u8 proto;

	proto = ipsec_spi(skb, pf, &daddr, &spi);
	if (!proto)
		return check_plain(net, skb, pf, KIPSEC_DIR_IN);
	sa = kipsec_sa_lookup(net, pf == NFPROTO_IPV4 ? AF_INET : AF_INET6,
			      &daddr, spi, proto);
	if (!sa) {
		kipsec_drop(net, NULL, KIPSEC_STAT_IN_NO_SA);
		return NF_DROP;
	}
	if (unlikely(kipsec_lft_expired(sa))) {
		kipsec_drop(net, sa, KIPSEC_STAT_SA_EXPIRED);
		kipsec_sa_put(sa);
		return NF_DROP;
	}
	/* consumes skb and the reference */
	if (proto == IPPROTO_AH)
		kipsec_ah_input(net, sa, skb);
	else
		kipsec_esp_input(net, sa, skb);
	return NF_STOLEN;
}

static unsigned int kipsec_in_hook(void *priv, struct sk_buff *skb,
				   const struct nf_hook_state *state)
{
	const struct kipsec_rx_mark *m;

	if (!READ_ONCE(kipsec_pernet(state->net)->active))
		return NF_ACCEPT;
	if (skb_network_offset(skb))
		return NF_ACCEPT;	/* not where LOCAL_IN leaves it */
	need_defrag(state->net);
	m = this_cpu_ptr(&kipsec_rx_mark);
	if (m->skb == skb)
		return check_decap(state->net, skb, state->pf, KIPSEC_DIR_IN,
				   m->sa);
	return kipsec_input(state->net, skb, state->pf);
}

static unsigned int kipsec_fwd_hook(void *priv, struct sk_buff *skb,
				    const struct nf_hook_state *state)
{
	const struct kipsec_rx_mark *m;

	if (!READ_ONCE(kipsec_pernet(state->net)->active))
		return NF_ACCEPT;
	m = this_cpu_ptr(&kipsec_rx_mark);
	if (m->skb == skb)
		return check_decap(state->net, skb, state->pf, KIPSEC_DIR_FWD,
				   m->sa);
	return check_plain(state->net, skb, state->pf, KIPSEC_DIR_FWD);
}

static const struct nf_hook_ops kipsec_nf_ops[] = {
	{
		.hook		= kipsec_out_hook,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_POST_ROUTING,
		.priority	= KIPSEC_HOOK_PRIO,
	},
	{
		.hook		= kipsec_in_hook,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_IN,
		.priority	= KIPSEC_HOOK_PRIO,
	},
	{
		.hook		= kipsec_fwd_hook,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_FORWARD,
		.priority	= KIPSEC_HOOK_PRIO,
	},
	{
		.hook		= kipsec_out_hook,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_POST_ROUTING,
		.priority	= KIPSEC_HOOK_PRIO,
	},
	{
		.hook		= kipsec_in_hook,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_LOCAL_IN,
		.priority	= KIPSEC_HOOK_PRIO,
	},
	{
		.hook		= kipsec_fwd_hook,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_FORWARD,
		.priority	= KIPSEC_HOOK_PRIO,
	},
};

/*
 * IPv6 LOCAL_IN runs before reassembly, so kipsec has the netns reassemble
 * at PRE_ROUTING (nf_defrag_ipv6, as conntrack does) and fragmented ESP
 * reaches the LOCAL_IN hook whole.  Only netns that use kipsec pay for it:
 * the first packet a hook sees in an active netns schedules the enabling
 * (it takes a mutex); it stays enabled until the netns goes away.
 */
static int __net_init kipsec_hooks_net_init(struct net *net)
{
	struct kipsec_hooks_net *hn = net_generic(net, kipsec_hooks_net_id);

	hn->net = net;
	INIT_WORK(&hn->defrag_work, defrag_work_fn);
	return 0;
}

static void __net_exit kipsec_hooks_net_exit(struct net *net)
{
	struct kipsec_hooks_net *hn = net_generic(net, kipsec_hooks_net_id);

	cancel_work_sync(&hn->defrag_work);
	if (hn->defrag_on) {
		void (*disable)(struct net *net);

		disable = symbol_get(nf_defrag_ipv6_disable);
		if (disable) {
			disable(net);
			symbol_put(nf_defrag_ipv6_disable);
		}
		symbol_put(nf_defrag_ipv6_enable);
	}
}

static struct pernet_operations kipsec_hooks_net_ops = {
	.init = kipsec_hooks_net_init,
	.exit = kipsec_hooks_net_exit,
	.id   = &kipsec_hooks_net_id,
	.size = sizeof(struct kipsec_hooks_net),
};

int kipsec_hooks_init(void)
{
	int err;

	err = kipsec_esp_init();
	if (err)
		return err;
	err = kipsec_ah_init();
	if (err)
		goto err_esp;
	err = register_pernet_subsys(&kipsec_hooks_net_ops);
	if (err)
		goto err_ah;
	return 0;

err_ah:
	kipsec_ah_exit();
err_esp:
	kipsec_esp_exit();
	return err;
}

void kipsec_hooks_exit(void)
{
	unregister_pernet_subsys(&kipsec_hooks_net_ops);
	kipsec_ah_exit();
	kipsec_esp_exit();
}

int kipsec_hooks_register_net(struct net *net)
{
	return nf_register_net_hooks(net, kipsec_nf_ops,
				     ARRAY_SIZE(kipsec_nf_ops));
}

void kipsec_hooks_unregister_net(struct net *net)
{
	nf_unregister_net_hooks(net, kipsec_nf_ops, ARRAY_SIZE(kipsec_nf_ops));
	kipsec_esp_flush();
	kipsec_ah_flush();
}
