/*
 * balance.c - the energy balance of a transformer area: the balance of an area-day and its
 * baseline (as deploy/sql/002_area_balance.sql computes them), an area's latest balance, and
 * the area features riskd's scoring reads from it (see balance.h).
 */
#include "balance.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AREA_NO_DAY INT32_MIN       /* an empty slot of an area_history */
#define AREA_BASELINE_DAYS 60       /* risk.area_baseline_loss: the 60 days before the day */
#define AREA_BASELINE_MIN 7         /* ... once at least 7 balanced days exist */
#define AREA_BASELINE_QUANTILE 0.2  /* ... their 20th percentile (percentile_cont) */

#define AREA_STEP_BEFORE_MIN 7      /* balanced days the step needs before the split ... */
#define AREA_STEP_AFTER_MIN 3       /* ... and from the split on */
#define AREA_NOISE_MIN_CHANGES 7    /* day-to-day changes rate_noise needs */
#define AREA_NOISE_FLOOR 1e-5       /* rate_noise at least 0.001 points */
#define AREA_STEP_SHARE_MAX 5.0
#define AREA_STEP_SEARCH_DAYS 7     /* area_step_offset_days looks this far either way */
#define AREA_STEP_LOCAL_DAYS 7      /* ... comparing a week before and after each candidate */

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

/* ---- the balance of one area-day ---- */

void area_day_add_feeder(struct area_day *d, int64_t uwh, int32_t covered_s)
{
	d->has_feeder = 1;
	d->feeder_uwh += uwh;
	d->feeder_covered_s += covered_s;
}

void area_day_add_customer(struct area_day *d, int64_t uwh, int32_t covered_s)
{
	d->customers_uwh += uwh;
	d->complete += covered_s >= AREA_DAY_SECONDS;
}

void area_day_add_silent(struct area_day *d)
{
	d->complete++;
}

int area_day_complete(const struct area_day *d, uint32_t customers)
{
	return d->has_feeder && d->feeder_covered_s >= AREA_DAY_SECONDS && customers > 0 &&
	       d->complete == customers;
}

void area_day_reset(struct area_day *d)
{
	memset(d, 0, sizeof(*d));
}

/* ---- an area's balance history ---- */

void area_history_init(struct area_history *h)
{
	memset(h, 0, sizeof(*h));
	for (int i = 0; i < AREA_HISTORY; i++)
		h->loss_day[i] = AREA_NO_DAY;
}

/* percentile_cont(q) of the sorted values v[0 .. n), n > 0, as PostgreSQL interpolates. */
static double percentile_cont(const double *v, size_t n, double q)
{
	double pos = q * (double)(n - 1);
	size_t lo = (size_t)floor(pos), hi = (size_t)ceil(pos);
	return v[lo] + (pos - (double)lo) * (v[hi] - v[lo]);
}

double area_history_baseline(const struct area_history *h, int32_t day)
{
	double v[AREA_HISTORY];
	size_t n = 0;
	for (int i = 0; i < AREA_HISTORY; i++)
		if (h->loss_day[i] != AREA_NO_DAY && h->loss_day[i] >= day - AREA_BASELINE_DAYS &&
		    h->loss_day[i] < day && isfinite(h->loss[i]))
			v[n++] = h->loss[i];
	if (n < AREA_BASELINE_MIN)
		return NAN;
	qsort(v, n, sizeof(v[0]), cmp_double);
	return percentile_cont(v, n, AREA_BASELINE_QUANTILE);
}

void area_history_balance_day(struct area_history *h, int32_t day, const struct area_day *sums,
                              uint32_t customers, struct area_day_balance *out)
{
	out->feeder_kwh = (double)sums->feeder_uwh / 1e6;
	out->customers_kwh = (double)sums->customers_uwh / 1e6;
	out->loss_rate = out->feeder_kwh != 0
	                     ? (out->feeder_kwh - out->customers_kwh) / out->feeder_kwh
	                     : NAN;
	out->baseline_loss_rate = area_history_baseline(h, day);
	/* NAN when either is (SQL null) */
	out->excess_kwh = (out->loss_rate - out->baseline_loss_rate) * out->feeder_kwh;
	out->customers = customers;
	int slot = (int)((uint32_t)day % AREA_HISTORY);
	h->loss_day[slot] = day;
	h->loss[slot] = out->loss_rate;
	h->feeder_kwh[slot] = out->feeder_kwh;
	h->newest_day = day;
	h->recent[h->next_recent] = *out;
	h->next_recent = (h->next_recent + 1) % AREA_RECENT;
	if (h->n_recent < AREA_RECENT)
		h->n_recent++;
}

/* ---- the latest balance ---- */

void area_history_latest(const struct area_history *h, struct area_balance *out)
{
	memset(out, 0, sizeof(*out));
	out->last_day = h->newest_day;
	for (int i = 0; i < AREA_SERIES_DAYS; i++) {
		int32_t day = h->newest_day - (AREA_SERIES_DAYS - 1) + i;
		int slot = (int)((uint32_t)day % AREA_HISTORY);
		int held = h->loss_day[slot] == day;
		out->rate[i] = held ? (float)h->loss[slot] : NAN;
		out->feeder_kwh[i] = held ? (float)h->feeder_kwh[slot] : NAN;
	}
	const struct area_day_balance *newest =
	    &h->recent[(h->next_recent + AREA_RECENT - 1) % AREA_RECENT];
	double sum = 0;
	int n = 0;
	out->loss_rate = newest->loss_rate;
	out->loss_excess = newest->loss_rate - newest->baseline_loss_rate;
	for (int i = 0; i < h->n_recent; i++)
		if (isfinite(h->recent[i].excess_kwh)) {
			sum += h->recent[i].excess_kwh;
			n++;
		}
	out->excess_kwh = n ? sum / n : 0;
	out->rate_noise = NAN;
}

