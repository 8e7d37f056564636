/*
 * debug.h - L4 beside slab.c: the kernel's slub_debug in user space.
 *
 * A cache with any of F Z P U T (USLUB_CONSISTENCY_CHECKS, RED_ZONE,
 * POISON, STORE_USER, TRACE) is a debug cache.  It never has a cpu slab:
 * the fast paths always miss and every alloc and free ends in
 * debug_alloc / debug_free, which work on slab->freelist under
 * s->list_lock and check the object there.  Debug slabs are never
 * frozen; their {freelist, counters} change only under list_lock.
 *
 * Object layout of a debug cache (offsets from the object pointer):
 *
 *  -red_left_pad   0            object_size      inuse  offset   track_off  orig_off   pad_off
 *   | left red zone | object        | right red zone | fp     | 2 tracks  | orig size | padding |
 *     0xbb / 0xcc     0x6b.. 0xa5     0xbb / 0xcc     (P,Z)    (U)         (kmalloc,Z) 0x5a
 *
 * A kmalloc cache with Z keeps the size kmalloc was asked for (the
 * kernel's orig_size, Linux 6.1): the bytes of an allocated object from
 * that size to object_size are its kmalloc red zone, 0xcc, checked on
 * free and by validation ("kmalloc Redzone overwritten").  ksize and
 * malloc_usable_size then report the size asked for.
 *
 * Reports open with one line naming the entry point, the cache, the
 * address and the problem, then the stack of that call; then the
 * kernel's shape (BUG, INFO, hex dump, FIX).  They are
 * written after the list_lock is released (symbolising takes the dynamic
 * loader's lock, which a thread inside dlopen holds while it allocates).
 */
#ifndef USLUB_DEBUG_H
#define USLUB_DEBUG_H

#include "slab.h"

#define SLAB_DEBUG_FLAGS	(USLUB_CONSISTENCY_CHECKS | USLUB_RED_ZONE | \
				 USLUB_POISON | USLUB_STORE_USER | USLUB_TRACE)

/* Fill bytes, as the kernel's <linux/poison.h>. */
#define POISON_INUSE	0x5a	/* padding; never handed out */
#define POISON_FREE	0x6b	/* a free object */
#define POISON_END	0xa5	/* the last byte of a free object */
#define RED_INACTIVE	0xbb	/* red zone of a free object */
#define RED_ACTIVE	0xcc	/* red zone of an allocated object */

#define TRACK_ADDRS	8

/* Where an object was last allocated or freed (STORE_USER). */
struct track {
	uintptr_t addr;			/* the caller of the uslub function */
	uintptr_t stack[TRACK_ADDRS];	/* innermost first */
	uint64_t when;			/* os_now_ms() */
	int tid;
	unsigned int nr;		/* entries of stack */
};

static inline bool cache_debug(const struct uslub_cache *s)
{
	return unlikely(s->flags & SLAB_DEBUG_FLAGS);
}

/* Geometry of a debug cache: red zones, free pointer, tracks, padding.
 * size is the object size rounded to a word; returns the slot size
 * before the final alignment. */
unsigned int debug_calculate_layout(struct uslub_cache *s, unsigned int size);

/* One object for c's thread (stats go to c); NULL when out of memory.
 * orig_size: the bytes asked for (kmalloc; object_size otherwise).
 * caller: the return address of the uslub entry point. */
void *debug_alloc(struct uslub_cache *s, struct kmem_cache_cpu *c,
		  struct page_cache *pc, size_t orig_size, uintptr_t caller);

/* The usable size of obj, an allocated object of debug cache s: the
 * size asked of kmalloc where s keeps it, else object_size. */
size_t debug_object_size(const struct uslub_cache *s, const void *obj);
/* realloc kept obj in place for size bytes (<= object_size): its kmalloc
 * red zone moves to size. */
void debug_resize(struct uslub_cache *s, void *obj, size_t size);

/*
 * Free of obj, whose block head is slab (a slab of s), asked of cache
 * want (NULL: kfree, any cache).  Checks and reports: wrong cache, not
 * an object start, already free, red zones, padding; then poisons and
 * frees.  A bad free is reported and the object left as it was.
 */
void debug_free(const char *func, struct uslub_cache *s,
		struct uslub_cache *want, struct kmem_cache_cpu *c,
		struct page_cache *pc, struct slab *slab, void *obj,
		uintptr_t caller);

/* The kernel's validate_slab_cache: every slab, every object.  Returns
 * the number of problems found (each reported and repaired); func names
 * who asked (cache_validate, malloc_trim, exit) in the reports. */
unsigned long debug_validate(struct uslub_cache *s, const char *func);

/* Destroy's list of remaining objects: with STORE_USER, where obj was
 * allocated (written to the error fd; allocation-free). */
void debug_print_alloc_track(const struct uslub_cache *s, const void *obj);

/* The start of object idx of a slab at base. */
static inline void *debug_object(const struct uslub_cache *s, void *base,
				 unsigned int idx)
{
	return (char *)base + (size_t)idx * s->size + s->red_left_pad;
}

#endif /* USLUB_DEBUG_H */
