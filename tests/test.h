/*
 * tests/test.h -- a small jemalloc-style test harness with TAP output.
 *
 *	TEST_BEGIN(test_foo)
 *	{
 *		expect_zu_eq(objects, 32, "objects in slab %d", i);
 *		assert_ptr_not_null(p);		// on failure: ends test_foo
 *	}
 *	TEST_END
 *
 *	int main(void) { return test(test_foo, test_bar, NULL); }
 *
 * test() prints the plan "1..N", then "ok K - name" or "not ok K - name"
 * per test ("ok K - name # SKIP why" after test_skip()), and returns the
 * exit status (0 all passed, 1 otherwise).
 *
 * expect_*(a, b[, fmt, ...]) records a failure with file:line, a "# "
 * diagnostic showing both values and the optional printf-style message
 * (fmt must be a string literal), and carries on.  assert_*() does the
 * same, then ends the current test: longjmp back to test() on the test's
 * own thread, pthread_exit() on any other thread.  Both may be called
 * from several threads at once.
 *
 * Value kinds, as in jemalloc (the value is converted to the type first):
 *   (none), d, qd  long long         u, qu  unsigned long long
 *   x  unsigned long long, in hex    ld, lu  long, unsigned long
 *   jd, ju  intmax_t, uintmax_t      zd, zu  ssize_t, size_t
 *   d32, u32, d64, u64  <stdint.h>   c  char    b  bool (eq/ne only)
 *   ptr  const void * (eq/ne, null/not_null)
 *   str  C strings: eq, ne, contains (strcmp/strstr; NULL always fails)
 * Relations: eq ne lt le gt ge; plus expect_true/expect_false.
 *
 * Tests may use libc stdio and malloc freely; only lib/ may not.
 */
#ifndef USLUB_TESTS_TEST_H
#define USLUB_TESTS_TEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

/* Optional messages expand to "" when absent; that is on purpose. */
#pragma GCC diagnostic ignored "-Wformat-zero-length"

/* ---- Runner ----------------------------------------------------------- */

typedef void (test_fn_t)(void);

#define TEST_BEGIN(name)						\
	static void name(void)						\
	{								\
		test_begin(#name);

#define TEST_END							\
		test_end();						\
	}

/* Runs the NULL-terminated list of tests; returns the exit status. */
int test(test_fn_t *first, ...);

void test_begin(const char *name);
void test_end(void);

/* Marks the current test skipped; the caller then returns from it. */
void test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Forks; the child runs fn(arg) with stderr on a pipe and stdout on
 * /dev/null, without core dumps, and exits 0 (1 if an expect_* failed in
 * it) unless fn ends it first.  The parent collects up to outsz - 1 bytes
 * of the child's stderr into out (NUL-terminated, the rest is drained and
 * dropped), waits, and stores the wait status in *status.
 * Returns 0, or -1 with errno set if fork/pipe/waitpid failed.
 */
int test_run_child(void (*fn)(void *), void *arg, int *status,
		   char *out, size_t outsz);

/*
 * Capture what the process writes to stderr (fd 2) between
 * test_capture_begin and test_capture_end, which restores stderr and puts
 * up to size - 1 bytes of it in buf, NUL-terminated.
 */
struct test_capture {
	FILE *file;
	int saved_fd;
};
void test_capture_begin(struct test_capture *c);
void test_capture_end(struct test_capture *c, char *buf, size_t size);

/* ---- Failure recording (used by the macros) --------------------------- */

