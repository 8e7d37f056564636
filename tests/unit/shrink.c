/*
 * Unit tests for uslub_cache_shrink (lib/cache.c cache_shrink, lib/slab.c
 * slab_shrink_partial): everything freed -> 0 slabs, 0 returned, RSS back
 * to the OS; the partial list ordered fullest first afterwards (SLUB's
 * __kmem_cache_do_shrink, SHRINK_PROMOTE_MAX 32); and slabs cached by
 * another live thread left alone until that thread exits.
 */
#include "test.h"

#include "alloc.h"
#include "cache.h"
#include "os.h"
#include "pagemap.h"
#include "slab.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#define MiB	(1UL << 20)

static unsigned long nr_slabs(struct uslub_cache *s)
{
	return READ_ONCE(s->nr_slabs);
}

/* slabinfo's num_objs and num_slabs of cache name; false if not listed. */
static bool slabinfo_slabs(const char *name, unsigned long *num_objs,
			   unsigned long *num_slabs)
{
	FILE *f = tmpfile();
	char line[512];
	size_t n = strlen(name);
	bool found = false;

	if (!f)
		return false;
	uslub_slabinfo_write(fileno(f));
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long active, active_slabs;
		unsigned int objsize, perslab;
		int pages;

		if (strncmp(line, name, n) != 0 || line[n] != ' ')
			continue;
		found = sscanf(line + n,
			       "%lu %lu %u %u %d : tunables %*u %*u %*u "
			       ": slabdata %lu %lu",
			       &active, num_objs, &objsize, &perslab, &pages,
			       &active_slabs, num_slabs) == 7;
	}
	fclose(f);
	return found;
}

