/*
 * tests/preload/fork_threads.c -- fork while other threads are inside
 * malloc, free and realloc.
 *
 * WORKERS threads churn blocks of every size kind (small, page sized,
 * over 8 KiB, over 4 MiB) through malloc, calloc, realloc and free, each
 * block stamped and checked.  Meanwhile the main thread forks argv[1]
 * times (FORKS by default), then FORKERS threads fork half as many times
 * in all, at once.  Every child arms a CHILD_TIMEOUT alarm (a child stuck
 * on a lock some vanished thread held dies of SIGALRM, reported as a
 * deadlock), checks and frees blocks it inherited, allocates every size
 * kind (every fourth child from a thread of its own too) and leaves by
 * exit(0).  Last, posix_spawn, system and
 * vfork + execve of /bin/true while the workers run.  TAP on stdout; exit
 * 0 iff every test passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#define KiB		((size_t)1 << 10)
#define MiB		((size_t)1 << 20)
#define WORKERS		4
#define SLOTS		64		/* blocks a worker holds at once */
#define FORKS		200		/* from the main thread, unless argv[1] */
#define FORKERS		4		/* threads forking at the same time */
#define SPAWNS		20		/* each of posix_spawn, system, vfork */
#define CHILD_TIMEOUT	10		/* seconds */
#define STAMP		32		/* bytes checked at each end */

extern char **environ;

static atomic_bool stop;
static unsigned forks = FORKS;		/* from the main thread */
static unsigned forks_each;		/* from each forker: forks / 8 */
static atomic_long worker_ops, worker_bad;

/* ---- Blocks: stamped at both ends ------------------------------------ */

struct block {
	unsigned char *p;
	size_t n;
	unsigned char seed;
};

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Mostly small, some over 8 KiB, a few over 4 MiB. */
static size_t pick_size(uint32_t *s)
{
	uint32_t r = rnd(s) % 1000;

	if (r < 600)
		return 1 + rnd(s) % 512;
	if (r < 850)
		return 513 + rnd(s) % (8 * KiB);
	if (r < 990)
		return 8 * KiB + 1 + rnd(s) % (256 * KiB);
	return 4 * MiB + 1 + rnd(s) % (2 * MiB);
}

/* Bytes stamped at each end: the ends do not overlap. */
static size_t stamp_len(size_t n)
{
	return n / 2 < STAMP ? n / 2 : STAMP;
}

static void stamp(struct block *b)
{
	size_t k = stamp_len(b->n), i;

	for (i = 0; i < k; i++) {
		b->p[i] = (unsigned char)(b->seed + i);
		b->p[b->n - 1 - i] = (unsigned char)(b->seed - i);
	}
}

/* Checks the first bytes of at most n (a realloc keeps only a prefix). */
static bool stamped_prefix(const struct block *b, size_t n)
{
	size_t k = stamp_len(b->n), i;

	for (i = 0; i < k && i < n; i++)
		if (b->p[i] != (unsigned char)(b->seed + i))
			return false;
	return true;
}

static bool stamped(const struct block *b)
{
	size_t k = stamp_len(b->n), i;

	for (i = 0; i < k; i++)
		if (b->p[b->n - 1 - i] != (unsigned char)(b->seed - i))
			return false;
	return stamped_prefix(b, b->n);
}

static bool zero_ends(const unsigned char *p, size_t n)
{
	size_t k = n < STAMP ? n : STAMP, i;

	for (i = 0; i < k; i++)
		if (p[i] || p[n - 1 - i])
			return false;
	return true;
}

/* One step on slot b: allocate, resize or free.  False if a block
 * did not hold what was written to it. */
static bool churn_step(struct block *b, uint32_t *s)
{
	uint32_t op = rnd(s) % 4;
	bool ok = true;

	if (!b->p) {
		b->n = pick_size(s);
		b->seed = (unsigned char)rnd(s);
		if (op == 0 && b->n <= 256 * KiB) {	/* cheap to zero */
			b->p = calloc(1, b->n);
			ok = !b->p || zero_ends(b->p, b->n);
		} else {
			b->p = malloc(b->n);
		}
		if (b->p)
			stamp(b);
		return ok;
	}
	if (op == 0) {
		size_t n = pick_size(s);
		unsigned char *q = realloc(b->p, n);

		if (!q)
			return stamped(b);
		b->p = q;
		ok = stamped_prefix(b, n);
		b->n = n;
		stamp(b);
		return ok;
	}
	ok = stamped(b);
	free(b->p);
	b->p = NULL;
	return ok;
}

