// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: inbound anti-replay window (RFC 4303 3.4.3 and Appendix A).
 *
 * The window is a ring of machine words: bit (seq mod ring bits) says
 * whether seq was received.  The ring has a power-of-two number of words
 * and at least one word more than the window needs, so the words that the
 * window covers never alias each other and moving the top forward only
 * clears the words it moves into: O(words advanced), independent of the
 * window size (the layout of WireGuard's counter.c; xfrm's ESN bitmap
 * clears bit by bit instead).
 *
 * Sequence numbers are 64-bit throughout; without ESN the high half is 0.
 * A full sequence number of 0 is never valid (RFC 4303 3.3.3: the first
 * packet is 1; xfrm drops seq 0 when the window is on, and with ESN only
 * when the high bits are 0 too).  kipsec counts it as IN_WINDOW: it lies
 * left of every window, which is what it means.
 *
 * A window size of 0 disables the check, as in xfrm: every number is
 * accepted, 0 included.  The top is still tracked so that the high bits
 * of ESN numbers can be inferred.
 *
 * Callers hold kipsec_sa.lock around check, advance and infer_esn.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/bitops.h>
#include <linux/log2.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include "kipsec.h"

#define WORD_SHIFT	ilog2(BITS_PER_LONG)

static u64 ring_mask(const struct kipsec_replay *r)
{
	return ((u64)r->words << WORD_SHIFT) - 1;
}

/**
 * kipsec_replay_init() - allocate the window of an SA
 * @r: the replay state, zero-initialised with the SA
 * @size: window size in packets, 0 to disable, at most
 *        KIPSEC_REPLAY_WINDOW_MAX
 *
 * @r->top is left as it is: the control plane may set the initial top
 * (ip xfrm's replay-seq, replay-seq-hi) before or after this call, as long
 * as no packet was accepted yet.
 *
 * Return: 0, -EINVAL for a window too large, -ENOMEM.
 */
int kipsec_replay_init(struct kipsec_replay *r, u32 size)
{
	u32 words;

	r->size = 0;
	r->words = 0;
	r->bitmap = NULL;
	if (size > KIPSEC_REPLAY_WINDOW_MAX)
		return -EINVAL;
	if (!size)
		return 0;

	words = roundup_pow_of_two(DIV_ROUND_UP(size, BITS_PER_LONG) + 1);
	r->bitmap = kvcalloc(words, sizeof(unsigned long), GFP_KERNEL_ACCOUNT);
	if (!r->bitmap)
		return -ENOMEM;
	r->words = words;
	r->size = size;
	return 0;
}

/**
 * kipsec_replay_free() - free the window
 * @r: the replay state
 *
 * May be called from an RCU callback.
 */
void kipsec_replay_free(struct kipsec_replay *r)
{
	kvfree(r->bitmap);
	r->bitmap = NULL;
	r->words = 0;
	r->size = 0;
}

/* move the top up to @seq, clearing the words the window moves into */
static void replay_move_top(struct kipsec_replay *r, u64 seq)
{
	u64 cur, index, n, i;

	if (seq <= r->top)
		return;
	if (r->size) {
		/* each word at most once: O(words), not O(seq - top) */
		cur = r->top >> WORD_SHIFT;
		index = seq >> WORD_SHIFT;
		n = min_t(u64, index - cur, r->words);
		for (i = 1; i <= n; i++)
			r->bitmap[(cur + i) & (r->words - 1)] = 0;
	}
	r->top = seq;
}

/**
 * kipsec_replay_check() - may a packet with this sequence number be
 *                         decrypted?
 * @r: the replay state
 * @seq: the packet's full (64-bit) sequence number
 *
 * Return: 0 when acceptable, KIPSEC_STAT_IN_WINDOW when left of the
 * window (or 0), KIPSEC_STAT_IN_REPLAY when already received.
 */
int kipsec_replay_check(const struct kipsec_replay *r, u64 seq)
{
	if (!r->size)
		return 0;
	if (unlikely(!seq))
		return KIPSEC_STAT_IN_WINDOW;
	if (likely(seq > r->top))
		return 0;
	if (r->top - seq >= r->size)
		return KIPSEC_STAT_IN_WINDOW;
	if (test_bit(seq & ring_mask(r), r->bitmap))
		return KIPSEC_STAT_IN_REPLAY;
	return 0;
}

/**
 * kipsec_replay_advance() - record an authenticated packet
 * @r: the replay state
 * @seq: the packet's full (64-bit) sequence number
 *
 * Checks again (another copy of the packet may have been authenticated
 * meanwhile), then marks @seq received and moves the top.
 *
 * Return: 0, or the KIPSEC_STAT_* reason to drop the packet.
 */
