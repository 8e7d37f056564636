/*
 * init.h - L5: one-time initialisation of uslub, on first use or from the
 * library constructor, whichever comes first.  Allocation-free until the
 * heap works: options come from environ, not getenv.
 */
#ifndef USLUB_INIT_H
#define USLUB_INIT_H

#include <stdbool.h>

#include "lock.h"

extern unsigned int uslub_ncpus;	/* immutable after init */

extern struct lock init_lock;		/* serialises init_slow; fork.c */

void init_slow(void);
extern bool init_complete;		/* load_acquire */

static inline void init_ensure(void)
{
	if (!__atomic_load_n(&init_complete, __ATOMIC_ACQUIRE))
		init_slow();
}

#endif /* USLUB_INIT_H */
