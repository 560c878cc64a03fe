// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: the encapsulation layer under ESP and AH.
 *
 * Everything around the transform's own header and crypto lives here, so
 * that ESP and AH share one copy and a change to the outer packet (NAT-T's
 * UDP header, ESP in TCP) lands in one place:
 *
 * - output: the outer route of a tunnel SA, the inner path MTU, where the
 *   ESP/AH header goes (after the IP header and IPv6 options in transport
 *   mode, after a new outer IPv4/IPv6 header in tunnel mode), the
 *   sequence number, IPv6 inner fragmentation, and the transmit;
 * - NAT traversal (RFC 3948): the UDP header between the IP header and
 *   ESP on output (IPv4 or IPv6, its checksum over IPv6), and on input
 *   the recognition and removal of the UDP header of ESP-in-UDP packets;
 * - input: the ESP/AH header in the extension header chain, the replay
 *   window, tunnel and transport decapsulation and re-injection;
 * - the SA and netns counters of both.
 *
 * The outer headers follow xfrm4_tunnel_encap_add() and
 * xfrm6_tunnel_encap_add(), the decapsulation xfrm4/6_remove_tunnel_encap()
 * and xfrm_input(), so that Linux xfrm interoperates byte for byte.
 */
#include <linux/kernel.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/udp.h>
#include <net/checksum.h>
#include <net/esp.h>
#include <net/icmp.h>
#include <linux/netfilter_ipv6.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/ip6_route.h>
#include <net/route.h>
#include <net/dst.h>
#include <net/inet_ecn.h>
#include "kipsec.h"
#include "datapath.h"

/**
 * kipsec_encap_count - count a packet in its SA and its netns
 * @sa: the SA
 * @net: its netns
 * @pkts: KIPSEC_STAT_OUT_PACKETS or KIPSEC_STAT_IN_PACKETS (the bytes
 *        counter follows it)
 * @len: the bytes to count
 *
 * Inbound packets also count in the SA's lifetime, after authentication,
 * so that forged packets cannot use an SA up.
 */
void kipsec_encap_count(struct kipsec_sa *sa, struct net *net,
			enum kipsec_stat pkts, unsigned int len)
{
	struct kipsec_net *kn = kipsec_pernet(net);

	sa = kipsec_sa_current(sa);
	kipsec_stats_inc(sa->stats, pkts);
	kipsec_stats_add(sa->stats, pkts + 1, len);
	kipsec_stats_inc(kn->stats, pkts);
	kipsec_stats_add(kn->stats, pkts + 1, len);
	if (pkts == KIPSEC_STAT_IN_PACKETS)
		kipsec_lft_count(sa, len);
}

/* ---- output ---- */

/* the outer route of a tunnel SA, from the SA's cache; takes a reference */
static struct dst_entry *route4(struct net *net, struct kipsec_sa *sa,
				xfrm_address_t *saddr, u8 ipproto)
{
	struct flowi4 fl4 = {};
	struct rtable *rt;

	rt = dst_cache_get_ip4(&sa->dst_cache, &saddr->a4);
	if (rt)
		return &rt->dst;
	fl4.daddr = sa->key.daddr.a4;
	fl4.saddr = sa->saddr.a4;
	fl4.flowi4_proto = ipproto;
	rt = ip_route_output_key(net, &fl4);
	if (IS_ERR(rt))
		return NULL;
	saddr->a4 = fl4.saddr;
	dst_cache_set_ip4(&sa->dst_cache, &rt->dst, fl4.saddr);
	return &rt->dst;
}

static struct dst_entry *route6(struct net *net, struct kipsec_sa *sa,
				xfrm_address_t *saddr, u8 ipproto)
{
	struct flowi6 fl6 = {};
	struct dst_entry *dst;

	dst = dst_cache_get_ip6(&sa->dst_cache, &saddr->in6);
	if (dst)
		return dst;
	fl6.daddr = sa->key.daddr.in6;
	fl6.saddr = sa->saddr.in6;
	fl6.flowi6_proto = ipproto;
	dst = ip6_dst_lookup_flow(net, NULL, &fl6, NULL);
	if (IS_ERR(dst))
		return NULL;
	saddr->in6 = fl6.saddr;
	dst_cache_set_ip6(&sa->dst_cache, dst, &fl6.saddr);
	return dst;
}

static struct dst_entry *route(struct net *net, struct kipsec_sa *sa,
			       xfrm_address_t *saddr, u8 ipproto)
{
	struct dst_entry *dst;

	memset(saddr, 0, sizeof(*saddr));
	/* dst_cache is per CPU */
	local_bh_disable();
	if (sa->key.family == AF_INET)
		dst = route4(net, sa, saddr, ipproto);
	else
		dst = route6(net, sa, saddr, ipproto);
	local_bh_enable();
	return dst;
}

/* tunnel mode: what the outer header copies from the inner one */
static void prepare_tunnel(struct sk_buff *skb, struct kipsec_encap *e)
{
	e->hdr_off = 0;
	e->outer = e->outer4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	if (e->inner4) {
		e->proto = IPPROTO_IPIP;
		e->tos = ip_hdr(skb)->tos;
		e->df = ip_hdr(skb)->frag_off & htons(IP_DF);
	} else {
		e->proto = IPPROTO_IPV6;
		e->tos = ipv6_get_dsfield(ipv6_hdr(skb));
		e->df = htons(IP_DF);
		memcpy(e->flow_lbl, ipv6_hdr(skb)->flow_lbl,
		       sizeof(e->flow_lbl));
	}
}

/* transport mode: the ESP/AH header goes after the IP header (v6 options) */
static int prepare_transport(struct sk_buff *skb, struct kipsec_encap *e)
{
	u8 *prevhdr;

	if (e->inner4 != e->outer4)
		return -EINVAL;
	if (e->inner4) {
		e->hdr_off = ip_hdr(skb)->ihl * 4;
		e->proto = ip_hdr(skb)->protocol;
		return 0;
	}
	e->hdr_off = ip6_find_1stfragopt(skb, &prevhdr);
	if (e->hdr_off < 0)
		return -EINVAL;
	e->prev_off = prevhdr - skb_network_header(skb);
	e->proto = *prevhdr;
	return 0;
}

/**
 * kipsec_encap_prepare - plan the encapsulation of one outbound packet
 * @net: its netns
 * @sa: the outbound SA
 * @skb: a non-GSO packet, skb->data at its IP header, routed (skb_dst)
 * @ipproto: IPPROTO_ESP or IPPROTO_AH
 * @e: filled in; tunnel mode: holds the outer route until
 *     kipsec_encap_route_skb() or kipsec_encap_release()
 *
 * Return: 0, or the drop reason (the caller drops @skb).
 */
