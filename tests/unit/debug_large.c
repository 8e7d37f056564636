/*
 * Unit tests for large blocks under USLUB_DEBUG (lib/debug_large.c), with
 * debugging of kmalloc-large switched on as kmalloc_init does for
 * USLUB_DEBUG=ZP,kmalloc-large:
 *
 * test_reports: an overflow of a 100,000-byte block is reported at free
 * with its address, size and first bad byte; a write into a freed block
 * when malloc_trim empties the quarantine; a second free of a quarantined
 * block; usable size is the size asked for, and follows realloc in place.
 * test_threads: threads allocate, fill, check, realloc and free large
 * blocks (and one huge) while another validates and trims: nothing is
 * reported, no block loses its bytes (TSan checks huge_lock's use).
 */
#include "test.h"

#include "debug_large.h"
#include "kmalloc.h"
#include "log.h"
#include "options.h"
#include "uslub.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void debug_large_enable(void)
{
	uslub_malloc_trim(0);			/* init */
	debug_large_init(USLUB_RED_ZONE | USLUB_POISON);
	kmalloc_sizes_kept = true;
}

/* stderr of fn(arg), with abort_on_error off. */
static void captured(void (*fn)(void *), void *arg, char *err, size_t size)
{
	int saved = uslub_opt.abort_on_error;
	struct test_capture cap;

	uslub_opt.abort_on_error = 0;
	test_capture_begin(&cap);
	fn(arg);
	test_capture_end(&cap, err, size);
	uslub_opt.abort_on_error = saved;
}

static void overflow_free(void *arg)
{
	char *p = arg;

	((char *volatile)p)[100000] = 'X';
	uslub_free(p);
}

static void uaf_trim(void *arg)
{
	char *p = arg;

	uslub_free(p);
	((char *volatile)p)[16] = 'U';
	uslub_free(p);				/* quarantined: a double free */
	uslub_malloc_trim(0);
}

TEST_BEGIN(test_reports)
{
	char err[8192], want[160];
	unsigned long bugs = log_heap_bugs();
	char *p, *q;

	p = uslub_malloc(100000);
	assert_ptr_not_null(p, "block");
	expect_zu_eq(uslub_usable_size(p), 100000, "usable: the size asked");
	captured(overflow_free, p, err, sizeof(err));
	snprintf(want, sizeof(want), "uslub: free: kmalloc-large object %p "
		 "(100000 bytes): Redzone overwritten (", p);
	expect_str_contains(err, want, "the overflow, at free");
	expect_str_contains(err, "@offset=100000. First byte 0x58 instead "
			    "of 0xcc)", "its first bad byte");

	p = uslub_malloc(200000);
	q = uslub_realloc(p, 150000);
	expect_ptr_eq(q, p, "realloc keeps it in place");
	expect_zu_eq(uslub_usable_size(q), 150000, "usable follows realloc");
	captured(uaf_trim, q, err, sizeof(err));
	snprintf(want, sizeof(want), "uslub: free: kmalloc-large object %p "
		 "(150000 bytes): Object already free", q);
	expect_str_contains(err, want, "the second free");
	snprintf(want, sizeof(want), "uslub: malloc_trim: kmalloc-large "
		 "object %p (150000 bytes): Poison overwritten (", q);
	expect_str_contains(err, want, "the write after free, at trim");
	expect_str_contains(err, "written after it was freed", "said so");
	expect_lu_eq(log_heap_bugs() - bugs, 3, "three heap bugs counted");
}
TEST_END

#define THREADS	3
#define ROUNDS	300

static void *worker(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg, i, bad = 0;
	size_t size, n;
	unsigned char *p, *q;

	for (i = 0; i < ROUNDS; i++) {
		size = 33000 + (size_t)(rand_r(&seed) % 300000);
		if (i % 100 == 7)
			size = 5UL << 20;
		p = uslub_malloc(size);
		if (!p)
			continue;
		memset(p, (int)(i & 0xff), size);
		bad += uslub_usable_size(p) != size;
		n = size / 2 + (size_t)(rand_r(&seed) % size);
		q = uslub_realloc(p, n);
		if (q) {
			p = q;
			bad += p[MIN(size, n) - 1] != (unsigned char)(i & 0xff);
			size = n;
		}
		memset(p, 0x11, size);
		uslub_free(p);
	}
	return (void *)(uintptr_t)bad;
}

TEST_BEGIN(test_threads)
{
	unsigned long bugs = log_heap_bugs();
	pthread_t t[THREADS];
	unsigned int i, bad = 0;
	void *r;

	for (i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	for (i = 0; i < 20; i++) {
		debug_large_validate("test", false);
		if (i % 5 == 4)
			uslub_malloc_trim(0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], &r);
		bad += (unsigned int)(uintptr_t)r;
	}
	expect_u_eq(bad, 0, "every block kept its bytes and its size");
	expect_lu_eq(debug_large_validate("test", true), 0, "nothing found");
	expect_lu_eq(log_heap_bugs(), bugs, "nothing reported");
}
TEST_END

int main(void)
{
	debug_large_enable();
	return test(test_reports, test_threads, NULL);
}
