/*
 * Stress: a random mixed workload on 8 threads (more threads than cores).
 *
 * test_mixed: each thread keeps a ring of RING live blocks and, driven by
 * an xorshift generator with a fixed seed per thread, replaces random
 * blocks with kmalloc blocks of 8..1024 bytes or 8 bytes..32 KiB, grows
 * (and now and then shrinks) kmalloc blocks with krealloc, replaces blocks
 * with objects of two user caches (freed with uslub_cache_free, or with
 * uslub_kfree), allocates zeroed blocks (checked to be zero), and every
 * HANDOFF operations moves a batch of its blocks to another thread's
 * mailbox (a lock-protected array) and refills the slots, half of them
 * with uslub_cache_alloc_bulk; mailboxes are drained every DRAIN
 * operations, cache objects freed with uslub_cache_free_bulk.
 * Every block is stamped with a pattern when it is allocated and checked
 * before it is freed, after krealloc (the old contents must survive), and
 * at random; kmalloc blocks also by ksize() >= the size asked.  Afterwards
 * as many blocks were freed as allocated, and the user caches have no
 * active object and can be destroyed.
 *
 * Iterations: 1/10 with USLUB_CONFIG_TSAN, x10 with USLUB_STRESS=heavy.
 */
#include "test.h"

#include "uslub.h"
#include "stress.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NTHREADS	8
#define RING		256		/* live blocks per thread */
#define HANDOFF		509		/* operations between hand-offs */
#define DRAIN		253		/* operations between mailbox drains */
#define BATCH		32		/* blocks per hand-off */
#define MAILBOX_CAP	2048
#define REALLOC_MAX	(64 * KiB)

/* ---- Blocks ---------------------------------------------------------- */

enum kind { K_KMALLOC, K_CACHE48, K_CACHE320, NR_KINDS };

struct block {
	void *p;
	size_t size;
	uint64_t tag;
	enum kind kind;
};

struct mailbox {
	pthread_mutex_t lock;
	struct block b[MAILBOX_CAP];	/* under lock */
	unsigned int count;		/* under lock */
};

struct counters {
	unsigned long allocated, freed, reallocs, zeroed, checked;
	unsigned long handed, drained, alloc_failed;
	unsigned long bad, not_zero, ksize_short;
};

static struct mixed {
	struct uslub_cache *cache[NR_KINDS];
	unsigned long iters;
	pthread_barrier_t done_sending;
	struct mailbox box[NTHREADS];
	struct counters cnt[NTHREADS];	/* thread t's, read after join */
	unsigned long reports;		/* atomic */
} mx;

static const size_t cache_size[NR_KINDS] = { 0, 48, 320 };

struct worker {
	unsigned int id;
	uint64_t rng;
	uint64_t seq;
	struct block ring[RING];
	struct block got[MAILBOX_CAP];	/* drained from the mailbox */
	void *bulk[NR_KINDS][MAILBOX_CAP];	/* to uslub_cache_free_bulk */
	unsigned int nbulk[NR_KINDS];
	struct counters *cnt;
};

/* One failure, "<what> <value>", for the first MAX_REPORTS failures. */
static void report(struct worker *w, const char *what, const struct block *b,
		   size_t value)
{
	if (__atomic_fetch_add(&mx.reports, 1, __ATOMIC_RELAXED) < MAX_REPORTS)
		expect_true(false, "thread %u: block %p (kind %d, size %zu): "
			    "%s %zu", w->id, b->p, (int)b->kind, b->size, what,
			    value);
}

/* Checks b's pattern and ksize; when says when (for the report). */
static void block_check(struct worker *w, const struct block *b,
			const char *when)
{
	size_t off = pattern_check(b->p, b->size, b->tag);
	size_t ksize = uslub_ksize(b->p);
	char what[96];

	w->cnt->checked++;
	if (off != SIZE_MAX) {
		w->cnt->bad++;
		snprintf(what, sizeof(what), "%s: corrupt at offset", when);
		report(w, what, b, off);
	}
	if (ksize < b->size) {
		w->cnt->ksize_short++;
		snprintf(what, sizeof(what), "%s: ksize below the size asked:",
			 when);
		report(w, what, b, ksize);
	}
}

