/*
 * test_gen.c - Criterion suite for the synthetic city generator (tools/gen.c, gen_model.c).
 *
 * Runs gen_write into memory and reads the output back as a consumer would: every line is
 * checked against the event contract by a small independent checker (jansson plus explicit
 * field tables), then the data set's own promises are checked: counts, ordering, unique ids,
 * transformer balance, bills against readings, payments against bills, invalid lines,
 * duplicates, and byte-for-byte determinism.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/riskd_base.h"
#include "scoring/payments.h"
#include "streams/event.h"
#include "tools/gen.h"
#include "tools/gen_int.h"

/* ---- running the generator ------------------------------------------------------------ */

struct run {
	char *buf;
	size_t len;
	struct gen_stats stats;
};

static void run_gen(const struct gen_options *opts, struct run *r)
{
	char errstr[256] = "";
	memset(r, 0, sizeof(*r));
	FILE *f = open_memstream(&r->buf, &r->len);
	cr_assert_not_null(f);
	int err = gen_write(opts, f, &r->stats, errstr, sizeof(errstr));
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(err, 0, "gen_write failed: %s", errstr);
}

static void run_free(struct run *r)
{
	free(r->buf);
	r->buf = NULL;
}

static void opts_small(struct gen_options *opts, uint32_t customers, uint32_t days,
                       int32_t interval_s)
{
	gen_options_init(opts);
	opts->customers = customers;
	opts->days = days;
	opts->interval_s = interval_s;
}

/* Calls fn(line, len, arg) for every line (without its '\n'); returns the line count. */
static size_t each_line(const struct run *r, void (*fn)(const char *, size_t, void *), void *arg)
{
	size_t n = 0, pos = 0;
	while (pos < r->len) {
		const char *line = r->buf + pos;
		const char *nl = memchr(line, '\n', r->len - pos);
		cr_assert_not_null(nl, "output does not end with a newline");
		if (fn)
			fn(line, (size_t)(nl - line), arg);
		pos = (size_t)(nl - r->buf) + 1;
		n++;
	}
	return n;
}

/* Whether needle occurs in [hay, hay + len). */
static int contains(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= len; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
			return 1;
	return 0;
}

/* ---- an independent contract checker ---------------------------------------------------- */

static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int two(const char *s)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* "YYYY-MM-DD" -> days since 1970-01-01, or INT64_MIN. */
static int64_t parse_date(const char *s, size_t len)
{
	if (len != 10 || s[4] != '-' || s[7] != '-')
		return INT64_MIN;
	int hi = two(s), lo = two(s + 2), m = two(s + 5), d = two(s + 8);
	if (hi < 0 || lo < 0 || m < 1 || m > 12 || d < 1)
		return INT64_MIN;
	int y = hi * 100 + lo;
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[m - 1] + (m == 2 && leap))
		return INT64_MIN;
	return days_from_civil(y, m, d);
}

/* RFC 3339 with a mandatory offset and no fraction (what the generator writes) -> Unix
 * seconds, or INT64_MIN. */
static int64_t parse_ts(const char *s, size_t len, int *offset_s)
{
	if (len < 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':')
		return INT64_MIN;
	int64_t day = parse_date(s, 10);
	int hh = two(s + 11), mi = two(s + 14), ss = two(s + 17);
	if (day == INT64_MIN || hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 59)
		return INT64_MIN;
	int off;
	if (len == 20 && s[19] == 'Z') {
		off = 0;
	} else if (len == 25 && (s[19] == '+' || s[19] == '-') && s[22] == ':') {
		int oh = two(s + 20), om = two(s + 23);
		if (oh < 0 || oh > 14 || om < 0 || om > 59)
			return INT64_MIN;
		off = (s[19] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
	} else {
		return INT64_MIN;
	}
	if (offset_s)
		*offset_s = off;
	return day * 86400 + hh * 3600 + mi * 60 + ss - off;
}

enum fkind { F_STR, F_NUM, F_INT, F_TS, F_DATE };

struct fspec {
	const char *name;
	enum fkind kind;
	int required;
};

struct tspec {
	const char *type;
	struct fspec fields[12];
};

static const struct tspec contract[] = {
	{"meter_reading", {{"customer_id", F_STR, 1}, {"meter_id", F_STR, 1}, {"kwh", F_NUM, 1},
	                   {"interval_s", F_INT, 1}, {"voltage", F_NUM, 0}, {"current", F_NUM, 0},
	                   {"power_factor", F_NUM, 0}, {"reverse_kwh", F_NUM, 0}}},
	{"meter_event", {{"customer_id", F_STR, 1}, {"meter_id", F_STR, 1}, {"code", F_STR, 1}}},
	{"bill", {{"customer_id", F_STR, 1}, {"bill_id", F_STR, 1}, {"amount", F_NUM, 1},
	          {"due_date", F_DATE, 1}, {"period_kwh", F_NUM, 0}}},
	{"payment", {{"customer_id", F_STR, 1}, {"amount", F_NUM, 1}, {"bill_id", F_STR, 0},
	             {"channel", F_STR, 0}}},
	{"payment_reversal", {{"customer_id", F_STR, 1}, {"amount", F_NUM, 1},
	                      {"payment_event_id", F_STR, 1}, {"reason", F_STR, 0}}},
	{"customer", {{"customer_id", F_STR, 1}, {"segment", F_STR, 1},
	              {"transformer_id", F_STR, 1}, {"tariff", F_STR, 0}, {"capacity_kw", F_NUM, 0},
	              {"since", F_DATE, 0}}},
	{"transformer_reading", {{"transformer_id", F_STR, 1}, {"kwh", F_NUM, 1},
	                         {"interval_s", F_INT, 1}}},
};

#define MAX_CUSTOMERS 5000

/* What the checker learned from profiles, for the capacity check. */
struct checker {
	double capacity_kw[MAX_CUSTOMERS + 1];
};

static const struct tspec *find_type(const char *type)
{
	for (size_t i = 0; i < sizeof(contract) / sizeof(contract[0]); i++)
		if (strcmp(contract[i].type, type) == 0)
			return &contract[i];
	return NULL;
}

static int in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

static long customer_number(const char *id)
{
	if (!id || id[0] != 'C' || strlen(id) < 7)
		return -1;
	char *end;
	long n = strtol(id + 1, &end, 10);
	return *end || n < 1 || n > MAX_CUSTOMERS ? -1 : n;
}

/* Returns NULL when the line is a valid event, else why not. On success *out (if not NULL)
 * receives the parsed object (caller decrefs). */
static const char *contract_check(struct checker *ck, const char *line, size_t len, json_t **out)
{
	static const char *const segments[] = {"residential", "commercial", "industrial",
	                                       "agricultural", NULL};
	static const char *const codes[] = {"cover_open", "magnetic_interference", "reverse_flow",
	                                    "phase_loss", "clock_reset", "power_outage",
	                                    "meter_replaced", NULL};
	const char *why = NULL;
	json_error_t jerr;
	json_t *obj = NULL;

	if (len > 8192)
		return "oversized";
	obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj)
		return "not JSON (or invalid UTF-8)";
	if (!json_is_object(obj)) {
		why = "not an object";
		goto fail;
	}
	json_t *type = json_object_get(obj, "type");
	const struct tspec *spec = json_is_string(type) ? find_type(json_string_value(type)) : NULL;
	if (!spec) {
		why = "unknown type";
		goto fail;
	}
	const char *key;
	json_t *value;
	json_object_foreach(obj, key, value) {
		int known = !strcmp(key, "type") || !strcmp(key, "event_id") || !strcmp(key, "ts");
		for (const struct fspec *f = spec->fields; f->name && !known; f++)
			known = strcmp(f->name, key) == 0;
		if (!known) {
			why = "unknown field";
			goto fail;
		}
	}
	json_t *event_id = json_object_get(obj, "event_id");
	json_t *ts = json_object_get(obj, "ts");
	if (!json_is_string(event_id) || json_string_length(event_id) == 0 ||
	    json_string_length(event_id) > 128) {
		why = "event_id";
		goto fail;
	}
	if (!json_is_string(ts) ||
	    parse_ts(json_string_value(ts), json_string_length(ts), NULL) == INT64_MIN) {
		why = "ts";
		goto fail;
	}
	for (const struct fspec *f = spec->fields; f->name; f++) {
		json_t *v = json_object_get(obj, f->name);
		if (!v) {
			if (f->required) {
				why = "missing field";
				goto fail;
			}
			continue;
		}
		int ok = 0;
		switch (f->kind) {
		case F_STR: ok = json_is_string(v) && json_string_length(v) > 0 &&
		                 json_string_length(v) <= 63; break;
		case F_NUM: ok = json_is_number(v) && isfinite(json_number_value(v)); break;
		case F_INT: ok = json_is_integer(v); break;
		case F_TS: ok = json_is_string(v) &&
		                parse_ts(json_string_value(v), json_string_length(v), NULL) != INT64_MIN; break;
		case F_DATE: ok = json_is_string(v) &&
		                  parse_date(json_string_value(v), json_string_length(v)) != INT64_MIN; break;
		}
		if (!ok) {
			why = "field type";
			goto fail;
		}
	}
	const char *t = spec->type;
	double kwh = json_number_value(json_object_get(obj, "kwh"));
	double amount = json_number_value(json_object_get(obj, "amount"));
	if ((!strcmp(t, "meter_reading") || !strcmp(t, "transformer_reading")) && kwh < 0) {
		why = "negative kwh";
		goto fail;
	}
	if ((!strcmp(t, "payment") || !strcmp(t, "payment_reversal")) && !(amount > 0)) {
		why = "amount";
		goto fail;
	}
	if (!strcmp(t, "bill") && amount < 0) {
		why = "amount";
		goto fail;
	}
	if (!strcmp(t, "customer") &&
	    !in_list(json_string_value(json_object_get(obj, "segment")), segments)) {
		why = "segment";
		goto fail;
	}
	if (!strcmp(t, "meter_event") &&
	    !in_list(json_string_value(json_object_get(obj, "code")), codes)) {
		why = "code";
		goto fail;
	}
	if (!strcmp(t, "meter_reading") || !strcmp(t, "transformer_reading")) {
		json_int_t interval = json_integer_value(json_object_get(obj, "interval_s"));
		double max_kw = 2000.0; /* the detector's bound for an unknown profile */
		if (!strcmp(t, "meter_reading")) {
			long n = customer_number(json_string_value(json_object_get(obj, "customer_id")));
			if (n > 0 && ck->capacity_kw[n] > 0)
				max_kw = ck->capacity_kw[n];
		}
		if (interval < 1 || interval > 86400) {
			why = "interval_s";
			goto fail;
		}
		if (kwh > max_kw * (double)interval / 3600.0) {
			why = "kwh above capacity";
			goto fail;
		}
	}
	if (!strcmp(t, "customer")) {
		long n = customer_number(json_string_value(json_object_get(obj, "customer_id")));
		json_t *cap = json_object_get(obj, "capacity_kw");
		if (n > 0 && cap)
			ck->capacity_kw[n] = json_number_value(cap);
	}
	if (out)
		*out = obj;
	else
		json_decref(obj);
	return NULL;

fail:
	json_decref(obj);
	return why;
}

/* ---- determinism ---------------------------------------------------------------------- */

Test(gen, same_options_give_the_same_bytes)
{
	struct gen_options opts;
	struct run a, b, c;
	opts_small(&opts, 60, 3, 1800);
	opts.seed = 42;
	opts.bad_rate = 0.02;
	opts.dup_rate = 0.02;
	run_gen(&opts, &a);
	run_gen(&opts, &b);
	cr_assert_gt(a.len, 100000);
	cr_assert_eq(a.len, b.len);
	cr_assert(memcmp(a.buf, b.buf, a.len) == 0, "two runs with the same options differ");

	opts.seed = 43;
	run_gen(&opts, &c);
	cr_assert(a.len != c.len || memcmp(a.buf, c.buf, a.len) != 0,
	          "seeds 42 and 43 gave the same output");
	run_free(&a);
	run_free(&b);
	run_free(&c);
}

static void collect_c1(const char *line, size_t len, void *arg)
{
	FILE *f = arg;
	if (len > 60 && contains(line, len, "\"customer_id\":\"C000001\"") &&
	    contains(line, len, "\"meter_reading\""))
		fprintf(f, "%.*s\n", (int)len, line);
}

Test(gen, a_customer_does_not_depend_on_the_others)
{
	struct gen_options opts;
	struct run small, large;
	char *s_buf = NULL, *l_buf = NULL;
	size_t s_len = 0, l_len = 0;
	opts_small(&opts, 10, 4, 1800);
	run_gen(&opts, &small);
	opts.customers = 300;
	run_gen(&opts, &large);

	FILE *f = open_memstream(&s_buf, &s_len);
	each_line(&small, collect_c1, f);
	fclose(f);
	f = open_memstream(&l_buf, &l_len);
	each_line(&large, collect_c1, f);
	fclose(f);
	cr_assert_gt(s_len, 0);
	cr_assert_eq(s_len, l_len);
	cr_assert(memcmp(s_buf, l_buf, s_len) == 0,
	          "C000001's readings changed with the number of customers");
	free(s_buf);
	free(l_buf);
	run_free(&small);
	run_free(&large);
}

/* ---- counts and the contract ---------------------------------------------------------- */

struct counting {
	size_t by_type[8];
	size_t lines;
};

static const char *const type_order[] = {
	"meter_reading", "meter_event", "bill", "payment", "payment_reversal", "customer",
	"transformer_reading",
};

static void count_types(const char *line, size_t len, void *arg)
{
	struct counting *cnt = arg;
	json_t *obj = json_loadb(line, len, 0, NULL);
	cr_assert_not_null(obj, "line does not parse: %.*s", (int)len, line);
	const char *type = json_string_value(json_object_get(obj, "type"));
	cr_assert_not_null(type);
	size_t i = 0;
	while (i < 7 && strcmp(type_order[i], type) != 0)
		i++;
	cnt->by_type[i]++;
	cnt->lines++;
	json_decref(obj);
}

