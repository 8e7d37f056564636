/*
 * thread.c - L5: per-thread state, its creation on first use, its release
 * at thread exit, and the registry of live thread states.
 *
 * A thread state lives in pages from the buddy allocator (it cannot come
 * from kmalloc, which needs it).  Thread exit is noticed with a pthread key
 * destructor; if a later destructor of another library allocates again,
 * the thread gets a fresh state and the key is set again, so glibc runs our
 * destructor once more.  The registry, the index bitmap and the key are
 * under slab_mutex.  Also: thread_start_detached, the one way lib/ starts
 * a thread of its own (the RCU worker, the statistics server).
 */
#define _GNU_SOURCE			/* pthread_setname_np */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "alloc.h"
#include "init.h"
#include "log.h"
#include "os.h"
#include "assert.h"
#include "sheaf.h"

struct thread_cache thread_cache_empty = {
	.idx = THREAD_IDX_NONE,
};
__thread_ie struct thread_cache *thread_cache = &thread_cache_empty;
__thread_ie bool thread_exited;

_Static_assert(sizeof(struct thread_cache) <= (PAGE_SIZE << TC_ORDER),
	       "thread state fits its block");

static struct thread_cache **registry[THREAD_DIR];	/* under slab_mutex */
static uint64_t idx_used[MAX_THREADS / 64];		/* under slab_mutex */
static unsigned int registry_high;			/* under slab_mutex */
static pthread_key_t exit_key;
static bool exit_key_ready;				/* under slab_mutex */

static void thread_exit_destructor(void *arg);

/* ---- Registry -------------------------------------------------------- */

static int idx_alloc_locked(void)
{
	unsigned int w;

	for (w = 0; w < ARRAY_SIZE(idx_used); w++) {
		uint64_t free = ~idx_used[w];
		unsigned int idx;

		if (!free)
			continue;
		idx = w * 64 + (unsigned int)__builtin_ctzll(free);
		if (idx >= THREAD_IDX_NONE)
			return -1;
		idx_used[w] |= 1ULL << (idx % 64);
		return (int)idx;
	}
	return -1;
}

static bool registry_set_locked(unsigned int idx, struct thread_cache *tc)
{
	struct thread_cache **chunk = registry[idx / THREAD_CHUNK];

	if (!chunk) {
		struct slab *b = page_alloc(NULL, 0);

		if (!b)
			return false;
		page_prep_block(b, 0, 0);
		chunk = page_address(b);
		memset(chunk, 0, PAGE_SIZE);
		registry[idx / THREAD_CHUNK] = chunk;
	}
	chunk[idx % THREAD_CHUNK] = tc;
	return true;
}

struct thread_cache *thread_registry_get(unsigned int idx)
{
	struct thread_cache **chunk = registry[idx / THREAD_CHUNK];

	return chunk ? chunk[idx % THREAD_CHUNK] : NULL;
}

unsigned int thread_registry_end(void)
{
	return registry_high;
}


/* ---- Creation -------------------------------------------------------- */

static struct thread_cache *thread_cache_alloc(void)
{
	struct slab *b = page_alloc(NULL, TC_ORDER);
	struct thread_cache *tc;
	unsigned int i;

	if (!b)
		return NULL;
	page_prep_block(b, TC_ORDER, 0);	/* flags 0: not freeable */
	tc = page_address(b);
	/* Slots are set up on first use (cache_cpu_get); until then only
	 * their first line must read as empty.  Zeroing 50 lines instead of
	 * the whole state keeps thread start cheap. */
	for (i = 0; i < NR_CPU_SLOTS; i++)
		memset(&tc->kcpu[i], 0, 64);
	memset(&tc->pcache, 0, sizeof(*tc) - offsetof(struct thread_cache, pcache));
	tc->now_ms = os_now_ms();
	tc->flush_gen = READ_ONCE(sheaf_flush_gen);
	tc->live = true;
	return tc;
}

