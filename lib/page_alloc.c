/*
 * page_alloc.c - L3: buddy allocator, per-thread page cache, decay purge.
 *
 * page_lock protects free_area[], the dirty FIFO, every free block's head
 * descriptor, region creation and the counters below.  It is the innermost
 * lock of uslub: nothing is called with it held except os_* and region_*.
 *
 * A free block is PG_buddy on its head descriptor, on free_area[order], and
 * if its pages may still be resident, PG_dirty and on the dirty FIFO (oldest
 * first).  Purging madvises the oldest dirty blocks under page_lock, so no
 * one can be handed a block while its pages are being discarded.
 *
 * The limit (USLUB_OPTIONS=limit=) is charged here: page_charge counts
 * every page out of the free areas (slabs, large and page blocks, thread
 * states, blocks in thread page caches) plus huge mappings (kmalloc.c),
 * not free pages, purged or not.  An allocation that would pass it, or
 * that the OS refuses, runs page_reclaim_hook (shrink.c's reclaim) once
 * and retries, but only from a thread that holds no lock of uslub.
 */
#include <string.h>

#include "page_alloc.h"
#include "page_owner.h"
#include "options.h"
#include "pagemap.h"
#include "region.h"
#include "os.h"
#include "assert.h"

struct lock page_lock = LOCK_INITIALIZER;

#define HPAGE_ORDER		9		/* a 2 MiB transparent huge page */

static struct list_head free_area[NR_ORDERS];	/* under page_lock */
static struct list_head dirty_fifo;		/* under page_lock */
static bool areas_ready;			/* under page_lock */
static unsigned long nr_free[NR_ORDERS];	/* under page_lock */
static unsigned long dirty_pages;		/* under page_lock */
static unsigned long dirty_small;		/* under page_lock: of those, in
						   blocks under HPAGE_ORDER */
static unsigned long used_pages;		/* under page_lock (racy reads) */
static unsigned long purged_bytes;		/* under page_lock */
static unsigned long decay_ms = 250;
static uint64_t next_purge;			/* under page_lock */
static unsigned long charged;			/* atomic: page_charge */
size_t (*page_reclaim_hook)(size_t bytes);	/* set once by init */
void (*page_decay_hook)(size_t grown);		/* set once by kmalloc_init */
static unsigned long grown_bytes;		/* atomic: carved from the
						   regions since the hook ran */


static void areas_init_locked(void)
{
	unsigned int o;

	for (o = 0; o < NR_ORDERS; o++)
		list_init(&free_area[o]);
	list_init(&dirty_fifo);
	areas_ready = true;
}

/* ---- Free lists ------------------------------------------------------ */

/* A free block; if dirty, its FIFO entry goes after fifo_pos (the tail
 * when NULL), keeping the FIFO ordered by free_time. */
static void block_insert_locked(struct slab *b, unsigned int order,
				bool dirty, uint64_t when,
				struct list_head *fifo_pos)
{
	block_set_flags(b, PG_buddy | (dirty ? PG_dirty : 0));
	WRITE_ONCE(b->order, (uint8_t)order);
	if (dirty)		/* resident blocks first (buddy_alloc_locked) */
		list_add(&b->slab_list, &free_area[order]);
	else
		list_add_tail(&b->slab_list, &free_area[order]);
	nr_free[order]++;
	if (dirty) {
		WRITE_ONCE(b->free_time, when);
		if (fifo_pos)
			list_add(&b->dirty_link, fifo_pos);
		else
			list_add_tail(&b->dirty_link, &dirty_fifo);
		dirty_pages += 1UL << order;
		if (order < HPAGE_ORDER)
			dirty_small += 1UL << order;
	}
}

static void block_remove_locked(struct slab *b)
{
	list_del(&b->slab_list);
	nr_free[b->order]--;
	if (block_flags(b) & PG_dirty) {
		list_del(&b->dirty_link);
		dirty_pages -= 1UL << b->order;
		if (b->order < HPAGE_ORDER)
			dirty_small -= 1UL << b->order;
	}
	block_set_flags(b, 0);
}

/* Buddy of the block at page index idx, if it is free and of that order. */
static struct slab *free_buddy(struct slab *desc0, unsigned long idx,
			       unsigned int order)
{
	unsigned long bidx = idx ^ (1UL << order);
	struct slab *b = desc0 + bidx;

	if (bidx < REGION_META_PAGES)
		return NULL;
	if (!(block_flags(b) & PG_buddy) || b->order != order)
		return NULL;
	return b;
}