Test(gen, counts_by_type)
{
	struct gen_options opts;
	struct run r;
	struct counting cnt;
	opts_small(&opts, 37, 3, 3600);
	run_gen(&opts, &r);
	memset(&cnt, 0, sizeof(cnt));
	each_line(&r, count_types, &cnt);

	cr_assert_eq(r.stats.transformers, 1, "ceil(37 / 40) transformers");
	cr_assert_eq(cnt.by_type[0], 37 * 3 * 24, "one reading per customer per interval");
	cr_assert_eq(cnt.by_type[5], 37);
	cr_assert_eq(cnt.by_type[6], 1 * 3 * 24, "one transformer reading per interval");
	cr_assert_eq(cnt.by_type[7], 0, "no other types");
	for (int i = 0; i < 7; i++)
		cr_assert_eq(r.stats.events[i], cnt.by_type[i], "stats for %s", type_order[i]);
	cr_assert_eq(r.stats.lines, cnt.lines);
	cr_assert_eq(r.stats.bytes, r.len);
	cr_assert_eq(r.stats.bad_lines, 0);
	cr_assert_eq(r.stats.duplicates, 0);
	run_free(&r);

	opts_small(&opts, 81, 2, 900);
	opts.transformers = 5;
	run_gen(&opts, &r);
	cr_assert_eq(r.stats.events[EVENT_METER_READING], 81 * 2 * 96);
	cr_assert_eq(r.stats.events[EVENT_TRANSFORMER_READING], 5 * 2 * 96);
	run_free(&r);

	opts_small(&opts, 81, 1, 1800);
	run_gen(&opts, &r);
	cr_assert_eq(r.stats.transformers, 3, "ceil(81 / 40) transformers");
	run_free(&r);
}

struct walk {
	struct checker *ck;
	json_t *event_ids;      /* used as a set */
	json_t *bills;          /* bill_id -> bill object */
	json_t *payments;       /* event_id -> payment object */
	int64_t last_ts;
	size_t lines;
	size_t customers_seen;
	int readings_started;
	int32_t interval_s;
	size_t late, partial, reversals, quality;
};

static void walk_line(const char *line, size_t len, void *arg)
{
	struct walk *wk = arg;
	json_t *obj = NULL;
	const char *why = contract_check(wk->ck, line, len, &obj);
	cr_assert_null(why, "invalid line (%s): %.*s", why, (int)len, line);
	wk->lines++;

	const char *type = json_string_value(json_object_get(obj, "type"));
	const char *id = json_string_value(json_object_get(obj, "event_id"));
	const char *ts_s = json_string_value(json_object_get(obj, "ts"));
	cr_assert_null(json_object_get(wk->event_ids, id), "event_id %s repeats", id);
	json_object_set_new(wk->event_ids, id, json_true());

	int offset = 0;
	int64_t ts = parse_ts(ts_s, strlen(ts_s), &offset);
	cr_assert_eq(offset, 8 * 3600, "ts carries the +08:00 offset: %s", ts_s);
	cr_assert_geq(ts, wk->last_ts, "events out of time order at %s", id);
	wk->last_ts = ts;

	if (!strcmp(type, "customer")) {
		cr_assert_not(wk->readings_started, "profile after the first reading");
		wk->customers_seen++;
	} else {
		wk->readings_started = 1;
	}
	if (!strcmp(type, "meter_reading") || !strcmp(type, "transformer_reading")) {
		cr_assert_eq(json_integer_value(json_object_get(obj, "interval_s")), wk->interval_s);
		cr_assert_eq((ts + offset) % wk->interval_s, 0, "reading ts not on an interval: %s", ts_s);
		if (json_object_get(obj, "voltage")) {
			double v = json_number_value(json_object_get(obj, "voltage"));
			double pf = json_number_value(json_object_get(obj, "power_factor"));
			cr_assert(v > 190 && v < 250, "voltage %f", v);
			cr_assert(pf >= 0.5 && pf <= 1.0, "power factor %f", pf);
			wk->quality++;
		}
	}
	if (!strcmp(type, "bill")) {
		int64_t local_day = parse_date(ts_s, 10);
		const char *due = json_string_value(json_object_get(obj, "due_date"));
		cr_assert_eq(parse_date(due, strlen(due)), local_day + 15, "due date 15 days after %s",
		             ts_s);
		json_object_set(wk->bills, json_string_value(json_object_get(obj, "bill_id")), obj);
	}
	if (!strcmp(type, "payment")) {
		const char *bill_id = json_string_value(json_object_get(obj, "bill_id"));
		json_t *bill = json_object_get(wk->bills, bill_id);
		cr_assert_not_null(bill, "payment %s for an unseen bill %s", id, bill_id);
		cr_assert_str_eq(json_string_value(json_object_get(bill, "customer_id")),
		                 json_string_value(json_object_get(obj, "customer_id")));
		double bill_amount = json_number_value(json_object_get(bill, "amount"));
		double amount = json_number_value(json_object_get(obj, "amount"));
		cr_assert_leq(amount, bill_amount + 0.001, "payment above its bill");
		if (amount < bill_amount - 0.001)
			wk->partial++;
		const char *due = json_string_value(json_object_get(bill, "due_date"));
		if (parse_date(ts_s, 10) > parse_date(due, strlen(due)))
			wk->late++;
		json_object_set(wk->payments, id, obj);
	}
	if (!strcmp(type, "payment_reversal")) {
		const char *pid = json_string_value(json_object_get(obj, "payment_event_id"));
		json_t *pay = json_object_get(wk->payments, pid);
		cr_assert_not_null(pay, "reversal %s of an unseen payment %s", id, pid);
		cr_assert_str_eq(json_string_value(json_object_get(pay, "customer_id")),
		                 json_string_value(json_object_get(obj, "customer_id")));
		cr_assert_float_eq(json_number_value(json_object_get(pay, "amount")),
		                   json_number_value(json_object_get(obj, "amount")), 1e-9);
		wk->reversals++;
	}
	json_decref(obj);
}

/* Walks every line of r through the contract checker and the data set's promises (meter
 * and transformer readings every interval_s); wk keeps the counts. */
static void walk_run(const struct run *r, int32_t interval_s, struct walk *wk)
{
	struct checker *ck = calloc(1, sizeof(*ck));
	cr_assert_not_null(ck);
	memset(wk, 0, sizeof(*wk));
	wk->ck = ck;
	wk->event_ids = json_object();
	wk->bills = json_object();
	wk->payments = json_object();
	wk->interval_s = interval_s;
	wk->last_ts = INT64_MIN;
	each_line(r, walk_line, wk);
	json_decref(wk->event_ids);
	json_decref(wk->bills);
	json_decref(wk->payments);
	free(ck);
	wk->ck = NULL;
	wk->event_ids = wk->bills = wk->payments = NULL;
}

Test(gen, every_line_meets_the_contract, .timeout = 120)
{
	struct gen_options opts;
	struct run r;
	struct walk wk;
	opts_small(&opts, 300, 75, 3600);
	opts.seed = 7;
	run_gen(&opts, &r);

	walk_run(&r, opts.interval_s, &wk);

	cr_assert_eq(wk.customers_seen, 300);
	cr_assert_eq(wk.lines, r.stats.lines);
	/* 75 days: every customer's bill day comes at least twice */
	cr_assert_geq(r.stats.events[EVENT_BILL], 2 * 300);
	cr_assert_leq(r.stats.events[EVENT_BILL], 3 * 300);
	cr_assert_gt(r.stats.events[EVENT_PAYMENT], r.stats.events[EVENT_BILL] / 2);
	cr_assert_gt(wk.late, 0, "some payments are late");
	cr_assert_gt(wk.partial, 0, "some payments are partial");
	cr_assert_gt(wk.reversals, 0, "some payments are reversed");
	cr_assert_gt(wk.quality, 0, "some meters report voltage and power factor");
	cr_assert_gt(r.stats.events[EVENT_METER_EVENT], 0);
	run_free(&r);
}

Test(gen, utc_and_daily_readings)
{
	struct gen_options opts;
	struct run r;
	char errstr[128];
	char *argv[] = {"gen", "--customers", "20", "--days", "3", "--interval-s", "86400",
	                "--tz", "UTC", "--start=2026-03-30"};
	gen_options_init(&opts);
	cr_assert_eq(gen_options_parse(&opts, 10, argv, errstr, sizeof(errstr)), 0, "%s", errstr);
	run_gen(&opts, &r);
	cr_assert_eq(r.stats.events[EVENT_METER_READING], 20 * 3);
	cr_assert(contains(r.buf, r.len, "\"ts\":\"2026-03-30T00:00:00Z\""));
	cr_assert(contains(r.buf, r.len, "\"ts\":\"2026-04-01T00:00:00Z\""));
	cr_assert_not(contains(r.buf, r.len, "\"ts\":\"2026-04-02"), "only 3 days");
	cr_assert_not(contains(r.buf, r.len, "+08:00"));
	run_free(&r);
}

/* ---- transformer balance and bills against readings ------------------------------------ */

#define BAL_CUSTOMERS 120
#define BAL_TRANSFORMERS 4
#define BAL_SLOTS (2 * 48)

struct balance {
	int transformer_of[BAL_CUSTOMERS + 1];
	double sum[BAL_TRANSFORMERS][BAL_SLOTS];
	int count[BAL_TRANSFORMERS][BAL_SLOTS];
	int64_t start;
	int checked;
};

static void balance_line(const char *line, size_t len, void *arg)
{
	struct balance *b = arg;
	json_t *obj = json_loadb(line, len, 0, NULL);
	cr_assert_not_null(obj);
	const char *type = json_string_value(json_object_get(obj, "type"));
	const char *ts_s = json_string_value(json_object_get(obj, "ts"));
	int64_t slot = (parse_ts(ts_s, strlen(ts_s), NULL) - b->start) / 1800;
	if (!strcmp(type, "customer")) {
		long n = customer_number(json_string_value(json_object_get(obj, "customer_id")));
		const char *t = json_string_value(json_object_get(obj, "transformer_id"));
		cr_assert(n >= 1 && n <= BAL_CUSTOMERS);
		cr_assert_eq(t[0], 'T');
		b->transformer_of[n] = atoi(t + 1) - 1;
		cr_assert(b->transformer_of[n] >= 0 && b->transformer_of[n] < BAL_TRANSFORMERS);
	} else if (!strcmp(type, "meter_reading")) {
		long n = customer_number(json_string_value(json_object_get(obj, "customer_id")));
		b->sum[b->transformer_of[n]][slot] += json_number_value(json_object_get(obj, "kwh"));
		b->count[b->transformer_of[n]][slot]++;
	} else if (!strcmp(type, "transformer_reading")) {
		int t = atoi(json_string_value(json_object_get(obj, "transformer_id")) + 1) - 1;
		double kwh = json_number_value(json_object_get(obj, "kwh"));
		double s = b->sum[t][slot];
		cr_assert_gt(b->count[t][slot], 0, "transformer T%d has no customers", t + 1);
		/* loss 3-6% per area, +-0.5% per interval; readings rounded to 0.001 */
		cr_assert(kwh >= s * 1.025 - 0.001 && kwh <= s * 1.065 + 0.001,
		          "T%d slot %lld: %.3f against customers' %.3f (ratio %.4f)", t + 1,
		          (long long)slot, kwh, s, kwh / s);
		b->checked++;
	}
	json_decref(obj);
}

Test(gen, transformer_reads_its_customers_plus_loss)
{
	struct gen_options opts;
	struct run r;
	struct balance *b = calloc(1, sizeof(*b));
	opts_small(&opts, BAL_CUSTOMERS, 2, 1800);
	opts.transformers = BAL_TRANSFORMERS;
	run_gen(&opts, &r);
	b->start = parse_ts("2026-01-01T00:00:00+08:00", 25, NULL);
	each_line(&r, balance_line, b);
	cr_assert_eq(b->checked, BAL_TRANSFORMERS * BAL_SLOTS);
	free(b);
	run_free(&r);
}

#define BILL_CUSTOMERS 40
#define BILL_DAYS 75

struct billing {
	int64_t start_day;
	double day_kwh[BILL_CUSTOMERS + 1][BILL_DAYS];
	int64_t last_bill_day[BILL_CUSTOMERS + 1];
	int checked;
};

static void billing_line(const char *line, size_t len, void *arg)
{
	struct billing *b = arg;
	json_t *obj = json_loadb(line, len, 0, NULL);
	const char *type = json_string_value(json_object_get(obj, "type"));
	const char *ts_s = json_string_value(json_object_get(obj, "ts"));
	long n = customer_number(json_string_value(json_object_get(obj, "customer_id")));
	int64_t day = parse_date(ts_s, 10) - b->start_day; /* local day of the event */
	if (n < 0) {
		json_decref(obj);
		return; /* transformer readings */
	}
	if (!strcmp(type, "meter_reading")) {
		b->day_kwh[n][day] += json_number_value(json_object_get(obj, "kwh"));
	} else if (!strcmp(type, "bill")) {
		/* A bill covers the local days since the previous bill; the first one's period
		 * began before the data set, so only later ones can be summed here. */
		if (b->last_bill_day[n] >= 0) {
			double sum = 0.0;
			for (int64_t d = b->last_bill_day[n]; d < day; d++)
				sum += b->day_kwh[n][d];
			cr_assert_float_eq(json_number_value(json_object_get(obj, "period_kwh")), sum,
			                   0.0005 + 1e-9 * sum, "C%06ld bill on day %lld", n, (long long)day);
			cr_assert_geq(day - b->last_bill_day[n], 28);
			cr_assert_leq(day - b->last_bill_day[n], 31);
			b->checked++;
		}
		b->last_bill_day[n] = day;
	}
	json_decref(obj);
}

Test(gen, bills_charge_the_readings_since_the_last_bill)
{
	struct gen_options opts;
	struct run r;
	struct billing *b = calloc(1, sizeof(*b));
	opts_small(&opts, BILL_CUSTOMERS, BILL_DAYS, 1800);
	run_gen(&opts, &r);
	b->start_day = parse_date("2026-01-01", 10);
	for (int i = 0; i <= BILL_CUSTOMERS; i++)
		b->last_bill_day[i] = -1;
	each_line(&r, billing_line, b);
	cr_assert_geq(b->checked, BILL_CUSTOMERS, "every customer has a second bill in 75 days");
	free(b);
	run_free(&r);
}

