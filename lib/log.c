/*
 * log.c - allocation-free formatting and logging (layer L2).
 *
 * One formatting engine, format(), writes through a struct out: a window
 * onto a caller's buffer that either drops what does not fit (log_format,
 * log_printf, log_error) or drains to a struct log_buf's fd in 4 KiB
 * chunks (log_buf_printf).  Uses only os_write_all, errno and <string.h>: this
 * code runs inside malloc.  Nothing is shared between calls except the
 * error fd, so every entry point is re-entrant and thread-safe.
 */
#include "log.h"
#include "os.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>	/* ssize_t for %zd */

#define LOG_LINE_MAX	1024
#define LOG_TRUNC_MARK	"...\n"
#define LOG_ERROR_PREFIX "uslub: "
#define LOG_PAD_CHUNK	64

enum {
	F_MINUS	= 1 << 0,
	F_PLUS	= 1 << 1,
	F_SPACE	= 1 << 2,
	F_ALT	= 1 << 3,
	F_ZERO	= 1 << 4,
};

enum len_mod { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_T, LEN_J };

/* One parsed conversion specification. */
struct spec {
	unsigned flags;		/* F_* */
	int width;		/* >= 0 */
	int prec;		/* -1 when none was given */
	enum len_mod len;
	char conv;		/* '\0' when fmt ended inside the spec */
};

/*
 * Where formatted bytes go.  buf[0, cap) holds output; once it is full,
 * a sink takes the bytes and empties it, otherwise the rest is only
 * counted.  total is what the whole output would have been.
 */
struct out {
	char *buf;
	size_t cap;
	size_t pos;
	size_t total;
	struct log_buf *sink;
};

/* Numeric conversions reduced to the pieces that get printed in order. */
struct num {
	char sign;		/* 0, '-', '+' or ' ' */
	const char *prefix;	/* "", "0x" or "0X" */
	const char *digits;
	size_t ndigits;
	size_t zeros;		/* between prefix and digits */
};

static int log_error_fd = 2;	/* __atomic, relaxed */

/* Returns 0 or the errno of the failed write. */
static int write_all(int fd, const char *buf, size_t len)
{
	return os_write_all(fd, buf, len);
}

/* The sink's buffer is full: write it out unless a write already failed. */
static void out_drain(struct out *o)
{
	struct log_buf *b = o->sink;
	int saved = errno;

	if (!b->err)
		b->err = write_all(b->fd, b->data, o->pos);
	o->pos = 0;
	errno = saved;
}

static void out_put(struct out *o, const char *s, size_t n)
{
	o->total += n;
	for (;;) {
		size_t room = o->cap - o->pos;
		size_t k = n < room ? n : room;

		if (k) {
			memcpy(o->buf + o->pos, s, k);
			o->pos += k;
			s += k;
			n -= k;
		}
		if (!n || !o->sink)
			return;
		out_drain(o);
	}
}

static void out_pad(struct out *o, char c, size_t n)
{
	char pad[LOG_PAD_CHUNK];

	memset(pad, c, sizeof(pad));
	while (n) {
		size_t k = n < sizeof(pad) ? n : sizeof(pad);

		if (!o->sink && o->pos == o->cap) {
			o->total += n;
			return;
		}
		out_put(o, pad, k);
		n -= k;
	}
}

static void pad_before(struct out *o, const struct spec *sp, size_t len)
{
	if (!(sp->flags & F_MINUS) && (size_t)sp->width > len)
		out_pad(o, ' ', (size_t)sp->width - len);
}

static void pad_after(struct out *o, const struct spec *sp, size_t len)
{
	if ((sp->flags & F_MINUS) && (size_t)sp->width > len)
		out_pad(o, ' ', (size_t)sp->width - len);
}

/* Parsing: each helper consumes its part of the spec and returns the rest. */

static unsigned flag_bit(char c)
{
	switch (c) {
	case '-':
		return F_MINUS;
	case '+':
		return F_PLUS;
	case ' ':
		return F_SPACE;
	case '#':
		return F_ALT;
	case '0':
		return F_ZERO;
	default:
		return 0;
	}
}

static const char *parse_flags(const char *p, unsigned *flags)
{
	unsigned bit;

	for (; (bit = flag_bit(*p)) != 0; p++)
		*flags |= bit;
	return p;
}

