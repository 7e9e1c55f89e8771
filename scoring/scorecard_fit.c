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
#include "scorecard_fit.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIT_BINS_MAX 20          /* most value bins a numeric characteristic may ask for */
#define FIT_FINE_CLASSES 20      /* fine classes before merging */
#define FIT_SYMBOLS_MAX 8        /* boolean and symbol values a characteristic may have */
#define FIT_ITER_MAX 100
#define FIT_SMOOTH 0.5           /* rows added to each count in WoE */
#define FIT_Z_SIGNIFICANT 1.96   /* neighbouring bins must differ at the 5% level */

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

/* ---- cells ---- */

static int parse_number(const char *s, double *out)
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

/* A boolean or symbol cell's code, or -1. */
static int parse_code(const struct feature_def *def, const char *s)
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

/* Target cell: 1 bad, 0 good, -1 empty, -2 anything else. */
static int parse_target(const char *s)
{
	double v;
	if (!*s)
		return -1;
	if (strcmp(s, "true") == 0)
		return 1;
	if (strcmp(s, "false") == 0)
		return 0;
	if (parse_number(s, &v) == 0 && (v == 0 || v == 1))
		return (int)v;
	return -2;
}

static const char *cell(const struct fit_table *t, size_t row, size_t col)
{
	const char *c = t->cells[row * t->n_cols + col];
	return c ? c : "";
}

