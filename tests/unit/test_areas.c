/*
 * test_areas.c - Criterion suite for detector/areas.c: the table of every area's latest
 * balance that riskd's scoring reads (sorted lookup, copies prepared for the step features
 * as they are added, reset before a reload). The balance model itself is tested by
 * tests/unit/test_balance.c.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "detector/areas.h"

#define D0 20454 /* 2026-01-01 */

/* An area whose 56-day series ends on day D0 + 55: loss rate 0.04 +- 0.0002 on alternate
 * days, feeder 1000 kWh a day. */
static void steady_area(struct area_balance *a, const char *transformer_id)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->transformer_id, sizeof(a->transformer_id), "%s", transformer_id);
	a->last_day = D0 + AREA_SERIES_DAYS - 1;
	a->loss_rate = 0.04;
	a->loss_excess = NAN;
	for (int i = 0; i < AREA_SERIES_DAYS; i++) {
		a->rate[i] = (float)(0.04 + (i % 2 ? 0.0002 : -0.0002));
		a->feeder_kwh[i] = 1000.0f;
	}
}

/* Areas added in transformer_id order are found by id; an unknown id is NULL. */
Test(areas, find_in_a_sorted_table)
{
	static const char *const ids[] = {"T001", "T002", "T010", "T100", "T2"};
	struct area_table t = {0};
	struct area_balance a;
	for (int n = 0; n < 100; n++) { /* grow past the first allocation */
		char id[16];
		snprintf(id, sizeof(id), "X%03d", n);
		steady_area(&a, id);
		if (n == 0)
			for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
				steady_area(&a, ids[i]);
				a.loss_rate = (double)i;
				area_table_add(&t, &a);
				steady_area(&a, id);
			}
		area_table_add(&t, &a);
	}
	cr_assert_eq(t.count, 105);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		const struct area_balance *got = area_table_find(&t, ids[i]);
		cr_assert_not_null(got, "%s", ids[i]);
		cr_assert_float_eq(got->loss_rate, (double)i, 1e-12);
	}
	cr_assert_not_null(area_table_find(&t, "X099"));
	cr_assert_null(area_table_find(&t, "T3"));
	cr_assert_null(area_table_find(&t, ""));
	area_table_free(&t);
	cr_assert_eq(t.count, 0);
	cr_assert_null(t.areas);
}

/* What the table holds is a measured copy (area_balance_measure): the caller's stays as it
 * was; 55 day-to-day changes of 0.0004 give rate_noise 0.0004 * 1.4826 / sqrt(2). */
Test(areas, added_copy_is_measured)
{
	struct area_table t = {0};
	struct area_balance a;
	steady_area(&a, "T1");
	a.rate_noise = -1;
	area_table_add(&t, &a);
	cr_assert_float_eq(a.rate_noise, -1.0, 1e-12, "the caller's copy is untouched");
	const struct area_balance *got = area_table_find(&t, "T1");
	cr_assert_not_null(got);
	cr_assert_float_eq(got->rate_noise, 0.0004 * 1.4826 / sqrt(2.0), 1e-7);
	area_table_free(&t);
}

/* A reload starts from an empty table that keeps its memory. */
Test(areas, reset_keeps_memory)
{
	struct area_table t = {0};
	struct area_balance a;
	steady_area(&a, "T1");
	area_table_add(&t, &a);
	const struct area_balance *before = t.areas;
	area_table_reset(&t);
	cr_assert_eq(t.count, 0);
	cr_assert_null(area_table_find(&t, "T1"));
	steady_area(&a, "T2");
	area_table_add(&t, &a);
	cr_assert_eq(t.areas, before);
	cr_assert_not_null(area_table_find(&t, "T2"));
	area_table_free(&t);
}
