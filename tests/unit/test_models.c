/*
 * test_models.c - Criterion suite for scoring/models.c: the state's size and the snapshot
 * budget, the warm-up of every theft feature, which features models_features owns, the
 * 60-day history for alerts, and determinism: state after a sequence of events is the same
 * whether or not it was snapshotted and restored (cstate_encode/decode) in between.
 */
#include <criterion/criterion.h>

#include <math.h>

#include "test_models_feed.h"

#define EPS 1e-6
#define DAY(i) (FEED_D0 + (i))

Test(models, state_fits_the_budget)
{
	cr_log_info("sizeof(struct theft_state) = %zu, sizeof(struct cstate) = %zu",
	            sizeof(struct theft_state), sizeof(struct cstate));
	cr_assert_eq(sizeof(struct theft_state), 192);
	cr_assert_leq(sizeof(struct cstate), 632); /* with the open day's coverage: scoring/cstate.h */
	cr_assert_eq(offsetof(struct cstate, theft) % 8, 0);

	/* its bytes are persisted: no padding anywhere (members back to back) */
#define M(f) {offsetof(struct theft_state, f), sizeof(((struct theft_state *)0)->f)}
	static const struct {
		size_t offset, size;
	} members[] = {
		M(tamper_counts), M(hist_day), M(shape_day), M(drop_start_day), M(last_tamper_day),
		M(level), M(mad), M(cusum), M(ref_level),
		M(peak_level), M(shape_night_kwh), M(shape_peak_kw), M(reverse_open_kwh),
		M(dow_factor), M(baseline_days), M(zero_run), M(flat_run),
		M(shape_readings), M(usual_readings), M(peak_recent), M(shape_zero_readings),
		M(shape_peak_count), M(night_level), M(night_recent), M(zero_recent),
		M(plateau_recent), M(hist_base), M(z_centi),
		M(flags), M(shape_flags), M(shape_days), M(hist), M(reverse), M(reserved),
	};
#undef M
	size_t end = 0;
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		cr_assert_eq(members[i].offset, end, "padding before member %zu", i);
		end += members[i].size;
	}
	cr_assert_eq(end, sizeof(struct theft_state));
}

/* A typical residential day of 24 hourly readings (varied, so never flat). */
static void day_shape(double hours[24], double scale)
{
	for (int h = 0; h < 24; h++)
		hours[h] = scale * (h >= 18 && h <= 21 ? 0.8 : 0.2 + 0.005 * h);
}

/*
 * Warm-up, with hourly data from day 0 (day n closes when day n + 1 starts):
 *   always:            days_observed, tamper_events_30d
 *   after day 0:       kwh_day, zero_days_30d, zero_run_days, reverse_kwh_30d, flat_run_days
 *                      (day 0 is the partial first day: no shape, not in the history)
 *   after day 1:       night_ratio, peak_ratio (the first shape day)
 *   after day 5:       kwh_avg_7d (5 kept days: 1..5)
 *   after day 10:      kwh_avg_14d (10 kept days)
 *   after day 14:      baseline_kwh_day, cusum_drop, drop_days, drop_ratio_14d (14 days
 *                      learned: 1..14); zscore_day after day 15 (the first scored day);
 *                      night/peak_ratio_change (14 shape days: 1..14)
 *   with a profile:    segment; with peers: peer_ratio
 */
