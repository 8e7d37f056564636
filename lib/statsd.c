/*
 * statsd.c - L5: the statistics server.  uslub-slabtop and uslub-slabinfo
 * read the statistics of a running process through it.  Entry points:
 * statsd_start (the library constructor), statsd_ensure (the slow paths,
 * while the server is pending), statsd_fork_child.  Uses stats.c,
 * stats_json.c and prof.c for the text, os.h for the socket.
 *
 * The channel: a stream socket in the abstract Unix namespace named
 * "uslub/<pid>" (no file to create or clean up; the kernel removes the
 * name with the last descriptor), served by one detached thread of ours
 * with every signal blocked.  A client connects, sends one request line
 * ("slabinfo\n"), and reads "ok\n" and the text, or "error: ...\n", to
 * the end of the stream.  The fast paths know nothing of it.
 *
 * A reader can do no harm: the peer's uid (SO_PEERCRED) must be the
 * process's euid or 0; the request line is at most STATSD_LINE_MAX bytes;
 * each receive and send gives up after STATSD_TIMEOUT_MS and a connection
 * after STATSD_CONN_MS, so a reader that stalls, trickles, dies or sends
 * garbage costs the server a few seconds at most; the text is rendered
 * into a memory file under the locks the exit report takes, then sent
 * with no lock held, so a slow reader never holds up an allocating
 * thread; nothing here allocates (the memory file is the kernel's); sends
 * never raise SIGPIPE.
 *
 * Lifetime: the constructor starts the server before main in the program
 * uslub-run started (USLUB_RUN_PID, which exec keeps) and with
 * slabtop=1.  Any other process -- the shells, compilers and tools a
 * build or a script starts by the thousand, which live milliseconds --
 * makes it pending: it starts at the first allocation slow path or free
 * overflow (with no uslub lock held) once the process is STATSD_DELAY_MS
 * old; a process whose every call stays on the fast paths waits.  A thread
 * per process cost a fork+exec loop of /bin/true 50 % more CPU.  The
 * sockets are close-on-exec, so a new image binds the name afresh.  A
 * fork child closes its copies of the parent's sockets (the name stays
 * the parent's) and becomes pending in the same way (at once with
 * slabtop=1), so a child that only execs never starts one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "statsd.h"
#include "lock.h"
#include "log.h"
#include "options.h"
#include "os.h"
#include "stats.h"
#include "stats_json.h"
#include "thread.h"
#include "prof.h"

#define STATSD_LINE_MAX		64	/* request line, newline included */
#define STATSD_TIMEOUT_MS	1000	/* per receive and per send */
#define STATSD_CONN_MS		5000	/* per connection, checked between */
#define STATSD_STACK_SIZE	(256 * 1024)
#define STATSD_DELAY_MS		1000	/* age of a process that serves */

static int help_write(int fd);

/* The requests, by name.  A request renders its whole reply into fd (a
 * memory file) and returns 0, or -1 with errno; fail, if set, is what
 * the reader is told then. */
static const struct statsd_request {
	const char *name;
	int (*write)(int fd);
	const char *fail;
} statsd_requests[] = {
	/* /proc/slabinfo 2.1; Slab:, SReclaimable:, ...; event counters and
	 * sheaves; all of it as JSON (doc/stats-json.md) */
	{ "slabinfo", stats_slabinfo_write, NULL },
	{ "meminfo", stats_meminfo_write, NULL },
	{ "stats", stats_counters_write, NULL },
	{ "json", stats_json_write, NULL },
	{ "buddyinfo", stats_buddyinfo_write, NULL },
	{ "malloc_stats", stats_malloc_stats_write, NULL },
	{ "prof", prof_write,			/* prof=1's heap profile */
	  "no heap profile: the profiler is off (USLUB_OPTIONS=prof=1)" },
	{ "help", help_write, NULL },		/* these names */
};

/* IDLE (not decided yet), PENDING (statsd_due says when), STARTING,
 * RUNNING or OFF (atomic). */
enum statsd_state {
	STATSD_IDLE, STATSD_PENDING, STATSD_STARTING, STATSD_RUNNING,
	STATSD_OFF,
};
static int statsd_state;
uint64_t statsd_due = UINT64_MAX;
/* This process's sockets, for a fork child to close (atomic). */
static int statsd_listen_fd = -1, statsd_conn_fd = -1;

