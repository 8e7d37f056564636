/*
 * region.c - L3: creating regions and publishing them in region_table.
 *
 * Regions are never unmapped: their free pages go back to the OS through
 * page_alloc's purge, and keeping the address space keeps every descriptor
 * lookup valid without synchronisation.  Called with page_lock held.
 */
#include "region.h"
#include "options.h"
#include "os.h"

uintptr_t region_table[REGION_SLOTS];

static struct region regions[MAX_REGIONS];
static unsigned int nr_regions;		/* under page_lock; read racily by stats */

struct region *region_create(void)
{
	struct region *r;
	void *base;

	if (nr_regions == MAX_REGIONS)
		return NULL;
	base = os_reserve_aligned(REGION_SIZE, REGION_SIZE);
	if (!base)
		return NULL;
	if ((uintptr_t)base >> ADDR_BITS) {	/* 5-level paging gave us more */
		os_unmap(base, REGION_SIZE);
		return NULL;
	}
	if (uslub_opt.thp >= 0)		/* USLUB_OPTIONS=thp=0|1 */
		os_hugepages(base, REGION_SIZE, uslub_opt.thp);
	r = &regions[nr_regions];
	r->base = (uintptr_t)base;
	r->fresh = REGION_META_PAGES;
	store_release(region_table[r->base >> REGION_SHIFT],
		      region_entry(r->base));
	store_release(nr_regions, nr_regions + 1);
	return r;
}

unsigned int region_count(void)
{
	return load_acquire(nr_regions);
}

struct region *region_get(unsigned int i)
{
	return &regions[i];
}
