/*
 * test_scorecard.c - Criterion suite for credit scorecards: the card loader
 * (rules/scorecard_load.c) with its diagnostics as goldens (each bad card under
 * tests/unit/data/scorecard/ beside the exact text riskd must print), and the arithmetic
 * (scoring/scorecard.c): points, grades and adverse reasons on a hand-made card with known
 * inputs, caps and floors from grade limits and from rules/credit.yaml (through
 * detector/grader.c's grader_limits), card sets (picking by segment, set-level errors), and
 * the shipped cards in scoring/cards.
 *
 * Runs from the repository root (make test-unit does): fixtures are read by relative path,
 * which is also the path the expected texts name.
 */
#include "config/riskd_base.h"
#include "detector/grader.h"
#include "rules/ruleset.h"
#include "rules/scorecard_load.h"
#include "scoring/scorecard.h"

#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATA "tests/unit/data/scorecard/"

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	cr_assert_not_null(fp, "cannot open %s", path);
	struct rbuf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		rbuf_append(&b, chunk, n);
	fclose(fp);
	rbuf_append(&b, "", 1);
	if (len)
		*len = b.len - 1;
	return b.data;
}

/* Loads DATA name as a set (a file or a directory) and, for a file, on its own; both must
 * fail with exactly the text of DATA stem.expected. */
static void expect_golden(const char *name)
{
	char path[256], expected_path[256];
	snprintf(path, sizeof path, DATA "%s", name);
	const char *dot = strrchr(name, '.');
	snprintf(expected_path, sizeof expected_path, DATA "%.*s.expected",
	         (int)(dot ? (size_t)(dot - name) : strlen(name)), name);
	char *expected = slurp(expected_path, NULL);

	for (int as_file = 0; as_file < (dot ? 2 : 1); as_file++) {
		struct rules_diags diags = {0};
		struct rbuf text = {0};
		if (as_file) {
			struct scorecard *card = (struct scorecard *)1;
			cr_assert_eq(scorecard_load_path(path, &card, &diags), RISKD_ERR_INVALID);
			cr_assert_null(card);
		} else {
			struct scorecard_set *set = (struct scorecard_set *)1;
			const char *paths[] = {path};
			cr_assert_eq(scorecard_set_load_paths(paths, 1, &set, &diags), RISKD_ERR_INVALID);
			cr_assert_null(set);
		}
		cr_assert_gt(diags.count, 0);
		for (size_t i = 1; i < diags.count; i++)
			cr_assert(diags.items[i - 1].line < diags.items[i].line ||
			          (diags.items[i - 1].line == diags.items[i].line &&
			           diags.items[i - 1].col <= diags.items[i].col) ||
			          strcmp(diags.items[i - 1].path, diags.items[i].path) != 0,
			          "diagnostics sorted by position");
		rules_diags_render(&diags, &text);
		rbuf_append(&text, "", 1);
		cr_assert_str_eq(text.data, expected, "%s: diagnostics differ:\n%s", name, text.data);
		rbuf_free(&text);
		rules_diags_free(&diags);
	}
	free(expected);
}

TestSuite(scorecard);

Test(scorecard, yaml_syntax_error) { expect_golden("bad_yaml_syntax.yaml"); }
Test(scorecard, empty_file) { expect_golden("bad_empty.yaml"); }
Test(scorecard, anchors_refused) { expect_golden("bad_anchor.yaml"); }
Test(scorecard, unknown_and_duplicate_keys) { expect_golden("bad_keys.yaml"); }
Test(scorecard, missing_required_keys) { expect_golden("bad_missing.yaml"); }
Test(scorecard, features_codes_and_reasons) { expect_golden("bad_features.yaml"); }
Test(scorecard, bins_cover_every_value_once) { expect_golden("bad_bins.yaml"); }
Test(scorecard, grades_segments_values) { expect_golden("bad_grades.yaml"); }
Test(scorecard, wrong_node_types) { expect_golden("bad_structure.yaml"); }
Test(scorecard, set_names_segments_default) { expect_golden("set_dup"); }

