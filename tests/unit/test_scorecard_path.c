/*
 * test_scorecard_path.c - Criterion suite for the path to a better grade
 * (scorecard_better_grade_path): on a hand-built card, the exact steps, points and words for
 * customers one or several moves away, with and without the hysteresis margin, a cap that
 * holds the grade, characteristics a customer cannot change, a path the card cannot give in
 * CREDIT_PATH_STEPS_MAX steps, and the JSON the grade row and message carry.
 */
#include "config/riskd_base.h"
#include "test_card_load.h"

#include <criterion/criterion.h>

#include <math.h>
#include <string.h>

/* base 500; AAA 560, AA 540, A 520, B 490 */
static const char card_yaml[] =
    "scorecard: path-test\n"
    "version: \"1\"\n"
    "segments: [residential]\n"
    "default: true\n"
    "base_points: 500\n"
    "grades: {AAA: 560, AA: 540, A: 520, B: 490}\n"
    "characteristics:\n"
    "  - feature: days_past_due\n"
    "    code: DAYS_PAST_DUE\n"
    "    reason: Bills are past due now\n"
    "    bins:\n"
    "      - {to: 1, points: 20}\n"
    "      - {from: 1, to: 14, points: -10}\n"
    "      - {from: 14, to: 36, points: -30}\n"
    "      - {from: 36, points: -60}\n"
    "      - {missing: true, points: 0}\n"
    "  - feature: months_since_last_late\n"
    "    code: RECENT_LATE\n"
    "    reason: A late payment recently\n"
    "    bins:\n"
    "      - {to: 3, points: -15}\n"
    "      - {from: 3, to: 12, points: 0}\n"
    "      - {from: 12, points: 10}\n"
    "      - {missing: true, points: 10}\n"
    "  - feature: tenure_months\n"
    "    code: TENURE\n"
    "    reason: A new customer\n"
    "    bins:\n"
    "      - {to: 6, points: -20}\n"
    "      - {from: 6, points: 5}\n"
    "      - {missing: true, points: 0}\n"
    "  - feature: reversals_12m\n"
    "    code: REVERSALS_12M\n"
    "    reason: Bounced payments\n"
    "    bins:\n"
    "      - {to: 1, points: 10}\n"
    "      - {from: 1, points: -25}\n"
    "      - {missing: true, points: 0}\n"
    "  - feature: confirmed_theft\n"
    "    code: THEFT\n"
    "    reason: An analyst confirmed theft\n"
    "    bins:\n"
    "      - {values: [false], points: 0}\n"
    "      - {values: [true], points: -100}\n"
    "      - {missing: true, points: 0}\n";

static struct scorecard *card;

static void load(void)
{
	struct rbuf yaml = {0};
	rbuf_puts(&yaml, card_yaml);
	card = card_from_yaml(&yaml);
	rbuf_free(&yaml);
}

static void unload(void)
{
	scorecard_free(card);
}

TestSuite(path, .init = load, .fini = unload);

/* A customer: days past due, months since the last late payment, tenure, reversals (NAN:
 * missing), arrears. */
static void customer(struct feature_vec *fv, double dpd, double since_late, double tenure,
                     double reversals, double arrears)
{
	feature_vec_clear(fv);
	const double values[] = {dpd, since_late, tenure, reversals, arrears};
	const enum feature_id ids[] = {FEAT_DAYS_PAST_DUE, FEAT_MONTHS_SINCE_LAST_LATE,
	                               FEAT_TENURE_MONTHS, FEAT_REVERSALS_12M, FEAT_ARREARS_AMOUNT};
	for (size_t i = 0; i < 5; i++)
		if (!isnan(values[i]))
			feature_set(fv, ids[i], values[i]);
	feature_set(fv, FEAT_CONFIRMED_THEFT, 0);
}

/* Grades fv with the card (no limits) into *g and computes its path with margin into *p. */
static void grade_and_path(const struct feature_vec *fv, double margin, struct credit_grade *g,
                           struct credit_path *p)
{
	scorecard_grade(card, fv, NULL, g);
	scorecard_better_grade_path(card, fv, g, NULL, margin, p);
}

