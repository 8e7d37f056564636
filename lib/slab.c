/*
 * slab.c - L4: slab geometry, creation, the SLUB slow paths, deactivation.
 *
 * Entry points: slab_calculate_sizes (cache create), slab_alloc_slow and
 * slab_free_slow (from the fast paths), slab_flush_cpu, slab_shrink_partial
 * and slab_release_all (shrink, destroy, thread exit).  Uses the page layer
 * below; the locking rules are in cache.c's essay.
 */
#include <stdlib.h>
#include <string.h>

#include "slab.h"
#include "debug.h"
#include "pagemap.h"
#include "assert.h"
#include "log.h"
#include "options.h"

#define MIN_PARTIAL		5
#define MAX_PARTIAL		10
#define SHRINK_PROMOTE_MAX	32
#define CACHE_LINE		64

/* ---- Geometry (mm/slub.c calculate_sizes, calculate_order) ----------- */

static unsigned int calculate_alignment(uslub_slab_flags_t flags,
					unsigned int align, unsigned int size)
{
	if (flags & USLUB_HWCACHE_ALIGN) {
		unsigned int ralign = CACHE_LINE;

		while (size <= ralign / 2)
			ralign /= 2;
		align = MAX(align, ralign);
	}
	align = MAX(align, (unsigned int)sizeof(void *));
	return ALIGN_UP(align, (unsigned int)sizeof(void *));
}

static unsigned int order_objects(unsigned int order, unsigned int size)
{
	return (unsigned int)((PAGE_SIZE << order) / size);
}

/* The lowest order in [min_order, max_order] wasting at most 1/fract. */
static unsigned int calc_slab_order(unsigned int size, unsigned int min_order,
				    unsigned int max_order, unsigned int fract)
{
	unsigned int order;

	for (order = min_order; order <= max_order; order++) {
		unsigned long slab_size = PAGE_SIZE << order;
		unsigned long rem = slab_size % size;

		if (rem <= slab_size / fract)
			break;
	}
	return order;
}

unsigned int slab_calculate_order(unsigned int size, unsigned int ncpus)
{
	unsigned int min_objects, max_objects, fraction, order;

	min_objects = 4 * (unsigned int)(fls(ncpus) + 1);
	max_objects = MIN(order_objects(SLUB_MAX_ORDER, size),
			  (unsigned int)MAX_OBJS_PER_SLAB);
	min_objects = MIN(min_objects, MAX(max_objects, 1u));
	for (fraction = 16; fraction > 1; fraction /= 2) {
		order = get_order((unsigned long)min_objects * size);
		order = calc_slab_order(size, order, SLUB_MAX_ORDER, fraction);
		if (order <= SLUB_MAX_ORDER)
			return order;
	}
	/* Objects too big for SLUB_MAX_ORDER: one object in the smallest fit. */
	return get_order(size);
}

/*
 * kmalloc classes above 8 KiB (the kernel has none): SLUB's rule would
 * give 20 KiB objects an order-3 slab holding one, wasting 37 %.  These
 * take the lowest order from the one holding two objects up to
 * KMALLOC_BIG_ORDER that wastes at most 1/16, then 1/8, 1/4: at most a
 * quarter (24 KiB: two in 64 KiB), 2 to 5 objects a slab.
 */
#define KMALLOC_BIG_ORDER	4

unsigned int slab_kmalloc_big_order(unsigned int size)
{
	unsigned int fraction, order;

	for (fraction = 16; fraction > 1; fraction /= 2) {
		order = get_order(2UL * size);
		order = calc_slab_order(size, order, KMALLOC_BIG_ORDER,
					fraction);
		if (order <= KMALLOC_BIG_ORDER)
			return order;
	}
	return get_order(size);
}

/*
 * Coloured caches (slab.h, slab_colour): a slab's first object starts at
 * most size - g past its first page, g the largest power of two dividing
 * both size and the page size (the slab starts at a multiple of the page),
 * and every slab must hold s->objects wherever it falls.
 */
