/*
 * test_attrib_window.c - Criterion suite for scoring/attrib_window.c, an area-window of stored
 * sums into per-customer findings: hand-built windows (history days, then window days, hourly
 * or daily slots) whose transformer reads exactly its customers' true consumption plus a
 * technical loss a * dt + c * F^2 / dt, so that each finding's stolen energy, share and
 * energy a day are known in closed form - one thief, several thieves, an honest drop next to
 * a thief, silent meters, technical loss only, a daily window, missing transformer slots -
 * then a solver reused across areas of several sizes (the same findings, bit for bit) and
 * bad windows, each refused with a message naming what and where.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "scoring/attrib_window.h"
#include "test_unit_noise.h"

#define MAX_C 10
#define MAX_DAYS 56
#define MAX_SLOTS (MAX_DAYS * ATTRIB_HOURS)
#define TECH_A 0.15    /* no-load loss, kW */
#define TECH_C 0.004   /* load loss per kW */
#define TOL 2e-6       /* relative tolerance of a finding (a float) against the closed form */
#define END_DAY 20500  /* 2026-02-15 */

/* One hand-built area-window. */
static struct {
	uint32_t n, days, S;
	int32_t H, W;
	double truth[MAX_C * MAX_SLOTS];   /* what each customer takes */
	double metered[MAX_C * MAX_SLOTS]; /* what its meter records (NAN: no reading) */
	double feeder[MAX_SLOTS];
} fx;

static struct attrib_area_result res;
static struct attrib_finding found[MAX_C];

static size_t at(uint32_t i, uint32_t k)
{
	return (size_t)i * fx.days * fx.S + k;
}

/* Customer i's energy in slot k of day d: its level, a daily shape of its own and noise. With
 * weekly set, the value repeats every 7 days (so its baseline is exactly what it takes). */
static double load(uint32_t i, uint32_t d, uint32_t s, int weekly)
{
	double hours = 24.0 / fx.S;
	double hour = fx.S == 1 ? 12 : s;
	double shape = 1 + 0.6 * sin(2 * M_PI * (hour - 7 - 0.7 * i) / 24);
	uint64_t key = weekly ? (d % 7) * fx.S + s : (uint64_t)d * fx.S + s;
	return (0.3 + 0.1 * i) * shape * (0.5 + unit(i, key, weekly ? 3 : 1)) * hours;
}

/* n honest customers over H history days and W window days of S slots each: every meter
 * records the truth. */
static void window_init(uint32_t n, int32_t H, int32_t W, uint32_t S)
{
	memset(&fx, 0, sizeof(fx));
	fx.n = n;
	fx.H = H;
	fx.W = W;
	fx.S = S;
	fx.days = (uint32_t)(H + W);
	cr_assert(n <= MAX_C && fx.days <= MAX_DAYS);
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t k = 0; k < fx.days * S; k++)
			fx.truth[at(i, k)] = fx.metered[at(i, k)] = load(i, k / S, k % S, 0);
}

/* Customer i's load repeats every week (history and window alike). */
static void weekly(uint32_t i)
{
	for (uint32_t k = 0; k < fx.days * fx.S; k++)
		fx.truth[at(i, k)] = fx.metered[at(i, k)] = load(i, k / fx.S, k % fx.S, 1);
}

/* From day `day` (0: the first history day) on, customer i's meter records 1 - k of it. */
static void theft_from(uint32_t i, double k, uint32_t day)
{
	for (uint32_t s = day * fx.S; s < fx.days * fx.S; s++)
		fx.metered[at(i, s)] = (1 - k) * fx.truth[at(i, s)];
}

/* From `day` on, customer i honestly uses `factor` of what it used. */
static void honest_drop_from(uint32_t i, double factor, uint32_t day)
{
	for (uint32_t s = day * fx.S; s < fx.days * fx.S; s++)
		fx.metered[at(i, s)] = fx.truth[at(i, s)] *= factor;
}

/* From `day` on, customer i's meter sends nothing; the house still takes its load
 * (consuming) or is disconnected. */
static void silent_from(uint32_t i, uint32_t day, int consuming)
{
	for (uint32_t s = day * fx.S; s < fx.days * fx.S; s++) {
		fx.metered[at(i, s)] = NAN;
		if (!consuming)
			fx.truth[at(i, s)] = 0;
	}
}

/* The transformer: F = sum of truths + a dt + c F^2 / dt (fixed point to the last bit). */
static void feeder_build(void)
{
	double dt_h = 24.0 / fx.S;
	for (uint32_t k = 0; k < fx.days * fx.S; k++) {
		double sum = 0;
		for (uint32_t i = 0; i < fx.n; i++)
			sum += fx.truth[at(i, k)];
		double f = sum;
		for (int it = 0; it < 100; it++)
			f = sum + TECH_A * dt_h + TECH_C * f * f / dt_h;
		fx.feeder[k] = f;
	}
}

