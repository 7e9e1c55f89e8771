/*
 * test_operating.c - a business customer's weeks (scoring/operating.h) on hand-built series:
 * Monday-based weeks, the comparison with the same weeks a year earlier and with the quarter
 * before, working days, capacity utilisation, a sudden stop, the quantisation's rescaling,
 * and the side table.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "rules/ruleset.h"
#include "scoring/operating.h"

/* Monday 2026-01-05 */
#define MONDAY 20458
#define CAPACITY_KW 10.0

/* Folds `weeks` whole weeks from Monday of week `first` (weeks after MONDAY's), each day
 * `kwh[dow]` (0 = Monday) times factor, with a peak of twice the day's mean power. */
static void feed_weeks(struct op_state *op, int first, int weeks, const double kwh[7],
                       double factor)
{
	for (int w = first; w < first + weeks; w++)
		for (int d = 0; d < 7; d++) {
			double e = kwh[d] * factor;
			cr_assert_eq(op_state_day(op, MONDAY + 7 * w + d, e, e / 24.0 * 2.0, CAPACITY_KW), 1);
		}
}

static double value(const struct feature_vec *fv, enum feature_id id)
{
	cr_assert(feature_known(fv, id), "%s missing", feature_def(id)->name);
	return fv->value[id];
}

static const double flat[7] = {100, 100, 100, 100, 100, 100, 100};
static const double shop[7] = {100, 100, 100, 100, 100, 60, 20};

Test(operating, weeks_start_on_monday)
{
	cr_assert_eq(op_week_of(MONDAY), 2923);
	cr_assert_eq(op_week_of(MONDAY + 6), 2923);
	cr_assert_eq(op_week_of(MONDAY + 7), 2924);
	cr_assert_eq(op_week_of(0), 0);   /* Thursday 1970-01-01 */
	cr_assert_eq(op_week_of(-3), 0);  /* Monday 1969-12-29 */
	cr_assert_eq(op_week_of(-4), -1); /* Sunday 1969-12-28 */
}

Test(operating, year_on_year_and_quarter)
{
	struct op_state op;
	struct feature_vec fv;
	op_state_init(&op);
	feed_weeks(&op, 0, 52, flat, 1.0);
	feed_weeks(&op, 52, 7, flat, 0.8);
	/* 59 weeks: the last 8 reach back to a week before the first one */
	op_state_day(&op, MONDAY + 7 * 59, 80, 80 / 12.0, CAPACITY_KW);
	feature_vec_clear(&fv);
	op_state_features(&op, &fv);
	cr_assert_not(feature_known(&fv, FEAT_YOY_CHANGE_8W));
	for (int d = 1; d < 7; d++)
		op_state_day(&op, MONDAY + 7 * 59 + d, 80, 80 / 12.0, CAPACITY_KW);
	op_state_day(&op, MONDAY + 7 * 60, 80, 80 / 12.0, CAPACITY_KW); /* closes week 59 */
	feature_vec_clear(&fv);
	op_state_features(&op, &fv);
	/* 700 kWh weeks take 16000 quanta, 560 kWh weeks 12800 */
	cr_assert_float_eq(value(&fv, FEAT_YOY_CHANGE_8W), -0.2, 1e-9);
	cr_assert_eq(value(&fv, FEAT_YOY_DOWN_WEEKS_8W), 8);
	double quarter = (9 * 16000.0 + 4 * 12800.0) / 13;
	cr_assert_float_eq(value(&fv, FEAT_QUARTER_CHANGE_4W), 12800.0 / quarter - 1.0, 1e-9);
	cr_assert_eq(value(&fv, FEAT_WORK_DAYS_4W), 7);
	cr_assert_eq(value(&fv, FEAT_WORK_DAYS_CHANGE), 0);
	/* peaks: 100 kWh -> 8.33 kW = 208 quanta of 10 kW; 80 kWh -> 167 */
	cr_assert_float_eq(value(&fv, FEAT_CAPACITY_UTIL_4W), 167 / 250.0, 1e-9);
	cr_assert_float_eq(value(&fv, FEAT_CAPACITY_UTIL_CHANGE),
	                   167 / 250.0 - (9 * 208 + 4 * 167) / 13.0 / 250.0, 1e-9);
	cr_assert_eq(value(&fv, FEAT_STOP_DAYS), 0);
}

