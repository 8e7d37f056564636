/*
 * malloc_abi.c - L5: the slow half of the malloc family (malloc_abi.h), with
 * glibc 2.36's documented behaviour as the contract:
 *
 *   - failure returns NULL with errno ENOMEM; posix_memalign returns the
 *     error and touches neither *memptr nor errno;
 *   - malloc(0) is a unique pointer (8 usable bytes); every block of 16
 *     bytes or more is 16-byte aligned (all classes from 16 up are
 *     multiples of 16 and slabs are page aligned);
 *   - realloc(p, 0) frees p and returns NULL; realloc failure leaves p;
 *   - memalign/aligned_alloc round an alignment that is not a power of
 *     two up to one, as glibc does;
 *   - a bad pointer is reported under the libc function's name.
 *
 * Uses kmalloc (kmalloc.h), the fast paths (alloc.h) and slab.h for trim.
 */
#include <errno.h>
#include <string.h>

#include "malloc_abi.h"
#include "init.h"
#include "page_alloc.h"
#include "prof.h"
#include "slab.h"

/* glibc's MALLOC_ALIGNMENT on x86-64. */
#define MALLOC_ALIGNMENT	16

void *malloc_slow(size_t size)
{
	/* malloc(0) is a real, unique block, unlike kmalloc(0). */
	return kmalloc_slow(size ? size : 1, 0, RET_IP);
}

void free_checked(const void *p, const char *func, uintptr_t caller)
{
	if (unlikely(p == ZERO_SIZE_PTR)) {
		kmalloc_report_invalid(func, p, "not allocated by uslub");
		return;
	}
	kfree_checked(p, func, caller);
}

void *malloc_calloc(size_t nmemb, size_t size)
{
	size_t bytes;
	void *p;

	if (unlikely(__builtin_mul_overflow(nmemb, size, &bytes))) {
		errno = ENOMEM;
		return NULL;
	}
	if (likely(bytes - 1 < SMALL_MAX)) {
		p = malloc_fast(bytes);
		if (likely(p))
			memset(p, 0, bytes);
		return p;
	}
	/* Zero or large: kmalloc zeroes what it must (a new mapping is
	 * already zero). */
	return kmalloc_slow(bytes ? bytes : 1, USLUB_GFP_ZERO, RET_IP);
}

/*
 * The size realloc works from: for an object of a slab whose page names a
 * slot of this thread's state, the slot's cache's object size, found as
 * kfree's fast path finds the slot (the slot map byte and the
 * object-start test), without reading the page's descriptor; for a large
 * block, its size, with *large set to its descriptor, so that growing it
 * needs no second lookup; for anything else the checked ksize, which
 * reports a bad pointer.  The checked path alone was two thirds of the
 * time of growth in 16-byte steps.  0 when p is not a block of ours or
 * was freed already (reported).  The fast path (malloc_realloc) does the
 * same for the blocks it keeps.
 */
static size_t realloc_old_size(const void *p, struct slab **large)
{
	struct kmem_cache_cpu *c = owning_slot(p);

	if (likely(c)) {
		if (unlikely(free_tagged(p))) {		/* freed already */
			cache_report_double_free("realloc", c->cache, p);
			return 0;
		}
		return c->cache->object_size;
	}
	*large = pagemap_entry(p) ? kmalloc_large_head(p) : NULL;
	if (*large)
		return PAGE_SIZE << (*large)->order;
	return kmalloc_ksize_checked("realloc", p);
}

/* A slab object this small is kept when realloc shrinks it below half:
 * a move would save at most 4 KiB.  A larger one (the classes go on to
 * 32 KiB) moves to the smaller class. */
#define REALLOC_KEEP_MAX	8192

/* A slab object that grows beyond this moves to a large block of pages,
 * which later growth extends in place; below it, to a slab object of
 * twice the size asked for. */
#define REALLOC_SLAB_GROW_MAX	1024

/* Whether a block of old bytes keeps its place for size bytes: it fits
 * and wastes less than half.  Never for size 0 (size - 1 wraps), nor
 * for old 0 (no block found). */
static __always_inline bool realloc_fits(size_t old, size_t size)
{
	return size - 1 < old && size >= old / 2;
}

/*
 * Keep the block when the new size fits and wastes less than half of it;
 * grow or shrink a huge block with mremap (its pages move, nothing is
 * copied); grow a large block in place when its buddies are free, shrink
 * one in place by giving its upper halves back; otherwise allocate, copy
 * and free.  A growing slab object moves to twice the size asked for, up
 * to REALLOC_SLAB_GROW_MAX, and then to a large block placed where free
 * buddies sit above it (kmalloc_large_for_growth), so that the growth
 * that usually follows stays in place: doubling from 16 bytes to 1 MiB
 * copies 1.3 KiB (4 moves) and extends a block 8 times, where moving on
 * through the slab classes up to 32 KiB copied 22 KiB.
 */
/* Out of line: the fast path below saves no registers for it.  old and
 * large: what the fast path found (old 0: look again, the checked way). */
static __noinline void *realloc_slow(void *p, size_t size, size_t old,
				     struct slab *large)
{
	void *n;

