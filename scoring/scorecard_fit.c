/*
 * scorecard_fit.c - fits a credit scorecard to a table of customers and evaluates cards on
 * such tables (see scorecard_fit.h; docs/credit.md walks through a fit).
 *
 * The fit, step by step:
 *   1. rows: the target parses as 0/1 and the row's segment is one of the card's;
 *   2. columns: registry features only (identifiers and other columns are noted and left out);
 *   3. binning: numeric columns get fine classes of about 5% of the rows, merged by the
 *      pool-adjacent-violators algorithm until the bad rate is monotonic (in whichever
 *      direction keeps more information), then small bins are merged into their closest
 *      neighbour and the pair whose merge loses the least information value is merged until
 *      at most `bins` remain; cut points are the roundest numbers between neighbouring bins.
 *      Boolean and symbol columns get one bin per value. Missing values have their own bin.
 *   4. weight of evidence per bin, WoE = ln(share of goods / share of bads) with half a row
 *      added to each count, and information value IV = sum (good share - bad share) * WoE;
 *   5. logistic regression of the target on the WoE of the strongest characteristics, with an
 *      L2 penalty, by Newton's method (IRLS) and a Cholesky solve; a characteristic whose
 *      coefficient comes out with the wrong sign (more WoE, more risk) is dropped and the
 *      model refitted;
 *   6. points: factor = pdo / ln 2, offset = base_points - factor ln(base_odds); a bin scores
 *      round(-factor * beta * WoE), the card's base is round(offset - factor * intercept); the
 *      cut-off of a grade is the score at which the fitted probability of going bad equals
 *      its bound.
 */
#include "scorecard_fit_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the credit features mean for risk: `rising` 1 when the bad rate must not fall as the
 * value grows, -1 when it must not rise (the binning enforces it, so the reason text stays
 * true), 0 to let the data choose; and the reason text for losing points on it. */
static const char no_history[] = "No billing history yet";
static const struct {
	const char *feature;
	int rising;
	const char *text;
	const char *missing_text; /* when the missing bin lost the points; NULL: text */
} known_features[] = {
	{"days_past_due", 1, "Bills are past due now", no_history},
	{"max_days_past_due_12m", 1, "Bills went far past due in the last 12 months", no_history},
	{"late_payments_12m", 1, "Late payments in the last 12 months", no_history},
	{"on_time_share_12m", -1, "Few bills paid on time in the last 12 months", no_history},
	{"arrears_amount", 1, "Amount in arrears", no_history},
	{"arrears_ratio", 1, "Arrears high against the average bill", no_history},
	{"reversals_12m", 1, "Bounced payments in the last 12 months", no_history},
	{"tenure_months", -1, "Short time as a customer", "Customer start date unknown"},
	{"months_since_last_late", -1, "Recent late payment", NULL},
	{"bills_12m", -1, "Short billing history", no_history},
	{"confirmed_theft", 0, "Confirmed electricity theft", NULL},
	{"segment", 0, "Customer segment", NULL},
};

static int known_index(const struct feature_def *def)
{
	for (size_t i = 0; i < sizeof known_features / sizeof known_features[0]; i++)
		if (strcmp(known_features[i].feature, def->name) == 0)
			return (int)i;
	return -1;
}

void scorecard_fit_opts_init(struct scorecard_fit_opts *o)
{
	memset(o, 0, sizeof *o);
	o->bins = 5;
	o->l2 = 1.0;
	o->min_iv = 0.02;
	o->min_bin_share = 0.05;
	o->max_chars = 12;
	o->max_correlation = 0.8;
	o->pdo = 20;
	o->base_odds = 50;
	o->base_points = 600;
	o->grade_pd[RULE_GRADE_AAA] = 0.03;
	o->grade_pd[RULE_GRADE_AA] = 0.06;
	o->grade_pd[RULE_GRADE_A] = 0.12;
	o->grade_pd[RULE_GRADE_B] = 0.30;
}

static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Bit per enum segment named in a comma-separated list; 0 with errstr set on a bad name. */
static unsigned parse_segments(const char *list, char *errstr, size_t errstr_size)
{
	size_t nsym;
	const char *const *names = feature_symbols(FEAT_SEGMENT, &nsym);
	unsigned mask = 0;
	const char *p = list;
	while (*p) {
		size_t len = strcspn(p, ",");
		size_t s;
		for (s = 0; s < nsym; s++)
			if (strlen(names[s]) == len && strncmp(names[s], p, len) == 0)
				break;
		if (s == nsym) {
			snprintf(errstr, errstr_size, "--segment: unknown segment '%.*s' (expected "
			         "residential, commercial, industrial or agricultural)", (int)len, p);
			return 0;
		}
		mask |= 1u << (s + 1);
		p += len;
		if (*p == ',')
			p++;
	}
	if (!mask)
		snprintf(errstr, errstr_size, "--segment: no segment given");
	return mask;
}

static int in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, name, n) == 0)
			return 1;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* ---- characteristics ---- */


/* The reason text of a characteristic: the known credit texts, an attribute's declared
 * reason, else the feature's description. */
static const char *reason_text(const struct fit_char *fc, const struct attr_schema *schema,
                               char *buf, size_t size)
{
	if (!fc->def)
		return schema->defs[fc->slot].reason;
	int k = known_index(fc->def);
	if (k >= 0)
		return known_features[k].text;
	attr_text_line(buf, size, fc->def->doc);
	if (buf[0])
		buf[0] = (char)toupper((unsigned char)buf[0]);
	return buf;
}

/* Reads column fc->col of a registry feature over the fitted rows. Returns -1 (with a note)
 * when a cell does not parse as the feature's type. */
