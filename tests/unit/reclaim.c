/*
 * Unit tests for shrinkers and reclaim (lib/shrink.c, include/uslub.h):
 * the kernel's scan amount at each priority, work carried in nr_deferred,
 * batches, SHRINK_STOP and SHRINK_EMPTY, seeks 0; both registration APIs
 * and unregistering; uslub_reclaim freeing a shrinker's objects until the
 * bytes asked for are given back, and malloc_trim running every shrinker;
 * and a reclaim pass racing allocating threads (TSan in that flavour).
 */
#include "test.h"

#include "shrink.h"
#include "uslub.h"

#include <pthread.h>
#include <string.h>

/* A shrinker over a LIFO list of objects of one cache. */
struct lru {
	struct uslub_shrinker sh;	/* its private_data is the lru */
	pthread_mutex_t lock;
	struct uslub_cache *cache;
	void **obj;
	unsigned long n, cap;
	unsigned long calls, last_scan, stop_after;
	int empty;			/* count_objects says SHRINK_EMPTY */
};

static unsigned long lru_count(struct uslub_shrinker *sh,
			       struct uslub_shrink_control *sc)
{
	struct lru *l = sh->private_data;
	unsigned long n;

	(void)sc;
	if (l->empty)
		return USLUB_SHRINK_EMPTY;
	pthread_mutex_lock(&l->lock);
	n = l->n;
	pthread_mutex_unlock(&l->lock);
	return n;
}

static unsigned long lru_scan(struct uslub_shrinker *sh,
			      struct uslub_shrink_control *sc)
{
	struct lru *l = sh->private_data;
	unsigned long freed = 0;

	l->calls++;
	l->last_scan = sc->nr_to_scan;
	if (l->stop_after && l->calls > l->stop_after)
		return USLUB_SHRINK_STOP;
	pthread_mutex_lock(&l->lock);
	while (freed < sc->nr_to_scan && l->n) {
		uslub_cache_free(l->cache, l->obj[--l->n]);
		freed++;
	}
	pthread_mutex_unlock(&l->lock);
	return freed;
}

static void lru_init(struct lru *l, unsigned long n, size_t size)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
	l->sh.count_objects = lru_count;
	l->sh.scan_objects = lru_scan;
	l->sh.seeks = USLUB_DEFAULT_SEEKS;
	l->sh.batch = 100;
	l->sh.private_data = l;
	l->cache = uslub_cache_create("lru_obj", size, 0, 0, NULL);
	l->cap = n;
	l->obj = uslub_malloc(n * sizeof(void *));
	for (l->n = 0; l->n < n; l->n++) {
		l->obj[l->n] = uslub_cache_alloc(l->cache, 0);
		memset(l->obj[l->n], 0x33, size);
	}
}

static void lru_fini(struct lru *l)
{
	while (l->n)
		uslub_cache_free(l->cache, l->obj[--l->n]);
	uslub_free(l->obj);
	expect_d_eq(uslub_cache_destroy(l->cache), 0, "lru cache destroyed");
	pthread_mutex_destroy(&l->lock);
}

static unsigned long shrink_at(struct lru *l, int prio)
{
	unsigned long freed;

	lock_acquire(&shrinker_lock);
	freed = shrink_one_locked(&l->sh, prio);
	lock_release(&shrinker_lock);
	return freed;
}

TEST_BEGIN(test_scan_amounts)
{
	struct lru l;

	lru_init(&l, 1000, 64);
	/* (1000 >> 12) * 4 / 2 = 0: nothing to do. */
	expect_lu_eq(shrink_at(&l, 12), 0, "priority 12: nothing");
	expect_ld_eq(l.sh.nr_deferred, 0, "nothing deferred");
	/* (1000 >> 8) * 4 / 2 = 6 < batch 100: deferred, not scanned. */
	expect_lu_eq(shrink_at(&l, 8), 0, "priority 8: under a batch");
	expect_lu_eq(l.calls, 0, "no scan call");
	expect_ld_eq(l.sh.nr_deferred, 6, "6 objects of work carried");
	shrink_at(&l, 8);
	expect_ld_eq(l.sh.nr_deferred, 12, "and 6 more: 12");
	/* (1000 >> 4) * 4 / 2 = 124 + (12 >> 4) = 124: one batch of 100. */
	expect_lu_eq(shrink_at(&l, 4), 100, "priority 4: one batch");
	expect_lu_eq(l.calls, 1, "one scan call");
	expect_lu_eq(l.last_scan, 100, "of batch size");
	expect_ld_eq(l.sh.nr_deferred, 36, "12 + 124 - 100 carried");
	/* Priority 0: min(36 + 1800, 2 * 900) = 1800, in batches of 100;
	 * the list empties after 9. */
	l.calls = 0;
	expect_lu_eq(shrink_at(&l, 0), 900, "priority 0: everything");
	expect_lu_eq(l.calls, 18, "1800 scanned in 18 calls");
	expect_lu_eq(l.n, 0, "the list is empty");
	expect_lu_eq(shrink_at(&l, 0), 0, "count 0: nothing to do");
	lru_fini(&l);
}
TEST_END

