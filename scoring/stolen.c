/*
 * stolen.c - the stolen-energy estimate of a theft alert and the alert's probability of being
 * a theft (stolen.h; docs/detection.md, "Stolen energy and back-billing").
 */
#include "stolen.h"

#include <math.h>

const char *stolen_method_name(enum stolen_method m)
{
	switch (m) {
	case STOLEN_SHORTFALL:
		return "shortfall";
	case STOLEN_ATTRIBUTION:
		return "attribution";
	case STOLEN_NONE:
		break;
	}
	return "none";
}

/* Whether day i of h has both its energy and its baseline. */
static int day_known(const struct models_history *h, int i)
{
	return isfinite(h->kwh[i]) && isfinite(h->baseline[i]);
}

/* Sample standard deviation of energy - baseline over the known days i in [lo, hi); *n gets
 * their number (the deviation is 0 below two days). */
static double residual_sd(const struct models_history *h, int lo, int hi, int *n)
{
	double sum = 0, sq = 0;
	*n = 0;
	for (int i = lo; i < hi; i++) {
		if (!day_known(h, i))
			continue;
		double r = (double)h->kwh[i] - (double)h->baseline[i];
		sum += r;
		sq += r * r;
		(*n)++;
	}
	if (*n < 2)
		return 0;
	double mean = sum / *n;
	double var = (sq - *n * mean * mean) / (*n - 1);
	return var > 0 ? sqrt(var) : 0;
}

/* The first day of the period: the drop's day, else h's first day with energy, else to_day. */
static int32_t period_start(const struct models_history *h, const struct models_split *split,
                            int32_t to_day)
{
	if (split && split->day >= h->first_day && split->day <= to_day)
		return split->day;
	for (int i = 0; i < MODELS_HISTORY_DAYS && h->first_day + i <= to_day; i++)
		if (isfinite(h->kwh[i]))
			return h->first_day + i;
	return to_day;
}

void stolen_estimate(const struct models_history *h, const struct models_split *split,
                     const struct attrib_finding *finding, int32_t to_day,
                     struct stolen_estimate *out)
{
	*out = (struct stolen_estimate){.method = STOLEN_NONE, .to_day = to_day};
	out->from_day = period_start(h, split, to_day);
	out->days = to_day - out->from_day + 1;

	/* The period's days as indices of h (the history ends with to_day). */
	int lo = out->from_day - h->first_day, hi = to_day - h->first_day + 1;
	lo = lo < 0 ? 0 : lo;
	hi = hi > MODELS_HISTORY_DAYS ? MODELS_HISTORY_DAYS : hi;
	double shortfall = 0;
	for (int i = lo; i < hi; i++) {
		if (day_known(h, i)) {
			shortfall += (double)h->baseline[i] - (double)h->kwh[i];
			out->known_days++;
		}
	}

	if (finding && finding->z >= STOLEN_ATTRIB_Z_MIN && finding->kwh_day > 0) {
		out->method = STOLEN_ATTRIBUTION;
		out->kwh_day = finding->kwh_day;
		out->z = finding->z;
		out->kwh_day_se = out->kwh_day / out->z;
	} else if (out->known_days > 0) {
		int n_before = 0, n_period = 0;
		double sd = residual_sd(h, 0, lo, &n_before);
		if (n_before < STOLEN_SPREAD_DAYS_MIN)
			sd = residual_sd(h, lo, hi, &n_period);
		out->method = STOLEN_SHORTFALL;
		out->kwh_day = shortfall / out->known_days;
		out->kwh_day_se = sd / sqrt((double)out->known_days);
	} else {
		return;
	}
	double days = out->days;
	out->kwh = fmax(0, out->kwh_day * days);
	out->kwh_low = fmax(0, (out->kwh_day - STOLEN_RANGE_Z * out->kwh_day_se) * days);
	out->kwh_high = fmax(0, (out->kwh_day + STOLEN_RANGE_Z * out->kwh_day_se) * days);
}

double stolen_probability(double score, double threshold, double z)
{
	double rules = 0, area = 0;
	if (threshold > 0 && isfinite(score) && score > 0)
		rules = 1 - exp2(-score / threshold);
	if (isfinite(z) && z > 0)
		area = erf(z / sqrt(2.0));
	return fmax(rules, area);
}
