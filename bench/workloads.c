/*
 * workloads.c - the throughput workloads of the benchmark suite.
 *
 * Each workload runs one batch per thread per Google Benchmark iteration
 * (bench_run_batch) and returns the operations it did.  A batch takes 2 ms
 * or more on the fastest allocator: the pool's start and end barriers cost
 * tens of microseconds (futex wake-ups), which with shorter batches took a
 * quarter of a fast allocator's time and less of a slow one's.  Per-thread state lives in ctx->tls[tid] and is created by
 * its own thread on the first batch, so the allocator sees it as that
 * thread's.  Sizes come from xorshift sequences seeded per thread, the same
 * for every allocator.  A loop keeps its sequence's state in a local and
 * saves it after the loop: in the per-thread block, the state's store and
 * load on every operation sat at the block's first word, page aligned
 * under the allocators that align large blocks to pages (uslub, jemalloc,
 * mimalloc) and at 16 bytes under glibc, and that one word's address
 * changed ring's throughput up to twofold (see doc/PERFORMANCE.md).  The memory workload is in memory.c, the large-block
 * ones in large.c.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char *const no_args[] = { "mixed", NULL };

/* Per-thread storage from the allocator under test, zeroed. */
static void *tls_get(struct bench_ctx *ctx, int tid, size_t size)
{
	if (!ctx->tls[tid]) {
		ctx->tls[tid] = ctx->a->malloc(size);
		if (!ctx->tls[tid])
			bench_fatal("%s: out of memory", ctx->wl->name);
		memset(ctx->tls[tid], 0, size);
	}
	return ctx->tls[tid];
}

static void tls_free_all(struct bench_ctx *ctx)
{
	for (int i = 0; i < ctx->nthreads; i++) {
		ctx->a->free(ctx->tls[i]);
		ctx->tls[i] = NULL;
	}
}

static void *must(struct bench_ctx *ctx, void *p)
{
	if (!p)
		bench_fatal("%s: allocation failed", ctx->wl->name);
	return p;
}

/* v[] a permutation of n, shuffled (Fisher-Yates) by the sequence from
 * seed: a fixed free order per thread. */
static void permute(uint16_t *v, unsigned int n, uint64_t seed)
{
	for (unsigned int i = 0; i < n; i++)
		v[i] = (uint16_t)i;
	for (unsigned int i = n - 1; i > 0; i--) {
		unsigned int j = (unsigned int)(bench_rand(&seed) %
						(uint64_t)(i + 1));
		uint16_t tmp = v[i];

		v[i] = v[j];
		v[j] = tmp;
	}
}

/* Sizes 8 .. max, uniform. */
static size_t rand_size(uint64_t *seed, size_t max)
{
	return 8 + bench_rand(seed) % (max - 7);
}

static void spin_pause(unsigned *spins)
{
	if (++*spins > 64) {
		*spins = 0;
		sched_yield();
	}
}

/* ---------------------------------------------------------------------- */
/* 1. hot pair: malloc+free of one size                                    */

#define HOT_OPS 2000000

static const char *const hot_args[] = { "16", "64", "256", "4096", NULL };

static int hot_setup(struct bench_ctx *ctx)
{
	ctx->obj_size = strtoul(hot_args[ctx->arg], NULL, 10);
	return 0;
}

static uint64_t hot_run(struct bench_ctx *ctx, int tid)
{
	(void)tid;
	for (int i = 0; i < HOT_OPS; i++) {
		void *p = bench_obj_alloc(ctx);

		bench_use(p);
		bench_obj_free(ctx, p);
	}
	return HOT_OPS;
}

/* ---------------------------------------------------------------------- */
/* 2. batch fill/drain: 1000 mixed small blocks, then free them all        */

#define BATCH_N		1000
#define BATCH_ROUNDS	400

struct batch_tls {
	uint64_t seed;
	void *p[BATCH_N];
};

static uint64_t batch_run(struct bench_ctx *ctx, int tid)
{
	struct batch_tls *t = tls_get(ctx, tid, sizeof(*t));
	uint64_t seed;

	if (!t->seed)
		t->seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(tid + 1);
	seed = t->seed;
	for (int r = 0; r < BATCH_ROUNDS; r++) {
		for (int i = 0; i < BATCH_N; i++) {
			t->p[i] = must(ctx, ctx->a->malloc(rand_size(&seed, 512)));
			*(char *)t->p[i] = (char)i;
		}
		for (int i = 0; i < BATCH_N; i++)
			ctx->a->free(t->p[i]);
	}
	t->seed = seed;
	return BATCH_N * BATCH_ROUNDS;
}

