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
 */
#include "test.h"

#include "cache.h"
#include "options.h"
#include "pagemap.h"
#include "slab.h"

#include <stdio.h>
#include <stdlib.h>

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

int main(void)
{
	return test(test_free_pointers_encoded, test_uaf_write_cannot_steer,
		    NULL);
}
