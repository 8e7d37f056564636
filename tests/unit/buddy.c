/*
 * Unit tests for the buddy allocator (lib/page_alloc.c).
 *
 * Every order 0..MAX_ORDER, with and without a thread page cache; natural
 * alignment; exact page accounting; splitting and coalescing of buddies;
 * disjointness of many random blocks (checked by filling them); purging
 * (dirty pages to 0, RSS really falls); decay 0; and the head stamps that
 * page_prep_block writes and page_free clears.
 */
#include "test.h"

#include "options.h"
#include "os.h"
#include "page_alloc.h"
#include "pagemap.h"
#include "region.h"

#include <stdlib.h>
#include <sys/mman.h>

#define MiB	(1UL << 20)

static void *block_addr(struct slab *b)
{
	return page_address(b);
}

static size_t block_bytes(unsigned int order)
{
	return PAGE_SIZE << order;
}

static struct page_stats stats(void)
{
	struct page_stats st;

	page_get_stats(&st, -1);
	return st;
}

/* Whether the pages of b (order o) lie in a free buddy block: b itself or
 * the block it merged into, whose head is b's index rounded down. */
static bool in_free_block(struct slab *b, unsigned int o)
{
	unsigned long idx = page_index(b);
	struct slab *desc0 = b - idx;
	unsigned int k, order;

	for (k = o; k <= MAX_ORDER; k++) {
		struct slab *head = desc0 + (idx & ~((1UL << k) - 1));

		if (page_block_is_free(head, &order) && order >= k)
			return true;
	}
	return false;
}

/* Makes sure the free lists hold at least one top-order block, so that
 * allocations below do not have to carve new ones. */
static void prewarm(void)
{
	struct slab *b = page_alloc(NULL, MAX_ORDER);

	if (b)
		page_free(NULL, b, MAX_ORDER);
}

TEST_BEGIN(test_every_order_no_cache)
{
	unsigned int order;

	for (order = 0; order <= MAX_ORDER; order++) {
		struct slab *b = page_alloc(NULL, order);
		char *p;

		assert_ptr_not_null(b, "order %u", order);
		p = block_addr(b);
		expect_zu_eq((uintptr_t)p % block_bytes(order), 0,
			     "order-%u block %p aligned to its size", order, p);
		expect_u_eq(b->order, order, "head records its order");
		expect_false(page_block_is_free(b, NULL),
			     "an allocated block is not free");
		expect_ptr_eq(pagemap_lookup(p), b,
			      "address maps back to the head");
		p[0] = 1;
		p[block_bytes(order) - 1] = 2;
		page_free(NULL, b, order);
		expect_true(in_free_block(b, order),
			    "freed order-%u block is back in the buddy", order);
	}
}
TEST_END

TEST_BEGIN(test_every_order_page_cache)
{
	static const unsigned int refill[PCACHE_ORDERS] = { 4, 4, 4, 4 };
	struct page_cache pc;
	unsigned int order;

	memset(&pc, 0, sizeof(pc));
	for (order = 0; order <= MAX_ORDER; order++) {
		struct slab *b = page_alloc(&pc, order), *again;
		char *p;

		assert_ptr_not_null(b, "order %u with a page cache", order);
		p = block_addr(b);
		expect_zu_eq((uintptr_t)p % block_bytes(order), 0,
			     "order-%u block aligned (page cache)", order);
		if (order < PCACHE_ORDERS)
			/* limits 8, 8, 8, 8: refill limit / 2 + 1, keep the
			 * rest */
			expect_u_eq(pc.count[order], refill[order],
				    "refill of order %u keeps extra blocks",
				    order);
		p[0] = 1;
		p[block_bytes(order) - 1] = 2;
		page_free(&pc, b, order);
		expect_true(order < PCACHE_ORDERS || in_free_block(b, order),
			    "order %u is not cached: straight to the buddy",
			    order);
		if (order < PCACHE_ORDERS) {
			expect_u_eq(pc.count[order], refill[order] + 1,
				    "free of order %u goes to the page cache",
				    order);
			again = page_alloc(&pc, order);
			expect_ptr_eq(again, b, "the cache is LIFO (order %u)",
				      order);
			page_free(&pc, again, order);
		}
	}
	page_cache_drain(&pc);
	for (order = 0; order < PCACHE_ORDERS; order++)
		expect_u_eq(pc.count[order], 0, "drained order %u", order);
}
TEST_END

