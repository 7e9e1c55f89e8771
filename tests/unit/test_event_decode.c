/*
 * test_event_decode.c - Criterion suite for streams/event_decode.c: the strict event decoder,
 * its reject reasons and messages, the RFC 3339 and date parsers, and the energy check.
 *
 * Most cases are tables: a valid event per type described field by field, from which the
 * suite derives the missing-field, wrong-type and unknown-field cases, plus tables of invalid
 * payloads and timestamps with their expected reason and, for many, the exact message.
 * Expected epoch values were computed independently with GNU date (date -u -d ... +%s) and
 * expected day numbers with Python's datetime.date.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "scoring/attributes.h"
#include "streams/event.h"

#define ERR_SIZE 512
#define JSON_SIZE (EVENT_MAX_BYTES * 2)

static enum event_reject decode_str(const char *json, struct event *ev, char *err)
{
	err[0] = '\0';
	return event_decode(json, strlen(json), ev, err, ERR_SIZE);
}

/* ------------------------------------------------------------------------------------------ */
/* Valid events, one per type, every decoded field checked                                    */

Test(event_decode, valid_meter_reading)
{
	struct event ev;
	char err[ERR_SIZE];
	const char *json = "{\"type\":\"meter_reading\",\"event_id\":\"r-0001\","
	                   "\"ts\":\"2026-03-01T00:30:00+08:00\",\"customer_id\":\"C-100\","
	                   "\"meter_id\":\"M-77\",\"kwh\":1.25,\"interval_s\":1800,"
	                   "\"voltage\":229.5,\"current\":5,\"power_factor\":-0.95,"
	                   "\"reverse_kwh\":0}";
	cr_assert_eq(decode_str(json, &ev, err), EVENT_REJECT_NONE, "%s", err);
	cr_expect_eq(ev.type, EVENT_METER_READING);
	cr_expect_str_eq(ev.event_id, "r-0001");
	cr_expect_eq(ev.ts, 1772296200);
	cr_expect_eq(ev.ts_utc_offset_s, 8 * 3600);
	cr_expect_str_eq(ev.entity_id, "C-100");
	cr_expect_str_eq(ev.u.reading.meter_id, "M-77");
	cr_expect_eq(ev.u.reading.kwh, 1.25);
	cr_expect_eq(ev.u.reading.interval_s, 1800);
	cr_expect_eq(ev.u.reading.voltage, 229.5);
	cr_expect_eq(ev.u.reading.current, 5.0);
	cr_expect_eq(ev.u.reading.power_factor, -0.95);
	cr_expect_eq(ev.u.reading.reverse_kwh, 0.0);
	cr_expect_eq(ev.has, EVENT_HAS_VOLTAGE | EVENT_HAS_CURRENT | EVENT_HAS_POWER_FACTOR |
	                         EVENT_HAS_REVERSE_KWH);
}

Test(event_decode, valid_meter_reading_minimal_clears_optionals)
{
	struct event ev;
	char err[ERR_SIZE];
	/* A dirty struct, as when one struct is reused per message. */
	memset(&ev, 0x5a, sizeof ev);
	const char *json = "{\"type\":\"meter_reading\",\"event_id\":\"r-2\","
	                   "\"ts\":\"2026-03-01T00:30:00Z\",\"customer_id\":\"C-100\","
	                   "\"meter_id\":\"M-77\",\"kwh\":0,\"interval_s\":86400}";
	cr_assert_eq(decode_str(json, &ev, err), EVENT_REJECT_NONE, "%s", err);
	cr_expect_eq(ev.has, 0u);
	cr_expect_eq(ev.ts, 1772325000);
	cr_expect_eq(ev.ts_utc_offset_s, 0);
	cr_expect_eq(ev.u.reading.kwh, 0.0);
	cr_expect_eq(ev.u.reading.interval_s, 86400);
	cr_expect_eq(ev.u.reading.voltage, 0.0);
	cr_expect_eq(ev.u.reading.reverse_kwh, 0.0);
}

Test(event_decode, valid_meter_event)
{
	struct event ev;
	char err[ERR_SIZE];
	const char *json = "{\"type\":\"meter_event\",\"event_id\":\"me-9\","
	                   "\"ts\":\"2024-02-29T12:00:00-05:30\",\"customer_id\":\"C-1\","
	                   "\"meter_id\":\"M-1\",\"code\":\"magnetic_interference\"}";
	cr_assert_eq(decode_str(json, &ev, err), EVENT_REJECT_NONE, "%s", err);
	cr_expect_eq(ev.type, EVENT_METER_EVENT);
	cr_expect_str_eq(ev.event_id, "me-9");
	cr_expect_eq(ev.ts, 1709227800);
	cr_expect_eq(ev.ts_utc_offset_s, -(5 * 3600 + 30 * 60));
	cr_expect_str_eq(ev.entity_id, "C-1");
	cr_expect_str_eq(ev.u.meter_event.meter_id, "M-1");
	cr_expect_eq(ev.u.meter_event.code, METER_CODE_MAGNETIC_INTERFERENCE);
	cr_expect_eq(ev.has, 0u);
}

Test(event_decode, valid_meter_event_every_code)
{
	static const struct {
		const char *name;
		enum meter_event_code code;
	} codes[] = {
		{ "cover_open", METER_CODE_COVER_OPEN },
		{ "magnetic_interference", METER_CODE_MAGNETIC_INTERFERENCE },
		{ "reverse_flow", METER_CODE_REVERSE_FLOW },
		{ "phase_loss", METER_CODE_PHASE_LOSS },
		{ "clock_reset", METER_CODE_CLOCK_RESET },
		{ "power_outage", METER_CODE_POWER_OUTAGE },
		{ "meter_replaced", METER_CODE_METER_REPLACED },
	};
	cr_assert_eq(sizeof codes / sizeof codes[0], METER_CODE__COUNT);
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		char json[256], err[ERR_SIZE];
		struct event ev;
		snprintf(json, sizeof json,
		         "{\"type\":\"meter_event\",\"event_id\":\"e\",\"ts\":\"2026-03-01T00:00:00Z\","
		         "\"customer_id\":\"C\",\"meter_id\":\"M\",\"code\":\"%s\"}",
		         codes[i].name);
		cr_expect_eq(decode_str(json, &ev, err), EVENT_REJECT_NONE, "%s: %s", codes[i].name,
		             err);
		cr_expect_eq(ev.u.meter_event.code, codes[i].code, "%s", codes[i].name);
		cr_expect_str_eq(meter_event_code_name(codes[i].code), codes[i].name);
	}
}

Test(event_decode, valid_bill)
{
	struct event ev;
	char err[ERR_SIZE];
	const char *json = "{\"type\":\"bill\",\"event_id\":\"b-1\",\"ts\":\"2026-03-01T00:00:00Z\","
	                   "\"customer_id\":\"C-5\",\"bill_id\":\"B-2026-02\",\"amount\":0,"
	                   "\"due_date\":\"2026-03-02\",\"period_kwh\":312.5}";
	cr_assert_eq(decode_str(json, &ev, err), EVENT_REJECT_NONE, "%s", err);
	cr_expect_eq(ev.type, EVENT_BILL);
	cr_expect_str_eq(ev.event_id, "b-1");
	cr_expect_eq(ev.ts, 1772323200);
	cr_expect_str_eq(ev.entity_id, "C-5");
	cr_expect_str_eq(ev.u.bill.bill_id, "B-2026-02");
	cr_expect_eq(ev.u.bill.amount, 0.0);
	cr_expect_eq(ev.u.bill.due_date, 20514);
	cr_expect_eq(ev.u.bill.period_kwh, 312.5);
	cr_expect_eq(ev.has, EVENT_HAS_PERIOD_KWH);
}

Test(event_decode, valid_payment)
{
	struct event ev;
	char err[ERR_SIZE];
	const char *json = "{\"type\":\"payment\",\"event_id\":\"p-1\","
	                   "\"ts\":\"2019-12-31T16:00:00-08:00\",\"customer_id\":\"C-5\","
	                   "\"amount\":120.75,\"bill_id\":\"B-2026-02\",\"channel\":\"bank_transfer\"}";
	cr_assert_eq(decode_str(json, &ev, err), EVENT_REJECT_NONE, "%s", err);
	cr_expect_eq(ev.type, EVENT_PAYMENT);
	cr_expect_str_eq(ev.event_id, "p-1");
	cr_expect_eq(ev.ts, 1577836800);
	cr_expect_eq(ev.ts_utc_offset_s, -8 * 3600);
	cr_expect_str_eq(ev.entity_id, "C-5");
	cr_expect_eq(ev.u.payment.amount, 120.75);
	cr_expect_str_eq(ev.u.payment.bill_id, "B-2026-02");
	cr_expect_str_eq(ev.u.payment.channel, "bank_transfer");
	cr_expect_eq(ev.has, EVENT_HAS_BILL_ID | EVENT_HAS_CHANNEL);
}

