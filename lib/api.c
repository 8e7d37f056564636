/*
 * api.c - L6: the exported uslub_* functions.  Argument checks and
 * semantics that belong to the API live here; everything else is one call
 * into the layers below.
 */
#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "debug.h"
#include "init.h"
#include "log.h"
#include "malloc_abi.h"
#include "page_owner.h"
#include "prof.h"
#include "pages.h"
#include "shrink.h"
#include "stats.h"
#include "stats_json.h"

USLUB_API struct uslub_cache *uslub_cache_create(const char *name, size_t size,
		size_t align, uslub_slab_flags_t flags, void (*ctor)(void *))
{
	return cache_create(name, size, align, flags, ctor);
}

USLUB_API int uslub_cache_destroy(struct uslub_cache *s)
{
	return cache_destroy(s);
}

USLUB_API __entry_aligned void *uslub_cache_alloc(struct uslub_cache *s,
						  uslub_gfp_t gfp)
{
	return cache_alloc_fast(s, gfp);
}

USLUB_API void *uslub_cache_zalloc(struct uslub_cache *s, uslub_gfp_t gfp)
{
	return cache_alloc_fast(s, gfp | USLUB_GFP_ZERO);
}

USLUB_API __entry_aligned void uslub_cache_free(struct uslub_cache *s,
						void *obj)
{
	cache_free_fast(s, obj);
}

USLUB_API size_t uslub_cache_alloc_bulk(struct uslub_cache *s, uslub_gfp_t gfp,
		size_t n, void **objs)
{
	size_t i;

	for (i = 0; i < n; i++) {
		objs[i] = cache_alloc_fast(s, gfp);
		if (unlikely(!objs[i])) {
			while (i--)
				cache_free_fast(s, objs[i]);
			return 0;
		}
	}
	return n;
}

USLUB_API void uslub_cache_free_bulk(struct uslub_cache *s, size_t n, void **objs)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (objs[i])
			cache_free_fast(s, objs[i]);
}

USLUB_API int uslub_cache_shrink(struct uslub_cache *s)
{
	return cache_shrink(s);
}

USLUB_API unsigned long uslub_cache_validate(struct uslub_cache *s)
{
	return s ? debug_validate(s, "cache_validate") : 0;
}

USLUB_API size_t uslub_cache_size(const struct uslub_cache *s)
{
	return s->object_size;
}

USLUB_API __entry_aligned void *uslub_kmalloc(size_t size, uslub_gfp_t gfp)
{
	return kmalloc_fast(size, gfp);
}

USLUB_API void *uslub_kzalloc(size_t size, uslub_gfp_t gfp)
{
	return kmalloc_fast(size, gfp | USLUB_GFP_ZERO);
}

USLUB_API __entry_aligned void uslub_kfree(const void *p)
{
	kfree_fast(p);
}

USLUB_API size_t uslub_ksize(const void *p)
{
	return kmalloc_ksize(p);
}

USLUB_API size_t uslub_kmalloc_size_roundup(size_t size)
{
	init_ensure();
	return kmalloc_size_roundup(size);
}

/* The kernel's krealloc: contents kept up to the smaller size; size 0
 * frees and returns ZERO_SIZE_PTR; failure leaves p untouched. */
USLUB_API void *uslub_krealloc(const void *p, size_t size, uslub_gfp_t gfp)
{
	size_t old;
	void *n;

	if (p == NULL || p == ZERO_SIZE_PTR)
		return kmalloc_fast(size, gfp);
	if (size == 0) {
		kfree_fast(p);
		return ZERO_SIZE_PTR;
	}
	old = kmalloc_ksize(p);
	if (old == 0 || cache_object_freed("krealloc", p))
		return NULL;			/* reported */
	if (size <= old && size > old / 2 && size <= SMALL_MAX)
		return kmalloc_keep((void *)p, size);	/* same class or close */
	n = kmalloc_fast(size, gfp & ~USLUB_GFP_ZERO);
	if (!n)
		return NULL;
	memcpy(n, p, MIN(old, size));
	if ((gfp & USLUB_GFP_ZERO) && size > old)
		memset((char *)n + old, 0, size - old);
	kfree_fast(p);
	return n;
}

/* The malloc family: one line each over malloc_abi.h, which preload/ uses too. */
USLUB_API __entry_aligned void *uslub_malloc(size_t size)
{
	return malloc_fast(size);
}

USLUB_API __entry_aligned void uslub_free(void *p)
{
	free_fast(p);
}

