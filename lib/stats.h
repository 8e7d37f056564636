/*
 * stats.h - L5: the text of /proc/slabinfo, /proc/meminfo's slab lines,
 * /proc/buddyinfo, and SLUB's per-cache event counters.
 */
#ifndef USLUB_STATS_H
#define USLUB_STATS_H

#include "types.h"

extern const char *const stat_item_names[NR_SLUB_STAT_ITEMS];

int stats_slabinfo_write(int fd);
int stats_meminfo_write(int fd);
int stats_buddyinfo_write(int fd);
int stats_counters_write(int fd);

struct log_buf;
/* Heap totals (uslub_heap_stats_get, mallinfo2). */
void stats_heap_get(struct uslub_heap_stats *h);
/* glibc's malloc_stats text, then the summary line. */
int stats_malloc_stats_write(int fd);
void stats_summary_line(struct log_buf *b, const struct uslub_heap_stats *h);
/* At init, once the options are known: with stats and no stats_file,
 * keep a duplicate of stderr for the exit report; note USLUB_STATS_PID. */
void stats_setup(void);
/* USLUB_OPTIONS=stats: slabinfo (empty caches hidden unless stats=all),
 * meminfo and the summary, or with stats=json the JSON document, to the
 * stderr of the start or stats_file. */
void stats_exit_report(void);

#endif /* USLUB_STATS_H */
