/*
 * debug.c - L4 beside slab.c: debug caches (the kernel's slub_debug).
 *
 * Entry points: debug_calculate_layout (cache creation), debug_alloc and
 * debug_free (every alloc and free of a debug cache, from cache.c),
 * debug_validate (uslub_cache_validate), debug_print_alloc_track
 * (destroy's report).  The layout and the rules are in debug.h.
 *
 * Each operation takes s->list_lock, checks, repairs what it found
 * (restores red zones and poison, cuts a corrupted free chain, refuses a
 * bad free) and collects what it saw in a struct report on the stack:
 * the object's bytes as found and the tracks.  The report is printed
 * after the lock is released, without allocating.
 */
#include <stdlib.h>
#include <string.h>

#include "debug.h"
#include "log.h"
#include "options.h"
#include "os.h"
#include "region.h"
#include "assert.h"

/* ---- Layout ---------------------------------------------------------- */

static bool object_poison(const struct uslub_cache *s)
{
	/* The kernel's __OBJECT_POISON: a ctor's state and RCU readers'
	 * view must survive the free. */
	return (s->flags & USLUB_POISON) && !s->ctor &&
	       !(s->flags & USLUB_TYPESAFE_BY_RCU);
}

unsigned int debug_calculate_layout(struct uslub_cache *s, unsigned int size)
{
	/* A word of right red zone at least, as the kernel: an overflow by
	 * one byte of a word-sized object must land in it. */
	if ((s->flags & USLUB_RED_ZONE) && size == s->object_size)
		size += sizeof(void *);
	s->inuse = size;
	/* Poison and red zones cover the object: the free pointer goes
	 * after it (and after it anyway for a ctor or RCU). */
	if (s->flags & (USLUB_POISON | USLUB_RED_ZONE | USLUB_TYPESAFE_BY_RCU) ||
	    s->ctor) {
		s->offset = size;
		size += sizeof(void *);
	} else {
		s->offset = ALIGN_DOWN(s->object_size / 2,
				       (unsigned int)sizeof(void *));
	}
	if (s->flags & USLUB_STORE_USER) {
		s->track_off = size;
		size += 2 * sizeof(struct track);
	}
	if (s->kmalloc_idx && (s->flags & USLUB_RED_ZONE)) {
		s->orig_off = size;
		size += sizeof(void *);
	}
	s->pad_off = size;
	if (s->flags & USLUB_RED_ZONE) {
		/* Keeps the object aligned: the slot stride is a multiple of
		 * align, so the pad must be too. */
		s->red_left_pad = ALIGN_UP((unsigned int)sizeof(void *), s->align);
		size += s->red_left_pad;
	}
	return size;
}

/* Bytes of padding after pad_off up to the next slot. */
static unsigned int pad_len(const struct uslub_cache *s)
{
	return s->size - s->red_left_pad - s->pad_off;
}

static struct track *get_track(const struct uslub_cache *s, void *obj,
			       unsigned int which)
{
	return (struct track *)((char *)obj + s->track_off) + which;
}

enum { TRACK_ALLOC, TRACK_FREE };

/* Caller's stack, captured with no lock held (backtrace may allocate the
 * first time). */
static void track_capture(const struct uslub_cache *s, struct track *t,
			  uintptr_t caller)
{
	memset(t, 0, sizeof(*t));
	if (!(s->flags & USLUB_STORE_USER))
		return;
	t->addr = caller;
	t->when = os_now_ms();
	t->tid = os_gettid();
	t->nr = os_stack_capture(t->stack, TRACK_ADDRS);
}

/* ---- Object states --------------------------------------------------- */

/* The size kmalloc was asked for (the kernel's get_orig_size): the bytes
 * after it, up to object_size, are the kmalloc red zone of an allocated
 * object.  object_size where the cache keeps no size. */
static unsigned int get_orig_size(const struct uslub_cache *s, const void *obj)
{
	if (!s->orig_off)
		return s->object_size;
	return *(const unsigned int *)((const char *)obj + s->orig_off);
}

static void set_orig_size(const struct uslub_cache *s, void *obj,
			  unsigned int size)
{
	if (s->orig_off)
		*(unsigned int *)((char *)obj + s->orig_off) = size;
}

