/*
 * Unit tests for lib/log.c, the allocation-free formatter and writers.
 *
 * log_format is checked byte for byte against glibc's snprintf over a
 * generated matrix (conversion x flags x width x precision x length
 * modifier x edge values), each case also truncated at sizes 0, 1, 5,
 * exact and exact+1.  log_write, log_printf, log_error and struct log_buf
 * are checked through pipes and a temporary file.
 */
#include "test.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define FMT_BUF		512
#define FAIL_REPORTS	10
#define CANARY		0x55
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

enum vtype {
	V_INT, V_UINT, V_LONG, V_ULONG, V_LLONG, V_ULLONG, V_SIZE, V_SSIZE,
	V_PTRDIFF, V_UPTRDIFF, V_INTMAX, V_UINTMAX, V_STR, V_PTR,
};

/* One argument list: up to two '*' ints, then the value. */
struct args {
	int nstar;
	int star[2];
	enum vtype type;
	long long v;
	const char *s;
	const void *p;
};

struct matrix {
	size_t checks;
	size_t failures;
};

#define CALL_BOTH(lib, buf, size, fmt, ...)				\
	((lib) ? (size_t)snprintf(buf, size, fmt, __VA_ARGS__)		\
	       : log_format(buf, size, fmt, __VA_ARGS__))

#define CALL_STARS(lib, buf, size, fmt, a, x)				\
	((a)->nstar == 0 ? CALL_BOTH(lib, buf, size, fmt, x) :		\
	 (a)->nstar == 1 ? CALL_BOTH(lib, buf, size, fmt, (a)->star[0], x) : \
	 CALL_BOTH(lib, buf, size, fmt, (a)->star[0], (a)->star[1], x))

/* Formats a with libc's snprintf (lib) or log_format into buf[size]. */
static size_t fmt_args(int lib, char *buf, size_t size, const char *fmt,
		       const struct args *a)
{
	switch (a->type) {
	case V_INT: return CALL_STARS(lib, buf, size, fmt, a, (int)a->v);
	case V_UINT: return CALL_STARS(lib, buf, size, fmt, a, (unsigned)a->v);
	case V_LONG: return CALL_STARS(lib, buf, size, fmt, a, (long)a->v);
	case V_ULONG:
		return CALL_STARS(lib, buf, size, fmt, a, (unsigned long)a->v);
	case V_LLONG: return CALL_STARS(lib, buf, size, fmt, a, a->v);
	case V_ULLONG:
		return CALL_STARS(lib, buf, size, fmt, a,
				  (unsigned long long)a->v);
	case V_SIZE: return CALL_STARS(lib, buf, size, fmt, a, (size_t)a->v);
	case V_SSIZE: return CALL_STARS(lib, buf, size, fmt, a, (ssize_t)a->v);
	case V_PTRDIFF:
		return CALL_STARS(lib, buf, size, fmt, a, (ptrdiff_t)a->v);
	case V_UPTRDIFF:
		return CALL_STARS(lib, buf, size, fmt, a, (size_t)a->v);
	case V_INTMAX:
		return CALL_STARS(lib, buf, size, fmt, a, (intmax_t)a->v);
	case V_UINTMAX:
		return CALL_STARS(lib, buf, size, fmt, a, (uintmax_t)a->v);
	case V_STR: return CALL_STARS(lib, buf, size, fmt, a, a->s);
	case V_PTR: return CALL_STARS(lib, buf, size, fmt, a, a->p);
	}
	return 0;
}

/* Both formatters into canary-filled buffers; the whole buffers must match. */
static int check_size(struct matrix *m, const char *fmt, const struct args *a,
		      size_t size)
{
	char want[FMT_BUF], got[FMT_BUF];
	size_t nw, ng;

	memset(want, CANARY, sizeof(want));
	memset(got, CANARY, sizeof(got));
	nw = fmt_args(1, size ? want : NULL, size, fmt, a);
	ng = fmt_args(0, size ? got : NULL, size, fmt, a);
	m->checks++;
	if (nw == ng && !memcmp(want, got, sizeof(want)))
		return 0;
	if (m->failures++ < FAIL_REPORTS) {
		expect_zu_eq(ng, nw, "return value, fmt \"%s\" size %zu",
			     fmt, size);
		expect_str_eq(got, want, "fmt \"%s\" size %zu", fmt, size);
	}
	return -1;
}

