/*
 * attrib_tech.c - what the attribution (attrib.c) takes from an area's and a customer's
 * history: the area's technical loss as a function of load, fitted robustly
 * (attrib_tech_fit), and a customer's expected consumption per slot of the week
 * (attrib_baseline_profile, attrib_baseline_fill). See attrib.h.
 */
#include "attrib.h"
#include "attrib_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WEEK_S (7 * 86400)
#define DAY_S 86400
#define HUBER_K 1.345
#define IRLS_HUBER_ITERATIONS 30
#define IRLS_QUANTILE_ITERATIONS 100
#define IRLS_EPS 1e-6           /* |residual| floor of the quantile weights, x mean |loss| */
#define IRLS_CONVERGED 1e-12    /* relative change of both coefficients that ends the loop */

/* Weighted sums of the two-column regression loss = a u + c v. */
struct tech_sums {
	double uu, uv, vv, uy, vy, yy;
};

/* Weighted squared error of (a, c). */
static double tech_sse(const struct tech_sums *s, double a, double c)
{
	return s->yy - 2 * (a * s->uy + c * s->vy) + a * a * s->uu + 2 * a * c * s->uv +
	       c * c * s->vv;
}

/* Least squares of the sums with a, c >= 0: the free solution when both are, else the better
 * one-column fit. */
