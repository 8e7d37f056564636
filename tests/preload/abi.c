/*
 * tests/preload/abi.c -- glibc 2.36's documented malloc behaviour at the
 * API edge, checked through the C library's names.  Only facts that hold
 * for any conforming allocator are checked, so the program passes under
 * glibc and under LD_PRELOAD=libuslub-preload.so alike (the oracle is
 * glibc 2.36 itself, as measured on Debian 12): overflow and
 * impossible sizes fail with ENOMEM, posix_memalign's EINVAL cases leave
 * *p and errno alone, alignments hold from 8 bytes to 1 GiB, free keeps
 * errno, calloc memory is zero even when recycled, realloc keeps contents,
 * and the glibc extras (mallopt, malloc_trim, mallinfo2, malloc_info,
 * __libc_*) answer.  TAP on stdout; exit 0 iff every test passed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KiB	((size_t)1 << 10)
#define MiB	((size_t)1 << 20)

/* glibc exports these without declaring them. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t nmemb, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);
extern void __libc_free(void *p);

/* ---- A tiny TAP runner ----------------------------------------------- */

#define DIAG_MAX	5		/* failures shown per test */

static bool test_ok;
static int test_failures;

static void check_fail(int line, const char *cond, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void check_fail(int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	test_ok = false;
	if (++test_failures > DIAG_MAX)
		return;
	printf("# abi.c:%d: failed: %s", line, cond);
	if (fmt[0]) {
		printf(": ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	printf("\n");
}

#pragma GCC diagnostic ignored "-Wformat-zero-length"
/* The block is used again after a realloc that failed, as the API allows. */
#pragma GCC diagnostic ignored "-Wuse-after-free"
#define CHECK(cond, ...) do {						\
	if (!(cond))							\
		check_fail(__LINE__, #cond, "" __VA_ARGS__);		\
} while (0)

/* A value the compiler cannot see, so impossible sizes reach the call. */
static size_t opaque(size_t x)
{
	__asm__("" : "+r"(x));
	return x;
}

static bool aligned(const void *p, size_t align)
{
	return ((uintptr_t)p & (align - 1)) == 0;
}

/* Writes n bytes of a pattern seeded by seed; checks it back. */
static void fill(void *p, size_t n, unsigned seed)
{
	unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		c[i] = (unsigned char)(i * 31 + seed);
}

static bool filled(const void *p, size_t n, unsigned seed)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i] != (unsigned char)(i * 31 + seed))
			return false;
	return true;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i])
			return false;
	return true;
}

/* Sizes worth sampling: every size to 1 KiB, then about 6% apart, and
 * each power of two and its neighbours, to 70000.  Returns the count. */
static size_t sample_sizes(size_t *out, size_t max)
{
	size_t n = 0, s, b;

	for (s = 1; s <= 1024 && n < max; s++)
		out[n++] = s;
	for (s = 1025; s <= 70000 && n < max; s += s / 16)
		out[n++] = s;
	for (b = 2048; b <= 65536 && n + 3 <= max; b <<= 1) {
		out[n++] = b - 1;
		out[n++] = b;
		out[n++] = b + 1;
	}
	if (n < max)
		out[n++] = 70000;
	return n;
}

/* ---- Failure with ENOMEM --------------------------------------------- */

static void test_malloc_too_big(void)
{
	void *p;

	errno = 0;
	p = malloc(opaque(SIZE_MAX));
	CHECK(p == NULL);
	CHECK(errno == ENOMEM, "errno %d", errno);
	errno = 0;
	p = malloc(opaque(SIZE_MAX - 4 * KiB));
	CHECK(p == NULL);
	CHECK(errno == ENOMEM, "errno %d", errno);
	errno = 0;
	p = malloc(opaque((size_t)PTRDIFF_MAX + 1));
	CHECK(p == NULL);
	CHECK(errno == ENOMEM, "errno %d", errno);
}

