/*
 * options.c - L2: USLUB_OPTIONS parsing.  No allocation: the string is
 * walked in place.  Entry point: options_parse().
 */
#include <stdint.h>
#include <string.h>

#include "options.h"
#include "log.h"
#include "uslub.h"

struct uslub_options uslub_opt = {
	.decay_ms = 250,
	.abort_on_error = -1,
	.exitcode = 23,
	.verbose = false,
	.stats = false,
	.thp = -1,
	/* ThreadSanitizer kills a fork child that starts a thread when its
	 * parent had several; TSan builds test the API, not the server. */
	.slabtop = USLUB_CONFIG_TSAN ? 0 : -1,
	.prof_sample = 512 << 10,
	.prof_prefix = "uslub",
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

/* stats, stats=0|1, stats=all (empty caches listed too), stats=json. */
static bool parse_stats(const char *v, size_t vlen)
{
	uslub_opt.stats_all = uslub_opt.stats_json = false;
	if (key_is(v, vlen, "all")) {
		uslub_opt.stats = uslub_opt.stats_all = true;
		return true;
	}
	if (key_is(v, vlen, "json")) {
		uslub_opt.stats = uslub_opt.stats_json = true;
		return true;
	}
	return parse_bool(v, vlen, &uslub_opt.stats);
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
		return parse_stats(v, vlen);
	if (key_is(k, klen, "slabtop")) {
		bool on;

		if (!parse_bool(v, vlen, &on))
			return false;
		uslub_opt.slabtop = on;
		return true;
	}
	if (key_is(k, klen, "exitcode")) {
		unsigned long code;

		if (!parse_ulong(v, vlen, &code) || code > 255)
			return false;
		uslub_opt.exitcode = (int)code;
		return true;
	}
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
	if (key_is(k, klen, "prof"))
		return parse_bool(v, vlen, &uslub_opt.prof);
	if (key_is(k, klen, "prof_leak"))
		return parse_bool(v, vlen, &uslub_opt.prof_leak);
	if (key_is(k, klen, "prof_sample")) {
		unsigned long bytes;

		if (!parse_size(v, vlen, &bytes) || bytes == 0)
			return false;
		uslub_opt.prof_sample = bytes;
		return true;
	}
	if (key_is(k, klen, "prof_seed"))
		return parse_ulong(v, vlen, &uslub_opt.prof_seed);
	if (key_is(k, klen, "prof_prefix")) {
		if (vlen == 0 || vlen >= sizeof(uslub_opt.prof_prefix))
			return false;
		memcpy(uslub_opt.prof_prefix, v, vlen);
		uslub_opt.prof_prefix[vlen] = '\0';
		return true;
	}
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

/* ---- USLUB_DEBUG ----------------------------------------------------- */

static char debug_spec[512];		/* written at init only */
/* Bit i: the i-th cache name of debug_spec matched a cache (atomic). */
static uint64_t debug_names_used;
#define DEBUG_NAMES_TRACKED	64

#define DEBUG_DEFAULT	(USLUB_CONSISTENCY_CHECKS | USLUB_RED_ZONE | \
			 USLUB_POISON | USLUB_STORE_USER)

/* The flags of the letters in [p, end); *order_off for O, *bad for the
 * first unknown letter (0 if none). */
static unsigned long debug_letters(const char *p, const char *end,
				   bool *order_off, char *bad)
{
	unsigned long flags = 0;

	*bad = 0;
	if (p == end)
		return DEBUG_DEFAULT;
	for (; p < end; p++) {
		switch (*p) {
		case 'f': case 'F': flags |= USLUB_CONSISTENCY_CHECKS; break;
		case 'z': case 'Z': flags |= USLUB_RED_ZONE; break;
		case 'p': case 'P': flags |= USLUB_POISON; break;
		case 'u': case 'U': flags |= USLUB_STORE_USER; break;
		case 't': case 'T': flags |= USLUB_TRACE; break;
		case 'o': case 'O': *order_off = true; break;
		case '-': flags = 0; break;
		case ' ': break;
		default:
			if (!*bad)
				*bad = *p;
		}
	}
	return flags;
}

static bool debug_name_match(const char *pat, size_t len, const char *name)
{
	if (len && pat[len - 1] == '*')
		return strncmp(name, pat, len - 1) == 0;
	return strlen(name) == len && memcmp(name, pat, len) == 0;
}

int options_parse_debug(const char *str)
{
	size_t len = str ? strlen(str) : 0;
	const char *b, *end;
	int warnings = 0;

	debug_spec[0] = '\0';
	if (!str)
		return 0;
	if (len >= sizeof(debug_spec)) {
		log_error("USLUB_DEBUG: longer than %zu bytes, ignored",
			  sizeof(debug_spec) - 1);
		return 1;
	}
	memcpy(debug_spec, str, len + 1);
	for (b = debug_spec; *b; b = *end ? end + 1 : end) {
		const char *comma;
		bool off = false;
		char bad;

		end = strchr(b, ';');
		end = end ? end : b + strlen(b);
		comma = memchr(b, ',', (size_t)(end - b));
		debug_letters(b, comma ? comma : end, &off, &bad);
		if (bad) {
			log_error("USLUB_DEBUG: unknown option '%c' in '%.*s'",
				  bad, (int)(end - b), b);
			warnings++;
		}
	}
	return warnings;
}

unsigned long options_debug_flags(const char *name, bool *order_off)
{
	const char *b, *end;
	unsigned long global = 0;
	bool global_off = false, have_spec = debug_spec[0] != '\0';
	unsigned int ordinal = 0;

	*order_off = false;
	if (!have_spec)
		return 0;
	for (b = debug_spec; *b; b = *end ? end + 1 : end) {
		const char *comma, *n, *ne;
		bool off = false;
		char bad;
		unsigned long flags;

		end = strchr(b, ';');
		end = end ? end : b + strlen(b);
		comma = memchr(b, ',', (size_t)(end - b));
		flags = debug_letters(b, comma ? comma : end, &off, &bad);
		if (!comma) {		/* a global block */
			global = flags;
			global_off = off;
			continue;
		}
		for (n = comma + 1; n <= end; n = ne + 1) {
			ne = memchr(n, ',', (size_t)(end - n));
			ne = ne ? ne : end;
			if (ne > n && debug_name_match(n, (size_t)(ne - n), name)) {
				if (ordinal < DEBUG_NAMES_TRACKED)
					__atomic_fetch_or(&debug_names_used,
							  1ULL << ordinal,
							  __ATOMIC_RELAXED);
				*order_off = off;
				return flags;
			}
			ordinal += ne > n;
			if (ne == end)
				break;
		}
	}
	*order_off = global_off;
	return global;
}

bool options_debugging(void)
{
	return debug_spec[0] != '\0';
}

int options_debug_warn_unmatched(void)
{
	uint64_t used = __atomic_load_n(&debug_names_used, __ATOMIC_RELAXED);
	unsigned int ordinal = 0;
	const char *b, *end, *comma, *n, *ne;
	int warned = 0;

	for (b = debug_spec; *b; b = *end ? end + 1 : end) {
		end = strchr(b, ';');
		end = end ? end : b + strlen(b);
		comma = memchr(b, ',', (size_t)(end - b));
		if (!comma)
			continue;
		for (n = comma + 1; n <= end; n = ne + 1) {
			ne = memchr(n, ',', (size_t)(end - n));
			ne = ne ? ne : end;
			if (ne > n) {
				if (ordinal < DEBUG_NAMES_TRACKED &&
				    !(used & (1ULL << ordinal))) {
					log_error("USLUB_DEBUG: no cache matched "
						  "'%.*s'", (int)(ne - n), n);
					warned++;
				}
				ordinal++;
			}
			if (ne == end)
				break;
		}
	}
	return warned;
}
