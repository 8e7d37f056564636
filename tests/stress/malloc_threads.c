/*
 * Stress: the uslub_* malloc family from many threads at once.
 *
 * test_malloc_threads: max(4, 2 x CPUs) workers each keep SLOTS live
 * blocks and, at random, allocate (malloc, calloc, posix_memalign,
 * aligned_alloc, realloc(NULL, n); 1 byte to 1 MiB, log-uniform, and
 * first and now and then 5 MiB, a mapping of its own), free, realloc, or
 * hand a block to another worker through that worker's inbox (a
 * mutex-protected queue); they also take blocks from their own inbox and
 * free or realloc them there (remote frees and reallocs).  Every block
 * carries a pattern derived from its address, size and a serial number
 * (all of it up to FULL_FILL bytes, above that its head, tail and a word
 * every STRIDE bytes), checked with its alignment and usable size before
 * each free and realloc; calloc blocks are checked for zero first;
 * realloc must keep the old contents.  Workers live for ops_per_life
 * operations, leave their blocks in the inboxes and exit; a new worker
 * takes the slot and its inbox (thread exit flushing the caches).  One
 * more thread calls uslub_malloc_trim, uslub_heap_stats_get and
 * uslub_malloc_stats_write all along.  At the end the inboxes are
 * drained, every allocation was freed, and after a trim the heap's
 * allocated bytes are back where they started.
 *
 * Operations: 1/10 with USLUB_CONFIG_TSAN, x10 with USLUB_STRESS=heavy.
 */
#include "test.h"

#include "uslub.h"
#include "stress.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS	64
#define LIVES		6		/* generations of each worker */
#define SLOTS		64		/* live blocks per worker */
#define QUEUE_CAP	512		/* blocks in each worker's inbox */
#define FULL_FILL	(16 * KiB)	/* blocks up to this are filled whole */
#define EDGE		4096		/* else head and tail, */
#define STRIDE		(64 * KiB)	/* and a word every STRIDE bytes */
#define HUGE_SIZE	(5 * MiB)
#define TRIM_PERIOD_MS	50

enum counter {
	C_MALLOC, C_CALLOC, C_POSIX_MEMALIGN, C_ALIGNED_ALLOC, C_REALLOC_NULL,
	C_FREE, C_FREE_REMOTE, C_REALLOC, C_REALLOC_REMOTE, C_HANDOFF,
	C_HUGE, C_EXIT_HANDOFF,
	NR_COUNTERS
};

static const char *const counter_name[NR_COUNTERS] = {
	"malloc", "calloc", "posix_memalign", "aligned_alloc", "realloc(NULL)",
	"free", "remote free", "realloc", "remote realloc", "handoff",
	"5 MiB block", "handoff at exit",
};

struct blk {
	unsigned char *p;
	size_t size;
	size_t align;		/* the alignment it must have */
	uint64_t tag;		/* of the pattern */
	unsigned int owner;	/* worker that stamped it */
};

struct queue {
	pthread_mutex_t lock;
	struct blk ring[QUEUE_CAP];	/* under lock */
	unsigned int head, count;	/* under lock */
};

struct worker {
	pthread_t thread;
	unsigned int id;		/* unique over all lives */
	unsigned int slot_nr;		/* which inbox is its own */
	uint64_t rng;
	uint64_t serial;
	struct blk slot[SLOTS];
	unsigned long count[NR_COUNTERS];
};

static struct mt {
	struct queue inbox[MAX_WORKERS];	/* one per worker slot */
	unsigned int nr_workers;
	unsigned long ops_per_life;
	unsigned long count[NR_COUNTERS];	/* atomic */
	unsigned long alloc_failed;		/* atomic */
	unsigned long bad;			/* atomic: failed checks */
	unsigned long live;			/* atomic: allocated - freed */
	bool stop;				/* atomic */
	unsigned long trims, stats_calls;	/* trimmer thread */
	unsigned long released_fell;		/* trimmer thread */
} mt;

/* ---- Patterns -------------------------------------------------------- */

static uint64_t tag_of(const void *p, size_t size, uint64_t serial)
{
	return mix64((uint64_t)(uintptr_t)p ^ ((uint64_t)size << 17) ^
		     (serial * 0x9e3779b97f4a7c15ULL));
}

