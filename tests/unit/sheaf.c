/*
 * Unit tests for sheaves and barns (lib/sheaf.c, lib/cache.c's upkeep,
 * trim, thread exit and fork's child):
 *
 * test_decay: sheaves idle in a barn past decay_ms go back to the slabs on
 * a later slow path, of another cache (the sweep) or of the same cache on
 * a fresh thread; the calling thread's own sheaves stay.
 * test_trim_empties_barns: threads churn kmalloc and user-cache objects
 * and exit (their sheaves fill the barns); malloc_trim leaves every barn
 * and the caller's slots empty, the user cache's slabs all empty (shrink
 * frees them) and the kmalloc classes it used without slabs.
 * test_trim_flushes_other_threads_later: a live thread's full sheaf stays
 * through a trim and is flushed at its next overflow, not put in the barn.
 * test_thread_exit_hands_sheaf_to_barn: an exiting thread's sheaf lands in
 * the barn and the next thread's refill takes it (barn_get, no new slab);
 * active_objs exact at every step.
 * test_fork_child_allocates: fork while threads hold objects in their
 * sheaves; the child finds those sheaves in the barns, reuses their
 * objects, and allocates every kmalloc class and the user cache.
 * test_occupancy_stats: sheaf_objects, sheaf_threads, barn_full_sheaves and
 * barn_objects in uslub_stats_write after known steps.
 * test_double_free_on_sheaf_top: freeing the object on top of the main
 * sheaf again is reported and does not duplicate it (cache_free, kfree,
 * free; main with room, main full, main just replaced by an overflow).
 * test_pool_carves_a_threads_sheaves_from_its_own_pages: two threads'
 * sheaves (sheaf_new with their page caches, taking turns) never share a
 * page, a thread's own are packed four to a page, a departed thread's
 * free pages serve the next page before the page layer, the next thread
 * on a departed thread's index carves on its page, a sheaf taken without
 * a thread fills a page in use, a thread with no page of its index takes
 * a page in use before a fresh one, and trim gives back free pages.
 * test_two_threads_sheaves_lie_on_pages_of_their_own: two threads that
 * fill and drain a cache hold main, spare and a shelf on pages of their
 * own.
 * test_thread_shelves_share_a_bound: a thread swinging on four kmalloc
 * classes keeps SHELF_THREAD_BYTES on their shelves in all, counted
 * exactly, and nothing counted after a trim.
 */
#include "test.h"

#include "alloc.h"
#include "cache.h"
#include "kmalloc.h"
#include "options.h"
#include "sheaf.h"
#include "slab.h"
#include "slabinfo_row.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* decay_ms for the tests that must not see a barn decay while they run
 * (a slow sanitizer run may take longer than the default 250 ms). */
#define NO_DECAY_MS	60000UL

/* ---- Helpers --------------------------------------------------------- */

static unsigned long stat_sum(struct uslub_cache *s, enum stat_item si)
{
	unsigned long sum[NR_SLUB_STAT_ITEMS];

	lock_acquire(&slab_mutex);
	cache_stat_sum_locked(s, sum);
	lock_release(&slab_mutex);
	return sum[si];
}

static unsigned int barn_full(struct uslub_cache *s)
{
	unsigned int full, empty;
	unsigned long objects;

	barn_occupancy(s, &full, &empty, &objects);
	return full;
}

static unsigned long barn_objects(struct uslub_cache *s)
{
	unsigned int full, empty;
	unsigned long objects;

	barn_occupancy(s, &full, &empty, &objects);
	return objects;
}

/* Objects in the calling thread's sheaves (main and spare) of s. */
static unsigned long my_sheaf_objects(struct uslub_cache *s)
{
	struct kmem_cache_cpu *c = cache_cpu(s, thread_cache);

	return c ? cpu_size_racy(c) + READ_ONCE(c->spare_size) : 0;
}

/* slabinfo's active_objs of cache name, or -1 if it is not listed. */
static long active_objs(const char *name)
{
	struct slabrow row;

	return slabinfo_find(name, &row) ? (long)row.active_objs : -1;
}

/* Is p one of the n pointers of v? */
static bool among(void *const *v, size_t n, const void *p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == p)
			return true;
	return false;
}

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

/* n objects of size bytes each: do any two overlap (or coincide)? */
static size_t overlaps(void **v, size_t n, size_t size)
{
	void **sorted = malloc(n * sizeof(*sorted));
	size_t i, bad = 0;

	if (!sorted)
		return n;
	memcpy(sorted, v, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), ptr_cmp);
	for (i = 1; i < n; i++)
		bad += (uintptr_t)sorted[i - 1] + size > (uintptr_t)sorted[i];
	free(sorted);
	return bad;
}

/*
 * The value of the statistics line "<cache> <name> <value>" in text
 * (stats.c's counter_line: "%-17s %-24s %lu"), 0 when absent (zero values
 * are not listed), -1 when listed more than once.
 */
static long stats_value(const char *text, const char *cache, const char *name)
{
	char want[256];
	const char *p = text;
	long value = 0;
	int found = 0;
	size_t n;

	snprintf(want, sizeof(want), "%-17s %-24s ", cache, name);
	n = strlen(want);
	while ((p = strstr(p, want))) {
		if (p == text || p[-1] == '\n') {
			value = strtol(p + n, NULL, 10);
			found++;
		}
		p += n;
	}
	return found > 1 ? -1 : value;
}

/* A cache with sheaves, or NULL after marking the test skipped (USLUB_DEBUG
 * in the environment turns sheaves off). */
static struct uslub_cache *sheaf_cache(const char *name, size_t size)
{
	struct uslub_cache *s = uslub_cache_create(name, size, 0, 0, NULL);

	if (s && !s->sheaf_capacity) {
		uslub_cache_destroy(s);
		test_skip("cache %s has no sheaves (USLUB_DEBUG set?)", name);
		return NULL;
	}
	return s;
}

/* ---- Decay ----------------------------------------------------------- */

#define DECAY_MS	40UL
/* Past decay_ms, and past the next sweep however it was scheduled
 * (at most the default decay_ms / 2 ahead). */
#define DECAY_SLEEP_US	((DECAY_MS * 3 + 300) * 1000)

/* Allocates n objects of s and frees them in order: main overflows into
 * the barn. */
static void fill_barn(struct uslub_cache *s, unsigned int n)
{
	void **v = calloc(n, sizeof(*v));
	unsigned int i;

	assert_ptr_not_null(v, "array");
	for (i = 0; i < n; i++) {
		v[i] = uslub_cache_alloc(s, 0);
		assert_ptr_not_null(v[i], "object %u", i);
	}
	for (i = 0; i < n; i++)
		uslub_cache_free(s, v[i]);
	free(v);
}

/* Slow paths of kmalloc-64 only: allocate and free n objects, 8 times
 * (a thread reads the clock every few slow paths: some must come after
 * the sleep). */
static void kmalloc_traffic(unsigned int n)
{
	void **v = calloc(n, sizeof(*v));
	unsigned int i, r;

	assert_ptr_not_null(v, "array");
	for (r = 0; r < 8; r++) {
		for (i = 0; i < n; i++)
			v[i] = uslub_kmalloc(64, 0);
		for (i = 0; i < n; i++)
			uslub_kfree(v[i]);
	}
	free(v);
}

struct decay_probe {
	struct uslub_cache *s;
	unsigned int full_after;
	unsigned long objects_after;
	bool got;
};

/* A fresh thread (its clock is read at creation): one allocation of s,
 * then the barn as it is right after. */
static void *decay_probe_thread(void *arg)
{
	struct decay_probe *d = arg;
	void *p = uslub_cache_alloc(d->s, 0);

	d->got = p != NULL;
	d->full_after = barn_full(d->s);
	d->objects_after = barn_objects(d->s);
	uslub_cache_free(d->s, p);
	return NULL;
}

