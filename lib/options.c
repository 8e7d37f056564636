/*
 * options.c - L2: USLUB_OPTIONS parsing.  No allocation: the string is
 * walked in place.  Entry point: options_parse().
 */
#include <string.h>

#include "options.h"
#include "log.h"

struct uslub_options uslub_opt = {
	.decay_ms = 250,
	.abort_on_error = -1,
	.verbose = false,
	.stats = false,
	.thp = -1,
};

static bool parse_ulong(const char *v, size_t len, unsigned long *out)
{
	unsigned long x = 0;
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9' || x > (~0UL - 9) / 10)
			return false;
		x = x * 10 + (unsigned long)(v[i] - '0');
	}
	*out = x;
	return true;
}

/* Bytes with an optional k/K, m/M or g/G suffix (binary multiples). */
static bool parse_size(const char *v, size_t len, unsigned long *out)
{
	unsigned int shift = 0;
	unsigned long x;

	if (len > 1) {
		switch (v[len - 1]) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		}
	}
	if (!parse_ulong(v, len - (shift != 0), &x) || x > (~0UL >> shift))
		return false;
	*out = x << shift;
	return true;
}

static bool parse_bool(const char *v, size_t len, bool *out)
{
	unsigned long x;

	if (len == 0) {			/* a bare key means "on" */
		*out = true;
		return true;
	}
	if (!parse_ulong(v, len, &x) || x > 1)
		return false;
	*out = x;
	return true;
}

static bool key_is(const char *k, size_t klen, const char *name)
{
	return strlen(name) == klen && memcmp(k, name, klen) == 0;
}

/* One key=value pair; false if the key is unknown or the value bad. */
static bool option_set(const char *k, size_t klen, const char *v, size_t vlen)
{
	if (key_is(k, klen, "decay_ms"))
		return parse_ulong(v, vlen, &uslub_opt.decay_ms);
	if (key_is(k, klen, "abort_on_error")) {
		bool on;

		if (!parse_bool(v, vlen, &on))
			return false;
		uslub_opt.abort_on_error = on;
		return true;
	}
	if (key_is(k, klen, "verbose"))
		return parse_bool(v, vlen, &uslub_opt.verbose);
	if (key_is(k, klen, "stats"))
		return parse_bool(v, vlen, &uslub_opt.stats);
	if (key_is(k, klen, "thp")) {
		bool on;

		if (vlen == 0 || !parse_bool(v, vlen, &on))
			return false;
		uslub_opt.thp = on;
		return true;
	}
	if (key_is(k, klen, "stats_file")) {
		if (vlen == 0 || vlen >= sizeof(uslub_opt.stats_file))
			return false;
		memcpy(uslub_opt.stats_file, v, vlen);
		uslub_opt.stats_file[vlen] = '\0';
		uslub_opt.stats = true;
		return true;
	}
	if (key_is(k, klen, "limit"))
		return parse_size(v, vlen, &uslub_opt.limit);
	if (key_is(k, klen, "page_owner"))
		return parse_bool(v, vlen, &uslub_opt.page_owner);
	return false;
}

int options_parse(const char *str)
{
	int warnings = 0;

	while (str && *str) {
		const char *end = strchr(str, ',');
		const char *eq;
		size_t len = end ? (size_t)(end - str) : strlen(str);
		size_t klen;

		eq = memchr(str, '=', len);
		klen = eq ? (size_t)(eq - str) : len;
		if (len && !option_set(str, klen, eq ? eq + 1 : str + len,
				       eq ? len - klen - 1 : 0)) {
			log_error("USLUB_OPTIONS: ignoring '%.*s'", (int)len, str);
			warnings++;
		}
		str = end ? end + 1 : NULL;
	}
	return warnings;
}
