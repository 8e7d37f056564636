/*
 * tests/fuzz/fuzz.c - the operations of the fuzz targets and the model
 * they are checked against (fuzz.h).
 *
 * Sections: decoding, the pattern, the block model, the malloc family,
 * kmalloc and pages, caches, mailboxes, the run loop and the leak check.
 */
#include "fuzz.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KiB		((size_t)1 << 10)
#define MiB		((size_t)1 << 20)
#define PAGE		(4 * KiB)
/* The largest buddy block: kmalloc of a power of two up to this is
 * aligned to its size. */
#define BUDDY_MAX	(4 * MiB)
/* An allocation that would take a thread's live bytes past this is
 * skipped, so no input runs out of memory. */
#define LIVE_MAX	(64 * MiB)
/*
 * Blocks up to FULL_MAX are filled and checked whole; larger ones in the
 * first and last EDGE bytes and every STEP bytes between (a prime a little
 * over four pages, so the byte moves across pages), which finds a short
 * copy or lost pages at a fraction of the page faults.
 */
#define FULL_MAX	(64 * KiB)
#define EDGE		(4 * KiB)
#define STEP		16411
#define BULK_MAX	16
/* The first word of every object of a cache with a constructor. */
#define CTOR_WORD	0xc7c7c7c7c7c7c7c7ULL
/* An errno value no call sets, to see that a call leaves errno alone. */
#define ERRNO_MARK	EDOM

enum walk_mode { WALK_FILL, WALK_CHECK, WALK_ZERO };

#if defined(__clang__)
#define NO_COVERAGE	__attribute__((no_sanitize("coverage")))
#else
#define NO_COVERAGE
#endif

/* ---- Decoding --------------------------------------------------------- */

