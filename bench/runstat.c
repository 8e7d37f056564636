/*
 * runstat.c - run a command, report its wall time and peak RSS.
 *
 *   runstat [-q] [-o FILE] -- command args...
 *
 * Forks, execvp()s the command (stdin and stderr inherited, stdout too
 * unless -q sends it to /dev/null), reaps it with wait4() and prints one
 * line "wall_ms=<float> maxrss_kb=<n> status=<s>" to stderr, or writes it
 * to FILE (truncated) with -o.  maxrss_kb is the child's ru_maxrss: the
 * peak of the largest process in the tree it waited for, not the sum.
 * status is the exit status, 128+signal if killed; runstat exits with it.
 * Used by bench/realprog.sh; no uslub code is linked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct runstat_opts {
	const char *out;	/* -o FILE, or NULL for stderr */
	int quiet;		/* -q: child's stdout to /dev/null */
	char **argv;		/* the command, NULL-terminated */
};

static void runstat_usage(void)
{
	fprintf(stderr, "usage: runstat [-q] [-o FILE] -- command args...\n");
	exit(2);
}

static void runstat_parse(int argc, char **argv, struct runstat_opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt(argc, argv, "+o:q")) != -1) {
		switch (c) {
		case 'o':
			o->out = optarg;
			break;
		case 'q':
			o->quiet = 1;
			break;
		default:
			runstat_usage();
		}
	}
	if (optind >= argc)
		runstat_usage();
	o->argv = argv + optind;
}

static double runstat_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* In the child: redirect stdout if asked, then become the command. */
static void runstat_exec(const struct runstat_opts *o)
{
	if (o->quiet) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) {
			perror("runstat: /dev/null");
			_exit(127);
		}
		close(fd);
	}
	execvp(o->argv[0], o->argv);
	fprintf(stderr, "runstat: %s: %s\n", o->argv[0], strerror(errno));
	_exit(127);
}

static int runstat_status(int wstatus)
{
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return WEXITSTATUS(wstatus);
}

static void runstat_report(const struct runstat_opts *o, double ms,
			   long maxrss_kb, int status)
{
	FILE *f = stderr;

	if (o->out && !(f = fopen(o->out, "w"))) {
		fprintf(stderr, "runstat: %s: %s\n", o->out, strerror(errno));
		exit(125);
	}
	fprintf(f, "wall_ms=%.3f maxrss_kb=%ld status=%d\n", ms, maxrss_kb,
		status);
	if (f != stderr && fclose(f) != 0) {
		fprintf(stderr, "runstat: %s: %s\n", o->out, strerror(errno));
		exit(125);
	}
}

int main(int argc, char **argv)
{
	struct runstat_opts o;
	struct rusage ru;
	double t0;
	pid_t pid;
	int wstatus;

	runstat_parse(argc, argv, &o);
	t0 = runstat_now_ms();
	pid = fork();
	if (pid < 0) {
		perror("runstat: fork");
		return 125;
	}
	if (pid == 0)
		runstat_exec(&o);
	while (wait4(pid, &wstatus, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("runstat: wait4");
			return 125;
		}
	}
	runstat_report(&o, runstat_now_ms() - t0, ru.ru_maxrss,
		       runstat_status(wstatus));
	return runstat_status(wstatus);
}
