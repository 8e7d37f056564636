/* With USLUB_OPTIONS=abort_on_error=1 (set by run.sh), a red zone
 * overwrite is reported and then the program aborts. */
#include "bug.h"

int main(void)
{
	struct uslub_cache *s = uslub_cache_create("bug_cache", 16, 0, DEBUG_ALL, NULL);
	char *p = alloc_object(s);

	scribble(p, 16, 'Z', 1);
	free_object(s, p);
	printf("not reached\n");
	return 0;
}