/* Robust sd of the daily loss rate from consecutive days' changes (balance.h). */
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

/* Moves each weekday's mean loss rate (over at least 2 days) to the mean of all days. */
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

void area_balance_measure(struct area_balance *a)
{
	rate_weekday_adjust(a);
	a->rate_noise = rate_noise(a);
}

/* ---- the area features ---- */

/* The area's loss-rate rise at split day `day` (balance.h): the mean loss rates of its
 * balanced days among the before_days days before and from `day` to last_day, their counts
 * and the mean feeder energy after. */
struct area_rise {
	double rate_before, rate_after, feeder_after;
	int nb, na;
};

/* Fills *r; returns 0 when either side has too few days. */
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

/* The step features (balance.h): the area's loss before and after the customer's split, and
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

/* Sets feature id to kwh_day attributed past the meter over the meter's kwh_avg_14d, when
 * that is known and positive. */
static void attrib_ratio_feature(enum feature_id id, double kwh_day, struct feature_vec *fv)
{
	if (feature_known(fv, FEAT_KWH_AVG_14D) && fv->value[FEAT_KWH_AVG_14D] > 0)
		feature_set(fv, id, kwh_day / fv->value[FEAT_KWH_AVG_14D]);
}

/* The attribution features (balance.h): the customer's finding in its area's latest
 * attribution, all 0 (carrier none) when the area was attributed and gave it nothing, and its
 * finding in the window a week before (prev; NULL: none). */
static void area_attrib_features(const struct area_balance *a, const struct attrib_finding *f,
                                 const struct attrib_finding *prev, struct feature_vec *fv)
{
	static const struct attrib_finding nothing = {.carrier = ATTRIB_REG_NONE};
	if (a->attrib_resolution_s <= 0)
		return;
	if (!f)
		f = &nothing;
	feature_set(fv, FEAT_AREA_BALANCE_RESOLUTION, a->attrib_resolution_s);
	feature_set(fv, FEAT_AREA_ATTRIB_SHARE, f->share);
	feature_set(fv, FEAT_AREA_ATTRIB_KWH_DAY, f->kwh_day);
	feature_set(fv, FEAT_AREA_ATTRIB_Z, f->z);
	feature_set(fv, FEAT_AREA_ATTRIB_CARRIER,
	            f->carrier >= 0 && f->carrier < ATTRIB_REG__COUNT ? f->carrier : ATTRIB_REG__COUNT);
	attrib_ratio_feature(FEAT_AREA_ATTRIB_RATIO, f->kwh_day, fv);
	feature_set(fv, FEAT_AREA_ATTRIB_REVERSED_COEF, f->reversed_coef);
	feature_set(fv, FEAT_AREA_ATTRIB_REVERSED_Z, f->reversed_z);
	if (!prev)
		return;
	feature_set(fv, FEAT_AREA_ATTRIB_PREV_SHARE, prev->share);
	feature_set(fv, FEAT_AREA_ATTRIB_PREV_Z, prev->z);
	attrib_ratio_feature(FEAT_AREA_ATTRIB_PREV_RATIO, prev->kwh_day, fv);
}

/* Every feature area_features sets: what a customer's area adds to its own features. */
static const enum feature_id area_feature_ids[] = {
	FEAT_AREA_ATTRIB_RATIO,       FEAT_AREA_ATTRIB_PREV_SHARE, FEAT_AREA_ATTRIB_PREV_Z,
	FEAT_AREA_ATTRIB_PREV_RATIO,  FEAT_AREA_BALANCE_RESOLUTION, FEAT_AREA_ATTRIB_SHARE,
	FEAT_AREA_ATTRIB_KWH_DAY,     FEAT_AREA_ATTRIB_Z,          FEAT_AREA_ATTRIB_CARRIER,
	FEAT_AREA_LOSS_RATE,          FEAT_AREA_LOSS_EXCESS,       FEAT_AREA_SUSPECT_SHARE,
	FEAT_AREA_STEP_KWH,           FEAT_AREA_STEP_Z,            FEAT_AREA_STEP_SHARE,
	FEAT_AREA_STEP_OFFSET_DAYS,   FEAT_AREA_ATTRIB_REVERSED_COEF, FEAT_AREA_ATTRIB_REVERSED_Z,
};

void area_features_mark(uint64_t *mask)
{
	for (size_t i = 0; i < sizeof(area_feature_ids) / sizeof(area_feature_ids[0]); i++)
		mask[area_feature_ids[i] / 64] |= (uint64_t)1 << (area_feature_ids[i] % 64);
}

void area_features(const struct area_balance *a, const struct attrib_finding *finding,
                   const struct attrib_finding *prev, const struct models_split *split,
                   struct feature_vec *fv)
{
	for (size_t i = 0; i < sizeof(area_feature_ids) / sizeof(area_feature_ids[0]); i++)
		feature_unset(fv, area_feature_ids[i]);
	if (!a)
		return;
	area_attrib_features(a, finding, prev, fv);
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
