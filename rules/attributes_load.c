/*
 * attributes_load.c - attribute schema files read into a struct attr_schema (see
 * attributes_load.h). Walks the YAML tree of the file (rules_yaml.c) with the shared readers
 * (rules_ynode.c), reporting every error through the file's diagnostics (rules_diag.c) and
 * keeping going, as the scorecard loader does.
 */
#include "attributes_load.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../scoring/features.h"
#include "policy_files.h"
#include "rules_int.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define RANGE_LIMIT 1e15

static const char *const top_keys[] = {"attributes", "description"};
static const char *const attr_keys[] = {"name", "type", "values", "range", "description",
                                        "reason"};
static const char *const range_keys[] = {"min", "max"};
static const char *const type_names[] = {"number", "category"};

/* A one-line text of at most max bytes (control characters refused). Returns it or NULL. */
static const char *load_line(struct rules_src *src, const struct ynode *n, const char *key,
                             size_t max)
{
	if (!ynode_text(src, n, key))
		return NULL;
	int control = 0;
	for (size_t i = 0; i < n->len; i++)
		control |= (unsigned char)n->value[i] < 0x20 || n->value[i] == 0x7f;
	if (n->len > max || control) {
		rules_src_error(src, n->start, "'%s' must be one line of at most %zu bytes", key, max);
		return NULL;
	}
	return n->value;
}

/* The attribute's name, checked; returns its slot in schema or -1 after reporting. */
static int load_name(struct rules_src *src, const struct ynode *m, struct attr_schema *schema,
                     enum attr_type type)
{
	char shown[48];
	const struct ynode *n = ynode_get(m, "name");
	if (!n) {
		rules_src_error(src, m->start, "attribute is missing required key 'name'");
		return -1;
	}
	if (!ynode_text(src, n, "name"))
		return -1;
	rules_show(shown, sizeof shown, n->value, n->len);
	if (!attr_name_valid(n->value, n->len)) {
		rules_src_error(src, n->start, "bad attribute name '%s': use lower-case letters, "
		                "digits and '_', starting with a letter, at most %d", shown,
		                ATTR_NAME_MAX);
		return -1;
	}
	if (feature_lookup(n->value, n->len)) {
		rules_src_error(src, n->start, "'%s' is a feature riskd computes: give the attribute "
		                "another name", shown);
		return -1;
	}
	int slot = attr_schema_find(schema, n->value, n->len);
	if (slot >= 0) {
		rules_src_error(src, n->start, "attribute '%s' is declared twice", shown);
		return -1;
	}
	slot = attr_schema_add(schema, n->value, type);
	if (slot < 0)
		rules_src_error(src, n->start, "more than %d attributes", ATTR_MAX);
	return slot;
}

static void load_values(struct rules_src *src, const struct ynode *m, struct attr_def *def)
{
	const struct ynode *v = ynode_get(m, "values");
	if (!v) {
		rules_src_error(src, m->start, "category '%s' is missing required key 'values' (its "
		                "allowed values)", def->name);
		return;
	}
	if (v->type != YNODE_SEQ || v->count == 0) {
		rules_src_error(src, v->start, "'values' must be a list of the allowed values, not %s",
		                v->type == YNODE_SEQ ? "an empty list" : ynode_noun(v));
		return;
	}
	for (size_t i = 0; i < v->count; i++) {
		const struct ynode *item = v->items[i];
		char shown[48];
		if (!load_line(src, item, "a value", ATTR_VALUE_MAX))
			continue;
		if (attr_def_code(def, item->value, item->len) >= 0) {
			rules_src_error(src, item->start, "value '%s' is listed twice",
			                rules_show(shown, sizeof shown, item->value, item->len));
			continue;
		}
		if (attr_def_add_value(def, item->value, item->len) < 0) {
			rules_src_error(src, item->start, "more than %d values", ATTR_VALUES_MAX);
			return;
		}
	}
}

static void load_range(struct rules_src *src, const struct ynode *m, struct attr_def *def)
{
	const struct ynode *r = ynode_get(m, "range");
	if (!r)
		return;
	if (r->type != YNODE_MAP) {
		rules_src_error(src, r->start, "'range' must be a mapping such as {min: 0, max: 100}, "
		                "not %s", ynode_noun(r));
		return;
	}
	ynode_check_keys(src, r, range_keys, COUNT(range_keys), NULL, "in a range");
	const struct ynode *lo = ynode_get(r, "min"), *hi = ynode_get(r, "max");
	if (lo)
		ynode_number(src, lo, "min", -RANGE_LIMIT, RANGE_LIMIT, &def->min);
	if (hi && ynode_number(src, hi, "max", -RANGE_LIMIT, RANGE_LIMIT, &def->max) == 0 &&
	    !(def->max > def->min))
		rules_src_error(src, hi->start, "'max' (%g) must be above 'min' (%g)", def->max,
		                def->min);
}

