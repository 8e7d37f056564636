/*
 * Stress: thousands of short-lived threads, and memory they leave behind.
 *
 * test_churn_rounds: rounds of short-lived threads (2000 in all; 200 under
 * ThreadSanitizer, 20000 with USLUB_STRESS=heavy; 8 rounds or more, of at
 * most 250 threads), at most WINDOW alive at once; each allocates a few
 * hundred objects (kmalloc of mixed sizes and a user cache), stamps them
 * and exits, leaving them in a global array.  The
 * main thread checks and frees them all after the joins.  Round over round:
 * active objects return to 0, the kmalloc caches' active objects return to
 * the same count, the user cache's slab count at the peak does not grow
 * (slabs freed after their threads exited are reused), uslub's slab
 * bytes at the peak stay within SLAB_GROWTH of the first round's, and RSS
 * within RSS_SLACK (plus the sanitizers' per-thread memory).  At the
 * end a shrink leaves the
 * user cache without any slab.
 * test_reuse_after_exit: one thread at a time allocates a whole number of
 * slabs' worth and exits, the main thread frees everything: each round
 * needs exactly as many slabs as the first.
 * test_free_while_exiting: objects are freed by reaper threads while the
 * threads that allocated them exit (deactivation racing remote frees).
 * test_thread_burst: 300 threads alive at once, more than 256 (a second
 * chunk of the thread registry and of the caches' cpu slot directory).
 * test_alloc_in_key_destructor: threads allocate in a pthread key
 * destructor that runs after uslub's own (the thread gets a new state,
 * which uslub must release too): nothing stays frozen, RSS stays flat.
 */
#include "test.h"

#include "uslub.h"
#include "os.h"
#include "types.h"
#include "stress.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX(a, b)	((a) > (b) ? (a) : (b))

#define MIN_ROUNDS	8
#define ROUND_THREADS	250		/* threads per round at most (plain) */
#define WINDOW		16		/* threads alive at once */
#define PER_THREAD	200		/* objects each thread leaves */
#define RSS_SLACK	(16 * MiB)
/*
 * Sanitizer runtimes keep memory per thread that ever ran (ASan's thread
 * records and quarantine, TSan's thread contexts and shadow), which shows
 * in RSS but is not uslub's: allow that much more per thread created.
 * Measured under TSan: RSS grew by 15-24 MiB over the 175 threads after
 * the first round while uslub's slabs grew by 1.1-1.4 MiB (90-140 KiB
 * a thread in all); what uslub holds is bounded on its own (SLAB_GROWTH).
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || \
	USLUB_CONFIG_TSAN
#define RSS_PER_THREAD	(128 * KiB)
#else
#define RSS_PER_THREAD	0
#endif
#define STACK_SIZE	(256 * KiB)
/* uslub's slab bytes at a round's peak, against the first round's: the
 * objects freed are reused, and what later rounds add is what the threads
 * that just exited left in their sheaves and partial slabs. */
#define SLAB_GROWTH(first)	((first) / 2 + 2 * MiB)

static int thread_start(pthread_t *th, void *(*fn)(void *), uintptr_t arg)
{
	pthread_attr_t attr;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	err = pthread_create(th, &attr, fn, (void *)arg);
	pthread_attr_destroy(&attr);
	return err;
}

/* Runs fn(0..n-1) on n threads, at most window of them alive at once. */
static unsigned long run_windowed(void *(*fn)(void *), unsigned long n,
				  unsigned long window)
{
	pthread_t *th = calloc(n, sizeof(*th));
	unsigned long i, failed = 0;

	if (!th)
		return n;
	for (i = 0; i < n; i++) {
		if (i >= window && !pthread_equal(th[i - window], pthread_self()))
			pthread_join(th[i - window], NULL);
		if (thread_start(&th[i], fn, i) != 0) {
			failed++;
			th[i] = pthread_self();
		}
	}
	for (i = n > window ? n - window : 0; i < n; i++)
		if (!pthread_equal(th[i], pthread_self()))
			pthread_join(th[i], NULL);
	free(th);
	return failed;
}

