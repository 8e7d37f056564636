/*
 * Stress: objects allocated on one thread and freed on another.
 *
 * test_xthread_queue: 4 producers allocate from two user caches (64 and
 * 200 bytes) and from kmalloc (8..8192 bytes, now and then 16 KiB..1 MiB,
 * rarely 4..6 MiB: a mapping of its own), stamp every byte of each object
 * with a pattern derived from (producer, sequence), and pass it through a
 * bounded queue (mutex and condition variables) to 4 consumers, which
 * check the pattern and ksize() and free the object.  Afterwards every
 * object was checked exactly once and slabinfo shows no active object in
 * either user cache.
 *
 * test_xthread_pingpong: two threads hand a ring of objects back and
 * forth; on each turn a thread checks every object, frees every other one
 * (allocated by either thread) and allocates a replacement, and restamps
 * the others, so objects keep changing owner while their slabs are frozen
 * on the other thread.
 *
 * Iterations: 1/10 with USLUB_CONFIG_TSAN, x10 with USLUB_STRESS=heavy.
 */
#include "test.h"

#include "uslub.h"
#include "stress.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NPRODUCERS	4
#define NCONSUMERS	4
#define QUEUE_CAP	256

/* The tag of the pattern of object seq of thread. */
static uint64_t tag_of(unsigned int thread, uint64_t seq)
{
	uint64_t t = ((uint64_t)(thread + 1) << 40) ^ seq;

	t *= 0x9e3779b97f4a7c15ULL;
	return t ^ (t >> 29);
}

/* ---- test_xthread_queue ---------------------------------------------- */

enum kind { K_CACHE64, K_CACHE200, K_KMALLOC, K_LARGE, K_HUGE, NR_KINDS };

struct item {
	void *p;
	size_t size;
	uint64_t seq;
	unsigned int producer;
	enum kind kind;
};

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	struct item ring[QUEUE_CAP];	/* under lock */
	unsigned int head, count;	/* under lock */
	unsigned int producers_left;	/* under lock */
};

static struct xt {
	struct queue q;
	struct uslub_cache *c64, *c200;
	unsigned long per_producer;
	unsigned char *seen[NPRODUCERS];	/* atomic: times checked */
	unsigned long bad;			/* atomic */
	unsigned long checked[NR_KINDS];	/* atomic */
	unsigned long alloc_failed;		/* atomic */
} xt;

static void queue_put(struct queue *q, const struct item *it)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == QUEUE_CAP)
		pthread_cond_wait(&q->not_full, &q->lock);
	q->ring[(q->head + q->count) % QUEUE_CAP] = *it;
	if (q->count++ == 0)
		pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

/* False once the queue is empty and every producer is done. */
static bool queue_get(struct queue *q, struct item *it)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == 0 && q->producers_left)
		pthread_cond_wait(&q->not_empty, &q->lock);
	if (q->count == 0) {
		pthread_mutex_unlock(&q->lock);
		return false;
	}
	*it = q->ring[q->head];
	q->head = (q->head + 1) % QUEUE_CAP;
	if (q->count-- == QUEUE_CAP)
		pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->lock);
	return true;
}

