// SPDX-License-Identifier: GPL-2.0
/* kipsec: the SAD (stub, replaced by the control plane) */
#include "kipsec.h"

int kipsec_state_init_net(struct kipsec_net *kn)
{
	return 0;
}

void kipsec_state_exit_net(struct kipsec_net *kn)
{
}

struct kipsec_sa *kipsec_sa_lookup(struct net *net, u16 family,
				   const xfrm_address_t *daddr, __be32 spi,
				   u8 proto)
{
	return NULL;
}

struct kipsec_sa *kipsec_sa_find_out(struct net *net,
				     const struct kipsec_tmpl *tmpl,
				     const struct kipsec_flow *fl)
{
	return NULL;
}

void kipsec_sa_put(struct kipsec_sa *sa)
{
}
