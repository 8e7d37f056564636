/*
 * Stress: caches created, shared between threads and destroyed, while
 * another thread keeps reading the statistics.
 *
 * test_cache_churn: 4 workers, each in turn for 500 rounds (50 under
 * ThreadSanitizer, 5000 with USLUB_STRESS=heavy), split over GENERATIONS
 * generations of threads that exit and are replaced:
 *   - creates a cache named "cc<worker>_<round>" of a size that varies,
 *   - allocates objects from it and stamps them,
 *   - hands half of them to its neighbour worker, which checks and frees
 *     them, then allocates objects of its own from the cache (leaving it a
 *     cpu slab and a local freelist there), or one time in 8 has a helper
 *     thread allocate them and exit, and hands those back,
 *   - checks and frees its own half and what came back (remote frees into
 *     the neighbour's cpu slab), one time in 4 shrinks, and destroys the
 *     cache, or half the time has the neighbour destroy it: 0 every time,
 *     since no object is left.
 * Meanwhile a reader thread writes slabinfo, the event counters, meminfo
 * and buddyinfo to /dev/null in a loop (statistics walking the cpu slots of
 * caches being destroyed and of threads exiting), and now and then parses
 * slabinfo: no cache destroyed before the read began may be listed, and
 * every listed "cc" cache must have been created.  Afterwards slabinfo
 * lists as many caches as before the test.
 *
 * test_destroy_busy_during_churn: while 3 threads allocate and free
 * kmalloc blocks of every size up to 32 KiB (and create and destroy small
 * caches), the main thread destroys a cache that still has 10 objects,
 * 200 times (x10 heavy, same under TSan): -EBUSY each time, the objects
 * stay valid, and each report (captured through log_set_error_fd) names
 * exactly those 10 objects.  The report walks page descriptors that the
 * other threads are changing (TSan found a race there, fixed in a852fff).
 */
#include "test.h"

#include "uslub.h"
#include "log.h"
#include "stress.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NWORKERS	4
#define GENERATIONS	5
#define MAX_OBJS	96		/* objects a worker allocates per round */
#define NBACK		24		/* objects the neighbour hands back */
#define PARSE_EVERY	8		/* reader: one parsed slabinfo in 8 */

/* Rows of slabinfo (after the two header lines); -1 if unreadable. */
static long slabinfo_rows(void)
{
	char *text = stats_text(uslub_slabinfo_write), *p;
	long rows = 0;

	if (!text)
		return -1;
	for (p = text; (p = strchr(p, '\n')) != NULL; p++)
		rows++;
	free(text);
	return rows - 2;
}

static bool slabinfo_lists(const char *name)
{
	char *text = stats_text(uslub_slabinfo_write), *line;
	size_t n = strlen(name);
	bool found = false;

	for (line = text; line && *line && !found; line = strchr(line, '\n'),
	     line += line != NULL)
		found = strncmp(line, name, n) == 0 && line[n] == ' ';
	free(text);
	return found;
}

/* ---- Workers --------------------------------------------------------- */

struct req {
	enum { REQ_SERVE, REQ_DESTROY } op;
	int ret;			/* REQ_DESTROY: what destroy returned */
	struct uslub_cache *cache;
	size_t size;
	unsigned int n;			/* objects handed over */
	void *objs[MAX_OBJS];
	uint64_t tags[MAX_OBJS];
	unsigned int nback;		/* objects handed back */
	void *back[NBACK];
	uint64_t back_tags[NBACK];
	bool done;			/* under cc.lock */
};