Test(event_decode, valid_payment_reversal)
{
	struct event ev;
	char err[ERR_SIZE];
	const char *json = "{\"type\":\"payment_reversal\",\"event_id\":\"pr-1\","
	                   "\"ts\":\"2026-03-01T00:30:00Z\",\"customer_id\":\"C-5\","
	                   "\"amount\":120.75,\"payment_event_id\":\"p-1\","
	                   "\"reason\":\"insufficient funds\"}";
	cr_assert_eq(decode_str(json, &ev, err), EVENT_REJECT_NONE, "%s", err);
	cr_expect_eq(ev.type, EVENT_PAYMENT_REVERSAL);
	cr_expect_str_eq(ev.event_id, "pr-1");
	cr_expect_eq(ev.ts, 1772325000);
	cr_expect_str_eq(ev.entity_id, "C-5");
	cr_expect_eq(ev.u.reversal.amount, 120.75);
	cr_expect_str_eq(ev.u.reversal.payment_event_id, "p-1");
	cr_expect_str_eq(ev.u.reversal.reason, "insufficient funds");
	cr_expect_eq(ev.has, EVENT_HAS_REASON);
}

Test(event_decode, valid_customer)
{
	struct event ev;
	char err[ERR_SIZE];
	/* since is a timestamp: its date as written (2026-03-01), not the UTC date (03-02). */
	const char *json = "{\"type\":\"customer\",\"event_id\":\"cu-1\","
	                   "\"ts\":\"2026-03-01T00:30:00+08:00\",\"customer_id\":\"C-5\","
	                   "\"segment\":\"agricultural\",\"transformer_id\":\"T-9\","
	                   "\"tariff\":\"AGR-2\",\"capacity_kw\":15.5,"
	                   "\"since\":\"2026-03-01T23:30:00-05:00\"}";
	cr_assert_eq(decode_str(json, &ev, err), EVENT_REJECT_NONE, "%s", err);
	cr_expect_eq(ev.type, EVENT_CUSTOMER);
	cr_expect_str_eq(ev.event_id, "cu-1");
	cr_expect_eq(ev.ts, 1772296200);
	cr_expect_str_eq(ev.entity_id, "C-5");
	cr_expect_eq(ev.u.customer.segment, SEGMENT_AGRICULTURAL);
	cr_expect_str_eq(ev.u.customer.transformer_id, "T-9");
	cr_expect_str_eq(ev.u.customer.tariff, "AGR-2");
	cr_expect_eq(ev.u.customer.capacity_kw, 15.5);
	cr_expect_eq(ev.u.customer.since, 20513);
	cr_expect_eq(ev.has, EVENT_HAS_TARIFF | EVENT_HAS_CAPACITY_KW | EVENT_HAS_SINCE);
}

Test(event_decode, valid_customer_since_date_and_every_segment)
{
	static const struct {
		const char *name;
		enum segment segment;
	} segments[] = {
		{ "residential", SEGMENT_RESIDENTIAL },
		{ "commercial", SEGMENT_COMMERCIAL },
		{ "industrial", SEGMENT_INDUSTRIAL },
		{ "agricultural", SEGMENT_AGRICULTURAL },
	};
	for (size_t i = 0; i < sizeof segments / sizeof segments[0]; i++) {
		char json[256], err[ERR_SIZE];
		struct event ev;
		snprintf(json, sizeof json,
		         "{\"type\":\"customer\",\"event_id\":\"e\",\"ts\":\"2026-03-01T00:00:00Z\","
		         "\"customer_id\":\"C\",\"segment\":\"%s\",\"transformer_id\":\"T\","
		         "\"since\":\"1969-12-31\"}",
		         segments[i].name);
		cr_expect_eq(decode_str(json, &ev, err), EVENT_REJECT_NONE, "%s", err);
		cr_expect_eq(ev.u.customer.segment, segments[i].segment);
		cr_expect_eq(ev.u.customer.since, -1);
		cr_expect_eq(ev.has, EVENT_HAS_SINCE);
		cr_expect_str_eq(segment_name(segments[i].segment), segments[i].name);
	}
}

Test(event_decode, valid_transformer_reading)
{
	struct event ev;
	char err[ERR_SIZE];
	const char *json = "{\"type\":\"transformer_reading\",\"event_id\":\"t-1\","
	                   "\"ts\":\"2026-03-01T00:30:00+08:00\",\"transformer_id\":\"T-9\","
	                   "\"kwh\":412,\"interval_s\":900}";
	cr_assert_eq(decode_str(json, &ev, err), EVENT_REJECT_NONE, "%s", err);
	cr_expect_eq(ev.type, EVENT_TRANSFORMER_READING);
	cr_expect_str_eq(ev.event_id, "t-1");
	cr_expect_eq(ev.ts, 1772296200);
	cr_expect_str_eq(ev.entity_id, "T-9");
	cr_expect_eq(ev.u.transformer.kwh, 412.0);
	cr_expect_eq(ev.u.transformer.interval_s, 900);
	cr_expect_eq(ev.has, 0u);
}

Test(event_decode, accepts_whitespace_utf8_ids_and_unterminated_buffer)
{
	struct event ev;
	char err[ERR_SIZE];
	/* Whitespace around and inside, ids in several scripts, escapes, and field order. */
	const char *json = " \r\n\t{ \"kwh\" : 1e-3 , \"interval_s\":1,\"meter_id\":\"\\u6c34\\u8868\","
	                   "\"customer_id\":\"\xe5\xae\xa2\xe6\x88\xb7-\xf0\x9f\x98\x80\","
	                   "\"ts\":\"2026-03-01t00:30:00.999999999z\",\"event_id\":\"\\\"q\\\"\","
	                   "\"type\":\"meter_reading\"}\n ";
	cr_assert_eq(decode_str(json, &ev, err), EVENT_REJECT_NONE, "%s", err);
	cr_expect_str_eq(ev.u.reading.meter_id, "\xe6\xb0\xb4\xe8\xa1\xa8");
	cr_expect_str_eq(ev.entity_id, "\xe5\xae\xa2\xe6\x88\xb7-\xf0\x9f\x98\x80");
	cr_expect_str_eq(ev.event_id, "\"q\"");
	cr_expect_eq(ev.ts, 1772325000);
	cr_expect_eq(ev.u.reading.kwh, 1e-3);

	/* The payload need not be NUL-terminated: bytes past len are not read. */
	char buf[256];
	const char *valid = "{\"type\":\"transformer_reading\",\"event_id\":\"t\","
	                    "\"ts\":\"2026-03-01T00:30:00Z\",\"transformer_id\":\"T\","
	                    "\"kwh\":1,\"interval_s\":900}";
	size_t n = strlen(valid);
	memcpy(buf, valid, n);
	memset(buf + n, 'x', sizeof buf - n);
	cr_expect_eq(event_decode(buf, n, &ev, err, sizeof err), EVENT_REJECT_NONE, "%s", err);
	cr_expect_eq(event_decode(buf, n + 1, &ev, err, sizeof err), EVENT_REJECT_JSON);
}

/* ------------------------------------------------------------------------------------------ */
/* Derived cases: a table describing every type's fields                                      */

enum kind { K_TYPE, K_STRING, K_NUMBER, K_INTEGER };

struct field_case {
	const char *key;
	const char *value; /* raw JSON of a valid value */
	enum kind kind;
	bool required;
};

struct type_case {
	const char *type;
	struct field_case fields[12];
};

#define COMMON(t)                                                                             \
	{ "type", "\"" t "\"", K_TYPE, true }, { "event_id", "\"ev-1\"", K_STRING, true },        \
	    { "ts", "\"2026-03-01T00:30:00+08:00\"", K_STRING, true }

static const struct type_case type_cases[] = {
	{ "meter_reading",
	  { COMMON("meter_reading"),
	    { "customer_id", "\"C-1\"", K_STRING, true },
	    { "meter_id", "\"M-1\"", K_STRING, true },
	    { "kwh", "0.5", K_NUMBER, true },
	    { "interval_s", "900", K_INTEGER, true },
	    { "voltage", "230", K_NUMBER, false },
	    { "current", "2.5", K_NUMBER, false },
	    { "power_factor", "1", K_NUMBER, false },
	    { "reverse_kwh", "0.1", K_NUMBER, false } } },
	{ "meter_event",
	  { COMMON("meter_event"),
	    { "customer_id", "\"C-1\"", K_STRING, true },
	    { "meter_id", "\"M-1\"", K_STRING, true },
	    { "code", "\"cover_open\"", K_STRING, true } } },
	{ "bill",
	  { COMMON("bill"),
	    { "customer_id", "\"C-1\"", K_STRING, true },
	    { "bill_id", "\"B-1\"", K_STRING, true },
	    { "amount", "99.5", K_NUMBER, true },
	    { "due_date", "\"2026-03-31\"", K_STRING, true },
	    { "period_kwh", "250", K_NUMBER, false } } },
	{ "payment",
	  { COMMON("payment"),
	    { "customer_id", "\"C-1\"", K_STRING, true },
	    { "amount", "99.5", K_NUMBER, true },
	    { "bill_id", "\"B-1\"", K_STRING, false },
	    { "channel", "\"cash\"", K_STRING, false } } },
	{ "payment_reversal",
	  { COMMON("payment_reversal"),
	    { "customer_id", "\"C-1\"", K_STRING, true },
	    { "amount", "99.5", K_NUMBER, true },
	    { "payment_event_id", "\"ev-0\"", K_STRING, true },
	    { "reason", "\"bounced\"", K_STRING, false } } },
	{ "customer",
	  { COMMON("customer"),
	    { "customer_id", "\"C-1\"", K_STRING, true },
	    { "segment", "\"residential\"", K_STRING, true },
	    { "transformer_id", "\"T-1\"", K_STRING, true },
	    { "tariff", "\"RES-1\"", K_STRING, false },
	    { "capacity_kw", "8", K_NUMBER, false },
	    { "since", "\"2015-06-01\"", K_STRING, false } } },
	{ "transformer_reading",
	  { COMMON("transformer_reading"),
	    { "transformer_id", "\"T-1\"", K_STRING, true },
	    { "kwh", "410.5", K_NUMBER, true },
	    { "interval_s", "900", K_INTEGER, true } } },
};