unsigned int slab_coloured_objects(unsigned int order, unsigned int size)
{
	unsigned long slab = PAGE_SIZE << order;
	unsigned int g = MIN(size & -size, (unsigned int)PAGE_SIZE);

	return slab < size - g ? 0 : (unsigned int)((slab - (size - g)) / size);
}

/*
 * Their order: the lowest holding two objects or more that wastes at most
 * a quarter of the slab in the worst colour, and whose objects cover
 * COLOURED_MIN_PAGES pages at least, else COLOURED_MAX_ORDER.  The waste
 * is what the first object's offset leaves before it and the remainder
 * after the last; pages of it that no object reaches are never touched.
 * At most 1/8 gave five of the nine kmalloc classes slabs two or four
 * times larger and kept 1 MiB more after the memory workload freed its
 * blocks, for the same speed.  What is touched and holds no object is
 * the partly used pages at the two ends, about one page a slab on
 * average, so objects covering eight pages keep it within an eighth:
 * 4480 bytes took six objects to eight pages (15 % of what they hold
 * touched besides, over the 35 colours), now thirteen to sixteen (7 %).
 * SQLite's 4368-byte page cache, 10 MiB of them, peaked at 28.7 MiB
 * RSS with the first and 27.9 with the second (maxrss, medians of 5).
 */
#define COLOURED_MIN_PAGES	8
#define COLOURED_MAX_ORDER	6

/* Their empty slabs kept on s->partial: SLUB's count, but at most this
 * many bytes (two slabs at least), what the same classes kept with the
 * order-3 and order-4 slabs of the page-aligned layout. */
#define COLOURED_PARTIAL_BYTES	(256UL << 10)

unsigned int slab_coloured_order(unsigned int size)
{
	unsigned int order, n;

	for (order = get_order(size); order <= COLOURED_MAX_ORDER; order++) {
		unsigned long slab = PAGE_SIZE << order;

		n = slab_coloured_objects(order, size);
		if (n >= 2 && slab - (unsigned long)n * size <= slab / 4 &&
		    (unsigned long)n * size >= COLOURED_MIN_PAGES * PAGE_SIZE)
			return order;
	}
	return COLOURED_MAX_ORDER;
}

unsigned int slab_min_partial(unsigned int size)
{
	return CLAMP((unsigned int)ilog2(size) / 2, MIN_PARTIAL, MAX_PARTIAL);
}

void slab_calculate_sizes(struct uslub_cache *s, unsigned int ncpus)
{
	unsigned int size = ALIGN_UP(s->object_size, (unsigned int)sizeof(void *));

	s->align = calculate_alignment(s->flags, s->align, s->object_size);
	s->inuse = s->track_off = s->pad_off = s->red_left_pad = 0;
	s->orig_off = 0;
	/*
	 * The free pointer lives in a free object's second word: its first
	 * holds the free tag (alloc.h), which the free that put the object
	 * in a sheaf has just read and written, so a flush to the slab
	 * writes, and a refill reads, a line the object's free and alloc
	 * touch anyway.  In the middle of the object (SLUB's place since
	 * Linux 5.7, away from the edges that small overflows hit) it was a
	 * second line for objects of 128 bytes and more: 20000 objects of
	 * 256 bytes freed shuffled round after round ran 17 % slower.  The
	 * pointer is encoded and checked at every refill, so an overflow
	 * that reaches it is reported, not followed.  8-byte objects have
	 * one word.  After the object when the object's contents must
	 * survive being free (a ctor's state, RCU readers).
	 */
	if (s->flags & SLAB_DEBUG_FLAGS) {
		size = debug_calculate_layout(s, size);
	} else if (s->ctor || (s->flags & USLUB_TYPESAFE_BY_RCU)) {
		s->offset = size;
		size += sizeof(void *);
	} else {
		s->offset = s->object_size >= 2 * sizeof(void *) ?
			    sizeof(void *) : 0;
	}
	s->size = ALIGN_UP(size, s->align);
	s->reciprocal = ((1ULL << RECIPROCAL_SHIFT) - 1) / s->size + 1;
	s->coloured = !(s->flags & SLAB_DEBUG_FLAGS) &&
		      s->size > PAGE_SIZE && s->size <= SMALL_MAX &&
		      s->size % PAGE_SIZE;
	s->min_partial = slab_min_partial(s->size);
	if (s->coloured) {
		s->order = slab_coloured_order(s->size);
		s->objects = slab_coloured_objects(s->order, s->size);
		s->min_partial = CLAMP((unsigned int)(COLOURED_PARTIAL_BYTES /
						      (PAGE_SIZE << s->order)),
				       2u, s->min_partial);
	} else {
		if (s->kmalloc_idx && s->object_size > 2 * PAGE_SIZE)
			s->order = slab_kmalloc_big_order(s->size);
		else
			s->order = slab_calculate_order(s->size, ncpus);
		s->objects = MIN(order_objects(s->order, s->size),
				 (unsigned int)MAX_OBJS_PER_SLAB);
	}
}

