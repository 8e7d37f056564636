/*
 * tests/test.c -- the harness behind tests/test.h: the runner and its TAP
 * output, failure recording for expect_* and assert_*, test_skip(), and
 * test_run_child() for tests that expect a process to die with an exact
 * message.  Test code only: free to use libc stdio and malloc.
 */
#define _GNU_SOURCE
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

enum test_status {
	TEST_PASS,
	TEST_SKIP,
	TEST_FAIL,
};

/* Written under test_lock once tests may have started threads. */
static pthread_mutex_t test_lock = PTHREAD_MUTEX_INITIALIZER;
static enum test_status test_status;
static char test_skip_reason[256];

/* Runner thread only.  test_jmp_ready: test() runs in this process, so a
 * fatal assert on the runner thread can longjmp to it. */
static jmp_buf test_jmp;
static bool test_jmp_ready;
static pthread_t test_runner;
static const char *test_name;
static unsigned test_number;
static bool test_reported;
static bool test_any_failed;

/* Set in the child of test_run_child(): diagnostics go to stderr (the
 * pipe), and a fatal assert exits the child instead of longjmp-ing into the
 * copy of the parent's runner, unless the child runs test() itself. */
static bool test_in_child;

void
test_begin(const char *name)
{
	test_name = name;
}

/* Prints the TAP line for the current test, once. */
static void
test_report(void)
{
	if (test_reported)
		return;
	test_reported = true;

	pthread_mutex_lock(&test_lock);
	enum test_status status = test_status;
	pthread_mutex_unlock(&test_lock);

	const char *name = test_name ? test_name : "(unnamed)";
	switch (status) {
	case TEST_PASS:
		printf("ok %u - %s\n", test_number, name);
		break;
	case TEST_SKIP:
		printf("ok %u - %s # SKIP %s\n", test_number, name,
		    test_skip_reason);
		break;
	case TEST_FAIL:
		printf("not ok %u - %s\n", test_number, name);
		test_any_failed = true;
		break;
	}
	fflush(stdout);
}

void
test_end(void)
{
	test_report();
}

void
test_skip(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&test_lock);
	if (test_status == TEST_PASS) {
		test_status = TEST_SKIP;
		va_start(ap, fmt);
		vsnprintf(test_skip_reason, sizeof(test_skip_reason), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&test_lock);
}

void
test_what(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

void
test_fail(bool fatal, const char *file, int line, const char *what,
    const char *fmt, ...)
{
	FILE *diag = test_in_child ? stderr : stdout;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	pthread_mutex_lock(&test_lock);
	test_status = TEST_FAIL;
	fprintf(diag, "# %s:%d: Failed %s: %s%s%s\n", file, line,
	    fatal ? "assertion" : "expectation", what,
	    msg[0] != '\0' ? ": " : "", msg);
	fflush(diag);
	pthread_mutex_unlock(&test_lock);

	if (!fatal)
		return;
	if (test_in_child && !test_jmp_ready)
		_exit(1);
	if (test_jmp_ready && pthread_equal(pthread_self(), test_runner))
		longjmp(test_jmp, 1);
	pthread_exit(NULL);
}

/* Runs one test; an assert_* failure lands back here through test_jmp. */
static void
test_run_one(test_fn_t *fn)
{
	test_number++;
	test_name = NULL;
	test_reported = false;
	test_skip_reason[0] = '\0';
	pthread_mutex_lock(&test_lock);
	test_status = TEST_PASS;
	pthread_mutex_unlock(&test_lock);

	if (setjmp(test_jmp) == 0)
		fn();
	test_report();
}

int
test(test_fn_t *first, ...)
{
	unsigned count = 0;
	va_list ap;

	va_start(ap, first);
	for (test_fn_t *fn = first; fn != NULL; fn = va_arg(ap, test_fn_t *))
		count++;
	va_end(ap);

	test_runner = pthread_self();
	test_jmp_ready = true;
	test_number = 0;
	test_any_failed = false;
	printf("1..%u\n", count);
	fflush(stdout);

	va_start(ap, first);
	for (test_fn_t *fn = first; fn != NULL; fn = va_arg(ap, test_fn_t *))
		test_run_one(fn);
	va_end(ap);

	test_jmp_ready = false;
	return test_any_failed ? 1 : 0;
}

static void __attribute__((noreturn))
test_child_main(void (*fn)(void *), void *arg, int pipe_fds[2])
{
	struct rlimit no_core = { 0, 0 };
	int devnull;

	setrlimit(RLIMIT_CORE, &no_core);
	close(pipe_fds[0]);
	dup2(pipe_fds[1], STDERR_FILENO);
	close(pipe_fds[1]);
	devnull = open("/dev/null", O_WRONLY);
	if (devnull >= 0) {
		dup2(devnull, STDOUT_FILENO);
		close(devnull);
	}
	test_in_child = true;
	test_jmp_ready = false;

	fn(arg);

	fflush(stdout);
	fflush(stderr);
	_exit(test_status == TEST_FAIL ? 1 : 0);
}

/* Reads fd to EOF; keeps the first outsz - 1 bytes in out, drops the rest. */
static void
test_drain(int fd, char *out, size_t outsz)
{
	size_t len = 0;
	char sink[4096];

	for (;;) {
		char *dst = sink;
		size_t room = sizeof(sink);
		if (out != NULL && outsz > 0 && len < outsz - 1) {
			dst = out + len;
			room = outsz - 1 - len;
		}
		ssize_t n = read(fd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst != sink)
			len += (size_t)n;
	}
	if (out != NULL && outsz > 0)
		out[len] = '\0';
}

int
test_run_child(void (*fn)(void *), void *arg, int *status, char *out,
    size_t outsz)
{
	int pipe_fds[2];
	int wstatus;
	pid_t pid;

	if (pipe(pipe_fds) != 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		int err = errno;
		close(pipe_fds[0]);
		close(pipe_fds[1]);
		errno = err;
		return -1;
	}
	if (pid == 0)
		test_child_main(fn, arg, pipe_fds);

	close(pipe_fds[1]);
	test_drain(pipe_fds[0], out, outsz);
	close(pipe_fds[0]);
	while (waitpid(pid, &wstatus, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	if (status != NULL)
		*status = wstatus;
	return 0;
}

/* ---- stderr capture --------------------------------------------------- */

void test_capture_begin(struct test_capture *c)
{
	fflush(stderr);
	c->file = tmpfile();
	c->saved_fd = dup(STDERR_FILENO);
	if (c->file)
		dup2(fileno(c->file), STDERR_FILENO);
}

void test_capture_end(struct test_capture *c, char *buf, size_t size)
{
	ssize_t n = 0;

	fflush(stderr);
	dup2(c->saved_fd, STDERR_FILENO);
	close(c->saved_fd);
	if (c->file) {
		n = pread(fileno(c->file), buf, size - 1, 0);
		fclose(c->file);
	}
	buf[n > 0 ? n : 0] = '\0';
}