static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int find_column(const struct fit_table *t, const char *name)
{
	for (size_t c = 0; c < t->n_cols; c++)
		if (strcmp(t->names[c], name) == 0)
			return (int)c;
	return -1;
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

/* ---- weight of evidence ---- */

static double woe_of(double good, double bad, double goods, double bads)
{
	if (good + bad == 0)
		return 0;
	return log(((good + FIT_SMOOTH) / (goods + FIT_SMOOTH)) / ((bad + FIT_SMOOTH) /
	                                                            (bads + FIT_SMOOTH)));
}

static double iv_term(double good, double bad, double goods, double bads)
{
	if (good + bad == 0)
		return 0;
	return (good / goods - bad / bads) * woe_of(good, bad, goods, bads);
}

/* ---- numeric binning ---- */

struct block {
	double lo, hi;   /* smallest and largest value in the block */
	size_t n, bad;
};

struct vpair {
	double v;
	uint8_t bad;
};

static int vpair_cmp(const void *a, const void *b)
{
	double x = ((const struct vpair *)a)->v, y = ((const struct vpair *)b)->v;
	return x < y ? -1 : x > y;
}

static double block_rate(const struct block *b)
{
	return b->n ? (double)b->bad / (double)b->n : 0;
}

static void block_merge(struct block *blocks, size_t *n, size_t i)
{
	blocks[i].hi = blocks[i + 1].hi;
	blocks[i].n += blocks[i + 1].n;
	blocks[i].bad += blocks[i + 1].bad;
	memmove(&blocks[i + 1], &blocks[i + 2], (*n - i - 2) * sizeof *blocks);
	(*n)--;
}

static double blocks_iv(const struct block *blocks, size_t n, double goods, double bads)
{
	double iv = 0;
	for (size_t i = 0; i < n; i++)
		iv += iv_term((double)(blocks[i].n - blocks[i].bad), (double)blocks[i].bad, goods, bads);
	return iv;
}

/* Pool adjacent violators: merges fine classes until the bad rate never falls (rising = 1)
 * or never rises (rising = 0) from one block to the next. */
static void pava(struct block *blocks, size_t *n, int rising)
{
	size_t out = 0;
	for (size_t i = 0; i < *n; i++) {
		blocks[out++] = blocks[i];
		while (out > 1) {
			double a = block_rate(&blocks[out - 2]), b = block_rate(&blocks[out - 1]);
			if (rising ? a <= b : a >= b)
				break;
			size_t m = out;
			block_merge(blocks, &m, out - 2);
			out--;
		}
	}
	*n = out;
}

/*
 * Bins n sorted (value, bad) pairs into at most max_bins monotonic blocks of at least
 * min_rows rows each (when possible): bad rate rising with the value (rising 1), falling
 * (-1), or whichever keeps more information (0). goods and bads are the totals of every
 * fitted row. Returns the number of blocks written to out (room for FIT_FINE_CLASSES * 2 + 2).
 */
static size_t bin_numeric(const struct vpair *pairs, size_t n, int rising_wanted, int max_bins,
                          size_t min_rows, double goods, double bads, struct block *out)
{
	struct block fine[FIT_FINE_CLASSES * 2 + 2], up[FIT_FINE_CLASSES * 2 + 2];
	size_t nfine = 0, target = n / FIT_FINE_CLASSES;
	if (target < 1)
		target = 1;
	for (size_t i = 0; i < n;) {
		struct block b = {pairs[i].v, pairs[i].v, 0, 0};
		/* whole distinct values only, until the class holds about 1/20 of the rows */
		while (i < n && (b.n < target || pairs[i].v == b.hi)) {
			b.hi = pairs[i].v;
			b.n++;
			b.bad += pairs[i].bad;
			i++;
		}
		if (nfine == FIT_FINE_CLASSES * 2 + 2) { /* cannot happen: sizes add up to n */
			struct block *last = &fine[nfine - 1];
			last->hi = b.hi;
			last->n += b.n;
			last->bad += b.bad;
		} else {
			fine[nfine++] = b;
		}
	}
	size_t nup = nfine, ndown = nfine;
	memcpy(up, fine, nfine * sizeof *fine);
	pava(up, &nup, 1);
	pava(fine, &ndown, 0);
	int rising = rising_wanted ? rising_wanted > 0
	                           : blocks_iv(up, nup, goods, bads) >= blocks_iv(fine, ndown, goods,
	                                                                          bads);
	size_t nb = rising ? nup : ndown;
	memcpy(out, rising ? up : fine, nb * sizeof *out);

	/* Small blocks join the neighbour with the closer bad rate (monotonicity holds: the
	 * merged rate lies between the two). */
	for (;;) {
		size_t small = nb;
		for (size_t i = 0; i < nb; i++)
			if (out[i].n < min_rows && (small == nb || out[i].n < out[small].n))
				small = i;
		if (small == nb || nb == 1)
			break;
		size_t left;
		if (small == 0)
			left = 0;
		else if (small == nb - 1)
			left = nb - 2;
		else
			left = fabs(block_rate(&out[small]) - block_rate(&out[small - 1])) <=
			               fabs(block_rate(&out[small]) - block_rate(&out[small + 1]))
			           ? small - 1
			           : small;
		block_merge(out, &nb, left);
	}
	/* Then the pair whose merge keeps the most information, until max_bins remain. */
	while (nb > (size_t)max_bins) {
		size_t best = 0;
		double best_iv = -INFINITY;
		for (size_t i = 0; i + 1 < nb; i++) {
			struct block trial[FIT_FINE_CLASSES * 2 + 2];
			size_t nt = nb;
			memcpy(trial, out, nb * sizeof *out);
			block_merge(trial, &nt, i);
			double iv = blocks_iv(trial, nt, goods, bads);
			if (iv > best_iv) {
				best_iv = iv;
				best = i;
			}
		}
		block_merge(out, &nb, best);
	}
	/* Last, neighbours whose bad rates do not differ significantly (two-proportion z-test at
	 * 5%) are merged, the least different pair first: bins that only split noise go. */
	while (nb > 1) {
		size_t best = 0;
		double best_z = INFINITY;
		for (size_t i = 0; i + 1 < nb; i++) {
			double n1 = (double)out[i].n, n2 = (double)out[i + 1].n;
			double p = (double)(out[i].bad + out[i + 1].bad) / (n1 + n2);
			double se = sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
			double z = se > 0 ? fabs(block_rate(&out[i]) - block_rate(&out[i + 1])) / se : 0;
			if (z < best_z) {
				best_z = z;
				best = i;
			}
		}
		if (best_z >= FIT_Z_SIGNIFICANT)
			break;
		block_merge(out, &nb, best);
	}
	return nb;
}

/* The roundest number x with a < x <= b (a < b). */
static double nice_cut(double a, double b)
{
	for (int k = 15; k >= -12; k--) {
		double step = pow(10.0, k);
		double x = (floor(a / step) + 1) * step;
		char text[32];
		snprintf(text, sizeof text, "%.12g", x);
		x = strtod(text, NULL);
		if (x > a && x <= b)
			return x;
	}
	return b;
}

/* ---- characteristics ---- */

struct fit_char {
	size_t col;
	const struct feature_def *def;
	size_t n_bins;                      /* value bins; index n_bins is the missing bin */
	double cut[FIT_BINS_MAX];           /* numeric: bin i < n_bins - 1 ends at cut[i] */
	double woe[FIT_BINS_MAX + 1];
	size_t rows[FIT_BINS_MAX + 1], bads[FIT_BINS_MAX + 1];
	double iv;
	double beta;
	int points[FIT_BINS_MAX + 1];
	uint8_t *bin;                       /* per fitted row: its bin */
	double *value;                      /* per fitted row: value or code, NAN missing */
};

static const char *reason_text(const struct feature_def *def, char *buf, size_t size)
{
	int k = known_index(def);
	if (k >= 0)
		return known_features[k].text;
	snprintf(buf, size, "%s", def->doc);
	if (buf[0])
		buf[0] = (char)toupper((unsigned char)buf[0]);
	return buf;
}

/* Reads column fc->col over the fitted rows. Returns -1 (with a note) when a cell does not
 * parse as the feature's type. */
static int read_column(const struct fit_table *t, const size_t *rows, size_t n,
                       struct fit_char *fc, struct rbuf *notes)
{
	for (size_t i = 0; i < n; i++) {
		const char *c = cell(t, rows[i], fc->col);
		double v;
		if (!*c) {
			fc->value[i] = NAN;
			continue;
		}
		if (fc->def->type == FEATURE_NUM) {
			if (parse_number(c, &v) < 0) {
				rbuf_printf(notes, "%s: row %zu: '%s' is not a number: left out\n",
				            fc->def->name, rows[i] + 1, c);
				return -1;
			}
		} else {
			int code = parse_code(fc->def, c);
			if (code < 0) {
				rbuf_printf(notes, "%s: row %zu: '%s' is not a %s value: left out\n",
				            fc->def->name, rows[i] + 1, c,
				            fc->def->type == FEATURE_BOOL ? "boolean" : "segment");
				return -1;
			}
			v = code;
		}
		fc->value[i] = v;
	}
	return 0;
}

/* Bins one characteristic over the fitted rows and computes its WoE and IV. */
static void bin_char(struct fit_char *fc, const uint8_t *bad, size_t n, int max_bins,
                     size_t min_rows, double goods, double bads)
{
	memset(fc->rows, 0, sizeof fc->rows);
	memset(fc->bads, 0, sizeof fc->bads);
	if (fc->def->type == FEATURE_NUM) {
		struct vpair *pairs = xmalloc((n ? n : 1) * sizeof *pairs);
		size_t np = 0;
		for (size_t i = 0; i < n; i++)
			if (!isnan(fc->value[i]))
				pairs[np++] = (struct vpair){fc->value[i], bad[i]};
		qsort(pairs, np, sizeof *pairs, vpair_cmp);
		struct block blocks[FIT_FINE_CLASSES * 2 + 2];
		int k = known_index(fc->def);
		int rising = k >= 0 ? known_features[k].rising : 0;
		size_t nb = np ? bin_numeric(pairs, np, rising, max_bins, min_rows, goods, bads, blocks)
		               : 0;
		free(pairs);
		if (nb == 0)
			nb = 1; /* no values at all: one bin covering everything */
		fc->n_bins = nb;
		for (size_t i = 0; i + 1 < nb; i++)
			fc->cut[i] = nice_cut(blocks[i].hi, blocks[i + 1].lo);
	} else {
		size_t nsym = 2;
		if (fc->def->type == FEATURE_SYM)
			feature_symbols(fc->def->id, &nsym);
		fc->n_bins = nsym;
	}
	for (size_t i = 0; i < n; i++) {
		double v = fc->value[i];
		size_t b;
		if (isnan(v))
			b = fc->n_bins;
		else if (fc->def->type != FEATURE_NUM)
			b = (size_t)v;
		else
			for (b = 0; b + 1 < fc->n_bins && !(v < fc->cut[b]); b++)
				;
		fc->bin[i] = (uint8_t)b;
		fc->rows[b]++;
		fc->bads[b] += bad[i];
	}
	fc->iv = 0;
	for (size_t b = 0; b <= fc->n_bins; b++) {
		double good = (double)(fc->rows[b] - fc->bads[b]), nbad = (double)fc->bads[b];
		fc->woe[b] = woe_of(good, nbad, goods, bads);
		fc->iv += iv_term(good, nbad, goods, bads);
	}
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
		const char *text = cell(t, row, c);
		if (!def || !*text)
			continue;
		double v;
		int code;
		if (def->type == FEATURE_NUM) {
			if (parse_number(text, &v) < 0)
				goto bad;
			feature_set(fv, def->id, v);
		} else if ((code = parse_code(def, text)) >= 0) {
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

/* ---- the fit ---- */

static int check_opts(const struct scorecard_fit_opts *o, char *errstr, size_t errstr_size)
{
	if (!o->target) {
		snprintf(errstr, errstr_size, "no target column given");
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

static void write_number(struct rbuf *out, double v)
{
	rbuf_printf(out, "%.12g", v);
}

/* The card's YAML, without the header comment. */
static void write_card(struct rbuf *out, const struct scorecard_fit_opts *o, const char *name,
                       unsigned segments, int base, const double *cutoff,
                       struct fit_char **chars, size_t k, size_t nfit, size_t nbad)
{
	size_t nsym;
	const char *const *seg_names = feature_symbols(FEAT_SEGMENT, &nsym);
	char text_buf[SCORECARD_TEXT_MAX + 1];
	rbuf_printf(out, "scorecard: %s\n", name);
	rbuf_printf(out, "version: \"%s\"\n", o->version ? o->version : "1");
	rbuf_printf(out, "description: Fitted by riskctl scorecard fit on %zu rows (%zu bad) of %s, "
	            "target %s.\n", nfit, nbad, o->source ? o->source : "a table", o->target);
	rbuf_puts(out, "segments: [");
	for (size_t s = 0, first = 1; s < nsym; s++) {
		if (!(segments & (1u << (s + 1))))
			continue;
		rbuf_printf(out, "%s%s", first ? "" : ", ", seg_names[s]);
		first = 0;
	}
	rbuf_puts(out, "]\n");
	if (o->is_default)
		rbuf_puts(out, "default: true\n");
	rbuf_printf(out, "base_points: %d\n", base);
	rbuf_puts(out, "scaling: {base_points: ");
	write_number(out, o->base_points);
	rbuf_puts(out, ", base_odds: ");
	write_number(out, o->base_odds);
	rbuf_puts(out, ", pdo: ");
	write_number(out, o->pdo);
	rbuf_puts(out, "}\n");
	rbuf_puts(out, "grades:                  # least points; fitted chance of going bad there\n");
	for (int g = 0; g < RULE_GRADE_C; g++)
		rbuf_printf(out, "  %-3s: %-6.0f            # %g%%\n", rule_grade_name((enum rule_grade)g),
		            cutoff[g], 100 * o->grade_pd[g]);
	rbuf_puts(out, "characteristics:\n");
	for (size_t j = 0; j < k; j++) {
		const struct fit_char *fc = chars[j];
		char code[SCORECARD_CODE_MAX + 1];
		size_t len = strlen(fc->def->name);
		if (len > SCORECARD_CODE_MAX)
			len = SCORECARD_CODE_MAX;
		for (size_t i = 0; i < len; i++)
			code[i] = (char)toupper((unsigned char)fc->def->name[i]);
		code[len] = '\0';
		rbuf_printf(out, "  - feature: %s         # IV %.3f, coefficient %.3f\n", fc->def->name,
		            fc->iv, fc->beta);
		rbuf_printf(out, "    code: %s\n", code);
		rbuf_printf(out, "    reason: %s\n", reason_text(fc->def, text_buf, sizeof text_buf));
		int known = known_index(fc->def);
		if (known >= 0 && known_features[known].missing_text)
			rbuf_printf(out, "    missing_reason: %s\n", known_features[known].missing_text);
		rbuf_puts(out, "    bins:\n");
		for (size_t b = 0; b <= fc->n_bins; b++) {
			struct rbuf line = {0};
			if (b == fc->n_bins) {
				rbuf_printf(&line, "{missing: true, points: %d}", fc->points[b]);
			} else if (fc->def->type == FEATURE_NUM) {
				rbuf_puts(&line, "{");
				if (b > 0) {
					rbuf_puts(&line, "from: ");
					write_number(&line, fc->cut[b - 1]);
					rbuf_puts(&line, ", ");
				}
				if (b + 1 < fc->n_bins) {
					rbuf_puts(&line, "to: ");
					write_number(&line, fc->cut[b]);
					rbuf_puts(&line, ", ");
				}
				rbuf_printf(&line, "points: %d}", fc->points[b]);
			} else {
				size_t n;
				static const char *const bools[] = {"false", "true"};
				const char *const *names = fc->def->type == FEATURE_BOOL
				                               ? bools
				                               : feature_symbols(fc->def->id, &n);
				rbuf_printf(&line, "{values: [%s], points: %d}", names[b], fc->points[b]);
			}
			rbuf_append(&line, "", 1);
			rbuf_printf(out, "      - %-40s # %zu rows, %.1f%% bad, WoE %.3f\n", line.data,
			            fc->rows[b],
			            fc->rows[b] ? 100.0 * (double)fc->bads[b] / (double)fc->rows[b] : 0.0,
			            fc->woe[b]);
			rbuf_free(&line);
		}
	}
}

int scorecard_fit(const struct fit_table *t, const struct scorecard_fit_opts *o,
                  struct rbuf *card_out, struct rbuf *notes, char *errstr, size_t errstr_size)
{
	size_t *rows = NULL;
	uint8_t *bad = NULL;
	struct fit_char *all = NULL;
	struct fit_char *use[SCORECARD_CHARS_MAX];
	struct scorecard *card = NULL;
	double *points = NULL;
	struct rbuf yaml = {0};
	size_t n_all = 0, k = 0, nfit = 0, nbad = 0;
	int rc = check_opts(o, errstr, errstr_size);
	if (rc)
		return rc;
	rc = RISKD_ERR_INVALID;

	int target = find_column(t, o->target);
	if (target < 0) {
		snprintf(errstr, errstr_size, "no column '%s' (the target) in the table", o->target);
		goto done;
	}
	int seg_col = find_column(t, "segment");
	unsigned segments = 0;
	if (o->segments) {
		segments = parse_segments(o->segments, errstr, errstr_size);
		if (!segments)
			goto done;
		if (seg_col < 0)
			rbuf_printf(notes, "no 'segment' column: every row is fitted for %s\n", o->segments);
	}

	/* Rows */
	rows = xmalloc((t->n_rows ? t->n_rows : 1) * sizeof *rows);
	bad = xmalloc((t->n_rows ? t->n_rows : 1) * sizeof *bad);
	size_t empty_targets = 0, unseen = 0;
	unsigned seen_segments = 0;
	for (size_t r = 0; r < t->n_rows; r++) {
		int y = parse_target(cell(t, r, (size_t)target));
		if (y == -2) {
			snprintf(errstr, errstr_size, "row %zu: target %s is '%.40s', not 0 or 1", r + 1,
			         o->target, cell(t, r, (size_t)target));
			goto done;
		}
		if (y < 0) {
			empty_targets++;
			continue;
		}
		if (seg_col >= 0) {
			int code = parse_code(feature_def(FEAT_SEGMENT), cell(t, r, (size_t)seg_col));
			if (code >= 0)
				seen_segments |= 1u << (code + 1);
			if (o->segments && (code < 0 || !(segments & (1u << (code + 1))))) {
				unseen++;
				continue;
			}
		}
		rows[nfit] = r;
		bad[nfit] = (uint8_t)y;
		nbad += (size_t)y;
		nfit++;
	}
	if (!o->segments)
		segments = seen_segments ? seen_segments : 0x1eu;
	if (empty_targets)
		rbuf_printf(notes, "%zu rows with an empty %s: left out\n", empty_targets, o->target);
	if (unseen)
		rbuf_printf(notes, "%zu rows of other segments: left out\n", unseen);
	if (nbad == 0 || nbad == nfit) {
		snprintf(errstr, errstr_size, "%zu rows to fit, %zu of them bad: need both good and bad "
		         "rows", nfit, nbad);
		goto done;
	}
	if (nbad < 50)
		rbuf_printf(notes, "only %zu bad rows: the card will be unstable\n", nbad);
	double goods = (double)(nfit - nbad), bads = (double)nbad;
	size_t min_rows = (size_t)ceil(o->min_bin_share * (double)nfit);

	/* Columns */
	all = xcalloc(t->n_cols ? t->n_cols : 1, sizeof *all);
	for (size_t c = 0; c < t->n_cols; c++) {
		const char *name = t->names[c];
		if ((int)c == target)
			continue;
		if (o->ignore && in_list(o->ignore, name)) {
			rbuf_printf(notes, "%s: left out (--ignore)\n", name);
			continue;
		}
		const struct feature_def *def = feature_lookup(name, strlen(name));
		if (!def) {
			/* all distinct and never empty: a key such as a customer id */
			char **vals = xmalloc((nfit ? nfit : 1) * sizeof *vals);
			size_t nv = 0, distinct = 1;
			for (size_t i = 0; i < nfit; i++)
				if (*cell(t, rows[i], c))
					vals[nv++] = (char *)cell(t, rows[i], c);
			qsort(vals, nv, sizeof *vals, str_ptr_cmp);
			for (size_t i = 1; i < nv; i++)
				distinct &= strcmp(vals[i - 1], vals[i]) != 0;
			free(vals);
			if (nv == nfit && distinct && nfit > 1)
				rbuf_printf(notes, "%s: identifier (a different value on every row): left "
				            "out\n", name);
			else
				rbuf_printf(notes, "%s: not a feature riskd computes: left out\n", name);
			continue;
		}
		struct fit_char *fc = &all[n_all];
		memset(fc, 0, sizeof *fc);
		fc->col = c;
		fc->def = def;
		fc->value = xmalloc((nfit ? nfit : 1) * sizeof *fc->value);
		fc->bin = xmalloc(nfit ? nfit : 1);
		if (read_column(t, rows, nfit, fc, notes) < 0) {
			free(fc->value);
			free(fc->bin);
			continue;
		}
		bin_char(fc, bad, nfit, o->bins, min_rows, goods, bads);
		if (fc->iv < o->min_iv) {
			rbuf_printf(notes, "%s: information value %.4f below %g: left out\n", name, fc->iv,
			            o->min_iv);
			free(fc->value);
			free(fc->bin);
			continue;
		}
		n_all++;
	}
	/* Strongest first; ties by column order. */
	for (size_t i = 1; i < n_all; i++) {
		struct fit_char tmp = all[i];
		size_t j = i;
		while (j > 0 && all[j - 1].iv < tmp.iv) {
			all[j] = all[j - 1];
			j--;
		}
		all[j] = tmp;
	}
	for (size_t i = 0; i < n_all; i++) {
		size_t twin = k;
		double r = 0;
		for (size_t j = 0; j < k && twin == k; j++) {
			r = woe_correlation(&all[i], use[j], nfit);
			if (fabs(r) > o->max_correlation)
				twin = j;
		}
		if (twin < k)
			rbuf_printf(notes, "%s: carries the information of %s (correlation %.2f of their "
			            "WoE): left out\n", all[i].def->name, use[twin]->def->name, r);
		else if (k < (size_t)o->max_chars)
			use[k++] = &all[i];
		else
			rbuf_printf(notes, "%s: information value %.4f, beyond the %d strongest: left out\n",
			            all[i].def->name, all[i].iv, o->max_chars);
	}
	if (k == 0) {
		snprintf(errstr, errstr_size, "no column is a usable feature with an information value "
		         "of at least %g", o->min_iv);
		goto done;
	}

	/* Regression, dropping wrong-signed coefficients. */
	double beta[SCORECARD_CHARS_MAX + 1];
	for (;;) {
		if (fit_logistic(use, k, bad, nfit, o->l2, beta) < 0) {
			snprintf(errstr, errstr_size, "the regression is singular: try a larger --l2");
			goto done;
		}
		size_t worst = k;
		for (size_t j = 0; j < k; j++)
			if (beta[j + 1] >= 0 && (worst == k || beta[j + 1] > beta[worst + 1]))
				worst = j;
		if (worst == k)
			break;
		rbuf_printf(notes, "%s: coefficient %.4f has the wrong sign next to the others (they "
		            "carry its information): left out\n", use[worst]->def->name,
		            beta[worst + 1]);
		memmove(&use[worst], &use[worst + 1], (k - worst - 1) * sizeof *use);
		k--;
		if (k == 0) {
			snprintf(errstr, errstr_size, "every characteristic took the wrong sign");
			goto done;
		}
	}

	/* Points and cut-offs. */
	double factor = o->pdo / log(2.0);
	double offset = o->base_points - factor * log(o->base_odds);
	int base = (int)lround(offset - factor * beta[0]);
	for (size_t j = 0; j < k; j++) {
		use[j]->beta = beta[j + 1];
		for (size_t b = 0; b <= use[j]->n_bins; b++)
			use[j]->points[b] = (int)lround(-factor * beta[j + 1] * use[j]->woe[b]);
	}
	double cutoff[RULE_GRADE_C];
	for (int g = 0; g < RULE_GRADE_C; g++) {
		cutoff[g] = ceil(score_at(o, o->grade_pd[g]));
		if (g > 0 && cutoff[g] >= cutoff[g - 1])
			cutoff[g] = cutoff[g - 1] - 1;
	}
	size_t nsym;
	const char *const *seg_names = feature_symbols(FEAT_SEGMENT, &nsym);
	const char *name = o->name;
	for (size_t s = 0; !name && s < nsym; s++)
		if (segments & (1u << (s + 1)))
			name = seg_names[s];
	write_card(&yaml, o, name, segments, base, cutoff, use, k, nfit, nbad);

	/* Check the card as riskd will load it, and measure it on the fitted rows. */
	struct rules_diags diags = {0};
	if (scorecard_load_text("fitted card", yaml.data, yaml.len, &card, &diags) < 0) {
		struct rbuf text = {0};
		rules_diags_render(&diags, &text);
		rbuf_append(&text, "", 1);
		snprintf(errstr, errstr_size, "internal error: the fitted card does not load: %s",
		         text.data);
		rbuf_free(&text);
		rules_diags_free(&diags);
		goto done;
	}
	points = xmalloc(nfit * sizeof *points);
	for (size_t i = 0; i < nfit; i++) {
		struct feature_vec fv;
		struct credit_grade grade;
		feature_vec_clear(&fv);
		double direct = base;
		for (size_t j = 0; j < k; j++) {
			if (!isnan(use[j]->value[i]))
				feature_set(&fv, use[j]->def->id, use[j]->value[i]);
			direct += use[j]->points[use[j]->bin[i]];
		}
		scorecard_grade(card, &fv, NULL, &grade);
		if (grade.points != direct) {
			snprintf(errstr, errstr_size, "internal error: row %zu scores %g on the card but "
			         "%g in the fit", rows[i] + 1, grade.points, direct);
			goto done;
		}
		points[i] = grade.points;
	}
	double auc, ks;
	scorecard_metrics(points, bad, nfit, &auc, &ks);

	rbuf_printf(card_out, "# Credit scorecard fitted by `riskctl scorecard fit` on %s, target %s:\n",
	            o->source ? o->source : "a table", o->target);
	rbuf_printf(card_out, "# %zu rows, %zu bad (%.2f%%). In-sample, as written: AUC %.3f, KS "
	            "%.3f, Gini %.3f.\n", nfit, nbad, 100.0 * bads / (double)nfit, auc, ks,
	            2 * auc - 1);
	rbuf_printf(card_out, "# Bins: at most %d per characteristic, each at least %g%% of the rows, "
	            "bad rate monotonic; L2 %g. Points: %g to double the odds, odds %g:1 at %g.\n",
	            o->bins, 100 * o->min_bin_share, o->l2, o->pdo, o->base_odds, o->base_points);
	if (notes->len) {
		rbuf_puts(card_out, "# Left out or noted:\n");
		for (const char *p = notes->data, *end = notes->data + notes->len; p < end;) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
			rbuf_printf(card_out, "#   %.*s\n", (int)len, p);
			p += len + 1;
		}
	}
	rbuf_append(card_out, yaml.data, yaml.len);
	rc = 0;
done:
	if (all)
		for (size_t i = 0; i < n_all; i++) {
			free(all[i].value);
			free(all[i].bin);
		}
	free(all);
	free(rows);
	free(bad);
	free(points);
	scorecard_free(card);
	rbuf_free(&yaml);
	return rc;
}

/* ---- evaluation ---- */

int scorecard_eval_table(const struct scorecard_set *set, const struct fit_table *t,
                         const char *target, const struct ruleset *credit_rules,
                         struct scorecard_eval *out, char *errstr, size_t errstr_size)
{
	memset(out, 0, sizeof *out);
	int tcol = find_column(t, target);
	if (tcol < 0) {
		snprintf(errstr, errstr_size, "no column '%s' (the target) in the table", target);
		return RISKD_ERR_INVALID;
	}
	int seg_col = find_column(t, "segment");
	const struct feature_def **defs = feature_columns(t);
	double *points = xmalloc((t->n_rows ? t->n_rows : 1) * sizeof *points);
	uint8_t *bad = xmalloc(t->n_rows ? t->n_rows : 1);
	int rc = RISKD_ERR_INVALID;
	for (size_t r = 0; r < t->n_rows; r++) {
		int y = parse_target(cell(t, r, (size_t)tcol));
		if (y == -2) {
			snprintf(errstr, errstr_size, "row %zu: target %s is '%.40s', not 0 or 1", r + 1,
			         target, cell(t, r, (size_t)tcol));
			goto done;
		}
		const struct scorecard *card = NULL;
		const char *seg_text = seg_col >= 0 ? cell(t, r, (size_t)seg_col) : "";
		if (*seg_text) {
			int code = parse_code(feature_def(FEAT_SEGMENT), seg_text);
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
		scorecard_grade_with_rules(card, &fv, credit_rules, &grade);
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
