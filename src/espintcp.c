// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: ESP in TCP (RFC 8229), the TCP upper layer protocol "espintcp"
 * as Linux's net/xfrm/espintcp.c, for kernels built without
 * CONFIG_INET_ESPINTCP.
 *
 * An IKE daemon connects a TCP socket, writes RFC 8229's "IKETCP" prefix
 * itself and sets TCP_ULP "espintcp".  From then on the stream is a
 * sequence of frames, each behind a 2-byte length that counts itself.
 * A frame starting with the 4-byte zero non-ESP marker is IKE: recvmsg()
 * returns it without the length, marker included, and sendmsg() adds the
 * length to what it is given.  Any other frame is ESP and goes to
 * kipsec's ESP input; kipsec's ESP output of an SA with espintcp
 * encapsulation goes out on the established socket of the SA's addresses
 * and ports (kipsec_espintcp_xmit()).
 *
 * Each socket with the ULP holds a reference on this module (the ULP's
 * owner, taken by tcp_set_ulp() and put by tcp_cleanup_ulp()), so the
 * module cannot go while one is open; close restores TCP's callbacks and
 * frees the context before TCP closes the socket.
 */

#include <linux/module.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>
#include <net/inet6_hashtables.h>
#include <net/inet_common.h>
#include <net/strparser.h>
#include <net/tcp.h>
#include "datapath.h"

/* the length field counts itself and is 16 bits */
#define ESPINTCP_MAX_MSG	(U16_MAX - 2)

/**
 * struct espintcp_msg - the frame being written to the socket
 * @skb: the frame's skb; NULL when none
 * @offset: where the unsent bytes start in @skb
 * @len: the unsent bytes; 0 when none
 */
struct espintcp_msg {
	struct sk_buff *skb;
	int offset;
	int len;
};

/**
 * struct kipsec_espintcp - the ULP's context of one TCP socket
 * @strp: cuts the received stream into frames; its callbacks run with
 *        the socket locked (bh_lock_sock() from ->sk_data_ready, or
 *        lock_sock() from the strparser's work)
 * @ike_queue: IKE frames (non-ESP marker first) for recvmsg(); its own
 *             lock
 * @out_queue: ESP packets from kipsec_espintcp_xmit() not yet written,
 *             at most netdev_max_backlog; its own lock.  Written to the
 *             socket by @work only, with the socket locked (lock_sock()):
 *             the ESP output may run inside this very socket's receive
 *             path (an inner packet answered while its ESP frame is
 *             being parsed), where taking the socket lock would deadlock
 * @partial: the frame being written, under the socket lock
 * @work: writes @partial and @out_queue (lock_sock()); scheduled by
 *        kipsec_espintcp_xmit() and by ->sk_write_space
 * @saved_data_ready: TCP's callback, restored on close
 * @saved_write_space: TCP's callback, restored on close
 * @saved_prot: TCP's struct proto (tcp_prot or tcpv6_prot), restored on
 *              close
 *
 * Reached through inet_csk(sk)->icsk_ulp_data.  The ESP output uses it
 * under rcu_read_lock() only after seeing the ULP's struct proto on the
 * socket; close puts TCP's back and waits a grace period before freeing.
 */
struct kipsec_espintcp {
	struct strparser strp;
	struct sk_buff_head ike_queue;
	struct sk_buff_head out_queue;
	struct espintcp_msg partial;
	struct work_struct work;
	void (*saved_data_ready)(struct sock *sk);
	void (*saved_write_space)(struct sock *sk);
	struct proto *saved_prot;
};

/**
 * struct espintcp_protos - TCP's operations with the ULP's in place
 * @prot: tcp_prot or tcpv6_prot, sendmsg, recvmsg and close replaced
 * @ops: inet_stream_ops or inet6_stream_ops, poll replaced
 *
 * Built once (IPv4 at load, IPv6 from the first IPv6 socket, under
 * espintcp6_mutex), then read only.
 */
struct espintcp_protos {
	struct proto prot;
	/* not const: a copy of TCP's, made at run time */
	struct
	proto_ops ops;
};

