// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: SA lifetimes (ip xfrm's "limit"), beside the SA with its timer.
 *
 * An SA lives: mature once in the SAD, soft-expired when it reaches a soft
 * limit (one event; it still carries traffic), hard-expired when it
 * reaches a hard limit or runs out of sequence numbers (it carries no more
 * traffic, one event, and it leaves the SAD), then freed when its last
 * reference goes.
 *
 * Byte and packet limits are counted per packet without a shared lock or
 * a shared cache line: each CPU adds to its own counters and compares
 * them with its own budget.  Only when a CPU exhausts its budget does it
 * sum every CPU's counters, compare the total with the limits and grant
 * itself a new budget of 1/(2 * nr_cpu_ids) of what remains before the
 * next limit (at least one packet or byte).  So a limit is noticed late by
 * at most the budgets the other CPUs hold: when every CPU carries traffic
 * this converges to one packet per CPU; in the worst case (a CPU idle
 * since an early grant) a limit is overshot by under half of it.
 *
 * A limit of N lets N packets (bytes) through.  Outbound, as xfrm, usage
 * is counted before the transform and the packet that would exceed a hard
 * limit is dropped (KIPSEC_STAT_SA_EXPIRED), as is every later one.
 * Inbound, usage is counted after authentication, so that forged packets
 * cannot use up an SA: the packet that exceeds a hard limit is still
 * delivered, the later ones drop.  A soft limit fires when exceeded.
 *
 * Time limits are evaluated by one delayed work per SA (seconds, real
 * time, as xfrm's x->mtimer), which also does everything a packet only
 * flags: it sends the events and deletes a hard-expired SA, in process
 * context under kipsec_net.lock, never from the packet path.
 *
 * Policies have limits too, with xfrm_policy_timer()'s semantics: only
 * the time limits are enforced (the byte and packet limits are kept and
 * shown, never counted against), use times count from the policy's last
 * use (its creation when it was never used), a soft limit sends an event
 * and sends it again every XFRM_KM_TIMEOUT (30 s) until the hard limit,
 * which deletes the policy and sends its event.  One delayed work per
 * policy that has a time limit, on the same workqueue.
 */
#include <linux/percpu.h>
#include <linux/ktime.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>
#include "kipsec.h"

/**
 * struct kipsec_lft_pcpu - one CPU's share of an SA's usage
 * @bytes: bytes this CPU counted
 * @packets: packets this CPU counted
 * @bytes_next: @bytes at which this CPU sums all CPUs again
 * @packets_next: @packets at which this CPU sums all CPUs again
 *
 * Written by its CPU only, with this_cpu ops; read by any CPU.
 */
struct kipsec_lft_pcpu {
	u64 bytes;
	u64 packets;
	u64 bytes_next;
	u64 packets_next;
};

/* runs the lifetime works; flushed when a netns goes */
static struct workqueue_struct *kipsec_lft_wq;

int kipsec_lifetime_init(void)
{
	kipsec_lft_wq = alloc_workqueue("kipsec_lft", WQ_UNBOUND, 0);
	return kipsec_lft_wq ? 0 : -ENOMEM;
}

void kipsec_lifetime_exit(void)
{
	destroy_workqueue(kipsec_lft_wq);
}

static void lft_work(struct work_struct *work);

/**
 * kipsec_lft_alloc - set up the lifetime of a new SA
 * @sa: the SA, not yet in the SAD
 *
 * Return: 0 or -ENOMEM.
 */
int kipsec_lft_alloc(struct kipsec_sa *sa)
{
	struct kipsec_lifetime *l = &sa->lft;

	l->pcpu = alloc_percpu_gfp(struct kipsec_lft_pcpu, GFP_KERNEL_ACCOUNT);
	if (!l->pcpu)
		return -ENOMEM;
	atomic64_set(&l->use_time, 0);
	INIT_DELAYED_WORK(&l->work, lft_work);
	return 0;
}

void kipsec_lft_free(struct kipsec_sa *sa)
{
	free_percpu(sa->lft.pcpu);
}

/* the work holds a reference while pending; run it now */
static void lft_kick(struct kipsec_sa *sa)
{
	if (READ_ONCE(sa->dead))
		return;		/* unlinked: its timer is cancelled */
	kipsec_sa_hold(sa);
	if (mod_delayed_work(kipsec_lft_wq, &sa->lft.work, 0))
		kipsec_sa_put(sa);	/* was pending: it had a reference */
}

/* arm the timer unless already pending (a kick must not be delayed) */
static void lft_arm(struct kipsec_sa *sa, unsigned long delay)
{
	kipsec_sa_hold(sa);
	if (!queue_delayed_work(kipsec_lft_wq, &sa->lft.work, delay))
		kipsec_sa_put(sa);
}

/**
 * kipsec_lft_usage - bytes and packets an SA carried, in and out
 * @sa: the SA
 * @bytes: filled
 * @packets: filled
 */
void kipsec_lft_usage(struct kipsec_sa *sa, u64 *bytes, u64 *packets)
{
	int cpu;

	*bytes = sa->lft.base_bytes;
	*packets = sa->lft.base_packets;
	for_each_possible_cpu(cpu) {
		const struct kipsec_lft_pcpu *p = per_cpu_ptr(sa->lft.pcpu, cpu);

		*bytes += READ_ONCE(p->bytes);
		*packets += READ_ONCE(p->packets);
	}
}

static bool reached(u64 limit, u64 v)
{
	return limit && v > limit;
}

/* the next limit ahead of @v: the soft one until it fired, else hard */
static u64 next_limit(const struct kipsec_lifetime *l, u64 soft, u64 hard,
		      u64 v)
{
	if (soft && v <= soft && !test_bit(KIPSEC_LFT_SOFT, &l->flags))
		return soft;
	return hard ? hard : U64_MAX;
}

/* this CPU's next budget: a share of what remains before @limit */
static u64 budget(u64 limit, u64 total, u64 local)
{
	u64 step;

	if (limit == U64_MAX)
		return U64_MAX;
	step = total < limit ? (limit - total) / (2 * nr_cpu_ids) : 0;
	return local + max_t(u64, step, 1);
}

/* hard-expire: no more traffic; the work sends the event and deletes */
static void lft_hard(struct kipsec_sa *sa)
{
	if (!test_and_set_bit(KIPSEC_LFT_HARD, &sa->lft.flags))
		lft_kick(sa);
}

static void lft_soft(struct kipsec_sa *sa)
{
	if (!test_and_set_bit(KIPSEC_LFT_SOFT, &sa->lft.flags))
		lft_kick(sa);
}

/* a CPU exhausted its budget: compare the totals with the limits */
static bool lft_slow(struct kipsec_sa *sa)
{
	const struct kipsec_lft_cfg *c = &sa->lft.cfg;
	struct kipsec_lifetime *l = &sa->lft;
	struct kipsec_lft_pcpu *p;
	u64 bytes, packets;

	kipsec_lft_usage(sa, &bytes, &packets);
	if (reached(c->hard_bytes, bytes) ||
	    reached(c->hard_packets, packets)) {
		lft_hard(sa);
		return false;
	}
	if (reached(c->soft_bytes, bytes) ||
	    reached(c->soft_packets, packets))
		lft_soft(sa);
	p = get_cpu_ptr(l->pcpu);
	p->bytes_next = budget(next_limit(l, c->soft_bytes, c->hard_bytes,
					  bytes), bytes, p->bytes);
	p->packets_next = budget(next_limit(l, c->soft_packets,
					    c->hard_packets, packets),
				 packets, p->packets);
	put_cpu_ptr(l->pcpu);
	return true;
}

/*
 * Two per-CPU adds and compares; a slow path only when this CPU's budget
 * is spent, and on the SA's first packet.  False past a hard limit.
 */
static bool lft_add(struct kipsec_sa *sa, unsigned int len)
{
	struct kipsec_lifetime *l = &sa->lft;
	u64 b, p;

	b = this_cpu_add_return(l->pcpu->bytes, len);
	p = this_cpu_add_return(l->pcpu->packets, 1);
	if (unlikely(b >= this_cpu_read(l->pcpu->bytes_next) ||
		     p >= this_cpu_read(l->pcpu->packets_next)) &&
	    !lft_slow(sa))
		return false;
	if (unlikely(!atomic64_read(&l->use_time)) &&
	    !atomic64_cmpxchg(&l->use_time, 0, ktime_get_real_seconds()) &&
	    (l->cfg.soft_use || l->cfg.hard_use))
		lft_kick(sa);	/* the use timers start now */
	return true;
}

/**
 * kipsec_lft_out - count an outbound packet before its transform
 * @sa: the SA
 * @len: the packet's length
 *
 * Any context.
 *
 * Return: false when the SA is past a hard limit: drop the packet.
 */
bool kipsec_lft_out(struct kipsec_sa *sa, unsigned int len)
{
	return !kipsec_lft_expired(sa) && lft_add(sa, len);
}

/**
 * kipsec_lft_count - count an inbound packet after authentication
 * @sa: the SA the packet came through
 * @len: its length
 *
 * Any context.
 */
void kipsec_lft_count(struct kipsec_sa *sa, unsigned int len)
{
	lft_add(sa, len);
}

/**
 * kipsec_lft_seq_exhausted - the SA has no sequence number left
 * @sa: the SA
 *
 * Any context.  As a hard expiry: the SA is deleted with an event, and
 * IKE rekeys.
 */
void kipsec_lft_seq_exhausted(struct kipsec_sa *sa)
{
	lft_hard(sa);
}

/* per-CPU budgets from scratch, for a new SA or one that inherits usage */
static void lft_init_budgets(struct kipsec_sa *sa)
{
	const struct kipsec_lft_cfg *c = &sa->lft.cfg;
	struct kipsec_lifetime *l = &sa->lft;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct kipsec_lft_pcpu *p = per_cpu_ptr(l->pcpu, cpu);

		p->bytes_next = budget(next_limit(l, c->soft_bytes,
						  c->hard_bytes, l->base_bytes),
				       l->base_bytes, p->bytes);
		p->packets_next = budget(next_limit(l, c->soft_packets,
						    c->hard_packets,
						    l->base_packets),
					 l->base_packets, p->packets);
	}
}

