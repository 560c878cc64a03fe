// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: crypto API glue.
 *
 * An SA carries one transform, allocated and keyed once when the SA is
 * created.  The accepted algorithms, key and ICV lengths follow xfrm
 * (net/xfrm/xfrm_algo.c) and are listed with their RFCs in docs/cli.md.
 *
 * ESP with a combined-mode algorithm (aead_list):
 *
 *   rfc4106(gcm(aes))              key 128/192/256 + 32-bit salt,
 *                                  ICV 64, 96 or 128 bits
 *   rfc4309(ccm(aes))              key 128/192/256 + 24-bit salt,
 *                                  ICV 64, 96 or 128 bits
 *   rfc4543(gcm(aes))              key 128/192/256 + 32-bit salt,
 *                                  ICV 128 bits (ENCR_NULL_AUTH_AES_GMAC)
 *   rfc7539esp(chacha20,poly1305)  key 256 + 32-bit salt, ICV 128 bits
 *
 * ESP with a cipher and an integrity algorithm: the AEAD
 * authenc(AUTH,ENC), or authencesn(AUTH,ENC) for an ESN SA, keyed as
 * esp4's esp_init_authenc() does; a cipher alone is
 * authenc(digest_null,ENC) with a 0-byte ICV, as in xfrm.
 *
 * AH: the keyed hash AUTH (crypto_ahash); the datapath truncates it.
 *
 * The AEAD is the bare transform, not the seqiv/echainiv IV generator
 * that xfrm wraps around it: the datapath writes the IV itself (the
 * 64-bit sequence number XOR a per-SA random salt, as seqiv does, or
 * random bytes for the CBC ciphers, see kipsec_sa.iv_random).
 *
 * The keys are not kept: only a SHA-256 digest of the algorithms, keys
 * and ICV lengths (kipsec_sa.alg_digest), by which an update is refused
 * when it would change them.
 *
 * With the module parameter force_async the AEAD is wrapped in pcrypt, so
 * every request completes asynchronously from a workqueue; the tests use
 * it to exercise the datapath's completion path.
 */
#include <linux/module.h>
#include <linux/string.h>
#include <linux/slab.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <crypto/aead.h>
#include <crypto/authenc.h>
#include <crypto/hash.h>
#include <crypto/sha2.h>
#include <crypto/algapi.h>
#include "kipsec.h"

static bool force_async;
module_param(force_async, bool, 0444);
MODULE_PARM_DESC(force_async,
		 "Wrap every SA transform in pcrypt so that crypto requests complete asynchronously (testing; default: off)");

#define KEYLEN(n)	BIT_ULL(n)
#define ICVLEN(bits)	BIT((bits) / 32)

/*
 * Linux 6.1 has no formatted extack messages (NL_SET_ERR_MSG_FMT_MOD came
 * in 6.2) and NL_SET_ERR_MSG wants a string literal: the tables below
 * carry one literal per algorithm and message, set with this.
 */
static void set_msg(struct netlink_ext_ack *extack, const char *msg)
{
	if (extack)
		extack->_msg = msg;
}

/**
 * struct kipsec_aead_desc - an accepted combined-mode algorithm
 * @name: crypto API name, as given by ip xfrm
 * @keylen_mask: accepted key lengths in bytes (salt included), bit n set
 *               for n bytes
 * @icv_mask: accepted ICV lengths in bits, bit n/32 set for n bits
 * @err_key: message for a key of the wrong length
 * @err_icv: message for an ICV of the wrong length
 */
struct kipsec_aead_desc {
	const char *name;
	u64 keylen_mask;
	u32 icv_mask;
	const char *err_key;
	const char *err_icv;
};