int kipsec_replay_advance(struct kipsec_replay *r, u64 seq)
{
	int err;

	err = kipsec_replay_check(r, seq);
	if (err)
		return err;
	replay_move_top(r, seq);
	if (r->size)
		__set_bit(seq & ring_mask(r), r->bitmap);
	return 0;
}

/**
 * kipsec_replay_carry() - hand a window over to a replacing SA
 * @dst: the new SA's window, just initialised (any size, nothing received)
 * @src: the replaced SA's window
 * @top: the top @dst must end at: @src's, or a higher one the update set
 *
 * Every number @src still knows keeps its state; a number @dst covers
 * but @src did not (a larger window, or a disabled one) counts as
 * received: @src would have refused it as too old, and @dst must not
 * accept a replay of it.  O(window size); the caller holds the replaced
 * SA's lock, the new SA is not published yet.
 */
void kipsec_replay_carry(struct kipsec_replay *dst,
			 const struct kipsec_replay *src, u64 top)
{
	u64 i, n, seq;

	dst->top = src->top;
	n = min_t(u64, dst->size, src->top);
	for (i = 0; i < n; i++) {
		seq = src->top - i;
		if (i >= src->size ||
		    test_bit(seq & ring_mask(src), src->bitmap))
			__set_bit(seq & ring_mask(dst), dst->bitmap);
	}
	replay_move_top(dst, top);
}

/**
 * kipsec_replay_infer_esn() - the full sequence number of an ESN packet
 * @r: the replay state
 * @seq_lo: the 32 bits carried in the packet
 *
 * RFC 4303 Appendix A.2 with Tl, Th the halves of the top and W the
 * window, in the u32 arithmetic of xfrm_replay_seqhi(): if the window
 * lies in one subspace (Tl >= W - 1), a number below the window belongs
 * to the next subspace (Th + 1); if it spans two, a number at or above
 * the window's bottom (mod 2^32) belongs to the previous one (Th - 1).
 * A disabled window (0) counts as a window of 1.
 *
 * Return: the inferred 64-bit sequence number; the ICV, which covers the
 * high bits, tells whether the guess was right.
 */
u64 kipsec_replay_infer_esn(const struct kipsec_replay *r, u32 seq_lo)
{
	u32 tl = lower_32_bits(r->top);
	u32 th = upper_32_bits(r->top);
	u32 w = max_t(u32, r->size, 1);
	u32 bottom = tl - w + 1;

	if (likely(tl >= w - 1)) {
		/* A. same subspace */
		if (unlikely(seq_lo < bottom))
			th++;
	} else {
		/* B. window spans two subspaces */
		if (unlikely(seq_lo >= bottom))
			th--;
	}
	return ((u64)th << 32) | seq_lo;
}

/* ---- self-tests ---------------------------------------------------- */

static bool selftest;
module_param(selftest, bool, 0444);
MODULE_PARM_DESC(selftest,
		 "Run the anti-replay self-tests at module load, refuse to load on failure (default: off)");

/**
 * struct replay_test - state of one self-test run
 * @r: the window under test
 * @seen: reference model: one bit per absolute sequence number below @span
 * @span: numbers the model covers
 * @failed: number of failed assertions
 * @name: test name for the messages
 */
struct replay_test {
	struct kipsec_replay r;
	unsigned long *seen;
	u64 span;
	unsigned int failed;
	const char *name;
};

static void t_fail(struct replay_test *t, const char *what, u64 seq, int got,
		   int want)
{
	if (t->failed++ < 8)
		pr_err("replay self-test %s (window %u): %s seq %llu: got %d, want %d\n",
		       t->name, t->r.size, what, seq, got, want);
}

static void t_infer(struct replay_test *t, u32 lo, u64 want)
{
	u64 got = kipsec_replay_infer_esn(&t->r, lo);

	if (got != want && t->failed++ < 8)
		pr_err("replay self-test %s (window %u): top %#llx, seq_lo %#x: inferred %#llx, want %#llx\n",
		       t->name, t->r.size, t->r.top, lo, got, want);
}

/* check and advance must both return @want */
static void t_seq(struct replay_test *t, u64 seq, int want)
{
	int got;

	got = kipsec_replay_check(&t->r, seq);
	if (got != want)
		t_fail(t, "check", seq, got, want);
	got = kipsec_replay_advance(&t->r, seq);
	if (got != want)
		t_fail(t, "advance", seq, got, want);
}

/* what the window must say for @seq, from the model */
static int model(struct replay_test *t, u64 seq, u64 top)
{
	if (!t->r.size)
		return 0;
	if (!seq)
		return KIPSEC_STAT_IN_WINDOW;
	if (seq > top)
		return 0;
	if (top - seq >= t->r.size)
		return KIPSEC_STAT_IN_WINDOW;
	return test_bit(seq, t->seen) ? KIPSEC_STAT_IN_REPLAY : 0;
}

