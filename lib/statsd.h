/*
 * statsd.h - L5: the statistics server, through which uslub-slabtop and
 * uslub-slabinfo read a running process (USLUB_OPTIONS=slabtop=0 turns
 * it off).  statsd.c's opening comment has the design.
 */
#ifndef USLUB_STATSD_H
#define USLUB_STATSD_H

#include <stdint.h>

#include "compiler.h"

/* While the server is pending, the os_now_ms() from which a slow path
 * starts it; UINT64_MAX otherwise (atomic). */
extern uint64_t statsd_due;

/* The library constructor: start the server now, or make it pending. */
void statsd_start(void);
/* A pending server, started on a slow path with no uslub lock held, once
 * the process is old enough (statsd_ensure): now is the thread's recent
 * os_now_ms() (struct thread_cache's now_ms), so that no slow path reads
 * the clock for it. */
void statsd_start_pending(uint64_t now);
/* fork.c's child handler: close the parent's sockets, start lazily. */
void statsd_fork_child(void);

/* On the allocation slow paths and a free's sheaf overflow: one load
 * while there is nothing to do. */
static inline void statsd_ensure(uint64_t now)
{
	if (unlikely(now >= __atomic_load_n(&statsd_due, __ATOMIC_RELAXED)))
		statsd_start_pending(now);
}

#endif /* USLUB_STATSD_H */
