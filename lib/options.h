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
	/* 1 abort, 0 report and go on; -1 (default) as glibc and the kernel
	 * do: an invalid free aborts, a debug cache's report repairs and
	 * goes on.  See options_abort_invalid / options_abort_debug. */
	int abort_on_error;
	bool verbose;			/* report options and init on stderr */
	bool stats;			/* statistics at exit (stderr or file) */
	bool stats_all;			/* stats=all: empty caches listed too */
	bool stats_json;		/* stats=json: that report as JSON */
	/* serve uslub-slabtop (statsd.c): 1 at once, 0 never, -1 (default)
	 * at once in the program uslub-run started, else once the process
	 * is STATSD_DELAY_MS old */
	int slabtop;
	int thp;			/* -1 as the system says, 0 never
					 * (MADV_NOHUGEPAGE), 1 ask for them */
	char stats_file[256];		/* "": stderr; "%p" becomes the pid */
	/* limit=SIZE (k/m/g suffixes): most bytes of pages out of the buddy
	 * allocator plus huge mappings (page_alloc.c's page_charge); 0 none */
	unsigned long limit;
	bool page_owner;		/* record who allocated each block */
	/* exitcode=N: with USLUB_DEBUG set, a run that reported a heap bug
	 * exits with N at the end (0: its own status) */
	int exitcode;
	/* the heap profiler (prof.c): prof=1 samples about one allocation
	 * per prof_sample bytes (> 0) and writes <prof_prefix>.<pid>.heap at
	 * exit; prof_leak=1 adds the leak report; prof_seed=N (not 0) makes
	 * the sampling repeat from run to run */
	bool prof;
	bool prof_leak;
	unsigned long prof_sample;
	unsigned long prof_seed;
	char prof_prefix[200];
};

extern struct uslub_options uslub_opt;

/* Parse a USLUB_OPTIONS string into uslub_opt; unknown keys and bad values
 * produce one warning line each.  Returns the number of warnings. */
int options_parse(const char *str);

/*
 * USLUB_DEBUG, in the kernel's slub_debug syntax: blocks separated by
 * ';', each "[letters][,cache[,cache...]]".  Letters: F Z P U T (debug
 * flags), O (drop debugging where it would raise the slab order), '-'
 * (none).  No letters means FZPU.  A block without names applies to every
 * cache no named block matches; a name may end in '*' (prefix).
 * options_parse_debug keeps the string (up to 511 bytes) and warns about
 * unknown letters; returns the number of warnings.
 */
int options_parse_debug(const char *str);
/* The debug flags (USLUB_* values) USLUB_DEBUG gives cache name; *order_off
 * is set when O applies to it. */
unsigned long options_debug_flags(const char *name, bool *order_off);
/* USLUB_DEBUG is set (and not empty). */
bool options_debugging(void);
/* One warning line for each cache name of USLUB_DEBUG that no cache
 * created so far matched (a typo debugs nothing); returns how many. */
int options_debug_warn_unmatched(void);

static inline bool options_abort_invalid(void)
{
	return uslub_opt.abort_on_error != 0;
}

static inline bool options_abort_debug(void)
{
	return uslub_opt.abort_on_error == 1;
}

#endif /* USLUB_OPTIONS_H */