static const struct kipsec_aead_desc kipsec_aeads[] = {
	{
		.name = "rfc4106(gcm(aes))",
		.keylen_mask = KEYLEN(20) | KEYLEN(28) | KEYLEN(36),
		.icv_mask = ICVLEN(64) | ICVLEN(96) | ICVLEN(128),
		.err_key =
			"kipsec: key length does not fit rfc4106(gcm(aes)): 160, 224 or 288 bits (key + 32-bit salt)",
		.err_icv = "kipsec: ICV length must be 64, 96 or 128 bits",
	},
	{
		.name = "rfc4309(ccm(aes))",
		.keylen_mask = KEYLEN(19) | KEYLEN(27) | KEYLEN(35),
		.icv_mask = ICVLEN(64) | ICVLEN(96) | ICVLEN(128),
		.err_key =
			"kipsec: key length does not fit rfc4309(ccm(aes)): 152, 216 or 280 bits (key + 24-bit salt)",
		.err_icv = "kipsec: ICV length must be 64, 96 or 128 bits for rfc4309(ccm(aes))",
	},
	{
		.name = "rfc4543(gcm(aes))",
		.keylen_mask = KEYLEN(20) | KEYLEN(28) | KEYLEN(36),
		.icv_mask = ICVLEN(128),
		.err_key =
			"kipsec: key length does not fit rfc4543(gcm(aes)): 160, 224 or 288 bits (key + 32-bit salt)",
		.err_icv = "kipsec: ICV length must be 128 bits for rfc4543(gcm(aes))",
	},
	{
		.name = "rfc7539esp(chacha20,poly1305)",
		.keylen_mask = KEYLEN(36),
		.icv_mask = ICVLEN(128),
		.err_key =
			"kipsec: key length does not fit rfc7539esp(chacha20,poly1305): 288 bits (key + 32-bit salt)",
		.err_icv = "kipsec: ICV length must be 128 bits for rfc7539esp(chacha20,poly1305)",
	},
};

/**
 * struct kipsec_enc_desc - an accepted ESP cipher
 * @name: crypto API name, as xfrm stores and dumps it
 * @compat: the short name xfrm also accepts (ip xfrm ... enc aes KEY)
 * @keylen_mask: accepted key lengths in bytes (nonce included)
 * @iv_random: CBC: the IV must be unpredictable, not the sequence number
 * @err_key: message for a key of the wrong length
 */
struct kipsec_enc_desc {
	const char *name;
	const char *compat;
	u64 keylen_mask;
	bool iv_random;
	const char *err_key;
};

static const struct kipsec_enc_desc kipsec_encs[] = {
	{
		.name = "cbc(aes)",
		.compat = "aes",
		.keylen_mask = KEYLEN(16) | KEYLEN(24) | KEYLEN(32),
		.iv_random = true,
		.err_key = "kipsec: key length does not fit cbc(aes): 128, 192 or 256 bits",
	},
	{
		.name = "rfc3686(ctr(aes))",
		.keylen_mask = KEYLEN(20) | KEYLEN(28) | KEYLEN(36),
		.err_key =
			"kipsec: key length does not fit rfc3686(ctr(aes)): 160, 224 or 288 bits (key + 32-bit nonce)",
	},
	{
		.name = "ecb(cipher_null)",
		.compat = "cipher_null",
		.keylen_mask = KEYLEN(0),
		.err_key = "kipsec: ecb(cipher_null) takes no key: give an empty key (\"\")",
	},
	{
		.name = "cbc(des3_ede)",
		.compat = "des3_ede",
		.keylen_mask = KEYLEN(24),
		.iv_random = true,
		.err_key = "kipsec: key length does not fit cbc(des3_ede): 192 bits",
	},
};

/**
 * struct kipsec_auth_desc - an accepted integrity algorithm (ESP and AH)
 * @name: crypto API name, as xfrm stores and dumps it
 * @compat: the short name xfrm also accepts, or NULL
 * @full_bits: digest length
 * @trunc_bits: xfrm's default truncation (icv_truncbits): used when none
 *              is given, so that the same command line gives the same ICV
 * @key_min: shortest accepted key, bytes
 * @key_max: longest accepted key, bytes
 * @err_key: message for a key of the wrong length
 * @err_trunc: message for a truncation length out of range
 */
