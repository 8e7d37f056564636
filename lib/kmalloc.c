/*
 * kmalloc.c - L5: size classes, the kmalloc caches, large and huge blocks.
 *
 *   size <= 32 KiB     a kmalloc cache (fast path in alloc.h)
 *   size <= 4 MiB      a buddy block of 2^order pages (PG_large)
 *   larger             its own mapping, found again through huge_table;
 *                      freed mappings are kept a while and reused
 *
 * Entry points: kmalloc_init, kmalloc_slow, kfree_slow, kmalloc_ksize,
 * kmalloc_huge_trim.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr_table.h"
#include "alloc.h"
#include "debug.h"
#include "debug_large.h"
#include "init.h"
#include "log.h"
#include "options.h"
#include "os.h"
#include "statsd.h"
#include "prof.h"
#include "assert.h"

/* ---- Size classes ---------------------------------------------------- */

/*
 * Four classes a doubling.  Above 4 KiB the classes between the powers of
 * two are odd multiples of 256 bytes near the quarter powers of two
 * (4864 = 19 * 256, not 5120 = 5 * 1024): their caches are coloured
 * (slab.h, slab_colour), and their objects start at 16 offsets in a page,
 * where multiples of 1 KiB would have 4 and multiples of 4 KiB one; no
 * class wastes more than 18 % of itself (20 % with 5120, 10240 and
 * 20480).  The powers of two keep kmalloc's natural alignment.
 *
 * And one class an eighth or less above 1, 2 and 4 KiB: a power of two
 * plus a header is a common request (SQLite asks for 1032 and 4368
 * bytes, its pages with a size word or a page header), and the quarter
 * step wasted a fifth of it.  4480 is an odd multiple of 128 (32
 * offsets in a page).  SQLite building and querying a 20 MiB database
 * peaked at 30.4 MiB RSS with the quarter steps, 28.6 with these.
 * Above 1 KiB, where headers of 8 to 64 bytes are the common case, one
 * more a sixteenth above (1088): SQLite's 1 KiB buffers took 1152 bytes,
 * a tenth of their 9.4 MiB at its peak.
 */
static const unsigned int class_size[NR_KMALLOC] = {
	0,
	8, 16, 32, 48, 64, 80, 96, 112, 128,
	160, 192, 224, 256, 320, 384, 448, 512,
	640, 768, 896, 1024, 1088, 1152, 1280, 1536, 1792, 2048,
	2304, 2560, 3072, 3584, 4096, 4480, 4864, 5888, 6912, 8192,
	9984, 12032, 14080, 16384, 19712, 23808, 28416, 32768,
};

struct uslub_cache kmalloc_caches[NR_KMALLOC];
bool kmalloc_sizes_kept;
uint16_t kmalloc_direct_off[KMALLOC_DIRECT_MAX + 1];
uint16_t kmalloc_big_off[SMALL_MAX >> KMALLOC_BIG_SHIFT];

static void class_name(char *buf, size_t len, unsigned int size)
{
	if (size >= 1024 && size % 1024 == 0 && is_power_of_2(size))
		log_format(buf, len, "kmalloc-%uk", size / 1024);
	else
		log_format(buf, len, "kmalloc-%u", size);
}

static void kept_decay(size_t grown);

void kmalloc_init(void)
{
	unsigned int i, idx = 1;
	char name[CACHE_NAME_MAX];
	bool order_off;

	for (i = 1; i < NR_KMALLOC; i++) {
		unsigned int size = class_size[i];
		/* kmalloc guarantees: power-of-two sizes aligned to the size */
		size_t align = 1U << (__builtin_ffs((int)size) - 1);

		class_name(name, sizeof(name), size);
		cache_setup(&kmalloc_caches[i], name, size, align, 0, NULL, i);
		cache_register(&kmalloc_caches[i]);
		if (kmalloc_caches[i].orig_off)
			kmalloc_sizes_kept = true;
	}
	/* Blocks above the classes: the pseudo cache kmalloc-large. */
	debug_large_init(options_debug_flags("kmalloc-large", &order_off));
	if (debug_large_on)
		kmalloc_sizes_kept = true;
	WRITE_ONCE(page_decay_hook, kept_decay);
	for (i = 1; i <= KMALLOC_DIRECT_MAX; i++) {
		while (class_size[idx] < i)
			idx++;
		kmalloc_direct_off[i] = (uint16_t)(idx << CPU_SHIFT);
	}
	for (i = KMALLOC_DIRECT_MAX >> KMALLOC_BIG_SHIFT;
	     i < ARRAY_SIZE(kmalloc_big_off); i++) {
		while (class_size[idx] < (i + 1) << KMALLOC_BIG_SHIFT)
			idx++;
		/* no class ends inside the step (size_class checks all) */
		USLUB_ASSERT(class_size[idx - 1] <= i << KMALLOC_BIG_SHIFT);
		kmalloc_big_off[i] = (uint16_t)(idx << CPU_SHIFT);
	}
}

