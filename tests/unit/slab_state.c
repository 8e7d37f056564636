/*
 * Unit tests for the slab and sheaf states (lib/slab.c, lib/sheaf.c,
 * lib/cache.c's essay), driven through user caches and observed on the
 * slab descriptors ({freelist, counters}, s->partial), the thread's slot
 * (struct kmem_cache_cpu: main sheaf, spare), the cache's barn and the
 * event counters.
 *
 *   first alloc     -> slot set up, main refilled from a new slab; the
 *                      rest of the slab stays on s->partial
 *   alloc / free    -> pop / push the main sheaf           (ALLOC_PCS,
 *                      FREE_PCS); the slab does not change
 *   main empty      -> the spare's newest half (SHEAF_SWAP), barn
 *                      (BARN_GET), slabs:
 *                      s->partial first (ALLOC_FROM_PARTIAL, one
 *                      cmpxchg16b per slab), else a new slab (ALLOC_SLAB)
 *   main full       -> its older half to a spare with room (SHEAF_SWAP),
 *                      barn (BARN_PUT, at most
 *                      barn.max_full), else flush (BARN_PUT_FAIL)
 *   flush           -> one cmpxchg16b per slab; full -> partial
 *                      (FREE_ADD_PARTIAL); empty -> kept while nr_partial <
 *                      min_partial, else freed (FREE_SLAB)
 *   shrink          -> caller's sheaves and the barn flushed, empty slabs
 *                      freed; other threads flush on their next refill or
 *                      overflow
 *   thread exit     -> sheaves to the barn (or flushed), counters folded
 *   every object    -> handed out, in one sheaf, or on its slab's freelist
 */
#include "test.h"

#include "alloc.h"
#include "cache.h"
#include "init.h"
#include "options.h"
#include "os.h"
#include "page_alloc.h"
#include "pagemap.h"
#include "region.h"
#include "sheaf.h"
#include "slab.h"
#include "stats.h"
#include "thread.h"
#include "slabinfo_row.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>

#define OBJ_SIZE	256	/* a few dozen objects per slab and sheaf */

/* ---- Counters -------------------------------------------------------- */

struct snap {
	unsigned long v[NR_SLUB_STAT_ITEMS];
};

static struct snap stats_of(struct uslub_cache *s)
{
	struct snap sn;

	lock_acquire(&slab_mutex);
	cache_stat_sum_locked(s, sn.v);
	lock_release(&slab_mutex);
	return sn;
}

static unsigned long stat_of(struct uslub_cache *s, enum stat_item si)
{
	return stats_of(s).v[si];
}

/* The counters of exited threads (and slot-less frees) only. */
static struct snap dead_stats_of(struct uslub_cache *s)
{
	struct snap sn;

	lock_acquire(&slab_mutex);
	memcpy(sn.v, s->stat_dead, sizeof(sn.v));
	lock_release(&slab_mutex);
	return sn;
}

struct want {
	enum stat_item si;
	unsigned long v;
};

/* Every counter moved from a to b by exactly what w says, the rest by 0. */
static void expect_delta_(const struct snap *a, const struct snap *b,
			  const struct want *w, size_t nw, const char *what)
{
	unsigned int i;
	size_t j;

	for (i = 0; i < NR_SLUB_STAT_ITEMS; i++) {
		unsigned long want = 0;

		for (j = 0; j < nw; j++)
			if (w[j].si == (enum stat_item)i)
				want = w[j].v;
		expect_lu_eq(b->v[i] - a->v[i], want, "%s: %s", what,
			     stat_item_names[i]);
	}
}

#define expect_delta(a, b, what, ...) do {				\
	const struct want want_[] = { __VA_ARGS__ };			\
	expect_delta_((a), (b), want_, ARRAY_SIZE(want_), (what));	\
} while (0)

static unsigned long active_objs(struct uslub_cache *s)
{
	unsigned long n;

	lock_acquire(&slab_mutex);
	n = cache_active_objects_locked(s);
	lock_release(&slab_mutex);
	return n;
}

static struct sheaf_occupancy occupancy_of(struct uslub_cache *s)
{
	struct sheaf_occupancy o;

	lock_acquire(&slab_mutex);
	cache_sheaf_occupancy_locked(s, &o);
	lock_release(&slab_mutex);
	return o;
}

/* ---- Slabs ----------------------------------------------------------- */

static union slab_counters counters_of(const struct slab *slab)
{
	union slab_counters c;

	c.counters = READ_ONCE(slab->counters);
	return c;
}

/* Whether slab is on s->partial, found by walking the list. */
static bool on_partial_list(struct uslub_cache *s, const struct slab *slab)
{
	struct list_head *pos;
	bool found = false;

	lock_acquire(&s->list_lock);
	for (pos = s->partial.next; pos != &s->partial; pos = pos->next)
		if (pos == &slab->slab_list)
			found = true;
	lock_release(&s->list_lock);
	return found;
}

static unsigned long nr_partial(struct uslub_cache *s)
{
	unsigned long n;

	lock_acquire(&s->list_lock);
	n = s->nr_partial;
	lock_release(&s->list_lock);
	return n;
}

static unsigned long nr_slabs(struct uslub_cache *s)
{
	return READ_ONCE(s->nr_slabs);
}

static void *obj_at(struct uslub_cache *s, struct slab *slab, unsigned int i)
{
	return slab_objects_start(s, slab) + (size_t)i * s->size;
}

/* Whether obj is on its slab's freelist. */
static bool on_slab_freelist(struct uslub_cache *s, void *obj)
{
	struct slab *slab = pagemap_head(obj);
	unsigned int n = 0;
	void *p;

	if (!slab)
		return false;
	for (p = READ_ONCE(slab->freelist); p && n <= slab->objects;
	     p = get_freepointer(s, p), n++)
		if (p == obj)
			return true;
	return false;
}

/*
 * Every slab of s, found through the page descriptors of every region
 * (as cache.c's destroy report does), independently of s->partial.
 * Stores up to max of them; returns how many there are.
 */
static unsigned int cache_slabs(struct uslub_cache *s, struct slab **out,
				unsigned int max)
{
	unsigned int r, nreg = region_count(), k = 0;
	unsigned long i, fresh;

	for (r = 0; r < nreg; r++) {
		struct region *reg = region_get(r);
		struct slab *desc0 = (struct slab *)reg->base;

		lock_acquire(&page_lock);
		fresh = reg->fresh;
		lock_release(&page_lock);
		for (i = REGION_META_PAGES; i < fresh; i++) {
			struct slab *d = desc0 + i;

			if (READ_ONCE(d->head) != d ||
			    !(block_flags(d) & PG_slab) ||
			    READ_ONCE(d->cache) != s)
				continue;
			if (k < max)
				out[k] = d;
			k++;
			i += (1UL << READ_ONCE(d->order)) - 1;
		}
	}
	return k;
}

/* The distinct slabs of objs[0..n), in order of first appearance. */
struct slab_list {
	struct slab **slab;
	unsigned int n, max;
};

static unsigned int slab_list_add(struct slab_list *l, struct slab *slab)
{
	unsigned int i;

	for (i = 0; i < l->n; i++)
		if (l->slab[i] == slab)
			return i;
	if (l->n == l->max) {
		l->max = l->max ? 2 * l->max : 64;
		l->slab = realloc(l->slab, l->max * sizeof(*l->slab));
	}
	l->slab[l->n] = slab;
	return l->n++;
}

static struct slab_list slabs_of(void **objs, unsigned int n)
{
	struct slab_list l = { NULL, 0, 0 };
	unsigned int i;

	for (i = 0; i < n; i++)
		slab_list_add(&l, pagemap_head(objs[i]));
	return l;
}

/*
 * What returning objs[0..n) to their slabs, per objects at a time (one
 * sheaf each), must count: one CMPXCHG_DOUBLE per slab per sheaf, and one
 * FREE_ADD_PARTIAL per slab that is full now.  Callers keep an object of
 * every slab handed out, so none becomes empty.
 */
struct flush_pred {
	unsigned int slabs, full;
};

static struct flush_pred predict_flush_by(void **objs, unsigned int n,
					  unsigned int per)
{
	struct flush_pred fp = { 0, 0 };
	struct slab_list l;
	unsigned int i;

	for (i = 0; i < n; i += per) {
		l = slabs_of(objs + i, MIN(per, n - i));
		fp.slabs += l.n;
		free(l.slab);
	}
	l = slabs_of(objs, n);
	for (i = 0; i < l.n; i++)
		fp.full += READ_ONCE(l.slab[i]->freelist) == NULL;
	free(l.slab);
	return fp;
}

static struct flush_pred predict_flush(void **objs, unsigned int n)
{
	return predict_flush_by(objs, n, n);
}

/* ---- Slots, sheaves, barn ------------------------------------------- */

/* Whether obj is on c's main or spare sheaf. */
static bool in_sheaf(struct kmem_cache_cpu *c, void *obj)
{
	unsigned int i;

	for (i = 0; i < cpu_size(c); i++)
		if (c->objects[i] == obj)
			return true;
	for (i = 0; c->spare && i < c->spare->size; i++)
		if (c->spare->objects[i] == obj)
			return true;
	return false;
}

static struct kmem_cache_cpu *slot_of(struct uslub_cache *s)
{
	return cache_cpu(s, thread_cache);
}

struct barn_view {
	unsigned int full, empty;
	unsigned long objects;
};

static struct barn_view barn_of(struct uslub_cache *s)
{
	struct barn_view b;

	barn_occupancy(s, &b.full, &b.empty, &b.objects);
	return b;
}

static void expect_barn(struct uslub_cache *s, unsigned int full,
			unsigned int empty, unsigned long objects,
			const char *what)
{
	struct barn_view b = barn_of(s);

	expect_u_eq(b.full, full, "%s: full sheaves in the barn", what);
	expect_u_eq(b.empty, empty, "%s: empty sheaves in the barn", what);
	expect_lu_eq(b.objects, objects, "%s: objects in the barn", what);
}

/* The i-th full sheaf of the barn (oldest first), or NULL. */
static struct slab_sheaf *barn_full_sheaf(struct uslub_cache *s,
					  unsigned int i)
{
	struct slab_sheaf *sh, *found = NULL;

	spin_acquire(&s->barn.lock);
	list_for_each_entry(sh, &s->barn.sheaves_full, barn_list)
		if (i-- == 0) {
			found = sh;
			break;
		}
	spin_release(&s->barn.lock);
	return found;
}

/*
 * What a drain flushes, in its order (sheaf.c, flush_sheaves): main, the
 * spare, then the barn's full sheaves oldest first, cut into batches of
 * at most FLUSH_WIDE_MAX objects at sheaf boundaries.  Counts the
 * objects in *total, the cmpxchg16b the wide flush takes (one per slab
 * per batch) in *wide and what a flush sheaf by sheaf would take in
 * *narrow; the objects go into out.
 */
static void predict_drain(struct uslub_cache *s, struct kmem_cache_cpu *c,
			  void **out, unsigned int *total, unsigned int *wide,
			  unsigned int *narrow)
{
	struct slab_sheaf *sh;
	unsigned int i, size, start = 0, n = 0;
	struct slab_list l;
	void **objs;

	*wide = *narrow = 0;
	for (i = 0;; i++) {
		if (i == 0) {
			objs = c->objects;
			size = (unsigned int)cpu_size(c);
		} else if (i == 1) {
			if (!c->spare)
				continue;
			objs = c->spare->objects;
			size = c->spare->size;
		} else if ((sh = barn_full_sheaf(s, i - 2))) {
			objs = sh->objects;
			size = sh->size;
		} else {
			break;
		}
		if (n - start + size > FLUSH_WIDE_MAX) {
			l = slabs_of(out + start, n - start);
			*wide += l.n;
			free(l.slab);
			start = n;
		}
		memcpy(out + n, objs, size * sizeof(void *));
		l = slabs_of(objs, size);
		*narrow += l.n;
		free(l.slab);
		n += size;
	}
	l = slabs_of(out + start, n - start);
	*wide += l.n;
	free(l.slab);
	*total = n;
}

/* ---- Allocation helpers ---------------------------------------------- */

static void **objs_array(size_t n)
{
	void **p = calloc(n ? n : 1, sizeof(void *));

	assert_ptr_not_null(p, "pointer array");
	return p;
}

/* Room alloc_settled may need beyond min. */
static unsigned int settle_room(struct uslub_cache *s)
{
	return s->objects + 2 * s->sheaf_capacity + 1;
}

/*
 * Allocates at least min objects into p (room for min + settle_room),
 * then goes on until the thread's main sheaf and s->partial are empty:
 * with no spare and no barn sheaf, every slab of s is then full and each
 * of its objects handed out.  Returns how many.
 */
static unsigned int alloc_settled(struct uslub_cache *s, void **p,
				  unsigned int min)
{
	unsigned int k = 0, max = min + settle_room(s);

	while (k < min || cpu_size(slot_of(s)) || nr_partial(s)) {
		assert_u_lt(k, max, "settled within %u allocations", max);
		p[k] = uslub_cache_alloc(s, 0);
		assert_ptr_not_null(p[k], "object %u", k);
		k++;
	}
	return k;
}

/*
 * Splits p[0..n) into held (the first object of each slab, which keeps
 * the slab from ever becoming empty) and frees (the rest, in order).
 */
static void hold_one_per_slab(void **p, unsigned int n, void **held,
			      unsigned int *nheld, void **frees,
			      unsigned int *nfrees)
{
	struct slab_list l = { NULL, 0, 0 };
	unsigned int i, before;

	*nheld = *nfrees = 0;
	for (i = 0; i < n; i++) {
		before = l.n;
		slab_list_add(&l, pagemap_head(p[i]));
		if (l.n != before)
			held[(*nheld)++] = p[i];
		else
			frees[(*nfrees)++] = p[i];
	}
	free(l.slab);
}

static bool among_ptrs(void *const *v, size_t n, const void *p)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == p)
			return true;
	return false;
}

static void alloc_all(struct uslub_cache *s, void **p, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		p[i] = uslub_cache_alloc(s, 0);
		assert_ptr_not_null(p[i], "object %u", i);
	}
}

static void free_all(struct uslub_cache *s, void **p, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		uslub_cache_free(s, p[i]);
}

static struct uslub_cache *new_cache(const char *name, size_t size)
{
	struct uslub_cache *s = uslub_cache_create(name, size, 0, 0, NULL);

	if (s)
		expect_u_eq(s->sheaf_capacity, sheaf_capacity(s->size),
			    "%s: sheaf capacity of size %u", name, s->size);
	return s;
}

/*
 * The first of sizes whose cache has the geometry a test needs (sheaf
 * capacity and slab order are tuned per size and per cpu count).
 */
static struct uslub_cache *pick_cache(const char *name,
				      const unsigned int *sizes, size_t nsizes,
				      bool (*fits)(const struct uslub_cache *))
{
	struct uslub_cache *s;
	size_t i;

	for (i = 0; i < nsizes; i++) {
		s = new_cache(name, sizes[i]);
		if (!s || fits(s))
			return s;
		expect_d_eq(uslub_cache_destroy(s), 0, "destroy %s", name);
	}
	return NULL;
}

/* A whole slab fits in one sheaf: it can go full -> empty in one flush. */
static bool slab_fits_sheaf(const struct uslub_cache *s)
{
	return s->objects <= s->sheaf_capacity;
}

static struct uslub_cache *cache_slab_fits_sheaf(const char *name)
{
	static const unsigned int sizes[] = { 4096, 2048, 1024, 512, 256,
					      128, 64 };

	return pick_cache(name, sizes, ARRAY_SIZE(sizes), slab_fits_sheaf);
}

/* A slab holds more than two sheaves' worth. */
static bool slab_over_two_sheaves(const struct uslub_cache *s)
{
	return s->objects > 2 * s->sheaf_capacity;
}

static void destroy_empty(struct uslub_cache *s)
{
	expect_lu_eq(active_objs(s), 0, "no object handed out at the end");
	expect_d_eq(uslub_cache_shrink(s), 0, "shrink of an empty cache");
	expect_lu_eq(nr_slabs(s), 0, "no slab left");
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}

/* The end of a test that split its objects with hold_one_per_slab:
 * frees[from..nfrees) and held[] are freed, the arrays too, and s must
 * be destroyed empty. */
static void finish_held(struct uslub_cache *s, void **objs, void **held,
			unsigned int nheld, void **frees, unsigned int nfrees,
			unsigned int from)
{
	free_all(s, frees + from, nfrees - from);
	free_all(s, held, nheld);
	free(held);
	free(frees);
	free(objs);
	destroy_empty(s);
}

static void run_thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	assert_d_eq(pthread_create(&t, NULL, fn, arg), 0, "thread");
	pthread_join(t, NULL);
}

/*
 * A thread created after a shrink starts with flush_gen 0 and flushes
 * all its sheaves on its first refill or overflow (sheaf_upkeep).  One
 * kmalloc refill settles that before a test counts its events.
 */
static void settle_flush_gen(void)
{
	uslub_kfree(uslub_kmalloc(24, 0));
}

/* ---- Tests ----------------------------------------------------------- */

TEST_BEGIN(test_sheaf_capacity_by_object_size)
{
	static const unsigned int sizes[] = { 8, 64, 128, 256, 512, 1000,
					      1024, 2048, 4096, 6000, 8192 };
	struct kmem_cache_cpu *c;
	struct uslub_cache *s;
	unsigned int i, want, prev = ~0u, size;
	void *p;

	/* Small objects get the biggest sheaves; every sheaf fits in the
	 * largest pool block, guard and header included. */
	expect_u_eq(sheaf_capacity(8), SHEAF_MAX_CAPACITY,
		    "the smallest objects get the largest sheaves");
	for (size = 8; size <= 2 * SMALL_MAX; size += 8) {
		want = sheaf_capacity(size);
		expect_u_le(want, prev, "capacity never grows with size (%u)",
			    size);
		expect_u_ge(want, 1, "size %u", size);
		expect_zu_le(sizeof(struct slab_sheaf) + want * sizeof(void *),
			     SHEAF_MAX_BYTES, "size %u", size);
		prev = want;
	}
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		s = new_cache("state_capacity", sizes[i]);
		assert_ptr_not_null(s, "cache of %u bytes", sizes[i]);
		want = sheaf_capacity(s->size);
		expect_u_eq(s->sheaf_capacity, want, "size %u", s->size);
		expect_u_eq(s->barn.max_full,
			    CLAMP(BARN_BYTES / ((unsigned long)want * s->size),
				  (unsigned long)MAX_FULL_SHEAVES,
				  (unsigned long)BARN_MAX_FULL),
			    "barn limit: %lu bytes of objects, size %u",
			    BARN_BYTES, s->size);
		expect_ptr_null(slot_of(s), "no slot before the first call");
		p = uslub_cache_alloc(s, 0);
		assert_ptr_not_null(p, "object of %u bytes", sizes[i]);
		c = slot_of(s);
		assert_ptr_not_null(c, "first alloc set up the slot");
		expect_ptr_eq(c->cache, s, "slot's cache");
		assert_ptr_not_null(c->main, "main sheaf");
		expect_u_eq(cpu_capacity(c), want, "slot capacity, size %u",
			    s->size);
		expect_u_eq(c->limit, want, "the slot's allowance starts there");
		expect_u_eq(s->sheaf_max, sheaf_max_capacity(s->size),
			    "sheaf_max, size %u", s->size);
		expect_u_eq(s->sheaf_max,
			    MAX(want, MIN((unsigned int)SHEAF_MAX_CAPACITY,
					  SHEAF_GROW_BYTES / s->size)),
			    "at most 512 KiB of objects, size %u", s->size);
		expect_u_eq(c->main->capacity, s->sheaf_max,
			    "main->capacity: room to grow");
		expect_ptr_eq(c->objects, c->main->objects,
			      "the slot's array is main's");
		expect_ptr_null(c->objects[-1], "guard word before objects[]");
		expect_u_eq(c->bound, s->coloured ? c->mult :
					s->objects * (c->mult * s->size),
			    "free fast path's bound, size %u", s->size);
		expect_u_eq(cpu_size(c) + 1, MIN(want, s->objects),
			    "refill took min(capacity, objects), size %u",
			    s->size);
		uslub_cache_free(s, p);
		destroy_empty(s);
	}
}
TEST_END

/*
 * The free fast path's object-start test (alloc.h, slot_owns) against
 * the division it replaces, at every byte of a slab, for every kmalloc
 * class and caches whose sizes are odd multiples of 8 or powers of two
 * with a tail: a wrong mult or bound lets an interior pointer or one
 * past the last object onto a sheaf, or refuses an object.
 */
