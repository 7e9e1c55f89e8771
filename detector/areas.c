/*
 * areas.c - the table of every area's latest energy balance that riskd's scoring reads.
 */
#include "areas.h"

#include <stdlib.h>
#include <string.h>

#include "../config/riskd_base.h"

void area_table_reset(struct area_table *t)
{
	t->count = 0;
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

void area_table_free(struct area_table *t)
{
	free(t->areas);
	memset(t, 0, sizeof(*t));
}
