/*
 * Unit tests for debug caches (lib/debug.c, USLUB_DEBUG in lib/options.c):
 * the slub_debug syntax, the debug layout (red zones, free pointer,
 * tracks, alignment kept), O, the states objects go through (poison and
 * red zone bytes), ctor state surviving, GFP_ZERO, the counters, and
 * threads allocating and freeing across each other on a debug cache while
 * another validates it or takes ksize of its objects (TSan in that
 * flavour).  The report texts are
 * checked by tests/debug/run.sh.
 */
#include "test.h"

#include "debug.h"
#include "options.h"
#include "pagemap.h"
#include "uslub.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define FZPU	(USLUB_CONSISTENCY_CHECKS | USLUB_RED_ZONE | USLUB_POISON | \
		 USLUB_STORE_USER)

static unsigned long flags_for(const char *spec, const char *name, bool *off)
{
	bool o;

	options_parse_debug(spec);
	return options_debug_flags(name, off ? off : &o);
}

TEST_BEGIN(test_slub_debug_syntax)
{
	bool off;

	expect_u_eq(flags_for("", "kmalloc-64", NULL), 0, "empty: nothing");
	expect_u_eq(flags_for("FZPU", "anything", NULL), FZPU, "global block");
	expect_u_eq(flags_for("fz", "x", NULL),
		    USLUB_CONSISTENCY_CHECKS | USLUB_RED_ZONE, "lower case");
	expect_u_eq(flags_for("T", "x", NULL), USLUB_TRACE, "T");
	expect_u_eq(flags_for("-", "x", NULL), 0, "- switches all off");
	expect_u_eq(flags_for(",dentry", "dentry", NULL), FZPU,
		    "no letters: FZPU");
	expect_u_eq(flags_for(",dentry", "inode", NULL), 0,
		    "named block: only its caches");
	expect_u_eq(flags_for("Z,kmalloc-64,my_cache*", "kmalloc-64", NULL),
		    USLUB_RED_ZONE, "exact name");
	expect_u_eq(flags_for("Z,kmalloc-64,my_cache*", "kmalloc-640", NULL),
		    0, "exact name is not a prefix");
	expect_u_eq(flags_for("Z,kmalloc-64,my_cache*", "my_cache_2", NULL),
		    USLUB_RED_ZONE, "a trailing * matches a prefix");
	expect_u_eq(flags_for("FZPU;-,zs*", "zs_handle", NULL), 0,
		    "a named block overrides the global one");
	expect_u_eq(flags_for("FZPU;-,zs*", "kmalloc-8", NULL), FZPU,
		    "others keep the global block");
	expect_u_eq(flags_for("P,a;U,b", "b", NULL), USLUB_STORE_USER,
		    "second block");
	expect_u_eq(flags_for("FZO", "x", &off),
		    USLUB_CONSISTENCY_CHECKS | USLUB_RED_ZONE, "O is no flag");
	expect_true(off, "O is reported");
	flags_for("FZ", "x", &off);
	expect_false(off, "no O");
	expect_d_eq(options_parse_debug("FQ"), 1, "an unknown letter warns");
	options_parse_debug(NULL);
	expect_u_eq(flags_for("", "x", NULL), 0, "cleared");
}
TEST_END

