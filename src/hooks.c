// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: netfilter hooks, the entry points of the datapath.
 *
 *   POST_ROUTING (v4, v6)  outbound: SPD lookup, steal, segment, ESP/AH
 *   LOCAL_IN     (v4, v6)  inbound: ESP/AH packets (and, v4, ESP in UDP)
 *                          to the SA, policy check of plaintext and of
 *                          decapsulated packets
 *   FORWARD      (v4, v6)  policy check of forwarded packets
 *
 * Every hook returns NF_ACCEPT at once when the netns has no kipsec
 * configuration.  What kipsec sends is marked in the packet, as xfrm
 * marks its own: IPCB/IP6CB flag IPSKB_XFRM_TRANSFORMED, which the
 * POST_ROUTING hook lets through, and which a tunnel device clears when
 * it encapsulates the packet into a new one (iptunnel_xmit(),
 * ip6tunnel_xmit(), VRF), so that the new packet is classified in turn.
 * A per-CPU marker, valid only with BH disabled, ties the synchronous
 * re-entry of the stack on input to kipsec:
 *
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

/*
 * After every other hook but those at INT_MAX too (conntrack's
 * confirmation): kipsec runs those itself before it steals a packet
 * (run_rest_of_chain()).  See docs/architecture.md.
 */
#define KIPSEC_HOOK_PRIO	INT_MAX

struct kipsec_rx_mark {
	const struct sk_buff *skb;
	struct kipsec_sa *sa;
};

static DEFINE_PER_CPU(struct kipsec_rx_mark, kipsec_rx_mark);

/**
 * struct kipsec_hooks_net - hooks.c's own per-netns state
 * @defrag_on: nf_defrag_ipv6 is enabled for the netns; kipsec then holds a
 *             reference to that module.  Set under kipsec_net.lock when the
 *             netns becomes active, read at netns exit.
 * @defrag_requested: the netns has asked for the module once (under
 *                    kipsec_net.lock)
 */
struct kipsec_hooks_net {
	bool defrag_on;
	bool defrag_requested;
};

static unsigned int kipsec_hooks_net_id __read_mostly;

/*
 * nf_defrag_ipv6_enable, with a reference to its module; NULL when the
 * module is absent.  Resolved at run time, not link time, so that a plain
 * insmod of kipsec.ko works without nf_defrag_ipv6 loaded beforehand.  The
 * module is requested once per netns: when it cannot be loaded, asking
 * again each time the netns becomes active would only repeat a modprobe
 * that fails, but a modprobe that failed once (none configured yet, as
 * early in boot) must not leave every later netns without reassembly.
 */
static int (*defrag_enable_get(struct kipsec_hooks_net *hn))(struct net *net)
{
	int (*enable)(struct net *net);

	enable = symbol_get(nf_defrag_ipv6_enable);
	if (enable || hn->defrag_requested)
		return enable;
	hn->defrag_requested = true;
	request_module("nf_defrag_ipv6");
	return symbol_get(nf_defrag_ipv6_enable);
}

/**
 * kipsec_hooks_activate - prepare a netns for its first SA or policy
 * @net: the netns
 *
 * IPv6 LOCAL_IN runs before the stack reassembles, so kipsec has the netns
 * reassemble at PRE_ROUTING (nf_defrag_ipv6, as conntrack does) and
 * fragmented ESP reaches the LOCAL_IN hook whole.  Done here, in process
 * context and before the hooks start working, so that the first packet of
 * the netns is reassembled too.  If it cannot be done, the LOCAL_IN hook
 * drops the fragments it cannot see whole (KIPSEC_STAT_IN_FRAGMENT).
 *
 * Context: process, kipsec_net.lock held.
 */
void kipsec_hooks_activate(struct net *net)
{
	struct kipsec_hooks_net *hn = net_generic(net, kipsec_hooks_net_id);
	int (*enable)(struct net *net);
	int err;

	might_sleep();
	if (hn->defrag_on)
		return;
	enable = defrag_enable_get(hn);
	if (!enable) {
		pr_warn_once("nf_defrag_ipv6 unavailable: IPv6 fragments to this host are dropped\n");
		return;
	}
	err = enable(net);
	if (err) {
		symbol_put(nf_defrag_ipv6_enable);
		pr_warn_once("nf_defrag_ipv6: enabling failed (%d)\n", err);
		return;
	}
	hn->defrag_on = true;
}

