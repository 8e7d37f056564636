/*
 * page_owner.c - L3: who allocated each block of pages (page_owner.h).
 *
 * Records live in a side table parallel to each region's descriptors: one
 * struct owner_rec per page index, of which only block heads are used.
 * A region's table (32 MiB of address space, committed page by page as
 * heads are recorded) is mapped with os_map when the first block of the
 * region is recorded, and found through owner_dir[address >> 30], itself
 * mapped on first use.  Both are published with a compare-and-swap: no
 * lock and no allocation, since page_alloc runs under any lock.
 *
 * A record is written by the thread that was just handed its block and
 * cleared by the thread giving the block back; page_owner_write reads
 * records while that goes on.  stamp (the time in ns, never 0) is written
 * last with release order and zeroed first; the reader copies a record
 * between two reads of stamp and skips it if they differ.
 */
#include <errno.h>

#include "page_owner.h"
#include "page_alloc.h"
#include "pagemap.h"
#include "log.h"
#include "options.h"
#include "os.h"

struct owner_rec {
	uint64_t stamp;			/* allocation time (ns); 0: none */
	uint64_t ids;			/* pid << 32 | tid */
	uint64_t order;
	uint64_t nr_frames;
	uintptr_t stack[PAGE_OWNER_FRAMES];
};
_Static_assert(sizeof(struct owner_rec) == 128, "two records a line pair");

#define OWNER_TABLE_BYTES	(PAGES_PER_REGION * sizeof(struct owner_rec))

static struct owner_rec **owner_dir;	/* published once, CAS */

/* *slot, after installing a new mapping of size bytes if it was NULL. */
static void *publish_map(void **slot, size_t size)
{
	void *cur = load_acquire(*slot), *map;

	if (cur)
		return cur;
	map = os_map(size);
	if (!map)
		return NULL;
	if (__atomic_compare_exchange_n(slot, &cur, map, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return map;
	os_unmap(map, size);			/* another thread won */
	return cur;
}

/* The record of the block at head; NULL when its table is missing and
 * create is false, or the OS refuses one. */
static struct owner_rec *rec_of(const struct slab *head, bool create)
{
	uintptr_t base = (uintptr_t)head & ~(REGION_SIZE - 1);
	struct owner_rec **dir, *table;

	if (create)
		dir = publish_map((void **)&owner_dir,
				  REGION_SLOTS * sizeof(*dir));
	else
		dir = load_acquire(owner_dir);
	if (!dir)
		return NULL;
	if (create)
		table = publish_map((void **)&dir[base >> REGION_SHIFT],
				    OWNER_TABLE_BYTES);
	else
		table = load_acquire(dir[base >> REGION_SHIFT]);
	return table ? &table[page_index(head)] : NULL;
}

void page_owner_record(struct slab *head, unsigned int order)
{
	struct owner_rec *r = rec_of(head, true);
	uintptr_t stack[PAGE_OWNER_FRAMES];
	unsigned int i, n;
	uint64_t now;

	if (!r)				/* no table: the block goes unrecorded */
		return;
	n = os_stack_capture(stack, PAGE_OWNER_FRAMES);
	/* Each field with release order: a reader that sees any new field
	 * then sees stamp changed (no fences: ThreadSanitizer has none). */
	WRITE_ONCE(r->stamp, 0);
	store_release(r->ids, (uint64_t)(uint32_t)os_getpid() << 32 |
			      (uint32_t)os_gettid());
	store_release(r->order, order);
	store_release(r->nr_frames, n);
	for (i = 0; i < n; i++)
		store_release(r->stack[i], stack[i]);
	now = os_now_ns();
	store_release(r->stamp, now ? now : 1);
}

void page_owner_clear(struct slab *head)
{
	struct owner_rec *r = rec_of(head, false);

	if (r)
		WRITE_ONCE(r->stamp, 0);
}

/* ---- Report ---------------------------------------------------------- */

/* A consistent copy of r, or false if it is empty or changed meanwhile. */
static bool rec_copy(const struct owner_rec *r, struct owner_rec *out)
{
	unsigned int i;

	out->stamp = load_acquire(r->stamp);
	if (!out->stamp)
		return false;
	/* acquire loads: the second read of stamp stays after them all */
	out->ids = load_acquire(r->ids);
	out->order = load_acquire(r->order);
	out->nr_frames = MIN(load_acquire(r->nr_frames), PAGE_OWNER_FRAMES);
	for (i = 0; i < out->nr_frames; i++)
		out->stack[i] = load_acquire(r->stack[i]);
	return READ_ONCE(r->stamp) == out->stamp;
}

/* What the block is now: its kind, and for a slab its cache's name,
 * copied with a bound (the cache may be going away meanwhile). */
static void block_kind(const struct slab *head, char *name, size_t size,
		       const char **kind, const char **flag_names)
{
	uint32_t flags = block_flags(head);
	const struct uslub_cache *s;
	size_t i;

	name[0] = '\0';
	if (flags & PG_slab) {
		*kind = "slab";
		*flag_names = "slab|head";
		s = READ_ONCE(head->cache);
		for (i = 0; s && i + 1 < size && i + 1 < CACHE_NAME_MAX; i++) {
			name[i] = READ_ONCE(s->name[i]);
			if (!name[i])
				break;
		}
		name[MIN(i, size - 1)] = '\0';
	} else if (flags & PG_large) {
		*kind = "large";
		*flag_names = "large|head";
	} else if (flags & PG_pages) {
		*kind = "pages";
		*flag_names = "pages|head";
	} else {
		*kind = "internal";	/* thread states, the registry */
		*flag_names = "head";
	}
}

static void rec_print(struct log_buf *b, const struct slab *head,
		      const struct owner_rec *r)
{
	char name[CACHE_NAME_MAX];
	const char *kind, *flag_names, *sym;
	uintptr_t off;
	uint64_t i;

	block_kind(head, name, sizeof(name), &kind, &flag_names);
	log_buf_printf(b, "Page allocated via order %lu, pid %u, tid %u, "
		       "ts %lu ns\n", (unsigned long)r->order,
		       (unsigned int)(r->ids >> 32), (unsigned int)r->ids,
		       (unsigned long)r->stamp);
	log_buf_printf(b, "Addr %p pages %lu type %s%s%s Flags 0x%x(%s)\n",
		       page_address(head), 1UL << r->order, kind,
		       name[0] ? " cache " : "", name, block_flags(head),
		       flag_names);
	for (i = 0; i < r->nr_frames; i++) {
		if (os_symbolize(r->stack[i], &sym, &off))
			log_buf_printf(b, " %s+%#lx\n", sym, (unsigned long)off);
		else
			log_buf_printf(b, " %#lx\n", (unsigned long)r->stack[i]);
	}
	log_buf_printf(b, "\n");
}

int page_owner_write(int fd)
{
	unsigned int i, n = region_count();
	struct owner_rec copy;
	struct log_buf b;

	if (!READ_ONCE(uslub_opt.page_owner)) {
		errno = EINVAL;
		return -1;
	}
	log_buf_init(&b, fd);
	for (i = 0; i < n; i++) {
		struct region *rg = region_get(i);
		struct slab *desc0 = (struct slab *)rg->base;
		struct owner_rec *table = rec_of(desc0, false);
		unsigned long idx, fresh;

		if (!table)
			continue;
		lock_acquire(&page_lock);
		fresh = rg->fresh;
		lock_release(&page_lock);
		for (idx = REGION_META_PAGES; idx < fresh; idx++)
			if (rec_copy(&table[idx], &copy))
				rec_print(&b, desc0 + idx, &copy);
	}
	return log_buf_flush(&b);
}
