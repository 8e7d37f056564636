/*
 * prof.c - L5: the sampling heap profiler (prof.h).
 *
 * Sampling: each thread counts the bytes it allocates down from an
 * exponentially distributed interval of mean prof_sample (xorshift64*,
 * seeded per thread), one countdown per kmalloc class (in struct
 * thread_cache, bytes of the class's size: prof.h tells how the fast path
 * is made to stop at the allocation that crosses zero) and one for large
 * and huge blocks (bytes asked for); the allocation that crosses zero is
 * sampled.  An allocation of s bytes is then sampled with probability
 * 1 - exp(-s / prof_sample), and counts as w = 1 / (1 - exp(-s /
 * prof_sample)) objects of the size it asked for (gperftools' and
 * jemalloc's unbiasing), so that the expected totals are the true ones.
 *
 * Records: the stack table (deduplicated stacks, their scaled live and
 * allocated totals) and the object table (address -> size, stack;
 * linear probing, deletion by backward shift), both fixed-size mappings
 * from os_map that fill in as they are touched, all under prof_lock,
 * taken only by sampled allocations, frees of sampled objects and dumps.
 * prof_lock is a leaf: nothing is locked or allocated under it.  A free
 * learns without the lock whether its object may be sampled: filter
 * holds, per address hash, the number of sampled objects whose address
 * has that hash; zero means no.  Stacks are captured before the lock,
 * by a thread holding no uslub lock (others' allocations are uslub's own
 * and go unsampled).  A sample that finds a table full is dropped and
 * counted.
 *
 * Entry points: prof_init, prof_kmalloc, prof_slot_push/open/close,
 * prof_alloc_sample, prof_free_sample, prof_realloc_sample, prof_dump,
 * prof_exit.
 */
#include <errno.h>
#include <string.h>

#include "prof.h"
#include "alloc.h"
#include "log.h"
#include "options.h"
#include "os.h"
#include "sheaf.h"

/* ---- Limits ---------------------------------------------------------- */

#define PROF_FRAMES	32		/* frames kept per stack */
#define PROF_CAPTURE	48		/* captured: allocator frames too */
#define STACK_SLOTS	(1u << 15)	/* distinct stacks */
#define OBJ_SLOTS	(1u << 20)	/* live sampled objects, 3/4 used */
#define WEIGHT_SHIFT	16		/* object counts: fixed point */

/* ---- Types ----------------------------------------------------------- */

struct prof_stack {			/* under prof_lock */
	uint64_t hash;			/* 0: slot unused */
	unsigned int depth;
	uintptr_t pc[PROF_FRAMES];	/* return addresses, innermost first */
	uint64_t live_count;		/* scaled, << WEIGHT_SHIFT */
	uint64_t live_bytes;		/* scaled */
	uint64_t alloc_count;		/* scaled, << WEIGHT_SHIFT */
	uint64_t alloc_bytes;		/* scaled */
	uint64_t live_samples;		/* sampled objects still live */
};

struct prof_obj {			/* under prof_lock */
	uintptr_t addr;			/* 0: slot unused */
	size_t size;			/* bytes asked for */
	uint64_t weight;		/* objects it stands for, fixed point */
	uint32_t stack;			/* index in stacks */
};

struct prof_tls {
	uint64_t rng;			/* 0: not seeded yet */
	long left;			/* large blocks' bytes to the next
					   sample */
	bool busy;			/* inside the profiler */
};

/* ---- Globals --------------------------------------------------------- */

bool prof_active;
struct lock prof_lock = LOCK_INITIALIZER;

static __thread_ie struct prof_tls prof_tls;
static struct prof_stack *stacks;	/* os_map'd on first sample */
static struct prof_obj *objs;
static unsigned long nr_stacks, nr_objs;	/* under prof_lock */
static unsigned long dropped;		/* under prof_lock */
static unsigned long dump_seq;		/* under prof_lock */
static uint64_t seed_seq;		/* atomic */
uint32_t prof_filter[PROF_FILTER_SLOTS];	/* atomic; written under prof_lock */

/* ---- Arithmetic without libm ------------------------------------------ */

#define LN2	0.6931471805599453

/* ln(x) for 0 < x <= 1 (a normal double): x = m * 2^e with m near 1,
 * ln m = 2 atanh((m - 1) / (m + 1)), whose series converges fast. */
