/*
 * scorecard.c - loads credit scorecards (scoring/cards/) and grades customers with them
 * (see scorecard.h; docs/credit.md documents the format).
 *
 * Loading reuses the rule loader's YAML reader and diagnostics (rules/rules_int.h): the tree
 * keeps byte offsets, every error is reported with its line, column, source line and caret,
 * and a file with any error yields nothing. Checks: keys at every level (with suggestions),
 * the card's name, version and segments, features against the registry, bins that cover every
 * value exactly once (numeric bins follow on from minus to plus infinity; boolean and symbol
 * bins list each value once) plus exactly one bin for a missing value, points and cut-offs in
 * range and in order, reason codes unique. A set of cards additionally has unique names, each
 * segment on at most one card and at most one default card.
 *
 * Grading is a few loops over fixed arrays: no allocation, no I/O.
 */
#include "scorecard.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../rules/rules_int.h"

#define NAME_MAX_LEN 64
#define POINTS_LIMIT 100000.0
#define CARD_FILE_MAX (4u << 20)
#define SYMBOLS_MAX 64

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct sc_bin {
	double from, to;  /* numeric: [from, to), -INFINITY / INFINITY at the open ends */
	double points;
	uint64_t values;  /* boolean and symbol bins: bit per code (boolean: 0 false, 1 true) */
};

struct sc_char {
	enum feature_id feature;
	enum feature_type type;
	char code[SCORECARD_CODE_MAX + 1];
	char text[SCORECARD_TEXT_MAX + 1];
	char missing_text[SCORECARD_TEXT_MAX + 1]; /* reason when the feature is missing; "" text */
	struct sc_bin bins[SCORECARD_BINS_MAX]; /* value bins, numeric ones in ascending order */
	size_t n_bins;
	double missing_points;
	double best;                            /* most points any bin gives */
	int8_t code_bin[SYMBOLS_MAX];           /* boolean / symbol code -> bin, -1 none */
};

struct scorecard {
	char name[NAME_MAX_LEN + 1];
	char version[NAME_MAX_LEN + 1];
	char hash[17];
	char *path;
	double base_points;
	double cutoff[RULE_GRADE_C];            /* AAA .. B */
	unsigned segments;                      /* bit per enum segment */
	int is_default;
	struct sc_char chars[SCORECARD_CHARS_MAX];
	size_t n_chars;
};

struct scorecard_set {
	struct scorecard *cards[SCORECARD_CARDS_MAX];
	size_t n_cards;
};

static const char *const grade_keys[] = {"AAA", "AA", "A", "B", "C"};
static const char *const grade_notes[] = {
	NULL, NULL, NULL, NULL, "has no cut-off: C is every score below B's cut-off"};
static const char *const top_keys[] = {"scorecard", "version",     "description", "segments",
                                       "default",   "base_points", "scaling",     "grades",
                                       "characteristics"};
static const char *const char_keys[] = {"feature", "code",        "reason",
                                        "missing_reason", "description", "bins"};
static const char *const bin_keys[] = {"from", "to", "values", "missing", "points"};
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

static const char *node_noun(const struct ynode *n)
{
	return n->type == YNODE_MAP ? "a mapping" : n->type == YNODE_SEQ ? "a sequence" : "a scalar";
}

static int scalar_is(const struct ynode *n, const char *text)
{
	return n->type == YNODE_SCALAR && strlen(text) == n->len && memcmp(n->value, text, n->len) == 0;
}

static int scalar_is_null(const struct ynode *n)
{
	if (n->type != YNODE_SCALAR || n->style != YSTYLE_PLAIN)
		return 0;
	return n->len == 0 || scalar_is(n, "~") || scalar_is(n, "null") || scalar_is(n, "Null") ||
	       scalar_is(n, "NULL");
}

static const struct ynode *map_get(const struct ynode *map, const char *key)
{
	for (size_t i = 0; i < map->count; i++)
		if (scalar_is(map->items[2 * i], key))
			return map->items[2 * i + 1];
	return NULL;
}

/* Byte offset of key in map (the key itself, for errors about its whole value). */
static size_t key_pos(const struct ynode *map, const char *key)
{
	for (size_t i = 0; i < map->count; i++)
		if (scalar_is(map->items[2 * i], key))
			return map->items[2 * i]->start;
	return map->start;
}

static int src_line(struct rules_src *src, size_t pos)
{
	int line, col;
	rules_src_line_col(src, pos, &line, &col);
	return line;
}

/* Reports keys that are not plain names, repeated or unknown (notes[i] explains a key that is
 * known but not allowed here). */
