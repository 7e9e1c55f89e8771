/*
 * features.c - the feature registry table built from scoring/feature_list.h.
 */
#include "features.h"

#include <string.h>

static const struct feature_def registry[FEAT__COUNT] = {
#define FEATURE(id, name, type, unit, doc) {FEAT_##id, name, FEATURE_##type, unit, doc},
#include "feature_list.h"
#undef FEATURE
};

static const char *const segment_symbols[] = {"residential", "commercial", "industrial",
                                              "agricultural"};
/* enum attrib_regressor's names (scoring/attrib.h) in code order, then none */
static const char *const carrier_symbols[] = {"metered", "shortfall", "silent", "none"};

const struct feature_def *feature_def(enum feature_id id)
{
	return &registry[id];
}

const struct feature_def *feature_lookup(const char *name, size_t len)
{
	for (int i = 0; i < FEAT__COUNT; i++)
		if (strlen(registry[i].name) == len && memcmp(registry[i].name, name, len) == 0)
			return &registry[i];
	return NULL;
}

const char *const *feature_symbols(enum feature_id id, size_t *count)
{
	if (id == FEAT_SEGMENT) {
		*count = sizeof(segment_symbols) / sizeof(segment_symbols[0]);
		return segment_symbols;
	}
	if (id == FEAT_AREA_ATTRIB_CARRIER) {
		*count = sizeof(carrier_symbols) / sizeof(carrier_symbols[0]);
		return carrier_symbols;
	}
	*count = 0;
	return NULL;
}

void feature_vec_clear(struct feature_vec *fv)
{
	memset(fv->known, 0, sizeof(fv->known));
}
