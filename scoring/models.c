/*
 * models.c - the theft models' entry points: per reading, per closed day, features and the
 * 60-day history an alert shows. The models themselves live in models_level.c (baseline,
 * z, CUSUM), models_runs.c (shape, zero and flat runs), models_events.c (tamper events,
 * reverse energy) and models_peer.c (segment medians); this file chains their steps and
 * turns their state into registry features (docs/features.md).
 */
#include <string.h>

#include "models_int.h"

_Static_assert(sizeof(struct theft_state) == 192,
               "struct theft_state changed size: update cstate's budget and snapshot version");
_Static_assert(sizeof(struct theft_state) % 8 == 0, "struct theft_state must not need tail padding");

/* A day with fewer than 4/5 of the meter's usual readings is incomplete. */
#define MODELS_COMPLETE_NUM 4
#define MODELS_COMPLETE_DEN 5

/* As declared in models.h. */
void models_on_reading(struct cstate *cs, const struct event *ev, int32_t local_day,
                       int32_t local_second_of_day)
{
	if (ev->type != EVENT_METER_READING)
		return;
	if (local_second_of_day < 0)
		local_second_of_day = 0;
	if (local_second_of_day > 86399)
		local_second_of_day = 86399;
	struct theft_state *ts = &cs->theft;
	if (cs->flags & CSTATE_F_HAS_DAY)
		models_runs_reading(ts, cs->open_day, local_day, local_second_of_day,
		                    ev->u.reading.interval_s, daily_kwh_to_uwh(ev->u.reading.kwh));
	if (ev->has & EVENT_HAS_REVERSE_KWH)
		models_events_reverse(ts, local_day, ev->u.reading.reverse_kwh);
}

/*
 * Whether a closed day had the meter's usual number of readings, and the usual number
 * updated: it is the most readings a day had, drifting down by 1/16 a day through incomplete
 * days so that a meter switched to a longer interval is accepted within about ten days. The
 * first closed day of a customer is always incomplete: a stream usually starts mid-day.
 */
static int day_complete(struct theft_state *ts, int32_t readings, int first)
{
	uint16_t r = readings < 0 ? 0 : readings > UINT16_MAX ? UINT16_MAX : (uint16_t)readings;
	if (first) {
		ts->usual_readings = r;
		return 0;
	}
	if (r >= ts->usual_readings) {
		ts->usual_readings = r;
		return 1;
	}
	if ((int32_t)r * MODELS_COMPLETE_DEN >= (int32_t)ts->usual_readings * MODELS_COMPLETE_NUM)
		return 1;
	uint16_t step = ts->usual_readings / 16 > 0 ? ts->usual_readings / 16 : 1;
	ts->usual_readings = (uint16_t)(ts->usual_readings - step);
	return 0;
}

/* As declared in models.h. */
void models_on_day_closed(struct cstate *cs, const struct daily_closed *closed)
{
	struct theft_state *ts = &cs->theft;
	int first = !(ts->flags & THEFT_F_HIST);
	if (!first && closed->day <= ts->hist_day)
		return;
	int32_t gap = first ? 0 : (int32_t)((int64_t)closed->day - ts->hist_day - 1);
	int complete = day_complete(ts, closed->readings, first);

	models_hist_advance(ts, closed->day);
	models_events_close(ts, closed->day);
	models_runs_close(ts, closed->day, closed->uwh, gap, complete);
	models_level_close(ts, closed->day, (double)closed->uwh / 1e6, complete);
}

/* The features models_features owns: set when known, cleared otherwise. */
static const enum feature_id models_owned[] = {
	FEAT_KWH_DAY,           FEAT_KWH_AVG_7D,       FEAT_KWH_AVG_14D,
	FEAT_BASELINE_KWH_DAY,  FEAT_ZSCORE_DAY,       FEAT_DROP_RATIO_14D,
	FEAT_CUSUM_DROP,        FEAT_DROP_DAYS,        FEAT_ZERO_DAYS_30D,
	FEAT_ZERO_RUN_DAYS,     FEAT_FLAT_RUN_DAYS,    FEAT_NIGHT_RATIO,
	FEAT_NIGHT_RATIO_CHANGE, FEAT_PEAK_RATIO,      FEAT_PEAK_RATIO_CHANGE,
	FEAT_REVERSE_KWH_30D,   FEAT_PEER_RATIO,       FEAT_TAMPER_EVENTS_30D,
	FEAT_DAYS_SINCE_TAMPER, FEAT_TAMPER_DROP_GAP_DAYS, FEAT_DAYS_OBSERVED,
	FEAT_SEGMENT,           FEAT_DROP_RATIO_LONG,  FEAT_STEP_DROP_RATIO,
	FEAT_STEP_DAYS,         FEAT_ZERO_INTERVAL_SHARE, FEAT_PEAK_PLATEAU_SHARE,
};