/* Where the tail pattern of a block larger than FULL_FILL starts (8-byte
 * aligned, as pattern_fill wants). */
static size_t tail_of(size_t size)
{
	return (size - EDGE) & ~(size_t)7;
}

static void blk_fill(const struct blk *b)
{
	size_t off, tail = tail_of(b->size);

	if (b->size <= FULL_FILL) {
		pattern_fill(b->p, b->size, b->tag);
		return;
	}
	pattern_fill(b->p, EDGE, b->tag);
	for (off = STRIDE; off + 8 <= tail; off += STRIDE) {
		uint64_t w = b->tag ^ off;

		memcpy(b->p + off, &w, 8);
	}
	pattern_fill(b->p + tail, b->size - tail, ~b->tag);
}

/*
 * Offset of the first broken byte among those b's pattern puts below
 * limit, when the block now lies at p; SIZE_MAX if none.  With limit ==
 * b->size: the whole pattern; smaller: what realloc to limit must keep.
 */
static size_t blk_check_at(const struct blk *b, const unsigned char *p,
			   size_t limit)
{
	size_t off, bad, tail = tail_of(b->size);

	if (b->size <= FULL_FILL)
		return pattern_check(p, limit < b->size ? limit : b->size,
				     b->tag);
	bad = pattern_check(p, limit < EDGE ? limit : EDGE, b->tag);
	if (bad != SIZE_MAX)
		return bad;
	for (off = STRIDE; off + 8 <= tail && off + 8 <= limit; off += STRIDE) {
		uint64_t w;

		memcpy(&w, p + off, 8);
		if (w != (b->tag ^ off))
			return off;
	}
	if (limit < b->size)
		return SIZE_MAX;
	bad = pattern_check(p + tail, b->size - tail, ~b->tag);
	return bad == SIZE_MAX ? SIZE_MAX : tail + bad;
}

/* Offset of the first non-zero byte where blk_fill would write, or
 * SIZE_MAX. */
static size_t zero_check(const unsigned char *p, size_t size)
{
	size_t i, off, tail = tail_of(size);

	if (size <= FULL_FILL) {
		for (i = 0; i < size; i++)
			if (p[i])
				return i;
		return SIZE_MAX;
	}
	for (i = 0; i < EDGE; i++)
		if (p[i])
			return i;
	for (i = tail; i < size; i++)
		if (p[i])
			return i;
	for (off = STRIDE; off + 8 <= tail; off += STRIDE) {
		uint64_t w;

		memcpy(&w, p + off, 8);
		if (w)
			return off;
	}
	return SIZE_MAX;
}

/* Counts a failed check; reports the first MAX_REPORTS in full. */
#define report(...) do {						\
	if (__atomic_fetch_add(&mt.bad, 1, __ATOMIC_RELAXED) < MAX_REPORTS) \
		expect_true(false, __VA_ARGS__);			\
} while (0)

/* The checks made before a block is freed or realloc'd, on any thread. */
static void blk_verify(const struct blk *b, unsigned int who)
{
	size_t off = blk_check_at(b, b->p, b->size);
	size_t usable = uslub_usable_size(b->p);

	if (off != SIZE_MAX)
		report(
		    "worker %u: block %p (size %zu, from worker %u) corrupt at "
		    "offset %zu",
		    who, b->p, b->size, b->owner, off);
	if (usable < b->size)
		report("worker %u: usable_size(%p) = %zu < %zu", who, b->p,
		       usable, b->size);
	if ((uintptr_t)b->p & (b->align - 1))
		report("worker %u: block %p (size %zu) not %zu-aligned", who,
		       b->p, b->size, b->align);
}

/* Gives b a fresh tag for where it lies now, and stamps it. */
static void blk_stamp(struct worker *w, struct blk *b)
{
	b->owner = w->id;
	b->tag = tag_of(b->p, b->size, ++w->serial | (uint64_t)w->id << 40);
	blk_fill(b);
}

/* ---- The queue ------------------------------------------------------- */

