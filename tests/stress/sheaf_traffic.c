/*
 * Stress: objects passed round a ring of threads through their sheaves,
 * while the sheaves are trimmed and shrunk under them and threads come
 * and go.
 *
 * test_sheaf_ring: NPOS ring positions, each a queue (mutex-protected)
 * and a succession of LIVES worker threads (one alive at a time per
 * position: thread churn).  A worker allocates objects of a user cache and
 * of kmalloc sizes (8..8192, now and then zeroed, now and then in bulk),
 * stamps each with the pattern of a tag made of its owner (position and
 * life) and a sequence number, and passes most of them to the next
 * position's queue; it frees what arrives in its own queue (after
 * checking the tag) and some of its own, with cache_free, kfree and free
 * mixed.  A trimmer thread keeps calling uslub_malloc_trim, uslub_reclaim
 * and uslub_cache_shrink.  Every live pointer is in a set: an allocation
 * that returns a pointer already live is a double hand-out; a free of a
 * pointer not in the set is the test's own bug.
 * At the end, with the queues still full: slabinfo's active_objs equals
 * the live objects counted by the test (user cache and the kmalloc
 * classes), and the user cache's slabs account for every object: nr_slabs
 * * objects - free objects on the partial slabs = active + objects in
 * sheaves and the barn.  After everything is freed, trimmed and shrunk:
 * no active object, no slab, empty barns.
 *
 * Operations: 1/10 under ThreadSanitizer, x10 with USLUB_STRESS=heavy.
 */
#include "test.h"

#include "uslub.h"
#include "cache.h"
#include "sheaf.h"
#include "slab.h"
#include "stress.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NPOS		6		/* ring positions */
#define LIVES		20		/* worker threads per position */
#define QCAP		1024		/* objects a queue holds */
#define STASH		32		/* objects a worker keeps */
#define BULK		8
#define CACHE_SIZE	88

/* 6000 and 12000: coloured classes (objects at multiples of their size) */
static const size_t ksizes[] = {
	8, 16, 24, 40, 64, 96, 128, 200, 256, 384, 512, 1000, 2048, 4096, 6000,
	8192, 12000,
};

enum kind { K_CACHE, K_KMALLOC };

struct item {
	void *p;
	uint32_t size;
	uint32_t owner;			/* position * 256 + life */
	uint64_t seq;
	enum kind kind;
};

struct queue {
	pthread_mutex_t lock;
	struct item ring[QCAP];		/* under lock */
	unsigned int head, count;	/* under lock */
};

/* ---- The set of live pointers ---------------------------------------- */

#define NSTRIPES	64
#define STRIPE_CAP	2048		/* a power of two */

struct stripe {
	pthread_mutex_t lock;
	void *slot[STRIPE_CAP];		/* open addressing */
	unsigned int n;
};

static struct stripe live_set[NSTRIPES];

static uint64_t ptr_hash(const void *p)
{
	return mix64((uintptr_t)p);
}

static struct stripe *stripe_of(const void *p)
{
	return &live_set[ptr_hash(p) % NSTRIPES];
}

static unsigned int home_of(const void *p)
{
	return (unsigned int)(ptr_hash(p) >> 32) & (STRIPE_CAP - 1);
}

/* 1 inserted, 0 already there (handed out twice), -1 stripe full. */
static int set_insert(void *p)
{
	struct stripe *st = stripe_of(p);
	unsigned int i = home_of(p);
	int ret = 1;

	pthread_mutex_lock(&st->lock);
	if (st->n >= STRIPE_CAP / 2) {
		ret = -1;
		goto out;
	}
	for (; st->slot[i]; i = (i + 1) & (STRIPE_CAP - 1))
		if (st->slot[i] == p) {
			ret = 0;
			goto out;
		}
	st->slot[i] = p;
	st->n++;
out:
	pthread_mutex_unlock(&st->lock);
	return ret;
}

/* Is j's entry, whose home is k, still reachable from k if slot i
 * empties?  Only if i is not cyclically within [k, j). */
static bool stays(unsigned int i, unsigned int j, unsigned int k)
{
	if (i <= j)
		return k > i && k <= j;
	return k > i || k <= j;
}

