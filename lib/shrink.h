/*
 * shrink.h - L5: the shrinker registry and the reclaim driver.
 *
 * shrinker_lock is the outermost lock of uslub: shrinkers run under it and
 * may allocate and free; nothing takes it with an allocator lock held.
 */
#ifndef USLUB_SHRINK_H
#define USLUB_SHRINK_H

#include "uslub.h"
#include "lock.h"

extern struct lock shrinker_lock;

#define SHRINK_BATCH		128	/* objects per scan_objects call */
#define SHRINK_PRIORITY		12	/* DEF_PRIORITY: scan 1/4096 first */

/* 0, or -EINVAL: already registered, or no callbacks.  name (may be
 * NULL: keep s->name) is copied. */
int shrinker_add(struct uslub_shrinker *s, const char *name);
void shrinker_remove(struct uslub_shrinker *s);
/* One shrinker at one priority, as the kernel's do_shrink_slab: returns
 * the objects freed.  Caller holds shrinker_lock. */
unsigned long shrink_one_locked(struct uslub_shrinker *s, int priority);
/* Ask shrinkers and the kmalloc caches for about bytes (0: everything);
 * returns the bytes given back to the OS. */
size_t reclaim(size_t bytes);
/* The page layer's page_reclaim_hook: an allocation of bytes passed the
 * limit or the OS refused it.  As reclaim, but it goes on until the limit
 * has room for bytes, and does nothing inside a pass of this thread. */
size_t reclaim_for_allocation(size_t bytes);

#endif /* USLUB_SHRINK_H */
