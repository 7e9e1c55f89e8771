/*
 * ingest.c - one decoded event through state, roll-up, models and scoring (see ingest.h).
 */
#include "ingest.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "../scoring/daily.h"

static void apply_profile(struct ingest *in, struct cstate *cs, const struct event *ev)
{
	cs->segment = (uint8_t)ev->u.customer.segment;
	/* Cannot fail: the decoder bounds transformer_id to RISKD_ID_MAX bytes. Interns (and
	 * may allocate) only the first time the table sees this transformer. */
	(void)cstate_transformer_id_set(in->customers, cs, ev->u.customer.transformer_id);
	cs->capacity_kw =
	    (ev->has & EVENT_HAS_CAPACITY_KW) ? (float)ev->u.customer.capacity_kw : 0.0f;
	cs->flags |= CSTATE_F_PROFILE;
}

/* Writes the conflict message of a restatement into errstr. */
static void conflict_message(const struct ingest_result *out, int64_t old_uwh, char *errstr,
                             size_t errstr_size)
{
	char counted[48] = "an energy that cannot be compared";
	if (old_uwh >= 0)
		snprintf(counted, sizeof(counted), "%.6f kWh", (double)old_uwh / 1e6);
	snprintf(errstr, errstr_size,
	         "conflict: a reading of %d s at second %d of local day %d was counted with %s, "
	         "this one has %.6f kWh", (int)out->interval_s, (int)out->second, (int)out->day,
	         counted, (double)out->uwh / 1e6);
}

/* The coverage of a closed day the reading is for, through the hook; NULL for the open day,
 * a later one, the first reading, or a closed day without the hook. */
static uint16_t *closed_day_cover(struct ingest *in, const struct cstate *cs,
                                  const struct ingest_result *out)
{
	if (!(cs->flags & CSTATE_F_HAS_DAY) || out->day >= cs->open_day || !in->closed_cover)
		return NULL;
	return in->closed_cover(in->closed_cover_arg, cs, out->transformer, out->day);
}

/* Checks a reading against its day's coverage: the open day's slots, or the closed day's
 * codes (cover; NULL: none to check). Returns 1 when the caller goes on counting it, 0 when
 * out->outcome says what it is (duplicate, conflict, or a restatement applied: accepted with
 * out->restated). */
static int check_coverage(struct ingest *in, struct cstate_table *table, struct cstate *cs,
                          uint16_t *cover, struct ingest_result *out, char *errstr,
                          size_t errstr_size)
{
	int64_t old_uwh;
	int32_t old_interval_s = 0;
	int open = (cs->flags & CSTATE_F_HAS_DAY) && out->day == cs->open_day;
	enum daily_cover verdict;
	if (open)
		verdict = daily_open_check(cs, out->day, out->second, out->interval_s, out->uwh,
		                           &old_uwh, &old_interval_s);
	else if (cover)
		verdict = daily_cover_check(cover, out->second, out->interval_s, out->uwh, &old_uwh);
	else
		return 1;
	switch (verdict) {
	case DAILY_COVER_NEW:
		return 1;
	case DAILY_COVER_SAME:
		out->outcome = INGEST_DUPLICATE;
		return 0;
	case DAILY_COVER_DIFFERS:
		break;
	}
	if (!in->restatements_apply || old_uwh < 0) {
		conflict_message(out, old_uwh, errstr, errstr_size);
		out->outcome = INGEST_CONFLICT;
		out->reason = EVENT_REJECT_CONFLICT;
		return 0;
	}
	if (open) {
		daily_restate(table, cs, out->second, out->interval_s, old_uwh, out->uwh);
		out->day_result = DAILY_SAME_DAY;
		out->restated_uwh = old_uwh;
		out->restated_interval_s = old_interval_s;
	} else {
		daily_cover_add(cover, out->second, out->interval_s, out->uwh);
		out->day_result = DAILY_LATE;
	}
	out->outcome = INGEST_ACCEPTED;
	out->has_usage = 1;
	out->restated = 1;
	out->uwh -= old_uwh;
	return 0;
}

/* What scorer_on_reading or scorer_on_silent_day did with a closed day, into out. */
static void ingest_outcome(struct ingest_result *out, int outcome)
{
	out->has_alert = outcome == SCORER_ALERT || outcome == SCORER_ALERT_PENDING;
	out->deferred = outcome == SCORER_DEFERRED || outcome == SCORER_ALERT_PENDING;
	out->decided = outcome == SCORER_DECIDED;
}

/* Puts a reading into the entity's day; returns 1 when it counted, 0 when it was a repeat:
 * out->outcome says which (a restatement applied is accepted, with out->restated). */