/* ---- Objects left behind --------------------------------------------- */

struct obj {
	void *p;
	size_t size;
	uint64_t tag;
	bool cached;		/* from the user cache, else kmalloc */
};

/* Allocates and stamps o: 1/3 from cache, else kmalloc: 1/128 large
 * (16..64 KiB), 1/8 8..8192, the rest 8..1024 bytes. */
static bool obj_alloc(struct obj *o, struct uslub_cache *cache,
		      size_t cache_size, uint64_t *rng, uint64_t tag)
{
	uint64_t r = xorshift64(rng);

	o->cached = r % 3 == 0;
	if (o->cached)
		o->size = cache_size;
	else if ((r >> 8) % 128 == 0)
		o->size = 16 * KiB + (size_t)((r >> 16) % (48 * KiB));
	else if ((r >> 8) % 8 == 0)
		o->size = 8 + (size_t)((r >> 16) % (8192 - 8 + 1));
	else
		o->size = 8 + (size_t)((r >> 16) % (1024 - 8 + 1));
	o->tag = tag;
	o->p = o->cached ? uslub_cache_alloc(cache, 0)
			 : uslub_kmalloc(o->size, 0);
	if (!o->p)
		return false;
	pattern_fill(o->p, o->size, tag);
	return true;
}

/* Checks and frees o; false if its pattern was broken. */
static bool obj_free(struct obj *o, struct uslub_cache *cache,
		     unsigned long *reports, const char *who)
{
	size_t off = pattern_check(o->p, o->size, o->tag);
	bool ok = off == SIZE_MAX;

	if (!ok && __atomic_fetch_add(reports, 1, __ATOMIC_RELAXED) < MAX_REPORTS)
		expect_zu_eq(off, SIZE_MAX, "%s: object %p (size %zu, %s) "
			     "corrupt at offset", who, o->p, o->size,
			     o->cached ? "cache" : "kmalloc");
	if (o->cached)
		uslub_cache_free(cache, o->p);
	else
		uslub_kfree(o->p);
	o->p = NULL;
	return ok;
}

/* ---- test_churn_rounds ----------------------------------------------- */

static struct churn {
	struct uslub_cache *cache;
	struct obj *objs;		/* PER_THREAD per thread of a round */
	unsigned int round;		/* set before the round's threads */
	unsigned long alloc_failed;	/* atomic */
	unsigned long reports;		/* atomic */
} ch;

static void *churn_worker(void *arg)
{
	uintptr_t t = (uintptr_t)arg;
	uint64_t rng = mix64((uint64_t)ch.round << 32 | t);
	struct obj *o = &ch.objs[t * PER_THREAD];
	unsigned int j;

	for (j = 0; j < PER_THREAD; j++)
		if (!obj_alloc(&o[j], ch.cache, 80, &rng,
			       mix64(((uint64_t)ch.round << 48) ^
				     (t * PER_THREAD + j))))
			__atomic_fetch_add(&ch.alloc_failed, 1, __ATOMIC_RELAXED);
	return NULL;
}

