/*
 * attrib_bench.c - cost and quality of the joint area attribution (scoring/attrib.h).
 *
 *   attrib_bench [--customers N] [--days W] [--runs R] [--areas S] [--seed X]
 *                [--glitches G] [--segments K] [--reversed R]
 *
 * Builds synthetic transformer areas: N customers (default 50) with their own level, daily
 * shape, day-to-day and interval noise, 28 days of history before a window of W days
 * (default 28); 10% thieves (constant fraction throughout, constant fraction, random
 * fraction per interval and slow ramp from an onset in the window, a small constant
 * fraction), 10% confounders (honest drops, a vacancy, a meter that goes silent on a
 * disconnected house), the rest honest; a technical loss a * dt + c * F^2 / dt of about 5%;
 * the transformer's reading with +-0.5% uniform noise per interval (as `riskctl gen`) and 3
 * glitched intervals (+30%) per window. Baselines are week profiles of the history
 * (attrib_baseline_profile). With --reversed R, the first R honest customers' meters report
 * each day of the window in reversed order (what the day-reversed regressor finds).
 *
 * Cost (key=value on stdout): CPU per area-window of the default solve (3 Huber
 * re-weightings) and of one plain fit, at hourly, 15-minute and daily resolution, over R runs
 * (default 20); the workspace's bytes; the caller's input bytes per area-window; the
 * extrapolation to 1,000,000 customers in 20,000 areas attributed once a day each (share of
 * one core); and what a running Gram matrix would hold and cost per interval.
 *
 * Quality (a table on stdout): over S areas (default 40) per method - the joint fit, joint
 * without re-weighting, and the technical loss fixed from the history by a low-quantile,
 * Huber or least-squares fit (attrib_tech_fit), or at its true value - thieves with z >= 4,
 * honest customers and confounders with z >= 4, precision@k by z (k = thieves in the area),
 * the mean error of the thieves' shares and the median relative error of their stolen kWh;
 * then the technical energy each history fit finds over the history against the truth.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../scoring/attrib.h"

#define HIST_DAYS 28
#define Z_ATTRIBUTED 4.0
#define AREAS_CITY 20000.0
#define SECONDS_A_DAY 86400.0

static int glitches = 3; /* glitched transformer intervals per window (--glitches) */
static uint32_t segments = 7; /* metered segments of the segmented variant (--segments) */
static uint32_t reversed_meters; /* honest customers whose meters report their window's days
                                    in reversed order (--reversed; the cost of an area whose
                                    day-reversed regressors join the fit) */

enum kind {
	HONEST, THIEF_THROUGHOUT, THIEF_CONSTANT, THIEF_RANDOM, THIEF_RAMP, THIEF_SMALL,
	DROP, VACANCY, SILENT_OFF, KIND_COUNT
};
static const char *const kind_name[KIND_COUNT] = {
	"honest", "thief_throughout", "thief_constant", "thief_random", "thief_ramp",
	"thief_small", "honest_drop", "vacancy", "silent_disconnected",
};

static int is_thief(enum kind k)
{
	return k >= THIEF_THROUGHOUT && k <= THIEF_SMALL;
}

/* ---- a seeded random source ---- */

/* xorshift64*: the state must not be 0 (synth_area seeds it odd). */
static double rng_unit(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (double)((*s * 0x2545f4914f6cdd1dull) >> 11) * 0x1.0p-53;
}

