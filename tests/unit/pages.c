/*
 * Unit tests for the page-level API (lib/pages.c, include/uslub.h,
 * <uslub/kmem.h>): blocks of every order aligned to their size and
 * writable; GFP_ZERO on recycled pages; order > MAX_ORDER is EINVAL; a
 * wrong order, an interior address, a double free, a foreign address and
 * kfree/ksize of a page block are each reported once and change nothing;
 * the kernel's __get_free_pages family; buddyinfo and heap statistics.
 */
#include "test.h"

#include "log.h"
#include "options.h"
#include "page_alloc.h"
#include "pagemap.h"
#include "slabinfo_row.h"
#include <uslub/kmem.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#define PAGE	4096UL

TEST_BEGIN(test_orders_aligned)
{
	unsigned int o;

	for (o = 0; o <= 10; o++) {
		char *p = uslub_alloc_pages(0, o);

		assert_ptr_not_null(p, "order %u", o);
		expect_zu_eq((uintptr_t)p % (PAGE << o), 0,
			     "order %u aligned to its size", o);
		memset(p, 0x5c, PAGE << o);
		expect_true(block_flags(pagemap_head(p)) & PG_pages,
			    "order %u: a page block", o);
		expect_ptr_eq(pagemap_head(p + (PAGE << o) - 1), pagemap_head(p),
			      "order %u: its last byte is in it", o);
		uslub_free_pages(p, o);
		expect_ptr_null(pagemap_head(p), "order %u: freed", o);
	}
	errno = 0;
	expect_ptr_null(uslub_alloc_pages(0, 11), "order 11");
	expect_d_eq(errno, EINVAL, "EINVAL");
	errno = 0;
	expect_ptr_null(uslub_alloc_pages(0, ~0u), "order ~0");
	expect_d_eq(errno, EINVAL, "EINVAL");
	uslub_free_pages(NULL, 3);		/* nothing */
}
TEST_END

TEST_BEGIN(test_gfp_zero)
{
	unsigned int o, i, bad = 0;

	for (o = 0; o <= 4; o++) {
		unsigned char *p = uslub_alloc_pages(0, o), *q;

		assert_ptr_not_null(p, "order %u", o);
		memset(p, 0xff, PAGE << o);
		uslub_free_pages(p, o);
		q = uslub_alloc_pages(USLUB_GFP_ZERO, o);
		assert_ptr_not_null(q, "order %u zeroed", o);
		expect_ptr_eq(q, p, "order %u: the same pages recycled", o);
		for (i = 0; i < (PAGE << o); i++)
			bad += q[i] != 0;
		uslub_free_pages(q, o);
	}
	expect_u_eq(bad, 0, "GFP_ZERO zeroes recycled pages");
}
TEST_END

/* What the calls made by fn wrote as reports, with abort_on_error off. */
static char *reports(void (*fn)(void *), void *arg)
{
	FILE *f = tmpfile();
	int saved = uslub_opt.abort_on_error;
	char *buf = calloc(1, 4096);
	ssize_t n;

	uslub_opt.abort_on_error = 0;
	log_set_error_fd(fileno(f));
	fn(arg);
	log_set_error_fd(2);
	uslub_opt.abort_on_error = saved;
	n = pread(fileno(f), buf, 4095, 0);
	buf[n > 0 ? n : 0] = '\0';
	fclose(f);
	return buf;
}

static void free_order2(void *p) { uslub_free_pages(p, 2); }
static void free_order3(void *p) { uslub_free_pages(p, 3); }
static void free_interior(void *p) { uslub_free_pages((char *)p + PAGE, 3); }
static void kfree_it(void *p) { uslub_kfree(p); }
static void free_it(void *p) { uslub_free(p); }
static void ksize_it(void *p) { expect_zu_eq(uslub_ksize(p), 0, "ksize 0"); }

static void expect_report(char *text, const char *func, void *p,
			  const char *why)
{
	char want[256];

	snprintf(want, sizeof(want), "uslub: %s: invalid pointer %p: %s\n",
		 func, p, why);
	expect_str_eq(text, want, "exactly one report");
	free(text);
}

