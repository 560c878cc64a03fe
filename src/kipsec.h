/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kipsec internal interfaces: the contract between the control plane
 * (netlink.c, state.c, policy.c) and the datapath (hooks.c, esp.c,
 * replay.c, crypto.c), and the per-netns state they share.
 *
 * Locking, in one place:
 * - Configuration writers (netlink) serialise on kipsec_net.lock (a mutex).
 * - Readers on the packet path take no lock: the SAD and the SPD are read
 *   under rcu_read_lock(); objects are freed after a grace period.
 * - An SA's sequence state (output counter, replay window) is protected by
 *   kipsec_sa.lock, a spinlock taken with BH disabled, held only for the
 *   few instructions of a check or an update, never across crypto.
 * - Counters are per CPU and need no lock.
 */
#ifndef _KIPSEC_H
#define _KIPSEC_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/rhashtable-types.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>
#include <linux/timekeeping.h>
#include <linux/xfrm.h>		/* xfrm_address_t, struct xfrm_selector */
#include <net/dst_cache.h>
#include <linux/u64_stats_sync.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <uapi/linux/kipsec.h>

#define KIPSEC_VERSION "0.1.0"

struct crypto_aead;

#define KIPSEC_ALG_DIGEST_SIZE	32	/* SHA-256 */
struct crypto_ahash;
struct kipsec_esp_order;

/**
 * struct kipsec_stats - a table of counters, one slot per enum kipsec_stat
 * @cnt: the counters
 * @syncp: makes 64-bit reads consistent on 32-bit hosts
 *
 * Always allocated per CPU; a writer updates only its own CPU's copy with
 * BH disabled.
 */
struct kipsec_stats {
	u64 cnt[__KIPSEC_STAT_MAX];
	struct u64_stats_sync syncp;
};

/**
 * struct kipsec_replay - inbound anti-replay state (RFC 4303 3.4.3, App. A)
 * @top: highest sequence number authenticated so far (64-bit, ESN or not)
 * @size: window size in packets, 0 disables the check
 * @bitmap: bit (seq % (words * 64)) set when seq was received; ring buffer
 *          of @words 64-bit words, allocated with the SA
 * @words: number of words in @bitmap, a power of two
 *
 * Protected by kipsec_sa.lock.
 */
struct kipsec_replay {
	u64 top;
	u32 size;
	u32 words;
	unsigned long *bitmap;
};

/**
 * struct kipsec_lft_cfg - lifetime limits of an SA (xfrm_lifetime_cfg)
 * @soft_bytes: bytes (in and out) before a soft expiry, 0 for none
 * @hard_bytes: bytes before a hard expiry, 0 for none
 * @soft_packets: packets before a soft expiry, 0 for none
 * @hard_packets: packets before a hard expiry, 0 for none
 * @soft_add: seconds from creation to a soft expiry, 0 for none
 * @hard_add: seconds from creation to a hard expiry, 0 for none
 * @soft_use: seconds from the first packet to a soft expiry, 0 for none
 * @hard_use: seconds from the first packet to a hard expiry, 0 for none
 *
 * Set before the SA is published and then constant.
 */
struct kipsec_lft_cfg {
	u64 soft_bytes;
	u64 hard_bytes;
	u64 soft_packets;
	u64 hard_packets;
	u64 soft_add;
	u64 hard_add;
	u64 soft_use;
	u64 hard_use;
};

struct kipsec_lft_pcpu;

/**
 * struct kipsec_lifetime - an SA's limits, usage and expiry timer
 * @cfg: the limits
 * @pcpu: per-CPU byte and packet counts and the budget each CPU may
 *        count before it sums all CPUs again (lifetime.c)
 * @base_bytes: bytes inherited from the SA this one replaced (update)
 * @base_packets: packets inherited likewise
 * @add_time: creation, seconds since the epoch (real time, as xfrm)
 * @use_time: first packet, seconds since the epoch, 0 before; set once
 *            from the packet path with cmpxchg
 * @flags: KIPSEC_LFT_* bits, set with test_and_set_bit() so that each
 *         expiry happens once
 * @work: evaluates the time limits, sends the expiry events and deletes
 *        a hard-expired SA, in process context under kipsec_net.lock.
 *        Pending, it holds a reference to the SA
 * @net: the SA's netns, set when the SA enters the SAD
 */
struct kipsec_lifetime {
	struct kipsec_lft_cfg cfg;
	struct kipsec_lft_pcpu __percpu *pcpu;
	u64 base_bytes;
	u64 base_packets;
	time64_t add_time;
	atomic64_t use_time;
	unsigned long flags;
	struct delayed_work work;
	possible_net_t net;
};

/**
 * struct kipsec_sa_key - the lookup key of an SA in the SAD
 * @daddr: destination address (outer)
 * @spi: SPI, network order
 * @proto: IPPROTO_ESP or IPPROTO_AH
 * @family: AF_INET or AF_INET6
 */
struct kipsec_sa_key {
	xfrm_address_t daddr;
	__be32 spi;
	u8 proto;
	u8 pad;
	u16 family;
};

/**
 * struct kipsec_sa_encap - UDP encapsulation of an ESP SA (RFC 3948)
 * @type: 0 for none, else KIPSEC_ENCAP_ESPINUDP
 * @sport: UDP source port of the SA's packets (network order)
 * @dport: UDP destination port of the SA's packets (network order); for
 *         an inbound SA the local port its packets arrive at
 * @oaddr: the original address on the other side of the NAT, kept and
 *         reported (xfrm's encap_oa), not used by the datapath
 *
 * Set before the SA is published and then constant.
 */
struct kipsec_sa_encap {
	u16 type;
	__be16 sport;
	__be16 dport;
	xfrm_address_t oaddr;
};