static unsigned int slot_owns_mismatches(const struct uslub_cache *s,
					 const struct kmem_cache_cpu *c)
{
	uintptr_t base = 37 * (c->mask + 1), off;
	unsigned int bad = 0;

	if (s->coloured)	/* test_coloured_slabs: the slot map too */
		return 0;
	for (off = 0; off <= c->mask; off++) {
		bool want = off % s->size == 0 && off / s->size < s->objects;

		if (slot_owns(c, (void *)(base + off)) != want && bad++ < 3)
			expect_true(false, "%s: offset %zu of %zu: %s", s->name,
				    (size_t)off, (size_t)c->mask + 1,
				    want ? "object refused" : "not an object");
	}
	return bad;
}

TEST_BEGIN(test_slot_owns_every_offset)
{
	static const unsigned int sizes[] = { 24, 40, 48, 72, 200, 264, 520,
					      1000, 1032, 3000, 4104, 6000 };
	struct uslub_cache *s;
	struct kmem_cache_cpu *c;
	unsigned int i, n = 0;
	void *p;

	for (i = 0; i < NR_KMALLOC; i++) {
		s = &kmalloc_caches[i];
		if (!s->size || s->size > SMALL_MAX)
			continue;
		p = uslub_kmalloc(s->object_size, 0);
		assert_ptr_not_null(p, "kmalloc(%u)", s->object_size);
		c = slot_of(s);
		assert_ptr_not_null(c, "%s: slot", s->name);
		if (!s->sheaf_capacity)
			continue;	/* a debugged class: every free slow */
		expect_u_eq(slot_owns_mismatches(s, c), 0, "%s", s->name);
		expect_true(slot_owns(c, p), "%s: its own object", s->name);
		uslub_kfree(p);
		n++;
	}
	expect_u_ge(n, 8, "kmalloc classes checked");
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		s = new_cache("state_owns", sizes[i]);
		assert_ptr_not_null(s, "cache of %u bytes", sizes[i]);
		p = uslub_cache_alloc(s, 0);
		assert_ptr_not_null(p, "object of %u bytes", sizes[i]);
		c = slot_of(s);
		assert_ptr_not_null(c, "slot");
		expect_u_eq(slot_owns_mismatches(s, c), 0, "size %u", s->size);
		uslub_cache_free(s, p);
		destroy_empty(s);
	}
}
TEST_END

/*
 * Coloured caches (slab.h, slab_colour): every object is at a multiple of
 * its size, s->objects of them in each slab, wherever the slab falls.  At
 * every byte of each slab the free fast path (owning_slot: the slot map
 * and slot_owns) takes exactly the object starts, slab_object_index gives
 * their index and -1 elsewhere -- the multiples of size in a slab's tail
 * included, which slot_owns alone would take -- and the objects' offsets
 * in a page run through at least as many values as a slab has objects
 * (up to 16: odd multiples of 256), where page-multiple strides had one.
 */
static unsigned int coloured_slab_mismatches(struct uslub_cache *s,
					     struct kmem_cache_cpu *c,
					     struct slab *slab)
{
	char *page = page_address(slab), *start = slab_objects_start(s, slab);
	unsigned long off, bytes = PAGE_SIZE << s->order;
	unsigned int bad = 0;

	expect_zu_eq((uintptr_t)start % s->size, 0,
		     "%s: the first object at a multiple of size", s->name);
	expect_zu_lt((uintptr_t)(start - page), s->size,
		     "%s: at the first multiple", s->name);
	for (off = 0; off < bytes; off++) {
		char *p = page + off;
		long rel = p - start;
		bool is_obj = rel >= 0 && rel % s->size == 0 &&
			      rel / s->size < s->objects;
		long want = is_obj ? rel / (long)s->size : -1;

		if ((owning_slot(p) == c) != is_obj && bad++ < 3)
			expect_true(false, "%s: offset %lu of %lu (first at "
				    "%zu): fast free %s", s->name, off, bytes,
				    (size_t)(start - page),
				    is_obj ? "refuses the object" :
					     "takes a non-object");
		if (slab_object_index(s, slab, p) != want && bad++ < 3)
			expect_true(false, "%s: offset %lu: index %ld, not %ld",
				    s->name, off,
				    slab_object_index(s, slab, p), want);
	}
	/* the tail's multiple of size, where there is one, is refused */
	if ((uintptr_t)(start - page) + (s->objects + 1UL) * s->size > bytes &&
	    (uintptr_t)(start - page) + s->objects * (unsigned long)s->size <
		bytes)
		expect_ptr_null(owning_slot(start + s->objects * s->size),
				"%s: the tail's multiple", s->name);
	return bad;
}

static void check_coloured(struct uslub_cache *s, bool is_kmalloc)
{
	enum { MAX_SLABS = 3 };
	struct slab *slabs[MAX_SLABS];
	unsigned int nslabs = 0, i, n, offsets = 0;
	uint64_t seen = 0;
	void **p;

	expect_true(s->coloured, "%s: coloured", s->name);
	n = MAX_SLABS * s->objects;
	p = calloc(n, sizeof(*p));
	assert_ptr_not_null(p, "array");
	for (i = 0; i < n; i++) {
		struct slab *slab;
		unsigned int k;

		p[i] = is_kmalloc ? uslub_kmalloc(s->object_size, 0)
				  : uslub_cache_alloc(s, 0);
		assert_ptr_not_null(p[i], "%s: object %u", s->name, i);
		expect_zu_eq((uintptr_t)p[i] % s->size, 0,
			     "%s: object at a multiple of its size", s->name);
		seen |= 1ULL << (((uintptr_t)p[i] % PAGE_SIZE) / 64);
		slab = pagemap_head(p[i]);
		for (k = 0; k < nslabs && slabs[k] != slab; k++)
			;
		if (k == nslabs && nslabs < MAX_SLABS)
			slabs[nslabs++] = slab;
	}
	offsets = (unsigned int)__builtin_popcountll(seen);
	if (is_kmalloc)		/* odd multiples of 256: 16 offsets */
		expect_u_ge(offsets, MIN(16u, s->objects),
			    "%s: objects' lines in a page", s->name);
	for (i = 0; i < nslabs; i++)
		expect_u_eq(coloured_slab_mismatches(s, slot_of(s), slabs[i]),
			    0, "%s: slab %u", s->name, i);
	for (i = 0; i < n; i++)
		if (is_kmalloc)
			uslub_kfree(p[i]);
		else
			uslub_cache_free(s, p[i]);
	free(p);
}

TEST_BEGIN(test_coloured_slabs)
{
	static const unsigned int sizes[] = { 4104, 5000, 6000, 20000 };
	struct uslub_cache *s;
	unsigned int i, n = 0;

	for (i = 1; i < NR_KMALLOC; i++) {
		s = &kmalloc_caches[i];
		if (!s->size || s->size <= PAGE_SIZE || !s->sheaf_capacity)
			continue;
		if (is_power_of_2(s->size)) {
			expect_false(s->coloured, "%s: natural alignment",
				     s->name);
			continue;
		}
		check_coloured(s, true);
		n++;
	}
	expect_u_eq(n, 10, "coloured kmalloc classes checked");
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		s = new_cache("state_coloured", sizes[i]);
		assert_ptr_not_null(s, "cache of %u bytes", sizes[i]);
		check_coloured(s, false);
		destroy_empty(s);
	}
}
TEST_END

/*
 * A new thread state has only its slots' first lines zeroed (thread.c):
 * the rest of a slot (main, spare, ...) may hold what the pages held
 * before, and nothing may read it before the slot is set up.  Blocks of
 * the thread state's order are filled with a pattern and freed, so that
 * the next thread's state is likely one of them; the thread then
 * allocates from every kmalloc class for the first time.
 */
#define DIRTY_BLOCKS	8

static void *dirty_state_thread(void *arg)
{
	unsigned int *ok = arg, i;

	for (i = 1; i < NR_KMALLOC; i++) {
		size_t size = kmalloc_class_size(i);
		void *p = uslub_kmalloc(size, 0);

		if (p) {
			memset(p, 1, size);
			uslub_kfree(p);
			(*ok)++;
		}
	}
	return NULL;
}

TEST_BEGIN(test_thread_state_on_dirty_pages)
{
	struct slab *b[DIRTY_BLOCKS];
	unsigned int round, i, ok;

	init_ensure();
	for (round = 0; round < 4; round++) {
		for (i = 0; i < DIRTY_BLOCKS; i++) {
			b[i] = page_alloc(NULL, TC_ORDER);
			assert_ptr_not_null(b[i], "block %u", i);
			page_prep_block(b[i], TC_ORDER, 0);
			memset(page_address(b[i]), 0xa5, PAGE_SIZE << TC_ORDER);
		}
		for (i = DIRTY_BLOCKS; i-- > 0;)
			page_free(NULL, b[i], TC_ORDER);
		ok = 0;
		run_thread(dirty_state_thread, &ok);
		expect_u_eq(ok, NR_KMALLOC - 1,
			    "round %u: one object of every class", round);
	}
}
TEST_END

TEST_BEGIN(test_debug_cache_has_no_sheaves)
{
	struct uslub_cache *s = uslub_cache_create("state_debug", 64, 0,
						   USLUB_RED_ZONE, NULL);
	struct kmem_cache_cpu *c;
	struct snap st, now;
	struct slab *slab;
	void *p[3];
	unsigned int i;

	assert_ptr_not_null(s, "cache");
	expect_u_eq(s->sheaf_capacity, 0, "debug caches have no sheaves");
	st = stats_of(s);
	for (i = 0; i < 3; i++) {
		p[i] = uslub_cache_alloc(s, 0);
		assert_ptr_not_null(p[i], "object %u", i);
	}
	c = slot_of(s);
	assert_ptr_not_null(c, "the thread still has a slot");
	expect_ptr_null(c->main, "without a main sheaf");
	expect_ptr_null(c->spare, "or a spare");
	expect_u_eq(cpu_capacity(c), 0, "capacity 0 fails the alloc fast path");
	expect_u_eq(c->bound, 0, "bound 0 fails every fast free");
	slab = pagemap_head(p[0]);
	assert_ptr_not_null(slab, "slab");
	expect_u_eq(counters_of(slab).inuse, 3,
		    "objects leave the slab one at a time");
	now = stats_of(s);
	expect_delta(&st, &now, "debug allocs", { ALLOC_SLOWPATH, 3 },
		     { ALLOC_SLAB, 1 });
	expect_lu_eq(active_objs(s), 3, "active_objs");
	st = now;
	for (i = 0; i < 3; i++)
		uslub_cache_free(s, p[i]);
	now = stats_of(s);
	expect_delta(&st, &now, "debug frees", { FREE_SLOWPATH, 3 });
	expect_u_eq(counters_of(slab).inuse, 0, "back in the slab at once");
	expect_barn(s, 0, 0, 0, "debug cache");
	destroy_empty(s);
}
TEST_END

TEST_BEGIN(test_first_alloc_refills_main_from_new_slab)
{
	struct uslub_cache *s = new_cache("state_first", OBJ_SIZE);
	struct kmem_cache_cpu *c;
	struct slabrow row;
	struct snap st, now;
	struct slab *slab;
	union slab_counters cnt;
	unsigned int i, n, cap, take;
	void **objs, *again;

	assert_ptr_not_null(s, "cache");
	n = s->objects;
	cap = s->sheaf_capacity;
	take = MIN(cap, n);
	objs = objs_array(take);
	expect_ptr_null(slot_of(s), "no slot yet");
	st = stats_of(s);
	objs[0] = uslub_cache_alloc(s, 0);
	assert_ptr_not_null(objs[0], "first object");
	c = slot_of(s);
	assert_ptr_not_null(c, "slot set up");
	assert_ptr_not_null(c->main, "main sheaf");
	expect_ptr_null(c->spare, "no spare yet");
	expect_u_eq(cpu_capacity(c), cap, "capacity");
	expect_u_eq(cpu_size(c), take - 1, "main holds the rest of the refill");
	now = stats_of(s);
	expect_delta(&st, &now, "first alloc", { ALLOC_SLOWPATH, 1 },
		     { ALLOC_SLAB, 1 }, { SHEAF_REFILL, take },
		     { BARN_GET_FAIL, 1 }, { SHEAF_ALLOC, 1 });

	slab = pagemap_head(objs[0]);
	assert_ptr_not_null(slab, "slab of the first object");
	expect_true(block_flags(slab) & PG_slab, "head is a slab");
	expect_ptr_eq(slab->cache, s, "slab belongs to the cache");
	cnt = counters_of(slab);
	expect_u_eq(cnt.frozen, 0, "no slab is frozen with sheaves");
	expect_u_eq(cnt.objects, n, "objects");
	expect_u_eq(cnt.inuse, take, "objects in the sheaf count in use");
	expect_u_eq(slab_count_free(s, slab), n - take,
		    "the rest stays on slab->freelist");
	if (n > take) {
		expect_ptr_eq(READ_ONCE(slab->freelist), obj_at(s, slab, take),
			      "the rest starts after the objects taken");
		expect_true(on_partial_list(s, slab), "rest on s->partial");
	} else {
		expect_ptr_null(READ_ONCE(slab->freelist), "all taken");
		expect_false(on_partial_list(s, slab), "a full slab: no list");
	}
	expect_u_eq(slab->on_partial, n > take, "on_partial");
	expect_lu_eq(nr_partial(s), n > take, "nr_partial");
	expect_lu_eq(nr_slabs(s), 1, "one slab");
	/* The refill hands out the slab's first object and leaves the rest
	 * on main in slab order; pops take the top. */
	expect_ptr_eq(objs[0], obj_at(s, slab, 0), "the slab's first object");
	for (i = 0; i + 1 < take; i++)
		expect_ptr_eq(c->objects[i], obj_at(s, slab, i + 1),
			      "sheaf slot %u", i);
	expect_lu_eq(active_objs(s), 1, "one object handed out");
	expect_true(slabinfo_find("state_first", &row), "slabinfo row");
	expect_lu_eq(row.active_objs, 1, "slabinfo active_objs");
	expect_lu_eq(row.num_objs, n, "slabinfo num_objs");
	expect_lu_eq(row.num_slabs, 1, "slabinfo num_slabs");

	st = stats_of(s);
	for (i = 1; i < take; i++) {
		objs[i] = uslub_cache_alloc(s, 0);
		expect_ptr_eq(objs[i], obj_at(s, slab, take - i),
			      "pop %u: LIFO from the sheaf", i);
	}
	now = stats_of(s);
	expect_delta(&st, &now, "pops", { ALLOC_PCS, take - 1 });
	expect_u_eq(cpu_size(c), 0, "main empty");
	expect_u_eq(counters_of(slab).counters, cnt.counters,
		    "pops do not touch the slab's counters");
	expect_u_eq(slab_count_free(s, slab), n - take, "nor its freelist");
	expect_lu_eq(active_objs(s), take, "all handed out");
	expect_true(slabinfo_find("state_first", &row), "slabinfo row");
	expect_lu_eq(row.active_objs, take, "slabinfo active_objs");

	st = now;
	for (i = 0; i < take; i++)
		uslub_cache_free(s, objs[i]);
	now = stats_of(s);
	expect_delta(&st, &now, "frees", { FREE_PCS, take });
	expect_u_eq(cpu_size(c), take, "frees pushed onto main");
	for (i = 0; i < take; i++)
		expect_ptr_eq(c->objects[i], objs[i], "pushed in free order");
	expect_u_eq(counters_of(slab).counters, cnt.counters,
		    "frees do not touch the slab's counters");
	expect_u_eq(slab_count_free(s, slab), n - take, "nor its freelist");
	expect_lu_eq(active_objs(s), 0, "objects in sheaves are not active");
	expect_true(slabinfo_find("state_first", &row), "slabinfo row");
	expect_lu_eq(row.active_objs, 0, "slabinfo active_objs");
	expect_lu_eq(row.num_objs, n, "the slab stays");

	again = uslub_cache_alloc(s, 0);
	expect_ptr_eq(again, objs[take - 1], "the last freed comes back first");
	uslub_cache_free(s, again);
	free(objs);
	destroy_empty(s);
}
TEST_END

TEST_BEGIN(test_refill_takes_partial_before_new_slab)
{
	static const unsigned int sizes[] = { 64, 32, 16, 8 };
	struct uslub_cache *s = pick_cache("state_rest", sizes,
					   ARRAY_SIZE(sizes),
					   slab_over_two_sheaves);
	struct kmem_cache_cpu *c;
	struct snap st, now;
	struct slab *slab, *second;
	unsigned int i, n, cap, rest, k = 0;
	void **objs;

	assert_ptr_not_null(s, "cache");
	n = s->objects;
	cap = s->sheaf_capacity;
	rest = n - 2 * cap;
	objs = objs_array(n + 1);

	objs[k++] = uslub_cache_alloc(s, 0);
	c = slot_of(s);
	assert_ptr_not_null(c, "slot");
	slab = pagemap_head(objs[0]);
	assert_ptr_not_null(slab, "slab");
	expect_u_eq(counters_of(slab).inuse, cap, "one sheaf taken");
	expect_u_eq(slab_count_free(s, slab), n - cap, "rest on the slab");
	expect_ptr_eq(READ_ONCE(slab->freelist), obj_at(s, slab, cap),
		      "freelist starts after the sheaf's objects");
	expect_true(on_partial_list(s, slab), "the new slab's rest: partial");
	expect_u_eq(slab->on_partial, 1, "on_partial");
	expect_lu_eq(nr_partial(s), 1, "nr_partial");
	expect_lu_eq(stat_of(s, CMPXCHG_DOUBLE), 0,
		     "a new slab needs no cmpxchg16b");

	while (k < cap)
		objs[k++] = uslub_cache_alloc(s, 0);
	expect_u_eq(cpu_size(c), 0, "main drained");

	/* Second refill: a whole sheaf from the partial slab. */
	st = stats_of(s);
	objs[k++] = uslub_cache_alloc(s, 0);
	now = stats_of(s);
	expect_delta(&st, &now, "refill from partial", { ALLOC_SLOWPATH, 1 },
		     { BARN_GET_FAIL, 1 }, { ALLOC_FROM_PARTIAL, 1 },
		     { SHEAF_REFILL, cap }, { CMPXCHG_DOUBLE, 1 });
	expect_ptr_eq(objs[k - 1], obj_at(s, slab, cap),
		      "next objects of the same slab");
	expect_ptr_eq(c->objects[cap - 2], obj_at(s, slab, 2 * cap - 1),
		      "main's top");
	expect_u_eq(cpu_size(c), cap - 1, "main full minus one");
	expect_u_eq(counters_of(slab).inuse, 2 * cap, "inuse");
	expect_ptr_eq(READ_ONCE(slab->freelist), obj_at(s, slab, 2 * cap),
		      "freelist");
	expect_true(on_partial_list(s, slab), "free objects left: partial");
	expect_lu_eq(nr_partial(s), 1, "nr_partial");

	while (k < 2 * cap)
		objs[k++] = uslub_cache_alloc(s, 0);
	expect_u_eq(cpu_size(c), 0, "main drained again");

	/* Third refill: only what the partial slab has left, no new slab. */
	st = stats_of(s);
	objs[k++] = uslub_cache_alloc(s, 0);
	now = stats_of(s);
	expect_delta(&st, &now, "short refill", { ALLOC_SLOWPATH, 1 },
		     { BARN_GET_FAIL, 1 }, { ALLOC_FROM_PARTIAL, 1 },
		     { SHEAF_REFILL, rest }, { CMPXCHG_DOUBLE, 1 });
	expect_u_eq(cpu_size(c), rest - 1, "main holds the slab's last objects");
	expect_ptr_eq(objs[k - 1], obj_at(s, slab, 2 * cap),
		      "the first of the rest");
	if (rest > 1)
		expect_ptr_eq(c->objects[rest - 2], obj_at(s, slab, n - 1),
			      "main's top: the slab's last object");
	expect_u_eq(counters_of(slab).inuse, n, "slab full");
	expect_ptr_null(READ_ONCE(slab->freelist), "drained");
	expect_false(on_partial_list(s, slab), "a drained slab leaves");
	expect_u_eq(slab->on_partial, 0, "on_partial");
	expect_lu_eq(nr_partial(s), 0, "nr_partial");
	expect_lu_eq(nr_slabs(s), 1, "still one slab");

	while (k < n)
		objs[k++] = uslub_cache_alloc(s, 0);
	st = stats_of(s);
	objs[k++] = uslub_cache_alloc(s, 0);
	now = stats_of(s);
	expect_delta(&st, &now, "refill from a new slab", { ALLOC_SLOWPATH, 1 },
		     { BARN_GET_FAIL, 1 }, { ALLOC_SLAB, 1 },
		     { SHEAF_REFILL, cap });
	second = pagemap_head(objs[n]);
	expect_ptr_ne(second, slab, "a second slab");
	expect_true(on_partial_list(s, second), "its rest on s->partial");
	expect_lu_eq(nr_slabs(s), 2, "two slabs");
	for (i = 0; i < n; i++)
		expect_ptr_eq(pagemap_head(objs[i]), slab, "object %u", i);
	expect_lu_eq(active_objs(s), n + 1, "active_objs");
	free_all(s, objs, k);
	free(objs);
	destroy_empty(s);
}
TEST_END