static void check_fmt(struct matrix *m, const char *fmt, const struct args *a)
{
	char want[FMT_BUF];
	size_t n = fmt_args(1, want, sizeof(want), fmt, a);
	size_t sizes[] = { sizeof(want), 0, 1, 5, n, n + 1 };
	size_t i;

	if (n >= sizeof(want) - 1)
		abort();
	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		if (check_size(m, fmt, a, sizes[i]))
			return;
}

static void matrix_done(struct matrix *m, size_t min_checks)
{
	expect_zu_eq(m->failures, 0, "mismatches against snprintf");
	expect_true(m->checks >= min_checks, "only %zu checks ran", m->checks);
}

/* Field widths and precisions: the literal part, or a '*' and its value. */
struct field {
	const char *text;
	int star;	/* used when text contains '*' */
};

static const struct field widths[] = {
	{ "", 0 }, { "1", 0 }, { "5", 0 }, { "12", 0 }, { "25", 0 },
	{ "*", 7 }, { "*", -7 }, { "*", 0 },
};

static const struct field precs[] = {
	{ "", 0 }, { ".", 0 }, { ".0", 0 }, { ".1", 0 }, { ".3", 0 },
	{ ".10", 0 }, { ".25", 0 }, { ".*", 4 }, { ".*", -2 }, { ".*", 0 },
};

static void field_star(struct args *a, const struct field *f)
{
	if (strchr(f->text, '*'))
		a->star[a->nstar++] = f->star;
}

struct len_case {
	const char *text;
	enum vtype s_type;	/* for d and i */
	enum vtype u_type;	/* for u, x, X and o */
};

static const struct len_case lens[] = {
	{ "", V_INT, V_UINT },
	{ "hh", V_INT, V_UINT },
	{ "h", V_INT, V_UINT },
	{ "l", V_LONG, V_ULONG },
	{ "ll", V_LLONG, V_ULLONG },
	{ "z", V_SSIZE, V_SIZE },
	{ "t", V_PTRDIFF, V_UPTRDIFF },
	{ "j", V_INTMAX, V_UINTMAX },
};

static const long long int_values[] = {
	0, 1, -1, 7, 42, -42, 127, 128, -128, -129, 255, 256, 4095,
	32767, -32768, 65535, 65536, 0xdeadbeef, INT_MAX, INT_MIN,
	(long long)UINT_MAX, LONG_MAX, LONG_MIN, LLONG_MAX, LLONG_MIN,
	(long long)ULLONG_MAX, 01234567, -1000000007,
};

/* The values a format runs over: ready-made args, or int_values as type. */
struct values {
	const struct args *args;
	size_t n;
	enum vtype type;
};

/* Every value through fmt, after the '*' arguments in stars. */
static void check_values(struct matrix *m, const char *fmt,
			 const struct args *stars, const struct values *vals)
{
	size_t i;

	for (i = 0; i < vals->n; i++) {
		struct args a = { .type = vals->type };

		if (vals->args)
			a = vals->args[i];
		else
			a.v = int_values[i];
		a.nstar = stars->nstar;
		memcpy(a.star, stars->star, sizeof(a.star));
		check_fmt(m, fmt, &a);
	}
}

/* "%" flags width precision len conv, under every width and precision. */
static void check_fields(struct matrix *m, const char *flags, const char *len,
			 char conv, const struct values *vals)
{
	char fmt[64];
	size_t w, p;

	for (w = 0; w < ARRAY_SIZE(widths); w++) {
		for (p = 0; p < ARRAY_SIZE(precs); p++) {
			struct args stars = { 0 };

			if (conv == 'c' && precs[p].text[0])
				continue;
			field_star(&stars, &widths[w]);
			field_star(&stars, &precs[p]);
			snprintf(fmt, sizeof(fmt), "[%%%s%s%s%s%c]", flags,
				 widths[w].text, precs[p].text, len, conv);
			check_values(m, fmt, &stars, vals);
		}
	}
}

/* mask: bits over "-+ #0", spelled in that order. */
static void flag_string(char *s, unsigned mask)
{
	static const char flag_chars[] = "-+ #0";
	size_t i;

	for (i = 0; i < sizeof(flag_chars) - 1; i++)
		if (mask & (1u << i))
			*s++ = flag_chars[i];
	*s = '\0';
}

