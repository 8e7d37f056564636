/* Freeing a pointer into the middle of an object. */
#include "bug.h"

int main(void)
{
	struct uslub_cache *s = uslub_cache_create("bug_cache", 48, 0, DEBUG_ALL, NULL);
	char *p = alloc_object(s);

	free_object(s, p + 16);
	printf("validate=%lu\n", uslub_cache_validate(s));
	free_object(s, p);
	printf("destroy=%d\n", uslub_cache_destroy(s));
	return 0;
}
