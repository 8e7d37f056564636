/*
 * sheaf.c - L4.5: sheaves, barns and the sheaf pool (SLUB's slab_sheaf,
 * slub_percpu_sheaves and node_barn, per thread instead of per cpu).
 *
 * Entry points: sheaf_slot_init, sheaf_refill_pop and sheaf_overflow_push
 * (the fast paths' slow twins, through cache.c), sheaf_slot_flush,
 * sheaf_slot_release, barn_shrink, barn_decay.  Uses the slab layer below
 * (slab_alloc_bulk, slab_free_bulk) and the page layer for the pool.
 *
 * Locks: barn->lock (a spin lock, see lock.h) protects a barn's lists
 * and counts; it nests inside slab_mutex and list_lock is never taken
 * under it, nor anything else: sheaves leave the barn first, then get
 * flushed, and no call is made with it held.  sheaf_pool_lock
 * protects the pool's page lists and its pages' free sheaves and nests
 * inside everything but page_lock; the pool's pages are allocated outside it.
 *
 * A thread's main and spare are its own: only the owner touches them,
 * except thread exit, fork's child and destroy (the owner is gone or the
 * user promised no concurrent use).  The main sheaf's count lives in the
 * slot (c->top); main->size is written back when main stops being main.
 */
#include <string.h>

#include "sheaf.h"
#include "assert.h"
#include "pagemap.h"
#include "options.h"
#include "os.h"

/* ---- Capacity -------------------------------------------------------- */

/*
 * SLUB gives sheaves about 60 objects below 256 bytes, 26 below 1 KiB, 12
 * below 4 KiB and 4 above, and sizes the sheaf to fill a kmalloc bucket.
 * Here a sheaf is 64..1024 bytes (header 40, then up to 3, 11, 27, 59 or
 * 123 pointers).  Small objects get the biggest sheaves: fewer exchanges
 * for the same bytes.  A thread keeps at most two sheaves per cache, so
 * what an idle thread holds stays under 2 * capacity * size: 31 KiB at
 * 128 bytes, 30 KiB at 256, 54 KiB at 1 KiB, 45 KiB at 2 KiB, 48 KiB at
 * 4 KiB (measured: 1000 idle threads that each freed 64 objects of 15
 * sizes, bench/idle_threads.sh), 192 KiB at 16 KiB and 256 KiB at 32 KiB,
 * the largest class.  Above 4 KiB, 6 and 4 rather than SLUB's 4 and 3: a
 * ring of 1024 blocks of 8 B..32 KiB replaced at random ran at 28 M ops/s
 * with 3, 52 M with 6 and 4.
 */
static const struct {
	unsigned int max_size, capacity;
} sheaf_table[] = {
	{ 128, 123 }, { 256, 59 }, { 1024, 27 }, { 2048, 11 }, { 16384, 6 },
	{ UINT32_MAX, 4 },
};

unsigned int sheaf_capacity(unsigned int size)
{
	unsigned int i = 0;

	while (size > sheaf_table[i].max_size)
		i++;
	return sheaf_table[i].capacity;
}

unsigned int sheaf_max_capacity(unsigned int size)
{
	return MAX(sheaf_capacity(size),
		   (unsigned int)MIN(SHEAF_MAX_CAPACITY,
				     SHEAF_GROW_BYTES / MAX(size, 1u)));
}

static unsigned int capacity_of(unsigned int bytes)
{
	return (unsigned int)((bytes - sizeof(struct slab_sheaf)) /
			      sizeof(void *));
}

/* ---- The sheaf pool -------------------------------------------------- */

/*
 * Sheaves are carved from pages of the page layer, one size per page (64,
 * 128, 256, 512 or 1024 bytes).  They cannot come from kmalloc: the
 * kmalloc caches' own slots need them.
 *
 * Each thread carves its sheaves from pages of its own (pc->pool, one
 * per size), as a CPU took SLUB's objects from its own cpu slab.  Two
 * threads' sheaves that shared a page cost a fixed-size ring of 64- and
 * 200-byte blocks 6-12 % at two threads, each thread pushing and popping
 * its own sheaves only, with no lock and no atomic (the likely cause: the
 * hardware prefetchers follow a thread's accesses within a page into the
 * neighbouring sheaf, which the other thread is writing).  A page that
 * is no thread's any more (its thread exited, or carved all of it) takes
 * its sheaves back as they are freed.  A thread that needs a new page
 * takes, in turn: one that was last a page of its thread index (a new
 * thread that took over its departed predecessor's sheaves carves next
 * to them), one none of whose sheaves is in use, one with some in use
 * (the pool stays as dense as without threads' pages: a fresh page first
 * left a C++ server with 1.3 MiB more RSS), and a fresh one.  Pages stay
 * until a trim gives back those whose sheaves are all free and that are
 * no thread's.
 *
 * A page's descriptor holds its free sheaves (freelist, linked through
 * barn_list.next), the count handed out (inuse) and whether it is a
 * thread's (frozen, set while it is in some pc->pool) and the index of
 * the thread it was last a page of (pool_owner).  One that is no
 * thread's and has a free sheaf is on pool_partial (some in use) or
 * pool_empty (none), through slab_list, with on_partial set.
 */
#define POOL_CLASSES	PCACHE_POOL_CLASSES
#define POOL_MIN_SHIFT	6

struct lock sheaf_pool_lock = LOCK_INITIALIZER;
#define POOL_LISTS(l)	{ LIST_HEAD_INIT(l[0]), LIST_HEAD_INIT(l[1]), \
			  LIST_HEAD_INIT(l[2]), LIST_HEAD_INIT(l[3]), \
			  LIST_HEAD_INIT(l[4]) }
_Static_assert(POOL_CLASSES == 5, "POOL_LISTS initializes five lists");

/* under the lock: */
static struct list_head pool_partial[POOL_CLASSES] = POOL_LISTS(pool_partial);
static struct list_head pool_empty[POOL_CLASSES] = POOL_LISTS(pool_empty);
static unsigned long pool_pages;
static unsigned long pool_in_use;

static unsigned int pool_class(unsigned int capacity)
{
	unsigned int i;

	for (i = 0; i < POOL_CLASSES; i++)
		if (capacity_of(1u << (POOL_MIN_SHIFT + i)) >= capacity)
			return i;
	USLUB_BUG_ON(1);
	return 0;
}

static unsigned int pool_bytes(unsigned int cls)
{
	return 1u << (POOL_MIN_SHIFT + cls);
}

static struct slab *pool_page(const struct slab_sheaf *sh)
{
	return pagemap_head(sh);
}

/* page off the list it is on, if any. */
static void pool_unlist_locked(struct slab *page)
{
	if (page->on_partial) {
		list_del(&page->slab_list);
		page->on_partial = 0;
	}
}

/* page, no thread's, on the list its counts say (or none: all in use). */
static void pool_file_locked(struct slab *page, unsigned int cls)
{
	pool_unlist_locked(page);
	if (!page->freelist)
		return;
	list_add(&page->slab_list,
		 page->inuse ? &pool_partial[cls] : &pool_empty[cls]);
	page->on_partial = 1;
}

/* pc's page of cls becomes no thread's. */
static void pool_let_go_locked(struct page_cache *pc, unsigned int cls)
{
	struct slab *page = pc->pool[cls];

	pc->pool[cls] = NULL;
	page->frozen = 0;
	pool_file_locked(page, cls);
}

