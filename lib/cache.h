/*
 * cache.h - L5: caches: creation, destruction, shrinking, the per-thread
 * slots (kmalloc and user caches alike), the slow paths of the fast
 * paths, and statistics folding.
 */
#ifndef USLUB_CACHE_H
#define USLUB_CACHE_H

#include "types.h"
#include "thread.h"

extern struct lock slab_mutex;
extern struct list_head slab_caches;	/* under slab_mutex */
extern struct uslub_cache kmem_cache_cache;

/* Fill geometry and lists of a cache whose memory is zeroed. */
void cache_setup(struct uslub_cache *s, const char *name, size_t size,
		 size_t align, uslub_slab_flags_t flags, void (*ctor)(void *),
		 unsigned int kmalloc_idx);
/* Append a set-up cache to slab_caches. */
void cache_register(struct uslub_cache *s);

struct uslub_cache *cache_create(const char *name, size_t size, size_t align,
				 uslub_slab_flags_t flags, void (*ctor)(void *));
int cache_destroy(struct uslub_cache *s);
int cache_shrink(struct uslub_cache *s);

/* The calling thread's cpu slot of s, or NULL if it has none yet (or no
 * thread state: the empty state's slots point at no cache).  A slot in the
 * thread state is one add away; other user caches go through cpu_dir. */
static __always_inline struct kmem_cache_cpu *
cache_cpu(const struct uslub_cache *s, struct thread_cache *tc)
{
	struct kmem_cache_cpu **chunk, *c;

	if (likely(s->cpu_slot)) {
		c = &tc->kcpu[s->cpu_slot];
		return likely(c->cache == s) ? c : NULL;
	}
	chunk = load_acquire(s->cpu_dir[tc->idx / THREAD_CHUNK]);
	return chunk ? chunk[tc->idx % THREAD_CHUNK] : NULL;
}

/* The calling thread's cpu slot of s, created if needed; NULL when the
 * thread state or the slot cannot be allocated. */
struct kmem_cache_cpu *cache_cpu_get(struct uslub_cache *s,
				     struct thread_cache **tcp);

/* Thread exit: flush every cpu slot of tc and fold its counters.  Caller
 * holds slab_mutex. */
void cache_thread_exit_locked(struct thread_cache *tc);

/* Trim: the calling thread's sheaves and every barn back to the slabs,
 * the kmalloc caches' empty slabs back to the page layer; every other
 * thread flushes its sheaves on its next refill or overflow. */
void cache_trim_all(void);
/* Validate every debug cache (exit with USLUB_DEBUG; trim does it for
 * itself): poison overwritten in a free object is a use after free that
 * no reuse has shown yet.  func names the caller in reports.  Returns
 * the problems reported. */
unsigned long cache_validate_debug(const char *func);
/* Ask every thread to flush its sheaves on its next refill or overflow. */
void cache_flush_sheaves_request(void);
/* The request's generation (atomic); a new thread starts at the current
 * one: it has nothing that was asked to be flushed. */
extern uint32_t sheaf_flush_gen;

/* Sum of the counters of every thread (live and exited) for s.  Caller
 * holds slab_mutex. */
void cache_stat_sum_locked(const struct uslub_cache *s,
			   unsigned long sum[NR_SLUB_STAT_ITEMS]);
/* Objects handed out and not freed, exact when the program is quiescent. */
unsigned long cache_active_objects_locked(const struct uslub_cache *s);

/* Free objects cached in sheaves, for statistics. */
struct sheaf_occupancy {
	unsigned long slots;		/* thread slots with sheaves */
	unsigned long cpu_objects;	/* in their main, spare and shelf */
	unsigned int barn_full, barn_empty;
	unsigned long barn_objects;
};
void cache_sheaf_occupancy_locked(struct uslub_cache *s,
				  struct sheaf_occupancy *o);

#endif /* USLUB_CACHE_H */
