/*
 * test_event_fast.c - Criterion suite for the decoder's fast path (streams/event_fast.c),
 * differential against the jansson decoder (event_decode_json), which is the authority.
 *
 * The promise under test: whenever event_decode_fast accepts a payload, event_decode_json
 * accepts it too and fills a byte-identical struct event; and event_decode (fast path, then
 * jansson) gives the jansson verdict and message on every input. Inputs:
 *   - every payload the decoder's own suite decodes: tests/unit/test_event_decode.c is
 *     compiled into this file with event_decode routed through a cross-checking wrapper, so
 *     its tables run here again with each decode checked both ways;
 *   - every line of generated cities (tools/gen.c), valid, invalid and duplicated;
 *   - systematic mutations of valid lines: every byte replaced by each of the 256 values,
 *     deleted, doubled, swapped with the next, a few bytes inserted, every truncation;
 *   - hand-picked and random numbers, strings and layouts at the edges of what the fast path
 *     takes.
 * The suite also requires the fast path to take nearly every valid generated line, so it
 * fails if the fast path silently stops running.
 */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streams/event.h"
#include "streams/event_int.h"
#include "tools/gen.h"

#define FAST_ERR_SIZE 512

/* What a run of cross-checks saw. */
struct diff_stats {
	size_t inputs;
	size_t json_accepts;
	size_t fast_accepts;
	size_t fast_accepts_by_type[EVENT_TYPE__COUNT];
};

/* A printable form of a payload for failure messages: non-printable bytes as \xNN. */
static const char *printable(const void *buf, size_t len)
{
	static char out[4 * EVENT_MAX_BYTES + 8];
	const unsigned char *p = buf;
	size_t o = 0;
	for (size_t i = 0; i < len && i < EVENT_MAX_BYTES; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f)
			out[o++] = (char)p[i];
		else
			o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", p[i]);
	}
	out[o] = '\0';
	return out;
}

/* Asserts that a and b are the same event, field by field, then byte for byte. */
static void assert_same_event(const struct event *a, const struct event *b, const void *buf,
                              size_t len)
{
	const char *what = printable(buf, len);
	cr_assert_eq(a->type, b->type, "type differs: %s", what);
	cr_assert_eq(a->has, b->has, "has differs: %s", what);
	cr_assert_eq(a->ts, b->ts, "ts differs: %s", what);
	cr_assert_eq(a->ts_utc_offset_s, b->ts_utc_offset_s, "ts offset differs: %s", what);
	cr_assert_str_eq(a->event_id, b->event_id, "event_id differs: %s", what);
	cr_assert_str_eq(a->entity_id, b->entity_id, "entity_id differs: %s", what);
	cr_assert(memcmp(&a->u, &b->u, sizeof a->u) == 0, "type fields differ: %s", what);
	cr_assert(memcmp(a, b, sizeof *a) == 0, "bytes differ: %s", what);
}

/*
 * Decodes buf with the fast path, the jansson decoder and event_decode, each into a struct
 * filled with a different pattern first, and asserts the promise. Returns whether the fast
 * path accepted; counts into st when not NULL.
 */
static bool crosscheck(const void *buf, size_t len, struct diff_stats *st)
{
	struct event fast, json, both;
	char err_json[FAST_ERR_SIZE], err_both[FAST_ERR_SIZE];

	memset(&fast, 0xa5, sizeof fast);
	memset(&json, 0x5a, sizeof json);
	memset(&both, 0x3c, sizeof both);
	bool accepted = event_decode_fast(buf, len, &fast);
	enum event_reject rc = event_decode_json(buf, len, &json, err_json, sizeof err_json);
	enum event_reject rc_both = (event_decode)(buf, len, &both, err_both, sizeof err_both);

	if (accepted) {
		cr_assert_eq(rc, EVENT_REJECT_NONE, "fast path accepted what jansson rejects (%s): %s",
		             err_json, printable(buf, len));
		assert_same_event(&fast, &json, buf, len);
	}
	cr_assert_eq(rc_both, rc, "event_decode says %s, jansson %s: %s",
	             event_reject_name(rc_both), event_reject_name(rc), printable(buf, len));
	if (rc == EVENT_REJECT_NONE)
		assert_same_event(&both, &json, buf, len);
	else
		cr_assert_str_eq(err_both, err_json, "%s", printable(buf, len));

	if (st) {
		st->inputs++;
		st->json_accepts += rc == EVENT_REJECT_NONE;
		if (accepted) {
			st->fast_accepts++;
			st->fast_accepts_by_type[fast.type]++;
		}
	}
	return accepted;
}

