/*
 * attrib.h - joint energy-balance attribution of a transformer area's non-technical loss to
 * its customers, at the resolution of the transformer's readings (15, 30 or 60 minutes, or a
 * day).
 *
 * The model, for one area over a window of T intervals of dt hours:
 *
 *   feeder_t - sum_i metered_it = technical_t + sum_i stolen_it + noise_t
 *   technical_t = a * dt + c * feeder_t^2 / dt            (no-load part + load part)
 *   stolen_it   = b_m,i * metered_it                      (a meter recording a share 1 - k of
 *                                                          the truth: b_m = k / (1 - k))
 *               + b_s,i * max(0, baseline_it - metered_it) (a drop against the customer's own
 *                                                          expected consumption that the
 *                                                          area's loss follows: b_s about 1)
 *               + b_g,i * baseline_it over intervals the meter did not report
 *                                                          (a silent meter whose usual load
 *                                                          the area still carries: b_g about 1)
 *
 * The metered regressor is cut into equal segments of the window (7 by default), one
 * coefficient each, so that a fraction that starts or grows inside the window is followed.
 * A meter that reports its day's readings in reversed order (true_t = metered_(S-1-t) within a
 * day of S intervals: the day's total is right, its shape is not) leaves a loss that goes
 * negative at the house's reported peak and positive at its trough: the customer's day-reversed
 * regressor metered_(S-1-t) - metered_t, with a coefficient of 1 for such a meter. It sums to
 * 0 over a day, so it carries no stolen energy: it gets its own coefficient and z
 * (attrib_customer.reversed_*). To keep the fit of every area without such a meter as it is
 * and its cost, the first fit screens each customer's day-reversed regressor against what
 * the fit left; only customers that reach attrib_params.reversed_screen_z join a second fit
 * with it, which stands when one of them reaches attrib_params.reversed_confirm_z (else the
 * first fit's results stand).
 * Every coefficient is >= 0, fitted by non-negative least squares: Lawson-Hanson active set
 * on the Gram matrix of the columns scaled to unit norm, with a 1e-10 relative ridge so that
 * duplicated columns share their energy instead of failing, taken out again when the
 * columns allow (an exact construction stays exact); then re-weighted three times with
 * Huber weights so that a glitch of the transformer meter does not land on a customer. The
 * technical-loss coefficients are fitted jointly with the customers' (the default) or taken
 * from a separate robust fit over the area's history (attrib_tech_fit).
 * docs/detection.md ("Joint attribution of an area's loss") argues these choices with
 * measurements.
 *
 * A customer's stolen energy is the sum of its columns times their coefficients; its
 * confidence is z = stolen / standard error, the error from the active set's covariance
 * (sigma^2 times the inverse Gram matrix of the columns in the fit, sigma^2 inflated for the
 * residual's lag-1 autocorrelation). ATTRIB_Z_CALIBRATED takes the error over the residual's
 * day blocks instead and centres and scales z on the area's attributed customers, most of
 * whom steal nothing. An honest customer whose consumption drops gets about 0: the area's
 * loss does not move with its shortfall.
 *
 * Pure computation: no I/O, no clock, no globals; every array is caller-owned. A workspace
 * (attrib_ws_new) is sized once for the largest area and window and then reused: a solve
 * allocates nothing. One workspace serves one thread at a time. The same inputs give the same
 * outputs, bit for bit.
 */
#ifndef RISKD_ATTRIB_H
#define RISKD_ATTRIB_H

#include <stddef.h>
#include <stdint.h>

#include "../config/riskd_base.h"

/* The regressors of a customer, in the order of its columns. */
enum attrib_regressor {
	ATTRIB_REG_METERED = 0,   /* its own metered consumption */
	ATTRIB_REG_SHORTFALL = 1, /* max(0, baseline - metered) */
	ATTRIB_REG_SILENT = 2,    /* baseline over the intervals without a reading */
	ATTRIB_REG__COUNT = 3,
	ATTRIB_REG_NONE = -1      /* nothing attributed */
};

