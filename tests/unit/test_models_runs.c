/*
 * test_models_runs.c - Criterion suite for scoring/models_runs.c: zero-energy runs, flat
 * (stuck-meter) runs, the night share and the peak-to-average ratio of interval data with
 * their long-run levels, on hand-built days.
 */
#include <criterion/criterion.h>

#include <math.h>

#include "test_models_feed.h"

#define EPS 1e-5
#define EPS_Q16 5e-5 /* shares kept as Q16 (1/65535) round at every EWMA step */
#define DAY(i) (FEED_D0 + (i))

static double feature(const struct feature_vec *fv, enum feature_id id)
{
	cr_assert(feature_known(fv, id), "feature %s should be known", feature_def(id)->name);
	return fv->value[id];
}

/*
 * Days (one daily reading each): 0 the partial first day, 1-3 5 kWh, 4-6 zero, 7 5 kWh,
 * 8 zero, 9 without readings, 10-11 zero, 12 5 kWh, 13-43 zero.
 *   after day 6:  run 3, zero days 3
 *   after day 7:  run 0, zero days 3
 *   after day 8:  run 1, zero days 4
 *   after day 10: the missing day 9 broke the run: run 1, zero days 5
 *   after day 11: run 2, zero days 6
 *   after day 43: run 31 (days 13..43), zero days 30 (the window is days 14..43)
 */
Test(models_runs, zero_runs_and_zero_days)
{
	static const double kwh[] = {5, 5, 5, 5, 0, 0, 0, 5, 0};
	static const double expect_run[] = {0, 0, 0, 0, 1, 2, 3, 0, 1};
	static const double expect_days[] = {0, 0, 0, 0, 1, 2, 3, 3, 4};
	struct cstate cs;
	struct feature_vec fv;
	feed_fresh(&cs);
	for (int i = 0; i <= 8; i++) {
		feed_day(&cs, DAY(i), kwh[i]);
		if (i == 0)
			continue;
		feed_features(&cs, DAY(i), &fv);          /* day i - 1 has closed */
		cr_assert_float_eq(feature(&fv, FEAT_ZERO_RUN_DAYS), expect_run[i - 1], EPS, "day %d",
		                   i - 1);
		cr_assert_float_eq(feature(&fv, FEAT_ZERO_DAYS_30D), expect_days[i - 1], EPS,
		                   "day %d", i - 1);
	}
	feed_day(&cs, DAY(10), 0.0);                  /* closes 8; day 9 never had readings */
	feed_features(&cs, DAY(10), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_ZERO_RUN_DAYS), 1, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_ZERO_DAYS_30D), 4, EPS);
	feed_day(&cs, DAY(11), 0.0);                  /* closes 10 */
	feed_features(&cs, DAY(11), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_ZERO_RUN_DAYS), 1, EPS, "the gap broke the run");
	cr_assert_float_eq(feature(&fv, FEAT_ZERO_DAYS_30D), 5, EPS);
	feed_day(&cs, DAY(12), 5.0);                  /* closes 11 */
	feed_features(&cs, DAY(12), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_ZERO_RUN_DAYS), 2, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_ZERO_DAYS_30D), 6, EPS);
	for (int i = 13; i <= 44; i++)                /* closes 12..43 */
		feed_day(&cs, DAY(i), 0.0);
	feed_features(&cs, DAY(44), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_ZERO_RUN_DAYS), 31, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_ZERO_DAYS_30D), 30, EPS);
}

static void fill(double hours[24], double value)
{
	for (int h = 0; h < 24; h++)
		hours[h] = value;
}

/*
 * Flat days: all 24 hourly readings equal and non-zero. Day 0 varies; days 1-3 flat (runs
 * 1, 2, 3), day 4 varies (0), days 5-6 flat (1, 2), day 7 all zero (a zero day, not flat:
 * 0), day 8 flat (1), day 9 only three readings (cannot tell: missing, and the run
 * breaks), day 10 flat (1).
 */
