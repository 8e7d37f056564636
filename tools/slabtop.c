/*
 * slabtop.c - uslub-slabtop: procps's slabtop for a running process that
 * uses uslub.  Each frame asks the process's statistics server
 * (client.h) for its slabinfo, meminfo and event counters and prints
 * slabtop's header and table, sorted by one of slabtop's keys, then the
 * meminfo lines, and the sheaf and barn occupancy and SLUB event counters
 * of uslub_stats_write.  On a terminal it redraws every -d seconds until
 * q or Ctrl-C (a sort key letter re-sorts); with --once, or when stdout
 * is not a terminal, it prints one frame.
 */
#define _GNU_SOURCE			/* open_memstream */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "client.h"

static const char *prog = "uslub-slabtop";

/* One row of slabinfo 2.1. */
struct row {
	char name[64];
	unsigned long active_objs, num_objs, active_slabs, num_slabs;
	unsigned int objsize, objperslab, pagesperslab;
};

static char sort_key = 'o';		/* procps slabtop's default */
static unsigned long page_size;
static volatile sig_atomic_t quit;

/* ---- Sorting: procps slabtop's keys, largest first (names A..Z) ------ */

static const char sort_keys[] = "abclvnopsu";

static unsigned long cache_kb(const struct row *r)
{
	return r->num_slabs * r->pagesperslab * page_size / 1024;
}

static unsigned long use_pct(const struct row *r)
{
	return r->num_objs ? r->active_objs * 100 / r->num_objs : 0;
}

static unsigned long sort_value(const struct row *r)
{
	switch (sort_key) {
	case 'a': return r->active_objs;
	case 'b': return r->objperslab;
	case 'c': return cache_kb(r);
	case 'l': return r->num_slabs;
	case 'v': return r->active_slabs;
	case 'p': return r->pagesperslab;
	case 's': return r->objsize;
	case 'u': return use_pct(r);
	default: return r->num_objs;		/* 'o' */
	}
}

static int row_cmp(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;
	unsigned long va, vb;

	if (sort_key != 'n') {
		va = sort_value(a);
		vb = sort_value(b);
		if (va != vb)
			return va < vb ? 1 : -1;
	}
	return strcmp(a->name, b->name);
}

/* ---- One frame ------------------------------------------------------- */

/* The rows of a slabinfo text, in a malloc'd array; -1 if it is not
 * slabinfo 2.1. */
static long parse_slabinfo(char *text, struct row **out)
{
	size_t n = 0, cap = 64;
	struct row *rows = malloc(cap * sizeof(*rows)), *r;
	char *line, *save = NULL;

	if (!rows)
		return -1;
	if (strncmp(text, "slabinfo - version: 2.1\n", 24) != 0) {
		free(rows);
		return -1;
	}
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || strncmp(line, "slabinfo", 8) == 0)
			continue;
		if (n == cap) {
			r = realloc(rows, 2 * cap * sizeof(*rows));
			if (!r)
				break;
			rows = r;
			cap *= 2;
		}
		r = &rows[n];
		if (sscanf(line, "%63s %lu %lu %u %u %u : tunables %*u %*u %*u "
			   ": slabdata %lu %lu", r->name, &r->active_objs,
			   &r->num_objs, &r->objsize, &r->objperslab,
			   &r->pagesperslab, &r->active_slabs,
			   &r->num_slabs) == 8)
			n++;
	}
	*out = rows;
	return (long)n;
}

static double pct(double part, double whole)
{
	return whole > 0 ? 100.0 * part / whole : 0.0;
}

/* slabtop's five header lines. */
static void print_header(FILE *f, const struct row *rows, size_t n)
{
	unsigned long objs = 0, active = 0, slabs = 0, aslabs = 0, acaches = 0;
	double total_kb = 0, active_kb = 0, min = 0, max = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		double size_kb = r->objsize / 1024.0;

		objs += r->num_objs;
		active += r->active_objs;
		slabs += r->num_slabs;
		aslabs += r->active_slabs;
		acaches += r->active_objs > 0;
		total_kb += cache_kb(r);
		active_kb += r->active_objs * size_kb;
		if (i == 0 || size_kb < min)
			min = size_kb;
		if (size_kb > max)
			max = size_kb;
	}
	fprintf(f, " %-35s: %lu / %lu (%.1f%%)\n",
		"Active / Total Objects (% used)", active, objs,
		pct(active, objs));
	fprintf(f, " %-35s: %lu / %lu (%.1f%%)\n",
		"Active / Total Slabs (% used)", aslabs, slabs,
		pct(aslabs, slabs));
	fprintf(f, " %-35s: %lu / %zu (%.1f%%)\n",
		"Active / Total Caches (% used)", acaches, n, pct(acaches, n));
	fprintf(f, " %-35s: %.2fK / %.2fK (%.1f%%)\n",
		"Active / Total Size (% used)", active_kb, total_kb,
		pct(active_kb, total_kb));
	fprintf(f, " %-35s: %.2fK / %.2fK / %.2fK\n",
		"Minimum / Average / Maximum Object", min,
		active ? active_kb / active : 0.0, max);
}

static void print_table(FILE *f, const struct row *rows, size_t n)
{
	size_t i;

	fprintf(f, "  OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME\n");
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		fprintf(f, "%6lu %6lu %3lu%% %7.2fK %6lu %8u %9luK %s\n",
			r->num_objs, r->active_objs, use_pct(r),
			r->objsize / 1024.0, r->num_slabs, r->objperslab,
			cache_kb(r), r->name);
	}
}