/* Most segments the metered regressor may be cut into (attrib_params.metered_segments). */
#define ATTRIB_SEGMENTS_MAX 8

/* Most customers of an area whose day-reversed regressor joins the fit (the highest screen z
 * first). */
#define ATTRIB_REVERSED_MAX 8

/* Bit of a regressor in attrib_params.regressors. */
#define ATTRIB_REG_BIT(r) (1u << (r))
#define ATTRIB_REG_ALL 0x7u

/* Returns "metered", "shortfall", "silent" or "none". Never NULL. */
const char *attrib_regressor_name(int r);

/* How the technical loss is found. */
enum attrib_tech_mode {
	ATTRIB_TECH_JOINT = 0, /* a and c are two more non-negative columns of the fit */
	ATTRIB_TECH_FIXED = 1  /* a and c come from attrib_params.tech (attrib_tech_fit) */
};

/* How attrib_tech_fit weighs the intervals. */
enum attrib_tech_method {
	ATTRIB_FIT_OLS = 0,      /* plain least squares (for comparison) */
	ATTRIB_FIT_HUBER = 1,    /* IRLS, Huber weights at 1.345 robust sd */
	ATTRIB_FIT_QUANTILE = 2  /* IRLS towards a low quantile (attrib_tech_fit's tau) */
};

/* A technical-loss model: loss_t = noload_kw * dt_h + load_per_kw * feeder_t^2 / dt_h. */
struct attrib_tech {
	double noload_kw;   /* a: no-load loss, kW */
	double load_per_kw; /* c: load loss per kW of load, 1/kW (loss/feeder = c * mean kW) */
	uint32_t points;    /* intervals the fit used */
};

/* How a customer's z is found (attrib_params.z_method). */
enum attrib_z_method {
	ATTRIB_Z_ACTIVE_SET = 0, /* the NNLS estimate over its standard error from the active
	                            set's covariance, sigma^2 iid inflated for the residual's
	                            lag-1 autocorrelation */
	ATTRIB_Z_CALIBRATED = 1  /* the NNLS estimate over a standard error from the residual's
	                            day blocks (at least the active set's iid one), then
	                            centred and scaled by the spread of those z over the area's
	                            attributed customers */
};

/* Outcome of an area-window (attrib_area_result.status). */
enum attrib_status {
	ATTRIB_OK = 0,
	ATTRIB_TOO_FEW_ROWS = 1, /* fewer than 3 intervals with a transformer reading: nothing
	                            attributed, every output 0 */
	ATTRIB_NO_DOF = 2        /* the fit used as many columns as intervals: coefficients are
	                            given, standard errors are not (every z is 0) */
};

/* One area-window, as the caller holds it. Arrays are read only during attrib_solve. */
struct attrib_area {
	uint32_t n_customers;       /* >= 1 */
	uint32_t n_intervals;       /* T, >= 1 */
	int32_t interval_s;         /* dt in seconds: 900, 1800, 3600 ... 86400; interval 0
	                               starts a day (the day-reversed regressor pairs interval
	                               t of a day with interval S - 1 - t, S = 86400 /
	                               interval_s; none when interval_s does not divide a day
	                               into 2 or more) */
	const double *feeder_kwh;   /* [T] the transformer's energy per interval; NAN: missing
	                               (the interval is left out of the fit) */
	const double *metered_kwh;  /* [n_customers * T], customer i's interval t at i * T + t;
	                               NAN: no reading (counts as 0 in the balance, and the
	                               baseline there is the silent regressor) */
	const double *baseline_kwh; /* [n_customers * T] the customer's expected consumption per
	                               interval (attrib_baseline_profile / _fill build it from
	                               the weeks before the window); NAN: unknown (no shortfall,
	                               no silent regressor there); NULL: none at all */
};

