/*
 * slab.h - L4: slab life cycle and the slow paths of SLUB.
 *
 * A slab is a block of 2^order pages cut into s->objects objects of s->size
 * bytes.  Its head descriptor holds {freelist, counters} (inuse, objects,
 * frozen), changed only by cmpxchg16b (slab_update_freelist).  States, lock
 * order and invariants are in cache.c's essay; the functions here fill
 * and flush sheaves (sheaf.c) and serve caches without sheaves.
 */
#ifndef USLUB_SLAB_H
#define USLUB_SLAB_H

#include "types.h"
#include "page_alloc.h"
#include "pagemap.h"

/* The counters word of a slab, as a value. */
union slab_counters {
	unsigned long counters;
	struct {
		unsigned int inuse : 16;
		unsigned int objects : 15;
		unsigned int frozen : 1;
	};
};

/*
 * SLUB's CONFIG_SLAB_FREELIST_HARDENED, always on: the free pointer inside
 * a free object is stored as fp ^ s->random ^ bswap(the word's address).
 * A use-after-free write over it, or a leak of it, names no address: what
 * was written decodes to an unpredictable value, which the slab layer
 * checks against the slab before following it (slab.c, take_objects).
 * The byte swap puts the address's varying low bits on top, where a
 * pointer has none.
 */
static __always_inline uintptr_t freepointer_mask(const struct uslub_cache *s,
						  const void *where)
{
	return (uintptr_t)s->random ^ __builtin_bswap64((uintptr_t)where);
}

static __always_inline void *get_freepointer(const struct uslub_cache *s,
					     void *obj)
{
	uintptr_t *where = (uintptr_t *)((char *)obj + s->offset);

	return (void *)(*where ^ freepointer_mask(s, where));
}

static __always_inline void set_freepointer(const struct uslub_cache *s,
					    void *obj, void *fp)
{
	uintptr_t *where = (uintptr_t *)((char *)obj + s->offset);

	*where = (uintptr_t)fp ^ freepointer_mask(s, where);
}

static inline void stat(struct kmem_cache_cpu *c, enum stat_item si)
{
	counter_inc(c->stat[si]);
}

static inline void stat_add(struct kmem_cache_cpu *c, enum stat_item si,
			    unsigned long v)
{
	counter_add(c->stat[si], v);
}

/* One cmpxchg16b on {freelist, counters}; counts CMPXCHG_DOUBLE and
 * CMPXCHG_DOUBLE_FAIL. */
bool slab_update_freelist(struct kmem_cache_cpu *c, struct slab *slab,
			  void *freelist_old, unsigned long counters_old,
			  void *freelist_new, unsigned long counters_new);

/* Geometry: fills size, offset, align, order, objects and min_partial
 * from object_size, align, flags and ctor. */
void slab_calculate_sizes(struct uslub_cache *s, unsigned int ncpus);
unsigned int slab_calculate_order(unsigned int size, unsigned int ncpus);
/* The order of a kmalloc class above 8 KiB (kmalloc_idx set). */
unsigned int slab_kmalloc_big_order(unsigned int size);
/* Coloured caches (slab_colour): objects a slab of order holds wherever
 * it falls, and the order. */
unsigned int slab_coloured_objects(unsigned int order, unsigned int size);
unsigned int slab_coloured_order(unsigned int size);
unsigned int slab_min_partial(unsigned int size);

/* Up to n free objects of s into objs, for a sheaf: from the slabs on
 * s->partial (list_lock, one cmpxchg16b per slab), else from a new slab
 * whose rest goes on s->partial.  Returns how many; 0 when out of memory.
 * The objects count as in use in their slabs (inuse). */
unsigned int slab_alloc_bulk(struct uslub_cache *s, struct kmem_cache_cpu *c,
			     struct page_cache *pc, void **objs, unsigned int n);

/* Free of the detached list head..tail (cnt objects) of one slab
 * (SLUB's __slab_free): one cmpxchg16b; list_lock only when the slab goes
 * from full to partial or becomes empty.  func names the entry point in
 * the report of a double free (head already first on the free list). */
void slab_free_slow(const char *func, struct uslub_cache *s,
		    struct kmem_cache_cpu *c, struct page_cache *pc,
		    struct slab *slab, void *head, void *tail, unsigned int cnt);

/* Return n objects to their slabs, one slab_free_slow per slab. */
void slab_free_bulk(struct uslub_cache *s, struct kmem_cache_cpu *c,
		    struct page_cache *pc, void **objs, unsigned int n);

/*
 * A flush of several sheaves at once (sheaf.c, a draining barn): up to
 * FLUSH_WIDE_MAX objects grouped by slab in one pass, in a block of the
 * page layer that a thread gets at its first such flush, too big for the
 * stack of every thread that frees (28 KiB).  One sheaf's objects lie on
 * nearly as many slabs when a big heap is freed in random order (123 on
 * about 95 slabs of kmalloc-80); eight sheaves' on about a third as many
 * slabs as objects, and each slab takes one cmpxchg16b.
 */
#define FLUSH_WIDE_MAX		1024
#define FLUSH_WIDE_BITS		11	/* buckets: twice FLUSH_WIDE_MAX */
#define FLUSH_SCRATCH_ORDER	3

struct flush_group {
	void *head;			/* the chain's newest object */
	uint32_t first;			/* index of the tail, the first object */
	uint32_t cnt;
};

