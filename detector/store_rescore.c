/*
 * store_rescore.c - the pending customer-days of detector/rescore.c in PostgreSQL: claiming
 * an area's ready days (risk.claim_pending_scores, deploy/sql/021_area_rescore.sql) and
 * committing their alerts in the same transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "../config/riskd_base.h"
#include "store_int.h"

static void rollback_quietly(struct store *st)
{
	if (PQstatus(st->conn) == CONNECTION_OK)
		PQclear(PQexec(st->conn, "rollback"));
}

void store_rescore_claim_free(struct store_rescore_claim *c)
{
	PQclear(c->result);
	free(c->days);
	memset(c, 0, sizeof(*c));
}

int store_rescore_claim(struct store *st, int late_days, struct store_rescore_claim *c,
                        char *errstr, size_t errstr_size)
{
	char late[16];
	snprintf(late, sizeof(late), "%d", late_days);
	const char *params[1] = {late};
	PQclear(c->result);
	c->result = NULL;
	c->count = 0;
	int rc = store_exec(st, "begin", errstr, errstr_size);
	if (rc)
		return rc;
	/* binary results: the snapshot's bytes as they are, the texts as they are */
	PGresult *res = PQexecParams(st->conn,
	                             "select transformer_id, customer_id, day::text, snapshot, raised::int::text"
	                             " from risk.claim_pending_scores($1::integer)",
	                             1, NULL, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = store_fail_result(st, res, "claim pending scores", errstr, errstr_size);
		PQclear(res);
		rollback_quietly(st);
		return rc;
	}
	size_t n = (size_t)PQntuples(res);
	if (n == 0) {
		PQclear(res);
		return store_exec(st, "commit", errstr, errstr_size);
	}
	if (n > c->cap) {
		c->cap = n;
		c->days = xrealloc(c->days, sizeof(*c->days) * n);
	}
	for (size_t i = 0; i < n; i++) {
		int r = (int)i;
		c->days[i] = (struct store_pending_day){
		    .transformer_id = PQgetvalue(res, r, 0),
		    .customer_id = PQgetvalue(res, r, 1),
		    .day = (int32_t)strtol(PQgetvalue(res, r, 2), NULL, 10),
		    .snapshot = (const uint8_t *)PQgetvalue(res, r, 3),
		    .len = (size_t)PQgetlength(res, r, 3),
		    .raised = PQgetvalue(res, r, 4)[0] == '1',
		};
	}
	c->result = res;
	c->count = n;
	return (int)n;
}

int store_rescore_commit(struct store *st, struct store_batch *b, char *errstr,
                         size_t errstr_size)
{
	int rc = store_write_scorings(st, b, errstr, errstr_size);
	if (rc) {
		rollback_quietly(st);
		return rc;
	}
	return store_exec(st, "commit", errstr, errstr_size);
}

void store_rescore_abort(struct store *st)
{
	rollback_quietly(st);
}
