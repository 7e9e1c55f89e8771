/*
 * models_runs.c - the shape of a customer's day from its interval readings, and the runs of
 * suspicious days: zero energy (bypassed or disconnected meter) and flat lines (a stuck
 * meter repeating one value), and the share of energy used at night.
 *
 * Each reading of the open day adds to a small accumulator in struct theft_state (readings,
 * night energy, the highest mean power of one reading, whether every reading equals the
 * first, whether any reading is longer than an hour); when the day closes
 * (models_on_day_closed) the accumulator is turned into the day's flat/zero status, night
 * share and peak-to-average ratio, and then freed for the next day.
 *
 * Shape days are complete days of hourly-or-finer readings with energy. On them:
 *   night share = energy of readings starting 00:00-06:00 local / the day's energy
 *   peak ratio  = highest mean power of one reading / the day's mean power (kWh / 24 h)
 * A partial bypass at fixed hours moves the night share; peak clipping (min(x, cap)) flattens
 * the peak ratio while the daily total barely moves. One day of either is noisy (the peak is
 * the largest of 24-96 noisy readings), so each is kept twice: a recent value (EWMA over
 * about MODELS_SHAPE_RECENT shape days) and a long-run level (EWMA over about
 * MODELS_SHAPE_WARMUP shape days, frozen while a drop is signalled); the *_change features
 * are recent minus long-run: the household's habit now against before the change.
 */
#include "models_int.h"

#define RUNS_SHAPE_MAX_INTERVAL_S 3600 /* longer readings cannot say what happened at night */

void models_runs_reading(struct theft_state *ts, int32_t open_day, int32_t local_day,
                         int32_t local_second_of_day, int32_t interval_s, int64_t uwh)
{
	if (local_day != open_day)
		return; /* a late reading: the open day's shape is not its day */
	if (!(ts->shape_flags & THEFT_SHAPE_ACTIVE) || ts->shape_day != local_day) {
		/* a new day (an unconsumed older accumulator is dropped) */
		ts->shape_flags = THEFT_SHAPE_ACTIVE;
		ts->shape_day = local_day;
		ts->shape_readings = 0;
		ts->shape_night_kwh = 0.0f;
		ts->shape_peak_kw = 0.0f;
		ts->reverse_open_kwh = 0.0f;
		ts->shape_first = (uint32_t)uwh;
	}
	if (ts->shape_readings > 0 && (uint32_t)uwh != ts->shape_first)
		ts->shape_flags |= THEFT_SHAPE_UNEQUAL;
	if (interval_s > RUNS_SHAPE_MAX_INTERVAL_S)
		ts->shape_flags |= THEFT_SHAPE_COARSE;
	if (local_second_of_day < MODELS_NIGHT_END_S)
		ts->shape_night_kwh = (float)(ts->shape_night_kwh + (double)uwh / 1e6);
	if (interval_s > 0) {
		double kw = (double)uwh / 1e6 * 3600.0 / interval_s;
		if (kw > ts->shape_peak_kw)
			ts->shape_peak_kw = (float)kw;
	}
	if (ts->shape_readings < UINT16_MAX)
		ts->shape_readings++;
}

/*
 * Adds a shape day: the recent values are EWMAs with weight 1/MODELS_SHAPE_RECENT (a running
 * mean over the first days), the long-run levels EWMAs with weight 1/MODELS_SHAPE_WARMUP (a
 * running mean over the warm-up), frozen while a drop is signalled.
 */
static void shape_add(struct theft_state *ts, double night_share, double peak_ratio)
{
	int n = ts->shape_days < UINT8_MAX ? ts->shape_days + 1 : UINT8_MAX;
	double fast = n < MODELS_SHAPE_RECENT ? 1.0 / n : 1.0 / MODELS_SHAPE_RECENT;
	double slow = n < MODELS_SHAPE_WARMUP ? 1.0 / n : 1.0 / MODELS_SHAPE_WARMUP;
	double peak_recent = ts->peak_recent / 1000.0;

	ts->night_recent = (float)(ts->night_recent + fast * (night_share - ts->night_recent));
	peak_recent += fast * (peak_ratio - peak_recent);
	ts->peak_recent = (uint16_t)lround(peak_recent * 1000.0);
	if (!(ts->flags & THEFT_F_DROP) || n <= MODELS_SHAPE_WARMUP) {
		ts->night_level = (float)(ts->night_level + slow * (night_share - ts->night_level));
		ts->peak_level = (float)(ts->peak_level + slow * (peak_ratio - ts->peak_level));
	}
	ts->shape_days = (uint8_t)n;
	ts->flags |= THEFT_F_NIGHT;
}

void models_runs_close(struct theft_state *ts, int32_t day, int64_t uwh, int32_t gap_days,
                       int complete)
{
	int shaped = (ts->shape_flags & THEFT_SHAPE_ACTIVE) && ts->shape_day == day;
	int interval_day = shaped && ts->shape_readings >= MODELS_FLAT_MIN_READINGS;
	int flat = interval_day && !(ts->shape_flags & THEFT_SHAPE_UNEQUAL) && uwh > 0;

	if (gap_days > 0) {
		ts->zero_run = 0;
		ts->flat_run = 0;
	}
	ts->zero_run = uwh == 0 ? (uint16_t)(ts->zero_run < UINT16_MAX ? ts->zero_run + 1 : UINT16_MAX)
	                        : 0;
	ts->flat_run = flat ? (uint16_t)(ts->flat_run < UINT16_MAX ? ts->flat_run + 1 : UINT16_MAX)
	                    : 0;
	if (interval_day)
		ts->flags |= THEFT_F_FLAT_KNOWN;
	else
		ts->flags &= (uint8_t)~THEFT_F_FLAT_KNOWN;

	ts->flags &= (uint8_t)~THEFT_F_NIGHT;
	if (interval_day && complete && !(ts->shape_flags & THEFT_SHAPE_COARSE) && uwh > 0) {
		double kwh = (double)uwh / 1e6;
		double share = (double)ts->shape_night_kwh / kwh;
		double peak = (double)ts->shape_peak_kw / (kwh / 24.0);
		shape_add(ts, share < 0.0 ? 0.0 : share > 1.0 ? 1.0 : share,
		          peak < 0.0 ? 0.0 : peak > 65.0 ? 65.0 : peak);
	}
	ts->shape_flags = 0;
}
