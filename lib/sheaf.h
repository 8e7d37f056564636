/*
 * sheaf.h - L4.5: sheaves and barns, between the slabs (below) and the
 * caches (above): SLUB's percpu sheaves (6.18), per thread.
 *
 * A thread's slot of a cache holds a main sheaf, whose array and count
 * the fast paths in alloc.h pop and push, and a spare.  When main runs
 * empty or full, the functions here exchange sheaves with the spare, with
 * the spare's shelf (a slot that swings), with the cache's barn (full
 * and empty sheaves under one lock, taken once per sheaf), and last with
 * the slabs: slab_alloc_bulk fills a sheaf with one cmpxchg16b per slab,
 * slab_free_bulk flushes one with one cmpxchg16b per slab.  Objects in
 * sheaves, shelves and barns are free: they count neither in active_objs
 * nor against the caller.  The lock order is in cache.c.
 */
#ifndef USLUB_SHEAF_H
#define USLUB_SHEAF_H

#include "slab.h"

/* Full sheaves a barn keeps: SLUB's MAX_FULL_SHEAVES (10), or as many as
 * BARN_BYTES of objects where that is more (threads may each free a few
 * thousand objects at once), at most BARN_MAX_FULL, and fewer where ten
 * would pass BARN_FLOOR_BYTES (objects above 26 KiB); more are flushed,
 * and the barn drains (sheaf.c).  At a floor of 512 KiB, the barns of the
 * 20..32 KiB classes kept 4 or 5 sheaves, and a thread replacing blocks
 * of 8 B..32 KiB at random drained them: 20 times the trades with the
 * slabs of a floor of 1 MiB (2 MiB kept 2 MiB more resident in a
 * program whose threads freed such blocks only).  BARN_MAX_FULL bounds a
 * barn shared by many threads (barn_limit): at 64, four consumer threads
 * freeing bursts of a few thousand map nodes made kmalloc-80's barn
 * drain, and half of that class's objects went through the slabs.
 * Empty ones beyond MAX_EMPTY_SHEAVES go back to the sheaf pool. */
#define MAX_FULL_SHEAVES	10
#define BARN_FLOOR_BYTES	(1UL << 20)
#define BARN_BYTES		(256UL << 10)
#define BARN_MAX_FULL		256
#define MAX_EMPTY_SHEAVES	16
/* What a barn's growth (sheaf.c, barn_grow_locked) may add, in bytes of
 * objects: a swing of 20000 blocks of 80 bytes fits. */
#define BARN_GROW_BYTES		(2UL << 20)

/* A slot's shelf (sheaf.c): the full sheaves that a slot which swings
 * would give the barn stay with it, at most SHELF_SHEAVES sheaves (full
 * and empty) and SHELF_BYTES of objects.  Two threads each filling and
 * freeing 1024 objects of 64 bytes traded eight sheaves a round with the
 * shared barn, its lock and the sheaf headers going between the cores:
 * 199 M ops/s, and 229 with shelves. */
#define SHELF_SHEAVES		8
#define SHELF_BYTES		(256UL << 10)
/* And what the shelves of one thread's kmalloc slots hold together.  A
 * C++ pipeline of four producer and four consumer threads, each swinging
 * on eight classes, kept 3 MiB on shelves at its peak: 28.1 MiB of RSS,
 * 26.0 with this bound, 25.1 with the bound and shelving only on credit
 * (sheaf.c, shelf_room), the same time; the two threads each filling and
 * freeing 1024 objects still shelve all they need (one class each). */
#define SHELF_THREAD_BYTES	(256UL << 10)
/* Alternating trades after which a slot shelves: it freed past main and
 * spare and then allocated past them again (or the other way round).  At
 * SLOT_THRASH, two threads each filling and freeing a batch of 32-byte
 * objects traded sheaves through the barn for their first rounds, and
 * ended up sharing cache lines: 100-160 M ops/s in half the runs, 330-390
 * in the others. */
#define SHELF_THRASH		2

/* The newest full sheaves of a barn a refill looks at for one of its
 * own, besides as many as it parked there (sheaf.c,
 * barn_get_full_locked). */
#define BARN_SCAN		8

/* A new slot counts this many sheaves as parked: those a departed thread
 * with its index left in the barn, which it takes back first.  Two
 * threads replaced by two new ones, each taking the newest sheaves of
 * either, split each old thread's blocks between the new pair: in 31 and
 * 38 of 72 generations of a program of two threads filling and freeing
 * 1024 blocks of 64 bytes, a thread's blocks then had the other's on
 * their buddy lines; with the sheaves going back to the index, in 7 of
 * 72 and 0 of 96 (median generation 450 M ops/s against 417, the slowest
 * quarter 417 against 280).  Its first refill that finds none stops
 * looking (sheaf.c, sheaf_refill_pop). */
#define INHERIT_SCAN		16

/* The most refills a slot keeps credit for: each refill gives one, each
 * full sheaf it gives the barn spends one, and a sheaf given without
 * credit counts as a consumer's (sheaf.c, barn_get_full_locked). */
