/*
 * tests/preload/thread_exit.c -- threads that end while their memory lives
 * on, and threads interrupted by signals.  argv[1] picks the mode:
 *
 * churn [N]: N short-lived threads (20000 by default), WINDOW at a time;
 *   each allocates a batch of blocks and exits; only after it was joined
 *   is the batch handed to one long-lived consumer thread, which checks
 *   and frees it: every free is a free of a dead thread's memory.  RSS
 *   after all N must not exceed RSS after the first tenth + RSS_SLACK.
 * pthread_exit: main allocates, starts threads and calls pthread_exit();
 *   one thread joins main, then all of them free main's blocks and their
 *   own, one starts a new thread, each ends by pthread_exit() running a key
 *   destructor that allocates; the last one out prints the TAP result and
 *   exits 0 (1 if anything failed).
 * signals: SIGALRM every 100 us (a handler that only counts) and SIGPROF
 *   (ignored) every 100 us of CPU, while threads run malloc/free for about
 *   a second; everything must finish (joined within a deadline) and the
 *   handler must have run.
 *
 * TAP on stdout; exit 0 iff every test passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#define KiB		((size_t)1 << 10)
#define MiB		((size_t)1 << 20)

/* ---- Blocks stamped with their own address --------------------------- */

static void stamp(void *p, size_t n)
{
	uintptr_t v = (uintptr_t)p;
	size_t i;

	for (i = 0; i + sizeof(v) <= n; i += 64)
		memcpy((char *)p + i, &v, sizeof(v));
}

static bool stamped(const void *p, size_t n)
{
	uintptr_t v;
	size_t i;

	for (i = 0; i + sizeof(v) <= n; i += 64) {
		memcpy(&v, (const char *)p + i, sizeof(v));
		if (v != (uintptr_t)p)
			return false;
	}
	return true;
}

static size_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, resident = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (size_t)sysconf(_SC_PAGESIZE);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- churn ----------------------------------------------------------- */

#define WINDOW		8		/* producers alive at once */
#define BATCH		24		/* blocks per producer */
#define RSS_SLACK	(16 * MiB)

struct batch {
	struct batch *next;
	void *p[BATCH];
	size_t n[BATCH];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct batch *head;		/* handed over, not yet freed */
	bool busy;			/* the consumer is freeing a chain */
	bool done;
	long freed, bad;
} q = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	NULL, false, false, 0, 0 };

/* Mostly small, every fourth block a page or more, one of 40 KiB. */
static size_t batch_size(unsigned t, unsigned i)
{
	if (i == 0)
		return 40 * KiB;
	if (i % 4 == 0)
		return 4 * KiB + (t * 131 + i * 17) % (12 * KiB);
	return 8 + (t * 31 + i * 57) % 700;
}

static void *producer(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg, i;
	struct batch *b = malloc(sizeof(*b));

	if (!b)
		return NULL;
	for (i = 0; i < BATCH; i++) {
		b->n[i] = batch_size(t, i);
		b->p[i] = malloc(b->n[i]);
		if (b->p[i])
			stamp(b->p[i], b->n[i]);
	}
	return b;
}

static void *consumer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&q.lock);
	for (;;) {
		struct batch *b = q.head;
		long freed = 0, bad = 0;

		if (!b) {
			if (q.done)
				break;
			pthread_cond_wait(&q.cond, &q.lock);
			continue;
		}
		q.head = NULL;
		q.busy = true;
		pthread_mutex_unlock(&q.lock);
		while (b) {
			struct batch *next = b->next;
			unsigned i;

			for (i = 0; i < BATCH; i++) {
				if (!b->p[i] || !stamped(b->p[i], b->n[i]))
					bad++;
				free(b->p[i]);
				freed++;
			}
			free(b);
			b = next;
		}
		pthread_mutex_lock(&q.lock);
		q.freed += freed;
		q.bad += bad;
		q.busy = false;
		pthread_cond_broadcast(&q.cond);
	}
	pthread_mutex_unlock(&q.lock);
	return NULL;
}

