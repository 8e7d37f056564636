/*
 * Unit tests for USLUB_OPTIONS=page_owner=1 (lib/page_owner.c,
 * uslub_page_owner_write): one record per slab of a cache, with the
 * slab's order, the cache's name and the function that allocated (this
 * file's own functions, found through -rdynamic); large kmalloc blocks
 * and page blocks recorded as such; records gone once the blocks are
 * freed; EINVAL while the option is off.  main() turns the option on
 * before anything is allocated from uslub.
 */
#include "test.h"
#include "slabinfo_row.h"

#include "options.h"
#include "types.h"
#include "uslub.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

/* Called through these names, which the records must show. */
__attribute__((noinline)) void *po_alloc_from_cache(struct uslub_cache *s)
{
	void *p = uslub_cache_alloc(s, 0);

	__asm__ volatile("" ::: "memory");	/* not a tail call */
	return p;
}

__attribute__((noinline)) void *po_alloc_large(size_t size)
{
	void *p = uslub_kmalloc(size, 0);

	__asm__ volatile("" ::: "memory");
	return p;
}

__attribute__((noinline)) void *po_alloc_pages(unsigned int order)
{
	void *p = uslub_alloc_pages(0, order);

	__asm__ volatile("" ::: "memory");
	return p;
}

/* Records (blank-line separated) that contain every one of the strings
 * a, b, c (NULL: any); each record must start with the header line. */
static unsigned int count_records(const char *text, const char *a,
				  const char *b, const char *c)
{
	const char *rec = text, *end;
	unsigned int n = 0;
	char buf[4096];

	while (rec && *rec) {
		size_t len;

		end = strstr(rec, "\n\n");
		len = end ? (size_t)(end - rec) + 1 : strlen(rec);
		len = len < sizeof(buf) - 1 ? len : sizeof(buf) - 1;
		memcpy(buf, rec, len);
		buf[len] = '\0';
		expect_true(strncmp(buf, "Page allocated via order ", 25) == 0,
			    "a record starts with its header: %.60s", buf);
		if ((!a || strstr(buf, a)) && (!b || strstr(buf, b)) &&
		    (!c || strstr(buf, c)))
			n++;
		rec = end ? end + 2 : NULL;
	}
	return n;
}

TEST_BEGIN(test_slabs_recorded)
{
	struct uslub_cache *s = uslub_cache_create("po_cache", 1000, 0, 0, NULL);
	const struct uslub_cache *cs = s;
	char order[64], *text;
	unsigned int i, n;
	void **obj;

	assert_ptr_not_null(s, "cache");
	n = 2 * cs->objects;			/* exactly two slabs */
	obj = calloc(n, sizeof(*obj));
	for (i = 0; i < n; i++)
		obj[i] = po_alloc_from_cache(s);
	expect_lu_eq(cs->nr_slabs, 2, "two slabs");
	text = stats_text(uslub_page_owner_write);
	assert_ptr_not_null(text, "page_owner text");
	snprintf(order, sizeof(order), "Page allocated via order %u, pid %d, tid",
		 cs->order, (int)getpid());
	expect_u_eq(count_records(text, "cache po_cache ", NULL, NULL), 2,
		    "one record per slab");
	expect_u_eq(count_records(text, "cache po_cache ", order,
				  "\n po_alloc_from_cache+0x"), 2,
		    "each with the order, pid and the allocating function");
	expect_u_eq(count_records(text, "type slab cache po_cache Flags 0x1(slab|head)",
				  " ns\nAddr 0x", NULL), 2,
		    "the address line names the cache");
	free(text);
	for (i = 0; i < n; i++)
		uslub_cache_free(s, obj[i]);
	expect_d_eq(uslub_cache_shrink(s), 0, "every slab freed");
	text = stats_text(uslub_page_owner_write);
	assert_ptr_not_null(text, "page_owner text");
	expect_u_eq(count_records(text, "po_cache", NULL, NULL), 0,
		    "freeing the slabs removed their records");
	/* What the first allocation also did, a page of the sheaf pool
	 * for this thread's slot, stays: it is an internal block. */
	expect_u_eq(count_records(text, "po_alloc_from_cache", NULL, NULL),
		    count_records(text, "po_alloc_from_cache", "type internal",
				  NULL),
		    "all of them, but for the sheaf pool's page");
	free(text);
	free(obj);
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

TEST_BEGIN(test_large_and_pages_recorded)
{
	void *l = po_alloc_large(60000), *p = po_alloc_pages(5);
	char *text, addr[64];

	assert_ptr_not_null(l, "large");
	assert_ptr_not_null(p, "pages");
	text = stats_text(uslub_page_owner_write);
	assert_ptr_not_null(text, "page_owner text");
	snprintf(addr, sizeof(addr), "Addr %p pages 16 type large", l);
	expect_u_eq(count_records(text, "Page allocated via order 4,", addr,
				  "\n po_alloc_large+0x"), 1,
		    "the large block: order 4, its address, its caller");
	snprintf(addr, sizeof(addr), "Addr %p pages 32 type pages", p);
	expect_u_eq(count_records(text, "Page allocated via order 5,", addr,
				  "\n po_alloc_pages+0x"), 1,
		    "the page block: order 5, its address, its caller");
	free(text);
	uslub_kfree(l);
	uslub_free_pages(p, 5);
	text = stats_text(uslub_page_owner_write);
	assert_ptr_not_null(text, "page_owner text");
	expect_u_eq(count_records(text, "po_alloc_large", NULL, NULL), 0,
		    "the large block's record is gone");
	expect_u_eq(count_records(text, "po_alloc_pages", NULL, NULL), 0,
		    "the page block's record is gone");
	free(text);
}
TEST_END

TEST_BEGIN(test_off)
{
	uslub_opt.page_owner = false;
	errno = 0;
	expect_d_eq(uslub_page_owner_write(1), -1, "off: -1");
	expect_d_eq(errno, EINVAL, "EINVAL, as the kernel's read_page_owner");
	uslub_opt.page_owner = true;
}
TEST_END

int main(void)
{
	uslub_opt.page_owner = true;
	return test(test_slabs_recorded, test_large_and_pages_recorded,
		    test_off, NULL);
}
