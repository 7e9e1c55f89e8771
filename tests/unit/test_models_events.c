/*
 * test_models_events.c - Criterion suite for scoring/models_events.c: tamper meter events
 * counted by day over a 30-day window (out of order, saturating), days since the last one
 * and its distance to a drop, and reverse energy by day over 30 days.
 */
#include <criterion/criterion.h>

#include <math.h>

#include "test_models_feed.h"

#define EPS 1e-6
#define DAY(i) (FEED_D0 + (i))

static double feature(const struct feature_vec *fv, enum feature_id id)
{
	cr_assert(feature_known(fv, id), "feature %s should be known", feature_def(id)->name);
	return fv->value[id];
}

static double tamper_30d(const struct cstate *cs, int32_t today)
{
	struct feature_vec fv;
	feed_features(cs, today, &fv);
	return feature(&fv, FEAT_TAMPER_EVENTS_30D);
}

/*
 * Events on days 0 (cover_open), 5 (magnetic_interference, twice), 20 (phase_loss) and 29
 * (reverse_flow); power_outage, clock_reset and meter_replaced are not tamper codes.
 * The window is the 30 days ending today: [today - 29, today].
 *   today 29: days 0..29  -> 1 + 2 + 1 + 1 = 5
 *   today 30: days 1..30  -> 4 (day 0 left)
 *   today 35: days 6..35  -> 2 (day 5 left)
 *   today 49: days 20..49 -> 2;  today 50: 1;  today 59: 0
 */
Test(models_events, tamper_events_window_at_30_days)
{
	struct cstate cs;
	feed_fresh(&cs);
	cr_assert_float_eq(tamper_30d(&cs, DAY(0)), 0, EPS, "known, zero, before any event");
	feed_meter_event(&cs, DAY(0), METER_CODE_COVER_OPEN);
	feed_meter_event(&cs, DAY(5), METER_CODE_MAGNETIC_INTERFERENCE);
	feed_meter_event(&cs, DAY(5), METER_CODE_MAGNETIC_INTERFERENCE);
	feed_meter_event(&cs, DAY(7), METER_CODE_POWER_OUTAGE);
	feed_meter_event(&cs, DAY(8), METER_CODE_CLOCK_RESET);
	feed_meter_event(&cs, DAY(9), METER_CODE_METER_REPLACED);
	feed_meter_event(&cs, DAY(20), METER_CODE_PHASE_LOSS);
	feed_meter_event(&cs, DAY(29), METER_CODE_REVERSE_FLOW);
	cr_assert_float_eq(tamper_30d(&cs, DAY(29)), 5, EPS);
	cr_assert_float_eq(tamper_30d(&cs, DAY(30)), 4, EPS);
	cr_assert_float_eq(tamper_30d(&cs, DAY(35)), 2, EPS);
	cr_assert_float_eq(tamper_30d(&cs, DAY(49)), 2, EPS);
	cr_assert_float_eq(tamper_30d(&cs, DAY(50)), 1, EPS);
	cr_assert_float_eq(tamper_30d(&cs, DAY(59)), 0, EPS);

	struct feature_vec fv;
	feed_features(&cs, DAY(40), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_DAYS_SINCE_TAMPER), 11, EPS, "day 29 to day 40");
}

/* Out-of-order events land on their own day; more than three a day count as three; events
 * older than the 32 kept days, or pushed out by a later event, are forgotten. */
Test(models_events, tamper_events_out_of_order_and_saturating)
{
	struct cstate cs;
	feed_fresh(&cs);
	feed_meter_event(&cs, DAY(10), METER_CODE_COVER_OPEN);
	feed_meter_event(&cs, DAY(3), METER_CODE_COVER_OPEN);   /* late: 7 days earlier */
	for (int i = 0; i < 5; i++)
		feed_meter_event(&cs, DAY(8), METER_CODE_MAGNETIC_INTERFERENCE);
	cr_assert_float_eq(tamper_30d(&cs, DAY(10)), 1 + 1 + 3, EPS);
	cr_assert_float_eq(tamper_30d(&cs, DAY(33)), 1 + 3, EPS, "day 3 left the window");
	feed_meter_event(&cs, DAY(10 - 40), METER_CODE_COVER_OPEN); /* older than kept: ignored */
	cr_assert_float_eq(tamper_30d(&cs, DAY(10)), 5, EPS);
	feed_meter_event(&cs, DAY(45), METER_CODE_COVER_OPEN);   /* 35 days on: the rest drops */
	cr_assert_float_eq(tamper_30d(&cs, DAY(45)), 1, EPS);
	struct feature_vec fv;
	feed_features(&cs, DAY(45), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_DAYS_SINCE_TAMPER), 0, EPS);
	feed_features(&cs, DAY(44), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_DAYS_SINCE_TAMPER), 0, EPS, "never negative");
}

