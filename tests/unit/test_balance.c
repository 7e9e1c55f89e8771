/*
 * test_balance.c - Criterion suite for scoring/balance.c, the energy-balance model: an
 * area-day's completeness and loss rate, the baseline (percentile_cont over the 60 days
 * before) and excess, an area's latest balance, the noise of its loss-rate series with the
 * weekly pattern taken out, and the area features, above all the step features that compare
 * a customer's step down with the area's loss on the same days, on series whose expected
 * values are computed by hand in the comments. tests/e2e/test_area_balance.c checks the model
 * against PostgreSQL's risk.area_balance on a generated city.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <string.h>

#include "scoring/balance.h"

#define D0 20454 /* 2026-01-01 */

static double feature(const struct feature_vec *fv, enum feature_id id)
{
	cr_assert(feature_known(fv, id), "feature %s should be known", feature_def(id)->name);
	return fv->value[id];
}

/* The sums of a complete area-day: the feeder and `customers` customers each reading the
 * whole day, feeder_kwh and customers_kwh in total. */
static void whole_day(struct area_day *d, double feeder_kwh, double customers_kwh, int customers)
{
	area_day_reset(d);
	area_day_add_feeder(d, (int64_t)llround(feeder_kwh * 1e6), AREA_DAY_SECONDS);
	for (int c = 0; c < customers; c++)
		area_day_add_customer(d, (int64_t)llround(customers_kwh * 1e6 / customers),
		                      AREA_DAY_SECONDS);
}

/* An area-day balances when the feeder and every customer of the area cover the whole day. */
Test(balance, area_day_complete_needs_every_reading)
{
	struct area_day d = {0};
	cr_assert_not(area_day_complete(&d, 0), "nothing read");
	whole_day(&d, 50, 40, 2);
	cr_assert(area_day_complete(&d, 2));
	cr_assert_not(area_day_complete(&d, 3), "a third customer has no reading");
	cr_assert_not(area_day_complete(&d, 0), "an area without customers is not balanced");
	area_day_reset(&d);
	area_day_add_feeder(&d, 50000000, AREA_DAY_SECONDS - 3600);
	area_day_add_customer(&d, 40000000, AREA_DAY_SECONDS);
	cr_assert_not(area_day_complete(&d, 1), "the feeder misses an hour");
	area_day_add_feeder(&d, 1000000, 3600);
	cr_assert(area_day_complete(&d, 1), "the last hour arrived");
	area_day_add_customer(&d, 1000000, 3600);
	cr_assert_not(area_day_complete(&d, 2), "a second customer read only an hour");
	cr_assert_eq(d.customers_uwh, 41000000);
}

/*
 * Nine days of an area whose customers use 20 kWh a day together, the feeder reading F:
 * loss = (F - 20) / F = 0.2 0.5 0 0.6 0.2 0.8 0.5 0 | 0.6. Days 0-6 have fewer than 7 earlier
 * balanced days: no baseline. Day 7's baseline is the 20th percentile of days 0-6 (sorted
 * 0 .2 .2 .5 .5 .6 .8: position 0.2 * 6 = 1.2 -> 0.2), excess (0 - 0.2) * 20 = -4; day 8's of
 * days 0-7 (sorted 0 0 .2 .2 .5 .5 .6 .8: position 1.4 -> 0 + 0.4 * 0.2 = 0.08), excess
 * (0.6 - 0.08) * 50 = 26. The latest balance: loss 0.6, excess over the baseline 0.52, mean
 * excess energy of the newest 7 rows that have one (days 7 and 8) 11 kWh.
 */
