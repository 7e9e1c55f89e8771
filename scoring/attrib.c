/*
 * attrib.c - the joint attribution of an area-window's non-technical loss (see attrib.h):
 * checks the caller's arrays, lays out the columns over the intervals with a transformer
 * reading, fits them with non-negative least squares (attrib_nnls.c) and Huber re-weighting,
 * screens each customer's day-reversed regressor against what the fit left (a second fit
 * with those that pass), and turns the coefficients into stolen energy, shares and z per
 * customer.
 */
#include "attrib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attrib_int.h"

#define TECH_NOLOAD 0u         /* model column of a (no-load loss) */
#define TECH_LOAD 1u           /* model column of c (load loss) */
#define TECH_COLUMNS 2u
#define MIN_ROWS 3u            /* intervals with a transformer reading a fit needs */
#define GRAD_TOL 1e-11         /* a column enters above this share of the loss's norm */
#define EXACT_FIT 1e-12        /* residual sd below this share of the loss's rms: exact */
#define Z_MAX 1e9              /* z of an exact fit (standard error 0) */
#define AUTOCORR_MAX 0.9       /* the residual's lag-1 autocorrelation counted at most */
#define ROBUST_WEIGHT_MIN 1e-4 /* an interval's weight at least (the columns keep a norm) */
#define NULL_MIN_CUSTOMERS 10  /* attributed customers that give the area's null */
#define REVERSED_ROUNDS 3      /* screens of the day-reversed regressors, each followed by a
                                  fit with those that passed */
#define DAY_S 86400

struct attrib_ws {
	uint32_t max_customers, max_intervals, max_segments, max_cols;
	uint32_t segments, stride;  /* this solve's metered segments; columns per customer */
	uint32_t reversed_base;     /* model column id of customer 0's day-reversed regressor's
	                               first segment (customer i's segment s: reversed_base +
	                               ATTRIB_SEGMENTS_MAX * i + s, after every other column) */
	uint32_t reversed_joined;   /* customers whose day-reversed regressor is in the fit */
	double *x;         /* live column k over the rows at k * max_intervals */
	double *y;         /* per row: the loss the fit explains */
	double *gross;     /* per row: feeder - customers */
	double *feeder;    /* per row: the transformer's energy */
	double *w;         /* per row: Huber weight */
	double *r;         /* per row: what the fit leaves */
	double *scratch;   /* per row: one weighted column, or residuals to take a median of */
	uint32_t *row_t;   /* per row: its interval */
	double *gram;      /* max_cols^2: scaled Gram matrix of the live columns */
	double *rhs;       /* per live column: scaled x'Wy */
	double *scale;     /* per live column: its weighted norm */
	double *coef;      /* per live column: coefficient (unscaled) */
	double *coef_scaled;
	double *colsum;    /* per live column: its sum over the rows */
	double *cvec;      /* a customer's column sums over the passive set */
	double *cust_z;    /* per customer: its z before the area's null (NAN: none) */
	double *null_z;    /* those z of the area, reordered by the median */
	uint8_t *reversed_in; /* per customer: its day-reversed regressor is in the fit */
	double *infl;      /* per row: a customer's influence on its stolen energy */
	double *cq, *uq;   /* per passive column: a customer's column sums c, G_PP^-1 c */
	uint32_t *row_lo, *row_hi; /* per live column: its first and past its last non-zero row */
	uint32_t *col_id;  /* per live column: TECH_*, or TECH_COLUMNS + stride * customer + slot
	                      (slots: the metered segments, then shortfall, then silent), or
	                      reversed_base + ATTRIB_SEGMENTS_MAX * customer + segment (its
	                      day-reversed regressor) */
	uint32_t n_live;
	struct attrib_nnls nnls;
};

const char *attrib_regressor_name(int r)
{
	switch (r) {
	case ATTRIB_REG_METERED: return "metered";
	case ATTRIB_REG_SHORTFALL: return "shortfall";
	case ATTRIB_REG_SILENT: return "silent";
	default: return "none";
	}
}

void attrib_params_default(struct attrib_params *p)
{
	memset(p, 0, sizeof(*p));
	p->tech_mode = ATTRIB_TECH_JOINT;
	p->regressors = ATTRIB_REG_ALL;
	p->robust_iterations = 3;
	p->huber_k = 1.345;
	p->tukey_c = 0;
	p->ridge = 1e-10;
	p->metered_segments = 7;
	p->z_method = ATTRIB_Z_ACTIVE_SET;
	p->reversed_screen_z = ATTRIB_REVERSED_SCREEN_Z;
	p->reversed_confirm_z = ATTRIB_REVERSED_CONFIRM_Z;
}

/* ---- the workspace ---- */