Test(scorecard, unreadable_paths)
{
	struct rules_diags diags = {0};
	struct scorecard_set *set;
	const char *paths[] = {DATA "no_such_card.yaml"};
	cr_assert_eq(scorecard_set_load_paths(paths, 1, &set, &diags), RISKD_ERR_INVALID);
	cr_assert_eq(diags.count, 1);
	cr_assert_eq(diags.items[0].line, 0);
	cr_assert_str_eq(diags.items[0].text, DATA "no_such_card.yaml: error: cannot read: "
	                                           "No such file or directory\n");
	rules_diags_free(&diags);
	cr_assert_eq(scorecard_set_load_paths(NULL, 0, &set, &diags), RISKD_ERR_INVALID);
	cr_assert_str_eq(diags.items[0].text, "riskd: error: no scorecard files given\n");
	rules_diags_free(&diags);
}

Test(scorecard, too_many_errors_are_cut)
{
	struct rbuf text = {0};
	rbuf_puts(&text, "scorecard: many\nversion: \"1\"\nsegments: [residential]\n"
	                 "base_points: 0\ngrades: {AAA: 4, AA: 3, A: 2, B: 1}\n");
	for (int i = 0; i < 60; i++)
		rbuf_printf(&text, "nonsense_%d: 1\n", i);
	rbuf_puts(&text, "characteristics: []\n");
	struct rules_diags diags = {0};
	struct scorecard *card;
	cr_assert_eq(scorecard_load_text("many.yaml", text.data, text.len, &card, &diags),
	             RISKD_ERR_INVALID);
	cr_assert_eq(diags.count, RULES_FILE_ERRORS_MAX + 1);
	cr_assert_str_eq(diags.items[diags.count - 1].text,
	                 "many.yaml: error: too many errors; only the first 50 are reported\n");
	rules_diags_free(&diags);
	rbuf_free(&text);
}

/* ---- grading a known card ---- */

static struct scorecard *load_known(void)
{
	struct rules_diags diags = {0};
	struct scorecard *card = NULL;
	int rc = scorecard_load_path(DATA "known.yaml", &card, &diags);
	struct rbuf text = {0};
	rules_diags_render(&diags, &text);
	rbuf_append(&text, "", 1);
	cr_assert_eq(rc, 0, "%s", text.data);
	rbuf_free(&text);
	rules_diags_free(&diags);
	return card;
}

/* dpd, share, reversals: < 0 = missing; segment: enum segment (0 = missing); theft 0/1/-1 */
static void customer(struct feature_vec *fv, double dpd, double share, double reversals,
                     int segment, int theft)
{
	feature_vec_clear(fv);
	if (dpd >= 0)
		feature_set(fv, FEAT_DAYS_PAST_DUE, dpd);
	if (share >= 0)
		feature_set(fv, FEAT_ON_TIME_SHARE_12M, share);
	if (reversals >= 0)
		feature_set(fv, FEAT_REVERSALS_12M, reversals);
	if (segment > 0)
		feature_set(fv, FEAT_SEGMENT, segment - 1);
	if (theft >= 0)
		feature_set(fv, FEAT_CONFIRMED_THEFT, theft);
	feature_set(fv, FEAT_KWH_DAY, 12); /* not on the card: ignored */
}

static void expect_reason(const struct credit_grade *g, int i, const char *code, double lost)
{
	cr_assert_lt(i, g->n_reasons, "reason %d missing", i);
	cr_assert_str_eq(g->reasons[i].code, code, "reason %d", i);
	cr_assert_float_eq(g->reasons[i].points_lost, lost, 1e-9, "reason %d (%s)", i, code);
}

