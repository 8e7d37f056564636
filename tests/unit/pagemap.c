/*
 * Unit tests for lib/pagemap.h: address -> page descriptor -> block.
 *
 * Pointers uslub handed out find their descriptor, whose head is the slab
 * (of the right cache) or the large block; every other address -- stack,
 * globals, glibc's heap, a private mapping, NULL, ZERO_SIZE_PTR, addresses
 * above the 47-bit user half -- is foreign (NULL), found without touching
 * the address (DESIGN.md invariant 3).
 */
#include "test.h"

#include "alloc.h"
#include "pagemap.h"

#include <stdlib.h>
#include <sys/mman.h>

static int some_global = 42;
static char big_global[3 * 4096];

TEST_BEGIN(test_lookup_kmalloc_objects)
{
	static const size_t sizes[] = {1,   8,	  24,	64,  100,
				       512, 1000, 4096, 8192};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		void *p = uslub_kmalloc(sizes[i], 0);
		struct slab *d, *head;

		assert_ptr_not_null(p, "kmalloc(%zu)", sizes[i]);
		d = pagemap_lookup(p);
		assert_ptr_not_null(d, "kmalloc(%zu) has a descriptor",
				    sizes[i]);
		head = d->head;
		assert_ptr_not_null(head,
				    "descriptor of a live object has a head");
		expect_ptr_eq(pagemap_head(p), head, "pagemap_head agrees");
		expect_true(block_flags(head) & PG_slab,
			    "kmalloc(%zu) head is a slab", sizes[i]);
		expect_ptr_eq(
		    head->cache, &kmalloc_caches[kmalloc_index(sizes[i])],
		    "slab of kmalloc(%zu) belongs to its class", sizes[i]);
		expect_zu_eq(head->cache->object_size,
			     uslub_kmalloc_size_roundup(sizes[i]),
			     "class size");
		/* The object lies inside the slab's pages. */
		expect_true((char *)p >= (char *)page_address(head) &&
			    (char *)p < (char *)page_address(head) +
			    (PAGE_SIZE << head->order),
			    "object inside its slab");
		uslub_kfree(p);
	}
}
TEST_END

TEST_BEGIN(test_lookup_cache_objects)
{
	struct uslub_cache *a = uslub_cache_create("pagemap_a", 72, 0, 0, NULL);
	struct uslub_cache *b = uslub_cache_create("pagemap_b", 72, 0, 0, NULL);
	void *pa, *pb;

	assert_ptr_not_null(a, "cache a");
	assert_ptr_not_null(b, "cache b");
	pa = uslub_cache_alloc(a, 0);
	pb = uslub_cache_alloc(b, 0);
	assert_ptr_not_null(pa, "object of a");
	assert_ptr_not_null(pb, "object of b");
	expect_ptr_eq(pagemap_head(pa)->cache, a, "object of a -> cache a");
	expect_ptr_eq(pagemap_head(pb)->cache, b, "object of b -> cache b");
	expect_ptr_ne(pagemap_head(pa), pagemap_head(pb),
		      "same size, different caches: different slabs");
	/* An interior byte of an object maps to the same slab. */
	expect_ptr_eq(pagemap_head((char *)pa + 71), pagemap_head(pa),
		      "last byte of an object");
	uslub_cache_free(a, pa);
	uslub_cache_free(b, pb);
	expect_d_eq(uslub_cache_destroy(a), 0, "destroy a");
	expect_d_eq(uslub_cache_destroy(b), 0, "destroy b");
}
TEST_END

TEST_BEGIN(test_lookup_foreign)
{
	int on_stack = 1;
	void *glibc = malloc(100);
	void *glibc_big = malloc(1 << 20);	/* glibc mmaps this one */
	void *map = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	/* Make sure at least one region exists. */
	void *ours = uslub_kmalloc(64, 0);

	assert_ptr_not_null(ours, "kmalloc(64)");
	assert_ptr_not_null(glibc, "malloc");
	assert_true(map != MAP_FAILED, "mmap");
	expect_ptr_null(pagemap_lookup(&on_stack), "stack variable");
	expect_ptr_null(pagemap_lookup(&some_global), "initialised global");
	expect_ptr_null(pagemap_lookup(&big_global[4096]), "bss global");
	expect_ptr_null(pagemap_lookup((void *)test_lookup_foreign), "code");
	expect_ptr_null(pagemap_lookup(glibc), "glibc malloc");
	expect_ptr_null(pagemap_lookup(glibc_big), "glibc mmapped malloc");
	expect_ptr_null(pagemap_lookup(map), "private mapping");
	expect_ptr_null(pagemap_lookup((char *)map + (1 << 20) - 1),
			"end of the private mapping");
	expect_ptr_null(pagemap_lookup(NULL), "NULL");
	expect_ptr_null(pagemap_lookup((void *)16), "ZERO_SIZE_PTR");
	expect_ptr_null(pagemap_lookup((void *)4096), "first page");
	expect_ptr_null(pagemap_lookup((void *)(1UL << 47)), "bit 47 set");
	expect_ptr_null(pagemap_lookup((void *)((uintptr_t)ours | (1UL << 47))),
			"our address with bit 47 set");
	expect_ptr_null(pagemap_lookup((void *)((uintptr_t)ours | (1UL << 52))),
			"our address with bit 52 set");
	expect_ptr_null(pagemap_lookup((void *)((uintptr_t)ours | (1UL << 63))),
			"our address with bit 63 set (kernel half)");
	expect_ptr_null(pagemap_lookup((void *)~0UL), "all ones");
	expect_ptr_null(pagemap_head(&on_stack), "pagemap_head of the stack");
	expect_ptr_null(pagemap_head(glibc), "pagemap_head of glibc");
	expect_true(pagemap_region(glibc) == 0, "no region for glibc");
	expect_true(pagemap_region(ours) != 0, "a region for ours");
	munmap(map, 1 << 20);
	free(glibc);
	free(glibc_big);
	uslub_kfree(ours);
}
TEST_END