struct kipsec_auth_desc {
	const char *name;
	const char *compat;
	u16 full_bits;
	u16 trunc_bits;
	u8 key_min;
	u8 key_max;
	const char *err_key;
	const char *err_trunc;
};

/* HMAC takes any key length (RFC 2104); xfrm sets no bound, we cap it */
#define HMAC_KEY_MAX	128

static const struct kipsec_auth_desc kipsec_auths[] = {
	{
		.name = "hmac(sha1)",
		.compat = "sha1",
		.full_bits = 160,
		.trunc_bits = 96,
		.key_min = 1,
		.key_max = HMAC_KEY_MAX,
		.err_key =
			"kipsec: key length does not fit hmac(sha1): 1 to 128 bytes (RFC 2404: 160 bits)",
		.err_trunc =
			"kipsec: hmac(sha1) truncation must be a multiple of 8 bits from 64 to 160",
	},
	{
		.name = "hmac(sha256)",
		.compat = "sha256",
		.full_bits = 256,
		.trunc_bits = 96,
		.key_min = 1,
		.key_max = HMAC_KEY_MAX,
		.err_key =
			"kipsec: key length does not fit hmac(sha256): 1 to 128 bytes (RFC 4868: 256 bits)",
		.err_trunc =
			"kipsec: hmac(sha256) truncation must be a multiple of 8 bits from 64 to 256",
	},
	{
		.name = "hmac(sha384)",
		.full_bits = 384,
		.trunc_bits = 192,
		.key_min = 1,
		.key_max = HMAC_KEY_MAX,
		.err_key =
			"kipsec: key length does not fit hmac(sha384): 1 to 128 bytes (RFC 4868: 384 bits)",
		.err_trunc =
			"kipsec: hmac(sha384) truncation must be a multiple of 8 bits from 64 to 384",
	},
	{
		.name = "hmac(sha512)",
		.full_bits = 512,
		.trunc_bits = 256,
		.key_min = 1,
		.key_max = HMAC_KEY_MAX,
		.err_key =
			"kipsec: key length does not fit hmac(sha512): 1 to 128 bytes (RFC 4868: 512 bits)",
		.err_trunc =
			"kipsec: hmac(sha512) truncation must be a multiple of 8 bits from 64 to 512",
	},
	{
		.name = "xcbc(aes)",
		.full_bits = 128,
		.trunc_bits = 96,
		.key_min = 16,
		.key_max = 16,
		.err_key = "kipsec: key length does not fit xcbc(aes): 128 bits",
		.err_trunc =
			"kipsec: xcbc(aes) truncation must be a multiple of 8 bits from 64 to 128",
	},
	{
		.name = "cmac(aes)",
		.full_bits = 128,
		.trunc_bits = 96,
		.key_min = 16,
		.key_max = 16,
		.err_key = "kipsec: key length does not fit cmac(aes): 128 bits",
		.err_trunc =
			"kipsec: cmac(aes) truncation must be a multiple of 8 bits from 64 to 128",
	},
	{
		.name = "hmac(md5)",
		.compat = "md5",
		.full_bits = 128,
		.trunc_bits = 96,
		.key_min = 1,
		.key_max = HMAC_KEY_MAX,
		.err_key =
			"kipsec: key length does not fit hmac(md5): 1 to 128 bytes (RFC 2403: 128 bits)",
		.err_trunc =
			"kipsec: hmac(md5) truncation must be a multiple of 8 bits from 64 to 128",
	},
};

static const struct kipsec_aead_desc *aead_desc_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kipsec_aeads); i++)
		if (!strcmp(kipsec_aeads[i].name, name))
			return &kipsec_aeads[i];
	return NULL;
}

static const struct kipsec_enc_desc *enc_desc_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kipsec_encs); i++)
		if (!strcmp(kipsec_encs[i].name, name) ||
		    (kipsec_encs[i].compat &&
		     !strcmp(kipsec_encs[i].compat, name)))
			return &kipsec_encs[i];
	return NULL;
}