/* The path's JSON, NUL-terminated (free with rbuf_free). */
static struct rbuf path_json(const struct credit_path *p)
{
	struct rbuf json = {0};
	credit_path_json(p, &json);
	rbuf_append(&json, "", 1);
	return json;
}

static void expect_step(const struct credit_step *s, const char *code, double value, double from,
                        double to, double gained, const char *text)
{
	cr_assert_not(s->is_rule);
	cr_assert_str_eq(s->code, code);
	cr_assert_eq(s->value, value, "%s value %g", code, s->value);
	cr_assert_eq(s->from, from, "%s from %g", code, s->from);
	cr_assert_eq(s->to, to, "%s to %g", code, s->to);
	cr_assert_eq(s->points_gained, gained, "%s gained %g", code, s->points_gained);
	cr_assert_str_eq(s->text, text);
}

Test(path, the_nearest_better_bins_until_the_next_cut_off)
{
	struct feature_vec fv;
	struct credit_grade g;
	struct credit_path p;
	customer(&fv, 40, 1, 24, 0, 123.45); /* 500 - 60 - 15 + 5 + 10 = 440: C */
	grade_and_path(&fv, 0, &g, &p);
	cr_assert_eq(g.points, 440);
	cr_assert_eq(g.grade, RULE_GRADE_C);
	cr_assert_eq(p.target, RULE_GRADE_B);
	cr_assert_eq(p.points_needed, 50);
	cr_assert(p.reachable);
	/* no single move gives 50: days past due to 14..36 (+30), then on to 1..14 (+20, enough
	 * and fewer than the 30 of the bin below 1): one step, the smallest payment */
	cr_assert_eq(p.n_steps, 1);
	expect_step(&p.steps[0], "DAYS_PAST_DUE", 40, 1, 14, 50,
	            "pay the oldest bills so that none is 14 days or more past due (now 40)");
}

Test(path, the_margin_asks_for_more_and_the_cheapest_move_that_suffices_comes_last)
{
	struct feature_vec fv;
	struct credit_grade g;
	struct credit_path p;
	customer(&fv, 40, 1, 24, 0, 123.45);
	grade_and_path(&fv, 5, &g, &p);
	cr_assert_eq(p.points_needed, 55);
	cr_assert(p.reachable);
	cr_assert_eq(p.n_steps, 2);
	/* +30, +20 (neither alone enough), then 5 short: the late-payment move (+15) is the
	 * smallest that gives it, not the last days-past-due one (+30) */
	expect_step(&p.steps[0], "DAYS_PAST_DUE", 40, 1, 14, 50,
	            "pay the oldest bills so that none is 14 days or more past due (now 40)");
	expect_step(&p.steps[1], "RECENT_LATE", 1, 3, 12, 15,
	            "2 more months without a late payment (now 1)");
}

Test(path, one_move_that_suffices_and_the_fewest_points_among_them)
{
	struct feature_vec fv;
	struct credit_grade g;
	struct credit_path p;
	customer(&fv, 0, 1, 3, 0, 0); /* 500 + 20 - 15 - 20 + 10 = 495: B */
	grade_and_path(&fv, 0, &g, &p);
	cr_assert_eq(g.grade, RULE_GRADE_B);
	cr_assert_eq(p.target, RULE_GRADE_A);
	cr_assert_eq(p.points_needed, 25);
	cr_assert_eq(p.n_steps, 1);
	expect_step(&p.steps[0], "TENURE", 3, 6, INFINITY, 25, "3 more months as a customer (now 3)");

	customer(&fv, 5, 20, 24, 0, 80); /* 500 - 10 + 10 + 5 + 10 = 515: B, 5 short of A */
	grade_and_path(&fv, 0, &g, &p);
	cr_assert_eq(p.n_steps, 1);
	expect_step(&p.steps[0], "DAYS_PAST_DUE", 5, -INFINITY, 1, 30, "pay the 80.00 past due");
}