/* Every subset of the flags in allowed, with every length modifier. */
static void check_int_conv(struct matrix *m, char conv, unsigned allowed)
{
	int is_signed = conv == 'd' || conv == 'i';
	char flags[8];
	unsigned mask;
	size_t l;

	for (mask = 0; mask < 32; mask++) {
		if (mask & ~allowed)
			continue;
		flag_string(flags, mask);
		for (l = 0; l < ARRAY_SIZE(lens); l++) {
			struct values v = {
				.n = ARRAY_SIZE(int_values),
				.type = is_signed ? lens[l].s_type :
						    lens[l].u_type,
			};

			check_fields(m, flags, lens[l].text, conv, &v);
		}
	}
}

/* '#' is undefined for d, i and u, so those run without it. */
TEST_BEGIN(test_format_integers)
{
	struct matrix m = { 0 };
	const unsigned all = 0x1f, no_alt = all & ~(1u << 3);

	check_int_conv(&m, 'd', no_alt);
	check_int_conv(&m, 'i', no_alt);
	check_int_conv(&m, 'u', no_alt);
	check_int_conv(&m, 'x', all);
	check_int_conv(&m, 'X', all);
	check_int_conv(&m, 'o', all);
	matrix_done(&m, 1000000);
}
TEST_END

/* s, c and p: each flag set under every width and precision. */
static void check_flagsets(struct matrix *m, char conv,
			   const char *const *flagsets, size_t nflagsets,
			   const struct args *args, size_t nargs)
{
	struct values v = { .args = args, .n = nargs };
	size_t f;

	for (f = 0; f < nflagsets; f++)
		check_fields(m, flagsets[f], "", conv, &v);
}

TEST_BEGIN(test_format_strings)
{
	static const char *const flagsets[] = { "", "-" };
	static const char unterminated[3] = { 'a', 'b', 'c' };
	/* glibc prints NULL as "(null)" only when precision leaves room. */
	static const char *const null_fmts[] = {
		"%.5s|", "%.6s|", "%-8.5s|", "%8.6s|",
	};
	const struct args values[] = {
		{ .type = V_STR, .s = "" },
		{ .type = V_STR, .s = "a" },
		{ .type = V_STR, .s = "hello" },
		{ .type = V_STR, .s = "hello, world" },
		{ .type = V_STR, .s = "tab\there\nnewline" },
		{ .type = V_STR, .s = NULL },
	};
	struct matrix m = { 0 };
	char buf[16];
	size_t i;

	check_flagsets(&m, 's', flagsets, ARRAY_SIZE(flagsets), values,
		       ARRAY_SIZE(values));
	for (i = 0; i < ARRAY_SIZE(null_fmts); i++)
		check_fmt(&m, null_fmts[i], &values[ARRAY_SIZE(values) - 1]);
	matrix_done(&m, 1000);
	expect_zu_eq(log_format(buf, sizeof(buf), "%.3s|", unterminated), 4,
		     "precision bounds the read");
	expect_str_eq(buf, "abc|", "precision on an unterminated array");
	expect_zu_eq(log_format(buf, sizeof(buf), "%.*s", 2, unterminated), 2,
		     "star precision");
	expect_str_eq(buf, "ab", "star precision on an unterminated array");
}
TEST_END

TEST_BEGIN(test_format_chars)
{
	static const char *const flagsets[] = { "", "-" };
	const struct args values[] = {
		{ .type = V_INT, .v = 'A' },
		{ .type = V_INT, .v = ' ' },
		{ .type = V_INT, .v = '%' },
		{ .type = V_INT, .v = 0 },
		{ .type = V_INT, .v = 255 },
		{ .type = V_INT, .v = 0x141 },
	};
	struct matrix m = { 0 };

	check_flagsets(&m, 'c', flagsets, ARRAY_SIZE(flagsets), values,
		       ARRAY_SIZE(values));
	matrix_done(&m, 100);
}
TEST_END

TEST_BEGIN(test_format_pointers)
{
	static const char *const flagsets[] = {
		"", "-", "0", "+", " ", "#", "-0", "+0", "- ",
	};
	int local;
	const struct args values[] = {
		{ .type = V_PTR, .p = NULL },
		{ .type = V_PTR, .p = (void *)1 },
		{ .type = V_PTR, .p = (void *)0xdeadbeef },
		{ .type = V_PTR, .p = (void *)UINTPTR_MAX },
		{ .type = V_PTR, .p = &local },
	};
	struct matrix m = { 0 };

	check_flagsets(&m, 'p', flagsets, ARRAY_SIZE(flagsets), values,
		       ARRAY_SIZE(values));
	matrix_done(&m, 1000);
}
TEST_END