/* Mean kWh of the days first .. last that have data (at least min_present), else -1. */
static double hist_window_mean(const struct theft_state *ts, int32_t first, int32_t last,
                               int min_present)
{
	double sum = 0.0;
	int present = 0;
	for (int32_t day = first; day <= last; day++) {
		double kwh = models_hist_kwh(ts, day);
		if (kwh >= 0.0) {
			sum += kwh;
			present++;
		}
	}
	return present >= min_present && present > 0 ? sum / present : -1.0;
}

/* As declared in models.h. */
int models_drop_split(const struct cstate *cs, struct models_split *out)
{
	const struct theft_state *ts = &cs->theft;
	double sum[MODELS_HISTORY_DAYS + 1] = {0};
	int n[MODELS_HISTORY_DAYS + 1] = {0};
	int found = 0;
	double best = 0.0;

	if (!(ts->flags & THEFT_F_HIST))
		return 0;
	/* prefix sums of weekday-adjusted kWh, oldest kept day first */
	int32_t first = ts->hist_day - (MODELS_HISTORY_DAYS - 1);
	for (int i = 0; i < MODELS_HISTORY_DAYS; i++) {
		int32_t day = first + i;
		double kwh = models_hist_kwh(ts, day);
		int has = kwh >= 0.0;
		sum[i + 1] = sum[i] + (has ? kwh / models_dow_factor(ts, models_weekday(day)) : 0.0);
		n[i + 1] = n[i] + has;
	}
	for (int after = MODELS_SPLIT_MIN_AFTER; after <= MODELS_SPLIT_MAX_AFTER; after++) {
		int s = MODELS_HISTORY_DAYS - after; /* index of the split day */
		int b = s - MODELS_SPLIT_BEFORE;
		if (b < 0)
			break;
		int na = n[MODELS_HISTORY_DAYS] - n[s], nb = n[s] - n[b];
		if (na < 4 || nb < 7)
			continue;
		double ma = (sum[MODELS_HISTORY_DAYS] - sum[s]) / na, mb = (sum[s] - sum[b]) / nb;
		double stat = (mb - ma) * sqrt((double)na * nb / (na + nb));
		if (ma < mb && stat > best) {
			best = stat;
			found = 1;
			out->day = first + s;
			out->last_day = ts->hist_day;
			out->before_kwh = mb;
			out->after_kwh = ma;
		}
	}
	return found;
}

/* Zero days among the 30 days ending with the last closed day. */
static int zero_days_30d(const struct theft_state *ts)
{
	int zeros = 0;
	for (int i = 0; i < 30; i++) {
		int32_t day = ts->hist_day - i;
		if (models_hist_kwh(ts, day) == 0.0)
			zeros++;
	}
	return zeros;
}

/* As declared in models.h. */
void models_features(const struct cstate *cs, const struct peer_stats *peers, int32_t today,
                     struct feature_vec *fv)
{
	const struct theft_state *ts = &cs->theft;
	int warm = ts->baseline_days >= MODELS_WARMUP_DAYS;
	int has_hist = (ts->flags & THEFT_F_HIST) != 0;

	for (size_t i = 0; i < sizeof(models_owned) / sizeof(models_owned[0]); i++)
		feature_unset(fv, models_owned[i]);

	feature_set(fv, FEAT_DAYS_OBSERVED, cs->days_closed);
	if (cs->segment > SEGMENT_UNKNOWN && cs->segment < SEGMENT__COUNT)
		feature_set(fv, FEAT_SEGMENT, cs->segment - 1);
	if (cs->days_closed > 0)
		feature_set(fv, FEAT_KWH_DAY, (double)cs->last_closed_uwh / 1e6);

	double avg7 = models_hist_mean(ts, 7, 5);
	double avg14 = models_hist_mean(ts, 14, 10);
	if (avg7 >= 0.0)
		feature_set(fv, FEAT_KWH_AVG_7D, avg7);
	if (avg14 >= 0.0)
		feature_set(fv, FEAT_KWH_AVG_14D, avg14);