unsigned int kmalloc_index(size_t size)
{
	unsigned int i;

	for (i = 1; i < NR_KMALLOC; i++)
		if (class_size[i] >= size)
			return i;
	return 0;
}

size_t kmalloc_class_size(unsigned int idx)
{
	return idx < NR_KMALLOC ? class_size[idx] : 0;
}

size_t kmalloc_size_roundup(size_t size)
{
	if (size == 0)
		return 0;
	if (size <= SMALL_MAX)
		return class_size[kmalloc_slot_off(size) >> CPU_SHIFT];
	if (size > KMALLOC_MAX_SIZE)
		return size;
	if (get_order(size) <= MAX_ORDER)
		return PAGE_SIZE << get_order(size);
	return ALIGN_UP(size, PAGE_SIZE);
}

/* ---- Huge blocks: open-addressing table of our own mappings ---------- */

/* Each entry's map: the start of the mapping (one VMA) the block lies in;
 * only ranges of one mapping are merged, so mremap never meets two. */
struct lock huge_lock = LOCK_INITIALIZER;
static struct addr_table huge_table;	/* under huge_lock */
static unsigned long huge_bytes;	/* under huge_lock */

/* false, changing nothing, if the table cannot grow. */
static bool huge_insert_locked(uintptr_t addr, size_t size, uintptr_t map)
{
	struct addr_entry e = { .addr = addr, .size = size, .map = map };

	if (!addr_table_insert(&huge_table, &e))
		return false;
	huge_bytes += size;
	return true;
}

static long huge_find_locked(uintptr_t addr)
{
	return addr_table_find(&huge_table, addr);
}

static void huge_remove_locked(size_t i)
{
	huge_bytes -= huge_table.slot[i].size;
	addr_table_remove(&huge_table, i);
}

/* ---- Kept huge mappings ---------------------------------------------- */

/*
 * A freed huge block is not unmapped at once: its range stays mapped, its
 * pages resident, and the next huge allocation takes it.  Every block above
 * 4 MiB used to be a fresh mapping, unmapped on free, so a program
 * replacing 5-25 MiB buffers faulted each one in again page by page (7.8
 * million faults where tcmalloc, which keeps freed memory, took 185
 * thousand).  A request takes the smallest kept range that holds it
 * (best fit) and its tail stays kept, so a block's size is its request
 * rounded to pages (to 2 MiB with thp=1), as when it is mapped anew.
 * When none is big enough, the largest kept range is
 * grown with mremap, which moves its pages without copying, so only the
 * growth faults.  Address-adjacent kept ranges are merged.
 *
 * Kept ranges are free memory: they are not charged to the limit, as free
 * buddy pages are not.  What is kept is bounded: HUGE_KEPT_MAX ranges, and
 * no more bytes than are live (charged: pages out of the buddy allocator
 * and huge blocks), within the limit's room under a limit.  The bound is
 * checked again, and ranges kept longer than decay_ms are unmapped, by
 * every large or huge allocation and free and, through page_decay_hook,
 * after buddy traffic, which also makes kept ranges give way to memory
 * the buddy allocator carves anew (sqlite's peak RSS was 32.8 MiB with
 * them kept, 28.9 without).  kmalloc_huge_trim (malloc_trim, reclaim, and so
 * the limit's reclaim) unmaps them all.  Ranges are unmapped outside
 * huge_lock.  A bound of 64 MiB whatever was live kept sort's freed 8 MiB
 * buffer resident through its merge phase: peak RSS 17.1 MiB, 10.5 without
 * keeping (glibc 9.8).
 */
#define HUGE_KEPT_MAX		32

struct huge_range {
	uintptr_t addr;
	size_t len;
	uint64_t time;			/* freed at (ms) */
	uintptr_t map;			/* as huge_entry's */
};

