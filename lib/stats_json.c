/*
 * stats_json.c - L5: the statistics of stats.c as one JSON document,
 * schema version STATS_JSON_VERSION (doc/stats-json.md): every slabinfo
 * column of every cache, its sheaf and barn occupancy and SLUB event
 * counters, the meminfo totals and the heap summary.  Read under the
 * locks the text writers take; written through a log_buf, so nothing
 * allocates.  Entry point: stats_json_write.
 */
#include <string.h>

#include "stats_json.h"
#include "cache.h"
#include "debug.h"
#include "kmalloc.h"
#include "log.h"
#include "options.h"
#include "os.h"
#include "sheaf.h"
#include "stats.h"

/* A JSON string: quotes, backslashes and every byte outside printable
 * ASCII escaped as \u00XX, so any name gives valid JSON. */
static void json_string(struct log_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	log_buf_printf(b, "\"");
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			log_buf_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			log_buf_printf(b, "\\u%04x", *p);
		else
			log_buf_printf(b, "%c", *p);
	}
	log_buf_printf(b, "\"");
}

static void sheaf_object_locked(struct log_buf *b, struct uslub_cache *s)
{
	struct sheaf_occupancy o;

	if (!s->sheaf_capacity) {
		log_buf_printf(b, "null");
		return;
	}
	cache_sheaf_occupancy_locked(s, &o);
	log_buf_printf(b, "{\"capacity\": %u, \"max_capacity\": %u, "
		       "\"threads\": %lu, "
		       "\"objects\": %lu, \"barn_full_sheaves\": %u, "
		       "\"barn_empty_sheaves\": %u, \"barn_objects\": %lu}",
		       s->sheaf_capacity, s->sheaf_max, o.slots, o.cpu_objects,
		       o.barn_full, o.barn_empty, o.barn_objects);
}

static void events_object_locked(struct log_buf *b, struct uslub_cache *s)
{
	unsigned long sum[NR_SLUB_STAT_ITEMS];
	unsigned int i;

	cache_stat_sum_locked(s, sum);
	log_buf_printf(b, "{");
	for (i = 0; i < NR_SLUB_STAT_ITEMS; i++)
		log_buf_printf(b, "%s\"%s\": %lu", i ? ", " : "",
			       stat_item_names[i], sum[i]);
	log_buf_printf(b, "}");
}

/* One cache: slabinfo's columns as stats_slabinfo_write computes them,
 * then what only uslub has. */
static void cache_object_locked(struct log_buf *b, struct uslub_cache *s)
{
	unsigned long slabs = READ_ONCE(s->nr_slabs);

	log_buf_printf(b, "    {\"name\": ");
	json_string(b, s->name);
	log_buf_printf(b, ", \"active_objs\": %lu, \"num_objs\": %lu, "
		       "\"objsize\": %u, \"objperslab\": %u, "
		       "\"pagesperslab\": %u, \"active_slabs\": %lu, "
		       "\"num_slabs\": %lu,\n     \"object_size\": %u, "
		       "\"align\": %u, \"reclaimable\": %s, \"debug\": %s,\n"
		       "     \"sheaf\": ",
		       cache_active_objects_locked(s), slabs * s->objects,
		       s->size, s->objects, 1u << s->order, slabs, slabs,
		       s->object_size, s->align,
		       s->flags & USLUB_RECLAIM_ACCOUNT ? "true" : "false",
		       cache_debug(s) ? "true" : "false");
	sheaf_object_locked(b, s);
	log_buf_printf(b, ",\n     \"events\": ");
	events_object_locked(b, s);
	log_buf_printf(b, "}");
}

/* "caches", and the slab bytes of meminfo's SReclaimable / SUnreclaim. */
static void caches_array(struct log_buf *b, unsigned long *rcl,
			 unsigned long *unrcl)
{
	struct uslub_cache *s;
	bool first = true;

	*rcl = *unrcl = 0;
	log_buf_printf(b, "  \"caches\": [\n");
	lock_acquire(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		unsigned long bytes = READ_ONCE(s->nr_slabs) *
				      (PAGE_SIZE << s->order);

		*(s->flags & USLUB_RECLAIM_ACCOUNT ? rcl : unrcl) += bytes;
		log_buf_printf(b, "%s", first ? "" : ",\n");
		cache_object_locked(b, s);
		first = false;
	}
	lock_release(&slab_mutex);
	log_buf_printf(b, "\n  ],\n");
}

static void heap_object(struct log_buf *b)
{
	struct uslub_heap_stats h;

	stats_heap_get(&h);
	log_buf_printf(b, "  \"heap\": {\"allocated\": %zu, \"slab_bytes\": %zu, "
		       "\"slab_free\": %zu, \"large_bytes\": %zu, "
		       "\"huge_bytes\": %zu, \"huge_count\": %zu,\n"
		       "           \"page_free\": %zu, \"released\": %zu, "
		       "\"free_blocks\": %zu, \"mapped\": %zu, "
		       "\"resident\": %zu, \"peak_resident\": %zu}\n",
		       h.allocated, h.slab_bytes, h.slab_free, h.large_bytes,
		       h.huge_bytes, h.huge_count, h.page_free, h.released,
		       h.free_blocks, h.mapped, h.resident, os_peak_rss_bytes());
}

int stats_json_write(int fd)
{
	unsigned long rcl, unrcl, large, huge, nr_huge, pool_bytes, pool_used;
	struct log_buf b;
	char comm[32];

	os_program_name(comm, sizeof(comm));
	log_buf_init(&b, fd);
	log_buf_printf(&b, "{\n  \"uslub_stats_version\": %d,\n  \"pid\": %d,\n"
		       "  \"program\": ", STATS_JSON_VERSION, os_getpid());
	json_string(&b, comm);
	log_buf_printf(&b, ",\n  \"page_size\": %lu,\n", (unsigned long)PAGE_SIZE);
	caches_array(&b, &rcl, &unrcl);
	sheaf_pool_stats(&pool_bytes, &pool_used);
	log_buf_printf(&b, "  \"sheaf_pool\": {\"bytes\": %lu, "
		       "\"sheaves_in_use\": %lu},\n", pool_bytes, pool_used);
	/* As stats_meminfo_write: large kmalloc is unreclaimable slab. */
	kmalloc_large_stats(&large, &huge, &nr_huge);
	unrcl += large + huge;
	log_buf_printf(&b, "  \"meminfo\": {\"slab_kb\": %lu, "
		       "\"sreclaimable_kb\": %lu, \"sunreclaim_kb\": %lu},\n",
		       (rcl + unrcl) >> 10, rcl >> 10, unrcl >> 10);
	heap_object(&b);
	log_buf_printf(&b, "}\n");
	return log_buf_flush(&b);
}