/*
 * nsl full slabs get each objects back each (one flush), and one refill
 * takes them all: slab by slab in list order, one cmpxchg16b each, every
 * slab drained and off the list.  Up to DETACH_MAX slabs give their whole
 * chain, walked after the lock; the rest are walked in place under it;
 * the sheaf holds the objects in the same order either way.
 */
static void refill_walk(const char *name, unsigned int nsl,
			unsigned int each)
{
	struct uslub_cache *s = new_cache(name, OBJ_SIZE);
	struct kmem_cache_cpu *c;
	struct slab_list l;
	struct snap st, now;
	struct slab *slab;
	struct list_head *pos;
	unsigned int i, j, n, cap, k, per, nfree = 0, want_n;
	void **objs, *want[64], *p;

	assert_ptr_not_null(s, "cache");
	assert_u_le(nsl * each, ARRAY_SIZE(want), "frees fit the array");
	n = s->objects;
	cap = s->sheaf_capacity;
	assert_u_le(nsl * each, cap, "the frees fit in one sheaf");
	objs = objs_array((nsl + 1) * n + settle_room(s));
	k = alloc_settled(s, objs, (nsl + 1) * n);
	c = slot_of(s);
	l = slabs_of(objs, k);
	assert_u_ge(l.n, nsl + 1, "enough slabs");

	/* Free `each' objects of each of nsl full slabs, then flush them. */
	st = stats_of(s);
	for (j = 0; j < nsl; j++) {
		per = 0;
		for (i = 0; i < k && per < each; i++) {
			if (!objs[i] || pagemap_head(objs[i]) != l.slab[j])
				continue;
			uslub_cache_free(s, objs[i]);
			want[nfree++] = objs[i];
			objs[i] = NULL;
			per++;
		}
	}
	expect_u_eq(cpu_size(c), nsl * each, "frees on main");
	sheaf_slot_flush(s, c, &thread_cache->pcache);
	now = stats_of(s);
	expect_delta(&st, &now, "flush of the slabs' objects",
		     { FREE_PCS, nsl * each }, { SHEAF_FLUSH, nsl * each },
		     { CMPXCHG_DOUBLE, nsl }, { FREE_ADD_PARTIAL, nsl });
	expect_u_eq(cpu_size(c), 0, "main flushed");
	expect_lu_eq(nr_partial(s), nsl, "each slab went full -> partial");
	/* s->partial in the order the flush met the slabs (added at the
	 * tail), each freelist the slab's objects in reverse sheaf order. */
	j = 0;
	lock_acquire(&s->list_lock);
	for (pos = s->partial.next; pos != &s->partial; pos = pos->next, j++)
		if (j < nsl)
			expect_ptr_eq(pos, &l.slab[j]->slab_list,
				      "partial list position %u", j);
	lock_release(&s->list_lock);
	expect_u_eq(j, nsl, "partial list length");
	for (j = 0; j < nsl; j++) {
		slab = l.slab[j];
		expect_u_eq(counters_of(slab).inuse, n - each, "slab %u", j);
		expect_u_eq(slab_count_free(s, slab), each, "slab %u free", j);
		for (i = 0, p = READ_ONCE(slab->freelist); i < each;
		     i++, p = p ? get_freepointer(s, p) : NULL)
			expect_ptr_eq(p, want[j * each + each - 1 - i],
				      "slab %u freelist entry %u", j, i);
	}

	/* The refill takes every slab's objects, one cmpxchg16b each, and
	 * stops short of a sheaf rather than open a new slab. */
	st = now;
	p = uslub_cache_alloc(s, 0);
	now = stats_of(s);
	expect_delta(&st, &now, "refill across partial slabs",
		     { ALLOC_SLOWPATH, 1 }, { BARN_GET_FAIL, 1 },
		     { ALLOC_FROM_PARTIAL, 1 }, { SHEAF_REFILL, nsl * each },
		     { CMPXCHG_DOUBLE, nsl });
	want_n = nsl * each;
	expect_u_eq(cpu_size(c), want_n - 1, "short refill");
	for (j = 0; j < nsl; j++) {
		slab = l.slab[j];
		expect_u_eq(counters_of(slab).inuse, n, "slab %u drained", j);
		expect_ptr_null(READ_ONCE(slab->freelist), "slab %u", j);
		expect_u_eq(slab->on_partial, 0, "slab %u off the list", j);
		/* Slab by slab, each in its freelist order; the first
		 * object taken is handed out, the rest go to main. */
		for (i = 0; i < each; i++)
			if (j * each + i > 0)
				expect_ptr_eq(c->objects[j * each + i - 1],
					      want[j * each + each - 1 - i],
					      "sheaf slot %u",
					      j * each + i - 1);
	}
	expect_ptr_eq(p, want[each - 1], "the first slab's freelist head");
	expect_lu_eq(nr_partial(s), 0, "s->partial empty");
	st = now;
	for (i = 1; i < want_n; i++)
		expect_ptr_ne(uslub_cache_alloc(s, 0), NULL, "pop %u", i);
	now = stats_of(s);
	expect_delta(&st, &now, "pops", { ALLOC_PCS, want_n - 1 });
	expect_u_eq(cpu_size(c), 0, "main drained");
	/* Handed out: objs[] (the NULLed ones came back as want[]). */
	for (i = 0; i < k; i++)
		if (objs[i])
			uslub_cache_free(s, objs[i]);
	free_all(s, want, want_n);
	free(l.slab);
	free(objs);
	destroy_empty(s);
}

TEST_BEGIN(test_refill_walks_partial_slabs_one_cmpxchg_each)
{
	/* all detached; then past DETACH_MAX (16), the rest in place */
	refill_walk("state_walk", 5, 3);
	refill_walk("state_walk20", 20, 2);
}
TEST_END

TEST_BEGIN(test_main_spare_and_barn_exchange)
{
	struct uslub_cache *s = new_cache("state_exchange", OBJ_SIZE);
	struct kmem_cache_cpu *c;
	struct slab_sheaf *first, *fresh;
	struct snap s0, st, now;
	unsigned int i, k, cap, h;
	void **objs, *q, *q2;

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	objs = objs_array(2 * cap + 2 + settle_room(s));
	k = alloc_settled(s, objs, 2 * cap + 2);
	c = slot_of(s);
	first = c->main;
	expect_ptr_null(c->spare, "no spare yet");
	expect_barn(s, 0, 0, 0, "start");

	/* Main fills up on the fast path. */
	s0 = st = stats_of(s);
	free_all(s, objs, cap);
	now = stats_of(s);
	expect_delta(&st, &now, "fill main", { FREE_PCS, cap });
	expect_u_eq(cpu_size(c), cap, "main full");

	/* Overflow without a spare: main to the barn, a new empty main. */
	st = now;
	uslub_cache_free(s, objs[cap]);
	now = stats_of(s);
	expect_delta(&st, &now, "overflow to the barn", { FREE_SLOWPATH, 1 },
		     { SHEAF_ALLOC, 1 }, { BARN_PUT, 1 });
	fresh = c->main;
	expect_ptr_ne(fresh, first, "a new main sheaf");
	expect_ptr_eq(c->objects, fresh->objects, "slot array follows main");
	expect_u_eq(cpu_size(c), 1, "the object on the new main");
	expect_ptr_eq(c->objects[0], objs[cap], "it is the one freed");
	expect_ptr_null(c->spare, "still no spare");
	expect_barn(s, 1, 0, cap, "after the overflow");
	expect_ptr_eq(barn_full_sheaf(s, 0), first, "the old main is there");
	expect_u_eq(first->size, cap, "full, its size written back");
	for (i = 0; i < cap; i++)
		expect_ptr_eq(first->objects[i], objs[i], "barn sheaf slot %u",
			      i);
	expect_lu_eq(active_objs(s), k - cap - 1, "barn objects not active");

	/* Pop the new main's object, then the barn's sheaf comes back. */
	st = now;
	q = uslub_cache_alloc(s, 0);
	expect_ptr_eq(q, objs[cap], "LIFO");
	q2 = uslub_cache_alloc(s, 0);
	now = stats_of(s);
	expect_delta(&st, &now, "empty main takes a full barn sheaf",
		     { ALLOC_PCS, 1 }, { ALLOC_SLOWPATH, 1 },
		     { BARN_GET, 1 });
	expect_ptr_eq(q2, objs[cap - 1], "top of the barn's sheaf");
	expect_ptr_eq(c->main, first, "the barn's sheaf is main again");
	expect_u_eq(cpu_size(c), cap - 1, "main");
	expect_ptr_eq(c->spare, fresh, "the empty main became the spare");
	expect_u_eq(c->spare_size, 0, "spare_size");
	expect_u_eq(fresh->size, 0, "spare empty");
	expect_barn(s, 0, 0, 0, "barn empty again");

	/* Overflow with an empty spare: main's older half moves there, and
	 * main keeps the newer half (in order) and the object freed. */
	h = cap / 2;
	st = now;
	uslub_cache_free(s, q2);
	uslub_cache_free(s, q);
	now = stats_of(s);
	expect_delta(&st, &now, "overflow into the empty spare",
		     { FREE_PCS, 1 }, { FREE_SLOWPATH, 1 }, { SHEAF_SWAP, 1 });
	expect_ptr_eq(c->main, first, "main stays");
	expect_u_eq(cpu_size(c), cap - h + 1, "the newer half and q");
	for (i = 0; i < cap - h; i++)
		expect_ptr_eq(c->objects[i], objs[h + i], "main slot %u", i);
	expect_ptr_eq(c->objects[cap - h], q, "q on top");
	expect_ptr_eq(c->spare, fresh, "the spare stays");
	expect_u_eq(c->spare_size, h, "spare_size");
	expect_u_eq(fresh->size, h, "the older half");
	for (i = 0; i < h; i++)
		expect_ptr_eq(fresh->objects[i], objs[i], "spare slot %u", i);
	expect_barn(s, 0, 0, 0, "the barn is not involved");

	/* Main runs empty: the spare's newest half (here all of it, at most
	 * half of main's room) comes over. */
	st = now;
	expect_ptr_eq(uslub_cache_alloc(s, 0), q, "pop q");
	for (i = cap; i-- > h;)
		expect_ptr_eq(uslub_cache_alloc(s, 0), objs[i],
			      "pop objs[%u]", i);
	expect_ptr_eq(uslub_cache_alloc(s, 0), objs[h - 1], "the spare's top");
	now = stats_of(s);
	expect_delta(&st, &now, "empty main takes from the spare",
		     { ALLOC_PCS, cap - h + 1 }, { ALLOC_SLOWPATH, 1 },
		     { SHEAF_SWAP, 1 });
	expect_ptr_eq(c->main, first, "main");
	expect_u_eq(cpu_size(c), h - 1, "main");
	expect_ptr_eq(c->spare, fresh, "spare");
	expect_u_eq(c->spare_size, 0, "spare_size");
	expect_lu_eq(active_objs(s), k - h + 1, "active_objs");
	expect_lu_eq(now.v[CMPXCHG_DOUBLE] - s0.v[CMPXCHG_DOUBLE], 0,
		     "no slab was touched after the first refills");

	free_all(s, objs + h - 1, k - h + 1);
	free(objs);
	destroy_empty(s);
}
TEST_END

/*
 * A thread whose frees and allocations of one size take turns around
 * main's full mark (a random walk there) must not leave the fast path on
 * every turn: the first overflow moves main's older half to the spare,
 * and main then has room both ways.  Exchanging main and spare whole put
 * main at the other end of its range, and the walk back and forth
 * exchanged them on every other operation.
 */
TEST_BEGIN(test_walk_at_full_main_stays_fast)
{
	struct uslub_cache *s = new_cache("state_walk_full", OBJ_SIZE);
	struct kmem_cache_cpu *c;
	struct snap st, now;
	unsigned int i, k, cap;
	void **objs, *a, *b, *x;

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	objs = objs_array(cap + 2 + settle_room(s));
	k = alloc_settled(s, objs, cap + 2);
	c = slot_of(s);
	/* An overflow to the barn and a refill from it leave main at cap - 1
	 * and the old main as an empty spare. */
	free_all(s, objs, cap + 1);
	expect_ptr_eq(uslub_cache_alloc(s, 0), objs[cap], "pop");
	expect_ptr_eq(uslub_cache_alloc(s, 0), objs[cap - 1], "the barn's");
	assert_ptr_not_null(c->spare, "a spare");
	expect_u_eq(c->spare_size, 0, "empty");
	uslub_cache_free(s, objs[cap - 1]);
	expect_u_eq(cpu_size(c), cap, "main full");
	a = objs[cap];
	b = objs[cap + 1];
	st = stats_of(s);
	for (i = 0; i < 100; i++) {	/* cap+1, cap+2, cap+1, cap, cap-1 */
		uslub_cache_free(s, a);
		uslub_cache_free(s, b);
		b = uslub_cache_alloc(s, 0);
		a = uslub_cache_alloc(s, 0);
		x = uslub_cache_alloc(s, 0);
		uslub_cache_free(s, x);
	}
	now = stats_of(s);
	expect_lu_le(now.v[FREE_SLOWPATH] - st.v[FREE_SLOWPATH] +
		     now.v[ALLOC_SLOWPATH] - st.v[ALLOC_SLOWPATH], 1,
		     "one slow path in 600 operations");
	expect_lu_eq(now.v[SHEAF_SWAP] - st.v[SHEAF_SWAP], 1,
		     "main and spare balanced once");
	expect_u_eq(c->spare_size, cap / 2, "the spare holds main's half");
	uslub_cache_free(s, a);
	uslub_cache_free(s, b);
	free_all(s, objs + cap + 2, k - cap - 2);
	free(objs);
	destroy_empty(s);
}
TEST_END

TEST_BEGIN(test_barn_holds_at_most_max_full_sheaves)
{
	struct uslub_cache *s = new_cache("state_barn_max", OBJ_SIZE);
	struct kmem_cache_cpu *c;
	struct snap st, now;
	struct flush_pred fp;
	unsigned int i, j, k, cap, nheld, nfrees, nf, mf, idx, nagain = 0,
		     total, wide, narrow;
	void **objs, **held, **frees, **again, **all,
	     *flushed[SHEAF_MAX_CAPACITY];

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	mf = s->barn.max_full;
	assert_u_ge(mf, MAX_FULL_SHEAVES, "at least MAX_FULL_SHEAVES");
	assert_u_le(mf, BARN_MAX_FULL, "and at most BARN_MAX_FULL");
	nf = (mf + 1) * cap + 1;
	objs = objs_array(2 * nf + settle_room(s));
	k = alloc_settled(s, objs, 2 * nf);
	held = objs_array(k);
	frees = objs_array(k);
	again = objs_array(k);
	hold_one_per_slab(objs, k, held, &nheld, frees, &nfrees);
	assert_u_ge(nfrees, nf + 2 * cap + 2, "enough objects to free");
	c = slot_of(s);

	/* mf + 1 sheaves' worth: main full, and mf in the barn. */
	st = stats_of(s);
	free_all(s, frees, (mf + 1) * cap);
	now = stats_of(s);
	expect_delta(&st, &now, "overflows into the barn",
		     { FREE_PCS, (mf + 1) * cap - mf },
		     { FREE_SLOWPATH, mf },
		     { SHEAF_ALLOC, mf },
		     { BARN_PUT, mf });
	expect_barn(s, mf, 0, mf * cap,
		    "barn at its limit");
	for (j = 0; j < mf; j++) {
		struct slab_sheaf *sh = barn_full_sheaf(s, j);

		assert_ptr_not_null(sh, "full sheaf %u", j);
		expect_u_eq(sh->size, cap, "sheaf %u full", j);
		expect_ptr_eq(sh->objects[0], frees[j * cap],
			      "sheaf %u oldest first", j);
	}
	expect_u_eq(cpu_size(c), cap, "main full");
	expect_ptr_null(c->spare, "no spare yet");

	/* The next overflow finds the barn full: main and every sheaf of the
	 * barn go back to the slabs (main, then the barn's oldest first), one
	 * cmpxchg16b per slab per batch of up to FLUSH_WIDE_MAX objects, and
	 * the barn drains until the next refill. */
	all = objs_array((mf + 1) * cap);
	predict_drain(s, c, all, &total, &wide, &narrow);
	assert_u_eq(total, (mf + 1) * cap, "main and the barn to flush");
	fp = predict_flush(all, total);
	st = now;
	uslub_cache_free(s, frees[nf - 1]);
	now = stats_of(s);
	expect_delta(&st, &now, "overflow with a full barn",
		     { FREE_SLOWPATH, 1 }, { BARN_PUT_FAIL, 1 },
		     { SHEAF_FLUSH, (mf + 1) * cap },
		     { CMPXCHG_DOUBLE, wide },
		     { FREE_ADD_PARTIAL, fp.full },
		     { SHEAF_FREE, mf > MAX_EMPTY_SHEAVES ?
				   mf - MAX_EMPTY_SHEAVES : 0 });
	expect_u_eq(cpu_size(c), 1, "main flushed, then the push");
	expect_ptr_eq(c->objects[0], frees[nf - 1], "the pushed object");
	expect_barn(s, 0, MIN(mf, MAX_EMPTY_SHEAVES), 0,
		    "barn drained: its sheaves kept empty");
	expect_true(s->barn.draining, "the barn is draining");
	for (i = 0; i < (mf + 1) * cap; i++)
		expect_true(on_slab_freelist(s, all[i]),
			    "flushed object %u back on its slab", i);
	expect_lu_eq(active_objs(s), k - nf, "active_objs");

	/* While it drains, an overflow flushes main, the barn stays empty. */
	idx = nf;
	while (cpu_size(c) < cap)
		uslub_cache_free(s, frees[idx++]);
	memcpy(flushed, c->objects, cap * sizeof(void *));
	fp = predict_flush(flushed, cap);
	st = stats_of(s);
	uslub_cache_free(s, frees[idx++]);
	now = stats_of(s);
	expect_delta(&st, &now, "overflow while draining",
		     { FREE_SLOWPATH, 1 }, { BARN_PUT_FAIL, 1 },
		     { SHEAF_FLUSH, cap }, { CMPXCHG_DOUBLE, fp.slabs },
		     { FREE_ADD_PARTIAL, fp.full });
	expect_barn(s, 0, MIN(mf, MAX_EMPTY_SHEAVES), 0,
		    "the barn stays empty while draining");

	/* A refill ends the draining: the next overflow uses the barn. */
	again[nagain++] = uslub_cache_alloc(s, 0);
	expect_u_eq(cpu_size(c), 0, "main empty");
	st = stats_of(s);
	again[nagain++] = uslub_cache_alloc(s, 0);
	now = stats_of(s);
	expect_lu_eq(now.v[BARN_GET_FAIL] - st.v[BARN_GET_FAIL], 1,
		     "no full sheaf to get");
	expect_lu_eq(now.v[ALLOC_FROM_PARTIAL] - st.v[ALLOC_FROM_PARTIAL], 1,
		     "refilled from the slabs the flushes went to");
	expect_false(s->barn.draining, "a refill ends the draining");
	while (cpu_size(c) < cap)
		uslub_cache_free(s, frees[idx++]);
	assert_u_le(idx, nfrees, "objects left to free");
	st = stats_of(s);
	uslub_cache_free(s, frees[idx++]);
	now = stats_of(s);
	expect_delta(&st, &now, "overflow into the barn again",
		     { FREE_SLOWPATH, 1 }, { BARN_PUT, 1 });
	expect_barn(s, 1, MIN(mf, MAX_EMPTY_SHEAVES) - 1, cap,
		    "one full sheaf, one empty sheaf taken");

	free_all(s, again, nagain);
	free_all(s, frees + idx, nfrees - idx);
	free_all(s, held, nheld);
	free(all);
	free(objs);
	free(held);
	free(frees);
	free(again);
	destroy_empty(s);
}
TEST_END