/* True if p was in the set (backward-shift deletion). */
static bool set_remove(void *p)
{
	struct stripe *st = stripe_of(p);
	unsigned int i = home_of(p), j;

	pthread_mutex_lock(&st->lock);
	for (; st->slot[i] != p; i = (i + 1) & (STRIPE_CAP - 1))
		if (!st->slot[i]) {
			pthread_mutex_unlock(&st->lock);
			return false;
		}
	for (j = i;;) {
		j = (j + 1) & (STRIPE_CAP - 1);
		if (!st->slot[j])
			break;
		if (stays(i, j, home_of(st->slot[j])))
			continue;
		st->slot[i] = st->slot[j];
		i = j;
	}
	st->slot[i] = NULL;
	st->n--;
	pthread_mutex_unlock(&st->lock);
	return true;
}

/* ---- Shared state ---------------------------------------------------- */

static struct traffic {
	struct uslub_cache *s;
	struct queue q[NPOS];
	unsigned long ops_per_life;
	bool stop;				/* atomic */
	/* atomic counters */
	unsigned long dup, bad, missing, set_full, alloc_failed, zero_bad;
	unsigned long allocated, freed, passed, trims, shrinks;
	long live[2];				/* by kind */
} tr;

#define COUNT(field)	__atomic_fetch_add(&tr.field, 1, __ATOMIC_RELAXED)

static uint64_t tag_of(uint32_t owner, uint64_t seq)
{
	return mix64(((uint64_t)owner << 40) ^ seq);
}

static bool queue_put(struct queue *q, const struct item *it)
{
	bool ok;

	pthread_mutex_lock(&q->lock);
	ok = q->count < QCAP;
	if (ok)
		q->ring[(q->head + q->count++) % QCAP] = *it;
	pthread_mutex_unlock(&q->lock);
	return ok;
}

static bool queue_get(struct queue *q, struct item *it)
{
	bool ok;

	pthread_mutex_lock(&q->lock);
	ok = q->count > 0;
	if (ok) {
		*it = q->ring[q->head];
		q->head = (q->head + 1) % QCAP;
		q->count--;
	}
	pthread_mutex_unlock(&q->lock);
	return ok;
}

/* ---- Objects --------------------------------------------------------- */

/* A new object: registered in the live set, stamped with its tag. */
static void item_start(struct item *it)
{
	int r = set_insert(it->p);

	if (r == 0 && COUNT(dup) < MAX_REPORTS)
		expect_true(false, "%p handed out while live (owner %u seq "
			    "%llu)", it->p, it->owner,
			    (unsigned long long)it->seq);
	if (r < 0)
		COUNT(set_full);
	__atomic_fetch_add(&tr.live[it->kind], 1, __ATOMIC_RELAXED);
	COUNT(allocated);
	pattern_fill(it->p, it->size, tag_of(it->owner, it->seq));
}

static void item_alloc(struct item *it, uint64_t *rng, uint32_t owner,
		       uint64_t seq)
{
	uint64_t r = xorshift64(rng);
	bool zero = r % 16 == 0;
	size_t i;

	it->owner = owner;
	it->seq = seq;
	if ((r >> 8) % 3 == 0) {
		it->kind = K_CACHE;
		it->size = CACHE_SIZE;
		it->p = zero ? uslub_cache_zalloc(tr.s, 0) :
			       uslub_cache_alloc(tr.s, 0);
	} else {
		it->kind = K_KMALLOC;
		it->size = (uint32_t)ksizes[(r >> 16) % ARRAY_SIZE(ksizes)];
		it->p = zero ? uslub_kzalloc(it->size, 0) :
			       uslub_kmalloc(it->size, 0);
	}
	if (!it->p) {
		COUNT(alloc_failed);
		return;
	}
	if (zero) {
		for (i = 0; i < it->size; i++)
			if (((unsigned char *)it->p)[i])
				break;
		if (i < it->size && COUNT(zero_bad) < MAX_REPORTS)
			expect_zu_eq(i, it->size, "zalloc'd %p (%u bytes) not "
				     "zero at offset", it->p, it->size);
	}
	item_start(it);
}

