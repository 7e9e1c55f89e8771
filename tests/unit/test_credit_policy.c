/*
 * test_credit_policy.c - Criterion suite for the service policy by grade: the shipped
 * rules/credit.yaml's actions, a grade's row for every segment and the rows naming segments,
 * the exact diagnostics of a bad `actions` section (from the rule loader, as `riskctl rules
 * check` prints them, and from credit_policy_load_paths), one file of actions per policy, the
 * JSON written for the grade row and message, the actions and path the grader gives a grade,
 * and the policy's reversal cap through the grader (90 days, while reversals_12m counts the
 * reversal for 12 months).
 *
 * Runs from the repository root (make test-unit does).
 */
#include "config/riskd_base.h"
#include "detector/grader.h"
#include "tests/support/credit_fixture.h"
#include "rules/credit_policy_load.h"
#include "rules/ruleset.h"
#include "scoring/credit_policy.h"
#include "scoring/payments.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char head[] = "ruleset: p\nversion: \"1\"\nkind: credit\nrules: []\nactions:\n";

static const char good_rows[] =
    "  - {grade: AAA, deposit_multiple: 0, prepayment_required: false,"
    " payment_plan_eligible: true, reminder_days: 30, disconnection_notice_eligible: false}\n"
    "  - {grade: AA, deposit_multiple: 0, prepayment_required: false,"
    " payment_plan_eligible: true, reminder_days: 21, disconnection_notice_eligible: false}\n"
    "  - {grade: A, deposit_multiple: 0.5, prepayment_required: false,"
    " payment_plan_eligible: true, reminder_days: 14, disconnection_notice_eligible: false}\n"
    "  - {grade: B, deposit_multiple: 1, prepayment_required: false,"
    " payment_plan_eligible: true, reminder_days: 10, disconnection_notice_eligible: true}\n"
    "  - {grade: C, deposit_multiple: 2, prepayment_required: true,"
    " payment_plan_eligible: true, reminder_days: 7, disconnection_notice_eligible: true}\n";

