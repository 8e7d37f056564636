/*
 * Unit tests for the default mode's freelist hardening (lib/slab.h,
 * lib/slab.c), on caches without debug flags:
 *
 * test_free_pointers_encoded: the free pointer stored in a free object is
 * not the address of the next free object, decodes to an object of the
 * same slab (or NULL), and two caches encode with different values.
 * test_uaf_write_cannot_steer: a use-after-free write of an address into
 * a free object's free pointer (the classic way to make malloc return an
 * arbitrary address) is reported with the cache and the object, and no
 * allocation returns that address or anything outside the cache's slabs;
 * the objects before the bad pointer are still handed out once each.
 * test_uaf_write_in_a_detached_chain: the same in a slab whose free
 * objects a refill takes all at once and walks after dropping list_lock.
 *
 * The free tag (alloc.h): double frees that are not of the object just
 * freed are reported before the object can be handed out twice --
 * free a, free b, free a (free, kfree, cache_free; several sizes); the
 * second free from another thread; realloc of a freed block; a double
 * free after a trim moved the object to its slab's free list; an object
 * freed by a thread without a thread state.  After each report (with
 * abort_on_error off) the heap hands out every object once.  Caches with
 * a ctor keep the naive check and their objects' contents while free;
 * the slab layer's check reports under the operation's name.
 *
 * test_realloc_keeps_no_bad_pointer: realloc's fast path, which keeps a
 * block whose size still fits, refuses and reports a freed object, an
 * interior pointer and a freed large block asked for a size that would
 * fit, and an interior pointer asked for 0 bytes.
 */
#include "test.h"

#include "cache.h"
#include "debug.h"
#include "kmalloc.h"
#include "options.h"
#include "pagemap.h"
#include "slab.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OBJ_SIZE	64

static char target[OBJ_SIZE];	/* where an attacker wants malloc to go */

/*
 * A user cache whose first two slabs each keep one live object (keep[0],
 * keep[1]) and have every other object free on their freelists (the
 * caller's sheaves flushed by shrink).  *n: objects allocated.
 */
static struct uslub_cache *two_partial_slabs(const char *name, void **keep,
					     void ***all, unsigned int *n)
{
	struct uslub_cache *s = uslub_cache_create(name, OBJ_SIZE, 0, 0, NULL);
	unsigned int i, k = 0;
	void **v;

	if (!s)
		return NULL;
	*n = 2 * s->objects;
	v = calloc(*n, sizeof(*v));
	for (i = 0; v && i < *n; i++)
		v[i] = uslub_cache_alloc(s, 0);
	for (i = 0; v && i < *n; i++) {
		if (k < 2 && (i == 0 || pagemap_head(v[i]) !=
					     pagemap_head(keep[k - 1]))) {
			keep[k++] = v[i];
			continue;
		}
		uslub_cache_free(s, v[i]);
	}
	uslub_cache_shrink(s);		/* sheaves back to the slabs */
	*all = v;
	return s;
}

TEST_BEGIN(test_free_pointers_encoded)
{
	struct uslub_cache *s, *s2;
	unsigned int n, n2, k, plain = 0, outside = 0, walked = 0;
	void *keep[2], *keep2[2], **all, **all2;

	s = two_partial_slabs("hard_enc", keep, &all, &n);
	s2 = two_partial_slabs("hard_enc2", keep2, &all2, &n2);
	assert_ptr_not_null(s, "cache");
	assert_ptr_not_null(s2, "second cache");
	expect_u64_ne(s->random, s2->random, "each cache has its own value");
	for (k = 0; k < 2; k++) {
		struct slab *slab = pagemap_head(keep[k]);
		void *p = slab->freelist;

		assert_ptr_not_null(p, "slab %u has free objects", k);
		while (p && walked < n) {
			uintptr_t raw = *(uintptr_t *)((char *)p + s->offset);
			void *next = get_freepointer(s, p);

			plain += raw == (uintptr_t)next;
			outside += next && slab_object_index(s, slab, next) < 0;
			walked++;
			p = next;
		}
	}
	expect_u_eq(walked, n - 2, "every free object is on a freelist");
	expect_u_eq(plain, 0, "no free pointer is stored as it is");
	expect_u_eq(outside, 0, "each decodes to an object of its slab");
	free(all);
	free(all2);
}
TEST_END

