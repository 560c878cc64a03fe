// SPDX-License-Identifier: GPL-2.0
/* kipsec: the SPD (stub, replaced by the control plane) */
#include "kipsec.h"

void kipsec_policy_init_net(struct kipsec_net *kn)
{
}

void kipsec_policy_exit_net(struct kipsec_net *kn)
{
}

struct kipsec_policy *kipsec_policy_lookup(struct net *net, u8 dir,
					   const struct kipsec_flow *fl)
{
	return NULL;
}
