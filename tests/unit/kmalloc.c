/*
 * Unit tests for kmalloc, kzalloc, krealloc, kfree and ksize (lib/api.c,
 * lib/kmalloc.c) with the kernel's semantics: ZERO_SIZE_PTR for size 0,
 * kfree(NULL) and kfree(ZERO_SIZE_PTR) are no-ops, contents kept by
 * krealloc across small/large/huge boundaries, ENOMEM for impossible sizes,
 * and reports + abort for double and foreign frees.
 */
#include "test.h"

#include "kmalloc.h"
#include "options.h"
#include "os.h"
#include "page_alloc.h"
#include "pagemap.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define KiB	(1UL << 10)
#define MiB	(1UL << 20)

/* Fills n bytes with a pattern that depends on the offset and a seed. */
static void fill(void *p, size_t n, unsigned int seed)
{
	unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (unsigned char)(i * 131 + seed);
}

/* Offset of the first byte that breaks the pattern, or n. */
static size_t check_fill(const void *p, size_t n, unsigned int seed)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != (unsigned char)(i * 131 + seed))
			return i;
	return n;
}

static size_t count_nonzero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += b[i] != 0;
	return c;
}

TEST_BEGIN(test_zero_size)
{
	void *p = uslub_kmalloc(0, 0);

	expect_ptr_eq(p, (void *)16, "kmalloc(0) is ZERO_SIZE_PTR");
	expect_ptr_eq(uslub_kzalloc(0, 0), (void *)16, "kzalloc(0) too");
	expect_zu_eq(uslub_ksize(p), 0, "ksize(ZERO_SIZE_PTR)");
	expect_zu_eq(uslub_ksize(NULL), 0, "ksize(NULL)");
	uslub_kfree(p);
	uslub_kfree(NULL);
	uslub_kfree((void *)16);
	expect_zu_eq(uslub_kmalloc_size_roundup(0), 0, "roundup(0)");
}
TEST_END

TEST_BEGIN(test_kzalloc_recycled)
{
	static const size_t sizes[] = { 8, 100, 1000, 8192, 9000, 64 * KiB,
					4 * MiB, 6 * MiB };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t size = sizes[i];
		void *p = uslub_kmalloc(size, 0), *q;

		assert_ptr_not_null(p, "kmalloc(%zu)", size);
		memset(p, 0xa5, uslub_ksize(p));
		uslub_kfree(p);
		q = uslub_kzalloc(size, 0);
		assert_ptr_not_null(q, "kzalloc(%zu)", size);
		if (size <= 8192)
			expect_ptr_eq(q, p,
				      "small: the dirtied object is reused");
		expect_zu_eq(count_nonzero(q, size), 0, "kzalloc(%zu) zeroed",
			     size);
		uslub_kfree(q);
	}
}
TEST_END

/*
 * The kernel's kzalloc zeroes everything ksize() reports: the whole object
 * of a kmalloc cache, and the whole compound page of a large kmalloc
 * (alloc_pages with __GFP_ZERO).  krealloc(..., __GFP_ZERO) relies on it:
 * it copies up to the old ksize and zeroes only beyond.
 */
TEST_BEGIN(test_kzalloc_zeroes_ksize)
{
	static const struct { size_t dirty, size; } cases[] = {
		{ 80, 70 },		/* kmalloc-80 */
		{ 4096, 4000 },		/* kmalloc-4k */
		{ 16384, 15000 },	/* kmalloc-16k */
		{ 65536, 40000 },	/* large, order 4 */
		{ 256 * KiB, 200 * KiB },	/* large, order 6 */
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *p = uslub_kmalloc(cases[i].dirty, 0), *q;
		size_t ks;

		assert_ptr_not_null(p, "kmalloc(%zu)", cases[i].dirty);
		memset(p, 0xaa, uslub_ksize(p));
		uslub_kfree(p);
		q = uslub_kzalloc(cases[i].size, 0);
		assert_ptr_not_null(q, "kzalloc(%zu)", cases[i].size);
		expect_ptr_eq(q, p, "the dirtied block is reused (LIFO)");
		ks = uslub_ksize(q);
		expect_zu_eq(count_nonzero(q, cases[i].size), 0,
			     "kzalloc(%zu): requested bytes zero",
			     cases[i].size);
		expect_zu_eq(count_nonzero(q, ks), 0,
			     "kzalloc(%zu): all %zu ksize bytes zero",
			     cases[i].size, ks);
		uslub_kfree(q);
	}
}
TEST_END

