/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kipsec: what xfrm_nl.c (the NETLINK_XFRM socket and its messages) and
 * xfrm_conv.c (the XFRM wire structures <-> kipsec's SA and policy)
 * share.  Nothing else includes it: the rest of the module knows only
 * the entry points declared in kipsec.h.
 */
#ifndef _KIPSEC_XFRM_NL_H
#define _KIPSEC_XFRM_NL_H

#include <linux/xfrm.h>
#include <net/netlink.h>
#include "kipsec.h"

/* the most bytes of key an XFRM algorithm attribute may carry */
#define KIPSEC_XFRM_KEY_MAX	128

/* xfrm_conv.c: requests */
int kipsec_xfrm_sa_parse(const struct xfrm_usersa_info *p,
			 struct nlattr **attrs, struct kipsec_sa_cfg *c,
			 struct netlink_ext_ack *extack);
void kipsec_xfrm_wipe_keys(struct nlattr **attrs);
bool kipsec_xfrm_keys_zero(const struct kipsec_alg_params *p);
int kipsec_xfrm_check_unsupported(struct nlattr **attrs,
				  struct netlink_ext_ack *extack);
int kipsec_xfrm_ptype_check(struct nlattr **attrs,
			    struct netlink_ext_ack *extack);
int kipsec_xfrm_pol_parse(const struct xfrm_userpolicy_info *p,
			  struct nlattr **attrs, struct kipsec_policy *pol,
			  struct netlink_ext_ack *extack);

/* xfrm_conv.c: replies and events */
void kipsec_xfrm_sa_info(struct kipsec_sa *sa, struct xfrm_usersa_info *p);
int kipsec_xfrm_sa_put_attrs(struct sk_buff *skb, struct kipsec_sa *sa);
int kipsec_xfrm_put_replay(struct sk_buff *skb, struct kipsec_sa *sa);
void kipsec_xfrm_sa_curlft(struct kipsec_sa *sa, struct xfrm_lifetime_cur *c);
void kipsec_xfrm_pol_info(struct kipsec_policy *pol,
			  struct xfrm_userpolicy_info *p);
int kipsec_xfrm_put_tmpl(struct sk_buff *skb, const struct kipsec_tmpl *t,
			 u16 sel_family);
int kipsec_xfrm_put_ptype(struct sk_buff *skb);
void kipsec_xfrm_lft_out(const struct kipsec_lft_cfg *k,
			 struct xfrm_lifetime_cfg *x);

#endif /* _KIPSEC_XFRM_NL_H */
