/*
 * tests/preload/bad_free.c -- one invalid pointer handed to the allocator,
 * named by argv[1]:
 *
 *   foreign          free() of a static array
 *   interior         free(p + 16) of a 64-byte block
 *   double           free(p) twice
 *   realloc_foreign  realloc() of a static array
 *   usable_foreign   malloc_usable_size() of a static array
 *   zero_size_ptr    free((void *)16), kmalloc(0)'s value, never malloc's
 *   realloc_zsp      realloc((void *)16, 100)
 *   aba              free(a), free(b), free(a) of 64-byte blocks
 *   xthread          free(p) in a thread, then free(p) in main
 *   realloc_freed    realloc() of a freed 100-byte block
 *   after_trim       free(p), malloc_trim(0), free(p)
 *   kmalloc_redzone  malloc(30), a write to byte 30, free (run with
 *                    USLUB_DEBUG=Z,kmalloc-32)
 *   large_overflow   malloc(100000), 8 bytes written past it, free (run
 *                    with USLUB_DEBUG=Z,kmalloc-large)
 *   freelist         a use-after-free write over the free pointers of
 *                    free 112-byte blocks on their slab, then malloc
 *
 * The program first prints "addr %p" with the pointer on stdout (flushed),
 * so tests/preload/robust.sh can compare it with the allocator's report on
 * stderr ("freelist": the slab's address); then it makes the bad call.  If that returns (uslub with
 * USLUB_OPTIONS=abort_on_error=0), it checks the heap still works (for
 * "double": two new 64-byte blocks are distinct, the bad free was not
 * taken) and exits 0; "survived" on stdout says so.  Not TAP: the script
 * judges the exit status and the report.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char foreign[256] __attribute__((aligned(64)));

static void *free_in_thread(void *p)
{
	free(p);
	return NULL;
}

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

/*
 * Free 112-byte blocks sent back to their slab (malloc_trim flushes the
 * thread's sheaves; one live block keeps the slab), then written over
 * where a free block keeps its free pointer (the second word, after the
 * free tag): the next refill follows the chain, finds the pointer corrupt
 * and cuts it.
 */
static void freelist_bug(void)
{
	enum { N = 200, SIZE = 112 };
	static char *v[N];
	unsigned int i;

	for (i = 0; i < N; i++)
		v[i] = malloc(SIZE);
	for (i = 1; i < N; i++)
		free(v[i]);
	malloc_trim(0);
	show(v[0]);
	for (i = 1; i < N; i++)		/* use after free */
		memset(*(char *volatile *)&v[i] + sizeof(void *), 0x41, 8);
	for (i = 1; i < N; i++)
		v[i] = malloc(SIZE);
	for (i = 0; i < N; i++)
		free(v[i]);
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
	} else if (strcmp(what, "zero_size_ptr") == 0) {
		p = (char *)16;
		show(p);
		free(*(char *volatile *)&p);
	} else if (strcmp(what, "realloc_zsp") == 0) {
		p = (char *)16;
		show(p);
		sink = (size_t)realloc(*(char *volatile *)&p, 100);
	} else if (strcmp(what, "aba") == 0) {
		char *b = malloc(64);

		p = malloc(64);
		show(p);
		free(p);
		free(b);
		free(*(char *volatile *)&p);	/* not the last one freed */
	} else if (strcmp(what, "xthread") == 0) {
		pthread_t t;

		p = malloc(48);
		show(p);
		pthread_create(&t, NULL, free_in_thread, p);
		pthread_join(t, NULL);
		free(*(char *volatile *)&p);
	} else if (strcmp(what, "realloc_freed") == 0) {
		char *b = malloc(100);

		p = malloc(100);
		show(p);
		free(p);
		free(b);
		sink = (size_t)realloc(*(char *volatile *)&p, 200);
	} else if (strcmp(what, "after_trim") == 0) {
		p = malloc(160);
		show(p);
		free(p);
		malloc_trim(0);
		free(*(char *volatile *)&p);
	} else if (strcmp(what, "kmalloc_redzone") == 0) {
		p = malloc(30);
		show(p);
		(*(char *volatile *)&p)[30] = 'X';
		free(p);
	} else if (strcmp(what, "large_overflow") == 0) {
		p = malloc(100000);
		show(p);
		memset(*(char *volatile *)&p + 100000, 'X', 8);
		free(p);
	} else if (strcmp(what, "freelist") == 0) {
		freelist_bug();
	} else {
		fprintf(stderr, "usage: %s foreign | interior | double | "
			"realloc_foreign | usable_foreign | zero_size_ptr | "
			"realloc_zsp | aba | xthread | realloc_freed | "
			"after_trim | kmalloc_redzone | large_overflow | "
			"freelist\n", argv[0]);
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
