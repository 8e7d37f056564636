/*
 * types.h - L2: the core structures every layer above the OS shares.
 *
 *   struct slab            one per 4 KiB page (the page descriptor); the head
 *                          descriptor of a block describes the whole block:
 *                          a slab, a large kmalloc block or a free buddy block
 *   struct slab_sheaf      an array of free objects (SLUB's sheaf)
 *   struct barn            a cache's full and empty sheaves
 *   struct kmem_cache_cpu  a thread's slot of one cache: its sheaves
 *   struct uslub_cache     a cache: geometry, partial list, statistics
 *
 * Field comments say who may write a field; see cache.c for the lock order.
 */
#ifndef USLUB_TYPES_H
#define USLUB_TYPES_H

#include <stdbool.h>
#include <stdint.h>
#include "uslub.h"
#include "atomic.h"
#include "bitops.h"
#include "list.h"
#include "lock.h"

/* ---- Limits ---------------------------------------------------------- */

#define REGION_SHIFT		30			/* 1 GiB regions */
#define REGION_SIZE		(1UL << REGION_SHIFT)
#define PAGES_PER_REGION	(REGION_SIZE >> PAGE_SHIFT)
#define ADDR_BITS		47			/* user half, 4-level paging */
#define REGION_SLOTS		(1UL << (ADDR_BITS - REGION_SHIFT))
#define MAX_ORDER		10			/* top buddy block: 4 MiB */
#define NR_ORDERS		(MAX_ORDER + 1)
#define SLUB_MAX_ORDER		3			/* PAGE_ALLOC_COSTLY_ORDER */
#define MAX_OBJS_PER_SLAB	32767			/* slab->objects is 15 bits */

/* Offsets inside a slab are below 2^22 (4 MiB) and objects are at least
 * 8 bytes, so (off * ceil(2^44 / size)) >> 44 is off / size exactly and
 * never overflows 64 bits. */
#define RECIPROCAL_SHIFT	44

#define MAX_THREADS		65536
#define THREAD_CHUNK		256			/* cpu_dir fan-out */
#define THREAD_DIR		(MAX_THREADS / THREAD_CHUNK)
#define THREAD_IDX_NONE		(MAX_THREADS - 1)	/* never handed out */

#define SMALL_MAX		32768			/* largest kmalloc cache */
#define NR_KMALLOC		46			/* 45 classes + slot 0 */
#define NR_INLINE_SLOTS		12			/* user caches' slots in
							   the thread state (all
							   in 16 KiB) */
#define NR_CPU_SLOTS		(NR_KMALLOC + NR_INLINE_SLOTS)

/* Page descriptor flags (slab->flags). */
#define PG_slab			0x01u	/* head of a slab */
#define PG_large		0x02u	/* head of a large kmalloc block */
#define PG_buddy		0x04u	/* head of a free buddy block */
#define PG_dirty		0x08u	/* free block whose pages may be resident */
#define PG_pages		0x10u	/* head of a uslub_alloc_pages block */
#define PG_rcu			0x20u	/* head of a discarded TYPESAFE_BY_RCU slab
				   waiting for a grace period (rcu.c) */

/* ---- struct slab: the page descriptor -------------------------------- */

struct uslub_cache;

