// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: the Security Association Database (SAD).
 *
 * Every SA is in three structures of its netns, all changed under
 * kipsec_net.lock and read under RCU:
 * - sa_ht, an rhashtable keyed by struct kipsec_sa_key (daddr, spi, proto,
 *   family): the inbound lookup of kipsec_sa_lookup();
 * - sa_out_ht, an rhltable keyed by (family, daddr, proto): the outbound
 *   search of kipsec_sa_find_out(), O(1) on average whatever the number
 *   of SAs to other peers;
 * - sa_list, for dumps and flushes.
 *
 * The SAD holds one reference on each SA it contains; packets in flight
 * hold their own.  Deletion marks the SA dead, unhashes it and drops the
 * SAD's reference.  The last kipsec_sa_put() frees the SA after an RCU
 * grace period, in process context (kipsec_wq), because freeing a crypto
 * transform is not safe in softirq context.
 */
#include <linux/rhashtable.h>
#include <linux/jhash.h>
#include <linux/workqueue.h>
#include <net/dst_cache.h>
#include "kipsec.h"

/* frees SAs after their grace period; shared by every netns */
static struct workqueue_struct *kipsec_wq;
/* SAs allocated and not yet freed, in every netns: kipsec_objects_check() */
static atomic_t kipsec_sa_objects = ATOMIC_INIT(0);
/* frees queued and not yet run: one may queue the next (successor, shared transform) */
static atomic_t kipsec_sa_frees = ATOMIC_INIT(0);

static const struct rhashtable_params sa_ht_params = {
	.head_offset = offsetof(struct kipsec_sa, node),
	.key_offset = offsetof(struct kipsec_sa, key),
	.key_len = sizeof(struct kipsec_sa_key),
	.automatic_shrinking = true,
};

/*
 * sa_out_ht is keyed by an SA's kipsec_sa_key without the SPI: the key
 * handed to rhltable (for inserts, &sa->key through key_offset; for
 * lookups, a kipsec_sa_key whose SPI is ignored) is a struct
 * kipsec_sa_key, hashed and compared on (daddr, proto, family) only.
 */
static u32 sa_out_hash(const struct kipsec_sa_key *key, u32 seed)
{
	u32 w[6];

	memcpy(w, &key->daddr, sizeof(key->daddr));
	w[4] = key->proto;
	w[5] = key->family;
	return jhash2(w, ARRAY_SIZE(w), seed);
}

static u32 sa_out_hashfn(const void *data, u32 len, u32 seed)
{
	return sa_out_hash(data, seed);
}

static u32 sa_out_obj_hashfn(const void *data, u32 len, u32 seed)
{
	const struct kipsec_sa *sa = data;

	return sa_out_hash(&sa->key, seed);
}

static int sa_out_obj_cmpfn(struct rhashtable_compare_arg *arg,
			    const void *obj)
{
	const struct kipsec_sa_key *key = arg->key;
	const struct kipsec_sa *sa = obj;

	return memcmp(&sa->key.daddr, &key->daddr, sizeof(key->daddr)) ||
	       sa->key.proto != key->proto || sa->key.family != key->family;
}

static const struct rhashtable_params sa_out_params = {
	.head_offset = offsetof(struct kipsec_sa, out_node),
	.key_offset = offsetof(struct kipsec_sa, key),
	.key_len = sizeof(struct kipsec_sa_key),
	.hashfn = sa_out_hashfn,
	.obj_hashfn = sa_out_obj_hashfn,
	.obj_cmpfn = sa_out_obj_cmpfn,
	.automatic_shrinking = true,
};

/**
 * kipsec_sa_key_init - fill a SAD lookup key
 * @key: the key to fill; zeroed first so that padding and the unused
 *       bytes of an IPv4 address compare equal
 * @family: AF_INET or AF_INET6
 * @daddr: destination address (only 4 bytes are read for AF_INET)
 * @spi: SPI, network order
 * @proto: IPPROTO_ESP or IPPROTO_AH
 */
void kipsec_sa_key_init(struct kipsec_sa_key *key, u16 family,
			const xfrm_address_t *daddr, __be32 spi, u8 proto)
{
	memset(key, 0, sizeof(*key));
	memcpy(&key->daddr, daddr, family == AF_INET ? 4 : 16);
	key->spi = spi;
	key->proto = proto;
	key->family = family;
}

static void sa_free_work(struct work_struct *work)
{
	struct kipsec_sa *sa = container_of(to_rcu_work(work),
					    struct kipsec_sa, free_work);

	/* whichever transform the SA has, aead or ahash (AH) */
	kipsec_crypto_free_sa(sa);
	if (sa->replay.bitmap)
		kipsec_replay_free(&sa->replay);
	kipsec_esp_free_sa(sa);
	kipsec_lft_free(sa);
	kipsec_sa_put(sa->successor);
	dst_cache_destroy(&sa->dst_cache);
	free_percpu(sa->stats);
	kfree_sensitive(sa);
	atomic_dec(&kipsec_sa_objects);
	atomic_dec(&kipsec_sa_frees);
}