Test(operating, working_days_and_a_sudden_stop)
{
	struct op_state op;
	struct feature_vec fv;
	op_state_init(&op);
	feed_weeks(&op, 0, 17, shop, 1.0);
	const double saturday_closed[7] = {100, 100, 100, 100, 100, 2, 20};
	feed_weeks(&op, 17, 4, saturday_closed, 1.0);
	op_state_day(&op, MONDAY + 7 * 21, 100, 100 / 12.0, CAPACITY_KW);
	feature_vec_clear(&fv);
	op_state_features(&op, &fv);
	cr_assert_eq(value(&fv, FEAT_WORK_DAYS_4W), 5);     /* Sunday never was a working day */
	cr_assert_eq(value(&fv, FEAT_WORK_DAYS_CHANGE), -1);
	cr_assert_not(feature_known(&fv, FEAT_YOY_CHANGE_8W));
	cr_assert_eq(value(&fv, FEAT_STOP_DAYS), 0);
	for (int d = 1; d <= 10; d++)
		op_state_day(&op, MONDAY + 7 * 21 + d, 1.0, 0.1, CAPACITY_KW);
	feature_vec_clear(&fv);
	op_state_features(&op, &fv);
	cr_assert_eq(value(&fv, FEAT_STOP_DAYS), 10);
	op_state_day(&op, MONDAY + 7 * 21 + 11, 100, 8, CAPACITY_KW);
	feature_vec_clear(&fv);
	op_state_features(&op, &fv);
	cr_assert_eq(value(&fv, FEAT_STOP_DAYS), 0);
}

Test(operating, partial_weeks_old_days_and_unknown_capacity)
{
	struct op_state op;
	struct feature_vec fv;
	op_state_init(&op);
	feature_vec_clear(&fv);
	op_state_features(&op, &fv);
	cr_assert_not(feature_known(&fv, FEAT_STOP_DAYS));
	op_state_features(NULL, &fv); /* not a business: nothing */
	cr_assert_not(feature_known(&fv, FEAT_STOP_DAYS));
	/* starts on a Thursday: its first week is no data */
	for (int d = 3; d < 7; d++)
		op_state_day(&op, MONDAY + d, 100, 8, 0.0);
	cr_assert_eq(op_state_day(&op, MONDAY + 6, 100, 8, 0.0), 0);     /* repeated */
	cr_assert_eq(op_state_day(&op, MONDAY + 2, 100, 8, 0.0), 0);     /* older */
	cr_assert_eq(op_state_day(&op, MONDAY + 7, -1.0, 8, 0.0), 0);    /* negative */
	feed_weeks(&op, 1, 17, flat, 1.0);
	op_state_day(&op, MONDAY + 7 * 18, 100, 8, CAPACITY_KW);
	cr_assert_eq(op.weeks_closed, 18);
	cr_assert_eq(op.weeks[op_week_of(MONDAY) % OP_WEEKS].kwh_q, OP_KWH_NONE);
	feature_vec_clear(&fv);
	op_state_features(&op, &fv);
	cr_assert_float_eq(value(&fv, FEAT_QUARTER_CHANGE_4W), 0.0, 1e-9);
	/* feed_weeks passes the capacity: known for weeks 1 .. 17 */
	cr_assert_float_eq(value(&fv, FEAT_CAPACITY_UTIL_CHANGE), 0.0, 1e-9);
}

Test(operating, a_week_past_the_scale_doubles_it)
{
	struct op_state op;
	op_state_init(&op);
	feed_weeks(&op, 0, 1, flat, 1.0);
	feed_weeks(&op, 1, 1, flat, 5.0);
	op_state_day(&op, MONDAY + 14, 100, 8, CAPACITY_KW);
	int32_t w0 = op_week_of(MONDAY);
	cr_assert_float_eq(op.scale_kwh, 2 * (float)(700 / 16000.0), 1e-9);
	cr_assert_eq(op.weeks[w0 % OP_WEEKS].kwh_q, 8000);
	cr_assert_eq(op.weeks[(w0 + 1) % OP_WEEKS].kwh_q, 40000);
}