	if (p == NULL)
		return malloc_fast(size);
	if (unlikely(p == ZERO_SIZE_PTR)) {	/* kmalloc(0)'s, not malloc's */
		kmalloc_report_invalid("realloc", p, "not allocated by uslub");
		errno = EINVAL;
		return NULL;
	}
	if (size == 0) {
		free_fast(p);
		return NULL;
	}
	if (!old)
		old = realloc_old_size(p, &large);
	if (unlikely(old == 0)) {		/* reported; p is not ours */
		errno = EINVAL;
		return NULL;
	}
	if (realloc_fits(old, size))
		return kmalloc_keep(p, size);
	if (!pagemap_region(p) && size > (PAGE_SIZE << MAX_ORDER)) {
		n = kmalloc_huge_resize(p, size);
		if (n) {
			prof_realloc(p, n, size);
			return n;
		}
	}
	if (size <= old && old <= REALLOC_KEEP_MAX)
		return kmalloc_keep(p, size);	/* not worth a move */
	if (large && (size > old ? kmalloc_large_grow(large, size) :
		      kmalloc_large_shrink(large, size))) {
		prof_realloc(p, p, size);
		return p;
	}
	n = NULL;
	if (size > old && size <= REALLOC_SLAB_GROW_MAX)
		n = malloc_fast(size * 2);	/* headroom for the next step */
	else if (size > old)
		n = kmalloc_large_for_growth(size);
	if (!n)
		n = malloc_fast(size);
	if (unlikely(!n))
		return NULL;
	memcpy(n, p, MIN(old, size));
	free_fast(p);
	return n;
}

/*
 * The fast path: a block that keeps its place (a slab object or a large
 * block that fits size and wastes less than half of it), found with one
 * pagemap lookup; 16-byte steps from 16 bytes to 64 KiB keep the block
 * on all but a few hundred of their 4095 calls.  Everything else, and
 * every error, goes the slow way.
 */
void *malloc_realloc(void *p, size_t size)
{
	uintptr_t entry = pagemap_entry(p);	/* 0 for NULL too */
	struct kmem_cache_cpu *c;
	struct slab *large = NULL;
	size_t old = 0;

	if (likely(entry)) {
		c = cpu_at(thread_cache,
			   (unsigned int)*pagemap_slot(entry, p) << CPU_SHIFT);
		if (likely(slot_owns(c, p))) {
			if (likely(!free_tagged(p)))	/* else reported */
				old = c->cache->object_size;
		} else if ((large = kmalloc_large_head(p))) {
			old = PAGE_SIZE << large->order;
		}
		if (likely(realloc_fits(old, size)))
			return kmalloc_keep(p, size);
	}
	return realloc_slow(p, size, old, large);
}

void *malloc_reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t bytes;

	if (unlikely(__builtin_mul_overflow(nmemb, size, &bytes))) {
		errno = ENOMEM;
		return NULL;
	}
	return malloc_realloc(p, bytes);
}

/* align is a power of two here. */
static void *aligned_alloc_pow2(size_t align, size_t size)
{
	if (align <= MALLOC_ALIGNMENT)
		return malloc_fast(size < align ? align : size);
	if (align > MALLOC_MAX_ALIGN) {
		errno = ENOMEM;
		return NULL;
	}
	return kmalloc_aligned(size, align, 0);
}

void *malloc_memalign(size_t align, size_t size)
{
	if (align > MALLOC_ALIGNMENT && !is_power_of_2(align)) {
		if (align > ((size_t)1 << 63)) {	/* glibc: EINVAL */
			errno = EINVAL;
			return NULL;
		}
		align = roundup_pow_of_two(align);
	}
	return aligned_alloc_pow2(align, size);
}

int malloc_posix_memalign(void **memptr, size_t align, size_t size)
{
	int saved = errno;
	void *p;

	if (align < sizeof(void *) || !is_power_of_2(align))
		return EINVAL;
	p = aligned_alloc_pow2(align, size ? size : 1);
	errno = saved;
	if (!p)
		return ENOMEM;
	*memptr = p;
	return 0;
}

void *malloc_valloc(size_t size)
{
	return aligned_alloc_pow2(PAGE_SIZE, size);
}

void *malloc_pvalloc(size_t size)
{
	size_t rounded = ALIGN_UP(size, PAGE_SIZE);

	if (rounded < size) {
		errno = ENOMEM;
		return NULL;
	}
	return aligned_alloc_pow2(PAGE_SIZE, rounded ? rounded : PAGE_SIZE);
}

size_t malloc_usable_size_of(const void *p)
{
	if (p == NULL)
		return 0;
	return kmalloc_ksize_checked("malloc_usable_size", p);
}

/*
 * malloc_trim: the calling thread's sheaves and every barn go back to the
 * slabs, the kmalloc caches' empty slabs to the page layer, and every
 * free page to the OS.  Other threads flush their sheaves on their next
 * refill or overflow.
 */
int malloc_trim_all(void)
{
	size_t kept;

	init_ensure();
	cache_trim_all();
	kept = kmalloc_huge_trim();
	return (page_purge(true) | kept) != 0;
}