/* nslabs full slabs of s whose objects are all handed out, in objs. */
static struct slab_list full_slabs(struct uslub_cache *s, void **objs,
				   unsigned int *k, unsigned int nslabs)
{
	struct slab_list l;

	*k = alloc_settled(s, objs, nslabs * s->objects);
	l = slabs_of(objs, *k);
	return l;
}

/* The handed-out objects of slab, from objs[0..k), into out. */
static unsigned int objs_of_slab(void **objs, unsigned int k,
				 struct slab *slab, void **out)
{
	unsigned int i, n = 0;

	for (i = 0; i < k; i++)
		if (objs[i] && pagemap_head(objs[i]) == slab)
			out[n++] = objs[i];
	return n;
}

TEST_BEGIN(test_flush_empties_full_slabs_beyond_min_partial)
{
	struct uslub_cache *s = cache_slab_fits_sheaf("state_flush_full");
	struct kmem_cache_cpu *c;
	struct snap st, now;
	struct slab_list l;
	unsigned int j, k, n, nslabs, mp, m;
	void **objs, *mine[SHEAF_MAX_CAPACITY];
	char *base;

	assert_ptr_not_null(s, "cache");
	n = s->objects;
	mp = s->min_partial;
	nslabs = mp + 3;
	objs = objs_array(nslabs * n + settle_room(s));
	l = full_slabs(s, objs, &k, nslabs);
	assert_u_ge(l.n, nslabs, "slabs");
	c = slot_of(s);
	for (j = 0; j < nslabs; j++) {
		base = page_address(l.slab[j]);
		m = objs_of_slab(objs, k, l.slab[j], mine);
		assert_u_eq(m, n, "slab %u: every object handed out", j);
		expect_ptr_null(READ_ONCE(l.slab[j]->freelist), "full");
		expect_u_eq(l.slab[j]->on_partial, 0, "a full slab: no list");
		st = stats_of(s);
		free_all(s, mine, n);
		sheaf_slot_flush(s, c, &thread_cache->pcache);
		now = stats_of(s);
		/* A full slab emptied by one flush is kept while
		 * nr_partial (without it) < min_partial. */
		if (j < mp) {
			expect_delta(&st, &now, "full -> empty, kept",
				     { FREE_PCS, n }, { SHEAF_FLUSH, n },
				     { CMPXCHG_DOUBLE, 1 },
				     { FREE_ADD_PARTIAL, 1 });
			expect_true(on_partial_list(s, l.slab[j]),
				    "empty slab %u kept on s->partial", j);
			expect_u_eq(counters_of(l.slab[j]).inuse, 0, "empty");
			expect_u_eq(slab_count_free(s, l.slab[j]), n,
				    "slab %u: all on its freelist", j);
		} else {
			expect_delta(&st, &now, "full -> empty, freed",
				     { FREE_PCS, n }, { SHEAF_FLUSH, n },
				     { CMPXCHG_DOUBLE, 1 }, { FREE_SLAB, 1 });
			expect_ptr_null(pagemap_head(base),
					"slab %u's pages left the cache", j);
		}
		expect_lu_eq(nr_partial(s), MIN(j + 1, mp), "after slab %u", j);
		expect_lu_eq(nr_slabs(s), l.n - (j < mp ? 0 : j - mp + 1),
			     "slabs after slab %u", j);
		expect_u_eq(cpu_size(c), 0, "main flushed");
	}
	for (j = nslabs; j < l.n; j++) {
		m = objs_of_slab(objs, k, l.slab[j], mine);
		free_all(s, mine, m);
	}
	free(l.slab);
	free(objs);
	destroy_empty(s);
}
TEST_END

TEST_BEGIN(test_flush_empties_partial_slabs_beyond_min_partial)
{
	struct uslub_cache *s = cache_slab_fits_sheaf("state_flush_partial");
	struct kmem_cache_cpu *c;
	struct snap st, now;
	struct slab_list l;
	unsigned int j, k, n, h, nslabs, mp, m, discarded = 0;
	void **objs, *mine[SHEAF_MAX_CAPACITY];
	char *base;

	assert_ptr_not_null(s, "cache");
	n = s->objects;
	h = n / 2;
	mp = s->min_partial;
	nslabs = mp + 3;
	objs = objs_array(nslabs * n + settle_room(s));
	l = full_slabs(s, objs, &k, nslabs);
	assert_u_ge(l.n, nslabs, "slabs");
	c = slot_of(s);

	/* Half of each slab back: full -> partial, one cmpxchg16b. */
	for (j = 0; j < nslabs; j++) {
		m = objs_of_slab(objs, k, l.slab[j], mine);
		assert_u_eq(m, n, "slab %u full", j);
		st = stats_of(s);
		free_all(s, mine, h);
		sheaf_slot_flush(s, c, &thread_cache->pcache);
		now = stats_of(s);
		expect_delta(&st, &now, "full -> partial", { FREE_PCS, h },
			     { SHEAF_FLUSH, h }, { CMPXCHG_DOUBLE, 1 },
			     { FREE_ADD_PARTIAL, 1 });
		expect_true(on_partial_list(s, l.slab[j]), "slab %u listed",
			    j);
		expect_u_eq(counters_of(l.slab[j]).inuse, n - h, "inuse");
		expect_ptr_eq(READ_ONCE(l.slab[j]->freelist), mine[h - 1],
			      "last object flushed heads the freelist");
	}
	expect_lu_eq(nr_partial(s), nslabs, "all partial");

	/* The other half: an emptied partial slab is freed while nr_partial
	 * (with it) >= min_partial, else stays listed. */
	for (j = 0; j < nslabs; j++) {
		bool discard = j < nslabs - (mp - 1);

		base = page_address(l.slab[j]);
		objs_of_slab(objs, k, l.slab[j], mine);
		st = stats_of(s);
		free_all(s, mine + h, n - h);
		sheaf_slot_flush(s, c, &thread_cache->pcache);
		now = stats_of(s);
		if (discard) {
			discarded++;
			expect_delta(&st, &now, "partial -> empty, freed",
				     { FREE_PCS, n - h },
				     { SHEAF_FLUSH, n - h },
				     { CMPXCHG_DOUBLE, 1 },
				     { FREE_REMOVE_PARTIAL, 1 },
				     { FREE_SLAB, 1 });
			expect_ptr_null(pagemap_head(base),
					"slab %u given back", j);
		} else {
			expect_delta(&st, &now, "partial -> empty, kept",
				     { FREE_PCS, n - h },
				     { SHEAF_FLUSH, n - h },
				     { CMPXCHG_DOUBLE, 1 });
			expect_true(on_partial_list(s, l.slab[j]),
				    "slab %u kept", j);
			expect_u_eq(slab_count_free(s, l.slab[j]), n,
				    "slab %u: all free", j);
		}
		expect_lu_eq(nr_partial(s), nslabs - discarded,
			     "nr_partial after slab %u", j);
		expect_lu_eq(nr_slabs(s), l.n - discarded, "after slab %u", j);
	}
	expect_u_eq(discarded, nslabs - (mp - 1), "min_partial - 1 kept");
	for (j = nslabs; j < l.n; j++) {
		m = objs_of_slab(objs, k, l.slab[j], mine);
		free_all(s, mine, m);
	}
	free(l.slab);
	free(objs);
	destroy_empty(s);
}
TEST_END

/*
 * A flush whose objects come from nearly as many slabs as it holds
 * objects (freed round-robin over SHEAF_MAX_CAPACITY - 23 full slabs, one
 * object of each held back: a batch of SHEAF_MAX_CAPACITY holds every
 * slab, 23 of them twice): every slab gets back exactly its own objects,
 * one cmpxchg16b per slab per batch, and each slab goes full -> partial
 * once.  That many slabs in one batch also make the grouping table probe
 * past taken buckets.
 */
TEST_BEGIN(test_flush_groups_interleaved_slabs)
{
	struct uslub_cache *s = new_cache("state_flush_mixed", OBJ_SIZE);
	unsigned int nslabs = SHEAF_MAX_CAPACITY - 23;
	unsigned int i, j, r, k, n, m = 0;
	struct flush_pred pred;
	struct snap st, now;
	struct slab_list l;
	void **objs, **mine, **order, **held;

	assert_ptr_not_null(s, "cache");
	n = s->objects;
	assert_u_ge(n, 2, "objects per slab");
	objs = objs_array(nslabs * n + settle_room(s));
	mine = objs_array(nslabs * n);
	order = objs_array(nslabs * n);
	held = objs_array(nslabs);
	l = full_slabs(s, objs, &k, nslabs);
	assert_u_ge(l.n, nslabs, "slabs");
	for (j = 0; j < nslabs; j++) {
		assert_u_eq(objs_of_slab(objs, k, l.slab[j], mine + j * n), n,
			    "slab %u full", j);
		held[j] = mine[j * n];
	}
	for (r = 1; r < n; r++)
		for (j = 0; j < nslabs; j++)
			order[m++] = mine[j * n + r];
	pred = predict_flush_by(order, m, SHEAF_MAX_CAPACITY);
	expect_u_eq(pred.full, nslabs, "every slab full before");
	st = stats_of(s);
	slab_free_bulk(s, slot_of(s), &thread_cache->pcache, order, m);
	now = stats_of(s);
	expect_delta(&st, &now, "interleaved flush",
		     { CMPXCHG_DOUBLE, pred.slabs },
		     { FREE_ADD_PARTIAL, nslabs });
	/* The frees themselves, which slab_free_bulk's callers count. */
	stat_add(slot_of(s), FREE_SLOWPATH, m);
	for (j = 0; j < nslabs; j++) {
		expect_u_eq(counters_of(l.slab[j]).inuse, 1,
			    "slab %u: only the held object in use", j);
		expect_u_eq(slab_count_free(s, l.slab[j]), n - 1,
			    "slab %u: the rest on its freelist", j);
		expect_true(on_partial_list(s, l.slab[j]), "slab %u listed", j);
		for (i = 1; i < n; i++)
			expect_true(on_slab_freelist(s, mine[j * n + i]),
				    "slab %u object %u back on its slab", j, i);
		expect_false(on_slab_freelist(s, held[j]),
			     "slab %u: the held object is not free", j);
	}
	expect_lu_eq(active_objs(s), k - m, "active after the flush");
	for (i = 0; i < k; i++)
		if (!among_ptrs(order, m, objs[i]))
			uslub_cache_free(s, objs[i]);
	free(l.slab);
	free(held);
	free(order);
	free(mine);
	free(objs);
	destroy_empty(s);
}
TEST_END

/*
 * A barn that frees overflow makes drain: its sheaves, main and the spare
 * go back to the slabs together, FLUSH_WIDE_MAX objects at a time, with
 * one cmpxchg16b per slab of each batch -- not per slab of each sheaf:
 * the objects were freed round robin over more slabs than a sheaf holds,
 * so every sheaf has an object on nearly every slab.  The thread keeps
 * its flush scratch for the next drain, and a trim gives it back.
 */
TEST_BEGIN(test_drain_flushes_barn_and_slot_together)
{
	struct uslub_cache *s = new_cache("state_drain_wide", OBJ_SIZE);
	struct page_cache *pc = &thread_cache->pcache;
	unsigned int i, j, k, r, n, m = 0, nslabs, sheaves, total = 0,
		     wide = 0, narrow = 0, want_wide, want_narrow, spare;
	struct kmem_cache_cpu *c;
	struct snap st, now;
	struct slab_list l;
	void **objs, **mine, **order, **gathered, **flushed = NULL;
	bool drained = false;

	assert_ptr_not_null(s, "cache");
	n = s->objects;
	assert_u_ge(n, 4, "objects per slab");
	/* Enough frees to fill main, the spare, a shelf and the barn. */
	sheaves = barn_limit(&s->barn) + 3 + SHELF_SHEAVES;
	nslabs = sheaves * s->sheaf_capacity / (n - 1) + 1;
	objs = objs_array(nslabs * n + settle_room(s));
	mine = objs_array(nslabs * n);
	order = objs_array(nslabs * n);
	gathered = objs_array(nslabs * n);
	l = full_slabs(s, objs, &k, nslabs);
	assert_u_ge(l.n, nslabs, "slabs");
	for (j = 0; j < nslabs; j++)
		assert_u_eq(objs_of_slab(objs, k, l.slab[j], mine + j * n), n,
			    "slab %u full", j);
	/* Round robin over the slabs; each keeps its first object. */
	for (r = 1; r < n; r++)
		for (j = 0; j < nslabs; j++)
			order[m++] = mine[j * n + r];
	c = slot_of(s);
	/* A spare: a sheaf into the barn and back (the refill that takes it
	 * keeps main's empty sheaf as the spare). */
	free_all(s, order, s->sheaf_capacity + 1);
	alloc_all(s, order, s->sheaf_capacity + 1);
	assert_ptr_not_null(c->spare, "a spare");
	for (i = 0; i < m && !drained; i++) {
		predict_drain(s, c, gathered, &total, &want_wide,
			      &want_narrow);
		spare = c->spare->size;
		st = stats_of(s);
		uslub_cache_free(s, order[i]);
		now = stats_of(s);
		if (now.v[BARN_PUT_FAIL] == st.v[BARN_PUT_FAIL])
			continue;
		drained = true;
		wide = want_wide;
		narrow = want_narrow;
		flushed = gathered;
		expect_lu_eq(now.v[CMPXCHG_DOUBLE] - st.v[CMPXCHG_DOUBLE],
			     want_wide, "one cmpxchg16b per slab per batch");
		expect_lu_eq(now.v[SHEAF_FLUSH] - st.v[SHEAF_FLUSH], total,
			     "every object of barn, main and spare flushed");
		expect_u_eq(barn_of(s).full, 0, "no full sheaf left in the barn");
		expect_u_eq(cpu_size(c), 1, "main holds the object just freed");
		expect_u_gt(spare, 0, "the spare held objects");
		expect_u_eq(c->spare->size, 0, "the spare flushed");
	}
	assert_true(drained, "the barn drained within %u frees", m);
	expect_u_gt(total, FLUSH_WIDE_MAX, "more than one batch");
	expect_u_lt(wide * 2, narrow, "fewer than half the cmpxchg16b of "
		    "flushing sheaf by sheaf (%u, %u)", wide, narrow);
	for (j = 0; j < total; j++)
		expect_true(on_slab_freelist(s, flushed[j]),
			    "flushed object %u on its slab's freelist", j);
	expect_ptr_not_null(pc->flush_scratch, "the thread keeps its scratch");
	for (; i < m; i++)
		uslub_cache_free(s, order[i]);
	for (j = 0; j < nslabs; j++)
		uslub_cache_free(s, mine[j * n]);
	for (i = 0; i < k; i++)
		if (!among_ptrs(mine, nslabs * n, objs[i]))
			uslub_cache_free(s, objs[i]);
	uslub_malloc_trim(0);
	expect_ptr_null(pc->flush_scratch, "a trim gives the scratch back");
	free(l.slab);
	free(gathered);
	free(order);
	free(mine);
	free(objs);
	destroy_empty(s);
}
TEST_END

TEST_BEGIN(test_shrink_flushes_sheaves_and_barn)
{
	struct uslub_cache *s = new_cache("state_shrink", OBJ_SIZE);
	struct kmem_cache_cpu *c;
	struct barn_view b;
	struct snap st, now;
	struct slab_list l;
	unsigned int i, j, k, cap, n, nheld = 0, nfree = 0, in_sheaves,
		     *held_in, kept = 0;
	void **objs, **held, **frees;

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	n = s->objects;
	objs = objs_array(6 * cap + settle_room(s));
	k = alloc_settled(s, objs, 6 * cap);
	c = slot_of(s);
	held = objs_array(k);
	frees = objs_array(k);
	/* Every 4th object of the first half stays handed out, and what is
	 * not freed below; the other slabs empty out. */
	for (i = 0; i < k; i++) {
		if (i < k / 2 && i % 4 == 0)
			held[nheld++] = objs[i];
		else
			frees[nfree++] = objs[i];
	}
	/* Three barn sheaves and some on main; then a trade leaves an
	 * empty spare and an overflow moves main's older half into it. */
	free_all(s, frees, 3 * cap + 5);
	for (i = 0; i < 6; i++)
		frees[nfree++] = uslub_cache_alloc(s, 0);
	j = 3 * cap + 5;
	while (cpu_size(c) < cap)
		uslub_cache_free(s, frees[j++]);
	uslub_cache_free(s, frees[j++]);
	uslub_cache_free(s, frees[j++]);
	/* The rest of frees[] from j on is handed out; move it to held. */
	for (; j < nfree; j++)
		held[nheld++] = frees[j];
	b = barn_of(s);
	assert_ptr_not_null(c->spare, "spare");
	expect_u_eq(c->spare_size, cap / 2, "the spare holds half");
	expect_u_eq(cpu_size(c), cap - cap / 2 + 2, "main the rest and two");
	expect_u_eq(b.full, 2, "two full sheaves in the barn");
	expect_u_eq(b.empty, 0, "no empty one");
	in_sheaves = cpu_size(c) + c->spare_size + (unsigned int)b.objects;
	l = slabs_of(objs, k);
	held_in = calloc(l.n, sizeof(*held_in));
	for (i = 0; i < nheld; i++)
		held_in[slab_list_add(&l, pagemap_head(held[i]))]++;
	for (j = 0; j < l.n; j++)
		kept += held_in[j] != 0;
	assert_lu_eq(nr_slabs(s), l.n, "every slab holds handed-out objects");

	st = stats_of(s);
	expect_d_eq(uslub_cache_shrink(s), 1, "slabs with live objects stay");
	now = stats_of(s);
	expect_lu_eq(now.v[SHEAF_FLUSH] - st.v[SHEAF_FLUSH], in_sheaves,
		     "every object of main, spare and barn flushed");
	expect_lu_eq(now.v[SHEAF_FREE] - st.v[SHEAF_FREE], b.full + b.empty,
		     "the barn's sheaves went back to the pool");
	expect_lu_eq(now.v[FREE_SLAB] - st.v[FREE_SLAB], l.n - kept,
		     "slabs without live objects freed");
	expect_lu_eq(now.v[ALLOC_PCS] + now.v[ALLOC_SLOWPATH],
		     st.v[ALLOC_PCS] + st.v[ALLOC_SLOWPATH], "no allocation");
	expect_lu_eq(now.v[FREE_PCS] + now.v[FREE_SLOWPATH],
		     st.v[FREE_PCS] + st.v[FREE_SLOWPATH], "no free counted");
	expect_u_eq(cpu_size(c), 0, "main empty");
	expect_ptr_not_null(c->main, "main sheaf kept");
	expect_u_eq(c->spare_size, 0, "spare empty");
	expect_u_eq(c->spare ? c->spare->size : 0, 0, "spare empty");
	expect_barn(s, 0, 0, 0, "barn emptied");
	expect_lu_eq(nr_slabs(s), kept, "slabs left");
	expect_lu_eq(active_objs(s), nheld, "handed-out objects unchanged");
	for (j = 0; j < l.n; j++) {
		if (!held_in[j])
			continue;
		expect_u_eq(slab_count_free(s, l.slab[j]) + held_in[j], n,
			    "slab %u: free + handed out == objects", j);
		expect_u_eq(counters_of(l.slab[j]).inuse, held_in[j],
			    "slab %u: inuse == handed out", j);
		expect_u_eq(l.slab[j]->on_partial, held_in[j] != n,
			    "slab %u listed iff it has free objects", j);
	}
	free_all(s, held, nheld);
	free(held_in);
	free(l.slab);
	free(held);
	free(frees);
	free(objs);
	destroy_empty(s);
}
TEST_END

/* A second thread with objects on its main sheaf, driven step by step. */
struct stepper {
	struct uslub_cache *s;
	struct kmem_cache_cpu *c;
	void **objs;
	unsigned int n, next;
	sem_t ready, go;
};

static void *other_thread_flush(void *arg)
{
	struct stepper *w = arg;
	struct uslub_cache *s = w->s;
	unsigned int cap = s->sheaf_capacity, i;

	w->n = alloc_settled(s, w->objs, 2 * cap + 5);
	w->c = slot_of(s);
	free_all(s, w->objs, 5);
	w->next = 5;
	sem_post(&w->ready);			/* 1: main holds 5 */
	sem_wait(&w->go);
	while (cpu_size(w->c) < cap)
		uslub_cache_free(s, w->objs[w->next++]);
	uslub_cache_free(s, w->objs[w->next++]);
	sem_post(&w->ready);			/* 2: first overflow */
	sem_wait(&w->go);
	for (i = 0; i < cap; i++)
		uslub_cache_free(s, w->objs[w->next++]);
	sem_post(&w->ready);			/* 3: second overflow */
	sem_wait(&w->go);
	free_all(s, w->objs + w->next, w->n - w->next);
	return NULL;
}