enum kipsec_stat kipsec_encap_prepare(struct net *net, struct kipsec_sa *sa,
				      struct sk_buff *skb, u8 ipproto,
				      struct kipsec_encap *e)
{
	memset(e, 0, sizeof(*e));
	e->ipproto = ipproto;
	e->tunnel = sa->mode == KIPSEC_MODE_TUNNEL;
	e->inner4 = ip_hdr(skb)->version == 4;
	e->outer4 = sa->key.family == AF_INET;
	/* esp.c alone asks: AH never has an encapsulation (sa_encap_check) */
	if (sa->encap.type == KIPSEC_ENCAP_ESPINUDP)
		e->elen = sizeof(struct udphdr);
	e->tcp = sa->encap.type == KIPSEC_ENCAP_ESPINTCP;
	if (e->tcp)
		e->elen = sizeof(__be16);
	if (!skb_dst(skb) || skb_network_offset(skb))
		return KIPSEC_STAT_OUT_ERROR;
	if (skb->ip_summed == CHECKSUM_PARTIAL && skb_checksum_help(skb))
		return KIPSEC_STAT_OUT_ERROR;
	if (!e->tunnel)
		return prepare_transport(skb, e) ? KIPSEC_STAT_OUT_ERROR : 0;
	e->dst = route(net, sa, &e->saddr, ipproto);
	if (!e->dst)
		return KIPSEC_STAT_OUT_ROUTE;
	prepare_tunnel(skb, e);
	return 0;
}

/**
 * kipsec_encap_release - let go of what kipsec_encap_prepare() holds
 * @e: the plan of a packet that is dropped or handed elsewhere
 */
void kipsec_encap_release(struct kipsec_encap *e)
{
	dst_release(e->dst);
	e->dst = NULL;
}

/**
 * kipsec_encap_fits - the packet fits its IP length field once grown
 * @skb: the packet, as kipsec_encap_prepare() saw it
 * @e: its plan
 * @extra: the bytes the transform adds (header, IV, trailer, ICV)
 */
bool kipsec_encap_fits(const struct sk_buff *skb,
		       const struct kipsec_encap *e, unsigned int extra)
{
	return kipsec_len_fits(skb->len + e->outer + e->elen + extra, e->outer4);
}

/*
 * Lock the SA that holds @sa's sequence state now: @sa, or the successor
 * it handed that state to under its lock.  Returns it locked.
 */
static struct kipsec_sa *encap_lock_current(struct kipsec_sa *sa)
	__acquires(&sa->lock)
{
	struct kipsec_sa *next;

	spin_lock_bh(&sa->lock);
	while (READ_ONCE(sa->dead) && (next = sa->successor)) {
		spin_unlock_bh(&sa->lock);
		sa = next;
		spin_lock_bh(&sa->lock);
	}
	return sa;
}

/**
 * kipsec_encap_next_seq - take the SA's next outbound sequence number
 * @sa: the outbound SA
 * @seq: the number taken
 *
 * Never wraps (RFC 4303 3.3.3, RFC 4302 2.5): the last number ends the SA
 * as a hard expiry.  An SA that handed its counter to a successor (state
 * update, same key) draws from the successor's; a deleted one, none.
 *
 * Return: 0, or the drop reason.
 */
enum kipsec_stat kipsec_encap_next_seq(struct kipsec_sa *sa, u64 *seq)
{
	bool esn;

	sa = encap_lock_current(sa);
	if (READ_ONCE(sa->dead)) {
		spin_unlock_bh(&sa->lock);
		return KIPSEC_STAT_SA_DEAD;
	}
	esn = sa->flags & KIPSEC_SA_F_ESN;
	if (sa->oseq >= (esn ? U64_MAX : U32_MAX)) {
		spin_unlock_bh(&sa->lock);
		kipsec_lft_seq_exhausted(sa);	/* a hard expiry */
		return KIPSEC_STAT_OUT_SEQ_OVERFLOW;
	}
	*seq = ++sa->oseq;
	spin_unlock_bh(&sa->lock);
	return 0;
}

/*
 * Tunnel mode: inner and outer destination are the same host; both share
 * one route, whose MTU the outer packets need.
 */
static bool same_host(const struct sk_buff *skb, const struct kipsec_sa *sa)
{
	if (ip_hdr(skb)->version == 4)
		return sa->key.family == AF_INET &&
		       ip_hdr(skb)->daddr == sa->key.daddr.a4;
	return sa->key.family == AF_INET6 &&
	       ipv6_addr_equal(&ipv6_hdr(skb)->daddr, &sa->key.daddr.in6);
}

/* lower the path MTU of @skb's (inner) route to @omtu less @overhead */
static void inner_pmtu_lower(struct sk_buff *skb, unsigned int omtu,
			     unsigned int overhead)
{
	struct dst_entry *idst = skb_dst(skb);

	if (idst && omtu > overhead + 576 && dst_mtu(idst) > omtu - overhead)
		skb_dst_update_pmtu_no_confirm(skb, omtu - overhead);
}

/*
 * Tunnel mode: when the ESP/AH packet would exceed the outer route's MTU,
 * lower the inner route's path MTU by the overhead, as ip_tunnel does, so
 * that local senders (TCP) shrink their packets; this one is sent
 * fragmented.  Not when inner and outer destination are the same host:
 * both share the route and the MTU would only shrink further.
 */
static void inner_pmtu(struct sk_buff *skb, struct kipsec_sa *sa,
		       const struct kipsec_encap *e, unsigned int overhead)
{
	unsigned int len = skb->len - e->tfclen;

	if (len + overhead > dst_mtu(e->dst) && !same_host(skb, sa))
		inner_pmtu_lower(skb, dst_mtu(e->dst), overhead);
}

/**
 * kipsec_encap_clamp_mss - fit TCP to a route the ESP/AH packets share
 * @net: its netns
 * @skb: the packet, as kipsec_encap_prepare() saw it
 * @sa: its SA
 * @e: its plan
 * @pmtu_over: the transform's worst-case overhead for the inner MTU
 *
 * In transport mode and host-to-host tunnels the inner packets take the
 * outer route, whose MTU TCP would fill; the ESP/AH packets then exceed
 * it.  A SYN or SYN-ACK's MSS option is lowered so that the peer's full
 * segments fit with the overhead, as xfrm's bundle MTU does.  So is a
 * SYN or SYN-ACK this host sends into a tunnel to another host (it has a
 * socket), and the inner route's MTU is lowered as it leaves: xfrm's
 * bundle limits both ends of such a connection from its first segment,
 * where without it the first full segments would be refused
 * (kipsec_encap_too_big()).  Forwarded SYNs into a tunnel to another
 * host are left as xfrm leaves them; the inner route's MTU is lowered
 * when a packet does not fit (inner_pmtu()).
 */