static struct cc {
	/* One lock and one condition for all mailboxes: four workers. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct req *inbox[NWORKERS];	/* under lock */
	unsigned int finished;		/* under lock: workers of the generation */
	unsigned long rounds;		/* per worker and generation */
	unsigned long next_round[NWORKERS];	/* owned by worker w */
	/* atomic: caches of worker w created / destroyed so far */
	unsigned long created[NWORKERS], destroyed[NWORKERS];
	bool stop;			/* atomic: reader stops */
	/* atomic counters */
	unsigned long bad, create_failed, alloc_failed, destroy_failed;
	unsigned long listed_after_destroy, listed_never_created;
	unsigned long reads, parsed, helpers;
	unsigned long rows_bad;
} cc;

static void report_bad(size_t off, const void *p, size_t size, const char *what)
{
	if (__atomic_fetch_add(&cc.bad, 1, __ATOMIC_RELAXED) < MAX_REPORTS)
		expect_zu_eq(off, SIZE_MAX, "%s: object %p (size %zu) corrupt "
			     "at offset", what, p, size);
}

/* Allocates and stamps the objects handed back with r. */
static void alloc_back(struct req *r, unsigned int me)
{
	unsigned int i;

	r->nback = 0;
	for (i = 0; i < NBACK; i++) {
		void *p = uslub_cache_alloc(r->cache, 0);

		if (!p) {
			__atomic_fetch_add(&cc.alloc_failed, 1, __ATOMIC_RELAXED);
			continue;
		}
		r->back_tags[r->nback] = mix64((uint64_t)me << 56 ^
					       (uint64_t)(uintptr_t)p ^ i);
		pattern_fill(p, r->size, r->back_tags[r->nback]);
		r->back[r->nback++] = p;
	}
}

static void *helper(void *arg)
{
	alloc_back(arg, NWORKERS);
	__atomic_fetch_add(&cc.helpers, 1, __ATOMIC_RELAXED);
	return NULL;
}

/* The neighbour's side: check and free what came, allocate some of our
 * own from the cache (and free a few, so they sit on our cpu freelist),
 * and hand back the rest. */
static void serve(struct req *r, unsigned int me)
{
	void *tmp[8];
	unsigned int i;
	size_t off;

	if (r->op == REQ_DESTROY) {
		r->ret = uslub_cache_destroy(r->cache);
		return;
	}
	for (i = 0; i < r->n; i++) {
		off = pattern_check(r->objs[i], r->size, r->tags[i]);
		if (off != SIZE_MAX)
			report_bad(off, r->objs[i], r->size, "handed over");
		uslub_cache_free(r->cache, r->objs[i]);
	}
	/* One request in 8: a short-lived helper thread allocates what goes
	 * back and exits (its slot is retired while others create, destroy
	 * and read statistics). */
	if ((r->tags[0] >> 8) % 8 == 3 && r->n) {
		pthread_t th;

		if (pthread_create(&th, NULL, helper, r) == 0) {
			pthread_join(th, NULL);
			return;
		}
	}
	alloc_back(r, me);
	for (i = 0; i < 8; i++)
		tmp[i] = uslub_cache_alloc(r->cache, 0);
	for (i = 0; i < 8; i++)
		uslub_cache_free(r->cache, tmp[i]);
}

/* Serves our inbox until cond() holds; called and returns with cc.lock. */
static void wait_serving(unsigned int me, bool (*cond)(unsigned int, void *),
			 void *arg)
{
	while (!cond(me, arg)) {
		struct req *r = cc.inbox[me];

		if (r) {
			cc.inbox[me] = NULL;
			pthread_mutex_unlock(&cc.lock);
			serve(r, me);
			pthread_mutex_lock(&cc.lock);
			r->done = true;
			pthread_cond_broadcast(&cc.cond);
			continue;
		}
		pthread_cond_wait(&cc.cond, &cc.lock);
	}
}

static bool req_done(unsigned int me, void *arg)
{
	(void)me;
	return ((struct req *)arg)->done;
}

static bool all_finished(unsigned int me, void *arg)
{
	(void)me;
	(void)arg;
	return cc.finished == NWORKERS;
}

