/*
 * Unit tests for the uslub_* malloc family (lib/malloc_abi.c, exported by
 * lib/api.c), through the public API only, against glibc 2.36's
 * documented and measured behaviour (include/uslub.h; reference
 * slub-and-peers.md §4.4, §3.5-3.7): ENOMEM and EINVAL exactly where
 * glibc gives them, with *memptr and errno left alone where glibc leaves
 * them; every power-of-two alignment from 8 bytes to 1 GiB; 16-byte
 * alignment of malloc; usable sizes that never reach into a neighbour;
 * calloc zeroing recycled memory; realloc keeping contents across small,
 * large and huge blocks; errno kept by free; unique malloc(0) pointers;
 * kmalloc and malloc blocks freed by either family; malloc_trim, heap
 * statistics and the malloc_stats text; and invalid pointers reported in
 * one line, then abort.
 */
#include "test.h"

#include "uslub.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define KiB		(1UL << 10)
#define MiB		(1UL << 20)
#define GiB		(1UL << 30)
#define PAGE		4096UL
#define N_ELEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* Sizes above this are left out of the alignment sweeps. */
#define SWEEP_SIZE_MAX	(64 * MiB)
/*
 * Blocks up to FULL_MAX are written and checked whole; larger ones at both
 * ends (ENDS bytes) and one byte every STEP bytes between: enough to show
 * the range is there, at a fraction of the page faults.
 */
#define FULL_MAX	MiB
#define ENDS		(64 * KiB)
#define STEP		MiB

/* Failures of one kind reported in full; the rest only counted. */
#define MAX_REPORTS	8

static bool is_aligned(const void *p, size_t align)
{
	return ((uintptr_t)p & (align - 1)) == 0;
}

/*
 * The alignment a block of n bytes from malloc must have: 16 bytes from 16
 * bytes up ("results of 16 bytes or more are 16-byte aligned"), below that
 * the largest power of two that fits (any object that fits is aligned).
 */
static size_t malloc_align(size_t n)
{
	size_t a = 1;

	while (a < 16 && a * 2 <= n)
		a *= 2;
	return a;
}

/* The power of two at or above align (at least 1). */
static size_t pow2_ceil(size_t align)
{
	size_t a = 1;

	while (a < align)
		a *= 2;
	return a;
}

/* Word i of the pattern of seed: depends on both, so neighbours differ.
 * Byte j of a block is byte j % 8 of word j / 8 (little endian), so a
 * prefix of a block carries the pattern of the block cut shorter. */
static uint64_t pat(size_t i, uint64_t seed)
{
	uint64_t x =
	    (i + 1) * 0x9e3779b97f4a7c15ULL ^ seed * 0xc2b2ae3d27d4eb4fULL;

	return x ^ x >> 29;
}

/* Bytes [from, to) of the pattern of seed, at p + from. */
static void fill_range(void *p, size_t from, size_t to, uint64_t seed)
{
	unsigned char *b = p;
	size_t i = from;

	for (; i < to && i % 8; i++)
		b[i] = (unsigned char)(pat(i / 8, seed) >> 8 * (i % 8));
	for (; i + 8 <= to; i += 8) {
		uint64_t w = pat(i / 8, seed);

		memcpy(b + i, &w, 8);
	}
	for (; i < to; i++)
		b[i] = (unsigned char)(pat(i / 8, seed) >> 8 * (i % 8));
}

static void fill(void *p, size_t n, uint64_t seed)
{
	fill_range(p, 0, n, seed);
}

/* Offset of the first byte that breaks the pattern, or n. */
static size_t check_fill(const void *p, size_t n, uint64_t seed)
{
	const unsigned char *b = p;
	size_t i, j, nw = n / 8;

	for (i = 0; i < nw; i++) {
		uint64_t w = pat(i, seed), v;

		memcpy(&v, b + 8 * i, 8);
		if (v != w)
			for (j = 0; j < 8; j++)
				if ((unsigned char)(v >> 8 * j) !=
				    (unsigned char)(w >> 8 * j))
					return 8 * i + j;
	}
	for (i = nw * 8; i < n; i++)
		if (b[i] != (unsigned char)(pat(nw, seed) >> 8 * (i % 8)))
			return i;
	return n;
}

/* Offset of the first non-zero byte, or n. */
static size_t first_nonzero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i])
			return i;
	return n;
}

/* Writes c over n bytes at p: all of them, or ends and steps. */
static void touch(unsigned char *p, size_t n, unsigned char c)
{
	size_t off;

	if (n <= FULL_MAX) {
		memset(p, c, n);
		return;
	}
	memset(p, c, ENDS);
	memset(p + n - ENDS, c, ENDS);
	for (off = ENDS; off < n - ENDS; off += STEP)
		p[off] = c;
}

/* The first non-zero byte among those touch(p, n) writes, or n. */
static size_t touched_nonzero(const unsigned char *p, size_t n)
{
	size_t off, bad;

	if (n <= FULL_MAX)
		return first_nonzero(p, n);
	bad = first_nonzero(p, ENDS);
	if (bad != ENDS)
		return bad;
	bad = first_nonzero(p + n - ENDS, ENDS);
	if (bad != ENDS)
		return n - ENDS + bad;
	for (off = ENDS; off < n - ENDS; off += STEP)
		if (p[off])
			return off;
	return n;
}

/* fill() of n bytes at p: all, or the ends (the tail with its own seed). */
static void fill_ends(unsigned char *p, size_t n, uint64_t seed)
{
	if (n <= FULL_MAX) {
		fill(p, n, seed);
		return;
	}
	fill(p, ENDS, seed);
	fill(p + n - ENDS, ENDS, ~seed);
}

/* Offset of the first byte fill_ends() wrote that changed, or n. */
static size_t check_ends(const unsigned char *p, size_t n, uint64_t seed)
{
	size_t bad;

	if (n <= FULL_MAX)
		return check_fill(p, n, seed);
	bad = check_fill(p, ENDS, seed);
	if (bad != ENDS)
		return bad;
	bad = check_fill(p + n - ENDS, ENDS, ~seed);
	return bad == ENDS ? n : n - ENDS + bad;
}

/* Resident set size from /proc/self/statm, in bytes. */
static size_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, resident = 0;

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* ---- glibc 2.36's table (§4.4) --------------------------------------- */

/* call must fail with NULL and ENOMEM; what is printf-style. */
#define expect_enomem(call, ...) do {					\
	char what_[96];							\
	void *p_;							\
									\
	snprintf(what_, sizeof(what_), __VA_ARGS__);			\
	errno = 0;							\
	p_ = (call);							\
	expect_d_eq(errno, ENOMEM, "%s: errno", what_);			\
	expect_ptr_null(p_, "%s fails", what_);				\
	if (p_)								\
		uslub_free(p_);						\
} while (0)