/**
 * kipsec_lft_start - an SA enters the SAD: start its clock and timer
 * @net: its netns
 * @sa: the SA, not yet visible to packets
 * @old: the SA it replaces (update): its usage and times carry over, as
 *       xfrm_state_update() keeps curlft; may fire the soft event again
 *
 * Process context, kipsec_net.lock held.
 */
void kipsec_lft_start(struct net *net, struct kipsec_sa *sa,
		      struct kipsec_sa *old)
{
	struct kipsec_lifetime *l = &sa->lft;

	write_pnet(&l->net, net);
	if (old) {
		kipsec_lft_usage(old, &l->base_bytes, &l->base_packets);
		l->add_time = old->lft.add_time;
		atomic64_set(&l->use_time, atomic64_read(&old->lft.use_time));
	} else {
		l->add_time = ktime_get_real_seconds();
	}
	lft_init_budgets(sa);
	/* the work checks the inherited usage and arms the timers */
	lft_kick(sa);
}

/**
 * kipsec_lft_stop - an SA leaves the SAD: stop its timer
 * @sa: the SA, already marked dead
 *
 * Any context.  A work already running sees the SA dead and stops.
 */
void kipsec_lft_stop(struct kipsec_sa *sa)
{
	if (cancel_delayed_work(&sa->lft.work))
		kipsec_sa_put(sa);
}

