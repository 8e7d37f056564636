/*
 * tests/preload/early.c -- blocks allocated before main (by libearly's
 * constructor) are intact in main, and free cleanly.  When uslub is the
 * allocator (uslub_usable_size found with dlsym), those blocks must be
 * uslub's: they came from uslub before main, not from a bootstrap
 * allocator or glibc.  TAP on stdout; exit 0 iff every test passed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

/* libearly.so */
int early_status(void);
int early_count(void);
void *early_block(int i, size_t *size);
int early_block_intact(int i);

int main(void)
{
	size_t (*usable)(const void *) =
		(size_t (*)(const void *))dlsym(RTLD_DEFAULT,
						"uslub_usable_size");
	int n = early_count(), i;
	bool intact = true, sizes = true, mine = true;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..4\n");
	printf("# early_status %d\n", early_status());
	result(early_status() == 0, "the constructor's malloc, calloc, "
	       "realloc, strdup, posix_memalign and free calls all worked");

	for (i = 0; i < n; i++) {
		size_t size;
		void *p = early_block(i, &size);

		if (!p || !early_block_intact(i)) {
			printf("# block %d (%p, %zu bytes) changed\n", i, p,
			       size);
			intact = false;
			continue;
		}
		if (malloc_usable_size(p) < size) {
			printf("# block %d: usable %zu < %zu\n", i,
			       malloc_usable_size(p), size);
			sizes = false;
		}
		if (usable && usable(p) == 0) {
			printf("# block %d: uslub_usable_size 0\n", i);
			mine = false;
		} else if (usable && usable(p) != malloc_usable_size(p)) {
			printf("# block %d: uslub_usable_size %zu, "
			       "malloc_usable_size %zu\n", i, usable(p),
			       malloc_usable_size(p));
			mine = false;
		}
	}
	result(intact, "blocks kept by the constructor are intact in main");
	result(sizes, "malloc_usable_size of each kept block >= its size");
	if (usable)
		result(mine, "the kept blocks are uslub's (uslub_usable_size "
		       "nonzero, equal to malloc_usable_size)");
	else
		printf("ok %d - the kept blocks are uslub's # SKIP "
		       "uslub_usable_size not found\n", ++tests);

	for (i = 0; i < n; i++) {
		size_t size;

		free(early_block(i, &size));
	}
	return failed ? 1 : 0;
}
