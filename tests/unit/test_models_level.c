/*
 * test_models_level.c - Criterion suite for scoring/models_level.c: the baseline level and
 * spread, the robust z-score, the downward CUSUM with its drop start, the weekday factors,
 * incomplete days and the re-learning of a permanent change, each against sequences whose
 * expected values are computed by hand in the comments.
 *
 * Model constants used below (scoring/models.h): warm-up 14 days, level alpha 1/14, clip
 * 2.5 sd, sd = max(1.2533 * mad, 0.05 * level, 0.001), CUSUM k = 0.5, signal at h = 5, cap
 * 7.5, z clamped to +-5. The first closed day of a customer is incomplete and not learned.
 */
#include <criterion/criterion.h>

#include <math.h>

#include "test_models_feed.h"

#define EPS 1e-4

static double feature(const struct feature_vec *fv, enum feature_id id)
{
	cr_assert(feature_known(fv, id), "feature %s should be known", feature_def(id)->name);
	return fv->value[id];
}

/* Day i of a run that starts on FEED_D0. */
#define DAY(i) (FEED_D0 + (i))

/*
 * Flat 10 kWh, then a step to 8 kWh on day 16. Warm-up: days 1..14 (day 0 is the partial
 * first day) give level 10, mad 0, weekday factors 1 (no weekday pattern: spread 0, w = 0).
 *   sd = max(1.2533 * 0, 0.05 * 10, 0.001) = 0.5
 * day 15 (10 kWh): z = 0, S = max(0, 0 - 0 - 0.5) = 0
 * day 16 (8 kWh):  z = (8 - 10) / 0.5 = -4, S = 0 + 4 - 0.5 = 3.5 -> excursion starts on day
 *                  16 (ref level 10); below h, so learned clipped to 10 - 2.5 * 0.5 = 8.75:
 *                  level = 10 - 1.25 / 14 = 9.9107143, mad = 1.25 / 14 = 0.0892857
 * day 17 (8 kWh):  sd = max(1.2533 * 0.0892857 = 0.11190, 0.05 * 9.9107143 = 0.4955357)
 *                  z = (8 - 9.9107143) / 0.4955357 = -3.8558559
 *                  S = 3.5 + 3.8558559 - 0.5 = 6.8558559 >= 5: drop signalled, baseline
 *                  frozen and put back to its level when the excursion began: 10
 *                  drop_days = 17 - 16 + 1 = 2
 * day 18 (8 kWh):  sd = 0.5 again (mad unchanged, level 10): z = -4
 *                  S = min(7.5, 6.8558559 + 3.5) = 7.5, drop_days 3
 * days 19.. back to 10: z = 0, S falls by k = 0.5 a day: 7.0, 6.5, 6.0, 5.5, 5.0 (day 23,
 *                  still >= h: drop_days 8), 4.5 on day 24 (signal over: drop_days 0,
 *                  learning resumes) ... 0.5 on day 32, 0 on day 33.
 */