static const struct kipsec_auth_desc *auth_desc_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kipsec_auths); i++)
		if (!strcmp(kipsec_auths[i].name, name) ||
		    (kipsec_auths[i].compat &&
		     !strcmp(kipsec_auths[i].compat, name)))
			return &kipsec_auths[i];
	return NULL;
}

/*
 * Wrap @tfm's driver in pcrypt: every request then returns -EINPROGRESS
 * and completes from padata's workqueue.  Not cryptd: it wraps only
 * synchronous algorithms, and in 6.1 it leaves the child transform in
 * req->base.tfm (the crypto self-tests reject cryptd(rfc4106(...)) for
 * that).  The pcrypt instance stays registered, with a priority above the
 * algorithm it wraps, until pcrypt.ko is unloaded: meanwhile every user of
 * the algorithm gets it, xfrm included.  For tests only.
 */
static struct crypto_aead *aead_make_async(struct crypto_aead *tfm)
{
	char name[CRYPTO_MAX_ALG_NAME];
	struct crypto_aead *async;
	const char *driver;
	int n;

	driver = crypto_tfm_alg_driver_name(crypto_aead_tfm(tfm));
	/* pcrypt instances outrank what they wrap: do not wrap twice */
	if (!strncmp(driver, "pcrypt(", 7))
		return tfm;
	n = snprintf(name, sizeof(name), "pcrypt(%s)", driver);
	if (n >= sizeof(name))
		return ERR_PTR(-ENAMETOOLONG);
	async = crypto_alloc_aead(name, 0, 0);
	if (!IS_ERR(async))
		crypto_free_aead(tfm);
	return async;
}

/* allocate @name, wrapped in pcrypt under force_async */
static struct crypto_aead *aead_alloc(const char *name,
				      struct netlink_ext_ack *extack)
{
	struct crypto_aead *tfm, *async;

	tfm = crypto_alloc_aead(name, 0, 0);
	if (IS_ERR(tfm)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "algorithm not available in this kernel");
		return tfm;
	}
	if (!force_async)
		return tfm;
	async = aead_make_async(tfm);
	if (IS_ERR(async)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "force_async: cannot wrap the AEAD in pcrypt");
		crypto_free_aead(tfm);
	}
	return async;
}

/* the AEAD fields of @sa, once its transform is keyed */
static void sa_set_aead(struct kipsec_sa *sa, struct crypto_aead *tfm)
{
	sa->aead = tfm;
	sa->icv_len = crypto_aead_authsize(tfm);
	sa->iv_len = crypto_aead_ivsize(tfm);
	sa->block_size = ALIGN(crypto_aead_blocksize(tfm), 4);	/* as esp4 */
}

/* ESP with a combined-mode algorithm */
static int init_aead(struct kipsec_sa *sa, const struct kipsec_alg_params *p,
		     struct netlink_ext_ack *extack)
{
	const struct kipsec_aead_desc *d = aead_desc_find(p->aead_name);
	unsigned int icv_bits = p->aead_icv_bits;
	struct crypto_aead *tfm;
	int err;

	if (!d) {
		NL_SET_ERR_MSG_MOD(extack,
				   "unknown AEAD algorithm (accepted: rfc4106(gcm(aes)), rfc4309(ccm(aes)), rfc4543(gcm(aes)), rfc7539esp(chacha20,poly1305))");
		return -EOPNOTSUPP;
	}
	if (p->aead_keylen >= 64 || !(d->keylen_mask & KEYLEN(p->aead_keylen))) {
		set_msg(extack, d->err_key);
		return -EINVAL;
	}
	if (icv_bits % 32 || icv_bits > 128 ||
	    !(d->icv_mask & ICVLEN(icv_bits))) {
		set_msg(extack, d->err_icv);
		return -EINVAL;
	}

