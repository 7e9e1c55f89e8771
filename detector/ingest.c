/*
 * ingest.c - one decoded event through state, roll-up, models and scoring (see ingest.h).
 */
#include "ingest.h"

#include <stddef.h>
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

static void apply_reading(struct ingest *in, struct cstate *cs, const struct event *ev,
                          struct ingest_result *out)
{
	int customer = ev->type == EVENT_METER_READING;
	double kwh = customer ? ev->u.reading.kwh : ev->u.transformer.kwh;
	struct daily_closed *closed = &out->closed;
	out->has_usage = 1;
	out->interval_s = customer ? ev->u.reading.interval_s : ev->u.transformer.interval_s;
	out->day = localday_split(&in->localday, ev->ts, &out->second);
	out->uwh = daily_kwh_to_uwh(kwh);
	enum daily_result result =
	    daily_apply_reading(cs, out->day, out->uwh, out->interval_s, closed);
	out->day_result = result;
	if (customer)
		out->has_alert = scorer_on_reading(in->scorer, cs,
		                                   cstate_transformer_id(in->customers, cs), ev,
		                                   out->day, out->second, result, closed, &out->alert);
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
	out->cs = cs;
	if (cstate_seen_event(cs, cstate_hash(ev->event_id, strlen(ev->event_id)))) {
		out->outcome = INGEST_DUPLICATE;
		return;
	}
	out->outcome = INGEST_ACCEPTED;
	if (ev->ts > cs->last_ts)
		cs->last_ts = ev->ts;
	switch (ev->type) {
	case EVENT_METER_READING:
	case EVENT_TRANSFORMER_READING:
		apply_reading(in, cs, ev, out);
		break;
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