static int read_column(const struct fit_table *t, const size_t *rows, size_t n,
                       struct fit_char *fc, struct rbuf *notes)
{
	for (size_t i = 0; i < n; i++) {
		const char *c = fit_cell(t, rows[i], fc->col);
		double v;
		if (!*c) {
			fc->value[i] = NAN;
			continue;
		}
		if (fc->def->type == FEATURE_NUM) {
			if (fit_parse_number(c, &v) < 0) {
				rbuf_printf(notes, "%s: row %zu: '%s' is not a number: left out (if it means "
				            "missing, give --na '%s')\n", fc->name, rows[i] + 1, c, c);
				return -1;
			}
		} else {
			int code = fit_parse_code(fc->def, c);
			if (code < 0) {
				rbuf_printf(notes, "%s: row %zu: '%s' is not a %s value: left out\n",
				            fc->name, rows[i] + 1, c,
				            fc->def->type == FEATURE_BOOL ? "boolean" : "segment");
				return -1;
			}
			v = code;
		}
		fc->value[i] = v;
	}
	return 0;
}

/* Reads column fc->col of a declared attribute (def) over the fitted rows. Returns -1 (with a
 * note) when the declaration refuses a cell. */
static int read_declared(const struct fit_table *t, const size_t *rows, size_t n,
                         struct fit_char *fc, const struct attr_def *def, struct rbuf *notes)
{
	char why[160];
	for (size_t i = 0; i < n; i++) {
		const char *c = fit_cell(t, rows[i], fc->col);
		fc->value[i] = NAN;
		if (*c && attr_def_parse(def, c, &fc->value[i], why, sizeof why) < 0) {
			rbuf_printf(notes, "%s: row %zu: %s: left out (fix the declaration in --attributes, "
			            "or give --na '%s' if it means missing)\n", t->names[fc->col],
			            rows[i] + 1, why, c);
			return -1;
		}
	}
	return 0;
}

/* Pearson correlation of two characteristics' WoE over the fitted rows (0 when one is
 * constant). */
static double woe_correlation(const struct fit_char *a, const struct fit_char *b, size_t n)
{
	double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
	for (size_t i = 0; i < n; i++) {
		double x = a->woe[a->bin[i]], y = b->woe[b->bin[i]];
		sa += x;
		sb += y;
		saa += x * x;
		sbb += y * y;
		sab += x * y;
	}
	double nn = (double)n;
	double va = saa - sa * sa / nn, vb = sbb - sb * sb / nn;
	if (!(va > 1e-12 && vb > 1e-12))
		return 0;
	return (sab - sa * sb / nn) / sqrt(va * vb);
}

/* ---- logistic regression ---- */

/* Solves a x = b for symmetric positive definite a (k x k, row-major; destroyed). */
static int cholesky_solve(double *a, double *b, size_t k)
{
	for (size_t j = 0; j < k; j++) {
		double d = a[j * k + j];
		for (size_t p = 0; p < j; p++)
			d -= a[j * k + p] * a[j * k + p];
		if (!(d > 1e-12))
			return -1;
		a[j * k + j] = sqrt(d);
		for (size_t i = j + 1; i < k; i++) {
			double s = a[i * k + j];
			for (size_t p = 0; p < j; p++)
				s -= a[i * k + p] * a[j * k + p];
			a[i * k + j] = s / a[j * k + j];
		}
	}
	for (size_t i = 0; i < k; i++) {
		double s = b[i];
		for (size_t p = 0; p < i; p++)
			s -= a[i * k + p] * b[p];
		b[i] = s / a[i * k + i];
	}
	for (size_t i = k; i-- > 0;) {
		double s = b[i];
		for (size_t p = i + 1; p < k; p++)
			s -= a[p * k + i] * b[p];
		b[i] = s / a[i * k + i];
	}
	return 0;
}

