/*
 * tests/preload/dlopen_main.c -- dlopen and dlclose a module with TLS 100
 * times (argv[1]: the path of dlmod.so) while threads touch its TLS: glibc's
 * loader allocates and frees link maps, TLS blocks and DTVs with malloc,
 * interleaved with the program's own allocations.  Each round: open, a
 * few short-lived threads and one long-lived thread (alive across all
 * rounds, so its DTV slot for the module is reused and its old TLS block
 * freed by glibc) touch the module's TLS, then close; the module's
 * destructor checks its constructor's block.  TAP on stdout; exit 0 iff
 * every test passed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#define ROUNDS		100
#define SHORT_THREADS	3
#define TOUCHES		50

typedef int (touch_fn)(long calls);

static touch_fn *touch;			/* of the module open this round */
static pthread_barrier_t round_start, round_end;
static volatile bool done;
static int bad_tls;			/* under lock */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void touch_all(void)
{
	long k;
	int bad = 0;
	void *junk[TOUCHES];

	for (k = 0; k < TOUCHES; k++) {
		bad += !touch(k);
		junk[k] = malloc((size_t)(k * 37 % 3000) + 1);
	}
	for (k = 0; k < TOUCHES; k++)
		free(junk[k]);
	if (bad) {
		pthread_mutex_lock(&lock);
		bad_tls += bad;
		pthread_mutex_unlock(&lock);
	}
}

static void *short_thread(void *arg)
{
	(void)arg;
	touch_all();
	return NULL;
}

/* Alive across every round: touches the module each time it is open. */
static void *long_thread(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_barrier_wait(&round_start);
		if (done)
			return NULL;
		touch_all();
		pthread_barrier_wait(&round_end);
	}
}

int main(int argc, char **argv)
{
	int opened = 0, closed = 0, ctor_ok = 0, dtor_ok = 0, spawned = 0;
	pthread_t lt;
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH/dlmod.so\n", argv[0]);
		return 2;
	}
	printf("1..5\n");
	pthread_barrier_init(&round_start, NULL, 2);
	pthread_barrier_init(&round_end, NULL, 2);
	if (pthread_create(&lt, NULL, long_thread, NULL)) {
		printf("Bail out! pthread_create\n");
		return 1;
	}
	for (r = 0; r < ROUNDS; r++) {
		void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
		void (*set_report)(int *);
		int (*ctor)(void);
		pthread_t th[SHORT_THREADS];
		int i;

		if (!h) {
			printf("# dlopen: %s\n", dlerror());
			break;
		}
		opened++;
		touch = (touch_fn *)dlsym(h, "dlmod_touch");
		set_report = (void (*)(int *))dlsym(h, "dlmod_set_report");
		ctor = (int (*)(void))dlsym(h, "dlmod_ctor_ok");
		if (!touch || !set_report || !ctor) {
			printf("# dlsym: %s\n", dlerror());
			dlclose(h);
			break;
		}
		set_report(&dtor_ok);
		ctor_ok += ctor();

		pthread_barrier_wait(&round_start);
		for (i = 0; i < SHORT_THREADS; i++)
			spawned += !pthread_create(&th[i], NULL, short_thread,
						   NULL);
		touch_all();
		for (i = 0; i < SHORT_THREADS; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_wait(&round_end);

		closed += dlclose(h) == 0;
	}
	done = true;
	pthread_barrier_wait(&round_start);
	pthread_join(lt, NULL);

	printf("# opened %d closed %d ctor %d dtor %d threads %d bad TLS %d\n",
	       opened, closed, ctor_ok, dtor_ok, spawned, bad_tls);
	result(opened == ROUNDS && closed == ROUNDS,
	       "dlopen and dlclose of the TLS module succeed 100 times");
	result(ctor_ok == ROUNDS, "the module's constructor allocates each "
	       "time it is loaded");
	result(dtor_ok == ROUNDS, "the module's destructor finds its block "
	       "intact and frees it each time");
	result(spawned == ROUNDS * SHORT_THREADS,
	       "threads start between dlopen and dlclose");
	result(bad_tls == 0, "every thread sees the module's TLS initialized, "
	       "zeroed, aligned and its own, in every load");
	return failed ? 1 : 0;
}
