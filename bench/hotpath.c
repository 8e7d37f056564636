/*
 * hotpath.c - instruction counts of uslub's fast paths, for callgrind.
 *
 * Each workload is one noinline function so that
 *   valgrind --tool=callgrind --toggle-collect=<function> bench/hotpath
 * counts exactly its instructions; bench/callgrind.sh divides by the number
 * of malloc+free pairs.  The loops are warmed first, so the counted runs see
 * the hot path only (slow paths are included in the ring, as they occur).
 *
 *   hot_pair   uslub_kmalloc(32) + uslub_kfree, HOT_ITERS times
 *   ring       a ring of RING_LIVE live blocks, sizes 8..1024 from a fixed
 *              xorshift sequence, replace one per step, RING_ITERS steps
 *   cache_pair uslub_cache_alloc + uslub_cache_free on a 64-byte cache
 *              (malloc(64) + free in bench/hotpath-malloc)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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
#endif

#define HOT_ITERS	1000000
#define RING_LIVE	4096
#define RING_ITERS	1000000

static void *ring[RING_LIVE];
static uint32_t ring_sizes[RING_ITERS];
static struct uslub_cache *cache64;

__attribute__((noinline)) void hot_pair(long n)
{
	for (long i = 0; i < n; i++) {
		void *p = uslub_kmalloc(32, 0);

		__asm__ __volatile__("" : : "r"(p) : "memory");
		uslub_kfree(p);
	}
}

__attribute__((noinline)) void cache_pair(long n)
{
	for (long i = 0; i < n; i++) {
		void *p = uslub_cache_alloc(cache64, 0);

		__asm__ __volatile__("" : : "r"(p) : "memory");
		uslub_cache_free(cache64, p);
	}
}

__attribute__((noinline)) void ring_run(long n)
{
	for (long i = 0; i < n; i++) {
		uint32_t slot = (uint32_t)i % RING_LIVE;

		uslub_kfree(ring[slot]);
		ring[slot] = uslub_kmalloc(ring_sizes[i], 0);
	}
}

/* The loop overhead alone, subtracted by callgrind.sh. */
__attribute__((noinline)) void empty_loop(long n)
{
	for (long i = 0; i < n; i++)
		__asm__ __volatile__("" : : : "memory");
}

static void ring_setup(void)
{
	uint32_t x = 2463534242u;

	for (long i = 0; i < RING_ITERS; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		ring_sizes[i] = 8 + x % 1017;
	}
	for (int i = 0; i < RING_LIVE; i++)
		ring[i] = uslub_kmalloc(8 + (size_t)i % 1017, 0);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : HOT_ITERS;

	cache64 = uslub_cache_create("bench_64", 64, 0, 0, NULL);
	ring_setup();
	hot_pair(1000);			/* warm: cpu slabs exist */
	cache_pair(1000);
	ring_run(RING_ITERS);
	hot_pair(n);
	cache_pair(n);
	ring_run(RING_ITERS);
	empty_loop(n);
	printf("hot_pair iterations %ld, ring iterations %d\n", n, RING_ITERS);
	return 0;
}
