/*
 * cache.c - L5: creating, destroying and shrinking caches; each thread's
 * slot of a cache; the slow paths of the fast paths; folding per-thread
 * counters.
 *
 * Locking (outermost first), as SLUB's:
 *
 *   slab_mutex        slab_caches, cache creation and destruction, the
 *                     thread registry, slot creation, cpu_dir entries,
 *                     stat_dead, every read of other threads' counters,
 *                     and a thread's flush of all its sheaves
 *   s->barn.lock      a cache's barn: its full and empty sheaves (a spin
 *                     lock; only fork's prepare takes another lock, the
 *                     cache's list_lock, while holding it)
 *   s->list_lock      s->partial, s->nr_partial and slab->on_partial
 *   huge_lock         the table of huge mappings (kmalloc.c)
 *   sheaf_pool_lock   the sheaf pool's pages and their free sheaves (sheaf.c)
 *   page_lock         the buddy allocator and regions (page_alloc.c)
 *
 * No lock is held on the fast paths; a thread's own slot (its main and
 * spare sheaves) is touched only by that thread, except by cache_destroy,
 * which the user promises not to race with other use of the cache, and
 * by thread exit and fork's child, when the owner is gone.
 *
 * Where an object is (invariant 1a): handed out, in exactly one sheaf (a
 * thread's main or spare, or a barn's), or on its slab's freelist.
 * active_objs counts the first kind only.
 *
 * Slab states (SLUB after sheaves took over from cpu slabs):
 *   partial      free objects on slab->freelist, on s->partial, on_partial
 *                (list_lock).  Objects are taken off slab->freelist only
 *                under list_lock while the slab is on s->partial (a
 *                sheaf refill), so the taker is alone and the cmpxchg16b
 *                needs no tag; everyone else only pushes, with one
 *                cmpxchg16b per chain of objects of one slab.  A refill
 *                that wants all of a slab's free objects takes the whole
 *                chain (freelist NULL, inuse = objects: the slab is full
 *                and leaves the list) and walks it after dropping the
 *                lock; its objects count in use, so the slab stays.
 *   full         no free object on slab->freelist, on no list.  The first
 *                push into it puts it on s->partial (list_lock).
 *   empty        inuse == 0: kept on s->partial while nr_partial <
 *                min_partial, otherwise returned to the page layer at once.
 *   new          the refilling thread's alone until the objects it does
 *                not take go on s->partial.
 * The counters' frozen bit stays 0.
 *
 * Object layout (no debug flags):
 *
 *   |<----------------------------- s->size ------------------------------>|
 *   | object_size bytes (while free: tag, free pointer at s->offset) | pad |
 *
 * The free pointer sits in the object's second word (its first holds the
 * free tag; slab.c says why), or after the object for caches with a
 * ctor or SLAB_TYPESAFE_BY_RCU, whose contents must survive being free.
 * Only objects on a slab's freelist use it: sheaves hold pointers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "debug.h"
#include "debug_large.h"
#include "sheaf.h"
#include "region.h"
#include "init.h"
#include "log.h"
#include "options.h"
#include "os.h"
#include "prof.h"
#include "rcu.h"
#include "statsd.h"
#include "assert.h"

struct lock slab_mutex = LOCK_INITIALIZER;
struct list_head slab_caches = LIST_HEAD_INIT(slab_caches);
/* struct uslub_cache objects come from this cache, as in the kernel. */
struct uslub_cache kmem_cache_cache;

#define USLUB_VALID_FLAGS	(USLUB_HWCACHE_ALIGN | USLUB_RECLAIM_ACCOUNT | \
				 USLUB_TYPESAFE_BY_RCU | USLUB_PANIC | \
				 USLUB_NO_MERGE | USLUB_RED_ZONE | USLUB_POISON | \
				 USLUB_STORE_USER | USLUB_CONSISTENCY_CHECKS | \
				 USLUB_TRACE)

/* ---- Creation -------------------------------------------------------- */

uint64_t free_tag_key;		/* alloc.h; written once, by the first setup */

/*
 * A random word per cache for the free pointers (slab.h): the 16 random
 * bytes the kernel gives every process at exec (AT_RANDOM, which glibc
 * uses for the stack guard), the cache's address and a count, through
 * splitmix64's finalizer.  No system call and no allocation, so it works
 * before anything else is set up.
 */
