/*
 * rcu.c - L5: RCU grace periods from liburcu (the memb flavour, which is
 * what <urcu.h> selects by default, so a program using liburcu itself
 * shares our grace periods), and what waits for them: objects given to
 * uslub_free_rcu (kfree_rcu), and the slabs of SLAB_TYPESAFE_BY_RCU
 * caches once discarded (rcu_defer_slab, slab.c's slab_rcu_defer_hook).
 *
 * Entry points: the uslub_rcu_* API and uslub_free_rcu; rcu_defer_slab;
 * rcu_barrier (cache_destroy); rcu_worker_ensure (cache_create); the fork
 * hooks.  The only file that includes <urcu*.h>.  Uses kfree and the page
 * layer below it.
 *
 * Deferred items wait on two lock-free LIFOs, pending_objs (linked through
 * the uslub_rcu_head inside each object) and pending_slabs (linked through
 * slab->next, unused once a slab is discarded).  Pushing is one CAS and,
 * when a list was empty, a sem_post: no lock, no allocation, no call into
 * liburcu, so slab_discard may push under slab_mutex or list_lock.
 *
 * A worker thread of ours (liburcu's call_rcu would allocate and start
 * threads of its own at moments we do not choose) sleeps on the
 * semaphore, takes both lists whole, waits for a grace period, then frees
 * the objects (kfree) and gives the slabs' pages back (page_free), and
 * counts them done.  It starts on the first uslub_free_rcu, on the
 * creation of a TYPESAFE cache, or in rcu_barrier: never under an
 * allocator lock, never during init.
 *
 * rcu_lock nests inside shrinker_lock only (a shrinker may call
 * rcu_barrier) and outside every allocator lock; fork takes it in that
 * order.  It is held around every call into liburcu that takes liburcu's
 * own mutexes (synchronize, thread registration) and across the worker's
 * whole batch, grace period and frees included, so fork never copies
 * liburcu's locks held nor a batch half freed.  Allocator locks nest
 * inside it (the frees); nothing takes it under an allocator lock.
 * Consequence, as in the kernel: a thread must not fork, synchronize,
 * wait in rcu_barrier or destroy a cache with RCU work pending while it is
 * inside a read-side critical section.
 */
#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "rcu.h"
#include "alloc.h"
#include "kmalloc.h"
#include "log.h"
#include "thread.h"
#include "assert.h"

/*
 * ThreadSanitizer does not see the ordering liburcu gives (membarrier and
 * an uninstrumented library): it would report every free after a grace
 * period as racing with the readers it waited for.  A read-side unlock
 * releases rcu_tsan_gp and the end of a grace period acquires it, which
 * orders every reader that left before the grace period ended ahead of
 * the frees that follow, as liburcu does for real.
 */
#if USLUB_CONFIG_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
static char rcu_tsan_gp;
#define tsan_gp_acquire()	__tsan_acquire(&rcu_tsan_gp)
#define tsan_gp_release()	__tsan_release(&rcu_tsan_gp)
#else
#define tsan_gp_acquire()	do { } while (0)
#define tsan_gp_release()	do { } while (0)
#endif

enum worker_state { WORKER_NONE, WORKER_STARTING, WORKER_RUNNING };

static struct lock rcu_lock = LOCK_INITIALIZER;
/* broadcast under rcu_lock when rcu_done grows */
static pthread_cond_t rcu_done_cond = PTHREAD_COND_INITIALIZER;
static sem_t rcu_wake;				/* posted on empty -> not */
static struct uslub_rcu_head *pending_objs;	/* CAS push, xchg take */
static struct slab *pending_slabs;		/* CAS push, xchg take */
/* items pushed, ever (atomic); items freed, ever (under rcu_lock, read
 * atomically by rcu_barrier's fast path) */
static unsigned long rcu_queued, rcu_done;
static int worker_state;			/* enum worker_state, CAS */

/* Before any push: no TYPESAFE cache or uslub_free_rcu exists before the
 * library's constructors ran. */