TEST_BEGIN(test_krealloc_zero_after_kzalloc)
{
	char *p = uslub_kmalloc(16384, 0), *q, *r;

	assert_ptr_not_null(p, "kmalloc(16 KiB)");
	memset(p, 0xaa, 16384);
	uslub_kfree(p);
	q = uslub_kzalloc(9000, 0);
	assert_ptr_not_null(q, "kzalloc(9000)");
	r = uslub_krealloc(q, 12000, USLUB_GFP_ZERO);
	assert_ptr_not_null(r, "krealloc(12000, __GFP_ZERO)");
	expect_zu_eq(count_nonzero(r, 12000), 0,
		     "kzalloc then krealloc with __GFP_ZERO: all zero");
	uslub_kfree(r);
}
TEST_END

/* One krealloc step: new size, then the old contents must be intact. */
static char *realloc_step(char *p, size_t old, size_t size, unsigned int seed)
{
	char *n = uslub_krealloc(p, size, 0);
	size_t keep = old < size ? old : size;

	expect_ptr_not_null(n, "krealloc(%zu -> %zu)", old, size);
	if (!n)
		return p;
	expect_zu_eq(check_fill(n, keep, seed), keep,
		     "krealloc(%zu -> %zu) kept the contents", old, size);
	expect_zu_ge(uslub_ksize(n), size, "ksize after krealloc to %zu", size);
	fill(n, size, seed);
	return n;
}

TEST_BEGIN(test_krealloc_keeps_contents)
{
	static const size_t steps[] = {
		24, 100, 200, 4096, 8192,		/* across classes */
		8193, 20000, 1 * MiB, 4 * MiB,		/* large blocks */
		4 * MiB + 1, 10 * MiB, 12 * MiB,	/* huge mappings */
		6 * MiB, 3 * MiB, 100000, 9000,		/* shrinking */
		5000, 150, 60, 1,
	};
	size_t old = 16;
	char *p = uslub_kmalloc(old, 0);
	unsigned int i;

	assert_ptr_not_null(p, "kmalloc(16)");
	fill(p, old, 7);
	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		p = realloc_step(p, old, steps[i], 7);
		old = steps[i];
	}
	uslub_kfree(p);
}
TEST_END

TEST_BEGIN(test_krealloc_edges)
{
	char *p, *q;
	size_t ks;

	p = uslub_krealloc(NULL, 100, 0);
	expect_ptr_not_null(p, "krealloc(NULL, n) allocates");
	expect_zu_eq(uslub_ksize(p), uslub_kmalloc_size_roundup(100),
		     "a kmalloc object");
	q = uslub_krealloc(p, 0, 0);
	expect_ptr_eq(q, (void *)16, "krealloc(p, 0) returns ZERO_SIZE_PTR");
	q = uslub_kmalloc(100, 0);
	expect_ptr_eq(q, p, "krealloc(p, 0) freed p: it is reused first");
	uslub_kfree(q);
	p = uslub_krealloc((void *)16, 50, 0);
	expect_ptr_not_null(p, "krealloc(ZERO_SIZE_PTR, n) allocates");
	fill(p, 50, 3);
	/* Shrinking within a class keeps the pointer. */
	q = uslub_krealloc(p, 40, 0);
	expect_ptr_eq(q, p, "50 -> 40: same object");
	expect_zu_eq(check_fill(q, 40, 3), 40, "contents");
	/* kzalloc-style growth zeroes everything past the old ksize. */
	ks = uslub_ksize(q);
	q = uslub_krealloc(q, 3000, USLUB_GFP_ZERO);
	assert_ptr_not_null(q, "grow with __GFP_ZERO");
	expect_zu_eq(check_fill(q, 40, 3), 40, "old contents kept");
	expect_zu_eq(count_nonzero(q + ks, 3000 - ks), 0,
		     "the grown part is zero");
	/* A failed krealloc leaves the block alone. */
	errno = 0;
	p = uslub_krealloc(q, SIZE_MAX, 0);
	expect_ptr_null(p, "krealloc to SIZE_MAX fails");
	expect_d_eq(errno, ENOMEM, "with ENOMEM");
	expect_zu_eq(check_fill(q, 40, 3), 40, "the old block is intact");
	uslub_kfree(q);
}
TEST_END