static struct espintcp_protos espintcp4;
static struct espintcp_protos espintcp6;
static DEFINE_MUTEX(espintcp6_mutex);
static bool espintcp_registered;

static struct kipsec_espintcp *getctx(const struct sock *sk)
{
	return (__force void *)rcu_dereference_raw(inet_csk(sk)->icsk_ulp_data);
}

/* the socket carries this ULP (not closed yet) */
static bool is_espintcp(const struct sock *sk)
{
	const struct proto *p = READ_ONCE(sk->sk_prot);

	return p == &espintcp4.prot || p == &espintcp6.prot;
}

/* ---- receive ---- */

static bool sk_is_v4(const struct sock *sk)
{
	return sk->sk_family == AF_INET ||
	       ipv6_addr_v4mapped(&sk->sk_v6_daddr);
}

/*
 * The link-layer header of the TCP segment that carried the frame, in
 * front of the new packet: the decapsulated packet is re-injected on the
 * device as if it had arrived there (packet sockets read it), and
 * skb_mac_header_rebuild() needs a header set.  None (length 0) when the
 * segment has no Ethernet header.
 */
static void copy_mac(struct sk_buff *skb, const struct sk_buff *frame)
{
	skb_reset_mac_header(skb);
	skb->mac_len = 0;
	if (!skb_mac_header_was_set(frame) || frame->mac_len != ETH_HLEN)
		return;
	memcpy(skb->data - ETH_HLEN, skb_mac_header(frame), ETH_HLEN);
	skb_set_mac_header(skb, -ETH_HLEN);
	skb->mac_len = ETH_HLEN;
}

/*
 * The ESP frame as an ESP packet behind an IP header from the peer to
 * this host, which is what kipsec's ESP input takes: a copy, since the
 * frame's data is shared with TCP's receive queue.
 */
static struct sk_buff *esp_packet(struct sock *sk, struct sk_buff *frame)
{
	bool v4 = sk_is_v4(sk);
	int hlen = v4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	struct sk_buff *skb;

	skb = alloc_skb(LL_MAX_HEADER + hlen + frame->len, GFP_ATOMIC);
	if (!skb)
		return NULL;
	skb_reserve(skb, LL_MAX_HEADER);
	skb_put(skb, hlen + frame->len);
	if (skb_copy_bits(frame, 0, skb->data + hlen, frame->len)) {
		kfree_skb(skb);
		return NULL;
	}
	skb_reset_network_header(skb);
	copy_mac(skb, frame);
	if (v4) {
		struct iphdr *iph = ip_hdr(skb);

		*iph = (struct iphdr){ .version = 4, .ihl = 5, .ttl = 64,
				       .protocol = IPPROTO_ESP,
				       .tot_len = htons(skb->len),
				       .saddr = sk->sk_daddr,
				       .daddr = sk->sk_rcv_saddr };
		ip_send_check(iph);
		skb->protocol = htons(ETH_P_IP);
	} else {
		struct ipv6hdr *ip6h = ipv6_hdr(skb);

		*ip6h = (struct ipv6hdr){ .version = 6, .hop_limit = 64,
					  .nexthdr = IPPROTO_ESP,
					  .saddr = sk->sk_v6_daddr,
					  .daddr = sk->sk_v6_rcv_saddr };
		ip6h->payload_len = htons(frame->len);
		skb->protocol = htons(ETH_P_IPV6);
	}
	return skb;
}

/* the inbound SA of an ESP packet built by esp_packet(), with a reference */
static struct kipsec_sa *esp_sa(struct net *net, struct sk_buff *skb)
{
	bool v4 = skb->protocol == htons(ETH_P_IP);
	int hlen = v4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	__be32 spi = *(__be32 *)(skb->data + hlen);
	xfrm_address_t daddr = {};

	if (v4)
		daddr.a4 = ip_hdr(skb)->daddr;
	else
		daddr.in6 = ipv6_hdr(skb)->daddr;
	return kipsec_sa_lookup(net, v4 ? AF_INET : AF_INET6, &daddr, spi,
				IPPROTO_ESP);
}

