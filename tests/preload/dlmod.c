/*
 * tests/preload/dlmod.c -- a module for tests/preload/dlopen_main, opened
 * and closed many times.  Its constructor allocates and its destructor
 * checks and frees that block.  Its __thread variables are general-dynamic
 * TLS (the module is -fPIC and dlopened), so glibc's loader allocates each
 * thread's block with malloc on first touch and frees it when the thread
 * exits or the module's slot is reused: loader allocations interleaved
 * with the program's.  One variable has an initializer (copied from the
 * TLS image), one is over-aligned (glibc aligns it by hand in a malloc'd
 * block), one is big.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CTOR_SIZE	4000
#define BIG_TLS		(64 * 1024)

static unsigned char *ctor_block;
static int *report;			/* where the destructor reports */

static __thread long tls_init = 42;
static __thread long tls_counter;
static __thread unsigned char tls_big[BIG_TLS];
static __thread struct { char c[64]; } tls_aligned __attribute__((aligned(256)));

__attribute__((constructor)) static void dlmod_init(void)
{
	ctor_block = malloc(CTOR_SIZE);
	if (ctor_block)
		memset(ctor_block, 0x3c, CTOR_SIZE);
}

__attribute__((destructor)) static void dlmod_fini(void)
{
	int ok = ctor_block != NULL;
	size_t i;

	for (i = 0; ok && i < CTOR_SIZE; i++)
		ok = ctor_block[i] == 0x3c;
	free(ctor_block);
	if (report)
		*report += ok;
}

/* The destructor adds 1 to *counter if the constructor's block was intact. */
void dlmod_set_report(int *counter)
{
	report = counter;
}

int dlmod_ctor_ok(void)
{
	return ctor_block != NULL;
}

/*
 * Touches this thread's TLS of the module: 0 if it looked wrong (the
 * initializer lost, the counter not what the calls so far add up to, or
 * the alignment broken), else 1.  calls is how many times this thread
 * called it before in this load of the module.
 */
int dlmod_touch(long calls)
{
	int ok = tls_init == 42 + calls && tls_counter == calls &&
		 ((uintptr_t)&tls_aligned & 255) == 0;

	if (calls == 0 && (tls_big[0] || tls_big[BIG_TLS - 1] ||
			   tls_aligned.c[0]))
		ok = 0;			/* TLS starts zeroed */
	tls_init++;
	tls_counter++;
	tls_big[(size_t)calls * 4099 % BIG_TLS] = 1;
	tls_aligned.c[calls % 64] = 1;
	return ok;
}
