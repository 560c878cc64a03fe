// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: acquires and larval SAs (xfrm's XFRM_STATE_ACQ states).
 *
 * An outbound packet that matches a PROTECT policy whose template has no
 * SA asks the key manager for one: an acquire event, sent once per
 * (family, saddr, daddr, proto, mode, reqid) as the template resolves it
 * for the packet, as xfrm_state_find() does.  The packet is dropped (as
 * xfrm with its default net.core.xfrm_larval_drop=1).  The entry that
 * remembers the acquire (struct kipsec_acq) is created in softirq
 * context, so it lives in its own small hash table under a spinlock
 * (kipsec_net.acq_lock), not in the SAD whose writers sleep on
 * kipsec_net.lock; packets that find an entry take no lock.  It goes
 * after net.kipsec.acq_expires seconds, or when an SA that satisfies it
 * is added, or when state allocspi turns it into a larval SA.
 *
 * A larval SA is a struct kipsec_sa in the SAD with an SPI and no
 * transform: state allocspi reserves the SPI under kipsec_net.lock, so
 * that no other SA can take it, and a later state update (or add, for
 * an acquire without SPI) installs the mature SA.  It expires, like
 * xfrm's, acq_expires seconds after its creation.
 */
#include <linux/jhash.h>
#include <linux/random.h>
#include <linux/rhashtable.h>
#include "kipsec.h"

/* acquire sequence numbers, unique across netns as xfrm's acqseq */
static atomic_t kipsec_acq_seq = ATOMIC_INIT(0);

/* most SPIs state allocspi tries before it reports the range full */
#define KIPSEC_SPI_PROBES	65536

static u32 acq_seq_next(void)
{
	u32 seq;

	do {
		seq = atomic_inc_return(&kipsec_acq_seq);
	} while (!seq);
	return seq;
}

static unsigned int acq_bucket(u16 family, const xfrm_address_t *daddr)
{
	return jhash2((const u32 *)daddr, family == AF_INET ? 1 : 4, family) %
	       KIPSEC_ACQ_HSIZE;
}

static bool addr_eq(const xfrm_address_t *a, const xfrm_address_t *b,
		    u16 family)
{
	return !memcmp(a, b, family == AF_INET ? 4 : 16);
}

static bool addr_is_any(const xfrm_address_t *a)
{
	return !(a->a6[0] | a->a6[1] | a->a6[2] | a->a6[3]);
}

/* the __find_acq_core() match: everything that names the SA to make */
static bool acq_match(const struct kipsec_acq *a, u16 family,
		      const xfrm_address_t *saddr, const xfrm_address_t *daddr,
		      u8 proto, u8 mode, u32 reqid)
{
	return a->family == family && a->proto == proto && a->mode == mode &&
	       a->reqid == reqid && addr_eq(&a->daddr, daddr, family) &&
	       addr_eq(&a->saddr, saddr, family);
}

/*
 * The SA endpoints a template asks for, for this packet: the template's
 * addresses when it has them (tunnel), else the packet's (transport).
 * A tunnel template without source leaves it any (all-zero).
 */
static void acq_resolve(struct kipsec_acq *a, const struct kipsec_tmpl *t,
			const struct kipsec_flow *fl)
{
	if (t->family && !addr_is_any(&t->daddr)) {
		a->family = t->family;
		a->daddr = t->daddr;
		a->saddr = t->saddr;
	} else {
		a->family = fl->family;
		a->daddr = fl->daddr;
		if (t->family && !addr_is_any(&t->saddr))
			a->saddr = t->saddr;
		else if (t->mode == KIPSEC_MODE_TRANSPORT)
			a->saddr = fl->saddr;
	}
	a->proto = t->proto;
	a->mode = t->mode;
	a->reqid = t->reqid;
}

/* the packet's selector, host addresses and exact ports (init_tempsel) */
static void acq_flow_sel(struct xfrm_selector *sel,
			 const struct kipsec_flow *fl)
{
	unsigned int plen = fl->family == AF_INET ? 32 : 128;

	memset(sel, 0, sizeof(*sel));
	sel->family = fl->family;
	memcpy(&sel->saddr, &fl->saddr, plen / 8);
	memcpy(&sel->daddr, &fl->daddr, plen / 8);
	sel->prefixlen_s = plen;
	sel->prefixlen_d = plen;
	sel->proto = fl->proto;
	sel->sport = fl->sport;
	sel->dport = fl->dport;
	sel->sport_mask = htons(0xffff);
	sel->dport_mask = htons(0xffff);
}

