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
 * The contract's names, field tables and value parsers, which both paths read, are in
 * event_contract.c; the contract itself is documented in docs/events.md.
 */
#include "event.h"
#include "event_int.h"
#include "json_arena.h"
#include "../scoring/attributes.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How many bytes of a value (or key) an error message quotes before cutting it with "...". */
#define QUOTE_MAX_BYTES 48

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

/*
 * Checks the shape of a customer's `attributes`: an object of at most ATTR_MAX members, each
 * named as an attribute may be (attr_name_valid) and holding a string (a category's value:
 * attr_value_valid) or a number. What each member means is read against the schema later
 * (event_attributes_read).
 */
static enum event_reject decode_attributes(const struct field_spec *fs, const json_t *value,
                                           char *errstr, size_t errstr_size)
{
	char text[QUOTE_MAX_BYTES * 6 + 32];
	if (!json_is_object(value))
		return field_type_error(fs, "an object", value, errstr, errstr_size);
	if (json_object_size(value) > ATTR_MAX)
		return reject(EVENT_REJECT_BAD_VALUE, errstr, errstr_size,
		              "field '%s': has %zu members, above the limit of %d attributes",
		              fs->name, json_object_size(value), ATTR_MAX);
	for (void *it = json_object_iter((json_t *)value); it;
	     it = json_object_iter_next((json_t *)value, it)) {
		const char *key = json_object_iter_key(it);
		size_t key_len = json_object_iter_key_len(it);
		const json_t *member = json_object_iter_value(it);
		quote_text(text, sizeof text, key, key_len, QUOTE_MAX_BYTES, true);
		if (!attr_name_valid(key, key_len))
			return reject(EVENT_REJECT_BAD_VALUE, errstr, errstr_size,
			              "field '%s': '%s' is not an attribute name (lower-case letters, "
			              "digits and '_', starting with a letter, at most %d bytes)",
			              fs->name, text, ATTR_NAME_MAX);
		if (json_is_number(member))
			continue;
		if (!json_is_string(member)) {
			char got[QUOTE_MAX_BYTES * 6 + 32];
			describe_json(member, got, sizeof got);
			return reject(EVENT_REJECT_FIELD_TYPE, errstr, errstr_size,
			              "field '%s': attribute '%s' must be a string or a number, got %s",
			              fs->name, text, got);
		}
		if (memchr(json_string_value(member), '\0', json_string_length(member)) ||
		    !attr_value_valid(json_string_value(member)))
			return reject(EVENT_REJECT_BAD_VALUE, errstr, errstr_size,
			              "field '%s': attribute '%s' must be 1 to %d bytes without control "
			              "characters", fs->name, text, ATTR_VALUE_MAX);
	}
	return EVENT_REJECT_NONE;
}

static enum event_reject decode_field(const struct field_spec *fs, const json_t *value,
                                      struct event *ev, char *errstr, size_t errstr_size)
{
	char *dst = (char *)ev + fs->offset;
	const char *s;
	size_t len;
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
	case FK_ATTRIBUTES:
		return decode_attributes(fs, value, errstr, errstr_size);
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
		why = event_read_ts(s, len, &ev->ts, &ev->ts_utc_offset_s);
		if (why)
			return bad_time(fs, "an RFC 3339 timestamp", s, len, why, errstr, errstr_size);
		return EVENT_REJECT_NONE;
	case FK_DATE:
		why = event_read_day(s, len, false, (int32_t *)(void *)dst);
		if (why)
			return bad_time(fs, "a date", s, len, why, errstr, errstr_size);
		return EVENT_REJECT_NONE;
	case FK_DATE_OR_TS:
		why = event_read_day(s, len, true, (int32_t *)(void *)dst);
		if (why)
			return bad_time(fs, "a date or an RFC 3339 timestamp", s, len, why, errstr,
			                errstr_size);
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

enum event_reject event_attributes_read(const void *buf, size_t len,
                                        const struct attr_schema *schema, struct attr_vec *out,
                                        char *errstr, size_t errstr_size)
{
	enum event_reject rc = EVENT_REJECT_NONE;
	char name[QUOTE_MAX_BYTES * 6 + 8], why[200];
	attr_vec_clear(out);
	json_arena_enter();
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	json_t *attrs = root ? json_object_getn(root, "attributes", 10) : NULL;
	for (void *it = json_object_iter(attrs); it && !rc; it = json_object_iter_next(attrs, it)) {
		const char *key = json_object_iter_key(it);
		size_t key_len = json_object_iter_key_len(it);
		const json_t *member = json_object_iter_value(it);
		quote_text(name, sizeof name, key, key_len, QUOTE_MAX_BYTES, true);
		int slot = attr_schema_find(schema, key, key_len);
		if (slot < 0) {
			rc = reject(EVENT_REJECT_UNKNOWN_FIELD, errstr, errstr_size,
			            "unknown attribute '%s': not declared in the attribute schema", name);
			break;
		}
		const struct attr_def *def = &schema->defs[slot];
		double v = 0.0;
		if (def->type == ATTR_CATEGORY && !json_is_string(member)) {
			rc = reject(EVENT_REJECT_FIELD_TYPE, errstr, errstr_size,
			            "attribute '%s' is a category: its value must be a string", name);
		} else if (def->type == ATTR_NUMBER && !json_is_number(member)) {
			rc = reject(EVENT_REJECT_FIELD_TYPE, errstr, errstr_size,
			            "attribute '%s' is a number: its value must be a JSON number", name);
		} else if (def->type == ATTR_CATEGORY) {
			if (attr_def_parse(def, json_string_value(member), &v, why, sizeof why) < 0)
				rc = reject(EVENT_REJECT_BAD_VALUE, errstr, errstr_size, "%s", why);
		} else {
			v = json_number_value(member);
			if (v < def->min || v > def->max)
				rc = reject(EVENT_REJECT_BAD_VALUE, errstr, errstr_size,
				            "attribute '%s': %.17g is outside its range %g .. %g", name, v,
				            def->min, def->max);
		}
		if (!rc)
			attr_vec_set(out, slot, v == 0 ? 0.0 : v);
	}
	json_decref(root);
	return rc;
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