Test(scorecard, metadata)
{
	struct scorecard *card = load_known();
	cr_assert_str_eq(scorecard_name(card), "known");
	cr_assert_str_eq(scorecard_version(card), "1.0");
	cr_assert_str_eq(scorecard_path(card), DATA "known.yaml");
	cr_assert_eq(strlen(scorecard_hash(card)), 16);
	cr_assert(scorecard_has_segment(card, SEGMENT_RESIDENTIAL));
	cr_assert(scorecard_has_segment(card, SEGMENT_AGRICULTURAL));
	cr_assert(!scorecard_has_segment(card, SEGMENT_COMMERCIAL));
	cr_assert(scorecard_is_default(card));
	cr_assert_eq(scorecard_cutoff(card, RULE_GRADE_AAA), 660);
	cr_assert_eq(scorecard_cutoff(card, RULE_GRADE_B), 520);
	cr_assert(isinf(scorecard_cutoff(card, RULE_GRADE_C)));
	cr_assert_eq(scorecard_char_count(card), 5);
	cr_assert_eq(scorecard_char_feature(card, 0), FEAT_DAYS_PAST_DUE);
	cr_assert_eq(scorecard_char_feature(card, 4), FEAT_CONFIRMED_THEFT);

	/* The same bytes give the same hash wherever they are; other bytes another. */
	size_t len;
	char *text = slurp(DATA "known.yaml", &len);
	struct rules_diags diags = {0};
	struct scorecard *again, *edited;
	cr_assert_eq(scorecard_load_text("elsewhere.yaml", text, len, &again, &diags), 0);
	cr_assert_str_eq(scorecard_hash(again), scorecard_hash(card));
	text[len - 3] = '5'; /* the theft missing bin: 20 -> 25 */
	cr_assert_eq(scorecard_load_text("edited.yaml", text, len, &edited, &diags), 0);
	cr_assert_str_neq(scorecard_hash(edited), scorecard_hash(card));
	scorecard_free(again);
	scorecard_free(edited);
	free(text);
	scorecard_free(card);
}

Test(scorecard, best_customer_has_no_reasons)
{
	struct scorecard *card = load_known();
	struct feature_vec fv;
	struct credit_grade g;
	customer(&fv, 0, 1, 0, SEGMENT_RESIDENTIAL, 0);
	cr_assert_eq(scorecard_grade(card, &fv, NULL, &g), 0);
	cr_assert_float_eq(g.points, 665, 1e-9);
	cr_assert_eq(g.grade, RULE_GRADE_AAA);
	cr_assert_eq(g.points_grade, RULE_GRADE_AAA);
	cr_assert_eq(g.n_reasons, 0);
	cr_assert(!g.capped && !g.floored);
	scorecard_free(card);
}

Test(scorecard, points_and_top_three_reasons)
{
	struct scorecard *card = load_known();
	struct feature_vec fv;
	struct credit_grade g;
	/* 500 - 20 (dpd 45) + 10 (share 0.6) - 40 (2 reversals) + 0 (commercial) + 20 = 470 */
	customer(&fv, 45, 0.6, 2, SEGMENT_COMMERCIAL, 0);
	scorecard_grade(card, &fv, NULL, &g);
	cr_assert_float_eq(g.points, 470, 1e-9);
	cr_assert_eq(g.grade, RULE_GRADE_C);
	cr_assert_eq(g.n_reasons, 3);
	expect_reason(&g, 0, "DAYS_PAST_DUE", 80);
	expect_reason(&g, 1, "REVERSALS", 70);
	expect_reason(&g, 2, "ON_TIME_SHARE", 40);
	cr_assert_str_eq(g.reasons[0].text, "Bills are past due now");
	cr_assert_str_eq(g.reasons[1].text, "Bounced payments in the last 12 months");

	/* Everything missing: the missing bins. Ties (50 and 50) keep the card's order. */
	customer(&fv, -1, -1, -1, 0, -1);
	scorecard_grade(card, &fv, NULL, &g);
	cr_assert_float_eq(g.points, 500 + 10 + 0 + 30 + 0 + 20, 1e-9);
	cr_assert_eq(g.grade, RULE_GRADE_B);
	cr_assert_eq(g.n_reasons, 3);
	expect_reason(&g, 0, "DAYS_PAST_DUE", 50);
	expect_reason(&g, 1, "ON_TIME_SHARE", 50);
	expect_reason(&g, 2, "SEGMENT", 5);
	cr_assert_str_eq(g.reasons[0].text, "No billing history yet", "its missing_reason");
	cr_assert_str_eq(g.reasons[1].text, "Few bills paid on time in the last 12 months",
	                 "no missing_reason: the reason");

	/* Only two characteristics lose points: two reasons. */
	customer(&fv, 0, 0.95, 0, SEGMENT_INDUSTRIAL, 1);
	scorecard_grade(card, &fv, NULL, &g);
	cr_assert_float_eq(g.points, 500 + 60 + 50 + 30 + 0 - 100, 1e-9);
	cr_assert_eq(g.grade, RULE_GRADE_B);
	cr_assert_eq(g.n_reasons, 2);
	expect_reason(&g, 0, "THEFT", 120);
	expect_reason(&g, 1, "SEGMENT", 5);
	scorecard_free(card);
}