__attribute__((constructor)) static void rcu_constructor(void)
{
	sem_init(&rcu_wake, 0, 0);
}

/* ---- Pushing (any context) ------------------------------------------- */

static void wake_worker(bool was_empty)
{
	if (was_empty)
		sem_post(&rcu_wake);
}

static bool push_obj(struct uslub_rcu_head *h)
{
	struct uslub_rcu_head *old = READ_ONCE(pending_objs);

	__atomic_fetch_add(&rcu_queued, 1, __ATOMIC_SEQ_CST);
	do {
		h->next = old;
	} while (!__atomic_compare_exchange_n(&pending_objs, &old, h, true,
					      __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
	return old == NULL;
}

void rcu_defer_slab(struct slab *slab)
{
	struct slab *old = READ_ONCE(pending_slabs);

	/* No longer a slab: a stray free into it is reported, not followed,
	 * and nothing counts it as live; readers may still read it. */
	block_set_flags(slab, PG_rcu);
	__atomic_fetch_add(&rcu_queued, 1, __ATOMIC_SEQ_CST);
	do {
		slab->next = old;
	} while (!__atomic_compare_exchange_n(&pending_slabs, &old, slab, true,
					      __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
	wake_worker(old == NULL);
}

/* ---- The worker ------------------------------------------------------ */

static unsigned long free_objs(struct uslub_rcu_head *h)
{
	struct uslub_rcu_head *next;
	unsigned long n = 0;

	for (; h; h = next, n++) {
		next = h->next;			/* h lies inside the object */
		kfree_fast_as(h->obj, "uslub_free_rcu", kfree_checked);
	}
	return n;
}

static unsigned long free_slabs(struct slab *slab)
{
	struct slab *next;
	unsigned long n = 0;

	for (; slab; slab = next, n++) {
		next = slab->next;
		USLUB_BUG_ON(block_flags(slab) != PG_rcu);
		page_free(NULL, slab, slab->order);
	}
	return n;
}

/* One batch: everything pushed so far, after one grace period.  Called
 * by the worker, or by rcu_barrier when no worker could be started. */
static void process_batch_locked(void)
{
	struct uslub_rcu_head *objs;
	struct slab *slabs;
	unsigned long n;

	USLUB_ASSERT(lock_held(&rcu_lock));
	objs = __atomic_exchange_n(&pending_objs, NULL, __ATOMIC_ACQUIRE);
	slabs = __atomic_exchange_n(&pending_slabs, NULL, __ATOMIC_ACQUIRE);
	if (!objs && !slabs)
		return;
	urcu_memb_synchronize_rcu();
	tsan_gp_acquire();
	n = free_objs(objs) + free_slabs(slabs);
	__atomic_store_n(&rcu_done, rcu_done + n, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&rcu_done_cond);
}

static void *rcu_worker(void *arg)
{
	(void)arg;
	for (;;) {
		while (sem_wait(&rcu_wake) != 0)
			;			/* EINTR */
		lock_acquire(&rcu_lock);
		process_batch_locked();
		lock_release(&rcu_lock);
	}
	return NULL;
}

static bool worker_create(void)
{
	int err = thread_start_detached(rcu_worker, NULL, 0, "uslub-rcu");

	if (err) {
		log_error("rcu: cannot start the worker thread (%s); deferred "
			  "frees wait for rcu_barrier", strerror(err));
		return false;
	}
	return true;
}

static __cold void worker_start(void)
{
	int none = WORKER_NONE;

	if (!__atomic_compare_exchange_n(&worker_state, &none, WORKER_STARTING,
					 false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;				/* another thread starts it */
	__atomic_store_n(&worker_state,
			 worker_create() ? WORKER_RUNNING : WORKER_NONE,
			 __ATOMIC_RELEASE);
}

void rcu_worker_ensure(void)
{
	if (unlikely(__atomic_load_n(&worker_state, __ATOMIC_ACQUIRE) !=
		     WORKER_RUNNING))
		worker_start();
}

/* ---- Waiting --------------------------------------------------------- */

static void wait_done_locked(void)
{
	rcu_lock.held = false;
	pthread_cond_wait(&rcu_done_cond, &rcu_lock.mutex);
	rcu_lock.owner = pthread_self();
	rcu_lock.held = true;
}

/*
 * Items are counted before they are pushed and a batch takes a whole
 * list, so rcu_done reaches the count read here only after every item
 * this thread pushed before the call is freed.  Nothing pending: no
 * grace period, no lock (cache_destroy calls it every time).
 */
void rcu_barrier(void)
{
	unsigned long target = __atomic_load_n(&rcu_queued, __ATOMIC_SEQ_CST);

	if (__atomic_load_n(&rcu_done, __ATOMIC_ACQUIRE) >= target)
		return;
	rcu_worker_ensure();
	lock_acquire(&rcu_lock);
	while (rcu_done < target) {
		if (__atomic_load_n(&worker_state, __ATOMIC_ACQUIRE) ==
		    WORKER_RUNNING)
			wait_done_locked();
		else
			process_batch_locked();	/* no worker: do it here */
	}
	lock_release(&rcu_lock);
}

/* ---- Fork ------------------------------------------------------------ */

void rcu_fork_prepare(void)
{
	lock_acquire(&rcu_lock);
}

void rcu_fork_parent(void)
{
	lock_release(&rcu_lock);
}

/*
 * The worker did not come along, nor did other threads that were between
 * counting an item and pushing it: recount what is really pending, and let
 * the next uslub_free_rcu, rcu_barrier or TYPESAFE cache creation start a
 * new worker.  The semaphore and condvar may have been in use by threads
 * that are gone: made anew.
 */
void rcu_fork_child(void)
{
	struct uslub_rcu_head *h;
	struct slab *slab;
	unsigned long n = 0;

	for (h = pending_objs; h; h = h->next)
		n++;
	for (slab = pending_slabs; slab; slab = slab->next)
		n++;
	rcu_queued = rcu_done + n;
	sem_init(&rcu_wake, 0, n ? 1 : 0);
	pthread_cond_init(&rcu_done_cond, NULL);
	worker_state = WORKER_NONE;
	lock_release(&rcu_lock);
}

/* ---- API ------------------------------------------------------------- */

USLUB_API void uslub_rcu_read_lock(void)
{
	urcu_memb_read_lock();
}

USLUB_API void uslub_rcu_read_unlock(void)
{
	tsan_gp_release();
	urcu_memb_read_unlock();
}

USLUB_API void uslub_rcu_register_thread(void)
{
	lock_acquire(&rcu_lock);
	urcu_memb_register_thread();
	lock_release(&rcu_lock);
}

USLUB_API void uslub_rcu_unregister_thread(void)
{
	lock_acquire(&rcu_lock);
	urcu_memb_unregister_thread();
	lock_release(&rcu_lock);
}

USLUB_API void uslub_synchronize_rcu(void)
{
	lock_acquire(&rcu_lock);
	urcu_memb_synchronize_rcu();
	tsan_gp_acquire();
	lock_release(&rcu_lock);
}

USLUB_API void uslub_rcu_barrier(void)
{
	rcu_barrier();
}

/* The object is checked now, so a bad pointer is reported where it was
 * passed, not a grace period later on the worker. */
USLUB_API void uslub_free_rcu(void *obj, struct uslub_rcu_head *head)
{
	size_t size;

	if (obj == NULL || obj == ZERO_SIZE_PTR)
		return;
	size = kmalloc_ksize_checked("uslub_free_rcu", obj);
	if (!size)
		return;				/* reported */
	if ((uintptr_t)head < (uintptr_t)obj ||
	    (uintptr_t)(head + 1) > (uintptr_t)obj + size) {
		kmalloc_report_invalid("uslub_free_rcu", head,
				       "its rcu_head is outside the object");
		return;
	}
	head->obj = obj;
	wake_worker(push_obj(head));
	rcu_worker_ensure();
}
