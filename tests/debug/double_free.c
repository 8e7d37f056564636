/* Freeing the same object twice: the second free is refused. */
#include "bug.h"

int main(void)
{
	struct uslub_cache *s = uslub_cache_create("bug_cache", 32, 0, DEBUG_ALL, NULL);
	char *p = alloc_object(s), *a, *b;

	free_object(s, p);
	free_object(s, p);
	a = alloc_object(s);
	b = alloc_object(s);
	printf("distinct=%d\n", a != b);	/* not handed out twice */
	free_object(s, a);
	free_object(s, b);
	printf("destroy=%d\n", uslub_cache_destroy(s));
	return 0;
}
