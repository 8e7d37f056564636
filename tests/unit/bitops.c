/*
 * Unit tests for lib/bitops.h: fls, fls_long, ilog2, get_order,
 * roundup_pow_of_two and is_power_of_2, against the kernel's definitions
 * (include/asm-generic/bitops/fls.h, include/linux/log2.h,
 * include/asm-generic/getorder.h), checked at every power-of-two boundary
 * and against a naive bit loop.
 */
#include "test.h"

#include "bitops.h"

#include <limits.h>

/* The last set bit, 1-based, found the slow way. */
static int naive_fls(unsigned long x)
{
	int n = 0;

	while (x) {
		n++;
		x >>= 1;
	}
	return n;
}

/* The kernel's get_order, written with a loop: smallest order whose
 * PAGE_SIZE << order holds size bytes. */
static unsigned int naive_order(unsigned long size)
{
	unsigned int order = 0;

	while ((PAGE_SIZE << order) < size)
		order++;
	return order;
}

TEST_BEGIN(test_fls)
{
	unsigned int b;

	expect_d_eq(fls(0), 0, "fls(0)");
	expect_d_eq(fls(1), 1, "fls(1)");
	expect_d_eq(fls(2), 2, "fls(2)");
	expect_d_eq(fls(3), 2, "fls(3)");
	expect_d_eq(fls(0x80000000u), 32, "fls(0x80000000)");
	expect_d_eq(fls(UINT_MAX), 32, "fls(UINT_MAX)");
	for (b = 0; b < 32; b++) {
		unsigned int x = 1u << b;

		expect_d_eq(fls(x), (int)b + 1, "fls(1 << %u)", b);
		expect_d_eq(fls(x | (x - 1)), (int)b + 1,
			    "fls(2^%u - 1 | 2^%u)", b + 1, b);
		if (b > 0)
			expect_d_eq(fls(x - 1), (int)b, "fls((1 << %u) - 1)",
				    b);
	}
}
TEST_END

TEST_BEGIN(test_fls_long)
{
	unsigned int b;

	expect_d_eq(fls_long(0), 0, "fls_long(0)");
	expect_d_eq(fls_long(1), 1, "fls_long(1)");
	expect_d_eq(fls_long(ULONG_MAX), 64, "fls_long(ULONG_MAX)");
	expect_d_eq(fls_long(1UL << 63), 64, "fls_long(1 << 63)");
	expect_d_eq(fls_long(1UL << 32), 33, "fls_long(1 << 32): past 32 bits");
	for (b = 0; b < 64; b++) {
		unsigned long x = 1UL << b;

		expect_d_eq(fls_long(x), (int)b + 1, "fls_long(1 << %u)", b);
		expect_d_eq(fls_long(x + (x - 1)), naive_fls(x + (x - 1)),
			    "fls_long(2^%u + 2^%u - 1)", b, b);
		if (b > 0)
			expect_d_eq(fls_long(x - 1), (int)b,
				    "fls_long((1 << %u) - 1)", b);
	}
}
TEST_END

TEST_BEGIN(test_ilog2)
{
	unsigned int b;

	expect_d_eq(ilog2(1), 0, "ilog2(1)");
	expect_d_eq(ilog2(2), 1, "ilog2(2)");
	expect_d_eq(ilog2(3), 1, "ilog2(3)");
	expect_d_eq(ilog2(4), 2, "ilog2(4)");
	expect_d_eq(ilog2(4095), 11, "ilog2(4095)");
	expect_d_eq(ilog2(4096), 12, "ilog2(4096)");
	expect_d_eq(ilog2(4097), 12, "ilog2(4097)");
	expect_d_eq(ilog2(ULONG_MAX), 63, "ilog2(ULONG_MAX)");
	for (b = 1; b < 64; b++) {
		unsigned long x = 1UL << b;

		expect_d_eq(ilog2(x), (int)b, "ilog2(2^%u)", b);
		expect_d_eq(ilog2(x - 1), (int)b - 1, "ilog2(2^%u - 1)", b);
		expect_d_eq(ilog2(x + 1), b == 63 ? 63 : (int)b,
			    "ilog2(2^%u + 1)", b);
	}
}
TEST_END