TEST_BEGIN(test_decay)
{
	unsigned long saved = uslub_opt.decay_ms;
	struct uslub_cache *s = sheaf_cache("sheaf_decay", 64);
	unsigned long decays, gets, mine;
	unsigned int full;
	struct decay_probe d;
	pthread_t t;

	if (!s)
		return;
	uslub_opt.decay_ms = DECAY_MS;

	/* Through the sweep, on slow paths of another cache. */
	fill_barn(s, 5 * s->sheaf_capacity);
	full = barn_full(s);
	assert_u_ge(full, 3, "freeing 5 sheaves' worth fills the barn");
	expect_u_gt(barn_objects(s), 0, "objects in the barn");
	decays = stat_sum(s, BARN_DECAY);
	mine = my_sheaf_objects(s);
	usleep(DECAY_SLEEP_US);
	kmalloc_traffic(1000);
	expect_u_eq(barn_full(s), 0,
		    "the idle sheaves were flushed by the sweep");
	expect_u_eq(barn_objects(s), 0, "no object left in the barn");
	expect_u_eq(stat_sum(s, BARN_DECAY) - decays, full,
		    "barn_decay counts each sheaf");
	expect_u_eq(my_sheaf_objects(s), mine,
		    "the thread's own sheaves do not decay");

	/* On the same cache: a fresh thread's first refill. */
	fill_barn(s, 5 * s->sheaf_capacity);
	full = barn_full(s);
	assert_u_ge(full, 3, "the barn filled again");
	decays = stat_sum(s, BARN_DECAY);
	gets = stat_sum(s, BARN_GET);
	usleep(DECAY_SLEEP_US);
	memset(&d, 0, sizeof(d));
	d.s = s;
	assert_d_eq(pthread_create(&t, NULL, decay_probe_thread, &d), 0,
		    "thread");
	pthread_join(t, NULL);
	expect_true(d.got, "the probe allocated");
	expect_u_eq(d.full_after, 0,
		    "a slow path of the same cache flushed the idle sheaves");
	expect_u_eq(d.objects_after, 0, "no object left in the barn");
	expect_u_eq(stat_sum(s, BARN_DECAY) - decays, full,
		    "every idle sheaf decayed");
	expect_u_eq(stat_sum(s, BARN_GET) - gets, 0,
		    "no idle sheaf was handed to the thread instead");

	uslub_opt.decay_ms = saved;
	expect_d_eq(uslub_cache_shrink(s), 0, "shrink");
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

/* ---- Trim ------------------------------------------------------------ */

#define TRIM_THREADS	4
#define TRIM_OBJECTS	600
static const size_t trim_sizes[] = { 64, 256, 1024 };

struct trim_arg {
	struct uslub_cache *s;
	unsigned int id;
	unsigned long failed;
};

/* Kind k: kmalloc of trim_sizes[k], or the user cache past the table. */
static void *trim_alloc(struct uslub_cache *s, unsigned int k)
{
	if (k < ARRAY_SIZE(trim_sizes))
		return uslub_kmalloc(trim_sizes[k], 0);
	return uslub_cache_alloc(s, 0);
}

static void trim_free(struct uslub_cache *s, unsigned int k, void *p)
{
	if (k < ARRAY_SIZE(trim_sizes))
		uslub_kfree(p);
	else
		uslub_cache_free(s, p);
}

static void *trim_worker(void *arg)
{
	struct trim_arg *a = arg;
	void **v = calloc(TRIM_OBJECTS, sizeof(*v));
	unsigned int r, i, k;

	if (!v) {
		a->failed = 1;
		return NULL;
	}
	for (r = 0; r < 4; r++) {
		for (k = 0; k <= ARRAY_SIZE(trim_sizes); k++) {
			size_t size = k < ARRAY_SIZE(trim_sizes) ?
				      trim_sizes[k] : uslub_cache_size(a->s);

			for (i = 0; i < TRIM_OBJECTS; i++) {
				v[i] = trim_alloc(a->s, k);
				if (!v[i]) {
					a->failed++;
					continue;
				}
				memset(v[i], (int)(a->id + i), size);
			}
			/* Every other one first: the sheaves mix slabs. */
			for (i = 0; i < TRIM_OBJECTS; i += 2)
				if (v[i])
					trim_free(a->s, k, v[i]);
			for (i = 1; i < TRIM_OBJECTS; i += 2)
				if (v[i])
					trim_free(a->s, k, v[i]);
		}
	}
	free(v);
	return NULL;
}

TEST_BEGIN(test_trim_empties_barns)
{
	unsigned long saved = uslub_opt.decay_ms;
	struct uslub_cache *s = sheaf_cache("sheaf_trim", 72), *it;
	struct trim_arg args[TRIM_THREADS];
	pthread_t t[TRIM_THREADS];
	unsigned long held = 0, partial_inuse = 0, partial = 0;
	unsigned int i, full_before, nonempty;
	struct slab *slab;
	void *mine[8];

	if (!s)
		return;
	uslub_opt.decay_ms = NO_DECAY_MS;
	for (i = 0; i < TRIM_THREADS; i++) {
		args[i] = (struct trim_arg){ .s = s, .id = i };
		assert_d_eq(pthread_create(&t[i], NULL, trim_worker, &args[i]),
			    0, "thread %u", i);
	}
	for (i = 0; i < TRIM_THREADS; i++) {
		pthread_join(t[i], NULL);
		expect_u_eq(args[i].failed, 0, "thread %u's allocations", i);
	}
	/* The caller's own sheaves hold objects too. */
	for (i = 0; i < ARRAY_SIZE(mine); i++) {
		mine[i] = trim_alloc(s, i % (ARRAY_SIZE(trim_sizes) + 1));
		assert_ptr_not_null(mine[i], "object %u", i);
	}
	for (i = 0; i < ARRAY_SIZE(mine); i++)
		trim_free(s, i % (ARRAY_SIZE(trim_sizes) + 1), mine[i]);
	expect_u_gt(my_sheaf_objects(s), 0, "the caller's sheaf of the cache");
	full_before = barn_full(s);
	expect_u_gt(full_before, 0, "the exited threads' sheaves in the barn");
	expect_u_gt(barn_full(&kmalloc_caches[kmalloc_index(256)]), 0,
		    "and in kmalloc-256's barn");

	uslub_malloc_trim(0);

	/* Every barn is empty. */
	nonempty = 0;
	lock_acquire(&slab_mutex);
	list_for_each_entry(it, &slab_caches, list) {
		unsigned int full, empty;
		unsigned long objects;

		barn_occupancy(it, &full, &empty, &objects);
		if (full || objects) {
			nonempty++;
			expect_u_eq(full, 0, "cache %s: full sheaves",
				    it->name);
			expect_u_eq(objects, 0, "cache %s: objects in the barn",
				    it->name);
		}
	}
	lock_release(&slab_mutex);
	expect_u_eq(nonempty, 0, "barns with objects after the trim");

	/* The caller's slots hold nothing. */
	for (i = 1; i < NR_CPU_SLOTS; i++) {
		struct kmem_cache_cpu *c = &thread_cache->kcpu[i];

		if (!c->cache)
			continue;
		held += cpu_size(c) + c->spare_size;
		expect_u_eq(cpu_size(c) + c->spare_size, 0,
			    "slot %u (cache %s) after the trim", i,
			    c->cache->name);
	}
	expect_u_eq(held, 0, "objects in the caller's slots");

	/* Every slab of the user cache is empty, on the partial list. */
	lock_acquire(&s->list_lock);
	list_for_each_entry(slab, &s->partial, slab_list) {
		union slab_counters cnt;

		cnt.counters = READ_ONCE(slab->counters);
		partial_inuse += cnt.inuse;
		partial++;
	}
	lock_release(&s->list_lock);
	expect_u_eq(partial, READ_ONCE(s->nr_slabs),
		    "every slab of the cache is on the partial list");
	expect_u_eq(partial_inuse, 0, "and empty");
	expect_d_eq(active_objs("sheaf_trim"), 0, "active_objs");
	expect_d_eq(uslub_cache_shrink(s), 0, "shrink frees them all");
	expect_u_eq(READ_ONCE(s->nr_slabs), 0, "nr_slabs");
	/* The kmalloc classes used gave their empty slabs back. */
	for (i = 0; i < ARRAY_SIZE(trim_sizes); i++) {
		struct uslub_cache *k =
		    &kmalloc_caches[kmalloc_index(trim_sizes[i])];

		expect_d_eq(active_objs(k->name), 0, "%s active_objs", k->name);
		expect_u_eq(READ_ONCE(k->nr_slabs), 0, "%s slabs after trim",
			    k->name);
	}
	uslub_opt.decay_ms = saved;
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

/* A thread that fills its main sheaf with objects it is given, holds it
 * through a trim, then frees one more. */
struct gen_arg {
	struct uslub_cache *s;
	void **pool;
	unsigned int npool, used;
	unsigned long size_full, size_after, spare_after;
	sem_t full, go, done;
};

static void *gen_thread(void *arg)
{
	struct gen_arg *g = arg;
	struct kmem_cache_cpu *c;
	void *p = uslub_cache_alloc(g->s, 0);

	uslub_cache_free(g->s, p);
	c = cache_cpu(g->s, thread_cache);
	while (c && cpu_size(c) < cpu_capacity(c) && g->used < g->npool)
		uslub_cache_free(g->s, g->pool[g->used++]);
	g->size_full = c ? cpu_size(c) : 0;
	sem_post(&g->full);
	sem_wait(&g->go);
	uslub_cache_free(g->s, g->pool[g->used++]);	/* overflow */
	g->size_after = c ? cpu_size(c) : 0;
	g->spare_after = c ? c->spare_size : 0;
	sem_post(&g->done);
	sem_wait(&g->go);		/* until the barn was looked at */
	while (g->used < g->npool)
		uslub_cache_free(g->s, g->pool[g->used++]);
	return NULL;
}

TEST_BEGIN(test_trim_flushes_other_threads_later)
{
	unsigned long saved = uslub_opt.decay_ms;
	struct uslub_cache *s = sheaf_cache("sheaf_gen", 64);
	unsigned long puts, flushes;
	struct gen_arg g;
	unsigned int i, cap;
	pthread_t t;

	if (!s)
		return;
	uslub_opt.decay_ms = NO_DECAY_MS;
	cap = s->sheaf_capacity;
	memset(&g, 0, sizeof(g));
	g.s = s;
	g.npool = 2 * cap + 2;
	g.pool = calloc(g.npool, sizeof(*g.pool));
	assert_ptr_not_null(g.pool, "pool");
	for (i = 0; i < g.npool; i++) {
		g.pool[i] = uslub_cache_alloc(s, 0);
		assert_ptr_not_null(g.pool[i], "pool object %u", i);
	}
	sem_init(&g.full, 0, 0);
	sem_init(&g.go, 0, 0);
	sem_init(&g.done, 0, 0);
	assert_d_eq(pthread_create(&t, NULL, gen_thread, &g), 0, "thread");
	sem_wait(&g.full);
	expect_u_eq(g.size_full, cap, "the thread's main sheaf is full");

	uslub_malloc_trim(0);
	expect_u_eq(barn_full(s), 0, "the trim emptied the barn");
	puts = stat_sum(s, BARN_PUT);
	flushes = stat_sum(s, SHEAF_FLUSH);

	sem_post(&g.go);
	sem_wait(&g.done);
	expect_u_eq(g.size_after, 1,
		    "the overflow after the trim flushed the sheaf first");
	expect_u_eq(g.spare_after, 0, "nothing in the spare");
	expect_u_eq(barn_full(s), 0, "the full sheaf did not go to the barn");
	expect_u_eq(stat_sum(s, BARN_PUT) - puts, 0, "no barn_put");
	expect_u_ge(stat_sum(s, SHEAF_FLUSH) - flushes, cap,
		    "its objects were flushed to the slabs");
	sem_post(&g.go);
	pthread_join(t, NULL);
	expect_d_eq(active_objs("sheaf_gen"), 0, "active_objs");
	sem_destroy(&g.full);
	sem_destroy(&g.go);
	sem_destroy(&g.done);
	free(g.pool);
	uslub_opt.decay_ms = saved;
	expect_d_eq(uslub_cache_shrink(s), 0, "shrink");
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

/* ---- Thread exit ----------------------------------------------------- */

#define EXIT_OBJECTS	10

struct exit_arg {
	struct uslub_cache *s;
	void *objs[256];
	unsigned int n;
	unsigned long held;		/* in its sheaves before exit */
	sem_t step, go;
};

/* Allocates n objects, waits, frees them, waits, exits. */
static void *exit_thread(void *arg)
{
	struct exit_arg *a = arg;
	unsigned int i;

	for (i = 0; i < a->n; i++)
		a->objs[i] = uslub_cache_alloc(a->s, 0);
	sem_post(&a->step);
	sem_wait(&a->go);
	for (i = 0; i < a->n; i++)
		uslub_cache_free(a->s, a->objs[i]);
	a->held = my_sheaf_objects(a->s);
	sem_post(&a->step);
	sem_wait(&a->go);
	return NULL;
}

/* Allocates n objects and holds them until told to free them. */
static void *reuse_thread(void *arg)
{
	struct exit_arg *a = arg;
	unsigned int i;

	for (i = 0; i < a->n; i++)
		a->objs[i] = uslub_cache_alloc(a->s, 0);
	sem_post(&a->step);
	sem_wait(&a->go);
	for (i = 0; i < a->n; i++)
		uslub_cache_free(a->s, a->objs[i]);
	return NULL;
}

TEST_BEGIN(test_thread_exit_hands_sheaf_to_barn)
{
	unsigned long saved = uslub_opt.decay_ms;
	struct uslub_cache *s = sheaf_cache("sheaf_exit", 96);
	unsigned long gets, slabs_alloc, nr_slabs, bobjects;
	struct exit_arg *a, *b;
	unsigned int i, missing = 0, nulls = 0;
	pthread_t t;

	if (!s)
		return;
	uslub_opt.decay_ms = NO_DECAY_MS;
	a = calloc(1, sizeof(*a));
	b = calloc(1, sizeof(*b));
	assert_ptr_not_null(a, "arg");
	assert_ptr_not_null(b, "arg");
	a->s = b->s = s;
	a->n = EXIT_OBJECTS;
	sem_init(&a->step, 0, 0);
	sem_init(&a->go, 0, 0);
	sem_init(&b->step, 0, 0);
	sem_init(&b->go, 0, 0);

	assert_d_eq(pthread_create(&t, NULL, exit_thread, a), 0, "thread A");
	sem_wait(&a->step);
	expect_d_eq(active_objs("sheaf_exit"), EXIT_OBJECTS,
		    "active_objs while A holds its objects");
	sem_post(&a->go);
	sem_wait(&a->step);
	expect_u_gt(a->held, EXIT_OBJECTS - 1,
		    "A's sheaves hold the objects it freed");
	expect_d_eq(active_objs("sheaf_exit"), 0,
		    "active_objs after A's frees");
	expect_u_eq(barn_full(s), 0, "the barn is empty while A lives");
	sem_post(&a->go);
	pthread_join(t, NULL);

	expect_u_eq(barn_full(s), 1, "A's exit put its sheaf in the barn");
	bobjects = barn_objects(s);
	expect_u_eq(bobjects, a->held, "with every object A's sheaves held");
	expect_d_eq(active_objs("sheaf_exit"), 0, "active_objs after A's exit");

	gets = stat_sum(s, BARN_GET);
	slabs_alloc = stat_sum(s, ALLOC_SLAB);
	nr_slabs = READ_ONCE(s->nr_slabs);
	b->n = (unsigned int)bobjects;
	assert_u_le(b->n, ARRAY_SIZE(b->objs), "fits");
	assert_d_eq(pthread_create(&t, NULL, reuse_thread, b), 0, "thread B");
	sem_wait(&b->step);
	expect_u_eq(stat_sum(s, BARN_GET) - gets, 1,
		    "B's first refill took the sheaf from the barn");
	expect_u_eq(stat_sum(s, ALLOC_SLAB) - slabs_alloc, 0,
		    "no new slab for B");
	expect_u_eq(READ_ONCE(s->nr_slabs), nr_slabs, "slab count unchanged");
	expect_u_eq(barn_full(s), 0, "the barn gave it away");
	expect_u_eq(barn_objects(s), 0, "barn objects");
	expect_d_eq(active_objs("sheaf_exit"), b->n,
		    "active_objs while B holds the barn's objects");
	for (i = 0; i < b->n; i++)
		nulls += b->objs[i] == NULL;
	for (i = 0; i < a->n; i++)
		missing += !among(b->objs, b->n, a->objs[i]);
	expect_u_eq(nulls, 0, "B's allocations that failed");
	expect_u_eq(missing, 0, "objects A freed that B did not get back");
	expect_u_eq(overlaps(b->objs, b->n, s->size), 0,
		    "B's objects are distinct");
	sem_post(&b->go);
	pthread_join(t, NULL);
	expect_d_eq(active_objs("sheaf_exit"), 0, "active_objs after B");

	sem_destroy(&a->step);
	sem_destroy(&a->go);
	sem_destroy(&b->step);
	sem_destroy(&b->go);
	free(a);
	free(b);
	uslub_opt.decay_ms = saved;
	expect_d_eq(uslub_cache_shrink(s), 0, "shrink");
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

/* ---- fork ------------------------------------------------------------ */

#define FORK_THREADS	3
#define FORK_FREED	12
#define FORK_KSIZE	192

struct fork_thread {
	struct uslub_cache *s;
	pthread_barrier_t *ready, *release;
	void *freed[FORK_FREED];	/* objects it freed into its sheaf */
	unsigned long held, kheld;	/* in its sheaves: cache, kmalloc */
	bool ok;
};

static void *fork_holder(void *arg)
{
	struct fork_thread *f = arg;
	void *k[FORK_FREED];
	unsigned int i;

	f->ok = true;
	for (i = 0; i < FORK_FREED; i++) {
		f->freed[i] = uslub_cache_alloc(f->s, 0);
		k[i] = uslub_kmalloc(FORK_KSIZE, 0);
		f->ok &= f->freed[i] && k[i];
	}
	for (i = 0; i < FORK_FREED; i++) {
		uslub_cache_free(f->s, f->freed[i]);
		uslub_kfree(k[i]);
	}
	f->held = my_sheaf_objects(f->s);
	f->kheld = my_sheaf_objects(&kmalloc_caches[kmalloc_index(FORK_KSIZE)]);
	pthread_barrier_wait(f->ready);
	pthread_barrier_wait(f->release);	/* through the fork */
	return NULL;
}

struct fork_ctx {
	struct uslub_cache *s;
	struct fork_thread th[FORK_THREADS];
	unsigned long barn0, kbarn0;	/* barn objects at the fork */
	unsigned long held, kheld;	/* the threads' sheaves, summed */
	unsigned int full0;
};

/* Allocates n objects of size bytes with alloc, stamps them, checks they
 * are distinct and intact, frees them. */
static void child_churn(const char *what, size_t size, unsigned int n,
			void *(*alloc)(void *, size_t),
			void (*release)(void *, void *), void *arg)
{
	void **v = calloc(n, sizeof(*v));
	unsigned int i, failed = 0, broken = 0;
	size_t j;

	assert_ptr_not_null(v, "array");
	for (i = 0; i < n; i++) {
		v[i] = alloc(arg, size);
		if (!v[i]) {
			failed++;
			continue;
		}
		memset(v[i], (int)(i & 0xff), size);
	}
	expect_u_eq(failed, 0, "%s: allocations in the child", what);
	if (failed)
		n = 0;
	expect_zu_eq(overlaps(v, n, size), 0, "%s: objects overlap", what);
	for (i = 0; i < n; i++) {
		const unsigned char *b = v[i];

		for (j = 0; j < size; j++)
			if (b[j] != (i & 0xff)) {
				broken++;
				break;
			}
		release(arg, v[i]);
	}
	expect_u_eq(broken, 0, "%s: objects whose contents changed", what);
	free(v);
}

static void *k_alloc(void *arg, size_t size)
{
	(void)arg;
	return uslub_kmalloc(size, 0);
}

static void k_free(void *arg, void *p)
{
	(void)arg;
	uslub_kfree(p);
}

static void *c_alloc(void *arg, size_t size)
{
	(void)size;
	return uslub_cache_alloc(arg, 0);
}

static void c_free(void *arg, void *p)
{
	uslub_cache_free(arg, p);
}

static void fork_child(void *arg)
{
	struct fork_ctx *x = arg;
	struct uslub_cache *s = x->s,
			   *k = &kmalloc_caches[kmalloc_index(FORK_KSIZE)];
	unsigned long total, gets, slabs, i, missing = 0, nulls = 0;
	unsigned int t, j, idx;
	void **v;

	alarm(60);			/* a hang fails instead of stalling */
	/* The other threads' sheaves were handed to the barns. */
	expect_u_eq(barn_full(s), x->full0 + FORK_THREADS,
		    "each thread's sheaf joined the barn");
	expect_u_eq(barn_objects(s), x->barn0 + x->held,
		    "with every object the threads' sheaves held");
	expect_u_eq(barn_objects(k), x->kbarn0 + x->kheld,
		    "kmalloc: the threads' objects in the barn");
	expect_d_eq(active_objs(s->name), 0, "active_objs in the child");

	/* Their objects come back without a new slab. */
	total = barn_objects(s);
	gets = stat_sum(s, BARN_GET);
	slabs = stat_sum(s, ALLOC_SLAB);
	v = calloc(total + 1, sizeof(*v));
	assert_ptr_not_null(v, "array");
	for (i = 0; i < total; i++) {
		v[i] = uslub_cache_alloc(s, 0);
		nulls += v[i] == NULL;
	}
	expect_u_eq(nulls, 0, "allocations that failed");
	expect_u_eq(stat_sum(s, ALLOC_SLAB) - slabs, 0,
		    "the barn's objects served them, no new slab");
	expect_u_eq(stat_sum(s, BARN_GET) - gets, FORK_THREADS + x->full0,
		    "one barn_get per inherited sheaf");
	for (t = 0; t < FORK_THREADS; t++)
		for (j = 0; j < FORK_FREED; j++)
			missing += !among(v, total, x->th[t].freed[j]);
	expect_u_eq(missing, 0, "objects the threads freed, not reused");
	expect_u_eq(overlaps(v, total, s->size), 0, "distinct objects");
	for (i = 0; i < total; i++)
		uslub_cache_free(s, v[i]);
	free(v);

	/* Every kmalloc class and the user cache work in the child. */
	for (idx = 1; idx < NR_KMALLOC; idx++) {
		size_t size = kmalloc_class_size(idx);
		unsigned int n = 3 * kmalloc_caches[idx].sheaf_capacity + 7;

		if (!size)
			continue;
		child_churn(kmalloc_caches[idx].name, size, n, k_alloc, k_free,
			    NULL);
	}
	child_churn(s->name, uslub_cache_size(s), 4 * s->sheaf_capacity + 3,
		    c_alloc, c_free, s);
	for (idx = 1; idx < NR_KMALLOC; idx++)
		expect_d_eq(active_objs(kmalloc_caches[idx].name), 0,
			    "%s: active_objs after the child's churn",
			    kmalloc_caches[idx].name);
	expect_d_eq(active_objs(s->name), 0, "active_objs after the churn");
}

TEST_BEGIN(test_fork_child_allocates)
{
	unsigned long saved = uslub_opt.decay_ms;
	struct uslub_cache *s = sheaf_cache("sheaf_fork", 80);
	pthread_barrier_t ready, release;
	pthread_t t[FORK_THREADS];
	struct fork_ctx *x;
	char out[8192];
	int status = -1;
	unsigned int i;

	if (!s)
		return;
	uslub_opt.decay_ms = NO_DECAY_MS;
	x = calloc(1, sizeof(*x));
	assert_ptr_not_null(x, "context");
	x->s = s;
	uslub_malloc_trim(0);		/* empty barns to start with */
	pthread_barrier_init(&ready, NULL, FORK_THREADS + 1);
	pthread_barrier_init(&release, NULL, FORK_THREADS + 1);
	for (i = 0; i < FORK_THREADS; i++) {
		x->th[i].s = s;
		x->th[i].ready = &ready;
		x->th[i].release = &release;
		assert_d_eq(pthread_create(&t[i], NULL, fork_holder, &x->th[i]),
			    0, "thread %u", i);
	}
	pthread_barrier_wait(&ready);
	for (i = 0; i < FORK_THREADS; i++) {
		expect_true(x->th[i].ok, "thread %u allocated", i);
		expect_u_gt(x->th[i].held, 0, "thread %u holds objects", i);
		expect_u_gt(x->th[i].kheld, 0,
			    "thread %u holds kmalloc objects", i);
		x->held += x->th[i].held;
		x->kheld += x->th[i].kheld;
	}
	x->full0 = barn_full(s);
	x->barn0 = barn_objects(s);
	x->kbarn0 = barn_objects(&kmalloc_caches[kmalloc_index(FORK_KSIZE)]);
	assert_d_eq(test_run_child(fork_child, x, &status, out, sizeof(out)), 0,
		    "fork");
	expect_true(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "child exits 0 (status %#x): %s", status, out);
	/* The parent's threads still own their sheaves. */
	expect_u_eq(barn_objects(s), x->barn0, "the parent's barn unchanged");
	pthread_barrier_wait(&release);
	for (i = 0; i < FORK_THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&ready);
	pthread_barrier_destroy(&release);
	expect_d_eq(active_objs("sheaf_fork"), 0, "active_objs");
	free(x);
	uslub_opt.decay_ms = saved;
	expect_d_eq(uslub_cache_shrink(s), 0, "shrink");
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

/*
 * A thread that holds a shelf at the fork: the child reclaims it with the
 * thread's main and spare, and hands out each of its objects once.
 */
#define SHELF_ROUNDS	16

struct shelf_holder {
	struct uslub_cache *s;
	void **objs;
	unsigned int n;
	unsigned long held, shelved;	/* in its sheaves; on its shelf */
	pthread_barrier_t *ready, *release;
};

static void *shelf_holder_thread(void *arg)
{
	struct shelf_holder *h = arg;
	struct kmem_cache_cpu *c;
	unsigned int r, i;

	for (r = 0; r < SHELF_ROUNDS; r++) {
		for (i = 0; i < h->n; i++)
			h->objs[i] = uslub_cache_alloc(h->s, 0);
		for (i = 0; i < h->n; i++)
			uslub_cache_free(h->s, h->objs[i]);
	}
	c = cache_cpu(h->s, thread_cache);
	h->held = my_sheaf_objects(h->s);
	h->shelved = c && c->spare ? c->spare->shelf.objects : 0;
	pthread_barrier_wait(h->ready);
	pthread_barrier_wait(h->release);	/* through the fork */
	return NULL;
}

static void shelf_fork_child(void *arg)
{
	struct shelf_holder *h = arg;
	unsigned long total = 2 * (unsigned long)h->n, i, missing = 0;
	void **v = calloc(total, sizeof(*v));

	alarm(60);
	assert_ptr_not_null(v, "array");
	expect_d_eq(active_objs(h->s->name), 0, "active_objs in the child");
	for (i = 0; i < total; i++) {
		v[i] = uslub_cache_alloc(h->s, 0);
		assert_ptr_not_null(v[i], "allocation %lu in the child", i);
		memset(v[i], 0x5a, h->s->size);
	}
	expect_zu_eq(overlaps(v, total, h->s->size), 0, "distinct objects");
	for (i = 0; i < h->n; i++)
		missing += !among(v, total, h->objs[i]);
	expect_lu_eq(missing, 0, "the thread's objects came back");
	for (i = 0; i < total; i++)
		uslub_cache_free(h->s, v[i]);
	expect_d_eq(active_objs(h->s->name), 0, "active_objs after");
	free(v);
}

TEST_BEGIN(test_fork_child_reclaims_a_shelf)
{
	struct uslub_cache *s = sheaf_cache("sheaf_fork_shelf", 64);
	pthread_barrier_t ready, release;
	struct shelf_holder h = { 0 };
	char out[8192];
	int status = -1;
	pthread_t t;

	if (!s)
		return;
	h.s = s;
	h.n = 5 * s->sheaf_max;		/* past main and spare */
	h.objs = calloc(h.n, sizeof(void *));
	assert_ptr_not_null(h.objs, "array");
	h.ready = &ready;
	h.release = &release;
	pthread_barrier_init(&ready, NULL, 2);
	pthread_barrier_init(&release, NULL, 2);
	assert_d_eq(pthread_create(&t, NULL, shelf_holder_thread, &h), 0,
		    "thread");
	pthread_barrier_wait(&ready);
	expect_lu_gt(h.shelved, 0, "the thread holds a shelf");
	expect_lu_ge(h.held, h.n, "and every object it freed");
	assert_d_eq(test_run_child(shelf_fork_child, &h, &status, out,
				   sizeof(out)), 0, "fork");
	expect_true(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "child exits 0 (status %#x): %s", status, out);
	pthread_barrier_wait(&release);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&ready);
	pthread_barrier_destroy(&release);
	expect_d_eq(active_objs("sheaf_fork_shelf"), 0, "active_objs");
	free(h.objs);
	expect_d_eq(uslub_cache_shrink(s), 0, "shrink");
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

/* ---- Occupancy statistics -------------------------------------------- */

struct occ_arg {
	struct uslub_cache *s;
	unsigned long held;
	sem_t held_sem, go;
};

/* One allocation and its free, then wait: its sheaf holds what the refill
 * found on the partial list. */
static void *occ_thread(void *arg)
{
	struct occ_arg *o = arg;

	uslub_cache_free(o->s, uslub_cache_alloc(o->s, 0));
	o->held = my_sheaf_objects(o->s);
	sem_post(&o->held_sem);
	sem_wait(&o->go);
	return NULL;
}

/* Checks the occupancy lines of cache "sheaf_occ" against what is
 * expected (0: no line). */
static void expect_occupancy(const char *step, long threads, long objects,
			     long full, long bobjects, long empty)
{
	char *text = stats_text(uslub_stats_write);

	assert_ptr_not_null(text, "stats written");
	expect_d_eq(stats_value(text, "sheaf_occ", "sheaf_threads"), threads,
		    "%s: sheaf_threads", step);
	expect_d_eq(stats_value(text, "sheaf_occ", "sheaf_objects"), objects,
		    "%s: sheaf_objects", step);
	expect_d_eq(stats_value(text, "sheaf_occ", "barn_full_sheaves"), full,
		    "%s: barn_full_sheaves", step);
	expect_d_eq(stats_value(text, "sheaf_occ", "barn_objects"), bobjects,
		    "%s: barn_objects", step);
	expect_d_eq(stats_value(text, "sheaf_occ", "barn_empty_sheaves"), empty,
		    "%s: barn_empty_sheaves", step);
	free(text);
}

TEST_BEGIN(test_occupancy_stats)
{
	unsigned long saved = uslub_opt.decay_ms;
	struct uslub_cache *s = sheaf_cache("sheaf_occ", 64);
	long cap, per, first, rest, other;
	struct occ_arg o;
	void **v, *p0;
	char *text;
	pthread_t t;
	long i;

	if (!s)
		return;
	uslub_opt.decay_ms = NO_DECAY_MS;
	cap = s->sheaf_capacity;
	per = s->objects;
	/* A refill takes up to cap objects from the partial slabs, else
	 * from one new slab (slab_alloc_bulk): the first takes min(cap,
	 * per) and leaves the rest of its slab on the partial list; the
	 * next takes that rest, or a new slab's worth if there is none. */
	first = MIN(cap, per);
	rest = per - first;
	other = rest ? MIN(cap, rest) : first;
	text = stats_text(uslub_stats_write);
	assert_ptr_not_null(text, "stats");
	expect_d_eq(stats_value(text, "sheaf_occ", "sheaf_capacity"), cap,
		    "sheaf_capacity line");
	free(text);
	expect_occupancy("new cache", 0, 0, 0, 0, 0);

	/* The first allocation refills main from a new slab; one object is
	 * handed out. */
	p0 = uslub_cache_alloc(s, 0);
	assert_ptr_not_null(p0, "first object");
	expect_occupancy("one object", 1, first - 1, 0, 0, 0);

	/* Another thread's refill; its exit puts its sheaf in the barn. */
	memset(&o, 0, sizeof(o));
	o.s = s;
	sem_init(&o.held_sem, 0, 0);
	sem_init(&o.go, 0, 0);
	assert_d_eq(pthread_create(&t, NULL, occ_thread, &o), 0, "thread");
	sem_wait(&o.held_sem);
	expect_d_eq(o.held, other, "the other thread's sheaf");
	expect_occupancy("two threads", 2, first - 1 + other, 0, 0, 0);
	sem_post(&o.go);
	pthread_join(t, NULL);
	expect_occupancy("after its exit", 1, first - 1, 1, other, 0);

	uslub_cache_free(s, p0);
	expect_occupancy("p0 freed", 1, first, 1, other, 0);

	/* first objects empty main; one more takes the barn's sheaf, and the
	 * empty main becomes the spare. */
	v = calloc((size_t)first + 1, sizeof(*v));
	assert_ptr_not_null(v, "array");
	for (i = 0; i <= first; i++) {
		v[i] = uslub_cache_alloc(s, 0);
		assert_ptr_not_null(v[i], "object %ld", i);
	}
	expect_occupancy("barn sheaf taken", 1, other - 1, 0, 0, 0);
	expect_d_eq(active_objs("sheaf_occ"), first + 1, "active_objs");

	/* Freeing them all fills main (and, past cap, swaps it with the
	 * empty spare): every object is back in the thread's sheaves. */
	for (i = 0; i <= first; i++)
		uslub_cache_free(s, v[i]);
	expect_occupancy("all freed", 1, first + other, 0, 0, 0);
	expect_d_eq(active_objs("sheaf_occ"), 0, "active_objs");
	free(v);

	/* Shrink flushes the caller's sheaves: no object cached. */
	expect_d_eq(uslub_cache_shrink(s), 0, "shrink");
	expect_occupancy("shrunk", 1, 0, 0, 0, 0);
	sem_destroy(&o.held_sem);
	sem_destroy(&o.go);
	uslub_opt.decay_ms = saved;
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

/* ---- Double free ----------------------------------------------------- */

/* Frees p twice with fn (abort_on_error off); the second free must be
 * reported as a double free under name. */
static void double_free(void (*fn)(void *, void *), void *arg, void *p,
			const char *name)
{
	int saved = uslub_opt.abort_on_error;
	struct test_capture cap;
	char err[2048], want[64];

	fn(arg, p);
	uslub_opt.abort_on_error = 0;
	test_capture_begin(&cap);
	fn(arg, p);
	test_capture_end(&cap, err, sizeof(err));
	uslub_opt.abort_on_error = saved;
	snprintf(want, sizeof(want), "%s: invalid pointer %p", name, p);
	expect_str_contains(err, want, "the second %s of %p is reported", name,
			    p);
	expect_str_contains(err, "double free", "as a double free");
}

static void u_free(void *arg, void *p)
{
	(void)arg;
	uslub_free(p);
}

/* After the double free of p: the next two allocations are p and another
 * object, and active_objs counts the free once. */
static void expect_not_duplicated(struct uslub_cache *s, void *p,
				  long active_before)
{
	void *x, *y;

	expect_d_eq(active_objs(s->name), active_before - 1,
		    "the second free was not counted");
	x = uslub_cache_alloc(s, 0);
	y = uslub_cache_alloc(s, 0);
	expect_ptr_eq(x, p, "p is handed out again, once");
	expect_ptr_ne(x, y, "two allocations, two objects");
	expect_d_eq(active_objs(s->name), active_before + 1, "active_objs");
	uslub_cache_free(s, x);
	uslub_cache_free(s, y);
}

/* Frees objects of pool (from *used on) until c's main holds target. */
static void fill_main_to(struct uslub_cache *s, struct kmem_cache_cpu *c,
			 unsigned long target, void **pool, unsigned int npool,
			 unsigned int *used)
{
	while (cpu_size(c) < target && *used < npool)
		uslub_cache_free(s, pool[(*used)++]);
	expect_u_eq(cpu_size(c), target, "main filled to %lu", target);
}

/* A fresh cache, a pool of objects allocated from it (several sheaves'
 * worth) and the caller's slot. */
static struct uslub_cache *df_setup(const char *name, void ***pool,
				    unsigned int *npool,
				    struct kmem_cache_cpu **c)
{
	struct uslub_cache *s = sheaf_cache(name, 64);
	unsigned int i;

	if (!s)
		return NULL;
	*npool = 3 * s->sheaf_capacity + s->objects;
	*pool = calloc(*npool, sizeof(**pool));
	if (!*pool)
		return NULL;
	for (i = 0; i < *npool; i++)
		(*pool)[i] = uslub_cache_alloc(s, 0);
	*c = cache_cpu(s, thread_cache);
	return *c ? s : NULL;
}

static void df_teardown(struct uslub_cache *s, void **pool,
			unsigned int npool, unsigned int used)
{
	while (used < npool)
		uslub_cache_free(s, pool[used++]);
	free(pool);
	expect_d_eq(active_objs(s->name), 0, "%s: active_objs", s->name);
	expect_d_eq(uslub_cache_shrink(s), 0, "shrink");
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}

TEST_BEGIN(test_double_free_on_sheaf_top)
{
	struct uslub_cache *s;
	struct kmem_cache_cpu *c;
	void *p, *q, *x, *y, **pool;
	unsigned int npool, used;
	long live;

	/* Main with room: p on top. */
	s = df_setup("sheaf_df1", &pool, &npool, &c);
	if (!s)
		return;
	used = 0;
	p = uslub_cache_alloc(s, 0);
	q = uslub_cache_alloc(s, 0);
	assert_ptr_not_null(q, "q");
	live = active_objs(s->name);
	double_free(c_free, s, p, "cache_free");
	expect_u_lt(cpu_size(c), cpu_capacity(c), "main has room, p on top");
	expect_not_duplicated(s, p, live);
	uslub_cache_free(s, q);
	df_teardown(s, pool, npool, used);

	/* Main full with p on top. */
	s = df_setup("sheaf_df2", &pool, &npool, &c);
	assert_ptr_not_null(s, "setup");
	used = 0;
	p = pool[used++];
	fill_main_to(s, c, cpu_capacity(c) - 1, pool, npool, &used);
	live = active_objs(s->name);
	double_free(c_free, s, p, "cache_free");
	expect_u_eq(cpu_size(c), cpu_capacity(c), "main is full, p on top");
	expect_not_duplicated(s, p, live);
	df_teardown(s, pool, npool, used);

	/* p freed onto a new main just after an overflow. */
	s = df_setup("sheaf_df3", &pool, &npool, &c);
	assert_ptr_not_null(s, "setup");
	used = 0;
	p = pool[used++];
	fill_main_to(s, c, cpu_capacity(c), pool, npool, &used);
	live = active_objs(s->name);
	double_free(c_free, s, p, "cache_free");
	expect_u_eq(cpu_size(c), 1, "the overflow left p alone on a new main");
	expect_not_duplicated(s, p, live);
	df_teardown(s, pool, npool, used);

	/* kfree and free of kmalloc objects. */
	p = uslub_kmalloc(200, 0);
	q = uslub_kmalloc(200, 0);
	assert_ptr_not_null(p, "kmalloc");
	double_free(k_free, NULL, p, "kfree");
	x = uslub_kmalloc(200, 0);
	y = uslub_kmalloc(200, 0);
	expect_ptr_eq(x, p, "kfree: p handed out again");
	expect_ptr_ne(x, y, "kfree: two allocations, two objects");
	expect_ptr_ne(y, q, "kfree: not the live q");
	uslub_kfree(x);
	uslub_kfree(y);
	p = uslub_malloc(40);
	assert_ptr_not_null(p, "malloc");
	double_free(u_free, NULL, p, "free");
	x = uslub_malloc(40);
	y = uslub_malloc(40);
	expect_ptr_eq(x, p, "free: p handed out again");
	expect_ptr_ne(x, y, "free: two allocations, two objects");
	uslub_free(x);
	uslub_free(y);
	uslub_kfree(q);
}
TEST_END

/* ---- The sheaf pool -------------------------------------------------- */

#define POOL_SHEAVES	6	/* of 1024 bytes: two pages' worth */
/* thread indexes no thread of the tests gets */
#define IDX_A		(THREAD_IDX_NONE - 1)
#define IDX_B		(THREAD_IDX_NONE - 2)
#define IDX_C		(THREAD_IDX_NONE - 3)
#define POOL_SCRATCH	1024

static struct slab *sheaf_page(const struct slab_sheaf *sh)
{
	return pagemap_head(sh);
}

/* Does any sheaf of a lie on a page of one of b? */
static unsigned int pages_shared(struct slab_sheaf *const *a,
				 struct slab_sheaf *const *b, unsigned int n)
{
	unsigned int i, j, shared = 0;

	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			shared += sheaf_page(a[i]) == sheaf_page(b[j]);
	return shared;
}

static unsigned long pool_bytes_now(void)
{
	unsigned long bytes, in_use;

	sheaf_pool_stats(&bytes, &in_use);
	return bytes;
}

/* Takes sheaves of capacity cap for a scratch thread until it has used
 * up a fresh page: every page of their size is then in use to the last
 * sheaf, and the next pages are fresh.  The count taken, into v. */
static unsigned int pool_use_up(struct page_cache *pc, unsigned int cap,
				struct slab_sheaf **v)
{
	unsigned long bytes = pool_bytes_now();
	unsigned int n = 0;

	while (n < POOL_SCRATCH && (v[n] = sheaf_new(cap, pc, IDX_C))) {
		n++;
		if (pool_bytes_now() > bytes && !sheaf_page(v[n - 1])->freelist)
			return n;
	}
	return 0;
}

TEST_BEGIN(test_pool_carves_a_threads_sheaves_from_its_own_pages)
{
	static struct slab_sheaf *scratch[POOL_SCRATCH];
	struct page_cache a, b, c;
	struct slab_sheaf *sa[POOL_SHEAVES], *sb[POOL_SHEAVES], *sn;
	unsigned int cap = sheaf_capacity(64), i, nscratch;
	unsigned long bytes;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	nscratch = pool_use_up(&c, cap, scratch);
	assert_u_gt(nscratch, 0, "the pool's free sheaves used up");
	sheaf_pool_release(&c);
	for (i = 0; i < POOL_SHEAVES; i++) {	/* the threads take turns */
		sa[i] = sheaf_new(cap, &a, IDX_A);
		sb[i] = sheaf_new(cap, &b, IDX_B);
		assert_ptr_not_null(sa[i], "a's sheaf %u", i);
		assert_ptr_not_null(sb[i], "b's sheaf %u", i);
		expect_u_eq(sa[i]->capacity, cap, "a's sheaf %u capacity", i);
		expect_u_eq(sa[i]->size, 0, "a's sheaf %u empty", i);
	}
	expect_u_eq(pages_shared(sa, sb, POOL_SHEAVES), 0,
		    "no page holds sheaves of both threads");
	/* packed: an idle thread pays no page per sheaf */
	expect_ptr_eq(sheaf_page(sa[0]), sheaf_page(sa[1]),
		      "a's first two sheaves share a page");
	expect_ptr_eq(sheaf_page(sb[2]), sheaf_page(sb[3]),
		      "b's third and fourth sheaves share a page");
	for (i = 0; i < POOL_SHEAVES; i++)
		expect_false(among((void *const *)sa, i, sa[i]) ||
			     among((void *const *)sb, POOL_SHEAVES, sa[i]),
			     "sheaf %u handed out once", i);

	/* b exits: its pages, all free again, serve a before the page
	 * layer does */
	for (i = 0; i < POOL_SHEAVES; i++)
		sheaf_free(sb[i]);
	sheaf_pool_release(&b);
	bytes = pool_bytes_now();
	for (i = 0; i < POOL_SHEAVES; i++) {
		sb[i] = sheaf_new(cap, &a, IDX_A);
		assert_ptr_not_null(sb[i], "a's sheaf %u", POOL_SHEAVES + i);
	}
	expect_lu_eq(pool_bytes_now(), bytes, "a took a free page, no new one");
	/* its second page first: two sheaves of each six there, 2 x 2 pairs */
	expect_u_eq(pages_shared(sa, sb, POOL_SHEAVES), 4,
		    "a's second page filled before the next");

	/* a exits with sheaves in use: the next thread on its index carves
	 * next to them; without a thread, a page in use comes first */
	sheaf_pool_release(&a);
	sheaf_free(sa[0]);
	memset(&a, 0, sizeof(a));
	sn = sheaf_new(cap, &a, IDX_A);
	assert_ptr_not_null(sn, "a successor's sheaf");
	expect_ptr_eq(sheaf_page(sn), sheaf_page(sa[1]),
		      "the successor carves on its predecessor's page");
	sheaf_free(sn);
	sheaf_pool_release(&a);
	sn = sheaf_new(cap, NULL, THREAD_IDX_NONE);
	assert_ptr_not_null(sn, "a sheaf without a thread");
	expect_u_ge(sheaf_page(sn)->inuse, 2,
		    "it fills a page in use, not a free one");
	sheaf_free(sn);

	/* with no free page (trim gave them back) and none of its index, a
	 * thread takes a page in use before a fresh one: the pool stays
	 * dense */
	sheaf_pool_shrink(NULL);
	bytes = pool_bytes_now();
	sn = sheaf_new(cap, &b, IDX_B);
	assert_ptr_not_null(sn, "b's sheaf");
	expect_lu_eq(pool_bytes_now(), bytes, "no fresh page");
	expect_u_ge(sheaf_page(sn)->inuse, 2, "b fills a page in use");
	sheaf_free(sn);
	sheaf_pool_release(&b);
	for (i = 2; i < POOL_SHEAVES; i++)
		sheaf_free(sa[i]);
	for (i = 0; i < POOL_SHEAVES; i++)
		sheaf_free(sb[i]);
	sheaf_pool_shrink(NULL);
	expect_lu_lt(pool_bytes_now(), bytes,
		     "trim gives back the pages none of whose sheaves is used");
	for (i = 0; i < nscratch; i++)
		sheaf_free(scratch[i]);
}
TEST_END

struct pool_worker {
	struct uslub_cache *s;
	sem_t *ready, *go;
	struct slab_sheaf *held[SHELF_SHEAVES + 2];
	unsigned int nheld;
};

/* Fills and drains 1024 objects of s a few times (main, spare and a
 * shelf of sheaves), notes the sheaves its slot holds, and waits. */
static void *pool_worker_thread(void *arg)
{
	struct pool_worker *w = arg;
	struct kmem_cache_cpu *c;
	struct slab_sheaf *sh;
	void *v[1024];
	unsigned int i, r;

	for (r = 0; r < 4; r++) {
		for (i = 0; i < 1024; i++)
			v[i] = uslub_cache_alloc(w->s, 0);
		for (i = 0; i < 1024; i++)
			uslub_cache_free(w->s, v[1023 - i]);
	}
	c = cache_cpu(w->s, thread_cache);
	if (c && c->main) {
		w->held[w->nheld++] = c->main;
		if (c->spare) {
			w->held[w->nheld++] = c->spare;
			list_for_each_entry(sh, &c->spare->barn_list, barn_list)
				if (w->nheld < SHELF_SHEAVES + 2)
					w->held[w->nheld++] = sh;
		}
	}
	sem_post(w->ready);
	sem_wait(w->go);
	return NULL;
}

TEST_BEGIN(test_two_threads_sheaves_lie_on_pages_of_their_own)
{
	struct uslub_cache *s = sheaf_cache("test_pool_pages", 64);
	struct pool_worker w[2];
	pthread_t t[2];
	sem_t ready, go;
	unsigned int i, j, k, shared = 0;

	if (!s)
		return;
	sem_init(&ready, 0, 0);
	sem_init(&go, 0, 0);
	for (k = 0; k < 2; k++) {
		memset(&w[k], 0, sizeof(w[k]));
		w[k].s = s;
		w[k].ready = &ready;
		w[k].go = &go;
		assert_d_eq(pthread_create(&t[k], NULL, pool_worker_thread,
					   &w[k]), 0, "thread %u", k);
	}
	sem_wait(&ready);
	sem_wait(&ready);
	expect_u_ge(w[0].nheld, 3, "thread 0 holds main, spare and a shelf");
	expect_u_ge(w[1].nheld, 3, "thread 1 holds main, spare and a shelf");
	for (i = 0; i < w[0].nheld; i++)
		for (j = 0; j < w[1].nheld; j++)
			shared += sheaf_page(w[0].held[i]) ==
				  sheaf_page(w[1].held[j]);
	expect_u_eq(shared, 0, "no page holds sheaves of both threads");
	sem_post(&go);
	sem_post(&go);
	for (k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
	uslub_cache_shrink(s);
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
	sem_destroy(&ready);
	sem_destroy(&go);
}
TEST_END

/* ---- A thread's shelves together ----------------------------------- */

static const size_t shelf_sizes[] = { 256, 384, 448, 512 };
#define NR_SHELF_SIZES	(sizeof(shelf_sizes) / sizeof(shelf_sizes[0]))

struct shelf_budget {
	unsigned long need;	/* what the classes' shelves would hold alone */
	unsigned long shelved, counted, after_trim;
	unsigned int classes;	/* classes with objects on their shelf */
};

/* Bytes on the shelves of the calling thread's kmalloc slots. */
static unsigned long my_kmalloc_shelves(unsigned int *classes)
{
	unsigned long bytes = 0;
	unsigned int i;

	*classes = 0;
	for (i = 1; i < NR_KMALLOC; i++) {
		struct kmem_cache_cpu *c = &thread_cache->kcpu[i];

		if (!c->cache || !c->spare || !c->spare->shelf.objects)
			continue;
		bytes += (unsigned long)c->spare->shelf.objects * c->cache->size;
		(*classes)++;
	}
	return bytes;
}

/* Swings on each size in turn (allocating and freeing five sheaves'
 * worth), as a thread of a pipeline does on many classes. */
static void *shelf_budget_thread(void *arg)
{
	struct shelf_budget *b = arg;
	unsigned int i, j, r, n;
	void **v;

	for (i = 0; i < NR_SHELF_SIZES; i++) {
		struct uslub_cache *s =
			&kmalloc_caches[kmalloc_index(shelf_sizes[i])];

		n = 5 * s->sheaf_max;
		b->need += (unsigned long)(n - 2 * s->sheaf_max) * s->size;
		v = calloc(n, sizeof(*v));
		assert_ptr_not_null(v, "array");
		for (r = 0; r < 4 * SLOT_THRASH; r++) {
			for (j = 0; j < n; j++)
				v[j] = uslub_kmalloc(shelf_sizes[i], 0);
			for (j = 0; j < n; j++)
				uslub_kfree(v[j]);
		}
		free(v);
	}
	b->shelved = my_kmalloc_shelves(&b->classes);
	b->counted = thread_cache->pcache.shelved;
	uslub_reclaim(0);
	b->after_trim = thread_cache->pcache.shelved;
	return NULL;
}

/*
 * A thread that swings on several kmalloc classes keeps at most
 * SHELF_THREAD_BYTES on their shelves together (each shelf alone would
 * hold more), its count of them is exact, and a trim brings it to 0.
 */
TEST_BEGIN(test_thread_shelves_share_a_bound)
{
	struct shelf_budget b = { 0 };
	pthread_t t;

	assert_d_eq(pthread_create(&t, NULL, shelf_budget_thread, &b), 0,
		    "thread");
	assert_d_eq(pthread_join(t, NULL), 0, "join");
	expect_lu_gt(b.need, SHELF_THREAD_BYTES,
		     "the classes' swings would shelve more than the bound");
	expect_u_gt(b.classes, 0, "some class shelved");
	expect_lu_gt(b.shelved, 0, "objects on the shelves");
	expect_lu_le(b.shelved, SHELF_THREAD_BYTES, "the thread's bound");
	expect_lu_eq(b.counted, b.shelved, "the thread's count");
	expect_lu_eq(b.after_trim, 0, "nothing counted after a trim");
}
TEST_END

int main(void)
{
	/* The decay test first: it needs the barn sweep not scheduled far
	 * ahead by the others' long decay_ms. */
	return test(test_decay, test_trim_empties_barns,
		    test_trim_flushes_other_threads_later,
		    test_thread_exit_hands_sheaf_to_barn,
		    test_fork_child_allocates,
		    test_fork_child_reclaims_a_shelf, test_occupancy_stats,
		    test_double_free_on_sheaf_top,
		    test_pool_carves_a_threads_sheaves_from_its_own_pages,
		    test_two_threads_sheaves_lie_on_pages_of_their_own,
		    test_thread_shelves_share_a_bound, NULL);
}
