/*
 * prof_prog: a program that knows nothing of uslub, for tests/preload/
 * prof.sh.  It prints its pid, keeps 4 MiB of 256-byte blocks allocated
 * by prof_leaky (never freed: a leak), churns through 16 MiB that
 * prof_churn frees at once, dumps a profile to the file named by its
 * first argument through uslub_prof_dump when the allocator has one, and
 * forks a child that prints its pid and leaks 2 MiB from
 * prof_child_leaky before it exits.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) void *prof_leaky(size_t size)
{
	void *p = malloc(size);

	if (p)
		memset(p, 0x5a, size);
	return p;
}

__attribute__((noinline)) void prof_churn(size_t size)
{
	void *p = malloc(size);

	if (p)
		memset(p, 1, size);
	free(p);
}

__attribute__((noinline)) void *prof_child_leaky(size_t size)
{
	void *p = malloc(size);

	if (p)
		memset(p, 0x6b, size);
	return p;
}

static void *leaked[1 << 16];

int main(int argc, char **argv)
{
	int (*dump)(const char *) =
		(int (*)(const char *))dlsym(RTLD_DEFAULT, "uslub_prof_dump");
	unsigned int i, n = (4 << 20) / 256;
	pid_t child;
	int status;

	printf("pid %d\n", (int)getpid());
	for (i = 0; i < n; i++)
		leaked[i] = prof_leaky(256);
	for (i = 0; i < (16 << 20) / 512; i++)
		prof_churn(512);
	if (argc > 1 && dump)
		printf("dump %d\n", dump(argv[1]));
	fflush(stdout);
	child = fork();
	if (child == 0) {
		printf("child %d\n", (int)getpid());
		for (i = 0; i < (2 << 20) / 1024; i++)
			leaked[i] = prof_child_leaky(1024);
		return 0;
	}
	if (child < 0 || waitpid(child, &status, 0) != child ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "prof_prog: child failed\n");
		return 1;
	}
	return 0;
}
