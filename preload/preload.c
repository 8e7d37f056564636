/*
 * preload.c - L7: the C library's malloc ABI on uslub, for
 * LD_PRELOAD=libuslub-preload.so or linking with -luslub-preload.
 *
 * Every function is a one-liner over lib/malloc_abi.h (the same functions
 * api.c exports as uslub_*): the semantics live in one place.  The fast paths are inlined here, so malloc and free cost no
 * extra call.  The core is linked into this library and its TLS is
 * initial-exec; nothing here allocates before the heap works.
 *
 * C++ new and delete are libstdc++'s own operators, which call malloc,
 * aligned_alloc and free: all of them reach uslub, sized delete never
 * trusts its size, and failure follows the standard (new_handler, then
 * std::bad_alloc) because libstdc++ implements it.  Defining only some of
 * the 20 operators would split new and delete across allocators.
 *
 * Exported: malloc free calloc realloc reallocarray posix_memalign
 * aligned_alloc memalign valloc pvalloc malloc_usable_size malloc_trim
 * malloc_stats mallinfo mallinfo2 mallopt malloc_info free_sized
 * free_aligned_sized cfree, and glibc's __libc_* entry points and
 * __posix_memalign, which glibc-internal and statically linked callers use.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "malloc_abi.h"

#define PRELOAD_API	USLUB_API

/* Not declared by glibc 2.36's headers. */
void cfree(void *p);
void free_sized(void *p, size_t size);
void free_aligned_sized(void *p, size_t align, size_t size);
void *__libc_malloc(size_t size);
void __libc_free(void *p);
void *__libc_calloc(size_t nmemb, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);
void *__libc_valloc(size_t size);
void *__libc_pvalloc(size_t size);
int __posix_memalign(void **memptr, size_t align, size_t size);

/* ---- The malloc family ------------------------------------------------ */

PRELOAD_API __entry_aligned void *malloc(size_t size)
{
	return malloc_fast(size);
}

PRELOAD_API __entry_aligned void free(void *p)
{
	free_fast(p);
}

PRELOAD_API void *calloc(size_t nmemb, size_t size)
{
	return malloc_calloc(nmemb, size);
}

PRELOAD_API void *realloc(void *p, size_t size)
{
	return malloc_realloc(p, size);
}

PRELOAD_API void *reallocarray(void *p, size_t nmemb, size_t size)
{
	return malloc_reallocarray(p, nmemb, size);
}

PRELOAD_API int posix_memalign(void **memptr, size_t align, size_t size)
{
	return malloc_posix_memalign(memptr, align, size);
}

PRELOAD_API void *memalign(size_t align, size_t size)
{
	return malloc_memalign(align, size);
}

PRELOAD_API void *valloc(size_t size)
{
	return malloc_valloc(size);
}

PRELOAD_API void *pvalloc(size_t size)
{
	return malloc_pvalloc(size);
}

PRELOAD_API size_t malloc_usable_size(void *p)
{
	return malloc_usable_size_of(p);
}

/* C23: the size and alignment are hints uslub does not need; trusting a
 * wrong one would corrupt the heap, so they are not used. */
PRELOAD_API void free_sized(void *p, size_t size)
{
	(void)size;
	free_fast(p);
}

PRELOAD_API void free_aligned_sized(void *p, size_t align, size_t size)
{
	(void)align;
	(void)size;
	free_fast(p);
}

/* glibc 2.36's aligned_alloc is its memalign: no C11 DR 460 checks. */
PRELOAD_API void *aligned_alloc(size_t align, size_t size)
{
	return malloc_memalign(align, size);
}

/*
 * Old names and glibc's internal entry points, one-liners rather than
 * aliases: an alias would have to repeat every attribute glibc's headers
 * give the target.
 */
