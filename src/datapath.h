/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kipsec datapath internals shared by hooks.c, encap.c, esp.c and ah.c
 * only.
 * See docs/architecture.md for the packet paths.
 */
#ifndef _KIPSEC_DATAPATH_H
#define _KIPSEC_DATAPATH_H

#include <net/ip.h>
#include <net/ipv6.h>
#include "kipsec.h"

/*
 * Send a finished outer packet (skb->data at its IP header, skb_dst set)
 * with ip_local_out()/ip6_local_out(), marked as transformed (IPCB/IP6CB
 * flags, as xfrm does) so that the POST_ROUTING hook lets it through
 * untouched.  Consumes skb.
 */
int kipsec_hooks_xmit(struct net *net, struct sk_buff *skb);

/*
 * Hand a decapsulated packet (skb->data at its IP header, skb->protocol
 * set, no dst) back to the stack through netif_receive_skb_core(), while
 * this CPU remembers that @skb came through @sa: the LOCAL_IN and FORWARD
 * hooks then apply the inbound policy check for @sa.  Consumes skb.
 */
void kipsec_hooks_reinject(struct kipsec_sa *sa, struct sk_buff *skb);

/*
 * An IP packet of @len bytes, headers included, fits its length field
 * (IPv4 total length, IPv6 payload length; kipsec builds no jumbogram).
 * Near 64 KB the ESP/AH packet around an inner datagram does not: it is
 * refused rather than sent with a wrapped length.
 */
static inline bool kipsec_len_fits(unsigned int len, bool v4)
{
	return v4 ? len <= IP_MAX_MTU :
		    len <= IPV6_MAXPLEN + sizeof(struct ipv6hdr);
}

/**
 * struct kipsec_encap - the encapsulation of one outbound packet (encap.c)
 * @dst: tunnel mode: the outer route, one reference, until it passes to
 *       the packet (kipsec_encap_route_skb()) or is released
 * @saddr: tunnel mode: the outer source address
 * @outer: tunnel mode: the length of the outer IP header; 0 in transport
 *         mode
 * @elen: the encapsulation header between the IP header and the ESP
 *        header: NAT-T's UDP header, ESP in TCP's 2-byte frame length;
 *        else 0
 * @tcp: ESP in TCP: the IP header in front is not sent, the frame goes
 *       to a TCP socket (kipsec_espintcp_xmit())
 * @hdr_off: where the ESP/AH header goes, from the network header: after
 *           the IP header and IPv6 options before the fragment header in
 *           transport mode, after the outer header in tunnel mode (set by
 *           kipsec_encap_push())
 * @prev_off: transport mode, IPv6: offset of the next-header byte that
 *            will name ESP/AH
 * @proto: the next header the ESP/AH header names
 * @ipproto: IPPROTO_ESP or IPPROTO_AH
 * @tos: tunnel mode: the inner DS field, copied to the outer header
 * @flow_lbl: tunnel mode, IPv6 inner: its flow label, copied
 * @tfclen: ESP tunnel mode: the TFC padding in the trailer, which is no
 *          part of the inner packet's size for its path MTU
 * @df: tunnel mode: DF for an IPv4 outer header (set for IPv6 inner)
 * @tunnel: the SA is in tunnel mode
 * @inner4: the packet is IPv4
 * @outer4: the SA is IPv4
 *
 * On the stack of the transform's output function, one packet each.
 */
struct kipsec_encap {
	struct dst_entry *dst;
	xfrm_address_t saddr;
	unsigned int outer;
	unsigned int elen;
	int hdr_off;
	int prev_off;
	u8 proto;
	u8 ipproto;
	u8 tos;
	u8 flow_lbl[3];
	unsigned int tfclen;
	__be16 df;
	bool tunnel;
	bool tcp;
	bool inner4;
	bool outer4;
};

/* a transform's output: kipsec_esp_output(), kipsec_ah_output() */
typedef int (*kipsec_output_t)(struct net *net, struct kipsec_sa *sa,
			       struct sk_buff *skb);

/* encap.c: output, in the order a transform calls them */
enum kipsec_stat kipsec_encap_prepare(struct net *net, struct kipsec_sa *sa,
				      struct sk_buff *skb, u8 ipproto,
				      struct kipsec_encap *e);
