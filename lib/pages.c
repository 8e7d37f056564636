/*
 * pages.c - L5: uslub_alloc_pages / uslub_free_pages (pages.h).
 *
 * A block comes from page_alloc like a large kmalloc block, but its head
 * says PG_pages: kfree, ksize, realloc and cache frees report it as
 * invalid (kmalloc_block_of), as the kernel warns when kfree meets pages
 * that kmalloc did not hand out; and uslub_free_pages checks that it is
 * given the start of such a block with the order it was allocated with,
 * so a wrong order is reported instead of splitting or merging buddies.
 */
#include <errno.h>
#include <string.h>

#include "pages.h"
#include "alloc.h"
#include "init.h"
#include "kmalloc.h"
#include "log.h"

static long page_blocks_bytes;		/* atomic */

void *pages_alloc(uslub_gfp_t gfp, unsigned int order)
{
	struct thread_cache *tc;
	struct slab *b;

	if (order > MAX_ORDER) {
		errno = EINVAL;
		return NULL;
	}
	init_ensure();
	tc = thread_cache_get();
	b = page_alloc(tc ? &tc->pcache : NULL, order);
	if (!b) {
		errno = ENOMEM;
		return NULL;
	}
	page_prep_block(b, order, 0);
	block_set_flags(b, PG_pages);
	atomic_add(page_blocks_bytes, (long)(PAGE_SIZE << order));
	if (gfp & USLUB_GFP_ZERO)	/* recycled pages are not zero */
		memset(page_address(b), 0, PAGE_SIZE << order);
	return page_address(b);
}

/* Why addr, whose head descriptor is head (or NULL), is no block to free. */
static const char *not_pages(const struct slab *head)
{
	uint32_t flags = head ? block_flags(head) : 0;

	if (flags & PG_slab)
		return "a cache object, not a block of pages (use kfree)";
	if (flags & PG_large)
		return "a large kmalloc block, not a block of pages (use kfree)";
	return "not in use (double free or never allocated)";
}

void pages_free(const char *func, void *addr, unsigned int order)
{
	struct slab *d, *head;
	struct thread_cache *tc;
	char what[96];

	if (!addr)
		return;
	d = pagemap_lookup(addr);
	if (!d) {
		kmalloc_report_invalid(func, addr,
				       "not a block of pages from uslub");
		return;
	}
	head = page_block_head(d);
	if (!head || !(block_flags(head) & PG_pages)) {
		kmalloc_report_invalid(func, addr, not_pages(head));
		return;
	}
	if (addr != page_address(head)) {
		kmalloc_report_invalid(func, addr,
				       "inside a block of pages, not its start");
		return;
	}
	if (head->order != order) {
		log_format(what, sizeof(what), "freed with order %u, "
			   "allocated with order %u", order, head->order);
		kmalloc_report_invalid(func, addr, what);
		return;
	}
	tc = thread_cache_for_free();
	atomic_add(page_blocks_bytes, -(long)(PAGE_SIZE << order));
	page_free(tc ? &tc->pcache : NULL, head, order);
}

unsigned long pages_bytes(void)
{
	long n = READ_ONCE(page_blocks_bytes);

	return n > 0 ? (unsigned long)n : 0;
}