Test(models_level, step_drop_cusum_and_drop_days_by_hand)
{
	struct cstate cs;
	struct feature_vec fv;
	feed_fresh(&cs);
	for (int i = 0; i <= 15; i++)
		feed_day(&cs, DAY(i), 10.0);
	feed_day(&cs, DAY(16), 8.0);        /* closes day 15 */
	feed_features(&cs, DAY(16), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_BASELINE_KWH_DAY), 10.0, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_CUSUM_DROP), 0.0, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_ZSCORE_DAY), 0.0, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_DROP_DAYS), 0.0, EPS);

	feed_day(&cs, DAY(17), 8.0);        /* closes day 16 */
	feed_features(&cs, DAY(17), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_ZSCORE_DAY), -4.0, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_CUSUM_DROP), 3.5, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_DROP_DAYS), 0.0, EPS, "not signalled yet");
	cr_assert_float_eq(feature(&fv, FEAT_BASELINE_KWH_DAY), 9.9107143, EPS);

	feed_day(&cs, DAY(18), 8.0);        /* closes day 17 */
	feed_features(&cs, DAY(18), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_ZSCORE_DAY), -3.86, 0.005, "stored to 0.01 sd");
	cr_assert_float_eq(feature(&fv, FEAT_CUSUM_DROP), 6.8558559, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_DROP_DAYS), 2.0, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_BASELINE_KWH_DAY), 10.0, EPS, "back to the level before");

	feed_day(&cs, DAY(19), 10.0);       /* closes day 18 */
	feed_features(&cs, DAY(19), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_CUSUM_DROP), 7.5, EPS, "capped");
	cr_assert_float_eq(feature(&fv, FEAT_DROP_DAYS), 3.0, EPS);
	/* drop_ratio_14d over days 5..18: (11 * 10 + 3 * 8) / 14 = 9.5714 -> 1 - 0.95714 =
	 * 0.0429; the kept days are within 1.6% each, hence the tolerance */
	cr_assert_float_eq(feature(&fv, FEAT_DROP_RATIO_14D), 0.0429, 0.02);

	static const double expect_s[] = {7.0, 6.5, 6.0, 5.5, 5.0, 4.5, 4.0};
	static const double expect_days[] = {4, 5, 6, 7, 8, 0, 0};
	for (int i = 0; i < 7; i++) {
		feed_day(&cs, DAY(20 + i), 10.0); /* closes day 19 + i */
		feed_features(&cs, DAY(20 + i), &fv);
		cr_assert_float_eq(feature(&fv, FEAT_CUSUM_DROP), expect_s[i], EPS, "day %d", 19 + i);
		cr_assert_float_eq(feature(&fv, FEAT_DROP_DAYS), expect_days[i], EPS, "day %d", 19 + i);
		cr_assert_float_eq(feature(&fv, FEAT_BASELINE_KWH_DAY), 10.0, EPS);
	}
	for (int i = 27; i <= 33; i++)
		feed_day(&cs, DAY(i), 10.0);      /* closes days 26..32 */
	feed_features(&cs, DAY(33), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_CUSUM_DROP), 0.5, EPS, "day 32");
	feed_day(&cs, DAY(34), 10.0);
	feed_features(&cs, DAY(34), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_CUSUM_DROP), 0.0, EPS, "day 33");
}

/*
 * A small dip is absorbed, not signalled: after the same warm-up, day 16 (a Saturday) at
 * 9 kWh:
 *   z = (9 - 10) / 0.5 = -2, S = 2 - 0.5 = 1.5; learned unclipped (9 > 8.75):
 *   level = 10 - 1 / 14 = 9.9285714, mad = 1 / 14 = 0.0714286
 *   and, inside the clip band, it teaches Saturday's factor: 1 + 0.05 * (9 / 10 - 1) =
 *   0.995; renormalised to mean 1 the other days get 7 / 6.995 = 1.0007148 (kept to
 *   1/16384: 1.0007324)
 * day 17 (a Sunday, 10 kWh): y = 10 / 1.0007324 = 9.9926813,
 *   sd = max(1.2533 * 0.0714286 = 0.0895, 0.05 * 9.9285714 = 0.4964286),
 *   z = (9.9926813 - 9.9285714) / 0.4964286 = 0.1291441,
 *   S = 1.5 - 0.1291441 - 0.5 = 0.8708559
 */
Test(models_level, small_dip_is_learned_not_signalled)
{
	struct cstate cs;
	struct feature_vec fv;
	feed_fresh(&cs);
	for (int i = 0; i <= 15; i++)
		feed_day(&cs, DAY(i), 10.0);
	feed_day(&cs, DAY(16), 9.0);
	feed_day(&cs, DAY(17), 10.0);
	feed_features(&cs, DAY(17), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_CUSUM_DROP), 1.5, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_BASELINE_KWH_DAY), 9.9285714, EPS);
	feed_day(&cs, DAY(18), 10.0);
	feed_features(&cs, DAY(18), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_ZSCORE_DAY), 0.13, 0.005);
	cr_assert_float_eq(feature(&fv, FEAT_CUSUM_DROP), 0.8708559, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_DROP_DAYS), 0.0, EPS);
}

/*
 * A permanent halving (10 -> 5 kWh on day 16) stays signalled until it has lasted
 * MODELS_REBASE_DAYS (56) days counted from the excursion's first day (16): on day
 * 16 + 55 = 71 the baseline is re-learned as the mean of the last 14 kept days (5 kWh,
 * kept within 1.6%) and the CUSUM restarts.
 *   day 16: z = -10 -> clamped -5, S = 4.5 (learned clipped: level 9.9107143)
 *   day 17: z = (5 - 9.91) / 0.4955 = -9.9 -> -5, S = min(7.5, 9.0) = 7.5: signalled,
 *           level back to 10
 */