void kipsec_encap_clamp_mss(struct net *net, struct sk_buff *skb,
			    struct kipsec_sa *sa, const struct kipsec_encap *e,
			    unsigned int pmtu_over)
{
	struct dst_entry *dst = e->tunnel ? e->dst : skb_dst(skb);
	unsigned int over = e->outer + e->elen + pmtu_over;

	if (!e->tunnel || same_host(skb, sa)) {
		kipsec_mss_clamp(net, sa, skb, dst_mtu(dst), over);
		return;
	}
	if (skb->sk && kipsec_mss_clamp(net, sa, skb, dst_mtu(dst), over))
		inner_pmtu_lower(skb, dst_mtu(dst), over);
}

/**
 * kipsec_encap_too_big - refuse a tunnel packet that may not fragment
 * @skb: the inner packet, as kipsec_encap_prepare() saw it
 * @sa: its SA
 * @e: its plan (tunnel mode: the outer route)
 * @extra: the bytes the transform adds (header, IV, trailer, ICV)
 * @pmtu_over: the transform's worst-case overhead for the inner MTU
 *
 * As xfrm4_tunnel_check_size() and xfrm6_tunnel_check_size(): an inner
 * IPv4 packet with DF, or an inner IPv6 packet (which routers never
 * fragment), whose outer packet would exceed the outer route's MTU is
 * not sent; its sender (a local socket or, forwarded, the host behind
 * the gateway) gets ICMP "fragmentation needed" or ICMPv6 "packet too
 * big" with the MTU left for the inner packet.  So an outer packet with
 * DF is never fragmented.  Not when the inner destination is the outer
 * one: the reduced MTU would land on the outer route too.
 *
 * Return: true when @skb was refused (the caller drops it).
 */
bool kipsec_encap_too_big(struct sk_buff *skb, struct kipsec_sa *sa,
			  const struct kipsec_encap *e, unsigned int extra,
			  unsigned int pmtu_over)
{
	unsigned int omtu, over = e->outer + e->elen + pmtu_over;
	int mtu;

	if (!e->tunnel || skb->ignore_df || same_host(skb, sa))
		return false;
	if (e->inner4 && !(ip_hdr(skb)->frag_off & htons(IP_DF)))
		return false;
	omtu = dst_mtu(e->dst);
	if (skb->len + e->outer + e->elen + extra <= omtu)
		return false;
	mtu = (int)omtu - (int)over;
	if (e->inner4) {
		mtu = max(mtu, 576);
		if (skb->len <= mtu)
			return false;
		icmp_send(skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
			  htonl(mtu));
	} else {
		mtu = max(mtu, IPV6_MIN_MTU);
		if (skb->len <= mtu)
			return false;
		icmpv6_send(skb, ICMPV6_PKT_TOOBIG, 0, mtu);
	}
	return true;
}

/**
 * kipsec_encap_route_skb - route the packet as it will leave, make room
 * @skb: the packet, its trailer (if any) added
 * @sa: its SA
 * @e: its plan; tunnel mode: the outer route passes to @skb
 * @hlen: the bytes of the ESP/AH header (and IV) to go in front
 * @pmtu_over: the transform's overhead for the inner path MTU (header,
 *             IV, ICV and the worst case of padding)
 *
 * Return: 0, or -ENOMEM (the caller drops @skb).
 */
int kipsec_encap_route_skb(struct sk_buff *skb, struct kipsec_sa *sa,
			   struct kipsec_encap *e, unsigned int hlen,
			   unsigned int pmtu_over)
{
	if (e->tunnel) {
		inner_pmtu(skb, sa, e, e->outer + e->elen + pmtu_over);
		skb_dst_drop(skb);
		skb_dst_set(skb, e->dst);
		e->dst = NULL;
	}
	return skb_cow_head(skb, hlen + e->outer + e->elen +
			    LL_RESERVED_SPACE(skb_dst(skb)->dev));
}

/* the inner DS field to copy, none with extra-flag dont-encap-dscp */
static u8 outer_dscp(const struct kipsec_sa *sa, const struct kipsec_encap *e)
{
	return sa->xflags & KIPSEC_SA_XF_DONT_ENCAP_DSCP ? 0 : e->tos;
}

/* what the IP header names: ESP/AH, or the encapsulation's protocol */
static u8 outer_proto(const struct kipsec_encap *e)
{
	if (e->tcp)
		return IPPROTO_TCP;
	return e->elen ? IPPROTO_UDP : e->ipproto;
}

/* the outer IPv4 header, as xfrm4_tunnel_encap_add() */
static void outer4(struct sk_buff *skb, struct kipsec_sa *sa,
		   const struct kipsec_encap *e)
{
	struct iphdr *top = ip_hdr(skb);
	u8 tos;

	top->version = 4;
	top->ihl = 5;
	tos = INET_ECN_encapsulate(outer_dscp(sa, e), e->tos);
	if (sa->flags & KIPSEC_SA_F_NOECN)
		tos &= ~INET_ECN_MASK;
	top->tos = tos;
	top->tot_len = htons(skb->len);
	top->frag_off = (sa->flags & KIPSEC_SA_F_NOPMTUDISC) ? 0 : e->df;
	top->ttl = ip4_dst_hoplimit(skb_dst(skb));
	top->protocol = outer_proto(e);
	top->saddr = e->saddr.a4;
	top->daddr = sa->key.daddr.a4;
	ip_select_ident(dev_net(skb_dst(skb)->dev), skb, NULL);
	ip_send_check(top);
}

/* the outer IPv6 header, as xfrm6_tunnel_encap_add() */
static void outer6(struct sk_buff *skb, struct kipsec_sa *sa,
		   const struct kipsec_encap *e)
{
	struct ipv6hdr *top = ipv6_hdr(skb);
	u8 tos;

	top->version = 6;
	top->priority = 0;
	memcpy(top->flow_lbl, e->flow_lbl, sizeof(top->flow_lbl));
	tos = INET_ECN_encapsulate(outer_dscp(sa, e), e->tos);
	if (sa->flags & KIPSEC_SA_F_NOECN)
		tos &= ~INET_ECN_MASK;
	ipv6_change_dsfield(top, 0, tos);
	top->payload_len = htons(skb->len - sizeof(*top));
	top->nexthdr = outer_proto(e);
	top->hop_limit = ip6_dst_hoplimit(skb_dst(skb));
	top->saddr = e->saddr.in6;
	top->daddr = sa->key.daddr.in6;
}