/*
 * An ESP frame, as handle_esp() gives it to xfrm4_rcv_encap(): to the SA
 * of its SPI, which must have espintcp encapsulation (xfrm_input()
 * compares the encapsulation type).
 */
static void handle_esp(struct sock *sk, struct sk_buff *frame)
{
	struct net *net = sock_net(sk);
	enum kipsec_stat why;
	struct kipsec_sa *sa;
	int iif = frame->skb_iif;
	struct sk_buff *skb;

	skb = esp_packet(sk, frame);
	consume_skb(frame);
	if (!skb) {
		kipsec_drop(net, NULL, KIPSEC_STAT_IN_MALFORMED);
		return;
	}
	rcu_read_lock();
	skb->dev = dev_get_by_index_rcu(net, iif) ?: net->loopback_dev;
	sa = esp_sa(net, skb);
	why = sa ? kipsec_hooks_refused(sa, KIPSEC_ENCAP_ESPINTCP) :
		   KIPSEC_STAT_IN_NO_SA;
	if (why) {
		kipsec_drop(net, sa, why);
		kfree_skb(skb);
		if (sa)
			kipsec_sa_put(sa);
	} else {
		local_bh_disable();
		kipsec_esp_input(net, sa, skb, 0);	/* consumes both */
		local_bh_enable();
	}
	rcu_read_unlock();
}

static void handle_ike(struct kipsec_espintcp *ctx, struct sock *sk,
		       struct sk_buff *skb)
{
	if (atomic_read(&sk->sk_rmem_alloc) >= sk->sk_rcvbuf ||
	    !sk_rmem_schedule(sk, skb, skb->truesize)) {
		kipsec_drop(sock_net(sk), NULL, KIPSEC_STAT_IN_MALFORMED);
		kfree_skb(skb);
		return;
	}
	skb_set_owner_r(skb, sk);
	memset(skb->cb, 0, sizeof(skb->cb));
	skb_queue_tail(&ctx->ike_queue, skb);
	ctx->saved_data_ready(sk);
}

/* one frame: drop keepalives (a single 0xff) and runts, strip the length */
static void espintcp_rcv(struct strparser *strp, struct sk_buff *skb)
{
	struct kipsec_espintcp *ctx = container_of(strp, typeof(*ctx), strp);
	struct strp_msg *rxm = strp_msg(skb);
	int len = rxm->full_len - 2;
	u32 marker;
	u8 ka;

	if (len == 1 && !skb_copy_bits(skb, rxm->offset + 2, &ka, 1) &&
	    ka == 0xff) {
		consume_skb(skb);
		return;
	}
	if (len <= (int)sizeof(marker) ||
	    skb_copy_bits(skb, rxm->offset + 2, &marker, sizeof(marker)) ||
	    !pskb_pull(skb, rxm->offset + 2) || pskb_trim(skb, len)) {
		kipsec_drop(sock_net(strp->sk), NULL,
			    KIPSEC_STAT_IN_MALFORMED);
		kfree_skb(skb);
		return;
	}
	if (!marker)
		handle_ike(ctx, strp->sk, skb);
	else
		handle_esp(strp->sk, skb);
}

static int espintcp_parse(struct strparser *strp, struct sk_buff *skb)
{
	struct strp_msg *rxm = strp_msg(skb);
	__be16 blen;

	if (skb->len < rxm->offset + 2)
		return 0;
	if (skb_copy_bits(skb, rxm->offset, &blen, sizeof(blen)))
		return -EINVAL;
	return be16_to_cpu(blen) < 2 ? -EINVAL : be16_to_cpu(blen);
}

static int espintcp_recvmsg(struct sock *sk, struct msghdr *msg, size_t len,
			    int flags, int *addr_len)
{
	struct kipsec_espintcp *ctx = getctx(sk);
	struct sk_buff *skb;
	int err = 0, off = 0;
	int copied;

	skb = __skb_recv_datagram(sk, &ctx->ike_queue, flags, &off, &err);
	if (!skb) {
		if (err == -EAGAIN && sk->sk_shutdown & RCV_SHUTDOWN)
			return 0;
		return err;
	}
	copied = min_t(size_t, len, skb->len);
	if (copied < skb->len)
		msg->msg_flags |= MSG_TRUNC;
	err = skb_copy_datagram_msg(skb, 0, msg, copied);
	if (!err && (flags & MSG_TRUNC))
		copied = skb->len;
	kfree_skb(skb);
	return err ?: copied;
}

