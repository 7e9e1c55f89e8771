/*
 * test_payments.c - Criterion suite for scoring/payments.c: payment-feature arithmetic on
 * hand-built histories (on time, late, partial payments applied oldest bill first, payments
 * naming a bill, payments before bills, reversals, more open bills than the state keeps),
 * the 12-month windows, tenure, which features are missing when, the state's size, and the
 * event-level wrappers riskd calls.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "../../scoring/cstate.h"
#include "../../scoring/payments.h"
#include "../../streams/event.h"

#define EPS 1e-9

/* Local day of a date "YYYY-MM-DD". */
static int32_t D(const char *date)
{
	int32_t day;
	cr_assert_eq(event_parse_date(date, strlen(date), &day), 0, "bad date %s", date);
	return day;
}

static void bill(struct pay_state *ps, const char *id, double amount, const char *issued,
                 const char *due)
{
	payments_bill(ps, id, id ? strlen(id) : 0, amount, D(due), D(issued));
}

static void pay(struct pay_state *ps, const char *id, double amount, const char *date)
{
	payments_payment(ps, amount, id, id ? strlen(id) : 0, D(date));
}

/* The payment features of a customer whose payment state is ps. */
static void features(const struct pay_state *ps, const char *today, struct feature_vec *fv)
{
	static struct cstate cs;
	memset(&cs, 0, sizeof cs);
	cs.pay = *ps;
	feature_vec_clear(fv);
	payments_features(&cs, D(today), fv);
}

static double get(const struct feature_vec *fv, enum feature_id id)
{
	cr_assert(feature_known(fv, id), "feature %s should be known", feature_def(id)->name);
	return fv->value[id];
}

static void expect(const struct feature_vec *fv, enum feature_id id, double want)
{
	double got = get(fv, id);
	cr_assert(fabs(got - want) < 1e-6, "%s: got %.6f, want %.6f", feature_def(id)->name, got,
	          want);
}

static void expect_missing(const struct feature_vec *fv, enum feature_id id)
{
	cr_assert(!feature_known(fv, id), "feature %s should be missing (is %g)",
	          feature_def(id)->name, fv->value[id]);
}

Test(payments, state_fits_the_budget)
{
	cr_log_info("sizeof(struct pay_state) = %zu, sizeof(struct cstate) = %zu",
	            sizeof(struct pay_state), sizeof(struct cstate));
	cr_assert_eq(sizeof(struct pay_state), 76);
	cr_assert_leq(sizeof(struct cstate), 632); /* with the open day's coverage: scoring/cstate.h */
#define M(f) {offsetof(struct pay_state, f), sizeof(((struct pay_state *)0)->f)}
	static const struct {
		size_t offset, size;
	} members[] = {
		M(open_cents), M(carry_cents), M(avg_bill), M(open_due), M(open_id), M(older_due),
		M(head_month), M(start_day), M(last_late_day), M(last_paid_due), M(last_payment_day),
		M(month_log), M(month_dpd), M(older_rev), M(flags), M(graded_day),
	};
#undef M
	size_t end = 0;
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		cr_assert_eq(members[i].offset, end, "padding before member %zu", i);
		end += members[i].size;
	}
	cr_assert_eq(offsetof(struct pay_state, graded_day), PAY_STATE_V8_SIZE,
	             "graded_day follows the layout older snapshots had");
	cr_assert_eq(end + 2, sizeof(struct pay_state),
	             "no padding but 2 bytes at the end: the bytes are persisted, zeroed");
}

Test(payments, nothing_known_before_billing)
{
	struct pay_state ps = {0};
	struct feature_vec fv;
	features(&ps, "2026-03-01", &fv);
	for (int id = FEAT_DAYS_PAST_DUE; id <= FEAT_BILLS_12M; id++)
		expect_missing(&fv, (enum feature_id)id);
	expect(&fv, FEAT_CONFIRMED_THEFT, 0);

	payments_start(&ps, D("2024-03-01"));
	features(&ps, "2026-03-01", &fv);
	expect(&fv, FEAT_TENURE_MONTHS, 24);
	expect_missing(&fv, FEAT_DAYS_PAST_DUE);
	expect_missing(&fv, FEAT_BILLS_12M);
}

