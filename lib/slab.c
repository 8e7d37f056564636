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
#include "rcu.h"

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

unsigned int slab_min_partial(unsigned int size)
{
	return CLAMP((unsigned int)ilog2(size) / 2, MIN_PARTIAL, MAX_PARTIAL);
}

/*
 * The per-thread partial budget.  SLUB's set_cpu_partial gives an object
 * count (120 for small objects ... 6 for page-sized ones) turned into
 * slabs assumed half full.  Threads are not CPUs: a per-thread chain that
 * holds slabs until they gather frees (see cpu_partial_append) wants more
 * room, so uslub allows CPU_PARTIAL_SCALE times SLUB's budget, capped at
 * CPU_PARTIAL_BYTES of slabs per thread and cache, and never below
 * SLUB's.  Measured on 16 threads of a random-replace ring: 14x the
 * throughput of SLUB's budget with the list_lock nearly never taken.
 */
#define CPU_PARTIAL_SCALE	16
#define CPU_PARTIAL_BYTES	(1UL << 20)

unsigned int slab_cpu_partial_slabs(const struct uslub_cache *s)
{
	unsigned int nr_objects, slub, cap;

	if (s->size >= PAGE_SIZE)
		nr_objects = 6;
	else if (s->size >= 1024)
		nr_objects = 24;
	else if (s->size >= 256)
		nr_objects = 52;
	else
		nr_objects = 120;
	slub = DIV_ROUND_UP(nr_objects * 2, s->objects);
	cap = (unsigned int)(CPU_PARTIAL_BYTES / (PAGE_SIZE << s->order));
	return MAX(slub, MIN(slub * CPU_PARTIAL_SCALE, cap));
}

void slab_calculate_sizes(struct uslub_cache *s, unsigned int ncpus)
{
	unsigned int size = ALIGN_UP(s->object_size, (unsigned int)sizeof(void *));

	s->align = calculate_alignment(s->flags, s->align, s->object_size);
	s->inuse = s->track_off = s->pad_off = s->red_left_pad = 0;
	/*
	 * The free pointer lives in the middle of a free object, away from
	 * the edges that small overflows of neighbours hit; after the object
	 * when the object's contents must survive being free (a ctor's state,
	 * RCU readers).
	 */
	if (s->flags & SLAB_DEBUG_FLAGS) {
		size = debug_calculate_layout(s, size);
	} else if (s->ctor || (s->flags & USLUB_TYPESAFE_BY_RCU)) {
		s->offset = size;
		size += sizeof(void *);
	} else {
		s->offset = ALIGN_DOWN(s->object_size / 2,
				       (unsigned int)sizeof(void *));
	}
	s->size = ALIGN_UP(size, s->align);
	s->reciprocal = ((1ULL << RECIPROCAL_SHIFT) - 1) / s->size + 1;
	s->order = slab_calculate_order(s->size, ncpus);
	s->objects = MIN(order_objects(s->order, s->size),
			 (unsigned int)MAX_OBJS_PER_SLAB);
	s->min_partial = slab_min_partial(s->size);
	s->cpu_partial_slabs = slab_cpu_partial_slabs(s);
}

/* ---- Helpers --------------------------------------------------------- */

static inline u128 pair(void *freelist, unsigned long counters)
{
	return (u128)(uintptr_t)freelist | ((u128)counters << 64);
}

bool slab_update_freelist(struct kmem_cache_cpu *c, struct slab *slab,
			  void *freelist_old, unsigned long counters_old,
			  void *freelist_new, unsigned long counters_new)
{
	if (cmpxchg16b(&slab->freelist_counters,
		       pair(freelist_old, counters_old),
		       pair(freelist_new, counters_new)))
		return true;
	cpu_relax();
	stat(c, CMPXCHG_DOUBLE_FAIL);
	return false;
}


unsigned int slab_count_free(const struct uslub_cache *s, struct slab *slab)
{
	unsigned int n = 0;
	void *p;

	for (p = READ_ONCE(slab->freelist); p; p = get_freepointer(s, p))
		n++;
	return n;
}

/* ---- Slab creation and destruction ----------------------------------- */

