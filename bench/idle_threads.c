/*
 * idle_threads.c - the RSS that idle threads keep in the allocator.
 *
 * Usage: bench/idle_threads [N]   (N threads, default 1000)
 *
 * Each thread allocates PER_SIZE blocks of each of the sizes below (16 B to
 * 4 KiB), writes them, frees them all, then waits on a barrier.  With every
 * thread parked, the main thread reads VmRSS from /proc/self/status and
 * prints one line,
 *   idle_threads N=1000 rss_mib=123.4 base_mib=1.2
 * (base: VmRSS before the threads started), then releases and joins them.
 * What an allocator keeps per thread after its frees (caches, magazines,
 * thread heaps, their slabs) shows as rss - base, with the threads' stacks
 * (default size; a few pages touched each) the same for every allocator.
 * Only the malloc ABI: run it under any allocator with LD_PRELOAD
 * (bench/idle_threads.sh).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PER_SIZE	64

static const size_t sizes[] = {
	16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 4096
};
#define NR_SIZES	(sizeof(sizes) / sizeof(sizes[0]))

static pthread_barrier_t parked, release;

static void *worker(void *arg)
{
	void *blk[NR_SIZES * PER_SIZE];
	size_t n = 0;

	(void)arg;
	for (size_t s = 0; s < NR_SIZES; s++)
		for (int i = 0; i < PER_SIZE; i++, n++) {
			blk[n] = malloc(sizes[s]);
			if (!blk[n]) {
				fprintf(stderr, "idle_threads: out of memory\n");
				exit(1);
			}
			memset(blk[n], (int)(n & 0xff), sizes[s]);
			/* the writes stay, though free follows */
			__asm__ __volatile__("" : : "r"(blk[n]) : "memory");
		}
	for (size_t i = 0; i < n; i++)
		free(blk[i]);
	pthread_barrier_wait(&parked);
	pthread_barrier_wait(&release);
	return NULL;
}

/* VmRSS in MiB, or -1. */
static double rss_mib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	double kib = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lf kB", &kib) == 1)
			break;
	fclose(f);
	return kib < 0 ? -1 : kib / 1024;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	pthread_t *t;
	double base, rss;
	int err;

	if (n < 1 || n > 100000) {
		fprintf(stderr, "usage: idle_threads [N (1..100000)]\n");
		return 2;
	}
	t = calloc((size_t)n, sizeof(*t));
	if (!t) {
		fprintf(stderr, "idle_threads: out of memory\n");
		return 1;
	}
	base = rss_mib();
	pthread_barrier_init(&parked, NULL, (unsigned)n + 1);
	pthread_barrier_init(&release, NULL, (unsigned)n + 1);
	for (long i = 0; i < n; i++) {
		err = pthread_create(&t[i], NULL, worker, NULL);
		if (err) {
			fprintf(stderr, "idle_threads: thread %ld of %ld: %s\n",
				i + 1, n, strerror(err));
			return 1;
		}
	}
	pthread_barrier_wait(&parked);
	rss = rss_mib();
	printf("idle_threads N=%ld rss_mib=%.1f base_mib=%.1f\n", n, rss, base);
	fflush(stdout);
	pthread_barrier_wait(&release);
	for (long i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&parked);
	pthread_barrier_destroy(&release);
	free(t);
	return 0;
}