/* No tamper event: days_since_tamper and tamper_drop_gap_days are missing. */
Test(models_events, no_tamper_means_missing)
{
	struct cstate cs;
	struct feature_vec fv;
	feed_fresh(&cs);
	feed_features(&cs, DAY(0), &fv);
	cr_assert_not(feature_known(&fv, FEAT_DAYS_SINCE_TAMPER));
	cr_assert_not(feature_known(&fv, FEAT_TAMPER_DROP_GAP_DAYS));
	cr_assert_not(feature_known(&fv, FEAT_REVERSE_KWH_30D), "no reading yet");
}

/*
 * A bypass: 10 kWh a day, then zero from day 20, a cover_open on day 18. The drop is
 * signalled on day 21 (day 20: z = -5 clamped, S = 4.5; day 21: S = 7.5) and began on day
 * 20: tamper_drop_gap_days = |20 - 18| = 2; drop_days counts from day 20.
 */
Test(models_events, tamper_close_to_a_drop)
{
	struct cstate cs;
	struct feature_vec fv;
	feed_fresh(&cs);
	for (int i = 0; i < 20; i++)
		feed_day(&cs, DAY(i), 10.0);
	feed_meter_event(&cs, DAY(18), METER_CODE_COVER_OPEN);
	for (int i = 20; i <= 22; i++)
		feed_day(&cs, DAY(i), 0.0);          /* closes 19..21 */
	feed_features(&cs, DAY(22), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_DROP_DAYS), 2, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_TAMPER_DROP_GAP_DAYS), 2, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_DAYS_SINCE_TAMPER), 4, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_ZERO_RUN_DAYS), 2, EPS);
}

/*
 * Reverse energy: 0.1 kWh reverse in each of 24 hourly readings = 2.4 kWh a day on days
 * 0..39 (day 39 open). Each closed day is kept within 3.2%, the open day exactly.
 *   today 39: days 10..39 -> 30 days -> 72 kWh
 *   today 60: days 31..39 -> 9 days -> 21.6 kWh (days 40.. had none)
 * A late reading for day 35 adds 1 kWh to that day; one for day 5 (outside the kept 30
 * days) is dropped.
 */
Test(models_events, reverse_energy_window_at_30_days)
{
	struct cstate cs;
	struct feature_vec fv;
	feed_fresh(&cs);
	for (int i = 0; i < 40; i++)
		for (int h = 0; h < 24; h++)
			feed_reading(&cs, DAY(i), h * 3600, 3600, 0.0, 0.1);
	feed_features(&cs, DAY(39), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_REVERSE_KWH_30D), 72.0, 72.0 * 0.032);
	for (int i = 40; i < 61; i++)
		for (int h = 0; h < 24; h++)
			feed_reading(&cs, DAY(i), h * 3600, 3600, 0.5, -1.0);
	feed_features(&cs, DAY(60), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_REVERSE_KWH_30D), 21.6, 21.6 * 0.032);
	double before = fv.value[FEAT_REVERSE_KWH_30D];
	feed_reading(&cs, DAY(35), 3600, 3600, 0.0, 1.0);   /* late, still kept */
	feed_reading(&cs, DAY(5), 3600, 3600, 0.0, 1.0);    /* late, too old */
	feed_features(&cs, DAY(60), &fv);
	cr_assert_float_eq(fv.value[FEAT_REVERSE_KWH_30D] - before, 1.0, 0.1);
	feed_features(&cs, DAY(70), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_REVERSE_KWH_30D), 0.0, EPS, "all out of the window");

	/* the open day's reverse energy counts exactly */
	struct cstate open;
	feed_fresh(&open);
	feed_reading(&open, DAY(0), 0, 900, 0.0, 0.123);
	feed_reading(&open, DAY(0), 900, 900, 0.0, 0.2);
	feed_features(&open, DAY(0), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_REVERSE_KWH_30D), 0.323, 1e-6);
}