Test(balance, baseline_and_excess_by_hand)
{
	static const double feeder[9] = {25, 40, 20, 50, 25, 100, 40, 20, 50};
	static const double loss[9] = {0.2, 0.5, 0, 0.6, 0.2, 0.8, 0.5, 0, 0.6};
	struct area_history h;
	struct area_day d;
	struct area_day_balance row;
	area_history_init(&h);
	for (int i = 0; i < 9; i++) {
		whole_day(&d, feeder[i], 20, 2);
		area_history_balance_day(&h, D0 + i, &d, 2, &row);
		cr_assert_float_eq(row.feeder_kwh, feeder[i], 1e-12);
		cr_assert_float_eq(row.customers_kwh, 20.0, 1e-12);
		cr_assert_float_eq(row.loss_rate, loss[i], 1e-12, "day %d", i);
		cr_assert_eq(row.customers, 2);
		if (i < 7)
			cr_assert(isnan(row.baseline_loss_rate) && isnan(row.excess_kwh), "day %d", i);
	}
	cr_assert_float_eq(area_history_baseline(&h, D0 + 7), 0.2, 1e-12);
	cr_assert_float_eq(row.baseline_loss_rate, 0.08, 1e-12);
	cr_assert_float_eq(row.excess_kwh, 26.0, 1e-9);

	struct area_balance a;
	area_history_latest(&h, &a);
	cr_assert_eq(a.last_day, D0 + 8);
	cr_assert_float_eq(a.loss_rate, 0.6, 1e-12);
	cr_assert_float_eq(a.loss_excess, 0.52, 1e-12);
	cr_assert_float_eq(a.excess_kwh, 11.0, 1e-9);
	for (int i = 0; i < AREA_SERIES_DAYS; i++) {
		int day = i - (AREA_SERIES_DAYS - 9);
		if (day < 0) {
			cr_assert(isnan(a.rate[i]) && isnan(a.feeder_kwh[i]), "index %d", i);
			continue;
		}
		cr_assert_float_eq(a.rate[i], loss[day], 1e-7, "day %d", day);
		cr_assert_float_eq(a.feeder_kwh[i], feeder[day], 1e-6, "day %d", day);
	}
}

/*
 * The baseline reads the 60 days before the day only, from a history that keeps 64: days
 * 0..69 with loss rate day / 1000 leave days 10..69 in the window of day 70 (sorted 0.010 ..
 * 0.069: position 0.2 * 59 = 11.8 -> 0.021 + 0.8 * 0.001 = 0.0218). A day the feeder read 0
 * has no loss rate (SQL null), so it neither counts for a baseline nor has an excess; the
 * latest balance's mean excess skips it.
 */
Test(balance, baseline_window_and_null_loss)
{
	struct area_history h;
	struct area_day d;
	struct area_day_balance row;
	double excess[70];
	area_history_init(&h);
	for (int i = 0; i < 70; i++) {
		whole_day(&d, 1000, 1000 - i, 1);
		area_history_balance_day(&h, D0 + i, &d, 1, &row);
		excess[i] = row.excess_kwh;
		if (i == 17)
			cr_assert_float_eq(row.baseline_loss_rate, 0.0032, 1e-12,
			                   "days 0..16: position 3.2 -> 0.003 + 0.2 * 0.001");
	}
	cr_assert_float_eq(area_history_baseline(&h, D0 + 70), 0.0218, 1e-12);
	cr_assert(isnan(area_history_baseline(&h, D0 + 5)), "5 days before day 5");

	whole_day(&d, 0, 10, 1);
	area_history_balance_day(&h, D0 + 70, &d, 1, &row);
	cr_assert(isnan(row.loss_rate) && isnan(row.excess_kwh));
	cr_assert_float_eq(row.baseline_loss_rate, 0.0218, 1e-12);
	cr_assert_float_eq(area_history_baseline(&h, D0 + 71), 0.0226, 1e-12,
	                   "days 11..69 (position 11.6), and day 70 without a loss rate");
	struct area_balance a;
	area_history_latest(&h, &a);
	cr_assert(isnan(a.loss_rate) && isnan(a.loss_excess) && isnan(a.rate[AREA_SERIES_DAYS - 1]));
	/* the newest 7 rows: days 64..69 with an excess, day 70 without */
	double sum = 0;
	for (int i = 64; i < 70; i++)
		sum += excess[i];
	cr_assert_float_eq(a.excess_kwh, sum / 6, 1e-6);
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

/* The area features of a customer of the area_with_step(step_at) area, measured into *a. */
static void step_features(struct area_balance *a, int step_at, int32_t split_day,
                          double before_kwh, double after_kwh, struct feature_vec *fv)
{
	area_with_step(a, step_at);
	area_balance_measure(a);
	struct models_split split = {.day = split_day, .last_day = D0 + AREA_SERIES_DAYS - 1,
	                             .before_kwh = before_kwh, .after_kwh = after_kwh};
	feature_vec_clear(fv);
	area_features(a, NULL, NULL, &split, fv);
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
Test(balance, step_explained_by_the_customer)
{
	struct area_balance got, a;
	struct feature_vec fv;
	step_features(&got, 42, D0 + 42, 20, 5, &fv);
	area_with_step(&a, 42);
	cr_assert_float_eq(got.rate_noise, 0.0004 * 1.4826 / sqrt(2.0), 1e-7);
	cr_assert_float_eq(got.rate[3], a.rate[3], 1e-9, "no weekly pattern to take out");
	cr_assert_float_eq(feature(&fv, FEAT_AREA_STEP_KWH), 15.0, 1e-3);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_STEP_Z), 94.64, 0.01);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_STEP_SHARE), 1.0, 1e-4);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_STEP_OFFSET_DAYS), 0.0, 1e-9);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_LOSS_EXCESS), 0.015, 1e-9);
}

