/*
 * test_stolen.c - Criterion suite for scoring/stolen.c: the stolen-energy estimate of an
 * alert on hand-built 60-day histories (a drop with a known onset, the attribution's rate
 * preferred when its z is high enough, no onset, no baseline, a customer above its baseline)
 * and the alert's probability of being a theft, each against figures worked out by hand.
 */
#include <criterion/criterion.h>

#include <math.h>

#include "scoring/stolen.h"

#define FIRST 20000                     /* local day of the history's first day */
#define LAST (FIRST + MODELS_HISTORY_DAYS - 1)
#define EPS 1e-9

static struct models_history h;

/* Baseline 10 kWh a day throughout; days 0..22 without readings; days 23..29 around the
 * baseline (residuals 2 -2 2 -2 2 -2 0: sample sd exactly 2); from day 30 on 7 kWh a day (3
 * below the baseline) except 5 days without readings. */
static void drop_history(void)
{
	static const float before[7] = {12, 8, 12, 8, 12, 8, 10};
	h.first_day = FIRST;
	for (int i = 0; i < MODELS_HISTORY_DAYS; i++) {
		h.baseline[i] = 10;
		h.kwh[i] = i < 23 ? NAN : i < 30 ? before[i - 23] : 7;
	}
	for (int i = 40; i < 45; i++)
		h.kwh[i] = NAN;
}

static const struct models_split split_at_30 = {.day = FIRST + 30, .last_day = LAST,
                                                .before_kwh = 10, .after_kwh = 7};

Test(stolen, shortfall_since_the_drop_with_the_spread_of_the_days_before)
{
	struct stolen_estimate e;
	drop_history();
	stolen_estimate(&h, &split_at_30, NULL, LAST, &e);
	cr_assert_eq(e.method, STOLEN_SHORTFALL);
	cr_assert_str_eq(stolen_method_name(e.method), "shortfall");
	cr_assert_eq(e.from_day, FIRST + 30);
	cr_assert_eq(e.to_day, LAST);
	cr_assert_eq(e.days, 30);
	cr_assert_eq(e.known_days, 25);
	cr_assert_float_eq(e.kwh_day, 3.0, EPS);
	cr_assert_float_eq(e.kwh_day_se, 0.4, EPS);  /* sd 2 / sqrt(25) */
	cr_assert_float_eq(e.kwh, 90.0, EPS);        /* 3 a day over 30 days, missing days too */
	cr_assert_float_eq(e.kwh_low, 66.48043218551935, EPS);   /* (3 - 1.96 x 0.4) x 30 */
	cr_assert_float_eq(e.kwh_high, 113.51956781448065, EPS);
	cr_assert_float_eq(e.z, 0.0, EPS);
}

Test(stolen, the_attribution_rate_when_its_z_reaches_two)
{
	struct stolen_estimate e;
	struct attrib_finding f = {.window_end_day = LAST, .resolution_s = 3600, .share = 0.8f,
	                           .kwh_day = 4, .stolen_kwh = 112, .z = 5};
	drop_history();
	stolen_estimate(&h, &split_at_30, &f, LAST, &e);
	cr_assert_eq(e.method, STOLEN_ATTRIBUTION);
	cr_assert_str_eq(stolen_method_name(e.method), "attribution");
	cr_assert_eq(e.days, 30);
	cr_assert_eq(e.known_days, 25);
	cr_assert_float_eq(e.kwh_day, 4.0, EPS);
	cr_assert_float_eq(e.kwh_day_se, 0.8, EPS);  /* 4 / z 5 */
	cr_assert_float_eq(e.kwh, 120.0, EPS);
	cr_assert_float_eq(e.kwh_low, (4 - STOLEN_RANGE_Z * 0.8) * 30, EPS);
	cr_assert_float_eq(e.kwh_low, 72.96086437103870, EPS);
	cr_assert_float_eq(e.kwh_high, 167.0391356289613, EPS);
	cr_assert_float_eq(e.z, 5.0, EPS);

	/* below z 2, or nothing stolen by the fit: the shortfall again */
	f.z = 1.5f;
	stolen_estimate(&h, &split_at_30, &f, LAST, &e);
	cr_assert_eq(e.method, STOLEN_SHORTFALL);
	cr_assert_float_eq(e.kwh, 90.0, EPS);
	f.z = 6;
	f.kwh_day = 0;
	stolen_estimate(&h, &split_at_30, &f, LAST, &e);
	cr_assert_eq(e.method, STOLEN_SHORTFALL);
}

