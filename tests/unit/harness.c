/*
 * tests/unit/harness.c -- self-test of tests/test.h: every expect_* and
 * assert_* macro on passing cases, with and without a message, from the
 * runner and from other threads; test_run_child() on a child that writes
 * to stderr and aborts; and the TAP of failing, asserting and skipped
 * tests, produced by a child and checked from outside.
 */
#include "test.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

TEST_BEGIN(test_bool)
{
	expect_true(1 + 1 == 2);
	expect_false(1 + 1 == 3, "arithmetic still works");
	assert_true(true, "%s", "with an argument");
	assert_false(false);
}
TEST_END

TEST_BEGIN(test_signed)
{
	long long big = -(1LL << 40);

	expect_eq(big, big);
	expect_ne(big, 0, "big %lld", big);
	expect_lt(big, 0);
	expect_le(big, big);
	expect_gt(0, big);
	expect_ge(0, 0);
	expect_d_eq(-1, -1);
	expect_d_ne(-1, 1);
	expect_d_lt(-2, -1, "d %d", -2);
	expect_d_le(-1, -1);
	expect_d_gt(1, -1);
	expect_d_ge(1, 1);

	assert_eq(big, big);
	assert_ne(big, 1);
	assert_lt(-1, 0);
	assert_le(0, 0);
	assert_gt(1, 0);
	assert_ge(1, 1);
	assert_d_eq(3, 3, "three");
	assert_d_ne(3, 4);
	assert_d_lt(3, 4);
	assert_d_le(4, 4);
	assert_d_gt(4, 3);
	assert_d_ge(4, 3);
}
TEST_END

TEST_BEGIN(test_unsigned)
{
	unsigned long long top = UINT64_MAX;
	size_t n = 32;

	expect_u_eq(top, UINT64_MAX);
	expect_u_ne(top, 0);
	expect_u_lt(0, top, "unsigned, not signed, comparison");
	expect_u_le(top, top);
	expect_u_gt(top, 1);
	expect_u_ge(top, top);
	expect_zu_eq(n, 32, "objects in slab %d", 0);
	expect_zu_ne(n, 0);
	expect_zu_lt(n, SIZE_MAX);
	expect_zu_le(n, 32);
	expect_zu_gt(n, 31);
	expect_zu_ge(n, 32);

	assert_u_eq(1u, 1u);
	assert_u_ne(1u, 2u);
	assert_u_lt(1u, 2u);
	assert_u_le(2u, 2u);
	assert_u_gt(2u, 1u);
	assert_u_ge(2u, 2u);
	assert_zu_eq(sizeof(int), 4, "LP64");
	assert_zu_ne(n, 1);
	assert_zu_lt(n, 33);
	assert_zu_le(n, 32);
	assert_zu_gt(n, 0);
	assert_zu_ge(n, 1);
}
TEST_END

TEST_BEGIN(test_other_kinds)
{
	expect_x_eq(0xbbu, 0xbb, "RED_INACTIVE");
	expect_b_eq(true, 1);
	expect_b_ne(true, false);
	expect_c_eq('k', "kmalloc"[0]);
	expect_ld_lt(-1L, 0L);
	expect_lu_gt(2UL, 1UL);
	expect_qd_le(-3LL, -3LL);
	expect_qu_ge(3ULL, 3ULL);
	expect_jd_eq(INTMAX_MIN, INTMAX_MIN);
	expect_ju_eq(UINTMAX_MAX, UINTMAX_MAX);
	expect_zd_lt((ssize_t)-1, 0);
	expect_d32_eq(INT32_MIN, INT32_MIN);
	expect_u32_ne(UINT32_MAX, 0);
	expect_d64_gt(INT64_MAX, 0);
	expect_u64_eq(UINT64_MAX, ~(uint64_t)0, "all %d bits", 64);

	assert_x_ne(0x6bu, 0xa5u);
	assert_b_eq(false, 0);
	assert_c_ne('a', 'b');
	assert_lu_eq(1UL << 40, 1ULL << 40);
	assert_zd_ge((ssize_t)0, (ssize_t)-1);
	assert_u64_lt(1, UINT64_MAX);
}
TEST_END

TEST_BEGIN(test_pointers_and_strings)
{
	int x;
	int *p = &x;
	void *none = NULL;
	const char *s = "yep_slab_cache 32 64";

	expect_ptr_eq(p, &x);
	expect_ptr_ne(p, &x + 1, "one past %p", (void *)p);
	expect_ptr_null(none);
	expect_ptr_not_null(p);
	expect_str_eq(s, "yep_slab_cache 32 64");
	expect_str_ne(s, "kmalloc-64");
	expect_str_contains(s, "slab_cache", "in %s", "slabinfo");

	assert_ptr_eq(p, &x);
	assert_ptr_ne(p, NULL);
	assert_ptr_null(none, "no pointer");
	assert_ptr_not_null(p);
	assert_str_eq("a", "a");
	assert_str_ne("a", "b");
	assert_str_contains(s, "32");
}
TEST_END