/* ---- Helpers --------------------------------------------------------- */

static inline u128 pair(void *freelist, unsigned long counters)
{
	return (u128)(uintptr_t)freelist | ((u128)counters << 64);
}

static __always_inline bool update_freelist(struct kmem_cache_cpu *c,
					    struct slab *slab,
					    void *freelist_old,
					    unsigned long counters_old,
					    void *freelist_new,
					    unsigned long counters_new)
{
	stat(c, CMPXCHG_DOUBLE);
	if (cmpxchg16b(&slab->freelist_counters,
		       pair(freelist_old, counters_old),
		       pair(freelist_new, counters_new)))
		return true;
	cpu_relax();
	stat(c, CMPXCHG_DOUBLE_FAIL);
	return false;
}

bool slab_update_freelist(struct kmem_cache_cpu *c, struct slab *slab,
			  void *freelist_old, unsigned long counters_old,
			  void *freelist_new, unsigned long counters_new)
{
	return update_freelist(c, slab, freelist_old, counters_old,
			       freelist_new, counters_new);
}

unsigned int slab_count_free(const struct uslub_cache *s, struct slab *slab)
{
	const char *start = slab_objects_start(s, slab);
	unsigned int n = 0;
	void *p;

	for (p = READ_ONCE(slab->freelist); p && n <= s->objects;
	     p = get_freepointer(s, p)) {
		if (slab_index_at(s, start, p) < 0)
			break;		/* corrupt: never followed */
		n++;
	}
	return n;
}

/* ---- Slab creation and destruction ----------------------------------- */

/* A new slab, private to the caller: its first MIN(n, objects) objects
 * are in objs, the rest on the returned chain (NULL if none), none on
 * slab->freelist (inuse == objects).  Only the chained objects get a free
 * pointer: a sheaf refill that takes the whole slab writes none, and
 * reads none back. */
static struct slab *new_slab(struct uslub_cache *s, struct page_cache *pc,
			     void **objs, unsigned int n, void **chain)
{
	struct slab *slab = page_alloc(pc, s->order);
	union slab_counters cnt = { .counters = 0 };
	char *base, *p;
	unsigned int i;

	if (!slab)
		return NULL;
	base = slab_objects_start(s, slab);
	n = MIN(n, s->objects);
	for (i = 0, p = base; i < s->objects; i++, p += s->size) {
		if (s->ctor)
			s->ctor(p);
		if (i < n)
			objs[i] = p;
		else
			set_freepointer(s, p, i + 1 < s->objects ?
					p + s->size : NULL);
	}
	*chain = n < s->objects ? base + (size_t)n * s->size : NULL;
	if (!s->coloured) {
		page_prep_block(slab, s->order,
				(uint16_t)(s->cpu_slot << CPU_SHIFT));
	} else {		/* the slot only where an object starts */
		char *first = page_address(slab);

		page_prep_block(slab, s->order, 0);
		for (i = 0, p = base; i < s->objects; i++, p += s->size)
			page_mark_slot(slab,
				       (unsigned long)(p - first) >> PAGE_SHIFT,
				       (uint16_t)(s->cpu_slot << CPU_SHIFT));
	}
	WRITE_ONCE(slab->cache, s);
	slab->next = NULL;
	cnt.inuse = s->objects;
	cnt.objects = s->objects;
	slab->freelist = NULL;
	slab->counters = cnt.counters;
	block_set_flags(slab, PG_slab);
	atomic_add(s->nr_slabs, 1);
	return slab;
}