/* event_decode as the decoder's own suite calls it, with every call cross-checked first. */
static enum event_reject event_decode_crosschecked(const void *buf, size_t len,
                                                   struct event *ev, char *errstr,
                                                   size_t errstr_size)
{
	crosscheck(buf, len, NULL);
	return (event_decode)(buf, len, ev, errstr, errstr_size);
}

/* The decoder's suite, every table and every case, decoding through the wrapper above. */
#define event_decode(...) event_decode_crosschecked(__VA_ARGS__)
#include "test_event_decode.c"
#undef event_decode

/* ------------------------------------------------------------------------------------------ */
/* Generated cities                                                                           */

/*
 * Generates a city from `gen` options (argv[0] is "gen") into memory and cross-checks every
 * line, valid, invalid or repeated; asserts that the city has invalid lines and that the fast
 * path took at least 99% of the valid ones (the plainly written lines it exists for).
 */
static void crosscheck_city(int argc, char **argv, struct diff_stats *st)
{
	struct gen_options opts;
	char errstr[256] = "";
	char *buf = NULL;
	size_t len = 0, pos = 0;

	gen_options_init(&opts);
	cr_assert_eq(gen_options_parse(&opts, argc, argv, errstr, sizeof errstr), 0, "%s", errstr);
	FILE *f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	cr_assert_eq(gen_write(&opts, f, NULL, errstr, sizeof errstr), 0, "%s", errstr);
	cr_assert_eq(fclose(f), 0);
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		crosscheck(buf + pos, n, st);
		pos += n + 1;
	}
	free(buf);

	cr_assert_lt(st->json_accepts, st->inputs, "the city has invalid lines");
	cr_assert_geq(st->fast_accepts * 100, st->json_accepts * 99,
	              "fast path took %zu of %zu valid lines", st->fast_accepts, st->json_accepts);
}

Test(event_fast, generated_city_lines)
{
	char *argv[] = { "gen", "--customers", "200", "--days", "3", "--bad-rate", "0.02",
		             "--dup-rate", "0.01", "--seed", "7" };
	struct diff_stats st = { 0 };
	crosscheck_city(sizeof argv / sizeof argv[0], argv, &st);
	cr_assert_gt(st.inputs, 25000);
	cr_assert_gt(st.fast_accepts_by_type[EVENT_METER_READING], 0);
	cr_assert_gt(st.fast_accepts_by_type[EVENT_TRANSFORMER_READING], 0);
	cr_assert_gt(st.fast_accepts_by_type[EVENT_CUSTOMER], 0);
}