TEST_BEGIN(test_churn_rounds)
{
	unsigned long threads = stress_scale(2000);
	unsigned int rounds = MAX(MIN_ROUNDS, threads / ROUND_THREADS), r;
	unsigned long per_round = threads / rounds;
	unsigned long i, n = per_round * PER_THREAD, ncached, bad;
	unsigned long kmalloc_base = 0, kmalloc_now, failed_threads = 0;
	unsigned long *peak_slabs = calloc(rounds, sizeof(*peak_slabs));
	size_t *rss_peak = calloc(rounds, sizeof(*rss_peak));
	size_t *slab_peak = calloc(rounds, sizeof(*slab_peak));
	struct uslub_heap_stats hs;
	size_t *rss_freed = calloc(rounds, sizeof(*rss_freed)), slack;
	struct uslub_cache *purge;
	struct slabrow row;

	assert_ptr_not_null(peak_slabs);
	assert_ptr_not_null(rss_peak);
	assert_ptr_not_null(slab_peak);
	assert_ptr_not_null(rss_freed);
	memset(&ch, 0, sizeof(ch));
	ch.cache = uslub_cache_create("churn_obj80", 80, 0, 0, NULL);
	/* Shrinking an unused cache only gives free pages back to the OS. */
	purge = uslub_cache_create("churn_purge", 32, 0, 0, NULL);
	ch.objs = calloc(n, sizeof(*ch.objs));
	assert_ptr_not_null(ch.cache);
	assert_ptr_not_null(purge);
	assert_ptr_not_null(ch.objs);

	for (r = 0; r < rounds; r++) {
		ch.round = r;
		failed_threads += run_windowed(churn_worker, per_round, WINDOW);
		rss_peak[r] = os_rss_bytes();
		uslub_heap_stats_get(&hs);
		slab_peak[r] = hs.slab_bytes;
		for (i = 0, ncached = 0; i < n; i++)
			ncached += ch.objs[i].p && ch.objs[i].cached;
		expect_true(slabinfo_find("churn_obj80", &row),
			    "round %u: cache listed", r);
		expect_u_eq(row.active_objs, ncached,
			    "round %u: active_objs with the threads gone", r);
		peak_slabs[r] = row.num_slabs;

		for (i = 0, bad = 0; i < n; i++)
			if (ch.objs[i].p)
				bad += !obj_free(&ch.objs[i], ch.cache,
						 &ch.reports, "main");
		expect_u_eq(bad, 0, "round %u: objects corrupt", r);
		uslub_cache_shrink(purge);
		rss_freed[r] = os_rss_bytes();
		expect_true(slabinfo_read("churn_obj80", &row, &kmalloc_now),
			    "round %u: cache listed", r);
		expect_u_eq(row.active_objs, 0, "round %u: active_objs after "
			    "freeing", r);
		if (r == 0)
			kmalloc_base = kmalloc_now;
		expect_u_eq(kmalloc_now, kmalloc_base, "round %u: active_objs "
			    "of the kmalloc caches after freeing, vs round 0 "
			    "(thread exit must free each thread's cpu slots)", r);
	}
	expect_u_eq(failed_threads, 0, "pthread_create failures");
	expect_u_eq(ch.alloc_failed, 0, "allocations that failed");
	/*
	 * Freed slabs are reused, so the peak does not grow round over round;
	 * it varies with the slabs that the last WINDOW threads left partly
	 * used (a cpu slab and a few cpu partial slabs each): allow a quarter
	 * more, and at least 4 slabs per thread alive at once.
	 */
	for (r = 1; r < rounds; r++)
		expect_u_le(peak_slabs[r], peak_slabs[0] +
			    MAX(peak_slabs[0] / 4, 4 * WINDOW),
			    "round %u: slabs of the user cache at the peak vs "
			    "round 0's: freed objects must be reused", r);
	for (r = 1; r < rounds; r++)
		expect_zu_le(slab_peak[r], slab_peak[0] +
			     SLAB_GROWTH(slab_peak[0]),
			     "round %u: uslub's slab bytes at the peak vs round "
			     "0's", r);
	slack = RSS_SLACK + RSS_PER_THREAD * per_round * (rounds - 1);
	expect_zu_le(rss_peak[rounds - 1], rss_peak[0] + slack,
		     "RSS at the peak of the last round vs the first");
	expect_zu_le(rss_freed[rounds - 1], rss_freed[0] + slack,
		     "RSS after freeing, last round vs the first");

	expect_d_eq(uslub_cache_shrink(ch.cache), 0, "shrink: no slab left");
	expect_true(slabinfo_find("churn_obj80", &row), "cache listed");
	expect_u_eq(row.num_slabs, 0, "num_slabs after freeing and shrinking");
	expect_d_eq(uslub_cache_destroy(ch.cache), 0, "destroy churn_obj80");
	expect_d_eq(uslub_cache_destroy(purge), 0, "destroy churn_purge");
	free(ch.objs);
	free(rss_freed);
	free(rss_peak);
	free(slab_peak);
	free(peak_slabs);
}
TEST_END