static struct slab *pool_list_take_locked(struct list_head *list)
{
	struct slab *page;

	if (list_empty(list))
		return NULL;
	page = list_first_entry(list, struct slab, slab_list);
	pool_unlist_locked(page);
	return page;
}

/* A fresh page of the page layer, its sheaves all on its freelist. */
static struct slab *pool_page_new(unsigned int cls)
{
	unsigned int bytes = pool_bytes(cls), i;
	struct slab *page = page_alloc(NULL, 0);
	struct slab_sheaf *sh;
	char *base;

	if (!page)
		return NULL;
	page_prep_block(page, 0, 0);	/* flags 0: internal */
	page->counters = 0;
	page->on_partial = 0;
	page->freelist = NULL;
	base = page_address(page);
	for (i = PAGE_SIZE / bytes; i-- > 0;) {	/* lowest first out */
		sh = (struct slab_sheaf *)(base + i * bytes);
		sh->barn_list.next = page->freelist;
		page->freelist = sh;
	}
	return page;
}

/* The first of list's pages (at most POOL_SCAN of them) that was last a
 * page of thread owner, taken off the list; NULL if none. */
#define POOL_SCAN	16

static struct slab *pool_take_owned_locked(struct list_head *list,
					   unsigned int owner)
{
	struct slab *page;
	unsigned int n = 0;

	list_for_each_entry(page, list, slab_list) {
		if (page->pool_owner == owner) {
			pool_unlist_locked(page);
			return page;
		}
		if (++n == POOL_SCAN)
			break;
	}
	return NULL;
}

/*
 * The page the next sheaf of cls comes from: the thread's own while it
 * has a free sheaf; else (the thread's full page let go) one that was
 * the same thread index's before (a thread that took over its departed
 * predecessor's sheaves carves next to them), one with none in use, one
 * with some in use, a fresh one.  Without a thread (pc NULL) a page with
 * some in use comes first.  Called and returns with the lock held; drops
 * it around the page layer.
 */
static struct slab *pool_source_locked(struct page_cache *pc,
				       unsigned int owner, unsigned int cls)
{
	struct slab *page = pc ? pc->pool[cls] : NULL;

	if (page && page->freelist)
		return page;
	if (page)		/* all in use: comes back when freed */
		pool_let_go_locked(pc, cls);
	if (pc && (page = pool_take_owned_locked(&pool_partial[cls], owner)))
		goto got;
	if (!pc && (page = pool_list_take_locked(&pool_partial[cls])))
		goto got;
	if ((page = pool_list_take_locked(&pool_empty[cls])) ||
	    (page = pool_list_take_locked(&pool_partial[cls])))
		goto got;
	lock_release(&sheaf_pool_lock);
	page = pool_page_new(cls);
	lock_acquire(&sheaf_pool_lock);
	if (!page)
		return NULL;
	pool_pages++;
got:
	if (pc) {
		page->frozen = 1;
		page->pool_owner = owner;
		pc->pool[cls] = page;
	}
	return page;
}

struct slab_sheaf *sheaf_new(unsigned int capacity, struct page_cache *pc,
			     unsigned int owner)
{
	unsigned int cls = pool_class(capacity);
	struct slab_sheaf *sh;
	struct slab *page;

	lock_acquire(&sheaf_pool_lock);
	page = pool_source_locked(pc, owner, cls);
	if (!page) {
		lock_release(&sheaf_pool_lock);
		return NULL;
	}
	sh = page->freelist;
	page->freelist = sh->barn_list.next;
	page->inuse++;
	pool_in_use++;
	if (!page->frozen)		/* no thread's: back on its list */
		pool_file_locked(page, cls);
	lock_release(&sheaf_pool_lock);
	memset(sh, 0, sizeof(*sh));
	sh->capacity = capacity;
	return sh;
}

void sheaf_free(struct slab_sheaf *sh)
{
	unsigned int cls = pool_class(sh->capacity);
	struct slab *page = pool_page(sh);

	USLUB_ASSERT(sh->size == 0);
	lock_acquire(&sheaf_pool_lock);
	sh->barn_list.next = page->freelist;
	page->freelist = sh;
	page->inuse--;
	pool_in_use--;
	if (!page->frozen)
		pool_file_locked(page, cls);
	lock_release(&sheaf_pool_lock);
}

/* pc's pages go back to the pool; only those with none in use if
 * idle_only. */
static void pool_release_locked(struct page_cache *pc, bool idle_only)
{
	struct slab *page;
	unsigned int cls;

	for (cls = 0; cls < POOL_CLASSES; cls++) {
		page = pc->pool[cls];
		if (page && !(idle_only && page->inuse))
			pool_let_go_locked(pc, cls);
	}
}

/* pc's flush scratch back to the page layer. */
static void flush_scratch_release(struct page_cache *pc)
{
	struct slab *b = pc->flush_scratch;

	if (b) {
		pc->flush_scratch = NULL;
		page_free(NULL, b, FLUSH_SCRATCH_ORDER);
	}
}

void sheaf_pool_release(struct page_cache *pc)
{
	lock_acquire(&sheaf_pool_lock);
	pool_release_locked(pc, false);
	lock_release(&sheaf_pool_lock);
	flush_scratch_release(pc);
}

void sheaf_pool_shrink(struct page_cache *pc)
{
	struct slab *pages = NULL, *page, *next;
	unsigned int cls;

	if (pc)
		flush_scratch_release(pc);
	lock_acquire(&sheaf_pool_lock);
	if (pc)
		pool_release_locked(pc, true);
	for (cls = 0; cls < POOL_CLASSES; cls++) {
		while ((page = pool_list_take_locked(&pool_empty[cls]))) {
			page->next = pages;
			pages = page;
			pool_pages--;
		}
	}
	lock_release(&sheaf_pool_lock);
	for (page = pages; page; page = next) {
		next = page->next;
		page->counters = 0;
		page->freelist = NULL;
		page->pool_owner = 0;
		page_free(NULL, page, 0);
	}
}

void sheaf_pool_stats(unsigned long *bytes, unsigned long *in_use)
{
	lock_acquire(&sheaf_pool_lock);
	*bytes = pool_pages * PAGE_SIZE;
	*in_use = pool_in_use;
	lock_release(&sheaf_pool_lock);
}

/* ---- Slots ----------------------------------------------------------- */

#define TRADE_REFILL	1	/* slot_adapt: an empty main refilled */
#define TRADE_OVERFLOW	2	/* a full main gave way */

void sheaf_slot_init(struct uslub_cache *s, struct kmem_cache_cpu *c,
		     uint16_t cpu_off, struct slab_sheaf *main)
{
	memset(c, 0, sizeof(*c));
	c->cpu_off = cpu_off;
	if (!s->sheaf_capacity) {
		USLUB_ASSERT(!main);
		return;			/* debug cache: every call is slow */
	}
	atomic_add(s->barn.users, 1);	/* dropped by sheaf_slot_release */
	c->limit = (uint16_t)s->sheaf_capacity;
	c->parked = INHERIT_SCAN;	/* a departed thread's, on our index */
	c->mask = (PAGE_SIZE << s->order) - 1;
	c->mult = UINT64_MAX / s->size + 1;	/* ceil(2^64 / size) */
	if (c->mult * s->size == 0)		/* size a power of two */
		c->mult++;
	c->bound = (uint64_t)s->objects * (c->mult * s->size);
	if (s->coloured) {	/* any multiple of size (alloc.h, slot_owns) */
		c->mask = UINTPTR_MAX;
		c->bound = c->mult;
	}
	if (main) {
		c->main = main;
		c->objects = main->objects;
		c->top = main->objects + main->size;
		cpu_moved(c, 0, main->size);
		c->end = sheaf_end(c);
	}
}

