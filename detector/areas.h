/*
 * areas.h - the latest energy balance of every transformer area, as riskd's scoring reads
 * it: a table loaded from risk.area_balance, which PostgreSQL computes from all instances'
 * committed data (deploy/sql/002; detector/store.c store_load_areas), or filled by the
 * offline engine from its in-memory balance. The model itself - struct area_balance, the
 * noise of its series and the area features - is scoring/balance.h.
 */
#ifndef RISKD_AREAS_H
#define RISKD_AREAS_H

#include <stddef.h>

#include "../scoring/balance.h"

/* A sorted snapshot of every area's balance. Zero-initialise. */
struct area_table {
	struct area_balance *areas;
	size_t count, cap;
};

/* Empties the table, keeping its memory (before a reload). */
void area_table_reset(struct area_table *t);

/* Appends a copy of one area's balance (a reload adds them in transformer_id order) and
 * prepares the copy for the step features (area_balance_measure: weekly pattern out,
 * rate_noise measured). */
void area_table_add(struct area_table *t, const struct area_balance *a);

/* The balance of transformer_id, or NULL. */
const struct area_balance *area_table_find(const struct area_table *t, const char *transformer_id);

/* Frees the table; it is empty and reusable afterwards. */
void area_table_free(struct area_table *t);

#endif