Test(payments, paid_on_time)
{
	struct pay_state ps = {0};
	struct feature_vec fv;
	bill(&ps, "B1", 100.00, "2026-01-05", "2026-01-20");

	features(&ps, "2026-01-10", &fv); /* open, not yet due */
	expect(&fv, FEAT_DAYS_PAST_DUE, 0);
	expect(&fv, FEAT_ARREARS_AMOUNT, 0);
	expect(&fv, FEAT_BILLS_12M, 1);
	expect_missing(&fv, FEAT_ON_TIME_SHARE_12M); /* the only bill is not decided yet */
	cr_assert_float_eq(payments_balance_owed(&ps), 100.0, EPS);

	pay(&ps, "B1", 100.00, "2026-01-20"); /* on the due date is on time */
	features(&ps, "2026-02-01", &fv);
	expect(&fv, FEAT_DAYS_PAST_DUE, 0);
	expect(&fv, FEAT_MAX_DAYS_PAST_DUE_12M, 0);
	expect(&fv, FEAT_LATE_PAYMENTS_12M, 0);
	expect(&fv, FEAT_ON_TIME_SHARE_12M, 1);
	expect(&fv, FEAT_ARREARS_AMOUNT, 0);
	expect(&fv, FEAT_ARREARS_RATIO, 0);
	expect(&fv, FEAT_REVERSALS_12M, 0);
	expect(&fv, FEAT_BILLS_12M, 1);
	expect_missing(&fv, FEAT_MONTHS_SINCE_LAST_LATE);
	expect(&fv, FEAT_TENURE_MONTHS, 0); /* from the first bill: no profile */
	cr_assert_eq(payments_last_payment_day(&ps), D("2026-01-20"));
	cr_assert_float_eq(payments_balance_owed(&ps), 0.0, EPS);
}

Test(payments, paid_late)
{
	struct pay_state ps = {0};
	struct feature_vec fv;
	bill(&ps, "B1", 60.00, "2026-01-05", "2026-01-20");

	features(&ps, "2026-02-14", &fv);
	expect(&fv, FEAT_DAYS_PAST_DUE, 25);
	expect(&fv, FEAT_MAX_DAYS_PAST_DUE_12M, 25); /* reached now */
	expect(&fv, FEAT_ARREARS_AMOUNT, 60);
	expect(&fv, FEAT_ARREARS_RATIO, 1);
	expect(&fv, FEAT_ON_TIME_SHARE_12M, 0);
	expect(&fv, FEAT_LATE_PAYMENTS_12M, 0); /* not paid yet */

	pay(&ps, "B1", 60.00, "2026-02-19");
	features(&ps, "2026-04-25", &fv);
	expect(&fv, FEAT_DAYS_PAST_DUE, 0);
	expect(&fv, FEAT_MAX_DAYS_PAST_DUE_12M, 30);
	expect(&fv, FEAT_LATE_PAYMENTS_12M, 1);
	expect(&fv, FEAT_ON_TIME_SHARE_12M, 0);
	expect(&fv, FEAT_ARREARS_AMOUNT, 0);
	expect(&fv, FEAT_MONTHS_SINCE_LAST_LATE, 2); /* 65 days */
}

Test(payments, partial_payments_go_to_the_oldest_bill)
{
	struct pay_state ps = {0};
	struct feature_vec fv;
	bill(&ps, "B1", 100.00, "2026-01-05", "2026-01-20");
	bill(&ps, "B2", 80.00, "2026-02-05", "2026-02-20");

	/* 50 naming B2 does not cover B2: it pays B1 (the oldest) instead. */
	pay(&ps, "B2", 50.00, "2026-02-10");
	features(&ps, "2026-02-25", &fv);
	expect(&fv, FEAT_DAYS_PAST_DUE, 36); /* B1, due 01-20, still 50 open */
	expect(&fv, FEAT_ARREARS_AMOUNT, 130);

	/* A payment without bill id: oldest first, closing B1 late and 30 of B2. */
	pay(&ps, NULL, 80.00, "2026-02-26");
	features(&ps, "2026-02-27", &fv);
	expect(&fv, FEAT_DAYS_PAST_DUE, 7); /* now B2 is the oldest open bill */
	expect(&fv, FEAT_ARREARS_AMOUNT, 50);
	expect(&fv, FEAT_LATE_PAYMENTS_12M, 1);
	expect(&fv, FEAT_MAX_DAYS_PAST_DUE_12M, 37);
	cr_assert_float_eq(payments_balance_owed(&ps), 50.0, EPS);

	pay(&ps, "B2", 50.00, "2026-03-01");
	features(&ps, "2026-03-02", &fv);
	expect(&fv, FEAT_DAYS_PAST_DUE, 0);
	expect(&fv, FEAT_LATE_PAYMENTS_12M, 2);
	expect(&fv, FEAT_ON_TIME_SHARE_12M, 0);
	expect(&fv, FEAT_MAX_DAYS_PAST_DUE_12M, 37);
}