static void alloc_all(void *arg)
{
	void **got = arg;
	struct uslub_cache *s = got[0];
	unsigned int i, n = (unsigned int)(uintptr_t)got[1];

	for (i = 0; i < n; i++)
		got[2 + i] = uslub_cache_alloc(s, 0);
}

TEST_BEGIN(test_uaf_write_cannot_steer)
{
	int saved = uslub_opt.abort_on_error;
	unsigned int n, i, j, foreign = 0, twice = 0, got_victim = 0;
	struct test_capture cap;
	void *keep[2], **all, **got, *victim, *next;
	struct uslub_cache *s;
	struct slab *slab;
	char err[2048], want[128];

	s = two_partial_slabs("hard_uaf", keep, &all, &n);
	assert_ptr_not_null(s, "cache");
	slab = pagemap_head(keep[0]);
	victim = slab->freelist;		/* head of the first chain */
	next = get_freepointer(s, victim);
	assert_ptr_not_null(next, "the victim has a successor");
	/* The bug: a write through a stale pointer to the freed victim. */
	*(void **)((char *)victim + s->offset) = target;

	got = calloc(n + 2, sizeof(*got));
	assert_ptr_not_null(got, "array");
	got[0] = s;
	got[1] = (void *)(uintptr_t)n;
	uslub_opt.abort_on_error = 0;
	test_capture_begin(&cap);
	alloc_all(got);
	test_capture_end(&cap, err, sizeof(err));
	uslub_opt.abort_on_error = saved;

	snprintf(want, sizeof(want), "cache hard_uaf: free object %p has a "
		 "corrupt free pointer", victim);
	expect_str_contains(err, want, "reported with the cache and object");
	for (i = 0; i < n; i++) {
		struct slab *h = got[2 + i] ? pagemap_head(got[2 + i]) : NULL;

		if (!got[2 + i])
			continue;
		foreign += got[2 + i] == (void *)target || !h ||
			   h->cache != s ||
			   slab_object_index(s, h, got[2 + i]) < 0;
		got_victim += got[2 + i] == victim;
		for (j = 0; j < i; j++)
			twice += got[2 + j] == got[2 + i];
	}
	expect_u_eq(foreign, 0, "no allocation outside the cache's objects");
	expect_u_eq(got_victim, 1, "the victim itself is handed out once");
	expect_u_eq(twice, 0, "no object handed out twice");
	for (i = 0; i < n; i++)
		if (got[2 + i])
			uslub_cache_free(s, got[2 + i]);
	uslub_cache_free(s, keep[0]);
	uslub_cache_free(s, keep[1]);
	free(got);
	free(all);
}
TEST_END

/*
 * The same write into a slab that a refill takes whole (its freelist
 * detached under list_lock and walked after it), with objects taken in
 * place behind it: slab a gets three objects back, slab b all but one,
 * the second object of a's chain is overwritten, and the next refill
 * takes a's chain whole and b's objects in place.  The report names the
 * object; a's first two objects are handed out, its third never, every
 * free object of b once, and nothing outside the cache.
 */