TEST_BEGIN(test_page_address_round_trip)
{
	/* kmalloc-16k: four pages, aligned to its size */
	char *p = uslub_kmalloc(4 * PAGE_SIZE, 0);
	unsigned int i;

	assert_ptr_not_null(p, "kmalloc(4 pages)");
	for (i = 0; i < 4; i++) {
		char *addr = p + i * PAGE_SIZE + 123;
		struct slab *d = pagemap_lookup(addr);

		assert_ptr_not_null(d, "descriptor of page %u", i);
		expect_ptr_eq(page_address(d), p + i * PAGE_SIZE,
			      "page_address(lookup(page %u + 123))", i);
		expect_ptr_eq(pagemap_lookup(page_address(d)), d,
			      "lookup(page_address(d)) == d");
		expect_ptr_eq(
		    d, pagemap_lookup(p) + i,
		    "descriptors of consecutive pages are consecutive");
		expect_u_eq(page_index(d), page_index(pagemap_lookup(p)) + i,
			    "page_index");
		expect_zu_eq((uintptr_t)d % sizeof(struct slab), 0,
			     "descriptor alignment");
	}
	/* Region base, first descriptor and the first page's address. */
	{
		uintptr_t base = pagemap_region(p);

		expect_zu_eq(base % REGION_SIZE, 0,
			     "regions are 1 GiB aligned");
		expect_zu_eq((uintptr_t)p - base,
			     page_index(pagemap_lookup(p)) * PAGE_SIZE,
			     "page index is the offset in the region");
		expect_ptr_eq(page_address((struct slab *)base), (void *)base,
			      "descriptor 0 describes the region base");
	}
	uslub_kfree(p);
}
TEST_END

/*
 * A large block stamps its head page alone (page_alloc.h): its interior
 * pages have no head, and page_block_head, which the error reports use,
 * finds the block from any of them; after kfree, from none.
 */
TEST_BEGIN(test_head_of_large_interior)
{
	static const size_t sizes[] = { 64 << 10, 40 << 10, 1 << 20 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t size = sizes[i], blk, off;
		char *p = uslub_kmalloc(size, 0);
		struct slab *head;

		assert_ptr_not_null(p, "kmalloc(%zu)", size);
		head = pagemap_head(p);
		assert_ptr_not_null(head, "head of a large block");
		expect_true(block_flags(head) & PG_large, "a large block");
		expect_false(block_flags(head) & PG_slab, "not a slab");
		expect_ptr_eq(page_address(head), p,
			      "head describes the first page");
		expect_u_eq(PAGE_SIZE << head->order,
			    roundup_pow_of_two(size), "order of %zu", size);
		for (off = PAGE_SIZE; off < size; off += 1000) {
			struct slab *d = pagemap_lookup(p + off);

			if (d->head || page_block_head(d) != head) {
				expect_ptr_null(d->head, "interior offset %zu "
						"stamped", off);
				expect_ptr_eq(page_block_head(d), head,
					      "interior offset %zu", off);
				break;
			}
		}
		blk = PAGE_SIZE << head->order;
		expect_ptr_eq(page_block_head(pagemap_lookup(p + blk - 1)),
			      head, "last byte");
		expect_ptr_ne(page_block_head(pagemap_lookup(p + blk)), head,
			      "the byte after the block");
		uslub_kfree(p);
		expect_ptr_null(pagemap_head(p), "no head after kfree");
		expect_ptr_null(page_block_head(pagemap_lookup(p + PAGE_SIZE)),
				"no block inside after kfree");
	}
}
TEST_END

int main(void)
{
	return test(test_lookup_kmalloc_objects, test_lookup_cache_objects,
		    test_lookup_foreign, test_page_address_round_trip,
		    test_head_of_large_interior, NULL);
}