static double prof_ln(double x)
{
	double m, z, z2, term, sum = 0;
	uint64_t bits;
	int e, k;

	memcpy(&bits, &x, sizeof(bits));
	e = (int)((bits >> 52) & 0x7ff) - 1023;
	bits = (bits & ((1ULL << 52) - 1)) | (1023ULL << 52);
	memcpy(&m, &bits, sizeof(m));
	if (m > 1.4142135623730951) {
		m *= 0.5;
		e++;
	}
	z = (m - 1) / (m + 1);
	z2 = z * z;
	term = z;
	for (k = 1; k < 40; k += 2) {
		sum += term / k;
		term *= z2;
	}
	return 2 * sum + e * LN2;
}

/* exp(-x) for x >= 0. */
static double prof_exp_neg(double x)
{
	double r, term = 1, sum = 1;
	int k, n;

	if (x > 700)
		return 0;
	k = (int)(x / LN2);
	r = x - k * LN2;
	for (n = 1; n < 24; n++) {
		term *= -r / n;
		sum += term;
	}
	while (k-- > 0)
		sum *= 0.5;
	return sum;
}

/* How many objects of size bytes one sample stands for, << WEIGHT_SHIFT. */
static uint64_t sample_weight(size_t size)
{
	double x = (double)size / (double)uslub_opt.prof_sample;
	double p = x < 1e-3 ? x * (1 - x / 2 * (1 - x / 3)) :
			      1 - prof_exp_neg(x);

	return (uint64_t)((double)(1 << WEIGHT_SHIFT) / p + 0.5);
}

static uint64_t scaled_bytes(uint64_t weight, size_t size)
{
	return (uint64_t)((double)weight * (double)size /
			  (double)(1 << WEIGHT_SHIFT) + 0.5);
}

/* ---- Per-thread sampling ---------------------------------------------- */