/* ---- realism ------------------------------------------------------------------------ */

struct shape {
	char segment[MAX_CUSTOMERS + 1];  /* first letter of the segment */
	double res_hour[24];
	double com_weekday, com_weekend;
	int com_weekday_n, com_weekend_n;
	int segments[4];
};

static void shape_line(const char *line, size_t len, void *arg)
{
	struct shape *s = arg;
	json_t *obj = json_loadb(line, len, 0, NULL);
	const char *type = json_string_value(json_object_get(obj, "type"));
	long n = customer_number(json_string_value(json_object_get(obj, "customer_id")));
	if (n < 0) {
		json_decref(obj);
		return; /* transformer readings */
	}
	if (!strcmp(type, "customer")) {
		const char *seg = json_string_value(json_object_get(obj, "segment"));
		s->segment[n] = seg[0];
		s->segments[seg[0] == 'r' ? 0 : seg[0] == 'c' ? 1 : seg[0] == 'i' ? 2 : 3]++;
	} else if (!strcmp(type, "meter_reading")) {
		const char *ts = json_string_value(json_object_get(obj, "ts"));
		int hour = two(ts + 11);
		double kwh = json_number_value(json_object_get(obj, "kwh"));
		int64_t day = parse_date(ts, 10);
		int dow = (int)((day % 7 + 11) % 7); /* 0 = Sunday */
		if (s->segment[n] == 'r')
			s->res_hour[hour] += kwh;
		if (s->segment[n] == 'c' && hour >= 10 && hour < 16) {
			if (dow == 0 || dow == 6) {
				s->com_weekend += kwh;
				s->com_weekend_n++;
			} else {
				s->com_weekday += kwh;
				s->com_weekday_n++;
			}
		}
	}
	json_decref(obj);
}

Test(gen, load_shapes_and_segment_mix_are_realistic)
{
	struct gen_options opts;
	struct run r;
	struct shape *s = calloc(1, sizeof(*s));
	opts_small(&opts, 2000, 7, 3600);
	run_gen(&opts, &r);
	each_line(&r, shape_line, s);

	double total = 2000.0;
	cr_assert(s->segments[0] / total > 0.80 && s->segments[0] / total < 0.90, "residential %d",
	          s->segments[0]);
	cr_assert(s->segments[1] / total > 0.07 && s->segments[1] / total < 0.13, "commercial %d",
	          s->segments[1]);
	cr_assert(s->segments[2] / total > 0.015 && s->segments[2] / total < 0.045, "industrial %d",
	          s->segments[2]);
	cr_assert(s->segments[3] / total > 0.01 && s->segments[3] / total < 0.035, "agricultural %d",
	          s->segments[3]);
	/* residential: evening peak well above the small hours, a morning bump */
	cr_assert_gt(s->res_hour[20], 3.0 * s->res_hour[3]);
	cr_assert_gt(s->res_hour[7], 1.5 * s->res_hour[3]);
	/* commercial: office hours on weekdays well above weekends */
	cr_assert_gt(s->com_weekday / s->com_weekday_n, 1.4 * (s->com_weekend / s->com_weekend_n));
	free(s);
	run_free(&r);
}

/* ---- invalid lines and duplicates -------------------------------------------------------- */

struct splitting {
	struct checker *ck;
	FILE *valid;           /* the valid lines, in order */
	size_t invalid;
	size_t invalid_without_key;
	const char *prev;
	size_t prev_len;
	size_t repeats;
};

static void split_line(const char *line, size_t len, void *arg)
{
	struct splitting *sp = arg;
	if (sp->prev && sp->prev_len == len && memcmp(sp->prev, line, len) == 0)
		sp->repeats++;
	sp->prev = line;
	sp->prev_len = len;
	if (contract_check(sp->ck, line, len, NULL) != NULL) {
		sp->invalid++;
		if (!contains(line, len, "\"customer_id\":\"C"))
			sp->invalid_without_key++;
		return;
	}
	fwrite(line, 1, len, sp->valid);
	fputc('\n', sp->valid);
}

/* Splits r into valid lines (returned, caller frees) and counts in *sp. */
static char *split_run(const struct run *r, struct splitting *sp, size_t *valid_len)
{
	char *buf = NULL;
	memset(sp, 0, sizeof(*sp));
	sp->ck = calloc(1, sizeof(*sp->ck));
	sp->valid = open_memstream(&buf, valid_len);
	each_line(r, split_line, sp);
	fclose(sp->valid);
	free(sp->ck);
	return buf;
}

Test(gen, bad_lines_are_invalid_and_leave_valid_lines_alone)
{
	struct gen_options opts;
	struct run clean, dirty;
	struct splitting sp;
	size_t valid_len;
	opts_small(&opts, 60, 5, 1800);
	run_gen(&opts, &clean);
	opts.bad_rate = 0.05;
	run_gen(&opts, &dirty);

	cr_assert_gt(dirty.stats.bad_lines, 500);
	for (int k = 0; k < GEN_BAD__COUNT; k++)
		cr_assert_gt(dirty.stats.bad_by_kind[k], 0, "no %s line",
		             gen_bad_kind_name((enum gen_bad_kind)k));
	char *valid = split_run(&dirty, &sp, &valid_len);
	cr_assert_eq(sp.invalid, dirty.stats.bad_lines, "every bad line and only those fail the contract");
	cr_assert_eq(sp.invalid_without_key, 0, "every bad line names a customer_id");
	cr_assert_eq(valid_len, clean.len);
	cr_assert(memcmp(valid, clean.buf, valid_len) == 0, "valid lines changed with --bad-rate");
	for (int i = 0; i < EVENT_TYPE__COUNT; i++)
		cr_assert_eq(dirty.stats.events[i], clean.stats.events[i]);
	free(valid);

	/* a clean run has no invalid line at all */
	free(split_run(&clean, &sp, &valid_len));
	cr_assert_eq(sp.invalid, 0);
	run_free(&clean);
	run_free(&dirty);
}

static void dedupe_line(const char *line, size_t len, void *arg)
{
	struct splitting *sp = arg;
	if (sp->prev && sp->prev_len == len && memcmp(sp->prev, line, len) == 0) {
		sp->repeats++;
	} else {
		fwrite(line, 1, len, sp->valid);
		fputc('\n', sp->valid);
	}
	sp->prev = line;
	sp->prev_len = len;
}

Test(gen, duplicates_are_exact_copies_in_a_row)
{
	struct gen_options opts;
	struct run clean, dup;
	struct splitting sp;
	char *deduped = NULL;
	size_t deduped_len = 0;
	opts_small(&opts, 60, 5, 1800);
	run_gen(&opts, &clean);
	opts.dup_rate = 0.1;
	run_gen(&opts, &dup);

	cr_assert_gt(dup.stats.duplicates, 1000);
	memset(&sp, 0, sizeof(sp));
	sp.valid = open_memstream(&deduped, &deduped_len);
	each_line(&dup, dedupe_line, &sp);
	fclose(sp.valid);
	cr_assert_eq(sp.repeats, dup.stats.duplicates);
	cr_assert_eq(dup.stats.lines, clean.stats.lines + dup.stats.duplicates);
	cr_assert_eq(deduped_len, clean.len);
	cr_assert(memcmp(deduped, clean.buf, clean.len) == 0, "duplicates are not exact copies");
	free(deduped);
	run_free(&clean);
	run_free(&dup);
}

Test(gen, duplicates_and_bad_lines_together)
{
	struct gen_options opts;
	struct run clean, both, valid;
	struct splitting sp;
	char *deduped = NULL;
	size_t deduped_len = 0;
	opts_small(&opts, 30, 3, 1800);
	run_gen(&opts, &clean);
	opts.dup_rate = 0.05;
	opts.bad_rate = 0.05;
	run_gen(&opts, &both);
	cr_assert_gt(both.stats.duplicates, 0);
	cr_assert_gt(both.stats.bad_lines, 0);
	cr_assert_eq(both.stats.lines,
	             clean.stats.lines + both.stats.duplicates + both.stats.bad_lines);

	/* drop the invalid lines, then the repeats: what is left is the clean run */
	memset(&valid, 0, sizeof(valid));
	valid.buf = split_run(&both, &sp, &valid.len);
	cr_assert_eq(sp.invalid, both.stats.bad_lines);
	memset(&sp, 0, sizeof(sp));
	sp.valid = open_memstream(&deduped, &deduped_len);
	each_line(&valid, dedupe_line, &sp);
	fclose(sp.valid);
	cr_assert_eq(sp.repeats, both.stats.duplicates);
	cr_assert_eq(deduped_len, clean.len);
	cr_assert(memcmp(deduped, clean.buf, clean.len) == 0);
	free(deduped);
	run_free(&valid);
	run_free(&clean);
	run_free(&both);
}

/* ---- options and errors ---------------------------------------------------------------- */

static int parse(struct gen_options *opts, int argc, char **argv, char *errstr, size_t size)
{
	gen_options_init(opts);
	return gen_options_parse(opts, argc, argv, errstr, size);
}

Test(gen, options_defaults_and_parsing)
{
	struct gen_options opts;
	char errstr[256];
	char *none[] = {"gen"};
	cr_assert_eq(parse(&opts, 1, none, errstr, sizeof(errstr)), 0);
	cr_assert_eq(opts.customers, 1000);
	cr_assert_eq(opts.days, 30);
	cr_assert_eq(opts.seed, 1);
	cr_assert_eq(opts.interval_s, 1800);
	cr_assert_eq(opts.tz_offset_s, 8 * 3600);
	cr_assert_eq(opts.transformers, 0);
	cr_assert_eq(opts.bad_rate, 0.0);
	cr_assert_eq(opts.dup_rate, 0.0);
	cr_assert_eq(opts.start_day, parse_date("2026-01-01", 10));

	char *all[] = {"gen", "--customers", "12", "--days=4", "--seed", "18446744073709551615",
	               "--start", "2024-02-29", "--interval-s", "900", "--tz", "-05:30",
	               "--bad-rate", "0.25", "--dup-rate=1", "--transformers", "3"};
	cr_assert_eq(parse(&opts, 17, all, errstr, sizeof(errstr)), 0, "%s", errstr);
	cr_assert_eq(opts.customers, 12);
	cr_assert_eq(opts.days, 4);
	cr_assert_eq(opts.seed, UINT64_MAX);
	cr_assert_eq(opts.start_day, parse_date("2024-02-29", 10));
	cr_assert_eq(opts.interval_s, 900);
	cr_assert_eq(opts.tz_offset_s, -(5 * 3600 + 1800));
	cr_assert_eq(opts.bad_rate, 0.25);
	cr_assert_eq(opts.dup_rate, 1.0);
	cr_assert_eq(opts.transformers, 3);

	cr_assert_eq(opts.theft_rate, 0.0);
	cr_assert_null(opts.labels_path);

	char *labelled[] = {"gen", "--theft-rate", "0.1", "--labels=truth.csv"};
	cr_assert_eq(parse(&opts, 4, labelled, errstr, sizeof(errstr)), 0, "%s", errstr);
	cr_assert_eq(opts.theft_rate, 0.1);
	cr_assert_eq(gen_confounder_rate(&opts), 0.1, "defaults to the theft rate");
	cr_assert_str_eq(opts.labels_path, "truth.csv");
	char *own[] = {"gen", "--theft-rate", "0.1", "--confounder-rate", "0"};
	cr_assert_eq(parse(&opts, 5, own, errstr, sizeof(errstr)), 0, "%s", errstr);
	cr_assert_eq(gen_confounder_rate(&opts), 0.0);

	char *help[] = {"gen", "--help"};
	cr_assert_eq(parse(&opts, 2, help, errstr, sizeof(errstr)), 0);
	cr_assert_eq(opts.help, 1);
}

/* Options that gen_options_parse refuses, and the start of the message it must give. */
struct option_case {
	int argc;
	char *argv[6];
	const char *expect;
};

static void expect_option_errors(const struct option_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct gen_options opts;
		char errstr[256] = "";
		int err = parse(&opts, cases[i].argc, (char **)cases[i].argv, errstr, sizeof(errstr));
		cr_assert_lt(err, 0, "case %zu accepted", i);
		cr_assert(strncmp(errstr, cases[i].expect, strlen(cases[i].expect)) == 0,
		          "case %zu: got '%s', want '%s...'", i, errstr, cases[i].expect);
	}
}

