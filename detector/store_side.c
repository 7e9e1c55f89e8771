/*
 * store_side.c - the store's writes and reads of what riskd keeps beside a customer's state
 * (store_side.h): the batch's operating-risk warnings through risk.raise_alert, and the side
 * snapshots in risk.customer_side.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "store_side.h"

static void write_op_alert_rows(struct rbuf *b, const void *rows, size_t n)
{
	const struct store_op_alert *a = rows;
	for (size_t i = 0; i < n; i++) {
		rbuf_printf(b, "%zu\t", i);
		store_copy_text(b, a[i].customer_id);
		rbuf_printf(b, "\t%d\t%.17g\t%s\t", (int)a[i].day, a[i].score, a[i].severity);
		store_copy_texts(b, 2, (const char *const[]){a[i].rules_json, a[i].curve_json});
	}
}

/* A bytea column, or null when there are no bytes. */
static void copy_part(struct rbuf *b, const uint8_t *bytes, size_t len)
{
	if (len)
		store_copy_bytea(b, bytes, len);
	else
		rbuf_puts(b, "\\N");
}

static void write_side_rows(struct rbuf *b, const void *rows, size_t n)
{
	const struct store_side_snapshot *s = rows;
	for (size_t i = 0; i < n; i++) {
		store_copy_text(b, s[i].customer_id);
		rbuf_printf(b, "\t%d\t", (int)s[i].partition);
		copy_part(b, s[i].operating, s[i].operating_len);
		rbuf_append(b, "\t", 1);
		copy_part(b, s[i].attributes, s[i].attributes_len);
		rbuf_append(b, "\n", 1);
	}
}

static const struct store_copy_target op_alerts_target = {"tmp_op_alerts", NULL, NULL,
                                                          write_op_alert_rows};

/* A customer's side snapshot replaces its row; one without any part is deleted. */
static const struct store_copy_target side_target = {
    "tmp_side", NULL,
    "delete from risk.customer_side s using tmp_side t where s.customer_id = t.customer_id"
    " and t.operating is null and t.attributes is null;"
    "insert into risk.customer_side as s (customer_id, partition, operating, attributes,"
    " updated_at) select customer_id, partition, operating, attributes, now() from tmp_side"
    " where operating is not null or attributes is not null"
    " on conflict (customer_id) do update set partition = excluded.partition,"
    " operating = excluded.operating, attributes = excluded.attributes, updated_at = now()",
    write_side_rows};

/* Raises the batch's operating-risk warnings in order (risk.raise_alert, kind
 * operating_risk: suppressed rules left out, published to the review topic). Returns how
 * many opened a new warning (the rest updated an open one), or a riskd_err. */
static int raise_op_alerts(struct store *st, const struct store_side_rows *side,
                           const char *review_topic, char *errstr, size_t errstr_size)
{
	char threshold[32];
	snprintf(threshold, sizeof threshold, "%.17g", side->alert_threshold);
	const char *params[5] = {side->ruleset_name, side->ruleset_version, side->ruleset_hash,
	                         threshold, review_topic};
	int rc = store_copy_rows(st, &op_alerts_target, side->alerts, side->alert_count, errstr,
	                         errstr_size);
	if (rc)
		return rc;
	PGresult *res = PQexecParams(
	    st->conn,
	    "select count(*) filter (where opened) from (select (risk.raise_alert(customer_id,"
	    " 'operating_risk', date '1970-01-01' + day, score, severity, rules::jsonb, $1, $2, $3,"
	    " curve::jsonb, $4::float8, $5)).opened from tmp_op_alerts order by seq) r",
	    5, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = store_fail_result(st, res, "raise operating-risk warnings", errstr, errstr_size);
	else
		rc = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

int store_write_side(struct store *st, struct store_batch *b, char *errstr,
                     size_t errstr_size)
{
	const struct store_side_rows *side = b->side;
	b->op_alerts_opened = 0;
	if (!side || (!side->alert_count && !side->snapshot_count))
		return 0;
	int rc = 0; /* into the session's temp tables (store_conn.c) */
	if (side->alert_count) {
		rc = raise_op_alerts(st, side, b->review_topic, errstr, errstr_size);
		if (rc < 0)
			return rc;
		b->op_alerts_opened = rc;
		rc = 0;
	}
	if (!rc)
		rc = store_copy_rows(st, &side_target, side->snapshots, side->snapshot_count, errstr,
		                     errstr_size);
	return rc;
}

int store_load_side(struct store *st, const int32_t *partitions, int n,
                    int (*fn)(const char *id, const uint8_t *operating, size_t operating_len,
                              const uint8_t *attributes, size_t attributes_len, void *arg),
                    void *arg, char *errstr, size_t errstr_size)
{
	const char *params[1] = {store_partitions_text(st, partitions, n)};
	int rc = 0;
	PGresult *res = PQexecParams(st->conn,
	                             "select customer_id, operating, attributes"
	                             " from risk.customer_side where partition = any($1::int[])",
	                             1, NULL, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = store_fail_result(st, res, "load side state", errstr, errstr_size);
	for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
		char id[RISKD_ID_MAX + 1];
		riskd_strlcpy(id, sizeof id, PQgetvalue(res, r, 0), (size_t)PQgetlength(res, r, 0));
		int has_op = !PQgetisnull(res, r, 1), has_attrs = !PQgetisnull(res, r, 2);
		rc = fn(id, has_op ? (const uint8_t *)PQgetvalue(res, r, 1) : NULL,
		        has_op ? (size_t)PQgetlength(res, r, 1) : 0,
		        has_attrs ? (const uint8_t *)PQgetvalue(res, r, 2) : NULL,
		        has_attrs ? (size_t)PQgetlength(res, r, 2) : 0, arg);
	}
	PQclear(res);
	return rc;
}
