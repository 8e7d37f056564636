/*
 * Unit tests for large and huge blocks that are kept and reused (lib/
 * kmalloc.c's kept huge ranges, lib/page_alloc.c's PAGE_GROW placement,
 * page_extend and page_shrink): a freed huge block is handed out again
 * without new faults, best fit splits off a tail that stays kept, and no
 * range is handed out twice, also across threads; malloc_trim, the decay
 * and the limit give kept memory back; calloc zeroes recycled memory and
 * leaves memory fresh from the OS untouched; realloc grows large blocks in
 * place, shrinks them in place, and grows huge ones with mremap, without
 * the copy a limit would not allow.
 */
#define _GNU_SOURCE
#include "test.h"

#include "kmalloc.h"
#include "malloc_abi.h"
#include "options.h"
#include "os.h"
#include "page_alloc.h"
#include "pagemap.h"
#include "uslub.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define KiB	(1UL << 10)
#define MiB	(1UL << 20)

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#else
#define UNDER_SANITIZER 0
#endif

static long minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_minflt;
}

/* Kept ranges are bounded by the live bytes: a mapping held live (and
 * never touched, so it costs no RSS) lets the tests' ranges be kept. */
#define BALLAST		(64 * MiB)

/* Nothing kept, nothing cached: every test starts from a trimmed heap. */
static void trim(void)
{
	malloc_trim_all();
	expect_zu_eq(kmalloc_huge_kept_bytes(), 0, "trim leaves nothing kept");
}

static bool all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i += 64)
		if (p[i])
			return false;
	return p[n - 1] == 0;
}

TEST_BEGIN(test_huge_reused_without_faults)
{
	void *ballast;
	unsigned char *p, *q;
	long faults;

	trim();
	ballast = uslub_malloc(BALLAST);
	assert_ptr_not_null(ballast, "ballast");
	p = uslub_malloc(8 * MiB);
	assert_ptr_not_null(p, "8 MiB");
	memset(p, 0x5a, 8 * MiB);
	uslub_free(p);
	expect_zu_ge(kmalloc_huge_kept_bytes(), 8 * MiB, "kept after free");
	q = uslub_malloc(8 * MiB);
	expect_ptr_eq(q, p, "the kept range is handed out again");
	expect_zu_eq(kmalloc_huge_kept_bytes(), 0, "and no longer kept");
	faults = minor_faults();
	memset(q, 0x33, 8 * MiB);
	expect_ld_lt(minor_faults() - faults, 64,
		     "writing it again faults nothing (2048 pages when fresh)");
	uslub_free(q);
	uslub_free(ballast);
	trim();
}
TEST_END

TEST_BEGIN(test_best_fit_splits)
{
	void *ballast;
	unsigned char *p, *a, *b, *c;

	trim();
	ballast = uslub_malloc(BALLAST);
	assert_ptr_not_null(ballast, "ballast");
	p = uslub_malloc(20 * MiB);
	assert_ptr_not_null(p, "20 MiB");
	memset(p, 1, 20 * MiB);
	uslub_free(p);
	a = uslub_malloc(6 * MiB);
	expect_ptr_eq(a, p, "the head of the kept range");
	expect_zu_eq(uslub_usable_size(a), 6 * MiB, "split at the size");
	expect_zu_eq(kmalloc_huge_kept_bytes(), 14 * MiB, "the tail stays kept");
	b = uslub_malloc(5 * MiB);
	expect_ptr_eq(b, p + 6 * MiB, "the next block comes from the tail");
	c = uslub_malloc(5 * MiB);
	expect_ptr_eq(c, p + 11 * MiB, "and the next");
	expect_zu_eq(kmalloc_huge_kept_bytes(), 4 * MiB, "4 MiB left");
	memset(a, 0xa, 6 * MiB);
	memset(b, 0xb, 5 * MiB);
	memset(c, 0xc, 5 * MiB);
	expect_d_eq(a[6 * MiB - 1], 0xa, "the blocks do not overlap");
	expect_d_eq(b[5 * MiB - 1], 0xb, "");
	uslub_free(b);
	uslub_free(a);
	uslub_free(c);
	expect_zu_eq(kmalloc_huge_kept_bytes(), 20 * MiB, "merged back");
	a = uslub_malloc(18 * MiB);
	expect_ptr_eq(a, p, "one range again: an 18 MiB block fits");
	uslub_free(a);
	uslub_free(ballast);
	trim();
}
TEST_END