static void test_calloc_overflow(void)
{
	void *p;

	errno = 0;
	p = calloc(opaque(SIZE_MAX / 2), 4);
	CHECK(p == NULL);
	CHECK(errno == ENOMEM, "errno %d", errno);
	errno = 0;
	p = calloc(4, opaque(SIZE_MAX / 2));
	CHECK(p == NULL);
	CHECK(errno == ENOMEM, "errno %d", errno);
	errno = 0;
	p = calloc(opaque((size_t)1 << 32), (size_t)1 << 32);	/* product wraps to 0 */
	CHECK(p == NULL);
	CHECK(errno == ENOMEM, "errno %d", errno);
}

static void test_reallocarray_overflow(void)
{
	char *p, *q;

	errno = 0;
	q = reallocarray(NULL, opaque(SIZE_MAX / 2), 4);
	CHECK(q == NULL);
	CHECK(errno == ENOMEM, "errno %d", errno);

	p = reallocarray(NULL, 10, 10);
	CHECK(p != NULL);
	if (!p)
		return;
	fill(p, 100, 7);
	errno = 0;
	q = reallocarray(p, opaque((size_t)1 << 32), (size_t)1 << 32);
	CHECK(q == NULL);
	CHECK(errno == ENOMEM, "errno %d", errno);
	CHECK(filled(p, 100, 7), "the block changed after a failed call");
	free(p);
}

static void test_realloc_too_big(void)
{
	size_t sizes[] = { 24, 5000, 200 * KiB, 5 * MiB };
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *p = malloc(sizes[i]), *q;

		CHECK(p != NULL, "malloc(%zu)", sizes[i]);
		if (!p)
			continue;
		fill(p, sizes[i], 3);
		errno = 0;
		q = realloc(p, opaque(SIZE_MAX));
		CHECK(q == NULL, "realloc(malloc(%zu), SIZE_MAX)", sizes[i]);
		CHECK(errno == ENOMEM, "errno %d", errno);
		errno = 0;
		q = realloc(p, opaque(SIZE_MAX - 64 * KiB));
		CHECK(q == NULL, "realloc(malloc(%zu), SIZE_MAX - 64K)",
		      sizes[i]);
		CHECK(errno == ENOMEM, "errno %d", errno);
		CHECK(filled(p, sizes[i], 3), "size %zu: contents lost",
		      sizes[i]);
		CHECK(malloc_usable_size(p) >= sizes[i]);
		free(p);
	}
}

static void test_memalign_too_big(void)
{
	void *p;

	errno = 0;
	p = memalign(opaque((size_t)1 << 40), 8);
	CHECK(p == NULL);
	CHECK(errno == ENOMEM, "errno %d", errno);
	free(p);
}

/* ---- realloc edge cases ---------------------------------------------- */

static void test_realloc_zero(void)
{
	size_t sizes[] = { 1, 100, 20000, 2 * MiB };
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = malloc(sizes[i]), *q;

		CHECK(p != NULL);
		errno = 4321;
		q = realloc(p, 0);	/* frees p */
		CHECK(q == NULL, "realloc(malloc(%zu), 0) = %p", sizes[i], q);
		CHECK(errno == 4321, "errno %d", errno);
		free(q);
	}
}

static void test_realloc_null_zero(void)
{
	void *p = realloc(NULL, 0), *q = realloc(NULL, 0);

	CHECK(p != NULL);
	CHECK(q != NULL);
	CHECK(p != q, "two realloc(NULL, 0) gave %p twice", p);
	free(p);
	free(q);
}

