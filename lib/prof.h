/*
 * prof.h - L5: the sampling heap profiler (USLUB_OPTIONS=prof=1), in the
 * manner of tcmalloc's and jemalloc's: about one allocation per
 * prof_sample bytes (a Poisson process over the bytes each thread
 * allocates) is recorded with its call stack, and its free noticed; a
 * profile in gperftools' heap-profile text format (google-pprof reads it)
 * on uslub_prof_dump and at exit, and a leak report at exit with
 * prof_leak=1.  Only the kmalloc family is profiled (malloc, calloc,
 * realloc, memalign, kmalloc, ...), not objects of created caches.
 *
 * Hooks: kmalloc's slow paths call prof_alloc (the small classes
 * prof_kmalloc), the free slow paths prof_free, realloc in place
 * prof_realloc.  With prof off the fast paths are untouched and each hook
 * is one test of prof_active on a slow path.
 *
 * With prof on, a kmalloc class's thread slot keeps its sheaves, but its
 * end is its objects outside the slow paths, a capacity of 0
 * (prof_slot_open restores it for them, prof_slot_close sets it back):
 * every free fails the fast path's room check and goes through cache_free_owned, and the main sheaf
 * only grows there.  So the slow paths decide how many allocations the
 * fast path may make before the next one that must be sampled: main
 * holds fewer objects than that (prof_slot_close gives the others back
 * to their slabs), and the sampled allocation finds main empty.  The
 * fast path's own count of allocations (ALLOC_PCS) tells the slow paths
 * how far the countdown went meanwhile.
 */
#ifndef USLUB_PROF_H
#define USLUB_PROF_H

#include "kmalloc.h"
#include "thread.h"

/* USLUB_OPTIONS' prof, set at initialisation (prof_init). */
extern __hidden bool prof_active;

void prof_init(void);
/* Load the unwinder while allocating is safe (the constructor). */
void prof_warm(void);

/* p (size bytes asked for) was just allocated; caller: the return
 * address into the program, where its stack is cut. */
void prof_alloc_sample(void *p, size_t size, uintptr_t caller);
void prof_free_sample(const void *p);
void prof_realloc_sample(const void *old, void *p, size_t size);

static inline void prof_alloc(void *p, size_t size, uintptr_t caller)
{
	if (unlikely(READ_ONCE(prof_active)) && p && p != (void *)16)
		prof_alloc_sample(p, size, caller);
}

/* Per address hash, how many sampled objects have it (prof.c). */
#define PROF_FILTER_SLOTS	(1u << 14)
extern __hidden uint32_t prof_filter[PROF_FILTER_SLOTS];

static inline size_t prof_filter_slot(uintptr_t addr)
{
	return (size_t)(((addr >> 4) * 0x9e3779b97f4a7c15ULL) >> 50) &
	       (PROF_FILTER_SLOTS - 1);
}

/* May p be a sampled object?  No lock: zero means no. */
static inline bool prof_maybe_sampled(const void *p)
{
	return __atomic_load_n(&prof_filter[prof_filter_slot((uintptr_t)p)],
			       __ATOMIC_RELAXED) != 0;
}

static inline void prof_free(const void *p)
{
	if (unlikely(READ_ONCE(prof_active)) && prof_maybe_sampled(p))
		prof_free_sample(p);
}

/* realloc kept the block at old, or moved it to p with mremap, now
 * holding size bytes. */
static inline void prof_realloc(const void *old, void *p, size_t size)
{
	if (unlikely(READ_ONCE(prof_active)))
		prof_realloc_sample(old, p, size);
}

/* kmalloc_slow for a class (s) while prof is on. */
void *prof_kmalloc(struct uslub_cache *s, size_t size, uslub_gfp_t gfp,
		   uintptr_t caller);

/* Is c, a slot of the calling thread, a kmalloc class's while prof is
 * on? */
static inline bool prof_slot(const struct kmem_cache_cpu *c)
{
	return unlikely(READ_ONCE(prof_active)) && c->main &&
	       c->cache >= kmalloc_caches &&
	       c->cache < kmalloc_caches + NR_KMALLOC;
}

/* For a prof_slot: a free's push onto main where the countdown allows
 * it; false if the sheaf's slow path must run, between prof_slot_open
 * and prof_slot_close (they nest: a reclaim inside a refill may free). */
bool prof_slot_push(struct kmem_cache_cpu *c, void *p);
void prof_slot_open(struct kmem_cache_cpu *c);
void prof_slot_close(struct kmem_cache_cpu *c);

/* The profile to path (NULL: <prof_prefix>.<pid>.<n>.heap): 0, or -1
 * with errno (EINVAL while prof is off). */
int prof_dump(const char *path);
/* The same profile to fd (the statistics server's "prof" request). */
int prof_write(int fd);

/* At exit: the profile to <prof_prefix>.<pid>.heap and, with prof_leak,
 * the leak report to the error fd. */
void prof_exit(void);

extern struct lock prof_lock;		/* the fork protocol takes it */

#endif /* USLUB_PROF_H */
