/*
 * region.h - L3: huge mmap regions and the flat table that finds them.
 *
 * A region is 1 GiB of address space, 1 GiB aligned, committed on first
 * touch.  Its first REGION_META_PAGES pages hold the page descriptors of the
 * whole region (struct slab, 64 bytes per 4 KiB page); the rest is handed to
 * the buddy allocator.  region_table[addr >> 30] is the region's base or 0,
 * so any address is classified as ours or foreign with one load and without
 * touching the address itself (DESIGN.md invariant 3).
 */
#ifndef USLUB_REGION_H
#define USLUB_REGION_H

#include "types.h"

#define REGION_META_PAGES	(PAGES_PER_REGION * sizeof(struct slab) / PAGE_SIZE)
#define MAX_REGIONS		4096			/* 4 TiB of heap */

struct region {
	uintptr_t base;
	unsigned long fresh;	/* first page index never given to the buddy;
				 * under page_lock */
};

extern uintptr_t region_table[REGION_SLOTS];

/* Maps a new region; NULL when the OS refuses.  Caller holds page_lock. */
struct region *region_create(void);
unsigned int region_count(void);
struct region *region_get(unsigned int i);

#endif /* USLUB_REGION_H */