void **sheaf_end(const struct kmem_cache_cpu *c)
{
	unsigned long n = MAX((unsigned long)c->limit, cpu_size(c));

	return c->objects + MIN(n, (unsigned long)c->main->capacity);
}

/*
 * Each trade of the slot with the barn or the slabs (a refill of an
 * empty main, an overflow of a full one, past the spare): when trades
 * alternate in direction within 64 allowances of fast-path operations,
 * SLOT_THRASH times, the slot swings about the edge of what main and
 * spare hold, and its allowance doubles, up to the cache's sheaf_max
 * (SLUB's sheaves have one capacity; tcmalloc's per-thread lists grow
 * the same way).  A burst that only allocates or only frees never grows
 * it: an idle thread keeps what it held at the cache's sheaf_capacity.
 * A slot that trades again after 1024 allowances of quiet halves it (a
 * random walk's long excursions, at 64, halved it as often as it grew).
 * Operations are counted in 16s (mark is 16 bits).  A ring of 1024
 * blocks of 8 B..32 KiB replaced at random ran at 61 M ops/s with the
 * fixed capacities (6 and 4 above 2 KiB) and at 80-84 with them grown.
 * A random walk crosses a range of r objects in about r * r steps, so a
 * window of 4 allowances stopped the growth of that ring's classes above
 * 16 KiB at 4 objects, and it went to the slabs for 0.017 cmpxchg16b per
 * malloc+free (bench/callgrind.sh, ring32k); with 64, 0.002.
 */
static __always_inline void slot_adapt(struct uslub_cache *s,
				       struct kmem_cache_cpu *c,
				       unsigned int trade)
{
	uint16_t now = (uint16_t)((c->stat[ALLOC_PCS] + cpu_free_pcs(c)) >>
				  4);
	unsigned int gap = (uint16_t)(now - c->mark);	/* in 16s */
	unsigned int limit = c->limit;

	if (c->last_trade && trade != c->last_trade &&
	    gap <= 4 * limit) {
		if (++c->thrash >= SLOT_THRASH) {
			limit = MIN(2 * limit, s->sheaf_max);
			/* at sheaf_max it stays swinging (shelf_on) */
			c->thrash = limit < s->sheaf_max ? 0 : SLOT_THRASH;
		}
	} else if (gap > 64 * limit) {
		limit = MAX(limit / 2, s->sheaf_capacity);
		c->thrash = 0;
	}
	c->last_trade = (uint8_t)trade;
	c->mark = now;
	if (limit != c->limit) {
		c->limit = (uint16_t)limit;
		WRITE_ONCE(c->end, sheaf_end(c));
	}
}

/* main stops being main: its count goes back into the sheaf. */
static void main_save(struct kmem_cache_cpu *c)
{
	c->main->size = cpu_size(c);
}

static __always_inline void main_install(struct kmem_cache_cpu *c,
					 struct slab_sheaf *sh)
{
	unsigned long n = MAX((unsigned long)c->limit, (unsigned long)sh->size);

	cpu_moved(c, cpu_size(c), sh->size);
	c->main = sh;
	WRITE_ONCE(c->objects, sh->objects);	/* statistics read them */
	WRITE_ONCE(c->top, sh->objects + sh->size);
	/* sheaf_end(c), now that sh is main: from sh, not c (a helper
	 * shared with sheaf_end compiled to 0.3 more instructions a
	 * producer/consumer pair) */
	WRITE_ONCE(c->end, sh->objects + MIN(n, (unsigned long)sh->capacity));
}

static void set_spare(struct kmem_cache_cpu *c, struct slab_sheaf *sh)
{
	c->spare = sh;
	WRITE_ONCE(c->spare_size, sh ? sh->size + sh->shelf.objects : 0);
}

/* sh, out of every list, becomes the spare, with an empty shelf. */
static void spare_install(struct kmem_cache_cpu *c, struct slab_sheaf *sh)
{
	list_init(&sh->barn_list);
	sh->shelf.objects = 0;
	sh->shelf.sheaves = 0;
	set_spare(c, sh);
}

/*
 * Main ran empty and the spare holds objects: its newest half (all of
 * them, up to half of main's room) come over, so that main sits in the
 * middle of its range.  Swapping instead put main at its other end, and
 * a thread whose frees and allocations of a size took turns (a random
 * walk at that end) swapped back and forth on one in ten operations.
 */
static void take_from_spare(struct kmem_cache_cpu *c)
{
	struct slab_sheaf *sp = c->spare;
	unsigned int half = (unsigned int)MAX(cpu_capacity(c) / 2, 1UL);
	unsigned int t = MIN(sp->size, half);

	memcpy(c->objects, sp->objects + sp->size - t, t * sizeof(void *));
	sp->size -= t;
	set_spare(c, sp);
	cpu_set_size(c, t);
	stat(c, SHEAF_SWAP);
}

/* Main is full: its oldest half goes to the spare where it has room. */
static bool give_to_spare(struct kmem_cache_cpu *c)
{
	struct slab_sheaf *sp = c->spare;
	unsigned long n = cpu_size(c), h = n / 2;

	if (!sp || !h || sp->size + h > cpu_capacity(c))
		return false;
	memcpy(sp->objects + sp->size, c->objects, h * sizeof(void *));
	memmove(c->objects, c->objects + h, (n - h) * sizeof(void *));
	sp->size += (unsigned int)h;
	set_spare(c, sp);
	cpu_set_size(c, n - h);
	stat(c, SHEAF_SWAP);
	return true;
}

static void *pop_main(struct kmem_cache_cpu *c)
{
	void **top = c->top - 1;

	cpu_moved(c, 1, 0);
	WRITE_ONCE(c->top, top);
	return *top;
}

static void push_main(struct kmem_cache_cpu *c, void *obj)
{
	void **top = c->top;

	cpu_moved(c, 0, 1);
	*top = obj;
	WRITE_ONCE(c->top, top + 1);
}

/* ---- The shelf ------------------------------------------------------- */

/* Whether c swings between freeing and allocating more than main and
 * spare hold: its trades alternated SHELF_THRASH times, or its allowance
 * grew (slot_adapt).  Only such a slot uses a shelf; a thread that only
 * frees a size (a consumer), or allocated and freed a batch once, leaves
 * its sheaves to the barn, where other threads find them. */
static bool shelf_on(const struct uslub_cache *s,
		     const struct kmem_cache_cpu *c)
{
	return c->spare && (c->limit > s->sheaf_capacity ||
			    c->thrash >= SHELF_THRASH);
}

static bool shelf_has_empty(struct slab_sheaf *sp)
{
	return !list_empty(&sp->barn_list) &&
	       !list_entry(sp->barn_list.prev, struct slab_sheaf,
			   barn_list)->size;
}

