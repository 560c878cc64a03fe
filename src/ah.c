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
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/scatterlist.h>
#include <crypto/hash.h>
#include <crypto/algapi.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/dst.h>
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

/* the SA's transform is usable for AH */
static bool ah_sa_ok(const struct kipsec_sa *sa)
{
	return sa->ahash && sa->icv_len && sa->icv_len <= AH_ICV_MAX;
}

/* the context of one packet, its AH header at @hoff; NULL without memory */
static struct ah_ctx *ah_ctx_new(struct net *net, struct kipsec_sa *sa,
				 struct sk_buff *skb, int hoff, int nfrags,
				 u64 seq)
{
	bool esn = sa->flags & KIPSEC_SA_F_ESN;
	struct ah_ctx *c;

	c = ah_alloc_ctx(sa->ahash, hoff, nfrags + esn);
	if (!c)
		return NULL;
	c->skb = skb;
	c->sa = sa;
	c->net = net;
	c->seq = seq;
	return c;
}

/*
 * Submit the hash of @c over @sg (the packet, then the ESN high half);
 * the packet continues in @finish, now or from @done.
 */
static void ah_submit(struct ah_ctx *c, struct ahash_request *req,
		      struct scatterlist *sg, crypto_completion_t done,
		      void (*finish)(struct ah_ctx *c, int err))
{
	struct crypto_ahash *ahash = c->sa->ahash;
	bool esn = c->sa->flags & KIPSEC_SA_F_ESN;
	int err;

	ahash_request_set_tfm(req, ahash);
	ahash_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG, done, c);
	ahash_request_set_crypt(req, sg, ctx_icv(ahash, c),
				c->skb->len + (esn ? sizeof(c->seqhi) : 0));
	err = ah_digest(c, req);
	if (err == -EINPROGRESS || err == -EBUSY)
		return;
	finish(c, err);
}

/* ---- output ---- */

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
	kipsec_encap_output_finish(net, sa, skb, len, err);
}

static void ah_output_done(struct crypto_async_request *base, int err)
{
	if (err == -EINPROGRESS)
		return;		/* left the backlog; the result follows */
	ah_output_finish(base->data, err);
}

/* the AH header, its ICV field zero */
static void ah_write_hdr(struct ip_auth_hdr *ah, struct kipsec_sa *sa,
			 u8 proto, unsigned int ahlen, u64 seq)
{
	ah->nexthdr = proto;
	ah->hdrlen = (ahlen >> 2) - 2;
	ah->reserved = 0;
	ah->spi = sa->key.spi;
	ah->seq_no = htonl(lower_32_bits(seq));
	/* the ICV field (and its padding) counts as zero in the ICV */
	memset(ah->auth_data, 0, ahlen - sizeof(*ah));
}

/* hash the finished packet; it continues in ah_output_finish() */
static enum kipsec_stat ah_out_hash(struct ah_ctx *c, int nfrags)
{
	struct crypto_ahash *ahash = c->sa->ahash;
	struct ahash_request *req = ctx_req(ahash, ctx_icv(ahash, c));
	struct scatterlist *sg = ctx_sg(ahash, req);
	enum kipsec_stat why = KIPSEC_STAT_OUT_ERROR;
	struct sk_buff *skb = c->skb;

	if (ah_clear_mutable(skb, c, true) ||
	    ah_fill_sg(skb, c, sg, nfrags, c->sa->flags & KIPSEC_SA_F_ESN))
		goto undo;
	why = KIPSEC_STAT_SA_DEAD;
	if (!kipsec_inflight_get(c->net))
		goto undo;
	kipsec_sa_hold(c->sa);
	ah_submit(c, req, sg, ah_output_done, ah_output_finish);
	return 0;

undo:
	memcpy(skb_network_header(skb), c->hdr, c->hoff);
	kfree(c);
	return why;
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
	enum kipsec_stat why = KIPSEC_STAT_CRYPTO_ERROR;
	unsigned int inner_len = skb->len, ahlen;
	struct sk_buff *trailer;
	struct kipsec_encap e;
	struct ip_auth_hdr *ah;
	struct ah_ctx *c;
	int nfrags;
	u64 seq;

	if (!ah_sa_ok(sa) || sa->key.proto != IPPROTO_AH)
		goto drop_skb;
	ahlen = ah_hdr_len(sa, sa->key.family, sa->icv_len);
	why = kipsec_encap_prepare(net, sa, skb, IPPROTO_AH, &e);
	if (why)
		goto drop;
	why = KIPSEC_STAT_OUT_ERROR;
	if (!kipsec_encap_fits(skb, &e, ahlen))
		goto drop;
	kipsec_encap_clamp_mss(net, skb, sa, &e, ahlen);
	why = KIPSEC_STAT_OUT_TOO_BIG;
	if (kipsec_encap_too_big(skb, sa, &e, ahlen, ahlen))
		goto drop;
	why = kipsec_encap_next_seq(sa, &seq);
	if (why)
		goto drop;
	why = KIPSEC_STAT_OUT_ERROR;
	nfrags = skb_cow_data(skb, 0, &trailer);
	if (nfrags < 0 || kipsec_encap_route_skb(skb, sa, &e, ahlen, ahlen))
		goto drop;
	ah = kipsec_encap_push(net, sa, skb, &e, ahlen);
	if (!ah) {
		why = KIPSEC_STAT_OUT_ROUTE;
		goto drop;
	}
	ah_write_hdr(ah, sa, e.proto, ahlen, seq);
	c = ah_ctx_new(net, sa, skb, e.hdr_off, nfrags, seq);
	if (!c)
		goto drop;
	c->len = inner_len;
	c->ahlen = ahlen;
	why = ah_out_hash(c, nfrags);
	if (why)
		goto drop;
	return 0;

drop:
	kipsec_encap_release(&e);
drop_skb:
	kipsec_drop(net, sa, why);
	kfree_skb(skb);
	return -EINVAL;
}

