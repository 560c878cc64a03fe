// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: the AH transform (RFC 4302), transport and tunnel mode, IPv4
 * and IPv6, with the keyed hash (sa->ahash) crypto.c set up.
 *
 * Wire format and ICV input follow net/ipv4/ah4.c and net/ipv6/ah6.c so
 * that Linux xfrm interoperates byte for byte:
 *
 * - the ICV covers the whole IP packet (outer header in tunnel mode) with
 *   the AH ICV field and the mutable fields zeroed: IPv4 TOS, flags and
 *   fragment offset, TTL, header checksum and the mutable options
 *   (ip_clear_mutable_options: every option but security, CIPSO, router
 *   alert; loose/strict source routes put their final destination in the
 *   header); IPv6 traffic class, flow label, hop limit, the options
 *   marked mutable in hop-by-hop and destination options headers, and a
 *   routing header rearranged as the final destination will see it;
 * - with ESN the high 32 bits of the sequence number follow the packet
 *   in the ICV input (RFC 4302 3.3.3.2, ah4's seqhi), never on the wire;
 * - the AH header is padded to 64 bits on IPv6, and on IPv4 too unless
 *   the SA has the align4 flag (xfrm's XFRM_STATE_ALIGN4): Linux xfrm
 *   pads IPv4 AH to 64 bits by default.  Input accepts, as xfrm does, a
 *   header sized for the truncated or for the full ICV.
 *
 * The mutable fields are cleared in the packet itself and restored after
 * the hash, from a copy kept in the per-packet context (one allocation
 * per packet, as ah4's ah_alloc_tmp).  Requests may complete
 * asynchronously; the completion continues the packet (ah_output_done,
 * ah_input_done).
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/scatterlist.h>
#include <crypto/hash.h>
#include <crypto/algapi.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/ip6_route.h>
#include <net/route.h>
#include <net/dst.h>
#include <net/inet_ecn.h>
#include <net/ah.h>
#include "kipsec.h"
#include "datapath.h"

/* the largest ICV kept in the context: HMAC-SHA-512 untruncated */
#define AH_ICV_MAX	64

static bool defer_ah;
module_param(defer_ah, bool, 0644);
MODULE_PARM_DESC(defer_ah,
		 "Testing: submit every AH hash request from a workqueue, so that each packet completes asynchronously as with an async driver (default: off)");

static struct workqueue_struct *ah_defer_wq;

/**
 * struct ah_ctx - one packet in the transform
 * @skb: the packet
 * @sa: its SA, one reference held
 * @net: its netns
 * @seq: its 64-bit sequence number
 * @len: bytes counted in the SA (inner packet, or the payload after AH)
 * @hoff: offset of the AH header from the network header, which is also
 *        the length of @hdr
 * @nhoff: input: offset of the next-header byte that names AH
 * @ahlen: length of the AH header, ICV and padding included
 * @seqhi: ESN: the high half of @seq, the last entry of the ICV input
 * @work: defer_ah: submits the request from ah_defer_wq
 * @auth: input: the ICV received
 * @hdr: the IP header (and IPv6 extension headers) in front of AH as they
 *       were before their mutable fields were cleared
 *
 * Followed in the same allocation by the computed ICV, the ahash_request
 * with the transform's context, and the scatterlist (ah_alloc_ctx()).
 */
struct ah_ctx {
	struct sk_buff *skb;
	struct kipsec_sa *sa;
	struct net *net;
	u64 seq;
	unsigned int len;
	u16 hoff;
	u16 nhoff;
	u16 ahlen;
	__be32 seqhi;
	struct work_struct work;
	u8 auth[AH_ICV_MAX];
	u8 hdr[];
};

static u8 *ctx_icv(struct crypto_ahash *ahash, struct ah_ctx *c)
{
	return PTR_ALIGN(c->hdr + c->hoff, crypto_ahash_alignmask(ahash) + 1);
}

static struct ahash_request *ctx_req(struct crypto_ahash *ahash, u8 *icv)
{
	return (void *)PTR_ALIGN(icv + crypto_ahash_digestsize(ahash),
				 crypto_tfm_ctx_alignment());
}

static struct scatterlist *ctx_sg(struct crypto_ahash *ahash,
				  struct ahash_request *req)
{
	return (void *)ALIGN((unsigned long)(req + 1) +
			     crypto_ahash_reqsize(ahash),
			     __alignof__(struct scatterlist));
}

/* per packet, as ah4's ah_alloc_tmp (one GFP_ATOMIC allocation) */
static struct ah_ctx *ah_alloc_ctx(struct crypto_ahash *ahash,
				   unsigned int hlen, int nsg)
{
	struct ah_ctx *c;
	size_t len;

	len = sizeof(*c) + hlen + crypto_ahash_alignmask(ahash) +
	      crypto_ahash_digestsize(ahash) + crypto_tfm_ctx_alignment() +
	      sizeof(struct ahash_request) + crypto_ahash_reqsize(ahash) +
	      __alignof__(struct scatterlist) +
	      sizeof(struct scatterlist) * nsg;
	c = kmalloc(len, GFP_ATOMIC);
	if (c)
		c->hoff = hlen;
	return c;
}

static void ah_defer_fn(struct work_struct *work)
{
	struct ah_ctx *c = container_of(work, struct ah_ctx, work);
	struct crypto_ahash *ahash = c->sa->ahash;
	struct ahash_request *req = ctx_req(ahash, ctx_icv(ahash, c));
	int err;

	/* as cryptd: the completion runs with BH disabled */
	local_bh_disable();
	err = crypto_ahash_digest(req);
	if (err != -EINPROGRESS && err != -EBUSY)
		req->base.complete(&req->base, err);
	local_bh_enable();
}

/* submit the request; -EINPROGRESS/-EBUSY: the completion follows */
static int ah_digest(struct ah_ctx *c, struct ahash_request *req)
{
	if (unlikely(READ_ONCE(defer_ah)) && ah_defer_wq) {
		INIT_WORK(&c->work, ah_defer_fn);
		queue_work(ah_defer_wq, &c->work);
		return -EINPROGRESS;
	}
	return crypto_ahash_digest(req);
}

int kipsec_ah_init(void)
{
	ah_defer_wq = alloc_workqueue("kipsec_ah_defer", WQ_UNBOUND, 0);
	return ah_defer_wq ? 0 : -ENOMEM;
}

/* wait for the deferred requests, before the netns' SAs go away */
void kipsec_ah_flush(void)
{
	flush_workqueue(ah_defer_wq);
}

void kipsec_ah_exit(void)
{
	destroy_workqueue(ah_defer_wq);
	ah_defer_wq = NULL;
}

static void ah_count(struct kipsec_sa *sa, struct net *net,
		     enum kipsec_stat pkts, unsigned int len)
{
	struct kipsec_net *kn = kipsec_pernet(net);

	kipsec_stats_inc(sa->stats, pkts);
	kipsec_stats_add(sa->stats, pkts + 1, len);
	kipsec_stats_inc(kn->stats, pkts);
	kipsec_stats_add(kn->stats, pkts + 1, len);
	if (pkts == KIPSEC_STAT_IN_PACKETS)
		kipsec_lft_count(sa, len);
}

/* the AH header length for an ICV of @icv bytes: 64-bit aligned (xfrm's
 * default, also for IPv4) or, on IPv4 with align4, 32-bit aligned
 */
static unsigned int ah_hdr_len(const struct kipsec_sa *sa, int family,
			       unsigned int icv)
{
	unsigned int len = sizeof(struct ip_auth_hdr) + icv;

	if (family == AF_INET && (sa->flags & KIPSEC_SA_F_ALIGN4))
		return ALIGN(len, 4);
	return ALIGN(len, 8);
}

/* ---- mutable fields (ah4.c, ah6.c) ---- */

/*
 * Clear the mutable IPv4 options and put the final destination of a
 * source route in *@daddr, as ah4's ip_clear_mutable_options.
 */
static int ah_clear_options4(struct iphdr *iph, __be32 *daddr)
{
	unsigned char *optptr = (unsigned char *)(iph + 1);
	int l = iph->ihl * 4 - sizeof(struct iphdr);
	int optlen;

	while (l > 0) {
		switch (*optptr) {
		case IPOPT_END:
			return 0;
		case IPOPT_NOOP:
			l--;
			optptr++;
			continue;
		}
		if (l < 2)
			return -EINVAL;
		optlen = optptr[1];
		if (optlen < 2 || optlen > l)
			return -EINVAL;
		switch (*optptr) {
		case IPOPT_SEC:
		case 0x85:		/* extended security */
		case IPOPT_CIPSO:
		case IPOPT_RA:
		case 0x80 | 21:		/* RFC 1770 */
			break;
		case IPOPT_LSRR:
		case IPOPT_SSRR:
			if (optlen < 6)
				return -EINVAL;
			memcpy(daddr, optptr + optlen - 4, 4);
			fallthrough;
		default:
			memset(optptr, 0, optlen);
		}
		l -= optlen;
		optptr += optlen;
	}
	return 0;
}

/* zero the data of the options marked mutable (RFC 8200 4.2) */
static bool ah_zero_mutable_opts(struct ipv6_opt_hdr *opthdr)
{
	u8 *opt = (u8 *)opthdr;
	int len = ipv6_optlen(opthdr) - 2;
	int off = 2, optlen;

	while (len > 0) {
		if (opt[off] == IPV6_TLV_PAD1) {
			optlen = 1;
		} else {
			if (len < 2)
				return false;
			optlen = opt[off + 1] + 2;
			if (len < optlen)
				return false;
			if (opt[off] & 0x20)
				memset(&opt[off + 2], 0, opt[off + 1]);
		}
		off += optlen;
		len -= optlen;
	}
	return len == 0;
}

/* output: the home address option swaps with the source, as ah6 does */
static void ah_rearrange_destopt(struct ipv6hdr *iph,
				 struct ipv6_opt_hdr *destopt)
{
	u8 *opt = (u8 *)destopt;
	int len = ipv6_optlen(destopt) - 2;
	int off = 2, optlen;

	while (len > 0) {
		if (opt[off] == IPV6_TLV_PAD1) {
			optlen = 1;
		} else {
			if (len < 2)
				return;
			optlen = opt[off + 1] + 2;
			if (len < optlen)
				return;
			if (opt[off] == IPV6_TLV_HAO) {
				struct ipv6_destopt_hao *hao;

				hao = (struct ipv6_destopt_hao *)&opt[off];
				if (hao->length != sizeof(hao->addr))
					return;
				swap(hao->addr, iph->saddr);
			}
		}
		off += optlen;
		len -= optlen;
	}
}

/* the routing header as at the final destination (RFC 4302 App. A2) */
static int ah_rearrange_rthdr(struct ipv6hdr *iph, struct ipv6_rt_hdr *rthdr)
{
	unsigned int segments, segments_left;
	struct in6_addr *addrs, final_addr;

	segments_left = rthdr->segments_left;
	if (segments_left == 0)
		return 0;
	segments = rthdr->hdrlen >> 1;
	if (segments_left > segments)
		return -EINVAL;
	rthdr->segments_left = 0;
	addrs = ((struct rt0_hdr *)rthdr)->addr;
	final_addr = addrs[segments - 1];
	addrs += segments - segments_left;
	memmove(addrs + 1, addrs, (segments_left - 1) * sizeof(*addrs));
	addrs[0] = iph->daddr;
	iph->daddr = final_addr;
	return 0;
}

/* the IPv6 header and the @len - 40 bytes of extension headers after it */
static int ah_clear_options6(struct ipv6hdr *iph, int len, bool out)
{
	u8 *p = (u8 *)(iph + 1), *end = (u8 *)iph + len;
	int nexthdr = iph->nexthdr;

	while (p < end) {
		struct ipv6_opt_hdr *h = (struct ipv6_opt_hdr *)p;

		switch (nexthdr) {
		case NEXTHDR_DEST:
			if (out)
				ah_rearrange_destopt(iph, h);
			fallthrough;
		case NEXTHDR_HOP:
			if (!ah_zero_mutable_opts(h))
				return -EINVAL;
			break;
		case NEXTHDR_ROUTING:
			if (ah_rearrange_rthdr(iph, (struct ipv6_rt_hdr *)h))
				return -EINVAL;
			break;
		default:
			return 0;
		}
		nexthdr = h->nexthdr;
		p += ipv6_optlen(h);
	}
	return 0;
}

/*
 * Save the @hoff bytes of headers in front of AH into @c->hdr, then clear
 * their mutable fields for the ICV (@out: sender's view).
 */
static int ah_clear_mutable(struct sk_buff *skb, struct ah_ctx *c, bool out)
{
	u8 *nh = skb_network_header(skb);

	memcpy(c->hdr, nh, c->hoff);
	if (ip_hdr(skb)->version == 4) {
		struct iphdr *iph = ip_hdr(skb);

		iph->tos = 0;
		iph->frag_off = 0;
		iph->ttl = 0;
		iph->check = 0;
		if (iph->ihl > 5) {
			__be32 dummy;

			return ah_clear_options4(iph, out ? &iph->daddr :
							    &dummy);
		}
	} else {
		struct ipv6hdr *ip6h = ipv6_hdr(skb);

		ip6h->priority = 0;
		memset(ip6h->flow_lbl, 0, sizeof(ip6h->flow_lbl));
		ip6h->hop_limit = 0;
		if (c->hoff > sizeof(*ip6h))
			return ah_clear_options6(ip6h, c->hoff, out);
	}
	return 0;
}

/* the ICV input: the whole packet, then the ESN high half */
static int ah_fill_sg(struct sk_buff *skb, struct ah_ctx *c,
		      struct scatterlist *sg, int nfrags, bool esn)
{
	int err;

	sg_init_table(sg, nfrags + esn);
	err = skb_to_sgvec_nomark(skb, sg, 0, skb->len);
	if (unlikely(err < 0))
		return err;
	if (esn) {
		c->seqhi = htonl(upper_32_bits(c->seq));
		sg_set_buf(sg + nfrags, &c->seqhi, sizeof(c->seqhi));
	}
	return 0;
}

/* ---- output ---- */

/* the outer route of a tunnel SA, from the SA's cache; takes a reference */
static struct dst_entry *ah_route(struct net *net, struct kipsec_sa *sa,
				  xfrm_address_t *saddr)
{
	struct dst_entry *dst;

	memset(saddr, 0, sizeof(*saddr));
	local_bh_disable();
	if (sa->key.family == AF_INET) {
		struct flowi4 fl4 = {};
		struct rtable *rt;

		rt = dst_cache_get_ip4(&sa->dst_cache, &saddr->a4);
		if (rt) {
			dst = &rt->dst;
			goto out;
		}
		fl4.daddr = sa->key.daddr.a4;
		fl4.saddr = sa->saddr.a4;
		fl4.flowi4_proto = IPPROTO_AH;
		rt = ip_route_output_key(net, &fl4);
		if (IS_ERR(rt)) {
			dst = NULL;
			goto out;
		}
		dst = &rt->dst;
		saddr->a4 = fl4.saddr;
		dst_cache_set_ip4(&sa->dst_cache, dst, fl4.saddr);
	} else {
		struct flowi6 fl6 = {};

		dst = dst_cache_get_ip6(&sa->dst_cache, &saddr->in6);
		if (dst)
			goto out;
		fl6.daddr = sa->key.daddr.in6;
		fl6.saddr = sa->saddr.in6;
		fl6.flowi6_proto = IPPROTO_AH;
		dst = ip6_dst_lookup_flow(net, NULL, &fl6, NULL);
		if (IS_ERR(dst)) {
			dst = NULL;
			goto out;
		}
		saddr->in6 = fl6.saddr;
		dst_cache_set_ip6(&sa->dst_cache, dst, &fl6.saddr);
	}
out:
	local_bh_enable();
	return dst;
}

/* the outer IPv4 header, as xfrm4_tunnel_encap_add() */
static void ah_outer4(struct sk_buff *skb, struct kipsec_sa *sa,
		      const xfrm_address_t *saddr, u8 tos, __be16 df)
{
	struct iphdr *top = ip_hdr(skb);

	top->version = 4;
	top->ihl = 5;
	tos = INET_ECN_encapsulate(tos, tos);
	if (sa->flags & KIPSEC_SA_F_NOECN)
		tos &= ~INET_ECN_MASK;
	top->tos = tos;
	top->tot_len = htons(skb->len);
	top->frag_off = (sa->flags & KIPSEC_SA_F_NOPMTUDISC) ? 0 : df;
	top->ttl = ip4_dst_hoplimit(skb_dst(skb));
	top->protocol = IPPROTO_AH;
	top->saddr = saddr->a4;
	top->daddr = sa->key.daddr.a4;
	ip_select_ident(dev_net(skb_dst(skb)->dev), skb, NULL);
	ip_send_check(top);
}

/* the outer IPv6 header, as xfrm6_tunnel_encap_add() */
static void ah_outer6(struct sk_buff *skb, struct kipsec_sa *sa,
		      const xfrm_address_t *saddr, u8 tos, const u8 *flow_lbl)
{
	struct ipv6hdr *top = ipv6_hdr(skb);

	top->version = 6;
	top->priority = 0;
	memcpy(top->flow_lbl, flow_lbl, sizeof(top->flow_lbl));
	tos = INET_ECN_encapsulate(tos, tos);
	if (sa->flags & KIPSEC_SA_F_NOECN)
		tos &= ~INET_ECN_MASK;
	ipv6_change_dsfield(top, 0, tos);
	top->payload_len = htons(skb->len - sizeof(*top));
	top->nexthdr = IPPROTO_AH;
	top->hop_limit = ip6_dst_hoplimit(skb_dst(skb));
	top->saddr = saddr->in6;
	top->daddr = sa->key.daddr.in6;
}

/* tunnel mode: lower the inner path MTU by the AH overhead (as esp.c) */
static void ah_inner_pmtu(struct sk_buff *skb, struct kipsec_sa *sa,
			  struct dst_entry *odst, unsigned int overhead)
{
	unsigned int omtu = dst_mtu(odst);
	struct dst_entry *idst = skb_dst(skb);
	bool same;

	if (!idst || skb->len + overhead <= omtu || omtu <= overhead + 576)
		return;
	if (ip_hdr(skb)->version == 4)
		same = sa->key.family == AF_INET &&
		       ip_hdr(skb)->daddr == sa->key.daddr.a4;
	else
		same = sa->key.family == AF_INET6 &&
		       ipv6_addr_equal(&ipv6_hdr(skb)->daddr,
				       &sa->key.daddr.in6);
	if (!same && dst_mtu(idst) > omtu - overhead)
		skb_dst_update_pmtu_no_confirm(skb, omtu - overhead);
}

static void ah_output_finish(struct ah_ctx *c, int err)
{
	struct sk_buff *skb = c->skb;
	struct kipsec_sa *sa = c->sa;
	struct net *net = c->net;
	unsigned int len = c->len;
	struct ip_auth_hdr *ah;

	if (!err) {
		ah = (struct ip_auth_hdr *)(skb_network_header(skb) + c->hoff);
		memcpy(ah->auth_data, ctx_icv(sa->ahash, c), sa->icv_len);
		memcpy(skb_network_header(skb), c->hdr, c->hoff);
	}
	kfree(c);
	if (err) {
		kipsec_drop(net, sa, KIPSEC_STAT_CRYPTO_ERROR);
		kfree_skb(skb);
	} else if (READ_ONCE(sa->dead)) {
		kipsec_drop(net, sa, KIPSEC_STAT_SA_DEAD);
		kfree_skb(skb);
	} else {
		ah_count(sa, net, KIPSEC_STAT_OUT_PACKETS, len);
		kipsec_hooks_xmit(net, skb);
	}
	kipsec_sa_put(sa);
	kipsec_inflight_put(net);
}

static void ah_output_done(struct crypto_async_request *base, int err)
{
	if (err == -EINPROGRESS)
		return;		/* left the backlog; the result follows */
	ah_output_finish(base->data, err);
}

/**
 * kipsec_ah_output - add AH to one packet and send it
 * @net: its netns
 * @sa: the outbound AH SA; the caller keeps its reference
 * @skb: a non-GSO packet, skb->data at its IP header, routed (skb_dst)
 *
 * Consumes @skb: sends it (now or from the hash completion) or drops it
 * and counts the reason.
 *
 * Return: 0, or a negative error when the packet was dropped here.
 */
int kipsec_ah_output(struct net *net, struct kipsec_sa *sa,
		     struct sk_buff *skb)
{
	struct crypto_ahash *ahash = sa->ahash;
	bool tunnel = sa->mode == KIPSEC_MODE_TUNNEL;
	bool esn = sa->flags & KIPSEC_SA_F_ESN;
	enum kipsec_stat why = KIPSEC_STAT_OUT_ERROR;
	int hdr_off, prev_off = 0, nfrags, err;
	u8 proto, tos = 0, flow_lbl[3] = {};
	unsigned int inner_len = skb->len;
	unsigned int ahlen, outer = 0;
	struct dst_entry *dst = NULL;
	struct ahash_request *req;
	struct ip_auth_hdr *ah;
	struct scatterlist *sg;
	struct sk_buff *trailer;
	xfrm_address_t saddr;
	bool inner4, outer4;
	struct ah_ctx *c;
	__be16 df = 0;
	u64 seq;

	if (!ahash || sa->key.proto != IPPROTO_AH || !sa->icv_len ||
	    sa->icv_len > AH_ICV_MAX) {
		why = KIPSEC_STAT_CRYPTO_ERROR;
		goto drop;
	}
	inner4 = ip_hdr(skb)->version == 4;
	outer4 = sa->key.family == AF_INET;
	ahlen = ah_hdr_len(sa, sa->key.family, sa->icv_len);
	if (!skb_dst(skb) || skb_network_offset(skb))
		goto drop;

	if (skb->ip_summed == CHECKSUM_PARTIAL && skb_checksum_help(skb))
		goto drop;

	if (tunnel) {
		dst = ah_route(net, sa, &saddr);
		if (!dst) {
			why = KIPSEC_STAT_OUT_ROUTE;
			goto drop;
		}
		hdr_off = 0;
		outer = outer4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
		if (inner4) {
			proto = IPPROTO_IPIP;
			tos = ip_hdr(skb)->tos;
			df = ip_hdr(skb)->frag_off & htons(IP_DF);
		} else {
			proto = IPPROTO_IPV6;
			tos = ipv6_get_dsfield(ipv6_hdr(skb));
			df = htons(IP_DF);
			memcpy(flow_lbl, ipv6_hdr(skb)->flow_lbl,
			       sizeof(flow_lbl));
		}
	} else if (inner4) {
		hdr_off = ip_hdr(skb)->ihl * 4;
		proto = ip_hdr(skb)->protocol;
	} else {
		u8 *prevhdr;

		hdr_off = ip6_find_1stfragopt(skb, &prevhdr);
		if (hdr_off < 0)
			goto drop;
		prev_off = prevhdr - skb_network_header(skb);
		proto = *prevhdr;
	}
	if (!tunnel && inner4 != outer4)
		goto drop;
	if (!kipsec_len_fits(skb->len + outer + ahlen, outer4))
		goto drop;

	/*
	 * The sequence number: never wraps (RFC 4302 2.5), and never comes
	 * from an SA that handed its counter to a successor (state update).
	 */
	spin_lock_bh(&sa->lock);
	if (READ_ONCE(sa->dead)) {
		spin_unlock_bh(&sa->lock);
		why = KIPSEC_STAT_SA_DEAD;
		goto drop;
	}
	if (sa->oseq >= (esn ? U64_MAX : U32_MAX)) {
		spin_unlock_bh(&sa->lock);
		kipsec_lft_seq_exhausted(sa);	/* a hard expiry */
		why = KIPSEC_STAT_OUT_SEQ_OVERFLOW;
		goto drop;
	}
	seq = ++sa->oseq;
	spin_unlock_bh(&sa->lock);

	nfrags = skb_cow_data(skb, 0, &trailer);
	if (nfrags < 0)
		goto drop;

	if (tunnel) {
		ah_inner_pmtu(skb, sa, dst, outer + ahlen);
		skb_dst_drop(skb);
		skb_dst_set(skb, dst);
		dst = NULL;
	}
	if (skb_cow_head(skb, ahlen + outer +
			 LL_RESERVED_SPACE(skb_dst(skb)->dev)))
		goto drop;

	skb->ignore_df = 1;

	/* headers: move the IP header (and v6 options) in front of AH */
	if (!tunnel) {
		u8 *old = skb->data;

		skb_push(skb, ahlen);
		memmove(skb->data, old, hdr_off);
		skb_reset_network_header(skb);
		if (inner4) {
			ip_hdr(skb)->protocol = IPPROTO_AH;
			ip_hdr(skb)->tot_len = htons(skb->len);
			/* the ID is in the ICV: choose it before hashing */
			if (skb->len > dst_mtu(skb_dst(skb)))
				ip_select_ident(net, skb, NULL);
			ip_send_check(ip_hdr(skb));
		} else {
			skb_network_header(skb)[prev_off] = IPPROTO_AH;
			ipv6_hdr(skb)->payload_len =
				htons(skb->len - sizeof(struct ipv6hdr));
		}
	} else {
		skb_push(skb, ahlen + outer);
		skb_reset_network_header(skb);
		hdr_off = outer;
		if (outer4) {
			skb->protocol = htons(ETH_P_IP);
			ah_outer4(skb, sa, &saddr, tos, df);
		} else {
			skb->protocol = htons(ETH_P_IPV6);
			ah_outer6(skb, sa, &saddr, tos, flow_lbl);
		}
	}
	skb_set_transport_header(skb, hdr_off);
	ah = ip_auth_hdr(skb);
	ah->nexthdr = proto;
	ah->hdrlen = (ahlen >> 2) - 2;
	ah->reserved = 0;
	ah->spi = sa->key.spi;
	ah->seq_no = htonl(lower_32_bits(seq));
	/* the ICV field (and its padding) counts as zero in the ICV */
	memset(ah->auth_data, 0, ahlen - sizeof(*ah));

	skb_dst_force(skb);
	if (!skb_dst(skb)) {
		why = KIPSEC_STAT_OUT_ROUTE;
		goto drop;
	}

	c = ah_alloc_ctx(ahash, hdr_off, nfrags + esn);
	if (!c)
		goto drop;
	c->skb = skb;
	c->sa = sa;
	c->net = net;
	c->seq = seq;
	c->len = inner_len;
	c->ahlen = ahlen;
	req = ctx_req(ahash, ctx_icv(ahash, c));
	sg = ctx_sg(ahash, req);
	if (ah_clear_mutable(skb, c, true) ||
	    ah_fill_sg(skb, c, sg, nfrags, esn)) {
		memcpy(skb_network_header(skb), c->hdr, c->hoff);
		kfree(c);
		goto drop;
	}
	if (!kipsec_inflight_get(net)) {
		memcpy(skb_network_header(skb), c->hdr, c->hoff);
		kfree(c);
		why = KIPSEC_STAT_SA_DEAD;
		goto drop;
	}

	kipsec_sa_hold(sa);
	ahash_request_set_tfm(req, ahash);
	ahash_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG,
				   ah_output_done, c);
	ahash_request_set_crypt(req, sg, ctx_icv(ahash, c),
				skb->len + (esn ? sizeof(c->seqhi) : 0));
	err = ah_digest(c, req);
	if (err == -EINPROGRESS || err == -EBUSY)
		return 0;
	ah_output_finish(c, err);
	return 0;

drop:
	if (dst)
		dst_release(dst);
	kipsec_drop(net, sa, why);
	kfree_skb(skb);
	return -EINVAL;
}

/* ---- input ---- */

/*
 * Offsets of the AH header and of the next-header byte naming it, from
 * the network header; -1 when the packet is not AH.
 */
static int ah_find(struct sk_buff *skb, int *nhoff)
{
	const struct ipv6hdr *ip6h;
	int off;
	u8 nexthdr;

	if (ip_hdr(skb)->version == 4) {
		*nhoff = offsetof(struct iphdr, protocol);
		return ip_hdr(skb)->protocol == IPPROTO_AH ?
		       ip_hdr(skb)->ihl * 4 : -1;
	}
	ip6h = ipv6_hdr(skb);
	nexthdr = ip6h->nexthdr;
	*nhoff = offsetof(struct ipv6hdr, nexthdr);
	off = sizeof(*ip6h);
	while (nexthdr != IPPROTO_AH) {
		struct ipv6_opt_hdr _h, *h;

		if (!ipv6_ext_hdr(nexthdr) || nexthdr == NEXTHDR_NONE ||
		    nexthdr == NEXTHDR_FRAGMENT || nexthdr == NEXTHDR_ESP)
			return -1;
		h = skb_header_pointer(skb, off, sizeof(_h), &_h);
		if (!h)
			return -1;
		*nhoff = off;
		off += ipv6_optlen(h);
		nexthdr = h->nexthdr;
	}
	return off;
}

static void ah_input_finish(struct ah_ctx *c, int err);

static void ah_input_done(struct crypto_async_request *base, int err)
{
	if (err == -EINPROGRESS)
		return;
	ah_input_finish(base->data, err);
}

/* accepted AH header lengths: sized for the truncated or the full ICV */
static bool ah_len_ok(const struct kipsec_sa *sa, int family,
		      unsigned int ahlen)
{
	return ahlen == ah_hdr_len(sa, family, sa->icv_len) ||
	       ahlen == ah_hdr_len(sa, family,
				   crypto_ahash_digestsize(sa->ahash));
}

/**
 * kipsec_ah_input - authenticate, strip AH and re-inject one packet
 * @net: its netns
 * @sa: the SA of its SPI; the caller's reference is consumed
 * @skb: the packet at LOCAL_IN, skb->data at its outer IP header
 *
 * Consumes @skb: re-injects the packet without AH into the stack (now or
 * from the hash completion) or drops it and counts the reason.
 *
 * Return: 0, or a negative error when the packet was dropped here.
 */
int kipsec_ah_input(struct net *net, struct kipsec_sa *sa,
		    struct sk_buff *skb)
{
	struct crypto_ahash *ahash = sa->ahash;
	bool esn = sa->flags & KIPSEC_SA_F_ESN;
	enum kipsec_stat why = KIPSEC_STAT_IN_MALFORMED;
	int hoff, nhoff, ahlen, nfrags, err;
	struct ahash_request *req;
	struct sk_buff *trailer;
	struct scatterlist *sg;
	struct ip_auth_hdr *ah;
	struct ah_ctx *c;
	u64 seq;

	if (!ahash || skb_network_offset(skb) || !sa->icv_len ||
	    sa->icv_len > AH_ICV_MAX) {
		why = KIPSEC_STAT_CRYPTO_ERROR;
		goto drop;
	}
	hoff = ah_find(skb, &nhoff);
	if (hoff < 0 || !pskb_may_pull(skb, hoff + sizeof(*ah)))
		goto drop;
	ah = (struct ip_auth_hdr *)(skb->data + hoff);
	ahlen = (ah->hdrlen + 2) << 2;
	if (!ah_len_ok(sa, sa->key.family, ahlen) ||
	    !pskb_may_pull(skb, hoff + ahlen))
		goto drop;
	ah = (struct ip_auth_hdr *)(skb->data + hoff);

	/* anti-replay before authentication; the window moves after it */
	spin_lock_bh(&sa->lock);
	seq = ntohl(ah->seq_no);
	if (esn)
		seq = kipsec_replay_infer_esn(&sa->replay, seq);
	err = kipsec_replay_check(&sa->replay, seq);
	spin_unlock_bh(&sa->lock);
	if (err) {
		why = err;
		goto drop;
	}

	/* the headers are cleared in place: the packet must be ours */
	why = KIPSEC_STAT_CRYPTO_ERROR;
	if (skb_unclone(skb, GFP_ATOMIC))
		goto drop;
	nfrags = skb_cow_data(skb, 0, &trailer);
	if (nfrags < 0)
		goto drop;
	ah = (struct ip_auth_hdr *)(skb->data + hoff);

	c = ah_alloc_ctx(ahash, hoff, nfrags + esn);
	if (!c)
		goto drop;
	c->skb = skb;
	c->sa = sa;
	c->net = net;
	c->seq = seq;
	c->nhoff = nhoff;
	c->ahlen = ahlen;
	c->len = skb->len - hoff - ahlen;
	req = ctx_req(ahash, ctx_icv(ahash, c));
	sg = ctx_sg(ahash, req);
	memcpy(c->auth, ah->auth_data, sa->icv_len);
	memset(ah->auth_data, 0, sa->icv_len);
	if (ah_clear_mutable(skb, c, false)) {
		kfree(c);
		why = KIPSEC_STAT_IN_MALFORMED;
		goto drop;
	}
	if (ah_fill_sg(skb, c, sg, nfrags, esn)) {
		kfree(c);
		goto drop;
	}
	if (!kipsec_inflight_get(net)) {
		kfree(c);
		why = KIPSEC_STAT_SA_DEAD;
		goto drop;
	}

	/* re-routed after AH; the device must outlive async crypto */
	skb_dst_drop(skb);
	dev_hold(skb->dev);
	skb->ip_summed = CHECKSUM_NONE;

	ahash_request_set_tfm(req, ahash);
	ahash_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG,
				   ah_input_done, c);
	ahash_request_set_crypt(req, sg, ctx_icv(ahash, c),
				skb->len + (esn ? sizeof(c->seqhi) : 0));
	err = ah_digest(c, req);
	if (err == -EINPROGRESS || err == -EBUSY)
		return 0;
	ah_input_finish(c, err);
	return 0;

drop:
	kipsec_drop(net, sa, why);
	kfree_skb(skb);
	kipsec_sa_put(sa);
	return -EINVAL;
}

/* tunnel mode: strip the outer header and AH, ECN per RFC 6040 */
static int ah_decap_tunnel(struct sk_buff *skb, struct kipsec_sa *sa,
			   int hlen, u8 nexthdr)
{
	u8 outer_tos, inner_tos;

	outer_tos = ip_hdr(skb)->version == 4 ? ip_hdr(skb)->tos :
			ipv6_get_dsfield(ipv6_hdr(skb));
	__skb_pull(skb, hlen);
	skb_reset_network_header(skb);
	if (nexthdr == IPPROTO_IPIP) {
		if (!pskb_may_pull(skb, sizeof(struct iphdr)) ||
		    ip_hdr(skb)->version != 4 || ip_hdr(skb)->ihl < 5)
			return -EINVAL;
		skb->protocol = htons(ETH_P_IP);
		inner_tos = ip_hdr(skb)->tos;
	} else if (nexthdr == IPPROTO_IPV6) {
		if (!pskb_may_pull(skb, sizeof(struct ipv6hdr)) ||
		    ipv6_hdr(skb)->version != 6)
			return -EINVAL;
		skb->protocol = htons(ETH_P_IPV6);
		inner_tos = ipv6_get_dsfield(ipv6_hdr(skb));
	} else {
		return -EINVAL;
	}
	if (!(sa->flags & KIPSEC_SA_F_NOECN) &&
	    INET_ECN_decapsulate(skb, outer_tos, inner_tos) == 2)
		return -EINVAL;	/* CE on a not-ECT inner packet: drop */
	return 0;
}

/* transport mode: remove AH, fix the IP header */
static void ah_decap_transport(struct sk_buff *skb, int hoff, int nhoff,
			       int ahlen, u8 nexthdr)
{
	memmove(skb->data + ahlen, skb->data, hoff);
	__skb_pull(skb, ahlen);
	skb_reset_network_header(skb);
	skb_network_header(skb)[nhoff] = nexthdr;
	if (ip_hdr(skb)->version == 4) {
		ip_hdr(skb)->tot_len = htons(skb->len);
		ip_send_check(ip_hdr(skb));
	} else {
		ipv6_hdr(skb)->payload_len =
			htons(skb->len - sizeof(struct ipv6hdr));
	}
}

static void ah_input_finish(struct ah_ctx *c, int err)
{
	struct sk_buff *skb = c->skb;
	struct kipsec_sa *sa = c->sa;
	struct net_device *dev = skb->dev;
	struct net *net = c->net;
	int hoff = c->hoff, nhoff = c->nhoff, ahlen = c->ahlen;
	unsigned int len = c->len;
	enum kipsec_stat why;
	u64 seq = c->seq;
	u8 nexthdr;

	if (!err && crypto_memneq(ctx_icv(sa->ahash, c), c->auth, sa->icv_len))
		err = -EBADMSG;
	/* the headers as received (the AH ICV field stays zero: removed) */
	memcpy(skb_network_header(skb), c->hdr, hoff);
	kfree(c);
	if (err) {
		why = err == -EBADMSG ? KIPSEC_STAT_IN_AUTH_FAIL :
					KIPSEC_STAT_CRYPTO_ERROR;
		goto drop;
	}
	/*
	 * Authentic: now the window may move (recheck: copies may race).  An
	 * SA replaced by `state update` handed its window over under the
	 * lock and is dead from then on.
	 */
	spin_lock_bh(&sa->lock);
	err = READ_ONCE(sa->dead) ? KIPSEC_STAT_SA_DEAD :
		kipsec_replay_advance(&sa->replay, seq);
	spin_unlock_bh(&sa->lock);
	if (err) {
		why = err;
		goto drop;
	}
	nexthdr = ((struct ip_auth_hdr *)(skb->data + hoff))->nexthdr;
	ah_count(sa, net, KIPSEC_STAT_IN_PACKETS, len);

	why = KIPSEC_STAT_IN_BAD_TRAILER;
	if (sa->mode == KIPSEC_MODE_TUNNEL) {
		if (ah_decap_tunnel(skb, sa, hoff + ahlen, nexthdr))
			goto drop;
	} else {
		/* nothing to deliver */
		if (nexthdr == IPPROTO_NONE)
			goto drop;
		ah_decap_transport(skb, hoff, nhoff, ahlen, nexthdr);
	}
	skb_mac_header_rebuild(skb);
	if (skb->mac_len >= ETH_HLEN && dev->type == ARPHRD_ETHER)
		eth_hdr(skb)->h_proto = skb->protocol;

	nf_reset_ct(skb);
	skb->pkt_type = PACKET_HOST;
	skb->encapsulation = 0;
	kipsec_hooks_reinject(sa, skb);
	dev_put(dev);
	kipsec_sa_put(sa);
	kipsec_inflight_put(net);
	return;

drop:
	kipsec_drop(net, sa, why);
	kfree_skb(skb);
	dev_put(dev);
	kipsec_sa_put(sa);
	kipsec_inflight_put(net);
}
