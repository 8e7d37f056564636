/*
 * Unit tests for SLUB's slab state machine (lib/slab.c, lib/cache.c's
 * essay), driven through a user cache and observed on the slab
 * descriptors ({freelist, counters}, s->partial) and the event counters.
 *
 *   new slab        -> the thread's frozen cpu slab, inuse == objects
 *   remote free     -> slab->freelist, still frozen       (FREE_FROZEN)
 *   owner refill    -> takes the remote frees at once     (ALLOC_REFILL)
 *   deactivate full -> unfrozen, on no list               (DEACTIVATE_FULL)
 *   first free      -> onto s->partial                    (FREE_ADD_PARTIAL)
 *   empty           -> kept while nr_partial < min_partial, else freed
 *                                                         (FREE_SLAB)
 */
#include "test.h"

#include "alloc.h"
#include "cache.h"
#include "pagemap.h"
#include "slab.h"
#include "thread.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>

#define OBJ_SIZE	256	/* min_partial 5, 16 objects at order 0 or 1 */

/* ---- Helpers --------------------------------------------------------- */

struct snap {
	unsigned long v[NR_SLUB_STAT_ITEMS];
};

static struct snap stats_of(struct uslub_cache *s)
{
	struct snap sn;

	lock_acquire(&slab_mutex);
	cache_stat_sum_locked(s, sn.v);
	lock_release(&slab_mutex);
	return sn;
}

static unsigned long stat_of(struct uslub_cache *s, enum stat_item si)
{
	return stats_of(s).v[si];
}

static union slab_counters counters_of(const struct slab *slab)
{
	union slab_counters c;

	c.counters = READ_ONCE(slab->counters);
	return c;
}

/* Whether slab is on s->partial, found by walking the list. */
static bool on_partial_list(struct uslub_cache *s, const struct slab *slab)
{
	struct list_head *pos;
	bool found = false;

	lock_acquire(&s->list_lock);
	for (pos = s->partial.next; pos != &s->partial; pos = pos->next)
		if (pos == &slab->slab_list)
			found = true;
	lock_release(&s->list_lock);
	return found;
}

static unsigned long nr_partial(struct uslub_cache *s)
{
	unsigned long n;

	lock_acquire(&s->list_lock);
	n = s->nr_partial;
	lock_release(&s->list_lock);
	return n;
}

static unsigned long nr_slabs(struct uslub_cache *s)
{
	return READ_ONCE(s->nr_slabs);
}

static struct uslub_cache *new_cache(const char *name)
{
	return uslub_cache_create(name, OBJ_SIZE, 0, 0, NULL);
}

static void run_thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, arg) == 0)
		pthread_join(t, NULL);
}

struct objs {
	struct uslub_cache *s;
	void **p;
	unsigned int n;
};

static void *free_objs_thread(void *arg)
{
	struct objs *o = arg;
	unsigned int i;

	for (i = 0; i < o->n; i++)
		uslub_cache_free(o->s, o->p[i]);
	return NULL;
}

/* Allocates o->n objects, then gives the thread state back explicitly. */
static void *alloc_and_exit_thread(void *arg)
{
	struct objs *o = arg;
	unsigned int i;

	for (i = 0; i < o->n; i++)
		o->p[i] = uslub_cache_alloc(o->s, 0);
	thread_cache_exit();
	return NULL;
}

/* Allocates o->n objects and just returns: the TLS destructor flushes. */
static void *alloc_thread(void *arg)
{
	struct objs *o = arg;
	unsigned int i;

	for (i = 0; i < o->n; i++)
		o->p[i] = uslub_cache_alloc(o->s, 0);
	return NULL;
}

static void destroy_empty(struct uslub_cache *s)
{
	expect_d_eq(uslub_cache_shrink(s), 0, "shrink of an empty cache");
	expect_u_eq(nr_slabs(s), 0, "no slab left");
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}

/* ---- Tests ----------------------------------------------------------- */

