/*
 * store_console.h - the analyst console's door to PostgreSQL: logging an analyst in as their
 * own login role, the filtered and paged queue, a customer's page, and the lifecycle changes
 * the console adds to the review store's (comment, assign, approve).
 *
 * Every function works on a review store (store_review.h) opened by console_login, so it runs
 * with the analyst's own privileges and PostgreSQL records their login role in the audit
 * trail. Errors are the review store's (see store_review.h); results are jansson values the
 * caller owns.
 */
#ifndef RISKD_STORE_CONSOLE_H
#define RISKD_STORE_CONSOLE_H

#include <stddef.h>

#include <jansson.h>

#include "store_review.h"

/* What the queue page shows. NULL strings and 0 numbers do not filter. */
struct console_queue_filter {
	const char *status;   /* "open", "in_review", "closed", "all"; NULL = open and in_review */
	const char *kind;     /* alert kind */
	const char *severity; /* low, medium, high, critical */
	const char *rule;     /* a rule id among the alert's rules */
	const char *area;     /* transformer_id of the customer */
	const char *segment;  /* the customer's segment */
	const char *assigned; /* "me" (held by the login role), "anyone" (held), "none" (unheld) */
	int min_age_days;     /* opened at least this many days ago */
	int sort_by_age;      /* 0: by score (highest first); 1: by age (oldest first) */
	int offset;           /* rows skipped, 0.. */
	int limit;            /* rows returned, 1.. */
	int with_curve;       /* non-zero: each row carries its "curve" (the page's sparklines) */
};

/*
 * Connects to dsn as login role user with password (both added to dsn's settings) and opens
 * a review store on that connection. Refused (RISKD_ERR_IO, errstr "login refused: ...") when
 * the server did not ask for the password (a trust login proves nothing), when the
 * credentials are wrong, or when user is not a member of risk_analyst (a dashboard-only role).
 * *is_lead is 1 for a member of risk_lead. Returns 0 and *out, RISKD_ERR_UNAVAILABLE when the
 * server cannot be reached, or another riskd_err. errstr never holds the password.
 */
int console_login(struct review_store **out, int *is_lead, const char *dsn, const char *user,
                  const char *password, char *errstr, size_t errstr_size);

/*
 * One page of the queue: {"rows": [row as review_list's, plus "approval_pending"],
 * "total": rows matching the filter, "counts": {"open", "in_review", "closed"} over the whole
 * table, "mine": alerts in review held by the login role}. Returns 0 and *out or a riskd_err.
 */
int console_queue(struct review_store *rv, const struct console_queue_filter *f, json_t **out,
                  char *errstr, size_t errstr_size);

/*
 * What the alert page adds to review_show: {"approval": the resolution awaiting approval or
 * null, "area_balance": [{day, kwh: the area's loss rate in %, baseline: its normal loss
 * rate in %}] over the 60 days up to the alert's latest firing, "alerts": the customer's
 * alerts, "grade_history": the customer's last grades, "credit": the customer's payment
 * status or null}. Returns 0 and *out, or a riskd_err.
 */
int console_alert_context(struct review_store *rv, const char *alert_id, json_t **out,
                          char *errstr, size_t errstr_size);

/*
 * A customer: {"customer_id", "customer": profile or null, "grade": current grade row or null,
 * "grade_history": [...], "credit": payment status or null, "area": latest balance of its
 * transformer or null, "alerts": [every alert, newest first]}. RISKD_ERR_NOT_FOUND when the
 * customer has neither a profile nor an alert. Returns 0 and *out, or a riskd_err.
 */
int console_customer(struct review_store *rv, const char *customer_id, json_t **out,
                     char *errstr, size_t errstr_size);

/* Adds note to the alert's audit trail as the login role (risk.alert_comment). Returns 0 or a
 * riskd_err. */
int review_comment(struct review_store *rv, const char *alert_id, const char *note,
                   char *errstr, size_t errstr_size);

/* Hands the alert to analyst to (risk.alert_assign; only a risk_lead member may). *changed is
 * 0 when to already held it. Returns 0 or a riskd_err. */
int review_assign(struct review_store *rv, const char *alert_id, const char *to, int *changed,
                  char *errstr, size_t errstr_size);

/* Approves the confirmed_theft resolution awaiting approval, as a second analyst
 * (risk.alert_approve; note may be NULL). Returns 0 or a riskd_err. */
int review_approve(struct review_store *rv, const char *alert_id, const char *note,
                   char *errstr, size_t errstr_size);

#endif
