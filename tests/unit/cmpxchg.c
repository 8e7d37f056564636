/*
 * Unit tests for the 16-byte compare-and-swap (lib/atomic.h cmpxchg16b) and
 * its one user, slab_update_freelist (lib/slab.c).
 *
 * Checked: success and failure when either half alone differs, that a
 * failed CAS leaves memory untouched, the layout of struct slab's
 * {freelist, counters} pair (offsets and 16-byte alignment of real
 * descriptors), 4 threads x 100k CAS increments of a split 128-bit value,
 * and the CMPXCHG_DOUBLE and CMPXCHG_DOUBLE_FAIL counters of a
 * kmem_cache_cpu.
 */
#include "test.h"

#include "alloc.h"
#include "pagemap.h"
#include "slab.h"

#include <pthread.h>
#include <stdalign.h>

#define NTHREADS	4
#define NINCS		100000

/* A 128-bit word seen as its two 64-bit halves (x86-64: lo first). */
union pair {
	u128 v;
	struct {
		uint64_t lo, hi;
	};
};

static u128 mk(uint64_t lo, uint64_t hi)
{
	return (u128)lo | ((u128)hi << 64);
}

static uint64_t lo_of(u128 v)
{
	return (uint64_t)v;
}

static uint64_t hi_of(u128 v)
{
	return (uint64_t)(v >> 64);
}

static alignas(16) union pair word;

TEST_BEGIN(test_cas_success)
{
	word.v = mk(0x1111, 0x2222);
	expect_true(cmpxchg16b(&word.v, mk(0x1111, 0x2222), mk(0xaaaa, 0xbbbb)),
		    "both halves match: the CAS succeeds");
	expect_u_eq(word.lo, 0xaaaa, "low half stored");
	expect_u_eq(word.hi, 0xbbbb, "high half stored");

	/* Change only one half of the value, with a correct expectation. */
	expect_true(cmpxchg16b(&word.v, mk(0xaaaa, 0xbbbb), mk(0xaaaa, 0xcccc)),
		    "changing only the high word");
	expect_u_eq(word.lo, 0xaaaa, "low half unchanged");
	expect_u_eq(word.hi, 0xcccc, "high half changed");
	expect_true(cmpxchg16b(&word.v, mk(0xaaaa, 0xcccc), mk(0xdddd, 0xcccc)),
		    "changing only the low word");
	expect_u_eq(word.lo, 0xdddd, "low half changed");
	expect_u_eq(word.hi, 0xcccc, "high half unchanged");

	/* All 128 bits take part: values with every bit set. */
	word.v = mk(~0ULL, ~0ULL);
	expect_true(cmpxchg16b(&word.v, mk(~0ULL, ~0ULL), mk(0, 1ULL << 63)),
		    "all-ones expectation");
	expect_u_eq(word.lo, 0, "low half zero");
	expect_u_eq(word.hi, 1ULL << 63, "top bit of the high half");
}
TEST_END

TEST_BEGIN(test_cas_failure)
{
	word.v = mk(0x1234, 0x5678);
	/* Only the high word of the expectation is wrong. */
	expect_false(cmpxchg16b(&word.v, mk(0x1234, 0x5679), mk(1, 2)),
		     "high half differs: the CAS fails");
	expect_u_eq(word.lo, 0x1234, "low half untouched after failure");
	expect_u_eq(word.hi, 0x5678, "high half untouched after failure");
	/* Only the low word of the expectation is wrong. */
	expect_false(cmpxchg16b(&word.v, mk(0x1235, 0x5678), mk(1, 2)),
		     "low half differs: the CAS fails");
	expect_u_eq(word.lo, 0x1234, "low half untouched after failure");
	expect_u_eq(word.hi, 0x5678, "high half untouched after failure");
	/* A difference in bit 64 only, and in bit 63 only. */
	expect_false(cmpxchg16b(&word.v, mk(0x1234, 0x5678 ^ 1), mk(1, 2)),
		     "bit 64 differs");
	expect_false(cmpxchg16b(&word.v, mk(0x1234 ^ (1ULL << 63), 0x5678),
		     mk(1, 2)), "bit 63 differs");
	expect_u_eq(lo_of(word.v), 0x1234, "still the old low half");
	expect_u_eq(hi_of(word.v), 0x5678, "still the old high half");
}
TEST_END