static bool queue_put(struct queue *q, const struct blk *b)
{
	bool ok;

	pthread_mutex_lock(&q->lock);
	ok = q->count < QUEUE_CAP;
	if (ok)
		q->ring[(q->head + q->count++) % QUEUE_CAP] = *b;
	pthread_mutex_unlock(&q->lock);
	return ok;
}

static bool queue_get(struct queue *q, struct blk *b)
{
	bool ok;

	pthread_mutex_lock(&q->lock);
	ok = q->count > 0;
	if (ok) {
		*b = q->ring[q->head];
		q->head = (q->head + 1) % QUEUE_CAP;
		q->count--;
	}
	pthread_mutex_unlock(&q->lock);
	return ok;
}

/* Another worker slot's inbox, at random. */
static struct queue *other_inbox(struct worker *w)
{
	unsigned int k = 1 + (unsigned int)(xorshift64(&w->rng) %
					    (mt.nr_workers - 1));

	return &mt.inbox[(w->slot_nr + k) % mt.nr_workers];
}

/* ---- Worker operations ----------------------------------------------- */

/* 1 byte to 1 MiB, log-uniform; 1 in 1024 a 5 MiB block. */
static size_t pick_size(uint64_t r)
{
	unsigned int shift;
	size_t size;

	if (r % 1024 == 0)
		return HUGE_SIZE + (size_t)(r >> 10) % 4096;
	shift = (unsigned int)(r >> 10) % 21;
	size = ((size_t)1 << shift) + (size_t)(r >> 16) % ((size_t)1 << shift);
	return size > MiB ? MiB : size;
}

static size_t malloc_align(size_t size)
{
	size_t a = 1;

	while (a < 16 && a * 2 <= size)
		a *= 2;
	return a;
}