TEST_BEGIN(test_shrink_makes_other_threads_flush_later)
{
	struct uslub_cache *s = new_cache("state_shrink_other", OBJ_SIZE);
	struct stepper w;
	struct snap st, now;
	unsigned int cap;
	pthread_t t;

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	w.s = s;
	w.objs = objs_array(2 * cap + 5 + settle_room(s));
	sem_init(&w.ready, 0, 0);
	sem_init(&w.go, 0, 0);
	assert_d_eq(pthread_create(&t, NULL, other_thread_flush, &w), 0,
		    "thread");
	sem_wait(&w.ready);
	expect_u_eq(cpu_size_racy(w.c), 5, "the other thread's main");
	expect_d_eq(uslub_cache_shrink(s), 1,
		    "its objects keep their slabs");
	expect_u_eq(cpu_size_racy(w.c), 5, "shrink leaves other threads' sheaves");
	expect_lu_eq(active_objs(s), w.n - 5, "active_objs");

	st = stats_of(s);
	sem_post(&w.go);
	sem_wait(&w.ready);
	now = stats_of(s);
	expect_lu_eq(now.v[SHEAF_FLUSH] - st.v[SHEAF_FLUSH], cap,
		     "the first overflow after a shrink flushes main");
	expect_lu_eq(now.v[BARN_PUT] - st.v[BARN_PUT], 0, "not to the barn");
	expect_lu_eq(now.v[BARN_PUT_FAIL] - st.v[BARN_PUT_FAIL], 0,
		     "not for want of room");
	expect_u_eq(cpu_size(w.c), 1, "then the push");
	expect_barn(s, 0, 0, 0, "barn untouched");

	st = now;
	sem_post(&w.go);
	sem_wait(&w.ready);
	now = stats_of(s);
	expect_delta(&st, &now, "the next overflow uses the barn",
		     { FREE_PCS, cap - 1 }, { FREE_SLOWPATH, 1 },
		     { SHEAF_ALLOC, 1 }, { BARN_PUT, 1 });
	expect_barn(s, 1, 0, cap, "one full sheaf");
	sem_post(&w.go);
	pthread_join(t, NULL);
	sem_destroy(&w.ready);
	sem_destroy(&w.go);
	free(w.objs);
	destroy_empty(s);
}
TEST_END

/* A thread frees k objects, records its slot and leaves. */
struct exiter {
	struct uslub_cache *s;
	void **objs;
	unsigned int k;
	bool explicit_exit;	/* thread_cache_exit(), then a late free */
	void *late;
	unsigned int main_size, spare_size, idx;
	bool had_slot, empty_state, slot_after, state_after_free;
};

static void *exiter_thread(void *arg)
{
	struct exiter *e = arg;
	struct kmem_cache_cpu *c;

	settle_flush_gen();
	free_all(e->s, e->objs, e->k);
	c = slot_of(e->s);
	e->had_slot = c != NULL;
	e->main_size = c ? cpu_size(c) : 0;
	e->spare_size = c ? c->spare_size : 0;
	e->idx = thread_cache->idx;
	if (!e->explicit_exit)
		return NULL;			/* the TLS destructor */
	thread_cache_exit();
	e->empty_state = thread_cache == &thread_cache_empty;
	e->slot_after = slot_of(e->s) != NULL;
	uslub_cache_free(e->s, e->late);	/* no state: to the slab */
	e->state_after_free = thread_cache != &thread_cache_empty;
	return NULL;
}

TEST_BEGIN(test_thread_exit_puts_sheaves_in_barn)
{
	const unsigned int K = 10;
	unsigned int variant, i, k;
	struct uslub_cache *s;
	struct kmem_cache_cpu *c;
	struct slab_sheaf *sh;
	struct exiter e;
	struct snap st, now, d0, d1;
	struct slab *late_slab;
	void **objs;

	for (variant = 0; variant < 2; variant++) {
		bool expl = variant == 0;

		s = new_cache(expl ? "state_exit_explicit" : "state_exit_tls",
			      OBJ_SIZE);
		assert_ptr_not_null(s, "cache");
		objs = objs_array(K + 1 + settle_room(s));
		k = alloc_settled(s, objs, K + 1);
		c = slot_of(s);
		late_slab = pagemap_head(objs[K]);
		e = (struct exiter){ .s = s, .objs = objs, .k = K,
				     .explicit_exit = expl,
				     .late = expl ? objs[K] : NULL };
		d0 = dead_stats_of(s);
		st = stats_of(s);
		run_thread(exiter_thread, &e);
		d1 = dead_stats_of(s);
		now = stats_of(s);
		expect_true(e.had_slot, "the thread had a slot");
		expect_u_eq(e.main_size, K, "its frees were on its main");
		expect_u_eq(e.spare_size, 0, "no spare");
		if (expl) {
			expect_true(e.empty_state,
				    "thread_cache_exit: the empty state");
			expect_false(e.slot_after, "no slot any more");
			expect_false(e.state_after_free,
				     "a late free makes no new state");
			expect_delta(&d0, &d1, "exited thread's counters",
				     { FREE_SLOWPATH, 2 }, { FREE_PCS, K - 1 },
				     { SHEAF_ALLOC, 1 }, { BARN_PUT, 1 },
				     { CMPXCHG_DOUBLE, 1 },
				     { FREE_ADD_PARTIAL, 1 });
			expect_ptr_eq(READ_ONCE(late_slab->freelist), objs[K],
				      "the late free went to the slab");
			expect_true(on_partial_list(s, late_slab),
				    "full -> partial");
		} else {
			expect_delta(&d0, &d1, "exited thread's counters",
				     { FREE_SLOWPATH, 1 }, { FREE_PCS, K - 1 },
				     { SHEAF_ALLOC, 1 }, { BARN_PUT, 1 });
		}
		/* Folded, not lost: the sums moved by the dead counters. */
		for (i = 0; i < NR_SLUB_STAT_ITEMS; i++)
			expect_lu_eq(now.v[i] - st.v[i], d1.v[i] - d0.v[i],
				     "sum of %s", stat_item_names[i]);
		lock_acquire(&slab_mutex);
		expect_ptr_null(thread_registry_get(e.idx),
				"left the thread registry");
		lock_release(&slab_mutex);
		expect_lu_eq(active_objs(s), k - K - expl, "active_objs exact");
		expect_barn(s, 1, 0, K, "its main sheaf went to the barn");
		sh = barn_full_sheaf(s, 0);
		assert_ptr_not_null(sh, "the sheaf");
		for (i = 0; i < K && sh; i++)
			expect_ptr_eq(sh->objects[i], objs[i], "slot %u", i);

		/* Our next refill takes it. */
		expect_u_eq(cpu_size(c), 0, "our main is empty");
		st = stats_of(s);
		for (i = 0; i < K; i++)
			expect_ptr_eq(uslub_cache_alloc(s, 0), objs[K - 1 - i],
				      "object %u from the exited thread", i);
		now = stats_of(s);
		expect_delta(&st, &now, "refill from the barn",
			     { ALLOC_SLOWPATH, 1 }, { ALLOC_PCS, K - 1 },
			     { BARN_GET, 1 });
		expect_barn(s, 0, 0, 0, "barn empty");
		/* Handed out: objs[0..K) again, objs[K] unless freed late,
		 * and the rest. */
		free_all(s, objs, expl ? K : K + 1);
		free_all(s, objs + K + 1, k - K - 1);
		free(objs);
		destroy_empty(s);
	}
}
TEST_END

TEST_BEGIN(test_thread_exit_flushes_when_barn_is_full)
{
	const unsigned int K = 10;
	struct uslub_cache *s = new_cache("state_exit_full", OBJ_SIZE);
	struct exiter e;
	struct snap d0, d1;
	struct flush_pred fp;
	unsigned int i, k, cap, nheld, nfrees, nf, mf;
	void **objs, **held, **frees;

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	assert_u_gt(s->objects, K, "K objects empty no slab");
	mf = s->barn.max_full;
	nf = (mf + 1) * cap;
	objs = objs_array(2 * (nf + K) + settle_room(s));
	k = alloc_settled(s, objs, 2 * (nf + K));
	held = objs_array(k);
	frees = objs_array(k);
	hold_one_per_slab(objs, k, held, &nheld, frees, &nfrees);
	assert_u_ge(nfrees, nf + K, "objects to free");
	free_all(s, frees, nf);
	expect_barn(s, mf, 0, mf * cap,
		    "barn full");
	fp = predict_flush(frees + nf, K);
	e = (struct exiter){ .s = s, .objs = frees + nf, .k = K };
	d0 = dead_stats_of(s);
	run_thread(exiter_thread, &e);
	d1 = dead_stats_of(s);
	expect_u_eq(e.main_size, K, "its main held K");
	expect_delta(&d0, &d1, "exit with a full barn", { FREE_SLOWPATH, 1 },
		     { FREE_PCS, K - 1 }, { SHEAF_ALLOC, 1 },
		     { SHEAF_FLUSH, K }, { CMPXCHG_DOUBLE, fp.slabs },
		     { FREE_ADD_PARTIAL, fp.full });
	expect_barn(s, mf, 1, mf * cap,
		    "flushed main joined the empty sheaves");
	for (i = 0; i < K; i++)
		expect_true(on_slab_freelist(s, frees[nf + i]),
			    "object %u back on its slab", i);
	expect_lu_eq(active_objs(s), k - nf - K, "active_objs");
	finish_held(s, objs, held, nheld, frees, nfrees, nf + K);
}
TEST_END

/* A thread frees n objects and records the barn as it leaves it. */
struct parker {
	struct uslub_cache *s;
	void **objs;
	unsigned int n;
	unsigned int full_seen, limit_seen, users_seen, main_size;
	unsigned int idx;		/* the thread's index */
};

static void *parker_thread(void *arg)
{
	struct parker *a = arg;

	settle_flush_gen();
	free_all(a->s, a->objs, a->n);
	a->full_seen = barn_of(a->s).full;
	a->limit_seen = barn_limit(&a->s->barn);
	a->users_seen = READ_ONCE(a->s->barn.users);
	a->main_size = cpu_size(slot_of(a->s));
	a->idx = thread_cache->idx;
	return NULL;
}

/*
 * The barn keeps max_full sheaves per slot using the cache: a second
 * thread parks as many again beside the first thread's, and when it
 * leaves, its own sheaves and what is beyond one allowance are flushed
 * to the slabs, objects intact.
 */
TEST_BEGIN(test_barn_limit_follows_users)
{
	struct uslub_cache *s = new_cache("state_barn_users", OBJ_SIZE);
	struct parker a;
	unsigned int cap, mf, nf, k, i, nheld, nfrees, want, back = 0;
	void **objs, **held, **frees;

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	mf = s->barn.max_full;
	assert_u_le(2 * mf, BARN_MAX_FULL, "two allowances fit the cap");
	nf = (mf + 1) * cap;
	/* one object per slab is held back: allocate for that too */
	want = 2 * nf + 2 * nf / (s->objects - 1) + s->objects;
	objs = objs_array(want + settle_room(s));
	k = alloc_settled(s, objs, want);
	held = objs_array(k);
	frees = objs_array(k);
	hold_one_per_slab(objs, k, held, &nheld, frees, &nfrees);
	assert_u_ge(nfrees, 2 * nf, "objects to free");
	expect_u_eq(READ_ONCE(s->barn.users), 1, "one slot: this thread's");
	free_all(s, frees, nf);
	expect_barn(s, mf, 0, mf * cap, "one user: barn at max_full");

	a = (struct parker){ .s = s, .objs = frees + nf, .n = nf };
	run_thread(parker_thread, &a);
	expect_u_eq(a.users_seen, 2, "two slots while the thread lived");
	expect_u_eq(a.limit_seen, 2 * mf, "two allowances");
	expect_u_eq(a.full_seen, 2 * mf, "the thread parked max_full more");
	expect_u_eq(a.main_size, cap, "and kept a full main");

	expect_u_eq(READ_ONCE(s->barn.users), 1, "its slot left");
	expect_u_eq(barn_limit(&s->barn), mf, "one allowance again");
	expect_barn(s, mf, mf + 1 > MAX_EMPTY_SHEAVES ? MAX_EMPTY_SHEAVES :
		    mf + 1, mf * cap, "trimmed to one allowance");
	for (i = 0; i < nf; i++)
		back += on_slab_freelist(s, frees[nf + i]);
	expect_u_ge(back, cap, "its main went back to the slabs");
	expect_lu_eq(active_objs(s), k - 2 * nf, "active_objs");
	finish_held(s, objs, held, nheld, frees, nfrees, 2 * nf);
}
TEST_END

/* Frees objs[0..n) and allocates n objects back into objs. */
static void swing_back(struct uslub_cache *s, void **objs, unsigned int n)
{
	free_all(s, objs, n);
	alloc_all(s, objs, n);
}

/* Whether obj is on a full sheaf of s's barn. */
static bool in_barn(struct uslub_cache *s, void *obj)
{
	struct slab_sheaf *sh;
	bool found = false;
	unsigned int i;

	spin_acquire(&s->barn.lock);
	list_for_each_entry(sh, &s->barn.sheaves_full, barn_list)
		for (i = 0; i < sh->size && !found; i++)
			found = sh->objects[i] == obj;
	spin_release(&s->barn.lock);
	return found;
}

struct taker {
	struct uslub_cache *s;
	void **objs;
	unsigned int n;
	unsigned int grown_seen;
};

/* Allocates n objects of s into objs (their frees drained the barn). */
static void *taker_thread(void *arg)
{
	struct taker *t = arg;

	settle_flush_gen();
	alloc_all(t->s, t->objs, t->n);
	t->grown_seen = READ_ONCE(t->s->barn.grown);
	return NULL;
}

/*
 * A thread that frees more than the barn holds (the barn drains to the
 * slabs) and then allocates them back makes the barn grow: max_full
 * sheaves more, then twice what it grew, up to BARN_GROW_BYTES of
 * objects.  Once it has grown, the same swing stays in sheaves: no
 * drain, no cmpxchg16b, no slab.  Another thread taking back what this
 * one freed does not grow it; sheaves idle past decay_ms and a trim
 * take the growth back.
 */
TEST_BEGIN(test_barn_grows_for_a_thread_taking_back_its_swing)
{
	struct uslub_cache *s = uslub_cache_create("state_barn_grow", 4096, 0,
						   0, NULL);
	unsigned int cap, mf, most, n, i, want, decay, kept;
	struct snap st, now;
	struct taker t;
	void **objs;

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	mf = s->barn.max_full;
	most = (unsigned int)MIN(BARN_GROW_BYTES /
				 ((unsigned long)cap * s->size),
				 (unsigned long)BARN_MAX_FULL);
	assert_u_gt(most, 4 * mf, "room for three doublings");
	n = (mf + most + 3 + SHELF_SHEAVES) * cap;	/* past a shelf too */
	objs = objs_array(2 * n);
	alloc_all(s, objs, 2 * n);
	expect_u_eq(READ_ONCE(s->barn.grown), 0, "not grown");

	/* Swings bigger than the barn: it drains; at the second it grows. */
	st = stats_of(s);
	swing_back(s, objs, (mf + 3) * cap);
	now = stats_of(s);
	expect_lu_gt(now.v[BARN_PUT_FAIL] - st.v[BARN_PUT_FAIL], 0, "drained");
	expect_u_eq(READ_ONCE(s->barn.grown), 0, "one swing: not grown");
	swing_back(s, objs, (mf + 3) * cap);
	expect_u_eq(READ_ONCE(s->barn.grown), mf, "grown by max_full");
	expect_u_eq(barn_limit(&s->barn), 2 * mf, "two allowances");

	/* The same swing now fits: no drain, nothing through the slabs. */
	st = stats_of(s);
	swing_back(s, objs, (mf + 3) * cap);
	now = stats_of(s);
	expect_lu_eq(now.v[BARN_PUT_FAIL] - st.v[BARN_PUT_FAIL], 0, "no drain");
	expect_lu_eq(now.v[SHEAF_FLUSH] - st.v[SHEAF_FLUSH], 0, "no flush");
	expect_lu_eq(now.v[CMPXCHG_DOUBLE] - st.v[CMPXCHG_DOUBLE], 0,
		     "no cmpxchg16b");
	expect_lu_eq(now.v[SHEAF_REFILL] - st.v[SHEAF_REFILL], 0,
		     "no refill from the slabs");
	expect_lu_gt(now.v[BARN_GET] - st.v[BARN_GET], 0, "the barn's sheaves");
	expect_u_eq(READ_ONCE(s->barn.grown), mf, "no more growth");


	/* Bigger swings double the growth, up to the bound (swings past
	 * what the slot's own sheaves grow to hold). */
	for (want = 2 * mf; want < most; want *= 2) {
		swing_back(s, objs, 2 * n);
		expect_u_eq(READ_ONCE(s->barn.grown), want, "doubled");
	}
	swing_back(s, objs, 2 * n);
	expect_u_eq(READ_ONCE(s->barn.grown), most, "at BARN_GROW_BYTES");

	/* A swing bigger than the grown barn: its oldest sheaves go to the
	 * slabs, a quarter at a time, the newest stay; it does not drain,
	 * and the allocations take them back first. */
	st = stats_of(s);
	free_all(s, objs, 2 * n);
	now = stats_of(s);
	expect_lu_eq(now.v[BARN_PUT_FAIL] - st.v[BARN_PUT_FAIL], 0, "no drain");
	expect_false(s->barn.draining, "not draining");
	expect_lu_gt(now.v[SHEAF_FLUSH] - st.v[SHEAF_FLUSH], 0,
		     "the oldest flushed");
	/* (the slot's grown sheaves hold more than cap: count objects) */
	kept = barn_of(s).full;
	expect_lu_ge(barn_of(s).objects,
		     (unsigned long)barn_limit(&s->barn) * cap / 2,
		     "the barn kept nearly full");
	expect_false(in_barn(s, objs[0]), "the first freed not in the barn");
	st = stats_of(s);
	alloc_all(s, objs, 2 * n);
	now = stats_of(s);
	expect_lu_eq(now.v[BARN_GET] - st.v[BARN_GET], kept,
		     "every kept sheaf taken back");

	/* Idle past decay_ms: a refill's decay takes the growth back. */
	free_all(s, objs, n);
	decay = uslub_opt.decay_ms;
	uslub_opt.decay_ms = 0;
	alloc_all(s, objs, n);
	uslub_opt.decay_ms = decay;
	expect_u_eq(READ_ONCE(s->barn.grown), 0, "decay took it back");

	/* Another thread takes back what this one freed: no growth. */
	free_all(s, objs, n);
	expect_true(s->barn.draining, "drained");
	t = (struct taker){ .s = s, .objs = objs, .n = n };
	run_thread(taker_thread, &t);
	expect_u_eq(t.grown_seen, 0, "not grown for another thread");

	/* Grown again (two swings), then trimmed. */
	swing_back(s, objs, n);
	swing_back(s, objs, n);
	expect_u_eq(READ_ONCE(s->barn.grown), mf, "grown");
	uslub_malloc_trim(0);
	expect_u_eq(READ_ONCE(s->barn.grown), 0, "a trim takes it back");
	for (i = 0; i < 2 * n; i++)
		uslub_cache_free(s, objs[i]);
	free(objs);
	destroy_empty(s);
}
TEST_END

/*
 * A grown barn keeps as many more empty sheaves as it grew by: the full
 * ones of a swing all come back empty when it is taken back, and the
 * next swing needs them again, with no trip to the sheaf pool.
 */
TEST_BEGIN(test_grown_barn_keeps_its_empty_sheaves)
{
	struct uslub_cache *s = new_cache("state_barn_empties", 64);
	unsigned int cap, mf, n, r;
	struct snap st, now;
	void **objs;

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	mf = s->barn.max_full;
	assert_u_gt(mf, MAX_EMPTY_SHEAVES, "a barn of more than the empties");
	n = (mf + 3 + SHELF_SHEAVES) * cap;
	objs = objs_array(n);
	alloc_all(s, objs, n);
	for (r = 0; r < 3; r++)
		swing_back(s, objs, n);
	expect_u_eq(READ_ONCE(s->barn.grown), mf, "grown");
	st = stats_of(s);
	swing_back(s, objs, n);
	now = stats_of(s);
	expect_lu_gt(now.v[BARN_PUT] - st.v[BARN_PUT], MAX_EMPTY_SHEAVES,
		     "more sheaves through the barn than it keeps ungrown");
	expect_lu_eq(now.v[SHEAF_ALLOC] - st.v[SHEAF_ALLOC], 0,
		     "the barn kept its empty sheaves for the next swing");
	expect_lu_eq(now.v[SHEAF_FREE] - st.v[SHEAF_FREE], 0,
		     "none went back to the pool");
	free_all(s, objs, n);
	free(objs);
	destroy_empty(s);
}
TEST_END

