/*
 * alloc.h - L5: the fast paths.  Everything here is always-inline, uses no
 * atomic instruction and no lock, and calls only out-of-line slow paths:
 * its _slow twin, or _remote for the common case of a free into another
 * slab of the cache.
 *
 *   cache_alloc_fast / cache_free_fast   a cache, the thread's cpu slot
 *   kmalloc_fast / kfree_fast            size class by table, cpu slot by
 *                                        byte offset in struct thread_cache
 *
 * Owner alloc pops the thread-local freelist of the frozen cpu slab; owner
 * free of an object start of that same slab (checked: cpu_owns) pushes
 * onto it.  Anything else -- an empty freelist, another slab, a foreign
 * or interior pointer, the first call on a thread -- leaves the fast path.
 */
#ifndef USLUB_ALLOC_H
#define USLUB_ALLOC_H

#include "cache.h"
#include "kmalloc.h"
#include "pagemap.h"
#include "slab.h"
#include "thread.h"

/* caller: RET_IP of the entry point, for debug caches' tracks. */
void *cache_alloc_slow(struct uslub_cache *s, uslub_gfp_t gfp,
		       uintptr_t caller);
void cache_free_slow(struct uslub_cache *s, void *obj, uintptr_t caller);
/* Free of an object of slab d->head that is not c's cpu slab, on a thread
 * with a live state: the common slow free, kept short. */
void cache_free_remote(struct uslub_cache *s, struct kmem_cache_cpu *c,
		       struct slab *d, void *obj, uintptr_t caller);
void kfree_remote(struct kmem_cache_cpu *c, struct slab *d, const void *p,
		  const char *func, uintptr_t caller);
/* cache_free_slow and kfree_slow, reporting a bad pointer under func's
 * name (free, kfree, cache_free, ...); s NULL: any cache. */
void cache_free_checked(const char *func, struct uslub_cache *s, void *obj,
			uintptr_t caller);
void kfree_checked(const char *func, const void *p, uintptr_t caller);

static __always_inline void *cpu_pop(struct kmem_cache_cpu *c)
{
	void *obj = c->freelist;

	if (likely(obj)) {
		c->freelist = *(void **)((char *)obj + c->offset);
		counter_inc(c->stat[ALLOC_FASTPATH]);
	}
	return obj;
}

/*
 * Is p an object start of c's cpu slab, and not the head of its freelist?
 * One subtraction and compare for the range, a multiply by the reciprocal
 * for the object boundary: an interior or stray pointer is never pushed
 * onto the freelist.  The
 * 64-bit multiply is exact because off < 2^22 (limit) and size >= 8.
 * The last test is SLUB's naive double-free check (set_freepointer under
 * CONFIG_SLAB_FREELIST_HARDENED): freeing the object just freed would
 * make the freelist a cycle; the slow path reports it.
 */
static __always_inline bool cpu_owns(const struct kmem_cache_cpu *c,
				     const void *p)
{
	uintptr_t off = (uintptr_t)p - c->base;
	uint64_t idx = (off * c->reciprocal) >> RECIPROCAL_SHIFT;

	return off < c->limit && idx * c->size == off && p != c->freelist;
}

static __always_inline void cpu_push(struct kmem_cache_cpu *c, void *obj)
{
	*(void **)((char *)obj + c->offset) = c->freelist;
	c->freelist = obj;
	counter_inc(c->stat[FREE_FASTPATH]);
}

static __always_inline void *cache_alloc_fast(struct uslub_cache *s,
					      uslub_gfp_t gfp)
{
	struct kmem_cache_cpu *c = cache_cpu(s, thread_cache);
	void *obj;

	if (likely(c) && likely(!(gfp & USLUB_GFP_ZERO))) {
		obj = cpu_pop(c);
		if (likely(obj))
			return obj;
	}
	return cache_alloc_slow(s, gfp, RET_IP);
}

static __always_inline void cache_free_fast(struct uslub_cache *s, void *obj)
{
	struct kmem_cache_cpu *c = cache_cpu(s, thread_cache);
	struct slab *d;

	if (likely(c)) {
		if (likely(cpu_owns(c, obj))) {
			cpu_push(c, obj);
			return;
		}
		d = pagemap_lookup(obj);
		if (likely(d)) {
			cache_free_remote(s, c, d, obj, RET_IP);
			return;
		}
	}
	cache_free_slow(s, obj, RET_IP);
}

static __always_inline struct kmem_cache_cpu *cpu_at(struct thread_cache *tc,
						     unsigned int off)
{
	return (struct kmem_cache_cpu *)((char *)tc + off);
}

static __always_inline void *kmalloc_fast(size_t size, uslub_gfp_t gfp)
{
	void *obj;

	if (likely(size - 1 < SMALL_MAX) && likely(!(gfp & USLUB_GFP_ZERO))) {
		obj = cpu_pop(cpu_at(thread_cache,
				     kmalloc_cpu_off[(size - 1) >> 3]));
		if (likely(obj))
			return obj;
	}
	return kmalloc_slow(size, gfp, RET_IP);
}

/* kfree and free: func names the caller in reports. */
static __always_inline void kfree_fast_as(const void *p, const char *func)
{
	uintptr_t base = pagemap_region(p);
	struct slab *d;
	struct kmem_cache_cpu *c;

	if (likely(base)) {
		d = pagemap_desc(base, p);
		c = cpu_at(thread_cache, d->cpu_off);
		if (likely(cpu_owns(c, p))) {
			cpu_push(c, (void *)p);
			return;
		}
		if (d->cpu_off && c->cache) {	/* kmalloc slab, live thread */
			kfree_remote(c, d, p, func, RET_IP);
			return;
		}
	}
	kfree_checked(func, p, RET_IP);
}

static __always_inline void kfree_fast(const void *p)
{
	kfree_fast_as(p, "kfree");
}

#endif /* USLUB_ALLOC_H */
