// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: the Security Policy Database (SPD).
 *
 * One list per direction, sorted by priority (lowest first) and, for equal
 * priorities, by age (oldest first); the packet path takes the first
 * policy whose selector matches.  Writers hold kipsec_net.lock, readers
 * walk the lists under RCU.  Lookups are linear: everything that knows
 * the layout is in this file (policy_list_insert(), kipsec_policy_lookup(),
 * the _locked finders), so a faster structure can replace the lists
 * without touching the callers.
 */
#include <linux/rculist.h>
#include <net/xfrm.h>
#include "kipsec.h"

/* policy indexes: (counter << 3) | dir, as xfrm; bit 31 of
 * kipsec_net.policy_next_index records that the counter wrapped
 */
#define POLICY_IDX_MAX		(U32_MAX >> 3)
#define POLICY_IDX_WRAPPED	BIT(31)

/**
 * kipsec_selector_match - does a packet match a selector
 * @sel: the selector
 * @fl: the packet
 *
 * As xfrm_selector_match(): address prefixes, protocol (0 = any), and
 * ports under their masks (ICMP type and code are in the port fields).
 *
 * Return: true on a match.
 */
bool kipsec_selector_match(const struct xfrm_selector *sel,
			   const struct kipsec_flow *fl)
{
	if (sel->family != fl->family)
		return false;
	if (sel->proto && sel->proto != fl->proto)
		return false;
	if ((fl->sport ^ sel->sport) & sel->sport_mask)
		return false;
	if ((fl->dport ^ sel->dport) & sel->dport_mask)
		return false;
	if (fl->family == AF_INET)
		return addr4_match(fl->daddr.a4, sel->daddr.a4,
				   sel->prefixlen_d) &&
		       addr4_match(fl->saddr.a4, sel->saddr.a4,
				   sel->prefixlen_s);
	return addr_match(&fl->daddr, &sel->daddr, sel->prefixlen_d) &&
	       addr_match(&fl->saddr, &sel->saddr, sel->prefixlen_s);
}

static bool tmpl_addr_equal(const xfrm_address_t *a, const xfrm_address_t *b,
			    u16 family)
{
	return !memcmp(a, b, family == AF_INET ? 4 : 16);
}

static bool tmpl_addr_any(const xfrm_address_t *a)
{
	return !(a->a6[0] | a->a6[1] | a->a6[2] | a->a6[3]);
}

/**
 * kipsec_tmpl_match_sa - may traffic of a template use an SA
 * @t: the template
 * @sa: the SA
 *
 * Protocol and mode must be equal; reqid and SPI too when the template
 * sets them (0 = any); for a tunnel-mode template with endpoints, the
 * SA's endpoints must be those.
 *
 * Return: true when @sa satisfies @t.
 */
bool kipsec_tmpl_match_sa(const struct kipsec_tmpl *t,
			  const struct kipsec_sa *sa)
{
	if (t->proto != sa->key.proto || t->mode != sa->mode)
		return false;
	if (t->reqid && t->reqid != sa->reqid)
		return false;
	if (t->spi && t->spi != sa->key.spi)
		return false;
	if (t->mode == KIPSEC_MODE_TUNNEL && t->family) {
		if (t->family != sa->key.family)
			return false;
		if (!tmpl_addr_any(&t->daddr) &&
		    !tmpl_addr_equal(&t->daddr, &sa->key.daddr, t->family))
			return false;
		if (!tmpl_addr_any(&t->saddr) &&
		    !tmpl_addr_equal(&t->saddr, &sa->saddr, t->family))
			return false;
	}
	return true;
}

/**
 * kipsec_policy_lookup - find the policy for a packet
 * @net: the netns
 * @dir: KIPSEC_DIR_IN, _OUT or _FWD
 * @fl: the packet
 *
 * Must be called under rcu_read_lock(); the policy stays valid until
 * rcu_read_unlock().
 *
 * Return: the first policy, in priority order, whose selector matches,
 * or NULL.
 */
struct kipsec_policy *kipsec_policy_lookup(struct net *net, u8 dir,
					   const struct kipsec_flow *fl)
{
	struct kipsec_net *kn = kipsec_pernet(net);
	struct kipsec_policy *pol;

	if (dir > KIPSEC_DIR_MAX)
		return NULL;
	list_for_each_entry_rcu(pol, &kn->policies[dir], list)
		if (kipsec_selector_match(&pol->sel, fl))
			return pol;
	return NULL;
}