#define NTYPES (sizeof type_cases / sizeof type_cases[0])

/*
 * Builds the JSON of tc: every field (optional ones only when with_optional), leaving out
 * `omit`, giving `replace` the raw value `replacement`, and appending `extra` when not NULL.
 */
static void build_event(char *out, size_t out_size, const struct type_case *tc,
                        bool with_optional, const char *omit, const char *replace,
                        const char *replacement, const char *extra)
{
	size_t o = 0;
	bool first = true;
	o += (size_t)snprintf(out + o, out_size - o, "{");
	for (const struct field_case *f = tc->fields; f->key; f++) {
		if ((!f->required && !with_optional) || (omit && strcmp(f->key, omit) == 0))
			continue;
		const char *value = replace && strcmp(f->key, replace) == 0 ? replacement : f->value;
		o += (size_t)snprintf(out + o, out_size - o, "%s\"%s\":%s", first ? "" : ",", f->key,
		                      value);
		first = false;
	}
	if (extra)
		o += (size_t)snprintf(out + o, out_size - o, "%s%s", first ? "" : ",", extra);
	snprintf(out + o, out_size - o, "}");
}

Test(event_table, every_type_full_and_minimal_decodes)
{
	cr_assert_eq(NTYPES, EVENT_TYPE__COUNT);
	for (size_t t = 0; t < NTYPES; t++) {
		for (int with_optional = 0; with_optional <= 1; with_optional++) {
			char json[1024], err[ERR_SIZE];
			struct event ev;
			build_event(json, sizeof json, &type_cases[t], with_optional, NULL, NULL, NULL,
			            NULL);
			cr_expect_eq(decode_str(json, &ev, err), EVENT_REJECT_NONE, "%s: %s", json, err);
			cr_expect_str_eq(event_type_name(ev.type), type_cases[t].type);
			cr_expect_str_eq(ev.event_id, "ev-1");
			cr_expect_eq(ev.ts, 1772296200);
			bool has_optional = false;
			for (const struct field_case *f = type_cases[t].fields; f->key; f++)
				has_optional |= !f->required;
			if (!with_optional || !has_optional)
				cr_expect_eq(ev.has, 0u, "%s", json);
			else
				cr_expect_neq(ev.has, 0u, "%s", json);
		}
	}
}

Test(event_table, every_missing_required_field)
{
	int cases = 0;
	for (size_t t = 0; t < NTYPES; t++) {
		const struct type_case *tc = &type_cases[t];
		for (const struct field_case *f = tc->fields; f->key; f++) {
			char json[1024], err[ERR_SIZE], expected[256];
			struct event ev;
			if (!f->required)
				continue;
			build_event(json, sizeof json, tc, true, f->key, NULL, NULL, NULL);
			enum event_reject rc = decode_str(json, &ev, err);
			if (f->kind == K_TYPE) {
				cr_expect_eq(rc, EVENT_REJECT_UNKNOWN_TYPE, "%s", json);
				cr_expect_str_eq(err, "missing required field 'type'");
			} else {
				snprintf(expected, sizeof expected,
				         "missing required field '%s' for type %s", f->key, tc->type);
				cr_expect_eq(rc, EVENT_REJECT_MISSING_FIELD, "%s: %s", json, err);
				cr_expect_str_eq(err, expected);
			}
			cases++;
		}
	}
	cr_expect_eq(cases, 7 * 3 + 4 + 3 + 4 + 2 + 3 + 3 + 3);
}

Test(event_table, every_field_with_a_wrong_json_type)
{
	static const char *const not_string[] = { "5", "-1.5", "null", "true", "[\"a\"]", "{}" };
	static const char *const not_number[] = { "\"1.5\"", "null", "false", "[1]", "{\"v\":1}" };
	static const char *const not_integer[] = { "\"900\"", "900.0", "9e2", "null", "true",
		                                       "[900]" };
	int cases = 0;
	for (size_t t = 0; t < NTYPES; t++) {
		const struct type_case *tc = &type_cases[t];
		for (const struct field_case *f = tc->fields; f->key; f++) {
			const char *const *bad = not_string;
			size_t nbad = sizeof not_string / sizeof not_string[0];
			if (f->kind == K_NUMBER) {
				bad = not_number;
				nbad = sizeof not_number / sizeof not_number[0];
			} else if (f->kind == K_INTEGER) {
				bad = not_integer;
				nbad = sizeof not_integer / sizeof not_integer[0];
			}
			for (size_t b = 0; b < nbad; b++) {
				char json[1024], err[ERR_SIZE], prefix[64];
				struct event ev;
				build_event(json, sizeof json, tc, true, NULL, f->key, bad[b], NULL);
				enum event_reject rc = decode_str(json, &ev, err);
				enum event_reject want =
				    f->kind == K_TYPE ? EVENT_REJECT_UNKNOWN_TYPE : EVENT_REJECT_FIELD_TYPE;
				cr_expect_eq(rc, want, "%s -> %s (%s)", json, event_reject_name(rc), err);
				snprintf(prefix, sizeof prefix, "field '%s': must be ", f->key);
				cr_expect_eq(strncmp(err, prefix, strlen(prefix)), 0, "%s", err);
				cases++;
			}
		}
	}
	cr_expect_gt(cases, 200);
}

Test(event_table, unknown_field_for_every_type)
{
	for (size_t t = 0; t < NTYPES; t++) {
		const struct type_case *tc = &type_cases[t];
		char json[1024], err[ERR_SIZE], expected[128];
		struct event ev;
		build_event(json, sizeof json, tc, true, NULL, NULL, NULL, "\"extra\":1");
		cr_expect_eq(decode_str(json, &ev, err), EVENT_REJECT_UNKNOWN_FIELD, "%s", json);
		snprintf(expected, sizeof expected, "unknown field 'extra' for type %s", tc->type);
		cr_expect_str_eq(err, expected);
		/* Even a null-valued unknown field is refused. */
		build_event(json, sizeof json, tc, false, NULL, NULL, NULL, "\"notes\":null");
		cr_expect_eq(decode_str(json, &ev, err), EVENT_REJECT_UNKNOWN_FIELD, "%s", json);
	}
}

