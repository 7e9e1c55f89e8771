/*
 * models_level.c - the daily level models of a customer: the 60-day history of daily kWh,
 * the baseline (EWMA level and spread of weekday-adjusted daily kWh, weekday factors), the
 * robust z-score of each day against it, and a one-sided CUSUM for a downward level shift.
 *
 * Called through models_on_day_closed (models.c) once per closed local day. The first
 * MODELS_WARMUP_DAYS complete days build the baseline as plain running means; at the end of
 * the warm-up the weekday factors are estimated from the kept history, shrunk towards 1 by
 * how much of their spread the day-to-day noise explains (a noisy household keeps factors
 * near 1, an office's weekend dip is learned). From then on every day is scored first and
 * then, unless a drop is signalled, fed into the baseline clipped to level +- 2.5 sd.
 *
 * When the CUSUM reaches MODELS_CUSUM_H the baseline freezes, and goes back to the level it
 * had when the excursion began (if that was under 14 days ago) so that the first days of a
 * step are not absorbed into it. A signal lasting MODELS_REBASE_DAYS re-learns the baseline
 * from the last 14 days: a permanent change stops being news.
 */
#include <string.h>

#include "models_int.h"

#define LEVEL_Q14 16384.0            /* weekday factors are stored as factor * 2^14 */
#define LEVEL_DOW_MIN 0.05           /* weekday factors are kept within [0.05, 3.99] */
#define LEVEL_DOW_MAX 3.99
#define LEVEL_DOW_MIN_SPREAD 1e-6   /* raw factors closer to 1 than this (mean square) are 1 */
#define LEVEL_MAD_TO_SD 1.2533141373155 /* sd of a normal = sqrt(pi/2) * mean |residual| */
#define LEVEL_RESTORE_DAYS 14        /* a signal restores the level of an excursion this young */
#define LEVEL_REBASE_WINDOW 14       /* days the re-learned level is the mean of ... */
#define LEVEL_REBASE_MIN 7           /* ... of which at least this many must have data */
#define LEVEL_REBASE_CODES 32        /* history codes re-centre when the level moves e-fold */

/*
 * Daily kWh log codes (hist[]): 0 = no data, 1 = exactly zero, 2..255 =
 * exp((code - 128 + hist_base) / 32) kWh. Step e^(1/32): a value is kept within 1.6%.
 * Values beyond e^(+-3.9) (about x53 and /53) around the base clamp to the end codes;
 * the base follows the baseline level (re-centred by hist_recentre), so they are rare.
 */
#define HIST_NONE 0u
#define HIST_ZERO 1u
#define HIST_STEPS_PER_E 32.0
#define HIST_CODE_MID 128
#define HIST_CODE_MIN 2
#define HIST_CODE_MAX 255

int models_weekday(int32_t day)
{
	return (int)models_mod(day + 4, 7); /* 1970-01-01 was a Thursday */
}

/* Log index round(32 ln kwh) of a positive kWh value, kept inside int16 range. */
static int32_t hist_log_index(double kwh)
{
	double l = HIST_STEPS_PER_E * log(kwh);
	if (!(l > -30000.0))
		return -30000;
	if (l > 30000.0)
		return 30000;
	return (int32_t)lround(l);
}

/* Code of kwh (>= 0) relative to base; never HIST_NONE. */
static uint8_t hist_encode(double kwh, int32_t base)
{
	if (!(kwh > 0.0))
		return HIST_ZERO;
	int32_t code = hist_log_index(kwh) - base + HIST_CODE_MID;
	if (code < HIST_CODE_MIN)
		code = HIST_CODE_MIN;
	if (code > HIST_CODE_MAX)
		code = HIST_CODE_MAX;
	return (uint8_t)code;
}

/* kWh of a code (>= HIST_ZERO) relative to base. */
static double hist_decode(uint8_t code, int32_t base)
{
	if (code <= HIST_ZERO)
		return 0.0;
	return exp((double)((int32_t)code - HIST_CODE_MID + base) / HIST_STEPS_PER_E);
}

/* Whether `day` lies in the kept history window. */
static int hist_holds(const struct theft_state *ts, int32_t day)
{
	return (ts->flags & THEFT_F_HIST) && day <= ts->hist_day &&
	       (int64_t)ts->hist_day - day < MODELS_HISTORY_DAYS;
}