static void thread_cache_free(struct thread_cache *tc)
{
	struct slab *b = pagemap_head(tc);

	page_free(NULL, b, TC_ORDER);
}

static bool register_locked(struct thread_cache *tc)
{
	int idx = idx_alloc_locked();

	if (idx < 0) {
		log_error("more than %u threads at once; this thread gets no "
			  "thread cache", THREAD_IDX_NONE);
		return false;
	}
	if (!registry_set_locked((unsigned int)idx, tc)) {
		idx_used[idx / 64] &= ~(1ULL << (idx % 64));
		return false;
	}
	tc->idx = (unsigned int)idx;
	registry_high = MAX(registry_high, (unsigned int)idx + 1);
	if (!exit_key_ready && pthread_key_create(&exit_key,
						  thread_exit_destructor) == 0)
		exit_key_ready = true;
	return true;
}

struct thread_cache *thread_cache_get(void)
{
	struct thread_cache *tc = thread_cache;
	bool ok;

	if (likely(tc->live))
		return tc;
	init_ensure();
	tc = thread_cache_alloc();
	if (!tc)
		return NULL;
	lock_acquire(&slab_mutex);
	ok = register_locked(tc);
	lock_release(&slab_mutex);
	if (!ok) {
		thread_cache_free(tc);
		return NULL;
	}
	thread_cache = tc;
	if (exit_key_ready)
		pthread_setspecific(exit_key, tc);
	return tc;
}

struct thread_cache *thread_cache_for_free(void)
{
	if (thread_exited && !thread_cache->live)
		return NULL;
	return thread_cache_get();
}

/* ---- Exit ------------------------------------------------------------ */

static void release_locked(struct thread_cache *tc)
{
	cache_thread_exit_locked(tc);
	kmalloc_thread_exit_locked(tc);
	sheaf_pool_release(&tc->pcache);
	page_cache_drain(&tc->pcache);
	registry[tc->idx / THREAD_CHUNK][tc->idx % THREAD_CHUNK] = NULL;
	idx_used[tc->idx / 64] &= ~(1ULL << (tc->idx % 64));
}

static void thread_release(struct thread_cache *tc)
{
	lock_acquire(&slab_mutex);
	release_locked(tc);
	lock_release(&slab_mutex);
	thread_cache = &thread_cache_empty;
	thread_exited = true;
	thread_cache_free(tc);
}

/*
 * In the child of fork() only the forking thread exists.  The other
 * threads' states are orphans: their cpu slabs, partial chains and cached
 * pages would stay out of use forever.  Flush them as if those threads had
 * exited.  A thread that was between two steps of a lock-free path at the
 * fork can at worst leave one object or slab unreachable (a leak, never a
 * double use): every multi-step change under a lock was waited for by the
 * fork protocol.
 */
void thread_reclaim_others(void)
{
	struct thread_cache *self = thread_cache, *tc;
	unsigned int i;

	lock_acquire(&slab_mutex);
	for (i = 0; i < registry_high; i++) {
		tc = thread_registry_get(i);
		if (!tc || tc == self)
			continue;
		release_locked(tc);
		thread_cache_free(tc);	/* page_lock nests in slab_mutex */
	}
	lock_release(&slab_mutex);
}

static void thread_exit_destructor(void *arg)
{
	struct thread_cache *tc = arg;

	if (tc && tc == thread_cache && tc->live)
		thread_release(tc);
}

void thread_cache_exit(void)
{
	struct thread_cache *tc = thread_cache;

	if (!tc->live)
		return;
	if (exit_key_ready)
		pthread_setspecific(exit_key, NULL);
	thread_release(tc);
}

/* ---- Threads of uslub's own ------------------------------------------ */

int thread_start_detached(void *(*fn)(void *), void *arg, size_t stack,
			  const char *name)
{
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (stack)
		pthread_attr_setstacksize(&attr, stack);
	pthread_sigmask(SIG_SETMASK, &all, &old);	/* inherited */
	err = pthread_create(&tid, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (!err)
		pthread_setname_np(tid, name);
	return err;
}
