/*
 * Unit tests for RCU (lib/rcu.c, include/uslub.h): uslub_free_rcu frees
 * only after a grace period (never while a reader of another thread is
 * inside its critical section) and for good after uslub_rcu_barrier;
 * cache destroy waits for pending RCU frees; a discarded
 * SLAB_TYPESAFE_BY_RCU slab keeps its pages (and its objects' ctor state)
 * until a grace period ends, and a stray free into it is reported, not
 * followed; bad pointers given to uslub_free_rcu are reported; a child
 * forked with RCU work pending can still free after grace periods.
 * Every multithreaded test also runs under ThreadSanitizer.
 */
#include "test.h"

#include "alloc.h"
#include "options.h"
#include "pagemap.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAGIC		0x5ca1ab1edeadbeefULL

#if USLUB_CONFIG_TSAN
/* The child of test_fork_with_pending_rcu_work starts a new RCU worker;
 * ThreadSanitizer kills a child of a multithreaded fork that starts a
 * thread unless told otherwise. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "die_after_fork=0";
}
#endif

struct obj {
	uint64_t magic;			/* set by the ctor, kept by TYPESAFE */
	struct uslub_rcu_head rcu;
	char pad[104];
};

static void obj_ctor(void *p)
{
	((struct obj *)p)->magic = MAGIC;
}

static unsigned long active(const struct uslub_cache *s)
{
	unsigned long n;

	lock_acquire(&slab_mutex);
	n = cache_active_objects_locked(s);
	lock_release(&slab_mutex);
	return n;
}

/* ---- A reader that holds the read lock until told ------------------- */

enum { R_START, R_INSIDE, R_LEAVE, R_DONE };

struct reader {
	pthread_t thread;
	int state;			/* enum above, atomic */
	unsigned int delay_ms;		/* leave_later: then R_LEAVE */
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	uslub_rcu_register_thread();
	uslub_rcu_read_lock();
	__atomic_store_n(&r->state, R_INSIDE, __ATOMIC_RELEASE);
	while (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) != R_LEAVE)
		usleep(1000);
	uslub_rcu_read_unlock();
	uslub_rcu_unregister_thread();
	__atomic_store_n(&r->state, R_DONE, __ATOMIC_RELEASE);
	return NULL;
}

static void reader_enter(struct reader *r)
{
	r->state = R_START;
	if (pthread_create(&r->thread, NULL, reader_main, r) != 0)
		test_fail(true, __FILE__, __LINE__, "pthread_create", "reader");
	while (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) != R_INSIDE)
		usleep(1000);
}

static void reader_leave(struct reader *r)
{
	__atomic_store_n(&r->state, R_LEAVE, __ATOMIC_RELEASE);
	pthread_join(r->thread, NULL);
}

static void *leave_later_main(void *arg)
{
	struct reader *r = arg;

	usleep(r->delay_ms * 1000);
	__atomic_store_n(&r->state, R_LEAVE, __ATOMIC_RELEASE);
	return NULL;
}

/* Tell r to leave its critical section delay_ms from now. */
static pthread_t reader_leave_later(struct reader *r, unsigned int delay_ms)
{
	pthread_t t;

	r->delay_ms = delay_ms;
	if (pthread_create(&t, NULL, leave_later_main, r) != 0)
		test_fail(true, __FILE__, __LINE__, "pthread_create", "timer");
	return t;
}

/* ---- uslub_free_rcu -------------------------------------------------- */