Test(models_level, permanent_change_is_relearned_after_56_days)
{
	struct cstate cs;
	struct feature_vec fv;
	feed_fresh(&cs);
	for (int i = 0; i <= 15; i++)
		feed_day(&cs, DAY(i), 10.0);
	for (int i = 16; i <= 71; i++)
		feed_day(&cs, DAY(i), 5.0);       /* closes through day 70 */
	feed_features(&cs, DAY(71), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_DROP_DAYS), 55.0, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_BASELINE_KWH_DAY), 10.0, EPS, "frozen while signalled");
	cr_assert_float_eq(feature(&fv, FEAT_DROP_RATIO_14D), 0.5, 0.02);
	feed_day(&cs, DAY(72), 5.0);          /* closes day 71 */
	feed_features(&cs, DAY(72), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_CUSUM_DROP), 0.0, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_DROP_DAYS), 0.0, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_BASELINE_KWH_DAY), 5.0, 0.1);
	feed_day(&cs, DAY(73), 5.0);
	feed_features(&cs, DAY(73), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_CUSUM_DROP), 0.0, EPS, "5 kWh is the new normal");
}

/*
 * Weekday factors on an exact weekly pattern, Sunday first: 6, 12, 12, 12, 12, 12, 4 kWh
 * (an office with a quiet weekend). Mean 70 / 7 = 10, so the factors are
 * 0.6, 1.2, 1.2, 1.2, 1.2, 1.2, 0.4 and the weekday-adjusted level is 10. With no noise
 * the within-weekday variance is ~0 and the data get full weight (w ~ 1); the kept days are
 * within 1.6%, hence the tolerance. Afterwards every day scores z ~ 0 and the CUSUM stays
 * at 0, where a model without factors would call every weekend a drop.
 */
Test(models_level, weekday_factors_learn_a_weekly_pattern)
{
	static const double week[7] = {6, 12, 12, 12, 12, 12, 4};
	static const double factor[7] = {0.6, 1.2, 1.2, 1.2, 1.2, 1.2, 0.4};
	struct cstate cs;
	struct feature_vec fv;
	feed_fresh(&cs);
	for (int i = 0; i <= 15; i++)
		feed_day(&cs, DAY(i), week[models_weekday(DAY(i))]);
	struct models_history h;
	models_history(&cs, &h);
	feed_features(&cs, DAY(15), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_BASELINE_KWH_DAY), 10.0, 0.05);
	for (int i = 0; i < 7; i++) {
		int32_t day = h.first_day + 53 + i;
		int dow = models_weekday(day);
		cr_assert_float_eq(h.baseline[53 + i] / 10.0, factor[dow], 0.025, "weekday %d", dow);
	}
	for (int i = 16; i < 16 + 28; i++) {
		feed_day(&cs, DAY(i), week[models_weekday(DAY(i))]);
		feed_features(&cs, DAY(i), &fv);
		cr_assert_lt(fabs(feature(&fv, FEAT_ZSCORE_DAY)), 0.7, "day %d", i - 1);
		cr_assert_float_eq(feature(&fv, FEAT_CUSUM_DROP), 0.0, EPS, "day %d", i - 1);
	}
}

/*
 * Shrinkage of the factors towards 1 by the noise. Each weekday appears twice in the
 * warm-up, at m +- 0.5 kWh, with means m = 12 (Sunday), 8 (Saturday), 10 (other days):
 *   mean = 10; raw factors 1.2, 1, 1, 1, 1, 1, 0.8
 *   spread = (0.2^2 + 0.2^2) / 7 = 0.0114286
 *   within-weekday variance s^2 = 14 * 0.25 / (14 - 7) = 0.5
 *   noise of a raw factor = s^2 / (2 * 10^2) = 0.0025
 *   w = 1 - 0.0025 / 0.0114286 = 0.78125
 *   factors 1 + 0.78125 * (raw - 1): Sunday 1.15625, Saturday 0.84375, others 1
 * (the kept days are within 1.6%, hence the tolerance).
 */