Test(models_runs, flat_runs)
{
	struct cstate cs;
	struct feature_vec fv;
	double flat[24], varied[24], zero[24];
	fill(flat, 0.4);
	fill(zero, 0.0);
	for (int h = 0; h < 24; h++)
		varied[h] = 0.2 + 0.01 * h;
	const double *days[] = {varied, flat, flat, flat, varied, flat, flat, zero, flat};
	static const double expect[] = {0, 1, 2, 3, 0, 1, 2, 0, 1};
	feed_fresh(&cs);
	for (int i = 0; i < 9; i++) {
		feed_hours(&cs, DAY(i), days[i]);
		if (i == 0)
			continue;
		feed_features(&cs, DAY(i), &fv);          /* day i - 1 has closed */
		cr_assert_float_eq(feature(&fv, FEAT_FLAT_RUN_DAYS), expect[i - 1], EPS, "day %d",
		                   i - 1);
	}
	for (int h = 0; h < 3; h++)
		feed_reading(&cs, DAY(9), h * 3600, 3600, 0.4, -1.0); /* closes 8: run 1 */
	feed_features(&cs, DAY(9), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_FLAT_RUN_DAYS), 1, EPS, "day 8");
	feed_hours(&cs, DAY(10), flat);               /* closes 9 */
	feed_features(&cs, DAY(10), &fv);
	cr_assert_not(feature_known(&fv, FEAT_FLAT_RUN_DAYS), "3 readings cannot tell");
	feed_hours(&cs, DAY(11), flat);               /* closes 10 */
	feed_features(&cs, DAY(11), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_FLAT_RUN_DAYS), 1, EPS, "the short day broke the run");

	/* daily readings never tell flat from not */
	struct cstate daily;
	feed_fresh(&daily);
	feed_day(&daily, DAY(0), 5);
	feed_day(&daily, DAY(1), 5);
	feed_features(&daily, DAY(1), &fv);
	cr_assert_not(feature_known(&fv, FEAT_FLAT_RUN_DAYS));
}

/*
 * Night share and peak ratio. A day of 24 hourly readings: 0.2 kWh in 20 hours and 1.0 kWh
 * in hours 18-21, 8 kWh in all:
 *   night share = 6 * 0.2 / 8 = 0.15; peak ratio = 1.0 kW / (8 kWh / 24 h) = 3.0
 * Day 0 is the partial first day; days 1..15 are the same, so after day 15 both the recent
 * values and the long-run levels are exactly 0.15 and 3.0, and 15 >= 14 shape days make
 * the *_change features known (0).
 *
 * Then peak clipping at 0.5 kWh from day 16: 20 * 0.2 + 4 * 0.5 = 6 kWh, peak 0.5 / (6 / 24)
 * = 2.0, night share 1.2 / 6 = 0.2. The recent peak (EWMA 1/4, kept to 0.001):
 *   day 16: 3 + (2 - 3) / 4 = 2.75;  day 17: 2.75 - 0.75 / 4 = 2.5625 -> 2.563;
 *   day 18: 2.563 - 0.563 / 4 = 2.42225 -> 2.422
 * The long-run peak (EWMA 1/14) learns on days 16 and 17 (the drop is signalled only when
 * day 17's level step runs, after its shape): 3 - 1 / 14 = 2.9285714, then
 * 2.9285714 + (2 - 2.9285714) / 14 = 2.8622449; from day 18 on it is frozen.
 * (Daily level: 8 -> 6 kWh, sd 0.4: day 16 z = -5, S = 4.5; day 17 S = 7.5: signalled.)
 *   peak_ratio_change after day 18 = 2.422 - 2.8622449 = -0.4402449
 * Night: recent 0.15 -> 0.1625 -> 0.171875 -> 0.1789063; long-run 0.15 -> 0.1535714 ->
 *   0.1535714 + (0.2 - 0.1535714) / 14 = 0.1568878 (frozen):
 *   night_ratio_change = 0.1789063 - 0.1568878 = 0.0220185
 */