Test(scorecard, bin_edges_and_cutoffs)
{
	struct scorecard *card = load_known();
	struct feature_vec fv;
	struct credit_grade g;
	static const struct {
		double dpd, share;
		double points;
		enum rule_grade grade;
	} cases[] = {
		/* base 500 + reversals 30 + segment 5 + theft 20 = 555, plus dpd and share */
		{0.999, 0.9, 555 + 60 + 50, RULE_GRADE_AAA},   /* 665 */
		{1, 0.9, 555 + 20 + 50, RULE_GRADE_AA},        /* 625: 1 is in [1, 30) */
		{29.5, 0.8999, 555 + 20 + 10, RULE_GRADE_A},   /* 585 */
		{30, 0.5, 555 - 20 + 10, RULE_GRADE_B},        /* 545: 0.5 is in [0.5, 0.9) */
		{89, 0.49, 555 - 20 - 30, RULE_GRADE_C},       /* 505 */
		{90, 1, 555 - 80 + 50, RULE_GRADE_B},          /* 525 */
		{1e9, -1, 555 - 80 + 0, RULE_GRADE_C},         /* 475 */
		{-5, 0, 555 + 60 - 30, RULE_GRADE_A},          /* 585: below the first 'to' */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		customer(&fv, -1, cases[i].share, 0, SEGMENT_AGRICULTURAL, 0);
		feature_set(&fv, FEAT_DAYS_PAST_DUE, cases[i].dpd);
		scorecard_grade(card, &fv, NULL, &g);
		cr_assert_float_eq(g.points, cases[i].points, 1e-9, "case %zu", i);
		cr_assert_eq(g.grade, cases[i].grade, "case %zu: grade %s", i,
		             credit_grade_name(g.grade));
	}
	/* A cut-off is reached with exactly its points: 620 is AA. */
	customer(&fv, 1, 0.9, 0, SEGMENT_COMMERCIAL, 0);  /* 500+20+50+30+0+20 = 620 */
	scorecard_grade(card, &fv, NULL, &g);
	cr_assert_float_eq(g.points, 620, 1e-9);
	cr_assert_eq(g.grade, RULE_GRADE_AA);
	/* NaN counts as missing. */
	customer(&fv, -1, 1, 0, SEGMENT_RESIDENTIAL, 0);
	feature_set(&fv, FEAT_DAYS_PAST_DUE, NAN);
	scorecard_grade(card, &fv, NULL, &g);
	cr_assert_float_eq(g.points, 500 + 10 + 50 + 30 + 5 + 20, 1e-9);
	scorecard_free(card);
}