/* Grow 1 byte to 8 MiB and shrink back, checking what both sizes hold. */
static void test_realloc_keeps_contents(void)
{
	size_t up[] = { 1, 2, 7, 15, 16, 17, 24, 100, 500, 1000, 2048, 4095,
			4097, 8192, 9000, 33000, 65536, 100000, 300000,
			1 * MiB, 2 * MiB + 5, 4 * MiB, 5 * MiB, 8 * MiB };
	size_t n = sizeof(up) / sizeof(up[0]);
	size_t old = 0, i, k;
	char *p = NULL;

	for (k = 0; k < 2 * n; k++) {
		size_t size = k < n ? up[k] : up[2 * n - 1 - k];
		char *q = realloc(p, size);

		CHECK(q != NULL, "realloc(%p, %zu)", (void *)p, size);
		if (!q)
			break;
		p = q;
		CHECK(filled(p, old < size ? old : size, 9),
		      "%zu -> %zu: contents lost", old, size);
		CHECK(malloc_usable_size(p) >= size);
		if (size > 15)
			CHECK(aligned(p, 16), "%p for %zu", (void *)p, size);
		fill(p, size, 9);
		old = size;
	}
	free(p);

	/* Many small objects moved across classes one step at a time. */
	for (i = 0; i < 64; i++) {
		char *q = malloc(1);
		size_t s;

		CHECK(q != NULL);
		if (!q)
			return;
		fill(q, 1, (unsigned)i);
		for (s = 2; s < 3000; s += s / 3 + 1) {
			char *r = realloc(q, s);

			CHECK(r != NULL);
			if (!r)
				break;
			q = r;
			CHECK(filled(q, 1, (unsigned)i));
		}
		free(q);
	}
}

/* ---- Alignment ------------------------------------------------------- */

static void test_posix_memalign_einval(void)
{
	size_t bad[] = { 0, 1, 2, 4, 12, 24, 48, 100, 4097 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		void *p = &p;
		int rc;

		errno = 777;
		rc = posix_memalign(&p, bad[i], 8);
		CHECK(rc == EINVAL, "align %zu: returned %d", bad[i], rc);
		CHECK(p == &p, "align %zu: *p changed to %p", bad[i], p);
		CHECK(errno == 777, "align %zu: errno %d", bad[i], errno);
	}
}

static void test_posix_memalign_zero(void)
{
	void *p = NULL;
	int rc = posix_memalign(&p, 16, 0);

	CHECK(rc == 0, "returned %d", rc);
	CHECK(p != NULL);
	CHECK(aligned(p, 16));
	free(p);
}

static void test_posix_memalign_alignments(void)
{
	size_t sizes[] = { 1, 24, 100, 4096 + 8 };
	size_t align, i;

	for (align = 8; align <= (size_t)1 << 30; align <<= 1) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			void *p = NULL;
			int rc = posix_memalign(&p, align, sizes[i]);

			CHECK(rc == 0, "align %zu size %zu: %d", align,
			      sizes[i], rc);
			if (rc)
				continue;
			CHECK(aligned(p, align), "align %zu size %zu: %p",
			      align, sizes[i], p);
			CHECK(malloc_usable_size(p) >= sizes[i],
			      "align %zu size %zu: usable %zu", align,
			      sizes[i], malloc_usable_size(p));
			fill(p, sizes[i], (unsigned)align);
			CHECK(filled(p, sizes[i], (unsigned)align));
			free(p);
		}
	}
	/* A block as big as its alignment, and live ones side by side. */
	{
		void *v[32];

		for (i = 0; i < 32; i++) {
			size_t a = (size_t)64 << (i % 10);

			v[i] = NULL;
			CHECK(posix_memalign(&v[i], a, a) == 0, "align %zu", a);
			if (v[i]) {
				CHECK(aligned(v[i], a));
				fill(v[i], a, (unsigned)i);
			}
		}
		for (i = 0; i < 32; i++) {
			if (v[i])
				CHECK(filled(v[i], (size_t)64 << (i % 10),
					     (unsigned)i), "block %zu", i);
			free(v[i]);
		}
	}
}