/* Cache objects go back through uslub_cache_free, or one in four through
 * uslub_kfree, which takes objects of any cache, as the kernel's does. */
static void block_free(struct worker *w, struct block *b, const char *what)
{
	if (!b->p)
		return;
	block_check(w, b, what);
	if (b->kind == K_KMALLOC || (b->tag >> 8) % 4 == 0)
		uslub_kfree(b->p);
	else
		uslub_cache_free(mx.cache[b->kind], b->p);
	b->p = NULL;
	w->cnt->freed++;
}

/* Offset of the first byte that is not zero, or SIZE_MAX. */
static size_t first_nonzero(const void *p, size_t size)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < size; i++)
		if (c[i])
			return i;
	return SIZE_MAX;
}

/* Allocates a new block of the kind and size asked into b, stamped. */
static void block_alloc(struct worker *w, struct block *b, enum kind kind,
			size_t size, bool zero)
{
	uslub_gfp_t gfp = zero ? USLUB_GFP_ZERO : 0;

	b->kind = kind;
	b->size = kind == K_KMALLOC ? size : cache_size[kind];
	b->p = kind == K_KMALLOC ? uslub_kmalloc(b->size, gfp)
				 : uslub_cache_alloc(mx.cache[kind], gfp);
	if (!b->p) {
		w->cnt->alloc_failed++;
		return;
	}
	w->cnt->allocated++;
	if (zero) {
		size_t off = first_nonzero(b->p, b->size);

		w->cnt->zeroed++;
		if (off != SIZE_MAX) {
			w->cnt->not_zero++;
			report(w, "zeroed allocation: not zero at offset", b,
			       off);
		}
	}
	b->tag = mix64((uint64_t)w->id << 48 ^ w->seq++);
	pattern_fill(b->p, b->size, b->tag);
}

/* Grows (or, with shrink, shrinks) a kmalloc block with krealloc; the
 * old contents must come along, up to the smaller size. */
static void block_resize(struct worker *w, struct block *b, uint64_t r,
			 bool shrink)
{
	size_t size = shrink ? 1 + (size_t)(r % b->size)
			     : b->size + 1 + (size_t)(r % b->size);
	void *p;

	if (size > REALLOC_MAX)
		size = REALLOC_MAX;
	if (size == b->size)
		return;
	block_check(w, b, "before krealloc");
	p = uslub_krealloc(b->p, size, 0);
	if (!p) {
		w->cnt->alloc_failed++;
		return;
	}
	b->p = p;
	if (size < b->size)
		b->size = size;
	block_check(w, b, "old contents after krealloc");
	b->size = size;
	b->tag = mix64((uint64_t)w->id << 48 ^ w->seq++);
	pattern_fill(b->p, b->size, b->tag);
	w->cnt->reallocs++;
}

static void drain(struct worker *w)
{
	struct mailbox *m = &mx.box[w->id];
	struct block *got = w->got;
	unsigned int n, i;

	pthread_mutex_lock(&m->lock);
	n = m->count;
	memcpy(got, m->b, n * sizeof(got[0]));
	m->count = 0;
	pthread_mutex_unlock(&m->lock);
	/* Cache objects are checked here and freed in bulk below. */
	for (i = 0; i < n; i++) {
		struct block *b = &got[i];

		w->cnt->drained++;
		if (b->kind == K_KMALLOC) {
			block_free(w, b, "received");
			continue;
		}
		block_check(w, b, "received");
		w->bulk[b->kind][w->nbulk[b->kind]++] = b->p;
		w->cnt->freed++;
	}
	for (i = K_CACHE48; i < NR_KINDS; i++) {
		uslub_cache_free_bulk(mx.cache[i], w->nbulk[i], w->bulk[i]);
		w->nbulk[i] = 0;
	}
}

