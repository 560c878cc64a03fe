// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec CLI: `kipsec state ...`, the grammar of `ip xfrm state ...`.
 *
 * Key material goes to the kernel and is never read back: the kernel
 * reports KIPSEC_A_SA_KEY_BITS and the CLI prints "(N bits)" where ip
 * prints the key.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cli.h"

/* xfrm's XFRM_STATE_* bits, for `flag 0xNN` */
#define XFRM_F_NOECN		1
#define XFRM_F_DECAP_DSCP	2
#define XFRM_F_NOPMTUDISC	4
#define XFRM_F_WILDRECV		8
#define XFRM_F_ICMP		16
#define XFRM_F_AF_UNSPEC	32
#define XFRM_F_ALIGN4		64
#define XFRM_F_ESN		128

static const struct {
	const char *name;
	uint32_t kflag;		/* 0: xfrm flag kipsec does not implement */
	uint8_t xflag;
} sa_flags[] = {
	{ "noecn", KIPSEC_SA_F_NOECN, XFRM_F_NOECN },
	{ "decap-dscp", KIPSEC_SA_F_DECAP_DSCP, XFRM_F_DECAP_DSCP },
	{ "nopmtudisc", KIPSEC_SA_F_NOPMTUDISC, XFRM_F_NOPMTUDISC },
	{ "wildrecv", 0, XFRM_F_WILDRECV },
	{ "icmp", KIPSEC_SA_F_ICMP, XFRM_F_ICMP },
	{ "af-unspec", KIPSEC_SA_F_AF_UNSPEC, XFRM_F_AF_UNSPEC },
	{ "align4", KIPSEC_SA_F_ALIGN4, XFRM_F_ALIGN4 },
	{ "esn", KIPSEC_SA_F_ESN, XFRM_F_ESN },
};

#define N_SA_FLAGS ARRAY_SIZE(sa_flags)

/* an algorithm given on the command line */
struct kalg {
	const char *keyword;	/* aead, enc, auth, auth-trunc */
	const char *name;
	uint8_t key[KEY_MAX_BYTES];
	int keylen;
	uint32_t bits;		/* ICV or truncation length */
	bool has_bits;
};

/* UDP encapsulation (NAT-T): encap ENCAP-TYPE SPORT DPORT OADDR */
struct kencap {
	uint16_t type;		/* 2 espinudp, 1 espinudp-nonike */
	uint16_t sport, dport;	/* host order */
	struct kaddr oa;
	bool set;
};

/* a state add/update request */
struct sa_req {
	struct kid id;
	uint32_t reqid;
	bool has_reqid;
	uint8_t mode;
	bool has_mode;
	uint32_t flags;
	bool has_flags;
	uint32_t xflags;	/* enum kipsec_sa_xflags */
	uint32_t replay_window;
	bool has_window;
	uint32_t seq, seq_hi, oseq, oseq_hi;
	bool has_seq, has_oseq;
	struct kalg aead, enc, auth;
	bool has_aead, has_enc, has_auth;
	struct ksel sel;
	uint64_t lft[N_LFT];	/* in enum kipsec_lft_attr order */
	bool has_lft;
	uint32_t acq_seq;	/* seq: the acquire it answers */
	bool has_acq_seq;
	struct kencap encap;
	uint32_t tfcpad;
	bool has_tfcpad;
};

/* an SA as dumped by the kernel */
struct sa {
	struct kid id;
	uint32_t reqid;
	uint8_t mode;
	uint32_t flags;
	uint32_t xflags;
	uint32_t replay_window;
	uint64_t seq, oseq;
	bool has_seq, has_oseq;
	const char *aead_name, *enc_name, *auth_name;
	uint32_t aead_icv, auth_trunc, key_bits, enc_key_bits, auth_key_bits;
	bool has_auth_trunc, has_key_bits, has_enc_key_bits, has_auth_key_bits;
	struct ksel sel;
	struct kstats stats;
	uint64_t lft[N_LFT];
	uint64_t cur[4];	/* bytes, packets, add time, use time */
	bool has_lft, has_cur;
	uint8_t state;		/* enum kipsec_sa_state */
	bool has_state;
	uint32_t acq_seq;
	struct kencap encap;
	uint32_t tfcpad;
};

/* state list / deleteall filter */
struct sa_filter {
	struct kid id;
	uint8_t mode;
	bool has_mode;
	uint32_t reqid;
	bool has_reqid;
	uint32_t flags;
};

static void __noreturn usage(void)
{
	fprintf(stderr,
		"Usage: kipsec state { add | update } ID [ ALGO-LIST ] [ mode MODE ]\n"
		"        [ reqid REQID ] [ replay-window SIZE ] [ replay-seq SEQ ]\n"
		"        [ replay-oseq SEQ ] [ replay-seq-hi SEQ ] [ replay-oseq-hi SEQ ]\n"
		"        [ flag FLAG-LIST ] [ sel SELECTOR ] [ limit LIMIT-LIST ]\n"
		"        [ seq ACQ-SEQ ] [ encap ENCAP ] [ tfcpad LENGTH ]\n"
		"        [ extra-flag EXTRA-FLAG-LIST ]\n"
		"Usage: kipsec state allocspi ID [ mode MODE ] [ reqid REQID ] [ seq ACQ-SEQ ]\n"
		"        [ min SPI max SPI ]   (ID without spi)\n"
		"Usage: kipsec state { delete | get } ID\n"
		"Usage: kipsec state { deleteall | list } [ ID ] [ mode MODE ] [ reqid REQID ]\n"
		"        [ flag FLAG-LIST ]\n"
		"Usage: kipsec state flush [ proto XFRM-PROTO ]\n"
		"Usage: kipsec state count\n"
		"ID := src ADDR dst ADDR proto XFRM-PROTO spi SPI\n"
		"       (list, deleteall: each part optional, ADDR[/PLEN] filters)\n"
		"XFRM-PROTO := esp | ah\n"
		"ALGO-LIST := [ ALGO-LIST ] ALGO\n"
		"ALGO := aead ALGO-NAME ALGO-KEYMAT ALGO-ICV-LEN |\n"
		"        aead AEAD-ALIAS ALGO-KEYMAT [ ALGO-ICV-LEN ] |\n"
		"        { enc | auth } ALGO-NAME ALGO-KEYMAT |\n"
		"        auth-trunc ALGO-NAME ALGO-KEYMAT ALGO-TRUNC-LEN |\n"
		"        alg AEAD-ALIAS ALGO-KEYMAT |\n"
		"        alg ENC-ALIAS[-AUTH-ALIAS] [ ENC-KEYMAT ] [ AUTH-KEYMAT ]\n"
		"ALGO-NAME := crypto API name (or xfrm's short name):\n"
		"        aead: rfc4106(gcm(aes)) rfc4309(ccm(aes)) rfc4543(gcm(aes))\n"
		"              rfc7539esp(chacha20,poly1305)\n"
		"        enc:  cbc(aes) rfc3686(ctr(aes)) cbc(des3_ede) ecb(cipher_null)\n"
		"        auth: hmac(sha1) hmac(sha256) hmac(sha384) hmac(sha512)\n"
		"              xcbc(aes) cmac(aes) hmac(md5)\n"
		"AEAD-ALIAS := aes{128,192,256}{gcm,ccm}{8,12,16} | aes{128,192,256}gmac |\n"
		"        chacha20poly1305\n"
		"ENC-ALIAS := aes{128,192,256}[ctr] | 3des | null   (null: no ENC-KEYMAT)\n"
		"AUTH-ALIAS := sha1 | sha256 | sha256_96 | sha384 | sha512 | aesxcbc |\n"
		"        aescmac | md5   (e.g. alg aes128-sha256 ENCKEY AUTHKEY)\n"
		"ALGO-KEYMAT := 0xHEX | STRING   (key followed by the salt/nonce)\n"
		"ENCAP := ENCAP-TYPE SPORT DPORT OADDR   (ESP only)\n"
		"ENCAP-TYPE := espinudp | espintcp\n"
		"MODE := transport | tunnel\n"
		"FLAG-LIST := [ FLAG-LIST ] FLAG\n"
		"FLAG := noecn | decap-dscp | nopmtudisc | icmp | af-unspec | align4 |\n"
		"        esn | 0xHEX   (xfrm's values; not wildrecv)\n"
		"EXTRA-FLAG-LIST := [ EXTRA-FLAG-LIST ] EXTRA-FLAG\n"
		"EXTRA-FLAG := dont-encap-dscp\n"
		"SELECTOR := [ src ADDR[/PLEN] ] [ dst ADDR[/PLEN] ] [ UPSPEC ]\n"
		"UPSPEC := proto { { tcp | udp | sctp | dccp } [ sport PORT ] [ dport PORT ] |\n"
		"                  { icmp | ipv6-icmp } [ type NUMBER ] [ code NUMBER ] |\n"
		"                  PROTO }\n"
		"LIMIT-LIST := [ LIMIT-LIST ] limit LIMIT\n"
		"LIMIT := { time-soft | time-hard | time-use-soft | time-use-hard } SECONDS |\n"
		"         { byte-soft | byte-hard } SIZE | { packet-soft | packet-hard } COUNT\n"
		"Numbers (SPI, REQID, SEQ, SIZE): decimal or 0x hex.\n"
		"Not supported: coa, ctx, mark, extra-flag oseq-may-wrap.\n");
	exit(0);
}

