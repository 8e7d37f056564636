/* A write after free found by uslub_cache_validate, the kernel's
 * `slabinfo -v', before the object is reused. */
#include "bug.h"

int main(void)
{
	struct uslub_cache *s = uslub_cache_create("bug_cache", 40, 0, DEBUG_ALL, NULL);
	char *p = alloc_object(s), *keep = alloc_object(s);

	free_object(s, p);
	scribble(p, 0, 0, 1);
	printf("validate=%lu\n", uslub_cache_validate(s));
	printf("again=%lu\n", uslub_cache_validate(s));	/* repaired */
	free_object(s, keep);
	printf("destroy=%d\n", uslub_cache_destroy(s));
	return 0;
}
