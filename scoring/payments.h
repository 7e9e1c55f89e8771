/*
 * payments.h - payment behaviour per customer: bills, payments and reversals folded into a
 * fixed 76-byte state (struct pay_state, inside struct cstate), and the credit features of the
 * registry computed from it (days_past_due, arrears, on-time share, reversals, tenure, ...).
 *
 * Where it sits: detector/ingest.c calls payments_on_bill / on_payment / on_reversal for the
 * billing events of a customer and payments_on_profile for its profile; scoring reads the
 * features with payments_features. `riskctl scorecard features` and the generator's credit
 * labels drive the same functions offline, so every tool agrees with riskd on what "90 days
 * past due" means.
 *
 * Money is kept in integer cents (amounts round to the cent; each open amount saturates at
 * 21,474,836.47), days as local days (days since 1970-01-01 in the configured zone). Payments
 * are applied to the oldest debt first, except that a payment naming an open bill by
 * bill_id and covering all of it pays that bill first. docs/features.md ("Payment behaviour")
 * gives every formula and the approximations the fixed size implies.
 *
 * Pure code: no I/O, no allocation, O(1) per call. The state after a sequence of calls
 * depends only on that sequence. Not thread-safe: one customer's state belongs to one thread.
 */
#ifndef RISKD_PAYMENTS_H
#define RISKD_PAYMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "event_types.h"
#include "features.h"

struct cstate;

/* Open bills kept one by one; older unpaid bills are merged into one "older debt" amount. */
#define PAY_OPEN_BILLS 3
/* Calendar months of history kept (the current month, 11 before it, and one ahead for bills
 * already issued but due next month). */
#define PAY_MONTHS 13
/* Days past due at a payoff are kept per month up to this value. */
#define PAY_DPD_CAP 255
/* Per-month counts (bills due, paid on time, paid late, reversals) saturate at this value. */
#define PAY_MONTH_COUNT_CAP 3

#define PAY_F_BILLING      0x01u /* a bill, payment or reversal has been applied */
#define PAY_F_START_SET    0x02u /* start_day holds the tenure start */
#define PAY_F_START_PROFILE 0x04u /* ... and it came from the profile's `since` */
#define PAY_F_LAST_ON_TIME 0x08u /* the bill paid off last was paid by its due date */
#define PAY_F_THEFT        0x10u /* an analyst confirmed theft (payments_set_confirmed_theft) */

/* Size of struct pay_state before graded_day was added (state snapshots of versions 7 and 8:
 * the rest of the struct, graded_day and the padding, was not there). */
#define PAY_STATE_V8_SIZE 72

/*
 * Per-customer payment state (inside struct cstate as cs->pay, persisted with it as raw
 * bytes). A zeroed struct is the valid initial state. Private to scoring/payments.c: other
 * modules use the functions below, except graded_day, which belongs to the credit grader
 * (detector/grader.c) and sits here beside the billing it is computed from. Fields are
 * ordered by size but for graded_day; the struct ends in 2 bytes of padding (zero, as the
 * whole struct starts).
 * Days are stored as uint16 days since 1970-01-01 (0 = none; clamped to 1 .. 65535, i.e.
 * 1970-01-02 .. 2149-06-06); months as months since January 1970.
 */
struct pay_state {
	int32_t open_cents[PAY_OPEN_BILLS]; /* unpaid rest of each open bill, by due date; 0 = empty */
	int32_t carry_cents;                /* > 0: unpaid rest of the merged older bills (and of
	                                       reopened payments); < 0: credit from overpayment */
	float avg_bill;                     /* average monthly bill, currency units (see docs) */
	uint16_t open_due[PAY_OPEN_BILLS];  /* due date of each open bill */
	uint16_t open_id[PAY_OPEN_BILLS];   /* 16-bit hash of each open bill's bill_id */
	uint16_t older_due;                 /* oldest due date among the merged older debt */
	uint16_t head_month;                /* newest month recorded in the month rings */
	uint16_t start_day;                 /* tenure start (PAY_F_START_SET) */
	uint16_t last_late_day;             /* day of the last payoff after the due date; 0 none */
	uint16_t last_paid_due;             /* due date of the bill paid off last; 0 none */
	uint16_t last_payment_day;          /* day of the last payment; 0 none */
	uint8_t month_log[PAY_MONTHS];      /* month m at [m % PAY_MONTHS], 2-bit counts: bits 0-1
	                                       bills due, 2-3 of them paid on time (both by due
	                                       month), 4-5 bills paid off late, 6-7 reversals (by
	                                       the month it happened) */
	uint8_t month_dpd[PAY_MONTHS];      /* largest days past due at a payoff in that month */
	uint8_t older_rev;                  /* bits 0-1: bills in the older debt (saturates at 3,
	                                       as every count they feed does); bits 2-6: day of
	                                       the month (1-31) of the newest reversal, whose
	                                       month is the newest with reversals in month_log;
	                                       0 none */
	uint8_t flags;                      /* PAY_F_* */
	/* last, so that the layout before it stays that of snapshot versions 7 and 8 */
	uint16_t graded_day;                /* the last local day the customer's credit grade was
	                                       computed for; set to the day before the first
	                                       billing event (nothing graded yet) by that event;
	                                       0 = no billing yet, not graded */
};

/* ---- applying events (struct pay_state level: what ingest and the tools share) ---- */

