/*
 * Unit tests for the exit report's destination and contents (stats.c's
 * stats_setup and stats_exit_report, os.h's os_dup_high, os_fd_identity
 * and os_strerror, options.c's stats values): the report goes to the
 * stderr of the start after fd 2 was replaced, never into a file that
 * took the duplicate's number, not from a process USLUB_STATS_PID does
 * not name; empty caches are hidden and counted unless stats=all.
 */
#include "test.h"

#include "options.h"
#include "os.h"
#include "stats.h"
#include "uslub.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/uslub-stats-report.XXXXXX";
static char text[1 << 16];

static int open_file(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return open(path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0644);
}

/* The whole of a file, from its start, in text[]. */
static const char *contents(int fd)
{
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);

	text[n > 0 ? n : 0] = '\0';
	return text;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The descriptor stats_setup keeps: the one above 2 on the file of fd. */
static int find_duplicate(int fd)
{
	int i;

	for (i = 3; i < 1024; i++)
		if (i != fd && same_file(i, fd))
			return i;
	return -1;
}

TEST_BEGIN(test_os_helpers)
{
	uint64_t dev, ino, dev2, ino2;
	int a = open_file("a"), b = open_file("b"), d;

	expect_str_eq(os_strerror(ENOENT), "No such file or directory", "");
	expect_str_eq(os_strerror(EBADF), "Bad file descriptor", "");
	expect_str_eq(os_strerror(99999), "Unknown error", "");

	d = os_dup_high(a);
	expect_d_ge(d, 3, "a descriptor");
	expect_d_gt(d, a, "above the low numbers");
	expect_d_eq(fcntl(d, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC,
		    "close-on-exec");
	expect_d_eq(os_fd_identity(a, &dev, &ino), 0, "");
	expect_d_eq(os_fd_identity(d, &dev2, &ino2), 0, "");
	expect_true(dev == dev2 && ino == ino2, "the duplicate is the file");
	expect_d_eq(os_fd_identity(b, &dev2, &ino2), 0, "");
	expect_true(ino != ino2, "another file has another identity");
	close(d);
	expect_d_eq(os_fd_identity(d, &dev2, &ino2), EBADF, "closed");
	close(a);
	close(b);
}
TEST_END

TEST_BEGIN(test_stats_values)
{
	int saved = dup(2), null = open("/dev/null", O_WRONLY);

	uslub_opt.stats = uslub_opt.stats_all = false;
	expect_d_eq(options_parse("stats"), 0, "");
	expect_true(uslub_opt.stats && !uslub_opt.stats_all, "stats");
	expect_d_eq(options_parse("stats=0"), 0, "");
	expect_false(uslub_opt.stats, "stats=0");
	expect_d_eq(options_parse("stats=all"), 0, "");
	expect_true(uslub_opt.stats && uslub_opt.stats_all, "stats=all");
	dup2(null, 2);			/* the warning line */
	expect_d_eq(options_parse("stats=2"), 1, "stats=2 is refused");
	expect_d_eq(options_parse("stats=al"), 1, "stats=al is refused");
	dup2(saved, 2);
	close(saved);
	close(null);
	uslub_opt.stats = uslub_opt.stats_all = false;
}
TEST_END

TEST_BEGIN(test_report_destination)
{
	int saved = dup(2), start = open_file("start"), later = open_file("later");
	int reuse = open_file("reuse"), dupfd;
	void *p = uslub_kmalloc(100, 0);	/* kmalloc-112 is not empty */

	expect_ptr_not_null(p, "");
	unsetenv("USLUB_STATS_PID");
	/* stderr at start is "start"; uslub keeps its duplicate. */
	dup2(start, 2);
	uslub_opt.stats = true;
	uslub_opt.stats_all = false;
	stats_setup();
	dupfd = find_duplicate(start);
	expect_d_ge(dupfd, 3, "stats_setup keeps a duplicate of fd 2");

	/* The program replaces its stderr: the report still goes to start. */
	dup2(later, 2);
	stats_exit_report();
	expect_ptr_not_null(strstr(contents(start), "slabinfo - version: 2.1"),
			    "the report reaches the stderr of the start");
	expect_ptr_not_null(strstr(text, "uslub: summary: in use "), "");
	expect_ptr_not_null(strstr(text, "\nkmalloc-112 "),
			    "a cache in use is listed");
	expect_ptr_null(strstr(text, "\nkmalloc-8k "),
			"an empty cache is hidden");
	expect_ptr_not_null(strstr(text, " empty caches hidden (stats=all "
				   "shows them)\n"), "and counted");
	expect_str_eq(contents(later), "", "nothing in the new fd 2");

	/* stats=all: every cache, nothing said hidden. */
	expect_d_eq(ftruncate(start, 0), 0, "");
	uslub_opt.stats_all = true;
	stats_exit_report();
	expect_ptr_not_null(strstr(contents(start), "\nkmalloc-8k "),
			    "stats=all lists empty caches");
	expect_ptr_null(strstr(text, "hidden"), "");
	uslub_opt.stats_all = false;

	/* The duplicate closed and its number reused by another file, fd 2
	 * another file too: no report anywhere. */
	expect_d_eq(ftruncate(start, 0), 0, "");
	dup2(reuse, dupfd);
	stats_exit_report();
	expect_str_eq(contents(reuse), "", "not into a file that took the "
		      "duplicate's number");
	expect_str_eq(contents(later), "", "");
	expect_str_eq(contents(start), "", "");

	/* ... unless fd 2 is still the stderr of the start. */
	dup2(start, 2);
	stats_exit_report();
	expect_ptr_not_null(strstr(contents(start), "uslub: summary: "),
			    "fd 2 is used when it is still the same file");
	expect_str_eq(contents(reuse), "", "");

	/* USLUB_STATS_PID names another process: no report. */
	expect_d_eq(ftruncate(start, 0), 0, "");
	setenv("USLUB_STATS_PID", "1", 1);
	stats_setup();
	stats_exit_report();
	expect_str_eq(contents(start), "", "another pid's report");
	setenv("USLUB_STATS_PID", "0", 1);	/* 0: no pid named */
	stats_setup();
	unsetenv("USLUB_STATS_PID");

	dup2(saved, 2);
	close(saved);
	close(start);
	close(later);
	close(reuse);
	uslub_opt.stats = false;
	uslub_kfree(p);
}
TEST_END

TEST_BEGIN(test_stats_file_error)
{
	int saved = dup(2), err = open_file("err");
	char want[512];

	snprintf(want, sizeof(want), "uslub: stats_file %s/no/such: cannot "
		 "open: No such file or directory\n", dir);
	snprintf(uslub_opt.stats_file, sizeof(uslub_opt.stats_file),
		 "%s/no/such", dir);
	uslub_opt.stats = true;
	dup2(err, 2);
	stats_exit_report();
	dup2(saved, 2);
	expect_str_eq(contents(err), want, "the error's text, not its number");
	uslub_opt.stats_file[0] = '\0';
	uslub_opt.stats = false;
	close(saved);
	close(err);
}
TEST_END

int main(void)
{
	char cmd[64];
	int ret;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	ret = test(test_os_helpers, test_stats_values, test_report_destination,
		   test_stats_file_error, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		ret = ret ? ret : 1;
	return ret;
}
