/*
 * store_int.h - what the store's source files share (detector/store.c, store_credit.c): the
 * connection and its buffers, error classification, COPY helpers. Not for other modules:
 * they use store.h.
 */
#ifndef RISKD_STORE_INT_H
#define RISKD_STORE_INT_H

#include <stddef.h>

#include <libpq-fe.h>

#include "../config/riskd_base.h"
#include "store.h"

struct store {
	char *dsn;
	int async_commit;   /* the session runs with synchronous_commit = off */
	PGconn *conn;
	struct rbuf copy;   /* COPY data being built */
	struct rbuf scratch;
};

/* Classifies a failed result (res may be NULL: the connection's error) into a riskd_err
 * (RISKD_ERR_UNAVAILABLE when a retry on a new connection can succeed, else RISKD_ERR_IO)
 * and writes "what: message" on one line into errstr. */
int store_fail_result(struct store *st, PGresult *res, const char *what, char *errstr,
                      size_t errstr_size);

/* Runs a command (or several) that returns no rows. Returns 0 or a riskd_err. */
int store_exec(struct store *st, const char *sql, char *errstr, size_t errstr_size);

/* Appends s to COPY text data, escaped (backslash, tab, newline, carriage return). */
void store_copy_text(struct rbuf *b, const char *s);

/* Runs `sql` (a COPY ... FROM STDIN) and sends st->copy as its data. Returns 0 or a
 * riskd_err. */
int store_copy_in(struct store *st, const char *sql, char *errstr, size_t errstr_size);

/* Writes the batch's payment status rows and grade changes (history, current grade, one
 * outbox message each), inside the batch's transaction. Returns 0 or a riskd_err. */
int store_write_credit(struct store *st, const struct store_batch *b, char *errstr,
                       size_t errstr_size);

#endif
