/*
 * Unit tests for kmalloc's size classes (lib/kmalloc.c): the rounding
 * (uslub_kmalloc_size_roundup), the waste bound above 64 bytes, the
 * alignment kmalloc guarantees (16 bytes, and power-of-two sizes aligned
 * to themselves as the kernel's kmalloc does), uslub_ksize, the lookup
 * tables kmalloc_direct_off and kmalloc_big_off against kmalloc_index, the kernel's cache names
 * in slabinfo, and the sizes of large (buddy) and huge (mmap) blocks.
 */
#include "test.h"

#include "alloc.h"
#include "init.h"
#include "kmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define KMALLOC_LARGE_MAX	(PAGE_SIZE << MAX_ORDER)	/* 4 MiB */

/* The whole of uslub_slabinfo_write's output, NUL-terminated (malloc'd). */
static char *slabinfo_text(void)
{
	FILE *f = tmpfile();
	char *buf;
	long len;

	if (!f)
		return NULL;
	if (uslub_slabinfo_write(fileno(f)) != 0) {
		fclose(f);
		return NULL;
	}
	len = lseek(fileno(f), 0, SEEK_END);
	buf = malloc((size_t)len + 1);
	if (buf && pread(fileno(f), buf, (size_t)len, 0) == len)
		buf[len] = '\0';
	else if (buf)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

/* The slabinfo row of cache name (first column equal), or NULL. */
static const char *slabinfo_row(const char *text, const char *name)
{
	size_t n = strlen(name);
	const char *line;

	for (line = text; line && *line;
	     line = strchr(line, '\n'), line += !!line)
		if (strncmp(line, name, n) == 0 && line[n] == ' ')
			return line;
	return NULL;
}

TEST_BEGIN(test_roundup_every_size)
{
	size_t size, prev = 0, bad = 0;

	expect_zu_eq(uslub_kmalloc_size_roundup(0), 0, "size 0");
	for (size = 1; size <= SMALL_MAX; size++) {
		size_t r = uslub_kmalloc_size_roundup(size);
		bool ok = r >= size && r >= prev && r <= SMALL_MAX &&
			  r % 8 == 0 && uslub_kmalloc_size_roundup(r) == r &&
			  (size <= 64 || (r - size) * 4 <= r);

		if (!ok && bad++ < 10) {
			expect_zu_ge(r, size, "roundup(%zu) covers it", size);
			expect_true(size <= 64 || (r - size) * 4 <= r,
				    "roundup(%zu) = %zu wastes more than 25%%",
				    size, r);
			expect_zu_eq(uslub_kmalloc_size_roundup(r), r,
				     "roundup(%zu) = %zu is a class", size, r);
		}
		prev = r;
	}
	expect_zu_eq(bad, 0, "sizes with a wrong rounding");
	/* Kernel classes are classes here too. */
	expect_zu_eq(uslub_kmalloc_size_roundup(1), 8, "1 -> 8");
	expect_zu_eq(uslub_kmalloc_size_roundup(9), 16, "9 -> 16");
	expect_zu_eq(uslub_kmalloc_size_roundup(65), 80, "65 -> 80");
	expect_zu_eq(uslub_kmalloc_size_roundup(96), 96, "96 is kmalloc-96");
	expect_zu_eq(uslub_kmalloc_size_roundup(192), 192,
		     "192 is kmalloc-192");
	/* A class an eighth or less above 1, 2 and 4 KiB (a power of two
	 * and a header), and one a sixteenth above 1 KiB. */
	expect_zu_eq(uslub_kmalloc_size_roundup(1025), 1088, "1025 -> 1088");
	expect_zu_eq(uslub_kmalloc_size_roundup(1032), 1088,
		     "SQLite's 1032 -> 1088");
	expect_zu_eq(uslub_kmalloc_size_roundup(1089), 1152, "1089 -> 1152");
	expect_zu_eq(uslub_kmalloc_size_roundup(1152), 1152, "1152 -> 1152");
	expect_zu_eq(uslub_kmalloc_size_roundup(1153), 1280, "1153 -> 1280");
	expect_zu_eq(uslub_kmalloc_size_roundup(2049), 2304, "2049 -> 2304");
	expect_zu_eq(uslub_kmalloc_size_roundup(2305), 2560, "2305 -> 2560");
	expect_zu_eq(uslub_kmalloc_size_roundup(4097), 4480, "4097 -> 4480");
	expect_zu_eq(uslub_kmalloc_size_roundup(4368), 4480,
		     "SQLite's 4368 -> 4480");
	/* Above 4 KiB the classes between powers of two are odd multiples
	 * of 256 (coloured caches), 4480 of 128. */
	expect_zu_eq(uslub_kmalloc_size_roundup(4481), 4864, "4481 -> 4864");
	expect_zu_eq(uslub_kmalloc_size_roundup(4865), 5888, "4865 -> 5888");
	expect_zu_eq(uslub_kmalloc_size_roundup(6913), 8192, "6913 -> 8192");
	expect_zu_eq(uslub_kmalloc_size_roundup(8192), 8192, "8192 -> 8192");
	/* Above the kernel's largest class, four classes a doubling on to
	 * 32 KiB. */
	expect_zu_eq(uslub_kmalloc_size_roundup(8193), 9984, "8193 -> 9984");
	expect_zu_eq(uslub_kmalloc_size_roundup(12289), 14080,
		     "12289 -> 14080");
	expect_zu_eq(uslub_kmalloc_size_roundup(16384), 16384,
		     "16384 is kmalloc-16k");
	expect_zu_eq(uslub_kmalloc_size_roundup(16385), 19712,
		     "16385 -> 19712");
	expect_zu_eq(uslub_kmalloc_size_roundup(28417), 32768,
		     "28417 -> 32768");
	expect_zu_eq(uslub_kmalloc_size_roundup(32768), 32768,
		     "32768 is kmalloc-32k");
}
TEST_END

/* Alignment kmalloc(size) must have: 8 below 16 bytes, else 16, and a
 * power-of-two size aligned to itself (kernel kmalloc guarantee). */
static uintptr_t required_align(size_t size)
{
	if (is_power_of_2(size) && size >= 16)
		return size;
	return size >= 16 ? 16 : 8;
}

/* Every size up to 8 KiB, then every 64th (classes above are 2 KiB and
 * more apart): all of them at once would hold 512 MiB. */
#define EVERY_SIZE_STEP(size)	((size) < 8192 ? 1 : 64)

static void **alloc_every_size(void)
{
	void **p = calloc(SMALL_MAX + 1, sizeof(*p));
	size_t size;

	for (size = 1; p && size <= SMALL_MAX; size += EVERY_SIZE_STEP(size))
		p[size] = uslub_kmalloc(size, 0);
	return p;
}

TEST_BEGIN(test_kmalloc_every_size)
{
	void **p = alloc_every_size();
	size_t size, bad_align = 0, bad_ksize = 0, bad_fill = 0;

	assert_ptr_not_null(p, "pointer array");
	for (size = 1; size <= SMALL_MAX; size += EVERY_SIZE_STEP(size)) {
		size_t ks;

		assert_ptr_not_null(p[size], "kmalloc(%zu)", size);
		ks = uslub_ksize(p[size]);
		if ((uintptr_t)p[size] % required_align(size) &&
		    bad_align++ < 5)
			expect_zu_eq((uintptr_t)p[size] % required_align(size),
				     0, "kmalloc(%zu) = %p not aligned to %zu",
				     size, p[size],
				     (size_t)required_align(size));
		if (ks != uslub_kmalloc_size_roundup(size) && bad_ksize++ < 5)
			expect_zu_eq(ks, uslub_kmalloc_size_roundup(size),
				     "ksize(kmalloc(%zu)) is the class size",
				     size);
		memset(p[size], (int)(size & 0xff), ks);
	}
	/* Every byte up to ksize is the caller's: nothing overlaps. */
	for (size = 1; size <= SMALL_MAX; size += EVERY_SIZE_STEP(size)) {
		unsigned char *b = p[size];
		size_t i, ks = uslub_kmalloc_size_roundup(size);

		for (i = 0; i < ks; i++)
			if (b[i] != (size & 0xff)) {
				bad_fill++;
				break;
			}
	}
	expect_zu_eq(bad_align, 0, "misaligned kmalloc results");
	expect_zu_eq(bad_ksize, 0, "ksize different from the class size");
	expect_zu_eq(bad_fill, 0, "objects overwritten by a neighbour");
	for (size = 1; size <= SMALL_MAX; size += EVERY_SIZE_STEP(size))
		uslub_kfree(p[size]);
	free(p);
}
TEST_END

TEST_BEGIN(test_power_of_two_alignment)
{
	size_t size;
	unsigned int i;

	/* Several objects per class, not only the first of a slab. */
	for (size = 16; size <= SMALL_MAX; size <<= 1) {
		void *p[12];

		for (i = 0; i < ARRAY_SIZE(p); i++) {
			p[i] = uslub_kmalloc(size, 0);
			assert_ptr_not_null(p[i], "kmalloc(%zu)", size);
			expect_zu_eq(
			    (uintptr_t)p[i] % size, 0,
			    "kmalloc(%zu) #%u = %p aligned to its size", size,
			    i, p[i]);
			expect_zu_eq(uslub_ksize(p[i]), size, "ksize(%zu)",
				     size);
		}
		for (i = 0; i < ARRAY_SIZE(p); i++)
			uslub_kfree(p[i]);
	}
}
TEST_END

TEST_BEGIN(test_cpu_off_table)
{
	size_t size, bad = 0;
	unsigned int idx, i;

	init_ensure();
	for (i = KMALLOC_DIRECT_MAX >> KMALLOC_BIG_SHIFT;
	     i < SMALL_MAX >> KMALLOC_BIG_SHIFT; i++) {
		unsigned int want =
		    kmalloc_index(((size_t)i + 1) << KMALLOC_BIG_SHIFT);

		if (kmalloc_big_off[i] != want << CPU_SHIFT && bad++ < 5)
			expect_u_eq(kmalloc_big_off[i], want << CPU_SHIFT,
				    "kmalloc_big_off[%u]", i);
	}
	for (size = 1; size <= SMALL_MAX; size++) {
		unsigned int want = kmalloc_index(size);
		long off = kmalloc_slot_off(size);
		unsigned int got = (unsigned int)(off >> CPU_SHIFT);

		if ((kmalloc_class_size(want) < size ||
		     kmalloc_class_size(want - 1) >= size) && bad++ < 10)
			expect_u_eq(got, want, "kmalloc_index(%zu)", size);
		/* the fast paths' lookup: direct up to KMALLOC_DIRECT_MAX,
		 * then by 256-byte steps */
		if (off != (long)(want << CPU_SHIFT) && bad++ < 10)
			expect_ld_eq(off, (long)(want << CPU_SHIFT),
				     "kmalloc_slot_off(%zu)", size);
	}
	expect_ld_eq(kmalloc_slot_off(SMALL_MAX + 1), -1, "above the classes");
	expect_zu_eq(bad, 0, "table entries disagreeing with kmalloc_index");
	expect_ld_eq(kmalloc_slot_off(0), 0,
		     "size 0: slot 0, whose sheaf is always empty");
	{
		void *p = uslub_kmalloc(8, 0), *z = uslub_kmalloc(0, 0);
		struct kmem_cache_cpu *c0 = cpu_at(thread_cache, 0);

		expect_ptr_not_null(p, "a live thread state");
		expect_ptr_eq(z, ZERO_SIZE_PTR, "kmalloc(0) left the fast path");
		expect_false(c0->top > c0->objects, "slot 0 has no objects");
		uslub_kfree(p);
	}
	expect_ld_eq(kmalloc_slot_off(SMALL_MAX + 1), -1, "above the classes");
	expect_ld_eq(kmalloc_slot_off(SIZE_MAX), -1, "SIZE_MAX");
	for (idx = 1; idx < NR_KMALLOC; idx++) {
		const struct uslub_cache *s = &kmalloc_caches[idx];

		expect_u_eq(s->kmalloc_idx, idx,
			    "kmalloc cache %u knows its slot", idx);
		expect_zu_eq(s->object_size, kmalloc_class_size(idx),
			     "cache %u object size", idx);
		expect_u_eq(s->size, s->object_size,
			    "cache %s has no per-object metadata", s->name);
		if (idx > 1)
			expect_zu_lt(kmalloc_class_size(idx - 1),
				     kmalloc_class_size(idx), "classes ascend");
	}
	expect_zu_eq(kmalloc_class_size(NR_KMALLOC - 1), SMALL_MAX,
		     "last class");
	expect_u_eq(kmalloc_index(SMALL_MAX + 1), 0,
		    "no class above SMALL_MAX");
}
TEST_END

TEST_BEGIN(test_kernel_names)
{
	static const struct { const char *name; unsigned int size;
	} names[] = {
	    {"kmalloc-8", 8},	  {"kmalloc-16", 16},	{"kmalloc-32", 32},
	    {"kmalloc-64", 64},	  {"kmalloc-96", 96},	{"kmalloc-128", 128},
	    {"kmalloc-192", 192}, {"kmalloc-256", 256}, {"kmalloc-512", 512},
	    {"kmalloc-1k", 1024}, {"kmalloc-2k", 2048}, {"kmalloc-4k", 4096},
	    {"kmalloc-8k", 8192}, {"kmalloc-16k", 16384},
	    {"kmalloc-32k", 32768},
	};
	char *text = slabinfo_text();
	unsigned int i;

	assert_ptr_not_null(text, "slabinfo text");
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		const char *row = slabinfo_row(text, names[i].name);
		char name[64];
		unsigned long active, num;
		unsigned int objsize = 0;

		expect_ptr_not_null(row, "slabinfo lists %s", names[i].name);
		if (!row)
			continue;
		expect_d_eq(sscanf(row, "%63s %lu %lu %u", name, &active, &num,
			    &objsize), 4, "row of %s parses", names[i].name);
		expect_u_eq(objsize, names[i].size, "objsize of %s",
			    names[i].name);
	}
	free(text);
}
TEST_END

