/*
 * test_ingest.c - one decoded event through detector/ingest.h: a reading lands in its local
 * day (Asia/Shanghai, UTC+8, so local and UTC days differ) and rolls the daily usage up,
 * energy above capacity is rejected before any state exists, a reading for time its day
 * counts already is a duplicate (same energy, skipped without touching state) or a
 * restatement (a conflict, or applied), on the open day and on a closed one, a repeated
 * billing event_id is skipped, a profile sets segment, transformer and capacity, transformer
 * readings keep their own table, billing events feed the payment state, meter events the
 * tamper models, a closing day can raise an alert, and credit grades follow the billing days
 * of the partition (grader_on_billing before each billing event, as the pipeline calls it)
 * whatever the order of readings and billing.
 *
 * Runs from the repository root (make test-unit does): the shipped rules/ and scoring/cards/,
 * and tests/unit/data/ingest/theft.yaml, are read by relative path.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detector/ingest.h"

/* 2026-01-01 as a local day, and its local midnight in Asia/Shanghai as Unix seconds. */
#define D0 20454
#define HOUR 3600
#define MIDNIGHT(day) ((int64_t)(day) * 86400 - 8 * HOUR)

struct fixture {
	struct ingest in;
	struct ingest_result r;
	char err[256];
	int seq; /* event_id counter */
};

static void fixture_init(struct fixture *f, const char *rules_path, int with_grader)
{
	memset(f, 0, sizeof(*f));
	cr_assert_eq(localday_init(&f->in.localday, "Asia/Shanghai", f->err, sizeof(f->err)), 0,
	             "%s", f->err);
	struct rbuf diag = {0};
	f->in.scorer = scorer_new(rules_path, &diag);
	rbuf_append(&diag, "", 1);
	cr_assert_not_null(f->in.scorer, "%s", diag.data);
	if (with_grader) {
		rbuf_reset(&diag);
		f->in.grader = grader_new("rules", "scoring/cards", 5, &diag);
		rbuf_append(&diag, "", 1);
		cr_assert_not_null(f->in.grader, "%s", diag.data);
	}
	rbuf_free(&diag);
	f->in.customers = cstate_table_new(16);
	f->in.transformers = cstate_table_new(16);
	f->in.max_kw_unknown_profile = 10;
}

static void fixture_fini(struct fixture *f)
{
	cstate_table_destroy(f->in.customers);
	cstate_table_destroy(f->in.transformers);
	scorer_free(f->in.scorer);
	grader_free(f->in.grader);
}

/* An event of type for entity id at ts with a fresh event_id. */
static struct event base_event(struct fixture *f, enum event_type type, const char *id,
                               int64_t ts)
{
	struct event ev;
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.ts = ts;
	ev.ts_utc_offset_s = 8 * HOUR;
	snprintf(ev.event_id, sizeof(ev.event_id), "ev-%d", ++f->seq);
	snprintf(ev.entity_id, sizeof(ev.entity_id), "%s", id);
	return ev;
}

static struct event reading(struct fixture *f, const char *customer, int64_t ts, double kwh,
                            int32_t interval_s)
{
	struct event ev = base_event(f, EVENT_METER_READING, customer, ts);
	snprintf(ev.u.reading.meter_id, sizeof(ev.u.reading.meter_id), "M-%s", customer);
	ev.u.reading.kwh = kwh;
	ev.u.reading.interval_s = interval_s;
	return ev;
}

static struct event profile(struct fixture *f, const char *customer, int64_t ts,
                            enum segment segment, const char *transformer, double capacity_kw)
{
	struct event ev = base_event(f, EVENT_CUSTOMER, customer, ts);
	ev.u.customer.segment = segment;
	snprintf(ev.u.customer.transformer_id, sizeof(ev.u.customer.transformer_id), "%s",
	         transformer);
	if (capacity_kw > 0) {
		ev.has |= EVENT_HAS_CAPACITY_KW;
		ev.u.customer.capacity_kw = capacity_kw;
	}
	return ev;
}

static struct event bill(struct fixture *f, const char *customer, int64_t ts,
                         const char *bill_id, double amount, int32_t due_date)
{
	struct event ev = base_event(f, EVENT_BILL, customer, ts);
	snprintf(ev.u.bill.bill_id, sizeof(ev.u.bill.bill_id), "%s", bill_id);
	ev.u.bill.amount = amount;
	ev.u.bill.due_date = due_date;
	return ev;
}

static struct event payment(struct fixture *f, const char *customer, int64_t ts, double amount)
{
	struct event ev = base_event(f, EVENT_PAYMENT, customer, ts);
	ev.u.payment.amount = amount;
	return ev;
}

static struct event reversal(struct fixture *f, const char *customer, int64_t ts, double amount,
                             const char *payment_event_id)
{
	struct event ev = base_event(f, EVENT_PAYMENT_REVERSAL, customer, ts);
	ev.u.reversal.amount = amount;
	snprintf(ev.u.reversal.payment_event_id, sizeof(ev.u.reversal.payment_event_id), "%s",
	         payment_event_id);
	return ev;
}

static struct ingest_result *ingest(struct fixture *f, const struct event *ev, int32_t partition)
{
	f->err[0] = '\0';
	ingest_event(&f->in, ev, partition, &f->r, f->err, sizeof(f->err));
	return &f->r;
}