TEST_BEGIN(test_uaf_write_in_a_detached_chain)
{
	int saved = uslub_opt.abort_on_error;
	struct uslub_cache *s = uslub_cache_create("hard_chain", 16, 0, 0,
						   NULL);
	unsigned int n, i, j, k, m = 0, foreign = 0, twice = 0, fromb = 0;
	struct slab *a = NULL, *b = NULL;
	void **v, **got, *ch[3];
	struct test_capture cap;
	char err[2048], want[160];

	assert_ptr_not_null(s, "cache");
	/* b's free objects are more than any refill takes: it is walked in
	 * place, after a's chain in the refill's array. */
	assert_u_gt(s->objects - 1, SHEAF_MAX_CAPACITY,
		    "slab b is taken in place");
	n = 4 * s->objects;
	v = calloc(n, sizeof(*v));
	got = calloc(2 * n, sizeof(*got));
	assert_ptr_not_null(v, "array");
	assert_ptr_not_null(got, "array");
	for (i = 0; i < n; i++)
		assert_ptr_not_null(v[i] = uslub_cache_alloc(s, 0), "object");
	/* Two slabs whose every object is in v. */
	for (i = 0; i < n && !b; i++) {
		struct slab *h = pagemap_head(v[i]);

		for (j = k = 0; j < n; j++)
			k += pagemap_head(v[j]) == h;
		if (k != s->objects || h == a)
			continue;
		if (!a)
			a = h;
		else
			b = h;
	}
	assert_ptr_not_null(b, "two full slabs");
	for (i = j = k = 0; i < n; i++) {
		if ((pagemap_head(v[i]) == a && j++ < 3) ||
		    (pagemap_head(v[i]) == b && k++ > 0)) {
			uslub_cache_free(s, v[i]);
			v[i] = NULL;
		}
	}
	/* The frees back to their slabs; shrink puts a (3 free) at the
	 * front of s->partial, b (objects - 1 free) behind it. */
	uslub_cache_shrink(s);
	ch[0] = READ_ONCE(a->freelist);
	assert_ptr_not_null(ch[0], "slab a has a chain");
	ch[1] = get_freepointer(s, ch[0]);
	assert_ptr_not_null(ch[1], "of three");
	ch[2] = get_freepointer(s, ch[1]);
	assert_ptr_not_null(ch[2], "of three");
	*(void **)((char *)ch[1] + s->offset) = target;

	uslub_opt.abort_on_error = 0;
	test_capture_begin(&cap);
	for (i = 0; i < 2 * s->objects; i++)
		got[m++] = uslub_cache_alloc(s, 0);	/* a and b drained */
	test_capture_end(&cap, err, sizeof(err));
	uslub_opt.abort_on_error = saved;

	snprintf(want, sizeof(want), "cache hard_chain: free object %p has a "
		 "corrupt free pointer", ch[1]);
	expect_str_contains(err, want, "reported with the cache and object");
	for (i = 0, j = 0; i < m; i++) {
		struct slab *h = got[i] ? pagemap_head(got[i]) : NULL;

		foreign += !h || h->cache != s ||
			   slab_object_index(s, h, got[i]) < 0;
		for (k = 0; k < i; k++)
			twice += got[k] == got[i];
		for (k = 0; k < n; k++)
			twice += v[k] == got[i];
		j += got[i] == ch[0] || got[i] == ch[1];
		fromb += h == b;
		expect_ptr_ne(got[i], ch[2], "the object after the bad one");
	}
	expect_u_eq(foreign, 0, "no allocation outside the cache's objects");
	expect_u_eq(twice, 0, "no object handed out twice");
	expect_u_eq(j, 2, "a's chain up to the bad pointer");
	expect_u_eq(fromb, s->objects - 1, "every free object of b");
	for (i = 0; i < m; i++)
		uslub_cache_free(s, got[i]);
	for (i = 0; i < n; i++)
		if (v[i])
			uslub_cache_free(s, v[i]);
	free(got);
	free(v);
}
TEST_END

/* ---- The free tag: double frees -------------------------------------- */

/* The reports the calls made by fn wrote, with abort_on_error off. */
static void with_reports(void (*fn)(void *), void *arg, char *err,
			 size_t size)
{
	int saved = uslub_opt.abort_on_error;
	struct test_capture cap;

	uslub_opt.abort_on_error = 0;
	test_capture_begin(&cap);
	fn(arg);
	test_capture_end(&cap, err, size);
	uslub_opt.abort_on_error = saved;
}

static void expect_double_free_report(const char *err, const char *func,
				      const void *p)
{
	char want[128];

	snprintf(want, sizeof(want), "%s: invalid pointer %p", func, p);
	expect_str_contains(err, want, "%s of %p reported", func, p);
	expect_str_contains(err, "double free", "as a double free");
}

/* The next allocations of this size, many of them: none twice. */
static void expect_no_duplicates(void *(*alloc)(void *, size_t),
				 void (*release)(void *, void *), void *arg,
				 size_t size, const void *p)
{
	enum { N = 300 };
	void *v[N];
	unsigned int i, j, dup = 0, seen = 0;

	for (i = 0; i < N; i++) {
		v[i] = alloc(arg, size);
		seen += v[i] == p;
		for (j = 0; j < i; j++)
			dup += v[j] == v[i];
	}
	expect_u_le(seen, 1, "%p handed out at most once", p);
	expect_u_eq(dup, 0, "no object handed out twice");
	for (i = 0; i < N; i++)
		release(arg, v[i]);
}

