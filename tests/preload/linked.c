/*
 * tests/preload/linked.c -- a program linked with -luslub-preload, no
 * LD_PRELOAD: the library's malloc family must win over the C library's
 * by link order alone.  Blocks from malloc, calloc, realloc,
 * posix_memalign, aligned_alloc and from inside the C library (strdup,
 * open_memstream) must be uslub's: uslub_usable_size (include/uslub.h)
 * equals malloc_usable_size for each, and malloc itself lives in the
 * preload library.  TAP on stdout; exit 0 iff every test passed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uslub.h>

#include "tap.h"

/* The block is uslub's and holds at least n bytes. */
static bool is_uslubs(const void *p, size_t n, const char *what)
{
	size_t u, m;

	if (!p) {
		printf("# %s: NULL\n", what);
		return false;
	}
	u = uslub_usable_size(p);
	m = malloc_usable_size((void *)p);
	if (u < n || u != m) {
		printf("# %s: uslub_usable_size %zu, malloc_usable_size %zu, "
		       "size %zu\n", what, u, m, n);
		return false;
	}
	return true;
}

static bool zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int main(void)
{
	unsigned char *p, *q;
	void *al = NULL;
	Dl_info info = { 0 };
	bool ok;
	char *s, *buf = NULL;
	size_t len = 0;
	FILE *f;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..6\n");

	ok = dladdr((void *)(uintptr_t)malloc, &info) && info.dli_fname &&
	     strstr(info.dli_fname, "libuslub-preload");
	printf("# malloc is in %s\n",
	       info.dli_fname ? info.dli_fname : "(unknown)");
	result(ok, "malloc resolves to libuslub-preload.so by linking alone");

	p = malloc(100);
	ok = is_uslubs(p, 100, "malloc(100)");
	if (p)
		memset(p, 0x7e, 100);
	q = malloc(3 << 20);
	ok &= is_uslubs(q, 3 << 20, "malloc(3 MiB)");
	free(q);
	result(ok, "malloc gives uslub blocks");

	q = calloc(300, 10);
	ok = is_uslubs(q, 3000, "calloc(300, 10)") && zero(q, 3000);
	free(q);
	result(ok, "calloc gives zeroed uslub blocks");

	ok = true;
	if (p) {
		q = realloc(p, 70000);
		ok = is_uslubs(q, 70000, "realloc(p, 70000)");
		if (q) {
			ok &= q[0] == 0x7e && q[99] == 0x7e;
			p = q;
		}
	}
	free(p);
	result(ok, "realloc moves the block within uslub, contents kept");

	ok = posix_memalign(&al, 4096, 5000) == 0 &&
	     is_uslubs(al, 5000, "posix_memalign(4096, 5000)") &&
	     ((uintptr_t)al & 4095) == 0;
	free(al);
	al = aligned_alloc(64, 640);
	ok &= is_uslubs(al, 640, "aligned_alloc(64, 640)") &&
	      ((uintptr_t)al & 63) == 0;
	free(al);
	result(ok, "posix_memalign and aligned_alloc give aligned uslub "
	       "blocks");

	s = strdup("allocated inside the C library");
	ok = is_uslubs(s, strlen("allocated inside the C library") + 1,
		       "strdup");
	free(s);
	f = open_memstream(&buf, &len);
	if (f) {
		fprintf(f, "%0*d", 5000, 1);
		fclose(f);
	}
	ok &= f && is_uslubs(buf, len + 1, "open_memstream buffer");
	free(buf);
	result(ok, "blocks the C library allocates (strdup, open_memstream) "
	       "are uslub's");
	return failed ? 1 : 0;
}
