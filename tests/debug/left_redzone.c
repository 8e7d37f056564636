/* Writing the byte before a 24-byte object. */
#include "bug.h"

int main(void)
{
	struct uslub_cache *s = uslub_cache_create("bug_cache", 24, 0, DEBUG_ALL, NULL);
	char *p = alloc_object(s);

	scribble(p, -1, 'B', 1);
	free_object(s, p);
	printf("validate=%lu\n", uslub_cache_validate(s));
	printf("destroy=%d\n", uslub_cache_destroy(s));
	return 0;
}