/* ------------------------------------------------------------- parsing */

static void parse_num(uint32_t *v, bool *has, int *argcp, char ***argvp)
{
	int argc = *argcp;
	char **argv = *argvp;
	const char *key = *argv;
	char msg[64];

	NEXT_ARG();
	if (has && *has)
		duparg(key, *argv);
	snprintf(msg, sizeof(msg), "value after \"%s\" is invalid", key);
	if (get_u32(v, *argv))
		invarg(msg, *argv);
	if (has)
		*has = true;
	*argcp = argc;
	*argvp = argv;
}

static uint32_t flag_from_xfrm(const char *arg)
{
	uint32_t flags = 0;
	uint8_t x;
	unsigned int i;

	if (get_u8(&x, arg))
		invarg("FLAG value is invalid", arg);
	for (i = 0; i < N_SA_FLAGS; i++) {
		if (!(x & sa_flags[i].xflag))
			continue;
		if (!sa_flags[i].kflag)
			usage_error("flag \"%s\" (%s) is not supported by kipsec",
				    sa_flags[i].name, arg);
		flags |= sa_flags[i].kflag;
	}
	return flags;
}

/*
 * EXTRA-FLAG-LIST after "extra-flag", as ip xfrm: names or a number;
 * argv on the first, left on the last
 */
static uint32_t parse_xflags(int *argcp, char ***argvp)
{
	int argc = *argcp;
	char **argv = *argvp;
	uint32_t xflags = 0;
	bool any = false;

	if (isdigit((unsigned char)**argv)) {
		if (get_u32(&xflags, *argv))
			invarg("EXTRA-FLAG value is invalid", *argv);
		if (xflags & ~KIPSEC_SA_XF_DONT_ENCAP_DSCP)
			usage_error("extra-flag %s: only dont-encap-dscp is supported by kipsec",
				    *argv);
		return xflags;
	}
	while (argc > 0) {
		if (strcmp(*argv, "dont-encap-dscp") == 0)
			xflags |= KIPSEC_SA_XF_DONT_ENCAP_DSCP;
		else if (strcmp(*argv, "oseq-may-wrap") == 0)
			unsupported(*argv,
				    "(extra flag) is not supported by kipsec");
		else
			break;
		any = true;
		argc--;
		argv++;
	}
	if (!any)
		invarg("EXTRA-FLAG-LIST is invalid", *argv);
	/* leave argv on the last flag: the caller's loop steps past it */
	*argcp = argc + 1;
	*argvp = argv - 1;
	return xflags;
}

/* FLAG-LIST after "flag": argv on the first flag, left on the last */
static uint32_t parse_flags(int *argcp, char ***argvp)
{
	int argc = *argcp;
	char **argv = *argvp;
	uint32_t flags = 0;
	bool any = false;

	if (strlen(*argv) > 2 && strncmp(*argv, "0x", 2) == 0)
		return flag_from_xfrm(*argv);
	while (argc > 0) {
		unsigned int i;

		for (i = 0; i < N_SA_FLAGS; i++)
			if (strcmp(*argv, sa_flags[i].name) == 0)
				break;
		if (i == N_SA_FLAGS)
			break;
		if (!sa_flags[i].kflag)
			unsupported(sa_flags[i].name,
				    "(state flag) is not supported by kipsec");
		flags |= sa_flags[i].kflag;
		any = true;
		argc--;
		argv++;
	}
	if (!any)
		invarg("FLAG value is invalid", *argv);
	*argcp = argc + 1;
	*argvp = argv - 1;
	return flags;
}

/* ------------------------------------------------- algorithm aliases */

/*
 * IKEv2 proposal names (as strongSwan spells them) for `aead ALIAS KEY` and
 * `alg ALIAS KEYS...`.  An alias fixes the key length and the ICV length:
 * the CLI checks the key and sends the crypto API name.  Integrity aliases
 * use the RFC truncation (sha256: 128 bits, RFC 4868), not xfrm's default
 * for `auth hmac(sha256)` (96 bits).
 */
struct alias {
	const char *alias;
	const char *name;	/* crypto API name */
	int key_bytes;		/* the key proper */
	int salt_bytes;		/* salt or nonce appended to it */
	uint32_t bits;		/* AEAD ICV or integrity truncation */
};

static const struct alias aead_aliases[] = {
	{ "aes128gcm8", "rfc4106(gcm(aes))", 16, 4, 64 },
	{ "aes128gcm12", "rfc4106(gcm(aes))", 16, 4, 96 },
	{ "aes128gcm16", "rfc4106(gcm(aes))", 16, 4, 128 },
	{ "aes128gcm", "rfc4106(gcm(aes))", 16, 4, 128 },
	{ "aes192gcm8", "rfc4106(gcm(aes))", 24, 4, 64 },
	{ "aes192gcm12", "rfc4106(gcm(aes))", 24, 4, 96 },
	{ "aes192gcm16", "rfc4106(gcm(aes))", 24, 4, 128 },
	{ "aes192gcm", "rfc4106(gcm(aes))", 24, 4, 128 },
	{ "aes256gcm8", "rfc4106(gcm(aes))", 32, 4, 64 },
	{ "aes256gcm12", "rfc4106(gcm(aes))", 32, 4, 96 },
	{ "aes256gcm16", "rfc4106(gcm(aes))", 32, 4, 128 },
	{ "aes256gcm", "rfc4106(gcm(aes))", 32, 4, 128 },
	{ "aes128ccm8", "rfc4309(ccm(aes))", 16, 3, 64 },
	{ "aes128ccm12", "rfc4309(ccm(aes))", 16, 3, 96 },
	{ "aes128ccm16", "rfc4309(ccm(aes))", 16, 3, 128 },
	{ "aes128ccm", "rfc4309(ccm(aes))", 16, 3, 128 },
	{ "aes192ccm8", "rfc4309(ccm(aes))", 24, 3, 64 },
	{ "aes192ccm12", "rfc4309(ccm(aes))", 24, 3, 96 },
	{ "aes192ccm16", "rfc4309(ccm(aes))", 24, 3, 128 },
	{ "aes192ccm", "rfc4309(ccm(aes))", 24, 3, 128 },
	{ "aes256ccm8", "rfc4309(ccm(aes))", 32, 3, 64 },
	{ "aes256ccm12", "rfc4309(ccm(aes))", 32, 3, 96 },
	{ "aes256ccm16", "rfc4309(ccm(aes))", 32, 3, 128 },
	{ "aes256ccm", "rfc4309(ccm(aes))", 32, 3, 128 },
	{ "aes128gmac", "rfc4543(gcm(aes))", 16, 4, 128 },
	{ "aes192gmac", "rfc4543(gcm(aes))", 24, 4, 128 },
	{ "aes256gmac", "rfc4543(gcm(aes))", 32, 4, 128 },
	{ "chacha20poly1305", "rfc7539esp(chacha20,poly1305)", 32, 4, 128 },
};

