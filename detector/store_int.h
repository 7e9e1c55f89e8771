/*
 * store_int.h - what the store's source files share: the connection and its buffers, error
 * classification and the COPY helpers (store_conn.c), and the credit writes (store_credit.c)
 * that store.c's batch commit calls. Not for other modules: they use store.h.
 *
 * The arrows go one way: store.c -> store_credit.c -> store_conn.c -> store_schema.c,
 * store.c -> store_side.c -> store_conn.c, store.c -> store_conn.c, store.c -> store_attrib.c -> store_conn.c (store_attrib.c also
 * serves detector/attributor.c). store_schema.c also serves riskctl migrate (store_schema.h).
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

/*
 * Checks that the database on conn has every version of migrate_known_versions
 * (store_schema.h) applied and no other. Returns 0, or RISKD_ERR_INVALID with a one-line
 * message in errstr that names the first missing (or unknown) version and what to run;
 * RISKD_ERR_UNAVAILABLE / RISKD_ERR_IO when the query failed on the connection.
 */
int store_schema_check(PGconn *conn, char *errstr, size_t errstr_size);

/* Writes partitions[0..n) as a PostgreSQL int[] literal ("{1,2}") into st->scratch and
 * returns it (valid until st->scratch is next used). */
const char *store_partitions_text(struct store *st, const int32_t *partitions, int n);

/* Runs a command (or several) that returns no rows. Returns 0 or a riskd_err. */
int store_exec(struct store *st, const char *sql, char *errstr, size_t errstr_size);

/* Runs a command that returns no rows with text parameters params[0..n) ($1..$n); what names
 * it in errstr. Returns 0 or a riskd_err. */
int store_exec_params(struct store *st, const char *sql, int n, const char *const *params,
                      const char *what, char *errstr, size_t errstr_size);

/* Appends s to COPY text data, escaped (backslash, tab, newline, carriage return). */
void store_copy_text(struct rbuf *b, const char *s);

/* Writes local day `day` (days since 1970-01-01) as an ISO date, YYYY-MM-DD, a COPY text
 * value of a date column, into out (at least 11 bytes; truncated to size otherwise). */
void store_date_text(int32_t day, char *out, size_t size);

/* Appends texts[0..n) as the last columns of a COPY text row: each escaped (store_copy_text),
 * tab-separated, then the row's newline. */
void store_copy_texts(struct rbuf *b, int n, const char *const texts[]);

/*
 * Where a batch's rows of one kind go: COPY into `table` (a session temp table, or the
 * destination itself), then, when upsert_sql is set, one statement without parameters that
 * moves them on. A target whose statement needs parameters leaves upsert_sql NULL and its
 * caller runs the statement after store_copy_rows.
 */
struct store_copy_target {
	const char *table;       /* the COPY's table */
	const char *columns;     /* "(a, b, ...)", or NULL: all of the table's columns in order */
	const char *upsert_sql;  /* run after the COPY; NULL: none */
	/* appends rows[0..n) (an array of the target's row struct) to b as COPY text lines */
	void (*write_rows)(struct rbuf *b, const void *rows, size_t n);
};

/*
 * Writes rows[0..n) to t's table by COPY (through st->copy) and runs t's upsert_sql, in the
 * caller's transaction. Does nothing when n is 0. Returns 0 or a riskd_err (errstr names the
 * COPY or the statement that failed).
 */
int store_copy_rows(struct store *st, const struct store_copy_target *t, const void *rows,
                    size_t n, char *errstr, size_t errstr_size);

/* COPY row writers of struct store_hours rows (store_copy_target.write_rows): entity id, day
 * (days since 1970-01-01) and the 24 slots (store_copy_hours); rows whose mask is 0 are left
 * out, and so are the whole rows (store_write_hours_rows: additions) or the others
 * (store_write_whole_hours_rows). */
void store_write_hours_rows(struct rbuf *b, const void *rows, size_t n);
void store_write_whole_hours_rows(struct rbuf *b, const void *rows, size_t n);

/* Appends h's 24 slots as a bigint[] literal, NULL where no reading began. */
void store_copy_hours(struct rbuf *b, const struct daily_hours *h);

/* Adds b's per-rule counts to risk.rule_counts and raises b's alerts in order
 * (risk.raise_alert: suppressions, prices, the review-queue outbox row), in the caller's
 * transaction; sets b->alerts_opened. Returns 0 or a negative riskd_err. */
int store_write_scorings(struct store *st, struct store_batch *b, char *errstr,
                         size_t errstr_size);

/* Appends len bytes as a bytea value of COPY text data (hex format). */
void store_copy_bytea(struct rbuf *b, const void *data, size_t len);

/* Writes the batch's side rows (store_side.h: operating-risk warnings, side snapshots)
 * inside the batch's transaction (store_side.c); sets b->op_alerts_opened. Returns 0 or a
 * riskd_err. */
int store_write_side(struct store *st, struct store_batch *b, char *errstr,
                     size_t errstr_size);

/* Writes the batch's payment status rows and grade changes (history, current grade, one
 * outbox message each), inside the batch's transaction. Returns 0 or a riskd_err. */
int store_write_credit(struct store *st, const struct store_batch *b, char *errstr,
                       size_t errstr_size);

#endif
