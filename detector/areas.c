/*
 * areas.c - the table of every area's latest energy balance, and of its customers' findings
 * from the area's latest attribution, that riskd's scoring reads.
 */
#include "areas.h"

#include <stdlib.h>
#include <string.h>

#include "../config/riskd_base.h"
#include "../scoring/cstate.h"

void area_table_reset(struct area_table *t)
{
	t->count = 0;
	t->n_findings = 0;
	if (t->finding_index_cap)
		memset(t->finding_index, 0, t->finding_index_cap * sizeof(*t->finding_index));
}

void area_table_add(struct area_table *t, const struct area_balance *a)
{
	if (t->count == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->areas = xrealloc(t->areas, sizeof(*t->areas) * t->cap);
	}
	struct area_balance *added = &t->areas[t->count++];
	*added = *a;
	area_balance_measure(added);
}

const struct area_balance *area_table_find(const struct area_table *t, const char *transformer_id)
{
	size_t lo = 0, hi = t->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->areas[mid].transformer_id, transformer_id);
		if (c == 0)
			return &t->areas[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The index slot of customer_id: the one holding it, or the empty one where it goes. */
static size_t finding_slot(const struct area_table *t, const char *customer_id)
{
	size_t mask = t->finding_index_cap - 1;
	size_t s = (size_t)cstate_hash(customer_id, strlen(customer_id)) & mask;
	for (; t->finding_index[s]; s = (s + 1) & mask)
		if (strcmp(t->findings[t->finding_index[s] - 1].customer_id, customer_id) == 0)
			break;
	return s;
}

/* Doubles the index (or creates it) and puts every finding back. */
static void finding_index_grow(struct area_table *t)
{
	free(t->finding_index);
	t->finding_index_cap = t->finding_index_cap ? 2 * t->finding_index_cap : 256;
	t->finding_index = xcalloc(t->finding_index_cap, sizeof(*t->finding_index));
	for (size_t i = 0; i < t->n_findings; i++)
		t->finding_index[finding_slot(t, t->findings[i].customer_id)] = (uint32_t)i + 1;
}

/* The entry of customer_id, created empty (no finding yet) when new. */
static struct area_finding *finding_entry(struct area_table *t, const char *customer_id)
{
	char id[RISKD_ID_MAX + 1];
	riskd_strlcpy(id, sizeof(id), customer_id, strlen(customer_id));
	if (2 * (t->n_findings + 1) > t->finding_index_cap)
		finding_index_grow(t);
	size_t s = finding_slot(t, id);
	if (t->finding_index[s])
		return &t->findings[t->finding_index[s] - 1];
	if (t->n_findings == t->cap_findings) {
		t->cap_findings = t->cap_findings ? 2 * t->cap_findings : 256;
		t->findings = xrealloc(t->findings, sizeof(*t->findings) * t->cap_findings);
	}
	struct area_finding *added = &t->findings[t->n_findings];
	memset(added, 0, sizeof(*added));
	memcpy(added->customer_id, id, sizeof(id));
	t->finding_index[s] = (uint32_t)++t->n_findings;
	return added;
}

void area_table_add_finding(struct area_table *t, const char *customer_id,
                            const struct attrib_finding *f)
{
	struct area_finding *e = finding_entry(t, customer_id);
	e->finding = *f;
	e->has_latest = 1;
}

void area_table_add_prev_finding(struct area_table *t, const char *customer_id,
                                 const struct attrib_finding *f)
{
	struct area_finding *e = finding_entry(t, customer_id);
	e->prev = *f;
	e->has_prev = 1;
}

/* The entry of customer_id, or NULL. */
static const struct area_finding *finding_find(const struct area_table *t,
                                               const char *customer_id)
{
	if (t->n_findings == 0)
		return NULL;
	uint32_t item = t->finding_index[finding_slot(t, customer_id)];
	return item ? &t->findings[item - 1] : NULL;
}

const struct attrib_finding *area_table_find_finding(const struct area_table *t,
                                                     const char *customer_id)
{
	const struct area_finding *e = finding_find(t, customer_id);
	return e && e->has_latest ? &e->finding : NULL;
}

const struct attrib_finding *area_table_find_prev_finding(const struct area_table *t,
                                                          const char *customer_id)
{
	const struct area_finding *e = finding_find(t, customer_id);
	return e && e->has_prev ? &e->prev : NULL;
}

void area_table_free(struct area_table *t)
{
	free(t->areas);
	free(t->findings);
	free(t->finding_index);
	memset(t, 0, sizeof(*t));
}
