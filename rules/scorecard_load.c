/*
 * scorecard_load.c - credit scorecard files read into cards (see scorecard_load.h;
 * docs/credit.md documents the format). Walks the YAML tree of one file (rules_yaml.c) with
 * the shared readers (rules_ynode.c), reporting every error through the file's diagnostics
 * (rules_diag.c) and keeping going; then checks each card against the cards of its set.
 */
#include "scorecard_load.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_files.h"
#include "rules_int.h"

#define POINTS_LIMIT 100000.0
#define CARD_FILE_MAX (4u << 20)

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const grade_notes[] = {
	NULL, NULL, NULL, NULL, "has no cut-off: C is every score below B's cut-off"};
static const char *const top_keys[] = {"scorecard", "version",     "description", "segments",
                                       "default",   "base_points", "scaling",     "grades",
                                       "characteristics"};
static const char *const char_keys[] = {"feature", "attribute", "type",        "code",
                                        "reason",  "missing_reason", "description", "bins"};
static const char *const bin_keys[] = {"from", "to", "values", "missing", "other", "points"};
static const char *const attr_type_names[] = {"number", "category"};

/* What a characteristic reads: a registry feature (def) or a customer attribute (def NULL),
 * by name, and the type its bins follow (attributes: FEATURE_NUM or FEATURE_SYM). */
struct char_kind {
	const struct feature_def *def;
	const char *name;
	enum feature_type type;
};
static const char *const scaling_keys[] = {"base_points", "base_odds", "pdo"};

/* ---- one file ---- */

/* Where the set-level checks point: the name, each listed segment, the default flag. */
struct card_marks {
	size_t root, name, deflt;
	size_t segment[SEGMENT__COUNT];
};

struct card_load {
	struct rules_src *src;
	struct scorecard *card;
	struct card_marks marks;
};

