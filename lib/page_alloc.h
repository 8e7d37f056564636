/*
 * page_alloc.h - L3: the buddy allocator of 4 KiB pages, orders 0..MAX_ORDER.
 *
 * Blocks are named by their head descriptor.  page_alloc() returns a block
 * whose descriptors are clear; page_prep_block() stamps every page with its
 * head (and kmalloc cpu slot) so that pagemap_head() finds the block from any
 * interior address; page_free() clears them again, so a stale pointer into
 * a freed block is never taken for a live one.  A large kmalloc block
 * (PG_large) stamps its head page alone: nothing but an error report looks
 * inside one, and stamping a 4 MiB block wrote 1024 descriptor lines on
 * each malloc and each free (page_block_head finds it from inside).
 *
 * Each thread keeps a few small blocks in its struct page_cache, so slab
 * allocation does not take page_lock every time.  Free blocks go back to the
 * OS (MADV_DONTNEED) after decay_ms, and at once on page_purge(true).
 */
#ifndef USLUB_PAGE_ALLOC_H
#define USLUB_PAGE_ALLOC_H

#include "types.h"

#define PCACHE_ORDERS	4		/* orders 0..3 are cached per thread */
/* Up to 8 blocks of each cached order per thread (480 KiB at most): with
 * fewer, two threads replacing 8-32 KiB blocks took page_lock on most
 * calls.  A refill takes PCACHE_MAX / 2 + 1; a full cache spills half. */
#define PCACHE_MAX	8
#define PCACHE_POOL_CLASSES	5

struct page_cache {
	unsigned int count[PCACHE_ORDERS];		/* owner thread only */
	struct slab *blocks[PCACHE_ORDERS][PCACHE_MAX];	/* owner thread only */
	/* The growth reservation (page_grow_lend), owner thread only: a
	 * block of 2^grow_order pages taken from the buddy allocator, or
	 * NULL; grow_lent is the order of the large block lent at its start,
	 * GROW_NONE while none is. */
	struct slab *grow;
	uint8_t grow_order;
	uint8_t grow_lent;
	/* The pages this thread carves sheaves from, one per sheaf size
	 * (sheaf.c's pool), owner thread only; NULL: none yet */
	struct slab *pool[PCACHE_POOL_CLASSES];
	/* bytes of objects on the shelves of this thread's kmalloc slots
	 * (sheaf.c, SHELF_THREAD_BYTES), owner thread only */
	unsigned long shelved;
	/* The block of sheaf.c's flushes of several sheaves at once
	 * (slab.h, struct flush_scratch), owner thread only; NULL: none */
	struct slab *flush_scratch;
};

#define GROW_NONE	0xff

extern struct lock page_lock;

/* A block of 2^order pages, or NULL when the OS refuses memory or the
 * limit would be passed (after one reclaim where page_reclaim allows).
 * pc may be NULL (no thread cache). */
struct slab *page_alloc(struct page_cache *pc, unsigned int order);
/*
 * page_alloc that says in *zero whether every page of the block is zero
 * (fresh from the OS or purged since its last use), so calloc need not
 * clear it.  how: PAGE_GROW places the block at the lower end of a free
 * block PAGE_GROW_ORDERS orders above it, and of PAGE_GROW_MIN_ORDER at
 * least (or MAX_ORDER), where there is one, leaving its upper buddies free
 * for page_extend (realloc's growth: a buffer that moved to a page at
 * 4 KiB doubles to 1 MiB in place); it bypasses the thread's page cache,
 * whose blocks have no free buddies.
 */
#define PAGE_GROW		0x1u
#define PAGE_GROW_ORDERS	4
#define PAGE_GROW_MIN_ORDER	8
struct slab *page_alloc_how(struct page_cache *pc, unsigned int order,
			    unsigned int how, bool *zero);
void page_free(struct page_cache *pc, struct slab *head, unsigned int order);
/* Mark every page of the block as belonging to head (kmalloc slot at
 * byte offset cpu_off of struct thread_cache, or 0). */
void page_prep_block(struct slab *head, unsigned int order, uint16_t cpu_off);
/* Mark page idx of the block at head with the slot at cpu_off (a block
 * made with cpu_off 0 whose slot is on some pages only: slab.h,
 * slab_colour). */
void page_mark_slot(struct slab *head, unsigned long idx, uint16_t cpu_off);
/* The head of the allocated block holding the page of descriptor d: d's
 * head, else the large block whose head page alone is stamped and whose
 * pages include d's; NULL if d's page is free.  For error reports (it
 * reads up to MAX_ORDER descriptors without a lock). */
struct slab *page_block_head(struct slab *d);
/* Grow an allocated block in place by absorbing free upper buddies; false,
 * changing nothing, if one of them is not free. */
