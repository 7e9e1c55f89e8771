/*
 * rules_names.c - the names a rule condition may read: the features of the registry
 * (scoring/features.h) and the customer attributes of the schema rule files are checked
 * against (scoring/attributes.h). An attribute is read like a feature: a number attribute as
 * a number, a category attribute as a symbol whose values are the category's value texts.
 * Operand ids below RULES_ATTR_BASE are feature ids; id RULES_ATTR_BASE + slot is the
 * attribute in that slot of the schema.
 */
#include <string.h>

#include "rules_int.h"

/* The schema later loads check rule files against; set once at start. */
static const struct attr_schema *attributes_in_use;

void ruleset_use_attributes(const struct attr_schema *schema)
{
	attributes_in_use = schema;
}

const struct attr_schema *ruleset_attributes_in_use(void)
{
	return attributes_in_use;
}

static void name_of_attribute(const struct attr_schema *attrs, int slot, struct rules_name *out)
{
	const struct attr_def *def = &attrs->defs[slot];
	out->id = RULES_ATTR_BASE + slot;
	out->name = def->name;
	out->unit = "";
	out->attribute = 1;
	if (def->type == ATTR_NUMBER) {
		out->type = FEATURE_NUM;
		out->symbols = NULL;
		out->n_symbols = 0;
	} else {
		out->type = FEATURE_SYM;
		out->symbols = (const char *const *)def->values;
		out->n_symbols = def->n_values;
	}
}

static void name_of_feature(const struct feature_def *def, struct rules_name *out)
{
	out->id = (int)def->id;
	out->name = def->name;
	out->type = def->type;
	out->unit = def->unit;
	out->attribute = 0;
	out->n_symbols = 0;
	out->symbols = def->type == FEATURE_SYM ? feature_symbols(def->id, &out->n_symbols) : NULL;
}

int rules_name_lookup(const struct attr_schema *attrs, const char *name, size_t len,
                      struct rules_name *out)
{
	const struct feature_def *def = feature_lookup(name, len);
	if (def) {
		name_of_feature(def, out);
		return 0;
	}
	int slot = attrs ? attr_schema_find(attrs, name, len) : -1;
	if (slot < 0)
		return -1;
	name_of_attribute(attrs, slot, out);
	return 0;
}

void rules_name_of(const struct attr_schema *attrs, int id, struct rules_name *out)
{
	if (id >= RULES_ATTR_BASE)
		name_of_attribute(attrs, id - RULES_ATTR_BASE, out);
	else
		name_of_feature(feature_def((enum feature_id)id), out);
}

const char *rules_suggest_operand(const struct attr_schema *attrs, const char *name, size_t len)
{
	const char *names[FEAT__COUNT + ATTR_MAX];
	size_t count = 0;
	for (int i = 0; i < FEAT__COUNT; i++)
		names[count++] = feature_def((enum feature_id)i)->name;
	for (size_t i = 0; attrs && i < attrs->count; i++)
		names[count++] = attrs->defs[i].name;
	return suggest_name(name, len, names, count);
}