Test(gen, options_errors_name_the_option)
{
	static const struct option_case cases[] = {
		{3, {"gen", "--interval-s", "7000"}, "--interval-s 7000: must divide 86400"},
		{3, {"gen", "--interval-s", "30"}, "--interval-s 30"},
		{3, {"gen", "--interval-s", "172800"}, "--interval-s: must divide 86400"},
		{3, {"gen", "--tz", "Europe/Paris"}, "--tz 'Europe/Paris': unknown"},
		{3, {"gen", "--start", "2026-02-30"}, "--start '2026-02-30'"},
		{3, {"gen", "--customers", "0"}, "--customers 0"},
		{3, {"gen", "--customers", "-5"}, "--customers '-5'"},
		{3, {"gen", "--bad-rate", "1.5"}, "--bad-rate '1.5'"},
		{3, {"gen", "--transformers", "0"}, "--transformers 0"},
		{3, {"gen", "--theft-rate", "1.5"}, "--theft-rate '1.5': must be a number 0 .. 1"},
		{3, {"gen", "--confounder-rate", "x"}, "--confounder-rate 'x'"},
		{3, {"gen", "--theft-rate", "0.6"}, "--theft-rate 0.6 plus --confounder-rate 0.6"},
		{5, {"gen", "--theft-rate", "0.6", "--confounder-rate", "0.5"}, "--theft-rate 0.6 plus"},
		{3, {"gen", "--labels", ""}, "--labels: missing file name"},
		{2, {"gen", "--labels"}, "--labels: missing value"},
		{2, {"gen", "--days"}, "--days: missing value"},
		{3, {"gen", "--colour", "red"}, "unknown option '--colour'"},
		{2, {"gen", "--colour"}, "unknown option '--colour'"},
		{2, {"gen", "extra"}, "unexpected argument 'extra'"},
	};
	expect_option_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

Test(gen, gen_write_checks_options_and_reports_write_errors)
{
	struct gen_options opts;
	struct gen_stats stats;
	char errstr[256] = "";
	FILE *f = tmpfile();
	opts_small(&opts, 5, 1, 7000);
	cr_assert_eq(gen_write(&opts, f, &stats, errstr, sizeof(errstr)), RISKD_ERR_RANGE);
	cr_assert_eq(ftell(f), 0, "nothing written for bad options");
	fclose(f);

	FILE *full = fopen("/dev/full", "w");
	cr_assert_not_null(full);
	opts_small(&opts, 50, 2, 1800);
	cr_assert_eq(gen_write(&opts, full, &stats, errstr, sizeof(errstr)), RISKD_ERR_IO);
	cr_assert(strstr(errstr, "writing output") != NULL, "%s", errstr);
	fclose(full);
}

Test(gen, gen_main_exit_status)
{
	char *bad[] = {"gen", "--interval-s", "7"};
	cr_assert_eq(gen_main(3, bad), 2);
	char *unknown[] = {"gen", "--nope"};
	cr_assert_eq(gen_main(2, unknown), 2);
	char *help[] = {"gen", "-h"};
	cr_assert_eq(gen_main(2, help), 0);
}

/* ---- labelled patterns (--theft-rate) --------------------------------------------------- */

/*
 * Each customer's meter readings (milli-kWh, reverse energy, meter id), meter events and
 * the transformer readings of one run, read straight off the generator's fixed formatting.
 */
#define PAT_CUSTOMERS 400
#define PAT_DAYS 60
#define PAT_SLOTS (PAT_DAYS * 24)
#define PAT_TRANSFORMERS 10
#define PAT_EVENTS 8

struct grid {
	int64_t start;                                  /* Unix seconds of slot 0 */
	int32_t kwh[PAT_CUSTOMERS + 1][PAT_SLOTS];      /* metered milli-kWh */
	int32_t reverse[PAT_CUSTOMERS + 1][PAT_SLOTS];  /* reverse milli-kWh, -1 = absent */
	uint8_t new_meter[PAT_CUSTOMERS + 1][PAT_SLOTS];
	int64_t transformer[PAT_TRANSFORMERS][PAT_SLOTS];
	int n_events[PAT_CUSTOMERS + 1];
	struct {
		int64_t ts;
		char code[32];
		int new_meter;
	} events[PAT_CUSTOMERS + 1][PAT_EVENTS];
};

/* Pointer just after "name": in the line, or NULL. */
static const char *field(const char *line, size_t len, const char *name)
{
	char key[40];
	int n = snprintf(key, sizeof(key), "\"%s\":", name);
	for (size_t i = 0; i + (size_t)n <= len; i++)
		if (line[i] == '"' && memcmp(line + i, key, (size_t)n) == 0)
			return line + i + n;
	return NULL;
}

static int32_t milli_at(const char *p)
{
	return (int32_t)llround(strtod(p, NULL) * 1000.0);
}

static void grid_line(const char *line, size_t len, void *arg)
{
	struct grid *g = arg;
	const char *ts_s = field(line, len, "ts");
	cr_assert_not_null(ts_s);
	int64_t ts = parse_ts(ts_s + 1, 25, NULL);
	int64_t slot = (ts - g->start) / 3600;
	if (contains(line, 40, "\"meter_reading\"")) {
		long c = strtol(field(line, len, "customer_id") + 2, NULL, 10);
		const char *rev = field(line, len, "reverse_kwh");
		const char *meter = field(line, len, "meter_id");
		g->kwh[c][slot] = milli_at(field(line, len, "kwh"));
		g->reverse[c][slot] = rev ? milli_at(rev) : -1;
		g->new_meter[c][slot] = meter[8] == '-';
		if (g->new_meter[c][slot])
			cr_assert(memcmp(meter + 8, "-2\"", 3) == 0, "%.*s", (int)len, line);
	} else if (contains(line, 40, "\"transformer_reading\"")) {
		long t = strtol(field(line, len, "transformer_id") + 2, NULL, 10) - 1;
		g->transformer[t][slot] = milli_at(field(line, len, "kwh"));
	} else if (contains(line, 40, "\"meter_event\"")) {
		long c = strtol(field(line, len, "customer_id") + 2, NULL, 10);
		const char *code = field(line, len, "code") + 1;
		int k = g->n_events[c]++;
		cr_assert_lt(k, PAT_EVENTS);
		g->events[c][k].ts = ts;
		snprintf(g->events[c][k].code, sizeof(g->events[c][k].code), "%.*s",
		         (int)(strchr(code, '"') - code), code);
		g->events[c][k].new_meter = field(line, len, "meter_id")[8] == '-';
	}
}

static struct grid *grid_of(const struct gen_options *opts)
{
	struct run r;
	struct grid *g = calloc(1, sizeof(*g));
	cr_assert_not_null(g);
	g->start = (int64_t)opts->start_day * 86400 - 8 * 3600;
	run_gen(opts, &r);
	each_line(&r, grid_line, g);
	run_free(&r);
	return g;
}

static void opts_labelled(struct gen_options *opts, double theft, double confounder)
{
	opts_small(opts, PAT_CUSTOMERS, PAT_DAYS, 3600);
	opts->seed = 11;
	opts->transformers = PAT_TRANSFORMERS;
	opts->theft_rate = theft;
	opts->confounder_rate = confounder;
	opts->confounder_rate_set = 1;
}

static int64_t day_sum(const int32_t *slots, int day)
{
	int64_t sum = 0;
	for (int h = 0; h < 24; h++)
		sum += slots[day * 24 + h];
	return sum;
}

/* Checks customer c's labelled run l against its unlabelled run h (what flowed, since in h
 * the customer is honest). */
static void check_pattern(const struct grid *h, const struct grid *l, int c,
                          const struct gen_label *lab, const struct gen_options *opts)
{
	const int32_t *flow = h->kwh[c], *meter = l->kwh[c];
	int od = lab->onset_day - opts->start_day;
	cr_assert(od >= 21 && od <= PAT_DAYS - 14, "C%d onset day %d", c, od);
	for (int s = 0; s < od * 24; s++)
		cr_assert_eq(meter[s], flow[s], "C%d slot %d before the onset", c, s);
	for (int s = 0; s < PAT_SLOTS; s++)
		if (lab->pattern != GEN_PATTERN_METER_REVERSED || s < od * 24)
			cr_assert_eq(l->reverse[c][s], -1, "C%d: reverse_kwh only when reversed", c);

	switch (lab->pattern) {
	case GEN_PATTERN_CONSTANT_FRACTION: {
		int64_t a_sum = 0, f_sum = 0;
		for (int s = od * 24; s < PAT_SLOTS; s++) {
			a_sum += meter[s];
			f_sum += flow[s];
		}
		double a = (double)a_sum / f_sum;
		cr_assert(a >= 0.2 && a <= 0.8, "C%d reports %.3f", c, a);
		for (int s = od * 24; s < PAT_SLOTS; s++)
			cr_assert_leq(fabs(meter[s] - a * flow[s]), 1.0 + 0.003 * flow[s], "C%d slot %d", c,
			              s);
		break;
	}
	case GEN_PATTERN_RANDOM_FRACTION: {
		double lo = 9, hi = -9;
		for (int s = od * 24; s < PAT_SLOTS; s++) {
			if (flow[s] < 200)
				continue;
			double r = (double)meter[s] / flow[s];
			lo = r < lo ? r : lo;
			hi = r > hi ? r : hi;
		}
		cr_assert(lo >= 0.1 - 0.01 && hi <= 0.9 + 0.01 && hi - lo <= 0.5 + 0.02 &&
		          hi - lo > 0.3, "C%d: shares %.3f .. %.3f", c, lo, hi);
		break;
	}
	case GEN_PATTERN_PARTIAL_BYPASS: {
		int zero_hours = -1;
		for (int d = od; d < PAT_DAYS; d++) {
			int zeros = 0;
			for (int hh = 0; hh < 24; hh++) {
				int s = d * 24 + hh;
				if (flow[s] == 0)
					continue;
				cr_assert(meter[s] == 0 || meter[s] == flow[s], "C%d slot %d", c, s);
				zeros += meter[s] == 0;
				if (d > od)
					cr_assert_eq(meter[s] == 0, meter[s - 24] == 0 || flow[s - 24] == 0,
					             "C%d: the same hours every day", c);
			}
			if (zero_hours < 0)
				zero_hours = zeros;
		}
		cr_assert(zero_hours >= 3 && zero_hours <= 8, "C%d: %d hours bypassed", c, zero_hours);
		break;
	}
	case GEN_PATTERN_PEAK_CLIPPING: {
		int32_t cap = 0;
		int clipped = 0;
		for (int s = od * 24; s < PAT_SLOTS; s++)
			cap = meter[s] > cap ? meter[s] : cap;
		for (int s = od * 24; s < PAT_SLOTS; s++) {
			cr_assert_eq(meter[s], flow[s] < cap ? flow[s] : cap, "C%d slot %d", c, s);
			clipped += flow[s] > cap;
		}
		cr_assert_gt(clipped, 10, "C%d: the cap bites", c);
		break;
	}
	case GEN_PATTERN_SLOW_RAMP: {
		double prev = 1.0;
		for (int d = od; d < PAT_DAYS; d++) {
			double r = (double)day_sum(meter, d) / day_sum(flow, d);
			cr_assert(r <= prev + 0.002 && r >= 0.3 - 0.002, "C%d day %d: %.4f", c, d, r);
			prev = r;
		}
		double first = (double)day_sum(meter, od) / day_sum(flow, od);
		cr_assert_gt(first, 0.97, "C%d starts gently", c);
		cr_assert_lt(prev, first - 0.1, "C%d ramps down", c);
		break;
	}
	case GEN_PATTERN_FULL_BYPASS: {
		int tamper = 0;
		for (int s = od * 24; s < PAT_SLOTS; s++)
			cr_assert_eq(meter[s], 0, "C%d slot %d", c, s);
		for (int k = 0; k < l->n_events[c]; k++) {
			int day = (int)((l->events[c][k].ts - l->start) / 86400);
			if ((!strcmp(l->events[c][k].code, "cover_open") ||
			     !strcmp(l->events[c][k].code, "magnetic_interference")) &&
			    day >= od - 2 && day <= od)
				tamper++;
		}
		cr_assert_eq(tamper, 1, "C%d: one tamper event near the onset", c);
		break;
	}
	case GEN_PATTERN_METER_REVERSED:
		for (int s = od * 24; s < PAT_SLOTS; s++) {
			cr_assert_eq(meter[s], 0, "C%d slot %d", c, s);
			cr_assert_eq(l->reverse[c][s], flow[s], "C%d slot %d: reverse = what flowed", c, s);
		}
		break;
	case GEN_PATTERN_VACANCY: {
		int d = od;
		while (d < PAT_DAYS && day_sum(meter, d) < 0.1 * day_sum(flow, d)) {
			double r = (double)day_sum(meter, d) / day_sum(flow, d);
			cr_assert(r >= 0.015 && r <= 0.085, "C%d day %d: %.4f", c, d, r);
			d++;
		}
		cr_assert(d - od >= 7 && (d - od <= 21), "C%d: %d days away", c, d - od);
		for (int s = d * 24; s < PAT_SLOTS; s++)
			cr_assert_eq(meter[s], flow[s], "C%d slot %d: back to normal", c, s);
		break;
	}
	case GEN_PATTERN_HOUSEHOLD_CHANGE: {
		for (int d = od; d < PAT_DAYS; d++) {
			double r = (double)day_sum(meter, d) / day_sum(flow, d);
			cr_assert((r >= 0.44 && r <= 0.71) || (r >= 1.35 && r <= 2.01), "C%d day %d: %.3f",
			          c, d, r);
		}
		break;
	}
	case GEN_PATTERN_SEASONAL_SWING: {
		/* 1 +- a (1 - cos(2 pi t / P)) / 2 with a 0.3-0.6, P 90-180 days: moving away from 1
		 * for the first 45 days, at least as fast as the gentlest swing (a 0.3, P 180) */
		double prev = 0.0;
		int last = 0;
		for (int d = od; d < PAT_DAYS && d < od + 45; d++) {
			double away = fabs((double)day_sum(meter, d) / day_sum(flow, d) - 1.0);
			cr_assert(away >= prev - 0.003 && away <= 0.61, "C%d day %d: %.4f", c, d, away);
			prev = away;
			last = d - od;
		}
		double gentlest = 0.3 * (1.0 - cos(2.0 * M_PI * last / 180.0)) / 2.0;
		cr_assert_geq(prev, gentlest - 0.003, "C%d swings: %.4f after %d days", c, prev, last);
		break;
	}
	case GEN_PATTERN_METER_REPLACED: {
		/* the new meter (M...-2) reports from the first hour starting at or after the swap,
		 * which begins 09:00-16:00; the 30-90 minutes without supply touch at most the hour
		 * before that one and the next; all else is what flowed */
		int first_new = -1, swapped = 0, replaced = 0;
		for (int s = 0; s < PAT_SLOTS; s++) {
			if (l->new_meter[c][s] && first_new < 0)
				first_new = s;
			if (first_new >= 0)
				cr_assert(l->new_meter[c][s], "C%d slot %d: still the new meter", c, s);
		}
		cr_assert(first_new >= od * 24 + 9 && first_new <= od * 24 + 16, "C%d: swap at %d", c,
		          first_new - od * 24);
		for (int s = od * 24; s < PAT_SLOTS; s++) {
			if (meter[s] == flow[s])
				continue;
			cr_assert(meter[s] < flow[s] && s >= first_new - 1 && s <= first_new + 1,
			          "C%d slot %d: %d against %d", c, s, meter[s], flow[s]);
			swapped++;
		}
		cr_assert(swapped >= 1 && swapped <= 3, "C%d: %d hours short", c, swapped);
		for (int k = 0; k < l->n_events[c]; k++)
			if (!strcmp(l->events[c][k].code, "meter_replaced")) {
				replaced++;
				cr_assert(l->events[c][k].new_meter, "announced by the new meter");
				cr_assert_eq((l->events[c][k].ts - l->start) / 86400, od);
			}
		cr_assert_eq(replaced, 1, "C%d", c);
		break;
	}
	default:
		cr_assert_fail("C%d: unexpected pattern %d", c, lab->pattern);
	}
}

/*
 * A labelled run against the unlabelled run of the same seed: honest customers are
 * untouched, every customer is untouched before its onset, and after it each pattern does
 * what docs/generator.md says. The labels (gen_label_of) name exactly the changed customers.
 */
Test(gen, labelled_patterns_do_what_they_say, .timeout = 120)
{
	struct gen_options honest, labelled;
	opts_labelled(&honest, 0.0, 0.0);
	opts_labelled(&labelled, 0.15, 0.15);
	struct grid *h = grid_of(&honest);
	struct grid *l = grid_of(&labelled);
	int seen[GEN_PATTERN__COUNT] = {0};

	for (int c = 1; c <= PAT_CUSTOMERS; c++) {
		struct gen_label lab, none;
		gen_label_of(&labelled, (uint32_t)(c - 1), &lab);
		gen_label_of(&honest, (uint32_t)(c - 1), &none);
		cr_assert_eq(none.pattern, GEN_PATTERN_NONE);
		cr_assert_eq(lab.customer, (uint32_t)(c - 1));
		seen[lab.pattern]++;
		if (lab.pattern == GEN_PATTERN_NONE) {
			cr_assert(memcmp(h->kwh[c], l->kwh[c], sizeof(h->kwh[c])) == 0, "C%d changed", c);
			cr_assert(memcmp(h->reverse[c], l->reverse[c], sizeof(h->reverse[c])) == 0);
			cr_assert_eq(h->n_events[c], l->n_events[c]);
			continue;
		}
		cr_assert_eq(lab.confounder, lab.pattern >= GEN_PATTERN_FIRST_CONFOUNDER);
		check_pattern(h, l, c, &lab, &labelled);
	}
	for (int p = 0; p < GEN_PATTERN_FIRST_FDI; p++)
		cr_assert_geq(seen[p], 3, "pattern %s: %d customers", gen_pattern_name(p), seen[p]);
	cr_assert(seen[GEN_PATTERN_NONE] > PAT_CUSTOMERS * 0.6 &&
	          seen[GEN_PATTERN_NONE] < PAT_CUSTOMERS * 0.8, "about 70%% honest");
	free(h);
	free(l);
}

/*
 * The stolen energy still flows through the transformer: with attacks only (no
 * confounders), every transformer reading is the same as in the unlabelled run, while the
 * meters of the thieves' areas report less, so those areas' losses rise above the 6.5%
 * technical maximum.
 */
Test(gen, stolen_energy_shows_in_the_transformer, .timeout = 120)
{
	struct gen_options honest, thieves;
	opts_labelled(&honest, 0.0, 0.0);
	opts_labelled(&thieves, 0.2, 0.0);
	struct grid *h = grid_of(&honest);
	struct grid *l = grid_of(&thieves);
	cr_assert(memcmp(h->transformer, l->transformer, sizeof(h->transformer)) == 0,
	          "the feeder delivers the same energy");

	/* area of each customer from the profiles: reuse the checker's loop over labels */
	int64_t metered[PAT_TRANSFORMERS] = {0}, fed[PAT_TRANSFORMERS] = {0};
	struct run r;
	run_gen(&thieves, &r);
	int transformer_of[PAT_CUSTOMERS + 1];
	const char *p = r.buf;
	for (int c = 1; c <= PAT_CUSTOMERS; c++) {
		const char *t = strstr(p, "\"transformer_id\":\"T");
		cr_assert_not_null(t);
		transformer_of[c] = atoi(t + 19) - 1;
		p = t + 1;
	}
	run_free(&r);
	int last_day_start = (PAT_DAYS - 7) * 24;
	for (int c = 1; c <= PAT_CUSTOMERS; c++)
		for (int s = last_day_start; s < PAT_SLOTS; s++)
			metered[transformer_of[c]] += l->kwh[c][s];
	for (int t = 0; t < PAT_TRANSFORMERS; t++)
		for (int s = last_day_start; s < PAT_SLOTS; s++)
			fed[t] += l->transformer[t][s];
	int lossy = 0;
	for (int t = 0; t < PAT_TRANSFORMERS; t++) {
		double loss = (double)fed[t] / metered[t] - 1.0;
		cr_assert_geq(loss, 0.025, "T%d", t + 1);
		lossy += loss > 0.065;
	}
	cr_assert_geq(lossy, PAT_TRANSFORMERS / 2, "thieves show up as losses in most areas");
	free(h);
	free(l);
}

/* The labels file: header, one row per labelled customer in customer order, the same rows
 * gen_label_of gives, about the requested shares, byte-identical on every run. */
Test(gen, labels_file)
{
	struct gen_options opts;
	char *a = NULL, *b = NULL;
	size_t a_len = 0, b_len = 0;
	char errstr[256];
	opts_small(&opts, 2000, 60, 1800);
	opts.theft_rate = 0.1;
	FILE *f = open_memstream(&a, &a_len);
	cr_assert_eq(gen_labels_write(&opts, f, errstr, sizeof(errstr)), 0, "%s", errstr);
	fclose(f);
	f = open_memstream(&b, &b_len);
	cr_assert_eq(gen_labels_write(&opts, f, errstr, sizeof(errstr)), 0, "%s", errstr);
	fclose(f);
	cr_assert(a_len == b_len && memcmp(a, b, a_len) == 0);

	const char *header = "customer_id,pattern,confounder,onset_day\n";
	cr_assert(strncmp(a, header, strlen(header)) == 0);
	int attacks = 0, confounders = 0, last = 0;
	char *save = NULL;
	for (char *row = strtok_r(a + strlen(header), "\n", &save); row;
	     row = strtok_r(NULL, "\n", &save)) {
		int c;
		char pattern[32], confounder[8], date[16];
		cr_assert_eq(sscanf(row, "C%6d,%31[^,],%7[^,],%15s", &c, pattern, confounder, date), 4,
		             "%s", row);
		cr_assert_gt(c, last, "customer order");
		last = c;
		struct gen_label lab;
		gen_label_of(&opts, (uint32_t)(c - 1), &lab);
		cr_assert_str_eq(pattern, gen_pattern_name(lab.pattern));
		cr_assert_str_eq(confounder, lab.confounder ? "true" : "false");
		cr_assert_eq(parse_date(date, strlen(date)), lab.onset_day);
		cr_assert(lab.onset_day >= opts.start_day + 21 && lab.onset_day <= opts.start_day + 46);
		attacks += !lab.confounder;
		confounders += lab.confounder;
	}
	int listed = attacks + confounders;
	for (uint32_t c = 0; c < opts.customers; c++) {
		struct gen_label lab;
		gen_label_of(&opts, c, &lab);
		listed -= lab.pattern != GEN_PATTERN_NONE;
	}
	cr_assert_eq(listed, 0, "every labelled customer is listed, no honest one");
	cr_assert(attacks > 150 && attacks < 250, "%d attacks of 2000 at 10%%", attacks);
	cr_assert(confounders > 150 && confounders < 250, "%d confounders", confounders);
	free(a);
	free(b);

	/* no rates: only the header */
	opts.theft_rate = 0.0;
	f = open_memstream(&a, &a_len);
	cr_assert_eq(gen_labels_write(&opts, f, errstr, sizeof(errstr)), 0);
	fclose(f);
	cr_assert_str_eq(a, header);
	free(a);
}

/* Every line of a labelled run still meets the event contract (reverse_kwh, new meter ids,
 * the extra meter events included). */
Test(gen, labelled_lines_meet_the_contract, .timeout = 120)
{
	struct gen_options opts;
	struct run r;
	struct walk wk;
	opts_small(&opts, 200, 45, 3600);
	opts.seed = 5;
	opts.theft_rate = 0.2;
	run_gen(&opts, &r);
	walk_run(&r, opts.interval_s, &wk);
	cr_assert_eq(wk.lines, r.stats.lines);
	cr_assert(contains(r.buf, r.len, "\"reverse_kwh\":"));
	cr_assert(contains(r.buf, r.len, "-2\",\"code\":\"meter_replaced\""));
	uint32_t labelled = 0;
	for (int p = GEN_PATTERN_FIRST_ATTACK; p < GEN_PATTERN__COUNT; p++)
		labelled += r.stats.patterns[p];
	cr_assert_eq(labelled + r.stats.patterns[GEN_PATTERN_NONE], 200);
	cr_assert(labelled > 50 && labelled < 110, "%u of 200 at 20%% + 20%%", labelled);
	run_free(&r);
}

/* ---- credit: payment distress, catch-up payments, credit labels, billing only ---------- */

Test(gen, credit_options)
{
	struct gen_options opts;
	char errstr[256];
	char *none[] = {"gen"};
	cr_assert_eq(parse(&opts, 1, none, errstr, sizeof(errstr)), 0);
	cr_assert_null(opts.credit_labels_path);
	cr_assert_eq(opts.billing_only, 0);
	cr_assert_eq(opts.distress_rate, 0.0);
	cr_assert_eq(opts.catch_up_rate, 0.0);

	char *all[] = {"gen", "--days", "400", "--credit-labels", "credit.csv", "--credit-as-of",
	               "2026-03-01", "--billing-only", "--distress-rate=0.1", "--catch-up-rate",
	               "0.9"};
	cr_assert_eq(parse(&opts, 11, all, errstr, sizeof(errstr)), 0, "%s", errstr);
	cr_assert_str_eq(opts.credit_labels_path, "credit.csv");
	cr_assert_eq(opts.credit_as_of, parse_date("2026-03-01", 10));
	cr_assert_eq(gen_credit_as_of(&opts), parse_date("2026-03-01", 10));
	cr_assert_eq(opts.billing_only, 1);
	cr_assert_eq(opts.distress_rate, 0.1);
	cr_assert_eq(opts.catch_up_rate, 0.9);

	char *dflt[] = {"gen", "--days", "400", "--credit-labels", "credit.csv"};
	cr_assert_eq(parse(&opts, 5, dflt, errstr, sizeof(errstr)), 0, "%s", errstr);
	/* last day 2027-02-04, minus 182 */
	cr_assert_eq(gen_credit_as_of(&opts), parse_date("2026-08-06", 10));

	static const struct {
		int argc;
		char *argv[8];
		const char *expect;
	} cases[] = {
		{3, {"gen", "--credit-labels", "x.csv"}, "--credit-labels: --days 30 is too short"},
		{7, {"gen", "--days", "400", "--credit-labels", "x.csv", "--credit-as-of", "2025-12-31"},
		 "--credit-as-of: must be 2026-01-01 .. 2026-08-06"},
		{7, {"gen", "--days", "400", "--credit-labels", "x.csv", "--credit-as-of", "2026-08-07"},
		 "--credit-as-of: must be 2026-01-01 .. 2026-08-06"},
		{3, {"gen", "--credit-as-of", "2026-02-01"}, "--credit-as-of: only used with"},
		{3, {"gen", "--credit-as-of", "soon"}, "--credit-as-of 'soon': not a date"},
		{3, {"gen", "--credit-labels", ""}, "--credit-labels: missing file name"},
		{2, {"gen", "--billing-only=1"}, "--billing-only takes no value"},
		{3, {"gen", "--distress-rate", "2"}, "--distress-rate '2': must be a number 0 .. 1"},
		{3, {"gen", "--catch-up-rate", "-1"}, "--catch-up-rate '-1'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		errstr[0] = '\0';
		int err = parse(&opts, cases[i].argc, (char **)cases[i].argv, errstr, sizeof(errstr));
		cr_assert_lt(err, 0, "case %zu accepted", i);
		cr_assert(strncmp(errstr, cases[i].expect, strlen(cases[i].expect)) == 0,
		          "case %zu: got '%s', want '%s...'", i, errstr, cases[i].expect);
	}
}

struct keep_billing {
	FILE *out;
};

static void keep_billing_line(const char *line, size_t len, void *arg)
{
	struct keep_billing *kb = arg;
	if (contains(line, len, "\"type\":\"meter_reading\"") ||
	    contains(line, len, "\"type\":\"transformer_reading\"") ||
	    contains(line, len, "\"type\":\"meter_event\""))
		return;
	fprintf(kb->out, "%.*s\n", (int)len, line);
}

Test(gen, billing_only_leaves_out_the_readings)
{
	struct gen_options opts;
	struct run full, billing;
	char *filtered = NULL;
	size_t filtered_len = 0;
	opts_small(&opts, 40, 70, 3600);
	opts.theft_rate = 0.1;
	opts.distress_rate = 0.3;
	opts.catch_up_rate = 0.5;
	run_gen(&opts, &full);
	opts.billing_only = 1;
	run_gen(&opts, &billing);
	struct keep_billing kb = {open_memstream(&filtered, &filtered_len)};
	each_line(&full, keep_billing_line, &kb);
	fclose(kb.out);
	cr_assert_eq(billing.stats.events[EVENT_METER_READING], 0);
	cr_assert_eq(billing.stats.events[EVENT_TRANSFORMER_READING], 0);
	cr_assert_eq(billing.stats.events[EVENT_METER_EVENT], 0);
	cr_assert_eq(billing.stats.events[EVENT_BILL], full.stats.events[EVENT_BILL]);
	cr_assert_gt(billing.stats.events[EVENT_PAYMENT], 0);
	cr_assert_eq(billing.len, filtered_len);
	cr_assert(memcmp(billing.buf, filtered, filtered_len) == 0,
	             "the billing-only run is the full run without the readings");
	free(filtered);
	run_free(&full);
	run_free(&billing);
}

/* Lines of one customer ("\"customer_id\":\"C000007\"") of a run, in order. */
struct one_customer {
	const char *key;
	FILE *out;
};

static void one_customer_line(const char *line, size_t len, void *arg)
{
	struct one_customer *oc = arg;
	if (contains(line, len, oc->key))
		fprintf(oc->out, "%.*s\n", (int)len, line);
}

static char *customer_lines(const struct run *r, uint32_t c, size_t *len)
{
	char key[64], *buf = NULL;
	snprintf(key, sizeof key, "\"customer_id\":\"C%06u\"", c + 1);
	struct one_customer oc = {key, open_memstream(&buf, len)};
	each_line(r, one_customer_line, &oc);
	fclose(oc.out);
	return buf;
}

static void run_credit(const struct gen_options *opts, struct run *r,
                       struct gen_credit_label *labels)
{
	char errstr[256] = "";
	memset(r, 0, sizeof(*r));
	FILE *f = open_memstream(&r->buf, &r->len);
	int err = gen_write_credit(opts, f, &r->stats, labels, errstr, sizeof(errstr));
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(err, 0, "gen_write_credit failed: %s", errstr);
}

/* Bills and payments of one customer's lines dated on or after day `from`. */
static void count_billing(char *lines, int32_t from, size_t *bills, size_t *payments)
{
	for (char *line = lines, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		char *ts = strstr(line, "\"ts\":\"");
		if (!ts || parse_date(ts + 6, 10) < from)
			continue;
		*bills += strstr(line, "\"type\":\"bill\"") != NULL;
		*payments += strstr(line, "\"type\":\"payment\"") != NULL;
	}
}

Test(gen, distress_touches_only_the_distressed, .timeout = 120)
{
	struct gen_options opts;
	struct run plain, distressed;
	opts_small(&opts, 300, 400, 86400);
	opts.billing_only = 1;
	opts.credit_labels_path = "unused";
	struct gen_credit_label *labels = calloc(opts.customers, sizeof(*labels));
	run_gen(&opts, &plain);
	opts.distress_rate = 0.3;
	run_credit(&opts, &distressed, labels);
	/* the labels do not change the output */
	struct run again;
	run_gen(&opts, &again);
	cr_assert(again.len == distressed.len && memcmp(again.buf, distressed.buf, again.len) == 0);
	run_free(&again);

	uint32_t n_distressed = 0;
	size_t bills_plain = 0, paid_plain = 0, bills_after = 0, paid_after = 0;
	for (uint32_t c = 0; c < opts.customers; c++) {
		size_t a_len, b_len;
		char *a = customer_lines(&plain, c, &a_len);
		char *b = customer_lines(&distressed, c, &b_len);
		if (!labels[c].distress_day) {
			cr_assert(a_len == b_len && memcmp(a, b, a_len) == 0,
			          "customer %u without distress changed", c + 1);
		} else {
			n_distressed++;
			cr_assert_geq(labels[c].distress_day, opts.start_day + 60);
			cr_assert_leq(labels[c].distress_day, opts.start_day + (int32_t)opts.days - 31);
			/* from the distress day on: payments per bill without and with distress */
			count_billing(a, labels[c].distress_day, &bills_plain, &paid_plain);
			count_billing(b, labels[c].distress_day, &bills_after, &paid_after);
		}
		free(a);
		free(b);
	}
	cr_assert(n_distressed > 40 && n_distressed < 150, "%u of 300 at 0.3", n_distressed);
	cr_assert_eq(bills_plain, bills_after, "distress changes payments, not bills");
	cr_assert_gt(bills_after, 200);
	double before = (double)paid_plain / (double)bills_plain;
	double after = (double)paid_after / (double)bills_after;
	cr_log_info("payments per bill after the distress day: %.2f without distress, %.2f with",
	            before, after);
	cr_assert_gt(before, 0.85);
	cr_assert_lt(after, 0.55);
	free(labels);
	run_free(&plain);
	run_free(&distressed);
}

/* Replays a run's billing lines through riskd's decoder and payment arithmetic, as
 * `riskctl scorecard features --outcome-days 182` does, and compares with the labels. */
struct replay {
	struct pay_state *pay;
	struct pay_outcome *outcome;
	int32_t *dpd_as_of;
	uint8_t *snapped;
	int32_t as_of;
	int32_t tz_offset_s;
	size_t events;
};

static void replay_line(const char *line, size_t len, void *arg)
{
	struct replay *rp = arg;
	struct event ev;
	char errstr[256];
	cr_assert_eq(event_decode(line, len, &ev, errstr, sizeof(errstr)), EVENT_REJECT_NONE, "%s",
	             errstr);
	if (ev.type != EVENT_BILL && ev.type != EVENT_PAYMENT && ev.type != EVENT_PAYMENT_REVERSAL)
		return;
	uint32_t c = (uint32_t)atoi(ev.entity_id + 1) - 1;
	int64_t t = ev.ts + rp->tz_offset_s;
	int32_t day = (int32_t)(t >= 0 ? t / 86400 : -((-t + 86399) / 86400));
	if (day > rp->as_of && !rp->snapped[c]) {
		rp->dpd_as_of[c] = payments_days_past_due(&rp->pay[c], rp->as_of);
		rp->snapped[c] = 1;
	}
	payments_outcome_before(&rp->outcome[c], &rp->pay[c], day);
	if (ev.type == EVENT_BILL)
		payments_bill(&rp->pay[c], ev.u.bill.bill_id, strlen(ev.u.bill.bill_id),
		              ev.u.bill.amount, ev.u.bill.due_date, day);
	else if (ev.type == EVENT_PAYMENT)
		payments_payment(&rp->pay[c], ev.u.payment.amount, ev.u.payment.bill_id,
		                 strlen(ev.u.payment.bill_id), day);
	else
		payments_reversal(&rp->pay[c], ev.u.reversal.amount, day);
	rp->events++;
}

Test(gen, credit_labels_are_what_the_events_say, .timeout = 120)
{
	struct gen_options opts;
	struct run r;
	opts_small(&opts, 600, 420, 86400);
	opts.seed = 5;
	opts.billing_only = 1;
	opts.distress_rate = 0.15;
	opts.catch_up_rate = 0.8;
	opts.credit_labels_path = "unused";
	struct gen_credit_label *labels = calloc(opts.customers, sizeof(*labels));
	run_credit(&opts, &r, labels);

	struct replay rp = {
		.pay = calloc(opts.customers, sizeof(struct pay_state)),
		.outcome = calloc(opts.customers, sizeof(struct pay_outcome)),
		.dpd_as_of = calloc(opts.customers, sizeof(int32_t)),
		.snapped = calloc(opts.customers, 1),
		.as_of = gen_credit_as_of(&opts),
		.tz_offset_s = opts.tz_offset_s,
	};
	for (uint32_t c = 0; c < opts.customers; c++)
		payments_outcome_init(&rp.outcome[c], rp.as_of, rp.as_of + GEN_CREDIT_WINDOW_DAYS,
		                      GEN_CREDIT_DPD);
	each_line(&r, replay_line, &rp);
	cr_assert_gt(rp.events, 10000);
	int counts[3] = {0, 0, 0};
	for (uint32_t c = 0; c < opts.customers; c++) {
		if (!rp.snapped[c])
			rp.dpd_as_of[c] = payments_days_past_due(&rp.pay[c], rp.as_of);
		payments_outcome_finish(&rp.outcome[c], &rp.pay[c]);
		int bad = rp.dpd_as_of[c] >= GEN_CREDIT_DPD ? -1 : rp.outcome[c].reached;
		cr_assert_eq(labels[c].dpd_as_of, rp.dpd_as_of[c], "C%06u", c + 1);
		cr_assert_eq(labels[c].bad, bad, "C%06u", c + 1);
		counts[bad + 1]++;
	}
	cr_log_info("already in default %d, bad %d, good %d", counts[0], counts[2], counts[1]);
	cr_assert_gt(counts[0], 10);
	cr_assert_gt(counts[2], 10);
	cr_assert_gt(counts[1], counts[2]);

	/* The file: header, one row per customer, bad empty when already in default. */
	char *text = NULL;
	size_t text_len = 0;
	char errstr[256];
	FILE *f = open_memstream(&text, &text_len);
	cr_assert_eq(gen_credit_labels_write(&opts, labels, f, errstr, sizeof(errstr)), 0);
	fclose(f);
	const char *header = "customer_id,segment,habit,distress_day,as_of,days_past_due,bad\n";
	cr_assert(strncmp(text, header, strlen(header)) == 0);
	size_t rows = 0;
	char *save = NULL;
	for (char *row = strtok_r(text + strlen(header), "\n", &save); row;
	     row = strtok_r(NULL, "\n", &save), rows++) {
		unsigned c;
		char segment[16], habit[16], rest[64];
		cr_assert_eq(sscanf(row, "C%6u,%15[^,],%15[^,],%63s", &c, segment, habit, rest), 4,
		             "%s", row);
		cr_assert_eq(c, rows + 1);
		const struct gen_credit_label *lab = &labels[c - 1];
		char expect[96], distress[16] = "", as_of[16];
		if (lab->distress_day)
			event_format_date(lab->distress_day, distress, sizeof(distress));
		event_format_date(rp.as_of, as_of, sizeof(as_of));
		snprintf(expect, sizeof(expect), "%s,%s,%d,%s", distress, as_of, (int)lab->dpd_as_of,
		         lab->bad < 0 ? "" : lab->bad ? "1" : "0");
		cr_assert_str_eq(strchr(strchr(strchr(row, ',') + 1, ',') + 1, ',') + 1, expect);
		cr_assert_str_eq(segment, segment_name((enum segment)lab->segment));
		cr_assert_str_eq(habit, gen_habit_name(lab->habit));
	}
	cr_assert_eq(rows, opts.customers);
	free(text);
	free(rp.pay);
	free(rp.outcome);
	free(rp.dpd_as_of);
	free(rp.snapped);
	free(labels);
	run_free(&r);
}

Test(gen, catch_up_pays_what_was_left_unpaid, .timeout = 120)
{
	struct gen_options opts;
	struct run without, with;
	opts_small(&opts, 400, 300, 86400);
	opts.billing_only = 1;
	run_gen(&opts, &without);
	opts.catch_up_rate = 1.0;
	run_gen(&opts, &with);
	uint64_t extra = with.stats.events[EVENT_PAYMENT] - without.stats.events[EVENT_PAYMENT];
	cr_assert_eq(with.stats.events[EVENT_BILL], without.stats.events[EVENT_BILL]);
	cr_log_info("%llu catch-up payments on %llu bills", (unsigned long long)extra,
	            (unsigned long long)with.stats.events[EVENT_BILL]);
	cr_assert_gt(extra, with.stats.events[EVENT_BILL] / 100, "partial and unpaid bills caught up");
	/* every line of the run without catch-up is still there, in order (the extra payments
	 * are added, nothing else changes) */
	size_t i = 0, j = 0, missing = 0;
	while (i < without.len) {
		const char *a = without.buf + i, *b = with.buf + j;
		size_t la = (size_t)((char *)memchr(a, '\n', without.len - i) - a);
		size_t lb = j < with.len ? (size_t)((char *)memchr(b, '\n', with.len - j) - b) : 0;
		if (j < with.len && la == lb && memcmp(a, b, la) == 0) {
			i += la + 1;
			j += lb + 1;
		} else if (j < with.len && contains(b, lb, "\"type\":\"payment")) {
			j += lb + 1; /* an added payment (or its reversal) */
		} else {
			missing++;
			i += la + 1;
		}
	}
	cr_assert_eq(missing, 0);
	run_free(&without);
	run_free(&with);
}

/* ---- transformer interval, loss models, observer-style sets ----------------------------- */

/* FNV-1a over the bytes of a run. */
static uint64_t digest(const char *buf, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)buf[i]) * 0x100000001b3ull;
	return h;
}