TEST_BEGIN(test_enomem)
{
	static const size_t huge[] = {
		SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - PAGE, SIZE_MAX / 2 + 1,
		(size_t)1 << 62, ((size_t)1 << 47) + 1,
	};
	const size_t half = SIZE_MAX / 2, big = (size_t)1 << 32;
	void *p;
	unsigned int i;

	for (i = 0; i < N_ELEMS(huge); i++) {
		size_t n = huge[i];

		expect_enomem(uslub_malloc(n), "malloc(%#zx)", n);
		expect_enomem(uslub_calloc(1, n), "calloc(1, %#zx)", n);
		expect_enomem(uslub_realloc(NULL, n), "realloc(NULL, %#zx)", n);
		expect_enomem(uslub_memalign(64, n), "memalign(64, %#zx)", n);
		expect_enomem(uslub_aligned_alloc(4096, n),
			      "aligned_alloc(4096, %#zx)", n);
		expect_enomem(uslub_valloc(n), "valloc(%#zx)", n);
		expect_enomem(uslub_pvalloc(n), "pvalloc(%#zx)", n);
	}

	/* nmemb * size overflows. */
	expect_enomem(uslub_calloc(half, 4), "calloc(SIZE_MAX/2, 4)");
	expect_enomem(uslub_calloc(4, half), "calloc(4, SIZE_MAX/2)");
	expect_enomem(uslub_calloc(big, big), "calloc(2^32, 2^32)");
	expect_enomem(uslub_calloc(SIZE_MAX, SIZE_MAX),
		      "calloc(SIZE_MAX, SIZE_MAX)");
	expect_enomem(uslub_reallocarray(NULL, half, 4),
		      "reallocarray(NULL, SIZE_MAX/2, 4)");
	expect_enomem(uslub_reallocarray(NULL, big * 2, big / 2),
		      "reallocarray(NULL, 2^33, 2^31)");

	/* An alignment no mapping can give. */
	expect_enomem(uslub_memalign((size_t)1 << 40, 8), "memalign(2^40, 8)");
	expect_enomem(uslub_aligned_alloc((size_t)1 << 40, 8),
		      "aligned_alloc(2^40, 8)");
	p = (void *)0x5a5a;
	expect_d_eq(uslub_posix_memalign(&p, (size_t)1 << 40, 8), ENOMEM,
		    "posix_memalign(&p, 2^40, 8)");
	expect_ptr_eq(p, (void *)0x5a5a,
		      "posix_memalign ENOMEM: *memptr untouched");
	p = (void *)0x5a5a;
	expect_d_eq(uslub_posix_memalign(&p, SIZE_MAX / 2 + 1, 8), ENOMEM,
		    "posix_memalign(&p, 2^63, 8)");
	expect_ptr_eq(p, (void *)0x5a5a,
		      "posix_memalign ENOMEM: *memptr untouched");
	p = (void *)0x5a5a;
	expect_d_eq(uslub_posix_memalign(&p, 64, SIZE_MAX), ENOMEM,
		    "posix_memalign(&p, 64, SIZE_MAX)");
	expect_ptr_eq(p, (void *)0x5a5a,
		      "posix_memalign ENOMEM: *memptr untouched");

	/* A failure leaves the heap working. */
	p = uslub_malloc(100);
	expect_ptr_not_null(p, "malloc(100) after the failures");
	uslub_free(p);
}
TEST_END

TEST_BEGIN(test_posix_memalign_einval)
{
	static const size_t bad[] = {
		0, 1, 2, 3, 4, 5, 12, 24, 48, 80, 100, 4095, 4097, 3 * PAGE,
		SIZE_MAX, SIZE_MAX / 2, SIZE_MAX / 2 + 2,
	};
	static const size_t sizes[] = { 0, 8, 100, 10000, SIZE_MAX };
	unsigned int i, j;

	for (i = 0; i < N_ELEMS(bad); i++) {
		for (j = 0; j < N_ELEMS(sizes); j++) {
			void *p = (void *)0x1234;
			int r;

			errno = 12345;
			r = uslub_posix_memalign(&p, bad[i], sizes[j]);
			expect_d_eq(r, EINVAL, "posix_memalign(&p, %zu, %zu)",
				    bad[i], sizes[j]);
			expect_d_eq(
			    errno, 12345,
			    "posix_memalign(&p, %zu, %zu): errno untouched",
			    bad[i], sizes[j]);
			expect_ptr_eq(
			    p, (void *)0x1234,
			    "posix_memalign(&p, %zu, %zu): *memptr untouched",
			    bad[i], sizes[j]);
			if (r == 0 && p != (void *)0x1234)
				uslub_free(p);
		}
	}
}
TEST_END

TEST_BEGIN(test_posix_memalign_size_zero)
{
	static const size_t aligns[] = { 8, 16, 64, 4096, 2 * MiB };
	unsigned int i;

	for (i = 0; i < N_ELEMS(aligns); i++) {
		void *p = NULL;

		expect_d_eq(uslub_posix_memalign(&p, aligns[i], 0), 0,
			    "posix_memalign(&p, %zu, 0)", aligns[i]);
		expect_ptr_not_null(p, "posix_memalign(&p, %zu, 0): a pointer",
				    aligns[i]);
		expect_true(is_aligned(p, aligns[i]),
			    "posix_memalign(&p, %zu, 0) = %p aligned",
			    aligns[i], p);
		uslub_free(p);
	}
}
TEST_END

/* One block from a lenient alignment call: non-NULL, aligned, writable. */
static void expect_block(void *p, size_t align, size_t size, const char *what)
{
	expect_ptr_not_null(p, "%s succeeds", what);
	if (!p)
		return;
	expect_true(is_aligned(p, align), "%s = %p: %zu-aligned", what, p,
		    align);
	expect_zu_ge(uslub_usable_size(p), size, "%s: usable size", what);
	memset(p, 0xa5, size);
	uslub_free(p);
}

/* glibc 2.36 does no DR 460 checks; non-powers of two round up. */
TEST_BEGIN(test_lenient_alignments)
{
	static const size_t odd[] = { 0, 1, 2, 3, 5, 12, 24, 48, 100, 1000,
				      3000, 4097, 10000, 100000 };
	unsigned int i;

	expect_block(uslub_aligned_alloc(24, 48), 32, 48,
		     "aligned_alloc(24, 48)");
	expect_block(uslub_aligned_alloc(0, 10), malloc_align(10), 10,
		     "aligned_alloc(0, 10)");
	expect_block(uslub_aligned_alloc(64, 10), 64, 10,
		     "aligned_alloc(64, 10)");
	expect_block(uslub_memalign(24, 10), 32, 10, "memalign(24, 10)");
	for (i = 0; i < N_ELEMS(odd); i++) {
		size_t want = pow2_ceil(odd[i]);
		char what[64];

		if (want < 16)
			want = 16;	/* sizes below are 16 bytes or more */
		snprintf(what, sizeof(what), "memalign(%zu, 40)", odd[i]);
		expect_block(uslub_memalign(odd[i], 40), want, 40, what);
		snprintf(what, sizeof(what), "aligned_alloc(%zu, 33)", odd[i]);
		expect_block(uslub_aligned_alloc(odd[i], 33), want, 33, what);
		snprintf(what, sizeof(what), "aligned_alloc(%zu, 1)", odd[i]);
		expect_block(uslub_aligned_alloc(odd[i], 1), pow2_ceil(odd[i]),
			     1, what);
	}
}
TEST_END

TEST_BEGIN(test_valloc_pvalloc)
{
	static const size_t sizes[] = { 0, 1, 100, PAGE - 1, PAGE, PAGE + 1,
					3 * PAGE + 5, 100000, 5 * MiB + 3 };
	unsigned int i;

	for (i = 0; i < N_ELEMS(sizes); i++) {
		size_t n = sizes[i], rounded = (n + PAGE - 1) & ~(PAGE - 1);
		unsigned char *p = uslub_valloc(n), *q;

		expect_ptr_not_null(p, "valloc(%zu)", n);
		if (p) {
			expect_true(is_aligned(p, PAGE),
				    "valloc(%zu) = %p: page aligned", n, p);
			expect_zu_ge(uslub_usable_size(p), n,
				     "valloc(%zu): usable", n);
			touch(p, n, 0x11);
			uslub_free(p);
		}
		q = uslub_pvalloc(n);
		expect_ptr_not_null(q, "pvalloc(%zu)", n);
		if (q) {
			expect_true(is_aligned(q, PAGE),
				    "pvalloc(%zu) = %p: page aligned", n, q);
			expect_zu_ge(
			    uslub_usable_size(q), n ? rounded : 0,
			    "pvalloc(%zu): usable covers the page-rounded size",
			    n);
			if (n)
				touch(q, rounded, 0x22);
			uslub_free(q);
		}
	}
	/* §4.4: pvalloc(1) gives a whole page. */
	{
		char *q = uslub_pvalloc(1);

		assert_ptr_not_null(q, "pvalloc(1)");
		expect_zu_ge(uslub_usable_size(q), PAGE, "pvalloc(1): usable");
		expect_true(is_aligned(q, PAGE), "pvalloc(1) page aligned");
		memset(q, 0x33, PAGE);
		uslub_free(q);
	}
}
TEST_END