TEST_BEGIN(test_new_slab_is_frozen_cpu_slab)
{
	struct uslub_cache *s = new_cache("state_frozen");
	void **objs;
	struct slab *slab;
	union slab_counters cnt;
	struct snap st;
	unsigned int i, n;

	assert_ptr_not_null(s, "cache");
	n = s->objects;
	objs = calloc(n, sizeof(*objs));
	objs[0] = uslub_cache_alloc(s, 0);
	assert_ptr_not_null(objs[0], "first object");
	slab = pagemap_head(objs[0]);
	assert_ptr_not_null(slab, "slab of the first object");
	expect_true(block_flags(slab) & PG_slab, "head is a slab");
	expect_ptr_eq(slab->cache, s, "slab belongs to the cache");
	expect_ptr_eq(objs[0], page_address(slab),
		      "first object at the slab start");
	cnt = counters_of(slab);
	expect_u_eq(cnt.frozen, 1, "a new slab is frozen");
	expect_u_eq(cnt.objects, n, "objects");
	expect_u_eq(cnt.inuse, n, "frozen: every object counted in use (cpu)");
	expect_ptr_null(READ_ONCE(slab->freelist),
			"objects are on the cpu freelist");
	expect_ptr_eq(cache_cpu(s, thread_cache)->slab, slab,
		      "the thread's cpu slab");
	expect_false(on_partial_list(s, slab), "a frozen slab is on no list");
	expect_u_eq(nr_slabs(s), 1, "one slab");
	st = stats_of(s);
	expect_u_eq(st.v[ALLOC_SLAB], 1, "ALLOC_SLAB");
	expect_u_eq(st.v[ALLOC_SLOWPATH], 1, "first alloc is a slow one");
	expect_u_eq(st.v[ALLOC_FASTPATH], 0, "no fast alloc yet");

	for (i = 1; i < n; i++) {
		objs[i] = uslub_cache_alloc(s, 0);
		expect_ptr_eq(pagemap_head(objs[i]), slab,
			      "object %u from the same slab", i);
	}
	st = stats_of(s);
	expect_u_eq(st.v[ALLOC_FASTPATH], n - 1,
		    "the rest came from the cpu freelist");
	expect_u_eq(st.v[ALLOC_SLAB], 1, "still one slab");
	cnt = counters_of(slab);
	expect_u_eq(cnt.inuse, n, "inuse unchanged by cpu allocations");
	expect_u_eq(cnt.frozen, 1, "still frozen");

	for (i = 0; i < n; i++)
		uslub_cache_free(s, objs[i]);
	st = stats_of(s);
	expect_u_eq(st.v[FREE_FASTPATH], n,
		    "owner frees go to the cpu freelist");
	expect_u_eq(st.v[FREE_SLOWPATH], 0, "no slow free");
	cnt = counters_of(slab);
	expect_u_eq(cnt.inuse, n, "local frees do not touch the counters");
	expect_ptr_null(READ_ONCE(slab->freelist), "nor slab->freelist");
	free(objs);
	destroy_empty(s);
}
TEST_END