Test(models_level, weekday_factors_shrink_by_noise)
{
	static const double mean[7] = {12, 10, 10, 10, 10, 10, 8};
	static const double factor[7] = {1.15625, 1, 1, 1, 1, 1, 0.84375};
	struct cstate cs;
	feed_fresh(&cs);
	for (int i = 0; i <= 15; i++) {
		int32_t day = DAY(i);
		double sign = i <= 7 ? 1.0 : -1.0; /* days 1..7 above, 8..14 below their mean */
		feed_day(&cs, day, mean[models_weekday(day)] + 0.5 * sign);
	}
	struct models_history h;
	models_history(&cs, &h);
	double level = h.baseline[59] / factor[models_weekday(h.first_day + 59)];
	cr_assert_float_eq(level, 10.0, 0.1);
	for (int i = 53; i < 60; i++) {
		int dow = models_weekday(h.first_day + i);
		cr_assert_float_eq(h.baseline[i] / level, factor[dow], 0.03, "weekday %d", dow);
	}
}

/*
 * Days short of the meter's usual readings are kept as missing and not scored. With 24
 * hourly readings the usual count is 24; a day with 12 is incomplete (12 * 5 < 24 * 4) and
 * lowers the usual count by 24 / 16 = 1 (and so on: 23, 22, ... 15); after nine such days
 * 12 * 5 >= 15 * 4, and 12-reading days count again (a meter switched to a longer interval).
 */
Test(models_level, incomplete_days_are_missing_and_not_scored)
{
	double hours[24];
	struct cstate cs;
	struct feature_vec fv;
	for (int h = 0; h < 24; h++)
		hours[h] = 0.5;
	feed_fresh(&cs);
	for (int i = 0; i <= 16; i++)
		feed_hours(&cs, DAY(i), hours);     /* warm: 12 kWh a day */
	feed_features(&cs, DAY(16), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_CUSUM_DROP), 0.0, EPS);
	for (int i = 17; i <= 26; i++)           /* short days; closes 16..25 */
		for (int h = 0; h < 12; h++)
			feed_reading(&cs, DAY(i), h * 3600, 3600, 0.5, -1.0);
	feed_features(&cs, DAY(26), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_CUSUM_DROP), 0.0, EPS, "6 kWh days were not scored");
	cr_assert_not(feature_known(&fv, FEAT_ZSCORE_DAY), "the last day was not scored");
	struct models_history hist;
	models_history(&cs, &hist);
	for (int i = 51; i < 60; i++)
		cr_assert(isnan(hist.kwh[i]), "short day %d kept as missing", i);
	cr_assert_float_eq(hist.kwh[50], 12.0, 12.0 * 0.017);
	for (int h = 0; h < 12; h++)             /* closes day 26, the 10th short day */
		feed_reading(&cs, DAY(27), h * 3600, 3600, 0.5, -1.0);
	feed_features(&cs, DAY(27), &fv);
	cr_assert(feature_known(&fv, FEAT_ZSCORE_DAY), "12 readings are now a complete day");
	cr_assert_lt(feature(&fv, FEAT_ZSCORE_DAY), -3.0);
}

/* The history codes keep each day within 1.6% (half a step of e^(1/32)) over an
 * eighteenfold range around the first value, and zero exactly. */
Test(models_level, history_precision)
{
	struct cstate cs;
	feed_fresh(&cs);
	double kwh[40];
	for (int i = 0; i < 40; i++)
		kwh[i] = i < 20 ? 30.0 + i : 300.0 + 7.0 * i; /* a tenfold rise on day 20 */
	kwh[5] = 0.0;
	feed_days(&cs, DAY(0), kwh, 40);
	struct models_history h;
	int present = models_history(&cs, &h);
	cr_assert_eq(h.first_day, DAY(38) - 59);
	cr_assert_eq(present, 38, "days 1..38 (day 0 was the partial first day)");
	for (int i = 1; i <= 38; i++) {
		double kept = h.kwh[i - (DAY(38) - 59 - DAY(0))];
		if (kwh[i] == 0.0)
			cr_assert_eq(kept, 0.0f);
		else
			cr_assert_float_eq(kept / kwh[i], 1.0, 0.0165, "day %d: %g kept as %g", i,
			                   kwh[i], kept);
	}
}