/* a small deterministic generator, so failures reproduce */
static u32 t_rand(u32 *state)
{
	u32 x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

static int t_begin(struct replay_test *t, const char *name, u32 size,
		   u64 span)
{
	memset(t, 0, sizeof(*t));
	t->name = name;
	t->span = span;
	if (span) {
		t->seen = kvcalloc(BITS_TO_LONGS(span), sizeof(unsigned long),
				   GFP_KERNEL);
		if (!t->seen)
			return -ENOMEM;
	}
	return kipsec_replay_init(&t->r, size);
}

static unsigned int t_end(struct replay_test *t)
{
	kipsec_replay_free(&t->r);
	kvfree(t->seen);
	return t->failed;
}

static unsigned int test_basic(u32 w)
{
	struct replay_test t;
	u64 i, top, ring;

	if (t_begin(&t, "basic", w, 0))
		return 1;
	ring = (u64)t.r.words << WORD_SHIFT;

	t_seq(&t, 0, KIPSEC_STAT_IN_WINDOW);
	/* in order */
	for (i = 1; i <= 3 * (u64)w; i++)
		t_seq(&t, i, 0);
	top = 3 * (u64)w;
	/* all of the window is a replay now, left of it is too old */
	for (i = top - w + 1; i <= top; i++)
		t_seq(&t, i, KIPSEC_STAT_IN_REPLAY);
	t_seq(&t, top - w, KIPSEC_STAT_IN_WINDOW);
	t_seq(&t, 1, KIPSEC_STAT_IN_WINDOW);

	/* reorder: jump by the whole window, then fill it backwards */
	t_seq(&t, top + w, 0);
	for (i = top + w - 1; i > top; i--)
		t_seq(&t, i, 0);
	t_seq(&t, top, KIPSEC_STAT_IN_WINDOW);
	for (i = top + 1; i <= top + w; i++)
		t_seq(&t, i, KIPSEC_STAT_IN_REPLAY);
	top += w;

	/* big jump, further than the window and the ring */
	top += 10 * (u64)w + ring + 3;
	t_seq(&t, top, 0);
	t_seq(&t, top - w, KIPSEC_STAT_IN_WINDOW);
	/* the numbers skipped inside the window were never received */
	for (i = top - w + 1; i < top; i++)
		t_seq(&t, i, 0);
	t_seq(&t, top, KIPSEC_STAT_IN_REPLAY);

	/* ring wrap: the same bit one ring further on must be clear */
	t_seq(&t, top + ring, 0);
	top += ring;
	t_seq(&t, top - ring, KIPSEC_STAT_IN_WINDOW);
	if (w > 1) {
		t_seq(&t, top - 1, 0);
		t_seq(&t, top - 1, KIPSEC_STAT_IN_REPLAY);
	}
	/* step through several rings, by less than a word then by more */
	for (i = 1; i <= 4 * ring; i += 37)
		t_seq(&t, top + i, 0);
	top += i - 37;
	for (i = 1; i <= 4 * ring; i += BITS_PER_LONG + 5)
		t_seq(&t, top + i, 0);

	/* 64-bit numbers beyond 2^32 behave the same */
	top = (1ULL << 40) + 7;
	t_seq(&t, top, 0);
	t_seq(&t, top, KIPSEC_STAT_IN_REPLAY);
	t_seq(&t, top - w, KIPSEC_STAT_IN_WINDOW);
	if (w > 1)
		t_seq(&t, top - w + 1, 0);
	return t_end(&t);
}

/* random traffic against the model: reorder, loss, duplicates, jumps */
static unsigned int test_random(u32 w, u32 seed)
{
	struct replay_test t;
	u64 top = 0, seq, span;
	u32 rnd = seed;
	unsigned int i;

	span = 256 * (u64)w + 65536;
	if (t_begin(&t, "random", w, span))
		return 1;

	for (i = 0; i < 20000; i++) {
		u32 x = t_rand(&rnd);
		s64 d;

		switch (x & 7) {
		case 0:		/* replay of something recent */
			d = -(s64)((x >> 3) % (w + 2));
			break;
		case 1:		/* far left, or a jump forward */
			d = (x & 8) ? -(s64)(w + (x >> 4) % 1000) :
				      (s64)((x >> 4) % (2 * w + 100));
			break;
		default:	/* mostly forward, a bit out of order */
			d = (s64)((x >> 3) % 8) - 3;
			break;
		}
		if ((s64)top + d <= 0)
			seq = (x >> 3) % 4;
		else
			seq = top + d;
		if (seq >= span)
			break;

		t_seq(&t, seq, model(&t, seq, top));
		if (!model(&t, seq, top)) {
			/* accepted: the model learns it too */
			__set_bit(seq, t.seen);
			if (seq > top)
				top = seq;
		}
		if (t.r.size && t.r.top != top) {
			pr_err("replay self-test random (window %u): top %llu, want %llu\n",
			       w, t.r.top, top);
			t.failed++;
			break;
		}
	}
	return t_end(&t);
}

/* xfrm_replay_seqhi()'s arithmetic, for comparison */
static u32 xfrm_seqhi(u32 top, u32 top_hi, u32 w, u32 seq)
{
	u32 seq_hi = top_hi, bottom = top - w + 1;

	if (top >= w - 1) {
		if (seq < bottom)
			seq_hi++;
	} else {
		if (seq >= bottom)
			seq_hi--;
	}
	return seq_hi;
}

static unsigned int test_esn(u32 w)
{
	static const u32 lows[] = { 0, 1, 2, 3, 63, 64, 65, 0x7fffffff,
				    0x80000000, 0xffffffc3, 0xffffffc4,
				    0xfffffffa, 0xfffffffb, 0xfffffffc,
				    0xffffffff };
	struct replay_test t;
	u32 rnd = 0x2545f491;
	unsigned int i;

	if (t_begin(&t, "esn", w, 0))
		return 1;

	/*
	 * top = 2^32 - 5, then packets with small low halves: their high
	 * half is inferred as 1.  Needs a window wider than the 8 numbers
	 * crossed, so that both subspaces are in it.
	 */
	if (w >= 16) {
		t.r.top = 0xfffffffaULL;
		t_seq(&t, 0xfffffffbULL, 0);
		t_infer(&t, 3, 0x100000003ULL);
		t_seq(&t, 0x100000003ULL, 0);
		/* the window now spans two subspaces */
		t_infer(&t, 0xfffffffb, 0xfffffffbULL);
		t_seq(&t, 0xfffffffbULL, KIPSEC_STAT_IN_REPLAY);
		t_infer(&t, 0xfffffffc, 0xfffffffcULL);
		t_seq(&t, 0xfffffffcULL, 0);
		t_infer(&t, 1, 0x100000001ULL);
		t_seq(&t, 0x100000001ULL, 0);
		t_seq(&t, 0x100000001ULL, KIPSEC_STAT_IN_REPLAY);
		t_infer(&t, 0, 0x100000000ULL);
		t_seq(&t, 0x100000000ULL, 0);	/* 2^32 is valid */
		/* right below the window's bottom: next subspace */
		t_infer(&t, 3 - w, 0x100000000ULL + (u32)(3 - w));
		t_infer(&t, 4 - w, (u64)(u32)(4 - w));
		t_seq(&t, (u64)(u32)(4 - w), 0);
		t_seq(&t, (u64)(u32)(3 - w), KIPSEC_STAT_IN_WINDOW);
	}

	/* the same arithmetic as xfrm, everywhere */
	for (i = 0; i < 4000; i++) {
		u32 lo = t_rand(&rnd), hi = t_rand(&rnd) % 4;
		u32 s = (i & 1) ? lows[i % ARRAY_SIZE(lows)] : t_rand(&rnd);

		if (i & 2)	/* near a subspace boundary */
			lo = (u32)(w - 2 + (lo % 5));
		t.r.top = ((u64)hi << 32) | lo;
		t_infer(&t, s, ((u64)xfrm_seqhi(lo, hi, w, s) << 32) | s);
	}
	return t_end(&t);
}

static unsigned int test_limits(void)
{
	struct kipsec_replay r = {};
	unsigned int failed = 0;

	if (kipsec_replay_init(&r, KIPSEC_REPLAY_WINDOW_MAX + 1) != -EINVAL)
		failed++;
	kipsec_replay_free(&r);
	/* window 0: everything goes, the top still moves */
	if (kipsec_replay_init(&r, 0))
		return failed + 1;
	if (kipsec_replay_advance(&r, 5) || kipsec_replay_advance(&r, 5) ||
	    kipsec_replay_check(&r, 0) || r.top != 5)
		failed++;
	kipsec_replay_free(&r);
	if (failed)
		pr_err("replay self-test limits: %u failures\n", failed);
	return failed;
}

/**
 * kipsec_replay_selftest() - run the anti-replay self-tests
 *
 * Does nothing unless the module parameter selftest is set.
 *
 * Return: 0 when they pass (or did not run), -EINVAL otherwise.
 */
int kipsec_replay_selftest(void)
{
	static const u32 sizes[] = { 1, 32, 64, 100, 4096, 65536 };
	unsigned int i, failed = 0;

	if (!selftest)
		return 0;

	failed += test_limits();
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		failed += test_basic(sizes[i]);
		failed += test_random(sizes[i], 0x9e3779b9 + i);
		failed += test_esn(sizes[i]);
		cond_resched();
	}
	if (failed) {
		pr_err("replay self-tests: %u failures\n", failed);
		return -EINVAL;
	}
	pr_info("replay self-tests: pass\n");
	return 0;
}
