/*
 * hotpath.c - instruction counts of the allocator's paths, for callgrind.
 *
 * Usage: bench/hotpath [PATTERN...]   (all patterns when none is named)
 *
 * Each pattern sets up, warms its loop, then runs it once more through a
 * noinline wrapper named after the pattern, so that
 *   valgrind --tool=callgrind --toggle-collect=NAME bench/hotpath NAME
 * counts the counted run only; bench/callgrind.sh subtracts the benchmark's
 * own instructions (the self cost of the wrapper and of NAME_loop) and
 * divides by the "pairs" line printed here (malloc+free pairs counted).
 * Sizes "8..1024" come from a fixed xorshift32 sequence, the same for every
 * allocator.
 *
 *   hot_pair     uslub_kmalloc(32) + uslub_kfree
 *   cache_pair   uslub_cache_alloc + uslub_cache_free on a 64-byte cache
 *                (malloc(64) + free in bench/hotpath-malloc)
 *                (both with BALLAST live blocks of their size beside them,
 *                so the free never empties the page: mimalloc retires an
 *                empty page on every free, 60 instructions more)
 *   ring_run     RING_LIVE live blocks of 8..1024 B; per step free the
 *                oldest and allocate a new one (FIFO)
 *   fixed64_ring the same with 64-byte blocks only
 *   ring32k      RING32_LIVE live blocks of 8 B..32 KiB; per step free a
 *                random one and allocate a new one in its place, writing
 *                its first byte (the suite's ring/32k)
 *   batch_fwd    allocate BATCH_N blocks of 8..1024 B, free them in
 *   batch_rev    allocation order / reverse order / a fixed shuffled order
 *   batch_shuf
 *   shuf64       allocate SHUF_N x 64 B, free them in a fixed shuffled order
 *   tree20k      allocate TREE_N x 80 B, free them in a fixed shuffled order
 *                (the suite's tree/20k: more than sheaves and barn hold, so
 *                every object goes back to its slab and out again)
 *   prodcons     a producer thread allocates 8..1024 B in batches of PC_BATCH
 *                and hands them through a mutex/condvar ring of PC_QUEUE
 *                batches to a consumer thread that frees them; counted in
 *                both threads: prodcons_alloc and prodcons_free
 *   larson       a set of LARSON_LIVE blocks of 8..1024 B; each thread of a
 *                pthread_create/join chain replaces random ones for
 *                LARSON_STEPS steps, then the next thread takes the set over
 *                (each thread's first allocations, the allocator's thread
 *                set-up, are counted; its exit, run after the thread
 *                function returns, is not)
 *
 * In the uslub build (not bench/hotpath-malloc) each pattern also prints
 * "<name> cmpxchg16b <per pair>": the cmpxchg16b operations (stat
 * cmpxchg_double, all threads) of its counted run per pair, read through
 * uslub_stats_write; only where lib/types.h has that counter.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HOTPATH_MALLOC
/* bench/hotpath-malloc: the same loops through the malloc ABI, to run
 * under another allocator with LD_PRELOAD (bench/callgrind.sh --peers). */
#define uslub_kmalloc(size, gfp)	malloc(size)
#define uslub_kfree(p)			free(p)
#define uslub_cache_create(...)		((struct uslub_cache *)NULL)
#define uslub_cache_alloc(c, gfp)	malloc(64)
#define uslub_cache_free(c, p)		free(p)
struct uslub_cache;
#else
#include "uslub.h"
#include "types.h"		/* SLUB_STAT_ITEMS: the counters there are */
#endif

#define HOT_ITERS	200000
#define BALLAST		16
#define RING_LIVE	4096
#define RING_ITERS	500000
#define FIXED_ITERS	500000
#define RING32_LIVE	1024
#define RING32_ITERS	300000
#define BATCH_N		1000
#define BATCH_ROUNDS	300
#define SHUF_N		1024
#define SHUF_ROUNDS	300
#define TREE_N		20000
#define TREE_ROUNDS	5
#define PC_BATCH	64
#define PC_QUEUE	16
#define PC_WARM		100	/* batches */
#define PC_BATCHES	3000
#define LARSON_LIVE	1000
#define LARSON_STEPS	5000
#define LARSON_WARM	4	/* generations */
#define LARSON_GENS	40

/* Loops and wrappers keep their names: no inlining, no IPA clones
 * (hot_pair_loop.constprop.0 would escape --toggle-collect). */
#ifdef __clang__
#define NOIPA	__attribute__((noinline))
#else
#define NOIPA	__attribute__((noinline, noclone))
#endif
/* After a call in a wrapper: keeps it a call, not a tail jump. */
#define KEEP()	__asm__ __volatile__("" : : : "memory")

