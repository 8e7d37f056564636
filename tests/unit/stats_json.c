/*
 * Unit tests for the JSON statistics (lib/stats_json.c,
 * uslub_stats_write_json): the document is valid JSON (checked by the
 * strict parser below, RFC 8259's grammar), carries schema version 1,
 * every slabinfo column and counter, and agrees with the slabinfo text;
 * names that need escaping stay valid; debug caches have no sheaf; the
 * document stays valid while threads allocate (TSan); and the stats=json
 * and slabtop= options parse.
 */
#include "test.h"

#include "options.h"
#include "stats.h"
#include "uslub.h"
#include "slabinfo_row.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- A strict JSON parser that only says yes or no ------------------- */

static bool json_value(const char **p, int depth);

static void json_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

static bool json_string(const char **p)
{
	const char *s = *p;
	int i;

	if (*s++ != '"')
		return false;
	for (; *s != '"'; s++) {
		if ((unsigned char)*s < 0x20)
			return false;		/* also the end of the text */
		if (*s != '\\')
			continue;
		s++;
		if (*s == 'u') {
			for (i = 1; i <= 4; i++)
				if (!strchr("0123456789abcdefABCDEF", s[i]) ||
				    !s[i])
					return false;
			s += 4;
		} else if (!*s || !strchr("\"\\/bfnrt", *s)) {
			return false;
		}
	}
	*p = s + 1;
	return true;
}

static bool json_digits(const char **p)
{
	const char *s = *p;

	while (**p >= '0' && **p <= '9')
		(*p)++;
	return *p > s;
}

static bool json_number(const char **p)
{
	if (**p == '-')
		(*p)++;
	if (**p == '0')
		(*p)++;
	else if (!json_digits(p))
		return false;
	if (**p == '.' && (++*p, !json_digits(p)))
		return false;
	if (**p == 'e' || **p == 'E') {
		(*p)++;
		if (**p == '+' || **p == '-')
			(*p)++;
		if (!json_digits(p))
			return false;
	}
	return true;
}

/* The members of an object (close '}') or the elements of an array (']'). */
static bool json_items(const char **p, int depth, char close, bool keys)
{
	(*p)++;
	json_ws(p);
	if (**p == close) {
		(*p)++;
		return true;
	}
	for (;;) {
		if (keys) {
			if (!json_string(p))
				return false;
			json_ws(p);
			if (*(*p)++ != ':')
				return false;
		}
		if (!json_value(p, depth + 1))
			return false;
		json_ws(p);
		if (**p == close) {
			(*p)++;
			return true;
		}
		if (*(*p)++ != ',')
			return false;
		json_ws(p);
	}
}

static bool json_value(const char **p, int depth)
{
	json_ws(p);
	if (depth > 32)
		return false;
	switch (**p) {
	case '{': return json_items(p, depth, '}', true);
	case '[': return json_items(p, depth, ']', false);
	case '"': return json_string(p);
	case 't': return strncmp(*p, "true", 4) == 0 && (*p += 4);
	case 'f': return strncmp(*p, "false", 5) == 0 && (*p += 5);
	case 'n': return strncmp(*p, "null", 4) == 0 && (*p += 4);
	default: return json_number(p);
	}
}

/* One JSON value and nothing after it but white space. */
static bool json_valid(const char *text)
{
	const char *p = text;

	if (!json_value(&p, 0))
		return false;
	json_ws(&p);
	return *p == '\0';
}

TEST_BEGIN(test_parser_rejects)
{
	expect_true(json_valid("{\"a\": [1, -2.5e3, true, null, \"x\\u00e9\"]}"));
	expect_false(json_valid("{\"a\": 1,}"), "trailing comma");
	expect_false(json_valid("{\"a\" 1}"), "missing colon");
	expect_false(json_valid("{\"a\": \"\x01\"}"), "raw control byte");
	expect_false(json_valid("{\"a\": \"\\q\"}"), "bad escape");
	expect_false(json_valid("{\"a\": 01}"), "leading zero");
	expect_false(json_valid("{} {}"), "two values");
	expect_false(json_valid("{\"a\": [1, 2}"), "unbalanced");
}
TEST_END

/* ---- The document ---------------------------------------------------- */

/* The JSON of one cache starts with this. */
static void cache_prefix(char *buf, size_t size, const char *json_name,
			 unsigned long active, const struct slabrow *r)
{
	snprintf(buf, size, "{\"name\": \"%s\", \"active_objs\": %lu, "
		 "\"num_objs\": %lu, ", json_name, active, r->num_objs);
}