static int help_write(int fd)
{
	struct log_buf b;
	size_t i;

	log_buf_init(&b, fd);
	for (i = 0; i < ARRAY_SIZE(statsd_requests); i++)
		log_buf_printf(&b, "%s\n", statsd_requests[i].name);
	return log_buf_flush(&b);
}

static void reply_error(int fd, const char *what, int err)
{
	char line[128];
	size_t n;

	if (err)
		n = log_format(line, sizeof(line), "error: %s: %s\n", what,
			       strerror(err));
	else
		n = log_format(line, sizeof(line), "error: %s\n", what);
	os_send_all(fd, line, MIN(n, sizeof(line) - 1));
}

/* The request line, up to its newline, into line; false (after
 * replying) if it is too long or does not come in time. */
static bool read_request(int fd, char *line, uint64_t deadline)
{
	size_t len = 0;
	char *nl = NULL;
	long n;

	while (!nl && len < STATSD_LINE_MAX) {
		if (os_now_ms() > deadline) {
			reply_error(fd, "request too slow", 0);
			return false;
		}
		n = os_recv(fd, line + len, STATSD_LINE_MAX - len);
		if (n < 0) {
			reply_error(fd, "reading the request", (int)-n);
			return false;
		}
		if (n == 0)			/* no newline: the line ends here */
			break;
		len += (size_t)n;
		nl = memchr(line, '\n', len);
	}
	if (nl)
		len = (size_t)(nl - line);
	else if (len == STATSD_LINE_MAX) {
		reply_error(fd, "request line too long", 0);
		return false;
	}
	if (len && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	return true;
}

static const struct statsd_request *find_request(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(statsd_requests); i++)
		if (strcmp(statsd_requests[i].name, name) == 0)
			return &statsd_requests[i];
	return NULL;
}

/* The rendered reply, from the memory file to the socket, no lock held;
 * a reader that went, stalled or trickles is left. */
static void send_file(int fd, int mfd, uint64_t deadline)
{
	char chunk[4096];
	uint64_t off = 0;
	long n;

	if (os_send_all(fd, "ok\n", 3))
		return;
	while ((n = os_pread(mfd, chunk, sizeof(chunk), off)) > 0) {
		if (os_now_ms() > deadline ||
		    os_send_all(fd, chunk, (size_t)n))
			return;
		off += (uint64_t)n;
	}
}

/* The line is read first even from a stranger, so that the reply is not
 * lost to a reset of a connection closed with unread data. */
static void serve(int fd, unsigned int uid)
{
	uint64_t deadline = os_now_ms() + STATSD_CONN_MS;
	const struct statsd_request *r;
	char line[STATSD_LINE_MAX + 1];
	int mfd;

	if (!read_request(fd, line, deadline))
		return;
	if (uid != os_geteuid() && uid != 0) {
		reply_error(fd, "permission denied", 0);
		return;
	}
	r = find_request(line);
	if (!r) {
		reply_error(fd, "unknown request (\"help\" lists them)", 0);
		return;
	}
	mfd = os_memfile("uslub-stats");
	if (mfd < 0) {
		reply_error(fd, "cannot create a memory file", -mfd);
		return;
	}
	if (r->write(mfd) == 0)
		send_file(fd, mfd, deadline);
	else
		reply_error(fd, r->fail ? r->fail : "writing the statistics",
			    0);
	os_close(mfd);
}

static void *statsd_main(void *arg)
{
	int lfd = (int)(intptr_t)arg, fd;
	unsigned int uid;

	for (;;) {
		fd = os_accept_peer(lfd, STATSD_TIMEOUT_MS, &uid);
		if (fd < 0) {
			/* Out of descriptors or memory: wait, don't spin. */
			if (fd != -EINTR && fd != -ECONNABORTED)
				os_sleep_ms(100);
			continue;
		}
		__atomic_store_n(&statsd_conn_fd, fd, __ATOMIC_RELAXED);
		serve(fd, uid);
		/* Ends the stream even where a fork child holds a copy. */
		os_shutdown(fd);
		__atomic_store_n(&statsd_conn_fd, -1, __ATOMIC_RELAXED);
		os_close(fd);
	}
	return NULL;
}

