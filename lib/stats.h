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

#endif /* USLUB_STATS_H */
