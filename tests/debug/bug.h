/*
 * bug.h - shared by the tests/debug programs: each makes one kind of heap
 * bug on a debug cache and lets uslub report it.  tests/debug/run.sh
 * checks the report lines (expected/NAME.txt) and the exit status.
 *
 * The helpers are noinline and the pointers volatile so the compiler
 * keeps the bug as written; the programs are linked with -rdynamic so
 * "Allocated in" names alloc_object.
 */
#ifndef USLUB_TEST_BUG_H
#define USLUB_TEST_BUG_H

#include <stdio.h>
#include <string.h>
#include "uslub.h"

#define DEBUG_ALL	(USLUB_RED_ZONE | USLUB_POISON | USLUB_STORE_USER | \
			 USLUB_CONSISTENCY_CHECKS)

/* The empty asm after each call keeps it from being a tail call, so the
 * uslub function's return address is inside these helpers. */
__attribute__((noinline, used)) void *alloc_object(struct uslub_cache *s)
{
	void *p = uslub_cache_alloc(s, 0);

	__asm__ volatile("" ::: "memory");
	return p;
}

__attribute__((noinline, used)) void free_object(struct uslub_cache *s, void *p)
{
	uslub_cache_free(s, p);
	__asm__ volatile("" ::: "memory");
}

/* Writes n bytes of c from p + off; volatile so nothing is elided. */
__attribute__((noinline, unused)) static void scribble(char *p, long off, int c, long n)
{
	volatile char *v = p + off;
	long i;

	for (i = 0; i < n; i++)
		v[i] = (char)c;
}

#endif