Test(models_runs, night_share_and_peak_ratio_by_hand)
{
	double normal[24], clipped[24];
	struct cstate cs;
	struct feature_vec fv;
	for (int h = 0; h < 24; h++) {
		normal[h] = h >= 18 && h <= 21 ? 1.0 : 0.2;
		clipped[h] = normal[h] < 0.5 ? normal[h] : 0.5;
	}
	feed_fresh(&cs);
	for (int i = 0; i <= 14; i++)
		feed_hours(&cs, DAY(i), normal);
	feed_features(&cs, DAY(14), &fv);          /* days 1..13 closed: 13 shape days */
	cr_assert_float_eq(feature(&fv, FEAT_NIGHT_RATIO), 0.15, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_PEAK_RATIO), 3.0, EPS);
	cr_assert_not(feature_known(&fv, FEAT_PEAK_RATIO_CHANGE), "13 shape days: warming up");
	cr_assert_not(feature_known(&fv, FEAT_NIGHT_RATIO_CHANGE));
	feed_hours(&cs, DAY(15), normal);
	feed_features(&cs, DAY(15), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_PEAK_RATIO_CHANGE), 0.0, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_NIGHT_RATIO_CHANGE), 0.0, EPS);

	feed_hours(&cs, DAY(16), clipped);          /* closes 15 */
	feed_hours(&cs, DAY(17), clipped);          /* closes 16 */
	feed_features(&cs, DAY(17), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_PEAK_RATIO), 2.75, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_PEAK_RATIO_CHANGE), 2.75 - 2.9285714, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_NIGHT_RATIO), 0.1625, EPS);
	feed_hours(&cs, DAY(18), clipped);          /* closes 17 */
	feed_features(&cs, DAY(18), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_DROP_DAYS), 2.0, EPS, "drop signalled on day 17");
	feed_hours(&cs, DAY(19), clipped);          /* closes 18 */
	feed_features(&cs, DAY(19), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_PEAK_RATIO), 2.422, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_PEAK_RATIO_CHANGE), -0.4402449, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_NIGHT_RATIO), 0.1789063, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_NIGHT_RATIO_CHANGE), 0.0220185, EPS_Q16);
}

/* Shape features need complete days of readings of an hour or less; a day of coarser
 * readings or a short day leaves them missing. */
Test(models_runs, shape_needs_fine_complete_days)
{
	double normal[24];
	struct cstate cs;
	struct feature_vec fv;
	fill(normal, 0.3);
	feed_fresh(&cs);
	feed_hours(&cs, DAY(0), normal);
	feed_hours(&cs, DAY(1), normal);
	feed_hours(&cs, DAY(2), normal);             /* closes 1: a shape day */
	feed_features(&cs, DAY(2), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_NIGHT_RATIO), 0.25, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_PEAK_RATIO), 1.0, EPS);
	for (int h = 0; h < 22; h++)                 /* day 3: complete, but 22:00 is 2 hours */
		feed_reading(&cs, DAY(3), h * 3600, 3600, 0.3, -1.0);
	feed_reading(&cs, DAY(3), 22 * 3600, 7200, 0.6, -1.0);
	feed_hours(&cs, DAY(4), normal);             /* closes 3 */
	feed_features(&cs, DAY(4), &fv);
	cr_assert_not(feature_known(&fv, FEAT_NIGHT_RATIO), "a 2-hour reading");
	struct models_history h;
	models_history(&cs, &h);
	cr_assert_float_eq(h.kwh[59], 7.2, 7.2 * 0.017, "yet a complete day, kept");
	for (int h = 0; h < 10; h++)                 /* day 5: 10 of 24 readings */
		feed_reading(&cs, DAY(5), h * 3600, 3600, 0.3, -1.0);
	feed_hours(&cs, DAY(6), normal);             /* closes 5 */
	feed_features(&cs, DAY(6), &fv);
	cr_assert_not(feature_known(&fv, FEAT_NIGHT_RATIO), "short day");
	feed_hours(&cs, DAY(7), normal);             /* closes 6 */
	feed_features(&cs, DAY(7), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_NIGHT_RATIO), 0.25, EPS);
}

/*
 * Zero readings: days 1-10 have none, then readings 02:00-05:59 read 0 (4 of 24 readings, a
 * share of 1/6 each day). The recent share is an EWMA over MODELS_SHAPE_RECENT (4) shape
 * days: after day 11, 1/6 x 1/4 = 0.0416667; after day 12, 0.0416667 + (1/6 - 0.0416667) / 4
 * = 0.0729167. A whole zero day is a zero day, not a shape day: the share stays.
 */