static void init_object(const struct uslub_cache *s, void *obj, uint8_t val)
{
	char *p = obj;
	unsigned int orig = get_orig_size(s, obj);

	if (s->flags & USLUB_RED_ZONE) {
		memset(p - s->red_left_pad, val, s->red_left_pad);
		memset(p + s->object_size, val, s->inuse - s->object_size);
		if (val == RED_ACTIVE && orig < s->object_size)
			memset(p + orig, val, s->object_size - orig);
	}
	if (object_poison(s) && val == RED_INACTIVE) {
		memset(p, POISON_FREE, s->object_size - 1);
		p[s->object_size - 1] = (char)POISON_END;
	}
}

static bool valid_pointer(const struct uslub_cache *s, const struct slab *slab,
			  const void *p)
{
	return !p || slab_object_index(s, slab, p) >= 0;
}

/* ---- Reports --------------------------------------------------------- */

#define REPORT_PROBLEMS	4
#define REPORT_FRAMES	16	/* of the call that found the problem */
#define DUMP_OBJECT	128	/* bytes of the object shown */
#define DUMP_EDGE	64	/* bytes of each red zone and the padding */

struct problem {
	char bug[96];		/* BUG <cache>: ... */
	char info[160];		/* first INFO line, may be empty */
	char fix[160];		/* FIX <cache>: ... */
};

struct dump_section {
	const char *label;
	uintptr_t addr;
	unsigned int len;	/* bytes copied */
	unsigned int total;	/* bytes the section has */
	unsigned int at;	/* offset in report.bytes */
};

struct report {
	const struct uslub_cache *s;
	const char *func;	/* the entry point that found it */
	uintptr_t addr;		/* the pointer it was given, or 0 */
	unsigned int nr;
	struct problem p[REPORT_PROBLEMS];
	/* the object, captured before any repair */
	uintptr_t obj, obj_fp, slab_base, slab_fp;
	unsigned int slab_objects, slab_inuse;
	bool have_object, have_tracks;
	struct track track[2];
	unsigned int nsec, nbytes;
	struct dump_section sec[4];
	uint8_t bytes[DUMP_OBJECT + 3 * DUMP_EDGE];
	char trace[160];	/* T: one line */
	bool trace_dump;	/* T on free: dump the object too */
};

static void report_init(struct report *r, const struct uslub_cache *s,
			const char *func)
{
	r->s = s;
	r->func = func;
	r->addr = 0;
	r->nr = 0;
	r->have_object = false;
	r->have_tracks = false;
	r->nsec = 0;
	r->nbytes = 0;
	r->trace[0] = '\0';
	r->trace_dump = false;
}

static void snap_section(struct report *r, const char *label, const void *p,
			 unsigned int total, unsigned int max)
{
	struct dump_section *d = &r->sec[r->nsec++];

	d->label = label;
	d->addr = (uintptr_t)p;
	d->total = total;
	d->len = MIN(total, max);
	d->at = r->nbytes;
	memcpy(r->bytes + r->nbytes, p, d->len);
	r->nbytes += d->len;
}

/* The object as it is now, once per report (before the first repair). */
static void snap_object(struct report *r, const struct slab *slab, void *obj)
{
	const struct uslub_cache *s = r->s;
	char *p = obj;

	if (r->have_object)
		return;
	r->have_object = true;
	r->obj = (uintptr_t)obj;
	r->obj_fp = (uintptr_t)get_freepointer(s, obj);
	r->slab_base = (uintptr_t)page_address(slab);
	r->slab_fp = (uintptr_t)READ_ONCE(slab->freelist);
	r->slab_objects = slab->objects;
	r->slab_inuse = slab->inuse;
	if (s->flags & USLUB_RED_ZONE)
		snap_section(r, "Redzone ", p - s->red_left_pad,
			     s->red_left_pad, DUMP_EDGE);
	snap_section(r, "Object  ", p, s->object_size, DUMP_OBJECT);
	if (s->flags & USLUB_RED_ZONE)
		snap_section(r, "Redzone ", p + s->object_size,
			     s->inuse - s->object_size, DUMP_EDGE);
	if (pad_len(s))
		snap_section(r, "Padding ", p + s->pad_off, pad_len(s),
			     DUMP_EDGE);
	if (s->flags & USLUB_STORE_USER) {
		memcpy(r->track, get_track(s, obj, 0), sizeof(r->track));
		r->have_tracks = true;
	}
}