/* tunnel mode: a new outer header in front of the ESP/AH header */
static void push_tunnel(struct sk_buff *skb, struct kipsec_sa *sa,
			struct kipsec_encap *e, unsigned int hlen)
{
	skb_push(skb, hlen + e->elen + e->outer);
	skb_reset_network_header(skb);
	e->hdr_off = e->outer + e->elen;
	if (e->outer4) {
		skb->protocol = htons(ETH_P_IP);
		outer4(skb, sa, e);
	} else {
		skb->protocol = htons(ETH_P_IPV6);
		outer6(skb, sa, e);
	}
}

/* transport mode: move the IP header (and v6 options) forward */
static void push_transport(struct net *net, struct sk_buff *skb,
			   struct kipsec_encap *e, unsigned int hlen)
{
	u8 *old = skb->data;
	u8 ipproto = outer_proto(e);

	skb_push(skb, hlen + e->elen);
	memmove(skb->data, old, e->hdr_off);
	skb_reset_network_header(skb);
	e->hdr_off += e->elen;
	if (e->inner4) {
		ip_hdr(skb)->protocol = ipproto;
		ip_hdr(skb)->tot_len = htons(skb->len);
		/*
		 * To be fragmented: DF packets may carry ID 0.  AH hashes the
		 * ID, so it is chosen here, before the ICV.
		 */
		if (skb->len > dst_mtu(skb_dst(skb)))
			ip_select_ident(net, skb, NULL);
		ip_send_check(ip_hdr(skb));
	} else {
		skb_network_header(skb)[e->prev_off] = ipproto;
		ipv6_hdr(skb)->payload_len =
			htons(skb->len - sizeof(struct ipv6hdr));
	}
}

/*
 * NAT-T: the UDP header in front of the ESP header, as
 * esp_output_udp_encap(): the SA's ports, checksum 0 (RFC 3948 2.1: the
 * ESP ICV protects the payload; a NAT rewriting the addresses has no
 * checksum to fix).  Over IPv6 the checksum is mandatory: it is computed
 * once the payload is encrypted (udp6_csum()).
 */
static void push_udp(struct sk_buff *skb, struct kipsec_sa *sa,
		     const struct kipsec_encap *e)
{
	int off = e->hdr_off - e->elen;
	struct udphdr *uh = (void *)(skb_network_header(skb) + off);

	uh->source = sa->encap.sport;
	uh->dest = sa->encap.dport;
	uh->len = htons(skb->len - off);
	uh->check = 0;
}

/*
 * ESP in TCP: the frame's length in front of the ESP header, counting
 * itself, as esp_output_tcp_encap(); the frame is all that goes out
 */
static void push_tcp_len(struct sk_buff *skb, const struct kipsec_encap *e)
{
	int off = e->hdr_off - e->elen;

	put_unaligned_be16(skb->len - off, skb_network_header(skb) + off);
}

/**
 * kipsec_encap_push - build the headers in front of the ESP/AH header
 * @net: the netns
 * @sa: the outbound SA
 * @skb: the packet after kipsec_encap_route_skb()
 * @e: its plan; e->hdr_off becomes the ESP/AH header's offset
 * @hlen: the bytes of the ESP/AH header (and IV)
 *
 * Everything in front of the transform's header is written here: the
 * outer IP header in tunnel mode, the moved IP header in transport mode
 * (and, with NAT-T, the UDP header).  The IP lengths already count the
 * trailer, which the caller added before.
 *
 * Return: where the ESP/AH header goes (the transport header), or NULL
 * when the route went away (the caller drops @skb, OUT_ROUTE).
 */
void *kipsec_encap_push(struct net *net, struct kipsec_sa *sa,
			struct sk_buff *skb, struct kipsec_encap *e,
			unsigned int hlen)
{
	skb->ignore_df = 1;
	if (e->tunnel)
		push_tunnel(skb, sa, e, hlen);
	else
		push_transport(net, skb, e, hlen);
	if (e->tcp)
		push_tcp_len(skb, e);
	else if (e->elen)
		push_udp(skb, sa, e);
	skb_set_transport_header(skb, e->hdr_off);
	skb_dst_force(skb);
	if (!skb_dst(skb))
		return NULL;
	return skb_transport_header(skb);
}

/*
 * NAT-T over IPv6: the UDP checksum over the encrypted packet, as
 * esp_output_encap_csum(); in software, since the ESP payload exists only
 * now and the packet is not offered to the device's checksum offload
 */
static void udp6_csum(struct sk_buff *skb)
{
	unsigned int off = skb_transport_offset(skb) - sizeof(struct udphdr);
	struct udphdr *uh = (void *)(skb->data + off);
	struct ipv6hdr *ip6h = ipv6_hdr(skb);

	uh->check = csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr,
				    skb->len - off, IPPROTO_UDP,
				    skb_checksum(skb, off, skb->len - off, 0));
	if (!uh->check)
		uh->check = CSUM_MANGLED_0;
	skb->ip_summed = CHECKSUM_NONE;
}

/**
 * kipsec_encap_output_finish - send a transformed packet
 * @net: its netns
 * @sa: its SA, whose reference (and the netns' in-flight count) taken
 *      for the transform is dropped here
 * @skb: the packet; consumed
 * @len: bytes to count (the packet before the transform)
 * @err: the transform's result
 */
void kipsec_encap_output_finish(struct net *net, struct kipsec_sa *sa,
				struct sk_buff *skb, unsigned int len, int err)
{
	/*
	 * Sent even if the SA was deleted meanwhile, as xfrm does: its
	 * sequence number was taken while it was alive.
	 */
	if (err) {
		kipsec_drop(net, sa, KIPSEC_STAT_CRYPTO_ERROR);
		kfree_skb(skb);
	} else if (sa->encap.type == KIPSEC_ENCAP_ESPINTCP) {
		err = kipsec_espintcp_xmit(net, sa, skb);
		if (err)
			kipsec_drop(net, sa, err);
		else
			kipsec_encap_count(sa, net, KIPSEC_STAT_OUT_PACKETS,
					   len);
	} else {
		if (sa->encap.type && sa->key.family == AF_INET6)
			udp6_csum(skb);
		kipsec_encap_count(sa, net, KIPSEC_STAT_OUT_PACKETS, len);
		kipsec_hooks_xmit(net, skb);
	}
	kipsec_sa_put(sa);
	kipsec_inflight_put(net);
}