static int valid_name(const char *text, size_t len)
{
	if (len == 0 || len > SCORECARD_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

static int valid_code(const char *text, size_t len)
{
	if (len == 0 || len > SCORECARD_CODE_MAX || !(text[0] >= 'A' && text[0] <= 'Z'))
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

/* A name checked against its pattern, copied into dst (SCORECARD_NAME_MAX + 1 bytes). */
static void load_name(struct card_load *cl, const struct ynode *root, const char *key,
                      const char *missing, char *dst)
{
	char shown[48];
	const struct ynode *n = ynode_get(root, key);
	if (!n) {
		rules_src_error(cl->src, root->start, "missing required key '%s'%s", key, missing);
		return;
	}
	if (!ynode_text(cl->src, n, key))
		return;
	if (!valid_name(n->value, n->len)) {
		rules_src_error(cl->src, n->start,
		                "bad %s '%s': use letters, digits, '_', '-' and '.', at most %d",
		                strcmp(key, "scorecard") == 0 ? "scorecard name" : key,
		                rules_show(shown, sizeof shown, n->value, n->len), SCORECARD_NAME_MAX);
		return;
	}
	memcpy(dst, n->value, n->len + 1);
	if (strcmp(key, "scorecard") == 0)
		cl->marks.name = n->start;
}

static void load_segments(struct card_load *cl, const struct ynode *root)
{
	struct rules_src *src = cl->src;
	size_t nsym;
	const char *const *names = feature_symbols(FEAT_SEGMENT, &nsym);
	const struct ynode *n = ynode_get(root, "segments");
	if (!n) {
		rules_src_error(src, root->start,
		                "missing required key 'segments' (the customer segments this card "
		                "grades)");
		return;
	}
	if (n->type != YNODE_SEQ || n->count == 0) {
		rules_src_error(src, n->start, "'segments' must be a list of segments (%s, %s, %s, %s)",
		                names[0], names[1], names[2], names[3]);
		return;
	}
	for (size_t i = 0; i < n->count; i++) {
		const struct ynode *item = n->items[i];
		char shown[48];
		size_t s = ynode_find(item, names, nsym);
		if (s == nsym) {
			const char *hint = ynode_suggest(item, names, nsym);
			if (item->type != YNODE_SCALAR)
				rules_src_error(src, item->start, "a segment must be a name, not %s",
				                ynode_noun(item));
			else if (hint)
				rules_src_error(src, item->start, "unknown segment '%s' (did you mean '%s'?)",
				                rules_show(shown, sizeof shown, item->value, item->len), hint);
			else
				rules_src_error(src, item->start, "unknown segment '%s' (expected %s, %s, %s "
				                "or %s)", rules_show(shown, sizeof shown, item->value, item->len),
				                names[0], names[1], names[2], names[3]);
			continue;
		}
		enum segment seg = (enum segment)(s + 1); /* symbol codes are enum segment - 1 */
		if (cl->card->segments & (1u << seg)) {
			rules_src_error(src, item->start, "segment '%s' is listed twice", names[s]);
			continue;
		}
		cl->card->segments |= 1u << seg;
		cl->marks.segment[seg] = item->start;
	}
}

static void load_grades(struct card_load *cl, const struct ynode *root)
{
	struct rules_src *src = cl->src;
	const struct ynode *n = ynode_get(root, "grades");
	if (!n) {
		rules_src_error(src, root->start,
		                "missing required key 'grades' (the least points for AAA, AA, A and B)");
		return;
	}
	if (n->type != YNODE_MAP) {
		rules_src_error(src, n->start,
		                "'grades' must be a mapping of AAA, AA, A and B to their least points, "
		                "not %s", ynode_noun(n));
		return;
	}
	ynode_check_keys(src, n, credit_grade_names, RULE_GRADE__COUNT, grade_notes, "in grades");
	int prev = -1;
	for (int g = 0; g < RULE_GRADE_C; g++) {
		const struct ynode *v = ynode_get(n, credit_grade_names[g]);
		if (!v) {
			rules_src_error(src, ynode_key_pos(root, "grades"), "missing grade '%s' in grades",
			                credit_grade_names[g]);
			continue;
		}
		double points;
		if (ynode_number(src, v, credit_grade_names[g], -POINTS_LIMIT, POINTS_LIMIT, &points) < 0)
			continue;
		cl->card->cutoff[g] = points;
		if (prev >= 0 && !(points < cl->card->cutoff[prev]))
			rules_src_error(src, v->start, "the cut-off of %s (%g) must be below %s's (%g)",
			                credit_grade_names[g], points, credit_grade_names[prev], cl->card->cutoff[prev]);
		else
			prev = g;
	}
}

static void load_scaling(struct card_load *cl, const struct ynode *root)
{
	const struct ynode *n = ynode_get(root, "scaling");
	if (!n)
		return;
	if (n->type != YNODE_MAP) {
		rules_src_error(cl->src, n->start,
		                "'scaling' must be a mapping of base_points, base_odds and pdo, not %s",
		                ynode_noun(n));
		return;
	}
	ynode_check_keys(cl->src, n, scaling_keys, COUNT(scaling_keys), NULL, "in scaling");
	for (size_t i = 0; i < COUNT(scaling_keys); i++) {
		const struct ynode *v = ynode_get(n, scaling_keys[i]);
		double value;
		if (v)
			ynode_number(cl->src, v, scaling_keys[i], i == 0 ? -POINTS_LIMIT : 1e-9,
			           POINTS_LIMIT, &value);
	}
}

/* What one bin node holds, before the characteristic-wide checks. */
struct bin_read {
	const struct ynode *node, *from, *to;
	int missing, other;
	int ok;
	struct scorecard_bin bin;
};

/* The names a bin of a boolean or symbol feature may list, and their count. */
static const char *const *kind_names(const struct char_kind *k, size_t *count)
{
	static const char *const bools[] = {"false", "true"};
	*count = 2;
	return k->type == FEATURE_BOOL ? bools : feature_symbols(k->def->id, count);
}

/* One listed value of a category attribute's bin: its index among ch's values (added when
 * new), or -1 after reporting. */
static int load_category_value(struct card_load *cl, const struct ynode *item,
                               struct scorecard_char *ch)
{
	struct rules_src *src = cl->src;
	if (!ynode_text(src, item, "a value"))
		return -1;
	int control = 0;
	for (size_t i = 0; i < item->len; i++)
		control |= (unsigned char)item->value[i] < 0x20 || item->value[i] == 0x7f;
	if (item->len > ATTR_VALUE_MAX || control) {
		rules_src_error(src, item->start, "a value of '%s' must be one line of at most %d "
		                "bytes", ch->attr, ATTR_VALUE_MAX);
		return -1;
	}
	int k = attr_list_find(ch->cats, ch->n_cats, item->value, item->len);
	if (k >= 0)
		return k;
	k = scorecard_char_add_category(ch, item->value, item->len);
	if (k < 0)
		rules_src_error(src, item->start, "more than %d values in the bins of '%s'",
		                SCORECARD_SYMBOLS_MAX, ch->attr);
	return k;
}

/* Reads the values of a boolean, symbol or category bin into bin->values. */
static int load_bin_values(struct card_load *cl, const struct ynode *v, const struct char_kind *k,
                           struct scorecard_char *ch, struct scorecard_bin *bin, size_t *value_pos)
{
	struct rules_src *src = cl->src;
	char shown[48];
	size_t nsym = 0;
	const char *const *names = k->def ? kind_names(k, &nsym) : NULL;
	if (v->type != YNODE_SEQ || v->count == 0) {
		rules_src_error(src, v->start, "'values' must be a list of %s values of '%s', not %s",
		                k->type == FEATURE_BOOL ? "boolean" : k->def ? "symbol" : "category",
		                k->name, v->type == YNODE_SEQ ? "an empty list" : ynode_noun(v));
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < v->count; i++) {
		const struct ynode *item = v->items[i];
		size_t s;
		if (!k->def) {
			int idx = load_category_value(cl, item, ch);
			if (idx < 0) {
				rc = -1;
				continue;
			}
			s = (size_t)idx;
		} else if ((s = ynode_find(item, names, nsym)) == nsym) {
			const char *hint = ynode_suggest(item, names, nsym);
			if (item->type != YNODE_SCALAR)
				rules_src_error(src, item->start, "a value of '%s' must be a scalar, not %s",
				                k->name, ynode_noun(item));
			else if (k->type == FEATURE_BOOL)
				rules_src_error(src, item->start,
				                "'%s' is a boolean: give true or false, not '%s'", k->name,
				                rules_show(shown, sizeof shown, item->value, item->len));
			else if (hint)
				rules_src_error(src, item->start, "unknown %s '%s' (did you mean '%s'?)",
				                k->name, rules_show(shown, sizeof shown, item->value, item->len),
				                hint);
			else
				rules_src_error(src, item->start, "unknown %s '%s'", k->name,
				                rules_show(shown, sizeof shown, item->value, item->len));
			rc = -1;
			continue;
		}
		if (value_pos[s] != RULES_NO_POS) {
			rules_src_error(src, item->start, "'%s' is already in the bin on line %d",
			                rules_show(shown, sizeof shown, item->value, item->len),
			                rules_src_line(src, value_pos[s]));
			rc = -1;
			continue;
		}
		value_pos[s] = item->start;
		bin->values |= (uint64_t)1 << s;
	}
	return rc;
}

/* The `missing: true` or `other: true` flag of a bin: the bin then holds no values. */
static void load_bin_flag(struct card_load *cl, const struct ynode *flag_node, const char *key,
                          struct bin_read *br, const struct char_kind *k)
{
	struct rules_src *src = cl->src;
	int flag = 0;
	if (ynode_bool(src, flag_node, key, &flag) < 0) {
		br->ok = 0;
		return;
	}
	if (!flag) {
		rules_src_error(src, flag_node->start, "'%s: false' says nothing: leave it out, or "
		                "write '%s: true' for the bin of %s", key, key,
		                strcmp(key, "missing") == 0 ? "a missing value" : "other values");
		br->ok = 0;
		return;
	}
	if (strcmp(key, "other") == 0 && (k->def || k->type != FEATURE_SYM)) {
		rules_src_error(src, flag_node->start, "'other' is for category attributes; '%s' has "
		                "a bin for each of its values", k->name);
		br->ok = 0;
		return;
	}
	br->missing = strcmp(key, "missing") == 0;
	br->other = !br->missing;
	const struct ynode *m = br->node;
	const struct ynode *extra = br->from ? br->from : br->to ? br->to : ynode_get(m, "values");
	if (!extra && br->missing)
		extra = ynode_get(m, "other");
	if (extra) {
		rules_src_error(src, extra->start, "the %s bin holds no values: give it only '%s' and "
		                "'points'", key, key);
		br->ok = 0;
	}
}

static void load_bin(struct card_load *cl, const struct ynode *m, const struct char_kind *k,
                     struct scorecard_char *ch, struct bin_read *br, size_t *value_pos)
{
	struct rules_src *src = cl->src;
	br->node = m;
	br->ok = 1;
	if (m->type != YNODE_MAP) {
		rules_src_error(src, m->start,
		                "a bin is a mapping such as {from: 0, to: 30, points: 12}, not %s",
		                ynode_noun(m));
		br->ok = 0;
		return;
	}
	ynode_check_keys(src, m, bin_keys, COUNT(bin_keys), NULL, "in a bin");
	const struct ynode *points = ynode_get(m, "points");
	const struct ynode *missing = ynode_get(m, "missing");
	const struct ynode *other = ynode_get(m, "other");
	const struct ynode *values = ynode_get(m, "values");
	br->from = ynode_get(m, "from");
	br->to = ynode_get(m, "to");
	if (!points) {
		rules_src_error(src, m->start, "bin is missing required key 'points'");
		br->ok = 0;
	} else if (ynode_number(src, points, "points", -POINTS_LIMIT, POINTS_LIMIT, &br->bin.points) <
	           0) {
		br->ok = 0;
	}
	if (missing || other) {
		load_bin_flag(cl, missing ? missing : other, missing ? "missing" : "other", br, k);
		return;
	}
	if (k->type == FEATURE_NUM) {
		if (values) {
			rules_src_error(src, values->start,
			                "'values' is for boolean, symbol and category values; '%s' is a "
			                "number: use 'from' and 'to'", k->name);
			br->ok = 0;
		}
		br->bin.from = -INFINITY;
		br->bin.to = INFINITY;
		if (br->from &&
		    ynode_number(src, br->from, "from", -1e15, 1e15, &br->bin.from) < 0)
			br->ok = 0;
		if (br->to && ynode_number(src, br->to, "to", -1e15, 1e15, &br->bin.to) < 0)
			br->ok = 0;
		return;
	}
	const struct ynode *range = br->from ? br->from : br->to;
	if (range) {
		rules_src_error(src, range->start,
		                "'%s' is for numeric features; '%s' is a %s: list its 'values'",
		                br->from ? "from" : "to", k->name,
		                k->type == FEATURE_BOOL ? "boolean" : k->def ? "symbol" : "category");
		br->ok = 0;
	}
	if (!values) {
		rules_src_error(src, m->start, "bin is missing required key 'values' (the %s values "
		                "of '%s' it takes)", k->type == FEATURE_BOOL ? "boolean" : k->def ?
		                "symbol" : "category", k->name);
		br->ok = 0;
	} else if (load_bin_values(cl, values, k, ch, &br->bin, value_pos) < 0) {
		br->ok = 0;
	}
}

/* Numeric bins, in file order, must follow on from minus to plus infinity. */
static int check_numeric_bins(struct card_load *cl, struct bin_read *reads, size_t n)
{
	struct rules_src *src = cl->src;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		struct bin_read *br = &reads[i];
		if (i == 0 && br->from) {
			rules_src_error(src, br->from->start,
			                "the first bin must leave out 'from': it takes every value below "
			                "its 'to'");
			rc = -1;
		}
		if (i > 0) {
			double prev_to = reads[i - 1].bin.to;
			if (!br->from)
				br->bin.from = prev_to; /* follows on from the previous bin */
			else if (br->bin.from != prev_to && isfinite(prev_to)) {
				rules_src_error(src, br->from->start,
				                "bin starts at %g but the previous bin ends at %g: each bin "
				                "must start where the previous one ends", br->bin.from, prev_to);
				rc = -1;
			}
		}
		if (i + 1 == n && br->to) {
			rules_src_error(src, br->to->start,
			                "the last bin must leave out 'to': it takes every value from its "
			                "'from' on");
			rc = -1;
		}
		if (i + 1 < n && !br->to) {
			rules_src_error(src, br->node->start,
			                "bin is missing 'to' (only the last bin is open-ended)");
			rc = -1;
		}
		if (br->to && isfinite(br->bin.from) && !(br->bin.to > br->bin.from)) {
			rules_src_error(src, br->to->start, "'to' (%g) must be above 'from' (%g)",
			                br->bin.to, br->bin.from);
			rc = -1;
		}
	}
	return rc;
}

/* A reason text: one line of at most SCORECARD_TEXT_MAX bytes, copied into dst. */
static int load_reason(struct rules_src *src, const struct ynode *n, const char *key, char *dst)
{
	if (!ynode_text(src, n, key))
		return -1;
	int control = 0;
	for (size_t i = 0; i < n->len; i++)
		control |= (unsigned char)n->value[i] < 0x20 || n->value[i] == 0x7f;
	if (n->len > SCORECARD_TEXT_MAX || control) {
		rules_src_error(src, n->start, "'%s' must be one line of at most %d bytes", key,
		                SCORECARD_TEXT_MAX);
		return -1;
	}
	memcpy(dst, n->value, n->len + 1);
	return 0;
}

/* What the characteristics read so far name: where each feature, and each attribute (its
 * name node), already has one. */
struct char_seen {
	size_t feature_pos[FEAT__COUNT];
	const struct ynode *attrs[SCORECARD_CHARS_MAX];
	size_t n_attrs;
};

/* The characteristic's feature, checked against the registry and the card's other
 * characteristics. Returns 0 with *k filled, or -1 after reporting. */
static int load_char_feature(struct card_load *cl, const struct ynode *n, struct scorecard_char *ch,
                             struct char_seen *seen, struct char_kind *k)
{
	struct rules_src *src = cl->src;
	char shown[48];
	const struct feature_def *def = NULL;
	if (n->type != YNODE_SCALAR) {
		rules_src_error(src, n->start, "'feature' must be a feature name, not %s", ynode_noun(n));
	} else if ((def = feature_lookup(n->value, n->len)) == NULL) {
		const char *hint = rules_suggest_feature(n->value, n->len);
		rules_show(shown, sizeof shown, n->value, n->len);
		if (hint)
			rules_src_error(src, n->start, "unknown feature '%s' (did you mean '%s'?)", shown,
			                hint);
		else
			rules_src_error(src, n->start, "unknown feature '%s' (a customer attribute is "
			                "named with 'attribute' and its 'type')", shown);
	} else if (seen->feature_pos[def->id] != RULES_NO_POS) {
		rules_src_error(src, n->start, "feature '%s' already has a characteristic (line %d)",
		                def->name, rules_src_line(src, seen->feature_pos[def->id]));
		def = NULL;
	} else {
		seen->feature_pos[def->id] = n->start;
		ch->feature = def->id;
		ch->type = def->type;
		*k = (struct char_kind){def, def->name, def->type};
	}
	return def ? 0 : -1;
}

/* The characteristic's attribute (n: its name) and type. Returns 0 with *k filled, or -1
 * after reporting. */
static int load_char_attribute(struct card_load *cl, const struct ynode *m, const struct ynode *n,
                               struct scorecard_char *ch, struct char_seen *seen,
                               struct char_kind *k)
{
	struct rules_src *src = cl->src;
	char shown[48];
	int ok = 1;
	ch->is_attr = 1;
	ch->attr_slot = -1;
	if (!ynode_text(src, n, "attribute")) {
		ok = 0;
	} else if (!attr_name_valid(n->value, n->len)) {
		rules_src_error(src, n->start, "bad attribute name '%s': use lower-case letters, "
		                "digits and '_', starting with a letter, at most %d",
		                rules_show(shown, sizeof shown, n->value, n->len), ATTR_NAME_MAX);
		ok = 0;
	} else if (feature_lookup(n->value, n->len)) {
		rules_src_error(src, n->start, "'%s' is a feature riskd computes: write 'feature: %s'",
		                n->value, n->value);
		ok = 0;
	} else {
		for (size_t i = 0; i < seen->n_attrs; i++)
			if (seen->attrs[i]->len == n->len && memcmp(seen->attrs[i]->value, n->value, n->len) == 0) {
				rules_src_error(src, n->start, "attribute '%s' already has a characteristic "
				                "(line %d)", n->value, rules_src_line(src, seen->attrs[i]->start));
				ok = 0;
			}
		if (ok)
			seen->attrs[seen->n_attrs++] = n;
		memcpy(ch->attr, n->value, n->len + 1);
	}
	const struct ynode *t = ynode_get(m, "type");
	size_t type = COUNT(attr_type_names);
	if (!t)
		rules_src_error(src, m->start, "an attribute's characteristic needs 'type' (number or "
		                "category)");
	else if ((type = ynode_find(t, attr_type_names, COUNT(attr_type_names))) ==
	         COUNT(attr_type_names))
		rules_src_error(src, t->start, "'type' must be number or category, not '%s'",
		                rules_show(shown, sizeof shown, t->value ? t->value : "", t->len));
	if (type == COUNT(attr_type_names))
		ok = 0;
	ch->type = type == 1 ? FEATURE_SYM : FEATURE_NUM;
	*k = (struct char_kind){NULL, ch->attr, ch->type};
	return ok ? 0 : -1;
}

/* What the characteristic reads: 'feature', or 'attribute' with its 'type'. Returns 0 with
 * *k filled, or -1 after reporting (k->name is still set when the name was readable). */
static int load_char_kind(struct card_load *cl, const struct ynode *m, struct scorecard_char *ch,
                          struct char_seen *seen, struct char_kind *k)
{
	struct rules_src *src = cl->src;
	const struct ynode *f = ynode_get(m, "feature"), *a = ynode_get(m, "attribute");
	const struct ynode *t = ynode_get(m, "type");
	if (f && a) {
		rules_src_error(src, a->start, "a characteristic reads one feature or one attribute, "
		                "not both");
		return -1;
	}
	if (a)
		return load_char_attribute(cl, m, a, ch, seen, k);
	if (t)
		rules_src_error(src, t->start, "'type' is for attributes: a feature's type is the "
		                "registry's");
	if (!f) {
		rules_src_error(src, m->start, "characteristic is missing required key 'feature' (or "
		                "'attribute' for a customer attribute)");
		return -1;
	}
	return load_char_feature(cl, f, ch, seen, k) < 0 || t ? -1 : 0;
}

/* The reason code, unique in the card (codes: the code nodes seen so far). Returns 0, or -1
 * after reporting. */
static int load_char_code(struct card_load *cl, const struct ynode *m, struct scorecard_char *ch,
                          const struct ynode **codes)
{
	struct rules_src *src = cl->src;
	char shown[48];
	int ok = 1;
	const struct ynode *n;
	if ((n = ynode_get(m, "code")) == NULL) {
		rules_src_error(src, m->start,
		                "characteristic is missing required key 'code' (its reason code)");
		ok = 0;
	} else if (ynode_text(src, n, "code")) {
		if (!valid_code(n->value, n->len)) {
			rules_src_error(src, n->start,
			                "bad reason code '%s': use capitals, digits and '_', starting with "
			                "a capital, at most %d", rules_show(shown, sizeof shown, n->value,
			                                                    n->len), SCORECARD_CODE_MAX);
			ok = 0;
		} else {
			for (size_t i = 0; i < SCORECARD_CHARS_MAX && codes[i]; i++) {
				if (codes[i]->len == n->len && memcmp(codes[i]->value, n->value, n->len) == 0) {
					rules_src_error(src, n->start,
					                "reason code '%s' is already used on line %d", n->value,
					                rules_src_line(src, codes[i]->start));
					ok = 0;
					break;
				}
			}
			for (size_t i = 0; i < SCORECARD_CHARS_MAX; i++) {
				if (!codes[i]) {
					codes[i] = n;
					break;
				}
			}
			memcpy(ch->code, n->value, n->len + 1);
		}
	} else {
		ok = 0;
	}
	return ok ? 0 : -1;
}

/* The bins of a characteristic of kind k (NULL: unknown, the bins are not read); the
 * characteristic is filled only when its other keys were fine (ok) and every bin is. */
static void load_char_bins(struct card_load *cl, const struct ynode *m, struct scorecard_char *ch,
                           const struct char_kind *k, int ok)
{
	struct rules_src *src = cl->src;
	const struct ynode *bins = ynode_get(m, "bins");
	if (!bins) {
		rules_src_error(src, m->start, "characteristic is missing required key 'bins'");
		return;
	}
	if (bins->type != YNODE_SEQ || bins->count == 0) {
		rules_src_error(src, bins->start, "'bins' must be a list of bins, not %s",
		                bins->type == YNODE_SEQ ? "an empty list" : ynode_noun(bins));
		return;
	}
	if (!k)
		return;
	if (bins->count > SCORECARD_BINS_MAX + 2) {
		rules_src_error(src, ynode_key_pos(m, "bins"), "more than %d bins", SCORECARD_BINS_MAX);
		return;
	}
	struct bin_read reads[SCORECARD_BINS_MAX + 1];
	size_t value_pos[SCORECARD_SYMBOLS_MAX];
	size_t n_values = 0, missing_at = RULES_NO_POS, other_at = RULES_NO_POS, nread = 0;
	if (k->def && k->type != FEATURE_NUM)
		kind_names(k, &n_values);
	for (size_t i = 0; i < SCORECARD_SYMBOLS_MAX; i++)
		value_pos[i] = RULES_NO_POS;
	memset(reads, 0, sizeof reads);
	int bins_ok = 1; /* the whole-list checks only run over well-formed bins */
	for (size_t i = 0; i < bins->count; i++) {
		struct bin_read br = {0};
		load_bin(cl, bins->items[i], k, ch, &br, value_pos);
		bins_ok &= br.ok;
		if (!br.missing && !br.other) {
			if (nread < SCORECARD_BINS_MAX + 1)
				reads[nread] = br;
			nread++;
			continue;
		}
		size_t *at = br.missing ? &missing_at : &other_at;
		if (*at != RULES_NO_POS) {
			rules_src_error(src, bins->items[i]->start,
			                "a second %s bin (the first is on line %d)",
			                br.missing ? "missing" : "other", rules_src_line(src, *at));
			bins_ok = 0;
			continue;
		}
		*at = bins->items[i]->start;
		if (br.missing)
			ch->missing_points = br.bin.points;
		else
			ch->other_points = br.bin.points;
	}
	ch->has_other = other_at != RULES_NO_POS;
	if (missing_at == RULES_NO_POS) {
		rules_src_error(src, ynode_key_pos(m, "bins"), "no bin for a missing '%s': add {missing: "
		                "true, points: N}", k->name);
		bins_ok = 0;
	}
	if (!k->def && k->type == FEATURE_SYM && other_at == RULES_NO_POS) {
		rules_src_error(src, ynode_key_pos(m, "bins"), "no bin for the other values of '%s' "
		                "(values no bin lists, such as new ones): add {other: true, points: N}",
		                k->name);
		bins_ok = 0;
	}
	if (nread == 0) {
		rules_src_error(src, ynode_key_pos(m, "bins"), "'%s' has only a missing bin: give bins for "
		                "its values", k->name);
		return;
	}
	if (nread > SCORECARD_BINS_MAX) {
		rules_src_error(src, ynode_key_pos(m, "bins"), "more than %d bins", SCORECARD_BINS_MAX);
		return;
	}
	if (!bins_ok)
		return;
	if (k->type == FEATURE_NUM) {
		if (check_numeric_bins(cl, reads, nread) < 0)
			return;
	} else if (k->def) {
		size_t nsym;
		const char *const *names = kind_names(k, &nsym);
		for (size_t s = 0; s < n_values; s++) {
			if (value_pos[s] == RULES_NO_POS) {
				rules_src_error(src, ynode_key_pos(m, "bins"), "'%s' value '%s' is in no bin",
				                k->name, names[s]);
				bins_ok = 0;
			}
		}
	}
	if (!ok || !bins_ok)
		return;
	for (size_t i = 0; i < nread; i++)
		ch->bins[i] = reads[i].bin;
	ch->n_bins = nread;
	scorecard_char_finish(ch);
}

static void load_char(struct card_load *cl, const struct ynode *m, struct scorecard_char *ch,
                      struct char_seen *seen, const struct ynode **codes)
{
	struct rules_src *src = cl->src;
	ynode_check_keys(src, m, char_keys, COUNT(char_keys), NULL, "in a characteristic");
	struct char_kind k = {0};
	int ok = load_char_kind(cl, m, ch, seen, &k) == 0;
	if (load_char_code(cl, m, ch, codes) < 0)
		ok = 0;
	const struct ynode *n;
	if ((n = ynode_get(m, "reason")) == NULL) {
		rules_src_error(src, m->start,
		                "characteristic is missing required key 'reason' (readable text)");
		ok = 0;
	} else if (load_reason(src, n, "reason", ch->text) < 0) {
		ok = 0;
	}
	if ((n = ynode_get(m, "missing_reason")) != NULL &&
	    load_reason(src, n, "missing_reason", ch->missing_text) < 0)
		ok = 0;

	if ((n = ynode_get(m, "description")) != NULL)
		ynode_text(src, n, "description");
	load_char_bins(cl, m, ch, k.name ? &k : NULL, ok);
}

static void load_chars(struct card_load *cl, const struct ynode *root)
{
	struct rules_src *src = cl->src;
	const struct ynode *n = ynode_get(root, "characteristics");
	if (!n) {
		rules_src_error(src, root->start,
		                "missing required key 'characteristics' (a list of binned features)");
		return;
	}
	if (n->type != YNODE_SEQ || n->count == 0) {
		rules_src_error(src, n->start, "'characteristics' must be a list of characteristics, "
		                "not %s", n->type == YNODE_SEQ ? "an empty list" : ynode_noun(n));
		return;
	}
	if (n->count > SCORECARD_CHARS_MAX) {
		rules_src_error(src, n->items[SCORECARD_CHARS_MAX]->start,
		                "more than %d characteristics", SCORECARD_CHARS_MAX);
		return;
	}
	struct char_seen seen = {.n_attrs = 0};
	const struct ynode *codes[SCORECARD_CHARS_MAX] = {0};
	for (size_t i = 0; i < FEAT__COUNT; i++)
		seen.feature_pos[i] = RULES_NO_POS;
	for (size_t i = 0; i < n->count; i++) {
		const struct ynode *m = n->items[i];
		if (m->type != YNODE_MAP) {
			rules_src_error(src, m->start, "a characteristic is a mapping with feature, code, "
			                "reason and bins, not %s", ynode_noun(m));
			continue;
		}
		load_char(cl, m, &cl->card->chars[cl->card->n_chars++], &seen, codes);
	}
}

/* Walks one parsed file into cl->card, reporting every error through cl->src. */
static void load_card(struct card_load *cl, const struct ynode *root)
{
	struct rules_src *src = cl->src;
	cl->marks.root = root->start;
	if (root->type != YNODE_MAP) {
		rules_src_error(src, root->start, "a scorecard is a mapping with scorecard, version, "
		                "segments, base_points, grades and characteristics, not %s",
		                ynode_noun(root));
		return;
	}
	ynode_check_keys(src, root, top_keys, COUNT(top_keys), NULL, "at the top of a scorecard");
	load_name(cl, root, "scorecard", " (the card's name)", cl->card->name);
	load_name(cl, root, "version", "", cl->card->version);
	const struct ynode *n;
	if ((n = ynode_get(root, "description")) != NULL)
		ynode_text(src, n, "description");
	load_segments(cl, root);
	if ((n = ynode_get(root, "default")) != NULL && ynode_bool(src, n, "default",
	                                                         &cl->card->is_default) == 0)
		cl->marks.deflt = n->start;
	if ((n = ynode_get(root, "base_points")) != NULL)
		ynode_number(src, n, "base_points", -POINTS_LIMIT, POINTS_LIMIT, &cl->card->base_points);
	else
		rules_src_error(src, root->start, "missing required key 'base_points'");
	load_scaling(cl, root);
	load_grades(cl, root);
	load_chars(cl, root);
}

/* Parses and checks one file. Returns the card, or NULL when the file had errors (the src's
 * diagnostics are not finished: the set checks may add some). */
static struct scorecard *card_from_text(struct rules_src *src, struct card_marks *marks)
{
	struct rules_arena arena = {0};
	struct card_load cl = {.src = src};
	size_t errors_before = src->errors;
	cl.card = scorecard_new(src->path);
	for (int s = 0; s < SEGMENT__COUNT; s++)
		cl.marks.segment[s] = RULES_NO_POS;
	cl.marks.deflt = RULES_NO_POS;
	struct ynode *root = rules_yaml_parse_as(src, &arena, "a scorecard",
	                                         "the file is empty; a scorecard is a mapping with "
	                                         "scorecard, version, segments, base_points, grades "
	                                         "and characteristics");
	if (root)
		load_card(&cl, root);
	rules_arena_free(&arena);
	if (src->errors != errors_before) {
		scorecard_free(cl.card);
		return NULL;
	}
	policy_hash_hex(policy_hash_add(POLICY_HASH_INIT, src->text, src->len), cl.card->hash);
	*marks = cl.marks;
	return cl.card;
}

/* ---- files and sets ---- */

/* Checks a new card against the cards already in the set; reports through src. */
static void check_in_set(struct rules_src *src, const struct scorecard_set *set,
                         const struct scorecard *card, const struct card_marks *marks)
{
	size_t nsym;
	const char *const *names = feature_symbols(FEAT_SEGMENT, &nsym);
	if (set->n_cards == SCORECARD_CARDS_MAX) {
		rules_src_error(src, marks->root, "more than %d scorecards in one set",
		                SCORECARD_CARDS_MAX);
		return;
	}
	for (size_t i = 0; i < set->n_cards; i++) {
		const struct scorecard *other = set->cards[i];
		if (strcmp(other->name, card->name) == 0)
			rules_src_error(src, marks->name, "scorecard name '%s' is already used by %s",
			                card->name, other->path);
		for (int s = 1; s < SEGMENT__COUNT; s++)
			if ((card->segments & other->segments & (1u << s)) &&
			    marks->segment[s] != RULES_NO_POS)
				rules_src_error(src, marks->segment[s],
				                "segment '%s' is already graded by scorecard '%s' (%s)",
				                names[s - 1], other->name, other->path);
		if (card->is_default && other->is_default)
			rules_src_error(src, marks->deflt,
			                "scorecard '%s' (%s) is already the default; only one card may be",
			                other->name, other->path);
	}
}

int scorecard_set_load_paths(const char *const *paths, size_t n_paths,
                             struct scorecard_set **out, struct rules_diags *diags)
{
	struct scorecard_set *set = scorecard_set_new();
	struct policy_files files = {0};
	size_t diags_before = diags->count;
	int failed = 0;
	*out = NULL;
	if (n_paths == 0) {
		rules_path_error(diags, "riskd", "no scorecard files given");
		failed = 1;
	}
	failed |= policy_files_expand(paths, n_paths, "scorecards", &files, diags) > 0;
	for (size_t i = 0; i < files.count; i++) {
		size_t len = 0;
		char *text = policy_file_read(files.paths[i], "a scorecard", &len, diags);
		if (!text) {
			failed = 1;
			continue;
		}
		struct rules_src src;
		struct card_marks marks;
		rules_src_init(&src, files.paths[i], text, len, diags);
		struct scorecard *card = card_from_text(&src, &marks);
		if (card) {
			check_in_set(&src, set, card, &marks);
			if (src.errors == 0)
				scorecard_set_add(set, card);
			else
				scorecard_free(card);
		}
		failed |= src.errors > 0;
		rules_src_finish(&src);
		free(text);
	}
	policy_files_free(&files);
	if (failed || diags->count != diags_before) {
		scorecard_set_free(set);
		return RISKD_ERR_INVALID;
	}
	*out = set;
	return 0;
}

int scorecard_load_text(const char *path, const char *text, size_t len, struct scorecard **out,
                        struct rules_diags *diags)
{
	struct rules_src src;
	struct card_marks marks;
	rules_src_init(&src, path, text ? text : "", text ? len : 0, diags);
	*out = card_from_text(&src, &marks);
	rules_src_finish(&src);
	return *out ? 0 : RISKD_ERR_INVALID;
}

int scorecard_load_path(const char *path, struct scorecard **out, struct rules_diags *diags)
{
	size_t len = 0;
	char *text = policy_file_read(path, "a scorecard", &len, diags);
	*out = NULL;
	if (!text)
		return RISKD_ERR_INVALID;
	int rc = scorecard_load_text(path, text, len, out, diags);
	free(text);
	return rc;
}


int scorecard_load_yaml(const char *path, const char *text, size_t len, struct scorecard **out,
                        struct rbuf *why)
{
	struct rules_diags diags = {0};
	int rc = scorecard_load_text(path, text, len, out, &diags);
	if (rc)
		rules_diags_render(&diags, why);
	rules_diags_free(&diags);
	return rc;
}