static void *m_alloc(void *arg, size_t size) { (void)arg; return uslub_malloc(size); }
static void m_free(void *arg, void *p) { (void)arg; uslub_free(p); }
static void *k_alloc(void *arg, size_t size) { (void)arg; return uslub_kmalloc(size, 0); }
static void k_free(void *arg, void *p) { (void)arg; uslub_kfree(p); }
static void *c_alloc(void *arg, size_t size) { (void)size; return uslub_cache_alloc(arg, 0); }
static void c_free(void *arg, void *p) { uslub_cache_free(arg, p); }

struct aba {
	void *(*alloc)(void *, size_t);
	void (*release)(void *, void *);
	void *arg;
	size_t size;
	void *a, *b;
};

static void free_a(void *arg)
{
	struct aba *x = arg;

	x->release(x->arg, x->a);
}

TEST_BEGIN(test_double_free_not_on_top)
{
	static const size_t sizes[] = { 8, 16, 64, 200, 1000, 4000, 20000 };
	struct uslub_cache *s = uslub_cache_create("hard_aba", 96, 0, 0, NULL);
	struct {
		void *(*alloc)(void *, size_t);
		void (*release)(void *, void *);
		void *arg;
		const char *func;
	} api[] = {
		{ m_alloc, m_free, NULL, "free" },
		{ k_alloc, k_free, NULL, "kfree" },
		{ c_alloc, c_free, s, "cache_free" },
	};
	char err[4096];
	unsigned int i, k;

	assert_ptr_not_null(s, "cache");
	for (k = 0; k < ARRAY_SIZE(api); k++) {
		for (i = 0; i < ARRAY_SIZE(sizes); i++) {
			struct aba x = { api[k].alloc, api[k].release,
					 api[k].arg, sizes[i], NULL, NULL };

			if (k == 2 && i)	/* one size for the cache */
				break;
			x.a = x.alloc(x.arg, x.size);
			x.b = x.alloc(x.arg, x.size);
			assert_ptr_not_null(x.b, "allocations");
			x.release(x.arg, x.a);
			x.release(x.arg, x.b);	/* a is not on top */
			with_reports(free_a, &x, err, sizeof(err));
			expect_double_free_report(err, api[k].func, x.a);
			expect_no_duplicates(x.alloc, x.release, x.arg,
					     x.size, x.a);
		}
	}
	expect_d_eq(uslub_cache_destroy(s), 0, "nothing lost or doubled");
}
TEST_END

static void *free_in_thread(void *p)
{
	uslub_free(p);
	return NULL;
}

static void second_free_from_thread(void *arg)
{
	pthread_t t;

	pthread_create(&t, NULL, free_in_thread, arg);
	pthread_join(t, NULL);
}

static void realloc_freed(void *arg)
{
	void **pp = arg;

	errno = 0;
	pp[1] = uslub_realloc(pp[0], 300);
	pp[2] = (void *)(intptr_t)errno;
}

static void krealloc_freed(void *arg)
{
	void **pp = arg;

	pp[1] = uslub_krealloc(pp[0], 300, 0);
}

static void free_it(void *p)
{
	uslub_free(p);
}