static void run_args(int argc, char **argv, struct gen_options *opts, struct run *r)
{
	char errstr[256] = "";
	gen_options_init(opts);
	cr_assert_eq(gen_options_parse(opts, argc, argv, errstr, sizeof(errstr)), 0, "%s", errstr);
	run_gen(opts, r);
}

/*
 * The default transformer interval and loss model leave the output as it was before they
 * existed: digests of what the generator of e9ecd94 wrote for the same options (riskctl gen
 * ... | the FNV-1a above), so the scorecard's figures cannot move.
 */
Test(gen, default_output_is_unchanged)
{
	static const struct {
		int argc;
		char *argv[14];
		uint64_t want;
	} cases[] = {
		{11, {"gen", "--customers", "80", "--days", "4", "--seed", "3", "--theft-rate", "0.2",
		      "--dup-rate=0.01", "--bad-rate=0.01"}, UINT64_C(8849945933296019737)},
		{9, {"gen", "--customers", "50", "--days", "3", "--seed", "4", "--interval-s", "3600"},
		 UINT64_C(8886187017143708074)},
		/* the defaults spelled out */
		{13, {"gen", "--customers", "80", "--days", "4", "--seed", "3", "--theft-rate", "0.2",
		      "--dup-rate=0.01", "--bad-rate=0.01", "--transformer-interval-s=1800",
		      "--loss-model=proportional"}, UINT64_C(8849945933296019737)},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gen_options opts;
		struct run r;
		run_args(cases[i].argc, (char **)cases[i].argv, &opts, &r);
		uint64_t got = digest(r.buf, r.len);
		cr_expect_eq(got, cases[i].want, "case %zu: digest %llu", i, (unsigned long long)got);
		run_free(&r);
	}
}