static struct huge_range kept[HUGE_KEPT_MAX];	/* under huge_lock */
static unsigned int nr_kept;		/* under huge_lock; racy reads */
static size_t kept_bytes;		/* under huge_lock; racy reads */
static uint64_t kept_next_decay;	/* under huge_lock; racy reads */

/* Ranges taken out of kept[] under huge_lock, unmapped after it. */
struct huge_evict {
	unsigned int n;
	struct huge_range r[HUGE_KEPT_MAX + 1];
};

static void kept_remove_locked(unsigned int i)
{
	WRITE_ONCE(kept_bytes, kept_bytes - kept[i].len);
	kept[i] = kept[nr_kept - 1];
	WRITE_ONCE(nr_kept, nr_kept - 1);
}

static void kept_add_locked(uintptr_t addr, size_t len, uint64_t time,
			    uintptr_t map)
{
	kept[nr_kept].addr = addr;
	kept[nr_kept].len = len;
	kept[nr_kept].time = time;
	kept[nr_kept].map = map;
	WRITE_ONCE(nr_kept, nr_kept + 1);
	WRITE_ONCE(kept_bytes, kept_bytes + len);
}

static void kept_evict_locked(unsigned int i, struct huge_evict *ev)
{
	ev->r[ev->n++] = kept[i];
	kept_remove_locked(i);
}

static unsigned int kept_oldest_locked(void)
{
	unsigned int i, old = 0;

	for (i = 1; i < nr_kept; i++)
		if (kept[i].time < kept[old].time)
			old = i;
	return old;
}

static void evict_unmap(struct huge_evict *ev)
{
	size_t bytes = 0;
	unsigned int i;

	for (i = 0; i < ev->n; i++) {
		os_unmap((void *)ev->r[i].addr, ev->r[i].len);
		bytes += ev->r[i].len;
	}
	if (bytes)
		page_count_purged(bytes);
}

/* What may be kept: as much as is live (every page out of the buddy
 * allocator and every huge block), within the limit's room. */
static size_t kept_bound(void)
{
	return MIN(page_charged_bytes(), page_limit_room());
}

/* Ranges past the decay (all of them if all), then the oldest until what
 * is kept is within its bound. */
static void kept_trim_locked(bool all, uint64_t now, struct huge_evict *ev)
{
	unsigned long decay = page_decay_ms();
	size_t bound = kept_bound();
	unsigned int i = 0;

	while (i < nr_kept) {
		if (all || kept[i].time + decay <= now)
			kept_evict_locked(i, ev);
		else
			i++;
	}
	while (kept_bytes > bound)
		kept_evict_locked(kept_oldest_locked(), ev);
	WRITE_ONCE(kept_next_decay, now + MAX(decay / 2, 1UL));
}

/* Keep the freed range [addr, addr + len) of mapping map, merged with
 * its neighbours in the same mapping. */
static void kept_insert_locked(uintptr_t addr, size_t len, uintptr_t map,
			       uint64_t now, struct huge_evict *ev)
{
	unsigned int i = 0;

	while (i < nr_kept) {
		if (kept[i].map != map) {
			i++;
			continue;
		}
		if (kept[i].addr + kept[i].len == addr) {
			addr = kept[i].addr;
			len += kept[i].len;
		} else if (addr + len == kept[i].addr) {
			len += kept[i].len;
		} else {
			i++;
			continue;
		}
		kept_remove_locked(i);
		i = 0;
	}
	if (nr_kept == HUGE_KEPT_MAX)
		kept_evict_locked(kept_oldest_locked(), ev);
	kept_add_locked(addr, len, now, map);
	kept_trim_locked(false, now, ev);
}

/* Memory for a huge block wants 2 MiB alignment where huge pages are
 * asked for, so that its pages can be huge ones. */
#define HUGE_PAGE_SIZE		(2UL << 20)

static size_t huge_align(size_t align)
{
	if (uslub_opt.thp == 1)
		return MAX(align, HUGE_PAGE_SIZE);
	return align;
}

static void huge_thp(void *p, size_t len)
{
	if (uslub_opt.thp >= 0)
		os_hugepages(p, len, uslub_opt.thp);
}

