/*
 * Unit tests for slab geometry (lib/slab.c): slab_calculate_order,
 * slab_min_partial, sheaf_capacity and slab_calculate_sizes.
 *
 * The expected orders come from the kernel's calculate_order (mm/slub.c,
 * 6.8+): min_objects = 4 * (fls(ncpus) + 1), capped by what fits in an
 * order-3 slab; the lowest order >= get_order(min_objects * size) whose
 * leftover is at most 1/16 of the slab, then 1/8, 1/4, 1/2; beyond order
 * 3, get_order(size).  A table worked out by hand pins the common sizes
 * and a reference written here from the kernel's text sweeps the rest.
 */
#include "test.h"

#include "debug.h"
#include "init.h"
#include "kmalloc.h"
#include "sheaf.h"
#include "slab.h"

#define KERNEL_MAX_ORDER 3 /* slub_max_order = PAGE_ALLOC_COSTLY_ORDER */

/* ---- A reference calculate_order, transcribed from mm/slub.c --------- */

static unsigned int ref_calc_slab_order(unsigned int size,
					unsigned int min_order,
					unsigned int fract)
{
	unsigned int order;

	for (order = min_order; order <= KERNEL_MAX_ORDER; order++) {
		unsigned int slab_size = (unsigned int)PAGE_SIZE << order;

		if (slab_size % size <= slab_size / fract)
			break;
	}
	return order;
}

static unsigned int ref_calculate_order(unsigned int size, unsigned int ncpus)
{
	unsigned int min_objects = 4 * ((unsigned int)fls(ncpus) + 1);
	unsigned int max_objects =
	    ((unsigned int)PAGE_SIZE << KERNEL_MAX_ORDER) / size;
	unsigned int min_order, fraction, order;

	if (max_objects < 1)
		max_objects = 1;
	if (min_objects > max_objects)
		min_objects = max_objects;
	min_order = get_order((unsigned long)min_objects * size);
	for (fraction = 16; fraction > 1; fraction /= 2) {
		order = ref_calc_slab_order(size, min_order, fraction);
		if (order <= KERNEL_MAX_ORDER)
			return order;
	}
	return get_order(size);
}

/* ---- Orders worked out by hand --------------------------------------- */

struct order_case {
	unsigned int size;
	unsigned int order[3];		/* ncpus = 1, 2, 16 */
};

/*
 * ncpus 1, 2, 16 give min_objects 8, 12, 24.  Examples of the arithmetic:
 *   700, 1 cpu:  8*700 = 5600 -> order 1; 8192 % 700 = 492 <= 512 -> 1
 *   700, 2 cpus: 12*700 = 8400 -> order 2; 16384 % 700 = 284 -> 2
 *   700, 16:     24*700 = 16800 -> order 3; 32768 % 700 = 568 -> 3
 *   192, 16:     24*192 = 4608 -> order 1; 8192 % 192 = 128 <= 512 -> 1
 *   3000, any:   10 fit in order 3, 10*3000 -> 3; 32768 % 3000 = 2768 >
 *                2048 (1/16) but <= 4096 (1/8) -> 3
 *   5000:        6 fit; 30000 -> 3; 2768 <= 4096 at 1/8 -> 3
 */
static const struct order_case order_table[] = {
	{ 8,    { 0, 0, 0 } },
	{ 64,   { 0, 0, 0 } },
	{ 192,  { 0, 0, 1 } },
	{ 256,  { 0, 0, 1 } },
	{ 700,  { 1, 2, 3 } },
	{ 1024, { 1, 2, 3 } },
	{ 2048, { 2, 3, 3 } },
	{ 3000, { 3, 3, 3 } },
	{ 4096, { 3, 3, 3 } },
	{ 5000, { 3, 3, 3 } },
	{ 8192, { 3, 3, 3 } },
};

static const unsigned int table_cpus[3] = { 1, 2, 16 };

