/*
 * harness.c - what the workloads run on: the allocator of this process
 * (found with dlsym/dladdr, so the binary never links an allocator), uslub's
 * cache API when uslub is preloaded, and a pool of worker threads that run
 * one batch each per Google Benchmark iteration.
 *
 * The pool's threads live for one benchmark (workload x arg x threads), so
 * thread creation is measured only where a workload asks for it (churn,
 * larson).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

const char *bench_rss_trace_dir;
double bench_scale = 1.0;
int bench_live;

void bench_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("uslub-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* ---------------------------------------------------------------------- */
/* Allocators                                                             */

static struct bench_allocator malloc_allocator;
static struct bench_allocator cache_allocator;

/* Which library a symbol resolves to, as an allocator name. */
static const char *owner_of(const char *sym, const char **file)
{
	void *addr = dlsym(RTLD_DEFAULT, sym);
	Dl_info info;

	*file = "?";
	if (!addr || !dladdr(addr, &info) || !info.dli_fname)
		return NULL;
	*file = info.dli_fname;
	if (strstr(*file, "uslub"))
		return "uslub";
	if (strstr(*file, "jemalloc"))
		return "jemalloc";
	if (strstr(*file, "tcmalloc"))
		return "tcmalloc";
	if (strstr(*file, "mimalloc"))
		return "mimalloc";
	if (strstr(*file, "libc.so"))
		return "glibc";
	return NULL;
}

const struct bench_allocator *bench_malloc_allocator(const char *expect,
						     char *err, size_t errlen)
{
	const char *file, *tfile;
	const char *name = owner_of("malloc", &file);
	const char *tname = owner_of("malloc_trim", &tfile);

	if (!name) {
		snprintf(err, errlen, "malloc comes from %s, not a known allocator", file);
		return NULL;
	}
	if (expect && strcmp(expect, name) != 0) {
		snprintf(err, errlen, "expected %s but malloc comes from %s (LD_PRELOAD=%s)",
			 expect, file, getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "");
		return NULL;
	}
	malloc_allocator = (struct bench_allocator){
		.name = name,
		.malloc = malloc,
		.free = free,
		.realloc = realloc,
		.aligned_alloc = aligned_alloc,
	};
	/* glibc's malloc_trim only trims glibc's heap: it counts for an
	 * allocator only when that allocator defines it. */
	if (tname && strcmp(tname, name) == 0)
		malloc_allocator.trim = (int (*)(size_t))dlsym(RTLD_DEFAULT, "malloc_trim");
	return &malloc_allocator;
}

const struct bench_allocator *bench_cache_allocator(void)
{
	struct bench_allocator *c = &cache_allocator;

	/* POSIX's way to turn dlsym's void * into a function pointer. */
	*c = malloc_allocator;
	c->name = "uslub-cache";
	*(void **)&c->cache_create = dlsym(RTLD_DEFAULT, "uslub_cache_create");
	*(void **)&c->cache_alloc = dlsym(RTLD_DEFAULT, "uslub_cache_alloc");
	*(void **)&c->cache_free = dlsym(RTLD_DEFAULT, "uslub_cache_free");
	*(void **)&c->cache_destroy = dlsym(RTLD_DEFAULT, "uslub_cache_destroy");
	if (!c->cache_create || !c->cache_alloc || !c->cache_free || !c->cache_destroy)
		return NULL;
	return c;
}

/* ---------------------------------------------------------------------- */
/* Worker pool                                                            */

struct bench_pool {
	pthread_t tid[BENCH_MAX_THREADS];
	pthread_barrier_t start, done;
	int stop;			/* written by the main thread before start */
	struct {
		uint64_t ops;
		char pad[64 - sizeof(uint64_t)];
	} out[BENCH_MAX_THREADS];
};

struct worker_arg {
	struct bench_ctx *ctx;
	int tid;
};

static struct worker_arg worker_args[BENCH_MAX_THREADS];

static void *worker(void *p)
{
	struct worker_arg *w = p;
	struct bench_ctx *ctx = w->ctx;
	struct bench_pool *pool = ctx->pool;

	for (;;) {
		pthread_barrier_wait(&pool->start);
		if (pool->stop)
			break;
		pool->out[w->tid].ops = ctx->wl->run(ctx, w->tid);
		pthread_barrier_wait(&pool->done);
	}
	return NULL;
}

