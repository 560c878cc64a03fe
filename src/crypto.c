// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: crypto API glue.
 *
 * An SA carries one AEAD transform, allocated and keyed once when the SA
 * is created.  The accepted algorithms, key and ICV lengths follow xfrm
 * (net/xfrm/xfrm_algo.c, aead_list):
 *
 *   rfc4106(gcm(aes))              key 128/192/256 + 32-bit salt,
 *                                  ICV 64, 96 or 128 bits
 *   rfc4543(gcm(aes))              key 128/192/256 + 32-bit salt,
 *                                  ICV 128 bits (ENCR_NULL_AUTH_AES_GMAC)
 *   rfc7539esp(chacha20,poly1305)  key 256 + 32-bit salt, ICV 128 bits
 *
 * The transform is the plain AEAD, not the seqiv/echainiv IV generator
 * that xfrm wraps around it: the datapath supplies the 8-byte IV itself
 * (the 64-bit sequence number, unique per packet and SA).
 *
 * With the module parameter force_async the transform is wrapped in
 * pcrypt, so every request completes asynchronously from a workqueue;
 * the tests use it to exercise the datapath's completion path.
 */
#include <linux/module.h>
#include <linux/string.h>
#include <linux/netlink.h>
#include <crypto/aead.h>
#include "kipsec.h"

static bool force_async;
module_param(force_async, bool, 0444);
MODULE_PARM_DESC(force_async,
		 "Wrap every SA transform in pcrypt so that crypto requests complete asynchronously (testing; default: off)");

enum kipsec_aead_id {
	KIPSEC_AEAD_GCM,
	KIPSEC_AEAD_GMAC,
	KIPSEC_AEAD_CHACHA,
};

/**
 * struct kipsec_aead_desc - an accepted AEAD and its parameters
 * @name: crypto API name, as given by ip xfrm
 * @id: which one, for the error messages
 * @keylen_mask: accepted key lengths in bytes (salt included), bit n set
 *               for n bytes
 * @icv_mask: accepted ICV lengths in bits, bit n/32 set for n bits
 */
struct kipsec_aead_desc {
	const char *name;
	enum kipsec_aead_id id;
	u64 keylen_mask;
	u32 icv_mask;
};

#define KEYLEN(n)	BIT_ULL(n)
#define ICVLEN(bits)	BIT((bits) / 32)