#define EXPECT_SAME(...) do {						\
	char want_[FMT_BUF], got_[FMT_BUF];				\
	size_t nw_ = (size_t)snprintf(want_, sizeof(want_), __VA_ARGS__); \
	size_t ng_ = log_format(got_, sizeof(got_), __VA_ARGS__);	\
	expect_zu_eq(ng_, nw_, "length of %s", #__VA_ARGS__);		\
	expect_str_eq(got_, want_, "%s", #__VA_ARGS__);			\
} while (0)

TEST_BEGIN(test_format_mixed)
{
	EXPECT_SAME("plain text");
	EXPECT_SAME("%%");
	EXPECT_SAME("100%% of %d%%", 42);
	EXPECT_SAME("%s=%d (%#x) [%-6s] %p%%", "objs", -17, 255u, "ab",
		    (void *)0x1000);
	EXPECT_SAME("%c%c%c", 'a', 'b', 'c');
	EXPECT_SAME("%zu %zd %td %jd %ju", (size_t)SIZE_MAX, (ssize_t)-5,
		    (ptrdiff_t)PTRDIFF_MIN, (intmax_t)INTMAX_MIN,
		    (uintmax_t)UINTMAX_MAX);
	EXPECT_SAME("%hhd %hhu %hd %hu", (signed char)-100, (unsigned char)200,
		    (short)-30000, (unsigned short)60000);
	EXPECT_SAME("%ld %lu %lld %llu %llx %llo", LONG_MIN, ULONG_MAX,
		    LLONG_MIN, ULLONG_MAX, ULLONG_MAX, ULLONG_MAX);
	EXPECT_SAME("%*.*d|%-*.*x|", -9, 4, 12, 9, 6, 0xabcu);
	EXPECT_SAME("%#.0o|%#o|%#.0x|%#x|%#08x|%#-8o|", 0u, 0u, 0u, 0u, 1u, 8u);
	EXPECT_SAME("%.0d|%5.0d|%-5.0u|%+.0d|% .0i|", 0, 0, 0u, 0, 0);
	EXPECT_SAME("%200d|%-150s|", INT_MIN, "x");
	EXPECT_SAME("%d %s %d %s", 1, "two", 3, "four");
}
TEST_END

/* Flag spellings gcc warns about in literals: repeated or overridden flags. */
TEST_BEGIN(test_format_odd_flags)
{
	static const char *const fmts[] = {
		"%--5d|", "%00005d|", "%+ d|", "% +d|", "%-+08.3d|", "%0-8x|",
		"%##x|", "%0#10o|", "%-0+ #12.5x|", "%+u|", "% u|", "%+x|",
	};
	struct matrix m = { 0 };
	size_t i, v;

	for (i = 0; i < ARRAY_SIZE(fmts); i++) {
		for (v = 0; v < ARRAY_SIZE(int_values); v++) {
			struct args a = { .type = V_INT, .v = int_values[v] };

			check_fmt(&m, fmts[i], &a);
		}
	}
	matrix_done(&m, 100);
}
TEST_END

/* Unknown conversions and a trailing '%' are copied as they stand. */
TEST_BEGIN(test_format_unknown)
{
	static const struct { const char *fmt, *want; } cases[] = {
		{ "%y", "%y" },
		{ "a%yb", "a%yb" },
		{ "%-5.2y|", "%-5.2y|" },
		{ "%lly%d", "%lly0" },
		{ "abc%", "abc%" },
		{ "%-", "%-" },
		{ "%08.3l", "%08.3l" },
		{ "%n", "%n" },
	};
	char buf[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t n = log_format(buf, sizeof(buf), cases[i].fmt, 0);

		expect_str_eq(buf, cases[i].want, "fmt \"%s\"", cases[i].fmt);
		expect_zu_eq(n, strlen(cases[i].want), "fmt \"%s\"",
			     cases[i].fmt);
	}
}
TEST_END

TEST_BEGIN(test_format_truncation)
{
	char buf[8];
	size_t n;

	expect_zu_eq(log_format(NULL, 0, "%d-%s", 12345, "abc"), 9,
		     "size 0 with a NULL buffer");
	memset(buf, 'x', sizeof(buf));
	n = log_format(buf, 1, "%d", 12345);
	expect_zu_eq(n, 5, "size 1 return");
	expect_d_eq(buf[0], '\0', "size 1 writes only the NUL");
	expect_d_eq(buf[1], 'x', "size 1 leaves the rest alone");
	n = log_format(buf, sizeof(buf), "%100d|", 1);
	expect_zu_eq(n, 101, "wide field counted in full");
	expect_str_eq(buf, "       ", "wide field truncated");
	expect_zu_eq(log_format(buf, 3, "%*d", INT_MAX / 2, 0),
		     (size_t)INT_MAX / 2, "huge width only counted");
	expect_str_eq(buf, "  ", "huge width truncated");
}
TEST_END

static size_t read_exact(int fd, char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return done;
}

/* True when nothing more is waiting in the (non-blocking) pipe. */
static int pipe_empty(int fd)
{
	char c;

	return read(fd, &c, 1) < 0 && errno == EAGAIN;
}

static void make_pipe(int fds[2])
{
	if (pipe(fds) || fcntl(fds[0], F_SETFL, O_NONBLOCK))
		abort();
}

static void close_pipe(int fds[2])
{
	close(fds[0]);
	close(fds[1]);
}

TEST_BEGIN(test_write)
{
	char buf[16];
	int fds[2];

	make_pipe(fds);
	errno = 4242;
	expect_d_eq(log_write(fds[1], "hello", 5), 0, "write to a pipe");
	expect_d_eq(errno, 4242, "errno preserved on success");
	expect_zu_eq(read_exact(fds[0], buf, 5), 5, "bytes arrived");
	expect_true(!memcmp(buf, "hello", 5), "bytes match");
	expect_d_eq(log_write(fds[1], "", 0), 0, "empty write");
	expect_true(pipe_empty(fds[0]), "empty write wrote nothing");
	errno = 4242;
	expect_d_eq(log_write(-1, "x", 1), -1, "bad fd fails");
	expect_d_eq(errno, 4242, "errno preserved on failure");
	close_pipe(fds);
}
TEST_END

#define BIG_WRITE	(1 << 20)

struct reader {
	int fd;
	size_t want;
	char *buf;
	size_t got;
	int slow;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	while (r->got < r->want) {
		size_t left = r->want - r->got;
		ssize_t n = read(r->fd, r->buf + r->got,
				 left < 4096 ? left : 4096);

		if (n <= 0)
			break;
		r->got += (size_t)n;
		if (r->slow)
			usleep(20);
	}
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A slow reader and a 1 ms timer without SA_RESTART: short writes and EINTR. */
TEST_BEGIN(test_write_interrupted)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } }, off = { 0 };
	static char src[BIG_WRITE], dst[BIG_WRITE];
	struct reader r = { .want = BIG_WRITE, .buf = dst, .slow = 1 };
	pthread_t t;
	size_t i;
	int fds[2];

	for (i = 0; i < sizeof(src); i++)
		src[i] = (char)(i * 7 + i / 4096);
	if (pipe(fds))
		abort();
	r.fd = fds[0];
	sigaction(SIGALRM, &sa, NULL);
	pthread_create(&t, NULL, reader_main, &r);
	setitimer(ITIMER_REAL, &it, NULL);
	expect_d_eq(log_write(fds[1], src, sizeof(src)), 0, "1 MiB write");
	setitimer(ITIMER_REAL, &off, NULL);
	pthread_join(t, NULL);
	expect_zu_eq(r.got, sizeof(src), "reader got everything");
	expect_true(!memcmp(src, dst, sizeof(src)), "bytes match in order");
	close_pipe(fds);
}
TEST_END