/* Checks the tag, leaves the live set, frees (how picks the function). */
static void item_free(const struct item *it, unsigned int how)
{
	size_t off = pattern_check(it->p, it->size, tag_of(it->owner, it->seq));

	if (off != SIZE_MAX && COUNT(bad) < MAX_REPORTS)
		expect_zu_eq(off, SIZE_MAX, "object %p (owner %u seq %llu, %u "
			     "bytes) corrupt at offset", it->p, it->owner,
			     (unsigned long long)it->seq, it->size);
	if (!set_remove(it->p) && COUNT(missing) < MAX_REPORTS)
		expect_true(false, "%p freed but not live", it->p);
	__atomic_fetch_sub(&tr.live[it->kind], 1, __ATOMIC_RELAXED);
	COUNT(freed);
	if (it->kind == K_CACHE) {
		if (how % 16 == 0)
			uslub_kfree(it->p);	/* kfree takes any cache's */
		else
			uslub_cache_free(tr.s, it->p);
	} else {
		if (how % 4 == 0)
			uslub_free(it->p);
		else
			uslub_kfree(it->p);
	}
}

/* ---- Workers --------------------------------------------------------- */

struct worker {
	unsigned int pos, life;
	uint64_t rng, seq;
	struct item stash[STASH];
	unsigned int nstash;
};

/* Pass it on to the next position; keep it (or free it) if that is full. */
static void pass_on(struct worker *w, const struct item *it)
{
	struct queue *next = &tr.q[(w->pos + 1) % NPOS];

	if (queue_put(next, it) || (sched_yield(), queue_put(next, it))) {
		COUNT(passed);
		return;
	}
	if (w->nstash < STASH)
		w->stash[w->nstash++] = *it;
	else
		item_free(it, (unsigned int)w->seq);
}

static void keep(struct worker *w, const struct item *it)
{
	if (w->nstash == STASH) {
		/* the oldest goes */
		item_free(&w->stash[0], (unsigned int)w->seq);
		memmove(w->stash, w->stash + 1,
			(STASH - 1) * sizeof(w->stash[0]));
		w->nstash--;
	}
	w->stash[w->nstash++] = *it;
}

static uint32_t owner_of(const struct worker *w)
{
	return w->pos * 256 + w->life;
}

/* A bulk allocation from the cache, each object passed on or kept. */
static void bulk_round(struct worker *w)
{
	void *objs[BULK];
	struct item it;
	size_t n, i;

	n = uslub_cache_alloc_bulk(tr.s, 0, BULK, objs);
	if (n == 0) {
		COUNT(alloc_failed);
		return;
	}
	for (i = 0; i < n; i++) {
		it.p = objs[i];
		it.kind = K_CACHE;
		it.size = CACHE_SIZE;
		it.owner = owner_of(w);
		it.seq = w->seq++;
		item_start(&it);
		if (i % 2)
			pass_on(w, &it);
		else
			keep(w, &it);
	}
}

/* Frees up to n objects of the worker's queue; 0 if it was empty. */
static unsigned int drain_some(struct worker *w, unsigned int n)
{
	struct item it;
	unsigned int k;

	for (k = 0; k < n && queue_get(&tr.q[w->pos], &it); k++)
		item_free(&it, (unsigned int)(w->seq + k));
	return k;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned long op;
	struct item it;
	uint64_t r;

	for (op = 0; op < tr.ops_per_life; op++) {
		r = xorshift64(&w->rng);
		switch (r % 16) {
		case 0 ... 6:		/* allocate, pass on */
			item_alloc(&it, &w->rng, owner_of(w), w->seq++);
			if (it.p)
				pass_on(w, &it);
			break;
		case 7 ... 8:		/* allocate, keep */
			item_alloc(&it, &w->rng, owner_of(w), w->seq++);
			if (it.p)
				keep(w, &it);
			break;
		case 9:
			if ((r >> 8) % 8 == 0)
				bulk_round(w);
			break;
		case 10:		/* free one of our own */
			if (w->nstash) {
				w->nstash--;
				item_free(&w->stash[w->nstash],
					  (unsigned int)r);
			}
			break;
		default:		/* free what others sent */
			drain_some(w, 1 + (unsigned int)((r >> 8) % 4));
			break;
		}
	}
	/* On exit: half of the stash freed here, the rest passed on (freed
	 * here too where the next queue is full). */
	while (w->nstash) {
		w->nstash--;
		it = w->stash[w->nstash];
		if (w->nstash % 2 == 0 &&
		    queue_put(&tr.q[(w->pos + 1) % NPOS], &it))
			COUNT(passed);
		else
			item_free(&it, w->nstash);
	}
	return NULL;		/* exit: the sheaves go to the barns */
}

