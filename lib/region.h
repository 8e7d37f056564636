/*
 * region.h - L3: huge mmap regions and the flat table that finds them.
 *
 * A region is 1 GiB of address space, 1 GiB aligned, committed on first
 * touch.  Its first REGION_META_PAGES pages hold the page descriptors of the
 * whole region (struct slab, 64 bytes per 4 KiB page); the rest is handed to
 * the buddy allocator.  The descriptors of the metadata pages themselves
 * are never used: their first 256 KiB hold the slot map instead, one byte
 * per page of the region, the thread-state slot of the cache whose slab
 * holds the page (0: none), so the free fast path reads one byte from a
 * line shared by 64 pages rather than a descriptor line per page.
 * region_table[addr >> 30] is 0 or the region's entry (pagemap.h), so any
 * address is classified as ours or foreign with one load and without
 * touching the address itself (DESIGN.md invariant 3).
 */
#ifndef USLUB_REGION_H
#define USLUB_REGION_H

#include "types.h"

#define REGION_META_PAGES	(PAGES_PER_REGION * sizeof(struct slab) / PAGE_SIZE)
#define MAX_REGIONS		4096			/* 4 TiB of heap */

_Static_assert(PAGES_PER_REGION <= REGION_META_PAGES * sizeof(struct slab),
	       "the slot map fits in the metadata pages' own descriptors");
_Static_assert(NR_CPU_SLOTS <= 256, "a slot index fits the map's bytes");

#define TOPS_PER_REGION		(PAGES_PER_REGION >> MAX_ORDER)

struct region {
	uintptr_t base;
	unsigned long fresh;	/* first page index never given to the buddy;
				 * under page_lock */
	/* bit i: the top-order block at page i << MAX_ORDER is free, purged
	 * and parked off the free lists (page_alloc.c); under page_lock */
	uint64_t parked[TOPS_PER_REGION / 64];
};

extern uintptr_t region_table[REGION_SLOTS];

/* region_table's entry for the region at base (pagemap_entry). */
static inline uintptr_t region_entry(uintptr_t base)
{
	return base - (base >> PAGE_SHIFT);
}

/* Maps a new region; NULL when the OS refuses.  Caller holds page_lock. */
struct region *region_create(void);
unsigned int region_count(void);
struct region *region_get(unsigned int i);

#endif /* USLUB_REGION_H */
