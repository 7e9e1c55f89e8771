/*
 * areas.h - the latest energy balance of every transformer area, as riskd's scoring reads
 * it (area_loss_rate, area_loss_excess, area_suspect_share). Loaded from risk.area_balance,
 * which PostgreSQL computes from all instances' committed data (deploy/sql/002).
 */
#ifndef RISKD_AREAS_H
#define RISKD_AREAS_H

#include <stddef.h>

#include "../scoring/features.h"

struct area_balance {
	char transformer_id[64];
	double loss_rate;        /* latest balanced day */
	double loss_excess;      /* loss_rate minus the area's baseline loss rate; NAN if none */
	double excess_kwh;       /* mean excess energy a day over the last 7 balanced days */
};

/* A sorted snapshot of every area's balance. Zero-initialise. */
struct area_table {
	struct area_balance *areas;
	size_t count, cap;
};

/* Empties the table, keeping its memory (before a reload). */
void area_table_reset(struct area_table *t);

/* Appends one area (a reload adds them in transformer_id order). */
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
 */
void area_features(const struct area_balance *a, struct feature_vec *fv);

#endif