static void hand_over(struct batch *b)
{
	pthread_mutex_lock(&q.lock);
	b->next = q.head;
	q.head = b;
	pthread_cond_broadcast(&q.cond);
	pthread_mutex_unlock(&q.lock);
}

/* Waits until the consumer has freed everything handed over. */
static void drain(void)
{
	pthread_mutex_lock(&q.lock);
	while (q.head || q.busy)
		pthread_cond_wait(&q.cond, &q.lock);
	pthread_mutex_unlock(&q.lock);
}

static int mode_churn(unsigned n)
{
	unsigned started = 0, batches = 0, t, i;
	size_t rss_first = 0, rss_end;
	pthread_t cons;
	double t0 = now();

	printf("1..5\n");
	if (pthread_create(&cons, NULL, consumer, NULL)) {
		printf("Bail out! pthread_create\n");
		return 1;
	}
	for (t = 0; t < n; t += WINDOW) {
		pthread_t th[WINDOW];
		unsigned k = n - t < WINDOW ? n - t : WINDOW;
		bool ok[WINDOW];

		for (i = 0; i < k; i++) {
			ok[i] = !pthread_create(&th[i], NULL, producer,
						(void *)(uintptr_t)(t + i));
			started += ok[i];
		}
		for (i = 0; i < k; i++) {
			void *b = NULL;

			if (!ok[i])
				continue;
			pthread_join(th[i], &b);	/* gone now */
			if (b) {
				hand_over(b);
				batches++;
			}
		}
		if (t < n / 10 && t + k >= n / 10) {
			drain();
			rss_first = rss_bytes();
		}
	}
	drain();
	rss_end = rss_bytes();
	pthread_mutex_lock(&q.lock);
	q.done = true;
	pthread_cond_broadcast(&q.cond);
	pthread_mutex_unlock(&q.lock);
	pthread_join(cons, NULL);

	printf("# %u threads in %.1f s; RSS after %u: %zu KiB, at the end: "
	       "%zu KiB; %ld blocks freed, %ld bad\n", started, now() - t0,
	       n / 10, rss_first / KiB, rss_end / KiB, q.freed, q.bad);
	result(started == n, "%u short-lived threads start", n);
	result(batches == started, "every thread allocates its batch");
	result(q.freed == (long)batches * BATCH,
	       "the consumer frees every block after its thread exited");
	result(q.bad == 0, "blocks of exited threads are intact when freed");
	result(rss_first > 0 && rss_end <= rss_first + RSS_SLACK,
	       "RSS after %u threads is within %zu MiB of RSS after %u",
	       n, RSS_SLACK / MiB, n / 10);
	return failed ? 1 : 0;
}

/* ---- pthread_exit ---------------------------------------------------- */

#define PX_THREADS	8
#define PX_MAIN_BLOCKS	(PX_THREADS * 16)

static pthread_t main_thread;
static void *main_blocks[PX_MAIN_BLOCKS];
static size_t main_sizes[PX_MAIN_BLOCKS];
static pthread_key_t px_key;
static pthread_mutex_t px_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t px_cond = PTHREAD_COND_INITIALIZER;
static bool main_gone;			/* under px_lock */
static atomic_int px_left = PX_THREADS + 1;	/* + the late thread */
static atomic_int px_bad_main, px_bad_own, px_late_ok, px_dtor_ok;
static atomic_int px_dtor_runs;		/* destructors finished */

/* Runs at each thread's exit; allocates while the thread ends. */
static void px_dtor(void *v)
{
	void *p = malloc(3000);

	if (p && v && stamped(v, 500)) {
		stamp(p, 3000);
		atomic_fetch_add(&px_dtor_ok, stamped(p, 3000));
	}
	free(p);
	free(v);
	atomic_fetch_add(&px_dtor_runs, 1);
}