/*
 * The same area, but the customer's own drop (20 -> 10 kWh) began on day D0 + 47, five days
 * after the area's step: its before window (33..46) already holds 5 stepped days (and as
 * many + as - days), its after window (47..55) 5 + days and 4 - days, so
 *   rise = 0.015 * 9/14 + 0.0002 / 9 = 0.0096651: area_step_kwh 9.665, share 0.9665
 * and the sharpest rise lies five days before the split: offset -5. A coincidence in time
 * that the offset gives away.
 */
Test(balance, a_step_days_before_the_customer_is_not_its_own)
{
	struct area_balance a;
	struct feature_vec fv;
	step_features(&a, 42, D0 + 47, 20, 10, &fv);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_STEP_KWH), 9.6651, 1e-3);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_STEP_SHARE), 0.96651, 1e-4);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_STEP_OFFSET_DAYS), -5.0, 1e-9);
}

/* An honest drop in a steady area: no rise (share 0 within noise); without a split, or with
 * too few balanced days before it, the step features stay missing; a missing area leaves
 * every area feature missing. */
Test(balance, no_step_and_missing_data)
{
	struct area_balance a;
	struct feature_vec fv;
	struct models_split split = {.day = D0 + 42, .last_day = D0 + 55, .before_kwh = 20,
	                             .after_kwh = 5};
	step_features(&a, AREA_SERIES_DAYS, split.day, 20, 5, &fv); /* never steps */
	cr_assert_float_eq(feature(&fv, FEAT_AREA_STEP_SHARE), 0.0, 1e-4);
	cr_assert(fabs(feature(&fv, FEAT_AREA_STEP_Z)) < 1.0);

	feature_vec_clear(&fv);
	area_features(&a, NULL, NULL, NULL, &fv);
	cr_assert(feature_known(&fv, FEAT_AREA_LOSS_RATE));
	cr_assert_not(feature_known(&fv, FEAT_AREA_STEP_KWH), "no split");

	for (int i = 0; i < 40; i++)
		a.rate[i] = NAN;             /* balanced only from day D0 + 40 on */
	feature_vec_clear(&fv);
	area_features(&a, NULL, NULL, &split, &fv);
	cr_assert_not(feature_known(&fv, FEAT_AREA_STEP_KWH), "2 balanced days before the split");

	feature_set(&fv, FEAT_AREA_STEP_Z, 3.0);
	area_features(NULL, NULL, NULL, &split, &fv);
	cr_assert_not(feature_known(&fv, FEAT_AREA_STEP_Z));
	cr_assert_not(feature_known(&fv, FEAT_AREA_LOSS_RATE));
}

/*
 * The weekly pattern: a series 0.04 on weekdays and 0.05 on Saturdays and Sundays (a large
 * customer's stolen energy following its week) becomes flat at the series mean, so it shows
 * no noise beyond the floor.
 */