int kipsec_hooks_xmit(struct net *net, struct sk_buff *skb)
{
	int err;

	nf_reset_ct(skb);
	/* as xfrm's output, which resumes in softirq context */
	local_bh_disable();
	if (ip_hdr(skb)->version == 4) {
		memset(IPCB(skb), 0, sizeof(*IPCB(skb)));
		IPCB(skb)->flags = IPSKB_XFRM_TRANSFORMED;
		err = ip_local_out(net, NULL, skb);
	} else {
		memset(IP6CB(skb), 0, sizeof(*IP6CB(skb)));
		IP6CB(skb)->flags = IP6SKB_XFRM_TRANSFORMED;
		err = ip6_local_out(net, NULL, skb);
	}
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

/*
 * The SPD view of the IP header at offset @noff of skb (the network
 * header, or the header an ICMP error quotes).
 *
 * Return: the offset of the transport header, or -EINVAL if bad.
 */
static int decode_flow_at(const struct sk_buff *skb, u8 pf, int noff,
			  struct kipsec_flow *fl)
{
	int off;

	memset(fl, 0, sizeof(*fl));
	if (pf == NFPROTO_IPV4) {
		const struct iphdr *iph;
		struct iphdr _iph;

		iph = skb_header_pointer(skb, noff, sizeof(_iph), &_iph);
		if (!iph)
			return -EINVAL;
		fl->family = AF_INET;
		fl->saddr.a4 = iph->saddr;
		fl->daddr.a4 = iph->daddr;
		fl->proto = iph->protocol;
		off = noff + iph->ihl * 4;
		/* as xfrm: no ports in any fragment */
		if (!ip_is_fragment(iph))
			decode_ports(skb, off, fl);
	} else {
		const struct ipv6hdr *ip6h;
		struct ipv6hdr _ip6h;
		__be16 frag_off = 0;
		u8 nexthdr;

		ip6h = skb_header_pointer(skb, noff, sizeof(_ip6h), &_ip6h);
		if (!ip6h)
			return -EINVAL;
		fl->family = AF_INET6;
		memcpy(&fl->saddr.in6, &ip6h->saddr, sizeof(fl->saddr.in6));
		memcpy(&fl->daddr.in6, &ip6h->daddr, sizeof(fl->daddr.in6));
		nexthdr = ip6h->nexthdr;
		off = ipv6_skip_exthdr(skb, noff + sizeof(*ip6h), &nexthdr,
				       &frag_off);
		if (off < 0)
			return -EINVAL;
		fl->proto = nexthdr;
		if (!(frag_off & htons(IP6_OFFSET)))
			decode_ports(skb, off, fl);
	}
	return off;
}

/* the SPD view of the packet at skb's network header; -EINVAL if bad */
static int decode_flow(const struct sk_buff *skb, u8 pf,
		       struct kipsec_flow *fl)
{
	int off = decode_flow_at(skb, pf, skb_network_offset(skb), fl);

	return off < 0 ? off : 0;
}

static bool is_icmp(const struct kipsec_flow *fl)
{
	return fl->proto == (fl->family == AF_INET ? IPPROTO_ICMP :
			     IPPROTO_ICMPV6);
}

/*
 * The reverse of the flow quoted by the ICMP message whose header is at
 * @icmp_off, as xfrm's decode with reverse set: addresses and ports
 * swapped, ICMP type and code kept.  As xfrm, whatever the ICMP type,
 * the 8 bytes of the ICMP header are followed by an IP header of the
 * same family, which must be there in full.
 */
static int decode_icmp_reverse(const struct sk_buff *skb, u8 pf, int icmp_off,
			       struct kipsec_flow *fl)
{
	int qoff = icmp_off + sizeof(struct icmphdr);
	xfrm_address_t a;
	__be16 p;

	BUILD_BUG_ON(sizeof(struct icmphdr) != sizeof(struct icmp6hdr));
	if (skb->len < qoff + (pf == NFPROTO_IPV4 ? sizeof(struct iphdr) :
			       sizeof(struct ipv6hdr)))
		return -EINVAL;
	if (decode_flow_at(skb, pf, qoff, fl) < 0)
		return -EINVAL;
	a = fl->saddr;
	fl->saddr = fl->daddr;
	fl->daddr = a;
	if (!is_icmp(fl)) {
		p = fl->sport;
		fl->sport = fl->dport;
		fl->dport = p;
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

static unsigned int kipsec_out_hook(void *priv, struct sk_buff *skb,
				    const struct nf_hook_state *state);
static unsigned int kipsec_in_hook(void *priv, struct sk_buff *skb,
				   const struct nf_hook_state *state);

static const struct nf_hook_entries *hook_entries(const struct nf_hook_state *s)
{
	if (s->pf == NFPROTO_IPV4)
		return rcu_dereference(s->net->nf.hooks_ipv4[s->hook]);
	return rcu_dereference(s->net->nf.hooks_ipv6[s->hook]);
}

/*
 * Run the hooks that follow kipsec's own in the chain of @state, before
 * kipsec steals the packet; @self is the calling hook.  xfrm transforms
 * outbound packets in dst_output(), after the whole POST_ROUTING chain,
 * and receives ESP in the protocol handler, after the whole LOCAL_IN
 * chain: conntrack's confirmation, at INT_MAX like kipsec, sees both the
 * plaintext and the ESP packet.  At equal priority netfilter sorts a
 * later registration first, so kipsec may sit before the confirmation
 * (conntrack already active when kipsec.ko is loaded); running the rest
 * of the chain here keeps xfrm's order whatever the registration order.
 *
 * Return: NF_ACCEPT to go on, else the verdict for the caller to return
 * (NF_DROP: netfilter frees the packet; NF_STOLEN: a hook took it).  A
 * queue verdict is refused: the packet would be re-injected after
 * kipsec's hook, and leave in clear.
 */
static unsigned int run_rest_of_chain(struct sk_buff *skb,
				      const struct nf_hook_state *state,
				      nf_hookfn *self)
{
	const struct nf_hook_entries *e = hook_entries(state);
	unsigned int i, verdict;

	if (!e)
		return NF_ACCEPT;
	for (i = 0; i < e->num_hook_entries; i++)
		if (e->hooks[i].hook == self)
			break;
	for (i++; i < e->num_hook_entries; i++) {
		verdict = e->hooks[i].hook(e->hooks[i].priv, skb, state);
		switch (verdict & NF_VERDICT_MASK) {
		case NF_ACCEPT:
			break;
		case NF_DROP:
		case NF_STOLEN:
			return verdict;
		default:
			return NF_DROP;
		}
	}
	return NF_ACCEPT;
}

/* an ICMP error from the stack's own sender (icmp_send(), icmp6_send()) */
static bool icmp_error_from_stack(const struct sk_buff *skb,
				  const struct kipsec_flow *fl)
{
	const struct sock *sk = skb->sk;
	int type = ntohs(fl->sport);

	if (!is_icmp(fl) || !sk || !sk_fullsock(sk) || !sk->sk_kern_sock)
		return false;
	return fl->family == AF_INET ? icmp_is_err(type) : icmpv6_is_err(type);
}

/*
 * The outbound policy of an ICMP error of the stack that no PROTECT
 * policy covers (@pol: none, bypass or block), as xfrm's
 * icmp_route_lookup() and icmpv6_route_lookup(): a policy with flag icmp
 * covering the reverse of the flow the error quotes takes it, and @fl
 * becomes that flow (the SA choice, an acquire).  Otherwise @pol stays;
 * also for errors to a local address, as xfrm.
 */
static struct kipsec_policy *icmp_out_policy(struct net *net,
					     const struct sk_buff *skb, u8 pf,
					     int icmp_off,
					     struct kipsec_policy *pol,
					     struct kipsec_flow *fl)
{
	const struct dst_entry *dst = skb_dst(skb);
	struct kipsec_policy *rpol;
	struct kipsec_flow rfl;

	if (pol && pol->action == KIPSEC_ACTION_ALLOW && pol->has_tmpl)
		return pol;
	if (!icmp_error_from_stack(skb, fl) ||
	    (dst && dst->dev && (dst->dev->flags & IFF_LOOPBACK)))
		return pol;
	if (decode_icmp_reverse(skb, pf, icmp_off, &rfl))
		return pol;
	rpol = kipsec_policy_lookup(net, KIPSEC_DIR_OUT, &rfl);
	if (!rpol || !(rpol->flags & KIPSEC_POL_F_ICMP))
		return pol;
	*fl = rfl;
	return rpol;
}

static unsigned int kipsec_output(const struct nf_hook_state *state,
				  struct sk_buff *skb)
{
	struct net *net = state->net;
	u8 pf = state->pf;
	unsigned int verdict;
	struct sk_buff *segs, *seg, *next;
	struct kipsec_policy *pol;
	struct kipsec_flow fl;
	struct kipsec_sa *sa;
	int off;

	off = decode_flow_at(skb, pf, skb_network_offset(skb), &fl);
	if (off < 0) {
		/* cannot tell which policy applies: fail closed */
		kipsec_drop(net, NULL, KIPSEC_STAT_OUT_ERROR);
		return NF_DROP;
	}
	switch (kipsec_sk_verdict(skb->sk, XFRM_POLICY_OUT, &fl)) {
	case KIPSEC_SK_BYPASS:
		return NF_ACCEPT;
	case KIPSEC_SK_BLOCK:
		kipsec_drop(net, NULL, KIPSEC_STAT_OUT_DISCARD);
		return NF_DROP;
	case KIPSEC_SK_SPD:
		break;
	}
	pol = kipsec_policy_lookup(net, KIPSEC_DIR_OUT, &fl);
	pol = icmp_out_policy(net, skb, pf, off, pol, &fl);
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
		/*
		 * Never plaintext for PROTECT, whatever the level; ask the
		 * key manager for an SA and drop the packet meanwhile, as
		 * xfrm with net.core.xfrm_larval_drop=1 (its default).
		 */
		kipsec_acquire(net, pol, &fl);
		policy_count(pol, KIPSEC_STAT_OUT_NO_SA);
		kipsec_drop(net, NULL, KIPSEC_STAT_OUT_NO_SA);
		return NF_DROP;
	}
	verdict = run_rest_of_chain(skb, state, kipsec_out_hook);
	if (verdict != NF_ACCEPT) {
		kipsec_sa_put(sa);
		return verdict;
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

/* the packet left an IPsec transform (kipsec_hooks_xmit(), xfrm_output()) */
static bool transformed(const struct sk_buff *skb, u8 pf)
{
	if (pf == NFPROTO_IPV4)
		return IPCB(skb)->flags & IPSKB_XFRM_TRANSFORMED;
	return IP6CB(skb)->flags & IP6SKB_XFRM_TRANSFORMED;
}

static unsigned int kipsec_out_hook(void *priv, struct sk_buff *skb,
				    const struct nf_hook_state *state)
{
	if (!READ_ONCE(kipsec_pernet(state->net)->active))
		return NF_ACCEPT;
	if (transformed(skb, state->pf))
		return NF_ACCEPT;	/* kipsec's own output, or xfrm's */
	return kipsec_output(state, skb);
}

/*
 * Why the flow of a packet decapsulated from @sa is refused (as xfrm's
 * __xfrm_policy_check with a one-entry secpath), or 0; *@polp is the
 * policy that decided, if any.
 */
static enum kipsec_stat decap_refused(struct net *net,
				      const struct kipsec_flow *fl, u8 dir,
				      struct kipsec_sa *sa,
				      struct kipsec_policy **polp)
{
	struct kipsec_policy *pol;
	bool tunnel = sa->mode == KIPSEC_MODE_TUNNEL;

	*polp = NULL;
	if (sa->sel.family && !kipsec_selector_match(&sa->sel, fl))
		return KIPSEC_STAT_IN_SELECTOR;
	pol = kipsec_policy_lookup(net, dir, fl);
	if (!pol)
		return tunnel ? KIPSEC_STAT_IN_POLICY_MISMATCH : 0;
	*polp = pol;
	if (pol->action == KIPSEC_ACTION_BLOCK)
		return KIPSEC_STAT_IN_DISCARD;
	if (pol->has_tmpl && kipsec_tmpl_match_sa(&pol->tmpl, sa))
		return 0;
	/* no template, or an optional one that does not match */
	if ((!pol->has_tmpl || pol->tmpl.level == KIPSEC_LEVEL_USE) && !tunnel)
		return 0;
	return KIPSEC_STAT_IN_POLICY_MISMATCH;
}

/* a decapsulated packet accepted by @pol (NULL: by no policy) */
static void count_decap_accept(struct kipsec_policy *pol, struct kipsec_sa *sa)
{
	if (pol && pol->has_tmpl && kipsec_tmpl_match_sa(&pol->tmpl, sa))
		policy_count(pol, KIPSEC_STAT_IN_PACKETS);
}

/*
 * An ICMP message from an SA with flag icmp that the inbound policy
 * refused: checked again as the reverse of the flow it quotes, as xfrm's
 * icmp_rcv() and icmpv6_rcv() do (any ICMP type; at LOCAL_IN only, as
 * those are local delivery).  An error about a flow this host sent then
 * passes whatever its own source address, e.g. a router's inside the
 * peer's protected network.
 */
static bool icmp_reverse_ok(struct net *net, const struct sk_buff *skb,
			    u8 pf, int icmp_off, struct kipsec_sa *sa)
{
	struct kipsec_policy *pol;
	struct kipsec_flow rfl;

	if (decode_icmp_reverse(skb, pf, icmp_off, &rfl))
		return false;
	if (decap_refused(net, &rfl, KIPSEC_DIR_IN, sa, &pol))
		return false;
	count_decap_accept(pol, sa);
	return true;
}

/* policy check of a packet decapsulated from @sa */
static unsigned int check_decap(struct net *net, struct sk_buff *skb, u8 pf,
				u8 dir, struct kipsec_sa *sa)
{
	struct kipsec_policy *pol;
	struct kipsec_flow fl;
	enum kipsec_stat why;
	int off;

	off = decode_flow_at(skb, pf, skb_network_offset(skb), &fl);
	if (off < 0) {
		kipsec_drop(net, sa, KIPSEC_STAT_IN_MALFORMED);
		return NF_DROP;
	}
	why = decap_refused(net, &fl, dir, sa, &pol);
	if (!why) {
		count_decap_accept(pol, sa);
		return NF_ACCEPT;
	}
	if (dir == KIPSEC_DIR_IN && (sa->flags & KIPSEC_SA_F_ICMP) &&
	    is_icmp(&fl) && icmp_reverse_ok(net, skb, pf, off, sa))
		return NF_ACCEPT;
	if (pol)
		policy_count(pol, why);
	kipsec_drop(net, sa, why);
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
	if (pol->action == KIPSEC_ACTION_ALLOW &&
	    (!pol->has_tmpl || pol->tmpl.level != KIPSEC_LEVEL_REQUIRED))
		return NF_ACCEPT;
	if (dir == KIPSEC_DIR_IN && kipsec_sk_in_bypass(skb, &fl))
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
 * header in the extension header chain (kipsec_encap_find()).
 */
static u8 ipsec_spi(struct sk_buff *skb, u8 pf, xfrm_address_t *daddr,
		    __be32 *spi)
{
	__be32 buf, *p;
	int off, nhoff;
	u8 nexthdr;

	memset(daddr, 0, sizeof(*daddr));
	off = kipsec_encap_find(skb, &nexthdr, &nhoff);
	if (off < 0)
		return 0;
	if (pf == NFPROTO_IPV4)
		daddr->a4 = ip_hdr(skb)->daddr;
	else
		memcpy(&daddr->in6, &ipv6_hdr(skb)->daddr, sizeof(daddr->in6));
	/* the SPI: AH's second word, ESP's first */
	off += skb_network_offset(skb) + (nexthdr == IPPROTO_AH ? 4 : 0);
	p = skb_header_pointer(skb, off, sizeof(buf), &buf);
	if (!p) {
		/* too short: the transform counts it as malformed */
		*spi = 0;
		return nexthdr;
	}
	*spi = *p;
	return nexthdr;
}

/*
 * The SA of an inbound IPsec packet, with a reference: ESP or AH by its
 * SPI, or ESP in UDP (NAT-T, @udp set).  NULL when the packet is neither;
 * ERR_PTR(-ENOENT) for ESP/AH without an SA.
 */
static struct kipsec_sa *input_sa(struct net *net, struct sk_buff *skb, u8 pf,
				  u8 *proto, bool *udp)
{
	struct kipsec_sa *sa;
	xfrm_address_t daddr;
	__be32 spi;

	*udp = false;
	*proto = ipsec_spi(skb, pf, &daddr, &spi);
	if (!*proto) {
		sa = kipsec_encap_udp_find(net, skb);
		*udp = !!sa;
		*proto = IPPROTO_ESP;
		return sa;
	}
	sa = kipsec_sa_lookup(net, pf == NFPROTO_IPV4 ? AF_INET : AF_INET6,
			      &daddr, spi, *proto);
	return sa ?: ERR_PTR(-ENOENT);
}

/*
 * Why an SA found for an inbound packet cannot take it, or 0.  An SA
 * takes only packets of its own encapsulation (@encap: 0 for plain ESP
 * or AH, KIPSEC_ENCAP_ESPINUDP, KIPSEC_ENCAP_ESPINTCP), as xfrm_input()
 * compares the encapsulation type (XfrmInStateMismatch);
 * kipsec_encap_udp_find() gives ESP in UDP to no other SA.
 */
enum kipsec_stat kipsec_hooks_refused(struct kipsec_sa *sa, u16 encap)
{
	if (unlikely(sa->larval))
		return KIPSEC_STAT_IN_STATE_INVALID;	/* no keys yet */
	if (unlikely(kipsec_lft_expired(sa)))
		return KIPSEC_STAT_SA_EXPIRED;
	if (unlikely(sa->encap.type != encap))
		return KIPSEC_STAT_IN_ENCAP_MISMATCH;
	return 0;
}

static unsigned int kipsec_input(const struct nf_hook_state *state,
				 struct sk_buff *skb)
{
	struct net *net = state->net;
	u8 pf = state->pf;
	enum kipsec_stat why;
	unsigned int verdict;
	struct kipsec_sa *sa;
	__be16 sport = 0;
	bool udp;
	u8 proto;

	sa = input_sa(net, skb, pf, &proto, &udp);
	if (!sa) {
		kipsec_encap_icmp_err(net, skb);
		return check_plain(net, skb, pf, KIPSEC_DIR_IN);
	}
	if (IS_ERR(sa)) {
		kipsec_drop(net, NULL, KIPSEC_STAT_IN_NO_SA);
		return NF_DROP;
	}
	why = kipsec_hooks_refused(sa, udp ? KIPSEC_ENCAP_ESPINUDP : 0);
	if (why) {
		kipsec_drop(net, sa, why);
		kipsec_sa_put(sa);
		return NF_DROP;
	}
	verdict = run_rest_of_chain(skb, state, kipsec_in_hook);
	if (verdict != NF_ACCEPT) {
		kipsec_sa_put(sa);
		return verdict;
	}
	if (udp && kipsec_encap_udp_strip(skb, &sport)) {
		kipsec_drop(net, sa, KIPSEC_STAT_CRYPTO_ERROR);
		kipsec_sa_put(sa);
		return NF_DROP;
	}
	/* consumes skb and the reference */
	if (proto == IPPROTO_AH)
		kipsec_ah_input(net, sa, skb);
	else
		kipsec_esp_input(net, sa, skb, sport);
	return NF_STOLEN;
}

/*
 * An IPv6 fragment that nobody reassembled (nf_defrag_ipv6 unavailable,
 * or skipped for an untracked packet).  Neither an ESP or AH packet nor
 * a plaintext one can be checked from a piece, and xfrm only ever checks
 * whole packets at LOCAL_IN: such fragments are dropped.  An atomic
 * fragment (offset 0, no more fragments) is a whole packet.
 */
static bool ipv6_unreassembled(const struct sk_buff *skb)
{
	struct frag_hdr _fh;
	const struct frag_hdr *fh;
	unsigned int off = 0;

	if (!ipv6_ext_hdr(ipv6_hdr(skb)->nexthdr))
		return false;
	if (ipv6_find_hdr(skb, &off, NEXTHDR_FRAGMENT, NULL, NULL) < 0)
		return false;	/* none, or a bad chain decode_flow() rejects */
	fh = skb_header_pointer(skb, off, sizeof(_fh), &_fh);
	return !fh || (fh->frag_off & htons(IP6_OFFSET | IP6_MF));
}

static unsigned int kipsec_in_hook(void *priv, struct sk_buff *skb,
				   const struct nf_hook_state *state)
{
	const struct kipsec_rx_mark *m;

	if (!READ_ONCE(kipsec_pernet(state->net)->active))
		return NF_ACCEPT;
	if (unlikely(skb_network_offset(skb))) {
		/* not where LOCAL_IN leaves it: no header can be trusted */
		kipsec_drop(state->net, NULL, KIPSEC_STAT_IN_MALFORMED);
		return NF_DROP;
	}
	if (state->pf == NFPROTO_IPV6 && ipv6_unreassembled(skb)) {
		kipsec_drop(state->net, NULL, KIPSEC_STAT_IN_FRAGMENT);
		return NF_DROP;
	}
	m = this_cpu_ptr(&kipsec_rx_mark);
	if (m->skb == skb)
		return check_decap(state->net, skb, state->pf, KIPSEC_DIR_IN,
				   m->sa);
	return kipsec_input(state, skb);
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

static void __net_exit kipsec_hooks_net_exit(struct net *net)
{
	struct kipsec_hooks_net *hn = net_generic(net, kipsec_hooks_net_id);
	void (*disable)(struct net *net);

	if (!hn->defrag_on)
		return;
	disable = symbol_get(nf_defrag_ipv6_disable);
	if (disable) {
		disable(net);
		symbol_put(nf_defrag_ipv6_disable);
	}
	symbol_put(nf_defrag_ipv6_enable);
}

static struct pernet_operations kipsec_hooks_net_ops = {
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