TEST_BEGIN(test_grow_kept_by_remap)
{
	void *ballast;
	unsigned char *p, *q;
	long faults;

	trim();
	ballast = uslub_malloc(BALLAST);
	assert_ptr_not_null(ballast, "ballast");
	p = uslub_malloc(6 * MiB);
	assert_ptr_not_null(p, "6 MiB");
	memset(p, 7, 6 * MiB);
	uslub_free(p);
	faults = minor_faults();
	q = uslub_malloc(10 * MiB);
	assert_ptr_not_null(q, "10 MiB from a 6 MiB kept range");
	memset(q, 8, 10 * MiB);
	/* (A sanitizer's shadow of the moved range faults anew.) */
	if (!UNDER_SANITIZER)
		expect_ld_lt(minor_faults() - faults, 1024 + 64,
			     "only the 4 MiB of growth fault (2560 pages "
			     "when fresh)");
	expect_zu_eq(kmalloc_huge_kept_bytes(), 0, "the range was used");
	uslub_free(q);
	uslub_free(ballast);
	trim();
}
TEST_END

TEST_BEGIN(test_trim_and_decay_give_back)
{
	void *ballast;
	unsigned char *p;
	size_t rss;

	trim();
	ballast = uslub_malloc(BALLAST);
	assert_ptr_not_null(ballast, "ballast");
	p = uslub_malloc(32 * MiB);
	assert_ptr_not_null(p, "32 MiB");
	memset(p, 1, 32 * MiB);
	uslub_free(p);
	rss = os_rss_bytes();
	expect_zu_ge(kmalloc_huge_kept_bytes(), 32 * MiB, "kept");
	expect_d_eq(uslub_malloc_trim(0), 1, "malloc_trim gives it back");
	expect_zu_eq(kmalloc_huge_kept_bytes(), 0, "nothing kept");
	expect_zu_lt(os_rss_bytes() + 24 * MiB, rss, "RSS fell by the range");

	page_set_decay_ms(1);
	p = uslub_malloc(8 * MiB);
	assert_ptr_not_null(p, "8 MiB");
	memset(p, 1, 8 * MiB);
	uslub_free(p);
	usleep(20 * 1000);
	uslub_free(uslub_malloc(64 * KiB));	/* a large-block call */
	expect_zu_eq(kmalloc_huge_kept_bytes(), 0, "decayed");
	p = uslub_malloc(8 * MiB);
	assert_ptr_not_null(p, "8 MiB");
	memset(p, 1, 8 * MiB);
	uslub_free(p);
	expect_zu_ge(kmalloc_huge_kept_bytes(), 8 * MiB, "kept again");
	usleep(20 * 1000);
	page_free(NULL, page_alloc(NULL, 0), 0);	/* buddy traffic only */
	expect_zu_eq(kmalloc_huge_kept_bytes(), 0, "decayed by page traffic");
	page_set_decay_ms(uslub_opt.decay_ms);
	uslub_free(ballast);
	trim();
}
TEST_END

/* Without live memory beside it, a freed huge block is not kept: sort's
 * 8 MiB buffer, freed before its merge phase, stayed resident in it. */
TEST_BEGIN(test_kept_bounded_by_live)
{
	unsigned char *p;

	trim();
	p = uslub_malloc(8 * MiB);
	assert_ptr_not_null(p, "8 MiB");
	memset(p, 1, 8 * MiB);
	uslub_free(p);
	expect_zu_le(kmalloc_huge_kept_bytes(), page_charged_bytes(),
		     "no more is kept than is live");
	trim();
}
TEST_END

/* When the buddy allocator must carve new memory from the regions, kept
 * ranges give way: sqlite's peak RSS rose by 4 MiB while a freed buffer
 * stayed kept and its small allocations grew the heap elsewhere. */
TEST_BEGIN(test_kept_gives_way_to_growth)
{
	struct page_stats st;
	struct slab *blk[64];
	unsigned char *p;
	void *ballast;
	unsigned long i, n;

	trim();
	ballast = uslub_malloc(BALLAST);
	assert_ptr_not_null(ballast, "ballast");
	p = uslub_malloc(8 * MiB);
	assert_ptr_not_null(p, "8 MiB");
	memset(p, 1, 8 * MiB);
	uslub_free(p);
	expect_zu_eq(kmalloc_huge_kept_bytes(), 8 * MiB, "kept");
	page_get_stats(&st, -1);
	n = st.free[MAX_ORDER] + 1;	/* one more than the free 4 MiB blocks */
	assert_lu_le(n, 64, "few enough free top blocks");
	for (i = 0; i < n; i++)
		blk[i] = page_alloc(NULL, MAX_ORDER);
	expect_zu_eq(kmalloc_huge_kept_bytes(), 0,
		     "the carve of a new 4 MiB block took the kept range");
	for (i = 0; i < n; i++)
		if (blk[i])
			page_free(NULL, blk[i], MAX_ORDER);
	uslub_free(ballast);
	trim();
}
TEST_END