/* One ring position: LIVES workers, one after the other. */
static void *position_main(void *arg)
{
	unsigned int pos = (unsigned int)(uintptr_t)arg, life;
	struct worker *w = calloc(1, sizeof(*w));
	pthread_t t;

	if (!w)
		return NULL;
	for (life = 0; life < LIVES; life++) {
		memset(w, 0, sizeof(*w));
		w->pos = pos;
		w->life = life;
		w->rng = 0x9e3779b97f4a7c15ULL * (pos * LIVES + life + 1);
		if (pthread_create(&t, NULL, worker_main, w) != 0) {
			COUNT(alloc_failed);
			break;
		}
		pthread_join(t, NULL);
	}
	free(w);
	return NULL;
}

/* Trims, reclaims and shrinks until told to stop; allocates a little of
 * its own so its sheaves are flushed too. */
static void *trimmer_main(void *arg)
{
	uint64_t rng = 12345;
	unsigned long n = 0;
	struct item it;

	(void)arg;
	while (!__atomic_load_n(&tr.stop, __ATOMIC_RELAXED)) {
		usleep(300 + (unsigned int)(xorshift64(&rng) % 1200));
		item_alloc(&it, &rng, 0xffffff, n);
		switch (n++ % 4) {
		case 0:
			uslub_malloc_trim(0);
			COUNT(trims);
			break;
		case 1:
			uslub_cache_shrink(tr.s);
			COUNT(shrinks);
			break;
		case 2:
			uslub_reclaim(0);
			COUNT(trims);
			break;
		default:
			uslub_cache_shrink(tr.s);
			uslub_malloc_trim(0);
			COUNT(shrinks);
			COUNT(trims);
			break;
		}
		if (it.p)
			item_free(&it, (unsigned int)n);
	}
	return NULL;
}

/* ---- Accounting ------------------------------------------------------ */

/*
 * The user cache's slabs account for every object (quiescent): the
 * objects not on a partial slab's freelist are the active ones plus those
 * in sheaves (threads' and the barn's).
 */
static void expect_slab_accounting(const char *when)
{
	struct uslub_cache *s = tr.s;
	unsigned long partial = 0, partial_free = 0, walked = 0, slabs;
	unsigned long active, sum[NR_SLUB_STAT_ITEMS];
	struct sheaf_occupancy o;
	struct slab *slab;

	lock_acquire(&slab_mutex);
	cache_stat_sum_locked(s, sum);
	active = cache_active_objects_locked(s);
	cache_sheaf_occupancy_locked(s, &o);
	slabs = READ_ONCE(s->nr_slabs);
	lock_acquire(&s->list_lock);
	list_for_each_entry(slab, &s->partial, slab_list) {
		union slab_counters c;

		c.counters = READ_ONCE(slab->counters);
		partial_free += c.objects - c.inuse;
		walked += slab_count_free(s, slab);
		partial++;
	}
	expect_u_eq(partial, s->nr_partial, "%s: nr_partial", when);
	lock_release(&s->list_lock);
	lock_release(&slab_mutex);
	expect_u_eq(walked, partial_free,
		    "%s: the partial slabs' freelists match their counters",
		    when);
	expect_u_eq(slabs * s->objects - partial_free,
		    active + o.cpu_objects + o.barn_objects,
		    "%s: objects in use in slabs (%lu slabs) = active %lu + in "
		    "threads' sheaves %lu + in the barn %lu", when, slabs,
		    active, o.cpu_objects, o.barn_objects);
	expect_ld_eq((long)active, __atomic_load_n(&tr.live[K_CACHE],
						   __ATOMIC_RELAXED),
		     "%s: active objects = the test's live cache objects",
		     when);
	expect_u_eq(active, sum[ALLOC_PCS] + sum[ALLOC_SLOWPATH] -
		    sum[FREE_PCS] - sum[FREE_SLOWPATH], "%s: counters", when);
}

