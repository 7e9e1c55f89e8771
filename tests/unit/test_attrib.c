/*
 * test_attrib.c - Criterion suite for scoring/attrib*.c, the joint attribution of an area's
 * non-technical loss: hand-built areas whose feeder is exactly its customers' true
 * consumption plus a technical loss a * dt + c * F^2 / dt, so that every coefficient, stolen
 * energy and share is known in closed form (one thief, several thieves, an honest drop next to
 * a thief, silent meters, technical loss only, a daily-only area), the same areas with meter
 * noise within stated tolerances, and degenerate input (a customer of zeros, one customer,
 * missing transformer intervals, identical customers, bad values), none of which may give a
 * NaN. Then the technical-loss fit and the week profile.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "scoring/attrib.h"
#include "test_unit_noise.h"

#define MAX_C 12
#define MAX_T (28 * 96)
#define TECH_A 0.15   /* no-load loss, kW */
#define TECH_C 0.004  /* load loss per kW */
#define EXACT 1e-9    /* relative tolerance of the noise-free constructions */

/* One hand-built area-window. */
static struct {
	uint32_t n, T;
	int32_t dt;
	double truth[MAX_C * MAX_T];    /* what each customer takes */
	double metered[MAX_C * MAX_T];  /* what its meter records (NAN: no reading) */
	double baseline[MAX_C * MAX_T];
	double feeder[MAX_T];
} fx;

static struct attrib_area_result res;
static struct attrib_customer out[MAX_C];

/* n customers over `days` days of dt-second intervals, honest: every meter records the
 * truth, which is also the baseline. Customer i's load has its own level, daily shape and
 * interval noise. */
static void area_init(uint32_t n, uint32_t days, int32_t dt)
{
	memset(&fx, 0, sizeof(fx));
	fx.n = n;
	fx.dt = dt;
	fx.T = days * (86400 / (uint32_t)dt);
	cr_assert(n <= MAX_C && fx.T <= MAX_T);
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t t = 0; t < fx.T; t++) {
			double hour = (double)(((int64_t)t * dt) % 86400) / 3600.0;
			double shape = 1 + 0.6 * sin(2 * M_PI * (hour - 7 - 0.7 * i) / 24);
			double kwh = (0.3 + 0.1 * i) * shape * (0.5 + unit(i, t, 1)) * dt / 3600.0;
			size_t at = (size_t)i * fx.T + t;
			fx.truth[at] = fx.metered[at] = fx.baseline[at] = kwh;
		}
}

static uint32_t day_start(uint32_t day)
{
	return day * (86400 / (uint32_t)fx.dt);
}

/* Customer i's meter records 1 - k of the truth throughout; its baseline, learnt while it
 * was already stealing, is what it records. */
static void theft_throughout(uint32_t i, double k)
{
	for (uint32_t t = 0; t < fx.T; t++) {
		size_t at = (size_t)i * fx.T + t;
		fx.metered[at] = fx.baseline[at] = (1 - k) * fx.truth[at];
	}
}

/* From `day` on, customer i's meter records 1 - k of the truth; the baseline is its honest
 * consumption. */
static void theft_from(uint32_t i, double k, uint32_t day)
{
	for (uint32_t t = day_start(day); t < fx.T; t++)
		fx.metered[(size_t)i * fx.T + t] = (1 - k) * fx.truth[(size_t)i * fx.T + t];
}

/* From `day` on, customer i honestly uses `factor` of what it used (meter = truth). */
static void honest_drop_from(uint32_t i, double factor, uint32_t day)
{
	for (uint32_t t = day_start(day); t < fx.T; t++) {
		size_t at = (size_t)i * fx.T + t;
		fx.truth[at] *= factor;
		fx.metered[at] = fx.truth[at];
	}
}

/* From `day` on, customer i's meter sends nothing; it still takes its load (consuming) or
 * is disconnected. */
static void silent_from(uint32_t i, uint32_t day, int consuming)
{
	for (uint32_t t = day_start(day); t < fx.T; t++) {
		size_t at = (size_t)i * fx.T + t;
		fx.metered[at] = NAN;
		if (!consuming)
			fx.truth[at] = 0;
	}
}

/* The transformer's reading: F = sum of truths + a dt + c F^2 / dt (solved by fixed point to
 * the last bit), times 1 + noise * (uniform in -1 .. 1). */
static void feeder_build(double noise)
{
	double dt_h = fx.dt / 3600.0;
	for (uint32_t t = 0; t < fx.T; t++) {
		double sum = 0;
		for (uint32_t i = 0; i < fx.n; i++)
			sum += fx.truth[(size_t)i * fx.T + t];
		double f = sum;
		for (int it = 0; it < 100; it++)
			f = sum + TECH_A * dt_h + TECH_C * f * f / dt_h;
		fx.feeder[t] = f * (1 + noise * (2 * unit(999, t, 7) - 1));
	}
}

/* Customer i's stolen energy over the intervals with a transformer reading. */
static double true_stolen(uint32_t i)
{
	double s = 0;
	for (uint32_t t = 0; t < fx.T; t++) {
		size_t at = (size_t)i * fx.T + t;
		if (!isnan(fx.feeder[t]))
			s += fx.truth[at] - (isnan(fx.metered[at]) ? 0 : fx.metered[at]);
	}
	return s;
}