static struct ingest_result *accept(struct fixture *f, const struct event *ev)
{
	struct ingest_result *r = ingest(f, ev, 0);
	cr_assert_eq(r->outcome, INGEST_ACCEPTED, "event %s: outcome %d (%s)", ev->event_id,
	             r->outcome, f->err);
	return r;
}

/* ---- readings ---- */

Test(ingest, a_reading_lands_in_its_local_day_and_rolls_the_day_up)
{
	struct fixture f;
	fixture_init(&f, "rules", 0);

	/* 23:59 local on D0 (15:59 UTC) */
	struct event ev = reading(&f, "C1", MIDNIGHT(D0 + 1) - 60, 0.125, 60);
	struct ingest_result *r = ingest(&f, &ev, 3);
	cr_assert_eq(r->outcome, INGEST_ACCEPTED, "%s", f.err);
	cr_assert_not_null(r->cs);
	cr_assert_str_eq(cstate_id(r->cs), "C1");
	cr_assert_eq(r->cs, cstate_table_get(f.in.customers, "C1", 2), "the customer's entry");
	cr_assert_eq(r->cs->partition, 3, "created in the event's partition");
	cr_assert_not(r->transformer);
	cr_assert(r->has_usage);
	cr_assert_eq(r->day, D0, "local day, not the UTC one");
	cr_assert_eq(r->uwh, 125000);
	cr_assert_eq(r->interval_s, 60);
	cr_assert_eq(r->day_result, DAILY_SAME_DAY, "the first reading opens the day");
	cr_assert_not(r->has_alert);
	cr_assert_eq(r->cs->last_ts, ev.ts);
	cr_assert_eq(cstate_table_dirty_count(f.in.customers), 1, "the entry is marked dirty");
	cr_assert(r->cs->flags & CSTATE_F_DIRTY);
	struct cstate *cs = r->cs;

	/* 00:00 local on D0 + 1 (16:00 UTC on D0): the next local day closes D0 */
	ev = reading(&f, "C1", MIDNIGHT(D0 + 1), 1.25, 900);
	r = accept(&f, &ev);
	cr_assert_eq(r->cs, cs);
	cr_assert_eq(r->day, D0 + 1);
	cr_assert_eq(r->day_result, DAILY_CLOSED_DAY);
	cr_assert_eq(r->closed.day, D0);
	cr_assert_eq(r->closed.uwh, 125000);
	cr_assert_eq(r->closed.readings, 1);
	cr_assert_eq(r->closed.covered_s, 60);
	cr_assert_eq(cs->days_closed, 1);

	ev = reading(&f, "C1", MIDNIGHT(D0 + 1) + 900, 0.75, 900);
	r = accept(&f, &ev);
	cr_assert_eq(r->day_result, DAILY_SAME_DAY);
	cr_assert_eq(cs->open_day, D0 + 1);
	cr_assert_eq(cs->open_uwh, 2000000);
	cr_assert_eq(cs->open_readings, 2);
	cr_assert_eq(cs->open_covered_s, 1800);
	int64_t newest = ev.ts;

	/* A late reading (10:00 local on D0): usage for the stored day, state unchanged */
	ev = reading(&f, "C1", MIDNIGHT(D0) + 10 * HOUR, 0.1, 900);
	r = accept(&f, &ev);
	cr_assert(r->has_usage);
	cr_assert_eq(r->day, D0);
	cr_assert_eq(r->uwh, 100000);
	cr_assert_eq(r->day_result, DAILY_LATE);
	cr_assert_eq(cs->open_uwh, 2000000);
	cr_assert_eq(cs->last_ts, newest, "last_ts never goes back");
	cr_assert_eq(cstate_table_count(f.in.customers), 1);
	cr_assert_eq(cstate_table_count(f.in.transformers), 0);
	fixture_fini(&f);
}

Test(ingest, a_repeated_reading_is_skipped_without_touching_state)
{
	struct fixture f;
	fixture_init(&f, "rules", 0);
	struct event first = reading(&f, "C1", MIDNIGHT(D0) + HOUR, 1.0, 900);
	struct cstate *cs = accept(&f, &first)->cs;
	struct event other = reading(&f, "C1", MIDNIGHT(D0) + 2 * HOUR, 2.0, 900);
	accept(&f, &other);
	cstate_table_clear_dirty(f.in.customers);

	struct cstate before = *cs;
	struct ingest_result *r = ingest(&f, &first, 0);
	cr_assert_eq(r->outcome, INGEST_DUPLICATE);
	cr_assert_eq(r->cs, cs, "the duplicate names its entity");
	cr_assert_not(r->has_usage, "a duplicate adds no energy");
	cr_assert_not(r->has_alert);
	cr_assert_eq(memcmp(&before, cs, sizeof(before)), 0, "state untouched");
	cr_assert_eq(cstate_table_dirty_count(f.in.customers), 0);

	/* A file sent again carries new event_ids: the interval and energy decide. */
	struct event resent = reading(&f, "C1", MIDNIGHT(D0) + HOUR, 1.0, 900);
	cr_assert_str_neq(resent.event_id, first.event_id);
	cr_assert_eq(ingest(&f, &resent, 0)->outcome, INGEST_DUPLICATE);
	cr_assert_eq(memcmp(&before, cs, sizeof(before)), 0);

	/* The energy check comes first: an impossible repeat is rejected, not skipped. */
	resent.u.reading.kwh = 9.0;
	cr_assert_eq(ingest(&f, &resent, 0)->outcome, INGEST_REJECTED);

	/* Coverage is per entity: another customer's reading of that quarter hour counts. */
	struct event c2 = reading(&f, "C2", MIDNIGHT(D0) + HOUR, 1.0, 900);
	cr_assert_eq(ingest(&f, &c2, 0)->outcome, INGEST_ACCEPTED);
	fixture_fini(&f);
}

