/* Overwriting the free pointer of a free object (a use after free that
 * hits the metadata): the chain is cut there, never followed. */
#include "bug.h"

int main(void)
{
	/* Z only: the free pointer is the word after the red zone. */
	struct uslub_cache *s = uslub_cache_create("bug_cache", 24, 0,
						    USLUB_RED_ZONE | USLUB_CONSISTENCY_CHECKS, NULL);
	char *p = alloc_object(s), *q = alloc_object(s);

	free_object(s, q);
	free_object(s, p);		/* p heads the chain, its fp is q */
	scribble(p, 32, 0x41, 8);	/* 24 + 8 bytes of red zone */
	printf("validate=%lu\n", uslub_cache_validate(s));
	printf("destroy=%d\n", uslub_cache_destroy(s));
	return 0;
}