Test(scorecard, caps_and_floors_from_limits)
{
	struct scorecard *card = load_known();
	struct feature_vec fv;
	struct credit_grade g;
	struct grade_limits hits;
	grade_limits_clear(&hits);

	customer(&fv, 0, 1, 0, SEGMENT_RESIDENTIAL, 0); /* AAA on points */
	scorecard_grade(card, &fv, &hits, &g);
	cr_assert_eq(g.grade, RULE_GRADE_AAA);
	hits.cap = RULE_GRADE_B;
	scorecard_grade(card, &fv, &hits, &g);
	cr_assert_eq(g.grade, RULE_GRADE_B);
	cr_assert_eq(g.points_grade, RULE_GRADE_AAA);
	cr_assert(g.capped && !g.floored);
	cr_assert_float_eq(g.points, 665, 1e-9, "caps do not change points");

	customer(&fv, 45, 0.6, 2, SEGMENT_COMMERCIAL, 0); /* C on points */
	hits.cap = RULE_GRADE_B; /* a cap above the grade changes nothing */
	scorecard_grade(card, &fv, &hits, &g);
	cr_assert_eq(g.grade, RULE_GRADE_C);
	cr_assert(!g.capped);
	hits.cap = RULE_GRADE_NONE;
	hits.floor = RULE_GRADE_A;
	scorecard_grade(card, &fv, &hits, &g);
	cr_assert_eq(g.grade, RULE_GRADE_A);
	cr_assert(g.floored && !g.capped);
	hits.cap = RULE_GRADE_B; /* floor A and cap B disagree: the cap wins */
	scorecard_grade(card, &fv, &hits, &g);
	cr_assert_eq(g.grade, RULE_GRADE_B);
	cr_assert(g.floored, "B is still better than C on points");
	hits.cap = RULE_GRADE_C;
	scorecard_grade(card, &fv, &hits, &g);
	cr_assert_eq(g.grade, RULE_GRADE_C);
	cr_assert(!g.floored && !g.capped);
	scorecard_free(card);
}

/* Grades as riskd does: the credit rules' limits, then the card. */
static void grade_with_rules(const struct scorecard *card, const struct feature_vec *fv,
                             const struct ruleset *rs, struct credit_grade *g)
{
	struct grade_limits limits;
	grader_limits(rs, fv, &limits);
	scorecard_grade(card, fv, &limits, g);
}

Test(scorecard, limits_name_their_rule_first_among_the_reasons)
{
	struct scorecard *card = load_known();
	struct feature_vec fv;
	struct credit_grade g;
	struct grade_limits limits;
	grade_limits_clear(&limits);
	customer(&fv, 45, 0.6, 2, SEGMENT_COMMERCIAL, 0); /* C on points, three reasons */
	scorecard_grade(card, &fv, &limits, &g);
	cr_assert_eq(g.n_reasons, 3);
	struct credit_reason third = g.reasons[1];

	limits.floor = RULE_GRADE_A;
	limits.floor_code = "long_tenure";
	limits.floor_text = "A long and clean history";
	limits.cap_code = "unused_cap"; /* names a cap that does not bind: never shown */
	scorecard_grade(card, &fv, &limits, &g);
	cr_assert_eq(g.grade, RULE_GRADE_A);
	cr_assert(g.floored);
	cr_assert_eq(g.n_reasons, 3, "the rule first, the card's two worst after it");
	cr_assert_str_eq(g.reasons[0].code, "long_tenure");
	cr_assert_str_eq(g.reasons[0].text, "A long and clean history");
	cr_assert_float_eq(g.reasons[0].points_lost, 0, 1e-9);
	cr_assert_str_eq(g.reasons[2].code, third.code);

	/* A limit without its rule changes the grade but names nothing. */
	limits.floor_code = NULL;
	scorecard_grade(card, &fv, &limits, &g);
	cr_assert_eq(g.grade, RULE_GRADE_A);
	cr_assert_eq(g.n_reasons, 3);
	cr_assert_str_neq(g.reasons[0].code, "long_tenure");
	scorecard_free(card);
}