Test(ingest, a_reading_restating_the_open_day_is_a_conflict_by_default)
{
	struct fixture f;
	fixture_init(&f, "rules", 0);
	struct event first = reading(&f, "C1", MIDNIGHT(D0) + HOUR, 1.0, 1800);
	struct cstate *cs = accept(&f, &first)->cs;
	struct cstate before = *cs;

	struct event changed = reading(&f, "C1", MIDNIGHT(D0) + HOUR, 1.25, 1800);
	struct ingest_result *r = ingest(&f, &changed, 0);
	cr_assert_eq(r->outcome, INGEST_CONFLICT);
	cr_assert_eq(r->reason, EVENT_REJECT_CONFLICT);
	cr_assert_str_eq(event_reject_name(r->reason), "conflict");
	cr_assert_not_null(strstr(f.err, "conflict"), "%s", f.err);
	cr_assert_not_null(strstr(f.err, "1.000000 kWh"), "names what was counted: %s", f.err);
	cr_assert_not_null(strstr(f.err, "1.250000 kWh"), "and what came: %s", f.err);
	cr_assert_not(r->has_usage);
	cr_assert_eq(memcmp(&before, cs, sizeof(before)), 0, "state untouched");

	/* Another shape over counted time is a conflict too: the first or the second quarter
	 * hour of the half-hour reading, or an hour that takes it in. */
	struct event quarter = reading(&f, "C1", MIDNIGHT(D0) + HOUR, 1.0, 900);
	cr_assert_eq(ingest(&f, &quarter, 0)->outcome, INGEST_CONFLICT);
	quarter.ts += 900;
	cr_assert_eq(ingest(&f, &quarter, 0)->outcome, INGEST_CONFLICT);
	struct event hour = reading(&f, "C1", MIDNIGHT(D0) + HOUR, 1.0, 3600);
	cr_assert_eq(ingest(&f, &hour, 0)->outcome, INGEST_CONFLICT);
	/* the half hour after it is free */
	struct event next = reading(&f, "C1", MIDNIGHT(D0) + HOUR + 1800, 1.0, 1800);
	accept(&f, &next);
	cr_assert_eq(cs->open_readings, 2);
	cr_assert_eq(cs->open_uwh, 2000000);
	fixture_fini(&f);
}

Test(ingest, a_restatement_is_applied_when_configured)
{
	struct fixture f;
	fixture_init(&f, "rules", 0);
	f.in.restatements_apply = 1;
	struct event first = reading(&f, "C1", MIDNIGHT(D0) + HOUR, 1.0, 900);
	struct cstate *cs = accept(&f, &first)->cs;
	struct event other = reading(&f, "C1", MIDNIGHT(D0) + 2 * HOUR, 0.5, 900);
	accept(&f, &other);
	cstate_table_clear_dirty(f.in.customers);

	struct event changed = reading(&f, "C1", MIDNIGHT(D0) + HOUR, 1.25, 900);
	struct ingest_result *r = accept(&f, &changed);
	cr_assert(r->restated);
	cr_assert(r->has_usage);
	cr_assert_eq(r->uwh, 250000, "the change it made");
	cr_assert_eq(r->day_result, DAILY_SAME_DAY);
	cr_assert_not(r->has_alert, "a correction feeds no model");
	cr_assert_eq(cs->open_uwh, 1750000, "the day's total corrected");
	cr_assert_eq(cs->open_readings, 2, "still two readings");
	cr_assert_eq(cs->open_covered_s, 1800);
	cr_assert_eq(cstate_table_dirty_count(f.in.customers), 1, "the changed state is saved");

	/* the correction is what the day counts now: sent again it is a duplicate, and the
	 * first value restates it back */
	cr_assert_eq(ingest(&f, &changed, 0)->outcome, INGEST_DUPLICATE);
	r = accept(&f, &first);
	cr_assert(r->restated);
	cr_assert_eq(r->uwh, -250000);
	cr_assert_eq(cs->open_uwh, 1500000);

	/* the open day holds every energy exactly: one finer than a Wh, or 40 kWh, or 100 MWh,
	 * is a duplicate when repeated and replaced when restated; one of another shape cannot
	 * be replaced: a conflict even here */
	struct event fine = reading(&f, "C1", MIDNIGHT(D0) + 3 * HOUR, 0.0005, 900);
	accept(&f, &fine);
	cr_assert_eq(ingest(&f, &fine, 0)->outcome, INGEST_DUPLICATE);
	fine.u.reading.kwh = 0.0006;
	r = accept(&f, &fine);
	cr_assert(r->restated, "0.1 Wh apart: a restatement, applied");
	cr_assert_eq(r->uwh, 100);
	struct event big = reading(&f, "C1", MIDNIGHT(D0) + 4 * HOUR, 40.0, 900);
	f.in.max_kw_unknown_profile = 1000000;
	accept(&f, &big);
	cr_assert_eq(ingest(&f, &big, 0)->outcome, INGEST_DUPLICATE, "40 kWh");
	big.u.reading.kwh = 40.001;
	cr_assert(accept(&f, &big)->restated);
	struct event huge = reading(&f, "C1", MIDNIGHT(D0) + 5 * HOUR, 100000.0, 900);
	accept(&f, &huge);
	cr_assert_eq(ingest(&f, &huge, 0)->outcome, INGEST_DUPLICATE, "100 MWh");
	huge.u.reading.kwh = 100000.000001;
	cr_assert(accept(&f, &huge)->restated, "a micro-kWh apart");
	struct event half = reading(&f, "C1", MIDNIGHT(D0) + HOUR, 2.0, 1800);
	cr_assert_eq(ingest(&f, &half, 0)->outcome, INGEST_CONFLICT, "another shape");
	cr_assert_eq(cs->open_uwh, 1500600 + 40001000 + 100000000001LL);
	fixture_fini(&f);
}