static void buddy_free_locked(struct slab *head, unsigned int order,
			      uint64_t now)
{
	unsigned long idx = page_index(head);
	struct slab *desc0 = head - idx, *b;

	while (order < MAX_ORDER && (b = free_buddy(desc0, idx, order))) {
		block_remove_locked(b);
		idx &= ~(1UL << order);
		order++;
	}
	/* A freed block is dirty; merging makes the whole result dirty (a
	 * purged neighbour's pages are discarded again, which is harmless). */
	block_insert_locked(desc0 + idx, order, true, now, NULL);
}

/* Carve a fresh top-order block out of the newest region with room. */
static bool buddy_grow_locked(void)
{
	unsigned int n = region_count();
	struct region *r = n ? region_get(n - 1) : NULL;
	struct slab *b;

	if (!r || r->fresh + (1UL << MAX_ORDER) > PAGES_PER_REGION) {
		r = region_create();
		if (!r)
			return false;
	}
	b = (struct slab *)r->base + r->fresh;
	r->fresh += 1UL << MAX_ORDER;
	block_insert_locked(b, MAX_ORDER, false, 0, NULL);
	atomic_add(grown_bytes, PAGE_SIZE << MAX_ORDER);
	return true;
}

static bool unpark_locked(void);

/* The first order from..MAX_ORDER with a free block (dirty ones if
 * dirty), or NR_ORDERS.  Dirty blocks head their lists. */
static unsigned int first_order_locked(unsigned int from, bool dirty)
{
	unsigned int o;

	for (o = from; o <= MAX_ORDER; o++) {
		if (list_empty(&free_area[o]))
			continue;
		if (!dirty || (block_flags(list_first_entry(&free_area[o],
				struct slab, slab_list)) & PG_dirty))
			return o;
	}
	return NR_ORDERS;
}

/*
 * A block of 2^order pages, the lower end of a free block (the upper
 * halves go back to the free areas).  Resident memory first: the smallest
 * dirty block that holds it, else the smallest purged one, else a new
 * top-order block; tcmalloc's page heap likewise prefers spans not yet
 * returned to the OS.  With PAGE_GROW the block must sit at the lower
 * end of a free block PAGE_GROW_ORDERS orders bigger (PAGE_GROW_MIN_ORDER
 * at least) where there is one, so that its upper buddies stay free and
 * realloc can grow it in place (page_extend).  *zero: every page of
 * it is zero (fresh from the region, or purged since it was last used).
 */
static struct slab *buddy_alloc_locked(unsigned int order, unsigned int how,
				       bool *zero)
{
	unsigned int lo = order, o;
	struct list_head *fifo_pos = NULL;
	struct slab *b;
	bool dirty;
	uint64_t when;

	if (how & PAGE_GROW)
		lo = MIN(MAX(order + PAGE_GROW_ORDERS, PAGE_GROW_MIN_ORDER),
			 MAX_ORDER);
	o = first_order_locked(lo, true);
	if (o > MAX_ORDER)
		o = first_order_locked(lo, false);
	if (o > MAX_ORDER && unpark_locked())
		o = MAX_ORDER;
	if (o > MAX_ORDER && lo > order) {	/* no room: any fit */
		o = first_order_locked(order, true);
		if (o > MAX_ORDER)
			o = first_order_locked(order, false);
	}
	if (o > MAX_ORDER) {
		if (!buddy_grow_locked())
			return NULL;
		o = MAX_ORDER;
	}
	b = list_first_entry(&free_area[o], struct slab, slab_list);
	dirty = block_flags(b) & PG_dirty;
	when = b->free_time;
	if (dirty)			/* the halves take the parent's place */
		fifo_pos = b->dirty_link.prev;
	block_remove_locked(b);
	while (o > order) {		/* split: give back the upper halves */
		o--;
		block_insert_locked(b + (1UL << o), o, dirty, when, fifo_pos);
	}
	WRITE_ONCE(b->order, (uint8_t)order);
	used_pages += 1UL << order;
	*zero = !dirty;
	return b;
}

/* ---- Purge ----------------------------------------------------------- */