static double rng_normal(uint64_t *s)
{
	double u = rng_unit(s), v = rng_unit(s);
	return sqrt(-2.0 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

/* ---- a synthetic area ---- */

struct synth {
	uint32_t n, per_day, t_hist, t_win;
	int32_t dt;
	enum kind *kind;
	double *hist_metered;   /* n * t_hist */
	double *hist_feeder, *hist_customers; /* t_hist */
	double *feeder, *metered, *baseline;  /* the window: t_win, n * t_win, n * t_win */
	double *truth;          /* n * t_win */
	double *profile;        /* one week of slots */
	double tech_a, tech_c, hist_tech_kwh;
};

static void synth_init(struct synth *s, uint32_t n, uint32_t days, int32_t dt)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->dt = dt;
	s->per_day = (uint32_t)(86400 / dt);
	s->t_hist = HIST_DAYS * s->per_day;
	s->t_win = days * s->per_day;
	s->kind = calloc(n, sizeof(*s->kind));
	s->hist_metered = calloc((size_t)n * s->t_hist, sizeof(double));
	s->hist_feeder = calloc(s->t_hist, sizeof(double));
	s->hist_customers = calloc(s->t_hist, sizeof(double));
	s->feeder = calloc(s->t_win, sizeof(double));
	s->metered = calloc((size_t)n * s->t_win, sizeof(double));
	s->baseline = calloc((size_t)n * s->t_win, sizeof(double));
	s->truth = calloc((size_t)n * s->t_win, sizeof(double));
	s->profile = calloc(7 * s->per_day, sizeof(double));
	if (!s->kind || !s->hist_metered || !s->hist_feeder || !s->hist_customers || !s->feeder ||
	    !s->metered || !s->baseline || !s->truth || !s->profile) {
		fprintf(stderr, "attrib_bench: out of memory\n");
		exit(1);
	}
}

static void synth_free(struct synth *s)
{
	free(s->kind);
	free(s->hist_metered);
	free(s->hist_feeder);
	free(s->hist_customers);
	free(s->feeder);
	free(s->metered);
	free(s->baseline);
	free(s->truth);
	free(s->profile);
}

/* A customer's load shape at hour h (shifted): a night floor, a morning and an evening peak. */
static double load_shape(double h, double shift)
{
	double m = h - 7.5 - shift, e = h - 19.5 - shift;
	return 0.5 + 0.6 * exp(-m * m / 2) + 1.0 * exp(-e * e / 4.5);
}

/* The theft fraction of customer kind k, t intervals after its onset (k_level its fraction). */
static double theft_fraction(enum kind k, double k_level, int64_t since, uint32_t per_day,
                             uint64_t *rng)
{
	if (since < 0 && k != THIEF_THROUGHOUT)
		return 0;
	switch (k) {
	case THIEF_THROUGHOUT: case THIEF_CONSTANT: case THIEF_SMALL: return k_level;
	case THIEF_RANDOM: return 0.35 + 0.3 * rng_unit(rng);
	case THIEF_RAMP: return fmin(0.6, 0.6 * (double)since / (21.0 * per_day));
	default: return 0;
	}
}

/* The honest factor on the truth of confounder kind k after its change. */
static double honest_factor(enum kind k, double level, int64_t since)
{
	if (since < 0)
		return 1;
	return k == DROP ? level : k == VACANCY ? 0.08 : k == SILENT_OFF ? 0 : 1;
}

/* One customer over history and window: truth, meter and kind effects. */
static void synth_customer(struct synth *s, uint32_t i, uint64_t *rng, double *mean_kw)
{
	double level = 0.45 * exp(0.5 * rng_normal(rng)), shift = 3 * rng_unit(rng) - 1.5;
	double k_level = s->kind[i] == THIEF_SMALL ? 0.15 : 0.2 + 0.4 * rng_unit(rng);
	double drop_level = 0.3 + 0.4 * rng_unit(rng);
	uint32_t onset = (3 + (uint32_t)(rng_unit(rng) * (s->t_win / s->per_day - 10))) * s->per_day;
	double dt_h = s->dt / 3600.0, day_factor = 1;
	*mean_kw += level;
	for (uint32_t t = 0; t < s->t_hist + s->t_win; t++) {
		uint32_t day = t / s->per_day;
		if (t % s->per_day == 0)
			day_factor = exp(0.2 * rng_normal(rng)) * (day % 7 >= 5 ? 1.1 : 1.0);
		double hour = (double)(t % s->per_day) * dt_h;
		double truth = level * load_shape(hour + dt_h / 2, shift) * day_factor *
		               exp(0.25 * rng_normal(rng) - 0.03) * dt_h;
		int64_t since = (int64_t)t - (int64_t)(s->t_hist + onset);
		truth *= honest_factor(s->kind[i], drop_level, since);
		double metered = truth * (1 - theft_fraction(s->kind[i], k_level, since, s->per_day, rng));
		if (s->kind[i] == SILENT_OFF && since >= 0)
			metered = NAN;
		if (t < s->t_hist) {
			s->hist_metered[(size_t)i * s->t_hist + t] = metered;
			s->hist_customers[t] += metered;
			s->hist_feeder[t] += truth;
		} else {
			size_t at = (size_t)i * s->t_win + (t - s->t_hist);
			s->truth[at] = truth;
			s->metered[at] = metered;
			s->feeder[t - s->t_hist] += truth;
		}
	}
}

/* Adds the technical loss and the meter's noise to a feeder series holding the truths. */
static void synth_feeder(struct synth *s, double *feeder, uint32_t n, uint64_t *rng,
                         double *tech_kwh)
{
	double dt_h = s->dt / 3600.0;
	for (uint32_t t = 0; t < n; t++) {
		double sum = feeder[t], f = sum;
		for (int it = 0; it < 30; it++)
			f = sum + s->tech_a * dt_h + s->tech_c * f * f / dt_h;
		if (tech_kwh)
			*tech_kwh += f - sum;
		feeder[t] = f * (1 + 0.005 * (2 * rng_unit(rng) - 1));
	}
}

/* The first reversed_meters honest customers' meters report each day of the window in
 * reversed order (interval k of a day reads what flowed in interval per_day - 1 - k). */
static void synth_reverse(struct synth *s)
{
	uint32_t left = reversed_meters;
	for (uint32_t i = 0; i < s->n && left > 0; i++) {
		if (s->kind[i] != HONEST)
			continue;
		left--;
		for (uint32_t t = 0; t < s->t_win; t++)
			s->metered[(size_t)i * s->t_win + t] =
			    s->truth[(size_t)i * s->t_win + t / s->per_day * s->per_day +
			             (s->per_day - 1 - t % s->per_day)];
	}
}

/* Builds area `seed`: kinds, series, feeder, baselines. */
static void synth_area(struct synth *s, uint64_t seed)
{
	uint64_t rng = (seed * 0x9e3779b97f4a7c15ull) | 1;
	uint32_t n = s->n, thieves = n / 10 > 0 ? n / 10 : 1, confounders = n / 10;
	memset(s->hist_feeder, 0, s->t_hist * sizeof(double));
	memset(s->hist_customers, 0, s->t_hist * sizeof(double));
	memset(s->feeder, 0, s->t_win * sizeof(double));
	for (uint32_t i = 0; i < n; i++)
		s->kind[i] = HONEST;
	for (uint32_t k = 0; k < thieves; k++)
		s->kind[(uint32_t)(rng_unit(&rng) * n)] = (enum kind)(THIEF_THROUGHOUT + k % 5);
	for (uint32_t k = 0; k < confounders; k++) {
		uint32_t i = (uint32_t)(rng_unit(&rng) * n);
		if (s->kind[i] == HONEST)
			s->kind[i] = (enum kind)(DROP + (k % 4 == 3 ? 2 : k % 4 == 2 ? 1 : 0));
	}
	double mean_kw = 0;
	for (uint32_t i = 0; i < n; i++)
		synth_customer(s, i, &rng, &mean_kw);
	s->tech_a = 0.025 * mean_kw;
	s->tech_c = 0.025 / mean_kw;
	s->hist_tech_kwh = 0;
	synth_feeder(s, s->hist_feeder, s->t_hist, &rng, &s->hist_tech_kwh);
	synth_feeder(s, s->feeder, s->t_win, &rng, NULL);
	for (int g = 0; g < glitches; g++)
		s->feeder[(uint32_t)(rng_unit(&rng) * s->t_win)] *= 1.3;
	synth_reverse(s);
	uint32_t slots = 7 * s->per_day;
	for (uint32_t i = 0; i < n; i++) {
		attrib_baseline_profile(s->hist_metered + (size_t)i * s->t_hist, s->t_hist, s->dt, 0,
		                        s->profile, slots);
		attrib_baseline_fill(s->profile, slots, s->t_hist % slots, s->t_win,
		                     s->baseline + (size_t)i * s->t_win);
	}
}

static void synth_as_area(const struct synth *s, struct attrib_area *a)
{
	a->n_customers = s->n;
	a->n_intervals = s->t_win;
	a->interval_s = s->dt;
	a->feeder_kwh = s->feeder;
	a->metered_kwh = s->metered;
	a->baseline_kwh = s->baseline;
}

static void solve_or_die(struct attrib_ws *ws, const struct attrib_area *a,
                         const struct attrib_params *p, struct attrib_area_result *res,
                         struct attrib_customer *out)
{
	char err[256];
	if (attrib_solve(ws, a, p, res, out, err, sizeof(err)) != 0) {
		fprintf(stderr, "attrib_bench: %s\n", err);
		exit(1);
	}
}

/* ---- cost ---- */

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of one solve of s with robust_iterations `robust` and `segments` metered
 * segments, median of `runs`. */
static double time_solve(struct attrib_ws *ws, const struct synth *s, int robust,
                         uint32_t n_segments, int runs, struct attrib_customer *out,
                         struct attrib_area_result *res)
{
	struct attrib_area a;
	struct attrib_params p;
	synth_as_area(s, &a);
	attrib_params_default(&p);
	p.robust_iterations = robust;
	p.metered_segments = n_segments;
	double best[64];
	int r_max = runs < 64 ? runs : 64;
	for (int r = 0; r < r_max; r++) {
		double t0 = cpu_s();
		solve_or_die(ws, &a, &p, res, out);
		best[r] = cpu_s() - t0;
	}
	for (int i = 1; i < r_max; i++) /* insertion sort: a handful of runs */
		for (int j = i; j > 0 && best[j] < best[j - 1]; j--) {
			double x = best[j];
			best[j] = best[j - 1];
			best[j - 1] = x;
		}
	return best[r_max / 2];
}

/* CPU seconds of one rank-one update of a k x k Gram matrix (the running variant's step). */
static double time_rank_one(uint32_t k)
{
	double *g = calloc((size_t)k * k, sizeof(double)), *x = calloc(k, sizeof(double));
	if (!g || !x)
		exit(1);
	for (uint32_t j = 0; j < k; j++)
		x[j] = 1.0 / (j + 1);
	int reps = 2000;
	double t0 = cpu_s();
	for (int r = 0; r < reps; r++)
		for (uint32_t j = 0; j < k; j++)
			for (uint32_t l = j; l < k; l++)
				g[(size_t)j * k + l] += (r % 2 ? -1 : 1) * x[j] * x[l];
	double t = (cpu_s() - t0) / reps;
	volatile double sink = g[k + 1];
	(void)sink;
	free(g);
	free(x);
	return t;
}

/* Cost of one area-window at dt-second resolution with `seg` metered segments (the
 * default solve), against one segment and one fit without re-weighting. */
static void report_cost(uint32_t n, uint32_t days, int32_t dt, uint32_t seg, const char *name,
                        int runs)
{
	struct synth s;
	synth_init(&s, n, days, dt);
	synth_area(&s, 1);
	struct attrib_ws *ws = attrib_ws_new(n, s.t_win, seg);
	struct attrib_customer *out = calloc(n, sizeof(*out));
	struct attrib_area_result res;
	double full = time_solve(ws, &s, 3, seg, runs, out, &res);
	uint32_t steps = res.iterations, active = res.columns_active;
	double plain = time_solve(ws, &s, 0, seg, runs, out, &res);
	double one = time_solve(ws, &s, 3, 1, runs, out, &res);
	size_t input = ((size_t)2 * n * s.t_win + s.t_win) * sizeof(double);
	uint32_t k = 2 + (seg + 2) * n;
	printf("%s.customers=%u %s.intervals=%u %s.segments=%u %s.columns=%u "
	       "%s.cpu_ms_per_area_window=%.2f %s.cpu_ms_one_fit=%.2f %s.cpu_ms_one_segment=%.2f "
	       "%s.active_set_steps=%u %s.columns_active=%u %s.workspace_bytes=%zu "
	       "%s.input_bytes_per_area_window=%zu %s.city_cpu_s_per_day=%.0f "
	       "%s.city_core_fraction=%.4f\n",
	       name, n, name, s.t_win, name, seg, name, k, name, full * 1e3, name, plain * 1e3,
	       name, one * 1e3, name, steps, name, active, name, attrib_ws_bytes(ws), name, input,
	       name, AREAS_CITY * full, name, AREAS_CITY * full / SECONDS_A_DAY);
	if (dt != 86400) {
		double r1 = time_rank_one(k);
		printf("%s.running_gram_bytes_per_area=%zu %s.rank_one_update_us=%.1f "
		       "%s.running_day_update_ms=%.2f\n",
		       name, (size_t)k * k * sizeof(double), name, r1 * 1e6, name,
		       2.0 * s.per_day * r1 * 1e3);
	}
	free(out);
	attrib_ws_free(ws);
	synth_free(&s);
}

/* ---- quality ---- */

enum method { M_JOINT, M_JOINT_ONE_SEGMENT, M_JOINT_PLAIN, M_FIXED_QUANTILE, M_FIXED_HUBER,
	      M_FIXED_OLS, M_FIXED_TRUE, M_COUNT };
static const char *const method_name[M_COUNT] = {
	"joint (the defaults)", "joint, metered in 1 segment", "joint, no re-weighting",
	"fixed, quantile 0.2 fit", "fixed, Huber fit", "fixed, least-squares fit",
	"fixed, true technical loss",
};

struct tally {
	uint32_t thieves, thieves_hit, honest, honest_hit, conf, conf_hit, areas_k;
	double precision_sum, share_err_sum;
	uint32_t kind_n[KIND_COUNT], kind_hit[KIND_COUNT];
	double *stolen_err;
	uint32_t n_err;
};

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

/* Precision@k of customers ranked by z (ties: lower index first), k = thieves. */
static double precision_at_k(const struct synth *s, const struct attrib_customer *out,
                             uint32_t k)
{
	uint32_t hit = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		uint32_t rank = 0;
		for (uint32_t j = 0; j < s->n; j++)
			rank += out[j].z > out[i].z || (out[j].z == out[i].z && j < i);
		if (rank < k && is_thief(s->kind[i]))
			hit++;
	}
	return (double)hit / k;
}