/**
 * struct kipsec_sa - a Security Association
 * @node: in kipsec_net.sa_ht, keyed by @key
 * @list: in kipsec_net.sa_list (dump, flush, outbound search), under
 *        kipsec_net.lock for writers and RCU for readers
 * @rcu: frees the SA after readers are gone
 * @refcnt: held by the SAD and by every packet in flight
 * @key: (daddr, spi, proto, family)
 * @saddr: source address (outer)
 * @reqid: request id matching a policy template
 * @mode: enum kipsec_mode
 * @flags: enum kipsec_sa_flags
 * @xflags: enum kipsec_sa_xflags
 * @sel: selector the inner traffic must match (family 0: none)
 * @aead: ESP: the transform, allocated at SA creation; keyed once.  An
 *        AEAD as given, or authenc/authencesn(@auth_name,@enc_name) for
 *        ESP with separate cipher and integrity (NULL for AH)
 * @ahash: AH: the keyed integrity transform (NULL for ESP)
 * @alg_name: crypto API name of the AEAD as given ("" when enc/auth)
 * @enc_name: ESP cipher as given ("" for an AEAD or for AH)
 * @auth_name: integrity algorithm as given ("" for an AEAD)
 * @key_bits: AEAD key length reported to user space instead of the key
 * @enc_key_bits: cipher key length reported instead of the key
 * @auth_key_bits: integrity key length reported instead of the key
 * @iv_random: ESP output: the IV is random per packet (CBC ciphers);
 *             otherwise it is the 64-bit sequence number XOR @iv_salt
 * @iv_salt: random, drawn when the SA is created; makes the IV of a
 *           counter-mode SA differ from that of an earlier SA with the
 *           same key and sequence numbers (seqiv's salt)
 * @alg_digest: SHA-256 of the algorithms, keys and ICV lengths, so that
 *              an update can tell whether they change without keeping
 *              the key (compared with crypto_memneq())
 * @icv_len: ICV length in bytes (truncated length for enc/auth and AH)
 * @iv_len: IV length carried in each packet in bytes
 * @block_size: cipher block size for padding (4 for stream/AEAD)
 * @lock: protects @oseq and @replay; a replaced SA hands them over to
 *        its successor under it (kipsec_sa_replace())
 * @oseq: last outbound sequence number used
 * @replay: inbound anti-replay state
 * @dead: set when the SA leaves the SAD.  Set under @lock, after
 *        @successor, when the SA is replaced: the datapath then takes no
 *        sequence number from, and moves no window of, this SA but its
 *        successor's (kipsec_sa_current()).  Packets whose transform
 *        started before the SA was deleted still finish, as in xfrm
 * @successor: the SA that replaced this one (state update), with a
 *             reference held until this one is freed, or NULL; set once,
 *             under @lock, before @dead
 * @xform_from: the deleted SA whose keyed transform (@aead or @ahash)
 *              this one uses, with a reference, or NULL when the
 *              transform is its own (kipsec_crypto_share_sa()); constant
 * @dst_cache: cached outer route for tunnel mode
 * @stats: per-CPU counters of this SA
 * @out_node: in kipsec_net.sa_out_ht, keyed by (family, daddr, proto), for
 *            kipsec_sa_find_out()
 * @free_work: frees the SA in process context after a grace period
 * @esp_order: esp.c's reorder ring for parallel crypto, allocated on the
 *             first packet (cmpxchg), freed with the SA
 * @lft: lifetime limits, usage and timer (lifetime.c)
 * @larval: set before the SA is published and then constant: a larval
 *          SA (state allocspi) reserves its SPI and has no transform.
 *          Its state, kipsec_sa_state(), goes larval -> dead (expiry
 *          after net.kipsec.acq_expires, delete, or replacement by the
 *          mature SA of a state update); a mature SA goes mature -> dead.
 *          The datapath never uses a larval SA: kipsec_sa_find_out()
 *          skips it and the input hook drops its packets
 *          (KIPSEC_STAT_IN_STATE_INVALID)
 * @acq_seq: the acquire sequence number the SA answers (state allocspi
 *           seq, state add seq), 0 for none; constant
 * @encap: NAT-T: the UDP encapsulation of the SA's packets, type 0 for
 *         none; constant
 * @tfcpad: ESP tunnel, outbound: TFC padding (RFC 4303 2.7), the length
 *          every payload is padded to, capped at the path's payload MTU
 *          as xfrm's esp_output() does; 0 for none; constant
 * @mapping_time: NAT-T, inbound: jiffies (low bit set) of the last
 *                mapping event, 0 for none; claimed with cmpxchg() by
 *                the packet that sends the next one
 *                (kipsec_encap_mapping())
 */
struct kipsec_sa {
	struct rhash_head node;
	struct list_head list;
	struct rcu_head rcu;
	refcount_t refcnt;
	struct kipsec_sa_key key;
	xfrm_address_t saddr;
	u32 reqid;
	u8 mode;
	u32 flags;
	u32 xflags;
	struct xfrm_selector sel;
	struct crypto_aead *aead;
	struct crypto_ahash *ahash;
	char alg_name[64];
	char enc_name[64];
	char auth_name[64];
	u32 key_bits;
	u32 enc_key_bits;
	u32 auth_key_bits;
	bool iv_random;
	u64 iv_salt;
	u8 alg_digest[KIPSEC_ALG_DIGEST_SIZE];
	u8 icv_len;
	u8 iv_len;
	u8 block_size;
	spinlock_t lock;	/* protects oseq and replay, BH disabled */
	u64 oseq;
	struct kipsec_replay replay;
	bool dead;
	struct kipsec_sa *successor;
	struct kipsec_sa *xform_from;
	struct dst_cache dst_cache;
	struct kipsec_stats __percpu *stats;
	struct rhlist_head out_node;
	struct rcu_work free_work;
	struct kipsec_esp_order *esp_order;
	struct kipsec_lifetime lft;
	bool larval;
	u32 acq_seq;
	struct kipsec_sa_encap encap;
	u32 tfcpad;
	unsigned long mapping_time;
};