static inline uint32_t xorshift32(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static inline size_t size_8_1024(uint32_t *x)
{
	return 8 + xorshift32(x) % 1017;
}

static struct uslub_cache *cache64;

/* ---- single-thread patterns ---------------------------------------- */

NOIPA void hot_pair_loop(long n)
{
	for (long i = 0; i < n; i++) {
		void *p = uslub_kmalloc(32, 0);

		__asm__ __volatile__("" : : "r"(p) : "memory");
		uslub_kfree(p);
	}
}

NOIPA void cache_pair_loop(long n)
{
	for (long i = 0; i < n; i++) {
		void *p = uslub_cache_alloc(cache64, 0);

		__asm__ __volatile__("" : : "r"(p) : "memory");
		uslub_cache_free(cache64, p);
	}
}

static void *ring[RING_LIVE];
static uint32_t ring_sizes[RING_ITERS];
static long ring_pos;		/* steps done: the oldest slot is pos % LIVE */

NOIPA void ring_run_loop(long n)
{
	for (long i = 0; i < n; i++, ring_pos++) {
		uint32_t slot = (uint32_t)ring_pos % RING_LIVE;

		uslub_kfree(ring[slot]);
		ring[slot] = uslub_kmalloc(ring_sizes[i], 0);
	}
}

NOIPA void fixed64_ring_loop(long n)
{
	for (long i = 0; i < n; i++, ring_pos++) {
		uint32_t slot = (uint32_t)ring_pos % RING_LIVE;

		uslub_kfree(ring[slot]);
		ring[slot] = uslub_kmalloc(64, 0);
	}
}

static void *ring32[RING32_LIVE];
static uint32_t ring32_x = 362436069u;	/* the sequence, run after run */

NOIPA void ring32k_loop(long n)
{
	uint32_t x = ring32_x;

	for (long i = 0; i < n; i++) {
		uint32_t slot = xorshift32(&x) % RING32_LIVE;
		char *p;

		uslub_kfree(ring32[slot]);
		p = uslub_kmalloc(8 + xorshift32(&x) % 32761, 0);
		*p = (char)i;
		ring32[slot] = p;
	}
	ring32_x = x;
}

static void *batch[SHUF_N];	/* SHUF_N >= BATCH_N */
static void *tree[TREE_N];
static uint16_t tree_order[TREE_N];	/* a fixed permutation */
static uint32_t batch_sizes[BATCH_N];
static uint16_t order[SHUF_N];	/* a fixed permutation */

static inline void batch_alloc(void)
{
	for (int i = 0; i < BATCH_N; i++)
		batch[i] = uslub_kmalloc(batch_sizes[i], 0);
}

NOIPA void batch_fwd_loop(long rounds)
{
	for (long r = 0; r < rounds; r++) {
		batch_alloc();
		for (int i = 0; i < BATCH_N; i++)
			uslub_kfree(batch[i]);
	}
}

NOIPA void batch_rev_loop(long rounds)
{
	for (long r = 0; r < rounds; r++) {
		batch_alloc();
		for (int i = BATCH_N - 1; i >= 0; i--)
			uslub_kfree(batch[i]);
	}
}

NOIPA void batch_shuf_loop(long rounds)
{
	for (long r = 0; r < rounds; r++) {
		batch_alloc();
		for (int i = 0; i < BATCH_N; i++)
			uslub_kfree(batch[order[i]]);
	}
}

/* rounds of: n blocks of size into v, freed in the order of ord.
 * Inlined: its instructions count as the calling loop's own. */
static inline __attribute__((always_inline)) void
fill_free_shuffled(void **v, const uint16_t *ord, int n, size_t size,
		   long rounds)
{
	for (long r = 0; r < rounds; r++) {
		for (int i = 0; i < n; i++)
			v[i] = uslub_kmalloc(size, 0);
		for (int i = 0; i < n; i++)
			uslub_kfree(v[ord[i]]);
	}
}

NOIPA void shuf64_loop(long rounds)
{
	fill_free_shuffled(batch, order, SHUF_N, 64, rounds);
}

NOIPA void tree20k_loop(long rounds)
{
	fill_free_shuffled(tree, tree_order, TREE_N, 80, rounds);
}

/* The counted runs: toggle-collect on these names. */
NOIPA void hot_pair(long n) { hot_pair_loop(n); KEEP(); }
NOIPA void cache_pair(long n) { cache_pair_loop(n); KEEP(); }
NOIPA void ring_run(long n) { ring_run_loop(n); KEEP(); }
NOIPA void fixed64_ring(long n) { fixed64_ring_loop(n); KEEP(); }
NOIPA void ring32k(long n) { ring32k_loop(n); KEEP(); }
NOIPA void batch_fwd(long n) { batch_fwd_loop(n); KEEP(); }
NOIPA void batch_rev(long n) { batch_rev_loop(n); KEEP(); }
NOIPA void batch_shuf(long n) { batch_shuf_loop(n); KEEP(); }
NOIPA void shuf64(long n) { shuf64_loop(n); KEEP(); }
NOIPA void tree20k(long n) { tree20k_loop(n); KEEP(); }

/* ---- set-up --------------------------------------------------------- */

static void *must(void *p)
{
	if (!p) {
		fprintf(stderr, "hotpath: out of memory\n");
		exit(1);
	}
	return p;
}

static void ring_fill(size_t fixed)
{
	uint32_t x = 2463534242u;

	for (int i = 0; i < RING_LIVE; i++)
		ring[i] = must(uslub_kmalloc(fixed ? fixed : size_8_1024(&x), 0));
	for (long i = 0; i < RING_ITERS; i++)
		ring_sizes[i] = (uint32_t)size_8_1024(&x);
}

static void ring_empty(void)
{
	for (int i = 0; i < RING_LIVE; i++)
		uslub_kfree(ring[i]);
}

static void ring32_setup(void)
{
	for (int i = 0; i < RING32_LIVE; i++)
		ring32[i] = must(uslub_kmalloc(8 + xorshift32(&ring32_x) %
						32761, 0));
}

static void ring32_empty(void)
{
	for (int i = 0; i < RING32_LIVE; i++)
		uslub_kfree(ring32[i]);
}

static void batch_setup(void)
{
	uint32_t x = 88675123u;

	for (int i = 0; i < BATCH_N; i++)
		batch_sizes[i] = (uint32_t)size_8_1024(&x);
}

/* Fisher-Yates with the xorshift sequence from seed: v[] a permutation
 * of n. */
static void permute(uint16_t *v, int n, uint32_t seed)
{
	uint32_t x = seed;

	for (int i = 0; i < n; i++)
		v[i] = (uint16_t)i;
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(xorshift32(&x) % (uint32_t)(i + 1));
		uint16_t t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

static void shuffle_setup(int n) { permute(order, n, 123456789u); }
static void tree_setup(void) { permute(tree_order, TREE_N, 362436069u); }

/* ---- cmpxchg16b counts (uslub build) -------------------------------- */

#ifdef HOTPATH_MALLOC
static double cx16_total(void)
{
	return 0;
}

static void cx16_report(const char *name, double before, long pairs)
{
	(void)name, (void)before, (void)pairs;
}
#else
/* Whether the library counts cmpxchg16b operations (stat cmpxchg_double);
 * uslub_stats_write leaves out zero counters, so ask the item table. */
static int cx16_counted(void)
{
#define X(name, str) str,
	static const char *const items[] = { SLUB_STAT_ITEMS(X) };
#undef X

	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
		if (strcmp(items[i], "cmpxchg_double") == 0)
			return 1;
	return 0;
}

/* The sum of counter cmpxchg_double over all caches ("<cache> <counter>
 * <value>" lines). */
static double cx16_total(void)
{
	FILE *f;
	char line[256], cache[128], counter[64];
	double sum = 0, v;

	if (!cx16_counted())
		return 0;
	f = tmpfile();
	if (!f || uslub_stats_write(fileno(f)) != 0) {
		fprintf(stderr, "hotpath: uslub_stats_write failed\n");
		exit(1);
	}
	rewind(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %63s %lf", cache, counter, &v) == 3 &&
		    strcmp(counter, "cmpxchg_double") == 0)
			sum += v;
	fclose(f);
	return sum;
}

static void cx16_report(const char *name, double before, long pairs)
{
	if (cx16_counted())
		printf("%s cmpxchg16b %.4f\n", name, (cx16_total() - before) / pairs);
}
#endif

/* ---- prodcons ------------------------------------------------------- */

static void *pc_ring[PC_QUEUE][PC_BATCH];
static long pc_head, pc_tail;		/* batches produced, consumed */
static pthread_mutex_t pc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pc_cond = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t pc_barrier;	/* producer, consumer, main */

NOIPA void prodcons_alloc_loop(void **b, uint32_t *x)
{
	for (int i = 0; i < PC_BATCH; i++)
		b[i] = uslub_kmalloc(size_8_1024(x), 0);
}

NOIPA void prodcons_free_loop(void **b)
{
	for (int i = 0; i < PC_BATCH; i++)
		uslub_kfree(b[i]);
}

/* The counted batches: toggle-collect on these names. */
NOIPA void prodcons_alloc(void **b, uint32_t *x)
{
	prodcons_alloc_loop(b, x);
	KEEP();
}

NOIPA void prodcons_free(void **b) { prodcons_free_loop(b); KEEP(); }

/* Waits until the ring has room (producer) or a batch (consumer). */
static void pc_wait(int producer)
{
	pthread_mutex_lock(&pc_lock);
	while (producer ? pc_head - pc_tail == PC_QUEUE : pc_head == pc_tail)
		pthread_cond_wait(&pc_cond, &pc_lock);
	pthread_mutex_unlock(&pc_lock);
}

static void pc_advance(long *counter)
{
	pthread_mutex_lock(&pc_lock);
	(*counter)++;
	pthread_cond_broadcast(&pc_cond);
	pthread_mutex_unlock(&pc_lock);
}

/* The warm batches, a barrier (main reads the counters), the counted. */
static void *pc_producer(void *arg)
{
	uint32_t x = 521288629u;

	(void)arg;
	for (long i = 0; i < PC_WARM + PC_BATCHES; i++) {
		if (i == PC_WARM) {
			pthread_barrier_wait(&pc_barrier);
			pthread_barrier_wait(&pc_barrier);
		}
		pc_wait(1);
		if (i < PC_WARM)
			prodcons_alloc_loop(pc_ring[pc_head % PC_QUEUE], &x);
		else
			prodcons_alloc(pc_ring[pc_head % PC_QUEUE], &x);
		pc_advance(&pc_head);
	}
	return NULL;
}

static void *pc_consumer(void *arg)
{
	(void)arg;
	for (long i = 0; i < PC_WARM + PC_BATCHES; i++) {
		if (i == PC_WARM) {
			pthread_barrier_wait(&pc_barrier);
			pthread_barrier_wait(&pc_barrier);
		}
		pc_wait(0);
		if (i < PC_WARM)
			prodcons_free_loop(pc_ring[pc_tail % PC_QUEUE]);
		else
			prodcons_free(pc_ring[pc_tail % PC_QUEUE]);
		pc_advance(&pc_tail);
	}
	return NULL;
}

static void spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
	if (pthread_create(t, NULL, fn, arg) != 0) {
		fprintf(stderr, "hotpath: pthread_create failed\n");
		exit(1);
	}
}

static long prodcons_run(const char *name)
{
	pthread_t prod, cons;
	double cx;

	pthread_barrier_init(&pc_barrier, NULL, 3);
	spawn(&prod, pc_producer, NULL);
	spawn(&cons, pc_consumer, NULL);
	pthread_barrier_wait(&pc_barrier);	/* both warm */
	cx = cx16_total();
	pthread_barrier_wait(&pc_barrier);
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);
	pthread_barrier_destroy(&pc_barrier);
	cx16_report(name, cx, (long)PC_BATCHES * PC_BATCH);
	return (long)PC_BATCHES * PC_BATCH;
}

