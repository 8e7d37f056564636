/*
 * stats.c - L5: statistics text in the kernel's formats.
 *
 * slabinfo 2.1 with SLUB's columns (tunables and sharedavail 0), except
 * that active_objs is exact: the objects handed out and not freed, summed
 * from every thread's counters, where SLUB counts every object cached on
 * a cpu as active.  Entry points: stats_*_write.
 */
#include "stats.h"
#include "cache.h"
#include "kmalloc.h"
#include "log.h"
#include "page_alloc.h"
#include "region.h"

const char *const stat_item_names[NR_SLUB_STAT_ITEMS] = {
#define X(name, str) str,
	SLUB_STAT_ITEMS(X)
#undef X
};

/* One slabinfo row's numbers, as the kernel computes them. */
struct slabinfo_row {
	unsigned long active_objs, num_objs, active_slabs, num_slabs;
	unsigned int objsize, objperslab, pagesperslab;
};

static void row_locked(struct uslub_cache *s, struct slabinfo_row *r)
{
	unsigned long slabs = READ_ONCE(s->nr_slabs);

	r->active_objs = cache_active_objects_locked(s);
	r->num_objs = slabs * s->objects;
	r->objsize = s->size;
	r->objperslab = s->objects;
	r->pagesperslab = 1u << s->order;
	r->active_slabs = slabs;
	r->num_slabs = slabs;
}

int stats_slabinfo_write(int fd)
{
	struct log_buf b;
	struct uslub_cache *s;
	struct slabinfo_row r;

	log_buf_init(&b, fd);
	log_buf_printf(&b, "slabinfo - version: 2.1\n");
	log_buf_printf(&b, "# name            <active_objs> <num_objs> <objsize> "
		       "<objperslab> <pagesperslab> : tunables <limit> "
		       "<batchcount> <sharedfactor> : slabdata <active_slabs> "
		       "<num_slabs> <sharedavail>\n");
	lock_acquire(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		row_locked(s, &r);
		log_buf_printf(&b, "%-17s %6lu %6lu %6u %4u %4d : tunables "
			       "%4u %4u %4u : slabdata %6lu %6lu %6lu\n",
			       s->name, r.active_objs, r.num_objs, r.objsize,
			       r.objperslab, (int)r.pagesperslab, 0u, 0u, 0u,
			       r.active_slabs, r.num_slabs, 0UL);
	}
	lock_release(&slab_mutex);
	return log_buf_flush(&b);
}

int stats_meminfo_write(int fd)
{
	unsigned long rcl = 0, unrcl = 0, large, huge;
	struct uslub_cache *s;
	struct log_buf b;

	lock_acquire(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		unsigned long bytes = READ_ONCE(s->nr_slabs) *
				      (PAGE_SIZE << s->order);

		if (s->flags & USLUB_RECLAIM_ACCOUNT)
			rcl += bytes;
		else
			unrcl += bytes;
	}
	lock_release(&slab_mutex);
	/* Large kmalloc is unreclaimable slab memory, as in the kernel. */
	kmalloc_large_stats(&large, &huge);
	unrcl += large + huge;
	log_buf_init(&b, fd);
	log_buf_printf(&b, "Slab:           %8lu kB\n", (rcl + unrcl) >> 10);
	log_buf_printf(&b, "SReclaimable:   %8lu kB\n", rcl >> 10);
	log_buf_printf(&b, "SUnreclaim:     %8lu kB\n", unrcl >> 10);
	return log_buf_flush(&b);
}

int stats_buddyinfo_write(int fd)
{
	unsigned int i, o, n = region_count();
	struct page_stats st;
	struct log_buf b;
	char zone[16];

	log_buf_init(&b, fd);
	for (i = 0; i < n; i++) {
		page_get_stats(&st, (int)i);
		log_format(zone, sizeof(zone), "region%u", i);
		log_buf_printf(&b, "Node 0, zone %8s ", zone);
		for (o = 0; o < NR_ORDERS; o++)
			log_buf_printf(&b, "%6lu ", st.free[o]);
		log_buf_printf(&b, "\n");
	}
	return log_buf_flush(&b);
}

int stats_counters_write(int fd)
{
	unsigned long sum[NR_SLUB_STAT_ITEMS];
	struct uslub_cache *s;
	struct log_buf b;
	unsigned int i;

	log_buf_init(&b, fd);
	lock_acquire(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		cache_stat_sum_locked(s, sum);
		for (i = 0; i < NR_SLUB_STAT_ITEMS; i++)
			if (sum[i])
				log_buf_printf(&b, "%-17s %-24s %lu\n", s->name,
					       stat_item_names[i], sum[i]);
	}
	lock_release(&slab_mutex);
	return log_buf_flush(&b);
}