Test(event_table, fields_of_other_types_are_unknown)
{
	static const struct {
		size_t type_index;
		const char *extra;
		const char *message;
	} cases[] = {
		{ 0, "\"code\":\"cover_open\"", "unknown field 'code' for type meter_reading" },
		{ 1, "\"kwh\":1", "unknown field 'kwh' for type meter_event" },
		{ 3, "\"due_date\":\"2026-03-01\"", "unknown field 'due_date' for type payment" },
		{ 6, "\"customer_id\":\"C-1\"", "unknown field 'customer_id' for type transformer_reading" },
		{ 6, "\"Kwh\":1", "unknown field 'Kwh' for type transformer_reading" },
		{ 5, "\"kwhh\\n\":1", "unknown field 'kwhh\\x0a' for type customer" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char json[1024], err[ERR_SIZE];
		struct event ev;
		build_event(json, sizeof json, &type_cases[cases[i].type_index], false, NULL, NULL,
		            NULL, cases[i].extra);
		cr_expect_eq(decode_str(json, &ev, err), EVENT_REJECT_UNKNOWN_FIELD, "%s", json);
		cr_expect_str_eq(err, cases[i].message);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Invalid payloads                                                                           */

#define MR_HEAD "{\"type\":\"meter_reading\",\"event_id\":\"r-1\",\"ts\":\"2026-03-01T00:30:00Z\","
#define MR_IDS "\"customer_id\":\"C-1\",\"meter_id\":\"M-1\","
#define MR(rest) MR_HEAD MR_IDS rest "}"
#define CU(rest)                                                                              \
	"{\"type\":\"customer\",\"event_id\":\"c-1\",\"ts\":\"2026-03-01T00:30:00Z\","            \
	"\"customer_id\":\"C-1\",\"segment\":\"residential\",\"transformer_id\":\"T-1\"" rest "}"
#define PAY(rest)                                                                             \
	"{\"type\":\"payment\",\"event_id\":\"p-1\",\"ts\":\"2026-03-01T00:30:00Z\","             \
	"\"customer_id\":\"C-1\"" rest "}"
#define BILL(rest)                                                                            \
	"{\"type\":\"bill\",\"event_id\":\"b-1\",\"ts\":\"2026-03-01T00:30:00Z\","                \
	"\"customer_id\":\"C-1\",\"bill_id\":\"B-1\",\"amount\":1" rest "}"

struct bad_case {
	const char *json;
	enum event_reject reason;
	const char *message; /* exact text, or NULL to check the reason only */
};

static const struct bad_case bad_cases[] = {
	/* JSON shape */
	{ "", EVENT_REJECT_JSON,
	  "invalid JSON at line 1 column 0: '[' or '{' expected near end of file" },
	{ "[{\"type\":\"meter_reading\"}]", EVENT_REJECT_JSON,
	  "payload is a JSON array, not an object" },
	{ "\"meter_reading\"", EVENT_REJECT_JSON, NULL },
	{ "42", EVENT_REJECT_JSON, NULL },
	{ "null", EVENT_REJECT_JSON, NULL },
	{ "{\"type\":\"meter_reading\",\"event_id\":\"r-1\"", EVENT_REJECT_JSON, NULL },
	{ "{\"type\":\"meter_reading\",\"event_id\":\"r-", EVENT_REJECT_JSON, NULL },
	{ "{\"type\":\"meter_reading\",}", EVENT_REJECT_JSON, NULL },
	{ "{'type':'meter_reading'}", EVENT_REJECT_JSON, NULL },
	{ MR("\"kwh\":1,\"interval_s\":900") " x", EVENT_REJECT_JSON,
	  "invalid JSON at line 1 column 133: end of file expected near 'x'" },
	{ MR("\"kwh\":1,\"interval_s\":900") "{}", EVENT_REJECT_JSON, NULL },
	{ MR("\"kwh\":1,\"interval_s\":900") "\n\x01", EVENT_REJECT_JSON,
	  "invalid JSON at line 2 column 1: end of file expected near '\\x01'" },
	{ "{\"type\":\"meter_reading\",\"type\":\"meter_reading\"}", EVENT_REJECT_JSON,
	  "invalid JSON at line 1 column 30: duplicate object key near '\"type\"'" },
	{ MR("\"kwh\":1,\"kwh\":2,\"interval_s\":900"), EVENT_REJECT_JSON, NULL },
	{ MR("\"kwh\":NaN,\"interval_s\":900"), EVENT_REJECT_JSON, NULL },
	{ MR("\"kwh\":Infinity,\"interval_s\":900"), EVENT_REJECT_JSON, NULL },
	{ MR("\"kwh\":1e400,\"interval_s\":900"), EVENT_REJECT_JSON, NULL },
	{ MR("\"kwh\":1,\"interval_s\":99999999999999999999"), EVENT_REJECT_JSON, NULL },
	{ MR("\"kwh\":01,\"interval_s\":900"), EVENT_REJECT_JSON, NULL },
	{ MR("\"kwh\":1,\"interval_s\":900,\"a\\u0000b\":1"), EVENT_REJECT_JSON, NULL },
	{ MR("\"kwh\":1,\"interval_s\":900,\"m\":\"\\ud800\""), EVENT_REJECT_JSON, NULL },
	{ "\xef\xbb\xbf{}", EVENT_REJECT_JSON, NULL },
	/* type */
	{ "{}", EVENT_REJECT_UNKNOWN_TYPE, "missing required field 'type'" },
	{ "{\"type\":\"meter_readings\"}", EVENT_REJECT_UNKNOWN_TYPE,
	  "unknown event type \"meter_readings\"" },
	{ "{\"type\":\"Meter_Reading\"}", EVENT_REJECT_UNKNOWN_TYPE, NULL },
	{ "{\"type\":\"\"}", EVENT_REJECT_UNKNOWN_TYPE, "unknown event type \"\"" },
	{ "{\"type\":\"meter_reading\\u0000\"}", EVENT_REJECT_UNKNOWN_TYPE,
	  "unknown event type \"meter_reading\\x00\"" },
	{ "{\"type\":null}", EVENT_REJECT_UNKNOWN_TYPE, "field 'type': must be a string, got null" },
	{ "{\"type\":[\"bill\"]}", EVENT_REJECT_UNKNOWN_TYPE,
	  "field 'type': must be a string, got an array" },
	/* unknown type wins over every field problem */
	{ "{\"type\":\"reading\",\"kwh\":-1}", EVENT_REJECT_UNKNOWN_TYPE, NULL },
	/* values */
	{ MR("\"kwh\":-1.5,\"interval_s\":900"), EVENT_REJECT_BAD_VALUE,
	  "field 'kwh': must be a finite number >= 0, got -1.5" },
	{ MR("\"kwh\":-1,\"interval_s\":900"), EVENT_REJECT_BAD_VALUE,
	  "field 'kwh': must be a finite number >= 0, got -1" },
	{ MR("\"kwh\":-1e-300,\"interval_s\":900"), EVENT_REJECT_BAD_VALUE, NULL },
	{ MR("\"kwh\":\"1.5\",\"interval_s\":900"), EVENT_REJECT_FIELD_TYPE,
	  "field 'kwh': must be a number, got string \"1.5\"" },
	{ MR("\"kwh\":1,\"interval_s\":0"), EVENT_REJECT_BAD_VALUE,
	  "field 'interval_s': must be an integer from 1 to 86400, got 0" },
	{ MR("\"kwh\":1,\"interval_s\":-900"), EVENT_REJECT_BAD_VALUE, NULL },
	{ MR("\"kwh\":1,\"interval_s\":86401"), EVENT_REJECT_BAD_VALUE,
	  "field 'interval_s': must be an integer from 1 to 86400, got 86401" },
	{ MR("\"kwh\":1,\"interval_s\":4294968196"), EVENT_REJECT_BAD_VALUE, NULL },
	{ MR("\"kwh\":1,\"interval_s\":900.0"), EVENT_REJECT_FIELD_TYPE,
	  "field 'interval_s': must be an integer, got number 900.0" },
	{ MR("\"kwh\":1,\"interval_s\":900.5"), EVENT_REJECT_FIELD_TYPE,
	  "field 'interval_s': must be an integer, got number 900.5" },
	{ MR("\"kwh\":1,\"interval_s\":900,\"voltage\":-230"), EVENT_REJECT_BAD_VALUE,
	  "field 'voltage': must be a finite number >= 0, got -230" },
	{ MR("\"kwh\":1,\"interval_s\":900,\"current\":-0.1"), EVENT_REJECT_BAD_VALUE, NULL },
	{ MR("\"kwh\":1,\"interval_s\":900,\"power_factor\":1.01"), EVENT_REJECT_BAD_VALUE,
	  "field 'power_factor': must be a finite number from -1 to 1, got 1.01" },
	{ MR("\"kwh\":1,\"interval_s\":900,\"power_factor\":-1.5"), EVENT_REJECT_BAD_VALUE, NULL },
	{ MR("\"kwh\":1,\"interval_s\":900,\"reverse_kwh\":-2"), EVENT_REJECT_BAD_VALUE, NULL },
	{ MR("\"kwh\":1,\"interval_s\":900,\"voltage\":null"), EVENT_REJECT_FIELD_TYPE,
	  "field 'voltage': must be a number, got null" },
	{ PAY(",\"amount\":0"), EVENT_REJECT_BAD_VALUE,
	  "field 'amount': must be a finite number > 0, got 0" },
	{ PAY(",\"amount\":-0.0"), EVENT_REJECT_BAD_VALUE, NULL },
	{ PAY(",\"amount\":-5"), EVENT_REJECT_BAD_VALUE, NULL },
	{ PAY(",\"amount\":5,\"channel\":7"), EVENT_REJECT_FIELD_TYPE,
	  "field 'channel': must be a string, got number 7" },
	{ PAY(",\"amount\":5,\"bill_id\":\"\""), EVENT_REJECT_BAD_VALUE,
	  "field 'bill_id': must not be empty" },
	{ PAY(",\"amount\":5,\"bill_id\":null"), EVENT_REJECT_FIELD_TYPE,
	  "field 'bill_id': must be a string, got null" },
	{ BILL(",\"due_date\":\"2026-03-01\",\"amount\":2"), EVENT_REJECT_JSON, NULL },
	{ "{\"type\":\"bill\",\"event_id\":\"b\",\"ts\":\"2026-03-01T00:30:00Z\","
	  "\"customer_id\":\"C\",\"bill_id\":\"B\",\"amount\":-0.01,\"due_date\":\"2026-03-31\"}",
	  EVENT_REJECT_BAD_VALUE, "field 'amount': must be a finite number >= 0, got -0.01" },
	{ BILL(",\"due_date\":\"2026-03-31\",\"period_kwh\":-1"), EVENT_REJECT_BAD_VALUE, NULL },
	{ CU(",\"capacity_kw\":0"), EVENT_REJECT_BAD_VALUE,
	  "field 'capacity_kw': must be a finite number > 0, got 0" },
	{ CU(",\"capacity_kw\":\"8\""), EVENT_REJECT_FIELD_TYPE, NULL },
	{ "{\"type\":\"customer\",\"event_id\":\"c\",\"ts\":\"2026-03-01T00:30:00Z\","
	  "\"customer_id\":\"C\",\"segment\":\"household\",\"transformer_id\":\"T\"}",
	  EVENT_REJECT_BAD_VALUE,
	  "field 'segment': unknown value \"household\", expected residential, commercial, "
	  "industrial or agricultural" },
	{ "{\"type\":\"customer\",\"event_id\":\"c\",\"ts\":\"2026-03-01T00:30:00Z\","
	  "\"customer_id\":\"C\",\"segment\":\"unknown\",\"transformer_id\":\"T\"}",
	  EVENT_REJECT_BAD_VALUE, NULL },
	{ "{\"type\":\"meter_event\",\"event_id\":\"e\",\"ts\":\"2026-03-01T00:30:00Z\","
	  "\"customer_id\":\"C\",\"meter_id\":\"M\",\"code\":\"COVER_OPEN\"}",
	  EVENT_REJECT_BAD_VALUE,
	  "field 'code': unknown value \"COVER_OPEN\", expected cover_open, magnetic_interference, "
	  "reverse_flow, phase_loss, clock_reset, power_outage or meter_replaced" },
	/* ids */
	{ MR_HEAD "\"customer_id\":\"\",\"meter_id\":\"M\",\"kwh\":1,\"interval_s\":900}",
	  EVENT_REJECT_BAD_VALUE, "field 'customer_id': must not be empty" },
	{ MR_HEAD "\"customer_id\":\"C\\u0000x\",\"meter_id\":\"M\",\"kwh\":1,\"interval_s\":900}",
	  EVENT_REJECT_BAD_VALUE, "field 'customer_id': contains control character U+0000 at byte 1" },
	{ MR_HEAD "\"customer_id\":\"C\",\"meter_id\":\"M\\n1\",\"kwh\":1,\"interval_s\":900}",
	  EVENT_REJECT_BAD_VALUE, "field 'meter_id': contains control character U+000A at byte 1" },
	{ MR_HEAD "\"customer_id\":\"C\",\"meter_id\":\"M\\u007f\",\"kwh\":1,\"interval_s\":900}",
	  EVENT_REJECT_BAD_VALUE, "field 'meter_id': contains control character U+007F at byte 1" },
	{ MR_HEAD "\"customer_id\":\"C\",\"meter_id\":\"\\u0085M\",\"kwh\":1,\"interval_s\":900}",
	  EVENT_REJECT_BAD_VALUE, "field 'meter_id': contains control character U+0085 at byte 0" },
	{ "{\"type\":\"bill\",\"event_id\":\"\",\"ts\":\"2026-03-01T00:30:00Z\"}",
	  EVENT_REJECT_BAD_VALUE, "field 'event_id': must not be empty" },
	{ "{\"type\":\"bill\",\"event_id\":\"a\\u0000\",\"ts\":\"2026-03-01T00:30:00Z\"}",
	  EVENT_REJECT_BAD_VALUE, "field 'event_id': contains control character U+0000 at byte 1" },
	{ PAY(",\"amount\":5,\"channel\":\"ca\\u0000sh\""), EVENT_REJECT_BAD_VALUE,
	  "field 'channel': contains control character U+0000 at byte 2" },
	{ "{\"type\":\"payment_reversal\",\"event_id\":\"pr\",\"ts\":\"2026-03-01T00:30:00Z\","
	  "\"customer_id\":\"C\",\"amount\":1,\"payment_event_id\":\"\"}",
	  EVENT_REJECT_BAD_VALUE, "field 'payment_event_id': must not be empty" },
	/* timestamps and dates */
	{ "{\"type\":\"bill\",\"event_id\":\"b\",\"ts\":\"2026-03-01T00:30:00\"}",
	  EVENT_REJECT_BAD_TIMESTAMP,
	  "field 'ts': \"2026-03-01T00:30:00\" is not an RFC 3339 timestamp: missing UTC offset "
	  "(Z or +HH:MM)" },
	{ "{\"type\":\"bill\",\"event_id\":\"b\",\"ts\":\"2026-02-29T00:00:00Z\"}",
	  EVENT_REJECT_BAD_TIMESTAMP,
	  "field 'ts': \"2026-02-29T00:00:00Z\" is not an RFC 3339 timestamp: day out of range "
	  "for the month" },
	{ "{\"type\":\"bill\",\"event_id\":\"b\",\"ts\":\"2026-03-01 00:30:00Z\"}",
	  EVENT_REJECT_BAD_TIMESTAMP,
	  "field 'ts': \"2026-03-01 00:30:00Z\" is not an RFC 3339 timestamp: expected 'T' "
	  "between date and time" },
	{ "{\"type\":\"bill\",\"event_id\":\"b\",\"ts\":\"2026-03-01T24:00:00Z\"}",
	  EVENT_REJECT_BAD_TIMESTAMP,
	  "field 'ts': \"2026-03-01T24:00:00Z\" is not an RFC 3339 timestamp: hour out of range" },
	{ "{\"type\":\"bill\",\"event_id\":\"b\",\"ts\":\"2026-03-01T00:30:00+19:00\"}",
	  EVENT_REJECT_BAD_TIMESTAMP,
	  "field 'ts': \"2026-03-01T00:30:00+19:00\" is not an RFC 3339 timestamp: UTC offset out "
	  "of range (at most 18:00)" },
	{ "{\"type\":\"bill\",\"event_id\":\"b\",\"ts\":1772296200}", EVENT_REJECT_FIELD_TYPE,
	  "field 'ts': must be a string, got number 1772296200" },
	{ BILL(",\"due_date\":\"2026-02-30\""), EVENT_REJECT_BAD_TIMESTAMP,
	  "field 'due_date': \"2026-02-30\" is not a date: day out of range for the month" },
	{ BILL(",\"due_date\":\"2026-03-01T00:00:00Z\""), EVENT_REJECT_BAD_TIMESTAMP,
	  "field 'due_date': \"2026-03-01T00:00:00Z\" is not a date: expected YYYY-MM-DD" },
	{ BILL(",\"due_date\":\"20260301\""), EVENT_REJECT_BAD_TIMESTAMP, NULL },
	{ BILL(",\"due_date\":\"2026-3-1\""), EVENT_REJECT_BAD_TIMESTAMP, NULL },
	{ BILL(",\"due_date\":20260301"), EVENT_REJECT_FIELD_TYPE, NULL },
	{ CU(",\"since\":\"2015-13-01\""), EVENT_REJECT_BAD_TIMESTAMP,
	  "field 'since': \"2015-13-01\" is not a date or an RFC 3339 timestamp: month out of "
	  "range" },
	{ CU(",\"since\":\"2015-06-01T00:00:00\""), EVENT_REJECT_BAD_TIMESTAMP, NULL },
	{ CU(",\"since\":\"2015-06-01 \""), EVENT_REJECT_BAD_TIMESTAMP, NULL },
	{ CU(",\"since\":2015"), EVENT_REJECT_FIELD_TYPE, NULL },
	/* the first problem in payload order is reported; missing fields come last */
	{ "{\"type\":\"meter_reading\",\"kwh\":-1,\"bogus\":1}", EVENT_REJECT_BAD_VALUE,
	  "field 'kwh': must be a finite number >= 0, got -1" },
	{ "{\"type\":\"meter_reading\",\"bogus\":1,\"kwh\":-1}", EVENT_REJECT_UNKNOWN_FIELD,
	  "unknown field 'bogus' for type meter_reading" },
	{ "{\"type\":\"meter_reading\",\"kwh\":1}", EVENT_REJECT_MISSING_FIELD,
	  "missing required field 'event_id' for type meter_reading" },
};

Test(event_invalid, table)
{
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *bc = &bad_cases[i];
		char err[ERR_SIZE];
		struct event ev;
		enum event_reject rc = decode_str(bc->json, &ev, err);
		cr_expect_eq(rc, bc->reason, "case %zu %s: got %s (%s), want %s", i, bc->json,
		             event_reject_name(rc), err, event_reject_name(bc->reason));
		cr_expect_neq(err[0], '\0', "case %zu: empty message", i);
		cr_expect_null(strchr(err, '\n'), "case %zu: message spans lines: %s", i, err);
		if (bc->message)
			cr_expect_str_eq(err, bc->message, "case %zu %s", i, bc->json);
	}
}

/* Payload: the valid meter_reading below, padded with spaces to exactly `total` bytes. */
static size_t padded_reading(char *buf, size_t total)
{
	const char *json = MR("\"kwh\":1,\"interval_s\":900");
	size_t n = strlen(json);
	memcpy(buf, json, n);
	memset(buf + n, ' ', total - n);
	return total;
}

Test(event_invalid, payload_size_limit)
{
	static char buf[EVENT_MAX_BYTES + 2];
	char err[ERR_SIZE];
	struct event ev;
	size_t len = padded_reading(buf, EVENT_MAX_BYTES);
	cr_expect_eq(event_decode(buf, len, &ev, err, sizeof err), EVENT_REJECT_NONE, "%s", err);

	len = padded_reading(buf, EVENT_MAX_BYTES + 1);
	cr_expect_eq(event_decode(buf, len, &ev, err, sizeof err), EVENT_REJECT_TOO_LARGE);
	cr_expect_str_eq(err, "payload is 8193 bytes, above the 8192-byte limit");

	/* Size is checked before anything else: oversized garbage is too_large, not utf8. */
	memset(buf, 0xff, sizeof buf);
	cr_expect_eq(event_decode(buf, sizeof buf, &ev, err, sizeof err), EVENT_REJECT_TOO_LARGE);
}

Test(event_invalid, utf8_byte_patterns)
{
	static const struct {
		const char *bytes;
		const char *what;
		size_t bad_at; /* offset of the bad sequence inside bytes */
	} cases[] = {
		{ "\xc0\xaf", "overlong 2-byte '/'", 0 },
		{ "\xc1\xbf", "overlong 2-byte", 0 },
		{ "\xe0\x80\xaf", "overlong 3-byte", 0 },
		{ "\xe0\x9f\xbf", "overlong 3-byte U+07FF", 0 },
		{ "\xf0\x80\x80\xaf", "overlong 4-byte", 0 },
		{ "\xf0\x8f\xbf\xbf", "overlong 4-byte U+FFFF", 0 },
		{ "\xed\xa0\x80", "surrogate U+D800", 0 },
		{ "\xed\xbf\xbf", "surrogate U+DFFF", 0 },
		{ "\xf4\x90\x80\x80", "above U+10FFFF", 0 },
		{ "\xf5\x80\x80\x80", "lead F5", 0 },
		{ "\xff", "byte FF", 0 },
		{ "\xfe", "byte FE", 0 },
		{ "\x80", "stray continuation", 0 },
		{ "ab\xbf", "stray continuation after ASCII", 2 },
		{ "\xe2\x82", "truncated 3-byte before '\"'", 0 },
		{ "\xe2\x28\xa1", "bad second byte", 0 },
		{ "\xf0\x9f\x98", "truncated 4-byte", 0 },
		{ "\xc3\xa9\xe2\x82\xac\xc3", "valid then truncated 2-byte", 5 },
		{ "abcdefghijklmnop\x80", "after an ASCII run", 16 },
	};
	const char *prefix = "{\"type\":\"meter_reading\",\"event_id\":\"";
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char json[256], err[ERR_SIZE], expected[64];
		struct event ev;
		snprintf(json, sizeof json, "%s%s\"}", prefix, cases[i].bytes);
		cr_expect_eq(decode_str(json, &ev, err), EVENT_REJECT_UTF8, "%s", cases[i].what);
		snprintf(expected, sizeof expected, "invalid UTF-8 at byte %zu",
		         strlen(prefix) + cases[i].bad_at);
		cr_expect_str_eq(err, expected, "%s", cases[i].what);
	}
	/* A payload ending inside a multi-byte sequence. */
	{
		char err[ERR_SIZE];
		struct event ev;
		cr_expect_eq(event_decode("{}\xe2\x82", 4, &ev, err, sizeof err), EVENT_REJECT_UTF8);
		cr_expect_str_eq(err, "invalid UTF-8 at byte 2");
	}
}

Test(event_invalid, utf8_boundaries_accepted)
{
	/* First and last code points of each sequence length (U+0080, U+07FF, U+0800, U+FFFF,
	 * U+10000, U+10FFFF) and the code points around the surrogates: valid UTF-8, so the
	 * payload gets past the UTF-8 check (and here, all the way to a valid event). */
	const char *ids[] = { "\xc2\xa0", "\xdf\xbf", "\xe0\xa0\x80", "\xef\xbf\xbf",
		                  "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf", "\xee\x80\x80" };
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		char json[256], err[ERR_SIZE];
		struct event ev;
		snprintf(json, sizeof json, MR_HEAD "\"customer_id\":\"%s\",\"meter_id\":\"M\","
		         "\"kwh\":1,\"interval_s\":900}", ids[i]);
		cr_expect_eq(decode_str(json, &ev, err), EVENT_REJECT_NONE, "id %zu: %s", i, err);
		cr_expect_str_eq(ev.entity_id, ids[i]);
	}
}