static double true_stolen_total(void)
{
	double s = 0;
	for (uint32_t i = 0; i < fx.n; i++)
		s += true_stolen(i);
	return s;
}

/* The plain model: one metered column per customer, whose coefficient is k / (1 - k) in
 * closed form. The default cuts it into segments of the window, which the exact
 * constructions below with an onset would make collinear with the shortfall. */
static const struct attrib_params *plain(void)
{
	static struct attrib_params p;
	attrib_params_default(&p);
	p.metered_segments = 1;
	return &p;
}

/* Runs the attribution with params p (NULL: defaults) into res and out. */
static void solve(const struct attrib_params *p)
{
	char err[256] = "";
	struct attrib_area area = {
		.n_customers = fx.n, .n_intervals = fx.T, .interval_s = fx.dt,
		.feeder_kwh = fx.feeder, .metered_kwh = fx.metered, .baseline_kwh = fx.baseline,
	};
	struct attrib_ws *ws = attrib_ws_new(MAX_C, MAX_T, ATTRIB_SEGMENTS_MAX);
	cr_assert_not_null(ws);
	int rc = attrib_solve(ws, &area, p, &res, out, err, sizeof(err));
	attrib_ws_free(ws);
	cr_assert_eq(rc, 0, "attrib_solve: %s", err);
	cr_assert_eq(res.resolution_s, fx.dt);
	double area_values[] = {res.tech.noload_kw, res.tech.load_per_kw, res.technical_kwh,
	                        res.ntl_kwh, res.residual_mean, res.residual_sd, res.noise_sd,
	                        res.fit_r2};
	for (size_t k = 0; k < sizeof(area_values) / sizeof(area_values[0]); k++)
		cr_assert(isfinite(area_values[k]), "area figure %zu is not finite", k);
	for (uint32_t i = 0; i < fx.n; i++) {
		const struct attrib_customer *c = &out[i];
		cr_assert(isfinite(c->stolen_kwh) && isfinite(c->stolen_kwh_day) &&
		          isfinite(c->share) && isfinite(c->se_kwh) && isfinite(c->z),
		          "customer %u has a non-finite output", i);
		cr_assert(c->stolen_kwh >= 0 && c->z >= 0);
	}
}

static void assert_rel(double got, double want, double tol, const char *what, uint32_t i)
{
	cr_assert(fabs(got - want) <= tol * fmax(1.0, fabs(want)),
	          "%s of customer %u: got %.15g, want %.15g", what, i, got, want);
}

/* Every customer gets exactly its true stolen energy and share (noise-free areas). */
static void assert_exact_shares(void)
{
	double total = true_stolen_total();
	double days = (double)res.rows * fx.dt / 86400.0;
	for (uint32_t i = 0; i < fx.n; i++) {
		double want = true_stolen(i);
		assert_rel(out[i].stolen_kwh, want, EXACT, "stolen kWh", i);
		assert_rel(out[i].stolen_kwh_day, want / days, EXACT, "stolen kWh a day", i);
		assert_rel(out[i].share, total > 0 ? want / total : 0, EXACT, "share", i);
	}
	assert_rel(res.tech.noload_kw, TECH_A, EXACT, "no-load loss", 0);
	assert_rel(res.tech.load_per_kw, TECH_C, EXACT, "load loss", 0);
	/* the loss series is the technical energy plus the theft: exact to its size */
	cr_assert(fabs(res.ntl_kwh - total) <= EXACT * (res.technical_kwh + total),
	          "non-technical loss %.15g, want %.15g", res.ntl_kwh, total);
}

/* One customer has stolen k = 0.4 throughout: its meter column carries k / (1 - k) = 2/3. */
Test(attrib, one_thief_throughout_exact)
{
	area_init(6, 14, 3600);
	theft_throughout(2, 0.4);
	feeder_build(0);
	solve(plain());
	cr_assert_eq(res.status, ATTRIB_OK);
	assert_exact_shares();
	assert_rel(out[2].coef[ATTRIB_REG_METERED], 0.4 / 0.6, EXACT, "metered coefficient", 2);
	cr_assert_eq(out[2].carrier, ATTRIB_REG_METERED);
	assert_rel(out[2].share, 1.0, EXACT, "share", 2);
	for (uint32_t i = 0; i < fx.n; i++)
		if (i != 2)
			cr_assert_eq(out[i].carrier, ATTRIB_REG_NONE, "customer %u", i);
	assert_rel(res.fit_r2, 1.0, EXACT, "fit r2", 0);
}

/* A thief from day 5 of 14 against its honest baseline: the residual is exactly its
 * shortfall (coefficient 1), which carries it. */
Test(attrib, one_thief_onset_in_window_exact)
{
	area_init(6, 14, 1800);
	theft_from(4, 0.3, 5);
	feeder_build(0);
	solve(plain());
	assert_exact_shares();
	assert_rel(out[4].coef[ATTRIB_REG_SHORTFALL], 1.0, EXACT, "shortfall coefficient", 4);
	assert_rel(out[4].coef[ATTRIB_REG_METERED], 0.0, EXACT, "metered coefficient", 4);
	cr_assert_eq(out[4].carrier, ATTRIB_REG_SHORTFALL);
}