/*
 * A refill takes back a sheaf the thread itself gave the barn, though
 * other threads' sheaves are newer: its objects' lines are in its core.
 */
TEST_BEGIN(test_barn_gives_back_own_sheaf)
{
	struct uslub_cache *s = new_cache("state_barn_owner", OBJ_SIZE);
	struct parker a;
	struct slab_sheaf *mine;
	unsigned int cap, k;
	void **objs;
	void *p;

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	objs = objs_array(2 * (cap + 1) + settle_room(s));
	k = alloc_settled(s, objs, 2 * (cap + 1));
	expect_ptr_null(slot_of(s)->spare, "no spare yet");
	free_all(s, objs, cap + 1);
	expect_barn(s, 1, 0, cap, "this thread's full main went to the barn");
	mine = barn_full_sheaf(s, 0);
	expect_u_eq(mine->owner, thread_cache->idx, "marked as this thread's");

	a = (struct parker){ .s = s, .objs = objs + cap + 1, .n = cap + 1 };
	run_thread(parker_thread, &a);
	expect_barn(s, 3, 0, cap + cap + 1,
		    "then the thread's full main, and its last one on exit");
	expect_u_ne(barn_full_sheaf(s, 1)->owner, thread_cache->idx,
		    "a newer sheaf of another thread");
	expect_u_eq(barn_full_sheaf(s, 2)->owner, a.idx,
		    "the newest: of a departed slot, with its index");
	expect_false(barn_full_sheaf(s, 2)->swing,
		     "and no live thread's");

	p = uslub_cache_alloc(s, 0);		/* main's one object */
	expect_ptr_eq(p, objs[cap], "the last freed");
	uslub_cache_free(s, uslub_cache_alloc(s, 0));	/* refill, back */
	expect_ptr_eq(slot_of(s)->main, mine, "its own sheaf back");
	expect_barn(s, 2, 0, cap + 1, "the others' stay");
	uslub_cache_free(s, p);
	free_all(s, objs + 2 * (cap + 1), k - 2 * (cap + 1));
	free(objs);
	destroy_empty(s);
}
TEST_END

/*
 * A slot's allowance: it doubles when the slot trades with the barn or
 * the slabs in alternating directions (SLOT_THRASH times, each within 64
 * allowances of operations), never for a one-way burst, never past
 * sheaf_max, and halves after a long quiet; main follows it.
 */
TEST_BEGIN(test_slot_allowance_adapts)
{
	struct uslub_cache *s = new_cache("state_allowance", OBJ_SIZE);
	struct kmem_cache_cpu *c;
	unsigned int cap, n, round, i, k;
	void **objs;

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	expect_u_gt(s->sheaf_max, 2 * cap, "room to grow twice");
	n = 2 * cap + 1;		/* past main and spare: one trade */
	objs = objs_array(10 * s->sheaf_max + settle_room(s));

	/* A one-way burst each way: no growth. */
	k = alloc_settled(s, objs, 10 * cap);
	c = slot_of(s);
	expect_u_eq(c->limit, cap, "allocations only");
	free_all(s, objs, k);
	expect_u_eq(c->limit, cap, "then frees only");
	expect_u_eq(cpu_capacity(c), cap, "main's room is the allowance");

	/* Swinging across main and spare: each round trades twice. */
	for (round = 0; round < SLOT_THRASH && c->limit == cap; round++) {
		for (i = 0; i < n; i++)
			objs[i] = uslub_cache_alloc(s, 0);
		free_all(s, objs, n);
	}
	expect_u_eq(c->limit, 2 * cap, "doubled after swinging");
	expect_u_le(round, SLOT_THRASH, "within %u rounds", SLOT_THRASH);
	expect_u_eq(cpu_capacity(c), MAX(2 * cap, (unsigned int)cpu_size(c)),
		    "main may hold the new allowance");
	for (round = 0; round < 8 * SLOT_THRASH; round++) {
		n = 2 * c->limit + 1;
		for (i = 0; i < n; i++)
			objs[i] = uslub_cache_alloc(s, 0);
		free_all(s, objs, n);
	}
	expect_u_eq(c->limit, s->sheaf_max, "grown up to sheaf_max, no more");
	expect_u_le(cpu_size(c), s->sheaf_max, "main within the sheaf");

	/* A long quiet (fast paths only), then a trade: halved. */
	k = c->limit;
	for (i = 0; i < 64 * 16 * k + 16; i++)
		uslub_cache_free(s, uslub_cache_alloc(s, 0));
	n = 2 * k + 1;
	for (i = 0; i < n; i++)
		objs[i] = uslub_cache_alloc(s, 0);
	expect_u_eq(c->limit, MAX(k / 2, cap), "halved after the quiet");
	free_all(s, objs, n);
	free(objs);
	destroy_empty(s);
}
TEST_END

/* pairs allocations, each freed at once: fast paths, no trade. */
static void hot_pairs(struct uslub_cache *s, unsigned int pairs)
{
	for (unsigned int i = 0; i < pairs; i++)
		uslub_cache_free(s, uslub_cache_alloc(s, 0));
}

/*
 * A swing as slow as a random walk's, whose trades come many allowances
 * apart: rounds of 2 * cap + 1 allocations and frees with gap hot pairs
 * after each half.  Trades 20 allowances apart double the allowance;
 * 200 apart (neither swinging nor quiet) leave it.
 */
static unsigned int slow_swing_limit(unsigned int gap, unsigned int *cap0)
{
	struct uslub_cache *s = new_cache("state_slow_swing", OBJ_SIZE);
	struct kmem_cache_cpu *c;
	unsigned int cap, n, round, limit;
	void **objs;

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	n = 2 * cap + 1;
	objs = objs_array(n);
	for (round = 0; round < 2 * SLOT_THRASH; round++) {
		alloc_all(s, objs, n);
		hot_pairs(s, gap * cap / 2);
		free_all(s, objs, n);
		hot_pairs(s, gap * cap / 2);
	}
	c = slot_of(s);
	limit = c->limit;
	expect_u_le(limit, s->sheaf_max, "within sheaf_max");
	*cap0 = cap;
	free(objs);
	destroy_empty(s);
	return limit;
}

TEST_BEGIN(test_slot_allowance_slow_swing)
{
	unsigned int cap, limit;

	limit = slow_swing_limit(20, &cap);
	expect_u_ge(limit, 2 * cap, "trades 20 allowances apart: grown");
	limit = slow_swing_limit(200, &cap);
	expect_u_eq(limit, cap, "trades 200 allowances apart: as it was");
}
TEST_END

/* A worker shows its slot, then waits for the owner's signal to exit
 * (the TLS destructor releases the slot). */
static void *stepper_park(struct stepper *w)
{
	w->c = slot_of(w->s);
	sem_post(&w->ready);
	sem_wait(&w->go);
	return NULL;
}

/* Starts fn on w (s, objs and n set) and waits until it is parked. */
static void stepper_start(struct stepper *w, pthread_t *t,
			  void *(*fn)(void *))
{
	sem_init(&w->ready, 0, 0);
	sem_init(&w->go, 0, 0);
	assert_d_eq(pthread_create(t, NULL, fn, w), 0, "thread");
	sem_wait(&w->ready);
}

/* Frees objs[0..n) in two steps on the owner's signal, then exits. */
static void *cross_free_thread(void *arg)
{
	struct stepper *w = arg;

	settle_flush_gen();
	free_all(w->s, w->objs, w->n);
	return stepper_park(w);
}

/* Counters and freelist of every slab, to see that nothing moved. */
struct slab_shot {
	struct slab *slab;
	unsigned long counters;
	void *freelist;
};

static void shoot(struct slab_list *l, struct slab_shot *shot)
{
	unsigned int i;

	for (i = 0; i < l->n; i++) {
		shot[i].slab = l->slab[i];
		shot[i].counters = READ_ONCE(l->slab[i]->counters);
		shot[i].freelist = READ_ONCE(l->slab[i]->freelist);
	}
}

static void expect_slabs_unchanged(struct slab_list *l,
				   const struct slab_shot *shot,
				   const char *what)
{
	unsigned int i;

	for (i = 0; i < l->n; i++) {
		expect_lu_eq(READ_ONCE(l->slab[i]->counters),
			     shot[i].counters, "%s: slab %u counters", what, i);
		expect_ptr_eq(READ_ONCE(l->slab[i]->freelist),
			      shot[i].freelist, "%s: slab %u freelist", what,
			      i);
	}
}

TEST_BEGIN(test_cross_thread_frees_travel_through_barn)
{
	struct uslub_cache *s = new_cache("state_cross", OBJ_SIZE);
	struct kmem_cache_cpu *c;
	struct stepper w;
	struct slab_list l;
	struct slab_shot *shot;
	struct snap st, now, s0;
	unsigned int i, k, cap, n3;
	pthread_t t;
	void **objs;

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	n3 = 3 * cap;
	objs = objs_array(n3 + settle_room(s));
	k = alloc_settled(s, objs, n3);
	c = slot_of(s);
	l = slabs_of(objs, k);
	shot = calloc(l.n, sizeof(*shot));
	shoot(&l, shot);
	s0 = st = stats_of(s);

	w.s = s;
	w.objs = objs;
	w.n = n3;
	stepper_start(&w, &t, cross_free_thread);
	now = stats_of(s);
	expect_delta(&st, &now, "another thread's frees",
		     { FREE_SLOWPATH, 3 }, { FREE_PCS, n3 - 3 },
		     { SHEAF_ALLOC, 3 }, { BARN_PUT, 2 });
	expect_slabs_unchanged(&l, shot, "after the remote frees");
	expect_barn(s, 2, 0, 2 * cap, "two of its sheaves in the barn");
	expect_u_eq(cpu_size(w.c), cap, "the third on its main");
	expect_lu_eq(active_objs(s), k - n3, "active_objs");

	/* Our refills trade for them, warmest first. */
	st = now;
	for (i = 0; i < 2 * cap; i++)
		expect_ptr_eq(uslub_cache_alloc(s, 0), objs[2 * cap - 1 - i],
			      "allocation %u: a remote free", i);
	now = stats_of(s);
	expect_delta(&st, &now, "refills from the barn", { ALLOC_SLOWPATH, 2 },
		     { ALLOC_PCS, 2 * cap - 2 }, { BARN_GET, 2 });
	expect_slabs_unchanged(&l, shot, "after the barn refills");
	expect_barn(s, 0, 1, 0, "our old main in the barn, empty");
	expect_ptr_not_null(c->spare, "a spare");

	/* It exits: its main goes to the barn, and to us. */
	sem_post(&w.go);
	pthread_join(t, NULL);
	expect_barn(s, 1, 1, cap, "the exited thread's main");
	st = stats_of(s);
	for (i = 0; i < cap; i++)
		expect_ptr_eq(uslub_cache_alloc(s, 0), objs[n3 - 1 - i],
			      "allocation %u from the exited thread", i);
	now = stats_of(s);
	expect_delta(&st, &now, "refill from the barn", { ALLOC_SLOWPATH, 1 },
		     { ALLOC_PCS, cap - 1 }, { BARN_GET, 1 });
	expect_barn(s, 0, 2, 0, "two empty sheaves left");
	expect_slabs_unchanged(&l, shot, "at the end");
	expect_lu_eq(now.v[CMPXCHG_DOUBLE] - s0.v[CMPXCHG_DOUBLE], 0,
		     "objects crossed threads without a cmpxchg16b");
	expect_lu_eq(active_objs(s), k, "all handed out again");
	sem_destroy(&w.ready);
	sem_destroy(&w.go);
	free(shot);
	free(l.slab);
	free_all(s, objs, k);
	free(objs);
	destroy_empty(s);
}
TEST_END

/*
 * The alloc fast path of a cache with a slot in the thread state takes
 * the thread's slot at cpu_slot without checking that it is set up for
 * this cache (alloc.h, cache_alloc_fast): destroy must leave every
 * thread's slot of the cache without a sheaf, so that a cache created
 * later in the same slot never pops the old cache's objects.  A second
 * thread, alive across the destroy, had objects in its main sheaf.
 */
struct reuse_thread {
	struct uslub_cache *s;
	sem_t go, done;
	void *p[8];
	int phase;
};

static void *reuse_thread_fn(void *arg)
{
	struct reuse_thread *r = arg;
	struct kmem_cache_cpu *c;
	unsigned int i;

	for (i = 0; i < 8; i++)		/* phase 0: main holds objects */
		r->p[i] = uslub_cache_alloc(r->s, 0);
	for (i = 0; i < 8; i++)
		uslub_cache_free(r->s, r->p[i]);
	sem_post(&r->done);
	sem_wait(&r->go);		/* phase 1: the cache was replaced */
	c = cpu_at(thread_cache, r->s->cpu_slot << CPU_SHIFT);
	r->phase = c->top == NULL && c->objects == NULL ? 1 : -1;
	for (i = 0; i < 8; i++)
		r->p[i] = uslub_cache_alloc(r->s, 0);
	sem_post(&r->done);
	sem_wait(&r->go);		/* phase 2: free them */
	for (i = 0; i < 8; i++)
		uslub_cache_free(r->s, r->p[i]);
	sem_post(&r->done);
	return NULL;
}

TEST_BEGIN(test_reused_slot_starts_empty)
{
	struct reuse_thread r;
	struct uslub_cache *a, *b;
	unsigned int slot, i;
	pthread_t t;
	void *mine;

	a = new_cache("state_reuse_a", 64);
	assert_ptr_not_null(a, "cache a");
	slot = a->cpu_slot;
	if (!slot) {
		expect_d_eq(uslub_cache_destroy(a), 0, "destroy");
		test_skip("no slot left in the thread state");
		return;
	}
	memset(&r, 0, sizeof(r));
	r.s = a;
	sem_init(&r.go, 0, 0);
	sem_init(&r.done, 0, 0);
	mine = uslub_cache_alloc(a, 0);
	uslub_cache_free(a, mine);
	assert_d_eq(pthread_create(&t, NULL, reuse_thread_fn, &r), 0, "thread");
	sem_wait(&r.done);
	expect_d_eq(uslub_cache_destroy(a), 0, "destroy a");
	b = new_cache("state_reuse_b", 64);
	assert_ptr_not_null(b, "cache b");
	expect_u_eq(b->cpu_slot, slot, "b takes a's slot");
	r.s = b;
	sem_post(&r.go);
	sem_wait(&r.done);
	expect_d_eq(r.phase, 1, "the other thread's slot had no sheaf");
	for (i = 0; i < 8; i++) {
		assert_ptr_not_null(r.p[i], "object %u", i);
		expect_ptr_eq(pagemap_head(r.p[i])->cache, b,
			      "object %u is b's", i);
	}
	mine = uslub_cache_alloc(b, 0);
	assert_ptr_not_null(mine, "our object");
	expect_ptr_eq(pagemap_head(mine)->cache, b, "ours is b's");
	uslub_cache_free(b, mine);
	sem_post(&r.go);
	sem_wait(&r.done);
	pthread_join(t, NULL);
	sem_destroy(&r.go);
	sem_destroy(&r.done);
	expect_lu_eq(active_objs(b), 0, "all freed");
	expect_d_eq(uslub_cache_destroy(b), 0, "destroy b");
}
TEST_END

struct dir_thread {
	struct uslub_cache *s;
	struct kmem_cache_cpu *c;
	unsigned int idx;
	unsigned long main_size;	/* after its free */
	bool listed;
};

static void *cpu_dir_thread(void *arg)
{
	struct dir_thread *d = arg;
	void *p = uslub_cache_alloc(d->s, 0);

	d->c = slot_of(d->s);
	d->idx = thread_cache->idx;
	d->main_size = d->c ? cpu_size(d->c) + 1 : 0;
	d->listed = d->s->cpu_dir[d->idx / THREAD_CHUNK] &&
		    d->s->cpu_dir[d->idx / THREAD_CHUNK]
				 [d->idx % THREAD_CHUNK] == d->c;
	uslub_cache_free(d->s, p);
	return NULL;
}

TEST_BEGIN(test_cpu_dir_slot_uses_sheaves)
{
	struct uslub_cache *dummy[NR_INLINE_SLOTS + 1], *s = NULL;
	struct kmem_cache_cpu *c;
	struct dir_thread d;
	struct snap st, now;
	unsigned int i, nd = 0, idx, take;
	void *p;

	/* The first NR_INLINE_SLOTS user caches have a slot in the thread
	 * state; fill them so that s uses cpu_dir. */
	while (nd < ARRAY_SIZE(dummy)) {
		dummy[nd] = new_cache("state_dir_dummy", 64);
		assert_ptr_not_null(dummy[nd], "dummy %u", nd);
		if (!dummy[nd]->cpu_slot) {
			s = dummy[nd];
			break;
		}
		nd++;
	}
	assert_ptr_not_null(s, "a cache without an inline slot");
	st = stats_of(s);
	p = uslub_cache_alloc(s, 0);
	assert_ptr_not_null(p, "object");
	c = slot_of(s);
	assert_ptr_not_null(c, "slot through cpu_dir");
	idx = thread_cache->idx;
	expect_ptr_eq(s->cpu_dir[idx / THREAD_CHUNK][idx % THREAD_CHUNK], c,
		      "cpu_dir entry");
	expect_u_eq(c->cpu_off, 0, "no offset in the thread state");
	expect_u_eq(pagemap_lookup(p)->cpu_off, 0, "pages not stamped");
	expect_u_eq(cpu_capacity(c), s->sheaf_capacity, "it has sheaves");
	take = MIN(s->sheaf_capacity, s->objects);
	expect_u_eq(cpu_size(c), take - 1, "refilled");
	uslub_cache_free(s, p);
	now = stats_of(s);
	expect_delta(&st, &now, "cpu_dir slot", { ALLOC_SLOWPATH, 1 },
		     { ALLOC_SLAB, 1 }, { SHEAF_REFILL, take },
		     { BARN_GET_FAIL, 1 }, { SHEAF_ALLOC, 1 },
		     { FREE_PCS, 1 });
	expect_u_eq(cpu_size(c), take, "the free took the fast path");

	/* Another thread's slot: listed in cpu_dir, removed at exit. */
	d = (struct dir_thread){ .s = s };
	run_thread(cpu_dir_thread, &d);
	expect_true(d.listed, "the thread's slot was in cpu_dir");
	expect_ptr_ne(d.c, c, "its own slot");
	expect_ptr_null(s->cpu_dir[d.idx / THREAD_CHUNK][d.idx % THREAD_CHUNK],
			"cleared at exit");
	/* It refilled from what our refill left on s->partial, if any. */
	expect_lu_eq(d.main_size,
		     s->objects > take ? MIN(s->sheaf_capacity,
					     s->objects - take) : take,
		     "the other thread's main");
	expect_barn(s, 1, 0, d.main_size, "its main sheaf in the barn");
	expect_lu_eq(active_objs(s), 0, "active_objs");
	destroy_empty(s);
	for (i = 0; i < nd; i++)
		expect_d_eq(uslub_cache_destroy(dummy[i]), 0, "dummy %u", i);
}
TEST_END

