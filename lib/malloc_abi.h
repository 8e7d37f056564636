/*
 * malloc_abi.h - L5: the C library's malloc family over the kmalloc classes.
 * malloc_fast and free_fast are always inline (the fast paths of alloc.h);
 * everything else is out of line in malloc_abi.c.  api.c exports these as
 * uslub_malloc etc., preload/ under the libc names: the semantics (glibc
 * 2.36's: errno, alignment, realloc(p, 0), overflow) live here only.
 */
#ifndef USLUB_MALLOC_ABI_H
#define USLUB_MALLOC_ABI_H

#include "alloc.h"

/* Largest alignment memalign and friends accept; beyond: ENOMEM. */
#define MALLOC_MAX_ALIGN	((size_t)1 << 32)

/* malloc when the fast path cannot: size 0 or > SMALL_MAX, an empty cpu
 * main sheaf, the first call of a thread.  NULL with ENOMEM. */
void *malloc_slow(size_t size);

static __always_inline void *malloc_fast(size_t size)
{
	long off = kmalloc_slot_off(size);
	struct kmem_cache_cpu *c;
	void **top;

	if (likely(off >= 0)) {
		c = cpu_at(thread_cache, (unsigned int)off);
		top = c->top;
		if (likely(top > c->objects))
			return sheaf_take_tagged(c, top);
		/* malloc(0) is a real, unique block, unlike kmalloc(0) */
		return kmalloc_refill(c, size + !size, 0, RET_IP);
	}
	return malloc_slow(size);
}

/* kfree_checked for the malloc ABI: the kernel's ZERO_SIZE_PTR (16) is
 * no pointer malloc hands out, so freeing it is reported, as glibc does. */
void free_checked(const void *p, const char *func, uintptr_t caller);

static __always_inline void free_fast(void *p)
{
	kfree_fast_as(p, "free", free_checked);
}

void *malloc_calloc(size_t nmemb, size_t size);
void *malloc_realloc(void *p, size_t size);
void *malloc_reallocarray(void *p, size_t nmemb, size_t size);
int malloc_posix_memalign(void **memptr, size_t align, size_t size);
/* memalign and aligned_alloc (the same in glibc 2.36). */
void *malloc_memalign(size_t align, size_t size);
void *malloc_valloc(size_t size);
void *malloc_pvalloc(size_t size);
size_t malloc_usable_size_of(const void *p);
int malloc_trim_all(void);

#endif /* USLUB_MALLOC_ABI_H */