Test(payments, full_payment_naming_a_bill_pays_that_bill)
{
	struct pay_state ps = {0};
	struct feature_vec fv;
	bill(&ps, "B1", 100.00, "2026-01-05", "2026-01-20");
	bill(&ps, "B2", 80.00, "2026-02-05", "2026-02-20");

	/* 120 naming B2 pays all of B2 first, then 40 of B1. */
	pay(&ps, "B2", 120.00, "2026-02-15");
	features(&ps, "2026-02-16", &fv);
	expect(&fv, FEAT_DAYS_PAST_DUE, 27); /* B1 still open */
	expect(&fv, FEAT_ARREARS_AMOUNT, 60);
	expect(&fv, FEAT_ON_TIME_SHARE_12M, 0.5); /* B1 past due unpaid, B2 paid on time */

	/* A payment naming an unknown bill goes to the oldest debt too. */
	pay(&ps, "B9", 60.00, "2026-03-02");
	features(&ps, "2026-03-03", &fv);
	expect(&fv, FEAT_DAYS_PAST_DUE, 0);
	expect(&fv, FEAT_LATE_PAYMENTS_12M, 1);
	expect(&fv, FEAT_MAX_DAYS_PAST_DUE_12M, 41);
	cr_assert_float_eq(payments_balance_owed(&ps), 0.0, EPS);
	cr_assert_float_eq(payments_credit(&ps), 0.0, EPS);
}

Test(payments, payments_before_bills_become_credit)
{
	struct pay_state ps = {0};
	struct feature_vec fv;
	pay(&ps, NULL, 150.00, "2026-01-02");
	cr_assert_float_eq(payments_credit(&ps), 150.0, EPS);
	features(&ps, "2026-01-03", &fv);
	expect(&fv, FEAT_BILLS_12M, 0);
	expect(&fv, FEAT_DAYS_PAST_DUE, 0);
	expect_missing(&fv, FEAT_ON_TIME_SHARE_12M);
	expect_missing(&fv, FEAT_ARREARS_RATIO); /* no bill: no average */

	bill(&ps, "B1", 100.00, "2026-01-05", "2026-01-20"); /* paid from credit at once */
	cr_assert_float_eq(payments_credit(&ps), 50.0, EPS);
	bill(&ps, "B2", 80.00, "2026-02-05", "2026-02-20"); /* 50 from credit, 30 open */
	cr_assert_float_eq(payments_credit(&ps), 0.0, EPS);
	cr_assert_float_eq(payments_balance_owed(&ps), 30.0, EPS);

	features(&ps, "2026-03-02", &fv);
	expect(&fv, FEAT_DAYS_PAST_DUE, 10);
	expect(&fv, FEAT_ARREARS_AMOUNT, 30);
	expect(&fv, FEAT_ARREARS_RATIO, 30.0 / 90.0); /* average of 100 and 80 */
	expect(&fv, FEAT_ON_TIME_SHARE_12M, 0.5);
	expect(&fv, FEAT_BILLS_12M, 2);
}