/* Transformer readings of an honest city, by area and transformer interval, next to the sum
 * of the meter readings they cover. */
#define TI_CUSTOMERS 120
#define TI_TRANSFORMERS 4
#define TI_DAYS 2
#define TI_LOSS_DAYS 14
#define TI_MAX_SLOTS (TI_LOSS_DAYS * 48)

struct interval_sums {
	int64_t start;
	int32_t transformer_s;
	int transformer_of[TI_CUSTOMERS + 1];
	int64_t metered[TI_TRANSFORMERS][TI_MAX_SLOTS];  /* milli-kWh by transformer interval */
	int64_t read[TI_TRANSFORMERS][TI_MAX_SLOTS];
	int readings;
	int64_t last_ts;
};

static void interval_line(const char *line, size_t len, void *arg)
{
	struct interval_sums *s = arg;
	const char *ts_s = field(line, len, "ts");
	int64_t ts = parse_ts(ts_s + 1, 25, NULL);
	cr_assert_geq(ts, s->last_ts, "ts order");
	s->last_ts = ts;
	int64_t k = (ts - s->start) / s->transformer_s;
	if (contains(line, 40, "\"customer\"")) {
		long c = strtol(field(line, len, "customer_id") + 2, NULL, 10);
		s->transformer_of[c] = atoi(field(line, len, "transformer_id") + 2) - 1;
	} else if (contains(line, 40, "\"meter_reading\"")) {
		long c = strtol(field(line, len, "customer_id") + 2, NULL, 10);
		s->metered[s->transformer_of[c]][k] += milli_at(field(line, len, "kwh"));
	} else if (contains(line, 40, "\"transformer_reading\"")) {
		int t = atoi(field(line, len, "transformer_id") + 2) - 1;
		cr_assert_eq(strtol(field(line, len, "interval_s"), NULL, 10), s->transformer_s);
		cr_assert_eq((ts - s->start) % s->transformer_s, 0, "on the transformer grid");
		cr_assert_eq(s->read[t][k], 0, "one reading per area and interval");
		s->read[t][k] = milli_at(field(line, len, "kwh"));
		s->readings++;
	}
}