/* ---- Alignment sweeps ------------------------------------------------ */

enum align_fn { AF_POSIX_MEMALIGN, AF_MEMALIGN, AF_ALIGNED_ALLOC };
static const char *const align_fn_name[] = {
	"posix_memalign", "memalign", "aligned_alloc",
};

static void *align_call(enum align_fn fn, size_t align, size_t size)
{
	void *p = NULL;
	int r;

	switch (fn) {
	case AF_POSIX_MEMALIGN:
		r = uslub_posix_memalign(&p, align, size);
		expect_d_eq(r, 0, "posix_memalign(&p, %#zx, %zu)", align, size);
		return r == 0 ? p : NULL;
	case AF_MEMALIGN:
		return uslub_memalign(align, size);
	case AF_ALIGNED_ALLOC:
		return uslub_aligned_alloc(align, size);
	}
	return NULL;
}

/* Allocates, checks alignment and usable size, writes the usable bytes
 * (touch), frees. */
static void sweep_one(enum align_fn fn, size_t align, size_t size)
{
	const char *name = align_fn_name[fn];
	unsigned char *p = align_call(fn, align, size);
	size_t usable;

	expect_ptr_not_null(p, "%s(%#zx, %zu)", name, align, size);
	if (!p)
		return;
	expect_true(is_aligned(p, align), "%s(%#zx, %zu) = %p: aligned", name,
		    align, size, p);
	usable = uslub_usable_size(p);
	expect_zu_ge(usable, size, "%s(%#zx, %zu): usable", name, align, size);
	touch(p, usable, 0xc3);
	p[size - 1] = 0xc3;
	expect_true(p[0] == 0xc3 && p[size - 1] == 0xc3,
		    "%s(%#zx, %zu): written", name, align, size);
	uslub_free(p);
}

static void sweep(enum align_fn fn, size_t min_align, size_t max_align)
{
	size_t align;

	for (align = min_align; align && align <= max_align; align <<= 1) {
		size_t sizes[4] = { 1, align - 1, align, align + 1 };
		unsigned int i;

		for (i = 0; i < 4; i++) {
			if (sizes[i] == 0 ||
			    (i > 0 && sizes[i] == sizes[i - 1]))
				continue;
			if (sizes[i] > SWEEP_SIZE_MAX)
				continue;
			sweep_one(fn, align, sizes[i]);
		}
	}
}

TEST_BEGIN(test_posix_memalign_sweep)
{
	sweep(AF_POSIX_MEMALIGN, 8, GiB);
}
TEST_END

TEST_BEGIN(test_memalign_aligned_alloc_sweep)
{
	sweep(AF_MEMALIGN, 1, 4 * MiB);
	sweep(AF_ALIGNED_ALLOC, 1, 4 * MiB);
}
TEST_END

/* Several aligned blocks live at once: no two overlap, all keep their
 * contents while the others are written. */
TEST_BEGIN(test_aligned_blocks_live_together)
{
	enum { PER = 6 };
	static const size_t aligns[] = { 32, 64, 256, 4096, 64 * KiB, 2 * MiB,
					 8 * MiB };
	static const size_t sizes[] = { 1, 24, 100, 5000, 70000 };
	void *p[N_ELEMS(aligns)][N_ELEMS(sizes)][PER];
	unsigned int a, s, k;

	for (a = 0; a < N_ELEMS(aligns); a++)
		for (s = 0; s < N_ELEMS(sizes); s++)
			for (k = 0; k < PER; k++) {
				int r = uslub_posix_memalign(
				    &p[a][s][k], aligns[a], sizes[s]);

				assert_d_eq(r, 0, "posix_memalign(%zu, %zu)",
					    aligns[a], sizes[s]);
				expect_true(is_aligned(p[a][s][k], aligns[a]),
					    "%p %zu-aligned", p[a][s][k],
					    aligns[a]);
				fill(p[a][s][k], sizes[s],
				     (a * 64 + s) * 64 + k);
			}
	for (a = 0; a < N_ELEMS(aligns); a++)
		for (s = 0; s < N_ELEMS(sizes); s++)
			for (k = 0; k < PER; k++) {
				expect_zu_eq(check_fill(p[a][s][k], sizes[s],
							(a * 64 + s) * 64 + k),
					     sizes[s],
					     "align %zu size %zu #%u intact",
					     aligns[a], sizes[s], k);
				uslub_free(p[a][s][k]);
			}
}
TEST_END

/* ---- malloc: alignment and usable size ------------------------------- */

TEST_BEGIN(test_malloc_alignment)
{
	unsigned int bad_align = 0, bad_usable = 0, k;
	size_t n;

	expect_zu_eq(uslub_usable_size(NULL), 0, "usable_size(NULL)");
	for (n = 1; n <= 70000; n += n < 8448 ? 1 : 7) {
		unsigned char *p = uslub_malloc(n);
		size_t usable;

		assert_ptr_not_null(p, "malloc(%zu)", n);
		usable = uslub_usable_size(p);
		if (!is_aligned(p, malloc_align(n)) &&
		    bad_align++ < MAX_REPORTS)
			expect_true(false, "malloc(%zu) = %p: %zu-aligned", n,
				    p, malloc_align(n));
		if (usable < n && bad_usable++ < MAX_REPORTS)
			expect_zu_ge(usable, n, "malloc(%zu): usable", n);
		p[0] = 1;
		p[n - 1] = 2;
		uslub_free(p);
	}
	expect_u_eq(bad_align, 0, "misaligned blocks up to 70000 bytes");
	expect_u_eq(bad_usable, 0, "blocks up to 70000 bytes short of usable");

	/* Sampled up to 64 MiB: around every power of two. */
	for (k = 13; k <= 26; k++) {
		size_t base = (size_t)1 << k;
		size_t sizes[] = { base - 1, base, base + 1,
				   base + base / 2 + 7 };
		unsigned int i;

		for (i = 0; i < N_ELEMS(sizes); i++) {
			unsigned char *p = uslub_malloc(sizes[i]);
			size_t usable;

			assert_ptr_not_null(p, "malloc(%zu)", sizes[i]);
			usable = uslub_usable_size(p);
			expect_true(is_aligned(p, 16),
				    "malloc(%zu) = %p: 16-aligned", sizes[i],
				    p);
			expect_zu_ge(usable, sizes[i], "malloc(%zu): usable",
				     sizes[i]);
			p[0] = 1;
			p[sizes[i] - 1] = 2;
			p[usable - 1] = 3;
			uslub_free(p);
		}
	}
}
TEST_END

/* A block of the neighbour test: where, how big, and what it holds. */
struct nb {
	unsigned char *p;
	size_t usable;
	uint64_t seed;
};

static int nb_cmp(const void *a, const void *b)
{
	const struct nb *x = a, *y = b;

	return x->p < y->p ? -1 : x->p > y->p;
}

/*
 * Usable size is never more than the block provides: blocks of every kind
 * side by side, each written over its whole usable size (a large one at
 * both ends, where it meets its neighbours), then each must still hold
 * its own bytes, and sorted by address no block's usable range reaches the
 * next block.
 */