/* Tuning of a solve. attrib_params_default fills the documented defaults. */
struct attrib_params {
	enum attrib_tech_mode tech_mode; /* ATTRIB_TECH_JOINT */
	struct attrib_tech tech;         /* used with ATTRIB_TECH_FIXED */
	uint32_t regressors;             /* ATTRIB_REG_BIT mask: ATTRIB_REG_ALL */
	uint32_t metered_segments;       /* the metered regressor as this many columns, one per
	                                    equal part of the window (a fraction that changes
	                                    within the window: an onset, a ramp): 1 (1..the
	                                    workspace's max_segments) */
	int robust_iterations;           /* Huber re-weightings after the first fit: 3 (0..20) */
	double huber_k;                  /* Huber threshold in robust sd: 1.345 */
	double tukey_c;                  /* 0; > 0: the re-weightings after the first use
	                                    Tukey's biweight at this many robust sd instead
	                                    (glitches stop counting; z runs higher for all) */
	double ridge;                    /* relative ridge on the scaled Gram matrix: 1e-10 */
	enum attrib_z_method z_method;   /* ATTRIB_Z_ACTIVE_SET (docs/detection.md measures both) */
	double reversed_screen_z;        /* a customer's day-reversed regressor joins a second
	                                    fit when its z against the first fit's residual
	                                    reaches this: ATTRIB_REVERSED_SCREEN_Z; 0: never
	                                    (one fit, no reversed_* outputs) */
	double reversed_confirm_z;       /* the fit with the day-reversed regressors that passed
	                                    the screen stands when one of them reaches this z:
	                                    ATTRIB_REVERSED_CONFIRM_Z; else the first fit's
	                                    results stand, bit for bit, with no reversed_*
	                                    outputs */
};

/* Default of attrib_params.reversed_screen_z (docs/detection.md measures it). */
#define ATTRIB_REVERSED_SCREEN_Z 5.0
/* Default of attrib_params.reversed_confirm_z. */
#define ATTRIB_REVERSED_CONFIRM_Z 8.0

/* Fills *p with the defaults above. */
void attrib_params_default(struct attrib_params *p);

/* Per customer: the caller passes an array of n_customers; entry i is customer i. */
struct attrib_customer {
	double stolen_kwh;      /* over the intervals of the fit */
	double stolen_kwh_day;  /* stolen_kwh per day of those intervals */
	double share;           /* stolen_kwh / the area's non-technical loss over them (0 when
	                           that loss is not positive); sums to about 1 over the area */
	double se_kwh;          /* standard error of stolen_kwh (0 without one; calibrated:
	                           times the area's spread) */
	double z;               /* the confidence that stolen_kwh is not 0 (attrib_z_method),
	                           >= 0, at most 1e9 (an exact fit); 0 when nothing is
	                           attributed or the status is not ATTRIB_OK */
	double coef[ATTRIB_REG__COUNT];     /* b_m (with segments: their mean over the metered
	                                       energy), b_s, b_g */
	double kwh_by[ATTRIB_REG__COUNT];   /* each regressor's part of stolen_kwh */
	int carrier;            /* enum attrib_regressor with the largest part; NONE when 0 */
	double reversed_coef;   /* the day-reversed regressor's coefficient: about 1 for a meter
	                           that reports its days in reversed order, 0 when it did not
	                           join the fit (attrib_params.reversed_screen_z) or ended at 0 */
	double reversed_z;      /* reversed_coef over its standard error (as z: the active set's
	                           covariance, autocorrelation-inflated); 0 without one */
	double reversed_kwh;    /* reversed_coef x the regressor's positive part over the rows:
	                           the energy that flowed unrecorded at its hour and was reported
	                           at others (not part of stolen_kwh: the day's total is kept) */
};

/* Per area-window. */
struct attrib_area_result {
	enum attrib_status status;
	int32_t resolution_s;     /* the interval the balance used (= attrib_area.interval_s) */
	uint32_t rows;            /* intervals with a transformer reading: the fit's rows */
	uint32_t columns_active;  /* columns with a positive coefficient */
	struct attrib_tech tech;  /* the technical loss used (fitted or given) */
	double technical_kwh;     /* its energy over the rows */
	double ntl_kwh;           /* feeder - customers - technical over the rows */
	double residual_mean;     /* mean of that non-technical loss series per interval, kWh */
	double residual_sd;       /* its sd */
	double noise_sd;          /* sd of what the whole fit leaves, kWh per interval */
	double fit_r2;            /* share of the loss series' variance the fit explains */
	uint32_t iterations;      /* active-set steps over every re-weighting */
};