/* ---- larson --------------------------------------------------------- */

static void *larson_set[LARSON_LIVE];

NOIPA void larson_loop(uint32_t *x)
{
	for (long i = 0; i < LARSON_STEPS; i++) {
		uint32_t slot = xorshift32(x) % LARSON_LIVE;

		uslub_kfree(larson_set[slot]);
		larson_set[slot] = uslub_kmalloc(size_8_1024(x), 0);
	}
}

NOIPA void larson(uint32_t *x) { larson_loop(x); KEEP(); }

struct larson_gen {
	uint32_t x;		/* the sequence, carried from thread to thread */
	int counted;
};

static void *larson_thread(void *arg)
{
	struct larson_gen *g = arg;

	if (g->counted)
		larson(&g->x);
	else
		larson_loop(&g->x);
	return NULL;
}

static void larson_chain(struct larson_gen *g, int gens)
{
	for (int i = 0; i < gens; i++) {
		pthread_t t;

		spawn(&t, larson_thread, g);
		pthread_join(t, NULL);
	}
}

static long larson_run(const char *name)
{
	struct larson_gen g = { 3141592653u, 0 };
	double cx;

	for (int i = 0; i < LARSON_LIVE; i++)
		larson_set[i] = must(uslub_kmalloc(size_8_1024(&g.x), 0));
	larson_chain(&g, LARSON_WARM);
	cx = cx16_total();
	g.counted = 1;
	larson_chain(&g, LARSON_GENS);
	cx16_report(name, cx, (long)LARSON_GENS * LARSON_STEPS);
	for (int i = 0; i < LARSON_LIVE; i++)
		uslub_kfree(larson_set[i]);
	return (long)LARSON_GENS * LARSON_STEPS;
}