Test(event_invalid, length_limits)
{
	static const struct {
		const char *field;
		size_t limit;
	} limits[] = {
		{ "event_id", RISKD_EVENT_ID_MAX },
		{ "customer_id", RISKD_ID_MAX },
		{ "meter_id", RISKD_ID_MAX },
		{ "payment_event_id", RISKD_EVENT_ID_MAX },
		{ "channel", RISKD_SHORT_TEXT_MAX },
		{ "reason", RISKD_SHORT_TEXT_MAX },
		{ "tariff", RISKD_SHORT_TEXT_MAX },
		{ "bill_id", RISKD_ID_MAX },
		{ "transformer_id", RISKD_ID_MAX },
	};
	cr_assert_eq(RISKD_EVENT_ID_MAX, 128);
	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
		const char *field = limits[i].field;
		size_t t;
		/* the first type that has this field */
		for (t = 0; t < NTYPES; t++) {
			const struct field_case *f;
			for (f = type_cases[t].fields; f->key && strcmp(f->key, field) != 0; f++)
				;
			if (f->key)
				break;
		}
		cr_assert_lt(t, NTYPES, "%s", field);
		for (size_t len = limits[i].limit; len <= limits[i].limit + 1; len++) {
			char value[300], json[1024], err[ERR_SIZE], expected[128];
			struct event ev;
			value[0] = '"';
			for (size_t k = 0; k < len; k++)
				value[1 + k] = (char)('a' + k % 26);
			value[1 + len] = '"';
			value[2 + len] = '\0';
			build_event(json, sizeof json, &type_cases[t], true, NULL, field, value, NULL);
			enum event_reject rc = decode_str(json, &ev, err);
			if (len == limits[i].limit) {
				cr_expect_eq(rc, EVENT_REJECT_NONE, "%s at %zu: %s", field, len, err);
			} else {
				cr_expect_eq(rc, EVENT_REJECT_BAD_VALUE, "%s at %zu", field, len);
				snprintf(expected, sizeof expected,
				         "field '%s': is %zu bytes long, above the %zu-byte limit", field, len,
				         limits[i].limit);
				cr_expect_str_eq(err, expected);
			}
		}
	}
	/* Multi-byte characters count in bytes: 22 x 3-byte = 66 bytes > 63. */
	char id[128] = "";
	for (int k = 0; k < 22; k++)
		strcat(id, "\xe2\x82\xac");
	char json[512], err[ERR_SIZE];
	struct event ev;
	snprintf(json, sizeof json,
	         MR_HEAD "\"customer_id\":\"%s\",\"meter_id\":\"M\",\"kwh\":1,\"interval_s\":900}", id);
	cr_expect_eq(decode_str(json, &ev, err), EVENT_REJECT_BAD_VALUE);
	cr_expect_str_eq(err, "field 'customer_id': is 66 bytes long, above the 63-byte limit");
}

