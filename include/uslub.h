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
/* The kernel's `slabinfo -v': walk every slab of s and check every
 * object (red zones, poison, padding, free chains, counts) for a cache
 * with debug flags; the free chains of its partial slabs for others.
 * Each problem is reported (BUG/INFO/FIX on stderr) and repaired.
 * Returns the number of problems found, 0 when the cache is sound. */
USLUB_API unsigned long uslub_cache_validate(struct uslub_cache *s);

/* kmalloc: any size.  uslub_kmalloc(0) returns a unique non-NULL pointer
 * (the kernel's ZERO_SIZE_PTR) that must not be dereferenced. */
USLUB_API void *uslub_kmalloc(size_t size, uslub_gfp_t gfp);
USLUB_API void *uslub_kzalloc(size_t size, uslub_gfp_t gfp);
USLUB_API void *uslub_krealloc(const void *p, size_t size, uslub_gfp_t gfp);
USLUB_API void uslub_kfree(const void *p);
USLUB_API size_t uslub_ksize(const void *p);
/* The size uslub_kmalloc(size) really provides. */
USLUB_API size_t uslub_kmalloc_size_roundup(size_t size);

/*
 * Whole pages from the buddy allocator, the kernel's __get_free_pages: a
 * block of 2^order 4 KiB pages (order 0..10, up to 4 MiB), aligned to its
 * size, zeroed for USLUB_GFP_ZERO.  NULL with errno EINVAL when order is
 * above 10, ENOMEM when memory (or USLUB_OPTIONS=limit=) runs out.  Free it
 * with uslub_free_pages and the same order; a wrong order, an address
 * that is not the start of such a block, or a double free is reported on
 * stderr as an invalid free (abort by default, see below) and changes
 * nothing.  Such a block is not a kmalloc block: uslub_kfree, uslub_free,
 * uslub_ksize and realloc report it the same way, as the kernel warns on
 * kfree of pages kmalloc did not hand out.  uslub_free_pages(NULL, n)
 * does nothing.
 */
USLUB_API void *uslub_alloc_pages(uslub_gfp_t gfp, unsigned int order);
USLUB_API void uslub_free_pages(void *addr, unsigned int order);

/*
 * The C library's malloc family, with glibc 2.36's documented behaviour:
 * failure returns NULL with errno ENOMEM (EINVAL from posix_memalign, which
 * returns the error instead and leaves *memptr alone); uslub_malloc(0) is a
 * unique pointer that can be freed; results of 16 bytes or more are 16-byte
 * aligned; uslub_free preserves errno.  A pointer uslub did not hand out is
 * reported on stderr with the function's name, then abort (default) or
 * ignored (USLUB_OPTIONS=abort_on_error=0).  The preload library maps the
 * libc names onto these.  Memory from either family may be freed by the
 * other: uslub_free(uslub_kmalloc(n)) is fine for n > 0; kmalloc(0)'s
 * ZERO_SIZE_PTR (16) is not a malloc pointer, and uslub_free and
 * uslub_realloc report it (uslub_kfree and uslub_krealloc take it).
 */
USLUB_API void *uslub_malloc(size_t size);
USLUB_API void uslub_free(void *p);
USLUB_API void *uslub_calloc(size_t nmemb, size_t size);
USLUB_API void *uslub_realloc(void *p, size_t size);
USLUB_API void *uslub_reallocarray(void *p, size_t nmemb, size_t size);
USLUB_API int uslub_posix_memalign(void **memptr, size_t align, size_t size);
USLUB_API void *uslub_aligned_alloc(size_t align, size_t size);
USLUB_API void *uslub_memalign(size_t align, size_t size);
USLUB_API void *uslub_valloc(size_t size);
USLUB_API void *uslub_pvalloc(size_t size);
/* The bytes usable at p (>= the size asked for), 0 for NULL.  Exactly
 * the size asked for when p's kmalloc cache has red zones (USLUB_DEBUG
 * with Z): the bytes after it are the kmalloc red zone. */
USLUB_API size_t uslub_usable_size(const void *p);
/* Give every free page back to the OS now (glibc's malloc_trim): runs
 * every shrinker at priority 0, flushes the calling thread's caches,
 * shrinks every kmalloc cache and purges free pages.  1 if memory was
 * released, else 0.  pad is ignored. */
USLUB_API int uslub_malloc_trim(size_t pad);

/*
 * Shrinkers (the kernel's struct shrinker): objects a program keeps cached
 * and can give back.  count_objects says how many could be freed (0 or
 * USLUB_SHRINK_EMPTY: none); scan_objects frees up to sc->nr_to_scan of
 * them and returns how many it freed, or USLUB_SHRINK_STOP to be left
 * alone for this pass.  They run from uslub_reclaim and uslub_malloc_trim,
 * on the calling thread, one at a time, with no allocator lock held: they
 * may allocate and free, but not register or unregister shrinkers, nor
 * call uslub_reclaim or malloc_trim (the pass holds the registry's lock).
 * The scan amount is the kernel's: (freeable >> priority) * 4 / seeks per
 * priority from 12 down to 0 (freeable / 2 when seeks is 0), plus work
 * left over from earlier passes (nr_deferred), at most 2 * freeable.
 */