/* one time limit: reached, or shorten *next to when it will be */
static bool time_reached(u64 limit, time64_t start, time64_t now,
			 time64_t *next)
{
	time64_t end;

	if (!limit || !start)
		return false;
	end = start + min_t(u64, limit, S64_MAX / 2);
	if (now >= end)
		return true;
	*next = min(*next, end - now);
	return false;
}

/* evaluate the time limits; return the seconds to the next one, or 0 */
static time64_t lft_check_time(struct kipsec_sa *sa, time64_t now)
{
	const struct kipsec_lft_cfg *c = &sa->lft.cfg;
	time64_t use = atomic64_read(&sa->lft.use_time);
	time64_t add = sa->lft.add_time;
	time64_t next = S64_MAX;

	if (time_reached(c->hard_add, add, now, &next) ||
	    time_reached(c->hard_use, use, now, &next)) {
		lft_hard(sa);
		return 0;
	}
	if (!test_bit(KIPSEC_LFT_SOFT, &sa->lft.flags) &&
	    (time_reached(c->soft_add, add, now, &next) ||
	     time_reached(c->soft_use, use, now, &next)))
		lft_soft(sa);
	return next == S64_MAX ? 0 : next;
}

/* the events and the deletion, under kipsec_net.lock */
static void lft_process(struct net *net, struct kipsec_sa *sa)
{
	struct kipsec_net *kn = kipsec_pernet(net);
	struct kipsec_lifetime *l = &sa->lft;
	time64_t next;

	next = lft_check_time(sa, ktime_get_real_seconds());
	if (test_bit(KIPSEC_LFT_SOFT, &l->flags) &&
	    !test_and_set_bit(KIPSEC_LFT_SOFT_SENT, &l->flags))
		kipsec_event_sa(net, sa, KIPSEC_EV_SA_SOFT_EXPIRE);
	if (kipsec_lft_expired(sa)) {
		kipsec_sa_expire(kn, sa);
		return;
	}
	/* usage inherited at an update may already be past a limit */
	lft_slow(sa);
	if (kipsec_lft_expired(sa))
		return;		/* lft_slow() kicked the work again */
	if (next)
		lft_arm(sa, (unsigned long)min_t(time64_t, next,
						 MAX_JIFFY_OFFSET / HZ) * HZ);
}