Test(operating, a_gap_of_weeks_is_no_data)
{
	struct op_state op;
	op_state_init(&op);
	feed_weeks(&op, 0, 2, flat, 1.0);
	feed_weeks(&op, 5, 1, flat, 1.0);
	op_state_day(&op, MONDAY + 7 * 6, 100, 8, CAPACITY_KW);
	int32_t w0 = op_week_of(MONDAY);
	cr_assert_eq(op.weeks_closed, 6);
	for (int w = 2; w < 5; w++)
		cr_assert_eq(op.weeks[(w0 + w) % OP_WEEKS].kwh_q, OP_KWH_NONE);
	cr_assert_eq(op.weeks[(w0 + 5) % OP_WEEKS].kwh_q, 16000);
}

Test(operating, side_table_keeps_addresses)
{
	struct op_table *t = op_table_new();
	static char keys[1000];
	cr_assert_null(op_table_get(t, &keys[0], 0));
	struct op_state *first = op_table_get(t, &keys[0], 1);
	first->stop_days = 7;
	for (int i = 1; i < 1000; i++)
		cr_assert_not_null(op_table_get(t, &keys[i], 1));
	cr_assert_eq(op_table_get(t, &keys[0], 0), first);
	cr_assert_eq(first->stop_days, 7);
	cr_assert_eq(op_table_count(t), 1000);
	cr_assert_geq(op_table_memory(t), 1000 * sizeof(struct op_state));
	op_table_clear(t);
	cr_assert_eq(op_table_count(t), 0);
	cr_assert_null(op_table_get(t, &keys[5], 0));
	op_table_free(t);
}

static int odd_key(const void *key, void *record, void *arg)
{
	(void)record;
	return ((const char *)key - (const char *)arg) % 2 == 1;
}

Test(operating, side_table_forgets_what_remove_if_drops)
{
	struct op_table *t = op_table_new();
	static char keys[600];
	for (int i = 0; i < 600; i++)
		op_table_get(t, &keys[i], 1)->stop_days = (uint16_t)i;
	op_table_remove_if(t, odd_key, keys);
	cr_assert_eq(op_table_count(t), 300);
	for (int i = 0; i < 600; i++) {
		struct op_state *op = op_table_get(t, &keys[i], 0);
		if (i % 2) {
			cr_assert_null(op, "key %d dropped", i);
		} else {
			cr_assert_not_null(op, "key %d kept", i);
			cr_assert_eq(op->stop_days, i, "key %d keeps its state", i);
		}
	}
	op_table_free(t);
}

Test(operating, the_day_peak_follows_the_readings_of_the_day)
{
	struct op_state op;
	op_state_init(&op);
	cr_assert_eq(op_state_day_peak(&op, MONDAY), 0.0);
	op_state_reading(&op, MONDAY, 3.0);
	op_state_reading(&op, MONDAY, 7.5);
	op_state_reading(&op, MONDAY, 2.0);
	cr_assert_eq(op_state_day_peak(&op, MONDAY), 7.5);
	op_state_reading(&op, MONDAY + 1, 1.0);
	cr_assert_eq(op_state_day_peak(&op, MONDAY + 1), 1.0);
	cr_assert_eq(op_state_day_peak(&op, MONDAY), 0.0, "the day before is no longer followed");
	op_state_reading(&op, MONDAY, 9.0); /* late: its day is gone */
	cr_assert_eq(op_state_day_peak(&op, MONDAY + 1), 1.0);
}

Test(operating, a_snapshot_reads_back_the_same_state)
{
	struct op_state op, back;
	struct feature_vec fv, fv_back;
	op_state_init(&op);
	feed_weeks(&op, 0, 52, shop, 1.0);
	feed_weeks(&op, 52, 10, shop, 0.7);
	op_state_day(&op, MONDAY + 7 * 62, 50, 3, CAPACITY_KW);
	op_state_reading(&op, MONDAY + 7 * 62 + 1, 4.25);
	uint8_t bytes[OP_STATE_ENCODED_BYTES + 1];
	cr_assert_eq(op_state_encode(&op, bytes), OP_STATE_ENCODED_BYTES);
	memset(&back, 0xa5, sizeof back);
	cr_assert_eq(op_state_decode(bytes, OP_STATE_ENCODED_BYTES, &back), 0);
	cr_assert_eq(memcmp(&op, &back, sizeof op), 0);
	feature_vec_clear(&fv);
	feature_vec_clear(&fv_back);
	op_state_features(&op, &fv);
	op_state_features(&back, &fv_back);
	cr_assert_eq(memcmp(fv.known, fv_back.known, sizeof fv.known), 0);
	for (int f = 0; f < FEAT__COUNT; f++)
		if (feature_known(&fv, (enum feature_id)f))
			cr_assert_eq(fv.value[f], fv_back.value[f], "%s", feature_def(f)->name);
	cr_assert(feature_known(&fv, FEAT_YOY_CHANGE_8W), "a year and more of weeks");
	cr_assert_eq(op_state_day_peak(&back, MONDAY + 7 * 62 + 1), 4.25);

	cr_assert_eq(op_state_decode(bytes, OP_STATE_ENCODED_BYTES - 1, &back), -1, "short");
	bytes[0] = 99;
	cr_assert_eq(op_state_decode(bytes, OP_STATE_ENCODED_BYTES, &back), -1, "version");
	bytes[0] = 1;
	bytes[1 + 6 * 4] = 9; /* open_days */
	cr_assert_eq(op_state_decode(bytes, OP_STATE_ENCODED_BYTES, &back), -1, "open_days 9");
}

