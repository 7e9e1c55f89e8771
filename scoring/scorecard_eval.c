/*
 * scorecard_eval.c - scorecards measured on a table of customers (see scorecard_fit.h): table
 * cells read as registry features, AUC and KS of points against outcomes, and a card set
 * graded over every row of a labelled table.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scorecard_fit_int.h"

/* ---- cells ---- */

int fit_parse_number(const char *s, double *out)
{
	char *end;
	if (!*s || isspace((unsigned char)*s))
		return -1;
	double v = strtod(s, &end);
	if (*end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int fit_parse_code(const struct feature_def *def, const char *s)
{
	if (def->type == FEATURE_BOOL) {
		if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
			return 1;
		if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
			return 0;
		return -1;
	}
	size_t n;
	const char *const *names = feature_symbols(def->id, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

int fit_parse_target(const char *s, const char *bad_value)
{
	double v;
	if (!*s)
		return -1;
	if (bad_value)
		return strcmp(s, bad_value) == 0;
	if (strcmp(s, "true") == 0)
		return 1;
	if (strcmp(s, "false") == 0)
		return 0;
	if (fit_parse_number(s, &v) == 0 && (v == 0 || v == 1))
		return (int)v;
	return -2;
}

const char *fit_cell(const struct fit_table *t, size_t row, size_t col)
{
	const char *c = t->cells[row * t->n_cols + col];
	return c ? c : "";
}

int fit_find_column(const struct fit_table *t, const char *name)
{
	for (size_t c = 0; c < t->n_cols; c++)
		if (strcmp(t->names[c], name) == 0)
			return (int)c;
	return -1;
}

int fit_find_named_column(const struct fit_table *t, const char *name)
{
	int c = fit_find_column(t, name);
	char attr[ATTR_NAME_MAX + 1];
	for (size_t k = 0; c < 0 && k < t->n_cols; k++)
		if (attr_name_of_column(t->names[k], attr) == 0 && strcmp(attr, name) == 0)
			c = (int)k;
	return c;
}

void fit_target_error(const struct fit_table *t, size_t r, size_t col, const char *target,
                      char *errstr, size_t errstr_size)
{
	const char *first = NULL, *second = NULL;
	for (size_t i = 0; i < t->n_rows && !second; i++) {
		const char *c = fit_cell(t, i, col);
		if (!*c || (first && strcmp(c, first) == 0))
			continue;
		if (!first)
			first = c;
		else
			second = c;
	}
	snprintf(errstr, errstr_size, "row %zu: target %s is '%.40s', not 0 or 1: name the value "
	         "that marks a bad row with --bad-value (the column holds '%.20s'%s%.20s%s)", r + 1,
	         target, fit_cell(t, r, col), first ? first : "", second ? " and '" : "",
	         second ? second : "", second ? "'" : "");
}

/* ---- metrics ---- */

struct scored {
	double points;
	uint8_t bad;
};

static int scored_cmp(const void *a, const void *b)
{
	double x = ((const struct scored *)a)->points, y = ((const struct scored *)b)->points;
	return x < y ? -1 : x > y;
}

void scorecard_metrics(const double *points, const uint8_t *bad, size_t n, double *auc,
                       double *ks)
{
	struct scored *s = xmalloc((n ? n : 1) * sizeof *s);
	double nbad = 0, ngood = 0;
	for (size_t i = 0; i < n; i++) {
		s[i].points = points[i];
		s[i].bad = bad[i];
		nbad += bad[i];
	}
	ngood = (double)n - nbad;
	*auc = 0.5;
	*ks = 0;
	if (nbad == 0 || ngood == 0) {
		free(s);
		return;
	}
	qsort(s, n, sizeof *s, scored_cmp);
	/* Walk ties together: a good row above a bad one counts 1, level with it 1/2. */
	double bads_below = 0, goods_below = 0, wins = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		double tb = 0, tg = 0;
		while (j < n && s[j].points == s[i].points) {
			tb += s[j].bad;
			tg += !s[j].bad;
			j++;
		}
		wins += tg * bads_below + 0.5 * tg * tb;
		bads_below += tb;
		goods_below += tg;
		double gap = fabs(bads_below / nbad - goods_below / ngood);
		if (gap > *ks)
			*ks = gap;
		i = j;
	}
	*auc = wins / (nbad * ngood);
	free(s);
}

/* ---- reading rows as features ---- */

/* Column -> registry feature (NULL: not a feature). */
static const struct feature_def **feature_columns(const struct fit_table *t)
{
	const struct feature_def **defs = xcalloc(t->n_cols ? t->n_cols : 1, sizeof *defs);
	for (size_t c = 0; c < t->n_cols; c++)
		defs[c] = feature_lookup(t->names[c], strlen(t->names[c]));
	return defs;
}

static int row_features(const struct fit_table *t, const struct feature_def **defs, size_t row,
                        struct feature_vec *fv, char *errstr, size_t errstr_size)
{
	feature_vec_clear(fv);
	for (size_t c = 0; c < t->n_cols; c++) {
		const struct feature_def *def = defs[c];
		const char *text = fit_cell(t, row, c);
		if (!def || !*text)
			continue;
		double v;
		int code;
		if (def->type == FEATURE_NUM) {
			if (fit_parse_number(text, &v) < 0)
				goto bad;
			feature_set(fv, def->id, v);
		} else if ((code = fit_parse_code(def, text)) >= 0) {
			feature_set(fv, def->id, code);
		} else {
			goto bad;
		}
		continue;
	bad:
		snprintf(errstr, errstr_size, "row %zu, column %s: '%.40s' is not a %s", row + 1,
		         def->name, text, def->type == FEATURE_NUM ? "number" :
		         def->type == FEATURE_BOOL ? "boolean (true, false, 1, 0)" : "segment name");
		return RISKD_ERR_INVALID;
	}
	return 0;
}

int fit_table_row_features(const struct fit_table *t, size_t row, struct feature_vec *fv,
                           char *errstr, size_t errstr_size)
{
	const struct feature_def **defs = feature_columns(t);
	int rc = row_features(t, defs, row, fv, errstr, errstr_size);
	free(defs);
	return rc;
}

/* ---- evaluation ---- */

/* The columns the cards of a set read, and the schema their attributes are bound to. */
struct eval_columns {
	int feature_col[FEAT__COUNT];       /* -1: no card reads the feature, or no column */
	int attr_col[ATTR_MAX];             /* by schema slot */
	struct attr_schema *schema;
	const struct attr_schema *limits_attrs; /* the credit rules' attributes, or NULL */
	int limits_col[ATTR_MAX];           /* by their slot; -1: no column */
};

/* Adds card's attributes to the set's schema. Returns 0 or -1 (errstr). */
static int eval_add_card_attributes(struct eval_columns *ec, const struct scorecard *card,
                                    char *errstr, size_t errstr_size)
{
	for (size_t i = 0; i < card->n_chars; i++) {
		const struct scorecard_char *ch = &card->chars[i];
		if (!ch->is_attr)
			continue;
		enum attr_type type = ch->type == FEATURE_SYM ? ATTR_CATEGORY : ATTR_NUMBER;
		int slot = attr_schema_find(ec->schema, ch->attr, strlen(ch->attr));
		if (slot < 0)
			slot = attr_schema_add(ec->schema, ch->attr, type);
		if (slot < 0 || ec->schema->defs[slot].type != type) {
			snprintf(errstr, errstr_size, "attribute '%s' is a number on one card and a "
			         "category on another, or the cards use more than %d attributes", ch->attr,
			         ATTR_MAX);
			return -1;
		}
		for (size_t k = 0; k < ch->n_cats; k++)
			attr_def_add_value(&ec->schema->defs[slot], ch->cats[k], strlen(ch->cats[k]));
	}
	return 0;
}

/* Finds the columns the set reads (every feature's, all_features: the credit rules read them
 * too) and binds its cards' attributes. Returns 0 or -1. */
static int eval_columns_init(struct eval_columns *ec, struct scorecard_set *set,
                             const struct fit_table *t, int all_features, char *errstr,
                             size_t errstr_size)
{
	ec->schema = attr_schema_new();
	for (size_t f = 0; f < FEAT__COUNT; f++)
		ec->feature_col[f] = all_features ? fit_find_column(t, feature_def(f)->name) : -1;
	for (size_t i = 0; i < set->n_cards; i++) {
		const struct scorecard *card = set->cards[i];
		for (size_t j = 0; j < card->n_chars; j++)
			if (!card->chars[j].is_attr)
				ec->feature_col[card->chars[j].feature] =
					fit_find_named_column(t, feature_def(card->chars[j].feature)->name);
		if (eval_add_card_attributes(ec, card, errstr, errstr_size) < 0)
			return -1;
	}
	for (size_t i = 0; i < set->n_cards; i++)
		if (scorecard_bind_attributes(set->cards[i], ec->schema, errstr, errstr_size) < 0)
			return -1;
	for (size_t a = 0; a < ec->schema->count; a++)
		ec->attr_col[a] = fit_find_named_column(t, ec->schema->defs[a].name);
	for (size_t a = 0; ec->limits_attrs && a < ec->limits_attrs->count; a++)
		ec->limits_col[a] = fit_find_named_column(t, ec->limits_attrs->defs[a].name);
	return 0;
}

/* Row r's values of the credit rules' attributes into av, as declared. Returns 0 or -1
 * (errstr). */
static int eval_row_limits_attrs(const struct eval_columns *ec, const struct fit_table *t,
                                 size_t r, struct attr_vec *av, char *errstr, size_t errstr_size)
{
	char why[160];
	attr_vec_clear(av);
	for (size_t a = 0; ec->limits_attrs && a < ec->limits_attrs->count; a++) {
		const char *text = ec->limits_col[a] >= 0 ? fit_cell(t, r, (size_t)ec->limits_col[a])
		                                          : "";
		double v;
		if (!*text)
			continue;
		if (attr_def_parse(&ec->limits_attrs->defs[a], text, &v, why, sizeof why) < 0) {
			snprintf(errstr, errstr_size, "row %zu, column %s: %s (as --attributes declares "
			         "it): if it means missing, give --na '%.40s'", r + 1,
			         t->names[ec->limits_col[a]], why, text);
			return -1;
		}
		attr_vec_set(av, (int)a, v);
	}
	return 0;
}

/* Row r's values of the columns the cards read into fv and av. Returns 0 or -1 (errstr). */
static int eval_row_values(struct eval_columns *ec, const struct fit_table *t, size_t r,
                           struct feature_vec *fv, struct attr_vec *av, char *errstr,
                           size_t errstr_size)
{
	char why[160];
	feature_vec_clear(fv);
	attr_vec_clear(av);
	for (size_t f = 0; f < FEAT__COUNT; f++) {
		const struct feature_def *def = feature_def((enum feature_id)f);
		const char *text = ec->feature_col[f] >= 0 ? fit_cell(t, r, (size_t)ec->feature_col[f])
		                                           : "";
		double v;
		int code = -1;
		if (!*text)
			continue;
		if (def->type == FEATURE_NUM ? fit_parse_number(text, &v) == 0
		                             : (code = fit_parse_code(def, text)) >= 0) {
			feature_set(fv, def->id, def->type == FEATURE_NUM ? v : code);
			continue;
		}
		snprintf(errstr, errstr_size, "row %zu, column %s: '%.40s' is not a %s: if it means "
		         "missing, give --na '%.40s'", r + 1, t->names[ec->feature_col[f]], text,
		         def->type == FEATURE_NUM ? "number" : def->type == FEATURE_BOOL ?
		         "boolean (true, false, 1, 0)" : "segment name", text);
		return -1;
	}
	for (size_t a = 0; a < ec->schema->count; a++) {
		struct attr_def *def = &ec->schema->defs[a];
		const char *text = ec->attr_col[a] >= 0 ? fit_cell(t, r, (size_t)ec->attr_col[a]) : "";
		double v;
		if (!*text)
			continue;
		if (def->type == ATTR_CATEGORY) /* a new value takes the other bin */
			v = attr_def_add_value(def, text, strlen(text));
		else if (attr_def_parse(def, text, &v, why, sizeof why) < 0) {
			snprintf(errstr, errstr_size, "row %zu, column %s: %s: if it means missing, give "
			         "--na '%.40s'", r + 1, t->names[ec->attr_col[a]], why, text);
			return -1;
		}
		attr_vec_set(av, (int)a, v);
	}
	return 0;
}

/* The card for row r: by its segment, else the default card (or the only one). */
static const struct scorecard *eval_pick(const struct scorecard_set *set,
                                         const struct fit_table *t, int seg_col, size_t r)
{
	const char *seg_text = seg_col >= 0 ? fit_cell(t, r, (size_t)seg_col) : "";
	if (*seg_text) {
		int code = fit_parse_code(feature_def(FEAT_SEGMENT), seg_text);
		for (size_t i = 0; code >= 0 && i < scorecard_set_count(set); i++)
			if (scorecard_has_segment(scorecard_set_card(set, i), (enum segment)(code + 1)))
				return scorecard_set_card(set, i);
		return NULL;
	}
	const struct scorecard *card = scorecard_set_pick(set, SEGMENT_UNKNOWN);
	return card || seg_col >= 0 || scorecard_set_count(set) != 1 ? card
	                                                             : scorecard_set_card(set, 0);
}

int scorecard_eval_table(struct scorecard_set *set, const struct fit_table *t,
                         const char *target, const char *bad_value, scorecard_limits_fn *limits,
                         void *limits_arg, const struct attr_schema *limits_attrs,
                         struct scorecard_eval *out, char *errstr, size_t errstr_size)
{
	memset(out, 0, sizeof *out);
	int tcol = fit_find_column(t, target);
	if (tcol < 0) {
		snprintf(errstr, errstr_size, "no column '%s' (the target) in the table", target);
		return RISKD_ERR_INVALID;
	}
	int seg_col = fit_find_column(t, "segment");
	struct eval_columns ec = {.limits_attrs = limits ? limits_attrs : NULL};
	double *points = xmalloc((t->n_rows ? t->n_rows : 1) * sizeof *points);
	uint8_t *bad = xmalloc(t->n_rows ? t->n_rows : 1);
	int rc = RISKD_ERR_INVALID;
	if (eval_columns_init(&ec, set, t, limits != NULL, errstr, errstr_size) < 0)
		goto done;
	for (size_t r = 0; r < t->n_rows; r++) {
		int y = fit_parse_target(fit_cell(t, r, (size_t)tcol), bad_value);
		if (y == -2) {
			fit_target_error(t, r, (size_t)tcol, target, errstr, errstr_size);
			goto done;
		}
		const struct scorecard *card = eval_pick(set, t, seg_col, r);
		if (y < 0 || !card) {
			out->skipped++;
			continue;
		}
		struct feature_vec fv;
		struct attr_vec av;
		struct credit_grade grade;
		if (eval_row_values(&ec, t, r, &fv, &av, errstr, errstr_size) < 0)
			goto done;
		struct grade_limits row_limits;
		struct attr_vec limits_av;
		if (eval_row_limits_attrs(&ec, t, r, &limits_av, errstr, errstr_size) < 0)
			goto done;
		if (limits)
			limits(limits_arg, &fv, ec.limits_attrs ? &limits_av : NULL, &row_limits);
		scorecard_grade_attrs(card, &fv, &av, limits ? &row_limits : NULL, RULE_GRADE_NONE, 0,
		                      &grade);
		points[out->rows] = grade.points;
		bad[out->rows] = (uint8_t)y;
		out->rows++;
		out->bads += (size_t)y;
		out->grade_rows[grade.grade]++;
		out->grade_bads[grade.grade] += (size_t)y;
	}
	if (out->rows == 0) {
		snprintf(errstr, errstr_size, "no row was graded (no card for the rows' segments, or "
		         "no target values)");
		goto done;
	}
	scorecard_metrics(points, bad, out->rows, &out->auc, &out->ks);
	out->gini = 2 * out->auc - 1;
	rc = 0;
done:
	attr_schema_free(ec.schema);
	free(points);
	free(bad);
	return rc;
}