static uint64_t rng_next(struct prof_tls *t)
{
	uint64_t x = t->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	t->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* prof_seed=N makes runs repeat: thread k (in order of first sample)
 * draws from mix(N + k); else the process's random bytes, the thread
 * and the time. */
static void rng_seed(struct prof_tls *t)
{
	uint64_t k = __atomic_fetch_add(&seed_seq, 1, __ATOMIC_RELAXED);
	const unsigned char *r = os_exec_random();
	uint64_t s = uslub_opt.prof_seed;

	if (!s) {
		if (r)
			memcpy(&s, r, sizeof(s));
		s ^= os_now_ns() ^ ((uint64_t)os_gettid() << 32) ^
		     (uintptr_t)t;
	}
	t->rng = mix64(s + k) | 1;
}

/* An exponential interval of mean prof_sample bytes, at least 1. */
static long next_interval(struct prof_tls *t)
{
	double u = (double)((rng_next(t) >> 11) + 1) * 0x1p-53;	/* (0,1] */
	double bytes = -prof_ln(u) * (double)uslub_opt.prof_sample;

	return bytes < 1 ? 1 : bytes > 0x1p62 ? (long)1 << 62 : (long)bytes;
}

/* ---- Tables, under prof_lock ----------------------------------------- */

static size_t obj_slot(uintptr_t addr)
{
	return (size_t)(((addr >> 4) * 0xff51afd7ed558ccdULL) >> 40) &
	       (OBJ_SLOTS - 1);
}

static bool tables_ready_locked(void)
{
	if (!stacks)
		stacks = os_map(STACK_SLOTS * sizeof(*stacks));
	if (!objs)
		objs = os_map(OBJ_SLOTS * sizeof(*objs));
	return stacks && objs;
}

static uint64_t stack_hash(const uintptr_t *pc, unsigned int n)
{
	uint64_t h = n;
	unsigned int i;

	for (i = 0; i < n; i++)
		h = mix64(h ^ pc[i]);
	return h ? h : 1;
}

/* The index of the stack pc[0..n), entered if new; -1 if the table is
 * full. */
static long stack_get_locked(const uintptr_t *pc, unsigned int n)
{
	uint64_t h = stack_hash(pc, n);
	size_t i = (size_t)h & (STACK_SLOTS - 1);
	struct prof_stack *st;

	for (;; i = (i + 1) & (STACK_SLOTS - 1)) {
		st = &stacks[i];
		if (!st->hash)
			break;
		if (st->hash == h && st->depth == n &&
		    !memcmp(st->pc, pc, n * sizeof(*pc)))
			return (long)i;
	}
	if (nr_stacks >= STACK_SLOTS * 3 / 4)
		return -1;
	st->hash = h;
	st->depth = n;
	memcpy(st->pc, pc, n * sizeof(*pc));
	nr_stacks++;
	return (long)i;
}

static long obj_find_locked(uintptr_t addr)
{
	size_t i = obj_slot(addr);

	for (; objs[i].addr; i = (i + 1) & (OBJ_SLOTS - 1))
		if (objs[i].addr == addr)
			return (long)i;
	return -1;
}

/* Linear probing's deletion: later entries of the run move back into the
 * hole where their home slot allows. */
static void obj_delete_locked(size_t hole)
{
	size_t i = hole, home;

	for (;;) {
		i = (i + 1) & (OBJ_SLOTS - 1);
		if (!objs[i].addr)
			break;
		home = obj_slot(objs[i].addr);
		if (((i - home) & (OBJ_SLOTS - 1)) >=
		    ((i - hole) & (OBJ_SLOTS - 1))) {
			objs[hole] = objs[i];
			hole = i;
		}
	}
	objs[hole].addr = 0;
	nr_objs--;
}

static void stack_account_locked(const struct prof_obj *o, bool add)
{
	struct prof_stack *st = &stacks[o->stack];
	uint64_t b = scaled_bytes(o->weight, o->size);

	if (add) {
		st->live_count += o->weight;
		st->live_bytes += b;
		st->live_samples++;
	} else {
		st->live_count -= o->weight;
		st->live_bytes -= b;
		st->live_samples--;
	}
}

static void obj_insert_locked(const struct prof_obj *o)
{
	size_t i = obj_slot(o->addr);

	while (objs[i].addr)
		i = (i + 1) & (OBJ_SLOTS - 1);
	objs[i] = *o;
	nr_objs++;
	__atomic_fetch_add(&prof_filter[prof_filter_slot(o->addr)], 1,
			   __ATOMIC_RELAXED);
	stack_account_locked(o, true);
}

static void obj_remove_locked(size_t i)
{
	uintptr_t addr = objs[i].addr;

	stack_account_locked(&objs[i], false);
	obj_delete_locked(i);
	__atomic_fetch_sub(&prof_filter[prof_filter_slot(addr)], 1,
			   __ATOMIC_RELAXED);
}

/* ---- Hooks ----------------------------------------------------------- */

void prof_init(void)
{
	WRITE_ONCE(prof_active, uslub_opt.prof);
}

void prof_warm(void)
{
	if (READ_ONCE(prof_active))
		os_stack_warm();
}

/* Is pc inside an entry point of the malloc family (a dynamic symbol:
 * the preload library's, or the program's with -rdynamic)? */
static bool entry_frame(uintptr_t pc)
{
	static const char *const names[] = {
		"malloc", "calloc", "realloc", "reallocarray", "memalign",
		"aligned_alloc", "posix_memalign", "valloc", "pvalloc",
	};
	const char *sym;
	uintptr_t off;
	size_t i;

	if (!os_symbolize(pc, &sym, &off))
		return false;
	if (!strncmp(sym, "uslub_", 6) || !strncmp(sym, "__libc_", 7))
		return true;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(sym, names[i]))
			return true;
	return false;
}

/* The stack of the allocation, cut where the program called uslub: at
 * caller (the return address into the program, or into the entry point
 * that called a slow path) and past entry points. */
static unsigned int capture(uintptr_t *pc, uintptr_t caller)
{
	uintptr_t all[PROF_CAPTURE];
	unsigned int n = os_stack_capture(all, PROF_CAPTURE), i, first = 0;

	for (i = 0; i < n; i++) {
		if (all[i] == caller) {
			first = i;
			break;
		}
	}
	while (first + 1 < n && entry_frame(all[first]))
		first++;
	n = MIN(n - first, (unsigned int)PROF_FRAMES);
	memcpy(pc, all + first, n * sizeof(*pc));
	return n;
}