double models_hist_kwh(const struct theft_state *ts, int32_t day)
{
	if (!hist_holds(ts, day))
		return -1.0;
	uint8_t code = ts->hist[models_mod(day, MODELS_HISTORY_DAYS)];
	if (code == HIST_NONE)
		return -1.0;
	return hist_decode(code, ts->hist_base);
}

double models_hist_mean(const struct theft_state *ts, int days, int min_present)
{
	if (!(ts->flags & THEFT_F_HIST))
		return -1.0;
	double sum = 0.0;
	int present = 0;
	for (int i = 0; i < days && i < MODELS_HISTORY_DAYS; i++) {
		double kwh = models_hist_kwh(ts, ts->hist_day - i);
		if (kwh >= 0.0) {
			sum += kwh;
			present++;
		}
	}
	if (present < min_present || present == 0)
		return -1.0;
	return sum / present;
}

double models_dow_factor(const struct theft_state *ts, int dow)
{
	uint16_t q = ts->dow_factor[dow];
	return q == 0 ? 1.0 : (double)q / LEVEL_Q14; /* 0: never set (a zeroed state) */
}

static void dow_store(struct theft_state *ts, const double factor[7])
{
	for (int d = 0; d < 7; d++) {
		double f = factor[d];
		if (!(f >= LEVEL_DOW_MIN))
			f = LEVEL_DOW_MIN;
		if (f > LEVEL_DOW_MAX)
			f = LEVEL_DOW_MAX;
		ts->dow_factor[d] = (uint16_t)lround(f * LEVEL_Q14);
	}
}

/* Rescales the factors so they average 1, then stores them. */
static void dow_normalise_store(struct theft_state *ts, double factor[7])
{
	double sum = 0.0;
	for (int d = 0; d < 7; d++)
		sum += factor[d];
	if (sum > 0.0)
		for (int d = 0; d < 7; d++)
			factor[d] *= 7.0 / sum;
	dow_store(ts, factor);
}

/* Baseline sd of a day, kWh: 1.2533 * mad with the floors of models.h. */
static double level_sd(const struct theft_state *ts)
{
	double sd = LEVEL_MAD_TO_SD * ts->mad;
	double floor_rel = MODELS_SD_FLOOR_REL * ts->level;
	if (!(sd >= floor_rel))
		sd = floor_rel;
	if (!(sd >= MODELS_SD_FLOOR_KWH))
		sd = MODELS_SD_FLOOR_KWH;
	return sd;
}

void models_hist_advance(struct theft_state *ts, int32_t day)
{
	if (!(ts->flags & THEFT_F_HIST)) {
		memset(ts->hist, HIST_NONE, sizeof(ts->hist));
		memset(ts->reverse, 0, sizeof(ts->reverse));
		ts->hist_day = day;
		ts->flags |= THEFT_F_HIST;
		return;
	}
	int64_t gap = (int64_t)day - ts->hist_day;
	for (int64_t i = 1; i <= gap && i <= MODELS_HISTORY_DAYS; i++)
		ts->hist[models_mod((int32_t)(ts->hist_day + i), MODELS_HISTORY_DAYS)] = HIST_NONE;
	for (int64_t i = 1; i <= gap && i <= MODELS_REVERSE_DAYS; i++)
		ts->reverse[models_mod((int32_t)(ts->hist_day + i), MODELS_REVERSE_DAYS)] = 0;
	ts->hist_day = day;
}

/* Re-centres the history codes on the level when it has moved an e-fold from the base, so
 * the kept days stay inside the codes' range. Codes pushed past an end clamp to it. */
static void hist_recentre(struct theft_state *ts)
{
	if (!(ts->level > 0.0) || !(ts->flags & THEFT_F_BASE))
		return;
	int32_t target = hist_log_index(ts->level);
	int32_t delta = target - ts->hist_base;
	if (delta > -LEVEL_REBASE_CODES && delta < LEVEL_REBASE_CODES)
		return;
	for (int i = 0; i < MODELS_HISTORY_DAYS; i++) {
		if (ts->hist[i] < HIST_CODE_MIN)
			continue;
		int32_t c = (int32_t)ts->hist[i] - delta;
		ts->hist[i] = (uint8_t)(c < HIST_CODE_MIN ? HIST_CODE_MIN
		                        : c > HIST_CODE_MAX ? HIST_CODE_MAX : c);
	}
	ts->hist_base = (int16_t)target;
}

