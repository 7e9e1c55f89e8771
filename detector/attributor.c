/*
 * attributor.c - claims queued area-windows, solves them with scoring/attrib_window.c and
 * saves the findings, within the time budget the main loop gives it.
 */
#include "attributor.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../config/riskd_base.h"
#include "log.h"
#include "metrics.h"
#include "store_attrib.h"

struct attributor {
	int window_days, history_days;
	struct attrib_window_solver *solver;
	struct store_attrib_claim claim;
	struct attrib_finding *findings;
	size_t findings_cap;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct attributor *attributor_new(int window_days, int history_days)
{
	struct attributor *a = xcalloc(1, sizeof(*a));
	a->window_days = window_days;
	a->history_days = history_days;
	a->solver = attrib_window_solver_new();
	return a;
}

void attributor_free(struct attributor *a)
{
	if (!a)
		return;
	attrib_window_solver_free(a->solver);
	store_attrib_claim_free(&a->claim);
	free(a->findings);
	free(a);
}

/* Solves the claimed window and ends its transaction: saved (1), dropped (0), or a store
 * error (negative). Adds the solve's and the save's seconds to *solve_s and *save_s. */
static int solve_claimed(struct attributor *a, struct store *st, double *solve_s,
                         double *save_s, char *errstr, size_t errstr_size)
{
	struct store_attrib_claim *c = &a->claim;
	uint32_t n = c->window.n_customers;
	if (n > a->findings_cap) {
		a->findings_cap = n;
		a->findings = xrealloc(a->findings, sizeof(*a->findings) * n);
	}
	struct attrib_area_result res;
	char why[512] = "the area has no customers";
	double t0 = now_s();
	int rc = n ? attrib_window_solve(a->solver, &c->window, &res, a->findings, why, sizeof(why))
	           : RISKD_ERR_INVALID;
	double t1 = now_s();
	*solve_s = t1 - t0;
	if (rc == 0) {
		rc = store_attrib_save(st, c, &res, a->findings, errstr, errstr_size);
		*save_s = now_s() - t1;
		return rc ? rc : 1;
	}
	char q[600];
	log_kv(LOG_WARN, "attribution_dropped", "transformer=%s end_day=%d error=%s",
	       c->transformer_id, (int)c->window.end_day, log_quote(q, sizeof(q), why));
	rc = store_attrib_drop(st, c, errstr, errstr_size);
	*save_s = now_s() - t1;
	return rc ? rc : 0;
}

int attributor_step(struct attributor *a, struct store *st, int budget_ms, int max_windows,
                    struct attributor_step *done, char *errstr, size_t errstr_size)
{
	double start = now_s();
	int rc = 0;
	done->solved = done->dropped = 0;
	done->more = 1;
	for (int taken = 0; taken < max_windows && (now_s() - start) * 1000 < budget_ms;
	     taken++) {
		double t0 = now_s();
		rc = store_attrib_claim(st, a->window_days, a->history_days, &a->claim, errstr,
		                        errstr_size);
		if (rc <= 0) {
			done->more = rc < 0;
			break;
		}
		double load_s = now_s() - t0, solve_s = 0, save_s = 0;
		rc = solve_claimed(a, st, &solve_s, &save_s, errstr, errstr_size);
		if (rc < 0)
			break;
		if (rc == 1) {
			done->solved++;
			metrics_attribution_done(now_s() - t0);
			log_kv(LOG_DEBUG, "attributed",
			       "transformer=%s end_day=%d customers=%u slots_per_day=%d load_ms=%.2f"
			       " solve_ms=%.2f save_ms=%.2f",
			       a->claim.transformer_id, (int)a->claim.window.end_day,
			       (unsigned)a->claim.window.n_customers, (int)a->claim.window.slots_per_day,
			       load_s * 1000, solve_s * 1000, save_s * 1000);
		} else {
			done->dropped++;
		}
		rc = 0;
	}
	int64_t queued = 0;
	if (rc == 0 && store_attrib_queued(st, &queued, errstr, errstr_size) == 0)
		metrics_attribution_queue((uint64_t)queued);
	return rc;
}