static struct attrib_window window(void)
{
	return (struct attrib_window){
	    .end_day = END_DAY, .window_days = fx.W, .history_days = fx.H,
	    .slots_per_day = (int32_t)fx.S, .n_customers = fx.n,
	    .feeder_kwh = fx.feeder, .metered_kwh = fx.metered,
	};
}

/* Solves the window with solver s (NULL: a fresh one) into res and found. */
static void solve_with(struct attrib_window_solver *s)
{
	char err[256] = "";
	struct attrib_window_solver *own = s ? NULL : attrib_window_solver_new();
	struct attrib_window w = window();
	int rc = attrib_window_solve(s ? s : own, &w, &res, found, err, sizeof(err));
	attrib_window_solver_free(own);
	cr_assert_eq(rc, 0, "attrib_window_solve: %s", err);
	for (uint32_t i = 0; i < fx.n; i++) {
		cr_assert_eq(found[i].window_end_day, END_DAY);
		cr_assert_eq(found[i].resolution_s, (int32_t)(86400 / fx.S));
		cr_assert(isfinite(found[i].share) && isfinite(found[i].z) &&
		          found[i].stolen_kwh >= 0 && found[i].z >= 0, "customer %u", i);
	}
}

static void solve(void)
{
	solve_with(NULL);
}

/* Customer i's stolen energy over the window slots with a transformer reading. */
static double true_stolen(uint32_t i)
{
	double s = 0;
	for (uint32_t k = (uint32_t)fx.H * fx.S; k < fx.days * fx.S; k++) {
		double m = fx.metered[at(i, k)];
		if (!isnan(fx.feeder[k]))
			s += fx.truth[at(i, k)] - (isnan(m) ? 0 : m);
	}
	return s;
}

static void assert_close(double got, double want, const char *what, uint32_t i)
{
	cr_assert(fabs(got - want) <= TOL * fmax(1.0, fabs(want)),
	          "%s of customer %u: got %.9g, want %.9g", what, i, got, want);
}

/* Every finding is the closed form: stolen kWh, its share of the total and kWh a day. */
static void assert_exact(void)
{
	double total = 0;
	for (uint32_t i = 0; i < fx.n; i++)
		total += true_stolen(i);
	double days = (double)res.rows / fx.S;
	cr_assert_eq(res.status, ATTRIB_OK);
	for (uint32_t i = 0; i < fx.n; i++) {
		double want = true_stolen(i);
		assert_close(found[i].stolen_kwh, want, "stolen kWh", i);
		assert_close(found[i].kwh_day, want / days, "stolen kWh a day", i);
		assert_close(found[i].share, total > 0 ? want / total : 0, "share", i);
		if (want == 0)
			cr_assert_eq(found[i].carrier, ATTRIB_REG_NONE, "customer %u", i);
	}
	assert_close(res.tech.noload_kw, TECH_A, "no-load loss", 0);
	assert_close(res.tech.load_per_kw, TECH_C, "load loss", 0);
}

/* One customer has stolen 0.4 since before the history: its own meter carries all of the
 * area's loss above the technical loss, with an exact fit's z. */
Test(attrib_window, one_thief)
{
	window_init(6, 14, 14, ATTRIB_HOURS);
	theft_from(2, 0.4, 0);
	feeder_build();
	solve();
	assert_exact();
	cr_assert_eq(res.rows, 14 * 24);
	cr_assert_eq(res.resolution_s, 3600);
	assert_close(found[2].share, 1.0, "share", 2);
	cr_assert_eq(found[2].carrier, ATTRIB_REG_METERED);
	cr_assert_gt(found[2].z, 1e6, "an exact fit: z %g", found[2].z);
	for (uint32_t i = 0; i < fx.n; i++)
		if (i != 2)
			cr_assert_eq(found[i].stolen_kwh, 0.0f, "customer %u", i);
}

/* Three thieves, two since before the history, one from the middle of the window: each gets
 * its own energy, and their shares sum to 1. */
Test(attrib_window, several_thieves)
{
	window_init(8, 14, 21, ATTRIB_HOURS);
	theft_from(1, 0.2, 0);
	theft_from(5, 0.5, 0);
	theft_from(6, 0.35, 14 + 9);
	feeder_build();
	solve();
	assert_exact();
	double sum = found[1].share + found[5].share + found[6].share;
	assert_close(sum, 1.0, "sum of the thieves' shares", 0);
	cr_assert_gt(found[6].stolen_kwh, 0.0f);
}

