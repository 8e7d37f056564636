/*
 * lock.h - L0: the allocator's sleeping lock.
 *
 * A pthread mutex: it never allocates, ThreadSanitizer understands it, and
 * on a 2-core machine with more runnable threads than cores a spinning lock
 * would burn the holder's time slice.  Every lock of uslub is one of these,
 * so the fork protocol can take them all (see cache.c's essay for the order).
 * In debug builds, lock_held() lets _locked functions assert their contract.
 *
 * lock_depth counts the uslub locks the calling thread holds: reclaim runs
 * user shrinkers, which allocate and take locks of their own, so it may
 * only start from a thread that holds none (page_alloc.c's page_reclaim).
 * One thread-local add beside the mutex call: only slow paths lock.
 */
#ifndef USLUB_LOCK_H
#define USLUB_LOCK_H

#include <pthread.h>
#include <stdbool.h>
#include "compiler.h"

struct lock {
	pthread_mutex_t mutex;
	pthread_t owner;	/* debug aid only; valid while held */
	bool held;
};

/* Locks of uslub the calling thread holds; lock.c defines it. */
extern __thread_ie unsigned int lock_depth;

#define LOCK_INITIALIZER	{ PTHREAD_MUTEX_INITIALIZER, 0, false }

static inline void lock_init(struct lock *l)
{
	pthread_mutex_init(&l->mutex, NULL);
	l->held = false;
}

static inline void lock_acquire(struct lock *l)
{
	pthread_mutex_lock(&l->mutex);
	l->owner = pthread_self();
	l->held = true;
	lock_depth++;
}

static inline void lock_release(struct lock *l)
{
	lock_depth--;
	l->held = false;
	pthread_mutex_unlock(&l->mutex);
}

/* Only meaningful for the calling thread's own locks (assertions). */
static inline bool lock_held(const struct lock *l)
{
	return l->held && pthread_equal(l->owner, pthread_self());
}

#endif /* USLUB_LOCK_H */
