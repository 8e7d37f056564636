/* Writing into an object after freeing it: found when it is handed out
 * again (the poison is overwritten), and the next user gets it repaired. */
#include "bug.h"

int main(void)
{
	struct uslub_cache *s = uslub_cache_create("bug_cache", 64, 0, DEBUG_ALL, NULL);
	char *p = alloc_object(s), *q;

	free_object(s, p);
	scribble(p, 8, 'X', 4);
	q = alloc_object(s);		/* found here: the same object */
	printf("same=%d poisoned=%d\n", q == p, (unsigned char)q[8] == 0x6b);
	free_object(s, q);
	printf("destroy=%d\n", uslub_cache_destroy(s));
	return 0;
}