/* ---------------------------------------------------------------------- */
/* 3. random ring: replace a random live block per op                       */

static const char *const ring_args[] = { "1k", "32k", NULL };

struct ring_tls {
	uint64_t seed;
	size_t live;
	void *slot[];
};

/* The loop, with live, max and ops constant (ring_run calls it once per
 * arg) and the entry points in registers: nothing of its own is stored
 * and reloaded in memory (see the note at the top). */
static inline __attribute__((always_inline)) void
ring_loop(struct bench_ctx *ctx, struct ring_tls *t, int tid, size_t live,
	  size_t max, int ops)
{
	void *(*alloc)(size_t) = ctx->a->malloc;
	void (*release)(void *) = ctx->a->free;
	uint64_t seed = t->seed;

	if (!seed) {
		seed = 0xD1B54A32D192ED03ULL * (uint64_t)(tid + 1);
		t->live = live;
		for (size_t i = 0; i < live; i++)
			t->slot[i] = must(ctx, alloc(rand_size(&seed, max)));
	}
	for (int i = 0; i < ops; i++) {
		size_t k = bench_rand(&seed) % live;
		char *p;

		release(t->slot[k]);
		p = must(ctx, alloc(rand_size(&seed, max)));
		t->slot[k] = p;
		*p = (char)i;
	}
	t->seed = seed;
}

static uint64_t ring_run(struct bench_ctx *ctx, int tid)
{
	size_t live = ctx->arg == 0 ? 8192 : 1024;
	struct ring_tls *t = tls_get(ctx, tid, sizeof(*t) + live * sizeof(void *));

	if (ctx->arg == 0) {
		ring_loop(ctx, t, tid, 8192, 1024, 500000);
		return 500000;
	}
	ring_loop(ctx, t, tid, 1024, 32768, 200000);
	return 200000;
}

static void ring_teardown(struct bench_ctx *ctx)
{
	for (int i = 0; i < ctx->nthreads; i++) {
		struct ring_tls *t = ctx->tls[i];

		for (size_t k = 0; t && k < t->live; k++)
			ctx->a->free(t->slot[k]);
	}
	tls_free_all(ctx);
}

/* ---------------------------------------------------------------------- */
/* 4. realloc growth: doubling to 1 MiB, or 16-byte steps to 64 KiB         */

static const char *const realloc_args[] = { "double", "step", NULL };

static uint64_t realloc_run(struct bench_ctx *ctx, int tid)
{
	int doubling = ctx->arg == 0;
	int buffers = doubling ? 10000 : 200;
	size_t limit = doubling ? 1 << 20 : 64 << 10;
	uint64_t ops = 0;

	(void)tid;
	for (int b = 0; b < buffers; b++) {
		size_t size = 16;
		char *p = must(ctx, ctx->a->malloc(size));

		while (size < limit) {
			size = doubling ? size * 2 : size + 16;
			p = must(ctx, ctx->a->realloc(p, size));
			p[size - 1] = (char)size;
			ops++;
		}
		ctx->a->free(p);
	}
	return ops;
}

/* ---------------------------------------------------------------------- */
/* 5. producer -> consumer pairs over a single-producer ring                */

#define PC_OPS	500000
#define PC_RING	1024

struct pc_queue {
	void *slot[PC_RING];
	unsigned long head __attribute__((aligned(64)));	/* consumer */
	unsigned long tail __attribute__((aligned(64)));	/* producer */
} __attribute__((aligned(64)));

static int pc_setup(struct bench_ctx *ctx)
{
	ctx->priv = must(ctx, ctx->a->aligned_alloc(64,
			sizeof(struct pc_queue) * (size_t)(ctx->nthreads / 2 + 1)));
	memset(ctx->priv, 0, sizeof(struct pc_queue) * (size_t)(ctx->nthreads / 2 + 1));
	return 0;
}

static void pc_teardown(struct bench_ctx *ctx)
{
	ctx->a->free(ctx->priv);
}

