/*
 * thread.h - L5: per-thread state: the kmalloc cpu slots, the page cache,
 * the thread's index, and the registry that lets statistics and thread
 * exit find them.
 *
 * Each thread's `thread_cache` pointer starts at thread_cache_empty, a
 * static, read-only state whose cpu slots are all empty, so the very first
 * malloc of a thread fails the fast path and lands in a slow path that
 * calls thread_cache_get(); the fast path never tests for initialisation.
 */
#ifndef USLUB_THREAD_H
#define USLUB_THREAD_H

#include "types.h"
#include "page_alloc.h"

/* The heap profiler's countdown for one kmalloc class (prof.c). */
struct prof_slot {
	long left;			/* bytes to the next sample; 0: unset */
	unsigned long base;		/* the slot's ALLOC_PCS when last seen */
	unsigned long open;		/* slow paths using the slot, nested */
};

struct thread_cache {
	/* slot 0: never set up (it fails every free); 1..NR_KMALLOC-1: kmalloc;
	 * NR_KMALLOC..NR_CPU_SLOTS-1: the first user caches (cpu_slot) */
	struct kmem_cache_cpu kcpu[NR_CPU_SLOTS];
	struct page_cache pcache;	/* owner thread only */
	/* bytes of large blocks this thread allocated minus those it freed
	 * (signed: frees of other threads' blocks count down); owner writes
	 * with counter_add, readers sum under slab_mutex (kmalloc.c) */
	long large_bytes;
	unsigned int idx;		/* index in the registry; immutable */
	uint32_t flush_gen;		/* cache.c's sheaf_flush_gen when this
					   thread last flushed; owner only */
	uint32_t upkeep_calls;		/* sheaf slow paths; owner only */
	uint64_t now_ms;		/* os_now_ms() lately; owner only */
	bool live;			/* false only for the empty state */
	struct prof_slot prof[NR_KMALLOC];	/* owner only */
};

/* A thread state is a block of this order from the page layer, whose
 * slots have only their first line zeroed when it is handed out. */
#define TC_ORDER	2

extern __thread_ie struct thread_cache *thread_cache;
extern struct thread_cache thread_cache_empty;
/* Set once the thread's state was flushed at exit: later frees (glibc
 * frees dynamic TLS after the key destructors) get no new state. */
extern __thread_ie bool thread_exited;

/* The calling thread's live state, created on first use; NULL only if the
 * OS refuses the few pages it needs. */
struct thread_cache *thread_cache_get(void);
/* The same for a free: NULL, without creating a state, once the thread's
 * state was flushed at exit (a free needs no thread state). */
struct thread_cache *thread_cache_for_free(void);
/* Flush and release the calling thread's state (TLS destructor; tests). */
void thread_cache_exit(void);

/* A detached thread of uslub's running fn(arg), with every signal blocked
 * (signals go to the program's threads, never to ours), stack bytes of
 * stack (0: the default) and name: 0, or pthread_create's error. */
int thread_start_detached(void *(*fn)(void *), void *arg, size_t stack,
			  const char *name);

/* fork() child: release the states of the threads that did not survive
 * the fork (all but the caller's).  Locks must be usable again. */
void thread_reclaim_others(void);

/* Registry, under slab_mutex: the live thread caches by index. */
struct thread_cache *thread_registry_get(unsigned int idx);
unsigned int thread_registry_end(void);	/* one past the highest index */

#endif /* USLUB_THREAD_H */