/* Three thieves of different fractions and kinds: each gets its own share. */
Test(attrib, several_thieves_exact)
{
	area_init(8, 21, 3600);
	theft_throughout(1, 0.2);
	theft_throughout(5, 0.5);
	theft_from(6, 0.35, 9);
	feeder_build(0);
	solve(plain());
	assert_exact_shares();
	assert_rel(out[1].coef[ATTRIB_REG_METERED], 0.25, EXACT, "metered coefficient", 1);
	assert_rel(out[5].coef[ATTRIB_REG_METERED], 1.0, EXACT, "metered coefficient", 5);
	assert_rel(out[6].coef[ATTRIB_REG_SHORTFALL], 1.0, EXACT, "shortfall coefficient", 6);
	double sum = out[1].share + out[5].share + out[6].share;
	assert_rel(sum, 1.0, EXACT, "sum of the thieves' shares", 0);
}

/* The defaults cut the metered column in 7 segments of 2 days: a thief throughout has
 * k / (1 - k) in each, and the shares stay exact. */
Test(attrib, defaults_thieves_throughout_exact)
{
	area_init(8, 14, 3600);
	theft_throughout(2, 0.4);
	theft_throughout(6, 0.1);
	feeder_build(0);
	solve(NULL);
	assert_exact_shares();
	assert_rel(out[2].coef[ATTRIB_REG_METERED], 0.4 / 0.6, EXACT, "metered coefficient", 2);
	assert_rel(out[6].coef[ATTRIB_REG_METERED], 0.1 / 0.9, EXACT, "metered coefficient", 6);
}

/* An honest customer halves its consumption on the day a neighbour starts stealing: its
 * shortfall is as large as the thief's, but the residual follows the thief's alone. */
Test(attrib, honest_drop_next_to_thief_exact)
{
	area_init(6, 14, 3600);
	theft_from(1, 0.4, 6);
	honest_drop_from(3, 0.5, 6);
	feeder_build(0);
	solve(plain());
	assert_exact_shares();
	cr_assert_eq(out[3].stolen_kwh, 0.0, "the honest drop gets nothing: %g", out[3].stolen_kwh);
	cr_assert_eq(out[3].carrier, ATTRIB_REG_NONE);
	assert_rel(out[1].share, 1.0, EXACT, "share", 1);
}

/* Two meters fall silent on day 8: one house still takes its usual load (the area carries it,
 * silent coefficient 1), the other is disconnected (nothing to carry). */
Test(attrib, silent_meters_exact)
{
	area_init(6, 14, 3600);
	silent_from(0, 8, 1);
	silent_from(5, 8, 0);
	feeder_build(0);
	solve(plain());
	assert_exact_shares();
	assert_rel(out[0].coef[ATTRIB_REG_SILENT], 1.0, EXACT, "silent coefficient", 0);
	cr_assert_eq(out[0].carrier, ATTRIB_REG_SILENT);
	cr_assert_eq(out[5].stolen_kwh, 0.0);
	cr_assert_eq(out[5].carrier, ATTRIB_REG_NONE);
}

/* No thief: the joint fit (defaults) finds the technical loss to the last digits and gives
 * nobody anything; with the transformer's +-0.5% noise nobody reaches z 3 (plain model). */
Test(attrib, technical_loss_only)
{
	area_init(8, 28, 3600);
	feeder_build(0);
	solve(NULL);
	assert_exact_shares();
	for (uint32_t i = 0; i < fx.n; i++)
		cr_assert_eq(out[i].stolen_kwh, 0.0, "customer %u", i);

	feeder_build(0.005);
	solve(plain());
	assert_rel(res.tech.noload_kw, TECH_A, 0.25, "no-load loss with noise", 0);
	assert_rel(res.tech.load_per_kw, TECH_C, 0.25, "load loss with noise", 0);
	for (uint32_t i = 0; i < fx.n; i++)
		cr_assert_lt(out[i].z, 3.0, "honest customer %u: z %g", i, out[i].z);
}

/* A daily-only area: one row a day over 28 days, one thief; the result says 86400 s. */
Test(attrib, daily_resolution_exact)
{
	area_init(4, 28, 86400);
	theft_throughout(3, 0.3);
	feeder_build(0);
	solve(plain());
	cr_assert_eq(res.resolution_s, 86400);
	cr_assert_eq(res.rows, 28);
	assert_exact_shares();
	assert_rel(out[3].coef[ATTRIB_REG_METERED], 0.3 / 0.7, EXACT, "metered coefficient", 3);
}

/* The technical loss may also be given (from attrib_tech_fit over a theft-free history):
 * the same shares. */
Test(attrib, fixed_technical_loss_exact)
{
	area_init(6, 14, 3600);
	theft_throughout(0, 0.25);
	theft_from(4, 0.5, 3);
	feeder_build(0);
	struct attrib_params p;
	attrib_params_default(&p);
	p.tech_mode = ATTRIB_TECH_FIXED;
	p.tech.noload_kw = TECH_A;
	p.tech.load_per_kw = TECH_C;
	solve(&p);
	assert_exact_shares();
}

