// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: the Security Policy Database (SPD).
 *
 * The packet path takes, among the policies whose selector matches, the
 * one of lowest priority value and, for equal priorities, the oldest.
 * Writers hold kipsec_net.lock, readers run under RCU.
 *
 * Every policy is in two structures:
 * - kipsec_net.policies[dir], a list sorted in that order: dumps, flush,
 *   lookups by index;
 * - kipsec_net.pol_ht, an rhltable keyed by struct kipsec_pol_key: the
 *   direction, family, both prefix lengths and the selector's addresses
 *   masked to them.  A lookup walks the few (family, prefix lengths)
 *   "shapes" in use in that direction (kipsec_net.pol_shapes), masks the
 *   packet's addresses to each and probes the table once per shape (tuple
 *   space search): exact /32 and /128 selectors are one shape, a /24 to
 *   /24 policy another.  The cost is the number of shapes, not of
 *   policies; insertion finds duplicates with one probe too.
 */
#include <linux/rculist.h>
#include <linux/rhashtable.h>
#include <linux/inetdevice.h>
#include <net/xfrm.h>
#include "kipsec.h"

/**
 * struct pol_shape - a (family, prefix lengths) pair used by policies
 * @list: in kipsec_net.pol_shapes[dir], RCU
 * @rcu: freed after readers are gone
 * @family: AF_INET or AF_INET6
 * @plen_s: source prefix length
 * @plen_d: destination prefix length
 * @refs: number of policies of this shape, under kipsec_net.lock
 */
struct pol_shape {
	struct list_head list;
	struct rcu_head rcu;
	u16 family;
	u8 plen_s;
	u8 plen_d;
	u32 refs;
};

static const struct rhashtable_params pol_ht_params = {
	.head_offset = offsetof(struct kipsec_policy, hnode),
	.key_offset = offsetof(struct kipsec_policy, hkey),
	.key_len = sizeof(struct kipsec_pol_key),
	.automatic_shrinking = true,
};

static void addr_prefix(xfrm_address_t *dst, const xfrm_address_t *a,
			u16 family, u8 plen)
{
	if (family == AF_INET) {
		dst->a4 = plen ? a->a4 & inet_make_mask(min_t(u8, plen, 32)) :
				 0;
		return;
	}
	ipv6_addr_prefix(&dst->in6, &a->in6, min_t(u8, plen, 128));
}

static void pol_key_init(struct kipsec_pol_key *k, u8 dir, u16 family,
			 u8 plen_s, u8 plen_d, const xfrm_address_t *saddr,
			 const xfrm_address_t *daddr)
{
	memset(k, 0, sizeof(*k));
	k->dir = dir;
	k->family = family;
	k->plen_s = plen_s;
	k->plen_d = plen_d;
	addr_prefix(&k->saddr, saddr, family, plen_s);
	addr_prefix(&k->daddr, daddr, family, plen_d);
}

static void pol_key_from_sel(struct kipsec_pol_key *k, u8 dir,
			     const struct xfrm_selector *sel)
{
	pol_key_init(k, dir, sel->family, sel->prefixlen_s, sel->prefixlen_d,
		     &sel->saddr, &sel->daddr);
}

/* does @a come before @b in the SPD's order */
static bool pol_before(const struct kipsec_policy *a,
		       const struct kipsec_policy *b)
{
	return a->priority < b->priority ||
	       (a->priority == b->priority && a->seq < b->seq);
}

/* policy indexes: (counter << 3) | dir, as xfrm; bit 31 of
 * kipsec_net.policy_next_index records that a generated index may be in
 * use: the counter wrapped, or a policy was added with an index of its own
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
	struct kipsec_policy *pol, *best = NULL;
	struct rhlist_head *list, *pos;
	struct kipsec_pol_key key;
	struct pol_shape *sh;

	if (dir > KIPSEC_DIR_MAX)
		return NULL;
	list_for_each_entry_rcu(sh, &kn->pol_shapes[dir], list) {
		if (sh->family != fl->family)
			continue;
		pol_key_init(&key, dir, sh->family, sh->plen_s, sh->plen_d,
			     &fl->saddr, &fl->daddr);
		list = rhltable_lookup(&kn->pol_ht, &key, pol_ht_params);
		rhl_for_each_entry_rcu(pol, pos, list, hnode) {
			if (best && !pol_before(pol, best))
				continue;
			if (kipsec_selector_match(&pol->sel, fl))
				best = pol;
		}
	}
	if (best)
		kipsec_policy_touch(best);
	return best;
}

/* policies allocated and not yet freed, in every netns */
static atomic_t kipsec_policy_objects = ATOMIC_INIT(0);

/**
 * kipsec_policy_objects_alive - policies allocated and not yet freed
 *
 * Once every netns has gone (module unload), anything but 0 is a leak.
 */
int kipsec_policy_objects_alive(void)
{
	return atomic_read(&kipsec_policy_objects);
}

/**
 * kipsec_policy_alloc - allocate an empty policy with its counters
 *
 * Charged to the requester's memory cgroup, as the policy's shape entry.
 *
 * Return: the policy or NULL.
 */