Test(payments, overpayment_then_more_bills)
{
	struct pay_state ps = {0};
	struct feature_vec fv;
	bill(&ps, "B1", 40.00, "2026-01-05", "2026-01-20");
	pay(&ps, "B1", 100.00, "2026-01-10"); /* 60 credit */
	bill(&ps, "B2", 40.00, "2026-02-05", "2026-02-20");
	bill(&ps, "B3", 40.00, "2026-03-05", "2026-03-20");
	features(&ps, "2026-04-01", &fv);
	expect(&fv, FEAT_DAYS_PAST_DUE, 12); /* B3: 20 of its 40 open */
	expect(&fv, FEAT_ARREARS_AMOUNT, 20);
	expect(&fv, FEAT_ON_TIME_SHARE_12M, 2.0 / 3.0);
}

Test(payments, reversal_reopens_the_bill)
{
	struct pay_state ps = {0};
	struct feature_vec fv;
	bill(&ps, "B1", 100.00, "2026-01-05", "2026-01-20");
	pay(&ps, "B1", 100.00, "2026-01-08");
	features(&ps, "2026-01-31", &fv);
	expect(&fv, FEAT_ON_TIME_SHARE_12M, 1);

	payments_reversal(&ps, 100.00, D("2026-01-25")); /* bounced after the due date */
	features(&ps, "2026-01-31", &fv);
	expect(&fv, FEAT_REVERSALS_12M, 1);
	expect(&fv, FEAT_DAYS_PAST_DUE, 11); /* from B1's due date again */
	expect(&fv, FEAT_ARREARS_AMOUNT, 100);
	expect(&fv, FEAT_ON_TIME_SHARE_12M, 0); /* no longer paid on time */

	pay(&ps, NULL, 100.00, "2026-02-03");
	features(&ps, "2026-02-04", &fv);
	expect(&fv, FEAT_DAYS_PAST_DUE, 0);
	expect(&fv, FEAT_LATE_PAYMENTS_12M, 1);
	expect(&fv, FEAT_MAX_DAYS_PAST_DUE_12M, 14);
	expect(&fv, FEAT_REVERSALS_12M, 1);
	expect(&fv, FEAT_MONTHS_SINCE_LAST_LATE, 0);
}

Test(payments, days_since_the_newest_reversal)
{
	struct pay_state ps = {0};
	struct feature_vec fv;
	bill(&ps, "B1", 100.00, "2025-12-05", "2025-12-20");
	features(&ps, "2026-01-10", &fv);
	expect_missing(&fv, FEAT_DAYS_SINCE_REVERSAL); /* none yet */
	payments_reversal(&ps, 10.00, D("2026-01-25"));
	features(&ps, "2026-01-25", &fv);
	expect(&fv, FEAT_DAYS_SINCE_REVERSAL, 0);
	features(&ps, "2026-04-24", &fv);
	expect(&fv, FEAT_DAYS_SINCE_REVERSAL, 89); /* the 90th day after it */
	features(&ps, "2026-04-25", &fv);
	expect(&fv, FEAT_DAYS_SINCE_REVERSAL, 90);
	/* An earlier day of the same month, then an older month: the newest one counts. */
	payments_reversal(&ps, 10.00, D("2026-01-03"));
	payments_reversal(&ps, 10.00, D("2025-12-30"));
	features(&ps, "2026-02-01", &fv);
	expect(&fv, FEAT_DAYS_SINCE_REVERSAL, 7);
	expect(&fv, FEAT_REVERSALS_12M, 3);
	/* A newer month's reversal takes over; a reversal more than 12 months back is gone. */
	payments_reversal(&ps, 10.00, D("2026-03-02"));
	features(&ps, "2026-03-31", &fv);
	expect(&fv, FEAT_DAYS_SINCE_REVERSAL, 29);
	features(&ps, "2027-02-28", &fv);
	expect(&fv, FEAT_DAYS_SINCE_REVERSAL, 363);
	features(&ps, "2027-03-01", &fv);
	expect_missing(&fv, FEAT_DAYS_SINCE_REVERSAL); /* March 2026 left the window */
	/* Older bills still count as before beside the day kept in the same byte. */
	struct pay_state older = {0};
	for (int k = 0; k < 6; k++) {
		char issued[32], due[32];
		snprintf(issued, sizeof issued, "2026-0%d-01", k + 1);
		snprintf(due, sizeof due, "2026-0%d-15", k + 1);
		bill(&older, NULL, 50.00, issued, due);
	}
	payments_reversal(&older, 5.00, D("2026-06-20"));
	pay(&older, NULL, 305.00, "2026-06-28");
	features(&older, "2026-06-30", &fv);
	expect(&fv, FEAT_LATE_PAYMENTS_12M, 3); /* June's count saturates, as it did */
	expect(&fv, FEAT_DAYS_PAST_DUE, 0);
	expect(&fv, FEAT_DAYS_SINCE_REVERSAL, 10);
}