/**
 * struct encap_frag - the transform that the inner fragments go through
 * @sa: their SA
 * @output: its output function
 *
 * Per CPU, written and read with BH disabled around ip6_fragment().
 */
struct encap_frag {
	struct kipsec_sa *sa;
	kipsec_output_t output;
};

static DEFINE_PER_CPU(struct encap_frag, encap_frag);

static int frag6_out(struct net *net, struct sock *sk, struct sk_buff *skb)
{
	struct encap_frag *f = this_cpu_ptr(&encap_frag);

	return f->output(net, f->sa, skb);
}

/**
 * kipsec_encap_frag6 - fragment an IPv6 inner packet, then transform it
 * @net: its netns
 * @sa: the tunnel SA
 * @skb: an IPv6 packet too long for any outer packet; consumed
 * @output: the transform (kipsec_esp_output, kipsec_ah_output) for each
 *          fragment
 *
 * Tunnel mode, as xfrm6_output() does: the packet is fragmented to its
 * route's MTU first (ip6_fragment() before the transform; a packet the
 * sender does not allow to fragment gets ICMPv6 packet too big there),
 * and each fragment is encapsulated.  A fragment too long again (an inner
 * MTU near 64 KB) is dropped.
 *
 * Return: 0, or a negative error.
 */
int kipsec_encap_frag6(struct net *net, struct kipsec_sa *sa,
		       struct sk_buff *skb, kipsec_output_t output)
{
	const struct nf_ipv6_ops *v6ops;
	struct encap_frag *f;
	int err = -EMSGSIZE;

	local_bh_disable();
	rcu_read_lock();
	f = this_cpu_ptr(&encap_frag);
	/* ip6_fragment() itself is not exported; netfilter's hook to it is */
	v6ops = nf_get_ipv6_ops();
	if (v6ops && !f->sa) {
		f->sa = sa;
		f->output = output;
		err = v6ops->fragment(net, skb->sk, skb, frag6_out);
		f->sa = NULL;
	} else {
		kipsec_drop(net, sa, KIPSEC_STAT_OUT_ERROR);
		kfree_skb(skb);
	}
	rcu_read_unlock();
	local_bh_enable();
	return err;
}

/* ---- input ---- */

/* IPv6: walk the extension headers to the first ESP or AH header */
static int find6(struct sk_buff *skb, u8 *proto, int *nhoff)
{
	int noff = skb_network_offset(skb);
	int off = sizeof(struct ipv6hdr);
	u8 nexthdr = ipv6_hdr(skb)->nexthdr;

	*nhoff = offsetof(struct ipv6hdr, nexthdr);
	while (nexthdr != IPPROTO_ESP && nexthdr != IPPROTO_AH) {
		struct ipv6_opt_hdr _h, *h;

		if (!ipv6_ext_hdr(nexthdr) || nexthdr == NEXTHDR_NONE ||
		    nexthdr == NEXTHDR_FRAGMENT)
			return -1;
		h = skb_header_pointer(skb, noff + off, sizeof(_h), &_h);
		if (!h)
			return -1;
		*nhoff = off;
		off += ipv6_optlen(h);
		nexthdr = h->nexthdr;
	}
	*proto = nexthdr;
	return off;
}

/**
 * kipsec_encap_find - the first ESP or AH header of a packet
 * @skb: the packet, its network header set
 * @proto: out: IPPROTO_ESP or IPPROTO_AH
 * @nhoff: out: offset of the next-header byte that names it, from the
 *         network header
 *
 * IPv6: the first one in the extension header chain (ipv6_skip_exthdr()
 * would skip AH), not behind a fragment header.  An AH header in front of
 * ESP is found first: ah.c removes it and the packet comes back for ESP.
 *
 * Return: the offset of the ESP/AH header from the network header, or -1
 * when the packet carries none.
 */
int kipsec_encap_find(struct sk_buff *skb, u8 *proto, int *nhoff)
{
	const struct iphdr *iph = ip_hdr(skb);

	if (iph->version == 6)
		return find6(skb, proto, nhoff);
	*nhoff = offsetof(struct iphdr, protocol);
	*proto = iph->protocol;
	if (iph->protocol != IPPROTO_ESP && iph->protocol != IPPROTO_AH)
		return -1;
	return iph->ihl * 4;
}

/**
 * kipsec_encap_replay_check - the replay check before authentication
 * @sa: the inbound SA
 * @seq_no: the header's sequence number
 * @seq: out: the 64-bit number (ESN: the high half inferred, RFC 4303
 *       A.2)
 *
 * Return: 0, or the drop reason.  The window moves only after
 * authentication (kipsec_encap_replay_advance()).
 */
enum kipsec_stat kipsec_encap_replay_check(struct kipsec_sa *sa,
					   __be32 seq_no, u64 *seq)
{
	int err;

	spin_lock_bh(&sa->lock);
	*seq = ntohl(seq_no);
	if (sa->flags & KIPSEC_SA_F_ESN)
		*seq = kipsec_replay_infer_esn(&sa->replay, *seq);
	err = kipsec_replay_check(&sa->replay, *seq);
	spin_unlock_bh(&sa->lock);
	return err;
}

/**
 * kipsec_encap_replay_advance - move the window past an authentic packet
 * @sa: the inbound SA
 * @seq: the packet's 64-bit sequence number
 *
 * Checks again: copies of the packet may race.  An SA replaced by `state
 * update` handed its window over under the lock: the successor's window
 * moves instead, so that a packet in flight across the update is neither
 * dropped nor accepted twice.  A packet authenticated by an SA deleted
 * meanwhile is delivered, as xfrm does.
 *
 * Return: 0, or the drop reason.
 */
enum kipsec_stat kipsec_encap_replay_advance(struct kipsec_sa *sa, u64 seq)
{
	int err;

	sa = encap_lock_current(sa);
	err = kipsec_replay_advance(&sa->replay, seq);
	spin_unlock_bh(&sa->lock);
	return err;
}

/*
 * tunnel mode: strip the outer header; with decap-dscp the outer DSCP
 * replaces the inner one (before ECN, as xfrm); ECN per RFC 6040
 */