TEST_BEGIN(test_page_cache_overflow)
{
	struct page_cache pc;
	struct slab *b[9];
	unsigned int i;

	memset(&pc, 0, sizeof(pc));
	for (i = 0; i < 9; i++) {
		b[i] = page_alloc(&pc, 0);
		assert_ptr_not_null(b[i], "order-0 block %u", i);
	}
	page_cache_drain(&pc);
	for (i = 0; i < 8; i++)
		page_free(&pc, b[i], 0);
	expect_u_eq(pc.count[0], 8, "the cache holds 8 order-0 blocks");
	page_free(&pc, b[8], 0);
	expect_u_eq(pc.count[0], 5, "full: half given back, then one added");
	for (i = 4; i < 8; i++)
		expect_true(in_free_block(b[i], 0),
			    "upper half %u went to the buddy", i);
	for (i = 0; i < 4; i++)
		expect_ptr_eq(pc.blocks[0][i], b[i],
			      "lower half kept (slot %u)", i);
	expect_ptr_eq(pc.blocks[0][4], b[8], "the new block on top");
	page_cache_drain(&pc);
	expect_u_eq(pc.count[0], 0, "drained");
}
TEST_END

TEST_BEGIN(test_stats_exact)
{
	unsigned int order;

	prewarm();
	for (order = 0; order <= MAX_ORDER; order++) {
		struct page_stats s0 = stats(), s1, s2;
		struct slab *b = page_alloc(NULL, order);

		assert_ptr_not_null(b, "order %u", order);
		s1 = stats();
		expect_u_eq(s0.free_pages - s1.free_pages, 1UL << order,
			    "alloc of order %u takes 2^%u free pages", order,
			    order);
		expect_u_eq(s1.used_pages - s0.used_pages, 1UL << order,
			    "alloc of order %u adds 2^%u used pages", order,
			    order);
		page_free(NULL, b, order);
		s2 = stats();
		expect_u_eq(s2.free_pages, s0.free_pages,
			    "free of order %u gives the pages back", order);
		expect_u_eq(s2.used_pages, s0.used_pages,
			    "used pages back after order %u", order);
	}
}
TEST_END

TEST_BEGIN(test_stats_per_region)
{
	struct page_stats all = stats(), one;
	unsigned long sum_free = 0, sum_blocks[NR_ORDERS] = { 0 };
	unsigned int i, o, n = region_count();

	expect_true(n >= 1, "a region exists by now");
	for (i = 0; i < n; i++) {
		page_get_stats(&one, (int)i);
		sum_free += one.free_pages;
		for (o = 0; o < NR_ORDERS; o++)
			sum_blocks[o] += one.free[o];
	}
	expect_u_eq(sum_free, all.free_pages, "regions add up to the total");
	for (o = 0; o < NR_ORDERS; o++)
		expect_u_eq(sum_blocks[o], all.free[o],
			    "order %u blocks add up", o);
	for (o = 0, sum_free = 0; o < NR_ORDERS; o++)
		sum_free += all.free[o] << o;
	expect_u_eq(sum_free, all.free_pages,
		    "free_pages = sum of free[o] << o");
	expect_true(all.dirty_pages <= all.free_pages, "dirty is part of free");
}
TEST_END

/* Allocates (and returns in held[]) every free block of exactly order k,
 * so that the next order-k allocation has to split a bigger block. */
static unsigned int drain_order(unsigned int k, struct slab **held,
				unsigned int max)
{
	unsigned int n = 0;

	while (n < max && stats().free[k] > 0)
		held[n++] = page_alloc(NULL, k);
	return n;
}

static struct slab *held_blocks[4096];

