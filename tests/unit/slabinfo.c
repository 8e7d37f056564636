/*
 * Unit tests for the statistics text (lib/stats.c): /proc/slabinfo 2.1
 * (header, row format byte for byte, SLUB's columns, the yep_slab_cache
 * walk-through of the slabinfo article examples/README.md follows, creation
 * order), meminfo's Slab/SReclaimable/SUnreclaim lines, buddyinfo lines
 * per region, and the per-cache event counters.
 */
#include "test.h"

#include "page_alloc.h"
#include "region.h"
#include "uslub.h"
#include "slabinfo_row.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define HEADER1 "slabinfo - version: 2.1\n"
#define HEADER2 "# name            <active_objs> <num_objs> <objsize> " \
		"<objperslab> <pagesperslab> : tunables <limit> " \
		"<batchcount> <sharedfactor> : slabdata <active_slabs> " \
		"<num_slabs> <sharedavail>\n"
#define ROW_FMT "%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : " \
		"slabdata %6lu %6lu %6lu"

/* ---- Capturing and parsing ------------------------------------------- */

static bool is_pow2_int(int x)
{
	return x > 0 && (x & (x - 1)) == 0;
}

struct row {
	char name[64];
	unsigned long active_objs, num_objs;
	unsigned int objsize, objperslab;
	int pagesperslab;
	unsigned int limit, batchcount, sharedfactor;
	unsigned long active_slabs, num_slabs, sharedavail;
};

static bool parse_row(const char *line, struct row *r)
{
	return sscanf(line, "%63s %lu %lu %u %u %d : tunables %u %u %u : "
		      "slabdata %lu %lu %lu", r->name, &r->active_objs,
		      &r->num_objs, &r->objsize, &r->objperslab,
		      &r->pagesperslab, &r->limit, &r->batchcount,
		      &r->sharedfactor, &r->active_slabs, &r->num_slabs,
		      &r->sharedavail) == 12;
}

/* The row formatted as the kernel's get_slabinfo/slabinfo_show does. */
static void format_row(char *buf, size_t size, const struct row *r)
{
	snprintf(buf, size, ROW_FMT, r->name, r->active_objs, r->num_objs,
		 r->objsize, r->objperslab, r->pagesperslab, r->limit,
		 r->batchcount, r->sharedfactor, r->active_slabs, r->num_slabs,
		 r->sharedavail);
}

/* Copies the line of text starting at line (without '\n') into buf. */
static void copy_line(char *buf, size_t size, const char *line)
{
	size_t n = strcspn(line, "\n");

	if (n >= size)
		n = size - 1;
	memcpy(buf, line, n);
	buf[n] = '\0';
}

/* The slabinfo line of cache name, copied to buf; false if absent. */
static bool slabinfo_line(const char *name, char *buf, size_t size)
{
	char *text = stats_text(uslub_slabinfo_write);
	const char *line;
	size_t n = strlen(name);
	bool found = false;

	for (line = text; line && *line;
	     line = strchr(line, '\n'), line += !!line)
		if (strncmp(line, name, n) == 0 && line[n] == ' ') {
			copy_line(buf, size, line);
			found = true;
			break;
		}
	free(text);
	return found;
}

/* The row a cache must show, formatted with the kernel's format. */
static void expected_row(char *buf, size_t size, const char *name,
			 unsigned long active, unsigned long objs,
			 unsigned int objsize, unsigned int perslab,
			 int pages, unsigned long slabs)
{
	struct row r = {
		.active_objs = active, .num_objs = objs, .objsize = objsize,
		.objperslab = perslab, .pagesperslab = pages,
		.active_slabs = slabs, .num_slabs = slabs,
	};

	snprintf(r.name, sizeof(r.name), "%s", name);
	format_row(buf, size, &r);
}

/* ---- slabinfo -------------------------------------------------------- */

TEST_BEGIN(test_slabinfo_header)
{
	char *text = stats_text(uslub_slabinfo_write);

	assert_ptr_not_null(text, "slabinfo written");
	expect_true(strncmp(text, HEADER1 HEADER2, strlen(HEADER1 HEADER2)) ==
			0,
		    "the kernel's two header lines, exactly");
	expect_true(
	    strncmp(text + strlen(HEADER1 HEADER2), "kmem_cache ", 11) == 0,
	    "the first row follows the header directly");
	free(text);
}
TEST_END