TEST_BEGIN(test_impossible_sizes)
{
	static const size_t sizes[] = {
		SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 4096, SIZE_MAX / 2 + 1,
		(size_t)1 << 62, ((size_t)1 << 46) + 1,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		errno = 0;
		expect_ptr_null(uslub_kmalloc(sizes[i], 0), "kmalloc(%#zx)",
				sizes[i]);
		expect_d_eq(errno, ENOMEM, "errno for kmalloc(%#zx)", sizes[i]);
		errno = 0;
		expect_ptr_null(uslub_kzalloc(sizes[i], 0), "kzalloc(%#zx)",
				sizes[i]);
		expect_d_eq(errno, ENOMEM, "errno for kzalloc(%#zx)", sizes[i]);
	}
	/* errno is left alone on success. */
	errno = 1234;
	uslub_kfree(uslub_kmalloc(100, 0));
	uslub_kfree(uslub_kmalloc(100000, 0));
	expect_d_eq(errno, 1234, "success does not touch errno");
}
TEST_END

/* ---- Invalid frees --------------------------------------------------- */

static void child_kfree_twice(void *arg)
{
	uslub_kfree(arg);
	uslub_kfree(arg);
}

static void child_kfree(void *arg)
{
	uslub_kfree(arg);
}

static void expect_child_aborts_with(void (*fn)(void *), void *arg,
				     const void *addr, const char *text,
				     const char *what)
{
	char out[4096], a[32];
	int status = 0;

	assert_d_eq(test_run_child(fn, arg, &status, out, sizeof(out)), 0,
		    "fork");
	snprintf(a, sizeof(a), "%p", addr);
	expect_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
		    "%s: SIGABRT (status %#x)", what, status);
	expect_str_contains(out, "invalid pointer", "%s: reported", what);
	expect_str_contains(out, a, "%s: address printed", what);
	if (text)
		expect_str_contains(out, text, "%s: says why", what);
}

static void expect_child_aborts(void (*fn)(void *), void *arg, const void *addr,
				const char *what)
{
	expect_child_aborts_with(fn, arg, addr, NULL, what);
}

TEST_BEGIN(test_bad_frees_abort)
{
	void *large = uslub_kmalloc(64 * KiB, 0);
	void *glibc = malloc(32);
	int on_stack;

	assert_ptr_not_null(large, "large block");
	expect_child_aborts(child_kfree_twice, large, large,
			    "double free of a large block");
	expect_child_aborts_with(child_kfree, (char *)large + 4096,
				 (char *)large + 4096,
				 "inside a large block, not its start",
				 "kfree inside a large block");
	expect_child_aborts_with(child_kfree, (char *)large + 64 * KiB - 8,
				 (char *)large + 64 * KiB - 8,
				 "inside a large block, not its start",
				 "kfree of a large block's last word");
	expect_child_aborts(child_kfree, &on_stack, &on_stack,
			    "kfree of the stack");
	expect_child_aborts(child_kfree, glibc, glibc, "kfree of glibc memory");
	uslub_kfree(large);
	free(glibc);
}
TEST_END

/*
 * An interior pointer of a small object is not a pointer kmalloc handed
 * out (DESIGN.md invariant 3): it must be reported, not pushed on a
 * freelist, whether or not its slab is the thread's cpu slab.
 */
TEST_BEGIN(test_interior_kfree_aborts)
{
	void *small = uslub_kmalloc(64, 0);

	assert_ptr_not_null(small, "kmalloc(64)");
	expect_child_aborts(child_kfree, (char *)small + 8, (char *)small + 8,
			    "kfree of an interior pointer of a small object");
	uslub_kfree(small);
}
TEST_END

/* ---- Frees from other threads, and of user-cache objects ------------ */

#define NXFREE	64

struct xfree {
	void *p[NXFREE];
	size_t ks[NXFREE];
};

/* The first uslub call of this thread is a kfree. */
static void *kfree_all_thread(void *arg)
{
	struct xfree *x = arg;
	unsigned int i;

	for (i = 0; i < NXFREE; i++) {
		x->ks[i] = uslub_ksize(x->p[i]);
		uslub_kfree(x->p[i]);
	}
	return NULL;
}