/* Writes text into a new temporary directory's file name; returns the file's path. */
static char *write_temp(const char *name, const char *text)
{
	char dir[] = "/tmp/riskd-credit-policy-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	size_t n = strlen(dir) + strlen(name) + 2;
	char *path = malloc(n);
	snprintf(path, n, "%s/%s", dir, name);
	FILE *fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void remove_temp(char *path)
{
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	free(path);
}

/* The rule loader's rendered diagnostics for text (a credit file named p.yaml). */
static char *rule_check(const char *text)
{
	struct rules_diags diags = {0};
	struct ruleset *rs = NULL;
	int rc = ruleset_load_text("p.yaml", text, strlen(text), RULE_KIND_CREDIT, &rs, &diags);
	struct rbuf out = {0};
	rules_diags_render(&diags, &out);
	rbuf_append(&out, "", 1);
	cr_assert_eq(rc == 0, diags.count == 0, "%s", out.data);
	ruleset_free(rs);
	rules_diags_free(&diags);
	return out.data;
}

Test(credit_policy, shipped_policy_gives_every_grade_and_segment_its_actions)
{
	struct credit_policy policy;
	struct rules_diags diags = {0};
	const char *paths[] = {"rules"};
	cr_assert_eq(credit_policy_load_paths(paths, 1, &policy, &diags), 0);
	cr_assert_eq(diags.count, 0);
	for (int g = 0; g < RULE_GRADE__COUNT; g++)
		for (int s = 0; s < SEGMENT__COUNT; s++)
			cr_assert_not_null(credit_policy_actions(&policy, (enum rule_grade)g,
			                                         (enum segment)s));
	const struct credit_actions *a =
	    credit_policy_actions(&policy, RULE_GRADE_AAA, SEGMENT_RESIDENTIAL);
	cr_assert_eq(a->deposit_multiple, 0);
	cr_assert_eq(a->reminder_days, 30);
	cr_assert_not(a->disconnection_notice_eligible);
	/* C: the row for every segment, and the commercial/industrial row */
	a = credit_policy_actions(&policy, RULE_GRADE_C, SEGMENT_RESIDENTIAL);
	cr_assert_eq(a->deposit_multiple, 2);
	cr_assert(a->prepayment_required && a->payment_plan_eligible);
	cr_assert_eq(a->reminder_days, 7);
	cr_assert_eq(credit_policy_actions(&policy, RULE_GRADE_C, SEGMENT_UNKNOWN)->deposit_multiple,
	             2, "no profile yet: the row for every segment");
	a = credit_policy_actions(&policy, RULE_GRADE_C, SEGMENT_INDUSTRIAL);
	cr_assert_eq(a->deposit_multiple, 3);
	cr_assert_not(a->payment_plan_eligible);
	cr_assert_eq(a->reminder_days, 5);
	cr_assert_eq(credit_policy_actions(&policy, RULE_GRADE_B, SEGMENT_COMMERCIAL)->reminder_days,
	             7);
	cr_assert_eq(credit_policy_actions(&policy, RULE_GRADE_B, SEGMENT_AGRICULTURAL)->reminder_days,
	             10);
	cr_assert_null(credit_policy_actions(NULL, RULE_GRADE_B, SEGMENT_AGRICULTURAL));
	cr_assert_null(credit_policy_actions(&policy, RULE_GRADE_NONE, SEGMENT_AGRICULTURAL));
	rules_diags_free(&diags);
}

Test(credit_policy, a_file_without_actions_sets_none)
{
	char *path = write_temp("credit.yaml", "ruleset: p\nversion: \"1\"\nkind: credit\nrules: []\n");
	struct credit_policy policy;
	struct rules_diags diags = {0};
	const char *paths[] = {path};
	cr_assert_eq(credit_policy_load_paths(paths, 1, &policy, &diags), 0);
	cr_assert_null(credit_policy_actions(&policy, RULE_GRADE_C, SEGMENT_RESIDENTIAL));
	remove_temp(path);
	rules_diags_free(&diags);
}

Test(credit_policy, bad_actions_are_reported_with_line_and_column)
{
	struct rbuf text = {0};
	rbuf_puts(&text, head);
	rbuf_puts(&text,
	          "  - {grade: AAA, deposit_multiple: 0, prepayment_required: false,"
	          " payment_plan_eligible: true, reminder_days: 30, disconnection_notice_eligible: no}\n"
	          "  - grade: AAAA\n"
	          "    deposit_multiple: 30\n"
	          "    prepayment_required: false\n"
	          "    payment_plan_eligible: true\n"
	          "    reminder_day: 2\n"
	          "    disconnection_notice_eligible: false\n"
	          "  - {grade: B, segments: [comercial], deposit_multiple: 1, prepayment_required: false,"
	          " payment_plan_eligible: true, reminder_days: 2.5, disconnection_notice_eligible: true}\n"
	          "  - {grade: C, segments: [industrial, industrial], deposit_multiple: 1,"
	          " prepayment_required: false, payment_plan_eligible: true, reminder_days: 3,"
	          " disconnection_notice_eligible: true}\n");
	rbuf_append(&text, "", 1);
	char *got = rule_check(text.data);
	const char *want =
	    "p.yaml:6:3: error: no actions for grade AA: add a row with grade: AA and no segments "
	    "(it covers every segment no row names)\n"
	    "  - {grade: AAA, deposit_multiple: 0, prepayment_required: false, payment_plan_eligible: "
	    "true, reminder_days: 30, disconnection_notice_eligible: no}\n"
	    "  ^\n"
	    "p.yaml:6:3: error: no actions for grade A: add a row with grade: A and no segments "
	    "(it covers every segment no row names)\n";
	cr_assert(strncmp(got, want, strlen(want)) == 0, "got:\n%s", got);
	static const char *const reported[] = {
	    "p.yaml:7:12: error: unknown grade 'AAAA' (did you mean 'AAA'?)\n",
	    "p.yaml:8:23: error: 'deposit_multiple' must be between 0 and 24, got 30\n",
	    "p.yaml:11:5: error: unknown key 'reminder_day' in an action row (did you mean 'reminder_days'?)\n",
	    "p.yaml:7:5: error: missing required key 'reminder_days' in an action row\n",
	    "p.yaml:13:27: error: unknown segment 'comercial' (did you mean 'commercial'?)\n",
	    "p.yaml:13:132: error: 'reminder_days' must be a whole number of days, got 2.5\n",
	    "p.yaml:14:39: error: grade C already has actions for segment 'industrial' (line 14)\n",
	    "p.yaml:6:146: error: 'disconnection_notice_eligible' must be true or false, got 'no'\n",
	};
	for (size_t i = 0; i < sizeof reported / sizeof reported[0]; i++)
		cr_assert_not_null(strstr(got, reported[i]), "no %s in:\n%s", reported[i], got);
	cr_assert_null(strstr(got, "grade AAA:"), "AAA has its row, with an error in it");
	cr_assert_not_null(strstr(got, "error: no actions for grade C: "),
	                   "C has a row for industrial only: %s", got);
	free(got);
	rbuf_free(&text);
}

Test(credit_policy, a_grade_has_one_row_for_every_segment)
{
	struct rbuf text = {0};
	rbuf_puts(&text, head);
	rbuf_puts(&text, good_rows);
	rbuf_puts(&text, "  - {grade: B, deposit_multiple: 1, prepayment_required: false,"
	                 " payment_plan_eligible: true, reminder_days: 9, disconnection_notice_eligible: true}\n");
	rbuf_append(&text, "", 1);
	char *got = rule_check(text.data);
	cr_assert_str_eq(got,
	                 "p.yaml:11:5: error: grade B already has a row for every segment (line 9); "
	                 "name the segments a second row is for\n"
	                 "  - {grade: B, deposit_multiple: 1, prepayment_required: false, "
	                 "payment_plan_eligible: true, reminder_days: 9, disconnection_notice_eligible: true}\n"
	                 "    ^\n");
	free(got);
	rbuf_free(&text);
}

Test(credit_policy, actions_belong_in_credit_files_only)
{
	const char *theft = "ruleset: t\nversion: \"1\"\nkind: theft\nthresholds: {alert: 1}\n"
	                    "rules: []\nactions: []\n";
	struct rules_diags diags = {0};
	struct ruleset *rs = NULL;
	cr_assert_eq(ruleset_load_text("t.yaml", theft, strlen(theft), RULE_KIND_THEFT, &rs, &diags),
	             RISKD_ERR_INVALID);
	struct rbuf out = {0};
	rules_diags_render(&diags, &out);
	rbuf_append(&out, "", 1);
	cr_assert_not_null(strstr(out.data, "t.yaml:6:1: error: 'actions' is only allowed in credit "
	                                    "rule files (kind: credit)\n"), "%s", out.data);
	rbuf_free(&out);
	rules_diags_free(&diags);
}

Test(credit_policy, one_file_holds_the_actions)
{
	struct rbuf text = {0};
	rbuf_puts(&text, head);
	rbuf_puts(&text, good_rows);
	rbuf_append(&text, "", 1);
	char *first = write_temp("a.yaml", text.data);
	char *second = write_temp("b.yaml", text.data);
	const char *paths[] = {first, second};
	struct credit_policy policy;
	struct rules_diags diags = {0};
	cr_assert_eq(credit_policy_load_paths(paths, 1, &policy, &diags), 0);
	cr_assert_eq(credit_policy_actions(&policy, RULE_GRADE_A, SEGMENT_COMMERCIAL)->deposit_multiple,
	             0.5);
	cr_assert_eq(credit_policy_load_paths(paths, 2, &policy, &diags), RISKD_ERR_INVALID);
	cr_assert_null(credit_policy_actions(&policy, RULE_GRADE_A, SEGMENT_COMMERCIAL),
	               "nothing on an error");
	struct rbuf out = {0};
	rules_diags_render(&diags, &out);
	rbuf_append(&out, "", 1);
	cr_assert_not_null(strstr(out.data, "b.yaml:5:1: error: actions are already given in "),
	                   "%s", out.data);
	rbuf_free(&out);
	rules_diags_free(&diags);
	remove_temp(first);
	remove_temp(second);
	rbuf_free(&text);
}

Test(credit_policy, actions_as_json)
{
	struct credit_actions a = {1.5, 0, 1, 7, 1};
	struct rbuf out = {0};
	credit_actions_json(&a, &out);
	rbuf_puts(&out, " ");
	credit_actions_json(NULL, &out);
	rbuf_append(&out, "", 1);
	cr_assert_str_eq(out.data, "{\"deposit_multiple\":1.50,\"prepayment_required\":false,"
	                           "\"payment_plan_eligible\":true,\"reminder_days\":7,"
	                           "\"disconnection_notice_eligible\":true} null");
	rbuf_free(&out);
}

Test(credit_policy, grades_carry_the_actions_of_their_grade_and_segment_and_a_path)
{
	struct grader *g = fixture_shipped_grader(5);
	struct credit_policy policy;
	struct rules_diags diags = {0};
	const char *paths[] = {"rules"};
	cr_assert_eq(credit_policy_load_paths(paths, 1, &policy, &diags), 0);

	static const enum segment segs[] = {SEGMENT_RESIDENTIAL, SEGMENT_INDUSTRIAL};
	for (size_t i = 0; i < 2; i++) {
		struct cstate cs;
		struct grader_result r;
		int32_t due = 20400 + 30 * 12 + 20;
		fixture_paying_customer(&cs, segs[i], 12);
		payments_bill(&cs.pay, "late", 4, 300, due, due - 20);
		cr_assert_eq(grader_grade(g, &cs, due + 100, &r), 1);
		cr_assert_eq(r.grade.grade, RULE_GRADE_C, "100 days past due: C");
		cr_assert_not_null(r.actions);
		cr_assert_eq(memcmp(r.actions, credit_policy_actions(&policy, RULE_GRADE_C, segs[i]),
		                    sizeof *r.actions), 0);
		cr_assert_eq(r.actions->deposit_multiple, segs[i] == SEGMENT_INDUSTRIAL ? 3 : 2);
		cr_assert(r.changed);
		cr_assert_eq(r.path.target, RULE_GRADE_B);
		cr_assert(r.path.n_steps >= 1);
		cr_assert(r.path.steps[0].is_rule, "seriously_past_due caps at C: its rule comes first");
		cr_assert_str_eq(r.path.steps[0].code, "seriously_past_due");

		/* paid: the first grading after it is better, with its grade's actions */
		payments_payment(&cs.pay, 300, "late", 4, due + 101);
		cr_assert_eq(grader_grade(g, &cs, due + 101, &r), 1);
		cr_assert_lt(r.grade.grade, RULE_GRADE_C);
		cr_assert_eq(memcmp(r.actions, credit_policy_actions(&policy, r.grade.grade, segs[i]),
		                    sizeof *r.actions), 0);
	}
	grader_free(g);
	rules_diags_free(&diags);
}

/* The 90-day window of rules/credit.yaml recent_reversal, through the payment state, the rules
 * and the cards (reversals_12m still counts the reversal for 12 months). */
Test(credit_policy, a_reversal_caps_at_b_for_90_days_and_counts_for_12_months)
{
	struct grader *g = fixture_shipped_grader(5);
	struct cstate cs;
	fixture_paying_customer(&cs, SEGMENT_RESIDENTIAL, 12);
	int32_t bounced = 20400 + 30 * 11 + 12;
	payments_reversal(&cs.pay, 5.0, bounced); /* a small one: the debt is paid again at once */
	payments_payment(&cs.pay, 5.0, NULL, 0, bounced);

	struct feature_vec fv;
	struct grade_limits limits;
	static const struct {
		int days_after;
		int capped;
	} cases[] = {{0, 1}, {30, 1}, {89, 1}, {90, 0}, {120, 0}, {150, 0}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int32_t today = bounced + cases[i].days_after;
		feature_vec_clear(&fv);
		payments_features(&cs, today, &fv);
		cr_assert_eq(fv.value[FEAT_REVERSALS_12M], 1, "day %d: counted for 12 months",
		             cases[i].days_after);
		cr_assert_eq(fv.value[FEAT_DAYS_SINCE_REVERSAL], cases[i].days_after);
		grader_limits(grader_rules(g), &fv, &limits);
		if (cases[i].capped) {
			cr_assert_eq(limits.cap, RULE_GRADE_B, "day %d", cases[i].days_after);
			cr_assert_str_eq(limits.cap_code, "recent_reversal");
		} else
			cr_assert_eq(limits.cap, RULE_GRADE_NONE, "day %d: cap %d by %s",
			             cases[i].days_after, limits.cap,
			             limits.cap_code ? limits.cap_code : "-");
	}

	/* the grade itself: at most B on day 89, the points grade from day 90 */
	struct grader_result r;
	cr_assert_eq(grader_grade(g, &cs, bounced + 89, &r), 1);
	cr_assert_geq(r.grade.grade, RULE_GRADE_B, "day 89: %s", credit_grade_name(r.grade.grade));
	cr_assert_eq(grader_grade(g, &cs, bounced + 90, &r), 1);
	cr_assert_not(r.grade.capped, "day 90: %s capped", credit_grade_name(r.grade.grade));
	cr_assert_eq(r.grade.grade, r.grade.points_grade);
	grader_free(g);
}