struct slab {
	union {
		struct {
			/* cmpxchg16b with counters */
			void *freelist;
			union {
				unsigned long counters;
				struct {
					unsigned int inuse : 16;
					unsigned int objects : 15;
					/* unused (0): no slab is a
					 * thread's own since sheaves */
					unsigned int frozen : 1;
				};
			};
		};
		u128 freelist_counters;
		/* free block: page_alloc's dirty FIFO, under page_lock */
		struct list_head dirty_link;
	};
	union {
		struct uslub_cache *cache;	/* slab: immutable while a slab */
		uint64_t free_time;		/* free block: dirty since (ms) */
		/* sheaf pool page: the index of the thread it was last a
		 * page of (sheaf.c) */
		uint64_t pool_owner;
	};
	/* slab: s->partial, under list_lock; free block: buddy free area */
	struct list_head slab_list;
	struct slab *next;		/* rcu.c's list of discarded slabs */
	struct slab *head;		/* every page: head of its block or NULL */
	/* PG_*, head only: fixed while the block is live (read without
	 * locks); free blocks' flags change under page_lock */
	uint32_t flags;
	uint8_t order;			/* head only */
	uint8_t on_partial;		/* on s->partial: under list_lock */
	/* every page of a kmalloc slab: byte offset of its class's cpu slot
	 * in struct thread_cache; 0 elsewhere, which selects slot 0, which
	 * never has a cpu slab (the kfree fast path needs no NULL test) */
	uint16_t cpu_off;
} __aligned(64);

_Static_assert(sizeof(struct slab) == 64, "page descriptor is one line");
_Static_assert(offsetof(struct slab, freelist) == 0 &&
	       offsetof(struct slab, counters) == 8,
	       "freelist and counters form one 16-byte aligned pair");

/*
 * Block flags are also read without page_lock (the buddy allocator tests
 * whether a neighbour is free; pointer checks test what a block is), so
 * every access is one relaxed word access.  head, order and cache of a
 * live block are written the same way (WRITE_ONCE) because the destroy
 * report walks every descriptor while other threads create slabs.
 */
static inline uint32_t block_flags(const struct slab *d)
{
	return READ_ONCE(d->flags);
}

/* An acquire read: pairs with the release store that publishes a block
 * made before its flags (new_debug_slab), so the reader sees its contents. */
static inline uint32_t block_flags_acquire(const struct slab *d)
{
	return __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE);
}

static inline void block_set_flags(struct slab *d, uint32_t flags)
{
	WRITE_ONCE(d->flags, flags);
}

/* ---- Statistics ------------------------------------------------------ */

/* SLUB's event counters (mm/slub.c enum stat_item, 6.18+ with sheaves),
 * per thread.  ALLOC_PCS / FREE_PCS are the fast paths (FREE_PCS held
 * in parts: read it with cpu_stat); the _SLOWPATH
 * pair counts objects handed out or taken back past the sheaves (debug
 * caches, a thread without a state).  active_objs is the difference. */
#define SLUB_STAT_ITEMS(X)						\
	X(ALLOC_PCS,		"alloc_cpu_sheaf")			\
	X(FREE_PCS,		"free_cpu_sheaf")			\
	X(ALLOC_SLOWPATH,	"alloc_slowpath")			\
	X(FREE_SLOWPATH,	"free_slowpath")			\
	X(FREE_ADD_PARTIAL,	"free_add_partial")			\
	X(FREE_REMOVE_PARTIAL,	"free_remove_partial")			\
	X(ALLOC_FROM_PARTIAL,	"alloc_from_partial")			\
	X(ALLOC_SLAB,		"alloc_slab")				\
	X(FREE_SLAB,		"free_slab")				\
	X(CMPXCHG_DOUBLE,	"cmpxchg_double")			\
	X(CMPXCHG_DOUBLE_FAIL,	"cmpxchg_double_fail")			\
	X(SHEAF_REFILL,		"sheaf_refill")				\
	X(SHEAF_FLUSH,		"sheaf_flush")				\
	X(SHEAF_SWAP,		"sheaf_swap")				\
	X(SHEAF_ALLOC,		"sheaf_alloc")				\
	X(SHEAF_FREE,		"sheaf_free")				\
	X(BARN_GET,		"barn_get")				\
	X(BARN_GET_FAIL,	"barn_get_fail")			\
	X(BARN_PUT,		"barn_put")				\
	X(BARN_PUT_FAIL,	"barn_put_fail")			\
	X(BARN_DECAY,		"barn_decay")

enum stat_item {
#define X(name, str) name,
	SLUB_STAT_ITEMS(X)
#undef X
	NR_SLUB_STAT_ITEMS
};