static void tech_solve(const struct tech_sums *s, double *a, double *c)
{
	double det = s->uu * s->vv - s->uv * s->uv;
	if (det > 1e-12 * s->uu * s->vv) {
		double fa = (s->uy * s->vv - s->vy * s->uv) / det;
		double fc = (s->vy * s->uu - s->uy * s->uv) / det;
		if (fa >= 0 && fc >= 0) {
			*a = fa;
			*c = fc;
			return;
		}
	}
	double a_only = s->uu > 0 ? fmax(0.0, s->uy / s->uu) : 0;
	double c_only = s->vv > 0 ? fmax(0.0, s->vy / s->vv) : 0;
	if (tech_sse(s, a_only, 0) <= tech_sse(s, 0, c_only)) {
		*a = a_only;
		*c = 0;
	} else {
		*a = 0;
		*c = c_only;
	}
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

static double sorted_median(const double *v, uint32_t n)
{
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double attrib_robust_sd(double *v, uint32_t n, double *median)
{
	if (n == 0) {
		*median = 0;
		return 0;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	double med = sorted_median(v, n);
	for (uint32_t k = 0; k < n; k++)
		v[k] = fabs(v[k] - med);
	qsort(v, n, sizeof(*v), cmp_double);
	*median = med;
	return MAD_TO_SD * sorted_median(v, n);
}

/* Robust sd of the residuals of (a, c) over the usable intervals, through scratch. */
static double residual_sd(const double *feeder, const double *customers, uint32_t n,
                          double dt_h, double a, double c, double *scratch)
{
	uint32_t m = 0;
	for (uint32_t t = 0; t < n; t++)
		if (isfinite(feeder[t]) && isfinite(customers[t]))
			scratch[m++] = feeder[t] - customers[t] - a * dt_h -
			               c * feeder[t] * feeder[t] / dt_h;
	double median;
	return attrib_robust_sd(scratch, m, &median);
}

/* The weight of an interval with residual r under method (scale: the Huber scale, or the
 * quantile's residual floor). */
static double irls_weight(enum attrib_tech_method method, double r, double scale, double tau)
{
	if (method == ATTRIB_FIT_HUBER) {
		double lim = HUBER_K * scale;
		return fabs(r) <= lim ? 1.0 : lim / fabs(r);
	}
	if (method == ATTRIB_FIT_QUANTILE)
		return (r > 0 ? tau : 1.0 - tau) / fmax(fabs(r), scale);
	return 1.0;
}

void attrib_tech_fit(const double *feeder_kwh, const double *customers_kwh, uint32_t n,
                     int32_t interval_s, enum attrib_tech_method method, double tau,
                     double *scratch, struct attrib_tech *out)
{
	memset(out, 0, sizeof(*out));
	if (interval_s <= 0)
		return;
	double dt_h = interval_s / 3600.0, mean_abs = 0;
	uint32_t points = 0;
	for (uint32_t t = 0; t < n; t++)
		if (isfinite(feeder_kwh[t]) && isfinite(customers_kwh[t])) {
			points++;
			mean_abs += fabs(feeder_kwh[t] - customers_kwh[t]);
		}
	if (points < 2)
		return;
	mean_abs /= points;
	int iterations = method == ATTRIB_FIT_HUBER      ? IRLS_HUBER_ITERATIONS
	                 : method == ATTRIB_FIT_QUANTILE ? IRLS_QUANTILE_ITERATIONS
	                                                 : 1;
	if ((method == ATTRIB_FIT_HUBER && !scratch) ||
	    (method == ATTRIB_FIT_QUANTILE && !(tau > 0 && tau < 1)))
		iterations = 1; /* plain least squares: nothing to re-weight with */
	double a = 0, c = 0;
	for (int it = 0; it < iterations; it++) {
		double scale = IRLS_EPS * mean_abs + 1e-300;
		if (it > 0 && method == ATTRIB_FIT_HUBER) {
			scale = residual_sd(feeder_kwh, customers_kwh, n, dt_h, a, c, scratch);
			if (!(scale > 0))
				break;
		}
		struct tech_sums s = {0};
		for (uint32_t t = 0; t < n; t++) {
			if (!(isfinite(feeder_kwh[t]) && isfinite(customers_kwh[t])))
				continue;
			double u = dt_h, v = feeder_kwh[t] * feeder_kwh[t] / dt_h;
			double y = feeder_kwh[t] - customers_kwh[t];
			double w = it == 0 ? 1.0 : irls_weight(method, y - a * u - c * v, scale, tau);
			s.uu += w * u * u;
			s.uv += w * u * v;
			s.vv += w * v * v;
			s.uy += w * u * y;
			s.vy += w * v * y;
			s.yy += w * y * y;
		}
		double na, nc;
		tech_solve(&s, &na, &nc);
		int done = fabs(na - a) <= IRLS_CONVERGED * fabs(na) &&
		           fabs(nc - c) <= IRLS_CONVERGED * fabs(nc);
		a = na;
		c = nc;
		if (it > 0 && done)
			break;
	}
	out->noload_kw = a;
	out->load_per_kw = c;
	out->points = points;
}

/* ---- baselines ---- */

/* Mean of the readings of history whose slot of the week, modulo `period` slots, is `slot`;
 * NAN when none. */
static double slot_mean(const double *history, uint32_t n, uint32_t first_slot, uint32_t period,
                        uint32_t slot)
{
	uint32_t start = (slot + period - first_slot % period) % period;
	double sum = 0;
	uint32_t count = 0;
	for (uint32_t t = start; t < n; t += period)
		if (!isnan(history[t])) {
			sum += history[t];
			count++;
		}
	return count ? sum / count : NAN;
}

uint32_t attrib_baseline_profile(const double *history_kwh, uint32_t n, int32_t interval_s,
                                 uint32_t first_slot, double *profile, uint32_t profile_len)
{
	if (interval_s <= 0 || WEEK_S % interval_s != 0)
		return 0;
	uint32_t slots = (uint32_t)(WEEK_S / interval_s);
	if (profile_len < slots)
		return 0;
	uint32_t per_day = DAY_S % interval_s == 0 ? (uint32_t)(DAY_S / interval_s) : slots;
	double overall = slot_mean(history_kwh, n, 0, 1, 0);
	for (uint32_t s = 0; s < slots; s++) {
		double v = slot_mean(history_kwh, n, first_slot, slots, s);
		if (isnan(v))
			v = slot_mean(history_kwh, n, first_slot, per_day, s % per_day);
		profile[s] = isnan(v) ? overall : v;
	}
	return slots;
}

void attrib_baseline_fill(const double *profile, uint32_t slots, uint32_t first_slot,
                          uint32_t n, double *baseline)
{
	for (uint32_t t = 0; t < n; t++)
		baseline[t] = profile[(uint32_t)(((uint64_t)first_slot + t) % slots)];
}