static void *worker(void *arg)
{
	struct block slot[SLOTS] = { { 0 } };
	uint32_t s = (uint32_t)(uintptr_t)arg * 2654435761u + 1;
	long ops = 0, bad = 0;
	int i;

	/* Niced, so the children (nice 0) get the CPU on a small machine;
	 * the workers still run whenever the forking thread waits. */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		bad += !churn_step(&slot[rnd(&s) % SLOTS], &s);
		if (++ops % 1024 == 0) {
			atomic_fetch_add(&worker_ops, 1024);
			sched_yield();
		}
	}
	for (i = 0; i < SLOTS; i++) {
		if (slot[i].p)
			bad += !stamped(&slot[i]);
		free(slot[i].p);
	}
	atomic_fetch_add(&worker_bad, bad);
	return NULL;
}

/* ---- The child ------------------------------------------------------- */

/* Allocated before any fork; every child checks and frees its copies. */
static struct block inherited[5];

static void inherit_init(void)
{
	size_t sizes[5] = { 24, 3000, 20000, 300 * KiB, 5 * MiB };
	int i;

	for (i = 0; i < 5; i++) {
		inherited[i].n = sizes[i];
		inherited[i].seed = (unsigned char)(i * 40 + 1);
		inherited[i].p = malloc(sizes[i]);
		if (inherited[i].p)
			stamp(&inherited[i]);
	}
}

static bool child_allocate(uint32_t seed)
{
	struct block b[16] = { { 0 } };
	bool ok = true;
	int i, k;

	for (k = 0; k < 200; k++)
		ok &= churn_step(&b[k % 16], &seed);
	for (i = 0; i < 16; i++) {
		if (b[i].p)
			ok &= stamped(&b[i]);
		free(b[i].p);
	}
	/* Each kind at least once, whatever the dice said.  Only the ends
	 * are touched, and the huge one is not calloc'd: fresh pages cost a
	 * fault each, and glibc may zero the whole block. */
	{
		size_t kinds[] = { 16, 1000, 5000, 64 * KiB, 4 * MiB + 4 * KiB };

		for (i = 0; i < 5; i++) {
			size_t zn = kinds[i] > MiB ? 4 * KiB : kinds[i];
			struct block m = { malloc(kinds[i]), kinds[i], 0x5a };
			unsigned char *z = calloc(1, zn), *q;

			ok &= m.p && z && zero_ends(z, zn);
			if (!m.p)
				continue;
			stamp(&m);
			q = realloc(m.p, kinds[i] + 4 * KiB);
			ok &= q != NULL;
			if (q) {
				m.p = q;
				ok &= stamped_prefix(&m, m.n);
			}
			free(m.p);
			free(z);
		}
	}
	return ok;
}

static void *child_thread(void *arg)
{
	return (void *)(uintptr_t)child_allocate((uint32_t)(uintptr_t)arg);
}

static void child(unsigned n)
{
	bool ok = true;
	sigset_t alrm;
	int i;

	/* Whatever the parent inherited: SIGALRM must kill. */
	signal(SIGALRM, SIG_DFL);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	alarm(CHILD_TIMEOUT);
	for (i = 0; i < 5; i++) {
		if (inherited[i].p)
			ok &= stamped(&inherited[i]);
		free(inherited[i].p);
	}
	ok &= child_allocate(n * 7919 + 1);
	if (n % 4 == 0) {
		pthread_t th;
		void *r = NULL;

		if (pthread_create(&th, NULL, child_thread,
				   (void *)(uintptr_t)(n + 1)) == 0) {
			pthread_join(th, &r);
			ok &= r != NULL;
		} else {
			ok = false;
		}
	}
	exit(ok ? 0 : 1);
}

/* ---- Forking and counting -------------------------------------------- */

struct tally {
	atomic_int exited0, failed, deadlocked, fork_errors;
	atomic_int first_status;	/* of the first child that failed */
};

static void tally_child(struct tally *t, int status)
{
	int none = 0;

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		atomic_fetch_add(&t->exited0, 1);
		return;
	}
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		atomic_fetch_add(&t->deadlocked, 1);
	else
		atomic_fetch_add(&t->failed, 1);
	atomic_compare_exchange_strong(&t->first_status, &none, status);
}

/* One fork and wait; false once a child deadlocked, to stop early. */
static bool fork_one(struct tally *t, unsigned n)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		child(n);
	if (pid < 0) {
		atomic_fetch_add(&t->fork_errors, 1);
		return true;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return false;
	tally_child(t, status);
	return atomic_load(&t->deadlocked) == 0;
}

static struct tally concurrent;

static void *forker(void *arg)
{
	unsigned base = (unsigned)(uintptr_t)arg * forks_each + forks, i;

	for (i = 0; i < forks_each; i++)
		if (!fork_one(&concurrent, base + i))
			break;
	return NULL;
}

