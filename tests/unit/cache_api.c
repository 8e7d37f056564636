/*
 * Unit tests for the object-cache API (include/uslub.h, lib/api.c,
 * lib/cache.c): argument checking, constructors (once per object, at slab
 * creation), zalloc, the bulk calls, destroy with live objects (-EBUSY and
 * the report), invalid frees (reported, then abort), and a create/destroy
 * loop that must not leak caches or memory.
 */
#include "test.h"

#include "options.h"
#include "os.h"
#include "pagemap.h"
#include "slab.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB	(1UL << 20)

/* Active objects of cache name in slabinfo, or -1. */
static long slabinfo_active(const char *name)
{
	FILE *f = tmpfile();
	char line[512];
	long active = -1;
	size_t n = strlen(name);

	if (!f)
		return -1;
	uslub_slabinfo_write(fileno(f));
	rewind(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, name, n) == 0 && line[n] == ' ')
			sscanf(line + n, "%ld", &active);
	fclose(f);
	return active;
}

static unsigned int slabinfo_rows(void)
{
	FILE *f = tmpfile();
	char line[512];
	unsigned int rows = 0;

	if (!f)
		return 0;
	uslub_slabinfo_write(fileno(f));
	rewind(f);
	while (fgets(line, sizeof(line), f))
		rows++;
	fclose(f);
	return rows;
}

/* ---- Creation -------------------------------------------------------- */

static void expect_create_fails(const char *name, size_t size, size_t align,
				unsigned long flags, const char *why)
{
	struct test_capture cap;
	char err[1024];
	struct uslub_cache *s;

	errno = 0;
	test_capture_begin(&cap);
	s = uslub_cache_create(name, size, align, flags, NULL);
	test_capture_end(&cap, err, sizeof(err));
	expect_ptr_null(s, "create fails: %s", why);
	expect_d_eq(errno, EINVAL, "errno EINVAL: %s", why);
	expect_str_contains(err, "invalid arguments", "reported: %s", why);
}

TEST_BEGIN(test_create_bad_arguments)
{
	expect_create_fails(NULL, 64, 0, 0, "NULL name");
	expect_create_fails("", 64, 0, 0, "empty name");
	expect_create_fails("bad_size", 0, 0, 0, "size 0");
	expect_create_fails("bad_align", 64, 3, 0, "align 3");
	expect_create_fails("bad_align", 64, 24, 0, "align 24");
	expect_create_fails("bad_align", 64, 2 * 4096, 0, "align above a page");
	expect_create_fails("bad_flags", 64, 0, 1UL << 40, "unknown flag");
	expect_create_fails("bad_flags", 64, 0, 0x1, "unknown low flag");
	expect_create_fails("too_big", 64UL << 20, 0, 0, "64 MiB objects");
	expect_create_fails("too_big", SIZE_MAX, 0, 0, "SIZE_MAX");
}
TEST_END

TEST_BEGIN(test_create_good_arguments)
{
	static const struct {
		size_t size, align;
		unsigned long flags;
	} ok[] = {
	    {1, 0, 0},
	    {64, 1, 0},
	    {64, 8, 0},
	    {100, 64, 0},
	    {100, 4096, 0},
	    {24, 0, USLUB_HWCACHE_ALIGN},
	    {24, 0, USLUB_RECLAIM_ACCOUNT | USLUB_NO_MERGE | USLUB_PANIC},
	    {1 << 20, 0, 0},
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		struct uslub_cache *s = uslub_cache_create(
		    "good_args", ok[i].size, ok[i].align, ok[i].flags, NULL);
		void *p;

		assert_ptr_not_null(s, "create %zu/%zu/%#lx", ok[i].size,
				    ok[i].align, ok[i].flags);
		expect_zu_eq(uslub_cache_size(s), ok[i].size,
			     "uslub_cache_size");
		p = uslub_cache_alloc(s, 0);
		assert_ptr_not_null(p, "alloc from %zu-byte cache", ok[i].size);
		if (ok[i].align)
			expect_zu_eq((uintptr_t)p % ok[i].align, 0,
				     "aligned to %zu", ok[i].align);
		memset(p, 0xab, ok[i].size);
		uslub_cache_free(s, p);
		expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
	}
	/* uslub_cache_size is the size asked for, not the stride. */
	{
		struct uslub_cache *s = uslub_cache_create(
		    "size_123", 123, 0, USLUB_HWCACHE_ALIGN, NULL);

		assert_ptr_not_null(s, "cache");
		expect_zu_eq(uslub_cache_size(s), 123, "object size, not 128");
		expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
	}
	expect_d_eq(uslub_cache_destroy(NULL), 0, "destroy(NULL) is a no-op");
}
TEST_END