TEST_BEGIN(test_order_table)
{
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(order_table); i++) {
		const struct order_case *oc = &order_table[i];

		for (j = 0; j < 3; j++)
			expect_u_eq(
			    slab_calculate_order(oc->size, table_cpus[j]),
			    oc->order[j], "size %u, %u cpus", oc->size,
			    table_cpus[j]);
	}
}
TEST_END

TEST_BEGIN(test_order_big_objects)
{
	/* No object fits order 3: one object, the smallest order holding it. */
	expect_u_eq(slab_calculate_order(32768, 1), 3, "32 KiB exactly fits 3");
	expect_u_eq(slab_calculate_order(32769, 1), 4, "32 KiB + 1 -> 4");
	expect_u_eq(slab_calculate_order(40000, 16), 4, "40000 -> 4");
	expect_u_eq(slab_calculate_order(65536, 2), 4, "64 KiB -> 4");
	expect_u_eq(slab_calculate_order(1u << 20, 2), 8, "1 MiB -> 8");
	expect_u_eq(slab_calculate_order(2u << 20, 2), 9, "2 MiB -> 9");
	/* 16400: one fits in order 3 (min_objects capped to 1); leftover
	 * 16368 passes only the 1/2 test: order 3. */
	expect_u_eq(slab_calculate_order(16400, 2), 3, "16400 -> 3");
	/* 11000: 2 fit in 32 KiB, leftover 10768 > 1/4, <= 1/2 -> 3. */
	expect_u_eq(slab_calculate_order(11000, 1), 3, "11000 -> 3");
}
TEST_END

TEST_BEGIN(test_order_sweep)
{
	static const unsigned int cpus[] = { 1, 2, 3, 4, 7, 8, 16, 64, 256 };
	unsigned int i, size, bad = 0;

	for (i = 0; i < ARRAY_SIZE(cpus); i++) {
		for (size = 8; size <= 3 * 8192; size += 8) {
			unsigned int got = slab_calculate_order(size, cpus[i]);
			unsigned int want = ref_calculate_order(size, cpus[i]);

			if (got != want && bad++ < 10)
				expect_u_eq(got, want, "size %u, %u cpus", size,
					    cpus[i]);
		}
	}
	expect_u_eq(bad, 0, "orders differing from the kernel's rule");
}
TEST_END

TEST_BEGIN(test_min_partial)
{
	/* clamp(ilog2(size) / 2, 5, 10) */
	expect_u_eq(slab_min_partial(8), 5, "ilog2 3 -> 1 -> 5");
	expect_u_eq(slab_min_partial(256), 5, "ilog2 8 -> 4 -> 5");
	expect_u_eq(slab_min_partial(1023), 5, "ilog2 9 -> 4 -> 5");
	expect_u_eq(slab_min_partial(1024), 5, "ilog2 10 -> 5");
	expect_u_eq(slab_min_partial(4095), 5, "ilog2 11 -> 5");
	expect_u_eq(slab_min_partial(4096), 6, "ilog2 12 -> 6");
	expect_u_eq(slab_min_partial(8192), 6, "ilog2 13 -> 6");
	expect_u_eq(slab_min_partial(16384), 7, "ilog2 14 -> 7");
	expect_u_eq(slab_min_partial(65536), 8, "ilog2 16 -> 8");
	expect_u_eq(slab_min_partial(1u << 18), 9, "ilog2 18 -> 9");
	expect_u_eq(slab_min_partial(1u << 20), 10, "ilog2 20 -> 10");
	expect_u_eq(slab_min_partial(1u << 22), 10, "ilog2 22 -> 11 -> 10");
	expect_u_eq(slab_min_partial(0x80000000u), 10, "ilog2 31 -> 10");
}
TEST_END

/* ---- slab_calculate_sizes ------------------------------------------- */

static struct uslub_cache geo;

static void ctor_nop(void *p)
{
	(void)p;
}

static void geometry(unsigned int object_size, unsigned int align,
		     uslub_slab_flags_t flags, void (*ctor)(void *),
		     unsigned int ncpus)
{
	memset(&geo, 0, sizeof(geo));
	geo.object_size = object_size;
	geo.align = align;
	geo.flags = flags;
	geo.ctor = ctor;
	slab_calculate_sizes(&geo, ncpus);
}

