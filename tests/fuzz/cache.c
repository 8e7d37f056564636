/*
 * tests/fuzz/cache.c - libFuzzer target: object caches made by the input
 * (sizes, alignments, constructors, debug and RCU flags) with single and
 * bulk allocation and free, shrink, validate and destroy, beside kmalloc
 * blocks that share the pages; checked against the model of fuzz.c.  At
 * the end every object is freed, every cache destroyed (each must be
 * empty) and the heap holds what it held before.
 */
#include "fuzz.h"

static const uint8_t ops[] = {
	OP_CACHE_CREATE, OP_CACHE_ALLOC, OP_CACHE_ALLOC, OP_CACHE_ALLOC,
	OP_CACHE_ZALLOC, OP_CACHE_BULK_ALLOC, OP_CACHE_BULK_FREE, OP_FREE,
	OP_FREE, OP_FREE, OP_CACHE_SHRINK, OP_CACHE_VALIDATE,
	OP_CACHE_DESTROY, OP_KMALLOC, OP_CHECK_ALL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct fuzz_cache caches[FUZZ_CACHES] = { { 0 } };
	struct fuzz_ctx ctx;
	size_t start = fuzz_heap_allocated();

	fuzz_ctx_init(&ctx, ops, sizeof(ops), caches, NULL, 0, 1);
	fuzz_run(&ctx, &in);
	fuzz_release_all(&ctx);
	fuzz_caches_destroy(caches);
	fuzz_leak_check(start);
	return 0;
}