/* A new mapping of len bytes aligned to align, charged to the limit. */
static void *huge_map(size_t len, size_t align)
{
	void *p;

	if (!page_charge(len))
		return NULL;
	align = huge_align(align);
	p = align > PAGE_SIZE ? os_reserve_aligned(len, align) : os_map(len);
	if (!p)
		page_uncharge(len);
	else
		huge_thp(p, len);
	return p;
}

/*
 * A kept range for len bytes aligned to align, charged: the best fit, or
 * the largest kept range grown by mremap.  *out: the bytes handed out (len,
 * or more with thp=1); *dirty: how many of them, from the start, may hold
 * old data.  NULL if nothing kept serves.
 */
static void *kept_take(size_t len, size_t align, size_t *out, size_t *dirty,
		       uintptr_t *map)
{
	struct huge_range r;
	struct huge_evict ev;
	unsigned int i, best = HUGE_KEPT_MAX, big = HUGE_KEPT_MAX;
	void *p;

	if (!READ_ONCE(nr_kept))
		return NULL;
	lock_acquire(&huge_lock);
	for (i = 0; i < nr_kept; i++) {
		if (kept[i].addr & (align - 1))
			continue;
		if (kept[i].len >= len &&
		    (best == HUGE_KEPT_MAX || kept[i].len < kept[best].len))
			best = i;
		if (big == HUGE_KEPT_MAX || kept[i].len > kept[big].len)
			big = i;
	}
	if (best == HUGE_KEPT_MAX && (big == HUGE_KEPT_MAX ||
				      align > PAGE_SIZE)) {
		lock_release(&huge_lock);
		return NULL;
	}
	i = best != HUGE_KEPT_MAX ? best : big;
	r = kept[i];
	kept_remove_locked(i);
	if (r.len > len) {
		size_t cut = ALIGN_UP(len, huge_align(PAGE_SIZE));

		if (r.len > cut) {
			kept_add_locked(r.addr + cut, r.len - cut, r.time,
					r.map);
			r.len = cut;
		}
	}
	lock_release(&huge_lock);
	*out = MAX(r.len, len);
	*dirty = r.len;
	*map = r.map;
	if (page_charge(*out)) {
		if (r.len >= len)
			return (void *)r.addr;
		p = os_remap((void *)r.addr, r.len, len);
		if (p) {
			if (p != (void *)r.addr)
				*map = (uintptr_t)p;
			return p;
		}
		page_uncharge(*out);
	}
	/* Over the limit (the caller's reclaim unmaps what is kept), or
	 * mremap refused: keep it, the caller maps afresh. */
	ev.n = 0;
	lock_acquire(&huge_lock);
	kept_insert_locked(r.addr, r.len, r.map, os_now_ms(), &ev);
	lock_release(&huge_lock);
	evict_unmap(&ev);
	return NULL;
}

/* Unmap kept ranges past the decay, those beyond the bound (under a
 * limit, the room shrinks), and the oldest ones worth grown bytes:
 * page_alloc's page_decay_hook passes what the buddy allocator just carved
 * from the regions, memory kept ranges could not serve.  Cheap when
 * nothing is kept. */
static void kept_decay(size_t grown)
{
	struct huge_evict ev;
	size_t freed = 0;
	uint64_t now;

	if (!READ_ONCE(nr_kept))
		return;
	now = os_now_ms();
	if (!grown && now < READ_ONCE(kept_next_decay) &&
	    READ_ONCE(kept_bytes) <= kept_bound())
		return;
	ev.n = 0;
	lock_acquire(&huge_lock);
	while (freed < grown && nr_kept) {
		unsigned int i = kept_oldest_locked();

		freed += kept[i].len;
		kept_evict_locked(i, &ev);
	}
	kept_trim_locked(false, now, &ev);
	lock_release(&huge_lock);
	evict_unmap(&ev);
}

size_t kmalloc_huge_trim(void)
{
	struct huge_evict ev;
	size_t bytes;

	ev.n = 0;
	lock_acquire(&huge_lock);
	bytes = kept_bytes;
	kept_trim_locked(true, os_now_ms(), &ev);
	lock_release(&huge_lock);
	evict_unmap(&ev);
	return bytes;
}

size_t kmalloc_huge_kept_bytes(void)
{
	return READ_ONCE(kept_bytes);
}

/* A mapping of its own for size bytes, aligned to align (a power of two;
 * page alignment when smaller): a kept one, else a new one.  Over the
 * limit, or refused by the OS, it reclaims once where page_reclaim allows
 * and tries again.  *dirty: bytes from the start that may not be zero. */
