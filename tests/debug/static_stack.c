/* The stack of the bad call itself: a static function (in the symbol
 * table only, never exported) frees an object of a debug cache twice,
 * then a kmalloc block twice (the default mode's one-line report, which
 * USLUB_DEBUG follows with the stack, and which aborts).  run.sh checks that
 * both stacks name free_twice_static and that addr2line turns the
 * module+offset of that frame back into its name. */
#include "bug.h"

static __attribute__((noinline)) void free_twice_static(struct uslub_cache *s,
							 void *p, void *q)
{
	uslub_cache_free(s, p);
	uslub_cache_free(s, p);
	uslub_kfree(q);
	uslub_kfree(q);
	__asm__ volatile("" ::: "memory");
}

int main(void)
{
	struct uslub_cache *s = uslub_cache_create("bug_cache", 32, 0,
						    USLUB_RED_ZONE, NULL);

	free_twice_static(s, uslub_cache_alloc(s, 0), uslub_kmalloc(200, 0));
	printf("done\n");
	return 0;
}