/* ---- test_reuse_after_exit ------------------------------------------- */

#define REUSE_SLABS	24

static struct reuse {
	struct uslub_cache *cache;
	void **objs;
	unsigned long n;
	unsigned long alloc_failed;
} ru;

static void *reuse_worker(void *arg)
{
	unsigned long i;

	(void)arg;
	for (i = 0; i < ru.n; i++) {
		ru.objs[i] = uslub_cache_alloc(ru.cache, 0);
		if (!ru.objs[i])
			ru.alloc_failed++;
		else
			memset(ru.objs[i], 0x3c, 128);
	}
	return NULL;
}

TEST_BEGIN(test_reuse_after_exit)
{
	unsigned long rounds = stress_scale(200), r, i, first = 0;
	unsigned long mismatched = 0, slack;
	struct slabrow row;
	pthread_t th;

	memset(&ru, 0, sizeof(ru));
	ru.cache = uslub_cache_create("churn_reuse128", 128, 0, 0, NULL);
	assert_ptr_not_null(ru.cache);
	assert_true(slabinfo_find("churn_reuse128", &row), "cache listed");
	assert_u_gt(row.objperslab, 0);
	ru.n = REUSE_SLABS * row.objperslab;
	slack = DIV_ROUND_UP(2 * ru.cache->sheaf_capacity, row.objperslab);
	ru.objs = calloc(ru.n, sizeof(*ru.objs));
	assert_ptr_not_null(ru.objs);

	for (r = 0; r < rounds; r++) {
		assert_d_eq(thread_start(&th, reuse_worker, 0), 0);
		pthread_join(th, NULL);
		expect_true(slabinfo_find("churn_reuse128", &row), "listed");
		/* The objects freed by this thread wait in its sheaves (two
		 * at most) and the barn, which the next worker refills from;
		 * only what this thread's own sheaves hold can need more
		 * slabs, and never more from round to round. */
		if (r == 0) {
			first = row.num_slabs;
			expect_u_eq(first, REUSE_SLABS,
				    "a whole number of slabs, packed");
		} else if (row.num_slabs > first + slack &&
			   mismatched++ < MAX_REPORTS) {
			expect_u_le(row.num_slabs, first + slack, "round %lu: "
				    "slabs after another thread allocated the "
				    "same number of objects", r);
		}
		expect_u_eq(row.active_objs, ru.n, "round %lu: active", r);
		for (i = 0; i < ru.n; i++)
			uslub_cache_free(ru.cache, ru.objs[i]);
	}
	expect_u_eq(ru.alloc_failed, 0, "allocations that failed");
	expect_u_eq(mismatched, 0, "rounds that needed more slabs");
	expect_d_eq(uslub_cache_shrink(ru.cache), 0, "shrink: no slab left");
	expect_true(slabinfo_find("churn_reuse128", &row), "listed");
	expect_u_eq(row.num_slabs, 0, "num_slabs after shrink");
	expect_u_eq(row.active_objs, 0, "active_objs");
	expect_d_eq(uslub_cache_destroy(ru.cache), 0, "destroy");
	free(ru.objs);
}
TEST_END

/* ---- test_free_while_exiting ----------------------------------------- */

#define BATCH		16
#define NREAPERS	2
#define MAILBOX_CAP	64		/* batches */

struct batch {
	struct obj o[BATCH];
};

static struct fwe {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct batch *box[MAILBOX_CAP];	/* under lock */
	unsigned int head, count;	/* under lock */
	bool done;			/* under lock */
	struct uslub_cache *cache;
	unsigned long allocated, freed, alloc_failed, reports;	/* atomic */
} fw;