/* ---- Constructors ---------------------------------------------------- */

#define CTOR_WORDS	16		/* 128-byte objects */
#define CTOR_MAGIC	0xc0ffee00c0ffee00ULL

static unsigned long ctor_calls;

static void ctor_fill(void *obj)
{
	uint64_t *w = obj;
	unsigned int i;

	for (i = 0; i < CTOR_WORDS; i++)
		w[i] = CTOR_MAGIC + i;
	ctor_calls++;
}

static bool ctor_state_intact(const void *obj)
{
	const uint64_t *w = obj;
	unsigned int i;

	for (i = 0; i < CTOR_WORDS; i++)
		if (w[i] != CTOR_MAGIC + i)
			return false;
	return true;
}

TEST_BEGIN(test_ctor_once_per_object)
{
	struct uslub_cache *s =
	    uslub_cache_create("ctor_cache", CTOR_WORDS * 8, 0, 0, ctor_fill);
	void **objs;
	unsigned int i, n, broken = 0;
	int round;

	assert_ptr_not_null(s, "cache");
	ctor_calls = 0;
	n = ((const struct uslub_cache *)s)->objects;
	objs = calloc(n + 1, sizeof(*objs));
	objs[0] = uslub_cache_alloc(s, 0);
	assert_ptr_not_null(objs[0], "first object");
	expect_u_eq(ctor_calls, n, "ctor ran for every object of the new slab");
	for (i = 1; i < n; i++)
		objs[i] = uslub_cache_alloc(s, 0);
	expect_u_eq(ctor_calls, n, "no ctor call for objects of that slab");
	/* free + realloc, twice: the constructed state survives, even in
	 * the first two words, where caches without a ctor keep the free
	 * tag and the free pointer. */
	for (round = 0; round < 2; round++) {
		for (i = 0; i < n; i++)
			broken += !ctor_state_intact(objs[i]);
		for (i = 0; i < n; i++)
			uslub_cache_free(s, objs[i]);
		for (i = 0; i < n; i++)
			objs[i] = uslub_cache_alloc(s, 0);
	}
	for (i = 0; i < n; i++)
		broken += !ctor_state_intact(objs[i]);
	expect_u_eq(broken, 0, "objects that lost their constructed state");
	expect_u_eq(ctor_calls, n, "reuse never calls the ctor");
	objs[n] = uslub_cache_alloc(s, 0);
	expect_u_eq(ctor_calls, 2 * n, "a second slab constructs its objects");
	expect_true(ctor_state_intact(objs[n]), "object of the second slab");
	for (i = 0; i <= n; i++)
		uslub_cache_free(s, objs[i]);
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
	free(objs);
}
TEST_END

/* ---- zalloc ---------------------------------------------------------- */