/**
 * kipsec_sa_put - drop a reference to an SA
 * @sa: the SA, may be NULL
 *
 * Any context.  The last reference frees the SA after an RCU grace
 * period, in process context.
 */
void kipsec_sa_put(struct kipsec_sa *sa)
{
	if (!sa || !refcount_dec_and_test(&sa->refcnt))
		return;
	atomic_inc(&kipsec_sa_frees);
	INIT_RCU_WORK(&sa->free_work, sa_free_work);
	queue_rcu_work(kipsec_wq, &sa->free_work);
}

/**
 * kipsec_sa_alloc - allocate an empty SA
 *
 * Process context.  The SA has one reference (the caller's, which becomes
 * the SAD's on insertion), its counters and its route cache; it is freed
 * with kipsec_sa_put() whatever else was set up.  Allocated on behalf of
 * a user request: charged to the requester's memory cgroup, as the replay
 * window; the crypto API allocates the transform without accounting.
 *
 * Return: the SA or NULL.
 */
struct kipsec_sa *kipsec_sa_alloc(void)
{
	struct kipsec_sa *sa;

	sa = kzalloc(sizeof(*sa), GFP_KERNEL_ACCOUNT);
	if (!sa)
		return NULL;
	refcount_set(&sa->refcnt, 1);
	spin_lock_init(&sa->lock);
	INIT_LIST_HEAD(&sa->list);
	sa->stats = __netdev_alloc_pcpu_stats(struct kipsec_stats,
					      GFP_KERNEL_ACCOUNT);
	if (!sa->stats)
		goto err;
	if (dst_cache_init(&sa->dst_cache, GFP_KERNEL_ACCOUNT))
		goto err_stats;
	if (kipsec_lft_alloc(sa))
		goto err_dst;
	atomic_inc(&kipsec_sa_objects);
	return sa;

err_dst:
	dst_cache_destroy(&sa->dst_cache);
err_stats:
	free_percpu(sa->stats);
err:
	kfree(sa);
	return NULL;
}

/**
 * kipsec_sa_find_locked - find an SA by key, dead or not
 * @kn: the netns state, kipsec_net.lock held
 * @key: the key, from kipsec_sa_key_init()
 *
 * Return: the SA, without a reference (the lock keeps it), or NULL.
 */
struct kipsec_sa *kipsec_sa_find_locked(struct kipsec_net *kn,
					const struct kipsec_sa_key *key)
{
	lockdep_assert_held(&kn->lock);
	return rhashtable_lookup_fast(&kn->sa_ht, key, sa_ht_params);
}

/**
 * kipsec_sa_insert - add an SA to the SAD
 * @kn: the netns state, kipsec_net.lock held
 * @sa: the SA; its reference becomes the SAD's on success
 *
 * Return: 0, -EEXIST when an SA with the same key exists, or -ENOMEM.
 */
int kipsec_sa_insert(struct kipsec_net *kn, struct kipsec_sa *sa)
{
	int err;

	lockdep_assert_held(&kn->lock);
	err = rhashtable_lookup_insert_fast(&kn->sa_ht, &sa->node,
					    sa_ht_params);
	if (err)
		return err;
	err = rhltable_insert(&kn->sa_out_ht, &sa->out_node, sa_out_params);
	if (err) {
		rhashtable_remove_fast(&kn->sa_ht, &sa->node, sa_ht_params);
		return err;
	}
	list_add_tail_rcu(&sa->list, &kn->sa_list);
	kn->sa_count++;
	atomic_inc(&kn->genid);
	kipsec_net_update_active(kn);
	kipsec_lft_start(read_pnet(&kn->net), sa, NULL);
	/* as xfrm, an allocated SPI is no new SA for the listeners */
	if (!sa->larval)
		kipsec_event_sa(read_pnet(&kn->net), sa, KIPSEC_EV_SA_ADD);
	return 0;
}

static void sa_unpublish(struct kipsec_net *kn, struct kipsec_sa *sa)
{
	WRITE_ONCE(sa->dead, true);
	kipsec_lft_stop(sa);
	rhltable_remove(&kn->sa_out_ht, &sa->out_node, sa_out_params);
}

/*
 * The sequence state of @old goes on in @sa (not published yet): output
 * sequence number, replay window and counters, unless the update set a
 * number (@set), which may then only move forward; and the IV salt, so
 * that with the same key and the numbers going on, no IV repeats one
 * @old sent.  Under old->lock.
 */
