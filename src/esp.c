// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: the ESP transform (RFC 4303), transport and tunnel mode, IPv4
 * and IPv6, with the AEADs of crypto.c: combined-mode algorithms, or
 * authenc/authencesn for a cipher with an integrity algorithm, which take
 * the same associated data layout.
 *
 * Wire format and crypto layout follow net/ipv4/esp4.c and esp6.c so that
 * Linux xfrm interoperates byte for byte.  The difference: the transform
 * is the bare AEAD (rfc4106, rfc4543, rfc7539esp), not xfrm's seqiv
 * wrapper, so kipsec writes the 8-byte IV itself (the 64-bit sequence
 * number) and hands the AEAD a scatterlist whose first entry is a private
 * buffer holding the associated data
 *
 *	SPI | seq_lo            (8 bytes)       without ESN
 *	SPI | seq_hi | seq_lo   (12 bytes)      with ESN (RFC 4303 App. A,
 *						RFC 4106 section 5)
 *
 * followed by the IV, which rfc4106/rfc7539esp skip and rfc4543
 * authenticates, exactly as seqiv presents them to the same algorithms;
 * the rest of the list is the packet's payload and ICV, transformed in
 * place.  Requests may complete asynchronously; the completion continues
 * the packet (esp_done).
 *
 * Per packet, the crypto context (request, IV, AAD, scatterlist) comes
 * from a per-CPU pool of fixed-size buffers, not from the allocator.
 *
 * Parallel crypto for one SA: with more than one CPU online (and the
 * module parameter parallel set), each packet gets a ticket from its SA's
 * reorder ring and its crypto request is handed round-robin to the
 * per-CPU workers (or run here when the turn is this CPU's).  Completions
 * deposit the packet in the ring, on the SA's home CPU (that of its first
 * packet; other CPUs hand the packet to its worker), and the home CPU
 * finishes the packets in ticket order (transmit, or replay update and
 * re-injection): one SA's traffic is encrypted and decrypted on every CPU
 * and still leaves in the order it came, from one CPU (transmitting from
 * several would reorder it again in per-CPU backlogs and device queues).
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <crypto/aead.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/dst.h>
#include <net/esp.h>
#include "kipsec.h"
#include "datapath.h"

#define ESP_AAD_MAX	(3 * sizeof(__be32) + 16)

static bool defer_crypto;
module_param(defer_crypto, bool, 0644);
MODULE_PARM_DESC(defer_crypto,
		 "Testing: submit every ESP crypto request from a workqueue, so that each packet completes asynchronously as with an async driver (default: off)");

static bool parallel = true;
module_param(parallel, bool, 0644);
MODULE_PARM_DESC(parallel,
		 "Spread the crypto of one SA over every online CPU, finishing packets in order (default: on)");

/* testing: a smaller reorder ring fills with a few packets in flight */
static unsigned int order_ring = 512;
module_param(order_ring, uint, 0444);
MODULE_PARM_DESC(order_ring,
		 "Testing: packets of one SA in flight in parallel mode, a power of two from 2 to 512 (default: 512)");

static struct workqueue_struct *esp_defer_wq;
static struct workqueue_struct *esp_par_wq;

/* per-CPU pool of crypto contexts */
#define ESP_POOL_OBJ	2048
#define ESP_POOL_MAX	128

struct esp_pool {
	unsigned int n;
	void *obj[ESP_POOL_MAX];
};

static DEFINE_PER_CPU(struct esp_pool, esp_pool);

/* per-CPU crypto workers of the parallel mode */
struct esp_worker {
	struct llist_head list;
	struct work_struct work;
};

static DEFINE_PER_CPU(struct esp_worker, esp_workers);

/* packets of one SA in flight in parallel mode; a power of two */
#define ESP_ORDER_N	512
/* packets of one SA waiting for a ticket while its ring is full */
#define ESP_ORDER_WAIT	512
/*
 * Smaller packets are encrypted on the CPU they came on (still in order
 * through the ring): handing them to another CPU costs more than their
 * crypto.
 */
#define ESP_PAR_MIN_LEN	256

/**
 * struct kipsec_esp_order - an SA's reorder ring (parallel mode)
 * @lock: protects the rest, BH disabled
 * @head: oldest ticket not finished yet
 * @tail: next ticket to hand out
 * @draining: some CPU is finishing packets from the ring
 * @cpu: the CPU whose turn was last
 * @home: the CPU that finishes the packets (that of the SA's first
 *        packet): transmitting from several CPUs would reorder them again
 *        in the per-CPU backlogs and transmit queues
 * @mask: the ring's size minus one
 * @wait: packets that came while the ring was full (or while others were
 *        waiting), in arrival order, linked through lnode; each gets the
 *        next ticket when a slot frees, so none overtakes another
 * @wait_tail: where the next waiting packet is linked
 * @nwait: length of @wait, at most ESP_ORDER_WAIT
 * @ring: packets whose crypto completed, by ticket & @mask
 *
 * Allocated on the SA's first packet, freed with the SA.
 */