/*
 * Where a slab's objects may start at most (slab.h, slab_colour): 0, or
 * for a coloured cache size - g, g the largest power of two dividing
 * size and the page size.
 */
static unsigned long worst_colour(const struct uslub_cache *s)
{
	unsigned long g = 1;

	if (!s->coloured)
		return 0;
	while (!(s->size % (g * 2)) && g * 2 <= PAGE_SIZE)
		g *= 2;
	return s->size - g;
}

/* The order the geometry must have: SLUB's, or the coloured rule. */
static unsigned int ref_order(const struct uslub_cache *s, unsigned int ncpus)
{
	return s->coloured ? slab_coloured_order(s->size)
			   : ref_calculate_order(s->size, ncpus);
}

/* Whether every slab holds objects, and one more would not fit. */
static bool objects_fit(const struct uslub_cache *s)
{
	unsigned long slab_bytes = PAGE_SIZE << s->order;
	unsigned long start = worst_colour(s);

	return start + (unsigned long)s->objects * s->size <= slab_bytes &&
	       (s->objects == MAX_OBJS_PER_SLAB ||
		start + (unsigned long)(s->objects + 1) * s->size >
			slab_bytes);
}

/* Every invariant that ties size, order and objects together. */
static void check_fit(unsigned int object_size, unsigned int ncpus)
{
	expect_u_eq(geo.order, ref_order(&geo, ncpus),
		    "order of %u-byte objects", object_size);
	expect_true(objects_fit(&geo),
		    "objects (%u of %u bytes, coloured %d) is every object "
		    "that fits 2^%u pages", geo.objects, geo.size,
		    geo.coloured, geo.order);
	expect_b_eq(geo.coloured, !(geo.flags & SLAB_DEBUG_FLAGS) &&
				  geo.size > PAGE_SIZE &&
				  geo.size <= SMALL_MAX &&
				  geo.size % PAGE_SIZE != 0,
		    "coloured: size %u", geo.size);
	expect_true(geo.objects >= 1, "at least one object per slab");
	expect_u_eq(geo.min_partial,
		    geo.coloured ? CLAMP((unsigned int)((256UL << 10) >>
						       (PAGE_SHIFT + geo.order)),
					 2u, slab_min_partial(geo.size))
				 : slab_min_partial(geo.size),
		    "min_partial from size %u", geo.size);
	expect_u_eq(geo.size % geo.align, 0,
		    "size %u is a multiple of align %u", geo.size, geo.align);
	expect_true(geo.size >= object_size, "size covers the object");
}

TEST_BEGIN(test_sizes_free_pointer_second_word)
{
	static const unsigned int sizes[] = { 1, 7, 8, 9, 15, 16, 24, 100,
					      192, 700, 1000, 4096, 5000 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		unsigned int sz = sizes[i];

		geometry(sz, 0, 0, NULL, 2);
		expect_u_eq(geo.offset, sz >= 16 ? 8 : 0,
			    "free pointer in the second word, after the tag, "
			    "for size %u (the first if there is one)", sz);
		expect_u_eq(geo.size, ALIGN_UP(sz, 8u), "no room added for %u",
			    sz);
		expect_u_eq(geo.align, 8, "default alignment is a word");
		expect_true(geo.offset + 8 <= geo.size,
			    "free pointer inside the object (%u)", sz);
		check_fit(sz, 2);
	}
}
TEST_END