/* rcu_defer_slab, set once by init: rcu.c is above us (slab.h). */
void (*slab_rcu_defer_hook)(struct slab *slab);

/* May run under slab_mutex or list_lock: a TYPESAFE_BY_RCU slab is only
 * pushed for rcu.c, whose worker frees its pages after a grace period,
 * while readers may still look at its objects.  Its pages lose their
 * slot offset first, so a stray free of one of its objects cannot pass
 * the free fast path's test and land in a sheaf. */
void slab_discard(struct uslub_cache *s, struct kmem_cache_cpu *c,
		  struct page_cache *pc, struct slab *slab)
{
	USLUB_ASSERT(!slab->on_partial);
	atomic_add(s->nr_slabs, -1UL);
	stat(c, FREE_SLAB);
	if (s->flags & USLUB_TYPESAFE_BY_RCU) {
		page_prep_block(slab, slab->order, 0);
		READ_ONCE(slab_rcu_defer_hook)(slab);
		return;
	}
	page_free(pc, slab, slab->order);
}

/* ---- The cache's partial list (under list_lock) ---------------------- */

void slab_add_partial_locked(struct uslub_cache *s, struct slab *slab,
			     bool tail)
{
	USLUB_ASSERT(lock_held(&s->list_lock));
	slab->on_partial = 1;
	if (tail)
		list_add_tail(&slab->slab_list, &s->partial);
	else
		list_add(&slab->slab_list, &s->partial);
	WRITE_ONCE(s->nr_partial, s->nr_partial + 1);
}

void slab_remove_partial_locked(struct uslub_cache *s, struct slab *slab)
{
	USLUB_ASSERT(lock_held(&s->list_lock));
	list_del(&slab->slab_list);
	slab->on_partial = 0;
	WRITE_ONCE(s->nr_partial, s->nr_partial - 1);
}

/* ---- Bulk allocation: refilling a sheaf ------------------------------ */

/*
 * A free object's free pointer decoded to something that is not an object
 * of its slab: a use-after-free write over it (or a wild one).  The chain
 * is cut before it, so the bad value is never handed out; the objects
 * after it stay counted in use, lost but never given twice.
 */
static __cold void report_freepointer(struct uslub_cache *s,
				      struct slab *slab, void *obj, void *fp)
{
	log_heap_bug(1);
	log_error("alloc: cache %s: free object %p has a corrupt free pointer "
		  "(decodes to %p, not an object of slab %p): its slab's free "
		  "objects after it are dropped",
		  s->name, obj, fp, page_address(slab));
	if (options_debugging())
		log_stack();
	if (options_abort_invalid())
		abort();
}

/*
 * Take up to n objects off slab->freelist into objs with one cmpxchg16b.
 * The caller holds list_lock and slab is on s->partial (or the slab is
 * the caller's own, new one): the only taker, so the chain below the head
 * it read cannot change under it; other threads only push in front
 * (invariant 1).  The acquire load orders the walk after the pushes that
 * built the chain.  *drained: no free object left.
 */
static unsigned int take_objects(struct uslub_cache *s,
				 struct kmem_cache_cpu *c, struct slab *slab,
				 void **objs, unsigned int n, bool *drained)
{
	const char *start = slab_objects_start(s, slab);
	union slab_counters old, new;
	void *head, *p, *bad;
	unsigned int k;

	do {
		head = load_acquire(slab->freelist);
		old.counters = READ_ONCE(slab->counters);
		bad = NULL;
		for (k = 0, p = head; p && k < n; k++) {
			objs[k] = p;
			p = get_freepointer(s, p);
			if (p && unlikely(slab_index_at(s, start, p) < 0)) {
				bad = p;	/* never followed */
				p = NULL;
			}
		}
		new.counters = old.counters;
		new.inuse += k;
	} while (!slab_update_freelist(c, slab, head, old.counters, p,
				       new.counters));
	if (unlikely(bad))
		report_freepointer(s, slab, objs[k - 1], bad);
	*drained = p == NULL;
	return k;
}