static int sa_carry(struct kipsec_sa *sa, const struct kipsec_sa *old,
		    unsigned int set)
{
	u64 cnt[__KIPSEC_STAT_MAX];
	u64 top = old->replay.top;
	int i;

	if ((set & KIPSEC_SA_SET_OSEQ) && sa->oseq < old->oseq)
		return -ERANGE;
	if (set & KIPSEC_SA_SET_SEQ) {
		if (sa->replay.top < old->replay.top)
			return -ERANGE;
		top = sa->replay.top;
	}
	if (!(set & KIPSEC_SA_SET_OSEQ))
		sa->oseq = old->oseq;
	sa->iv_salt = old->iv_salt;
	kipsec_replay_carry(&sa->replay, &old->replay, top);
	kipsec_stats_sum(old->stats, cnt);
	for (i = 0; i < __KIPSEC_STAT_MAX; i++)
		if (cnt[i])
			kipsec_stats_add(sa->stats, i, cnt[i]);
	return 0;
}

/* @sa takes @old's place in every table; nothing changed on error */
static int sa_swap(struct kipsec_net *kn, struct kipsec_sa *old,
		   struct kipsec_sa *sa)
{
	int err;

	/* both are briefly in the outbound table; the new one comes first */
	err = rhltable_insert(&kn->sa_out_ht, &sa->out_node, sa_out_params);
	if (err)
		return err;
	err = rhashtable_replace_fast(&kn->sa_ht, &old->node, &sa->node,
				      sa_ht_params);
	if (err) {
		rhltable_remove(&kn->sa_out_ht, &sa->out_node, sa_out_params);
		return err;
	}
	list_replace_rcu(&old->list, &sa->list);
	return 0;
}

/**
 * kipsec_sa_replace - replace an SA by another with the same key
 * @kn: the netns state, kipsec_net.lock held
 * @old: the SA in the SAD
 * @sa: the new SA, with the same algorithms and keys (the caller checks);
 *      its reference becomes the SAD's on success
 * @set: KIPSEC_SA_SET_* for the sequence numbers the update gives; the
 *       others are carried over from @old
 *
 * The new SA goes on where @old stops, as xfrm_state_update() keeps the
 * state it updates: same key, so the output sequence number (hence the
 * nonce) must not start again, nor may the replay window forget what it
 * received.  Under old->lock, which the datapath takes to draw a sequence
 * number and to move the window, @old's state is copied into @sa, @sa
 * takes @old's place in the tables and @old is marked dead; from then on
 * the datapath draws no number from and moves no window of @old, but of
 * its successor @sa, so that packets in flight on @old are neither lost
 * nor replayable on @sa (kipsec_sa_current()).  A
 * larval @old (allocspi, no keys) has nothing to carry over: @sa simply
 * takes its place, as xfrm_state_update() of an ACQ state.  Readers
 * see either @old or @sa in the hash table at every moment, and no packet
 * is dropped for want of an SA.
 *
 * Return: 0; -ERANGE when @set moves a sequence number back; -ENOMEM
 * (nothing changed on error).
 */
int kipsec_sa_replace(struct kipsec_net *kn, struct kipsec_sa *old,
		      struct kipsec_sa *sa, unsigned int set)
{
	int err;

	lockdep_assert_held(&kn->lock);
	spin_lock_bh(&old->lock);
	err = old->larval ? 0 : sa_carry(sa, old, set);
	if (!err)
		err = sa_swap(kn, old, sa);
	if (err) {
		spin_unlock_bh(&old->lock);
		return err;
	}
	if (!old->larval) {
		kipsec_sa_hold(sa);
		WRITE_ONCE(old->successor, sa);
	}
	/* pairs with kipsec_sa_current(): dead published after successor */
	smp_store_release(&old->dead, true);
	spin_unlock_bh(&old->lock);
	kipsec_lft_start(read_pnet(&kn->net), sa, old->larval ? NULL : old);
	sa_unpublish(kn, old);
	atomic_inc(&kn->genid);
	kipsec_policy_flush_sa_cache(kn);
	kipsec_sa_put(old);
	kipsec_event_sa(read_pnet(&kn->net), sa, KIPSEC_EV_SA_UPDATE);
	return 0;
}

/*
 * state update: the SA goes on with its sequence numbers, window and
 * counters (kipsec_sa_replace()); its key and algorithms cannot change,
 * since reusing the sequence state under another key, or a fresh one
 * under the same key, is what nonce uniqueness forbids.
 */
static int sa_update(struct kipsec_net *kn, struct kipsec_sa *old,
		     struct kipsec_sa *sa, unsigned int set,
		     struct netlink_ext_ack *extack)
{
	int err;