static void pc_produce(struct bench_ctx *ctx, struct pc_queue *q, uint64_t *seed)
{
	unsigned long tail = q->tail;
	unsigned spins = 0;

	for (int i = 0; i < PC_OPS; i++, tail++) {
		void *p = must(ctx, ctx->a->malloc(16 + bench_rand(seed) % 241));

		*(char *)p = (char)i;
		while (tail - __atomic_load_n(&q->head, __ATOMIC_ACQUIRE) >= PC_RING)
			spin_pause(&spins);
		q->slot[tail % PC_RING] = p;
		__atomic_store_n(&q->tail, tail + 1, __ATOMIC_RELEASE);
	}
}

static void pc_consume(struct bench_ctx *ctx, struct pc_queue *q)
{
	unsigned long head = q->head;
	unsigned spins = 0;

	for (int i = 0; i < PC_OPS; i++, head++) {
		while (__atomic_load_n(&q->tail, __ATOMIC_ACQUIRE) == head)
			spin_pause(&spins);
		ctx->a->free(q->slot[head % PC_RING]);
		__atomic_store_n(&q->head, head + 1, __ATOMIC_RELEASE);
	}
}

/* A thread without a partner (odd counts, one thread) does both sides. */
static uint64_t pc_alone(struct bench_ctx *ctx, uint64_t *seed)
{
	void *p[256];

	for (int r = 0; r < PC_OPS / 256; r++) {
		for (int i = 0; i < 256; i++)
			p[i] = must(ctx, ctx->a->malloc(16 + bench_rand(seed) % 241));
		for (int i = 0; i < 256; i++)
			ctx->a->free(p[i]);
	}
	return PC_OPS / 256 * 256;
}

static uint64_t pc_run(struct bench_ctx *ctx, int tid)
{
	struct pc_queue *q = (struct pc_queue *)ctx->priv + tid / 2;
	uint64_t seed = 0xA0761D6478BD642FULL * (uint64_t)(tid + 1);

	if (tid == ctx->nthreads - 1 && ctx->nthreads % 2)
		return pc_alone(ctx, &seed);
	if (tid % 2 == 0) {
		pc_produce(ctx, q, &seed);
		return 0;
	}
	pc_consume(ctx, q);
	return PC_OPS;
}

/* ---------------------------------------------------------------------- */
/* 6. larson: sets of blocks that pass to a new thread every batch          */

#define LARSON_SET	1000
#define LARSON_OPS	200000

struct larson_set {
	struct bench_ctx *ctx;
	int filled;
	uint64_t seed;
	void *p[LARSON_SET];
};

static void *larson_thread(void *arg)
{
	struct larson_set *s = arg;
	struct bench_ctx *ctx = s->ctx;
	uint64_t seed = s->seed;

	if (!s->filled) {
		s->filled = 1;
		for (int i = 0; i < LARSON_SET; i++)
			s->p[i] = must(ctx, ctx->a->malloc(rand_size(&seed, 512)));
	}
	for (int i = 0; i < LARSON_OPS; i++) {
		size_t k = bench_rand(&seed) % LARSON_SET;

		ctx->a->free(s->p[k]);
		s->p[k] = must(ctx, ctx->a->malloc(rand_size(&seed, 512)));
		*(char *)s->p[k] = (char)i;
	}
	s->seed = seed;
	return NULL;
}

static uint64_t larson_run(struct bench_ctx *ctx, int tid)
{
	struct larson_set *s = tls_get(ctx, tid, sizeof(*s));
	pthread_t t;

	if (!s->ctx) {
		s->ctx = ctx;
		s->seed = 0xE7037ED1A0B428DBULL * (uint64_t)(tid + 1);
	}
	if (pthread_create(&t, NULL, larson_thread, s) != 0)
		bench_fatal("larson: pthread_create failed");
	pthread_join(t, NULL);
	return LARSON_OPS;
}

static void larson_teardown(struct bench_ctx *ctx)
{
	for (int i = 0; i < ctx->nthreads; i++) {
		struct larson_set *s = ctx->tls[i];

		for (int k = 0; s && s->filled && k < LARSON_SET; k++)
			ctx->a->free(s->p[k]);
	}
	tls_free_all(ctx);
}

/* ---------------------------------------------------------------------- */
/* 7. xmalloc: allocating threads and freeing threads, a queue between      */