/*
 * What the shelves of pc's thread hold, in bytes of objects, counted for
 * the kmalloc caches only (SHELF_THREAD_BYTES): those are never
 * destroyed, so only the thread itself (or fork's child, for a thread
 * that did not come along) ever empties their shelves, with its own page
 * cache.  A created cache's destroy empties every thread's shelf of it
 * from the destroying thread.
 */
static void shelf_charge(const struct uslub_cache *s, struct page_cache *pc,
			 unsigned int objects)
{
	if (s->kmalloc_idx)
		pc->shelved += (unsigned long)objects * s->size;
}

static void shelf_uncharge(const struct uslub_cache *s, struct page_cache *pc,
			   unsigned int objects)
{
	unsigned long bytes = (unsigned long)objects * s->size;

	if (s->kmalloc_idx && pc)
		pc->shelved -= MIN(pc->shelved, bytes);
}

/*
 * Whether main's n objects may join the shelf: the slot swings, it has
 * credit (it refilled at least as often as it gave sheaves away, see
 * sheaf_overflow_push: a thread that frees more than it allocates leaves
 * its surplus to the barn, where the allocating threads find it), and
 * the shelf and the thread's shelves stay within their bounds.
 */
static bool shelf_room(const struct uslub_cache *s,
		       const struct kmem_cache_cpu *c,
		       const struct page_cache *pc, unsigned int n)
{
	uint64_t bytes = (uint64_t)n * s->size;

	return shelf_on(s, c) && c->allocs &&
	       (uint64_t)c->spare->shelf.objects * s->size + bytes <=
		       SHELF_BYTES &&
	       (!s->kmalloc_idx || pc->shelved + bytes <= SHELF_THREAD_BYTES);
}

/*
 * Main and spare are full: main goes to the front of the shelf and the
 * empty sheaf at its back becomes main; with none there, a new one from
 * the pool joins the shelf first.  false: no room (shelf_room).  The
 * slot lets go of main's objects before the shelf holds them: a fork
 * child that flushes both finds them once at most.  true with main not
 * full any more: a reclaim inside sheaf_new made room.  A shelved sheaf
 * spends a credit, as one given to the barn does.
 */
static bool shelf_put(struct uslub_cache *s, struct kmem_cache_cpu *c,
		      struct page_cache *pc, unsigned int owner)
{
	struct slab_sheaf *sp = c->spare, *m, *empty;
	unsigned int n;

	if (!shelf_room(s, c, pc, (unsigned int)cpu_size(c)))
		return false;
	if (!shelf_has_empty(sp)) {
		if (sp->shelf.sheaves >= SHELF_SHEAVES ||
		    !(empty = sheaf_new(s->sheaf_max, pc, owner)))
			return false;
		stat(c, SHEAF_ALLOC);
		list_add_tail(&empty->barn_list, &sp->barn_list);
		sp->shelf.sheaves++;
		if (c->top < c->end)
			return true;
	}
	empty = list_entry(sp->barn_list.prev, struct slab_sheaf, barn_list);
	list_del(&empty->barn_list);
	m = c->main;
	n = (unsigned int)cpu_size(c);
	m->size = n;
	cpu_set_size(c, 0);
	barrier();		/* the slot lets go first (fork, above) */
	list_add(&m->barn_list, &sp->barn_list);
	sp->shelf.objects += n;
	shelf_charge(s, pc, n);
	c->allocs--;
	main_install(c, empty);
	set_spare(c, sp);
	stat(c, SHEAF_SWAP);
	return true;
}

/* Main and spare are empty: the newest full sheaf of the shelf becomes
 * main, and main goes to the shelf's back.  false: no full sheaf there.
 * A fork child may find the full sheaf in neither place (a leak), never
 * in both. */
static bool shelf_get(const struct uslub_cache *s, struct kmem_cache_cpu *c,
		      struct page_cache *pc)
{
	struct slab_sheaf *sp = c->spare, *full;

	if (!sp || list_empty(&sp->barn_list))
		return false;
	full = list_first_entry(&sp->barn_list, struct slab_sheaf, barn_list);
	if (!full->size)
		return false;
	list_del(&full->barn_list);
	sp->shelf.objects -= full->size;
	shelf_uncharge(s, pc, full->size);
	barrier();		/* the shelf lets go before main holds it */
	main_save(c);
	list_add_tail(&c->main->barn_list, &sp->barn_list);
	main_install(c, full);
	set_spare(c, sp);
	stat(c, SHEAF_SWAP);
	return true;
}

/* An empty main, replaced from the barn, can wait at the shelf's back
 * for the next overflow (no lock then). */
static bool shelf_keep_empty(struct uslub_cache *s, struct kmem_cache_cpu *c,
			     struct slab_sheaf *sh)
{
	struct slab_sheaf *sp = c->spare;

	if (!shelf_on(s, c) || sp->shelf.sheaves >= SHELF_SHEAVES)
		return false;
	list_add_tail(&sh->barn_list, &sp->barn_list);
	sp->shelf.sheaves++;
	return true;
}

/*
 * Objects of sh back to the slabs; sh stays, empty.  The count is cleared
 * before the objects go (a release store): a fork child flushes the
 * sheaves of the threads that did not come along from whatever state fork
 * caught them in, and must never free an object twice (it may leak one).
 */
static void sheaf_flush(struct uslub_cache *s, struct kmem_cache_cpu *c,
			struct page_cache *pc, struct slab_sheaf *sh)
{
	unsigned int n = sh->size;

	if (!n)
		return;
	__atomic_store_n(&sh->size, 0, __ATOMIC_RELEASE);
	slab_free_bulk(s, c, pc, sh->objects, n);
	stat_add(c, SHEAF_FLUSH, n);
}

/* Main's objects leave the slot: its count saved into main->size (which
 * the caller flushes), the slot's top reset first.  Returns the count. */
static unsigned int main_detach(struct kmem_cache_cpu *c)
{
	main_save(c);
	cpu_moved(c, c->main->size, 0);
	__atomic_store_n(&c->top, c->objects, __ATOMIC_RELEASE);
	return c->main->size;
}

/* Main emptied the same way: the slot's top first. */
static void flush_main(struct uslub_cache *s, struct kmem_cache_cpu *c,
		       struct page_cache *pc)
{
	main_detach(c);
	sheaf_flush(s, c, pc, c->main);
}

/* ---- Barn ------------------------------------------------------------ */

void barn_init(struct barn *barn, unsigned int capacity, unsigned int size)
{
	unsigned long bytes = (unsigned long)MAX(capacity, 1u) * size;
	/* SLUB's 10 sheaves, but no more than BARN_FLOOR_BYTES of the
	 * biggest objects (8 sheaves of 4 objects of 32 KiB). */
	unsigned long floor = CLAMP(BARN_FLOOR_BYTES / bytes, 2UL,
				    (unsigned long)MAX_FULL_SHEAVES);

	barn->max_full = (unsigned int)CLAMP(BARN_BYTES / bytes, floor,
					     (unsigned long)BARN_MAX_FULL);
	barn->capacity = MAX(capacity, 1u);
	spin_init(&barn->lock);
	list_init(&barn->sheaves_full);
	list_init(&barn->sheaves_empty);
	barn->nr_full = barn->nr_empty = 0;
	barn->users = 0;
	barn->objects = 0;
	barn->draining = false;
	barn->grown = 0;
	barn->drainer = THREAD_IDX_NONE;
	barn->overflowed = false;
	barn->armed = false;
}

