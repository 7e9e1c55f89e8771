/*
 * test_models_feed.h - helpers shared by the theft-model suites (tests/unit/test_models*.c):
 * they drive scoring/daily.c and scoring/models*.c in the order the detector does
 * (daily_apply_reading, models_on_day_closed when a day closed, then models_on_reading), so
 * the suites test the models through the same calls the pipeline makes.
 *
 * A day closes when the first reading of a later day arrives: after feeding day d, the
 * models have seen every day before d. The first closed day of a customer is never complete
 * (models.c), so series start with one extra day.
 */
#ifndef TEST_MODELS_FEED_H
#define TEST_MODELS_FEED_H

#include <string.h>

#include "scoring/cstate.h"
#include "scoring/daily.h"
#include "scoring/features.h"
#include "scoring/models.h"
#include "streams/event.h"

/* 2026-01-01, a Thursday (weekday 4). */
#define FEED_D0 20454

static inline void feed_fresh(struct cstate *cs)
{
	memset(cs, 0, sizeof(*cs));
	cstate_id_bind(cs, "C1");
	cs->segment = SEGMENT_RESIDENTIAL;
}

/* One reading of kwh kWh at local second sec of local day `day`, interval interval_s;
 * reverse_kwh < 0 means the field is absent. */
static inline void feed_reading(struct cstate *cs, int32_t day, int32_t sec, int32_t interval_s,
                                double kwh, double reverse_kwh)
{
	struct event ev;
	struct daily_closed closed;
	memset(&ev, 0, sizeof(ev));
	ev.type = EVENT_METER_READING;
	ev.ts = (int64_t)day * 86400 + sec;
	ev.u.reading.kwh = kwh;
	ev.u.reading.interval_s = interval_s;
	if (reverse_kwh >= 0.0) {
		ev.has |= EVENT_HAS_REVERSE_KWH;
		ev.u.reading.reverse_kwh = reverse_kwh;
	}
	if (daily_apply_reading(cs, day, daily_kwh_to_uwh(kwh), interval_s, &closed) ==
	    DAILY_CLOSED_DAY)
		models_on_day_closed(cs, &closed);
	models_on_reading(cs, &ev, day, sec);
}

/* A whole day as one daily reading (no interval shape). */
static inline void feed_day(struct cstate *cs, int32_t day, double kwh)
{
	feed_reading(cs, day, 0, 86400, kwh, -1.0);
}

/* Days first_day .. first_day + n - 1 as daily readings; the last one stays open. */
static inline void feed_days(struct cstate *cs, int32_t first_day, const double *kwh, int n)
{
	for (int i = 0; i < n; i++)
		feed_day(cs, first_day + i, kwh[i]);
}

/* A day of 24 hourly readings, hourly[h] kWh in hour h. */
static inline void feed_hours(struct cstate *cs, int32_t day, const double hourly[24])
{
	for (int h = 0; h < 24; h++)
		feed_reading(cs, day, h * 3600, 3600, hourly[h], -1.0);
}

/* A meter event of code `code` on local day `day`. */
static inline void feed_meter_event(struct cstate *cs, int32_t day, enum meter_event_code code)
{
	struct event ev;
	memset(&ev, 0, sizeof(ev));
	ev.type = EVENT_METER_EVENT;
	ev.ts = (int64_t)day * 86400 + 3600;
	ev.u.meter_event.code = code;
	models_on_meter_event(cs, &ev, day);
}

/* Features of cs as of local day today (no peers). */
static inline void feed_features(const struct cstate *cs, int32_t today, struct feature_vec *fv)
{
	feature_vec_clear(fv);
	models_features(cs, NULL, today, fv);
}

#endif