static void *huge_alloc_aligned(size_t size, size_t align, size_t *dirty)
{
	size_t len = ALIGN_UP(size, PAGE_SIZE), out;
	uintptr_t map;
	void *p;

	*dirty = 0;
	if (len < size)
		return NULL;
	kept_decay(0);
	p = kept_take(len, align, &out, dirty, &map);
	if (!p) {
		*dirty = 0;
		out = len;
		p = huge_map(len, align);
		if (!p && page_reclaim(len))
			p = huge_map(len, align);
		if (!p)
			return NULL;
		map = (uintptr_t)p;
	}
	lock_acquire(&huge_lock);
	if (!huge_insert_locked((uintptr_t)p, out, map)) {
		lock_release(&huge_lock);
		os_unmap(p, out);
		page_uncharge(out);
		return NULL;
	}
	lock_release(&huge_lock);
	return p;
}

/* Free the huge block at p into the kept ranges; false if p is not one. */
static bool huge_free(const void *p)
{
	struct huge_evict ev;
	uintptr_t map;
	size_t len;
	long i;

	ev.n = 0;
	lock_acquire(&huge_lock);
	i = huge_find_locked((uintptr_t)p);
	if (i < 0) {
		lock_release(&huge_lock);
		return false;
	}
	len = huge_table.slot[i].size;
	map = huge_table.slot[i].map;
	huge_remove_locked((size_t)i);
	page_uncharge(len);
	kept_insert_locked((uintptr_t)p, len, map, os_now_ms(), &ev);
	lock_release(&huge_lock);
	evict_unmap(&ev);
	return true;
}

/*
 * Resize the huge block at p (len bytes) to size bytes, moving it if the
 * kernel must (mremap: no copy, the pages move).  NULL if p is not a huge
 * block or the kernel refuses; p is then unchanged.
 */
void *kmalloc_huge_resize(void *p, size_t size)
{
	size_t len = ALIGN_UP(size, PAGE_SIZE), old;
	void *n = NULL;
	long i;

	if (debug_large_on)		/* moved, so it is checked */
		return NULL;
	lock_acquire(&huge_lock);
	i = huge_find_locked((uintptr_t)p);
	if (i < 0 || len < size)
		goto out;
	old = huge_table.slot[i].size;
	if (len > old && !page_charge(len - old))
		goto out;			/* the caller's fallback reclaims */
	n = os_remap(p, old, len);
	if (n) {
		uintptr_t map = n == p ? huge_table.slot[i].map : (uintptr_t)n;

		huge_remove_locked((size_t)i);
		/* Cannot fail: the table stays as full as it was. */
		huge_insert_locked((uintptr_t)n, len, map);
	}
	if (len > old && !n)
		page_uncharge(len - old);
	else if (len < old && n)
		page_uncharge(old - len);
out:
	lock_release(&huge_lock);
	return n;
}

/*
 * Bytes in large blocks.  Each thread counts its own in its state
 * (thread_cache.large_bytes); exited threads' counts and frees on a thread
 * without a state go into large_bytes_rest.  One shared atomic instead
 * made two threads replacing 8-32 KiB blocks bounce its cache line on
 * every call.
 */
static long large_bytes_rest;		/* atomic */

static void large_account(long delta)
{
	struct thread_cache *tc = thread_cache;

	if (likely(tc->live))
		counter_add(tc->large_bytes, delta);
	else
		atomic_add(large_bytes_rest, delta);
}

void kmalloc_thread_exit_locked(struct thread_cache *tc)
{
	atomic_add(large_bytes_rest, tc->large_bytes);
	tc->large_bytes = 0;
}

static unsigned long large_bytes_sum(void)
{
	long sum;
	unsigned int i;

	lock_acquire(&slab_mutex);
	sum = READ_ONCE(large_bytes_rest);
	for (i = 0; i < thread_registry_end(); i++) {
		struct thread_cache *tc = thread_registry_get(i);

		if (tc)
			sum += READ_ONCE(tc->large_bytes);
	}
	lock_release(&slab_mutex);
	return sum > 0 ? (unsigned long)sum : 0;
}