void kipsec_encap_release(struct kipsec_encap *e);
bool kipsec_encap_fits(const struct sk_buff *skb,
		       const struct kipsec_encap *e, unsigned int extra);
void kipsec_encap_clamp_mss(struct net *net, struct sk_buff *skb,
			    struct kipsec_sa *sa, const struct kipsec_encap *e,
			    unsigned int pmtu_over);
bool kipsec_encap_too_big(struct sk_buff *skb, struct kipsec_sa *sa,
			  const struct kipsec_encap *e, unsigned int extra,
			  unsigned int pmtu_over);
int kipsec_encap_frag6(struct net *net, struct kipsec_sa *sa,
		       struct sk_buff *skb, kipsec_output_t output);
enum kipsec_stat kipsec_encap_next_seq(struct kipsec_sa *sa, u64 *seq);
int kipsec_encap_route_skb(struct sk_buff *skb, struct kipsec_sa *sa,
			   struct kipsec_encap *e, unsigned int hlen,
			   unsigned int pmtu_over);
void *kipsec_encap_push(struct net *net, struct kipsec_sa *sa,
			struct sk_buff *skb, struct kipsec_encap *e,
			unsigned int hlen);
void kipsec_encap_output_finish(struct net *net, struct kipsec_sa *sa,
				struct sk_buff *skb, unsigned int len, int err);

/* encap.c: input */
int kipsec_encap_find(struct sk_buff *skb, u8 *proto, int *nhoff);
enum kipsec_stat kipsec_encap_replay_check(struct kipsec_sa *sa,
					   __be32 seq_no, u64 *seq);
enum kipsec_stat kipsec_encap_replay_advance(struct kipsec_sa *sa, u64 seq);
void kipsec_encap_input_drop(struct net *net, struct kipsec_sa *sa,
			     struct sk_buff *skb, struct net_device *dev,
			     enum kipsec_stat why);
void kipsec_encap_deliver(struct net *net, struct kipsec_sa *sa,
			  struct sk_buff *skb, struct net_device *dev,
			  int hoff, int nhoff, int hlen, u8 nexthdr);

/* encap.c: NAT-T input, ESP in UDP (RFC 3948) at LOCAL_IN */
struct kipsec_sa *kipsec_encap_udp_find(struct net *net, struct sk_buff *skb);
int kipsec_encap_udp_strip(struct sk_buff *skb, __be16 *sport);
/* after authentication: the peer's NAT mapping changed? (any context) */
void kipsec_encap_mapping(struct net *net, struct kipsec_sa *sa,
			  struct sk_buff *skb, __be16 sport);

/* hooks.c: why @sa cannot take a packet of encapsulation @encap, or 0 */
enum kipsec_stat kipsec_hooks_refused(struct kipsec_sa *sa, u16 encap);

/* espintcp.c: ESP in TCP (RFC 8229) */
enum kipsec_stat kipsec_espintcp_xmit(struct net *net, struct kipsec_sa *sa,
				      struct sk_buff *skb);

/* encap.c: ICMP errors about the outer packets (LOCAL_IN) */
void kipsec_encap_icmp_err(struct net *net, struct sk_buff *skb);

/* mss.c: TCP MSS clamping (transport mode, host-to-host tunnels) */
bool kipsec_mss_clamp(struct net *net, struct kipsec_sa *sa,
		      struct sk_buff *skb, unsigned int mtu, unsigned int over);
void kipsec_mss_clamp_in(struct net *net, struct kipsec_sa *sa,
			 struct sk_buff *skb, unsigned int hlen);

/* encap.c: both directions */
void kipsec_encap_count(struct kipsec_sa *sa, struct net *net,
			enum kipsec_stat pkts, unsigned int len);

/* esp.c: set up and tear down esp.c's workqueue (defer_crypto) */
int kipsec_esp_init(void);
void kipsec_esp_exit(void);
void kipsec_esp_flush(void);

/* ah.c: the same for ah.c's workqueue (defer_ah) */
int kipsec_ah_init(void);
void kipsec_ah_exit(void);
void kipsec_ah_flush(void);

#endif /* _KIPSEC_DATAPATH_H */
