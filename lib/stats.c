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
#include "options.h"
#include "os.h"
#include "page_alloc.h"
#include "pages.h"
#include "region.h"
#include "sheaf.h"
#include "stats_json.h"

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

/* slabinfo; with hide_empty, caches without objects or slabs are left
 * out and counted in *hidden. */
static int slabinfo_write(int fd, bool hide_empty, unsigned int *hidden)
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
	*hidden = 0;
	lock_acquire(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		row_locked(s, &r);
		if (hide_empty && !r.active_objs && !r.num_slabs) {
			(*hidden)++;
			continue;
		}
		log_buf_printf(&b, "%-17s %6lu %6lu %6u %4u %4d : tunables "
			       "%4u %4u %4u : slabdata %6lu %6lu %6lu\n",
			       s->name, r.active_objs, r.num_objs, r.objsize,
			       r.objperslab, (int)r.pagesperslab, 0u, 0u, 0u,
			       r.active_slabs, r.num_slabs, 0UL);
	}
	lock_release(&slab_mutex);
	return log_buf_flush(&b);
}

int stats_slabinfo_write(int fd)
{
	unsigned int hidden;

	return slabinfo_write(fd, false, &hidden);
}

int stats_meminfo_write(int fd)
{
	unsigned long rcl = 0, unrcl = 0, large, huge, nr_huge;
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
	kmalloc_large_stats(&large, &huge, &nr_huge);
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

static void counter_line(struct log_buf *b, const char *cache,
			 const char *name, unsigned long v)
{
	if (v)
		log_buf_printf(b, "%-17s %-24s %lu\n", cache, name, v);
}

/* Where a cache's free objects wait besides its slabs: the threads'
 * sheaves (main, spare and shelf) and the barn's. */
static void occupancy_lines_locked(struct log_buf *b, struct uslub_cache *s)
{
	struct sheaf_occupancy o;

	if (!s->sheaf_capacity)
		return;
	cache_sheaf_occupancy_locked(s, &o);
	counter_line(b, s->name, "sheaf_capacity", s->sheaf_capacity);
	counter_line(b, s->name, "sheaf_max", s->sheaf_max);
	counter_line(b, s->name, "sheaf_threads", o.slots);
	counter_line(b, s->name, "sheaf_objects", o.cpu_objects);
	counter_line(b, s->name, "barn_full_sheaves", o.barn_full);
	counter_line(b, s->name, "barn_empty_sheaves", o.barn_empty);
	counter_line(b, s->name, "barn_objects", o.barn_objects);
}

int stats_counters_write(int fd)
{
	unsigned long sum[NR_SLUB_STAT_ITEMS], pool_bytes, pool_used;
	struct uslub_cache *s;
	struct log_buf b;
	unsigned int i;

	log_buf_init(&b, fd);
	lock_acquire(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		cache_stat_sum_locked(s, sum);
		for (i = 0; i < NR_SLUB_STAT_ITEMS; i++)
			counter_line(&b, s->name, stat_item_names[i], sum[i]);
		occupancy_lines_locked(&b, s);
	}
	lock_release(&slab_mutex);
	sheaf_pool_stats(&pool_bytes, &pool_used);
	counter_line(&b, "sheaf_pool", "bytes", pool_bytes);
	counter_line(&b, "sheaf_pool", "sheaves_in_use", pool_used);
	return log_buf_flush(&b);
}

/* ---- Heap totals: mallinfo2, malloc_stats, the exit report ----------- */

void stats_heap_get(struct uslub_heap_stats *h)
{
	unsigned long large, huge, huge_count, slab = 0, used = 0;
	struct page_stats st;
	struct uslub_cache *s;
	unsigned int o;

	lock_acquire(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		slab += READ_ONCE(s->nr_slabs) * (PAGE_SIZE << s->order);
		used += cache_active_objects_locked(s) * s->size;
	}
	lock_release(&slab_mutex);
	kmalloc_large_stats(&large, &huge, &huge_count);
	page_get_stats(&st, -1);

	h->slab_bytes = slab;
	h->slab_free = slab > used ? slab - used : 0;
	h->large_bytes = large;
	h->huge_bytes = huge;
	h->huge_count = huge_count;
	h->allocated = used + large + huge + pages_bytes();
	h->page_free = st.dirty_pages * PAGE_SIZE;
	h->released = st.purged_bytes;
	h->free_blocks = 0;
	for (o = 0; o < NR_ORDERS; o++)
		h->free_blocks += st.free[o];
	/* Touched pages: handed out, or free but not yet given back; their
	 * descriptors (64 bytes a page) are touched too. */
	h->mapped = (st.used_pages + st.dirty_pages) *
		    (PAGE_SIZE + sizeof(struct slab)) + huge;
	h->resident = os_rss_bytes();
}

int stats_malloc_stats_write(int fd)
{
	struct uslub_heap_stats h;
	struct log_buf b;

	stats_heap_get(&h);
	log_buf_init(&b, fd);
	/* glibc's layout, one arena: tools parse these lines. */
	log_buf_printf(&b, "Arena 0:\n");
	log_buf_printf(&b, "system bytes     = %10zu\n", h.mapped - h.huge_bytes);
	log_buf_printf(&b, "in use bytes     = %10zu\n",
		       h.allocated - h.huge_bytes);
	log_buf_printf(&b, "Total (incl. mmap):\n");
	log_buf_printf(&b, "system bytes     = %10zu\n", h.mapped);
	log_buf_printf(&b, "in use bytes     = %10zu\n", h.allocated);
	log_buf_printf(&b, "max mmap regions = %10zu\n", h.huge_count);
	log_buf_printf(&b, "max mmap bytes   = %10zu\n", h.huge_bytes);
	stats_summary_line(&b, &h);
	return log_buf_flush(&b);
}

static void summary_fields(struct log_buf *b, const struct uslub_heap_stats *h)
{
	log_buf_printf(b, "uslub: summary: in use %zu kB, slabs %zu kB "
		       "(%zu kB free), large %zu kB, huge %zu kB in %zu "
		       "mappings, free pages %zu kB, released %zu kB, "
		       "rss %zu kB, peak rss %zu kB",
		       h->allocated >> 10, h->slab_bytes >> 10,
		       h->slab_free >> 10, h->large_bytes >> 10,
		       h->huge_bytes >> 10, h->huge_count, h->page_free >> 10,
		       h->released >> 10, h->resident >> 10,
		       os_peak_rss_bytes() >> 10);
}

void stats_summary_line(struct log_buf *b, const struct uslub_heap_stats *h)
{
	summary_fields(b, h);
	log_buf_printf(b, "\n");
}

/* stats_file with "%p" replaced by the pid. */
static void stats_file_path(char *buf, size_t size)
{
	const char *f = uslub_opt.stats_file;
	size_t n = 0;

	for (; *f && n + 1 < size; f++) {
		if (f[0] == '%' && f[1] == 'p') {
			n += log_format(buf + n, size - n, "%d", os_getpid());
			n = MIN(n, size - 1);
			f++;
			continue;
		}
		buf[n++] = *f;
	}
	buf[n] = '\0';
}

/*
 * Where the exit report goes when no stats_file is set: a close-on-exec
 * duplicate of the stderr the program had when uslub started, so that
 * the report still reaches it after the program closed fd 2 (coreutils
 * do before they exit).  The file's identity is kept too: a program that
 * closed the duplicate as well (a daemon closing every descriptor) gets
 * no report rather than one written into whatever file took the number.
 * report_pid: with USLUB_STATS_PID (set by uslub-run --stats) only that
 * process reports, not the shells and children that inherited the
 * options.  Written at init, read at exit.
 */
static int report_fd = -1;
static uint64_t report_dev, report_ino;
static int report_pid;

void stats_setup(void)
{
	const char *pid = os_getenv("USLUB_STATS_PID");
	uint64_t dev, ino;
	int fd;

	if (!uslub_opt.stats)
		return;
	report_pid = 0;
	for (; pid && *pid >= '0' && *pid <= '9' && report_pid < 100000000;
	     pid++)
		report_pid = report_pid * 10 + (*pid - '0');
	if (uslub_opt.stats_file[0] || report_fd >= 0)
		return;
	fd = os_dup_high(2);
	if (fd < 0)
		return;			/* no stderr at start: no report */
	if (os_fd_identity(fd, &dev, &ino)) {
		os_close(fd);
		return;
	}
	report_dev = dev;
	report_ino = ino;
	report_fd = fd;
}

static bool is_report_file(int fd)
{
	uint64_t dev, ino;

	return fd >= 0 && !os_fd_identity(fd, &dev, &ino) &&
	       dev == report_dev && ino == report_ino;
}

/* The descriptor the report goes to, -1 for none, *opened if it must be
 * closed after. */
static int report_open(bool *opened)
{
	char path[sizeof(uslub_opt.stats_file) + 16];
	int fd;

	*opened = false;
	if (!uslub_opt.stats_file[0]) {
		if (is_report_file(report_fd))
			return report_fd;
		return is_report_file(2) ? 2 : -1;
	}
	stats_file_path(path, sizeof(path));
	fd = os_open_append(path);
	if (fd < 0) {
		log_error("stats_file %s: cannot open: %s", path,
			  os_strerror(-fd));
		return -1;
	}
	*opened = true;
	return fd;
}

void stats_exit_report(void)
{
	struct uslub_heap_stats h;
	unsigned int hidden;
	char comm[32];
	struct log_buf b;
	bool opened;
	int fd;

	if (report_pid && report_pid != os_getpid())
		return;
	fd = report_open(&opened);
	if (fd < 0)
		return;
	if (uslub_opt.stats_json) {	/* the same places, as one document */
		stats_json_write(fd);
		goto out;
	}
	os_program_name(comm, sizeof(comm));
	log_buf_init(&b, fd);
	log_buf_printf(&b, "uslub: statistics at exit of pid %d (%s)\n",
		       os_getpid(), comm);
	log_buf_flush(&b);
	slabinfo_write(fd, !uslub_opt.stats_all, &hidden);
	stats_meminfo_write(fd);
	stats_heap_get(&h);
	log_buf_init(&b, fd);
	summary_fields(&b, &h);
	if (hidden)
		log_buf_printf(&b, ", %u empty caches hidden (stats=all "
			       "shows them)", hidden);
	log_buf_printf(&b, "\n");
	log_buf_flush(&b);
out:
	if (opened)
		os_close(fd);
}
