/* A write into a freed object of a debug cache, then malloc_trim: the
 * trim validates every debug cache and reports the poison overwritten
 * before any reuse. */
#include "bug.h"

int main(void)
{
	struct uslub_cache *s = uslub_cache_create("bug_cache", 64, 0,
						    USLUB_POISON, NULL);
	char *p = alloc_object(s);

	free_object(s, p);
	scribble(p, 16, 'U', 2);
	printf("before trim\n");
	fflush(stdout);
	uslub_malloc_trim(0);
	printf("after trim\n");
	return 0;
}