#define XM_BATCH	128
#define XM_PER_THREAD	4000		/* batches each producer makes per batch */

struct xm_batch {
	struct xm_batch *next;
	void *p[XM_BATCH];
};

struct xm_state {
	pthread_mutex_t lock;
	struct xm_batch *full;		/* under lock */
	uint64_t consumed;		/* atomic: batches freed so far */
	int producers;
};

static int xm_setup(struct bench_ctx *ctx)
{
	struct xm_state *x = must(ctx, ctx->a->malloc(sizeof(*x)));

	memset(x, 0, sizeof(*x));
	pthread_mutex_init(&x->lock, NULL);
	x->producers = ctx->nthreads == 1 ? 0 : ctx->nthreads / 2;
	ctx->priv = x;
	return 0;
}

static void xm_teardown(struct bench_ctx *ctx)
{
	struct xm_state *x = ctx->priv;

	pthread_mutex_destroy(&x->lock);
	ctx->a->free(x);
	tls_free_all(ctx);
}

static void xm_fill(struct bench_ctx *ctx, struct xm_batch *b, uint64_t *seed)
{
	for (int i = 0; i < XM_BATCH; i++) {
		b->p[i] = must(ctx, ctx->a->malloc(16 + bench_rand(seed) % 241));
		*(char *)b->p[i] = (char)i;
	}
}

static void xm_drain(struct bench_ctx *ctx, struct xm_batch *b)
{
	for (int i = 0; i < XM_BATCH; i++)
		ctx->a->free(b->p[i]);
}

static struct xm_batch *xm_pop(struct xm_state *x)
{
	struct xm_batch *b;

	pthread_mutex_lock(&x->lock);
	b = x->full;
	if (b)
		x->full = b->next;
	pthread_mutex_unlock(&x->lock);
	return b;
}

static void xm_push(struct xm_state *x, struct xm_batch *b)
{
	pthread_mutex_lock(&x->lock);
	b->next = x->full;
	x->full = b;
	pthread_mutex_unlock(&x->lock);
}

/* Per-thread: the batch number, and the producer's batch records. */
struct xm_tls {
	uint64_t round, seed;
	struct xm_batch b[XM_PER_THREAD];
};

static uint64_t xm_run(struct bench_ctx *ctx, int tid)
{
	struct xm_state *x = ctx->priv;
	struct xm_tls *t = tls_get(ctx, tid, sizeof(*t));
	uint64_t target = ++t->round * (uint64_t)x->producers * XM_PER_THREAD;
	uint64_t freed = 0;
	unsigned spins = 0;

	uint64_t seed = t->seed ? t->seed :
			0x8EBC6AF09C88C6E3ULL * (uint64_t)(tid + 1);

	if (x->producers == 0) {		/* one thread: both roles */
		for (int i = 0; i < XM_PER_THREAD; i++) {
			xm_fill(ctx, &t->b[0], &seed);
			xm_drain(ctx, &t->b[0]);
		}
		t->seed = seed;
		return XM_PER_THREAD * XM_BATCH;
	}
	if (tid < x->producers) {
		for (int i = 0; i < XM_PER_THREAD; i++) {
			xm_fill(ctx, &t->b[i], &seed);
			xm_push(x, &t->b[i]);
		}
		t->seed = seed;
		return 0;
	}
	while (__atomic_load_n(&x->consumed, __ATOMIC_ACQUIRE) < target) {
		struct xm_batch *b = xm_pop(x);

		if (!b) {
			spin_pause(&spins);
			continue;
		}
		xm_drain(ctx, b);
		freed += XM_BATCH;
		__atomic_fetch_add(&x->consumed, 1, __ATOMIC_RELEASE);
	}
	return freed;
}

/* ---------------------------------------------------------------------- */
/* 8. false sharing: small objects written in a tight loop                  */

#define FS_OBJS		10000
#define FS_WRITES	1000

static const char *const fs_args[] = { "active", "passive", NULL };

/* Passive: the main thread allocates one object per thread, side by side,
 * and hands them out; each thread frees its own first. */