/**
 * kipsec_sa_current - the SA that carries on for @sa
 * @sa: an SA the caller holds (a packet in flight, say)
 *
 * @sa itself, or, when `state update` replaced it, its latest successor:
 * the SA whose sequence numbers, window and counters now hold the state
 * @sa had.  Each SA holds a reference to its successor, so the chain
 * lives as long as @sa.
 *
 * Return: the SA to count and sequence on; no reference is taken.
 */
static inline struct kipsec_sa *kipsec_sa_current(struct kipsec_sa *sa)
{
	struct kipsec_sa *next;

	/* pairs with kipsec_sa_replace(): a dead SA's successor is set */
	while (smp_load_acquire(&sa->dead) &&
	       (next = READ_ONCE(sa->successor)))
		sa = next;
	return sa;
}

/**
 * kipsec_sa_state - where an SA is in its life
 * @sa: the SA
 *
 * Return: KIPSEC_SA_STATE_DEAD once it left the SAD, else larval or mature.
 */
static inline enum kipsec_sa_state kipsec_sa_state(const struct kipsec_sa *sa)
{
	if (READ_ONCE(sa->dead))
		return KIPSEC_SA_STATE_DEAD;
	return sa->larval ? KIPSEC_SA_STATE_LARVAL : KIPSEC_SA_STATE_MATURE;
}

/**
 * struct kipsec_tmpl - a policy template (what PROTECT applies)
 * @family: family of @saddr/@daddr (tunnel endpoints), 0 when absent
 * @saddr: tunnel source, all-zero for any
 * @daddr: tunnel destination, all-zero for any
 * @proto: IPPROTO_ESP or IPPROTO_AH
 * @spi: 0 for any
 * @reqid: 0 for any
 * @mode: enum kipsec_mode
 * @level: enum kipsec_level
 */
struct kipsec_tmpl {
	u16 family;
	xfrm_address_t saddr;
	xfrm_address_t daddr;
	u8 proto;
	__be32 spi;
	u32 reqid;
	u8 mode;
	u8 level;
};

/**
 * struct kipsec_pol_key - the hash key of a policy in kipsec_net.pol_ht
 * @saddr: selector source address, masked to @plen_s
 * @daddr: selector destination address, masked to @plen_d
 * @family: selector family
 * @dir: direction
 * @plen_s: source prefix length
 * @plen_d: destination prefix length
 * @pad: zero
 *
 * A lookup builds one key per (family, plen_s, plen_d) shape in use, from
 * the packet's addresses masked to those lengths (policy.c).
 */
struct kipsec_pol_key {
	xfrm_address_t saddr;
	xfrm_address_t daddr;
	u16 family;
	u8 dir;
	u8 plen_s;
	u8 plen_d;
	u8 pad[3];
};

/**
 * struct kipsec_policy - an SPD entry
 * @list: in kipsec_net.policies[@dir], sorted by @priority then age;
 *        writers under kipsec_net.lock, readers under RCU
 * @rcu: frees the policy after readers are gone
 * @sel: traffic selector
 * @dir: enum kipsec_dir
 * @priority: lowest value wins
 * @action: enum kipsec_action
 * @index: unique id assigned at creation
 * @flags: enum kipsec_pol_flags; set before insertion, then constant
 * @has_tmpl: true when @tmpl is set (PROTECT)
 * @tmpl: the template
 * @sa_cache: outbound SA last found for @tmpl, RCU-protected, may be NULL.
 *            A non-NULL value owns one reference to the SA.  Anyone
 *            changing it (the datapath, and the control plane when an SA
 *            dies) does so only with cmpxchg()/xchg() and drops the
 *            reference of the SA it displaced; readers rcu_dereference()
 *            it, take their own reference with refcount_inc_not_zero()
 *            and must check sa->dead.  The control plane drops the cached
 *            reference of a deleted policy after its grace period.
 * @stats: per-CPU counters (packets matched, drops)
 * @sa_genid: kipsec_net.genid when @sa_cache was filled; the cache is
 *            only used while they are equal (a newer SA takes over)
 * @hnode: in kipsec_net.pol_ht, keyed by @hkey
 * @hkey: the selector's masked addresses, prefix lengths and direction
 * @seq: insertion order; among equal priorities the oldest wins
 * @refcnt: held by the SPD and by @timer while pending or running; the
 *          last put frees the policy after a grace period
 * @dead: set under kipsec_net.lock when the policy leaves the SPD
 * @lft: lifetime limits; set before insertion, then constant.  Only the
 *       time limits are enforced (as xfrm_policy_timer())
 * @add_time: insertion, seconds since the epoch (real time, as xfrm)
 * @use_time: last packet that matched, 0 before; written by the packet
 *            path with WRITE_ONCE(), read with READ_ONCE()
 * @timer: evaluates the time limits (one per policy, as xfrm's), in
 *         process context under kipsec_net.lock; armed only when the
 *         policy has a time limit
 * @net: the policy's netns, set at insertion
 */
struct kipsec_policy {
	struct list_head list;
	struct rcu_head rcu;
	struct xfrm_selector sel;
	u8 dir;
	u32 priority;
	u8 action;
	u32 index;
	u32 flags;
	bool has_tmpl;
	struct kipsec_tmpl tmpl;
	struct kipsec_sa __rcu *sa_cache;
	struct kipsec_stats __percpu *stats;
	int sa_genid;
	struct rhlist_head hnode;
	struct kipsec_pol_key hkey;
	u64 seq;
	refcount_t refcnt;
	bool dead;
	struct kipsec_lft_cfg lft;
	time64_t add_time;
	time64_t use_time;
	struct delayed_work timer;
	possible_net_t net;
};

/* acquires in progress: hash buckets and the most a netns may hold */
#define KIPSEC_ACQ_HSIZE	64
#define KIPSEC_ACQ_MAX		1024