/* A new frozen slab whose objects are all on the returned chain. */
static struct slab *new_slab(struct uslub_cache *s, struct page_cache *pc,
			     void **chain)
{
	struct slab *slab = page_alloc(pc, s->order);
	union slab_counters cnt = { .counters = 0 };
	char *base, *p;
	unsigned int i;

	if (!slab)
		return NULL;
	page_prep_block(slab, s->order, (uint16_t)(s->kmalloc_idx << CPU_SHIFT));
	WRITE_ONCE(slab->cache, s);
	block_set_flags(slab, PG_slab);
	slab->next = NULL;
	cnt.inuse = s->objects;
	cnt.objects = s->objects;
	cnt.frozen = 1;
	slab->freelist = NULL;
	slab->counters = cnt.counters;
	base = page_address(slab);
	for (i = 0, p = base; i < s->objects; i++, p += s->size) {
		if (s->ctor)
			s->ctor(p);
		set_freepointer(s, p, i + 1 < s->objects ? p + s->size : NULL);
	}
	atomic_add(s->nr_slabs, 1);
	*chain = base;
	return slab;
}

/* May run under slab_mutex or list_lock: a TYPESAFE_BY_RCU slab is only
 * pushed for rcu.c, whose worker frees its pages after a grace period,
 * while readers may still look at its objects. */
void slab_discard(struct uslub_cache *s, struct kmem_cache_cpu *c,
		  struct page_cache *pc, struct slab *slab)
{
	USLUB_ASSERT(!slab->on_partial);
	atomic_add(s->nr_slabs, -1UL);
	stat(c, FREE_SLAB);
	if (s->flags & USLUB_TYPESAFE_BY_RCU) {
		rcu_defer_slab(slab);
		return;
	}
	page_free(pc, slab, slab->order);
}

/*
 * The cpu partial chain is a FIFO: slabs join at the tail and are taken
 * from the head, so a slab waits the longest possible time, gathering
 * frees, before it is frozen again.  (SLUB's chain is a stack; with
 * per-thread chains and slabs joining on their first free, a stack hands
 * back the slab with a single free object.)
 */
