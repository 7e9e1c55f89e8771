/*
 * fuzz_event_decode.c - libFuzzer target for the event decoder (streams/event_*.c).
 *
 * Feeds arbitrary bytes to event_decode (the first thing riskd does with every Kafka message)
 * and to the timestamp and date parsers, and aborts when an invariant of the event contract
 * breaks: a reason code out of range, a message that is empty or spans lines, or an accepted
 * event holding a value the contract forbids. Seeds in tests/fuzz/corpus/event, dictionary
 * tests/fuzz/event.dict. `make fuzz` builds it (build/fuzz/fuzz_event_decode) and runs it for
 * FUZZ_SECONDS; for a longer run:
 *
 *   build/fuzz/fuzz_event_decode build/fuzz/corpus/fuzz_event_decode tests/fuzz/corpus/event \
 *     -dict=tests/fuzz/event.dict -max_total_time=180
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streams/event.h"
#include "fuzz_check.h"

/* Optional-field bits each type may carry. */
static uint32_t allowed_has(enum event_type type)
{
	switch (type) {
	case EVENT_METER_READING:
		return EVENT_HAS_VOLTAGE | EVENT_HAS_CURRENT | EVENT_HAS_POWER_FACTOR |
		       EVENT_HAS_REVERSE_KWH;
	case EVENT_BILL:
		return EVENT_HAS_PERIOD_KWH;
	case EVENT_PAYMENT:
		return EVENT_HAS_BILL_ID | EVENT_HAS_CHANNEL;
	case EVENT_PAYMENT_REVERSAL:
		return EVENT_HAS_REASON;
	case EVENT_CUSTOMER:
		return EVENT_HAS_TARIFF | EVENT_HAS_CAPACITY_KW | EVENT_HAS_SINCE;
	default:
		return 0;
	}
}

/* A NUL-terminated string of at most max bytes with no C0 control character or DEL. */
static void check_text(const char *s, size_t max, int non_empty)
{
	size_t n = strnlen(s, max + 1);
	CHECK(n <= max);
	CHECK(!non_empty || n > 0);
	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] != 0x7f);
}

static void check_date_round_trip(int32_t days)
{
	char text[16];
	int32_t back = 0;
	event_format_date(days, text, sizeof text);
	CHECK(event_parse_date(text, strlen(text), &back) == 0);
	CHECK(back == days);
}

static void check_event(const struct event *ev)
{
	CHECK((unsigned)ev->type < EVENT_TYPE__COUNT);
	CHECK((ev->has & ~allowed_has(ev->type)) == 0);
	check_text(ev->event_id, RISKD_EVENT_ID_MAX, 1);
	check_text(ev->entity_id, RISKD_ID_MAX, 1);
	CHECK(ev->ts_utc_offset_s >= -18 * 3600 && ev->ts_utc_offset_s <= 18 * 3600);
	/* Years 0000..9999 in any offset. */
	CHECK(ev->ts >= -62167219200LL - 18 * 3600 && ev->ts <= 253402300799LL + 18 * 3600);

	switch (ev->type) {
	case EVENT_METER_READING:
		check_text(ev->u.reading.meter_id, RISKD_ID_MAX, 1);
		CHECK(isfinite(ev->u.reading.kwh) && ev->u.reading.kwh >= 0);
		CHECK(!signbit(ev->u.reading.kwh));
		CHECK(ev->u.reading.interval_s >= 1 && ev->u.reading.interval_s <= 86400);
		CHECK(isfinite(ev->u.reading.voltage) && ev->u.reading.voltage >= 0);
		CHECK(isfinite(ev->u.reading.current) && ev->u.reading.current >= 0);
		CHECK(ev->u.reading.power_factor >= -1 && ev->u.reading.power_factor <= 1);
		CHECK(isfinite(ev->u.reading.reverse_kwh) && ev->u.reading.reverse_kwh >= 0);
		break;
	case EVENT_METER_EVENT:
		check_text(ev->u.meter_event.meter_id, RISKD_ID_MAX, 1);
		CHECK((unsigned)ev->u.meter_event.code < METER_CODE__COUNT);
		break;
	case EVENT_BILL:
		check_text(ev->u.bill.bill_id, RISKD_ID_MAX, 1);
		CHECK(isfinite(ev->u.bill.amount) && ev->u.bill.amount >= 0);
		CHECK(isfinite(ev->u.bill.period_kwh) && ev->u.bill.period_kwh >= 0);
		check_date_round_trip(ev->u.bill.due_date);
		break;
	case EVENT_PAYMENT:
		CHECK(isfinite(ev->u.payment.amount) && ev->u.payment.amount > 0);
		check_text(ev->u.payment.bill_id, RISKD_ID_MAX, !!(ev->has & EVENT_HAS_BILL_ID));
		check_text(ev->u.payment.channel, RISKD_SHORT_TEXT_MAX, 0);
		break;
	case EVENT_PAYMENT_REVERSAL:
		CHECK(isfinite(ev->u.reversal.amount) && ev->u.reversal.amount > 0);
		check_text(ev->u.reversal.payment_event_id, RISKD_EVENT_ID_MAX, 1);
		check_text(ev->u.reversal.reason, RISKD_SHORT_TEXT_MAX, 0);
		break;
	case EVENT_CUSTOMER:
		CHECK(ev->u.customer.segment > SEGMENT_UNKNOWN && ev->u.customer.segment < SEGMENT__COUNT);
		check_text(ev->u.customer.transformer_id, RISKD_ID_MAX, 1);
		check_text(ev->u.customer.tariff, RISKD_SHORT_TEXT_MAX, 0);
		if (ev->has & EVENT_HAS_CAPACITY_KW)
			CHECK(isfinite(ev->u.customer.capacity_kw) && ev->u.customer.capacity_kw > 0);
		else
			CHECK(ev->u.customer.capacity_kw == 0);
		if (ev->has & EVENT_HAS_SINCE)
			check_date_round_trip(ev->u.customer.since);
		break;
	case EVENT_TRANSFORMER_READING:
		CHECK(isfinite(ev->u.transformer.kwh) && ev->u.transformer.kwh >= 0);
		CHECK(ev->u.transformer.interval_s >= 1 && ev->u.transformer.interval_s <= 86400);
		break;
	default:
		break;
	}
}

