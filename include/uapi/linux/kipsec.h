/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kipsec: generic netlink API of the kipsec IPsec datapath module.
 *
 * Shared by the kernel module (src/) and the kipsec CLI (tools/).
 * The family is described in docs/netlink.md and docs/kipsec.yaml.
 *
 * Addresses are carried as struct xfrm_address_t-sized binary attributes
 * (4 bytes for AF_INET, 16 for AF_INET6), ports and SPIs in network byte
 * order, everything else in host byte order.
 */
#ifndef _UAPI_LINUX_KIPSEC_H
#define _UAPI_LINUX_KIPSEC_H

#include <linux/types.h>

#define KIPSEC_GENL_NAME	"kipsec"
#define KIPSEC_GENL_VERSION	1

/* Largest anti-replay window, in packets, that the module accepts. */
#define KIPSEC_REPLAY_WINDOW_MAX	65536

/* Capability bits reported by KIPSEC_CMD_INFO_GET in KIPSEC_A_INFO_CAPS */
enum kipsec_caps {
	KIPSEC_CAP_ESP		= 1 << 0,
	KIPSEC_CAP_AH		= 1 << 1,
	KIPSEC_CAP_ESN		= 1 << 2,
	KIPSEC_CAP_IPV6		= 1 << 3,
	KIPSEC_CAP_TUNNEL	= 1 << 4,
	KIPSEC_CAP_TRANSPORT	= 1 << 5,
	KIPSEC_CAP_NATT		= 1 << 6,	/* ESP in UDP (RFC 3948) */
};

enum kipsec_cmd {
	KIPSEC_CMD_UNSPEC,
	KIPSEC_CMD_INFO_GET,	/* version, capabilities, counts */
	KIPSEC_CMD_SA_NEW,	/* state add (NLM_F_REPLACE: state update) */
	KIPSEC_CMD_SA_DEL,	/* state delete */
	KIPSEC_CMD_SA_GET,	/* state get; with NLM_F_DUMP: state list */
	KIPSEC_CMD_SA_FLUSH,	/* state flush [proto P] */
	KIPSEC_CMD_POLICY_NEW,	/* policy add (NLM_F_REPLACE: update) */
	KIPSEC_CMD_POLICY_DEL,	/* policy delete */
	KIPSEC_CMD_POLICY_GET,	/* policy get; with NLM_F_DUMP: list */
	KIPSEC_CMD_POLICY_FLUSH, /* policy flush */
	KIPSEC_CMD_STATS_GET,	/* global drop counters (like xfrm_stat) */
	/*
	 * Notifications only, on the "events" multicast group (never
	 * requests).  SA_NEW, SA_DEL, SA_FLUSH, POLICY_NEW, POLICY_DEL and
	 * POLICY_FLUSH are also sent there when an SA or a policy is added,
	 * deleted or flushed.
	 */
	KIPSEC_CMD_SA_EXPIRE,	/* SA lifetime reached; KIPSEC_A_EV_HARD */
	KIPSEC_CMD_SA_UPD,	/* SA updated (state update) */
	KIPSEC_CMD_POLICY_UPD,	/* policy updated (policy update) */
	KIPSEC_CMD_ACQUIRE,	/* a PROTECT policy found no SA (notification) */
	KIPSEC_CMD_POLICY_EXPIRE, /* policy lifetime reached; KIPSEC_A_EV_HARD */
	KIPSEC_CMD_SA_ALLOCSPI,	/* state allocspi: reserve an SPI, larval SA */
	/*
	 * Notification: an authentic ESP-in-UDP packet came from another
	 * address or UDP source port than its inbound SA's (NAT mapping
	 * changed, as XFRM_MSG_MAPPING).  The SA is left as it is.  Carries
	 * the SA's FAMILY, DST, PROTO, SPI, REQID, its SRC and ENCAP (the
	 * old mapping) and KIPSEC_A_EV_NEW_ADDR, KIPSEC_A_EV_NEW_SPORT.
	 */
	KIPSEC_CMD_MAPPING,

	__KIPSEC_CMD_MAX,
	KIPSEC_CMD_MAX = __KIPSEC_CMD_MAX - 1
};

/* IPsec mode, KIPSEC_A_SA_MODE and KIPSEC_A_TMPL_MODE */
enum kipsec_mode {
	KIPSEC_MODE_TRANSPORT,
	KIPSEC_MODE_TUNNEL,
};

/*
 * Policy type, KIPSEC_A_POL_PTYPE (values as XFRM_POLICY_TYPE_MAIN/SUB):
 * only MAIN is supported; SUB is refused.
 */