struct attrib_ws *attrib_ws_new(uint32_t max_customers, uint32_t max_intervals,
                                uint32_t max_segments)
{
	if (max_customers == 0 || max_intervals == 0 || max_segments == 0 ||
	    max_segments > ATTRIB_SEGMENTS_MAX)
		return NULL;
	/* per customer: the metered segments, shortfall and silent; and the day-reversed
	 * segments of at most ATTRIB_REVERSED_MAX customers */
	uint64_t reversed = max_customers < ATTRIB_REVERSED_MAX ? max_customers : ATTRIB_REVERSED_MAX;
	uint64_t cols = TECH_COLUMNS + (uint64_t)(max_segments + 2) * max_customers +
	                (uint64_t)max_segments * reversed;
	if (cols > UINT32_MAX || cols * cols > SIZE_MAX / sizeof(double) ||
	    cols * max_intervals > SIZE_MAX / sizeof(double))
		return NULL;
	struct attrib_ws *ws = xcalloc(1, sizeof(*ws));
	size_t rows = max_intervals;
	ws->max_customers = max_customers;
	ws->max_intervals = max_intervals;
	ws->max_segments = max_segments;
	ws->max_cols = (uint32_t)cols;
	ws->x = xmalloc((size_t)cols * rows * sizeof(double));
	ws->y = xmalloc(rows * sizeof(double));
	ws->gross = xmalloc(rows * sizeof(double));
	ws->feeder = xmalloc(rows * sizeof(double));
	ws->w = xmalloc(rows * sizeof(double));
	ws->r = xmalloc(rows * sizeof(double));
	ws->scratch = xmalloc(rows * sizeof(double));
	ws->row_t = xmalloc(rows * sizeof(uint32_t));
	ws->gram = xmalloc((size_t)cols * cols * sizeof(double));
	ws->rhs = xmalloc((size_t)cols * sizeof(double));
	ws->scale = xmalloc((size_t)cols * sizeof(double));
	ws->coef = xmalloc((size_t)cols * sizeof(double));
	ws->coef_scaled = xmalloc((size_t)cols * sizeof(double));
	ws->colsum = xmalloc((size_t)cols * sizeof(double));
	ws->cvec = xmalloc((size_t)cols * sizeof(double));
	ws->col_id = xmalloc((size_t)cols * sizeof(uint32_t));
	ws->cust_z = xmalloc((size_t)max_customers * sizeof(double));
	ws->null_z = xmalloc((size_t)max_customers * sizeof(double));
	ws->reversed_in = xmalloc(max_customers);
	ws->infl = xmalloc(rows * sizeof(double));
	ws->cq = xmalloc((size_t)cols * sizeof(double));
	ws->uq = xmalloc((size_t)cols * sizeof(double));
	ws->row_lo = xmalloc((size_t)cols * sizeof(uint32_t));
	ws->row_hi = xmalloc((size_t)cols * sizeof(uint32_t));
	attrib_nnls_init(&ws->nnls, (uint32_t)cols);
	return ws;
}

void attrib_ws_free(struct attrib_ws *ws)
{
	if (!ws)
		return;
	free(ws->x);
	free(ws->y);
	free(ws->gross);
	free(ws->feeder);
	free(ws->w);
	free(ws->r);
	free(ws->scratch);
	free(ws->row_t);
	free(ws->gram);
	free(ws->rhs);
	free(ws->scale);
	free(ws->coef);
	free(ws->coef_scaled);
	free(ws->colsum);
	free(ws->cvec);
	free(ws->col_id);
	free(ws->cust_z);
	free(ws->null_z);
	free(ws->reversed_in);
	free(ws->infl);
	free(ws->cq);
	free(ws->uq);
	free(ws->row_lo);
	free(ws->row_hi);
	attrib_nnls_free(&ws->nnls);
	free(ws);
}

size_t attrib_ws_bytes(const struct attrib_ws *ws)
{
	size_t rows = ws->max_intervals, cols = ws->max_cols;
	return sizeof(*ws) + cols * rows * sizeof(double) + 7 * rows * sizeof(double) +
	       rows * sizeof(uint32_t) + cols * cols * sizeof(double) +
	       9 * cols * sizeof(double) + 3 * cols * sizeof(uint32_t) +
	       2 * ws->max_customers * sizeof(double) + ws->max_customers +
	       attrib_nnls_bytes(&ws->nnls);
}

/* ---- input checks ---- */

/* 0 when every value of v[0 .. n) is NAN (missing) or finite and >= 0; else a message naming
 * the first bad one (array name, customer, interval) and -1. */
static int check_energies(const double *v, uint32_t customers, uint32_t n, const char *name,
                          char *errstr, size_t errstr_size)
{
	for (uint32_t i = 0; i < customers; i++)
		for (uint32_t t = 0; t < n; t++) {
			double e = v[(size_t)i * n + t];
			if (isnan(e) || (isfinite(e) && e >= 0))
				continue;
			if (customers == 1 && strcmp(name, "feeder_kwh") == 0)
				snprintf(errstr, errstr_size, "attrib: %s[%u] = %g: energy must be finite "
				         "and >= 0 (NAN for missing)", name, t, e);
			else
				snprintf(errstr, errstr_size, "attrib: %s[customer %u, interval %u] = %g: "
				         "energy must be finite and >= 0 (NAN for missing)", name, i, t, e);
			return -1;
		}
	return 0;
}