static int fs_setup(struct bench_ctx *ctx)
{
	ctx->obj_size = 8;
	if (ctx->arg == 1) {
		void **handed = must(ctx, ctx->a->malloc(sizeof(void *) * (size_t)ctx->nthreads));

		for (int i = 0; i < ctx->nthreads; i++)
			handed[i] = must(ctx, ctx->a->malloc(8));
		ctx->priv = handed;
	}
	return 0;
}

static void fs_teardown(struct bench_ctx *ctx)
{
	void **handed = ctx->priv;

	for (int i = 0; handed && i < ctx->nthreads; i++)
		ctx->a->free(handed[i]);
	ctx->a->free(handed);
}

static uint64_t fs_run(struct bench_ctx *ctx, int tid)
{
	void **handed = ctx->priv;

	if (handed && handed[tid]) {
		ctx->a->free(handed[tid]);
		handed[tid] = NULL;
	}
	for (int i = 0; i < FS_OBJS; i++) {
		volatile char *p = must(ctx, bench_obj_alloc(ctx));

		for (int k = 0; k < FS_WRITES; k++)
			p[k & 7]++;
		bench_obj_free(ctx, (void *)p);
	}
	return FS_OBJS * FS_WRITES;
}

/* ---------------------------------------------------------------------- */
/* 9. thread churn: short-lived threads that allocate a little              */

#define CHURN_THREADS	100
#define CHURN_BLOCKS	64

struct churn_arg {
	struct bench_ctx *ctx;
	void *from_parent;	/* the child frees it (a living thread's block) */
	void *to_parent;	/* the parent frees it (a dead thread's block) */
	uint64_t seed;
};

static void *churn_child(void *p)
{
	struct churn_arg *c = p;
	void *blk[CHURN_BLOCKS];

	for (int i = 0; i < CHURN_BLOCKS; i++)
		blk[i] = must(c->ctx, c->ctx->a->malloc(rand_size(&c->seed, 512)));
	for (int i = 0; i < CHURN_BLOCKS; i++)
		c->ctx->a->free(blk[i]);
	c->ctx->a->free(c->from_parent);
	c->to_parent = must(c->ctx, c->ctx->a->malloc(rand_size(&c->seed, 512)));
	return NULL;
}

static uint64_t churn_run(struct bench_ctx *ctx, int tid)
{
	struct churn_arg c = { ctx, NULL, NULL, 0x2D358DCCAA6C78A5ULL * (uint64_t)(tid + 1) };

	for (int i = 0; i < CHURN_THREADS; i++) {
		pthread_t t;

		c.from_parent = must(ctx, ctx->a->malloc(rand_size(&c.seed, 512)));
		if (pthread_create(&t, NULL, churn_child, &c) != 0)
			bench_fatal("churn: pthread_create failed");
		pthread_join(t, NULL);
		ctx->a->free(c.to_parent);
	}
	return CHURN_THREADS;
}

/* ---------------------------------------------------------------------- */
/* 10. fixed-size objects: fill 1024, free them in a shuffled order         */

#define FIXED_N		1024
#define FIXED_ROUNDS	500

static const char *const fixed_args[] = { "64", "200", NULL };

struct fixed_tls {
	int ready;
	uint16_t order[FIXED_N];
	void *p[FIXED_N];
};

static int fixed_setup(struct bench_ctx *ctx)
{
	ctx->obj_size = strtoul(fixed_args[ctx->arg], NULL, 10);
	return 0;
}

static uint64_t fixed_run(struct bench_ctx *ctx, int tid)
{
	struct fixed_tls *t = tls_get(ctx, tid, sizeof(*t));

	if (!t->ready) {
		permute(t->order, FIXED_N,
			0x94D049BB133111EBULL * (uint64_t)(tid + 1));
		t->ready = 1;
	}
	for (int r = 0; r < FIXED_ROUNDS; r++) {
		for (int i = 0; i < FIXED_N; i++) {
			t->p[i] = must(ctx, bench_obj_alloc(ctx));
			*(char *)t->p[i] = (char)i;
		}
		for (int i = 0; i < FIXED_N; i++)
			bench_obj_free(ctx, t->p[t->order[i]]);
	}
	return FIXED_N * FIXED_ROUNDS;
}

/* ---------------------------------------------------------------------- */
/* 11. a tree's nodes: fill N blocks of 80 B in order, free them shuffled  */