TEST_BEGIN(test_slab_pair_layout)
{
	struct uslub_cache *s;
	void *objs[3];
	size_t sizes[3] = { 8, 700, 64 << 10 };
	unsigned int i;

	expect_zu_eq(offsetof(struct slab, freelist), 0, "freelist first");
	expect_zu_eq(offsetof(struct slab, counters), 8, "counters second");
	expect_zu_eq(offsetof(struct slab, freelist_counters), 0,
		     "the u128 view overlays both");
	expect_zu_eq(sizeof(((struct slab *)0)->freelist_counters), 16,
		     "one 16-byte word");
	expect_zu_eq(alignof(struct slab), 64, "descriptors are line aligned");
	expect_zu_eq(sizeof(struct slab), 64, "one descriptor per line");

	/* Real descriptors: of kmalloc slabs, a large block and a cache. */
	for (i = 0; i < 3; i++) {
		struct slab *d;

		objs[i] = uslub_kmalloc(sizes[i], 0);
		assert_ptr_not_null(objs[i], "kmalloc(%zu)", sizes[i]);
		d = pagemap_head(objs[i]);
		assert_ptr_not_null(d, "descriptor of kmalloc(%zu)", sizes[i]);
		expect_zu_eq((uintptr_t)&d->freelist_counters % 16, 0,
			     "pair of kmalloc(%zu) is 16-byte aligned",
			     sizes[i]);
		expect_zu_eq((uintptr_t)&d->freelist % 16, 0,
			     "freelist of kmalloc(%zu) starts the pair",
			     sizes[i]);
		expect_ptr_eq((char *)&d->counters, (char *)d + 8,
			      "counters right after freelist");
		expect_zu_eq((uintptr_t)pagemap_lookup(objs[i]) % 64, 0,
			     "every descriptor, not only the head, is aligned");
	}
	s = uslub_cache_create("cmpxchg_layout", 40, 0, 0, NULL);
	assert_ptr_not_null(s, "cache");
	{
		void *o = uslub_cache_alloc(s, 0);
		struct slab *d = pagemap_head(o);

		assert_ptr_not_null(d, "descriptor of a cache object");
		expect_zu_eq((uintptr_t)&d->freelist_counters % 16, 0,
			     "user cache slab pair aligned");
		uslub_cache_free(s, o);
	}
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
	for (i = 0; i < 3; i++)
		uslub_kfree(objs[i]);
}
TEST_END

static alignas(16) union pair shared_pair;
static pthread_barrier_t start_line;

/* One CAS increment of both halves, retried until it lands. */
static unsigned long cas_increment(union pair *p)
{
	unsigned long fails = 0;
	uint64_t lo, hi;

	for (;;) {
		lo = READ_ONCE(p->lo);
		hi = READ_ONCE(p->hi);
		if (cmpxchg16b(&p->v, mk(lo, hi), mk(lo + 1, hi + 1)))
			return fails;
		fails++;
	}
}

static void *cas_thread(void *arg)
{
	unsigned long i, *fails = arg;

	pthread_barrier_wait(&start_line);	/* all four at once */
	for (i = 0; i < NINCS; i++)
		*fails += cas_increment(&shared_pair);
	return NULL;
}

TEST_BEGIN(test_cas_threads)
{
	pthread_t t[NTHREADS];
	unsigned long fails[NTHREADS] = { 0 };
	unsigned int i;

	shared_pair.v = 0;
	pthread_barrier_init(&start_line, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++)
		assert_d_eq(pthread_create(&t[i], NULL, cas_thread, &fails[i]),
			    0, "pthread_create");
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	expect_u_eq(shared_pair.lo, (uint64_t)NTHREADS * NINCS,
		    "low counter: no lost update");
	expect_u_eq(shared_pair.hi, (uint64_t)NTHREADS * NINCS,
		    "high counter: no lost update, no torn write");
	pthread_barrier_destroy(&start_line);
	for (i = 1; i < NTHREADS; i++)
		fails[0] += fails[i];
	printf("# %lu CAS retries under contention\n", fails[0]);
}
TEST_END