static int decap_tunnel(struct sk_buff *skb, struct kipsec_sa *sa,
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
		if (sa->flags & KIPSEC_SA_F_DECAP_DSCP)
			ipv4_copy_dscp(outer_tos, ip_hdr(skb));
		inner_tos = ip_hdr(skb)->tos;
	} else if (nexthdr == IPPROTO_IPV6) {
		if (!pskb_may_pull(skb, sizeof(struct ipv6hdr)) ||
		    ipv6_hdr(skb)->version != 6)
			return -EINVAL;
		skb->protocol = htons(ETH_P_IPV6);
		if (sa->flags & KIPSEC_SA_F_DECAP_DSCP)
			ipv6_copy_dscp(outer_tos, ipv6_hdr(skb));
		inner_tos = ipv6_get_dsfield(ipv6_hdr(skb));
	} else {
		return -EINVAL;
	}
	if (!(sa->flags & KIPSEC_SA_F_NOECN) &&
	    INET_ECN_decapsulate(skb, outer_tos, inner_tos) == 2)
		return -EINVAL;	/* CE on a not-ECT inner packet: drop */
	return 0;
}

/* transport mode: remove the ESP/AH header, fix the IP header */
static int decap_transport(struct sk_buff *skb, int hoff, int nhoff,
			   int hlen, u8 nexthdr)
{
	/* AH naming no next header (59): nothing to deliver */
	if (nexthdr == IPPROTO_NONE)
		return -EINVAL;
	memmove(skb->data + hlen, skb->data, hoff);
	__skb_pull(skb, hlen);
	skb_reset_network_header(skb);
	skb_network_header(skb)[nhoff] = nexthdr;
	if (ip_hdr(skb)->version == 4) {
		ip_hdr(skb)->tot_len = htons(skb->len);
		ip_send_check(ip_hdr(skb));
	} else {
		ipv6_hdr(skb)->payload_len =
			htons(skb->len - sizeof(struct ipv6hdr));
	}
	return 0;
}

/* the packet as if it had arrived without IPsec on @dev */
static void reinject(struct kipsec_sa *sa, struct sk_buff *skb,
		     struct net_device *dev)
{
	skb_mac_header_rebuild(skb);
	if (skb->mac_len >= ETH_HLEN && dev->type == ARPHRD_ETHER)
		eth_hdr(skb)->h_proto = skb->protocol;
	nf_reset_ct(skb);
	skb->pkt_type = PACKET_HOST;
	skb->encapsulation = 0;
	kipsec_hooks_reinject(sa, skb);
}

/**
 * kipsec_encap_input_drop - drop an inbound packet in the transform
 * @net: its netns
 * @sa: its SA; the reference is dropped
 * @skb: the packet; consumed
 * @dev: the device held for the transform; released
 * @why: the reason counted
 *
 * Also ends the packet's in-flight count.
 */
void kipsec_encap_input_drop(struct net *net, struct kipsec_sa *sa,
			     struct sk_buff *skb, struct net_device *dev,
			     enum kipsec_stat why)
{
	kipsec_drop(net, sa, why);
	kfree_skb(skb);
	dev_put(dev);
	kipsec_sa_put(sa);
	kipsec_inflight_put(net);
}

/**
 * kipsec_encap_deliver - decapsulate an authentic packet and re-inject it
 * @net: its netns
 * @sa: its SA; the reference is dropped
 * @skb: the packet, its trailer and ICV removed; consumed
 * @dev: the device held for the transform; released
 * @hoff: offset of the ESP/AH header
 * @nhoff: offset of the next-header byte that names it
 * @hlen: length of the ESP/AH header (and IV)
 * @nexthdr: the next header the ESP/AH header named
 *
 * Tunnel mode removes everything up to the inner packet, transport mode
 * the ESP/AH header.  A packet with nothing to deliver is dropped as
 * IN_BAD_TRAILER.  Also ends the packet's in-flight count.
 */
void kipsec_encap_deliver(struct net *net, struct kipsec_sa *sa,
			  struct sk_buff *skb, struct net_device *dev,
			  int hoff, int nhoff, int hlen, u8 nexthdr)
{
	int err;

	if (sa->mode == KIPSEC_MODE_TUNNEL)
		err = decap_tunnel(skb, sa, hoff + hlen, nexthdr);
	else
		err = decap_transport(skb, hoff, nhoff, hlen, nexthdr);
	if (err) {
		kipsec_encap_input_drop(net, sa, skb, dev,
					KIPSEC_STAT_IN_BAD_TRAILER);
		return;
	}
	/*
	 * NAT-T transport mode: the TCP/UDP checksum covers the addresses
	 * the peer saw before its NAT, not those of this packet.  As
	 * esp_input_done2(), the checksum is not checked (RFC 3948 3.1.2
	 * allows it: ESP authenticated the payload).
	 */
	if (sa->encap.type && sa->mode == KIPSEC_MODE_TRANSPORT)
		skb->ip_summed = CHECKSUM_UNNECESSARY;
	kipsec_mss_clamp_in(net, sa, skb, hlen);
	reinject(sa, skb, dev);
	dev_put(dev);
	kipsec_sa_put(sa);
	kipsec_inflight_put(net);
}

/* ---- NAT traversal input: ESP in UDP (RFC 3948) ---- */

/*
 * The UDP checksum, verified as the UDP socket would before its
 * encap_rcv hook (udp_queue_rcv_one_skb(), udpv6_queue_rcv_one_skb()).
 * IPv4: only when the sender set one (RFC 3948 2.1 lets it send 0).
 * IPv6: it is mandatory (RFC 8200 8.1), and a datagram without one is
 * dropped by the UDP stack; kipsec leaves it there.
 */
static bool udp_csum_ok(struct sk_buff *skb, int off, const struct udphdr *uh)
{
	unsigned int len = skb->len - off;
	__wsum csum;

	if (ip_hdr(skb)->version == 6 && !uh->check)
		return false;
	if (!uh->check || skb_csum_unnecessary(skb))
		return true;
	csum = skb_checksum(skb, off, len, 0);
	if (ip_hdr(skb)->version == 4)
		return !csum_tcpudp_magic(ip_hdr(skb)->saddr, ip_hdr(skb)->daddr,
					  len, IPPROTO_UDP, csum);
	return !csum_ipv6_magic(&ipv6_hdr(skb)->saddr, &ipv6_hdr(skb)->daddr,
				len, IPPROTO_UDP, csum);
}

