/*
 * kmalloc.c - L5: size classes, the kmalloc caches, large and huge blocks.
 *
 *   size <= 32 KiB     a kmalloc cache (fast path in alloc.h)
 *   size <= 4 MiB      a buddy block of 2^order pages (PG_large)
 *   larger             its own mapping, found again through huge_table
 *
 * Entry points: kmalloc_init, kmalloc_slow, kfree_slow, kmalloc_ksize.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "init.h"
#include "log.h"
#include "options.h"
#include "os.h"
#include "assert.h"

/* ---- Size classes ---------------------------------------------------- */

static const unsigned int class_size[NR_KMALLOC] = {
	0,
	8, 16, 32, 48, 64, 80, 96, 112, 128,
	160, 192, 224, 256, 320, 384, 448, 512,
	640, 768, 896, 1024, 1280, 1536, 1792, 2048,
	2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192,
	10240, 12288, 14336, 16384, 20480, 24576, 28672, 32768,
};

struct uslub_cache kmalloc_caches[NR_KMALLOC];
uint16_t kmalloc_cpu_off[SMALL_MAX >> 3];

static void class_name(char *buf, size_t len, unsigned int size)
{
	if (size >= 1024 && size % 1024 == 0 && is_power_of_2(size))
		log_format(buf, len, "kmalloc-%uk", size / 1024);
	else
		log_format(buf, len, "kmalloc-%u", size);
}