static void queue_producer_done(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	if (--q->producers_left == 0)
		pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

/* A kind and size: 1/4 each cache, 1/64 large, 1/4096 beyond the buddy
 * allocator's largest block (4 MiB), the rest kmalloc 8..8192. */
static void pick(uint64_t *rng, struct item *it)
{
	uint64_t r = xorshift64(rng);

	if (r % 4096 == 4095) {
		it->kind = K_HUGE;
		it->size = 4 * MiB + 1 + (size_t)((r >> 12) % (2 * MiB));
		return;
	}
	switch (r % 64) {
	case 0 ... 15:
		it->kind = K_CACHE64;
		it->size = 64;
		break;
	case 16 ... 31:
		it->kind = K_CACHE200;
		it->size = 200;
		break;
	case 32:
		it->kind = K_LARGE;
		it->size = 16 * KiB + (size_t)((r >> 8) % (MiB - 16 * KiB + 1));
		break;
	default:
		it->kind = K_KMALLOC;
		it->size = 8 + (size_t)((r >> 8) % (8192 - 8 + 1));
		break;
	}
}

static void *item_alloc(const struct item *it)
{
	switch (it->kind) {
	case K_CACHE64:
		return uslub_cache_alloc(xt.c64, 0);
	case K_CACHE200:
		return uslub_cache_alloc(xt.c200, 0);
	default:
		return uslub_kmalloc(it->size, 0);
	}
}

static void item_free(const struct item *it)
{
	switch (it->kind) {
	case K_CACHE64:
		uslub_cache_free(xt.c64, it->p);
		break;
	case K_CACHE200:
		uslub_cache_free(xt.c200, it->p);
		break;
	default:
		uslub_kfree(it->p);
		break;
	}
}

static void *producer(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg;
	uint64_t rng = 0x2545f4914f6cdd1dULL * (id + 1);
	struct item it;
	unsigned long seq;

	for (seq = 0; seq < xt.per_producer; seq++) {
		pick(&rng, &it);
		it.producer = id;
		it.seq = seq;
		it.p = item_alloc(&it);
		if (!it.p) {
			__atomic_fetch_add(&xt.alloc_failed, 1, __ATOMIC_RELAXED);
			continue;
		}
		pattern_fill(it.p, it.size, tag_of(id, seq));
		queue_put(&xt.q, &it);
	}
	queue_producer_done(&xt.q);
	return NULL;
}

static void consume(const struct item *it)
{
	size_t off = pattern_check(it->p, it->size, tag_of(it->producer, it->seq));
	size_t ksize = it->kind >= K_KMALLOC ? uslub_ksize(it->p) : it->size;

	if (off != SIZE_MAX &&
	    __atomic_fetch_add(&xt.bad, 1, __ATOMIC_RELAXED) < MAX_REPORTS)
		expect_zu_eq(off, SIZE_MAX, "object %p (producer %u, seq %llu, "
			     "kind %d, size %zu) corrupt at offset", it->p,
			     it->producer, (unsigned long long)it->seq,
			     (int)it->kind, it->size);
	if (ksize < it->size &&
	    __atomic_fetch_add(&xt.bad, 1, __ATOMIC_RELAXED) < MAX_REPORTS)
		expect_zu_ge(ksize, it->size, "ksize(%p), on another thread",
			     it->p);
	__atomic_fetch_add(&xt.seen[it->producer][it->seq], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&xt.checked[it->kind], 1, __ATOMIC_RELAXED);
	item_free(it);
}

static void *consumer(void *arg)
{
	struct item it;

	(void)arg;
	while (queue_get(&xt.q, &it))
		consume(&it);
	return NULL;
}

TEST_BEGIN(test_xthread_queue)
{
	pthread_t prod[NPRODUCERS], cons[NCONSUMERS];
	unsigned long i, total = 0, once = 0, never = 0, twice = 0;
	struct slabrow row;
	unsigned int t;

	memset(&xt, 0, sizeof(xt));
	pthread_mutex_init(&xt.q.lock, NULL);
	pthread_cond_init(&xt.q.not_empty, NULL);
	pthread_cond_init(&xt.q.not_full, NULL);
	xt.q.producers_left = NPRODUCERS;
	xt.per_producer = stress_scale(100000);
	xt.c64 = uslub_cache_create("xt_obj64", 64, 0, 0, NULL);
	xt.c200 = uslub_cache_create("xt_obj200", 200, 0, 0, NULL);
	assert_ptr_not_null(xt.c64, "create xt_obj64");
	assert_ptr_not_null(xt.c200, "create xt_obj200");
	for (t = 0; t < NPRODUCERS; t++) {
		xt.seen[t] = calloc(xt.per_producer, 1);
		assert_ptr_not_null(xt.seen[t]);
	}

	for (t = 0; t < NCONSUMERS; t++)
		assert_d_eq(pthread_create(&cons[t], NULL, consumer, NULL), 0);
	for (t = 0; t < NPRODUCERS; t++)
		assert_d_eq(pthread_create(&prod[t], NULL, producer,
					   (void *)(uintptr_t)t), 0);
	for (t = 0; t < NPRODUCERS; t++)
		pthread_join(prod[t], NULL);
	for (t = 0; t < NCONSUMERS; t++)
		pthread_join(cons[t], NULL);

	expect_u_eq(xt.alloc_failed, 0, "allocations that failed");
	expect_u_eq(xt.bad, 0, "objects whose pattern or ksize was wrong");
	for (t = 0; t < NPRODUCERS; t++) {
		for (i = 0; i < xt.per_producer; i++) {
			once += xt.seen[t][i] == 1;
			never += xt.seen[t][i] == 0;
			twice += xt.seen[t][i] > 1;
		}
		free(xt.seen[t]);
	}
	expect_u_eq(once, NPRODUCERS * xt.per_producer,
		    "objects checked exactly once");
	expect_u_eq(never, 0, "objects never checked");
	expect_u_eq(twice, 0, "objects checked more than once");
	for (t = 0; t < NR_KINDS; t++) {
		expect_u_gt(xt.checked[t], 0, "objects of kind %u", t);
		total += xt.checked[t];
	}
	expect_u_eq(total, NPRODUCERS * xt.per_producer, "objects checked");

	assert_true(slabinfo_find("xt_obj64", &row), "xt_obj64 listed");
	expect_u_eq(row.active_objs, 0, "xt_obj64 active_objs after the run");
	assert_true(slabinfo_find("xt_obj200", &row), "xt_obj200 listed");
	expect_u_eq(row.active_objs, 0, "xt_obj200 active_objs after the run");
	expect_d_eq(uslub_cache_destroy(xt.c64), 0, "destroy xt_obj64");
	expect_d_eq(uslub_cache_destroy(xt.c200), 0, "destroy xt_obj200");
	expect_false(slabinfo_find("xt_obj64", &row), "xt_obj64 gone");
	expect_false(slabinfo_find("xt_obj200", &row), "xt_obj200 gone");
	pthread_cond_destroy(&xt.q.not_full);
	pthread_cond_destroy(&xt.q.not_empty);
	pthread_mutex_destroy(&xt.q.lock);
}
TEST_END

/* ---- test_xthread_pingpong ------------------------------------------- */

#define RING	128

struct pp_slot {
	void *p;
	size_t size;
	uint64_t tag;
	bool cached;			/* from the cache, else kmalloc */
};

static struct pp {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int turn;		/* under lock: whose turn, 0 or 1 */
	unsigned long rounds;
	struct uslub_cache *cache;
	/* owned by the thread whose turn it is */
	struct pp_slot ring[RING];
	unsigned long bad, replaced, restamped, alloc_failed;
} pp;

static void pp_check(const struct pp_slot *s, unsigned int who,
		     unsigned long round, unsigned int i)
{
	size_t off = pattern_check(s->p, s->size, s->tag);

	if (off != SIZE_MAX && pp.bad++ < MAX_REPORTS)
		expect_zu_eq(off, SIZE_MAX, "thread %u round %lu slot %u: "
			     "object %p (size %zu) corrupt at offset", who,
			     round, i, s->p, s->size);
}

static void pp_free(const struct pp_slot *s)
{
	if (s->cached)
		uslub_cache_free(pp.cache, s->p);
	else
		uslub_kfree(s->p);
}

/* One turn: check all, replace every other object, restamp the rest. */
static void pp_turn(unsigned int who, unsigned long round, uint64_t *rng)
{
	unsigned int i;

	for (i = 0; i < RING; i++) {
		struct pp_slot *s = &pp.ring[i];

		if (s->p)
			pp_check(s, who, round, i);
		s->tag = tag_of(who, round * RING + i);
		if (s->p && (i + round) % 2) {
			pattern_fill(s->p, s->size, s->tag);
			pp.restamped++;
			continue;
		}
		if (s->p) {
			pp_free(s);
			pp.replaced++;
		}
		s->cached = xorshift64(rng) % 2;
		s->size = s->cached ? 96 : 8 + xorshift64(rng) % 2041;
		s->p = s->cached ? uslub_cache_alloc(pp.cache, 0)
				 : uslub_kmalloc(s->size, 0);
		if (!s->p) {
			pp.alloc_failed++;
			continue;
		}
		pattern_fill(s->p, s->size, s->tag);
	}
}

static void *pingpong(void *arg)
{
	unsigned int who = (unsigned int)(uintptr_t)arg;
	uint64_t rng = 0x9e3779b97f4a7c15ULL + who;
	unsigned long round;

	for (round = who; round < pp.rounds; round += 2) {
		pthread_mutex_lock(&pp.lock);
		while (pp.turn != who)
			pthread_cond_wait(&pp.cond, &pp.lock);
		pthread_mutex_unlock(&pp.lock);

		pp_turn(who, round, &rng);

		pthread_mutex_lock(&pp.lock);
		pp.turn = 1 - who;
		pthread_cond_signal(&pp.cond);
		pthread_mutex_unlock(&pp.lock);
	}
	return NULL;
}

TEST_BEGIN(test_xthread_pingpong)
{
	pthread_t th[2];
	struct slabrow row;
	unsigned int i, cached;

	memset(&pp, 0, sizeof(pp));
	pthread_mutex_init(&pp.lock, NULL);
	pthread_cond_init(&pp.cond, NULL);
	pp.rounds = stress_scale(40000) & ~1UL;
	pp.cache = uslub_cache_create("xt_pingpong96", 96, 0, 0, NULL);
	assert_ptr_not_null(pp.cache);

	for (i = 0; i < 2; i++)
		assert_d_eq(pthread_create(&th[i], NULL, pingpong,
					   (void *)(uintptr_t)i), 0);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);

	expect_u_eq(pp.alloc_failed, 0, "allocations that failed");
	expect_u_eq(pp.bad, 0, "objects whose pattern was broken");
	/* Round r replaces the slots with (i + r) even: RING/2 per round,
	 * none in round 0, which fills the ring. */
	expect_u_eq(pp.replaced, (pp.rounds - 1) * RING / 2, "objects replaced");
	expect_u_eq(pp.restamped, (pp.rounds - 1) * RING / 2, "objects restamped");
	for (i = 0, cached = 0; i < RING; i++)
		cached += pp.ring[i].p && pp.ring[i].cached;
	assert_true(slabinfo_find("xt_pingpong96", &row), "cache listed");
	expect_u_eq(row.active_objs, cached, "active_objs: the ring's objects "
		    "from the cache, with both threads gone");
	for (i = 0; i < RING; i++) {
		if (!pp.ring[i].p)
			continue;
		pp_check(&pp.ring[i], 2, pp.rounds, i);
		pp_free(&pp.ring[i]);
	}
	assert_true(slabinfo_find("xt_pingpong96", &row), "cache listed");
	expect_u_eq(row.active_objs, 0, "active_objs after freeing the ring");
	expect_d_eq(uslub_cache_destroy(pp.cache), 0, "destroy");
	pthread_cond_destroy(&pp.cond);
	pthread_mutex_destroy(&pp.lock);
}
TEST_END

int main(void)
{
	return test(test_xthread_queue, test_xthread_pingpong, NULL);
}