/* The metered regressor cut in two halves of the window: a thief from the second half on is
 * carried by its second segment alone (b = k / (1 - k) there, 0 before), without a baseline. */
Test(attrib, metered_segments_exact)
{
	area_init(6, 14, 3600);
	theft_from(2, 0.4, 7);
	theft_throughout(5, 0.2);
	feeder_build(0);
	struct attrib_params p;
	attrib_params_default(&p);
	p.metered_segments = 2;
	p.regressors = ATTRIB_REG_BIT(ATTRIB_REG_METERED);
	solve(&p);
	assert_exact_shares();
	double second_half = 0, all = 0;
	for (uint32_t t = 0; t < fx.T; t++) {
		all += fx.metered[2 * fx.T + t];
		second_half += t >= fx.T / 2 ? fx.metered[2 * fx.T + t] : 0;
	}
	assert_rel(out[2].coef[ATTRIB_REG_METERED], 0.4 / 0.6 * second_half / all, EXACT,
	           "mean metered coefficient", 2);
	assert_rel(out[5].coef[ATTRIB_REG_METERED], 0.25, EXACT, "metered coefficient", 5);
}

/* With the transformer's +-0.5% noise over 28 hourly days, default params (7 segments):
 * shares within 0.03, stolen energy within 10%, the thieves far above z 10, the honest drop
 * and the others below z 4 (the attribution threshold docs/detection.md measures). */
Test(attrib, thieves_and_drop_with_noise)
{
	area_init(10, 28, 3600);
	theft_throughout(1, 0.3);
	theft_from(4, 0.5, 10);
	theft_from(7, 0.25, 4);
	honest_drop_from(8, 0.4, 10);
	feeder_build(0.005);
	solve(NULL);
	double total = true_stolen_total();
	for (uint32_t i = 0; i < fx.n; i++) {
		double want = true_stolen(i);
		if (want > 0) {
			cr_assert_lt(fabs(out[i].share - want / total), 0.03, "thief %u share %g, want %g",
			             i, out[i].share, want / total);
			assert_rel(out[i].stolen_kwh, want, 0.10, "stolen kWh", i);
			cr_assert_gt(out[i].z, 10.0, "thief %u: z %g", i, out[i].z);
		} else {
			cr_assert_lt(out[i].z, 4.0, "honest customer %u: z %g", i, out[i].z);
		}
	}
}

/* The transformer's reading as feeder_build, plus a loss the model does not hold: `rate` of
 * the customers' energy, times a factor drawn per day in 1 -+ 0.5 (what the fit leaves then
 * follows the load within each day, as on a real feeder). */
static void feeder_build_misfit(double noise, double rate)
{
	feeder_build(noise);
	uint32_t per_day = 86400 / (uint32_t)fx.dt;
	for (uint32_t t = 0; t < fx.T; t++) {
		double sum = 0, day_factor = 0.5 + unit(998, t / per_day, 5);
		for (uint32_t i = 0; i < fx.n; i++)
			sum += fx.truth[(size_t)i * fx.T + t];
		fx.feeder[t] += rate * day_factor * sum;
	}
}

/* Customers with z at or above `at` among the honest ones (nothing stolen), z read by
 * the method of the last solve. */
static uint32_t honest_at_or_above(double at)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < fx.n; i++)
		n += true_stolen(i) == 0 && out[i].z >= at;
	return n;
}

/* A 3% loss on the load that varies from day to day, which a + c F^2 does not hold, in an
 * area of 12 with one thief from day 14 and an honest household halving its use the same
 * day. The active set's z (the default) is an error from iid intervals on estimates that
 * are never below 0: half the honest customers, whose loads carry some of the loss, get z 1
 * or more. The calibrated z takes the error over days and centres it on the area's
 * attributed customers: fewer honest customers reach z 1, none z 3, the halving one stays
 * below 1 and the thief above 5, with the same estimates. */
Test(attrib, calibrated_z_honest_drop_next_to_thief)
{
	area_init(12, 28, 3600);
	theft_from(3, 0.4, 14);
	honest_drop_from(8, 0.5, 14);
	feeder_build_misfit(0.005, 0.03);
	struct attrib_params p;
	attrib_params_default(&p);
	cr_assert_eq(p.z_method, ATTRIB_Z_ACTIVE_SET, "the default");
	solve(&p);
	uint32_t active_set_honest = honest_at_or_above(1.0);
	double active_set_thief = out[3].z, active_set_stolen = out[3].stolen_kwh;
	p.z_method = ATTRIB_Z_CALIBRATED;
	solve(&p);
	cr_log_info("active set: thief z %g, %u honest at z >= 1; calibrated: thief z %g, "
	            "halving z %g, %u honest at z >= 1", active_set_thief, active_set_honest,
	            out[3].z, out[8].z, honest_at_or_above(1.0));
	cr_assert_eq(out[3].stolen_kwh, active_set_stolen, "the estimate is the same");
	cr_assert_lt(honest_at_or_above(1.0), active_set_honest,
	             "fewer honest customers at z >= 1 than the active set's");
	cr_assert_eq(honest_at_or_above(3.0), 0, "an honest customer at z >= 3");
	cr_assert_lt(out[8].z, 1.0, "the honest halving: z %g", out[8].z);
	cr_assert_gt(out[3].z, 5.0, "the thief: z %g", out[3].z);
}