TEST_BEGIN(test_usable_size_no_overlap)
{
	static const size_t sizes[] = {
		1, 7, 8, 9, 15, 16, 17, 24, 33, 48, 63, 64, 65, 100, 127, 128,
		129, 200, 255, 256, 257, 500, 1000, 1024, 1025, 2000, 3000,
		4095, 4096, 4097, 5000, 7000, 8000, 8191, 8192, 8193, 12000,
		16384, 16385, 40000, 65536, 100000, 262145, MiB + 1,
		4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 5 * MiB,
	};
	static const size_t aligns[] = { 32, 64, 256, 4096, 16384, 65536 };
	static const size_t asizes[] = { 1, 100, 5000, 70000 };
	enum { MAXB = 1024 };
	static struct nb b[MAXB];
	unsigned int n = 0, i, k, a, bad = 0;

	for (i = 0; i < N_ELEMS(sizes); i++) {
		unsigned int count = sizes[i] <= 64 * KiB ? 16 : 3;

		for (k = 0; k < count && n < MAXB; k++, n++) {
			b[n].p = uslub_malloc(sizes[i]);
			assert_ptr_not_null(b[n].p, "malloc(%zu)", sizes[i]);
		}
	}
	for (a = 0; a < N_ELEMS(aligns); a++)
		for (i = 0; i < N_ELEMS(asizes); i++)
			for (k = 0; k < 8 && n < MAXB; k++, n++) {
				void *p = NULL;

				assert_d_eq(uslub_posix_memalign(&p, aligns[a],
								 asizes[i]),
					    0, "posix_memalign(%zu, %zu)",
					    aligns[a], asizes[i]);
				b[n].p = p;
			}
	for (i = 0; i < n; i++) {
		b[i].usable = uslub_usable_size(b[i].p);
		b[i].seed = i + 1;
		fill_ends(b[i].p, b[i].usable, b[i].seed);
	}
	for (i = 0; i < n; i++) {
		size_t off = check_ends(b[i].p, b[i].usable, b[i].seed);

		if (off != b[i].usable && bad++ < MAX_REPORTS)
			expect_zu_eq(off, b[i].usable,
				     "block %p (usable %zu) "
				     "overwritten by a neighbour at offset",
				     b[i].p, b[i].usable);
	}
	expect_u_eq(bad, 0,
		    "blocks overwritten through a neighbour's usable size");
	qsort(b, n, sizeof(b[0]), nb_cmp);
	for (i = 0, bad = 0; i + 1 < n; i++) {
		if (b[i].p + b[i].usable > b[i + 1].p && bad++ < MAX_REPORTS)
			expect_true(false,
				    "%p + usable %zu reaches the next block %p",
				    b[i].p, b[i].usable, b[i + 1].p);
	}
	expect_u_eq(bad, 0, "usable ranges overlapping the next block");
	for (i = 0; i < n; i++)
		uslub_free(b[i].p);
}
TEST_END

/* ---- calloc ---------------------------------------------------------- */

/* calloc zeroes memory that held other data: small objects, large buddy
 * blocks and huge mappings, right after a block of the size was freed. */
TEST_BEGIN(test_calloc_zero_recycled)
{
	static const size_t sizes[] = {
		1, 7, 8, 16, 24, 100, 1000, 4095, 4096, 8000, 8192, 8193, 16384,
		65536, 100000, MiB, 4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 6 * MiB,
		8 * MiB,
	};
	enum { BATCH = 32 };
	unsigned int i, k;

	for (i = 0; i < N_ELEMS(sizes); i++) {
		size_t n = sizes[i];
		unsigned int batch = n <= 64 * KiB ? BATCH : n <= MiB ? 2 : 1;
		void *p[BATCH];

		for (k = 0; k < batch; k++) {
			p[k] = uslub_malloc(n);
			assert_ptr_not_null(p[k], "malloc(%zu)", n);
			touch(p[k], uslub_usable_size(p[k]) < FULL_MAX ?
				    uslub_usable_size(p[k]) : n, 0xff);
		}
		for (k = 0; k < batch; k++)
			uslub_free(p[k]);
		for (k = 0; k < batch; k++) {
			/* the three ways to ask for n bytes */
			p[k] = k % 3 == 0 ? uslub_calloc(1, n) :
			       k % 3 == 1 || n % 4 ? uslub_calloc(n, 1) :
			       uslub_calloc(n / 4, 4);
			assert_ptr_not_null(p[k], "calloc of %zu bytes", n);
			expect_zu_eq(touched_nonzero(p[k], n), n,
				     "calloc of %zu bytes (#%u) zero", n, k);
		}
		for (k = 0; k < batch; k++)
			uslub_free(p[k]);
	}
	/* calloc with a zero count or size: a unique pointer, like malloc(0).
	 */
	{
		void *a = uslub_calloc(0, 8), *b = uslub_calloc(8, 0);

		expect_ptr_not_null(a, "calloc(0, 8)");
		expect_ptr_not_null(b, "calloc(8, 0)");
		expect_ptr_ne(a, b, "two calloc(0) blocks differ");
		uslub_free(a);
		uslub_free(b);
	}
}
TEST_END

/* ---- realloc --------------------------------------------------------- */

/* realloc p (old bytes of seed) to size; the kept part must be intact. */
static unsigned char *realloc_step(unsigned char *p, size_t old, size_t size,
				   uint64_t seed)
{
	unsigned char *n = uslub_realloc(p, size);
	size_t keep = old < size ? old : size;

	expect_ptr_not_null(n, "realloc(%zu -> %zu)", old, size);
	if (!n)
		return p;
	expect_zu_eq(check_fill(n, keep, seed), keep,
		     "realloc(%zu -> %zu) kept the contents", old, size);
	expect_zu_ge(uslub_usable_size(n), size, "usable after realloc to %zu",
		     size);
	expect_true(is_aligned(n, malloc_align(size)),
		    "realloc(%zu) = %p aligned", size, n);
	fill_range(n, keep, size, seed);	/* the new part */
	return n;
}

TEST_BEGIN(test_realloc_keeps_contents)
{
	static const size_t chain[] = {
		8, 8 * KiB, MiB, 16 * MiB, 100,		/* the brief's chain */
		200, 8192, 8193, 20000, 4 * MiB, 4 * MiB + 1, 10 * MiB,
		6 * MiB, 3 * MiB, 100000, 9000, 5000, 150, 60, 1, 17, 70000,
	};
	static const size_t aligns[] = { 32, 64, 4096, 64 * KiB, MiB, 8 * MiB };
	unsigned char *p;
	size_t old;
	unsigned int i, a;

	p = uslub_malloc(8);
	assert_ptr_not_null(p, "malloc(8)");
	fill(p, 8, 77);
	old = 8;
	for (i = 1; i < N_ELEMS(chain); i++) {
		p = realloc_step(p, old, chain[i], 77);
		old = chain[i];
	}
	uslub_free(p);

	/* Blocks from the aligned calls realloc like any other. */
	for (a = 0; a < N_ELEMS(aligns); a++) {
		void *q = NULL;

		assert_d_eq(uslub_posix_memalign(&q, aligns[a], 100), 0,
			    "posix_memalign(%zu, 100)", aligns[a]);
		p = q;
		fill(p, 100, a);
		p = realloc_step(p, 100, 10000, a);
		p = realloc_step(p, 10000, 3 * MiB, a);
		p = realloc_step(p, 3 * MiB, 50, a);
		uslub_free(p);
	}

	/* reallocarray is realloc of nmemb * size. */
	p = uslub_reallocarray(NULL, 10, 10);
	assert_ptr_not_null(p, "reallocarray(NULL, 10, 10)");
	expect_zu_ge(uslub_usable_size(p), 100, "reallocarray: usable");
	fill(p, 100, 5);
	p = uslub_reallocarray(p, 1000, 10);
	assert_ptr_not_null(p, "reallocarray(p, 1000, 10)");
	expect_zu_eq(check_fill(p, 100, 5), 100,
		     "reallocarray kept the contents");
	uslub_free(p);
}
TEST_END

