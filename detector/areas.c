/*
 * areas.c - in-memory copy of the areas' latest energy balance, and the area features.
 */
#include "areas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../config/riskd_base.h"

void area_table_reset(struct area_table *t)
{
	t->count = 0;
}

#define AREA_STEP_BEFORE_MIN 7     /* balanced days the step needs before the split ... */
#define AREA_STEP_AFTER_MIN 3      /* ... and from the split on */
#define AREA_NOISE_MIN_CHANGES 7   /* day-to-day changes rate_noise needs */
#define AREA_NOISE_FLOOR 1e-5      /* rate_noise at least 0.001 points */
#define AREA_STEP_SHARE_MAX 5.0
#define AREA_STEP_SEARCH_DAYS 7    /* area_step_offset_days looks this far either way */
#define AREA_STEP_LOCAL_DAYS 7     /* ... comparing a week before and after each candidate */

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

/* Robust sd of the daily loss rate from consecutive days' changes (areas.h). */
static double rate_noise(const struct area_balance *a)
{
	double change[AREA_SERIES_DAYS];
	size_t n = 0;
	for (int i = 1; i < AREA_SERIES_DAYS; i++)
		if (isfinite(a->rate[i]) && isfinite(a->rate[i - 1]))
			change[n++] = fabs((double)a->rate[i] - a->rate[i - 1]);
	if (n < AREA_NOISE_MIN_CHANGES)
		return NAN;
	qsort(change, n, sizeof(change[0]), cmp_double);
	double median = n % 2 ? change[n / 2] : (change[n / 2 - 1] + change[n / 2]) / 2;
	double sd = median * 1.4826 / sqrt(2.0);
	return sd > AREA_NOISE_FLOOR ? sd : AREA_NOISE_FLOOR;
}

/* Takes the weekly pattern out of the series: each weekday's mean (over at least 2 days)
 * is moved to the mean of all days. A large customer's stolen or lost energy follows its own
 * week, which would otherwise swamp a step of a few kWh. */
static void rate_weekday_adjust(struct area_balance *a)
{
	double sum[7] = {0}, total = 0;
	int n[7] = {0}, total_n = 0;
	int32_t first = a->last_day - (AREA_SERIES_DAYS - 1);
	for (int i = 0; i < AREA_SERIES_DAYS; i++) {
		if (!isfinite(a->rate[i]))
			continue;
		int dow = models_weekday(first + i);
		sum[dow] += a->rate[i];
		n[dow]++;
		total += a->rate[i];
		total_n++;
	}
	if (total_n == 0)
		return;
	for (int i = 0; i < AREA_SERIES_DAYS; i++) {
		int dow = models_weekday(first + i);
		if (isfinite(a->rate[i]) && n[dow] >= 2)
			a->rate[i] = (float)(a->rate[i] - sum[dow] / n[dow] + total / total_n);
	}
}

void area_table_add(struct area_table *t, const struct area_balance *a)
{
	if (t->count == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->areas = xrealloc(t->areas, sizeof(*t->areas) * t->cap);
	}
	struct area_balance *added = &t->areas[t->count++];
	*added = *a;
	rate_weekday_adjust(added);
	added->rate_noise = rate_noise(added);
}

const struct area_balance *area_table_find(const struct area_table *t, const char *transformer_id)
{
	size_t lo = 0, hi = t->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->areas[mid].transformer_id, transformer_id);
		if (c == 0)
			return &t->areas[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void area_table_free(struct area_table *t)
{
	free(t->areas);
	memset(t, 0, sizeof(*t));
}

/* The area's loss-rate rise at split day `day` (areas.h): the mean loss rates of its
 * balanced days among the MODELS_SPLIT_BEFORE days before and from `day` to last_day, their
 * counts and the mean feeder energy after. Returns 0 when either side has too few days. */
struct area_rise {
	double rate_before, rate_after, feeder_after;
	int nb, na;
};

static int area_rise_at(const struct area_balance *a, int32_t day, int32_t last_day,
                        int before_days, struct area_rise *r)
{
	int32_t first = a->last_day - (AREA_SERIES_DAYS - 1);
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < AREA_SERIES_DAYS; i++) {
		int32_t d = first + i;
		if (!isfinite(a->rate[i]) || d < day - before_days || d > last_day)
			continue;
		if (d < day) {
			r->rate_before += a->rate[i];
			r->nb++;
		} else {
			r->rate_after += a->rate[i];
			r->feeder_after += a->feeder_kwh[i];
			r->na++;
		}
	}
	if (r->nb < AREA_STEP_BEFORE_MIN || r->na < AREA_STEP_AFTER_MIN)
		return 0;
	r->rate_before /= r->nb;
	r->rate_after /= r->na;
	r->feeder_after /= r->na;
	return 1;
}