	if (!old) {
		NL_SET_ERR_MSG_MOD(extack, "no such SA");
		return -ESRCH;
	}
	if (!old->larval && !kipsec_crypto_same_algs(old, sa)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "an update cannot change the key, algorithms, ICV length or ESN: a new key is a new SA (add it with another SPI)");
		return -EINVAL;
	}
	/*
	 * As xfrm_state_update(): the encapsulation may change to one of the
	 * same type (a new NAT mapping), not appear, go or change type.  A
	 * larval SA has none: the mature one brings it.
	 */
	if (!old->larval && sa->encap.type != old->encap.type) {
		NL_SET_ERR_MSG_MOD(extack,
				   "an update cannot add or remove the UDP encapsulation, nor change its type");
		return -EINVAL;
	}
	/*
	 * As xfrm_state_update(), which copies the encapsulation, selector
	 * and lifetimes into a valid SA but not x->tfcpad: the padding of a
	 * mature SA stays what it was added with.
	 */
	if (!old->larval)
		sa->tfcpad = old->tfcpad;
	err = kipsec_sa_replace(kn, old, sa, set);
	if (err == -ERANGE) {
		NL_SET_ERR_MSG_MOD(extack,
				   "an update cannot move a sequence number back (replay-oseq would repeat nonces, replay-seq would accept replays)");
		err = -EINVAL;
	}
	return err;
}

/* ESP in UDP or ESP in TCP (over IPv4 or IPv6), with both ports */
static int sa_encap_check(const struct kipsec_sa_cfg *c,
			  struct netlink_ext_ack *extack)
{
	if (!c->encap.type)
		return 0;
	if (c->encap.type != KIPSEC_ENCAP_ESPINUDP &&
	    c->encap.type != KIPSEC_ENCAP_ESPINTCP) {
		NL_SET_ERR_MSG_MOD(extack,
				   "only encapsulation types espinudp (2) and espintcp (7) are supported");
		return -EOPNOTSUPP;
	}
	if (c->encap.type == KIPSEC_ENCAP_ESPINTCP &&
	    !kipsec_espintcp_available()) {
		NL_SET_ERR_MSG_MOD(extack,
				   "espintcp is unavailable: the kernel's own TCP ULP \"espintcp\" kept kipsec from registering its own");
		return -EOPNOTSUPP;
	}
	if (c->proto != IPPROTO_ESP) {
		NL_SET_ERR_MSG_MOD(extack,
				   "UDP encapsulation (NAT-T) applies to ESP only, not AH");
		return -EINVAL;
	}
	if (!c->encap.sport || !c->encap.dport) {
		NL_SET_ERR_MSG_MOD(extack,
				   "UDP encapsulation needs non-zero source and destination ports");
		return -EINVAL;
	}
	return 0;
}

/* TFC padding: ESP in tunnel mode only, as xfrm_user's verify_newsa_info() */
static int sa_tfcpad_check(const struct kipsec_sa_cfg *c,
			   struct netlink_ext_ack *extack)
{
	if (!c->tfcpad)
		return 0;
	if (c->proto != IPPROTO_ESP) {
		NL_SET_ERR_MSG_MOD(extack,
				   "TFC padding (tfcpad) applies to ESP only, not AH");
		return -EINVAL;
	}
	if (c->mode != KIPSEC_MODE_TUNNEL) {
		NL_SET_ERR_MSG_MOD(extack,
				   "TFC padding can only be used in tunnel mode");
		return -EINVAL;
	}
	return 0;
}

static int sa_cfg_check(const struct kipsec_sa_cfg *c,
			struct netlink_ext_ack *extack)
{
	if (c->family != AF_INET && c->family != AF_INET6) {
		NL_SET_ERR_MSG_MOD(extack, "SA family must be AF_INET or AF_INET6");
		return -EAFNOSUPPORT;
	}
	if (c->proto != IPPROTO_ESP && c->proto != IPPROTO_AH) {
		NL_SET_ERR_MSG_MOD(extack, "SA protocol must be ESP (50) or AH (51)");
		return -EPROTONOSUPPORT;
	}
	if (!c->spi) {
		NL_SET_ERR_MSG_MOD(extack, "SPI must not be 0");
		return -EINVAL;
	}
	if (c->mode > KIPSEC_MODE_TUNNEL) {
		NL_SET_ERR_MSG_MOD(extack, "SA mode must be transport or tunnel");
		return -EINVAL;
	}
	if (c->window > KIPSEC_REPLAY_WINDOW_MAX) {
		NL_SET_ERR_MSG_MOD(extack,
				   "replay window larger than KIPSEC_REPLAY_WINDOW_MAX (65536)");
		return -EINVAL;
	}
	if (c->flags & ~KIPSEC_SA_FLAGS_ALL) {
		NL_SET_ERR_MSG_MOD(extack, "unknown SA flags");
		return -EINVAL;
	}
	if (c->xflags & ~KIPSEC_SA_XFLAGS_ALL) {
		NL_SET_ERR_MSG_MOD(extack, "unknown SA extra flags");
		return -EINVAL;
	}
	if (!(c->flags & KIPSEC_SA_F_ESN) &&
	    (c->seq > U32_MAX || c->oseq > U32_MAX)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "sequence numbers above 2^32-1 need the ESN flag");
		return -EINVAL;
	}
	if (c->sel.family && c->mode == KIPSEC_MODE_TRANSPORT &&
	    c->sel.family != c->family) {
		NL_SET_ERR_MSG_MOD(extack,
				   "a transport mode SA selector must have the SA family");
		return -EINVAL;
	}
	return sa_encap_check(c, extack) ?: sa_tfcpad_check(c, extack);
}