static size_t xfree_size(unsigned int i)
{
	return i % 8 == 7 ? 5 * MiB : i % 4 == 3 ? 20000 : 16 + i * 40;
}

TEST_BEGIN(test_kfree_from_fresh_thread)
{
	struct xfree x;
	pthread_t t;
	unsigned int i;

	for (i = 0; i < NXFREE; i++) {
		x.p[i] = uslub_kmalloc(xfree_size(i), 0);
		assert_ptr_not_null(x.p[i], "kmalloc(%zu)", xfree_size(i));
	}
	assert_d_eq(pthread_create(&t, NULL, kfree_all_thread, &x), 0,
		    "thread");
	pthread_join(t, NULL);
	for (i = 0; i < NXFREE; i++)
		expect_zu_eq(x.ks[i], uslub_kmalloc_size_roundup(xfree_size(i)),
			     "ksize from another thread (%u)", i);
	/* Everything came back: the same sizes are served again. */
	for (i = 0; i < NXFREE; i++) {
		x.p[i] = uslub_kmalloc(xfree_size(i), 0);
		expect_ptr_not_null(x.p[i], "again %u", i);
		memset(x.p[i], 1, xfree_size(i));
	}
	for (i = 0; i < NXFREE; i++)
		uslub_kfree(x.p[i]);
}
TEST_END

TEST_BEGIN(test_kfree_of_cache_object)
{
	struct uslub_cache *s = uslub_cache_create("kfree_me", 72, 0, 0, NULL);
	void *p, *q;

	assert_ptr_not_null(s, "cache");
	p = uslub_cache_alloc(s, 0);
	assert_ptr_not_null(p, "object");
	expect_zu_eq(uslub_ksize(p), 72, "ksize of a cache object");
	uslub_kfree(p);		/* the kernel allows kfree on any slab object */
	q = uslub_cache_alloc(s, 0);
	expect_ptr_eq(q, p, "kfree gave it back to its own cache");
	uslub_cache_free(s, q);
	expect_d_eq(uslub_cache_destroy(s), 0, "nothing left: destroy works");
}
TEST_END

/* ---- Huge ------------------------------------------------------------ */

static bool mapped(const void *p, size_t len)
{
	unsigned char vec[16];

	/* mincore fails with ENOMEM on unmapped ranges. */
	return mincore((void *)p, len < 16 * 4096 ? len : 16 * 4096, vec) == 0;
}

TEST_BEGIN(test_huge_block)
{
	size_t size = 10 * MiB;
	size_t rss0, rss1, rss2;
	char *p;

	page_set_decay_ms(0);		/* a freed mapping is not kept */
	uslub_malloc_trim(0);		/* nor one freed before */
	p = uslub_kmalloc(size, 0);
	assert_ptr_not_null(p, "10 MiB");
	expect_ptr_null(pagemap_lookup(p), "a huge block is its own mapping");
	expect_zu_eq(uslub_ksize(p), size, "ksize");
	rss0 = os_rss_bytes();
	fill(p, size, 9);
	rss1 = os_rss_bytes();
	expect_zu_eq(check_fill(p, size, 9), size, "usable end to end");
	expect_true(rss1 >= rss0 + 9 * MiB, "touching it adds RSS");
	expect_true(mapped(p, size), "mapped while live");
	uslub_kfree(p);
	rss2 = os_rss_bytes();
	expect_false(mapped(p, size), "munmapped by kfree");
	expect_false(mapped(p + size - 4096, 4096), "its last page too");
	expect_true(rss2 + 9 * MiB <= rss1, "RSS back: %zu -> %zu KiB",
		    rss1 >> 10, rss2 >> 10);
	expect_zu_eq(uslub_kmalloc_size_roundup(size + 1), size + 4096,
		     "huge sizes round to pages");
	page_set_decay_ms(uslub_opt.decay_ms);
}
TEST_END

#define NHUGE	700	/* past two growths of the huge table (512, 1024) */

/* Many huge blocks, freed in a scrambled order: every lookup of the ones
 * left must still find its size (open addressing, backward-shift delete). */