Test(scorecard, caps_from_the_credit_rules)
{
	struct scorecard *card = load_known();
	struct ruleset *rs;
	struct rules_diags diags = {0};
	const char *paths[] = {"rules/credit.yaml"};
	cr_assert_eq(ruleset_load_paths(paths, 1, RULE_KIND_CREDIT, &rs, &diags), 0);
	struct feature_vec fv;
	struct credit_grade g;

	customer(&fv, 0, 1, 0, SEGMENT_RESIDENTIAL, 0);
	feature_set(&fv, FEAT_TENURE_MONTHS, 48);
	feature_set(&fv, FEAT_BILLS_12M, 12);
	grade_with_rules(card, &fv, rs, &g);
	cr_assert_eq(g.grade, RULE_GRADE_AAA);
	cr_assert_eq(g.n_reasons, 0);

	feature_set(&fv, FEAT_REVERSALS_12M, 1);
	feature_set(&fv, FEAT_DAYS_SINCE_REVERSAL, 120); /* not recent: no cap */
	grade_with_rules(card, &fv, rs, &g);
	cr_assert_neq(g.grade, RULE_GRADE_B);
	cr_assert_eq(g.grade, g.points_grade);
	feature_set(&fv, FEAT_DAYS_SINCE_REVERSAL, 89); /* recent_reversal: at most B */
	grade_with_rules(card, &fv, rs, &g);
	cr_assert_float_eq(g.points, 595, 1e-9);
	cr_assert_eq(g.points_grade, RULE_GRADE_A);
	cr_assert_eq(g.grade, RULE_GRADE_B);
	cr_assert_eq(g.n_reasons, 2);
	cr_assert_str_eq(g.reasons[0].code, "recent_reversal");
	cr_assert_str_eq(g.reasons[0].text, "A bounced payment in the last 90 days");
	cr_assert_float_eq(g.reasons[0].points_lost, 0, 1e-9);
	expect_reason(&g, 1, "REVERSALS", 70);

	/* Confirmed theft caps at C: its rule comes first, the card's reasons follow, three in
	 * all. */
	customer(&fv, 45, 0.6, 2, SEGMENT_COMMERCIAL, 1);
	feature_set(&fv, FEAT_TENURE_MONTHS, 48);
	feature_set(&fv, FEAT_BILLS_12M, 12);
	grade_with_rules(card, &fv, rs, &g);
	cr_assert_eq(g.grade, RULE_GRADE_C);
	cr_assert(!g.capped, "C on points already");
	expect_reason(&g, 0, "THEFT", 120);

	customer(&fv, 0, 1, 0, SEGMENT_RESIDENTIAL, 1);
	feature_set(&fv, FEAT_TENURE_MONTHS, 48);
	feature_set(&fv, FEAT_BILLS_12M, 12);
	grade_with_rules(card, &fv, rs, &g); /* 545 on points: B, capped to C */
	cr_assert_eq(g.points_grade, RULE_GRADE_B);
	cr_assert_eq(g.grade, RULE_GRADE_C);
	cr_assert_str_eq(g.reasons[0].code, "confirmed_theft");
	expect_reason(&g, 1, "THEFT", 120);
	cr_assert_eq(g.n_reasons, 2);

	/* NULL rules: grading on points alone. */
	grade_with_rules(card, &fv, NULL, &g);
	cr_assert_eq(g.grade, RULE_GRADE_B);
	ruleset_free(rs);
	scorecard_free(card);
}

