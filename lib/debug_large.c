/*
 * debug_large.c - L5 beside kmalloc.c: red zones, poison and a quarantine
 * for large and huge kmalloc blocks under USLUB_DEBUG (debug_large.h).
 *
 * Entry points, all from kmalloc.c's slow paths and only when
 * debug_large_on: debug_large_alloc, debug_large_free, debug_large_size,
 * debug_large_resize, debug_large_validate.
 *
 * Why a red zone and a quarantine, not guard pages: a guard page needs an
 * mprotect per block, splits the region's mapping (and its huge pages)
 * into many, and catches only overflows that cross a page; the tail of a
 * large block is already there (a 100,000-byte block has 31,072 bytes
 * after it in its 32 pages), so a red zone costs one memset at alloc and
 * one scan at free, and finds an overflow of one byte.  A quarantine keeps
 * use-after-free writes findable without holding freed memory forever.
 */
#include <stdlib.h>
#include <string.h>

#include "debug_large.h"
#include "addr_table.h"
#include "debug.h"
#include "kmalloc.h"
#include "log.h"
#include "options.h"

#define RED_EXTRA		sizeof(void *)	/* at least this much red zone */
#define QUARANTINE_BLOCKS	16
#define QUARANTINE_BYTES	(64UL << 20)

bool debug_large_on;
static bool red_zone, poison;		/* immutable after init */

/* Under huge_lock: the live debugged blocks (addr, the size asked for,
 * len of the block) and the quarantine of freed ones. */
static struct addr_table table;
static struct addr_entry quarantine[QUARANTINE_BLOCKS];
static unsigned int q_head, q_count;
static size_t q_bytes;

/* Set by kmalloc_init from USLUB_DEBUG's flags for kmalloc-large. */
void debug_large_init(unsigned long flags)
{
	red_zone = flags & USLUB_RED_ZONE;
	poison = flags & USLUB_POISON;
	debug_large_on = red_zone || poison;
}

size_t debug_large_extra(void)
{
	return red_zone ? RED_EXTRA : 0;
}

/* The size asked for of the quarantined block at addr; 0 if none. */
static size_t quarantined_locked(uintptr_t addr)
{
	unsigned int i;

	for (i = 0; i < q_count; i++) {
		unsigned int k = (q_head + i) % QUARANTINE_BLOCKS;

		if (quarantine[k].addr == addr)
			return quarantine[k].size;
	}
	return 0;
}

/* ---- Reports --------------------------------------------------------- */

/* A problem found under huge_lock, printed after it. */
struct large_report {
	const char *func;
	const char *what;		/* "Redzone", "Poison", ... */
	const char *note;		/* after the rest, or NULL */
	uintptr_t addr;
	size_t size;
	uintptr_t first, last;		/* the bad bytes; first 0: none */
	unsigned int found, want;
	uint8_t bytes[16];		/* from first */
	unsigned int nbytes;
};

static void report(const struct large_report *r)
{
	struct log_buf b;
	unsigned int i;

	log_heap_bug(1);
	log_buf_init(&b, log_get_error_fd());
	log_buf_printf(&b, "uslub: %s: kmalloc-large object %#lx (%zu bytes): "
		       "%s", r->func, (unsigned long)r->addr, r->size, r->what);
	if (r->first)
		log_buf_printf(&b, " overwritten (%#lx-%#lx @offset=%ld. First "
			       "byte %#x instead of %#x)",
			       (unsigned long)r->first, (unsigned long)r->last,
			       (long)(r->first - r->addr), r->found, r->want);
	if (r->note)
		log_buf_printf(&b, ": %s", r->note);
	log_buf_printf(&b, "\n");
	if (r->nbytes) {
		log_buf_printf(&b, " bytes at %#lx:", (unsigned long)r->first);
		for (i = 0; i < r->nbytes; i++)
			log_buf_printf(&b, " %02x", r->bytes[i]);
		log_buf_printf(&b, "\n");
	}
	log_buf_flush(&b);
	log_stack();
	if (options_abort_debug())
		abort();
}

/*
 * Every byte of [start, start + len) should be val; if not, fill r and
 * restore them.  Returns true if all were.
 */
static bool check_fill(struct large_report *r, uint8_t *start, size_t len,
		       uint8_t val)
{
	uint8_t *end = start + len, *fault = NULL, *p;

	for (p = start; p < end; p++)
		if (*p != val) {
			fault = p;
			break;
		}
	if (!fault)
		return true;
	while (end > fault && end[-1] == val)
		end--;
	r->first = (uintptr_t)fault;
	r->last = (uintptr_t)end - 1;
	r->found = *fault;
	r->want = val;
	r->nbytes = (unsigned int)MIN((size_t)(end - fault), sizeof(r->bytes));
	memcpy(r->bytes, fault, r->nbytes);
	memset(fault, val, (size_t)(end - fault));
	return false;
}

static bool check_red_zone(struct large_report *r, const struct addr_entry *e)
{
	r->what = "Redzone";
	r->addr = e->addr;
	r->size = e->size;
	return !red_zone || check_fill(r, (uint8_t *)e->addr + e->size,
				       e->len - e->size, RED_ACTIVE);
}

static bool check_poison(struct large_report *r, const struct addr_entry *e)
{
	uint8_t *p = (uint8_t *)e->addr;

	r->what = "Poison";
	r->addr = e->addr;
	r->size = e->size;
	if (!check_fill(r, p, e->len - 1, POISON_FREE))
		return false;
	return check_fill(r, p + e->len - 1, 1, POISON_END);
}