/* ---- input ---- */

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

/* the AH header's offset, pulled into the linear part; -1 if malformed */
static int ah_in_header(struct kipsec_sa *sa, struct sk_buff *skb,
			int *nhoff, int *ahlen)
{
	struct ip_auth_hdr *ah;
	int hoff;
	u8 proto;

	hoff = kipsec_encap_find(skb, &proto, nhoff);
	if (hoff < 0 || proto != IPPROTO_AH ||
	    !pskb_may_pull(skb, hoff + sizeof(*ah)))
		return -1;
	ah = (struct ip_auth_hdr *)(skb->data + hoff);
	*ahlen = (ah->hdrlen + 2) << 2;
	if (!ah_len_ok(sa, sa->key.family, *ahlen) ||
	    !pskb_may_pull(skb, hoff + *ahlen))
		return -1;
	return hoff;
}

/*
 * The context of an inbound packet, which becomes ours first: its headers
 * are cleared in place.  NULL on error.
 */
static struct ah_ctx *ah_in_ctx(struct net *net, struct kipsec_sa *sa,
				struct sk_buff *skb, int hoff, u64 seq,
				int *nfrags)
{
	struct sk_buff *trailer;

	if (skb_unclone(skb, GFP_ATOMIC))
		return NULL;
	*nfrags = skb_cow_data(skb, 0, &trailer);
	if (*nfrags < 0)
		return NULL;
	return ah_ctx_new(net, sa, skb, hoff, *nfrags, seq);
}

/* keep the ICV received, hash; the packet continues in ah_input_finish() */
static enum kipsec_stat ah_in_hash(struct ah_ctx *c, int nfrags)
{
	struct crypto_ahash *ahash = c->sa->ahash;
	struct ahash_request *req = ctx_req(ahash, ctx_icv(ahash, c));
	struct scatterlist *sg = ctx_sg(ahash, req);
	enum kipsec_stat why = KIPSEC_STAT_IN_MALFORMED;
	struct sk_buff *skb = c->skb;
	struct ip_auth_hdr *ah;

	ah = (struct ip_auth_hdr *)(skb->data + c->hoff);
	memcpy(c->auth, ah->auth_data, c->sa->icv_len);
	memset(ah->auth_data, 0, c->sa->icv_len);
	if (ah_clear_mutable(skb, c, false))
		goto free;
	why = KIPSEC_STAT_CRYPTO_ERROR;
	if (ah_fill_sg(skb, c, sg, nfrags, c->sa->flags & KIPSEC_SA_F_ESN))
		goto free;
	why = KIPSEC_STAT_SA_DEAD;
	if (!kipsec_inflight_get(c->net))
		goto free;
	/* re-routed after AH; the device must outlive async crypto */
	skb_dst_drop(skb);
	dev_hold(skb->dev);
	skb->ip_summed = CHECKSUM_NONE;
	ah_submit(c, req, sg, ah_input_done, ah_input_finish);
	return 0;

free:
	kfree(c);
	return why;
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
	enum kipsec_stat why = KIPSEC_STAT_CRYPTO_ERROR;
	int hoff, nhoff, ahlen, nfrags;
	struct ip_auth_hdr *ah;
	struct ah_ctx *c;
	u64 seq;

	if (!ah_sa_ok(sa) || skb_network_offset(skb))
		goto drop;
	why = KIPSEC_STAT_IN_MALFORMED;
	hoff = ah_in_header(sa, skb, &nhoff, &ahlen);
	if (hoff < 0)
		goto drop;
	ah = (struct ip_auth_hdr *)(skb->data + hoff);
	why = kipsec_encap_replay_check(sa, ah->seq_no, &seq);
	if (why)
		goto drop;
	why = KIPSEC_STAT_CRYPTO_ERROR;
	c = ah_in_ctx(net, sa, skb, hoff, seq, &nfrags);
	if (!c)
		goto drop;
	c->nhoff = nhoff;
	c->ahlen = ahlen;
	c->len = skb->len - hoff - ahlen;
	why = ah_in_hash(c, nfrags);
	if (!why)
		return 0;

drop:
	kipsec_drop(net, sa, why);
	kfree_skb(skb);
	kipsec_sa_put(sa);
	return -EINVAL;
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
	if (err)
		why = err == -EBADMSG ? KIPSEC_STAT_IN_AUTH_FAIL :
					KIPSEC_STAT_CRYPTO_ERROR;
	else	/* authentic: now the window may move */
		why = kipsec_encap_replay_advance(sa, seq);
	if (why) {
		kipsec_encap_input_drop(net, sa, skb, dev, why);
		return;
	}
	nexthdr = ((struct ip_auth_hdr *)(skb->data + hoff))->nexthdr;
	kipsec_encap_count(sa, net, KIPSEC_STAT_IN_PACKETS, len);
	kipsec_encap_deliver(net, sa, skb, dev, hoff, nhoff, ahlen, nexthdr);
}