/* p (size bytes) was sampled, with probability 1 - exp(-basis / rate). */
static void record(void *p, size_t size, size_t basis, uintptr_t caller)
{
	struct prof_obj o = {
		.addr = (uintptr_t)p,
		.size = size,
		.weight = sample_weight(basis),
	};
	uintptr_t pc[PROF_FRAMES];
	unsigned int n = capture(pc, caller);
	struct prof_stack *st;
	long idx;

	if (!n) {			/* the unwinder's own first allocation */
		pc[0] = caller;
		n = 1;
	}
	lock_acquire(&prof_lock);
	if (!tables_ready_locked() || nr_objs >= OBJ_SLOTS * 3 / 4 ||
	    (idx = stack_get_locked(pc, n)) < 0) {
		dropped++;
		lock_release(&prof_lock);
		return;
	}
	st = &stacks[idx];
	st->alloc_count += o.weight;
	st->alloc_bytes += scaled_bytes(o.weight, size);
	o.stack = (uint32_t)idx;
	obj_insert_locked(&o);
	lock_release(&prof_lock);
}

static void record_outside(void *p, size_t size, size_t basis,
			   uintptr_t caller)
{
	struct prof_tls *t = &prof_tls;

	if (t->busy || lock_depth)	/* uslub's own allocations */
		return;
	t->busy = true;
	record(p, size, basis, caller);
	t->busy = false;
}

static struct prof_tls *tls_seeded(void)
{
	struct prof_tls *t = &prof_tls;

	if (unlikely(!t->rng)) {
		rng_seed(t);
		t->left = next_interval(t);
	}
	return t;
}

/* The thread's own countdown, over basis bytes per allocation. */
static void thread_countdown(void *p, size_t size, size_t basis,
			     uintptr_t caller)
{
	struct prof_tls *t = tls_seeded();

	t->left -= (long)MIN(basis, (size_t)1 << 62);
	if (t->left > 0)
		return;
	t->left = next_interval(t);
	record_outside(p, size, basis, caller);
}

/* Large and huge blocks. */
void prof_alloc_sample(void *p, size_t size, uintptr_t caller)
{
	thread_countdown(p, size, size, caller);
}

/* ---- The kmalloc classes' slots (prof.h) ------------------------------ */

/* Take the fast path's allocations since the slot was last seen off the
 * countdown.  A countdown at or below zero here is new (or the fast path
 * overran it, which the slots' discipline prevents): it starts afresh. */
static __always_inline void slot_sync(struct prof_slot *ps,
				      const struct kmem_cache_cpu *c,
				      size_t cs)
{
	unsigned long now = READ_ONCE(c->stat[ALLOC_PCS]);
	unsigned long pops = now - ps->base;

	ps->base = now;
	if (ps->left > 0 && pops < (1UL << 32))
		ps->left -= (long)(pops * cs);
	if (ps->left <= 0)
		ps->left = next_interval(tls_seeded());
}

/* Main may hold only objects the fast path can hand out before the
 * allocation that crosses zero: size * cs < left.  The others go back to
 * their slabs; then the fast path's free check fails again. */
static void slot_trim(struct uslub_cache *s, struct kmem_cache_cpu *c,
		      struct thread_cache *tc, const struct prof_slot *ps)
{
	unsigned long keep = ((unsigned long)ps->left - 1) / s->object_size;
	unsigned long n = cpu_size(c);

	if (keep < n) {
		slab_free_bulk(s, c, &tc->pcache, c->objects + keep,
			       (unsigned int)(n - keep));
		cpu_set_size(c, keep);
	}
	WRITE_ONCE(c->end, c->objects);	/* every free's fast path fails */
}

bool prof_slot_push(struct kmem_cache_cpu *c, void *p)
{
	struct prof_slot *ps = &thread_cache->prof[c->cpu_off >> CPU_SHIFT];
	size_t cs = c->cache->object_size;
	unsigned long n = cpu_size(c);

	if (ps->open)
		return false;
	WRITE_ONCE(c->end, c->objects);	/* a slot set up by this free */
	slot_sync(ps, c, cs);
	if (c->objects + n >= sheaf_end(c) ||
	    (n + 1) * cs >= (unsigned long)ps->left)
		return false;
	*c->top = p;
	cpu_set_size(c, n + 1);
	return true;
}

void prof_slot_open(struct kmem_cache_cpu *c)
{
	struct prof_slot *ps = &thread_cache->prof[c->cache->cpu_slot];

	if (!ps->open++)
		WRITE_ONCE(c->end, sheaf_end(c));
}

void prof_slot_close(struct kmem_cache_cpu *c)
{
	struct thread_cache *tc = thread_cache;
	struct uslub_cache *s = c->cache;
	struct prof_slot *ps = &tc->prof[s->cpu_slot];

	if (ps->open && --ps->open)
		return;
	slot_sync(ps, c, s->object_size);
	slot_trim(s, c, tc, ps);
}

