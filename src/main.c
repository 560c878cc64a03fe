// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: module init and exit, per network namespace state.
 */
#include <linux/module.h>
#include <linux/sysctl.h>
#include <linux/wait_bit.h>
#include <net/net_namespace.h>
#include <net/genetlink.h>
#include <net/netns/generic.h>
#include "kipsec.h"

unsigned int kipsec_net_id __read_mostly;

/*
 * Default size limits of the SAD and SPD of a netns: ten times the
 * 100,000 SAs a side that the benchmark installs.  They bound what root
 * of a user namespace can pin in kernel memory besides its memory cgroup
 * (SAs and policies are charged to it, crypto transforms and hash table
 * buckets are not).
 */
#define KIPSEC_SA_MAX_DEFAULT		1000000
#define KIPSEC_POLICY_MAX_DEFAULT	1000000
/* seconds an acquire or a larval SA lives: xfrm's xfrm_acq_expires */
#define KIPSEC_ACQ_EXPIRES_DEFAULT	30

/* a day: jiffies of a delayed work stay far from overflowing */
static unsigned int kipsec_acq_expires_max = 86400;

static const struct ctl_table kipsec_sysctl_template[] = {
	{
		.procname	= "sa_max",
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= proc_douintvec_minmax,
	},
	{
		.procname	= "policy_max",
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= proc_douintvec_minmax,
	},
	{
		.procname	= "acq_expires",
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= proc_douintvec_minmax,
		.extra1		= SYSCTL_ONE,
		.extra2		= &kipsec_acq_expires_max,
	},
	{ }
};

/*
 * net/kipsec/{sa_max,policy_max}: a new netns starts with init_net's
 * values; acq_expires starts at 30 s in every netns, as xfrm's.  In a
 * netns owned by another user namespace, whose root may write them, the
 * two limits cannot go above init_net's current values: they would bound
 * nothing otherwise.
 */
