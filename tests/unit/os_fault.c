/*
 * Unit test for OS failures (os.h's fault injection): every mmap, mremap,
 * madvise and munmap a workload makes is failed in turn, one per run.
 *
 * The workload (uslub_* API, one thread): small, large and huge blocks by
 * malloc and calloc, a huge block grown and shrunk by realloc (mremap), a
 * large one grown, aligned blocks, a cache created, used and destroyed,
 * then everything freed and the heap trimmed (madvise, munmap).  It is run
 * once counting the OS calls it makes, then once for each N from 1 to that
 * count with call N failing.  Each run must:
 *   - fail only as the API says: an allocation NULL with errno ENOMEM,
 *     realloc NULL with the old block intact, or succeed (a failed madvise
 *     or munmap keeps memory, it loses nothing);
 *   - hand out zeroed memory from calloc even when a discard failed (a
 *     page that could not be given back is not zero);
 *   - leave the blocks allocated before the sweep intact (patterns);
 *   - recover: the same workload with nothing failing then succeeds.
 */
#include "test.h"

#include "compiler.h"
#include "os.h"
#include "uslub.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HUGE_BYTES	(5UL << 20)	/* above 4 MiB: a mapping of its own */
#define KEPT		8

static const size_t kept_size[KEPT] = {
	24, 200, 3000, 20000, 40000, 300000, 2UL << 20, HUGE_BYTES,
};
static unsigned char *kept[KEPT];

static void fill(unsigned char *p, size_t n, unsigned char seed)
{
	size_t i;

	for (i = 0; i < n; i += 97)
		p[i] = (unsigned char)(seed + i / 97);
	p[n - 1] = seed;
}

static bool intact(const unsigned char *p, size_t n, unsigned char seed)
{
	size_t i;

	for (i = 0; i < n; i += 97)
		if (p[i] != (unsigned char)(seed + i / 97))
			return false;
	return p[n - 1] == seed;
}

static bool zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i += 61)
		if (p[i])
			return false;
	return !p[n - 1];
}

/* What a run saw. */
struct run {
	unsigned int failed;		/* allocations that returned NULL */
	unsigned int bad_errno;		/* ... without ENOMEM */
	unsigned int not_zero;		/* calloc blocks not zero */
	unsigned int corrupt;		/* a block's own pattern lost */
};

/* An allocation's result: NULL must come with ENOMEM. */
static void *got(struct run *r, void *p)
{
	if (!p) {
		r->failed++;
		r->bad_errno += errno != ENOMEM;
	}
	return p;
}

static void workload(struct run *r)
{
	static const size_t sizes[] = {
		64, 5000, 40000, 300000, 1UL << 20, HUGE_BYTES, 2 * HUGE_BYTES,
	};
	unsigned char *p[ARRAY_SIZE(sizes)], *z[ARRAY_SIZE(sizes)], *q, *a;
	struct uslub_cache *s;
	unsigned int i;
	void *o;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		/* calloc first: it gets the block the last run filled */
		errno = 0;
		z[i] = got(r, uslub_calloc(1, sizes[i]));
		if (z[i] && !zero(z[i], sizes[i]))
			r->not_zero++;
		errno = 0;
		p[i] = got(r, uslub_malloc(sizes[i]));
		if (p[i])
			fill(p[i], sizes[i], (unsigned char)(i + 1));
	}
	/* A huge block grown by mremap and shrunk again; a large one grown. */
	for (i = 5; i <= 6; i++) {
		if (!p[i])
			continue;
		errno = 0;
		q = got(r, uslub_realloc(p[i], sizes[i] * 2));
		if (q)
			p[i] = q;	/* else p[i] is still valid */
		r->corrupt += !intact(p[i], sizes[i], (unsigned char)(i + 1));
	}
	if (p[3]) {
		errno = 0;
		q = got(r, uslub_realloc(p[3], 3 * sizes[3]));
		if (q)
			p[3] = q;
		r->corrupt += !intact(p[3], sizes[3], 4);
	}
	errno = 0;
	a = got(r, uslub_aligned_alloc(1UL << 21, 1UL << 21));
	if (a)
		fill(a, 1UL << 21, 9);
	s = uslub_cache_create("os_fault", 200, 0, 0, NULL);
	if (s) {
		errno = 0;
		o = got(r, uslub_cache_alloc(s, 0));
		uslub_cache_free(s, o);
		uslub_cache_destroy(s);
	}
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		if (p[i] && i != 5 && i != 6 && i != 3)
			r->corrupt += !intact(p[i], sizes[i],
					      (unsigned char)(i + 1));
		uslub_free(p[i]);
		uslub_free(z[i]);
	}
	if (a)
		r->corrupt += !intact(a, 1UL << 21, 9);
	uslub_free(a);
	uslub_malloc_trim(0);
	/* A block written, freed and trimmed (its pages discarded, unless
	 * that failed), then the same size by calloc: the same pages. */
	errno = 0;
	q = got(r, uslub_malloc(sizes[3]));
	if (q)
		memset(q, 0x77, sizes[3]);
	uslub_free(q);
	uslub_malloc_trim(0);
	errno = 0;
	q = got(r, uslub_calloc(1, sizes[3]));
	if (q && !zero(q, sizes[3]))
		r->not_zero++;
	uslub_free(q);
}