Test(models, feature_warm_up)
{
	static const enum feature_id after0[] = {FEAT_KWH_DAY, FEAT_ZERO_DAYS_30D,
	                                         FEAT_ZERO_RUN_DAYS, FEAT_REVERSE_KWH_30D,
	                                         FEAT_FLAT_RUN_DAYS};
	static const enum feature_id baseline[] = {FEAT_BASELINE_KWH_DAY, FEAT_CUSUM_DROP,
	                                           FEAT_DROP_DAYS, FEAT_DROP_RATIO_14D};
	struct cstate cs;
	struct feature_vec fv;
	double hours[24];
	day_shape(hours, 1.0);
	feed_fresh(&cs);
	cs.segment = SEGMENT_UNKNOWN;

	feed_features(&cs, DAY(0), &fv);
	cr_assert(feature_known(&fv, FEAT_DAYS_OBSERVED));
	cr_assert_float_eq(fv.value[FEAT_DAYS_OBSERVED], 0, EPS);
	cr_assert(feature_known(&fv, FEAT_TAMPER_EVENTS_30D));
	cr_assert_not(feature_known(&fv, FEAT_SEGMENT));
	cr_assert_not(feature_known(&fv, FEAT_KWH_DAY));

	for (int d = 0; d <= 16; d++) {
		feed_hours(&cs, DAY(d), hours);
		if (d == 0)
			continue;
		int closed = d - 1;                     /* the newest closed day */
		feed_features(&cs, DAY(d), &fv);
		cr_assert_float_eq(fv.value[FEAT_DAYS_OBSERVED], closed + 1, EPS);
		for (size_t i = 0; i < sizeof(after0) / sizeof(after0[0]); i++)
			cr_assert(feature_known(&fv, after0[i]), "%s after day %d",
			          feature_def(after0[i])->name, closed);
		cr_assert_eq(feature_known(&fv, FEAT_NIGHT_RATIO), closed >= 1, "day %d", closed);
		cr_assert_eq(feature_known(&fv, FEAT_PEAK_RATIO), closed >= 1, "day %d", closed);
		cr_assert_eq(feature_known(&fv, FEAT_KWH_AVG_7D), closed >= 5, "day %d", closed);
		cr_assert_eq(feature_known(&fv, FEAT_KWH_AVG_14D), closed >= 10, "day %d", closed);
		for (size_t i = 0; i < sizeof(baseline) / sizeof(baseline[0]); i++)
			cr_assert_eq(feature_known(&fv, baseline[i]), closed >= 14, "%s after day %d",
			             feature_def(baseline[i])->name, closed);
		cr_assert_eq(feature_known(&fv, FEAT_ZSCORE_DAY), closed >= 15, "day %d", closed);
		cr_assert_eq(feature_known(&fv, FEAT_NIGHT_RATIO_CHANGE), closed >= 14, "day %d",
		             closed);
		cr_assert_eq(feature_known(&fv, FEAT_PEAK_RATIO_CHANGE), closed >= 14, "day %d",
		             closed);
		cr_assert_not(feature_known(&fv, FEAT_DAYS_SINCE_TAMPER));
		cr_assert_not(feature_known(&fv, FEAT_PEER_RATIO));
	}
	/* 20 hours at 0.2 + 0.005 h: 4.8 + 0.005 * 276 - (0.8 + 0.005 * 78) = 4.99; 4 x 0.8 = 3.2 */
	cr_assert_float_eq(fv.value[FEAT_KWH_DAY], 8.19, 1e-9, "exact, from micro-kWh");
	cs.segment = SEGMENT_COMMERCIAL;
	feed_features(&cs, DAY(16), &fv);
	cr_assert(feature_known(&fv, FEAT_SEGMENT));
	size_t n;
	const char *const *names = feature_symbols(FEAT_SEGMENT, &n);
	cr_assert_str_eq(names[(int)fv.value[FEAT_SEGMENT]], "commercial");
}

/* models_features sets or clears exactly its own features: stale values of a reused vector
 * are cleared, area_* and credit features are left as the caller put them. */
Test(models, features_leave_area_and_credit_alone)
{
	struct cstate cs;
	struct feature_vec fv;
	feed_fresh(&cs);
	feature_vec_clear(&fv);
	feature_set(&fv, FEAT_AREA_LOSS_RATE, 0.07);
	feature_set(&fv, FEAT_AREA_SUSPECT_SHARE, 0.5);
	feature_set(&fv, FEAT_DAYS_PAST_DUE, 12);
	feature_set(&fv, FEAT_BASELINE_KWH_DAY, 99);   /* stale, from another customer */
	feature_set(&fv, FEAT_PEER_RATIO, 3);
	models_features(&cs, NULL, DAY(0), &fv);
	cr_assert(feature_known(&fv, FEAT_AREA_LOSS_RATE));
	cr_assert_float_eq(fv.value[FEAT_AREA_LOSS_RATE], 0.07, EPS);
	cr_assert(feature_known(&fv, FEAT_AREA_SUSPECT_SHARE));
	cr_assert(feature_known(&fv, FEAT_DAYS_PAST_DUE));
	cr_assert_not(feature_known(&fv, FEAT_AREA_LOSS_EXCESS));
	cr_assert_not(feature_known(&fv, FEAT_BASELINE_KWH_DAY));
	cr_assert_not(feature_known(&fv, FEAT_PEER_RATIO));
}

/* models_history: 60 days ending with the last closed day, missing days NAN, kept kWh within
 * 1.6%, baseline = level x the day's weekday factor (NAN before warm-up). */
Test(models, history_for_an_alert)
{
	struct cstate cs;
	struct models_history h;
	feed_fresh(&cs);
	cr_assert_eq(models_history(&cs, &h), 0);
	for (int i = 0; i < 60; i++)
		cr_assert(isnan(h.kwh[i]) && isnan(h.baseline[i]));

	for (int i = 0; i <= 70; i++)
		if (i != 40)                              /* day 40 without readings */
			feed_day(&cs, DAY(i), i < 50 ? 10.0 + (i % 3) : 5.0);
	int present = models_history(&cs, &h);
	cr_assert_eq(h.first_day, DAY(69) - 59);
	cr_assert_eq(present, 59);
	for (int i = 0; i < 60; i++) {
		int day = h.first_day - DAY(0) + i;
		if (day == 40) {
			cr_assert(isnan(h.kwh[i]));
			continue;
		}
		double expect = day < 50 ? 10.0 + (day % 3) : 5.0;
		cr_assert_float_eq(h.kwh[i] / expect, 1.0, 0.0165, "day %d", day);
		cr_assert(!isnan(h.baseline[i]));
		/* the drop from day 50 is signalled: the baseline stays near the old level */
		cr_assert_gt(h.baseline[i], 9.0, "day %d", day);
	}

	struct cstate young;
	feed_fresh(&young);
	for (int i = 0; i <= 5; i++)
		feed_day(&young, DAY(i), 3.0);
	cr_assert_eq(models_history(&young, &h), 4, "days 1..4 (day 0 partial, day 5 open)");
	cr_assert(isnan(h.baseline[59]), "no baseline before warm-up");
	cr_assert_float_eq(h.kwh[59], 3.0, 3.0 * 0.0165);
}