static struct problem *add_problem(struct report *r)
{
	struct problem *p = &r->p[r->nr < REPORT_PROBLEMS ? r->nr : REPORT_PROBLEMS - 1];

	if (r->nr < REPORT_PROBLEMS)
		r->nr++;
	p->info[0] = '\0';
	return p;
}

/*
 * The kernel's check_bytes_and_report: every byte of [start, start+len)
 * should be val.  Otherwise note where, snapshot the object, restore.
 */
static bool check_bytes(struct report *r, const struct slab *slab, void *obj,
			const char *what, uint8_t *start, uint8_t val,
			size_t len)
{
	uint8_t *fault = NULL, *end;
	struct problem *p;
	size_t i;

	for (i = 0; i < len; i++)
		if (start[i] != val) {
			fault = start + i;
			break;
		}
	if (!fault)
		return true;
	for (end = start + len; end > fault && end[-1] == val; end--)
		;
	snap_object(r, slab, obj);
	p = add_problem(r);
	log_format(p->bug, sizeof(p->bug), "%s overwritten", what);
	log_format(p->info, sizeof(p->info),
		   "0x%lx-0x%lx @offset=%ld. First byte 0x%x instead of 0x%x",
		   (unsigned long)fault, (unsigned long)(end - 1),
		   (long)(fault - (uint8_t *)obj), *fault, val);
	log_format(p->fix, sizeof(p->fix), "Restoring %s 0x%lx-0x%lx=0x%x",
		   what, (unsigned long)fault, (unsigned long)(end - 1), val);
	memset(fault, val, (size_t)(end - fault));
	return false;
}

/* Problems without bytes to compare: not freed, chain cut, ... */
static void problem(struct report *r, const struct slab *slab, void *obj,
		    const char *bug, const char *fix)
{
	struct problem *p;

	if (obj)
		snap_object(r, slab, obj);
	p = add_problem(r);
	log_format(p->bug, sizeof(p->bug), "%s", bug);
	log_format(p->fix, sizeof(p->fix), "%s", fix);
}

/*
 * The kernel's check_object: red zones (val: RED_ACTIVE for an allocated
 * object, RED_INACTIVE for a free one), poison of a free object, padding,
 * and the free pointer of a free object.  Repairs as it goes.
 */
static bool check_object(struct report *r, struct slab *slab, void *obj,
			 uint8_t val)
{
	const struct uslub_cache *s = r->s;
	uint8_t *p = obj;
	bool ok = true;

	if (s->flags & USLUB_RED_ZONE) {
		ok &= check_bytes(r, slab, obj, "Left Redzone",
				  p - s->red_left_pad, val, s->red_left_pad);
		ok &= check_bytes(r, slab, obj, "Right Redzone",
				  p + s->object_size, val,
				  s->inuse - s->object_size);
		if (val == RED_ACTIVE && get_orig_size(s, obj) < s->object_size)
			ok &= check_bytes(r, slab, obj, "kmalloc Redzone",
					  p + get_orig_size(s, obj), val,
					  s->object_size - get_orig_size(s, obj));
	}
	if (object_poison(s) && val == RED_INACTIVE) {
		ok &= check_bytes(r, slab, obj, "Poison", p, POISON_FREE,
				  s->object_size - 1);
		ok &= check_bytes(r, slab, obj, "End Poison",
				  p + s->object_size - 1, POISON_END, 1);
	}
	if ((s->flags & (USLUB_POISON | USLUB_RED_ZONE)) && pad_len(s))
		ok &= check_bytes(r, slab, obj, "Object padding",
				  p + s->pad_off, POISON_INUSE, pad_len(s));
	if (val == RED_INACTIVE &&
	    !valid_pointer(s, slab, get_freepointer(s, obj))) {
		problem(r, slab, obj, "Freepointer corrupt",
			"Isolate corrupted freechain");
		set_freepointer(s, obj, NULL);
		ok = false;
	}
	return ok;
}