/**
 * kipsec_policy_alloc - allocate an empty policy with its counters
 *
 * Return: the policy or NULL.
 */
struct kipsec_policy *kipsec_policy_alloc(void)
{
	struct kipsec_policy *pol;

	pol = kzalloc(sizeof(*pol), GFP_KERNEL);
	if (!pol)
		return NULL;
	INIT_LIST_HEAD(&pol->list);
	pol->stats = netdev_alloc_pcpu_stats(struct kipsec_stats);
	if (!pol->stats) {
		kfree(pol);
		return NULL;
	}
	return pol;
}

/**
 * kipsec_policy_free - free a policy that was never in the SPD
 * @pol: the policy, may be NULL
 */
void kipsec_policy_free(struct kipsec_policy *pol)
{
	if (!pol)
		return;
	kipsec_sa_put(rcu_dereference_protected(pol->sa_cache, true));
	free_percpu(pol->stats);
	kfree(pol);
}

static void policy_free_rcu(struct rcu_head *head)
{
	struct kipsec_policy *pol = container_of(head, struct kipsec_policy,
						 rcu);

	/*
	 * No reader is left, so nobody can set sa_cache any more: dropping
	 * its reference here, not at unlink time, closes the race with a
	 * datapath cmpxchg() on a policy being deleted.
	 */
	kipsec_sa_put(rcu_dereference_protected(pol->sa_cache, true));
	free_percpu(pol->stats);
	kfree(pol);
}

/**
 * kipsec_policy_find_locked - find a policy by direction and selector
 * @kn: the netns state, kipsec_net.lock held
 * @dir: the direction
 * @sel: the selector, built from a zeroed struct
 *
 * Return: the policy or NULL.
 */
struct kipsec_policy *kipsec_policy_find_locked(struct kipsec_net *kn, u8 dir,
						const struct xfrm_selector *sel)
{
	struct kipsec_policy *pol;

	lockdep_assert_held(&kn->lock);
	list_for_each_entry(pol, &kn->policies[dir], list)
		if (!memcmp(&pol->sel, sel, sizeof(*sel)))
			return pol;
	return NULL;
}

/**
 * kipsec_policy_find_index_locked - find a policy by index
 * @kn: the netns state, kipsec_net.lock held
 * @index: the index
 *
 * Return: the policy or NULL.
 */
struct kipsec_policy *kipsec_policy_find_index_locked(struct kipsec_net *kn,
						      u32 index)
{
	struct kipsec_policy *pol;
	int dir = index & 7;

	lockdep_assert_held(&kn->lock);
	if (dir > KIPSEC_DIR_MAX)
		return NULL;
	list_for_each_entry(pol, &kn->policies[dir], list)
		if (pol->index == index)
			return pol;
	return NULL;
}

static u32 policy_gen_index(struct kipsec_net *kn, u8 dir)
{
	for (;;) {
		u32 wrapped = kn->policy_next_index & POLICY_IDX_WRAPPED;
		u32 n = kn->policy_next_index & ~POLICY_IDX_WRAPPED;
		u32 idx;

		if (!n || n > POLICY_IDX_MAX)
			n = 1;
		idx = (n << 3) | dir;
		if (n == POLICY_IDX_MAX)
			kn->policy_next_index = POLICY_IDX_WRAPPED | 1;
		else
			kn->policy_next_index = wrapped | (n + 1);
		if (!wrapped || !kipsec_policy_find_index_locked(kn, idx))
			return idx;
	}
}

/* insert after every policy of lower or equal priority */
static void policy_list_insert(struct kipsec_net *kn,
			       struct kipsec_policy *pol)
{
	struct list_head *head = &kn->policies[pol->dir];
	struct kipsec_policy *p;

	list_for_each_entry_reverse(p, head, list) {
		if (p->priority <= pol->priority) {
			list_add_rcu(&pol->list, &p->list);
			return;
		}
	}
	list_add_rcu(&pol->list, head);
}