/*
 * The offset of the UDP header of a whole (unfragmented) IPv4 packet, or
 * of an IPv6 packet whose fixed header names UDP; -1 for anything else.
 * An IPv6 UDP datagram behind extension headers is left to the stack.
 */
static int udp_offset(const struct sk_buff *skb, xfrm_address_t *daddr)
{
	const struct iphdr *iph = ip_hdr(skb);

	memset(daddr, 0, sizeof(*daddr));
	if (iph->version == 6) {
		if (ipv6_hdr(skb)->nexthdr != IPPROTO_UDP)
			return -1;
		daddr->in6 = ipv6_hdr(skb)->daddr;
		return sizeof(struct ipv6hdr);
	}
	if (iph->protocol != IPPROTO_UDP || ip_is_fragment(iph))
		return -1;
	daddr->a4 = iph->daddr;
	return iph->ihl * 4;
}

/**
 * kipsec_encap_udp_find - the SA of an ESP-in-UDP packet
 * @net: the netns
 * @skb: a packet at LOCAL_IN, skb->data at its IP header
 *
 * As xfrm4_udp_encap_rcv() and xfrm6_udp_encap_rcv() tell them apart:
 * after the UDP header, a zero first word is the non-ESP marker of IKE
 * (RFC 3948 2.2), a single 0xff byte a NAT keepalive (2.3), and more
 * than an ESP header's worth with a non-zero first word ESP, whose first
 * word is the SPI.  xfrm
 * takes ESP from the sockets with UDP_ENCAP set; kipsec has no socket
 * and takes it from any UDP port, but only for an SA with UDP
 * encapsulation whose destination port is the packet's: everything else
 * (IKE, keepalives, other traffic) goes on to the UDP stack and its
 * sockets.
 *
 * Return: the SA with a reference, or NULL when the packet is not
 * kipsec's ESP in UDP.
 */
struct kipsec_sa *kipsec_encap_udp_find(struct net *net, struct sk_buff *skb)
{
	struct {
		struct udphdr uh;
		struct ip_esp_hdr esph;
	} _h, *h;
	xfrm_address_t daddr;
	struct kipsec_sa *sa;
	int off;

	off = udp_offset(skb, &daddr);
	if (off < 0 || skb->len <= off + sizeof(_h))
		return NULL;
	h = skb_header_pointer(skb, off, sizeof(_h), &_h);
	if (!h || !h->esph.spi || ntohs(h->uh.len) != skb->len - off)
		return NULL;
	sa = kipsec_sa_lookup(net, ip_hdr(skb)->version == 4 ? AF_INET :
			      AF_INET6, &daddr, h->esph.spi, IPPROTO_ESP);
	if (!sa)
		return NULL;
	if (sa->encap.type != KIPSEC_ENCAP_ESPINUDP ||
	    sa->encap.dport != h->uh.dest || !udp_csum_ok(skb, off, &h->uh)) {
		kipsec_sa_put(sa);
		return NULL;
	}
	return sa;
}

/**
 * kipsec_encap_udp_strip - make an ESP-in-UDP packet an ESP packet
 * @skb: the packet kipsec_encap_udp_find() took, skb->data at its IP
 *       header
 * @sport: out: the UDP source port, which the ESP input compares with
 *         the SA's once the packet is authentic (kipsec_encap_mapping())
 *
 * Removes the UDP header as xfrm4_udp_encap_rcv() and
 * xfrm6_udp_encap_rcv() do, moving the IP header forward instead of
 * leaving a gap, so that the ESP input finds ESP right after it: protocol
 * (next header) ESP, length (and IPv4 header checksum) fixed.
 *
 * Return: 0, or -ENOMEM when the header cannot be made writable.
 */
int kipsec_encap_udp_strip(struct sk_buff *skb, __be16 *sport)
{
	bool v4 = ip_hdr(skb)->version == 4;
	unsigned int ihl = v4 ? ip_hdr(skb)->ihl * 4 : sizeof(struct ipv6hdr);

	if (skb_ensure_writable(skb, ihl + sizeof(struct udphdr)))
		return -ENOMEM;
	*sport = ((struct udphdr *)(skb->data + ihl))->source;
	memmove(skb->data + sizeof(struct udphdr), skb->data, ihl);
	__skb_pull(skb, sizeof(struct udphdr));
	skb_reset_network_header(skb);
	skb_set_transport_header(skb, ihl);
	if (!v4) {
		ipv6_hdr(skb)->nexthdr = IPPROTO_ESP;
		ipv6_hdr(skb)->payload_len = htons(skb->len - ihl);
		return 0;
	}
	ip_hdr(skb)->protocol = IPPROTO_ESP;
	ip_hdr(skb)->tot_len = htons(skb->len);
	ip_send_check(ip_hdr(skb));
	return 0;
}

/*
 * At most one mapping event a second for each SA, whatever the packets:
 * xfrm sends one for every packet unless the daemon set a mapping
 * maxage; a bound that needs no configuration keeps a moved peer's
 * stream of packets from flooding the listeners.  The packet that
 * claims the slot (cmpxchg) sends it; the low bit keeps 0 for "never".
 */
static bool mapping_due(struct kipsec_sa *sa)
{
	unsigned long last = READ_ONCE(sa->mapping_time);
	unsigned long now = jiffies | 1;

	if (last && time_before(now, last + HZ))
		return false;
	return cmpxchg(&sa->mapping_time, last, now) == last;
}

/**
 * kipsec_encap_mapping - report a NAT mapping change, as esp_input_done2()
 * @net: the netns
 * @sa: the inbound SA with UDP encapsulation
 * @skb: the authentic packet (ICV verified, replay window moved), its
 *       outer IP header still at skb->data
 * @sport: the UDP source port it arrived with
 *
 * When the packet's outer source address or UDP source port is not the
 * SA's (its source and encapsulation source port), the peer's NAT
 * mapping changed: an event names the SA, the old and the new mapping,
 * for the IKE daemon, which updates the SA (km_new_mapping()).  The SA
 * and the packet are left as they are.  Rate: see mapping_due().
 */
void kipsec_encap_mapping(struct net *net, struct kipsec_sa *sa,
			  struct sk_buff *skb, __be16 sport)
{
	xfrm_address_t saddr = {};

	sa = kipsec_sa_current(sa);
	if (ip_hdr(skb)->version == 4)
		saddr.a4 = ip_hdr(skb)->saddr;
	else
		saddr.in6 = ipv6_hdr(skb)->saddr;
	if (likely(sport == sa->encap.sport &&
		   xfrm_addr_equal(&saddr, &sa->saddr, sa->key.family)))
		return;
	if (mapping_due(sa))
		kipsec_event_mapping(net, sa, &saddr, sport);
}