/* ---- send ---- */

/* write the partial frame; -EAGAIN when the send buffer is full */
static int push_partial(struct sock *sk, struct kipsec_espintcp *ctx)
{
	struct espintcp_msg *m = &ctx->partial;
	int ret;

	sock_owned_by_me(sk);
	while (m->len > 0) {
		ret = skb_send_sock_locked(sk, m->skb, m->offset, m->len);
		if (ret < 0)
			return ret;
		m->len -= ret;
		m->offset += ret;
	}
	consume_skb(m->skb);
	memset(m, 0, sizeof(*m));
	return 0;
}

/* the frame becomes the partial one: there must be none */
static void start_frame(struct sock *sk, struct kipsec_espintcp *ctx,
			struct sk_buff *skb, int offset)
{
	skb_set_owner_w(skb, sk);
	ctx->partial.skb = skb;
	ctx->partial.offset = offset;
	ctx->partial.len = skb->len - offset;
}

/*
 * Write what is pending, in order: the partial frame, then the ESP
 * packets queued by kipsec_espintcp_xmit().  Stops while the send buffer
 * is full; ->sk_write_space schedules the work again.
 */
static void push_pending(struct sock *sk, struct kipsec_espintcp *ctx)
{
	struct sk_buff *skb;
	int err;

	for (;;) {
		err = push_partial(sk, ctx);
		if (err == -EAGAIN)
			return;
		if (err) {
			kfree_skb(ctx->partial.skb);
			memset(&ctx->partial, 0, sizeof(ctx->partial));
		}
		skb = skb_dequeue(&ctx->out_queue);
		if (!skb)
			return;
		if (sk->sk_state != TCP_ESTABLISHED) {
			kfree_skb(skb);
			continue;
		}
		/* the 2-byte length is right in front of the ESP header */
		start_frame(sk, ctx, skb, skb_transport_offset(skb) - 2);
	}
}

static void espintcp_tx_work(struct work_struct *work)
{
	struct kipsec_espintcp *ctx = container_of(work, typeof(*ctx), work);
	struct sock *sk = ctx->strp.sk;

	lock_sock(sk);
	push_pending(sk, ctx);
	release_sock(sk);
}

static void espintcp_write_space(struct sock *sk)
{
	struct kipsec_espintcp *ctx = getctx(sk);

	schedule_work(&ctx->work);
	ctx->saved_write_space(sk);
}

/* an IKE message from user space, behind its length */
static struct sk_buff *ike_frame(struct sock *sk, struct msghdr *msg,
				 size_t size)
{
	struct sk_buff *skb;

	skb = alloc_skb(size + 2, sk->sk_allocation);
	if (!skb)
		return ERR_PTR(-ENOBUFS);
	put_unaligned_be16(size + 2, skb_put(skb, 2));
	if (memcpy_from_msg(skb_put(skb, size), msg, size)) {
		kfree_skb(skb);
		return ERR_PTR(-EFAULT);
	}
	return skb;
}

static int espintcp_sendmsg(struct sock *sk, struct msghdr *msg, size_t size)
{
	struct kipsec_espintcp *ctx = getctx(sk);
	struct sk_buff *skb;
	int err;

	if (msg->msg_flags & ~MSG_DONTWAIT || msg->msg_controllen)
		return -EOPNOTSUPP;
	if (size > ESPINTCP_MAX_MSG)
		return -EMSGSIZE;
	skb = ike_frame(sk, msg, size);
	if (IS_ERR(skb))
		return PTR_ERR(skb);
	lock_sock(sk);
	err = push_partial(sk, ctx);
	if (err || ctx->partial.len) {
		release_sock(sk);
		kfree_skb(skb);
		return err == -EAGAIN && (msg->msg_flags & MSG_DONTWAIT) ?
		       -EAGAIN : -ENOBUFS;
	}
	start_frame(sk, ctx, skb, 0);
	/* what does not go now goes from the work on write space */
	push_partial(sk, ctx);
	release_sock(sk);
	return size;
}

