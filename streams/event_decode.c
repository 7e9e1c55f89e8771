/*
 * event_decode.c - strict decoding of one input message into a struct event.
 *
 * First step of the detector's per-message path: each Kafka payload comes here; an accepted
 * event goes on to customer state, a rejected one goes to risk.dead-letter with the reason
 * name (event_reject_name) as metric label and the one-line message as its x-error header.
 * A plainly written event is decoded by the single-pass fast path (event_fast.c); anything
 * else, and every reject, goes through the jansson decoder here, which is the authority.
 * Its checks run cheapest first: payload size, UTF-8, JSON shape (jansson), "type", then every
 * member in payload order against the type's field table, then required fields never seen.
 * The contract itself is documented in docs/events.md; the field tables below are its code.
 * This file also holds the contract's time parsers (RFC 3339 timestamps, YYYY-MM-DD dates).
 */
#include "event.h"
#include "event_int.h"
#include "json_arena.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest offset from UTC a timestamp may carry, in seconds (RFC 3339 allows any; we cap at 18 h). */
#define EVENT_MAX_UTC_OFFSET_S (18 * 3600)
/* Days from 0000-01-01 to 1970-01-01 in the proleptic Gregorian calendar. */
#define DAYS_0000_TO_1970 719528
/* Days in 400 Gregorian years. */
#define DAYS_PER_400Y 146097
/* How many bytes of a value (or key) an error message quotes before cutting it with "...". */
#define QUOTE_MAX_BYTES 48

/* ------------------------------------------------------------------------------------------ */
/* Names                                                                                       */

/* Each table is sized by its initialiser and checked against its enum, so adding an enum value
 * without its name fails to compile instead of yielding NULL (event_int.h declares them
 * unsized for that reason). */
const char *const event_type_names[] = {
	"meter_reading", "meter_event", "bill", "payment", "payment_reversal", "customer",
	"transformer_reading",
};
_Static_assert(sizeof event_type_names / sizeof event_type_names[0] == EVENT_TYPE__COUNT,
               "event_type_names out of step with enum event_type");

const char *const event_meter_code_names[] = {
	"cover_open", "magnetic_interference", "reverse_flow", "phase_loss", "clock_reset",
	"power_outage", "meter_replaced",
};
_Static_assert(sizeof event_meter_code_names / sizeof event_meter_code_names[0] == METER_CODE__COUNT,
               "event_meter_code_names out of step with enum meter_event_code");

const char *const event_segment_names[] = {
	"unknown", "residential", "commercial", "industrial", "agricultural",
};
_Static_assert(sizeof event_segment_names / sizeof event_segment_names[0] == SEGMENT__COUNT,
               "event_segment_names out of step with enum segment");

/* WRONG_TOPIC and KEY_MISMATCH are decided by the detector, which knows the message's topic
 * and key; their names live here so every reason has one label. */
static const char *const reject_names[] = {
	"none", "too_large", "utf8", "json", "unknown_type", "missing_field", "field_type",
	"unknown_field", "bad_value", "bad_timestamp", "impossible", "wrong_topic", "key_mismatch",
};
_Static_assert(sizeof reject_names / sizeof reject_names[0] == EVENT_REJECT__COUNT,
               "reject_names out of step with enum event_reject");

/* Returns the contract name of an event type ("meter_reading", ...), "unknown" if out of range. */
const char *event_type_name(enum event_type type)
{
	if ((unsigned)type >= EVENT_TYPE__COUNT)
		return "unknown";
	return event_type_names[type];
}

/* Returns the contract name of a meter event code ("cover_open", ...), "unknown" if out of range. */
const char *meter_event_code_name(enum meter_event_code code)
{
	if ((unsigned)code >= METER_CODE__COUNT)
		return "unknown";
	return event_meter_code_names[code];
}

/* Returns the contract name of a segment ("residential", ...); "unknown" for SEGMENT_UNKNOWN
 * and anything out of range. */
const char *segment_name(enum segment segment)
{
	if ((unsigned)segment >= SEGMENT__COUNT)
		return "unknown";
	return event_segment_names[segment];
}

/* Returns the metric label of a reject reason ("bad_value", ...), "unknown" if out of range. */
const char *event_reject_name(enum event_reject reason)
{
	if ((unsigned)reason >= EVENT_REJECT__COUNT)
		return "unknown";
	return reject_names[reason];
}

/* ------------------------------------------------------------------------------------------ */
/* Calendar                                                                                    */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static bool is_leap_year(int64_t year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int64_t year, int month)
{
	static const unsigned char mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (month == 2 && is_leap_year(year))
		return 29;
	return mdays[month - 1];
}

/* Days before the first of each month in a common year. */
static const unsigned short days_before_month[12] = {
	0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334,
};

/* Days from the start of a 400-year cycle (whose first year, like year 0, is leap) to the
 * start of its year k, 0 <= k <= 400. */
static int64_t days_before_cycle_year(int64_t k)
{
	return 365 * k + (k + 3) / 4 - (k + 99) / 100 + (k + 399) / 400;
}

