/*
 * init.c - L5: one-time initialisation, and the assertion handler.
 *
 * Order: options from environ, the page layer's decay, the kmem_cache
 * cache, then the kmalloc caches, so slabinfo lists them as the kernel
 * creates them.  Nothing here allocates.
 */
#include <stdlib.h>

#include "cache.h"
#include "init.h"
#include "kmalloc.h"
#include "log.h"
#include "options.h"
#include "os.h"
#include "page_alloc.h"
#include "assert.h"

unsigned int uslub_ncpus = 1;
bool init_complete;

static struct lock init_lock = LOCK_INITIALIZER;

void init_slow(void)
{
	lock_acquire(&init_lock);
	if (init_complete) {
		lock_release(&init_lock);
		return;
	}
	uslub_ncpus = os_ncpus();
	options_parse(os_getenv("USLUB_OPTIONS"));
	page_set_decay_ms(uslub_opt.decay_ms);
	cache_setup(&kmem_cache_cache, "kmem_cache", sizeof(struct uslub_cache),
		    0, USLUB_HWCACHE_ALIGN, NULL, 0);
	cache_register(&kmem_cache_cache);
	kmalloc_init();
	if (uslub_opt.verbose)
		log_error("initialised: %u cpus, decay_ms=%lu, abort_on_error=%d",
			  uslub_ncpus, uslub_opt.decay_ms,
			  (int)uslub_opt.abort_on_error);
	__atomic_store_n(&init_complete, true, __ATOMIC_RELEASE);
	lock_release(&init_lock);
}

__attribute__((constructor)) static void uslub_constructor(void)
{
	init_ensure();
}

void uslub_assert_fail(const char *expr, const char *file, int line,
		       const char *func)
{
	log_error("BUG at %s:%d in %s(): %s", file, line, func, expr);
	abort();
}