/* The rise in noise units (a t statistic). */
static double area_rise_z(const struct area_balance *a, const struct area_rise *r)
{
	return (r->rate_after - r->rate_before) / (a->rate_noise * sqrt(1.0 / r->na + 1.0 / r->nb));
}

/* The step features (areas.h): the area's loss before and after the customer's split, and
 * where the area's own step lies near it. */
static void area_step_features(const struct area_balance *a, const struct models_split *split,
                               struct feature_vec *fv)
{
	struct area_rise r;
	if (!isfinite(a->rate_noise) ||
	    !area_rise_at(a, split->day, split->last_day, MODELS_SPLIT_BEFORE, &r))
		return;
	double step_kwh = (r.rate_after - r.rate_before) * r.feeder_after;
	double drop_kwh = split->before_kwh - split->after_kwh;
	double z = area_rise_z(a, &r);
	feature_set(fv, FEAT_AREA_STEP_KWH, step_kwh);
	feature_set(fv, FEAT_AREA_STEP_Z, z);
	if (drop_kwh > 0) {
		double share = step_kwh / drop_kwh;
		feature_set(fv, FEAT_AREA_STEP_SHARE,
		            share > AREA_STEP_SHARE_MAX ? AREA_STEP_SHARE_MAX
		            : share < -AREA_STEP_SHARE_MAX ? -AREA_STEP_SHARE_MAX : share);
	}
	/* the day near the split where the area's rise is sharpest, each candidate judged on a
	 * week either side of it, so that all are judged alike */
	int best_offset = 0;
	double best_z = -INFINITY;
	for (int offset = -AREA_STEP_SEARCH_DAYS; offset <= AREA_STEP_SEARCH_DAYS; offset++) {
		struct area_rise other;
		int32_t day = split->day + offset;
		int32_t last = day + AREA_STEP_LOCAL_DAYS - 1 < split->last_day
		                   ? day + AREA_STEP_LOCAL_DAYS - 1 : split->last_day;
		if (day > split->last_day ||
		    !area_rise_at(a, day, last, AREA_STEP_LOCAL_DAYS, &other))
			continue;
		double other_z = area_rise_z(a, &other);
		if (other_z > best_z) {
			best_z = other_z;
			best_offset = offset;
		}
	}
	feature_set(fv, FEAT_AREA_STEP_OFFSET_DAYS, best_offset);
}

void area_features(const struct area_balance *a, const struct models_split *split,
                   struct feature_vec *fv)
{
	feature_unset(fv, FEAT_AREA_LOSS_RATE);
	feature_unset(fv, FEAT_AREA_LOSS_EXCESS);
	feature_unset(fv, FEAT_AREA_SUSPECT_SHARE);
	feature_unset(fv, FEAT_AREA_STEP_KWH);
	feature_unset(fv, FEAT_AREA_STEP_Z);
	feature_unset(fv, FEAT_AREA_STEP_SHARE);
	feature_unset(fv, FEAT_AREA_STEP_OFFSET_DAYS);
	if (!a)
		return;
	if (split)
		area_step_features(a, split, fv);
	if (isfinite(a->loss_rate))
		feature_set(fv, FEAT_AREA_LOSS_RATE, a->loss_rate);
	if (!isfinite(a->loss_excess))
		return;
	feature_set(fv, FEAT_AREA_LOSS_EXCESS, a->loss_excess);
	if (!feature_known(fv, FEAT_BASELINE_KWH_DAY) || !feature_known(fv, FEAT_KWH_AVG_7D))
		return;
	double drop = fv->value[FEAT_BASELINE_KWH_DAY] - fv->value[FEAT_KWH_AVG_7D];
	double share = 0;
	if (a->excess_kwh > 0 && drop > 0)
		share = drop / a->excess_kwh > 1 ? 1 : drop / a->excess_kwh;
	feature_set(fv, FEAT_AREA_SUSPECT_SHARE, share);
}