static void fw_put(struct batch *b)
{
	pthread_mutex_lock(&fw.lock);
	while (fw.count == MAILBOX_CAP)
		pthread_cond_wait(&fw.cond, &fw.lock);
	fw.box[(fw.head + fw.count++) % MAILBOX_CAP] = b;
	pthread_cond_broadcast(&fw.cond);
	pthread_mutex_unlock(&fw.lock);
}

static struct batch *fw_get(void)
{
	struct batch *b = NULL;

	pthread_mutex_lock(&fw.lock);
	while (fw.count == 0 && !fw.done)
		pthread_cond_wait(&fw.cond, &fw.lock);
	if (fw.count) {
		b = fw.box[fw.head];
		fw.head = (fw.head + 1) % MAILBOX_CAP;
		fw.count--;
		pthread_cond_broadcast(&fw.cond);
	}
	pthread_mutex_unlock(&fw.lock);
	return b;
}

/* Allocates a few batches, posts them, and exits at once: the last
 * batch is being freed while this thread's slabs are deactivated. */
static void *fw_allocator(void *arg)
{
	uintptr_t t = (uintptr_t)arg;
	uint64_t rng = mix64(t + 0x5151);
	unsigned int k, j;

	for (k = 0; k < 8; k++) {
		struct batch *b = malloc(sizeof(*b));

		if (!b)
			break;
		for (j = 0; j < BATCH; j++) {
			if (!obj_alloc(&b->o[j], fw.cache, 48, &rng,
				       mix64(t << 16 | k << 8 | j)))
				__atomic_fetch_add(&fw.alloc_failed, 1,
						   __ATOMIC_RELAXED);
			else
				__atomic_fetch_add(&fw.allocated, 1,
						   __ATOMIC_RELAXED);
		}
		fw_put(b);
	}
	return NULL;
}

static void *fw_reaper(void *arg)
{
	struct batch *b;
	unsigned int j;

	(void)arg;
	while ((b = fw_get())) {
		for (j = 0; j < BATCH; j++) {
			if (!b->o[j].p)
				continue;
			obj_free(&b->o[j], fw.cache, &fw.reports, "reaper");
			__atomic_fetch_add(&fw.freed, 1, __ATOMIC_RELAXED);
		}
		free(b);
	}
	return NULL;
}

TEST_BEGIN(test_free_while_exiting)
{
	unsigned long nthreads = stress_scale(1000);
	pthread_t reapers[NREAPERS];
	struct slabrow row;
	unsigned int i;

	memset(&fw, 0, sizeof(fw));
	pthread_mutex_init(&fw.lock, NULL);
	pthread_cond_init(&fw.cond, NULL);
	fw.cache = uslub_cache_create("churn_exit48", 48, 0, 0, NULL);
	assert_ptr_not_null(fw.cache);
	for (i = 0; i < NREAPERS; i++)
		assert_d_eq(thread_start(&reapers[i], fw_reaper, i), 0);
	expect_u_eq(run_windowed(fw_allocator, nthreads, 8), 0,
		    "pthread_create failures");
	pthread_mutex_lock(&fw.lock);
	fw.done = true;
	pthread_cond_broadcast(&fw.cond);
	pthread_mutex_unlock(&fw.lock);
	for (i = 0; i < NREAPERS; i++)
		pthread_join(reapers[i], NULL);

	expect_u_eq(fw.alloc_failed, 0, "allocations that failed");
	expect_u_eq(fw.allocated, nthreads * 8 * BATCH, "objects allocated");
	expect_u_eq(fw.freed, fw.allocated, "objects freed");
	expect_u_eq(fw.reports, 0, "objects corrupt");
	expect_true(slabinfo_find("churn_exit48", &row), "listed");
	expect_u_eq(row.active_objs, 0, "active_objs");
	expect_d_eq(uslub_cache_shrink(fw.cache), 0, "shrink: no slab left");
	expect_true(slabinfo_find("churn_exit48", &row), "listed");
	expect_u_eq(row.num_slabs, 0, "num_slabs after shrink");
	expect_d_eq(uslub_cache_destroy(fw.cache), 0, "destroy");
	pthread_cond_destroy(&fw.cond);
	pthread_mutex_destroy(&fw.lock);
}
TEST_END