/* Refills n ring slots from k on with one uslub_cache_alloc_bulk. */
static void refill_bulk(struct worker *w, unsigned int k, unsigned int n,
			enum kind kind)
{
	void *objs[BATCH];
	unsigned int i;

	if (uslub_cache_alloc_bulk(mx.cache[kind], 0, n, objs) != n) {
		w->cnt->alloc_failed += n;
		return;
	}
	for (i = 0; i < n; i++) {
		struct block *b = &w->ring[(k + i) % RING];

		b->p = objs[i];
		b->kind = kind;
		b->size = cache_size[kind];
		b->tag = mix64((uint64_t)w->id << 48 ^ w->seq++);
		pattern_fill(b->p, b->size, b->tag);
		w->cnt->allocated++;
	}
}

/* Moves BATCH ring blocks from slot `from' to another thread's mailbox
 * (or frees them here if it is full) and refills the slots. */
static void hand_off(struct worker *w, unsigned int from, uint64_t r)
{
	unsigned int to = (w->id + 1 + (unsigned int)(r % (NTHREADS - 1))) %
			  NTHREADS;
	struct mailbox *m = &mx.box[to];
	unsigned int i, k;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < BATCH; i++) {
		struct block *b = &w->ring[(from + i) % RING];

		if (!b->p || m->count == MAILBOX_CAP)
			continue;
		m->b[m->count++] = *b;
		b->p = NULL;
		w->cnt->handed++;
	}
	pthread_mutex_unlock(&m->lock);
	for (i = 0; i < BATCH; i++) {
		k = (from + i) % RING;
		block_free(w, &w->ring[k], "hand-off overflow");
		if (i < BATCH / 2)
			block_alloc(w, &w->ring[k], K_KMALLOC,
				    8 + (size_t)(xorshift64(&w->rng) % 1017),
				    false);
	}
	refill_bulk(w, from + BATCH / 2, BATCH / 2,
		    r % 2 ? K_CACHE48 : K_CACHE320);
}

static void step(struct worker *w, unsigned long it)
{
	uint64_t r = xorshift64(&w->rng);
	struct block *b = &w->ring[(r >> 32) % RING];
	unsigned int op = (unsigned int)(r % 100);

	if (it % HANDOFF == HANDOFF - 1) {
		hand_off(w, (unsigned int)(r >> 40) % RING, r >> 20);
		return;
	}
	if (it % DRAIN == DRAIN - 1)
		drain(w);
	if (op >= 96) {				/* check only */
		if (b->p)
			block_check(w, b, "at random");
		return;
	}
	if (op >= 60 && op < 70 && b->p && b->kind == K_KMALLOC) {
		block_resize(w, b, r >> 8, op >= 67);
		return;
	}
	block_free(w, b, "replaced");
	if (op < 50 || (op >= 60 && op < 70))
		block_alloc(w, b, K_KMALLOC, 8 + (size_t)((r >> 8) % 1017), false);
	else if (op < 60)
		block_alloc(w, b, K_KMALLOC, 8 + (size_t)((r >> 8) % (32 * KiB - 7)),
			    false);
	else if (op < 90)
		block_alloc(w, b, op % 2 ? K_CACHE48 : K_CACHE320, 0, false);
	else if (op < 93)
		block_alloc(w, b, K_KMALLOC, 1 + (size_t)((r >> 8) % 4096), true);
	else
		block_alloc(w, b, op % 2 ? K_CACHE48 : K_CACHE320, 0, true);
}