void fuzz_fail(const char *file, int line, const char *cond,
	       const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz: %s:%d: check `%s' failed: ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

uint8_t fuzz_u8(struct fuzz_in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

/*
 * A size: mostly kmalloc classes (up to 64 KiB), one in ten a buddy block
 * (to 2 MiB), one in thirty-two a top-order block or an own mapping (to
 * 32 MiB); powers of two and their neighbours as likely as anything
 * between.
 */
static size_t in_size(struct fuzz_in *in)
{
	uint8_t b = fuzz_u8(in), m = fuzz_u8(in), d = fuzz_u8(in);
	unsigned int e;
	size_t base, size;

	if (b < 224)
		e = b % 17;
	else if (b < 248)
		e = 16 + (b - 224) % 5;
	else
		e = 21 + (b - 248) % 4;
	base = (size_t)1 << e;
	size = base + ((m * base) >> 8) + d % 5;
	return size >= 2 ? size - 2 : 0;
}

/* An alignment from 1 byte to 8 MiB; one in four not a power of two. */
static size_t in_align(struct fuzz_in *in)
{
	uint8_t b = fuzz_u8(in);
	size_t a = (size_t)1 << (b % 24);

	if (b >= 192 && a >= 4)
		a += a / 2;
	return a;
}

static unsigned int in_slot(struct fuzz_in *in)
{
	return fuzz_u8(in) % FUZZ_SLOTS;
}

static size_t pow2_ceil(size_t a)
{
	size_t p = 1;

	while (p < a)
		p *= 2;
	return p;
}

/* What malloc(n) is aligned to: 16 from 16 bytes up, below that the
 * largest power of two that fits. */
static size_t malloc_align(size_t n)
{
	size_t a = 1;

	while (a < 16 && a * 2 <= n)
		a *= 2;
	return a;
}

/* kmalloc(n): as malloc, and a power of two up to a buddy block is
 * aligned to itself. */
static size_t kmalloc_align(size_t n)
{
	if (n >= 16 && n <= BUDDY_MAX && (n & (n - 1)) == 0)
		return n;
	return malloc_align(n);
}

static bool aligned(const void *p, size_t a)
{
	return ((uintptr_t)p & (a - 1)) == 0;
}

/* ---- The pattern ------------------------------------------------------ */

/* Byte j of a block of seed s is byte j % 8 of word j / 8: a prefix
 * carries the pattern of the block cut shorter. */
NO_COVERAGE
static uint64_t pattern_word(uint64_t seed, size_t i)
{
	uint64_t x = (seed ^ i) * 0x9e3779b97f4a7c15ULL;

	return x ^ (x >> 31);
}

/* Byte j of the pattern of seed (0 for WALK_ZERO). */
static unsigned char pattern_byte(uint64_t seed, size_t j,
				  enum walk_mode mode)
{
	if (mode == WALK_ZERO)
		return 0;
	return (unsigned char)(pattern_word(seed, j / 8) >> (8 * (j & 7)));
}

/*
 * Fills or checks the bytes [from, to) of p: returns the first that
 * differs, or SIZE_MAX.  A word at a time where it can (x86-64 is little
 * endian: the word's bytes in memory are those of the pattern), without
 * coverage instrumentation: the fuzzer learns nothing from these loops.
 */
NO_COVERAGE
static size_t walk_span(unsigned char *p, size_t from, size_t to,
			uint64_t seed, enum walk_mode mode)
{
	uint64_t w, have;
	size_t j = from;

	for (; j < to && (j & 7); j++)
		if (mode == WALK_FILL)
			p[j] = pattern_byte(seed, j, mode);
		else if (p[j] != pattern_byte(seed, j, mode))
			return j;
	for (; j + 8 <= to; j += 8) {
		w = mode == WALK_ZERO ? 0 : pattern_word(seed, j / 8);
		if (mode == WALK_FILL) {
			memcpy(p + j, &w, 8);
			continue;
		}
		memcpy(&have, p + j, 8);
		if (have != w)
			break;
	}
	for (; j < to; j++)
		if (mode == WALK_FILL)
			p[j] = pattern_byte(seed, j, mode);
		else if (p[j] != pattern_byte(seed, j, mode))
			return j;
	return SIZE_MAX;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* The bytes a block of len bytes is filled at, those in [from, to):
 * returns the first that differs, or SIZE_MAX. */
static size_t walk(unsigned char *p, size_t len, size_t from, size_t to,
		   uint64_t seed, enum walk_mode mode)
{
	size_t bad, j;

	to = min_size(to, len);
	if (len <= FULL_MAX || from >= to)
		return from < to ? walk_span(p, from, to, seed, mode) :
				   SIZE_MAX;
	bad = walk_span(p, from, min_size(EDGE, to), seed, mode);
	for (j = EDGE; bad == SIZE_MAX && j < len - EDGE; j += STEP)
		if (j >= from && j < to)
			bad = walk_span(p, j, j + 1, seed, mode);
	if (bad == SIZE_MAX && to > len - EDGE)
		bad = walk_span(p, from > len - EDGE ? from : len - EDGE, to,
				seed, mode);
	return bad;
}

/* ---- The block model -------------------------------------------------- */

static const char *const kind_name[] = {
	[BLK_NONE] = "none", [BLK_MALLOC] = "malloc",
	[BLK_KMALLOC] = "kmalloc", [BLK_KZERO] = "kmalloc(0)",
	[BLK_CACHE] = "cache object", [BLK_PAGES] = "page block",
};

static void expect_pattern(const struct fuzz_block *b, unsigned char *p,
			   size_t to, const char *what)
{
	size_t bad = walk(p, b->len, 0, to, b->seed, WALK_CHECK);

	fuzz_check(bad == SIZE_MAX, "%s: %s %p (asked %zu, usable %zu): "
		   "byte %zu is %#x, the pattern says %#x", what,
		   kind_name[b->kind], (void *)p, b->req, b->len, bad,
		   p[bad], (unsigned int)(unsigned char)
		   (pattern_word(b->seed, bad / 8) >> (8 * (bad & 7))));
}

static void expect_zero(unsigned char *p, size_t len, size_t from,
			size_t to, const char *what)
{
	size_t bad = walk(p, len, from, to, 0, WALK_ZERO);

	fuzz_check(bad == SIZE_MAX, "%s: %p: byte %zu of %zu is %#x, not 0",
		   what, (void *)p, bad, to, p[bad]);
}

static void block_verify(const struct fuzz_block *b, const char *what)
{
	expect_pattern(b, b->p, b->len, what);
}

/* The usable size of a malloc or kmalloc block: both calls agree. */
static size_t usable_size(const void *p, const char *what)
{
	size_t u = uslub_usable_size(p), k = uslub_ksize(p);

	fuzz_check(u == k, "%s: %p: malloc usable size %zu, ksize %zu",
		   what, p, u, k);
	return u;
}

/* A new block in b: checked against what was asked, then filled to its
 * usable size.  zero: the first req bytes must read 0. */
static void block_add(struct fuzz_ctx *ctx, struct fuzz_block *b, void *p,
		      enum fuzz_kind kind, size_t req, size_t align,
		      bool zero, const char *what)
{
	fuzz_check(p != NULL, "%s(%zu): NULL, errno %d", what, req, errno);
	fuzz_check(aligned(p, align), "%s(%zu) = %p: not aligned to %zu",
		   what, req, p, align);
	b->p = p;
	b->req = req;
	b->kind = kind;
	b->seed = ctx->next_seed++;
	if (kind == BLK_MALLOC || kind == BLK_KMALLOC) {
		b->len = usable_size(p, what);
		fuzz_check(b->len >= req, "%s(%zu) = %p: usable size %zu",
			   what, req, p, b->len);
	} else if (kind == BLK_KZERO) {
		b->len = 0;
	}
	if (zero)
		expect_zero(b->p, b->len, 0, req, what);
	walk(b->p, b->len, 0, b->len, b->seed, WALK_FILL);
	ctx->live_bytes += b->len;
}

static void cache_live_add(struct fuzz_cache *c, long n)
{
	__atomic_add_fetch(&c->live, (unsigned long)n, __ATOMIC_RELAXED);
}

/* Checks the block in slot and frees it.  kfree: a malloc or kmalloc
 * block goes to uslub_kfree, else to uslub_free. */
static void slot_free(struct fuzz_ctx *ctx, unsigned int slot, bool kfree)
{
	struct fuzz_block *b = &ctx->slot[slot];
	struct fuzz_cache *c;

	if (b->kind == BLK_NONE)
		return;
	block_verify(b, "free");
	switch (b->kind) {
	case BLK_MALLOC:
	case BLK_KMALLOC:
		errno = ERRNO_MARK;
		if (kfree)
			uslub_kfree(b->p);
		else
			uslub_free(b->p);
		fuzz_check(errno == ERRNO_MARK, "free(%p): errno %d",
			   (void *)b->p, errno);
		break;
	case BLK_KZERO:
		uslub_kfree(b->p);
		break;
	case BLK_CACHE:
		c = &ctx->caches[b->cache];
		if (c->ctor)
			memcpy(b->p, &(uint64_t){ CTOR_WORD }, 8);
		uslub_cache_free(c->s, b->p);
		cache_live_add(c, -1);
		break;
	case BLK_PAGES:
		uslub_free_pages(b->p, b->order);
		break;
	case BLK_NONE:
		break;
	}
	ctx->live_bytes -= b->len;
	memset(b, 0, sizeof(*b));
}

/* The slot for a new block of size bytes, emptied; NULL if the block
 * would pass the budget. */
static struct fuzz_block *slot_take(struct fuzz_ctx *ctx, unsigned int slot,
				    size_t size)
{
	slot_free(ctx, slot, false);
	if (ctx->live_bytes + size > LIVE_MAX)
		return NULL;
	return &ctx->slot[slot];
}

static bool is_malloc_block(const struct fuzz_block *b)
{
	return b->kind == BLK_MALLOC || b->kind == BLK_KMALLOC;
}

/* ---- The malloc family ------------------------------------------------ */

static void op_malloc(struct fuzz_ctx *ctx, struct fuzz_in *in)
{
	unsigned int slot = in_slot(in);
	size_t size = in_size(in);
	struct fuzz_block *b = slot_take(ctx, slot, size);

	if (b)
		block_add(ctx, b, uslub_malloc(size), BLK_MALLOC, size,
			  malloc_align(size), false, "malloc");
}

/* nmemb and size for calloc and reallocarray: bytes split into elements
 * of a power of two; or, one time in eight, a product that overflows. */
static bool in_array(struct fuzz_in *in, size_t *nmemb, size_t *size)
{
	uint8_t v = fuzz_u8(in);
	size_t bytes = in_size(in), elem = (size_t)1 << (v % 7);

	if (v % 8 == 0) {
		*size = (size_t)2 << (v / 8 % 6);
		*nmemb = SIZE_MAX / *size + 1 + v / 64;
		return false;
	}
	*nmemb = bytes / elem;
	*size = elem;
	return true;
}

static void op_calloc(struct fuzz_ctx *ctx, struct fuzz_in *in)
{
	unsigned int slot = in_slot(in);
	size_t nmemb, size;
	struct fuzz_block *b;
	void *p;

	if (!in_array(in, &nmemb, &size)) {
		errno = 0;
		p = uslub_calloc(nmemb, size);
		fuzz_check(p == NULL && errno == ENOMEM,
			   "calloc(%zu, %zu) overflows: %p, errno %d",
			   nmemb, size, p, errno);
		return;
	}
	b = slot_take(ctx, slot, nmemb * size);
	if (b)
		block_add(ctx, b, uslub_calloc(nmemb, size), BLK_MALLOC,
			  nmemb * size, malloc_align(nmemb * size), true,
			  "calloc");
}

/* Moves the block of b to p, the result of a realloc to size bytes: the
 * old contents up to the smaller size are there, the rest is filled. */
static void block_moved(struct fuzz_ctx *ctx, struct fuzz_block *b, void *p,
			size_t size, enum fuzz_kind kind, const char *what)
{
	struct fuzz_block old = *b;

	fuzz_check(p != NULL, "%s(%p, %zu): NULL, errno %d", what,
		   (void *)old.p, size, errno);
	fuzz_check(aligned(p, kind == BLK_KMALLOC ? kmalloc_align(size) :
			   malloc_align(size)),
		   "%s(%p, %zu) = %p: misaligned", what, (void *)old.p, size,
		   p);
	expect_pattern(&old, p, min_size(old.req, size), what);
	b->p = p;
	b->req = size;
	b->kind = kind;
	b->len = usable_size(p, what);
	fuzz_check(b->len >= size, "%s(%p, %zu) = %p: usable size %zu", what,
		   (void *)old.p, size, p, b->len);
	walk(b->p, b->len, 0, b->len, b->seed, WALK_FILL);
	ctx->live_bytes += b->len - old.len;
}

static void realloc_to(struct fuzz_ctx *ctx, unsigned int slot,
		       size_t nmemb, size_t size, bool array, bool overflows)
{
	struct fuzz_block *b = &ctx->slot[slot];
	const char *what = array ? "reallocarray" : "realloc";
	size_t bytes = nmemb * size;
	void *p;

	if (b->kind == BLK_NONE) {
		if (overflows || ctx->live_bytes + bytes > LIVE_MAX)
			return;
		p = array ? uslub_reallocarray(NULL, nmemb, size) :
			    uslub_realloc(NULL, bytes);
		block_add(ctx, b, p, BLK_MALLOC, bytes, malloc_align(bytes),
			  false, what);
		return;
	}
	if (!is_malloc_block(b))
		return;
	block_verify(b, what);
	if (overflows) {
		errno = 0;
		p = uslub_reallocarray(b->p, nmemb, size);
		fuzz_check(p == NULL && errno == ENOMEM,
			   "reallocarray(%p, %zu, %zu) overflows: %p, errno %d",
			   (void *)b->p, nmemb, size, p, errno);
		block_verify(b, "reallocarray that overflows");
		return;
	}
	if (bytes > b->len && ctx->live_bytes + bytes - b->len > LIVE_MAX)
		return;
	p = array ? uslub_reallocarray(b->p, nmemb, size) :
		    uslub_realloc(b->p, bytes);
	if (bytes == 0) {
		fuzz_check(p == NULL, "%s(%p, 0) = %p, not NULL", what,
			   (void *)b->p, p);
		ctx->live_bytes -= b->len;
		memset(b, 0, sizeof(*b));
		return;
	}
	block_moved(ctx, b, p, bytes, BLK_MALLOC, what);
}

static void op_realloc(struct fuzz_ctx *ctx, struct fuzz_in *in)
{
	unsigned int slot = in_slot(in);
	size_t size = in_size(in);

	realloc_to(ctx, slot, 1, size, false, false);
}

static void op_reallocarray(struct fuzz_ctx *ctx, struct fuzz_in *in)
{
	unsigned int slot = in_slot(in);
	size_t nmemb, size;
	bool fits = in_array(in, &nmemb, &size);

	realloc_to(ctx, slot, nmemb, size, true, !fits);
}

static void op_posix_memalign(struct fuzz_ctx *ctx, struct fuzz_in *in)
{
	unsigned int slot = in_slot(in);
	size_t align = in_align(in), size = in_size(in);
	void *p = &ctx->slot[slot];
	struct fuzz_block *b;
	int ret;

	if (align < sizeof(void *) || (align & (align - 1))) {
		errno = ERRNO_MARK;
		ret = uslub_posix_memalign(&p, align, size);
		fuzz_check(ret == EINVAL && errno == ERRNO_MARK &&
			   p == &ctx->slot[slot],
			   "posix_memalign(%zu, %zu): %d, errno %d", align,
			   size, ret, errno);
		return;
	}
	b = slot_take(ctx, slot, size + align);
	if (!b)
		return;
	errno = ERRNO_MARK;
	ret = uslub_posix_memalign(&p, align, size);
	fuzz_check(ret == 0 && errno == ERRNO_MARK,
		   "posix_memalign(%zu, %zu): %d, errno %d", align, size,
		   ret, errno);
	block_add(ctx, b, p, BLK_MALLOC, size, align, false,
		  "posix_memalign");
}

/* memalign and aligned_alloc: an alignment that is not a power of two is
 * rounded up to one; 16 or less is malloc's. */
static void op_memalign(struct fuzz_ctx *ctx, struct fuzz_in *in, bool c11)
{
	unsigned int slot = in_slot(in);
	size_t align = in_align(in), size = in_size(in);
	size_t want = align > 16 ? pow2_ceil(align) :
			malloc_align(size > align ? size : align);
	struct fuzz_block *b = slot_take(ctx, slot, size + align);

	if (b)
		block_add(ctx, b, c11 ? uslub_aligned_alloc(align, size) :
				  uslub_memalign(align, size), BLK_MALLOC,
			  size, want, false, c11 ? "aligned_alloc" :
			  "memalign");
}

static void op_valloc(struct fuzz_ctx *ctx, struct fuzz_in *in, bool p)
{
	unsigned int slot = in_slot(in);
	size_t size = in_size(in);
	size_t rounded = (size + PAGE - 1) & ~(PAGE - 1);
	struct fuzz_block *b = slot_take(ctx, slot, size + PAGE);

	if (!b)
		return;
	if (p)
		block_add(ctx, b, uslub_pvalloc(size), BLK_MALLOC,
			  rounded ? rounded : PAGE, PAGE, false, "pvalloc");
	else
		block_add(ctx, b, uslub_valloc(size), BLK_MALLOC, size, PAGE,
			  false, "valloc");
}

static void op_free(struct fuzz_ctx *ctx, struct fuzz_in *in)
{
	unsigned int slot = in_slot(in);

	slot_free(ctx, slot, fuzz_u8(in) & 1);
}

static void op_usable(struct fuzz_ctx *ctx, struct fuzz_in *in)
{
	struct fuzz_block *b = &ctx->slot[in_slot(in)];
	size_t u;

	if (b->kind == BLK_NONE)
		return;
	block_verify(b, "usable size");
	if (!is_malloc_block(b))
		return;
	u = usable_size(b->p, "usable size");
	fuzz_check(u == b->len, "usable size of %p: %zu, was %zu",
		   (void *)b->p, u, b->len);
}

/* ---- kmalloc and pages ------------------------------------------------ */

static uslub_gfp_t in_gfp(struct fuzz_in *in)
{
	static const uslub_gfp_t gfp[] = {
		USLUB_GFP_KERNEL, USLUB_GFP_ATOMIC, USLUB_GFP_NOWAIT,
		USLUB_GFP_KERNEL | USLUB_GFP_ZERO,
	};

	return gfp[fuzz_u8(in) % 4];
}

static void op_kmalloc(struct fuzz_ctx *ctx, struct fuzz_in *in, bool z)
{
	unsigned int slot = in_slot(in);
	uslub_gfp_t gfp = in_gfp(in) | (z ? USLUB_GFP_ZERO : 0);
	size_t size = in_size(in);
	struct fuzz_block *b = slot_take(ctx, slot, size);
	void *p;

	if (!b)
		return;
	p = z ? uslub_kzalloc(size, gfp & ~USLUB_GFP_ZERO) :
		uslub_kmalloc(size, gfp);
	block_add(ctx, b, p, size ? BLK_KMALLOC : BLK_KZERO, size,
		  kmalloc_align(size), gfp & USLUB_GFP_ZERO,
		  z ? "kzalloc" : "kmalloc");
}

/* krealloc keeps the smaller size; size 0 frees and returns the zero-size
 * pointer; with GFP_ZERO a block that grows reads 0 past its old usable
 * size. */
static void op_krealloc(struct fuzz_ctx *ctx, struct fuzz_in *in)
{
	unsigned int slot = in_slot(in);
	uslub_gfp_t gfp = in_gfp(in);
	size_t size = in_size(in), old_len;
	struct fuzz_block *b = &ctx->slot[slot];
	void *p;

	if (b->kind == BLK_NONE || b->kind == BLK_KZERO) {
		b = slot_take(ctx, slot, size);
		if (b)
			block_add(ctx, b, uslub_krealloc(NULL, size, gfp),
				  size ? BLK_KMALLOC : BLK_KZERO, size,
				  kmalloc_align(size), gfp & USLUB_GFP_ZERO,
				  "krealloc");
		return;
	}
	if (!is_malloc_block(b) ||
	    (size > b->len && ctx->live_bytes + size - b->len > LIVE_MAX))
		return;
	block_verify(b, "krealloc");
	old_len = b->len;
	p = uslub_krealloc(b->p, size, gfp);
	if (size == 0) {
		fuzz_check(p != NULL, "krealloc(%p, 0): NULL", (void *)b->p);
		ctx->live_bytes -= b->len;
		memset(b, 0, sizeof(*b));
		b->p = p;
		b->kind = BLK_KZERO;
		return;
	}
	if ((gfp & USLUB_GFP_ZERO) && p && size > old_len)
		expect_zero(p, size, old_len, size, "krealloc(__GFP_ZERO)");
	block_moved(ctx, b, p, size, BLK_KMALLOC, "krealloc");
}

static void op_pages(struct fuzz_ctx *ctx, struct fuzz_in *in)
{
	unsigned int slot = in_slot(in), order = fuzz_u8(in) % 5;
	uslub_gfp_t gfp = in_gfp(in);
	struct fuzz_block *b = slot_take(ctx, slot, PAGE << order);
	void *p;

	if (!b)
		return;
	p = uslub_alloc_pages(gfp, order);
	b->len = PAGE << order;
	b->order = order;
	block_add(ctx, b, p, BLK_PAGES, PAGE << order, PAGE << order,
		  gfp & USLUB_GFP_ZERO, "alloc_pages");
}

static void verify_all(struct fuzz_ctx *ctx, const char *what)
{
	unsigned int i;

	for (i = 0; i < FUZZ_SLOTS; i++)
		if (ctx->slot[i].kind != BLK_NONE)
			block_verify(&ctx->slot[i], what);
}

/* ---- Caches ----------------------------------------------------------- */

static void ctor(void *obj)
{
	memcpy(obj, &(uint64_t){ CTOR_WORD }, 8);
}

/* What every object of a cache is aligned to: the kernel's
 * calculate_alignment, at least a word. */
static size_t cache_align(size_t size, size_t align, unsigned long flags)
{
	size_t a = align > 8 ? align : 8;
	size_t hw = 64;

	if (flags & USLUB_HWCACHE_ALIGN) {
		while (size <= hw / 2)
			hw /= 2;
		if (hw > a)
			a = hw;
	}
	return a;
}

/* A cache's size, alignment, flags and constructor, drawn from in. */
static void cache_params(struct fuzz_cache *c, struct fuzz_in *in)
{
	static const unsigned long flag_bits[] = {
		USLUB_HWCACHE_ALIGN, USLUB_RED_ZONE, USLUB_POISON,
		USLUB_STORE_USER, USLUB_CONSISTENCY_CHECKS,
		USLUB_TYPESAFE_BY_RCU, USLUB_RECLAIM_ACCOUNT,
	};
	uint8_t e = fuzz_u8(in), m = fuzz_u8(in), a = fuzz_u8(in);
	uint8_t f = fuzz_u8(in);
	size_t base = (size_t)1 << (e % 15);
	unsigned int i;

	memset(c, 0, sizeof(*c));
	c->size = base + ((m * base) >> 8);
	c->align = a < 128 ? 0 : (size_t)1 << (a % 13);
	/* The flags past HWCACHE_ALIGN (debug caches, RCU) one time in two. */
	for (i = 0; i < sizeof(flag_bits) / sizeof(flag_bits[0]); i++)
		if ((i == 0 || (f & 0x80)) && (f >> i) & 1)
			c->flags |= flag_bits[i];
	c->ctor = (m & 1) && c->size >= 8;
}

void fuzz_cache_make(struct fuzz_cache *c, struct fuzz_in *in)
{
	static unsigned long serial;
	char name[32];

	cache_params(c, in);
	snprintf(name, sizeof(name), "fuzz-%lu",
		 __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED));
	c->s = uslub_cache_create(name, c->size, c->align, c->flags,
				  c->ctor ? ctor : NULL);
	fuzz_check(c->s != NULL, "cache_create(%s, %zu, %zu, %#lx): NULL",
		   name, c->size, c->align, c->flags);
	fuzz_check(uslub_cache_size(c->s) == c->size,
		   "cache_size(%s) = %zu, created with %zu", name,
		   uslub_cache_size(c->s), c->size);
	c->align = cache_align(c->size, c->align, c->flags);
}

static struct fuzz_cache *in_cache(struct fuzz_ctx *ctx, struct fuzz_in *in)
{
	struct fuzz_cache *c = &ctx->caches[fuzz_u8(in) % FUZZ_CACHES];

	return c->s ? c : NULL;
}

/* Into a free place; otherwise the parameters are read all the same, so
 * the rest of the input means what it meant. */
static void op_cache_create(struct fuzz_ctx *ctx, struct fuzz_in *in)
{
	struct fuzz_cache *c = &ctx->caches[fuzz_u8(in) % FUZZ_CACHES];
	struct fuzz_cache unused;

	if (c->s)
		cache_params(&unused, in);
	else
		fuzz_cache_make(c, in);
}

/* A new object of c in b; zero: from cache_zalloc. */
static void cache_block_add(struct fuzz_ctx *ctx, struct fuzz_block *b,
			    struct fuzz_cache *c, void *p, bool zero)
{
	fuzz_check(p != NULL, "cache_alloc(%zu bytes): NULL", c->size);
	if (c->ctor && !zero)
		fuzz_check(memcmp(p, &(uint64_t){ CTOR_WORD }, 8) == 0,
			   "cache_alloc(%zu bytes) = %p: not as the "
			   "constructor left it", c->size, p);
	b->cache = (unsigned int)(c - ctx->caches);
	b->len = c->size;
	cache_live_add(c, 1);
	block_add(ctx, b, p, BLK_CACHE, c->size, c->align, zero,
		  zero ? "cache_zalloc" : "cache_alloc");
}

static void op_cache_alloc(struct fuzz_ctx *ctx, struct fuzz_in *in, bool z)
{
	struct fuzz_cache *c = in_cache(ctx, in);
	unsigned int slot = in_slot(in);
	struct fuzz_block *b;

	if (!c || !(b = slot_take(ctx, slot, c->size)))
		return;
	z = z && !c->ctor;
	cache_block_add(ctx, b, c, z ? uslub_cache_zalloc(c->s, 0) :
				   uslub_cache_alloc(c->s, 0), z);
}

static void op_cache_bulk_alloc(struct fuzz_ctx *ctx, struct fuzz_in *in)
{
	struct fuzz_cache *c = in_cache(ctx, in);
	unsigned int slot = in_slot(in), n = 1 + fuzz_u8(in) % BULK_MAX;
	void *objs[BULK_MAX];
	unsigned int i;

	if (!c)
		return;
	for (i = 0; i < n; i++)
		slot_free(ctx, (slot + i) % FUZZ_SLOTS, false);
	if (ctx->live_bytes + n * c->size > LIVE_MAX)
		return;
	fuzz_check(uslub_cache_alloc_bulk(c->s, 0, n, objs) == n,
		   "cache_alloc_bulk(%u objects of %zu bytes) failed", n,
		   c->size);
	for (i = 0; i < n; i++)
		cache_block_add(ctx, &ctx->slot[(slot + i) % FUZZ_SLOTS], c,
				objs[i], false);
	/* Two objects handed out twice would have mixed patterns. */
	for (i = 0; i < n; i++)
		block_verify(&ctx->slot[(slot + i) % FUZZ_SLOTS],
			     "cache_alloc_bulk");
}

static void op_cache_bulk_free(struct fuzz_ctx *ctx, struct fuzz_in *in)
{
	struct fuzz_cache *c = in_cache(ctx, in);
	unsigned int slot = in_slot(in), want = 1 + fuzz_u8(in) % BULK_MAX;
	void *objs[BULK_MAX];
	unsigned int i, n = 0;

	if (!c)
		return;
	for (i = 0; i < FUZZ_SLOTS && n < want; i++) {
		struct fuzz_block *b = &ctx->slot[(slot + i) % FUZZ_SLOTS];

		if (b->kind != BLK_CACHE || &ctx->caches[b->cache] != c)
			continue;
		block_verify(b, "cache_free_bulk");
		if (c->ctor)
			memcpy(b->p, &(uint64_t){ CTOR_WORD }, 8);
		objs[n++] = b->p;
		ctx->live_bytes -= b->len;
		memset(b, 0, sizeof(*b));
	}
	uslub_cache_free_bulk(c->s, n, objs);
	cache_live_add(c, -(long)n);
}

/* Shrink and validate, then every object must be as it was. */
static void op_cache_maintain(struct fuzz_ctx *ctx, struct fuzz_in *in,
			      bool validate)
{
	struct fuzz_cache *c = in_cache(ctx, in);
	unsigned long bad;

	if (!c)
		return;
	if (validate) {
		bad = uslub_cache_validate(c->s);
		fuzz_check(bad == 0, "cache_validate: %lu problems", bad);
	} else {
		uslub_cache_shrink(c->s);
	}
	verify_all(ctx, validate ? "cache_validate" : "cache_shrink");
}

static void cache_destroy(struct fuzz_cache *c)
{
	int ret;

	fuzz_check(c->live == 0, "%lu objects left in a cache", c->live);
	ret = uslub_cache_destroy(c->s);
	fuzz_check(ret == 0, "cache_destroy of an empty cache: %d", ret);
	memset(c, 0, sizeof(*c));
}

static void op_cache_destroy(struct fuzz_ctx *ctx, struct fuzz_in *in)
{
	struct fuzz_cache *c = in_cache(ctx, in);

	if (c && c->live == 0)
		cache_destroy(c);
}

void fuzz_caches_destroy(struct fuzz_cache *caches)
{
	unsigned int i;

	for (i = 0; i < FUZZ_CACHES; i++)
		if (caches[i].s)
			cache_destroy(&caches[i]);
}

/* ---- Mailboxes -------------------------------------------------------- */

/* The block in slot goes to another thread's box, if there is room. */
static void op_send(struct fuzz_ctx *ctx, struct fuzz_in *in)
{
	struct fuzz_block *b = &ctx->slot[in_slot(in)];
	unsigned int to = ctx->self + 1 + fuzz_u8(in) % (ctx->nr_threads - 1);
	struct fuzz_box *box = &ctx->boxes[to % ctx->nr_threads];
	bool sent = false;

	if (b->kind == BLK_NONE)
		return;
	block_verify(b, "send");
	pthread_mutex_lock(&box->lock);
	if (box->n < FUZZ_BOX) {
		box->q[(box->head + box->n++) % FUZZ_BOX] = *b;
		sent = true;
	}
	pthread_mutex_unlock(&box->lock);
	if (sent) {
		ctx->live_bytes -= b->len;
		memset(b, 0, sizeof(*b));
	}
}

/* Takes the oldest block of box into b (empty); false if there is none. */
static bool box_take(struct fuzz_box *box, struct fuzz_block *b)
{
	bool got = false;

	pthread_mutex_lock(&box->lock);
	if (box->n) {
		*b = box->q[box->head];
		box->head = (box->head + 1) % FUZZ_BOX;
		box->n--;
		got = true;
	}
	pthread_mutex_unlock(&box->lock);
	return got;
}

static void op_recv(struct fuzz_ctx *ctx, struct fuzz_in *in)
{
	unsigned int slot = in_slot(in);
	struct fuzz_block b;

	if (!box_take(&ctx->boxes[ctx->self], &b))
		return;
	slot_free(ctx, slot, false);
	block_verify(&b, "received");
	ctx->slot[slot] = b;
	ctx->live_bytes += b.len;
}

void fuzz_box_drain(struct fuzz_ctx *ctx, struct fuzz_box *box)
{
	struct fuzz_block b;

	while (box_take(box, &b)) {
		ctx->slot[0] = b;
		ctx->live_bytes += b.len;
		slot_free(ctx, 0, false);
	}
}

/* ---- The run loop and the leak check ---------------------------------- */

void fuzz_ctx_init(struct fuzz_ctx *ctx, const uint8_t *ops,
		   unsigned int nr_ops, struct fuzz_cache *caches,
		   struct fuzz_box *boxes, unsigned int self,
		   unsigned int nr_threads)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->ops = ops;
	ctx->nr_ops = nr_ops;
	ctx->caches = caches;
	ctx->boxes = boxes;
	ctx->self = self;
	ctx->nr_threads = nr_threads;
	ctx->next_seed = ((uint64_t)self << 56) | 1;
}

static void run_op(struct fuzz_ctx *ctx, struct fuzz_in *in, enum fuzz_op op)
{
	switch (op) {
	case OP_MALLOC:		op_malloc(ctx, in); break;
	case OP_CALLOC:		op_calloc(ctx, in); break;
	case OP_REALLOC:	op_realloc(ctx, in); break;
	case OP_REALLOCARRAY:	op_reallocarray(ctx, in); break;
	case OP_POSIX_MEMALIGN:	op_posix_memalign(ctx, in); break;
	case OP_ALIGNED_ALLOC:	op_memalign(ctx, in, true); break;
	case OP_MEMALIGN:	op_memalign(ctx, in, false); break;
	case OP_VALLOC:		op_valloc(ctx, in, false); break;
	case OP_PVALLOC:	op_valloc(ctx, in, true); break;
	case OP_FREE:		op_free(ctx, in); break;
	case OP_KMALLOC:	op_kmalloc(ctx, in, false); break;
	case OP_KZALLOC:	op_kmalloc(ctx, in, true); break;
	case OP_KREALLOC:	op_krealloc(ctx, in); break;
	case OP_USABLE:		op_usable(ctx, in); break;
	case OP_PAGES:		op_pages(ctx, in); break;
	case OP_TRIM:
		uslub_malloc_trim(0);
		verify_all(ctx, "malloc_trim");
		break;
	case OP_CHECK_ALL:	verify_all(ctx, "check"); break;
	case OP_CACHE_CREATE:	op_cache_create(ctx, in); break;
	case OP_CACHE_ALLOC:	op_cache_alloc(ctx, in, false); break;
	case OP_CACHE_ZALLOC:	op_cache_alloc(ctx, in, true); break;
	case OP_CACHE_BULK_ALLOC: op_cache_bulk_alloc(ctx, in); break;
	case OP_CACHE_BULK_FREE: op_cache_bulk_free(ctx, in); break;
	case OP_CACHE_SHRINK:	op_cache_maintain(ctx, in, false); break;
	case OP_CACHE_VALIDATE:	op_cache_maintain(ctx, in, true); break;
	case OP_CACHE_DESTROY:	op_cache_destroy(ctx, in); break;
	case OP_SEND:		op_send(ctx, in); break;
	case OP_RECV:		op_recv(ctx, in); break;
	case NR_FUZZ_OPS:	break;
	}
}

void fuzz_run(struct fuzz_ctx *ctx, struct fuzz_in *in)
{
	while (in->n)
		run_op(ctx, in, (enum fuzz_op)
		       ctx->ops[fuzz_u8(in) % ctx->nr_ops]);
}

void fuzz_release_all(struct fuzz_ctx *ctx)
{
	unsigned int i;

	for (i = 0; i < FUZZ_SLOTS; i++)
		slot_free(ctx, i, i & 1);
	fuzz_check(ctx->live_bytes == 0, "%zu live bytes after freeing all",
		   ctx->live_bytes);
}

size_t fuzz_heap_allocated(void)
{
	struct uslub_heap_stats st;

	uslub_heap_stats_get(&st);
	return st.allocated;
}

void fuzz_leak_check(size_t start)
{
	size_t now = fuzz_heap_allocated();

	fuzz_check(now == start, "the heap holds %zu bytes after the input "
		   "freed everything, %zu before it", now, start);
}