static int check_input(const struct attrib_ws *ws, const struct attrib_area *a,
                       const struct attrib_params *p, char *errstr, size_t errstr_size)
{
	if (a->n_customers == 0 || a->n_intervals == 0 || a->interval_s <= 0 ||
	    a->interval_s > 7 * 86400 || !a->feeder_kwh || !a->metered_kwh) {
		snprintf(errstr, errstr_size, "attrib: area of %u customers x %u intervals of %d s: "
		         "needs both >= 1, 0 < interval_s <= 604800 and feeder and metered arrays",
		         a->n_customers, a->n_intervals, a->interval_s);
		return RISKD_ERR_INVALID;
	}
	if (a->n_customers > ws->max_customers || a->n_intervals > ws->max_intervals ||
	    p->metered_segments > ws->max_segments) {
		snprintf(errstr, errstr_size, "attrib: area of %u customers x %u intervals in %u "
		         "segments exceeds the workspace (%u x %u in %u)", a->n_customers,
		         a->n_intervals, p->metered_segments, ws->max_customers, ws->max_intervals,
		         ws->max_segments);
		return RISKD_ERR_RANGE;
	}
	if (p->tech_mode != ATTRIB_TECH_JOINT && p->tech_mode != ATTRIB_TECH_FIXED) {
		snprintf(errstr, errstr_size, "attrib: tech_mode %d is not joint (0) or fixed (1)",
		         (int)p->tech_mode);
		return RISKD_ERR_INVALID;
	}
	if ((p->regressors & ~ATTRIB_REG_ALL) || p->metered_segments == 0 ||
	    p->robust_iterations < 0 ||
	    p->robust_iterations > 20 || !(p->huber_k > 0) || !isfinite(p->huber_k) ||
	    !(p->tukey_c >= 0) || !isfinite(p->tukey_c) ||
	    !(p->ridge >= 0) || !(p->ridge < 1) ||
	    (p->z_method != ATTRIB_Z_ACTIVE_SET && p->z_method != ATTRIB_Z_CALIBRATED) ||
	    !(p->reversed_screen_z >= 0) || !isfinite(p->reversed_screen_z) ||
	    !(p->reversed_confirm_z >= 0) || !isfinite(p->reversed_confirm_z)) {
		snprintf(errstr, errstr_size, "attrib: params out of range (regressors 0x%x <= 0x7, "
		         "metered_segments %u >= 1, robust_iterations %d in 0..20, huber_k %g > 0, "
		         "ridge %g in [0, 1), z_method %d 0 or 1, reversed_screen_z %g and "
		         "reversed_confirm_z %g finite >= 0)", p->regressors, p->metered_segments,
		         p->robust_iterations, p->huber_k, p->ridge, (int)p->z_method,
		         p->reversed_screen_z, p->reversed_confirm_z);
		return RISKD_ERR_INVALID;
	}
	if (p->tech_mode == ATTRIB_TECH_FIXED &&
	    !(isfinite(p->tech.noload_kw) && isfinite(p->tech.load_per_kw))) {
		snprintf(errstr, errstr_size, "attrib: fixed technical loss (%g kW, %g /kW) must be "
		         "finite", p->tech.noload_kw, p->tech.load_per_kw);
		return RISKD_ERR_INVALID;
	}
	if (check_energies(a->feeder_kwh, 1, a->n_intervals, "feeder_kwh", errstr, errstr_size) ||
	    check_energies(a->metered_kwh, a->n_customers, a->n_intervals, "metered_kwh", errstr,
	                   errstr_size) ||
	    (a->baseline_kwh && check_energies(a->baseline_kwh, a->n_customers, a->n_intervals,
	                                       "baseline_kwh", errstr, errstr_size)))
		return RISKD_ERR_INVALID;
	return 0;
}

/* ---- the columns ---- */

/* Picks the rows (intervals with a transformer reading) and their gross loss. Returns the
 * number of rows. */
static uint32_t collect_rows(struct attrib_ws *ws, const struct attrib_area *a)
{
	uint32_t rows = 0, T = a->n_intervals;
	for (uint32_t t = 0; t < T; t++) {
		if (isnan(a->feeder_kwh[t]))
			continue;
		double customers = 0;
		for (uint32_t i = 0; i < a->n_customers; i++) {
			double m = a->metered_kwh[(size_t)i * T + t];
			customers += isnan(m) ? 0 : m;
		}
		ws->row_t[rows] = t;
		ws->feeder[rows] = a->feeder_kwh[t];
		ws->gross[rows] = a->feeder_kwh[t] - customers;
		rows++;
	}
	return rows;
}

/* The regressor of a customer's column slot: the metered segments, shortfall, silent. */
static int slot_regressor(const struct attrib_ws *ws, uint32_t slot)
{
	return slot < ws->segments       ? ATTRIB_REG_METERED
	       : slot == ws->segments    ? ATTRIB_REG_SHORTFALL
	                                 : ATTRIB_REG_SILENT;
}

/* The value of a customer's regressor in interval t. */
static double regressor_value(const struct attrib_area *a, uint32_t i, int reg, uint32_t t)
{
	size_t at = (size_t)i * a->n_intervals + t;
	double m = a->metered_kwh[at];
	double b = a->baseline_kwh ? a->baseline_kwh[at] : NAN;
	switch (reg) {
	case ATTRIB_REG_METERED: return isnan(m) ? 0 : m;
	case ATTRIB_REG_SHORTFALL: return !isnan(m) && !isnan(b) && b > m ? b - m : 0;
	default: return isnan(m) && !isnan(b) ? b : 0;
	}
}

/* Intervals of a day when interval_s divides one into 2 or more, else 0 (no day-reversed
 * regressor). */
static uint32_t day_intervals(const struct attrib_area *a)
{
	return a->interval_s < DAY_S && DAY_S % a->interval_s == 0
	       ? (uint32_t)(DAY_S / a->interval_s) : 0;
}

/* Customer i's day-reversed regressor in interval t of a day of S intervals: its reading of
 * the day's mirrored interval less its reading of t (0 when either is missing or the mirror
 * lies past the window). */
static double reversed_value(const struct attrib_area *a, uint32_t i, uint32_t S, uint32_t t)
{
	uint32_t mirror = t / S * S + (S - 1 - t % S);
	if (mirror >= a->n_intervals)
		return 0;
	const double *m = a->metered_kwh + (size_t)i * a->n_intervals;
	return isnan(m[t]) || isnan(m[mirror]) ? 0 : m[mirror] - m[t];
}

/* Keeps the column just written at slot n_live as model column id, unless it is zero over
 * every row (a customer without that regressor). */
static void keep_column(struct attrib_ws *ws, uint32_t id, uint32_t rows)
{
	const double *col = ws->x + (size_t)ws->n_live * ws->max_intervals;
	double sum = 0, sumsq = 0;
	uint32_t lo = rows, hi = 0;
	for (uint32_t k = 0; k < rows; k++) {
		sum += col[k];
		sumsq += col[k] * col[k];
		if (col[k] != 0) {
			lo = lo < k ? lo : k;
			hi = k + 1;
		}
	}
	if (!(sumsq > 0))
		return;
	ws->row_lo[ws->n_live] = lo;
	ws->row_hi[ws->n_live] = hi;
	ws->colsum[ws->n_live] = sum;
	ws->col_id[ws->n_live] = id;
	ws->n_live++;
}

