/*
 * balance.h - the energy balance of a transformer area and the area features read from it.
 *
 * Stolen energy passes the transformer but not the customer's meter, so it raises the share
 * of the transformer's energy that no customer meter records: the area's loss rate. This is
 * the one C implementation of that model, pure computation (no I/O, no clock):
 *
 *   - the balance of an area-day (struct area_day -> struct area_day_balance) and the history
 *     it reads its baseline from (struct area_history): deploy/sql/002_area_balance.sql is
 *     the source of truth for stored results (risk.area_balance); this computes the same
 *     figures from the same daily sums, for the offline engine (detector/replay_balance.c);
 *   - an area's latest balance as scoring reads it (struct area_balance, filled from
 *     risk.area_balance by detector/store.c or from an area_history by area_history_latest)
 *     and the area features of a customer (area_features).
 *
 * Days are local days (days since 1970-01-01); energy is in integer micro-kWh as riskd sums
 * it, so a sum does not depend on the order of its readings.
 */
#ifndef RISKD_BALANCE_H
#define RISKD_BALANCE_H

#include <stddef.h>
#include <stdint.h>

#include "attrib_window.h"
#include "features.h"
#include "models.h"

/* Days of an area's daily loss series kept for the step features. */
#define AREA_SERIES_DAYS 56
/* A whole day of readings, in seconds: the coverage an area-day needs to be balanced. */
#define AREA_DAY_SECONDS 86400

/* ---- the balance of one area-day ---- */

/* The sums of one area-day as its readings arrive. Zero-initialise; area_day_reset empties. */
struct area_day {
	int has_feeder;            /* the transformer has a reading that day */
	int64_t feeder_uwh;        /* the transformer's energy */
	int32_t feeder_covered_s;  /* seconds of the day its readings cover */
	int64_t customers_uwh;     /* the energy of the area's customers */
	uint32_t complete;         /* customers whose readings cover the whole day, or whose day
	                              closed silent */
};

/* Adds the transformer's energy of the day (uwh) and the seconds its readings cover. */
void area_day_add_feeder(struct area_day *d, int64_t uwh, int32_t covered_s);

/* Adds one customer's energy of the day (uwh) and the seconds its readings cover. */
void area_day_add_customer(struct area_day *d, int64_t uwh, int32_t covered_s);

/* Counts one more customer whose readings do not cover the day, but whose day closed with
 * its meter silent (its energy, if any, added already): PostgreSQL counts such a day
 * (risk.daily_usage.silent) as complete. */
void area_day_add_silent(struct area_day *d);

/* Non-zero when the area-day can be balanced (risk.refresh_area_balance's condition): the
 * transformer's readings cover the whole day and so do those of each of the area's
 * `customers` customers (at least one). */
int area_day_complete(const struct area_day *d, uint32_t customers);

/* Empties d for the next day. */
void area_day_reset(struct area_day *d);

/* One balanced area-day: the figures of a risk.area_balance row. */
struct area_day_balance {
	double feeder_kwh;         /* the transformer's energy */
	double customers_kwh;      /* its customers' energy */
	double loss_rate;          /* (feeder - customers) / feeder; NAN when the feeder read 0 */
	double baseline_loss_rate; /* the area's normal loss (area_history_baseline); NAN if none */
	double excess_kwh;         /* (loss_rate - baseline_loss_rate) * feeder; NAN if either is */
	uint32_t customers;        /* customers of the area */
};

/* ---- an area's balance history ---- */

/* Loss rates an area keeps for its baseline: the 60 days before a day fit in 64 slots. */
#define AREA_HISTORY 64
/* Balanced rows whose mean excess the area features read (area_balance.excess_kwh). */
#define AREA_RECENT 7
_Static_assert(AREA_SERIES_DAYS <= AREA_HISTORY, "an area's series must fit its loss history");

/* The balanced days of one area, oldest forgotten first. Set up with area_history_init. */
struct area_history {
	int32_t loss_day[AREA_HISTORY];   /* day held in slot day % AREA_HISTORY, or INT32_MIN */
	double loss[AREA_HISTORY];        /* its loss rate */
	double feeder_kwh[AREA_HISTORY];  /* its transformer energy */
	struct area_day_balance recent[AREA_RECENT]; /* newest at (next_recent - 1) % AREA_RECENT */
	int n_recent, next_recent;
	int32_t newest_day;               /* the newest balanced day (n_recent > 0) */
};

/* Empties h: no day balanced. */
void area_history_init(struct area_history *h);

/*
 * risk.area_baseline_loss(area, day): the 20th percentile (percentile_cont) of the area's
 * loss rates over the 60 days before `day`, once at least 7 of those days have one; else NAN.
 * A low quantile stays near the technical loss while theft raises part of the window.
 */
double area_history_baseline(const struct area_history *h, int32_t day);

/*
 * Balances the complete area-day `day` of an area with `customers` customers from its sums
 * (risk.refresh_area_balance), records it in h and fills *out. Days are balanced in order:
 * the baseline reads the days balanced before.
 */