/* A new block in the empty slot b, by one of the allocation calls. */
static void op_alloc(struct worker *w, struct blk *b)
{
	uint64_t r = xorshift64(&w->rng);
	size_t size = pick_size(xorshift64(&w->rng));
	size_t align;

	if (w->serial == 0)		/* each worker maps one at least */
		size = HUGE_SIZE + (size_t)(r >> 32) % 4096;
	align = malloc_align(size);
	enum counter how = (enum counter)(r % 8 < 3 ? C_MALLOC : r % 8 - 2);
	void *p = NULL;

	switch (how) {
	case C_MALLOC:
		p = uslub_malloc(size);
		break;
	case C_CALLOC:
		p = size % 8 == 0 && r & 8 ? uslub_calloc(size / 8, 8)
					    : uslub_calloc(1, size);
		break;
	case C_POSIX_MEMALIGN:
		align = (size_t)8 << ((r >> 8) % 14);	/* 8 .. 64 KiB */
		if (uslub_posix_memalign(&p, align, size) != 0)
			p = NULL;
		break;
	case C_ALIGNED_ALLOC:
		align = (size_t)16 << ((r >> 8) % 12);	/* 16 .. 32 KiB */
		p = uslub_aligned_alloc(align, size);
		break;
	default:
		how = C_REALLOC_NULL;
		p = uslub_realloc(NULL, size);
		break;
	}
	if (!p) {
		__atomic_fetch_add(&mt.alloc_failed, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_fetch_add(&mt.live, 1, __ATOMIC_RELAXED);
	w->count[how]++;
	w->count[C_HUGE] += size >= HUGE_SIZE;
	b->p = p;
	b->size = size;
	b->align = align;
	if (how == C_CALLOC) {
		size_t off = zero_check(p, size);

		if (off != SIZE_MAX)
			report("worker %u: calloc(%zu) = %p not zero at %zu",
			       w->id, size, p, off);
	}
	blk_stamp(w, b);
}

static void op_free(struct worker *w, struct blk *b, bool remote)
{
	blk_verify(b, w->id);
	uslub_free(b->p);
	__atomic_fetch_sub(&mt.live, 1, __ATOMIC_RELAXED);
	w->count[remote ? C_FREE_REMOTE : C_FREE]++;
	b->p = NULL;
}

/* realloc b to a new size; the kept part of the old pattern must hold. */
static void op_realloc(struct worker *w, struct blk *b, bool remote)
{
	uint64_t r = xorshift64(&w->rng);
	size_t size = r % 4 == 0 ? b->size + (size_t)(r >> 8) % 64 + 1
				 : pick_size(r >> 2);
	unsigned char *p;
	size_t off;

	blk_verify(b, w->id);
	p = uslub_realloc(b->p, size);
	if (!p) {
		__atomic_fetch_add(&mt.alloc_failed, 1, __ATOMIC_RELAXED);
		return;			/* b is still a live block */
	}
	off = blk_check_at(b, p, size);
	if (off != SIZE_MAX)
		report(
		    "worker %u: realloc(%p, %zu -> %zu) = %p lost the contents "
		    "at %zu",
		    w->id, b->p, b->size, size, p, off);
	w->count[remote ? C_REALLOC_REMOTE : C_REALLOC]++;
	w->count[C_HUGE] += size >= HUGE_SIZE && b->size < HUGE_SIZE;
	b->p = p;
	b->size = size;
	b->align = malloc_align(size);
	blk_stamp(w, b);
}

/* Takes a block another thread left in the inbox, frees or reallocs it. */
static void op_take(struct worker *w)
{
	struct blk b;
	unsigned int i;

	if (!queue_get(&mt.inbox[w->slot_nr], &b))
		return;
	if (xorshift64(&w->rng) % 3 == 0) {
		for (i = 0; i < SLOTS; i++) {
			if (w->slot[i].p)
				continue;
			op_realloc(w, &b, b.owner != w->id);
			w->slot[i] = b;
			return;
		}
	}
	op_free(w, &b, b.owner != w->id);
}

static void op_step(struct worker *w)
{
	uint64_t r = xorshift64(&w->rng);
	struct blk *b = &w->slot[(r >> 8) % SLOTS];

	if (r % 4 == 0)
		op_take(w);
	if (!b->p) {
		op_alloc(w, b);
		return;
	}
	switch ((r >> 16) % 10) {
	case 0 ... 3:
		op_free(w, b, false);
		break;
	case 4 ... 6:
		op_realloc(w, b, false);
		break;
	default:
		blk_verify(b, w->id);
		if (queue_put(other_inbox(w), b)) {
			w->count[C_HANDOFF]++;
			b->p = NULL;
		} else {
			op_free(w, b, false);
		}
		break;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned long i;

	for (i = 0; i < mt.ops_per_life; i++)
		op_step(w);
	/* Leave the blocks to the other workers and the next generation;
	 * free what does not fit. */
	for (i = 0; i < SLOTS; i++) {
		struct blk *b = &w->slot[i];

		if (!b->p)
			continue;
		blk_verify(b, w->id);
		if (queue_put(i % 2 ? other_inbox(w) : &mt.inbox[w->slot_nr],
			      b))
			w->count[C_EXIT_HANDOFF]++;
		else
			op_free(w, b, false);
		b->p = NULL;
	}
	for (i = 0; i < NR_COUNTERS; i++)
		__atomic_fetch_add(&mt.count[i], w->count[i], __ATOMIC_RELAXED);
	return NULL;
}

/* ---- The trimmer ----------------------------------------------------- */

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { 0, (long)ms * 1000000L };

	nanosleep(&ts, NULL);
}

static void *trimmer_main(void *arg)
{
	struct uslub_heap_stats st, prev;
	int devnull = open("/dev/null", O_WRONLY);

	(void)arg;
	uslub_heap_stats_get(&prev);
	while (!__atomic_load_n(&mt.stop, __ATOMIC_ACQUIRE)) {
		uslub_malloc_trim(0);
		mt.trims++;
		uslub_heap_stats_get(&st);
		mt.stats_calls++;
		if (st.released < prev.released)
			mt.released_fell++;
		prev = st;
		if (mt.trims % 8 == 0 && devnull >= 0 &&
		    uslub_malloc_stats_write(devnull) != 0)
			report("malloc_stats_write to /dev/null failed");
		sleep_ms(TRIM_PERIOD_MS);
	}
	if (devnull >= 0)
		close(devnull);
	return NULL;
}

/* ---- The test -------------------------------------------------------- */

static struct worker *worker_start(unsigned int slot_nr, unsigned int id)
{
	struct worker *w = calloc(1, sizeof(*w));

	assert_ptr_not_null(w, "worker state");
	w->slot_nr = slot_nr;
	w->id = id;
	w->rng = mix64(0x2545f4914f6cdd1dULL * (id + 1));
	assert_d_eq(pthread_create(&w->thread, NULL, worker_main, w), 0,
		    "start worker %u", id);
	return w;
}

static unsigned int nr_workers(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned long n = cpus > 0 ? 2 * (unsigned long)cpus : 4;

	if (n < 4)
		n = 4;
	return n > MAX_WORKERS ? MAX_WORKERS : (unsigned int)n;
}

TEST_BEGIN(test_malloc_threads)
{
	struct worker *w[MAX_WORKERS];
	unsigned int n = nr_workers(), t, life, i;
	struct uslub_heap_stats st0, st1;
	pthread_t trimmer;
	struct blk b;
	unsigned long drained = 0;

	memset(&mt, 0, sizeof(mt));
	mt.nr_workers = n;
	for (t = 0; t < n; t++)
		pthread_mutex_init(&mt.inbox[t].lock, NULL);
	mt.ops_per_life = stress_scale(2500);
	uslub_malloc_trim(0);
	uslub_heap_stats_get(&st0);

	assert_d_eq(pthread_create(&trimmer, NULL, trimmer_main, NULL), 0,
		    "start the trimmer");
	for (t = 0; t < n; t++)
		w[t] = worker_start(t, t);
	/* Each slot's worker is replaced as soon as it is done, so the
	 * generations overlap. */
	for (life = 1; life < LIVES; life++) {
		for (t = 0; t < n; t++) {
			pthread_join(w[t]->thread, NULL);
			free(w[t]);
			w[t] = worker_start(t, life * n + t);
		}
	}
	for (t = 0; t < n; t++) {
		pthread_join(w[t]->thread, NULL);
		free(w[t]);
	}
	__atomic_store_n(&mt.stop, true, __ATOMIC_RELEASE);
	pthread_join(trimmer, NULL);

	for (t = 0; t < n; t++) {
		while (queue_get(&mt.inbox[t], &b)) {
			blk_verify(&b, ~0u);
			uslub_free(b.p);
			__atomic_fetch_sub(&mt.live, 1, __ATOMIC_RELAXED);
			drained++;
		}
	}

	printf("# %u workers x %d lives x %lu operations:", n, LIVES,
	       mt.ops_per_life);
	for (i = 0; i < NR_COUNTERS; i++)
		printf(" %s %lu%s", counter_name[i], mt.count[i],
		       i + 1 < NR_COUNTERS ? "," : "");
	printf("; %lu trims\n", mt.trims);
	expect_u_eq(mt.alloc_failed, 0, "allocations that failed");
	expect_u_eq(mt.bad, 0,
		    "failed checks (pattern, usable size, alignment, "
		    "zero)");
	expect_u_eq(mt.live, 0, "blocks allocated and never freed");
	for (i = 0; i < NR_COUNTERS; i++)
		expect_u_gt(mt.count[i], 0, "operations of kind %s",
			    counter_name[i]);
	expect_u_gt(drained, 0, "blocks left in the queue at the end");
	expect_u_gt(mt.trims, 0, "malloc_trim calls");
	expect_u_gt(mt.stats_calls, 0, "heap_stats_get calls");
	expect_u_eq(mt.released_fell, 0, "times the released total fell");

	/* Every thread is gone and every block freed: after a trim the heap
	 * holds what it held before. */
	uslub_malloc_trim(0);
	uslub_heap_stats_get(&st1);
	expect_zu_le(st1.allocated, st0.allocated + MiB,
		     "allocated after the run (%zu, before %zu)", st1.allocated,
		     st0.allocated);
	expect_zu_eq(st1.huge_count, st0.huge_count, "huge mappings left");
	expect_zu_ge(st1.mapped, st1.allocated, "mapped >= allocated");
	for (t = 0; t < n; t++)
		pthread_mutex_destroy(&mt.inbox[t].lock);
}
TEST_END

int main(void)
{
	return test(test_malloc_threads, NULL);
}