void *prof_kmalloc(struct uslub_cache *s, size_t size, uslub_gfp_t gfp,
		   uintptr_t caller)
{
	struct thread_cache *tc = thread_cache;
	struct kmem_cache_cpu *c = &tc->kcpu[s->cpu_slot];
	bool opened = tc->live && prof_slot(c), sample = false;
	size_t cs = s->object_size;
	struct prof_slot *ps;
	void *p;

	if (opened) {
		slot_sync(&tc->prof[s->cpu_slot], c, cs);
		prof_slot_open(c);
	}
	p = cache_alloc_slow(s, gfp, caller);
	tc = thread_cache;		/* the first allocation makes it */
	c = &tc->kcpu[s->cpu_slot];
	if (!tc->live || !prof_slot(c)) {
		/* no thread state or no sheaf: every allocation comes here */
		if (p)
			thread_countdown(p, size, cs, caller);
		return p;
	}
	ps = &tc->prof[s->cpu_slot];
	if (opened && ps->open && --ps->open) {
		/* inside another slow path of this slot, which closes it */
		if (p)
			thread_countdown(p, size, cs, caller);
		return p;
	}
	if (!ps->left)			/* the slot is new */
		ps->left = next_interval(tls_seeded());
	/* A pop of the slow path counted as the fast path's is this one. */
	ps->base = READ_ONCE(c->stat[ALLOC_PCS]);
	if (p) {
		ps->left -= (long)cs;
		if (ps->left <= 0) {
			ps->left = next_interval(tls_seeded());
			sample = true;
		}
	}
	slot_trim(s, c, tc, ps);
	if (sample)
		record_outside(p, size, cs, caller);
	return p;
}

void prof_free_sample(const void *p)
{
	long i;

	lock_acquire(&prof_lock);
	i = obj_find_locked((uintptr_t)p);
	if (i >= 0)
		obj_remove_locked((size_t)i);
	lock_release(&prof_lock);
}

void prof_realloc_sample(const void *old, void *p, size_t size)
{
	struct prof_obj o;
	long i;

	if (!prof_maybe_sampled(old))
		return;
	lock_acquire(&prof_lock);
	i = obj_find_locked((uintptr_t)old);
	if (i >= 0) {
		o = objs[i];
		obj_remove_locked((size_t)i);
		o.addr = (uintptr_t)p;
		o.size = size;
		obj_insert_locked(&o);
	}
	lock_release(&prof_lock);
}

/* ---- The profile ------------------------------------------------------ */

static unsigned long count_of(uint64_t fixed)
{
	return (unsigned long)((fixed + (1 << (WEIGHT_SHIFT - 1))) >>
			       WEIGHT_SHIFT);
}

static void write_profile_locked(struct log_buf *b)
{
	unsigned long lc = 0, lb = 0, ac = 0, ab = 0;
	struct prof_stack *st;
	unsigned int i, k;

	for (i = 0; stacks && i < STACK_SLOTS; i++) {
		st = &stacks[i];
		if (!st->hash)
			continue;
		lc += count_of(st->live_count);
		lb += st->live_bytes;
		ac += count_of(st->alloc_count);
		ab += st->alloc_bytes;
	}
	/* "heapprofile": the counts are scaled already (pprof scales
	 * heap_v2 profiles itself, from their average object size). */
	log_buf_printf(b, "heap profile: %6lu: %8lu [%6lu: %8lu] @ heapprofile\n",
		       lc, lb, ac, ab);
	for (i = 0; stacks && i < STACK_SLOTS; i++) {
		st = &stacks[i];
		if (!st->hash)
			continue;
		log_buf_printf(b, "%6lu: %8lu [%6lu: %8lu] @",
			       count_of(st->live_count),
			       (unsigned long)st->live_bytes,
			       count_of(st->alloc_count),
			       (unsigned long)st->alloc_bytes);
		for (k = 0; k < st->depth; k++)
			log_buf_printf(b, " %#lx", (unsigned long)st->pc[k]);
		log_buf_printf(b, "\n");
	}
	log_buf_printf(b, "\nMAPPED_LIBRARIES:\n");
}

