/*
 * lock.h - L0: the allocator's sleeping lock.
 *
 * A pthread mutex: it never allocates, ThreadSanitizer understands it, and
 * on a 2-core machine with more runnable threads than cores a spinning lock
 * would burn the holder's time slice.  Every lock of uslub is one of these
 * but the barns' (struct spin below), so the fork protocol can take them
 * all (see cache.c's essay for the order).  lock_held() tells whether the
 * calling thread holds a lock: _locked functions assert it, and slot
 * creation, which may run under slab_mutex, asks it.
 *
 * lock_depth counts the uslub locks the calling thread holds: reclaim runs
 * user shrinkers, which allocate and take locks of their own, so it may
 * only start from a thread that holds none (page_alloc.c's page_reclaim).
 * One thread-local add beside the mutex call: only slow paths lock.
 */
#ifndef USLUB_LOCK_H
#define USLUB_LOCK_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include "atomic.h"
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

/* owner and held are read by other threads' lock_held: relaxed atomics.
 * A thread sees its own last writes, so lock_held is exact for itself. */
static inline void lock_mark_held(struct lock *l)
{
	WRITE_ONCE(l->owner, pthread_self());
	WRITE_ONCE(l->held, true);
	lock_depth++;
}

static inline void lock_acquire(struct lock *l)
{
	pthread_mutex_lock(&l->mutex);
	lock_mark_held(l);
}

/* Acquire only if free; false (not held) otherwise. */
static inline bool lock_try(struct lock *l)
{
	if (pthread_mutex_trylock(&l->mutex) != 0)
		return false;
	lock_mark_held(l);
	return true;
}

static inline void lock_release(struct lock *l)
{
	lock_depth--;
	WRITE_ONCE(l->held, false);
	pthread_mutex_unlock(&l->mutex);
}

/* Does the calling thread hold l? */
static inline bool lock_held(const struct lock *l)
{
	return READ_ONCE(l->held) &&
	       pthread_equal(READ_ONCE(l->owner), pthread_self());
}

/*
 * A spinning lock, for the barns only.  Their critical sections are a
 * few list operations with no call inside, and the fork protocol takes
 * every barn: as mutexes, two per cache, they passed the 64 locks one
 * thread may hold under ThreadSanitizer's deadlock detector.  A waiter
 * spins briefly, then yields the cpu (on 2 cores the holder may be
 * waiting for one).  Acquire/release atomics: TSan sees the ordering.
 */
struct spin {
	int locked;
};

#define SPIN_INITIALIZER	{ 0 }
#define SPIN_YIELD_EVERY	64

static inline void spin_init(struct spin *l)
{
	WRITE_ONCE(l->locked, 0);
}

static inline void spin_acquire(struct spin *l)
{
	unsigned int n = 0;

	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE)) {
		while (READ_ONCE(l->locked)) {
			if (++n % SPIN_YIELD_EVERY == 0)
				sched_yield();
			else
				cpu_relax();
		}
	}
}

static inline void spin_release(struct spin *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

#endif /* USLUB_LOCK_H */