static void tally_area(struct tally *t, const struct synth *s, const struct attrib_customer *out)
{
	double total = 0, *stolen = calloc(s->n, sizeof(double));
	uint32_t k = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		for (uint32_t u = 0; u < s->t_win; u++) {
			size_t at = (size_t)i * s->t_win + u;
			stolen[i] += s->truth[at] - (isnan(s->metered[at]) ? 0 : s->metered[at]);
		}
		total += stolen[i];
	}
	for (uint32_t i = 0; i < s->n; i++) {
		int hit = out[i].z >= Z_ATTRIBUTED;
		t->kind_n[s->kind[i]]++;
		t->kind_hit[s->kind[i]] += hit;
		if (is_thief(s->kind[i])) {
			k++;
			t->thieves++;
			t->thieves_hit += hit;
			t->share_err_sum += fabs(out[i].share - stolen[i] / total);
			t->stolen_err[t->n_err++] = fabs(out[i].stolen_kwh / stolen[i] - 1);
		} else if (s->kind[i] == HONEST) {
			t->honest++;
			t->honest_hit += hit;
		} else {
			t->conf++;
			t->conf_hit += hit;
		}
	}
	if (k) {
		t->areas_k++;
		t->precision_sum += precision_at_k(s, out, k);
	}
	free(stolen);
}