/* Each thread that fills and drains batches parks its sheaves in the
 * barn between the two; with one allowance for all, two threads each
 * replacing 1024 objects of 200 bytes overflowed it every round and
 * flushed to the slabs, and ran no faster than one. */
static __always_inline unsigned int limit_of(const struct barn *barn)
{
	unsigned int users = MAX(READ_ONCE(barn->users), 1u);

	return (unsigned int)MIN((unsigned long)barn->max_full * users +
				 READ_ONCE(barn->grown),
				 (unsigned long)MAX(barn->max_full,
						    BARN_MAX_FULL));
}

unsigned int barn_limit(const struct barn *barn)
{
	return limit_of(barn);
}

/*
 * A refill of thread owner finds no full sheaf in a barn that its own
 * frees drained just before (they overflowed it and went to the slabs),
 * or, once grown, overflowed since the last refill that went to the
 * slabs, and goes to the slabs itself: the thread takes back what it
 * freed, a swing bigger than the barn.  At the second such swing the
 * barn may hold max_full sheaves more, and at each after that twice what
 * it grew by, within BARN_MAX_FULL sheaves and BARN_GROW_BYTES of
 * objects: the next swing stays in sheaves, with no round trip through
 * the slabs.  One swing is not enough: a program that freed a batch of
 * 16 KiB blocks, then allocated a big heap and freed it shuffled, kept
 * 3 MiB more after the frees in barns grown at its first allocations.
 * A grown barn that overflows gives its oldest sheaves to the slabs
 * rather than drain (sheaf_overflow_push), so a swing bigger than the
 * growth still keeps its newest objects in sheaves.  Sheaves that sit in
 * the barn past decay_ms, and a trim, take the growth back
 * (barn_take_idle_locked, barn_shrink).  A program that frees a big heap
 * and stops keeps the limit it had, as does one whose threads allocate
 * what another freed (those frees would wait in the barn only to be
 * flushed: threads that each allocated 200 objects and exited, freed by
 * the main thread round after round, held 17 MiB more after the eighth
 * round's frees when any refill grew the barn).
 * 20000 blocks of 80 bytes allocated and freed in random order, round
 * after round, went through the slabs each round (a cmpxchg16b per slab
 * group, a walk of cold free pointers) at 28 ns a malloc+free; with the
 * barn grown they stay in sheaves: 16 ns, against mimalloc's 11,
 * jemalloc's 19 and tcmalloc's 26 (medians of 9 runs).
 */
static void barn_grow_locked(struct barn *barn, unsigned int size,
			     unsigned int owner)
{
	unsigned long bytes = (unsigned long)barn->capacity * size;
	unsigned int more, most;

	if (barn->drainer != owner)
		return;
	if (barn->armed) {
		more = MAX(barn->grown, barn->max_full);
		most = (unsigned int)MIN(BARN_GROW_BYTES / bytes,
					 (unsigned long)BARN_MAX_FULL);
		WRITE_ONCE(barn->grown, MIN(barn->grown + more, most));
	}
	barn->armed = true;
}

/* Room in the barn for one more full sheaf of n objects: within
 * barn_limit sheaves, and within as many sheaves' worth of objects at the
 * cache's sheaf_capacity (a grown slot's sheaves hold more). */
static __always_inline bool barn_room_locked(const struct barn *barn,
					     unsigned int n)
{
	unsigned int limit = limit_of(barn);

	return barn->nr_full < limit &&
	       barn->objects + n <= (uint64_t)limit * barn->capacity;
}

static struct slab_sheaf *barn_take_locked(struct list_head *list, bool newest)
{
	struct list_head *e = newest ? list->prev : list->next;

	list_del(e);
	return list_entry(e, struct slab_sheaf, barn_list);
}

static void barn_put_empty_locked(struct barn *barn, struct slab_sheaf *sh)
{
	list_add(&sh->barn_list, &barn->sheaves_empty);
	barn->nr_empty++;
}

/* Full sheaves stay oldest first: a thread's clock may lag (it is read
 * every few slow paths), so a sheaf is never stamped before the last. */
static void barn_put_full_locked(struct barn *barn, struct slab_sheaf *sh,
				 uint64_t now, unsigned int owner)
{
	struct slab_sheaf *last;

	if (barn->nr_full) {
		last = list_entry(barn->sheaves_full.prev, struct slab_sheaf,
				  barn_list);
		now = MAX(now, last->time);
	}
	sh->time = now;
	sh->owner = (uint16_t)owner;
	list_add_tail(&sh->barn_list, &barn->sheaves_full);
	WRITE_ONCE(barn->nr_full, barn->nr_full + 1);
	barn->objects += sh->size;
}

/*
 * A full sheaf for thread owner's refill: among the scan newest, the
 * newest that owner filled itself, else the newest that no live thread
 * that allocates too filled: a consumer's (a sheaf its slot gave beyond
 * the refills it made, see sheaf_overflow_push), or one of a thread that
 * exited (fork's child, a destroy).  A slot that parked no sheaf takes
 * the first such without looking further.  Failing those, a barn holding
 * more than max_full sheaves gives its oldest to anyone: the threads that
 * parked them are not taking them back as fast as they park them.  NULL
 * if none: the refill goes to the slabs.  Owner THREAD_IDX_NONE: the
 * newest.
 *
 * A thread that takes back its own objects writes lines that its core
 * already holds.  One that takes the sheaf of another live thread that
 * allocates the same size gets blocks next to the ones that thread still
 * uses, on the same lines or the adjacent-line prefetchers' pairs: two
 * threads that each fill and drain 1024 blocks of 64 bytes, the second a
 * little late in its first round, took sheaves the first had just freed
 * and kept each other's blocks on neighbouring lines (about 200 of 1024
 * blocks) for good; a standalone program of that ran at 398 M ops/s
 * (median of 12; 171-226 in three) against 428 (338-579) with the
 * rule.  A producer still gets its consumer's sheaves.  The scan is
 * bounded (BARN_SCAN more than the sheaves the slot parked there): each
 * sheaf header is a line that other threads wrote, read under the barn's
 * lock.
 */
static struct slab_sheaf *barn_get_full_locked(struct barn *barn,
					       unsigned int owner,
					       unsigned int scan, bool parked)
{
	struct slab_sheaf *sh, *other;
	struct list_head *e;
	unsigned int n = 1;

	if (!barn->nr_full)
		return NULL;
	sh = list_entry(barn->sheaves_full.prev, struct slab_sheaf, barn_list);
	if (owner == THREAD_IDX_NONE || sh->owner == owner ||
	    (!sh->swing && !parked))
		goto take;
	other = sh->swing ? NULL : sh;		/* the newest, looked at */
	for (e = sh->barn_list.prev; e != &barn->sheaves_full && n < scan;
	     e = e->prev, n++) {
		sh = list_entry(e, struct slab_sheaf, barn_list);
		if (sh->owner == owner)
			goto take;
		if (!sh->swing) {
			if (!parked)
				goto take;
			if (!other)
				other = sh;
		}
	}
	sh = other;
	if (!sh) {
		if (barn->nr_full <= barn->max_full)
			return NULL;
		sh = list_first_entry(&barn->sheaves_full, struct slab_sheaf,
				      barn_list);
	}
take:
	list_del(&sh->barn_list);
	WRITE_ONCE(barn->nr_full, barn->nr_full - 1);
	barn->objects -= sh->size;
	return sh;
}