	tfm = aead_alloc(d->name, extack);
	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	err = crypto_aead_setkey(tfm, p->aead_key, p->aead_keylen);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "AEAD refused the key");
		goto err_free;
	}
	err = crypto_aead_setauthsize(tfm, icv_bits / 8);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "AEAD refused the ICV length");
		goto err_free;
	}
	sa_set_aead(sa, tfm);
	strscpy(sa->alg_name, d->name, sizeof(sa->alg_name));
	sa->key_bits = p->aead_keylen * 8;
	return 0;

err_free:
	crypto_free_aead(tfm);
	return err;
}

/* an integrity algorithm, its key and truncation: NULL with @extack set */
static const struct kipsec_auth_desc *
auth_check(const struct kipsec_alg_params *p, unsigned int *trunc_bits,
	   struct netlink_ext_ack *extack)
{
	const struct kipsec_auth_desc *a = auth_desc_find(p->auth_name);
	unsigned int t = p->auth_trunc_bits;

	if (!a) {
		NL_SET_ERR_MSG_MOD(extack,
				   "unknown integrity algorithm (accepted: hmac(sha1), hmac(sha256), hmac(sha384), hmac(sha512), xcbc(aes), cmac(aes), hmac(md5))");
		return NULL;
	}
	if (p->auth_keylen < a->key_min || p->auth_keylen > a->key_max) {
		set_msg(extack, a->err_key);
		return NULL;
	}
	if (!t)
		t = a->trunc_bits;	/* as xfrm: 0 is the default */
	if (t % 8 || t < 64 || t > a->full_bits) {
		set_msg(extack, a->err_trunc);
		return NULL;
	}
	*trunc_bits = t;
	return a;
}

/*
 * The key of authenc/authencesn: an rtattr CRYPTO_AUTHENC_KEYA_PARAM
 * holding the cipher key length, then the integrity key, then the cipher
 * key (crypto/authenc.c crypto_authenc_extractkeys()).
 */
static int authenc_setkey(struct crypto_aead *tfm,
			  const struct kipsec_alg_params *p)
{
	struct crypto_authenc_key_param *param;
	unsigned int authlen = p->auth_name ? p->auth_keylen : 0;
	unsigned int keylen;
	struct rtattr *rta;
	u8 *key, *q;
	int err;

	keylen = RTA_SPACE(sizeof(*param)) + authlen + p->enc_keylen;
	key = kmalloc(keylen, GFP_KERNEL);
	if (!key)
		return -ENOMEM;
	rta = (struct rtattr *)key;
	rta->rta_type = CRYPTO_AUTHENC_KEYA_PARAM;
	rta->rta_len = RTA_LENGTH(sizeof(*param));
	param = RTA_DATA(rta);
	param->enckeylen = cpu_to_be32(p->enc_keylen);
	q = key + RTA_SPACE(sizeof(*param));
	if (authlen)
		memcpy(q, p->auth_key, authlen);
	q += authlen;
	if (p->enc_keylen)
		memcpy(q, p->enc_key, p->enc_keylen);
	err = crypto_aead_setkey(tfm, key, keylen);
	kfree_sensitive(key);
	return err;
}

/* ESP with a cipher and an optional integrity algorithm */
static int init_authenc(struct kipsec_sa *sa,
			const struct kipsec_alg_params *p,
			struct netlink_ext_ack *extack)
{
	const struct kipsec_auth_desc *a = NULL;
	const struct kipsec_enc_desc *e;
	char name[CRYPTO_MAX_ALG_NAME];
	unsigned int trunc = 0;
	struct crypto_aead *tfm;
	int err;