TEST_BEGIN(test_split_then_coalesce)
{
	unsigned int k;

	prewarm();
	for (k = 0; k < MAX_ORDER; k++) {
		unsigned int nheld = drain_order(k, held_blocks,
						 ARRAY_SIZE(held_blocks)),
			     i, o = 0;
		struct slab *a, *b, *lo, *hi;

		assert_u_eq(stats().free[k], 0, "no free order-%u block left",
			    k);
		a = page_alloc(NULL, k);	/* splits a bigger block */
		b = page_alloc(NULL, k); /* takes a's buddy, just split off */
		assert_ptr_not_null(a, "first order-%u block", k);
		assert_ptr_not_null(b, "second order-%u block", k);
		expect_u_eq(page_index(a) ^ page_index(b), 1UL << k,
			    "two order-%u blocks from one split are buddies",
			    k);
		lo = a < b ? a : b;
		hi = a < b ? b : a;
		page_free(NULL, a, k);
		expect_true(page_block_is_free(a, &o) && o == k,
			    "a alone is free at order %u (got %u)", k, o);
		page_free(NULL, b, k);
		o = 0;
		expect_true(page_block_is_free(lo, &o),
			    "merged block is free at the lower address");
		expect_u_ge(o, k + 1, "buddies of order %u merged", k);
		expect_false(page_block_is_free(hi, NULL),
			     "the upper buddy is no longer a head");
		for (i = 0; i < nheld; i++)
			page_free(NULL, held_blocks[i], k);
	}
}
TEST_END

TEST_BEGIN(test_free_halves_coalesce)
{
	unsigned int k;

	/* Free the two halves of one block separately, upper half first. */
	for (k = 0; k < MAX_ORDER; k++) {
		struct slab *b = page_alloc(NULL, k + 1);
		unsigned int o = 0;

		assert_ptr_not_null(b, "order %u", k + 1);
		page_free(NULL, b + (1UL << k), k);
		expect_true(page_block_is_free(b + (1UL << k), &o) && o == k,
			    "upper half free alone at order %u", k);
		page_free(NULL, b, k);
		expect_true(page_block_is_free(b, &o), "lower half free");
		expect_u_ge(o, k + 1, "halves of order %u coalesced", k);
		expect_false(page_block_is_free(b + (1UL << k), NULL),
			     "upper half merged away");
	}
}
TEST_END

struct range {
	uintptr_t start, end;
	struct slab *b;
	unsigned int order;
	bool cached;
};

