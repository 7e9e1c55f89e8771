/*
 * event_int.h - private to streams/event_*.c (and the decoder's tests and benchmark): the
 * contract's field tables and value readers, and the two decoding paths behind event_decode.
 *
 * event_decode (event.h, in event_decode.c) first tries event_decode_fast (event_fast.c), a
 * single pass over the bytes that accepts only plainly written events and otherwise says "not
 * sure"; then event_decode_json, the jansson-based decoder, gives the authoritative verdict
 * and message. Both read the same field tables and value readers (event_contract.c), so a
 * field, its kind, its range and its destination are defined once. The arrows run one way:
 * event_decode.c -> event_fast.c -> event_contract.c, event_decode.c -> event_contract.c.
 */
#ifndef RISKD_EVENT_INT_H
#define RISKD_EVENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

/* Bounds of interval_s (readings): one second to one day. */
#define EVENT_INTERVAL_MIN 1
#define EVENT_INTERVAL_MAX 86400

enum field_kind {
	FK_TYPE,       /* "type": validated before the walk */
	FK_EVENT_ID,   /* non-empty string <= RISKD_EVENT_ID_MAX bytes, no control characters */
	FK_ID,         /* non-empty string <= RISKD_ID_MAX bytes, no control characters */
	FK_TEXT,       /* string <= RISKD_SHORT_TEXT_MAX bytes, no control characters */
	FK_TS,         /* RFC 3339 -> ev->ts and ev->ts_utc_offset_s */
	FK_DATE,       /* "YYYY-MM-DD" -> int32_t days */
	FK_DATE_OR_TS, /* "YYYY-MM-DD" or RFC 3339 -> int32_t days of the date as written */
	FK_NUMBER,     /* finite JSON number (integer or real) within range -> double */
	FK_INTERVAL,   /* JSON integer EVENT_INTERVAL_MIN .. EVENT_INTERVAL_MAX -> int32_t */
	FK_METER_CODE, /* one of the meter event code names -> enum meter_event_code */
	FK_SEGMENT,    /* one of the segment names but "unknown" -> enum segment */
	FK_ATTRIBUTES, /* an object of attribute names (attr_name_valid) to strings or numbers:
	                  its shape is checked, the values are read against the attribute schema
	                  by event_attributes_read; only the jansson path reads it */
};

enum num_range {
	NR_NONE,
	NR_NON_NEGATIVE, /* >= 0 */
	NR_POSITIVE,     /* > 0 */
	NR_UNIT,         /* -1 .. 1 */
};

struct field_spec {
	const char *name;
	uint8_t name_len;
	uint8_t kind;     /* enum field_kind */
	uint8_t range;    /* enum num_range, FK_NUMBER only */
	uint8_t required;
	uint16_t has_bit; /* EVENT_HAS_* for optional fields */
	uint16_t offset;  /* destination inside struct event */
};

/* One type's fields; "type" is always first. At most 32: decoders keep a bit per field. */
struct event_field_table {
	const struct field_spec *fields;
	size_t count;
};

/* The contract's fields per event type, and the contract's names (event_contract.c). */
extern const struct event_field_table event_type_fields[EVENT_TYPE__COUNT];
extern const char *const event_type_names[];   /* EVENT_TYPE__COUNT names */
extern const char *const event_meter_code_names[]; /* METER_CODE__COUNT names */
extern const char *const event_segment_names[];  /* SEGMENT__COUNT names, "unknown" first */

/* Whether v (not NaN) lies in range. */
static inline bool event_range_holds(enum num_range range, double v)
{
	switch (range) {
	case NR_NON_NEGATIVE:
		return v >= 0;
	case NR_POSITIVE:
		return v > 0;
	case NR_UNIT:
		return v >= -1 && v <= 1;
	default:
		return true;
	}
}

/*
 * Returns the offset of the first byte of the first ill-formed UTF-8 sequence in p, or len
 * when all of p is well formed (no overlongs, surrogates, code points above U+10FFFF or
 * truncated sequences). Pure and thread-safe.
 */
size_t event_utf8_find_invalid(const unsigned char *p, size_t len);

/*
 * Returns the byte offset of the first control character (C0, DEL, or C1 written as
 * 0xC2 0x80..0x9F) in the UTF-8 text s of len bytes, or len when there is none; *cp receives
 * its code point. Pure and thread-safe.
 */
size_t event_text_find_control(const char *s, size_t len, unsigned *cp);

/*
 * Reads an RFC 3339 timestamp with a mandatory offset (len bytes at s) into Unix seconds and
 * the written offset. Returns NULL, or a short phrase saying why s is not one ("month out of
 * range", ...), leaving the outputs alone. Pure and thread-safe.
 */
const char *event_read_ts(const char *s, size_t len, int64_t *epoch_s, int32_t *offset_s);

/*
 * Reads exactly "YYYY-MM-DD", or with or_ts also an RFC 3339 timestamp, into days since
 * 1970-01-01 of the date as written. Returns NULL, or a short phrase saying why not, leaving
 * *days alone. Pure and thread-safe.
 */
const char *event_read_day(const char *s, size_t len, bool or_ts, int32_t *days);

/*
 * The authoritative decoder: size, UTF-8, then jansson (duplicate keys refused), "type", each
 * member in payload order, missing fields; the first problem found is reported. Same contract
 * as event_decode (event.h), which calls it whenever event_decode_fast is not sure.
 */
enum event_reject event_decode_json(const void *buf, size_t len, struct event *ev,
                                    char *errstr, size_t errstr_size);

/*
 * The fast path (event_fast.c): one pass over buf, no allocation, no tree. Returns true when
 * it accepts, with *ev filled byte for byte as event_decode_json fills it for the same bytes
 * (which accepts them too); false when it is not sure, leaving *ev unspecified. It is not
 * sure about anything unusual: escapes, exponents, long or leading-zero numbers, duplicate or
 * unknown keys, and every input the contract rejects. Pure and thread-safe.
 */
bool event_decode_fast(const void *buf, size_t len, struct event *ev);

#endif