static void set_counters(struct slab *slab, void *freelist, unsigned int inuse)
{
	union slab_counters cnt = { .counters = READ_ONCE(slab->counters) };

	cnt.inuse = inuse;
	WRITE_ONCE(slab->freelist, freelist);
	WRITE_ONCE(slab->counters, cnt.counters);
}

/*
 * The kernel's on_freelist: is obj on slab's free chain?  Walks at most
 * objects entries; a bad pointer or a too long chain is reported and the
 * chain cut there (the objects after it are lost, never handed out
 * twice), and inuse made to agree with what is left.
 */
static bool on_freelist(struct report *r, struct slab *slab, const void *obj)
{
	const struct uslub_cache *s = r->s;
	void *p = slab->freelist, *prev = NULL;
	unsigned int nr = 0;

	while (p && nr <= slab->objects) {
		if (p == obj)
			return true;
		if (!valid_pointer(s, slab, p)) {
			if (prev) {
				problem(r, slab, prev, "Freechain corrupt",
					"Isolate corrupted freechain");
				set_freepointer(s, prev, NULL);
			} else {
				problem(r, slab, NULL, "Freepointer corrupt",
					"Isolate corrupted freechain");
				WRITE_ONCE(slab->freelist, NULL);
			}
			break;
		}
		prev = p;
		p = get_freepointer(s, p);
		nr++;
	}
	if (nr > slab->objects) {
		problem(r, slab, NULL, "Freelist cycle", "Isolate corrupted freechain");
		WRITE_ONCE(slab->freelist, NULL);
		nr = 0;
	}
	if (slab->inuse != slab->objects - nr &&
	    (s->flags & USLUB_CONSISTENCY_CHECKS)) {
		struct problem *q = add_problem(r);

		log_format(q->bug, sizeof(q->bug), "Wrong object count");
		log_format(q->info, sizeof(q->info),
			   "Counter is %u but counted were %u",
			   slab->inuse, slab->objects - nr);
		log_format(q->fix, sizeof(q->fix), "Object count adjusted");
		set_counters(slab, slab->freelist, slab->objects - nr);
	}
	return false;
}

/* ---- Printing (no lock held, no allocation) -------------------------- */

static void print_sym(struct log_buf *b, uintptr_t addr)
{
	const char *name;
	uintptr_t off;

	if (os_symbolize(addr, &name, &off))
		log_buf_printf(b, "%s+%#lx", name, (unsigned long)off);
	else
		log_buf_printf(b, "%#lx", (unsigned long)addr);
}

static void print_track(struct log_buf *b, const char *what,
			const struct track *t)
{
	unsigned int i, from = 0;

	if (!t->addr)
		return;
	log_buf_printf(b, "INFO: %s in ", what);
	print_sym(b, t->addr);
	log_buf_printf(b, " age=%lu tid=%d\n",
		       (unsigned long)(os_now_ms() - t->when), t->tid);
	/* The frames inside uslub come first: start after the caller. */
	for (i = 0; i < t->nr; i++)
		if (t->stack[i] == t->addr) {
			from = i + 1;
			break;
		}
	for (i = from; i < t->nr; i++)
		log_buf_frame(b, t->stack[i]);
}

static void print_dump(struct log_buf *b, const struct report *r,
		       const struct dump_section *d)
{
	unsigned int i, j;

	for (i = 0; i < d->len; i += 16) {
		const uint8_t *q = r->bytes + d->at + i;
		unsigned int n = MIN(16u, d->len - i);

		log_buf_printf(b, "%s %016lx:", d->label,
			       (unsigned long)(d->addr + i));
		for (j = 0; j < 16; j++) {
			if (j < n)
				log_buf_printf(b, " %02x", q[j]);
			else
				log_buf_printf(b, "   ");
		}
		log_buf_printf(b, "  ");
		for (j = 0; j < n; j++)
			log_buf_printf(b, "%c", q[j] >= 0x20 && q[j] < 0x7f ?
				       q[j] : '.');
		log_buf_printf(b, "\n");
	}
	if (d->len < d->total)
		log_buf_printf(b, "%s ... %u more bytes\n", d->label,
			       d->total - d->len);
}