static struct kipsec_acq *acq_new(const struct kipsec_policy *pol,
				  const struct kipsec_flow *fl,
				  unsigned int expires)
{
	struct kipsec_acq *a = kzalloc(sizeof(*a), GFP_ATOMIC);

	if (!a)
		return NULL;
	acq_resolve(a, &pol->tmpl, fl);
	acq_flow_sel(&a->sel, fl);
	a->pol_sel = pol->sel;
	a->pol_index = pol->index;
	a->pol_priority = pol->priority;
	a->pol_dir = pol->dir;
	a->tmpl = pol->tmpl;
	a->add_time = ktime_get_real_seconds();
	a->expires = jiffies + (unsigned long)expires * HZ;
	a->seq = acq_seq_next();
	return a;
}

/* an unexpired entry for @a's SA, RCU or acq_lock held */
static struct kipsec_acq *acq_find(struct kipsec_net *kn,
				   const struct kipsec_acq *a)
{
	struct hlist_head *h = &kn->acq_hash[acq_bucket(a->family, &a->daddr)];
	struct kipsec_acq *e;

	hlist_for_each_entry_rcu(e, h, node,
				 lockdep_is_held(&kn->acq_lock)) {
		if (acq_match(e, a->family, &a->saddr, &a->daddr, a->proto,
			      a->mode, a->reqid) &&
		    time_before(jiffies, e->expires))
			return e;
	}
	return NULL;
}

static void acq_unlink(struct kipsec_net *kn, struct kipsec_acq *a)
{
	hlist_del_rcu(&a->node);
	kn->acq_count--;
	kfree_rcu(a, rcu);
}

/* drop the expired entries of one bucket; acq_lock held */
static void acq_gc_bucket(struct kipsec_net *kn, struct hlist_head *h)
{
	struct kipsec_acq *e;
	struct hlist_node *tmp;

	hlist_for_each_entry_safe(e, tmp, h, node)
		if (!time_before(jiffies, e->expires))
			acq_unlink(kn, e);
}

/* drop expired entries; acq_lock held */
static void acq_gc_locked(struct kipsec_net *kn)
{
	unsigned int i;

	for (i = 0; i < KIPSEC_ACQ_HSIZE; i++)
		acq_gc_bucket(kn, &kn->acq_hash[i]);
}

/*
 * Publish @a unless an unexpired entry for the same SA exists; an expired
 * one goes first, so that an SA or allocspi finds the live entry.
 * Return: true when published.
 */
static bool acq_insert(struct kipsec_net *kn, struct kipsec_acq *a)
{
	bool done = false;

	spin_lock_bh(&kn->acq_lock);
	if (acq_find(kn, a))
		goto out;
	acq_gc_bucket(kn, &kn->acq_hash[acq_bucket(a->family, &a->daddr)]);
	if (kn->acq_count >= KIPSEC_ACQ_MAX)
		acq_gc_locked(kn);
	if (kn->acq_count >= KIPSEC_ACQ_MAX)
		goto out;
	hlist_add_head_rcu(&a->node,
			   &kn->acq_hash[acq_bucket(a->family, &a->daddr)]);
	kn->acq_count++;
	done = true;
	/* nothing pending: expire this one when its time comes */
	queue_delayed_work(system_wq, &kn->acq_work, a->expires - jiffies + 1);
out:
	spin_unlock_bh(&kn->acq_lock);
	return done;
}

/**
 * kipsec_acquire - a PROTECT policy's template found no SA for a packet
 * @net: the netns
 * @pol: the policy (RCU)
 * @fl: the packet
 *
 * Sends one acquire event per SA to make and per net.kipsec.acq_expires
 * seconds; later packets for the same SA find the entry without locking.
 * Softirq context, under rcu_read_lock(); never sleeps.  The caller
 * drops the packet.
 */