/**
 * struct kipsec_net - per network namespace state
 * @lock: serialises configuration changes
 * @sa_ht: the SAD, keyed by struct kipsec_sa_key
 * @sa_list: every SA, for dumps, flush and outbound template search
 * @sa_count: number of SAs
 * @policies: the SPD, one list per direction
 * @policy_count: number of policies
 * @policy_next_index: next policy index to hand out
 * @genid: bumped on every SAD change; invalidates policy SA caches
 * @active: true while the netns has any SA or policy; the hooks return
 *          at once when false
 * @stats: per-CPU global counters (like /proc/net/xfrm_stat)
 * @sa_out_ht: every SA again, keyed by (family, daddr, proto): the
 *             outbound search of kipsec_sa_find_out()
 * @pol_ht: every policy again, keyed by struct kipsec_pol_key: the
 *          packet lookup of kipsec_policy_lookup()
 * @pol_shapes: per direction, the (family, prefix lengths) pairs in use
 *              (policy.c), RCU list
 * @policy_seq: insertion counter of policies
 * @sa_max: most SAs the SAD may hold (sysctl net.kipsec.sa_max); read
 *          under @lock by SA_NEW, written by the sysctl without it
 * @policy_max: most policies the SPD may hold (net.kipsec.policy_max),
 *              as @sa_max
 * @sysctl_hdr: the netns' net/kipsec sysctl table
 * @inflight: packets between kipsec_inflight_get() and kipsec_inflight_put()
 *            (in a transform that may complete later); atomic, no lock
 * @net: the netns this state belongs to
 * @acq_expires: seconds an acquire, or a larval SA of state allocspi,
 *               lives (sysctl net.kipsec.acq_expires, xfrm's
 *               xfrm_acq_expires); read with READ_ONCE
 * @acq_lock: protects @acq_hash and @acq_count; taken with BH disabled
 *            (the output hook creates acquires in softirq context).
 *            Nests inside @lock, never the other way round
 * @acq_hash: the acquires in progress (struct kipsec_acq), hashed by
 *            destination; writers under @acq_lock, readers under RCU
 * @acq_count: number of entries in @acq_hash, at most KIPSEC_ACQ_MAX
 * @acq_work: deletes expired acquires (acquire.c)
 * @xfrm_nlsk: the netns' NETLINK_XFRM kernel socket when the module
 *             parameter xfrm_netlink is set (xfrm_nl.c), else NULL;
 *             RCU, cleared before the socket is released
 * @xfrm_nlsk_stash: the same socket, kept for its release
 */
/* deleted SAs kept for a re-add from a GETSA reply, and for how long */
#define KIPSEC_KEPT_MAX		8
#define KIPSEC_KEPT_SECS	30

/**
 * struct kipsec_sa_kept - a deleted SA whose keyed transform a re-add may use
 * @sa: the SA, out of the SAD, with a reference; NULL for a free slot
 * @portid: the XFRM netlink socket that deleted it
 * @until: jiffies after which it is let go
 *
 * An IKE daemon moves an SA to new addresses by reading it (GETSA),
 * deleting it and adding it again from what it read; keys are never
 * returned, so the re-add names the deleted SA instead (zero-filled
 * keys, same SPI and protocol, same socket).  In kipsec_net.kept, under
 * kipsec_net.lock.
 */
struct kipsec_sa_kept {
	struct kipsec_sa *sa;
	u32 portid;
	unsigned long until;
};

struct kipsec_net {
	struct mutex lock;	/* serialises configuration writers */
	struct rhashtable sa_ht;
	struct list_head sa_list;
	u32 sa_count;
	struct list_head policies[KIPSEC_DIR_MAX + 1];
	u32 policy_count;
	u32 policy_next_index;
	atomic_t genid;
	bool active;
	struct kipsec_stats __percpu *stats;
	struct rhltable sa_out_ht;
	struct rhltable pol_ht;
	struct list_head pol_shapes[KIPSEC_DIR_MAX + 1];
	u64 policy_seq;
	unsigned int sa_max;
	unsigned int policy_max;
	struct ctl_table_header *sysctl_hdr;
	atomic_t inflight;
	possible_net_t net;
	unsigned int acq_expires;
	spinlock_t acq_lock;	/* acq_hash, acq_count; BH disabled */
	struct hlist_head acq_hash[KIPSEC_ACQ_HSIZE];
	unsigned int acq_count;
	struct delayed_work acq_work;
	struct sock __rcu *xfrm_nlsk;
	struct sock *xfrm_nlsk_stash;
	struct kipsec_sa_kept kept[KIPSEC_KEPT_MAX];
};

extern unsigned int kipsec_net_id;

/* main.c: packets in flight in a transform (see kipsec_net_exit()) */
bool kipsec_inflight_get(struct net *net);
void kipsec_inflight_put(struct net *net);

static inline struct kipsec_net *kipsec_pernet(const struct net *net)
{
	return net_generic(net, kipsec_net_id);
}

/**
 * struct kipsec_flow - the fields of a packet the SPD matches on
 * @family: AF_INET or AF_INET6
 * @saddr: source address
 * @daddr: destination address
 * @proto: transport protocol (after IPv6 extension headers)
 * @sport: source port, or ICMP type, network order
 * @dport: destination port, or ICMP code, network order
 */
struct kipsec_flow {
	u16 family;
	xfrm_address_t saddr;
	xfrm_address_t daddr;
	u8 proto;
	__be16 sport;
	__be16 dport;
};

/* stats.c */
void kipsec_stats_inc(struct kipsec_stats __percpu *stats, enum kipsec_stat s);
void kipsec_stats_add(struct kipsec_stats __percpu *stats, enum kipsec_stat s,
		      u64 v);
void kipsec_stats_sum(struct kipsec_stats __percpu *stats,
		      u64 out[__KIPSEC_STAT_MAX]);
/* count a drop in the netns table and, when @sa is not NULL, in the SA */
void kipsec_drop(struct net *net, struct kipsec_sa *sa, enum kipsec_stat s);

/* state.c: the SAD */
int kipsec_state_init(void);
void kipsec_state_exit(void);
int kipsec_state_init_net(struct kipsec_net *kn);
void kipsec_state_exit_net(struct kipsec_net *kn);
struct kipsec_sa *kipsec_sa_lookup(struct net *net, u16 family,
				   const xfrm_address_t *daddr, __be32 spi,
				   u8 proto);	/* RCU; takes a reference */
