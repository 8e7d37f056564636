/*
 * memory.c - workload 11: what an allocator keeps of the memory it is
 * given back.
 *
 * One thread, once, on a fresh heap.  First fragmentation: small and
 * large blocks alternate, the large ones are freed, and the small ones pin
 * the pages between them; what RSS stays above the start is reported.
 * Then build a 1 GiB heap of mixed sizes (every byte written), free it in
 * a shuffled order, wait a second and nudge the allocator with one
 * malloc/free (allocators that purge on a timer or on activity do so
 * then), and call malloc_trim(0) if the allocator defines it.  Reported as
 * counters in MiB;
 * a sampler thread records RSS every 10 ms for the plot (--rss-trace).
 * The bookkeeping arrays are mmap'ed so that only the workload's blocks
 * come from the allocator.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define HEAP_BYTES	(1ULL << 30)
#define MAX_BLOCKS	(1 << 21)
#define FRAG_PAIRS	16384
#define FRAG_SMALL	64
#define FRAG_LARGE	(16 << 10)
#define TRACE_MAX	65536

static const char *const memory_args[] = { "1g", NULL };

static const char *const phase_name[] = {
	"start", "frag", "build", "free", "idle", "trim", "done"
};

enum { PH_START, PH_FRAG, PH_BUILD, PH_FREE, PH_IDLE, PH_TRIM, PH_DONE };

static struct {
	int phase;			/* atomic: set by the workload */
	int stop;			/* atomic */
	int n;				/* sampler only, read after join */
	struct timespec t0;
	struct { unsigned ms; int phase; long rss_kib; } s[TRACE_MAX];
} trace;

static unsigned ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (unsigned)((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

static void *sampler(void *arg)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };

	(void)arg;
	while (!__atomic_load_n(&trace.stop, __ATOMIC_ACQUIRE) && trace.n < TRACE_MAX) {
		trace.s[trace.n].ms = ms_since(&trace.t0);
		trace.s[trace.n].phase = __atomic_load_n(&trace.phase, __ATOMIC_RELAXED);
		trace.s[trace.n].rss_kib = bench_rss_kib();
		trace.n++;
		nanosleep(&tick, NULL);
	}
	return NULL;
}

static void set_phase(int phase)
{
	__atomic_store_n(&trace.phase, phase, __ATOMIC_RELAXED);
}

static void write_trace(const char *allocator)
{
	char path[4096];
	FILE *f;

	if (!bench_rss_trace_dir)
		return;
	snprintf(path, sizeof(path), "%s/rss-%s.csv", bench_rss_trace_dir, allocator);
	f = fopen(path, "w");
	if (!f)
		bench_fatal("cannot write %s", path);
	fprintf(f, "ms,rss_kib,phase\n");
	for (int i = 0; i < trace.n; i++)
		fprintf(f, "%u,%ld,%s\n", trace.s[i].ms, trace.s[i].rss_kib,
			phase_name[trace.s[i].phase]);
	fclose(f);
}

static void *map_array(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		bench_fatal("memory: mmap of %zu bytes failed", bytes);
	return p;
}

/* Mostly small blocks by count, mostly large ones by bytes. */
static size_t mixed_size(uint64_t *seed)
{
	uint64_t r = bench_rand(seed);
	unsigned pick = (unsigned)(r % 100);

	r >>= 8;
	if (pick < 60)
		return 16 + r % 241;
	if (pick < 90)
		return 256 + r % 3841;
	if (pick < 99)
		return 4096 + r % (61441);
	return 65536 + r % (983041);
}

static double mib(long kib)
{
	return kib < 0 ? -1 : (double)kib / 1024.0;
}

/* Sleep, then one malloc/free for allocators that purge on activity. */
static void idle_nudge(const struct bench_allocator *a)
{
	void *p;

	sleep(1);
	p = a->malloc(64);
	bench_use(p);
	a->free(p);
}