static uint64_t cache_random(const struct uslub_cache *s)
{
	static uint64_t count;
	const unsigned char *bytes = os_exec_random();
	uint64_t z = (uintptr_t)s ^ atomic_add(count, 0x9E3779B97F4A7C15ULL);
	uint64_t seed[2];

	if (bytes) {
		memcpy(seed, bytes, sizeof(seed));
		z ^= seed[0] ^ (seed[1] << 1);
	}
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

void cache_setup(struct uslub_cache *s, const char *name, size_t size,
		 size_t align, uslub_slab_flags_t flags, void (*ctor)(void *),
		 unsigned int kmalloc_idx)
{
	size_t n = strlen(name);
	bool order_off;

	n = MIN(n, (size_t)CACHE_NAME_MAX - 1);
	memcpy(s->name, name, n);
	s->name[n] = '\0';
	s->object_size = (unsigned int)size;
	s->align = (unsigned int)align;
	s->flags = flags;
	s->ctor = ctor;
	s->kmalloc_idx = kmalloc_idx;
	s->cpu_slot = kmalloc_idx;
	s->random = cache_random(s);
	if (!free_tag_key)	/* odd: never 0, the word alloc leaves */
		free_tag_key = cache_random(s) | 1;
	s->flags |= options_debug_flags(s->name, &order_off);
	slab_calculate_sizes(s, uslub_ncpus);
	if (order_off && (s->flags & SLAB_DEBUG_FLAGS)) {
		/* slub_debug O: no debugging where it raises the order. */
		uslub_slab_flags_t debug = s->flags;
		unsigned int order = s->order;

		s->flags &= ~SLAB_DEBUG_FLAGS;
		slab_calculate_sizes(s, uslub_ncpus);
		if (s->order == order) {
			s->flags = debug;
			slab_calculate_sizes(s, uslub_ncpus);
		}
	}
	/* Debug caches check every operation under list_lock (as SLUB). */
	s->sheaf_capacity = (s->flags & SLAB_DEBUG_FLAGS) ? 0 :
			    sheaf_capacity(s->size);
	s->sheaf_max = s->sheaf_capacity ? sheaf_max_capacity(s->size) : 0;
	lock_init(&s->list_lock);
	list_init(&s->partial);
	list_init(&s->list);
	barn_init(&s->barn, s->sheaf_capacity, s->size);
}

/* Which of the NR_INLINE_SLOTS user-cache slots are taken; under
 * slab_mutex.  A slot is free again once its cache is destroyed and every
 * thread's copy of it cleared. */
static uint32_t inline_slots_used;
_Static_assert(NR_INLINE_SLOTS <= 32, "inline_slots_used is 32 bits");

static unsigned int inline_slot_alloc_locked(void)
{
	unsigned int i;

	for (i = 0; i < NR_INLINE_SLOTS; i++)
		if (!(inline_slots_used & (1u << i))) {
			inline_slots_used |= 1u << i;
			return NR_KMALLOC + i;
		}
	return 0;				/* the rest use cpu_dir */
}

static void inline_slot_free_locked(unsigned int slot)
{
	inline_slots_used &= ~(1u << (slot - NR_KMALLOC));
}

/*
 * A user cache gets a slot in the thread state if one is free, unless its
 * objects must keep their contents while free (ctor, TYPESAFE_BY_RCU):
 * the fast paths of slots write the free tag into free objects (alloc.h).
 * Those caches live in cpu_dir and keep SLUB's naive double-free check.
 */
void cache_register(struct uslub_cache *s)
{
	lock_acquire(&slab_mutex);
	if (!s->kmalloc_idx && !s->ctor &&
	    !(s->flags & USLUB_TYPESAFE_BY_RCU))
		s->cpu_slot = inline_slot_alloc_locked();
	s->free_tag = s->cpu_slot && !cache_debug(s);
	list_add_tail(&s->list, &slab_caches);
	lock_release(&slab_mutex);
}

/* The largest object: one per slab of order MAX_ORDER. */
#define CACHE_MAX_OBJECT	(PAGE_SIZE << MAX_ORDER)

struct uslub_cache *cache_create(const char *name, size_t size, size_t align,
				 uslub_slab_flags_t flags, void (*ctor)(void *))
{
	struct uslub_cache *s;

	init_ensure();
	if (!name || !*name || size == 0 || size > CACHE_MAX_OBJECT / 2 ||
	    (align & (align - 1)) || align > PAGE_SIZE ||
	    (flags & ~USLUB_VALID_FLAGS)) {
		log_error("cache_create: invalid arguments for cache '%s' "
			  "(size %zu, align %zu, flags %#lx)",
			  name ? name : "(null)", size, align, flags);
		errno = EINVAL;
		goto fail;
	}
	s = cache_alloc_fast(&kmem_cache_cache, 0);
	if (!s) {
		log_error("cache_create: out of memory for cache '%s'", name);
		goto fail;
	}
	memset(s, 0, sizeof(*s));
	cache_setup(s, name, size, align, flags, ctor, 0);
	cache_register(s);
	/* Its slabs' first discard may run under slab_mutex, where the
	 * worker cannot be started. */
	if (flags & USLUB_TYPESAFE_BY_RCU)
		rcu_worker_ensure();
	return s;
fail:
	if (flags & USLUB_PANIC)	/* the kernel panics here */
		abort();
	return NULL;
}

/* ---- Per-thread slots ----------------------------------------------- */

/* Slot memory for a cpu_dir cache, and the chunk it may need, are
 * allocated before slab_mutex is taken. */
struct slot_alloc {
	struct slab_sheaf *main;
	struct kmem_cache_cpu *slot;	/* cpu_dir caches */
	struct kmem_cache_cpu **chunk;	/* a new cpu_dir chunk, if needed */
};

/* Under slab_mutex, but for kmalloc slots (cache_cpu_get). */
static struct kmem_cache_cpu *cpu_slot_create(struct uslub_cache *s,
					      struct thread_cache *tc,
					      struct slot_alloc *a)
{
	struct kmem_cache_cpu **chunk, *c;

	if (s->cpu_slot) {			/* in the thread state */
		c = &tc->kcpu[s->cpu_slot];
		sheaf_slot_init(s, c, (uint16_t)(s->cpu_slot << CPU_SHIFT),
				a->main);
	} else {
		chunk = s->cpu_dir[tc->idx / THREAD_CHUNK];
		if (!chunk) {
			chunk = a->chunk;
			a->chunk = NULL;
			store_release(s->cpu_dir[tc->idx / THREAD_CHUNK], chunk);
		}
		c = a->slot;
		a->slot = NULL;
		sheaf_slot_init(s, c, 0, a->main);
		chunk[tc->idx % THREAD_CHUNK] = c;
	}
	a->main = NULL;
	store_release(c->cache, s);	/* statistics: the slot is set up */
	return c;
}

static bool slot_alloc_prepare(struct uslub_cache *s, struct thread_cache *tc,
			       struct slot_alloc *a)
{
	memset(a, 0, sizeof(*a));
	if (s->sheaf_capacity)	/* NULL: the slot works on slow paths */
		a->main = sheaf_new(s->sheaf_max, &tc->pcache, tc->idx);
	if (s->cpu_slot)
		return true;
	a->slot = kmalloc_fast(sizeof(*a->slot), 0);
	if (!load_acquire(s->cpu_dir[tc->idx / THREAD_CHUNK]))
		a->chunk = kmalloc_fast(THREAD_CHUNK * sizeof(*a->chunk),
					USLUB_GFP_ZERO);
	return a->slot && (a->chunk ||
			   load_acquire(s->cpu_dir[tc->idx / THREAD_CHUNK]));
}

static void slot_alloc_finish(struct slot_alloc *a)
{
	if (a->main)
		sheaf_free(a->main);
	if (a->slot)
		kfree_fast(a->slot);
	if (a->chunk)
		kfree_fast(a->chunk);
}

/*
 * Slot creation takes slab_mutex, which destroy holds while it walks and
 * clears slots, except for the kmalloc classes, which are never
 * destroyed: a thread sets its slot up alone and publishes it with a
 * release store of its cache, which statistics read with acquire (a new
 * thread sets up a dozen classes; slab_mutex made thread churn queue).
 * It may run with slab_mutex already held by this thread: thread exit,
 * fork's child and destroy free memory under it, and a free may set up
 * this thread's slot of its kmalloc class.
 */
struct kmem_cache_cpu *cache_cpu_get(struct uslub_cache *s,
				     struct thread_cache **tcp)
{
	struct thread_cache *tc = thread_cache_get();
	struct kmem_cache_cpu *c;
	struct slot_alloc a;
	bool locked;

	*tcp = tc;
	if (!tc)
		return NULL;
	c = cache_cpu(s, tc);
	if (c)
		return c;
	if (!slot_alloc_prepare(s, tc, &a)) {
		slot_alloc_finish(&a);
		return NULL;
	}
	locked = s->kmalloc_idx || lock_held(&slab_mutex);
	if (!locked)
		lock_acquire(&slab_mutex);
	c = cache_cpu(s, tc);
	if (!c)
		c = cpu_slot_create(s, tc, &a);
	if (!locked)
		lock_release(&slab_mutex);
	if (c->main)
		stat(c, SHEAF_ALLOC);
	slot_alloc_finish(&a);
	return c;
}

/* ---- Sheaf upkeep on the slow paths ---------------------------------- */

/* Bumped by trim, shrink and reclaim: every thread flushes its sheaves
 * on its next refill or overflow (thread_cache.flush_gen). */
uint32_t sheaf_flush_gen;
/* When the barns are next swept for sheaves idle past decay_ms. */
static uint64_t next_sweep;

/* Flush every sheaf of tc's slots to the slabs (the sheaves stay).  Under
 * slab_mutex: cache_destroy flushes every thread's slot of its cache, this
 * thread's included, under it too. */
static void thread_flush_sheaves(struct thread_cache *tc)
{
	struct uslub_cache *s;
	struct kmem_cache_cpu *c;

	lock_acquire(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list)
		if ((c = cache_cpu(s, tc)) && c->main)
			sheaf_slot_flush(s, c, &tc->pcache);
	lock_release(&slab_mutex);
}

/* Work done for s on a thread without a slot of s (none yet, no memory
 * for one, or past its exit) counts on tmp; its counters then go to the
 * cache's.  slab_mutex may be held already. */
static void fold_stats(struct uslub_cache *s, struct kmem_cache_cpu *tmp)
{
	bool locked = lock_held(&slab_mutex);

	if (!locked)
		lock_acquire(&slab_mutex);
	for (unsigned int i = 0; i < NR_SLUB_STAT_ITEMS; i++)
		s->stat_dead[i] += cpu_stat(tmp, i);
	if (!locked)
		lock_release(&slab_mutex);
}

/* Every barn's sheaves idle past decay_ms go back to the slabs, so that a
 * cache nobody uses any more gives its memory back. */
static void sweep_barns(struct thread_cache *tc, uint64_t now)
{
	struct uslub_cache *s;
	struct kmem_cache_cpu *c, tmp;

	if (!lock_try(&slab_mutex))
		return;
	list_for_each_entry(s, &slab_caches, list) {
		if (!READ_ONCE(s->barn.nr_full))
			continue;
		c = cache_cpu(s, tc);
		if (c) {
			barn_decay(s, c, &tc->pcache, now);
			continue;
		}
		memset(&tmp, 0, sizeof(tmp));
		barn_decay(s, &tmp, &tc->pcache, now);
		fold_stats(s, &tmp);
	}
	lock_release(&slab_mutex);
}

void cache_flush_sheaves_request(void)
{
	atomic_add(sheaf_flush_gen, 1);
}

/*
 * Before a refill or an overflow: the thread's clock (read every
 * UPKEEP_CLOCK_EVERY calls: a clock_gettime per sheaf exchange was a
 * tenth of a mixed workload's slow paths) and, with no lock held, the
 * flush others asked for and the periodic sweep of the barns.  Returns
 * the thread's recent time.
 */
#define UPKEEP_CLOCK_EVERY	8

static __noinline void sheaf_upkeep_work(struct thread_cache *tc,
					 uint64_t now)
{
	uint32_t gen = READ_ONCE(sheaf_flush_gen);
	uint64_t next;

	statsd_ensure(now);		/* a pending statistics server */
	if (tc->flush_gen != gen) {
		tc->flush_gen = gen;
		thread_flush_sheaves(tc);
	}
	next = READ_ONCE(next_sweep);
	if (now >= next &&
	    __atomic_compare_exchange_n(&next_sweep, &next,
					now + MAX(uslub_opt.decay_ms / 2, 10UL),
					false, __ATOMIC_RELAXED,
					__ATOMIC_RELAXED))
		sweep_barns(tc, now);
}

/* Inline, with the work out of line only when there is some: the call
 * and its register saves were half of what a sheaf exchange cost here. */
static __always_inline uint64_t sheaf_upkeep(struct thread_cache *tc)
{
	uint64_t now;

	if (++tc->upkeep_calls % UPKEEP_CLOCK_EVERY == 0)
		tc->now_ms = os_now_ms();
	now = tc->now_ms;
	if (unlikely(now >= READ_ONCE(statsd_due) ||
		     tc->flush_gen != READ_ONCE(sheaf_flush_gen) ||
		     now >= READ_ONCE(next_sweep)) &&
	    !lock_depth)
		sheaf_upkeep_work(tc, now);
	return now;
}

/* ---- Slow paths of cache_alloc_fast / cache_free_fast ---------------- */

/* One object for c's thread past the main sheaf: a refill, or straight
 * from the slabs for a slot without sheaves. */
static __always_inline void *alloc_refill(struct uslub_cache *s,
					  struct kmem_cache_cpu *c,
					  struct thread_cache *tc)
{
	uint64_t now = sheaf_upkeep(tc);	/* may only empty main */
	void *p = NULL;

	if (c->main)
		return sheaf_refill_pop(s, c, &tc->pcache, now, tc->idx);
	if (!slab_alloc_bulk(s, c, &tc->pcache, &p, 1))
		return NULL;
	return p;
}

void *kmalloc_refill(struct kmem_cache_cpu *c, size_t size, uslub_gfp_t gfp,
		     uintptr_t caller)
{
	void *p;

	/* c->cache first: a new thread state has only its slots' first
	 * lines zeroed (thread.c), main is set up before cache */
	if (likely(c->cache) && likely(c->main) &&
	    likely(!(gfp & USLUB_GFP_ZERO)) &&
	    likely(!READ_ONCE(prof_active))) {
		p = alloc_refill(c->cache, c, thread_cache);
		if (likely(p)) {
			stat(c, ALLOC_SLOWPATH);
			if (c->cache->free_tag)
				free_tag_clear(p);
			return p;
		}
	}
	return kmalloc_slow(size, gfp, caller);
}

/* A debug cache's object, checked by debug.c; size: what kmalloc was
 * asked for (object_size otherwise). */
static __noinline void *alloc_debug(struct uslub_cache *s, uslub_gfp_t gfp,
				    size_t size, uintptr_t caller)
{
	struct thread_cache *tc = thread_cache;
	struct kmem_cache_cpu *c;
	void *p;

	if (!tc->live || !(c = cache_cpu(s, tc)))
		c = cache_cpu_get(s, &tc);
	if (unlikely(!c)) {
		errno = ENOMEM;
		return NULL;
	}
	p = debug_alloc(s, c, &tc->pcache, size, caller);
	if (unlikely(!p)) {
		errno = ENOMEM;
		return NULL;
	}
	stat(c, ALLOC_SLOWPATH);
	if (gfp & USLUB_GFP_ZERO)	/* not the kmalloc red zone */
		memset(p, 0, debug_object_size(s, p));
	return p;
}

void *cache_alloc_sized(struct uslub_cache *s, uslub_gfp_t gfp, size_t size,
			uintptr_t caller)
{
	struct thread_cache *tc = thread_cache;
	struct kmem_cache_cpu *c;
	void *p;

	if (cache_debug(s))	/* first: size is dead after it */
		return alloc_debug(s, gfp, size, caller);
	if (!tc->live || !(c = cache_cpu(s, tc)))
		c = cache_cpu_get(s, &tc);

	if (unlikely(!c)) {
		errno = ENOMEM;
		return NULL;
	}
	p = sheaf_pop(c);
	if (!p) {
		p = alloc_refill(s, c, tc);
		if (unlikely(!p)) {
			errno = ENOMEM;
			return NULL;
		}
		stat(c, ALLOC_SLOWPATH);
	}
	if (s->free_tag)
		free_tag_clear(p);
	if (gfp & USLUB_GFP_ZERO)
		memset(p, 0, s->object_size);
	return p;
}

void *cache_alloc_slow(struct uslub_cache *s, uslub_gfp_t gfp,
		       uintptr_t caller)
{
	return cache_alloc_sized(s, gfp, s->object_size, caller);
}

/* The slab of obj if obj is an object start of cache s (any cache when
 * s is NULL: kfree, free); else reports under func's name. */
static struct slab *object_slab(const char *func, struct uslub_cache *s,
				struct slab *head, const void *obj)
{
	char what[2 * CACHE_NAME_MAX + 64];

	if (s && head->cache != s) {
		log_format(what, sizeof(what), "an object of cache %s, not of %s",
			   head->cache->name, s->name);
		kmalloc_report_invalid(func, obj, what);
		return NULL;
	}
	s = head->cache;
	if (slab_object_index(s, head, obj) < 0) {
		log_format(what, sizeof(what),
			   "inside an object of cache %s, not its start",
			   s->name);
		kmalloc_report_invalid(func, obj, what);
		return NULL;
	}
	return head;
}

/* Every free of an object of a debug cache, or to one (want). */
static void cache_free_debug(const char *func, struct uslub_cache *want,
			     struct slab *slab, void *obj, uintptr_t caller)
{
	struct uslub_cache *s = slab->cache;
	struct thread_cache *tc = NULL;
	struct kmem_cache_cpu *c = NULL, tmp;

	if (thread_cache_for_free())
		c = cache_cpu_get(s, &tc);
	if (c) {
		debug_free(func, s, want, c, &tc->pcache, slab, obj, caller);
		return;
	}
	memset(&tmp, 0, sizeof(tmp));
	debug_free(func, s, want, &tmp, NULL, slab, obj, caller);
	fold_stats(s, &tmp);
}

__cold void cache_report_double_free(const char *func,
				    const struct uslub_cache *s,
				    const void *obj)
{
	char what[CACHE_NAME_MAX + 64];

	log_format(what, sizeof(what),
		   "double free (object of cache %s already free)", s->name);
	kmalloc_report_invalid(func, obj, what);
}

bool cache_object_freed(const char *func, const void *obj)
{
	struct slab *head = pagemap_head(obj);
	struct uslub_cache *s;

	if (!head || !(block_flags(head) & PG_slab))
		return false;
	s = READ_ONCE(head->cache);
	if (!s->free_tag || slab_object_index(s, head, obj) < 0 ||
	    !free_tagged(obj))
		return false;
	cache_report_double_free(func, s, obj);
	return true;
}

/* A checked object of s into c's sheaves: room on main, else an overflow. */
static void free_to_sheaf(struct uslub_cache *s, struct kmem_cache_cpu *c,
			  struct thread_cache *tc, void *obj)
{
	uint64_t now;

	if (c->top == c->end) {
		now = sheaf_upkeep(tc);
		if (c->top == c->end) {
			sheaf_overflow_push(s, c, &tc->pcache, obj, now,
					    tc->idx);
			return;
		}
	}
	*c->top = obj;
	cpu_set_size(c, cpu_size(c) + 1);
}

/*
 * A free the fast paths could not do: no slot or thread state yet, a
 * pointer that needs checking, a full main sheaf, or the object on top of
 * the sheaf (a double free).  Also the entry for kfree of objects of user
 * caches without a slot in the thread state (s NULL: any cache).  A
 * thread past its exit flush frees without a new thread state, straight
 * to the slab: glibc frees dynamic TLS after the key destructors.
 */
void cache_free_checked(const char *func, struct uslub_cache *s, void *obj,
			uintptr_t caller)
{
	struct slab *slab = kmalloc_block_of(func, obj, PG_slab);
	struct thread_cache *tc = NULL;
	struct kmem_cache_cpu *c = NULL, tmp;

	if (!slab)
		return;
	if (cache_debug(slab->cache) || (s && cache_debug(s))) {
		cache_free_debug(func, s, slab, obj, caller);
		return;
	}
	slab = object_slab(func, s, slab, obj);
	if (!slab)
		return;
	s = slab->cache;
	if (thread_cache_for_free())
		c = cache_cpu_get(s, &tc);
	if (likely(c)) {
		cache_free_owned(obj, c, func);
		return;
	}
	/* No thread state or no memory for a slot: count on a temporary
	 * one. */
	if (s->free_tag) {
		if (unlikely(free_tagged(obj))) {
			cache_report_double_free(func, s, obj);
			return;
		}
		free_tag_set(obj);
	}
	memset(&tmp, 0, sizeof(tmp));
	slab_free_slow(func, s, &tmp, NULL, slab, obj, obj, 1);
	stat(&tmp, FREE_SLOWPATH);
	fold_stats(s, &tmp);
}

void cache_free_slow(struct uslub_cache *s, void *obj, uintptr_t caller)
{
	cache_free_checked("cache_free", s, obj, caller);
}

__noinline void cache_free_owned(void *p, struct kmem_cache_cpu *c,
				 const char *func)
{
	struct uslub_cache *s = c->cache;
	struct thread_cache *tc = thread_cache;

	if (s->free_tag) {
		if (unlikely(free_tagged(p))) {
			cache_report_double_free(func, s, p);
			return;
		}
		free_tag_set(p);
	} else if (unlikely(c->top > c->objects && c->top[-1] == p)) {
		cache_report_double_free(func, s, p);
		return;
	}
	if (c->main) {
		bool prof = prof_slot(c);	/* the heap profiler's (prof.h) */

		if (unlikely(prof)) {
			prof_free(p);
			if (prof_slot_push(c, p))
				goto out;
			prof_slot_open(c);
		}
		free_to_sheaf(s, c, tc, p);
		if (unlikely(prof))
			prof_slot_close(c);
	} else {		/* no memory for a sheaf: straight back */
		prof_free(p);
		slab_free_slow(func, s, c, &tc->pcache, pagemap_head(p), p, p,
			       1);
	}
out:
	stat(c, FREE_SLOWPATH);
}

/* Does the page at d hold a slab of s? */
static bool page_of_cache(const struct slab *d, const struct uslub_cache *s)
{
	const struct slab *head = READ_ONCE(d->head);

	return head && (block_flags(head) & PG_slab) &&
	       READ_ONCE(head->cache) == s;
}

__noinline void cache_free_dir(struct uslub_cache *s, void *obj,
			       uintptr_t caller)
{
	struct kmem_cache_cpu *c;
	struct slab *d;

	if (!obj)
		return;
	c = cache_cpu(s, thread_cache);
	/* Pages of caches in cpu_dir carry slot 0: a coloured cache's
	 * multiples of size past its last object pass slot_owns. */
	if (c && !s->cpu_slot && (d = pagemap_lookup(obj)) &&
	    page_of_cache(d, s) && slot_owns(c, obj) &&
	    (!s->coloured || slab_object_index(s, d->head, obj) >= 0)) {
		if (!sheaf_push(c, obj))
			cache_free_owned(obj, c, "cache_free");
		return;
	}
	cache_free_checked("cache_free", s, obj, caller);
}

/* ---- Statistics ------------------------------------------------------ */

/*
 * The cpu slot of s of the thread with registry index *idx or the next
 * one that has a slot; NULL at the end.  Caller holds slab_mutex.
 */
static struct kmem_cache_cpu *cpu_slot_next_locked(const struct uslub_cache *s,
						   unsigned int *idx)
{
	unsigned int end = s->cpu_slot ? thread_registry_end() : MAX_THREADS;

	for (; *idx < end; (*idx)++) {
		struct kmem_cache_cpu **chunk;
		struct thread_cache *tc;

		if (s->cpu_slot) {
			tc = thread_registry_get(*idx);
			if (tc && load_acquire(tc->kcpu[s->cpu_slot].cache) == s)
				return &tc->kcpu[s->cpu_slot];
			continue;
		}
		chunk = s->cpu_dir[*idx / THREAD_CHUNK];
		if (!chunk)
			*idx |= THREAD_CHUNK - 1;	/* skip the chunk */
		else if (chunk[*idx % THREAD_CHUNK])
			return chunk[*idx % THREAD_CHUNK];
	}
	return NULL;
}

#define for_each_cpu_slot_locked(c, s, idx)				\
	for (idx = 0; (c = cpu_slot_next_locked(s, &idx)); idx++)

void cache_stat_sum_locked(const struct uslub_cache *s,
			   unsigned long sum[NR_SLUB_STAT_ITEMS])
{
	struct kmem_cache_cpu *c;
	unsigned int idx, i;

	memcpy(sum, s->stat_dead, sizeof(s->stat_dead));
	for_each_cpu_slot_locked(c, s, idx)
		for (i = 0; i < NR_SLUB_STAT_ITEMS; i++)
			sum[i] += cpu_stat(c, i);
}

unsigned long cache_active_objects_locked(const struct uslub_cache *s)
{
	unsigned long sum[NR_SLUB_STAT_ITEMS];

	cache_stat_sum_locked(s, sum);
	return sum[ALLOC_PCS] + sum[ALLOC_SLOWPATH] -
	       sum[FREE_PCS] - sum[FREE_SLOWPATH];
}

void cache_sheaf_occupancy_locked(struct uslub_cache *s,
				  struct sheaf_occupancy *o)
{
	struct kmem_cache_cpu *c;
	unsigned int idx;

	memset(o, 0, sizeof(*o));
	for_each_cpu_slot_locked(c, s, idx) {
		if (!READ_ONCE(c->objects))
			continue;
		o->slots++;
		o->cpu_objects += cpu_size_racy(c) + READ_ONCE(c->spare_size);
	}
	barn_occupancy(s, &o->barn_full, &o->barn_empty, &o->barn_objects);
}

/* ---- Thread exit ----------------------------------------------------- */

/* A departing slot: its sheaves to the barn (or flushed), its counters
 * to the cache's. */
static void cpu_slot_retire_locked(struct uslub_cache *s,
				   struct kmem_cache_cpu *c,
				   struct page_cache *pc, bool keep,
				   unsigned int owner)
{
	unsigned int i;

	sheaf_slot_release(s, c, pc, keep, owner);
	for (i = 0; i < NR_SLUB_STAT_ITEMS; i++)
		s->stat_dead[i] += cpu_stat(c, i);
	memset(c->stat, 0, sizeof(c->stat));
}

void cache_thread_exit_locked(struct thread_cache *tc)
{
	struct uslub_cache *s;
	struct kmem_cache_cpu *c;

	USLUB_ASSERT(lock_held(&slab_mutex));
	/* User caches first: freeing their slots uses the kmalloc slots. */
	list_for_each_entry(s, &slab_caches, list) {
		if (s->kmalloc_idx || !(c = cache_cpu(s, tc)))
			continue;
		cpu_slot_retire_locked(s, c, &tc->pcache, true,
				       tc->idx);
		if (s->cpu_slot) {
			WRITE_ONCE(c->cache, NULL);
			continue;
		}
		s->cpu_dir[tc->idx / THREAD_CHUNK][tc->idx % THREAD_CHUNK] = NULL;
		kfree_fast(c);
	}
	list_for_each_entry(s, &slab_caches, list) {
		if (!s->kmalloc_idx || !(c = cache_cpu(s, tc)))
			continue;
		cpu_slot_retire_locked(s, c, &tc->pcache, true,
				       tc->idx);
		WRITE_ONCE(c->cache, NULL);
	}
}

/* ---- Shrink and destroy ---------------------------------------------- */

int cache_shrink(struct uslub_cache *s)
{
	struct thread_cache *tc;
	struct kmem_cache_cpu *c = cache_cpu_get(s, &tc);
	unsigned long left;

	if (!c)
		return 1;
	sheaf_slot_flush(s, c, &tc->pcache);
	barn_shrink(s, c, &tc->pcache);
	cache_flush_sheaves_request();
	left = slab_shrink_partial(s, c, &tc->pcache);
	page_cache_drain(&tc->pcache);
	page_purge(true);
	return left != 0;
}

unsigned long cache_validate_debug(const char *func)
{
	struct uslub_cache *s;
	unsigned long n = 0;

	lock_acquire(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list)
		if (cache_debug(s))
			n += debug_validate(s, func);
	lock_release(&slab_mutex);
	if (debug_large_on)
		n += debug_large_validate(func, false);
	return n;
}

void cache_trim_all(void)
{
	struct thread_cache *tc = thread_cache_get();
	struct kmem_cache_cpu *c, tmp;
	struct page_cache *pc = tc ? &tc->pcache : NULL;
	struct uslub_cache *s;

	cache_flush_sheaves_request();
	if (tc)
		tc->flush_gen = READ_ONCE(sheaf_flush_gen);
	lock_acquire(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		c = tc ? cache_cpu(s, tc) : NULL;
		if (c) {
			sheaf_slot_flush(s, c, pc);
		} else {
			memset(&tmp, 0, sizeof(tmp));
			c = &tmp;
		}
		barn_shrink(s, c, pc);
		if (s->kmalloc_idx)
			slab_shrink_partial(s, c, pc);
		if (c == &tmp)
			fold_stats(s, &tmp);
		if (cache_debug(s))	/* a use after free, seen before reuse */
			debug_validate(s, "malloc_trim");
	}
	lock_release(&slab_mutex);
	if (debug_large_on)	/* and the quarantine goes back */
		debug_large_validate("malloc_trim", true);
	sheaf_pool_shrink(pc);
	if (pc)
		page_cache_drain(pc);
}

#define REPORT_MAX_OBJECTS	16

/* Sets the bit of every free object of slab on its freelist (destroy
 * flushed every sheaf of the cache first). */
static void mark_free_locked(struct uslub_cache *s, struct slab *slab,
			     uint64_t *map)
{
	unsigned int n = 0;
	void *p;

	for (p = READ_ONCE(slab->freelist); p && n++ <= s->objects;
	     p = get_freepointer(s, p)) {
		long i = slab_object_index(s, slab, p);

		if (i < 0)
			return;		/* a corrupted list: stop here */
		map[i / 64] |= 1ULL << (i % 64);
	}
}

/* Prints the live objects of one slab; returns how many were printed. */
static unsigned int report_slab_locked(struct uslub_cache *s,
				       struct slab *slab, unsigned int budget)
{
	uint64_t map[(MAX_OBJS_PER_SLAB + 64) / 64];
	unsigned int i, printed = 0;
	char *base = slab_objects_start(s, slab);

	memset(map, 0, DIV_ROUND_UP(slab->objects, 64) * sizeof(map[0]));
	mark_free_locked(s, slab, map);
	for (i = 0; i < slab->objects && printed < budget; i++) {
		if (map[i / 64] & (1ULL << (i % 64)))
			continue;
		log_error("cache %s: object %p still allocated (slab %p, "
			  "object %u of %u)", s->name, debug_object(s, base, i),
			  page_address(slab), i, slab->objects);
		debug_print_alloc_track(s, debug_object(s, base, i));
		printed++;
	}
	return printed;
}

/* Walks every slab of s through the page descriptors of all regions. */
static void report_live_objects_locked(struct uslub_cache *s)
{
	unsigned int r, n = region_count(), budget = REPORT_MAX_OBJECTS;
	unsigned long i, fresh;

	for (r = 0; r < n && budget; r++) {
		struct region *reg = region_get(r);
		struct slab *desc0 = (struct slab *)reg->base;

		lock_acquire(&page_lock);
		fresh = reg->fresh;
		lock_release(&page_lock);
		for (i = REGION_META_PAGES; i < fresh && budget; i++) {
			struct slab *d = desc0 + i;

			/* Other caches' slabs change under us: relaxed reads. */
			if (READ_ONCE(d->head) != d ||
			    !(block_flags(d) & PG_slab) ||
			    READ_ONCE(d->cache) != s)
				continue;
			budget -= report_slab_locked(s, d, budget);
			i += (1UL << READ_ONCE(d->order)) - 1;
		}
	}
}

static void report_busy_locked(struct uslub_cache *s, unsigned long active)
{
	log_heap_bug(1);
	log_error("cache %s: %lu objects remaining", s->name, active);
	report_live_objects_locked(s);
	if (active > REPORT_MAX_OBJECTS)
		log_error("cache %s: ... and %lu more", s->name,
			  active - REPORT_MAX_OBJECTS);
	log_error("cache %s: not destroyed (-EBUSY): %lu slabs of %u objects "
		  "kept; the remaining objects stay valid", s->name,
		  READ_ONCE(s->nr_slabs), s->objects);
}

/* Every object in a sheaf of s back to its slab: every thread's slots
 * and the barn.  The user promises no other thread uses s any more. */
static void flush_all_sheaves_locked(struct uslub_cache *s,
				     struct kmem_cache_cpu *mine,
				     struct page_cache *pc)
{
	struct kmem_cache_cpu *c;
	unsigned int idx;

	for_each_cpu_slot_locked(c, s, idx)
		if (c->main)
			sheaf_slot_flush(s, c, pc);
	barn_shrink(s, mine, pc);
}

/* Release every thread's slot of s and free the slots and their chunks
 * (slots in thread states are cleared instead); mine stays for the
 * caller. */
static void cpu_slots_release_locked(struct uslub_cache *s,
				     struct kmem_cache_cpu *mine,
				     struct page_cache *pc)
{
	struct kmem_cache_cpu *c;
	unsigned int i, j;

	if (s->cpu_slot) {
		for_each_cpu_slot_locked(c, s, i) {
			cpu_slot_retire_locked(s, c, pc, false,
					       THREAD_IDX_NONE);
			if (c != mine)
				memset(c, 0, sizeof(*c));
		}
		return;
	}
	for (i = 0; i < THREAD_DIR; i++) {
		struct kmem_cache_cpu **chunk = s->cpu_dir[i];

		if (!chunk)
			continue;
		for (j = 0; j < THREAD_CHUNK; j++) {
			c = chunk[j];
			if (!c)
				continue;
			cpu_slot_retire_locked(s, c, pc, false,
					       THREAD_IDX_NONE);
			if (c != mine)
				kfree_fast(c);
		}
		kfree_fast(chunk);
		s->cpu_dir[i] = NULL;
	}
}

int cache_destroy(struct uslub_cache *s)
{
	struct thread_cache *tc;
	struct kmem_cache_cpu *mine;
	unsigned long active;

	if (!s)
		return 0;
	/* Objects freed with uslub_free_rcu are not live (the kernel's
	 * kvfree_rcu_barrier in kmem_cache_destroy). */
	rcu_barrier();
	mine = cache_cpu_get(s, &tc);
	if (!mine)
		return -ENOMEM;
	lock_acquire(&slab_mutex);
	flush_all_sheaves_locked(s, mine, &tc->pcache);
	active = cache_active_objects_locked(s);
	if (active) {
		report_busy_locked(s, active);
		lock_release(&slab_mutex);
		return -EBUSY;
	}
	cpu_slots_release_locked(s, mine, &tc->pcache);
	barn_shrink(s, mine, &tc->pcache);
	slab_release_all(s, mine, &tc->pcache);
	USLUB_BUG_ON(READ_ONCE(s->nr_slabs) != 0);
	list_del(&s->list);
	if (s->cpu_slot) {
		memset(mine, 0, sizeof(*mine));
		inline_slot_free_locked(s->cpu_slot);
		mine = NULL;
	}
	lock_release(&slab_mutex);
	if (mine)
		kfree_fast(mine);
	cache_free_fast(&kmem_cache_cache, s);
	return 0;
}