static struct interval_sums *interval_sums_of(const struct gen_options *opts, struct run *r)
{
	struct interval_sums *s = calloc(1, sizeof(*s));
	cr_assert_not_null(s);
	s->start = (int64_t)opts->start_day * 86400 - 8 * 3600;
	s->transformer_s = gen_transformer_interval(opts);
	s->last_ts = INT64_MIN;
	run_gen(opts, r);
	each_line(r, interval_line, s);
	return s;
}

/* Lines of a run other than transformer readings. */
static char *without_transformers(const struct run *r, size_t *len)
{
	char *out = malloc(r->len + 1);
	size_t n = 0, pos = 0;
	while (pos < r->len) {
		const char *line = r->buf + pos;
		size_t l = (size_t)((const char *)memchr(line, '\n', r->len - pos) - line) + 1;
		if (!contains(line, 40, "\"transformer_reading\"")) {
			memcpy(out + n, line, l);
			n += l;
		}
		pos += l;
	}
	*len = n;
	return out;
}

/*
 * --transformer-interval-s: one reading per area and transformer interval, stamped at its
 * start and written with the first meter interval it covers (ts order holds), reading exactly
 * the covered meter intervals' energy times (1 + the proportional loss of that transformer
 * interval); everything else is the run at the meter interval, byte for byte.
 */
Test(gen, transformer_interval_sums_exactly)
{
	static const int32_t intervals[] = {7200, 86400};
	struct gen_options base;
	struct run plain;
	opts_small(&base, TI_CUSTOMERS, TI_DAYS, 1800);
	base.transformers = TI_TRANSFORMERS;
	run_gen(&base, &plain);
	size_t plain_len;
	char *plain_rest = without_transformers(&plain, &plain_len);

	for (size_t i = 0; i < sizeof(intervals) / sizeof(intervals[0]); i++) {
		struct gen_options opts = base;
		struct run r;
		struct gen_city city;
		opts.transformer_interval_s = intervals[i];
		struct interval_sums *s = interval_sums_of(&opts, &r);
		int32_t per_day = 86400 / intervals[i];
		cr_assert_eq(s->readings, TI_TRANSFORMERS * TI_DAYS * per_day);
		cr_assert_eq(r.stats.events[EVENT_TRANSFORMER_READING],
		             (uint64_t)(TI_TRANSFORMERS * TI_DAYS * per_day));
		gen_city_build(&city, &opts);
		for (int t = 0; t < TI_TRANSFORMERS; t++)
			for (int k = 0; k < TI_DAYS * per_day; k++) {
				int64_t interval_no = (int64_t)(opts.start_day + k / per_day) * per_day +
				                      k % per_day;
				double loss = gen_transformer_loss(&city, (uint32_t)t, interval_no);
				int64_t want = (int64_t)((double)s->metered[t][k] * (1.0 + loss) + 0.5);
				cr_assert_gt(s->metered[t][k], 0);
				cr_assert_eq(s->read[t][k], want, "%d s: T%d interval %d: %lld, want %lld",
				             intervals[i], t + 1, k, (long long)s->read[t][k], (long long)want);
			}
		gen_city_free(&city);
		size_t rest_len;
		char *rest = without_transformers(&r, &rest_len);
		cr_assert(rest_len == plain_len && memcmp(rest, plain_rest, rest_len) == 0,
		          "%d s: the other lines are those of the run at the meter interval", intervals[i]);
		free(rest);
		free(s);
		run_free(&r);
	}
	free(plain_rest);
	run_free(&plain);
}

/*
 * --loss-model load: each reading is the customers' energy plus no-load loss, plus load loss
 * growing with the square of the interval's mean power (times the day's temperature factor,
 * 0.95-1.05), plus metering noise of sd 0.3% of the energy, never beyond 3.47 sd; over the
 * run each area loses 2.5-7% (its calibration target is 3-6% on a typical day), and the whole
 * city within 3-6%.
 */
Test(gen, load_loss_model_rate_and_noise)
{
	struct gen_options opts;
	struct run r;
	struct gen_city city;
	opts_small(&opts, TI_CUSTOMERS, TI_LOSS_DAYS, 1800);
	opts.transformers = TI_TRANSFORMERS;
	opts.transformer_interval_s = 3600;
	opts.loss_model = GEN_LOSS_LOAD;
	struct interval_sums *s = interval_sums_of(&opts, &r);
	gen_city_build(&city, &opts);
	double noise_sum = 0, noise_sq = 0, all_loss = 0, all_energy = 0;
	int n = 0;
	for (int t = 0; t < TI_TRANSFORMERS; t++) {
		const struct gen_transformer *tr = &city.transformers[t];
		cr_assert(tr->loss_base >= 0.03 && tr->loss_base <= 0.06);
		cr_assert_gt(tr->no_load_kw, 0.0);
		cr_assert_gt(tr->load_per_kw, 0.0);
		double area_loss = 0, area_energy = 0;
		for (int k = 0; k < TI_LOSS_DAYS * 24; k++) {
			int32_t day = opts.start_day + k / 24;
			double kwh = (double)s->metered[t][k] / 1000.0;
			double loss = (double)(s->read[t][k] - s->metered[t][k]) / 1000.0;
			double factor = gen_loss_day_factor(&city, (uint32_t)t, day);
			cr_assert(factor >= 0.95 && factor <= 1.05, "day factor %f", factor);
			double model = tr->no_load_kw + factor * tr->load_per_kw * kwh * kwh;
			double noise = (loss - model) / kwh;
			cr_assert_leq(fabs(noise), 0.003 * 3.4642 + 0.0005 / kwh,
			              "T%d hour %d: noise %.5f of the energy", t + 1, k, noise);
			noise_sum += noise;
			noise_sq += noise * noise;
			n++;
			area_loss += loss;
			area_energy += kwh;
		}
		double rate = area_loss / area_energy;
		cr_log_info("T%d: loss %.4f (typical-day target %.4f, no-load %.2f kW)", t + 1, rate,
		            tr->loss_base, tr->no_load_kw);
		cr_assert(rate >= 0.025 && rate <= 0.07, "T%d loses %.4f", t + 1, rate);
		all_loss += area_loss;
		all_energy += area_energy;
	}
	double mean = noise_sum / n, sd = sqrt(noise_sq / n - mean * mean);
	cr_log_info("noise: mean %.5f, sd %.5f over %d readings", mean, sd, n);
	cr_assert_lt(fabs(mean), 0.001);
	/* at least as large as the proportional model's (uniform +-0.5%: sd 0.289%) */
	cr_assert(sd >= 0.0027 && sd <= 0.0033, "noise sd %.5f", sd);
	cr_assert(all_loss / all_energy >= 0.03 && all_loss / all_energy <= 0.06);
	gen_city_free(&city);
	free(s);
	run_free(&r);
}

/* What an observer-style set's thieves report against what flowed, interval by interval. */
static void check_fdi(const struct gen_city *city, const struct gen_customer *cust, int32_t day)
{
	struct gen_calendar cal;
	struct gen_day_plan plan;
	struct gen_reading reading[48];
	gen_calendar_make(&cal, day);
	gen_day_plan_make(city, cust, &cal, &plan);
	cr_assert_eq(city->slots, 48);
	for (int32_t slot = 0; slot < 48; slot++)
		gen_reading_make(city, cust, &plan, &cal, slot, &reading[slot]);
	int zeros = 0;
	for (int32_t slot = 0; slot < 48; slot++) {
		double flowed = (double)reading[slot].true_milli;
		double metered = (double)reading[slot].metered_milli;
		double mean = plan.day_kw * 1800 / 3.6;
		if (day < cust->onset_day) {
			cr_assert_eq(metered, flowed, "honest before the onset");
			continue;
		}
		switch (cust->pattern) {
		case GEN_PATTERN_FDI_SCALE:
			cr_assert(fabs(metered - cust->pattern_a * flowed) <= 0.5);
			cr_assert(cust->pattern_a >= 0.1 && cust->pattern_a <= 0.8);
			break;
		case GEN_PATTERN_FDI_ON_OFF:
			cr_assert(metered <= flowed);
			zeros += metered == 0.0 && flowed > 0.0;
			break;
		case GEN_PATTERN_FDI_SUBTRACT: {
			double cut = cust->pattern_a * 1800 / 3.6;
			cr_assert(fabs(metered - (flowed > cut ? flowed - cut : 0.0)) <= 0.5);
			break;
		}
		case GEN_PATTERN_FDI_RANDOM_SCALE:
			cr_assert(metered >= 0.1 * flowed - 0.5 && metered <= 0.8 * flowed + 0.5);
			break;
		case GEN_PATTERN_FDI_MEAN_RANDOM:
			cr_assert(metered >= 0.1 * mean - 0.5 && metered <= 0.8 * mean + 0.5);
			break;
		case GEN_PATTERN_FDI_REVERSE_DAY:
			cr_assert_eq(reading[slot].metered_milli, reading[47 - slot].true_milli);
			break;
		default:
			cr_assert_eq(metered, flowed, "honest");
			break;
		}
	}
	if (cust->pattern == GEN_PATTERN_FDI_ON_OFF && day >= cust->onset_day)
		cr_assert_geq(zeros, 6, "off for 4 hours or more (3 whole hours at least)");
}

/*
 * --observer-set: one area of 30 households at 30 minutes over 60 days with its transformer
 * meter, 5 thieves, each with a different false-data-injection attack, labelled; the attacks
 * do what docs/generator.md says from the onset on, and nothing before.
 */
Test(gen, observer_set_shape_and_labels)
{
	char *argv[] = {"gen", "--observer-set", "--seed", "3"};
	struct gen_options opts;
	struct run r;
	run_args(4, argv, &opts, &r);
	cr_assert_eq(opts.customers, 30);
	cr_assert_eq(opts.days, 60);
	cr_assert_eq(r.stats.customers, 30);
	cr_assert_eq(r.stats.transformers, 1);
	cr_assert_eq(r.stats.events[EVENT_CUSTOMER], 30);
	cr_assert_eq(r.stats.events[EVENT_METER_READING], 30u * 60 * 48);
	cr_assert_eq(r.stats.events[EVENT_TRANSFORMER_READING], 60u * 48);
	cr_assert_not(contains(r.buf, r.len, "\"transformer_id\":\"T0002\""));
	cr_assert_not(contains(r.buf, r.len, "\"segment\":\"commercial\""));
	cr_assert_not(contains(r.buf, r.len, "\"segment\":\"industrial\""));
	cr_assert_not(contains(r.buf, r.len, "\"segment\":\"agricultural\""));
	struct walk wk;
	walk_run(&r, opts.interval_s, &wk);
	cr_assert_eq(wk.lines, r.stats.lines, "every line meets the contract");

	char *labels = NULL;
	size_t labels_len = 0;
	char errstr[256];
	FILE *f = open_memstream(&labels, &labels_len);
	cr_assert_eq(gen_labels_write(&opts, f, errstr, sizeof(errstr)), 0, "%s", errstr);
	fclose(f);
	struct gen_city city;
	gen_city_build(&city, &opts);
	int seen[GEN_PATTERN__COUNT] = {0}, thieves = 0;
	for (uint32_t c = 0; c < opts.customers; c++) {
		struct gen_label lab;
		gen_label_of(&opts, c, &lab);
		const struct gen_customer *cust = &city.customers[c];
		cr_assert_eq(cust->pattern, lab.pattern);
		cr_assert_eq(cust->onset_day, lab.onset_day);
		cr_assert_eq(r.stats.patterns[lab.pattern] > 0, 1);
		if (lab.pattern == GEN_PATTERN_NONE)
			continue;
		thieves++;
		cr_assert_geq(lab.pattern, GEN_PATTERN_FIRST_FDI);
		cr_assert_not(lab.confounder);
		cr_assert_eq(seen[lab.pattern]++, 0, "each thief its own attack");
		cr_assert(lab.onset_day >= opts.start_day + 21 && lab.onset_day <= opts.start_day + 46);
		char row[64];
		snprintf(row, sizeof(row), "C%06u,%s,false,", c + 1, gen_pattern_name(lab.pattern));
		cr_assert(contains(labels, labels_len, row), "labels list %s", row);
		for (int32_t day = lab.onset_day - 1; day < lab.onset_day + 3; day++)
			check_fdi(&city, cust, day);
	}
	cr_assert_eq(thieves, GEN_OBSERVER_THIEVES);
	/* over seeds, every attack turns up */
	int any[GEN_PATTERN__COUNT] = {0};
	for (uint64_t seed = 1; seed <= 12; seed++) {
		opts.seed = seed;
		for (uint32_t c = 0; c < opts.customers; c++) {
			struct gen_label lab;
			gen_label_of(&opts, c, &lab);
			any[lab.pattern]++;
		}
	}
	for (int p = GEN_PATTERN_FIRST_FDI; p < GEN_PATTERN_FIRST_SILENT; p++)
		cr_assert_gt(any[p], 0, "%s never drawn", gen_pattern_name(p));
	gen_city_free(&city);
	free(labels);
	run_free(&r);
}