PRELOAD_API void cfree(void *p) { free_fast(p); }
PRELOAD_API void *__libc_malloc(size_t size) { return malloc_fast(size); }
PRELOAD_API void __libc_free(void *p) { free_fast(p); }
PRELOAD_API void *__libc_calloc(size_t nmemb, size_t size)
{
	return malloc_calloc(nmemb, size);
}
PRELOAD_API void *__libc_realloc(void *p, size_t size)
{
	return malloc_realloc(p, size);
}
PRELOAD_API void *__libc_memalign(size_t align, size_t size)
{
	return malloc_memalign(align, size);
}
PRELOAD_API void *__libc_valloc(size_t size) { return malloc_valloc(size); }
PRELOAD_API void *__libc_pvalloc(size_t size) { return malloc_pvalloc(size); }
PRELOAD_API int __posix_memalign(void **memptr, size_t align, size_t size)
{
	return malloc_posix_memalign(memptr, align, size);
}

/* ---- glibc's tuning and statistics ------------------------------------ */

PRELOAD_API int malloc_trim(size_t pad)
{
	return uslub_malloc_trim(pad);
}

PRELOAD_API void malloc_stats(void)
{
	uslub_malloc_stats_write(2);
}

PRELOAD_API struct mallinfo2 mallinfo2(void)
{
	struct uslub_heap_stats h;
	struct mallinfo2 mi = { 0 };

	uslub_heap_stats_get(&h);
	mi.arena = h.mapped - h.huge_bytes;	/* non-mmapped space */
	mi.ordblks = h.free_blocks;		/* free buddy blocks */
	mi.hblks = h.huge_count;		/* mmapped blocks */
	mi.hblkhd = h.huge_bytes;
	mi.uordblks = h.allocated;		/* in use */
	mi.fordblks = h.slab_free + h.page_free;	/* free, still mapped */
	mi.keepcost = h.page_free;		/* what malloc_trim can release */
	return mi;
}

/* The old int fields wrap beyond 2 GiB, as glibc's do. */
PRELOAD_API struct mallinfo mallinfo(void)
{
	struct mallinfo2 m2 = mallinfo2();
	struct mallinfo mi = { 0 };

	mi.arena = (int)m2.arena;
	mi.ordblks = (int)m2.ordblks;
	mi.hblks = (int)m2.hblks;
	mi.hblkhd = (int)m2.hblkhd;
	mi.uordblks = (int)m2.uordblks;
	mi.fordblks = (int)m2.fordblks;
	mi.keepcost = (int)m2.keepcost;
	return mi;
}

/*
 * Every parameter glibc knows is accepted (returns 1); none changes
 * uslub: the thresholds describe glibc's arenas and top chunk, which
 * uslub does not have (its decay is USLUB_OPTIONS=decay_ms); a bad
 * pointer is always reported and abort_on_error decides what follows
 * (M_CHECK_ACTION).  Unknown numbers return 0.
 */
PRELOAD_API int mallopt(int param, int value)
{
	(void)value;
	switch (param) {
	case M_MXFAST: case M_NLBLKS: case M_GRAIN: case M_KEEP:
	case M_TRIM_THRESHOLD: case M_TOP_PAD: case M_MMAP_THRESHOLD:
	case M_MMAP_MAX: case M_CHECK_ACTION: case M_PERTURB:
	case M_ARENA_TEST: case M_ARENA_MAX:
		return 1;
	default:
		return 0;
	}
}

/* glibc's XML shape with uslub's numbers: one heap, its totals. */
PRELOAD_API int malloc_info(int options, FILE *fp)
{
	struct uslub_heap_stats h;

	if (options != 0) {
		errno = EINVAL;
		return -1;
	}
	uslub_heap_stats_get(&h);
	fprintf(fp, "<malloc version=\"1\" allocator=\"uslub\">\n"
		"<heap nr=\"0\">\n"
		"<total type=\"slab\" size=\"%zu\"/>\n"
		"<total type=\"free\" size=\"%zu\"/>\n"
		"<total type=\"large\" size=\"%zu\"/>\n"
		"<system type=\"current\" size=\"%zu\"/>\n"
		"</heap>\n"
		"<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n"
		"<system type=\"current\" size=\"%zu\"/>\n"
		"<aspace type=\"total\" size=\"%zu\"/>\n"
		"</malloc>\n",
		h.slab_bytes, h.slab_free + h.page_free, h.large_bytes,
		h.mapped - h.huge_bytes, h.huge_count, h.huge_bytes, h.mapped,
		h.mapped);
	return 0;
}
