/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kipsec datapath internals shared by hooks.c, esp.c and ah.c only.
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

/* esp.c: set up and tear down esp.c's workqueue (defer_crypto) */
int kipsec_esp_init(void);
void kipsec_esp_exit(void);
void kipsec_esp_flush(void);

/* ah.c: the same for ah.c's workqueue (defer_ah) */
int kipsec_ah_init(void);
void kipsec_ah_exit(void);
void kipsec_ah_flush(void);

#endif /* _KIPSEC_DATAPATH_H */