	if (warm) {
		feature_set(fv, FEAT_BASELINE_KWH_DAY, ts->level);
		feature_set(fv, FEAT_CUSUM_DROP, ts->cusum);
		feature_set(fv, FEAT_DROP_DAYS,
		            (ts->flags & THEFT_F_DROP)
		                ? (double)((int64_t)ts->hist_day - ts->drop_start_day + 1)
		                : 0.0);
		if (ts->flags & THEFT_F_Z)
			feature_set(fv, FEAT_ZSCORE_DAY, ts->z_centi / 100.0);
		if (avg14 >= 0.0 && ts->level > 0.0f)
			feature_set(fv, FEAT_DROP_RATIO_14D, 1.0 - avg14 / ts->level);
	}
	if (avg14 >= 0.0 && has_hist) {
		int32_t ref_last = ts->hist_day - MODELS_LONG_REF_END;
		double ref = hist_window_mean(ts, ref_last - (MODELS_LONG_REF_DAYS - 1), ref_last,
		                              MODELS_LONG_REF_DAYS * 5 / 7);
		if (ref > 0.0)
			feature_set(fv, FEAT_DROP_RATIO_LONG, 1.0 - avg14 / ref);
	}
	struct models_split split;
	if (models_drop_split(cs, &split)) {
		feature_set(fv, FEAT_STEP_DROP_RATIO, 1.0 - split.after_kwh / split.before_kwh);
		feature_set(fv, FEAT_STEP_DAYS, (double)((int64_t)split.last_day - split.day + 1));
	} else if (has_hist && hist_window_mean(ts, ts->hist_day - (MODELS_SPLIT_BEFORE +
	                                                           MODELS_SPLIT_MIN_AFTER - 1),
	                                        ts->hist_day, 11) >= 0.0) {
		feature_set(fv, FEAT_STEP_DROP_RATIO, 0.0); /* enough history, and no drop in it */
		feature_set(fv, FEAT_STEP_DAYS, 0.0);
	}
	if (has_hist) {
		feature_set(fv, FEAT_ZERO_DAYS_30D, zero_days_30d(ts));
		feature_set(fv, FEAT_ZERO_RUN_DAYS, ts->zero_run);
	}
	if (ts->flags & THEFT_F_FLAT_KNOWN)
		feature_set(fv, FEAT_FLAT_RUN_DAYS, ts->flat_run);
	if (ts->flags & THEFT_F_NIGHT) {
		feature_set(fv, FEAT_NIGHT_RATIO, models_q16_share(ts->night_recent));
		feature_set(fv, FEAT_PEAK_RATIO, ts->peak_recent / 1000.0);
		if (ts->shape_days >= MODELS_SHAPE_WARMUP) {
			feature_set(fv, FEAT_NIGHT_RATIO_CHANGE, models_q16_share(ts->night_recent) -
			                                         models_q16_share(ts->night_level));
			feature_set(fv, FEAT_PEAK_RATIO_CHANGE, ts->peak_recent / 1000.0 - ts->peak_level);
		}
		feature_set(fv, FEAT_ZERO_INTERVAL_SHARE, models_q16_share(ts->zero_recent));
		feature_set(fv, FEAT_PEAK_PLATEAU_SHARE, models_q16_share(ts->plateau_recent));
	}
	if (has_hist || (ts->shape_flags & THEFT_SHAPE_ACTIVE))
		feature_set(fv, FEAT_REVERSE_KWH_30D, models_reverse_kwh(ts, today - 29, today));

	if (peers && avg14 >= 0.0 && cs->segment > SEGMENT_UNKNOWN && cs->segment < SEGMENT__COUNT) {
		double median = peer_stats_median(peers, (enum segment)cs->segment);
		if (median > 0.0)
			feature_set(fv, FEAT_PEER_RATIO, avg14 / median);
	}

	feature_set(fv, FEAT_TAMPER_EVENTS_30D, models_tamper_count(ts, today - 29, today));
	if (ts->flags & THEFT_F_TAMPER) {
		int64_t since = (int64_t)today - ts->last_tamper_day;
		feature_set(fv, FEAT_DAYS_SINCE_TAMPER, since > 0 ? (double)since : 0.0);
		if (warm && (ts->flags & THEFT_F_DROP)) {
			int64_t gap = (int64_t)ts->drop_start_day - ts->last_tamper_day;
			feature_set(fv, FEAT_TAMPER_DROP_GAP_DAYS, (double)(gap < 0 ? -gap : gap));
		}
	}
}

/* As declared in models.h. */
int models_history(const struct cstate *cs, struct models_history *h)
{
	const struct theft_state *ts = &cs->theft;
	int warm = ts->baseline_days >= MODELS_WARMUP_DAYS;
	int present = 0;

	h->first_day = (ts->flags & THEFT_F_HIST) ? ts->hist_day - (MODELS_HISTORY_DAYS - 1) : 0;
	for (int i = 0; i < MODELS_HISTORY_DAYS; i++) {
		int32_t day = h->first_day + i;
		double kwh = (ts->flags & THEFT_F_HIST) ? models_hist_kwh(ts, day) : -1.0;
		h->kwh[i] = kwh >= 0.0 ? (float)kwh : NAN;
		present += kwh >= 0.0;
		h->baseline[i] = warm && (ts->flags & THEFT_F_HIST)
		                     ? (float)(ts->level * models_dow_factor(ts, models_weekday(day)))
		                     : NAN;
	}
	return present;
}
