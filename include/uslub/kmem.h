/*
 * uslub/kmem.h - the kernel's slab API names over uslub, for kernel-style
 * code in user space: #include <uslub/kmem.h> instead of <linux/slab.h>.
 *
 * Every name is a thin inline wrapper or a macro over <uslub.h>, with the
 * kernel's signature and semantics: kmalloc(0) returns ZERO_SIZE_PTR,
 * kmalloc_array and kcalloc return NULL when n * size overflows,
 * __GFP_ZERO zeroes (the other GFP flags are accepted and change nothing:
 * reclaim for USLUB_OPTIONS=limit= runs whatever they say), kmem_cache_destroy of a cache with live
 * objects reports them on stderr and leaves the cache in place (the
 * kernel's WARN, without the oops).  struct kmem_cache is struct
 * uslub_cache under another name; both APIs may be mixed.
 */
#ifndef USLUB_KMEM_H
#define USLUB_KMEM_H

#include <stddef.h>
#include <stdint.h>

#include <uslub.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uslub_gfp_t gfp_t;
typedef uslub_slab_flags_t slab_flags_t;

#define GFP_KERNEL		USLUB_GFP_KERNEL
#define GFP_ATOMIC		USLUB_GFP_ATOMIC
#define GFP_NOWAIT		USLUB_GFP_NOWAIT
#define __GFP_ZERO		USLUB_GFP_ZERO

#define SLAB_CONSISTENCY_CHECKS	USLUB_CONSISTENCY_CHECKS
#define SLAB_RED_ZONE		USLUB_RED_ZONE
#define SLAB_POISON		USLUB_POISON
#define SLAB_HWCACHE_ALIGN	USLUB_HWCACHE_ALIGN
#define SLAB_STORE_USER		USLUB_STORE_USER
#define SLAB_PANIC		USLUB_PANIC
#define SLAB_TYPESAFE_BY_RCU	USLUB_TYPESAFE_BY_RCU
#define SLAB_TRACE		USLUB_TRACE
#define SLAB_NO_MERGE		USLUB_NO_MERGE
#define SLAB_RECLAIM_ACCOUNT	USLUB_RECLAIM_ACCOUNT

/* kmalloc(0)'s result: not NULL, never dereferenced, kfree accepts it. */
#define ZERO_SIZE_PTR		((void *)16)
#define ZERO_OR_NULL_PTR(x)	((uintptr_t)(x) <= (uintptr_t)ZERO_SIZE_PTR)

/* A macro, not a second struct, so pointers pass between the two APIs
 * without casts. */
#define kmem_cache		uslub_cache

/* ---- Object caches ---------------------------------------------------- */

static inline struct kmem_cache *
kmem_cache_create(const char *name, unsigned int size, unsigned int align,
		  slab_flags_t flags, void (*ctor)(void *))
{
	return uslub_cache_create(name, size, align, flags, ctor);
}

/* useroffset and usersize bound what copy_to/from_user may touch in the
 * kernel (hardened usercopy); user space has no such copies. */
static inline struct kmem_cache *
kmem_cache_create_usercopy(const char *name, unsigned int size,
			   unsigned int align, slab_flags_t flags,
			   unsigned int useroffset, unsigned int usersize,
			   void (*ctor)(void *))
{
	(void)useroffset;
	(void)usersize;
	return uslub_cache_create(name, size, align, flags, ctor);
}

/* A cache named after the struct, sized and aligned for it.  __alignof__
 * (gcc and clang, C and C++) is what the kernel's own KMEM_CACHE uses. */
#define KMEM_CACHE(__struct, __flags)					\
	kmem_cache_create(#__struct, sizeof(struct __struct),		\
			  __alignof__(struct __struct), (__flags), NULL)

static inline void kmem_cache_destroy(struct kmem_cache *s)
{
	(void)uslub_cache_destroy(s);	/* NULL is fine; busy is reported */
}

static inline void *kmem_cache_alloc(struct kmem_cache *s, gfp_t flags)
{
	return uslub_cache_alloc(s, flags);
}