struct kipsec_esp_order {
	spinlock_t lock;	/* protects the ring, BH disabled */
	u32 head;
	u32 tail;
	bool draining;
	int cpu;
	int home;
	u32 mask;
	struct esp_ctx *wait;
	struct esp_ctx **wait_tail;
	unsigned int nwait;
	struct esp_ctx *ring[];
};

/**
 * struct esp_ctx - one packet in the transform
 * @skb: the packet
 * @sa: its SA, one reference held
 * @net: its netns
 * @seq: its 64-bit sequence number
 * @len: bytes counted in the SA (inner packet, or decrypted payload)
 * @hoff: input: offset of the ESP header from the network header
 * @nhoff: input: offset of the next-header byte that names ESP
 * @sport: input, ESP in UDP: the UDP source port it came with (checked
 *         for a NAT mapping change once authentic)
 * @aad: the associated data and IV, first scatterlist entry
 * @work: defer_crypto: submits the request from esp_defer_wq
 * @enc: defer_crypto and workers: encrypt (else decrypt)
 * @pooled: the buffer belongs to the per-CPU pools
 * @ordered: parallel mode: @ticket is valid, finish through the ring
 * @crypted: in a worker's queue to be finished (not to be transformed)
 * @spread: parallel mode: the crypto may run on another CPU
 * @ticket: position in the SA's reorder ring
 * @err: the crypto result, kept while waiting in the ring
 * @lnode: in a worker's queue, then in the list of packets to finish
 * @req: the request
 * @finish: continues the packet after its crypto (output or input)
 *
 * Followed in the same allocation by the IV, the aead_request with the
 * transform's context, and the scatterlist (see esp_alloc_ctx()).
 */
struct esp_ctx {
	struct sk_buff *skb;
	struct kipsec_sa *sa;
	struct net *net;
	u64 seq;
	unsigned int len;
	u16 hoff;
	u16 nhoff;
	__be16 sport;
	u8 aad[ESP_AAD_MAX];
	struct work_struct work;
	bool enc;
	bool pooled;
	bool ordered;
	bool crypted;
	bool spread;
	u32 ticket;
	int err;
	struct llist_node lnode;
	struct aead_request *req;
	void (*finish)(struct esp_ctx *c, int err);
};

static u8 *ctx_iv(struct crypto_aead *aead, struct esp_ctx *c)
{
	return PTR_ALIGN((u8 *)(c + 1), crypto_aead_alignmask(aead) + 1);
}

static struct aead_request *ctx_req(struct crypto_aead *aead, u8 *iv)
{
	return (void *)PTR_ALIGN(iv + crypto_aead_ivsize(aead),
				 crypto_tfm_ctx_alignment());
}

static struct scatterlist *ctx_sg(struct crypto_aead *aead,
				  struct aead_request *req)
{
	return (void *)ALIGN((unsigned long)(req + 1) +
			     crypto_aead_reqsize(aead),
			     __alignof__(struct scatterlist));
}

/*
 * Per packet: a buffer from this CPU's pool, or the allocator when the
 * pool is empty or the context does not fit (many fragments).  Any
 * context: completions may free on another CPU, the buffer then joins
 * that CPU's pool.
 */
static struct esp_ctx *esp_alloc_ctx(struct crypto_aead *aead, int nsg)
{
	struct esp_pool *p;
	struct esp_ctx *c = NULL;
	unsigned long flags;
	size_t len;

	len = sizeof(struct esp_ctx) + crypto_aead_alignmask(aead) +
	      crypto_aead_ivsize(aead) + crypto_tfm_ctx_alignment() +
	      sizeof(struct aead_request) + crypto_aead_reqsize(aead) +
	      __alignof__(struct scatterlist) +
	      sizeof(struct scatterlist) * nsg;
	if (len > ESP_POOL_OBJ) {
		c = kmalloc(len, GFP_ATOMIC);
		if (c)
			c->pooled = false;
		return c;
	}
	local_irq_save(flags);
	p = this_cpu_ptr(&esp_pool);
	if (p->n)
		c = p->obj[--p->n];
	local_irq_restore(flags);
	if (!c)
		c = kmalloc(ESP_POOL_OBJ, GFP_ATOMIC);
	if (c)
		c->pooled = true;
	return c;
}

static void esp_free_ctx(struct esp_ctx *c)
{
	struct esp_pool *p;
	unsigned long flags;

	if (c->pooled) {
		local_irq_save(flags);
		p = this_cpu_ptr(&esp_pool);
		if (p->n < ESP_POOL_MAX) {
			p->obj[p->n++] = c;
			c = NULL;
		}
		local_irq_restore(flags);
	}
	kfree(c);
}

static void esp_pool_drain(void)
{
	struct esp_pool *p;
	int cpu;

	for_each_possible_cpu(cpu) {
		p = per_cpu_ptr(&esp_pool, cpu);
		while (p->n)
			kfree(p->obj[--p->n]);
	}
}