static const struct alias enc_aliases[] = {
	{ "aes128", "cbc(aes)", 16, 0, 0 },
	{ "aes192", "cbc(aes)", 24, 0, 0 },
	{ "aes256", "cbc(aes)", 32, 0, 0 },
	{ "aes128ctr", "rfc3686(ctr(aes))", 16, 4, 0 },
	{ "aes192ctr", "rfc3686(ctr(aes))", 24, 4, 0 },
	{ "aes256ctr", "rfc3686(ctr(aes))", 32, 4, 0 },
	{ "3des", "cbc(des3_ede)", 24, 0, 0 },
	{ "null", "ecb(cipher_null)", 0, 0, 0 },
};

static const struct alias auth_aliases[] = {
	{ "sha1", "hmac(sha1)", 20, 0, 96 },
	{ "sha256", "hmac(sha256)", 32, 0, 128 },
	{ "sha256_96", "hmac(sha256)", 32, 0, 96 },
	{ "sha384", "hmac(sha384)", 48, 0, 192 },
	{ "sha512", "hmac(sha512)", 64, 0, 256 },
	{ "aesxcbc", "xcbc(aes)", 16, 0, 96 },
	{ "aescmac", "cmac(aes)", 16, 0, 96 },
	{ "md5", "hmac(md5)", 16, 0, 96 },
};

static const struct alias *alias_find(const struct alias *t, size_t n,
				      const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(t[i].alias) == len &&
		    strncmp(t[i].alias, name, len) == 0)
			return &t[i];
	return NULL;
}

#define ALIAS_FIND(t, name, len) alias_find(t, ARRAY_SIZE(t), name, len)

/* the key after an alias, of exactly the alias's length */
static void alias_key(struct kalg *alg, const struct alias *a,
		      const char *alias, const char *arg)
{
	int want = a->key_bytes + a->salt_bytes;
	int len = get_keymat(alg->key, sizeof(alg->key), arg);

	if (len < 0)
		invarg("ALGO-KEYMAT value is invalid", arg);
	if (len != want) {
		if (a->salt_bytes)
			usage_error("\"%s\" needs a %d-bit key for %s (%d-bit key + %d-bit salt/nonce), got %d bits.",
				    alias, want * 8, a->name, a->key_bytes * 8,
				    a->salt_bytes * 8, len * 8);
		usage_error("\"%s\" needs a %d-bit key for %s, got %d bits.",
			    alias, want * 8, a->name, len * 8);
	}
	alg->keylen = len;
	alg->name = a->name;
}

/* `aead ALIAS KEY [ ICV ]`; argv on the alias, left on the last word */
static void parse_aead_alias(struct kalg *alg, const struct alias *a,
			     int *argcp, char ***argvp)
{
	int argc = *argcp;
	char **argv = *argvp;
	const char *alias = *argv;
	uint32_t icv;

	if (!NEXT_ARG_OK())
		missarg("ALGO-KEYMAT");
	NEXT_ARG();
	alias_key(alg, a, alias, *argv);
	alg->bits = a->bits;
	alg->has_bits = true;
	/* the ICV is implied; a number after the key must agree with it */
	if (NEXT_ARG_OK() && get_u32(&icv, argv[1]) == 0) {
		NEXT_ARG();
		if (icv != a->bits)
			usage_error("\"%s\" has a %u-bit ICV, not %u.", alias,
				    a->bits, icv);
	}
	*argcp = argc;
	*argvp = argv;
}

/*
 * `alg ALIAS KEYS...`: ALIAS is an AEAD alias (one key), a cipher alias
 * (one key; null none) or CIPHER-INTEGRITY (the cipher key, unless null,
 * then the integrity key).
 */
static void parse_alg_alias(struct sa_req *r, int *argcp, char ***argvp)
{
	int argc = *argcp;
	char **argv = *argvp;
	const struct alias *e, *a;
	const char *alias, *dash;
	size_t elen;

	if (r->has_aead || r->has_enc || r->has_auth)
		duparg("ALGO-TYPE", *argv);
	if (!NEXT_ARG_OK())
		missarg("ALG-ALIAS");
	NEXT_ARG();
	alias = *argv;
	a = ALIAS_FIND(aead_aliases, alias, strlen(alias));
	if (a) {
		r->aead.keyword = "aead";
		r->has_aead = true;
		parse_aead_alias(&r->aead, a, &argc, &argv);
		*argcp = argc;
		*argvp = argv;
		return;
	}
	dash = strchr(alias, '-');
	elen = dash ? (size_t)(dash - alias) : strlen(alias);
	e = ALIAS_FIND(enc_aliases, alias, elen);
	a = dash ? ALIAS_FIND(auth_aliases, dash + 1, strlen(dash + 1)) : NULL;
	if (!e || (dash && !a))
		invarg("unknown algorithm alias (see \"kipsec state help\")",
		       alias);
	r->enc.keyword = "enc";
	r->has_enc = true;
	if (e->key_bytes + e->salt_bytes) {
		if (!NEXT_ARG_OK())
			missarg("ENC-KEYMAT");
		NEXT_ARG();
		alias_key(&r->enc, e, alias, *argv);
	} else {
		r->enc.name = e->name;
		r->enc.keylen = 0;
	}
	if (a) {
		r->auth.keyword = "auth-trunc";
		r->has_auth = true;
		if (!NEXT_ARG_OK())
			missarg("AUTH-KEYMAT");
		NEXT_ARG();
		alias_key(&r->auth, a, alias, *argv);
		r->auth.bits = a->bits;
		r->auth.has_bits = true;
	}
	*argcp = argc;
	*argvp = argv;
}

/* the crypto API name of @name when it is xfrm's short name */
static bool alg_is(const char *name, const char *api, const char *compat)
{
	return strcmp(name, api) == 0 || (compat && strcmp(name, compat) == 0);
}

/* weak or incomplete protection: say so, then do as told */
static void warn_algs(const struct sa_req *r)
{
	if (r->has_enc && alg_is(r->enc.name, "cbc(des3_ede)", "des3_ede"))
		fprintf(stderr,
			"Warning: cbc(des3_ede) (3DES) is deprecated (RFC 8221): use AES-GCM or cbc(aes).\n");
	if (r->has_auth && alg_is(r->auth.name, "hmac(md5)", "md5"))
		fprintf(stderr,
			"Warning: hmac(md5) is deprecated (RFC 8221): use hmac(sha256) or stronger.\n");
	if (r->id.proto == IPPROTO_ESP && r->has_enc && !r->has_auth &&
	    !r->has_aead)
		fprintf(stderr,
			"Warning: ESP with a cipher and no integrity algorithm offers no integrity (RFC 4303 3.2.2): add auth or use an AEAD.\n");
}

static void parse_alg(struct sa_req *r, int *argcp, char ***argvp)
{
	int argc = *argcp;
	char **argv = *argvp;
	const char *kw = *argv;
	bool aead = strcmp(kw, "aead") == 0;
	bool enc = strcmp(kw, "enc") == 0;
	bool trunc = strcmp(kw, "auth-trunc") == 0;
	struct kalg *alg;
	int len;

	if (strcmp(kw, "comp") == 0)
		unsupported("comp", "(IPComp) is not supported by kipsec");
	/* aead with enc or auth is sent: the kernel says why it is wrong */
	if (aead) {
		if (r->has_aead)
			duparg("ALGO-TYPE", kw);
		alg = &r->aead;
		r->has_aead = true;
	} else if (enc) {
		if (r->has_enc)
			duparg("ALGO-TYPE", kw);
		alg = &r->enc;
		r->has_enc = true;
	} else {
		if (r->has_auth)
			duparg("ALGO-TYPE", kw);
		alg = &r->auth;
		r->has_auth = true;
	}
	alg->keyword = kw;
	if (!NEXT_ARG_OK())
		missarg("ALGO-NAME");
	NEXT_ARG();
	alg->name = *argv;
	if (aead) {
		const struct alias *a = ALIAS_FIND(aead_aliases, *argv,
						   strlen(*argv));

		if (a) {
			parse_aead_alias(alg, a, &argc, &argv);
			*argcp = argc;
			*argvp = argv;
			return;
		}
	}
	if (strlen(alg->name) >= 64)
		invarg("ALGO-NAME is too long", alg->name);
	if (!NEXT_ARG_OK())
		missarg("ALGO-KEYMAT");
	NEXT_ARG();
	len = get_keymat(alg->key, sizeof(alg->key), *argv);
	if (len < 0)
		invarg("ALGO-KEYMAT value is invalid", *argv);
	alg->keylen = len;
	if (aead || trunc) {
		const char *what = aead ? "ALGO-ICV-LEN" : "ALGO-TRUNC-LEN";
		char msg[64];

		if (!NEXT_ARG_OK())
			missarg(what);
		NEXT_ARG();
		snprintf(msg, sizeof(msg), "%s value is invalid", what);
		if (get_u32(&alg->bits, *argv))
			invarg(msg, *argv);
		alg->has_bits = true;
	}
	*argcp = argc;
	*argvp = argv;
}