/* An opaque workspace: the columns, the Gram matrix and its factor for one area-window. */
struct attrib_ws;

/*
 * Allocates a workspace for areas of up to max_customers customers over windows of up to
 * max_intervals intervals, with up to max_segments metered segments (1 ..
 * ATTRIB_SEGMENTS_MAX); aborts on out-of-memory, as xmalloc. Its size grows with
 * ((max_segments + 2) * max_customers + max_segments * ATTRIB_REVERSED_MAX) * max_intervals
 * (attrib_ws_bytes). Returns NULL when a
 * limit is 0, max_segments is too large or the sizes overflow. Free with attrib_ws_free.
 */
struct attrib_ws *attrib_ws_new(uint32_t max_customers, uint32_t max_intervals,
                                uint32_t max_segments);

/* Frees ws (NULL is fine). */
void attrib_ws_free(struct attrib_ws *ws);

/* Bytes ws holds (the struct and its arrays). */
size_t attrib_ws_bytes(const struct attrib_ws *ws);

/*
 * Attributes the area-window `area` with the workspace ws and params p (NULL: defaults):
 * fills *res and out[0 .. area->n_customers). Allocates nothing.
 * Returns 0 (check res->status: an area without enough transformer readings is a result, not
 * an error), or RISKD_ERR_RANGE when the area is larger than the workspace, RISKD_ERR_INVALID
 * for bad input (a negative or infinite energy, a bad interval, bad params), with a one-line
 * message naming the value and where it is in errstr. Outputs are finite whatever the input.
 */
int attrib_solve(struct attrib_ws *ws, const struct attrib_area *area,
                 const struct attrib_params *p, struct attrib_area_result *res,
                 struct attrib_customer *out, char *errstr, size_t errstr_size);

/*
 * Fits the technical loss of an area from its history: n intervals of interval_s seconds, the
 * transformer's energy feeder_kwh[t] and its customers' summed energy customers_kwh[t]
 * (NAN in either: left out). method weighs the intervals; tau is the quantile of
 * ATTRIB_FIT_QUANTILE (0 < tau < 1; ignored otherwise); scratch holds n doubles that
 * ATTRIB_FIT_HUBER overwrites (its robust scale; NULL is fine for the other methods). Both
 * coefficients are kept >= 0 (the best fit with one of them at 0 when the free fit has a
 * negative one). Fills *out (zeros and points 0 when fewer than 2 intervals are usable).
 * Allocates nothing.
 */
void attrib_tech_fit(const double *feeder_kwh, const double *customers_kwh, uint32_t n,
                     int32_t interval_s, enum attrib_tech_method method, double tau,
                     double *scratch, struct attrib_tech *out);

/*
 * A customer's expected consumption per slot of the week (slot = interval of the week,
 * 604800 / interval_s slots, interval_s dividing 604800): the mean of its readings
 * history_kwh[0 .. n) (NAN: no reading) whose slot is (first_slot + t) % slots; a slot
 * without a reading takes the mean of its time of day, else the mean of every reading, else
 * NAN. Fills profile[0 .. slots). Returns slots, or 0 (nothing filled) when interval_s does
 * not divide a week or profile_len < slots.
 */
uint32_t attrib_baseline_profile(const double *history_kwh, uint32_t n, int32_t interval_s,
                                 uint32_t first_slot, double *profile, uint32_t profile_len);

/* Fills baseline[t] = profile[(first_slot + t) % slots] for t in 0 .. n. */
void attrib_baseline_fill(const double *profile, uint32_t slots, uint32_t first_slot,
                          uint32_t n, double *baseline);

#endif
