/*
 * tests/fuzz/fuzz.h - the engine the libFuzzer targets share (fuzz.c).
 *
 * An input is a sequence of operations on the public API (include/uslub.h):
 * the malloc family, kmalloc, page blocks, object caches, and blocks handed
 * to another thread.  A model keeps every live block's address, requested
 * and usable size and a fill pattern; each operation checks what it
 * touches (the pattern, realloc's prefix, alignment, usable size, zeroed
 * memory), and at the end of the input every block is freed and the heap
 * must hold exactly what it held before.  A failed check prints one line
 * and aborts, which libFuzzer reports as a crash with its input.
 *
 * The targets (malloc.c, cache.c, threads.c) differ in the operations
 * they draw from and in how many threads run them.
 */
#ifndef USLUB_TESTS_FUZZ_H
#define USLUB_TESTS_FUZZ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uslub.h"

#define FUZZ_SLOTS	32	/* live blocks per thread */
#define FUZZ_CACHES	4	/* caches per input */
#define FUZZ_THREADS	4	/* most threads of the threads target */
#define FUZZ_BOX	16	/* blocks waiting in one thread's mailbox */

/* The operations, drawn by each target from its own table. */
enum fuzz_op {
	OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_REALLOCARRAY,
	OP_POSIX_MEMALIGN, OP_ALIGNED_ALLOC, OP_MEMALIGN, OP_VALLOC,
	OP_PVALLOC, OP_FREE, OP_KMALLOC, OP_KZALLOC, OP_KREALLOC,
	OP_USABLE, OP_PAGES, OP_TRIM, OP_CHECK_ALL,
	OP_CACHE_CREATE, OP_CACHE_ALLOC, OP_CACHE_ZALLOC,
	OP_CACHE_BULK_ALLOC, OP_CACHE_BULK_FREE, OP_CACHE_SHRINK,
	OP_CACHE_VALIDATE, OP_CACHE_DESTROY,
	OP_SEND, OP_RECV,
	NR_FUZZ_OPS
};

/* The input, read front to back; past its end every byte reads as 0. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

enum fuzz_kind {
	BLK_NONE,
	BLK_MALLOC,	/* uslub_malloc family: uslub_free or uslub_kfree */
	BLK_KMALLOC,	/* uslub_kmalloc family: the same */
	BLK_KZERO,	/* uslub_kmalloc(0): ZERO_SIZE_PTR, kfree only */
	BLK_CACHE,	/* an object of fuzz_cache cache */
	BLK_PAGES,	/* uslub_alloc_pages of order `order' */
};

/* One live block of the model. */
struct fuzz_block {
	unsigned char *p;
	size_t req;		/* bytes asked for */
	size_t len;		/* bytes filled with the pattern: usable size */
	uint64_t seed;		/* of the pattern */
	enum fuzz_kind kind;
	unsigned int cache;	/* BLK_CACHE: index in fuzz_ctx.caches */
	unsigned int order;	/* BLK_PAGES */
};

/* A cache made by the input; live is the model's count of its objects. */
struct fuzz_cache {
	struct uslub_cache *s;
	size_t size;
	size_t align;		/* every object aligned to this */
	unsigned long flags;
	bool ctor;		/* objects come with their first word set */
	unsigned long live;	/* atomic: threads share caches */
};

/* Blocks on their way to a thread; any thread may post, the owner takes. */
struct fuzz_box {
	pthread_mutex_t lock;
	struct fuzz_block q[FUZZ_BOX];
	unsigned int head, n;
};

/* What one thread of a target runs on. */
struct fuzz_ctx {
	struct fuzz_block slot[FUZZ_SLOTS];
	const uint8_t *ops;		/* the target's table of operations */
	unsigned int nr_ops;
	struct fuzz_cache *caches;	/* FUZZ_CACHES, shared by threads */
	bool create_caches;		/* OP_CACHE_CREATE/DESTROY allowed */
	struct fuzz_box *boxes;		/* one per thread, or NULL */
	unsigned int self, nr_threads;
	size_t live_bytes;
	uint64_t next_seed;
};

/* Fails the input: "fuzz: FILE:LINE: what" and the message, then abort. */
#define fuzz_check(cond, ...)						\
	do {								\
		if (__builtin_expect(!(cond), 0))			\
			fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); \
	} while (0)

__attribute__((noreturn, format(printf, 4, 5)))
void fuzz_fail(const char *file, int line, const char *cond,
	       const char *fmt, ...);

uint8_t fuzz_u8(struct fuzz_in *in);

/* Sets up ctx for a thread of a target; caches and boxes may be shared. */
void fuzz_ctx_init(struct fuzz_ctx *ctx, const uint8_t *ops,
		   unsigned int nr_ops, struct fuzz_cache *caches,
		   struct fuzz_box *boxes, unsigned int self,
		   unsigned int nr_threads);
/* Runs the operations of in until it ends. */
void fuzz_run(struct fuzz_ctx *ctx, struct fuzz_in *in);
/* Checks and frees every block ctx holds. */
void fuzz_release_all(struct fuzz_ctx *ctx);
/* Checks and frees every block waiting in box. */
void fuzz_box_drain(struct fuzz_ctx *ctx, struct fuzz_box *box);
/* A cache of the threads target, drawn from in (create_caches off). */
void fuzz_cache_make(struct fuzz_cache *c, struct fuzz_in *in);
/* Destroys every cache of caches: each must be empty. */
void fuzz_caches_destroy(struct fuzz_cache *caches);

/* The bytes handed out by the heap (uslub_heap_stats_get's allocated);
 * fuzz_leak_check fails unless it is back at start. */
size_t fuzz_heap_allocated(void);
void fuzz_leak_check(size_t start);

#endif /* USLUB_TESTS_FUZZ_H */