TEST_BEGIN(test_invalid_frees)
{
	char *p = uslub_alloc_pages(0, 3), *k = uslub_kmalloc(100, 0);
	static char foreign[64];

	assert_ptr_not_null(p, "order 3");
	expect_report(reports(free_order2, p), "free_pages", p,
		      "freed with order 2, allocated with order 3");
	expect_true(block_flags(pagemap_head(p)) & PG_pages, "still in use");
	expect_report(reports(free_interior, p), "free_pages", p + PAGE,
		      "inside a block of pages, not its start");
	expect_report(reports(kfree_it, p), "kfree", p,
		      "a block of pages from uslub_alloc_pages (free it with "
		      "uslub_free_pages)");
	expect_report(reports(free_it, p), "free", p,
		      "a block of pages from uslub_alloc_pages (free it with "
		      "uslub_free_pages)");
	expect_report(reports(ksize_it, p), "ksize", p,
		      "a block of pages from uslub_alloc_pages (free it with "
		      "uslub_free_pages)");
	expect_report(reports(free_order3, foreign), "free_pages", foreign,
		      "not a block of pages from uslub");
	expect_report(reports(free_order3, k), "free_pages", k,
		      "a cache object, not a block of pages (use kfree)");
	expect_true(block_flags(pagemap_head(p)) & PG_pages,
		    "after all that, still in use");
	memset(p, 1, 8 * PAGE);
	uslub_free_pages(p, 3);
	expect_report(reports(free_order3, p), "free_pages", p,
		      "not in use (double free or never allocated)");
	uslub_kfree(k);
}
TEST_END

/* A wrong-order free aborts by default, as other invalid frees. */
static void wrong_order_child(void *arg)
{
	(void)arg;
	uslub_free_pages(uslub_alloc_pages(0, 1), 0);
}

TEST_BEGIN(test_wrong_order_aborts)
{
	char out[512];
	int status;

	assert_d_eq(test_run_child(wrong_order_child, NULL, &status, out,
				   sizeof(out)), 0, "fork");
	expect_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
		    "SIGABRT");
	expect_str_contains(out, "free_pages: invalid pointer", "reported");
}
TEST_END

TEST_BEGIN(test_kernel_names)
{
	unsigned long a = __get_free_pages(GFP_KERNEL, 3);
	unsigned long z, one;

	expect_lu_ne(a, 0, "__get_free_pages");
	expect_lu_eq(a % (8 * PAGE), 0, "aligned");
	memset((void *)a, 0xee, 8 * PAGE);
	free_pages(a, 3);
	one = __get_free_page(GFP_KERNEL);
	expect_lu_ne(one, 0, "__get_free_page");
	memset((void *)one, 0xee, PAGE);
	free_page(one);
	z = get_zeroed_page(GFP_KERNEL);
	expect_lu_eq(z, one, "the page just freed comes back");
	for (unsigned long i = 0; i < PAGE; i++)
		if (((unsigned char *)z)[i]) {
			expect_lu_eq(i, PAGE, "get_zeroed_page: byte %lu", i);
			break;
		}
	free_page(z);
	free_pages(0, 2);			/* nothing, as the kernel */
}
TEST_END

/* Free blocks of order o in buddyinfo, summed over its region lines. */
static long buddy_free(unsigned int o)
{
	char *text = stats_text(uslub_buddyinfo_write), *p;
	long sum = 0, v = 0;
	unsigned int i;

	if (!text)
		return -1;
	for (p = text; (p = strstr(p, "region")); ) {
		p = strchr(p, ' ');
		for (i = 0; p && i <= o; i++)
			v = strtol(p, &p, 10);
		sum += v;
	}
	free(text);
	return sum;
}

TEST_BEGIN(test_stats)
{
	struct uslub_heap_stats h0, h1;
	size_t c0 = page_charged_bytes();
	void *p;
	char *m0, *m1;
	long f0, f1;

	uslub_heap_stats_get(&h0);
	m0 = stats_text(uslub_meminfo_write);
	p = uslub_alloc_pages(0, 9);
	assert_ptr_not_null(p, "order 9");
	m1 = stats_text(uslub_meminfo_write);
	expect_str_eq(m1, m0, "meminfo unchanged: pages are not Slab, as in "
		      "the kernel");
	free(m0);
	free(m1);
	uslub_heap_stats_get(&h1);
	expect_zu_eq(h1.allocated - h0.allocated, PAGE << 9,
		     "heap stats count them as allocated");
	expect_zu_eq(page_charged_bytes() - c0, PAGE << 9, "and charged");
	f0 = buddy_free(9);
	uslub_free_pages(p, 9);
	f1 = buddy_free(9);
	expect_ld_ne(f0, f1, "buddyinfo's order-9 count changes with it");
	uslub_heap_stats_get(&h1);
	expect_zu_eq(h1.allocated, h0.allocated, "freed");
}
TEST_END

int main(void)
{
	return test(test_orders_aligned, test_gfp_zero, test_invalid_frees,
		    test_wrong_order_aborts, test_kernel_names, test_stats,
		    NULL);
}
