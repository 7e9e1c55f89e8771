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

int fit_parse_target(const char *s)
{
	double v;
	if (!*s)
		return -1;
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

int scorecard_eval_table(const struct scorecard_set *set, const struct fit_table *t,
                         const char *target, scorecard_limits_fn *limits, void *limits_arg,
                         struct scorecard_eval *out, char *errstr, size_t errstr_size)
{
	memset(out, 0, sizeof *out);
	int tcol = fit_find_column(t, target);
	if (tcol < 0) {
		snprintf(errstr, errstr_size, "no column '%s' (the target) in the table", target);
		return RISKD_ERR_INVALID;
	}
	int seg_col = fit_find_column(t, "segment");
	const struct feature_def **defs = feature_columns(t);
	double *points = xmalloc((t->n_rows ? t->n_rows : 1) * sizeof *points);
	uint8_t *bad = xmalloc(t->n_rows ? t->n_rows : 1);
	int rc = RISKD_ERR_INVALID;
	for (size_t r = 0; r < t->n_rows; r++) {
		int y = fit_parse_target(fit_cell(t, r, (size_t)tcol));
		if (y == -2) {
			snprintf(errstr, errstr_size, "row %zu: target %s is '%.40s', not 0 or 1", r + 1,
			         target, fit_cell(t, r, (size_t)tcol));
			goto done;
		}
		const struct scorecard *card = NULL;
		const char *seg_text = seg_col >= 0 ? fit_cell(t, r, (size_t)seg_col) : "";
		if (*seg_text) {
			int code = fit_parse_code(feature_def(FEAT_SEGMENT), seg_text);
			for (size_t i = 0; code >= 0 && i < scorecard_set_count(set) && !card; i++)
				if (scorecard_has_segment(scorecard_set_card(set, i), (enum segment)(code + 1)))
					card = scorecard_set_card(set, i);
		} else {
			card = scorecard_set_pick(set, SEGMENT_UNKNOWN);
		}
		if (y < 0 || !card) {
			out->skipped++;
			continue;
		}
		struct feature_vec fv;
		struct credit_grade grade;
		if (row_features(t, defs, r, &fv, errstr, errstr_size) < 0)
			goto done;
		struct grade_limits row_limits;
		if (limits)
			limits(limits_arg, &fv, &row_limits);
		scorecard_grade(card, &fv, limits ? &row_limits : NULL, &grade);
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
	free(defs);
	free(points);
	free(bad);
	return rc;
}