static void cpu_partial_append(struct kmem_cache_cpu *c, struct slab *slab)
{
	slab->next = NULL;
	if (c->partial_tail)
		c->partial_tail->next = slab;
	else
		c->partial = slab;
	c->partial_tail = slab;
	c->nr_partial++;
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

/*
 * Freeze a slab for the calling thread: take its whole freelist and mark
 * every object in use by the cpu.  Returns the freelist (NULL if the slab
 * had no free object, in which case it is left unfrozen).
 */
static void *freeze_slab(struct kmem_cache_cpu *c, struct slab *slab)
{
	union slab_counters old, new;
	void *freelist;

	do {
		freelist = READ_ONCE(slab->freelist);
		old.counters = READ_ONCE(slab->counters);
		new.counters = old.counters;
		new.inuse = old.objects;
		new.frozen = freelist != NULL;
	} while (!slab_update_freelist(c, slab, freelist, old.counters,
				       NULL, new.counters));
	return freelist;
}

/*
 * Take the first slab of s->partial for c (frozen, its freelist returned)
 * and move up to half the cpu partial budget more onto c->partial.
 */
static struct slab *get_partial(struct uslub_cache *s,
				struct kmem_cache_cpu *c, void **freelist)
{
	struct slab *slab, *got = NULL;

	if (!READ_ONCE(s->nr_partial))
		return NULL;
	lock_acquire(&s->list_lock);
	list_for_each_entry_safe(slab, &s->partial, slab_list) {
		slab_remove_partial_locked(s, slab);
		if (!got) {
			*freelist = freeze_slab(c, slab);
			USLUB_BUG_ON(!*freelist);
			got = slab;
			continue;
		}
		cpu_partial_append(c, slab);
		stat(c, CPU_PARTIAL_NODE);
		if (c->nr_partial > s->cpu_partial_slabs / 2)
			break;
	}
	lock_release(&s->list_lock);
	return got;
}

/* ---- Allocation slow path -------------------------------------------- */

static void *load_freelist(struct uslub_cache *s, struct kmem_cache_cpu *c,
			   struct slab *slab, void *freelist)
{
	cpu_set_slab(c, slab);
	c->freelist = get_freepointer(s, freelist);
	return freelist;
}

static void *alloc_from_cpu_partial(struct uslub_cache *s,
				    struct kmem_cache_cpu *c)
{
	struct slab *slab;
	void *freelist;

	while ((slab = c->partial)) {
		c->partial = slab->next;
		if (!c->partial)
			c->partial_tail = NULL;
		c->nr_partial--;
		freelist = freeze_slab(c, slab);
		if (freelist) {
			stat(c, CPU_PARTIAL_ALLOC);
			return load_freelist(s, c, slab, freelist);
		}
	}
	return NULL;
}

void *slab_alloc_slow(struct uslub_cache *s, struct kmem_cache_cpu *c,
		      struct page_cache *pc)
{
	struct slab *slab = c->slab;
	void *freelist;

	if (slab) {
		/* SLUB's get_freelist: the objects other threads freed. */
		freelist = freeze_slab(c, slab);
		if (freelist) {
			stat(c, ALLOC_REFILL);
			return load_freelist(s, c, slab, freelist);
		}
		cpu_set_slab(c, NULL);	/* full, now unfrozen, on no list */
		stat(c, DEACTIVATE_BYPASS);
	}
	freelist = alloc_from_cpu_partial(s, c);
	if (freelist)
		return freelist;
	slab = get_partial(s, c, &freelist);
	if (slab) {
		stat(c, ALLOC_FROM_PARTIAL);
		return load_freelist(s, c, slab, freelist);
	}
	slab = new_slab(s, pc, &freelist);
	if (!slab)
		return NULL;
	stat(c, ALLOC_SLAB);
	return load_freelist(s, c, slab, freelist);
}

/* ---- Free slow path (SLUB's __slab_free) ----------------------------- */

static void put_partials(struct uslub_cache *s, struct kmem_cache_cpu *c,
			 struct page_cache *pc);

/*
 * SLUB's put_cpu_partial: an unfrozen slab joins c's cpu partial chain;
 * a chain already at the budget is first moved to s->partial.
 */
static void put_cpu_partial(struct uslub_cache *s, struct kmem_cache_cpu *c,
			    struct page_cache *pc, struct slab *slab)
{
	if (c->nr_partial >= s->cpu_partial_slabs)
		put_partials(s, c, pc);
	cpu_partial_append(c, slab);
}

static __cold void report_double_free(struct uslub_cache *s, struct slab *slab,
				      void *obj)
{
	log_error("cache %s: double free of object %p (slab %p, %u objects)",
		  s->name, obj, page_address(slab), slab->objects);
	if (options_abort_invalid())
		abort();
}

void slab_free_slow(struct uslub_cache *s, struct kmem_cache_cpu *c,
		    struct page_cache *pc, struct slab *slab,
		    void *head, void *tail, unsigned int cnt)
{
	union slab_counters old, new;
	bool locked = false, was_frozen, on_node_partial = false;
	/*
	 * A thread that allocates from s (it has a cpu slab) takes full slabs
	 * onto its cpu partial chain, unlocked, and will allocate from them.
	 * A thread that only frees (a consumer; the stack stand-in of an
	 * out-of-memory free) puts them on s->partial, where allocating
	 * threads find them: its own chain would hold them out of reach.
	 */
	bool cpu_partial = c->slab != NULL;
	void *prior;

	do {
		if (locked) {
			lock_release(&s->list_lock);
			locked = false;
		}
		prior = READ_ONCE(slab->freelist);
		old.counters = READ_ONCE(slab->counters);
		if (unlikely(prior == head)) {	/* SLUB's naive check */
			report_double_free(s, slab, head);
			goto out;
		}
		set_freepointer(s, tail, prior);
		new.counters = old.counters;
		was_frozen = new.frozen;
		new.inuse -= cnt;
		if ((!new.inuse || !prior) && !was_frozen &&
		    (prior || !cpu_partial)) {
			/* Speculatively: a list may have to change. */
			lock_acquire(&s->list_lock);
			locked = true;
			on_node_partial = slab->on_partial;
		}
	} while (!slab_update_freelist(c, slab, prior, old.counters,
				       head, new.counters));
	stat_add(c, FREE_SLOWPATH, cnt);

	if (!locked) {
		if (was_frozen) {
			stat(c, FREE_FROZEN);	/* the owner will refill */
		} else if (!prior) {
			/* First free into a full slab: it joins this thread's
			 * cpu partial chain, no lock taken (put_cpu_partial). */
			put_cpu_partial(s, c, pc, slab);
			stat(c, CPU_PARTIAL_FREE);
		}
		return;
	}
	if (prior && !on_node_partial) {
		/* On some thread's cpu partial chain: its owner decides. */
		lock_release(&s->list_lock);
		return;
	}
	if (!new.inuse && READ_ONCE(s->nr_partial) >= s->min_partial) {
		if (prior) {
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
	return;
out:
	if (locked)
		lock_release(&s->list_lock);
}

/* ---- Deactivation and flushing --------------------------------------- */

/* SLUB's deactivate_slab: merge the cpu freelist back and unfreeze. */
static void deactivate_slab(struct uslub_cache *s, struct kmem_cache_cpu *c,
			    struct page_cache *pc, struct slab *slab,
			    void *freelist)
{
	union slab_counters old, new;
	unsigned int free_delta = 0;
	void *tail = NULL, *p, *old_freelist;
	bool remote;

	for (p = freelist; p; p = get_freepointer(s, p)) {
		free_delta++;
		tail = p;
	}
	do {
		old_freelist = READ_ONCE(slab->freelist);
		old.counters = READ_ONCE(slab->counters);
		new.counters = old.counters;
		new.frozen = 0;
		new.inuse -= free_delta;
		if (tail)
			set_freepointer(s, tail, old_freelist);
	} while (!slab_update_freelist(c, slab, old_freelist, old.counters,
				       freelist ? freelist : old_freelist,
				       new.counters));
	remote = old_freelist != NULL;
	if (remote)
		stat(c, DEACTIVATE_REMOTE_FREES);
	if (!new.inuse && READ_ONCE(s->nr_partial) >= s->min_partial) {
		stat(c, DEACTIVATE_EMPTY);
		slab_discard(s, c, pc, slab);
	} else if (freelist || old_freelist) {
		lock_acquire(&s->list_lock);
		slab_add_partial_locked(s, slab, remote);
		lock_release(&s->list_lock);
		stat(c, remote ? DEACTIVATE_TO_TAIL : DEACTIVATE_TO_HEAD);
	} else {
		stat(c, DEACTIVATE_FULL);
	}
}

/* SLUB's __put_partials: move c's cpu partial chain to s->partial. */
static void put_partials(struct uslub_cache *s, struct kmem_cache_cpu *c,
			 struct page_cache *pc)
{
	struct slab *slab, *next, *discard = NULL;
	union slab_counters cnt;

	if (!c->partial)
		return;
	lock_acquire(&s->list_lock);
	for (slab = c->partial; slab; slab = next) {
		next = slab->next;
		cnt.counters = READ_ONCE(slab->counters);
		if (!cnt.inuse && s->nr_partial >= s->min_partial) {
			slab->next = discard;
			discard = slab;
		} else {
			slab_add_partial_locked(s, slab, true);
			stat(c, FREE_ADD_PARTIAL);
		}
	}
	lock_release(&s->list_lock);
	c->partial = NULL;
	c->partial_tail = NULL;
	c->nr_partial = 0;
	stat(c, CPU_PARTIAL_DRAIN);
	for (slab = discard; slab; slab = next) {
		next = slab->next;
		slab_discard(s, c, pc, slab);
	}
}

void slab_flush_cpu(struct uslub_cache *s, struct kmem_cache_cpu *c,
		    struct page_cache *pc)
{
	struct slab *slab = c->slab;

	if (slab) {
		void *freelist = c->freelist;

		cpu_set_slab(c, NULL);
		c->freelist = NULL;
		stat(c, CPUSLAB_FLUSH);
		deactivate_slab(s, c, pc, slab, freelist);
	}
	put_partials(s, c, pc);
}

/* ---- Shrink and release ---------------------------------------------- */

unsigned long slab_shrink_partial(struct uslub_cache *s,
				  struct kmem_cache_cpu *c,
				  struct page_cache *pc)
{
	struct list_head promote[SHRINK_PROMOTE_MAX], discard;
	struct slab *slab;
	union slab_counters cnt;
	unsigned int i, free;

	list_init(&discard);
	for (i = 0; i < SHRINK_PROMOTE_MAX; i++)
		list_init(&promote[i]);
	lock_acquire(&s->list_lock);
	list_for_each_entry_safe(slab, &s->partial, slab_list) {
		cnt.counters = READ_ONCE(slab->counters);
		free = cnt.objects - cnt.inuse;
		if (free == cnt.objects) {
			slab_remove_partial_locked(s, slab);
			list_add(&slab->slab_list, &discard);
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
	list_for_each_entry_safe(slab, &discard, slab_list) {
		list_del(&slab->slab_list);
		slab_discard(s, c, pc, slab);
	}
	return READ_ONCE(s->nr_slabs);
}

void slab_release_all(struct uslub_cache *s, struct kmem_cache_cpu *c,
		      struct page_cache *pc)
{
	struct list_head all;
	struct slab *slab;

	list_init(&all);
	lock_acquire(&s->list_lock);
	list_for_each_entry_safe(slab, &s->partial, slab_list) {
		slab_remove_partial_locked(s, slab);
		list_add(&slab->slab_list, &all);
	}
	lock_release(&s->list_lock);
	list_for_each_entry_safe(slab, &all, slab_list) {
		list_del(&slab->slab_list);
		slab_discard(s, c, pc, slab);
	}
}