/* SPI | [seq_hi] | seq_lo | IV; returns the associated data length */
static unsigned int esp_fill_aad(struct esp_ctx *c, __be32 spi, bool esn,
				 const u8 *iv, unsigned int ivlen)
{
	__be32 *a = (__be32 *)c->aad;
	unsigned int n = 0;

	a[n++] = spi;
	if (esn)
		a[n++] = htonl(upper_32_bits(c->seq));
	a[n++] = htonl(lower_32_bits(c->seq));
	memcpy(&a[n], iv, ivlen);
	return n * sizeof(__be32) + ivlen;
}

static void esp_complete(struct esp_ctx *c, int err);

static void esp_defer_fn(struct work_struct *work)
{
	struct esp_ctx *c = container_of(work, struct esp_ctx, work);
	struct crypto_aead *aead = c->sa->aead;
	struct aead_request *req = ctx_req(aead, ctx_iv(aead, c));
	int err;

	/* as cryptd: the completion runs with BH disabled */
	local_bh_disable();
	err = c->enc ? crypto_aead_encrypt(req) : crypto_aead_decrypt(req);
	if (err != -EINPROGRESS && err != -EBUSY)
		esp_complete(c, err);
	local_bh_enable();
}

/* the SA's reorder ring, allocated on first use; NULL without memory */
static struct kipsec_esp_order *esp_order_get(struct kipsec_sa *sa)
{
	struct kipsec_esp_order *o = READ_ONCE(sa->esp_order);

	if (likely(o))
		return o;
	o = kzalloc(struct_size(o, ring, order_ring), GFP_ATOMIC);
	if (!o)
		return NULL;
	spin_lock_init(&o->lock);
	o->cpu = -1;
	o->home = raw_smp_processor_id();
	o->mask = order_ring - 1;
	o->wait_tail = &o->wait;
	if (cmpxchg(&sa->esp_order, NULL, o)) {
		kfree(o);
		o = READ_ONCE(sa->esp_order);
	}
	return o;
}

/* under o->lock: give @c the next ticket; the CPU to run its crypto on */
static int esp_order_take(struct kipsec_esp_order *o, struct esp_ctx *c)
{
	int next = raw_smp_processor_id();

	c->ticket = o->tail++;
	if (c->spread) {
		next = cpumask_next(o->cpu, cpu_online_mask);
		if (next >= nr_cpu_ids)
			next = cpumask_first(cpu_online_mask);
		o->cpu = next;
	}
	return next;
}

enum esp_ticket {
	ESP_TICKET,	/* ticketed: run the crypto on *cpu */
	ESP_WAITING,	/* ring full: started by the ring when a slot frees */
	ESP_NO_ROOM,	/* ring and waiting list full: drop the packet */
};

/*
 * Give @c a ticket and pick the CPU whose turn it is.  When the ring is
 * full, or packets already wait for a slot, @c waits behind them: a
 * packet that went ahead unordered would finish before older ones (and
 * move the peer's or our replay window past them).
 */
static enum esp_ticket esp_order_ticket(struct kipsec_esp_order *o,
					struct esp_ctx *c, int *cpu)
{
	enum esp_ticket ret = ESP_TICKET;

	spin_lock_bh(&o->lock);
	if (o->wait || o->tail - o->head > o->mask) {
		if (o->nwait >= ESP_ORDER_WAIT) {
			ret = ESP_NO_ROOM;
		} else {
			c->lnode.next = NULL;
			*o->wait_tail = c;
			o->wait_tail = (struct esp_ctx **)&c->lnode.next;
			o->nwait++;
			ret = ESP_WAITING;
		}
	} else {
		*cpu = esp_order_take(o, c);
	}
	spin_unlock_bh(&o->lock);
	return ret;
}

/*
 * Under o->lock: ticket the waiting packets for which slots are free, in
 * arrival order; returns them linked through lnode, each with its CPU in
 * c->err until it is started.
 */
static struct esp_ctx *esp_order_unwait(struct kipsec_esp_order *o)
{
	struct esp_ctx *first = NULL, **last = &first, *c;

	while (o->wait && o->tail - o->head <= o->mask) {
		c = o->wait;
		o->wait = (struct esp_ctx *)c->lnode.next;
		o->nwait--;
		c->err = esp_order_take(o, c);
		*last = c;
		last = (struct esp_ctx **)&c->lnode.next;
	}
	if (!o->wait)
		o->wait_tail = &o->wait;
	*last = NULL;
	return first;
}

static void esp_start(struct esp_ctx *c, int cpu);

/*
 * The crypto of a ticketed packet completed: on the SA's home CPU, put it
 * in the ring and, unless the home CPU is at it already (nested), finish
 * every packet from the oldest ticket on while they are there, in order;
 * elsewhere, hand it to the home CPU's worker.  The packets hold the SA;
 * the ring is freed with it, after an RCU grace period.
 */