/* Days since 1970-01-01 of a valid proleptic Gregorian date. */
static int64_t days_from_date(int64_t year, int month, int day)
{
	int64_t cycle = floor_div(year, 400);
	int64_t k = year - cycle * 400;
	int64_t doy = days_before_month[month - 1] + (month > 2 && is_leap_year(year)) + day - 1;
	return cycle * DAYS_PER_400Y + days_before_cycle_year(k) + doy - DAYS_0000_TO_1970;
}

/* Inverse of days_from_date. */
static void date_from_days(int64_t days, int64_t *year, int *month, int *day)
{
	int64_t d0 = days + DAYS_0000_TO_1970;
	int64_t cycle = floor_div(d0, DAYS_PER_400Y);
	int64_t rem = d0 - cycle * DAYS_PER_400Y; /* 0 .. 146096 */
	int64_t k = rem / 366;                    /* never past the right year, at most two short */
	while (days_before_cycle_year(k + 1) <= rem)
		k++;
	int64_t doy = rem - days_before_cycle_year(k);
	int64_t y = cycle * 400 + k;
	int leap = is_leap_year(y);
	int m = 12;
	while (m > 1 && doy < days_before_month[m - 1] + (m > 2 ? leap : 0))
		m--;
	*year = y;
	*month = m;
	*day = (int)(doy - days_before_month[m - 1] - (m > 2 ? leap : 0)) + 1;
}

/* ------------------------------------------------------------------------------------------ */
/* RFC 3339 and YYYY-MM-DD                                                                     */

