/*
 * tests/slabinfo_row.h -- reading uslub's statistics text in tests.
 *
 * stats_text(writer) returns what one of the uslub_*_write() functions
 * writes, as a string; slabinfo_read() and slabinfo_find() parse the
 * slabinfo row of one cache into a struct slabrow.  Header-only: every
 * function is static and marked unused, so a test uses only what it needs.
 */
#ifndef USLUB_TESTS_SLABINFO_ROW_H
#define USLUB_TESTS_SLABINFO_ROW_H

#include "uslub.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* What writer(fd) wrote, NUL-terminated (malloc'd), or NULL. */
static __attribute__((unused)) char *
stats_text(int (*writer)(int))
{
	FILE *f = tmpfile();
	char *buf = NULL;
	off_t len;

	if (!f)
		return NULL;
	if (writer(fileno(f)) == 0 &&
	    (len = lseek(fileno(f), 0, SEEK_END)) >= 0 &&
	    (buf = malloc((size_t)len + 1)) != NULL) {
		if (pread(fileno(f), buf, (size_t)len, 0) == len) {
			buf[len] = '\0';
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

struct slabrow {
	unsigned long active_objs, num_objs, num_slabs;
	unsigned int objperslab;
};

/*
 * Reads slabinfo: the row of cache name (its first row if listed twice;
 * false if not listed), and if kmalloc_active is not NULL the sum of
 * active_objs over the kmalloc-* caches.
 */
static __attribute__((unused)) bool
slabinfo_read(const char *name, struct slabrow *row,
	      unsigned long *kmalloc_active)
{
	FILE *f = tmpfile();
	char line[512], got[128];
	bool found = false;
	struct slabrow r;
	unsigned int objsize;
	int pages;
	unsigned long active_slabs;

	if (kmalloc_active)
		*kmalloc_active = 0;
	if (!f)
		return false;
	if (uslub_slabinfo_write(fileno(f)) == 0) {
		rewind(f);
		while ((!found || kmalloc_active) &&
		       fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%127s %lu %lu %u %u %d : tunables %*u "
				   "%*u %*u : slabdata %lu %lu", got,
				   &r.active_objs, &r.num_objs, &objsize,
				   &r.objperslab, &pages, &active_slabs,
				   &r.num_slabs) != 8)
				continue;
			if (kmalloc_active && strncmp(got, "kmalloc-", 8) == 0)
				*kmalloc_active += r.active_objs;
			if (name && !found && strcmp(got, name) == 0) {
				*row = r;
				found = true;
			}
		}
	}
	fclose(f);
	return found;
}

/* The slabinfo row of cache name; false if the cache is not listed. */
static __attribute__((unused)) bool
slabinfo_find(const char *name, struct slabrow *row)
{
	return slabinfo_read(name, row, NULL);
}

#endif /* USLUB_TESTS_SLABINFO_ROW_H */