Test(balance, weekly_pattern_is_taken_out)
{
	struct area_balance a;
	area_with_step(&a, AREA_SERIES_DAYS);
	for (int i = 0; i < AREA_SERIES_DAYS; i++) {
		int dow = models_weekday(a.last_day - (AREA_SERIES_DAYS - 1) + i);
		a.rate[i] = dow == 0 || dow == 6 ? 0.05f : 0.04f;
	}
	area_balance_measure(&a);
	double mean = (5 * 0.04 + 2 * 0.05) / 7;
	for (int i = 0; i < AREA_SERIES_DAYS; i++)
		cr_assert_float_eq(a.rate[i], mean, 1e-6, "day %d", i);
	cr_assert_float_eq(a.rate_noise, 1e-5, 1e-9, "the noise floor");
}

/* The attribution features: missing while the area was not attributed; the customer's finding
 * when it has one; 0 and carrier none when the area was attributed and gave it nothing. */
Test(balance, attribution_features)
{
	struct area_balance a;
	struct feature_vec fv;
	static const enum feature_id attrib[] = {FEAT_AREA_BALANCE_RESOLUTION,
	                                         FEAT_AREA_ATTRIB_SHARE, FEAT_AREA_ATTRIB_KWH_DAY,
	                                         FEAT_AREA_ATTRIB_Z, FEAT_AREA_ATTRIB_CARRIER};
	struct attrib_finding f = {.window_end_day = D0 + 55, .resolution_s = 3600, .share = 0.75f,
	                           .kwh_day = 2.5f, .stolen_kwh = 70, .z = 6.5f,
	                           .carrier = ATTRIB_REG_SHORTFALL};
	area_with_step(&a, AREA_SERIES_DAYS);
	feature_vec_clear(&fv);
	area_features(&a, &f, NULL, NULL, &fv);
	for (size_t k = 0; k < sizeof(attrib) / sizeof(attrib[0]); k++)
		cr_assert_not(feature_known(&fv, attrib[k]), "%s: the area was not attributed",
		              feature_def(attrib[k])->name);

	a.attrib_resolution_s = 3600;
	a.attrib_end_day = D0 + 55;
	area_features(&a, &f, NULL, NULL, &fv);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_BALANCE_RESOLUTION), 3600.0, 1e-9);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_ATTRIB_SHARE), 0.75, 1e-7);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_ATTRIB_KWH_DAY), 2.5, 1e-7);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_ATTRIB_Z), 6.5, 1e-7);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_ATTRIB_CARRIER), 1.0, 1e-9, "shortfall");

	a.attrib_resolution_s = 86400;
	area_features(&a, NULL, NULL, NULL, &fv);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_BALANCE_RESOLUTION), 86400.0, 1e-9);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_ATTRIB_SHARE), 0.0, 1e-9);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_ATTRIB_KWH_DAY), 0.0, 1e-9);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_ATTRIB_Z), 0.0, 1e-9);
	size_t n;
	const char *const *names = feature_symbols(FEAT_AREA_ATTRIB_CARRIER, &n);
	cr_assert_str_eq(names[(size_t)feature(&fv, FEAT_AREA_ATTRIB_CARRIER)], "none");

	area_features(NULL, &f, NULL, NULL, &fv);
	cr_assert_not(feature_known(&fv, FEAT_AREA_ATTRIB_SHARE), "no area: missing");
}

/* The ratio of attributed to metered energy needs kwh_avg_14d (set before by the models);
 * the previous window's features come from its finding, missing without one, and are unset
 * again by the next call. */