void kipsec_acquire(struct net *net, const struct kipsec_policy *pol,
		    const struct kipsec_flow *fl)
{
	struct kipsec_net *kn = kipsec_pernet(net);
	struct kipsec_acq probe, *a;

	memset(&probe, 0, sizeof(probe));
	acq_resolve(&probe, &pol->tmpl, fl);
	if (acq_find(kn, &probe))
		return;
	a = acq_new(pol, fl, READ_ONCE(kn->acq_expires));
	if (!a)
		return;
	if (!acq_insert(kn, a)) {
		kfree(a);
		return;
	}
	/* @a stays valid until the end of this RCU read-side section */
	kipsec_event_acquire(net, a);
}

static void acq_work_fn(struct work_struct *work)
{
	struct kipsec_net *kn = container_of(to_delayed_work(work),
					     struct kipsec_net, acq_work);
	unsigned long next = 0;
	struct kipsec_acq *a;
	unsigned int i;

	spin_lock_bh(&kn->acq_lock);
	acq_gc_locked(kn);
	for (i = 0; i < KIPSEC_ACQ_HSIZE; i++)
		hlist_for_each_entry(a, &kn->acq_hash[i], node)
			if (!next || time_before(a->expires, next))
				next = a->expires;
	if (next)
		queue_delayed_work(system_wq, &kn->acq_work,
				   next - jiffies + 1);
	spin_unlock_bh(&kn->acq_lock);
}

/* the acquire with sequence number @seq for this SA; acq_lock held */
static struct kipsec_acq *acq_find_seq(struct kipsec_net *kn, u32 seq,
				       u16 family, const xfrm_address_t *daddr,
				       u8 proto)
{
	struct hlist_head *h = &kn->acq_hash[acq_bucket(family, daddr)];
	struct kipsec_acq *e;

	hlist_for_each_entry(e, h, node)
		if (e->seq == seq && e->family == family &&
		    e->proto == proto && addr_eq(&e->daddr, daddr, family))
			return e;
	return NULL;
}

static struct kipsec_acq *acq_find_sa(struct kipsec_net *kn, u32 seq,
				      u16 family, const xfrm_address_t *saddr,
				      const xfrm_address_t *daddr, u8 proto,
				      u8 mode, u32 reqid)
{
	struct hlist_head *h = &kn->acq_hash[acq_bucket(family, daddr)];
	struct kipsec_acq *e = NULL;

	if (seq)
		e = acq_find_seq(kn, seq, family, daddr, proto);
	if (e)
		return e;
	hlist_for_each_entry(e, h, node)
		if (acq_match(e, family, saddr, daddr, proto, mode, reqid))
			return e;
	return NULL;
}

/**
 * kipsec_acq_sa_added - an SA entered the SAD: end the acquire it answers
 * @kn: the netns state, kipsec_net.lock held
 * @sa: the mature SA
 *
 * As xfrm_state_add(): the acquire with the SA's sequence number (state
 * add seq) and destination, else the one for the same endpoints, proto,
 * mode and reqid.
 */
void kipsec_acq_sa_added(struct kipsec_net *kn, const struct kipsec_sa *sa)
{
	struct kipsec_acq *a;

	lockdep_assert_held(&kn->lock);
	spin_lock_bh(&kn->acq_lock);
	a = acq_find_sa(kn, sa->acq_seq, sa->key.family, &sa->saddr,
			&sa->key.daddr, sa->key.proto, sa->mode, sa->reqid);
	if (a)
		acq_unlink(kn, a);
	spin_unlock_bh(&kn->acq_lock);
}

/* take the acquire state allocspi answers out of the table, or NULL */
static struct kipsec_acq *acq_take(struct kipsec_net *kn,
				   const struct kipsec_spi_req *req)
{
	struct kipsec_acq *a;

	spin_lock_bh(&kn->acq_lock);
	a = acq_find_sa(kn, req->seq, req->family, &req->saddr, &req->daddr,
			req->proto, req->mode, req->reqid);
	if (a) {
		hlist_del_rcu(&a->node);
		kn->acq_count--;
	}
	spin_unlock_bh(&kn->acq_lock);
	return a;
}

/* undo acq_take() */
static void acq_put_back(struct kipsec_net *kn, struct kipsec_acq *a)
{
	unsigned int b = acq_bucket(a->family, &a->daddr);

	spin_lock_bh(&kn->acq_lock);
	hlist_add_head_rcu(&a->node, &kn->acq_hash[b]);
	kn->acq_count++;
	spin_unlock_bh(&kn->acq_lock);
}

