/*
 * areas.h - the latest energy balance of every transformer area, and the latest attribution
 * of each area's loss to its customers, as riskd's scoring reads them: a table loaded from
 * PostgreSQL (risk.area_balance, which PostgreSQL computes from all instances' committed data:
 * deploy/sql/002; detector/store.c store_load_areas; and the attribution's findings), or
 * filled by the offline engine from its in-memory balance and attribution. The models
 * themselves - struct area_balance, the noise of its series and the area features - are
 * scoring/balance.h; the attribution and struct attrib_finding are scoring/attrib_window.h.
 *
 * Two parts, filled together after an area_table_reset:
 *   - per area, its balance (area_table_add, in transformer_id order), which also says
 *     whether and how the area was attributed (area_balance.attrib_resolution_s and
 *     attrib_end_day: 0 resolution when it was not);
 *   - per customer, what the area's latest attribution found for it (area_table_add_finding,
 *     in any order, hashed by customer_id), and what the area's window ending
 *     ATTRIB_PREV_DAYS before that one found (area_table_add_prev_finding). A customer of an
 *     attributed area without a finding was given nothing: the features read share 0, not
 *     missing; without a previous finding the area_attrib_prev_* features are missing.
 */
#ifndef RISKD_AREAS_H
#define RISKD_AREAS_H

#include <stddef.h>
#include <stdint.h>

#include "../scoring/attrib_window.h"
#include "../scoring/balance.h"

/* One customer's findings, as the table keeps them. */
struct area_finding {
	char customer_id[RISKD_ID_MAX + 1];
	struct attrib_finding finding;  /* in the area's latest window (has_latest) */
	struct attrib_finding prev;     /* in its window ATTRIB_PREV_DAYS before (has_prev) */
	uint8_t has_latest, has_prev;
};

/* A snapshot of every area's balance and of its customers' findings. Zero-initialise. */
struct area_table {
	struct area_balance *areas;           /* sorted by transformer_id */
	size_t count, cap;
	struct area_finding *findings;        /* in the order added */
	size_t n_findings, cap_findings;
	uint32_t *finding_index;              /* finding + 1; 0 = empty; power-of-two size */
	size_t finding_index_cap;
};

/* Empties the table (balances and findings), keeping its memory (before a reload). */
void area_table_reset(struct area_table *t);

/* Appends a copy of one area's balance (a reload adds them in transformer_id order) and
 * prepares the copy for the step features (area_balance_measure: weekly pattern out,
 * rate_noise measured). */
void area_table_add(struct area_table *t, const struct area_balance *a);

/* The balance of transformer_id, or NULL. */
const struct area_balance *area_table_find(const struct area_table *t, const char *transformer_id);

/*
 * Adds a copy of customer customer_id's finding (at most RISKD_ID_MAX bytes are kept) from
 * its area's latest attribution. Findings are added in any order after a reset; a second
 * finding for the same customer replaces the first.
 */
void area_table_add_finding(struct area_table *t, const char *customer_id,
                            const struct attrib_finding *f);

/*
 * Adds a copy of customer customer_id's finding in the area's window ending ATTRIB_PREV_DAYS
 * before its latest one, as area_table_add_finding does the latest (a second replaces the
 * first; the latest finding is not touched).
 */
void area_table_add_prev_finding(struct area_table *t, const char *customer_id,
                                 const struct attrib_finding *f);

/* The previous window's finding of customer_id (area_table_add_prev_finding), or NULL. Valid
 * until the next reset or add. */
const struct attrib_finding *area_table_find_prev_finding(const struct area_table *t,
                                                          const char *customer_id);

/* The finding of customer_id, or NULL (not attributed, or given nothing by the area's
 * attribution when the area's balance says it was attributed). Valid until the next reset or
 * add. */
const struct attrib_finding *area_table_find_finding(const struct area_table *t,
                                                     const char *customer_id);

/* Frees the table; it is empty and reusable afterwards. */
void area_table_free(struct area_table *t);

#endif
