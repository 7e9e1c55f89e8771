/*
 * store_review.h - the analyst's door to PostgreSQL (libpq): the review queue, one alert with
 * its context, the lifecycle changes (claim, release, resolve, reopen) and rule performance.
 *
 * riskctl's alert commands use it. A review store is one connection that runs with the
 * privileges of one database role (risk_analyst): it reads through SELECTs and changes alerts
 * only through the lifecycle functions (deploy/sql/004_review.sql, 009_identity.sql), which
 * enforce the transitions and write the audit trail. The acting analyst is the connection's
 * login role (session_user), never a name the caller passes: an analyst argument is either
 * NULL or that same name, and the database refuses any other. Every value travels as a query
 * parameter.
 * Results are jansson values built by PostgreSQL (json_build_object), so their shape is the
 * one documented in docs/review-queue.md; the caller owns and json_decref()s them.
 *
 * Errors: RISKD_ERR_UNAVAILABLE (cannot reach the server), RISKD_ERR_NOT_FOUND (unknown alert),
 * RISKD_ERR_CONFLICT (wrong status for the change, claimed by someone else, another active
 * alert or a lock held too long), RISKD_ERR_INVALID (bad disposition, note, login name, day
 * count; the schema lacks the review migrations), RISKD_ERR_IO (anything else, such as a
 * refused privilege: another analyst named than the login role, or resolving or releasing an
 * alert someone else holds without being a risk_lead member). errstr then holds one line: the
 * server's own message for a refusal (it may quote the caller's input verbatim).
 */
#ifndef RISKD_STORE_REVIEW_H
#define RISKD_STORE_REVIEW_H

#include <stddef.h>

#include <jansson.h>

struct review_store;

/* Which alerts review_list returns. NULL strings do not filter. */
struct review_filter {
	const char *status;  /* "open", "in_review", "closed", "all"; NULL = open and in_review */
	const char *kind;    /* alert kind ("theft") */
	const char *area;    /* transformer_id of the customer */
	int limit;           /* 1.. rows at most */
	int with_detail;     /* non-zero: each row also carries "rules" and "curve" */
};

/*
 * Connects with dsn and switches the session to role (SET ROLE; the login role must be a
 * member of it, or a superuser). Checks that the review migrations are applied. Returns 0 and
 * *out, RISKD_ERR_UNAVAILABLE when the server cannot be reached, RISKD_ERR_INVALID when the
 * schema lacks the review functions, RISKD_ERR_IO when the role cannot be taken.
 */
int review_store_open(struct review_store **out, const char *dsn, const char *role,
                      char *errstr, size_t errstr_size);

/* The connection's login role (session_user): who every lifecycle change is recorded as.
 * Owned by rv, valid until review_store_close. */
const char *review_store_login(const struct review_store *rv);

/* The name of the database rv is connected to (for "nothing found in database X"). */
const char *review_store_database(const struct review_store *rv);

/* Closes the connection. NULL is a no-op. */
void review_store_close(struct review_store *rv);

/*
 * Alerts by priority (score, then severity, then age): a JSON array of objects with priority,
 * alert_id, customer_id, kind, status, analyst, score, severity, rule_ids, first_day,
 * last_day, firings, opened_at, last_seen, age_s, segment, transformer_id, area_loss_rate
 * (and rules, curve with f->with_detail). Returns 0 and *out, or a riskd_err.
 */
int review_list(struct review_store *rv, const struct review_filter *f, json_t **out,
                char *errstr, size_t errstr_size);

/*
 * Everything an analyst needs about one alert: {"alert": the risk.alerts row, "customer":
 * profile or null, "area": latest balance of its transformer or null, "grade": credit grade
 * or null, "queue": {"position", "size"} or null, "stolen_energy": the estimate or null,
 * "backbill": its amount or null (docs/review-queue.md), "fired_days": [day], "tamper_days": [day],
 * "events": audit trail, "suppressions": the customer's suppressions of this kind}.
 * Returns 0 and *out, RISKD_ERR_NOT_FOUND for an unknown id, or another riskd_err.
 */
int review_show(struct review_store *rv, const char *alert_id, json_t **out, char *errstr,
                size_t errstr_size);

/*
 * Claims an open alert for the login role (analyst: NULL, or the login role's own name).
 * *changed is 1, or 0 when the login role already held it. Returns 0 or a riskd_err (see the
 * file comment).
 */
int review_claim(struct review_store *rv, const char *alert_id, const char *analyst,
                 int *changed, char *errstr, size_t errstr_size);

/*
 * Closes an alert in review with disposition and note, as the login role (analyst: NULL or
 * its own name), which must hold it or be a risk_lead member; suppress_days < 0 means the
 * database's default (review_settings.suppress_days). *closed (may be NULL) is 1, or 0 when
 * a confirmed_theft resolution now awaits a second analyst's approval (four-eyes,
 * review_settings.theft_approval). Returns 0 or a riskd_err.
 */
int review_resolve(struct review_store *rv, const char *alert_id, const char *analyst,
                   const char *disposition, const char *note, int suppress_days, int *closed,
                   char *errstr, size_t errstr_size);

/* Puts an alert in review back in the queue, unassigned (note may be NULL), as the login
 * role, which must hold it or be a risk_lead member. Returns 0 or a riskd_err. */
int review_release(struct review_store *rv, const char *alert_id, const char *note,
                   char *errstr, size_t errstr_size);

/* Reopens a closed alert as the login role (analyst: NULL or its own name; note may be
 * NULL). Returns 0 or a riskd_err. */
int review_reopen(struct review_store *rv, const char *alert_id, const char *analyst,
                  const char *note, char *errstr, size_t errstr_size);

/*
 * The field crews' inspection list: risk.v_inspection_list's rows (deploy/sql/015) in rank
 * order as a JSON array of objects (one key per column), only area (a transformer_id) when
 * not NULL, at most budget rows when budget > 0. Returns 0 and *out, or a riskd_err.
 */
int review_inspection_list(struct review_store *rv, const char *area, int budget, json_t **out,
                           char *errstr, size_t errstr_size);

/*
 * risk.v_rule_performance as a JSON array (median_time_to_disposition_s in seconds), only
 * rule set ruleset when not NULL. Returns 0 and *out, or a riskd_err.
 */
int review_rule_stats(struct review_store *rv, const char *ruleset, json_t **out,
                      char *errstr, size_t errstr_size);

#endif