TEST_BEGIN(test_printf)
{
	char want[2048], got[2048], big[5001];
	int fds[2];

	make_pipe(fds);
	log_printf(fds[1], "x=%d %s\n", 42, "ok");
	expect_zu_eq(read_exact(fds[0], got, 8), 8, "short line");
	expect_true(!memcmp(got, "x=42 ok\n", 8), "short line bytes");
	expect_true(pipe_empty(fds[0]), "nothing after the short line");

	log_printf(fds[1], "%1024d", 7);
	snprintf(want, sizeof(want), "%1024d", 7);
	expect_zu_eq(read_exact(fds[0], got, 1024), 1024, "1024 bytes fit");
	expect_true(!memcmp(got, want, 1024), "exact fit is not truncated");
	expect_true(pipe_empty(fds[0]), "nothing after 1024 bytes");

	log_printf(fds[1], "%1025d", 7);
	expect_zu_eq(read_exact(fds[0], got, 1024), 1024, "1025 cut to 1024");
	expect_true(!memcmp(got, want, 1020), "head of the cut line");
	expect_true(!memcmp(got + 1020, "...\n", 4), "truncation mark");
	expect_true(pipe_empty(fds[0]), "nothing after the cut line");

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_printf(fds[1], "%s", big);
	expect_zu_eq(read_exact(fds[0], got, 1024), 1024, "5000 cut to 1024");
	expect_true(!memcmp(got, big, 1020), "head of the long line");
	expect_true(!memcmp(got + 1020, "...\n", 4), "long line mark");
	expect_true(pipe_empty(fds[0]), "nothing after the long line");
	close_pipe(fds);
}
TEST_END

