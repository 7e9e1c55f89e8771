/*
 * credit_fixture.h - customers and graders the credit unit suites share: a customer with a
 * run of bills paid on time, and the grader riskd builds from the shipped rules and cards.
 */
#ifndef RISKD_CREDIT_FIXTURE_H
#define RISKD_CREDIT_FIXTURE_H

#include "detector/grader.h"
#include "scoring/cstate.h"

/*
 * Resets *cs to customer "C1" of segment seg (enum segment) whose account opened on day 20000
 * and who was billed 80 every 30 days from day 20400 for `months` bills, each paid 10 days
 * after issue (due 20 days after issue): the last bill is issued on day 20400 + 30 * (months - 1).
 */
void fixture_paying_customer(struct cstate *cs, int seg, int months);

/*
 * The grader riskd runs with the shipped rules ("rules") and cards ("scoring/cards") with
 * hysteresis margin points; the suite must run from the checkout root. Aborts the test
 * (cr_assert) with the loader's message when they do not load. Free with grader_free.
 */
struct grader *fixture_shipped_grader(double margin);

#endif