static const char *const unsupported_sa_kw[][2] = {
	{ "coa", "(care-of address) is not supported by kipsec" },
	{ "ctx", "(security context) is not supported by kipsec" },
	{ "mark", "is not supported by kipsec" },
	{ "output-mark", "is not supported by kipsec" },
	{ "if_id", "is not supported by kipsec" },
	{ "offload", "is not supported by kipsec" },
	{ "dir", "(SA direction) is not supported by kipsec" },
};

static void check_unsupported(const char *kw)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(unsupported_sa_kw);
	     i++)
		if (strcmp(kw, unsupported_sa_kw[i][0]) == 0)
			unsupported(kw, unsupported_sa_kw[i][1]);
}

/* encap ENCAP-TYPE SPORT DPORT OADDR, as ip xfrm state */
static void parse_encap(struct kencap *e, int *argcp, char ***argvp)
{
	int argc = *argcp;
	char **argv = *argvp;

	if (e->set)
		duparg("encap", *argv);
	NEXT_ARG();
	if (strcmp(*argv, "espinudp") == 0)
		e->type = KIPSEC_ENCAP_ESPINUDP;
	else if (strcmp(*argv, "espintcp") == 0)
		e->type = KIPSEC_ENCAP_ESPINTCP;
	else if (strcmp(*argv, "espinudp-nonike") == 0)
		e->type = 1;	/* the kernel says why not */
	else
		invarg("\"ENCAP-TYPE\" is invalid", *argv);
	NEXT_ARG();
	if (get_u16(&e->sport, *argv))
		invarg("SPORT value after \"encap\" is invalid", *argv);
	NEXT_ARG();
	if (get_u16(&e->dport, *argv))
		invarg("DPORT value after \"encap\" is invalid", *argv);
	NEXT_ARG();
	if (get_prefix(&e->oa, *argv) || e->oa.has_len)
		invarg("OADDR value after \"encap\" is invalid", *argv);
	e->set = true;
	*argcp = argc;
	*argvp = argv;
}

static void parse_add(struct sa_req *r, int argc, char **argv)
{
	while (argc > 0) {
		if (id_parse(&r->id, &argc, &argv)) {
			/* consumed */
		} else if (strcmp(*argv, "mode") == 0) {
			NEXT_ARG();
			if (r->has_mode)
				duparg("mode", *argv);
			r->mode = mode_parse(*argv);
			r->has_mode = true;
		} else if (strcmp(*argv, "reqid") == 0) {
			parse_num(&r->reqid, &r->has_reqid, &argc, &argv);
		} else if (strcmp(*argv, "replay-window") == 0) {
			parse_num(&r->replay_window, &r->has_window, &argc,
				  &argv);
		} else if (strcmp(*argv, "replay-seq") == 0) {
			parse_num(&r->seq, NULL, &argc, &argv);
			r->has_seq = true;
		} else if (strcmp(*argv, "replay-seq-hi") == 0) {
			parse_num(&r->seq_hi, NULL, &argc, &argv);
			r->has_seq = true;
		} else if (strcmp(*argv, "replay-oseq") == 0) {
			parse_num(&r->oseq, NULL, &argc, &argv);
			r->has_oseq = true;
		} else if (strcmp(*argv, "replay-oseq-hi") == 0) {
			parse_num(&r->oseq_hi, NULL, &argc, &argv);
			r->has_oseq = true;
		} else if (strcmp(*argv, "seq") == 0) {
			parse_num(&r->acq_seq, &r->has_acq_seq, &argc, &argv);
		} else if (strcmp(*argv, "flag") == 0) {
			NEXT_ARG();
			r->flags |= parse_flags(&argc, &argv);
			r->has_flags = true;
		} else if (strcmp(*argv, "extra-flag") == 0) {
			NEXT_ARG();
			r->xflags |= parse_xflags(&argc, &argv);
		} else if (strcmp(*argv, "sel") == 0) {
			NEXT_ARG();
			if (r->sel.set)
				duparg("sel", *argv);
			sel_parse(&r->sel, &argc, &argv);
		} else if (strcmp(*argv, "aead") == 0 ||
			   strcmp(*argv, "enc") == 0 ||
			   strcmp(*argv, "auth") == 0 ||
			   strcmp(*argv, "auth-trunc") == 0 ||
			   strcmp(*argv, "comp") == 0) {
			parse_alg(r, &argc, &argv);
		} else if (strcmp(*argv, "alg") == 0) {
			parse_alg_alias(r, &argc, &argv);
		} else if (strcmp(*argv, "limit") == 0) {
			lft_parse(r->lft, &argc, &argv);
			r->has_lft = true;
		} else if (strcmp(*argv, "encap") == 0) {
			parse_encap(&r->encap, &argc, &argv);
		} else if (strcmp(*argv, "tfcpad") == 0) {
			parse_num(&r->tfcpad, &r->has_tfcpad, &argc, &argv);
		} else if (strcmp(*argv, "help") == 0) {
			usage();
		} else {
			check_unsupported(*argv);
			invarg("unknown keyword", *argv);
		}
		argc--;
		argv++;
	}
}

static void validate_add(struct sa_req *r)
{
	struct kid *id = &r->id;

	if (!id->has_src)
		missarg("src");
	if (!id->has_dst)
		missarg("dst");
	if (!id->has_proto)
		missarg("proto");
	if (!id->has_spi)
		missarg("spi");
	if (id->proto == IPPROTO_ESP) {
		if (!r->has_aead && !r->has_enc)
			usage_error("ALGO-TYPE value \"enc\" or \"aead\" is required with %s",
				    "XFRM-PROTO value \"esp\"");
	} else {
		if (r->has_aead || r->has_enc)
			usage_error("ALGO-TYPE values \"enc\" and \"aead\" are invalid with %s",
				    "XFRM-PROTO value \"ah\"");
		if (!r->has_auth)
			usage_error("ALGO-TYPE value \"auth\" or \"auth-trunc\" is required with %s",
				    "XFRM-PROTO value \"ah\"");
	}
	if ((r->flags & KIPSEC_SA_F_ESN) && r->replay_window == 0)
		usage_error("esn flag set without replay-window.");
	if (r->replay_window > KIPSEC_REPLAY_WINDOW_MAX)
		usage_error("replay-window (%u) > maximum (%u).",
			    r->replay_window, KIPSEC_REPLAY_WINDOW_MAX);
	if (!(r->flags & KIPSEC_SA_F_ESN) && (r->seq_hi || r->oseq_hi))
		usage_error("\"replay-seq-hi\" and \"replay-oseq-hi\" need \"flag esn\".");
	if (r->sel.set)
		sel_finish(&r->sel, id->family);
}

static void put_alg(struct nlmsghdr *nlh, const struct kalg *a,
		    uint16_t name, uint16_t key, uint16_t bits)
{
	mnl_attr_put_strz(nlh, name, a->name);
	mnl_attr_put(nlh, key, a->keylen, a->key);
	if (a->has_bits)
		mnl_attr_put_u32(nlh, bits, a->bits);
}