TEST_BEGIN(test_error)
{
	static const char want[] = "uslub: cache kmalloc-64: 12 objects\n";
	char got[2048], msg[1018];
	int fds[2];

	make_pipe(fds);
	log_set_error_fd(fds[1]);
	errno = 77;
	log_error("cache %s: %d objects", "kmalloc-64", 12);
	expect_d_eq(errno, 77, "errno preserved");
	expect_zu_eq(read_exact(fds[0], got, sizeof(want) - 1),
		     sizeof(want) - 1, "error line length");
	expect_true(!memcmp(got, want, sizeof(want) - 1), "error line bytes");
	expect_true(pipe_empty(fds[0]), "one line only");

	memset(msg, 'm', sizeof(msg) - 2);
	msg[sizeof(msg) - 2] = '\0';
	log_error("%s", msg);
	expect_zu_eq(read_exact(fds[0], got, 1024), 1024, "prefix+1016+nl");
	expect_true(!memcmp(got, "uslub: mmm", 10), "prefix");
	expect_d_eq(got[1022], 'm', "exact fit keeps the message");
	expect_d_eq(got[1023], '\n', "exact fit ends in a newline");
	expect_true(pipe_empty(fds[0]), "nothing after the exact line");

	msg[sizeof(msg) - 2] = 'm';
	msg[sizeof(msg) - 1] = '\0';
	log_error("%s", msg);
	expect_zu_eq(read_exact(fds[0], got, 1024), 1024, "long error cut");
	expect_true(!memcmp(got, "uslub: mmm", 10), "cut prefix");
	expect_true(!memcmp(got + 1020, "...\n", 4), "cut mark");
	expect_true(pipe_empty(fds[0]), "nothing after the cut line");
	log_set_error_fd(2);
	close_pipe(fds);
}
TEST_END

#define REPORT_BYTES	10000

/* Line i of the report, cut so that the report ends at REPORT_BYTES. */
static size_t report_line(char *line, int i, size_t total)
{
	size_t n = (size_t)snprintf(line, FMT_BUF, "cache-%03d %*s %#x\n", i,
				    i % 37, "obj", (unsigned)i * 977);

	if (n > REPORT_BYTES - total)
		n = REPORT_BYTES - total;
	line[n] = '\0';
	return n;
}

/* The file behind b holds whole 4 KiB chunks only; b holds the rest. */
static void check_chunks(const struct log_buf *b, int fd, size_t total)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st))
		return;
	expect_zu_eq(st.st_size, (total - 1) / 4096 * 4096,
		     "only whole chunks written at total %zu", total);
	expect_zu_eq(b->len, total - (size_t)st.st_size,
		     "the rest is buffered");
}

/*
 * Builds the report both ways: expect[] with snprintf, and through b.
 * Line lengths vary and call 20 alone crosses two 4 KiB boundaries.
 */
static size_t write_report(struct log_buf *b, char *expect, int tmpfd)
{
	char line[FMT_BUF];
	size_t total = 0, n;
	int i;

	for (i = 0; total < REPORT_BYTES; i++) {
		if (i == 20) {
			log_buf_printf(b, "%-9000d|", i);
			n = (size_t)snprintf(expect + total, 9002,
					     "%-9000d|", i);
		} else {
			n = report_line(line, i, total);
			log_buf_printf(b, "%s", line);
			memcpy(expect + total, line, n);
		}
		total += n;
		check_chunks(b, tmpfd, total);
	}
	return total;
}

