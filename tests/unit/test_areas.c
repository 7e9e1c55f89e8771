/*
 * test_areas.c - Criterion suite for detector/areas.c: the table of every area's latest
 * balance that riskd's scoring reads (sorted lookup, copies prepared for the step features
 * as they are added, reset before a reload), with the per-customer findings of the areas'
 * latest attribution (added in any order, found by customer_id, replaced, emptied by a reset
 * that keeps the memory). The balance model itself is tested by tests/unit/test_balance.c.
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

/* A finding whose fields all derive from k, so that a lookup shows which one it found. */
static struct attrib_finding finding_of(int k)
{
	return (struct attrib_finding){
	    .window_end_day = D0 + k, .resolution_s = k % 2 ? 3600 : 86400,
	    .share = (float)k / 1000, .kwh_day = (float)k, .stolen_kwh = 28.0f * (float)k,
	    .z = (float)k / 10, .carrier = (int8_t)(k % 3),
	};
}

/* Findings added in any order (here a permutation of 1000 customers, past several index
 * sizes) are each found by customer_id; an unknown customer has none; a second finding for
 * a customer replaces the first. */
Test(areas, findings_found_by_customer)
{
	struct area_table t = {0};
	char id[32];
	cr_assert_null(area_table_find_finding(&t, "C000001"), "an empty table has none");
	for (int n = 0; n < 1000; n++) {
		int k = (n * 617) % 1000; /* 617 is prime to 1000: every k once */
		snprintf(id, sizeof(id), "C%06d", k);
		struct attrib_finding f = finding_of(k);
		area_table_add_finding(&t, id, &f);
	}
	cr_assert_eq(t.n_findings, 1000);
	for (int k = 0; k < 1000; k++) {
		snprintf(id, sizeof(id), "C%06d", k);
		const struct attrib_finding *got = area_table_find_finding(&t, id);
		cr_assert_not_null(got, "%s", id);
		struct attrib_finding want = finding_of(k);
		cr_assert(got->window_end_day == want.window_end_day &&
		          got->resolution_s == want.resolution_s && got->share == want.share &&
		          got->kwh_day == want.kwh_day && got->stolen_kwh == want.stolen_kwh &&
		          got->z == want.z && got->carrier == want.carrier,
		          "%s: another customer's finding", id);
	}
	cr_assert_null(area_table_find_finding(&t, "C001000"));
	cr_assert_null(area_table_find_finding(&t, ""));

	struct attrib_finding again = finding_of(7);
	again.share = 0.5f;
	area_table_add_finding(&t, "C000042", &again);
	cr_assert_eq(t.n_findings, 1000, "replaced, not added");
	cr_assert_float_eq(area_table_find_finding(&t, "C000042")->share, 0.5f, 1e-9);
	area_table_free(&t);
	cr_assert_null(t.findings);
	cr_assert_eq(t.n_findings, 0);
}

/* A customer's finding in the previous window is kept beside its latest, neither replacing
 * the other; a customer with only a previous finding has no latest one, and the reverse. */
Test(areas, previous_window_findings)
{
	struct area_table t = {0};
	struct attrib_finding latest = finding_of(5), prev = finding_of(3), other = finding_of(9);
	area_table_add_finding(&t, "C1", &latest);
	area_table_add_prev_finding(&t, "C1", &prev);
	area_table_add_prev_finding(&t, "C2", &other);
	area_table_add_finding(&t, "C3", &other);
	cr_assert_eq(t.n_findings, 3);
	cr_assert_float_eq(area_table_find_finding(&t, "C1")->share, latest.share, 1e-9);
	cr_assert_float_eq(area_table_find_prev_finding(&t, "C1")->share, prev.share, 1e-9);
	cr_assert_null(area_table_find_finding(&t, "C2"), "only a previous finding");
	cr_assert_float_eq(area_table_find_prev_finding(&t, "C2")->kwh_day, other.kwh_day, 1e-9);
	cr_assert_null(area_table_find_prev_finding(&t, "C3"), "only a latest finding");
	cr_assert_null(area_table_find_prev_finding(&t, "C4"));
	area_table_reset(&t);
	cr_assert_null(area_table_find_prev_finding(&t, "C1"), "reset");
	area_table_free(&t);
}

/* A reset empties the findings too, keeping their memory; a zeroed balance reads as an area
 * that was not attributed, and an attributed one keeps its resolution and window end. */
Test(areas, reset_empties_findings)
{
	struct area_table t = {0};
	struct area_balance a;
	struct attrib_finding f = finding_of(3);
	steady_area(&a, "T1");
	area_table_add(&t, &a);
	steady_area(&a, "T2");
	a.attrib_resolution_s = 3600;
	a.attrib_end_day = D0 + 55;
	area_table_add(&t, &a);
	area_table_add_finding(&t, "C1", &f);
	cr_assert_eq(area_table_find(&t, "T1")->attrib_resolution_s, 0, "not attributed");
	cr_assert_eq(area_table_find(&t, "T2")->attrib_resolution_s, 3600);
	cr_assert_eq(area_table_find(&t, "T2")->attrib_end_day, D0 + 55);

	const struct area_finding *before = t.findings;
	area_table_reset(&t);
	cr_assert_null(area_table_find_finding(&t, "C1"));
	f = finding_of(4);
	area_table_add_finding(&t, "C2", &f);
	cr_assert_eq(t.findings, before, "the memory is kept");
	cr_assert_null(area_table_find_finding(&t, "C1"));
	cr_assert_eq(area_table_find_finding(&t, "C2")->window_end_day, D0 + 4);
	area_table_free(&t);
}

/* A customer_id longer than an id may be is kept to RISKD_ID_MAX bytes: found by that
 * prefix, not by the long name. */
Test(areas, finding_of_an_overlong_id)
{
	struct area_table t = {0};
	char id[RISKD_ID_MAX + 11];
	memset(id, 'c', sizeof(id) - 1);
	id[sizeof(id) - 1] = 0;
	struct attrib_finding f = finding_of(9);
	area_table_add_finding(&t, id, &f);
	id[RISKD_ID_MAX] = 0;
	cr_assert_not_null(area_table_find_finding(&t, id));
	area_table_free(&t);
}