static void quality(uint32_t n, uint32_t days, int32_t dt, uint32_t areas, uint64_t seed0)
{
	struct synth s;
	synth_init(&s, n, days, dt);
	struct attrib_ws *ws = attrib_ws_new(n, s.t_win, segments);
	struct attrib_customer *out = calloc(n, sizeof(*out));
	double *scratch = calloc(s.t_hist, sizeof(double));
	struct tally tally[M_COUNT];
	memset(tally, 0, sizeof(tally));
	for (int m = 0; m < M_COUNT; m++)
		tally[m].stolen_err = calloc((size_t)areas * n, sizeof(double));
	double tech_ratio[3] = {0, 0, 0};
	enum attrib_tech_method fits[3] = {ATTRIB_FIT_QUANTILE, ATTRIB_FIT_HUBER, ATTRIB_FIT_OLS};
	for (uint32_t a = 0; a < areas; a++) {
		synth_area(&s, seed0 + a);
		struct attrib_tech tech[3];
		for (int f = 0; f < 3; f++) {
			attrib_tech_fit(s.hist_feeder, s.hist_customers, s.t_hist, s.dt, fits[f], 0.2,
			                scratch, &tech[f]);
			double dt_h = s.dt / 3600.0, kwh = 0;
			for (uint32_t t = 0; t < s.t_hist; t++)
				kwh += tech[f].noload_kw * dt_h +
				       tech[f].load_per_kw * s.hist_feeder[t] * s.hist_feeder[t] / dt_h;
			tech_ratio[f] += kwh / s.hist_tech_kwh / areas;
		}
		for (int m = 0; m < M_COUNT; m++) {
			struct attrib_params p;
			struct attrib_area area;
			struct attrib_area_result res;
			attrib_params_default(&p);
			synth_as_area(&s, &area);
			if (m == M_JOINT_PLAIN)
				p.robust_iterations = 0;
			p.metered_segments = m == M_JOINT_ONE_SEGMENT ? 1 : segments;
			if (m >= M_FIXED_QUANTILE) {
				p.tech_mode = ATTRIB_TECH_FIXED;
				if (m == M_FIXED_TRUE) {
					p.tech.noload_kw = s.tech_a;
					p.tech.load_per_kw = s.tech_c;
				} else {
					p.tech = tech[m - M_FIXED_QUANTILE];
				}
			}
			solve_or_die(ws, &area, &p, &res, out);
			tally_area(&tally[m], &s, out);
		}
	}
	printf("\nquality: %u areas of %u customers, %u days at %d s (seeds %llu..%llu), "
	       "attributed = z >= %.0f\n", areas, n, days, dt, (unsigned long long)seed0,
	       (unsigned long long)(seed0 + areas - 1), Z_ATTRIBUTED);
	printf("| method | thieves attributed | honest attributed | confounders attributed | "
	       "precision@k | share error | stolen kWh error (median) |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|\n");
	for (int m = 0; m < M_COUNT; m++) {
		struct tally *t = &tally[m];
		qsort(t->stolen_err, t->n_err, sizeof(double), cmp_double);
		printf("| %s | %u/%u | %u/%u | %u/%u | %.3f | %.3f | %.1f%% |\n", method_name[m],
		       t->thieves_hit, t->thieves, t->honest_hit, t->honest, t->conf_hit, t->conf,
		       t->precision_sum / (t->areas_k ? t->areas_k : 1),
		       t->share_err_sum / (t->thieves ? t->thieves : 1),
		       t->n_err ? 100 * t->stolen_err[t->n_err / 2] : 0.0);
	}
	for (int m = M_JOINT; m <= M_JOINT_ONE_SEGMENT; m++) {
		printf("\nattributed by kind (%s): ", method_name[m]);
		for (int k = 0; k < KIND_COUNT; k++)
			printf("%s %u/%u%s", kind_name[k], tally[m].kind_hit[k], tally[m].kind_n[k],
			       k + 1 < KIND_COUNT ? ", " : "\n");
	}
	printf("history technical-loss fit, found / true technical kWh over the 28 days (mean of "
	       "areas): quantile 0.2 %.3f, Huber %.3f, least squares %.3f\n",
	       tech_ratio[0], tech_ratio[1], tech_ratio[2]);
	for (int m = 0; m < M_COUNT; m++)
		free(tally[m].stolen_err);
	free(scratch);
	free(out);
	attrib_ws_free(ws);
	synth_free(&s);
}