Test(models_runs, zero_interval_share_by_hand)
{
	double normal[24], bypassed[24], off[24];
	struct cstate cs;
	struct feature_vec fv;
	for (int h = 0; h < 24; h++) {
		normal[h] = 0.2 + 0.01 * h;
		bypassed[h] = h >= 2 && h < 6 ? 0.0 : normal[h];
	}
	fill(off, 0.0);
	feed_fresh(&cs);
	for (int i = 0; i <= 11; i++)
		feed_hours(&cs, DAY(i), normal);
	feed_features(&cs, DAY(11), &fv);          /* days 1..10 closed */
	cr_assert_float_eq(feature(&fv, FEAT_ZERO_INTERVAL_SHARE), 0.0, EPS);
	feed_hours(&cs, DAY(12), bypassed);        /* closes 11 (normal) */
	feed_hours(&cs, DAY(13), bypassed);        /* closes 12 */
	feed_features(&cs, DAY(13), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_ZERO_INTERVAL_SHARE), 0.0416667, 1e-4);
	feed_hours(&cs, DAY(14), off);             /* closes 13 */
	feed_features(&cs, DAY(14), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_ZERO_INTERVAL_SHARE), 0.0729167, 1e-4);
	feed_hours(&cs, DAY(15), normal);          /* closes 14: all zero, no shape */
	feed_features(&cs, DAY(15), &fv);
	cr_assert_not(feature_known(&fv, FEAT_ZERO_INTERVAL_SHARE), "a zero day has no shape");
	cr_assert_float_eq(feature(&fv, FEAT_ZERO_RUN_DAYS), 1.0, EPS);
	feed_hours(&cs, DAY(16), normal);          /* closes 15 */
	feed_features(&cs, DAY(16), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_ZERO_INTERVAL_SHARE), 0.0729167 * 0.75, 1e-4);
}

/*
 * Plateau: an ordinary day has one reading at its peak (1/24); with a limiter at 0.5 kWh the
 * four evening readings all read 0.5 (4/24). EWMA as above: after the first clipped day
 * 1/24 + (1/6 - 1/24) / 4 = 0.0729167. A day whose peak reading is under 20 Wh counts as no
 * plateau (0), even when its readings repeat; a flat day is a plateau of every reading.
 */
Test(models_runs, peak_plateau_share_by_hand)
{
	double normal[24], clipped[24], tiny[24], flat[24];
	struct cstate cs;
	struct feature_vec fv;
	for (int h = 0; h < 24; h++) {
		normal[h] = h >= 18 && h <= 21 ? 1.0 + 0.05 * (h - 18) : 0.2 + 0.01 * h;
		clipped[h] = normal[h] < 0.5 ? normal[h] : 0.5;
		tiny[h] = h == 19 || h == 20 ? 0.015 : 0.01;
	}
	fill(flat, 0.3);
	feed_fresh(&cs);
	for (int i = 0; i <= 11; i++)
		feed_hours(&cs, DAY(i), normal);
	feed_features(&cs, DAY(11), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_PEAK_PLATEAU_SHARE), 1.0 / 24, 1e-4);
	feed_hours(&cs, DAY(12), clipped);         /* closes 11 */
	feed_hours(&cs, DAY(13), tiny);            /* closes 12 (clipped) */
	feed_features(&cs, DAY(13), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_PEAK_PLATEAU_SHARE), 0.0729167, 1e-4);
	feed_hours(&cs, DAY(14), flat);            /* closes 13: peak 15 Wh, too coarse */
	feed_features(&cs, DAY(14), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_PEAK_PLATEAU_SHARE), 0.0729167 * 0.75, 1e-4);
	feed_hours(&cs, DAY(15), normal);          /* closes 14: flat, all 24 at the peak */
	feed_features(&cs, DAY(15), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_PEAK_PLATEAU_SHARE),
	                   0.0729167 * 0.75 * 0.75 + 0.25, 1e-4);
	cr_assert_float_eq(feature(&fv, FEAT_FLAT_RUN_DAYS), 1.0, EPS);
}