struct flush_scratch {
	void *objs[FLUSH_WIDE_MAX];	/* the caller's */
	struct flush_group groups[FLUSH_WIDE_MAX];
	uint16_t bucket[1u << FLUSH_WIDE_BITS];
};

_Static_assert(sizeof(struct flush_scratch) <= PAGE_SIZE << FLUSH_SCRATCH_ORDER,
	       "flush scratch fits its block");

/* slab_free_bulk of the n objects in fs->objs (n <= FLUSH_WIDE_MAX). */
void slab_free_wide(struct uslub_cache *s, struct kmem_cache_cpu *c,
		    struct page_cache *pc, struct flush_scratch *fs,
		    unsigned int n);

/* Free every empty slab on s->partial and order the rest fullest first.
 * Returns the number of slabs left in the cache.  This and
 * slab_release_all give slabs back under list_lock: debug_validate finds
 * a cache's slabs through the page descriptors and reads them under that
 * lock, so it must never meet one that is half given back. */
unsigned long slab_shrink_partial(struct uslub_cache *s,
				  struct kmem_cache_cpu *c,
				  struct page_cache *pc);

/* Give every slab of s back to the page layer (destroy, no live objects). */
void slab_release_all(struct uslub_cache *s, struct kmem_cache_cpu *c,
		      struct page_cache *pc);

/*
 * Slab colouring.  Objects of more than a page whose size is not a
 * multiple of the page would, at slab + k * size in size-aligned slabs,
 * start at the same few offsets in a page in every slab: a program that
 * touches the first line of many such blocks meets them in a few sets of
 * the cache (with 4 KiB pages the low 12 bits of the physical address are
 * the virtual ones).  SLAB offset each slab's first object by a rotating
 * colour.  A coloured cache (s->coloured: no debugging, size above a page
 * and not a multiple of it) puts its objects at the multiples of s->size
 * instead: the first at the first multiple in the slab, s->objects of
 * them, however the slab's address falls.  Their offsets in a page then
 * run through every multiple of the largest power of two dividing size
 * (the kmalloc classes above 4 KiB are odd multiples of 256 bytes: 16
 * offsets), from slab to slab as within one.
 *
 * The free fast path's test stays one multiply and compare (alloc.h,
 * slot_owns: the whole address against the multiples of size).  The
 * multiples that are not objects -- in the slab's tail after the last
 * object -- are on pages whose slot map byte is 0: every page of a
 * coloured slab holds at most one multiple, and only the pages where an
 * object starts carry the cache's slot (slab.c, new_slab).
 *
 * The colour is the offset of the slab's first object from its first
 * page; 0 when not coloured.  A division: slow paths only.
 */
static inline unsigned int slab_colour(const struct uslub_cache *s,
				       const struct slab *slab)
{
	uintptr_t base = (uintptr_t)page_address(slab);

	return s->coloured ? (unsigned int)((s->size - base % s->size) %
					    s->size) : 0;
}

/* The first object of slab (before its left red zone, with debugging). */
static inline char *slab_objects_start(const struct uslub_cache *s,
				       const struct slab *slab)
{
	return (char *)page_address(slab) + slab_colour(s, slab);
}

/*
 * Index of obj in its slab, or -1 if obj is not an object start
 * (slab_index_at: the slab's slab_objects_start given, for loops over
 * one slab's objects).  SLUB's
 * obj_to_index: a multiply by the reciprocal instead of a division (exact,
 * see RECIPROCAL_SHIFT, once the offset is known to be inside the slab).
 * The bound is the cache's, not slab->objects: every slab of s holds
 * s->objects, and the slab's word is its counters, which lock-free
 * callers (ksize, free's checks) would read while a debug cache rewrites
 * them under list_lock.
 */
static inline long slab_index_at(const struct uslub_cache *s,
				 const char *start, const void *obj)
{
	uint64_t off = (uintptr_t)obj - (uintptr_t)start - s->red_left_pad;
	uint64_t idx = (off * s->reciprocal) >> RECIPROCAL_SHIFT;

	if (off >= (uint64_t)s->objects * s->size || idx * s->size != off)
		return -1;
	return (long)idx;
}

static inline long slab_object_index(const struct uslub_cache *s,
				     const struct slab *slab, const void *obj)
{
	return slab_index_at(s, slab_objects_start(s, slab), obj);
}

/* s->partial under list_lock; used by debug.c as well. */
void slab_add_partial_locked(struct uslub_cache *s, struct slab *slab,
			     bool tail);
void slab_remove_partial_locked(struct uslub_cache *s, struct slab *slab);
/* Give an empty, listless slab back to the page layer; a slab of a
 * SLAB_TYPESAFE_BY_RCU cache goes to slab_rcu_defer_hook instead. */
void slab_discard(struct uslub_cache *s, struct kmem_cache_cpu *c,
		  struct page_cache *pc, struct slab *slab);
/* Defers a discarded TYPESAFE_BY_RCU slab past a grace period.  A hook
 * because the code that does it, rcu.c's rcu_defer_slab, sits in L5 above
 * this layer (its worker frees objects with kfree); init installs it
 * before any cache exists.  Lock-free: may run under any lock. */
extern void (*slab_rcu_defer_hook)(struct slab *slab);

/* Test hooks: walk a slab's freelist (slab->freelist) and count it. */
unsigned int slab_count_free(const struct uslub_cache *s, struct slab *slab);

#endif /* USLUB_SLAB_H */