/*
 * @sa shares @from's key: its numbers go on from @from's whatever the
 * request says, so that the key never sees a sequence number twice on
 * output nor accepts a replay of @from's on input.
 */
static void sa_continue(struct kipsec_sa *sa, struct kipsec_sa *from)
{
	spin_lock_bh(&from->lock);
	sa->oseq = max(sa->oseq, from->oseq);
	kipsec_replay_carry(&sa->replay, &from->replay,
			    max(sa->replay.top, from->replay.top));
	spin_unlock_bh(&from->lock);
}

/**
 * kipsec_sa_setup - build a new SA from what a front end parsed
 * @sa: from kipsec_sa_alloc(), not yet in the SAD
 * @c: the SA; its keys are not wiped here (the caller owns them)
 * @xform_from: a deleted SA whose keyed transform and numbers @sa takes
 *              over (@c's keys are then zero-filled), or NULL
 * @extack: the reason of a failure
 *
 * The one place that turns a configuration request into an SA for every
 * front end: the checks common to all of them, the transform, the replay
 * window and the limits.  Process context, no lock held; the SA then
 * goes to kipsec_sa_add().
 *
 * Return: 0, or a negative errno with @extack set.
 */
int kipsec_sa_setup(struct kipsec_sa *sa, const struct kipsec_sa_cfg *c,
		    struct kipsec_sa *xform_from,
		    struct netlink_ext_ack *extack)
{
	int err;

	err = sa_cfg_check(c, extack);
	if (err)
		return err;
	kipsec_sa_key_init(&sa->key, c->family, &c->daddr, c->spi, c->proto);
	sa->saddr = c->saddr;
	sa->mode = c->mode;
	sa->reqid = c->reqid;
	sa->flags = c->flags;
	sa->xflags = c->xflags;
	sa->acq_seq = c->acq_seq;
	sa->sel = c->sel;
	sa->lft.cfg = c->lft;
	sa->encap = c->encap;
	sa->tfcpad = c->tfcpad;
	if (xform_from)
		err = kipsec_crypto_share_sa(sa, xform_from, &c->alg, extack);
	else
		err = kipsec_crypto_init_sa_algs(sa, &c->alg, extack);
	if (err) {
		if (extack && !extack->_msg)
			NL_SET_ERR_MSG_MOD(extack,
					   "cannot set up the SA's transform");
		return err;
	}
	err = kipsec_replay_init(&sa->replay, c->window);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "cannot set up the replay window");
		return err;
	}
	sa->replay.top = c->seq;
	sa->oseq = c->oseq;
	if (xform_from)
		sa_continue(sa, xform_from);
	return 0;
}

/**
 * kipsec_sa_add - put a new SA into the SAD, or update an existing one
 * @kn: the netns' state
 * @sa: the SA, built and keyed by the caller, not yet published
 * @update: replace the SA with the same (daddr, SPI, proto) instead of
 *          adding one (kipsec_sa_replace()); it must exist
 * @set: KIPSEC_SA_SET_* for an update
 * @extack: the reason of a failure, for the user
 *
 * Every configuration API (generic netlink, XFRM netlink) commits SAs
 * here, so that they obey the same rules.  Process context; takes
 * kn->lock.  On success the SAD owns @sa's reference; on failure the
 * caller still owns it.
 *
 * Return: 0, -EEXIST, -ESRCH, -EINVAL, -ENOSPC or -ENOMEM.
 */