static void *
expect_from_thread(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;

	for (unsigned i = 0; i < 1000; i++) {
		expect_u_eq(id, id, "thread %u iteration %u", id, i);
		assert_u_lt(i, 1000);
	}
	return NULL;
}

TEST_BEGIN(test_threads)
{
	pthread_t threads[4];

	for (unsigned i = 0; i < 4; i++)
		assert_d_eq(pthread_create(&threads[i], NULL,
		    expect_from_thread, (void *)(uintptr_t)i), 0);
	for (unsigned i = 0; i < 4; i++)
		assert_d_eq(pthread_join(threads[i], NULL), 0);
}
TEST_END

/*
 * The failure paths, checked from the outside: a child runs its own test()
 * with stdout on the captured stderr, and the TAP it prints is compared.
 */
static bool inner_reached_after_assert;

TEST_BEGIN(inner_pass)
{
	expect_true(true);
}
TEST_END

TEST_BEGIN(inner_expect_fails)
{
	expect_zu_eq(3, 4, "objects in slab %d", 7);
	expect_str_eq("a", "b");
}
TEST_END

TEST_BEGIN(inner_assert_ends_test)
{
	assert_ptr_not_null(NULL, "no slab");
	inner_reached_after_assert = true;
}
TEST_END

TEST_BEGIN(inner_skip)
{
	test_skip("needs %d cpus", 64);
	return;
}
TEST_END

static void
child_runs_tests(void *arg)
{
	(void)arg;
	dup2(STDERR_FILENO, STDOUT_FILENO);
	int status = test(inner_pass, inner_expect_fails,
	    inner_assert_ends_test, inner_skip, NULL);
	fflush(stdout);
	_exit(inner_reached_after_assert ? 3 : status);
}

TEST_BEGIN(test_tap_output)
{
	char out[4096];
	int status = 0;

	assert_d_eq(test_run_child(child_runs_tests, NULL, &status,
	    out, sizeof(out)), 0);
	expect_true(WIFEXITED(status), "status %#x", status);
	expect_d_eq(WEXITSTATUS(status), 1, "exit status after failures");
	expect_str_contains(out, "1..4\n");
	expect_str_contains(out, "\nok 1 - inner_pass\n");
	expect_str_contains(out, "\nnot ok 2 - inner_expect_fails\n");
	expect_str_contains(out, "Failed expectation: (3) == (4) --> 3 != 4: "
	    "objects in slab 7\n");
	expect_str_contains(out, "Failed expectation: (\"a\") == (\"b\") "
	    "--> \"a\" vs \"b\"\n");
	expect_str_contains(out, "Failed assertion: (NULL) != (NULL)");
	expect_str_contains(out, "\nnot ok 3 - inner_assert_ends_test\n");
	expect_str_contains(out, "\nok 4 - inner_skip # SKIP needs 64 cpus\n");
	if (WEXITSTATUS(status) != 1) {
		/* As TAP comments, or its "ok" lines would count as ours. */
		for (char *line = strtok(out, "\n"); line != NULL;
		    line = strtok(NULL, "\n"))
			printf("# child: %s\n", line);
	}
}
TEST_END

static void
child_aborts(void *arg)
{
	const char *msg = arg;

	if (write(STDERR_FILENO, msg, strlen(msg)) < 0)
		_exit(2);
	abort();
}

TEST_BEGIN(test_run_child_abort)
{
	char out[128];
	int status = 0;

	assert_d_eq(test_run_child(child_aborts, "uslub: bad free 0x1\n",
	    &status, out, sizeof(out)), 0);
	expect_true(WIFSIGNALED(status), "status %#x", status);
	expect_d_eq(WTERMSIG(status), SIGABRT);
	expect_str_eq(out, "uslub: bad free 0x1\n");

	/* A short buffer keeps a prefix and still lets the child finish. */
	char tiny[6];
	assert_d_eq(test_run_child(child_aborts, "0123456789",
	    &status, tiny, sizeof(tiny)), 0);
	expect_str_eq(tiny, "01234");
	expect_d_eq(WTERMSIG(status), SIGABRT);
}
TEST_END

int
main(void)
{
	return test(test_bool,
	    test_signed,
	    test_unsigned,
	    test_other_kinds,
	    test_pointers_and_strings,
	    test_threads,
	    test_tap_output,
	    test_run_child_abort,
	    NULL);
}