static void test_aligned_alloc_lenient(void)
{
	struct { size_t align, size, check; } c[] = {
		{ 24, 48, 8 }, { 0, 10, 1 }, { 64, 10, 64 }, { 4096, 1, 4096 },
		{ 16, 100, 16 }, { 1, 1, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		void *p = aligned_alloc(c[i].align, c[i].size);

		CHECK(p != NULL, "aligned_alloc(%zu, %zu)", c[i].align,
		      c[i].size);
		if (!p)
			continue;
		CHECK(aligned(p, c[i].check), "aligned_alloc(%zu, %zu) = %p",
		      c[i].align, c[i].size, p);
		CHECK(malloc_usable_size(p) >= c[i].size);
		fill(p, c[i].size, 1);
		free(p);
	}
}

static void test_memalign(void)
{
	void *p = memalign(24, 10);
	size_t a;

	CHECK(p != NULL);
	CHECK(aligned(p, 32), "memalign(24, 10) = %p", p);
	CHECK(malloc_usable_size(p) >= 10);
	free(p);
	for (a = 1; a <= 64 * KiB; a <<= 1) {
		p = memalign(a, 3 * a);
		CHECK(p != NULL, "memalign(%zu)", a);
		CHECK(aligned(p, a), "memalign(%zu) = %p", a, p);
		if (p)
			fill(p, 3 * a, 5);
		free(p);
	}
}

static void test_valloc(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t sizes[] = { 0, 1, 100, 4096, 5000, 1 * MiB };
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = valloc(sizes[i]);

		CHECK(p != NULL, "valloc(%zu)", sizes[i]);
		CHECK(aligned(p, page), "valloc(%zu) = %p", sizes[i], p);
		CHECK(malloc_usable_size(p) >= sizes[i]);
		if (p)
			fill(p, sizes[i], 2);
		free(p);
	}
}

static void test_pvalloc(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p = pvalloc(1);
	void *q = pvalloc(page + 1);

	CHECK(p != NULL);
	CHECK(aligned(p, page), "pvalloc(1) = %p", p);
	CHECK(malloc_usable_size(p) >= page, "usable %zu",
	      malloc_usable_size(p));
	if (p)
		fill(p, page, 4);		/* the whole page is ours */
	CHECK(q != NULL);
	CHECK(aligned(q, page), "pvalloc(page + 1) = %p", q);
	CHECK(malloc_usable_size(q) >= 2 * page, "usable %zu",
	      malloc_usable_size(q));
	if (q)
		fill(q, 2 * page, 4);
	free(p);
	free(q);
}

static void test_malloc_alignment_and_size(void)
{
	static size_t sizes[2048];
	static void *live[2048];
	size_t n = sample_sizes(sizes, 2048), i;

	for (i = 0; i < n; i++) {
		size_t s = sizes[i];
		void *p = malloc(s);

		live[i] = p;
		CHECK(p != NULL, "malloc(%zu)", s);
		if (!p)
			continue;
		if (s >= 16)
			CHECK(aligned(p, 16), "malloc(%zu) = %p", s, p);
		else
			CHECK(aligned(p, 8), "malloc(%zu) = %p", s, p);
		CHECK(malloc_usable_size(p) >= s, "malloc(%zu): usable %zu",
		      s, malloc_usable_size(p));
		fill(p, malloc_usable_size(p), (unsigned)s);
	}
	for (i = 0; i < n; i++) {
		if (live[i])
			CHECK(filled(live[i], malloc_usable_size(live[i]),
				     (unsigned)sizes[i]),
			      "malloc(%zu): overlapped", sizes[i]);
		free(live[i]);
	}
}

static void test_usable_size_null(void)
{
	CHECK(malloc_usable_size(NULL) == 0);
}

static void test_malloc_zero(void)
{
	void *v[100];
	size_t i, j;

	for (i = 0; i < 100; i++) {
		v[i] = malloc(0);
		CHECK(v[i] != NULL, "malloc(0) #%zu", i);
		for (j = 0; j < i; j++)
			CHECK(v[i] != v[j], "malloc(0) #%zu == #%zu", i, j);
	}
	for (i = 0; i < 100; i++)
		free(v[i]);
	v[0] = calloc(0, 10);
	v[1] = calloc(10, 0);
	CHECK(v[0] != NULL);
	CHECK(v[1] != NULL);
	CHECK(v[0] != v[1]);
	free(v[0]);
	free(v[1]);
}

/* ---- free and calloc ------------------------------------------------- */