/* ---- ICMP errors about kipsec's outer packets ---- */

/*
 * The offset of the quoted IP header of an ICMP "fragmentation needed"
 * (IPv4) or ICMPv6 "packet too big" error, and the MTU it reports; -1
 * for any other packet.
 */
static int icmp_quote(struct sk_buff *skb, u32 *mtu)
{
	struct icmphdr _ih, *ih;
	struct icmp6hdr _i6, *i6;
	__be16 frag_off;
	u8 nexthdr;
	int off;

	if (ip_hdr(skb)->version == 4) {
		off = ip_hdr(skb)->ihl * 4;
		ih = skb_header_pointer(skb, off, sizeof(_ih), &_ih);
		if (ip_hdr(skb)->protocol != IPPROTO_ICMP || !ih ||
		    ih->type != ICMP_DEST_UNREACH ||
		    ih->code != ICMP_FRAG_NEEDED)
			return -1;
		*mtu = ntohs(ih->un.frag.mtu);
		return off + sizeof(_ih);
	}
	nexthdr = ipv6_hdr(skb)->nexthdr;
	off = ipv6_skip_exthdr(skb, sizeof(struct ipv6hdr), &nexthdr,
			       &frag_off);
	if (off < 0 || nexthdr != IPPROTO_ICMPV6)
		return -1;
	i6 = skb_header_pointer(skb, off, sizeof(_i6), &_i6);
	if (!i6 || i6->icmp6_type != ICMPV6_PKT_TOOBIG)
		return -1;
	*mtu = ntohl(i6->icmp6_mtu);
	return off + sizeof(_i6);
}

/*
 * The SPI of a quoted ESP-in-UDP packet, the UDP header at @off, if it
 * goes to the encapsulation port of one of kipsec's SAs: 0 for anything
 * else (IKE's non-ESP marker is 0 too).  The SA checks the ports.
 */
static __be32 icmp_udp_spi(struct sk_buff *skb, int off, __be16 *sport,
			   __be16 *dport)
{
	struct {
		struct udphdr uh;
		__be32 spi;
	} _h, *h;

	h = skb_header_pointer(skb, off, sizeof(_h), &_h);
	if (!h)
		return 0;
	*sport = h->uh.source;
	*dport = h->uh.dest;
	return h->spi;
}

/*
 * The SA of the quoted ESP/AH or ESP-in-UDP packet at @off (its outer
 * destination, SPI and protocol, and for ESP in UDP the SA's ports), with
 * a reference; NULL when kipsec sent no such packet.  The quoted IP
 * header is made linear; @proto is the quoted IP protocol.
 */
static struct kipsec_sa *icmp_sa(struct net *net, struct sk_buff *skb,
				 int off, bool v4, u8 *proto)
{
	unsigned int hlen = v4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	__be16 sport = 0, dport = 0;
	xfrm_address_t daddr = {};
	__be32 _spi, *spi, uspi;
	struct kipsec_sa *sa;

	if (!pskb_may_pull(skb, off + hlen))
		return NULL;
	if (v4) {
		const struct iphdr *iph = (void *)(skb->data + off);

		hlen = iph->ihl * 4;
		*proto = iph->protocol;
		daddr.a4 = iph->daddr;
	} else {
		const struct ipv6hdr *ip6 = (void *)(skb->data + off);

		*proto = ip6->nexthdr;
		daddr.in6 = ip6->daddr;
	}
	if (*proto == IPPROTO_UDP) {
		/* as xfrm4_udp_encap's err handler: the SPI after UDP */
		uspi = icmp_udp_spi(skb, off + hlen, &sport, &dport);
		if (!uspi)
			return NULL;
		sa = kipsec_sa_lookup(net, v4 ? AF_INET : AF_INET6, &daddr,
				      uspi, IPPROTO_ESP);
		if (sa && (sa->encap.type != KIPSEC_ENCAP_ESPINUDP ||
			   sa->encap.sport != sport ||
			   sa->encap.dport != dport)) {
			kipsec_sa_put(sa);
			sa = NULL;
		}
		return sa;
	}
	if (*proto != IPPROTO_ESP && *proto != IPPROTO_AH)
		return NULL;
	/* the SPI: AH's second word, ESP's first */
	spi = skb_header_pointer(skb, off + hlen +
				 (*proto == IPPROTO_AH ? 4 : 0),
				 sizeof(_spi), &_spi);
	if (!spi)
		return NULL;
	sa = kipsec_sa_lookup(net, v4 ? AF_INET : AF_INET6, &daddr, *spi,
			      *proto);
	/* plain ESP quoted, but the SA sends ESP in UDP: not ours */
	if (sa && sa->encap.type) {
		kipsec_sa_put(sa);
		sa = NULL;
	}
	return sa;
}

/**
 * kipsec_encap_icmp_err - learn the path MTU from an ICMP error
 * @net: the netns
 * @skb: a packet at LOCAL_IN, skb->data at its IP header
 *
 * An ICMP "fragmentation needed" or ICMPv6 "packet too big" about one of
 * kipsec's ESP/AH or ESP-in-UDP packets reaches no error handler
 * (esp4/ah4/esp6/ah6 and the UDP encapsulation socket find no xfrm
 * state), so kipsec does what esp4_err(), ah4_err() and their IPv6 kin do:
 * it lowers the path MTU of the outer destination's route, which the
 * next outer packets (and, in tunnel mode, the inner route's PMTU, see
 * inner_pmtu()) follow.  Counted per SA as ICMP_PMTU.  The error itself
 * goes on to the stack.
 */
void kipsec_encap_icmp_err(struct net *net, struct sk_buff *skb)
{
	bool v4 = ip_hdr(skb)->version == 4;
	struct kipsec_sa *sa;
	u32 mtu = 0;
	u8 proto;
	int off;

	off = icmp_quote(skb, &mtu);
	if (off < 0)
		return;
	sa = icmp_sa(net, skb, off, v4, &proto);
	if (!sa)
		return;
	/* both read the quoted header at skb->data */
	__skb_pull(skb, off);
	if (v4)
		ipv4_update_pmtu(skb, net, mtu, 0, proto);
	else
		ip6_update_pmtu(skb, net, htonl(mtu), 0, 0,
				sock_net_uid(net, NULL));
	__skb_push(skb, off);
	kipsec_drop(net, sa, KIPSEC_STAT_ICMP_PMTU);
	kipsec_sa_put(sa);
}