static void px_report(void)
{
	printf("1..4\n");
	printf("# bad main blocks %d, bad own %d, late thread %d, "
	       "destructors %d\n", atomic_load(&px_bad_main),
	       atomic_load(&px_bad_own), atomic_load(&px_late_ok),
	       atomic_load(&px_dtor_ok));
	result(atomic_load(&px_bad_main) == 0, "blocks of the main thread "
	       "are intact and free after main called pthread_exit");
	result(atomic_load(&px_bad_own) == 0, "threads allocate and free "
	       "after main is gone");
	result(atomic_load(&px_late_ok) == 1, "a thread started after main "
	       "is gone allocates and frees");
	result(atomic_load(&px_dtor_ok) == PX_THREADS + 1, "a key destructor "
	       "allocates while each thread exits");
	fflush(stdout);
}

/*
 * Every thread ends here.  The last one out waits (up to 10 s) for the
 * others' key destructors, which run after they leave here, runs its own,
 * reports and ends the process.
 */
static void px_exit(void)
{
	if (atomic_fetch_sub(&px_left, 1) == 1) {
		void *v = pthread_getspecific(px_key);
		int ms;

		for (ms = 0; ms < 10000 &&
		     atomic_load(&px_dtor_runs) < PX_THREADS; ms++)
			usleep(1000);
		pthread_setspecific(px_key, NULL);
		px_dtor(v);
		px_report();
		exit(failed ? 1 : 0);
	}
	pthread_exit(NULL);
}

static void px_keep_own(void)
{
	void *v = malloc(500);

	if (v)
		stamp(v, 500);
	pthread_setspecific(px_key, v);
}

/* Allocates, frees, checks; the number of failures. */
static int px_work(unsigned seed)
{
	void *p[64];
	int bad = 0, i;

	for (i = 0; i < 64; i++) {
		size_t n = 16 + (seed * 7 + (unsigned)i * 911) % 20000;

		p[i] = malloc(n);
		if (!p[i]) {
			bad++;
			continue;
		}
		stamp(p[i], n);
		bad += !stamped(p[i], n);
		if (i % 2)
			free(p[i]), p[i] = NULL;
	}
	for (i = 0; i < 64; i++)
		free(p[i]);
	return bad;
}

static void *px_late(void *arg)
{
	(void)arg;
	px_keep_own();
	atomic_store(&px_late_ok, px_work(99) == 0);
	px_exit();
	return NULL;
}

static void *px_thread(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg, i;
	int bad = 0;

	px_keep_own();
	bad += px_work(id);
	if (id == 0) {
		pthread_join(main_thread, NULL);
		pthread_mutex_lock(&px_lock);
		main_gone = true;
		pthread_cond_broadcast(&px_cond);
		pthread_mutex_unlock(&px_lock);
	}
	pthread_mutex_lock(&px_lock);
	while (!main_gone)
		pthread_cond_wait(&px_cond, &px_lock);
	pthread_mutex_unlock(&px_lock);

	for (i = id; i < PX_MAIN_BLOCKS; i += PX_THREADS) {
		if (!main_blocks[i] || !stamped(main_blocks[i], main_sizes[i]))
			atomic_fetch_add(&px_bad_main, 1);
		free(main_blocks[i]);
	}
	bad += px_work(id + 1000);
	if (id == 1) {
		pthread_t late;

		if (pthread_create(&late, NULL, px_late, NULL) == 0)
			pthread_detach(late);
		else
			atomic_fetch_sub(&px_left, 1);	/* never comes */
	}
	atomic_fetch_add(&px_bad_own, bad);
	px_exit();
	return NULL;
}