TEST_BEGIN(test_limit)
{
	void *p, *blk[8], *ballast;
	size_t room;
	int i;

	uslub_free(uslub_malloc(1));
	trim();
	ballast = uslub_malloc(16 * MiB);
	assert_ptr_not_null(ballast, "ballast");
	uslub_opt.limit = page_charged_bytes() + 24 * MiB;
	p = uslub_malloc(16 * MiB);
	assert_ptr_not_null(p, "16 MiB under a 24 MiB room");
	uslub_free(p);
	room = page_limit_room();
	expect_zu_eq(kmalloc_huge_kept_bytes(), 16 * MiB, "kept: it fits");
	expect_zu_le(kmalloc_huge_kept_bytes(), room,
		     "what is kept fits the limit's room");
	for (i = 0; i < 6; i++) {
		blk[i] = uslub_malloc(4 * MiB);
		expect_ptr_not_null(blk[i], "4 MiB blocks fill the room: %d", i);
	}
	expect_zu_le(kmalloc_huge_kept_bytes() + page_charged_bytes(),
		     uslub_opt.limit, "kept memory gave way to the blocks");
	for (i = 0; i < 6; i++)
		uslub_free(blk[i]);
	uslub_free(ballast);
	uslub_opt.limit = 0;
	trim();
}
TEST_END

TEST_BEGIN(test_calloc_zero)
{
	void *ballast;
	unsigned char *p, *q;
	long faults;

	trim();
	ballast = uslub_malloc(BALLAST);
	assert_ptr_not_null(ballast, "ballast");
	p = uslub_malloc(8 * MiB);
	assert_ptr_not_null(p, "8 MiB");
	memset(p, 0xab, 8 * MiB);
	uslub_free(p);
	q = uslub_calloc(1, 7 * MiB + 5);
	expect_ptr_eq(q, p, "calloc takes the kept range");
	expect_true(all_zero(q, uslub_usable_size(q)),
		    "and zeroes all of it");
	uslub_free(q);

	p = uslub_malloc(MiB);
	assert_ptr_not_null(p, "1 MiB buddy block");
	memset(p, 0xcd, MiB);
	uslub_free(p);
	q = uslub_calloc(MiB, 1);
	expect_true(all_zero(q, MiB), "a recycled buddy block is zeroed");
	uslub_free(q);

	trim();
	faults = minor_faults();
	p = uslub_calloc(64, MiB);
	assert_ptr_not_null(p, "64 MiB, new from the OS");
	expect_ld_lt(minor_faults() - faults, 1024,
		     "fresh memory is not written (16384 pages if it were)");
	expect_true(all_zero(p, 64 * MiB), "and reads as zero");
	uslub_free(p);
	uslub_free(ballast);
	trim();
}
TEST_END

/*
 * Doubling from 16 bytes: a slab object moves to twice the size asked
 * for up to 1 KiB (to 64, 256 and 1024 bytes), then to a block of pages
 * at 2 KiB whose upper buddies are free, which grows in place from then
 * on: 4 moves in all.
 */
TEST_BEGIN(test_realloc_grows_in_place)
{
	unsigned char *p, *large = NULL;
	size_t size = 16;
	int moves = 0;

	trim();
	p = uslub_malloc(size);
	assert_ptr_not_null(p, "16 bytes");
	p[0] = 0x42;
	while (size < MiB) {
		unsigned char *n;

		size *= 2;
		n = uslub_realloc(p, size);
		assert_ptr_not_null(n, "realloc to %zu", size);
		expect_d_eq(n[0], 0x42, "contents kept at %zu", size);
		if (n != p)
			moves++;
		if (size >= 2 * KiB && !large)
			large = n;
		else if (large)
			expect_ptr_eq(n, large, "in place at %zu", size);
		n[size - 1] = 1;
		p = n;
	}
	expect_d_le(moves, 4, "16 doublings, 4 moves at most");
	uslub_free(p);
	trim();
}
TEST_END

