/*
 * kmalloc.h - L5: size classes and the kmalloc caches; large blocks from
 * the buddy allocator; huge blocks in their own mappings.
 *
 * Classes keep the kernel's names (kmalloc-8 ... kmalloc-8k) with finer
 * classes in between, four per doubling above 64 bytes, so internal waste
 * stays under 20% there; above the kernel's largest (8 KiB), classes go on
 * to kmalloc-32k, so that buffers of 8-32 KiB take the sheaves' fast paths
 * instead of the buddy allocator.  kmalloc_slot_off(size) gives the byte
 * offset of the class's cpu slot in struct thread_cache: one load from
 * a table, no loop.
 */
#ifndef USLUB_KMALLOC_H
#define USLUB_KMALLOC_H

#include "types.h"
#include "debug_large.h"
#include "pagemap.h"

#define ZERO_SIZE_PTR		((void *)16)
#define KMALLOC_MAX_SIZE	((size_t)1 << 46)	/* beyond: ENOMEM */

extern struct uslub_cache kmalloc_caches[NR_KMALLOC];

/*
 * Sizes up to KMALLOC_DIRECT_MAX, the most frequent, index
 * kmalloc_direct_off by the size itself (2.3 KiB), which saves the fast
 * paths a subtract and a shift.  Entry 0 is slot 0, whose main sheaf is
 * always empty: size 0 takes the slow path.  It reaches 1152, not 1024,
 * for the class at 1088 between them.
 */
#define KMALLOC_DIRECT_MAX	1152
extern uint16_t kmalloc_direct_off[KMALLOC_DIRECT_MAX + 1];

/*
 * Above KMALLOC_DIRECT_MAX every class is a multiple of 128 bytes, so
 * kmalloc_big_off[(size - 1) >> KMALLOC_BIG_SHIFT] (512 bytes of table)
 * finds the class.  An 8-byte step (8 KiB of table) missed the L1 cache
 * on 0.14 of the allocations of blocks of 8 B..32 KiB replaced at random
 * (callgrind's cache simulation, pattern ring32k).
 */
#define KMALLOC_BIG_SHIFT	7
extern uint16_t kmalloc_big_off[SMALL_MAX >> KMALLOC_BIG_SHIFT];

/* The byte offset in struct thread_cache of the slot of size's class
 * (0 for size 0), or -1 above SMALL_MAX. */
static __always_inline long kmalloc_slot_off(size_t size)
{
	if (likely(size <= KMALLOC_DIRECT_MAX))
		return kmalloc_direct_off[size];
	if (likely(size <= SMALL_MAX))
		return kmalloc_big_off[(size - 1) >> KMALLOC_BIG_SHIFT];
	return -1;
}
/* Some kmalloc cache keeps the size asked for (USLUB_DEBUG with Z):
 * realloc in place must tell it (kmalloc_debug_resize).  Set by init. */
extern bool kmalloc_sizes_kept;

void kmalloc_init(void);
/* The class index (1..NR_KMALLOC-1) for 1 <= size <= SMALL_MAX. */
unsigned int kmalloc_index(size_t size);
size_t kmalloc_class_size(unsigned int idx);
/* The size kmalloc(size) really provides. */
size_t kmalloc_size_roundup(size_t size);

void *kmalloc_slow(size_t size, uslub_gfp_t gfp, uintptr_t caller);
void kfree_slow(const void *p);
size_t kmalloc_ksize(const void *p);
/* ksize, reporting a bad pointer under func's name. */
size_t kmalloc_ksize_checked(const char *func, const void *p);
/* realloc or krealloc keeps p, an allocated block, for size bytes (no
 * more than its ksize): where p's cache keeps the size asked for (a
 * debug kmalloc cache), the red zone moves to size. */
void kmalloc_debug_resize(void *p, size_t size);

static inline void *kmalloc_keep(void *p, size_t size)
{
	if (unlikely(kmalloc_sizes_kept))
		kmalloc_debug_resize(p, size);
	return p;
}
/* size bytes aligned to align (power of two, <= 2^32); NULL + ENOMEM. */
void *kmalloc_aligned(size_t size, size_t align, uslub_gfp_t gfp);
/* Grow or shrink a huge block in place or by moving its pages; NULL if p
 * is not a huge block or the kernel refuses (p unchanged). */
void *kmalloc_huge_resize(void *p, size_t size);
/* The descriptor of the large block that starts at p, which lies in a
 * region (pagemap_entry(p) is not 0); NULL if p is anything else, or
 * while large blocks are debugged (debug_large.c keeps their sizes).
 * realloc's one lookup, inline for its fast path. */
static __always_inline struct slab *kmalloc_large_head(const void *p)
{
	uintptr_t base = (uintptr_t)p & ~(REGION_SIZE - 1);
	struct slab *d;

	if (((uintptr_t)p & (PAGE_SIZE - 1)) || debug_large_on ||
	    (uintptr_t)p - base < REGION_META_PAGES * PAGE_SIZE)
		return NULL;
	d = pagemap_desc(base, p);
	if (READ_ONCE(d->head) != d || !(block_flags(d) & PG_large))
		return NULL;
	return d;
}
/* Grow the large block at head in place to hold size bytes; false,
 * changing nothing, if the pages above it are not free. */
bool kmalloc_large_grow(struct slab *head, size_t size);
/* A large block for size bytes that realloc moves a growing block into,
 * a page at least: placed with free buddies above it, so that later
 * growth stays in place (page_alloc_how's PAGE_GROW).  NULL (errno
 * ENOMEM) on failure or if size is above the largest order. */
void *kmalloc_large_for_growth(size_t size);
/* Shrink the large block at head in place to hold size bytes (more than
 * the largest class), giving the tail back; false if it cannot. */
bool kmalloc_large_shrink(struct slab *head, size_t size);
/* Unmap every kept huge range (malloc_trim, reclaim); the bytes kept. */
size_t kmalloc_huge_trim(void);
size_t kmalloc_huge_kept_bytes(void);
struct thread_cache;
/* Fold an exiting thread's large-block count into the global one. */
void kmalloc_thread_exit_locked(struct thread_cache *tc);

extern struct lock huge_lock;	/* the fork protocol takes it */

/* Bytes in large blocks and huge mappings (meminfo), and their counts. */
void kmalloc_large_stats(unsigned long *large_bytes, unsigned long *huge_bytes,
			 unsigned long *nr_huge);

/* The head of the live block holding p, if it is of a kind in want
 * (PG_slab, PG_large); otherwise NULL after reporting what p is. */
struct slab *kmalloc_block_of(const char *func, const void *p, uint32_t want);

/* Give the large or huge block at p (a block start) back for real: the
 * end of a free that debug_large.c checked or quarantined. */
void kmalloc_large_release(void *p);

/* Reports a pointer uslub cannot free; aborts when abort_on_error. */
void kmalloc_report_invalid(const char *func, const void *p, const char *what);

#endif /* USLUB_KMALLOC_H */