TEST_BEGIN(test_zalloc_zeroes_recycled)
{
	struct uslub_cache *s =
	    uslub_cache_create("zalloc_cache", 200, 0, 0, NULL);
	unsigned char *p, *q, *r;
	size_t i, nonzero = 0;

	assert_ptr_not_null(s, "cache");
	r = uslub_cache_zalloc(s, 0);	/* from a fresh slab */
	assert_ptr_not_null(r, "zalloc");
	for (i = 0; i < 200; i++)
		nonzero += r[i] != 0;
	p = uslub_cache_alloc(s, 0);
	assert_ptr_not_null(p, "alloc");
	memset(p, 0xff, 200);
	uslub_cache_free(s, p);
	q = uslub_cache_zalloc(s, USLUB_GFP_KERNEL);
	expect_ptr_eq(q, p, "the dirtied object comes back (LIFO)");
	for (i = 0; i < 200; i++)
		nonzero += q[i] != 0;
	expect_zu_eq(nonzero, 0, "zalloc returns zeroed memory");
	/* kmem_cache_alloc with __GFP_ZERO is zalloc too. */
	memset(q, 0xee, 200);
	uslub_cache_free(s, q);
	q = uslub_cache_alloc(s, USLUB_GFP_ZERO);
	for (i = 0, nonzero = 0; i < 200; i++)
		nonzero += q[i] != 0;
	expect_zu_eq(nonzero, 0, "alloc with USLUB_GFP_ZERO zeroes");
	uslub_cache_free(s, q);
	uslub_cache_free(s, r);
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

/* ---- Bulk ------------------------------------------------------------ */

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

#define NBULK	300

TEST_BEGIN(test_bulk)
{
	struct uslub_cache *s =
	    uslub_cache_create("bulk_cache", 48, 0, 0, NULL);
	void *objs[NBULK], *sorted[NBULK];
	unsigned int i, dup = 0, bad = 0;

	assert_ptr_not_null(s, "cache");
	expect_zu_eq(uslub_cache_alloc_bulk(s, 0, 0, objs), 0, "n = 0");
	expect_zu_eq(uslub_cache_alloc_bulk(s, 0, NBULK, objs), NBULK,
		     "alloc_bulk returns n");
	for (i = 0; i < NBULK; i++) {
		bad += objs[i] == NULL || pagemap_head(objs[i]) == NULL ||
		       pagemap_head(objs[i])->cache != s;
		memset(objs[i], (int)i, 48);
	}
	expect_u_eq(bad, 0, "bulk objects are objects of the cache");
	memcpy(sorted, objs, sizeof(objs));
	qsort(sorted, NBULK, sizeof(sorted[0]), ptr_cmp);
	for (i = 1; i < NBULK; i++)
		dup += (uintptr_t)sorted[i] - (uintptr_t)sorted[i - 1] < 48;
	expect_u_eq(dup, 0, "distinct, non-overlapping objects");
	for (i = 0, bad = 0; i < NBULK; i++)
		bad += ((unsigned char *)objs[i])[47] != (unsigned char)i;
	expect_u_eq(bad, 0, "no object overwrote another");
	expect_d_eq(slabinfo_active("bulk_cache"), NBULK,
		    "slabinfo active objects");
	uslub_cache_free_bulk(s, NBULK, objs);
	expect_d_eq(slabinfo_active("bulk_cache"), 0,
		    "free_bulk returned them all");
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

/* ---- Destroy --------------------------------------------------------- */

TEST_BEGIN(test_destroy_busy)
{
	struct uslub_cache *s =
	    uslub_cache_create("busy_cache", 96, 0, 0, NULL);
	struct test_capture cap;
	char err[2048];
	void *p[3], *extra;
	unsigned int i;
	int ret;

	assert_ptr_not_null(s, "cache");
	for (i = 0; i < 3; i++)
		p[i] = uslub_cache_alloc(s, 0);
	test_capture_begin(&cap);
	ret = uslub_cache_destroy(s);
	test_capture_end(&cap, err, sizeof(err));
	expect_d_eq(ret, -EBUSY, "destroy with live objects");
	expect_str_contains(err,
			    "uslub: cache busy_cache: 3 objects remaining\n",
			    "the report names the cache and the count");
	/* The objects and the cache stay usable. */
	for (i = 0; i < 3; i++) {
		memset(p[i], 0x42, 96);
		expect_ptr_eq(pagemap_head(p[i])->cache, s,
			      "object %u still ours", i);
	}
	expect_d_eq(slabinfo_active("busy_cache"), 3,
		    "still listed with 3 objects");
	extra = uslub_cache_alloc(s, 0);
	expect_ptr_not_null(extra, "the cache still allocates");
	uslub_cache_free(s, extra);
	for (i = 0; i < 3; i++)
		uslub_cache_free(s, p[i]);
	test_capture_begin(&cap);
	ret = uslub_cache_destroy(s);
	test_capture_end(&cap, err, sizeof(err));
	expect_d_eq(ret, 0, "destroy after freeing everything");
	expect_str_eq(err, "", "no report on success");
	expect_d_eq(slabinfo_active("busy_cache"), -1, "no longer listed");
}
TEST_END

/* ---- Invalid frees abort with a report ------------------------------- */

struct bad_free {
	struct uslub_cache *s;
	void *obj;
};

static void child_cache_free(void *arg)
{
	struct bad_free *bf = arg;

	uslub_cache_free(bf->s, bf->obj);
}

/* Runs the bad free in a child; it must die of SIGABRT, reporting obj. */
static void expect_free_aborts(struct uslub_cache *s, void *obj,
			       const char *what)
{
	struct bad_free bf = { s, obj };
	char out[4096], addr[32];
	int status = 0;

	assert_d_eq(test_run_child(child_cache_free, &bf, &status, out,
		    sizeof(out)), 0, "fork");
	snprintf(addr, sizeof(addr), "%p", obj);
	expect_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
		    "%s: child killed by SIGABRT (status %#x)", what, status);
	expect_str_contains(out, "invalid pointer", "%s: reported", what);
	expect_str_contains(out, addr, "%s: the report prints the address",
			    what);
}

static int some_global;

TEST_BEGIN(test_free_invalid_pointers_abort)
{
	struct uslub_cache *a = uslub_cache_create("free_a", 64, 0, 0, NULL);
	struct uslub_cache *b = uslub_cache_create("free_b", 64, 0, 0, NULL);
	void **full, *cur, *glibc = malloc(64);
	unsigned int i, n;
	int on_stack = 0;

	assert_ptr_not_null(a, "cache a");
	assert_ptr_not_null(b, "cache b");
	n = ((const struct uslub_cache *)a)->objects;
	/* A full slab of a that is not the cpu slab, and a current cpu slab. */
	full = calloc(n, sizeof(*full));
	for (i = 0; i < n; i++)
		full[i] = uslub_cache_alloc(a, 0);
	cur = uslub_cache_alloc(a, 0);
	uslub_cache_free(b, uslub_cache_alloc(b, 0));	/* b has a cpu slab */
	assert_ptr_ne(pagemap_head(cur), pagemap_head(full[0]), "two slabs");

	expect_free_aborts(b, full[3], "object of another cache");
	expect_free_aborts(b, cur, "object of another cache (its cpu slab)");
	expect_free_aborts(a, (char *)full[3] + 8, "interior pointer");
	expect_free_aborts(a, &on_stack, "stack address");
	expect_free_aborts(a, &some_global, "global");
	expect_free_aborts(a, glibc, "glibc malloc pointer");

	for (i = 0; i < n; i++)
		uslub_cache_free(a, full[i]);
	uslub_cache_free(a, cur);
	free(full);
	free(glibc);
	expect_d_eq(uslub_cache_destroy(a), 0, "destroy a");
	expect_d_eq(uslub_cache_destroy(b), 0, "destroy b");
}
TEST_END

/*
 * The same check where the object's slab is the calling thread's cpu slab:
 * the free fast path must not push a pointer that is not an object start.
 */
TEST_BEGIN(test_free_interior_of_cpu_slab_aborts)
{
	struct uslub_cache *a = uslub_cache_create("free_cpu", 64, 0, 0, NULL);
	void *cur;

	assert_ptr_not_null(a, "cache");
	cur = uslub_cache_alloc(a, 0);
	assert_ptr_not_null(cur, "object");
	expect_free_aborts(a, (char *)cur + 8,
			   "interior pointer into the thread's cpu slab");
	uslub_cache_free(a, cur);
	expect_d_eq(uslub_cache_destroy(a), 0, "destroy");
}
TEST_END

/*
 * Every interior offset of an object in the thread's cpu slab, with
 * abort_on_error off: each free is reported and ignored, and the cache
 * never hands out anything but object starts afterwards.
 */
static void interior_frees(struct uslub_cache *s, size_t size, size_t step)
{
	const struct uslub_cache *cs = s;
	struct test_capture cap;
	char *obj, *err = malloc(1 << 20), *line;
	void **objs;
	size_t off, calls = 0, reports = 0, bad = 0, i, n = cs->objects;
	int saved = uslub_opt.abort_on_error;

	obj = uslub_cache_alloc(s, 0);
	assert_ptr_not_null(obj, "object of %zu bytes", size);
	uslub_opt.abort_on_error = 0;
	test_capture_begin(&cap);
	for (off = 1; off < size; off += step, calls++)
		uslub_cache_free(s, obj + off);
	test_capture_end(&cap, err, 1 << 20);
	uslub_opt.abort_on_error = saved;
	for (line = err; (line = strstr(line, "invalid pointer")); line++)
		reports++;
	expect_zu_eq(reports, calls, "size %zu: every interior free reported",
		     size);
	/* Nothing was pushed: draining the cache yields object starts only. */
	objs = calloc(n, sizeof(*objs));
	for (i = 0; i < n; i++) {
		struct slab *slab;

		objs[i] = uslub_cache_alloc(s, 0);
		slab = pagemap_head(objs[i]);
		bad += !slab || slab_object_index(cs, slab, objs[i]) < 0;
	}
	expect_zu_eq(bad, 0, "size %zu: allocations that are not object starts",
		     size);
	for (i = 0; i < n; i++)
		uslub_cache_free(s, objs[i]);
	uslub_cache_free(s, obj);
	free(objs);
	free(err);
}

TEST_BEGIN(test_interior_frees_rejected)
{
	static const size_t sizes[] = { 8, 24, 40, 72, 1000, 4104, 70000 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct uslub_cache *s =
		    uslub_cache_create("interior", sizes[i], 0, 0, NULL);

		assert_ptr_not_null(s, "cache of %zu", sizes[i]);
		interior_frees(s, sizes[i], sizes[i] > 2000 ? 61 : 1);
		expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
	}
}
TEST_END

/*
 * Coloured caches put objects at multiples of their size (slab.h,
 * slab_colour); the multiple after a slab's last object is inside the slab
 * but no object.  Freeing it -- through a slot in the thread state, a
 * cache in cpu_dir (a ctor) and kfree -- is reported and pushes nothing:
 * the next allocations, a slab's worth, never return it.
 */
struct coloured_free {
	struct uslub_cache *s;		/* NULL: kmalloc(size) */
	size_t size;
};

static void *coloured_alloc(const struct coloured_free *cf)
{
	return cf->s ? uslub_cache_alloc(cf->s, 0) : uslub_kmalloc(cf->size, 0);
}

static void coloured_release(const struct coloured_free *cf, void *p)
{
	if (cf->s)
		uslub_cache_free(cf->s, p);
	else
		uslub_kfree(p);
}

static void coloured_tail_free(const struct coloured_free *cf,
			       const char *what)
{
	const struct uslub_cache *cs;
	struct test_capture cap;
	struct slab *slab;
	char err[4096], *start, *tail;
	void **objs;
	unsigned long bytes;
	unsigned int i, n;
	int saved = uslub_opt.abort_on_error;
	void *first = coloured_alloc(cf);

	assert_ptr_not_null(first, "%s: object", what);
	slab = pagemap_head(first);
	assert_ptr_not_null(slab, "%s: slab", what);
	cs = slab->cache;
	expect_true(cs->coloured, "%s: %s is coloured", what, cs->name);
	n = cs->objects;
	bytes = PAGE_SIZE << cs->order;
	start = slab_objects_start(cs, slab);
	tail = start + (size_t)n * cs->size;
	expect_zu_eq((uintptr_t)tail % cs->size, 0, "%s: a multiple", what);
	if ((uintptr_t)(tail - (char *)page_address(slab)) >= bytes) {
		coloured_release(cf, first);	/* no multiple in this tail */
		return;
	}
	uslub_opt.abort_on_error = 0;
	test_capture_begin(&cap);
	coloured_release(cf, tail);
	test_capture_end(&cap, err, sizeof(err));
	uslub_opt.abort_on_error = saved;
	expect_str_contains(err, "invalid pointer", "%s: reported", what);
	objs = calloc(2 * n, sizeof(*objs));
	assert_ptr_not_null(objs, "array");
	for (i = 0; i < 2 * n; i++) {
		objs[i] = coloured_alloc(cf);
		expect_ptr_ne(objs[i], tail, "%s: the tail handed out", what);
	}
	for (i = 0; i < 2 * n; i++)
		coloured_release(cf, objs[i]);
	coloured_release(cf, first);
	free(objs);
}

static void ctor_nothing(void *obj)
{
	(void)obj;
}

TEST_BEGIN(test_coloured_tail_rejected)
{
	struct coloured_free slot = { NULL, 0 }, dir = { NULL, 0 },
			     kmalloc = { NULL, 6000 };
	unsigned int round;

	slot.s = uslub_cache_create("coloured_slot", 6000, 0, 0, NULL);
	dir.s = uslub_cache_create("coloured_dir", 6000, 0, 0, ctor_nothing);
	assert_ptr_not_null(slot.s, "cache");
	assert_ptr_not_null(dir.s, "cache with a ctor");
	expect_u_ne(((const struct uslub_cache *)slot.s)->cpu_slot, 0,
		    "a slot in the thread state");
	expect_u_eq(((const struct uslub_cache *)dir.s)->cpu_slot, 0,
		    "a ctor's cache is in cpu_dir");
	/* a few slabs: the colour, hence the tail, differs between them */
	for (round = 0; round < 4; round++) {
		coloured_tail_free(&slot, "slot");
		coloured_tail_free(&dir, "cpu_dir");
		coloured_tail_free(&kmalloc, "kfree");
	}
	expect_d_eq(uslub_cache_destroy(slot.s), 0, "destroy");
	expect_d_eq(uslub_cache_destroy(dir.s), 0, "destroy");
}
TEST_END

/* slab_object_index: the object index for each object start, -1 for
 * every other byte of the slab and beyond (4104 and 6000: coloured
 * caches, whose first object need not start the slab). */
TEST_BEGIN(test_object_index_exact)
{
	static const size_t sizes[] = { 8, 24, 40, 96, 1000, 3000, 4104,
					6000, (1 << 20) + 8 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct uslub_cache *s =
		    uslub_cache_create("index", sizes[i], 0, 0, NULL);
		const struct uslub_cache *cs = s;
		size_t off, end, colour, bad = 0;
		struct slab *slab;
		char *base, *obj;

		assert_ptr_not_null(s, "cache of %zu", sizes[i]);
		obj = uslub_cache_alloc(s, 0);
		slab = pagemap_head(obj);
		assert_ptr_not_null(slab, "slab");
		base = page_address(slab);
		colour = (size_t)(slab_objects_start(cs, slab) - base);
		expect_true(colour < cs->size && (!colour || cs->coloured),
			    "size %u: first object at %zu", cs->size, colour);
		end = colour + (size_t)cs->size * cs->objects + cs->size;
		for (off = 0; off < end; off++) {
			size_t rel = off - colour;
			long want = off >= colour && rel % cs->size == 0 &&
						rel / cs->size < cs->objects
					? (long)(rel / cs->size)
					: -1;

			bad += slab_object_index(cs, slab, base + off) != want;
		}
		expect_zu_eq(bad, 0, "size %u: wrong indexes", cs->size);
		uslub_cache_free(s, obj);
		expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
	}
}
TEST_END

/* ---- Churn ----------------------------------------------------------- */

TEST_BEGIN(test_create_destroy_loop)
{
	unsigned int rows0, i, failures = 0;
	long kmem0 = slabinfo_active("kmem_cache");
	size_t rss0, rss1;
	void *p[10];

	rows0 = slabinfo_rows();
	rss0 = os_rss_bytes();
	for (i = 0; i < 1000; i++) {
		struct uslub_cache *s =
		    uslub_cache_create("loop_cache", 512 + i, 0, 0, NULL);
		unsigned int j;

		if (!s) {
			failures++;
			continue;
		}
		for (j = 0; j < 10; j++) {
			p[j] = uslub_cache_alloc(s, 0);
			memset(p[j], (int)j, 512);
		}
		for (j = 0; j < 10; j++)
			uslub_cache_free(s, p[j]);
		failures += uslub_cache_destroy(s) != 0;
	}
	rss1 = os_rss_bytes();
	expect_u_eq(failures, 0, "every create and destroy succeeded");
	expect_u_eq(slabinfo_rows(), rows0,
		    "the cache list is back to its size");
	expect_d_eq(slabinfo_active("kmem_cache"), kmem0,
		    "no struct uslub_cache leaked");
	expect_true(rss1 < rss0 + 8 * MiB, "RSS bounded: %zu -> %zu KiB",
		    rss0 >> 10, rss1 >> 10);
}
TEST_END

/*
 * The first user caches keep each thread's slot in the thread state
 * (cpu_slot), the rest in cpu_dir.  A second thread stays alive while
 * caches are destroyed and others created in their place, often at the
 * same address: each of its slots must start clean, so every object it
 * gets belongs to the cache it asked.
 */
#define SLOT_CACHES	24
#define SLOT_OBJS	50

static struct uslub_cache *slot_cache[SLOT_CACHES];
static void *slot_obj[SLOT_CACHES][SLOT_OBJS];
static pthread_barrier_t slot_step;
static unsigned int slot_wrong;

static void *slot_worker(void *arg)
{
	(void)arg;
	for (int round = 0; round < 2; round++) {
		pthread_barrier_wait(&slot_step);	/* caches created */
		for (int i = 0; i < SLOT_CACHES; i++)
			for (int j = 0; j < SLOT_OBJS; j++) {
				void *p = uslub_cache_alloc(slot_cache[i], 0);
				struct slab *d = p ? pagemap_lookup(p) : NULL;

				if (!d || !d->head || d->head->cache != slot_cache[i])
					slot_wrong++;
				slot_obj[i][j] = p;
			}
		pthread_barrier_wait(&slot_step);	/* objects made */
		pthread_barrier_wait(&slot_step);	/* main freed them */
	}
	return NULL;
}

TEST_BEGIN(test_cpu_slots_inline_and_dir)
{
	unsigned int inline_caches = 0, busy = 0;
	pthread_t t;
	char name[32];

	pthread_barrier_init(&slot_step, NULL, 2);
	assert_d_eq(pthread_create(&t, NULL, slot_worker, NULL), 0, "thread");
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < SLOT_CACHES; i++) {
			snprintf(name, sizeof(name), "slot_cache_%d", i);
			slot_cache[i] = uslub_cache_create(name, 48 + 16 * i, 0, 0, NULL);
			assert_ptr_not_null(slot_cache[i], "create %s", name);
			inline_caches += slot_cache[i]->cpu_slot != 0;
		}
		pthread_barrier_wait(&slot_step);
		pthread_barrier_wait(&slot_step);
		for (int i = 0; i < SLOT_CACHES; i++) {
			snprintf(name, sizeof(name), "slot_cache_%d", i);
			expect_ld_eq(slabinfo_active(name), SLOT_OBJS,
				     "%s: the thread's objects are active", name);
			for (int j = 0; j < SLOT_OBJS; j++)	/* remote frees */
				uslub_cache_free(slot_cache[i], slot_obj[i][j]);
			expect_ld_eq(slabinfo_active(name), 0,
				     "%s: all freed", name);
			busy += uslub_cache_destroy(slot_cache[i]) != 0;
		}
		pthread_barrier_wait(&slot_step);
	}
	pthread_join(t, NULL);
	pthread_barrier_destroy(&slot_step);
	expect_u_eq(slot_wrong, 0, "every object came from the cache asked");
	expect_u_eq(busy, 0, "every destroy succeeded");
	expect_u_ge(inline_caches, 2, "some caches have their slot inline");
	expect_u_le(inline_caches, 2 * NR_INLINE_SLOTS,
		    "at most two sets of inline slots at once");
	expect_u_lt(inline_caches, 2 * SLOT_CACHES, "the rest use cpu_dir");
}
TEST_END

int main(void)
{
	return test(test_create_bad_arguments, test_create_good_arguments,
		    test_ctor_once_per_object, test_zalloc_zeroes_recycled,
		    test_bulk, test_destroy_busy,
		    test_free_invalid_pointers_abort,
		    test_free_interior_of_cpu_slab_aborts,
		    test_interior_frees_rejected, test_coloured_tail_rejected,
		    test_object_index_exact,
		    test_create_destroy_loop, test_cpu_slots_inline_and_dir,
		    NULL);
}