static void put_id(struct nlmsghdr *nlh, const struct kid *id)
{
	int len = af_bytelen(id->family);

	mnl_attr_put_u16(nlh, KIPSEC_A_SA_FAMILY, id->family);
	if (id->has_src)
		mnl_attr_put(nlh, KIPSEC_A_SA_SRC, len, id->src);
	mnl_attr_put(nlh, KIPSEC_A_SA_DST, len, id->dst);
	mnl_attr_put_u8(nlh, KIPSEC_A_SA_PROTO, id->proto);
	mnl_attr_put_u32(nlh, KIPSEC_A_SA_SPI, htonl(id->spi));
}

static void put_encap(struct nlmsghdr *nlh, const struct kencap *e)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, KIPSEC_A_SA_ENCAP);

	mnl_attr_put_u16(nlh, KIPSEC_A_ENCAP_TYPE, e->type);
	mnl_attr_put_u16(nlh, KIPSEC_A_ENCAP_SPORT, htons(e->sport));
	mnl_attr_put_u16(nlh, KIPSEC_A_ENCAP_DPORT, htons(e->dport));
	mnl_attr_put(nlh, KIPSEC_A_ENCAP_OADDR, e->oa.bytelen, e->oa.data);
	mnl_attr_nest_end(nlh, nest);
}

static int state_modify(int argc, char **argv, bool update)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct sa_req *r = calloc(1, sizeof(*r));
	struct nlmsghdr *nlh;

	if (!r)
		return EXIT_KERNEL;
	parse_add(r, argc, argv);
	validate_add(r);
	warn_algs(r);

	nlh = nl_new(buf, KIPSEC_CMD_SA_NEW,
		     update ? NLM_F_REPLACE : NLM_F_CREATE | NLM_F_EXCL);
	put_id(nlh, &r->id);
	mnl_attr_put_u32(nlh, KIPSEC_A_SA_REQID, r->reqid);
	mnl_attr_put_u8(nlh, KIPSEC_A_SA_MODE, r->mode);
	mnl_attr_put_u32(nlh, KIPSEC_A_SA_FLAGS, r->flags);
	if (r->xflags)
		mnl_attr_put_u32(nlh, KIPSEC_A_SA_EXTRA_FLAGS, r->xflags);
	mnl_attr_put_u32(nlh, KIPSEC_A_SA_REPLAY_WINDOW, r->replay_window);
	if (r->has_seq)
		mnl_attr_put_u64(nlh, KIPSEC_A_SA_SEQ,
				 (uint64_t)r->seq_hi << 32 | r->seq);
	if (r->has_oseq)
		mnl_attr_put_u64(nlh, KIPSEC_A_SA_OSEQ,
				 (uint64_t)r->oseq_hi << 32 | r->oseq);
	if (r->has_acq_seq)
		mnl_attr_put_u32(nlh, KIPSEC_A_SA_ACQ_SEQ, r->acq_seq);
	if (r->has_aead)
		put_alg(nlh, &r->aead, KIPSEC_A_SA_AEAD_NAME,
			KIPSEC_A_SA_AEAD_KEY, KIPSEC_A_SA_AEAD_ICV);
	if (r->has_enc)
		put_alg(nlh, &r->enc, KIPSEC_A_SA_ENC_NAME,
			KIPSEC_A_SA_ENC_KEY, 0);
	if (r->has_auth)
		put_alg(nlh, &r->auth, KIPSEC_A_SA_AUTH_NAME,
			KIPSEC_A_SA_AUTH_KEY, KIPSEC_A_SA_AUTH_TRUNC);
	if (r->sel.set)
		sel_put(nlh, KIPSEC_A_SA_SEL, &r->sel);
	if (r->has_lft)
		lft_put(nlh, KIPSEC_A_SA_LIFETIME, r->lft);
	if (r->encap.set)
		put_encap(nlh, &r->encap);
	/* as ip xfrm: tfcpad 0 is no padding, and not sent */
	if (r->tfcpad)
		mnl_attr_put_u32(nlh, KIPSEC_A_SA_TFCPAD, r->tfcpad);

	/* the keys are in r and in buf: wipe both once the kernel has them */
	explicit_bzero(r, sizeof(*r));
	free(r);
	nl_talk(nlh, NULL, NULL, false);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/* ------------------------------------------------------------- printing */