/* A glitch of the transformer meter (one interval 60% high) with noise: the re-weighting
 * keeps it off the customers, with Huber (the default) and with Tukey's biweight; without
 * re-weighting it lands on them. */
Test(attrib, glitch_does_not_land_on_a_customer)
{
	area_init(8, 28, 3600);
	theft_throughout(2, 0.3);
	feeder_build(0.005);
	fx.feeder[300] *= 1.6;
	struct attrib_params p;
	attrib_params_default(&p);
	double want = true_stolen(2);
	for (int variant = 0; variant < 3; variant++) {
		p.tukey_c = variant == 1 ? 4.685 : 0;
		p.robust_iterations = variant == 2 ? 0 : 3;
		solve(&p);
		double honest_max = 0;
		for (uint32_t i = 0; i < fx.n; i++)
			if (i != 2)
				honest_max = fmax(honest_max, out[i].z);
		cr_log_info("variant %d: stolen %g of %g, z %g, honest z at most %g", variant,
		            out[2].stolen_kwh, want, out[2].z, honest_max);
		if (variant < 2) {
			assert_rel(out[2].stolen_kwh, want, 0.10, "stolen kWh", 2);
			cr_assert_lt(honest_max, 4.0, "variant %d: an honest z %g", variant, honest_max);
		} else {
			cr_assert(fabs(out[2].stolen_kwh / want - 1) > 0.10 || honest_max >= 4.0,
			          "without re-weighting the glitch shows");
		}
	}
}

/* From `day` on, customer i's meter reports each day's readings in reversed order: interval
 * s of a day of S reads what flowed in interval S - 1 - s (the day's total is right). */
static void reversed_from(uint32_t i, uint32_t day)
{
	uint32_t S = 86400 / (uint32_t)fx.dt;
	for (uint32_t t = day_start(day); t < fx.T; t++)
		fx.metered[(size_t)i * fx.T + t] =
		    fx.truth[(size_t)i * fx.T + t / S * S + (S - 1 - t % S)];
}

/* Every customer's baseline is its expected load (its level and daily shape without the
 * interval noise), as a profile of its past weeks gives it. */
static void baseline_expected(void)
{
	for (uint32_t i = 0; i < fx.n; i++)
		for (uint32_t t = 0; t < fx.T; t++) {
			double hour = (double)(((int64_t)t * fx.dt) % 86400) / 3600.0;
			double shape = 1 + 0.6 * sin(2 * M_PI * (hour - 7 - 0.7 * i) / 24);
			fx.baseline[(size_t)i * fx.T + t] = (0.3 + 0.1 * i) * shape * fx.dt / 3600.0;
		}
}

/* Every customer's day-reversed outputs are 0 (its regressor did not join the fit or ended
 * at 0), but those of customers a and b (UINT32_MAX: none). */
static void assert_no_reversed_but(uint32_t a, uint32_t b)
{
	for (uint32_t i = 0; i < fx.n; i++)
		if (i != a && i != b)
			cr_assert(out[i].reversed_coef == 0 && out[i].reversed_z == 0 &&
			          out[i].reversed_kwh == 0, "customer %u: reversed coefficient %g, z %g",
			          i, out[i].reversed_coef, out[i].reversed_z);
}

/* A meter that reports every day in reversed order, beside honest meters (the defaults):
 * the area's loss is exactly its day-reversed regressor, whose coefficient is 1 (an exact
 * fit: z 1e9); it steals no energy (the day's total is right), so its share is 0, and the
 * energy moved is the regressor's positive part. The honest meters get nothing. */
Test(attrib, reversed_day_exact)
{
	area_init(6, 14, 3600);
	reversed_from(2, 0);
	feeder_build(0);
	solve(NULL);
	cr_assert_eq(res.status, ATTRIB_OK);
	assert_rel(out[2].reversed_coef, 1.0, EXACT, "reversed coefficient", 2);
	cr_assert_eq(out[2].reversed_z, 1e9, "an exact fit: z %g", out[2].reversed_z);
	double moved = 0;
	for (uint32_t t = 0; t < fx.T; t++) {
		double d = fx.truth[2 * fx.T + t] - fx.metered[2 * fx.T + t];
		moved += d > 0 ? d : 0;
	}
	assert_rel(out[2].reversed_kwh, moved, EXACT, "energy moved", 2);
	assert_no_reversed_but(2, UINT32_MAX);
	for (uint32_t i = 0; i < fx.n; i++) {
		cr_assert(out[i].stolen_kwh <= EXACT * moved, "customer %u: stolen %g", i,
		          out[i].stolen_kwh);
		cr_assert_eq(out[i].share, 0.0, "customer %u: share %g", i, out[i].share);
	}
	assert_rel(res.tech.noload_kw, TECH_A, EXACT, "no-load loss", 0);
	assert_rel(res.tech.load_per_kw, TECH_C, EXACT, "load loss", 0);
}

/* The positive part of customer i's day-reversed regressor (its reading of the mirrored
 * interval less its own) over the days from `day` on. */
