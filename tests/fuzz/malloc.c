/*
 * tests/fuzz/malloc.c - libFuzzer target: the malloc family, kmalloc and
 * page blocks on one thread, against the model of fuzz.c.  Every byte of
 * the input after the first picks the next operation and its arguments;
 * at the end every block is freed and the heap holds what it held before.
 */
#include "fuzz.h"

static const uint8_t ops[] = {
	OP_MALLOC, OP_MALLOC, OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_REALLOC,
	OP_REALLOCARRAY, OP_POSIX_MEMALIGN, OP_ALIGNED_ALLOC, OP_MEMALIGN,
	OP_VALLOC, OP_PVALLOC, OP_FREE, OP_FREE, OP_FREE, OP_KMALLOC,
	OP_KZALLOC, OP_KREALLOC, OP_USABLE, OP_PAGES, OP_CHECK_ALL,
	OP_TRIM,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct fuzz_ctx ctx;
	size_t start = fuzz_heap_allocated();

	fuzz_ctx_init(&ctx, ops, sizeof(ops), NULL, NULL, 0, 1);
	fuzz_run(&ctx, &in);
	fuzz_release_all(&ctx);
	fuzz_leak_check(start);
	return 0;
}