/* ---- the pattern table ---------------------------------------------- */

/* Single-thread patterns: set-up, warm run, counted run, tear-down. */
struct simple {
	const char *name;
	void (*setup)(void);
	void (*loop)(long);		/* the warm run */
	void (*counted)(long);		/* the same through its wrapper */
	long warm, n, pairs_per_n;
	void (*teardown)(void);
};

static void *ballast[BALLAST];

static void hot_setup(void)
{
	for (int i = 0; i < BALLAST; i++)
		ballast[i] = must(uslub_kmalloc(32, 0));
}

static void hot_teardown(void)
{
	for (int i = 0; i < BALLAST; i++)
		uslub_kfree(ballast[i]);
}

static void cache_setup(void)
{
	for (int i = 0; i < BALLAST; i++)
		ballast[i] = must(uslub_cache_alloc(cache64, 0));
}

static void cache_teardown(void)
{
	for (int i = 0; i < BALLAST; i++)
		uslub_cache_free(cache64, ballast[i]);
}

static void ring_setup(void) { ring_fill(0); }
static void fixed_setup(void) { ring_fill(64); }
static void shuf_setup(void) { batch_setup(); shuffle_setup(BATCH_N); }
static void shuf64_setup(void) { shuffle_setup(SHUF_N); }
static void nothing(void) { }