int kipsec_sa_add(struct kipsec_net *kn, struct kipsec_sa *sa, bool update,
		  unsigned int set, struct netlink_ext_ack *extack)
{
	struct kipsec_sa *old;
	int err;

	mutex_lock(&kn->lock);
	old = kipsec_sa_find_locked(kn, &sa->key);
	if (update) {
		err = sa_update(kn, old, sa, set, extack);
	} else if (old) {
		/* as xfrm_state_add(): a larval SA's SPI is taken too */
		if (old->larval)
			NL_SET_ERR_MSG_MOD(extack,
					   "a larval SA (state allocspi) has this SPI: complete it with state update");
		else
			NL_SET_ERR_MSG_MOD(extack,
					   "SA already exists (same dst, SPI, protocol)");
		err = -EEXIST;
	} else if (kn->sa_count >= READ_ONCE(kn->sa_max)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "SA limit reached (sysctl net.kipsec.sa_max); delete SAs or raise it");
		err = -ENOSPC;
	} else {
		err = kipsec_sa_insert(kn, sa);
	}
	if (!err)	/* the acquire it answers, if any, is over */
		kipsec_acq_sa_added(kn, sa);
	mutex_unlock(&kn->lock);
	if (err && extack && !extack->_msg)
		NL_SET_ERR_MSG_MOD(extack, "cannot insert the SA into the SAD");
	return err;
}

static void sa_unlink(struct kipsec_net *kn, struct kipsec_sa *sa)
{
	sa_unpublish(kn, sa);
	rhashtable_remove_fast(&kn->sa_ht, &sa->node, sa_ht_params);
	list_del_rcu(&sa->list);
	kn->sa_count--;
	atomic_inc(&kn->genid);
	kipsec_net_update_active(kn);
}

/**
 * kipsec_sa_unlink - delete an SA from the SAD
 * @kn: the netns state, kipsec_net.lock held
 * @sa: the SA, in the SAD
 *
 * Marks the SA dead (packets in flight then drop it), removes it from
 * every table and drops the SAD's reference.
 */
void kipsec_sa_unlink(struct kipsec_net *kn, struct kipsec_sa *sa)
{
	lockdep_assert_held(&kn->lock);
	kipsec_event_sa(read_pnet(&kn->net), sa, KIPSEC_EV_SA_DEL);
	sa_unlink(kn, sa);
	kipsec_policy_flush_sa_cache(kn);
	kipsec_sa_put(sa);
}

/**
 * kipsec_sa_expire - delete a hard-expired SA
 * @kn: the netns state, kipsec_net.lock held
 * @sa: the SA, in the SAD
 *
 * As kipsec_sa_unlink(), announced as a hard expiry (as xfrm sends
 * XFRM_MSG_EXPIRE with hard set, and no XFRM_MSG_DELSA).
 */
void kipsec_sa_expire(struct kipsec_net *kn, struct kipsec_sa *sa)
{
	lockdep_assert_held(&kn->lock);
	kipsec_event_sa(read_pnet(&kn->net), sa, KIPSEC_EV_SA_HARD_EXPIRE);
	sa_unlink(kn, sa);
	kipsec_policy_flush_sa_cache(kn);
	kipsec_sa_put(sa);
}

/**
 * kipsec_sa_flush - delete every SA, or every SA of one protocol
 * @kn: the netns state, kipsec_net.lock held
 * @proto: IPPROTO_ESP or IPPROTO_AH, 0 for all
 *
 * Return: the number of SAs deleted.
 */
unsigned int kipsec_sa_flush(struct kipsec_net *kn, u8 proto)
{
	struct kipsec_sa *sa, *tmp;
	unsigned int n = 0;

	lockdep_assert_held(&kn->lock);
	kipsec_sa_kept_flush(kn);
	/*
	 * Newest first: sa_out_ht keeps the SAs of one (family, daddr,
	 * proto) in a list, newest at its head, and removing the head is
	 * O(1): flushing 100k SAs to one peer must not be quadratic.
	 */
	list_for_each_entry_safe_reverse(sa, tmp, &kn->sa_list, list) {
		if (proto && sa->key.proto != proto)
			continue;
		sa_unlink(kn, sa);
		kipsec_sa_put(sa);
		n++;
		if (!(n % 1024))
			cond_resched();
	}
	kipsec_acq_flush(kn, proto);
	if (n)
		kipsec_policy_flush_sa_cache(kn);
	if (n)		/* as xfrm: no event when nothing was flushed */
		kipsec_event_flush(read_pnet(&kn->net), KIPSEC_EV_SA_FLUSH,
				   proto);
	return n;
}

/**
 * kipsec_sa_lookup - find an inbound SA
 * @net: the netns
 * @family: AF_INET or AF_INET6
 * @daddr: destination address of the packet
 * @spi: SPI, network order
 * @proto: IPPROTO_ESP or IPPROTO_AH
 *
 * Any context.
 *
 * Return: a live SA with a reference the caller drops with kipsec_sa_put(),
 * or NULL.  The SA may be larval: the caller must not transform with it.
 */