/*
 * Grow the large block at head to hold size bytes without moving it, when
 * the pages it needs are free (the thread's growth reservation, else the
 * buddies above it): realloc's growth by doubling then copies nothing.
 * false, with the block unchanged, when they are not.
 */
bool kmalloc_large_grow(struct slab *head, size_t size)
{
	unsigned int order = head->order, new_order = get_order(size);

	if (new_order > MAX_ORDER || new_order <= order)
		return false;
	if (!page_grow_extend(&thread_cache->pcache, head, new_order) &&
	    !page_extend(head, order, new_order))
		return false;
	large_account((long)((PAGE_SIZE << new_order) - (PAGE_SIZE << order)));
	return true;
}

/* Shrink the large block at head in place to hold size bytes, giving
 * its upper halves back; false if size needs a slab or the same order. */
bool kmalloc_large_shrink(struct slab *head, size_t size)
{
	unsigned int order = head->order, new_order = get_order(size);

	if (size <= SMALL_MAX || new_order >= order)
		return false;
	if (page_grow_lent(&thread_cache->pcache, head))
		page_grow_release(&thread_cache->pcache);  /* head is its own */
	page_shrink(head, order, new_order);
	large_account(-(long)((PAGE_SIZE << order) - (PAGE_SIZE << new_order)));
	return true;
}

/* Size of the huge block at p, 0 if p is not one.  Removes it if asked. */
static size_t huge_lookup(const void *p, bool remove)
{
	size_t size = 0;
	long i;

	lock_acquire(&huge_lock);
	i = huge_find_locked((uintptr_t)p);
	if (i >= 0) {
		size = huge_table.slot[i].size;
		if (remove)
			huge_remove_locked((size_t)i);
	}
	lock_release(&huge_lock);
	return size;
}

/* ---- Large blocks ---------------------------------------------------- */

/* Buddy blocks are aligned to their size: regions are 1 GiB aligned and
 * their descriptor pages fill whole top-order blocks. */
_Static_assert(REGION_META_PAGES % (1UL << MAX_ORDER) == 0,
	       "buddy blocks are naturally aligned");

/* A large block of 2^order pages (how: page_alloc_how's); *zero says
 * whether it is known to be zero. */
static void *large_alloc_order(unsigned int order, unsigned int how,
			       bool *zero)
{
	struct thread_cache *tc = thread_cache_get();
	struct slab *b = page_alloc_how(tc ? &tc->pcache : NULL, order, how,
					zero);

	if (!b)
		return NULL;
	WRITE_ONCE(b->head, b);		/* alone: see page_alloc.h */
	WRITE_ONCE(b->order, (uint8_t)order);
	block_set_flags(b, PG_large);
	large_account((long)(PAGE_SIZE << order));
	return page_address(b);
}

void *kmalloc_large_for_growth(size_t size)
{
	struct thread_cache *tc = thread_cache_get();
	unsigned int order = get_order(size);
	struct slab *b;
	bool zero;
	void *p;

	if (order > MAX_ORDER || debug_large_on)
		return NULL;
	b = tc ? page_grow_lend(&tc->pcache, order) : NULL;
	if (b) {			/* from the thread's reservation */
		WRITE_ONCE(b->head, b);
		large_account((long)(PAGE_SIZE << order));
		return page_address(b);
	}
	p = large_alloc_order(order, PAGE_GROW, &zero);
	if (!p)
		errno = ENOMEM;
	return p;
}

void kmalloc_large_stats(unsigned long *large, unsigned long *huge,
			 unsigned long *nr_huge)
{
	*large = large_bytes_sum();
	lock_acquire(&huge_lock);
	*huge = huge_bytes;
	*nr_huge = huge_table.count;
	lock_release(&huge_lock);
}

/* ---- Slow paths ------------------------------------------------------ */

/*
 * A large or huge block of size bytes aligned to align (0: its own
 * order's) under USLUB_DEBUG's kmalloc-large: room for the red zone, and
 * registered with debug_large.c, which checks its free.
 */
static __cold void *large_debug_alloc(size_t size, size_t align,
				      uslub_gfp_t gfp)
{
	size_t want = size + debug_large_extra(), dirty, len;
	unsigned int order = get_order(MAX(want, align));
	bool zero;
	void *p;

	kept_decay(0);
	if (order <= MAX_ORDER) {
		p = large_alloc_order(order, 0, &zero);
		len = PAGE_SIZE << order;
	} else {
		p = huge_alloc_aligned(want, MAX(align, (size_t)PAGE_SIZE),
				       &dirty);
		len = p ? huge_lookup(p, false) : 0;
	}
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	if (gfp & USLUB_GFP_ZERO)
		memset(p, 0, size);
	debug_large_alloc(p, size, len);
	return p;
}