TEST_BEGIN(test_double_free_elsewhere)
{
	char err[4096];
	void *p, *q, *pp[3];
	pthread_t t;

	/* Freed by one thread, freed again by another. */
	p = uslub_malloc(48);
	q = uslub_malloc(48);
	pthread_create(&t, NULL, free_in_thread, p);
	pthread_join(t, NULL);
	with_reports(second_free_from_thread, p, err, sizeof(err));
	expect_double_free_report(err, "free", p);
	uslub_free(q);
	expect_no_duplicates(m_alloc, m_free, NULL, 48, p);

	/* realloc of a freed block. */
	p = uslub_malloc(100);
	q = uslub_malloc(100);
	uslub_free(p);
	uslub_free(q);
	pp[0] = p;
	pp[1] = NULL;
	with_reports(realloc_freed, pp, err, sizeof(err));
	expect_double_free_report(err, "realloc", p);
	expect_ptr_null(pp[1], "realloc of a freed block fails");
	expect_d_eq((int)(intptr_t)pp[2], EINVAL, "with EINVAL");
	expect_no_duplicates(m_alloc, m_free, NULL, 100, p);

	/* krealloc of a freed block. */
	p = uslub_kmalloc(100, 0);
	q = uslub_kmalloc(100, 0);
	uslub_kfree(p);
	uslub_kfree(q);
	pp[0] = p;
	pp[1] = NULL;
	with_reports(krealloc_freed, pp, err, sizeof(err));
	expect_double_free_report(err, "krealloc", p);
	expect_ptr_null(pp[1], "krealloc of a freed block fails");
	expect_no_duplicates(m_alloc, m_free, NULL, 100, p);

	/* A trim sends the object to its slab's free list; the tag stays. */
	p = uslub_malloc(160);
	q = uslub_malloc(160);
	uslub_free(p);
	uslub_malloc_trim(0);
	with_reports(free_it, p, err, sizeof(err));
	expect_double_free_report(err, "free", p);
	uslub_free(q);
	expect_no_duplicates(m_alloc, m_free, NULL, 160, p);
}
TEST_END

static void ctor_fill(void *obj)
{
	memset(obj, 0x5c, 64);
}

TEST_BEGIN(test_ctor_cache_untouched)
{
	struct uslub_cache *s = uslub_cache_create("hard_ctor", 64, 0, 0,
						   ctor_fill);
	unsigned char *p, *q;
	unsigned int i, bad = 0;
	char err[2048];

	assert_ptr_not_null(s, "cache");
	expect_false(s->free_tag, "no tag: contents survive being free");
	p = uslub_cache_alloc(s, 0);
	uslub_cache_free(s, p);
	q = uslub_cache_alloc(s, 0);
	expect_ptr_eq(q, p, "the same object again");
	for (i = 0; i < 64; i++)
		bad += q[i] != 0x5c;
	expect_u_eq(bad, 0, "the ctor's bytes are intact");
	uslub_cache_free(s, q);
	{
		struct aba x = { c_alloc, c_free, s, 64, q, NULL };

		with_reports(free_a, &x, err, sizeof(err));
	}
	expect_double_free_report(err, "cache_free", q);
	expect_d_eq(uslub_cache_destroy(s), 0, "destroyed");
}
TEST_END

/* Free q into the ctor cache's sheaf, and shrink: the flush finds q
 * already first on its slab's free list. */
static void free_and_flush(void *arg)
{
	struct aba *x = arg;

	x->release(x->arg, x->a);
	uslub_cache_shrink(x->arg);
}

/*
 * The slab layer's own check (SLUB's naive one in __slab_free): an
 * object of a cache without the tag, freed, flushed to its slab by a
 * shrink (first on the free list), freed again and flushed again.  The
 * report names the operation that found it, as every report does.
 */
TEST_BEGIN(test_double_free_on_slab)
{
	struct uslub_cache *s = uslub_cache_create("hard_ctor2", 64, 0, 0,
						   ctor_fill);
	void *keep, *q;
	char err[2048], want[160];

	assert_ptr_not_null(s, "cache");
	keep = uslub_cache_alloc(s, 0);		/* the slab stays */
	q = uslub_cache_alloc(s, 0);
	uslub_cache_free(s, q);
	uslub_cache_shrink(s);
	{
		struct aba x = { c_alloc, c_free, s, 64, q, NULL };

		with_reports(free_and_flush, &x, err, sizeof(err));
	}
	snprintf(want, sizeof(want), "uslub: sheaf flush: invalid pointer %p: "
		 "double free (object of cache hard_ctor2 already first on the "
		 "free list of slab %p)", q, page_address(pagemap_head(q)));
	expect_str_contains(err, want, "one line: operation, pointer, cache");
	expect_no_duplicates(c_alloc, c_free, s, 64, q);
	uslub_cache_free(s, keep);
	expect_d_eq(uslub_cache_destroy(s), 0, "destroyed");
}
TEST_END