/* ---- test_thread_burst ----------------------------------------------- */

#define BURST_OBJS	32
#define BURST_MAX	1000

static struct burst {
	struct uslub_cache *cache;
	pthread_barrier_t all_alive;
	struct obj *objs;		/* BURST_OBJS per thread */
	unsigned long alloc_failed, reports;	/* atomic */
} bu;

static void *burst_worker(void *arg)
{
	uintptr_t t = (uintptr_t)arg;
	uint64_t rng = mix64(t + 0xb0b0);
	struct obj *o = &bu.objs[t * BURST_OBJS];
	unsigned int j;

	for (j = 0; j < BURST_OBJS; j++)
		if (!obj_alloc(&o[j], bu.cache, 160, &rng, mix64(t << 8 | j)))
			__atomic_fetch_add(&bu.alloc_failed, 1, __ATOMIC_RELAXED);
	pthread_barrier_wait(&bu.all_alive);
	/* Free the even ones here, leave the odd ones to the main thread. */
	for (j = 0; j < BURST_OBJS; j += 2)
		if (o[j].p)
			obj_free(&o[j], bu.cache, &bu.reports, "burst");
	return NULL;
}

TEST_BEGIN(test_thread_burst)
{
	/* Above 256 in every flavour; at most BURST_MAX (memory). */
	unsigned long n = USLUB_CONFIG_TSAN ? 300 : stress_scale(300), i;
	unsigned long started = 0;
	pthread_t *th;
	struct slabrow row;

	if (n > BURST_MAX)
		n = BURST_MAX;
	th = calloc(n, sizeof(*th));
	memset(&bu, 0, sizeof(bu));
	bu.cache = uslub_cache_create("churn_burst160", 160, 0, 0, NULL);
	bu.objs = calloc(n * BURST_OBJS, sizeof(*bu.objs));
	assert_ptr_not_null(th);
	assert_ptr_not_null(bu.cache);
	assert_ptr_not_null(bu.objs);
	pthread_barrier_init(&bu.all_alive, NULL, (unsigned int)n);
	for (i = 0; i < n; i++)
		started += thread_start(&th[i], burst_worker, i) == 0;
	/* A thread that did not start would leave the others waiting. */
	assert_u_eq(started, n, "threads started");
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);

	expect_u_eq(bu.alloc_failed, 0, "allocations that failed");
	expect_true(slabinfo_find("churn_burst160", &row), "listed");
	for (i = 0; i < n * BURST_OBJS; i++)
		if (bu.objs[i].p)
			obj_free(&bu.objs[i], bu.cache, &bu.reports, "main");
	expect_u_eq(bu.reports, 0, "objects corrupt");
	expect_true(slabinfo_find("churn_burst160", &row), "listed");
	expect_u_eq(row.active_objs, 0, "active_objs");
	expect_d_eq(uslub_cache_shrink(bu.cache), 0, "shrink: no slab left");
	expect_true(slabinfo_find("churn_burst160", &row), "listed");
	expect_u_eq(row.num_slabs, 0, "num_slabs after shrink");
	expect_d_eq(uslub_cache_destroy(bu.cache), 0, "destroy");
	pthread_barrier_destroy(&bu.all_alive);
	free(bu.objs);
	free(th);
}
TEST_END

/* ---- test_alloc_in_key_destructor ----------------------------------- */

#define KD_OBJS		8

static struct keydtor {
	pthread_key_t key;		/* created after uslub's own key */
	unsigned long base;		/* first thread index of the phase */
	struct uslub_cache *cache;
	struct obj *objs;		/* KD_OBJS per thread, left for main */
	unsigned long ran, alloc_failed, reports;	/* atomic */
} kd;

/*
 * Runs after uslub's thread-exit destructor has released the thread's
 * state (its key is older): allocating here gives the thread a new state,
 * which uslub must release on glibc's next destructor round.
 */
