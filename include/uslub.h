/*
 * uslub.h - the public API of uslub, a SLUB-style allocator in user space.
 *
 * Object caches (the kernel's kmem_cache_*), kmalloc-style allocation of
 * any size, and the kernel's statistics files as text.  <uslub/kmem.h>
 * maps the kernel's own names onto these.
 *
 * Thread safety: every function may be called from any thread, except that
 * a cache must not be used by other threads while it is being destroyed.
 */
#ifndef USLUB_H
#define USLUB_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define USLUB_API __attribute__((visibility("default")))

typedef unsigned int uslub_gfp_t;
typedef unsigned long uslub_slab_flags_t;

/* Allocation flags.  Only USLUB_GFP_ZERO changes behaviour; the others are
 * accepted so kernel-style callers compile unchanged. */
#define USLUB_GFP_KERNEL	0u
#define USLUB_GFP_ATOMIC	0x1u
#define USLUB_GFP_NOWAIT	0x2u
#define USLUB_GFP_ZERO		0x100u

/* Cache flags, with the kernel's meanings. */
#define USLUB_CONSISTENCY_CHECKS 0x00000100UL	/* slub_debug F */
#define USLUB_RED_ZONE		0x00000400UL	/* slub_debug Z */
#define USLUB_POISON		0x00000800UL	/* slub_debug P */
#define USLUB_HWCACHE_ALIGN	0x00002000UL	/* align objects to cache lines */
#define USLUB_STORE_USER	0x00010000UL	/* slub_debug U */
#define USLUB_PANIC		0x00040000UL	/* abort if create fails */
#define USLUB_TYPESAFE_BY_RCU	0x00080000UL	/* pages freed after a grace period */
#define USLUB_TRACE		0x00200000UL	/* slub_debug T */
#define USLUB_NO_MERGE		0x01000000UL	/* never merged (uslub never merges) */
#define USLUB_RECLAIM_ACCOUNT	0x00020000UL	/* counted as SReclaimable */

struct uslub_cache;

/* Object caches. */
USLUB_API struct uslub_cache *uslub_cache_create(const char *name, size_t size,
		size_t align, uslub_slab_flags_t flags, void (*ctor)(void *));
/* 0; or -EBUSY, with a report on stderr, when objects are still allocated
 * (they stay valid and the cache stays usable). */
USLUB_API int uslub_cache_destroy(struct uslub_cache *s);
USLUB_API void *uslub_cache_alloc(struct uslub_cache *s, uslub_gfp_t gfp);
USLUB_API void *uslub_cache_zalloc(struct uslub_cache *s, uslub_gfp_t gfp);
USLUB_API void uslub_cache_free(struct uslub_cache *s, void *obj);
/* n, or 0 and nothing allocated. */
USLUB_API size_t uslub_cache_alloc_bulk(struct uslub_cache *s, uslub_gfp_t gfp,
		size_t n, void **objs);
USLUB_API void uslub_cache_free_bulk(struct uslub_cache *s, size_t n, void **objs);
/* Flushes the calling thread's cached slabs of s, frees every empty slab and
 * gives free pages back to the OS.  Slabs cached by other threads stay with
 * them until those threads exit or shrink.  0 if no slab is left, else 1. */
USLUB_API int uslub_cache_shrink(struct uslub_cache *s);
/* The object size the cache was created with. */
USLUB_API size_t uslub_cache_size(const struct uslub_cache *s);

/* kmalloc: any size.  uslub_kmalloc(0) returns a unique non-NULL pointer
 * (the kernel's ZERO_SIZE_PTR) that must not be dereferenced. */
USLUB_API void *uslub_kmalloc(size_t size, uslub_gfp_t gfp);
USLUB_API void *uslub_kzalloc(size_t size, uslub_gfp_t gfp);
USLUB_API void *uslub_krealloc(const void *p, size_t size, uslub_gfp_t gfp);
USLUB_API void uslub_kfree(const void *p);
USLUB_API size_t uslub_ksize(const void *p);
/* The size uslub_kmalloc(size) really provides. */
USLUB_API size_t uslub_kmalloc_size_roundup(size_t size);

/* Statistics, in the formats of the kernel's files.  0 or -1 with errno. */
USLUB_API int uslub_slabinfo_write(int fd);	/* /proc/slabinfo 2.1 */
USLUB_API int uslub_meminfo_write(int fd);	/* Slab:, SReclaimable:, SUnreclaim: (kB) */
USLUB_API int uslub_buddyinfo_write(int fd);	/* free blocks per order, per region */
/* SLUB's event counters (alloc_fastpath, free_slowpath, ...), one line per
 * non-zero counter: "<cache> <counter> <value>". */
USLUB_API int uslub_stats_write(int fd);

#ifdef __cplusplus
}
#endif

#endif /* USLUB_H */
