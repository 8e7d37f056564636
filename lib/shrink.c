/*
 * shrink.c - L5: the shrinker registry and the reclaim driver.
 *
 * shrinker_lock protects the registry (a singly linked list of registered
 * shrinkers) and every shrinker's nr_deferred, and is held while
 * shrinkers run, so unregistering waits for a running pass and two passes
 * never run one shrinker at once.  It is the outermost lock of uslub:
 * shrinkers allocate and free under it, and nothing takes it with an
 * allocator lock held (fork.c takes it first).
 *
 * The scan amount is the kernel's do_shrink_slab (mm/shrinker.c, 6.x).
 *
 * Reclaim also runs for an allocation that would pass USLUB_OPTIONS=limit=
 * or that the OS refused (reclaim_for_allocation, the page layer's
 * page_reclaim_hook), on the allocating thread, only when it holds no lock
 * of uslub.  A thread already reclaiming (in_reclaim) does not start
 * again: the allocations of its shrinkers just fail over the limit.
 */
#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "assert.h"
#include "init.h"
#include "log.h"
#include "malloc_abi.h"
#include "page_alloc.h"
#include "shrink.h"

struct lock shrinker_lock = LOCK_INITIALIZER;
static struct uslub_shrinker *shrinkers;	/* under shrinker_lock */
static __thread_ie bool in_reclaim;		/* this thread's pass runs */

/* ---- Registry -------------------------------------------------------- */

int shrinker_add(struct uslub_shrinker *s, const char *name)
{
	if (!s || !s->count_objects || !s->scan_objects)
		return -EINVAL;
	lock_acquire(&shrinker_lock);
	if (s->registered) {
		lock_release(&shrinker_lock);
		return -EINVAL;
	}
	if (name)
		log_format(s->name, sizeof(s->name), "%s", name);
	s->nr_deferred = 0;
	s->registered = 1;
	s->next = shrinkers;
	shrinkers = s;
	lock_release(&shrinker_lock);
	return 0;
}

void shrinker_remove(struct uslub_shrinker *s)
{
	struct uslub_shrinker **pp;

	lock_acquire(&shrinker_lock);
	for (pp = &shrinkers; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	s->registered = 0;
	s->next = NULL;
	lock_release(&shrinker_lock);
}

/* ---- One shrinker ---------------------------------------------------- */

unsigned long shrink_one_locked(struct uslub_shrinker *s, int priority)
{
	struct uslub_shrink_control sc = { 0 };
	unsigned long batch = s->batch > 0 ? (unsigned long)s->batch : SHRINK_BATCH;
	unsigned long freeable, delta, total_scan, scanned = 0, freed = 0;
	long nr, next;

	USLUB_ASSERT(lock_held(&shrinker_lock));
	freeable = s->count_objects(s, &sc);
	if (freeable == 0 || freeable == USLUB_SHRINK_EMPTY)
		return 0;
	nr = s->nr_deferred;			/* work left by earlier passes */
	s->nr_deferred = 0;
	if (s->seeks) {
		delta = (freeable >> priority) * 4;
		delta /= (unsigned long)s->seeks;
	} else {
		delta = freeable / 2;		/* cheap to recreate */
	}
	total_scan = ((unsigned long)nr >> priority) + delta;
	total_scan = MIN(total_scan, 2 * freeable);

	/* Small amounts wait in nr_deferred until a batch is worth it, unless
	 * the batch would cover everything there is. */
	while (total_scan >= batch || total_scan >= freeable) {
		unsigned long ret;

		sc.nr_to_scan = MIN(batch, total_scan);
		sc.nr_scanned = sc.nr_to_scan;
		ret = s->scan_objects(s, &sc);
		if (ret == USLUB_SHRINK_STOP)
			break;
		freed += ret;
		scanned += sc.nr_scanned;
		total_scan -= MIN(sc.nr_scanned, total_scan);
		if (sc.nr_scanned == 0)
			break;			/* no progress: do not spin */
	}
	next = nr + (long)delta - (long)scanned;
	next = next > 0 ? next : 0;
	s->nr_deferred = MIN(next, (long)(2 * freeable));
	return freed;
}

/* ---- Reclaim --------------------------------------------------------- */

static size_t purged_bytes_now(void)
{
	struct page_stats st;

	page_get_stats(&st, -1);
	return st.purged_bytes;
}

/*
 * Priority by priority, from scanning 1/4096 of each shrinker's objects
 * to all of them: run the shrinkers, give the calling thread's kmalloc
 * slabs and every free page back, stop once bytes were released and, for
 * an allocation under the limit, the limit has room for them.
 */
static size_t reclaim_pass(size_t bytes, bool for_limit)
{
	size_t start, released = 0;
	int prio;

	init_ensure();
	in_reclaim = true;
	start = purged_bytes_now();
	for (prio = bytes ? SHRINK_PRIORITY : 0; prio >= 0; prio--) {
		struct uslub_shrinker *s;

		lock_acquire(&shrinker_lock);
		for (s = shrinkers; s; s = s->next)
			shrink_one_locked(s, prio);
		lock_release(&shrinker_lock);
		malloc_trim_all();
		released = purged_bytes_now() - start;
		if (bytes && released >= bytes &&
		    (!for_limit || page_limit_room() >= bytes))
			break;
	}
	in_reclaim = false;
	return released;
}

size_t reclaim(size_t bytes)
{
	return reclaim_pass(bytes, false);
}

size_t reclaim_for_allocation(size_t bytes)
{
	if (in_reclaim)
		return 0;
	return reclaim_pass(bytes, true);
}
