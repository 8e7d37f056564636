/*
 * atomic.h - L0: the one 16-byte compare-and-swap, and word-sized atomics.
 *
 * gcc 12 turns __atomic_*_n on __int128 into calls to libatomic; only
 * __sync_bool_compare_and_swap on unsigned __int128 with -mcx16 inlines
 * `lock cmpxchg16b` (DESIGN.md invariant 7).  This header is the only place
 * that spells it.  Word-sized accesses that race by design (statistics read
 * by other threads, the halves of {freelist, counters} read before a CAS)
 * go through relaxed atomics so that ThreadSanitizer sees them as intended;
 * on x86-64 they are plain moves.
 */
#ifndef USLUB_ATOMIC_H
#define USLUB_ATOMIC_H

#include <stdbool.h>
#include "compiler.h"

typedef unsigned __int128 u128;

#if !defined(__GCC_HAVE_SYNC_COMPARE_AND_SWAP_16)
#error "uslub needs cmpxchg16b: compile with -mcx16"
#endif

/* Full barrier, as SLUB's cmpxchg_double: the freed object's contents are
 * published before the new freelist head becomes visible. */
static __always_inline bool cmpxchg16b(u128 *p, u128 old, u128 new)
{
	return __sync_bool_compare_and_swap(p, old, new);
}

#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define load_acquire(x)		__atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define store_release(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define atomic_add(x, v)	__atomic_fetch_add(&(x), (v), __ATOMIC_RELAXED)

/*
 * A statistics counter written by its owner thread and read by others
 * (READ_ONCE).  An aligned 8-byte store is single-copy atomic on x86-64, so
 * a reader sees the old or the new value; the plain increment keeps the
 * fast path one `add` to memory.  Under ThreadSanitizer the same counter is
 * updated with relaxed atomics so that TSan can check everything else.
 */
#ifndef USLUB_CONFIG_TSAN
#define USLUB_CONFIG_TSAN 0
#endif
#if USLUB_CONFIG_TSAN
#define counter_add(x, v)	WRITE_ONCE(x, READ_ONCE(x) + (v))
#else
#define counter_add(x, v)	((x) += (v))
#endif
#define counter_inc(x)		counter_add(x, 1)

static __always_inline void cpu_relax(void)
{
	__builtin_ia32_pause();
}

#endif /* USLUB_ATOMIC_H */