/* How many of the first n bytes of p are byte (n if all are). */
static size_t check_pattern(const unsigned char *p, size_t n, int byte)
{
	size_t i;

	for (i = 0; i < n && p[i] == (unsigned char)byte; i++)
		;
	return i;
}

static unsigned long used_pages_now(void)
{
	struct page_stats st;

	page_get_stats(&st, -1);
	return st.used_pages;
}

/* Doubles p (16 bytes) to 1 MiB; the block it grew in from 2 KiB on,
 * the number of moves after that, and the pattern checked at each step. */
static unsigned char *double_to_mib(unsigned char **pages, int *late_moves)
{
	unsigned char *p = uslub_malloc(16), *n;
	size_t size = 16;

	*pages = NULL;
	*late_moves = 0;
	if (!p)
		return NULL;
	p[0] = 0x5a;
	while (size < MiB) {
		size *= 2;
		n = uslub_realloc(p, size);
		if (!n)
			return NULL;
		expect_d_eq(n[0], 0x5a, "contents kept at %zu", size);
		if (size == 2 * KiB)
			*pages = n;
		else if (*pages && n != p)
			(*late_moves)++;
		n[size - 1] = 1;
		p = n;
	}
	return p;
}

/*
 * The growth reservation (page_alloc.h): a doubling buffer moved to pages
 * is lent from the start of a block the thread keeps, grows in place
 * inside it and goes back to it when freed, so the next buffer grows at
 * the same address with no page_lock; trim gives the reservation back.
 */
TEST_BEGIN(test_grow_reservation)
{
	unsigned char *p, *at1, *at2;
	unsigned long used0;
	int moves;

	trim();
	used0 = used_pages_now();
	p = double_to_mib(&at1, &moves);
	assert_ptr_not_null(p, "first buffer");
	expect_d_eq(moves, 0, "in place from 2 KiB to 1 MiB");
	expect_ptr_eq(p, at1, "the lent block is the 1 MiB block");
	uslub_free(p);
	expect_lu_ge(used_pages_now(), used0 + 256,
		     "freed, it stays in the reservation (1 MiB at least)");
	p = double_to_mib(&at2, &moves);
	assert_ptr_not_null(p, "second buffer");
	expect_ptr_eq(at2, at1, "lent from the same reservation again");
	expect_d_eq(moves, 0, "in place again");
	uslub_free(p);
	trim();
	expect_lu_le(used_pages_now(), used0,
		     "trim hands the reservation back");
}
TEST_END

/* Two buffers grown in turn: the first is lent from the reservation and
 * stays lent while it lives, the second takes the buddy path; each grows
 * in place from 2 KiB to 512 KiB, and neither disturbs the other. */
TEST_BEGIN(test_grow_two_in_turn)
{
	unsigned char *p[2], *at[2] = { NULL, NULL }, *n;
	size_t size = 1024;
	int i, moves = 0;

	trim();
	for (i = 0; i < 2; i++) {
		p[i] = uslub_malloc(size);
		assert_ptr_not_null(p[i], "buffer %d", i);
		memset(p[i], 0x60 + i, size);
	}
	while (size < 512 * KiB) {
		size *= 2;
		for (i = 0; i < 2; i++) {
			n = uslub_realloc(p[i], size);
			assert_ptr_not_null(n, "buffer %d to %zu", i, size);
			if (!at[i])
				at[i] = n;
			else if (n != at[i])
				moves++;
			memset(n + size / 2, 0x60 + i, size / 2);
			p[i] = n;
		}
	}
	expect_d_eq(moves, 0, "both in place from 2 KiB to 512 KiB");
	for (i = 0; i < 2; i++) {
		expect_zu_eq(check_pattern(p[i], size, 0x60 + i), size,
			     "buffer %d's bytes", i);
		uslub_free(p[i]);
	}
	trim();
}
TEST_END

/* A lent block freed by another thread is that thread's to free: the
 * reservation keeps only what lies above it, nothing is handed out twice,
 * and the owner's next growth and exit leave the pages consistent. */
struct grow_handoff {
	unsigned char *lent;
	size_t size;
};