void test_fail(bool fatal, const char *file, int line, const char *what,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* snprintf out of line, so -Wformat-truncation stays quiet about long
 * strings in the diagnostic. */
void test_what(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define TEST_WHAT_MAX 512

/*
 * One comparison of two values of type T printed with PRI; the expression
 * texts come stringified from the outermost macro, so the diagnostic reads
 * "(p->inuse) == (3) --> 2 != 3: message".
 */
#define test_cmp_(fatal, T, PRI, a, b, sa, sb, op, nop, ...) do {	\
	T test_a_ = (T)(a);						\
	T test_b_ = (T)(b);						\
	if (!(test_a_ op test_b_)) {					\
		char test_what_[TEST_WHAT_MAX];				\
		test_what(test_what_, sizeof(test_what_),		\
		    "(%s) %s (%s) --> " PRI " %s " PRI,			\
		    sa, #op, sb, test_a_, #nop, test_b_);		\
		test_fail(fatal, __FILE__, __LINE__, test_what_,	\
		    "" __VA_ARGS__);					\
	}								\
} while (0)

#define test_bool_(fatal, c, sc, want, ...) do {			\
	bool test_c_ = (c);						\
	if (test_c_ != (want)) {					\
		char test_what_[TEST_WHAT_MAX];				\
		test_what(test_what_, sizeof(test_what_),		\
		    "(%s) == %s --> %s", sc,				\
		    (want) ? "true" : "false",				\
		    test_c_ ? "true" : "false");			\
		test_fail(fatal, __FILE__, __LINE__, test_what_,	\
		    "" __VA_ARGS__);					\
	}								\
} while (0)

/* test_a_ and test_b_ are the strings inside `pass'. */
#define test_str_(fatal, a, b, sa, sb, pass, rel, ...) do {		\
	const char *test_a_ = (a);					\
	const char *test_b_ = (b);					\
	if (!(test_a_ != NULL && test_b_ != NULL && (pass))) {		\
		char test_what_[TEST_WHAT_MAX];				\
		test_what(test_what_, sizeof(test_what_),		\
		    "(%s) %s (%s) --> \"%s\" vs \"%s\"", sa, rel, sb,	\
		    test_a_ ? test_a_ : "(null)",			\
		    test_b_ ? test_b_ : "(null)");			\
		test_fail(fatal, __FILE__, __LINE__, test_what_,	\
		    "" __VA_ARGS__);					\
	}								\
} while (0)

/* ---- expect_*: record and continue ----------------------------------- */