/* A parsed timestamp as written, before conversion to UTC. */
struct civil_ts {
	int year, month, day;
	int hour, minute, second;
	int32_t offset_s;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads n decimal digits at s; returns -1 if any is not a digit. */
static int read_digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Parses "YYYY-MM-DD" at the start of s (len >= 10 checked by the caller).
 * Returns NULL, or why the date is not valid. */
static const char *parse_date_part(const char *s, struct civil_ts *ct)
{
	int year = read_digits(s, 4);
	int month = read_digits(s + 5, 2);
	int day = read_digits(s + 8, 2);
	if (year < 0 || month < 0 || day < 0 || s[4] != '-' || s[7] != '-')
		return "expected YYYY-MM-DD";
	if (month < 1 || month > 12)
		return "month out of range";
	if (day < 1 || day > days_in_month(year, month))
		return "day out of range for the month";
	ct->year = year;
	ct->month = month;
	ct->day = day;
	return NULL;
}

/* Parses a full RFC 3339 date-time with a mandatory offset. Returns NULL, or why not. */
static const char *parse_rfc3339(const char *s, size_t len, struct civil_ts *ct)
{
	const char *why;
	size_t pos;

	if (len < 10)
		return "expected YYYY-MM-DDTHH:MM:SS followed by Z or +HH:MM";
	why = parse_date_part(s, ct);
	if (why)
		return why;
	if (len == 10)
		return "missing time of day";
	if (s[10] != 'T' && s[10] != 't')
		return "expected 'T' between date and time";
	if (len < 19)
		return "expected HH:MM:SS after 'T'";
	ct->hour = read_digits(s + 11, 2);
	ct->minute = read_digits(s + 14, 2);
	ct->second = read_digits(s + 17, 2);
	if (ct->hour < 0 || ct->minute < 0 || ct->second < 0 || s[13] != ':' || s[16] != ':')
		return "expected HH:MM:SS after 'T'";
	if (ct->hour > 23)
		return "hour out of range";
	if (ct->minute > 59)
		return "minute out of range";
	if (ct->second > 59)
		return "second out of range (leap seconds are not accepted)";
	pos = 19;
	if (pos < len && s[pos] == '.') {
		size_t first = ++pos;
		while (pos < len && is_digit(s[pos]))
			pos++;
		if (pos == first)
			return "expected digits after '.'";
	}
	if (pos == len)
		return "missing UTC offset (Z or +HH:MM)";
	if (s[pos] == 'Z' || s[pos] == 'z') {
		ct->offset_s = 0;
		pos++;
	} else if (s[pos] == '+' || s[pos] == '-') {
		if (len - pos < 6)
			return "expected UTC offset +HH:MM";
		int oh = read_digits(s + pos + 1, 2);
		int om = read_digits(s + pos + 4, 2);
		if (oh < 0 || om < 0 || s[pos + 3] != ':')
			return "expected UTC offset +HH:MM";
		if (om > 59 || oh * 3600 + om * 60 > EVENT_MAX_UTC_OFFSET_S)
			return "UTC offset out of range (at most 18:00)";
		ct->offset_s = (s[pos] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
		pos += 6;
	} else {
		return "missing UTC offset (Z or +HH:MM)";
	}
	if (pos != len)
		return "unexpected characters after the UTC offset";
	return NULL;
}

static int64_t civil_ts_epoch(const struct civil_ts *ct)
{
	return days_from_date(ct->year, ct->month, ct->day) * 86400 + ct->hour * 3600 +
	       ct->minute * 60 + ct->second - ct->offset_s;
}

/*
 * Parses an RFC 3339 timestamp with a mandatory offset into Unix seconds (fraction dropped)
 * and the written offset in seconds. 'T'/'Z' may be lower case (RFC 3339 5.6); offsets up to
 * +-18:00; leap second 60 is refused. Returns 0, or RISKD_ERR_INVALID leaving outputs alone.
 * Pure and thread-safe.
 */
int event_parse_rfc3339(const char *s, size_t len, int64_t *epoch_s, int32_t *offset_s)
{
	struct civil_ts ct;
	if (!s || parse_rfc3339(s, len, &ct))
		return RISKD_ERR_INVALID;
	*epoch_s = civil_ts_epoch(&ct);
	*offset_s = ct.offset_s;
	return 0;
}

/*
 * Parses exactly "YYYY-MM-DD" (a real Gregorian date, year 0000..9999) into days since
 * 1970-01-01. Returns 0, or RISKD_ERR_INVALID leaving *days alone. Pure and thread-safe.
 */
int event_parse_date(const char *s, size_t len, int32_t *days)
{
	struct civil_ts ct;
	if (!s || len != 10 || parse_date_part(s, &ct))
		return RISKD_ERR_INVALID;
	*days = (int32_t)days_from_date(ct.year, ct.month, ct.day);
	return 0;
}

/*
 * Formats days since 1970-01-01 as "YYYY-MM-DD" (proleptic Gregorian; years outside
 * 0..9999 print with more digits or a sign) into out, truncated to out_size (11 bytes fit
 * every date the parsers accept). Pure and thread-safe.
 */
void event_format_date(int32_t days, char *out, size_t out_size)
{
	int64_t year;
	int month, day;
	if (!out || out_size == 0)
		return;
	date_from_days(days, &year, &month, &day);
	snprintf(out, out_size, "%04lld-%02d-%02d", (long long)year, month, day);
}

/* ------------------------------------------------------------------------------------------ */
/* UTF-8                                                                                       */

/*
 * Returns the offset of the first byte of the first ill-formed UTF-8 sequence in p, or len
 * when all of p is well formed (Unicode table 3-7: no overlongs, no surrogates, nothing above
 * U+10FFFF, no truncated sequence at the end). Runs of ASCII are skipped eight bytes at a time.
 */
size_t event_utf8_find_invalid(const unsigned char *p, size_t len)
{
	size_t i = 0;
	while (i < len) {
		while (len - i >= 8) {
			uint64_t word;
			memcpy(&word, p + i, 8);
			if (word & UINT64_C(0x8080808080808080))
				break;
			i += 8;
		}
		if (i == len)
			break;
		unsigned char c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t tail;
		unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
		if (c >= 0xC2 && c <= 0xDF) {
			tail = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			tail = 2;
			if (c == 0xE0)
				lo = 0xA0; /* overlong below U+0800 */
			else if (c == 0xED)
				hi = 0x9F; /* surrogates U+D800..U+DFFF */
		} else if (c >= 0xF0 && c <= 0xF4) {
			tail = 3;
			if (c == 0xF0)
				lo = 0x90; /* overlong below U+10000 */
			else if (c == 0xF4)
				hi = 0x8F; /* above U+10FFFF */
		} else {
			return i; /* stray continuation byte, C0/C1 overlong lead, or F5..FF */
		}
		if (len - i <= tail)
			return i;
		if (p[i + 1] < lo || p[i + 1] > hi)
			return i;
		for (size_t k = 2; k <= tail; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return i;
		}
		i += tail + 1;
	}
	return len;
}

/*
 * Returns the offset of the first control character in s (C0, DEL, or C1 as 0xC2 0x80..0x9F),
 * or len when there is none; *cp receives its code point. Pure and thread-safe.
 */
size_t event_text_find_control(const char *s, size_t len, unsigned *cp)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] < 0xA0) {
			*cp = (unsigned char)s[i + 1]; /* C1 control U+0080..U+009F */
			return i;
		}
		if (c < 0x20 || c == 0x7F) {
			*cp = c;
			return i;
		}
	}
	return len;
}

/* ------------------------------------------------------------------------------------------ */
/* Error messages                                                                              */