static void esp_order_put(struct esp_ctx *c, int err)
{
	struct kipsec_esp_order *o = c->sa->esp_order;
	struct esp_ctx *first, **last, *n, *waited;
	struct esp_worker *w;

	c->err = err;
	local_bh_disable();
	if (raw_smp_processor_id() != o->home && cpu_online(o->home)) {
		c->crypted = true;
		w = per_cpu_ptr(&esp_workers, o->home);
		if (llist_add(&c->lnode, &w->list))
			queue_work_on(o->home, esp_par_wq, &w->work);
		local_bh_enable();
		return;
	}
	rcu_read_lock();
	spin_lock_bh(&o->lock);
	o->ring[c->ticket & o->mask] = c;
	if (o->draining) {
		spin_unlock_bh(&o->lock);
		rcu_read_unlock();
		local_bh_enable();
		return;
	}
	o->draining = true;
	for (;;) {
		first = NULL;
		last = &first;
		while ((n = o->ring[o->head & o->mask])) {
			o->ring[o->head & o->mask] = NULL;
			o->head++;
			*last = n;
			last = (struct esp_ctx **)&n->lnode.next;
		}
		*last = NULL;
		waited = esp_order_unwait(o);
		if (!first && !waited)
			break;
		spin_unlock_bh(&o->lock);
		while (first) {
			n = first;
			first = (struct esp_ctx *)n->lnode.next;
			n->finish(n, n->err);
		}
		while (waited) {
			n = waited;
			waited = (struct esp_ctx *)n->lnode.next;
			esp_start(n, n->err);
		}
		spin_lock_bh(&o->lock);
	}
	o->draining = false;
	spin_unlock_bh(&o->lock);
	rcu_read_unlock();
	local_bh_enable();
}

/* the crypto of @c is done (any path) */
static void esp_complete(struct esp_ctx *c, int err)
{
	if (c->ordered)
		esp_order_put(c, err);
	else
		c->finish(c, err);
}

static void esp_done(struct crypto_async_request *base, int err)
{
	if (err == -EINPROGRESS)
		return;		/* left the backlog; the result follows */
	esp_complete(base->data, err);
}

static void esp_worker_fn(struct work_struct *work)
{
	struct esp_worker *w = container_of(work, struct esp_worker, work);
	struct llist_node *list;
	struct esp_ctx *c, *t;
	int err;

	list = llist_reverse_order(llist_del_all(&w->list));
	llist_for_each_entry_safe(c, t, list, lnode) {
		local_bh_disable();
		if (c->crypted) {
			c->crypted = false;
			esp_order_put(c, c->err);
		} else {
			err = c->enc ? crypto_aead_encrypt(c->req) :
				       crypto_aead_decrypt(c->req);
			if (err != -EINPROGRESS && err != -EBUSY)
				esp_complete(c, err);
		}
		local_bh_enable();
		cond_resched();
	}
}

/*
 * Run the crypto of @c on @cpu: here, or handed to that CPU's worker
 */
static void esp_start(struct esp_ctx *c, int cpu)
{
	struct esp_worker *w;
	int err;

	if (cpu != raw_smp_processor_id()) {
		w = per_cpu_ptr(&esp_workers, cpu);
		if (llist_add(&c->lnode, &w->list))
			queue_work_on(cpu, esp_par_wq, &w->work);
		return;
	}
	err = c->enc ? crypto_aead_encrypt(c->req) : crypto_aead_decrypt(c->req);
	if (err == -EINPROGRESS || err == -EBUSY)
		return;
	esp_complete(c, err);
}

/*
 * Submit the request of @c (set up with esp_done as its callback, @len
 * bytes to transform); the packet continues in c->finish, now or later,
 * whatever happens.
 */
static void esp_submit(struct esp_ctx *c, struct aead_request *req, bool enc,
		       unsigned int len)
{
	struct kipsec_esp_order *o;
	int cpu = raw_smp_processor_id();

	c->req = req;
	c->enc = enc;
	c->ordered = false;
	c->crypted = false;
	c->spread = len >= ESP_PAR_MIN_LEN && READ_ONCE(parallel) &&
		    num_online_cpus() > 1;
	if (unlikely(READ_ONCE(defer_crypto)) && esp_defer_wq) {
		INIT_WORK(&c->work, esp_defer_fn);
		queue_work(esp_defer_wq, &c->work);
		return;
	}
	/* once an SA has a ring, its packets keep going through it in order */
	o = READ_ONCE(c->sa->esp_order);
	if (!o && READ_ONCE(parallel) && esp_par_wq && num_online_cpus() > 1)
		o = esp_order_get(c->sa);
	if (o) {
		c->ordered = true;
		switch (esp_order_ticket(o, c, &cpu)) {
		case ESP_TICKET:
			break;
		case ESP_WAITING:
			return;
		case ESP_NO_ROOM:
			c->ordered = false;
			c->finish(c, -ENOBUFS);
			return;
		}
	}
	esp_start(c, cpu);
}