static inline void *kmem_cache_zalloc(struct kmem_cache *s, gfp_t flags)
{
	return uslub_cache_zalloc(s, flags);
}

static inline void kmem_cache_free(struct kmem_cache *s, void *obj)
{
	uslub_cache_free(s, obj);
}

/* size objects into p, all or none: returns size, or 0. */
static inline int kmem_cache_alloc_bulk(struct kmem_cache *s, gfp_t flags,
					size_t size, void **p)
{
	return (int)uslub_cache_alloc_bulk(s, flags, size, p);
}

static inline void kmem_cache_free_bulk(struct kmem_cache *s, size_t size,
					void **p)
{
	uslub_cache_free_bulk(s, size, p);
}

static inline int kmem_cache_shrink(struct kmem_cache *s)
{
	return uslub_cache_shrink(s);
}

static inline unsigned int kmem_cache_size(struct kmem_cache *s)
{
	return (unsigned int)uslub_cache_size(s);
}

/* ---- kmalloc ---------------------------------------------------------- */

static inline void *kmalloc(size_t size, gfp_t flags)
{
	return uslub_kmalloc(size, flags);
}

static inline void *kzalloc(size_t size, gfp_t flags)
{
	return uslub_kzalloc(size, flags);
}

static inline void *kmalloc_array(size_t n, size_t size, gfp_t flags)
{
	size_t bytes;

	/* gcc >= 5 and clang: the overflow test the kernel's
	 * check_mul_overflow() is built on. */
	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	return uslub_kmalloc(bytes, flags);
}

static inline void *kcalloc(size_t n, size_t size, gfp_t flags)
{
	return kmalloc_array(n, size, flags | __GFP_ZERO);
}

static inline void *krealloc(const void *p, size_t new_size, gfp_t flags)
{
	return uslub_krealloc(p, new_size, flags);
}

static inline void kfree(const void *p)
{
	uslub_kfree(p);
}

static inline size_t ksize(const void *p)
{
	return uslub_ksize(p);
}

static inline size_t kmalloc_size_roundup(size_t size)
{
	return uslub_kmalloc_size_roundup(size);
}

/* ---- Pages (<linux/gfp.h>) -------------------------------------------
 *
 * Addresses as unsigned long, as the kernel's.  alloc_pages() and
 * struct page are left out: a struct page * would expose uslub's page
 * descriptors, and page_address() on them, for nothing the address API
 * cannot do.  free_pages(0, order) does nothing, as in the kernel.
 */
static inline unsigned long __get_free_pages(gfp_t gfp, unsigned int order)
{
	return (unsigned long)uslub_alloc_pages(gfp, order);
}

static inline unsigned long get_zeroed_page(gfp_t gfp)
{
	return __get_free_pages(gfp | __GFP_ZERO, 0);
}

static inline void free_pages(unsigned long addr, unsigned int order)
{
	uslub_free_pages((void *)addr, order);
}

#define __get_free_page(gfp)	__get_free_pages((gfp), 0)
#define free_page(addr)		free_pages((addr), 0)

/* ---- Shrinkers (both the old API and 6.7's) ------------------------- */

#define shrinker		uslub_shrinker
#define shrink_control		uslub_shrink_control
#define SHRINK_STOP		USLUB_SHRINK_STOP
#define SHRINK_EMPTY		USLUB_SHRINK_EMPTY
#define DEFAULT_SEEKS		USLUB_DEFAULT_SEEKS

/* register_shrinker(s, fmt, ...) and shrinker_alloc(flags, fmt, ...) take
 * a printf-style name, as since 6.0. */
#define register_shrinker(s, ...)	uslub_register_shrinker((s), __VA_ARGS__)
#define shrinker_alloc(flags, ...)	uslub_shrinker_alloc((flags), __VA_ARGS__)

static inline void unregister_shrinker(struct shrinker *s)
{
	uslub_unregister_shrinker(s);
}

static inline void shrinker_register(struct shrinker *s)
{
	uslub_shrinker_register(s);
}

static inline void shrinker_free(struct shrinker *s)
{
	uslub_shrinker_free(s);
}

#ifdef __cplusplus
}
#endif

#endif /* USLUB_KMEM_H */