/* The time parsers on their own: whatever they accept must be canonical and in range. */
static void fuzz_time(const char *s, size_t len)
{
	int64_t epoch;
	int32_t offset, days;
	if (event_parse_rfc3339(s, len, &epoch, &offset) == 0) {
		CHECK(len >= 20);
		CHECK(offset >= -18 * 3600 && offset <= 18 * 3600 && offset % 60 == 0);
		/* The local date as written is the first ten bytes, and is itself a valid date. */
		CHECK(event_parse_date(s, 10, &days) == 0);
		int64_t local_s = epoch + offset;
		int64_t local_days = (local_s >= 0 ? local_s : local_s - 86399) / 86400;
		CHECK(local_days == days);
	}
	if (event_parse_date(s, len, &days) == 0) {
		char text[16];
		CHECK(len == 10);
		event_format_date(days, text, sizeof text);
		CHECK(memcmp(text, s, 10) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event ev, ev2;
	char err[256], err2[256];

	/* A heap copy of exactly size bytes, so ASan sees any read past the payload. */
	uint8_t *payload = malloc(size ? size : 1);
	CHECK(payload != NULL);
	if (size)
		memcpy(payload, data, size);

	memset(err, 0x7f, sizeof err);
	enum event_reject rc = event_decode(payload, size, &ev, err, sizeof err);
	CHECK((unsigned)rc <= EVENT_REJECT_BAD_TIMESTAMP);
	CHECK(event_reject_name(rc) != NULL);
	CHECK((size > EVENT_MAX_BYTES) == (rc == EVENT_REJECT_TOO_LARGE));
	if (rc != EVENT_REJECT_NONE) {
		size_t n = strnlen(err, sizeof err);
		CHECK(n > 0 && n < sizeof err);
		CHECK(memchr(err, '\n', n) == NULL && memchr(err, '\r', n) == NULL);
	} else {
		check_event(&ev);
		char energy_err[256];
		enum event_reject erc = event_check_energy(&ev, 20, 2000, energy_err, sizeof energy_err);
		CHECK(erc == EVENT_REJECT_NONE || erc == EVENT_REJECT_IMPOSSIBLE);
	}

	/* Deterministic: the same bytes give the same verdict, message and event. */
	enum event_reject rc2 = event_decode(payload, size, &ev2, err2, sizeof err2);
	CHECK(rc2 == rc);
	if (rc != EVENT_REJECT_NONE)
		CHECK(strcmp(err, err2) == 0);
	else
		CHECK(memcmp(&ev, &ev2, sizeof ev) == 0);

	/* A tiny message buffer is truncated, never overrun. */
	char tiny[4];
	CHECK(event_decode(payload, size, &ev2, tiny, sizeof tiny) == rc);

	if (size <= 64)
		fuzz_time((const char *)payload, size);
	free(payload);
	return 0;
}