int bench_start(struct bench_ctx *ctx, const struct bench_workload *wl,
		const struct bench_allocator *a, int arg, int nthreads)
{
	struct bench_pool *pool;

	if (nthreads < 1 || nthreads > BENCH_MAX_THREADS)
		bench_fatal("%d threads: 1..%d allowed", nthreads, BENCH_MAX_THREADS);
	memset(ctx, 0, sizeof(*ctx));
	ctx->wl = wl;
	ctx->a = a;
	ctx->arg = arg;
	ctx->nthreads = nthreads;
	if (wl->setup && wl->setup(ctx) != 0)
		return -1;
	if (ctx->obj_size && a->cache_create) {
		ctx->cache = a->cache_create("bench_obj", ctx->obj_size, 0, 0, NULL);
		if (!ctx->cache)
			bench_fatal("cache_create(%zu) failed", ctx->obj_size);
	}
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		bench_fatal("out of memory for the pool");
	ctx->pool = pool;
	pthread_barrier_init(&pool->start, NULL, (unsigned)nthreads + 1);
	pthread_barrier_init(&pool->done, NULL, (unsigned)nthreads + 1);
	for (int i = 0; i < nthreads; i++) {
		worker_args[i] = (struct worker_arg){ ctx, i };
		int err = pthread_create(&pool->tid[i], NULL, worker, &worker_args[i]);
		if (err)
			bench_fatal("pthread_create: %s", strerror(err));
	}
	return 0;
}

uint64_t bench_run_batch(struct bench_ctx *ctx)
{
	struct bench_pool *pool = ctx->pool;
	uint64_t ops = 0;

	pthread_barrier_wait(&pool->start);
	pthread_barrier_wait(&pool->done);
	for (int i = 0; i < ctx->nthreads; i++)
		ops += pool->out[i].ops;
	return ops;
}

void bench_stop(struct bench_ctx *ctx)
{
	struct bench_pool *pool = ctx->pool;

	pool->stop = 1;
	pthread_barrier_wait(&pool->start);
	for (int i = 0; i < ctx->nthreads; i++)
		pthread_join(pool->tid[i], NULL);
	pthread_barrier_destroy(&pool->start);
	pthread_barrier_destroy(&pool->done);
	free(pool);
	ctx->pool = NULL;
	if (ctx->wl->teardown)
		ctx->wl->teardown(ctx);
	if (ctx->cache && ctx->a->cache_destroy(ctx->cache) != 0)
		bench_fatal("%s: cache destroyed with objects left", ctx->wl->name);
	ctx->cache = NULL;
}

void bench_counter(struct bench_ctx *ctx, const char *name, double value)
{
	if (ctx->ncounters < 16) {
		ctx->counter_name[ctx->ncounters] = name;
		ctx->counter_value[ctx->ncounters++] = value;
	}
}

/* ---------------------------------------------------------------------- */
/* Process facts                                                          */

static long status_field_kib(const char *field)
{
	char buf[4096];
	FILE *f = fopen("/proc/self/status", "r");
	long v = -1;

	if (!f)
		return -1;
	while (fgets(buf, sizeof(buf), f))
		if (strncmp(buf, field, strlen(field)) == 0) {
			v = strtol(buf + strlen(field), NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Read with read(2) on a stack buffer: the sampler thread of the memory
 * workload calls this and must not allocate. */
long bench_rss_kib(void)
{
	static long page_kib;
	char buf[128];
	long size = 0, rss = 0;
	int fd = open("/proc/self/statm", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	if (sscanf(buf, "%ld %ld", &size, &rss) != 2)
		return -1;
	if (!page_kib)
		page_kib = sysconf(_SC_PAGESIZE) / 1024;
	return rss * page_kib;
}

/* Linux >= 4.0: writing 5 to clear_refs resets VmHWM to the current RSS. */
void bench_reset_peak_rss(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, "5", 1) != 1)
			fprintf(stderr, "uslub-bench: cannot reset peak RSS: %s\n", strerror(errno));
		close(fd);
	}
}

long bench_peak_rss_kib(void)
{
	return status_field_kib("VmHWM:");
}

int bench_nproc(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}
