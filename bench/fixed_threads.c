/*
 * fixed_threads.c - the suite's fixed workload outside Google Benchmark,
 * with each thread's own speed.
 *
 * Usage: bench/fixed_threads [SIZE [ROUNDS [BATCHES [GENERATIONS]]]]
 *        (defaults 64, 500, 30, 10)
 *
 * Each generation starts two threads, as the suite's harness does for
 * each run; each allocates 1024 blocks of SIZE bytes (writing a byte of
 * each) and frees them in a fixed shuffled order, ROUNDS times a batch;
 * the main thread starts each batch and waits for both (barriers), and
 * the threads exit after BATCHES batches.  One line per generation:
 *   gen 3 pairs_per_s=251.2M t0=127.0M t1=126.1M
 * the pairs (malloc + free) of both threads per second of the
 * generation's wall time, then each thread's own rate over the time it
 * spent in its rounds (a thread that waits at the barrier for the other
 * does not count that wait).  Only the malloc ABI: run it under any
 * allocator with LD_PRELOAD, in turns, and compare medians.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N	1024

struct thread_data {
	uint16_t order[N];
	void *p[N];
};

static size_t size = 64;
static int rounds = 500, batches = 30, stop;
static pthread_barrier_t start, done;
static double busy[2];

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct thread_data *t = malloc(sizeof(*t));
	uint64_t x = 0x94D049BB133111EBULL * (uint64_t)(id + 1);

	if (!t) {
		fprintf(stderr, "fixed_threads: out of memory\n");
		exit(1);
	}
	for (int i = 0; i < N; i++)
		t->order[i] = (uint16_t)i;
	for (int i = N - 1; i > 0; i--) {	/* xorshift64 shuffle */
		int j;
		uint16_t tmp;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = (int)(x % (uint64_t)(i + 1));
		tmp = t->order[i];
		t->order[i] = t->order[j];
		t->order[j] = tmp;
	}
	for (;;) {
		double t0;

		pthread_barrier_wait(&start);
		if (stop)
			break;
		t0 = now();
		for (int r = 0; r < rounds; r++) {
			for (int i = 0; i < N; i++) {
				t->p[i] = malloc(size);
				if (!t->p[i]) {
					fprintf(stderr, "fixed_threads: malloc failed\n");
					exit(1);
				}
				*(char *)t->p[i] = (char)i;
			}
			for (int i = 0; i < N; i++)
				free(t->p[t->order[i]]);
		}
		busy[id] += now() - t0;
		pthread_barrier_wait(&done);
	}
	free(t);
	return NULL;
}

int main(int argc, char **argv)
{
	int gens = 10;
	double pairs;

	if (argc > 1)
		size = strtoul(argv[1], NULL, 10);
	if (argc > 2)
		rounds = atoi(argv[2]);
	if (argc > 3)
		batches = atoi(argv[3]);
	if (argc > 4)
		gens = atoi(argv[4]);
	if (!size || rounds < 1 || batches < 1 || gens < 1) {
		fprintf(stderr, "usage: fixed_threads [SIZE [ROUNDS [BATCHES [GENERATIONS]]]]\n");
		return 2;
	}
	pairs = (double)N * rounds * batches;	/* per thread */
	for (int g = 0; g < gens; g++) {
		pthread_t th[2];
		double t0, wall;

		stop = 0;
		busy[0] = busy[1] = 0;
		pthread_barrier_init(&start, NULL, 3);
		pthread_barrier_init(&done, NULL, 3);
		for (int i = 0; i < 2; i++)
			if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i)) {
				fprintf(stderr, "fixed_threads: pthread_create failed\n");
				return 1;
			}
		t0 = now();
		for (int b = 0; b < batches; b++) {
			pthread_barrier_wait(&start);
			pthread_barrier_wait(&done);
		}
		wall = now() - t0;
		stop = 1;
		pthread_barrier_wait(&start);
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&start);
		pthread_barrier_destroy(&done);
		printf("gen %d pairs_per_s=%.1fM t0=%.1fM t1=%.1fM\n", g,
		       2 * pairs / wall / 1e6, pairs / busy[0] / 1e6,
		       pairs / busy[1] / 1e6);
	}
	return 0;
}