static void *free_elsewhere(void *arg)
{
	struct grow_handoff *h = arg;
	unsigned char *b[4];
	unsigned int i;

	expect_zu_eq(check_pattern(h->lent, h->size, 0x11), h->size,
		     "the lent block as its owner wrote it");
	uslub_free(h->lent);
	for (i = 0; i < 4; i++) {	/* reuse what it freed, and more */
		b[i] = uslub_malloc((64 * KiB) << i);
		assert_ptr_not_null(b[i], "block %u", i);
		memset(b[i], 0x20 + (int)i, (64 * KiB) << i);
	}
	for (i = 0; i < 4; i++)
		if (check_pattern(b[i], (64 * KiB) << i, 0x20 + (int)i) !=
		    (64 * KiB) << i)
			return (void *)1;
	for (i = 0; i < 4; i++)
		uslub_free(b[i]);
	return NULL;
}

static void *grow_owner(void *arg)
{
	struct grow_handoff *h = arg;
	unsigned char *at, *q;
	pthread_t t;
	void *bad;
	int moves;

	h->lent = uslub_malloc(1 * KiB);
	assert_ptr_not_null(h->lent, "1 KiB");
	h->lent = uslub_realloc(h->lent, 200 * KiB);	/* lent, order 6 */
	assert_ptr_not_null(h->lent, "grown to 200 KiB");
	h->size = 200 * KiB;
	memset(h->lent, 0x11, h->size);
	assert_d_eq(pthread_create(&t, NULL, free_elsewhere, h), 0, "thread");
	assert_d_eq(pthread_join(t, &bad), 0, "join");
	expect_ptr_null(bad, "the other thread's blocks kept their bytes");
	q = double_to_mib(&at, &moves);
	assert_ptr_not_null(q, "a second buffer on the owner");
	memset(q, 0x33, MiB);
	expect_zu_eq(check_pattern(q, MiB, 0x33), MiB, "its bytes");
	uslub_free(q);
	return NULL;			/* exit releases the reservation */
}

TEST_BEGIN(test_grow_lent_block_freed_elsewhere)
{
	struct grow_handoff h = { NULL, 0 };
	unsigned long used0;
	pthread_t t;

	trim();
	used0 = used_pages_now();
	assert_d_eq(pthread_create(&t, NULL, grow_owner, &h), 0, "owner");
	assert_d_eq(pthread_join(t, NULL), 0, "join");
	trim();
	expect_lu_le(used_pages_now(), used0,
		     "every page back after the owner's exit and a trim");
}
TEST_END

/* Shrinking the lent block below its reservation's start hands the
 * reservation back first; the block stays its owner's. */
TEST_BEGIN(test_grow_lent_block_shrunk)
{
	unsigned char *p, *at, *q;
	unsigned long used0;
	int moves;

	trim();
	used0 = used_pages_now();
	p = double_to_mib(&at, &moves);
	assert_ptr_not_null(p, "1 MiB");
	memset(p, 0x44, 40 * KiB);
	q = uslub_realloc(p, 40 * KiB);
	expect_ptr_eq(q, p, "shrunk in place");
	expect_zu_eq(check_pattern(q, 40 * KiB, 0x44), 40 * KiB, "its bytes");
	q = uslub_realloc(q, 300 * KiB);
	assert_ptr_not_null(q, "grown again");
	expect_zu_eq(check_pattern(q, 40 * KiB, 0x44), 40 * KiB,
		     "bytes after growing again");
	uslub_free(q);
	trim();
	expect_lu_le(used_pages_now(), used0, "every page back");
}
TEST_END

TEST_BEGIN(test_realloc_shrinks_in_place)
{
	unsigned char *p, *q;
	unsigned long large0, large1, huge, nr;

	trim();
	p = uslub_malloc(MiB);
	assert_ptr_not_null(p, "1 MiB");
	memset(p, 9, MiB);
	kmalloc_large_stats(&large0, &huge, &nr);
	q = uslub_realloc(p, 100 * KiB);
	expect_ptr_eq(q, p, "shrunk in place");
	expect_zu_eq(uslub_usable_size(q), 128 * KiB, "to 128 KiB");
	kmalloc_large_stats(&large1, &huge, &nr);
	expect_lu_eq(large0 - large1, MiB - 128 * KiB, "the tail was given back");
	expect_d_eq(q[100 * KiB - 1], 9, "contents kept");
	q = uslub_realloc(q, 256 * KiB);
	expect_ptr_eq(q, p, "and grows back into it");
	uslub_free(q);
	trim();
}
TEST_END

