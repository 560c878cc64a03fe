// SPDX-License-Identifier: GPL-2.0
/* kipsec: generic netlink family (stub, replaced by the control plane) */
#include "kipsec.h"

int kipsec_netlink_init(void)
{
	return 0;
}

void kipsec_netlink_exit(void)
{
}