int kipsec_esp_init(void)
{
	int cpu;

	if (order_ring < 2 || order_ring > ESP_ORDER_N ||
	    !is_power_of_2(order_ring)) {
		pr_err("kipsec: order_ring must be a power of two from 2 to %d\n",
		       ESP_ORDER_N);
		return -EINVAL;
	}

	for_each_possible_cpu(cpu) {
		struct esp_worker *w = per_cpu_ptr(&esp_workers, cpu);

		init_llist_head(&w->list);
		INIT_WORK(&w->work, esp_worker_fn);
	}
	esp_defer_wq = alloc_workqueue("kipsec_defer", WQ_UNBOUND, 0);
	if (!esp_defer_wq)
		return -ENOMEM;
	esp_par_wq = alloc_workqueue("kipsec_crypt", WQ_HIGHPRI, 0);
	if (!esp_par_wq) {
		destroy_workqueue(esp_defer_wq);
		esp_defer_wq = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* wait for the deferred requests, before the netns' SAs go away */
void kipsec_esp_flush(void)
{
	flush_workqueue(esp_defer_wq);
	flush_workqueue(esp_par_wq);
}

void kipsec_esp_exit(void)
{
	destroy_workqueue(esp_par_wq);
	esp_par_wq = NULL;
	destroy_workqueue(esp_defer_wq);
	esp_defer_wq = NULL;
	esp_pool_drain();
}

/**
 * kipsec_esp_free_sa - free what esp.c hung on an SA
 * @sa: the SA, no packet left
 */
void kipsec_esp_free_sa(struct kipsec_sa *sa)
{
	kfree(sa->esp_order);
	sa->esp_order = NULL;
}

/* ---- output ---- */

/**
 * struct esp_out - the ESP layout of one outbound packet
 * @ivlen: IV length
 * @icv: ICV length
 * @blksize: the cipher's block size, at least 4
 * @esplen: ESP header and IV
 * @tfclen: TFC padding (RFC 4303 2.7), zeros after the payload
 * @clen: payload, TFC padding, padding, pad length and next header: the
 *        bytes encrypted
 * @nfrags: scatterlist entries of the packet (skb_cow_data())
 * @inner_len: bytes counted in the SA: the packet before ESP
 * @seq: its sequence number
 */
struct esp_out {
	unsigned int ivlen;
	unsigned int icv;
	unsigned int blksize;
	unsigned int esplen;
	unsigned int tfclen;
	int clen;
	int nfrags;
	unsigned int inner_len;
	u64 seq;
};

static void esp_output_finish(struct esp_ctx *c, int err)
{
	struct sk_buff *skb = c->skb;
	struct kipsec_sa *sa = c->sa;
	struct net *net = c->net;
	unsigned int len = c->len;

	esp_free_ctx(c);
	kipsec_encap_output_finish(net, sa, skb, len, err);
}

/* the SA's transform: its sizes; 0, or the drop reason */
static enum kipsec_stat esp_out_sizes(struct kipsec_sa *sa,
				      struct sk_buff *skb, struct esp_out *o)
{
	struct crypto_aead *aead = sa->aead;

	if (!aead || sa->key.proto != IPPROTO_ESP)
		return KIPSEC_STAT_CRYPTO_ERROR;
	o->ivlen = crypto_aead_ivsize(aead);
	o->icv = crypto_aead_authsize(aead);
	o->blksize = ALIGN(crypto_aead_blocksize(aead), 4);
	o->esplen = sizeof(struct ip_esp_hdr) + o->ivlen;
	o->inner_len = skb->len;
	return 0;
}

/* the worst-case bytes around a payload: header, IV, padding, ICV */
static unsigned int esp_pmtu_over(const struct esp_out *o)
{
	return o->esplen + o->icv + 1 + o->blksize;
}

/*
 * xfrm_state_mtu() of an ESP SA in tunnel mode: the largest payload that
 * leaves a packet of at most @mtu bytes, for the smallest padding.
 */
static u32 esp_payload_mtu(const struct kipsec_encap *e,
			   const struct esp_out *o, u32 mtu)
{
	u32 overhead = e->outer + e->elen + o->esplen + o->icv;
	u32 payload_mtu;

	if (mtu <= overhead)
		return 1;
	payload_mtu = (mtu - overhead) & ~(o->blksize - 1);
	if (payload_mtu <= 2)
		return 1;
	return payload_mtu - 2;
}

/*
 * TFC padding (RFC 4303 2.7) as esp_output(): up to the SA's tfcpad,
 * never beyond what the outer route's MTU (xfrm: the bundle's
 * child_mtu_cached, the MTU of the same route) leaves for the payload.
 * xfrm refuses tfcpad outside tunnel mode, so does kipsec_sa_setup().
 */
static void esp_tfc(const struct kipsec_sa *sa, struct kipsec_encap *e,
		    struct esp_out *o, unsigned int payload)
{
	u32 padto;

	o->tfclen = 0;
	if (!sa->tfcpad || !e->dst)
		return;
	padto = min(sa->tfcpad, esp_payload_mtu(e, o, dst_mtu(e->dst)));
	if (payload < padto)
		o->tfclen = padto - payload;
	e->tfclen = o->tfclen;
}

/* the bytes ESP adds to a payload of @payload bytes */
static unsigned int esp_overhead(const struct esp_out *o, int payload)
{
	return o->esplen + o->icv +
	       ALIGN(payload + 2 + o->tfclen, o->blksize) - payload;
}

/* the trailer: TFC padding, padding 1, 2, 3..., pad length, next header, ICV */
static int esp_add_trailer(struct sk_buff *skb, const struct kipsec_encap *e,
			   struct esp_out *o)
{
	int payload = skb->len - e->hdr_off;
	struct sk_buff *trailer;
	int plen, tailen;

	o->clen = ALIGN(payload + 2 + o->tfclen, o->blksize);
	plen = o->clen - payload - o->tfclen;
	tailen = o->tfclen + plen + o->icv;
	o->nfrags = skb_cow_data(skb, tailen, &trailer);
	if (o->nfrags < 0)
		return o->nfrags;
	esp_output_fill_trailer(skb_tail_pointer(trailer), o->tfclen, plen,
				e->proto);
	pskb_put(skb, trailer, tailen);
	return 0;
}

/* the ESP header: SPI, sequence number and IV */
static void esp_write_hdr(struct ip_esp_hdr *esph, struct kipsec_sa *sa,
			  const struct esp_out *o)
{
	unsigned int n = min(o->ivlen, 8U);
	__be64 seqiv;

	esph->spi = sa->key.spi;
	esph->seq_no = htonl(lower_32_bits(o->seq));
	/*
	 * The IV: random for CBC, which needs it unpredictable (RFC 3602;
	 * xfrm uses echainiv), else the sequence number XORed with the SA's
	 * random iv_salt (as crypto/seqiv.c does): unique per packet for the
	 * SA (counter modes, RFC 3686/4106/4309/4543/7634), and unlike the
	 * bare number not repeated by an SA added again with the same key.
	 */
	if (sa->iv_random) {
		get_random_bytes(esph->enc_data, o->ivlen);
	} else {
		seqiv = cpu_to_be64(o->seq ^ sa->iv_salt);
		memset(esph->enc_data, 0, o->ivlen);
		memcpy(esph->enc_data + o->ivlen - n, (u8 *)&seqiv + 8 - n, n);
	}
}

/*
 * The context and AEAD request of one packet: the associated data and
 * the IV of @esph, then the @len bytes of @skb from @off, transformed in
 * place (@len: with the ICV; the request encrypts @len minus the ICV).
 * Returns -ENOMEM without memory, another error for a bad packet.
 */
static int esp_ctx_new(struct kipsec_sa *sa, struct sk_buff *skb,
		       const struct ip_esp_hdr *esph, u64 seq, int nfrags,
		       int off, int len, bool enc, struct esp_ctx **cp)
{
	struct crypto_aead *aead = sa->aead;
	unsigned int ivlen = crypto_aead_ivsize(aead);
	unsigned int assoclen;
	struct scatterlist *sg;
	struct esp_ctx *c;
	int err;
	u8 *iv;

	c = esp_alloc_ctx(aead, nfrags + 1);
	if (!c)
		return -ENOMEM;
	c->skb = skb;
	c->sa = sa;
	c->seq = seq;
	iv = ctx_iv(aead, c);
	c->req = ctx_req(aead, iv);
	sg = ctx_sg(aead, c->req);
	memcpy(iv, esph->enc_data, ivlen);
	assoclen = esp_fill_aad(c, esph->spi, sa->flags & KIPSEC_SA_F_ESN,
				iv, ivlen);
	sg_init_table(sg, nfrags + 1);
	sg_set_buf(sg, c->aad, assoclen);
	err = skb_to_sgvec(skb, sg + 1, off, len);
	if (unlikely(err < 0)) {
		esp_free_ctx(c);
		return err;
	}
	aead_request_set_tfm(c->req, aead);
	aead_request_set_callback(c->req, CRYPTO_TFM_REQ_MAY_BACKLOG,
				  esp_done, c);
	aead_request_set_crypt(c->req, sg, sg,
			       enc ? len - crypto_aead_authsize(aead) : len,
			       iv);
	aead_request_set_ad(c->req, assoclen);
	*cp = c;
	return 0;
}

/* encrypt; the packet continues in esp_output_finish() */
static enum kipsec_stat esp_out_crypt(struct net *net, struct kipsec_sa *sa,
				      struct sk_buff *skb,
				      const struct kipsec_encap *e,
				      const struct esp_out *o)
{
	struct esp_ctx *c;

	if (esp_ctx_new(sa, skb, ip_esp_hdr(skb), o->seq, o->nfrags,
			e->hdr_off + o->esplen, o->clen + o->icv, true, &c))
		return KIPSEC_STAT_OUT_ERROR;
	c->net = net;
	c->len = o->inner_len;
	if (!kipsec_inflight_get(net)) {
		esp_free_ctx(c);
		return KIPSEC_STAT_SA_DEAD;
	}
	kipsec_sa_hold(sa);
	c->finish = esp_output_finish;
	esp_submit(c, c->req, true, o->clen);
	return 0;
}

/**
 * kipsec_esp_output - encapsulate and send one packet
 * @net: its netns
 * @sa: the outbound SA; the caller keeps its reference
 * @skb: a non-GSO packet, skb->data at its IP header, routed (skb_dst)
 *
 * Consumes @skb: sends it (now or from the crypto completion) or drops it
 * and counts the reason.
 *
 * Return: 0, or a negative error when the packet was dropped here.
 */
int kipsec_esp_output(struct net *net, struct kipsec_sa *sa,
		      struct sk_buff *skb)
{
	struct ip_esp_hdr *esph;
	enum kipsec_stat why;
	struct kipsec_encap e;
	struct esp_out o;

	why = esp_out_sizes(sa, skb, &o);
	if (why)
		goto drop_skb;
	why = kipsec_encap_prepare(net, sa, skb, IPPROTO_ESP, &e);
	if (why)
		goto drop;
	esp_tfc(sa, &e, &o, skb->len - e.hdr_off);
	if (!kipsec_encap_fits(skb, &e,
			       esp_overhead(&o, skb->len - e.hdr_off))) {
		why = KIPSEC_STAT_OUT_ERROR;
		if (!e.tunnel || e.inner4)
			goto drop;
		kipsec_encap_release(&e);
		return kipsec_encap_frag6(net, sa, skb, kipsec_esp_output);
	}
	kipsec_encap_clamp_mss(net, skb, sa, &e, esp_pmtu_over(&o));
	why = KIPSEC_STAT_OUT_TOO_BIG;
	if (kipsec_encap_too_big(skb, sa, &e,
				 esp_overhead(&o, skb->len - e.hdr_off),
				 esp_pmtu_over(&o)))
		goto drop;
	why = kipsec_encap_next_seq(sa, &o.seq);
	if (why)
		goto drop;
	why = KIPSEC_STAT_OUT_ERROR;
	if (esp_add_trailer(skb, &e, &o) ||
	    kipsec_encap_route_skb(skb, sa, &e, o.esplen, esp_pmtu_over(&o)))
		goto drop;
	esph = kipsec_encap_push(net, sa, skb, &e, o.esplen);
	if (!esph) {
		why = KIPSEC_STAT_OUT_ROUTE;
		goto drop;
	}
	esp_write_hdr(esph, sa, &o);
	why = esp_out_crypt(net, sa, skb, &e, &o);
	if (why)
		goto drop;
	return 0;

drop:
	kipsec_encap_release(&e);
drop_skb:
	kipsec_drop(net, sa, why);
	kfree_skb(skb);
	return -EINVAL;
}

/* ---- input ---- */

static void esp_input_finish(struct esp_ctx *c, int err);

/*
 * The scatterlist entries of the packet, unshared first where decrypting
 * in place needs it; negative on error.
 */
static int esp_in_nfrags(struct sk_buff *skb)
{
	struct sk_buff *trailer;

	if (!skb_cloned(skb) && !skb_is_nonlinear(skb))
		return 1;
	if (!skb_cloned(skb) && !skb_has_frag_list(skb) &&
	    !skb_has_shared_frag(skb))
		return skb_shinfo(skb)->nr_frags + 1;
	return skb_cow_data(skb, 0, &trailer);
}

/* decrypt; the packet continues in esp_input_finish() */
static enum kipsec_stat esp_in_crypt(struct net *net, struct kipsec_sa *sa,
				     struct sk_buff *skb, int hoff, int nhoff,
				     u64 seq, __be16 sport)
{
	int hlen = hoff + sizeof(struct ip_esp_hdr) +
		   crypto_aead_ivsize(sa->aead);
	int elen = skb->len - hlen;
	struct esp_ctx *c;
	int nfrags, err;

	nfrags = esp_in_nfrags(skb);
	if (nfrags < 0)
		return KIPSEC_STAT_CRYPTO_ERROR;
	/* skb->data may have moved */
	err = esp_ctx_new(sa, skb, (struct ip_esp_hdr *)(skb->data + hoff),
			  seq, nfrags, hlen, elen, false, &c);
	if (err)
		return err == -ENOMEM ? KIPSEC_STAT_CRYPTO_ERROR :
					KIPSEC_STAT_IN_MALFORMED;
	c->net = net;
	c->hoff = hoff;
	c->nhoff = nhoff;
	c->sport = sport;
	if (!kipsec_inflight_get(net)) {
		esp_free_ctx(c);
		return KIPSEC_STAT_SA_DEAD;
	}
	/* re-routed after decryption; the device must outlive async crypto */
	skb_dst_drop(skb);
	dev_hold(skb->dev);
	skb->ip_summed = CHECKSUM_NONE;
	c->finish = esp_input_finish;
	esp_submit(c, c->req, false, elen);
	return 0;
}

/**
 * kipsec_esp_input - authenticate, decrypt and re-inject one ESP packet
 * @net: its netns
 * @sa: the SA of its SPI; the caller's reference is consumed
 * @skb: the packet at LOCAL_IN, skb->data at its outer IP header
 * @sport: ESP in UDP (its UDP header removed): the UDP source port it
 *         came with; 0 for plain ESP
 *
 * Consumes @skb: re-injects the decapsulated packet into the stack (now or
 * from the crypto completion) or drops it and counts the reason.
 *
 * Return: 0, or a negative error when the packet was dropped here.
 */
int kipsec_esp_input(struct net *net, struct kipsec_sa *sa,
		     struct sk_buff *skb, __be16 sport)
{
	struct crypto_aead *aead = sa->aead;
	enum kipsec_stat why = KIPSEC_STAT_CRYPTO_ERROR;
	struct ip_esp_hdr *esph;
	int hoff, nhoff, hlen;
	u8 proto;
	u64 seq;

	if (!aead || skb_network_offset(skb))
		goto drop;
	why = KIPSEC_STAT_IN_MALFORMED;
	hoff = kipsec_encap_find(skb, &proto, &nhoff);
	if (hoff < 0 || proto != IPPROTO_ESP)
		goto drop;
	hlen = hoff + sizeof(*esph) + crypto_aead_ivsize(aead);
	if (!pskb_may_pull(skb, hlen) ||
	    (int)(skb->len - hlen) < (int)crypto_aead_authsize(aead) + 2)
		goto drop;
	esph = (struct ip_esp_hdr *)(skb->data + hoff);
	why = kipsec_encap_replay_check(sa, esph->seq_no, &seq);
	if (!why)
		why = esp_in_crypt(net, sa, skb, hoff, nhoff, seq, sport);
	if (!why)
		return 0;

drop:
	kipsec_drop(net, sa, why);
	kfree_skb(skb);
	kipsec_sa_put(sa);
	return -EINVAL;
}

/* check and strip padding, pad length, next header and ICV */
static int esp_trailer(struct sk_buff *skb, int hlen, unsigned int icv,
		       u8 *nexthdr)
{
	u8 tr[2], pad[255], *p;
	int elen = skb->len - hlen;
	int padlen, i;

	if (skb_copy_bits(skb, skb->len - icv - 2, tr, 2))
		return -EINVAL;
	padlen = tr[0];
	if (padlen + 2 + (int)icv >= elen)
		return -EINVAL;
	p = skb_header_pointer(skb, skb->len - icv - 2 - padlen, padlen, pad);
	if (!p)
		return -EINVAL;
	for (i = 0; i < padlen; i++)
		if (p[i] != i + 1)
			return -EINVAL;
	*nexthdr = tr[1];
	return pskb_trim(skb, skb->len - icv - 2 - padlen);
}

/* after decryption: 0 when the packet goes on, else the drop reason */
static enum kipsec_stat esp_in_verdict(struct kipsec_sa *sa,
				       struct sk_buff *skb, int err, int hlen,
				       u64 seq, u8 *nexthdr)
{
	if (err)
		return err == -EBADMSG ? KIPSEC_STAT_IN_AUTH_FAIL :
					 KIPSEC_STAT_CRYPTO_ERROR;
	/*
	 * The trailer before the window: without integrity (digest_null) a
	 * forged or corrupted packet reaches this point, and must not use up
	 * the sequence number of the genuine one (xfrm_input() advances only
	 * after the type's input succeeded).
	 */
	if (esp_trailer(skb, hlen, crypto_aead_authsize(sa->aead), nexthdr))
		return KIPSEC_STAT_IN_BAD_TRAILER;
	return kipsec_encap_replay_advance(sa, seq);
}

static void esp_input_finish(struct esp_ctx *c, int err)
{
	struct sk_buff *skb = c->skb;
	struct kipsec_sa *sa = c->sa;
	struct net_device *dev = skb->dev;
	struct net *net = c->net;
	unsigned int esplen = sizeof(struct ip_esp_hdr) +
			      crypto_aead_ivsize(sa->aead);
	int hoff = c->hoff, nhoff = c->nhoff;
	__be16 sport = c->sport;
	enum kipsec_stat why;
	u64 seq = c->seq;
	u8 nexthdr;

	esp_free_ctx(c);
	why = esp_in_verdict(sa, skb, err, hoff + esplen, seq, &nexthdr);
	if (why) {
		kipsec_encap_input_drop(net, sa, skb, dev, why);
		return;
	}
	if (sa->encap.type == KIPSEC_ENCAP_ESPINUDP)
		kipsec_encap_mapping(net, sa, skb, sport);
	/*
	 * A dummy packet (RFC 4303 2.6, next header 59) is discarded
	 * silently, but only now: authentic and its sequence number taken,
	 * so that a replay of it is refused.  xfrm's esp_input_done2() fails
	 * it before xfrm_input() moves the window (XfrmInStateProtoError).
	 */
	if (nexthdr == IPPROTO_NONE) {
		kipsec_encap_input_drop(net, sa, skb, dev,
					KIPSEC_STAT_IN_DUMMY);
		return;
	}
	kipsec_encap_count(sa, net, KIPSEC_STAT_IN_PACKETS,
			   skb->len - hoff - esplen);
	kipsec_encap_deliver(net, sa, skb, dev, hoff, nhoff, esplen, nexthdr);
}