static void check_keys(struct rules_src *src, const struct ynode *map, const char *const *keys,
                       size_t nkeys, const char *const *notes, const char *where)
{
	char shown[48];
	for (size_t i = 0; i < map->count; i++) {
		const struct ynode *key = map->items[2 * i];
		if (key->type != YNODE_SCALAR) {
			rules_src_error(src, key->start, "keys %s must be plain names, not %s", where,
			                node_noun(key));
			continue;
		}
		rules_show(shown, sizeof shown, key->value, key->len);
		size_t j;
		for (j = 0; j < i; j++)
			if (map->items[2 * j]->type == YNODE_SCALAR && map->items[2 * j]->len == key->len &&
			    memcmp(map->items[2 * j]->value, key->value, key->len) == 0)
				break;
		if (j < i) {
			rules_src_error(src, key->start, "duplicate key '%s' (first on line %d)", shown,
			                src_line(src, map->items[2 * j]->start));
			continue;
		}
		size_t k;
		for (k = 0; k < nkeys; k++)
			if (scalar_is(key, keys[k]))
				break;
		if (k < nkeys) {
			if (notes && notes[k])
				rules_src_error(src, key->start, "key '%s' %s", shown, notes[k]);
			continue;
		}
		const char *hint = rules_suggest(key->value, key->len, keys, nkeys);
		if (hint)
			rules_src_error(src, key->start, "unknown key '%s' %s (did you mean '%s'?)", shown,
			                where, hint);
		else
			rules_src_error(src, key->start, "unknown key '%s' %s", shown, where);
	}
}

static const char *get_text(struct rules_src *src, const struct ynode *n, const char *key)
{
	if (n->type != YNODE_SCALAR) {
		rules_src_error(src, n->start, "'%s' must be text, not %s", key, node_noun(n));
		return NULL;
	}
	if (scalar_is_null(n)) {
		rules_src_error(src, n->start, "'%s' is empty", key);
		return NULL;
	}
	return n->value;
}

static int get_number(struct rules_src *src, const struct ynode *n, const char *key, double min,
                      double max, double *out)
{
	char shown[48];
	if (n->type != YNODE_SCALAR) {
		rules_src_error(src, n->start, "'%s' must be a number, not %s", key, node_noun(n));
		return -1;
	}
	rules_show(shown, sizeof shown, n->value, n->len);
	if (n->style != YSTYLE_PLAIN) {
		rules_src_error(src, n->start, "'%s' must be a number, not quoted text '%s'", key,
		                shown);
		return -1;
	}
	char *end = NULL;
	double v = n->len ? strtod(n->value, &end) : 0;
	if (n->len == 0 || end != n->value + n->len || !isfinite(v) || strpbrk(n->value, "xXnN")) {
		rules_src_error(src, n->start, "'%s' must be a number, got '%s'", key, shown);
		return -1;
	}
	if (v < min || v > max) {
		rules_src_error(src, n->start, "'%s' must be between %g and %g, got %s", key, min, max,
		                shown);
		return -1;
	}
	*out = v;
	return 0;
}

static int get_bool(struct rules_src *src, const struct ynode *n, const char *key, int *out)
{
	char shown[48];
	if (n->type == YNODE_SCALAR && n->style == YSTYLE_PLAIN) {
		if (scalar_is(n, "true")) {
			*out = 1;
			return 0;
		}
		if (scalar_is(n, "false")) {
			*out = 0;
			return 0;
		}
	}
	if (n->type != YNODE_SCALAR)
		rules_src_error(src, n->start, "'%s' must be true or false, not %s", key, node_noun(n));
	else
		rules_src_error(src, n->start, "'%s' must be true or false, got '%s'", key,
		                rules_show(shown, sizeof shown, n->value, n->len));
	return -1;
}