TEST_BEGIN(test_tagged_caches)
{
	struct uslub_cache *s = uslub_cache_create("hard_plain", 64, 0, 0,
						   NULL);
	struct uslub_cache *r = uslub_cache_create("hard_rcu", 64, 0,
						   USLUB_TYPESAFE_BY_RCU, NULL);
	struct uslub_cache *d = uslub_cache_create("hard_dbg", 64, 0,
						   USLUB_RED_ZONE, NULL);
	unsigned int idx;

	assert_ptr_not_null(d, "caches");
	expect_true(s->free_tag, "a plain user cache has the tag");
	expect_false(r->free_tag, "TYPESAFE_BY_RCU: readers see free objects");
	expect_false(d->free_tag, "debug caches check their own way");
	for (idx = 1; idx < NR_KMALLOC; idx++)
		expect_true(kmalloc_caches[idx].free_tag ||
			    kmalloc_caches[idx].flags & SLAB_DEBUG_FLAGS,
			    "%s has the tag", kmalloc_caches[idx].name);
	uslub_cache_destroy(s);
	uslub_cache_destroy(r);
	uslub_cache_destroy(d);
}
TEST_END

/* ---- realloc of what would keep its place ----------------------------- */

struct realloc_call {
	void *p;
	size_t size;
	void *ret;
	int err;
};

static void realloc_call(void *arg)
{
	struct realloc_call *r = arg;

	errno = 0;
	r->ret = uslub_realloc(r->p, r->size);
	r->err = errno;
}

/* realloc(p, size) with p bad, reported under "realloc" (or "free" for
 * size 0, which frees): never p back, NULL, EINVAL where it is realloc's
 * error. */
static void expect_realloc_refused(void *p, size_t size, const char *what,
				   bool double_free)
{
	struct realloc_call r = { p, size, NULL, 0 };
	char err[4096], want[128];

	with_reports(realloc_call, &r, err, sizeof(err));
	expect_ptr_null(r.ret, "realloc(%s, %zu) fails", what, size);
	snprintf(want, sizeof(want), "invalid pointer %p", p);
	expect_str_contains(err, want, "realloc(%s, %zu) reported", what, size);
	if (double_free)
		expect_str_contains(err, "double free",
				    "realloc(%s, %zu): as a double free", what,
				    size);
	if (size)
		expect_d_eq(r.err, EINVAL, "realloc(%s, %zu): EINVAL", what,
			    size);
}

/*
 * realloc keeps a block in place when the new size fits it and wastes
 * less than half: a freed object, an interior pointer or a freed large
 * block asked for a size that would fit is still reported and refused,
 * and so is size 0 for an interior pointer; a live large block asked for
 * 0 is freed.
 */
TEST_BEGIN(test_realloc_keeps_no_bad_pointer)
{
	char *p, *q, *big;

	p = uslub_malloc(100);		/* kmalloc-112 */
	q = uslub_malloc(100);
	assert_ptr_not_null(p, "malloc");
	uslub_free(p);
	uslub_free(q);
	expect_realloc_refused(p, 100, "a freed object", true);
	expect_realloc_refused(p, 60, "a freed object", true);
	expect_no_duplicates(m_alloc, m_free, NULL, 100, p);

	p = uslub_malloc(100);
	assert_ptr_not_null(p, "malloc");
	expect_realloc_refused(p + 16, 8, "an interior pointer", false);
	expect_realloc_refused(p + 16, 0, "an interior pointer", false);
	uslub_free(p);

	big = uslub_malloc(64 << 10);	/* a large block */
	assert_ptr_not_null(big, "malloc(64 KiB)");
	expect_ptr_eq(uslub_realloc(big, 48 << 10), big,
		      "a large block keeps its place for 48 KiB");
	expect_realloc_refused(big + 4096, 40 << 10,
			       "a page inside a large block", false);
	expect_ptr_null(uslub_realloc(big, 0), "realloc(large, 0) frees it");
	expect_realloc_refused(big, 48 << 10, "a freed large block", false);
}
TEST_END

int main(void)
{
	return test(test_free_pointers_encoded, test_uaf_write_cannot_steer,
		    test_double_free_not_on_top, test_double_free_elsewhere,
		    test_ctor_cache_untouched, test_double_free_on_slab,
		    test_tagged_caches, test_realloc_keeps_no_bad_pointer,
		    test_uaf_write_in_a_detached_chain, NULL);
}