USLUB_API void *uslub_calloc(size_t nmemb, size_t size)
{
	return malloc_calloc(nmemb, size);
}

USLUB_API void *uslub_realloc(void *p, size_t size)
{
	return malloc_realloc(p, size);
}

USLUB_API void *uslub_reallocarray(void *p, size_t nmemb, size_t size)
{
	return malloc_reallocarray(p, nmemb, size);
}

USLUB_API int uslub_posix_memalign(void **memptr, size_t align, size_t size)
{
	return malloc_posix_memalign(memptr, align, size);
}

USLUB_API void *uslub_aligned_alloc(size_t align, size_t size)
{
	return malloc_memalign(align, size);
}

USLUB_API void *uslub_memalign(size_t align, size_t size)
{
	return malloc_memalign(align, size);
}

USLUB_API void *uslub_valloc(size_t size)
{
	return malloc_valloc(size);
}

USLUB_API void *uslub_pvalloc(size_t size)
{
	return malloc_pvalloc(size);
}

USLUB_API size_t uslub_usable_size(const void *p)
{
	return malloc_usable_size_of(p);
}

USLUB_API int uslub_malloc_trim(size_t pad)
{
	(void)pad;
	return reclaim(0) != 0;
}

/* ---- Pages ----------------------------------------------------------- */

USLUB_API void *uslub_alloc_pages(uslub_gfp_t gfp, unsigned int order)
{
	return pages_alloc(gfp, order);
}

USLUB_API void uslub_free_pages(void *addr, unsigned int order)
{
	pages_free("free_pages", addr, order);
}

USLUB_API int uslub_page_owner_write(int fd)
{
	init_ensure();
	return page_owner_write(fd);
}

USLUB_API int uslub_prof_dump(const char *path)
{
	init_ensure();
	return prof_dump(path);
}

/* ---- Shrinkers and reclaim ------------------------------------------- */

USLUB_API int uslub_register_shrinker(struct uslub_shrinker *s,
				      const char *fmt, ...)
{
	char name[sizeof(s->name)];
	va_list ap;

	va_start(ap, fmt);
	log_vformat(name, sizeof(name), fmt ? fmt : "", ap);
	va_end(ap);
	return shrinker_add(s, name);
}

USLUB_API void uslub_unregister_shrinker(struct uslub_shrinker *s)
{
	if (s)
		shrinker_remove(s);
}

USLUB_API struct uslub_shrinker *uslub_shrinker_alloc(unsigned int flags,
						      const char *fmt, ...)
{
	struct uslub_shrinker *s = kmalloc_fast(sizeof(*s), USLUB_GFP_ZERO);
	va_list ap;

	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->flags = flags;
	s->seeks = USLUB_DEFAULT_SEEKS;
	s->allocated = 1;
	va_start(ap, fmt);
	log_vformat(s->name, sizeof(s->name), fmt ? fmt : "", ap);
	va_end(ap);
	return s;
}

USLUB_API void uslub_shrinker_register(struct uslub_shrinker *s)
{
	if (shrinker_add(s, NULL) != 0)
		log_error("shrinker_register: shrinker %s has no callbacks or "
			  "is registered already", s && s->name[0] ? s->name : "?");
}

USLUB_API void uslub_shrinker_free(struct uslub_shrinker *s)
{
	if (!s)
		return;
	shrinker_remove(s);
	if (s->allocated)
		kfree_fast(s);
}

USLUB_API size_t uslub_reclaim(size_t bytes)
{
	return reclaim(bytes);
}

USLUB_API void uslub_heap_stats_get(struct uslub_heap_stats *st)
{
	init_ensure();
	stats_heap_get(st);
}

USLUB_API int uslub_malloc_stats_write(int fd)
{
	init_ensure();
	return stats_malloc_stats_write(fd);
}

USLUB_API int uslub_slabinfo_write(int fd)
{
	init_ensure();
	return stats_slabinfo_write(fd);
}

USLUB_API int uslub_meminfo_write(int fd)
{
	init_ensure();
	return stats_meminfo_write(fd);
}

USLUB_API int uslub_buddyinfo_write(int fd)
{
	init_ensure();
	return stats_buddyinfo_write(fd);
}

USLUB_API int uslub_stats_write(int fd)
{
	init_ensure();
	return stats_counters_write(fd);
}

USLUB_API int uslub_stats_write_json(int fd)
{
	init_ensure();
	return stats_json_write(fd);
}