struct kipsec_sa *kipsec_sa_lookup(struct net *net, u16 family,
				   const xfrm_address_t *daddr, __be32 spi,
				   u8 proto)
{
	struct kipsec_net *kn = kipsec_pernet(net);
	struct kipsec_sa_key key;
	struct kipsec_sa *sa;

	kipsec_sa_key_init(&key, family, daddr, spi, proto);
	rcu_read_lock();
	sa = rhashtable_lookup(&kn->sa_ht, &key, sa_ht_params);
	if (sa && (READ_ONCE(sa->dead) || !refcount_inc_not_zero(&sa->refcnt)))
		sa = NULL;
	rcu_read_unlock();
	return sa;
}

static bool addr_any(const xfrm_address_t *a)
{
	return !(a->a6[0] | a->a6[1] | a->a6[2] | a->a6[3]);
}

static bool addr_equal(const xfrm_address_t *a, const xfrm_address_t *b,
		       u16 family)
{
	return !memcmp(a, b, family == AF_INET ? 4 : 16);
}

/**
 * kipsec_sa_find_out - find the outbound SA for a policy template
 * @net: the netns
 * @tmpl: the template of the PROTECT policy
 * @fl: the packet
 *
 * The SA's destination is the template's when it has one (tunnel mode),
 * else the packet's; likewise its source, which is left unmatched when
 * neither gives it (tunnel template without a source).  Protocol, mode,
 * family must match, reqid and SPI when the template sets them, and the
 * SA's own selector, if any, must match the packet.  Among several
 * candidates the most recently added wins.
 *
 * Any context.
 *
 * Return: a live SA with a reference, or NULL.
 */
struct kipsec_sa *kipsec_sa_find_out(struct net *net,
				     const struct kipsec_tmpl *tmpl,
				     const struct kipsec_flow *fl)
{
	struct kipsec_net *kn = kipsec_pernet(net);
	const xfrm_address_t *daddr, *saddr = NULL;
	struct kipsec_sa *sa, *found = NULL;
	struct rhlist_head *list, *pos;
	struct kipsec_sa_key key;
	u16 family;

	if (tmpl->family && !addr_any(&tmpl->daddr)) {
		family = tmpl->family;
		daddr = &tmpl->daddr;
		if (!addr_any(&tmpl->saddr))
			saddr = &tmpl->saddr;
	} else {
		family = fl->family;
		daddr = &fl->daddr;
		if (tmpl->family && !addr_any(&tmpl->saddr))
			saddr = &tmpl->saddr;
		else if (tmpl->mode == KIPSEC_MODE_TRANSPORT)
			saddr = &fl->saddr;
		if (tmpl->family && tmpl->family != family)
			return NULL;
	}

	kipsec_sa_key_init(&key, family, daddr, 0, tmpl->proto);
	rcu_read_lock();
	list = rhltable_lookup(&kn->sa_out_ht, &key, sa_out_params);
	rhl_for_each_entry_rcu(sa, pos, list, out_node) {
		if (READ_ONCE(sa->dead) || sa->larval || sa->mode != tmpl->mode)
			continue;
		if (tmpl->reqid && sa->reqid != tmpl->reqid)
			continue;
		if (tmpl->spi && sa->key.spi != tmpl->spi)
			continue;
		if (saddr && !addr_equal(&sa->saddr, saddr, family))
			continue;
		if (sa->sel.family && !kipsec_selector_match(&sa->sel, fl))
			continue;
		if (!refcount_inc_not_zero(&sa->refcnt))
			continue;
		found = sa;
		break;
	}
	rcu_read_unlock();
	return found;
}

/**
 * kipsec_sa_objects_alive - SAs allocated and not yet freed, in every netns
 *
 * Once every netns has gone (module unload), anything but 0 is a leak.
 */
int kipsec_sa_objects_alive(void)
{
	return atomic_read(&kipsec_sa_objects);
}

/**
 * kipsec_state_init - set up what every netns' SAD shares
 *
 * Return: 0 or -ENOMEM.
 */
int kipsec_state_init(void)
{
	kipsec_wq = alloc_workqueue("kipsec_free", WQ_UNBOUND, 0);
	return kipsec_wq ? 0 : -ENOMEM;
}

/**
 * kipsec_state_exit - wait for every SA free, then tear down
 *
 * Module exit, after every netns and every lifetime work has gone: the
 * last references they dropped queue frees, and a free may drop the last
 * reference to another SA (its successor, or the SA whose transform it
 * shared), which queues one more from the work.  So wait until no free
 * is left, however long the chain.
 */
void kipsec_state_exit(void)
{
	do {
		rcu_barrier();
		flush_workqueue(kipsec_wq);
	} while (atomic_read(&kipsec_sa_frees));
	destroy_workqueue(kipsec_wq);
}