struct kipsec_sa *kipsec_sa_find_out(struct net *net,
				     const struct kipsec_tmpl *tmpl,
				     const struct kipsec_flow *fl);
						/* RCU; takes a reference */
void kipsec_sa_put(struct kipsec_sa *sa);
static inline void kipsec_sa_hold(struct kipsec_sa *sa)
{
	refcount_inc(&sa->refcnt);
}

/* state.c, control plane side: all under kipsec_net.lock except _alloc */
struct kipsec_sa *kipsec_sa_alloc(void);	/* refcnt 1, stats, dst_cache */
void kipsec_sa_key_init(struct kipsec_sa_key *key, u16 family,
			const xfrm_address_t *daddr, __be32 spi, u8 proto);
struct kipsec_sa *kipsec_sa_find_locked(struct kipsec_net *kn,
					const struct kipsec_sa_key *key);
int kipsec_sa_insert(struct kipsec_net *kn, struct kipsec_sa *sa);
/* what an update sets explicitly instead of carrying it over */
#define KIPSEC_SA_SET_SEQ	BIT(0)
#define KIPSEC_SA_SET_OSEQ	BIT(1)
int kipsec_sa_replace(struct kipsec_net *kn, struct kipsec_sa *old,
		      struct kipsec_sa *sa, unsigned int set);
void kipsec_sa_unlink(struct kipsec_net *kn, struct kipsec_sa *sa);
/* the one commit path of every configuration API; takes kipsec_net.lock */
int kipsec_sa_add(struct kipsec_net *kn, struct kipsec_sa *sa, bool update,
		  unsigned int set, struct netlink_ext_ack *extack);
/* delete a hard-expired SA: the expiry event, not a delete event */
void kipsec_sa_expire(struct kipsec_net *kn, struct kipsec_sa *sa);
unsigned int kipsec_sa_flush(struct kipsec_net *kn, u8 proto);
int kipsec_sa_objects_alive(void);	/* every netns: leak check */

/* hooks.c: the netns gets its first SA or policy (process context) */
void kipsec_hooks_activate(struct net *net);

/*
 * Set kipsec_net.active from the counts, under kipsec_net.lock; a netns
 * that becomes active is prepared before the hooks see it active.
 */
static inline void kipsec_net_update_active(struct kipsec_net *kn)
{
	bool active = kn->sa_count + kn->policy_count > 0;

	if (active && !kn->active)
		kipsec_hooks_activate(read_pnet(&kn->net));
	WRITE_ONCE(kn->active, active);
}

/* policy.c: the SPD */
int kipsec_policy_init_net(struct kipsec_net *kn);
void kipsec_policy_exit_net(struct kipsec_net *kn);
struct kipsec_policy *kipsec_policy_lookup(struct net *net, u8 dir,
					   const struct kipsec_flow *fl);
						/* RCU; no reference */
bool kipsec_selector_match(const struct xfrm_selector *sel,
			   const struct kipsec_flow *fl);
bool kipsec_tmpl_match_sa(const struct kipsec_tmpl *t,
			  const struct kipsec_sa *sa);

/* policy.c, control plane side: all under kipsec_net.lock except _alloc */
struct kipsec_policy *kipsec_policy_alloc(void);
void kipsec_policy_free(struct kipsec_policy *pol);	/* never inserted */
int kipsec_policy_objects_alive(void);	/* every netns: leak check */
struct kipsec_policy *kipsec_policy_find_locked(struct kipsec_net *kn, u8 dir,
						const struct xfrm_selector *sel);
struct kipsec_policy *kipsec_policy_find_index_locked(struct kipsec_net *kn,
						      u32 index);
/* @pol->index, when not 0, is the index asked for (as xfrm_gen_index()) */
int kipsec_policy_insert(struct kipsec_net *kn, struct kipsec_policy *pol);
int kipsec_policy_replace(struct kipsec_net *kn, struct kipsec_policy *old,
			  struct kipsec_policy *pol);
void kipsec_policy_unlink(struct kipsec_net *kn, struct kipsec_policy *pol);
int kipsec_policy_add(struct kipsec_net *kn, struct kipsec_policy *pol,
		      bool update, struct netlink_ext_ack *extack);
/* delete a hard-expired policy: the expiry event, not a delete event */
void kipsec_policy_expire(struct kipsec_net *kn, struct kipsec_policy *pol);
unsigned int kipsec_policy_flush(struct kipsec_net *kn);
/* drop the sa_cache references of policies whose cached SA is dead */
void kipsec_policy_flush_sa_cache(struct kipsec_net *kn);

/**
 * struct kipsec_acq - an acquire in progress: a PROTECT policy's template
 *                     found no SA (xfrm's ACQ state with SPI 0)
 * @node: in kipsec_net.acq_hash, under kipsec_net.acq_lock; RCU readers
 * @rcu: freed after readers are gone
 * @family: family of @saddr and @daddr
 * @saddr: the SA's source as the template resolves it (all-zero: any)
 * @daddr: the SA's destination
 * @proto: IPPROTO_ESP or IPPROTO_AH
 * @mode: enum kipsec_mode
 * @reqid: the template's reqid
 * @seq: acquire sequence number, unique, never 0
 * @expires: jiffies when the entry goes, and a new packet acquires again
 * @add_time: creation, seconds since the epoch
 * @sel: the packet's selector (host addresses, protocol, ports)
 * @pol_sel: the policy's selector
 * @pol_index: the policy's index
 * @pol_priority: the policy's priority
 * @pol_dir: the policy's direction
 * @tmpl: the template
 *
 * Everything is set before the entry is published and then constant.
 */
struct kipsec_acq {
	struct hlist_node node;
	struct rcu_head rcu;
	u16 family;
	xfrm_address_t saddr;
	xfrm_address_t daddr;
	u8 proto;
	u8 mode;
	u32 reqid;
	u32 seq;
	unsigned long expires;
	time64_t add_time;
	struct xfrm_selector sel;
	struct xfrm_selector pol_sel;
	u32 pol_index;
	u32 pol_priority;
	u8 pol_dir;
	struct kipsec_tmpl tmpl;
};