TEST_BEGIN(test_sheaf_ring)
{
	pthread_t pos[NPOS], trimmer;
	struct slabrow row;
	unsigned long kactive;
	unsigned int i, full, empty;
	unsigned long objects;
	struct item it;

	memset(&tr, 0, sizeof(tr));
	for (i = 0; i < NSTRIPES; i++)
		pthread_mutex_init(&live_set[i].lock, NULL);
	for (i = 0; i < NPOS; i++)
		pthread_mutex_init(&tr.q[i].lock, NULL);
	tr.ops_per_life = stress_scale(40000);
	tr.s = uslub_cache_create("sheaf_ring", CACHE_SIZE, 0, 0, NULL);
	assert_ptr_not_null(tr.s, "cache");

	assert_d_eq(pthread_create(&trimmer, NULL, trimmer_main, NULL), 0,
		    "trimmer");
	for (i = 0; i < NPOS; i++)
		assert_d_eq(pthread_create(&pos[i], NULL, position_main,
					   (void *)(uintptr_t)i), 0,
			    "position %u", i);
	for (i = 0; i < NPOS; i++)
		pthread_join(pos[i], NULL);
	__atomic_store_n(&tr.stop, true, __ATOMIC_RELAXED);
	pthread_join(trimmer, NULL);

	printf("# %lu objects allocated, %lu passed on, %lu trims, %lu "
	       "shrinks, %u threads\n", tr.allocated, tr.passed, tr.trims,
	       tr.shrinks, NPOS * LIVES);
	expect_u_eq(tr.dup, 0, "objects handed out twice while live");
	expect_u_eq(tr.bad, 0, "objects whose tag pattern was broken");
	expect_u_eq(tr.missing, 0, "frees of objects not live");
	expect_u_eq(tr.zero_bad, 0, "zalloc'd objects not zeroed");
	expect_u_eq(tr.alloc_failed, 0, "allocations (or threads) that failed");
	expect_u_eq(tr.set_full, 0, "live set overflow (test sizing)");
	expect_u_gt(tr.passed, tr.allocated / 10, "objects passed on");
	expect_u_gt(tr.trims, 0, "trims during the run");
	expect_u_gt(tr.shrinks, 0, "shrinks during the run");

	/* Quiescent, the queues still full. */
	expect_slab_accounting("after the run");
	assert_true(slabinfo_read("sheaf_ring", &row, &kactive), "listed");
	expect_lu_eq(row.active_objs, (unsigned long)tr.live[K_CACHE],
		     "slabinfo active_objs = live cache objects");
	expect_lu_eq(kactive, (unsigned long)tr.live[K_KMALLOC],
		     "kmalloc active_objs = live kmalloc objects");

	/* Everything back. */
	for (i = 0; i < NPOS; i++)
		while (queue_get(&tr.q[i], &it))
			item_free(&it, i);
	expect_u_eq(tr.allocated, tr.freed, "every object freed once");
	expect_ld_eq(tr.live[K_CACHE], 0, "live cache objects");
	expect_ld_eq(tr.live[K_KMALLOC], 0, "live kmalloc objects");
	expect_slab_accounting("after freeing everything");

	uslub_malloc_trim(0);
	expect_d_eq(uslub_cache_shrink(tr.s), 0, "shrink leaves no slab");
	expect_slab_accounting("trimmed and shrunk");
	expect_u_eq(READ_ONCE(tr.s->nr_slabs), 0, "nr_slabs");
	barn_occupancy(tr.s, &full, &empty, &objects);
	expect_u_eq(full, 0, "barn full sheaves");
	expect_u_eq(objects, 0, "barn objects");
	assert_true(slabinfo_read("sheaf_ring", &row, &kactive), "listed");
	expect_lu_eq(row.active_objs, 0, "active_objs");
	expect_lu_eq(row.num_slabs, 0, "num_slabs");
	expect_lu_eq(kactive, 0, "kmalloc active_objs");
	expect_d_eq(uslub_cache_destroy(tr.s), 0, "destroy");
	for (i = 0; i < NPOS; i++)
		pthread_mutex_destroy(&tr.q[i].lock);
	for (i = 0; i < NSTRIPES; i++)
		pthread_mutex_destroy(&live_set[i].lock);
}
TEST_END

int main(void)
{
	return test(test_sheaf_ring, NULL);
}