/* the larval SA of @req; @acq: the acquire it answers, or NULL */
static struct kipsec_sa *larval_new(struct kipsec_net *kn,
				    const struct kipsec_spi_req *req,
				    const struct kipsec_acq *acq)
{
	unsigned int plen = req->family == AF_INET ? 32 : 128;
	struct kipsec_sa *sa = kipsec_sa_alloc();

	if (!sa)
		return NULL;
	sa->larval = true;
	sa->saddr = req->saddr;
	sa->reqid = req->reqid;
	sa->mode = req->mode;
	sa->acq_seq = acq ? acq->seq : req->seq;
	if (acq) {
		sa->sel = acq->sel;
	} else {	/* __find_acq_core(): the SA's own addresses */
		sa->sel.family = req->family;
		sa->sel.saddr = req->saddr;
		sa->sel.daddr = req->daddr;
		sa->sel.prefixlen_s = plen;
		sa->sel.prefixlen_d = plen;
	}
	sa->lft.cfg.hard_add = READ_ONCE(kn->acq_expires);
	kipsec_sa_key_init(&sa->key, req->family, &req->daddr, 0, req->proto);
	return sa;
}

/* a larval SA that already answers @req's acquire (xfrm_find_acq_byseq) */
static struct kipsec_sa *larval_find_seq(struct kipsec_net *kn,
					 const struct kipsec_spi_req *req)
{
	struct kipsec_sa *sa;

	if (!req->seq)
		return NULL;
	list_for_each_entry(sa, &kn->sa_list, list)
		if (sa->larval && sa->acq_seq == req->seq &&
		    sa->key.family == req->family &&
		    sa->key.proto == req->proto &&
		    addr_eq(&sa->key.daddr, &req->daddr, req->family))
			return sa;
	return NULL;
}

/*
 * A free SPI for @sa in [min, max], inserted with it, under kn->lock:
 * no other SA can take the SPI between the choice and the insertion.
 * Starts at a random point of the range and walks it.
 */
static int larval_insert(struct kipsec_net *kn, struct kipsec_sa *sa,
			 const struct kipsec_spi_req *req)
{
	u64 range = (u64)req->max - req->min + 1;
	u64 off = get_random_u32() % range, i;
	u32 spi;
	int err;

	for (i = 0; i < range && i < KIPSEC_SPI_PROBES; i++) {
		spi = req->min + (u32)((off + i) % range);
		if (!spi)
			continue;
		sa->key.spi = htonl(spi);
		if (kipsec_sa_find_locked(kn, &sa->key))
			continue;
		err = kipsec_sa_insert(kn, sa);
		if (err != -EEXIST)
			return err;
	}
	return -ENOENT;
}

static int allocspi_check(struct kipsec_net *kn,
			  const struct kipsec_spi_req *req,
			  struct netlink_ext_ack *extack)
{
	if (req->proto != IPPROTO_ESP && req->proto != IPPROTO_AH) {
		NL_SET_ERR_MSG_MOD(extack,
				   "SPIs are allocated for ESP or AH only");
		return -EINVAL;
	}
	if (req->family != AF_INET && req->family != AF_INET6) {
		NL_SET_ERR_MSG_MOD(extack, "family must be inet or inet6");
		return -EAFNOSUPPORT;
	}
	if (req->mode > KIPSEC_MODE_TUNNEL) {
		NL_SET_ERR_MSG_MOD(extack, "unknown mode");
		return -EINVAL;
	}
	if (req->min > req->max) {
		NL_SET_ERR_MSG_MOD(extack, "SPI range: min is above max");
		return -EINVAL;
	}
	if (kn->sa_count >= READ_ONCE(kn->sa_max)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "SA limit reached (sysctl net.kipsec.sa_max); delete SAs or raise it");
		return -ENOSPC;
	}
	return 0;
}

static struct kipsec_sa *allocspi_locked(struct kipsec_net *kn,
					 const struct kipsec_spi_req *req,
					 struct netlink_ext_ack *extack)
{
	struct kipsec_acq *acq;
	struct kipsec_sa *sa;
	int err;