/* Lays out the live columns and the loss y they explain: the gross loss, less the given
 * technical loss in ATTRIB_TECH_FIXED. */
static void build_columns(struct attrib_ws *ws, const struct attrib_area *a,
                          const struct attrib_params *p, uint32_t rows)
{
	double dt_h = a->interval_s / 3600.0;
	int joint = p->tech_mode == ATTRIB_TECH_JOINT;
	ws->n_live = 0;
	for (uint32_t k = 0; k < rows; k++) {
		double load = ws->feeder[k] * ws->feeder[k] / dt_h;
		ws->y[k] = ws->gross[k];
		if (!joint)
			ws->y[k] -= p->tech.noload_kw * dt_h + p->tech.load_per_kw * load;
	}
	for (uint32_t tech = 0; joint && tech < TECH_COLUMNS; tech++) {
		double *col = ws->x + (size_t)ws->n_live * ws->max_intervals;
		for (uint32_t k = 0; k < rows; k++)
			col[k] = tech == TECH_NOLOAD ? dt_h : ws->feeder[k] * ws->feeder[k] / dt_h;
		keep_column(ws, tech, rows);
	}
	for (uint32_t i = 0; i < a->n_customers; i++)
		for (uint32_t slot = 0; slot < ws->stride; slot++) {
			int reg = slot_regressor(ws, slot);
			if (!(p->regressors & ATTRIB_REG_BIT(reg)))
				continue;
			double *col = ws->x + (size_t)ws->n_live * ws->max_intervals;
			for (uint32_t k = 0; k < rows; k++) {
				uint32_t t = ws->row_t[k];
				int in_segment = reg != ATTRIB_REG_METERED ||
				                 (uint64_t)t * ws->segments / a->n_intervals == slot;
				col[k] = in_segment ? regressor_value(a, i, reg, t) : 0;
			}
			keep_column(ws, TECH_COLUMNS + ws->stride * i + slot, rows);
		}
}

/* ---- the fit ---- */

/* The weighted Gram matrix of the live columns, scaled to unit diagonal, and x'Wy likewise;
 * each product runs over the rows where both columns can be non-zero (a metered segment
 * meets the other segments nowhere). Returns the weighted norm of y. */
static double build_gram(struct attrib_ws *ws, uint32_t rows)
{
	uint32_t n = ws->n_live;
	size_t ld = ws->max_intervals;
	double ynorm = 0;
	for (uint32_t k = 0; k < rows; k++)
		ynorm += ws->w[k] * ws->y[k] * ws->y[k];
	for (uint32_t j = 0; j < n; j++) {
		const double *xj = ws->x + j * ld;
		uint32_t lo = ws->row_lo[j], hi = ws->row_hi[j];
		double h = 0;
		for (uint32_t k = lo; k < hi; k++) {
			ws->scratch[k] = ws->w[k] * xj[k];
			h += ws->scratch[k] * ws->y[k];
		}
		ws->rhs[j] = h;
		for (uint32_t l = j; l < n; l++) {
			const double *xl = ws->x + l * ld;
			uint32_t from = lo > ws->row_lo[l] ? lo : ws->row_lo[l];
			uint32_t to = hi < ws->row_hi[l] ? hi : ws->row_hi[l];
			double g = 0;
			for (uint32_t k = from; k < to; k++)
				g += ws->scratch[k] * xl[k];
			ws->gram[(size_t)j * n + l] = g;
		}
	}
	for (uint32_t j = 0; j < n; j++)
		ws->scale[j] = sqrt(ws->gram[(size_t)j * n + j]);
	for (uint32_t j = 0; j < n; j++) {
		ws->rhs[j] /= ws->scale[j];
		for (uint32_t l = j; l < n; l++) {
			double g = l == j ? 1.0 : ws->gram[(size_t)j * n + l] / (ws->scale[j] * ws->scale[l]);
			ws->gram[(size_t)j * n + l] = g;
			ws->gram[(size_t)l * n + j] = g;
		}
	}
	return sqrt(ynorm);
}

/* r = y - X coef over the rows, through the passive columns only. */
static void residuals(struct attrib_ws *ws, uint32_t rows)
{
	memcpy(ws->r, ws->y, rows * sizeof(double));
	for (uint32_t k = 0; k < ws->nnls.n_passive; k++) {
		uint32_t j = ws->nnls.passive[k];
		const double *xj = ws->x + (size_t)j * ws->max_intervals;
		double c = ws->coef[j];
		for (uint32_t t = ws->row_lo[j]; t < ws->row_hi[j]; t++)
			ws->r[t] -= c * xj[t];
	}
}

/* Robust weights from the residuals, by their distance from the median in robust sd: Huber's
 * (1 within huber_k, falling as 1/|r| beyond) or, with tukey_c > 0, Tukey's biweight
 * ((1 - (r / tukey_c)^2)^2 within tukey_c, ROBUST_WEIGHT_MIN beyond: a glitch stops counting).
 * Returns 0, or -1 when the residuals have no spread beyond rounding (an exact fit: nothing
 * to re-weight). */
static int robust_weights(struct attrib_ws *ws, uint32_t rows, double huber_k, double tukey_c,
                          double y_rms)
{
	memcpy(ws->scratch, ws->r, rows * sizeof(double));
	double med, sd = attrib_robust_sd(ws->scratch, rows, &med);
	if (!(sd > EXACT_FIT * y_rms))
		return -1;
	for (uint32_t t = 0; t < rows; t++) {
		double dev = fabs(ws->r[t] - med) / sd;
		if (tukey_c > 0) {
			double u = dev / tukey_c;
			ws->w[t] = u < 1 ? fmax(ROBUST_WEIGHT_MIN, (1 - u * u) * (1 - u * u))
			                 : ROBUST_WEIGHT_MIN;
		} else {
			ws->w[t] = dev <= huber_k ? 1.0 : huber_k / dev;
		}
	}
	return 0;
}