/* ---- output of kipsec's ESP ---- */

/*
 * The established TCP socket of an outbound SA, as esp_find_tcp_sk():
 * local address and port the SA's source and encap sport, remote its
 * destination and encap dport.  With a reference, or NULL.
 */
static struct sock *sa_sock(struct net *net, struct kipsec_sa *sa)
{
	struct inet_hashinfo *hi = net->ipv4.tcp_death_row.hashinfo;
	struct sock *sk;

	if (sa->key.family == AF_INET)
		sk = inet_lookup_established(net, hi, sa->key.daddr.a4,
					     sa->encap.dport, sa->saddr.a4,
					     sa->encap.sport, 0);
	else
		sk = __inet6_lookup_established(net, hi, &sa->key.daddr.in6,
						sa->encap.dport,
						&sa->saddr.in6,
						ntohs(sa->encap.sport), 0, 0);
	if (sk && (!sk_fullsock(sk) || !is_espintcp(sk))) {
		sock_gen_put(sk);
		sk = NULL;
	}
	return sk;
}

/**
 * kipsec_espintcp_xmit - send an ESP packet of an espintcp SA
 * @net: its netns
 * @sa: the outbound SA
 * @skb: the packet from kipsec_encap_push(): the frame's 2-byte length
 *       right in front of the ESP header (the transport header), the
 *       IP header before it unused; consumed
 *
 * Queues the frame on the SA's socket for its work, which writes it with
 * the socket locked.  Any context.
 *
 * Return: 0, or the drop reason (@skb is freed).
 */
enum kipsec_stat kipsec_espintcp_xmit(struct net *net, struct kipsec_sa *sa,
				      struct sk_buff *skb)
{
	struct kipsec_espintcp *ctx;
	enum kipsec_stat why = 0;
	struct sock *sk;

	skb_dst_drop(skb);
	skb_orphan(skb);
	rcu_read_lock();
	sk = sa_sock(net, sa);
	if (!sk) {
		why = KIPSEC_STAT_OUT_NO_TCP_SK;
		goto out;
	}
	ctx = getctx(sk);
	if (skb_queue_len(&ctx->out_queue) >= READ_ONCE(netdev_max_backlog)) {
		why = KIPSEC_STAT_OUT_ERROR;
	} else {
		skb_queue_tail(&ctx->out_queue, skb);
		schedule_work(&ctx->work);
		skb = NULL;
	}
	sock_gen_put(sk);
out:
	rcu_read_unlock();
	kfree_skb(skb);
	return why;
}

/* ---- the ULP ---- */

static void espintcp_data_ready(struct sock *sk)
{
	strp_data_ready(&getctx(sk)->strp);
}