TEST_BEGIN(test_layout)
{
	struct uslub_cache *s = uslub_cache_create("dbg_layout", 24, 0,
						    FZPU, NULL);
	struct uslub_cache *a = uslub_cache_create("dbg_align", 100, 64,
						    USLUB_RED_ZONE, NULL);
	char *p, *q;

	expect_ptr_not_null(s, "create");
	expect_u_eq(s->red_left_pad, 8, "a word of left red zone");
	expect_u_eq(s->inuse, 32, "a word of right red zone after 24 bytes");
	expect_u_eq(s->offset, 32, "free pointer after the red zone");
	expect_u_eq(s->track_off, 40, "tracks after the free pointer");
	expect_u_eq(s->pad_off, 40 + 2 * sizeof(struct track), "padding");
	expect_u_eq(uslub_cache_size(s), 24, "object size unchanged");
	p = uslub_cache_alloc(s, 0);
	expect_u_eq((unsigned char)p[-1], RED_ACTIVE, "left red zone active");
	expect_u_eq((unsigned char)p[24], RED_ACTIVE, "right red zone active");
	expect_u_eq((unsigned char)p[31], RED_ACTIVE, "to the word end");
	expect_u_eq((unsigned char)p[0], POISON_FREE, "contents still poison");
	uslub_cache_free(s, p);
	expect_u_eq((unsigned char)p[-1], RED_INACTIVE, "left red zone free");
	expect_u_eq((unsigned char)p[24], RED_INACTIVE, "right red zone free");
	expect_u_eq((unsigned char)p[0], POISON_FREE, "poisoned");
	expect_u_eq((unsigned char)p[23], POISON_END, "poison end byte");
	expect_u_eq(uslub_cache_validate(s), 0, "sound");

	expect_u_eq(a->red_left_pad, 64, "left pad keeps the alignment");
	q = uslub_cache_alloc(a, 0);
	expect_u_eq((uintptr_t)q % 64, 0, "object aligned to 64");
	uslub_cache_free(a, q);
	expect_d_eq(uslub_cache_destroy(a), 0, "destroy");
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

static void ctor_fill(void *p)
{
	memset(p, 0x37, 40);
}

TEST_BEGIN(test_ctor_zero_and_counts)
{
	struct uslub_cache *s = uslub_cache_create("dbg_ctor", 40, 0, FZPU,
						    ctor_fill);
	char *p, *objs[100];
	unsigned int i;

	p = uslub_cache_alloc(s, 0);
	expect_u_eq((unsigned char)p[39], 0x37, "ctor state, not poison");
	p[0] = 0x37;
	uslub_cache_free(s, p);
	expect_u_eq((unsigned char)p[5], 0x37, "no poison over a ctor's state");
	p = uslub_cache_zalloc(s, 0);
	expect_u_eq((unsigned char)p[39], 0, "zalloc zeroes");
	memset(p, 0x37, 40);
	uslub_cache_free(s, p);
	for (i = 0; i < 100; i++)
		objs[i] = uslub_cache_alloc(s, 0);
	for (i = 0; i < 100; i++)
		for (unsigned int j = i + 1; j < 100; j++)
			expect_ptr_ne(objs[i], objs[j], "distinct objects");
	expect_d_eq(uslub_cache_destroy(s), -16, "100 live: EBUSY");
	for (i = 0; i < 100; i++)
		uslub_cache_free(s, objs[i]);
	expect_u_eq(uslub_cache_validate(s), 0, "sound");
	expect_d_eq(uslub_cache_destroy(s), 0, "all freed: destroyed");
}
TEST_END

TEST_BEGIN(test_order_off)
{
	struct uslub_cache *plain, *big, *small;

	/* 32 KiB objects fill an order-3 slab exactly: with red zones and
	 * tracks they need order 4. */
	plain = uslub_cache_create("dbg_o_plain", 32768, 0, 0, NULL);
	options_parse_debug("FZPU");
	big = uslub_cache_create("dbg_o_big", 32768, 0, 0, NULL);
	expect_u_gt(big->order, plain->order, "debugging raises the order");
	uslub_cache_destroy(big);
	options_parse_debug("FZPUO");
	big = uslub_cache_create("dbg_o_big", 32768, 0, 0, NULL);
	small = uslub_cache_create("dbg_o_small", 16, 0, 0, NULL);
	options_parse_debug(NULL);
	expect_u_eq(big->flags & SLAB_DEBUG_FLAGS, 0, "O: debug dropped");
	expect_u_eq(big->order, plain->order, "and the order kept");
	expect_u_eq(small->flags & SLAB_DEBUG_FLAGS, FZPU,
		    "O: kept where the order does not grow");
	uslub_cache_destroy(plain);
	uslub_cache_destroy(big);
	uslub_cache_destroy(small);
}
TEST_END

/* ---- Threads: cross-thread frees on a debug cache -------------------- */

#define THREADS	4
#define ROUNDS	2000
#define SLOTS	64

static struct uslub_cache *mt_cache;
static void *_Atomic mt_slot[SLOTS];
static _Atomic int mt_stop;

static void *mt_worker(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg, i;

	for (i = 0; i < ROUNDS; i++) {
		unsigned int k = (seed = seed * 1103515245u + 12345u) % SLOTS;
		char *p = uslub_cache_alloc(mt_cache, 0), *old;

		memset(p, (int)k, 48);
		old = atomic_exchange(&mt_slot[k], p);
		if (old)
			uslub_cache_free(mt_cache, old);
	}
	return NULL;
}

static void *mt_validator(void *arg)
{
	unsigned long *found = arg;

	while (!atomic_load(&mt_stop))
		*found += uslub_cache_validate(mt_cache);
	return NULL;
}

TEST_BEGIN(test_threads)
{
	pthread_t t[THREADS], v;
	unsigned long found = 0;
	unsigned int i;

	mt_cache = uslub_cache_create("dbg_threads", 48, 0, FZPU, NULL);
	pthread_create(&v, NULL, mt_validator, &found);
	for (i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, mt_worker, (void *)(uintptr_t)(i + 1));
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	atomic_store(&mt_stop, 1);
	pthread_join(v, NULL);
	expect_u_eq(found, 0, "validation while threads work finds nothing");
	for (i = 0; i < SLOTS; i++)
		if (mt_slot[i])
			uslub_cache_free(mt_cache, mt_slot[i]);
	expect_u_eq(uslub_cache_validate(mt_cache), 0, "sound at the end");
	expect_d_eq(uslub_cache_destroy(mt_cache), 0,
		    "every object freed: the counters agree");
}
TEST_END

/*
 * ksize of a live object while other threads allocate and free in the
 * same slabs of a debug cache, which rewrites each slab's counters under
 * list_lock: ksize checks the object start against the cache's geometry,
 * not the slab's counters word (ThreadSanitizer reported the race).
 */
struct ksize_reader {
	void *obj[SLOTS / 2];
	unsigned long wrong;
};

static void *ksize_reader(void *arg)
{
	struct ksize_reader *r = arg;
	unsigned int i;

	while (!atomic_load(&mt_stop))
		for (i = 0; i < SLOTS / 2; i++)
			r->wrong += uslub_ksize(r->obj[i]) != 48;
	return NULL;
}

TEST_BEGIN(test_ksize_beside_debug_frees)
{
	struct ksize_reader r = { .wrong = 0 };
	pthread_t t[THREADS], v;
	unsigned int i;

	mt_cache = uslub_cache_create("dbg_ksize", 48, 0, FZPU, NULL);
	for (i = 0; i < SLOTS; i++)
		mt_slot[i] = NULL;
	/* Every other object stays live: the workers allocate and free in
	 * the reader's slabs, between its objects. */
	for (i = 0; i < SLOTS; i++) {
		void *p = uslub_cache_alloc(mt_cache, 0);

		if (i % 2)
			uslub_cache_free(mt_cache, p);
		else
			r.obj[i / 2] = p;
	}
	atomic_store(&mt_stop, 0);
	pthread_create(&v, NULL, ksize_reader, &r);
	for (i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, mt_worker, (void *)(uintptr_t)(i + 7));
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	atomic_store(&mt_stop, 1);
	pthread_join(v, NULL);
	expect_lu_eq(r.wrong, 0, "ksize of live objects stays their size");
	for (i = 0; i < SLOTS; i++)
		if (mt_slot[i])
			uslub_cache_free(mt_cache, mt_slot[i]);
	for (i = 0; i < SLOTS / 2; i++)
		uslub_cache_free(mt_cache, r.obj[i]);
	expect_d_eq(uslub_cache_destroy(mt_cache), 0, "every object freed");
}
TEST_END

/*
 * The same without threads, deterministically: ksize of an object while
 * its slab's counters word says the slab holds no objects (a state it
 * can pass through while a debug cache rewrites the word under
 * list_lock).  The object-start check takes the bound from the cache's
 * geometry, so the answer does not change; bounded by the counters, it
 * reported an invalid pointer.
 */
TEST_BEGIN(test_ksize_ignores_slab_counters)
{
	struct uslub_cache *s = uslub_cache_create("dbg_geom", 48, 0, FZPU,
						   NULL);
	struct slab *slab;
	unsigned int objects;
	void *p;

	assert_ptr_not_null(s, "cache");
	p = uslub_cache_alloc(s, 0);
	assert_ptr_not_null(p, "object");
	slab = pagemap_head(p);
	assert_ptr_not_null(slab, "its slab");
	objects = slab->objects;
	slab->objects = 0;
	expect_zu_eq(uslub_ksize(p), 48, "ksize from the cache's geometry");
	slab->objects = objects;
	uslub_cache_free(s, p);
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

int main(void)
{
	return test(test_slub_debug_syntax, test_layout,
		    test_ctor_zero_and_counts, test_order_off, test_threads,
		    test_ksize_beside_debug_frees,
		    test_ksize_ignores_slab_counters, NULL);
}
