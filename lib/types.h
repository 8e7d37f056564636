/*
 * types.h - L2: the core structures every layer above the OS shares.
 *
 *   struct slab            one per 4 KiB page (the page descriptor); the head
 *                          descriptor of a block describes the whole block:
 *                          a slab, a large kmalloc block or a free buddy block
 *   struct kmem_cache_cpu  a thread's view of one cache (SLUB's per-cpu part)
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

#define SMALL_MAX		8192			/* largest kmalloc cache */
#define NR_KMALLOC		34			/* 33 classes + slot 0 */
#define NR_INLINE_SLOTS		16			/* user caches' slots in
							   the thread state */
#define NR_CPU_SLOTS		(NR_KMALLOC + NR_INLINE_SLOTS)

/* Page descriptor flags (slab->flags). */
#define PG_slab			0x01u	/* head of a slab */
#define PG_large		0x02u	/* head of a large kmalloc block */
#define PG_buddy		0x04u	/* head of a free buddy block */
#define PG_dirty		0x08u	/* free block whose pages may be resident */
#define PG_pages		0x10u	/* head of a uslub_alloc_pages block */

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
	};
	/* slab: s->partial, under list_lock; free block: buddy free area */
	struct list_head slab_list;
	struct slab *next;		/* cpu partial chain: owner thread */
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

static inline void block_set_flags(struct slab *d, uint32_t flags)
{
	WRITE_ONCE(d->flags, flags);
}

/* ---- Statistics ------------------------------------------------------ */

/* SLUB's event counters (mm/slub.c enum stat_item), per thread. */
#define SLUB_STAT_ITEMS(X)						\
	X(ALLOC_FASTPATH,	"alloc_fastpath")			\
	X(FREE_FASTPATH,	"free_fastpath")			\
	X(ALLOC_SLOWPATH,	"alloc_slowpath")			\
	X(FREE_SLOWPATH,	"free_slowpath")			\
	X(FREE_FROZEN,		"free_frozen")				\
	X(FREE_ADD_PARTIAL,	"free_add_partial")			\
	X(FREE_REMOVE_PARTIAL,	"free_remove_partial")			\
	X(ALLOC_FROM_PARTIAL,	"alloc_from_partial")			\
	X(ALLOC_SLAB,		"alloc_slab")				\
	X(ALLOC_REFILL,		"alloc_refill")				\
	X(FREE_SLAB,		"free_slab")				\
	X(CPUSLAB_FLUSH,	"cpuslab_flush")			\
	X(DEACTIVATE_FULL,	"deactivate_full")			\
	X(DEACTIVATE_EMPTY,	"deactivate_empty")			\
	X(DEACTIVATE_TO_HEAD,	"deactivate_to_head")			\
	X(DEACTIVATE_TO_TAIL,	"deactivate_to_tail")			\
	X(DEACTIVATE_REMOTE_FREES, "deactivate_remote_frees")		\
	X(DEACTIVATE_BYPASS,	"deactivate_bypass")			\
	X(CMPXCHG_DOUBLE_FAIL,	"cmpxchg_double_fail")			\
	X(CPU_PARTIAL_ALLOC,	"cpu_partial_alloc")			\
	X(CPU_PARTIAL_FREE,	"cpu_partial_free")			\
	X(CPU_PARTIAL_NODE,	"cpu_partial_node")			\
	X(CPU_PARTIAL_DRAIN,	"cpu_partial_drain")

enum stat_item {
#define X(name, str) name,
	SLUB_STAT_ITEMS(X)
#undef X
	NR_SLUB_STAT_ITEMS
};

/* ---- struct kmem_cache_cpu: one thread's part of one cache ----------- */

struct kmem_cache_cpu {
	void *freelist;			/* owner thread only */
	/* The cpu slab's objects span [base, base + limit); both 0 when there
	 * is no cpu slab.  Owner thread only, set with slab. */
	uintptr_t base;
	unsigned int limit;
	unsigned int offset;		/* free pointer offset; immutable */
	uint64_t reciprocal;		/* copies of the cache's; immutable */
	unsigned int size;
	unsigned int nr_partial;	/* slabs on the partial chain; owner */
	struct slab *slab;		/* frozen cpu slab; owner thread only */
	struct slab *partial;		/* unfrozen cpu-partial FIFO; owner */
	/* the slot's cache; NULL while unused.  In the first cache line: the
	 * user-cache fast paths test it with freelist.  Set when the slot is
	 * created, cleared when its cache is destroyed; under slab_mutex */
	struct uslub_cache *cache;
	struct slab *partial_tail;	/* its last slab; owner */
	/* owner writes (counter_inc), anyone reads under slab_mutex */
	unsigned long stat[NR_SLUB_STAT_ITEMS];
} __aligned(64);

#define CPU_SHIFT	8
_Static_assert(sizeof(struct kmem_cache_cpu) == (1u << CPU_SHIFT),
	       "kmalloc fast path indexes cpu slots by shift");

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
	unsigned int cpu_partial_slabs;	/* per-thread partial budget */
	unsigned int kmalloc_idx;	/* cpu slot for kmalloc caches, else 0 */
	/* the thread's slot: thread_cache.kcpu[cpu_slot] (kmalloc caches,
	 * and the first NR_INLINE_SLOTS user caches); 0: cpu_dir */
	unsigned int cpu_slot;
	uint64_t reciprocal;		/* ceil(2^44 / size): obj_to_index */
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
	char name[CACHE_NAME_MAX];

	/* under list_lock */
	struct lock list_lock;
	struct list_head partial;	/* slabs with on_partial set */
	unsigned long nr_partial;
	unsigned long nr_slabs;		/* every slab of the cache (atomic) */

	/* user caches: cpu_dir[tid / 256][tid % 256]; chunk pointers
	 * published with store_release, entries written under slab_mutex
	 * by their own thread */
	struct kmem_cache_cpu **cpu_dir[THREAD_DIR];

	/* counters of exited threads, under slab_mutex */
	unsigned long stat_dead[NR_SLUB_STAT_ITEMS];
	struct list_head list;		/* slab_caches, under slab_mutex */
};

#endif /* USLUB_TYPES_H */