/* Fits the live columns with Huber re-weighting; leaves coef, the residuals r, the final
 * weights and the passive set's factor. Returns the active-set steps. */
static uint32_t fit_columns(struct attrib_ws *ws, const struct attrib_params *p, uint32_t rows)
{
	uint32_t steps = 0;
	for (uint32_t t = 0; t < rows; t++)
		ws->w[t] = 1.0;
	for (int it = 0;; it++) {
		double ynorm = build_gram(ws, rows);
		steps += attrib_nnls_solve(&ws->nnls, ws->gram, ws->rhs, ws->n_live, p->ridge,
		                           GRAD_TOL * ynorm, ws->coef_scaled);
		for (uint32_t j = 0; j < ws->n_live; j++)
			ws->coef[j] = ws->coef_scaled[j] / ws->scale[j];
		residuals(ws, rows);
		/* Huber first (a convex start), then the biweight from the Huber fit's residuals */
		if (it == p->robust_iterations ||
		    robust_weights(ws, rows, p->huber_k, it > 0 ? p->tukey_c : 0,
		                   ynorm / sqrt(rows)) != 0)
			return steps;
	}
}

/* ---- results ---- */

static void zero_results(const struct attrib_area *a, struct attrib_area_result *res,
                         struct attrib_customer *out)
{
	memset(res, 0, sizeof(*res));
	res->resolution_s = a->interval_s;
	memset(out, 0, (size_t)a->n_customers * sizeof(*out));
	for (uint32_t i = 0; i < a->n_customers; i++)
		out[i].carrier = ATTRIB_REG_NONE;
}

/* The technical loss used and the non-technical loss series' figures. */
static void area_results(struct attrib_ws *ws, const struct attrib_area *a,
                         const struct attrib_params *p, uint32_t rows,
                         struct attrib_area_result *res)
{
	double dt_h = a->interval_s / 3600.0;
	if (p->tech_mode == ATTRIB_TECH_FIXED) {
		res->tech = p->tech;
	} else {
		res->tech.points = rows;
		for (uint32_t j = 0; j < ws->n_live; j++) {
			if (ws->col_id[j] == TECH_NOLOAD)
				res->tech.noload_kw = ws->coef[j];
			else if (ws->col_id[j] == TECH_LOAD)
				res->tech.load_per_kw = ws->coef[j];
		}
	}
	double sum = 0, sumsq = 0, rss = 0, tech_sum = 0;
	for (uint32_t k = 0; k < rows; k++) {
		double tech = res->tech.noload_kw * dt_h +
		              res->tech.load_per_kw * ws->feeder[k] * ws->feeder[k] / dt_h;
		double ntl = ws->gross[k] - tech;
		tech_sum += tech;
		sum += ntl;
		sumsq += ntl * ntl;
		rss += ws->r[k] * ws->r[k];
	}
	double mean = sum / rows;
	double tss = sumsq - sum * mean;
	res->technical_kwh = tech_sum;
	res->ntl_kwh = sum;
	res->residual_mean = mean;
	res->residual_sd = tss > 0 ? sqrt(tss / (rows - 1)) : 0;
	uint32_t np = ws->nnls.n_passive;
	res->noise_sd = rows > np ? sqrt(rss / (rows - np)) : 0;
	double tiny = 1e-24 * (sumsq + 1e-300);
	if (tss > tiny)
		res->fit_r2 = fmax(0.0, fmin(1.0, 1.0 - rss / tss));
	else
		res->fit_r2 = rss <= tiny ? 1.0 : 0.0;
	res->columns_active = np;
	res->status = rows > np ? ATTRIB_OK : ATTRIB_NO_DOF;
}

/* Standard error of customer i's stolen energy: sigma * sqrt(c' G_PP^-1 c) with c its
 * columns' sums (scaled) over the passive set. */
static double stolen_se(struct attrib_ws *ws, uint32_t i, double sigma2)
{
	int any = 0;
	for (uint32_t k = 0; k < ws->nnls.n_passive; k++) {
		uint32_t j = ws->nnls.passive[k], id = ws->col_id[j];
		int mine = id >= TECH_COLUMNS && id < ws->reversed_base &&
		           (id - TECH_COLUMNS) / ws->stride == i;
		ws->cvec[k] = mine ? ws->colsum[j] / ws->scale[j] : 0;
		any |= mine;
	}
	if (!any)
		return 0;
	double q = attrib_nnls_quad(&ws->nnls, ws->cvec);
	return q > 0 ? sqrt(sigma2 * q) : 0;
}

/* sigma^2 of the fit: the weighted residuals' variance per degree of freedom; with ar1 (the
 * active-set z) inflated by (1 + rho) / (1 - rho) for their lag-1 autocorrelation rho (what
 * the fit leaves follows the day's load shape for hours, and the errors of sums over such
 * intervals add up as an AR(1) series' do). */
static double residual_sigma2(const struct attrib_ws *ws, uint32_t rows, int ar1)
{
	double rss_w = 0, lag = 0;
	for (uint32_t k = 0; k < rows; k++) {
		rss_w += ws->w[k] * ws->r[k] * ws->r[k];
		if (k > 0)
			lag += sqrt(ws->w[k] * ws->w[k - 1]) * ws->r[k] * ws->r[k - 1];
	}
	uint32_t np = ws->nnls.n_passive;
	double sigma2 = rows > np ? rss_w / (rows - np) : 0;
	double rho = ar1 && rss_w > 0 ? fmin(AUTOCORR_MAX, fmax(0.0, lag / rss_w)) : 0;
	return sigma2 * ((1 + rho) / (1 - rho));
}