/* A test's stand-in for the detector's batch: one closed day's coverage. */
struct closed_cover_stub {
	int32_t day;
	uint16_t codes[CSTATE_COVER_SLOTS];
	int calls;
};

static uint16_t *stub_cover(void *arg, const struct cstate *cs, int transformer, int32_t day)
{
	struct closed_cover_stub *stub = arg;
	(void)cs;
	(void)transformer;
	stub->calls++;
	return day == stub->day ? stub->codes : NULL;
}

Test(ingest, a_late_reading_is_checked_against_its_closed_days_coverage)
{
	struct fixture f;
	struct closed_cover_stub stub = {0};
	fixture_init(&f, "rules", 0);
	f.in.closed_cover = stub_cover;
	f.in.closed_cover_arg = &stub;
	struct event first = reading(&f, "C1", MIDNIGHT(D0) + HOUR, 1.0, 1800);
	struct cstate *cs = accept(&f, &first)->cs;
	struct event second = reading(&f, "C1", MIDNIGHT(D0) + 2 * HOUR, 0.5, 1800);
	accept(&f, &second);
	/* the next day closes D0: the result carries D0's coverage for the batch */
	struct event d1 = reading(&f, "C1", MIDNIGHT(D0 + 1) + HOUR, 0.75, 1800);
	struct ingest_result *r = accept(&f, &d1);
	cr_assert_eq(r->day_result, DAILY_CLOSED_DAY);
	cr_assert_eq(r->closed.day, D0);
	int hour_slot = HOUR / CSTATE_COVER_SLOT_S;
	cr_assert_eq(r->closed_cover[hour_slot], 1001, "1000 Wh + 1");
	cr_assert_eq(r->closed_cover[hour_slot + 1], CSTATE_COVER_CONT);
	cr_assert_eq(r->closed_cover[hour_slot + 2], CSTATE_COVER_NONE);
	uint16_t open_cover[CSTATE_COVER_SLOTS];
	daily_open_cover(cs, D0 + 1, open_cover);
	cr_assert_eq(open_cover[hour_slot], 751, "the open day D0 + 1 starts its own");
	cr_assert_eq(open_cover[2 * hour_slot], CSTATE_COVER_NONE);
	cr_assert_eq(r->closed_hours.mask, (1u << 1) | (1u << 2), "and its hourly sums");
	cr_assert_eq(r->closed_hours.uwh[1], 1000000);
	cr_assert_eq(r->closed_hours.uwh[2], 500000);
	stub.day = D0;
	memcpy(stub.codes, r->closed_cover, sizeof(stub.codes));

	/* the same reading a day later: a duplicate */
	struct cstate before = *cs;
	struct event resent = reading(&f, "C1", MIDNIGHT(D0) + HOUR, 1.0, 1800);
	cr_assert_eq(ingest(&f, &resent, 0)->outcome, INGEST_DUPLICATE);
	cr_assert_eq(stub.calls, 1);
	cr_assert_eq(memcmp(&before, cs, sizeof(before)), 0, "state untouched");
	/* with another energy: a conflict */
	resent.u.reading.kwh = 1.5;
	r = ingest(&f, &resent, 0);
	cr_assert_eq(r->outcome, INGEST_CONFLICT);
	cr_assert_not_null(strstr(f.err, "conflict"));
	/* time D0 did not have: counted as late, and recorded in the day's coverage */
	struct event gap = reading(&f, "C1", MIDNIGHT(D0) + 5 * HOUR, 0.25, 1800);
	r = accept(&f, &gap);
	cr_assert_eq(r->day_result, DAILY_LATE);
	cr_assert_eq(r->uwh, 250000);
	cr_assert_eq(stub.codes[5 * hour_slot], 251);
	cr_assert_eq(ingest(&f, &gap, 0)->outcome, INGEST_DUPLICATE, "and caught when repeated");

	/* applied as a correction: the day's stored total moves by the change */
	f.in.restatements_apply = 1;
	r = accept(&f, &resent);
	cr_assert(r->restated);
	cr_assert_eq(r->day_result, DAILY_LATE);
	cr_assert_eq(r->day, D0);
	cr_assert_eq(r->uwh, 500000);
	cr_assert_eq(stub.codes[hour_slot], 1501);
	cr_assert_eq(cs->open_uwh, 750000, "the open day is another day");

	/* without coverage for the day (an older day, or no hook) a late reading counts */
	struct event older = reading(&f, "C1", MIDNIGHT(D0 - 3) + HOUR, 1.0, 1800);
	cr_assert_eq(accept(&f, &older)->day_result, DAILY_LATE);
	cr_assert_eq(accept(&f, &older)->day_result, DAILY_LATE, "unchecked");
	fixture_fini(&f);
}