TEST_BEGIN(test_large_sizes)
{
	static const size_t sizes[] = {
		SMALL_MAX + 1, 40000, 65535, 65536, 65537, 100000, 262144, 262145, 1 << 20, (1 << 20) + 1,
		(2 << 20) + 5, KMALLOC_LARGE_MAX - 1, KMALLOC_LARGE_MAX,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t size = sizes[i], want = PAGE_SIZE << get_order(size);
		char *p = uslub_kmalloc(size, 0);

		assert_ptr_not_null(p, "kmalloc(%zu)", size);
		expect_zu_eq(uslub_ksize(p), want, "ksize(kmalloc(%zu))", size);
		expect_zu_eq(uslub_kmalloc_size_roundup(size), want,
			     "roundup(%zu)", size);
		expect_zu_eq((uintptr_t)p % want, 0,
			     "a buddy block of %zu bytes is naturally aligned",
			     want);
		p[0] = 1;
		p[want - 1] = 2;
		uslub_kfree(p);
	}
}
TEST_END

TEST_BEGIN(test_huge_sizes)
{
	static const size_t sizes[] = {
		KMALLOC_LARGE_MAX + 1, KMALLOC_LARGE_MAX + PAGE_SIZE,
		5 << 20, (10 << 20) + 123, (16 << 20) - 1,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t size = sizes[i], want = ALIGN_UP(size, PAGE_SIZE);
		char *p = uslub_kmalloc(size, 0);

		assert_ptr_not_null(p, "kmalloc(%zu)", size);
		expect_zu_eq(uslub_ksize(p), want, "ksize of a huge %zu", size);
		expect_zu_eq(uslub_kmalloc_size_roundup(size), want,
			     "roundup(%zu) is page-rounded", size);
		expect_zu_eq((uintptr_t)p % PAGE_SIZE, 0, "page aligned");
		p[0] = 1;
		p[want - 1] = 2;
		uslub_kfree(p);
	}
}
TEST_END

int main(void)
{
	return test(test_roundup_every_size, test_kmalloc_every_size,
		    test_power_of_two_alignment, test_cpu_off_table,
		    test_kernel_names, test_large_sizes, test_huge_sizes, NULL);
}