/*
 * The standard error of customer i's stolen energy (its live columns [j0, j1)) over the
 * residual's day blocks. On the passive set the fit is least squares, so the stolen energy
 * is sum_t infl_t y_t with infl = W X_P G_PP^-1 c (c its columns' sums); its variance is
 * estimated by the sum over the days of (sum_t infl_t r_t)^2, times blocks / (blocks - 1):
 * what the fit leaves follows the day's load for hours, so the days, not the intervals, are
 * the independent units. Never below the active set's model error sigma2 c' G_PP^-1 c (a
 * window whose residual happens to cancel within days does not make a customer surer than
 * the iid error would). Returns the error,
 * or NAN when none of its columns is passive or the error is 0.
 */
static double day_block_se(struct attrib_ws *ws, const struct attrib_area *a, uint32_t rows,
                           double sigma2, uint32_t j0, uint32_t j1)
{
	const struct attrib_nnls *s = &ws->nnls;
	uint32_t m = s->n_passive;
	int any = 0;
	for (uint32_t k = 0; k < m; k++) {
		uint32_t j = s->passive[k];
		int mine = j >= j0 && j < j1;
		ws->cq[k] = mine ? ws->colsum[j] / ws->scale[j] : 0;
		any |= mine;
	}
	if (!any)
		return NAN;
	attrib_nnls_factor_solve(s, m, ws->cq, ws->uq);
	double model_var = 0;
	memset(ws->infl, 0, rows * sizeof(double));
	for (uint32_t k = 0; k < m; k++) {
		uint32_t j = s->passive[k];
		const double *xj = ws->x + (size_t)j * ws->max_intervals;
		double du = ws->uq[k] / ws->scale[j];
		model_var += ws->uq[k] * ws->cq[k];
		for (uint32_t t = ws->row_lo[j]; t < ws->row_hi[j]; t++)
			ws->infl[t] += du * xj[t];
	}
	double var = 0, block = 0;
	uint32_t blocks = 0;
	uint64_t day = UINT64_MAX;
	for (uint32_t t = 0; t < rows; t++) {
		uint64_t d = (uint64_t)ws->row_t[t] * (uint64_t)a->interval_s / DAY_S;
		if (d != day) {
			var += block * block;
			block = 0;
			blocks++;
			day = d;
		}
		block += ws->w[t] * ws->infl[t] * ws->r[t];
	}
	var += block * block;
	if (blocks > 1)
		var *= (double)blocks / (blocks - 1);
	var = fmax(var, sigma2 * model_var);
	return var > 0 ? sqrt(var) : NAN;
}

/*
 * ATTRIB_Z_CALIBRATED: each attributed customer's stolen energy over its day-block error
 * (day_block_se), then the area's own null: most of the customers an area-window attributes
 * something to steal nothing (a little of the loss on their load, by chance or by a loss the
 * technical model does not hold), so the median and the robust sd of their z say where an
 * honest customer's z lies in this area-window; with at least NULL_MIN_CUSTOMERS of them each
 * z is centred on that median and divided by that sd when it is above 1. z is at least 0,
 * and 0 for a customer the NNLS attributes nothing to.
 */
static void calibrated_z(struct attrib_ws *ws, const struct attrib_area *a, uint32_t rows,
                         double sigma2, struct attrib_customer *out)
{
	uint32_t n_z = 0;
	for (uint32_t i = 0; i < a->n_customers; i++)
		ws->cust_z[i] = NAN;
	for (uint32_t j0 = 0; j0 < ws->n_live && ws->col_id[j0] < ws->reversed_base;) {
		if (ws->col_id[j0] < TECH_COLUMNS) {
			j0++;
			continue;
		}
		uint32_t i = (ws->col_id[j0] - TECH_COLUMNS) / ws->stride, j1 = j0 + 1;
		while (j1 < ws->n_live && (ws->col_id[j1] - TECH_COLUMNS) / ws->stride == i)
			j1++;
		double se = day_block_se(ws, a, rows, sigma2, j0, j1);
		if (!isnan(se) && out[i].stolen_kwh > 0) {
			ws->cust_z[i] = out[i].stolen_kwh / se;
			ws->null_z[n_z++] = ws->cust_z[i];
			out[i].se_kwh = se;
		}
		j0 = j1;
	}
	double centre = 0, spread = 1;
	if (n_z >= NULL_MIN_CUSTOMERS)
		spread = fmax(1.0, attrib_robust_sd(ws->null_z, n_z, &centre));
	for (uint32_t i = 0; i < a->n_customers; i++) {
		struct attrib_customer *c = &out[i];
		if (!(c->stolen_kwh > 0) || isnan(ws->cust_z[i])) {
			c->z = 0;
			c->se_kwh = 0;
			continue;
		}
		c->z = fmin(Z_MAX, fmax(0.0, (ws->cust_z[i] - centre) / spread));
		c->se_kwh *= spread;
	}
}