/*
 * Frees are queued from RCU callbacks (policies drop their cached SA
 * there, and queue_rcu_work() itself waits a grace period): wait for two
 * generations of callbacks, then for the work.  Another netns may go on
 * queueing frees, so this does not wait for all of them (module exit
 * does).
 */
static void kipsec_sa_frees_wait(void)
{
	rcu_barrier();
	rcu_barrier();
	flush_workqueue(kipsec_wq);
}

/**
 * kipsec_state_init_net - set up the SAD of a netns
 * @kn: the netns state
 *
 * Return: 0 or a negative errno.
 */
int kipsec_state_init_net(struct kipsec_net *kn)
{
	int err;

	err = rhashtable_init(&kn->sa_ht, &sa_ht_params);
	if (err)
		return err;
	err = rhltable_init(&kn->sa_out_ht, &sa_out_params);
	if (err)
		goto err_ht;
	kn->sa_count = 0;
	return 0;

err_ht:
	rhashtable_destroy(&kn->sa_ht);
	return err;
}

static void kept_drop(struct kipsec_sa_kept *k)
{
	kipsec_sa_put(k->sa);
	k->sa = NULL;
}

/**
 * kipsec_sa_keep - keep a deleted SA a while for a re-add without keys
 * @kn: the netns state, kipsec_net.lock held
 * @sa: the SA, out of the SAD; the caller's reference passes here
 * @portid: the XFRM netlink socket that deleted it
 *
 * At most KIPSEC_KEPT_MAX SAs for KIPSEC_KEPT_SECS seconds: the oldest
 * goes first.  A kept SA carries no traffic; its transform is freed,
 * and its key schedule wiped, when it is let go.
 */
void kipsec_sa_keep(struct kipsec_net *kn, struct kipsec_sa *sa, u32 portid)
{
	struct kipsec_sa_kept *k = &kn->kept[0];
	int i;

	lockdep_assert_held(&kn->lock);
	for (i = 0; i < KIPSEC_KEPT_MAX; i++) {
		if (kn->kept[i].sa &&
		    time_after(jiffies, kn->kept[i].until))
			kept_drop(&kn->kept[i]);
		if (!kn->kept[i].sa ||
		    (k->sa && time_before(kn->kept[i].until, k->until)))
			k = &kn->kept[i];
	}
	if (k->sa)
		kept_drop(k);
	k->sa = sa;
	k->portid = portid;
	k->until = jiffies + KIPSEC_KEPT_SECS * HZ;
}

/**
 * kipsec_sa_take_kept - the kept SA that a re-add without keys names
 * @kn: the netns state; kipsec_net.lock not held
 * @c: the re-added SA: same SPI, protocol and family (the addresses may
 *     have moved)
 * @portid: the socket asking; only the one that deleted the SA may
 *
 * Return: the SA with a reference, no longer kept, or NULL.
 */
struct kipsec_sa *kipsec_sa_take_kept(struct kipsec_net *kn,
				      const struct kipsec_sa_cfg *c,
				      u32 portid)
{
	struct kipsec_sa *sa = NULL;
	struct kipsec_sa_kept *k;
	int i;

	mutex_lock(&kn->lock);
	for (i = 0; i < KIPSEC_KEPT_MAX && !sa; i++) {
		k = &kn->kept[i];
		if (!k->sa || time_after(jiffies, k->until) ||
		    k->portid != portid || k->sa->key.spi != c->spi ||
		    k->sa->key.proto != c->proto ||
		    k->sa->key.family != c->family)
			continue;
		sa = k->sa;
		k->sa = NULL;
	}
	mutex_unlock(&kn->lock);
	return sa;
}

/**
 * kipsec_sa_kept_flush - let every kept SA go
 * @kn: the netns state, kipsec_net.lock held
 */
void kipsec_sa_kept_flush(struct kipsec_net *kn)
{
	int i;

	lockdep_assert_held(&kn->lock);
	for (i = 0; i < KIPSEC_KEPT_MAX; i++)
		if (kn->kept[i].sa)
			kept_drop(&kn->kept[i]);
}

/**
 * kipsec_state_exit_net - delete every SA of a netns and tear the SAD down
 * @kn: the netns state; the policies are already gone
 */
void kipsec_state_exit_net(struct kipsec_net *kn)
{
	mutex_lock(&kn->lock);
	kipsec_sa_flush(kn, 0);
	mutex_unlock(&kn->lock);
	/* a lifetime work may be waiting for the lock: let it see the SA dead */
	kipsec_lifetime_flush();
	rhltable_destroy(&kn->sa_out_ht);
	rhashtable_destroy(&kn->sa_ht);
	kipsec_sa_frees_wait();
}