/* Decimal digits, saturating at INT_MAX. */
static const char *parse_uint(const char *p, int *val)
{
	int v = 0;

	for (; *p >= '0' && *p <= '9'; p++) {
		int d = *p - '0';

		v = v > (INT_MAX - d) / 10 ? INT_MAX : v * 10 + d;
	}
	*val = v;
	return p;
}

static const char *parse_width(const char *p, struct spec *sp, va_list *ap)
{
	int w;

	if (*p != '*')
		return parse_uint(p, &sp->width);
	w = va_arg(*ap, int);
	if (w < 0) {
		sp->flags |= F_MINUS;
		w = w == INT_MIN ? INT_MAX : -w;
	}
	sp->width = w;
	return p + 1;
}

static const char *parse_prec(const char *p, struct spec *sp, va_list *ap)
{
	int prec;

	if (*p != '.') {
		sp->prec = -1;
		return p;
	}
	p++;
	if (*p != '*')
		return parse_uint(p, &sp->prec);
	prec = va_arg(*ap, int);
	sp->prec = prec < 0 ? -1 : prec;
	return p + 1;
}

static const char *parse_len(const char *p, enum len_mod *len)
{
	switch (*p) {
	case 'h':
		*len = p[1] == 'h' ? LEN_HH : LEN_H;
		return p + (*len == LEN_HH ? 2 : 1);
	case 'l':
		*len = p[1] == 'l' ? LEN_LL : LEN_L;
		return p + (*len == LEN_LL ? 2 : 1);
	case 'z':
		*len = LEN_Z;
		return p + 1;
	case 't':
		*len = LEN_T;
		return p + 1;
	case 'j':
		*len = LEN_J;
		return p + 1;
	default:
		*len = LEN_NONE;
		return p;
	}
}

/* p points just past '%'; returns the byte after the conversion character. */
static const char *parse_spec(const char *p, struct spec *sp, va_list *ap)
{
	p = parse_flags(p, &sp->flags);
	p = parse_width(p, sp, ap);
	p = parse_prec(p, sp, ap);
	p = parse_len(p, &sp->len);
	sp->conv = *p;
	return *p ? p + 1 : p;
}

/* Arguments: the promoted type is read, then narrowed as the modifier says. */

static uintmax_t arg_unsigned(va_list *ap, enum len_mod len)
{
	switch (len) {
	case LEN_HH:
		return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_H:
		return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_L:
		return va_arg(*ap, unsigned long);
	case LEN_LL:
		return va_arg(*ap, unsigned long long);
	case LEN_Z:
		return va_arg(*ap, size_t);
	case LEN_T:
		return (size_t)va_arg(*ap, ptrdiff_t);
	case LEN_J:
		return va_arg(*ap, uintmax_t);
	default:
		return va_arg(*ap, unsigned int);
	}
}

static intmax_t arg_signed(va_list *ap, enum len_mod len)
{
	switch (len) {
	case LEN_HH:
		return (signed char)va_arg(*ap, int);
	case LEN_H:
		return (short)va_arg(*ap, int);
	case LEN_L:
		return va_arg(*ap, long);
	case LEN_LL:
		return va_arg(*ap, long long);
	case LEN_Z:
		return (ssize_t)va_arg(*ap, size_t);
	case LEN_T:
		return va_arg(*ap, ptrdiff_t);
	case LEN_J:
		return va_arg(*ap, intmax_t);
	default:
		return va_arg(*ap, int);
	}
}

/* Writes v's digits so that they end at end; returns where they start. */
static char *utoa_rev(char *end, uintmax_t v, unsigned base, int upper)
{
	const char *xdigits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	do {
		*--end = xdigits[v % base];
		v /= base;
	} while (v);
	return end;
}

static unsigned conv_base(char conv)
{
	switch (conv) {
	case 'o':
		return 8;
	case 'x':
	case 'X':
		return 16;
	default:
		return 10;
	}
}

static size_t num_len(const struct num *n)
{
	return (n->sign != 0) + strlen(n->prefix) + n->zeros + n->ndigits;
}

/* Precision zeros, the alternate forms, then '0'-flag padding up to width. */
static void num_layout(struct num *n, const struct spec *sp, uintmax_t v)
{
	size_t len;

	if (sp->prec >= 0 && (size_t)sp->prec > n->ndigits)
		n->zeros = (size_t)sp->prec - n->ndigits;
	if (sp->conv == 'o' && (sp->flags & F_ALT) && !n->zeros &&
	    (v || !n->ndigits))
		n->zeros = 1;
	if ((sp->conv == 'x' || sp->conv == 'X') && (sp->flags & F_ALT) && v)
		n->prefix = sp->conv == 'X' ? "0X" : "0x";
	len = num_len(n);
	if ((sp->flags & (F_ZERO | F_MINUS)) == F_ZERO && sp->prec < 0 &&
	    (size_t)sp->width > len)
		n->zeros += (size_t)sp->width - len;
}