/*
 * End of warm-up: weekday factors from the kept days, shrunk towards 1. For each weekday
 * present, raw = (its mean kWh) / (mean kWh of all days). The noise variance of raw is
 * s^2 / (n_dow * mean^2), s^2 the pooled within-weekday variance; the share of the raw
 * factors' observed spread around 1 that this noise does not explain, w = 1 - noise / spread
 * (0 .. 1), is the weight given to the data: factor = 1 + w * (raw - 1). The spread (mad) is
 * then recomputed from the weekday-adjusted days when the factors moved.
 */
static void dow_initialise(struct theft_state *ts)
{
	double sum[7] = {0}, sumsq[7] = {0}, factor[7];
	int n[7] = {0}, total_n = 0;
	double total = 0.0, w = 0.0;

	for (int i = 0; i < MODELS_HISTORY_DAYS; i++) {
		int32_t day = ts->hist_day - i;
		double kwh = models_hist_kwh(ts, day);
		if (kwh < 0.0)
			continue;
		int dow = models_weekday(day);
		sum[dow] += kwh;
		sumsq[dow] += kwh * kwh;
		n[dow]++;
		total += kwh;
		total_n++;
	}
	for (int d = 0; d < 7; d++)
		factor[d] = 1.0;
	if (total_n == 0 || !(total > 0.0))
		goto store;

	double mean = total / total_n;
	double within = 0.0, spread = 0.0, noise = 0.0;
	int groups = 0;
	for (int d = 0; d < 7; d++) {
		if (n[d] == 0)
			continue;
		double m = sum[d] / n[d];
		within += sumsq[d] - n[d] * m * m;
		groups++;
	}
	double s2 = total_n > groups ? within / (total_n - groups) : -1.0;
	for (int d = 0; d < 7; d++) {
		if (n[d] == 0)
			continue;
		double raw = sum[d] / n[d] / mean;
		spread += (raw - 1.0) * (raw - 1.0);
		noise += s2 / (n[d] * mean * mean);
	}
	spread /= groups;
	noise /= groups;
	/* factors within 0.1% of 1 (rms) are no pattern, just rounding of the kept days */
	w = (s2 >= 0.0 && spread > LEVEL_DOW_MIN_SPREAD) ? 1.0 - noise / spread : 0.0;
	if (w < 0.0)
		w = 0.0;
	for (int d = 0; d < 7; d++)
		if (n[d] > 0)
			factor[d] = 1.0 + w * (sum[d] / n[d] / mean - 1.0);

store:
	dow_normalise_store(ts, factor);
	if (!(w > 0.0))
		return; /* factors stay 1: the running mad already measures the right spread */
	/* the weekday pattern inflated the running mad: measure the adjusted days' spread */
	double dev = 0.0;
	int dev_n = 0;
	for (int i = 0; i < MODELS_HISTORY_DAYS; i++) {
		int32_t day = ts->hist_day - i;
		double kwh = models_hist_kwh(ts, day);
		if (kwh < 0.0)
			continue;
		dev += fabs(kwh / models_dow_factor(ts, models_weekday(day)) - ts->level);
		dev_n++;
	}
	if (dev_n > 1)
		ts->mad = (float)(dev / (dev_n - 1));
}

/* Warm-up: level and mad are plain running means (of kWh and of |kWh - level|). */
static void warmup_feed(struct theft_state *ts, double kwh)
{
	int n = ts->baseline_days + 1;
	if (n == 1) {
		ts->level = (float)kwh;
		ts->mad = 0.0f;
	} else {
		double r = kwh - ts->level;
		ts->level = (float)(ts->level + r / n);
		ts->mad = (float)(ts->mad + (fabs(r) - ts->mad) / (n - 1));
	}
	ts->baseline_days = (uint16_t)n;
	if (n == MODELS_WARMUP_DAYS)
		dow_initialise(ts);
}

/* One day into the baseline: clipped level and spread updates, and its weekday factor
 * when the day was not an outlier. */