Test(balance, attribution_ratio_and_previous_window)
{
	struct area_balance a;
	struct feature_vec fv;
	struct attrib_finding f = {.window_end_day = D0 + 55, .resolution_s = 3600, .share = 0.3f,
	                           .kwh_day = 3.0f, .stolen_kwh = 84, .z = 7.0f,
	                           .carrier = ATTRIB_REG_METERED};
	struct attrib_finding prev = {.window_end_day = D0 + 48, .resolution_s = 3600,
	                              .share = 0.25f, .kwh_day = 1.5f, .stolen_kwh = 42, .z = 4.0f,
	                              .carrier = ATTRIB_REG_METERED};
	area_with_step(&a, AREA_SERIES_DAYS);
	a.attrib_resolution_s = 3600;
	a.attrib_end_day = D0 + 55;
	feature_vec_clear(&fv);
	area_features(&a, &f, &prev, NULL, &fv);
	cr_assert_not(feature_known(&fv, FEAT_AREA_ATTRIB_RATIO), "no kwh_avg_14d: missing");
	cr_assert_float_eq(feature(&fv, FEAT_AREA_ATTRIB_PREV_SHARE), 0.25, 1e-7);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_ATTRIB_PREV_Z), 4.0, 1e-7);
	cr_assert_not(feature_known(&fv, FEAT_AREA_ATTRIB_PREV_RATIO));

	feature_set(&fv, FEAT_KWH_AVG_14D, 2.0);
	area_features(&a, &f, &prev, NULL, &fv);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_ATTRIB_RATIO), 1.5, 1e-7, "3 kWh over 2");
	cr_assert_float_eq(feature(&fv, FEAT_AREA_ATTRIB_PREV_RATIO), 0.75, 1e-7, "1.5 over 2");

	area_features(&a, NULL, NULL, NULL, &fv);
	cr_assert_float_eq(feature(&fv, FEAT_AREA_ATTRIB_RATIO), 0.0, 1e-9, "given nothing: 0");
	cr_assert_not(feature_known(&fv, FEAT_AREA_ATTRIB_PREV_SHARE), "no previous window");
	cr_assert_not(feature_known(&fv, FEAT_AREA_ATTRIB_PREV_Z));
	cr_assert_not(feature_known(&fv, FEAT_AREA_ATTRIB_PREV_RATIO));

	feature_set(&fv, FEAT_KWH_AVG_14D, 0.0);
	area_features(&a, &f, &prev, NULL, &fv);
	cr_assert_not(feature_known(&fv, FEAT_AREA_ATTRIB_RATIO), "an empty meter: missing");
	a.attrib_resolution_s = 0;
	area_features(&a, &f, &prev, NULL, &fv);
	cr_assert_not(feature_known(&fv, FEAT_AREA_ATTRIB_PREV_Z), "not attributed: missing");
}

/* area_features_mark marks exactly what area_features can set: given everything (a measured
 * area with a step, attributed, a finding, the previous window's and a split), the features
 * it leaves known beyond the customer's own are all marked, and every marked one is set. */
Test(balance, the_marked_features_are_the_ones_area_features_sets)
{
	struct area_balance a;
	struct feature_vec fv;
	uint64_t mask[(FEAT__COUNT + 63) / 64] = {0};
	struct attrib_finding f = {.window_end_day = D0 + 55, .resolution_s = 3600, .share = 0.3f,
	                           .kwh_day = 3.0f, .stolen_kwh = 84, .z = 7.0f,
	                           .carrier = ATTRIB_REG_METERED};
	struct attrib_finding prev = f;
	prev.window_end_day = D0 + 48;
	area_with_step(&a, 42);
	area_balance_measure(&a);
	a.attrib_resolution_s = 3600;
	a.attrib_end_day = D0 + 55;
	struct models_split split = {.day = D0 + 42, .last_day = D0 + AREA_SERIES_DAYS - 1,
	                             .before_kwh = 20, .after_kwh = 5};
	feature_vec_clear(&fv);
	feature_set(&fv, FEAT_KWH_AVG_14D, 2.0);
	feature_set(&fv, FEAT_KWH_AVG_7D, 2.0);
	feature_set(&fv, FEAT_BASELINE_KWH_DAY, 6.0);
	area_features(&a, &f, &prev, &split, &fv);
	area_features_mark(mask);
	for (int id = 0; id < FEAT__COUNT; id++) {
		int marked = (int)((mask[id / 64] >> (id % 64)) & 1);
		int own = id == FEAT_KWH_AVG_14D || id == FEAT_KWH_AVG_7D || id == FEAT_BASELINE_KWH_DAY;
		cr_assert_eq(marked, !own && feature_known(&fv, (enum feature_id)id), "%s",
		             feature_def((enum feature_id)id)->name);
		cr_assert_eq(marked, strncmp(feature_def((enum feature_id)id)->name, "area_", 5) == 0,
		             "%s", feature_def((enum feature_id)id)->name);
	}
}