enum kipsec_ptype {
	KIPSEC_PTYPE_MAIN,
	KIPSEC_PTYPE_SUB,
};

/* Policy direction, KIPSEC_A_POL_DIR (values as XFRM_POLICY_IN/OUT/FWD) */
enum kipsec_dir {
	KIPSEC_DIR_IN,
	KIPSEC_DIR_OUT,
	KIPSEC_DIR_FWD,
	KIPSEC_DIR_MAX = KIPSEC_DIR_FWD
};

/* Policy action, KIPSEC_A_POL_ACTION */
enum kipsec_action {
	KIPSEC_ACTION_ALLOW,	/* with a template: PROTECT, else BYPASS */
	KIPSEC_ACTION_BLOCK,	/* DISCARD */
};

/* Template level, KIPSEC_A_TMPL_LEVEL */
enum kipsec_level {
	KIPSEC_LEVEL_REQUIRED,
	KIPSEC_LEVEL_USE,
};

/* SA flags, KIPSEC_A_SA_FLAGS */
enum kipsec_sa_flags {
	KIPSEC_SA_F_ESN		= 1 << 0,
	KIPSEC_SA_F_AF_UNSPEC	= 1 << 1,
	KIPSEC_SA_F_NOECN	= 1 << 2,
	KIPSEC_SA_F_NOPMTUDISC	= 1 << 3,
	KIPSEC_SA_F_ALIGN4	= 1 << 4,	/* AH over IPv4: 32-bit padding */
	/* tunnel decapsulation: the outer DSCP replaces the inner one */
	KIPSEC_SA_F_DECAP_DSCP	= 1 << 5,
	/*
	 * inbound: an ICMP error that the inbound policy refuses is checked
	 * again as the reverse of the flow it quotes
	 */
	KIPSEC_SA_F_ICMP	= 1 << 6,
};

/*
 * Policy flags, KIPSEC_A_POL_FLAGS (values as XFRM_POLICY_*: bit 0,
 * xfrm's localok, is not supported).
 */
enum kipsec_pol_flags {
	/*
	 * outbound: an ICMP error this host sends that no PROTECT policy
	 * covers takes this policy when it covers the reverse of the flow
	 * the error quotes
	 */
	KIPSEC_POL_F_ICMP	= 1 << 1,
};

/* SA extra flags, KIPSEC_A_SA_EXTRA_FLAGS (values of XFRM_SA_XFLAG_*) */
enum kipsec_sa_xflags {
	KIPSEC_SA_XF_DONT_ENCAP_DSCP	= 1 << 0,	/* outer DSCP 0 */
};

/*
 * Counters.  Every counter is kept per SA where an SA is known and in the
 * per-netns global table; both are dumped as nested attributes whose type
 * is the counter's index here, with a u64 value.
 */
enum kipsec_stat {
	KIPSEC_STAT_UNSPEC,
	KIPSEC_STAT_OUT_PACKETS,
	KIPSEC_STAT_OUT_BYTES,
	KIPSEC_STAT_IN_PACKETS,
	KIPSEC_STAT_IN_BYTES,
	/* drop reasons */
	KIPSEC_STAT_IN_AUTH_FAIL,	/* ICV mismatch */
	KIPSEC_STAT_IN_REPLAY,		/* sequence number already seen */
	KIPSEC_STAT_IN_WINDOW,		/* sequence number left of the window */
	KIPSEC_STAT_IN_BAD_TRAILER,	/* bad padding or next header */
	KIPSEC_STAT_IN_NO_SA,		/* no SA for the SPI */
	KIPSEC_STAT_IN_MALFORMED,	/* too short, bad header */
	KIPSEC_STAT_IN_POLICY_MISMATCH,	/* decapsulated packet not allowed */
	KIPSEC_STAT_IN_PLAINTEXT,	/* plaintext matching a PROTECT policy */
	KIPSEC_STAT_IN_SELECTOR,	/* inner packet outside the SA selector */
	KIPSEC_STAT_IN_DISCARD,		/* matched a block policy */
	KIPSEC_STAT_OUT_NO_SA,		/* no usable SA for a PROTECT policy */
	KIPSEC_STAT_OUT_DISCARD,	/* matched a block policy */
	KIPSEC_STAT_OUT_SEQ_OVERFLOW,	/* SA sequence number exhausted */
	KIPSEC_STAT_OUT_ROUTE,		/* no route for the outer packet */
	KIPSEC_STAT_OUT_ERROR,		/* skb allocation, GSO, headroom */
	KIPSEC_STAT_CRYPTO_ERROR,	/* crypto API error other than auth */
	KIPSEC_STAT_SA_DEAD,		/* SA deleted while packet in flight */
	KIPSEC_STAT_IN_FRAGMENT,	/* IPv6 fragment not reassembled */
	KIPSEC_STAT_SA_EXPIRED,		/* SA past its hard lifetime */
	KIPSEC_STAT_IN_STATE_INVALID,	/* inbound SA is larval (no keys yet) */
	KIPSEC_STAT_ICMP_PMTU,		/* ICMP frag needed / packet too big */
	KIPSEC_STAT_IN_ENCAP_MISMATCH,	/* plain ESP to an encap SA */
	KIPSEC_STAT_IN_DUMMY,		/* dummy packet (next header 59) */
	KIPSEC_STAT_OUT_TOO_BIG,	/* DF packet over the path MTU */
	KIPSEC_STAT_OUT_NO_TCP_SK,	/* espintcp SA: no TCP socket */
	KIPSEC_STAT_MSS_CLAMPED,	/* TCP SYN's MSS lowered, not a drop */