/* A neighbour halves its consumption on the day a thief starts: the honest drop, against its
 * baseline from the history days, gets nothing. (Onsets in these exact constructions fall on
 * a boundary of the window's 7 metered segments, so that the thief's columns follow it.) */
Test(attrib_window, honest_drop_next_to_thief)
{
	window_init(6, 14, 14, ATTRIB_HOURS);
	theft_from(1, 0.4, 14 + 6);
	honest_drop_from(3, 0.5, 14 + 6);
	feeder_build();
	solve();
	assert_exact();
	cr_assert_eq(found[3].stolen_kwh, 0.0f);
	cr_assert_eq(found[3].carrier, ATTRIB_REG_NONE);
	assert_close(found[1].share, 1.0, "share", 1);
}

/* Two meters fall silent in the window: one house still takes its usual (weekly) load,
 * which its baseline from the history days is exactly and which the area carries; the other
 * is disconnected and gets nothing. */
Test(attrib_window, silent_meter)
{
	window_init(6, 14, 14, ATTRIB_HOURS);
	weekly(0);
	silent_from(0, 14 + 6, 1);
	silent_from(4, 14 + 6, 0);
	feeder_build();
	solve();
	assert_exact();
	cr_assert_eq(found[0].carrier, ATTRIB_REG_SILENT);
	assert_close(found[0].share, 1.0, "share", 0);
	cr_assert_eq(found[4].stolen_kwh, 0.0f);
}

/* From day `day` on, customer i's meter reports each day's hours in reversed order (hour h
 * reads what flowed in hour 23 - h): the day's total is right. */
static void reversed_from(uint32_t i, uint32_t day)
{
	for (uint32_t k = day * fx.S; k < fx.days * fx.S; k++)
		fx.metered[at(i, k)] = fx.truth[at(i, k / fx.S * fx.S + (fx.S - 1 - k % fx.S))];
}

/* A meter reports its days reversed from day 6 of the window (a segment boundary): the
 * finding carries the day-reversed regressor's coefficient, the share of the window's
 * reversal energy from that day on (its segments before it at 0, after it at 1), with an
 * exact fit's z; nobody steals energy (the days' totals are right) and no honest meter gets
 * a reversed coefficient. A daily window has no hours to mirror. */
Test(attrib_window, reversed_day)
{
	window_init(6, 14, 14, ATTRIB_HOURS);
	reversed_from(4, 14 + 6);
	feeder_build();
	solve();
	double after = 0, all = 0;
	for (uint32_t k = 14 * fx.S; k < fx.days * fx.S; k++) {
		uint32_t mirror = k / fx.S * fx.S + (fx.S - 1 - k % fx.S);
		double d = fx.metered[at(4, mirror)] - fx.metered[at(4, k)];
		double honest = fx.truth[at(4, mirror)] - fx.truth[at(4, k)];
		/* before day 6 the meter read the truth: its regressor is the truth's mirror */
		d = k >= (14 + 6) * fx.S ? d : honest;
		all += d > 0 ? d : 0;
		after += k >= (14 + 6) * fx.S && d > 0 ? d : 0;
	}
	assert_close(found[4].reversed_coef, after / all, "reversed coefficient", 4);
	cr_assert_eq(found[4].reversed_z, 1e9f, "an exact fit: z %g", found[4].reversed_z);
	for (uint32_t i = 0; i < fx.n; i++) {
		cr_assert(found[i].stolen_kwh < 1e-6f, "customer %u: stolen %g", i, found[i].stolen_kwh);
		if (i != 4)
			cr_assert(found[i].reversed_coef == 0 && found[i].reversed_z == 0,
			          "customer %u: reversed %g (z %g)", i, found[i].reversed_coef,
			          found[i].reversed_z);
	}
	assert_close(res.tech.noload_kw, TECH_A, "no-load loss", 0);

	window_init(4, 14, 28, 1);
	reversed_from(1, 14);
	feeder_build();
	solve();
	for (uint32_t i = 0; i < fx.n; i++)
		cr_assert_eq(found[i].reversed_coef, 0.0f, "daily customer %u", i);
}

/* No thief: the technical loss is found exactly and nobody gets anything. */
Test(attrib_window, technical_loss_only)
{
	window_init(8, 14, 28, ATTRIB_HOURS);
	feeder_build();
	solve();
	assert_exact();
	for (uint32_t i = 0; i < fx.n; i++) {
		cr_assert_eq(found[i].stolen_kwh, 0.0f, "customer %u", i);
		cr_assert_eq(found[i].share, 0.0f, "customer %u", i);
		cr_assert_eq(found[i].z, 0.0f, "customer %u", i);
	}
}

/* A daily-only area: one row a day over 28 window days after 28 history days, one thief;
 * the findings say 86400 s. */