static double reversed_positive_from(uint32_t i, uint32_t day)
{
	uint32_t S = 86400 / (uint32_t)fx.dt;
	double sum = 0;
	for (uint32_t t = day_start(day); t < fx.T; t++) {
		const double *m = fx.metered + (size_t)i * fx.T;
		double d = m[t / S * S + (S - 1 - t % S)] - m[t];
		sum += d > 0 ? d : 0;
	}
	return sum;
}

/* With the transformer's +-0.5% noise over 28 hourly days and baselines from the expected
 * load: a meter reversed throughout gets a coefficient within 0.02 of 1, far above z 8; one
 * reversed from day 16 (a segment boundary) the share of the window's reversal energy after
 * it (0.43); a meter recording 0.7 of the truth beside them keeps its stolen energy and
 * most of the share; no honest meter's regressor joins the fit. */
Test(attrib, reversed_day_with_noise)
{
	area_init(10, 28, 3600);
	reversed_from(3, 0);
	reversed_from(6, 16);
	theft_throughout(8, 0.3);
	baseline_expected();
	feeder_build(0.005);
	solve(NULL);
	cr_log_info("reversed throughout: %g (z %g); from day 16: %g (z %g)", out[3].reversed_coef,
	            out[3].reversed_z, out[6].reversed_coef, out[6].reversed_z);
	assert_rel(out[3].reversed_coef, 1.0, 0.02, "reversed coefficient", 3);
	cr_assert_gt(out[3].reversed_z, 8.0);
	double after = reversed_positive_from(6, 16) / reversed_positive_from(6, 0);
	cr_assert_lt(fabs(out[6].reversed_coef - after), 0.02, "reversed from day 16: %g, want %g",
	             out[6].reversed_coef, after);
	cr_assert_gt(out[6].reversed_z, 8.0);
	assert_rel(out[8].stolen_kwh, true_stolen(8), 0.10, "stolen kWh", 8);
	cr_assert_gt(out[8].z, 10.0, "the metered thief: z %g", out[8].z);
	cr_assert_gt(out[8].share, 0.8, "the metered thief: share %g", out[8].share);
	assert_no_reversed_but(3, 6);
}

/* An area without a reversed meter passes no screen, so its fit is the one-fit solve's to
 * the last bit (reversed_screen_z 0 turns the screen off); a daily area has no hours to
 * mirror. */
Test(attrib, reversed_screen_keeps_other_areas)
{
	area_init(10, 28, 3600);
	theft_throughout(1, 0.3);
	theft_from(4, 0.5, 10);
	honest_drop_from(8, 0.4, 10);
	feeder_build(0.005);
	struct attrib_params p;
	attrib_params_default(&p);
	cr_assert_eq(p.reversed_screen_z, ATTRIB_REVERSED_SCREEN_Z);
	solve(&p);
	struct attrib_customer screened[MAX_C];
	struct attrib_area_result screened_res = res;
	memcpy(screened, out, sizeof(screened));
	assert_no_reversed_but(UINT32_MAX, UINT32_MAX);
	p.reversed_screen_z = 0;
	solve(&p);
	cr_assert(memcmp(&screened_res, &res, sizeof(res)) == 0, "the area's result moved");
	cr_assert(memcmp(screened, out, fx.n * sizeof(out[0])) == 0, "a finding moved");

	area_init(4, 28, 86400);
	reversed_from(1, 0);
	feeder_build(0);
	solve(NULL);
	assert_no_reversed_but(UINT32_MAX, UINT32_MAX);
}

/* A second fit that no joined regressor confirms gives way to the first fit, bit for bit:
 * with reversed_confirm_z out of reach, the area of reversed_day_with_noise solves as with
 * the screen off. */
Test(attrib, reversed_unconfirmed_first_fit_stands)
{
	area_init(10, 28, 3600);
	reversed_from(3, 0);
	theft_throughout(8, 0.3);
	baseline_expected();
	feeder_build(0.005);
	struct attrib_params p;
	attrib_params_default(&p);
	cr_assert_eq(p.reversed_confirm_z, ATTRIB_REVERSED_CONFIRM_Z);
	p.reversed_screen_z = 0;
	solve(&p);
	struct attrib_customer first[MAX_C];
	struct attrib_area_result first_res = res;
	memcpy(first, out, sizeof(first));
	attrib_params_default(&p);
	solve(&p);
	cr_assert_gt(out[3].reversed_z, p.reversed_confirm_z, "confirmed at the defaults");
	p.reversed_confirm_z = 1e12;
	solve(&p);
	assert_no_reversed_but(UINT32_MAX, UINT32_MAX);
	cr_assert(memcmp(&first_res, &res, sizeof(res)) == 0, "the area's result moved");
	cr_assert(memcmp(first, out, fx.n * sizeof(out[0])) == 0, "a finding moved");
}

/* A customer whose meter reads 0 throughout with no baseline has no column: it gets nothing,
 * carrier none, and the thief beside it is still exact. */
Test(attrib, customer_of_zeros)
{
	area_init(5, 14, 3600);
	for (uint32_t t = 0; t < fx.T; t++)
		fx.truth[2 * fx.T + t] = fx.metered[2 * fx.T + t] = fx.baseline[2 * fx.T + t] = 0;
	theft_throughout(4, 0.4);
	feeder_build(0);
	solve(plain());
	assert_exact_shares();
	cr_assert_eq(out[2].stolen_kwh, 0.0);
	cr_assert_eq(out[2].z, 0.0);
	cr_assert_eq(out[2].carrier, ATTRIB_REG_NONE);
}