static struct slab_sheaf *barn_get_empty_locked(struct barn *barn)
{
	if (!barn->nr_empty)
		return NULL;
	barn->nr_empty--;
	return barn_take_locked(&barn->sheaves_empty, true);
}

/*
 * Whether the barn keeps one more empty sheaf: MAX_EMPTY_SHEAVES, and as
 * many more as it grew by (barn_grow_locked).  A grown barn's full
 * sheaves all come back empty when the swing is taken back, and the next
 * swing needs them again: with 16 kept, 20000 blocks of 80 bytes freed
 * and allocated again round after round took a sheaf from the pool for
 * nearly every one it gave the barn (13264 in 100 rounds).
 */
static __always_inline bool barn_keeps_empty(const struct barn *barn)
{
	return barn->nr_empty < MAX_EMPTY_SHEAVES + barn->grown;
}

/* An empty sheaf the slot no longer needs: to the barn, else the pool
 * (counted on c). */
static void barn_return_empty(struct barn *barn, struct kmem_cache_cpu *c,
			      struct slab_sheaf *sh)
{
	spin_acquire(&barn->lock);
	if (barn_keeps_empty(barn)) {
		barn_put_empty_locked(barn, sh);
		sh = NULL;
	}
	spin_release(&barn->lock);
	if (sh) {
		sheaf_free(sh);
		stat(c, SHEAF_FREE);
	}
}

/*
 * Moves up to max full sheaves that entered the barn before cutoff onto
 * out (oldest first); the caller flushes them outside the lock.
 */
static __always_inline unsigned int
barn_take_old_locked(struct barn *barn, uint64_t cutoff, struct list_head *out,
		     unsigned int max)
{
	unsigned int n = 0;

	while (n < max && barn->nr_full) {
		struct slab_sheaf *sh = list_first_entry(&barn->sheaves_full,
							 struct slab_sheaf,
							 barn_list);

		if (sh->time > cutoff)
			break;
		barn_take_locked(&barn->sheaves_full, false);
		WRITE_ONCE(barn->nr_full, barn->nr_full - 1);
		barn->objects -= sh->size;
		list_add_tail(&sh->barn_list, out);
		n++;
	}
	return n;
}

/* The calling thread's flush scratch, pc's: its block from the page
 * layer, got at the first use where create (which may reclaim); NULL if
 * it has none. */
static struct flush_scratch *flush_scratch_get(struct page_cache *pc,
					       bool create)
{
	struct slab *b;

	if (!pc || (!pc->flush_scratch && !create))
		return NULL;
	if (!pc->flush_scratch) {
		b = page_alloc(NULL, FLUSH_SCRATCH_ORDER);
		if (!b)
			return NULL;
		page_prep_block(b, FLUSH_SCRATCH_ORDER, 0); /* internal */
		pc->flush_scratch = b;
	}
	return page_address(pc->flush_scratch);
}

/* sh's objects into the scratch at *n, sh left empty (its count cleared
 * first, as sheaf_flush does). */
static void wide_gather(struct flush_scratch *fs, unsigned int *n,
			struct slab_sheaf *sh, unsigned int size)
{
	__atomic_store_n(&sh->size, 0, __ATOMIC_RELEASE);
	memcpy(fs->objs + *n, sh->objects, size * sizeof(void *));
	*n += size;
}

/*
 * Flush the sheaves on list and give them back to the barn as empty;
 * with slot, c's main and spare sheaves too (left empty in place, first;
 * not the spare's shelf).  With fs, their objects go back to the slabs
 * up to FLUSH_WIDE_MAX at a time (slab_free_wide), else sheaf by sheaf.
 */
static void flush_sheaves(struct uslub_cache *s, struct kmem_cache_cpu *c,
			  struct page_cache *pc, struct flush_scratch *fs,
			  struct list_head *list, bool slot)
{
	struct slab_sheaf *sh;
	unsigned int n = 0, size;

	if (!fs) {
		if (slot) {
			flush_main(s, c, pc);
			if (c->spare) {
				sheaf_flush(s, c, pc, c->spare);
				set_spare(c, c->spare);
			}
		}
		list_for_each_entry_safe(sh, list, barn_list) {
			list_del(&sh->barn_list);
			sheaf_flush(s, c, pc, sh);
			barn_return_empty(&s->barn, c, sh);
		}
		return;
	}
	if (slot) {
		wide_gather(fs, &n, c->main, main_detach(c));
		if (c->spare) {
			wide_gather(fs, &n, c->spare, c->spare->size);
			set_spare(c, c->spare);
		}
	}
	list_for_each_entry(sh, list, barn_list) {
		size = sh->size;
		if (n + size > FLUSH_WIDE_MAX) {
			slab_free_wide(s, c, pc, fs, n);
			stat_add(c, SHEAF_FLUSH, n);
			n = 0;
		}
		wide_gather(fs, &n, sh, size);
	}
	if (n) {
		slab_free_wide(s, c, pc, fs, n);
		stat_add(c, SHEAF_FLUSH, n);
	}
	list_for_each_entry_safe(sh, list, barn_list) {
		list_del(&sh->barn_list);
		barn_return_empty(&s->barn, c, sh);
	}
}

/* Flush the sheaves on list and give them back to the barn as empty: all
 * at once where the thread has its flush scratch. */
static void flush_list(struct uslub_cache *s, struct kmem_cache_cpu *c,
		       struct page_cache *pc, struct list_head *list)
{
	flush_sheaves(s, c, pc, flush_scratch_get(pc, false), list, false);
}

/*
 * A grown barn without room for thread owner's full main: its oldest
 * sheaves, a quarter of them but no more than one wide flush's worth,
 * onto out for the caller to flush (a swing bigger than the growth keeps
 * its newest objects in sheaves), and the overflow noted for the growth
 * (barn_grow_locked).  Returns how many; 0 (an empty barn) leaves the
 * overflow to drain.
 */
static unsigned int barn_evict_locked(struct barn *barn, struct list_head *out,
				      unsigned int owner)
{
	unsigned int k = MIN(barn->nr_full / 4, FLUSH_WIDE_MAX / barn->capacity);

	list_init(out);
	k = barn_take_old_locked(barn, UINT64_MAX, out, MAX(k, 1u));
	if (k) {
		barn->overflowed = true;
		barn->drainer = (uint16_t)owner;
	}
	return k;
}

static uint64_t decay_cutoff(uint64_t now)
{
	unsigned long decay = READ_ONCE(uslub_opt.decay_ms);

	return now > decay ? now - decay : 0;
}

/* barn_take_old_locked of the sheaves idle past decay_ms at now: a barn
 * that had any is not swinging, and its growth goes back. */
static __always_inline unsigned int
barn_take_idle_locked(struct barn *barn, uint64_t now, struct list_head *out,
		      unsigned int max)
{
	unsigned int n = barn_take_old_locked(barn, decay_cutoff(now), out,
					      max);

	if (n) {
		WRITE_ONCE(barn->grown, 0);
		barn->armed = false;
	}
	return n;
}

void barn_decay(struct uslub_cache *s, struct kmem_cache_cpu *c,
		struct page_cache *pc, uint64_t now)
{
	struct list_head old;
	unsigned int n;

