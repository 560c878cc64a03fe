// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: events, raised once by the core (state.c, policy.c,
 * lifetime.c) and rendered by each front end for its own listeners.
 *
 * The generic netlink family sends each event to its "events" multicast
 * group; with the module parameter xfrm_netlink, xfrm_nl.c renders the
 * same events for the XFRM groups, as xfrm_user would.
 *
 * Every function but kipsec_event_acquire() and kipsec_event_mapping() is
 * called in process context with kipsec_net.lock held, so that listeners
 * see the events of a netns in the order of the changes.
 */
#include "kipsec.h"

/* the generic netlink command announcing each event */
static const u8 ev_genl_cmd[] = {
	[KIPSEC_EV_SA_ADD]		= KIPSEC_CMD_SA_NEW,
	[KIPSEC_EV_SA_UPDATE]		= KIPSEC_CMD_SA_UPD,
	[KIPSEC_EV_SA_DEL]		= KIPSEC_CMD_SA_DEL,
	[KIPSEC_EV_SA_FLUSH]		= KIPSEC_CMD_SA_FLUSH,
	[KIPSEC_EV_SA_SOFT_EXPIRE]	= KIPSEC_CMD_SA_EXPIRE,
	[KIPSEC_EV_SA_HARD_EXPIRE]	= KIPSEC_CMD_SA_EXPIRE,
	[KIPSEC_EV_POLICY_ADD]		= KIPSEC_CMD_POLICY_NEW,
	[KIPSEC_EV_POLICY_UPDATE]	= KIPSEC_CMD_POLICY_UPD,
	[KIPSEC_EV_POLICY_DEL]		= KIPSEC_CMD_POLICY_DEL,
	[KIPSEC_EV_POLICY_FLUSH]	= KIPSEC_CMD_POLICY_FLUSH,
	[KIPSEC_EV_ACQUIRE]		= KIPSEC_CMD_ACQUIRE,
	[KIPSEC_EV_POLICY_SOFT_EXPIRE]	= KIPSEC_CMD_POLICY_EXPIRE,
	[KIPSEC_EV_POLICY_HARD_EXPIRE]	= KIPSEC_CMD_POLICY_EXPIRE,
};

/**
 * kipsec_event_sa - an SA was added, updated, deleted or expired
 * @net: its netns
 * @sa: the SA (for an update, the new one)
 * @ev: KIPSEC_EV_SA_*
 */
void kipsec_event_sa(struct net *net, struct kipsec_sa *sa,
		     enum kipsec_event ev)
{
	int hard = -1;

	if (ev == KIPSEC_EV_SA_SOFT_EXPIRE)
		hard = 0;
	else if (ev == KIPSEC_EV_SA_HARD_EXPIRE)
		hard = 1;
	kipsec_nl_notify_sa(net, sa, ev_genl_cmd[ev], hard);
	if (kipsec_xfrm_netlink)
		kipsec_xfrm_notify_sa(net, sa, ev);
}

/**
 * kipsec_event_policy - a policy was added, updated, deleted or expired
 * @net: its netns
 * @pol: the policy (for an update, the new one)
 * @ev: KIPSEC_EV_POLICY_*
 */
void kipsec_event_policy(struct net *net, struct kipsec_policy *pol,
			 enum kipsec_event ev)
{
	int hard = -1;

	if (ev == KIPSEC_EV_POLICY_SOFT_EXPIRE)
		hard = 0;
	else if (ev == KIPSEC_EV_POLICY_HARD_EXPIRE)
		hard = 1;
	kipsec_nl_notify_policy(net, pol, ev_genl_cmd[ev], hard);
	if (kipsec_xfrm_netlink)
		kipsec_xfrm_notify_policy(net, pol, ev);
}

/**
 * kipsec_event_flush - the SAD or the SPD was flushed
 * @net: the netns
 * @ev: KIPSEC_EV_SA_FLUSH or KIPSEC_EV_POLICY_FLUSH
 * @proto: SA flush: the protocol flushed, 0 for all
 */
void kipsec_event_flush(struct net *net, enum kipsec_event ev, u8 proto)
{
	kipsec_nl_notify_flush(net, ev_genl_cmd[ev], proto);
	if (kipsec_xfrm_netlink)
		kipsec_xfrm_notify_flush(net, ev, proto);
}

/**
 * kipsec_event_acquire - a PROTECT policy's template found no SA
 * @net: the netns
 * @acq: the acquire, RCU-protected
 *
 * Unlike the other events, from the output hook: softirq context,
 * rcu_read_lock() held, no kipsec_net.lock; must not sleep.
 */
void kipsec_event_acquire(struct net *net, const struct kipsec_acq *acq)
{
	kipsec_nl_notify_acquire(net, acq, ev_genl_cmd[KIPSEC_EV_ACQUIRE]);
	if (kipsec_xfrm_netlink)
		kipsec_xfrm_notify_acquire(net, acq);
}

/**
 * kipsec_event_mapping - an inbound ESP-in-UDP SA's peer moved (NAT-T)
 * @net: the netns
 * @sa: the SA, which keeps its old mapping (the IKE daemon updates it)
 * @naddr: the outer source address the authentic packet came from
 * @nsport: its UDP source port
 *
 * As km_new_mapping(): from the packet path after authentication and the
 * replay check, any context, no kipsec_net.lock; must not sleep.  The
 * caller bounds the rate (kipsec_encap_mapping()).
 */
void kipsec_event_mapping(struct net *net, const struct kipsec_sa *sa,
			  const xfrm_address_t *naddr, __be16 nsport)
{
	kipsec_nl_notify_mapping(net, sa, naddr, nsport);
	if (kipsec_xfrm_netlink)
		kipsec_xfrm_notify_mapping(net, sa, naddr, nsport);
}