Test(ingest, readings_off_the_quarter_hours_are_not_checked)
{
	struct fixture f;
	fixture_init(&f, "rules", 0);
	/* five-minute readings: several start in one quarter hour, none is tracked */
	struct event a = reading(&f, "C1", MIDNIGHT(D0) + HOUR, 0.1, 300);
	struct cstate *cs = accept(&f, &a)->cs;
	accept(&f, &a);
	cr_assert_eq(cs->open_readings, 2, "counted again: the contract's intervals are 15 min up");
	uint16_t open_cover[CSTATE_COVER_SLOTS];
	daily_open_cover(cs, D0, open_cover);
	cr_assert_eq(open_cover[HOUR / CSTATE_COVER_SLOT_S], CSTATE_COVER_NONE);
	cr_assert_null(cs->slots, "nothing held");
	/* but one over a tracked reading's time is a conflict */
	struct event q = reading(&f, "C1", MIDNIGHT(D0) + 2 * HOUR, 0.2, 900);
	accept(&f, &q);
	struct event inside = reading(&f, "C1", MIDNIGHT(D0) + 2 * HOUR + 300, 0.1, 300);
	cr_assert_eq(ingest(&f, &inside, 0)->outcome, INGEST_CONFLICT);
	fixture_fini(&f);
}

Test(ingest, energy_above_capacity_is_rejected_before_any_state)
{
	struct fixture f;
	fixture_init(&f, "rules", 0);

	/* No profile: at most 10 kW, i.e. 2.5 kWh in 15 minutes. */
	struct event ev = reading(&f, "C1", MIDNIGHT(D0), 3.0, 900);
	struct ingest_result *r = ingest(&f, &ev, 0);
	cr_assert_eq(r->outcome, INGEST_REJECTED);
	cr_assert_eq(r->reason, EVENT_REJECT_IMPOSSIBLE);
	cr_assert_neq(f.err[0], '\0', "the reason's message");
	cr_assert_not(r->has_usage);
	cr_assert_null(cstate_table_get(f.in.customers, "C1", 2), "no entity for a rejected event");
	cr_assert_eq(cstate_table_dirty_count(f.in.customers), 0);
	ev = reading(&f, "C1", MIDNIGHT(D0), 2.5, 900);
	cr_assert_eq(ingest(&f, &ev, 0)->outcome, INGEST_ACCEPTED, "%s", f.err);

	/* With a profile of 2 kW: 0.6 kWh in 15 minutes (2.4 kW) is too much. */
	ev = profile(&f, "C1", MIDNIGHT(D0) + HOUR, SEGMENT_RESIDENTIAL, "T1", 2);
	struct cstate *cs = accept(&f, &ev)->cs;
	struct cstate before = *cs;
	ev = reading(&f, "C1", MIDNIGHT(D0) + 2 * HOUR, 0.6, 900);
	r = ingest(&f, &ev, 0);
	cr_assert_eq(r->outcome, INGEST_REJECTED);
	cr_assert_eq(r->reason, EVENT_REJECT_IMPOSSIBLE);
	cr_assert_eq(memcmp(&before, cs, sizeof(before)), 0, "state untouched");
	ev = reading(&f, "C1", MIDNIGHT(D0) + 2 * HOUR, 0.5, 900);
	cr_assert_eq(ingest(&f, &ev, 0)->outcome, INGEST_ACCEPTED, "%s", f.err);

	/* A transformer is held to the absolute bound, whatever a customer of its id says. */
	ev = profile(&f, "T1", MIDNIGHT(D0), SEGMENT_INDUSTRIAL, "T9", 1000);
	accept(&f, &ev);
	ev = base_event(&f, EVENT_TRANSFORMER_READING, "T1", MIDNIGHT(D0));
	ev.u.transformer.kwh = 3.0;
	ev.u.transformer.interval_s = 900;
	r = ingest(&f, &ev, 0);
	cr_assert_eq(r->outcome, INGEST_REJECTED);
	cr_assert(r->transformer);
	cr_assert_null(cstate_table_get(f.in.transformers, "T1", 2));
	fixture_fini(&f);
}

