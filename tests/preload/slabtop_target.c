/*
 * tests/preload/slabtop_target.c -- a process for tests/preload/slabtop.sh
 * to watch: run under LD_PRELOAD=libuslub-preload.so with default
 * options, it creates caches of known names and object counts (through
 * the uslub_* names the preload library exports, found with dlsym), says
 * it is up by writing its pid to DIR/ready.MODE, and keeps allocating
 * until DIR/stop appears: every round creates and destroys a cache (which
 * takes uslub's slab_mutex) and mallocs and frees, and DIR/beat.MODE
 * counts the rounds.  While DIR/pause exists it allocates nothing.
 *
 *   slabtop_target DIR MODE
 *     plain       slabtop_test (37 objects), busy_cache (3 objects)
 *                 whose destroy failed, and MANY_CACHES empty caches,
 *                 so that the JSON overflows a socket's send buffer
 *     fork        slabtop_test, then a child that adds child_cache (5)
 *                 and is up as "child"
 *     exec        slabtop_test; when DIR/go appears, exec's itself as
 *     after-exec  after_exec_cache (13)
 *
 * Prints "done MODE" and exits 0 at the end (a fork parent: after its
 * child did the same).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uslub.h>

#define OBJECT_SIZE	200
#define ROUNDS_MAX	6000	/* 5 ms each: give up after about 30 s */
#define MANY_CACHES	400	/* 800 bytes of JSON each */

static struct uslub_cache *(*cache_create)(const char *, size_t, size_t,
					   uslub_slab_flags_t,
					   void (*)(void *));
static int (*cache_destroy)(struct uslub_cache *);
static void *(*cache_alloc)(struct uslub_cache *, uslub_gfp_t);
static void (*cache_free)(struct uslub_cache *, void *);

static const char *dir;

static void die(const char *what)
{
	fprintf(stderr, "slabtop_target: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *need(const char *name)
{
	void *f = dlsym(RTLD_DEFAULT, name);

	if (!f) {
		fprintf(stderr, "slabtop_target: %s not found: not running "
			"under libuslub-preload.so?\n", name);
		exit(1);
	}
	return f;
}

static char *path(const char *name, const char *mode)
{
	static char buf[2][4096];
	static int i;

	i ^= 1;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s%s%s", dir, name,
		 mode ? "." : "", mode ? mode : "");
	return buf[i];
}

static int exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* Write text to file p all at once (a rename), so readers never see half. */
static void put(const char *p, const char *fmt, long v)
{
	char tmp[4200];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	f = fopen(tmp, "w");
	if (!f)
		die(tmp);
	fprintf(f, fmt, v);
	if (fclose(f) || rename(tmp, p))
		die(p);
}

/* A cache of n live objects, kept to the end. */
static void cache_with(const char *name, int n)
{
	struct uslub_cache *s = cache_create(name, OBJECT_SIZE, 0, 0, NULL);
	int i;

	if (!s)
		die(name);
	for (i = 0; i < n; i++)
		if (!cache_alloc(s, 0))
			die("uslub_cache_alloc");
}

static void round_of_work(void)
{
	struct uslub_cache *s = cache_create("churn", 72, 0, 0, NULL);
	void *objs[8], *blocks[64];
	int i;

	if (!s)
		die("churn");
	for (i = 0; i < 8; i++)
		objs[i] = cache_alloc(s, 0);
	for (i = 0; i < 8; i++)
		cache_free(s, objs[i]);
	if (cache_destroy(s))
		die("destroying churn");
	for (i = 0; i < 64; i++) {
		blocks[i] = malloc((size_t)(i * 97 % 3000) + 1);
		if (!blocks[i])
			die("malloc");
		memset(blocks[i], i, 1);
	}
	for (i = 0; i < 64; i++)
		free(blocks[i]);
}

/* Allocate until DIR/stop, counting rounds in DIR/beat.MODE. */
static void work(const char *mode)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	long rounds = 0;
	int i;

	for (i = 0; i < ROUNDS_MAX && !exists(path("stop", NULL)); i++) {
		if (!exists(path("pause", NULL))) {
			round_of_work();
			if (++rounds % 10 == 0)
				put(path("beat", mode), "%ld\n", rounds);
		}
		nanosleep(&ts, NULL);
	}
}

static void up(const char *mode)
{
	put(path("ready", mode), "%ld\n", (long)getpid());
}

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	const char *mode;
	int i, status;
	pid_t child;

	if (argc != 3) {
		fprintf(stderr, "usage: slabtop_target DIR MODE\n");
		return 2;
	}
	dir = argv[1];
	mode = argv[2];
	cache_create = need("uslub_cache_create");
	cache_destroy = need("uslub_cache_destroy");
	cache_alloc = need("uslub_cache_alloc");
	cache_free = need("uslub_cache_free");

	if (strcmp(mode, "after-exec") == 0) {
		cache_with("after_exec_cache", 13);
		up(mode);
		work(mode);
		printf("done %s\n", mode);
		return 0;
	}
	cache_with("slabtop_test", 37);
	if (strcmp(mode, "plain") == 0) {
		struct uslub_cache *s = cache_create("busy_cache", OBJECT_SIZE,
						     0, 0, NULL);

		for (i = 0; i < 3; i++)
			if (!s || !cache_alloc(s, 0))
				die("busy_cache");
		if (cache_destroy(s) != -EBUSY)
			die("destroying busy_cache did not fail");
		for (i = 0; i < MANY_CACHES; i++) {
			char name[32];

			snprintf(name, sizeof(name), "many_%03d", i);
			cache_with(name, 0);
		}
	}
	up(mode);
	if (strcmp(mode, "fork") == 0) {
		fflush(stdout);
		child = fork();
		if (child < 0)
			die("fork");
		if (child == 0) {
			cache_with("child_cache", 5);
			up("child");
			work("child");
			printf("done child\n");
			return 0;
		}
		work(mode);
		if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			die("the child failed");
	} else if (strcmp(mode, "exec") == 0) {
		for (i = 0; i < ROUNDS_MAX && !exists(path("go", NULL)); i++) {
			round_of_work();
			nanosleep(&ts, NULL);
		}
		execl("/proc/self/exe", argv[0], dir, "after-exec", (char *)NULL);
		die("exec");
	} else {
		work(mode);
	}
	printf("done %s\n", mode);
	return 0;
}
