/*
 * tests/stress/stress.h -- helpers shared by the stress tests.
 *
 * stress_scale() sizes a run (1/10 under ThreadSanitizer, x10 with
 * USLUB_STRESS=heavy); xorshift64() and mix64() make the fixed-seed
 * pseudo-random numbers; pattern_fill() stamps a block with the pattern
 * of a 64-bit tag and pattern_check() finds where it was broken.  The
 * slabinfo readers come from tests/slabinfo_row.h.  Header-only: every
 * function is static and marked unused, so a test uses only what it needs.
 */
#ifndef USLUB_TESTS_STRESS_STRESS_H
#define USLUB_TESTS_STRESS_STRESS_H

#include "slabinfo_row.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef USLUB_CONFIG_TSAN
#define USLUB_CONFIG_TSAN 0
#endif

#define KiB		(1UL << 10)
#define MiB		(1UL << 20)

/* Failures of one kind reported in full; the rest are only counted. */
#define MAX_REPORTS	10

/* plain/10 under ThreadSanitizer, x10 with USLUB_STRESS=heavy. */
static __attribute__((unused)) unsigned long
stress_scale(unsigned long plain)
{
	const char *mode = getenv("USLUB_STRESS");
	unsigned long n = USLUB_CONFIG_TSAN ? plain / 10 : plain;

	if (mode && strcmp(mode, "heavy") == 0)
		n *= 10;
	return n ? n : 1;
}

static __attribute__((unused)) uint64_t
xorshift64(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

/* A 64-bit finalizer (murmur3's fmix64), made odd: never 0. */
static __attribute__((unused)) uint64_t
mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return (x ^ (x >> 33)) | 1;
}

/* Word i of the pattern of tag; byte j of the block is byte j % 8 of word
 * j / 8 (little endian), so a prefix of a block carries the pattern of
 * the same block cut shorter (krealloc). */
static __attribute__((unused)) uint64_t
pattern_word(uint64_t tag, size_t i)
{
	return tag ^ (i * 0x9e3779b97f4a7c15ULL);
}

static __attribute__((unused)) void
pattern_fill(void *p, size_t size, uint64_t tag)
{
	uint64_t *w = p;
	unsigned char *b = p;
	size_t i, nw = size / 8;

	for (i = 0; i < nw; i++)
		w[i] = pattern_word(tag, i);
	for (i = nw * 8; i < size; i++)
		b[i] = (unsigned char)(pattern_word(tag, nw) >> (8 * (i % 8)));
}

/* Offset of the first byte that breaks the pattern, or SIZE_MAX. */
static __attribute__((unused)) size_t
pattern_check(const void *p, size_t size, uint64_t tag)
{
	const uint64_t *w = p;
	const unsigned char *b = p;
	size_t i, nw = size / 8;

	for (i = 0; i < nw; i++)
		if (w[i] != pattern_word(tag, i))
			return i * 8;
	for (i = nw * 8; i < size; i++)
		if (b[i] != (unsigned char)(pattern_word(tag, nw) >> (8 * (i % 8))))
			return i;
	return SIZE_MAX;
}

#endif /* USLUB_TESTS_STRESS_STRESS_H */