#define expect_true(c, ...) \
	test_bool_(false, c, #c, true, __VA_ARGS__)
#define expect_false(c, ...) \
	test_bool_(false, c, #c, false, __VA_ARGS__)

#define expect_eq(a, b, ...) test_cmp_(false, long long, "%lld", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define expect_ne(a, b, ...) test_cmp_(false, long long, "%lld", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define expect_lt(a, b, ...) test_cmp_(false, long long, "%lld", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define expect_le(a, b, ...) test_cmp_(false, long long, "%lld", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define expect_gt(a, b, ...) test_cmp_(false, long long, "%lld", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define expect_ge(a, b, ...) test_cmp_(false, long long, "%lld", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define expect_d_eq(a, b, ...) test_cmp_(false, long long, "%lld", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define expect_d_ne(a, b, ...) test_cmp_(false, long long, "%lld", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define expect_d_lt(a, b, ...) test_cmp_(false, long long, "%lld", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define expect_d_le(a, b, ...) test_cmp_(false, long long, "%lld", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define expect_d_gt(a, b, ...) test_cmp_(false, long long, "%lld", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define expect_d_ge(a, b, ...) test_cmp_(false, long long, "%lld", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define expect_u_eq(a, b, ...) test_cmp_(false, unsigned long long, "%llu", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define expect_u_ne(a, b, ...) test_cmp_(false, unsigned long long, "%llu", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define expect_u_lt(a, b, ...) test_cmp_(false, unsigned long long, "%llu", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define expect_u_le(a, b, ...) test_cmp_(false, unsigned long long, "%llu", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define expect_u_gt(a, b, ...) test_cmp_(false, unsigned long long, "%llu", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define expect_u_ge(a, b, ...) test_cmp_(false, unsigned long long, "%llu", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define expect_x_eq(a, b, ...) test_cmp_(false, unsigned long long, "%#llx", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define expect_x_ne(a, b, ...) test_cmp_(false, unsigned long long, "%#llx", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define expect_x_lt(a, b, ...) test_cmp_(false, unsigned long long, "%#llx", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define expect_x_le(a, b, ...) test_cmp_(false, unsigned long long, "%#llx", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define expect_x_gt(a, b, ...) test_cmp_(false, unsigned long long, "%#llx", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define expect_x_ge(a, b, ...) test_cmp_(false, unsigned long long, "%#llx", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define expect_b_eq(a, b, ...) test_cmp_(false, bool, "%d", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define expect_b_ne(a, b, ...) test_cmp_(false, bool, "%d", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)

#define expect_c_eq(a, b, ...) test_cmp_(false, char, "%c", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define expect_c_ne(a, b, ...) test_cmp_(false, char, "%c", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define expect_c_lt(a, b, ...) test_cmp_(false, char, "%c", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define expect_c_le(a, b, ...) test_cmp_(false, char, "%c", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define expect_c_gt(a, b, ...) test_cmp_(false, char, "%c", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define expect_c_ge(a, b, ...) test_cmp_(false, char, "%c", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define expect_ld_eq(a, b, ...) test_cmp_(false, long, "%ld", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define expect_ld_ne(a, b, ...) test_cmp_(false, long, "%ld", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define expect_ld_lt(a, b, ...) test_cmp_(false, long, "%ld", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define expect_ld_le(a, b, ...) test_cmp_(false, long, "%ld", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define expect_ld_gt(a, b, ...) test_cmp_(false, long, "%ld", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define expect_ld_ge(a, b, ...) test_cmp_(false, long, "%ld", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define expect_lu_eq(a, b, ...) test_cmp_(false, unsigned long, "%lu", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define expect_lu_ne(a, b, ...) test_cmp_(false, unsigned long, "%lu", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define expect_lu_lt(a, b, ...) test_cmp_(false, unsigned long, "%lu", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define expect_lu_le(a, b, ...) test_cmp_(false, unsigned long, "%lu", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define expect_lu_gt(a, b, ...) test_cmp_(false, unsigned long, "%lu", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define expect_lu_ge(a, b, ...) test_cmp_(false, unsigned long, "%lu", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define expect_qd_eq(a, b, ...) test_cmp_(false, long long, "%lld", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define expect_qd_ne(a, b, ...) test_cmp_(false, long long, "%lld", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define expect_qd_lt(a, b, ...) test_cmp_(false, long long, "%lld", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define expect_qd_le(a, b, ...) test_cmp_(false, long long, "%lld", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define expect_qd_gt(a, b, ...) test_cmp_(false, long long, "%lld", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define expect_qd_ge(a, b, ...) test_cmp_(false, long long, "%lld", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define expect_qu_eq(a, b, ...) test_cmp_(false, unsigned long long, "%llu", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define expect_qu_ne(a, b, ...) test_cmp_(false, unsigned long long, "%llu", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define expect_qu_lt(a, b, ...) test_cmp_(false, unsigned long long, "%llu", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define expect_qu_le(a, b, ...) test_cmp_(false, unsigned long long, "%llu", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define expect_qu_gt(a, b, ...) test_cmp_(false, unsigned long long, "%llu", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define expect_qu_ge(a, b, ...) test_cmp_(false, unsigned long long, "%llu", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define expect_jd_eq(a, b, ...) test_cmp_(false, intmax_t, "%jd", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define expect_jd_ne(a, b, ...) test_cmp_(false, intmax_t, "%jd", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define expect_jd_lt(a, b, ...) test_cmp_(false, intmax_t, "%jd", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define expect_jd_le(a, b, ...) test_cmp_(false, intmax_t, "%jd", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define expect_jd_gt(a, b, ...) test_cmp_(false, intmax_t, "%jd", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define expect_jd_ge(a, b, ...) test_cmp_(false, intmax_t, "%jd", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define expect_ju_eq(a, b, ...) test_cmp_(false, uintmax_t, "%ju", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define expect_ju_ne(a, b, ...) test_cmp_(false, uintmax_t, "%ju", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define expect_ju_lt(a, b, ...) test_cmp_(false, uintmax_t, "%ju", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define expect_ju_le(a, b, ...) test_cmp_(false, uintmax_t, "%ju", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define expect_ju_gt(a, b, ...) test_cmp_(false, uintmax_t, "%ju", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define expect_ju_ge(a, b, ...) test_cmp_(false, uintmax_t, "%ju", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define expect_zd_eq(a, b, ...) test_cmp_(false, ssize_t, "%zd", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define expect_zd_ne(a, b, ...) test_cmp_(false, ssize_t, "%zd", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define expect_zd_lt(a, b, ...) test_cmp_(false, ssize_t, "%zd", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define expect_zd_le(a, b, ...) test_cmp_(false, ssize_t, "%zd", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define expect_zd_gt(a, b, ...) test_cmp_(false, ssize_t, "%zd", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define expect_zd_ge(a, b, ...) test_cmp_(false, ssize_t, "%zd", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define expect_zu_eq(a, b, ...) test_cmp_(false, size_t, "%zu", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define expect_zu_ne(a, b, ...) test_cmp_(false, size_t, "%zu", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define expect_zu_lt(a, b, ...) test_cmp_(false, size_t, "%zu", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define expect_zu_le(a, b, ...) test_cmp_(false, size_t, "%zu", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define expect_zu_gt(a, b, ...) test_cmp_(false, size_t, "%zu", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define expect_zu_ge(a, b, ...) test_cmp_(false, size_t, "%zu", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define expect_d32_eq(a, b, ...) test_cmp_(false, int32_t, "%" PRId32, \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define expect_d32_ne(a, b, ...) test_cmp_(false, int32_t, "%" PRId32, \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define expect_d32_lt(a, b, ...) test_cmp_(false, int32_t, "%" PRId32, \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define expect_d32_le(a, b, ...) test_cmp_(false, int32_t, "%" PRId32, \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define expect_d32_gt(a, b, ...) test_cmp_(false, int32_t, "%" PRId32, \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define expect_d32_ge(a, b, ...) test_cmp_(false, int32_t, "%" PRId32, \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define expect_u32_eq(a, b, ...) test_cmp_(false, uint32_t, "%" PRIu32, \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define expect_u32_ne(a, b, ...) test_cmp_(false, uint32_t, "%" PRIu32, \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define expect_u32_lt(a, b, ...) test_cmp_(false, uint32_t, "%" PRIu32, \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define expect_u32_le(a, b, ...) test_cmp_(false, uint32_t, "%" PRIu32, \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define expect_u32_gt(a, b, ...) test_cmp_(false, uint32_t, "%" PRIu32, \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define expect_u32_ge(a, b, ...) test_cmp_(false, uint32_t, "%" PRIu32, \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define expect_d64_eq(a, b, ...) test_cmp_(false, int64_t, "%" PRId64, \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define expect_d64_ne(a, b, ...) test_cmp_(false, int64_t, "%" PRId64, \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define expect_d64_lt(a, b, ...) test_cmp_(false, int64_t, "%" PRId64, \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define expect_d64_le(a, b, ...) test_cmp_(false, int64_t, "%" PRId64, \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define expect_d64_gt(a, b, ...) test_cmp_(false, int64_t, "%" PRId64, \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define expect_d64_ge(a, b, ...) test_cmp_(false, int64_t, "%" PRId64, \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define expect_u64_eq(a, b, ...) test_cmp_(false, uint64_t, "%" PRIu64, \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define expect_u64_ne(a, b, ...) test_cmp_(false, uint64_t, "%" PRIu64, \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define expect_u64_lt(a, b, ...) test_cmp_(false, uint64_t, "%" PRIu64, \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define expect_u64_le(a, b, ...) test_cmp_(false, uint64_t, "%" PRIu64, \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define expect_u64_gt(a, b, ...) test_cmp_(false, uint64_t, "%" PRIu64, \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define expect_u64_ge(a, b, ...) test_cmp_(false, uint64_t, "%" PRIu64, \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define expect_ptr_eq(a, b, ...) test_cmp_(false, const void *, "%p", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define expect_ptr_ne(a, b, ...) test_cmp_(false, const void *, "%p", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)

#define expect_ptr_null(a, ...) test_cmp_(false, const void *, "%p", \
	a, NULL, #a, "NULL", ==, !=, __VA_ARGS__)
#define expect_ptr_not_null(a, ...) test_cmp_(false, const void *, "%p", \
	a, NULL, #a, "NULL", !=, ==, __VA_ARGS__)

#define expect_str_eq(a, b, ...) test_str_(false, a, b, #a, #b, \
	strcmp(test_a_, test_b_) == 0, "==", __VA_ARGS__)
#define expect_str_ne(a, b, ...) test_str_(false, a, b, #a, #b, \
	strcmp(test_a_, test_b_) != 0, "!=", __VA_ARGS__)
