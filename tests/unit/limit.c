/*
 * Unit tests for USLUB_OPTIONS=limit= (lib/page_alloc.c's page_charge,
 * lib/shrink.c's reclaim_for_allocation): parsing of SIZE; large kmalloc
 * blocks, huge mappings, page blocks and slabs all count and fail with
 * ENOMEM once over; freeing gives the room back; a shrinker holding
 * memory is called by the failing allocation and frees it so the retry
 * succeeds; no reclaim while the thread holds a uslub lock or from inside
 * a shrinker; malloc_trim and uslub_reclaim still work under a limit.
 * Each test sets uslub_opt.limit itself and clears it at the end.
 */
#include "test.h"

#include "malloc_abi.h"
#include "options.h"
#include "page_alloc.h"
#include "uslub.h"

#include <errno.h>
#include <string.h>

#define MiB	(1UL << 20)

/* A limit this many bytes above what uslub holds now, with the thread's
 * state created (16 KiB and a registry page, charged once) and its cached
 * free blocks given back (they are charged), but no shrinker run. */
static void limit_room(size_t room)
{
	uslub_free(uslub_malloc(1));
	malloc_trim_all();
	uslub_opt.limit = page_charged_bytes() + room;
}

TEST_BEGIN(test_parse)
{
	expect_d_eq(options_parse("limit=123"), 0, "plain bytes");
	expect_lu_eq(uslub_opt.limit, 123, "");
	expect_d_eq(options_parse("limit=64m"), 0, "m");
	expect_lu_eq(uslub_opt.limit, 64 * MiB, "");
	expect_d_eq(options_parse("limit=3K,limit=3k"), 0, "K and k");
	expect_lu_eq(uslub_opt.limit, 3072, "");
	expect_d_eq(options_parse("limit=2G"), 0, "G");
	expect_lu_eq(uslub_opt.limit, 2UL << 30, "");
	expect_d_eq(options_parse("limit=5M"), 0, "M");
	expect_lu_eq(uslub_opt.limit, 5 * MiB, "");
	expect_d_eq(options_parse("limit=12x"), 1, "a bad suffix warns");
	expect_d_eq(options_parse("limit=m"), 1, "a suffix alone warns");
	expect_d_eq(options_parse("limit=99999999999999999999"), 1, "overflow");
	expect_d_eq(options_parse("limit=17179869184g"), 1, "overflow by suffix");
	expect_lu_eq(uslub_opt.limit, 5 * MiB, "bad values change nothing");
	expect_d_eq(options_parse("limit=0"), 0, "0: no limit");
	expect_lu_eq(uslub_opt.limit, 0, "");
}
TEST_END

TEST_BEGIN(test_large_blocks)
{
	void *p[16];
	size_t before;
	int n = 0, i;

	limit_room(8 * MiB);
	before = page_charged_bytes();
	for (i = 0; i < 16; i++) {
		errno = 0;
		p[i] = uslub_kmalloc(MiB, 0);
		if (!p[i])
			break;
		n++;
	}
	expect_d_eq(n, 8, "eight 1 MiB blocks fit in 8 MiB, no ninth");
	expect_d_eq(errno, ENOMEM, "the ninth fails with ENOMEM");
	expect_zu_eq(page_charged_bytes(), before + 8 * MiB, "each counts");
	expect_ptr_null(uslub_malloc(2 * MiB), "malloc too");
	expect_d_eq(uslub_posix_memalign(&p[15], 1 << 16, MiB), ENOMEM,
		    "posix_memalign returns ENOMEM");
	uslub_free(p[0]);
	expect_zu_eq(page_charged_bytes(), before + 7 * MiB, "a free gives back");
	p[0] = uslub_kmalloc(MiB, 0);
	expect_ptr_not_null(p[0], "after a free, the next one fits");
	expect_ptr_null(uslub_krealloc(p[0], 2 * MiB, 0),
			"realloc beyond the limit fails");
	for (i = 0; i < n; i++)
		uslub_kfree(p[i]);
	expect_zu_eq(page_charged_bytes(), before, "all given back");
	uslub_opt.limit = 0;
	p[0] = uslub_kmalloc(16 * MiB, 0);
	expect_ptr_not_null(p[0], "no limit: 16 MiB");
	uslub_kfree(p[0]);
}
TEST_END

