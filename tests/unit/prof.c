/*
 * Unit tests for the heap profiler (lib/prof.c, uslub_prof_dump), run
 * with prof=1, prof_sample=4096 and a fixed prof_seed (main() sets them
 * before anything is allocated from uslub): known bytes allocated from
 * known functions show up in the dumped profile, scaled, within a
 * tolerance of the truth; objects freed leave the live totals, exactly;
 * a site that churns beside one that keeps its blocks in the same class;
 * large and huge blocks, realloc by mremap, threads allocating and
 * freeing while the main thread dumps (TSan), a fork's child that
 * samples and dumps on its own; EINVAL while prof is off.
 */
#include "test.h"

#include "options.h"
#include "prof.h"
#include "uslub.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Called through these names; a stack belongs to one when a return
 * address in it lies within the function (site_end). */
__attribute__((noinline)) void *prof_site_a(size_t size)
{
	void *p = uslub_malloc(size);

	__asm__ volatile("" ::: "memory");	/* not a tail call */
	return p;
}

__attribute__((noinline)) void *prof_site_b(size_t size)
{
	void *p = uslub_kmalloc(size, 0);

	__asm__ volatile("" ::: "memory");
	return p;
}

__attribute__((noinline)) void *prof_site_c(size_t size)
{
	void *p = uslub_malloc(size);

	__asm__ volatile("" ::: "memory");
	return p;
}

/* A site's code ends at the next site's start or SITE_BYTES past its
 * own, whichever comes first: the sites may be laid out side by side. */
#define SITE_BYTES	256

static uintptr_t site_end(uintptr_t fn)
{
	const uintptr_t sites[] = { (uintptr_t)prof_site_a,
				    (uintptr_t)prof_site_b,
				    (uintptr_t)prof_site_c };
	uintptr_t end = fn + SITE_BYTES;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sites); i++)
		if (sites[i] > fn && sites[i] < end)
			end = sites[i];
	return end;
}

struct totals {
	unsigned long live_count, live_bytes, alloc_count, alloc_bytes;
};

struct profile {
	struct totals header;
	struct totals site;	/* the stacks through the site asked for */
	bool maps;		/* MAPPED_LIBRARIES: followed by a mapping */
	unsigned int lines;
};

static bool stack_through(const char *at, uintptr_t fn)
{
	uintptr_t limit = site_end(fn);
	char *end;

	for (;;) {
		unsigned long pc = strtoul(at, &end, 16);

		if (end == at)
			return false;
		if (pc > fn && pc < limit)
			return true;
		at = end;
	}
}

/* Dump to a temporary file and read it back: the header, and the sums
 * of the lines whose stack passes through site. */
static void dump_and_parse(void *site, struct profile *pr)
{
	char path[] = "/tmp/uslub-prof-XXXXXX", line[4096];
	struct totals t;
	FILE *f;
	int fd = mkstemp(path);

	memset(pr, 0, sizeof(*pr));
	expect_d_ge(fd, 0, "mkstemp");
	close(fd);
	expect_d_eq(uslub_prof_dump(path), 0, "dump to %s", path);
	f = fopen(path, "r");
	expect_true(f != NULL, "profile readable");
	if (!f)
		return;
	if (fgets(line, sizeof(line), f))
		expect_d_eq(sscanf(line, "heap profile: %lu: %lu [%lu: %lu] @ "
				   "heapprofile", &pr->header.live_count,
				   &pr->header.live_bytes,
				   &pr->header.alloc_count,
				   &pr->header.alloc_bytes), 4,
			    "header: %s", line);
	while (fgets(line, sizeof(line), f)) {
		char *at = strchr(line, '@');

		if (!strcmp(line, "MAPPED_LIBRARIES:\n")) {
			pr->maps = fgets(line, sizeof(line), f) &&
				   strchr(line, '-') != NULL;
			break;
		}
		if (line[0] == '\n')
			continue;
		expect_d_eq(sscanf(line, "%lu: %lu [%lu: %lu] @", &t.live_count,
				   &t.live_bytes, &t.alloc_count,
				   &t.alloc_bytes), 4, "a stack line: %s", line);
		expect_true(at && strstr(at, " 0x"), "return addresses: %s",
			    line);
		pr->lines++;
		if (at && stack_through(at + 1, (uintptr_t)site)) {
			pr->site.live_count += t.live_count;
			pr->site.live_bytes += t.live_bytes;
			pr->site.alloc_count += t.alloc_count;
			pr->site.alloc_bytes += t.alloc_bytes;
		}
	}
	fclose(f);
	unlink(path);
}