static void print_object(struct log_buf *b, const struct report *r)
{
	unsigned int i;

	if (r->have_tracks) {
		print_track(b, "Allocated", &r->track[TRACK_ALLOC]);
		print_track(b, "Freed", &r->track[TRACK_FREE]);
	}
	log_buf_printf(b, "INFO: Slab 0x%lx objects=%u used=%u fp=0x%lx\n",
		       (unsigned long)r->slab_base, r->slab_objects,
		       r->slab_inuse, (unsigned long)r->slab_fp);
	log_buf_printf(b, "INFO: Object 0x%lx @offset=%lu fp=0x%lx\n\n",
		       (unsigned long)r->obj,
		       (unsigned long)(r->obj - r->slab_base),
		       (unsigned long)r->obj_fp);
	for (i = 0; i < r->nsec; i++)
		print_dump(b, r, &r->sec[i]);
}

/*
 * The report's first line, in the words of the invalid-pointer reports:
 * the entry point, the cache, the address, the first problem.  Then the
 * stack of the call that found it, innermost first (the kernel's
 * dump_stack), from this function's caller on.
 */
static __always_inline void print_summary(struct log_buf *b,
					  const struct report *r)
{
	uintptr_t stack[REPORT_FRAMES];
	unsigned int i, n;
	uintptr_t addr = r->have_object ? r->obj : r->addr;

	log_buf_printf(b, "uslub: %s: %s ", r->func, r->s->name);
	if (addr)
		log_buf_printf(b, "object %#lx", (unsigned long)addr);
	else
		log_buf_printf(b, "slab");
	log_buf_printf(b, ": %s", r->p[0].bug);
	if (r->p[0].info[0])
		log_buf_printf(b, " (%s)", r->p[0].info);
	if (r->nr > 1)
		log_buf_printf(b, " and %u more", r->nr - 1);
	log_buf_printf(b, "\n");
	n = os_stack_capture(stack, REPORT_FRAMES);
	for (i = 1; i < n; i++)	/* stack[0]: report_print, where this is */
		log_buf_frame(b, stack[i]);
}

static __noinline void report_print(const struct report *r)
{
	struct log_buf b;
	unsigned int i;

	if (!r->nr && !r->trace[0])
		return;
	log_heap_bug(r->nr);
	log_buf_init(&b, log_get_error_fd());
	if (r->nr)
		print_summary(&b, r);
	if (r->trace[0]) {
		log_buf_printf(&b, "%s\n", r->trace);
		if (r->trace_dump && r->have_object)
			for (i = 0; i < r->nsec; i++)
				if (!strcmp(r->sec[i].label, "Object  "))
					print_dump(&b, r, &r->sec[i]);
	}
	for (i = 0; i < r->nr; i++) {
		const struct problem *p = &r->p[i];

		log_buf_printf(&b, "======================================"
			       "=======================================\n");
		log_buf_printf(&b, "BUG %s: %s\n", r->s->name, p->bug);
		log_buf_printf(&b, "--------------------------------------"
			       "---------------------------------------\n\n");
		if (p->info[0])
			log_buf_printf(&b, "INFO: %s\n", p->info);
		if (r->have_object)
			print_object(&b, r);
		log_buf_printf(&b, "FIX %s: %s\n\n", r->s->name, p->fix);
	}
	log_buf_flush(&b);
	if (r->nr && options_abort_debug())
		abort();
}

void debug_print_alloc_track(const struct uslub_cache *s, const void *obj)
{
	struct log_buf b;
	struct track t;

	if (!(s->flags & USLUB_STORE_USER))
		return;
	memcpy(&t, get_track(s, (void *)obj, TRACK_ALLOC), sizeof(t));
	log_buf_init(&b, log_get_error_fd());
	print_track(&b, "Allocated", &t);
	log_buf_flush(&b);
}

/* ---- Slabs ----------------------------------------------------------- */

/*
 * A new slab of a debug cache: unfrozen, every object free and in its
 * inactive state, on no list yet.  Its contents are set before the
 * descriptor says it is a slab of s, so debug_validate (which finds slabs
 * through the descriptors) never sees a half-made one.
 */
static struct slab *new_debug_slab(struct uslub_cache *s, struct page_cache *pc)
{
	struct slab *slab = page_alloc(pc, s->order);
	union slab_counters cnt = { .counters = 0 };
	char *base;
	unsigned int i;

