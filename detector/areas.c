/*
 * areas.c - in-memory copy of the areas' latest energy balance, and the area features.
 */
#include "areas.h"

#include <math.h>
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
	t->areas[t->count++] = *a;
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

void area_features(const struct area_balance *a, struct feature_vec *fv)
{
	feature_unset(fv, FEAT_AREA_LOSS_RATE);
	feature_unset(fv, FEAT_AREA_LOSS_EXCESS);
	feature_unset(fv, FEAT_AREA_SUSPECT_SHARE);
	if (!a)
		return;
	if (isfinite(a->loss_rate))
		feature_set(fv, FEAT_AREA_LOSS_RATE, a->loss_rate);
	if (!isfinite(a->loss_excess))
		return;
	feature_set(fv, FEAT_AREA_LOSS_EXCESS, a->loss_excess);
	if (!feature_known(fv, FEAT_BASELINE_KWH_DAY) || !feature_known(fv, FEAT_KWH_AVG_7D))
		return;
	double drop = fv->value[FEAT_BASELINE_KWH_DAY] - fv->value[FEAT_KWH_AVG_7D];
	double share = 0;
	if (a->excess_kwh > 0 && drop > 0)
		share = drop / a->excess_kwh > 1 ? 1 : drop / a->excess_kwh;
	feature_set(fv, FEAT_AREA_SUSPECT_SHARE, share);
}
