/*
 * test_areas.c - Criterion suite for detector/areas.c: the area table (sorted lookup, the
 * noise of a loss-rate series, its weekly pattern taken out) and the area features, above all
 * the step features that compare a customer's step down with the area's loss on the same
 * days, on series whose expected values are computed by hand in the comments.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <string.h>

#include "detector/areas.h"

#define D0 20454 /* 2026-01-01 */

static double feature(const struct feature_vec *fv, enum feature_id id)
{
	cr_assert(feature_known(fv, id), "feature %s should be known", feature_def(id)->name);
	return fv->value[id];
}

/*
 * An area whose 56-day series ends on day D0 + 55: feeder 1000 kWh a day, loss rate 0.04
 * +- 0.0002 on alternate days, and from index step_at on 0.015 higher (15 kWh a day that no
 * customer meter records). Every weekday holds as many + as - days before and after the step
 * (7 is odd, and the step falls on a whole week), so taking the weekly pattern out changes
 * nothing.
 */
static void area_with_step(struct area_balance *a, int step_at)
{
	memset(a, 0, sizeof(*a));
	strcpy(a->transformer_id, "T1");
	a->last_day = D0 + AREA_SERIES_DAYS - 1;
	a->loss_rate = 0.055;
	a->loss_excess = 0.015;
	for (int i = 0; i < AREA_SERIES_DAYS; i++) {
		a->rate[i] = (float)(0.04 + (i % 2 ? 0.0002 : -0.0002) + (i >= step_at ? 0.015 : 0.0));
		a->feeder_kwh[i] = 1000.0f;
	}
}

/* The area features of a customer of the area_with_step(step_at) area, table in *t. */
static void step_features(struct area_table *t, int step_at, int32_t split_day,
                          double before_kwh, double after_kwh, struct feature_vec *fv)
{
	struct area_balance a;
	area_with_step(&a, step_at);
	area_table_add(t, &a);
	struct models_split split = {.day = split_day, .last_day = D0 + AREA_SERIES_DAYS - 1,
	                             .before_kwh = before_kwh, .after_kwh = after_kwh};
	feature_vec_clear(fv);
	area_features(area_table_find(t, "T1"), &split, fv);
}

/*
 * Step on index 42 (day D0 + 42), the customer's split on the same day, its level 20 -> 5 kWh
 * (a 15 kWh drop):
 *   rate_noise: 54 of the 55 day-to-day changes are 0.0004, so the median is 0.0004 and
 *               the sd 0.0004 * 1.4826 / sqrt(2) = 0.00041935
 *   before (days 28..41): mean 0.04 (7 + and 7 -); after (42..55): 0.055
 *   area_step_kwh   = 0.015 * 1000 = 15
 *   area_step_z     = 0.015 / (0.00041935 * sqrt(1/14 + 1/14)) = 94.64
 *   area_step_share = 15 / 15 = 1, and the area rises most sharply on the split day: offset 0
 */
Test(areas, step_explained_by_the_customer)
{
	struct area_table t = {0};
	struct area_balance a;
	struct feature_vec fv;
	step_features(&t, 42, D0 + 42, 20, 5, &fv);
	area_with_step(&a, 42);
	const struct area_balance *got = area_table_find(&t, "T1");
	cr_assert_not_null(got);
	cr_assert_float_eq(got->rate_noise, 0.0004 * 1.4826 / sqrt(2.0), 1e-7);
	cr_assert_float_eq(got->rate[3], a.rate[3], 1e-9, "no weekly pattern to take out");
	cr_assert_float_eq(feature(&fv, FEAT_AREA_STEP_KWH), 15.0, 1e-3);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_STEP_Z), 94.64, 0.01);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_STEP_SHARE), 1.0, 1e-4);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_STEP_OFFSET_DAYS), 0.0, 1e-9);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_LOSS_EXCESS), 0.015, 1e-9);
	area_table_free(&t);
}

/*
 * The same area, but the customer's own drop (20 -> 10 kWh) began on day D0 + 47, five days
 * after the area's step: its before window (33..46) already holds 5 stepped days (and as
 * many + as - days), its after window (47..55) 5 + days and 4 - days, so
 *   rise = 0.015 * 9/14 + 0.0002 / 9 = 0.0096651: area_step_kwh 9.665, share 0.9665
 * and the sharpest rise lies five days before the split: offset -5. A coincidence in time
 * that the offset gives away.
 */
Test(areas, a_step_days_before_the_customer_is_not_its_own)
{
	struct area_table t = {0};
	struct feature_vec fv;
	step_features(&t, 42, D0 + 47, 20, 10, &fv);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_STEP_KWH), 9.6651, 1e-3);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_STEP_SHARE), 0.96651, 1e-4);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_STEP_OFFSET_DAYS), -5.0, 1e-9);
	area_table_free(&t);
}

/* An honest drop in a steady area: no rise (share 0 within noise); without a split, or with
 * too few balanced days before it, the step features stay missing; a missing area leaves
 * every area feature missing. */
Test(areas, no_step_and_missing_data)
{
	struct area_table t = {0};
	struct feature_vec fv;
	struct models_split split = {.day = D0 + 42, .last_day = D0 + 55, .before_kwh = 20,
	                             .after_kwh = 5};
	step_features(&t, AREA_SERIES_DAYS, split.day, 20, 5, &fv); /* never steps */
	cr_assert_float_eq(feature(&fv, FEAT_AREA_STEP_SHARE), 0.0, 1e-4);
	cr_assert(fabs(feature(&fv, FEAT_AREA_STEP_Z)) < 1.0);

	feature_vec_clear(&fv);
	area_features(&t.areas[0], NULL, &fv);
	cr_assert(feature_known(&fv, FEAT_AREA_LOSS_RATE));
	cr_assert_not(feature_known(&fv, FEAT_AREA_STEP_KWH), "no split");

	for (int i = 0; i < 40; i++)
		t.areas[0].rate[i] = NAN;             /* balanced only from day D0 + 40 on */
	feature_vec_clear(&fv);
	area_features(&t.areas[0], &split, &fv);
	cr_assert_not(feature_known(&fv, FEAT_AREA_STEP_KWH), "2 balanced days before the split");

	feature_set(&fv, FEAT_AREA_STEP_Z, 3.0);
	area_features(NULL, &split, &fv);
	cr_assert_not(feature_known(&fv, FEAT_AREA_STEP_Z));
	cr_assert_not(feature_known(&fv, FEAT_AREA_LOSS_RATE));
	area_table_free(&t);
}

/*
 * The weekly pattern: a series 0.04 on weekdays and 0.05 on Saturdays and Sundays (a large
 * customer's stolen energy following its week) becomes flat at the series mean, so it shows
 * no noise beyond the floor.
 */
Test(areas, weekly_pattern_is_taken_out)
{
	struct area_table t = {0};
	struct area_balance a;
	area_with_step(&a, AREA_SERIES_DAYS);
	for (int i = 0; i < AREA_SERIES_DAYS; i++) {
		int dow = models_weekday(a.last_day - (AREA_SERIES_DAYS - 1) + i);
		a.rate[i] = dow == 0 || dow == 6 ? 0.05f : 0.04f;
	}
	area_table_add(&t, &a);
	double mean = (5 * 0.04 + 2 * 0.05) / 7;
	for (int i = 0; i < AREA_SERIES_DAYS; i++)
		cr_assert_float_eq(t.areas[0].rate[i], mean, 1e-6, "day %d", i);
	cr_assert_float_eq(t.areas[0].rate_noise, 1e-5, 1e-9, "the noise floor");
	area_table_free(&t);
}