Test(payments, reversal_before_the_due_date_is_not_yet_late)
{
	struct pay_state ps = {0};
	struct feature_vec fv;
	bill(&ps, "B1", 100.00, "2026-01-05", "2026-01-20");
	pay(&ps, "B1", 100.00, "2026-01-06");
	payments_reversal(&ps, 100.00, D("2026-01-09"));
	features(&ps, "2026-01-15", &fv);
	expect(&fv, FEAT_DAYS_PAST_DUE, 0);
	expect(&fv, FEAT_ARREARS_AMOUNT, 0); /* owed, not past due */
	cr_assert_float_eq(payments_balance_owed(&ps), 100.0, EPS);
	pay(&ps, "B1", 100.00, "2026-01-12"); /* paid again in time */
	features(&ps, "2026-02-01", &fv);
	expect(&fv, FEAT_ON_TIME_SHARE_12M, 1);
	expect(&fv, FEAT_LATE_PAYMENTS_12M, 0);
	expect(&fv, FEAT_REVERSALS_12M, 1);
}

Test(payments, reversal_cancels_credit_first)
{
	struct pay_state ps = {0};
	struct feature_vec fv;
	bill(&ps, "B1", 50.00, "2026-01-05", "2026-01-20");
	pay(&ps, "B1", 50.00, "2026-01-06");
	pay(&ps, NULL, 70.00, "2026-01-07"); /* 70 credit */
	payments_reversal(&ps, 70.00, D("2026-01-10"));
	cr_assert_float_eq(payments_credit(&ps), 0.0, EPS);
	cr_assert_float_eq(payments_balance_owed(&ps), 0.0, EPS);
	features(&ps, "2026-02-01", &fv);
	expect(&fv, FEAT_ON_TIME_SHARE_12M, 1); /* B1 stays paid on time */
	expect(&fv, FEAT_REVERSALS_12M, 1);

	payments_reversal(&ps, 50.00, D("2026-02-02")); /* now B1's payment bounces */
	features(&ps, "2026-02-03", &fv);
	expect(&fv, FEAT_DAYS_PAST_DUE, 14);
	expect(&fv, FEAT_REVERSALS_12M, 2);
	expect(&fv, FEAT_ON_TIME_SHARE_12M, 0);
}

Test(payments, more_open_bills_than_kept)
{
	struct pay_state ps = {0};
	struct feature_vec fv;
	/* Five unpaid monthly bills of 30: the oldest two merge into the older debt. */
	bill(&ps, "B1", 30.00, "2026-01-05", "2026-01-20");
	bill(&ps, "B2", 30.00, "2026-02-05", "2026-02-20");
	bill(&ps, "B3", 30.00, "2026-03-05", "2026-03-20");
	bill(&ps, "B4", 30.00, "2026-04-05", "2026-04-20");
	bill(&ps, "B5", 30.00, "2026-05-05", "2026-05-20");
	features(&ps, "2026-05-25", &fv);
	expect(&fv, FEAT_DAYS_PAST_DUE, 125); /* from B1 */
	expect(&fv, FEAT_MAX_DAYS_PAST_DUE_12M, 125);
	expect(&fv, FEAT_ARREARS_AMOUNT, 150);
	expect(&fv, FEAT_ARREARS_RATIO, 5);
	expect(&fv, FEAT_ON_TIME_SHARE_12M, 0);
	expect(&fv, FEAT_BILLS_12M, 5);

	/* 60 without id pays the older debt (B1 and B2, merged): two late payoffs. */
	pay(&ps, NULL, 60.00, "2026-05-26");
	features(&ps, "2026-05-27", &fv);
	expect(&fv, FEAT_DAYS_PAST_DUE, 68); /* B3 */
	expect(&fv, FEAT_LATE_PAYMENTS_12M, 2);
	expect(&fv, FEAT_MAX_DAYS_PAST_DUE_12M, 126);
	expect(&fv, FEAT_ARREARS_AMOUNT, 90);

	/* B5 paid by name (8 days late); B3 and B4 stay open. */
	pay(&ps, "B5", 30.00, "2026-05-28");
	features(&ps, "2026-06-01", &fv);
	expect(&fv, FEAT_DAYS_PAST_DUE, 73);
	expect(&fv, FEAT_LATE_PAYMENTS_12M, 3);
	expect(&fv, FEAT_ARREARS_AMOUNT, 60);
	expect(&fv, FEAT_ON_TIME_SHARE_12M, 0);

	/* B6 paid by name before its due date: one on time of six decided. */
	bill(&ps, "B6", 30.00, "2026-06-05", "2026-06-20");
	pay(&ps, "B6", 30.00, "2026-06-06");
	features(&ps, "2026-06-21", &fv);
	expect(&fv, FEAT_ON_TIME_SHARE_12M, 1.0 / 6.0);
	expect(&fv, FEAT_DAYS_PAST_DUE, 93);
}