/*
 * Dirty pages above this are purged at once, oldest first, whatever their
 * age: a program that frees most of its heap and then idles (no further
 * buddy call, so no decay purge) keeps at most this much.  8 MiB, or 1/8
 * of the pages in use for large heaps, so a heap that shrinks and grows
 * again by less than that reuses resident pages without faulting.  A
 * larger share trades peak RSS for faults: replacing 64 live buffers of
 * 64 KiB-4 MiB at random faulted 360 thousand times in 20000 replacements
 * with 1/8 (tcmalloc 55 thousand), 145 thousand with 1/4, 69 thousand
 * with 1/2, but sqlite's peak RSS went from 28.9 to 32.0 and 32.8 MiB.
 * Purging stops at 3/4 of it, so one madvise covers many frees.
 */
#define DIRTY_FLOOR_PAGES	((8UL << 20) >> PAGE_SHIFT)

static unsigned long dirty_limit_locked(void)
{
	unsigned long rel = used_pages / 8;

	return rel > DIRTY_FLOOR_PAGES ? rel : DIRTY_FLOOR_PAGES;
}

/*
 * The descriptors of a free block are zero but for its head (block_clear
 * zeroed them; a merged half's old head fields are stale and unread, and
 * zero is as good).  For a block of order 7 or more they fill whole pages
 * after the head's page: give those back with the block, so a heap that
 * shrank does not keep 64 bytes per page it once touched.  A lock-free
 * lookup reads zero either way; page_prep_block faults them back in.
 */
#define DESC_PER_PAGE		(PAGE_SIZE / sizeof(struct slab))

static void purge_descriptors_locked(struct slab *b)
{
	if ((1UL << b->order) <= DESC_PER_PAGE)
		return;
	os_discard(b + DESC_PER_PAGE,
		   ((1UL << b->order) - DESC_PER_PAGE) * sizeof(struct slab));
}

/*
 * Parked top blocks.  A purged free block keeps its head descriptor (flags,
 * order, free-list links) and with it one page of descriptors: after a
 * heap of 1 GiB was freed and trimmed, one page per 4 MiB block, 1 MiB in
 * all.  A purged top-order block is parked instead: taken off the free
 * lists, a bit set in its region's map, and all its descriptor pages given
 * back.  An allocation that finds no free block unparks one (its head
 * comes back zeroed, as a fresh block's) before carving a new one.
 */
static unsigned long nr_parked;			/* under page_lock */

static struct region *region_of_locked(const struct slab *d)
{
	uintptr_t base = (uintptr_t)d & ~(REGION_SIZE - 1);
	unsigned int i, n = region_count();

	for (i = 0; i < n; i++)
		if (region_get(i)->base == base)
			return region_get(i);
	USLUB_BUG_ON(1);
	return NULL;
}

static bool parked_locked(const struct region *r, unsigned long top)
{
	return r->parked[top / 64] & (1ULL << (top % 64));
}

/* Park b, a free top-order block whose pages were just discarded: off
 * the free list and the dirty FIFO, its bit set, its descriptors gone. */
static void park_locked(struct slab *b)
{
	struct region *r = region_of_locked(b);
	unsigned long top = page_index(b) >> MAX_ORDER;

	block_remove_locked(b);
	r->parked[top / 64] |= 1ULL << (top % 64);
	nr_parked++;
	/* Every descriptor of the block: the head's page too.  Unparking
	 * wants them zero: cleared by hand if the OS refused. */
	if (os_discard(b, (1UL << MAX_ORDER) * sizeof(struct slab)))
		memset(b, 0, (1UL << MAX_ORDER) * sizeof(struct slab));
}

/* A parked block back on the free list (not dirty: its pages are zero),
 * or false if none is parked. */
static bool unpark_locked(void)
{
	unsigned int i, n = region_count(), w;
	unsigned long top;

	if (!nr_parked)
		return false;
	for (i = 0; i < n; i++) {
		struct region *r = region_get(i);

		for (w = 0; w < TOPS_PER_REGION / 64; w++) {
			if (!r->parked[w])
				continue;
			top = w * 64 + (unsigned long)__builtin_ctzll(r->parked[w]);
			r->parked[w] &= r->parked[w] - 1;
			nr_parked--;
			block_insert_locked((struct slab *)r->base +
					    (top << MAX_ORDER), MAX_ORDER,
					    false, 0, NULL);
			return true;
		}
	}
	USLUB_BUG_ON(1);
	return false;
}