void area_history_balance_day(struct area_history *h, int32_t day, const struct area_day *sums,
                              uint32_t customers, struct area_day_balance *out);

/* ---- the latest balance, as scoring reads it ---- */

struct area_balance {
	char transformer_id[64];
	double loss_rate;        /* latest balanced day */
	double loss_excess;      /* loss_rate minus the area's baseline loss rate; NAN if none */
	double excess_kwh;       /* mean excess energy a day over the last 7 balanced days */
	int32_t last_day;        /* local day (days since 1970-01-01) the series ends with */
	float rate[AREA_SERIES_DAYS];   /* loss rate of day last_day - 55 + i; NAN: not balanced */
	float feeder_kwh[AREA_SERIES_DAYS]; /* the transformer's energy that day */
	double rate_noise;       /* sd of the daily loss rate: set by area_balance_measure */
	/* the area's latest attribution of its loss to its customers (scoring/attrib_window.h),
	 * whose per-customer findings the area table holds (detector/areas.h) */
	int32_t attrib_resolution_s; /* 3600 or 86400: its slots; 0: the area was not attributed
	                                (a zeroed balance reads as not attributed) */
	int32_t attrib_end_day;      /* local day its window ended with (attrib_resolution_s > 0) */
};

/*
 * Fills *out with the latest balance of a history with a balanced day (n_recent > 0), as
 * detector/store.c reads it from risk.area_balance: the newest day's loss rate and excess
 * over its baseline, the mean excess energy of the newest AREA_RECENT rows that have one
 * (0 when none has), and the series of the AREA_SERIES_DAYS days ending on the newest day.
 * transformer_id is set to "" (the caller names the area); call area_balance_measure next.
 */
void area_history_latest(const struct area_history *h, struct area_balance *out);

/*
 * Prepares a filled balance for the step features: takes the weekly pattern out of its
 * series (each weekday's mean over at least 2 days moved to the mean of all days: a large
 * customer's stolen or lost energy follows its own week, which would otherwise swamp a step
 * of a few kWh), then measures rate_noise: the median absolute change of the loss rate
 * between consecutive balanced days of the series, x 1.4826 / sqrt(2) (a steady loss with
 * independent daily noise; a step moves one change only), at least 1e-5, NAN with fewer than
 * 7 such changes.
 */
void area_balance_measure(struct area_balance *a);

/*
 * Sets the area features of fv for a customer of area a (NULL: they stay missing), whose
 * finding in the area's latest attribution is `finding` (NULL: none):
 * when the area was attributed (a->attrib_resolution_s > 0), area_balance_resolution, and
 * area_attrib_share, area_attrib_kwh_day, area_attrib_z and area_attrib_carrier from the
 * finding (0, 0, 0 and none without one: the attribution gave the customer nothing), and
 * area_attrib_ratio = area_attrib_kwh_day / kwh_avg_14d (fv's, when known and positive),
 * area_attrib_reversed_coef and area_attrib_reversed_z from the finding (0 without one);
 * with prev (the customer's finding in the area's window ending ATTRIB_PREV_DAYS before the
 * latest; NULL: none), area_attrib_prev_share, area_attrib_prev_z and area_attrib_prev_ratio
 * (its kwh_day / the same kwh_avg_14d);
 * area_loss_rate, area_loss_excess, and area_suspect_share = the customer's own drop
 * (baseline_kwh_day - kwh_avg_7d, when both are known and positive) over the area's excess
 * energy, clipped to 0..1 (0 when the area has no excess).
 * With split (the customer's step down, models_drop_split; NULL: none), the step features
 * compare the area's loss over the same days: with rb and ra the mean loss rates of the
 * area's balanced days among the MODELS_SPLIT_BEFORE days before split->day (at least 7) and
 * from split->day on (at least 3), and F the mean feeder energy of the latter,
 *   area_step_kwh   = (ra - rb) * F
 *   area_step_z     = (ra - rb) / (rate_noise * sqrt(1/na + 1/nb))
 *   area_step_share = area_step_kwh / (split->before_kwh - split->after_kwh), within -5..5
 *   area_step_offset_days = the day c within 7 days of split->day whose rise - the mean loss
 *                   rate of c .. c + 6 (at most split->last_day) against the 7 days before
 *                   c, in noise units - is highest, minus split->day
 * A thief's share is about 1, an honest drop's about 0. a must have been measured
 * (area_balance_measure).
 */
void area_features(const struct area_balance *a, const struct attrib_finding *finding,
                   const struct attrib_finding *prev, const struct models_split *split,
                   struct feature_vec *fv);

/*
 * Sets in mask (a bit per feature id, (FEAT__COUNT + 63) / 64 words, as feature_vec.known)
 * the bit of every feature area_features sets, and leaves the other bits as they are: the
 * features a customer's day waits for when its area's results of the day are not in yet.
 */
void area_features_mark(uint64_t *mask);

#endif
