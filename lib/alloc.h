/*
 * alloc.h - L5: the fast paths.  Everything here is always-inline, uses no
 * atomic instruction and no lock, and calls only out-of-line slow paths.
 *
 *   cache_alloc_fast / cache_free_fast   a cache, the thread's slot
 *   kmalloc_fast / kfree_fast            size class by table, slot by
 *                                        byte offset in struct thread_cache
 *
 * Alloc pops the main sheaf (*--c->top); free pushes onto it
 * (*c->top++), whatever thread allocated the object.  Anything
 * else -- an empty or full main sheaf, a foreign or interior pointer, an
 * object already free, a debug cache, the first call on a thread -- leaves
 * the fast path.
 *
 * The free tag (glibc tcache's key, in the default mode): a free object
 * of a cache with s->free_tag -- the kmalloc classes and user caches with
 * a slot in the thread state, without ctor or SLAB_TYPESAFE_BY_RCU, whose
 * objects' contents must survive being free -- holds free_tag_key, a
 * random word, in its first word.  Free checks it before pushing and
 * writes it; alloc clears it.  A free that finds the tag is a double free,
 * whichever thread freed the object first and wherever it waits (a sheaf,
 * a barn, a slab's free list: the free pointer is the object's second
 * word, except for 8-byte objects, whose tag a flush to the slab
 * overwrites).  A correct program never frees a word equal to the key:
 * it got the object with the word cleared and would have to write 64
 * random bits.
 */
#ifndef USLUB_ALLOC_H
#define USLUB_ALLOC_H

#include "cache.h"
#include "kmalloc.h"
#include "pagemap.h"
#include "slab.h"
#include "thread.h"

extern __hidden uint64_t free_tag_key;	/* random, odd; by cache_setup */

static __always_inline bool free_tagged(const void *p)
{
	return *(const uint64_t *)p == free_tag_key;
}

static __always_inline void free_tag_set(void *p)
{
	*(uint64_t *)p = free_tag_key;
}

static __always_inline void free_tag_clear(void *p)
{
	*(uint64_t *)p = 0;
}

/* Reports func's use of obj, an object start of s already free, as a
 * double free (aborts when abort_on_error). */
void cache_report_double_free(const char *func, const struct uslub_cache *s,
			      const void *obj);
/* realloc and krealloc of obj: true, after the report, if obj is an object
 * of a cache with the free tag and free already (the copy would carry the
 * tag into the new block). */
bool cache_object_freed(const char *func, const void *obj);

/*
 * kmalloc(size) when c, the thread's slot of size's class
 * (kmalloc_slot_off), has an empty main sheaf: refill main and pop, as
 * cache_alloc_sized would after its checks (a slot with a cache and a
 * main sheaf is set up and not a debug cache's), two calls shorter.
 * Otherwise (no main sheaf, GFP_ZERO, the heap profiler on, no memory)
 * kmalloc_slow.  In cache.c, beside the refill it inlines.
 */
void *kmalloc_refill(struct kmem_cache_cpu *c, size_t size, uslub_gfp_t gfp,
		     uintptr_t caller);

/* caller: RET_IP of the entry point, for debug caches' tracks. */
void *cache_alloc_slow(struct uslub_cache *s, uslub_gfp_t gfp,
		       uintptr_t caller);
/* cache_alloc_slow for kmalloc(size): a debug cache keeps size and red
 * zones the bytes after it (debug.h). */
void *cache_alloc_sized(struct uslub_cache *s, uslub_gfp_t gfp, size_t size,
			uintptr_t caller);
void cache_free_slow(struct uslub_cache *s, void *obj, uintptr_t caller);
/* cache_free_slow and kfree_slow, reporting a bad pointer under func's
 * name (free, kfree, cache_free, ...); s NULL: any cache. */
void cache_free_checked(const char *func, struct uslub_cache *s, void *obj,
			uintptr_t caller);
void kfree_checked(const void *p, const char *func, uintptr_t caller);
/* A free of p, an object start of a slab of c's cache (slot_owns), that
 * the fast path refused: main is full, or p carries the free tag (a
 * double free), or (caches without the tag) p is on top of main. */
void cache_free_owned(void *p, struct kmem_cache_cpu *c, const char *func);
/* cache_free_fast for a cache whose slots are not in the thread state,
 * and for NULL (nothing to do). */