/* A stand-alone descriptor: slab_update_freelist only touches the pair. */
static struct slab fake_slab;
static struct kmem_cache_cpu fake_cpu;

TEST_BEGIN(test_update_freelist_stat)
{
	union slab_counters c = { .counters = 0 }, n;
	void *obj_a = (void *)0x1000, *obj_b = (void *)0x2000;

	memset(&fake_slab, 0, sizeof(fake_slab));
	memset(&fake_cpu, 0, sizeof(fake_cpu));
	c.inuse = 3;
	c.objects = 16;
	c.frozen = 1;
	fake_slab.freelist = obj_a;
	fake_slab.counters = c.counters;
	n = c;
	n.inuse = 2;

	/* Wrong freelist, right counters. */
	expect_false(slab_update_freelist(&fake_cpu, &fake_slab, obj_b,
		     c.counters, NULL, n.counters),
		     "stale freelist: fails");
	expect_u_eq(fake_cpu.stat[CMPXCHG_DOUBLE_FAIL], 1,
		    "one failure counted");
	/* Right freelist, wrong counters. */
	expect_false(slab_update_freelist(&fake_cpu, &fake_slab, obj_a,
		     n.counters, NULL, n.counters),
		     "stale counters: fails");
	expect_u_eq(fake_cpu.stat[CMPXCHG_DOUBLE_FAIL], 2,
		    "two failures counted");
	expect_ptr_eq(fake_slab.freelist, obj_a, "freelist untouched");
	expect_u_eq(fake_slab.counters, c.counters, "counters untouched");

	expect_true(slab_update_freelist(&fake_cpu, &fake_slab, obj_a,
		    c.counters, obj_b, n.counters),
		    "matching pair: succeeds");
	expect_u_eq(fake_cpu.stat[CMPXCHG_DOUBLE_FAIL], 2,
		    "success is not counted as a failure");
	expect_u_eq(fake_cpu.stat[CMPXCHG_DOUBLE], 3,
		    "every attempt counted");
	expect_ptr_eq(fake_slab.freelist, obj_b, "new freelist stored");
	n.counters = fake_slab.counters;
	expect_u_eq(n.inuse, 2, "new inuse stored");
	expect_u_eq(n.objects, 16, "objects kept");
	expect_u_eq(n.frozen, 1, "frozen kept");
	for (unsigned int i = 0; i < NR_SLUB_STAT_ITEMS; i++)
		if (i != CMPXCHG_DOUBLE_FAIL && i != CMPXCHG_DOUBLE)
			expect_u_eq(fake_cpu.stat[i], 0,
				    "no other counter moves (item %u)", i);
}
TEST_END

TEST_BEGIN(test_counters_bitfields)
{
	union slab_counters c = { .counters = 0 };

	/* inuse:16, objects:15, frozen:1 -- SLUB's layout, low bits first. */
	c.inuse = 0xffff;
	expect_u_eq(c.counters, 0xffffUL, "inuse is bits 0..15");
	c.counters = 0;
	c.objects = 0x7fff;
	expect_u_eq(c.counters, 0x7fffUL << 16, "objects is bits 16..30");
	c.counters = 0;
	c.frozen = 1;
	expect_u_eq(c.counters, 1UL << 31, "frozen is bit 31");
	expect_zu_eq(sizeof(union slab_counters), sizeof(unsigned long),
		     "counters fill the second word");
}
TEST_END

int main(void)
{
	return test(test_cas_success, test_cas_failure, test_slab_pair_layout,
		    test_cas_threads, test_update_freelist_stat,
		    test_counters_bitfields, NULL);
}