TEST_BEGIN(test_huge_and_pages)
{
	size_t before;
	void *p, *q;

	limit_room(8 * MiB);
	before = page_charged_bytes();
	errno = 0;
	expect_ptr_null(uslub_kmalloc(16 * MiB, 0), "a huge mapping over it");
	expect_d_eq(errno, ENOMEM, "ENOMEM");
	expect_zu_eq(page_charged_bytes(), before, "nothing charged");

	limit_room(40 * MiB);
	before = page_charged_bytes();
	p = uslub_kmalloc(16 * MiB, 0);
	assert_ptr_not_null(p, "a huge mapping under it");
	expect_zu_eq(page_charged_bytes(), before + 16 * MiB, "counts");
	q = uslub_realloc(p, 48 * MiB);
	expect_ptr_null(q, "growing it over the limit fails");
	q = uslub_realloc(p, 32 * MiB);
	assert_ptr_not_null(q, "growing it within the limit works");
	expect_zu_eq(page_charged_bytes(), before + 32 * MiB, "grown");
	p = uslub_realloc(q, 12 * MiB);
	assert_ptr_not_null(p, "shrinking (by more than half: mremap)");
	expect_zu_eq(page_charged_bytes(), before + 12 * MiB, "shrunk");
	q = uslub_alloc_pages(0, 10);
	expect_ptr_not_null(q, "4 MiB of pages in the 28 MiB left");
	expect_zu_eq(page_charged_bytes(), before + 16 * MiB, "they count");
	uslub_free_pages(q, 10);
	uslub_kfree(p);
	expect_zu_eq(page_charged_bytes(), before, "freed");

	limit_room(4 * MiB);
	p = uslub_alloc_pages(0, 10);
	expect_ptr_not_null(p, "4 MiB of pages in 4 MiB of room");
	errno = 0;
	expect_ptr_null(uslub_alloc_pages(0, 0), "not one page more");
	expect_d_eq(errno, ENOMEM, "ENOMEM");
	uslub_free_pages(p, 10);
	p = uslub_alloc_pages(0, 0);
	expect_ptr_not_null(p, "after the free, a page");
	uslub_free_pages(p, 0);
	uslub_opt.limit = 0;
}
TEST_END

TEST_BEGIN(test_slabs)
{
	struct uslub_cache *s = uslub_cache_create("limit_obj", 4096, 0, 0, NULL);
	void *obj[1024];
	int n = 0, i;

	assert_ptr_not_null(s, "cache");
	limit_room(256 << 10);
	for (i = 0; i < 1024; i++) {
		errno = 0;
		obj[i] = uslub_cache_alloc(s, 0);
		if (!obj[i])
			break;
		n++;
	}
	expect_d_gt(n, 16, "objects fit");
	expect_d_le(n, 64, "but no more than 256 KiB of them");
	expect_d_eq(errno, ENOMEM, "then ENOMEM");
	uslub_opt.limit = 0;
	for (i = 0; i < n; i++)
		uslub_cache_free(s, obj[i]);
	expect_d_eq(uslub_cache_destroy(s), 0, "destroyed");
}
TEST_END

/* A shrinker holding 1 MiB blocks; its scan may try to allocate. */
struct hoard {
	struct uslub_shrinker sh;
	void *blk[32];
	unsigned long n, scans;
	int alloc_in_scan, alloc_in_scan_failed;
};

static unsigned long hoard_count(struct uslub_shrinker *sh,
				 struct uslub_shrink_control *sc)
{
	(void)sc;
	return ((struct hoard *)sh->private_data)->n;
}

static unsigned long hoard_scan(struct uslub_shrinker *sh,
				struct uslub_shrink_control *sc)
{
	struct hoard *h = sh->private_data;
	unsigned long freed = 0;

	h->scans++;
	if (h->alloc_in_scan) {
		void *p = uslub_kmalloc(64 * MiB, 0);

		if (!p)
			h->alloc_in_scan_failed++;
		uslub_kfree(p);
	}
	while (freed < sc->nr_to_scan && h->n) {
		uslub_kfree(h->blk[--h->n]);
		freed++;
	}
	return freed;
}

static void hoard_init(struct hoard *h, unsigned long n)
{
	memset(h, 0, sizeof(*h));
	h->sh.count_objects = hoard_count;
	h->sh.scan_objects = hoard_scan;
	h->sh.seeks = USLUB_DEFAULT_SEEKS;
	h->sh.private_data = h;
	for (h->n = 0; h->n < n; h->n++)
		h->blk[h->n] = uslub_kmalloc(MiB, 0);
}

static void hoard_fini(struct hoard *h)
{
	uslub_unregister_shrinker(&h->sh);
	while (h->n)
		uslub_kfree(h->blk[--h->n]);
}