void cache_free_dir(struct uslub_cache *s, void *obj, uintptr_t caller);

/*
 * c->top - 1, stored as one subtract to memory.  Given top in a register,
 * GCC computes top - 1 and stores it, an instruction more on the malloc
 * fast path; the x86-64 asm (GCC and Clang syntax) says what we want.
 * ThreadSanitizer gets the counter instead, which it can see.
 */
static __always_inline void sheaf_top_drop(struct kmem_cache_cpu *c)
{
#if USLUB_CONFIG_TSAN
	counter_add(c->top, -1);
#else
	__asm__("subq $8, %0" : "+m"(c->top));
#endif
}

/*
 * Pop from a main sheaf known to hold objects.  No prefetch of the next
 * object (SLUB's prefetch_freepointer): two threads each replacing one
 * 16-byte object, from the same slab page, ran at 135 M ops/s with it and
 * 230-390 M without; the prefetched neighbour's line was another core's.
 */
static __always_inline void *sheaf_take(struct kmem_cache_cpu *c,
					void **top)
{
	sheaf_top_drop(c);
	counter_inc(c->stat[ALLOC_PCS]);
	return top[-1];
}

/* sheaf_take for a cache with the free tag: the object leaves it clear. */
static __always_inline void *sheaf_take_tagged(struct kmem_cache_cpu *c,
					       void **top)
{
	void *p = sheaf_take(c, top);

	free_tag_clear(p);
	return p;
}

static __always_inline void *sheaf_pop(struct kmem_cache_cpu *c)
{
	void **top = c->top;

	return likely(top > c->objects) ? sheaf_take(c, top) : NULL;
}

/*
 * Is p an object start of a slab of c's cache?  p's page is known to
 * carry c's slot offset (kmalloc and inline slots) or to be a slab of c's
 * cache.  Slabs are aligned to their size, so the offset is n = p & mask.
 * With mult = floor(2^64 / size) + 1 and e = mult * size - 2^64 (0 < e <=
 * size), n * mult mod 2^64 is k * e for n = k * size, and at least mult,
 * far above any k * e, when size does not divide n (the multiplicative
 * divisibility test): below bound = objects * e exactly for the object
 * starts, boundary and range in one compare.  bound 0 fails every
 * pointer.  A coloured cache (slab.h, slab_colour) has its objects at
 * multiples of size: mask is all ones and bound is mult, which tests p
 * itself (k * e < 2^ADDR_BITS < mult for sizes up to 32 KiB), and the
 * slot map leaves the multiples that are no object out.
 * sheaf_slot_init sets mult and bound; the slab_state tests check every
 * offset of every class against the division.
 */
static __always_inline bool slot_owns(const struct kmem_cache_cpu *c,
				      const void *p)
{
	return ((uintptr_t)p & c->mask) * c->mult < c->bound;
}

/*
 * Push p, an object of a cache with the free tag, onto the main sheaf if
 * it has room and p is not free already; tag it.  top goes up as a
 * counter (one add to memory; other threads only read it, for
 * statistics), an instruction less than storing top + 1.  The push is
 * FREE_PCS, counted by top itself (types.h, cpu_moved).
 */
static __always_inline bool sheaf_push_tagged(struct kmem_cache_cpu *c,
					      void *p)
{
	void **top = c->top;

	if (likely(top < c->end) && likely(!free_tagged(p))) {
		free_tag_set(p);
		*top = p;
		counter_inc(c->top);
		return true;
	}
	return false;
}

/*
 * Push p onto the main sheaf if it has room and p is not already on top
 * (SLUB's naive double-free check: freeing the object just freed), for
 * caches without the free tag.  An empty sheaf's top is its guard word,
 * NULL.
 */
static __always_inline bool sheaf_push(struct kmem_cache_cpu *c, void *p)
{
	void **top = c->top;

	if (likely(top < c->end) && likely(top[-1] != p)) {
		*top = p;
		counter_inc(c->top);
		return true;
	}
	return false;
}

/*
 * Caches with a slot in the thread state have the free tag (unless
 * debugging, when the slot never has objects); caches in cpu_dir do not.
 * The thread's slot at s->cpu_slot needs no check that it is s's: a slot
 * not set up for s (never used, or a destroyed cache's, retired under
 * slab_mutex) has no sheaf, top == objects == NULL.
 */