	if (!strcmp(p->enc_name, "cbc(des)") || !strcmp(p->enc_name, "des")) {
		NL_SET_ERR_MSG_MOD(extack,
				   "single DES is insecure and not supported (use cbc(aes))");
		return -EOPNOTSUPP;
	}
	e = enc_desc_find(p->enc_name);
	if (!e) {
		NL_SET_ERR_MSG_MOD(extack,
				   "unknown cipher (accepted: cbc(aes), rfc3686(ctr(aes)), cbc(des3_ede), ecb(cipher_null))");
		return -EOPNOTSUPP;
	}
	if (p->enc_keylen >= 64 || !(e->keylen_mask & KEYLEN(p->enc_keylen))) {
		set_msg(extack, e->err_key);
		return -EINVAL;
	}
	if (p->auth_name) {
		a = auth_check(p, &trunc, extack);
		if (!a)
			return -EINVAL;
	}

	if (snprintf(name, sizeof(name), "%s(%s,%s)",
		     sa->flags & KIPSEC_SA_F_ESN ? "authencesn" : "authenc",
		     a ? a->name : "digest_null", e->name) >= sizeof(name))
		return -ENAMETOOLONG;
	tfm = aead_alloc(name, extack);
	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	if (a) {
		/* as esp_init_authenc(): the digest must be the expected one */
		if (crypto_aead_maxauthsize(tfm) != a->full_bits / 8) {
			NL_SET_ERR_MSG_MOD(extack,
					   "integrity algorithm has an unexpected digest size");
			err = -EINVAL;
			goto err_free;
		}
		err = crypto_aead_setauthsize(tfm, trunc / 8);
		if (err) {
			NL_SET_ERR_MSG_MOD(extack,
					   "integrity algorithm refused the truncation length");
			goto err_free;
		}
	}
	err = authenc_setkey(tfm, p);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack,
				   "cipher or integrity algorithm refused the key");
		goto err_free;
	}
	sa_set_aead(sa, tfm);
	sa->iv_random = e->iv_random;
	strscpy(sa->enc_name, e->name, sizeof(sa->enc_name));
	sa->enc_key_bits = p->enc_keylen * 8;
	if (a) {
		strscpy(sa->auth_name, a->name, sizeof(sa->auth_name));
		sa->auth_key_bits = p->auth_keylen * 8;
	}
	return 0;

err_free:
	crypto_free_aead(tfm);
	return err;
}

/* AH: the keyed hash */
static int init_ahash(struct kipsec_sa *sa, const struct kipsec_alg_params *p,
		      struct netlink_ext_ack *extack)
{
	const struct kipsec_auth_desc *a;
	struct crypto_ahash *tfm;
	unsigned int trunc;
	int err;

	a = auth_check(p, &trunc, extack);
	if (!a)
		return -EINVAL;
	tfm = crypto_alloc_ahash(a->name, 0, 0);
	if (IS_ERR(tfm)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "integrity algorithm not available in this kernel");
		return PTR_ERR(tfm);
	}
	if (crypto_ahash_digestsize(tfm) != a->full_bits / 8) {
		NL_SET_ERR_MSG_MOD(extack,
				   "integrity algorithm has an unexpected digest size");
		err = -EINVAL;
		goto err_free;
	}
	err = crypto_ahash_setkey(tfm, p->auth_key, p->auth_keylen);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "integrity algorithm refused the key");
		goto err_free;
	}
	sa->ahash = tfm;
	strscpy(sa->auth_name, a->name, sizeof(sa->auth_name));
	sa->auth_key_bits = p->auth_keylen * 8;
	sa->icv_len = trunc / 8;
	sa->iv_len = 0;
	sa->block_size = 0;
	return 0;

err_free:
	crypto_free_ahash(tfm);
	return err;
}