static const char *str_attr(const struct nlattr *a)
{
	if (!a || mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
		return NULL;
	return mnl_attr_get_str(a);
}

static bool u32_attr(const struct nlattr *a, uint32_t *v)
{
	if (!a || mnl_attr_get_payload_len(a) != 4)
		return false;
	*v = mnl_attr_get_u32(a);
	return true;
}

static bool u8_attr(const struct nlattr *a, uint8_t *v)
{
	if (!a || mnl_attr_get_payload_len(a) != 1)
		return false;
	*v = mnl_attr_get_u8(a);
	return true;
}

static bool u64_attr(const struct nlattr *a, uint64_t *v)
{
	if (!a || mnl_attr_get_payload_len(a) != 8)
		return false;
	*v = mnl_attr_get_u64(a);
	return true;
}

/* KIPSEC_A_SA_ENCAP; -1 when malformed */
static int encap_get(const struct nlattr *nest, int family, struct kencap *e)
{
	const struct nlattr *tb[NL_TB_MAX];
	const struct nlattr *oa;

	if (nl_parse_nested(nest, tb) || !tb[KIPSEC_A_ENCAP_TYPE] ||
	    !tb[KIPSEC_A_ENCAP_SPORT] || !tb[KIPSEC_A_ENCAP_DPORT])
		return -1;
	e->type = mnl_attr_get_u16(tb[KIPSEC_A_ENCAP_TYPE]);
	e->sport = ntohs(mnl_attr_get_u16(tb[KIPSEC_A_ENCAP_SPORT]));
	e->dport = ntohs(mnl_attr_get_u16(tb[KIPSEC_A_ENCAP_DPORT]));
	e->oa.family = family;
	e->oa.bytelen = af_bytelen(family);
	oa = tb[KIPSEC_A_ENCAP_OADDR];
	if (oa && mnl_attr_get_payload_len(oa) == (unsigned int)e->oa.bytelen)
		memcpy(e->oa.data, mnl_attr_get_payload(oa), e->oa.bytelen);
	e->set = true;
	return 0;
}

/* parse one SA message; -1 when malformed */
static int sa_get(const struct nlmsghdr *nlh, struct sa *sa)
{
	const struct nlattr *tb[NL_TB_MAX];
	uint16_t family;
	int len;

	memset(sa, 0, sizeof(*sa));
	if (nl_parse(nlh, tb) || !tb[KIPSEC_A_SA_FAMILY] ||
	    mnl_attr_get_payload_len(tb[KIPSEC_A_SA_FAMILY]) != 2)
		return -1;
	family = mnl_attr_get_u16(tb[KIPSEC_A_SA_FAMILY]);
	if (family != AF_INET && family != AF_INET6)
		return -1;
	len = af_bytelen(family);
	sa->id.family = family;
	if (!tb[KIPSEC_A_SA_DST] ||
	    mnl_attr_get_payload_len(tb[KIPSEC_A_SA_DST]) != (unsigned int)len)
		return -1;
	memcpy(sa->id.dst, mnl_attr_get_payload(tb[KIPSEC_A_SA_DST]), len);
	sa->id.has_dst = true;
	if (tb[KIPSEC_A_SA_SRC] &&
	    mnl_attr_get_payload_len(tb[KIPSEC_A_SA_SRC]) == (unsigned int)len) {
		memcpy(sa->id.src, mnl_attr_get_payload(tb[KIPSEC_A_SA_SRC]),
		       len);
		sa->id.has_src = true;
	}
	if (!u8_attr(tb[KIPSEC_A_SA_PROTO], &sa->id.proto) ||
	    !u32_attr(tb[KIPSEC_A_SA_SPI], &sa->id.spi))
		return -1;
	sa->id.spi = ntohl(sa->id.spi);
	sa->id.has_proto = true;
	sa->id.has_spi = true;
	u32_attr(tb[KIPSEC_A_SA_REQID], &sa->reqid);
	u8_attr(tb[KIPSEC_A_SA_MODE], &sa->mode);
	u32_attr(tb[KIPSEC_A_SA_FLAGS], &sa->flags);
	u32_attr(tb[KIPSEC_A_SA_EXTRA_FLAGS], &sa->xflags);
	u32_attr(tb[KIPSEC_A_SA_REPLAY_WINDOW], &sa->replay_window);
	sa->has_seq = u64_attr(tb[KIPSEC_A_SA_SEQ], &sa->seq);
	sa->has_oseq = u64_attr(tb[KIPSEC_A_SA_OSEQ], &sa->oseq);
	sa->aead_name = str_attr(tb[KIPSEC_A_SA_AEAD_NAME]);
	sa->enc_name = str_attr(tb[KIPSEC_A_SA_ENC_NAME]);
	sa->auth_name = str_attr(tb[KIPSEC_A_SA_AUTH_NAME]);
	u32_attr(tb[KIPSEC_A_SA_AEAD_ICV], &sa->aead_icv);
	sa->has_auth_trunc = u32_attr(tb[KIPSEC_A_SA_AUTH_TRUNC],
				      &sa->auth_trunc);
	sa->has_key_bits = u32_attr(tb[KIPSEC_A_SA_KEY_BITS], &sa->key_bits);
	sa->has_enc_key_bits = u32_attr(tb[KIPSEC_A_SA_ENC_KEY_BITS],
					&sa->enc_key_bits);
	sa->has_auth_key_bits = u32_attr(tb[KIPSEC_A_SA_AUTH_KEY_BITS],
					 &sa->auth_key_bits);
	if (tb[KIPSEC_A_SA_SEL] && sel_get(tb[KIPSEC_A_SA_SEL], &sa->sel))
		return -1;
	if (tb[KIPSEC_A_SA_STATS] && stats_get(tb[KIPSEC_A_SA_STATS],
					       &sa->stats))
		return -1;
	sa->has_lft = !u64_nest(tb[KIPSEC_A_SA_LIFETIME],
				KIPSEC_A_LFT_SOFT_BYTES, sa->lft, N_LFT);
	sa->has_cur = !u64_nest(tb[KIPSEC_A_SA_CURLFT], KIPSEC_A_CURLFT_BYTES,
				sa->cur, ARRAY_SIZE(sa->cur));
	sa->has_state = u8_attr(tb[KIPSEC_A_SA_STATE], &sa->state);
	u32_attr(tb[KIPSEC_A_SA_ACQ_SEQ], &sa->acq_seq);
	if (tb[KIPSEC_A_SA_ENCAP] &&
	    encap_get(tb[KIPSEC_A_SA_ENCAP], family, &sa->encap))
		return -1;
	u32_attr(tb[KIPSEC_A_SA_TFCPAD], &sa->tfcpad);
	return 0;
}

static void lifetime_print(const struct sa *sa, char *cur, size_t len)
{
	static const char *const cur_names[] = {
		"bytes", "packets", "add_time", "use_time",
	};
	char a[32], u[32];
	unsigned int i;

	cur[0] = 0;
	if (sa->has_lft)
		lft_print(sa->lft);
	if (is_json_context()) {
		if (sa->has_cur) {
			open_json_object("lifetime_current");
			for (i = 0; i < ARRAY_SIZE(cur_names); i++)
				print_u64(PRINT_JSON, cur_names[i], NULL,
					  sa->cur[i]);
			close_json_object();
		}
		return;
	}
	if (!show_stats)
		return;
	if (sa->has_cur) {
		lft_time_str(sa->cur[2], a, sizeof(a));
		lft_time_str(sa->cur[3], u, sizeof(u));
		snprintf(cur, len, "\t  %" PRIu64 "(bytes), %" PRIu64
			 "(packets)\n\t  add %s use %s\n",
			 sa->cur[0], sa->cur[1], a, u);
	}
}

static void print_alg(const char *kw, const char *name, bool has_key_bits,
		      uint32_t key_bits, bool bits, const char *bits_key,
		      uint32_t bits_val)
{
	open_json_object(kw);
	print_fp("\t%s ", kw);
	print_string(PRINT_ANY, "name", "%s", name);
	if (has_key_bits)
		print_uint(PRINT_ANY, "key_bits", " (%u bits)", key_bits);
	if (bits)
		print_uint(PRINT_ANY, bits_key, " %u", bits_val);
	print_nl();
	close_json_object();
}

/* as ip xfrm: "encap type espinudp sport 4500 dport 4500 addr 0.0.0.0" */
static void print_encap(const struct kencap *e)
{
	char buf[INET6_ADDRSTRLEN];

	open_json_object("encap");
	print_fp("\tencap type ");
	if (e->type == KIPSEC_ENCAP_ESPINUDP)
		print_string(PRINT_ANY, "type", "%s ", "espinudp");
	else if (e->type == KIPSEC_ENCAP_ESPINTCP)
		print_string(PRINT_ANY, "type", "%s ", "espintcp");
	else if (e->type == 1)
		print_string(PRINT_ANY, "type", "%s ", "espinudp-nonike");
	else
		print_uint(PRINT_ANY, "type", "%u ", e->type);
	print_uint(PRINT_ANY, "sport", "sport %u ", e->sport);
	print_uint(PRINT_ANY, "dport", "dport %u ", e->dport);
	print_string(PRINT_ANY, "addr", "addr %s",
		     addr_str(e->oa.family, e->oa.data, buf, sizeof(buf)));
	print_nl();
	close_json_object();
}

static void print_replay(const struct sa *sa)
{
	bool esn = sa->flags & KIPSEC_SA_F_ESN;

	if (sa->has_seq)
		print_u64(PRINT_JSON, "seq", NULL, sa->seq);
	if (sa->has_oseq)
		print_u64(PRINT_JSON, "oseq", NULL, sa->oseq);
	if (!sa->has_seq && !sa->has_oseq)
		return;
	if (esn) {
		print_fp("\tanti-replay esn context:\n");
		print_fp("\t seq-hi 0x%x, seq 0x%x, oseq-hi 0x%x, oseq 0x%x\n",
			 (uint32_t)(sa->seq >> 32), (uint32_t)sa->seq,
			 (uint32_t)(sa->oseq >> 32), (uint32_t)sa->oseq);
		print_fp("\t replay_window %u\n", sa->replay_window);
	} else {
		print_fp("\tanti-replay context: seq 0x%x, oseq 0x%x\n",
			 (uint32_t)sa->seq, (uint32_t)sa->oseq);
	}
}

/* an SA; for an event, @ev names it, @prefix starts the text, @hard >= 0 */
static void sa_print_ev(const struct sa *sa, const char *ev,
			const char *prefix, int hard)
{
	char buf[INET6_ADDRSTRLEN], pb[8], spi[16], cur[160];
	unsigned int i, n;

	open_json_object(NULL);
	if (ev)
		print_string(PRINT_JSON, "event", NULL, ev);
	if (prefix)
		print_fp("%s", prefix);
	print_string(PRINT_ANY, "src", "src %s ",
		     addr_str(sa->id.family, sa->id.src, buf, sizeof(buf)));
	print_string(PRINT_ANY, "dst", "dst %s",
		     addr_str(sa->id.family, sa->id.dst, buf, sizeof(buf)));
	print_string(PRINT_JSON, "family", NULL, family_name(sa->id.family));
	print_nl();

	print_string(PRINT_ANY, "proto", "\tproto %s ",
		     xfrmproto_name(sa->id.proto, pb, sizeof(pb)));
	snprintf(spi, sizeof(spi), "0x%08x", sa->id.spi);
	print_string(PRINT_ANY, "spi", "spi %s", spi);
	print_uint(PRINT_JSON, "spi_num", NULL, sa->id.spi);
	if (show_stats)
		print_fp("(%u)", sa->id.spi);
	print_uint(PRINT_ANY, "reqid", " reqid %u", sa->reqid);
	if (show_stats)
		print_fp("(0x%08x)", sa->reqid);
	print_string(PRINT_ANY, "mode", " mode %s", mode_name(sa->mode));
	print_nl();
	/* ip xfrm shows no state: JSON only (a larval SA has no algorithms) */
	if (sa->has_state)
		print_string(PRINT_JSON, "state", NULL,
			     sa->state == KIPSEC_SA_STATE_LARVAL ? "larval" :
			     sa->state == KIPSEC_SA_STATE_MATURE ? "mature" :
			     "dead");
	if (sa->acq_seq)
		print_uint(PRINT_JSON, "acq_seq", NULL, sa->acq_seq);

	print_uint(PRINT_ANY, "replay_window", "\treplay-window %u ",
		   sa->replay_window);
	if (sa->flags || show_stats)
		print_fp("flag ");
	/* as ip: flags separated by spaces, none after the last */
	open_json_array("flags");
	for (i = 0, n = 0; i < N_SA_FLAGS; i++)
		if (sa_flags[i].kflag && (sa->flags & sa_flags[i].kflag))
			print_string(PRINT_ANY, NULL, n++ ? " %s" : "%s",
				     sa_flags[i].name);
	close_json_array();
	/* as ip: "extra_flag" and the names after the flags */
	if (sa->xflags) {
		print_fp(n ? " extra_flag " : "extra_flag ");
		open_json_array("extra_flags");
		if (sa->xflags & KIPSEC_SA_XF_DONT_ENCAP_DSCP)
			print_string(PRINT_ANY, NULL, "%s", "dont-encap-dscp");
		close_json_array();
	}
	if (show_stats)
		print_fp(" (0x%08x)", sa->flags);
	print_nl();

	/* in ip xfrm's order: auth-trunc, enc, aead */
	if (sa->auth_name)
		print_alg(sa->has_auth_trunc ? "auth-trunc" : "auth",
			  sa->auth_name, sa->has_auth_key_bits,
			  sa->auth_key_bits, sa->has_auth_trunc, "trunc_bits",
			  sa->auth_trunc);
	if (sa->enc_name)
		print_alg("enc", sa->enc_name, sa->has_enc_key_bits,
			  sa->enc_key_bits, false, NULL, 0);
	if (sa->aead_name)
		print_alg("aead", sa->aead_name, sa->has_key_bits,
			  sa->key_bits, true, "icv_bits", sa->aead_icv);
	if (sa->encap.set)
		print_encap(&sa->encap);
	/* as ip xfrm, after the encapsulation: "tfcpad 1000" */
	if (sa->tfcpad) {
		print_uint(PRINT_ANY, "tfcpad", "\ttfcpad %u", sa->tfcpad);
		print_nl();
	}
	print_replay(sa);
	if (sa->sel.set) {
		print_fp("\tsel ");
		sel_print(&sa->sel, "sel");
		print_nl();
	}
	lifetime_print(sa, cur, sizeof(cur));
	if (show_stats)
		stats_print_object(&sa->stats, cur);
	if (hard >= 0) {
		print_bool(PRINT_JSON, "hard", NULL, hard);
		print_fp("\thard %d\n", hard);
	}
	close_json_object();
}

static void sa_print(const struct sa *sa)
{
	sa_print_ev(sa, NULL, NULL, -1);
}

int sa_event_print(const struct nlmsghdr *nlh, const char *ev,
		   const char *prefix, bool expire)
{
	const struct nlattr *tb[NL_TB_MAX];
	uint8_t hard = 0;
	struct sa sa;

	if (sa_get(nlh, &sa) || nl_parse(nlh, tb))
		return -1;
	if (expire)
		u8_attr(tb[KIPSEC_A_EV_HARD], &hard);
	sa_print_ev(&sa, ev, prefix, expire ? hard : -1);
	return 0;
}

/*
 * MAPPING event, as ip xfrm monitor: "Mapping change OLD:PORT -> NEW:PORT",
 * then the SA it concerns
 */
int mapping_event_print(const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[NL_TB_MAX];
	char buf[INET6_ADDRSTRLEN], pb[8], spi[16];
	const struct nlattr *na, *np;
	struct sa sa;

	if (sa_get(nlh, &sa) || nl_parse(nlh, tb) || !sa.encap.set)
		return -1;
	na = tb[KIPSEC_A_EV_NEW_ADDR];
	np = tb[KIPSEC_A_EV_NEW_SPORT];
	if (!na || !np || mnl_attr_get_payload_len(np) != 2 ||
	    mnl_attr_get_payload_len(na) !=
	    (unsigned int)af_bytelen(sa.id.family))
		return -1;
	open_json_object(NULL);
	print_string(PRINT_JSON, "event", NULL, "mapping");
	print_string(PRINT_ANY, "old_addr", "Mapping change %s",
		     addr_str(sa.id.family, sa.id.src, buf, sizeof(buf)));
	print_uint(PRINT_ANY, "old_sport", ":%u", sa.encap.sport);
	print_string(PRINT_ANY, "new_addr", " -> %s",
		     addr_str(sa.id.family, mnl_attr_get_payload(na), buf,
			      sizeof(buf)));
	print_uint(PRINT_ANY, "new_sport", ":%u",
		   ntohs(mnl_attr_get_u16(np)));
	print_nl();
	print_string(PRINT_ANY, "dst", "\tdst %s",
		     addr_str(sa.id.family, sa.id.dst, buf, sizeof(buf)));
	print_string(PRINT_JSON, "family", NULL, family_name(sa.id.family));
	print_string(PRINT_ANY, "proto", " proto %s",
		     xfrmproto_name(sa.id.proto, pb, sizeof(pb)));
	snprintf(spi, sizeof(spi), "0x%08x", sa.id.spi);
	print_string(PRINT_ANY, "spi", " spi %s", spi);
	print_uint(PRINT_ANY, "reqid", " reqid %u", sa.reqid);
	print_uint(PRINT_ANY, "dport", " dport %u", sa.encap.dport);
	print_nl();
	close_json_object();
	return 0;
}

static bool filter_match(const struct sa_filter *f, const struct sa *sa)
{
	if (!id_match(&f->id, &sa->id))
		return false;
	if (f->has_mode && f->mode != sa->mode)
		return false;
	if (f->has_reqid && f->reqid != sa->reqid)
		return false;
	if (f->flags && !(f->flags & sa->flags))
		return false;
	return true;
}

struct list_ctx {
	const struct sa_filter *f;
	/* deleteall: the IDs collected */
	struct kid *ids;
	size_t n, cap;
};

static int list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct list_ctx *c = data;
	struct sa sa;

	if (sa_get(nlh, &sa)) {
		fprintf(stderr, "Warning: skipping a malformed SA message.\n");
		return MNL_CB_OK;
	}
	if (c->f && !filter_match(c->f, &sa))
		return MNL_CB_OK;
	if (c->ids) {
		if (c->n == c->cap) {
			struct kid *n = realloc(c->ids,
						2 * c->cap * sizeof(*n));

			if (!n)
				return MNL_CB_ERROR;
			c->ids = n;
			c->cap *= 2;
		}
		c->ids[c->n++] = sa.id;
		return MNL_CB_OK;
	}
	sa_print(&sa);
	return MNL_CB_OK;
}