/* A whole frame into f; 0, or -1 after an error message. */
static int frame(FILE *f, int pid)
{
	char *slabinfo, *meminfo = NULL, *stats = NULL;
	struct row *rows = NULL;
	long n = -1;
	int ret = -1;

	slabinfo = client_request(prog, pid, "slabinfo", NULL);
	if (slabinfo)
		meminfo = client_request(prog, pid, "meminfo", NULL);
	if (meminfo)
		stats = client_request(prog, pid, "stats", NULL);
	if (!stats)
		goto out;
	n = parse_slabinfo(slabinfo, &rows);
	if (n < 0) {
		fprintf(stderr, "%s: process %d: not slabinfo 2.1\n", prog, pid);
		goto out;
	}
	qsort(rows, (size_t)n, sizeof(*rows), row_cmp);
	print_header(f, rows, (size_t)n);
	fprintf(f, "%s\n", meminfo);
	print_table(f, rows, (size_t)n);
	fprintf(f, "\nSheaves, barns and SLUB events (cache, counter, value):\n"
		"%s", stats);
	ret = 0;
out:
	free(rows);
	free(slabinfo);
	free(meminfo);
	free(stats);
	return ret;
}

/* ---- The terminal ---------------------------------------------------- */

static struct termios saved_tty;
static int tty_raw;

static void on_signal(int sig)
{
	if (sig != SIGWINCH)
		quit = 1;
}

static void tty_restore(void)
{
	if (tty_raw)
		tcsetattr(0, TCSANOW, &saved_tty);
	tty_raw = 0;
}

/* Keys without Enter and without echo; signals interrupt the wait. */
static void tty_setup(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct termios t;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	if (isatty(0) && tcgetattr(0, &saved_tty) == 0) {
		t = saved_tty;
		t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		if (tcsetattr(0, TCSANOW, &t) == 0)
			tty_raw = 1;
	}
}

static unsigned int screen_lines(void)
{
	struct winsize ws;

	if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 1)
		return ws.ws_row;
	return 24;
}

/* The frame's first lines that fit the screen, after clearing it. */
static void show(const char *text, unsigned int lines)
{
	const char *p = text;

	fputs("\033[H\033[2J", stdout);
	while (*p && lines > 1) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);

		fwrite(p, 1, len, stdout);
		p += len;
		lines--;
	}
	fflush(stdout);
}

/* Wait up to delay seconds for a key: 1 to quit, 0 to redraw. */
static int wait_key(double delay)
{
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	char c;

	if (quit)
		return 1;
	if (poll(&pfd, tty_raw ? 1 : 0, (int)(delay * 1000)) <= 0)
		return quit;
	if (read(0, &c, 1) != 1)
		return 1;
	if (c == 'q' || c == 'Q')
		return 1;
	if (strchr(sort_keys, c) && c)
		sort_key = c;
	return 0;
}

static int live(int pid, double delay)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int ret = 0;

	tty_setup();
	while (!quit) {
		f = open_memstream(&text, &len);
		if (!f || frame(f, pid)) {
			if (f)
				fclose(f);
			ret = 1;
			break;
		}
		fclose(f);
		show(text, screen_lines());
		free(text);
		text = NULL;
		if (wait_key(delay))
			break;
	}
	free(text);
	tty_restore();
	return ret;
}

/* ---- Options --------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s -p PID [-d SECS] [-s KEY] [-o]\n"
"Show the slab caches of process PID, which uses uslub, as slabtop does.\n"
"\n"
"  -p, --pid PID       the process to watch\n"
"  -d, --delay SECS    seconds between frames (default 3)\n"
"  -s, --sort KEY      sort by: a active objects, b objects per slab,\n"
"                      c cache size, l slabs, v active slabs, n name,\n"
"                      o objects (default), p pages per slab,\n"
"                      s object size, u utilisation\n"
"  -o, --once          print one frame and exit\n"
"  -h, --help          this text\n"
"  -V, --version       the version\n"
"\n"
"On a terminal: q or Ctrl-C quits, a sort key letter re-sorts.\n", prog);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "delay", required_argument, NULL, 'd' },
		{ "sort", required_argument, NULL, 's' },
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	double delay = 3;
	int c, pid = 0, once = 0;
	char *end;

	page_size = (unsigned long)sysconf(_SC_PAGESIZE);
	while ((c = getopt_long(argc, argv, "p:d:s:ohV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pid = client_parse_pid(prog, optarg);
			if (pid < 0)
				return 2;
			break;
		case 'd':
			errno = 0;
			delay = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(delay) ||
			    delay <= 0 || delay > 86400) {
				fprintf(stderr, "%s: bad delay '%s': give a "
					"positive number of seconds\n", prog,
					optarg);
				return 2;
			}
			break;
		case 's':
			if (strlen(optarg) != 1 || !strchr(sort_keys, optarg[0])) {
				fprintf(stderr, "%s: unknown sort key '%s' (one "
					"of: a b c l v n o p s u)\n", prog,
					optarg);
				return 2;
			}
			sort_key = optarg[0];
			break;
		case 'o': once = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("%s (uslub) %s\n", prog, PACKAGE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog,
			argv[optind]);
		return 2;
	}
	if (!pid) {
		fprintf(stderr, "%s: which process? (-p PID)\n", prog);
		return 2;
	}
	if (once || !isatty(1))
		return frame(stdout, pid) ? 1 : 0;
	return live(pid, delay);
}
