/*
 * tests/preload/tap.h -- the TAP reporter of the preload test programs.
 * They link nothing but the C library (they run under glibc too), so they
 * cannot use tests/test.h, which links uslub.  Each program prints "1..N"
 * itself and returns failed ? 1 : 0.
 */
#ifndef USLUB_TESTS_PRELOAD_TAP_H
#define USLUB_TESTS_PRELOAD_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int tests, failed;

static void result(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One test point: "ok N - text" or "not ok N - text". */
static void result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", ok ? "ok" : "not ok", ++tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failed += !ok;
}

#endif /* USLUB_TESTS_PRELOAD_TAP_H */