TEST_BEGIN(test_shrink_returns_everything)
{
	struct uslub_cache *s =
	    uslub_cache_create("shrink_big", 256, 0, 0, NULL);
	size_t count = (32 * MiB) / 256, i;
	size_t rss_touched, rss_shrunk;
	unsigned long num_objs = 1, num_slabs = 1;
	void **objs;

	assert_ptr_not_null(s, "cache");
	objs = mmap(NULL, count * sizeof(void *), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(objs != MAP_FAILED, "pointer array");
	for (i = 0; i < count; i++) {
		objs[i] = uslub_cache_alloc(s, 0);
		assert_ptr_not_null(objs[i], "object %zu", i);
		memset(objs[i], 0x3c, 256);
	}
	expect_u_eq(nr_slabs(s), DIV_ROUND_UP(count, s->objects),
		    "32 MiB of slabs");
	rss_touched = os_rss_bytes();
	for (i = 0; i < count; i++)
		uslub_cache_free(s, objs[i]);
	munmap(objs, count * sizeof(void *));
	expect_d_eq(uslub_cache_shrink(s), 0, "nothing left after shrink");
	expect_u_eq(nr_slabs(s), 0, "nr_slabs 0");
	expect_true(slabinfo_slabs("shrink_big", &num_objs, &num_slabs),
		    "listed in slabinfo");
	expect_u_eq(num_slabs, 0, "slabinfo num_slabs 0");
	expect_u_eq(num_objs, 0, "slabinfo num_objs 0");
	rss_shrunk = os_rss_bytes();
	expect_true(rss_touched >= rss_shrunk + 24 * MiB,
		    "RSS fell by 24 MiB or more: %zu -> %zu KiB",
		    rss_touched >> 10, rss_shrunk >> 10);
	expect_d_eq(uslub_cache_shrink(s), 0, "shrinking again: still 0");
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

/* Free objects of a slab. */
static unsigned int slab_free_objects(const struct slab *slab)
{
	union slab_counters c;

	c.counters = READ_ONCE(slab->counters);
	return c.objects - c.inuse;
}

#define NSLABS		12
#define PROMOTE_MAX	32	/* SLUB's SHRINK_PROMOTE_MAX */

TEST_BEGIN(test_partial_fullest_first)
{
	struct uslub_cache *s =
	    uslub_cache_create("shrink_order", 64, 0, 0, NULL);
	unsigned int n, j, i, nlisted = 0, free_count[NSLABS],
			      listed[NSLABS + 4];
	bool seen[NSLABS] = { false };
	struct slab *slabs[NSLABS], *slab;
	void **objs;

	assert_ptr_not_null(s, "cache");
	n = s->objects;
	assert_u_gt(n, 50, "objects per slab (%u) leaves room for >32 free", n);
	objs = calloc((size_t)NSLABS * n, sizeof(*objs));
	for (i = 0; i < NSLABS * n; i++)
		objs[i] = uslub_cache_alloc(s, 0);
	for (j = 0; j < NSLABS; j++) {
		slabs[j] = pagemap_head(objs[j * n]);
		assert_ptr_eq(pagemap_head(objs[j * n + n - 1]), slabs[j],
			      "slab %u holds consecutive objects", j);
		/* 1..31 in a scrambled order, and two above PROMOTE_MAX. */
		free_count[j] = j == 3 ? 40 : j == 8 ? 50 : (j * 7) % 31 + 1;
		for (i = 0; i < free_count[j]; i++)
			uslub_cache_free(s, objs[j * n + i]);
	}
	expect_d_eq(uslub_cache_shrink(s), 1, "partial slabs remain: 1");
	lock_acquire(&s->list_lock);
	list_for_each_entry(slab, &s->partial, slab_list) {
		if (nlisted < ARRAY_SIZE(listed))
			listed[nlisted] = slab_free_objects(slab);
		nlisted++;
		for (j = 0; j < NSLABS; j++)
			seen[j] |= slab == slabs[j];
	}
	lock_release(&s->list_lock);
	expect_u_eq(nlisted, NSLABS,
		    "every slab is on s->partial after shrink");
	for (j = 0; j < NSLABS; j++)
		expect_true(seen[j], "slab %u listed", j);
	for (i = 0; i < nlisted && i < NSLABS; i++) {
		if (i < NSLABS - 2) {
			expect_u_le(listed[i], PROMOTE_MAX,
				    "promoted slabs first (%u)", i);
			if (i > 0)
				expect_u_le(listed[i - 1], listed[i],
					    "free counts non-decreasing at %u",
					    i);
		} else {
			expect_u_gt(listed[i], PROMOTE_MAX,
				    "slabs with > 32 free stay behind (%u)", i);
		}
	}
	expect_u_eq(listed[0], 1, "the fullest slab (1 free) first");
	/* Everything back: the cache empties. */
	for (j = 0; j < NSLABS; j++)
		for (i = free_count[j]; i < n; i++)
			uslub_cache_free(s, objs[j * n + i]);
	expect_d_eq(uslub_cache_shrink(s), 0, "empty after freeing the rest");
	expect_u_eq(nr_slabs(s), 0, "no slab left");
	free(objs);
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

/* A thread that keeps freed objects in its sheaf until told to exit. */
struct holder {
	struct uslub_cache *s;
	struct slab *slab;
	sem_t ready, go;
};

static void *holder_thread(void *arg)
{
	struct holder *h = arg;
	void *p[5];
	unsigned int i;

	for (i = 0; i < 5; i++)
		p[i] = uslub_cache_alloc(h->s, 0);
	h->slab = pagemap_head(p[0]);
	for (i = 0; i < 5; i++)
		uslub_cache_free(h->s, p[i]);	/* onto its main sheaf */
	sem_post(&h->ready);
	sem_wait(&h->go);
	return NULL;			/* the TLS destructor hands it on */
}

TEST_BEGIN(test_other_threads_sheaf)
{
	struct uslub_cache *s =
	    uslub_cache_create("shrink_other", 128, 0, 0, NULL);
	struct holder h = { .s = s };
	union slab_counters c;
	pthread_t t;

	assert_ptr_not_null(s, "cache");
	sem_init(&h.ready, 0, 0);
	sem_init(&h.go, 0, 0);
	assert_d_eq(pthread_create(&t, NULL, holder_thread, &h), 0, "thread");
	sem_wait(&h.ready);
	/* A shrink in this thread cannot take another live thread's sheaf
	 * (only its owner touches it), so the slab stays, with the objects
	 * the sheaf refill took counted in use by the slab. */
	expect_d_eq(uslub_cache_shrink(s), 1,
		    "the other thread's objects keep the slab");
	expect_u_eq(nr_slabs(s), 1, "one slab");
	c.counters = READ_ONCE(h.slab->counters);
	expect_u_gt(c.inuse, 0, "objects in the other thread's sheaf");
	expect_u_eq(c.frozen, 0, "no slab is frozen any more");
	sem_post(&h.go);
	pthread_join(t, NULL);
	/* Its exit put the sheaf in the barn; a shrink flushes the barn. */
	expect_u_eq(READ_ONCE(s->barn.nr_full), 1, "exit: sheaf to the barn");
	expect_d_eq(uslub_cache_shrink(s), 0,
		    "after the exit, shrink frees it");
	expect_u_eq(READ_ONCE(s->barn.nr_full), 0, "barn flushed");
	expect_u_eq(nr_slabs(s), 0, "no slab left");
	sem_destroy(&h.ready);
	sem_destroy(&h.go);
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

int main(void)
{
	return test(test_shrink_returns_everything, test_partial_fullest_first,
		    test_other_threads_sheaf, NULL);
}