/*
 * One page of the slot map (region.h) covers PAGE_SIZE pages: 16 MiB, four
 * top-order blocks.  When all four are parked, the map bytes are zero and
 * the page goes back too (256 KiB per GiB of heap once touched).
 */
#define MAP_PAGE_PAGES		PAGE_SIZE

static void purge_slot_map_locked(struct slab *b)
{
	struct slab *desc0 = (struct slab *)((uintptr_t)b & ~(REGION_SIZE - 1));
	unsigned long first = page_index(b) & ~(MAP_PAGE_PAGES - 1), i;
	struct region *r;

	if (first < REGION_META_PAGES)
		return;
	r = region_of_locked(b);
	for (i = first; i < first + MAP_PAGE_PAGES; i += 1UL << MAX_ORDER)
		if (!parked_locked(r, i >> MAX_ORDER))
			return;
	os_discard((uint8_t *)desc0 + first, PAGE_SIZE);
}

/*
 * With thp=1 a region's pages may be transparent huge pages, and
 * discarding part of one splits it.  The decay and the dirty limit then
 * leave a free block smaller than a huge page resident (it may merge into
 * a whole one, which goes back in one piece) until it has been free for
 * THP_SMALL_DECAY times decay_ms, and such blocks do not count against the
 * dirty limit; trim, shrink and reclaim purge them all.
 */
#define THP_SMALL_DECAY		8

static bool thp_spares(const struct slab *b, uint64_t now)
{
	return uslub_opt.thp == 1 && b->order < HPAGE_ORDER &&
	       b->free_time + THP_SMALL_DECAY * decay_ms > now;
}

/* Dirty pages the dirty limit applies to. */
static unsigned long dirty_limited_locked(void)
{
	return dirty_pages - (uslub_opt.thp == 1 ? dirty_small : 0);
}

static size_t purge_locked(bool all, uint64_t now)
{
	unsigned long keep = dirty_limit_locked() / 4 * 3;
	size_t bytes = 0;
	struct slab *b;

	list_for_each_entry_safe(b, &dirty_fifo, dirty_link) {
		if (!all && b->free_time + decay_ms > now &&
		    dirty_limited_locked() <= keep)
			break;
		if (!all && thp_spares(b, now))
			continue;
		/* Refused (ENOMEM): the block stays dirty, its pages are
		 * not zero; a later purge tries again. */
		if (os_discard(page_address(b), PAGE_SIZE << b->order))
			continue;
		bytes += PAGE_SIZE << b->order;
		if (b->order == MAX_ORDER) {	/* off every list */
			park_locked(b);
			purge_slot_map_locked(b);
			continue;
		}
		list_del(&b->dirty_link);
		block_set_flags(b, block_flags(b) & ~PG_dirty);
		list_del(&b->slab_list);	/* purged blocks go last */
		list_add_tail(&b->slab_list, &free_area[b->order]);
		dirty_pages -= 1UL << b->order;
		if (b->order < HPAGE_ORDER)
			dirty_small -= 1UL << b->order;
		purge_descriptors_locked(b);
	}
	purged_bytes += bytes;
	next_purge = now + (decay_ms ? decay_ms / 2 : 0);
	return bytes;
}

/*
 * Memory kept above this layer (kmalloc's kept huge ranges) decays on the
 * same page traffic as free blocks do: a program that frees a huge block
 * and goes on with smaller ones must not keep it until its next huge
 * call.  And when the buddy allocator had to carve new memory from the
 * regions, as much kept memory gives way: the heap is growing elsewhere,
 * and kept ranges cannot serve it.  Only where the thread holds no lock of
 * uslub: the hook takes huge_lock, which nests outside sheaf_pool_lock and
 * page_lock (a carve seen under a lock is passed on by the next call).
 */
static void page_decay_others(unsigned long grown)
{
	void (*hook)(size_t) = READ_ONCE(page_decay_hook);

	if (hook && !lock_depth)
		hook(grown);
	else if (grown)
		atomic_add(grown_bytes, grown);
}

/* The bytes carved since the hook last ran, reset. */
static unsigned long grown_take(void)
{
	return __atomic_exchange_n(&grown_bytes, 0, __ATOMIC_RELAXED);
}