static void fmt_number(struct out *o, const struct spec *sp, uintmax_t v,
		       char sign)
{
	char buf[sizeof(uintmax_t) * CHAR_BIT / 3 + 1];
	char *end = buf + sizeof(buf);
	struct num n = { .sign = sign, .prefix = "" };
	size_t len;

	n.digits = utoa_rev(end, v, conv_base(sp->conv), sp->conv == 'X');
	n.ndigits = (size_t)(end - n.digits);
	if (sp->prec == 0 && !v)
		n.ndigits = 0;
	num_layout(&n, sp, v);
	len = num_len(&n);
	pad_before(o, sp, len);
	if (sign)
		out_put(o, &sign, 1);
	out_put(o, n.prefix, strlen(n.prefix));
	out_pad(o, '0', n.zeros);
	out_put(o, n.digits, n.ndigits);
	pad_after(o, sp, len);
}

/* The sign a non-negative value gets from the '+' and ' ' flags. */
static char plus_sign(const struct spec *sp)
{
	if (sp->flags & F_PLUS)
		return '+';
	return sp->flags & F_SPACE ? ' ' : 0;
}

static void fmt_signed(struct out *o, const struct spec *sp, intmax_t v)
{
	if (v < 0)
		fmt_number(o, sp, -(uintmax_t)v, '-');
	else
		fmt_number(o, sp, (uintmax_t)v, plus_sign(sp));
}

/* Like strnlen(s, prec), but without reading past prec bytes. */
static size_t str_len(const char *s, int prec)
{
	size_t n = 0;

	if (prec < 0)
		return strlen(s);
	while (n < (size_t)prec && s[n])
		n++;
	return n;
}

static void fmt_bytes(struct out *o, const struct spec *sp, const char *s,
		      size_t n)
{
	pad_before(o, sp, n);
	out_put(o, s, n);
	pad_after(o, sp, n);
}

/* As glibc: NULL is "(null)" when the precision leaves room for it, else "". */
static void fmt_string(struct out *o, const struct spec *sp, const char *s)
{
	if (!s)
		s = sp->prec < 0 || sp->prec >= 6 ? "(null)" : "";
	fmt_bytes(o, sp, s, str_len(s, sp->prec));
}

/* As glibc: "(nil)" for NULL, otherwise %#lx (sign flags and all). */
static void fmt_pointer(struct out *o, const struct spec *sp, const void *p)
{
	struct spec x = *sp;

	if (!p) {
		fmt_bytes(o, sp, "(nil)", 5);
		return;
	}
	x.conv = 'x';
	x.flags |= F_ALT;
	fmt_number(o, &x, (uintptr_t)p, plus_sign(sp));
}

/* Returns 0 when sp->conv is not a conversion this formatter knows. */
static int convert(struct out *o, const struct spec *sp, va_list *ap)
{
	char c;

	switch (sp->conv) {
	case '%':
		out_put(o, "%", 1);
		return 1;
	case 'c':
		c = (char)va_arg(*ap, int);
		fmt_bytes(o, sp, &c, 1);
		return 1;
	case 's':
		fmt_string(o, sp, va_arg(*ap, const char *));
		return 1;
	case 'd':
	case 'i':
		fmt_signed(o, sp, arg_signed(ap, sp->len));
		return 1;
	case 'u':
	case 'x':
	case 'X':
	case 'o':
		fmt_number(o, sp, arg_unsigned(ap, sp->len), 0);
		return 1;
	case 'p':
		fmt_pointer(o, sp, va_arg(*ap, const void *));
		return 1;
	default:
		return 0;
	}
}

/* pct points at '%'; an unknown or unfinished spec is copied as it stands. */
static const char *format_one(struct out *o, const char *pct, va_list *ap)
{
	struct spec sp = { 0 };
	const char *next = parse_spec(pct + 1, &sp, ap);

	if (!convert(o, &sp, ap))
		out_put(o, pct, (size_t)(next - pct));
	return next;
}