Test(event_invalid, long_values_are_cut_in_messages)
{
	char json[2048], err[ERR_SIZE];
	struct event ev;
	char type[400];
	memset(type, 'x', sizeof type - 1);
	type[sizeof type - 1] = '\0';
	snprintf(json, sizeof json, "{\"type\":\"%s\"}", type);
	cr_expect_eq(decode_str(json, &ev, err), EVENT_REJECT_UNKNOWN_TYPE);
	cr_expect_str_eq(err, "unknown event type \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\"");

	/* A tiny errstr is truncated, never overrun; NULL with size 0 is allowed. */
	char small[8];
	memset(small, '#', sizeof small);
	cr_expect_eq(event_decode("{}", 2, &ev, small, 6), EVENT_REJECT_UNKNOWN_TYPE);
	cr_expect_str_eq(small, "missi");
	cr_expect_eq(small[6], '#');
	cr_expect_eq(event_decode("{}", 2, &ev, NULL, 0), EVENT_REJECT_UNKNOWN_TYPE);
	cr_expect_eq(event_decode(NULL, 0, &ev, err, sizeof err), EVENT_REJECT_JSON);
}

/* ------------------------------------------------------------------------------------------ */
/* RFC 3339 and dates                                                                         */

Test(event_time, rfc3339_valid)
{
	static const struct {
		const char *ts;
		int64_t epoch;
		int32_t offset;
	} cases[] = {
		{ "2026-03-01T00:30:00+08:00", 1772296200, 28800 },
		{ "2026-03-01T00:30:00Z", 1772325000, 0 },
		{ "2026-03-01t00:30:00z", 1772325000, 0 },
		{ "2026-03-01T00:30:00-00:00", 1772325000, 0 },
		{ "1970-01-01T00:00:00Z", 0, 0 },
		{ "1969-12-31T23:59:59Z", -1, 0 },
		{ "2024-02-29T12:00:00-05:30", 1709227800, -19800 },
		{ "2000-02-29T23:59:59+14:00", 951818399, 50400 },
		{ "2026-12-31T23:59:59-18:00", 1798826399, -64800 },
		{ "2026-01-01T00:00:00+18:00", 1767160800, 64800 },
		{ "0001-01-01T00:00:00Z", -62135596800, 0 },
		{ "0000-03-01T00:00:00Z", -62162035200, 0 },
		{ "9999-12-31T23:59:59Z", 253402300799, 0 },
		{ "2038-01-19T03:14:08Z", 2147483648, 0 },
		{ "2100-03-01T00:00:00Z", 4107542400, 0 },
		{ "1900-03-01T00:00:00Z", -2203891200, 0 },
		{ "2026-06-15T08:45:30.123456+02:00", 1781505930, 7200 },
		{ "2026-06-15T08:45:30.9Z", 1781505930 + 7200, 0 },
		{ "2019-12-31T16:00:00-08:00", 1577836800, -28800 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t epoch = 12345;
		int32_t offset = 12345;
		cr_expect_eq(event_parse_rfc3339(cases[i].ts, strlen(cases[i].ts), &epoch, &offset), 0,
		             "%s", cases[i].ts);
		cr_expect_eq(epoch, cases[i].epoch, "%s: %lld", cases[i].ts, (long long)epoch);
		cr_expect_eq(offset, cases[i].offset, "%s", cases[i].ts);
	}
}

Test(event_time, rfc3339_invalid)
{
	static const char *const cases[] = {
		"",
		"2026-03-01",
		"2026-03-01T",
		"2026-03-01T00:30:00",
		"2026-03-01T00:30Z",
		"2026-03-01T00:30:00.Z",
		"2026-03-01T00:30:00.123",
		"2026-03-01 00:30:00Z",
		"2026-03-01_00:30:00Z",
		"2026-13-01T00:00:00Z",
		"2026-00-10T00:00:00Z",
		"2026-01-00T00:00:00Z",
		"2026-01-32T00:00:00Z",
		"2026-02-29T00:00:00Z",
		"1900-02-29T00:00:00Z",
		"2026-04-31T00:00:00Z",
		"2026-06-31T00:00:00Z",
		"2026-09-31T00:00:00Z",
		"2026-11-31T00:00:00Z",
		"2026-03-01T24:00:00Z",
		"2026-03-01T23:60:00Z",
		"2026-03-01T23:59:60Z",
		"2026-03-01T23:59:61Z",
		"2026-03-01T00:30:00+18:01",
		"2026-03-01T00:30:00-18:30",
		"2026-03-01T00:30:00+19:00",
		"2026-03-01T00:30:00+99:00",
		"2026-03-01T00:30:00+08:60",
		"2026-03-01T00:30:00+0800",
		"2026-03-01T00:30:00+08",
		"2026-03-01T00:30:00+8:00",
		"2026-03-01T00:30:00 +08:00",
		"2026-03-01T00:30:00+08:00 ",
		" 2026-03-01T00:30:00Z",
		"2026-03-01T00:30:00Zjunk",
		"2026-03-01T00:30:00ZZ",
		"2026-03-01T00:30:00UTC",
		"26-03-01T00:30:00Z",
		"+2026-03-01T00:30:00Z",
		"2026/03/01T00:30:00Z",
		"2026-3-1T0:30:00Z",
		"2026-03-01T0:30:00Z",
		"2026-03-01T00:30:0Z",
		"2026-03-01T00:30:00,5Z",
		"2026-03-01T00-30-00Z",
		"20260301T003000Z",
		"2026-03-01T00:30:00.-1Z",
		"2026-03-01T00:30:00.1e3Z",
		"\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x96-03-01T00:30:00Z",
		"1772296200",
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t epoch = 777;
		int32_t offset = 777;
		cr_expect_eq(event_parse_rfc3339(cases[i], strlen(cases[i]), &epoch, &offset),
		             RISKD_ERR_INVALID, "accepted \"%s\"", cases[i]);
		cr_expect_eq(epoch, 777, "%s changed the output", cases[i]);
		cr_expect_eq(offset, 777);

		/* The decoder rejects the same strings as bad timestamps. */
		char json[256], err[ERR_SIZE];
		struct event ev;
		snprintf(json, sizeof json, "{\"type\":\"bill\",\"event_id\":\"b\",\"ts\":\"%s\"}",
		         cases[i]);
		cr_expect_eq(decode_str(json, &ev, err), EVENT_REJECT_BAD_TIMESTAMP, "%s: %s",
		             cases[i], err);
	}
	/* Length bounds the parse: a valid prefix followed by more bytes is not read past len. */
	int64_t epoch;
	int32_t offset;
	const char *s = "2026-03-01T00:30:00Z";
	cr_expect_eq(event_parse_rfc3339(s, strlen(s) - 1, &epoch, &offset), RISKD_ERR_INVALID);
	cr_expect_eq(event_parse_rfc3339(s, 10, &epoch, &offset), RISKD_ERR_INVALID);
}

Test(event_time, parse_date)
{
	static const struct {
		const char *date;
		int32_t days;
	} valid[] = {
		{ "1970-01-01", 0 },     { "1969-12-31", -1 },    { "2026-03-01", 20513 },
		{ "2026-03-02", 20514 }, { "2024-02-29", 19782 }, { "2000-01-01", 10957 },
		{ "1900-03-01", -25508 }, { "2015-06-01", 16587 }, { "0001-01-01", -719162 },
		{ "9999-12-31", 2932896 }, { "0000-01-01", -719528 },
	};
	static const char *const invalid[] = {
		"", "2026-3-01", "2026-03-1", "2026-02-29", "2100-02-29", "2026-13-01", "2026-00-01",
		"2026-01-00", "2026-01-32", "2026/03/01", "20260301", "2026-03-01T00:00:00Z",
		"2026-03-01 ", " 2026-03-01", "-026-03-01", "2026-0a-01", "2026-03-0\xc2\xb2",
	};
	for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
		int32_t days = 777;
		cr_expect_eq(event_parse_date(valid[i].date, strlen(valid[i].date), &days), 0, "%s",
		             valid[i].date);
		cr_expect_eq(days, valid[i].days, "%s: %d", valid[i].date, days);
	}
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		int32_t days = 777;
		cr_expect_eq(event_parse_date(invalid[i], strlen(invalid[i]), &days), RISKD_ERR_INVALID,
		             "accepted \"%s\"", invalid[i]);
		cr_expect_eq(days, 777);
	}
}

