/*
 * tests/preload/close_stderr.c -- a program that does to its stderr what
 * real programs do before they exit, for tests/preload/stats.sh:
 *
 *   close_stderr close        closes fd 2 (as coreutils' close_stdout)
 *   close_stderr reuse FILE   closes fd 2, opens FILE (it gets fd 2) and
 *                             writes "mine" to it
 *   close_stderr daemon FILE  closes every descriptor, then opens FILE
 *                             until the numbers 0..1023 (or up to the
 *                             descriptor limit) all refer to it, and
 *                             writes "mine" through the last one
 *
 * Each allocates first, so that the allocator has started.  Exit 0, or 1
 * with a message on stdout when a call fails.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what)
{
	printf("close_stderr: %s failed\n", what);
	return 1;
}

static int open_file(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
}

int main(int argc, char **argv)
{
	char *p = malloc(100);
	int fd = -1, i;

	if (!p || argc < 2)
		return fail("malloc or usage");
	strcpy(p, "mine\n");
	if (strcmp(argv[1], "close") == 0)
		return close(2) == 0 ? 0 : fail("close");
	if (argc < 3)
		return fail("usage");
	if (strcmp(argv[1], "reuse") == 0) {
		close(2);
		fd = open_file(argv[2]);
		if (fd != 2)
			return fail("open as fd 2");
	} else if (strcmp(argv[1], "daemon") == 0) {
		fflush(stdout);
		for (i = 0; i < 4096; i++)
			close(i);
		/* Up to 1024 numbers, or as many as the limit allows. */
		for (i = 0; i < 1024; i++) {
			int next = open_file(argv[2]);

			if (next < 0)
				break;
			fd = next;
		}
		if (fd < 0)
			return 1;	/* stdout is closed: the caller checks */
	} else {
		return fail("usage");
	}
	if (write(fd, p, strlen(p)) != (ssize_t)strlen(p))
		return fail("write");
	return 0;
}