static void format(struct out *o, const char *fmt, va_list *ap)
{
	while (*fmt) {
		const char *lit = fmt;

		while (*fmt && *fmt != '%')
			fmt++;
		out_put(o, lit, (size_t)(fmt - lit));
		if (*fmt)
			fmt = format_one(o, fmt, ap);
	}
}

/*
 * Formats prefix, message and suffix into one line buffer and writes it
 * with a single write(2) where possible, so that lines from concurrent
 * threads do not interleave.  Output past LOG_LINE_MAX bytes is cut and
 * the line ends in LOG_TRUNC_MARK instead.
 */
static void log_line(int fd, const char *prefix, const char *suffix,
		     const char *fmt, va_list *ap)
{
	char line[LOG_LINE_MAX];
	struct out o = { .buf = line, .cap = sizeof(line) };
	size_t mark = sizeof(LOG_TRUNC_MARK) - 1;

	out_put(&o, prefix, strlen(prefix));
	format(&o, fmt, ap);
	out_put(&o, suffix, strlen(suffix));
	if (o.total > o.pos)
		memcpy(line + o.pos - mark, LOG_TRUNC_MARK, mark);
	log_write(fd, line, o.pos);
}

size_t log_vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { .buf = buf, .cap = size ? size - 1 : 0 };
	va_list aq;

	va_copy(aq, ap);
	format(&o, fmt, &aq);
	va_end(aq);
	if (size)
		buf[o.pos] = '\0';
	return o.total;
}

size_t log_format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = log_vformat(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int log_write(int fd, const char *buf, size_t len)
{
	int saved = errno;
	int err = write_all(fd, buf, len);

	errno = saved;
	return err ? -1 : 0;
}

void log_printf(int fd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(fd, "", "", fmt, &ap);
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	int fd = __atomic_load_n(&log_error_fd, __ATOMIC_RELAXED);
	va_list ap;

	va_start(ap, fmt);
	log_line(fd, LOG_ERROR_PREFIX, "\n", fmt, &ap);
	va_end(ap);
}

static unsigned long heap_bugs;		/* atomic */

void log_heap_bug(unsigned long n)
{
	__atomic_fetch_add(&heap_bugs, n, __ATOMIC_RELAXED);
}

unsigned long log_heap_bugs(void)
{
	return __atomic_load_n(&heap_bugs, __ATOMIC_RELAXED);
}

int log_get_error_fd(void)
{
	return __atomic_load_n(&log_error_fd, __ATOMIC_RELAXED);
}

void log_set_error_fd(int fd)
{
	__atomic_store_n(&log_error_fd, fd, __ATOMIC_RELAXED);
}

void log_buf_init(struct log_buf *b, int fd)
{
	b->fd = fd;
	b->err = 0;
	b->len = 0;
}

void log_buf_printf(struct log_buf *b, const char *fmt, ...)
{
	struct out o = {
		.buf = b->data, .cap = sizeof(b->data), .pos = b->len,
		.sink = b,
	};
	va_list ap;

	va_start(ap, fmt);
	format(&o, fmt, &ap);
	va_end(ap);
	b->len = o.pos;
}

int log_buf_flush(struct log_buf *b)
{
	if (b->len && !b->err)
		b->err = write_all(b->fd, b->data, b->len);
	b->len = 0;
	if (!b->err)
		return 0;
	errno = b->err;
	return -1;
}

void log_buf_frame(struct log_buf *b, uintptr_t addr)
{
	struct os_symbol sym;

	if (!os_symbolize_full(addr, &sym))
		log_buf_printf(b, " %#lx\n", (unsigned long)addr);
	else if (sym.name)
		log_buf_printf(b, " %s+%#lx (%s+%#lx)\n", sym.name,
			       (unsigned long)sym.offset, sym.module,
			       (unsigned long)sym.module_offset);
	else
		log_buf_printf(b, " %s+%#lx\n", sym.module,
			       (unsigned long)sym.module_offset);
}

#define LOG_STACK_FRAMES	16

__attribute__((noinline)) void log_stack(void)
{
	uintptr_t stack[LOG_STACK_FRAMES];
	struct log_buf b;
	unsigned int i, n;

	n = os_stack_capture(stack, LOG_STACK_FRAMES);
	log_buf_init(&b, log_get_error_fd());
	for (i = 1; i < n; i++)		/* stack[0] is here */
		log_buf_frame(&b, stack[i]);
	log_buf_flush(&b);
}