void kmalloc_init(void)
{
	unsigned int i, idx = 1;
	char name[CACHE_NAME_MAX];

	for (i = 1; i < NR_KMALLOC; i++) {
		unsigned int size = class_size[i];
		/* kmalloc guarantees: power-of-two sizes aligned to the size */
		size_t align = 1U << (__builtin_ffs((int)size) - 1);

		class_name(name, sizeof(name), size);
		cache_setup(&kmalloc_caches[i], name, size, align, 0, NULL, i);
		cache_register(&kmalloc_caches[i]);
	}
	for (i = 0; i < ARRAY_SIZE(kmalloc_cpu_off); i++) {
		while (class_size[idx] < (i + 1) * 8)
			idx++;
		kmalloc_cpu_off[i] = (uint16_t)(idx << CPU_SHIFT);
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
		return class_size[kmalloc_cpu_off[(size - 1) >> 3] >> CPU_SHIFT];
	if (size > KMALLOC_MAX_SIZE)
		return size;
	if (get_order(size) <= MAX_ORDER)
		return PAGE_SIZE << get_order(size);
	return ALIGN_UP(size, PAGE_SIZE);
}

/* ---- Huge blocks: open-addressing table of our own mappings ---------- */

struct huge_entry {
	uintptr_t addr;
	size_t size;
};

struct lock huge_lock = LOCK_INITIALIZER;
static struct huge_entry *huge_table;	/* under huge_lock */
static size_t huge_cap, huge_count;	/* under huge_lock */
static unsigned long huge_bytes;	/* under huge_lock */

static size_t huge_hash(uintptr_t addr, size_t cap)
{
	return (size_t)((addr >> PAGE_SHIFT) * 0x9e3779b97f4a7c15ULL) & (cap - 1);
}

static void huge_insert_locked(uintptr_t addr, size_t size)
{
	size_t i = huge_hash(addr, huge_cap);

	while (huge_table[i].addr)
		i = (i + 1) & (huge_cap - 1);
	huge_table[i].addr = addr;
	huge_table[i].size = size;
	huge_count++;
	huge_bytes += size;
}

static bool huge_grow_locked(void)
{
	size_t old_cap = huge_cap, i, cap = huge_cap ? huge_cap * 2 : 512;
	struct huge_entry *old = huge_table;
	struct huge_entry *t = os_map(cap * sizeof(*t));

	if (!t)
		return false;
	huge_table = t;
	huge_cap = cap;
	huge_count = 0;
	huge_bytes = 0;
	for (i = 0; i < old_cap; i++)
		if (old[i].addr)
			huge_insert_locked(old[i].addr, old[i].size);
	if (old)
		os_unmap(old, old_cap * sizeof(*old));
	return true;
}

static long huge_find_locked(uintptr_t addr)
{
	size_t i;

	if (!huge_cap)
		return -1;
	for (i = huge_hash(addr, huge_cap); huge_table[i].addr;
	     i = (i + 1) & (huge_cap - 1))
		if (huge_table[i].addr == addr)
			return (long)i;
	return -1;
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void huge_remove_locked(size_t i)
{
	size_t j = i, k;

	huge_bytes -= huge_table[i].size;
	huge_count--;
	for (;;) {
		huge_table[i].addr = 0;
		do {
			j = (j + 1) & (huge_cap - 1);
			if (!huge_table[j].addr)
				return;
			k = huge_hash(huge_table[j].addr, huge_cap);
		} while (i <= j ? (i < k && k <= j) : (i < k || k <= j));
		huge_table[i] = huge_table[j];
		i = j;
	}
}

/* A mapping of len bytes aligned to align, charged to the limit. */
static void *huge_map(size_t len, size_t align)
{
	void *p;

	if (!page_charge(len))
		return NULL;
	p = align > PAGE_SIZE ? os_reserve_aligned(len, align) : os_map(len);
	if (!p)
		page_uncharge(len);
	return p;
}

/* A mapping of its own for size bytes, aligned to align (a power of two;
 * page alignment when smaller).  Over the limit, or refused by the OS, it
 * reclaims once where page_reclaim allows and tries again. */
static void *huge_alloc_aligned(size_t size, size_t align)
{
	size_t len = ALIGN_UP(size, PAGE_SIZE);
	void *p;

	if (len < size)
		return NULL;
	p = huge_map(len, align);
	if (!p && page_reclaim(len))
		p = huge_map(len, align);
	if (!p)
		return NULL;
	lock_acquire(&huge_lock);
	if ((huge_count + 1) * 2 > huge_cap && !huge_grow_locked()) {
		lock_release(&huge_lock);
		os_unmap(p, len);
		page_uncharge(len);
		return NULL;
	}
	huge_insert_locked((uintptr_t)p, len);
	lock_release(&huge_lock);
	return p;
}

static void *huge_alloc(size_t size)
{
	return huge_alloc_aligned(size, PAGE_SIZE);
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

	lock_acquire(&huge_lock);
	i = huge_find_locked((uintptr_t)p);
	if (i < 0 || len < size)
		goto out;
	old = huge_table[i].size;
	if (len > old && !page_charge(len - old))
		goto out;			/* the caller's fallback reclaims */
	n = os_remap(p, old, len);
	if (n) {
		huge_remove_locked((size_t)i);
		huge_insert_locked((uintptr_t)n, len);
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
 * Grow the large block at p (a block start, already checked by the caller)
 * to hold size bytes without moving it, when the buddies it needs are
 * free: realloc's growth by doubling then copies nothing.  false, with p
 * unchanged, when p is not a large block or a buddy is in use.
 */
bool kmalloc_large_grow(void *p, size_t size)
{
	struct slab *d = pagemap_lookup(p), *head = d ? d->head : NULL;
	unsigned int order, new_order = get_order(size);

	if (!head || !(block_flags(head) & PG_large) || new_order > MAX_ORDER)
		return false;
	order = head->order;
	if (new_order <= order || !page_extend(head, order, new_order))
		return false;
	page_prep_block(head, new_order, 0);
	large_account((long)((PAGE_SIZE << new_order) - (PAGE_SIZE << order)));
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
		size = huge_table[i].size;
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

static void *large_alloc_order(unsigned int order)
{
	struct thread_cache *tc = thread_cache_get();
	struct slab *b = page_alloc(tc ? &tc->pcache : NULL, order);

	if (!b)
		return NULL;
	page_prep_block(b, order, 0);
	block_set_flags(b, PG_large);
	large_account((long)(PAGE_SIZE << order));
	return page_address(b);
}

static void *large_alloc(size_t size)
{
	return large_alloc_order(get_order(size));
}

void kmalloc_large_stats(unsigned long *large, unsigned long *huge,
			 unsigned long *nr_huge)
{
	*large = large_bytes_sum();
	lock_acquire(&huge_lock);
	*huge = huge_bytes;
	*nr_huge = huge_count;
	lock_release(&huge_lock);
}

/* ---- Slow paths ------------------------------------------------------ */

void *kmalloc_slow(size_t size, uslub_gfp_t gfp, uintptr_t caller)
{
	void *p;

	init_ensure();			/* the class table is empty before */
	if (size == 0)
		return ZERO_SIZE_PTR;
	if (size <= SMALL_MAX)
		return cache_alloc_slow(
			&kmalloc_caches[kmalloc_cpu_off[(size - 1) >> 3] >> CPU_SHIFT],
			gfp, caller);
	if (size > KMALLOC_MAX_SIZE) {
		errno = ENOMEM;
		return NULL;
	}
	if (get_order(size) > MAX_ORDER) {
		p = huge_alloc(size);	/* a new mapping: already zero */
	} else {
		p = large_alloc(size);
		/* Recycled pages are not zero; ksize() bytes are usable. */
		if (p && (gfp & USLUB_GFP_ZERO))
			memset(p, 0, PAGE_SIZE << get_order(size));
	}
	if (!p)
		errno = ENOMEM;
	return p;
}

void kmalloc_report_invalid(const char *func, const void *p, const char *what)
{
	log_error("%s: invalid pointer %p: %s", func, p, what);
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
	head = d->head;
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
void kfree_checked(const char *func, const void *p, uintptr_t caller)
{
	struct slab *head;
	struct thread_cache *tc;
	size_t len;

	if (p == NULL || p == ZERO_SIZE_PTR)
		return;
	if (!pagemap_region(p)) {
		len = huge_lookup(p, true);
		if (!len) {
			kmalloc_report_invalid(func, p, "not allocated by uslub");
			return;
		}
		os_unmap((void *)p, len);
		page_uncharge(len);
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
	tc = thread_cache_for_free();
	large_account(-(long)(PAGE_SIZE << head->order));
	page_free(tc ? &tc->pcache : NULL, head, head->order);
}

void kfree_slow(const void *p)
{
	kfree_checked("kfree", p, RET_IP);
}

size_t kmalloc_ksize_checked(const char *func, const void *p)
{
	struct slab *head;

	if (p == NULL || p == ZERO_SIZE_PTR)
		return 0;
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
	return head->cache->object_size;
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
	void *p = NULL;

	init_ensure();
	if (size <= SMALL_MAX && align <= PAGE_SIZE) {
		for (i = 1; i < NR_KMALLOC; i++)
			if (class_size[i] >= size && !(class_size[i] & (align - 1)))
				break;
		if (i < NR_KMALLOC) {
			p = kmalloc_fast(class_size[i], gfp);
			USLUB_BUG_ON(p && ((uintptr_t)p & (align - 1)));
			return p;
		}
	}
	order = get_order(MAX(size, align));
	if (size <= KMALLOC_MAX_SIZE && order <= MAX_ORDER) {
		p = large_alloc_order(order);
		if (p && (gfp & USLUB_GFP_ZERO))
			memset(p, 0, PAGE_SIZE << order);
	} else if (size <= KMALLOC_MAX_SIZE) {
		p = huge_alloc_aligned(size, align);
	}
	if (!p)
		errno = ENOMEM;
	return p;
}
