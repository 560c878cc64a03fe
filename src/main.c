// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: module init and exit, per network namespace state.
 */
#include <linux/module.h>
#include <net/genetlink.h>
#include <net/netns/generic.h>
#include "kipsec.h"

unsigned int kipsec_net_id __read_mostly;

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
	kn->policy_next_index = 1;

	kn->stats = netdev_alloc_pcpu_stats(struct kipsec_stats);
	if (!kn->stats)
		return -ENOMEM;

	err = kipsec_state_init_net(kn);
	if (err)
		goto err_stats;
	err = kipsec_policy_init_net(kn);
	if (err)
		goto err_state;
	err = kipsec_hooks_register_net(net);
	if (err)
		goto err_policy;
	return 0;

err_policy:
	kipsec_policy_exit_net(kn);
err_state:
	kipsec_state_exit_net(kn);
err_stats:
	free_percpu(kn->stats);
	return err;
}

static void __net_exit kipsec_net_exit(struct net *net)
{
	struct kipsec_net *kn = kipsec_pernet(net);

	kipsec_hooks_unregister_net(net);
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
	err = kipsec_hooks_init();
	if (err)
		return err;
	err = register_pernet_subsys(&kipsec_net_ops);
	if (err)
		goto err_hooks;
	err = kipsec_netlink_init();
	if (err)
		goto err_pernet;
	pr_info("kipsec " KIPSEC_VERSION " loaded\n");
	return 0;

err_pernet:
	unregister_pernet_subsys(&kipsec_net_ops);
err_hooks:
	kipsec_hooks_exit();
	return err;
}

static void __exit kipsec_exit(void)
{
	kipsec_netlink_exit();
	unregister_pernet_subsys(&kipsec_net_ops);
	kipsec_hooks_exit();
	rcu_barrier();
}

module_init(kipsec_init);
module_exit(kipsec_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kipsec: an IPsec (ESP/AH) datapath beside xfrm");
MODULE_VERSION(KIPSEC_VERSION);
MODULE_ALIAS_GENL_FAMILY(KIPSEC_GENL_NAME);