static void parse_filter(struct sa_filter *f, int argc, char **argv)
{
	memset(f, 0, sizeof(*f));
	while (argc > 0) {
		if (id_parse(&f->id, &argc, &argv)) {
			/* consumed */
		} else if (strcmp(*argv, "mode") == 0) {
			NEXT_ARG();
			f->mode = mode_parse(*argv);
			f->has_mode = true;
		} else if (strcmp(*argv, "reqid") == 0) {
			parse_num(&f->reqid, &f->has_reqid, &argc, &argv);
		} else if (strcmp(*argv, "flag") == 0) {
			NEXT_ARG();
			f->flags |= parse_flags(&argc, &argv);
		} else if (strcmp(*argv, "help") == 0) {
			usage();
		} else {
			check_unsupported(*argv);
			invarg("unknown keyword", *argv);
		}
		argc--;
		argv++;
	}
}

static int state_list(int argc, char **argv)
{
	struct sa_filter f;
	struct list_ctx c = { .f = &f };

	parse_filter(&f, argc, argv);
	new_json_obj();
	open_json_array(NULL);
	nl_dump(KIPSEC_CMD_SA_GET, list_cb, &c);
	close_json_array();
	delete_json_obj();
	return 0;
}

static void del_one(const struct kid *id)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_new(buf, KIPSEC_CMD_SA_DEL, 0);

	put_id(nlh, id);
	nl_talk(nlh, NULL, NULL, false);
}

