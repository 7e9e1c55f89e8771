/*
 * event.h - the decoded form of one input event (the JSON event contract, docs/events.md).
 *
 * streams/event_decode.c turns the bytes of one Kafka message into a struct event, strictly:
 * anything the contract does not allow is rejected with a reason code and a one-line message
 * that names the field. The struct is fixed-size and owns no heap memory, so a caller can
 * decode into one reused struct per message with no allocation of its own.
 */
#ifndef RISKD_EVENT_H
#define RISKD_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "../config/riskd_base.h"

/* Largest accepted message payload in bytes; larger payloads are dead-lettered unparsed. */
#define EVENT_MAX_BYTES 8192

enum event_type {
	EVENT_METER_READING = 0,
	EVENT_METER_EVENT,
	EVENT_BILL,
	EVENT_PAYMENT,
	EVENT_PAYMENT_REVERSAL,
	EVENT_CUSTOMER,
	EVENT_TRANSFORMER_READING,
	EVENT_TYPE__COUNT
};

enum meter_event_code {
	METER_CODE_COVER_OPEN = 0,
	METER_CODE_MAGNETIC_INTERFERENCE,
	METER_CODE_REVERSE_FLOW,
	METER_CODE_PHASE_LOSS,
	METER_CODE_CLOCK_RESET,
	METER_CODE_POWER_OUTAGE,
	METER_CODE_METER_REPLACED,
	METER_CODE__COUNT
};

enum segment {
	SEGMENT_UNKNOWN = 0, /* profile not seen yet */
	SEGMENT_RESIDENTIAL,
	SEGMENT_COMMERCIAL,
	SEGMENT_INDUSTRIAL,
	SEGMENT_AGRICULTURAL,
	SEGMENT__COUNT
};

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
	EVENT_REJECT__COUNT
};

/* Optional-field presence bits for struct event.has. */
#define EVENT_HAS_VOLTAGE       (1u << 0)
#define EVENT_HAS_CURRENT       (1u << 1)
#define EVENT_HAS_POWER_FACTOR  (1u << 2)
#define EVENT_HAS_REVERSE_KWH   (1u << 3)
#define EVENT_HAS_PERIOD_KWH    (1u << 4)
#define EVENT_HAS_BILL_ID       (1u << 5)
#define EVENT_HAS_CHANNEL       (1u << 6)
#define EVENT_HAS_REASON        (1u << 7)
#define EVENT_HAS_TARIFF        (1u << 8)
#define EVENT_HAS_CAPACITY_KW   (1u << 9)
#define EVENT_HAS_SINCE         (1u << 10)

struct event {
	enum event_type type;
	uint32_t has;                              /* EVENT_HAS_* bits for optional fields */
	int64_t ts;                                /* "ts" as Unix seconds (UTC); fraction dropped */
	int32_t ts_utc_offset_s;                   /* the offset written in "ts", in seconds */
	char event_id[RISKD_EVENT_ID_MAX + 1];
	/* customer_id for every type but transformer_reading, which puts transformer_id here:
	 * it is the message key and the state key. */
	char entity_id[RISKD_ID_MAX + 1];
	union {
		struct {                                   /* EVENT_METER_READING */
			char meter_id[RISKD_ID_MAX + 1];
			double kwh;                            /* >= 0, energy in [ts, ts + interval_s) */
			int32_t interval_s;                    /* 1 .. 86400 */
			double voltage, current, power_factor, reverse_kwh;
		} reading;
		struct {                                   /* EVENT_METER_EVENT */
			char meter_id[RISKD_ID_MAX + 1];
			enum meter_event_code code;
		} meter_event;
		struct {                                   /* EVENT_BILL */
			char bill_id[RISKD_ID_MAX + 1];
			double amount;                         /* >= 0 */
			int32_t due_date;                      /* days since 1970-01-01 */
			double period_kwh;
		} bill;
		struct {                                   /* EVENT_PAYMENT */
			double amount;                         /* > 0 */
			char bill_id[RISKD_ID_MAX + 1];
			char channel[RISKD_SHORT_TEXT_MAX + 1];
		} payment;
		struct {                                   /* EVENT_PAYMENT_REVERSAL */
			double amount;                         /* > 0 */
			char payment_event_id[RISKD_EVENT_ID_MAX + 1];
			char reason[RISKD_SHORT_TEXT_MAX + 1];
		} reversal;
		struct {                                   /* EVENT_CUSTOMER */
			enum segment segment;
			char transformer_id[RISKD_ID_MAX + 1];
			char tariff[RISKD_SHORT_TEXT_MAX + 1];
			double capacity_kw;                    /* > 0 when present */
			int32_t since;                         /* days since 1970-01-01 */
		} customer;
		struct {                                   /* EVENT_TRANSFORMER_READING */
			double kwh;                            /* >= 0 */
			int32_t interval_s;                    /* 1 .. 86400 */
		} transformer;
	} u;
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