TEST_BEGIN(test_barn_decay_flushes_idle_sheaves)
{
	struct uslub_cache *s = new_cache("state_decay", OBJ_SIZE);
	struct kmem_cache_cpu *c;
	struct snap st, now;
	struct flush_pred fp;
	struct slab_sheaf *sh;
	unsigned int i, j, k, cap, nheld, nfrees, used;
	unsigned long decay;
	void **objs, **held, **frees, *barned[SHEAF_MAX_CAPACITY],
	     *idle[2 * SHEAF_MAX_CAPACITY], *warm;

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	objs = objs_array(8 * cap + settle_room(s));
	k = alloc_settled(s, objs, 8 * cap);
	held = objs_array(k);
	frees = objs_array(k);
	hold_one_per_slab(objs, k, held, &nheld, frees, &nfrees);
	assert_u_gt(nfrees, 5 * cap + 4, "objects to free");
	c = slot_of(s);
	free_all(s, frees, cap + 1);
	expect_barn(s, 1, 0, cap, "one full sheaf");
	sh = barn_full_sheaf(s, 0);
	assert_ptr_not_null(sh, "it");
	memcpy(barned, sh->objects, cap * sizeof(void *));

	st = stats_of(s);
	barn_decay(s, c, &thread_cache->pcache, os_now_ms());
	now = stats_of(s);
	expect_delta(&st, &now, "a fresh sheaf stays", { BARN_DECAY, 0 });
	expect_barn(s, 1, 0, cap, "unchanged");

	fp = predict_flush(barned, cap);
	barn_decay(s, c, &thread_cache->pcache,
		   os_now_ms() + uslub_opt.decay_ms + 1);
	now = stats_of(s);
	expect_delta(&st, &now, "an idle sheaf is flushed",
		     { BARN_DECAY, 1 }, { SHEAF_FLUSH, cap },
		     { CMPXCHG_DOUBLE, fp.slabs },
		     { FREE_ADD_PARTIAL, fp.full });
	expect_barn(s, 0, 1, 0, "flushed, kept as an empty sheaf");
	for (i = 0; i < cap; i++)
		expect_true(on_slab_freelist(s, barned[i]),
			    "object %u back on its slab", i);
	expect_u_eq(cpu_size(c), 1, "main untouched");

	/* A refill trades for the warmest sheaf and flushes up to two idle
	 * ones on the way (decay_ms 0: every sheaf is idle). */
	used = cap + 1;
	for (j = 0; j < 3; j++) {
		while (cpu_size(c) < cap)
			uslub_cache_free(s, frees[used++]);
		uslub_cache_free(s, frees[used++]);
	}
	expect_barn(s, 3, 0, 3 * cap, "three full sheaves");
	for (j = 0; j < 2; j++) {
		sh = barn_full_sheaf(s, j);
		assert_ptr_not_null(sh, "sheaf %u", j);
		memcpy(idle + j * cap, sh->objects, cap * sizeof(void *));
	}
	sh = barn_full_sheaf(s, 2);
	assert_ptr_not_null(sh, "the warmest");
	warm = sh->objects[cap - 1];
	/* In one pass where this thread has its flush scratch (from an
	 * earlier drain), else sheaf by sheaf. */
	fp = predict_flush_by(idle, 2 * cap,
			      thread_cache->pcache.flush_scratch ? 2 * cap : cap);
	while (cpu_size(c))
		expect_ptr_not_null(uslub_cache_alloc(s, 0), "pop");
	decay = uslub_opt.decay_ms;
	uslub_opt.decay_ms = 0;
	st = stats_of(s);
	expect_ptr_eq(uslub_cache_alloc(s, 0), warm, "the warmest sheaf's top");
	now = stats_of(s);
	uslub_opt.decay_ms = decay;
	expect_delta(&st, &now, "refill flushes idle sheaves",
		     { ALLOC_SLOWPATH, 1 }, { BARN_GET, 1 }, { BARN_DECAY, 2 },
		     { SHEAF_FLUSH, 2 * cap }, { CMPXCHG_DOUBLE, fp.slabs },
		     { FREE_ADD_PARTIAL, fp.full });
	expect_barn(s, 0, 2, 0, "the idle sheaves came back empty");
	for (i = 0; i < 2 * cap; i++)
		expect_true(on_slab_freelist(s, idle[i]),
			    "idle object %u back on its slab", i);
	expect_u_eq(cpu_size(c), cap - 1, "main is the warmest sheaf");
	/* Handed out again: frees[cap + 1 .. used) but for the idle ones. */
	for (i = cap + 1; i < used; i++)
		if (!on_slab_freelist(s, frees[i]) && !in_sheaf(c, frees[i]))
			uslub_cache_free(s, frees[i]);
	finish_held(s, objs, held, nheld, frees, nfrees, used);
}
TEST_END

/* ---- Invariant 1a: every object in exactly one place ------------------ */

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a;
	uintptr_t y = (uintptr_t)*(void *const *)b;

	return x < y ? -1 : x > y;
}

struct census {
	void **all;
	size_t n, max;
};

static void census_add(struct census *cs, void *p)
{
	if (cs->n < cs->max)
		cs->all[cs->n] = p;
	cs->n++;
}

/*
 * Walks every slab of s (page descriptors), every sheaf of the slots
 * given (main and spare), the barn, and held[0..nheld): together they
 * must hold each object of each slab exactly once.
 */
static void expect_every_object_once(struct uslub_cache *s,
				     struct kmem_cache_cpu **slots,
				     unsigned int nslots, void **held,
				     unsigned long nheld, const char *what)
{
	unsigned long slabs = nr_slabs(s), in_slabs = 0, in_sheaves = 0,
		      inuse = 0, dups = 0, strays = 0, cpu_objects = 0;
	unsigned int i, j, nfound, nfull = 0, nempty = 0, n = s->objects;
	struct slab **found = calloc(slabs + 1, sizeof(*found));
	struct census cs;
	struct sheaf_occupancy o;
	struct slab_sheaf *sh;
	struct snap st;
	union slab_counters cnt;
	void *p;

	cs.max = slabs * n;
	cs.n = 0;
	cs.all = calloc(cs.max + 1, sizeof(void *));
	assert_ptr_not_null(cs.all, "census array");
	nfound = cache_slabs(s, found, (unsigned int)slabs + 1);
	expect_lu_eq(nfound, slabs, "%s: descriptor walk finds nr_slabs", what);
	for (i = 0; i < nfound && i <= slabs; i++) {
		unsigned int nf = 0;

		cnt = counters_of(found[i]);
		expect_u_eq(cnt.objects, n, "%s: slab objects", what);
		expect_u_eq(cnt.frozen, 0, "%s: no frozen slab", what);
		for (p = READ_ONCE(found[i]->freelist); p && nf <= n;
		     p = get_freepointer(s, p), nf++) {
			census_add(&cs, p);
			strays += pagemap_head(p) != found[i] ||
				  slab_object_index(s, found[i], p) < 0;
		}
		expect_u_eq(nf, cnt.objects - cnt.inuse,
			    "%s: slab %u freelist length == objects - inuse",
			    what, i);
		expect_u_eq(found[i]->on_partial, nf != 0,
			    "%s: slab %u on s->partial iff it has free objects",
			    what, i);
		in_slabs += nf;
		inuse += cnt.inuse;
	}
	for (i = 0; i < nslots; i++) {
		struct kmem_cache_cpu *c = slots[i];

		expect_ptr_eq(c->objects, c->main->objects, "%s: slot %u",
			      what, i);
		for (j = 0; j < cpu_size(c); j++)
			census_add(&cs, c->objects[j]);
		in_sheaves += cpu_size(c);
		cpu_objects += cpu_size(c) + c->spare_size;
		if (c->spare) {
			unsigned int on_shelf = 0, nshelf = 0;
			bool seen_empty = false;

			for (j = 0; j < c->spare->size; j++)
				census_add(&cs, c->spare->objects[j]);
			in_sheaves += c->spare->size;
			/* the shelf: full sheaves first, then empty ones */
			list_for_each_entry(sh, &c->spare->barn_list,
					    barn_list) {
				expect_true(!sh->size || !seen_empty,
					    "%s: slot %u shelf: full first",
					    what, i);
				seen_empty |= !sh->size;
				for (j = 0; j < sh->size; j++)
					census_add(&cs, sh->objects[j]);
				on_shelf += sh->size;
				nshelf++;
			}
			in_sheaves += on_shelf;
			expect_u_eq(c->spare->shelf.sheaves, nshelf,
				    "%s: slot %u shelf sheaves", what, i);
			expect_u_le(nshelf, SHELF_SHEAVES,
				    "%s: slot %u shelf bound", what, i);
			expect_lu_le((unsigned long)on_shelf * s->size,
				     SHELF_BYTES, "%s: slot %u shelf bytes",
				     what, i);
			expect_u_eq(c->spare->shelf.objects, on_shelf,
				    "%s: slot %u shelf objects", what, i);
			expect_u_eq(c->spare_size, c->spare->size + on_shelf,
				    "%s: slot %u spare_size", what, i);
		}
	}
	spin_acquire(&s->barn.lock);
	list_for_each_entry(sh, &s->barn.sheaves_full, barn_list) {
		for (j = 0; j < sh->size; j++)
			census_add(&cs, sh->objects[j]);
		expect_u_gt(sh->size, 0, "%s: a full sheaf holds objects",
			    what);
		in_sheaves += sh->size;
		nfull++;
	}
	list_for_each_entry(sh, &s->barn.sheaves_empty, barn_list) {
		expect_u_eq(sh->size, 0, "%s: empty sheaf", what);
		nempty++;
	}
	expect_u_eq(nfull, s->barn.nr_full, "%s: barn nr_full", what);
	expect_u_eq(nempty, s->barn.nr_empty, "%s: barn nr_empty", what);
	expect_u_le(nfull, barn_limit(&s->barn), "%s: barn limit", what);
	spin_release(&s->barn.lock);
	for (i = 0; i < nheld; i++)
		census_add(&cs, held[i]);

	expect_lu_eq(in_slabs + in_sheaves + nheld, slabs * n,
		     "%s: freelists + sheaves + handed out == slabs * objects",
		     what);
	expect_zu_eq(cs.n, slabs * n, "%s: pointers collected", what);
	qsort(cs.all, MIN(cs.n, cs.max), sizeof(void *), ptr_cmp);
	for (i = 0; i < MIN(cs.n, cs.max); i++) {
		struct slab *h = pagemap_head(cs.all[i]);

		dups += i > 0 && cs.all[i] == cs.all[i - 1];
		strays += !h || !(block_flags(h) & PG_slab) || h->cache != s ||
			  slab_object_index(s, h, cs.all[i]) < 0;
	}
	expect_lu_eq(dups, 0, "%s: no object in two places", what);
	expect_lu_eq(strays, 0, "%s: every pointer an object of s", what);
	expect_lu_eq(inuse, in_sheaves + nheld,
		     "%s: inuse counts sheaf and handed-out objects", what);
	expect_lu_eq(active_objs(s), nheld, "%s: active_objs", what);
	st = stats_of(s);
	expect_lu_eq(st.v[SHEAF_REFILL] - st.v[SHEAF_FLUSH], inuse,
		     "%s: refilled - flushed == inuse", what);
	o = occupancy_of(s);
	expect_lu_eq(o.slots, nslots, "%s: slots with sheaves", what);
	expect_lu_eq(o.cpu_objects, cpu_objects, "%s: cpu_objects", what);
	expect_lu_eq(o.barn_objects, in_sheaves - cpu_objects,
		     "%s: barn objects", what);
	free(cs.all);
	free(found);
}

struct shuffler {
	struct uslub_cache *s;
	void **objs;
	unsigned int n;
	struct kmem_cache_cpu *c;
	pthread_barrier_t *start;
	sem_t done, go;
};

static void *shuffled_free_thread(void *arg)
{
	struct shuffler *w = arg;

	pthread_barrier_wait(w->start);
	free_all(w->s, w->objs, w->n);
	w->c = slot_of(w->s);
	sem_post(&w->done);
	sem_wait(&w->go);
	return NULL;			/* the TLS destructor */
}

TEST_BEGIN(test_every_object_in_exactly_one_place)
{
	struct uslub_cache *s = new_cache("state_census", OBJ_SIZE);
	struct shuffler w[2];
	struct kmem_cache_cpu *slots[3];
	pthread_barrier_t start;
	pthread_t t[2];
	struct snap st;
	unsigned int i, j, n, nheld = 0, nfree = 0;
	uint64_t rnd = 0x9e3779b97f4a7c15ULL;
	void **objs, **held, **frees, *tmp;

	assert_ptr_not_null(s, "cache");
	n = 3 * 12 * s->sheaf_capacity;
	objs = objs_array(n);
	held = objs_array(n);
	frees = objs_array(n);
	for (i = 0; i < n; i++) {
		objs[i] = uslub_cache_alloc(s, 0);
		assert_ptr_not_null(objs[i], "object %u", i);
	}
	expect_u_gt(nr_slabs(s), 12, "several slabs");
	slots[0] = slot_of(s);
	expect_every_object_once(s, slots, 1, objs, n, "allocated");
	for (i = n - 1; i > 0; i--) {		/* Fisher-Yates, xorshift */
		rnd ^= rnd << 13;
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		j = (unsigned int)(rnd % (i + 1));
		tmp = objs[i];
		objs[i] = objs[j];
		objs[j] = tmp;
	}
	for (i = 0; i < n; i++) {
		if (i % 7 == 3)
			held[nheld++] = objs[i];
		else
			frees[nfree++] = objs[i];
	}
	pthread_barrier_init(&start, NULL, 2);
	for (i = 0; i < 2; i++) {
		w[i] = (struct shuffler){ .s = s, .start = &start };
		w[i].objs = frees + (i ? nfree / 2 : 0);
		w[i].n = i ? nfree - nfree / 2 : nfree / 2;
		sem_init(&w[i].done, 0, 0);
		sem_init(&w[i].go, 0, 0);
		assert_d_eq(pthread_create(&t[i], NULL, shuffled_free_thread,
					   &w[i]), 0, "thread %u", i);
	}
	for (i = 0; i < 2; i++)
		sem_wait(&w[i].done);
	st = stats_of(s);
	expect_lu_eq(st.v[ALLOC_PCS] + st.v[ALLOC_SLOWPATH], n, "allocs");
	expect_lu_eq(st.v[FREE_PCS] + st.v[FREE_SLOWPATH], nfree, "frees");
	slots[1] = w[0].c;
	slots[2] = w[1].c;
	expect_every_object_once(s, slots, 3, held, nheld,
				 "two threads freed");
	for (i = 0; i < 2; i++) {
		sem_post(&w[i].go);
		pthread_join(t[i], NULL);
		sem_destroy(&w[i].done);
		sem_destroy(&w[i].go);
	}
	pthread_barrier_destroy(&start);
	expect_every_object_once(s, slots, 1, held, nheld, "threads exited");
	free_all(s, held, nheld);
	expect_every_object_once(s, slots, 1, NULL, 0, "all freed");
	expect_d_eq(uslub_cache_shrink(s), 0, "shrink");
	expect_every_object_once(s, slots, 1, NULL, 0, "shrunk");
	free(objs);
	free(held);
	free(frees);
	destroy_empty(s);
}
TEST_END

/*
 * A slot that parked many sheaves takes its own back first, though more
 * than BARN_SCAN of another thread's are newer: the scan reaches BARN_SCAN
 * deeper than the sheaves the slot parked.  At BARN_SCAN alone, it took
 * the other thread's, and two threads filling and freeing batches ended
 * up with objects on the same cache lines.
 */
TEST_BEGIN(test_barn_gives_back_own_sheaves_past_the_scan)
{
	struct uslub_cache *s = new_cache("state_barn_deep", OBJ_SIZE);
	unsigned int cap, mine, theirs, m, k, i, foreign = 0;
	struct stepper w = { 0 };
	void **objs, **again;
	pthread_t t;

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	mine = (BARN_SCAN + 5) * cap;		/* main, and 12 parked */
	theirs = (BARN_SCAN + 3) * cap;		/* main, and 10 parked */
	m = (BARN_SCAN + 3) * cap;		/* main, and 10 refills */
	objs = objs_array(mine + theirs + settle_room(s));
	again = objs_array(m);
	k = alloc_settled(s, objs, mine + theirs);
	free_all(s, objs, mine);		/* a one-way burst: the barn */
	expect_u_eq(slot_of(s)->parked, BARN_SCAN + 4, "sheaves parked");
	w.s = s;
	w.objs = objs + mine;
	w.n = theirs;
	stepper_start(&w, &t, cross_free_thread);
	expect_u_eq(barn_of(s).full, 2 * BARN_SCAN + 6, "both in the barn");
	expect_u_ne(barn_full_sheaf(s, 2 * BARN_SCAN + 5)->owner,
		    thread_cache->idx, "the newest is the other thread's");
	alloc_all(s, again, m);
	for (i = 0; i < m; i++)
		foreign += !among_ptrs(objs, mine, again[i]);
	expect_u_eq(foreign, 0, "every object came back from its own sheaves");
	free_all(s, again, m);
	sem_post(&w.go);
	pthread_join(t, NULL);
	sem_destroy(&w.ready);
	sem_destroy(&w.go);
	free_all(s, objs + mine + theirs, k - mine - theirs);
	free(again);
	free(objs);
	destroy_empty(s);
}
TEST_END

/* Allocates objs[0..n), shows its slot, frees them on the owner's
 * signal and exits. */
static void *alloc_park_free_thread(void *arg)
{
	struct stepper *w = arg;

	alloc_all(w->s, w->objs, w->n);
	stepper_park(w);
	free_all(w->s, w->objs, w->n);
	return NULL;
}

/*
 * A live thread that allocates too keeps its barn sheaves: another thread
 * refilling (one that parked none, as a producer would be) takes none of
 * them and goes to the slabs, where it used to take the newest and end
 * up with the first thread's blocks on neighbouring lines.  Once that
 * thread exits, its sheaves are anyone's.  A slot earns a credit per
 * refill and spends one per sheaf it gives the barn.
 */
TEST_BEGIN(test_barn_leaves_an_allocating_threads_sheaves)
{
	struct uslub_cache *s = new_cache("state_barn_swing", OBJ_SIZE);
	unsigned int cap, n, i, full, foreign = 0;
	struct stepper w = { 0 };
	struct kmem_cache_cpu *c;
	struct snap before, after;
	void **mine, **theirs;
	unsigned long refills, puts;
	pthread_t t;

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	n = 4 * cap;
	mine = objs_array(n);
	theirs = objs_array(n);
	settle_flush_gen();
	before = stats_of(s);
	alloc_all(s, mine, n);
	after = stats_of(s);
	c = slot_of(s);
	refills = after.v[BARN_GET] + after.v[BARN_GET_FAIL] -
		  before.v[BARN_GET] - before.v[BARN_GET_FAIL];
	expect_lu_ge(refills, 4, "a refill a sheaf");
	expect_u_eq(c->allocs, refills, "a credit for each refill");
	before = stats_of(s);
	free_all(s, mine, n);			/* one swing: the barn */
	after = stats_of(s);
	full = barn_of(s).full;
	puts = after.v[BARN_PUT] - before.v[BARN_PUT];
	expect_u_gt(full, 0, "our sheaves in the barn");
	expect_lu_lt(puts, refills, "fewer sheaves given than refills");
	expect_u_eq(c->allocs, refills - puts,
		    "one credit spent for each sheaf given");
	expect_true(barn_full_sheaf(s, full - 1)->swing,
		    "the newest marked as an allocating slot's");

	w.s = s;
	w.objs = theirs;
	w.n = n;
	stepper_start(&w, &t, alloc_park_free_thread);
	for (i = 0; i < n; i++)
		foreign += among_ptrs(mine, n, theirs[i]);
	expect_u_eq(foreign, 0, "the other thread took none of our objects");
	expect_u_eq(barn_of(s).full, full, "our sheaves stay in the barn");
	sem_post(&w.go);			/* it frees and exits */
	pthread_join(t, NULL);
	sem_destroy(&w.ready);
	sem_destroy(&w.go);
	expect_false(barn_full_sheaf(s, barn_of(s).full - 1)->swing,
		     "an exited thread's sheaves: anyone's");
	expect_every_object_once(s, &c, 1, NULL, 0, "after the exit");
	alloc_all(s, mine, n);
	free_all(s, mine, n);
	free(mine);
	free(theirs);
	destroy_empty(s);
}
TEST_END

/* The objects a slot holds in main and spare, allocated into p: the
 * next allocation refills.  Returns how many. */
static unsigned int drain_slot(struct uslub_cache *s, void **p)
{
	struct kmem_cache_cpu *c = slot_of(s);
	unsigned int n = 0;

	while (cpu_size(c) || (c->spare && c->spare->size)) {
		p[n] = uslub_cache_alloc(s, 0);
		assert_ptr_not_null(p[n], "object %u", n);
		n++;
	}
	return n;
}

/* A thread that works in steps: on each signal it drains its slot (if
 * drain), allocates alloc objects (all into mine), frees frees[0..nfrees)
 * and waits again; stop ends it, freeing what it allocated. */
struct worker {
	struct uslub_cache *s;
	struct kmem_cache_cpu *c;	/* its slot, once it ran a step */
	unsigned int idx;		/* its thread index */
	void **mine;
	unsigned int nmine, alloc, nfrees;
	void **frees;
	bool drain, stop;
	sem_t ready, go;
};

