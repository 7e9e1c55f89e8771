/*
 * test_grader_policy.c - the shipped credit policy as the grader applies it, through the
 * payment state, the credit rules and the cards: a bounced payment caps the grade at B for 90
 * days (rules/credit.yaml recent_reversal), not for the 12 months it counts in reversals_12m.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "detector/grader.h"
#include "scoring/features.h"
#include "scoring/payments.h"

/* A residential customer of five years with a year of bills paid on time, as of day 20760. */
static void good_payer(struct cstate *cs)
{
	memset(cs, 0, sizeof(*cs));
	snprintf(cs->id, sizeof(cs->id), "C1");
	cs->segment = SEGMENT_RESIDENTIAL;
	payments_start(&cs->pay, 20400 - 5 * 365);
	for (int m = 0; m < 12; m++) {
		int32_t issued = 20400 + 30 * m;
		char id[16];
		snprintf(id, sizeof(id), "B%d", m);
		payments_bill(&cs->pay, id, strlen(id), 80, issued + 20, issued);
		payments_payment(&cs->pay, 80, id, strlen(id), issued + 10);
	}
}

Test(grader_policy, a_reversal_caps_at_b_for_90_days_and_counts_for_12_months)
{
	struct rbuf diag = {0};
	struct grader *g = grader_new("rules", "scoring/cards", 5, &diag);
	rbuf_append(&diag, "", 1);
	cr_assert_not_null(g, "%s", diag.data);
	struct cstate cs;
	good_payer(&cs);
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
	rbuf_free(&diag);
}