static void poison_block(const struct addr_entry *e)
{
	memset((void *)e->addr, POISON_FREE, e->len - 1);
	((uint8_t *)e->addr)[e->len - 1] = POISON_END;
}

/* ---- Entry points ---------------------------------------------------- */

void debug_large_alloc(void *p, size_t size, size_t len)
{
	struct addr_entry e = { .addr = (uintptr_t)p, .size = size,
				 .len = len };

	/* Before validation can find it.  Without room in the table the
	 * block is not debugged (its free finds no entry and frees it
	 * plainly); the red zone is then only bytes. */
	if (red_zone)
		memset((char *)p + size, RED_ACTIVE, len - size);
	lock_acquire(&huge_lock);
	(void)addr_table_insert(&table, &e);
	lock_release(&huge_lock);
}

/* Take the oldest quarantined block out (under huge_lock) into *out. */
static void quarantine_pop_locked(struct addr_entry *out)
{
	*out = quarantine[q_head];
	q_head = (q_head + 1) % QUARANTINE_BLOCKS;
	q_count--;
	q_bytes -= out->len;
}

/* Check a block leaving the quarantine, report, and free it. */
static unsigned long release(const char *func, const struct addr_entry *e)
{
	struct large_report r = { .func = func };
	unsigned long bad = 0;

	if (!check_poison(&r, e)) {
		r.note = "written after it was freed";
		report(&r);
		bad = 1;
	}
	kmalloc_large_release((void *)e->addr);
	return bad;
}

bool debug_large_free(const char *func, void *p)
{
	struct large_report r = { .func = func };
	struct addr_entry e, out[QUARANTINE_BLOCKS];
	unsigned int nout = 0, i;
	bool red_ok;
	long k;

	lock_acquire(&huge_lock);
	k = addr_table_find(&table, (uintptr_t)p);
	if (k < 0) {
		r.size = quarantined_locked((uintptr_t)p);
		lock_release(&huge_lock);
		if (!r.size)
			return false;
		r.what = "Object already free";
		r.addr = (uintptr_t)p;
		report(&r);
		return true;
	}
	e = table.slot[k];
	addr_table_remove(&table, (size_t)k);
	lock_release(&huge_lock);
	red_ok = check_red_zone(&r, &e);
	if (!red_ok)
		report(&r);
	if (!poison || e.len > QUARANTINE_BYTES / 4) {
		kmalloc_large_release(p);
		return true;
	}
	poison_block(&e);
	lock_acquire(&huge_lock);
	while (q_count == QUARANTINE_BLOCKS ||
	       (q_count && q_bytes + e.len > QUARANTINE_BYTES))
		quarantine_pop_locked(&out[nout++]);
	quarantine[(q_head + q_count) % QUARANTINE_BLOCKS] = e;
	q_count++;
	q_bytes += e.len;
	lock_release(&huge_lock);
	for (i = 0; i < nout; i++)
		release(func, &out[i]);
	return true;
}

size_t debug_large_size(const char *func, const void *p, bool *freed)
{
	struct large_report r = { .func = func };
	size_t size = 0;
	long k;

	*freed = false;
	lock_acquire(&huge_lock);
	k = addr_table_find(&table, (uintptr_t)p);
	if (k >= 0)
		size = table.slot[k].size;
	else
		r.size = quarantined_locked((uintptr_t)p);
	lock_release(&huge_lock);
	if (r.size) {
		*freed = true;
		r.what = "Object already free";
		r.addr = (uintptr_t)p;
		report(&r);
	}
	return size;
}

bool debug_large_resize(void *p, size_t size)
{
	size_t len = 0;
	long k;

	/* Under the lock: validation must not see the new size before
	 * the red zone that goes with it. */
	lock_acquire(&huge_lock);
	k = addr_table_find(&table, (uintptr_t)p);
	if (k >= 0 && size + debug_large_extra() <= table.slot[k].len) {
		len = table.slot[k].len;
		if (red_zone && size < table.slot[k].size)
			memset((char *)p + size, RED_ACTIVE,
			       table.slot[k].size - size);
		table.slot[k].size = size;
	}
	lock_release(&huge_lock);
	return len != 0;
}

unsigned long debug_large_validate(const char *func, bool release_all)
{
	struct large_report r = { .func = func };
	struct addr_entry e, out[QUARANTINE_BLOCKS];
	unsigned long bad = 0;
	unsigned int nout = 0, i;
	size_t k;

	/* Live blocks: their red zones, one at a time under the lock (their
	 * owner may free them meanwhile). */
	for (k = 0; red_zone; k++) {
		lock_acquire(&huge_lock);
		if (k >= table.cap) {
			lock_release(&huge_lock);
			break;
		}
		e = table.slot[k];
		r.first = 0;
		if (e.addr && !check_red_zone(&r, &e))
			bad++;
		lock_release(&huge_lock);
		if (r.first)
			report(&r);
	}
	lock_acquire(&huge_lock);
	if (release_all)
		while (q_count)
			quarantine_pop_locked(&out[nout++]);
	for (i = 0; i < q_count; i++) {
		e = quarantine[(q_head + i) % QUARANTINE_BLOCKS];
		r.first = 0;
		if (!check_poison(&r, &e)) {
			r.note = "written after it was freed";
			lock_release(&huge_lock);
			report(&r);
			bad++;
			lock_acquire(&huge_lock);
		}
	}
	lock_release(&huge_lock);
	for (i = 0; i < nout; i++)
		bad += release(func, &out[i]);
	return bad;
}