static uint64_t build_and_free(struct bench_ctx *ctx)
{
	const struct bench_allocator *a = ctx->a;
	void **blk = map_array(MAX_BLOCKS * sizeof(void *));
	uint32_t *order = map_array(MAX_BLOCKS * sizeof(uint32_t));
	uint64_t seed = 0x5851F42D4C957F2DULL, total = 0;
	int n = 0;

	set_phase(PH_BUILD);
	while (total < HEAP_BYTES && n < MAX_BLOCKS) {
		size_t size = mixed_size(&seed);

		blk[n] = a->malloc(size);
		if (!blk[n])
			bench_fatal("memory: malloc(%zu) failed", size);
		memset(blk[n], n & 0xff, size);
		order[n] = (uint32_t)n;
		total += size;
		n++;
	}
	bench_counter(ctx, "heap_mib", (double)total / (1 << 20));
	bench_counter(ctx, "peak_mib", mib(bench_peak_rss_kib()));
	for (int i = n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(bench_rand(&seed) % (uint64_t)(i + 1));
		uint32_t t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	set_phase(PH_FREE);
	for (int i = 0; i < n; i++)
		a->free(blk[order[i]]);
	bench_counter(ctx, "free_mib", mib(bench_rss_kib()));
	set_phase(PH_IDLE);
	idle_nudge(a);
	bench_counter(ctx, "idle_mib", mib(bench_rss_kib()));
	set_phase(PH_TRIM);
	if (a->trim)
		a->trim(0);
	bench_counter(ctx, "trim_mib", a->trim ? mib(bench_rss_kib()) : -1);
	munmap(blk, MAX_BLOCKS * sizeof(void *));
	munmap(order, MAX_BLOCKS * sizeof(uint32_t));
	return (uint64_t)n;
}

/* Small and large blocks alternate; the large ones are freed.  What RSS
 * stays above base_kib is what the small ones pin (and what the allocator
 * keeps of the large ones). */
static void fragment(struct bench_ctx *ctx, long base_kib)
{
	const struct bench_allocator *a = ctx->a;
	void **small = map_array(FRAG_PAIRS * sizeof(void *));
	void **large = map_array(FRAG_PAIRS * sizeof(void *));

	set_phase(PH_FRAG);
	for (int i = 0; i < FRAG_PAIRS; i++) {
		small[i] = a->malloc(FRAG_SMALL);
		large[i] = a->malloc(FRAG_LARGE);
		if (!small[i] || !large[i])
			bench_fatal("memory: fragmentation pattern: out of memory");
		memset(small[i], 1, FRAG_SMALL);
		memset(large[i], 2, FRAG_LARGE);
	}
	for (int i = 0; i < FRAG_PAIRS; i++)
		a->free(large[i]);
	idle_nudge(a);
	bench_counter(ctx, "frag_live_mib", (double)FRAG_PAIRS * FRAG_SMALL / (1 << 20));
	bench_counter(ctx, "frag_mib", mib(bench_rss_kib() - base_kib));
	for (int i = 0; i < FRAG_PAIRS; i++)
		a->free(small[i]);
	munmap(small, FRAG_PAIRS * sizeof(void *));
	munmap(large, FRAG_PAIRS * sizeof(void *));
}

static uint64_t memory_run(struct bench_ctx *ctx, int tid)
{
	pthread_t t;
	uint64_t n;
	long base_kib = bench_rss_kib();

	(void)tid;
	clock_gettime(CLOCK_MONOTONIC, &trace.t0);
	trace.n = 0;
	trace.stop = 0;
	set_phase(PH_START);
	bench_counter(ctx, "base_mib", mib(base_kib));
	if (pthread_create(&t, NULL, sampler, NULL) != 0)
		bench_fatal("memory: pthread_create failed");
	fragment(ctx, base_kib);
	bench_reset_peak_rss();
	n = build_and_free(ctx);
	set_phase(PH_DONE);
	__atomic_store_n(&trace.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	write_trace(ctx->a->name);
	return n;
}

const struct bench_workload bench_wl_memory = {
	"memory", memory_args, WL_ONE_THREAD, NULL, NULL, memory_run
};