#define expect_str_contains(a, b, ...) test_str_(false, a, b, #a, #b, \
	strstr(test_a_, test_b_) != NULL, "contains", __VA_ARGS__)

/* ---- assert_*: record and end the current test ----------------------- */

#define assert_true(c, ...) \
	test_bool_(true, c, #c, true, __VA_ARGS__)
#define assert_false(c, ...) \
	test_bool_(true, c, #c, false, __VA_ARGS__)

#define assert_eq(a, b, ...) test_cmp_(true, long long, "%lld", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define assert_ne(a, b, ...) test_cmp_(true, long long, "%lld", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define assert_lt(a, b, ...) test_cmp_(true, long long, "%lld", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define assert_le(a, b, ...) test_cmp_(true, long long, "%lld", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define assert_gt(a, b, ...) test_cmp_(true, long long, "%lld", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define assert_ge(a, b, ...) test_cmp_(true, long long, "%lld", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define assert_d_eq(a, b, ...) test_cmp_(true, long long, "%lld", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define assert_d_ne(a, b, ...) test_cmp_(true, long long, "%lld", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define assert_d_lt(a, b, ...) test_cmp_(true, long long, "%lld", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define assert_d_le(a, b, ...) test_cmp_(true, long long, "%lld", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define assert_d_gt(a, b, ...) test_cmp_(true, long long, "%lld", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define assert_d_ge(a, b, ...) test_cmp_(true, long long, "%lld", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define assert_u_eq(a, b, ...) test_cmp_(true, unsigned long long, "%llu", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define assert_u_ne(a, b, ...) test_cmp_(true, unsigned long long, "%llu", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define assert_u_lt(a, b, ...) test_cmp_(true, unsigned long long, "%llu", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define assert_u_le(a, b, ...) test_cmp_(true, unsigned long long, "%llu", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define assert_u_gt(a, b, ...) test_cmp_(true, unsigned long long, "%llu", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define assert_u_ge(a, b, ...) test_cmp_(true, unsigned long long, "%llu", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define assert_x_eq(a, b, ...) test_cmp_(true, unsigned long long, "%#llx", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define assert_x_ne(a, b, ...) test_cmp_(true, unsigned long long, "%#llx", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define assert_x_lt(a, b, ...) test_cmp_(true, unsigned long long, "%#llx", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define assert_x_le(a, b, ...) test_cmp_(true, unsigned long long, "%#llx", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define assert_x_gt(a, b, ...) test_cmp_(true, unsigned long long, "%#llx", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define assert_x_ge(a, b, ...) test_cmp_(true, unsigned long long, "%#llx", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define assert_b_eq(a, b, ...) test_cmp_(true, bool, "%d", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define assert_b_ne(a, b, ...) test_cmp_(true, bool, "%d", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)

#define assert_c_eq(a, b, ...) test_cmp_(true, char, "%c", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define assert_c_ne(a, b, ...) test_cmp_(true, char, "%c", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define assert_c_lt(a, b, ...) test_cmp_(true, char, "%c", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define assert_c_le(a, b, ...) test_cmp_(true, char, "%c", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define assert_c_gt(a, b, ...) test_cmp_(true, char, "%c", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define assert_c_ge(a, b, ...) test_cmp_(true, char, "%c", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define assert_ld_eq(a, b, ...) test_cmp_(true, long, "%ld", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define assert_ld_ne(a, b, ...) test_cmp_(true, long, "%ld", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define assert_ld_lt(a, b, ...) test_cmp_(true, long, "%ld", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define assert_ld_le(a, b, ...) test_cmp_(true, long, "%ld", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define assert_ld_gt(a, b, ...) test_cmp_(true, long, "%ld", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define assert_ld_ge(a, b, ...) test_cmp_(true, long, "%ld", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define assert_lu_eq(a, b, ...) test_cmp_(true, unsigned long, "%lu", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define assert_lu_ne(a, b, ...) test_cmp_(true, unsigned long, "%lu", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define assert_lu_lt(a, b, ...) test_cmp_(true, unsigned long, "%lu", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define assert_lu_le(a, b, ...) test_cmp_(true, unsigned long, "%lu", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define assert_lu_gt(a, b, ...) test_cmp_(true, unsigned long, "%lu", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define assert_lu_ge(a, b, ...) test_cmp_(true, unsigned long, "%lu", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define assert_qd_eq(a, b, ...) test_cmp_(true, long long, "%lld", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define assert_qd_ne(a, b, ...) test_cmp_(true, long long, "%lld", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define assert_qd_lt(a, b, ...) test_cmp_(true, long long, "%lld", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define assert_qd_le(a, b, ...) test_cmp_(true, long long, "%lld", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define assert_qd_gt(a, b, ...) test_cmp_(true, long long, "%lld", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define assert_qd_ge(a, b, ...) test_cmp_(true, long long, "%lld", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define assert_qu_eq(a, b, ...) test_cmp_(true, unsigned long long, "%llu", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define assert_qu_ne(a, b, ...) test_cmp_(true, unsigned long long, "%llu", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define assert_qu_lt(a, b, ...) test_cmp_(true, unsigned long long, "%llu", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define assert_qu_le(a, b, ...) test_cmp_(true, unsigned long long, "%llu", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define assert_qu_gt(a, b, ...) test_cmp_(true, unsigned long long, "%llu", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define assert_qu_ge(a, b, ...) test_cmp_(true, unsigned long long, "%llu", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define assert_jd_eq(a, b, ...) test_cmp_(true, intmax_t, "%jd", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define assert_jd_ne(a, b, ...) test_cmp_(true, intmax_t, "%jd", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define assert_jd_lt(a, b, ...) test_cmp_(true, intmax_t, "%jd", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define assert_jd_le(a, b, ...) test_cmp_(true, intmax_t, "%jd", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define assert_jd_gt(a, b, ...) test_cmp_(true, intmax_t, "%jd", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define assert_jd_ge(a, b, ...) test_cmp_(true, intmax_t, "%jd", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define assert_ju_eq(a, b, ...) test_cmp_(true, uintmax_t, "%ju", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define assert_ju_ne(a, b, ...) test_cmp_(true, uintmax_t, "%ju", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define assert_ju_lt(a, b, ...) test_cmp_(true, uintmax_t, "%ju", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define assert_ju_le(a, b, ...) test_cmp_(true, uintmax_t, "%ju", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define assert_ju_gt(a, b, ...) test_cmp_(true, uintmax_t, "%ju", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define assert_ju_ge(a, b, ...) test_cmp_(true, uintmax_t, "%ju", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define assert_zd_eq(a, b, ...) test_cmp_(true, ssize_t, "%zd", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define assert_zd_ne(a, b, ...) test_cmp_(true, ssize_t, "%zd", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define assert_zd_lt(a, b, ...) test_cmp_(true, ssize_t, "%zd", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define assert_zd_le(a, b, ...) test_cmp_(true, ssize_t, "%zd", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define assert_zd_gt(a, b, ...) test_cmp_(true, ssize_t, "%zd", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define assert_zd_ge(a, b, ...) test_cmp_(true, ssize_t, "%zd", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define assert_zu_eq(a, b, ...) test_cmp_(true, size_t, "%zu", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define assert_zu_ne(a, b, ...) test_cmp_(true, size_t, "%zu", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define assert_zu_lt(a, b, ...) test_cmp_(true, size_t, "%zu", \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define assert_zu_le(a, b, ...) test_cmp_(true, size_t, "%zu", \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define assert_zu_gt(a, b, ...) test_cmp_(true, size_t, "%zu", \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define assert_zu_ge(a, b, ...) test_cmp_(true, size_t, "%zu", \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define assert_d32_eq(a, b, ...) test_cmp_(true, int32_t, "%" PRId32, \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define assert_d32_ne(a, b, ...) test_cmp_(true, int32_t, "%" PRId32, \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define assert_d32_lt(a, b, ...) test_cmp_(true, int32_t, "%" PRId32, \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define assert_d32_le(a, b, ...) test_cmp_(true, int32_t, "%" PRId32, \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define assert_d32_gt(a, b, ...) test_cmp_(true, int32_t, "%" PRId32, \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define assert_d32_ge(a, b, ...) test_cmp_(true, int32_t, "%" PRId32, \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define assert_u32_eq(a, b, ...) test_cmp_(true, uint32_t, "%" PRIu32, \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define assert_u32_ne(a, b, ...) test_cmp_(true, uint32_t, "%" PRIu32, \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define assert_u32_lt(a, b, ...) test_cmp_(true, uint32_t, "%" PRIu32, \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define assert_u32_le(a, b, ...) test_cmp_(true, uint32_t, "%" PRIu32, \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define assert_u32_gt(a, b, ...) test_cmp_(true, uint32_t, "%" PRIu32, \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define assert_u32_ge(a, b, ...) test_cmp_(true, uint32_t, "%" PRIu32, \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define assert_d64_eq(a, b, ...) test_cmp_(true, int64_t, "%" PRId64, \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define assert_d64_ne(a, b, ...) test_cmp_(true, int64_t, "%" PRId64, \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define assert_d64_lt(a, b, ...) test_cmp_(true, int64_t, "%" PRId64, \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define assert_d64_le(a, b, ...) test_cmp_(true, int64_t, "%" PRId64, \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define assert_d64_gt(a, b, ...) test_cmp_(true, int64_t, "%" PRId64, \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define assert_d64_ge(a, b, ...) test_cmp_(true, int64_t, "%" PRId64, \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define assert_u64_eq(a, b, ...) test_cmp_(true, uint64_t, "%" PRIu64, \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define assert_u64_ne(a, b, ...) test_cmp_(true, uint64_t, "%" PRIu64, \
	a, b, #a, #b, !=, ==, __VA_ARGS__)
#define assert_u64_lt(a, b, ...) test_cmp_(true, uint64_t, "%" PRIu64, \
	a, b, #a, #b, <, >=, __VA_ARGS__)
#define assert_u64_le(a, b, ...) test_cmp_(true, uint64_t, "%" PRIu64, \
	a, b, #a, #b, <=, >, __VA_ARGS__)
#define assert_u64_gt(a, b, ...) test_cmp_(true, uint64_t, "%" PRIu64, \
	a, b, #a, #b, >, <=, __VA_ARGS__)
#define assert_u64_ge(a, b, ...) test_cmp_(true, uint64_t, "%" PRIu64, \
	a, b, #a, #b, >=, <, __VA_ARGS__)

#define assert_ptr_eq(a, b, ...) test_cmp_(true, const void *, "%p", \
	a, b, #a, #b, ==, !=, __VA_ARGS__)
#define assert_ptr_ne(a, b, ...) test_cmp_(true, const void *, "%p", \
	a, b, #a, #b, !=, ==, __VA_ARGS__)

#define assert_ptr_null(a, ...) test_cmp_(true, const void *, "%p", \
	a, NULL, #a, "NULL", ==, !=, __VA_ARGS__)
#define assert_ptr_not_null(a, ...) test_cmp_(true, const void *, "%p", \
	a, NULL, #a, "NULL", !=, ==, __VA_ARGS__)

#define assert_str_eq(a, b, ...) test_str_(true, a, b, #a, #b, \
	strcmp(test_a_, test_b_) == 0, "==", __VA_ARGS__)
#define assert_str_ne(a, b, ...) test_str_(true, a, b, #a, #b, \
	strcmp(test_a_, test_b_) != 0, "!=", __VA_ARGS__)
#define assert_str_contains(a, b, ...) test_str_(true, a, b, #a, #b, \
	strstr(test_a_, test_b_) != NULL, "contains", __VA_ARGS__)

#endif /* USLUB_TESTS_TEST_H */