Test(ingest, a_profile_sets_segment_transformer_and_capacity)
{
	struct fixture f;
	fixture_init(&f, "rules", 0);
	struct event ev = profile(&f, "C1", MIDNIGHT(D0) + HOUR, SEGMENT_COMMERCIAL, "T7", 12.5);
	ev.has |= EVENT_HAS_SINCE;
	ev.u.customer.since = D0 - 400;
	struct ingest_result *r = ingest(&f, &ev, 2);
	cr_assert_eq(r->outcome, INGEST_ACCEPTED);
	struct cstate *cs = r->cs;
	cr_assert_not(r->has_usage);
	cr_assert_eq(cs->segment, SEGMENT_COMMERCIAL);
	cr_assert_str_eq(cstate_transformer_id(f.in.customers, cs), "T7");
	cr_assert_float_eq(cs->capacity_kw, 12.5, 1e-6);
	cr_assert(cs->flags & CSTATE_F_PROFILE);
	cr_assert_eq(cs->partition, 2);
	cr_assert_eq(cstate_table_dirty_count(f.in.customers), 1);

	/* `since` starts the tenure (13 months before D0) */
	struct feature_vec fv;
	feature_vec_clear(&fv);
	payments_features(cs, D0, &fv);
	cr_assert(feature_known(&fv, FEAT_TENURE_MONTHS), "tenure from the profile's since");
	cr_assert_float_eq(fv.value[FEAT_TENURE_MONTHS], 13, 1.01);

	/* A later profile replaces segment and transformer; no capacity means unknown. */
	ev = profile(&f, "C1", MIDNIGHT(D0) + 2 * HOUR, SEGMENT_AGRICULTURAL, "T8", 0);
	accept(&f, &ev);
	cr_assert_eq(cs->segment, SEGMENT_AGRICULTURAL);
	cr_assert_str_eq(cstate_transformer_id(f.in.customers, cs), "T8");
	cr_assert_float_eq(cs->capacity_kw, 0, 1e-9);
	fixture_fini(&f);
}

Test(ingest, transformer_readings_keep_their_own_table)
{
	struct fixture f;
	fixture_init(&f, "rules", 0);
	struct event ev = base_event(&f, EVENT_TRANSFORMER_READING, "T7", MIDNIGHT(D0 + 1) - 60);
	ev.u.transformer.kwh = 2.0;
	ev.u.transformer.interval_s = 900;
	struct ingest_result *r = ingest(&f, &ev, 5);
	cr_assert_eq(r->outcome, INGEST_ACCEPTED, "%s", f.err);
	cr_assert(r->transformer);
	cr_assert_eq(r->cs, cstate_table_get(f.in.transformers, "T7", 2));
	cr_assert_null(cstate_table_get(f.in.customers, "T7", 2));
	cr_assert(r->has_usage);
	cr_assert_eq(r->day, D0);
	cr_assert_eq(r->uwh, 2000000);
	cr_assert_eq(r->interval_s, 900);
	cr_assert_eq(r->cs->open_uwh, 2000000);
	cr_assert_eq(cstate_table_dirty_count(f.in.transformers), 1);
	cr_assert_eq(cstate_table_dirty_count(f.in.customers), 0);

	/* A customer of the same id is another entity, with its own duplicates. */
	struct event c = reading(&f, "T7", MIDNIGHT(D0), 1.0, 900);
	memcpy(c.event_id, ev.event_id, sizeof(c.event_id));
	r = accept(&f, &c);
	cr_assert_not(r->transformer);
	cr_assert_eq(r->cs, cstate_table_get(f.in.customers, "T7", 2));
	fixture_fini(&f);
}

/* ---- billing, meter events, alerts, grades ---- */

Test(ingest, billing_events_feed_the_payment_state)
{
	struct fixture f;
	fixture_init(&f, "rules", 0);
	/* 20:00 local on D0 (12:00 UTC) */
	struct event ev = bill(&f, "C1", MIDNIGHT(D0) + 20 * HOUR, "B1", 100, D0 + 20);
	struct ingest_result *r = accept(&f, &ev);
	struct cstate *cs = r->cs;
	cr_assert_not(r->has_usage);
	cr_assert_float_eq(payments_balance_owed(&cs->pay), 100, 1e-9);
	cr_assert_eq(payments_days_past_due(&cs->pay, D0 + 20), 0);
	cr_assert_eq(payments_days_past_due(&cs->pay, D0 + 25), 5);

	/* 02:00 local on D0 + 3 (18:00 UTC on D0 + 2): the payment's local day is D0 + 3 */
	struct event pay = payment(&f, "C1", MIDNIGHT(D0 + 3) + 2 * HOUR, 40);
	accept(&f, &pay);
	cr_assert_float_eq(payments_balance_owed(&cs->pay), 60, 1e-9);
	cr_assert_eq(payments_last_payment_day(&cs->pay), D0 + 3);

	ev = reversal(&f, "C1", MIDNIGHT(D0 + 5), 40, pay.event_id);
	accept(&f, &ev);
	cr_assert_float_eq(payments_balance_owed(&cs->pay), 100, 1e-9, "the bounced 40 is owed");
	struct feature_vec fv;
	feature_vec_clear(&fv);
	payments_features(cs, D0 + 5, &fv);
	cr_assert_float_eq(fv.value[FEAT_REVERSALS_12M], 1, 1e-9);
	cr_assert_eq(cs->last_ts, 0, "last_ts is the newest reading's: billing moves no watermark");
	cr_assert_eq(cstate_table_dirty_count(f.in.customers), 1);
	fixture_fini(&f);
}