/* A realloc that fails leaves the block as it was, and usable. */
TEST_BEGIN(test_realloc_failure_keeps_block)
{
	static const size_t sizes[] = { 1, 100, 8192, 20000, MiB, 6 * MiB };
	unsigned int i;

	for (i = 0; i < N_ELEMS(sizes); i++) {
		size_t n = sizes[i];
		unsigned char *p = uslub_malloc(n), *q;

		assert_ptr_not_null(p, "malloc(%zu)", n);
		fill(p, n, i);
		errno = 0;
		q = uslub_realloc(p, SIZE_MAX);
		expect_ptr_null(q, "realloc(%zu-byte block, SIZE_MAX)", n);
		expect_d_eq(errno, ENOMEM, "realloc(..., SIZE_MAX): errno");
		expect_zu_eq(check_fill(p, n, i), n,
			     "realloc(SIZE_MAX) left %zu "
			     "bytes intact",
			     n);
		errno = 0;
		q = uslub_realloc(p, SIZE_MAX / 2 + 1);
		expect_ptr_null(q, "realloc(%zu-byte block, 2^63)", n);
		expect_d_eq(errno, ENOMEM, "realloc(..., 2^63): errno");
		errno = 0;
		q = uslub_reallocarray(p, SIZE_MAX / 2, 4);
		expect_ptr_null(
		    q, "reallocarray(%zu-byte block, SIZE_MAX/2, 4)", n);
		expect_d_eq(errno, ENOMEM, "reallocarray overflow: errno");
		expect_zu_eq(check_fill(p, n, i), n,
			     "reallocarray overflow left "
			     "%zu bytes intact",
			     n);
		expect_zu_ge(uslub_usable_size(p), n, "still a live block");
		/* still a block that can be written, grown and freed */
		fill(p, n, i + 100);
		p = realloc_step(p, n, n + 1000, i + 100);
		uslub_free(p);
	}
}
TEST_END

/* A small growth inside the usable size keeps the block where it is. */
TEST_BEGIN(test_realloc_in_place)
{
	static const size_t sizes[] = { 1, 20, 100, 1000, 5000, 9000, 20000,
					300000, 5 * MiB + 1 };
	unsigned int i;

	for (i = 0; i < N_ELEMS(sizes); i++) {
		size_t n = sizes[i], usable;
		unsigned char *p = uslub_malloc(n), *q;

		assert_ptr_not_null(p, "malloc(%zu)", n);
		usable = uslub_usable_size(p);
		fill(p, n, i);
		if (usable > n) {
			q = uslub_realloc(p, n + 1);
			expect_ptr_eq(
			    q, p, "realloc(%zu -> %zu) in place (usable %zu)",
			    n, n + 1, usable);
			p = q ? q : p;
		}
		q = uslub_realloc(p, usable);
		expect_ptr_eq(q, p, "realloc(%zu -> usable %zu) in place", n,
			      usable);
		p = q ? q : p;
		expect_zu_eq(check_fill(p, n, i), n,
			     "contents after in-place realloc");
		q = uslub_realloc(p, n);
		expect_ptr_eq(q, p, "realloc back to %zu in place", n);
		p = q ? q : p;
		expect_zu_eq(check_fill(p, n, i), n, "contents");
		touch(p, uslub_usable_size(p), 0x44);
		uslub_free(p);
	}
}
TEST_END

/* realloc(p, 0) frees p and returns NULL, errno unchanged (glibc 2.36);
 * realloc(NULL, 0) is malloc(0). */
TEST_BEGIN(test_realloc_zero)
{
	static const size_t sizes[] = { 1, 100, 8192, 20000, MiB, 16 * MiB };
	unsigned int i;
	void *p, *q;

	for (i = 0; i < N_ELEMS(sizes); i++) {
		p = uslub_malloc(sizes[i]);
		assert_ptr_not_null(p, "malloc(%zu)", sizes[i]);
		errno = 4321;
		q = uslub_realloc(p, 0);
		expect_ptr_null(q, "realloc(%zu-byte block, 0)", sizes[i]);
		expect_d_eq(errno, 4321, "realloc(p, 0): errno unchanged");
		if (q)
			uslub_free(q);
	}
	/* p was freed: the same object comes back first (LIFO). */
	p = uslub_malloc(100);
	assert_ptr_not_null(p, "malloc(100)");
	(void)uslub_realloc(p, 0);
	q = uslub_malloc(100);
	expect_ptr_eq(q, p, "realloc(p, 0) freed p: it is reused first");
	uslub_free(q);
	/* An aligned block too. */
	p = NULL;
	assert_d_eq(uslub_posix_memalign(&p, 4096, 100), 0, "posix_memalign");
	errno = 4321;
	expect_ptr_null(uslub_realloc(p, 0), "realloc(aligned, 0)");
	expect_d_eq(errno, 4321, "realloc(aligned, 0): errno unchanged");

	p = uslub_realloc(NULL, 0);
	expect_ptr_not_null(p, "realloc(NULL, 0)");
	q = uslub_realloc(NULL, 0);
	expect_ptr_not_null(q, "realloc(NULL, 0) again");
	expect_ptr_ne(p, q, "two realloc(NULL, 0) blocks differ");
	q = uslub_realloc(q, 100);
	expect_ptr_not_null(q, "realloc(realloc(NULL, 0), 100)");
	if (q)
		memset(q, 0x55, 100);
	uslub_free(p);
	uslub_free(q);
	p = uslub_realloc(NULL, 1000);
	expect_ptr_not_null(p, "realloc(NULL, 1000)");
	expect_zu_ge(uslub_usable_size(p), 1000, "realloc(NULL, 1000): usable");
	uslub_free(p);
}
TEST_END

/* ---- free ------------------------------------------------------------ */

TEST_BEGIN(test_free_preserves_errno)
{
	static const size_t sizes[] = { 0, 1, 100, 8192, 8193, 20000, MiB,
					4 * MiB, 4 * MiB + 1, 16 * MiB };
	static const size_t aligns[] = { 64, 4096, 2 * MiB, 8 * MiB };
	unsigned int i;
	void *p;

	for (i = 0; i < N_ELEMS(sizes); i++) {
		p = uslub_malloc(sizes[i]);
		assert_ptr_not_null(p, "malloc(%zu)", sizes[i]);
		touch(p, sizes[i], 1);
		errno = 12345;
		uslub_free(p);
		expect_d_eq(errno, 12345, "free of malloc(%zu) keeps errno",
			    sizes[i]);
	}
	for (i = 0; i < N_ELEMS(aligns); i++) {
		p = NULL;
		assert_d_eq(uslub_posix_memalign(&p, aligns[i], 100), 0,
			    "posix_memalign(%zu, 100)", aligns[i]);
		errno = 12345;
		uslub_free(p);
		expect_d_eq(errno, 12345,
			    "free of a %zu-aligned block keeps errno",
			    aligns[i]);
	}
	p = uslub_calloc(1000, 1000);
	assert_ptr_not_null(p, "calloc");
	errno = 12345;
	uslub_free(p);
	expect_d_eq(errno, 12345, "free of calloc(1000, 1000) keeps errno");
	p = uslub_kmalloc(6 * MiB, 0);
	assert_ptr_not_null(p, "kmalloc(6 MiB)");
	errno = 12345;
	uslub_free(p);
	expect_d_eq(errno, 12345, "free of a kmalloc huge block keeps errno");
	errno = 12345;
	uslub_free(NULL);
	expect_d_eq(errno, 12345, "free(NULL) keeps errno");
}
TEST_END

/* ---- malloc(0) ------------------------------------------------------- */

static int ptr_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;

	return x < y ? -1 : x > y;
}

TEST_BEGIN(test_malloc_zero_unique)
{
	enum { N = 1000 };
	static void *p[N];
	unsigned int i, nulls = 0, dups = 0;

	for (i = 0; i < N; i++) {
		p[i] = uslub_malloc(0);
		nulls += p[i] == NULL;
	}
	expect_u_eq(nulls, 0, "malloc(0) returned NULL");
	qsort(p, N, sizeof(p[0]), ptr_cmp);
	for (i = 0; i + 1 < N; i++)
		if (p[i] && p[i] == p[i + 1] && dups++ < MAX_REPORTS)
			expect_ptr_ne(p[i], p[i + 1],
				      "malloc(0) pointer twice");
	expect_u_eq(dups, 0, "malloc(0) pointers handed out twice");
	for (i = 0; i < N; i++)
		uslub_free(p[i]);
	/* and again: the freed pointers come back and are freed again */
	for (i = 0; i < N; i++)
		p[i] = uslub_malloc(0);
	for (i = 0; i < N; i++)
		uslub_free(p[i]);
	p[0] = uslub_malloc(0);
	expect_ptr_not_null(p[0], "malloc(0)");
	p[1] = uslub_malloc(0);
	expect_ptr_ne(p[0], p[1], "live malloc(0) blocks differ");
	p[0] = uslub_realloc(p[0], 64);
	expect_ptr_not_null(p[0], "realloc(malloc(0), 64)");
	if (p[0])
		memset(p[0], 0x66, 64);
	uslub_free(p[0]);
	uslub_free(p[1]);
}
TEST_END

