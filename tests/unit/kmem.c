/*
 * Unit tests for <uslub/kmem.h>: kernel-style code compiled against the
 * kernel's names, checked for the kernel's semantics.  KMEM_CACHE names
 * and sizes the cache after its struct; kmem_cache_zalloc and __GFP_ZERO
 * zero recycled memory; bulk allocation is all or nothing; kmalloc(0) is
 * ZERO_SIZE_PTR, which kfree and ZERO_OR_NULL_PTR accept; kmalloc_array
 * and kcalloc refuse an overflowing n * size; ksize agrees with
 * kmalloc_size_roundup; a struct kmem_cache * is a struct uslub_cache *;
 * kmem_cache_destroy of a busy cache leaves it usable; shrinkers in the
 * kernel's old and 6.7 forms run on reclaim.
 */
#include "test.h"

#include <uslub/kmem.h>

#include <stdint.h>
#include <string.h>

struct mydata {
	int int_param;
	long long_param;
	char name[40];
};

TEST_BEGIN(test_kmem_cache_struct)
{
	struct kmem_cache *s = KMEM_CACHE(mydata, SLAB_HWCACHE_ALIGN);
	struct mydata *a, *b;
	void *bulk[64];

	assert_ptr_not_null(s, "KMEM_CACHE(mydata)");
	expect_u_eq(kmem_cache_size(s), sizeof(struct mydata),
		    "kmem_cache_size is the struct's size");
	a = kmem_cache_alloc(s, GFP_KERNEL);
	assert_ptr_not_null(a, "kmem_cache_alloc");
	expect_zu_eq((uintptr_t)a % __alignof__(struct mydata), 0, "aligned");
	memset(a, 0x5a, sizeof(*a));
	kmem_cache_free(s, a);
	b = kmem_cache_zalloc(s, GFP_KERNEL);
	assert_ptr_not_null(b, "kmem_cache_zalloc");
	expect_d_eq(b->int_param, 0, "zalloc zeroes a recycled object");
	expect_ld_eq(b->long_param, 0, "every field");
	expect_zu_eq(strlen(b->name), 0, "and the name");
	kmem_cache_free(s, b);

	expect_d_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, 64, bulk), 64,
		    "bulk: all 64");
	for (int i = 0; i < 64; i++)
		for (int j = 0; j < i; j++)
			expect_ptr_ne(bulk[i], bulk[j], "distinct objects");
	kmem_cache_free_bulk(s, 64, bulk);
	kmem_cache_shrink(s);
	expect_d_eq(uslub_cache_destroy(s), 0, "nothing left: destroyed");
}
TEST_END

TEST_BEGIN(test_kmalloc_zero_size)
{
	void *z = kmalloc(0, GFP_KERNEL);
	void *p = kmalloc(1, GFP_KERNEL);

	expect_ptr_eq(z, ZERO_SIZE_PTR, "kmalloc(0) is ZERO_SIZE_PTR");
	expect_true(ZERO_OR_NULL_PTR(z), "ZERO_OR_NULL_PTR(ZERO_SIZE_PTR)");
	expect_true(ZERO_OR_NULL_PTR(NULL), "ZERO_OR_NULL_PTR(NULL)");
	assert_ptr_not_null(p, "kmalloc(1)");
	expect_false(ZERO_OR_NULL_PTR(p), "a real block is neither");
	expect_zu_eq(ksize(z), 0, "ksize(ZERO_SIZE_PTR) is 0");
	kfree(z);
	kfree(NULL);
	kfree(p);
}
TEST_END

TEST_BEGIN(test_kmalloc_array_overflow)
{
	expect_ptr_null(kmalloc_array(SIZE_MAX / 2 + 1, 2, GFP_KERNEL),
			"n * size overflows: NULL");
	expect_ptr_null(kcalloc(2, SIZE_MAX / 2 + 1, GFP_KERNEL),
			"kcalloc too");
	void *p = kmalloc_array(100, 24, GFP_KERNEL);

	assert_ptr_not_null(p, "100 x 24");
	expect_zu_ge(ksize(p), 2400, "holds n * size");
	kfree(p);
}
TEST_END

TEST_BEGIN(test_zeroing_and_sizes)
{
	for (size_t size = 1; size <= 16384; size = size * 3 + 1) {
		unsigned char *p = kmalloc(size, GFP_KERNEL), *q;
		size_t i, nonzero = 0;

		assert_ptr_not_null(p, "kmalloc(%zu)", size);
		expect_zu_eq(ksize(p), kmalloc_size_roundup(size),
			     "ksize == kmalloc_size_roundup(%zu)", size);
		memset(p, 0xa5, ksize(p));
		kfree(p);
		q = kcalloc(1, size, GFP_KERNEL);
		assert_ptr_not_null(q, "kcalloc(1, %zu)", size);
		for (i = 0; i < size; i++)
			nonzero += q[i] != 0;
		expect_zu_eq(nonzero, 0, "kcalloc zeroes %zu recycled bytes", size);
		kfree(q);
		q = kzalloc(size, GFP_ATOMIC);
		assert_ptr_not_null(q, "kzalloc(%zu)", size);
		for (i = 0; i < size; i++)
			nonzero += q[i] != 0;
		expect_zu_eq(nonzero, 0, "kzalloc zeroes %zu bytes", size);
		q = krealloc(q, size * 2 + 1, GFP_KERNEL);
		assert_ptr_not_null(q, "krealloc to %zu", size * 2 + 1);
		for (i = 0; i < size; i++)
			nonzero += q[i] != 0;
		expect_zu_eq(nonzero, 0, "krealloc keeps the contents");
		kfree(q);
	}
}
TEST_END