static int apply_reading(struct ingest *in, struct cstate_table *table, struct cstate *cs,
                         const struct event *ev, struct ingest_result *out, char *errstr,
                         size_t errstr_size)
{
	int customer = ev->type == EVENT_METER_READING;
	double kwh = customer ? ev->u.reading.kwh : ev->u.transformer.kwh;
	struct daily_closed *closed = &out->closed;
	out->interval_s = customer ? ev->u.reading.interval_s : ev->u.transformer.interval_s;
	out->day = localday_split(&in->localday, ev->ts, &out->second);
	out->uwh = daily_kwh_to_uwh(kwh);
	uint16_t *cover = closed_day_cover(in, cs, out);
	if (!check_coverage(in, table, cs, cover, out, errstr, errstr_size))
		return 0;
	if (ev->ts > cs->last_ts)
		cs->last_ts = ev->ts;
	out->has_usage = 1;
	if ((cs->flags & CSTATE_F_HAS_DAY) && out->day > cs->open_day) {
		/* the day that closes: what its slots say, before the new day's replace them */
		daily_open_cover(cs, cs->open_day, out->closed_cover);
		memset(&out->closed_hours, 0, sizeof(out->closed_hours));
		daily_open_hours(cs, cs->open_day, &out->closed_hours);
	}
	enum daily_result result =
	    daily_apply_reading(cs, out->day, out->uwh, out->interval_s, closed);
	out->day_result = result;
	if (result != DAILY_LATE)
		daily_open_add(table, cs, out->second, out->interval_s, out->uwh);
	else if (cover)
		daily_cover_add(cover, out->second, out->interval_s, out->uwh);
	if (customer) {
		int outcome = scorer_on_reading(in->scorer, cs, cstate_transformer_id(in->customers, cs),
		                                ev, out->day, out->second, result, closed, &out->alert);
		ingest_outcome(out, outcome);
	}
	return 1;
}

static void apply_billing(struct ingest *in, struct cstate *cs, const struct event *ev)
{
	int32_t day = localday_of(&in->localday, ev->ts);
	if (ev->type == EVENT_BILL)
		payments_on_bill(cs, ev, day);
	else if (ev->type == EVENT_PAYMENT)
		payments_on_payment(cs, ev, day);
	else
		payments_on_reversal(cs, ev, day);
}

void ingest_event(struct ingest *in, const struct event *ev, int32_t partition,
                  struct ingest_result *out, char *errstr, size_t errstr_size)
{
	int transformer = ev->type == EVENT_TRANSFORMER_READING;
	struct cstate_table *table = transformer ? in->transformers : in->customers;
	size_t id_len = strlen(ev->entity_id);

	memset(out, 0, offsetof(struct ingest_result, alert));
	out->transformer = transformer;
	if (ev->type == EVENT_METER_READING || transformer) {
		const struct cstate *known = cstate_table_get(table, ev->entity_id, id_len);
		double capacity = known && !transformer ? known->capacity_kw : 0;
		out->reason = event_check_energy(ev, capacity, in->max_kw_unknown_profile, errstr,
		                                 errstr_size);
		if (out->reason != EVENT_REJECT_NONE) {
			out->outcome = INGEST_REJECTED;
			return;
		}
	}
	struct cstate *cs = cstate_table_upsert(table, ev->entity_id, id_len, partition, NULL);
	int reading = ev->type == EVENT_METER_READING || transformer;
	out->cs = cs;
	if (!reading && cstate_seen_event(cs, cstate_hash(ev->event_id, strlen(ev->event_id)))) {
		out->outcome = INGEST_DUPLICATE;
		return;
	}
	out->outcome = INGEST_ACCEPTED;
	if (reading) {
		if (apply_reading(in, table, cs, ev, out, errstr, errstr_size) || out->restated)
			cstate_table_mark_dirty(table, cs);
		return;
	}
	switch (ev->type) {
	case EVENT_METER_EVENT:
		scorer_on_meter_event(in->scorer, cs, ev, localday_of(&in->localday, ev->ts));
		break;
	case EVENT_CUSTOMER:
		apply_profile(in, cs, ev);
		payments_on_profile(cs, ev);
		break;
	case EVENT_BILL:
	case EVENT_PAYMENT:
	case EVENT_PAYMENT_REVERSAL:
		apply_billing(in, cs, ev);
		break;
	default:
		break;
	}
	cstate_table_mark_dirty(table, cs);
}

void ingest_close_silent(struct ingest *in, struct cstate *cs, struct ingest_result *out)
{
	memset(out, 0, offsetof(struct ingest_result, alert));
	out->outcome = INGEST_ACCEPTED;
	out->cs = cs;
	out->has_usage = 1;
	out->silent = 1;
	out->day_result = DAILY_CLOSED_DAY;
	int32_t day = cs->open_day;
	/* what its slots say, as for a close by a reading (nothing for an empty silent day) */
	daily_open_cover(cs, day, out->closed_cover);
	memset(&out->closed_hours, 0, sizeof(out->closed_hours));
	daily_open_hours(cs, day, &out->closed_hours);
	daily_close_silent(cs, &out->closed);
	/* the day the close opened, as a reading of the whole day that adds nothing */
	out->day = cs->open_day;
	out->interval_s = 86400;
	int outcome = scorer_on_silent_day(in->scorer, cs, cstate_transformer_id(in->customers, cs),
	                                   &out->closed, &out->alert);
	ingest_outcome(out, outcome);
	cstate_table_mark_dirty(in->customers, cs);
}