/*
 * Take every free object of slab, which is on s->partial, with one
 * cmpxchg16b that leaves its freelist empty and inuse at objects, if it
 * has at most max of them (false, nothing taken, if more: frees may have
 * added some since the caller looked).  The caller holds list_lock and
 * takes the slab off the list.  *head and *cnt: the chain and its length
 * (exact: objects - inuse, read with the freelist as one pair).  The slab
 * cannot empty while the chain is out (its objects count in use), so the
 * chain is walked after list_lock is dropped (take_chains): the misses
 * on cold objects no longer hold up the refills and the full -> partial
 * frees of other threads, which wait for that lock.
 */
static bool detach_freelist(struct kmem_cache_cpu *c, struct slab *slab,
			    unsigned int max, void **head, unsigned int *cnt)
{
	union slab_counters old, new;

	do {
		*head = READ_ONCE(slab->freelist);
		old.counters = READ_ONCE(slab->counters);
		*cnt = old.objects - old.inuse;
		if (!*head || *cnt > max)
			return false;
		new.counters = old.counters;
		new.inuse = old.objects;
	} while (!update_freelist(c, slab, *head, old.counters, NULL,
				  new.counters));
	return true;
}

/* Walk a chain detached from slab (cnt objects) into objs; returns how
 * many were valid.  A corrupt free pointer ends it (report_freepointer):
 * the objects after it stay counted in use, lost but never given twice. */
static unsigned int take_chain(struct uslub_cache *s, struct slab *slab,
			       void *head, unsigned int cnt, void **objs)
{
	const char *start = slab_objects_start(s, slab);
	unsigned int k;
	void *p = head;

	for (k = 0; k < cnt; k++) {
		objs[k] = p;
		p = get_freepointer(s, p);
		if (k + 1 < cnt &&
		    unlikely(!p || slab_index_at(s, start, p) < 0)) {
			report_freepointer(s, slab, objs[k], p);
			return k + 1;
		}
	}
	return k;
}

/* A slab whose whole freelist a refill detached, to walk after unlock
 * into objs[at..at + cnt).  A refill detaches at most DETACH_MAX and
 * takes the objects of any further slab in place, under the lock: a
 * sheaf of 123 takes 16 freelists of 8 objects. */
#define DETACH_MAX	16

struct detached {
	struct slab *slab;
	void *head;
	unsigned int at, cnt;
};

/*
 * Ask for the lines of slab's free pointers before a walk of a chain of
 * cnt objects, when the chain holds half the slab or more (so most of
 * what is asked for is walked): one line per object, or every line of
 * the slab for objects under a line.  The walk's loads depend on each
 * other, and a chain that a program built by freeing in random order
 * visits the slab's lines in random order, long after they were touched:
 * a refill of 123 objects of 80 bytes from such slabs spent 13 % of a
 * round of 20000 blocks freed shuffled waiting on those loads one at a
 * time, and with the lines asked for up front the round ran 11 % faster
 * (bench/uslub-bench tree/20k, paired runs of 7).
 */
static void prefetch_chain(const struct uslub_cache *s, struct slab *slab,
			   unsigned int cnt)
{
	const char *p = slab_objects_start(s, slab) + s->offset;
	const char *end = p + (size_t)s->objects * s->size;
	size_t step = MAX((size_t)s->size, (size_t)CACHE_LINE);

	if (2 * cnt < s->objects)
		return;
	for (; p < end; p += step)
		prefetch(p);
}

/*
 * Walk the nr detached chains into their places among the len objects
 * of objs (the others taken in place, under the lock); where a corrupt
 * chain came short, close the gap.  Returns how many objs holds.
 */