TEST_BEGIN(test_free_rcu_waits_for_reader)
{
	struct uslub_cache *s = uslub_cache_create("rcu_obj", sizeof(struct obj),
						   0, 0, NULL);
	struct reader r;
	struct obj *o[8];
	unsigned int i;

	assert_ptr_not_null(s, "cache");
	reader_enter(&r);
	for (i = 0; i < 8; i++) {
		o[i] = uslub_cache_alloc(s, 0);
		assert_ptr_not_null(o[i], "object %u", i);
		uslub_free_rcu(o[i], &o[i]->rcu);
	}
	usleep(100 * 1000);	/* time enough for a worker that does not wait */
	expect_lu_eq(active(s), 8,
		     "no object freed while a reader is inside its section");
	reader_leave(&r);
	uslub_rcu_barrier();
	expect_lu_eq(active(s), 0, "every object freed after rcu_barrier");
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

TEST_BEGIN(test_free_rcu_kmalloc)
{
	struct uslub_cache *kc = &kmalloc_caches[kmalloc_index(200)];
	unsigned long before = active(kc);
	struct obj *o = uslub_kmalloc(200, 0);
	struct reader r;

	assert_ptr_not_null(o, "kmalloc");
	reader_enter(&r);
	uslub_free_rcu(o, &o->rcu);
	usleep(50 * 1000);
	expect_lu_eq(active(kc), before + 1, "kmalloc object still live");
	reader_leave(&r);
	uslub_rcu_barrier();
	expect_lu_eq(active(kc), before, "kmalloc object freed");
	uslub_free_rcu(NULL, NULL);	/* kfree_rcu(NULL) does nothing */
	uslub_rcu_barrier();
}
TEST_END

/* Destroy right after the frees, while the grace period still waits for
 * a reader: it must wait too, not report the objects as live. */
TEST_BEGIN(test_destroy_waits_for_free_rcu)
{
	struct uslub_cache *s = uslub_cache_create("rcu_destroy",
						   sizeof(struct obj), 0, 0,
						   NULL);
	struct reader r;
	pthread_t timer;
	struct obj *o;
	unsigned int i;

	assert_ptr_not_null(s, "cache");
	reader_enter(&r);
	for (i = 0; i < 200; i++) {
		o = uslub_cache_alloc(s, 0);
		assert_ptr_not_null(o, "object %u", i);
		uslub_free_rcu(o, &o->rcu);
	}
	timer = reader_leave_later(&r, 50);
	expect_d_eq(uslub_cache_destroy(s), 0,
		    "destroy waits for the pending RCU frees");
	pthread_join(timer, NULL);
	pthread_join(r.thread, NULL);
}
TEST_END

TEST_BEGIN(test_free_rcu_bad_pointers_reported)
{
	int saved = uslub_opt.abort_on_error;
	struct uslub_cache *kc = &kmalloc_caches[kmalloc_index(sizeof(struct obj))];
	unsigned long before = active(kc);
	struct obj *o = uslub_kmalloc(sizeof(*o), 0);
	struct uslub_rcu_head outside;
	struct test_capture cap;
	long on_stack[4];
	char err[2048];

	assert_ptr_not_null(o, "kmalloc");
	uslub_opt.abort_on_error = 0;
	test_capture_begin(&cap);
	uslub_free_rcu(on_stack, (struct uslub_rcu_head *)on_stack);
	uslub_free_rcu(o, &outside);
	test_capture_end(&cap, err, sizeof(err));
	uslub_opt.abort_on_error = saved;
	expect_str_contains(err, "uslub_free_rcu: invalid pointer",
			    "a foreign pointer is reported");
	expect_str_contains(err, "rcu_head is outside the object",
			    "a head outside the object is reported");
	uslub_rcu_barrier();
	expect_lu_eq(active(kc), before + 1, "o was not freed");
	uslub_kfree(o);
}
TEST_END

/* ---- SLAB_TYPESAFE_BY_RCU -------------------------------------------- */

static bool in_block(const void *p, const struct slab *head)
{
	uintptr_t base = (uintptr_t)page_address(head);

	return (uintptr_t)p - base < (PAGE_SIZE << head->order);
}

TEST_BEGIN(test_typesafe_slab_waits_for_grace_period)
{
	struct uslub_cache *s = uslub_cache_create("rcu_typesafe",
						   sizeof(struct obj), 0,
						   USLUB_TYPESAFE_BY_RCU,
						   obj_ctor);
	struct uslub_cache *other = uslub_cache_create("rcu_other",
						       sizeof(struct obj), 0,
						       0, NULL);
	int saved = uslub_opt.abort_on_error;
	unsigned int i, n, reused = 0, order;
	struct slab *head;
	struct obj **objs;
	void *freelist, **others;
	struct test_capture cap;
	struct reader r;
	char err[2048];

	assert_ptr_not_null(s, "cache");
	assert_ptr_not_null(other, "other cache");
	n = 4 * s->objects;
	objs = calloc(n, sizeof(*objs));
	others = calloc(2 * n, sizeof(*others));
	for (i = 0; i < n; i++) {
		objs[i] = uslub_cache_alloc(s, 0);
		assert_ptr_not_null(objs[i], "object %u", i);
	}
	head = pagemap_head(objs[0]);
	order = head->order;
	reader_enter(&r);
	for (i = 0; i < n; i++)
		uslub_cache_free(s, objs[i]);
	uslub_cache_shrink(s);
	usleep(50 * 1000);	/* time enough for a worker that does not wait */
	expect_lu_eq(READ_ONCE(s->nr_slabs), 0, "every slab discarded");
	expect_u_eq(block_flags(head), PG_rcu,
		    "a discarded slab waits for the grace period");
	expect_u_eq(head->order, order, "its block is whole");
	expect_x_eq(objs[0]->magic, MAGIC, "its objects keep the ctor's state");

	/* Same size, same order: pages handed out now would be its pages. */
	for (i = 0; i < 2 * n; i++) {
		others[i] = uslub_cache_alloc(other, 0);
		assert_ptr_not_null(others[i], "other object %u", i);
		reused += in_block(others[i], head);
	}
	expect_u_eq(reused, 0, "its pages are not reused before a grace period");

	freelist = head->freelist;
	uslub_opt.abort_on_error = 0;
	test_capture_begin(&cap);
	uslub_cache_free(s, objs[1]);
	uslub_kfree(objs[2]);
	test_capture_end(&cap, err, sizeof(err));
	uslub_opt.abort_on_error = saved;
	expect_str_contains(err, "cache_free: invalid pointer",
			    "a stray cache_free into a waiting slab is reported");
	expect_str_contains(err, "kfree: invalid pointer",
			    "a stray kfree into a waiting slab is reported");
	expect_ptr_eq(head->freelist, freelist, "and not pushed on its freelist");
	expect_u_eq(block_flags(head), PG_rcu, "the slab still waits");

	reader_leave(&r);
	uslub_rcu_barrier();
	expect_u_eq(block_flags(head) & (PG_rcu | PG_slab), 0,
		    "its pages went back to the page layer after the grace period");
	for (i = 0; i < 2 * n; i++)
		uslub_cache_free(other, others[i]);
	expect_d_eq(uslub_cache_destroy(other), 0, "destroy other");
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy typesafe");
	free(objs);
	free(others);
}
TEST_END

/* Objects of a TYPESAFE cache are reused at once, without a grace
 * period, and what the ctor set survives. */
TEST_BEGIN(test_typesafe_objects_reused_at_once)
{
	struct uslub_cache *s = uslub_cache_create("rcu_reuse",
						   sizeof(struct obj), 0,
						   USLUB_TYPESAFE_BY_RCU,
						   obj_ctor);
	struct reader r;
	struct obj *a, *b;

	assert_ptr_not_null(s, "cache");
	reader_enter(&r);
	a = uslub_cache_alloc(s, 0);
	assert_ptr_not_null(a, "object");
	a->pad[0] = 1;
	uslub_cache_free(s, a);
	b = uslub_cache_alloc(s, 0);
	expect_ptr_eq(b, a, "the freed object comes back at once");
	expect_x_eq(b->magic, MAGIC, "with the ctor's state");
	uslub_cache_free(s, b);
	reader_leave(&r);
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

/* ---- fork ------------------------------------------------------------ */

static void child_frees_rcu(void *arg)
{
	struct uslub_cache *s = arg;
	struct uslub_cache *ts;
	struct obj *o;
	unsigned int i;

	alarm(20);			/* a hang fails instead of stalling */
	for (i = 0; i < 16; i++) {
		o = uslub_cache_alloc(s, 0);
		assert_ptr_not_null(o, "child object %u", i);
		uslub_free_rcu(o, &o->rcu);
	}
	uslub_rcu_barrier();
	expect_lu_eq(active(s), 0,
		     "the child frees its own and the inherited pending objects");
	ts = uslub_cache_create("rcu_fork_ts", sizeof(struct obj), 0,
				USLUB_TYPESAFE_BY_RCU, obj_ctor);
	assert_ptr_not_null(ts, "typesafe cache in the child");
	for (i = 0; i < 1000; i++)
		uslub_cache_free(ts, uslub_cache_alloc(ts, 0));
	uslub_cache_shrink(ts);
	uslub_synchronize_rcu();
	uslub_rcu_barrier();
	expect_d_eq(uslub_cache_destroy(ts), 0, "child destroys its cache");
	expect_d_eq(uslub_cache_destroy(s), 0, "child destroys the cache");
}

TEST_BEGIN(test_fork_with_pending_rcu_work)
{
	struct uslub_cache *s = uslub_cache_create("rcu_fork",
						   sizeof(struct obj), 0, 0,
						   NULL);
	struct reader r;
	pthread_t timer;
	struct obj *o;
	char out[4096];
	int status = -1;
	unsigned int i;

	assert_ptr_not_null(s, "cache");
	reader_enter(&r);
	/* The worker takes the first batch and waits for the reader; the
	 * rest stays pending; fork waits for the worker's batch. */
	for (i = 0; i < 64; i++) {
		o = uslub_cache_alloc(s, 0);
		assert_ptr_not_null(o, "object %u", i);
		uslub_free_rcu(o, &o->rcu);
		if (i == 0)
			usleep(20 * 1000);
	}
	timer = reader_leave_later(&r, 50);
	assert_d_eq(test_run_child(child_frees_rcu, s, &status, out,
				   sizeof(out)), 0, "fork");
	expect_true(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "child exits 0 (status %#x): %s", status, out);
	pthread_join(timer, NULL);
	pthread_join(r.thread, NULL);
	uslub_rcu_barrier();
	expect_lu_eq(active(s), 0, "the parent frees them too");
	expect_d_eq(uslub_cache_destroy(s), 0, "destroy");
}
TEST_END

int main(void)
{
	uslub_rcu_register_thread();
	return test(test_free_rcu_waits_for_reader,
		    test_free_rcu_kmalloc,
		    test_destroy_waits_for_free_rcu,
		    test_free_rcu_bad_pointers_reported,
		    test_typesafe_slab_waits_for_grace_period,
		    test_typesafe_objects_reused_at_once,
		    test_fork_with_pending_rcu_work,
		    NULL);
}