Test(payments, windows_are_twelve_calendar_months)
{
	struct pay_state ps = {0};
	struct feature_vec fv;
	payments_start(&ps, D("2020-06-15"));
	/* 2025-01: paid 40 days late; then every bill on time through 2026-01. */
	bill(&ps, "B0", 50.00, "2025-01-05", "2025-01-20");
	pay(&ps, "B0", 50.00, "2025-03-01");
	payments_reversal(&ps, 10.00, D("2025-03-02")); /* 10 reopened ... */
	pay(&ps, NULL, 10.00, "2025-03-03");             /* ... and repaid */
	char issued[32], due[32], paid[32], id[16];
	for (int m = 2; m <= 13; m++) {
		int y = m <= 12 ? 2025 : 2026, mm = m <= 12 ? m : m - 12;
		snprintf(issued, sizeof issued, "%d-%02d-05", y, mm);
		snprintf(due, sizeof due, "%d-%02d-20", y, mm);
		snprintf(paid, sizeof paid, "%d-%02d-10", y, mm);
		snprintf(id, sizeof id, "B%d", m);
		bill(&ps, id, 50.00, issued, due);
		pay(&ps, id, 50.00, paid);
	}
	features(&ps, "2026-01-31", &fv); /* window: 2025-02 .. 2026-01 */
	expect(&fv, FEAT_TENURE_MONTHS, 67);
	expect(&fv, FEAT_BILLS_12M, 12);
	expect(&fv, FEAT_ON_TIME_SHARE_12M, 1);
	expect(&fv, FEAT_LATE_PAYMENTS_12M, 2); /* March 2025: B0 and the reopened 10 */
	expect(&fv, FEAT_MAX_DAYS_PAST_DUE_12M, 42);
	expect(&fv, FEAT_REVERSALS_12M, 1);
	expect(&fv, FEAT_MONTHS_SINCE_LAST_LATE, 10);

	features(&ps, "2026-03-31", &fv); /* window: 2025-04 .. 2026-03 */
	expect(&fv, FEAT_BILLS_12M, 10);
	expect(&fv, FEAT_LATE_PAYMENTS_12M, 0);
	expect(&fv, FEAT_MAX_DAYS_PAST_DUE_12M, 0);
	expect(&fv, FEAT_REVERSALS_12M, 0);
	expect(&fv, FEAT_MONTHS_SINCE_LAST_LATE, 12);
	expect(&fv, FEAT_ARREARS_RATIO, 0);
}

Test(payments, bill_issued_for_next_month_counts)
{
	struct pay_state ps = {0};
	struct feature_vec fv;
	bill(&ps, "B1", 70.00, "2026-01-25", "2026-02-09");
	features(&ps, "2026-01-26", &fv);
	expect(&fv, FEAT_BILLS_12M, 1); /* issued, due next month */
	expect_missing(&fv, FEAT_ON_TIME_SHARE_12M);
	pay(&ps, "B1", 70.00, "2026-01-27");
	features(&ps, "2026-01-28", &fv);
	expect(&fv, FEAT_BILLS_12M, 1);
	expect_missing(&fv, FEAT_ON_TIME_SHARE_12M); /* due in February: not in the window yet */
	features(&ps, "2026-02-10", &fv);
	expect(&fv, FEAT_ON_TIME_SHARE_12M, 1);
}