/* ---- The two families together --------------------------------------- */

static void child_kfree_malloc_zero(void *arg)
{
	(void)arg;
	uslub_kfree(uslub_malloc(0));
}

/* ksize and kfree of blocks from posix_memalign (in a child: a block the
 * kmalloc side does not know would abort). */
static void child_kfree_aligned(void *arg)
{
	static const size_t aligns[] = { 32, 64, 4096, 64 * KiB, 8 * MiB };
	unsigned int i;

	(void)arg;
	for (i = 0; i < N_ELEMS(aligns); i++) {
		void *p = NULL;

		if (uslub_posix_memalign(&p, aligns[i], 100) != 0) {
			expect_true(false, "posix_memalign(%zu, 100)",
				    aligns[i]);
			continue;
		}
		expect_zu_eq(uslub_ksize(p), uslub_usable_size(p),
			     "ksize of a %zu-aligned block == usable_size",
			     aligns[i]);
		uslub_kfree(p);
	}
}

TEST_BEGIN(test_families_mix)
{
	static const size_t sizes[] = { 1, 8, 100, 8192, 8193, 100000, 4 * MiB,
					4 * MiB + 1, 6 * MiB };
	char out[1024];
	int status = 0;
	unsigned int i;

	for (i = 0; i < N_ELEMS(sizes); i++) {
		size_t n = sizes[i];
		unsigned char *k = uslub_kmalloc(n, 0), *m = uslub_malloc(n);

		assert_ptr_not_null(k, "kmalloc(%zu)", n);
		assert_ptr_not_null(m, "malloc(%zu)", n);
		expect_zu_eq(uslub_usable_size(k), uslub_ksize(k),
			     "usable_size(kmalloc(%zu)) == ksize", n);
		expect_zu_eq(uslub_ksize(m), uslub_usable_size(m),
			     "ksize(malloc(%zu)) == usable_size", n);
		touch(k, n, 1);
		touch(m, n, 2);
		uslub_free(k);
		uslub_kfree(m);
		/* realloc and krealloc across the families */
		k = uslub_kmalloc(n, 0);
		assert_ptr_not_null(k, "kmalloc(%zu)", n);
		fill_ends(k, n, n);
		k = uslub_realloc(k, n + 5000);
		assert_ptr_not_null(k, "realloc(kmalloc(%zu), +5000)", n);
		expect_zu_eq(check_ends(k, n, n), n,
			     "realloc of a kmalloc block");
		m = uslub_malloc(n);
		assert_ptr_not_null(m, "malloc(%zu)", n);
		fill_ends(m, n, n + 1);
		m = uslub_krealloc(m, n + 5000, 0);
		assert_ptr_not_null(m, "krealloc(malloc(%zu), +5000)", n);
		expect_zu_eq(check_ends(m, n, n + 1), n,
			     "krealloc of a malloc block");
		uslub_kfree(k);
		uslub_free(m);
	}
	assert_d_eq(test_run_child(child_kfree_aligned, NULL, &status, out,
				   sizeof(out)), 0, "fork");
	expect_true(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "ksize and kfree of aligned blocks (status %#x): %s",
		    status, out);
	/* malloc(0) is a real block, which kfree takes.  kmalloc(0) is
	 * ZERO_SIZE_PTR, which only kfree and krealloc take: free reports it
	 * (test_invalid_pointers), as glibc would. */
	assert_d_eq(test_run_child(child_kfree_malloc_zero, NULL, &status,
				   out, sizeof(out)), 0, "fork");
	expect_true(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "kfree(malloc(0)) is fine (status %#x): %s", status, out);
}
TEST_END

/* ---- malloc_trim and heap statistics --------------------------------- */

TEST_BEGIN(test_malloc_trim)
{
	enum { MAXB = 16384 };
	static void *blk[MAXB];
	struct uslub_heap_stats st0, st1, st2;
	size_t small = 0, large = 0, rss0, rss1, rss2;
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	unsigned int n = 0, i;
	int r;

	/* 16 MiB of small objects and 48 MiB of large blocks, all touched. */
	while (small < 16 * MiB && n < MAXB) {
		size_t size;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		size = 256 + (size_t)(rng % 7937);
		blk[n] = uslub_malloc(size);
		assert_ptr_not_null(blk[n], "malloc(%zu)", size);
		memset(blk[n++], 0x77, size);
		small += size;
	}
	while (large < 48 * MiB && n < MAXB) {
		size_t size;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		size = (64 * KiB << (rng % 6)) + (size_t)(rng >> 32) % 1000;
		blk[n] = uslub_malloc(size);
		assert_ptr_not_null(blk[n], "malloc(%zu)", size);
		memset(blk[n++], 0x77, size);
		large += size;
	}
	rss0 = rss_bytes();
	uslub_heap_stats_get(&st0);
	for (i = 0; i < n; i++)
		uslub_free(blk[i]);
	/* The frees purge all but the dirty limit (8 MiB here): kept for
	 * reuse until malloc_trim. */
	uslub_heap_stats_get(&st1);
	rss1 = rss_bytes();
	expect_zu_ge(st1.released, st0.released + 32 * MiB,
		     "the frees gave most back already (%zu -> %zu KiB)",
		     st0.released >> 10, st1.released >> 10);
	expect_zu_gt(st1.page_free, 1 * MiB, "some free pages kept for reuse");
	expect_zu_le(st1.page_free, 8 * MiB, "no more than the dirty limit");
	r = uslub_malloc_trim(0);
	uslub_heap_stats_get(&st2);
	rss2 = rss_bytes();
	expect_d_eq(r, 1, "malloc_trim after freeing 64 MiB releases memory");
	expect_zu_eq(st2.page_free, 0, "page_free falls to 0 (%zu -> %zu KiB)",
		     st1.page_free >> 10, st2.page_free >> 10);
	expect_zu_ge(st2.released, st1.released + st1.page_free,
		     "released grows by what was kept (%zu -> %zu KiB)",
		     st1.released >> 10, st2.released >> 10);
	expect_zu_le(rss1 + 32 * MiB, rss0, "the frees lower RSS by 32 MiB "
		     "or more (%zu -> %zu KiB)", rss0 >> 10, rss1 >> 10);
	expect_zu_le(rss2 + st1.page_free / 2, rss1, "malloc_trim lowers RSS "
		     "(%zu -> %zu KiB)", rss1 >> 10, rss2 >> 10);
	expect_d_eq(uslub_malloc_trim(0), 0,
		    "a second malloc_trim: nothing left");
	expect_d_eq(uslub_malloc_trim(4096), 0, "pad is ignored");
}
TEST_END

/* Large blocks are counted per thread and summed on read: blocks that
 * one thread allocates and another frees, and threads that exit with a
 * count, must leave the sum exact. */
enum { XLARGE_N = 4, XLARGE = 64 * 1024 };
static void *xlarge[XLARGE_N];

static void *xlarge_alloc(void *arg)
{
	(void)arg;
	for (int i = 0; i < XLARGE_N; i++)
		xlarge[i] = uslub_malloc(XLARGE);
	return NULL;
}

static void *xlarge_free(void *arg)
{
	(void)arg;
	for (int i = 0; i < XLARGE_N; i++)
		uslub_free(xlarge[i]);
	return NULL;
}

static size_t large_now(void)
{
	struct uslub_heap_stats st;

	uslub_heap_stats_get(&st);
	return st.large_bytes;
}