static void req_send(unsigned int to, struct req *r)
{
	r->done = false;
	pthread_mutex_lock(&cc.lock);
	cc.inbox[to] = r;
	pthread_cond_broadcast(&cc.cond);
	pthread_mutex_unlock(&cc.lock);
}

/* Waits for our request r, answering the requests sent to us meanwhile. */
static void req_wait(unsigned int me, struct req *r)
{
	pthread_mutex_lock(&cc.lock);
	wait_serving(me, req_done, r);
	pthread_mutex_unlock(&cc.lock);
}

static void one_round(unsigned int me, unsigned long round, struct req *r)
{
	unsigned int next = (me + 1) % NWORKERS, i, n, mine;
	uint64_t h = mix64((uint64_t)me << 32 | round) >> 1;	/* bit 0 too */
	void *objs[MAX_OBJS];
	uint64_t tags[MAX_OBJS];
	char name[64];
	size_t size, off;
	int ret;

	/* Sizes 8..1031, one round in 8 up to 4.6 KiB (higher orders);
	 * every third cache cache-line aligned. */
	size = 8 + (size_t)(h % 1024);
	if (h % 8 == 1)
		size = 1024 + (size_t)((h >> 12) % 3584);
	snprintf(name, sizeof(name), "cc%u_%lu", me, round);
	r->cache = uslub_cache_create(name, size, 0,
				      h % 3 == 0 ? USLUB_HWCACHE_ALIGN : 0, NULL);
	if (!r->cache) {
		__atomic_fetch_add(&cc.create_failed, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_store_n(&cc.created[me], round + 1, __ATOMIC_RELEASE);

	n = 32 + (unsigned int)((h >> 20) % (MAX_OBJS - 32 + 1));
	for (i = 0; i < n; i++) {
		objs[i] = uslub_cache_alloc(r->cache, 0);
		tags[i] = mix64(h ^ i);
		if (!objs[i])
			__atomic_fetch_add(&cc.alloc_failed, 1, __ATOMIC_RELAXED);
		else
			pattern_fill(objs[i], size, tags[i]);
	}
	/* The upper half goes to the neighbour. */
	mine = n / 2;
	r->size = size;
	r->n = 0;
	for (i = mine; i < n; i++) {
		if (!objs[i])
			continue;
		r->objs[r->n] = objs[i];
		r->tags[r->n++] = tags[i];
	}
	r->op = REQ_SERVE;
	req_send(next, r);

	for (i = 0; i < mine; i++) {
		if (!objs[i])
			continue;
		off = pattern_check(objs[i], size, tags[i]);
		if (off != SIZE_MAX)
			report_bad(off, objs[i], size, "own");
		uslub_cache_free(r->cache, objs[i]);
	}

	req_wait(me, r);

	for (i = 0; i < r->nback; i++) {
		off = pattern_check(r->back[i], size, r->back_tags[i]);
		if (off != SIZE_MAX)
			report_bad(off, r->back[i], size, "handed back");
		uslub_cache_free(r->cache, r->back[i]);
	}
	if ((h >> 40) % 4 == 2)
		uslub_cache_shrink(r->cache);
	if ((h >> 44) % 2) {
		/* The neighbour destroys it: its creator keeps a cpu slot
		 * with a cpu slab, and struct uslub_cache is freed remotely. */
		r->op = REQ_DESTROY;
		req_send(next, r);
		req_wait(me, r);
		ret = r->ret;
	} else {
		ret = uslub_cache_destroy(r->cache);
	}
	if (ret != 0 &&
	    __atomic_fetch_add(&cc.destroy_failed, 1, __ATOMIC_RELAXED) <
	    MAX_REPORTS)
		expect_d_eq(ret, 0, "destroy %s", name);
	__atomic_store_n(&cc.destroyed[me], round + 1, __ATOMIC_RELEASE);
	if (round % 32 == 0 && slabinfo_lists(name) &&
	    __atomic_fetch_add(&cc.listed_after_destroy, 1, __ATOMIC_RELAXED) <
	    MAX_REPORTS)
		expect_true(false, "%s listed after its destroy returned", name);
}

static void *worker(void *arg)
{
	unsigned int me = (unsigned int)(uintptr_t)arg;
	struct req *r = malloc(sizeof(*r));
	unsigned long k;

	if (!r)
		__atomic_fetch_add(&cc.create_failed, 1, __ATOMIC_RELAXED);
	for (k = 0; r && k < cc.rounds; k++)
		one_round(me, cc.next_round[me]++, r);
	pthread_mutex_lock(&cc.lock);
	cc.finished++;
	pthread_cond_broadcast(&cc.cond);
	/* Our requests are all answered; keep answering the others'. */
	wait_serving(me, all_finished, NULL);
	pthread_mutex_unlock(&cc.lock);
	free(r);
	return NULL;
}

/* ---- The statistics reader ------------------------------------------- */

/* Checks one parsed slabinfo against what was destroyed before it. */
static void reader_check(void)
{
	unsigned long destroyed[NWORKERS], created;
	char *text, *line;
	unsigned int w;

	for (w = 0; w < NWORKERS; w++)
		destroyed[w] = __atomic_load_n(&cc.destroyed[w], __ATOMIC_ACQUIRE);
	text = stats_text(uslub_slabinfo_write);
	if (!text)
		return;
	for (line = text; *line; line = strchr(line, '\n') + 1) {
		unsigned long round, active, objs;
		char tail;

		if (strncmp(line, "cc", 2) != 0)
			continue;
		if (sscanf(line, "cc%u_%lu %lu %lu%c", &w, &round, &active,
			   &objs, &tail) != 5 || w >= NWORKERS || tail != ' ') {
			__atomic_fetch_add(&cc.rows_bad, 1, __ATOMIC_RELAXED);
			continue;
		}
		created = __atomic_load_n(&cc.created[w], __ATOMIC_ACQUIRE);
		if (round < destroyed[w] &&
		    __atomic_fetch_add(&cc.listed_after_destroy, 1,
				       __ATOMIC_RELAXED) < MAX_REPORTS)
			expect_true(false, "reader: cc%u_%lu listed, destroyed "
				    "before the read began", w, round);
		/* Created now means create() returned or is returning. */
		if (round > created &&
		    __atomic_fetch_add(&cc.listed_never_created, 1,
				       __ATOMIC_RELAXED) < MAX_REPORTS)
			expect_true(false, "reader: cc%u_%lu listed, never "
				    "created", w, round);
	}
	free(text);
	__atomic_fetch_add(&cc.parsed, 1, __ATOMIC_RELAXED);
}

static void *reader(void *arg)
{
	int fd = open("/dev/null", O_WRONLY);
	unsigned long i;

	(void)arg;
	for (i = 0; !__atomic_load_n(&cc.stop, __ATOMIC_ACQUIRE); i++) {
		if (uslub_slabinfo_write(fd) != 0 ||
		    uslub_stats_write(fd) != 0 ||
		    uslub_meminfo_write(fd) != 0 ||
		    uslub_buddyinfo_write(fd) != 0)
			__atomic_fetch_add(&cc.rows_bad, 1, __ATOMIC_RELAXED);
		if (i % PARSE_EVERY == 0)
			reader_check();
		__atomic_fetch_add(&cc.reads, 1, __ATOMIC_RELAXED);
	}
	close(fd);
	return NULL;
}

TEST_BEGIN(test_cache_churn)
{
	unsigned long total = stress_scale(500);
	long rows_before, rows_after;
	pthread_t rd, th[NWORKERS];
	unsigned int g, w;
	char *text;

	memset(&cc, 0, sizeof(cc));
	pthread_mutex_init(&cc.lock, NULL);
	pthread_cond_init(&cc.cond, NULL);
	cc.rounds = total / GENERATIONS ? total / GENERATIONS : 1;
	rows_before = slabinfo_rows();
	assert_d_gt(rows_before, 0, "slabinfo readable");

	assert_d_eq(pthread_create(&rd, NULL, reader, NULL), 0);
	for (g = 0; g < GENERATIONS; g++) {
		cc.finished = 0;
		for (w = 0; w < NWORKERS; w++)
			assert_d_eq(pthread_create(&th[w], NULL, worker,
						   (void *)(uintptr_t)w), 0);
		for (w = 0; w < NWORKERS; w++)
			pthread_join(th[w], NULL);
	}
	__atomic_store_n(&cc.stop, true, __ATOMIC_RELEASE);
	pthread_join(rd, NULL);

	expect_u_eq(cc.create_failed, 0, "creates that failed");
	expect_u_eq(cc.alloc_failed, 0, "allocations that failed");
	expect_u_eq(cc.destroy_failed, 0, "destroys that did not return 0");
	expect_u_eq(cc.bad, 0, "objects whose pattern was broken");
	expect_u_eq(cc.listed_after_destroy, 0, "destroyed caches listed");
	expect_u_eq(cc.listed_never_created, 0, "unknown caches listed");
	expect_u_eq(cc.rows_bad, 0, "statistics writes failed or rows garbled");
	expect_u_gt(cc.parsed, 0, "the reader parsed slabinfo");
	expect_u_gt(cc.helpers, 0, "helper threads ran");
	for (w = 0; w < NWORKERS; w++) {
		expect_u_eq(cc.destroyed[w], cc.rounds * GENERATIONS,
			    "worker %u: caches created and destroyed", w);
	}
	rows_after = slabinfo_rows();
	expect_d_eq(rows_after, rows_before, "caches listed after the test "
		    "vs before");
	text = stats_text(uslub_slabinfo_write);
	expect_ptr_not_null(text);
	expect_true(text && !strstr(text, "\ncc"), "no cc* cache left");
	free(text);
	pthread_cond_destroy(&cc.cond);
	pthread_mutex_destroy(&cc.lock);
}
TEST_END

/* ---- test_destroy_busy_during_churn ---------------------------------- */

#define BUSY_OBJS	10
#define BUSY_CHURNERS	3
#define BUSY_TRIES	200		/* same under TSan: it is the target */
#define BUSY_CAPTURE	(4UL << 20)

static struct busy {
	bool stop;				/* atomic */
	unsigned long rounds, failed;		/* atomic */
} bz;

/* kmalloc of 1 byte..32 KiB, and now and then a cache of its own: slabs
 * and large blocks come and go, so page descriptors keep changing. */
static void *busy_churner(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	uint64_t x = mix64(id + 77);
	unsigned long n;
	void *p[64];
	unsigned int j;
	char name[32];

	for (n = 0; !__atomic_load_n(&bz.stop, __ATOMIC_ACQUIRE); n++) {
		for (j = 0; j < 64; j++) {
			x = mix64(x);
			/* half small, half 8..32 KiB: new blocks all along */
			p[j] = uslub_kmalloc(j % 2 ? 1 + (size_t)(x % 4096) :
					     8192 + (size_t)(x % 24577), 0);
			if (p[j])
				memset(p[j], 0x5c, 1);
		}
		for (j = 0; j < 64; j++)
			uslub_kfree(p[j]);
		if (n % 16 == 0) {
			struct uslub_cache *c;
			void *o;

			snprintf(name, sizeof(name), "ccb%lu_%lu",
				 (unsigned long)id, n);
			c = uslub_cache_create(name, 24 + n % 200, 0, 0, NULL);
			o = c ? uslub_cache_alloc(c, 0) : NULL;
			uslub_cache_free(c, o);
			if (!c || !o || uslub_cache_destroy(c) != 0)
				__atomic_fetch_add(&bz.failed, 1, __ATOMIC_RELAXED);
		}
		__atomic_fetch_add(&bz.rounds, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static unsigned long count_substr(const char *text, const char *needle)
{
	unsigned long n = 0;

	while ((text = strstr(text, needle)) != NULL) {
		n++;
		text += strlen(needle);
	}
	return n;
}

TEST_BEGIN(test_destroy_busy_during_churn)
{
	unsigned long tries = BUSY_TRIES, busy = 0, i, seen;
	const char *mode = getenv("USLUB_STRESS");
	pthread_t th[BUSY_CHURNERS];
	struct uslub_cache *s;
	void *objs[BUSY_OBJS];
	char *text, needle[128];
	FILE *f;
	size_t off, len;

	if (mode && strcmp(mode, "heavy") == 0)
		tries *= 10;
	memset(&bz, 0, sizeof(bz));
	s = uslub_cache_create("cc_busy", 100, 0, 0, NULL);
	f = tmpfile();
	text = malloc(BUSY_CAPTURE);
	assert_ptr_not_null(s);
	assert_ptr_not_null(f);
	assert_ptr_not_null(text);
	for (i = 0; i < BUSY_OBJS; i++) {
		objs[i] = uslub_cache_alloc(s, 0);
		assert_ptr_not_null(objs[i]);
		pattern_fill(objs[i], 100, mix64(i));
	}
	for (i = 0; i < BUSY_CHURNERS; i++)
		assert_d_eq(pthread_create(&th[i], NULL, busy_churner,
					   (void *)(uintptr_t)i), 0);
	while (__atomic_load_n(&bz.rounds, __ATOMIC_RELAXED) < BUSY_CHURNERS)
		sched_yield();

	/* uslub's reports go to the file; sanitizer reports stay on stderr. */
	log_set_error_fd(fileno(f));
	for (i = 0; i < tries; i++) {
		busy += uslub_cache_destroy(s) == -EBUSY;
		/* Let the churners run between two reports (relaxed: no
		 * ordering with them beyond what uslub itself provides). */
		seen = __atomic_load_n(&bz.rounds, __ATOMIC_RELAXED);
		while (__atomic_load_n(&bz.rounds, __ATOMIC_RELAXED) == seen)
			sched_yield();
	}
	log_set_error_fd(STDERR_FILENO);
	__atomic_store_n(&bz.stop, true, __ATOMIC_RELEASE);
	for (i = 0; i < BUSY_CHURNERS; i++)
		pthread_join(th[i], NULL);

	expect_u_eq(busy, tries, "destroys that returned -EBUSY");
	expect_u_eq(bz.failed, 0, "churners' cache operations that failed");
	for (i = 0; i < BUSY_OBJS; i++) {
		off = pattern_check(objs[i], 100, mix64(i));
		expect_zu_eq(off, SIZE_MAX, "object %lu stays valid", i);
	}

	len = (size_t)pread(fileno(f), text, BUSY_CAPTURE - 1, 0);
	text[len < BUSY_CAPTURE ? len : 0] = '\0';
	expect_u_eq(count_substr(text, "cache cc_busy: 10 objects remaining\n"),
		    tries, "reports of the live objects' count");
	expect_u_eq(count_substr(text, "cache cc_busy: not destroyed (-EBUSY)"),
		    tries, "reports of -EBUSY");
	for (i = 0; i < BUSY_OBJS; i++) {
		snprintf(needle, sizeof(needle), "cache cc_busy: object %p "
			 "still allocated", objs[i]);
		expect_u_eq(count_substr(text, needle), tries,
			    "object %lu named in every report", i);
	}
	for (i = 0; i < BUSY_OBJS; i++)
		uslub_cache_free(s, objs[i]);
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy once empty");
	fclose(f);
	free(text);
}
TEST_END

int main(void)
{
	return test(test_cache_churn, test_destroy_busy_during_churn, NULL);
}
