/*
 * models_events.c - meter events and reverse energy by day: how many tamper events a
 * customer's meter raised in the last 30 days and when the newest was, and how much energy
 * it recorded flowing backwards.
 *
 * Tamper events are counted per local day in 2-bit saturating counters (0..3 a day) packed
 * into one 64-bit word that covers the 32 days ending with the newest tamper day; events may
 * arrive out of order. Reverse energy accumulates exactly for the open day and is stored per
 * closed day as a log code (within 3.2%) in a 30-day ring that moves with the daily history.
 */
#include "models_int.h"

/* Reverse-energy codes (reverse[]): 0 = none, c >= 1: 0.001 * exp((c - 1) / 16) kWh, an
 * absolute scale from 1 Wh to about 7.9 MWh a day, kept within 3.2%. */
#define REVERSE_BASE_KWH 0.001
#define REVERSE_STEPS_PER_E 16.0

static uint8_t reverse_encode(double kwh)
{
	if (!(kwh > 0.0))
		return 0;
	double c = 1.0 + REVERSE_STEPS_PER_E * log(kwh / REVERSE_BASE_KWH);
	if (!(c >= 1.0))
		return 1;
	if (c >= 255.0)
		return 255;
	return (uint8_t)lround(c);
}

static double reverse_decode(uint8_t code)
{
	if (code == 0)
		return 0.0;
	return REVERSE_BASE_KWH * exp((double)(code - 1) / REVERSE_STEPS_PER_E);
}

/* Whether a code exists in the reverse ring for `day`. */
static int reverse_holds(const struct theft_state *ts, int32_t day)
{
	return (ts->flags & THEFT_F_HIST) && day <= ts->hist_day &&
	       (int64_t)ts->hist_day - day < MODELS_REVERSE_DAYS;
}

void models_events_reverse(struct theft_state *ts, int32_t local_day, double reverse_kwh)
{
	if (!(reverse_kwh > 0.0))
		return;
	if ((ts->shape_flags & THEFT_SHAPE_ACTIVE) && ts->shape_day == local_day) {
		ts->reverse_open_kwh = (float)(ts->reverse_open_kwh + reverse_kwh);
		return;
	}
	/* a late reading of a closed day still in the window; anything else is not kept */
	if (!reverse_holds(ts, local_day))
		return;
	uint8_t *code = &ts->reverse[models_mod(local_day, MODELS_REVERSE_DAYS)];
	*code = reverse_encode(reverse_decode(*code) + reverse_kwh);
}

void models_events_close(struct theft_state *ts, int32_t day)
{
	if ((ts->shape_flags & THEFT_SHAPE_ACTIVE) && ts->shape_day == day && reverse_holds(ts, day))
		ts->reverse[models_mod(day, MODELS_REVERSE_DAYS)] = reverse_encode(ts->reverse_open_kwh);
	ts->reverse_open_kwh = 0.0f;
}

double models_reverse_kwh(const struct theft_state *ts, int32_t first_day, int32_t last_day)
{
	double sum = 0.0;
	if (ts->flags & THEFT_F_HIST) {
		for (int i = 0; i < MODELS_REVERSE_DAYS; i++) {
			int32_t day = ts->hist_day - i;
			if (day >= first_day && day <= last_day)
				sum += reverse_decode(ts->reverse[models_mod(day, MODELS_REVERSE_DAYS)]);
		}
	}
	if ((ts->shape_flags & THEFT_SHAPE_ACTIVE) && ts->shape_day >= first_day &&
	    ts->shape_day <= last_day)
		sum += ts->reverse_open_kwh;
	return sum;
}

static int is_tamper_code(enum meter_event_code code)
{
	return code == METER_CODE_COVER_OPEN || code == METER_CODE_MAGNETIC_INTERFERENCE ||
	       code == METER_CODE_REVERSE_FLOW || code == METER_CODE_PHASE_LOSS;
}

/* Counts one tamper event on local day `day`. */
static void tamper_add(struct theft_state *ts, int32_t day)
{
	if (!(ts->flags & THEFT_F_TAMPER)) {
		ts->tamper_counts = 0;
		ts->last_tamper_day = day;
		ts->flags |= THEFT_F_TAMPER;
	}
	if (day > ts->last_tamper_day) {
		int64_t shift = (int64_t)day - ts->last_tamper_day;
		ts->tamper_counts = shift >= MODELS_TAMPER_DAYS ? 0 : ts->tamper_counts << (2 * shift);
		ts->last_tamper_day = day;
	}
	int64_t i = (int64_t)ts->last_tamper_day - day;
	if (i >= MODELS_TAMPER_DAYS)
		return;
	if (((ts->tamper_counts >> (2 * i)) & 3u) < 3u)
		ts->tamper_counts += (uint64_t)1 << (2 * i);
}

int models_tamper_count(const struct theft_state *ts, int32_t first_day, int32_t last_day)
{
	if (!(ts->flags & THEFT_F_TAMPER))
		return 0;
	int count = 0;
	for (int i = 0; i < MODELS_TAMPER_DAYS; i++) {
		int64_t day = (int64_t)ts->last_tamper_day - i;
		if (day >= first_day && day <= last_day)
			count += (int)((ts->tamper_counts >> (2 * i)) & 3u);
	}
	return count;
}

/* As declared in models.h. */
void models_on_meter_event(struct cstate *cs, const struct event *ev, int32_t local_day)
{
	if (ev->type != EVENT_METER_EVENT || !is_tamper_code(ev->u.meter_event.code))
		return;
	tamper_add(&cs->theft, local_day);
}