Test(payments, month_counts_saturate)
{
	struct pay_state ps = {0};
	struct feature_vec fv;
	bill(&ps, "B1", 10.00, "2026-01-05", "2026-01-20");
	for (int i = 0; i < 5; i++) {
		pay(&ps, "B1", 10.00, "2026-01-06");
		payments_reversal(&ps, 10.00, D("2026-01-07"));
	}
	features(&ps, "2026-01-08", &fv);
	expect(&fv, FEAT_REVERSALS_12M, PAY_MONTH_COUNT_CAP);
	cr_assert_float_eq(payments_balance_owed(&ps), 10.0, EPS);
}

Test(payments, tenure_prefers_the_profile)
{
	struct pay_state ps = {0};
	struct feature_vec fv;
	bill(&ps, "B1", 10.00, "2026-01-05", "2026-01-20");
	features(&ps, "2026-07-05", &fv);
	expect(&fv, FEAT_TENURE_MONTHS, 6); /* from the first bill */
	features(&ps, "2026-07-04", &fv);
	expect(&fv, FEAT_TENURE_MONTHS, 5);
	payments_start(&ps, D("2016-01-05"));
	features(&ps, "2026-07-05", &fv);
	expect(&fv, FEAT_TENURE_MONTHS, 126);
	payments_start(&ps, D("1960-01-01")); /* before 1970: clamped, still long */
	features(&ps, "2026-07-05", &fv);
	cr_assert_geq(get(&fv, FEAT_TENURE_MONTHS), 600);
}

Test(payments, amounts_round_to_the_cent)
{
	struct pay_state ps = {0};
	bill(&ps, "B1", 0.1 + 0.2, "2026-01-05", "2026-01-20"); /* 0.30000000000000004 */
	pay(&ps, "B1", 0.3, "2026-01-06");
	cr_assert_float_eq(payments_balance_owed(&ps), 0.0, EPS);
	cr_assert_float_eq(payments_credit(&ps), 0.0, EPS);
	bill(&ps, "B2", 0.0, "2026-02-05", "2026-02-20"); /* nothing to pay: on time */
	struct feature_vec fv;
	features(&ps, "2026-03-01", &fv);
	expect(&fv, FEAT_ON_TIME_SHARE_12M, 1);
	expect(&fv, FEAT_BILLS_12M, 2);
}

Test(payments, confirmed_theft_and_event_wrappers)
{
	struct cstate cs;
	struct event ev;
	struct feature_vec fv;
	memset(&cs, 0, sizeof cs);

	memset(&ev, 0, sizeof ev);
	ev.type = EVENT_CUSTOMER;
	ev.has = EVENT_HAS_SINCE;
	ev.u.customer.since = D("2025-01-10");
	payments_on_profile(&cs, &ev);

	memset(&ev, 0, sizeof ev);
	ev.type = EVENT_BILL;
	strcpy(ev.u.bill.bill_id, "B-7");
	ev.u.bill.amount = 42.5;
	ev.u.bill.due_date = D("2026-01-20");
	payments_on_bill(&cs, &ev, D("2026-01-05"));

	memset(&ev, 0, sizeof ev);
	ev.type = EVENT_PAYMENT;
	ev.u.payment.amount = 42.5;
	strcpy(ev.u.payment.bill_id, "B-7"); /* present but not flagged: treated as no bill id */
	payments_on_payment(&cs, &ev, D("2026-01-30"));

	memset(&ev, 0, sizeof ev);
	ev.type = EVENT_PAYMENT_REVERSAL;
	ev.u.reversal.amount = 42.5;
	payments_on_reversal(&cs, &ev, D("2026-02-02"));

	payments_set_confirmed_theft(&cs, 1);
	feature_vec_clear(&fv);
	payments_features(&cs, D("2026-02-10"), &fv);
	expect(&fv, FEAT_TENURE_MONTHS, 13);
	expect(&fv, FEAT_DAYS_PAST_DUE, 21);
	expect(&fv, FEAT_LATE_PAYMENTS_12M, 1);
	expect(&fv, FEAT_REVERSALS_12M, 1);
	expect(&fv, FEAT_CONFIRMED_THEFT, 1);
	payments_set_confirmed_theft(&cs, 0);
	payments_features(&cs, D("2026-02-10"), &fv);
	expect(&fv, FEAT_CONFIRMED_THEFT, 0);

	/* Other features are left alone. */
	feature_vec_clear(&fv);
	feature_set(&fv, FEAT_KWH_DAY, 3.5);
	payments_features(&cs, D("2026-02-10"), &fv);
	expect(&fv, FEAT_KWH_DAY, 3.5);
}

