/*
 * init.c - L5: one-time initialisation, and the assertion handler.
 *
 * Order: options from environ, the page layer's decay, the slab layer's
 * hook into rcu.c, the kmem_cache cache, then the kmalloc caches, so
 * slabinfo lists them as the kernel creates them, then the reclaim hook
 * for limit=.  Nothing under init_lock allocates.
 */
#include <stdlib.h>

#include "cache.h"
#include "fork.h"
#include "init.h"
#include "kmalloc.h"
#include "log.h"
#include "options.h"
#include "os.h"
#include "page_alloc.h"
#include "prof.h"
#include "rcu.h"
#include "shrink.h"
#include "slab.h"
#include "stats.h"
#include "stats_json.h"
#include "statsd.h"
#include "assert.h"

unsigned int uslub_ncpus = 1;
bool init_complete;

struct lock init_lock = LOCK_INITIALIZER;
/* init ran before libc set environ: the constructor reads the options */
static bool options_pending;			/* under init_lock */

static void options_apply(void)
{
	options_pending = !os_environ_ready();
	options_parse(os_getenv("USLUB_OPTIONS"));
	options_parse_debug(os_getenv("USLUB_DEBUG"));
	page_set_decay_ms(uslub_opt.decay_ms);
	stats_setup();
	prof_init();
}

void init_slow(void)
{
	lock_acquire(&init_lock);
	if (init_complete) {
		lock_release(&init_lock);
		return;
	}
	uslub_ncpus = os_ncpus();
	options_apply();
	slab_rcu_defer_hook = rcu_defer_slab;
	cache_setup(&kmem_cache_cache, "kmem_cache", sizeof(struct uslub_cache),
		    0, USLUB_HWCACHE_ALIGN, NULL, 0);
	cache_register(&kmem_cache_cache);
	kmalloc_init();
	page_reclaim_hook = reclaim_for_allocation;
	if (uslub_opt.verbose)
		log_error("initialised: %u cpus, decay_ms=%lu, abort_on_error=%d, "
			  "thp=%d, stats=%d, limit=%lu, page_owner=%d",
			  uslub_ncpus, uslub_opt.decay_ms,
			  (int)uslub_opt.abort_on_error, uslub_opt.thp,
			  (int)uslub_opt.stats, uslub_opt.limit,
			  (int)uslub_opt.page_owner);
	__atomic_store_n(&init_complete, true, __ATOMIC_RELEASE);
	lock_release(&init_lock);
	/* After the heap works: pthread_atfork may allocate, and so does
	 * the first stack capture (glibc loads libgcc_s). */
	fork_register();
	if (uslub_opt.page_owner)
		os_stack_warm();
	prof_warm();
}

__attribute__((constructor)) static void uslub_constructor(void)
{
	init_ensure();
	lock_acquire(&init_lock);
	if (options_pending)
		options_apply();
	lock_release(&init_lock);
	if (uslub_opt.page_owner)
		os_stack_warm();
	statsd_start();
	prof_warm();
}

/*
 * At a normal exit (destructors of a preloaded library run after the
 * program's own): with USLUB_DEBUG, every debug cache is validated (a use
 * after free no reuse has shown) and a cache name that matched no cache
 * gets a warning; USLUB_OPTIONS=stats prints the statistics; and with
 * USLUB_DEBUG a run that reported a heap bug ends with exitcode (23 by
 * default), so that a test run notices, as LeakSanitizer's does.
 */
__attribute__((destructor)) static void uslub_destructor(void)
{
	bool debugging = options_debugging();

	if (!__atomic_load_n(&init_complete, __ATOMIC_ACQUIRE))
		return;
	if (debugging) {
		cache_validate_debug("exit");
		options_debug_warn_unmatched();
	}
	if (uslub_opt.stats)
		stats_exit_report();
	prof_exit();
	if (debugging && uslub_opt.exitcode && log_heap_bugs())
		os_exit_now(uslub_opt.exitcode);
}

void uslub_assert_fail(const char *expr, const char *file, int line,
		       const char *func)
{
	log_error("BUG at %s:%d in %s(): %s", file, line, func, expr);
	abort();
}