TEST_BEGIN(test_remote_free_then_refill)
{
	struct uslub_cache *s = new_cache("state_remote");
	struct objs remote;
	struct slab *slab;
	union slab_counters cnt;
	unsigned int i, n, k;
	void **objs, **freed, *refill;
	bool was_freed = false;

	assert_ptr_not_null(s, "cache");
	n = s->objects;
	k = n / 2;
	objs = calloc(n, sizeof(*objs));
	freed = calloc(k, sizeof(*freed));
	for (i = 0; i < k; i++)
		freed[i] = objs[i] = uslub_cache_alloc(s, 0);
	slab = pagemap_head(objs[0]);
	assert_ptr_not_null(slab, "slab");
	for (i = 0; i < k; i++)
		assert_ptr_eq(pagemap_head(objs[i]), slab,
			      "object %u in the cpu slab", i);

	remote = (struct objs){ .s = s, .p = objs, .n = k };
	run_thread(free_objs_thread, &remote);
	cnt = counters_of(slab);
	expect_u_eq(cnt.frozen, 1, "remote frees leave the slab frozen");
	expect_u_eq(cnt.inuse, n - k, "inuse dropped by the remote frees");
	expect_u_eq(slab_count_free(s, slab), k,
		    "remote frees are on slab->freelist");
	expect_false(on_partial_list(s, slab), "still on no list");
	expect_ptr_eq(cache_cpu(s, thread_cache)->slab, slab,
		      "still our cpu slab");
	expect_u_eq(stat_of(s, FREE_FROZEN), k, "FREE_FROZEN per remote free");
	expect_u_eq(stat_of(s, FREE_SLOWPATH), k,
		    "FREE_SLOWPATH per remote free");

	/* Drain the local freelist: no refill needed yet. */
	for (i = 0; i < n - k; i++) {
		void *p = uslub_cache_alloc(s, 0);

		expect_ptr_eq(pagemap_head(p), slab, "local object %u", i);
		objs[i] = p;		/* the first k were freed remotely */
	}
	expect_u_eq(stat_of(s, ALLOC_REFILL), 0,
		    "no refill while local objects last");
	expect_u_eq(slab_count_free(s, slab), k, "remote list untouched");

	refill = uslub_cache_alloc(s, 0);
	expect_ptr_eq(pagemap_head(refill), slab,
		      "refill comes from the same slab");
	expect_u_eq(stat_of(s, ALLOC_REFILL), 1, "one ALLOC_REFILL");
	expect_u_eq(stat_of(s, ALLOC_SLAB), 1, "no new slab");
	expect_ptr_null(READ_ONCE(slab->freelist),
			"the owner took the whole list");
	cnt = counters_of(slab);
	expect_u_eq(cnt.inuse, n,
		    "refilled: every object in use by the cpu again");
	expect_u_eq(cnt.frozen, 1, "still frozen");
	for (i = 0; i < k; i++)
		was_freed |= refill == freed[i];
	expect_true(was_freed, "refill object is one the other thread freed");

	/* Live now: the n - k local objects and refill. */
	uslub_cache_free(s, refill);
	for (i = 0; i < n - k; i++)
		uslub_cache_free(s, objs[i]);
	free(objs);
	free(freed);
	destroy_empty(s);
}
TEST_END

/* A helper thread fills exactly one slab; returns it, full and flushed. */
static struct slab *full_slab_from_exited_thread(struct uslub_cache *s,
						 void **objs)
{
	struct objs o = { .s = s, .p = objs, .n = s->objects };

	run_thread(alloc_and_exit_thread, &o);
	return objs[0] ? pagemap_head(objs[0]) : NULL;
}

TEST_BEGIN(test_full_slab_deactivated_on_thread_exit)
{
	struct uslub_cache *s = new_cache("state_full");
	struct slab *slab;
	union slab_counters cnt;
	unsigned int i, n;
	void **objs, *again;
	struct snap st;

	assert_ptr_not_null(s, "cache");
	n = s->objects;
	objs = calloc(n, sizeof(*objs));
	slab = full_slab_from_exited_thread(s, objs);
	assert_ptr_not_null(slab, "the helper's slab");
	for (i = 0; i < n; i++)
		assert_ptr_eq(pagemap_head(objs[i]), slab, "object %u", i);
	cnt = counters_of(slab);
	expect_u_eq(cnt.frozen, 0, "thread exit unfroze the slab");
	expect_u_eq(cnt.inuse, n, "every object in use");
	expect_ptr_null(READ_ONCE(slab->freelist), "no free object");
	expect_false(on_partial_list(s, slab), "a full slab is on no list");
	expect_u_eq(nr_partial(s), 0, "s->partial empty");
	expect_u_eq(nr_slabs(s), 1, "the slab still exists");
	st = stats_of(s);
	expect_u_eq(st.v[CPUSLAB_FLUSH], 1, "exit flushed the cpu slab");
	expect_u_eq(st.v[DEACTIVATE_FULL], 1, "DEACTIVATE_FULL");

	/* The first free into the full unfrozen slab: onto s->partial. */
	uslub_cache_free(s, objs[0]);
	cnt = counters_of(slab);
	expect_true(on_partial_list(s, slab),
		    "first free puts it on s->partial");
	expect_u_eq(nr_partial(s), 1, "nr_partial");
	expect_u_eq(stat_of(s, FREE_ADD_PARTIAL), 1, "FREE_ADD_PARTIAL");
	expect_u_eq(cnt.inuse, n - 1, "inuse");
	expect_u_eq(cnt.frozen, 0, "a partial slab is not frozen");
	expect_ptr_eq(READ_ONCE(slab->freelist), objs[0],
		      "the object heads slab->freelist");
	uslub_cache_free(s, objs[1]);
	expect_u_eq(stat_of(s, FREE_ADD_PARTIAL), 1,
		    "second free: already partial");
	expect_u_eq(nr_partial(s), 1, "still one partial slab");
	expect_u_eq(counters_of(slab).inuse, n - 2, "inuse");

	/* Allocating takes the slab back off s->partial and freezes it. */
	again = uslub_cache_alloc(s, 0);
	expect_ptr_eq(pagemap_head(again), slab,
		      "allocation reuses the partial slab");
	expect_u_eq(stat_of(s, ALLOC_FROM_PARTIAL), 1, "ALLOC_FROM_PARTIAL");
	expect_false(on_partial_list(s, slab), "frozen again: off the list");
	expect_u_eq(counters_of(slab).frozen, 1, "frozen again");
	expect_true(again == objs[0] || again == objs[1],
		    "a freed object comes back");
	uslub_cache_free(s, again);
	for (i = 2; i < n; i++)
		uslub_cache_free(s, objs[i]);
	free(objs);
	destroy_empty(s);
}
TEST_END