static void lft_work(struct work_struct *work)
{
	struct kipsec_sa *sa = container_of(to_delayed_work(work),
					    struct kipsec_sa, lft.work);
	struct net *net = read_pnet(&sa->lft.net);
	struct kipsec_net *kn;

	/*
	 * A dead SA may belong to a netns that is gone: touch only the SA.
	 * A live one keeps its netns: the netns exit deletes every SA under
	 * kipsec_net.lock, then waits for this work.
	 */
	if (READ_ONCE(sa->dead))
		goto out;
	kn = kipsec_pernet(net);
	mutex_lock(&kn->lock);
	if (!READ_ONCE(sa->dead))
		lft_process(net, sa);
	mutex_unlock(&kn->lock);
out:
	kipsec_sa_put(sa);	/* the pending work's reference */
}

/**
 * kipsec_lifetime_flush - wait for the lifetime works of a dying netns
 *
 * Its SAs are gone and their timers cancelled; a work that already ran
 * may still be waiting for kipsec_net.lock.
 */
void kipsec_lifetime_flush(void)
{
	flush_workqueue(kipsec_lft_wq);
}

/* xfrm repeats a policy's soft expiry this often (XFRM_KM_TIMEOUT), s */
#define POL_SOFT_REPEAT		30

static unsigned long pol_secs_to_jiffies(time64_t secs)
{
	return (unsigned long)min_t(time64_t, secs, MAX_JIFFY_OFFSET / HZ) * HZ;
}

/* arm @pol's timer; a pending timer holds a reference to the policy */
static void pol_lft_arm(struct kipsec_policy *pol, time64_t secs)
{
	refcount_inc(&pol->refcnt);
	if (!queue_delayed_work(kipsec_lft_wq, &pol->timer,
				pol_secs_to_jiffies(secs)))
		kipsec_policy_put(pol);
}

/* the first time limit of a new policy: all count from now */
static time64_t pol_lft_first(const struct kipsec_lft_cfg *c)
{
	const u64 lim[] = { c->soft_add, c->hard_add, c->soft_use, c->hard_use };
	u64 first = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(lim); i++)
		if (lim[i] && (!first || lim[i] < first))
			first = lim[i];
	return min_t(u64, first, S64_MAX / 2);
}

/**
 * kipsec_pol_lft_start - a policy enters the SPD: start its clock
 * @net: its netns
 * @pol: the policy (insertion or update: both start afresh, as xfrm)
 *
 * Process context, kipsec_net.lock held.
 */
void kipsec_pol_lft_start(struct net *net, struct kipsec_policy *pol)
{
	time64_t first = pol_lft_first(&pol->lft);

	write_pnet(&pol->net, net);
	pol->add_time = ktime_get_real_seconds();
	WRITE_ONCE(pol->use_time, 0);
	if (first)
		pol_lft_arm(pol, first);
}

/**
 * kipsec_pol_lft_stop - a policy leaves the SPD: stop its timer
 * @pol: the policy, already marked dead
 *
 * Any context.  A timer already running sees the policy dead and stops.
 */
void kipsec_pol_lft_stop(struct kipsec_policy *pol)
{
	if (cancel_delayed_work(&pol->timer))
		kipsec_policy_put(pol);
}

/* as xfrm_policy_timer(): delete at a hard limit, warn at a soft one */
static void pol_lft_process(struct net *net, struct kipsec_policy *pol)
{
	const struct kipsec_lft_cfg *c = &pol->lft;
	time64_t now = ktime_get_real_seconds();
	time64_t use = READ_ONCE(pol->use_time) ?: pol->add_time;
	time64_t next = S64_MAX;
	bool warn;

	if (time_reached(c->hard_add, pol->add_time, now, &next) ||
	    time_reached(c->hard_use, use, now, &next)) {
		kipsec_policy_expire(kipsec_pernet(net), pol);
		return;
	}
	warn = time_reached(c->soft_add, pol->add_time, now, &next);
	warn |= time_reached(c->soft_use, use, now, &next);
	if (warn) {
		kipsec_event_policy(net, pol, KIPSEC_EV_POLICY_SOFT_EXPIRE);
		next = min_t(time64_t, next, POL_SOFT_REPEAT);
	}
	if (next != S64_MAX)
		pol_lft_arm(pol, next);
}

/**
 * kipsec_pol_lft_work - a policy's timer
 * @work: kipsec_policy.timer
 *
 * Holds the pending timer's reference to the policy, dropped at the end.
 */
void kipsec_pol_lft_work(struct work_struct *work)
{
	struct kipsec_policy *pol = container_of(to_delayed_work(work),
						 struct kipsec_policy, timer);
	struct net *net = read_pnet(&pol->net);
	struct kipsec_net *kn;

	/* as lft_work(): a dead policy's netns may be gone */
	if (READ_ONCE(pol->dead))
		goto out;
	kn = kipsec_pernet(net);
	mutex_lock(&kn->lock);
	if (!pol->dead)
		pol_lft_process(net, pol);
	mutex_unlock(&kn->lock);
out:
	kipsec_policy_put(pol);
}
