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

/* One slabinfo row's numbers, as the kernel computes them. */
struct slabinfo_row {
	unsigned long active_objs, num_objs, active_slabs, num_slabs;
	unsigned int objsize, objperslab, pagesperslab;
};
void stats_slabinfo_row(struct uslub_cache *s, struct slabinfo_row *r);

#endif /* USLUB_STATS_H */
