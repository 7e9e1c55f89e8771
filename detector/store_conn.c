/*
 * store_conn.c - the store's connection and its COPY plumbing: connecting and preparing the
 * session (the temp tables every batch writes through), reconnecting, classifying failures,
 * and writing rows by COPY into a table described by a struct store_copy_target.
 * detector/store.c and store_credit.c build on these; this file calls neither.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "../config/riskd_base.h"
#include "store_dsn.h"
#include "store_int.h"

/* The temp tables batches COPY into; "on commit delete rows" empties them per transaction. */
static const char *const session_sql =
    "set application_name = 'riskd';"
    "create temp table if not exists tmp_usage (entity_id text, day int, uwh bigint,"
    "  readings int, covered_s int, whole bool, silent bool) on commit delete rows;"
    "create temp table if not exists tmp_tdaily (entity_id text, day int, uwh bigint,"
    "  readings int, covered_s int, whole bool, silent bool) on commit delete rows;"
    "create temp table if not exists tmp_whole_hours (entity_id text, day int, uwh bigint[])"
    "  on commit delete rows;"
    "create temp table if not exists tmp_whole_thours (entity_id text, day int, uwh bigint[])"
    "  on commit delete rows;"
    "create temp table if not exists tmp_cover (kind \"char\", entity_id text, day int,"
    "  cover bytea) on commit delete rows;"
    "create temp table if not exists tmp_billing (seq int, partition int, msg_offset bigint,"
    "  customer_id text, kind text, id text, topic text) on commit delete rows;"
    "create temp table if not exists tmp_fold (entity_id text, day int, uwh bigint[])"
    "  on commit delete rows;"
    "create temp table if not exists tmp_tfold (entity_id text, day int, uwh bigint[])"
    "  on commit delete rows;"
    "create temp table if not exists tmp_profiles (seq int, customer_id text, segment text,"
    "  transformer_id text, tariff text, capacity_kw float8, since int) on commit delete rows;"
    "create temp table if not exists tmp_state (kind \"char\", entity_id text, partition int,"
    "  state bytea, hours_day int, hours bigint[]) on commit delete rows;"
    "create temp table if not exists tmp_counts (topic text, partition int, event_type text,"
    "  outcome text, n bigint) on commit delete rows;"
    "create temp table if not exists tmp_rule_counts (ruleset_name text, ruleset_version text,"
    "  rule_id text, mode text,"
    "  evaluations bigint, fired bigint, missing_reads bigint) on commit delete rows;"
    "create temp table if not exists tmp_alerts (seq int, customer_id text, kind text,"
    "  day int, score float8, severity text, rules text, curve text, stolen text,"
    "  stage text) on commit delete rows;"
    "create temp table if not exists tmp_pending (customer_id text, day int,"
    "  transformer_id text, snapshot text) on commit delete rows;"
    "create temp table if not exists tmp_op_alerts (seq int, customer_id text, day int,"
    "  score float8, severity text, rules text, curve text) on commit delete rows;"
    "create temp table if not exists tmp_side (customer_id text, partition int,"
    "  operating bytea, attributes bytea) on commit delete rows;"
    "create temp table if not exists tmp_grades (seq int, customer_id text, segment text,"
    "  grade text, previous text, points_grade text, points float8, capped bool, floored bool,"
    "  as_of int, reasons jsonb, scorecard text, scorecard_version text, scorecard_hash text,"
    "  actions jsonb, path jsonb)"
    "  on commit delete rows;"
    "create temp table if not exists tmp_credit (seq int, customer_id text, as_of int,"
    "  days_past_due int, arrears float8, balance float8, last_payment int)"
    "  on commit delete rows;"
    "create temp table if not exists tmp_offsets (topic text, partition int, expected bigint,"
    "  expected_state bigint, next bigint, state_next bigint) on commit delete rows;";

void store_copy_bytea(struct rbuf *b, const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;
	rbuf_reserve(b, 3 + 2 * len);
	rbuf_append(b, "\\\\x", 3);
	for (size_t i = 0; i < len; i++) {
		b->data[b->len++] = hex[p[i] >> 4];
		b->data[b->len++] = hex[p[i] & 15];
	}
}

/* SQLSTATEs after which a retry on a fresh connection can succeed. */
static int sqlstate_retryable(const char *state)
{
	if (!state)
		return 1;
	return strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
	       strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0 ||
	       strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	       strcmp(state, "53300") == 0;
}

