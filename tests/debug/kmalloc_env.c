/* USLUB_DEBUG=ZP,kmalloc-64 (set by run.sh) turns the kmalloc-64 cache
 * into a debug cache: an overflow of a 64-byte kmalloc block is found
 * at kfree. */
#include "bug.h"

__attribute__((noinline, used)) void *alloc_block(size_t n)
{
	void *p = uslub_kmalloc(n, 0);

	__asm__ volatile("" ::: "memory");
	return p;
}

int main(void)
{
	char *p = alloc_block(64);

	scribble(p, 64, 'K', 1);
	uslub_kfree(p);
	printf("done\n");
	return 0;
}
