/*
 * event_contract.c - the event contract as data and the contract's value parsers, shared by
 * both decoding paths: the names of types, meter event codes, segments and reject reasons; the
 * field table of every event type (each field's kind, range and destination in struct event);
 * RFC 3339 timestamps and YYYY-MM-DD dates; UTF-8 validation and the control-character scan.
 *
 * event_decode.c (the jansson decoder and the entry point event_decode) and event_fast.c (the
 * single-pass fast path) both read these, so a field is defined once; this file calls
 * neither. The contract itself is documented in docs/events.md; the field tables are its code.
 */
#include "event.h"
#include "event_int.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Longest offset from UTC a timestamp may carry, in seconds (RFC 3339 allows any; we cap at 18 h). */
#define EVENT_MAX_UTC_OFFSET_S (18 * 3600)
/* Days from 0000-01-01 to 1970-01-01 in the proleptic Gregorian calendar. */
#define DAYS_0000_TO_1970 719528
/* Days in 400 Gregorian years. */
#define DAYS_PER_400Y 146097

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
 * and key, and CONFLICT by its ingest step, which knows the customer's day; their names live
 * here so every reason has one label. */
static const char *const reject_names[] = {
	"none", "too_large", "utf8", "json", "unknown_type", "missing_field", "field_type",
	"unknown_field", "bad_value", "bad_timestamp", "impossible", "wrong_topic", "key_mismatch",
	"conflict",
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
 * Reads an RFC 3339 timestamp with a mandatory offset into Unix seconds (fraction dropped)
 * and the written offset in seconds. 'T'/'Z' may be lower case (RFC 3339 5.6); offsets up to
 * +-18:00; leap second 60 is refused. Returns NULL, or why s is not one (outputs left alone).
 */
const char *event_read_ts(const char *s, size_t len, int64_t *epoch_s, int32_t *offset_s)
{
	struct civil_ts ct;
	const char *why = parse_rfc3339(s, len, &ct);
	if (why)
		return why;
	*epoch_s = civil_ts_epoch(&ct);
	*offset_s = ct.offset_s;
	return NULL;
}

/*
 * Reads exactly "YYYY-MM-DD" (a real Gregorian date, year 0000..9999), or with or_ts also an
 * RFC 3339 timestamp, into days since 1970-01-01 of the date as written. Returns NULL, or why
 * s is neither (*days left alone).
 */
const char *event_read_day(const char *s, size_t len, bool or_ts, int32_t *days)
{
	struct civil_ts ct;
	const char *why = len == 10 ? parse_date_part(s, &ct)
	                  : or_ts   ? parse_rfc3339(s, len, &ct)
	                            : "expected YYYY-MM-DD";
	if (why)
		return why;
	*days = (int32_t)days_from_date(ct.year, ct.month, ct.day);
	return NULL;
}

/* The public forms of event_read_ts and event_read_day (event.h). Pure and thread-safe. */
int event_parse_rfc3339(const char *s, size_t len, int64_t *epoch_s, int32_t *offset_s)
{
	if (!s || event_read_ts(s, len, epoch_s, offset_s))
		return RISKD_ERR_INVALID;
	return 0;
}

int event_parse_date(const char *s, size_t len, int32_t *days)
{
	if (!s || len != 10 || event_read_day(s, len, false, days))
		return RISKD_ERR_INVALID;
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
	/* no destination: event_attributes_read reads the object from the payload */
	OPT("attributes", FK_ATTRIBUTES, NR_NONE, EVENT_HAS_ATTRIBUTES, has),
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