/* 80 bytes: a std::map<std::string, long> node (the tree links and colour,
 * the key, the value).  Nodes are allocated as keys arrive and freed by
 * clear() in key order, which is unrelated to the order of allocation:
 * the frees of one sheaf land on as many slabs as they are.  2k stays
 * within what a thread's sheaves and the barn hold; 20k is bigger than
 * the barn.  50k-mixed: 50000 blocks of 16 B-1 KiB (each slot its own
 * size, the same every round), 26 MB a round: a heap of records freed
 * and built again. */
#define TREE_NODE	80
#define TREE_OPS	400000		/* pairs per batch, any size */

static const char *const tree_args[] = { "2k", "20k", "50k-mixed", NULL };

struct tree_tls {
	unsigned int n;
	void *p[];			/* n of them, the free order, sizes */
};

static uint64_t tree_run(struct bench_ctx *ctx, int tid)
{
	static const unsigned int count[] = { 2000, 20000, 50000 };
	unsigned int n = count[ctx->arg];
	struct tree_tls *t = tls_get(ctx, tid, sizeof(*t) +
				     n * (sizeof(void *) +
					  2 * sizeof(uint16_t)));
	uint16_t *order = (uint16_t *)(t->p + n), *size = order + n;
	unsigned int rounds = TREE_OPS / n;

	if (!t->n) {
		uint64_t seed = 0x94D049BB133111EBULL * (uint64_t)(tid + 1);

		permute(order, n, 0xBF58476D1CE4E5B9ULL * (uint64_t)(tid + 1));
		for (unsigned int i = 0; i < n; i++)
			size[i] = ctx->arg == 2 ?
				  (uint16_t)(16 + bench_rand(&seed) % 1009) :
				  TREE_NODE;
		t->n = n;
	}
	for (unsigned int r = 0; r < rounds; r++) {
		for (unsigned int i = 0; i < n; i++) {
			t->p[i] = must(ctx, ctx->a->malloc(size[i]));
			*(char *)t->p[i] = (char)i;
		}
		for (unsigned int i = 0; i < n; i++)
			ctx->a->free(t->p[order[i]]);
	}
	return (uint64_t)n * rounds;
}

/* ---------------------------------------------------------------------- */

static const struct bench_workload wl_hot = {
	"hot_pair", hot_args, WL_FIXED_SIZE, hot_setup, NULL, hot_run
};
static const struct bench_workload wl_batch = {
	"batch", no_args, 0, NULL, tls_free_all, batch_run
};
static const struct bench_workload wl_ring = {
	"ring", ring_args, 0, NULL, ring_teardown, ring_run
};
static const struct bench_workload wl_realloc = {
	"realloc", realloc_args, 0, NULL, NULL, realloc_run
};
static const struct bench_workload wl_prodcons = {
	"prodcons", no_args, 0, pc_setup, pc_teardown, pc_run
};
static const struct bench_workload wl_larson = {
	"larson", no_args, 0, NULL, larson_teardown, larson_run
};
static const struct bench_workload wl_xmalloc = {
	"xmalloc", no_args, 0, xm_setup, xm_teardown, xm_run
};
static const struct bench_workload wl_false_sharing = {
	"false_sharing", fs_args, WL_FIXED_SIZE, fs_setup, fs_teardown, fs_run
};
static const struct bench_workload wl_churn = {
	"churn", no_args, 0, NULL, NULL, churn_run
};
static const struct bench_workload wl_fixed = {
	"fixed", fixed_args, WL_FIXED_SIZE, fixed_setup, tls_free_all, fixed_run
};
static const struct bench_workload wl_tree = {
	"tree", tree_args, 0, NULL, tls_free_all, tree_run
};
extern const struct bench_workload bench_wl_memory;
extern const struct bench_workload bench_wl_malloc_large;
extern const struct bench_workload bench_wl_malloc_medium;
extern const struct bench_workload bench_wl_realloc_grow;

const struct bench_workload *const bench_workloads[] = {
	&wl_hot, &wl_batch, &wl_ring, &wl_realloc, &wl_prodcons, &wl_larson,
	&wl_xmalloc, &wl_false_sharing, &wl_churn, &wl_fixed, &wl_tree,
	&bench_wl_memory,
	&bench_wl_malloc_large, &bench_wl_malloc_medium, &bench_wl_realloc_grow,
	NULL
};
