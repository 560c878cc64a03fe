// SPDX-License-Identifier: GPL-2.0
/*
 * TCP MSS clamping for flows whose ESP/AH packets share one route with
 * the TCP packets inside them: transport mode and host-to-host tunnels.
 * xfrm gives such flows a bundle whose MTU is the path MTU less the
 * transform's overhead (xfrm_state_mtu()), so TCP's segments plus ESP/AH
 * fit the path; kipsec has no bundle and lowers the MSS option of the
 * SYN and SYN-ACK instead, as xt_TCPMSS does.
 * See docs/architecture.md, "Outbound path" and "Differences".
 */

#include <linux/tcp.h>
#include <asm/unaligned.h>
#include <net/tcp.h>
#include <net/ip6_route.h>
#include <net/route.h>
#include <crypto/aead.h>
#include "datapath.h"

/*
 * The offset of the TCP header from the network header when @skb is an
 * unfragmented IPv4/IPv6 TCP SYN (or SYN-ACK), else -1.
 */
static int syn_offset(struct sk_buff *skb)
{
	struct tcphdr _th;
	const struct tcphdr *th;
	__be16 frag_off;
	u8 nexthdr;
	int off;

	if (ip_hdr(skb)->version == 4) {
		if (ip_hdr(skb)->protocol != IPPROTO_TCP ||
		    ip_is_fragment(ip_hdr(skb)))
			return -1;
		off = ip_hdrlen(skb);
	} else {
		nexthdr = ipv6_hdr(skb)->nexthdr;
		off = ipv6_skip_exthdr(skb, sizeof(struct ipv6hdr), &nexthdr,
				       &frag_off);
		if (off < 0 || nexthdr != IPPROTO_TCP || frag_off)
			return -1;
	}
	th = skb_header_pointer(skb, skb_network_offset(skb) + off,
				sizeof(_th), &_th);
	if (!th || !th->syn || th->doff * 4 < sizeof(*th))
		return -1;
	return off;
}

/* the length of the option at @i; zero-length ones advance by one */
static unsigned int opt_len(const u8 *opt, unsigned int i)
{
	if (opt[i] <= TCPOPT_NOP || !opt[i + 1])
		return 1;
	return opt[i + 1];
}

/*
 * Lower the MSS option of the TCP header at @off to @mss, never raise
 * it; the checksum follows incrementally (CHECKSUM_PARTIAL: the field
 * holds only the pseudo-header sum, which does not change).
 */
static bool clamp_option(struct sk_buff *skb, int off, u16 mss)
{
	unsigned int i, hlen, noff = skb_network_offset(skb) + off;
	struct tcphdr *th;
	u8 *opt;
	u16 old;

	if (skb_ensure_writable(skb, noff + sizeof(*th)))
		return false;
	hlen = ((struct tcphdr *)(skb->data + noff))->doff * 4;
	if (skb_ensure_writable(skb, noff + hlen))
		return false;
	th = (struct tcphdr *)(skb->data + noff);
	opt = (u8 *)th;
	for (i = sizeof(*th); i + TCPOLEN_MSS <= hlen; i += opt_len(opt, i)) {
		if (opt[i] != TCPOPT_MSS || opt[i + 1] != TCPOLEN_MSS)
			continue;
		old = get_unaligned_be16(opt + i + 2);
		if (old <= mss)
			return false;
		put_unaligned_be16(mss, opt + i + 2);
		inet_proto_csum_replace2(&th->check, skb, htons(old),
					 htons(mss), false);
		return true;
	}
	return false;
}

static void clamp_count(struct net *net, struct kipsec_sa *sa,
			struct sk_buff *skb, int off, u16 mss)
{
	if (clamp_option(skb, off, mss))
		kipsec_drop(net, sa, KIPSEC_STAT_MSS_CLAMPED);
}

/*
 * The MSS that lets a full segment of @skb's family, with @over bytes of
 * transform around it, fit @mtu; at least TCP's default MSS.
 */
static u16 mss_for(const struct sk_buff *skb, unsigned int mtu,
		   unsigned int over)
{
	unsigned int hdrs = over + sizeof(struct tcphdr) +
			    (ip_hdr(skb)->version == 4 ? sizeof(struct iphdr) :
			     sizeof(struct ipv6hdr));

	if (mtu < hdrs + TCP_MSS_DEFAULT)
		return TCP_MSS_DEFAULT;
	return min_t(unsigned int, mtu - hdrs, U16_MAX);
}