/*
 * The long reference: days 1-30 use 10 kWh, days 31-70 6 kWh (daily readings). With L the
 * last closed day, drop_ratio_long = 1 - mean(L-13..L) / mean(L-55..L-42), the reference
 * needing 10 of its 14 days with data:
 *   L = 40: reference days -15..-2: none kept, missing
 *   L = 55: reference days 0..13: day 0 is the partial first day, 13 days of 10 kWh;
 *           recent days 42..55: 6 kWh: 1 - 6/10 = 0.4
 *   L = 70: reference days 15..28 (10 kWh), recent 57..70 (6): 0.4 - the level the EWMA
 *           baseline has long re-learned is still compared with the old one.
 * Kept days are within 1.6% (log codes), so the ratio is within about 0.02.
 */
Test(models_level, drop_ratio_long_compares_with_six_weeks_back)
{
	struct cstate cs;
	struct feature_vec fv;
	feed_fresh(&cs);
	for (int i = 0; i <= 41; i++)
		feed_day(&cs, DAY(i), i <= 30 ? 10.0 : 6.0);
	feed_features(&cs, DAY(41), &fv);            /* L = 40 */
	cr_assert_not(feature_known(&fv, FEAT_DROP_RATIO_LONG));
	for (int i = 42; i <= 56; i++)
		feed_day(&cs, DAY(i), 6.0);
	feed_features(&cs, DAY(56), &fv);            /* L = 55 */
	cr_assert_float_eq(feature(&fv, FEAT_DROP_RATIO_LONG), 0.4, 0.02);
	for (int i = 57; i <= 71; i++)
		feed_day(&cs, DAY(i), 6.0);
	feed_features(&cs, DAY(71), &fv);            /* L = 70 */
	cr_assert_float_eq(feature(&fv, FEAT_DROP_RATIO_LONG), 0.4, 0.02);
}

/*
 * The step split: days 1-30 at 10 kWh, days 31-40 at 5 kWh (no weekday pattern: factors 1).
 * With L = 40, a split s has after = s..40 and before = the 14 days before s:
 *   s = 31: (10 - 5) * sqrt(10 * 14 / 24) = 12.08
 *   s = 32: before holds day 31: (9.643 - 5) * sqrt(9 * 14 / 23) = 10.87
 *   s = 30: after holds day 30: (10 - 5.455) * sqrt(11 * 14 / 25) = 11.28
 * so the split is day 31: step_drop_ratio 1 - 5/10 = 0.5, step_days 10. A customer without
 * any drop in its history gets 0 and 0.
 */
Test(models_level, step_split_finds_the_day_of_a_step_down)
{
	struct cstate cs;
	struct feature_vec fv;
	struct models_split split;
	feed_fresh(&cs);
	for (int i = 0; i <= 41; i++)
		feed_day(&cs, DAY(i), i <= 30 ? 10.0 : 5.0);    /* the feed of day 41 closes 40 */
	cr_assert(models_drop_split(&cs, &split));
	cr_assert_eq(split.day, DAY(31));
	cr_assert_eq(split.last_day, DAY(40));
	cr_assert_float_eq(split.before_kwh, 10.0, 0.17);
	cr_assert_float_eq(split.after_kwh, 5.0, 0.09);
	feed_features(&cs, DAY(41), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_STEP_DROP_RATIO), 0.5, 0.02);
	cr_assert_float_eq(feature(&fv, FEAT_STEP_DAYS), 10.0, EPS);

	feed_fresh(&cs);
	for (int i = 0; i <= 41; i++)
		feed_day(&cs, DAY(i), 10.0);
	cr_assert_not(models_drop_split(&cs, &split), "flat: no drop");
	feed_features(&cs, DAY(41), &fv);
	cr_assert_float_eq(feature(&fv, FEAT_STEP_DROP_RATIO), 0.0, EPS);
	cr_assert_float_eq(feature(&fv, FEAT_STEP_DAYS), 0.0, EPS);

	feed_fresh(&cs);
	for (int i = 0; i <= 10; i++)
		feed_day(&cs, DAY(i), 10.0);
	feed_features(&cs, DAY(10), &fv);
	cr_assert_not(feature_known(&fv, FEAT_STEP_DROP_RATIO), "9 days: too short to tell");
}