static void maybe_purge_locked(uint64_t now)
{
	if (list_empty(&dirty_fifo))
		return;
	if (now >= next_purge || dirty_limited_locked() > dirty_limit_locked())
		purge_locked(false, now);
}

size_t page_purge(bool all)
{
	size_t bytes;

	lock_acquire(&page_lock);
	if (!areas_ready)
		areas_init_locked();
	bytes = purge_locked(all, os_now_ms());
	lock_release(&page_lock);
	return bytes;
}

unsigned long page_decay_ms(void)
{
	return READ_ONCE(decay_ms);
}

void page_count_purged(size_t bytes)
{
	lock_acquire(&page_lock);
	purged_bytes += bytes;
	lock_release(&page_lock);
}

void page_set_decay_ms(unsigned long ms)
{
	lock_acquire(&page_lock);
	decay_ms = ms;
	next_purge = 0;
	lock_release(&page_lock);
}

/* ---- The limit ------------------------------------------------------- */

bool page_charge(size_t bytes)
{
	unsigned long limit = READ_ONCE(uslub_opt.limit);
	unsigned long old = READ_ONCE(charged);

	do {
		if (limit && (old + bytes < old || old + bytes > limit))
			return false;
	} while (!__atomic_compare_exchange_n(&charged, &old, old + bytes, true,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return true;
}

void page_uncharge(size_t bytes)
{
	atomic_add(charged, -(unsigned long)bytes);
}

size_t page_charged_bytes(void)
{
	return READ_ONCE(charged);
}

size_t page_limit_room(void)
{
	unsigned long limit = READ_ONCE(uslub_opt.limit);
	unsigned long used = READ_ONCE(charged);

	if (!limit)
		return ~(size_t)0;
	return used < limit ? limit - used : 0;
}

/*
 * An allocation of bytes failed on the limit or the OS.  Reclaim may run
 * shrinkers, which allocate and take their own locks, so only a thread
 * holding no lock of uslub starts it (one inside slab_mutex, page_lock, a
 * shrinker pass ... just fails).  true if reclaim ran: retry once.
 */
bool page_reclaim(size_t bytes)
{
	size_t (*hook)(size_t) = READ_ONCE(page_reclaim_hook);

	if (!hook || lock_depth)
		return false;
	hook(bytes);
	return true;
}

/* ---- Entry points ---------------------------------------------------- */

static struct slab *page_alloc_slow(struct page_cache *pc, unsigned int order,
				    unsigned int how, bool *zero)
{
	unsigned int want = 1, got = 0;
	struct slab *b, *first = NULL;
	bool z, first_zero = false;
	unsigned long grown;

	if (pc && order < PCACHE_ORDERS)
		want = PCACHE_MAX / 2 + 1;	/* refill in one go */
	lock_acquire(&page_lock);
	if (!areas_ready)
		areas_init_locked();
	while (got < want && page_charge(PAGE_SIZE << order)) {
		b = buddy_alloc_locked(order, how, &z);
		if (!b) {
			page_uncharge(PAGE_SIZE << order);
			break;
		}
		if (!first) {
			first = b;
			first_zero = z;
		} else {
			pc->blocks[order][pc->count[order]++] = b;
		}
		got++;
	}
	maybe_purge_locked(os_now_ms());
	lock_release(&page_lock);
	grown = grown_take();
	page_decay_others(grown);
	*zero = first_zero;
	return first;
}

struct slab *page_alloc_how(struct page_cache *pc, unsigned int order,
			    unsigned int how, bool *zero)
{
	struct slab *b;

	USLUB_ASSERT(order <= MAX_ORDER);
	if (how & PAGE_GROW)
		pc = NULL;		/* cached blocks have no free buddies */
	*zero = false;			/* a cached block was used before */
	if (pc && order < PCACHE_ORDERS && pc->count[order]) {
		b = pc->blocks[order][--pc->count[order]];
	} else {
		b = page_alloc_slow(pc, order, how, zero);
		if (unlikely(!b) && page_reclaim(PAGE_SIZE << order))
			b = page_alloc_slow(pc, order, how, zero);
		if (unlikely(!b))
			return NULL;
	}
	if (unlikely(READ_ONCE(uslub_opt.page_owner)))
		page_owner_record(b, order);
	return b;
}

struct slab *page_alloc(struct page_cache *pc, unsigned int order)
{
	bool zero;

	return page_alloc_how(pc, order, 0, &zero);
}

/*
 * Grow the allocated block at head from order to new_order in place: head
 * must be the lower half at every level in between, and each upper half a
 * free block of exactly that order (a free block cannot straddle head's
 * pages, so nothing else can hold them).  The halves leave the free areas
 * as they are, clear: head is a large block, whose head page alone is
 * stamped.
 */
bool page_extend(struct slab *head, unsigned int order, unsigned int new_order)
{
	unsigned long idx = page_index(head);
	struct slab *desc0 = head - idx;
	unsigned int o;
	size_t grow;
	bool ok = true;

	USLUB_ASSERT(order < new_order && new_order <= MAX_ORDER);
	if (idx & ((1UL << new_order) - 1))
		return false;			/* an upper half somewhere */
	grow = (PAGE_SIZE << new_order) - (PAGE_SIZE << order);
	if (!page_charge(grow))
		return false;
	lock_acquire(&page_lock);
	for (o = order; o < new_order && ok; o++)
		ok = free_buddy(desc0, idx, o) != NULL;
	for (o = order; o < new_order && ok; o++) {
		struct slab *b = desc0 + (idx | (1UL << o));

		block_remove_locked(b);
		used_pages += 1UL << o;
	}
	if (ok)
		WRITE_ONCE(head->order, (uint8_t)new_order);
	lock_release(&page_lock);
	if (!ok)
		page_uncharge(grow);
	else if (READ_ONCE(uslub_opt.page_owner))
		page_owner_record(head, new_order);
	return ok;
}

/*
 * Shrink the allocated large block at head from order to new_order in
 * place: the upper halves go back to the free areas (dirty, as any freed
 * block), leaving head's block at the lower end.  Their descriptors are
 * clear already: a large block stamps its head page alone.
 */
/* The upper halves of base's block from order from up to order to back
 * to the free areas; base's own pages and descriptor stay as they are. */
static void free_upper(struct slab *base, unsigned int from, unsigned int to)
{
	uint64_t now = os_now_ms();
	unsigned int o;

	lock_acquire(&page_lock);
	for (o = from; o < to; o++) {
		used_pages -= 1UL << o;
		buddy_free_locked(base + (1UL << o), o, now);
	}
	maybe_purge_locked(now);
	lock_release(&page_lock);
	page_uncharge((PAGE_SIZE << to) - (PAGE_SIZE << from));
}

void page_shrink(struct slab *head, unsigned int order, unsigned int new_order)
{
	USLUB_ASSERT(new_order < order && (block_flags(head) & PG_large));
	WRITE_ONCE(head->order, (uint8_t)new_order);
	free_upper(head, new_order, order);
	if (unlikely(READ_ONCE(uslub_opt.page_owner)))
		page_owner_record(head, new_order);
}

/* The slot map bytes of a block's pages (region.h). */
static uint8_t *block_slot_map(struct slab *head)
{
	uintptr_t base = (uintptr_t)head & ~(REGION_SIZE - 1);

	return (uint8_t *)base + page_index(head);
}

struct slab *page_block_head(struct slab *d)
{
	struct slab *head = READ_ONCE(d->head), *desc0;
	unsigned long idx;
	unsigned int o;

	if (head)
		return head;
	idx = page_index(d);
	desc0 = d - idx;
	for (o = 1; o <= MAX_ORDER; o++) {
		head = desc0 + (idx & ~((1UL << o) - 1));
		if (READ_ONCE(head->head) == head &&
		    (block_flags(head) & PG_large) &&
		    READ_ONCE(head->order) >= o)
			return head;
	}
	return NULL;
}

void page_prep_block(struct slab *head, unsigned int order, uint16_t cpu_off)
{
	unsigned long i, n = 1UL << order;

	for (i = 0; i < n; i++) {
		WRITE_ONCE(head[i].head, head);
		head[i].cpu_off = cpu_off;
	}
	memset(block_slot_map(head), cpu_off >> CPU_SHIFT, n);
	WRITE_ONCE(head->order, (uint8_t)order);
}

void page_mark_slot(struct slab *head, unsigned long idx, uint16_t cpu_off)
{
	head[idx].cpu_off = cpu_off;
	block_slot_map(head)[idx] = (uint8_t)(cpu_off >> CPU_SHIFT);
}

/* A large block stamps its head page alone, with cpu_off 0 and slot map
 * byte 0: only that head pointer needs clearing. */
static void block_clear(struct slab *head, unsigned int order)
{
	unsigned long i, n = 1UL << order;

	if (block_flags(head) & PG_large) {
		WRITE_ONCE(head->head, NULL);
	} else {
		for (i = 0; i < n; i++) {
			WRITE_ONCE(head[i].head, NULL);
			head[i].cpu_off = 0;
		}
		memset(block_slot_map(head), 0, n);
	}
	block_set_flags(head, 0);
}

/* Give up to count blocks of one order back to the buddy, under one lock. */
static void buddy_free_batch(struct slab **blocks, unsigned int count,
			     unsigned int order)
{
	uint64_t now = os_now_ms();
	unsigned int i;

	lock_acquire(&page_lock);
	if (!areas_ready)
		areas_init_locked();
	for (i = 0; i < count; i++) {
		used_pages -= 1UL << order;
		buddy_free_locked(blocks[i], order, now);
	}
	page_uncharge((PAGE_SIZE << order) * count);
	maybe_purge_locked(now);
	lock_release(&page_lock);
	page_decay_others(0);
}

/*
 * The thread's page cache keeps only count[order] blocks from now on.
 * Written before the others go back to the buddy allocator: a fork child
 * drains the page caches of the threads that did not come along (thread.c)
 * from whatever state fork caught them in, and a count lowered after the
 * free (as it was) let the child free the same blocks a second time
 * (seen as buddy list corruption in a fork child, about one run in three
 * of tests/preload/fork_threads with realloc's growth reservation).  Now a
 * fork in between only leaks those blocks in the child.  Release: the
 * compiler keeps the store before the free's.
 */
static void pcache_forget(struct page_cache *pc, unsigned int order,
			  unsigned int count)
{
	__atomic_store_n(&pc->count[order], count, __ATOMIC_RELEASE);
}

void page_free(struct page_cache *pc, struct slab *head, unsigned int order)
{
	unsigned int keep;

	if (unlikely(READ_ONCE(uslub_opt.page_owner)))
		page_owner_clear(head);
	if (page_grow_free(pc, head))
		return;
	block_clear(head, order);
	if (!pc || order >= PCACHE_ORDERS) {
		buddy_free_batch(&head, 1, order);
		return;
	}
	if (pc->count[order] == PCACHE_MAX) {
		keep = PCACHE_MAX / 2;
		/* The count first: see pcache_forget. */
		pcache_forget(pc, order, keep);
		buddy_free_batch(&pc->blocks[order][keep], PCACHE_MAX - keep,
				 order);
	}
	pc->blocks[order][pc->count[order]++] = head;
}

/* ---- The growth reservation (page_alloc.h) --------------------------- */

/*
 * Only the owner thread changes its reservation, without a lock; but a
 * fork child releases the reservations of the threads that did not come
 * along, from whatever state fork caught them in.  So each change leaves
 * the fields, in the order it writes them, such that a release at any
 * point gives back only pages that no block covers (it may leak some in
 * the child, never hand out a block's pages): grow is published after
 * grow_order and grow_lent, grow_lent grows before the lent block's
 * order does (release stores: the compiler keeps them in that order, and
 * x86 makes stores visible in program order).
 */

struct slab *page_grow_lend(struct page_cache *pc, unsigned int order)
{
	unsigned int want = MIN(MAX(order + PAGE_GROW_ORDERS,
				    PAGE_GROW_MIN_ORDER), MAX_ORDER);
	struct slab *b;
	bool zero;

	if (pc->grow && pc->grow_lent != GROW_NONE &&
	    page_grow_lent(pc, pc->grow))
		return NULL;		/* one at a time: the others take PAGE_GROW */
	if (pc->grow && (pc->grow_lent != GROW_NONE || order > pc->grow_order))
		page_grow_release(pc);	/* freed elsewhere, or too small */
	if (!pc->grow) {
		b = page_alloc_how(NULL, want, 0, &zero);
		if (!b)
			return NULL;
		block_set_flags(b, PG_large);
		pc->grow_order = (uint8_t)want;
		pc->grow_lent = GROW_NONE;
		__atomic_store_n(&pc->grow, b, __ATOMIC_RELEASE);
	}
	b = pc->grow;
	WRITE_ONCE(pc->grow_lent, (uint8_t)order);
	__atomic_store_n(&b->order, (uint8_t)order, __ATOMIC_RELEASE);
	if (unlikely(READ_ONCE(uslub_opt.page_owner)))
		page_owner_record(b, order);
	return b;
}

bool page_grow_extend(struct page_cache *pc, struct slab *head,
		      unsigned int new_order)
{
	if (!page_grow_lent(pc, head))
		return false;
	if (new_order > pc->grow_order) {
		page_grow_release(pc);	/* head keeps its pages */
		return false;
	}
	WRITE_ONCE(pc->grow_lent, (uint8_t)new_order);
	__atomic_store_n(&head->order, (uint8_t)new_order, __ATOMIC_RELEASE);
	if (unlikely(READ_ONCE(uslub_opt.page_owner)))
		page_owner_record(head, new_order);
	return true;
}

bool page_grow_free(struct page_cache *pc, struct slab *head)
{
	if (!page_grow_lent(pc, head))
		return false;
	WRITE_ONCE(head->head, NULL);
	WRITE_ONCE(head->order, pc->grow_order);
	__atomic_store_n(&pc->grow_lent, GROW_NONE, __ATOMIC_RELEASE);
	return true;
}

void page_grow_release(struct page_cache *pc)
{
	struct slab *b = pc->grow;

	if (!b)
		return;
	WRITE_ONCE(pc->grow, NULL);
	if (pc->grow_lent == GROW_NONE) {
		block_clear(b, pc->grow_order);
		buddy_free_batch(&b, 1, pc->grow_order);
	} else if (pc->grow_lent < pc->grow_order) {
		free_upper(b, pc->grow_lent, pc->grow_order);
	}
	pc->grow_lent = GROW_NONE;
}

void page_cache_drain(struct page_cache *pc)
{
	unsigned int o;

	page_grow_release(pc);
	for (o = 0; o < PCACHE_ORDERS; o++) {
		unsigned int n = pc->count[o];

		pcache_forget(pc, o, 0);
		if (n)
			buddy_free_batch(pc->blocks[o], n, o);
	}
}

/* ---- Statistics ------------------------------------------------------ */

static bool desc_in_region(const struct slab *b, int region)
{
	uintptr_t base = (uintptr_t)b & ~(REGION_SIZE - 1);

	return region < 0 || region_get((unsigned int)region)->base == base;
}

void page_get_stats(struct page_stats *st, int region)
{
	unsigned int o;
	struct slab *b;

	memset(st, 0, sizeof(*st));
	lock_acquire(&page_lock);
	if (!areas_ready)
		areas_init_locked();
	for (o = 0; o < NR_ORDERS; o++) {
		list_for_each_entry(b, &free_area[o], slab_list) {
			if (!desc_in_region(b, region))
				continue;
			st->free[o]++;
			st->free_pages += 1UL << o;
			if (block_flags(b) & PG_dirty)
				st->dirty_pages += 1UL << o;
		}
	}
	for (o = 0; o < region_count(); o++) {
		const struct region *r = region_get(o);
		unsigned int w, k;

		if (region >= 0 && (int)o != region)
			continue;
		for (w = 0; w < TOPS_PER_REGION / 64; w++) {
			k = (unsigned int)__builtin_popcountll(r->parked[w]);
			st->free[MAX_ORDER] += k;
			st->free_pages += (unsigned long)k << MAX_ORDER;
		}
	}
	st->used_pages = used_pages;
	st->purged_bytes = purged_bytes;
	lock_release(&page_lock);
}

bool page_block_is_free(const struct slab *head, unsigned int *order)
{
	bool ret;

	lock_acquire(&page_lock);
	ret = block_flags(head) & PG_buddy;
	if (ret && order)
		*order = head->order;
	if (!ret && !(page_index(head) & ((1UL << MAX_ORDER) - 1)) &&
	    parked_locked(region_of_locked(head),
			  page_index(head) >> MAX_ORDER)) {
		ret = true;
		if (order)
			*order = MAX_ORDER;
	}
	lock_release(&page_lock);
	return ret;
}