	if (!READ_ONCE(s->barn.nr_full))
		return;
	list_init(&old);
	spin_acquire(&s->barn.lock);
	n = barn_take_idle_locked(&s->barn, now, &old,
				 BARN_MAX_FULL);
	spin_release(&s->barn.lock);
	if (n) {
		stat_add(c, BARN_DECAY, n);
		flush_list(s, c, pc, &old);
	}
}

void barn_shrink(struct uslub_cache *s, struct kmem_cache_cpu *c,
		 struct page_cache *pc)
{
	struct list_head full, empty;
	struct slab_sheaf *sh;

	list_init(&full);
	list_init(&empty);
	spin_acquire(&s->barn.lock);
	WRITE_ONCE(s->barn.grown, 0);
	s->barn.armed = false;
	while ((sh = barn_get_full_locked(&s->barn, THREAD_IDX_NONE, 0,
					  false)))
		list_add_tail(&sh->barn_list, &full);
	while ((sh = barn_get_empty_locked(&s->barn)))
		list_add_tail(&sh->barn_list, &empty);
	spin_release(&s->barn.lock);
	list_for_each_entry_safe(sh, &full, barn_list) {
		list_del(&sh->barn_list);
		sheaf_flush(s, c, pc, sh);
		sheaf_free(sh);
		stat(c, SHEAF_FREE);
	}
	list_for_each_entry_safe(sh, &empty, barn_list) {
		list_del(&sh->barn_list);
		sheaf_free(sh);
		stat(c, SHEAF_FREE);
	}
}

void barn_occupancy(struct uslub_cache *s, unsigned int *nr_full,
		    unsigned int *nr_empty, unsigned long *objects)
{
	spin_acquire(&s->barn.lock);
	*nr_full = s->barn.nr_full;
	*nr_empty = s->barn.nr_empty;
	*objects = s->barn.objects;
	spin_release(&s->barn.lock);
}

/* ---- Refill and overflow --------------------------------------------- */

/*
 * The objects come into a local array and only then into main: under the
 * limit, slab_alloc_bulk may reclaim, and the shrinkers it runs may free
 * objects of s on this thread, which lands them in this slot (main may
 * even have overflowed into the barn and been replaced).  Whatever main
 * holds afterwards, the new objects fill it up and the rest go back.
 */
static void *refill_from_slabs(struct uslub_cache *s, struct kmem_cache_cpu *c,
			       struct page_cache *pc)
{
	void *objs[SHEAF_MAX_CAPACITY];
	unsigned int n, k;

	n = slab_alloc_bulk(s, c, pc, objs, cpu_capacity(c));
	if (!n)
		return NULL;
	stat_add(c, SHEAF_REFILL, n);
	k = MIN(n - 1, (unsigned int)(c->end - c->top));
	memcpy(c->top, objs + 1, k * sizeof(void *));
	cpu_set_size(c, cpu_size(c) + k);
	if (k < n - 1) {
		slab_free_bulk(s, c, pc, objs + 1 + k, n - 1 - k);
		stat_add(c, SHEAF_FLUSH, n - 1 - k);
	}
	return objs[0];
}

/*
 * SLUB's __pcs_replace_empty_main, with a spare that holds objects
 * giving half (take_from_spare) rather than trading places with main.
 * The barn trade gives the barn our
 * empty main (or keeps it as the spare) for its warmest full sheaf; on the
 * way, sheaves that sat in the barn past decay_ms are taken out and
 * flushed.  Only then the slabs.
 */
void *sheaf_refill_pop(struct uslub_cache *s, struct kmem_cache_cpu *c,
		       struct page_cache *pc, uint64_t now, unsigned int owner)
{
	struct slab_sheaf *full, *empty = NULL;
	struct list_head old;
	unsigned int nold;
	bool drained;

	USLUB_ASSERT(c->main && c->top == c->objects);
	if (c->spare && c->spare->size) {
		take_from_spare(c);
		return pop_main(c);
	}
	slot_adapt(s, c, TRADE_REFILL);
	c->allocs += c->allocs < SWING_PUTS;
	if (shelf_get(s, c, pc))
		return pop_main(c);
	list_init(&old);
	spin_acquire(&s->barn.lock);
	drained = s->barn.draining;
	s->barn.draining = false;		/* allocations are back */
	full = barn_get_full_locked(&s->barn, owner, c->parked + BARN_SCAN,
				    c->parked);
	if (!full) {
		if (drained || (s->barn.overflowed && s->barn.grown))
			barn_grow_locked(&s->barn, s->size, owner);
		s->barn.overflowed = false;
	}
	if (full && c->parked)
		c->parked = full->owner == owner ? c->parked - 1 : 0;
	else if (!c->stat[BARN_GET] && !c->stat[BARN_GET_FAIL])
		c->parked = 0;	/* nothing inherited: stop looking */
	nold = barn_take_idle_locked(&s->barn, now, &old, 2);
	if (full) {
		main_save(c);
		if (!c->spare)
			spare_install(c, c->main);
		else if (shelf_keep_empty(s, c, c->main))
			;			/* for the next overflow */
		else if (barn_keeps_empty(&s->barn))
			barn_put_empty_locked(&s->barn, c->main);
		else
			empty = c->main;
		main_install(c, full);
	}
	spin_release(&s->barn.lock);
	if (nold) {
		stat_add(c, BARN_DECAY, nold);
		flush_list(s, c, pc, &old);
	}
	if (full) {
		stat(c, BARN_GET);
		if (empty) {
			sheaf_free(empty);
			stat(c, SHEAF_FREE);
		}
		return pop_main(c);
	}
	stat(c, BARN_GET_FAIL);
	return refill_from_slabs(s, c, pc);
}

/*
 * SLUB's __pcs_replace_full_main, except that a spare with room takes
 * main's older half (give_to_spare) rather than main's place; else main
 * goes to the barn for an empty sheaf (the barn's, or a new one); a barn
 * already at its limit (barn_limit) makes main flush to the slabs
 * instead, and the barn's sheaves with it (draining, below).  A new sheaf
 * is allocated before main is given away, and main is looked at again
 * afterwards: a reclaim inside the allocation may have flushed it.
 */