	__KIPSEC_STAT_MAX,
	KIPSEC_STAT_MAX = __KIPSEC_STAT_MAX - 1
};

/*
 * SA state, KIPSEC_A_SA_STATE.  A larval SA has an SPI (state allocspi)
 * or none (SPI 0: an acquire in progress) and no algorithms; the
 * datapath never uses it.  State update/add makes it mature.
 */
enum kipsec_sa_state {
	KIPSEC_SA_STATE_LARVAL,
	KIPSEC_SA_STATE_MATURE,
	KIPSEC_SA_STATE_DEAD,
};

/* Selector, nested in KIPSEC_A_SA_SEL and KIPSEC_A_POL_SEL */
enum kipsec_sel_attr {
	KIPSEC_A_SEL_UNSPEC,
	KIPSEC_A_SEL_FAMILY,	/* u16 AF_INET/AF_INET6 */
	KIPSEC_A_SEL_SRC,	/* binary, 4 or 16 bytes */
	KIPSEC_A_SEL_DST,	/* binary, 4 or 16 bytes */
	KIPSEC_A_SEL_SPLEN,	/* u8 */
	KIPSEC_A_SEL_DPLEN,	/* u8 */
	KIPSEC_A_SEL_PROTO,	/* u8, 0 = any */
	KIPSEC_A_SEL_SPORT,	/* be16; for ICMP: type */
	KIPSEC_A_SEL_DPORT,	/* be16; for ICMP: code */

	__KIPSEC_A_SEL_MAX,
	KIPSEC_A_SEL_MAX = __KIPSEC_A_SEL_MAX - 1
};

/* Policy template, nested in KIPSEC_A_POL_TMPL */
enum kipsec_tmpl_attr {
	KIPSEC_A_TMPL_UNSPEC,
	KIPSEC_A_TMPL_FAMILY,	/* u16, family of SRC/DST */
	KIPSEC_A_TMPL_SRC,	/* binary, may be absent (any) */
	KIPSEC_A_TMPL_DST,	/* binary, may be absent (any) */
	KIPSEC_A_TMPL_PROTO,	/* u8 IPPROTO_ESP/IPPROTO_AH */
	KIPSEC_A_TMPL_SPI,	/* be32, 0 = any */
	KIPSEC_A_TMPL_REQID,	/* u32, 0 = any */
	KIPSEC_A_TMPL_MODE,	/* u8 enum kipsec_mode */
	KIPSEC_A_TMPL_LEVEL,	/* u8 enum kipsec_level */

	__KIPSEC_A_TMPL_MAX,
	KIPSEC_A_TMPL_MAX = __KIPSEC_A_TMPL_MAX - 1
};

/*
 * Lifetime limits, nested in KIPSEC_A_SA_LIFETIME and KIPSEC_A_POL_LIFETIME
 * (as struct xfrm_lifetime_cfg; ip xfrm's "limit" keywords).  All u64; 0
 * or absent means no limit.  Times are in seconds: *_ADD_* from the
 * creation, *_USE_* from an SA's first packet, or from a policy's last
 * use (its creation when unused), as xfrm.  Policies, as xfrm's, keep
 * the byte and packet limits but do not enforce them.
 */
enum kipsec_lft_attr {
	KIPSEC_A_LFT_UNSPEC,
	KIPSEC_A_LFT_PAD,
	KIPSEC_A_LFT_SOFT_BYTES,	/* byte-soft */
	KIPSEC_A_LFT_HARD_BYTES,	/* byte-hard */
	KIPSEC_A_LFT_SOFT_PACKETS,	/* packet-soft */
	KIPSEC_A_LFT_HARD_PACKETS,	/* packet-hard */
	KIPSEC_A_LFT_SOFT_ADD,		/* time-soft */
	KIPSEC_A_LFT_HARD_ADD,		/* time-hard */
	KIPSEC_A_LFT_SOFT_USE,		/* time-use-soft */
	KIPSEC_A_LFT_HARD_USE,		/* time-use-hard */