static unsigned int kept_lost(void)
{
	unsigned int i, lost = 0;

	for (i = 0; i < KEPT; i++)
		lost += !intact(kept[i], kept_size[i], (unsigned char)(0x40 + i));
	return lost;
}

/* The sweep: fail call n (and every later one if after) for each n. */
static unsigned int sweep(unsigned long calls, int after)
{
	const char *how = after ? "and later" : "alone";
	unsigned int failures = 0;
	unsigned long n;
	struct run r;

	/* A call the first count did not see may come later (the heap's
	 * state moves on): sweep a few past it. */
	for (n = 1; n <= calls + 4; n++) {
		os_fault_inject(OS_FAULT_ALL, n, after);
		workload(&r);
		os_fault_inject(0, 0, 0);
		failures += r.failed;
		expect_u_eq(r.bad_errno, 0, "call %lu (%s) failing: NULL "
			    "with ENOMEM", n, how);
		expect_u_eq(r.not_zero, 0, "call %lu (%s) failing: calloc "
			    "is zero", n, how);
		expect_u_eq(r.corrupt, 0, "call %lu (%s) failing: blocks "
			    "intact", n, how);
		expect_u_eq(kept_lost(), 0, "call %lu (%s) failing: earlier "
			    "blocks intact", n, how);
		workload(&r);
		expect_u_eq(r.failed, 0, "after call %lu (%s) failed: "
			    "recovered", n, how);
		expect_u_eq(r.not_zero + r.corrupt, 0, "after call %lu (%s) "
			    "failed: correct", n, how);
	}
	return failures;
}

TEST_BEGIN(test_every_os_call_fails)
{
	unsigned int i, once, onward;
	unsigned long calls;
	struct run r;

	for (i = 0; i < KEPT; i++) {
		kept[i] = uslub_malloc(kept_size[i]);
		assert_ptr_not_null(kept[i], "block %u", i);
		fill(kept[i], kept_size[i], (unsigned char)(0x40 + i));
	}
	workload(&r);				/* warm: regions, tables */
	os_fault_inject(OS_FAULT_ALL, 0, 0);
	workload(&r);
	calls = os_fault_calls();
	os_fault_inject(0, 0, 0);
	expect_u_eq(r.failed, 0, "nothing fails without injection");
	expect_u_ge(calls, 8, "the workload reaches the OS (%lu calls)",
		    calls);
	/* One failure alone: uslub retries a failed mapping after a
	 * reclaim, and a failed madvise or munmap only keeps memory. */
	once = sweep(calls, 0);
	/* The OS refusing from call n on: allocations fail cleanly. */
	onward = sweep(calls, 1);
	expect_u_gt(onward, 0, "failing calls from n on fail allocations");
	printf("# %lu OS calls swept twice: %u allocations failed with one "
	       "call failing, %u with every call from n on\n", calls + 4,
	       once, onward);
	for (i = 0; i < KEPT; i++)
		uslub_free(kept[i]);
}
TEST_END

int main(void)
{
	return test(test_every_os_call_fails, NULL);
}