TEST_BEGIN(test_sizes_free_pointer_after_object)
{
	static const unsigned int sizes[] = { 1, 8, 13, 100, 256, 4096 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		unsigned int sz = sizes[i];

		geometry(sz, 0, 0, ctor_nop, 2);
		expect_u_eq(geo.offset, ALIGN_UP(sz, 8u),
			    "ctor: free pointer after the %u-byte object", sz);
		expect_u_eq(geo.size, ALIGN_UP(sz, 8u) + 8,
			    "ctor: one word added to %u", sz);
		check_fit(sz, 2);

		geometry(sz, 0, USLUB_TYPESAFE_BY_RCU, NULL, 2);
		expect_u_eq(geo.offset, ALIGN_UP(sz, 8u),
			    "RCU: free pointer after the %u-byte object", sz);
		expect_u_eq(geo.size, ALIGN_UP(sz, 8u) + 8,
			    "RCU: one word added to %u", sz);
		check_fit(sz, 2);
	}
	/* The added word is rounded to the alignment. */
	geometry(64, 64, 0, ctor_nop, 2);
	expect_u_eq(geo.offset, 64, "after a 64-byte object");
	expect_u_eq(geo.size, 128, "64 + 8 rounded to 64-byte alignment");
}
TEST_END

/* calculate_alignment: 64, halved while size <= align / 2; at least a
 * word; the caller's alignment wins when larger. */
static unsigned int hw_align(unsigned int size)
{
	unsigned int ralign = 64;

	while (size <= ralign / 2)
		ralign /= 2;
	return ralign < 8 ? 8 : ralign;
}

TEST_BEGIN(test_sizes_hwcache_align)
{
	unsigned int sz;

	geometry(100, 0, USLUB_HWCACHE_ALIGN, NULL, 2);
	expect_u_eq(geo.align, 64, "100 bytes: a full line");
	expect_u_eq(geo.size, 128, "100 rounded to 128");
	geometry(33, 0, USLUB_HWCACHE_ALIGN, NULL, 2);
	expect_u_eq(geo.align, 64, "33 > 32: a full line");
	geometry(32, 0, USLUB_HWCACHE_ALIGN, NULL, 2);
	expect_u_eq(geo.align, 32, "32 <= 32: half a line");
	expect_u_eq(geo.size, 32, "32-byte objects stay 32");
	geometry(20, 0, USLUB_HWCACHE_ALIGN, NULL, 2);
	expect_u_eq(geo.align, 32, "20: 64 -> 32, 20 > 16 stops");
	expect_u_eq(geo.size, 32, "20 rounded to 32");
	geometry(16, 0, USLUB_HWCACHE_ALIGN, NULL, 2);
	expect_u_eq(geo.align, 16, "16: 64 -> 32 -> 16");
	geometry(8, 0, USLUB_HWCACHE_ALIGN, NULL, 2);
	expect_u_eq(geo.align, 8, "8: down to 8");
	geometry(2, 0, USLUB_HWCACHE_ALIGN, NULL, 2);
	expect_u_eq(geo.align, 8, "2: at least a word");
	geometry(20, 128, USLUB_HWCACHE_ALIGN, NULL, 2);
	expect_u_eq(geo.align, 128, "explicit 128 beats the line rule");
	expect_u_eq(geo.size, 128, "20 rounded to 128");
	geometry(4096, 0, USLUB_HWCACHE_ALIGN, NULL, 2);
	expect_u_eq(geo.align, 64, "4096: a line");
	expect_u_eq(geo.size, 4096, "4096 stays 4096 (no metadata)");
	expect_u_eq(geo.order, 3, "the seed cache: order 3");
	expect_u_eq(geo.objects, 8, "the seed cache: 8 objects per slab");
	for (sz = 1; sz <= 300; sz++) {
		geometry(sz, 0, USLUB_HWCACHE_ALIGN, NULL, 2);
		if (geo.align != hw_align(sz) ||
		    geo.size != ALIGN_UP(ALIGN_UP(sz, 8u), hw_align(sz))) {
			expect_u_eq(geo.align, hw_align(sz),
				    "align for size %u", sz);
			expect_u_eq(geo.size,
				    ALIGN_UP(ALIGN_UP(sz, 8u), hw_align(sz)),
				    "size for size %u", sz);
			break;
		}
	}
	/* Without the flag, a small caller alignment is raised to a word. */
	geometry(20, 4, 0, NULL, 2);
	expect_u_eq(geo.align, 8, "align 4 raised to 8");
	expect_u_eq(geo.size, 24, "20 rounded to 24");
}
TEST_END