Test(scorecard, sets_pick_by_segment)
{
	struct rules_diags diags = {0};
	struct scorecard_set *set;
	const char *paths[] = {DATA "set_ok"};
	cr_assert_eq(scorecard_set_load_paths(paths, 1, &set, &diags), 0);
	cr_assert_eq(scorecard_set_count(set), 2);
	cr_assert_str_eq(scorecard_name(scorecard_set_card(set, 0)), "residential");
	cr_assert_str_eq(scorecard_name(scorecard_set_card(set, 1)), "commercial");
	cr_assert_str_eq(scorecard_name(scorecard_set_pick(set, SEGMENT_RESIDENTIAL)),
	                 "residential");
	cr_assert_str_eq(scorecard_name(scorecard_set_pick(set, SEGMENT_AGRICULTURAL)),
	                 "residential");
	cr_assert_str_eq(scorecard_name(scorecard_set_pick(set, SEGMENT_COMMERCIAL)), "commercial");
	cr_assert_str_eq(scorecard_name(scorecard_set_pick(set, SEGMENT_INDUSTRIAL)), "commercial");
	cr_assert_str_eq(scorecard_name(scorecard_set_pick(set, SEGMENT_UNKNOWN)), "residential",
	                 "no profile yet: the default card");
	scorecard_set_free(set);

	/* Without a default card an unlisted segment has no card. */
	const char *one[] = {DATA "set_ok/b_commercial.yml"};
	cr_assert_eq(scorecard_set_load_paths(one, 1, &set, &diags), 0);
	cr_assert_null(scorecard_set_pick(set, SEGMENT_RESIDENTIAL));
	cr_assert_null(scorecard_set_pick(set, SEGMENT_UNKNOWN));
	cr_assert_not_null(scorecard_set_pick(set, SEGMENT_INDUSTRIAL));
	scorecard_set_free(set);
	cr_assert_eq(diags.count, 0);
}

Test(scorecard, shipped_cards_load_and_cover_every_segment)
{
	struct rules_diags diags = {0};
	struct scorecard_set *set;
	const char *paths[] = {"scoring/cards"};
	int rc = scorecard_set_load_paths(paths, 1, &set, &diags);
	struct rbuf text = {0};
	rules_diags_render(&diags, &text);
	rbuf_append(&text, "", 1);
	cr_assert_eq(rc, 0, "%s", text.data);
	rbuf_free(&text);
	cr_assert_eq(scorecard_set_count(set), 2);
	const struct scorecard *res = scorecard_set_pick(set, SEGMENT_RESIDENTIAL);
	const struct scorecard *com = scorecard_set_pick(set, SEGMENT_COMMERCIAL);
	cr_assert_str_eq(scorecard_name(res), "residential");
	cr_assert_str_eq(scorecard_name(com), "commercial");
	cr_assert_eq(scorecard_set_pick(set, SEGMENT_INDUSTRIAL), com);
	cr_assert_eq(scorecard_set_pick(set, SEGMENT_AGRICULTURAL), res);
	cr_assert_eq(scorecard_set_pick(set, SEGMENT_UNKNOWN), res);

	/* Worse payment behaviour never earns a better grade on either card. */
	for (int c = 0; c < 2; c++) {
		const struct scorecard *card = c ? com : res;
		struct feature_vec good, bad;
		struct credit_grade gg, gb;
		feature_vec_clear(&good);
		feature_vec_clear(&bad);
		static const struct {
			enum feature_id id;
			double good, bad;
		} values[] = {
			{FEAT_DAYS_PAST_DUE, 0, 120},       {FEAT_MAX_DAYS_PAST_DUE_12M, 0, 150},
			{FEAT_LATE_PAYMENTS_12M, 0, 6},     {FEAT_ON_TIME_SHARE_12M, 1, 0.2},
			{FEAT_ARREARS_AMOUNT, 0, 900},      {FEAT_ARREARS_RATIO, 0, 5},
			{FEAT_REVERSALS_12M, 0, 3},         {FEAT_TENURE_MONTHS, 120, 3},
			{FEAT_BILLS_12M, 12, 12},
		};
		for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
			feature_set(&good, values[i].id, values[i].good);
			feature_set(&bad, values[i].id, values[i].bad);
		}
		feature_set(&bad, FEAT_MONTHS_SINCE_LAST_LATE, 0);
		scorecard_grade(card, &good, NULL, &gg);
		scorecard_grade(card, &bad, NULL, &gb);
		cr_assert_gt(gg.points, gb.points, "%s", scorecard_name(card));
		cr_assert_leq(gg.grade, RULE_GRADE_A, "%s: a spotless record grades A or better",
		              scorecard_name(card));
		cr_assert_eq(gb.grade, RULE_GRADE_C, "%s", scorecard_name(card));
		cr_assert_eq(gb.n_reasons, CREDIT_REASONS_MAX);
	}
	scorecard_set_free(set);
}