Test(path, facts_and_missing_values_do_not_move_and_a_short_path_says_so)
{
	struct feature_vec fv;
	struct credit_grade g;
	struct credit_path p;
	customer(&fv, NAN, 1, 24, 1, 0); /* no bills yet: 500 + 0 - 15 + 5 - 25 = 465: C */
	feature_set(&fv, FEAT_CONFIRMED_THEFT, 1); /* -100: 365 */
	grade_and_path(&fv, 0, &g, &p);
	cr_assert_eq(g.points, 365);
	cr_assert_eq(p.points_needed, 125);
	cr_assert_not(p.reachable, "theft and a missing days past due cannot move");
	cr_assert_eq(p.n_steps, 2);
	expect_step(&p.steps[0], "REVERSALS_12M", 1, -INFINITY, 1, 35,
	            "no bounced payment within 12 months (now 1): no new one while the last ages out");
	expect_step(&p.steps[1], "RECENT_LATE", 1, 12, INFINITY, 25,
	            "11 more months without a late payment (now 1)");
}

Test(path, a_cap_worse_than_the_target_comes_first)
{
	struct feature_vec fv;
	struct credit_grade g;
	struct credit_path p;
	struct grade_limits limits;
	grade_limits_clear(&limits);
	limits.cap = RULE_GRADE_C;
	limits.cap_code = "recent_reversal";
	limits.cap_text = "A bounced payment in the last 90 days";
	customer(&fv, 0, 1, 3, 0, 0); /* 495: B by points, C by the cap */
	scorecard_grade(card, &fv, &limits, &g);
	cr_assert_eq(g.grade, RULE_GRADE_C);
	scorecard_better_grade_path(card, &fv, &g, &limits, 5, &p);
	cr_assert_eq(p.target, RULE_GRADE_B);
	cr_assert_eq(p.points_needed, 0, "the points already give B");
	cr_assert(p.reachable);
	cr_assert_eq(p.n_steps, 1);
	cr_assert(p.steps[0].is_rule);
	cr_assert_str_eq(p.steps[0].code, "recent_reversal");
	cr_assert_str_eq(p.steps[0].text, "the policy holds the grade at C while this lasts: A "
	                                  "bounced payment in the last 90 days");

	struct rbuf json = path_json(&p);
	cr_assert_str_eq(json.data,
	                 "{\"target_grade\":\"B\",\"points_needed\":0.00,\"reachable\":true,\"steps\":"
	                 "[{\"code\":\"recent_reversal\",\"rule\":true,\"feature\":null,\"value\":null,"
	                 "\"from\":null,\"to\":null,\"points_gained\":0.00,\"text\":\"the policy holds"
	                 " the grade at C while this lasts: A bounced payment in the last 90 days\"}]}");
	rbuf_free(&json);
}

Test(path, json_of_steps_and_of_the_best_grade)
{
	struct feature_vec fv;
	struct credit_grade g;
	struct credit_path p;
	customer(&fv, 0, 1, 3, 0, 0);
	grade_and_path(&fv, 0, &g, &p);
	struct rbuf json = path_json(&p);
	cr_assert_str_eq(json.data,
	                 "{\"target_grade\":\"A\",\"points_needed\":25.00,\"reachable\":true,\"steps\":"
	                 "[{\"code\":\"TENURE\",\"rule\":false,\"feature\":\"tenure_months\","
	                 "\"value\":3,\"from\":6,\"to\":null,\"points_gained\":25.00,"
	                 "\"text\":\"3 more months as a customer (now 3)\"}]}");
	rbuf_free(&json);

	customer(&fv, 0, 20, 24, 0, 0); /* 500 + 20 + 10 + 5 + 10 = 545: AA */
	grade_and_path(&fv, 0, &g, &p);
	cr_assert_eq(g.grade, RULE_GRADE_AA);
	cr_assert_eq(p.target, RULE_GRADE_AAA);
	cr_assert_not(p.reachable, "every characteristic is at its best bin");
	cr_assert_eq(p.n_steps, 0);

	/* AAA: nothing better */
	struct credit_grade best = g;
	best.grade = best.points_grade = RULE_GRADE_AAA;
	scorecard_better_grade_path(card, &fv, &best, NULL, 0, &p);
	cr_assert_eq(p.target, RULE_GRADE_NONE);
	struct rbuf none = path_json(&p);
	cr_assert_str_eq(none.data, "null");
	rbuf_free(&none);
}
