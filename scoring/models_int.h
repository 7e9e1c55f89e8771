/*
 * models_int.h - what the theft-model files share and nothing else uses: state flags, small
 * arithmetic helpers, the daily history's readers, and the per-concern steps that models.c
 * chains together on a closed day.
 *
 *   models_level.c   60-day history, baseline level, spread, weekday factors, z, CUSUM
 *   models_runs.c    interval shape of the open day, zero and flat runs, night share
 *   models_events.c  tamper counts and reverse energy by day
 *   models_peer.c    per-segment streaming medians
 *   models.c         the public entry points: closed day, features, history
 */
#ifndef RISKD_MODELS_INT_H
#define RISKD_MODELS_INT_H

#include <math.h>
#include <stdint.h>

#include "cstate.h"
#include "daily.h"
#include "models.h"

/* struct theft_state.flags */
#define THEFT_F_HIST       0x01u  /* hist_day holds a closed day */
#define THEFT_F_BASE       0x02u  /* hist_base is set (a non-zero day was stored) */
#define THEFT_F_DROP       0x04u  /* a drop is signalled: the baseline is frozen */
#define THEFT_F_TAMPER     0x08u  /* last_tamper_day is valid */
#define THEFT_F_Z          0x10u  /* z_centi scores hist_day */
#define THEFT_F_NIGHT      0x20u  /* hist_day was a shape day (night/peak values current) */
#define THEFT_F_FLAT_KNOWN 0x40u  /* hist_day had enough readings to tell flat from not */

/* struct theft_state.shape_flags */
#define THEFT_SHAPE_ACTIVE  0x01u /* the accumulator holds shape_day */
#define THEFT_SHAPE_COARSE  0x04u /* a reading of shape_day was longer than an hour */

/* A share 0..1 kept as Q16 (x 65535) in the state (models_runs.c stores them) as 0..1. */
static inline double models_q16_share(uint16_t q)
{
	return q / 65535.0;
}

/* Non-negative a mod n. */
static inline int32_t models_mod(int32_t a, int32_t n)
{
	int32_t r = a % n;
	return r < 0 ? r + n : r;
}

/* Daily kWh of local day `day` from the history: >= 0, or -1 when not kept or no data. */
double models_hist_kwh(const struct theft_state *ts, int32_t day);

/*
 * Mean daily kWh over the `days` local days ending with the last closed day; -1 when fewer
 * than min_present of them have data.
 */
double models_hist_mean(const struct theft_state *ts, int days, int min_present);

/* Weekday factor of weekday dow (0 = Sunday) as a double. */
double models_dow_factor(const struct theft_state *ts, int dow);

/*
 * Closed-day steps, called by models_on_day_closed in this order for a day `day` later than
 * the last one handled (`gap_days` days without readings lie between them; `complete`: the
 * day had its usual number of readings, see models.c):
 *   models_hist_advance   moves the history (and the reverse ring) to `day`,
 *                         clearing the days skipped
 *   models_events_close   commits the day's reverse energy from the open-day accumulator
 *   models_runs_close     finishes the day's shape: zero and flat runs, night share and
 *                         peak-to-average ratio; frees
 *                         the accumulator
 *   models_level_close    stores the day's kWh, scores it, updates the baseline
 */
void models_hist_advance(struct theft_state *ts, int32_t day);
void models_events_close(struct theft_state *ts, int32_t day);
void models_runs_close(struct theft_state *ts, int32_t day, int64_t uwh, int32_t gap_days,
                       int complete);
void models_level_close(struct theft_state *ts, int32_t day, double kwh, int complete);

/*
 * Per-reading steps (models_on_reading). open_day: the customer's open day (cs->open_day),
 * or a value below local_day when none is open. uwh: the reading's energy in micro-kWh.
 */
void models_runs_reading(struct theft_state *ts, int32_t open_day, int32_t local_day,
                         int32_t local_second_of_day, int32_t interval_s, int64_t uwh);
void models_events_reverse(struct theft_state *ts, int32_t local_day, double reverse_kwh);

/* Reverse kWh recorded on local days first_day .. last_day that are still kept (the last 30
 * closed days and the open day). */
double models_reverse_kwh(const struct theft_state *ts, int32_t first_day, int32_t last_day);

/* Tamper events counted on local days first_day .. last_day (those still kept). */
int models_tamper_count(const struct theft_state *ts, int32_t first_day, int32_t last_day);

#endif
