/*
 * compiler.h - L0: compiler attributes and small helpers used everywhere.
 *
 * Every GCC/Clang-specific construct of uslub lives here, each with a note
 * on why it is needed.  No other file spells __attribute__ directly, except
 * the export macro in include/uslub.h.
 */
#ifndef USLUB_COMPILER_H
#define USLUB_COMPILER_H

#include <stddef.h>
#include <stdint.h>

/* Branch hints: keep the fast paths laid out as straight-line code. */
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

/* _fast functions must inline into their callers; _slow twins must not. */
#undef __always_inline		/* glibc's cdefs.h has its own, same meaning */
#define __always_inline	inline __attribute__((always_inline))
#define __noinline	__attribute__((noinline))
/* The return address of the enclosing out-of-line function, as the
 * kernel's _RET_IP_: used inside always-inline fast paths, it names the
 * caller of the uslub entry point they are inlined into. */
#define RET_IP		((uintptr_t)__builtin_return_address(0))
#define __cold		__attribute__((cold, noinline))
#define __aligned(n)	__attribute__((aligned(n)))
/* The cache line of the x86-64 processors uslub runs on. */
#define CACHE_LINE	64
/* A hint to load the line at p before it is needed (GCC's and Clang's
 * builtin: prefetcht0 on x86-64). */
#define prefetch(p)	__builtin_prefetch(p)
/*
 * An entry point whose body is a fast path (malloc, free, the cache and
 * kmalloc calls): its first instruction on a cache line.  Otherwise where
 * it falls depends on everything linked before it: one more imported
 * libc function moved malloc by 96 bytes and the malloc+free pair's speed
 * by 9-15 % (bench hot_pair, ring), either way from one build to the next.
 */
#define __entry_aligned	__aligned(CACHE_LINE)
/* A global the fast paths read, declared hidden: position-independent
 * code then loads it with one RIP-relative instruction instead of going
 * through the GOT (two).  Only for variables of the library itself,
 * never read from outside it. */
#define __hidden	__attribute__((visibility("hidden")))

/*
 * Thread-local storage.  Initial-exec: a fixed offset from %fs, no call to
 * __tls_get_addr on the fast path, and no allocation by the dynamic loader
 * (glibc requires it of malloc replacements).
 */
#define __thread_ie	__thread __attribute__((tls_model("initial-exec")))

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)		(((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a)	(((x) & ((__typeof__(x))(a) - 1)) == 0)
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define MIN(a, b)		((a) < (b) ? (a) : (b))
#define MAX(a, b)		((a) > (b) ? (a) : (b))
#define CLAMP(x, lo, hi)	MIN(MAX(x, lo), hi)

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* Compiler barrier: orders the compiler only, no fence instruction. */
#define barrier()	__asm__ __volatile__("" ::: "memory")

#endif /* USLUB_COMPILER_H */