static unsigned int take_chains(struct uslub_cache *s, void **objs,
				unsigned int len, const struct detached *d,
				unsigned int nr)
{
	unsigned int i, k, at, shift = 0;

	for (i = 0; i < nr; i++)
		prefetch_chain(s, d[i].slab, d[i].cnt);
	for (i = 0; i < nr; i++) {
		at = d[i].at - shift;
		k = take_chain(s, d[i].slab, d[i].head, d[i].cnt, objs + at);
		if (unlikely(k < d[i].cnt)) {
			memmove(objs + at + k, objs + at + d[i].cnt,
				(len - at - d[i].cnt) * sizeof(void *));
			len -= d[i].cnt - k;
			shift += d[i].cnt - k;
		}
	}
	return len;
}

unsigned int slab_alloc_bulk(struct uslub_cache *s, struct kmem_cache_cpu *c,
			     struct page_cache *pc, void **objs, unsigned int n)
{
	union slab_counters cnt = { .counters = 0 };
	struct detached chains[DETACH_MAX];
	unsigned int got = 0, nchains = 0;
	struct slab *slab;
	bool drained;
	void *p;

	if (READ_ONCE(s->nr_partial)) {
		lock_acquire(&s->list_lock);
		list_for_each_entry_safe(slab, &s->partial, slab_list) {
			struct detached *d = &chains[nchains];

			if (nchains < ARRAY_SIZE(chains) &&
			    detach_freelist(c, slab, n - got, &d->head,
					    &d->cnt)) {
				d->slab = slab;
				d->at = got;
				got += d->cnt;
				nchains++;
				slab_remove_partial_locked(s, slab);
			} else {
				/* More than needed: walk the few under the
				 * lock; the rest stays. */
				got += take_objects(s, c, slab, objs + got,
						    n - got, &drained);
				if (drained)
					slab_remove_partial_locked(s, slab);
			}
			if (got == n)
				break;
		}
		lock_release(&s->list_lock);
		if (got) {
			stat(c, ALLOC_FROM_PARTIAL);
			return take_chains(s, objs, got, chains, nchains);
		}
	}
	slab = new_slab(s, pc, objs, n, &p);
	if (!slab)
		return 0;
	stat(c, ALLOC_SLAB);
	got = MIN(n, s->objects);
	if (p) {
		/* The rest stays in the slab, on s->partial for anyone. */
		cnt.inuse = got;
		cnt.objects = s->objects;
		slab->freelist = p;
		slab->counters = cnt.counters;
		lock_acquire(&s->list_lock);
		slab_add_partial_locked(s, slab, false);
		lock_release(&s->list_lock);
	}
	return got;
}

/* ---- Free slow path (SLUB's __slab_free) ----------------------------- */

/* In the words of kmalloc_report_invalid (kmalloc.c), one layer up. */
static __cold void report_double_free(const char *func, struct uslub_cache *s,
				      struct slab *slab, void *obj)
{
	log_heap_bug(1);
	log_error("%s: invalid pointer %p: double free (object of cache %s "
		  "already first on the free list of slab %p)",
		  func, obj, s->name, page_address(slab));
	if (options_debugging())
		log_stack();
	if (options_abort_invalid())
		abort();
}

void slab_free_slow(const char *func, struct uslub_cache *s,
		    struct kmem_cache_cpu *c, struct page_cache *pc,
		    struct slab *slab, void *head, void *tail, unsigned int cnt)
{
	union slab_counters old, new;
	bool locked = false, on_node_partial = false;
	void *prior;

	do {
		if (locked) {
			lock_release(&s->list_lock);
			locked = false;
		}
		prior = READ_ONCE(slab->freelist);
		old.counters = READ_ONCE(slab->counters);
		if (unlikely(prior == head)) {	/* SLUB's naive check */
			report_double_free(func, s, slab, head);
			/* The caller counted these cnt frees: the objects
			 * stay in use (the active count as the slab's). */
			stat_add(c, ALLOC_SLOWPATH, cnt);
			return;
		}
		set_freepointer(s, tail, prior);
		new.counters = old.counters;
		new.inuse -= cnt;
		if (!new.inuse || !prior) {
			/* Speculatively: a list may have to change. */
			lock_acquire(&s->list_lock);
			locked = true;
			on_node_partial = slab->on_partial;
		}
	} while (!slab_update_freelist(c, slab, prior, old.counters,
				       head, new.counters));
	if (!locked)
		return;			/* partial stays partial */
	if (!new.inuse && READ_ONCE(s->nr_partial) >= s->min_partial) {
		if (on_node_partial) {
			slab_remove_partial_locked(s, slab);
			stat(c, FREE_REMOVE_PARTIAL);
		}
		lock_release(&s->list_lock);
		slab_discard(s, c, pc, slab);
		return;
	}
	if (!prior) {			/* full -> partial */
		slab_add_partial_locked(s, slab, true);
		stat(c, FREE_ADD_PARTIAL);
	}
	lock_release(&s->list_lock);
}

