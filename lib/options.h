/*
 * options.h - L2: run-time options, read once from USLUB_OPTIONS
 * ("key=value,key=value") in the environment without allocating.
 */
#ifndef USLUB_OPTIONS_H
#define USLUB_OPTIONS_H

#include <stdbool.h>

struct uslub_options {
	unsigned long decay_ms;		/* free pages wait this long before
					 * MADV_DONTNEED; 0 = at once */
	bool abort_on_error;		/* invalid free etc.: abort (1) or go on */
	bool verbose;			/* report options and init on stderr */
	bool stats;			/* statistics at exit (stderr or file) */
	int thp;			/* -1 as the system says, 0 never
					 * (MADV_NOHUGEPAGE), 1 ask for them */
	char stats_file[256];		/* "": stderr; "%p" becomes the pid */
};

extern struct uslub_options uslub_opt;

/* Parse a USLUB_OPTIONS string into uslub_opt; unknown keys and bad values
 * produce one warning line each.  Returns the number of warnings. */
int options_parse(const char *str);

#endif /* USLUB_OPTIONS_H */
