/*
 * attrib_window.c - an area-window of stored sums into per-customer findings (see
 * attrib_window.h): checks the window, builds each customer's baseline from its history days
 * (attrib_baseline_profile, attrib_baseline_fill), lays the window days out as attrib_solve
 * reads them and rounds the results into findings. The solver keeps the workspace and the
 * scratch arrays of the largest area it was given, so that a run over many areas allocates
 * only when an area is larger than every one before it.
 */
#include "attrib_window.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_S 86400
#define WEEK_DAYS 7

struct attrib_window_solver {
	struct attrib_ws *ws;
	uint32_t ws_customers, ws_intervals; /* what ws was sized for */
	double *metered;                      /* [customers * intervals]: the window's days */
	double *baseline;                     /* [customers * intervals] */
	struct attrib_customer *out;          /* [customers] */
	size_t cap_cells, cap_customers;
	double profile[WEEK_DAYS * ATTRIB_HOURS];
};

struct attrib_window_solver *attrib_window_solver_new(void)
{
	return xcalloc(1, sizeof(struct attrib_window_solver));
}

void attrib_window_solver_free(struct attrib_window_solver *s)
{
	if (!s)
		return;
	attrib_ws_free(s->ws);
	free(s->metered);
	free(s->baseline);
	free(s->out);
	free(s);
}

/* Makes room for n customers over T intervals: the scratch arrays and a workspace of at
 * least the largest area seen in each dimension. */
static void solver_grow(struct attrib_window_solver *s, uint32_t n, uint32_t T,
                        uint32_t segments)
{
	size_t cells = (size_t)n * T;
	if (cells > s->cap_cells) {
		free(s->metered);
		free(s->baseline);
		s->metered = xmalloc(cells * sizeof(double));
		s->baseline = xmalloc(cells * sizeof(double));
		s->cap_cells = cells;
	}
	if (n > s->cap_customers) {
		free(s->out);
		s->out = xmalloc((size_t)n * sizeof(*s->out));
		s->cap_customers = n;
	}
	if (!s->ws || n > s->ws_customers || T > s->ws_intervals) {
		uint32_t max_n = n > s->ws_customers ? n : s->ws_customers;
		uint32_t max_t = T > s->ws_intervals ? T : s->ws_intervals;
		attrib_ws_free(s->ws);
		s->ws = attrib_ws_new(max_n, max_t, segments);
		if (!s->ws) {
			fprintf(stderr, "attrib_window: no workspace for %u customers x %u intervals\n",
			        max_n, max_t);
			abort();
		}
		s->ws_customers = max_n;
		s->ws_intervals = max_t;
	}
}

/* 0 when every value of v[0 .. n) is NAN or finite and >= 0; else a message naming the
 * first bad one (what, its customer or -1 for the transformer, its day and slot) and -1. */
static int check_sums(const struct attrib_window *w, const double *v, size_t n, long customer,
                      char *errstr, size_t errstr_size)
{
	uint32_t S = (uint32_t)w->slots_per_day;
	for (size_t k = 0; k < n; k++) {
		double e = v[k];
		if (isnan(e) || (isfinite(e) && e >= 0))
			continue;
		int32_t day = w->end_day - w->history_days - w->window_days + 1 + (int32_t)(k / S);
		if (customer < 0)
			snprintf(errstr, errstr_size, "attrib_window: transformer energy %g on day %d "
			         "slot %u: must be finite and >= 0 (NAN for no reading)", e, (int)day,
			         (unsigned)(k % S));
		else
			snprintf(errstr, errstr_size, "attrib_window: customer %ld energy %g on day %d "
			         "slot %u: must be finite and >= 0 (NAN for no reading)", customer, e,
			         (int)day, (unsigned)(k % S));
		return -1;
	}
	return 0;
}

