/*
 * log.h - allocation-free formatting and logging (layer L2).
 *
 * log_format is a small snprintf for %c %s %d %i %u %x %X %o %p %% with
 * flags, width, precision and the hh h l ll z t j length modifiers; the
 * writers below never call malloc or stdio, so they are safe inside the
 * allocator itself.  All functions are re-entrant and thread-safe.
 */
#ifndef USLUB_LOG_H
#define USLUB_LOG_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/*
 * snprintf semantics: always NUL-terminates when size > 0; returns the
 * length the full output would have had.
 */
size_t log_vformat(char *buf, size_t size, const char *fmt, va_list ap);
size_t log_format(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * write(2) all of buf, retrying on EINTR and short writes; preserves errno;
 * returns 0 or -1.
 */
int log_write(int fd, const char *buf, size_t len);

/*
 * Format into a 1 KiB stack buffer and log_write it.  Longer output is cut
 * to 1024 bytes, the last four of which become "...\n".
 */
void log_printf(int fd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "uslub: " + message + "\n" on the error fd (default 2), as log_printf. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Heap bugs reported so far (invalid frees, double frees, debug caches'
 * BUG reports, corrupt free pointers, busy destroys): every report adds
 * itself; with USLUB_DEBUG a run that reported one exits non-zero. */
void log_heap_bug(unsigned long n);
unsigned long log_heap_bugs(void);
void log_set_error_fd(int fd);
int log_get_error_fd(void);

/*
 * A buffered writer for long reports (slabinfo): output goes to fd in 4 KiB
 * chunks from a caller-provided struct on the stack.  The first failed write
 * is kept in err and later output is dropped; log_buf_flush reports it.
 */
struct log_buf {
	int fd;
	int err;
	size_t len;
	char data[4096];
};
void log_buf_init(struct log_buf *b, int fd);
void log_buf_printf(struct log_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Writes what is buffered; 0, or -1 with errno if any write failed. */
int log_buf_flush(struct log_buf *b);

/* A stack line for the code address addr: " function+0xOFF
 * (module+0xOFF)", the second part as `addr2line -e module 0xOFF` takes
 * it; " module+0xOFF" when no symbol holds addr (os_symbolize_full). */
void log_buf_frame(struct log_buf *b, uintptr_t addr);
/* The caller's stack, innermost first, as log_buf_frame lines on the
 * error fd: what follows a report in debug mode. */
void log_stack(void);

#endif
