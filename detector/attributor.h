/*
 * attributor.h - the live attribution of each area's non-technical loss to its customers:
 * riskd's main loop hands it a time budget between batches, and it solves area-windows
 * queued in PostgreSQL (risk.area_attribution_queue, filled when an area-day is balanced)
 * one at a time: claim, load the window's committed sums, attrib_window_solve, save the
 * findings (detector/store_attrib.h). The same solve runs in the offline engine, so live and
 * offline findings agree on the same sums; docs/detection.md ("Integration") describes it.
 *
 * Single-threaded: called from the main loop while nothing else uses the store.
 */
#ifndef RISKD_ATTRIBUTOR_H
#define RISKD_ATTRIBUTOR_H

#include <stdint.h>

#include "store.h"

struct attributor;

/* Creates an attributor over windows of window_days days after history_days days of
 * baseline (attribution.window_days, attribution.history_days). Aborts on out-of-memory. */
struct attributor *attributor_new(int window_days, int history_days);

/* Frees a (NULL is fine). */
void attributor_free(struct attributor *a);

/* What one attributor_step did. */
struct attributor_step {
	int solved;         /* area-windows attributed and saved */
	int dropped;        /* area-windows removed from the queue unsolved (logged) */
	int more;           /* the queue may still hold windows this instance can claim */
};

/*
 * Attributes queued area-windows through st, one transaction each, until the queue has none
 * left to claim, max_windows were taken, or budget_ms milliseconds have passed (checked
 * between windows: one window may overrun it by its own time). A window the solver rejects is
 * logged (attribution_dropped) and removed from the queue. Updates the attribution metrics
 * and counts the queue afterwards. Fills *done; returns 0, or a negative riskd_err from the
 * store (the window being claimed stays queued; errstr says why).
 */
int attributor_step(struct attributor *a, struct store *st, int budget_ms, int max_windows,
                    struct attributor_step *done, char *errstr, size_t errstr_size);

#endif
