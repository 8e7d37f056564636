/* USLUB_DEBUG=FZ,kmaloc-64 (set by run.sh): the name matches no cache,
 * so nothing is debugged; at exit one line says so. */
#include "bug.h"

int main(void)
{
	char *p = uslub_kmalloc(64, 0);

	uslub_kfree(p);
	printf("done\n");
	return 0;
}