TEST_BEGIN(test_full_slab_deactivated_by_shrink)
{
	struct uslub_cache *s = new_cache("state_shrink_full");
	struct slab *slab;
	unsigned int i, n;
	void **objs;

	assert_ptr_not_null(s, "cache");
	n = s->objects;
	objs = calloc(n, sizeof(*objs));
	for (i = 0; i < n; i++)
		objs[i] = uslub_cache_alloc(s, 0);
	slab = pagemap_head(objs[0]);
	assert_ptr_not_null(slab, "slab");
	expect_u_eq(counters_of(slab).frozen, 1, "frozen while the cpu slab");
	expect_d_eq(uslub_cache_shrink(s), 1,
		    "a full slab stays: shrink returns 1");
	expect_u_eq(counters_of(slab).frozen, 0, "shrink unfroze it");
	expect_u_eq(counters_of(slab).inuse, n, "still full");
	expect_false(on_partial_list(s, slab), "full: on no list");
	expect_ptr_null(cache_cpu(s, thread_cache)->slab,
			"no cpu slab after shrink");
	expect_u_eq(stat_of(s, DEACTIVATE_FULL), 1, "DEACTIVATE_FULL");
	for (i = 0; i < n; i++)
		uslub_cache_free(s, objs[i]);
	free(objs);
	destroy_empty(s);
}
TEST_END

