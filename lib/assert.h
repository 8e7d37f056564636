/*
 * assert.h - L0: assertions that name what broke.
 *
 * USLUB_ASSERT is compiled in with --enable-debug (USLUB_CONFIG_DEBUG=1) and
 * vanishes otherwise; USLUB_BUG is always on and is for states that would
 * corrupt the heap if uslub went on.  Both print without allocating.
 */
#ifndef USLUB_ASSERT_H
#define USLUB_ASSERT_H

#include "compiler.h"

#ifndef USLUB_CONFIG_DEBUG
#define USLUB_CONFIG_DEBUG 0
#endif

__attribute__((noreturn, cold)) void uslub_assert_fail(const char *expr,
		const char *file, int line, const char *func);

#define USLUB_BUG_ON(cond)						\
	do {								\
		if (unlikely(cond))					\
			uslub_assert_fail(#cond, __FILE__, __LINE__,	\
					  __func__);			\
	} while (0)

#define USLUB_ASSERT(cond)						\
	do {								\
		if (USLUB_CONFIG_DEBUG && unlikely(!(cond)))		\
			uslub_assert_fail(#cond, __FILE__, __LINE__,	\
					  __func__);			\
	} while (0)

#endif /* USLUB_ASSERT_H */