/* The profile and the memory map to fd: 0, or -1 with errno. */
static int write_to(int fd)
{
	struct log_buf b;
	int err;

	log_buf_init(&b, fd);
	lock_acquire(&prof_lock);
	write_profile_locked(&b);
	lock_release(&prof_lock);
	if (log_buf_flush(&b))
		return -1;
	err = os_copy_file("/proc/self/maps", fd);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

static int dump_to(const char *path)
{
	int fd, ret, err;

	fd = os_create(path);
	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	ret = write_to(fd);
	err = errno;
	os_close(fd);
	errno = err;
	return ret;
}

int prof_write(int fd)
{
	if (!READ_ONCE(prof_active)) {
		errno = EINVAL;
		return -1;
	}
	return write_to(fd);
}

int prof_dump(const char *path)
{
	char name[sizeof(uslub_opt.prof_prefix) + 64];
	unsigned long seq;

	if (!READ_ONCE(prof_active)) {
		errno = EINVAL;
		return -1;
	}
	if (!path) {
		lock_acquire(&prof_lock);
		seq = dump_seq++;
		lock_release(&prof_lock);
		log_format(name, sizeof(name), "%s.%d.%lu.heap",
			   uslub_opt.prof_prefix, os_getpid(), seq);
		path = name;
	}
	return dump_to(path);
}

/* ---- The leak report --------------------------------------------------- */

static void leak_print(struct log_buf *b, const struct prof_stack *st)
{
	const char *sym;
	uintptr_t off;
	unsigned int k;

	log_buf_printf(b, "Leak of about %lu bytes in %lu objects "
		       "(%lu sampled) allocated from:\n",
		       (unsigned long)st->live_bytes,
		       MAX(count_of(st->live_count), 1UL),
		       (unsigned long)st->live_samples);
	for (k = 0; k < st->depth; k++) {
		if (os_symbolize(st->pc[k], &sym, &off))
			log_buf_printf(b, "    #%u %#lx in %s+%#lx\n", k,
				       (unsigned long)st->pc[k], sym,
				       (unsigned long)off);
		else
			log_buf_printf(b, "    #%u %#lx\n", k,
				       (unsigned long)st->pc[k]);
	}
	log_buf_printf(b, "\n");
}

/* The stacks with live samples, largest first, to the error fd.  The
 * index array comes from os_map: the heap may be what is broken. */
static void leak_report_locked(void)
{
	unsigned long n = 0, i, j, total = 0, objects = 0;
	uint32_t *order = NULL, x;
	struct log_buf b;

	if (stacks)
		order = os_map(STACK_SLOTS * sizeof(*order));
	for (i = 0; order && i < STACK_SLOTS; i++)
		if (stacks[i].hash && stacks[i].live_samples)
			order[n++] = (uint32_t)i;
	for (i = 1; i < n; i++) {		/* insertion sort, by bytes */
		x = order[i];
		for (j = i; j > 0 && stacks[order[j - 1]].live_bytes <
					     stacks[x].live_bytes; j--)
			order[j] = order[j - 1];
		order[j] = x;
	}
	for (i = 0; i < n; i++) {
		total += stacks[order[i]].live_bytes;
		objects += count_of(stacks[order[i]].live_count);
	}
	log_buf_init(&b, log_get_error_fd());
	log_buf_printf(&b, "uslub: heap profile of pid %d at exit: about %lu "
		       "bytes in %lu objects still allocated, from %lu stacks "
		       "(sampled every %lu bytes)\n\n", os_getpid(), total,
		       objects, n, uslub_opt.prof_sample);
	for (i = 0; i < n; i++)
		leak_print(&b, &stacks[order[i]]);
	if (dropped)
		log_buf_printf(&b, "uslub: %lu samples dropped (tables full)\n",
			       dropped);
	log_buf_flush(&b);
	if (order)
		os_unmap(order, STACK_SLOTS * sizeof(*order));
}

void prof_exit(void)
{
	char name[sizeof(uslub_opt.prof_prefix) + 32];

	if (!READ_ONCE(prof_active))
		return;
	prof_tls.busy = true;		/* destructors may still allocate */
	log_format(name, sizeof(name), "%s.%d.heap", uslub_opt.prof_prefix,
		   os_getpid());
	if (dump_to(name))
		log_error("prof: cannot write %s: %s", name, strerror(errno));
	if (uslub_opt.prof_leak) {
		lock_acquire(&prof_lock);
		leak_report_locked();
		lock_release(&prof_lock);
	}
	prof_tls.busy = false;
}