	if (!slab)
		return NULL;
	base = page_address(slab);
	if (s->flags & (USLUB_POISON | USLUB_RED_ZONE))
		memset(base, POISON_INUSE, PAGE_SIZE << s->order);
	for (i = 0; i < s->objects; i++) {
		void *p = debug_object(s, base, i);

		if (s->ctor)
			s->ctor(p);
		set_orig_size(s, p, s->object_size);
		init_object(s, p, RED_INACTIVE);
		if (s->flags & USLUB_STORE_USER)
			memset(get_track(s, p, 0), 0, 2 * sizeof(struct track));
		set_freepointer(s, p, i + 1 < s->objects ?
				debug_object(s, base, i + 1) : NULL);
	}
	page_prep_block(slab, s->order, (uint16_t)(s->kmalloc_idx << CPU_SHIFT));
	slab->next = NULL;
	cnt.objects = s->objects;
	slab->freelist = debug_object(s, base, 0);
	slab->counters = cnt.counters;
	WRITE_ONCE(slab->cache, s);
	__atomic_store_n(&slab->flags, PG_slab, __ATOMIC_RELEASE);
	atomic_add(s->nr_slabs, 1);
	return slab;
}

static void trace_line(struct report *r, const char *what, const void *obj,
		       const struct slab *slab)
{
	if (!(r->s->flags & USLUB_TRACE))
		return;
	log_format(r->trace, sizeof(r->trace),
		   "TRACE %s %s 0x%lx inuse=%u fp=0x%lx", r->s->name, what,
		   (unsigned long)obj, slab->inuse,
		   (unsigned long)READ_ONCE(slab->freelist));
}

/* ---- Allocation and free --------------------------------------------- */

void *debug_alloc(struct uslub_cache *s, struct kmem_cache_cpu *c,
		  struct page_cache *pc, size_t orig_size, uintptr_t caller)
{
	struct report r;
	struct track t;
	struct slab *slab;
	void *obj, *next;

	track_capture(s, &t, caller);
	report_init(&r, s, "alloc");
	lock_acquire(&s->list_lock);
	for (;;) {
		if (list_empty(&s->partial)) {
			lock_release(&s->list_lock);
			slab = new_debug_slab(s, pc);
			if (!slab)
				return NULL;
			stat(c, ALLOC_SLAB);
			lock_acquire(&s->list_lock);
			slab_add_partial_locked(s, slab, false);
		}
		slab = list_first_entry(&s->partial, struct slab, slab_list);
		obj = slab->freelist;
		if (obj && valid_pointer(s, slab, obj))
			break;
		/* No usable object: the counters lie or the chain is cut. */
		problem(&r, slab, NULL, obj ? "Freepointer corrupt" :
			"Slab on the partial list without free objects",
			"Isolate slab: its remaining objects are lost");
		set_counters(slab, NULL, slab->objects);
		slab_remove_partial_locked(s, slab);
	}
	check_object(&r, slab, obj, RED_INACTIVE);
	next = get_freepointer(s, obj);
	set_counters(slab, next, slab->inuse + 1u);
	if (!next || slab->inuse == slab->objects) {
		if (next) {		/* more free than the count allows */
			problem(&r, slab, NULL, "Wrong object count",
				"Isolate corrupted freechain");
			WRITE_ONCE(slab->freelist, NULL);
		}
		slab_remove_partial_locked(s, slab);
	}
	set_orig_size(s, obj, (unsigned int)MIN(orig_size,
						 (size_t)s->object_size));
	init_object(s, obj, RED_ACTIVE);
	if (s->flags & USLUB_STORE_USER)
		memcpy(get_track(s, obj, TRACK_ALLOC), &t, sizeof(t));
	trace_line(&r, "alloc", obj, slab);
	lock_release(&s->list_lock);
	report_print(&r);
	return obj;
}