static void test_free_keeps_errno(void)
{
	size_t sizes[] = { 0, 1, 16, 100, 1000, 4096, 10000, 100000, 1 * MiB,
			   5 * MiB, 40 * MiB };
	size_t i, k;

	for (k = 0; k < 3; k++) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			void *p = malloc(sizes[i]);

			CHECK(p != NULL);
			if (p && sizes[i])
				memset(p, 1, sizes[i]);
			errno = 1234;
			free(p);
			CHECK(errno == 1234, "free of %zu bytes: errno %d",
			      sizes[i], errno);
		}
	}
	errno = 1234;
	free(NULL);
	CHECK(errno == 1234, "free(NULL): errno %d", errno);
	{
		void *p = NULL;

		CHECK(posix_memalign(&p, 4096, 100) == 0);
		errno = 1234;
		free(p);
		CHECK(errno == 1234, "free of posix_memalign: errno %d",
		      errno);
	}
}

/* Dirty a block, free it, and calloc the same size: the allocator will
 * usually hand back the dirty memory, which must read as zero. */
static void test_calloc_recycled_is_zero(void)
{
	size_t sizes[] = { 1, 8, 16, 24, 100, 256, 1000, 1024, 4096, 5000,
			   8192, 16384, 40000, 65536, 100000, 256 * KiB,
			   1 * MiB, 2 * MiB, 3 * MiB + 7, 4 * MiB, 6 * MiB };
	size_t i, k, j;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t s = sizes[i];
		int rounds = s > 512 * KiB ? 8 : 50;

		for (k = 0; k < (size_t)rounds; k++) {
			char *p = malloc(s), *q;

			CHECK(p != NULL);
			if (!p)
				break;
			memset(p, 0xff, malloc_usable_size(p));
			free(p);
			q = calloc(1, s);
			CHECK(q != NULL, "calloc(1, %zu)", s);
			if (!q)
				break;
			CHECK(all_zero(q, s), "calloc(1, %zu) round %zu "
			      "not zero", s, k);
			memset(q, 0xff, malloc_usable_size(q));
			free(q);
		}
	}
	/* A batch at a time, so whole slabs are recycled dirty. */
	for (i = 0; i < 8; i++) {
		void *v[200];
		size_t s = (size_t)16 << i;

		for (j = 0; j < 200; j++) {
			v[j] = malloc(s);
			if (v[j])
				memset(v[j], 0xff, s);
		}
		for (j = 0; j < 200; j++)
			free(v[j]);
		for (j = 0; j < 200; j++) {
			v[j] = calloc(s / 8, 8);
			CHECK(v[j] != NULL);
			if (v[j])
				CHECK(all_zero(v[j], s), "batch calloc(%zu)",
				      s);
		}
		for (j = 0; j < 200; j++) {
			if (v[j])
				memset(v[j], 0xff, s);
			free(v[j]);
		}
	}
}

/* ---- The glibc extras ------------------------------------------------ */

static void test_mallopt(void)
{
	CHECK(mallopt(M_TRIM_THRESHOLD, 128 * 1024) == 1);
	CHECK(mallopt(M_TOP_PAD, 64 * 1024) == 1);
	CHECK(mallopt(M_MMAP_THRESHOLD, 256 * 1024) == 1);
	CHECK(mallopt(M_MMAP_MAX, 65536) == 1);
	CHECK(mallopt(M_ARENA_MAX, 8) == 1);
}