/* Classifies a failed result (res may be NULL) into a riskd_err and writes errstr. */
int store_fail_result(struct store *st, PGresult *res, const char *what, char *errstr,
                       size_t errstr_size)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn);
	int err = (PQstatus(st->conn) == CONNECTION_BAD || sqlstate_retryable(state))
	              ? RISKD_ERR_UNAVAILABLE
	              : RISKD_ERR_IO;
	size_t n;

	snprintf(errstr, errstr_size, "%s: %s", what, msg && *msg ? msg : "no server response");
	n = strlen(errstr);
	while (n > 0 && (errstr[n - 1] == '\n' || errstr[n - 1] == ' '))
		errstr[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (errstr[i] == '\n')
			errstr[i] = ' ';
	return err;
}

/* Checks and frees the result of a command that returns no rows. */
static int command_done(struct store *st, PGresult *res, const char *what, char *errstr,
                        size_t errstr_size)
{
	int rc = 0;
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = store_fail_result(st, res, what, errstr, errstr_size);
	PQclear(res);
	return rc;
}

/* Runs a command that returns no rows. */
int store_exec(struct store *st, const char *sql, char *errstr, size_t errstr_size)
{
	return command_done(st, PQexec(st->conn, sql), sql, errstr, errstr_size);
}

int store_read_begin(struct store *st, char *errstr, size_t errstr_size)
{
	return store_exec(st, "begin transaction isolation level repeatable read, read only", errstr,
	                  errstr_size);
}

int store_read_end(struct store *st, int rc, char *errstr, size_t errstr_size)
{
	if (rc == 0)
		return store_exec(st, "commit", errstr, errstr_size);
	if (PQstatus(st->conn) == CONNECTION_OK)
		PQclear(PQexec(st->conn, "rollback"));
	return rc;
}

int store_exec_params(struct store *st, const char *sql, int n, const char *const *params,
                      const char *what, char *errstr, size_t errstr_size)
{
	return command_done(st, PQexecParams(st->conn, sql, n, NULL, params, NULL, NULL, 0), what,
	                    errstr, errstr_size);
}

static int connect_session(struct store *st, char *errstr, size_t errstr_size)
{
	char shown[STORE_DSN_SHOWN_MAX], reason[512];
	if (st->conn)
		PQfinish(st->conn);
	st->conn = NULL;
	/* libpq's message about a DSN it cannot parse quotes the DSN: show neither */
	if (store_dsn_shown(st->dsn, shown, sizeof(shown)) != 0) {
		snprintf(errstr, errstr_size, "postgres.dsn: %s", shown);
		return RISKD_ERR_INVALID;
	}
	st->conn = PQconnectdb(st->dsn);
	if (PQstatus(st->conn) != CONNECTION_OK) {
		snprintf(reason, sizeof(reason), "%s", PQerrorMessage(st->conn));
		reason[strcspn(reason, "\n")] = '\0';
		store_dsn_scrub(st->dsn, reason, sizeof(reason));
		snprintf(errstr, errstr_size, "cannot connect to PostgreSQL (%s): %s", shown, reason);
		return RISKD_ERR_UNAVAILABLE;
	}
	/* exactly the schema versions this build knows, or a message naming riskctl migrate */
	int rc = store_schema_check(st->conn, errstr, errstr_size);
	if (rc)
		return rc;
	rc = store_exec(st, session_sql, errstr, errstr_size);
	if (!rc && st->async_commit)
		rc = store_exec(st, "set synchronous_commit = off", errstr, errstr_size);
	return rc;
}

int store_open(struct store **out, const char *dsn, char *errstr, size_t errstr_size)
{
	struct store *st = xcalloc(1, sizeof(*st));
	st->dsn = xstrdup(dsn);
	int rc = connect_session(st, errstr, errstr_size);
	if (rc) {
		store_close(st);
		return rc;
	}
	*out = st;
	return 0;
}

int store_set_synchronous_commit(struct store *st, int on, char *errstr, size_t errstr_size)
{
	st->async_commit = !on;
	return store_exec(st, on ? "set synchronous_commit = on" : "set synchronous_commit = off",
	                    errstr, errstr_size);
}

void store_close(struct store *st)
{
	if (!st)
		return;
	if (st->conn)
		PQfinish(st->conn);
	rbuf_free(&st->copy);
	rbuf_free(&st->scratch);
	free(st->dsn);
	free(st);
}

int store_ensure(struct store *st, char *errstr, size_t errstr_size)
{
	if (st->conn && PQstatus(st->conn) == CONNECTION_OK) {
		PGresult *res = PQexec(st->conn, "select 1");
		int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
		PQclear(res);
		if (ok)
			return 0;
	}
	return connect_session(st, errstr, errstr_size);
}

/* ---- COPY ---- */

void store_copy_text(struct rbuf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '\\': rbuf_append(b, "\\\\", 2); break;
		case '\t': rbuf_append(b, "\\t", 2); break;
		case '\n': rbuf_append(b, "\\n", 2); break;
		case '\r': rbuf_append(b, "\\r", 2); break;
		default: rbuf_append(b, s, 1);
		}
	}
}