bool page_extend(struct slab *head, unsigned int order, unsigned int new_order);
/* Shrink an allocated large block in place to new_order; its upper
 * halves become free blocks. */
void page_shrink(struct slab *head, unsigned int order, unsigned int new_order);
/*
 * realloc's growth without page_lock.  A thread that moves a growing block
 * to pages takes a reservation, a block of 2^PAGE_GROW_MIN_ORDER pages at
 * least (PAGE_GROW_ORDERS above the order asked for), and lends the
 * growing block from its start: the doublings that follow extend it in
 * place inside the reservation, and its free hands it back, with no lock
 * and no charge (the reservation was charged whole).  One block is lent
 * at a time: while it lives, another growing block takes the PAGE_GROW
 * path (several buffers grown in turn keep their places; handing the
 * reservation on at each new buffer took 67 thousand page faults where
 * 3 thousand do).
 *
 * page_grow_lend: a block of 2^order pages at the reservation's start
 * (head pointer clear: the caller stamps it), or NULL.  page_grow_extend:
 * true if head is the lent block and new_order fits the reservation (its
 * order is set); if head is the lent block but does not fit, the
 * reservation is released first (head keeps its pages) and false lets
 * the caller try page_extend.  page_grow_free: true if head was the lent
 * block, now back in the reservation (page_free calls it).
 * page_grow_release: the reservation back to the buddy allocator, all of
 * it, or its part above a block still lent (page_cache_drain calls it).
 * A lent block freed or shrunk by another thread stays theirs: the
 * reservation keeps only what lies above the order it lent.
 */
struct slab *page_grow_lend(struct page_cache *pc, unsigned int order);
bool page_grow_extend(struct page_cache *pc, struct slab *head,
		      unsigned int new_order);
bool page_grow_free(struct page_cache *pc, struct slab *head);
void page_grow_release(struct page_cache *pc);
/* head is the block pc's reservation lends: a live large block at its
 * start of the order it lent.  (Freed by another thread, that block's
 * pages may come back as anything -- a slab, another large block -- and
 * only a large block of that order may be taken for it.) */
static inline bool page_grow_lent(const struct page_cache *pc,
				  const struct slab *head)
{
	return pc && pc->grow == head &&
	       pc->grow_lent == READ_ONCE(head->order) &&
	       READ_ONCE(head->head) == head &&
	       (block_flags(head) & PG_large);
}

/* Return a thread's cached blocks to the buddy allocator. */
void page_cache_drain(struct page_cache *pc);

/*
 * USLUB_OPTIONS=limit=: bytes uslub holds from the OS are every page out
 * of the free areas plus huge mappings.  page_charge adds bytes, or
 * returns false, changing nothing, when that would pass the limit;
 * page_uncharge takes them off.  page_alloc and page_extend charge
 * themselves; kmalloc.c charges its huge mappings.
 */
bool page_charge(size_t bytes);
void page_uncharge(size_t bytes);
size_t page_charged_bytes(void);
size_t page_limit_room(void);		/* bytes left; SIZE_MAX without */
/* Reclaim for about bytes (shrink.c's reclaim_for_allocation, set by
 * init); page_reclaim calls it when the calling thread holds no lock of
 * uslub and says whether it did, so the caller retries once. */
extern size_t (*page_reclaim_hook)(size_t bytes);
/* Decay of memory kept above the page layer (kmalloc's kept huge ranges),
 * run after page traffic by a thread that holds no lock of uslub; grown:
 * bytes the buddy allocator carved from the regions since, which as much
 * kept memory should make way for. */
extern void (*page_decay_hook)(size_t grown);
bool page_reclaim(size_t bytes);

/* Give free pages back to the OS: all dirty ones, or those older than the
 * decay.  Returns the bytes given back. */
size_t page_purge(bool all);
void page_set_decay_ms(unsigned long ms);
unsigned long page_decay_ms(void);
/* Memory given back elsewhere (kmalloc's kept huge mappings) counts in
 * page_stats.purged_bytes, which reclaim reads. */
void page_count_purged(size_t bytes);

struct page_stats {
	unsigned long free[NR_ORDERS];	/* free blocks per order */
	unsigned long free_pages;	/* pages in free blocks */
	unsigned long dirty_pages;	/* of those, possibly resident */
	unsigned long used_pages;	/* pages handed out (slabs, large) */
	unsigned long purged_bytes;	/* given back to the OS, ever */
};
/* Totals, or one region's free counts when region >= 0. */
void page_get_stats(struct page_stats *st, int region);

/* Buddy internals exposed for the unit tests. */
bool page_block_is_free(const struct slab *head, unsigned int *order);

#endif /* USLUB_PAGE_ALLOC_H */