static int check_window(const struct attrib_window *w, char *errstr, size_t errstr_size)
{
	if (w->window_days < 1 || w->window_days > 366 || w->history_days < 1 ||
	    w->history_days > 366 || (w->slots_per_day != ATTRIB_HOURS && w->slots_per_day != 1) ||
	    w->n_customers == 0 || !w->feeder_kwh || !w->metered_kwh ||
	    w->end_day < INT32_MIN + w->history_days + w->window_days) {
		snprintf(errstr, errstr_size, "attrib_window: window of %d + %d days x %d slots, %u "
		         "customers, ending day %d: needs 1..366 history and window days, 24 or 1 "
		         "slots a day, at least one customer and feeder and metered arrays",
		         (int)w->history_days, (int)w->window_days, (int)w->slots_per_day,
		         w->n_customers, (int)w->end_day);
		return RISKD_ERR_INVALID;
	}
	size_t per = (size_t)(w->history_days + w->window_days) * (size_t)w->slots_per_day;
	if (check_sums(w, w->feeder_kwh, per, -1, errstr, errstr_size))
		return RISKD_ERR_INVALID;
	for (uint32_t i = 0; i < w->n_customers; i++)
		if (check_sums(w, w->metered_kwh + (size_t)i * per, per, (long)i, errstr, errstr_size))
			return RISKD_ERR_INVALID;
	return 0;
}

/* Slot of the week (a profile index) of the first slot of local day `day`: weeks start on a
 * fixed weekday, the same for the history and the window. */
static uint32_t week_slot(int32_t day, int32_t slots_per_day)
{
	int32_t weekday = ((day % WEEK_DAYS) + WEEK_DAYS) % WEEK_DAYS;
	return (uint32_t)(weekday * slots_per_day);
}

static float to_float(double v)
{
	return isfinite(v) ? (float)v : 0.0f;
}

int attrib_window_solve(struct attrib_window_solver *s, const struct attrib_window *w,
                        struct attrib_area_result *res, struct attrib_finding *out,
                        char *errstr, size_t errstr_size)
{
	int rc = check_window(w, errstr, errstr_size);
	if (rc)
		return rc;
	struct attrib_params p;
	attrib_params_default(&p);
	uint32_t max_segments = p.metered_segments; /* one workspace serves both resolutions */
	if (w->slots_per_day == 1)
		p.metered_segments = 1;
	uint32_t S = (uint32_t)w->slots_per_day, n = w->n_customers;
	uint32_t H = (uint32_t)w->history_days * S, T = (uint32_t)w->window_days * S;
	int32_t interval_s = DAY_S / w->slots_per_day;
	int32_t first_day = w->end_day - w->history_days - w->window_days + 1;
	uint32_t history_slot = week_slot(first_day, w->slots_per_day);
	uint32_t window_slot = week_slot(first_day + w->history_days, w->slots_per_day);
	solver_grow(s, n, T, max_segments);

	for (uint32_t i = 0; i < n; i++) {
		const double *series = w->metered_kwh + (size_t)i * (H + T);
		double *baseline = s->baseline + (size_t)i * T;
		uint32_t slots = attrib_baseline_profile(series, H, interval_s, history_slot,
		                                         s->profile, WEEK_DAYS * ATTRIB_HOURS);
		attrib_baseline_fill(s->profile, slots, window_slot, T, baseline);
		memcpy(s->metered + (size_t)i * T, series + H, (size_t)T * sizeof(double));
	}
	struct attrib_area area = {
	    .n_customers = n, .n_intervals = T, .interval_s = interval_s,
	    .feeder_kwh = w->feeder_kwh + H, .metered_kwh = s->metered,
	    .baseline_kwh = s->baseline,
	};
	rc = attrib_solve(s->ws, &area, &p, res, s->out, errstr, errstr_size);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		const struct attrib_customer *c = &s->out[i];
		out[i] = (struct attrib_finding){
		    .window_end_day = w->end_day,
		    .resolution_s = interval_s,
		    .share = to_float(c->share),
		    .kwh_day = to_float(c->stolen_kwh_day),
		    .stolen_kwh = to_float(c->stolen_kwh),
		    .z = to_float(c->z),
		    .carrier = (int8_t)c->carrier,
		    .reversed_coef = to_float(c->reversed_coef),
		    .reversed_z = to_float(c->reversed_z),
		};
	}
	return 0;
}