/*
 * Return n objects (a flushed sheaf) to their slabs: the objects of one
 * slab are chained into a detached freelist and go back with one
 * cmpxchg16b (SLUB's build_detached_freelist + __slab_free).  Sheaf
 * objects were checked when they were freed.
 *
 * The objects are grouped by slab in one pass through a small open-
 * addressed table keyed by the slab's block (a slab is 2^order pages,
 * aligned to its size by the buddy allocator, and holds its objects
 * whole: the address shifted right by PAGE_SHIFT + order names it, with
 * no load).  A sheaf freed in an order unrelated to its slabs (a tree's
 * nodes, a shuffled batch) has nearly as many slabs as objects, and
 * comparing each object with all the later ones cost 61 compares an
 * object at 123 (a 20000-object swing freed shuffled ran at 77 ns a
 * pair, 4-7 times the peers).  Groups go back in the order of their
 * first object, each chain with its first object as tail.
 */
#define FLUSH_HASH_BITS		8	/* 256 buckets for <= 123 groups */

_Static_assert(SHEAF_MAX_CAPACITY < (1u << FLUSH_HASH_BITS) / 2,
	       "flush table at most half full");
_Static_assert(FLUSH_WIDE_MAX <= (1u << FLUSH_WIDE_BITS) / 2 &&
	       FLUSH_WIDE_MAX < UINT16_MAX, "wide flush table at most half full");

static __always_inline unsigned int flush_hash(uintptr_t key,
					       unsigned int bits)
{
	return (unsigned int)((key * 0x9E3779B97F4A7C15ULL) >> (64 - bits));
}

/* Group batch objects by slab into groups, through bucket (1 << bits
 * entries, group + 1, 0 empty); returns how many groups. */
static __always_inline unsigned int
flush_group_by_slab(const struct uslub_cache *s, void **objs,
		    unsigned int batch, struct flush_group *groups,
		    uint16_t *bucket, unsigned int bits)
{
	unsigned int i, h, nr = 0, shift = PAGE_SHIFT + s->order;
	unsigned int mask = (1u << bits) - 1;

	memset(bucket, 0, sizeof(*bucket) << bits);
	for (i = 0; i < batch; i++) {
		uintptr_t key = (uintptr_t)objs[i] >> shift;
		struct flush_group *g;

		for (h = flush_hash(key, bits);; h = (h + 1) & mask) {
			if (!bucket[h]) {
				g = &groups[nr];
				bucket[h] = (uint16_t)++nr;
				g->head = objs[i];
				g->first = i;
				g->cnt = 1;
				break;
			}
			g = &groups[bucket[h] - 1];
			if ((uintptr_t)g->head >> shift == key) {
				USLUB_ASSERT(slab_of_object(objs[i]) ==
					     slab_of_object(objs[g->first]));
				set_freepointer(s, objs[i], g->head);
				g->head = objs[i];
				g->cnt++;
				break;
			}
		}
	}
	return nr;
}

/*
 * slab_free_slow's common case for a flushed group, inline: the slab had
 * free objects and keeps some in use, so no list changes (nor does the
 * double-free check fire).  False: nothing done, the slow path's turn.
 */
static __always_inline bool group_free_partial(struct uslub_cache *s,
					       struct kmem_cache_cpu *c,
					       struct slab *slab, void *head,
					       void *tail, unsigned int cnt)
{
	union slab_counters old, new;
	void *prior = READ_ONCE(slab->freelist);

	old.counters = READ_ONCE(slab->counters);
	if (!prior || prior == head || old.inuse <= cnt)
		return false;
	set_freepointer(s, tail, prior);
	new.counters = old.counters;
	new.inuse -= cnt;
	return update_freelist(c, slab, prior, old.counters, head,
			       new.counters);
}