static void test_malloc_trim(void)
{
	void *v[64];
	size_t i;
	int rc;

	for (i = 0; i < 64; i++)
		v[i] = malloc(i * 1000 + 1);
	for (i = 0; i < 64; i++)
		free(v[i]);
	rc = malloc_trim(0);
	CHECK(rc == 0 || rc == 1, "returned %d", rc);
	rc = malloc_trim(1 * MiB);
	CHECK(rc == 0 || rc == 1, "returned %d", rc);
	v[0] = malloc(100);		/* still works after trimming */
	CHECK(v[0] != NULL);
	free(v[0]);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static struct mallinfo old_mallinfo(void)
{
	return mallinfo();
}
#pragma GCC diagnostic pop

static void test_mallinfo(void)
{
	char *big = malloc(1 * MiB), *small[16];
	struct mallinfo2 mi;
	size_t i;

	CHECK(big != NULL);
	if (big)
		memset(big, 1, 1 * MiB);
	for (i = 0; i < 16; i++)
		small[i] = malloc(100);
	mi = mallinfo2();
	CHECK(mi.uordblks > 0, "uordblks %zu", mi.uordblks);
	CHECK(mi.uordblks + mi.hblkhd >= 1 * MiB, "uordblks %zu hblkhd %zu",
	      mi.uordblks, mi.hblkhd);
	(void)old_mallinfo();
	for (i = 0; i < 16; i++)
		free(small[i]);
	free(big);
}

static void test_malloc_info(void)
{
	FILE *f = tmpfile();
	int rc;

	CHECK(f != NULL);
	if (!f)
		return;
	rc = malloc_info(0, f);
	CHECK(rc == 0, "returned %d", rc);
	fflush(f);
	CHECK(ftell(f) > 0, "wrote nothing");
	fclose(f);
}

/* malloc_stats writes to stderr; only that it returns is checked. */
static void test_malloc_stats(void)
{
	int null = open("/dev/null", O_WRONLY);
	int saved = dup(2);

	CHECK(null >= 0 && saved >= 0);
	if (null < 0 || saved < 0)
		return;
	fflush(stderr);
	dup2(null, 2);
	malloc_stats();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(null);
}

/* The __libc_* names are the same allocator as the plain ones. */
static void test_libc_names(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char *p = __libc_malloc(100), *q;

	CHECK(p != NULL);
	if (!p)
		return;
	fill(p, 100, 6);
	CHECK(malloc_usable_size(p) >= 100);
	q = __libc_realloc(p, 50000);
	CHECK(q != NULL);
	if (!q)
		return;
	CHECK(filled(q, 100, 6));
	free(q);
	p = __libc_calloc(10, 10);
	CHECK(p != NULL && all_zero(p, 100));
	q = realloc(p, 10);
	CHECK(q != NULL);
	__libc_free(q);
	p = __libc_memalign(256, 1000);
	CHECK(p != NULL && aligned(p, 256));
	free(p);
	p = __libc_valloc(10);
	CHECK(p != NULL && aligned(p, page));
	free(p);
	p = __libc_pvalloc(10);
	CHECK(p != NULL && aligned(p, page));
	CHECK(malloc_usable_size(p) >= page);
	__libc_free(p);
}

/* Names glibc 2.36 does not export (or only as compat symbols): checked
 * when the allocator in use provides them. */
static void test_optional_names(void)
{
	int (*pm)(void **, size_t, size_t) =
		(int (*)(void **, size_t, size_t))dlsym(RTLD_DEFAULT,
							"__posix_memalign");
	void (*fs)(void *, size_t) =
		(void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "free_sized");
	void (*fas)(void *, size_t, size_t) =
		(void (*)(void *, size_t, size_t))dlsym(RTLD_DEFAULT,
							"free_aligned_sized");
	void (*cf)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "cfree");
	void *p = NULL;

	if (pm) {
		void *keep = &keep;

		CHECK(pm(&p, 64, 100) == 0 && aligned(p, 64));
		free(p);
		CHECK(pm(&keep, 48, 100) == EINVAL && keep == &keep);
	}
	if (fs) {
		p = malloc(100);
		errno = 55;
		fs(p, 100);
		CHECK(errno == 55);
		fs(NULL, 0);
	}
	if (fas) {
		p = aligned_alloc(64, 128);
		CHECK(p != NULL);
		fas(p, 64, 128);
		fas(NULL, 64, 0);
	}
	if (cf) {
		p = malloc(10);
		cf(p);
	}
	printf("# optional names present:%s%s%s%s\n",
	       pm ? " __posix_memalign" : "", fs ? " free_sized" : "",
	       fas ? " free_aligned_sized" : "", cf ? " cfree" : "");
}

/* ---- Runner ---------------------------------------------------------- */