struct kipsec_policy *kipsec_policy_alloc(void)
{
	struct kipsec_policy *pol;

	pol = kzalloc(sizeof(*pol), GFP_KERNEL_ACCOUNT);
	if (!pol)
		return NULL;
	INIT_LIST_HEAD(&pol->list);
	refcount_set(&pol->refcnt, 1);
	INIT_DELAYED_WORK(&pol->timer, kipsec_pol_lft_work);
	pol->stats = __netdev_alloc_pcpu_stats(struct kipsec_stats,
					       GFP_KERNEL_ACCOUNT);
	if (!pol->stats) {
		kfree(pol);
		return NULL;
	}
	atomic_inc(&kipsec_policy_objects);
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
	atomic_dec(&kipsec_policy_objects);
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
	atomic_dec(&kipsec_policy_objects);
}

/**
 * kipsec_policy_put - drop a reference to a policy
 * @pol: the policy; the last reference frees it after a grace period
 *
 * Any context.
 */
void kipsec_policy_put(struct kipsec_policy *pol)
{
	if (refcount_dec_and_test(&pol->refcnt))
		call_rcu(&pol->rcu, policy_free_rcu);
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
	struct kipsec_policy *pol, *found = NULL;
	struct rhlist_head *list, *pos;
	struct kipsec_pol_key key;

	lockdep_assert_held(&kn->lock);
	if (dir > KIPSEC_DIR_MAX)
		return NULL;
	pol_key_from_sel(&key, dir, sel);
	rcu_read_lock();
	list = rhltable_lookup(&kn->pol_ht, &key, pol_ht_params);
	rhl_for_each_entry_rcu(pol, pos, list, hnode) {
		if (!memcmp(&pol->sel, sel, sizeof(*sel))) {
			found = pol;
			break;
		}
	}
	rcu_read_unlock();
	return found;
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

static struct pol_shape *shape_find(struct kipsec_net *kn,
				    const struct kipsec_pol_key *k)
{
	struct pol_shape *sh;

	list_for_each_entry(sh, &kn->pol_shapes[k->dir], list)
		if (sh->family == k->family && sh->plen_s == k->plen_s &&
		    sh->plen_d == k->plen_d)
			return sh;
	return NULL;
}

/* put @pol in the hash table and count its shape; -ENOMEM */
static int policy_hash_insert(struct kipsec_net *kn,
			      struct kipsec_policy *pol)
{
	struct pol_shape *sh;
	int err;

	pol_key_from_sel(&pol->hkey, pol->dir, &pol->sel);
	sh = shape_find(kn, &pol->hkey);
	if (!sh) {
		sh = kzalloc(sizeof(*sh), GFP_KERNEL_ACCOUNT);
		if (!sh)
			return -ENOMEM;
		sh->family = pol->hkey.family;
		sh->plen_s = pol->hkey.plen_s;
		sh->plen_d = pol->hkey.plen_d;
	}
	err = rhltable_insert(&kn->pol_ht, &pol->hnode, pol_ht_params);
	if (err) {
		if (!sh->refs)
			kfree(sh);
		return err;
	}
	if (!sh->refs++)
		list_add_tail_rcu(&sh->list, &kn->pol_shapes[pol->dir]);
	pol->seq = ++kn->policy_seq;
	return 0;
}

static void policy_hash_remove(struct kipsec_net *kn,
			       struct kipsec_policy *pol)
{
	struct pol_shape *sh;

	rhltable_remove(&kn->pol_ht, &pol->hnode, pol_ht_params);
	sh = shape_find(kn, &pol->hkey);
	if (sh && !--sh->refs) {
		list_del_rcu(&sh->list);
		kfree_rcu(sh, rcu);
	}
}

/*
 * As xfrm_gen_index(): the index asked for when it is free (the caller
 * checked its direction bits), else a generated one.  From then on the
 * generator checks its indexes against those in use.
 */
static u32 policy_pick_index(struct kipsec_net *kn, u8 dir, u32 want)
{
	if (want && !kipsec_policy_find_index_locked(kn, want)) {
		kn->policy_next_index |= POLICY_IDX_WRAPPED;
		return want;
	}
	return policy_gen_index(kn, dir);
}

/**
 * kipsec_policy_insert - add a policy to the SPD and give it an index
 * @kn: the netns state, kipsec_net.lock held
 * @pol: the policy; the caller checked that no policy has its selector
 *       and direction.  @pol->index: the index asked for, or 0
 *
 * Return: 0 or -ENOMEM.
 */
int kipsec_policy_insert(struct kipsec_net *kn, struct kipsec_policy *pol)
{
	int err;

	lockdep_assert_held(&kn->lock);
	err = policy_hash_insert(kn, pol);
	if (err)
		return err;
	pol->index = policy_pick_index(kn, pol->dir, pol->index);
	policy_list_insert(kn, pol);
	kipsec_pol_lft_start(read_pnet(&kn->net), pol);
	kn->policy_count++;
	kipsec_net_update_active(kn);
	kipsec_event_policy(read_pnet(&kn->net), pol, KIPSEC_EV_POLICY_ADD);
	return 0;
}

/* @pol left the SPD: stop its timer, drop the SPD's reference */
static void policy_release(struct kipsec_policy *pol)
{
	WRITE_ONCE(pol->dead, true);
	kipsec_pol_lft_stop(pol);
	kipsec_policy_put(pol);
}

/**
 * kipsec_policy_replace - replace a policy by another (policy update)
 * @kn: the netns state, kipsec_net.lock held
 * @old: the policy in the SPD
 * @pol: its replacement, same selector and direction; takes @old's index
 *
 * The new policy is linked before the old one is unlinked, so a reader
 * always finds one of them.
 *
 * Return: 0, or -ENOMEM (nothing changed).
 */
int kipsec_policy_replace(struct kipsec_net *kn, struct kipsec_policy *old,
			  struct kipsec_policy *pol)
{
	int err;

	lockdep_assert_held(&kn->lock);
	err = policy_hash_insert(kn, pol);
	if (err)
		return err;
	pol->index = old->index;
	policy_list_insert(kn, pol);
	/* as xfrm_policy_insert(): the lifetime starts again */
	kipsec_pol_lft_start(read_pnet(&kn->net), pol);
	policy_hash_remove(kn, old);
	list_del_rcu(&old->list);
	policy_release(old);
	kipsec_event_policy(read_pnet(&kn->net), pol, KIPSEC_EV_POLICY_UPDATE);
	return 0;
}

/**
 * kipsec_policy_add - put a new policy into the SPD, or replace one
 * @kn: the netns' state
 * @pol: the policy, built by the caller, not yet published
 * @update: replace the policy with the same direction and selector, or
 *          add @pol when there is none (as xfrm's UPDPOLICY does)
 * @extack: the reason of a failure, for the user
 *
 * Every configuration API commits policies here.  Process context; takes
 * kn->lock.  On success the SPD owns @pol; on failure the caller still
 * owns it.
 *
 * Return: 0, -EEXIST, -ENOSPC or -ENOMEM.
 */
int kipsec_policy_add(struct kipsec_net *kn, struct kipsec_policy *pol,
		      bool update, struct netlink_ext_ack *extack)
{
	struct kipsec_policy *old;
	int err;

	mutex_lock(&kn->lock);
	old = kipsec_policy_find_locked(kn, pol->dir, &pol->sel);
	if (old && !update) {
		NL_SET_ERR_MSG_MOD(extack, "policy already exists");
		err = -EEXIST;
	} else if (old) {
		err = kipsec_policy_replace(kn, old, pol);
	} else if (kn->policy_count >= READ_ONCE(kn->policy_max)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "policy limit reached (sysctl net.kipsec.policy_max); delete policies or raise it");
		err = -ENOSPC;
	} else {
		err = kipsec_policy_insert(kn, pol);
	}
	mutex_unlock(&kn->lock);
	return err;
}