static void kd_destructor(void *arg)
{
	uintptr_t t = (uintptr_t)arg - 1;
	uint64_t rng = mix64(t + 0xdead);
	struct obj *o = &kd.objs[t * KD_OBJS];
	struct obj tmp;
	unsigned int j;

	for (j = 0; j < KD_OBJS; j++) {
		if (!obj_alloc(&o[j], kd.cache, 112, &rng, mix64(t << 8 | j)))
			__atomic_fetch_add(&kd.alloc_failed, 1, __ATOMIC_RELAXED);
		if (!obj_alloc(&tmp, kd.cache, 112, &rng, 1))
			__atomic_fetch_add(&kd.alloc_failed, 1, __ATOMIC_RELAXED);
		else
			obj_free(&tmp, kd.cache, &kd.reports, "destructor");
	}
	__atomic_fetch_add(&kd.ran, 1, __ATOMIC_RELAXED);
}

static void *kd_worker(void *arg)
{
	uintptr_t t = kd.base + (uintptr_t)arg;
	void *p = uslub_kmalloc(64, 0);		/* a state before exit */

	uslub_kfree(p);
	pthread_setspecific(kd.key, (void *)(t + 1));
	return NULL;
}

TEST_BEGIN(test_alloc_in_key_destructor)
{
	unsigned long half = stress_scale(2000) / 2, i, bad;
	size_t rss[2];
	struct slabrow row;
	unsigned int phase;

	memset(&kd, 0, sizeof(kd));
	/* uslub's key exists once any thread has allocated: this one is
	 * younger, so glibc calls its destructor after uslub's. */
	uslub_kfree(uslub_kmalloc(8, 0));
	assert_d_eq(pthread_key_create(&kd.key, kd_destructor), 0);
	kd.cache = uslub_cache_create("churn_keydtor112", 112, 0, 0, NULL);
	kd.objs = calloc(2 * half * KD_OBJS, sizeof(*kd.objs));
	assert_ptr_not_null(kd.cache);
	assert_ptr_not_null(kd.objs);

	for (phase = 0; phase < 2; phase++) {
		kd.base = phase * half;
		expect_u_eq(run_windowed(kd_worker, half, WINDOW), 0,
			    "phase %u: pthread_create failures", phase);
		expect_u_eq(kd.ran, (phase + 1) * half,
			    "phase %u: destructors that ran", phase);
		bad = 0;
		for (i = kd.base * KD_OBJS; i < (kd.base + half) * KD_OBJS; i++)
			if (kd.objs[i].p)
				bad += !obj_free(&kd.objs[i], kd.cache,
						 &kd.reports, "main");
		expect_u_eq(bad, 0, "phase %u: objects corrupt", phase);
		expect_true(slabinfo_find("churn_keydtor112", &row), "listed");
		expect_u_eq(row.active_objs, 0, "phase %u: active_objs", phase);
		/* A thread state left behind would keep its cpu slab frozen. */
		expect_d_eq(uslub_cache_shrink(kd.cache), 0,
			    "phase %u: shrink: no slab left", phase);
		expect_true(slabinfo_find("churn_keydtor112", &row), "listed");
		expect_u_eq(row.num_slabs, 0, "phase %u: num_slabs after "
			    "shrink", phase);
		rss[phase] = os_rss_bytes();
	}
	expect_u_eq(kd.alloc_failed, 0, "allocations that failed");
	expect_zu_le(rss[1], rss[0] + RSS_SLACK + RSS_PER_THREAD * half,
		     "RSS after the second half of the threads vs the first");
	expect_d_eq(uslub_cache_destroy(kd.cache), 0, "destroy");
	pthread_key_delete(kd.key);
	free(kd.objs);
}
TEST_END

int main(void)
{
	return test(test_churn_rounds, test_reuse_after_exit,
		    test_free_while_exiting, test_thread_burst,
		    test_alloc_in_key_destructor, NULL);
}