static int kipsec_sysctl_init_net(struct net *net, struct kipsec_net *kn)
{
	struct kipsec_net *init_kn = kipsec_pernet(&init_net);
	struct ctl_table *t;

	if (net_eq(net, &init_net)) {
		kn->sa_max = KIPSEC_SA_MAX_DEFAULT;
		kn->policy_max = KIPSEC_POLICY_MAX_DEFAULT;
	} else {
		kn->sa_max = READ_ONCE(init_kn->sa_max);
		kn->policy_max = READ_ONCE(init_kn->policy_max);
	}
	t = kmemdup(kipsec_sysctl_template, sizeof(kipsec_sysctl_template),
		    GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	kn->acq_expires = KIPSEC_ACQ_EXPIRES_DEFAULT;
	t[0].data = &kn->sa_max;
	t[1].data = &kn->policy_max;
	t[2].data = &kn->acq_expires;
	if (net->user_ns != &init_user_ns) {
		t[0].extra2 = &init_kn->sa_max;
		t[1].extra2 = &init_kn->policy_max;
	}
	kn->sysctl_hdr = register_net_sysctl(net, "net/kipsec", t);
	if (!kn->sysctl_hdr) {
		kfree(t);
		return -ENOMEM;
	}
	return 0;
}

static void kipsec_sysctl_exit_net(struct kipsec_net *kn)
{
	struct ctl_table *t = kn->sysctl_hdr->ctl_table_arg;

	unregister_net_sysctl_table(kn->sysctl_hdr);
	kfree(t);
}

static int __net_init kipsec_net_init(struct net *net)
{
	struct kipsec_net *kn = kipsec_pernet(net);
	int i, err;

	write_pnet(&kn->net, net);
	mutex_init(&kn->lock);
	INIT_LIST_HEAD(&kn->sa_list);
	for (i = 0; i <= KIPSEC_DIR_MAX; i++)
		INIT_LIST_HEAD(&kn->policies[i]);
	atomic_set(&kn->genid, 0);
	atomic_set(&kn->inflight, 0);
	kn->policy_next_index = 1;
	kipsec_acq_init_net(kn);

	kn->stats = netdev_alloc_pcpu_stats(struct kipsec_stats);
	if (!kn->stats)
		return -ENOMEM;

	err = kipsec_state_init_net(kn);
	if (err)
		goto err_stats;
	err = kipsec_policy_init_net(kn);
	if (err)
		goto err_state;
	err = kipsec_sysctl_init_net(net, kn);
	if (err)
		goto err_policy;
	err = kipsec_hooks_register_net(net);
	if (err)
		goto err_sysctl;
	return 0;

err_sysctl:
	kipsec_sysctl_exit_net(kn);
err_policy:
	kipsec_policy_exit_net(kn);
err_state:
	kipsec_state_exit_net(kn);
err_stats:
	free_percpu(kn->stats);
	return err;
}

/**
 * kipsec_inflight_get - a packet enters a transform that may finish later
 * @net: its netns
 *
 * Any context.  Takes a reference on @net, and counts the packet in the
 * netns, until kipsec_inflight_put().
 *
 * Return: false when the netns is being dismantled (its last reference is
 * gone): the caller drops the packet.
 */
bool kipsec_inflight_get(struct net *net)
{
	if (!maybe_get_net(net))
		return false;
	atomic_inc(&kipsec_pernet(net)->inflight);
	return true;
}

/**
 * kipsec_inflight_put - the packet of kipsec_inflight_get() is done
 * @net: its netns
 *
 * Any context (put_net() of the last reference defers the dismantling to
 * a workqueue).  Called last, after every use of the netns' kipsec state:
 * the wakeup and the rest of this function run inside an RCU read-side
 * section that kipsec_inflight_wait() waits for.
 */
void kipsec_inflight_put(struct net *net)
{
	struct kipsec_net *kn = kipsec_pernet(net);

	rcu_read_lock();
	if (atomic_dec_and_test(&kn->inflight))
		wake_up_var(&kn->inflight);
	put_net(net);
	rcu_read_unlock();
}

/*
 * Wait until no packet of the netns is in a transform.  Only module
 * unload can find one: a packet in flight holds a reference on its netns
 * (kipsec_inflight_get()), so the exit method of a netns that is being
 * deleted runs only once every packet is done.  Unloading runs the exit
 * method for live netns, with packets possibly in cryptd, pcrypt or
 * kipsec's workqueues; the hooks are gone, so no new packet comes.
 * Then a grace period: the last put is still executing module code.
 */
static void kipsec_inflight_wait(struct kipsec_net *kn)
{
	wait_var_event(&kn->inflight, !atomic_read(&kn->inflight));
	synchronize_rcu();
}

static void __net_exit kipsec_net_exit(struct net *net)
{
	struct kipsec_net *kn = kipsec_pernet(net);

	kipsec_hooks_unregister_net(net);
	kipsec_sysctl_exit_net(kn);
	kipsec_inflight_wait(kn);
	kipsec_acq_exit_net(kn);
	kipsec_policy_exit_net(kn);
	kipsec_state_exit_net(kn);
	/* packets in flight hold SA references; wait for RCU callbacks */
	rcu_barrier();
	free_percpu(kn->stats);
}

static struct pernet_operations kipsec_net_ops = {
	.init = kipsec_net_init,
	.exit = kipsec_net_exit,
	.id   = &kipsec_net_id,
	.size = sizeof(struct kipsec_net),
};

static int __init kipsec_init(void)
{
	int err;

	err = kipsec_replay_selftest();	/* only with selftest=1 */
	if (err)
		return err;
	err = kipsec_lifetime_init();
	if (err)
		return err;
	err = kipsec_state_init();
	if (err)
		goto err_lft;
	err = kipsec_hooks_init();
	if (err)
		goto err_state;
	err = register_pernet_subsys(&kipsec_net_ops);
	if (err)
		goto err_hooks;
	err = kipsec_xfrm_nl_init();
	if (err)
		goto err_pernet;
	err = kipsec_netlink_init();
	if (err)
		goto err_xfrm_nl;
	kipsec_km_init();
	kipsec_espintcp_init();
	pr_info("kipsec " KIPSEC_VERSION " loaded\n");
	return 0;

err_xfrm_nl:
	kipsec_xfrm_nl_exit();
err_pernet:
	unregister_pernet_subsys(&kipsec_net_ops);
err_hooks:
	kipsec_hooks_exit();
err_state:
	kipsec_state_exit();
err_lft:
	kipsec_lifetime_exit();
	return err;
}

/*
 * Every netns has gone and every deferred free has run: an SA or policy
 * still allocated was leaked.  Say so loudly, since a leak of one object
 * is too small for any memory statistic to show.
 */
static void kipsec_objects_check(void)
{
	int sas = kipsec_sa_objects_alive();
	int pols = kipsec_policy_objects_alive();

	WARN(sas || pols, "kipsec: %d SAs and %d policies leaked\n",
	     sas, pols);
}

static void __exit kipsec_exit(void)
{
	kipsec_espintcp_exit();
	kipsec_km_exit();
	kipsec_netlink_exit();
	kipsec_xfrm_nl_exit();
	unregister_pernet_subsys(&kipsec_net_ops);
	kipsec_hooks_exit();
	rcu_barrier();
	kipsec_lifetime_exit();
	rcu_barrier();	/* a timer's last policy reference frees by RCU */
	kipsec_state_exit();
	kipsec_objects_check();
}

module_init(kipsec_init);
module_exit(kipsec_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kipsec: an IPsec (ESP/AH) datapath beside xfrm");
MODULE_VERSION(KIPSEC_VERSION);
MODULE_ALIAS_GENL_FAMILY(KIPSEC_GENL_NAME);