static bool thread_create(int lfd)
{
	int err = thread_start_detached(statsd_main, (void *)(intptr_t)lfd,
					STATSD_STACK_SIZE, "uslub-statsd");

	if (err) {
		if (uslub_opt.verbose)
			log_error("slabtop: cannot start the statistics server "
				  "thread: %s", strerror(err));
		return false;
	}
	return true;
}

/* From state from (IDLE or PENDING), once per process. */
static void start_from(int from)
{
	char name[32];
	int lfd;

	if (!__atomic_compare_exchange_n(&statsd_state, &from, STATSD_STARTING,
					 false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return;				/* started, starting or off */
	__atomic_store_n(&statsd_due, UINT64_MAX, __ATOMIC_RELAXED);
	if (!uslub_opt.slabtop) {
		__atomic_store_n(&statsd_state, STATSD_OFF, __ATOMIC_RELEASE);
		return;
	}
	log_format(name, sizeof(name), "uslub/%d", os_getpid());
	lfd = os_listen_abstract(name);
	if (lfd < 0) {
		if (uslub_opt.verbose)
			log_error("slabtop: cannot serve statistics at @%s: %s",
				  name, strerror(-lfd));
		__atomic_store_n(&statsd_state, STATSD_OFF, __ATOMIC_RELEASE);
		return;
	}
	__atomic_store_n(&statsd_listen_fd, lfd, __ATOMIC_RELAXED);
	if (!thread_create(lfd)) {
		__atomic_store_n(&statsd_listen_fd, -1, __ATOMIC_RELAXED);
		os_close(lfd);
		__atomic_store_n(&statsd_state, STATSD_OFF, __ATOMIC_RELEASE);
		return;
	}
	__atomic_store_n(&statsd_state, STATSD_RUNNING, __ATOMIC_RELEASE);
}

/* getpid() is the pid in USLUB_RUN_PID: the program uslub-run runs. */
static bool run_by_uslub_run(void)
{
	const char *v = os_getenv("USLUB_RUN_PID");
	long pid = 0;

	if (!v || !*v)
		return false;
	for (; *v >= '0' && *v <= '9' && pid < (1L << 40); v++)
		pid = pid * 10 + (*v - '0');
	return !*v && pid == os_getpid();
}

/* Pending, from delay_ms from now (0: the next kmalloc slow path). */
static void make_pending(int from, uint64_t delay_ms)
{
	if (__atomic_compare_exchange_n(&statsd_state, &from, STATSD_PENDING,
					false, __ATOMIC_RELEASE,
					__ATOMIC_RELAXED))
		__atomic_store_n(&statsd_due,
				 delay_ms ? os_now_ms() + delay_ms : 0,
				 __ATOMIC_RELAXED);
}

void statsd_start(void)
{
	if (uslub_opt.slabtop == 1 ||
	    (uslub_opt.slabtop < 0 && run_by_uslub_run()))
		start_from(STATSD_IDLE);
	else if (uslub_opt.slabtop < 0)
		make_pending(STATSD_IDLE, STATSD_DELAY_MS);
	else
		start_from(STATSD_IDLE);	/* slabtop=0: only to OFF */
}

/* pthread_create allocates: not under a lock of ours. */
__cold void statsd_start_pending(uint64_t now)
{
	if (!lock_depth && now >= __atomic_load_n(&statsd_due, __ATOMIC_RELAXED))
		start_from(STATSD_PENDING);
}

void statsd_fork_child(void)
{
	int lfd = __atomic_load_n(&statsd_listen_fd, __ATOMIC_RELAXED);
	int cfd = __atomic_load_n(&statsd_conn_fd, __ATOMIC_RELAXED);

	if (cfd >= 0)
		os_close(cfd);
	if (lfd >= 0)
		os_close(lfd);
	__atomic_store_n(&statsd_conn_fd, -1, __ATOMIC_RELAXED);
	__atomic_store_n(&statsd_listen_fd, -1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&statsd_state, __ATOMIC_RELAXED) == STATSD_IDLE)
		return;
	__atomic_store_n(&statsd_state, STATSD_PENDING, __ATOMIC_RELAXED);
	__atomic_store_n(&statsd_due, uslub_opt.slabtop == 1 ? 0 :
			 os_now_ms() + STATSD_DELAY_MS, __ATOMIC_RELAXED);
}