	__KIPSEC_A_LFT_MAX,
	KIPSEC_A_LFT_MAX = __KIPSEC_A_LFT_MAX - 1
};

/*
 * Current usage, nested in KIPSEC_A_SA_CURLFT and KIPSEC_A_POL_CURLFT (as
 * struct xfrm_lifetime_cur); sent by the kernel only.  All u64.  A
 * policy's has ADD_TIME and USE_TIME only (its packets are in
 * KIPSEC_A_POL_STATS), and its USE_TIME is the last use.
 */
enum kipsec_curlft_attr {
	KIPSEC_A_CURLFT_UNSPEC,
	KIPSEC_A_CURLFT_PAD,
	KIPSEC_A_CURLFT_BYTES,		/* bytes in and out */
	KIPSEC_A_CURLFT_PACKETS,	/* packets in and out */
	KIPSEC_A_CURLFT_ADD_TIME,	/* creation, seconds since the epoch */
	KIPSEC_A_CURLFT_USE_TIME,	/* first packet, 0 when none yet */

	__KIPSEC_A_CURLFT_MAX,
	KIPSEC_A_CURLFT_MAX = __KIPSEC_A_CURLFT_MAX - 1
};

/*
 * Encapsulation type, KIPSEC_A_ENCAP_TYPE (values as the UDP_ENCAP_* and
 * TCP_ENCAP_* constants of linux/udp.h): ESP in UDP (RFC 3948) and ESP
 * in TCP (RFC 8229, on a socket with the TCP ULP "espintcp").
 */
enum kipsec_encap_type {
	KIPSEC_ENCAP_ESPINUDP = 2,
	KIPSEC_ENCAP_ESPINTCP = 7,
};

/*
 * UDP or TCP encapsulation of an ESP SA (RFC 3948, RFC 8229), nested in
 * KIPSEC_A_SA_ENCAP (as struct xfrm_encap_tmpl; ip xfrm's
 * "encap espinudp|espintcp SPORT DPORT OADDR").  TYPE, SPORT and DPORT
 * are required.  SPORT and DPORT are the UDP/TCP ports of the SA's
 * packets (for an inbound SA, DPORT is the local port they arrive at;
 * for ESP in TCP, an outbound SA's packets go on the established
 * socket from SPORT to DPORT).
 */
enum kipsec_encap_attr {
	KIPSEC_A_ENCAP_UNSPEC,
	KIPSEC_A_ENCAP_TYPE,		/* u16 enum kipsec_encap_type */
	KIPSEC_A_ENCAP_SPORT,		/* be16 */
	KIPSEC_A_ENCAP_DPORT,		/* be16 */
	KIPSEC_A_ENCAP_OADDR,		/* binary, 4 or 16 bytes; optional */

	__KIPSEC_A_ENCAP_MAX,
	KIPSEC_A_ENCAP_MAX = __KIPSEC_A_ENCAP_MAX - 1
};

/* the multicast group of every notification (KIPSEC_CMD_SA_EXPIRE...) */
#define KIPSEC_MCGRP_EVENTS	"events"

/* Top-level attributes */
enum kipsec_attr {
	KIPSEC_A_UNSPEC,
	KIPSEC_A_PAD,

	/* KIPSEC_CMD_INFO_GET reply */
	KIPSEC_A_INFO_VERSION,		/* string */
	KIPSEC_A_INFO_CAPS,		/* u32 enum kipsec_caps */
	KIPSEC_A_INFO_REPLAY_MAX,	/* u32 */
	KIPSEC_A_INFO_SA_COUNT,		/* u32 */
	KIPSEC_A_INFO_POLICY_COUNT,	/* u32 */

