/*
 * large.c - workloads 12-14: blocks far above the small size classes, where
 * what an allocator keeps of freed memory shows as page faults and system
 * time.
 *
 * Each runs a fixed amount of work once (WL_FIXED_WORK): gbench.cc reports
 * the wall time and the getrusage figures of that run (minor and major
 * faults, system and user time) beside the throughput.  The work in all is
 * the same at every thread count: the live buffers and the operations are
 * shared out between the threads.  --scale multiplies the operations,
 * --live sets the live buffers of the first two.
 *
 *   malloc_large   like mimalloc-bench's malloc-large: 20 live buffers, 2000
 *                  times a random one is replaced by a new one of 5-25 MiB,
 *                  written whole before the old one is freed
 *                  (std::make_unique<char[]> and unique_ptr's move).
 *   malloc_medium  the same with 64 live buffers of 64 KiB-4 MiB, 20000
 *                  replacements.
 *   realloc_grow   8 buffers grown in turn, each step writing what it adds:
 *                  by doubling from 16 B to 1 MiB, 2000 rounds (double); by
 *                  4 KiB steps to 1 MiB, 400 rounds (step); 4 buffers
 *                  doubling from 1 to 64 MiB, 10 rounds (huge).
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct replace_conf {
	size_t min, max;	/* sizes, uniform, bytes */
	int live, ops;		/* in all, at scale 1 */
};

static const char *const large_args[] = { "5-25m", NULL };
static const char *const medium_args[] = { "64k-4m", NULL };
static const char *const grow_args[] = { "double", "step", "huge", NULL };

static const struct replace_conf large_conf = { 5 << 20, 25 << 20, 20, 2000 };
static const struct replace_conf medium_conf = { 64 << 10, 4 << 20, 64, 20000 };

/* This thread's share of n things shared out between the threads. */
static long share(const struct bench_ctx *ctx, long n, int tid)
{
	return n / ctx->nthreads + (tid < n % ctx->nthreads);
}

static long scaled(long n)
{
	long v = (long)((double)n * bench_scale + 0.5);

	return v > 0 ? v : 1;
}

static void *must(struct bench_ctx *ctx, void *p)
{
	if (!p)
		bench_fatal("%s: allocation failed", ctx->wl->name);
	return p;
}

/* ---------------------------------------------------------------------- */
/* 12, 13. live buffers replaced at random                                 */

struct replace_tls {
	int live;
	void *slot[];
};

static uint64_t replace_run(struct bench_ctx *ctx, int tid,
			    const struct replace_conf *c)
{
	int all = bench_live > 0 ? bench_live : c->live;
	int live = (int)share(ctx, all, tid);
	long ops = share(ctx, scaled(c->ops), tid);
	uint64_t seed = 0x9FB21C651E98DF25ULL * (uint64_t)(tid + 1);
	struct replace_tls *t;

	if (live < 1)
		return 0;
	t = must(ctx, calloc(1, sizeof(*t) + (size_t)live * sizeof(void *)));
	t->live = live;
	ctx->tls[tid] = t;
	for (long i = 0; i < ops; i++) {
		int k = (int)(bench_rand(&seed) % (uint64_t)live);
		size_t span = c->max - c->min + 1;
		size_t size = c->min + bench_rand(&seed) % span;
		char *p = must(ctx, ctx->a->malloc(size));

		memset(p, (int)(i | 1), size);
		ctx->a->free(t->slot[k]);
		t->slot[k] = p;
	}
	return (uint64_t)ops;
}

static uint64_t large_run(struct bench_ctx *ctx, int tid)
{
	return replace_run(ctx, tid, &large_conf);
}

static uint64_t medium_run(struct bench_ctx *ctx, int tid)
{
	return replace_run(ctx, tid, &medium_conf);
}

/* The buffers left live are freed after the timed run; the slot arrays
 * come from the allocator too. */
static void replace_teardown(struct bench_ctx *ctx)
{
	for (int i = 0; i < ctx->nthreads; i++) {
		struct replace_tls *t = ctx->tls[i];

		for (int k = 0; t && k < t->live; k++)
			ctx->a->free(t->slot[k]);
		free(t);
		ctx->tls[i] = NULL;
	}
}

/* ---------------------------------------------------------------------- */
/* 14. realloc growth of several buffers at once                           */

#define GROW_MAX_BUFFERS	8

struct grow_conf {
	int buffers;
	size_t start, limit, step;	/* step 0: doubling */
	int rounds;			/* in all, at scale 1 */
};

static const struct grow_conf grow_conf[] = {
	{ 8, 16, 1 << 20, 0, 2000 },		/* double */
	{ 8, 4096, 1 << 20, 4096, 400 },	/* step */
	{ 4, 1 << 20, 64 << 20, 0, 10 },	/* huge */
};

/* One round: every buffer from start to limit, one step each in turn, each
 * step writing the bytes it adds.  Returns the reallocs done. */
static uint64_t grow_round(struct bench_ctx *ctx, const struct grow_conf *c,
			   int round)
{
	char *p[GROW_MAX_BUFFERS];
	size_t size = c->start;
	uint64_t ops = 0;

	for (int b = 0; b < c->buffers; b++) {
		p[b] = must(ctx, ctx->a->malloc(size));
		memset(p[b], round | 1, size);
	}
	while (size < c->limit) {
		size_t next = c->step ? size + c->step : size * 2;

		for (int b = 0; b < c->buffers; b++) {
			p[b] = must(ctx, ctx->a->realloc(p[b], next));
			memset(p[b] + size, b | 1, next - size);
			ops++;
		}
		size = next;
	}
	for (int b = 0; b < c->buffers; b++)
		ctx->a->free(p[b]);
	return ops;
}

static uint64_t grow_run(struct bench_ctx *ctx, int tid)
{
	const struct grow_conf *c = &grow_conf[ctx->arg];
	long rounds = share(ctx, scaled(c->rounds), tid);
	uint64_t ops = 0;

	for (long r = 0; r < rounds; r++)
		ops += grow_round(ctx, c, (int)r);
	return ops;
}

/* ---------------------------------------------------------------------- */

const struct bench_workload bench_wl_malloc_large = {
	"malloc_large", large_args, WL_FIXED_WORK, NULL, replace_teardown,
	large_run
};
const struct bench_workload bench_wl_malloc_medium = {
	"malloc_medium", medium_args, WL_FIXED_WORK, NULL, replace_teardown,
	medium_run
};
const struct bench_workload bench_wl_realloc_grow = {
	"realloc_grow", grow_args, WL_FIXED_WORK, NULL, NULL, grow_run
};
