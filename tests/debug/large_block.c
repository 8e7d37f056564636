/* USLUB_DEBUG=ZP,kmalloc-* (set by run.sh) debugs the kmalloc classes and
 * the blocks above them (kmalloc-large): an 8-byte overflow of a
 * 10,000-byte block (a class) and of a 100,000-byte one (a buddy block),
 * of a block realloc shrank in place, of an aligned one and of a 5 MiB
 * mapping, each reported at free; a write into a freed block found when
 * malloc_trim empties the quarantine; a second free of a quarantined
 * block; and a block overflowed and never freed, found at exit. */
#include <stdlib.h>
#include "bug.h"

static void overflow_and_free(size_t size, size_t align)
{
	char *p = align ? uslub_aligned_alloc(align, size) : uslub_malloc(size);

	printf("%zu bytes: usable %zu\n", size, uslub_usable_size(p));
	scribble(p, (long)size, 'O', 8);
	uslub_free(p);
}

int main(void)
{
	char *p, *q;

	overflow_and_free(10000, 0);
	overflow_and_free(100000, 0);
	overflow_and_free(100000, 65536);
	overflow_and_free(5UL << 20, 0);

	p = uslub_malloc(100000);
	q = uslub_realloc(p, 60000);
	printf("realloc in place=%d usable %zu\n", q == p,
	       uslub_usable_size(q));
	scribble(q, 60000, 'R', 1);
	uslub_free(q);

	p = uslub_malloc(200000);
	uslub_free(p);
	scribble(p, 16, 'U', 2);	/* use after free */
	uslub_free(p);			/* and a second free */
	printf("before trim\n");
	fflush(stdout);
	uslub_malloc_trim(0);

	p = uslub_malloc(100000);	/* left overflowed: found at exit */
	scribble(p, 100000, 'E', 1);
	printf("done\n");
	return 0;
}