Test(event_fast, generated_billing_lines)
{
	/* Long enough for bills, payments and reversals. */
	char *argv[] = { "gen", "--customers", "300", "--days", "120", "--billing-only",
		             "--distress-rate", "0.2", "--bad-rate", "0.02", "--dup-rate", "0.01" };
	struct diff_stats st = { 0 };
	crosscheck_city(sizeof argv / sizeof argv[0], argv, &st);
	cr_assert_gt(st.fast_accepts_by_type[EVENT_BILL], 0);
	cr_assert_gt(st.fast_accepts_by_type[EVENT_PAYMENT], 0);
	cr_assert_gt(st.fast_accepts_by_type[EVENT_PAYMENT_REVERSAL], 0);
	cr_assert_gt(st.fast_accepts_by_type[EVENT_CUSTOMER], 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Mutations                                                                                  */

/* Cross-checks every single-edit variant of line; returns how many the fast path took. */
static size_t crosscheck_mutations(const char *line, size_t len)
{
	static const char inserts[] = " \"\\,:-0.9e{}\x80\xc2";
	char buf[1024];
	size_t taken = 0;
	cr_assert_lt(len + 2, sizeof buf);

	for (size_t i = 0; i <= len; i++) {
		/* truncated to i bytes */
		taken += crosscheck(line, i, NULL);
		/* inserted before byte i */
		for (size_t k = 0; k < sizeof inserts - 1; k++) {
			memcpy(buf, line, i);
			buf[i] = inserts[k];
			memcpy(buf + i + 1, line + i, len - i);
			taken += crosscheck(buf, len + 1, NULL);
		}
		if (i == len)
			break;
		/* byte i replaced by every value */
		memcpy(buf, line, len);
		for (int c = 0; c < 256; c++) {
			if (c == (unsigned char)line[i])
				continue;
			buf[i] = (char)c;
			taken += crosscheck(buf, len, NULL);
		}
		/* byte i deleted */
		memcpy(buf, line, i);
		memcpy(buf + i, line + i + 1, len - i - 1);
		taken += crosscheck(buf, len - 1, NULL);
		/* byte i doubled */
		memcpy(buf, line, i + 1);
		memcpy(buf + i + 1, line + i, len - i);
		taken += crosscheck(buf, len + 1, NULL);
		/* bytes i and i + 1 swapped */
		if (i + 1 < len) {
			memcpy(buf, line, len);
			buf[i] = line[i + 1];
			buf[i + 1] = line[i];
			taken += crosscheck(buf, len, NULL);
		}
	}
	return taken;
}

Test(event_fast, mutations_of_every_type)
{
	/* Every type with all its fields, from the decoder suite's table. */
	for (size_t t = 0; t < NTYPES; t++) {
		char json[1024];
		build_event(json, sizeof json, &type_cases[t], true, NULL, NULL, NULL, NULL);
		cr_assert(crosscheck(json, strlen(json), NULL), "fast path refuses %s", json);
		/* Some variants stay valid (a digit changed, a space added): the fast path must
		 * take some, or the cross-check would prove nothing. */
		cr_expect_gt(crosscheck_mutations(json, strlen(json)), 0, "%s", json);
	}
}

Test(event_fast, mutations_of_generated_lines)
{
	static const char *const lines[] = {
		"{\"type\":\"meter_reading\",\"event_id\":\"r-C000001-1767196800\",\"ts\":"
		"\"2026-01-01T00:00:00+08:00\",\"customer_id\":\"C000001\",\"meter_id\":\"M000001\","
		"\"kwh\":0.260,\"interval_s\":1800}",
		"{\"type\":\"customer\",\"event_id\":\"c-C000001-1767196800\",\"ts\":"
		"\"2026-01-01T00:00:00+08:00\",\"customer_id\":\"C000001\",\"segment\":\"residential\","
		"\"transformer_id\":\"T0005\",\"tariff\":\"residential_tiered\",\"capacity_kw\":8,"
		"\"since\":\"2021-10-16\"}",
		"{\"type\":\"payment_reversal\",\"event_id\":\"v-C000167-202601-1\",\"ts\":"
		"\"2026-01-21T12:35:14+08:00\",\"customer_id\":\"C000167\",\"amount\":59.24,"
		"\"payment_event_id\":\"p-C000167-202601-1\",\"reason\":\"bank_error\"}",
		"{\"type\":\"meter_event\",\"event_id\":\"e-C000024-1767283320-power_outage\",\"ts\":"
		"\"2026-01-02T00:02:00+08:00\",\"customer_id\":\"C000024\",\"meter_id\":\"M000024\","
		"\"code\":\"power_outage\"}",
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		cr_assert(crosscheck(lines[i], strlen(lines[i]), NULL), "fast path refuses %s",
		          lines[i]);
		cr_expect_gt(crosscheck_mutations(lines[i], strlen(lines[i])), 0, "%s", lines[i]);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Edges of the fast path                                                                     */

#define READING_HEAD                                                                          \
	"{\"type\":\"meter_reading\",\"event_id\":\"r\",\"ts\":\"2026-03-01T00:30:00Z\","         \
	"\"customer_id\":\"C\",\"meter_id\":\"M\",\"interval_s\":900,\"kwh\":"

/* Cross-checks a meter reading whose kwh (or, with a leading '"', other text) is `value`. */
static bool crosscheck_kwh(const char *value)
{
	char json[512];
	snprintf(json, sizeof json, READING_HEAD "%s}", value);
	return crosscheck(json, strlen(json), NULL);
}

Test(event_fast, numbers)
{
	static const struct {
		const char *text;
		bool fast; /* whether the fast path should take it */
	} cases[] = {
		{ "0", true }, { "-0", true }, { "-0.0", true }, { "0.000", true }, { "1", true },
		{ "0.1", true }, { "0.3", true }, { "0.260", true }, { "1.25", true },
		{ "123.456", true }, { "0.1234567890123456", true }, { "1.234567890123456", true },
		{ "9007199254740992", true },         /* 2^53 */
		{ "9007199254740.992", true },        /* 2^53 as digits, 3 after the point */
		{ "0.0000000000000000000001", true }, /* 22 fraction digits */
		{ "0.0000000000000000009007199254740992", false }, /* 34 fraction digits */
		{ "0.000000000000000000000", true },
		/* left to jansson */
		{ "0.30000000000000004", false }, { "1.7976931348623157", false }, /* above 2^53 */
		{ "9007199254740993", false },        /* 2^53 + 1: not exact in this path */
		{ "9007199254740.993", false },
		{ "0.00000000000000000000001", false }, /* 23 fraction digits */
		{ "12345678901234567890", false },    /* 20 digits */
		{ "1e3", false }, { "1E3", false }, { "1.5e-3", false }, { "2e0", false },
		{ "01", false }, { "00.5", false }, { "-01", false }, { ".5", false }, { "1.", false },
		{ "-", false }, { "--1", false }, { "+1", false }, { "1.2.3", false }, { "1-2", false },
		{ "-1", false }, { "-0.5", false }, { "-1e-300", false }, { "1e400", false },
		{ "NaN", false }, { "Infinity", false }, { "null", false }, { "true", false },
		{ "\"1\"", false }, { "[1]", false }, { "{}", false },
		{ "99999999999999999999", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		cr_expect_eq(crosscheck_kwh(cases[i].text), cases[i].fast, "kwh %s", cases[i].text);
}

/* xorshift64: a fixed pseudo-random sequence, so a failure reproduces. */
static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

Test(event_fast, random_decimals_match_strtod)
{
	/* Random digit strings with the point anywhere: the fast path must give jansson's (strtod's)
	 * double bit for bit whenever it takes one, and take every one of up to 15 digits. */
	uint64_t state = 0x9e3779b97f4a7c15u;
	size_t taken = 0, tries = 200000;
	for (size_t n = 0; n < tries; n++) {
		char digits[24], text[40];
		unsigned ndigits = 1 + (unsigned)(next_random(&state) % 19);
		unsigned point = (unsigned)(next_random(&state) % (ndigits + 1)); /* digits before '.' */
		for (unsigned d = 0; d < ndigits; d++)
			digits[d] = (char)('0' + next_random(&state) % 10);
		if (point > 1 || (point == ndigits && ndigits > 1))
			digits[0] = (char)('1' + next_random(&state) % 9); /* no leading zero */
		if (point == 0)
			snprintf(text, sizeof text, "0.%.*s", (int)ndigits, digits);
		else if (point == ndigits)
			snprintf(text, sizeof text, "%.*s", (int)ndigits, digits);
		else
			snprintf(text, sizeof text, "%.*s.%.*s", (int)point, digits, (int)(ndigits - point),
			         digits + point);
		bool fast = crosscheck_kwh(text);
		taken += fast;
		if (ndigits + (point == 0) <= 15)
			cr_assert(fast, "fast path refuses %s", text);
	}
	cr_expect_gt(taken, tries / 2);
}

Test(event_fast, interval_forms)
{
	static const struct {
		const char *text;
		bool fast;
	} cases[] = {
		{ "1", true }, { "900", true }, { "86400", true },
		{ "0", false }, { "-0", false }, { "86401", false }, { "-900", false },
		{ "900.0", false }, { "9e2", false }, { "0900", false }, { "\"900\"", false },
		{ "99999999999999999999", false }, { "1800 ", true }, { "1800\n", true },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char json[512];
		snprintf(json, sizeof json,
		         "{\"type\":\"transformer_reading\",\"event_id\":\"t\",\"ts\":"
		         "\"2026-03-01T00:30:00Z\",\"transformer_id\":\"T\",\"kwh\":1,\"interval_s\":%s}",
		         cases[i].text);
		cr_expect_eq(crosscheck(json, strlen(json), NULL), cases[i].fast, "interval_s %s",
		             cases[i].text);
	}
}

Test(event_fast, strings_and_layout)
{
	static const struct {
		const char *json;
		bool fast;
	} cases[] = {
		/* layout: any order, JSON whitespace anywhere between tokens */
		{ " \t\r\n{ \"kwh\" : 1 , \"interval_s\":900,\"meter_id\":\"M\",\"customer_id\":\"C\","
		  "\"ts\":\"2026-03-01T00:30:00Z\",\"event_id\":\"e\",\"type\":\"meter_reading\"}\n ",
		  true },
		{ "{\"kwh\":1,\"interval_s\":900,\"meter_id\":\"M\",\"customer_id\":\"C\","
		  "\"ts\":\"2026-03-01T00:30:00Z\",\"event_id\":\"e\",\"type\":\"meter_reading\"}\f",
		  false },
		{ "\xef\xbb\xbf" READING_HEAD "1}", false }, /* byte-order mark */
		{ READING_HEAD "1}x", false },
		{ READING_HEAD "1}{}", false },
		{ READING_HEAD "1,}", false },
		{ READING_HEAD "1", false },
		{ READING_HEAD "1,\"kwh\":1}", false },          /* duplicate key */
		{ READING_HEAD "1,\"type\":\"meter_reading\"}", false },
		{ READING_HEAD "1,\"kwhh\":1}", false },         /* unknown key */
		{ READING_HEAD "1,\"voltage\":null}", false },
		{ READING_HEAD "1,\"voltage\":230.5,\"current\":0,\"power_factor\":-1,"
		  "\"reverse_kwh\":0.5}", true },
		{ READING_HEAD "1,\"power_factor\":-1.0000001}", false },
		{ READING_HEAD "1,\"power_factor\":-0}", true },
		/* strings: UTF-8 ids pass; escapes, controls and bad UTF-8 go to jansson */
		{ "{\"type\":\"meter_reading\",\"event_id\":\"r\",\"ts\":\"2026-03-01T00:30:00Z\","
		  "\"customer_id\":\"\xe5\xae\xa2\xe6\x88\xb7-\xf0\x9f\x98\x80\",\"meter_id\":\"\xc2\xa0\","
		  "\"kwh\":1,\"interval_s\":900}", true },
		{ "{\"type\":\"meter_reading\",\"event_id\":\"r\",\"ts\":\"2026-03-01T00:30:00Z\","
		  "\"customer_id\":\"C\",\"meter_id\":\"\xc2\x85\",\"kwh\":1,\"interval_s\":900}", false },
		{ "{\"type\":\"meter_reading\",\"event_id\":\"r\",\"ts\":\"2026-03-01T00:30:00Z\","
		  "\"customer_id\":\"C\",\"meter_id\":\"M\x7f\",\"kwh\":1,\"interval_s\":900}", false },
		{ "{\"type\":\"meter_reading\",\"event_id\":\"r\",\"ts\":\"2026-03-01T00:30:00Z\","
		  "\"customer_id\":\"C\",\"meter_id\":\"M\t\",\"kwh\":1,\"interval_s\":900}", false },
		{ "{\"type\":\"meter_reading\",\"event_id\":\"r\",\"ts\":\"2026-03-01T00:30:00Z\","
		  "\"customer_id\":\"C\",\"meter_id\":\"\\u004d\",\"kwh\":1,\"interval_s\":900}", false },
		{ "{\"type\":\"meter_reading\",\"event_id\":\"r\",\"ts\":\"2026-03-01T00:30:00Z\","
		  "\"customer_id\":\"C\",\"meter_id\":\"\xed\xa0\x80\",\"kwh\":1,\"interval_s\":900}", false },
		{ "{\"type\":\"meter_reading\",\"event_id\":\"r\",\"ts\":\"2026-03-01T00:30:00Z\","
		  "\"customer_id\":\"C\",\"meter_id\":\"\xe2\x82\",\"kwh\":1,\"interval_s\":900}", false },
		{ "{\"type\":\"meter_reading\",\"event_id\":\"r\",\"ts\":\"2026-03-01T00:30:00Z\","
		  "\"customer_id\":\"\",\"meter_id\":\"M\",\"kwh\":1,\"interval_s\":900}", false },
		{ "{\"type\":\"meter_reading\",\"event_id\":\"r\",\"ts\":\"2026-02-29T00:30:00Z\","
		  "\"customer_id\":\"C\",\"meter_id\":\"M\",\"kwh\":1,\"interval_s\":900}", false },
		{ "{\"type\":\"meter_reading\",\"event_id\":\"r\",\"ts\":\"2024-02-29t00:30:00.5-05:30\","
		  "\"customer_id\":\"C\",\"meter_id\":\"M\",\"kwh\":1,\"interval_s\":900}", true },
		{ "{\"type\":\"meter_reading\\u0000\",\"event_id\":\"r\"}", false },
		{ "{\"type\":\"meter_readings\",\"event_id\":\"r\"}", false },
		{ "{\"type\":\"customer\",\"event_id\":\"c\",\"ts\":\"2026-03-01T00:30:00Z\","
		  "\"customer_id\":\"C\",\"segment\":\"unknown\",\"transformer_id\":\"T\"}", false },
		{ "{\"type\":\"customer\",\"event_id\":\"c\",\"ts\":\"2026-03-01T00:30:00Z\","
		  "\"customer_id\":\"C\",\"segment\":\"industrial\",\"transformer_id\":\"T\","
		  "\"since\":\"2026-03-01T23:30:00-05:00\",\"tariff\":\"\"}", true },
		{ "{\"type\":\"customer\",\"event_id\":\"c\",\"ts\":\"2026-03-01T00:30:00Z\","
		  "\"customer_id\":\"C\",\"segment\":\"industrial\",\"transformer_id\":\"T\","
		  "\"since\":\"2026-03-0\"}", false },
		{ "{\"type\":\"bill\",\"event_id\":\"b\",\"ts\":\"2026-03-01T00:30:00Z\","
		  "\"customer_id\":\"C\",\"bill_id\":\"B\",\"amount\":0,\"due_date\":\"2026-03-31\"}",
		  true },
		{ "{\"type\":\"bill\",\"event_id\":\"b\",\"ts\":\"2026-03-01T00:30:00Z\","
		  "\"customer_id\":\"C\",\"bill_id\":\"B\",\"amount\":0,"
		  "\"due_date\":\"2026-03-31T00:00:00Z\"}", false },
		{ "{\"type\":\"payment\",\"event_id\":\"p\",\"ts\":\"2026-03-01T00:30:00Z\","
		  "\"customer_id\":\"C\",\"amount\":-0}", false },
		{ "{}", false }, { "[]", false }, { "", false }, { "{\"type\":", false },
		/* a profile's attributes object is nested: the jansson decoder reads it */
		{ "{\"type\":\"customer\",\"event_id\":\"c\",\"ts\":\"2026-03-01T00:30:00Z\","
		  "\"customer_id\":\"C\",\"segment\":\"commercial\",\"transformer_id\":\"T\","
		  "\"attributes\":{\"business_type\":\"retail\"}}", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		cr_expect_eq(crosscheck(cases[i].json, strlen(cases[i].json), NULL), cases[i].fast,
		             "case %zu: %s", i, cases[i].json);
}

Test(event_fast, length_limits_and_size)
{
	/* Ids and texts at their byte limits and one past, written by the suite's table. */
	static const struct {
		const char *field;
		size_t limit;
	} limits[] = {
		{ "event_id", RISKD_EVENT_ID_MAX },     { "customer_id", RISKD_ID_MAX },
		{ "payment_event_id", RISKD_EVENT_ID_MAX }, { "reason", RISKD_SHORT_TEXT_MAX },
		{ "transformer_id", RISKD_ID_MAX },     { "tariff", RISKD_SHORT_TEXT_MAX },
	};
	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
		for (size_t t = 0; t < NTYPES; t++) {
			const struct field_case *f;
			for (f = type_cases[t].fields; f->key && strcmp(f->key, limits[i].field); f++)
				;
			if (!f->key)
				continue;
			for (size_t n = limits[i].limit - 1; n <= limits[i].limit + 1; n++) {
				char value[300], json[1024];
				value[0] = '"';
				memset(value + 1, 'x', n);
				value[n + 1] = '"';
				value[n + 2] = '\0';
				build_event(json, sizeof json, &type_cases[t], true, NULL, f->key, value, NULL);
				cr_expect_eq(crosscheck(json, strlen(json), NULL), n <= limits[i].limit,
				             "%s of %zu bytes", f->key, n);
			}
		}
	}

	/* A valid event padded with spaces to the payload limit and one past it. */
	static char buf[EVENT_MAX_BYTES + 1];
	const char *json = READING_HEAD "1}";
	size_t n = strlen(json);
	memcpy(buf, json, n);
	memset(buf + n, ' ', sizeof buf - n);
	cr_expect(crosscheck(buf, EVENT_MAX_BYTES, NULL));
	cr_expect_not(crosscheck(buf, EVENT_MAX_BYTES + 1, NULL));
}

Test(event_fast, reads_only_len_bytes)
{
	/* The payload is not NUL-terminated: a valid event followed by more bytes in memory. */
	char buf[256];
	const char *json = READING_HEAD "1.5}";
	size_t n = strlen(json);
	memcpy(buf, json, n);
	memset(buf + n, '9', sizeof buf - n);
	cr_expect(crosscheck(buf, n, NULL));
	/* Cut short of the closing brace. */
	cr_expect_not(crosscheck(buf, n - 1, NULL));
	cr_expect_not(crosscheck(NULL, 0, NULL));
}