static int range_cmp(const void *x, const void *y)
{
	const struct range *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

#define NRANDOM	400

static struct range ranges[NRANDOM];

TEST_BEGIN(test_random_blocks_disjoint)
{
	struct page_cache pc;
	unsigned int i, overlaps = 0, corrupt = 0, misaligned = 0;

	memset(&pc, 0, sizeof(pc));
	srand(12345);
	for (i = 0; i < NRANDOM; i++) {
		unsigned int order = (unsigned int)rand() % 8;
		bool cached = rand() & 1;
		struct slab *b = page_alloc(cached ? &pc : NULL, order);

		assert_ptr_not_null(b, "block %u", i);
		ranges[i].b = b;
		ranges[i].order = order;
		ranges[i].cached = cached;
		ranges[i].start = (uintptr_t)block_addr(b);
		ranges[i].end = ranges[i].start + block_bytes(order);
		misaligned += ranges[i].start % block_bytes(order) != 0;
		memset(block_addr(b), (int)(i & 0xff), block_bytes(order));
	}
	for (i = 0; i < NRANDOM; i++) {
		const unsigned char *p = block_addr(ranges[i].b);
		size_t j;

		for (j = 0; j < block_bytes(ranges[i].order); j += 64)
			if (p[j] != (i & 0xff)) {
				corrupt++;
				break;
			}
	}
	expect_u_eq(misaligned, 0, "blocks not aligned to their size");
	expect_u_eq(corrupt, 0, "blocks overwritten by another block");
	for (i = 0; i < NRANDOM; i++)
		page_free(ranges[i].cached ? &pc : NULL, ranges[i].b,
			  ranges[i].order);
	qsort(ranges, NRANDOM, sizeof(ranges[0]), range_cmp);
	for (i = 1; i < NRANDOM; i++)
		overlaps += ranges[i].start < ranges[i - 1].end;
	expect_u_eq(overlaps, 0, "overlapping blocks");
	page_cache_drain(&pc);
}
TEST_END

TEST_BEGIN(test_purge_all)
{
	struct slab *b = page_alloc(NULL, 5);
	struct page_stats before, after;
	size_t bytes;

	assert_ptr_not_null(b, "order 5");
	memset(block_addr(b), 0x5a, block_bytes(5));
	page_free(NULL, b, 5);
	before = stats();
	expect_u_ge(before.dirty_pages, 32, "the freed block is dirty");
	bytes = page_purge(true);
	after = stats();
	expect_zu_ge(bytes, block_bytes(5),
		     "purge gave back at least the block");
	expect_zu_eq(bytes, before.dirty_pages * PAGE_SIZE,
		     "purge gave back exactly the dirty pages");
	expect_u_eq(after.dirty_pages, 0, "nothing dirty after purge(true)");
	expect_u_eq(after.purged_bytes - before.purged_bytes, bytes,
		    "purged_bytes counts it");
	expect_u_eq(after.free_pages, before.free_pages, "purge frees nothing");
	expect_zu_eq(page_purge(true), 0, "a second purge finds nothing");
	/* Purged memory reads as zero. */
	b = page_alloc(NULL, 5);
	assert_ptr_not_null(b, "order 5 again");
	{
		const unsigned char *p = block_addr(b);
		size_t i, nonzero = 0;

		for (i = 0; i < block_bytes(5); i++)
			nonzero += p[i] != 0;
		expect_zu_eq(nonzero, 0, "purged pages come back zeroed");
	}
	page_free(NULL, b, 5);
}
TEST_END

#define RSS_BLOCKS	16		/* x 4 MiB = 64 MiB */

TEST_BEGIN(test_rss_falls)
{
	struct slab *b[RSS_BLOCKS];
	struct page_stats before;
	size_t rss_touched, rss_purged;
	unsigned int i;

	page_purge(true);
	for (i = 0; i < RSS_BLOCKS; i++) {
		b[i] = page_alloc(NULL, MAX_ORDER);
		assert_ptr_not_null(b[i], "4 MiB block %u", i);
		memset(block_addr(b[i]), 0x77, block_bytes(MAX_ORDER));
	}
	rss_touched = os_rss_bytes();
	before = stats();
	for (i = 0; i < RSS_BLOCKS; i++)
		page_free(NULL, b[i], MAX_ORDER);
	page_purge(true);
	expect_zu_ge(stats().purged_bytes - before.purged_bytes,
		     RSS_BLOCKS * block_bytes(MAX_ORDER),
		     "every freed byte purged (by the frees or by page_purge)");
	rss_purged = os_rss_bytes();
	expect_zu_gt(rss_touched, 0, "RSS readable");
	expect_true(rss_touched >= rss_purged + 48 * MiB,
		    "RSS fell from %zu to %zu KiB, not by 48 MiB",
		    rss_touched >> 10, rss_purged >> 10);
}
TEST_END

/* Freeing most of a heap, with a decay that never expires: the frees
 * themselves purge down to the dirty limit (8 MiB for a small heap), so a
 * program that frees and then idles does not keep it all. */
TEST_BEGIN(test_dirty_limit_purges_without_decay)
{
	struct slab *b[RSS_BLOCKS];
	struct page_stats before, after;
	unsigned int i;

	page_purge(true);
	page_set_decay_ms(3600 * 1000);
	for (i = 0; i < RSS_BLOCKS; i++) {
		b[i] = page_alloc(NULL, MAX_ORDER);
		assert_ptr_not_null(b[i], "4 MiB block %u", i);
		memset(block_addr(b[i]), 0x55, block_bytes(MAX_ORDER));
	}
	before = stats();
	expect_lu_eq(before.dirty_pages, 0, "nothing dirty before the frees");
	for (i = 0; i < 2; i++)
		page_free(NULL, b[i], MAX_ORDER);
	expect_lu_eq(stats().dirty_pages, 2UL << MAX_ORDER,
		     "8 MiB dirty is within the limit: kept for reuse");
	for (; i < RSS_BLOCKS; i++)
		page_free(NULL, b[i], MAX_ORDER);
	after = stats();
	expect_lu_le(after.dirty_pages, (8UL << 20) >> PAGE_SHIFT,
		     "dirty pages held to 8 MiB without page_purge");
	expect_zu_ge(after.purged_bytes - before.purged_bytes,
		     (RSS_BLOCKS - 2) * block_bytes(MAX_ORDER),
		     "the rest was purged by the frees, oldest first");
	page_set_decay_ms(250);
	page_purge(true);
}
TEST_END

/* page_extend: a block grows in place over free upper buddies, and refuses,
 * changing nothing, when a buddy is in use or the block is an upper half.
 * The layout is made by hand: a top block whose upper halves are freed
 * from order 3 up, except the order-7 half, which stays allocated (y). */
TEST_BEGIN(test_extend_in_place)
{
	struct slab *x = page_alloc(NULL, MAX_ORDER), *y;
	struct page_stats before, st;
	unsigned int o;

	assert_ptr_not_null(x, "top block");
	page_prep_block(x, MAX_ORDER, 0);
	before = stats();
	page_prep_block(x, 3, 0);
	for (o = 3; o < MAX_ORDER; o++)
		if (o != 7)
			page_free(NULL, x + (1UL << o), o);
	y = x + (1UL << 7);
	page_prep_block(y, 7, 0);
	expect_lu_eq(stats().used_pages, before.used_pages - (1UL << MAX_ORDER) +
		     (1UL << 3) + (1UL << 7), "x holds 8 pages, y 128");

	expect_true(page_extend(x, 3, 7), "orders 3..6 free: x grows to 7");
	expect_u_eq(x->order, 7, "x is order 7");
	expect_lu_eq(stats().used_pages, before.used_pages - (1UL << MAX_ORDER) +
		     (2UL << 7), "the absorbed pages count as used");
	for (o = 3; o < 7; o++)
		expect_false(page_block_is_free(x + (1UL << o), NULL),
			     "order-%u half left the free area", o);

	st = stats();
	expect_false(page_extend(x, 7, 8), "buddy y in use: refused");
	expect_false(page_extend(y, 7, 8), "y is an upper half: refused");
	expect_u_eq(x->order, 7, "x unchanged");
	expect_lu_eq(stats().used_pages, st.used_pages, "nothing taken");
	expect_lu_eq(stats().free_pages, st.free_pages, "nothing taken");

	page_free(NULL, y, 7);
	expect_true(page_extend(x, 7, MAX_ORDER), "y freed: x grows to the top");
	expect_u_eq(x->order, MAX_ORDER, "x is the whole top block again");
	expect_lu_eq(stats().used_pages, before.used_pages, "used as at the start");
	page_free(NULL, x, MAX_ORDER);
}
TEST_END

/* Pages of descriptor array that are resident, of n pages from p. */
static unsigned int resident_pages(const void *p, size_t n)
{
	unsigned char vec[64];
	unsigned int i, r = 0;

	if (n > sizeof(vec) || mincore((void *)p, n * PAGE_SIZE, vec) != 0)
		return ~0u;
	for (i = 0; i < n; i++)
		r += vec[i] & 1;
	return r;
}

/* Purging a top-order block gives back the descriptor pages after its
 * head's page too (15 of 16); allocating again brings them back. */
TEST_BEGIN(test_purge_descriptor_pages)
{
	const size_t per_page = PAGE_SIZE / sizeof(struct slab);
	const size_t desc_pages = ((size_t)1 << MAX_ORDER) / per_page;
	struct slab *b, *again;
	struct page_stats st;
	unsigned int order = 0, nr_regions;
	unsigned long fresh;
	char *addr;

	page_purge(true);
	b = page_alloc(NULL, MAX_ORDER);
	assert_ptr_not_null(b, "top block");
	page_prep_block(b, MAX_ORDER, 0);
	expect_u_eq(resident_pages(b, desc_pages), desc_pages,
		    "a stamped block's descriptors are resident");
	page_free(NULL, b, MAX_ORDER);
	page_purge(true);
	/* A purged top block is parked: off the free lists, so its head's
	 * descriptor page goes back too. */
	expect_u_eq(resident_pages(b, desc_pages), 0,
		    "purged: every descriptor page is gone, the head's too");
	expect_true(page_block_is_free(b, &order) && order == MAX_ORDER,
		    "still a free top block");
	st = stats();
	expect_lu_ge(st.free[MAX_ORDER], 1, "counted free");

	fresh = region_get(region_count() - 1)->fresh;
	nr_regions = region_count();
	again = page_alloc(NULL, MAX_ORDER);
	assert_ptr_not_null(again, "top block again");
	expect_u_eq(region_count(), nr_regions, "no new region");
	expect_lu_eq(region_get(region_count() - 1)->fresh, fresh,
		     "a parked block came back: nothing new carved");
	page_prep_block(again, MAX_ORDER, 0);
	addr = (char *)page_address(again) + 700 * PAGE_SIZE;
	expect_ptr_eq(pagemap_lookup(addr)->head, again,
		      "an interior page's descriptor names its head again");
	page_free(NULL, again, MAX_ORDER);
}
TEST_END

TEST_BEGIN(test_decay_zero_purges_at_once)
{
	struct page_stats before, after;
	struct slab *b;

	page_purge(true);
	page_set_decay_ms(0);
	b = page_alloc(NULL, 4);
	assert_ptr_not_null(b, "order 4");
	memset(block_addr(b), 1, block_bytes(4));
	before = stats();
	page_free(NULL, b, 4);
	after = stats();
	expect_u_eq(after.dirty_pages, 0, "decay 0: nothing stays dirty");
	expect_u_ge(after.purged_bytes - before.purged_bytes, block_bytes(4),
		    "the freed block was purged by the free itself");
	page_set_decay_ms(uslub_opt.decay_ms);

	/* With a long decay a free leaves the block dirty. */
	page_set_decay_ms(60000);
	b = page_alloc(NULL, 4);
	assert_ptr_not_null(b, "order 4 again");
	memset(block_addr(b), 1, block_bytes(4));
	page_free(NULL, b, 4);
	expect_u_ge(stats().dirty_pages, 16,
		    "long decay: the block stays dirty");
	page_set_decay_ms(uslub_opt.decay_ms);
	page_purge(true);
}
TEST_END

TEST_BEGIN(test_prep_block_heads)
{
	unsigned int order = 3, i, bad = 0;
	uint16_t cpu_off = 5u << CPU_SHIFT;
	struct slab *b = page_alloc(NULL, order);
	char *p;

	assert_ptr_not_null(b, "order 3");
	p = block_addr(b);
	for (i = 0; i < 8; i++)
		expect_ptr_null(pagemap_head(p + i * PAGE_SIZE),
				"page %u clear before prep", i);
	page_prep_block(b, order, cpu_off);
	for (i = 0; i < 8; i++) {
		char *page = p + i * PAGE_SIZE;

		expect_ptr_eq(pagemap_head(page), b, "page %u start", i);
		expect_ptr_eq(pagemap_head(page + 1), b, "page %u + 1", i);
		expect_ptr_eq(pagemap_head(page + PAGE_SIZE - 1), b,
			      "page %u last byte", i);
		expect_u_eq(pagemap_lookup(page)->cpu_off, cpu_off,
			    "page %u carries the cpu slot", i);
	}
	expect_u_eq(b->order, order, "prep records the order");
	expect_ptr_ne(pagemap_head(p + 8 * PAGE_SIZE), b,
		      "the next block is not ours");
	page_free(NULL, b, order);
	for (i = 0; i < 8; i++) {
		if (pagemap_head(p + i * PAGE_SIZE) ||
		    pagemap_lookup(p + i * PAGE_SIZE)->cpu_off)
			bad++;
	}
	expect_u_eq(bad, 0, "page_free cleared every page's head and slot");

	/* The same through a page cache. */
	{
		struct page_cache pc;
		struct slab *c;

		memset(&pc, 0, sizeof(pc));
		c = page_alloc(&pc, 1);
		assert_ptr_not_null(c, "order 1 (cached)");
		page_prep_block(c, 1, 0);
		expect_ptr_eq(
		    pagemap_head((char *)block_addr(c) + PAGE_SIZE + 9), c,
		    "second page of an order-1 block");
		page_free(&pc, c, 1);
		expect_ptr_null(pagemap_head((char *)block_addr(c) + PAGE_SIZE),
				"cleared even while parked in the page cache");
		page_cache_drain(&pc);
	}
}
TEST_END

int main(void)
{
	return test(
	    test_every_order_no_cache, test_every_order_page_cache,
	    test_page_cache_overflow, test_stats_exact, test_stats_per_region,
	    test_split_then_coalesce, test_free_halves_coalesce,
	    test_random_blocks_disjoint, test_purge_all, test_rss_falls,
	    test_dirty_limit_purges_without_decay, test_extend_in_place,
	    test_purge_descriptor_pages,
	    test_decay_zero_purges_at_once, test_prep_block_heads, NULL);
}
