/* Writing two bytes past the end of a 24-byte object. */
#include "bug.h"

int main(void)
{
	struct uslub_cache *s = uslub_cache_create("bug_cache", 24, 0, DEBUG_ALL, NULL);
	char *p = alloc_object(s);

	scribble(p, 24, 'A', 2);
	free_object(s, p);		/* found here */
	printf("validate=%lu\n", uslub_cache_validate(s));
	printf("destroy=%d\n", uslub_cache_destroy(s));
	return 0;
}