static int mode_pthread_exit(void)
{
	unsigned i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	main_thread = pthread_self();
	if (pthread_key_create(&px_key, px_dtor)) {
		printf("Bail out! pthread_key_create\n");
		return 1;
	}
	for (i = 0; i < PX_MAIN_BLOCKS; i++) {
		main_sizes[i] = 16 + i * 397 % 70000;
		main_blocks[i] = malloc(main_sizes[i]);
		if (main_blocks[i])
			stamp(main_blocks[i], main_sizes[i]);
	}
	for (i = 0; i < PX_THREADS; i++) {
		pthread_t th;

		if (pthread_create(&th, NULL, px_thread, (void *)(uintptr_t)i)) {
			printf("Bail out! pthread_create\n");
			return 1;
		}
		pthread_detach(th);
	}
	pthread_exit(NULL);
}

/* ---- signals --------------------------------------------------------- */

#define SIG_THREADS	4
#define SIG_SECONDS	1.0
#define SIG_DEADLINE	30		/* seconds to join them all */

static volatile sig_atomic_t alarms;
static atomic_long sig_ops, sig_bad;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void *sig_thread(void *arg)
{
	unsigned s = (unsigned)(uintptr_t)arg * 2654435761u + 7;
	void *p[32] = { 0 };
	size_t n[32] = { 0 };
	double end = now() + SIG_SECONDS;
	long ops = 0, bad = 0;
	int i;

	while (now() < end) {
		for (i = 0; i < 256; i++) {
			unsigned k = (s = s * 1103515245u + 12345u) >> 16;
			unsigned j = k % 32;

			if (p[j]) {
				bad += !stamped(p[j], n[j]);
				free(p[j]);
				p[j] = NULL;
			} else {
				n[j] = k % 7 == 0 ? 16 * KiB + k % (200 * KiB)
						  : 16 + k % 2000;
				p[j] = k % 5 == 0 ? calloc(1, n[j])
						  : malloc(n[j]);
				if (p[j])
					stamp(p[j], n[j]);
			}
			ops++;
		}
	}
	for (i = 0; i < 32; i++)
		free(p[i]);
	atomic_fetch_add(&sig_ops, ops);
	atomic_fetch_add(&sig_bad, bad);
	return NULL;
}

static int mode_signals(void)
{
	struct itimerval every = { { 0, 100 }, { 0, 100 } }, off = { 0 };
	struct sigaction sa = { 0 };
	pthread_t th[SIG_THREADS];
	struct timespec deadline;
	int started = 0, joined = 0, i;

	printf("1..4\n");
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPROF, SIG_IGN);
	setitimer(ITIMER_REAL, &every, NULL);
	setitimer(ITIMER_PROF, &every, NULL);

	for (i = 0; i < SIG_THREADS; i++)
		started += !pthread_create(&th[i], NULL, sig_thread,
					   (void *)(uintptr_t)i);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += SIG_DEADLINE;
	for (i = 0; i < started; i++) {
		int rc;

		while ((rc = pthread_timedjoin_np(th[i], NULL, &deadline)) ==
		       EINTR)
			;
		joined += rc == 0;
	}
	setitimer(ITIMER_REAL, &off, NULL);
	setitimer(ITIMER_PROF, &off, NULL);

	printf("# %d alarms, %ld operations\n", (int)alarms,
	       atomic_load(&sig_ops));
	result(started == SIG_THREADS && joined == started,
	       "threads running malloc/free under SIGALRM and SIGPROF every "
	       "100 us finish within %d s (no deadlock)", SIG_DEADLINE);
	result(alarms > 0, "the SIGALRM handler ran");
	result(atomic_load(&sig_ops) > 0, "the threads made progress");
	result(atomic_load(&sig_bad) == 0, "blocks stay intact under "
	       "signals");
	if (joined != started) {
		fflush(stdout);
		_exit(1);		/* threads are stuck: do not wait */
	}
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "churn";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(mode, "churn") == 0)
		return mode_churn(argc > 2 ? (unsigned)strtoul(argv[2], NULL,
							       0) : 20000);
	if (strcmp(mode, "pthread_exit") == 0)
		return mode_pthread_exit();
	if (strcmp(mode, "signals") == 0)
		return mode_signals();
	fprintf(stderr, "usage: %s churn [N] | pthread_exit | signals\n",
		argv[0]);
	return 2;
}