/*
 * A bill of `amount` (currency units, >= 0) due on local day due_day, issued on local day
 * `day`. Credit from earlier overpayments pays it first; a bill paid in full this way counts
 * as paid on time. When PAY_OPEN_BILLS bills are already open, the oldest is merged into the
 * older debt. bill_id (id_len bytes, may be NULL with 0) identifies it for later payments.
 */
void payments_bill(struct pay_state *ps, const char *bill_id, size_t id_len, double amount,
                   int32_t due_day, int32_t day);

/*
 * A payment of `amount` (> 0) on local day `day`. When bill_id (id_len > 0) names an open
 * bill and amount covers all of it, that bill is paid first; the rest (or everything, for a
 * partial payment or one without bill id) pays the oldest debt first: the older debt, then
 * open bills by due date. What is left becomes credit. Each bill paid off is counted on time
 * (paid on or before its due date) or late (with its days past due).
 */
void payments_payment(struct pay_state *ps, double amount, const char *bill_id, size_t id_len,
                      int32_t day);

/*
 * Turns a pay_state read from a version-7 state snapshot into the current layout: that
 * version kept the older debt's bill count in the whole of older_rev (0..255) and no
 * reversal day. The count is clamped to 3, as every count it feeds is; a customer with a
 * reversal in its months gets day 1 of the newest such month (the day is unknown: day 1
 * makes days_since_reversal as large as it can be, so the 90-day cap ends no later than it
 * would have with the true day).
 */
void payments_upgrade_from_v7(struct pay_state *ps);

/*
 * A payment of `amount` reversed (bounced) on local day `day`. Counts one reversal; the
 * amount first cancels credit, and the rest is owed again as part of the older debt, due
 * on the due date of the bill paid off last (or `day` when none was). If that bill had
 * been counted as paid on time, it no longer is.
 */
void payments_reversal(struct pay_state *ps, double amount, int32_t day);

/* The customer's start date (the profile's `since`), which tenure counts from. Without it,
 * tenure counts from the first billing event. */
void payments_start(struct pay_state *ps, int32_t since_day);

/* ---- event-level wrappers used by detector/ingest.c ---- */

/* ev must be an EVENT_BILL / EVENT_PAYMENT / EVENT_PAYMENT_REVERSAL of cs's customer; day is
 * the local day of ev->ts. Mark cs dirty as for any other change. */
void payments_on_bill(struct cstate *cs, const struct event *ev, int32_t day);
void payments_on_payment(struct cstate *cs, const struct event *ev, int32_t day);
void payments_on_reversal(struct cstate *cs, const struct event *ev, int32_t day);

/* ev must be an EVENT_CUSTOMER; takes `since` when present (later profiles replace it). */
void payments_on_profile(struct cstate *cs, const struct event *ev);

/* Records an analyst's confirmed-theft disposition (1) or its withdrawal (0): the
 * confirmed_theft feature. */
void payments_set_confirmed_theft(struct cstate *cs, int confirmed);

/* ---- reading the state ---- */

/* Days the oldest unpaid debt is past due on local day today (0 when nothing is past due). */
int32_t payments_days_past_due(const struct pay_state *ps, int32_t today);

/* Unpaid amount (currency units) of debt whose due date is before today. */
double payments_arrears(const struct pay_state *ps, int32_t today);

/* Amount still owed on open bills and older debt, past due or not (currency units); credit
 * makes it 0. */
double payments_balance_owed(const struct pay_state *ps);

/* Credit from overpayment (currency units, >= 0). */
double payments_credit(const struct pay_state *ps);

/* Local day of the last payment, or INT32_MIN when there was none. */
int32_t payments_last_payment_day(const struct pay_state *ps);

/*
 * Outcome of a customer over a window of days (start, end]: did it reach `threshold` days
 * past due on some day of the window? This is the credit target ("went 90+ days past due
 * within the next six months" with start the observation day, end start + 182, threshold 90),
 * computed the same way by `riskctl scorecard features --outcome-days` and by the generator's
 * --credit-labels. Days past due only grow between billing events, so checking just before
 * each event and at the window's end sees the largest value.
 */
struct pay_outcome {
	int32_t start, end;  /* the window (start, end], local days */
	int32_t threshold;   /* days past due that count as bad (90) */
	int reached;         /* 1 once the threshold was reached inside the window */
	int closed;          /* an event after the window was seen: nothing more to check */
};

/* Starts an outcome window. */
void payments_outcome_init(struct pay_outcome *o, int32_t start, int32_t end, int32_t threshold);

/* Call with the state as it is just before applying a billing event of local day `day`
 * (events of days up to start need not be reported). */
void payments_outcome_before(struct pay_outcome *o, const struct pay_state *ps, int32_t day);

/* Call once after the last event: checks the window's last day. */
void payments_outcome_finish(struct pay_outcome *o, const struct pay_state *ps);

/*
 * Fills the payment features of fv (days_past_due, max_days_past_due_12m, late_payments_12m,
 * on_time_share_12m, arrears_amount, arrears_ratio, reversals_12m, days_since_reversal,
 * tenure_months,
 * months_since_last_late, bills_12m, confirmed_theft) as of local day today. Before any
 * billing event every payment feature is missing except tenure_months (known from the
 * profile's since) and confirmed_theft (always known). Other features are left untouched.
 */
void payments_features(const struct cstate *cs, int32_t today, struct feature_vec *fv);

#endif