static enum event_reject reject(enum event_reject reason, char *errstr, size_t errstr_size,
                                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum event_reject reject(enum event_reject reason, char *errstr, size_t errstr_size,
                                const char *fmt, ...)
{
	if (errstr && errstr_size > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(errstr, errstr_size, fmt, ap);
		va_end(ap);
	}
	return reason;
}

/*
 * Copies text (len bytes) into out for a one-line message: control characters become \xNN
 * (C0, DEL) or \u00NN (C1), and when escape_quotes also '"' and '\\' are escaped; at most
 * max_bytes of input are shown, cut at a character boundary and followed by "...". Bytes that
 * are not valid UTF-8 (possible only in jansson's own messages) are shown as \xNN.
 */
static void quote_text(char *out, size_t out_size, const char *text, size_t len,
                       size_t max_bytes, bool escape_quotes)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t o = 0, i = 0;
	if (out_size == 0)
		return;
	/* One input character needs at most 6 output bytes; keep room for "..." and the NUL. */
	while (i < len && i < max_bytes && o + 6 + 4 < out_size) {
		unsigned char c = s[i];
		size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
		if (c < 0x20 || c == 0x7F) {
			o += (size_t)snprintf(out + o, out_size - o, "\\x%02x", c);
		} else if (n == 1) {
			if (escape_quotes && (c == '"' || c == '\\'))
				out[o++] = '\\';
			out[o++] = (char)c;
		} else if (n > len - i || event_utf8_find_invalid(s + i, n) != n) {
			o += (size_t)snprintf(out + o, out_size - o, "\\x%02x", c);
			n = 1;
		} else if (c == 0xC2 && s[i + 1] < 0xA0) {
			o += (size_t)snprintf(out + o, out_size - o, "\\u%04x", s[i + 1]);
		} else {
			memcpy(out + o, s + i, n);
			o += n;
		}
		i += n;
	}
	if (i < len && o + 4 <= out_size) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* Writes the shortest "%.Ng" form of v that reads back as v. */
static void format_double(char *out, size_t out_size, double v)
{
	snprintf(out, out_size, "%.15g", v);
	if (isfinite(v) && strtod(out, NULL) != v)
		snprintf(out, out_size, "%.17g", v);
}

/* Writes a JSON number as written: integers exactly, reals in shortest form; with mark_real a
 * real that looks integral gets ".0", so "must be an integer, got number 900.0" reads right. */
static void format_json_number(char *out, size_t out_size, const json_t *value, bool mark_real)
{
	if (json_is_integer(value)) {
		snprintf(out, out_size, "%lld", (long long)json_integer_value(value));
		return;
	}
	format_double(out, out_size, json_real_value(value));
	if (mark_real && !strpbrk(out, ".eEn")) {
		size_t n = strlen(out);
		if (n + 3 <= out_size)
			memcpy(out + n, ".0", 3);
	}
}

/* Describes a JSON value for a field type error: "string \"1.5\"", "number 5", "null", ... */
static void describe_json(const json_t *value, char *out, size_t out_size)
{
	char text[QUOTE_MAX_BYTES * 6 + 8];
	switch (json_typeof(value)) {
	case JSON_OBJECT:
		snprintf(out, out_size, "an object");
		break;
	case JSON_ARRAY:
		snprintf(out, out_size, "an array");
		break;
	case JSON_STRING:
		quote_text(text, sizeof text, json_string_value(value), json_string_length(value),
		           QUOTE_MAX_BYTES, true);
		snprintf(out, out_size, "string \"%s\"", text);
		break;
	case JSON_INTEGER:
	case JSON_REAL:
		format_json_number(text, sizeof text, value, true);
		snprintf(out, out_size, "number %s", text);
		break;
	case JSON_TRUE:
		snprintf(out, out_size, "true");
		break;
	case JSON_FALSE:
		snprintf(out, out_size, "false");
		break;
	default:
		snprintf(out, out_size, "null");
		break;
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Field tables                                                                                */

#define FIELD(nm, kind, range, req, bit, member)                                              \
	{ nm, sizeof(nm) - 1, kind, range, req, bit, (uint16_t)offsetof(struct event, member) }
#define REQ(nm, kind, range, member) FIELD(nm, kind, range, 1, 0, member)
#define OPT(nm, kind, range, bit, member) FIELD(nm, kind, range, 0, bit, member)
#define COMMON_FIELDS                                                                        \
	REQ("type", FK_TYPE, NR_NONE, type), REQ("event_id", FK_EVENT_ID, NR_NONE, event_id),    \
	    REQ("ts", FK_TS, NR_NONE, ts)

static const struct field_spec meter_reading_fields[] = {
	COMMON_FIELDS,
	REQ("customer_id", FK_ID, NR_NONE, entity_id),
	REQ("meter_id", FK_ID, NR_NONE, u.reading.meter_id),
	REQ("kwh", FK_NUMBER, NR_NON_NEGATIVE, u.reading.kwh),
	REQ("interval_s", FK_INTERVAL, NR_NONE, u.reading.interval_s),
	OPT("voltage", FK_NUMBER, NR_NON_NEGATIVE, EVENT_HAS_VOLTAGE, u.reading.voltage),
	OPT("current", FK_NUMBER, NR_NON_NEGATIVE, EVENT_HAS_CURRENT, u.reading.current),
	OPT("power_factor", FK_NUMBER, NR_UNIT, EVENT_HAS_POWER_FACTOR, u.reading.power_factor),
	OPT("reverse_kwh", FK_NUMBER, NR_NON_NEGATIVE, EVENT_HAS_REVERSE_KWH, u.reading.reverse_kwh),
};

static const struct field_spec meter_event_fields[] = {
	COMMON_FIELDS,
	REQ("customer_id", FK_ID, NR_NONE, entity_id),
	REQ("meter_id", FK_ID, NR_NONE, u.meter_event.meter_id),
	REQ("code", FK_METER_CODE, NR_NONE, u.meter_event.code),
};

static const struct field_spec bill_fields[] = {
	COMMON_FIELDS,
	REQ("customer_id", FK_ID, NR_NONE, entity_id),
	REQ("bill_id", FK_ID, NR_NONE, u.bill.bill_id),
	REQ("amount", FK_NUMBER, NR_NON_NEGATIVE, u.bill.amount),
	REQ("due_date", FK_DATE, NR_NONE, u.bill.due_date),
	OPT("period_kwh", FK_NUMBER, NR_NON_NEGATIVE, EVENT_HAS_PERIOD_KWH, u.bill.period_kwh),
};

static const struct field_spec payment_fields[] = {
	COMMON_FIELDS,
	REQ("customer_id", FK_ID, NR_NONE, entity_id),
	REQ("amount", FK_NUMBER, NR_POSITIVE, u.payment.amount),
	OPT("bill_id", FK_ID, NR_NONE, EVENT_HAS_BILL_ID, u.payment.bill_id),
	OPT("channel", FK_TEXT, NR_NONE, EVENT_HAS_CHANNEL, u.payment.channel),
};

static const struct field_spec payment_reversal_fields[] = {
	COMMON_FIELDS,
	REQ("customer_id", FK_ID, NR_NONE, entity_id),
	REQ("amount", FK_NUMBER, NR_POSITIVE, u.reversal.amount),
	REQ("payment_event_id", FK_EVENT_ID, NR_NONE, u.reversal.payment_event_id),
	OPT("reason", FK_TEXT, NR_NONE, EVENT_HAS_REASON, u.reversal.reason),
};

static const struct field_spec customer_fields[] = {
	COMMON_FIELDS,
	REQ("customer_id", FK_ID, NR_NONE, entity_id),
	REQ("segment", FK_SEGMENT, NR_NONE, u.customer.segment),
	REQ("transformer_id", FK_ID, NR_NONE, u.customer.transformer_id),
	OPT("tariff", FK_TEXT, NR_NONE, EVENT_HAS_TARIFF, u.customer.tariff),
	OPT("capacity_kw", FK_NUMBER, NR_POSITIVE, EVENT_HAS_CAPACITY_KW, u.customer.capacity_kw),
	OPT("since", FK_DATE_OR_TS, NR_NONE, EVENT_HAS_SINCE, u.customer.since),
};

static const struct field_spec transformer_reading_fields[] = {
	COMMON_FIELDS,
	REQ("transformer_id", FK_ID, NR_NONE, entity_id),
	REQ("kwh", FK_NUMBER, NR_NON_NEGATIVE, u.transformer.kwh),
	REQ("interval_s", FK_INTERVAL, NR_NONE, u.transformer.interval_s),
};

#define TABLE(t) { t, sizeof(t) / sizeof((t)[0]) }

/* The walk keeps one bit per field in a uint32_t; meter_reading has the most fields. */
_Static_assert(sizeof(meter_reading_fields) / sizeof(meter_reading_fields[0]) <= 32,
               "field table too large for the seen mask");

const struct event_field_table event_type_fields[EVENT_TYPE__COUNT] = {
	[EVENT_METER_READING] = TABLE(meter_reading_fields),
	[EVENT_METER_EVENT] = TABLE(meter_event_fields),
	[EVENT_BILL] = TABLE(bill_fields),
	[EVENT_PAYMENT] = TABLE(payment_fields),
	[EVENT_PAYMENT_REVERSAL] = TABLE(payment_reversal_fields),
	[EVENT_CUSTOMER] = TABLE(customer_fields),
	[EVENT_TRANSFORMER_READING] = TABLE(transformer_reading_fields),
};

/* ------------------------------------------------------------------------------------------ */
/* Field decoders                                                                              */

static enum event_reject field_type_error(const struct field_spec *fs, const char *expected,
                                          const json_t *value, char *errstr,
                                          size_t errstr_size)
{
	char got[QUOTE_MAX_BYTES * 6 + 32];
	describe_json(value, got, sizeof got);
	return reject(EVENT_REJECT_FIELD_TYPE, errstr, errstr_size,
	              "field '%s': must be %s, got %s", fs->name, expected, got);
}

/* Checks a string field's length and characters and copies it to dst (max_len + 1 bytes). */
static enum event_reject decode_text(const struct field_spec *fs, const char *s, size_t len,
                                     size_t max_len, bool non_empty, char *dst, char *errstr,
                                     size_t errstr_size)
{
	if (non_empty && len == 0)
		return reject(EVENT_REJECT_BAD_VALUE, errstr, errstr_size,
		              "field '%s': must not be empty", fs->name);
	if (len > max_len)
		return reject(EVENT_REJECT_BAD_VALUE, errstr, errstr_size,
		              "field '%s': is %zu bytes long, above the %zu-byte limit", fs->name, len,
		              max_len);
	unsigned cp;
	size_t at = event_text_find_control(s, len, &cp);
	if (at < len)
		return reject(EVENT_REJECT_BAD_VALUE, errstr, errstr_size,
		              "field '%s': contains control character U+%04X at byte %zu", fs->name,
		              cp, at);
	memcpy(dst, s, len);
	dst[len] = '\0';
	return EVENT_REJECT_NONE;
}

static enum event_reject decode_number(const struct field_spec *fs, const json_t *value,
                                       double *dst, char *errstr, size_t errstr_size)
{
	static const char *const range_text[] = {
		[NR_NONE] = "a finite number",
		[NR_NON_NEGATIVE] = "a finite number >= 0",
		[NR_POSITIVE] = "a finite number > 0",
		[NR_UNIT] = "a finite number from -1 to 1",
	};
	double v;
	if (!json_is_number(value))
		return field_type_error(fs, "a number", value, errstr, errstr_size);
	v = json_number_value(value);
	if (!isfinite(v) || !event_range_holds(fs->range, v)) {
		char got[40];
		format_json_number(got, sizeof got, value, false);
		return reject(EVENT_REJECT_BAD_VALUE, errstr, errstr_size,
		              "field '%s': must be %s, got %s", fs->name, range_text[fs->range], got);
	}
	*dst = v == 0 ? 0.0 : v; /* no -0 downstream */
	return EVENT_REJECT_NONE;
}

/* Looks name (len bytes) up among count names; returns its index or -1. */
static int name_index(const char *const *names, int count, const char *name, size_t len)
{
	for (int i = 0; i < count; i++) {
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return i;
	}
	return -1;
}

/* Looks the string s up among names[first .. count-1]; returns its index, or -1 with a
 * message listing the accepted values. */
static int decode_enum(const struct field_spec *fs, const char *const *names, int first,
                       int count, const char *s, size_t len, char *errstr, size_t errstr_size)
{
	char text[QUOTE_MAX_BYTES * 6 + 8];
	char expected[256];
	size_t o = 0;
	int idx = name_index(names + first, count - first, s, len);
	if (idx >= 0)
		return first + idx;
	for (int i = first; i < count && o < sizeof expected; i++)
		o += (size_t)snprintf(expected + o, sizeof expected - o, "%s%s",
		                      i == first ? "" : i == count - 1 ? " or " : ", ", names[i]);
	quote_text(text, sizeof text, s, len, QUOTE_MAX_BYTES, true);
	reject(EVENT_REJECT_BAD_VALUE, errstr, errstr_size,
	       "field '%s': unknown value \"%s\", expected %s", fs->name, text, expected);
	return -1;
}

static enum event_reject bad_time(const struct field_spec *fs, const char *what, const char *s,
                                  size_t len, const char *why, char *errstr, size_t errstr_size)
{
	char text[QUOTE_MAX_BYTES * 6 + 8];
	quote_text(text, sizeof text, s, len, QUOTE_MAX_BYTES, true);
	return reject(EVENT_REJECT_BAD_TIMESTAMP, errstr, errstr_size,
	              "field '%s': \"%s\" is not %s: %s", fs->name, text, what, why);
}

static enum event_reject decode_field(const struct field_spec *fs, const json_t *value,
                                      struct event *ev, char *errstr, size_t errstr_size)
{
	char *dst = (char *)ev + fs->offset;
	const char *s;
	size_t len;
	struct civil_ts ct;
	const char *why;
	int idx;

	switch (fs->kind) {
	case FK_TYPE:
		return EVENT_REJECT_NONE;
	case FK_NUMBER:
		return decode_number(fs, value, (double *)(void *)dst, errstr, errstr_size);
	case FK_INTERVAL: {
		if (!json_is_integer(value))
			return field_type_error(fs, "an integer", value, errstr, errstr_size);
		json_int_t n = json_integer_value(value);
		if (n < EVENT_INTERVAL_MIN || n > EVENT_INTERVAL_MAX)
			return reject(EVENT_REJECT_BAD_VALUE, errstr, errstr_size,
			              "field '%s': must be an integer from %d to %d, got %lld", fs->name,
			              EVENT_INTERVAL_MIN, EVENT_INTERVAL_MAX, (long long)n);
		*(int32_t *)(void *)dst = (int32_t)n;
		return EVENT_REJECT_NONE;
	}
	default:
		break;
	}

	/* Every other kind is a string. */
	if (!json_is_string(value))
		return field_type_error(fs, "a string", value, errstr, errstr_size);
	s = json_string_value(value);
	len = json_string_length(value);

	switch (fs->kind) {
	case FK_EVENT_ID:
		return decode_text(fs, s, len, RISKD_EVENT_ID_MAX, true, dst, errstr, errstr_size);
	case FK_ID:
		return decode_text(fs, s, len, RISKD_ID_MAX, true, dst, errstr, errstr_size);
	case FK_TEXT:
		return decode_text(fs, s, len, RISKD_SHORT_TEXT_MAX, false, dst, errstr, errstr_size);
	case FK_TS:
		why = parse_rfc3339(s, len, &ct);
		if (why)
			return bad_time(fs, "an RFC 3339 timestamp", s, len, why, errstr, errstr_size);
		ev->ts = civil_ts_epoch(&ct);
		ev->ts_utc_offset_s = ct.offset_s;
		return EVENT_REJECT_NONE;
	case FK_DATE:
		why = len == 10 ? parse_date_part(s, &ct) : "expected YYYY-MM-DD";
		if (why)
			return bad_time(fs, "a date", s, len, why, errstr, errstr_size);
		*(int32_t *)(void *)dst = (int32_t)days_from_date(ct.year, ct.month, ct.day);
		return EVENT_REJECT_NONE;
	case FK_DATE_OR_TS:
		why = len == 10 ? parse_date_part(s, &ct) : parse_rfc3339(s, len, &ct);
		if (why)
			return bad_time(fs, "a date or an RFC 3339 timestamp", s, len, why, errstr,
			                errstr_size);
		*(int32_t *)(void *)dst = (int32_t)days_from_date(ct.year, ct.month, ct.day);
		return EVENT_REJECT_NONE;
	case FK_METER_CODE:
		idx = decode_enum(fs, event_meter_code_names, 0, METER_CODE__COUNT, s, len, errstr,
		                  errstr_size);
		if (idx < 0)
			return EVENT_REJECT_BAD_VALUE;
		*(enum meter_event_code *)(void *)dst = (enum meter_event_code)idx;
		return EVENT_REJECT_NONE;
	default: /* FK_SEGMENT; "unknown" is riskd's placeholder, not a contract value */
		idx = decode_enum(fs, event_segment_names, SEGMENT_UNKNOWN + 1, SEGMENT__COUNT, s, len,
		                  errstr, errstr_size);
		if (idx < 0)
			return EVENT_REJECT_BAD_VALUE;
		*(enum segment *)(void *)dst = (enum segment)idx;
		return EVENT_REJECT_NONE;
	}
}

/* ------------------------------------------------------------------------------------------ */
/* The decoder                                                                                 */

/* Finds the type of root from its "type" member; on failure writes the message. */
static enum event_reject decode_type(json_t *root, enum event_type *type, char *errstr,
                                     size_t errstr_size)
{
	json_t *value = json_object_getn(root, "type", 4);
	char text[QUOTE_MAX_BYTES * 6 + 32];
	int idx;

	if (!value)
		return reject(EVENT_REJECT_UNKNOWN_TYPE, errstr, errstr_size,
		              "missing required field 'type'");
	if (!json_is_string(value)) {
		describe_json(value, text, sizeof text);
		return reject(EVENT_REJECT_UNKNOWN_TYPE, errstr, errstr_size,
		              "field 'type': must be a string, got %s", text);
	}
	idx = name_index(event_type_names, EVENT_TYPE__COUNT, json_string_value(value),
	                 json_string_length(value));
	if (idx < 0) {
		quote_text(text, sizeof text, json_string_value(value), json_string_length(value),
		           QUOTE_MAX_BYTES, true);
		return reject(EVENT_REJECT_UNKNOWN_TYPE, errstr, errstr_size,
		              "unknown event type \"%s\"", text);
	}
	*type = (enum event_type)idx;
	return EVENT_REJECT_NONE;
}

/*
 * Decodes one message payload into *ev following the event contract (docs/events.md), with
 * jansson: the authority behind event_decode. Checks, in order: size, UTF-8, one JSON object
 * (duplicate keys refused), "type", then each member in payload order (unknown field, JSON
 * type, value), then missing required fields in contract order; the first problem found is
 * reported. errstr may be NULL when errstr_size is 0. Returns EVENT_REJECT_NONE or the reason.
 * Thread-safe; allocates only inside jansson (the thread's arena) and frees it before returning.
 */
enum event_reject event_decode_json(const void *buf, size_t len, struct event *ev, char *errstr,
                                    size_t errstr_size)
{
	enum event_reject rc = EVENT_REJECT_NONE;
	json_t *root = NULL;
	json_error_t jerr;
	const struct field_spec *fields;
	size_t nfields, bad;
	uint32_t seen = 0;
	enum event_type type = EVENT_METER_READING; /* set by decode_type before any use */

	if (!buf) {
		buf = "";
		len = 0;
	}
	if (len > EVENT_MAX_BYTES) {
		rc = reject(EVENT_REJECT_TOO_LARGE, errstr, errstr_size,
		            "payload is %zu bytes, above the %d-byte limit", len, EVENT_MAX_BYTES);
		goto out;
	}
	bad = event_utf8_find_invalid(buf, len);
	if (bad < len) {
		rc = reject(EVENT_REJECT_UTF8, errstr, errstr_size, "invalid UTF-8 at byte %zu", bad);
		goto out;
	}
	json_arena_enter();
	/* JSON_ALLOW_NUL lets "\u0000" through to the field checks, which name the field. */
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!root) {
		char text[sizeof jerr.text * 4];
		quote_text(text, sizeof text, jerr.text, strnlen(jerr.text, sizeof jerr.text),
		           sizeof jerr.text, false);
		rc = reject(EVENT_REJECT_JSON, errstr, errstr_size,
		            "invalid JSON at line %d column %d: %s", jerr.line, jerr.column, text);
		goto out;
	}
	if (!json_is_object(root)) {
		rc = reject(EVENT_REJECT_JSON, errstr, errstr_size,
		            "payload is a JSON array, not an object");
		goto out;
	}
	rc = decode_type(root, &type, errstr, errstr_size);
	if (rc)
		goto out;

	memset(ev, 0, sizeof *ev);
	ev->type = type;
	fields = event_type_fields[type].fields;
	nfields = event_type_fields[type].count;

	for (void *it = json_object_iter(root); it; it = json_object_iter_next(root, it)) {
		const char *key = json_object_iter_key(it);
		size_t key_len = json_object_iter_key_len(it);
		size_t i;
		for (i = 0; i < nfields; i++) {
			if (fields[i].name_len == key_len && memcmp(fields[i].name, key, key_len) == 0)
				break;
		}
		if (i == nfields) {
			char text[QUOTE_MAX_BYTES * 6 + 8];
			quote_text(text, sizeof text, key, key_len, QUOTE_MAX_BYTES, true);
			rc = reject(EVENT_REJECT_UNKNOWN_FIELD, errstr, errstr_size,
			            "unknown field '%s' for type %s", text, event_type_names[type]);
			goto out;
		}
		rc = decode_field(&fields[i], json_object_iter_value(it), ev, errstr, errstr_size);
		if (rc)
			goto out;
		seen |= UINT32_C(1) << i;
		ev->has |= fields[i].has_bit;
	}
	for (size_t i = 0; i < nfields; i++) {
		if (fields[i].required && !(seen & (UINT32_C(1) << i))) {
			rc = reject(EVENT_REJECT_MISSING_FIELD, errstr, errstr_size,
			            "missing required field '%s' for type %s", fields[i].name,
			            event_type_names[type]);
			goto out;
		}
	}

out:
	json_decref(root);
	return rc;
}

/*
 * Decodes one message payload into *ev following the event contract (docs/events.md): the
 * fast path when it is sure, else the jansson decoder, which also words every reject.
 * Returns EVENT_REJECT_NONE or the reason. Thread-safe; no allocation for plainly written
 * events, jansson's (from the thread's arena, freed before returning) for the rest.
 */
enum event_reject event_decode(const void *buf, size_t len, struct event *ev, char *errstr,
                               size_t errstr_size)
{
	if (event_decode_fast(buf, len, ev))
		return EVENT_REJECT_NONE;
	return event_decode_json(buf, len, ev, errstr, errstr_size);
}

/*
 * Checks a decoded reading's energy (kwh, and reverse_kwh when present) against
 * kw * interval_s / 3600, where kw is capacity_kw when > 0 and max_kw_unknown otherwise; a
 * relative slack of 1e-9 absorbs rounding. No bound applies when that kw is not a finite
 * number > 0. Callers pass capacity_kw 0 for transformer readings. Other types pass.
 * Returns EVENT_REJECT_NONE or EVENT_REJECT_IMPOSSIBLE with a message in errstr.
 * Pure and thread-safe.
 */
enum event_reject event_check_energy(const struct event *ev, double capacity_kw,
                                     double max_kw_unknown, char *errstr, size_t errstr_size)
{
	const char *basis = "capacity_kw";
	double kw = capacity_kw, kwh, reverse_kwh = 0, limit;
	int32_t interval_s;
	bool has_reverse = false;
	char a[32], b[32], c[32];

	switch (ev->type) {
	case EVENT_METER_READING:
		kwh = ev->u.reading.kwh;
		interval_s = ev->u.reading.interval_s;
		has_reverse = ev->has & EVENT_HAS_REVERSE_KWH;
		reverse_kwh = ev->u.reading.reverse_kwh;
		break;
	case EVENT_TRANSFORMER_READING:
		kwh = ev->u.transformer.kwh;
		interval_s = ev->u.transformer.interval_s;
		break;
	default:
		return EVENT_REJECT_NONE;
	}
	if (!(capacity_kw > 0)) {
		basis = "max_kw_unknown_profile";
		kw = max_kw_unknown;
	}
	if (!(kw > 0) || !isfinite(kw))
		return EVENT_REJECT_NONE;
	limit = kw * interval_s / 3600.0;
	const char *what = NULL;
	double value = 0;
	if (!(kwh <= limit * (1 + 1e-9))) {
		what = "kwh";
		value = kwh;
	} else if (has_reverse && !(reverse_kwh <= limit * (1 + 1e-9))) {
		what = "reverse_kwh";
		value = reverse_kwh;
	}
	if (!what)
		return EVENT_REJECT_NONE;
	format_double(a, sizeof a, value);
	format_double(b, sizeof b, limit);
	format_double(c, sizeof c, kw);
	return reject(EVENT_REJECT_IMPOSSIBLE, errstr, errstr_size,
	              "%s %s exceeds %s kWh allowed by %s %s over %d s", what, a, b, basis, c,
	              (int)interval_s);
}