static double softplus(double x)
{
	return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* Penalised log-likelihood of beta. */
static double penalised_ll(struct fit_char **chars, size_t k, const uint8_t *bad, size_t n,
                           double l2, const double *beta)
{
	double ll = 0;
	for (size_t i = 0; i < n; i++) {
		double eta = beta[0];
		for (size_t j = 0; j < k; j++)
			eta += beta[j + 1] * chars[j]->woe[chars[j]->bin[i]];
		ll += (double)bad[i] * eta - softplus(eta);
	}
	for (size_t j = 1; j <= k; j++)
		ll -= 0.5 * l2 * beta[j] * beta[j];
	return ll;
}

/*
 * L2-penalised logistic regression of bad on the WoE of chars[0 .. k) by Newton's method,
 * each step halved until the penalised likelihood improves. beta[0] is the intercept (not
 * penalised), beta[1 + j] the coefficient of chars[j]. Returns 0, or -1 when the system is
 * singular.
 */
static int fit_logistic(struct fit_char **chars, size_t k, const uint8_t *bad, size_t n,
                        double l2, double *beta)
{
	size_t d = k + 1;
	double *h = xmalloc(d * d * sizeof *h), *g = xmalloc(d * sizeof *g);
	double x[SCORECARD_CHARS_MAX + 1], trial[SCORECARD_CHARS_MAX + 1];
	size_t nbad = 0;
	int rc = -1;
	for (size_t i = 0; i < n; i++)
		nbad += bad[i];
	memset(beta, 0, d * sizeof *beta);
	beta[0] = log(((double)nbad + 0.5) / ((double)(n - nbad) + 0.5));
	double ll = penalised_ll(chars, k, bad, n, l2, beta);
	for (int iter = 0; iter < FIT_ITER_MAX; iter++) {
		memset(h, 0, d * d * sizeof *h);
		memset(g, 0, d * sizeof *g);
		for (size_t i = 0; i < n; i++) {
			x[0] = 1;
			double eta = beta[0];
			for (size_t j = 0; j < k; j++) {
				x[j + 1] = chars[j]->woe[chars[j]->bin[i]];
				eta += beta[j + 1] * x[j + 1];
			}
			double p = 1.0 / (1.0 + exp(-eta));
			double w = p * (1 - p), r = (double)bad[i] - p;
			for (size_t a = 0; a < d; a++) {
				g[a] += x[a] * r;
				for (size_t b = 0; b <= a; b++)
					h[a * d + b] += w * x[a] * x[b];
			}
		}
		for (size_t a = 0; a < d; a++)
			for (size_t b = 0; b < a; b++)
				h[b * d + a] = h[a * d + b];
		for (size_t a = 1; a < d; a++) {
			h[a * d + a] += l2;
			g[a] -= l2 * beta[a];
		}
		h[0] += 1e-9 * (double)n; /* keeps the system solvable when every p saturates */
		if (cholesky_solve(h, g, d) < 0)
			goto done;
		double t = 1, next = ll;
		for (; t > 1e-8; t *= 0.5) {
			for (size_t a = 0; a < d; a++)
				trial[a] = beta[a] + t * g[a];
			next = penalised_ll(chars, k, bad, n, l2, trial);
			if (next >= ll)
				break;
		}
		if (!(t > 1e-8))
			break; /* no step improves: at the optimum within rounding */
		double step = 0;
		for (size_t a = 0; a < d; a++) {
			if (fabs(trial[a] - beta[a]) > step)
				step = fabs(trial[a] - beta[a]);
			beta[a] = trial[a];
		}
		ll = next;
		if (step < 1e-10)
			break;
	}
	rc = 0;
done:
	free(h);
	free(g);
	return rc;
}

/* ---- the fit ---- */

/* Whether text is a card name or version: letters, digits, '_', '-', '.', 1 .. 64 bytes. */
static int card_name_ok(const char *text)
{
	size_t n = strlen(text);
	return n > 0 && n <= SCORECARD_NAME_MAX &&
	       strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == n;
}

static int check_opts(const struct scorecard_fit_opts *o, char *errstr, size_t errstr_size)
{
	if ((o->name && !card_name_ok(o->name)) || (o->version && !card_name_ok(o->version))) {
		snprintf(errstr, errstr_size, "--name and --version: use letters, digits, '_', '-' and "
		         "'.', at most %d", SCORECARD_NAME_MAX);
		return RISKD_ERR_INVALID;
	}
	if (!o->target) {
		snprintf(errstr, errstr_size, "no target column given");
		return RISKD_ERR_INVALID;
	}
	if (!o->load_card) {
		snprintf(errstr, errstr_size, "no card loader given");
		return RISKD_ERR_INVALID;
	}
	if (o->bins < 1 || o->bins > FIT_BINS_MAX) {
		snprintf(errstr, errstr_size, "--bins %d: must be 1 .. %d", o->bins, FIT_BINS_MAX);
		return RISKD_ERR_INVALID;
	}
	if (o->max_chars < 1 || o->max_chars > SCORECARD_CHARS_MAX) {
		snprintf(errstr, errstr_size, "--max-characteristics %d: must be 1 .. %d", o->max_chars,
		         SCORECARD_CHARS_MAX);
		return RISKD_ERR_INVALID;
	}
	if (!(o->pdo > 0 && o->base_odds > 0 && isfinite(o->base_points) && o->l2 >= 0 &&
	      o->min_iv >= 0 && o->min_bin_share >= 0 && o->min_bin_share <= 0.5 &&
	      o->max_correlation > 0 && o->max_correlation <= 1)) {
		snprintf(errstr, errstr_size, "--pdo and --base-odds must be above 0, --l2 and "
		         "--min-iv at least 0, --min-bin-share 0 .. 0.5, --max-correlation above 0 "
		         "and at most 1");
		return RISKD_ERR_INVALID;
	}
	for (int g = 0; g < RULE_GRADE_C; g++) {
		double p = o->grade_pd[g], prev = g ? o->grade_pd[g - 1] : 0;
		if (!(p > prev && p < 1)) {
			snprintf(errstr, errstr_size, "--grade-pd: four increasing probabilities between 0 "
			         "and 1 (AAA, AA, A, B)");
			return RISKD_ERR_INVALID;
		}
	}
	return 0;
}

/* Points at which the fitted probability of going bad is p. */
static double score_at(const struct scorecard_fit_opts *o, double p)
{
	double factor = o->pdo / log(2.0);
	return o->base_points - factor * log(o->base_odds) + factor * log((1 - p) / p);
}

/* The state of one fit, step to step. */
struct fit_run {
	const struct fit_table *t;
	const struct scorecard_fit_opts *o;
	struct rbuf *notes;
	char *errstr;
	size_t errstr_size;
	int target;                         /* the target column */
	unsigned segments;                  /* bit per enum segment of the card */
	size_t *rows;                       /* the fitted rows of t, nfit of them */
	uint8_t *bad;                       /* per fitted row: its target */
	size_t nfit, nbad;
	struct fit_char *all;               /* usable columns, strongest first */
	size_t n_all;
	struct fit_char *use[SCORECARD_CHARS_MAX]; /* the characteristics of the card, k of them */
	size_t k;
	double beta[SCORECARD_CHARS_MAX + 1];      /* intercept, then one per characteristic */
	int base;                                  /* the card's base points */
	double cutoff[RULE_GRADE_C];
	struct attr_schema *schema;                /* the attributes of the table's columns */
	int seg_col;                               /* the segment column, -1 none */
	int is_default;                            /* the card is the default card */
};

/* Step 1: the rows to fit (target 0/1, segment one of the card's). Returns 0 or -1 (errstr). */
static int fit_select_rows(struct fit_run *run)
{
	const struct fit_table *t = run->t;
	const struct scorecard_fit_opts *o = run->o;
	run->target = fit_find_column(t, o->target);
	if (run->target < 0) {
		snprintf(run->errstr, run->errstr_size, "no column '%s' (the target) in the table",
		         o->target);
		return -1;
	}
	int seg_col = run->seg_col = fit_find_column(t, "segment");
	run->is_default = o->is_default;
	if (seg_col < 0 && !o->segments) {
		run->is_default = 1;
		rbuf_puts(run->notes, "no 'segment' column: the card is the default card, which grades "
		          "every customer\n");
	}
	if (o->segments) {
		run->segments = parse_segments(o->segments, run->errstr, run->errstr_size);
		if (!run->segments)
			return -1;
		if (seg_col < 0)
			rbuf_printf(run->notes, "no 'segment' column: every row is fitted for %s\n",
			            o->segments);
	}
	run->rows = xmalloc((t->n_rows ? t->n_rows : 1) * sizeof *run->rows);
	run->bad = xmalloc((t->n_rows ? t->n_rows : 1) * sizeof *run->bad);
	size_t empty_targets = 0, unseen = 0;
	unsigned seen_segments = 0;
	for (size_t r = 0; r < t->n_rows; r++) {
		int y = fit_parse_target(fit_cell(t, r, (size_t)run->target), o->bad_value);
		if (y == -2) {
			fit_target_error(t, r, (size_t)run->target, o->target, run->errstr,
			                 run->errstr_size);
			return -1;
		}
		if (y < 0) {
			empty_targets++;
			continue;
		}
		if (seg_col >= 0) {
			int code = fit_parse_code(feature_def(FEAT_SEGMENT), fit_cell(t, r, (size_t)seg_col));
			if (code >= 0)
				seen_segments |= 1u << (code + 1);
			if (o->segments && (code < 0 || !(run->segments & (1u << (code + 1))))) {
				unseen++;
				continue;
			}
		}
		run->rows[run->nfit] = r;
		run->bad[run->nfit] = (uint8_t)y;
		run->nbad += (size_t)y;
		run->nfit++;
	}
	if (!o->segments)
		run->segments = seen_segments ? seen_segments : 0x1eu;
	if (empty_targets)
		rbuf_printf(run->notes, "%zu rows with an empty %s: left out\n", empty_targets,
		            o->target);
	if (unseen)
		rbuf_printf(run->notes, "%zu rows of other segments: left out\n", unseen);
	if (run->nbad == 0 || run->nbad == run->nfit) {
		snprintf(run->errstr, run->errstr_size, "%zu rows to fit, %zu of them bad: need both "
		         "good and bad rows", run->nfit, run->nbad);
		return -1;
	}
	if (run->nbad < 50)
		rbuf_printf(run->notes, "only %zu bad rows: the card will be unstable\n", run->nbad);
	return 0;
}

/* Whether column c is an identifier: a different value on every fitted row, none empty, and
 * not a column of fractional numbers (which may well all differ). */
static int is_identifier(const struct fit_run *run, size_t c)
{
	char **vals = xmalloc((run->nfit ? run->nfit : 1) * sizeof *vals);
	size_t nv = 0, distinct = 1, whole = 1;
	for (size_t i = 0; i < run->nfit; i++) {
		const char *cell = fit_cell(run->t, run->rows[i], c);
		double v;
		if (*cell)
			vals[nv++] = (char *)cell;
		if (*cell && (fit_parse_number(cell, &v) < 0 || v != floor(v)))
			whole &= fit_parse_number(cell, &v) < 0;
	}
	qsort(vals, nv, sizeof *vals, str_ptr_cmp);
	for (size_t i = 1; i < nv; i++)
		distinct &= strcmp(vals[i - 1], vals[i]) != 0;
	free(vals);
	return nv == run->nfit && distinct && whole && run->nfit > 1;
}

/* A copy of declared attribute def in the fit's schema; returns its slot or -1. */
static int add_declared(struct attr_schema *schema, const struct attr_def *def)
{
	int slot = attr_schema_add(schema, def->name, def->type);
	if (slot < 0)
		return -1;
	struct attr_def *copy = &schema->defs[slot];
	copy->min = def->min;
	copy->max = def->max;
	for (size_t v = 0; v < def->n_values; v++)
		attr_def_add_value(copy, def->values[v], strlen(def->values[v]));
	attr_def_set_description(copy, def->description);
	attr_def_set_reason(copy, def->reason);
	return slot;
}

static int cstr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A new attribute for column fc->col named name: a number when every non-empty cell is one,
 * else a category of the values found (sorted). Reads fc->value; returns 0, or -1 with a
 * note. */
static int infer_attribute(struct fit_run *run, struct fit_char *fc, const char *name)
{
	const struct fit_table *t = run->t;
	const char *column = t->names[fc->col];
	int numeric = 1;
	for (size_t i = 0; i < run->nfit && numeric; i++) {
		const char *c = fit_cell(t, run->rows[i], fc->col);
		numeric = !*c || fit_parse_number(c, &fc->value[i]) == 0;
	}
	int slot = attr_schema_add(run->schema, name, numeric ? ATTR_NUMBER : ATTR_CATEGORY);
	if (slot < 0) {
		rbuf_printf(run->notes, "%s: its attribute name '%s' is another column's (or there are "
		            "more than %d attributes): left out (rename the column)\n", column, name,
		            ATTR_MAX);
		return -1;
	}
	struct attr_def *def = &run->schema->defs[slot];
	struct rbuf text = {0};
	rbuf_printf(&text, "Column '%s' of %s, read as a %s by riskctl scorecard fit.", column,
	            run->o->source ? run->o->source : "a table", numeric ? "number" : "category");
	rbuf_append(&text, "", 1);
	struct rbuf one = {0};
	attr_one_line(&one, text.data);
	rbuf_append(&one, "", 1);
	attr_def_set_description(def, one.data);
	rbuf_reset(&text);
	rbuf_printf(&text, "Customer attribute %s", column);
	rbuf_append(&text, "", 1);
	attr_def_set_reason(def, text.data);
	rbuf_free(&text);
	rbuf_free(&one);
	fc->slot = slot;
	fc->name = def->name;
	fc->type = numeric ? FEATURE_NUM : FEATURE_SYM;
	if (numeric) {
		for (size_t i = 0; i < run->nfit; i++)
			if (!*fit_cell(t, run->rows[i], fc->col))
				fc->value[i] = NAN;
		rbuf_printf(run->notes, "%s: a new attribute %s, a number (declare it with "
		            "--attributes to set its reason text)\n", column, name);
		return 0;
	}
	/* Categories: the values found, sorted, then each row's code. */
	const char **vals = xmalloc((run->nfit ? run->nfit : 1) * sizeof *vals);
	size_t nv = 0, distinct = 0;
	for (size_t i = 0; i < run->nfit; i++)
		if (*fit_cell(t, run->rows[i], fc->col))
			vals[nv++] = fit_cell(t, run->rows[i], fc->col);
	qsort(vals, nv, sizeof *vals, cstr_cmp);
	for (size_t i = 0; i < nv; i++)
		distinct += i == 0 || strcmp(vals[i - 1], vals[i]) != 0;
	int ok = distinct <= ATTR_VALUES_MAX;
	for (size_t i = 0; ok && i < nv; i++)
		if (i == 0 || strcmp(vals[i - 1], vals[i]) != 0)
			ok = attr_value_valid(vals[i]) &&
			     attr_def_add_value(def, vals[i], strlen(vals[i])) >= 0;
	free(vals);
	if (!ok) {
		rbuf_printf(run->notes, "%s: not a number, and not a category (at most %d different "
		            "values, each one line of UTF-8 of at most %d bytes; it has %zu): left out "
		            "(group or clean its values, or --ignore it)\n", column, ATTR_VALUES_MAX,
		            ATTR_VALUE_MAX, distinct);
		return -1;
	}
	for (size_t i = 0; i < run->nfit; i++) {
		const char *c = fit_cell(t, run->rows[i], fc->col);
		fc->value[i] = *c ? attr_def_code(def, c, strlen(c)) : NAN;
	}
	fc->n_codes = def->n_values;
	rbuf_printf(run->notes, "%s: a new attribute %s, a category of %zu values (declare it with "
	            "--attributes to set its reason text)\n", column, name, def->n_values);
	return 0;
}

/* Reads column c into fc as a registry feature, a declared attribute or a new one. Returns
 * 0, or -1 after noting why it is left out. */
static int fit_read_column(struct fit_run *run, size_t c, struct fit_char *fc)
{
	const struct fit_table *t = run->t;
	const char *column = t->names[c];
	char name[ATTR_NAME_MAX + 1];
	int named = attr_name_of_column(column, name) == 0;
	const struct feature_def *def = feature_lookup(column, strlen(column));
	if (!def && named)
		def = feature_lookup(name, strlen(name));
	fc->col = c;
	for (size_t i = 0; def && i < run->n_all; i++)
		if (run->all[i].def == def) {
			rbuf_printf(run->notes, "%s: a second column for feature %s: left out\n", column,
			            def->name);
			return -1;
		}
	if (def) {
		fc->def = def;
		fc->name = def->name;
		fc->type = def->type;
		return read_column(t, run->rows, run->nfit, fc, run->notes);
	}
	if (!named) {
		rbuf_printf(run->notes, "%s: no letter or digit in its name: left out\n", column);
		return -1;
	}
	const struct attr_schema *declared = run->o->attributes;
	int d = declared ? attr_schema_find(declared, name, strlen(name)) : -1;
	if (d < 0 && is_identifier(run, c)) {
		rbuf_printf(run->notes, "%s: identifier (a different value on every row): left out\n",
		            column);
		return -1;
	}
	if (d < 0)
		return infer_attribute(run, fc, name);
	const struct attr_def *ddef = &declared->defs[d];
	if (read_declared(t, run->rows, run->nfit, fc, ddef, run->notes) < 0)
		return -1;
	fc->slot = add_declared(run->schema, ddef);
	if (fc->slot < 0) {
		rbuf_printf(run->notes, "%s: a second column for attribute %s: left out\n", column,
		            name);
		return -1;
	}
	fc->name = run->schema->defs[fc->slot].name;
	fc->type = ddef->type == ATTR_CATEGORY ? FEATURE_SYM : FEATURE_NUM;
	fc->n_codes = ddef->n_values;
	rbuf_printf(run->notes, "%s: attribute %s as declared (a %s)\n", column, name,
	            ddef->type == ATTR_CATEGORY ? "category" : "number");
	return 0;
}

/* Steps 2-4: every usable column read, binned and weighed; run->all strongest first. */
static void fit_read_columns(struct fit_run *run)
{
	const struct fit_table *t = run->t;
	const struct scorecard_fit_opts *o = run->o;
	double goods = (double)(run->nfit - run->nbad), bads = (double)run->nbad;
	size_t min_rows = (size_t)ceil(o->min_bin_share * (double)run->nfit);
	size_t nfit = run->nfit;
	run->all = xcalloc(t->n_cols ? t->n_cols : 1, sizeof *run->all);
	for (size_t c = 0; c < t->n_cols; c++) {
		const char *name = t->names[c];
		if ((int)c == run->target)
			continue;
		if (o->ignore && in_list(o->ignore, name)) {
			rbuf_printf(run->notes, "%s: left out (--ignore)\n", name);
			continue;
		}
		struct fit_char *fc = &run->all[run->n_all];
		memset(fc, 0, sizeof *fc);
		fc->slot = -1;
		fc->value = xmalloc((nfit ? nfit : 1) * sizeof *fc->value);
		fc->bin = xmalloc(nfit ? nfit : 1);
		if (fit_read_column(run, c, fc) < 0) {
			free(fc->value);
			free(fc->bin);
			continue;
		}
		int known = fc->def ? known_index(fc->def) : -1;
		fit_bin_char(fc, run->bad, nfit, known >= 0 ? known_features[known].rising : 0, o->bins,
		             min_rows, goods, bads);
		if (fc->rows[fc->n_bins] == nfit) {
			rbuf_printf(run->notes, "%s: missing on every row: left out\n", fc->name);
			free(fc->value);
			free(fc->bin);
			continue;
		}
		if (fc->iv < o->min_iv) {
			rbuf_printf(run->notes, "%s: information value %.4f below %g: left out\n", fc->name,
			            fc->iv, o->min_iv);
			free(fc->value);
			free(fc->bin);
			continue;
		}
		run->n_all++;
	}
	/* Strongest first; ties by column order. */
	for (size_t i = 1; i < run->n_all; i++) {
		struct fit_char tmp = run->all[i];
		size_t j = i;
		while (j > 0 && run->all[j - 1].iv < tmp.iv) {
			run->all[j] = run->all[j - 1];
			j--;
		}
		run->all[j] = tmp;
	}
}

/* The strongest characteristics that do not repeat a stronger one. Returns 0 or -1. */
static int fit_choose_chars(struct fit_run *run)
{
	const struct scorecard_fit_opts *o = run->o;
	for (size_t i = 0; i < run->n_all; i++) {
		size_t twin = run->k;
		double r = 0;
		for (size_t j = 0; j < run->k && twin == run->k; j++) {
			r = woe_correlation(&run->all[i], run->use[j], run->nfit);
			if (fabs(r) > o->max_correlation)
				twin = j;
		}
		if (twin < run->k)
			rbuf_printf(run->notes, "%s: carries the information of %s (correlation %.2f of "
			            "their WoE): left out\n", run->all[i].name, run->use[twin]->name, r);
		else if (run->k < (size_t)o->max_chars)
			run->use[run->k++] = &run->all[i];
		else
			rbuf_printf(run->notes, "%s: information value %.4f, beyond the %d strongest: "
			            "left out\n", run->all[i].name, run->all[i].iv, o->max_chars);
	}
	if (run->k == 0) {
		snprintf(run->errstr, run->errstr_size, "no column is a usable feature with an "
		         "information value of at least %g", o->min_iv);
		return -1;
	}
	return 0;
}

/* Step 5: the regression, dropping wrong-signed coefficients. Returns 0 or -1. */
static int fit_regress(struct fit_run *run)
{
	for (;;) {
		if (fit_logistic(run->use, run->k, run->bad, run->nfit, run->o->l2, run->beta) < 0) {
			snprintf(run->errstr, run->errstr_size,
			         "the regression is singular: try a larger --l2");
			return -1;
		}
		size_t k = run->k, worst = k;
		for (size_t j = 0; j < k; j++)
			if (run->beta[j + 1] >= 0 && (worst == k || run->beta[j + 1] > run->beta[worst + 1]))
				worst = j;
		if (worst == k)
			return 0;
		rbuf_printf(run->notes, "%s: coefficient %.4f has the wrong sign next to the others "
		            "(they carry its information): left out\n", run->use[worst]->name,
		            run->beta[worst + 1]);
		memmove(&run->use[worst], &run->use[worst + 1], (k - worst - 1) * sizeof *run->use);
		run->k--;
		if (run->k == 0) {
			snprintf(run->errstr, run->errstr_size, "every characteristic took the wrong sign");
			return -1;
		}
	}
}

/* Step 6: points of every bin, base points and cut-offs. */
static void fit_points(struct fit_run *run)
{
	const struct scorecard_fit_opts *o = run->o;
	double factor = o->pdo / log(2.0);
	double offset = o->base_points - factor * log(o->base_odds);
	run->base = (int)lround(offset - factor * run->beta[0]);
	for (size_t j = 0; j < run->k; j++) {
		struct fit_char *fc = run->use[j];
		fc->beta = run->beta[j + 1];
		for (size_t b = 0; b <= fc->n_bins; b++)
			fc->points[b] = (int)lround(-factor * run->beta[j + 1] * fc->woe[b]);
		fc->other_points = (int)lround(-factor * run->beta[j + 1] * fc->other_woe);
	}
	for (int g = 0; g < RULE_GRADE_C; g++) {
		run->cutoff[g] = ceil(score_at(o, o->grade_pd[g]));
		if (g > 0 && run->cutoff[g] >= run->cutoff[g - 1])
			run->cutoff[g] = run->cutoff[g - 1] - 1;
	}
}

/* Loads the written card as riskd will and grades every fitted row with it: the points must
 * be the fit's. Stores them in points. Returns 0 or -1 (errstr). */
static int fit_check_card(struct fit_run *run, const struct rbuf *yaml, double *points)
{
	struct scorecard *card = NULL;
	struct rbuf why = {0};
	int rc = -1;
	if (run->o->load_card("fitted card", yaml->data, yaml->len, &card, &why) != 0) {
		rbuf_append(&why, "", 1);
		snprintf(run->errstr, run->errstr_size, "internal error: the fitted card does not "
		         "load: %s", why.data);
		goto done;
	}
	if (scorecard_bind_attributes(card, run->schema, run->errstr, run->errstr_size) < 0)
		goto done;
	for (size_t i = 0; i < run->nfit; i++) {
		struct feature_vec fv;
		struct attr_vec av;
		struct credit_grade grade;
		feature_vec_clear(&fv);
		attr_vec_clear(&av);
		double direct = run->base;
		for (size_t j = 0; j < run->k; j++) {
			const struct fit_char *fc = run->use[j];
			if (!isnan(fc->value[i]) && fc->def)
				feature_set(&fv, fc->def->id, fc->value[i]);
			else if (!isnan(fc->value[i]))
				attr_vec_set(&av, fc->slot, fc->value[i]);
			direct += fc->points[fc->bin[i]];
		}
		scorecard_grade_attrs(card, &fv, &av, NULL, RULE_GRADE_NONE, 0, &grade);
		if (grade.points != direct) {
			snprintf(run->errstr, run->errstr_size, "internal error: row %zu scores %g on the "
			         "card but %g in the fit", run->rows[i] + 1, grade.points, direct);
			goto done;
		}
		points[i] = grade.points;
	}
	rc = 0;
done:
	scorecard_free(card);
	rbuf_free(&why);
	return rc;
}

/* The header comment of a fitted card: the data, its in-sample metrics, the notes. Every
 * text from outside (the path, column names) is kept on its comment line. */
static void write_header(const struct fit_run *run, double auc, double ks, struct rbuf *out)
{
	const struct scorecard_fit_opts *o = run->o;
	const struct rbuf *notes = run->notes;
	rbuf_puts(out, "# Credit scorecard fitted by `riskctl scorecard fit` on ");
	attr_one_line(out, o->source ? o->source : "a table");
	rbuf_puts(out, ", target ");
	attr_one_line(out, o->target);
	rbuf_puts(out, ":\n");
	rbuf_printf(out, "# %zu rows, %zu bad (%.2f%%). In-sample, as written: AUC %.3f, KS "
	            "%.3f, Gini %.3f.\n", run->nfit, run->nbad,
	            100.0 * (double)run->nbad / (double)run->nfit, auc, ks, 2 * auc - 1);
	rbuf_printf(out, "# Bins: at most %d per characteristic, each at least %g%% of the rows, "
	            "bad rate monotonic; L2 %g. Points: %g to double the odds, odds %g:1 at %g.\n",
	            o->bins, 100 * o->min_bin_share, o->l2, o->pdo, o->base_odds, o->base_points);
	if (notes->len) {
		rbuf_puts(out, "# Columns used, left out or noted:\n");
		attr_comment_lines(out, "#   ", notes->data, notes->len);
	}
}

/* The reason code of a characteristic: its name in capitals, other characters '_', a
 * letter first, unique among the first k characteristics' codes (a digit suffix). */
static void char_code(struct fit_char *const *chars, size_t k, char *code)
{
	const char *name = chars[k]->name;
	size_t n = 0;
	if (!isalpha((unsigned char)name[0]))
		code[n++] = 'X';
	for (size_t i = 0; name[i] && n < SCORECARD_CODE_MAX - 3; i++)
		code[n++] = isalnum((unsigned char)name[i]) ? (char)toupper((unsigned char)name[i]) : '_';
	code[n] = '\0';
	for (int suffix = 2;; suffix++) {
		int taken = 0;
		for (size_t j = 0; j < k && !taken; j++) {
			char other[SCORECARD_CODE_MAX + 1];
			char_code(chars, j, other);
			taken = strcmp(other, code) == 0;
		}
		if (!taken)
			return;
		snprintf(code + n, SCORECARD_CODE_MAX + 1 - n, "_%d", suffix);
	}
}

/* One bin of a characteristic, as a flow mapping (the text before its comment). */
static void write_bin(struct rbuf *line, const struct fit_run *run, const struct fit_char *fc,
                      size_t b)
{
	if (b == fc->n_bins) {
		rbuf_printf(line, "{missing: true, points: %d}", fc->points[b]);
	} else if (fc->type == FEATURE_NUM) {
		rbuf_puts(line, "{");
		if (b > 0)
			rbuf_printf(line, "from: %.12g, ", fc->cut[b - 1]);
		if (b + 1 < fc->n_bins)
			rbuf_printf(line, "to: %.12g, ", fc->cut[b]);
		rbuf_printf(line, "points: %d}", fc->points[b]);
	} else if (fc->def) {
		size_t n;
		static const char *const bools[] = {"false", "true"};
		const char *const *names = fc->type == FEATURE_BOOL ? bools
		                                                    : feature_symbols(fc->def->id, &n);
		rbuf_printf(line, "{values: [%s], points: %d}", names[b], fc->points[b]);
	} else {
		const struct attr_def *def = &run->schema->defs[fc->slot];
		rbuf_puts(line, "{values: [");
		for (size_t c = 0, first = 1; c < fc->n_codes; c++) {
			if (fc->cat_bin[c] != (int8_t)b)
				continue;
			rbuf_puts(line, first ? "" : ", ");
			attr_yaml_quote(line, def->values[c]);
			first = 0;
		}
		rbuf_printf(line, "], points: %d}", fc->points[b]);
	}
}

/* The card's YAML, without the header comment. */
static void write_card(const struct fit_run *run, const char *name, struct rbuf *out)
{
	const struct scorecard_fit_opts *o = run->o;
	size_t nsym;
	const char *const *seg_names = feature_symbols(FEAT_SEGMENT, &nsym);
	char text_buf[SCORECARD_TEXT_MAX + 1];
	struct rbuf text = {0};
	rbuf_printf(out, "scorecard: %s\n", name);
	rbuf_puts(out, "version: ");
	attr_yaml_quote(out, o->version ? o->version : "1");
	rbuf_printf(&text, "Fitted by riskctl scorecard fit on %zu rows (%zu bad) of %s, target %s.",
	            run->nfit, run->nbad, o->source ? o->source : "a table", o->target);
	rbuf_append(&text, "", 1);
	rbuf_puts(out, "\ndescription: ");
	attr_yaml_quote(out, text.data);
	rbuf_free(&text);
	rbuf_puts(out, "\nsegments: [");
	for (size_t s = 0, first = 1; s < nsym; s++) {
		if (!(run->segments & (1u << (s + 1))))
			continue;
		rbuf_printf(out, "%s%s", first ? "" : ", ", seg_names[s]);
		first = 0;
	}
	rbuf_puts(out, "]\n");
	if (run->is_default)
		rbuf_puts(out, "default: true\n");
	rbuf_printf(out, "base_points: %d\n", run->base);
	rbuf_printf(out, "scaling: {base_points: %.12g, base_odds: %.12g, pdo: %.12g}\n",
	            o->base_points, o->base_odds, o->pdo);
	rbuf_puts(out, "grades:                  # least points; fitted chance of going bad there\n");
	for (int g = 0; g < RULE_GRADE_C; g++)
		rbuf_printf(out, "  %-3s: %-6.0f            # %g%%\n", credit_grade_name((enum rule_grade)g),
		            run->cutoff[g], 100 * o->grade_pd[g]);
	rbuf_puts(out, "characteristics:\n");
	for (size_t j = 0; j < run->k; j++) {
		const struct fit_char *fc = run->use[j];
		char code[SCORECARD_CODE_MAX + 1];
		char_code(run->use, j, code);
		if (fc->def)
			rbuf_printf(out, "  - feature: %s         # IV %.3f, coefficient %.3f\n",
			            fc->def->name, fc->iv, fc->beta);
		else
			rbuf_printf(out, "  - attribute: %s         # IV %.3f, coefficient %.3f\n"
			            "    type: %s\n", fc->name, fc->iv, fc->beta,
			            fc->type == FEATURE_SYM ? "category" : "number");
		rbuf_printf(out, "    code: %s\n", code);
		rbuf_puts(out, "    reason: ");
		attr_text_line(text_buf, sizeof text_buf, reason_text(fc, run->schema, text_buf,
		                                                      sizeof text_buf));
		attr_yaml_quote(out, text_buf);
		rbuf_puts(out, "\n");
		int known = fc->def ? known_index(fc->def) : -1;
		if (known >= 0 && known_features[known].missing_text)
			rbuf_printf(out, "    missing_reason: \"%s\"\n", known_features[known].missing_text);
		rbuf_puts(out, "    bins:\n");
		for (size_t b = 0; b <= fc->n_bins + (!fc->def && fc->type == FEATURE_SYM); b++) {
			struct rbuf line = {0};
			size_t rows = 0, nbad = 0;
			double woe = fc->other_woe;
			if (b <= fc->n_bins) {
				write_bin(&line, run, fc, b);
				rows = fc->rows[b];
				nbad = fc->bads[b];
				woe = fc->woe[b];
			} else {
				rbuf_printf(&line, "{other: true, points: %d}", fc->other_points);
			}
			rbuf_append(&line, "", 1);
			rbuf_printf(out, "      - %-40s # ", line.data);
			if (b <= fc->n_bins)
				rbuf_printf(out, "%zu rows, %.1f%% bad, ", rows,
				            rows ? 100.0 * (double)nbad / (double)rows : 0.0);
			else
				rbuf_puts(out, "values not listed (unseen in the fit): as the rare ones, ");
			rbuf_printf(out, "WoE %.3f\n", woe);
			rbuf_free(&line);
		}
	}
}

int scorecard_fit(const struct fit_table *t, const struct scorecard_fit_opts *o,
                  struct rbuf *card_out, struct rbuf *notes, char *errstr, size_t errstr_size)
{
	struct fit_run run = {.t = t, .o = o, .notes = notes, .errstr = errstr,
	                      .errstr_size = errstr_size};
	struct rbuf yaml = {0};
	double *points = NULL;
	int rc = check_opts(o, errstr, errstr_size);
	if (rc)
		return rc;
	rc = RISKD_ERR_INVALID;
	run.schema = attr_schema_new();
	if (fit_select_rows(&run) < 0)
		goto done;
	fit_read_columns(&run);
	if (fit_choose_chars(&run) < 0 || fit_regress(&run) < 0)
		goto done;
	fit_points(&run);
	size_t nsym;
	const char *const *seg_names = feature_symbols(FEAT_SEGMENT, &nsym);
	const char *name = o->name ? o->name : run.seg_col < 0 && !o->segments ? "default" : NULL;
	for (size_t s = 0; !name && s < nsym; s++)
		if (run.segments & (1u << (s + 1)))
			name = seg_names[s];
	write_card(&run, name, &yaml);

	points = xmalloc(run.nfit * sizeof *points);
	if (fit_check_card(&run, &yaml, points) < 0)
		goto done;
	double auc, ks;
	scorecard_metrics(points, run.bad, run.nfit, &auc, &ks);
	write_header(&run, auc, ks, card_out);
	rbuf_append(card_out, yaml.data, yaml.len);
	if (o->attributes_out) {
		uint64_t used = 0;
		for (size_t j = 0; j < run.k; j++)
			if (!run.use[j]->def)
				used |= (uint64_t)1 << run.use[j]->slot;
		attr_schema_write_yaml(run.schema, used, "Customer attributes of the card fitted by "
		                       "`riskctl scorecard fit`: load with riskctl scorecard ... "
		                       "--attributes FILE.", o->attributes_out);
	}
	rc = 0;
done:
	attr_schema_free(run.schema);
	if (run.all)
		for (size_t i = 0; i < run.n_all; i++) {
			free(run.all[i].value);
			free(run.all[i].bin);
		}
	free(run.all);
	free(run.rows);
	free(run.bad);
	free(points);
	rbuf_free(&yaml);
	return rc;
}
