// SPDX-License-Identifier: GPL-2.0
/* kipsec: netfilter hooks (stub, replaced by the datapath) */
#include "kipsec.h"

int kipsec_hooks_init(void)
{
	return 0;
}

void kipsec_hooks_exit(void)
{
}

int kipsec_hooks_register_net(struct net *net)
{
	return 0;
}

void kipsec_hooks_unregister_net(struct net *net)
{
}
