/*
 * fork.c - L5: the fork protocol.
 *
 * The fast paths hold no lock and every cross-thread change is one
 * cmpxchg16b, so only the locks matter: prepare takes every lock of uslub
 * in the documented order (shrinker_lock, which shrinkers allocate under;
 * rcu.c's rcu_lock, held across liburcu's own locked sections and the RCU
 * worker's batches, and which a shrinker may take through rcu_barrier;
 * then cache.c's essay: init, slab_mutex, each cache's barn lock and
 * list_lock, huge_lock, sheaf_pool_lock, page_lock; last prof.c's
 * prof_lock, a leaf), so no other thread is inside a locked section when the address space is copied.  Parent
 * and child release them; the child then reclaims the thread states of the threads
 * that did not come along (thread_reclaim_others) and forgets the RCU
 * worker, which did not come along either (rcu_fork_child), and the
 * statistics server's sockets (statsd_fork_child).
 *
 * uslub registers at the end of its initialisation, normally the first
 * malloc, before other libraries register theirs: glibc runs prepare
 * handlers in reverse order of registration, so ours runs last (other
 * handlers may still allocate), and child handlers in order, so ours runs
 * first (other child handlers find a working heap).  vfork, posix_spawn
 * and system run no handlers; their children only exec or _exit.
 */
#include <pthread.h>

#include "cache.h"
#include "fork.h"
#include "init.h"
#include "kmalloc.h"
#include "page_alloc.h"
#include "prof.h"
#include "rcu.h"
#include "sheaf.h"
#include "shrink.h"
#include "statsd.h"
#include "thread.h"

static void fork_prepare(void)
{
	struct uslub_cache *s;

	lock_acquire(&shrinker_lock);
	rcu_fork_prepare();
	lock_acquire(&init_lock);
	lock_acquire(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		spin_acquire(&s->barn.lock);
		lock_acquire(&s->list_lock);
	}
	lock_acquire(&huge_lock);
	lock_acquire(&sheaf_pool_lock);
	lock_acquire(&page_lock);
	lock_acquire(&prof_lock);
}

static void fork_release(void)
{
	struct uslub_cache *s;

	lock_release(&prof_lock);
	lock_release(&page_lock);
	lock_release(&sheaf_pool_lock);
	lock_release(&huge_lock);
	list_for_each_entry(s, &slab_caches, list) {
		lock_release(&s->list_lock);
		spin_release(&s->barn.lock);
	}
	lock_release(&slab_mutex);
	lock_release(&init_lock);
}

static void fork_parent(void)
{
	fork_release();
	rcu_fork_parent();
	lock_release(&shrinker_lock);
}

/* The child's only thread is the one that called fork, which holds every
 * lock: it may release them. */
static void fork_child(void)
{
	fork_release();
	rcu_fork_child();
	lock_release(&shrinker_lock);
	thread_reclaim_others();
	statsd_fork_child();
}

void fork_register(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}
