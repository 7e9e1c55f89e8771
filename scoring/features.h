/*
 * features.h - the feature registry: named, typed values that the models fill per customer
 * and that rules and scorecards read. The list itself is scoring/feature_list.h.
 *
 * A struct feature_vec holds one customer's values; a feature not yet known for the customer
 * (too few days observed, no profile, no bills) is "missing": rules treat comparisons against
 * it as false, scorecards put it in the missing bin.
 */
#ifndef RISKD_FEATURES_H
#define RISKD_FEATURES_H

#include <stddef.h>
#include <stdint.h>

enum feature_type { FEATURE_NUM, FEATURE_BOOL, FEATURE_SYM };

enum feature_id {
#define FEATURE(id, name, type, unit, doc) FEAT_##id,
#include "feature_list.h"
#undef FEATURE
	FEAT__COUNT
};

struct feature_def {
	enum feature_id id;
	const char *name;
	enum feature_type type;
	const char *unit;
	const char *doc;
};

/* One customer's feature values. SYM values hold the symbol's code (feature_symbols()). */
struct feature_vec {
	double value[FEAT__COUNT];
	uint64_t known[(FEAT__COUNT + 63) / 64]; /* bit set = value present */
};

/* The registry entry of id (valid id required). */
const struct feature_def *feature_def(enum feature_id id);

/* Looks a feature up by name (len bytes). Returns NULL if there is none. */
const struct feature_def *feature_lookup(const char *name, size_t len);

/*
 * The allowed symbol names of a SYM feature, in code order (code = index), and their count
 * in *count; NULL with *count 0 for other types. segment: residential, commercial,
 * industrial, agricultural (codes 0..3). area_attrib_carrier: metered, shortfall, silent,
 * none (codes 0..3: enum attrib_regressor, ATTRIB_REG_NONE as 3).
 */
const char *const *feature_symbols(enum feature_id id, size_t *count);

/* Marks every feature missing. */
void feature_vec_clear(struct feature_vec *fv);

/* Sets a value and marks it known. */
static inline void feature_set(struct feature_vec *fv, enum feature_id id, double value)
{
	fv->value[id] = value;
	fv->known[id / 64] |= (uint64_t)1 << (id % 64);
}

/* Marks a value missing. */
static inline void feature_unset(struct feature_vec *fv, enum feature_id id)
{
	fv->known[id / 64] &= ~((uint64_t)1 << (id % 64));
}

/* Non-zero when the value is known. */
static inline int feature_known(const struct feature_vec *fv, enum feature_id id)
{
	return (int)((fv->known[id / 64] >> (id % 64)) & 1u);
}

#endif