void debug_free(const char *func, struct uslub_cache *s,
		struct uslub_cache *want, struct kmem_cache_cpu *c,
		struct page_cache *pc, struct slab *slab, void *obj,
		uintptr_t caller)
{
	struct report r;
	struct track t;
	struct problem *p;
	void *prior;
	bool discard = false;

	track_capture(s, &t, caller);
	report_init(&r, s, func);
	r.addr = (uintptr_t)obj;
	lock_acquire(&s->list_lock);
	if (want && want != s) {
		p = add_problem(&r);
		log_format(p->bug, sizeof(p->bug), "Wrong slab cache");
		log_format(p->info, sizeof(p->info),
			   "0x%lx freed to cache %s but it is an object of %s",
			   (unsigned long)obj, want->name, s->name);
		log_format(p->fix, sizeof(p->fix), "Object at 0x%lx not freed",
			   (unsigned long)obj);
		goto out;
	}
	if (slab_object_index(s, slab, obj) < 0) {
		p = add_problem(&r);
		log_format(p->bug, sizeof(p->bug), "Invalid object pointer 0x%lx",
			   (unsigned long)obj);
		log_format(p->info, sizeof(p->info),
			   "0x%lx is inside slab 0x%lx but not at an object start",
			   (unsigned long)obj, (unsigned long)page_address(slab));
		log_format(p->fix, sizeof(p->fix), "Object at 0x%lx not freed",
			   (unsigned long)obj);
		goto out;
	}
	if (on_freelist(&r, slab, obj)) {
		char fix[64];

		log_format(fix, sizeof(fix), "Object at 0x%lx not freed",
			   (unsigned long)obj);
		problem(&r, slab, obj, "Object already free", fix);
		goto out;
	}
	check_object(&r, slab, obj, RED_ACTIVE);
	if (s->flags & USLUB_TRACE) {
		snap_object(&r, slab, obj);
		r.trace_dump = true;
	}
	if (s->flags & USLUB_STORE_USER)
		memcpy(get_track(s, obj, TRACK_FREE), &t, sizeof(t));
	init_object(s, obj, RED_INACTIVE);
	prior = slab->freelist;
	set_freepointer(s, obj, prior);
	set_counters(slab, obj, slab->inuse - 1u);
	trace_line(&r, "free", obj, slab);
	if (!prior)			/* full -> partial */
		slab_add_partial_locked(s, slab, true);
	if (!slab->inuse && s->nr_partial > s->min_partial) {
		slab_remove_partial_locked(s, slab);
		discard = true;
	}
	stat(c, FREE_SLOWPATH);
out:
	if (discard)		/* under the lock: see debug_validate */
		slab_discard(s, c, pc, slab);
	lock_release(&s->list_lock);
	report_print(&r);
}

size_t debug_object_size(const struct uslub_cache *s, const void *obj)
{
	return get_orig_size(s, obj);
}

void debug_resize(struct uslub_cache *s, void *obj, size_t size)
{
	unsigned int orig = (unsigned int)MIN(size, (size_t)s->object_size);

	if (!s->orig_off)
		return;
	lock_acquire(&s->list_lock);	/* validation reads it */
	set_orig_size(s, obj, orig);
	memset((char *)obj + orig, RED_ACTIVE, s->object_size - orig);
	lock_release(&s->list_lock);
}

/* ---- Validation ------------------------------------------------------ */

/* Is d (a head descriptor) a slab of s right now?  Relaxed reads: other
 * caches' slabs change under us. */
static bool slab_of(const struct slab *d, const struct uslub_cache *s)
{
	return (block_flags_acquire(d) & PG_slab) &&
	       READ_ONCE(d->head) == d && READ_ONCE(d->cache) == s;
}

/*
 * A free object cut off its chain by an earlier repair: counted in use
 * but its red zones still say free.  Not reported again.
 */
static bool isolated(const struct uslub_cache *s, const void *obj)
{
	const uint8_t *p = obj;
	unsigned int i;

	if (!(s->flags & USLUB_RED_ZONE))
		return false;
	for (i = 1; i <= s->red_left_pad; i++)
		if (p[-(long)i] != RED_INACTIVE)
			return false;
	for (i = s->object_size; i < s->inuse; i++)
		if (p[i] != RED_INACTIVE)
			return false;
	return true;
}

/*
 * Check slab's objects from *next on, under list_lock; stop after the
 * first object with a problem so the report is printed unlocked.
 * Returns false when the slab is done.
 */