Test(gen, interval_loss_and_observer_options)
{
	static const struct option_case cases[] = {
		{3, {"gen", "--transformer-interval-s", "2700"},
		 "--transformer-interval-s 2700: must be a multiple of --interval-s (1800)"},
		{3, {"gen", "--transformer-interval-s", "12600"}, "--transformer-interval-s 12600"},
		{3, {"gen", "--transformer-interval-s", "0"}, "--transformer-interval-s: must be"},
		{3, {"gen", "--transformer-interval-s", "172800"}, "--transformer-interval-s: must be"},
		{3, {"gen", "--transformer-interval-s", "x"}, "--transformer-interval-s 'x'"},
		{5, {"gen", "--interval-s", "3600", "--transformer-interval-s", "1800"},
		 "--transformer-interval-s 1800: must be a multiple of --interval-s (3600)"},
		{3, {"gen", "--loss-model", "quadratic"}, "--loss-model 'quadratic': must be"},
		{4, {"gen", "--observer-set", "--theft-rate", "0.1"}, "--observer-set: its 5 thieves"},
		{4, {"gen", "--observer-set", "--customers", "9"}, "--observer-set: --customers 9"},
		{4, {"gen", "--observer-set", "--transformers", "2"}, "--observer-set: one area"},
		{2, {"gen", "--observer-set=yes"}, "--observer-set takes no value"},
	};
	expect_option_errors(cases, sizeof(cases) / sizeof(cases[0]));
	struct gen_options opts;
	char errstr[256];
	char *ok[] = {"gen", "--transformer-interval-s", "86400", "--loss-model", "load",
	              "--observer-set", "--days", "40"};
	cr_assert_eq(parse(&opts, 8, ok, errstr, sizeof(errstr)), 0, "%s", errstr);
	cr_assert_eq(gen_transformer_interval(&opts), 86400);
	cr_assert_eq(opts.loss_model, GEN_LOSS_LOAD);
	cr_assert_eq(opts.observer_set, 1);
	cr_assert_eq(opts.customers, 30);
	cr_assert_eq(opts.days, 40);
	char *none[] = {"gen"};
	cr_assert_eq(parse(&opts, 1, none, errstr, sizeof(errstr)), 0);
	cr_assert_eq(gen_transformer_interval(&opts), 1800, "the meter interval by default");
	cr_assert_eq(opts.loss_model, GEN_LOSS_PROPORTIONAL);
}

/* The lines of one customer's lines `text` that contain `needle`, joined. */
static size_t lines_with(const char *text, size_t len, const char *needle, char **out)
{
	size_t n = 0, out_len = 0;
	FILE *f = open_memstream(out, &out_len);
	for (const char *p = text; p < text + len;) {
		const char *nl = memchr(p, '\n', (size_t)(text + len - p));
		size_t line_len = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
		if (contains(p, line_len, needle)) {
			fwrite(p, 1, line_len + (nl != NULL), f);
			n++;
		}
		p += line_len + 1;
	}
	fclose(f);
	return n;
}

/* Payments of a customer's lines dated after local day `day` (by their "ts" date). */
static size_t payments_after(const char *text, size_t len, int32_t day)
{
	char *pays = NULL, date[16];
	size_t n = 0, count = lines_with(text, len, "\"type\":\"payment\"", &pays);
	struct gen_options o;
	gen_options_init(&o);
	int y, m, d;
	gen_civil_from_days(day, &y, &m, &d);
	snprintf(date, sizeof(date), "%04d-%02d-%02d", y, m, d);
	for (const char *p = pays; count && (p = strstr(p, "\"ts\":\"")) != NULL; p += 6)
		n += strncmp(p + 6, date, 10) > 0;
	free(pays);
	return n;
}

/* Splits a run's lines by customer in one pass: lines[c] (length len[c], malloc'd). */
struct by_customer {
	char **lines;
	size_t *len;
	FILE **f;
};

static void by_customer_line(const char *line, size_t len, void *arg)
{
	struct by_customer *bc = arg;
	for (size_t i = 0; i + 16 <= len; i++)
		if (line[i] == '"' && memcmp(line + i, "\"customer_id\":\"C", 16) == 0) {
			fwrite(line, 1, len + 1, bc->f[atoi(line + i + 16) - 1]);
			return;
		}
}

static void split_by_customer(const struct run *r, uint32_t customers, struct by_customer *bc)
{
	bc->lines = calloc(customers, sizeof(char *));
	bc->len = calloc(customers, sizeof(size_t));
	bc->f = calloc(customers, sizeof(FILE *));
	for (uint32_t c = 0; c < customers; c++)
		bc->f[c] = open_memstream(&bc->lines[c], &bc->len[c]);
	each_line(r, by_customer_line, bc);
	for (uint32_t c = 0; c < customers; c++)
		fclose(bc->f[c]);
	free(bc->f);
}

static void by_customer_free(struct by_customer *bc, uint32_t customers)
{
	for (uint32_t c = 0; c < customers; c++)
		free(bc->lines[c]);
	free(bc->lines);
	free(bc->len);
}

Test(gen, business_distress_touches_only_businesses, .timeout = 120)
{
	struct gen_options opts;
	struct run plain, stories;
	opts_small(&opts, 400, GEN_BUSINESS_MIN_DAYS, 86400);
	run_gen(&opts, &plain);
	opts.business_distress = 0.3;
	run_gen(&opts, &stories);
	struct by_customer pa, pb;
	split_by_customer(&plain, opts.customers, &pa);
	split_by_customer(&stories, opts.customers, &pb);
	uint32_t by_story[GEN_BUSINESS__COUNT] = {0};
	for (uint32_t c = 0; c < opts.customers; c++) {
		struct gen_business_label label;
		gen_business_of(&opts, c, &label);
		size_t a_len = pa.len[c], b_len = pb.len[c];
		const char *a = pa.lines[c], *b = pb.lines[c];
		int business = label.segment == GEN_SEG_COMMERCIAL || label.segment == GEN_SEG_INDUSTRIAL;
		if (!business) {
			cr_assert_eq(label.story, GEN_BUSINESS_NONE);
			cr_assert(a_len == b_len && memcmp(a, b, a_len) == 0, "customer %u changed", c + 1);
		} else {
			by_story[label.story]++;
			char *ra = NULL, *rb = NULL;
			lines_with(a, a_len, "meter_reading", &ra);
			lines_with(b, b_len, "meter_reading", &rb);
			int same = strcmp(ra, rb) == 0;
			int quiet = label.story == GEN_BUSINESS_NONE ||
			            label.story == GEN_BUSINESS_SILENT_DEFAULT;
			cr_assert_eq(same, quiet, "customer %u (%s): readings %s", c + 1,
			             gen_business_name(label.story), same ? "unchanged" : "changed");
			free(ra);
			free(rb);
			if (label.stop_pay_day) {
				cr_assert_geq(label.stop_pay_day, opts.start_day + GEN_BUSINESS_FIRST_STOP);
				/* bills before the stop are paid at most 40 days after they were issued */
				cr_assert_eq(payments_after(b, b_len, label.stop_pay_day + 41), 0,
				             "customer %u pays after it stopped paying", c + 1);
				cr_assert_gt(payments_after(b, b_len, opts.start_day), 10);
			}
		}
	}
	by_customer_free(&pa, opts.customers);
	by_customer_free(&pb, opts.customers);
	for (int s = 0; s < GEN_BUSINESS__COUNT; s++)
		cr_log_info("%s: %u", gen_business_name((unsigned)s), by_story[s]);
	cr_assert_gt(by_story[GEN_BUSINESS_NONE], 10);
	cr_assert_gt(by_story[GEN_BUSINESS_DECLINE], 3);
	cr_assert_gt(by_story[GEN_BUSINESS_SEASONAL_DIP] + by_story[GEN_BUSINESS_ONE_OFF_DIP] +
	             by_story[GEN_BUSINESS_CLOSURE], 3);
	run_free(&plain);
	run_free(&stories);

	char errstr[256];
	char *too_short[] = {"gen", "--business-distress", "0.2", "--days", "500"};
	gen_options_init(&opts);
	cr_assert_eq(gen_options_parse(&opts, 5, too_short, errstr, sizeof(errstr)), RISKD_ERR_RANGE);
	cr_assert_str_eq(errstr, "--business-distress: needs --days 550 or more (a year of history "
	                 "before the first default), got 500");
	char *too_high[] = {"gen", "--business-distress", "0.6", "--days", "600"};
	gen_options_init(&opts);
	cr_assert_eq(gen_options_parse(&opts, 5, too_high, errstr, sizeof(errstr)), RISKD_ERR_RANGE);
}

/* A declining business uses less and less before it stops paying; a seasonal dip recurs. */
Test(gen, business_stories_shape_the_load)
{
	struct gen_options opts;
	opts_small(&opts, 2000, 730, 86400);
	opts.business_distress = 0.3;
	struct gen_city city;
	gen_city_build(&city, &opts);
	int declines = 0, seasonal = 0;
	for (uint32_t c = 0; c < city.n_customers; c++) {
		const struct gen_business *biz = &city.customers[c].biz;
		struct gen_calendar cal;
		if (biz->story == GEN_BUSINESS_DECLINE) {
			declines++;
			gen_calendar_make(&cal, biz->start_day - 1);
			cr_assert_eq(gen_business_factor(biz, &cal), 1.0);
			gen_calendar_make(&cal, biz->end_day);
			double bottom = gen_business_factor(biz, &cal);
			cr_assert(bottom <= biz->level + 1e-12, "customer %u: %g", c + 1, bottom);
			cr_assert_geq(biz->end_day - biz->start_day, 30);
		} else if (biz->story == GEN_BUSINESS_SEASONAL_DIP) {
			seasonal++;
			/* the dip's level: the highest factor of a week inside it (a closed weekday
			 * is lower), a year apart */
			int32_t year0 = gen_days_from_civil(2026, 1, 1) + biz->start_day + 10;
			double f0 = 0, f1 = 0;
			for (int d = 0; d < 7; d++) {
				gen_calendar_make(&cal, year0 + d);
				f0 = fmax(f0, gen_business_factor(biz, &cal));
				gen_calendar_make(&cal, year0 + 365 + d);
				f1 = fmax(f1, gen_business_factor(biz, &cal));
			}
			cr_assert_float_eq(f1, f0, 1e-12, "customer %u", c + 1);
			cr_assert_lt(f0, 0.9);
		}
	}
	cr_assert_gt(declines, 10);
	cr_assert_gt(seasonal, 3);
	gen_city_free(&city);
}

/* --silent-rate: a share of the customers without another pattern has its meter go silent
 * from its onset: no reading from then on (the day before is whole), half of them thieves
 * whose house still takes its load (the transformer counts it: meter_silenced), half a lost
 * link on a house that takes nothing (meter_offline, a confounder). Honest customers keep
 * their lines; the labels say who is which. */
Test(gen, silent_meters_stop_reporting_from_their_onset, .timeout = 120)
{
	struct gen_options opts, plain;
	struct run r, base;
	opts_small(&opts, 120, 40, 3600);
	opts.seed = 7;
	opts.silent_rate = 0.2;
	plain = opts;
	plain.silent_rate = 0;
	run_gen(&opts, &r);
	run_gen(&plain, &base);
	struct gen_city city;
	gen_city_build(&city, &opts);
	int kinds[2] = {0, 0};
	for (uint32_t c = 0; c < opts.customers; c++) {
		struct gen_label lab;
		gen_label_of(&opts, c, &lab);
		cr_assert_eq(city.customers[c].pattern, lab.pattern);
		char id[64];
		int64_t midnight = (int64_t)lab.onset_day * 86400 - 8 * 3600;
		if (lab.pattern == GEN_PATTERN_NONE) {
			snprintf(id, sizeof(id), "\"event_id\":\"r-C%06u-%lld\"", c + 1,
			         (long long)(opts.start_day * 86400LL - 8 * 3600 + 20 * 86400));
			cr_assert(contains(r.buf, r.len, id), "honest C%06u reports", c + 1);
			continue;
		}
		cr_assert(lab.pattern == GEN_PATTERN_METER_SILENCED ||
		          lab.pattern == GEN_PATTERN_METER_OFFLINE);
		cr_assert_eq(lab.confounder, lab.pattern == GEN_PATTERN_METER_OFFLINE);
		kinds[lab.pattern == GEN_PATTERN_METER_OFFLINE]++;
		snprintf(id, sizeof(id), "\"event_id\":\"r-C%06u-%lld\"", c + 1,
		         (long long)(midnight - 3600));
		cr_assert(contains(r.buf, r.len, id), "C%06u reads until its onset", c + 1);
		snprintf(id, sizeof(id), "\"event_id\":\"r-C%06u-%lld\"", c + 1, (long long)midnight);
		cr_assert_not(contains(r.buf, r.len, id), "C%06u silent from its onset", c + 1);
		/* what flows: the thief's house takes its load, the offline one nothing */
		struct gen_calendar cal;
		struct gen_day_plan plan;
		struct gen_reading reading;
		int64_t flowed = 0;
		gen_calendar_make(&cal, lab.onset_day + 1);
		gen_day_plan_make(&city, &city.customers[c], &cal, &plan);
		for (int32_t slot = 0; slot < city.slots; slot++) {
			gen_reading_make(&city, &city.customers[c], &plan, &cal, slot, &reading);
			cr_assert(reading.silent);
			cr_assert_eq(reading.metered_milli, 0);
			flowed += reading.true_milli;
		}
		if (lab.pattern == GEN_PATTERN_METER_OFFLINE)
			cr_assert_eq(flowed, 0);
		else
			cr_assert_gt(flowed, 0);
	}
	cr_assert_gt(kinds[0], 0, "some meter_silenced");
	cr_assert_gt(kinds[1], 0, "some meter_offline");
	cr_assert_eq(r.stats.patterns[GEN_PATTERN_METER_SILENCED], (uint32_t)kinds[0]);
	cr_assert_lt(r.len, base.len, "silent meters write fewer lines");
	gen_city_free(&city);
	run_free(&r);
	run_free(&base);
}