TEST_BEGIN(test_json_document)
{
	struct uslub_cache *s = uslub_cache_create("json_test", 100, 0, 0, NULL);
	char *text, want[256];
	struct slabrow r = { 0 };
	void *objs[7];
	unsigned int i;

	assert_ptr_not_null(s);
	for (i = 0; i < 7; i++)
		objs[i] = uslub_cache_alloc(s, 0);
	text = stats_text(uslub_stats_write_json);
	assert_ptr_not_null(text, "json written");
	expect_true(json_valid(text), "valid JSON");
	expect_str_contains(text, "\"uslub_stats_version\": 1,");
	expect_true(slabinfo_find("json_test", &r), "slabinfo row");
	cache_prefix(want, sizeof(want), "json_test", 7, &r);
	expect_str_contains(text, want, "the slabinfo columns");
	snprintf(want, sizeof(want), "\"objperslab\": %u, ", r.objperslab);
	expect_str_contains(text, want);
	snprintf(want, sizeof(want), "\"active_slabs\": %lu, \"num_slabs\": "
		 "%lu,", r.num_slabs, r.num_slabs);
	expect_str_contains(text, want);
	for (i = 0; i < NR_SLUB_STAT_ITEMS; i++) {
		snprintf(want, sizeof(want), "\"%s\": ", stat_item_names[i]);
		expect_str_contains(text, want, "every event counter");
	}
	expect_str_contains(text, "\"sheaf\": {\"capacity\": ");
	expect_str_contains(text, "\"barn_full_sheaves\": ");
	expect_str_contains(text, "\"sheaf_pool\": {\"bytes\": ");
	expect_str_contains(text, "\"meminfo\": {\"slab_kb\": ");
	expect_str_contains(text, "\"heap\": {\"allocated\": ");
	expect_str_contains(text, "\"peak_resident\": ");
	expect_true(text[strlen(text) - 1] == '\n', "ends with a newline");
	free(text);
	for (i = 0; i < 7; i++)
		uslub_cache_free(s, objs[i]);
	expect_d_eq(uslub_cache_destroy(s), 0);
}
TEST_END

TEST_BEGIN(test_json_escapes)
{
	struct uslub_cache *s = uslub_cache_create("q\"b\\s\001\351 x", 64, 0,
						   0, NULL);
	char *text;

	assert_ptr_not_null(s);
	text = stats_text(uslub_stats_write_json);
	assert_ptr_not_null(text);
	expect_true(json_valid(text), "valid JSON with an odd name");
	expect_str_contains(text, "\"name\": \"q\\\"b\\\\s\\u0001\\u00e9 x\"");
	free(text);
	expect_d_eq(uslub_cache_destroy(s), 0);
}
TEST_END

TEST_BEGIN(test_json_debug_cache)
{
	struct uslub_cache *s = uslub_cache_create("json_debug", 48, 0,
						   USLUB_RED_ZONE, NULL);
	char *text;

	assert_ptr_not_null(s);
	text = stats_text(uslub_stats_write_json);
	assert_ptr_not_null(text);
	expect_true(json_valid(text));
	expect_true(strstr(text, "\"name\": \"json_debug\"") &&
		    strstr(strstr(text, "\"name\": \"json_debug\""),
			   "\"debug\": true,\n     \"sheaf\": null"),
		    "a debug cache has no sheaves");
	free(text);
	expect_d_eq(uslub_cache_destroy(s), 0);
}
TEST_END

/* ---- While threads allocate ------------------------------------------ */

#define NR_THREADS	3

static struct uslub_cache *busy;
static int stop;

static void *churn(void *arg)
{
	void *objs[64];
	int i;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		for (i = 0; i < 64; i++)
			objs[i] = uslub_cache_alloc(busy, 0);
		for (i = 0; i < 64; i++)
			uslub_cache_free(busy, objs[i]);
		uslub_free(uslub_malloc(200));
	}
	return NULL;
}

TEST_BEGIN(test_json_while_allocating)
{
	pthread_t t[NR_THREADS];
	char *text;
	int i, valid = 0;

	busy = uslub_cache_create("json_busy", 80, 0, 0, NULL);
	assert_ptr_not_null(busy);
	for (i = 0; i < NR_THREADS; i++)
		assert_d_eq(pthread_create(&t[i], NULL, churn, NULL), 0);
	for (i = 0; i < 20; i++) {
		text = stats_text(uslub_stats_write_json);
		valid += text && json_valid(text);
		free(text);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(t[i], NULL);
	expect_d_eq(valid, 20, "every document valid");
	expect_d_eq(uslub_cache_destroy(busy), 0);
}
TEST_END

/* ---- Options ---------------------------------------------------------- */

TEST_BEGIN(test_options)
{
	struct uslub_options saved = uslub_opt;

	expect_d_eq(uslub_opt.slabtop, USLUB_CONFIG_TSAN ? 0 : -1,
		    "the server is pending by default (off under TSan)");
	expect_d_eq(options_parse("stats=json"), 0);
	expect_true(uslub_opt.stats && uslub_opt.stats_json);
	expect_d_eq(options_parse("stats=1"), 0);
	expect_true(uslub_opt.stats && !uslub_opt.stats_json);
	expect_d_eq(options_parse("stats=0,slabtop=0"), 0);
	expect_false(uslub_opt.stats || uslub_opt.slabtop);
	expect_d_eq(options_parse("slabtop"), 0);
	expect_d_eq(uslub_opt.slabtop, 1, "a bare key means on: at once");
	expect_d_eq(options_parse("stats=all"), 0);
	expect_true(uslub_opt.stats && uslub_opt.stats_all &&
		    !uslub_opt.stats_json, "stats=all");
	expect_d_eq(options_parse("stats=json"), 0);
	expect_true(uslub_opt.stats && uslub_opt.stats_json &&
		    !uslub_opt.stats_all, "the last stats= wins");
	expect_d_eq(options_parse("stats=jsonl,slabtop=2"), 2,
		    "bad values warn");
	uslub_opt = saved;
}
TEST_END

int main(void)
{
	return test(test_parser_rejects, test_json_document,
		    test_json_escapes, test_json_debug_cache,
		    test_json_while_allocating, test_options, NULL);
}
