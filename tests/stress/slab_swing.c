/*
 * Stress: threads whose batches outgrow their sheaves and the barn, so
 * that every round sends objects back to shared slabs and takes them out
 * again while the other threads do the same to the same slabs.
 *
 * test_slab_swing: NTHREADS threads share a user cache of 80-byte objects
 * and kmalloc's 80-byte class.  Each round every thread allocates SWING
 * objects, half from each, and stamps every byte with the pattern of a
 * tag of its own (thread, round, index); after a barrier it checks them
 * all (two threads handed one object would have overwritten each
 * other's stamp), gives a shuffled half to the next thread and frees the
 * other half in a shuffled order, then checks and frees what it was
 * given.  The frees of a round land on slabs that other threads are
 * refilling from: flushes grouped by slab, refills that take a slab's
 * whole free list and walk it outside list_lock, full -> partial and
 * partial -> empty transitions, all at once.  Afterwards the user cache
 * has no active object and, shrunk, no slab, and kmalloc-80's active
 * objects are back where they started.
 *
 * Rounds: 1/10 with USLUB_CONFIG_TSAN, x10 with USLUB_STRESS=heavy.
 */
#include "test.h"

#include "uslub.h"
#include "stress.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NTHREADS	4
#define SWING		20000		/* objects a thread holds at its peak */
#define OBJ		80

struct held {
	void *p;
	uint64_t tag;
	bool cached;			/* from the user cache, else kmalloc */
};

static struct swing {
	struct uslub_cache *s;
	pthread_barrier_t barrier;
	unsigned long rounds;
	struct held *given[NTHREADS];	/* to thread i, written by i - 1 */
	unsigned long bad, reports;	/* atomic */
} sw;

static uint64_t tag_of(unsigned int t, unsigned long round, unsigned int i)
{
	return mix64(((uint64_t)(t + 1) << 56) ^ ((uint64_t)round << 24) ^ i);
}

static void check(const struct held *h, const char *when)
{
	size_t off = pattern_check(h->p, OBJ, h->tag);

	if (off == SIZE_MAX)
		return;
	if (__atomic_fetch_add(&sw.reports, 1, __ATOMIC_RELAXED) <
	    MAX_REPORTS)
		fprintf(stderr, "# %s: object %p broken at byte %zu\n", when,
			h->p, off);
	__atomic_fetch_add(&sw.bad, 1, __ATOMIC_RELAXED);
}

static void release(const struct held *h, const char *when)
{
	check(h, when);
	if (h->cached)
		uslub_cache_free(sw.s, h->p);
	else
		uslub_kfree(h->p);
}

static void shuffle(struct held *v, unsigned int n, uint64_t *rng)
{
	unsigned int i, j;
	struct held t;

	for (i = n - 1; i > 0; i--) {
		j = (unsigned int)(xorshift64(rng) % (i + 1));
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

static void *worker(void *arg)
{
	unsigned int t = (unsigned int)(uintptr_t)arg, i;
	uint64_t rng = 0x9e3779b97f4a7c15ULL * (t + 1);
	struct held *mine = calloc(SWING, sizeof(*mine));
	unsigned long r;

	if (!mine)
		return (void *)1;
	for (r = 0; r < sw.rounds; r++) {
		for (i = 0; i < SWING; i++) {
			struct held *h = &mine[i];

			h->cached = i % 2;
			h->p = h->cached ? uslub_cache_alloc(sw.s, 0) :
					   uslub_kmalloc(OBJ, 0);
			if (!h->p) {
				free(mine);
				return (void *)1;
			}
			h->tag = tag_of(t, r, i);
			pattern_fill(h->p, OBJ, h->tag);
		}
		pthread_barrier_wait(&sw.barrier);
		for (i = 0; i < SWING; i++)
			check(&mine[i], "after every thread's allocations");
		shuffle(mine, SWING, &rng);
		/* The first half goes to the next thread. */
		for (i = 0; i < SWING / 2; i++)
			sw.given[(t + 1) % NTHREADS][i] = mine[i];
		pthread_barrier_wait(&sw.barrier);
		for (i = SWING / 2; i < SWING; i++)
			release(&mine[i], "own free");
		for (i = 0; i < SWING / 2; i++)
			release(&sw.given[t][i], "given free");
		pthread_barrier_wait(&sw.barrier);
	}
	free(mine);
	return NULL;
}

TEST_BEGIN(test_slab_swing)
{
	pthread_t th[NTHREADS];
	struct slabrow row;
	unsigned long k80_before, k80_after;
	unsigned int i;
	void *ret;
	bool failed = false;

	sw.s = uslub_cache_create("swing80", OBJ, 0, 0, NULL);
	assert_ptr_not_null(sw.s, "cache");
	sw.rounds = stress_scale(10);
	assert_d_eq(pthread_barrier_init(&sw.barrier, NULL, NTHREADS), 0,
		    "barrier");
	for (i = 0; i < NTHREADS; i++) {
		sw.given[i] = calloc(SWING / 2, sizeof(struct held));
		assert_ptr_not_null(sw.given[i], "hand-over array");
	}
	k80_before = slabinfo_find("kmalloc-80", &row) ? row.active_objs : 0;
	for (i = 0; i < NTHREADS; i++)
		assert_d_eq(pthread_create(&th[i], NULL, worker,
					   (void *)(uintptr_t)i), 0, "thread");
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], &ret);
		failed |= ret != NULL;
	}
	expect_false(failed, "every worker got its objects");
	expect_lu_eq(sw.bad, 0, "objects whose stamp another hand-out broke");
	assert_true(slabinfo_find("swing80", &row), "swing80 listed");
	expect_lu_eq(row.active_objs, 0, "no object of the cache active");
	k80_after = slabinfo_find("kmalloc-80", &row) ? row.active_objs : 0;
	expect_lu_eq(k80_after, k80_before, "kmalloc-80 active as before");
	expect_d_eq(uslub_cache_shrink(sw.s), 0, "shrink");
	assert_true(slabinfo_find("swing80", &row), "swing80 listed");
	expect_lu_eq(row.num_slabs, 0, "no slab left after the shrink");
	expect_d_eq(uslub_cache_destroy(sw.s), 0, "destroy: nothing left");
	for (i = 0; i < NTHREADS; i++)
		free(sw.given[i]);
	pthread_barrier_destroy(&sw.barrier);
}
TEST_END

int main(void)
{
	return test(test_slab_swing, NULL);
}