TEST_BEGIN(test_buf_file)
{
	static char expect[REPORT_BYTES + 1], got[REPORT_BYTES + 1];
	char path[] = "/tmp/uslub-log-XXXXXX";
	struct log_buf b;
	size_t total;
	int fd = mkstemp(path);

	expect_true(fd >= 0, "mkstemp");
	unlink(path);
	log_buf_init(&b, fd);
	total = write_report(&b, expect, fd);
	expect_zu_eq(total, REPORT_BYTES, "report size");
	expect_d_eq(log_buf_flush(&b), 0, "flush");
	expect_zu_eq(b.len, 0, "flush empties the buffer");
	expect_zu_eq(lseek(fd, 0, SEEK_END), REPORT_BYTES, "file size");
	expect_zu_eq(pread(fd, got, sizeof(got), 0), REPORT_BYTES, "read back");
	expect_true(!memcmp(got, expect, REPORT_BYTES), "file contents");
	expect_d_eq(log_buf_flush(&b), 0, "empty flush");
	expect_zu_eq(lseek(fd, 0, SEEK_END), REPORT_BYTES,
		     "empty flush wrote nothing");
	close(fd);
}
TEST_END

TEST_BEGIN(test_buf_pipe)
{
	static char expect[REPORT_BYTES + 1], got[REPORT_BYTES + 1];
	struct reader r = { .want = REPORT_BYTES, .buf = got };
	struct log_buf b;
	pthread_t t;
	int fds[2];

	if (pipe(fds))
		abort();
	r.fd = fds[0];
	pthread_create(&t, NULL, reader_main, &r);
	log_buf_init(&b, fds[1]);
	write_report(&b, expect, -1);
	expect_d_eq(log_buf_flush(&b), 0, "flush");
	pthread_join(t, NULL);
	expect_zu_eq(r.got, REPORT_BYTES, "reader got the report");
	expect_true(!memcmp(got, expect, REPORT_BYTES), "pipe contents");
	close_pipe(fds);
}
TEST_END

TEST_BEGIN(test_buf_errors)
{
	static char big[5000];
	struct log_buf b;

	memset(big, 'z', sizeof(big) - 1);
	log_buf_init(&b, -1);
	log_buf_printf(&b, "short");
	errno = 0;
	expect_d_eq(log_buf_flush(&b), -1, "flush to a bad fd");
	expect_d_eq(errno, EBADF, "flush reports the write's errno");

	log_buf_init(&b, -1);
	errno = 99;
	log_buf_printf(&b, "%s%s", big, big);
	expect_d_eq(errno, 99, "a failed chunk leaves errno alone");
	expect_d_eq(b.err, EBADF, "the failure is kept");
	expect_true(b.len <= sizeof(b.data), "buffer stays in bounds");
	expect_d_eq(log_buf_flush(&b), -1, "flush after a failed chunk");
	expect_d_eq(errno, EBADF, "errno from the first failure");
	expect_d_eq(log_buf_flush(&b), -1, "the failure is sticky");
}
TEST_END

#define THREADS		4
#define THREAD_ITERS	20000

static void *format_main(void *arg)
{
	size_t *bad = arg;
	int i;

	for (i = 0; i < THREAD_ITERS; i++) {
		char want[128], got[128];
		long v = (long)i * 2654435761L - 7;

		snprintf(want, sizeof(want), "%-12ld|%#018lx|%s|%p", v,
			 (unsigned long)v, "thread", (void *)&i);
		log_format(got, sizeof(got), "%-12ld|%#018lx|%s|%p", v,
			   (unsigned long)v, "thread", (void *)&i);
		*bad += strcmp(want, got) != 0;
	}
	return NULL;
}

TEST_BEGIN(test_threads)
{
	size_t bad[THREADS] = { 0 };
	pthread_t t[THREADS];
	int i;

	for (i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, format_main, &bad[i]);
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		expect_zu_eq(bad[i], 0, "thread %d mismatches", i);
	}
}
TEST_END

int main(void)
{
	return test(test_format_integers, test_format_strings,
		    test_format_chars, test_format_pointers, test_format_mixed,
		    test_format_odd_flags, test_format_unknown,
		    test_format_truncation, test_write, test_write_interrupted,
		    test_printf, test_error, test_buf_file, test_buf_pipe,
		    test_buf_errors, test_threads, NULL);
}