TEST_BEGIN(test_sizes_every_object_fits)
{
	static const unsigned int cpus[] = { 1, 2, 16, 128 };
	unsigned int i, sz, bad = 0;

	for (i = 0; i < ARRAY_SIZE(cpus); i++) {
		for (sz = 1; sz <= 40000; sz += (sz < 512 ? 1 : 37)) {
			geometry(sz, 0, (sz & 1) ? USLUB_HWCACHE_ALIGN : 0,
				 (sz & 2) ? ctor_nop : NULL, cpus[i]);
			if (!objects_fit(&geo) ||
			    geo.order != ref_order(&geo, cpus[i]) ||
			    geo.offset + 8 > geo.size) {
				if (bad++ < 5)
					check_fit(sz, cpus[i]);
			}
		}
	}
	expect_u_eq(bad, 0, "geometries breaking the fit rules");
}
TEST_END

TEST_BEGIN(test_sheaf_capacity)
{
	/*
	 * SLUB's calculate_sheaf_capacity gives about 60 objects below 256
	 * bytes, 26 below 1 KiB, 12 below 4 KiB, 4 above.  uslub's sheaves
	 * are 64 to 1024 bytes with a 40-byte header; small objects get
	 * the biggest.
	 */
	expect_u_eq(sheaf_capacity(8), 123, "8 B: a 1024-byte sheaf");
	expect_u_eq(sheaf_capacity(128), 123, "128 B: still 123");
	expect_u_eq(sheaf_capacity(129), 59, "above 128 B: 512-byte sheaf");
	expect_u_eq(sheaf_capacity(256), 59, "256 B: 59");
	expect_u_eq(sheaf_capacity(257), 27, "above 256 B: 27");
	expect_u_eq(sheaf_capacity(1024), 27, "1 KiB: 27");
	expect_u_eq(sheaf_capacity(1025), 11, "above 1 KiB: 11");
	expect_u_eq(sheaf_capacity(4096), 6, "4 KiB: 6");
	expect_u_eq(sheaf_capacity(16384), 6, "16 KiB: 6");
	expect_u_eq(sheaf_capacity(16385), 4, "above 16 KiB: 4");
	expect_u_eq(sheaf_capacity(SMALL_MAX), 4, "the largest class: 4");
	for (unsigned int size = 8; size <= SMALL_MAX; size += 8) {
		expect_u_le(sheaf_capacity(size), SHEAF_MAX_CAPACITY,
			    "%u-byte objects: within the largest sheaf", size);
		/* What a thread may hold in two sheaves stays under 64 KiB
		 * up to 4 KiB objects, under 256 KiB for the largest. */
		expect_u_le(2 * sheaf_capacity(size) * size,
			    size <= 4096 ? 64u << 10 : 256u << 10,
			    "two sheaves of %u-byte objects", size);
	}
}
TEST_END

