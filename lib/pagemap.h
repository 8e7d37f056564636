/*
 * pagemap.h - L3: address -> page descriptor -> slab, in O(1).
 *
 * Inline so the free fast path pays two loads: region_table, then the
 * page's byte in the slot map.  Nothing here touches the memory at the
 * address itself.
 */
#ifndef USLUB_PAGEMAP_H
#define USLUB_PAGEMAP_H

#include "region.h"

/*
 * The entry of the region holding addr, or 0 if addr is not in any
 * region: base - (base >> PAGE_SHIFT) for the region at base (never 0:
 * no region starts at address 0), so that entry + (addr >> PAGE_SHIFT) is
 * base + the page's index, its byte in the slot map, without a mask.
 */
static __always_inline uintptr_t pagemap_entry(const void *addr)
{
	uintptr_t slot = (uintptr_t)addr >> REGION_SHIFT;

	if (unlikely(slot >= REGION_SLOTS))
		return 0;
	return READ_ONCE(region_table[slot]);
}

/* Base of the region holding addr, or 0 if addr is not in any region. */
static __always_inline uintptr_t pagemap_region(const void *addr)
{
	return pagemap_entry(addr) ? (uintptr_t)addr & ~(REGION_SIZE - 1) : 0;
}

/* Descriptor of the page holding addr inside the region at base. */
static __always_inline struct slab *pagemap_desc(uintptr_t base,
						 const void *addr)
{
	uintptr_t off = ((uintptr_t)addr >> (PAGE_SHIFT - 6)) &
			((PAGES_PER_REGION - 1) << 6);

	return (struct slab *)(base + off);
}

/* The slot map byte of the page holding addr (region.h), from the
 * region's entry (pagemap_entry). */
static __always_inline uint8_t *pagemap_slot(uintptr_t entry,
					     const void *addr)
{
	return (uint8_t *)(entry + ((uintptr_t)addr >> PAGE_SHIFT));
}

/* Descriptor of the page holding addr, or NULL if the address is foreign
 * (or inside a region's metadata, whose own descriptors hold the map). */
static inline struct slab *pagemap_lookup(const void *addr)
{
	uintptr_t base = pagemap_region(addr);

	if (!base || (uintptr_t)addr - base < REGION_META_PAGES * PAGE_SIZE)
		return NULL;
	return pagemap_desc(base, addr);
}

/* Head descriptor of the live block holding addr, or NULL. */
static inline struct slab *pagemap_head(const void *addr)
{
	struct slab *d = pagemap_lookup(addr);

	return d ? d->head : NULL;
}

/* Head descriptor of the slab holding obj, an object that a slab handed
 * out (one in a sheaf, say): in a region, past its metadata, on a live
 * slab's pages, which nothing here checks again. */
static __always_inline struct slab *slab_of_object(const void *obj)
{
	return pagemap_desc((uintptr_t)obj & ~(REGION_SIZE - 1), obj)->head;
}

/* The first byte of the pages that descriptor d describes. */
static __always_inline void *page_address(const struct slab *d)
{
	uintptr_t base = (uintptr_t)d & ~(REGION_SIZE - 1);
	uintptr_t idx = ((uintptr_t)d - base) / sizeof(struct slab);

	return (void *)(base + (idx << PAGE_SHIFT));
}

static inline unsigned long page_index(const struct slab *d)
{
	uintptr_t base = (uintptr_t)d & ~(REGION_SIZE - 1);

	return ((uintptr_t)d - base) / sizeof(struct slab);
}

#endif /* USLUB_PAGEMAP_H */