static int valid_name(const char *text, size_t len)
{
	if (len == 0 || len > NAME_MAX_LEN)
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

/* A name checked against its pattern, copied into dst (NAME_MAX_LEN + 1 bytes). */
static void load_name(struct card_load *cl, const struct ynode *root, const char *key,
                      const char *missing, char *dst)
{
	char shown[48];
	const struct ynode *n = map_get(root, key);
	if (!n) {
		rules_src_error(cl->src, root->start, "missing required key '%s'%s", key, missing);
		return;
	}
	if (!get_text(cl->src, n, key))
		return;
	if (!valid_name(n->value, n->len)) {
		rules_src_error(cl->src, n->start,
		                "bad %s '%s': use letters, digits, '_', '-' and '.', at most %d",
		                strcmp(key, "scorecard") == 0 ? "scorecard name" : key,
		                rules_show(shown, sizeof shown, n->value, n->len), NAME_MAX_LEN);
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
	const struct ynode *n = map_get(root, "segments");
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
		size_t s;
		for (s = 0; s < nsym; s++)
			if (scalar_is(item, names[s]))
				break;
		if (s == nsym) {
			const char *hint = item->type == YNODE_SCALAR
			                       ? rules_suggest(item->value, item->len, names, nsym)
			                       : NULL;
			if (item->type != YNODE_SCALAR)
				rules_src_error(src, item->start, "a segment must be a name, not %s",
				                node_noun(item));
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
	const struct ynode *n = map_get(root, "grades");
	if (!n) {
		rules_src_error(src, root->start,
		                "missing required key 'grades' (the least points for AAA, AA, A and B)");
		return;
	}
	if (n->type != YNODE_MAP) {
		rules_src_error(src, n->start,
		                "'grades' must be a mapping of AAA, AA, A and B to their least points, "
		                "not %s", node_noun(n));
		return;
	}
	check_keys(src, n, grade_keys, COUNT(grade_keys), grade_notes, "in grades");
	int prev = -1;
	for (int g = 0; g < RULE_GRADE_C; g++) {
		const struct ynode *v = map_get(n, grade_keys[g]);
		if (!v) {
			rules_src_error(src, key_pos(root, "grades"), "missing grade '%s' in grades",
			                grade_keys[g]);
			continue;
		}
		double points;
		if (get_number(src, v, grade_keys[g], -POINTS_LIMIT, POINTS_LIMIT, &points) < 0)
			continue;
		cl->card->cutoff[g] = points;
		if (prev >= 0 && !(points < cl->card->cutoff[prev]))
			rules_src_error(src, v->start, "the cut-off of %s (%g) must be below %s's (%g)",
			                grade_keys[g], points, grade_keys[prev], cl->card->cutoff[prev]);
		else
			prev = g;
	}
}

static void load_scaling(struct card_load *cl, const struct ynode *root)
{
	const struct ynode *n = map_get(root, "scaling");
	if (!n)
		return;
	if (n->type != YNODE_MAP) {
		rules_src_error(cl->src, n->start,
		                "'scaling' must be a mapping of base_points, base_odds and pdo, not %s",
		                node_noun(n));
		return;
	}
	check_keys(cl->src, n, scaling_keys, COUNT(scaling_keys), NULL, "in scaling");
	for (size_t i = 0; i < COUNT(scaling_keys); i++) {
		const struct ynode *v = map_get(n, scaling_keys[i]);
		double value;
		if (v)
			get_number(cl->src, v, scaling_keys[i], i == 0 ? -POINTS_LIMIT : 1e-9,
			           POINTS_LIMIT, &value);
	}
}

/* What one bin node holds, before the characteristic-wide checks. */
struct bin_read {
	const struct ynode *node, *from, *to;
	int missing;
	int ok;
	struct sc_bin bin;
};

/* Reads the values of a boolean or symbol bin into bin->values. */
static int load_bin_values(struct card_load *cl, const struct ynode *v,
                           const struct feature_def *def, struct sc_bin *bin, size_t *value_pos)
{
	struct rules_src *src = cl->src;
	char shown[48];
	size_t nsym = 2;
	static const char *const bools[] = {"false", "true"};
	const char *const *names = def->type == FEATURE_BOOL ? bools
	                                                     : feature_symbols(def->id, &nsym);
	if (v->type != YNODE_SEQ || v->count == 0) {
		rules_src_error(src, v->start, "'values' must be a list of %s values of '%s', not %s",
		                def->type == FEATURE_BOOL ? "boolean" : "symbol", def->name,
		                v->type == YNODE_SEQ ? "an empty list" : node_noun(v));
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < v->count; i++) {
		const struct ynode *item = v->items[i];
		size_t s = nsym;
		if (item->type == YNODE_SCALAR)
			for (s = 0; s < nsym; s++)
				if (scalar_is(item, names[s]))
					break;
		if (s == nsym) {
			const char *hint = item->type == YNODE_SCALAR
			                       ? rules_suggest(item->value, item->len, names, nsym)
			                       : NULL;
			if (item->type != YNODE_SCALAR)
				rules_src_error(src, item->start, "a value of '%s' must be a scalar, not %s",
				                def->name, node_noun(item));
			else if (def->type == FEATURE_BOOL)
				rules_src_error(src, item->start,
				                "'%s' is a boolean: give true or false, not '%s'", def->name,
				                rules_show(shown, sizeof shown, item->value, item->len));
			else if (hint)
				rules_src_error(src, item->start, "unknown %s '%s' (did you mean '%s'?)",
				                def->name, rules_show(shown, sizeof shown, item->value, item->len),
				                hint);
			else
				rules_src_error(src, item->start, "unknown %s '%s'", def->name,
				                rules_show(shown, sizeof shown, item->value, item->len));
			rc = -1;
			continue;
		}
		if (value_pos[s] != RULES_NO_POS) {
			rules_src_error(src, item->start, "'%s' is already in the bin on line %d",
			                names[s], src_line(src, value_pos[s]));
			rc = -1;
			continue;
		}
		value_pos[s] = item->start;
		bin->values |= (uint64_t)1 << s;
	}
	return rc;
}

static void load_bin(struct card_load *cl, const struct ynode *m, const struct feature_def *def,
                     struct bin_read *br, size_t *value_pos)
{
	struct rules_src *src = cl->src;
	br->node = m;
	br->ok = 1;
	if (m->type != YNODE_MAP) {
		rules_src_error(src, m->start,
		                "a bin is a mapping such as {from: 0, to: 30, points: 12}, not %s",
		                node_noun(m));
		br->ok = 0;
		return;
	}
	check_keys(src, m, bin_keys, COUNT(bin_keys), NULL, "in a bin");
	const struct ynode *points = map_get(m, "points");
	const struct ynode *missing = map_get(m, "missing");
	const struct ynode *values = map_get(m, "values");
	br->from = map_get(m, "from");
	br->to = map_get(m, "to");
	if (!points) {
		rules_src_error(src, m->start, "bin is missing required key 'points'");
		br->ok = 0;
	} else if (get_number(src, points, "points", -POINTS_LIMIT, POINTS_LIMIT, &br->bin.points) <
	           0) {
		br->ok = 0;
	}
	if (missing) {
		int flag = 0;
		if (get_bool(src, missing, "missing", &flag) < 0) {
			br->ok = 0;
		} else if (!flag) {
			rules_src_error(src, missing->start,
			                "'missing: false' says nothing: leave it out, or write "
			                "'missing: true' for the bin of a missing value");
			br->ok = 0;
		} else {
			br->missing = 1;
			const struct ynode *extra = br->from ? br->from : br->to ? br->to : values;
			if (extra) {
				rules_src_error(src, extra->start,
				                "the missing bin holds no values: give it only 'missing' and "
				                "'points'");
				br->ok = 0;
			}
		}
		return;
	}
	if (def->type == FEATURE_NUM) {
		if (values) {
			rules_src_error(src, values->start,
			                "'values' is for boolean and symbol features; '%s' is a number: "
			                "use 'from' and 'to'", def->name);
			br->ok = 0;
		}
		br->bin.from = -INFINITY;
		br->bin.to = INFINITY;
		if (br->from &&
		    get_number(src, br->from, "from", -1e15, 1e15, &br->bin.from) < 0)
			br->ok = 0;
		if (br->to && get_number(src, br->to, "to", -1e15, 1e15, &br->bin.to) < 0)
			br->ok = 0;
		return;
	}
	const struct ynode *range = br->from ? br->from : br->to;
	if (range) {
		rules_src_error(src, range->start,
		                "'%s' is for numeric features; '%s' is a %s: list its 'values'",
		                br->from ? "from" : "to", def->name,
		                def->type == FEATURE_BOOL ? "boolean" : "symbol");
		br->ok = 0;
	}
	if (!values) {
		rules_src_error(src, m->start, "bin is missing required key 'values' (the %s values "
		                "of '%s' it takes)", def->type == FEATURE_BOOL ? "boolean" : "symbol",
		                def->name);
		br->ok = 0;
	} else if (load_bin_values(cl, values, def, &br->bin, value_pos) < 0) {
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
	if (!get_text(src, n, key))
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

static void load_char(struct card_load *cl, const struct ynode *m, struct sc_char *ch,
                      size_t *feature_pos, const struct ynode **codes)
{
	struct rules_src *src = cl->src;
	char shown[48];
	int ok = 1;
	check_keys(src, m, char_keys, COUNT(char_keys), NULL, "in a characteristic");

	const struct feature_def *def = NULL;
	const struct ynode *n = map_get(m, "feature");
	if (!n) {
		rules_src_error(src, m->start, "characteristic is missing required key 'feature'");
		ok = 0;
	} else if (n->type != YNODE_SCALAR) {
		rules_src_error(src, n->start, "'feature' must be a feature name, not %s", node_noun(n));
		ok = 0;
	} else if ((def = feature_lookup(n->value, n->len)) == NULL) {
		const char *hint = rules_suggest_feature(n->value, n->len);
		rules_show(shown, sizeof shown, n->value, n->len);
		if (hint)
			rules_src_error(src, n->start, "unknown feature '%s' (did you mean '%s'?)", shown,
			                hint);
		else
			rules_src_error(src, n->start, "unknown feature '%s'", shown);
		ok = 0;
	} else if (feature_pos[def->id] != RULES_NO_POS) {
		rules_src_error(src, n->start, "feature '%s' already has a characteristic (line %d)",
		                def->name, src_line(src, feature_pos[def->id]));
		def = NULL;
		ok = 0;
	} else {
		feature_pos[def->id] = n->start;
		ch->feature = def->id;
		ch->type = def->type;
	}

	if ((n = map_get(m, "code")) == NULL) {
		rules_src_error(src, m->start,
		                "characteristic is missing required key 'code' (its reason code)");
		ok = 0;
	} else if (get_text(src, n, "code")) {
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
					                src_line(src, codes[i]->start));
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

	if ((n = map_get(m, "reason")) == NULL) {
		rules_src_error(src, m->start,
		                "characteristic is missing required key 'reason' (readable text)");
		ok = 0;
	} else if (load_reason(src, n, "reason", ch->text) < 0) {
		ok = 0;
	}
	if ((n = map_get(m, "missing_reason")) != NULL &&
	    load_reason(src, n, "missing_reason", ch->missing_text) < 0)
		ok = 0;

	if ((n = map_get(m, "description")) != NULL)
		get_text(src, n, "description");

	const struct ynode *bins = map_get(m, "bins");
	if (!bins) {
		rules_src_error(src, m->start, "characteristic is missing required key 'bins'");
		return;
	}
	if (bins->type != YNODE_SEQ || bins->count == 0) {
		rules_src_error(src, bins->start, "'bins' must be a list of bins, not %s",
		                bins->type == YNODE_SEQ ? "an empty list" : node_noun(bins));
		return;
	}
	if (!def)
		return;
	if (bins->count > SCORECARD_BINS_MAX + 1) {
		rules_src_error(src, key_pos(m, "bins"), "more than %d bins", SCORECARD_BINS_MAX);
		return;
	}
	struct bin_read reads[SCORECARD_BINS_MAX + 1];
	size_t value_pos[SYMBOLS_MAX];
	size_t n_values = 0, missing_at = RULES_NO_POS, nread = 0;
	if (def->type == FEATURE_BOOL)
		n_values = 2;
	else if (def->type == FEATURE_SYM)
		feature_symbols(def->id, &n_values);
	for (size_t i = 0; i < SYMBOLS_MAX; i++)
		value_pos[i] = RULES_NO_POS;
	memset(reads, 0, sizeof reads);
	int bins_ok = 1; /* the whole-list checks only run over well-formed bins */
	for (size_t i = 0; i < bins->count; i++) {
		struct bin_read br = {0};
		load_bin(cl, bins->items[i], def, &br, value_pos);
		bins_ok &= br.ok;
		if (!br.missing) {
			reads[nread++] = br;
			continue;
		}
		if (missing_at != RULES_NO_POS) {
			rules_src_error(src, bins->items[i]->start,
			                "a second missing bin (the first is on line %d)",
			                src_line(src, missing_at));
			bins_ok = 0;
			continue;
		}
		missing_at = bins->items[i]->start;
		ch->missing_points = br.bin.points;
	}
	if (missing_at == RULES_NO_POS) {
		rules_src_error(src, key_pos(m, "bins"), "no bin for a missing '%s': add {missing: "
		                "true, points: N}", def->name);
		bins_ok = 0;
	}
	if (nread == 0) {
		rules_src_error(src, key_pos(m, "bins"), "'%s' has only a missing bin: give bins for "
		                "its values", def->name);
		return;
	}
	if (nread > SCORECARD_BINS_MAX) {
		rules_src_error(src, key_pos(m, "bins"), "more than %d bins", SCORECARD_BINS_MAX);
		return;
	}
	if (!bins_ok)
		return;
	if (def->type == FEATURE_NUM) {
		if (check_numeric_bins(cl, reads, nread) < 0)
			return;
	} else {
		static const char *const bools[] = {"false", "true"};
		size_t nsym = 2;
		const char *const *names = def->type == FEATURE_BOOL ? bools
		                                                     : feature_symbols(def->id, &nsym);
		for (size_t s = 0; s < n_values; s++) {
			if (value_pos[s] == RULES_NO_POS) {
				rules_src_error(src, key_pos(m, "bins"), "'%s' value '%s' is in no bin",
				                def->name, names[s]);
				bins_ok = 0;
			}
		}
	}
	if (!ok || !bins_ok)
		return;
	memset(ch->code_bin, -1, sizeof ch->code_bin);
	ch->best = ch->missing_points;
	for (size_t i = 0; i < nread; i++) {
		ch->bins[i] = reads[i].bin;
		if (ch->bins[i].points > ch->best)
			ch->best = ch->bins[i].points;
		for (size_t s = 0; s < n_values; s++)
			if (ch->bins[i].values & ((uint64_t)1 << s))
				ch->code_bin[s] = (int8_t)i;
	}
	ch->n_bins = nread;
}

static void load_chars(struct card_load *cl, const struct ynode *root)
{
	struct rules_src *src = cl->src;
	const struct ynode *n = map_get(root, "characteristics");
	if (!n) {
		rules_src_error(src, root->start,
		                "missing required key 'characteristics' (a list of binned features)");
		return;
	}
	if (n->type != YNODE_SEQ || n->count == 0) {
		rules_src_error(src, n->start, "'characteristics' must be a list of characteristics, "
		                "not %s", n->type == YNODE_SEQ ? "an empty list" : node_noun(n));
		return;
	}
	if (n->count > SCORECARD_CHARS_MAX) {
		rules_src_error(src, n->items[SCORECARD_CHARS_MAX]->start,
		                "more than %d characteristics", SCORECARD_CHARS_MAX);
		return;
	}
	size_t feature_pos[FEAT__COUNT];
	const struct ynode *codes[SCORECARD_CHARS_MAX] = {0};
	for (size_t i = 0; i < FEAT__COUNT; i++)
		feature_pos[i] = RULES_NO_POS;
	for (size_t i = 0; i < n->count; i++) {
		const struct ynode *m = n->items[i];
		if (m->type != YNODE_MAP) {
			rules_src_error(src, m->start, "a characteristic is a mapping with feature, code, "
			                "reason and bins, not %s", node_noun(m));
			continue;
		}
		load_char(cl, m, &cl->card->chars[cl->card->n_chars++], feature_pos, codes);
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
		                node_noun(root));
		return;
	}
	check_keys(src, root, top_keys, COUNT(top_keys), NULL, "at the top of a scorecard");
	load_name(cl, root, "scorecard", " (the card's name)", cl->card->name);
	load_name(cl, root, "version", "", cl->card->version);
	const struct ynode *n;
	if ((n = map_get(root, "description")) != NULL)
		get_text(src, n, "description");
	load_segments(cl, root);
	if ((n = map_get(root, "default")) != NULL && get_bool(src, n, "default",
	                                                         &cl->card->is_default) == 0)
		cl->marks.deflt = n->start;
	if ((n = map_get(root, "base_points")) != NULL)
		get_number(src, n, "base_points", -POINTS_LIMIT, POINTS_LIMIT, &cl->card->base_points);
	else
		rules_src_error(src, root->start, "missing required key 'base_points'");
	load_scaling(cl, root);
	load_grades(cl, root);
	load_chars(cl, root);
}

static uint64_t fnv_update(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* Parses and checks one file. Returns the card, or NULL when the file had errors (the src's
 * diagnostics are not finished: the set checks may add some). */
static struct scorecard *card_from_text(struct rules_src *src, struct card_marks *marks)
{
	struct rules_arena arena = {0};
	struct card_load cl = {.src = src};
	size_t errors_before = src->errors;
	cl.card = xcalloc(1, sizeof *cl.card);
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
	unsigned char size_le[8];
	uint64_t len = src->len;
	for (int i = 0; i < 8; i++)
		size_le[i] = (unsigned char)(len >> (8 * i));
	uint64_t h = fnv_update(FNV_OFFSET, size_le, sizeof size_le);
	h = fnv_update(h, src->text, src->len);
	snprintf(cl.card->hash, sizeof cl.card->hash, "%016llx", (unsigned long long)h);
	cl.card->path = xstrdup(src->path);
	*marks = cl.marks;
	return cl.card;
}

/* ---- files and sets ---- */

static void path_error(struct rules_diags *diags, const char *path, const char *message,
                       const char *detail)
{
	struct rules_src src;
	rules_src_init(&src, path, "", 0, diags);
	rules_src_error(&src, RULES_NO_POS, "%s%s", message, detail);
}

/* Reads a whole file; reports and returns NULL on failure. */
static char *read_card_file(const char *path, size_t *len, struct rules_diags *diags)
{
	char *buf, err[256];
	int rc = riskd_read_file(path, CARD_FILE_MAX, &buf, len, err, sizeof(err));
	if (rc == RISKD_ERR_RANGE)
		path_error(diags, path, "larger than 4 MiB; not a scorecard", "");
	else if (rc)
		path_error(diags, path, err, "");
	return buf;
}

struct card_files {
	char **items;
	size_t count, cap;
};

static void files_add(struct card_files *files, char *path)
{
	if (files->count == files->cap) {
		files->cap = files->cap ? files->cap * 2 : 8;
		files->items = xrealloc(files->items, files->cap * sizeof *files->items);
	}
	files->items[files->count++] = path;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_card_suffix(const char *name)
{
	size_t n = strlen(name);
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

/* Adds path, or the card files of directory path in name order. Returns -1 on an error. */
static int expand_path(const char *path, struct card_files *files, struct rules_diags *diags)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		path_error(diags, path, "cannot read: ", strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		files_add(files, xstrdup(path));
		return 0;
	}
	DIR *dir = opendir(path);
	if (!dir) {
		path_error(diags, path, "cannot read the directory: ", strerror(errno));
		return -1;
	}
	size_t first = files->count;
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.' || !has_card_suffix(de->d_name))
			continue;
		size_t n = strlen(path) + strlen(de->d_name) + 2;
		char *full = xmalloc(n);
		int slash = path[0] && path[strlen(path) - 1] == '/';
		snprintf(full, n, "%s%s%s", path, slash ? "" : "/", de->d_name);
		files_add(files, full);
	}
	closedir(dir);
	if (files->count == first) {
		path_error(diags, path, "no scorecards (*.yaml) in this directory", "");
		return -1;
	}
	qsort(files->items + first, files->count - first, sizeof *files->items, name_cmp);
	return 0;
}

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
	struct scorecard_set *set = xcalloc(1, sizeof *set);
	struct card_files files = {0};
	size_t diags_before = diags->count;
	int failed = 0;
	*out = NULL;
	if (n_paths == 0) {
		path_error(diags, "riskd", "no scorecard files given", "");
		failed = 1;
	}
	for (size_t i = 0; i < n_paths; i++)
		failed |= expand_path(paths[i], &files, diags) < 0;
	for (size_t i = 0; i < files.count; i++) {
		size_t len = 0;
		char *text = read_card_file(files.items[i], &len, diags);
		if (!text) {
			failed = 1;
			continue;
		}
		struct rules_src src;
		struct card_marks marks;
		rules_src_init(&src, files.items[i], text, len, diags);
		struct scorecard *card = card_from_text(&src, &marks);
		if (card) {
			check_in_set(&src, set, card, &marks);
			if (src.errors == 0)
				set->cards[set->n_cards++] = card;
			else
				scorecard_free(card);
		}
		failed |= src.errors > 0;
		rules_src_finish(&src);
		free(text);
	}
	for (size_t i = 0; i < files.count; i++)
		free(files.items[i]);
	free(files.items);
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
	char *text = read_card_file(path, &len, diags);
	*out = NULL;
	if (!text)
		return RISKD_ERR_INVALID;
	int rc = scorecard_load_text(path, text, len, out, diags);
	free(text);
	return rc;
}

void scorecard_free(struct scorecard *card)
{
	if (!card)
		return;
	free(card->path);
	free(card);
}

void scorecard_set_free(struct scorecard_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n_cards; i++)
		scorecard_free(set->cards[i]);
	free(set);
}

const struct scorecard *scorecard_set_pick(const struct scorecard_set *set, enum segment seg)
{
	const struct scorecard *fallback = NULL;
	for (size_t i = 0; i < set->n_cards; i++) {
		if (seg != SEGMENT_UNKNOWN && (unsigned)seg < SEGMENT__COUNT &&
		    (set->cards[i]->segments & (1u << seg)))
			return set->cards[i];
		if (set->cards[i]->is_default)
			fallback = set->cards[i];
	}
	return fallback;
}

size_t scorecard_set_count(const struct scorecard_set *set)
{
	return set->n_cards;
}

const struct scorecard *scorecard_set_card(const struct scorecard_set *set, size_t idx)
{
	return set->cards[idx];
}

const char *scorecard_name(const struct scorecard *card)
{
	return card->name;
}

const char *scorecard_version(const struct scorecard *card)
{
	return card->version;
}

const char *scorecard_path(const struct scorecard *card)
{
	return card->path;
}

const char *scorecard_hash(const struct scorecard *card)
{
	return card->hash;
}

int scorecard_has_segment(const struct scorecard *card, enum segment seg)
{
	return (unsigned)seg < SEGMENT__COUNT && (card->segments & (1u << seg)) != 0;
}

int scorecard_is_default(const struct scorecard *card)
{
	return card->is_default;
}

double scorecard_cutoff(const struct scorecard *card, enum rule_grade g)
{
	return g >= RULE_GRADE_AAA && g < RULE_GRADE_C ? card->cutoff[g] : -INFINITY;
}

size_t scorecard_char_count(const struct scorecard *card)
{
	return card->n_chars;
}

enum feature_id scorecard_char_feature(const struct scorecard *card, size_t idx)
{
	return card->chars[idx].feature;
}

const char *credit_grade_name(enum rule_grade grade)
{
	return rule_grade_name(grade);
}

/* ---- grading ---- */

/* Whether the characteristic takes its missing bin for fv. */
static int char_missing(const struct sc_char *ch, const struct feature_vec *fv)
{
	if (!feature_known(fv, ch->feature) || isnan(fv->value[ch->feature]))
		return 1;
	if (ch->type == FEATURE_NUM)
		return 0;
	double v = fv->value[ch->feature];
	int code = ch->type == FEATURE_BOOL ? v != 0 : (int)v;
	return code < 0 || code >= SYMBOLS_MAX || ch->code_bin[code] < 0;
}

static double char_points(const struct sc_char *ch, const struct feature_vec *fv)
{
	if (!feature_known(fv, ch->feature))
		return ch->missing_points;
	double v = fv->value[ch->feature];
	if (isnan(v))
		return ch->missing_points;
	if (ch->type == FEATURE_NUM) {
		for (size_t i = 0; i + 1 < ch->n_bins; i++)
			if (v < ch->bins[i].to)
				return ch->bins[i].points;
		return ch->bins[ch->n_bins - 1].points;
	}
	int code = ch->type == FEATURE_BOOL ? v != 0 : (int)v;
	if (code < 0 || code >= SYMBOLS_MAX || ch->code_bin[code] < 0)
		return ch->missing_points;
	return ch->bins[ch->code_bin[code]].points;
}

/* Points, adverse reasons and the points grade of one customer (no caps or floors yet). */
static void score_points(const struct scorecard *card, const struct feature_vec *fv,
                         struct credit_grade *out)
{
	struct {
		double lost;
		size_t idx;
		int missing;
	} losses[SCORECARD_CHARS_MAX];
	size_t n_losses = 0;
	memset(out, 0, sizeof *out);
	double points = card->base_points;
	for (size_t i = 0; i < card->n_chars; i++) {
		const struct sc_char *ch = &card->chars[i];
		double got = char_points(ch, fv);
		points += got;
		double lost = ch->best - got;
		if (!(lost > 0))
			continue;
		size_t j = n_losses++;
		while (j > 0 && losses[j - 1].lost < lost) { /* stable: ties keep card order */
			losses[j] = losses[j - 1];
			j--;
		}
		losses[j].lost = lost;
		losses[j].idx = i;
		losses[j].missing = char_missing(ch, fv);
	}
	for (size_t k = 0; k < n_losses && k < CREDIT_REASONS_MAX; k++) {
		const struct sc_char *ch = &card->chars[losses[k].idx];
		struct credit_reason *r = &out->reasons[out->n_reasons++];
		memcpy(r->code, ch->code, sizeof r->code);
		memcpy(r->text, losses[k].missing && ch->missing_text[0] ? ch->missing_text : ch->text,
		       sizeof r->text);
		r->points_lost = losses[k].lost;
	}
	out->points = points;
	out->points_grade = scorecard_points_grade(card, points);
}

/* Applies a credit rule set's floor, then its cap, to out->points_grade. */
static void apply_limits(struct credit_grade *out, const struct rule_hits *caps_or_NULL)
{
	enum rule_grade g = out->points_grade;
	if (caps_or_NULL) {
		enum rule_grade floor = caps_or_NULL->floor, cap = caps_or_NULL->cap;
		if (floor >= RULE_GRADE_AAA && floor < RULE_GRADE__COUNT && g > floor)
			g = floor;
		if (cap >= RULE_GRADE_AAA && cap < RULE_GRADE__COUNT && g < cap)
			g = cap;
	}
	out->grade = g;
	out->capped = g > out->points_grade;
	out->floored = g < out->points_grade;
}

enum rule_grade scorecard_points_grade(const struct scorecard *card, double points)
{
	for (int k = RULE_GRADE_AAA; k < RULE_GRADE_C; k++)
		if (points >= card->cutoff[k])
			return (enum rule_grade)k;
	return RULE_GRADE_C;
}

enum rule_grade scorecard_points_grade_held(const struct scorecard *card, double points,
                                            enum rule_grade held, double margin)
{
	enum rule_grade plain = scorecard_points_grade(card, points);
	if (held < RULE_GRADE_AAA || held >= RULE_GRADE__COUNT || !(margin > 0))
		return plain;
	enum rule_grade moved = plain;
	if (plain < held) /* better: only once the points clear the better cut-off by margin */
		moved = scorecard_points_grade(card, points - margin);
	else if (plain > held) /* worse: only once the points fall below held's cut-off by margin */
		moved = scorecard_points_grade(card, points + margin);
	if ((plain < held && moved < held) || (plain > held && moved > held))
		return moved;
	return held;
}

int scorecard_grade(const struct scorecard *card, const struct feature_vec *fv,
                    const struct rule_hits *caps_or_NULL, struct credit_grade *out)
{
	score_points(card, fv, out);
	apply_limits(out, caps_or_NULL);
	return 0;
}

int scorecard_grade_with_rules(const struct scorecard *card, const struct feature_vec *fv,
                               const struct ruleset *credit_rules, struct credit_grade *out)
{
	return scorecard_grade_held(card, fv, credit_rules, RULE_GRADE_NONE, 0, out);
}

int scorecard_grade_held(const struct scorecard *card, const struct feature_vec *fv,
                         const struct ruleset *credit_rules, enum rule_grade held,
                         double margin, struct credit_grade *out)
{
	struct rule_hits hits;
	score_points(card, fv, out);
	out->points_grade = scorecard_points_grade_held(card, out->points, held, margin);
	if (!credit_rules) {
		apply_limits(out, NULL);
		return 0;
	}
	ruleset_eval(credit_rules, fv, &hits);
	apply_limits(out, &hits);
	if (!out->capped && !out->floored)
		return 0;
	/* The active rule that set the binding cap (or floor), first in file order. */
	const struct rule_info *rule = NULL;
	for (size_t i = 0; i < hits.n_fired && !rule; i++) {
		const struct rule_info *info = ruleset_rule(credit_rules, hits.fired[i]);
		if (info->mode != RULE_MODE_ACTIVE)
			continue;
		if (out->capped ? info->cap == hits.cap : info->floor == hits.floor)
			rule = info;
	}
	if (!rule)
		return 0;
	int keep = out->n_reasons < CREDIT_REASONS_MAX ? out->n_reasons : CREDIT_REASONS_MAX - 1;
	memmove(&out->reasons[1], &out->reasons[0], (size_t)keep * sizeof out->reasons[0]);
	struct credit_reason *r = &out->reasons[0];
	memset(r, 0, sizeof *r);
	riskd_strlcpy(r->code, sizeof r->code, rule->id, strlen(rule->id));
	riskd_strlcpy(r->text, sizeof r->text, rule->title, strlen(rule->title));
	out->n_reasons = keep + 1;
	return 0;
}