/* Each group back to its slab, in the order of their first objects. */
static __always_inline void flush_groups(struct uslub_cache *s,
					 struct kmem_cache_cpu *c,
					 struct page_cache *pc, void **objs,
					 const struct flush_group *groups,
					 unsigned int nr)
{
	unsigned int i;

	/* a sheaf's objects were freed earlier, by free, kfree or
	 * cache_free: the flush finds it */
	for (i = 0; i < nr; i++) {
		const struct flush_group *g = &groups[i];
		void *tail = objs[g->first];
		struct slab *slab = slab_of_object(tail);

		if (!group_free_partial(s, c, slab, g->head, tail, g->cnt))
			slab_free_slow("sheaf flush", s, c, pc, slab, g->head,
				       tail, g->cnt);
	}
}

void slab_free_bulk(struct uslub_cache *s, struct kmem_cache_cpu *c,
		    struct page_cache *pc, void **objs, unsigned int n)
{
	struct flush_group groups[SHEAF_MAX_CAPACITY];
	uint16_t bucket[1u << FLUSH_HASH_BITS];
	unsigned int nr;

	while (n) {
		unsigned int batch = MIN(n, (unsigned int)SHEAF_MAX_CAPACITY);

		nr = flush_group_by_slab(s, objs, batch, groups, bucket,
					 FLUSH_HASH_BITS);
		flush_groups(s, c, pc, objs, groups, nr);
		objs += batch;
		n -= batch;
	}
}

void slab_free_wide(struct uslub_cache *s, struct kmem_cache_cpu *c,
		    struct page_cache *pc, struct flush_scratch *fs,
		    unsigned int n)
{
	unsigned int nr;

	USLUB_ASSERT(n <= FLUSH_WIDE_MAX);
	nr = flush_group_by_slab(s, fs->objs, n, fs->groups, fs->bucket,
				 FLUSH_WIDE_BITS);
	flush_groups(s, c, pc, fs->objs, fs->groups, nr);
}

/* ---- Shrink and release ---------------------------------------------- */

unsigned long slab_shrink_partial(struct uslub_cache *s,
				  struct kmem_cache_cpu *c,
				  struct page_cache *pc)
{
	struct list_head promote[SHRINK_PROMOTE_MAX];
	struct slab *slab;
	union slab_counters cnt;
	unsigned int i, free;

	for (i = 0; i < SHRINK_PROMOTE_MAX; i++)
		list_init(&promote[i]);
	lock_acquire(&s->list_lock);
	list_for_each_entry_safe(slab, &s->partial, slab_list) {
		cnt.counters = READ_ONCE(slab->counters);
		free = cnt.objects - cnt.inuse;
		if (free == cnt.objects) {
			slab_remove_partial_locked(s, slab);
			slab_discard(s, c, pc, slab);
		} else if (free && free <= SHRINK_PROMOTE_MAX) {
			list_del(&slab->slab_list);
			list_add(&slab->slab_list, &promote[free - 1]);
		}
	}
	/* Fullest first: new allocations fill them, the emptiest drain. */
	for (i = SHRINK_PROMOTE_MAX; i-- > 0;) {
		struct list_head *h = &promote[i];

		if (list_empty(h))
			continue;
		h->prev->next = s->partial.next;
		s->partial.next->prev = h->prev;
		s->partial.next = h->next;
		h->next->prev = &s->partial;
	}
	lock_release(&s->list_lock);
	return READ_ONCE(s->nr_slabs);
}

void slab_release_all(struct uslub_cache *s, struct kmem_cache_cpu *c,
		      struct page_cache *pc)
{
	struct slab *slab;

	lock_acquire(&s->list_lock);
	list_for_each_entry_safe(slab, &s->partial, slab_list) {
		slab_remove_partial_locked(s, slab);
		slab_discard(s, c, pc, slab);
	}
	lock_release(&s->list_lock);
}