/* |got - want| <= want * pct / 100 */
#define expect_near(got, want, pct, what)				\
	expect_true((double)(got) >= (double)(want) * (100 - (pct)) / 100 && \
		    (double)(got) <= (double)(want) * (100 + (pct)) / 100, \
		    "%s: %lu, truth %lu (+-%d%%)", what,		\
		    (unsigned long)(got), (unsigned long)(want), pct)

#define NA	40000		/* 64-byte objects from site a */
#define NB	2000		/* 1000-byte objects from site b */

TEST_BEGIN(test_totals_and_frees)
{
	void **a = calloc(NA, sizeof(*a)), **b = calloc(NB, sizeof(*b));
	struct profile pa, pb;
	unsigned int i;

	for (i = 0; i < NA; i++)
		a[i] = prof_site_a(64);
	for (i = 0; i < NB; i++)
		b[i] = prof_site_b(1000);
	dump_and_parse(prof_site_a, &pa);
	dump_and_parse(prof_site_b, &pb);
	expect_true(pa.maps, "MAPPED_LIBRARIES: and /proc/self/maps follow");
	expect_u_ge(pa.lines, 2, "a line per stack");
	/* About 600 and 430 samples: 20% is over four standard deviations. */
	expect_near(pa.site.live_bytes, NA * 64UL, 20, "a's live bytes");
	expect_near(pa.site.live_count, NA, 20, "a's live objects");
	expect_near(pa.site.alloc_bytes, NA * 64UL, 20, "a's bytes allocated");
	expect_near(pb.site.live_bytes, NB * 1000UL, 20, "b's live bytes");
	expect_near(pb.site.live_count, NB, 20, "b's live objects");
	expect_u_ge(pa.header.live_bytes,
		    pa.site.live_bytes + pb.site.live_bytes,
		    "the header sums every stack");

	for (i = 0; i < NA; i++)
		uslub_free(a[i]);
	for (i = 0; i < NB; i += 2)
		uslub_kfree(b[i]);
	dump_and_parse(prof_site_a, &pa);
	dump_and_parse(prof_site_b, &pb);
	expect_u_eq(pa.site.live_bytes, 0, "a's objects all freed: none live");
	expect_u_eq(pa.site.live_count, 0, "a's objects all freed");
	expect_near(pa.site.alloc_bytes, NA * 64UL, 20,
		    "a's bytes allocated stay");
	expect_near(pb.site.live_bytes, NB / 2 * 1000UL, 25,
		    "half of b's freed");
	for (i = 1; i < NB; i += 2)
		uslub_kfree(b[i]);
	free(a);
	free(b);
}
TEST_END

/*
 * One site keeps its blocks while another, of the same size class, frees
 * each at once, twenty times as often: the kept site's live bytes must
 * be its own (the samples land on the allocation that crosses the
 * countdown, not on whichever allocation next leaves the fast path,
 * which here would always be a kept one), and the churning site's none.
 */
#define NKEEP	20000
#define CHURN	20

TEST_BEGIN(test_churn_beside_leak)
{
	void **keep = calloc(NKEEP, sizeof(*keep));
	struct profile a0, c0, a1, c1;
	unsigned int i, j;

	dump_and_parse(prof_site_a, &a0);
	dump_and_parse(prof_site_c, &c0);
	for (i = 0; i < NKEEP; i++) {
		keep[i] = prof_site_a(64);
		for (j = 0; j < CHURN; j++)
			uslub_free(prof_site_c(64));
	}
	dump_and_parse(prof_site_a, &a1);
	dump_and_parse(prof_site_c, &c1);
	/* About 310 samples kept, 6250 churned. */
	expect_near(a1.site.live_bytes - a0.site.live_bytes, NKEEP * 64UL, 25,
		    "the kept site's live bytes");
	expect_near(a1.site.alloc_bytes - a0.site.alloc_bytes, NKEEP * 64UL,
		    25, "the kept site's bytes allocated");
	expect_u_eq(c1.site.live_bytes - c0.site.live_bytes, 0,
		    "the churning site holds nothing");
	expect_near(c1.site.alloc_bytes - c0.site.alloc_bytes,
		    NKEEP * CHURN * 64UL, 10, "the churning site's bytes");
	for (i = 0; i < NKEEP; i++)
		uslub_free(keep[i]);
	free(keep);
}
TEST_END

/* Large blocks are all but certain to be sampled (weight ~1); a huge one
 * moved by realloc's mremap is followed to its new address and size. */