TEST_BEGIN(test_empty_slabs_beyond_min_partial_freed)
{
	struct uslub_cache *s = new_cache("state_min_partial");
	unsigned int n, nslabs, i, j, min_partial, kept;
	struct slab **slabs;
	struct objs o;
	struct snap st;

	assert_ptr_not_null(s, "cache");
	n = s->objects;
	min_partial = s->min_partial;
	expect_u_eq(min_partial, 5, "clamp(ilog2(256) / 2, 5, 10)");
	nslabs = min_partial + 3;
	o = (struct objs){.s = s,
			  .p = calloc((size_t)n * nslabs, sizeof(void *)),
			  .n = n * nslabs};
	slabs = calloc(nslabs, sizeof(*slabs));
	run_thread(alloc_thread, &o);
	expect_u_eq(nr_slabs(s), nslabs, "%u full slabs", nslabs);
	st = stats_of(s);
	expect_u_eq(st.v[ALLOC_SLAB], nslabs, "ALLOC_SLAB");
	expect_u_eq(st.v[DEACTIVATE_BYPASS], nslabs - 1,
		    "each full cpu slab let go");
	expect_u_eq(st.v[DEACTIVATE_FULL], 1, "the last one flushed at exit");
	for (j = 0; j < nslabs; j++) {
		slabs[j] = pagemap_head(o.p[j * n]);
		assert_ptr_not_null(slabs[j], "slab %u", j);
		for (i = 0; i < n; i++)
			assert_ptr_eq(pagemap_head(o.p[j * n + i]), slabs[j],
				      "objects of slab %u are consecutive", j);
		expect_u_eq(counters_of(slabs[j]).frozen, 0, "slab %u unfrozen",
			    j);
		expect_false(on_partial_list(s, slabs[j]),
			     "full slab %u on no list", j);
	}

	/*
	 * Empty the slabs one after the other.  As in the kernel's
	 * __slab_free, an emptied slab is freed when nr_partial -- which
	 * counts the slab itself, already on the list -- is >= min_partial,
	 * so this path keeps min_partial - 1 empty slabs.
	 */
	kept = min_partial - 1;
	for (j = 0; j < nslabs; j++) {
		char *base = page_address(slabs[j]);

		for (i = 0; i < n; i++)
			uslub_cache_free(s, o.p[j * n + i]);
		if (j < kept) {
			expect_u_eq(nr_slabs(s), nslabs, "empty slab %u kept",
				    j);
			expect_true(on_partial_list(s, slabs[j]),
				    "kept empty slab %u stays on s->partial",
				    j);
			expect_u_eq(counters_of(slabs[j]).inuse, 0,
				    "slab %u empty", j);
		} else {
			expect_u_eq(nr_slabs(s), nslabs - (j - kept + 1),
				    "empty slab %u given back", j);
			expect_ptr_null(pagemap_head(base),
					"slab %u's pages left the cache", j);
		}
		expect_u_eq(nr_partial(s), j < kept ? j + 1 : kept,
			    "nr_partial after emptying slab %u", j);
	}
	st = stats_of(s);
	expect_u_eq(st.v[FREE_ADD_PARTIAL], nslabs,
		    "every slab became partial once");
	expect_u_eq(st.v[FREE_SLAB], nslabs - kept, "FREE_SLAB");
	expect_u_eq(st.v[FREE_REMOVE_PARTIAL], nslabs - kept,
		    "FREE_REMOVE_PARTIAL");
	expect_u_eq(nr_slabs(s), kept, "%u empty slabs kept", kept);
	free(o.p);
	free(slabs);
	destroy_empty(s);
}
TEST_END

/* Threads that each hold one object of its own slab, then free it and
 * exit one by one, so each exit deactivates an empty slab. */
struct holder {
	struct uslub_cache *s;
	sem_t allocated, go;
	void *obj;
};

static void *holder_thread(void *arg)
{
	struct holder *h = arg;

	h->obj = uslub_cache_alloc(h->s, 0);
	sem_post(&h->allocated);
	sem_wait(&h->go);
	uslub_cache_free(h->s, h->obj);
	return NULL;
}

#define NHOLDERS	7

TEST_BEGIN(test_deactivate_keeps_min_partial_empty)
{
	struct uslub_cache *s = new_cache("state_deactivate_empty");
	struct holder h[NHOLDERS];
	pthread_t t[NHOLDERS];
	unsigned int i, min_partial;

	assert_ptr_not_null(s, "cache");
	min_partial = s->min_partial;
	assert_u_lt(min_partial, NHOLDERS, "enough threads");
	for (i = 0; i < NHOLDERS; i++) {
		h[i].s = s;
		sem_init(&h[i].allocated, 0, 0);
		sem_init(&h[i].go, 0, 0);
		assert_d_eq(pthread_create(&t[i], NULL, holder_thread, &h[i]),
			    0, "thread %u", i);
		sem_wait(&h[i].allocated);
	}
	expect_u_eq(nr_slabs(s), NHOLDERS, "one cpu slab per thread");
	for (i = 0; i < NHOLDERS; i++) {
		sem_post(&h[i].go);
		pthread_join(t[i], NULL);
		/* deactivate_slab: empty and nr_partial (without this slab)
		 * >= min_partial -> freed; else added to s->partial. */
		expect_u_eq(nr_partial(s),
			    i < min_partial ? i + 1 : min_partial,
			    "after thread %u exited", i);
		expect_u_eq(nr_slabs(s),
			    i < min_partial ? NHOLDERS
					    : NHOLDERS - (i - min_partial + 1),
			    "slabs after thread %u", i);
	}
	expect_u_eq(stat_of(s, DEACTIVATE_EMPTY), NHOLDERS - min_partial,
		    "DEACTIVATE_EMPTY beyond min_partial");
	expect_u_eq(stat_of(s, FREE_SLAB), NHOLDERS - min_partial, "FREE_SLAB");
	expect_u_eq(stat_of(s, DEACTIVATE_TO_HEAD), min_partial,
		    "empty slabs kept go to the head");
	for (i = 0; i < NHOLDERS; i++) {
		sem_destroy(&h[i].allocated);
		sem_destroy(&h[i].go);
	}
	destroy_empty(s);
}
TEST_END