int main(int argc, char **argv)
{
	long customers = 50, days = 28, runs = 20, areas = 40, seed = 1000, glitch_arg = 3,
	     segment_arg = 7, reversed_arg = 0;
	const struct {
		const char *flag;
		long *value, lo, hi;
	} options[] = {
		{"--customers", &customers, 1, 500}, {"--days", &days, 14, 56},
		{"--runs", &runs, 1, 64},            {"--areas", &areas, 0, 10000},
		{"--seed", &seed, 0, 1000000000},    {"--glitches", &glitch_arg, 0, 100},
		{"--segments", &segment_arg, 1, ATTRIB_SEGMENTS_MAX},
		{"--reversed", &reversed_arg, 0, 500},
	};
	for (int i = 1; i < argc; i += 2) {
		size_t o = 0, n_options = sizeof(options) / sizeof(options[0]);
		while (o < n_options && strcmp(argv[i], options[o].flag) != 0)
			o++;
		char *end = NULL;
		long v = o < n_options && i + 1 < argc ? strtol(argv[i + 1], &end, 10) : 0;
		if (o == n_options || !end || *end || end == argv[i + 1] || v < options[o].lo ||
		    v > options[o].hi) {
			fprintf(stderr, "usage: attrib_bench [--customers N] [--days 14..56] [--runs R] "
			                "[--areas S] [--seed X] [--glitches G] [--segments 1..8] "
			                "[--reversed R]\n");
			return 2;
		}
		*options[o].value = v;
	}
	glitches = (int)glitch_arg;
	segments = (uint32_t)segment_arg;
	reversed_meters = (uint32_t)reversed_arg;
	report_cost((uint32_t)customers, (uint32_t)days, 3600, segments, "hourly", (int)runs);
	report_cost((uint32_t)customers, (uint32_t)days, 900, segments, "quarter_hourly",
	            (int)runs);
	report_cost((uint32_t)customers, (uint32_t)days, 86400, 1, "daily", (int)runs);
	if (areas > 0) {
		quality((uint32_t)customers, (uint32_t)days, 3600, (uint32_t)areas, (uint64_t)seed);
		segments = 1; /* a window of days has too few rows for segments */
		quality((uint32_t)customers, (uint32_t)days, 86400, (uint32_t)areas, (uint64_t)seed);
	}
	return 0;
}