/* ---- Sheaves and barns (sheaf.c) ------------------------------------- */

/*
 * A sheaf: an array of free objects of one cache.  A thread's slot holds
 * two (main and spare); a cache's barn holds full and empty ones.  guard
 * is always NULL and sits just before objects[]: the free fast path of
 * caches without the free tag compares the pointer with top[-1], which
 * for an empty sheaf is the guard, without a test.
 */
struct slab_sheaf {
	/* in a barn: under barn->lock; on a spare's shelf: the owner's.
	 * A slot's spare heads its shelf here (sheaf.c) */
	struct list_head barn_list;
	union {
		uint64_t time;		/* in a barn: when it entered (ms) */
		struct {		/* the spare: what its shelf holds */
			unsigned int objects;
			unsigned int sheaves;
		} shelf;
	};
	uint16_t size;			/* objects held; for the main sheaf
					   the slot's top is authoritative */
	/* in a barn: filled by a slot that also allocates (sheaf.c,
	 * sheaf_overflow_push), which other live threads leave to it
	 * (barn_get_full_locked) */
	bool swing;
	uint8_t unused;
	uint16_t capacity;		/* immutable */
	/* in a barn: the index of the thread that filled it (barn_put),
	 * THREAD_IDX_NONE if no thread in particular; see barn_get */
	uint16_t owner;
	void *guard;			/* NULL, always */
	void *objects[];
};

_Static_assert(sizeof(struct slab_sheaf) == 40, "sheaf header size");

/* Sheaves are 64 to 1024 bytes: at most 3, 11, 27, 59 or 123 objects. */
#define SHEAF_MAX_BYTES		1024
#define SHEAF_MAX_CAPACITY	((SHEAF_MAX_BYTES - sizeof(struct slab_sheaf)) / \
				 sizeof(void *))

/* SLUB's struct node_barn: one per cache. */
struct barn {
	struct spin lock;
	struct list_head sheaves_full;	/* under lock, oldest first */
	struct list_head sheaves_empty;	/* under lock */
	unsigned int nr_full;		/* under lock; read without it */
	unsigned int nr_empty;		/* under lock */
	unsigned int max_full;		/* per user; immutable after create */
	unsigned int capacity;		/* the cache's sheaf_capacity: the
					   barn holds barn_limit sheaves' worth
					   of objects */
	unsigned int users;		/* slots with sheaves of this cache
					   (atomic): see barn_limit */
	bool draining;			/* under lock: frees overflowed it;
					   cleared by the next refill */
	unsigned int grown;		/* under lock: full sheaves allowed
					   beyond the users' (sheaf.c,
					   barn_grow_locked) */
	uint16_t drainer;		/* under lock: the thread index whose
					   free last overflowed it */
	bool overflowed;		/* under lock: frees overflowed it
					   since a refill last went to the
					   slabs (barn_grow_locked) */
	bool armed;			/* under lock: a swing was seen, the
					   next one grows it */
	uint64_t objects;		/* in the full sheaves, under lock */
};

/* ---- struct kmem_cache_cpu: one thread's slot of one cache ----------- */

/*
 * The first cache line is the fast paths': the main sheaf's array as a
 * stack pointer and its bounds (pop reads top[-1] when top > objects,
 * push writes *top when top < end), and the cache's geometry for the
 * free path's object-start test (see alloc.h, slot_owns).  A slot with
 * no sheaf (not set up yet, a debug cache, the empty thread state) has
 * all three NULL and fails both fast paths; one with bound 0 fails
 * every free.  Everything is owner-thread only except where said.
 */
