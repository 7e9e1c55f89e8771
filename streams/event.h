/*
 * event.h - decoding one input event (the JSON event contract, docs/events.md).
 *
 * streams/event_decode.c turns the bytes of one Kafka message into a struct event
 * (scoring/event_types.h), strictly: anything the contract does not allow is rejected with a
 * reason code and a one-line message that names the field.
 */
#ifndef RISKD_EVENT_H
#define RISKD_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "../config/riskd_base.h"
#include "../scoring/event_types.h"

/* Largest accepted message payload in bytes; larger payloads are dead-lettered unparsed. */
#define EVENT_MAX_BYTES 8192

/* Why an event was rejected; also the label of the dead-letter metric. */
enum event_reject {
	EVENT_REJECT_NONE = 0,
	EVENT_REJECT_TOO_LARGE,      /* payload above EVENT_MAX_BYTES */
	EVENT_REJECT_UTF8,           /* payload is not valid UTF-8 */
	EVENT_REJECT_JSON,           /* not parseable JSON, or not one object */
	EVENT_REJECT_UNKNOWN_TYPE,   /* "type" missing or not one of the contract's types */
	EVENT_REJECT_MISSING_FIELD,  /* a required field is absent */
	EVENT_REJECT_FIELD_TYPE,     /* a field has the wrong JSON type */
	EVENT_REJECT_UNKNOWN_FIELD,  /* a field the contract does not define */
	EVENT_REJECT_BAD_VALUE,      /* negative energy, non-finite number, unknown enum value, too long */
	EVENT_REJECT_BAD_TIMESTAMP,  /* ts / due_date / since not in the contract's format */
	EVENT_REJECT_IMPOSSIBLE,     /* energy above what capacity (or the absolute bound) allows */
	EVENT_REJECT_WRONG_TOPIC,    /* a valid event on a topic that does not carry its type */
	EVENT_REJECT_KEY_MISMATCH,   /* message key absent or not the event's customer/transformer id */
	EVENT_REJECT_CONFLICT,       /* a reading restating counted time with another energy */
	EVENT_REJECT__COUNT
};

/*
 * Decodes one message payload into *ev, strictly, following the event contract.
 *   buf, len     the message bytes (need not be NUL-terminated; never modified)
 *   ev           output; fully overwritten on success, unspecified on failure
 *   errstr       on failure receives one line naming what is wrong and where, e.g.
 *                "field 'kwh': must be a finite number >= 0, got -1.5"
 * Returns EVENT_REJECT_NONE (0) on success or the reason code. Never crashes on any input.
 * Thread-safe. A plainly written event (no escapes, no exponents: what producers write) is
 * decoded in one pass with no allocation; anything else, and every reject, goes through
 * jansson, which allocates from the thread's arena and frees it before returning.
 */
enum event_reject event_decode(const void *buf, size_t len, struct event *ev,
                               char *errstr, size_t errstr_size);

/*
 * Checks a decoded reading's energy against physical limits: kwh (and reverse_kwh) must not
 * exceed capacity_kw * interval_s / 3600 when capacity_kw > 0 (the profile is known), else
 * max_kw_unknown * interval_s / 3600. Applies to EVENT_METER_READING and (with capacity_kw 0)
 * EVENT_TRANSFORMER_READING; other types pass.
 * Returns EVENT_REJECT_NONE or EVENT_REJECT_IMPOSSIBLE with a message in errstr.
 */
enum event_reject event_check_energy(const struct event *ev, double capacity_kw,
                                     double max_kw_unknown, char *errstr, size_t errstr_size);

struct attr_schema;
struct attr_vec;

/*
 * Reads the `attributes` of a customer event that event_decode accepted with
 * EVENT_HAS_ATTRIBUTES (buf, len: the same message bytes) against schema: each member must be
 * a declared attribute (else EVENT_REJECT_UNKNOWN_FIELD, "unknown attribute 'x': not declared
 * in the attribute schema"), a category's value one of its values given as a string and a
 * number's a JSON number within its range (else EVENT_REJECT_FIELD_TYPE or
 * EVENT_REJECT_BAD_VALUE, naming the attribute). Fills *out by schema slot (members not
 * given are missing). Returns EVENT_REJECT_NONE or the reason, with errstr set.
 * Thread-safe; allocates only inside jansson (the thread's arena).
 */
enum event_reject event_attributes_read(const void *buf, size_t len,
                                        const struct attr_schema *schema, struct attr_vec *out,
                                        char *errstr, size_t errstr_size);

/* Contract names: "meter_reading", "cover_open", "residential", "bad_value", ... Never NULL. */
const char *event_type_name(enum event_type type);
const char *meter_event_code_name(enum meter_event_code code);
const char *segment_name(enum segment segment);
const char *event_reject_name(enum event_reject reason);

/*
 * Parses an RFC 3339 timestamp with a mandatory offset ("2026-03-01T00:30:00+08:00",
 * "...Z", optional fraction) into Unix seconds and the written offset.
 * Returns 0, or RISKD_ERR_INVALID for anything else (including impossible dates like Feb 30).
 */
int event_parse_rfc3339(const char *s, size_t len, int64_t *epoch_s, int32_t *offset_s);

/* Parses "YYYY-MM-DD" into days since 1970-01-01. Returns 0 or RISKD_ERR_INVALID. */
int event_parse_date(const char *s, size_t len, int32_t *days);

/* Formats days since 1970-01-01 as "YYYY-MM-DD" into out (at least 11 bytes). */
void event_format_date(int32_t days, char *out, size_t out_size);

#endif