static void describe(const char *what, struct tally *t)
{
	int st = atomic_load(&t->first_status);

	printf("# %s: %d exited 0, %d failed, %d deadlocked, %d fork errors",
	       what, atomic_load(&t->exited0), atomic_load(&t->failed),
	       atomic_load(&t->deadlocked), atomic_load(&t->fork_errors));
	if (st && WIFEXITED(st))
		printf("; first failure: exit %d", WEXITSTATUS(st));
	else if (st && WIFSIGNALED(st))
		printf("; first failure: signal %d", WTERMSIG(st));
	printf("\n");
}

static int run_status(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

/* posix_spawn, system and vfork + execve of /bin/true; successes. */
static int spawn_posix(void)
{
	char *argv[] = { "true", NULL };
	int ok = 0, i;

	for (i = 0; i < SPAWNS; i++) {
		pid_t pid;

		if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ))
			continue;
		ok += run_status(pid) == 0;
	}
	return ok;
}

static int spawn_system(void)
{
	int ok = 0, i;

	for (i = 0; i < SPAWNS; i++)
		ok += system("true") == 0;
	return ok;
}

/* Alone in its frame: nothing of the caller's lives across vfork. */
__attribute__((noinline)) static pid_t vfork_true(void)
{
	static char *argv[] = { "true", NULL };
	pid_t pid = vfork();

	if (pid == 0) {
		execve("/bin/true", argv, environ);
		_exit(127);
	}
	return pid;
}

static int spawn_vfork(void)
{
	int ok = 0, i;

	for (i = 0; i < SPAWNS; i++) {
		pid_t pid = vfork_true();

		if (pid > 0)
			ok += run_status(pid) == 0;
	}
	return ok;
}

int main(int argc, char **argv)
{
	pthread_t w[WORKERS], f[FORKERS];
	struct tally serial = { 0 };
	int i, started = 0, forkers = 0, posix_ok, system_ok, vfork_ok;
	unsigned n;

	if (argc > 1)
		forks = (unsigned)strtoul(argv[1], NULL, 0);
	forks_each = forks / 2 / FORKERS;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..9\n");
	fflush(stdout);
	inherit_init();
	for (i = 0; i < WORKERS; i++)
		started += !pthread_create(&w[i], NULL, worker,
					   (void *)(uintptr_t)(i + 1));
	while (atomic_load(&worker_ops) < 4096)	/* all of them busy */
		sched_yield();

	for (n = 0; n < forks; n++)
		if (!fork_one(&serial, n))
			break;
	for (i = 0; i < FORKERS; i++)
		forkers += !pthread_create(&f[i], NULL, forker,
					   (void *)(uintptr_t)i);
	for (i = 0; i < forkers; i++)
		pthread_join(f[i], NULL);
	posix_ok = spawn_posix();
	system_ok = spawn_system();
	vfork_ok = spawn_vfork();

	atomic_store(&stop, true);
	for (i = 0; i < started; i++)
		pthread_join(w[i], NULL);

	describe("main thread's forks", &serial);
	describe("concurrent forks", &concurrent);
	printf("# workers %d, %ld operations; spawns: posix %d system %d "
	       "vfork %d\n", started, atomic_load(&worker_ops), posix_ok,
	       system_ok, vfork_ok);
	result(started == WORKERS && forkers == FORKERS, "threads start");
	result(atomic_load(&serial.deadlocked) == 0,
	       "no child forked by the main thread during malloc/free/realloc "
	       "in %d threads deadlocked", WORKERS);
	result(atomic_load(&serial.exited0) == (int)forks,
	       "%u children of the main thread check inherited blocks, "
	       "allocate every size kind (some in a thread) and exit 0", forks);
	result(atomic_load(&concurrent.deadlocked) == 0,
	       "no child of %d threads forking at once deadlocked", FORKERS);
	result(atomic_load(&concurrent.exited0) == (int)(FORKERS * forks_each),
	       "%u children of %d threads forking at once exit 0",
	       FORKERS * forks_each, FORKERS);
	result(posix_ok == SPAWNS, "posix_spawn of /bin/true while threads "
	       "allocate");
	result(system_ok == SPAWNS, "system(\"true\") while threads allocate");
	result(vfork_ok == SPAWNS, "vfork + execve of /bin/true while threads "
	       "allocate");
	result(atomic_load(&worker_bad) == 0 &&
	       atomic_load(&worker_ops) > 4096,
	       "the workers' blocks stay intact across the forks");
	for (i = 0; i < 5; i++)
		free(inherited[i].p);
	return failed ? 1 : 0;
}