TEST_BEGIN(test_remote_free_empties_partial_slab)
{
	struct uslub_cache *s = new_cache("state_remote_empty");
	struct slab *slab;
	struct objs o;
	unsigned int n;

	assert_ptr_not_null(s, "cache");
	n = s->objects;
	o = (struct objs){ .s = s, .p = calloc(n, sizeof(void *)), .n = n };
	run_thread(alloc_and_exit_thread, &o);
	slab = pagemap_head(o.p[0]);
	assert_ptr_not_null(slab, "slab");
	/* Another thread frees everything: full -> partial -> empty, kept
	 * because nr_partial (1) < min_partial. */
	run_thread(free_objs_thread, &o);
	expect_u_eq(counters_of(slab).inuse, 0, "empty");
	expect_u_eq(counters_of(slab).frozen, 0, "not frozen");
	expect_true(on_partial_list(s, slab), "kept on s->partial");
	expect_u_eq(slab_count_free(s, slab), n,
		    "every object on slab->freelist");
	expect_u_eq(stat_of(s, FREE_ADD_PARTIAL), 1, "one FREE_ADD_PARTIAL");
	expect_u_eq(stat_of(s, FREE_SLAB), 0, "kept, not freed");
	expect_u_eq(stat_of(s, FREE_FROZEN), 0, "no frozen free involved");
	free(o.p);
	destroy_empty(s);
}
TEST_END

/*
 * get_partial: the first slab of s->partial becomes the cpu slab
 * (ALLOC_FROM_PARTIAL) and more go to the thread's cpu partial chain
 * until more than cpu_partial_slabs / 2 were moved (CPU_PARTIAL_NODE);
 * the chain feeds the next refill (CPU_PARTIAL_ALLOC) and a flush puts the
 * rest back on s->partial (CPU_PARTIAL_DRAIN).
 */
#define NPARTIAL	8

TEST_BEGIN(test_cpu_partial_chain)
{
	struct uslub_cache *s = new_cache("state_cpu_partial");
	unsigned int n, i, j, moved;
	struct kmem_cache_cpu *c;
	struct slab *slabs[NPARTIAL];
	struct objs o;
	void *a, *b;
	struct snap st;

	assert_ptr_not_null(s, "cache");
	n = s->objects;
	moved = MIN(NPARTIAL - 1, s->cpu_partial_slabs / 2 + 1);
	o = (struct objs){.s = s,
			  .p = calloc((size_t)n * NPARTIAL, sizeof(void *)),
			  .n = n * NPARTIAL};
	run_thread(alloc_thread, &o);
	for (j = 0; j < NPARTIAL; j++) {
		slabs[j] = pagemap_head(o.p[j * n]);
		uslub_cache_free(s, o.p[j * n]);	/* full -> partial */
	}
	expect_u_eq(nr_partial(s), NPARTIAL, "%u partial slabs", NPARTIAL);

	a = uslub_cache_alloc(s, 0);
	c = cache_cpu(s, thread_cache);
	st = stats_of(s);
	expect_u_eq(st.v[ALLOC_FROM_PARTIAL], 1, "ALLOC_FROM_PARTIAL");
	expect_u_eq(st.v[CPU_PARTIAL_NODE], moved,
		    "slabs moved to the cpu partial chain (budget %u)",
		    s->cpu_partial_slabs);
	expect_u_eq(c->nr_partial, moved, "c->nr_partial");
	expect_u_eq(nr_partial(s), NPARTIAL - 1 - moved, "left on s->partial");
	expect_ptr_eq(pagemap_head(a), slabs[0], "the first partial slab");
	expect_u_eq(counters_of(slabs[0]).frozen, 1, "frozen as cpu slab");
	for (j = 1; j <= moved; j++) {
		expect_false(on_partial_list(s, slabs[j]),
			     "slab %u off s->partial", j);
		expect_u_eq(counters_of(slabs[j]).frozen, 0,
			    "cpu partial slab %u is not frozen", j);
	}

	/* The cpu slab had one free object; the next refill uses the chain. */
	b = uslub_cache_alloc(s, 0);
	st = stats_of(s);
	expect_u_eq(st.v[DEACTIVATE_BYPASS], NPARTIAL,
		    "the helper's %u and now ours", NPARTIAL - 1);
	expect_u_eq(st.v[CPU_PARTIAL_ALLOC], 1, "CPU_PARTIAL_ALLOC");
	expect_ptr_eq(pagemap_head(b), slabs[1],
		      "the chain is a FIFO: the first slab moved comes first");
	expect_u_eq(c->nr_partial, moved - 1, "one slab off the chain");

	expect_d_eq(uslub_cache_shrink(s), 1, "full slabs remain");
	st = stats_of(s);
	expect_u_eq(st.v[CPU_PARTIAL_DRAIN], 1, "the chain was drained");
	expect_u_eq(c->nr_partial, 0, "chain empty");
	expect_u_eq(nr_partial(s), NPARTIAL - 2,
		    "all but the two full slabs on s->partial");

	uslub_cache_free(s, a);
	uslub_cache_free(s, b);
	for (j = 0; j < NPARTIAL; j++)
		for (i = 1; i < n; i++)
			uslub_cache_free(s, o.p[j * n + i]);
	free(o.p);
	destroy_empty(s);
}
TEST_END