/**
 * kipsec_mss_clamp - lower the MSS of a SYN to what fits the route
 * @net: its netns
 * @sa: the SA that carries it (counted as MSS_CLAMPED when lowered)
 * @skb: an IPv4/IPv6 packet, skb->data at its network header; anything
 *       but a TCP SYN or SYN-ACK with an MSS option is left alone
 * @mtu: the route's MTU (its path MTU) the ESP/AH packets take
 * @over: the worst-case bytes the transform adds to a packet: outer
 *        header, encapsulation, ESP/AH header, IV, padding, ICV
 *
 * May reallocate @skb's head (skb_ensure_writable()); a packet that
 * cannot be made writable is sent unchanged.
 *
 * Return: true when @skb is a TCP SYN or SYN-ACK.
 */
bool kipsec_mss_clamp(struct net *net, struct kipsec_sa *sa,
		      struct sk_buff *skb, unsigned int mtu, unsigned int over)
{
	int off = syn_offset(skb);

	if (off < 0)
		return false;
	if (mtu)
		clamp_count(net, sa, skb, off, mss_for(skb, mtu, over));
	return true;
}

/* the MTU of the route toward @sa's source (the peer, for an inbound SA) */
static unsigned int peer_mtu(struct net *net, const struct kipsec_sa *sa)
{
	struct flowi6 fl6 = {};
	struct flowi4 fl4 = {};
	struct dst_entry *dst;
	struct rtable *rt;
	unsigned int mtu;

	if (sa->key.family == AF_INET) {
		fl4.daddr = sa->saddr.a4;
		fl4.saddr = sa->key.daddr.a4;
		rt = ip_route_output_key(net, &fl4);
		if (IS_ERR(rt))
			return 0;
		mtu = dst_mtu(&rt->dst);
		ip_rt_put(rt);
		return mtu;
	}
	fl6.daddr = sa->saddr.in6;
	fl6.saddr = sa->key.daddr.in6;
	dst = ip6_route_output(net, NULL, &fl6);
	mtu = dst->error ? 0 : dst_mtu(dst);
	dst_release(dst);
	return mtu;
}

/*
 * The worst-case overhead of @sa's transform around a packet whose
 * ESP/AH header (and IV) is @hlen bytes: as the output path counts it.
 */
static unsigned int sa_overhead(const struct kipsec_sa *sa, unsigned int hlen)
{
	unsigned int over = hlen;

	if (sa->mode == KIPSEC_MODE_TUNNEL)
		over += sa->key.family == AF_INET ? sizeof(struct iphdr) :
			sizeof(struct ipv6hdr);
	if (sa->encap.type == KIPSEC_ENCAP_ESPINUDP)
		over += sizeof(struct udphdr);
	else if (sa->encap.type == KIPSEC_ENCAP_ESPINTCP)
		over += sizeof(__be16);
	if (sa->key.proto == IPPROTO_ESP && sa->aead)
		over += crypto_aead_authsize(sa->aead) + 1 +
			ALIGN(crypto_aead_blocksize(sa->aead), 4);
	return over;
}

/* tunnel mode: the inner source is the outer one (a host-to-host tunnel) */
static bool from_peer(const struct sk_buff *skb, const struct kipsec_sa *sa)
{
	if (ip_hdr(skb)->version == 4)
		return sa->key.family == AF_INET &&
		       ip_hdr(skb)->saddr == sa->saddr.a4;
	return sa->key.family == AF_INET6 &&
	       ipv6_addr_equal(&ipv6_hdr(skb)->saddr, &sa->saddr.in6);
}

/**
 * kipsec_mss_clamp_in - lower the MSS of a decapsulated SYN
 * @net: its netns
 * @sa: the inbound SA it came through
 * @skb: the decapsulated packet, skb->data at its network header
 * @hlen: the length of the SA's ESP/AH header (and IV)
 *
 * In transport mode and host-to-host tunnels this host's answers to the
 * peer take the route toward the SA's source with the same transform's
 * overhead; a peer that advertises the full MSS (xfrm does: its bundle
 * reports the path's advmss) would otherwise make this host's TCP fill
 * the route and the ESP/AH packets be fragmented.
 */
void kipsec_mss_clamp_in(struct net *net, struct kipsec_sa *sa,
			 struct sk_buff *skb, unsigned int hlen)
{
	unsigned int mtu;
	int off;

	if (sa->mode == KIPSEC_MODE_TUNNEL && !from_peer(skb, sa))
		return;
	off = syn_offset(skb);
	if (off < 0)
		return;
	mtu = peer_mtu(net, sa);
	if (mtu)
		clamp_count(net, sa, skb, off,
			    mss_for(skb, mtu, sa_overhead(sa, hlen)));
}
