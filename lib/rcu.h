/*
 * rcu.h - L5: deferred freeing after an RCU grace period (liburcu, memb
 * flavour): objects given to uslub_free_rcu, and the slabs of
 * SLAB_TYPESAFE_BY_RCU caches once they are discarded.
 *
 * rcu_defer_slab may run under any allocator lock: it only pushes.  The
 * rest never runs under one: it may start the worker thread and wait.
 */
#ifndef USLUB_RCU_H
#define USLUB_RCU_H

#include "types.h"

/* A discarded slab of a SLAB_TYPESAFE_BY_RCU cache: marked PG_rcu and
 * given back to the page layer after a grace period.  Lock-free.
 * slab_discard calls it through slab_rcu_defer_hook (set by init). */
void rcu_defer_slab(struct slab *slab);

/* Start the worker now (creating a SLAB_TYPESAFE_BY_RCU cache), so the
 * first discard, which runs under allocator locks, finds it running. */
void rcu_worker_ensure(void);

/* Wait until everything deferred before the call has been freed. */
void rcu_barrier(void);

/* The fork protocol (fork.c): prepare takes rcu_lock first of all. */
void rcu_fork_prepare(void);
void rcu_fork_parent(void);
void rcu_fork_child(void);

#endif /* USLUB_RCU_H */
