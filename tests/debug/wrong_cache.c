/* Freeing an object to a cache it does not belong to. */
#include "bug.h"

int main(void)
{
	struct uslub_cache *a = uslub_cache_create("cache_a", 64, 0, DEBUG_ALL, NULL);
	struct uslub_cache *b = uslub_cache_create("cache_b", 64, 0, DEBUG_ALL, NULL);
	char *p = alloc_object(a);

	free_object(b, p);
	free_object(a, p);
	printf("destroy=%d,%d\n", uslub_cache_destroy(a), uslub_cache_destroy(b));
	return 0;
}