TEST_BEGIN(test_huge_table_churn)
{
	static char *p[NHUGE];
	size_t size = 4 * MiB + 1, want = 4 * MiB + 4096;
	unsigned int i, k, lost = 0, not_unmapped = 0;

	page_set_decay_ms(0);		/* freed mappings are not kept */
	for (i = 0; i < NHUGE; i++) {
		p[i] = uslub_kmalloc(size, 0);
		assert_ptr_not_null(p[i], "huge %u", i);
		p[i][0] = (char)i;
	}
	for (i = 0; i < NHUGE; i++)
		lost += uslub_ksize(p[i]) != want;
	expect_u_eq(lost, 0, "huge blocks findable after the table grew");
	for (k = 0; k < NHUGE; k++) {
		i = (k * 277) % NHUGE;	/* 277 is prime to 700 */
		uslub_kfree(p[i]);
		not_unmapped += mapped(p[i], 4096);
		p[i] = NULL;
		if (k % 50 == 0) {
			unsigned int j;

			for (j = 0; j < NHUGE; j++)
				lost += p[j] && uslub_ksize(p[j]) != want;
		}
	}
	expect_u_eq(lost, 0, "lookups failing after deletions");
	expect_u_eq(not_unmapped, 0, "huge blocks still mapped after kfree");
	page_set_decay_ms(uslub_opt.decay_ms);
}
TEST_END

/* ---- Out of memory --------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#else
#define UNDER_SANITIZER 0
#endif

/* Address space in use now, from /proc/self/statm. */
static size_t vm_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long pages = 0;

	if (f) {
		if (fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	return pages * 4096;
}

#define NOOM	1024

/* In a child: cap the address space, so that no new region or mapping
 * can be made, then run the heap dry.  kmalloc must return NULL with
 * ENOMEM, never crash, and recover once memory is freed. */
static void oom_child(void *arg)
{
	struct uslub_cache *s = arg;
	static void *blocks[NOOM];
	struct rlimit rl;
	unsigned int n = 0, i;
	void *p;

	uslub_malloc_trim(0);		/* no kept mapping serves */
	getrlimit(RLIMIT_AS, &rl);
	rl.rlim_cur = vm_bytes() + 8 * MiB;
	if (setrlimit(RLIMIT_AS, &rl) != 0)
		return;
	errno = 0;
	while (n < NOOM && (blocks[n] = uslub_kmalloc(4 * MiB, 0)))
		n++;
	expect_u_lt(n, NOOM, "the heap ran dry");
	expect_d_eq(errno, ENOMEM, "4 MiB: ENOMEM");
	errno = 0;
	expect_ptr_null(uslub_kmalloc(10 * MiB, 0), "huge: no mapping");
	expect_d_eq(errno, ENOMEM, "10 MiB: ENOMEM");
	/* Small objects: until the page layer has nothing left. */
	errno = 0;
	for (i = 0; i < (1u << 20) && (p = uslub_cache_alloc(s, 0)); i++)
		;
	expect_ptr_null(p, "a cache runs dry too");
	expect_d_eq(errno, ENOMEM, "cache alloc: ENOMEM");
	/* Freed memory is usable again. */
	if (n > 0) {
		uslub_kfree(blocks[--n]);
		p = uslub_kmalloc(4 * MiB, 0);
		expect_ptr_not_null(p, "a freed 4 MiB block is reusable");
	}
}

TEST_BEGIN(test_out_of_memory)
{
	struct uslub_cache *s =
	    uslub_cache_create("oom_cache", 2000, 0, 0, NULL);
	char out[4096];
	int status = 0;

	if (UNDER_SANITIZER) {
		test_skip("sanitizers need address space of their own");
		return;
	}
	assert_ptr_not_null(s, "cache");
	uslub_cache_free(s, uslub_cache_alloc(s, 0));	/* cpu slot exists */
	assert_d_eq(test_run_child(oom_child, s, &status, out, sizeof(out)), 0,
		    "fork");
	expect_true(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "child ran dry cleanly (status %#x): %s", status, out);
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

int main(void)
{
	return test(test_zero_size, test_kzalloc_recycled,
		    test_krealloc_keeps_contents, test_krealloc_edges,
		    test_kzalloc_zeroes_ksize, test_krealloc_zero_after_kzalloc,
		    test_impossible_sizes, test_bad_frees_abort,
		    test_interior_kfree_aborts, test_kfree_from_fresh_thread,
		    test_kfree_of_cache_object, test_huge_block,
		    test_huge_table_churn, test_out_of_memory, NULL);
}