static void policy_unlink(struct kipsec_net *kn, struct kipsec_policy *pol)
{
	policy_hash_remove(kn, pol);
	list_del_rcu(&pol->list);
	kn->policy_count--;
	kipsec_net_update_active(kn);
	policy_release(pol);
}

/**
 * kipsec_policy_unlink - delete a policy from the SPD
 * @kn: the netns state, kipsec_net.lock held
 * @pol: the policy; freed after a grace period
 */
void kipsec_policy_unlink(struct kipsec_net *kn, struct kipsec_policy *pol)
{
	lockdep_assert_held(&kn->lock);
	kipsec_event_policy(read_pnet(&kn->net), pol, KIPSEC_EV_POLICY_DEL);
	policy_unlink(kn, pol);
}

/**
 * kipsec_policy_expire - delete a policy past a hard time limit
 * @kn: the netns state, kipsec_net.lock held
 * @pol: the policy; the caller holds a reference
 *
 * As xfrm_policy_timer(): the policy is deleted, then the hard expiry
 * event is sent (no delete event).
 */
void kipsec_policy_expire(struct kipsec_net *kn, struct kipsec_policy *pol)
{
	lockdep_assert_held(&kn->lock);
	policy_unlink(kn, pol);
	kipsec_event_policy(read_pnet(&kn->net), pol,
			    KIPSEC_EV_POLICY_HARD_EXPIRE);
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
			policy_unlink(kn, pol);
			if (!(++n % 1024))
				cond_resched();
		}
	}
	if (n)		/* as xfrm: no event when nothing was flushed */
		kipsec_event_flush(read_pnet(&kn->net), KIPSEC_EV_POLICY_FLUSH,
				   0);
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
 *
 * Return: 0 or a negative errno.
 */
int kipsec_policy_init_net(struct kipsec_net *kn)
{
	int dir;

	for (dir = 0; dir <= KIPSEC_DIR_MAX; dir++) {
		INIT_LIST_HEAD(&kn->policies[dir]);
		INIT_LIST_HEAD(&kn->pol_shapes[dir]);
	}
	kn->policy_count = 0;
	kn->policy_seq = 0;
	return rhltable_init(&kn->pol_ht, &pol_ht_params);
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
	/* a policy timer that was already running may wait for the lock */
	kipsec_lifetime_flush();
	rhltable_destroy(&kn->pol_ht);
}