TEST_BEGIN(test_slabinfo_rows_kernel_format)
{
	struct uslub_cache *s = uslub_cache_create("fmt_check", 72, 0, 0, NULL);
	void *obj = uslub_cache_alloc(s, 0);
	void *km = uslub_kmalloc(100, 0);
	char *text = stats_text(uslub_slabinfo_write), line[256], again[256];
	const char *p;
	unsigned int rows = 0, bad = 0;

	assert_ptr_not_null(text, "slabinfo written");
	p = text + strlen(HEADER1 HEADER2);
	expect_true(text[strlen(text) - 1] == '\n', "ends with a newline");
	for (; *p; p = strchr(p, '\n') + 1) {
		struct row r;

		copy_line(line, sizeof(line), p);
		rows++;
		if (!parse_row(line, &r)) {
			expect_true(false, "row does not parse: \"%s\"", line);
			bad++;
			continue;
		}
		format_row(again, sizeof(again), &r);
		if (strcmp(line, again) != 0 && bad++ < 5)
			expect_str_eq(line, again, "row re-formatted differs");
		expect_u_eq(r.limit + r.batchcount + r.sharedfactor, 0,
			    "%s: SLUB's tunables are 0", r.name);
		expect_u_eq(r.sharedavail, 0, "%s: sharedavail 0", r.name);
		expect_u_eq(r.active_slabs, r.num_slabs, "%s: active_slabs",
			    r.name);
		expect_u_eq(r.num_objs, r.num_slabs * r.objperslab,
			    "%s: num_objs = slabs * objperslab", r.name);
		expect_u_le(r.active_objs, r.num_objs, "%s: active <= num",
			    r.name);
		expect_true(r.pagesperslab > 0 && is_pow2_int(r.pagesperslab),
			    "%s: pagesperslab a power of two", r.name);
		expect_u_le((unsigned long)r.objsize * r.objperslab,
			    (unsigned long)r.pagesperslab * 4096,
			    "%s: objects fit the slab", r.name);
	}
	expect_u_ge(rows, 35, "kmem_cache, 33 kmalloc caches and ours");
	expect_u_eq(bad, 0, "rows not in the kernel's format");
	uslub_cache_free(s, obj);
	uslub_kfree(km);
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
	free(text);
}
TEST_END

static void check_yep_row(unsigned long active, unsigned long objs,
			  unsigned long slabs, const char *when)
{
	char got[256], want[256];

	expect_true(slabinfo_line("yep_slab_cache", got, sizeof(got)),
		    "yep_slab_cache listed %s", when);
	expected_row(want, sizeof(want), "yep_slab_cache", active, objs, 4096,
		     8, 8, slabs);
	expect_str_eq(got, want, "row %s", when);
}

TEST_BEGIN(test_slabinfo_article_scenario)
{
	struct uslub_cache *s = uslub_cache_create("yep_slab_cache", 4096, 0,
						   USLUB_HWCACHE_ALIGN, NULL);
	void *objs[9];
	unsigned int i;
	char got[256];

	assert_ptr_not_null(s, "yep_slab_cache");
	/* 4096-byte objects, no debug metadata: 8 per order-3 slab (the
	 * article's kernel showed 7 of 4544 bytes with slub_debug on). */
	check_yep_row(0, 0, 0, "before any allocation");
	objs[0] = uslub_cache_alloc(s, 0);
	check_yep_row(1, 8, 1, "after 1 alloc");
	for (i = 1; i < 7; i++)
		objs[i] = uslub_cache_alloc(s, 0);
	check_yep_row(7, 8, 1, "after 6 more");
	objs[7] = uslub_cache_alloc(s, 0);
	check_yep_row(8, 8, 1, "after 8: the slab is exactly full");
	objs[8] = uslub_cache_alloc(s, 0);
	check_yep_row(9, 16, 2, "after 9: a second slab");
	for (i = 0; i < 9; i++) {
		assert_ptr_not_null(objs[i], "object %u", i);
		expect_zu_eq((uintptr_t)objs[i] % 64, 0, "HWCACHE_ALIGN");
	}
	for (i = 0; i < 9; i++)
		uslub_cache_free(s, objs[i]);
	check_yep_row(0, 16, 2, "after freeing all (slabs cached)");
	expect_d_eq(uslub_cache_shrink(s), 0, "shrink frees both slabs");
	check_yep_row(0, 0, 0, "after shrink");
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
	expect_false(slabinfo_line("yep_slab_cache", got, sizeof(got)),
		     "a destroyed cache is not listed");
}
TEST_END

