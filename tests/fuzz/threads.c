/*
 * tests/fuzz/threads.c - libFuzzer target: two to four threads, each
 * running its own share of the input (malloc, kmalloc and two caches
 * made by the input), hand blocks to each other through mailboxes, so
 * blocks are checked, grown and freed by threads other than the one that
 * allocated them.  After the threads end, what waits in the mailboxes is
 * checked and freed, the caches are destroyed and the heap holds what it
 * held before.
 */
#include "fuzz.h"

#include <string.h>

static const uint8_t ops[] = {
	OP_MALLOC, OP_MALLOC, OP_REALLOC, OP_CALLOC, OP_ALIGNED_ALLOC,
	OP_FREE, OP_FREE, OP_KMALLOC, OP_KREALLOC, OP_USABLE,
	OP_CACHE_ALLOC, OP_CACHE_ALLOC, OP_CACHE_BULK_ALLOC,
	OP_CACHE_BULK_FREE, OP_CACHE_SHRINK, OP_SEND, OP_SEND, OP_SEND,
	OP_RECV, OP_RECV, OP_RECV,
};

struct worker {
	pthread_t tid;
	struct fuzz_ctx ctx;
	struct fuzz_in in;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	fuzz_run(&w->ctx, &w->in);
	fuzz_release_all(&w->ctx);
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The first byte picks the number of threads, the next eight make the two
 * caches; the rest is cut into one contiguous share per thread. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct fuzz_cache caches[FUZZ_CACHES] = { { 0 } };
	struct fuzz_box boxes[FUZZ_THREADS];
	struct worker w[FUZZ_THREADS];
	struct fuzz_ctx main_ctx;
	size_t start = fuzz_heap_allocated(), share;
	unsigned int i, n = 2 + fuzz_u8(&in) % (FUZZ_THREADS - 1);
	int err;

	fuzz_cache_make(&caches[0], &in);
	fuzz_cache_make(&caches[1], &in);
	share = in.n / n;
	for (i = 0; i < n; i++) {
		memset(&boxes[i], 0, sizeof(boxes[i]));
		pthread_mutex_init(&boxes[i].lock, NULL);
		fuzz_ctx_init(&w[i].ctx, ops, sizeof(ops), caches, boxes, i,
			      n);
		w[i].in.p = in.p + i * share;
		w[i].in.n = i == n - 1 ? in.n - i * share : share;
	}
	for (i = 0; i < n; i++) {
		err = pthread_create(&w[i].tid, NULL, worker_main, &w[i]);
		fuzz_check(err == 0, "pthread_create: %d", err);
	}
	for (i = 0; i < n; i++)
		pthread_join(w[i].tid, NULL);
	fuzz_ctx_init(&main_ctx, ops, sizeof(ops), caches, boxes, 0, n);
	for (i = 0; i < n; i++) {
		fuzz_box_drain(&main_ctx, &boxes[i]);
		pthread_mutex_destroy(&boxes[i].lock);
	}
	fuzz_check(main_ctx.live_bytes == 0, "%zu live bytes after draining",
		   main_ctx.live_bytes);
	fuzz_caches_destroy(caches);
	fuzz_leak_check(start);
	return 0;
}