TEST_BEGIN(test_large_bytes_across_threads)
{
	size_t base = large_now();
	pthread_t t;

	assert_d_eq(pthread_create(&t, NULL, xlarge_alloc, NULL), 0, "thread");
	pthread_join(t, NULL);
	for (int i = 0; i < XLARGE_N; i++)
		assert_ptr_not_null(xlarge[i], "64 KiB block %d", i);
	expect_zu_eq(large_now(), base + XLARGE_N * XLARGE,
		     "blocks of an exited thread still count");
	xlarge_free(NULL);
	expect_zu_eq(large_now(), base, "freed here: back to the start");

	xlarge_alloc(NULL);
	expect_zu_eq(large_now(), base + XLARGE_N * XLARGE, "allocated here");
	assert_d_eq(pthread_create(&t, NULL, xlarge_free, NULL), 0, "thread");
	pthread_join(t, NULL);
	expect_zu_eq(large_now(), base,
		     "freed by a thread that exited: back to the start");
}
TEST_END

TEST_BEGIN(test_heap_stats)
{
	enum { NSMALL = 2000, SMALL = 1000, NLARGE = 8, LARGE = 64 * KiB };
	static void *sm[NSMALL];
	void *lg[NLARGE], *huge;
	const size_t bytes = NSMALL * SMALL + NLARGE * LARGE;
	struct uslub_heap_stats st0, st1, st2, st3, st4;
	unsigned int i;

	uslub_malloc_trim(0);
	uslub_heap_stats_get(&st0);
	expect_zu_ge(st0.mapped, st0.allocated, "mapped >= allocated");
	expect_zu_ge(st0.slab_bytes, st0.slab_free, "slab_bytes >= slab_free");
	expect_zu_gt(st0.resident, 0, "resident");

	for (i = 0; i < NSMALL; i++) {
		sm[i] = uslub_malloc(SMALL);
		assert_ptr_not_null(sm[i], "malloc(%d)", SMALL);
		memset(sm[i], 1, SMALL);
	}
	for (i = 0; i < NLARGE; i++) {
		lg[i] = uslub_malloc(LARGE);
		assert_ptr_not_null(lg[i], "malloc(%d)", LARGE);
		memset(lg[i], 2, LARGE);
	}
	uslub_heap_stats_get(&st1);
	expect_zu_ge(st1.allocated, st0.allocated + bytes,
		     "allocated grows by the %zu bytes live", bytes);
	expect_zu_ge(st1.slab_bytes, st0.slab_bytes + NSMALL * SMALL,
		     "slab_bytes grows");
	expect_zu_ge(st1.large_bytes, st0.large_bytes + NLARGE * LARGE,
		     "large_bytes grows");
	expect_zu_ge(st1.mapped, st1.allocated, "mapped >= allocated");
	expect_zu_ge(st1.slab_bytes, st1.slab_free, "slab_bytes >= slab_free");

	huge = uslub_malloc(16 * MiB);
	assert_ptr_not_null(huge, "malloc(16 MiB)");
	memset(huge, 3, 16 * MiB);
	uslub_heap_stats_get(&st2);
	expect_zu_eq(st2.huge_count, st1.huge_count + 1,
		     "huge_count: one more");
	expect_zu_ge(st2.huge_bytes, st1.huge_bytes + 16 * MiB,
		     "huge_bytes: 16 MiB more");
	expect_zu_ge(st2.allocated, st1.allocated + 16 * MiB,
		     "allocated counts the huge block");
	expect_zu_ge(st2.mapped, st2.allocated, "mapped >= allocated");
	expect_zu_ge(st2.resident, st0.resident + 16 * MiB,
		     "resident grows with the touched 16 MiB");
	uslub_free(huge);
	uslub_heap_stats_get(&st3);
	expect_zu_eq(st3.huge_count, st1.huge_count, "huge_count back");
	expect_zu_eq(st3.huge_bytes, st1.huge_bytes, "huge_bytes back");

	for (i = 0; i < NSMALL; i++)
		uslub_free(sm[i]);
	for (i = 0; i < NLARGE; i++)
		uslub_free(lg[i]);
	uslub_heap_stats_get(&st3);
	expect_zu_le(st3.allocated + bytes / 2, st1.allocated,
		     "allocated falls after the frees (%zu -> %zu)",
		     st1.allocated, st3.allocated);
	expect_zu_le(st3.large_bytes, st0.large_bytes, "large_bytes back");
	uslub_malloc_trim(0);
	uslub_heap_stats_get(&st4);
	expect_zu_le(st4.allocated, st0.allocated + 64 * KiB,
		     "after trim, allocated is back (%zu, was %zu)",
		     st4.allocated, st0.allocated);
	expect_zu_ge(st4.mapped, st4.allocated, "mapped >= allocated");
	expect_zu_ge(st4.released, st0.released, "released never falls");
	expect_zu_ge(st4.mapped, st0.mapped, "mapped (ever) never falls");
}
TEST_END

/* The malloc_stats value after "<label> =" on the line after heading. */
static bool stats_value(const char *text, const char *heading,
			const char *label, size_t *val)
{
	const char *s = strstr(text, heading);

	if (!s)
		return false;
	s = strstr(s, label);
	if (!s)
		return false;
	s = strchr(s, '=');
	return s && sscanf(s + 1, "%zu", val) == 1;
}

TEST_BEGIN(test_malloc_stats_write)
{
	static char buf[65536];
	FILE *f = tmpfile();
	void *huge = uslub_malloc(16 * MiB);
	size_t inuse = 0, system = 0;
	ssize_t len;
	int fd;

	assert_ptr_not_null(f, "tmpfile");
	assert_ptr_not_null(huge, "malloc(16 MiB)");
	fd = fileno(f);
	expect_d_eq(uslub_malloc_stats_write(fd), 0, "malloc_stats_write");
	len = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_zd_gt(len, 0, "something was written");
	buf[len] = '\0';
	expect_str_contains(buf, "Arena 0:\n", "arena heading");
	expect_str_contains(buf, "\nsystem bytes ", "system bytes line");
	expect_str_contains(buf, "\nin use bytes ", "in use bytes line");
	expect_str_contains(buf, "Total (incl. mmap):\n", "total heading");
	expect_true(
	    stats_value(buf, "Total (incl. mmap):", "in use bytes", &inuse),
	    "Total in use bytes parse: %s", buf);
	expect_true(
	    stats_value(buf, "Total (incl. mmap):", "system bytes", &system),
	    "Total system bytes parse: %s", buf);
	expect_zu_ge(inuse, 16 * MiB,
		     "Total in use counts the live 16 MiB block");
	expect_zu_ge(system, inuse, "Total system >= in use");
	expect_true(stats_value(buf, "Arena 0:", "system bytes", &system),
		    "Arena 0 system bytes parse");
	uslub_free(huge);
	fclose(f);
	errno = 0;
	expect_d_eq(uslub_malloc_stats_write(-1), -1, "a bad fd");
	expect_d_eq(errno, EBADF, "a bad fd: EBADF");
}
TEST_END

/* ---- Invalid pointers ------------------------------------------------ */

enum bad_op { BAD_FREE, BAD_FREE_TWICE, BAD_REALLOC, BAD_USABLE };

struct bad {
	enum bad_op op;
	void *p;
};

static void child_bad(void *arg)
{
	struct bad *b = arg;

	switch (b->op) {
	case BAD_FREE:
		uslub_free(b->p);
		break;
	case BAD_FREE_TWICE:
		uslub_free(b->p);
		uslub_free(b->p);
		break;
	case BAD_REALLOC:
		(void)uslub_realloc(b->p, 100);
		break;
	case BAD_USABLE:
		(void)uslub_usable_size(b->p);
		break;
	}
}

/* src with its newlines shown as \n, for a one-line diagnostic. */
static const char *escaped(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	for (; *src && n + 3 < size; src++) {
		if (*src == '\n') {
			dst[n++] = '\\';
			dst[n++] = 'n';
		} else {
			dst[n++] = *src;
		}
	}
	dst[n] = '\0';
	return dst;
}

/* In a child, op on p must print exactly one line
 * "uslub: <func>: invalid pointer <p>: <why>" and abort. */