/* An area of one customer, a thief at 0.3: its meter column is told from the load loss. */
Test(attrib, one_customer_area)
{
	area_init(1, 14, 3600);
	theft_throughout(0, 0.3);
	feeder_build(0);
	solve(plain());
	assert_exact_shares();
	assert_rel(out[0].share, 1.0, EXACT, "share", 0);
}

/* Missing transformer intervals are left out (rows counts the rest, the shares stay exact);
 * with fewer than 3 left the area is too thin: status says so and everything is 0. */
Test(attrib, missing_feeder_intervals)
{
	area_init(6, 14, 3600);
	theft_from(2, 0.4, 4);
	feeder_build(0);
	for (uint32_t t = 0; t < fx.T; t += 5)
		fx.feeder[t] = NAN;
	solve(plain());
	cr_assert_eq(res.rows, fx.T - (fx.T + 4) / 5);
	assert_exact_shares();

	for (uint32_t t = 2; t < fx.T; t++)
		fx.feeder[t] = NAN;
	solve(plain());
	cr_assert_eq(res.status, ATTRIB_TOO_FEW_ROWS);
	cr_assert_eq(res.rows, 1);
	for (uint32_t i = 0; i < fx.n; i++) {
		cr_assert_eq(out[i].stolen_kwh, 0.0);
		cr_assert_eq(out[i].carrier, ATTRIB_REG_NONE);
	}
}

/* Two customers whose meters read the same, one of them stealing and the other honestly
 * using what the first records: which one steals cannot be told. The ridge splits the energy
 * evenly, their sum is right, and neither is confident, with either z. */
Test(attrib, identical_customers_not_identifiable)
{
	area_init(5, 14, 3600);
	theft_throughout(3, 0.4);
	for (uint32_t t = 0; t < fx.T; t++) {
		double same = fx.metered[3 * fx.T + t];
		fx.truth[1 * fx.T + t] = fx.metered[1 * fx.T + t] = fx.baseline[1 * fx.T + t] = same;
	}
	feeder_build(0.005);
	struct attrib_params p;
	attrib_params_default(&p);
	for (int method = ATTRIB_Z_ACTIVE_SET; method <= ATTRIB_Z_CALIBRATED; method++) {
		p.z_method = (enum attrib_z_method)method;
		solve(&p);
		double want = true_stolen(3);
		assert_rel(out[1].stolen_kwh + out[3].stolen_kwh, want, 0.05, "the pair's stolen kWh",
		           3);
		assert_rel(out[1].stolen_kwh, out[3].stolen_kwh, 1e-6, "even split", 1);
		cr_assert_lt(out[1].z, 2.0, "z method %d: z %g", method, out[1].z);
		cr_assert_lt(out[3].z, 2.0, "z method %d: z %g", method, out[3].z);
	}
}

/* Without a baseline only the meter columns exist; a throughout thief is still exact. */
Test(attrib, no_baseline)
{
	area_init(5, 14, 3600);
	theft_throughout(0, 0.5);
	feeder_build(0);
	char err[256];
	struct attrib_area area = {
		.n_customers = fx.n, .n_intervals = fx.T, .interval_s = fx.dt,
		.feeder_kwh = fx.feeder, .metered_kwh = fx.metered, .baseline_kwh = NULL,
	};
	struct attrib_ws *ws = attrib_ws_new(fx.n, fx.T, ATTRIB_SEGMENTS_MAX);
	cr_assert_eq(attrib_solve(ws, &area, NULL, &res, out, err, sizeof(err)), 0, "%s", err);
	attrib_ws_free(ws);
	assert_exact_shares();
}

/* Bad input is refused with a message that names the value and where it is. */
Test(attrib, bad_input_named)
{
	area_init(3, 2, 3600);
	feeder_build(0);
	char err[256];
	struct attrib_area area = {
		.n_customers = fx.n, .n_intervals = fx.T, .interval_s = fx.dt,
		.feeder_kwh = fx.feeder, .metered_kwh = fx.metered, .baseline_kwh = fx.baseline,
	};
	struct attrib_ws *ws = attrib_ws_new(3, 48, ATTRIB_SEGMENTS_MAX);
	fx.metered[1 * fx.T + 17] = -1;
	cr_assert_eq(attrib_solve(ws, &area, NULL, &res, out, err, sizeof(err)), RISKD_ERR_INVALID);
	cr_assert_str_eq(err, "attrib: metered_kwh[customer 1, interval 17] = -1: energy must be "
	                      "finite and >= 0 (NAN for missing)");
	fx.metered[1 * fx.T + 17] = 0;
	fx.feeder[3] = INFINITY;
	cr_assert_eq(attrib_solve(ws, &area, NULL, &res, out, err, sizeof(err)), RISKD_ERR_INVALID);
	cr_assert_str_eq(err, "attrib: feeder_kwh[3] = inf: energy must be finite and >= 0 (NAN "
	                      "for missing)");
	fx.feeder[3] = 1;
	area.n_customers = 4;
	cr_assert_eq(attrib_solve(ws, &area, NULL, &res, out, err, sizeof(err)), RISKD_ERR_RANGE);
	cr_assert_str_eq(err, "attrib: area of 4 customers x 48 intervals in 7 segments exceeds "
	                      "the workspace (3 x 48 in 8)");
	attrib_ws_free(ws);
	cr_assert_null(attrib_ws_new(0, 10, 1));
	cr_assert_null(attrib_ws_new(3, 10, ATTRIB_SEGMENTS_MAX + 1));
}

