/* Destroying a cache with live objects: listed with where they were
 * allocated, the cache kept (-EBUSY), destroyed once they are freed. */
#include <errno.h>
#include "bug.h"

int main(void)
{
	struct uslub_cache *s = uslub_cache_create("bug_cache", 100, 0, DEBUG_ALL, NULL);
	char *p = alloc_object(s), *q = alloc_object(s);

	printf("busy=%d\n", uslub_cache_destroy(s) == -EBUSY);
	free_object(s, p);
	free_object(s, q);
	printf("destroy=%d\n", uslub_cache_destroy(s));
	return 0;
}