Test(ingest, meter_events_feed_the_tamper_models)
{
	struct fixture f;
	fixture_init(&f, "rules", 0);
	/* 01:00 local on D0 + 1 (17:00 UTC on D0) */
	struct event ev = base_event(&f, EVENT_METER_EVENT, "C1", MIDNIGHT(D0 + 1) + HOUR);
	ev.u.meter_event.code = METER_CODE_MAGNETIC_INTERFERENCE;
	struct ingest_result *r = accept(&f, &ev);
	cr_assert_not(r->has_usage);
	cr_assert_eq(r->cs->last_ts, 0, "a meter event is no reading: it moves no watermark");
	struct feature_vec fv;
	scorer_features(f.in.scorer, r->cs, "", D0 + 1, &fv);
	cr_assert_float_eq(fv.value[FEAT_TAMPER_EVENTS_30D], 1, 1e-9);
	cr_assert_float_eq(fv.value[FEAT_DAYS_SINCE_TAMPER], 0, 1e-9,
	                   "on the event's local day, D0 + 1");
	fixture_fini(&f);
}

Test(ingest, a_closing_day_over_the_threshold_raises_an_alert)
{
	struct fixture f;
	fixture_init(&f, "tests/unit/data/ingest/theft.yaml", 0);
	f.in.max_kw_unknown_profile = 100;
	struct event ev = reading(&f, "C1", MIDNIGHT(D0), 20, 43200);
	cr_assert_not(accept(&f, &ev)->has_alert);
	ev = reading(&f, "C1", MIDNIGHT(D0) + 12 * HOUR, 20, 43200);
	cr_assert_not(accept(&f, &ev)->has_alert, "an open day is not scored");
	ev = reading(&f, "C1", MIDNIGHT(D0 + 1), 1, 43200);
	struct ingest_result *r = accept(&f, &ev);
	cr_assert(r->has_alert, "40 kWh on D0");
	cr_assert_eq(r->alert.day, D0);
	cr_assert_float_eq(r->alert.score, 60, 1e-9);
	cr_assert_str_eq(r->alert.severity, "high");
	cr_assert_not_null(r->alert.rules_json);
	ev = reading(&f, "C1", MIDNIGHT(D0 + 2), 1, 43200);
	cr_assert_not(accept(&f, &ev)->has_alert, "1 kWh on D0 + 1");

	/* A duplicate raises nothing. */
	ev = reading(&f, "C1", MIDNIGHT(D0 + 3), 1, 43200);
	accept(&f, &ev);
	cr_assert_not(ingest(&f, &ev, 0)->has_alert);

	/* Transformers are not scored: the same energy raises nothing. */
	struct scorer_stats before, after;
	scorer_stats(f.in.scorer, &before);
	for (int32_t day = D0; day < D0 + 3; day++) {
		ev = base_event(&f, EVENT_TRANSFORMER_READING, "T1", MIDNIGHT(day));
		ev.u.transformer.kwh = 40;
		ev.u.transformer.interval_s = 86400;
		r = accept(&f, &ev);
		cr_assert_not(r->has_alert, "transformer day %d", day - D0);
	}
	cr_assert_eq(r->day_result, DAILY_CLOSED_DAY, "its days roll up all the same");
	scorer_stats(f.in.scorer, &after);
	cr_assert_eq(after.scored, before.scored);
	fixture_fini(&f);
}

/* The grades a partition's catch-ups record, as text: "C1@day:grade<prev:points" per change
 * and "C1@day:dpd=N" per payment status. */
struct grade_log {
	char text[16384];
	size_t len;
	int32_t newest_as_of;
};

static void log_grade(struct cstate *cs, const struct grader_result *r, void *arg)
{
	struct grade_log *log = arg;
	if (r->changed)
		log->len += (size_t)snprintf(log->text + log->len, sizeof(log->text) - log->len,
		                             "%s@%d:%s<%s:%.2f;", cstate_id(cs), r->as_of,
		                             credit_grade_name(r->grade.grade),
		                             credit_grade_name(r->previous), r->grade.points);
	if (r->has_billing)
		log->len += (size_t)snprintf(log->text + log->len, sizeof(log->text) - log->len,
		                             "%s@%d:dpd=%d;", cstate_id(cs), r->as_of,
		                             r->days_past_due);
	cr_assert_lt(log->len, sizeof(log->text));
	if (r->as_of > log->newest_as_of)
		log->newest_as_of = r->as_of;
}

/* Applies ev as the pipeline does: a billing event first moves grading on. */
static void apply(struct fixture *f, const struct event *ev, struct grade_log *log)
{
	if (ev->type == EVENT_BILL || ev->type == EVENT_PAYMENT || ev->type == EVENT_PAYMENT_REVERSAL)
		grader_on_billing(f->in.grader, f->in.customers, 0, localday_of(&f->in.localday, ev->ts),
		                  log_grade, log);
	accept(f, ev);
}

/* Two customers' billing over 40 days (C1 pays its second bill 30 days late, C2 bounces a
 * payment), their readings, and the profiles; billing_first puts every billing event before
 * every reading, else after. */