Test(payments, same_sequence_same_bytes)
{
	struct pay_state a = {0}, b = {0};
	const char *dates[] = {"2026-01-05", "2026-02-05", "2026-03-05", "2026-04-05"};
	for (int round = 0; round < 2; round++) {
		struct pay_state *ps = round ? &b : &a;
		for (int i = 0; i < 4; i++) {
			char id[16];
			snprintf(id, sizeof id, "B%d", i);
			payments_bill(ps, id, strlen(id), 33.33 * (i + 1), D(dates[i]) + 15, D(dates[i]));
			payments_payment(ps, 20.0, NULL, 0, D(dates[i]) + 20);
			if (i == 2)
				payments_reversal(ps, 20.0, D(dates[i]) + 22);
		}
	}
	cr_assert_eq(memcmp(&a, &b, sizeof a), 0);
}

Test(payments, outcome_window)
{
	struct pay_state ps;
	struct pay_outcome o;
	int32_t due = D("2026-01-20"), as_of = D("2026-01-30");

	/* Never paid: 10 days past due on the as-of day, far more by the window's end. */
	memset(&ps, 0, sizeof ps);
	bill(&ps, "B1", 50, "2026-01-05", "2026-01-20");
	payments_outcome_init(&o, as_of, as_of + 182, 90);
	payments_outcome_finish(&o, &ps);
	cr_assert(o.reached);

	/* Paid 80 days after the due date: never 90. */
	memset(&ps, 0, sizeof ps);
	bill(&ps, "B1", 50, "2026-01-05", "2026-01-20");
	payments_outcome_init(&o, as_of, as_of + 182, 90);
	payments_outcome_before(&o, &ps, due + 80);
	payments_payment(&ps, 50, "B1", 2, due + 80);
	payments_outcome_finish(&o, &ps);
	cr_assert(!o.reached);

	/* Paid 90 days after: reached on the day of the payment (checked before it). */
	memset(&ps, 0, sizeof ps);
	bill(&ps, "B1", 50, "2026-01-05", "2026-01-20");
	payments_outcome_init(&o, as_of, as_of + 182, 90);
	payments_outcome_before(&o, &ps, due + 90);
	payments_payment(&ps, 50, "B1", 2, due + 90);
	payments_outcome_finish(&o, &ps);
	cr_assert(o.reached);

	/* The window ends before 90 days: an event after it closes the window at its end. */
	memset(&ps, 0, sizeof ps);
	bill(&ps, "B1", 50, "2026-01-05", "2026-01-20");
	payments_outcome_init(&o, as_of, as_of + 60, 90); /* 70 days past due at the end */
	payments_outcome_before(&o, &ps, as_of + 200);
	cr_assert(o.closed);
	cr_assert(!o.reached);
	payments_payment(&ps, 50, "B1", 2, as_of + 200);
	payments_outcome_finish(&o, &ps);
	cr_assert(!o.reached);

	/* Events up to the as-of day are not looked at. */
	memset(&ps, 0, sizeof ps);
	bill(&ps, "B0", 50, "2025-06-05", "2025-06-20"); /* 224 days past due on the as-of day */
	payments_outcome_init(&o, as_of, as_of + 182, 90);
	payments_outcome_before(&o, &ps, as_of);
	cr_assert(!o.reached && !o.closed);
	payments_outcome_before(&o, &ps, as_of + 1);
	cr_assert(o.reached);
}