struct kmem_cache_cpu {
	void **top;			/* main->objects + objects in main: the
					   next free entry (WRITE_ONCE: the
					   statistics read it) */
	void **end;			/* main->objects + main->capacity */
	void **objects;			/* main->objects; NULL: no sheaf */
	uintptr_t mask;			/* slab bytes - 1 */
	uint64_t mult;			/* 2^64 / size + 1 (slot_owns) */
	uint64_t bound;			/* objects per slab * (mult * size
					   mod 2^64); 0: every free is
					   slow */
	unsigned int spare_size;	/* the objects of the spare and its
					   shelf, for statistics (WRITE_ONCE) */
	/* slot_adapt's (owner only): alternating trades in a row, and the
	 * last trade (TRADE_REFILL/OVERFLOW, 0: none) */
	uint8_t thrash;
	uint8_t last_trade;
	/* the slot's cache; NULL while unused.  Set when the slot is set up,
	 * cleared when its cache is destroyed; under slab_mutex */
	struct uslub_cache *cache;
	struct slab_sheaf *main;	/* its size field is stale */
	struct slab_sheaf *spare;	/* NULL, or holding 0 to capacity;
					   heads the slot's shelf */
	uint16_t cpu_off;		/* this slot's offset in the thread
					   state, 0 for cpu_dir slots */
	/* main's allowance, from the cache's sheaf_capacity up to its
	 * sheaf_max: end stops the free fast path there.  Doubled when the
	 * slot trades with the barn or slabs in alternating directions
	 * (sheaf.c, slot_adapt); owner only */
	uint16_t limit;
	uint16_t mark;			/* fast-path alloc+free count / 16 at
					   the last trade, mod 2^16 */
	/* full sheaves this slot gave the barn and has not taken back (at
	 * most 255; others may have taken them), INHERIT_SCAN at first for
	 * those a departed thread on the same index left: a refill looks for
	 * its own only when there may be some (sheaf.c, barn_get_full_locked) */
	uint8_t parked;
	/* the slot allocates past its sheaves: one more on a refill (at
	 * most SWING_PUTS), one less at each sheaf it gives the barn or
	 * its shelf (sheaf.c, sheaf_refill_pop, sheaf_overflow_push and
	 * shelf_put) */
	uint8_t allocs;
	/* owner writes (counter_inc), anyone reads under slab_mutex; zeroed
	 * when the slot is set up */
	unsigned long stat[NR_SLUB_STAT_ITEMS];
} __aligned(64);

/* Objects in the slot's main sheaf, and its capacity (the owner). */
static inline unsigned long cpu_size(const struct kmem_cache_cpu *c)
{
	return (unsigned long)(c->top - c->objects);
}

static inline unsigned long cpu_capacity(const struct kmem_cache_cpu *c)
{
	return (unsigned long)(c->end - c->objects);
}

/*
 * The free fast path does not count its frees (an instruction less):
 * stat[FREE_PCS] holds them minus ALLOC_PCS minus main's count, which a
 * fast pop or push leaves as it is.  Every other change of main's count
 * goes through cpu_moved, so that cpu_free_pcs() is exact for the owner
 * and cpu_stat() for anyone once the owner is quiet.
 */
static inline void cpu_moved(struct kmem_cache_cpu *c, unsigned long from,
			     unsigned long to)
{
	counter_add(c->stat[FREE_PCS], from - to);
}

/* main holds n objects (the owner; not a fast pop or push). */
static inline void cpu_set_size(struct kmem_cache_cpu *c, unsigned long n)
{
	cpu_moved(c, cpu_size(c), n);
	WRITE_ONCE(c->top, c->objects + n);
}

/* The slot's FREE_PCS, read by its owner. */
static inline unsigned long cpu_free_pcs(const struct kmem_cache_cpu *c)
{
	return c->stat[FREE_PCS] + c->stat[ALLOC_PCS] + cpu_size(c);
}

/*
 * cpu_size read by another thread while the owner runs (statistics, and
 * cpu_stat): a main sheaf being swapped may pair one sheaf's top with the
 * other's array, so the count is kept within a sheaf's capacity.  Not
 * bounded by end, which the heap profiler lowers below top.
 */