static const struct simple simples[] = {
	{ "hot_pair", hot_setup, hot_pair_loop, hot_pair,
	  1000, HOT_ITERS, 1, hot_teardown },
	{ "cache_pair", cache_setup, cache_pair_loop, cache_pair,
	  1000, HOT_ITERS, 1, cache_teardown },
	{ "ring_run", ring_setup, ring_run_loop, ring_run,
	  RING_ITERS, RING_ITERS, 1, ring_empty },
	{ "fixed64_ring", fixed_setup, fixed64_ring_loop, fixed64_ring,
	  100000, FIXED_ITERS, 1, ring_empty },
	{ "ring32k", ring32_setup, ring32k_loop, ring32k,
	  RING32_ITERS, RING32_ITERS, 1, ring32_empty },
	{ "batch_fwd", batch_setup, batch_fwd_loop, batch_fwd,
	  20, BATCH_ROUNDS, BATCH_N, nothing },
	{ "batch_rev", batch_setup, batch_rev_loop, batch_rev,
	  20, BATCH_ROUNDS, BATCH_N, nothing },
	{ "batch_shuf", shuf_setup, batch_shuf_loop, batch_shuf,
	  20, BATCH_ROUNDS, BATCH_N, nothing },
	{ "shuf64", shuf64_setup, shuf64_loop, shuf64,
	  20, SHUF_ROUNDS, SHUF_N, nothing },
	{ "tree20k", tree_setup, tree20k_loop, tree20k,
	  2, TREE_ROUNDS, TREE_N, nothing },
};

static long simple_run(const struct simple *s)
{
	double cx;

	s->setup();
	s->loop(s->warm);
	cx = cx16_total();
	s->counted(s->n);
	cx16_report(s->name, cx, s->n * s->pairs_per_n);
	s->teardown();
	return s->n * s->pairs_per_n;
}

static const char *const threaded[] = { "prodcons", "larson" };

/* Runs one pattern; prints "<name> pairs <malloc+free pairs counted>". */
static int run(const char *name)
{
	long pairs = -1;

	for (size_t i = 0; i < sizeof(simples) / sizeof(simples[0]); i++)
		if (strcmp(name, simples[i].name) == 0)
			pairs = simple_run(&simples[i]);
	if (strcmp(name, threaded[0]) == 0)
		pairs = prodcons_run(name);
	if (strcmp(name, threaded[1]) == 0)
		pairs = larson_run(name);
	if (pairs < 0) {
		fprintf(stderr, "hotpath: no pattern %s\n", name);
		return 1;
	}
	printf("%s pairs %ld\n", name, pairs);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	int bad = 0;

	cache64 = uslub_cache_create("bench_64", 64, 0, 0, NULL);
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			bad |= run(argv[i]);
		return bad;
	}
	for (size_t i = 0; i < sizeof(simples) / sizeof(simples[0]); i++)
		bad |= run(simples[i].name);
	for (size_t i = 0; i < sizeof(threaded) / sizeof(threaded[0]); i++)
		bad |= run(threaded[i]);
	return bad;
}
