/*
 * Stress test of SLAB_TYPESAFE_BY_RCU: readers take pointers to objects
 * of a TYPESAFE cache from a shared table under uslub_rcu_read_lock,
 * sleep, then check the magic word the ctor set, still under the lock.
 * Meanwhile writers publish new objects, unpublish and free all of theirs
 * and shrink the cache (every slab is discarded, its pages purged when
 * they come back), and a filler thread takes pages through another cache
 * and large kmalloc blocks and stamps them with a pattern.  Objects may
 * be reused by the cache at once (the magic stays); their pages may not
 * leave it before a grace period.  A reader that sees the magic broken
 * touched memory that stopped being an object of the cache.
 */
#include "test.h"
#include "uslub.h"
#include "stress.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC		0x7e57ab1e5afe0bb5ULL
#define FILL		0x5a		/* what the filler stamps */
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NR_READERS	2
#define NR_WRITERS	2
#define NR_SLOTS	512		/* per writer */
#define NR_ALL		(NR_WRITERS * NR_SLOTS)
#define FILL_BLOCKS	64

struct tobj {
	uint64_t magic;			/* ctor only */
	uint64_t key;			/* writers, relaxed */
	char pad[240];
};

static struct uslub_cache *cache;
static struct tobj *slots[NR_ALL];	/* release/acquire */
static int writers_left;					/* atomic */
static unsigned long rounds;
static unsigned long broken, checked, sections;		/* atomic */

static void tobj_ctor(void *p)
{
	struct tobj *o = p;

	o->magic = MAGIC;
	o->key = 0;
}

static bool running(void)
{
	return __atomic_load_n(&writers_left, __ATOMIC_ACQUIRE) > 0;
}

static void *reader_main(void *arg)
{
	unsigned long bad = 0, n = 0, secs = 0;
	struct tobj **snap = malloc(NR_ALL * sizeof(*snap));
	unsigned int i;

	(void)arg;
	uslub_rcu_register_thread();
	while (running()) {
		uslub_rcu_read_lock();
		for (i = 0; i < NR_ALL; i++)
			snap[i] = __atomic_load_n(&slots[i], __ATOMIC_ACQUIRE);
		usleep(200);		/* let writers and the filler run */
		for (i = 0; i < NR_ALL; i++) {
			uint64_t m;

			if (!snap[i])
				continue;
			m = __atomic_load_n(&snap[i]->magic, __ATOMIC_RELAXED);
			n++;
			if (m != MAGIC && bad++ < MAX_REPORTS)
				test_fail(false, __FILE__, __LINE__,
					  "magic broken under the read lock",
					  "object %p: %#llx", (void *)snap[i],
					  (unsigned long long)m);
		}
		uslub_rcu_read_unlock();
		secs++;
	}
	uslub_rcu_unregister_thread();
	free(snap);
	__atomic_fetch_add(&broken, bad, __ATOMIC_RELAXED);
	__atomic_fetch_add(&checked, n, __ATOMIC_RELAXED);
	__atomic_fetch_add(&sections, secs, __ATOMIC_RELAXED);
	return NULL;
}

static void *writer_main(void *arg)
{
	unsigned int w = (unsigned int)(uintptr_t)arg, i;
	struct tobj **mine = &slots[w * NR_SLOTS];
	unsigned long r;

	for (r = 0; r < rounds; r++) {
		for (i = 0; i < NR_SLOTS; i++) {
			struct tobj *o = uslub_cache_alloc(cache, 0);

			if (!o) {
				test_fail(false, __FILE__, __LINE__,
					  "cache_alloc", "out of memory");
				break;
			}
			__atomic_store_n(&o->key, (r << 32) | i,
					 __ATOMIC_RELAXED);
			__atomic_store_n(&mine[i], o, __ATOMIC_RELEASE);
		}
		for (i = 0; i < NR_SLOTS; i++) {
			struct tobj *o = __atomic_exchange_n(&mine[i], NULL,
							     __ATOMIC_ACQ_REL);

			if (o)
				uslub_cache_free(cache, o);
		}
		uslub_cache_shrink(cache);	/* discard every empty slab */
	}
	__atomic_fetch_sub(&writers_left, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Takes pages through another cache and large blocks, fills them. */
static void *filler_main(void *arg)
{
	struct uslub_cache *other = uslub_cache_create("rcu_filler",
						       sizeof(struct tobj),
						       0, 0, NULL);
	void *objs[FILL_BLOCKS * 16], *large[FILL_BLOCKS / 8];
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	unsigned int i;

	(void)arg;
	while (running()) {
		for (i = 0; i < ARRAY_SIZE(objs); i++) {
			objs[i] = uslub_cache_alloc(other, 0);
			if (objs[i])
				memset(objs[i], FILL, sizeof(struct tobj));
		}
		for (i = 0; i < ARRAY_SIZE(large); i++) {
			size_t size = (size_t)(2 + xorshift64(&seed) % 7) * 4096;

			large[i] = uslub_kmalloc(size, 0);
			if (large[i])
				memset(large[i], FILL, size);
		}
		sched_yield();
		for (i = 0; i < ARRAY_SIZE(objs); i++)
			uslub_cache_free(other, objs[i]);
		for (i = 0; i < ARRAY_SIZE(large); i++)
			uslub_kfree(large[i]);
		uslub_cache_shrink(other);
	}
	uslub_cache_destroy(other);
	return NULL;
}

TEST_BEGIN(test_readers_never_see_pages_leave)
{
	pthread_t readers[NR_READERS], writers[NR_WRITERS], filler;
	uintptr_t i;

	cache = uslub_cache_create("rcu_typesafe_stress", sizeof(struct tobj),
				   0, USLUB_TYPESAFE_BY_RCU, tobj_ctor);
	assert_ptr_not_null(cache, "cache");
	rounds = stress_scale(400);
	writers_left = NR_WRITERS;
	for (i = 0; i < NR_READERS; i++)
		assert_d_eq(pthread_create(&readers[i], NULL, reader_main,
					   (void *)i), 0, "reader");
	for (i = 0; i < NR_WRITERS; i++)
		assert_d_eq(pthread_create(&writers[i], NULL, writer_main,
					   (void *)i), 0, "writer");
	assert_d_eq(pthread_create(&filler, NULL, filler_main, NULL), 0,
		    "filler");
	for (i = 0; i < NR_WRITERS; i++)
		pthread_join(writers[i], NULL);
	for (i = 0; i < NR_READERS; i++)
		pthread_join(readers[i], NULL);
	pthread_join(filler, NULL);

	printf("# %lu rounds, %lu read sections, %lu objects checked\n",
	       rounds, sections, checked);
	expect_lu_eq(broken, 0, "objects whose magic broke under the lock");
	expect_lu_gt(checked, 0, "readers saw objects");
	uslub_rcu_barrier();
	expect_d_eq(uslub_cache_destroy(cache), 0, "destroy");
}
TEST_END

int main(void)
{
	return test(test_readers_never_see_pages_leave, NULL);
}