/**
 * struct kipsec_spi_req - what state allocspi asks for (xfrm_userspi_info)
 * @family: AF_INET or AF_INET6
 * @saddr: the SA's source
 * @daddr: the SA's destination
 * @proto: IPPROTO_ESP or IPPROTO_AH
 * @mode: enum kipsec_mode
 * @reqid: request id
 * @seq: acquire sequence number to answer, 0 for none
 * @min: lowest SPI, host order
 * @max: highest SPI, host order, >= @min
 */
struct kipsec_spi_req {
	u16 family;
	xfrm_address_t saddr;
	xfrm_address_t daddr;
	u8 proto;
	u8 mode;
	u32 reqid;
	u32 seq;
	u32 min;
	u32 max;
};

/* acquire.c */
void kipsec_acq_init_net(struct kipsec_net *kn);
void kipsec_acq_exit_net(struct kipsec_net *kn);	/* hooks are gone */
/* output hook, softirq, RCU: a PROTECT policy's template found no SA */
void kipsec_acquire(struct net *net, const struct kipsec_policy *pol,
		    const struct kipsec_flow *fl);
/* an SA that satisfies an acquire entered the SAD (kipsec_net.lock held) */
void kipsec_acq_sa_added(struct kipsec_net *kn, const struct kipsec_sa *sa);
void kipsec_acq_flush(struct kipsec_net *kn, u8 proto);
/**
 * kipsec_sa_allocspi - reserve a free SPI: a larval SA (state allocspi)
 * @kn: the netns state; takes kipsec_net.lock (process context)
 * @req: the SA asked for and the SPI range
 * @extack: the reason of a failure, for the user
 *
 * As xfrm_alloc_userspi(): the larval SA that already answers @req->seq
 * (same destination and protocol) is returned as it is; else the acquire
 * in progress with that sequence number, or for the same endpoints,
 * proto, mode and reqid (__find_acq_core()), becomes the larval SA; else
 * a new one is made.  The SPI is chosen and the SA inserted under
 * kipsec_net.lock, so no two SAs get the same (daddr, SPI, proto).  The
 * larval SA expires net.kipsec.acq_expires seconds later unless a state
 * update (any configuration API: kipsec_sa_add()) completes it first.
 * Front ends render the result with their own SA dump format.
 *
 * Return: the larval SA with a reference for the caller (kipsec_sa_put()),
 * or ERR_PTR(): -ENOENT when no SPI of [min, max] is free (as xfrm),
 * -EINVAL, -EAFNOSUPPORT, -ENOSPC (net.kipsec.sa_max), -ENOMEM.
 */
struct kipsec_sa *kipsec_sa_allocspi(struct kipsec_net *kn,
				     const struct kipsec_spi_req *req,
				     struct netlink_ext_ack *extack);
/* call @fn for each acquire in progress, under kipsec_net.acq_lock */
int kipsec_acq_walk(struct kipsec_net *kn, long *skip,
		    int (*fn)(const struct kipsec_acq *acq, void *arg),
		    void *arg);

/**
 * struct kipsec_alg_params - the algorithms of a new SA, as parsed from
 *                            netlink; keys are owned (and wiped) by the caller
 * @aead_name: combined-mode algorithm, or NULL
 * @aead_key: its key || salt
 * @aead_keylen: bytes
 * @aead_icv_bits: its ICV length
 * @enc_name: ESP cipher, or NULL
 * @enc_key: its key (|| nonce for rfc3686)
 * @enc_keylen: bytes
 * @auth_name: integrity algorithm (ESP or AH), or NULL
 * @auth_key: its key
 * @auth_keylen: bytes
 * @auth_trunc_bits: truncated ICV length, 0 for the algorithm's default
 */
struct kipsec_alg_params {
	const char *aead_name;
	const u8 *aead_key;
	unsigned int aead_keylen;
	unsigned int aead_icv_bits;
	const char *enc_name;
	const u8 *enc_key;
	unsigned int enc_keylen;
	const char *auth_name;
	const u8 *auth_key;
	unsigned int auth_keylen;
	unsigned int auth_trunc_bits;
};

/**
 * struct kipsec_sa_cfg - a new SA as a front end parsed it, before setup
 * @family: AF_INET or AF_INET6 (outer)
 * @saddr: outer source
 * @daddr: outer destination
 * @spi: SPI, network order
 * @proto: IPPROTO_ESP or IPPROTO_AH
 * @mode: enum kipsec_mode
 * @reqid: request id
 * @flags: enum kipsec_sa_flags
 * @xflags: enum kipsec_sa_xflags
 * @window: replay window in packets
 * @seq: inbound sequence number to start from (replay window top)
 * @oseq: last outbound sequence number used
 * @set: KIPSEC_SA_SET_* for what @seq and @oseq set on an update
 * @acq_seq: the acquire sequence number the SA answers, 0 for none
 * @sel: selector, family 0 for none
 * @lft: lifetime limits, 0 for none
 * @alg: algorithms and keys; the keys stay the caller's to wipe
 * @encap: UDP encapsulation (NAT-T), type 0 for none
 *
 * Both configuration front ends (netlink.c, xfrm_nl.c) fill one from their
 * wire format and hand it to kipsec_sa_setup(), which validates what is
 * common to both and builds the SA.
 */
struct kipsec_sa_cfg {
	u16 family;
	xfrm_address_t saddr;
	xfrm_address_t daddr;
	__be32 spi;
	u8 proto;
	u8 mode;
	u32 reqid;
	u32 flags;
	u32 xflags;
	u32 window;
	u64 seq;
	u64 oseq;
	unsigned int set;
	u32 acq_seq;
	struct xfrm_selector sel;
	struct kipsec_lft_cfg lft;
	struct kipsec_alg_params alg;
	struct kipsec_sa_encap encap;
	u32 tfcpad;
};