/* The kernel WARNs and leaks the cache; uslub reports the objects and
 * keeps the cache usable, so it can be destroyed once they are freed. */
TEST_BEGIN(test_destroy_busy_then_again)
{
	struct kmem_cache *s = kmem_cache_create("kmem_busy", 100, 0, 0, NULL);
	void *obj;

	assert_ptr_not_null(s, "create");
	obj = kmem_cache_alloc(s, GFP_KERNEL);
	assert_ptr_not_null(obj, "alloc");
	kmem_cache_destroy(s);			/* reported on stderr */
	memset(obj, 1, 100);			/* still valid */
	kmem_cache_free(s, obj);
	expect_d_eq(uslub_cache_destroy(s), 0, "empty now: destroyed");
}
TEST_END

/* A kernel-style shrinker over a counter of "cached objects". */
static unsigned long cached = 500, scans;

static unsigned long demo_count(struct shrinker *s, struct shrink_control *sc)
{
	(void)s;
	(void)sc;
	return cached ? cached : SHRINK_EMPTY;
}

static unsigned long demo_scan(struct shrinker *s, struct shrink_control *sc)
{
	unsigned long n = sc->nr_to_scan < cached ? sc->nr_to_scan : cached;

	(void)s;
	scans++;
	cached -= n;
	return n;
}

static struct shrinker demo_shrinker = {
	.count_objects = demo_count,
	.scan_objects = demo_scan,
	.seeks = DEFAULT_SEEKS,
};

TEST_BEGIN(test_shrinker_names)
{
	struct shrinker *s;

	expect_d_eq(register_shrinker(&demo_shrinker, "demo-%d", 1), 0,
		    "register_shrinker");
	uslub_reclaim(0);
	expect_lu_eq(cached, 0, "reclaim ran the kernel-style shrinker");
	unregister_shrinker(&demo_shrinker);

	cached = 300;
	scans = 0;
	s = shrinker_alloc(0, "demo-%s", "new");
	assert_ptr_not_null(s, "shrinker_alloc");
	s->count_objects = demo_count;
	s->scan_objects = demo_scan;
	shrinker_register(s);
	uslub_reclaim(0);
	expect_lu_eq(cached, 0, "the 6.7-API shrinker ran");
	shrinker_free(s);
	cached = 300;
	scans = 0;
	uslub_reclaim(0);
	expect_lu_eq(scans, 0, "freed shrinkers are not called");
}
TEST_END

/* RCU under the kernel's names: struct rcu_head, kfree_rcu for cache
 * and kmalloc objects, the read side, synchronize_rcu and rcu_barrier. */
#include "slabinfo_row.h"

struct rcu_node {
	long key;
	struct rcu_head rcu;
	char payload[32];
};

static struct rcu_node *rcu_published;

TEST_BEGIN(test_rcu_names)
{
	struct kmem_cache *s = KMEM_CACHE(rcu_node, SLAB_TYPESAFE_BY_RCU);
	struct rcu_node *n, *k;
	struct slabrow row;
	unsigned int i;

	assert_ptr_not_null(s, "KMEM_CACHE with SLAB_TYPESAFE_BY_RCU");
	rcu_register_thread();
	for (i = 0; i < 100; i++) {
		n = kmem_cache_alloc(s, GFP_KERNEL);
		assert_ptr_not_null(n, "object %u", i);
		n->key = i;
		__atomic_store_n(&rcu_published, n, __ATOMIC_RELEASE);
		rcu_read_lock();
		expect_ld_eq(__atomic_load_n(&rcu_published,
					     __ATOMIC_ACQUIRE)->key, (long)i,
			     "read under rcu_read_lock");
		rcu_read_unlock();
		__atomic_store_n(&rcu_published, NULL, __ATOMIC_RELEASE);
		kfree_rcu(n, rcu);
	}
	k = kmalloc(sizeof(*k), GFP_KERNEL);
	assert_ptr_not_null(k, "kmalloc");
	kfree_rcu(k, rcu);
	synchronize_rcu();
	rcu_barrier();
	assert_true(slabinfo_find("rcu_node", &row), "slabinfo row");
	expect_lu_eq(row.active_objs, 0, "kfree_rcu freed every object");
	rcu_unregister_thread();
	kmem_cache_destroy(s);
	expect_false(slabinfo_find("rcu_node", &row), "cache destroyed");
}
TEST_END

int main(void)
{
	return test(test_kmem_cache_struct, test_kmalloc_zero_size,
		    test_kmalloc_array_overflow, test_zeroing_and_sizes,
		    test_destroy_busy_then_again, test_shrinker_names,
		    test_rcu_names, NULL);
}
