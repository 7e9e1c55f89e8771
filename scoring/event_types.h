/*
 * event_types.h - the decoded form of one input event (the JSON event contract,
 * docs/events.md): its types, codes, segments and the fixed-size struct event.
 *
 * The models and the rules read events in this form; streams/event_decode.c produces it
 * from a message's bytes. The struct owns no heap memory, so a caller can decode into one
 * reused struct per message with no allocation of its own.
 */
#ifndef RISKD_EVENT_TYPES_H
#define RISKD_EVENT_TYPES_H

#include <stdint.h>

#include "../config/riskd_base.h"

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
#define EVENT_HAS_ATTRIBUTES    (1u << 11) /* a customer's `attributes` object, read against the
                                              schema by event_attributes_read (streams/event.h) */

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

#endif