void sheaf_overflow_push(struct uslub_cache *s, struct kmem_cache_cpu *c,
			 struct page_cache *pc, void *obj, uint64_t now,
			 unsigned int owner)
{
	struct slab_sheaf *empty = NULL, *fresh = NULL;
	struct list_head old;
	bool room;

	USLUB_ASSERT(c->main && c->top == c->end);
	if (give_to_spare(c)) {
		push_main(c, obj);
		return;
	}
	slot_adapt(s, c, TRADE_OVERFLOW);
	/* grown, or shelved */
	if (c->top < c->end || shelf_put(s, c, pc, owner)) {
		push_main(c, obj);
		return;
	}
	for (;;) {
		spin_acquire(&s->barn.lock);
		room = barn_room_locked(&s->barn, (unsigned int)cpu_size(c));
		if (!room && s->barn.grown && !s->barn.draining &&
		    barn_evict_locked(&s->barn, &old, owner)) {
			spin_release(&s->barn.lock);
			/* may reclaim, which may flush main */
			flush_sheaves(s, c, pc, flush_scratch_get(pc, true), &old,
				      false);
			if (c->top < c->end) {
				if (fresh)
					barn_return_empty(&s->barn, c, fresh);
				push_main(c, obj);
				return;
			}
			continue;
		}
		if (!room || s->barn.draining)
			break;
		empty = barn_get_empty_locked(&s->barn);
		if (!empty)
			empty = fresh;
		if (empty) {
			/* Marked as an allocating slot's while the slot's
			 * refills cover its puts (one credit a refill, one
			 * spent a put): a thread that frees more than it
			 * allocates marks its surplus anyone's.  A credit per
			 * refill rather than SWING_PUTS at once: consumers
			 * that built map keys between their frees refilled
			 * every few puts, kept every sheaf their own, and the
			 * producers went to the slabs (a C++ pipeline of four
			 * producers and four consumers: 41 MiB peak RSS, 27
			 * with this, 18 % less time). */
			main_save(c);
			c->main->swing = c->allocs;
			c->allocs -= !!c->allocs;
			barn_put_full_locked(&s->barn, c->main, now, owner);
			if (c->parked < UINT8_MAX)
				c->parked++;
			if (empty != fresh && fresh)
				barn_put_empty_locked(&s->barn, fresh);
			/* Under the lock, which fork waits for: a child
			 * never finds main both in the barn and the slot. */
			main_install(c, empty);
			spin_release(&s->barn.lock);
			stat(c, BARN_PUT);
			push_main(c, obj);
			return;
		}
		spin_release(&s->barn.lock);
		fresh = sheaf_new(s->sheaf_max, pc, owner);
		if (!fresh)
			goto flush;
		stat(c, SHEAF_ALLOC);
		if (c->top < c->end) {	/* flushed meanwhile */
			barn_return_empty(&s->barn, c, fresh);
			push_main(c, obj);
			return;
		}
	}
	/* Frees outran allocations by a whole barn: hand every sheaf of it
	 * back, and keep flushing until the next refill.  A program that
	 * frees a big heap in random order would otherwise end with the
	 * barn's sheaves pinning a slab per object (52 MiB after freeing a
	 * shuffled 1 GiB heap instead of 27).  Main and the spare go with
	 * them, in one pass where the thread has its flush scratch: the
	 * spare fills again from main's older half (give_to_spare) before
	 * the next flush, so each takes two sheaves' objects, the most a
	 * slot held before, rather than one.  A program freeing 20000
	 * blocks of 80 bytes in random order flushed sheaf by sheaf, each
	 * of 123 objects on about 95 slabs: 0.86 cmpxchg16b a malloc+free,
	 * 0.79 this way (bench/hotpath tree20k). */
	list_init(&old);
	s->barn.draining = true;
	s->barn.overflowed = true;
	s->barn.drainer = (uint16_t)owner;
	barn_take_old_locked(&s->barn, UINT64_MAX, &old, BARN_MAX_FULL);
	spin_release(&s->barn.lock);
	if (fresh)
		barn_return_empty(&s->barn, c, fresh);
	stat(c, BARN_PUT_FAIL);
	/* A reclaim inside the scratch's allocation may flush main: what
	 * main holds is read afterwards. */
	flush_sheaves(s, c, pc, flush_scratch_get(pc, true), &old, true);
	push_main(c, obj);
	return;
flush:
	stat(c, BARN_PUT_FAIL);
	flush_main(s, c, pc);
	push_main(c, obj);
}

/* ---- Flush and release ----------------------------------------------- */


/* One of a departing slot's sheaves: a non-empty one joins the barn's
 * full sheaves where there is room (keep), else is flushed; an empty one
 * joins the barn's empty ones, else the pool.  A kept sheaf is anyone's
 * (no live thread's) but carries the departing thread's index (owner):
 * the next thread to get that index takes it back first (sheaf_slot_init,
 * INHERIT_SCAN). */
static void release_sheaf(struct uslub_cache *s, struct kmem_cache_cpu *c,
			  struct page_cache *pc, struct slab_sheaf *sh,
			  bool keep, uint64_t now, unsigned int owner)
{
	if (sh->size && keep) {
		spin_acquire(&s->barn.lock);
		if (barn_room_locked(&s->barn, sh->size)) {
			sh->swing = false;	/* no live thread's */
			barn_put_full_locked(&s->barn, sh, now, owner);
			sh = NULL;
		}
		spin_release(&s->barn.lock);
		if (!sh) {
			stat(c, BARN_PUT);
			return;
		}
	}
	sheaf_flush(s, c, pc, sh);
	barn_return_empty(&s->barn, c, sh);
}

/*
 * Every sheaf leaves the shelf as release_sheaf hands it over: with keep
 * (thread exit, fork's child, destroy), full ones to the barn where it
 * has room; without (trim, shrink, a flush request), flushed and given
 * back empty.
 */
static void shelf_empty(struct uslub_cache *s, struct kmem_cache_cpu *c,
			struct page_cache *pc, bool keep, uint64_t now,
			unsigned int owner)
{
	struct slab_sheaf *sp = c->spare, *sh;

	shelf_uncharge(s, pc, sp->shelf.objects);
	list_for_each_entry_safe(sh, &sp->barn_list, barn_list) {
		list_del(&sh->barn_list);
		release_sheaf(s, c, pc, sh, keep, now, owner);
	}
	sp->shelf.objects = 0;
	sp->shelf.sheaves = 0;
	set_spare(c, sp);
}

void sheaf_slot_flush(struct uslub_cache *s, struct kmem_cache_cpu *c,
		      struct page_cache *pc)
{
	if (c->main)
		flush_main(s, c, pc);
	if (c->spare) {
		shelf_empty(s, c, pc, false, 0, THREAD_IDX_NONE);
		sheaf_flush(s, c, pc, c->spare);
		set_spare(c, c->spare);
	}
}

void sheaf_slot_release(struct uslub_cache *s, struct kmem_cache_cpu *c,
			struct page_cache *pc, bool keep, unsigned int owner)
{
	uint64_t now = os_now_ms();
	struct list_head extra;
	unsigned int n = 0, limit;

	/* The departing slot's allowance goes first: its sheaves join the
	 * barn only where the remaining users leave room, and what the barn
	 * holds beyond their limit is flushed. */
	if (c->bound)			/* counted by sheaf_slot_init */
		atomic_add(s->barn.users, -1);
	if (c->main) {
		main_save(c);
		release_sheaf(s, c, pc, c->main, keep, now, owner);
	}
	if (c->spare) {
		shelf_empty(s, c, pc, keep, now, owner);
		release_sheaf(s, c, pc, c->spare, keep, now, owner);
	}
	cpu_moved(c, cpu_size_racy(c), 0);	/* fork's child: any state */
	c->main = NULL;
	set_spare(c, NULL);
	WRITE_ONCE(c->objects, NULL);
	WRITE_ONCE(c->end, NULL);
	WRITE_ONCE(c->top, NULL);
	c->bound = 0;
	list_init(&extra);
	spin_acquire(&s->barn.lock);
	limit = barn_limit(&s->barn);
	while (s->barn.nr_full > limit ||
	       s->barn.objects > (uint64_t)limit * s->barn.capacity) {
		if (!barn_take_old_locked(&s->barn, UINT64_MAX, &extra, 1))
			break;
		n++;
	}
	spin_release(&s->barn.lock);
	if (n) {
		stat_add(c, BARN_DECAY, n);
		flush_list(s, c, pc, &extra);
	}
}