TEST_BEGIN(test_stop_empty_seeks0)
{
	struct lru l;

	lru_init(&l, 1000, 32);
	l.stop_after = 1;
	expect_lu_eq(shrink_at(&l, 0), 100, "SHRINK_STOP after the first batch");
	expect_lu_eq(l.calls, 2, "the second call said stop, no third");
	l.stop_after = 0;
	l.calls = 0;
	l.empty = 1;
	expect_lu_eq(shrink_at(&l, 0), 0, "SHRINK_EMPTY: nothing");
	expect_lu_eq(l.calls, 0, "no scan call");
	l.empty = 0;
	l.sh.seeks = 0;
	l.sh.nr_deferred = 0;
	/* seeks 0: freeable / 2 = 450 whatever the priority: four batches
	 * of 100, and the last 50 (under a batch) carried. */
	expect_lu_eq(shrink_at(&l, 12), 400, "seeks 0: 4 batches at priority 12");
	expect_ld_eq(l.sh.nr_deferred, 50, "50 carried");
	lru_fini(&l);
}
TEST_END

TEST_BEGIN(test_register_apis)
{
	struct lru l;
	struct uslub_shrinker *s;

	lru_init(&l, 200, 64);
	expect_d_eq(uslub_register_shrinker(&l.sh, "lru-%d", 7), 0, "register");
	expect_str_eq(l.sh.name, "lru-7", "the name is formatted");
	expect_d_ne(uslub_register_shrinker(&l.sh, "again"), 0,
		    "registering twice is refused");
	uslub_unregister_shrinker(&l.sh);
	l.calls = 0;
	uslub_reclaim(0);
	expect_lu_eq(l.calls, 0, "an unregistered shrinker is not called");
	expect_lu_eq(l.n, 200, "its objects stay");

	s = uslub_shrinker_alloc(0, "new-api-%s", "x");
	assert_ptr_not_null(s, "shrinker_alloc");
	expect_str_eq(s->name, "new-api-x", "named");
	expect_d_eq(s->seeks, USLUB_DEFAULT_SEEKS, "DEFAULT_SEEKS");
	s->count_objects = lru_count;
	s->scan_objects = lru_scan;
	s->private_data = &l;
	uslub_shrinker_register(s);
	uslub_reclaim(0);
	expect_lu_gt(l.calls, 0, "the 6.7-API shrinker is called");
	expect_lu_eq(l.n, 0, "and frees everything at reclaim(0)");
	uslub_shrinker_free(s);
	lru_fini(&l);
}
TEST_END

TEST_BEGIN(test_reclaim_bytes)
{
	struct lru l;
	size_t got;

	lru_init(&l, 4096, 4096);		/* 16 MiB in 4 KiB objects */
	expect_d_eq(uslub_register_shrinker(&l.sh, "lru-big"), 0, "register");
	got = uslub_reclaim(1 << 20);
	expect_zu_ge(got, 1 << 20, "at least 1 MiB given back");
	expect_lu_gt(l.n, 0, "not everything: it stopped once 1 MiB was back");
	expect_lu_lt(l.n, 4096, "but the shrinker gave objects");
	got = uslub_reclaim(0);
	expect_lu_eq(l.n, 0, "reclaim(0): all of them");
	expect_zu_ge(got, 8 << 20, "and most of the 16 MiB given back");
	uslub_unregister_shrinker(&l.sh);
	lru_fini(&l);

	lru_init(&l, 1024, 1024);
	uslub_register_shrinker(&l.sh, "lru-trim");
	expect_d_eq(uslub_malloc_trim(0), 1, "malloc_trim released memory");
	expect_lu_eq(l.n, 0, "malloc_trim ran the shrinker");
	uslub_unregister_shrinker(&l.sh);
	lru_fini(&l);
}
TEST_END

/* Threads allocate and free while another runs reclaim passes over a
 * shrinker whose list they also feed. */
static struct lru race;
static int race_stop;

static void *race_feeder(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		void *p = uslub_cache_alloc(race.cache, 0);
		void *q = uslub_malloc(100 + i % 900);

		pthread_mutex_lock(&race.lock);
		if (race.n < race.cap)
			race.obj[race.n++] = p;
		else
			uslub_cache_free(race.cache, p);
		pthread_mutex_unlock(&race.lock);
		uslub_free(q);
	}
	return NULL;
}

static void *race_reclaimer(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&race_stop, __ATOMIC_ACQUIRE))
		uslub_reclaim(64 << 10);
	return NULL;
}

TEST_BEGIN(test_reclaim_races_allocation)
{
	pthread_t f[2], r;

	lru_init(&race, 0, 128);
	race.cap = 4096;
	uslub_free(race.obj);
	race.obj = uslub_malloc(race.cap * sizeof(void *));
	uslub_register_shrinker(&race.sh, "race");
	assert_d_eq(pthread_create(&r, NULL, race_reclaimer, NULL), 0, "thread");
	for (int i = 0; i < 2; i++)
		assert_d_eq(pthread_create(&f[i], NULL, race_feeder, NULL), 0, "thread");
	for (int i = 0; i < 2; i++)
		pthread_join(f[i], NULL);
	__atomic_store_n(&race_stop, 1, __ATOMIC_RELEASE);
	pthread_join(r, NULL);
	uslub_unregister_shrinker(&race.sh);
	expect_lu_le(race.n, race.cap, "the list stayed within bounds");
	lru_fini(&race);
}
TEST_END

int main(void)
{
	return test(test_scan_amounts, test_stop_empty_seeks0,
		    test_register_apis, test_reclaim_bytes,
		    test_reclaim_races_allocation, NULL);
}