/* the transform of an ESP or AH SA, by its protocol */
static int init_sa_algs(struct kipsec_sa *sa,
			const struct kipsec_alg_params *p,
			struct netlink_ext_ack *extack)
{
	if (sa->key.proto == IPPROTO_AH) {
		if (p->aead_name || p->enc_name) {
			NL_SET_ERR_MSG_MOD(extack,
					   "AH carries only an integrity algorithm (auth or auth-trunc), no aead or enc");
			return -EINVAL;
		}
		if (!p->auth_name) {
			NL_SET_ERR_MSG_MOD(extack,
					   "AH needs an integrity algorithm (auth or auth-trunc)");
			return -EINVAL;
		}
		return init_ahash(sa, p, extack);
	}
	if (sa->key.proto != IPPROTO_ESP) {
		NL_SET_ERR_MSG_MOD(extack, "SA protocol must be ESP or AH");
		return -EPROTONOSUPPORT;
	}
	if (p->aead_name) {
		if (p->enc_name || p->auth_name) {
			NL_SET_ERR_MSG_MOD(extack,
					   "an AEAD algorithm excludes separate enc and auth algorithms");
			return -EINVAL;
		}
		return init_aead(sa, p, extack);
	}
	if (!p->enc_name) {
		NL_SET_ERR_MSG_MOD(extack,
				   "ESP needs an AEAD (aead) or a cipher (enc; ecb(cipher_null) for integrity only)");
		return -EINVAL;
	}
	return init_authenc(sa, p, extack);
}

static void digest_alg(struct sha256_state *st, const char *name,
		       const u8 *key, unsigned int keylen)
{
	if (!name)
		name = "";
	sha256_update(st, (const u8 *)name, strlen(name) + 1);
	sha256_update(st, (const u8 *)&keylen, sizeof(keylen));
	if (keylen)
		sha256_update(st, key, keylen);
}

/*
 * What an update must not change, without keeping the keys themselves.
 * The ICV length as set up (icv_len), not as given: `auth` and
 * `auth-trunc` with the default truncation are the same SA.
 */
static void sa_alg_digest(struct kipsec_sa *sa,
			  const struct kipsec_alg_params *p)
{
	/* ESN selects authencesn and another sequence number space */
	u32 tail[2] = { sa->icv_len, !!(sa->flags & KIPSEC_SA_F_ESN) };
	struct sha256_state st;

	sha256_init(&st);
	digest_alg(&st, p->aead_name, p->aead_key, p->aead_keylen);
	digest_alg(&st, p->enc_name, p->enc_key, p->enc_keylen);
	digest_alg(&st, p->auth_name, p->auth_key, p->auth_keylen);
	sha256_update(&st, (const u8 *)tail, sizeof(tail));
	sha256_final(&st, sa->alg_digest);
	memzero_explicit(&st, sizeof(st));
}

/**
 * kipsec_crypto_init_sa_algs() - allocate and key the transform of an SA
 * @sa: the SA being built, with key.proto and flags (ESN) set; fills aead
 *      or ahash, the names, key lengths, icv_len, iv_len, block_size,
 *      iv_random, iv_salt and alg_digest
 * @p: the algorithms and keys; the caller owns and wipes the keys
 * @extack: error reporting
 *
 * ESP takes either an AEAD (@p->aead_name) or a cipher (@p->enc_name) with
 * an optional integrity algorithm (@p->auth_name); AH takes only an
 * integrity algorithm.  An integrity truncation of 0 means xfrm's default
 * for the algorithm.
 *
 * Process context (may sleep).
 *
 * Return: 0, or a negative errno with @extack set.
 */
int kipsec_crypto_init_sa_algs(struct kipsec_sa *sa,
			       const struct kipsec_alg_params *p,
			       struct netlink_ext_ack *extack)
{
	int err;

	err = init_sa_algs(sa, p, extack);
	if (err)
		return err;
	sa_alg_digest(sa, p);
	sa->iv_salt = get_random_u64();
	return 0;
}

/**
 * kipsec_crypto_same_algs() - do two SAs have the same algorithms and keys?
 * @a: an SA
 * @b: another SA
 *
 * Compares the digests in constant time: how much of them matches says
 * nothing about the keys.
 *
 * Return: true when algorithms, keys, ICV lengths and ESN are the same.
 */
bool kipsec_crypto_same_algs(const struct kipsec_sa *a,
			     const struct kipsec_sa *b)
{
	return !crypto_memneq(a->alg_digest, b->alg_digest,
			      sizeof(a->alg_digest));
}