#define SWING_PUTS		64

/* What a slot's main sheaf holds at first for objects of stride size
 * (SLUB's calculate_sheaf_capacity, in bytes: see sheaf.c), and what
 * its allowance may grow to: the capacity of the cache's sheaves, at
 * most SHEAF_GROW_BYTES of objects (but no less than the first). */
unsigned int sheaf_capacity(unsigned int size);
unsigned int sheaf_max_capacity(unsigned int size);
#define SHEAF_GROW_BYTES	(512U << 10)

/* Where c's main stops the free fast path: the slot's allowance (or
 * main's count, if more), within the sheaf's capacity.  main set. */
void **sheaf_end(const struct kmem_cache_cpu *c);
/* Trades in alternating directions after which a slot's allowance
 * doubles (sheaf.c, slot_adapt). */
#define SLOT_THRASH		4

/* An empty barn for sheaves of capacity objects of stride size. */
void barn_init(struct barn *barn, unsigned int capacity, unsigned int size);
/* Full sheaves the barn keeps: max_full for each slot using the cache
 * (barn->users), at most BARN_MAX_FULL (or max_full if more).  A slot
 * that goes away flushes what is beyond the limit of those that stay. */
unsigned int barn_limit(const struct barn *barn);

/*
 * Set up c as a slot of s: the geometry of the free fast path's
 * object-start test and, where s has sheaves, main (which the caller
 * got from sheaf_new, NULL allowed: the slot then works on the slow
 * paths).  Debug caches get a slot that fails both fast paths.
 */
void sheaf_slot_init(struct uslub_cache *s, struct kmem_cache_cpu *c,
		     uint16_t cpu_off, struct slab_sheaf *main);

/* An empty sheaf of the given capacity from the pool, or NULL: from a
 * page of pc's thread where pc is not NULL (the calling thread's, whose
 * index is owner). */
struct slab_sheaf *sheaf_new(unsigned int capacity, struct page_cache *pc,
			     unsigned int owner);
void sheaf_free(struct slab_sheaf *sheaf);

/*
 * Main is empty (c->top == c->objects, c->main set): refill it from the
 * spare, a full sheaf of the barn (one that thread owner filled, if there
 * is one) or the slabs, and pop one object.  NULL when out of memory.
 * The caller counts the allocation.  now: the thread's recent
 * os_now_ms(), for the barn's decay; owner: the calling thread's index.
 */
void *sheaf_refill_pop(struct uslub_cache *s, struct kmem_cache_cpu *c,
		       struct page_cache *pc, uint64_t now, unsigned int owner);

/* Main is full: make room (spare, barn, flush to the slabs) and push
 * obj.  A sheaf given to the barn is marked as owner's.  The caller
 * counts the free. */
void sheaf_overflow_push(struct uslub_cache *s, struct kmem_cache_cpu *c,
			 struct page_cache *pc, void *obj, uint64_t now,
			 unsigned int owner);

/* Every object of c's main, spare and shelf back to the slabs (trim);
 * main and spare stay, empty, and the shelf's sheaves go to the barn. */
void sheaf_slot_flush(struct uslub_cache *s, struct kmem_cache_cpu *c,
		      struct page_cache *pc);

/*
 * The slot gives up its sheaves (thread exit, fork's child, destroy).
 * keep: hand them to the barn where it has room (objects stay cached for
 * other threads, the next thread with index owner first), else flush.
 * Afterwards c fails both fast paths.
 */
void sheaf_slot_release(struct uslub_cache *s, struct kmem_cache_cpu *c,
			struct page_cache *pc, bool keep, unsigned int owner);

/* Flush every full sheaf of s's barn to the slabs and free its empty
 * sheaves (trim, shrink, destroy).  Stats go to c. */
void barn_shrink(struct uslub_cache *s, struct kmem_cache_cpu *c,
		 struct page_cache *pc);

/* Flush the barn's full sheaves that entered it before now - decay_ms. */
void barn_decay(struct uslub_cache *s, struct kmem_cache_cpu *c,
		struct page_cache *pc, uint64_t now);

/* Occupancy for statistics: sheaves and objects in the barn. */
void barn_occupancy(struct uslub_cache *s, unsigned int *nr_full,
		    unsigned int *nr_empty, unsigned long *objects);

/* Give back the pool's pages none of whose sheaves is handed out and
 * that are no thread's but pc's (trim; pc NULL allowed). */
void sheaf_pool_shrink(struct page_cache *pc);
/* The pages pc's thread carves sheaves from go back to the pool (thread
 * exit, fork's child). */
void sheaf_pool_release(struct page_cache *pc);

/* Sheaf pool totals: bytes of pages it holds, sheaves handed out. */
void sheaf_pool_stats(unsigned long *bytes, unsigned long *in_use);

extern struct lock sheaf_pool_lock;	/* the fork protocol takes it */

#endif /* USLUB_SHEAF_H */
