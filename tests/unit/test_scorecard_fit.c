/*
 * test_scorecard_fit.c - Criterion suite for the scorecard fit (scoring/scorecard_fit.c,
 * scorecard_bin.c, scorecard_eval.c): on a generated table
 * with a known signal the fit ranks the characteristics right, points fall as risk rises,
 * bins are monotonic with round cut points, and the card ranks a fresh sample within a stated
 * margin of the true probabilities' AUC; identifiers, non-features, --ignore and bad cells are
 * left out with a note; errors; determinism; AUC and KS on known inputs; evaluation by
 * segment.
 */
#include "config/riskd_base.h"
#include "rules/scorecard_load.h"
#include "scoring/scorecard.h"
#include "scoring/scorecard_fit.h"

#include <criterion/criterion.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_card_load.h"

/* ---- a table built in memory ---- */

struct table {
	struct fit_table t;
	struct rbuf text;   /* every cell, NUL-separated */
	size_t *offsets;    /* cell -> offset in text */
	size_t n_cells, cap;
};

static void table_init(struct table *tb, const char *const *names, size_t n_cols)
{
	memset(tb, 0, sizeof *tb);
	tb->t.n_cols = n_cols;
	tb->t.names = calloc(n_cols, sizeof(char *));
	for (size_t c = 0; c < n_cols; c++)
		tb->t.names[c] = strdup(names[c]);
}

