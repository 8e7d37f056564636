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
 * Hooks: kmalloc's slow paths call prof_alloc, the free slow paths
 * prof_free, realloc in place prof_realloc.  With prof on, the kmalloc
 * classes' thread slots get no sheaves (prof_slot_sheaves), so every
 * allocation and free of a class reaches those slow paths; with prof off
 * the fast paths are untouched and each hook is a test of prof_active on
 * a slow path.
 */
#ifndef USLUB_PROF_H
#define USLUB_PROF_H

#include "types.h"

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

static inline void prof_free(const void *p)
{
	if (unlikely(READ_ONCE(prof_active)))
		prof_free_sample(p);
}

/* realloc kept the block at old, or moved it to p with mremap, now
 * holding size bytes. */
static inline void prof_realloc(const void *old, void *p, size_t size)
{
	if (unlikely(READ_ONCE(prof_active)))
		prof_realloc_sample(old, p, size);
}

/* Does a thread's slot of s get sheaves?  Not a kmalloc class's while
 * the profiler is on. */
bool prof_slot_sheaves(const struct uslub_cache *s);

/* The profile to path (NULL: <prof_prefix>.<pid>.<n>.heap): 0, or -1
 * with errno (EINVAL while prof is off). */
int prof_dump(const char *path);

/* At exit: the profile to <prof_prefix>.<pid>.heap and, with prof_leak,
 * the leak report to the error fd. */
void prof_exit(void);

extern struct lock prof_lock;		/* the fork protocol takes it */

#endif /* USLUB_PROF_H */
