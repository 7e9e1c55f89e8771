/*
 * models_runs.c - the shape of a customer's day from its interval readings, and the runs of
 * suspicious days: zero energy (bypassed or disconnected meter) and flat lines (a stuck
 * meter repeating one value), and the share of energy used at night.
 *
 * Each reading of the open day adds to a small accumulator in struct theft_state (readings,
 * zero readings, night energy, the highest mean power of one reading and how many readings
 * reach it, whether any reading is longer than an hour); when the day closes
 * (models_on_day_closed) the accumulator is turned into the day's flat/zero status, night
 * share, peak-to-average ratio, zero share and plateau share, and then freed for the next
 * day. A day is flat when every reading reaches its peak power.
 *
 * Shape days are complete days of hourly-or-finer readings with energy. On them:
 *   night share   = energy of readings starting 00:00-06:00 local / the day's energy
 *   peak ratio    = highest mean power of one reading / the day's mean power (kWh / 24 h)
 *   zero share    = readings of exactly zero / the day's readings
 *   plateau share = readings equal to the day's highest reading / the day's readings (0 when
 *                   that reading is under MODELS_PLATEAU_MIN_UWH: too few register steps)
 * A partial bypass at fixed hours moves the night share and zeroes whole readings every day
 * (an honest meter reads exactly zero only in an outage); peak clipping (min(x, cap))
 * flattens the peak ratio and repeats the cap as the day's highest reading, where an honest
 * day's peak is one reading. One day of either is noisy (the peak is
 * the largest of 24-96 noisy readings), so each is kept twice: a recent value (EWMA over
 * about MODELS_SHAPE_RECENT shape days) and a long-run level (EWMA over about
 * MODELS_SHAPE_WARMUP shape days, frozen while a drop is signalled); the *_change features
 * are recent minus long-run: the household's habit now against before the change. The
 * zero and plateau shares are kept as recent values only: an honest meter has next to no
 * zero readings and one reading at its daily peak, so the value itself is the news.
 */
#include "models_int.h"

/* A share 0..1 as Q16 (x 65535), the form the state keeps; models_q16_share reads it back. */
static uint16_t share_q16(double share)
{
	return (uint16_t)lround((share < 0.0 ? 0.0 : share > 1.0 ? 1.0 : share) * 65535.0);
}

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
		ts->shape_zero_readings = 0;
		ts->shape_peak_count = 0;
		ts->shape_night_kwh = 0.0f;
		ts->shape_peak_kw = 0.0f;
		ts->reverse_open_kwh = 0.0f;
	}
	if (interval_s > RUNS_SHAPE_MAX_INTERVAL_S)
		ts->shape_flags |= THEFT_SHAPE_COARSE;
	if (local_second_of_day < MODELS_NIGHT_END_S)
		ts->shape_night_kwh = (float)(ts->shape_night_kwh + (double)uwh / 1e6);
	if (uwh == 0 && ts->shape_zero_readings < UINT16_MAX)
		ts->shape_zero_readings++;
	/* the highest mean power of one reading and how many readings reach it exactly: all of
	 * them on a flat day, one on an ordinary day, every clipped one under a limiter */
	float kw = interval_s > 0 ? (float)((double)uwh / 1e6 * 3600.0 / interval_s) : 0.0f;
	if (ts->shape_readings == 0 || kw > ts->shape_peak_kw) {
		ts->shape_peak_kw = kw;
		ts->shape_peak_count = 1;
	} else if (kw == ts->shape_peak_kw && ts->shape_peak_count < UINT16_MAX) {
		ts->shape_peak_count++;
	}
	if (ts->shape_readings < UINT16_MAX)
		ts->shape_readings++;
}

/* One EWMA step of a Q16 share. */
static void share_ewma(uint16_t *q, double share, double weight)
{
	double v = models_q16_share(*q);
	*q = share_q16(v + weight * (share - v));
}

/*
 * Adds a shape day: the recent values are EWMAs with weight 1/MODELS_SHAPE_RECENT (a running
 * mean over the first days), the long-run levels EWMAs with weight 1/MODELS_SHAPE_WARMUP (a
 * running mean over the warm-up), frozen while a drop is signalled.
 */
static void shape_add(struct theft_state *ts, double night_share, double peak_ratio,
                      double zero_share, double plateau_share)
{
	int n = ts->shape_days < UINT8_MAX ? ts->shape_days + 1 : UINT8_MAX;
	double fast = n < MODELS_SHAPE_RECENT ? 1.0 / n : 1.0 / MODELS_SHAPE_RECENT;
	double slow = n < MODELS_SHAPE_WARMUP ? 1.0 / n : 1.0 / MODELS_SHAPE_WARMUP;
	double peak_recent = ts->peak_recent / 1000.0;

	share_ewma(&ts->night_recent, night_share, fast);
	share_ewma(&ts->zero_recent, zero_share, fast);
	share_ewma(&ts->plateau_recent, plateau_share, fast);
	peak_recent += fast * (peak_ratio - peak_recent);
	ts->peak_recent = (uint16_t)lround(peak_recent * 1000.0);
	if (!(ts->flags & THEFT_F_DROP) || n <= MODELS_SHAPE_WARMUP) {
		share_ewma(&ts->night_level, night_share, slow);
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
	int flat = interval_day && ts->shape_peak_count == ts->shape_readings && uwh > 0;

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
		double readings = ts->shape_readings;
		/* the peak reading's energy, for readings of the day's usual length */
		double peak_kwh = ts->shape_peak_kw * 24.0 / readings;
		double plateau = peak_kwh >= MODELS_PLATEAU_MIN_KWH ? ts->shape_peak_count / readings
		                                                    : 0.0;
		shape_add(ts, share < 0.0 ? 0.0 : share > 1.0 ? 1.0 : share,
		          peak < 0.0 ? 0.0 : peak > 65.0 ? 65.0 : peak,
		          ts->shape_zero_readings / readings, plateau);
	}
	ts->shape_flags = 0;
}