	/* Security Association */
	KIPSEC_A_SA_FAMILY,		/* u16, family of SRC/DST */
	KIPSEC_A_SA_SRC,		/* binary, 4 or 16 bytes */
	KIPSEC_A_SA_DST,		/* binary, 4 or 16 bytes */
	KIPSEC_A_SA_PROTO,		/* u8 IPPROTO_ESP/IPPROTO_AH */
	KIPSEC_A_SA_SPI,		/* be32 */
	KIPSEC_A_SA_REQID,		/* u32 */
	KIPSEC_A_SA_MODE,		/* u8 enum kipsec_mode */
	KIPSEC_A_SA_FLAGS,		/* u32 enum kipsec_sa_flags */
	KIPSEC_A_SA_REPLAY_WINDOW,	/* u32, packets */
	KIPSEC_A_SA_SEQ,		/* u64, highest inbound seq seen */
	KIPSEC_A_SA_OSEQ,		/* u64, last outbound seq sent */
	KIPSEC_A_SA_AEAD_NAME,		/* string, crypto API name */
	KIPSEC_A_SA_AEAD_KEY,		/* binary, key||salt; never dumped */
	KIPSEC_A_SA_AEAD_ICV,		/* u32, ICV length in bits */
	KIPSEC_A_SA_SEL,		/* nested enum kipsec_sel_attr */
	KIPSEC_A_SA_STATS,		/* nested enum kipsec_stat, u64 */
	KIPSEC_A_SA_ENC_NAME,		/* string, crypto API name */
	KIPSEC_A_SA_ENC_KEY,		/* binary; never dumped */
	KIPSEC_A_SA_AUTH_NAME,		/* string, crypto API name */
	KIPSEC_A_SA_AUTH_KEY,		/* binary; never dumped */
	KIPSEC_A_SA_AUTH_TRUNC,		/* u32, bits */
	KIPSEC_A_SA_KEY_BITS,		/* u32, key length reported instead of the key */

	/* Security Policy */
	KIPSEC_A_POL_SEL,		/* nested enum kipsec_sel_attr */
	KIPSEC_A_POL_DIR,		/* u8 enum kipsec_dir */
	KIPSEC_A_POL_PRIORITY,		/* u32, lowest wins */
	KIPSEC_A_POL_ACTION,		/* u8 enum kipsec_action */
	KIPSEC_A_POL_INDEX,		/* u32; (n << 3) | dir, 0 = kernel's choice */
	KIPSEC_A_POL_TMPL,		/* nested enum kipsec_tmpl_attr */
	KIPSEC_A_POL_STATS,		/* nested enum kipsec_stat, u64 */

	/* KIPSEC_CMD_STATS_GET reply */
	KIPSEC_A_STATS,			/* nested enum kipsec_stat, u64 */

	/* SA, appended later: key lengths reported instead of the keys */
	KIPSEC_A_SA_ENC_KEY_BITS,	/* u32, cipher key (and nonce) bits */
	KIPSEC_A_SA_AUTH_KEY_BITS,	/* u32, integrity key bits */

	/* SA lifetimes, appended later */
	KIPSEC_A_SA_LIFETIME,		/* nested enum kipsec_lft_attr */
	KIPSEC_A_SA_CURLFT,		/* nested enum kipsec_curlft_attr */
	KIPSEC_A_EV_HARD,		/* u8, SA_/POLICY_EXPIRE: 1 hard, 0 soft */
	KIPSEC_A_EV_PROTO,		/* u8, SA_FLUSH event: 0 = all */

	/* policy lifetimes and type, appended later */
	KIPSEC_A_POL_LIFETIME,		/* nested enum kipsec_lft_attr */
	KIPSEC_A_POL_CURLFT,		/* nested enum kipsec_curlft_attr */
	KIPSEC_A_POL_PTYPE,		/* u8 enum kipsec_ptype, absent = main */
	/* larval SAs and acquires, appended later */
	KIPSEC_A_SA_STATE,		/* u8 enum kipsec_sa_state */
	KIPSEC_A_SA_ACQ_SEQ,		/* u32, acquire sequence number */
	KIPSEC_A_SPI_MIN,		/* u32, SA_ALLOCSPI: lowest SPI */
	KIPSEC_A_SPI_MAX,		/* u32, SA_ALLOCSPI: highest SPI */
	/* NAT traversal, appended later */
	KIPSEC_A_SA_ENCAP,		/* nested enum kipsec_encap_attr */
	KIPSEC_A_EV_NEW_ADDR,		/* binary, 4 or 16 bytes, MAPPING event */
	KIPSEC_A_EV_NEW_SPORT,		/* be16, MAPPING event */
	/* traffic flow confidentiality, appended later */
	KIPSEC_A_SA_TFCPAD,		/* u32, ESP tunnel: TFC pad-to length */
	KIPSEC_A_SA_EXTRA_FLAGS,	/* u32 enum kipsec_sa_xflags */
	/* policy flags, appended later */
	KIPSEC_A_POL_FLAGS,		/* u32 enum kipsec_pol_flags */

	__KIPSEC_A_MAX,
	KIPSEC_A_MAX = __KIPSEC_A_MAX - 1
};

#endif /* _UAPI_LINUX_KIPSEC_H */