static void table_cell(struct table *tb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void table_cell(struct table *tb, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (tb->n_cells == tb->cap) {
		tb->cap = tb->cap ? tb->cap * 2 : 1024;
		tb->offsets = realloc(tb->offsets, tb->cap * sizeof *tb->offsets);
	}
	tb->offsets[tb->n_cells++] = tb->text.len;
	rbuf_append(&tb->text, buf, strlen(buf) + 1);
}

/* Resolves the cell pointers once every cell is in. */
static void table_done(struct table *tb)
{
	cr_assert_eq(tb->n_cells % tb->t.n_cols, 0);
	tb->t.n_rows = tb->n_cells / tb->t.n_cols;
	tb->t.cells = malloc((tb->n_cells ? tb->n_cells : 1) * sizeof(char *));
	for (size_t i = 0; i < tb->n_cells; i++)
		tb->t.cells[i] = tb->text.data + tb->offsets[i];
}

static void table_free(struct table *tb)
{
	for (size_t c = 0; c < tb->t.n_cols; c++)
		free(tb->t.names[c]);
	free(tb->t.names);
	free(tb->t.cells);
	free(tb->offsets);
	rbuf_free(&tb->text);
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/*
 * n customers with a known risk: the log-odds of going bad are
 *     -3.2 + 0.045 * days_past_due + 0.45 * late_payments_12m - 0.012 * tenure_months
 * days_past_due is 0 for 70% of them, else 1..120; late payments 0..6, mostly low; tenure
 * 0..240 months (missing for 5%: taken as 120); reversals_12m is noise. Also an id column, a
 * non-feature column and a segment. true_p (n entries) receives each row's true probability.
 */
static void make_customers(struct table *tb, size_t n, uint64_t seed, double *true_p)
{
	static const char *const names[] = {"customer_id", "segment", "days_past_due",
	                                    "late_payments_12m", "tenure_months", "reversals_12m",
	                                    "favourite_colour", "bad"};
	static const char *const colours[] = {"red", "green", "blue"};
	table_init(tb, names, 8);
	uint64_t s = seed;
	for (size_t i = 0; i < n; i++) {
		int dpd = rng_unit(&s) < 0.7 ? 0 : 1 + (int)(rng_unit(&s) * 120);
		int late = (int)(rng_unit(&s) * rng_unit(&s) * 7);
		int tenure = (int)(rng_unit(&s) * 241);
		int tenure_missing = rng_unit(&s) < 0.05;
		int reversals = rng_unit(&s) < 0.1;
		double eta = -3.2 + 0.045 * dpd + 0.45 * late - 0.012 * (tenure_missing ? 120 : tenure);
		double p = 1 / (1 + exp(-eta));
		if (true_p)
			true_p[i] = p;
		table_cell(tb, "X%06zu", i);
		table_cell(tb, "%s", i % 10 == 0 ? "agricultural" : "residential");
		table_cell(tb, "%d", dpd);
		table_cell(tb, "%d", late);
		if (tenure_missing)
			table_cell(tb, "%s", "");
		else
			table_cell(tb, "%d", tenure);
		table_cell(tb, "%d", reversals);
		table_cell(tb, "%s", colours[i % 3]);
		table_cell(tb, "%d", rng_unit(&s) < p);
	}
	table_done(tb);
}

static struct scorecard *fit_card(const struct fit_table *t, struct scorecard_fit_opts *o,
                                  struct rbuf *yaml, struct rbuf *notes)
{
	char errstr[512] = "";
	cr_assert_eq(scorecard_fit(t, o, yaml, notes, errstr, sizeof errstr), 0, "%s", errstr);
	return card_from_yaml(yaml);
}

/* The card's points for one customer of the table built by make_customers. */
static double points_of(const struct scorecard *card, const struct fit_table *t, size_t row)
{
	struct feature_vec fv;
	struct credit_grade g;
	char errstr[256];
	cr_assert_eq(fit_table_row_features(t, row, &fv, errstr, sizeof errstr), 0, "%s", errstr);
	scorecard_grade(card, &fv, NULL, &g);
	return g.points;
}

static const char *find_line(const struct rbuf *b, const char *needle)
{
	struct rbuf copy = {0};
	rbuf_append(&copy, b->data, b->len);
	rbuf_append(&copy, "", 1);
	const char *hit = strstr(copy.data, needle);
	const char *ret = hit ? b->data + (hit - copy.data) : NULL;
	rbuf_free(&copy);
	return ret;
}

Test(scorecard_fit, recovers_the_signal_and_ranks_a_fresh_sample)
{
	enum { N = 8000 };
	struct table train, test;
	double *true_p = malloc(N * sizeof *true_p);
	make_customers(&train, N, 1, NULL);
	make_customers(&test, N, 2, true_p);

	struct scorecard_fit_opts o;
	scorecard_fit_opts_init(&o);
	o.load_card = scorecard_load_yaml;
	o.target = "bad";
	o.source = "generated";
	o.segments = "residential,agricultural";
	o.version = "t1";
	o.is_default = 1;
	struct rbuf yaml = {0}, notes = {0};
	struct scorecard *card = fit_card(&train.t, &o, &yaml, &notes);

	/* The right characteristics, strongest first (days past due moves the log-odds by up to
	 * 5.4, tenure by 2.9, late payments mostly by 0.5-1.4); noise and non-features left out. */
	cr_assert_eq(scorecard_char_count(card), 3, "%.*s", (int)yaml.len, yaml.data);
	cr_assert_eq(scorecard_char_feature(card, 0), FEAT_DAYS_PAST_DUE);
	cr_assert_eq(scorecard_char_feature(card, 1), FEAT_TENURE_MONTHS);
	cr_assert_eq(scorecard_char_feature(card, 2), FEAT_LATE_PAYMENTS_12M);
	cr_assert_str_eq(scorecard_name(card), "residential");
	cr_assert(scorecard_is_default(card));
	cr_assert(scorecard_has_segment(card, SEGMENT_AGRICULTURAL));
	cr_assert_not_null(find_line(&notes, "customer_id: identifier (a different value on every "
	                                     "row): left out\n"));
	cr_assert_not_null(find_line(&notes, "favourite_colour: a new attribute favourite_colour, a "
	                                     "category of 3 values"));
	cr_assert_not_null(find_line(&notes, "favourite_colour: information value"));
	cr_assert_not_null(find_line(&notes, "reversals_12m: information value"));
	cr_assert_not_null(find_line(&yaml, "# Columns used, left out or noted:\n#   customer_id: identifier"));
	cr_assert_not_null(find_line(&yaml, "code: DAYS_PAST_DUE\n    reason: \"Bills are past due "
	                                    "now\"\n    missing_reason: \"No billing history yet\"\n"));

	/* Points fall as days past due and late payments rise, and grow with tenure. */
	struct feature_vec fv;
	struct credit_grade g;
	double prev = INFINITY;
	for (int dpd = 0; dpd <= 120; dpd += 10) {
		feature_vec_clear(&fv);
		feature_set(&fv, FEAT_DAYS_PAST_DUE, dpd);
		feature_set(&fv, FEAT_LATE_PAYMENTS_12M, 1);
		feature_set(&fv, FEAT_TENURE_MONTHS, 100);
		scorecard_grade(card, &fv, NULL, &g);
		cr_assert_leq(g.points, prev, "dpd %d: %g after %g", dpd, g.points, prev);
		prev = g.points;
	}
	cr_assert_lt(prev, 500, "120 days past due scores low");
	prev = INFINITY;
	for (int late = 0; late <= 6; late++) {
		feature_vec_clear(&fv);
		feature_set(&fv, FEAT_DAYS_PAST_DUE, 0);
		feature_set(&fv, FEAT_LATE_PAYMENTS_12M, late);
		feature_set(&fv, FEAT_TENURE_MONTHS, 100);
		scorecard_grade(card, &fv, NULL, &g);
		cr_assert_leq(g.points, prev);
		prev = g.points;
	}
	prev = -INFINITY;
	for (int tenure = 0; tenure <= 240; tenure += 20) {
		feature_vec_clear(&fv);
		feature_set(&fv, FEAT_DAYS_PAST_DUE, 0);
		feature_set(&fv, FEAT_LATE_PAYMENTS_12M, 0);
		feature_set(&fv, FEAT_TENURE_MONTHS, tenure);
		scorecard_grade(card, &fv, NULL, &g);
		cr_assert_geq(g.points, prev);
		prev = g.points;
	}
	/* Worst case: days past due is the reason that lost most. */
	feature_vec_clear(&fv);
	feature_set(&fv, FEAT_DAYS_PAST_DUE, 100);
	feature_set(&fv, FEAT_LATE_PAYMENTS_12M, 6);
	feature_set(&fv, FEAT_TENURE_MONTHS, 2);
	scorecard_grade(card, &fv, NULL, &g);
	cr_assert_eq(g.grade, RULE_GRADE_C);
	cr_assert_eq(g.n_reasons, 3);
	cr_assert_str_eq(g.reasons[0].code, "DAYS_PAST_DUE");

	/* Out of sample, the card ranks within 0.03 of the true probabilities' AUC (the card
	 * bins, rounds and estimates; the truth is the ceiling). */
	double *points = malloc(N * sizeof *points), *truth = malloc(N * sizeof *truth);
	uint8_t *bad = malloc(N);
	for (size_t i = 0; i < N; i++) {
		points[i] = points_of(card, &test.t, i);
		truth[i] = -true_p[i]; /* higher = better, like points */
		bad[i] = test.t.cells[i * test.t.n_cols + 7][0] == '1';
	}
	double auc, ks, auc_true, ks_true;
	scorecard_metrics(points, bad, N, &auc, &ks);
	scorecard_metrics(truth, bad, N, &auc_true, &ks_true);
	cr_log_info("fresh sample: card AUC %.4f KS %.4f, true probabilities AUC %.4f KS %.4f", auc,
	            ks, auc_true, ks_true);
	cr_assert_gt(auc_true, 0.8, "the generated signal is strong");
	cr_assert_gt(auc, auc_true - 0.03, "card AUC %.4f vs true %.4f", auc, auc_true);
	cr_assert_leq(auc, auc_true + 0.01);

	/* Evaluation through the card set agrees, and bad rates fall from C to AAA. */
	struct scorecard_set *set;
	struct rules_diags diags = {0};
	FILE *f = fopen("/tmp/riskd_test_fit_card.yaml", "w");
	cr_assert_not_null(f);
	fwrite(yaml.data, 1, yaml.len, f);
	fclose(f);
	const char *paths[] = {"/tmp/riskd_test_fit_card.yaml"};
	cr_assert_eq(scorecard_set_load_paths(paths, 1, &set, &diags), 0);
	struct scorecard_eval ev;
	char errstr[256];
	cr_assert_eq(scorecard_eval_table(set, &test.t, "bad", NULL, NULL, NULL, NULL, &ev, errstr, sizeof errstr), 0,
	             "%s", errstr);
	cr_assert_eq(ev.rows, N);
	cr_assert_eq(ev.skipped, 0);
	cr_assert_float_eq(ev.auc, auc, 1e-12);
	cr_assert_float_eq(ev.gini, 2 * auc - 1, 1e-12);
	size_t total = 0;
	double last_rate = -1;
	for (int gr = RULE_GRADE_C; gr >= RULE_GRADE_AAA; gr--) {
		total += ev.grade_rows[gr];
		if (ev.grade_rows[gr] < 100)
			continue;
		double rate = (double)ev.grade_bads[gr] / (double)ev.grade_rows[gr];
		cr_log_info("%s: %zu rows, bad rate %.3f", credit_grade_name((enum rule_grade)gr),
		            ev.grade_rows[gr], rate);
		if (last_rate >= 0)
			cr_assert_lt(rate, last_rate, "bad rate of %s", credit_grade_name((enum rule_grade)gr));
		last_rate = rate;
	}
	cr_assert_eq(total, N);
	remove(paths[0]);

	scorecard_set_free(set);
	scorecard_free(card);
	rbuf_free(&yaml);
	rbuf_free(&notes);
	free(points);
	free(truth);
	free(bad);
	free(true_p);
	table_free(&train);
	table_free(&test);
}

Test(scorecard_fit, bins_are_monotonic_round_and_cover_missing)
{
	struct table train;
	make_customers(&train, 6000, 7, NULL);
	struct scorecard_fit_opts o;
	scorecard_fit_opts_init(&o);
	o.load_card = scorecard_load_yaml;
	o.target = "bad";
	o.bins = 4;
	struct rbuf yaml = {0}, notes = {0};
	struct scorecard *card = fit_card(&train.t, &o, &yaml, &notes);
	cr_assert_str_eq(scorecard_name(card), "residential", "first segment found");
	cr_assert(scorecard_has_segment(card, SEGMENT_RESIDENTIAL));
	cr_assert(scorecard_has_segment(card, SEGMENT_AGRICULTURAL));
	cr_assert(!scorecard_has_segment(card, SEGMENT_COMMERCIAL));

	/* Every numeric cut is a whole number here (the columns hold whole numbers), and a
	 * characteristic has at most 4 value bins. Parse the bins back out of the YAML. */
	const char *p = yaml.data, *end = yaml.data + yaml.len;
	int bins_in_char = 0, chars = 0;
	char current[64] = "";
	int tenure_missing_seen = 0;
	double last_points = 0;
	int rising_seen = 0, falling_seen = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char line[256];
		snprintf(line, sizeof line, "%.*s", (int)(len < 255 ? len : 255), p);
		if (strncmp(line, "  - feature: ", 13) == 0) {
			chars++;
			bins_in_char = 0;
			sscanf(line + 13, "%63s", current);
		} else if (strncmp(line, "      - {", 9) == 0 && !strstr(line, "missing")) {
			double from, to;
			const char *f = strstr(line, "from: "), *t = strstr(line, "to: ");
			if (f) {
				from = strtod(f + 6, NULL);
				cr_assert_eq(from, floor(from), "%s", line);
			}
			if (t) {
				to = strtod(t + 4, NULL);
				cr_assert_eq(to, floor(to), "%s", line);
			}
			double pts = strtod(strstr(line, "points: ") + 8, NULL);
			if (bins_in_char > 0) {
				rising_seen |= pts > last_points;
				falling_seen |= pts < last_points;
			}
			last_points = pts;
			bins_in_char++;
			cr_assert_leq(bins_in_char, 4, "%s", line);
		} else if (strstr(line, "missing: true") && strcmp(current, "tenure_months") == 0) {
			tenure_missing_seen = 1;
			cr_assert(strstr(line, "# 0 rows") == NULL, "tenure's missing bin has rows: %s",
			          line);
		}
		p += len + 1;
	}
	cr_assert_eq(chars, 3);
	cr_assert(tenure_missing_seen);
	cr_assert(rising_seen && falling_seen, "tenure rises, the others fall");
	scorecard_free(card);
	rbuf_free(&yaml);
	rbuf_free(&notes);
	table_free(&train);
}

Test(scorecard_fit, same_table_same_card)
{
	struct table train;
	make_customers(&train, 3000, 3, NULL);
	struct scorecard_fit_opts o;
	scorecard_fit_opts_init(&o);
	o.load_card = scorecard_load_yaml;
	o.target = "bad";
	struct rbuf a = {0}, b = {0}, na = {0}, nb = {0};
	char errstr[256];
	cr_assert_eq(scorecard_fit(&train.t, &o, &a, &na, errstr, sizeof errstr), 0, "%s", errstr);
	cr_assert_eq(scorecard_fit(&train.t, &o, &b, &nb, errstr, sizeof errstr), 0, "%s", errstr);
	cr_assert_eq(a.len, b.len);
	cr_assert_eq(memcmp(a.data, b.data, a.len), 0);
	rbuf_free(&a);
	rbuf_free(&b);
	rbuf_free(&na);
	rbuf_free(&nb);
	table_free(&train);
}

Test(scorecard_fit, ignore_bad_cells_and_segments)
{
	struct table train;
	make_customers(&train, 4000, 5, NULL);
	/* A bad cell in late_payments_12m: that column is left out, with a note. */
	train.t.cells[10 * train.t.n_cols + 3] = "many";
	struct scorecard_fit_opts o;
	scorecard_fit_opts_init(&o);
	o.load_card = scorecard_load_yaml;
	o.target = "bad";
	o.ignore = "tenure_months,favourite_colour";
	o.segments = "agricultural";
	o.name = "farms";
	struct rbuf yaml = {0}, notes = {0};
	struct scorecard *card = fit_card(&train.t, &o, &yaml, &notes);
	cr_assert_str_eq(scorecard_name(card), "farms");
	cr_assert(!scorecard_has_segment(card, SEGMENT_RESIDENTIAL));
	cr_assert_eq(scorecard_char_count(card), 1);
	cr_assert_eq(scorecard_char_feature(card, 0), FEAT_DAYS_PAST_DUE);
	cr_assert_not_null(find_line(&notes, "late_payments_12m: row 11: 'many' is not a number: "
	                                     "left out (if it means missing, give --na 'many')\n"));
	cr_assert_not_null(find_line(&notes, "tenure_months: left out (--ignore)\n"));
	cr_assert_not_null(find_line(&notes, "favourite_colour: left out (--ignore)\n"));
	cr_assert_not_null(find_line(&notes, "3600 rows of other segments: left out\n"));
	cr_assert_not_null(find_line(&yaml, "description: \"Fitted by riskctl scorecard fit on 400 "
	                                    "rows"));
	scorecard_free(card);
	rbuf_free(&yaml);
	rbuf_free(&notes);
	table_free(&train);
}

Test(scorecard_fit, errors)
{
	struct table train;
	make_customers(&train, 500, 9, NULL);
	struct scorecard_fit_opts o;
	struct rbuf yaml = {0}, notes = {0};
	char errstr[256];
	static const struct {
		const char *target, *segments, *ignore;
		int bins;
		const char *expect;
	} cases[] = {
		{"default", NULL, NULL, 5, "no column 'default' (the target) in the table"},
		{"segment", NULL, NULL, 5, "row 1: target segment is 'agricultural', not 0 or 1"},
		{"bad", "industrial", NULL, 5, "0 rows to fit, 0 of them bad: need both good and bad"},
		{"bad", "offices", NULL, 5, "--segment: unknown segment 'offices'"},
		{"bad", NULL, "days_past_due,late_payments_12m,tenure_months", 5,
		 "no column is a usable feature with an information value of at least 0.02"},
		{"bad", NULL, NULL, 0, "--bins 0: must be 1 .. 20"},
		{NULL, NULL, NULL, 5, "no target column given"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		scorecard_fit_opts_init(&o);
		o.load_card = scorecard_load_yaml;
		o.target = cases[i].target;
		o.segments = cases[i].segments;
		o.ignore = cases[i].ignore;
		o.bins = cases[i].bins;
		errstr[0] = '\0';
		cr_assert_eq(scorecard_fit(&train.t, &o, &yaml, &notes, errstr, sizeof errstr),
		             RISKD_ERR_INVALID, "case %zu", i);
		cr_assert(strncmp(errstr, cases[i].expect, strlen(cases[i].expect)) == 0,
		          "case %zu: got '%s', want '%s'", i, errstr, cases[i].expect);
		cr_assert_eq(yaml.len, 0, "case %zu: no card on error", i);
	}
	scorecard_fit_opts_init(&o);
	o.target = "bad";
	cr_assert_eq(scorecard_fit(&train.t, &o, &yaml, &notes, errstr, sizeof errstr),
	             RISKD_ERR_INVALID);
	cr_assert_str_eq(errstr, "no card loader given");
	o.load_card = scorecard_load_yaml;
	o.grade_pd[1] = o.grade_pd[0];
	cr_assert_eq(scorecard_fit(&train.t, &o, &yaml, &notes, errstr, sizeof errstr),
	             RISKD_ERR_INVALID);
	cr_assert_not_null(strstr(errstr, "--grade-pd"));
	rbuf_free(&yaml);
	rbuf_free(&notes);
	table_free(&train);
}

Test(scorecard_fit, auc_and_ks_on_known_inputs)
{
	double auc, ks;
	/* Perfect separation: every good above every bad. */
	double p1[] = {1, 2, 3, 10, 11, 12};
	uint8_t b1[] = {1, 1, 1, 0, 0, 0};
	scorecard_metrics(p1, b1, 6, &auc, &ks);
	cr_assert_float_eq(auc, 1.0, 1e-12);
	cr_assert_float_eq(ks, 1.0, 1e-12);
	/* Reversed. */
	uint8_t b2[] = {0, 0, 0, 1, 1, 1};
	scorecard_metrics(p1, b2, 6, &auc, &ks);
	cr_assert_float_eq(auc, 0.0, 1e-12);
	cr_assert_float_eq(ks, 1.0, 1e-12);
	/* All tied: one half, no gap. */
	double p3[] = {5, 5, 5, 5};
	uint8_t b3[] = {1, 0, 1, 0};
	scorecard_metrics(p3, b3, 4, &auc, &ks);
	cr_assert_float_eq(auc, 0.5, 1e-12);
	cr_assert_float_eq(ks, 0.0, 1e-12);
	/* Goods 2, 3, 4 against bads 1, 3: pairs (2>1) (3>1) (4>1) (3=3: half) (4>3) and (2<3):
	 * 4.5 of 6. KS: below 3 the bads are at 1/2, the goods at 1/3 ... largest gap 1/2 at 1. */
	double p4[] = {1, 2, 3, 3, 4};
	uint8_t b4[] = {1, 0, 1, 0, 0};
	scorecard_metrics(p4, b4, 5, &auc, &ks);
	cr_assert_float_eq(auc, 4.5 / 6.0, 1e-12);
	cr_assert_float_eq(ks, 0.5, 1e-12);
	/* One class only. */
	scorecard_metrics(p4, (uint8_t[]){0, 0, 0, 0, 0}, 5, &auc, &ks);
	cr_assert_float_eq(auc, 0.5, 1e-12);
	cr_assert_float_eq(ks, 0.0, 1e-12);
}

Test(scorecard_fit, eval_picks_cards_by_segment)
{
	struct rules_diags diags = {0};
	struct scorecard_set *set;
	const char *paths[] = {"tests/unit/data/scorecard/set_ok"};
	cr_assert_eq(scorecard_set_load_paths(paths, 1, &set, &diags), 0);
	static const char *const names[] = {"customer_id", "segment", "days_past_due", "bad"};
	struct table tb;
	table_init(&tb, names, 4);
	/* residential card: base 600, dpd < 1 +10 else -50; commercial: base 500. */
	static const char *const rows[][4] = {
		{"A", "residential", "0", "0"},  /* 610 A */
		{"B", "residential", "5", "1"},  /* 550 B */
		{"C", "commercial", "0", "0"},   /* 510 C */
		{"D", "industrial", "", "1"},    /* 500 C (missing: 0) */
		{"E", "", "0", "0"},             /* no segment: default card, 610 A */
		{"F", "agricultural", "0", ""},  /* empty target: skipped */
	};
	for (size_t r = 0; r < 6; r++)
		for (size_t c = 0; c < 4; c++)
			table_cell(&tb, "%s", rows[r][c]);
	table_done(&tb);
	struct scorecard_eval ev;
	char errstr[256];
	cr_assert_eq(scorecard_eval_table(set, &tb.t, "bad", NULL, NULL, NULL, NULL, &ev, errstr, sizeof errstr), 0,
	             "%s", errstr);
	cr_assert_eq(ev.rows, 5);
	cr_assert_eq(ev.skipped, 1);
	cr_assert_eq(ev.bads, 2);
	cr_assert_eq(ev.grade_rows[RULE_GRADE_A], 2);
	cr_assert_eq(ev.grade_rows[RULE_GRADE_B], 1);
	cr_assert_eq(ev.grade_bads[RULE_GRADE_B], 1);
	cr_assert_eq(ev.grade_rows[RULE_GRADE_C], 2);
	cr_assert_eq(ev.grade_bads[RULE_GRADE_C], 1);
	/* goods 610 610 510 vs bads 550 500: 5 of 6 pairs right. */
	cr_assert_float_eq(ev.auc, 5.0 / 6.0, 1e-12);

	/* A bad cell names its row and column. */
	tb.t.cells[1 * 4 + 2] = "soon";
	cr_assert_eq(scorecard_eval_table(set, &tb.t, "bad", NULL, NULL, NULL, NULL, &ev, errstr, sizeof errstr),
	             RISKD_ERR_INVALID);
	cr_assert_str_eq(errstr, "row 2, column days_past_due: 'soon' is not a number: if it means "
	                         "missing, give --na 'soon'");
	cr_assert_eq(scorecard_eval_table(set, &tb.t, "target", NULL, NULL, NULL, NULL, &ev, errstr, sizeof errstr),
	             RISKD_ERR_INVALID);
	table_free(&tb);
	scorecard_set_free(set);
}