static bool validate_slab_locked(struct report *r, struct slab *slab,
				 unsigned int *next)
{
	const struct uslub_cache *s = r->s;
	uint64_t map[(MAX_OBJS_PER_SLAB + 64) / 64];
	char *base = page_address(slab);
	unsigned int i;
	void *p;

	/* *next: 0 before the free chain is checked, then 1 + the next
	 * object to check. */
	if (*next == 0) {
		*next = 1;
		on_freelist(r, slab, NULL);
		if (r->nr)
			return true;
	}
	memset(map, 0, DIV_ROUND_UP(slab->objects, 64) * sizeof(map[0]));
	for (p = slab->freelist; p; p = get_freepointer(s, p)) {
		long k = slab_object_index(s, slab, p);

		if (k < 0)
			break;		/* on_freelist cut it already */
		map[k / 64] |= 1ULL << (k % 64);
	}
	for (i = *next - 1; i < slab->objects; i++) {
		bool is_free = map[i / 64] & (1ULL << (i % 64));
		void *obj = debug_object(s, base, i);

		if (!is_free && isolated(s, obj))
			continue;
		check_object(r, slab, obj, is_free ? RED_INACTIVE : RED_ACTIVE);
		if (r->nr) {
			*next = i + 2;
			return true;
		}
	}
	if (s->flags & (USLUB_POISON | USLUB_RED_ZONE)) {
		size_t used = (size_t)slab->objects * s->size;
		uint8_t *tail = (uint8_t *)base + used;
		size_t len = (PAGE_SIZE << s->order) - used, k;

		for (k = 0; k < len; k++)
			if (tail[k] != POISON_INUSE) {
				struct problem *q = add_problem(r);

				log_format(q->bug, sizeof(q->bug),
					   "Slab padding overwritten");
				log_format(q->info, sizeof(q->info),
					   "0x%lx @offset=%lu. First byte 0x%x "
					   "instead of 0x%x", (unsigned long)(tail + k),
					   (unsigned long)(used + k), tail[k],
					   POISON_INUSE);
				log_format(q->fix, sizeof(q->fix),
					   "Restoring slab padding 0x%lx-0x%lx=0x%x",
					   (unsigned long)(tail + k),
					   (unsigned long)(tail + len - 1),
					   POISON_INUSE);
				memset(tail + k, POISON_INUSE, len - k);
				break;
			}
	}
	*next = slab->objects + 1;
	return false;
}

/* A slab of a cache without debug flags: only the free chain of a slab on
 * s->partial can be read safely (a cpu slab's and a cpu partial slab's
 * belong to their thread). */
static void validate_plain_locked(struct report *r, struct slab *slab)
{
	if (slab->on_partial && !slab->frozen)
		on_freelist(r, slab, NULL);
}

/*
 * Every slab of s, found through the page descriptors.  A slab read under
 * list_lock is whole: a new one is published (flags, release) only once
 * made, and slabs are given back (debug_free, slab_shrink_partial,
 * slab_release_all) before list_lock is released, so a descriptor that
 * says "slab of s" under the lock is not being freed or reused meanwhile.
 */
unsigned long debug_validate(struct uslub_cache *s, const char *func)
{
	unsigned int reg_i, nreg = region_count();
	unsigned long problems = 0, i, fresh;
	struct report r;

	for (reg_i = 0; reg_i < nreg; reg_i++) {
		struct region *reg = region_get(reg_i);
		struct slab *desc0 = (struct slab *)reg->base;

		lock_acquire(&page_lock);
		fresh = reg->fresh;
		lock_release(&page_lock);
		for (i = REGION_META_PAGES; i < fresh; i++) {
			struct slab *d = desc0 + i;
			unsigned int next = 0;
			bool more;

			if (!slab_of(d, s))
				continue;
			do {
				report_init(&r, s, func);
				lock_acquire(&s->list_lock);
				more = false;
				if (slab_of(d, s)) {
					if (cache_debug(s))
						more = validate_slab_locked(&r, d, &next);
					else
						validate_plain_locked(&r, d);
				}
				lock_release(&s->list_lock);
				problems += r.nr;
				report_print(&r);
			} while (more);
			i += (1UL << READ_ONCE(d->order)) - 1;
		}
	}
	return problems;
}