/* The technical energy of model tech over the fixture's feeder. */
static double technical_kwh(const struct attrib_tech *tech)
{
	double dt_h = fx.dt / 3600.0, kwh = 0;
	for (uint32_t t = 0; t < fx.T; t++)
		if (!isnan(fx.feeder[t]))
			kwh += tech->noload_kw * dt_h + tech->load_per_kw * fx.feeder[t] * fx.feeder[t] / dt_h;
	return kwh;
}

/* The technical-loss fit recovers a and c exactly from a theft-free history. With a thief
 * taking 0.5 kWh unmetered in a random half of the intervals, least squares takes the theft
 * for technical loss (the fitted technical energy grows by about all of it), while the 0.2
 * quantile stays on the technical loss: at the true (a, c) half the residuals are 0. */
Test(attrib, technical_loss_fit)
{
	area_init(6, 28, 3600);
	feeder_build(0);
	static double customers[MAX_T], scratch[MAX_T];
	for (uint32_t t = 0; t < fx.T; t++) {
		customers[t] = 0;
		for (uint32_t i = 0; i < fx.n; i++)
			customers[t] += fx.metered[(size_t)i * fx.T + t];
	}
	struct attrib_tech tech, truth = {.noload_kw = TECH_A, .load_per_kw = TECH_C};
	enum attrib_tech_method methods[] = {ATTRIB_FIT_OLS, ATTRIB_FIT_HUBER, ATTRIB_FIT_QUANTILE};
	for (int m = 0; m < 3; m++) {
		attrib_tech_fit(fx.feeder, customers, fx.T, fx.dt, methods[m], 0.2, scratch, &tech);
		assert_rel(tech.noload_kw, TECH_A, 1e-8, "no-load loss", (uint32_t)m);
		assert_rel(tech.load_per_kw, TECH_C, 1e-8, "load loss", (uint32_t)m);
		cr_assert_eq(tech.points, fx.T);
	}
	double theft = 0;
	for (uint32_t t = 0; t < fx.T; t++)
		if (unit(5, t, 3) < 0.5) {
			customers[t] -= 0.5;
			theft += 0.5;
		}
	attrib_tech_fit(fx.feeder, customers, fx.T, fx.dt, ATTRIB_FIT_OLS, 0, NULL, &tech);
	cr_assert_gt(technical_kwh(&tech), technical_kwh(&truth) + 0.9 * theft,
	             "least squares absorbs the theft: %g", technical_kwh(&tech));
	attrib_tech_fit(fx.feeder, customers, fx.T, fx.dt, ATTRIB_FIT_QUANTILE, 0.2, NULL, &tech);
	assert_rel(tech.noload_kw, TECH_A, 1e-3, "no-load loss (quantile)", 0);
	assert_rel(tech.load_per_kw, TECH_C, 1e-3, "load loss (quantile)", 0);
	cr_assert_eq(tech.points, fx.T);

	fx.feeder[0] = NAN;
	attrib_tech_fit(fx.feeder, customers, 2, fx.dt, ATTRIB_FIT_OLS, 0, NULL, &tech);
	cr_assert_eq(tech.points, 0, "one usable interval fits nothing");
	cr_assert_eq(tech.noload_kw, 0.0);
}

/* The week profile: the mean per slot of the week over the history, a missing slot from its
 * time of day, then filled over a window that starts mid-week. */
Test(attrib, baseline_profile)
{
	static double hist[2 * 168], profile[168], window[48];
	for (uint32_t t = 0; t < 2 * 168; t++)
		hist[t] = (double)((t + 5) % 168) + (t >= 168 ? 2 : 0); /* week 2 is 2 kWh higher */
	hist[10] = hist[178] = NAN; /* slot 15 never read: its time of day (hour 15) instead */
	cr_assert_eq(attrib_baseline_profile(hist, 2 * 168, 3600, 5, profile, 168), 168);
	cr_assert_float_eq(profile[20], 21.0, 1e-12, "slot 20: mean of 20 and 22");
	/* hour 15 of the other six days: slots 39, 63, ... 159 -> values 39 .. 159, +1 */
	cr_assert_float_eq(profile[15], (39 + 63 + 87 + 111 + 135 + 159) / 6.0 + 1, 1e-12);
	attrib_baseline_fill(profile, 168, 160, 48, window);
	cr_assert_float_eq(window[0], profile[160], 0);
	cr_assert_float_eq(window[8], profile[0], 0);
	cr_assert_eq(attrib_baseline_profile(hist, 10, 7 * 3600 + 1, 0, profile, 168), 0);
	cr_assert_eq(attrib_baseline_profile(hist, 10, 3600, 0, profile, 100), 0);
}