/* The large block whose head is head back to the buddy allocator. */
static void large_free(struct slab *head)
{
	struct thread_cache *tc = thread_cache_for_free();

	large_account(-(long)(PAGE_SIZE << head->order));
	page_free(tc ? &tc->pcache : NULL, head, head->order);
	kept_decay(0);
}

void kmalloc_large_release(void *p)
{
	if (pagemap_region(p))
		large_free(pagemap_head(p));
	else
		huge_free(p);
}

/* The heap profiler sees every allocation that leaves the fast path,
 * which with prof on is every one (prof.h); with prof off the small path
 * still tail-calls cache_alloc_sized. */
void *kmalloc_slow(size_t size, uslub_gfp_t gfp, uintptr_t caller)
{
	struct uslub_cache *s;
	size_t dirty;
	bool zero;
	void *p;

	init_ensure();			/* the class table is empty before */
	statsd_ensure(thread_cache->now_ms);	/* a pending server */
	if (size == 0)
		return ZERO_SIZE_PTR;
	if (size <= SMALL_MAX) {
		s = &kmalloc_caches[kmalloc_slot_off(size) >> CPU_SHIFT];
		if (likely(!READ_ONCE(prof_active)))
			return cache_alloc_sized(s, gfp, size, caller);
		return prof_kmalloc(s, size, gfp, caller);
	}
	if (size > KMALLOC_MAX_SIZE) {
		errno = ENOMEM;
		return NULL;
	}
	if (unlikely(debug_large_on))
		return large_debug_alloc(size, 0, gfp);
	kept_decay(0);
	if (get_order(size) > MAX_ORDER) {
		/* Only a kept range's old bytes need clearing: pages new
		 * from the OS are zero. */
		p = huge_alloc_aligned(size, PAGE_SIZE, &dirty);
		if (p && (gfp & USLUB_GFP_ZERO) && dirty)
			memset(p, 0, dirty);
	} else {
		p = large_alloc_order(get_order(size), 0, &zero);
		/* Recycled pages are not zero; ksize() bytes are usable. */
		if (p && (gfp & USLUB_GFP_ZERO) && !zero)
			memset(p, 0, PAGE_SIZE << get_order(size));
	}
	if (!p)
		errno = ENOMEM;
	prof_alloc(p, size, caller);
	return p;
}

void kmalloc_report_invalid(const char *func, const void *p, const char *what)
{
	log_heap_bug(1);
	log_error("%s: invalid pointer %p: %s", func, p, what);
	if (options_debugging())
		log_stack();
	if (options_abort_invalid())
		abort();
}

struct slab *kmalloc_block_of(const char *func, const void *p, uint32_t want)
{
	struct slab *d = pagemap_lookup(p), *head;

	if (!d) {
		kmalloc_report_invalid(func, p, "not allocated by uslub");
		return NULL;
	}
	head = page_block_head(d);
	if (head && (block_flags(head) & PG_pages)) {
		kmalloc_report_invalid(func, p, "a block of pages from "
				       "uslub_alloc_pages (free it with "
				       "uslub_free_pages)");
		return NULL;
	}
	if (!head || !(block_flags(head) & (PG_slab | PG_large))) {
		kmalloc_report_invalid(func, p,
				       "not in use (double free or never allocated)");
		return NULL;
	}
	if (!(block_flags(head) & want)) {
		kmalloc_report_invalid(func, p,
				       "a large kmalloc block, not a cache object");
		return NULL;
	}
	return head;
}

/*
 * Every free that is not a push onto the thread's own cpu slab of a
 * kmalloc class ends here, and every invalid pointer: reported under
 * func's name.
 */
