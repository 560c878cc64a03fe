// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: per-CPU counters, per SA and per netns.
 */
#include <linux/u64_stats_sync.h>
#include "kipsec.h"

void kipsec_stats_add(struct kipsec_stats __percpu *stats, enum kipsec_stat s,
		      u64 v)
{
	struct kipsec_stats *st;
	unsigned long flags;

	/* any context: IRQs off pins the CPU for the update */
	local_irq_save(flags);
	st = this_cpu_ptr(stats);
	u64_stats_update_begin(&st->syncp);
	st->cnt[s] += v;
	u64_stats_update_end(&st->syncp);
	local_irq_restore(flags);
}

void kipsec_stats_inc(struct kipsec_stats __percpu *stats, enum kipsec_stat s)
{
	kipsec_stats_add(stats, s, 1);
}

void kipsec_stats_sum(struct kipsec_stats __percpu *stats,
		      u64 out[__KIPSEC_STAT_MAX])
{
	int cpu, i;

	memset(out, 0, sizeof(u64) * __KIPSEC_STAT_MAX);
	for_each_possible_cpu(cpu) {
		const struct kipsec_stats *st = per_cpu_ptr(stats, cpu);
		u64 v[__KIPSEC_STAT_MAX];
		unsigned int start;

		do {
			start = u64_stats_fetch_begin(&st->syncp);
			memcpy(v, st->cnt, sizeof(v));
		} while (u64_stats_fetch_retry(&st->syncp, start));
		for (i = 0; i < __KIPSEC_STAT_MAX; i++)
			out[i] += v[i];
	}
}

void kipsec_drop(struct net *net, struct kipsec_sa *sa, enum kipsec_stat s)
{
	kipsec_stats_inc(kipsec_pernet(net)->stats, s);
	if (sa)
		kipsec_stats_inc(kipsec_sa_current(sa)->stats, s);
}