TEST_BEGIN(test_get_order_pages)
{
	/* 0..5 pages and the bytes either side of each boundary. */
	expect_u_eq(get_order(1), 0, "1 byte");
	expect_u_eq(get_order(PAGE_SIZE - 1), 0, "a page less one byte");
	expect_u_eq(get_order(PAGE_SIZE), 0, "one page");
	expect_u_eq(get_order(PAGE_SIZE + 1), 1, "a page and a byte");
	expect_u_eq(get_order(2 * PAGE_SIZE - 1), 1, "2 pages less a byte");
	expect_u_eq(get_order(2 * PAGE_SIZE), 1, "2 pages");
	expect_u_eq(get_order(2 * PAGE_SIZE + 1), 2, "2 pages and a byte");
	expect_u_eq(get_order(3 * PAGE_SIZE), 2, "3 pages");
	expect_u_eq(get_order(4 * PAGE_SIZE - 1), 2, "4 pages less a byte");
	expect_u_eq(get_order(4 * PAGE_SIZE), 2, "4 pages");
	expect_u_eq(get_order(4 * PAGE_SIZE + 1), 3, "4 pages and a byte");
	expect_u_eq(get_order(5 * PAGE_SIZE), 3, "5 pages");
	expect_u_eq(get_order(5 * PAGE_SIZE + 1), 3, "5 pages and a byte");
	expect_u_eq(get_order(8 * PAGE_SIZE), 3, "8 pages");
	expect_u_eq(get_order(8 * PAGE_SIZE + 1), 4, "8 pages and a byte");
}
TEST_END

TEST_BEGIN(test_get_order_sweep)
{
	unsigned int o, bad = 0;
	unsigned long size;

	for (o = 0; o <= 20; o++) {
		unsigned long top = PAGE_SIZE << o;

		expect_u_eq(get_order(top), o, "get_order(PAGE_SIZE << %u)", o);
		expect_u_eq(get_order(top + 1), o + 1,
			    "get_order((PAGE_SIZE << %u) + 1)", o);
		expect_u_eq(get_order(top - 1), o,
			    "get_order((PAGE_SIZE << %u) - 1)", o);
	}
	/* 4 MiB (MAX_ORDER) is order 10; a byte more is 11. */
	expect_u_eq(get_order(4UL << 20), 10, "4 MiB");
	expect_u_eq(get_order((4UL << 20) + 1), 11, "4 MiB + 1");
	for (size = 1; size <= 70 * PAGE_SIZE; size += 97)
		if (get_order(size) != naive_order(size))
			bad++;
	expect_u_eq(bad, 0, "get_order differs from the loop definition");
}
TEST_END

TEST_BEGIN(test_roundup_pow_of_two)
{
	unsigned int b;

	expect_u_eq(roundup_pow_of_two(0), 1, "0 -> 1");
	expect_u_eq(roundup_pow_of_two(1), 1, "1");
	expect_u_eq(roundup_pow_of_two(2), 2, "2");
	expect_u_eq(roundup_pow_of_two(3), 4, "3");
	expect_u_eq(roundup_pow_of_two(5), 8, "5");
	expect_u_eq(roundup_pow_of_two(4095), 4096, "4095");
	expect_u_eq(roundup_pow_of_two(4096), 4096, "4096");
	expect_u_eq(roundup_pow_of_two(4097), 8192, "4097");
	for (b = 1; b < 63; b++) {
		unsigned long x = 1UL << b;

		expect_u_eq(roundup_pow_of_two(x), x, "2^%u", b);
		expect_u_eq(roundup_pow_of_two(x - 1), b == 1 ? 1 : x,
			    "2^%u - 1", b);
		expect_u_eq(roundup_pow_of_two(x + 1), x << 1, "2^%u + 1", b);
	}
	expect_u_eq(roundup_pow_of_two(1UL << 63), 1UL << 63, "2^63");
}
TEST_END

TEST_BEGIN(test_is_power_of_2)
{
	unsigned int b;
	unsigned long x, count = 0;

	expect_false(is_power_of_2(0), "0 is not a power of two");
	expect_true(is_power_of_2(1), "1 = 2^0");
	expect_false(is_power_of_2(3), "3");
	expect_false(is_power_of_2(6), "6");
	expect_false(is_power_of_2(ULONG_MAX), "ULONG_MAX");
	for (b = 0; b < 64; b++) {
		expect_true(is_power_of_2(1UL << b), "2^%u", b);
		if (b > 1)
			expect_false(is_power_of_2((1UL << b) - 1), "2^%u - 1",
				     b);
		if (b > 0)
			expect_false(is_power_of_2((1UL << b) + 1), "2^%u + 1",
				     b);
	}
	for (x = 0; x <= 1UL << 16; x++)
		count += is_power_of_2(x) != 0;
	expect_u_eq(count, 17, "powers of two in [0, 65536]");
}
TEST_END

int main(void)
{
	return test(test_fls, test_fls_long, test_ilog2, test_get_order_pages,
		    test_get_order_sweep, test_roundup_pow_of_two,
		    test_is_power_of_2, NULL);
}