/**
 * kipsec_policy_insert - add a policy to the SPD and give it an index
 * @kn: the netns state, kipsec_net.lock held
 * @pol: the policy; the caller checked that no policy has its selector
 *       and direction
 *
 * Return: 0.
 */
int kipsec_policy_insert(struct kipsec_net *kn, struct kipsec_policy *pol)
{
	lockdep_assert_held(&kn->lock);
	pol->index = policy_gen_index(kn, pol->dir);
	policy_list_insert(kn, pol);
	kn->policy_count++;
	kipsec_net_update_active(kn);
	return 0;
}

/**
 * kipsec_policy_replace - replace a policy by another (policy update)
 * @kn: the netns state, kipsec_net.lock held
 * @old: the policy in the SPD
 * @pol: its replacement, same selector and direction; takes @old's index
 *
 * The new policy is linked before the old one is unlinked, so a reader
 * always finds one of them.
 */
void kipsec_policy_replace(struct kipsec_net *kn, struct kipsec_policy *old,
			   struct kipsec_policy *pol)
{
	lockdep_assert_held(&kn->lock);
	pol->index = old->index;
	policy_list_insert(kn, pol);
	list_del_rcu(&old->list);
	call_rcu(&old->rcu, policy_free_rcu);
}

/**
 * kipsec_policy_unlink - delete a policy from the SPD
 * @kn: the netns state, kipsec_net.lock held
 * @pol: the policy; freed after a grace period
 */
void kipsec_policy_unlink(struct kipsec_net *kn, struct kipsec_policy *pol)
{
	lockdep_assert_held(&kn->lock);
	list_del_rcu(&pol->list);
	kn->policy_count--;
	kipsec_net_update_active(kn);
	call_rcu(&pol->rcu, policy_free_rcu);
}

/**
 * kipsec_policy_flush - delete every policy
 * @kn: the netns state, kipsec_net.lock held
 *
 * Return: the number of policies deleted.
 */
unsigned int kipsec_policy_flush(struct kipsec_net *kn)
{
	struct kipsec_policy *pol, *tmp;
	unsigned int n = 0;
	int dir;

	lockdep_assert_held(&kn->lock);
	for (dir = 0; dir <= KIPSEC_DIR_MAX; dir++) {
		list_for_each_entry_safe(pol, tmp, &kn->policies[dir], list) {
			kipsec_policy_unlink(kn, pol);
			n++;
		}
	}
	return n;
}

/**
 * kipsec_policy_flush_sa_cache - forget cached SAs that are dead
 * @kn: the netns state, kipsec_net.lock held
 *
 * Called after SAs are deleted or replaced so that a dead SA, its
 * transform and its route do not live on in a policy's cache until the
 * next packet.  Uses cmpxchg() because the datapath may update the cache
 * at the same time; whoever displaces an SA drops its reference.
 */
void kipsec_policy_flush_sa_cache(struct kipsec_net *kn)
{
	struct kipsec_policy *pol;
	struct kipsec_sa *sa;
	int dir;

	lockdep_assert_held(&kn->lock);
	for (dir = 0; dir <= KIPSEC_DIR_MAX; dir++) {
		list_for_each_entry(pol, &kn->policies[dir], list) {
			sa = rcu_access_pointer(pol->sa_cache);
			if (!sa || !READ_ONCE(sa->dead))
				continue;
			if (unrcu_pointer(cmpxchg(&pol->sa_cache,
						  RCU_INITIALIZER(sa),
						  NULL)) == sa)
				kipsec_sa_put(sa);
		}
	}
}

/**
 * kipsec_policy_init_net - set up the SPD of a netns
 * @kn: the netns state (lists already initialised by main.c)
 */
void kipsec_policy_init_net(struct kipsec_net *kn)
{
	int dir;

	for (dir = 0; dir <= KIPSEC_DIR_MAX; dir++)
		INIT_LIST_HEAD(&kn->policies[dir]);
	kn->policy_count = 0;
}

/**
 * kipsec_policy_exit_net - delete every policy of a netns
 * @kn: the netns state
 */
void kipsec_policy_exit_net(struct kipsec_net *kn)
{
	mutex_lock(&kn->lock);
	kipsec_policy_flush(kn);
	mutex_unlock(&kn->lock);
}