static __poll_t espintcp_poll(struct file *file, struct socket *sock,
			      poll_table *wait)
{
	__poll_t mask = datagram_poll(file, sock, wait);

	if (!skb_queue_empty(&getctx(sock->sk)->ike_queue))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

/*
 * Back to plain TCP, then TCP's close.  Once TCP's callbacks and proto
 * are back (under the socket lock, so no receive path runs meanwhile)
 * and a grace period has passed (kipsec_espintcp_xmit() checks the proto
 * under RCU), nothing but this function reaches the context.
 */
static void espintcp_close(struct sock *sk, long timeout)
{
	struct kipsec_espintcp *ctx = getctx(sk);

	lock_sock(sk);
	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_data_ready = ctx->saved_data_ready;
	sk->sk_write_space = ctx->saved_write_space;
	write_unlock_bh(&sk->sk_callback_lock);
	WRITE_ONCE(sk->sk_prot, ctx->saved_prot);
	strp_stop(&ctx->strp);
	release_sock(sk);
	synchronize_rcu();
	cancel_work_sync(&ctx->work);
	strp_done(&ctx->strp);
	skb_queue_purge(&ctx->out_queue);
	skb_queue_purge(&ctx->ike_queue);
	kfree_skb(ctx->partial.skb);
	rcu_assign_pointer(inet_csk(sk)->icsk_ulp_data, NULL);
	kfree(ctx);
	sk->sk_prot->close(sk, timeout);
}

static void build_protos(struct espintcp_protos *p,
			 const struct proto *orig_prot,
			 const struct proto_ops *orig_ops)
{
	p->prot = *orig_prot;
	p->ops = *orig_ops;
	p->prot.sendmsg = espintcp_sendmsg;
	p->prot.recvmsg = espintcp_recvmsg;
	p->prot.close = espintcp_close;
	p->ops.poll = espintcp_poll;
}

static void espintcp_set_protos(struct sock *sk)
{
	if (sk->sk_family == AF_INET) {
		WRITE_ONCE(sk->sk_prot, &espintcp4.prot);
		sk->sk_socket->ops = &espintcp4.ops;
		return;
	}
	/* tcpv6_prot is not exported: copied from the first IPv6 socket */
	mutex_lock(&espintcp6_mutex);
	if (!espintcp6.prot.recvmsg)
		build_protos(&espintcp6, sk->sk_prot, sk->sk_socket->ops);
	mutex_unlock(&espintcp6_mutex);
	WRITE_ONCE(sk->sk_prot, &espintcp6.prot);
	sk->sk_socket->ops = &espintcp6.ops;
}

static int espintcp_init_sk(struct sock *sk)
{
	struct strp_callbacks cb = {
		.rcv_msg = espintcp_rcv,
		.parse_msg = espintcp_parse,
	};
	struct kipsec_espintcp *ctx;
	int err;

	/* sockmap is not compatible with espintcp */
	if (sk->sk_user_data || !sk->sk_socket)
		return -EBUSY;
	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	err = strp_init(&ctx->strp, sk, &cb);
	if (err) {
		kfree(ctx);
		return err;
	}
	__sk_dst_reset(sk);
	skb_queue_head_init(&ctx->ike_queue);
	skb_queue_head_init(&ctx->out_queue);
	INIT_WORK(&ctx->work, espintcp_tx_work);
	ctx->saved_prot = sk->sk_prot;
	espintcp_set_protos(sk);
	ctx->saved_data_ready = sk->sk_data_ready;
	ctx->saved_write_space = sk->sk_write_space;
	rcu_assign_pointer(inet_csk(sk)->icsk_ulp_data, ctx);
	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_data_ready = espintcp_data_ready;
	sk->sk_write_space = espintcp_write_space;
	write_unlock_bh(&sk->sk_callback_lock);
	/* frames are built in softirq context too: no task_frag */
	sk->sk_allocation = GFP_ATOMIC;
	sk->sk_use_task_frag = false;
	strp_check_rcv(&ctx->strp);
	return 0;
}

static struct tcp_ulp_ops espintcp_ulp __read_mostly = {
	.name = "espintcp",
	.owner = THIS_MODULE,
	.init = espintcp_init_sk,
};

/**
 * kipsec_espintcp_available - espintcp SAs can be used
 *
 * Return: true when kipsec registered the "espintcp" ULP.
 */
bool kipsec_espintcp_available(void)
{
	return espintcp_registered;
}

/**
 * kipsec_espintcp_init - register the "espintcp" TCP ULP
 *
 * A kernel with its own espintcp (CONFIG_INET_ESPINTCP) keeps it: kipsec
 * then refuses espintcp SAs, since sockets would carry xfrm's ULP.
 */
void kipsec_espintcp_init(void)
{
	int err;

	build_protos(&espintcp4, &tcp_prot, &inet_stream_ops);
	err = tcp_register_ulp(&espintcp_ulp);
	if (err)
		pr_info("kipsec: TCP ULP \"espintcp\" not registered (%d): no ESP in TCP\n",
			err);
	espintcp_registered = !err;
}

/* every socket with the ULP holds a module reference: none is left */
void kipsec_espintcp_exit(void)
{
	if (espintcp_registered)
		tcp_unregister_ulp(&espintcp_ulp);
}