TEST_BEGIN(test_large_huge_realloc)
{
	void *large[50], *huge[2];
	struct profile pr;
	unsigned int i;

	for (i = 0; i < 50; i++)
		large[i] = prof_site_b(100 << 10);
	dump_and_parse(prof_site_b, &pr);
	expect_u_eq(pr.site.live_count, 50, "every large block sampled");
	expect_u_eq(pr.site.live_bytes, 50UL * (100 << 10), "their bytes");
	for (i = 0; i < 50; i++)
		uslub_kfree(large[i]);
	dump_and_parse(prof_site_b, &pr);
	expect_u_eq(pr.site.live_bytes, 0, "large blocks freed");

	for (i = 0; i < 2; i++)
		huge[i] = prof_site_a(6 << 20);
	for (i = 0; i < 2; i++) {
		huge[i] = uslub_realloc(huge[i], 12 << 20);
		expect_true(huge[i] != NULL, "realloc to 12 MiB");
	}
	dump_and_parse(prof_site_a, &pr);
	expect_u_eq(pr.site.live_count, 2, "two huge blocks");
	expect_u_eq(pr.site.live_bytes, 2UL * (12 << 20),
		    "at their size after realloc");
	for (i = 0; i < 2; i++)
		uslub_free(huge[i]);
	dump_and_parse(prof_site_a, &pr);
	expect_u_eq(pr.site.live_bytes, 0, "huge blocks freed");
}
TEST_END

#define THREADS		4
#define KEEP		4000	/* 128-byte objects each thread keeps */

static void *worker(void *arg)
{
	void **keep = arg;
	unsigned int i, j;

	for (i = 0; i < KEEP; i++) {
		keep[i] = prof_site_c(128);
		for (j = 0; j < 4; j++)		/* churn: freed at once */
			uslub_free(prof_site_c(128));
	}
	return NULL;
}

TEST_BEGIN(test_threads)
{
	static void *keep[THREADS][KEEP];
	pthread_t t[THREADS];
	struct profile pr, pr0;
	unsigned int i, j;

	dump_and_parse(prof_site_c, &pr0);
	for (i = 0; i < THREADS; i++)
		expect_d_eq(pthread_create(&t[i], NULL, worker, keep[i]), 0,
			    "thread %u", i);
	for (i = 0; i < 5; i++)			/* dumps while they run */
		dump_and_parse(prof_site_c, &pr);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	dump_and_parse(prof_site_c, &pr);
	expect_near(pr.site.live_bytes - pr0.site.live_bytes,
		    THREADS * KEEP * 128UL, 20, "live bytes of all threads");
	expect_near(pr.site.alloc_bytes - pr0.site.alloc_bytes,
		    THREADS * KEEP * 5 * 128UL, 20,
		    "bytes allocated by all threads");
	for (i = 0; i < THREADS; i++)
		for (j = 0; j < KEEP; j++)
			uslub_free(keep[i][j]);
	dump_and_parse(prof_site_c, &pr);
	expect_u_eq(pr.site.live_bytes, pr0.site.live_bytes, "all freed");
}
TEST_END

static void child_samples(void *arg)
{
	struct profile pr;
	unsigned int i;

	(void)arg;
	for (i = 0; i < 2000; i++)
		prof_site_a(512);
	dump_and_parse(prof_site_a, &pr);
	expect_near(pr.site.live_bytes, 2000 * 512UL, 25,
		    "the child's own allocations");
	WRITE_ONCE(prof_active, false);		/* no profile at its exit */
}

TEST_BEGIN(test_fork_child)
{
	char out[4096];
	int status;

	expect_d_eq(test_run_child(child_samples, NULL, &status, out,
				   sizeof(out)), 0, "fork");
	expect_true(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "the child samples and dumps: %s", out);
}
TEST_END

TEST_BEGIN(test_off)
{
	WRITE_ONCE(prof_active, false);
	errno = 0;
	expect_d_eq(uslub_prof_dump("/tmp/uslub-prof-never"), -1, "off: -1");
	expect_d_eq(errno, EINVAL, "EINVAL");
	expect_d_ne(access("/tmp/uslub-prof-never", F_OK), 0, "no file");
	WRITE_ONCE(prof_active, true);
}
TEST_END

TEST_BEGIN(test_bad_path)
{
	errno = 0;
	expect_d_eq(uslub_prof_dump("/nonexistent/dir/x.heap"), -1,
		    "unwritable path: -1");
	expect_d_eq(errno, ENOENT, "open's errno");
}
TEST_END

int main(void)
{
	int ret;

	/* The library's constructor initialised uslub already, with the
	 * options of the environment; nothing was allocated yet. */
	if (options_parse("prof=1,prof_sample=4096,prof_seed=7"))
		return 1;
	prof_init();
	ret = test(test_totals_and_frees, test_churn_beside_leak,
		   test_large_huge_realloc, test_threads, test_fork_child,
		   test_off, test_bad_path, NULL);
	WRITE_ONCE(prof_active, false);		/* no profile at exit */
	return ret;
}