Test(stolen, without_an_onset_the_period_is_what_the_history_shows)
{
	struct stolen_estimate e;
	h.first_day = FIRST;
	for (int i = 0; i < MODELS_HISTORY_DAYS; i++) {
		h.baseline[i] = 5;
		/* nothing for 50 days, then 3 below, 1 below, 3 below ... (mean 2, sd of 10
		 * alternating 2 +- 1: sqrt(10/9)) */
		h.kwh[i] = i < 50 ? NAN : (i % 2 ? 4 : 2);
	}
	stolen_estimate(&h, NULL, NULL, LAST, &e);
	cr_assert_eq(e.method, STOLEN_SHORTFALL);
	cr_assert_eq(e.from_day, FIRST + 50);
	cr_assert_eq(e.days, 10);
	cr_assert_eq(e.known_days, 10);
	cr_assert_float_eq(e.kwh_day, 2.0, EPS);
	cr_assert_float_eq(e.kwh_day_se, sqrt(10.0 / 9.0) / sqrt(10.0), EPS);
	cr_assert_float_eq(e.kwh, 20.0, EPS);
	cr_assert_float_eq(e.kwh_low, (2 - STOLEN_RANGE_Z * sqrt(1.0 / 9.0)) * 10, EPS);
	cr_assert_float_eq(e.kwh_low, 13.466786718199820, EPS);

	/* a split outside the history is not an onset */
	struct models_split late = {.day = LAST + 3, .last_day = LAST};
	stolen_estimate(&h, &late, NULL, LAST, &e);
	cr_assert_eq(e.from_day, FIRST + 50);
}

Test(stolen, no_baseline_and_no_attribution_is_no_estimate)
{
	struct stolen_estimate e;
	h.first_day = FIRST;
	for (int i = 0; i < MODELS_HISTORY_DAYS; i++) {
		h.baseline[i] = NAN;
		h.kwh[i] = 1;
	}
	stolen_estimate(&h, NULL, NULL, LAST, &e);
	cr_assert_eq(e.method, STOLEN_NONE);
	cr_assert_str_eq(stolen_method_name(e.method), "none");
	cr_assert_eq(e.from_day, FIRST);
	cr_assert_eq(e.days, 60);
	cr_assert_eq(e.known_days, 0);
	cr_assert_float_eq(e.kwh, 0.0, EPS);
	cr_assert_float_eq(e.kwh_high, 0.0, EPS);

	/* but an attribution alone is enough: 0.5 a day over the 60 days */
	struct attrib_finding f = {.kwh_day = 0.5f, .z = 2.5f};
	stolen_estimate(&h, NULL, &f, LAST, &e);
	cr_assert_eq(e.method, STOLEN_ATTRIBUTION);
	cr_assert_float_eq(e.kwh, 30.0, EPS);
	cr_assert_float_eq(e.kwh_day_se, 0.2, EPS);
}

Test(stolen, a_customer_above_its_baseline_stole_nothing)
{
	struct stolen_estimate e;
	drop_history();
	for (int i = 30; i < MODELS_HISTORY_DAYS; i++)
		h.kwh[i] = isfinite(h.kwh[i]) ? 11 : NAN;
	stolen_estimate(&h, &split_at_30, NULL, LAST, &e);
	cr_assert_eq(e.method, STOLEN_SHORTFALL);
	cr_assert_float_eq(e.kwh_day, -1.0, EPS);
	cr_assert_float_eq(e.kwh, 0.0, EPS);
	cr_assert_float_eq(e.kwh_low, 0.0, EPS);
	cr_assert_float_eq(e.kwh_high, 0.0, EPS);  /* -1 + 1.96 x 0.4 < 0 */
}

Test(stolen, probability_is_the_stronger_of_the_rules_and_the_area)
{
	cr_assert_float_eq(stolen_probability(50, 50, 0), 0.5, EPS);
	cr_assert_float_eq(stolen_probability(100, 50, 0), 0.75, EPS);
	cr_assert_float_eq(stolen_probability(150, 50, NAN), 0.875, EPS);
	cr_assert_float_eq(stolen_probability(50, 50, 2), 0.9544997361036416, EPS);
	cr_assert_float_eq(stolen_probability(50, 50, 1), 0.6826894921370859, EPS);
	cr_assert_float_eq(stolen_probability(200, 50, 0.5), 0.9375, EPS); /* rules win */
	cr_assert_float_eq(stolen_probability(80, 0, 0), 0.0, EPS);        /* no threshold */
	cr_assert_float_eq(stolen_probability(80, 0, -3), 0.0, EPS);
}
