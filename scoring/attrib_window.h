/*
 * attrib_window.h - an area's sliding window of energy sums as riskd keeps them, and its
 * attribution (scoring/attrib.h) into the per-customer findings that the features read.
 *
 * This is the one path from stored sums to findings: the live attributor reads the window
 * from PostgreSQL's hourly and daily rows, the offline engine (detector/replay*.c) keeps it in
 * memory, and both hand the same struct attrib_window to attrib_window_solve, so the same sums
 * give the same findings, bit for bit (findings are floats: a double rounded once, here).
 *
 * A window ends with a local day (end_day) and covers history_days + window_days days: the
 * first history_days give each customer's baseline (its expected consumption per slot of the
 * week, attrib_baseline_profile), the last window_days are the rows of the fit. Slots are
 * hours of the local day (slots_per_day 24: the area's transformer reports at an hour or
 * finer, finer readings summed into their hour) or whole days (slots_per_day 1: the
 * transformer reports daily). The hour of a reading is its second of the local day / 3600,
 * at most 23 (the extra hour of a day that is 25 hours long counts in hour 23).
 *
 * Days the stored sums do not reach (before the area's first reading, a transformer that did
 * not report) are NAN: a window has its full shape from the first day on, a transformer slot
 * without a reading is left out of the fit, and a customer without readings in its history
 * days has no baseline (no shortfall or silent regressor), so early windows attribute on the
 * metered columns alone. A baseline's week starts on a fixed weekday (the local day number
 * mod 7), the same for the history days and the window days.
 *
 * Pure computation: no I/O, no clock, no globals.
 */
#ifndef RISKD_ATTRIB_WINDOW_H
#define RISKD_ATTRIB_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "attrib.h"

/* Defaults of attribution.window_days and attribution.history_days (config/config.h). */
#define ATTRIB_WINDOW_DAYS_DEFAULT 28
#define ATTRIB_HISTORY_DAYS_DEFAULT 28
/* The area's previous window, whose findings the area_attrib_prev_* features read, ends this
 * many days before its latest one (their fits share window_days - 7 days). */
#define ATTRIB_PREV_DAYS 7
/* Slots of a local day at hourly resolution. */
#define ATTRIB_HOURS 24

/* One area's window. Arrays are caller-owned and read only during attrib_window_solve. */
struct attrib_window {
	int32_t end_day;          /* local day (days since 1970-01-01) the window ends with */
	int32_t window_days;      /* W: the days of the fit */
	int32_t history_days;     /* H: the days before them that the baselines read */
	int32_t slots_per_day;    /* ATTRIB_HOURS or 1 */
	uint32_t n_customers;     /* the area's customers, in customer_id order (strcmp) */
	/* day end_day - H - W + 1 + d, slot s is at index d * slots_per_day + s */
	const double *feeder_kwh; /* [(H + W) * slots_per_day] the transformer; NAN: no reading */
	const double *metered_kwh; /* [n_customers * (H + W) * slots_per_day], customer i's
	                              slots at i * (H + W) * slots_per_day; NAN: no reading */
};

/* What the attribution found for one customer of an area-window: a row of
 * risk.area_attribution. */
struct attrib_finding {
	int32_t window_end_day;   /* the window's end_day */
	int32_t resolution_s;     /* 3600 or 86400: the slots of the balance */
	float share;              /* its share of the area's non-technical loss (attrib_customer) */
	float kwh_day;            /* stolen kWh per day of the window */
	float stolen_kwh;         /* stolen kWh over the window's rows */
	float z;                  /* stolen_kwh over its standard error (0 when the fit had no
	                             degrees of freedom left or too few transformer slots) */
	int8_t carrier;           /* enum attrib_regressor with the largest part */
	float reversed_coef;      /* the day-reversed regressor's coefficient (about 1: a meter
	                             that reports its days in reversed order; 0: not in the fit) */
	float reversed_z;         /* reversed_coef over its standard error (0: none) */
};

/* A reusable solver: the workspace and the scratch arrays of the largest area seen. */
struct attrib_window_solver;

/* Creates a solver. Its workspace and scratch arrays grow to the largest area (customers) and
 * window (slots) it is given and are reused for every later area; one solver serves one
 * thread at a time. Aborts on out-of-memory. */
struct attrib_window_solver *attrib_window_solver_new(void);

/* Frees s (NULL is fine). */
void attrib_window_solver_free(struct attrib_window_solver *s);

/*
 * Attributes the area-window w: builds each customer's baseline from its history days, solves
 * its window days (attrib_solve; hourly: the default params, daily: one metered segment) and
 * fills *res and out[0 .. w->n_customers) in the window's customer order. Returns 0 (check
 * res->status), or RISKD_ERR_INVALID with a one-line message in errstr for a window that does
 * not hold together (days or slots out of range, a negative or infinite energy).
 */
int attrib_window_solve(struct attrib_window_solver *s, const struct attrib_window *w,
                        struct attrib_area_result *res, struct attrib_finding *out,
                        char *errstr, size_t errstr_size);

#endif