/* Position of " name " at a line start in text, or -1. */
static long row_pos(const char *text, const char *name)
{
	size_t n = strlen(name);
	const char *line;

	for (line = text; line && *line;
	     line = strchr(line, '\n'), line += !!line)
		if (strncmp(line, name, n) == 0 && line[n] == ' ')
			return line - text;
	return -1;
}

TEST_BEGIN(test_slabinfo_creation_order)
{
	static const char *const kmalloc_names[] = {
		"kmalloc-8", "kmalloc-16", "kmalloc-32", "kmalloc-64",
		"kmalloc-96", "kmalloc-128", "kmalloc-192", "kmalloc-256",
		"kmalloc-512", "kmalloc-1k", "kmalloc-2k", "kmalloc-4k",
		"kmalloc-8k",
	};
	struct uslub_cache *c[3];
	char *text;
	long pos[3], prev;
	unsigned int i;

	c[0] = uslub_cache_create("order_zeta", 32, 0, 0, NULL);
	c[1] = uslub_cache_create("order_alpha", 32, 0, 0, NULL);
	c[2] = uslub_cache_create("order_mid", 32, 0, 0, NULL);
	text = stats_text(uslub_slabinfo_write);
	assert_ptr_not_null(text, "slabinfo");
	pos[0] = row_pos(text, "order_zeta");
	pos[1] = row_pos(text, "order_alpha");
	pos[2] = row_pos(text, "order_mid");
	expect_true(pos[0] >= 0 && pos[0] < pos[1] && pos[1] < pos[2],
		    "caches listed in creation order, not by name");
	prev = row_pos(text, "kmem_cache");
	expect_true(prev >= 0, "kmem_cache listed");
	for (i = 0; i < ARRAY_SIZE(kmalloc_names); i++) {
		long p = row_pos(text, kmalloc_names[i]);

		expect_true(p > prev, "%s after the caches made before it",
			    kmalloc_names[i]);
		prev = p;
	}
	expect_true(pos[0] > prev, "user caches after the boot caches");
	free(text);
	expect_d_eq(uslub_cache_destroy(c[1]), 0, "destroy the middle one");
	text = stats_text(uslub_slabinfo_write);
	assert_ptr_not_null(text, "slabinfo");
	expect_true(row_pos(text, "order_alpha") < 0, "destroyed one gone");
	expect_true(row_pos(text, "order_zeta") < row_pos(text, "order_mid"),
		    "the others keep their order");
	free(text);
	expect_d_eq(uslub_cache_destroy(c[0]), 0, "destroy");
	expect_d_eq(uslub_cache_destroy(c[2]), 0, "destroy");
}
TEST_END

/* active_objs of a cache from its slabinfo row, or -1. */
static long active_of(const char *name)
{
	char line[256];
	struct row r;

	if (!slabinfo_line(name, line, sizeof(line)) || !parse_row(line, &r))
		return -1;
	return (long)r.active_objs;
}

#define NXT	50

struct xt {
	struct uslub_cache *s;
	void *p[NXT];
	unsigned int n;
	bool do_free;
};

static void *xt_thread(void *arg)
{
	struct xt *x = arg;
	unsigned int i;

	for (i = 0; i < x->n; i++) {
		if (x->do_free)
			uslub_cache_free(x->s, x->p[i]);
		else
			x->p[i] = uslub_cache_alloc(x->s, 0);
	}
	return NULL;
}

static void run_xt(struct xt *x)
{
	pthread_t t;

	if (pthread_create(&t, NULL, xt_thread, x) == 0)
		pthread_join(t, NULL);
}