TEST_BEGIN(test_shrinker_makes_room)
{
	struct hoard h;
	void *p;

	hoard_init(&h, 16);
	assert_d_eq(uslub_register_shrinker(&h.sh, "hoard"), 0, "register");
	limit_room(MiB);
	p = uslub_kmalloc(4 * MiB, 0);
	expect_ptr_not_null(p, "4 MiB over a 1 MiB room: reclaim made room");
	expect_lu_gt(h.scans, 0, "the shrinker was called");
	expect_lu_lt(h.n, 16, "and gave blocks back");
	uslub_kfree(p);
	/* Free pages purged by the first priority are not room: reclaim
	 * goes on to the shrinker until the limit has room. */
	uslub_opt.limit = 0;
	while (h.n < 16)
		h.blk[h.n++] = uslub_kmalloc(MiB, 0);
	{
		void *dirty[6];
		int i;

		page_set_decay_ms(100000);	/* they stay until purged */
		for (i = 0; i < 6; i++)
			dirty[i] = uslub_kmalloc(MiB, 0);
		limit_room(MiB);
		for (i = 0; i < 6; i++)
			uslub_kfree(dirty[i]);
		uslub_opt.limit -= 6 * MiB;	/* those 6 MiB give no room */
		h.scans = 0;
		p = uslub_kmalloc(4 * MiB, 0);
		expect_ptr_not_null(p, "6 MiB purged at priority 12 did not "
				    "stop reclaim short of room");
		expect_lu_gt(h.scans, 0, "the shrinker was called");
		uslub_kfree(p);
		page_set_decay_ms(uslub_opt.decay_ms);
	}
	/* Huge mappings reclaim too. */
	while (h.n < 16)
		h.blk[h.n++] = uslub_kmalloc(MiB, 0);
	limit_room(MiB);
	h.scans = 0;
	p = uslub_kmalloc(8 * MiB, 0);
	expect_ptr_not_null(p, "a huge mapping after reclaim");
	expect_lu_gt(h.scans, 0, "the shrinker was called");
	uslub_kfree(p);
	/* Still not enough: reclaim, then ENOMEM. */
	while (h.n < 16)
		h.blk[h.n++] = uslub_kmalloc(MiB, 0);
	limit_room(MiB);
	h.scans = 0;
	errno = 0;
	expect_ptr_null(uslub_kmalloc(64 * MiB, 0), "more than all there is");
	expect_d_eq(errno, ENOMEM, "ENOMEM");
	expect_lu_gt(h.scans, 0, "after asking the shrinker");
	expect_lu_eq(h.n, 0, "which gave everything");
	uslub_opt.limit = 0;
	hoard_fini(&h);
}
TEST_END

TEST_BEGIN(test_no_reclaim_when_not_allowed)
{
	struct lock l = LOCK_INITIALIZER;
	struct hoard h;

	hoard_init(&h, 8);
	assert_d_eq(uslub_register_shrinker(&h.sh, "hoard"), 0, "register");
	limit_room(MiB);
	/* Holding a lock of uslub: no reclaim, the allocation just fails. */
	lock_acquire(&l);
	errno = 0;
	expect_ptr_null(uslub_kmalloc(4 * MiB, 0), "fails under a lock");
	lock_release(&l);
	expect_d_eq(errno, ENOMEM, "ENOMEM");
	expect_lu_eq(h.scans, 0, "and no shrinker ran");
	/* A shrinker's own allocation over the limit fails, no recursion. */
	h.alloc_in_scan = 1;
	expect_ptr_null(uslub_kmalloc(64 * MiB, 0), "too big even after reclaim");
	expect_lu_gt(h.scans, 0, "the shrinker ran");
	expect_d_gt(h.alloc_in_scan_failed, 0,
		    "its allocation over the limit failed inside the pass");
	uslub_opt.limit = 0;
	hoard_fini(&h);
}
TEST_END

TEST_BEGIN(test_trim_and_reclaim_under_limit)
{
	struct hoard h;
	void *p;

	hoard_init(&h, 8);
	assert_d_eq(uslub_register_shrinker(&h.sh, "hoard"), 0, "register");
	limit_room(MiB);
	expect_zu_gt(uslub_reclaim(4 * MiB), 0, "uslub_reclaim works");
	expect_lu_lt(h.n, 8, "and calls the shrinker");
	while (h.n < 8)
		h.blk[h.n++] = uslub_kmalloc(MiB, 0);
	expect_d_eq(uslub_malloc_trim(0), 1, "malloc_trim works");
	expect_lu_eq(h.n, 0, "all of the hoard went");
	p = uslub_kmalloc(4 * MiB, 0);
	expect_ptr_not_null(p, "the room it made is usable");
	uslub_kfree(p);
	uslub_opt.limit = 0;
	hoard_fini(&h);
}
TEST_END

int main(void)
{
	return test(test_parse, test_large_blocks, test_huge_and_pages,
		    test_slabs, test_shrinker_makes_room,
		    test_no_reclaim_when_not_allowed,
		    test_trim_and_reclaim_under_limit, NULL);
}