static void load_attr(struct rules_src *src, const struct ynode *m, struct attr_schema *schema)
{
	char shown[48];
	ynode_check_keys(src, m, attr_keys, COUNT(attr_keys), NULL, "in an attribute");
	const struct ynode *t = ynode_get(m, "type");
	size_t type = COUNT(type_names);
	if (!t) {
		rules_src_error(src, m->start, "attribute is missing required key 'type' (number or "
		                "category)");
	} else if ((type = ynode_find(t, type_names, COUNT(type_names))) == COUNT(type_names)) {
		const char *hint = ynode_suggest(t, type_names, COUNT(type_names));
		if (t->type != YNODE_SCALAR)
			rules_src_error(src, t->start, "'type' must be number or category, not %s",
			                ynode_noun(t));
		else
			rules_src_error(src, t->start, "unknown type '%s' (%s%s%s)",
			                rules_show(shown, sizeof shown, t->value, t->len),
			                hint ? "did you mean '" : "expected number or category",
			                hint ? hint : "", hint ? "'?" : "");
	}
	int slot = load_name(src, m, schema, type == 1 ? ATTR_CATEGORY : ATTR_NUMBER);
	struct attr_def scratch = {.min = -INFINITY, .max = INFINITY};
	struct attr_def *def = slot >= 0 ? &schema->defs[slot] : &scratch;
	const struct ynode *n;
	if (type == 0) {
		if ((n = ynode_get(m, "values")) != NULL)
			rules_src_error(src, n->start, "'values' is for categories; a number may give a "
			                "'range'");
		load_range(src, m, def);
	} else if (type == 1) {
		if ((n = ynode_get(m, "range")) != NULL)
			rules_src_error(src, n->start, "'range' is for numbers; a category lists its "
			                "'values'");
		load_values(src, m, def);
	}
	if ((n = ynode_get(m, "description")) != NULL) {
		const char *text = ynode_text(src, n, "description");
		if (text && n->len > ATTR_DESCRIPTION_MAX)
			rules_src_error(src, n->start, "'description' is longer than %d bytes",
			                ATTR_DESCRIPTION_MAX);
		else if (text)
			attr_def_set_description(def, text);
	}
	if ((n = ynode_get(m, "reason")) == NULL) {
		rules_src_error(src, m->start, "attribute is missing required key 'reason' (the text a "
		                "card gives when the attribute costs points)");
	} else {
		const char *text = load_line(src, n, "reason", ATTR_REASON_MAX);
		if (text)
			attr_def_set_reason(def, text);
	}
	for (size_t v = 0; v < scratch.n_values; v++)
		free(scratch.values[v]);
	free(scratch.values);
	free(scratch.description);
}

static void load_schema(struct rules_src *src, const struct ynode *root,
                        struct attr_schema *schema)
{
	if (root->type != YNODE_MAP) {
		rules_src_error(src, root->start, "an attribute schema is a mapping with 'attributes', "
		                "not %s", ynode_noun(root));
		return;
	}
	ynode_check_keys(src, root, top_keys, COUNT(top_keys), NULL,
	                 "at the top of an attribute schema");
	const struct ynode *n = ynode_get(root, "description");
	if (n)
		ynode_text(src, n, "description");
	n = ynode_get(root, "attributes");
	if (!n) {
		rules_src_error(src, root->start, "missing required key 'attributes' (a list, which "
		                "may be empty: attributes: [])");
		return;
	}
	if (n->type != YNODE_SEQ) {
		rules_src_error(src, n->start, "'attributes' must be a list of attributes, not %s",
		                ynode_noun(n));
		return;
	}
	for (size_t i = 0; i < n->count; i++) {
		const struct ynode *m = n->items[i];
		if (m->type != YNODE_MAP) {
			rules_src_error(src, m->start, "an attribute is a mapping with name, type, values or "
			                "range, description and reason, not %s", ynode_noun(m));
			continue;
		}
		load_attr(src, m, schema);
	}
}

int attributes_load_text(const char *path, const char *text, size_t len,
                         struct attr_schema **out, struct rules_diags *diags)
{
	struct rules_src src;
	struct rules_arena arena = {0};
	struct attr_schema *schema = attr_schema_new();
	rules_src_init(&src, path, text ? text : "", text ? len : 0, diags);
	struct ynode *root = rules_yaml_parse_as(&src, &arena, "an attribute schema",
	                                         "the file is empty; an attribute schema is a "
	                                         "mapping with 'attributes' (a list)");
	if (root)
		load_schema(&src, root, schema);
	rules_arena_free(&arena);
	int failed = src.errors > 0;
	rules_src_finish(&src);
	*out = NULL;
	if (failed) {
		attr_schema_free(schema);
		return RISKD_ERR_INVALID;
	}
	*out = schema;
	return 0;
}

int attributes_load_path(const char *path, struct attr_schema **out, struct rules_diags *diags)
{
	size_t len = 0;
	char *text = policy_file_read(path, "an attribute schema", &len, diags);
	*out = NULL;
	if (!text)
		return RISKD_ERR_INVALID;
	int rc = attributes_load_text(path, text, len, out, diags);
	free(text);
	return rc;
}
