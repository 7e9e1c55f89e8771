/*
 * store_attrib.h - the attribution's side of the store: an area-window claimed from
 * risk.area_attribution_queue and its energy sums loaded from the committed hourly and daily
 * rows (deploy/sql/011_area_attribution.sql), its findings saved, and the latest findings of
 * every area read back for the scorer.
 *
 * A claim is one PostgreSQL transaction: the queue row is locked (FOR UPDATE SKIP LOCKED, so
 * two instances never take the same window), the window is loaded - the hourly parts of its
 * days (late readings' sums) are taken out and added into their hourly rows as they are read,
 * so each is counted once whoever reads it - and store_attrib_save (or store_attrib_drop)
 * ends it. Nothing else may use the store while a claim is open.
 *
 * How the stored rows become the window (struct attrib_window, scoring/attrib_window.h):
 * - days end_day - history_days - window_days + 1 .. end_day; the area's customers are the
 *   rows of risk.customers with its transformer_id, in customer_id order (bytewise);
 * - the window is hourly (24 slots a day) when the transformer reads every hour or more often
 *   (the mean interval of its newest day in the window: covered seconds / readings), else
 *   daily (1 slot);
 * - hourly: a slot is the hour's sum (risk.hourly_usage, risk.transformer_hourly and the parts
 *   not yet folded into them), NAN when no reading began in it; a customer-day with a daily
 *   row but no hourly sum (a meter that reads daily) is spread over the 24 hours as a daily
 *   reading from midnight (daily_hours_add, scoring/daily.h), in whole micro-kWh;
 * - daily: the transformer's day is its energy when its readings cover the whole day, else
 *   NAN; a customer's day is its energy when it has a row, else NAN;
 * - energies are the exact micro-kWh sums / 1e6.
 */
#ifndef RISKD_STORE_ATTRIB_H
#define RISKD_STORE_ATTRIB_H

#include <stddef.h>
#include <stdint.h>

#include "../config/riskd_base.h"
#include "../scoring/attrib_window.h"
#include "store.h"

/* A claimed area-window with its sums. Zero-initialise; buffers grow and are reused. */
struct store_attrib_claim {
	char transformer_id[RISKD_ID_MAX + 1];
	struct attrib_window window;          /* arrays point into the buffers below */
	char (*customer_ids)[RISKD_ID_MAX + 1]; /* [window.n_customers], customer_id order */
	double *feeder_kwh, *metered_kwh;
	size_t customer_cap, feeder_cap, metered_cap;
	/* per entity-day (customer i's day d at i * days + d, the transformer's after them) */
	int64_t *daily_uwh;                   /* its daily row's energy */
	uint8_t *daily_whole;                 /* 0: no daily row, 1: a row, 2: a whole day's */
	struct store_hours *hours, *parts;    /* its hourly row, and its parts folded in */
	size_t entity_day_cap;
	int32_t feeder_interval_s;            /* the transformer's mean reading interval on its
	                                         newest day in the window; 0: no row */
};

/*
 * Claims the oldest queued area-window no other instance holds and loads its sums over
 * history_days + window_days days (attribution.*), in a transaction left open.
 * Returns 1 (claimed: end it with store_attrib_save or store_attrib_drop), 0 (nothing to
 * claim; no transaction open), or a negative riskd_err (rolled back).
 */
int store_attrib_claim(struct store *st, int window_days, int history_days,
                       struct store_attrib_claim *c, char *errstr, size_t errstr_size);

/*
 * Replaces the claimed window's stored findings with res and out[0 .. n_customers) (one
 * risk.area_attribution row per customer, one risk.area_attribution_window row), removes it
 * from the queue and commits. Returns 0 or a negative riskd_err (rolled back: the window
 * stays queued).
 */
int store_attrib_save(struct store *st, const struct store_attrib_claim *c,
                      const struct attrib_area_result *res, const struct attrib_finding *out,
                      char *errstr, size_t errstr_size);

/* Removes the claimed window from the queue without findings (a window that cannot be
 * solved) and commits. Returns 0 or a negative riskd_err. */
int store_attrib_drop(struct store *st, const struct store_attrib_claim *c, char *errstr,
                      size_t errstr_size);

/* Counts the queued area-windows into *queued. Returns 0 or a negative riskd_err. */
int store_attrib_queued(struct store *st, int64_t *queued, char *errstr, size_t errstr_size);

/*
 * Adds to t (area_table_add_finding) every customer's finding in the newest attributed window
 * of its area (risk.area_attribution at the area's latest window_end_day), and
 * (area_table_add_prev_finding) its finding in the area's window ending ATTRIB_PREV_DAYS
 * before that one, when that window was attributed; with transformer_id (else NULL) only that
 * area's, and with as_of_day (days since 1970-01-01 as text, else NULL) the newest window
 * ending on or before that day (and the one ATTRIB_PREV_DAYS before it). Returns the number
 * of findings (both kinds), or a negative riskd_err.
 */
struct area_table;
int store_attrib_load_findings(struct store *st, struct area_table *t,
                               const char *transformer_id, const char *as_of_day, char *errstr,
                               size_t errstr_size);

/* Frees c's buffers; c is zeroed and reusable. */
void store_attrib_claim_free(struct store_attrib_claim *c);

#endif