	err = allocspi_check(kn, req, extack);
	if (err)
		return ERR_PTR(err);
	sa = larval_find_seq(kn, req);
	if (sa) {		/* xfrm_alloc_spi(): it has its SPI already */
		kipsec_sa_hold(sa);
		return sa;
	}
	acq = acq_take(kn, req);
	sa = larval_new(kn, req, acq);
	if (!sa) {
		err = -ENOMEM;
		goto out;
	}
	err = larval_insert(kn, sa, req);
	if (err == -ENOENT)
		NL_SET_ERR_MSG_MOD(extack,
				   "no free SPI in range min..max for this destination and protocol");
	if (!err)
		kipsec_sa_hold(sa);	/* the caller's */
	else
		kipsec_sa_put(sa);
out:
	if (acq && err)		/* the acquire goes on */
		acq_put_back(kn, acq);
	else if (acq)
		kfree_rcu(acq, rcu);
	return err ? ERR_PTR(err) : sa;
}

/*
 * kipsec_sa_allocspi: see kipsec.h.  Takes kn->lock; process context.
 */
struct kipsec_sa *kipsec_sa_allocspi(struct kipsec_net *kn,
				     const struct kipsec_spi_req *req,
				     struct netlink_ext_ack *extack)
{
	struct kipsec_sa *sa;

	mutex_lock(&kn->lock);
	sa = allocspi_locked(kn, req, extack);
	mutex_unlock(&kn->lock);
	return sa;
}

/**
 * kipsec_acq_flush - forget the acquires in progress (state flush)
 * @kn: the netns state
 * @proto: IPPROTO_ESP or IPPROTO_AH, 0 for all
 *
 * As xfrm_state_flush() deletes ACQ states: the next packet acquires
 * again.
 */
void kipsec_acq_flush(struct kipsec_net *kn, u8 proto)
{
	struct kipsec_acq *a;
	struct hlist_node *tmp;
	unsigned int i;

	spin_lock_bh(&kn->acq_lock);
	for (i = 0; i < KIPSEC_ACQ_HSIZE; i++)
		hlist_for_each_entry_safe(a, tmp, &kn->acq_hash[i], node)
			if (!proto || a->proto == proto)
				acq_unlink(kn, a);
	spin_unlock_bh(&kn->acq_lock);
}

/**
 * kipsec_acq_walk - visit the acquires in progress (dumps)
 * @kn: the netns state
 * @skip: entries to skip on entry; on return, entries visited so far
 * @fn: called for each entry under kipsec_net.acq_lock (BH disabled,
 *      must not sleep); a non-zero return stops the walk
 * @arg: passed to @fn
 *
 * Return: what @fn returned last, 0 when the walk completed.
 */
int kipsec_acq_walk(struct kipsec_net *kn, long *skip,
		    int (*fn)(const struct kipsec_acq *acq, void *arg),
		    void *arg)
{
	struct kipsec_acq *a;
	unsigned int i;
	long idx = 0;
	int err = 0;

	spin_lock_bh(&kn->acq_lock);
	for (i = 0; i < KIPSEC_ACQ_HSIZE && !err; i++) {
		hlist_for_each_entry(a, &kn->acq_hash[i], node) {
			if (idx++ < *skip)
				continue;
			err = fn(a, arg);
			if (err) {
				idx--;
				break;
			}
		}
	}
	spin_unlock_bh(&kn->acq_lock);
	*skip = idx;
	return err;
}

/**
 * kipsec_acq_init_net - set up the acquire table of a netns
 * @kn: the netns state
 */
void kipsec_acq_init_net(struct kipsec_net *kn)
{
	unsigned int i;

	spin_lock_init(&kn->acq_lock);
	for (i = 0; i < KIPSEC_ACQ_HSIZE; i++)
		INIT_HLIST_HEAD(&kn->acq_hash[i]);
	kn->acq_count = 0;
	INIT_DELAYED_WORK(&kn->acq_work, acq_work_fn);
}

/**
 * kipsec_acq_exit_net - free the acquires of a netns
 * @kn: the netns state; its hooks are gone and no packet is in them
 */
void kipsec_acq_exit_net(struct kipsec_net *kn)
{
	cancel_delayed_work_sync(&kn->acq_work);
	kipsec_acq_flush(kn, 0);
}
