/*
 * tests/preload/bad_free.c -- one invalid pointer handed to the allocator,
 * named by argv[1]:
 *
 *   foreign          free() of a static array
 *   interior         free(p + 16) of a 64-byte block
 *   double           free(p) twice
 *   realloc_foreign  realloc() of a static array
 *   usable_foreign   malloc_usable_size() of a static array
 *
 * The program first prints "addr %p" with the pointer on stdout (flushed),
 * so tests/preload/robust.sh can compare it with the allocator's report on
 * stderr; then it makes the bad call.  If that returns (uslub with
 * USLUB_OPTIONS=abort_on_error=0), it checks the heap still works (for
 * "double": two new 64-byte blocks are distinct, the bad free was not
 * taken) and exits 0; "survived" on stdout says so.  Not TAP: the script
 * judges the exit status and the report.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char foreign[256] __attribute__((aligned(64)));

static void show(const void *p)
{
	printf("addr %p\n", p);
	fflush(stdout);
}

/* After the bad call: the allocator still hands out distinct memory. */
static int heap_works(void)
{
	void *a = malloc(64), *b = malloc(64), *c = malloc(100000);
	int ok = a && b && c && a != b;

	if (ok) {
		memset(a, 1, 64);
		memset(b, 2, 64);
		memset(c, 3, 100000);
	}
	free(a);
	free(b);
	free(c);
	return ok;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	volatile size_t sink = 0;
	char *p;

	if (strcmp(what, "foreign") == 0) {
		show(foreign);
		free(foreign + 0);	/* + 0: no -Wfree-nonheap-object */
	} else if (strcmp(what, "interior") == 0) {
		p = malloc(64);
		memset(p, 0, 64);
		show(p + 16);
		free(p + 16);
		free(p);
	} else if (strcmp(what, "double") == 0) {
		p = malloc(64);
		show(p);
		free(p);
		free(*(char *volatile *)&p);	/* hide the double free */
	} else if (strcmp(what, "realloc_foreign") == 0) {
		show(foreign);
		p = realloc(foreign + 0, 100);
		sink = (size_t)p;
	} else if (strcmp(what, "usable_foreign") == 0) {
		show(foreign);
		sink = malloc_usable_size(foreign + 0);
	} else {
		fprintf(stderr, "usage: %s foreign | interior | double | "
			"realloc_foreign | usable_foreign\n", argv[0]);
		return 2;
	}
	(void)sink;
	if (!heap_works()) {
		printf("heap broken after the bad call\n");
		return 1;
	}
	printf("survived\n");
	return 0;
}