/* One scripted customer: hourly readings with noise-free weekly shape, a tamper event, a
 * bypass, reverse energy, a gap, late readings. Calls fn(cs, step) after every event. */
static void script(struct cstate *cs, void (*after)(struct cstate *cs, int step))
{
	int step = 0;
	feed_fresh(cs);
	for (int d = 0; d < 90; d++) {
		if (d == 33)
			continue;                              /* a day without readings */
		if (d == 47)
			feed_meter_event(cs, DAY(d), METER_CODE_MAGNETIC_INTERFERENCE);
		for (int h = 0; h < 24; h++) {
			double kwh = (0.3 + 0.02 * ((d * 7 + h * 3) % 11)) * (1.0 + 0.1 * (d % 7 == 2));
			if (d >= 50 && d < 70)
				kwh *= 0.3;                        /* theft */
			double reverse = d >= 75 && h % 2 ? 0.05 : -1.0;
			feed_reading(cs, DAY(d), h * 3600, 3600, kwh, reverse);
			if (after)
				after(cs, step++);
		}
		if (d == 80)
			feed_reading(cs, DAY(78), 5 * 3600, 3600, 0.1, 0.2); /* late */
	}
}

static uint8_t snap[CSTATE_SNAPSHOT_MAX];

/* Every 37th event the state is encoded and decoded in place, as a restart would. */
static void restart_now_and_then(struct cstate *cs, int step)
{
	char err[256], id[RISKD_ID_MAX + 1];
	if (step % 37 != 0)
		return;
	struct cstate_table *table = cstate_table_new(0);
	size_t len = cstate_encode(table, cs, snap, sizeof(snap));
	cr_assert_gt(len, 0);
	strcpy(id, cstate_id(cs));
	memset(cs, 0xa5, sizeof(*cs));
	cr_assert_eq(cstate_decode(table, id, snap, len, cs, err, sizeof(err)), 0, "%s", err);
	cstate_table_destroy(table);
}

Test(models, state_does_not_depend_on_restarts)
{
	struct cstate straight, restarted, again;
	script(&straight, NULL);
	script(&restarted, restart_now_and_then);
	script(&again, NULL);
	cr_assert_eq(memcmp(&straight, &again, sizeof(straight)), 0, "same events, same bytes");
	cr_assert_eq(memcmp(&straight.theft, &restarted.theft, sizeof(straight.theft)), 0,
	             "restored snapshots change nothing");

	/* and the script did exercise the models */
	struct feature_vec fv;
	feed_features(&straight, DAY(89), &fv);
	cr_assert_gt(fv.value[FEAT_REVERSE_KWH_30D], 5.0);
	cr_assert_float_eq(fv.value[FEAT_TAMPER_EVENTS_30D], 0, EPS, "day 47 is out of the window");
	cr_assert_float_eq(fv.value[FEAT_DAYS_SINCE_TAMPER], 42, EPS);
	feed_features(&straight, DAY(60), &fv);
	cr_assert_float_eq(fv.value[FEAT_TAMPER_EVENTS_30D], 1, EPS);
}

/* Late and out-of-place calls do not corrupt the state: a day closed twice, a meter event
 * of another type, a reading event passed to the meter-event entry point. */
Test(models, misuse_is_ignored)
{
	struct cstate cs, before;
	feed_fresh(&cs);
	for (int i = 0; i <= 20; i++)
		feed_day(&cs, DAY(i), 10.0);
	memcpy(&before, &cs, sizeof(cs));
	struct daily_closed old = {DAY(5), 1000000, 1, 1800};
	models_on_day_closed(&cs, &old);
	struct event ev;
	memset(&ev, 0, sizeof(ev));
	ev.type = EVENT_BILL;
	models_on_reading(&cs, &ev, DAY(20), 0);
	models_on_meter_event(&cs, &ev, DAY(20));
	ev.type = EVENT_METER_READING;
	models_on_meter_event(&cs, &ev, DAY(20));
	cr_assert_eq(memcmp(&cs.theft, &before.theft, sizeof(cs.theft)), 0);
}