static const struct {
	void (*fn)(void);
	const char *name;
} tests[] = {
	{ test_malloc_too_big, "malloc(SIZE_MAX) and other impossible sizes "
	  "fail with ENOMEM" },
	{ test_calloc_overflow, "calloc(SIZE_MAX/2, 4) and other overflowing "
	  "products fail with ENOMEM" },
	{ test_reallocarray_overflow, "reallocarray(NULL, SIZE_MAX/2, 4) "
	  "fails with ENOMEM, an overflowing resize keeps the block" },
	{ test_realloc_too_big, "realloc(p, SIZE_MAX) fails with ENOMEM and "
	  "p stays intact" },
	{ test_memalign_too_big, "memalign(1<<40, 8) fails with ENOMEM" },
	{ test_realloc_zero, "realloc(p, 0) frees and returns NULL, errno "
	  "unchanged" },
	{ test_realloc_null_zero, "realloc(NULL, 0) returns a unique "
	  "non-NULL pointer" },
	{ test_realloc_keeps_contents, "realloc grow and shrink from 1 byte "
	  "to 8 MiB keeps the contents" },
	{ test_posix_memalign_einval, "posix_memalign with alignment 0, 1, 2, "
	  "4, 12, 24, 48, 100, 4097 gives EINVAL, *p and errno untouched" },
	{ test_posix_memalign_zero, "posix_memalign(&p, 16, 0) returns 0 and "
	  "a non-NULL pointer" },
	{ test_posix_memalign_alignments, "posix_memalign alignments 8 to "
	  "1 GiB give aligned, writable blocks with usable size >= size" },
	{ test_aligned_alloc_lenient, "aligned_alloc(24, 48), (0, 10), "
	  "(64, 10) succeed as in glibc 2.36" },
	{ test_memalign, "memalign(24, 10) is 32-aligned; memalign powers of "
	  "two to 64 KiB are aligned" },
	{ test_valloc, "valloc is page aligned, valloc(0) non-NULL" },
	{ test_pvalloc, "pvalloc(1) is page aligned with a whole page "
	  "usable" },
	{ test_malloc_alignment_and_size, "malloc(n) for sampled n in 1..70000 "
	  "is 16-byte aligned (n >= 16), usable >= n, no overlap" },
	{ test_usable_size_null, "malloc_usable_size(NULL) is 0" },
	{ test_malloc_zero, "malloc(0), calloc(0, n), calloc(n, 0) are "
	  "non-NULL and distinct" },
	{ test_free_keeps_errno, "free preserves errno for every size "
	  "and for NULL" },
	{ test_calloc_recycled_is_zero, "calloc memory is zero after the "
	  "same size was dirtied and freed, 1 byte to 6 MiB" },
	{ test_mallopt, "mallopt(M_TRIM_THRESHOLD, M_TOP_PAD, "
	  "M_MMAP_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX) returns 1" },
	{ test_malloc_trim, "malloc_trim returns 0 or 1 and malloc still "
	  "works" },
	{ test_mallinfo, "mallinfo2 shows a live 1 MiB block "
	  "(uordblks > 0, uordblks + hblkhd >= 1 MiB), mallinfo callable" },
	{ test_malloc_info, "malloc_info(0, file) returns 0 and writes "
	  "something" },
	{ test_malloc_stats, "malloc_stats returns" },
	{ test_libc_names, "__libc_malloc/calloc/realloc/memalign/valloc/"
	  "pvalloc/free mix with malloc/realloc/free" },
	{ test_optional_names, "__posix_memalign, free_sized, "
	  "free_aligned_sized, cfree work where exported" },
};

int main(void)
{
	size_t n = sizeof(tests) / sizeof(tests[0]), i;
	int failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%zu\n", n);
	for (i = 0; i < n; i++) {
		test_ok = true;
		test_failures = 0;
		tests[i].fn();
		if (test_failures > DIAG_MAX)
			printf("# ... and %d more failures\n",
			       test_failures - DIAG_MAX);
		printf("%s %zu - %s\n", test_ok ? "ok" : "not ok", i + 1,
		       tests[i].name);
		failed += !test_ok;
	}
	return failed ? 1 : 0;
}