Test(event_time, format_date_round_trip_and_gmtime_oracle)
{
	/* Every day from 0000-01-01 to 9999-12-31: format, compare with the C library's own
	 * calendar (gmtime_r), and parse back. */
	const int32_t first = -719528, last = 2932896;
	char buf[40], expected[40];
	int32_t days;
	for (int32_t d = first; d <= last; d++) {
		struct tm tm;
		time_t t = (time_t)d * 86400;
		cr_assert_not_null(gmtime_r(&t, &tm));
		snprintf(expected, sizeof expected, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
		         tm.tm_mday);
		event_format_date(d, buf, sizeof buf);
		if (strcmp(buf, expected) != 0)
			cr_assert_fail("day %d: formatted %s, gmtime says %s", d, buf, expected);
		if (event_parse_date(buf, strlen(buf), &days) != 0 || days != d)
			cr_assert_fail("day %d: %s parsed back as %d", d, buf, days);
	}
	event_format_date(20513, buf, sizeof buf);
	cr_expect_str_eq(buf, "2026-03-01");
	event_format_date(0, buf, 11);
	cr_expect_str_eq(buf, "1970-01-01");
	event_format_date(20513, buf, 5);
	cr_expect_str_eq(buf, "2026");
	/* Extremes do not crash and stay within the buffer. */
	char big[32];
	event_format_date(INT32_MAX, big, sizeof big);
	cr_expect_str_eq(big, "5881580-07-11");
	event_format_date(INT32_MIN, big, sizeof big);
	cr_expect_str_eq(big, "-5877641-06-23");
	event_format_date(INT32_MIN, buf, 11);
	cr_expect_eq(strlen(buf), 10u);
}

/* ------------------------------------------------------------------------------------------ */
/* Energy check                                                                               */

static struct event reading(double kwh, int32_t interval_s, bool has_reverse, double reverse)
{
	struct event ev;
	memset(&ev, 0, sizeof ev);
	ev.type = EVENT_METER_READING;
	ev.u.reading.kwh = kwh;
	ev.u.reading.interval_s = interval_s;
	if (has_reverse) {
		ev.has |= EVENT_HAS_REVERSE_KWH;
		ev.u.reading.reverse_kwh = reverse;
	}
	return ev;
}