static const struct kipsec_aead_desc kipsec_aeads[] = {
	{
		.name = "rfc4106(gcm(aes))",
		.id = KIPSEC_AEAD_GCM,
		.keylen_mask = KEYLEN(20) | KEYLEN(28) | KEYLEN(36),
		.icv_mask = ICVLEN(64) | ICVLEN(96) | ICVLEN(128),
	},
	{
		.name = "rfc4543(gcm(aes))",
		.id = KIPSEC_AEAD_GMAC,
		.keylen_mask = KEYLEN(20) | KEYLEN(28) | KEYLEN(36),
		.icv_mask = ICVLEN(128),
	},
	{
		.name = "rfc7539esp(chacha20,poly1305)",
		.id = KIPSEC_AEAD_CHACHA,
		.keylen_mask = KEYLEN(36),
		.icv_mask = ICVLEN(128),
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

/*
 * Linux 6.1 has no formatted extack messages (NL_SET_ERR_MSG_FMT_MOD came
 * in 6.2): a message must be a string literal, hence one per algorithm.
 */
static void set_err_keylen(struct netlink_ext_ack *extack,
			   const struct kipsec_aead_desc *d)
{
	switch (d->id) {
	case KIPSEC_AEAD_GCM:
		NL_SET_ERR_MSG_MOD(extack,
				   "key length does not fit rfc4106(gcm(aes)): 160, 224 or 288 bits (key + 32-bit salt)");
		break;
	case KIPSEC_AEAD_GMAC:
		NL_SET_ERR_MSG_MOD(extack,
				   "key length does not fit rfc4543(gcm(aes)): 160, 224 or 288 bits (key + 32-bit salt)");
		break;
	case KIPSEC_AEAD_CHACHA:
		NL_SET_ERR_MSG_MOD(extack,
				   "key length does not fit rfc7539esp(chacha20,poly1305): 288 bits (key + 32-bit salt)");
		break;
	}
}

static void set_err_icv(struct netlink_ext_ack *extack,
			const struct kipsec_aead_desc *d)
{
	switch (d->id) {
	case KIPSEC_AEAD_GCM:
		NL_SET_ERR_MSG_MOD(extack,
				   "ICV length must be 64, 96 or 128 bits");
		break;
	case KIPSEC_AEAD_GMAC:
		NL_SET_ERR_MSG_MOD(extack,
				   "ICV length must be 128 bits for rfc4543(gcm(aes))");
		break;
	case KIPSEC_AEAD_CHACHA:
		NL_SET_ERR_MSG_MOD(extack,
				   "ICV length must be 128 bits for rfc7539esp(chacha20,poly1305)");
		break;
	}
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

/**
 * kipsec_crypto_init_sa() - allocate and key the AEAD transform of an SA
 * @sa: the SA being built; fills aead, alg_name, key_bits, icv_len,
 *      iv_len and block_size
 * @name: crypto API name of the algorithm (ip xfrm's "aead NAME")
 * @key: key followed by the 4-byte salt; the caller owns and wipes it
 * @keylen: length of @key in bytes
 * @icv_bits: ICV length in bits
 * @extack: error reporting
 *
 * Process context (may sleep).
 *
 * Return: 0, or a negative errno with @extack set.
 */
int kipsec_crypto_init_sa(struct kipsec_sa *sa, const char *name,
			  const u8 *key, unsigned int keylen,
			  unsigned int icv_bits, struct netlink_ext_ack *extack)
{
	const struct kipsec_aead_desc *d;
	struct crypto_aead *tfm;
	int err;

	d = aead_desc_find(name);
	if (!d) {
		NL_SET_ERR_MSG_MOD(extack,
				   "unknown AEAD algorithm (accepted: rfc4106(gcm(aes)), rfc4543(gcm(aes)), rfc7539esp(chacha20,poly1305))");
		return -EOPNOTSUPP;
	}
	if (keylen >= 64 || !(d->keylen_mask & KEYLEN(keylen))) {
		set_err_keylen(extack, d);
		return -EINVAL;
	}
	if (icv_bits % 32 || icv_bits > 128 ||
	    !(d->icv_mask & ICVLEN(icv_bits))) {
		set_err_icv(extack, d);
		return -EINVAL;
	}

	tfm = crypto_alloc_aead(d->name, 0, 0);
	if (IS_ERR(tfm)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "AEAD algorithm not available in this kernel");
		return PTR_ERR(tfm);
	}
	if (force_async) {
		struct crypto_aead *async = aead_make_async(tfm);

		if (IS_ERR(async)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "force_async: cannot wrap the AEAD in pcrypt");
			err = PTR_ERR(async);
			goto err_free;
		}
		tfm = async;
	}

	err = crypto_aead_setkey(tfm, key, keylen);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "AEAD refused the key");
		goto err_free;
	}
	err = crypto_aead_setauthsize(tfm, icv_bits / 8);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "AEAD refused the ICV length");
		goto err_free;
	}

	sa->aead = tfm;
	strscpy(sa->alg_name, d->name, sizeof(sa->alg_name));
	sa->key_bits = keylen * 8;
	sa->icv_len = icv_bits / 8;
	sa->iv_len = crypto_aead_ivsize(tfm);
	sa->block_size = ALIGN(crypto_aead_blocksize(tfm), 4);	/* as esp4 */
	return 0;

err_free:
	crypto_free_aead(tfm);
	return err;
}

/**
 * kipsec_crypto_free_sa() - free the transform of an SA
 * @sa: the SA, no longer reachable by any packet
 *
 * crypto_free_aead() wipes the key schedule.  Safe when the transform was
 * never allocated.
 */
void kipsec_crypto_free_sa(struct kipsec_sa *sa)
{
	if (!IS_ERR_OR_NULL(sa->aead))
		crypto_free_aead(sa->aead);
	sa->aead = NULL;
}
