/*
 * store_review_int.h - the review store's connection and query helpers, shared by the
 * analyst's store modules (store_review.c, store_console.c) and private to detector/.
 */
#ifndef RISKD_STORE_REVIEW_INT_H
#define RISKD_STORE_REVIEW_INT_H

#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

struct review_store {
	PGconn *conn;
	char login[128]; /* session_user: the acting analyst of every lifecycle change */
};

/*
 * Takes role (SET ROLE) on rv's fresh connection, runs the session in UTC with lock and
 * statement timeouts, checks the review migrations and records the login role. On failure
 * closes rv (the caller must not touch it again). Returns 0 or a riskd_err.
 */
int review_store_setup(struct review_store *rv, const char *role, char *errstr,
                       size_t errstr_size);

/* Runs sql with params; on success *res holds the rows (the caller PQclear()s it). Returns 0
 * or a riskd_err classified by SQLSTATE, errstr the server's one-line message. */
int review_query_row(struct review_store *rv, const char *sql, int n, const char *const *params,
                     PGresult **res, char *errstr, size_t errstr_size);

/* Runs a query whose single value is JSON text and parses it into *out (caller owns it). NULL
 * value or no row: RISKD_ERR_NOT_FOUND. Returns 0 or a riskd_err. */
int review_query_json(struct review_store *rv, const char *sql, int n,
                      const char *const *params, json_t **out, char *errstr,
                      size_t errstr_size);

/* Calls a lifecycle function returning boolean; *result (may be NULL) is 1 for true. Returns
 * 0 or a riskd_err. */
int review_call_lifecycle(struct review_store *rv, const char *sql, int n,
                          const char *const *params, int *result, char *errstr,
                          size_t errstr_size);

#endif