#define KIPSEC_SA_FLAGS_ALL	(KIPSEC_SA_F_ESN | KIPSEC_SA_F_AF_UNSPEC | \
				 KIPSEC_SA_F_NOECN | KIPSEC_SA_F_NOPMTUDISC | \
				 KIPSEC_SA_F_ALIGN4 | KIPSEC_SA_F_DECAP_DSCP | \
				 KIPSEC_SA_F_ICMP)
#define KIPSEC_SA_XFLAGS_ALL	KIPSEC_SA_XF_DONT_ENCAP_DSCP

/* state.c: fill a new SA from @c (transform, replay window, limits) */
int kipsec_sa_setup(struct kipsec_sa *sa, const struct kipsec_sa_cfg *c,
		    struct kipsec_sa *xform_from,
		    struct netlink_ext_ack *extack);
void kipsec_sa_keep(struct kipsec_net *kn, struct kipsec_sa *sa, u32 portid);
struct kipsec_sa *kipsec_sa_take_kept(struct kipsec_net *kn,
				      const struct kipsec_sa_cfg *c,
				      u32 portid);
void kipsec_sa_kept_flush(struct kipsec_net *kn);

/* crypto.c */
/* set up sa->aead (ESP) or sa->ahash (AH) from @p, by sa->key.proto */
int kipsec_crypto_init_sa_algs(struct kipsec_sa *sa,
			       const struct kipsec_alg_params *p,
			       struct netlink_ext_ack *extack);
void kipsec_crypto_free_sa(struct kipsec_sa *sa);
int kipsec_crypto_share_sa(struct kipsec_sa *sa, struct kipsec_sa *from,
			   const struct kipsec_alg_params *p,
			   struct netlink_ext_ack *extack);
/* same algorithms, keys and ICV lengths (constant time) */
bool kipsec_crypto_same_algs(const struct kipsec_sa *a,
			     const struct kipsec_sa *b);

/* replay.c */
int kipsec_replay_init(struct kipsec_replay *r, u32 size);
void kipsec_replay_free(struct kipsec_replay *r);
/* check before decryption: 0 when acceptable, else a KIPSEC_STAT_* reason */
int kipsec_replay_check(const struct kipsec_replay *r, u64 seq);
/* after authentication: recheck and mark; 0 or a KIPSEC_STAT_* reason */
int kipsec_replay_advance(struct kipsec_replay *r, u64 seq);
/* a replaced SA's window into its successor's (fresh) one, top moved on */
void kipsec_replay_carry(struct kipsec_replay *dst,
			 const struct kipsec_replay *src, u64 top);
/* infer the 64-bit sequence number from its low 32 bits (RFC 4303 A.2) */
u64 kipsec_replay_infer_esn(const struct kipsec_replay *r, u32 seq_lo);
/* self-tests, run at load when the module parameter selftest is set */
int kipsec_replay_selftest(void);

/* espintcp.c: the TCP ULP "espintcp" (ESP in TCP, RFC 8229) */
void kipsec_espintcp_init(void);
void kipsec_espintcp_exit(void);
bool kipsec_espintcp_available(void);

/* hooks.c */
int kipsec_hooks_init(void);
void kipsec_hooks_exit(void);
int kipsec_hooks_register_net(struct net *net);
void kipsec_hooks_unregister_net(struct net *net);

/* km.c: the xfrm key manager and per-socket policies */
void kipsec_km_init(void);
void kipsec_km_exit(void);

/**
 * enum kipsec_sk_verdict - what a socket's own XFRM policy says of a packet
 * @KIPSEC_SK_SPD: no socket policy applies; the SPD decides
 * @KIPSEC_SK_BYPASS: an allow policy without templates (IKE's bypass)
 * @KIPSEC_SK_BLOCK: a block policy
 */
enum kipsec_sk_verdict {
	KIPSEC_SK_SPD,
	KIPSEC_SK_BYPASS,
	KIPSEC_SK_BLOCK,
};

enum kipsec_sk_verdict kipsec_sk_verdict(const struct sock *sk, int dir,
					 const struct kipsec_flow *fl);
bool kipsec_sk_in_bypass(struct sk_buff *skb, const struct kipsec_flow *fl);

/* esp.c */
int kipsec_esp_output(struct net *net, struct kipsec_sa *sa,
		      struct sk_buff *skb);
/* @sport: ESP in UDP, the UDP source port the packet came with; else 0 */
int kipsec_esp_input(struct net *net, struct kipsec_sa *sa,
		     struct sk_buff *skb, __be16 sport);
void kipsec_esp_free_sa(struct kipsec_sa *sa);	/* when the SA is freed */

/* ah.c: as kipsec_esp_output/_input, for AH SAs */
int kipsec_ah_output(struct net *net, struct kipsec_sa *sa,
		     struct sk_buff *skb);
int kipsec_ah_input(struct net *net, struct kipsec_sa *sa,
		    struct sk_buff *skb);

/* netlink.c */
int kipsec_netlink_init(void);
void kipsec_netlink_exit(void);
/* render an event for the "events" multicast group (event.c calls them) */
void kipsec_nl_notify_sa(struct net *net, struct kipsec_sa *sa, u8 cmd,
			 int hard);
void kipsec_nl_notify_policy(struct net *net, struct kipsec_policy *pol,
			     u8 cmd, int hard);
void kipsec_nl_notify_flush(struct net *net, u8 cmd, u8 proto);
/* any context (GFP_ATOMIC) */
void kipsec_nl_notify_acquire(struct net *net, const struct kipsec_acq *acq,
			      u8 cmd);
void kipsec_nl_notify_mapping(struct net *net, const struct kipsec_sa *sa,
			      const xfrm_address_t *naddr, __be16 nsport);