static void expect_reported(enum bad_op op, void *p, const char *func,
			    const char *what)
{
	struct bad b = { op, p };
	char out[2048], shown[4096], want[128];
	const char *nl;
	int status = 0;

	assert_d_eq(test_run_child(child_bad, &b, &status, out, sizeof(out)), 0,
		    "fork");
	escaped(shown, sizeof(shown), out);
	snprintf(want, sizeof(want), "uslub: %s: invalid pointer %p: ", func,
		 p);
	expect_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
		    "%s: killed by SIGABRT (status %#x), stderr: \"%s\"", what,
		    status, shown);
	expect_true(strncmp(out, want, strlen(want)) == 0,
		    "%s: report starts \"%s\", stderr: \"%s\"", what, want,
		    shown);
	nl = strchr(out, '\n');
	expect_true(nl != NULL && nl[1] == '\0',
		    "%s: one line, stderr: \"%s\"", what, shown);
	expect_true(strlen(out) > strlen(want) + 1,
		    "%s: a reason follows, stderr: \"%s\"", what, shown);
}

TEST_BEGIN(test_invalid_pointers)
{
	char *small = uslub_malloc(64), *large = uslub_malloc(100000);
	char *huge = uslub_malloc(16 * MiB), *glibc = malloc(48);
	void *aligned = NULL;
	int on_stack = 0;

	assert_ptr_not_null(small, "malloc(64)");
	assert_ptr_not_null(large, "malloc(100000)");
	assert_ptr_not_null(huge, "malloc(16 MiB)");
	assert_ptr_not_null(glibc, "libc malloc(48)");
	assert_d_eq(uslub_posix_memalign(&aligned, 4096, 100), 0,
		    "posix_memalign");

	expect_reported(BAD_FREE, &on_stack, "free", "free of a stack address");
	expect_reported(BAD_FREE, glibc, "free", "free of libc's memory");
	expect_reported(BAD_FREE, small + 16, "free", "free of small + 16");
	expect_reported(BAD_FREE, large + 16, "free", "free of large + 16");
	expect_reported(BAD_FREE, huge + 16, "free", "free of huge + 16");
	expect_reported(BAD_FREE, (char *)aligned + 16, "free",
			"free of a 4096-aligned block + 16");
	expect_reported(BAD_FREE_TWICE, small, "free", "double free, small");
	expect_reported(BAD_FREE_TWICE, large, "free", "double free, large");
	expect_reported(BAD_FREE_TWICE, huge, "free", "double free, huge");
	expect_reported(BAD_FREE_TWICE, aligned, "free",
			"double free, 4096-aligned");
	expect_reported(BAD_REALLOC, glibc, "realloc",
			"realloc of libc's memory");
	expect_reported(BAD_REALLOC, &on_stack, "realloc",
			"realloc of a stack address");
	expect_reported(BAD_REALLOC, small + 16, "realloc",
			"realloc of small + 16");
	/* kmalloc(0)'s ZERO_SIZE_PTR is not a malloc pointer. */
	expect_reported(BAD_FREE, (void *)16, "free", "free((void *)16)");
	expect_reported(BAD_REALLOC, (void *)16, "realloc",
			"realloc((void *)16, 100)");
	expect_reported(BAD_USABLE, glibc, "malloc_usable_size",
			"malloc_usable_size of libc's memory");
	expect_reported(BAD_USABLE, &on_stack, "malloc_usable_size",
			"malloc_usable_size of a stack address");

	/* The parent's blocks are untouched by what the children did. */
	uslub_free(small);
	uslub_free(large);
	uslub_free(huge);
	uslub_free(aligned);
	free(glibc);
}
TEST_END

/*
 * Size 0 with an alignment above the largest buddy block (4 MiB): a real
 * block, as posix_memalign gives, never a zero-length mapping (a pointer
 * into nothing, which free rejected and a later mapping could overlap).
 */
TEST_BEGIN(test_aligned_size_zero)
{
	static const size_t aligns[] = { 8 * MiB, 16 * MiB, 64 * MiB };
	struct test_capture cap;
	char err[1024];
	unsigned int i;

	for (i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		char *a = uslub_aligned_alloc(aligns[i], 0);
		char *m = uslub_memalign(aligns[i], 0);
		char *big;

		assert_ptr_not_null(a, "aligned_alloc(%zu, 0)", aligns[i]);
		assert_ptr_not_null(m, "memalign(%zu, 0)", aligns[i]);
		expect_zu_eq((uintptr_t)a % aligns[i], 0, "aligned");
		expect_zu_eq((uintptr_t)m % aligns[i], 0, "aligned");
		expect_ptr_ne(a, m, "two blocks");
		expect_zu_ge(uslub_usable_size(a), 1, "usable");
		a[0] = 'a';
		m[0] = 'm';
		big = uslub_malloc(32 * MiB);
		assert_ptr_not_null(big, "malloc(32 MiB)");
		memset(big, 0x5a, 32 * MiB);
		expect_true(a + 1 <= big || a >= big + 32 * MiB,
			    "a later mapping does not cover the block");
		expect_c_eq(a[0], 'a', "the block keeps its byte");
		expect_c_eq(m[0], 'm', "the block keeps its byte");
		test_capture_begin(&cap);
		uslub_free(a);
		uslub_free(m);
		uslub_free(big);
		test_capture_end(&cap, err, sizeof(err));
		expect_str_eq(err, "", "freed without a report");
	}
}
TEST_END

/* Shrinking a slab object above 8 KiB to under half moves it to the
 * smaller class; smaller objects stay where they are. */
TEST_BEGIN(test_realloc_shrink_moves_big_objects)
{
	char *p = uslub_malloc(30000), *q;

	assert_ptr_not_null(p, "malloc(30000)");
	memset(p, 0x3c, 100);
	q = uslub_realloc(p, 100);
	assert_ptr_not_null(q, "realloc to 100");
	expect_zu_lt(uslub_usable_size(q), 1024, "no longer 30000 bytes");
	expect_c_eq(q[99], 0x3c, "contents kept");
	uslub_free(q);
	p = uslub_malloc(6000);
	assert_ptr_not_null(p, "malloc(6000)");
	expect_ptr_eq(uslub_realloc(p, 100), p, "a 6000-byte block stays");
	uslub_free(p);
}
TEST_END

/* kfree and krealloc keep the kernel's ZERO_SIZE_PTR shortcut. */
TEST_BEGIN(test_kfree_zero_size_ptr)
{
	struct test_capture cap;
	char err[1024], *p;

	p = uslub_kmalloc(0, 0);
	expect_ptr_eq(p, (void *)16, "kmalloc(0) is ZERO_SIZE_PTR");
	test_capture_begin(&cap);
	uslub_kfree(p);
	p = uslub_krealloc(p, 40, 0);
	test_capture_end(&cap, err, sizeof(err));
	expect_str_eq(err, "", "kfree and krealloc take it silently");
	assert_ptr_not_null(p, "krealloc(ZERO_SIZE_PTR, 40) allocates");
	expect_zu_ge(uslub_ksize(p), 40, "40 bytes");
	uslub_kfree(p);
}
TEST_END

int main(void)
{
	return test(test_aligned_size_zero, test_kfree_zero_size_ptr,
		    test_realloc_shrink_moves_big_objects,
		    test_enomem, test_posix_memalign_einval,
		    test_posix_memalign_size_zero, test_lenient_alignments,
		    test_valloc_pvalloc, test_posix_memalign_sweep,
		    test_memalign_aligned_alloc_sweep,
		    test_aligned_blocks_live_together, test_malloc_alignment,
		    test_usable_size_no_overlap, test_calloc_zero_recycled,
		    test_realloc_keeps_contents,
		    test_realloc_failure_keeps_block, test_realloc_in_place,
		    test_realloc_zero, test_free_preserves_errno,
		    test_malloc_zero_unique, test_families_mix,
		    test_malloc_trim, test_heap_stats, test_malloc_stats_write,
		    test_large_bytes_across_threads, test_invalid_pointers, NULL);
}