Test(attrib_window, daily_window)
{
	window_init(3, 28, 28, 1);
	theft_from(1, 0.3, 0);
	feeder_build();
	solve();
	cr_assert_eq(res.resolution_s, 86400);
	cr_assert_eq(res.rows, 28);
	assert_exact();
	assert_close(found[1].share, 1.0, "share", 1);
	cr_assert_eq(found[1].carrier, ATTRIB_REG_METERED);
}

/* Transformer slots without a reading are left out of the fit; the stolen energy counts the
 * slots that have one. Days before the area's data are all missing. */
Test(attrib_window, missing_transformer_slots)
{
	window_init(5, 14, 14, ATTRIB_HOURS);
	theft_from(3, 0.25, 0);
	feeder_build();
	for (uint32_t k = 0; k < 3 * 24; k++)
		fx.feeder[k] = NAN;                       /* history days without the transformer */
	for (uint32_t k = 14 * 24 + 30; k < 14 * 24 + 40; k++)
		fx.feeder[k] = NAN;                       /* ten window hours */
	solve();
	cr_assert_eq(res.rows, 14 * 24 - 10);
	assert_exact();
}

/* Non-zero when every field of a[0 .. n) has the same bits as b's. */
static int same_findings(const struct attrib_finding *a, const struct attrib_finding *b,
                         uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (a[i].window_end_day != b[i].window_end_day ||
		    a[i].resolution_s != b[i].resolution_s || a[i].carrier != b[i].carrier ||
		    memcmp(&a[i].share, &b[i].share, sizeof(float)) ||
		    memcmp(&a[i].kwh_day, &b[i].kwh_day, sizeof(float)) ||
		    memcmp(&a[i].stolen_kwh, &b[i].stolen_kwh, sizeof(float)) ||
		    memcmp(&a[i].z, &b[i].z, sizeof(float)))
			return 0;
	return 1;
}

/* One solver over areas of several sizes and both resolutions gives each area the findings
 * a fresh solver gives, bit for bit, and so does solving an area twice. */
Test(attrib_window, solver_reused_same_findings)
{
	struct attrib_finding fresh[MAX_C];
	struct attrib_window_solver *s = attrib_window_solver_new();
	static const struct {
		uint32_t n, S;
		int32_t H, W;
	} areas[] = {{4, ATTRIB_HOURS, 7, 14}, {9, ATTRIB_HOURS, 14, 28}, {3, 1, 28, 28},
	             {4, ATTRIB_HOURS, 7, 14}};
	for (size_t a = 0; a < sizeof(areas) / sizeof(areas[0]); a++) {
		window_init(areas[a].n, areas[a].H, areas[a].W, areas[a].S);
		theft_from(1, 0.3, (uint32_t)areas[a].H + 3);
		feeder_build();
		solve();
		memcpy(fresh, found, sizeof(fresh));
		solve_with(s);
		cr_assert(same_findings(fresh, found, fx.n), "area %zu", a);
		solve_with(s);
		cr_assert(same_findings(fresh, found, fx.n), "area %zu again", a);
	}
	attrib_window_solver_free(s);
}

/* Runs a bad window and checks the error and its message. */
static void assert_refused(const struct attrib_window *w, const char *needle)
{
	char err[256] = "";
	struct attrib_window_solver *s = attrib_window_solver_new();
	int rc = attrib_window_solve(s, w, &res, found, err, sizeof(err));
	attrib_window_solver_free(s);
	cr_assert_eq(rc, RISKD_ERR_INVALID, "accepted: want an error with '%s'", needle);
	cr_assert(strstr(err, needle), "message '%s' lacks '%s'", err, needle);
	cr_assert(!strchr(err, '\n'), "a one-line message: '%s'", err);
}

Test(attrib_window, bad_windows_named)
{
	window_init(3, 7, 7, ATTRIB_HOURS);
	feeder_build();
	struct attrib_window w = window();
	w.slots_per_day = 12;
	assert_refused(&w, "12 slots");
	w = window();
	w.window_days = 0;
	assert_refused(&w, "7 + 0 days");
	w = window();
	w.n_customers = 0;
	assert_refused(&w, "0 customers");
	w = window();
	w.metered_kwh = NULL;
	assert_refused(&w, "metered arrays");

	fx.metered[at(2, 30)] = -1;   /* customer 2, history day 1 (END_DAY - 12), hour 6 */
	w = window();
	assert_refused(&w, "customer 2 energy -1 on day 20488 slot 6");
	fx.metered[at(2, 30)] = 0;
	fx.feeder[7 * 24 + 5] = INFINITY;
	assert_refused(&w, "transformer energy inf on day 20494 slot 5");
}