static void credit_city(struct fixture *f, int billing_first, struct grade_log *log)
{
	struct event billing[16], readings[80];
	int nb = 0, nr = 0;
	f->seq = 0;
	billing[nb++] = bill(f, "C1", MIDNIGHT(D0) + 9 * HOUR, "B1", 80, D0 + 10);
	billing[nb++] = bill(f, "C2", MIDNIGHT(D0 + 1) + 9 * HOUR, "B2", 60, D0 + 11);
	billing[nb++] = payment(f, "C1", MIDNIGHT(D0 + 3) + 10 * HOUR, 80);
	billing[nb++] = payment(f, "C2", MIDNIGHT(D0 + 4) + 10 * HOUR, 60);
	billing[nb++] = bill(f, "C1", MIDNIGHT(D0 + 6) + 9 * HOUR, "B3", 90, D0 + 16);
	billing[nb++] = reversal(f, "C2", MIDNIGHT(D0 + 9) + 9 * HOUR, 60, "ev-4");
	billing[nb++] = bill(f, "C2", MIDNIGHT(D0 + 31) + 9 * HOUR, "B4", 70, D0 + 41);
	billing[nb++] = payment(f, "C1", MIDNIGHT(D0 + 46) + 9 * HOUR, 90);
	billing[nb++] = payment(f, "C2", MIDNIGHT(D0 + 47) + 9 * HOUR, 130);
	for (int d = 0; d < 40; d++) {
		readings[nr++] = reading(f, "C1", MIDNIGHT(D0 + d) + 12 * HOUR, 5, 86400);
		readings[nr++] = reading(f, "C2", MIDNIGHT(D0 + d) + 12 * HOUR, 4, 86400);
	}
	struct event ev = profile(f, "C1", MIDNIGHT(D0), SEGMENT_RESIDENTIAL, "T1", 0);
	ev.has |= EVENT_HAS_SINCE;
	ev.u.customer.since = D0 - 3000;
	apply(f, &ev, log);
	ev = profile(f, "C2", MIDNIGHT(D0), SEGMENT_COMMERCIAL, "T1", 0);
	apply(f, &ev, log);
	for (int pass = 0; pass < 2; pass++) {
		int billing_now = pass == 0 ? billing_first : !billing_first;
		for (int i = 0; i < (billing_now ? nb : nr); i++)
			apply(f, billing_now ? &billing[i] : &readings[i], log);
	}
}

Test(ingest, credit_grades_follow_the_billing_days_whatever_the_readings_order)
{
	static struct grade_log first, last;
	struct fixture a, b;
	fixture_init(&a, "rules", 1);
	fixture_init(&b, "rules", 1);
	credit_city(&a, 1, &first);
	credit_city(&b, 0, &last);
	cr_assert_str_eq(first.text, last.text, "the readings' order changes no grade");

	/* C1 starts with its first bill's day; every day up to the day before the newest billing
	 * day is graded, and nothing after it */
	char want[64];
	snprintf(want, sizeof(want), "C1@%d:", D0);
	cr_assert(strncmp(first.text, want, strlen(want)) == 0, "%s", first.text);
	cr_assert_eq(first.newest_as_of, D0 + 46, "graded through the day before the last one");
	/* B3 (due D0 + 16) unpaid: the payment status of each catch-up counts days past due as
	 * of its own day, and the grade falls on the very day they reach 14 (the card's bin) */
	snprintf(want, sizeof(want), "C1@%d:B<A:", D0 + 30);
	cr_assert_not_null(strstr(first.text, want), "%s", first.text);
	snprintf(want, sizeof(want), "C1@%d:dpd=%d;", D0 + 30, 14);
	cr_assert_not_null(strstr(first.text, want), "%s", first.text);
	/* C2's bounced payment counts from its own day */
	snprintf(want, sizeof(want), "C2@%d:C<A:", D0 + 9);
	cr_assert_not_null(strstr(first.text, want), "%s", first.text);
	/* nothing before C2's first bill */
	snprintf(want, sizeof(want), "C2@%d:", D0);
	cr_assert_null(strstr(first.text, want));

	struct cstate *c1 = cstate_table_get(a.in.customers, "C1", 2);
	cr_assert_eq(c1->pay.graded_day, D0 + 46);
	/* the same day again grades nothing; a forgotten partition catches up from graded_day */
	cr_assert_eq(grader_on_billing(a.in.grader, a.in.customers, 0, D0 + 47, log_grade, &first),
	             0);
	size_t len = first.len;
	grader_forget_partition(a.in.grader, 0);
	cr_assert_eq(grader_on_billing(a.in.grader, a.in.customers, 0, D0 + 47, log_grade, &first),
	             0, "no day graded twice");
	cr_assert_eq(first.len, len);
	cr_assert_eq(grader_on_billing(a.in.grader, a.in.customers, 0, D0 + 48, log_grade, &first),
	             2, "the next day grades both customers once");
	snprintf(want, sizeof(want), "C1@%d:dpd=0;C2@%d:dpd=0;", D0 + 47, D0 + 47);
	cr_assert_str_eq(first.text + len, want);
	cr_assert_eq(grader_on_billing(a.in.grader, a.in.customers, 1, D0 + 60, log_grade, &first),
	             0, "another partition's customers are not touched");
	fixture_fini(&a);
	fixture_fini(&b);
}
