/* USLUB_DEBUG=Z,kmalloc-* (set by run.sh): writes past the size asked of
 * malloc but inside its size class land in the kmalloc red zone (the
 * kernel's orig_size) and are reported on free, or by validation
 * (malloc_trim) while the block is live.  malloc_usable_size is the size
 * asked for, and follows realloc in place. */
#include <stdint.h>
#include <stdlib.h>
#include "bug.h"

static const char text[] = "hello, red zone";

int main(void)
{
	char *p;
	size_t i;
	int zero = 1;

	p = uslub_malloc(30);		/* kmalloc-32 */
	printf("usable(30)=%zu\n", uslub_usable_size(p));
	scribble(p, 30, 'A', 1);
	uslub_free(p);

	p = uslub_malloc(100);		/* kmalloc-112 */
	scribble(p, 100, 'B', 1);
	uslub_free(p);

	p = uslub_malloc(strlen(text));	/* one byte short for the NUL */
	strcpy(p, text);
	uslub_free(p);

	p = uslub_calloc(1, 30);
	for (i = 0; i < 30; i++)
		zero &= p[i] == 0;
	printf("calloc zero=%d\n", zero);
	printf("realloc in place=%d\n", uslub_realloc(p, 20) == p);
	printf("usable(20)=%zu\n", uslub_usable_size(p));
	scribble(p, 20, 'C', 1);
	uslub_free(p);

	p = uslub_aligned_alloc(32, 40);	/* kmalloc-64 */
	printf("aligned=%d usable=%zu\n", ((uintptr_t)p & 31) == 0,
	       uslub_usable_size(p));
	scribble(p, 40, 'D', 1);
	uslub_free(p);

	p = uslub_malloc(30);
	scribble(p, 30, 'E', 1);
	printf("before trim\n");
	fflush(stdout);
	uslub_malloc_trim(0);		/* validates the live block */
	uslub_free(p);			/* repaired: no second report */
	printf("done\n");
	return 0;
}