static inline unsigned long cpu_size_racy(const struct kmem_cache_cpu *c)
{
	void **objects = READ_ONCE(c->objects), **top = READ_ONCE(c->top);

	if (!objects || top < objects)
		return 0;
	return MIN((unsigned long)(top - objects),
		   (unsigned long)SHEAF_MAX_CAPACITY);
}

/* Counter i of c as SLUB counts it (FREE_PCS from its parts); racy where
 * another thread reads while the owner runs, as any counter. */
static inline unsigned long cpu_stat(const struct kmem_cache_cpu *c,
				     unsigned int i)
{
	if (i != FREE_PCS)
		return READ_ONCE(c->stat[i]);
	return READ_ONCE(c->stat[FREE_PCS]) + READ_ONCE(c->stat[ALLOC_PCS]) +
	       cpu_size_racy(c);
}

#define CPU_SHIFT	8
_Static_assert(sizeof(struct kmem_cache_cpu) == (1u << CPU_SHIFT),
	       "kmalloc fast path indexes cpu slots by shift");
_Static_assert(offsetof(struct kmem_cache_cpu, cache) < 64,
	       "the fast paths' fields share the first line");

/* ---- struct uslub_cache ---------------------------------------------- */

#define CACHE_NAME_MAX	64

struct uslub_cache {
	/* immutable after create */
	unsigned int size;		/* stride: object + metadata, aligned */
	unsigned int object_size;	/* what the user asked for */
	unsigned int offset;		/* free pointer offset in the object */
	unsigned int align;
	unsigned int order;		/* slab = 2^order pages */
	unsigned int objects;		/* objects per slab */
	unsigned int min_partial;	/* empty slabs kept on s->partial */
	unsigned int sheaf_capacity;	/* a slot's main holds this many at
					   first; 0: no sheaves (debug caches) */
	unsigned int sheaf_max;		/* objects per sheaf: what a slot's
					   allowance may grow to (sheaf.c) */
	unsigned int kmalloc_idx;	/* cpu slot for kmalloc caches, else 0 */
	/* the thread's slot: thread_cache.kcpu[cpu_slot] (kmalloc caches,
	 * and the first NR_INLINE_SLOTS user caches); 0: cpu_dir */
	unsigned int cpu_slot;
	uint64_t reciprocal;		/* ceil(2^44 / size): obj_to_index */
	uint64_t random;		/* free pointers are stored xor this
					   (slab.h, freelist hardening) */
	bool free_tag;			/* free objects carry free_tag_key in
					   their first word (alloc.h) */
	bool coloured;			/* objects at multiples of size (slab.h,
					   slab_colour) */
	uslub_slab_flags_t flags;
	void (*ctor)(void *);
	/* Debug layout (debug.c), immutable after create; offsets from the
	 * object start.  inuse: end of the object and its right red zone;
	 * track_off: the two struct track of STORE_USER; pad_off: start of
	 * the padding (POISON_INUSE) up to the next slot; red_left_pad:
	 * bytes of left red zone before each object (0 without Z). */
	unsigned int inuse;
	unsigned int track_off;
	unsigned int pad_off;
	unsigned int red_left_pad;
	/* kmalloc caches with Z: where the size asked of kmalloc is kept
	 * (the kernel's orig_size), 0 when it is not */
	unsigned int orig_off;
	char name[CACHE_NAME_MAX];

	/* under list_lock */
	struct lock list_lock;
	struct list_head partial;	/* slabs with on_partial set */
	unsigned long nr_partial;
	unsigned long nr_slabs;		/* every slab of the cache (atomic) */

	struct barn barn;

	/* user caches: cpu_dir[tid / 256][tid % 256]; chunk pointers
	 * published with store_release, entries written under slab_mutex
	 * by their own thread */
	struct kmem_cache_cpu **cpu_dir[THREAD_DIR];

	/* counters of exited threads, under slab_mutex */
	unsigned long stat_dead[NR_SLUB_STAT_ITEMS];
	struct list_head list;		/* slab_caches, under slab_mutex */
};

#endif /* USLUB_TYPES_H */