#define USLUB_SHRINK_STOP	(~0UL)
#define USLUB_SHRINK_EMPTY	(~0UL - 1)
#define USLUB_DEFAULT_SEEKS	2

struct uslub_shrink_control {
	uslub_gfp_t gfp_mask;
	int nid;			/* always 0: one node */
	unsigned long nr_to_scan;	/* how many to scan this call */
	unsigned long nr_scanned;	/* how many were scanned (default: all) */
};

struct uslub_shrinker {
	unsigned long (*count_objects)(struct uslub_shrinker *,
				       struct uslub_shrink_control *);
	unsigned long (*scan_objects)(struct uslub_shrinker *,
				      struct uslub_shrink_control *);
	long batch;			/* per scan_objects call; 0: 128 */
	int seeks;			/* cost to recreate; 0: scan half */
	unsigned int flags;
	void *private_data;
	/* uslub's own: set by registration, under its lock */
	long nr_deferred;		/* scan work carried to the next pass */
	struct uslub_shrinker *next;
	int registered;
	int allocated;			/* by uslub_shrinker_alloc */
	char name[48];
};

/* The kernel's old API: a shrinker the program owns.  The name is a
 * printf-style format (%s %d %u %x %p).  0, or -EINVAL if s is already
 * registered or has no callbacks. */