/* active_objs stays exact when objects cross threads and threads exit. */
TEST_BEGIN(test_slabinfo_active_cross_thread)
{
	struct uslub_cache *s = uslub_cache_create("xthread_cache", 128, 0, 0,
						   NULL);
	struct xt mine = { .s = s, .n = NXT }, theirs = { .s = s, .n = 30 };
	unsigned int i;

	assert_ptr_not_null(s, "cache");
	for (i = 0; i < NXT; i++)
		mine.p[i] = uslub_cache_alloc(s, 0);
	expect_d_eq(active_of("xthread_cache"), NXT, "allocated here");
	mine.do_free = true;
	run_xt(&mine);
	expect_d_eq(active_of("xthread_cache"), 0, "freed by an exited thread");
	run_xt(&theirs);
	expect_d_eq(active_of("xthread_cache"), 30,
		    "allocated by an exited thread, still live");
	for (i = 0; i < 30; i++)
		uslub_cache_free(s, theirs.p[i]);
	expect_d_eq(active_of("xthread_cache"), 0, "freed here");
	expect_d_eq(uslub_cache_shrink(s), 0, "shrink");
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

/* ---- meminfo --------------------------------------------------------- */

struct meminfo {
	unsigned long slab, reclaimable, unreclaim;
};

static bool read_meminfo(struct meminfo *m)
{
	char *text = stats_text(uslub_meminfo_write), want[256];
	bool ok;

	if (!text)
		return false;
	ok = sscanf(text,
		    "Slab: %lu kB\nSReclaimable: %lu kB\nSUnreclaim: %lu kB\n",
		    &m->slab, &m->reclaimable, &m->unreclaim) == 3;
	snprintf(want, sizeof(want),
		 "Slab:           %8lu kB\nSReclaimable:   %8lu kB\n"
		 "SUnreclaim:     %8lu kB\n", m->slab, m->reclaimable,
		 m->unreclaim);
	expect_str_eq(text, want, "exactly three lines, /proc/meminfo layout");
	free(text);
	return ok;
}

TEST_BEGIN(test_meminfo_reclaimable)
{
	struct uslub_cache *s;
	struct meminfo m0, m1, m2, m3;
	unsigned long slab_kb;
	unsigned int i, n;
	void **objs;

	assert_true(read_meminfo(&m0), "meminfo parses");
	expect_u_eq(m0.slab, m0.reclaimable + m0.unreclaim, "Slab = SR + SU");
	expect_u_eq(m0.reclaimable, 0, "nothing reclaimable yet");
	s = uslub_cache_create("reclaim_me", 1000, 0, USLUB_RECLAIM_ACCOUNT,
			       NULL);
	assert_ptr_not_null(s, "reclaimable cache");
	n = s->objects;
	slab_kb = (4096UL << s->order) >> 10;
	objs = calloc(n + 1, sizeof(*objs));
	objs[0] = uslub_cache_alloc(s, 0);
	assert_true(read_meminfo(&m1), "meminfo parses");
	expect_u_eq(m1.reclaimable - m0.reclaimable, slab_kb,
		    "one slab of a RECLAIM_ACCOUNT cache is SReclaimable");
	expect_u_eq(m1.slab, m1.reclaimable + m1.unreclaim, "Slab = SR + SU");
	for (i = 1; i <= n; i++)
		objs[i] = uslub_cache_alloc(s, 0);
	assert_true(read_meminfo(&m2), "meminfo parses");
	expect_u_eq(m2.reclaimable - m0.reclaimable, 2 * slab_kb,
		    "a second slab adds exactly its bytes");
	for (i = 0; i <= n; i++)
		uslub_cache_free(s, objs[i]);
	expect_d_eq(uslub_cache_shrink(s), 0, "shrink");
	assert_true(read_meminfo(&m3), "meminfo parses");
	expect_u_eq(m3.reclaimable, m0.reclaimable, "shrink gave it all back");
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
	free(objs);
}
TEST_END

TEST_BEGIN(test_meminfo_unreclaimable)
{
	struct uslub_cache *s = uslub_cache_create("unreclaim_me", 4096, 0, 0,
						   NULL);
	struct meminfo m0, m1;
	void *obj, *large;

	assert_ptr_not_null(s, "cache");
	uslub_cache_free(s, uslub_cache_alloc(s, 0));	/* cpu slot */
	uslub_cache_shrink(s);
	assert_true(read_meminfo(&m0), "meminfo parses");
	obj = uslub_cache_alloc(s, 0);
	assert_true(read_meminfo(&m1), "meminfo parses");
	expect_u_eq(m1.unreclaim - m0.unreclaim, (4096UL << s->order) >> 10,
		    "one order-%u slab of an ordinary cache is SUnreclaim",
		    s->order);
	expect_u_eq(m1.reclaimable, m0.reclaimable, "not reclaimable");
	large = uslub_kmalloc(64 << 10, 0);
	assert_true(read_meminfo(&m0), "meminfo parses");
	expect_u_eq(
	    m0.unreclaim - m1.unreclaim, 64,
	    "a 64 KiB large kmalloc counts as SUnreclaim, as in the kernel");
	uslub_kfree(large);
	uslub_cache_free(s, obj);
	expect_d_eq(uslub_cache_shrink(s), 0, "shrink");
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

/* ---- buddyinfo ------------------------------------------------------- */

static unsigned int check_buddyinfo(void)
{
	char *text = stats_text(uslub_buddyinfo_write), line[512], want[512];
	unsigned int n = 0, o;
	const char *p;

	if (!text)
		return 0;
	for (p = text; *p; p = strchr(p, '\n') + 1, n++) {
		struct page_stats st;
		char zone[32];
		int len;

		copy_line(line, sizeof(line), p);
		page_get_stats(&st, (int)n);
		snprintf(zone, sizeof(zone), "region%u", n);
		len = snprintf(want, sizeof(want), "Node 0, zone %8s ", zone);
		for (o = 0; o < NR_ORDERS; o++)
			len += snprintf(want + len, sizeof(want) - (size_t)len,
					"%6lu ", st.free[o]);
		expect_str_eq(line, want, "buddyinfo line %u: 11 counts", n);
	}
	free(text);
	return n;
}

TEST_BEGIN(test_buddyinfo_one_line_per_region)
{
	static struct slab *blocks[1024];
	unsigned int i, n = 0;

	uslub_kfree(uslub_kmalloc(8, 0));	/* at least one region */
	expect_u_eq(check_buddyinfo(), region_count(), "one line per region");
	expect_u_ge(region_count(), 1, "a region exists");
	/* Take whole 4 MiB blocks (untouched: no RSS) until a second region
	 * appears, then check again. */
	while (region_count() < 2 && n < ARRAY_SIZE(blocks))
		blocks[n++] = page_alloc(NULL, MAX_ORDER);
	expect_u_ge(region_count(), 2, "a second region");
	expect_u_eq(check_buddyinfo(), region_count(), "one line per region");
	for (i = 0; i < n; i++)
		if (blocks[i])
			page_free(NULL, blocks[i], MAX_ORDER);
	expect_u_eq(check_buddyinfo(), region_count(), "after freeing");
}
TEST_END

/* ---- event counters -------------------------------------------------- */

static void expect_counter_line(const char *text, const char *cache,
				const char *counter, unsigned long value)
{
	char want[256];

	snprintf(want, sizeof(want), "%-17s %-24s %lu\n", cache, counter,
		 value);
	expect_str_contains(text, want, "counter line for %s %s", cache,
			    counter);
}

TEST_BEGIN(test_stats_counters)
{
	struct uslub_cache *s =
	    uslub_cache_create("stats_cache", 64, 0, 0, NULL);
	void *p[3];
	char *text, absent[128];
	unsigned int i;

	assert_ptr_not_null(s, "cache");
	for (i = 0; i < 3; i++)
		p[i] = uslub_cache_alloc(s, 0);
	for (i = 0; i < 3; i++)
		uslub_cache_free(s, p[i]);
	text = stats_text(uslub_stats_write);
	assert_ptr_not_null(text, "stats written");
	/* The first allocation refills the main sheaf (123 objects) from
	 * a new slab: all its 64 objects; the frees go back onto it. */
	expect_counter_line(text, "stats_cache", "alloc_cpu_sheaf", 2);
	expect_counter_line(text, "stats_cache", "alloc_slowpath", 1);
	expect_counter_line(text, "stats_cache", "alloc_slab", 1);
	expect_counter_line(text, "stats_cache", "sheaf_refill", 64);
	expect_counter_line(text, "stats_cache", "barn_get_fail", 1);
	expect_counter_line(text, "stats_cache", "free_cpu_sheaf", 3);
	snprintf(absent, sizeof(absent), "%-17s %-24s", "stats_cache",
		 "free_slowpath");
	expect_true(strstr(text, absent) == NULL,
		    "zero counters are not listed");
	expect_str_contains(text, "kmalloc-", "kmalloc caches report too");
	free(text);
	expect_d_eq(uslub_cache_shrink(s), 0, "shrink");
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

int main(void)
{
	return test(test_slabinfo_header, test_slabinfo_rows_kernel_format,
		    test_slabinfo_article_scenario, test_slabinfo_creation_order,
		    test_slabinfo_active_cross_thread,
		    test_meminfo_reclaimable, test_meminfo_unreclaimable,
		    test_buddyinfo_one_line_per_region, test_stats_counters,
		    NULL);
}
