/* USLUB_DEBUG=P,bug_cache (set by run.sh): a write into a freed object
 * that is never handed out again.  Validation at exit finds the poison
 * overwritten, and the run ends with USLUB_OPTIONS' exitcode (23 unless
 * set), not the 0 main returns. */
#include "bug.h"

int main(void)
{
	struct uslub_cache *s = uslub_cache_create("bug_cache", 64, 0, 0, NULL);
	char *p = alloc_object(s);

	free_object(s, p);
	scribble(p, 16, 'U', 2);
	printf("done\n");
	return 0;
}