void kfree_checked(const void *p, const char *func, uintptr_t caller)
{
	struct slab *head;

	if (p == NULL || p == ZERO_SIZE_PTR)
		return;
	prof_free(p);
	if (!pagemap_region(p)) {
		if (unlikely(debug_large_on) && debug_large_free(func, (void *)p))
			return;
		if (!huge_free(p))
			kmalloc_report_invalid(func, p, "not allocated by uslub");
		return;
	}
	head = kmalloc_block_of(func, p, PG_slab | PG_large);
	if (!head)
		return;
	if (block_flags(head) & PG_slab) {
		cache_free_checked(func, NULL, (void *)p, caller);
		return;
	}
	if (p != page_address(head)) {
		kmalloc_report_invalid(func, p, "inside a large block, not its start");
		return;
	}
	if (unlikely(debug_large_on) && debug_large_free(func, (void *)p))
		return;
	large_free(head);
}

void kfree_slow(const void *p)
{
	kfree_checked(p, "kfree", RET_IP);
}

size_t kmalloc_ksize_checked(const char *func, const void *p)
{
	struct slab *head;

	if (p == NULL || p == ZERO_SIZE_PTR)
		return 0;
	if (unlikely(debug_large_on)) {	/* the size asked for */
		bool freed;
		size_t size = debug_large_size(func, p, &freed);

		if (size || freed)
			return size;
	}
	if (!pagemap_region(p)) {
		size_t len = huge_lookup(p, false);

		if (!len)
			kmalloc_report_invalid(func, p, "not allocated by uslub");
		return len;
	}
	head = kmalloc_block_of(func, p, PG_slab | PG_large);
	if (!head)
		return 0;
	if (block_flags(head) & PG_large) {
		if (p == page_address(head))
			return PAGE_SIZE << head->order;
		kmalloc_report_invalid(func, p,
				       "inside a large block, not its start");
		return 0;
	}
	if (slab_object_index(head->cache, head, p) < 0) {
		kmalloc_report_invalid(func, p, "not the start of an object");
		return 0;
	}
	if (head->cache->orig_off)	/* the size asked for (debug.h) */
		return debug_object_size(head->cache, p);
	return head->cache->object_size;
}

void kmalloc_debug_resize(void *p, size_t size)
{
	struct slab *head = pagemap_head(p);

	if (debug_large_on && debug_large_resize(p, size))
		return;
	if (head && (block_flags(head) & PG_slab) && head->cache->orig_off)
		debug_resize(head->cache, p, size);
}

size_t kmalloc_ksize(const void *p)
{
	return kmalloc_ksize_checked("ksize", p);
}

/*
 * size bytes aligned to align (a power of two, 32 .. 2^32): the smallest
 * kmalloc class that is a multiple of align (slabs are page aligned, so
 * its objects are aligned), else a buddy block of at least align bytes
 * (blocks are aligned to their size), else a mapping of its own.
 */
void *kmalloc_aligned(size_t size, size_t align, uslub_gfp_t gfp)
{
	unsigned int i, order;
	size_t dirty = 0;
	bool zero = true;
	void *p = NULL;

	/* Size 0 is a real block of one byte: above MAX_ORDER it would be a
	 * zero-length mapping, a pointer into nothing. */
	size = MAX(size, (size_t)1);
	init_ensure();
	if (size <= SMALL_MAX && align <= PAGE_SIZE) {
		for (i = 1; i < NR_KMALLOC; i++)
			if (class_size[i] >= size && !(class_size[i] & (align - 1)))
				break;
		if (i < NR_KMALLOC) {
			/* A debug cache red-zones the bytes after size. */
			p = kmalloc_caches[i].orig_off ?
			    cache_alloc_sized(&kmalloc_caches[i], gfp, size,
					      RET_IP) :
			    kmalloc_fast(class_size[i], gfp);
			USLUB_BUG_ON(p && ((uintptr_t)p & (align - 1)));
			return p;
		}
	}
	if (unlikely(debug_large_on) && size <= KMALLOC_MAX_SIZE)
		return large_debug_alloc(size, align, gfp);
	order = get_order(MAX(size, align));
	if (size <= KMALLOC_MAX_SIZE && order <= MAX_ORDER) {
		p = large_alloc_order(order, 0, &zero);
		if (p && (gfp & USLUB_GFP_ZERO) && !zero)
			memset(p, 0, PAGE_SIZE << order);
	} else if (size <= KMALLOC_MAX_SIZE) {
		p = huge_alloc_aligned(size, align, &dirty);
		if (p && (gfp & USLUB_GFP_ZERO) && dirty)
			memset(p, 0, dirty);
	}
	if (!p)
		errno = ENOMEM;
	prof_alloc(p, size, RET_IP);
	return p;
}