const char *store_partitions_text(struct store *st, const int32_t *partitions, int n)
{
	rbuf_reset(&st->scratch);
	rbuf_append(&st->scratch, "{", 1);
	for (int i = 0; i < n; i++)
		rbuf_printf(&st->scratch, "%s%d", i ? "," : "", (int)partitions[i]);
	rbuf_append(&st->scratch, "}", 2); /* with the NUL */
	return st->scratch.data;
}

void store_copy_texts(struct rbuf *b, int n, const char *const texts[])
{
	for (int i = 0; i < n; i++) {
		if (i)
			rbuf_append(b, "\t", 1);
		store_copy_text(b, texts[i]);
	}
	rbuf_append(b, "\n", 1);
}

/* Runs `sql` (a COPY ... FROM STDIN) and sends st->copy as its data. Returns 0 or a
 * riskd_err. */
static int copy_in(struct store *st, const char *sql, char *errstr, size_t errstr_size)
{
	PGresult *res = PQexec(st->conn, sql);
	int rc = 0;
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		rc = store_fail_result(st, res, sql, errstr, errstr_size);
		PQclear(res);
		return rc;
	}
	PQclear(res);
	if (st->copy.len && PQputCopyData(st->conn, st->copy.data, (int)st->copy.len) != 1) {
		rc = store_fail_result(st, NULL, sql, errstr, errstr_size);
	}
	if (PQputCopyEnd(st->conn, NULL) != 1 && !rc)
		rc = store_fail_result(st, NULL, sql, errstr, errstr_size);
	while ((res = PQgetResult(st->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && !rc)
			rc = store_fail_result(st, res, sql, errstr, errstr_size);
		PQclear(res);
	}
	return rc;
}

int store_copy_rows(struct store *st, const struct store_copy_target *t, const void *rows,
                    size_t n, char *errstr, size_t errstr_size)
{
	char sql[512];
	int rc;
	if (!n)
		return 0;
	int len = snprintf(sql, sizeof(sql), "copy %s%s%s from stdin", t->table,
	                   t->columns ? " " : "", t->columns ? t->columns : "");
	if (len < 0 || (size_t)len >= sizeof(sql)) {
		/* a target's column list longer than the statement buffer: a programming error that
		 * must not reach PostgreSQL as a truncated statement */
		snprintf(errstr, errstr_size, "copy %s: statement of %d bytes exceeds %zu", t->table,
		         len, sizeof(sql) - 1);
		return RISKD_ERR_RANGE;
	}
	rbuf_reset(&st->copy);
	t->write_rows(&st->copy, rows, n);
	if ((rc = copy_in(st, sql, errstr, errstr_size)))
		return rc;
	return t->upsert_sql ? store_exec(st, t->upsert_sql, errstr, errstr_size) : 0;
}

void store_date_text(int32_t day, char *out, size_t size)
{
	struct tm tm;
	time_t t = (time_t)day * 86400;
	gmtime_r(&t, &tm);
	snprintf(out, size, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* Writes v in decimal at p; returns the end. The hourly rows format 24 numbers a row, which
 * printf would make the slowest part of their COPY text. */
static char *put_int64(char *p, int64_t v)
{
	char digits[20];
	int n = 0;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	if (v < 0)
		*p++ = '-';
	do {
		digits[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	while (n)
		*p++ = digits[--n];
	return p;
}

void store_copy_hours(struct rbuf *b, const struct daily_hours *h)
{
	rbuf_reserve(b, 4 + DAILY_HOURS * 21);
	char *p = b->data + b->len;
	*p++ = '{';
	for (int k = 0; k < DAILY_HOURS; k++) {
		if (k)
			*p++ = ',';
		if (h->mask & (1u << k)) {
			p = put_int64(p, h->uwh[k]);
		} else {
			memcpy(p, "NULL", 4);
			p += 4;
		}
	}
	*p++ = '}';
	b->len = (size_t)(p - b->data);
}

/* Writes the rows of rows[0..n) whose `whole` is `whole` (and whose mask is not 0). */
static void write_hours(struct rbuf *b, const struct store_hours *h, size_t n, int whole)
{
	for (size_t i = 0; i < n; i++) {
		if (h[i].sums.mask == 0 || !h[i].whole != !whole)
			continue;
		store_copy_text(b, h[i].id);
		rbuf_printf(b, "\t%d\t", (int)h[i].day);
		store_copy_hours(b, &h[i].sums);
		rbuf_append(b, "\n", 1);
	}
}

void store_write_hours_rows(struct rbuf *b, const void *rows, size_t n)
{
	write_hours(b, rows, n, 0);
}

void store_write_whole_hours_rows(struct rbuf *b, const void *rows, size_t n)
{
	write_hours(b, rows, n, 1);
}