Test(event_energy, cases)
{
	struct event tr;
	memset(&tr, 0, sizeof tr);
	tr.type = EVENT_TRANSFORMER_READING;
	tr.u.transformer.kwh = 400;
	tr.u.transformer.interval_s = 900;
	struct event bill;
	memset(&bill, 0, sizeof bill);
	bill.type = EVENT_BILL;
	bill.u.bill.amount = 1e12;

	const struct {
		struct event ev;
		double capacity_kw, max_kw_unknown;
		enum event_reject want;
		const char *message;
	} cases[] = {
		{ reading(10.0, 1800, false, 0), 20, 2000, EVENT_REJECT_NONE, NULL },
		{ reading(12.5, 1800, false, 0), 20, 2000, EVENT_REJECT_IMPOSSIBLE,
		  "kwh 12.5 exceeds 10 kWh allowed by capacity_kw 20 over 1800 s" },
		{ reading(10.0 * (1 + 1e-6), 1800, false, 0), 20, 2000, EVENT_REJECT_IMPOSSIBLE, NULL },
		{ reading(0.175, 900, false, 0), 0.7, 2000, EVENT_REJECT_NONE, NULL },
		{ reading(0.3, 3600, false, 0), 0.1 + 0.2, 2000, EVENT_REJECT_NONE, NULL },
		{ reading(1000, 1800, false, 0), 0, 2000, EVENT_REJECT_NONE, NULL },
		{ reading(1000.5, 1800, false, 0), 0, 2000, EVENT_REJECT_IMPOSSIBLE,
		  "kwh 1000.5 exceeds 1000 kWh allowed by max_kw_unknown_profile 2000 over 1800 s" },
		{ reading(1000.5, 1800, false, 0), -3, 2000, EVENT_REJECT_IMPOSSIBLE, NULL },
		{ reading(1000.5, 1800, false, 0), NAN, 2000, EVENT_REJECT_IMPOSSIBLE, NULL },
		{ reading(1, 900, true, 3), 8, 2000, EVENT_REJECT_IMPOSSIBLE,
		  "reverse_kwh 3 exceeds 2 kWh allowed by capacity_kw 8 over 900 s" },
		{ reading(1, 900, false, 3), 8, 2000, EVENT_REJECT_NONE, NULL },
		{ reading(1e9, 86400, false, 0), 0, 0, EVENT_REJECT_NONE, NULL },
		{ tr, 0, 2000, EVENT_REJECT_NONE, NULL },
		{ tr, 0, 600, EVENT_REJECT_IMPOSSIBLE,
		  "kwh 400 exceeds 150 kWh allowed by max_kw_unknown_profile 600 over 900 s" },
		{ bill, 1, 1, EVENT_REJECT_NONE, NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[ERR_SIZE] = "";
		enum event_reject rc = event_check_energy(&cases[i].ev, cases[i].capacity_kw,
		                                          cases[i].max_kw_unknown, err, sizeof err);
		cr_expect_eq(rc, cases[i].want, "case %zu: %s", i, err);
		if (cases[i].message)
			cr_expect_str_eq(err, cases[i].message, "case %zu", i);
	}
}

Test(event_energy, decoded_reading_end_to_end)
{
	struct event ev;
	char err[ERR_SIZE];
	cr_assert_eq(decode_str(MR("\"kwh\":12.5,\"interval_s\":1800"), &ev, err),
	             EVENT_REJECT_NONE, "%s", err);
	cr_expect_eq(event_check_energy(&ev, 20, 2000, err, sizeof err), EVENT_REJECT_IMPOSSIBLE);
	cr_expect_str_eq(err, "kwh 12.5 exceeds 10 kWh allowed by capacity_kw 20 over 1800 s");
	cr_expect_eq(event_check_energy(&ev, 25, 2000, err, sizeof err), EVENT_REJECT_NONE);
}

/* ------------------------------------------------------------------------------------------ */
/* Names                                                                                      */

Test(event_names, all_names)
{
	static const char *const reject_names[] = {
		"none", "too_large", "utf8", "json", "unknown_type", "missing_field", "field_type",
		"unknown_field", "bad_value", "bad_timestamp", "impossible", "wrong_topic",
		"key_mismatch", "conflict",
	};
	cr_assert_eq(sizeof reject_names / sizeof reject_names[0], EVENT_REJECT__COUNT);
	for (int i = 0; i < EVENT_REJECT__COUNT; i++)
		cr_expect_str_eq(event_reject_name((enum event_reject)i), reject_names[i]);
	cr_expect_str_eq(event_reject_name(EVENT_REJECT__COUNT), "unknown");
	cr_expect_str_eq(event_reject_name((enum event_reject)-1), "unknown");
	for (size_t t = 0; t < NTYPES; t++)
		cr_expect_str_eq(event_type_name((enum event_type)t), type_cases[t].type);
	cr_expect_str_eq(event_type_name(EVENT_TYPE__COUNT), "unknown");
	cr_expect_str_eq(meter_event_code_name(METER_CODE__COUNT), "unknown");
	cr_expect_str_eq(segment_name(SEGMENT_UNKNOWN), "unknown");
	cr_expect_str_eq(segment_name(SEGMENT__COUNT), "unknown");
}

/* ------------------------------------------------------------------------------------------ */
/* A profile's attributes: their shape in the decoder, their values against a schema           */

#define PROFILE_HEAD                                                                          \
	"{\"type\":\"customer\",\"event_id\":\"p-1\",\"ts\":\"2026-03-01T00:00:00+08:00\","     \
	"\"customer_id\":\"C-1\",\"segment\":\"commercial\",\"transformer_id\":\"T-1\","

Test(event_attributes, shape_is_checked_by_the_decoder)
{
	static const struct {
		const char *attributes;
		enum event_reject reason;
		const char *message;
	} cases[] = {
		{"{}", EVENT_REJECT_NONE, ""},
		{"{\"business_type\":\"retail\",\"staff\":12.5}", EVENT_REJECT_NONE, ""},
		{"[]", EVENT_REJECT_FIELD_TYPE, "field 'attributes': must be an object, got an array"},
		{"\"retail\"", EVENT_REJECT_FIELD_TYPE,
		 "field 'attributes': must be an object, got string \"retail\""},
		{"null", EVENT_REJECT_FIELD_TYPE, "field 'attributes': must be an object, got null"},
		{"{\"a\":{}}", EVENT_REJECT_FIELD_TYPE,
		 "field 'attributes': attribute 'a' must be a string or a number, got an object"},
		{"{\"Business\":\"retail\"}", EVENT_REJECT_BAD_VALUE,
		 "field 'attributes': 'Business' is not an attribute name (lower-case letters, digits "
		 "and '_', starting with a letter, at most 48 bytes)"},
		{"{\"open\":true}", EVENT_REJECT_FIELD_TYPE,
		 "field 'attributes': attribute 'open' must be a string or a number, got true"},
		{"{\"note\":\"\"}", EVENT_REJECT_BAD_VALUE,
		 "field 'attributes': attribute 'note' must be 1 to 63 bytes without control "
		 "characters"},
		{"{\"note\":\"a\\nb\"}", EVENT_REJECT_BAD_VALUE,
		 "field 'attributes': attribute 'note' must be 1 to 63 bytes without control "
		 "characters"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char json[1024], err[ERR_SIZE];
		struct event ev;
		snprintf(json, sizeof json, PROFILE_HEAD "\"attributes\":%s}", cases[i].attributes);
		cr_expect_eq(decode_str(json, &ev, err), cases[i].reason, "%s: %s", json, err);
		if (cases[i].reason == EVENT_REJECT_NONE)
			cr_expect(ev.has & EVENT_HAS_ATTRIBUTES, "%s", json);
		else
			cr_expect_str_eq(err, cases[i].message);
	}
}

/* The shipped schema's two attributes, built in memory. */
static struct attr_schema *test_schema(void)
{
	struct attr_schema *schema = attr_schema_new();
	int slot = attr_schema_add(schema, "business_type", ATTR_CATEGORY);
	static const char *const values[] = {"retail", "hospitality", "manufacturing"};
	for (size_t v = 0; v < 3; v++)
		attr_def_add_value(&schema->defs[slot], values[v], strlen(values[v]));
	slot = attr_schema_add(schema, "years_at_address", ATTR_NUMBER);
	schema->defs[slot].min = 0;
	schema->defs[slot].max = 150;
	return schema;
}

Test(event_attributes, values_are_read_against_the_schema)
{
	static const struct {
		const char *attributes;
		enum event_reject reason;
		const char *message;
	} cases[] = {
		{"{\"years_at_address\":12,\"business_type\":\"manufacturing\"}", EVENT_REJECT_NONE,
		 ""},
		{"{\"business_kind\":\"retail\"}", EVENT_REJECT_UNKNOWN_FIELD,
		 "unknown attribute 'business_kind': not declared in the attribute schema"},
		{"{\"business_type\":\"bakery\"}", EVENT_REJECT_BAD_VALUE,
		 "'bakery' is not one of the values of attribute business_type"},
		{"{\"business_type\":3}", EVENT_REJECT_FIELD_TYPE,
		 "attribute 'business_type' is a category: its value must be a string"},
		{"{\"years_at_address\":\"12\"}", EVENT_REJECT_FIELD_TYPE,
		 "attribute 'years_at_address' is a number: its value must be a JSON number"},
		{"{\"years_at_address\":151}", EVENT_REJECT_BAD_VALUE,
		 "attribute 'years_at_address': 151 is outside its range 0 .. 150"},
	};
	struct attr_schema *schema = test_schema();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char json[1024], err[ERR_SIZE] = "";
		struct event ev;
		struct attr_vec av;
		snprintf(json, sizeof json, PROFILE_HEAD "\"attributes\":%s}", cases[i].attributes);
		cr_assert_eq(decode_str(json, &ev, err), EVENT_REJECT_NONE, "%s: %s", json, err);
		enum event_reject rc =
		    event_attributes_read(json, strlen(json), schema, &av, err, sizeof err);
		cr_expect_eq(rc, cases[i].reason, "%s: %s", json, err);
		if (rc != EVENT_REJECT_NONE) {
			cr_expect_str_eq(err, cases[i].message);
			continue;
		}
		cr_expect_eq(av.known, 3u);
		cr_expect_eq(av.value[0], 2.0, "manufacturing is code 2");
		cr_expect_eq(av.value[1], 12.0);
	}
	attr_schema_free(schema);
}