/*
 * Invariant 4 (DESIGN.md): a thread's exit returns its cpu slab and cpu
 * partial chain, so objects it leaves behind and frees made later by
 * others strand nothing.  Threads one after the other allocate, free part
 * of it, and leave the rest to the main thread.
 */
#define NCHURN	64

struct churn {
	struct uslub_cache *s;
	void **left;		/* objects handed to the main thread */
	unsigned int nleft;
};

static void *churn_thread(void *arg)
{
	struct churn *ch = arg;
	unsigned int n = ch->s->objects * 3, i;
	void **p = calloc(n, sizeof(*p));

	for (i = 0; i < n; i++)
		p[i] = uslub_cache_alloc(ch->s, 0);
	for (i = 0; i < n; i++) {
		if (i % 3 == 0)
			ch->left[ch->nleft++] = p[i];
		else
			uslub_cache_free(ch->s, p[i]);
	}
	free(p);
	return NULL;
}

TEST_BEGIN(test_thread_churn_strands_nothing)
{
	struct uslub_cache *s = new_cache("state_churn");
	struct churn ch;
	unsigned int t, i;

	assert_ptr_not_null(s, "cache");
	ch = (struct churn){ .s = s,
			     .left = calloc((size_t)NCHURN * s->objects,
					    sizeof(void *)) };
	for (t = 0; t < NCHURN; t++)
		run_thread(churn_thread, &ch);
	expect_u_eq(ch.nleft, NCHURN * s->objects, "objects left behind");
	/* Live: nleft objects.  Slabs beyond what holds them and
	 * min_partial empties must have gone back. */
	expect_u_le(nr_slabs(s),
		    DIV_ROUND_UP(ch.nleft, s->objects) * 3 + s->min_partial,
		    "slabs of exited threads were returned");
	for (i = 0; i < ch.nleft; i++)
		uslub_cache_free(s, ch.left[i]);
	expect_u_le(nr_slabs(s), s->min_partial,
		    "after freeing: at most min_partial empty slabs");
	lock_acquire(&slab_mutex);
	expect_u_eq(cache_active_objects_locked(s), 0, "no live object");
	lock_release(&slab_mutex);
	free(ch.left);
	destroy_empty(s);
}
TEST_END

int main(void)
{
	return test(
	    test_new_slab_is_frozen_cpu_slab, test_remote_free_then_refill,
	    test_full_slab_deactivated_on_thread_exit,
	    test_full_slab_deactivated_by_shrink,
	    test_empty_slabs_beyond_min_partial_freed,
	    test_deactivate_keeps_min_partial_empty,
	    test_remote_free_empties_partial_slab, test_cpu_partial_chain,
	    test_thread_churn_strands_nothing, NULL);
}