TEST_BEGIN(test_kmalloc_big_orders)
{
	/* Classes above 8 KiB that are not coloured (the powers of two):
	 * the lowest order from two objects up, 1/16, 1/8 then 1/4 of
	 * waste, order 4 at most. */
	static const unsigned int want[][2] = {
		{ 10240, 3 }, { 12288, 4 }, { 14336, 3 }, { 16384, 3 },
		{ 20480, 4 }, { 24576, 4 }, { 28672, 4 }, { 32768, 4 },
	};
	/* Coloured classes: the lowest order holding two or more that
	 * wastes at most 1/4, with the first object as far in as it may be
	 * (size - 256 for odd multiples of 256, size - 128 for 4480), and
	 * whose objects cover eight pages (4480: six at order 3 do not). */
	static const unsigned int coloured[][3] = {
		{ 4480, 4, 13 }, { 4864, 4, 12 }, { 5888, 4, 10 }, { 6912, 4, 8 },
		{ 9984, 4, 5 }, { 12032, 5, 9 }, { 14080, 5, 8 },
		{ 19712, 5, 5 }, { 23808, 6, 10 }, { 28416, 6, 8 },
	};
	struct barn barn;
	unsigned int i, idx, n = 0;

	for (i = 0; i < ARRAY_SIZE(want); i++)
		expect_u_eq(slab_kmalloc_big_order(want[i][0]), want[i][1],
			    "kmalloc class %u", want[i][0]);
	for (i = 0; i < ARRAY_SIZE(coloured); i++) {
		unsigned int size = coloured[i][0], order = coloured[i][1];

		expect_u_eq(slab_coloured_order(size), order,
			    "coloured class %u: order", size);
		expect_u_eq(slab_coloured_objects(order, size), coloured[i][2],
			    "coloured class %u: objects", size);
		/* one more would not fit the worst colour */
		expect_zu_gt((size - (size & -size)) +
			     (coloured[i][2] + 1UL) * size,
			     PAGE_SIZE << order, "class %u: every object",
			     size);
	}
	init_ensure();
	for (idx = 1; idx < NR_KMALLOC; idx++) {
		const struct uslub_cache *s = &kmalloc_caches[idx];
		unsigned long slab = PAGE_SIZE << s->order;

		if (s->object_size <= PAGE_SIZE)
			continue;
		/* Every class above a page is coloured but the powers of two,
		 * which keep kmalloc's natural alignment. */
		expect_b_eq(s->coloured, !is_power_of_2(s->size),
			    "%s: coloured", s->name);
		if (s->coloured) {
			/* odd multiples of 256 (and 4480 of 128): 16 or
			 * more offsets in a page */
			expect_u_le(s->size & -s->size, 256,
				    "%s: 16 colours at least", s->name);
			expect_u_le(s->order, 6, "%s: order", s->name);
			expect_zu_le(slab - (size_t)s->objects * s->size,
				     slab / 4, "%s: waste", s->name);
			expect_zu_ge((size_t)s->objects * s->size,
				     8 * PAGE_SIZE, "%s: pages covered",
				     s->name);
			/* empty slabs kept: 256 KiB, two slabs at least */
			expect_zu_le((size_t)s->min_partial * slab,
				     MAX(256UL << 10, 2 * slab),
				     "%s: min_partial %u", s->name,
				     s->min_partial);
			n++;
		} else {
			expect_u_le(s->order, 4, "%s: order", s->name);
			expect_zu_le(slab % s->size, slab / 4, "%s: waste",
				     s->name);
		}
		expect_u_ge(s->objects, 2, "%s: objects a slab", s->name);
		/* The barn: ten sheaves, or BARN_FLOOR_BYTES of objects if
		 * less. */
		expect_zu_le((size_t)s->barn.max_full * s->sheaf_capacity *
			     s->size, BARN_FLOOR_BYTES, "%s: the barn's bound",
			     s->name);
		expect_u_ge(s->barn.max_full, 2, "%s: barn of 2 at least",
			    s->name);
	}
	expect_u_eq(kmalloc_caches[kmalloc_index(64)].barn.max_full,
		    BARN_BYTES / (123 * 64), "kmalloc-64: 256 KiB of objects");
	expect_u_eq(n, 10, "coloured classes");
	expect_u_eq(kmalloc_caches[kmalloc_index(20480)].barn.max_full,
		    MAX_FULL_SHEAVES, "kmalloc-23808: ten sheaves");
	expect_u_eq(kmalloc_caches[kmalloc_index(32768)].barn.max_full,
		    BARN_FLOOR_BYTES / (4 * 32768),
		    "kmalloc-32k: 1 MiB of objects, not 10 sheaves");
	barn_init(&barn, 4, 128 << 10);
	expect_u_eq(barn.max_full, 2, "128 KiB objects: two sheaves at least");
	barn_init(&barn, 1, 4 << 20);
	expect_u_eq(barn.max_full, 2, "4 MiB objects: two sheaves at least");
}
TEST_END

int main(void)
{
	return test(test_order_table, test_order_big_objects, test_order_sweep,
		    test_kmalloc_big_orders,
		    test_min_partial, test_sizes_free_pointer_second_word,
		    test_sizes_free_pointer_after_object,
		    test_sizes_hwcache_align, test_sizes_every_object_fits,
		    test_sheaf_capacity, NULL);
}