static void *mixed_thread(void *arg)
{
	struct worker *w = calloc(1, sizeof(*w));
	unsigned int id = (unsigned int)(uintptr_t)arg, i;
	unsigned long it;

	if (!w) {
		mx.cnt[id].alloc_failed++;
		pthread_barrier_wait(&mx.done_sending);
		return NULL;
	}
	w->id = id;
	w->rng = mix64(0x1234567ULL + id);
	w->cnt = &mx.cnt[id];
	for (it = 0; it < mx.iters; it++)
		step(w, it);
	for (i = 0; i < RING; i++)
		block_free(w, &w->ring[i], "at the end");
	pthread_barrier_wait(&mx.done_sending);
	drain(w);
	free(w);
	return NULL;
}

TEST_BEGIN(test_mixed)
{
	pthread_t th[NTHREADS];
	struct counters sum;
	struct slabrow row;
	unsigned int t;

	memset(&mx, 0, sizeof(mx));
	mx.iters = stress_scale(1000000);
	mx.cache[K_CACHE48] = uslub_cache_create("mixed_obj48", 48, 0, 0, NULL);
	mx.cache[K_CACHE320] = uslub_cache_create("mixed_obj320", 320, 0,
						  USLUB_HWCACHE_ALIGN, NULL);
	assert_ptr_not_null(mx.cache[K_CACHE48]);
	assert_ptr_not_null(mx.cache[K_CACHE320]);
	pthread_barrier_init(&mx.done_sending, NULL, NTHREADS);
	for (t = 0; t < NTHREADS; t++)
		pthread_mutex_init(&mx.box[t].lock, NULL);

	for (t = 0; t < NTHREADS; t++)
		assert_d_eq(pthread_create(&th[t], NULL, mixed_thread,
					   (void *)(uintptr_t)t), 0);
	for (t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);

	memset(&sum, 0, sizeof(sum));
	for (t = 0; t < NTHREADS; t++) {
		struct counters *c = &mx.cnt[t];

		sum.allocated += c->allocated;
		sum.freed += c->freed;
		sum.reallocs += c->reallocs;
		sum.zeroed += c->zeroed;
		sum.checked += c->checked;
		sum.handed += c->handed;
		sum.drained += c->drained;
		sum.alloc_failed += c->alloc_failed;
		sum.bad += c->bad;
		sum.not_zero += c->not_zero;
		sum.ksize_short += c->ksize_short;
		expect_u_eq(mx.box[t].count, 0, "mailbox %u drained", t);
	}
	expect_u_eq(sum.alloc_failed, 0, "allocations that failed");
	expect_u_eq(sum.bad, 0, "blocks whose pattern was broken");
	expect_u_eq(sum.not_zero, 0, "zeroed allocations not zero");
	expect_u_eq(sum.ksize_short, 0, "ksize below the size asked");
	expect_u_eq(sum.freed, sum.allocated, "blocks freed vs allocated");
	expect_u_eq(sum.drained, sum.handed, "blocks received vs handed off");
	expect_u_gt(sum.handed, 0, "hand-offs happened");
	expect_u_gt(sum.reallocs, 0, "kreallocs happened");
	expect_u_gt(sum.zeroed, 0, "zeroed allocations happened");
	expect_u_ge(sum.checked, sum.freed, "every freed block was checked");

	assert_true(slabinfo_find("mixed_obj48", &row), "mixed_obj48 listed");
	expect_u_eq(row.active_objs, 0, "mixed_obj48 active_objs");
	assert_true(slabinfo_find("mixed_obj320", &row), "mixed_obj320 listed");
	expect_u_eq(row.active_objs, 0, "mixed_obj320 active_objs");
	expect_d_eq(uslub_cache_destroy(mx.cache[K_CACHE48]), 0, "destroy");
	expect_d_eq(uslub_cache_destroy(mx.cache[K_CACHE320]), 0, "destroy");
	for (t = 0; t < NTHREADS; t++)
		pthread_mutex_destroy(&mx.box[t].lock);
	pthread_barrier_destroy(&mx.done_sending);
}
TEST_END

int main(void)
{
	return test(test_mixed, NULL);
}
