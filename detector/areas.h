/*
 * areas.h - the latest energy balance of every transformer area, as riskd's scoring reads
 * it (area_loss_rate, area_loss_excess, area_suspect_share). Loaded from risk.area_balance,
 * which PostgreSQL computes from all instances' committed data (deploy/sql/002).
 */
#ifndef RISKD_AREAS_H
#define RISKD_AREAS_H

#include <stddef.h>

#include <stdint.h>

#include "../scoring/features.h"
#include "../scoring/models.h"

/* Days of an area's daily loss series kept for the step features. */
#define AREA_SERIES_DAYS 56

struct area_balance {
	char transformer_id[64];
	double loss_rate;        /* latest balanced day */
	double loss_excess;      /* loss_rate minus the area's baseline loss rate; NAN if none */
	double excess_kwh;       /* mean excess energy a day over the last 7 balanced days */
	int32_t last_day;        /* local day (days since 1970-01-01) the series ends with */
	float rate[AREA_SERIES_DAYS];   /* loss rate of day last_day - 55 + i; NAN: not balanced */
	float feeder_kwh[AREA_SERIES_DAYS]; /* the transformer's energy that day */
	double rate_noise;       /* sd of the daily loss rate: set by area_table_add */
};

/* A sorted snapshot of every area's balance. Zero-initialise. */
struct area_table {
	struct area_balance *areas;
	size_t count, cap;
};

/* Empties the table, keeping its memory (before a reload). */
void area_table_reset(struct area_table *t);

/* Appends one area (a reload adds them in transformer_id order), measuring its rate_noise:
 * the median absolute change of the loss rate between consecutive balanced days of the
 * series, x 1.4826 / sqrt(2) (a steady loss with independent daily noise; a step moves one
 * change only), NAN with fewer than 7 such changes. */
void area_table_add(struct area_table *t, const struct area_balance *a);

/* The balance of transformer_id, or NULL. */
const struct area_balance *area_table_find(const struct area_table *t, const char *transformer_id);

/* Frees the table. */
void area_table_free(struct area_table *t);

/*
 * Sets the area features of fv for a customer of area a (NULL: they stay missing):
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
 * Stolen energy passes the transformer but not the meter, so it raises the area's loss rate
 * on the day it begins: a thief's share is about 1, an honest drop's about 0.
 */
void area_features(const struct area_balance *a, const struct models_split *split,
                   struct feature_vec *fv);

#endif
