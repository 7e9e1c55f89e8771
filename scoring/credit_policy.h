/*
 * credit_policy.h - the service policy by grade: what the utility does for a customer of a
 * given credit grade and segment (security deposit, prepayment, payment plans, reminder
 * cadence, whether a disconnection notice may be sent).
 *
 * A policy is plain data. rules/credit_policy_load.h reads it from the `actions` section of
 * the credit rule file (rules/credit.yaml) with file:line:col diagnostics; detector/grader.c
 * looks up each grade's actions and the pipeline stores them with the grade (risk.credit_grades,
 * the credit-grades message, risk.v_collection_worklist). docs/credit.md documents the format.
 * No I/O, no allocation.
 */
#ifndef RISKD_CREDIT_POLICY_H
#define RISKD_CREDIT_POLICY_H

#include "../config/riskd_base.h"
#include "event_types.h"
#include "grade.h"

/* Largest security deposit multiple and reminder cadence a policy may set. */
#define CREDIT_DEPOSIT_MULTIPLE_MAX 24.0
#define CREDIT_REMINDER_DAYS_MAX 365

/* What the utility does for customers of one grade and segment. */
struct credit_actions {
	double deposit_multiple;           /* security deposit, in average bills (0: none) */
	int prepayment_required;           /* service only against prepayment */
	int payment_plan_eligible;         /* may be offered a payment plan for arrears */
	int reminder_days;                 /* days between payment reminders while in arrears */
	int disconnection_notice_eligible; /* may be sent a disconnection notice: a person decides
	                                      and sends it, riskd never does */
};

/* Actions by grade and segment. set[g][s] says whether actions[g][s] is given; SEGMENT_UNKNOWN
 * (no profile yet) takes a grade's row for every segment. */
struct credit_policy {
	int set[RULE_GRADE__COUNT][SEGMENT__COUNT];
	struct credit_actions actions[RULE_GRADE__COUNT][SEGMENT__COUNT];
};

/* The actions for a customer of grade and segment seg, or NULL when policy is NULL or sets
 * none for them. The pointer lives as long as policy. */
const struct credit_actions *credit_policy_actions(const struct credit_policy *policy,
                                                   enum rule_grade grade, enum segment seg);

/*
 * Appends actions as one JSON object {"deposit_multiple", "prepayment_required",
 * "payment_plan_eligible", "reminder_days", "disconnection_notice_eligible"}, or `null` when
 * actions is NULL. The keys are the columns of risk.credit_grades.
 */
void credit_actions_json(const struct credit_actions *actions, struct rbuf *out);

#endif