static __always_inline void *cache_alloc_fast(struct uslub_cache *s,
					      uslub_gfp_t gfp)
{
	struct kmem_cache_cpu *c;
	void **top;

	if (likely(s->cpu_slot)) {
		c = &thread_cache->kcpu[s->cpu_slot];
		if (likely(!(gfp & USLUB_GFP_ZERO)) &&
		    likely((top = c->top) > c->objects))
			return sheaf_take_tagged(c, top);
	} else {
		c = cache_cpu(s, thread_cache);
		if (likely(c) && likely(!(gfp & USLUB_GFP_ZERO)) &&
		    likely((top = c->top) > c->objects))
			return sheaf_take(c, top);
	}
	return cache_alloc_slow(s, gfp, RET_IP);
}

static __always_inline struct kmem_cache_cpu *cpu_at(struct thread_cache *tc,
						     unsigned int off)
{
	return (struct kmem_cache_cpu *)((char *)tc + off);
}

static __always_inline void *kmalloc_fast(size_t size, uslub_gfp_t gfp)
{
	long off = kmalloc_slot_off(size);
	struct kmem_cache_cpu *c;
	void **top;

	if (likely(off >= 0) && likely(!(gfp & USLUB_GFP_ZERO))) {
		c = cpu_at(thread_cache, (unsigned int)off);
		top = c->top;
		if (likely(top > c->objects))
			return sheaf_take_tagged(c, top);
		return kmalloc_refill(c, size, gfp, RET_IP);
	}
	return kmalloc_slow(size, gfp, RET_IP);
}

/* The thread's slot whose cache p is an object start of, found by the
 * page's byte in the slot map and slot_owns, or NULL (a foreign or
 * interior pointer, a page of a cache without a slot in the thread
 * state, a debug cache). */
static __always_inline struct kmem_cache_cpu *owning_slot(const void *p)
{
	uintptr_t entry = pagemap_entry(p);
	struct kmem_cache_cpu *c;

	if (unlikely(!entry))
		return NULL;
	c = cpu_at(thread_cache,
		   (unsigned int)*pagemap_slot(entry, p) << CPU_SHIFT);
	return likely(slot_owns(c, p)) ? c : NULL;
}

/* kfree and free: func names the caller in reports, slow is its slow
 * path (kfree_checked; free_checked, which does not take the kernel's
 * ZERO_SIZE_PTR).  The page's byte in the slot map (region.h) picks the
 * slot: a kmalloc class, a user cache with a slot in the thread state,
 * or slot 0, which fails slot_owns. */
static __always_inline void kfree_fast_as(const void *p, const char *func,
					  void (*slow)(const void *,
						       const char *, uintptr_t))
{
	struct kmem_cache_cpu *c = owning_slot(p);

	if (likely(c)) {
		if (likely(sheaf_push_tagged(c, (void *)p)))
			return;
		cache_free_owned((void *)p, c, func);
		return;
	}
	slow(p, func, RET_IP);
}

/*
 * The same for a known cache: the page's byte in the slot map must be
 * s's slot.  A cache in cpu_dir has cpu_slot 0, like the pages of such
 * caches, and slot 0 fails slot_owns: one compare tells both.  NULL, not
 * in any region, takes cache_free_dir.
 */
static __always_inline void cache_free_fast(struct uslub_cache *s, void *obj)
{
	uintptr_t entry = pagemap_entry(obj);
	struct kmem_cache_cpu *c;
	unsigned int slot;

	if (likely(entry)) {
		slot = *pagemap_slot(entry, obj);
		c = cpu_at(thread_cache, slot << CPU_SHIFT);
		if (likely(slot == s->cpu_slot) && likely(slot_owns(c, obj))) {
			if (likely(sheaf_push_tagged(c, obj)))
				return;
			cache_free_owned(obj, c, "cache_free");
			return;
		}
	}
	cache_free_dir(s, obj, RET_IP);
}

static __always_inline void kfree_fast(const void *p)
{
	kfree_fast_as(p, "kfree", kfree_checked);
}

#endif /* USLUB_ALLOC_H */
