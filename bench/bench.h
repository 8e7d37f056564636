/*
 * bench.h - the benchmark suite's C interface: allocators, workloads and
 * the worker pool that runs them.
 *
 * Workloads (workloads.c, memory.c) are plain C against struct
 * bench_allocator; gbench.cc registers each workload x arg x thread count
 * with Google Benchmark (the "C API shim") and times bench_run_batch().
 * Every allocator is reached through the malloc ABI of the process it runs
 * in (LD_PRELOAD picks which); uslub's cache API is an extra allocator,
 * found with dlsym, when uslub is the one preloaded.
 */
#ifndef USLUB_BENCH_H
#define USLUB_BENCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_MAX_THREADS	1024

struct uslub_cache;

/* One allocator as the workloads see it.  The cache members are NULL for a
 * malloc-only allocator; a workload with fixed-size objects then uses
 * malloc(size).  They have uslub's own signatures, so the workloads call
 * uslub_cache_alloc/free directly, with no wrapper in between. */
struct bench_allocator {
	const char *name;			/* row name in the results */
	void *(*malloc)(size_t size);
	void (*free)(void *p);
	void *(*realloc)(void *p, size_t size);
	void *(*aligned_alloc)(size_t align, size_t size);
	struct uslub_cache *(*cache_create)(const char *name, size_t size,
		size_t align, unsigned long flags, void (*ctor)(void *));
	void *(*cache_alloc)(struct uslub_cache *cache, unsigned int gfp);
	void (*cache_free)(struct uslub_cache *cache, void *p);
	int (*cache_destroy)(struct uslub_cache *cache);
	int (*trim)(size_t pad);		/* malloc_trim, or NULL */
};

/* The allocator behind this process's malloc, checked against the name the
 * driver expects ("glibc", "uslub", "jemalloc", ...; NULL: detect).
 * Returns NULL and writes why into err if they disagree. */
const struct bench_allocator *bench_malloc_allocator(const char *expect,
						     char *err, size_t errlen);
/* uslub's cache API (uslub_cache_create ...) if uslub is preloaded. */
const struct bench_allocator *bench_cache_allocator(void);

struct bench_ctx;

/* Workload flags. */
#define WL_FIXED_SIZE	0x1	/* fixed-size objects: also run on the cache API */
#define WL_ONE_THREAD	0x2	/* only at one thread (the memory workload) */
#define WL_FIXED_WORK	0x4	/* one batch of fixed work, timed with getrusage */

struct bench_workload {
	const char *name;
	const char *const *args;	/* variant names, NULL-terminated */
	unsigned flags;
	/* Called once before the first batch and after the last; state goes
	 * into ctx->priv.  Either may be NULL. */
	int (*setup)(struct bench_ctx *ctx);
	void (*teardown)(struct bench_ctx *ctx);
	/* One batch on thread tid (0 .. nthreads-1); returns the ops done. */
	uint64_t (*run)(struct bench_ctx *ctx, int tid);
};

/* Per-benchmark state shared by the threads of one run. */
struct bench_ctx {
	const struct bench_workload *wl;
	const struct bench_allocator *a;
	int arg;			/* index into wl->args */
	int nthreads;
	struct uslub_cache *cache;	/* a->cache_create(...) for WL_FIXED_SIZE */
	size_t obj_size;		/* the fixed object size, if any */
	void *priv;			/* the workload's own */
	void *tls[BENCH_MAX_THREADS];	/* per-thread state, owned by thread i */
	/* Counters a workload reports (memory): name/value, at most 16. */
	int ncounters;
	const char *counter_name[16];
	double counter_value[16];
	struct bench_pool *pool;
};

/* Fixed-size allocation through the cache if the ctx has one. */
static inline void *bench_obj_alloc(struct bench_ctx *ctx)
{
	if (ctx->cache)
		return ctx->a->cache_alloc(ctx->cache, 0);
	return ctx->a->malloc(ctx->obj_size);
}

static inline void bench_obj_free(struct bench_ctx *ctx, void *p)
{
	if (ctx->cache)
		ctx->a->cache_free(ctx->cache, p);
	else
		ctx->a->free(p);
}

extern const struct bench_workload *const bench_workloads[];

/* Set up ctx (workload setup, cache, worker threads). Returns 0 or -1. */
int bench_start(struct bench_ctx *ctx, const struct bench_workload *wl,
		const struct bench_allocator *a, int arg, int nthreads);
/* One batch on every thread at once; returns the total ops. */
uint64_t bench_run_batch(struct bench_ctx *ctx);
void bench_stop(struct bench_ctx *ctx);
void bench_counter(struct bench_ctx *ctx, const char *name, double value);

/* Small helpers shared by the workloads. */
static inline uint64_t bench_rand(uint64_t *s)	/* xorshift64* */
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Keeps p alive and its stores visible to the optimiser. */
static inline void bench_use(void *p)
{
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

void bench_fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
long bench_rss_kib(void);
void bench_reset_peak_rss(void);
long bench_peak_rss_kib(void);
int bench_nproc(void);
/* Where the memory workload writes its RSS trace (NULL: nowhere). */
extern const char *bench_rss_trace_dir;
/* WL_FIXED_WORK workloads: a factor on their operations (--scale, 1 by
 * default), and the live buffers where they have some (--live, 0: theirs). */
extern double bench_scale;
extern int bench_live;

#ifdef __cplusplus
}
#endif
#endif