static void customer_results(struct attrib_ws *ws, const struct attrib_area *a,
                             const struct attrib_params *p, uint32_t rows,
                             const struct attrib_area_result *res, struct attrib_customer *out)
{
	for (uint32_t j = 0; j < ws->n_live; j++) {
		uint32_t id = ws->col_id[j];
		if (id < TECH_COLUMNS || id >= ws->reversed_base)
			continue;
		struct attrib_customer *c = &out[(id - TECH_COLUMNS) / ws->stride];
		int reg = slot_regressor(ws, (id - TECH_COLUMNS) % ws->stride);
		c->kwh_by[reg] += ws->coef[j] * ws->colsum[j];
		/* the metered coefficient is the segments' mean over the metered energy: sum
		   the energy here, divide below */
		c->coef[reg] = reg == ATTRIB_REG_METERED ? c->coef[reg] + ws->colsum[j] : ws->coef[j];
	}
	double y_sq = 0;
	for (uint32_t k = 0; k < rows; k++)
		y_sq += ws->y[k] * ws->y[k];
	/* an exact fit keeps the active set's z (Z_MAX): its residuals are rounding */
	int calibrated = p->z_method == ATTRIB_Z_CALIBRATED && res->status == ATTRIB_OK &&
	                 res->noise_sd > EXACT_FIT * sqrt(y_sq / rows);
	double sigma2 = residual_sigma2(ws, rows, !calibrated);
	double days = rows * (double)a->interval_s / 86400.0;
	for (uint32_t i = 0; i < a->n_customers; i++) {
		struct attrib_customer *c = &out[i];
		double metered = c->coef[ATTRIB_REG_METERED], best = 0;
		c->coef[ATTRIB_REG_METERED] = metered > 0 ? c->kwh_by[ATTRIB_REG_METERED] / metered : 0;
		for (int reg = 0; reg < ATTRIB_REG__COUNT; reg++) {
			c->stolen_kwh += c->kwh_by[reg];
			if (c->kwh_by[reg] > best) {
				best = c->kwh_by[reg];
				c->carrier = reg;
			}
		}
		if (!(c->stolen_kwh > 0))
			continue;
		c->stolen_kwh_day = c->stolen_kwh / days;
		c->share = res->ntl_kwh > 0 ? c->stolen_kwh / res->ntl_kwh : 0;
		if (res->status != ATTRIB_OK || calibrated)
			continue;
		c->se_kwh = sigma2 > 0 ? stolen_se(ws, i, sigma2) : 0;
		c->z = c->stolen_kwh / fmax(c->se_kwh, c->stolen_kwh / Z_MAX);
	}
	if (calibrated)
		calibrated_z(ws, a, rows, sigma2, out);
}

/* The score test of adding customer i's day-reversed regressor (over the whole window) to
 * the fit: x'W r over its standard error sigma sqrt(x'W x - g' G_PP^-1 g), with g its scaled
 * products with the passive columns (what the fit would still have to give up to take it).
 * Uses the free column slot n_live and scratch. Returns the z, or NAN when the regressor is
 * 0 or points against the residual. */
static double reversed_score(struct attrib_ws *ws, const struct attrib_area *a, uint32_t S,
                             uint32_t i, uint32_t rows, double sigma2)
{
	double *col = ws->x + (size_t)ws->n_live * ws->max_intervals;
	double xr = 0, xx = 0;
	for (uint32_t k = 0; k < rows; k++) {
		col[k] = reversed_value(a, i, S, ws->row_t[k]);
		ws->scratch[k] = ws->w[k] * col[k];
		xr += ws->scratch[k] * ws->r[k];
		xx += ws->scratch[k] * col[k];
	}
	if (!(xx > 0) || !(xr > 0))
		return NAN;
	uint32_t m = ws->nnls.n_passive;
	for (uint32_t k = 0; k < m; k++) {
		uint32_t j = ws->nnls.passive[k];
		const double *xj = ws->x + (size_t)j * ws->max_intervals;
		double g = 0;
		for (uint32_t t = ws->row_lo[j]; t < ws->row_hi[j]; t++)
			g += ws->scratch[t] * xj[t];
		ws->cvec[k] = g / ws->scale[j];
	}
	/* what the passive columns cannot explain of it; at least a millionth of it */
	double free = fmax(xx - attrib_nnls_quad(&ws->nnls, ws->cvec), 1e-6 * xx);
	return xr / sqrt(sigma2 * free);
}

/*
 * Screens the day-reversed regressor of each customer not in the fit yet against what the
 * last fit left (reversed_score, sigma^2 the fit's, inflated for the residual's
 * autocorrelation). The customers that reach p->reversed_screen_z join, the highest z first
 * while fewer than ATTRIB_REVERSED_MAX have: their regressor cut into the metered segments of
 * the window (a meter reversed from a day inside the window is followed, as a fraction is),
 * as live columns after every other. Returns how many joined.
 */
static uint32_t screen_reversed(struct attrib_ws *ws, const struct attrib_area *a,
                                const struct attrib_params *p, uint32_t rows)
{
	uint32_t S = day_intervals(a), joined = 0;
	if (S == 0 || !(p->reversed_screen_z > 0) || ws->reversed_joined >= ATTRIB_REVERSED_MAX)
		return 0;
	double sigma2 = residual_sigma2(ws, rows, 1), y_sq = 0;
	for (uint32_t k = 0; k < rows; k++)
		y_sq += ws->y[k] * ws->y[k];
	/* nothing to screen after an exact fit: its residual is rounding */
	if (!(sqrt(sigma2) > EXACT_FIT * sqrt(y_sq / rows)))
		return 0;
	for (uint32_t i = 0; i < a->n_customers; i++)
		ws->cust_z[i] = ws->reversed_in[i] ? NAN : reversed_score(ws, a, S, i, rows, sigma2);
	while (ws->reversed_joined < ATTRIB_REVERSED_MAX) {
		uint32_t best = UINT32_MAX;
		for (uint32_t i = 0; i < a->n_customers; i++)
			if (ws->cust_z[i] >= p->reversed_screen_z &&
			    (best == UINT32_MAX || ws->cust_z[i] > ws->cust_z[best]))
				best = i;
		if (best == UINT32_MAX)
			break;
		ws->cust_z[best] = NAN;
		ws->reversed_in[best] = 1;
		ws->reversed_joined++;
		joined++;
		for (uint32_t seg = 0; seg < ws->segments; seg++) {
			double *col = ws->x + (size_t)ws->n_live * ws->max_intervals;
			for (uint32_t k = 0; k < rows; k++) {
				uint32_t t = ws->row_t[k];
				col[k] = (uint64_t)t * ws->segments / a->n_intervals == seg
				         ? reversed_value(a, best, S, t) : 0;
			}
			keep_column(ws, ws->reversed_base + ATTRIB_SEGMENTS_MAX * best + seg, rows);
		}
	}
	return joined;
}