/**
 * kipsec_crypto_free_sa() - free the transforms of an SA
 * @sa: the SA, no longer reachable by any packet
 *
 * The one place that frees what kipsec_crypto_init_sa_algs() allocated:
 * the AEAD (ESP) or the keyed hash (AH).  Freeing a transform wipes its
 * key schedule: crypto_destroy_tfm() releases the context holding the
 * expanded keys with kfree_sensitive().  Safe when no transform was
 * allocated.
 */
void kipsec_crypto_free_sa(struct kipsec_sa *sa)
{
	if (sa->xform_from) {
		/* the transform is @xform_from's, freed with it */
		kipsec_sa_put(sa->xform_from);
		sa->xform_from = NULL;
		sa->aead = NULL;
		sa->ahash = NULL;
		return;
	}
	if (!IS_ERR_OR_NULL(sa->aead))
		crypto_free_aead(sa->aead);
	sa->aead = NULL;
	if (!IS_ERR_OR_NULL(sa->ahash))
		crypto_free_ahash(sa->ahash);
	sa->ahash = NULL;
}

/* does @p name @from's algorithms, key lengths and ICV length */
static bool share_same_algs(const struct kipsec_sa *from,
			    const struct kipsec_alg_params *p)
{
	unsigned int icv_bits = p->aead_name ? p->aead_icv_bits :
				p->auth_trunc_bits;

	return !strcmp(p->aead_name ?: "", from->alg_name) &&
	       !strcmp(p->enc_name ?: "", from->enc_name) &&
	       !strcmp(p->auth_name ?: "", from->auth_name) &&
	       p->aead_keylen * 8 == from->key_bits &&
	       p->enc_keylen * 8 == from->enc_key_bits &&
	       p->auth_keylen * 8 == from->auth_key_bits &&
	       (!icv_bits || icv_bits == from->icv_len * 8);
}

/**
 * kipsec_crypto_share_sa() - use a deleted SA's keyed transform
 * @sa: the new SA; its flags set
 * @from: the deleted SA (kipsec_sa_take_kept()), whose transform stays
 *        its own: @sa holds a reference to it until @sa is freed
 * @p: the algorithms the request names, with zero-filled keys
 * @extack: the reason of a failure
 *
 * An SA re-added from a GETSA reply has no keys to give; it gets the
 * transform @from was keyed with, and @from's IV salt, so that with the
 * numbers going on (kipsec_sa_setup()) no IV repeats one @from sent.
 *
 * Return: 0, or -EINVAL when @p names other algorithms than @from's.
 */
int kipsec_crypto_share_sa(struct kipsec_sa *sa, struct kipsec_sa *from,
			   const struct kipsec_alg_params *p,
			   struct netlink_ext_ack *extack)
{
	if (!share_same_algs(from, p) ||
	    ((sa->flags ^ from->flags) & KIPSEC_SA_F_ESN)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "zero-filled keys name a deleted SA with other algorithms, key lengths, ICV length or ESN");
		return -EINVAL;
	}
	sa->aead = from->aead;
	sa->ahash = from->ahash;
	strscpy(sa->alg_name, from->alg_name, sizeof(sa->alg_name));
	strscpy(sa->enc_name, from->enc_name, sizeof(sa->enc_name));
	strscpy(sa->auth_name, from->auth_name, sizeof(sa->auth_name));
	sa->key_bits = from->key_bits;
	sa->enc_key_bits = from->enc_key_bits;
	sa->auth_key_bits = from->auth_key_bits;
	sa->iv_random = from->iv_random;
	sa->iv_salt = from->iv_salt;
	memcpy(sa->alg_digest, from->alg_digest, sizeof(sa->alg_digest));
	sa->icv_len = from->icv_len;
	sa->iv_len = from->iv_len;
	sa->block_size = from->block_size;
	kipsec_sa_hold(from);
	sa->xform_from = from;
	return 0;
}