/**
 * enum kipsec_event - what the core tells the front ends (event.c)
 * @KIPSEC_EV_SA_ADD: an SA entered the SAD
 * @KIPSEC_EV_SA_UPDATE: an SA was replaced by an update
 * @KIPSEC_EV_SA_DEL: an SA was deleted by request
 * @KIPSEC_EV_SA_FLUSH: the SAD, or one protocol of it, was flushed
 * @KIPSEC_EV_SA_SOFT_EXPIRE: an SA reached a soft limit
 * @KIPSEC_EV_SA_HARD_EXPIRE: an SA reached a hard limit and is deleted
 * @KIPSEC_EV_POLICY_ADD: a policy entered the SPD
 * @KIPSEC_EV_POLICY_UPDATE: a policy was replaced by an update
 * @KIPSEC_EV_POLICY_DEL: a policy was deleted by request
 * @KIPSEC_EV_POLICY_FLUSH: the SPD was flushed
 * @KIPSEC_EV_ACQUIRE: a PROTECT policy found no SA (kipsec_event_acquire())
 * @KIPSEC_EV_POLICY_SOFT_EXPIRE: a policy reached a soft time limit
 * @KIPSEC_EV_POLICY_HARD_EXPIRE: a policy reached a hard time limit and
 *                                is deleted
 */
enum kipsec_event {
	KIPSEC_EV_SA_ADD,
	KIPSEC_EV_SA_UPDATE,
	KIPSEC_EV_SA_DEL,
	KIPSEC_EV_SA_FLUSH,
	KIPSEC_EV_SA_SOFT_EXPIRE,
	KIPSEC_EV_SA_HARD_EXPIRE,
	KIPSEC_EV_POLICY_ADD,
	KIPSEC_EV_POLICY_UPDATE,
	KIPSEC_EV_POLICY_DEL,
	KIPSEC_EV_POLICY_FLUSH,
	KIPSEC_EV_ACQUIRE,
	KIPSEC_EV_POLICY_SOFT_EXPIRE,
	KIPSEC_EV_POLICY_HARD_EXPIRE,
};

/* event.c: process context, kipsec_net.lock held */
void kipsec_event_sa(struct net *net, struct kipsec_sa *sa,
		     enum kipsec_event ev);
void kipsec_event_policy(struct net *net, struct kipsec_policy *pol,
			 enum kipsec_event ev);
void kipsec_event_flush(struct net *net, enum kipsec_event ev, u8 proto);
/* the exceptions: from the packet path, softirq context, no lock */
void kipsec_event_acquire(struct net *net, const struct kipsec_acq *acq);
void kipsec_event_mapping(struct net *net, const struct kipsec_sa *sa,
			  const xfrm_address_t *naddr, __be16 nsport);

/* xfrm_nl.c: the XFRM netlink personality (module parameter xfrm_netlink) */
extern bool kipsec_xfrm_netlink;
int kipsec_xfrm_nl_init(void);
void kipsec_xfrm_nl_exit(void);
/* render an event for the XFRM groups (event.c calls them) */
void kipsec_xfrm_notify_sa(struct net *net, struct kipsec_sa *sa,
			   enum kipsec_event ev);
void kipsec_xfrm_notify_policy(struct net *net, struct kipsec_policy *pol,
			       enum kipsec_event ev);
void kipsec_xfrm_notify_flush(struct net *net, enum kipsec_event ev,
			      u8 proto);
/* any context (GFP_ATOMIC) */
void kipsec_xfrm_notify_acquire(struct net *net, const struct kipsec_acq *acq);
void kipsec_xfrm_notify_mapping(struct net *net, const struct kipsec_sa *sa,
				const xfrm_address_t *naddr, __be16 nsport);

/* lifetime.c */
int kipsec_lifetime_init(void);
void kipsec_lifetime_exit(void);
int kipsec_lft_alloc(struct kipsec_sa *sa);	/* with the SA */
void kipsec_lft_free(struct kipsec_sa *sa);	/* when the SA is freed */
/* the SA enters the SAD (kipsec_net.lock held); @old: the SA it replaces */
void kipsec_lft_start(struct net *net, struct kipsec_sa *sa,
		      struct kipsec_sa *old);
void kipsec_lft_stop(struct kipsec_sa *sa);	/* it leaves the SAD */
void kipsec_lifetime_flush(void);		/* a netns goes */
/* outbound, before the transform: false when the packet must drop */
bool kipsec_lft_out(struct kipsec_sa *sa, unsigned int len);
/* inbound, after authentication; any context */
void kipsec_lft_count(struct kipsec_sa *sa, unsigned int len);
/* the sequence number space is exhausted: a hard expiry */
void kipsec_lft_seq_exhausted(struct kipsec_sa *sa);
/* current usage, for dumps */
void kipsec_lft_usage(struct kipsec_sa *sa, u64 *bytes, u64 *packets);
/* policies: a policy enters the SPD / leaves it (kipsec_net.lock held) */
void kipsec_pol_lft_start(struct net *net, struct kipsec_policy *pol);
void kipsec_pol_lft_stop(struct kipsec_policy *pol);
void kipsec_pol_lft_work(struct work_struct *work);	/* policy->timer */
void kipsec_policy_put(struct kipsec_policy *pol);	/* policy.c */

/* the packet path found @pol: its last use is now (cheap when unchanged) */
static inline void kipsec_policy_touch(struct kipsec_policy *pol)
{
	time64_t now = ktime_get_real_seconds();

	if (READ_ONCE(pol->use_time) != now)
		WRITE_ONCE(pol->use_time, now);
}

/* KIPSEC_LFT_* bits of kipsec_lifetime.flags */
enum {
	KIPSEC_LFT_SOFT,	/* a soft limit was reached */
	KIPSEC_LFT_SOFT_SENT,	/* its event was sent */
	KIPSEC_LFT_HARD,	/* a hard limit was reached: no more traffic */
};

/* true once the SA reached a hard limit: it carries no more traffic */
static inline bool kipsec_lft_expired(const struct kipsec_sa *sa)
{
	return test_bit(KIPSEC_LFT_HARD, &sa->lft.flags);
}

#endif /* _KIPSEC_H */