Test(operating, week_energy_in_kwh_with_its_monday)
{
	struct op_state op;
	int32_t monday;
	op_state_init(&op);
	feed_weeks(&op, 0, 3, flat, 1.0);
	op_state_day(&op, MONDAY + 21, 100, 5, CAPACITY_KW); /* opens the fourth week */
	double kwh = op_state_week_kwh(&op, 1, &monday);
	cr_assert_float_eq(kwh, 700.0, 0.5);
	cr_assert_eq(monday, MONDAY + 14);
	cr_assert_float_eq(op_state_week_kwh(&op, 3, &monday), 700.0, 0.5);
	cr_assert_eq(monday, MONDAY);
	cr_assert(isnan(op_state_week_kwh(&op, 4, &monday)), "before the first week");
	cr_assert_eq(monday, MONDAY - 7);
}

/* The shipped operating rules (rules/, kind operating) on the features of a series. */
static int shipped_rules_warn(const struct op_state *op)
{
	const char *dir = "rules";
	struct ruleset *rs = NULL;
	struct rules_diags diags = {0};
	cr_assert_eq(ruleset_load_paths(&dir, 1, RULE_KIND_OPERATING, &rs, &diags), 0);
	cr_assert_gt(ruleset_rule_count(rs), 0);
	cr_assert_gt(ruleset_alert_threshold(rs), 0);
	struct feature_vec fv;
	struct rule_hits hits;
	feature_vec_clear(&fv);
	op_state_features(op, &fv);
	ruleset_eval(rs, &fv, &hits);
	ruleset_free(rs);
	return hits.alert;
}

Test(operating, shipped_rules_warn_on_a_decline_not_on_a_seasonal_dip)
{
	struct op_state op;
	op_state_init(&op);
	feed_weeks(&op, 0, 52, flat, 1.0);
	for (int w = 52; w < 64; w++)
		feed_weeks(&op, w, 1, flat, 1.0 - 0.4 * (w - 52) / 11.0);
	op_state_day(&op, MONDAY + 7 * 64, 60, 5, CAPACITY_KW);
	cr_assert(shipped_rules_warn(&op));

	op_state_init(&op);
	for (int w = 0; w < 68; w++)
		feed_weeks(&op, w, 1, flat, (w >= 8 && w < 16) || w >= 60 ? 0.6 : 1.0);
	op_state_day(&op, MONDAY + 7 * 68, 60, 5, CAPACITY_KW);
	struct feature_vec fv;
	feature_vec_clear(&fv);
	op_state_features(&op, &fv);
	cr_assert_lt(value(&fv, FEAT_QUARTER_CHANGE_4W), -0.3); /* down against the quarter ... */
	cr_assert_float_eq(value(&fv, FEAT_YOY_CHANGE_8W), 0.0, 1e-9); /* ... as a year ago */
	cr_assert_not(shipped_rules_warn(&op));

	/* the theft rule set of the same directory is not touched by the operating file */
	const char *dir = "rules";
	struct ruleset *theft = NULL;
	struct rules_diags diags = {0};
	cr_assert_eq(ruleset_load_paths(&dir, 1, RULE_KIND_THEFT, &theft, &diags), 0);
	cr_assert_eq(ruleset_rule_find(theft, "sustained_decline"), -1);
	ruleset_free(theft);
}