static void baseline_feed(struct theft_state *ts, double kwh, double y, int dow, double sd)
{
	double level = ts->level;
	double lo = level - MODELS_CLIP_SD * sd, hi = level + MODELS_CLIP_SD * sd;
	double clipped = y < lo ? lo : y > hi ? hi : y;
	double r = clipped - level;
	double next = level + MODELS_LEVEL_ALPHA * r;
	ts->level = (float)(next > 0.0 ? next : 0.0);
	ts->mad = (float)(ts->mad + MODELS_LEVEL_ALPHA * (fabs(r) - ts->mad));

	if (level > 0.0 && y >= lo && y <= hi) {
		double factor[7];
		for (int d = 0; d < 7; d++)
			factor[d] = models_dow_factor(ts, d);
		double ratio = kwh / level;
		if (ratio > LEVEL_DOW_MAX)
			ratio = LEVEL_DOW_MAX;
		factor[dow] += MODELS_DOW_ALPHA * (ratio - factor[dow]);
		dow_normalise_store(ts, factor);
	}
	if (ts->baseline_days < UINT16_MAX)
		ts->baseline_days++;
}

/* A drop signalled for MODELS_REBASE_DAYS: the level becomes the weekday-adjusted mean of
 * the last 14 days and the CUSUM starts again. */
static void rebaseline(struct theft_state *ts)
{
	double sum = 0.0;
	int n = 0;
	for (int i = 0; i < LEVEL_REBASE_WINDOW; i++) {
		int32_t day = ts->hist_day - i;
		double kwh = models_hist_kwh(ts, day);
		if (kwh < 0.0)
			continue;
		sum += kwh / models_dow_factor(ts, models_weekday(day));
		n++;
	}
	if (n < LEVEL_REBASE_MIN)
		return;
	ts->level = (float)(sum / n);
	ts->cusum = 0.0f;
	ts->flags &= (uint8_t)~THEFT_F_DROP;
}

/*
 * Scores a complete day after warm-up and moves the CUSUM:
 *   y = kWh / factor(weekday), z = (y - level) / sd, S = min(cap, max(0, S - clamp(z) - k)).
 * An excursion starts on the day S leaves 0 (drop_start_day, ref_level = level then).
 */
static void score_day(struct theft_state *ts, int32_t day, double kwh)
{
	int dow = models_weekday(day);
	double y = kwh / models_dow_factor(ts, dow);
	double sd = level_sd(ts);
	double z = (y - ts->level) / sd;
	double zc = z < -MODELS_Z_CLAMP ? -MODELS_Z_CLAMP : z > MODELS_Z_CLAMP ? MODELS_Z_CLAMP : z;
	double zs = z * 100.0;

	ts->z_centi = (int16_t)(zs < -32767.0 ? -32767 : zs > 32767.0 ? 32767 : lround(zs));
	ts->flags |= THEFT_F_Z;

	double s = ts->cusum - zc - MODELS_CUSUM_K;
	if (!(s > 0.0))
		s = 0.0;
	if (s > MODELS_CUSUM_MAX)
		s = MODELS_CUSUM_MAX;
	if (!(ts->cusum > 0.0) && s > 0.0) {
		ts->drop_start_day = day;
		ts->ref_level = ts->level;
	}
	ts->cusum = (float)s;

	if (s >= MODELS_CUSUM_H) {
		if (!(ts->flags & THEFT_F_DROP)) {
			ts->flags |= THEFT_F_DROP;
			if ((int64_t)day - ts->drop_start_day < LEVEL_RESTORE_DAYS &&
			    ts->ref_level > ts->level)
				ts->level = ts->ref_level;
		}
		if ((int64_t)day - ts->drop_start_day + 1 >= MODELS_REBASE_DAYS)
			rebaseline(ts);
		return;
	}
	ts->flags &= (uint8_t)~THEFT_F_DROP;
	baseline_feed(ts, kwh, y, dow, sd);
}

/*
 * As declared in models_int.h. `complete` says whether the day had its usual number of
 * readings: an incomplete day is kept as missing and neither scored nor learned from, since
 * its energy is short by the readings that never came.
 */
void models_level_close(struct theft_state *ts, int32_t day, double kwh, int complete)
{
	ts->flags &= (uint8_t)~THEFT_F_Z;
	if (!complete) {
		ts->hist[models_mod(day, MODELS_HISTORY_DAYS)] = HIST_NONE;
		return;
	}
	if (kwh > 0.0 && !(ts->flags & THEFT_F_BASE)) {
		ts->hist_base = (int16_t)hist_log_index(kwh);
		ts->flags |= THEFT_F_BASE;
	}
	ts->hist[models_mod(day, MODELS_HISTORY_DAYS)] = hist_encode(kwh, ts->hist_base);
	if (ts->baseline_days < MODELS_WARMUP_DAYS)
		warmup_feed(ts, kwh);
	else
		score_day(ts, day, kwh);

	hist_recentre(ts);
}