TEST_BEGIN(test_huge_realloc_remaps)
{
	unsigned char *p, *q;

	uslub_free(uslub_malloc(1));
	trim();
	uslub_opt.limit = page_charged_bytes() + 24 * MiB;
	p = uslub_malloc(16 * MiB);
	assert_ptr_not_null(p, "16 MiB");
	memset(p, 0x11, 16 * MiB);
	q = uslub_realloc(p, 22 * MiB);
	expect_ptr_not_null(q, "grown to 22 MiB under a 24 MiB limit: no "
			    "copy (a copy needs 38 MiB at once)");
	if (q) {
		expect_d_eq(q[16 * MiB - 1], 0x11, "contents kept");
		p = q;
	}
	uslub_free(p);
	uslub_opt.limit = 0;
	trim();
}
TEST_END

static unsigned long dirty_pages_now(void)
{
	struct page_stats st;

	page_get_stats(&st, -1);
	return st.dirty_pages;
}

/* With thp=1 the decay leaves a free block smaller than a huge page
 * resident (discarding it would split the huge page); trim takes it. */
TEST_BEGIN(test_thp_purge_spares_small_blocks)
{
	struct slab *a, *big;
	unsigned int order = 0;

	trim();
	page_set_decay_ms(50);		/* small blocks spared for 400 ms */
	a = page_alloc(NULL, 0);
	big = page_alloc(NULL, 9);
	assert_ptr_not_null(a, "a page");
	assert_ptr_not_null(big, "2 MiB");
	memset(page_address(a), 1, 4096);
	memset(page_address(big), 1, 2 * MiB);
	uslub_opt.thp = 1;
	page_free(NULL, a, 0);
	page_free(NULL, big, 9);
	usleep(60 * 1000);
	page_purge(false);
	if (page_block_is_free(a, &order) && order < 9)
		expect_lu_ge(dirty_pages_now(), 1,
			     "a free page under a huge page stays resident");
	expect_lu_lt(dirty_pages_now(), 512, "the 2 MiB block went back");
	page_purge(true);
	expect_lu_eq(dirty_pages_now(), 0, "trim purges the small one too");
	uslub_opt.thp = -1;
	page_set_decay_ms(uslub_opt.decay_ms);
	trim();
}
TEST_END

/* Threads allocate and free huge and large blocks of varied sizes, each
 * stamping its blocks: a range handed out twice shows as a stamp changed
 * under its owner. */
#define THREADS		4
#define ROUNDS		60
#define LIVE		4

static void *churn(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	uint64_t seed = id * 0x9e3779b97f4a7c15ULL + 1;
	struct { uint64_t *p; size_t words; } live[LIVE] = { { 0 } };
	int r, i, bad = 0;

	for (r = 0; r < ROUNDS; r++) {
		size_t bytes, w;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		i = (int)((seed >> 33) % LIVE);
		if (live[i].p) {
			for (w = 0; w < live[i].words; w += 512)
				bad += live[i].p[w] != (id << 32 | w);
			uslub_free(live[i].p);
		}
		bytes = (seed >> 20) % (10 * MiB) + 256 * KiB;
		live[i].p = uslub_malloc(bytes);
		live[i].words = bytes / 8;
		for (w = 0; w < live[i].words; w += 512)
			live[i].p[w] = id << 32 | w;
		if (r % 16 == 0 && id == 0)
			uslub_malloc_trim(0);
	}
	for (i = 0; i < LIVE; i++) {
		size_t w;

		for (w = 0; live[i].p && w < live[i].words; w += 512)
			bad += live[i].p[w] != (id << 32 | w);
		uslub_free(live[i].p);
	}
	return (void *)(uintptr_t)bad;
}

TEST_BEGIN(test_threads_never_share)
{
	pthread_t t[THREADS];
	uintptr_t i;
	void *bad;

	for (i = 0; i < THREADS; i++)
		assert_d_eq(pthread_create(&t[i], NULL, churn, (void *)i), 0,
			    "thread");
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], &bad);
		expect_ptr_null(bad, "thread %lu: no block shared",
				(unsigned long)i);
	}
	trim();
}
TEST_END

int main(void)
{
	return test(test_huge_reused_without_faults, test_best_fit_splits,
		    test_grow_kept_by_remap, test_trim_and_decay_give_back,
		    test_kept_bounded_by_live, test_kept_gives_way_to_growth,
		    test_limit, test_calloc_zero, test_realloc_grows_in_place,
		    test_grow_reservation, test_grow_two_in_turn,
		    test_grow_lent_block_freed_elsewhere,
		    test_grow_lent_block_shrunk,
		    test_realloc_shrinks_in_place, test_huge_realloc_remaps,
		    test_thp_purge_spares_small_blocks, test_threads_never_share,
		    NULL);
}