static int state_deleteall(int argc, char **argv)
{
	struct sa_filter f;
	struct list_ctx c = { .f = &f };
	size_t i;

	parse_filter(&f, argc, argv);
	c.cap = 16;
	c.ids = calloc(c.cap, sizeof(*c.ids));
	if (!c.ids)
		return EXIT_KERNEL;
	nl_dump(KIPSEC_CMD_SA_GET, list_cb, &c);
	for (i = 0; i < c.n; i++)
		del_one(&c.ids[i]);
	free(c.ids);
	return 0;
}

static void parse_id_only(struct kid *id, int argc, char **argv)
{
	memset(id, 0, sizeof(*id));
	while (argc > 0) {
		if (id_parse(id, &argc, &argv)) {
			/* consumed */
		} else if (strcmp(*argv, "help") == 0) {
			usage();
		} else {
			check_unsupported(*argv);
			invarg("unknown keyword", *argv);
		}
		argc--;
		argv++;
	}
	if (!id->has_dst)
		missarg("dst");
	if (!id->has_proto)
		missarg("proto");
	if (!id->has_spi)
		missarg("spi");
}

static int get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sa sa;

	if (sa_get(nlh, &sa)) {
		fprintf(stderr, "Error: malformed SA message from the kernel.\n");
		return MNL_CB_ERROR;
	}
	sa_print(&sa);
	return MNL_CB_OK;
}

static int state_get_or_delete(int argc, char **argv, bool del)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct kid id;

	parse_id_only(&id, argc, argv);
	nlh = nl_new(buf, del ? KIPSEC_CMD_SA_DEL : KIPSEC_CMD_SA_GET, 0);
	put_id(nlh, &id);
	if (del)
		return nl_talk(nlh, NULL, NULL, false);
	new_json_obj();
	nl_talk(nlh, get_cb, NULL, false);
	delete_json_obj();
	return 0;
}

static int state_flush(int argc, char **argv)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct kid id = { 0 };

	while (argc > 0) {
		if (strcmp(*argv, "proto") == 0)
			id_parse(&id, &argc, &argv);
		else if (strcmp(*argv, "help") == 0)
			usage();
		else
			invarg("unknown keyword", *argv);
		argc--;
		argv++;
	}
	nlh = nl_new(buf, KIPSEC_CMD_SA_FLUSH, 0);
	if (id.has_proto)
		mnl_attr_put_u8(nlh, KIPSEC_A_SA_PROTO, id.proto);
	return nl_talk(nlh, NULL, NULL, false);
}

/*
 * state allocspi ID [ mode MODE ] [ reqid REQID ] [ seq SEQ ]
 *                [ min SPI max SPI ]: as ip xfrm, the ID without SPI, and
 * both bounds or none (the kernel then uses ip's 0x100-0x0fffffff).
 */
static int state_allocspi(int argc, char **argv)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t reqid = 0, seq = 0, min = 0, max = 0;
	bool has_reqid = false, has_seq = false, has_min = false;
	bool has_max = false;
	struct nlmsghdr *nlh;
	struct kid id = { 0 };
	int mode = KIPSEC_MODE_TRANSPORT;

	while (argc > 0) {
		if (id_parse(&id, &argc, &argv)) {
			;
		} else if (strcmp(*argv, "mode") == 0) {
			NEXT_ARG();
			mode = mode_parse(*argv);
		} else if (strcmp(*argv, "reqid") == 0) {
			parse_num(&reqid, &has_reqid, &argc, &argv);
		} else if (strcmp(*argv, "seq") == 0) {
			parse_num(&seq, &has_seq, &argc, &argv);
		} else if (strcmp(*argv, "min") == 0) {
			parse_num(&min, &has_min, &argc, &argv);
		} else if (strcmp(*argv, "max") == 0) {
			parse_num(&max, &has_max, &argc, &argv);
		} else if (strcmp(*argv, "help") == 0) {
			usage();
		} else {
			check_unsupported(*argv);
			invarg("unknown keyword", *argv);
		}
		argc--;
		argv++;
	}
	if (!id.has_src || !id.has_dst)
		missarg("ID");
	if (!id.has_proto)
		missarg("XFRM-PROTO");
	if (id.has_spi)
		invarg("\"spi\" is not allowed with allocspi", "spi");
	if (has_min != has_max)
		missarg(has_min ? "max" : "min");
	if (has_min && min > max)
		invarg("value after \"min\" is larger than value after \"max\"",
		       "min");
	nlh = nl_new(buf, KIPSEC_CMD_SA_ALLOCSPI, 0);
	mnl_attr_put_u16(nlh, KIPSEC_A_SA_FAMILY, id.family);
	mnl_attr_put(nlh, KIPSEC_A_SA_SRC, af_bytelen(id.family), id.src);
	mnl_attr_put(nlh, KIPSEC_A_SA_DST, af_bytelen(id.family), id.dst);
	mnl_attr_put_u8(nlh, KIPSEC_A_SA_PROTO, id.proto);
	mnl_attr_put_u8(nlh, KIPSEC_A_SA_MODE, mode);
	mnl_attr_put_u32(nlh, KIPSEC_A_SA_REQID, reqid);
	if (has_seq)
		mnl_attr_put_u32(nlh, KIPSEC_A_SA_ACQ_SEQ, seq);
	if (has_min) {
		mnl_attr_put_u32(nlh, KIPSEC_A_SPI_MIN, min);
		mnl_attr_put_u32(nlh, KIPSEC_A_SPI_MAX, max);
	}
	new_json_obj();
	nl_talk(nlh, get_cb, NULL, false);
	delete_json_obj();
	return 0;
}

static int state_count(int argc, char **argv)
{
	struct kinfo info;

	if (argc > 0) {
		if (strcmp(*argv, "help") == 0)
			usage();
		invarg("unknown keyword", *argv);
	}
	nl_info_get(&info, false);
	if (nl_dryrun())
		return 0;
	new_json_obj();
	open_json_object(NULL);
	print_uint(PRINT_ANY, "sad_count", "SAD count %u\n", info.sa_count);
	close_json_object();
	delete_json_obj();
	return 0;
}

int do_state(int argc, char **argv)
{
	const char *cmd;

	if (argc < 1)
		return state_list(0, NULL);
	cmd = *argv;
	argc--;
	argv++;
	if (matches(cmd, "add") == 0)
		return state_modify(argc, argv, false);
	if (matches(cmd, "update") == 0)
		return state_modify(argc, argv, true);
	if (matches(cmd, "delete") == 0 || strcmp(cmd, "del") == 0)
		return state_get_or_delete(argc, argv, true);
	if (matches(cmd, "deleteall") == 0 || strcmp(cmd, "delall") == 0)
		return state_deleteall(argc, argv);
	if (matches(cmd, "list") == 0 || matches(cmd, "show") == 0 ||
	    strcmp(cmd, "lst") == 0)
		return state_list(argc, argv);
	if (matches(cmd, "get") == 0)
		return state_get_or_delete(argc, argv, false);
	if (matches(cmd, "flush") == 0)
		return state_flush(argc, argv);
	if (matches(cmd, "count") == 0)
		return state_count(argc, argv);
	if (matches(cmd, "help") == 0)
		usage();
	if (matches(cmd, "allocspi") == 0)
		return state_allocspi(argc, argv);
	fprintf(stderr, "Command \"%s\" is unknown, try \"kipsec state help\".\n",
		cmd);
	exit(EXIT_USAGE);
}