static void *worker_thread(void *arg)
{
	struct worker *w = arg;

	settle_flush_gen();
	w->idx = thread_cache->idx;
	for (;;) {
		sem_post(&w->ready);
		sem_wait(&w->go);
		if (w->stop)
			break;
		if (w->drain)
			w->nmine += drain_slot(w->s, w->mine + w->nmine);
		alloc_all(w->s, w->mine + w->nmine, w->alloc);
		w->nmine += w->alloc;
		free_all(w->s, w->frees, w->nfrees);
		w->c = slot_of(w->s);
	}
	free_all(w->s, w->mine, w->nmine);
	return NULL;
}

static void worker_start(struct worker *w, pthread_t *t)
{
	sem_init(&w->ready, 0, 0);
	sem_init(&w->go, 0, 0);
	assert_d_eq(pthread_create(t, NULL, worker_thread, w), 0, "thread");
	sem_wait(&w->ready);
}

/* One step; returns when it is done. */
static void worker_step(struct worker *w, bool drain, unsigned int alloc,
			void **frees, unsigned int nfrees)
{
	w->drain = drain;
	w->alloc = alloc;
	w->frees = frees;
	w->nfrees = nfrees;
	sem_post(&w->go);
	sem_wait(&w->ready);
}

static void worker_stop(struct worker *w, pthread_t t)
{
	w->stop = true;
	sem_post(&w->go);
	pthread_join(t, NULL);
	sem_destroy(&w->ready);
	sem_destroy(&w->go);
}

static unsigned long refills_between(const struct snap *a,
				     const struct snap *b)
{
	return b->v[BARN_GET] + b->v[BARN_GET_FAIL] - a->v[BARN_GET] -
	       a->v[BARN_GET_FAIL];
}

/*
 * A consumer that allocates a little between its frees (map keys, say)
 * hands its surplus on: the sheaves it gives the barn beyond its refills
 * go to a producer's refills.  A slot that kept credit for SWING_PUTS
 * sheaves after each refill kept them all its own, and the producer
 * went to the slabs.
 */
TEST_BEGIN(test_barn_passes_on_a_consumers_surplus)
{
	struct uslub_cache *s = new_cache("state_barn_surplus", OBJ_SIZE);
	unsigned int cap, n, m, i, left, full, foreign = 0;
	struct worker w = { 0 };
	struct snap before, after;
	void **objs, **again, **extra;
	pthread_t t;
	unsigned long decay = uslub_opt.decay_ms;

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	n = 12 * cap;
	m = 8 * cap;
	objs = objs_array(n);
	again = objs_array(m);
	extra = objs_array(2 * cap);
	/* no sheaf may decay while the test looks (a slow run) */
	uslub_opt.decay_ms = 600000;
	settle_flush_gen();
	alloc_all(s, objs, n);			/* the producer's */
	left = drain_slot(s, extra);

	/* The consumer allocates (one refill), then frees the producer's
	 * objects: a dozen sheaves to the barn, the first on its credit,
	 * the others without. */
	w.s = s;
	w.mine = objs_array(1);
	worker_start(&w, &t);
	before = stats_of(s);
	worker_step(&w, false, 1, NULL, 0);
	after = stats_of(s);
	expect_lu_eq(refills_between(&before, &after), 1, "one refill");
	expect_u_eq(w.c->allocs, 1, "one credit");
	before = after;
	worker_step(&w, false, 0, objs, n);
	after = stats_of(s);
	full = barn_of(s).full;
	expect_u_ge(full, n / cap - 2, "the consumer's sheaves in the barn");
	expect_lu_eq(after.v[BARN_PUT] - before.v[BARN_PUT], full,
		     "all of them given by the consumer");
	expect_true(barn_full_sheaf(s, 0)->swing, "the first on credit");
	for (i = 1; i < full; i++)
		expect_false(barn_full_sheaf(s, i)->swing,
			     "sheaf %u: surplus", i);
	expect_u_eq(w.c->allocs, 0, "credit spent");

	/* The producer's refills take the newest of them. */
	before = stats_of(s);
	alloc_all(s, again, m);
	after = stats_of(s);
	for (i = 0; i < m; i++)
		foreign += !among_ptrs(objs, n, again[i]);
	expect_u_eq(foreign, 0, "every object from the consumer's sheaves");
	expect_lu_eq(after.v[BARN_GET] - before.v[BARN_GET], m / cap,
		     "a barn sheaf for each refill");
	expect_lu_eq(after.v[BARN_GET_FAIL] - before.v[BARN_GET_FAIL], 0,
		     "none from the slabs");
	expect_u_eq(barn_of(s).full, full - m / cap, "the rest stay");
	assert_u_gt(full, m / cap, "the first, on credit, among the rest");

	free_all(s, again, m);
	free_all(s, extra, left);
	worker_stop(&w, t);
	free(w.mine);
	free(objs);
	free(again);
	free(extra);
	uslub_opt.decay_ms = decay;
	destroy_empty(s);
}
TEST_END

/*
 * A barn holding more than max_full full sheaves gives its oldest to a
 * refill that finds none of its own and no consumer's: the thread that
 * parked them all is not taking them back.  Down to max_full, refills go
 * to the slabs again.
 */
TEST_BEGIN(test_barn_gives_its_oldest_past_max_full)
{
	struct uslub_cache *s = new_cache("state_barn_oldest", OBJ_SIZE);
	unsigned int cap, mf, n, i, left, full, got;
	struct worker w = { 0 };
	struct snap before, after;
	void **objs, **extra, **oldest[2];
	struct slab_sheaf *sh;
	pthread_t t;
	unsigned long decay = uslub_opt.decay_ms;

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	mf = s->barn.max_full;
	assert_u_lt(mf + 3, SWING_PUTS, "every sheaf on credit");
	n = (mf + 3) * cap;
	objs = objs_array(n);
	extra = objs_array(2 * cap);
	/* no sheaf may decay while the test looks (a slow run) */
	uslub_opt.decay_ms = 600000;
	settle_flush_gen();

	/* A second user of the cache (the barn's limit is per user). */
	w.s = s;
	w.mine = objs_array(4 * cap + 3);
	worker_start(&w, &t);
	worker_step(&w, false, 1, NULL, 0);

	alloc_all(s, objs, n);
	left = drain_slot(s, extra);
	expect_u_ge(slot_of(s)->allocs, mf + 2, "credit for the puts");
	free_all(s, objs, n);
	full = barn_of(s).full;
	expect_u_eq(full, mf + 2, "past max_full");
	for (i = 0; i < full; i++) {
		sh = barn_full_sheaf(s, i);
		expect_true(sh->swing, "sheaf %u on credit", i);
		expect_u_eq(sh->owner, thread_cache->idx, "sheaf %u ours", i);
	}
	for (i = 0; i < 2; i++) {
		sh = barn_full_sheaf(s, i);
		oldest[i] = objs_array(cap);
		memcpy(oldest[i], sh->objects, sh->size * sizeof(void *));
	}

	/* The worker's refills: the oldest, the next oldest, then the
	 * slabs. */
	for (i = 0; i < 3; i++) {
		before = stats_of(s);
		worker_step(&w, true, 1, NULL, 0);
		after = stats_of(s);
		got = w.nmine - 1;
		expect_lu_eq(refills_between(&before, &after), 1,
			     "refill %u", i);
		if (i < 2) {
			expect_lu_eq(after.v[BARN_GET] - before.v[BARN_GET],
				     1, "refill %u from the barn", i);
			expect_true(among_ptrs(oldest[i], cap,
					       w.mine[got]),
				    "refill %u: the oldest sheaf", i);
		} else {
			expect_lu_eq(after.v[BARN_GET_FAIL] -
				     before.v[BARN_GET_FAIL], 1,
				     "at max_full, from the slabs");
			expect_false(among_ptrs(objs, n, w.mine[got]),
				     "an object no sheaf held");
		}
	}
	expect_u_eq(barn_of(s).full, mf, "max_full left");

	worker_stop(&w, t);
	free_all(s, extra, left);
	free(w.mine);
	free(oldest[0]);
	free(oldest[1]);
	free(objs);
	free(extra);
	uslub_opt.decay_ms = decay;
	destroy_empty(s);
}
TEST_END

/*
 * Two threads leave their sheaves in the barn as they exit; the next two
 * threads get their indexes (the lowest free) and each takes back the
 * sheaves of the thread whose index it has, not the newest: taking the
 * newest split each old thread's blocks between the new pair.
 */
TEST_BEGIN(test_departed_sheaves_go_to_the_next_on_the_index)
{
	struct uslub_cache *s = new_cache("state_heirs", OBJ_SIZE);
	struct worker old[2] = { { 0 } }, heir[2] = { { 0 } };
	unsigned int cap, n, m, i, j, foreign;
	unsigned long decay = uslub_opt.decay_ms;
	struct slab_sheaf *sh;
	pthread_t t[2];

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	n = 4 * cap;
	m = 2 * cap;
	uslub_opt.decay_ms = 600000;	/* nothing decays while we look */
	for (i = 0; i < 2; i++) {	/* both alive: two indexes */
		old[i] = (struct worker){ .s = s, .mine = objs_array(n) };
		worker_start(&old[i], &t[i]);
		worker_step(&old[i], false, n, NULL, 0);
		worker_step(&old[i], false, 0, old[i].mine, n);
		old[i].nmine = 0;	/* freed; mine keeps their addresses */
	}
	assert_u_lt(old[0].idx, old[1].idx, "the lower index first");
	for (i = 0; i < 2; i++)
		worker_stop(&old[i], t[i]);
	sh = barn_full_sheaf(s, barn_of(s).full - 1);
	assert_ptr_not_null(sh, "sheaves in the barn");
	expect_u_eq(sh->owner, old[1].idx, "the newest: the second's");
	expect_false(sh->swing, "anyone's");

	for (i = 0; i < 2; i++) {	/* the lowest free indexes again */
		heir[i] = (struct worker){ .s = s, .mine = objs_array(m) };
		worker_start(&heir[i], &t[i]);
		assert_u_eq(heir[i].idx, old[i].idx, "index %u again", i);
		worker_step(&heir[i], false, m, NULL, 0);
	}
	for (i = 0; i < 2; i++) {
		foreign = 0;
		for (j = 0; j < m; j++)
			foreign += !among_ptrs(old[i].mine, n,
					       heir[i].mine[j]);
		expect_u_eq(foreign, 0,
			    "thread %u: all from its predecessor's sheaves",
			    i);
	}
	for (i = 0; i < 2; i++) {
		worker_stop(&heir[i], t[i]);
		free(heir[i].mine);
		free(old[i].mine);
	}
	uslub_opt.decay_ms = decay;
	destroy_empty(s);
}
TEST_END

/*
 * A slot shelves once its trades alternated SHELF_THRASH times, before
 * its allowance grows: freed past main and spare, allocated past them
 * again, then its next frees go to the shelf, not the barn; with no empty
 * sheaf on the shelf (after a shrink), new ones from the pool.
 */
TEST_BEGIN(test_shelf_after_two_swings)
{
	struct uslub_cache *s = new_cache("state_shelf_early", OBJ_SIZE);
	struct kmem_cache_cpu *c;
	struct snap before, after;
	unsigned int cap, n;
	void **objs;

	assert_ptr_not_null(s, "cache");
	cap = s->sheaf_capacity;
	n = 5 * cap;
	objs = objs_array(n);
	alloc_all(s, objs, n);
	free_all(s, objs, n);			/* one alternation: barn */
	c = slot_of(s);
	expect_ptr_null(c->spare, "frees alone make no spare, and no shelf");
	expect_u_gt(barn_of(s).full, 0, "the barn took the overflow");
	alloc_all(s, objs, n);			/* the second */
	expect_u_eq(c->limit, cap, "the allowance has not grown");
	before = stats_of(s);
	free_all(s, objs, n);
	after = stats_of(s);
	expect_lu_eq(after.v[BARN_PUT], before.v[BARN_PUT],
		     "the second swing's frees: no barn");
	expect_u_gt(c->spare->shelf.objects, 0, "objects on the shelf");
	expect_every_object_once(s, &c, 1, NULL, 0, "shelved early");

	expect_d_eq(uslub_cache_shrink(s), 0, "shrink");
	expect_u_eq(c->spare->shelf.sheaves, 0, "an empty shelf");
	alloc_all(s, objs, n);			/* from the slabs */
	before = stats_of(s);
	free_all(s, objs, n);
	after = stats_of(s);
	expect_lu_eq(after.v[BARN_PUT], before.v[BARN_PUT], "still no barn");
	expect_lu_gt(after.v[SHEAF_ALLOC], before.v[SHEAF_ALLOC],
		     "new sheaves for the shelf");
	expect_u_gt(c->spare->shelf.objects, 0, "objects on the shelf again");
	expect_every_object_once(s, &c, 1, NULL, 0, "shelved on new sheaves");
	free(objs);
	destroy_empty(s);
}
TEST_END

/* rounds of allocating n objects into objs and freeing them all */
static void swing(struct uslub_cache *s, void **objs, unsigned int n,
		  unsigned int rounds)
{
	for (unsigned int r = 0; r < rounds; r++) {
		alloc_all(s, objs, n);
		free_all(s, objs, n);
	}
}

/* n: objects past main and spare at sheaf_max, three sheaves more */
static unsigned int shelf_swing_objects(const struct uslub_cache *s)
{
	return 5 * s->sheaf_max;
}

static void *shelf_swing_thread(void *arg)
{
	struct stepper *w = arg;

	swing(w->s, w->objs, w->n, 4 * SLOT_THRASH);
	return stepper_park(w);
}

/*
 * The shelf: a slot that swings between allocating and freeing more than
 * main and spare hold keeps its full sheaves, once its allowance has grown
 * (no barn, no lock), with every object in one place; a shrink empties it,
 * and a thread that exits with one leaves its objects to the barn or the
 * slabs.  A thread that only frees never shelves.
 */
TEST_BEGIN(test_shelf_keeps_a_swinging_slot_off_the_barn)
{
	struct uslub_cache *s = new_cache("state_shelf", OBJ_SIZE);
	struct kmem_cache_cpu *slots[1], *c;
	struct stepper w = { 0 };
	struct snap before, after;
	unsigned int n;
	pthread_t t;
	void **objs;

	assert_ptr_not_null(s, "cache");
	n = shelf_swing_objects(s);
	expect_lu_le((unsigned long)(n - 2 * s->sheaf_max) * s->size,
		     SHELF_BYTES, "what main and spare do not hold fits");
	objs = objs_array(n);
	swing(s, objs, n, 4 * SLOT_THRASH);	/* grows, then swings */
	slots[0] = c = slot_of(s);
	expect_u_eq(c->limit, s->sheaf_max, "grown");
	expect_u_gt(c->spare->shelf.objects, 0, "objects on the shelf");
	expect_every_object_once(s, slots, 1, NULL, 0, "shelved");
	before = stats_of(s);
	swing(s, objs, n, 8);
	after = stats_of(s);
	expect_lu_eq(after.v[BARN_GET], before.v[BARN_GET], "no barn get");
	expect_lu_eq(after.v[BARN_PUT], before.v[BARN_PUT], "no barn put");
	expect_lu_eq(after.v[SHEAF_REFILL], before.v[SHEAF_REFILL],
		     "no refill from the slabs");
	alloc_all(s, objs, n);
	expect_every_object_once(s, slots, 1, objs, n, "taken back");
	free_all(s, objs, n);
	expect_every_object_once(s, slots, 1, NULL, 0, "shelved again");
	expect_d_eq(uslub_cache_shrink(s), 0, "shrink");
	expect_u_eq(c->spare->shelf.sheaves, 0, "shrink empties the shelf");
	expect_u_eq(c->spare_size, 0, "nothing outside main");
	expect_every_object_once(s, slots, 1, NULL, 0, "shrunk");

	/* Another thread swings, then exits with objects on its shelf. */
	w.s = s;
	w.objs = objs;
	w.n = n;
	stepper_start(&w, &t, shelf_swing_thread);
	expect_u_gt(w.c->spare->shelf.objects, 0, "its shelf holds objects");
	sem_post(&w.go);
	pthread_join(t, NULL);
	sem_destroy(&w.ready);
	sem_destroy(&w.go);
	expect_every_object_once(s, slots, 1, NULL, 0, "its thread exited");

	/* A thread that only frees what this one allocated: no shelf. */
	alloc_all(s, objs, n);
	stepper_start(&w, &t, cross_free_thread);
	expect_u_eq(w.c->spare ? w.c->spare->shelf.sheaves : 0, 0,
		    "a thread that only frees keeps no shelf");
	sem_post(&w.go);
	pthread_join(t, NULL);
	sem_destroy(&w.ready);
	sem_destroy(&w.go);
	expect_every_object_once(s, slots, 1, NULL, 0, "freed across");
	free(objs);
	destroy_empty(s);
}
TEST_END

/*
 * A slot shelves only on credit: with none (a thread that freed more than
 * it allocated), its overflowing sheaves go to the barn, where allocating
 * threads find them, though it swings; the refills of its next
 * allocations give it credit, and its next frees shelve again.
 */
TEST_BEGIN(test_shelf_only_on_credit)
{
	struct uslub_cache *s = new_cache("state_shelf_credit", OBJ_SIZE);
	struct kmem_cache_cpu *slots[1], *c;
	struct snap before, after;
	unsigned int n;
	void **objs;

	assert_ptr_not_null(s, "cache");
	n = shelf_swing_objects(s);
	objs = objs_array(n);
	swing(s, objs, n, 4 * SLOT_THRASH);	/* grows, then swings */
	slots[0] = c = slot_of(s);
	expect_u_gt(c->spare->shelf.objects, 0, "a swinging slot shelves");
	expect_d_eq(uslub_cache_shrink(s), 0, "shrink");
	expect_u_eq(c->spare->shelf.objects, 0, "an empty shelf");

	alloc_all(s, objs, n);
	c->allocs = 0;			/* as if it had freed a surplus */
	before = stats_of(s);
	free_all(s, objs, n);
	after = stats_of(s);
	expect_u_eq(c->spare->shelf.objects, 0, "no credit: nothing shelved");
	expect_lu_ge(after.v[BARN_PUT] - before.v[BARN_PUT], 2,
		     "the overflow went to the barn");
	expect_every_object_once(s, slots, 1, NULL, 0, "no credit");

	alloc_all(s, objs, n);			/* refills: credit */
	expect_u_gt(c->allocs, 0, "credit from the refills");
	free_all(s, objs, n);
	expect_u_gt(c->spare->shelf.objects, 0, "credit: shelved again");
	expect_every_object_once(s, slots, 1, NULL, 0, "credit");
	free(objs);
	destroy_empty(s);
}
TEST_END

int main(void)
{
	init_ensure();
	/* Barn sheaves must not age out while a test looks at them. */
	uslub_opt.decay_ms = 3600UL * 1000;
	return test(test_sheaf_capacity_by_object_size,
		    test_slot_owns_every_offset,
		    test_coloured_slabs,
		    test_debug_cache_has_no_sheaves,
		    test_first_alloc_refills_main_from_new_slab,
		    test_refill_takes_partial_before_new_slab,
		    test_refill_walks_partial_slabs_one_cmpxchg_each,
		    test_main_spare_and_barn_exchange,
		    test_walk_at_full_main_stays_fast,
		    test_barn_holds_at_most_max_full_sheaves,
		    test_flush_empties_full_slabs_beyond_min_partial,
		    test_flush_empties_partial_slabs_beyond_min_partial,
		    test_flush_groups_interleaved_slabs,
		    test_drain_flushes_barn_and_slot_together,
		    test_shrink_flushes_sheaves_and_barn,
		    test_shrink_makes_other_threads_flush_later,
		    test_thread_exit_puts_sheaves_in_barn,
		    test_thread_exit_flushes_when_barn_is_full,
		    test_barn_limit_follows_users,
		    test_barn_grows_for_a_thread_taking_back_its_swing,
		    test_grown_barn_keeps_its_empty_sheaves,
		    test_barn_gives_back_own_sheaf,
		    test_barn_gives_back_own_sheaves_past_the_scan,
		    test_barn_leaves_an_allocating_threads_sheaves,
		    test_barn_passes_on_a_consumers_surplus,
		    test_barn_gives_its_oldest_past_max_full,
		    test_departed_sheaves_go_to_the_next_on_the_index,
		    test_shelf_after_two_swings,
		    test_slot_allowance_adapts,
		    test_slot_allowance_slow_swing,
		    test_shelf_keeps_a_swinging_slot_off_the_barn,
		    test_shelf_only_on_credit,
		    test_cross_thread_frees_travel_through_barn,
		    test_cpu_dir_slot_uses_sheaves,
		    test_reused_slot_starts_empty,
		    test_thread_state_on_dirty_pages,
		    test_barn_decay_flushes_idle_sheaves,
		    test_every_object_in_exactly_one_place, NULL);
}