USLUB_API int uslub_register_shrinker(struct uslub_shrinker *s,
		const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Waits for a reclaim pass that is running it; s may be freed after. */
USLUB_API void uslub_unregister_shrinker(struct uslub_shrinker *s);
/* The 6.7 API: uslub allocates it (zeroed, seeks = DEFAULT_SEEKS); the
 * caller sets the callbacks, then registers it; shrinker_free unregisters
 * and frees.  NULL with errno ENOMEM. */
USLUB_API struct uslub_shrinker *uslub_shrinker_alloc(unsigned int flags,
		const char *fmt, ...) __attribute__((format(printf, 2, 3)));
USLUB_API void uslub_shrinker_register(struct uslub_shrinker *s);
USLUB_API void uslub_shrinker_free(struct uslub_shrinker *s);

/* Ask every shrinker and the kmalloc caches to free about bytes (0: as
 * much as they can), priority by priority, and give free pages back to
 * the OS.  Returns the bytes given back.  Other threads' cpu slabs and
 * user caches' empty slabs beyond min_partial stay (kmem_cache_shrink). */
USLUB_API size_t uslub_reclaim(size_t bytes);

/*
 * USLUB_OPTIONS=limit=SIZE (bytes, or with a k/K, m/M, g/G suffix; 0 or
 * absent: no limit) caps the memory uslub holds from the OS: the bytes of
 * every 4 KiB page out of the buddy allocator's free lists (slabs of every
 * cache, large kmalloc blocks, uslub_alloc_pages blocks, each thread's
 * state (16 KiB) and its cached free blocks, at most 480 KiB) plus every
 * huge mapping (kmalloc above 4 MiB), rounded to pages.  Free pages, still
 * mapped or given back, do not count, nor do the page descriptors and
 * other metadata.  An allocation that would pass it, or that the OS
 * refuses, first runs reclaim on the calling thread (as uslub_reclaim,
 * until the limit has room), then tries once more; if it still does not
 * fit it fails: NULL with errno ENOMEM (posix_memalign: ENOMEM returned).
 * Reclaim starts only where the thread holds no lock of uslub; elsewhere
 * (allocations inside a shrinker, or uslub's own under its locks) the
 * allocation fails at once.  So a shrinker may run inside any allocation
 * of a thread: it must not wait for a lock that this thread may hold
 * while it allocates (the kernel's GFP_NOFS problem).
 */

/*
 * RCU (liburcu's memb flavour, the one <urcu.h> selects by default, so a
 * program that uses liburcu itself shares these grace periods).  As with
 * liburcu, a thread registers before its first read-side critical section
 * and unregisters before it exits; readers of unregistered threads are not
 * waited for.  Read-side sections nest and may allocate and free.  Inside
 * one, a thread must not call uslub_synchronize_rcu, uslub_rcu_barrier,
 * uslub_cache_destroy (which waits for pending RCU frees) or fork().
 * After fork(), only the forking thread may be inside a read-side section
 * (liburcu's rule: the child waits for the registrations it inherited).
 *
 * USLUB_TYPESAFE_BY_RCU caches give a slab's pages back only after a
 * grace period; their objects may be reused at once, and keep what the
 * ctor set, so readers check identity after finding an object.
 * uslub_free_rcu frees obj (from uslub_kmalloc, uslub_malloc or any cache)
 * after a grace period; head is a struct uslub_rcu_head inside obj, which
 * uslub uses until then.  It returns at once and never blocks, in a
 * read-side section too.  uslub_rcu_barrier waits until everything freed
 * with uslub_free_rcu (and every TYPESAFE slab discarded) before the call
 * has been given back.
 */
struct uslub_rcu_head {
	struct uslub_rcu_head *next;	/* uslub's, while the free waits */
	void *obj;			/* the object to free */
};

USLUB_API void uslub_rcu_read_lock(void);
USLUB_API void uslub_rcu_read_unlock(void);
USLUB_API void uslub_rcu_register_thread(void);
USLUB_API void uslub_rcu_unregister_thread(void);
USLUB_API void uslub_synchronize_rcu(void);
USLUB_API void uslub_rcu_barrier(void);
USLUB_API void uslub_free_rcu(void *obj, struct uslub_rcu_head *head);

/* Heap totals in bytes (the source of mallinfo2). */
struct uslub_heap_stats {
	size_t mapped;		/* reserved from the OS and touched, ever */
	size_t resident;	/* the process's RSS */
	size_t allocated;	/* in objects and blocks handed out */
	size_t slab_bytes;	/* in slabs (objects, free or not) */
	size_t slab_free;	/* of those, in free objects */
	size_t page_free;	/* in free buddy blocks, not yet given back */
	size_t large_bytes;	/* in large buddy blocks handed out */
	size_t huge_bytes;	/* in huge mappings */
	size_t huge_count;	/* number of huge mappings */
	size_t released;	/* given back to the OS, ever */
	size_t free_blocks;	/* free buddy blocks */
};
USLUB_API void uslub_heap_stats_get(struct uslub_heap_stats *st);
/* glibc's malloc_stats format ("Arena 0:", "system bytes = ...") followed
 * by uslub's summary line; 0 or -1 with errno. */
USLUB_API int uslub_malloc_stats_write(int fd);

/*
 * USLUB_OPTIONS=page_owner=1 (read at start): every block of pages the
 * buddy allocator hands out (slabs, large kmalloc blocks, page blocks,
 * uslub's own thread states) is recorded with its order, pid, tid, time
 * and up to 12 return addresses; freeing it drops the record.  This
 * prints the live records in the spirit of the kernel's
 * /sys/kernel/debug/page_owner, one per block, blank-line separated:
 *
 *   Page allocated via order 3, pid 158, tid 160, ts 546264411584 ns
 *   Addr 0x7f2a40000000 pages 8 type slab cache yep_slab_cache Flags 0x1(slab|head)
 *    page_owner_record+0x4f
 *    ...
 *    alloc_store+0x1c
 *
 * (type slab, large, pages or internal; frames as symbol+offset, the
 * executable's own symbols only when it is linked with -rdynamic; no gfp
 * mask, which the page layer does not see).  0, or -1 with errno: EINVAL
 * while page_owner is off (as the kernel's read_page_owner), or write's.
 */
USLUB_API int uslub_page_owner_write(int fd);

/*
 * USLUB_OPTIONS=prof=1 (read at start): the sampling heap profiler (see
 * doc/profiling.md).  Writes the heap profile, in gperftools' text format
 * (google-pprof --text PROGRAM FILE reads it), to path, or with path NULL
 * to <prof_prefix>.<pid>.<n>.heap in the working directory (n counts the
 * dumps from 0).  0, or -1 with errno: EINVAL while prof is off, or
 * open's and write's.
 */
USLUB_API int uslub_prof_dump(const char *path);

/* Statistics, in the formats of the kernel's files.  0 or -1 with errno. */
USLUB_API int uslub_slabinfo_write(int fd);	/* /proc/slabinfo 2.1 */
USLUB_API int uslub_meminfo_write(int fd);	/* Slab:, SReclaimable:, SUnreclaim: (kB) */
USLUB_API int uslub_buddyinfo_write(int fd);	/* free blocks per order, per region */
/* SLUB's event counters (alloc_cpu_sheaf, free_cpu_sheaf, barn_get,
 * sheaf_flush, alloc_slab, ...) and where free objects wait (sheaf_objects
 * in threads' sheaves, barn_full_sheaves, barn_objects, ...), one line per
 * non-zero value: "<cache> <name> <value>"; last the sheaf pool
 * ("sheaf_pool bytes <n>"). */
USLUB_API int uslub_stats_write(int fd);
/* All of the above as one JSON document, versioned by its
 * "uslub_stats_version" member (1): every cache's slabinfo columns,
 * sheaf and barn occupancy and event counters, the meminfo totals and
 * the heap summary of uslub_heap_stats_get.  The schema is
 * doc/stats-json.md.  0, or -1 with errno. */
USLUB_API int uslub_stats_write_json(int fd);

#ifdef __cplusplus
}
#endif

#endif /* USLUB_H */