/* The positive part of live column j over the rows: the energy a day-reversed segment moves
 * at coefficient 1. */
static double positive_sum(const struct attrib_ws *ws, uint32_t j)
{
	const double *xj = ws->x + (size_t)j * ws->max_intervals;
	double sum = 0;
	for (uint32_t t = ws->row_lo[j]; t < ws->row_hi[j]; t++)
		sum += xj[t] > 0 ? xj[t] : 0;
	return sum;
}

/*
 * The day-reversed outputs of the customers whose regressor joined the fit: the energy moved
 * (each segment's coefficient times its positive part), the coefficient as the segments'
 * mean over what they would move at 1 (the share of the window's days reversed, for a meter
 * reversed from a day inside it), and z = the energy moved over its standard error from the
 * active set (sigma^2 autocorrelation-inflated, as the default z).
 */
static void reversed_results(struct attrib_ws *ws, uint32_t rows,
                             const struct attrib_area_result *res, struct attrib_customer *out)
{
	const struct attrib_nnls *s = &ws->nnls;
	double sigma2 = res->status == ATTRIB_OK ? residual_sigma2(ws, rows, 1) : 0;
	for (uint32_t j0 = 0; j0 < ws->n_live;) {
		if (ws->col_id[j0] < ws->reversed_base) {
			j0++;
			continue;
		}
		uint32_t i = (ws->col_id[j0] - ws->reversed_base) / ATTRIB_SEGMENTS_MAX, j1 = j0;
		double moved = 0, possible = 0;
		for (; j1 < ws->n_live &&
		       (ws->col_id[j1] - ws->reversed_base) / ATTRIB_SEGMENTS_MAX == i; j1++) {
			double pos = positive_sum(ws, j1);
			moved += ws->coef[j1] * pos;
			possible += pos;
		}
		struct attrib_customer *c = &out[i];
		c->reversed_kwh = moved;
		c->reversed_coef = possible > 0 ? moved / possible : 0;
		if (res->status == ATTRIB_OK && moved > 0) {
			for (uint32_t k = 0; k < s->n_passive; k++) {
				uint32_t j = s->passive[k];
				ws->cvec[k] = j >= j0 && j < j1 ? positive_sum(ws, j) / ws->scale[j] : 0;
			}
			double q = sigma2 > 0 ? attrib_nnls_quad(&ws->nnls, ws->cvec) : 0;
			double se = q > 0 ? sqrt(sigma2 * q) : 0;
			/* an exact fit (no error left) gets Z_MAX, as the stolen energy's z */
			c->reversed_z = moved / fmax(se, moved / Z_MAX);
		}
		j0 = j1;
	}
}

/* 1 when a customer whose day-reversed regressor joined the fit reaches
 * p->reversed_confirm_z, else 0 (the screen let in only chance mirrors: the first fit
 * stands). */
static int reversed_confirmed(const struct attrib_area *a, const struct attrib_params *p,
                              const struct attrib_customer *out)
{
	for (uint32_t i = 0; i < a->n_customers; i++)
		if (out[i].reversed_z >= p->reversed_confirm_z)
			return 1;
	return 0;
}

int attrib_solve(struct attrib_ws *ws, const struct attrib_area *area,
                 const struct attrib_params *p, struct attrib_area_result *res,
                 struct attrib_customer *out, char *errstr, size_t errstr_size)
{
	struct attrib_params defaults;
	if (!p) {
		attrib_params_default(&defaults);
		p = &defaults;
	}
	int err = check_input(ws, area, p, errstr, errstr_size);
	if (err)
		return err;
	zero_results(area, res, out);
	ws->segments = p->metered_segments;
	ws->stride = p->metered_segments + 2;
	ws->reversed_base = TECH_COLUMNS + ws->stride * area->n_customers;
	uint32_t rows = collect_rows(ws, area);
	res->rows = rows;
	if (rows < MIN_ROWS) {
		res->status = ATTRIB_TOO_FEW_ROWS;
		if (p->tech_mode == ATTRIB_TECH_FIXED)
			res->tech = p->tech;
		return 0;
	}
	build_columns(ws, area, p, rows);
	uint32_t first_live = ws->n_live;
	res->iterations = fit_columns(ws, p, rows);
	/* a meter reversed beside a louder one passes once the louder one is in the fit */
	memset(ws->reversed_in, 0, area->n_customers);
	ws->reversed_joined = 0;
	for (int round = 0; round < REVERSED_ROUNDS && screen_reversed(ws, area, p, rows) > 0;
	     round++)
		res->iterations += fit_columns(ws, p, rows);
	area_results(ws, area, p, rows, res);
	if (ws->reversed_joined > 0) {
		reversed_results(ws, rows, res, out);
		if (!reversed_confirmed(area, p, out)) {
			/* the first fit again, bit for bit: the same columns, weights and order */
			for (uint32_t i = 0; i < area->n_customers; i++)
				out[i].reversed_coef = out[i].reversed_z = out[i].reversed_kwh = 0;
			ws->n_live = first_live;
			ws->reversed_joined = 0;
			res->iterations = fit_columns(ws, p, rows);
			area_results(ws, area, p, rows, res);
		}
	}
	customer_results(ws, area, p, rows, res, out);
	return 0;
}
