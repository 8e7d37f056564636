/*
 * bitops.h - L0: fls, ilog2 and get_order with the kernel's meanings.
 */
#ifndef USLUB_BITOPS_H
#define USLUB_BITOPS_H

#include "compiler.h"

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)

/* fls(0) = 0, fls(1) = 1, fls(0x80000000) = 32: the last set bit, 1-based. */
static inline int fls(unsigned int x)
{
	return x ? 32 - __builtin_clz(x) : 0;
}

static inline int fls_long(unsigned long x)
{
	return x ? 64 - __builtin_clzl(x) : 0;
}

/* ilog2(x) for x > 0: floor(log2(x)). */
static inline int ilog2(unsigned long x)
{
	return fls_long(x) - 1;
}

/* The smallest order such that (PAGE_SIZE << order) >= size; size > 0. */
static inline unsigned int get_order(unsigned long size)
{
	if (size <= PAGE_SIZE)
		return 0;
	return (unsigned int)fls_long((size - 1) >> PAGE_SHIFT);
}

static inline int is_power_of_2(unsigned long x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

static inline unsigned long roundup_pow_of_two(unsigned long x)
{
	return x <= 1 ? 1 : 1UL << fls_long(x - 1);
}

#endif /* USLUB_BITOPS_H */
