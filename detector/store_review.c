/*
 * store_review.c - the analyst's queries (review queue, one alert, lifecycle changes, rule
 * performance) over libpq. See store_review.h.
 *
 * PostgreSQL builds every result as one JSON text (json_agg / json_build_object), which is
 * parsed here once with jansson, so the shapes live in one place next to the SQL. The session
 * runs in UTC, so timestamps read as "YYYY-MM-DDTHH:MM:SS.ffffff+00:00".
 */
#include "store_review.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "../config/riskd_base.h"
#include "store_review_int.h"


/* Copies the first line of msg into errstr, without a trailing newline. */
static void set_message(char *errstr, size_t errstr_size, const char *prefix, const char *msg)
{
	if (!msg || !*msg)
		msg = "no server response";
	size_t line = strcspn(msg, "\n");
	snprintf(errstr, errstr_size, "%s%.*s", prefix ? prefix : "", (int)line, msg);
}

/*
 * Classifies a failed result: the lifecycle functions' refusals by SQLSTATE (see
 * 004_review.sql and 009_identity.sql), connection trouble as unavailable. errstr gets the
 * server's primary message.
 */
static int fail_result(struct review_store *rv, PGresult *res, char *errstr, size_t errstr_size)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	set_message(errstr, errstr_size, NULL, primary ? primary : PQerrorMessage(rv->conn));
	if (state && strcmp(state, "23505") == 0)
		snprintf(errstr, errstr_size, "another alert of this customer and kind became active "
		                              "meanwhile; reload the queue");
	else if (state && strcmp(state, "55P03") == 0)
		snprintf(errstr, errstr_size, "the alert is being changed by another session (riskd "
		                              "or an analyst); try again");
	if (PQstatus(rv->conn) == CONNECTION_BAD || !state || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P0", 4) == 0 || strcmp(state, "53300") == 0)
		return RISKD_ERR_UNAVAILABLE;
	if (strcmp(state, "P0002") == 0)
		return RISKD_ERR_NOT_FOUND;
	if (strcmp(state, "55000") == 0 || strcmp(state, "23505") == 0 ||
	    strcmp(state, "55P03") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "40001") == 0)
		return RISKD_ERR_CONFLICT;
	if (strcmp(state, "22023") == 0 || strcmp(state, "22P02") == 0 ||
	    strcmp(state, "22003") == 0)
		return RISKD_ERR_INVALID;
	return RISKD_ERR_IO;
}

int review_query_row(struct review_store *rv, const char *sql, int n, const char *const *params,
                     PGresult **res, char *errstr, size_t errstr_size)
{
	*res = PQexecParams(rv->conn, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(*res) != PGRES_TUPLES_OK) {
		int rc = fail_result(rv, *res, errstr, errstr_size);
		PQclear(*res);
		*res = NULL;
		return rc;
	}
	return 0;
}

int review_query_json(struct review_store *rv, const char *sql, int n,
                      const char *const *params, json_t **out, char *errstr, size_t errstr_size)
{
	PGresult *res;
	int rc = review_query_row(rv, sql, n, params, &res, errstr, errstr_size);
	if (rc)
		return rc;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		snprintf(errstr, errstr_size, "no such row");
		rc = RISKD_ERR_NOT_FOUND;
		goto done;
	}
	json_error_t jerr;
	*out = json_loadb(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0), 0, &jerr);
	if (!*out) {
		snprintf(errstr, errstr_size, "server sent invalid JSON: %s", jerr.text);
		rc = RISKD_ERR_IO;
	}
done:
	PQclear(res);
	return rc;
}

static int exec_simple(struct review_store *rv, const char *sql, char *errstr,
                       size_t errstr_size)
{
	PGresult *res = PQexec(rv->conn, sql);
	int rc = 0;
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = fail_result(rv, res, errstr, errstr_size);
	PQclear(res);
	return rc;
}

int review_store_setup(struct review_store *rv, const char *role, char *errstr,
                       size_t errstr_size)
{
	char *role_ident = NULL, *set_role = NULL;
	PGresult *res = NULL;
	int rc;

	role_ident = PQescapeIdentifier(rv->conn, role, strlen(role));
	if (!role_ident) {
		set_message(errstr, errstr_size, "bad role name: ", PQerrorMessage(rv->conn));
		rc = RISKD_ERR_INVALID;
		goto fail;
	}
	size_t len = strlen(role_ident) + 16;
	set_role = xmalloc(len);
	snprintf(set_role, len, "set role %s", role_ident);
	if ((rc = exec_simple(rv, set_role, errstr, errstr_size))) {
		char why[512];
		snprintf(why, sizeof(why), "%s", errstr);
		snprintf(errstr, errstr_size, "cannot act as database role %s: %s", role, why);
		if (rc != RISKD_ERR_UNAVAILABLE)
			rc = RISKD_ERR_IO;
		goto fail;
	}
	if ((rc = exec_simple(rv, "set timezone = 'UTC'; set lock_timeout = '10s';"
	                          " set statement_timeout = '60s'", errstr, errstr_size)))
		goto fail;
	res = PQexec(rv->conn, "select to_regprocedure('risk.alert_release(text,text)') is not null,"
	                       " session_user");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = fail_result(rv, res, errstr, errstr_size);
		goto fail;
	}
	if (PQgetvalue(res, 0, 0)[0] != 't') {
		snprintf(errstr, errstr_size, "the database has no review queue with analyst identity "
		                              "(apply the deploy/sql migrations up to 009_identity.sql)");
		rc = RISKD_ERR_INVALID;
		goto fail;
	}
	snprintf(rv->login, sizeof(rv->login), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	PQfreemem(role_ident);
	free(set_role);
	return 0;

fail:
	PQclear(res);
	if (role_ident)
		PQfreemem(role_ident);
	free(set_role);
	review_store_close(rv);
	return rc;
}

int review_store_open(struct review_store **out, const char *dsn, const char *role,
                      char *errstr, size_t errstr_size)
{
	struct review_store *rv = xcalloc(1, sizeof(*rv));
	rv->conn = PQconnectdb(dsn);
	if (PQstatus(rv->conn) != CONNECTION_OK) {
		set_message(errstr, errstr_size, "cannot connect to PostgreSQL: ",
		            PQerrorMessage(rv->conn));
		review_store_close(rv);
		return RISKD_ERR_UNAVAILABLE;
	}
	int rc = review_store_setup(rv, role, errstr, errstr_size);
	if (rc == 0)
		*out = rv;
	return rc;
}

const char *review_store_login(const struct review_store *rv)
{
	return rv->login;
}

const char *review_store_database(const struct review_store *rv)
{
	return PQdb(rv->conn);
}

void review_store_close(struct review_store *rv)
{
	if (!rv)
		return;
	PQfinish(rv->conn);
	free(rv);
}

static const char *const list_sql =
    "select coalesce(json_agg(q order by q.priority), '[]')::text from ("
    " select row_number() over (order by a.score desc, risk.severity_rank(a.severity) desc,"
    "   a.opened_at, a.alert_id) as priority,"
    "  a.alert_id, a.customer_id, a.kind, a.status, a.analyst, a.score, a.severity,"
    "  risk.rule_ids(a.rules) as rule_ids, a.ruleset_name, a.ruleset_version,"
    "  a.first_day, a.last_day, a.firings, a.opened_at, a.last_seen, a.claimed_at,"
    "  extract(epoch from now() - a.opened_at)::float8 as age_s,"
    "  a.disposition, a.closed_at, c.segment, c.transformer_id,"
    "  ar.loss_rate as area_loss_rate,"
    "  case when $5::boolean then a.rules end as rules,"
    "  case when $5::boolean then a.curve end as curve"
    " from risk.alerts a"
    " left join risk.customers c on c.customer_id = a.customer_id"
    " left join risk.v_area_latest ar on ar.transformer_id = c.transformer_id"
    " where (case coalesce($1::text, 'active')"
    "          when 'all' then true"
    "          when 'active' then a.status in ('open', 'in_review')"
    "          else a.status = $1::text end)"
    "   and ($2::text is null or a.kind = $2::text)"
    "   and ($3::text is null or c.transformer_id = $3::text)"
    " order by priority limit $4::integer) q";

int review_list(struct review_store *rv, const struct review_filter *f, json_t **out,
                char *errstr, size_t errstr_size)
{
	char limit[16];
	snprintf(limit, sizeof(limit), "%d", f->limit);
	const char *params[5] = {f->status, f->kind, f->area, limit, f->with_detail ? "t" : "f"};
	return review_query_json(rv, list_sql, 5, params, out, errstr, errstr_size);
}

/* Firing days come from the audit rows of riskd's firings; a tamper day is a firing's day
 * minus the days_since_tamper evidence it carried (the newest tamper event at that time). */
static const char *const show_sql =
    "select json_build_object("
    " 'alert', to_jsonb(a),"
    " 'customer', (select to_jsonb(c) from risk.customers c"
    "              where c.customer_id = a.customer_id),"
    " 'area', (select to_jsonb(l) from risk.v_area_latest l"
    "          join risk.customers c on c.transformer_id = l.transformer_id"
    "          where c.customer_id = a.customer_id),"
    " 'grade', risk.customer_grade(a.customer_id),"
    " 'stolen_energy', risk.alert_stolen_energy(a), 'backbill', risk.alert_backbill(a),"
    " 'queue', (select json_build_object('position', q.priority,"
    "                                    'size', (select count(*) from risk.v_review_queue))"
    "           from risk.v_review_queue q where q.alert_id = a.alert_id),"
    " 'fired_days', (select coalesce(json_agg(distinct f.day order by f.day), '[]')"
    "   from (select coalesce(e.after->>'day', e.after->>'last_day')::date as day"
    "         from risk.alert_events e"
    "         where e.alert_id = a.alert_id and e.action in ('opened', 'updated')) f"
    "   where f.day is not null),"
    " 'tamper_days', (select coalesce(json_agg(distinct t.day order by t.day), '[]')"
    "   from (select coalesce(e.after->>'day', e.after->>'last_day')::date"
    "                - round((r->'evidence'->>'days_since_tamper')::numeric)::integer as day"
    "         from risk.alert_events e"
    "         cross join lateral jsonb_array_elements(e.after->'rules') r"
    "         where e.alert_id = a.alert_id and e.action in ('opened', 'updated')"
    "           and jsonb_typeof(r->'evidence'->'days_since_tamper') = 'number') t),"
    " 'events', (select coalesce(json_agg(json_build_object('id', e.id, 'at', e.at,"
    "     'actor', e.actor, 'action', e.action, 'db_user', e.db_user, 'before', e.before,"
    "     'after', e.after) order by e.id), '[]')"
    "   from risk.alert_events e where e.alert_id = a.alert_id),"
    " 'suppressions', (select coalesce(json_agg(to_jsonb(s) order by s.id), '[]')"
    "   from risk.suppressions s where s.customer_id = a.customer_id and s.kind = a.kind)"
    ")::text from risk.alerts a where a.alert_id = $1";

int review_show(struct review_store *rv, const char *alert_id, json_t **out, char *errstr,
                size_t errstr_size)
{
	const char *params[1] = {alert_id};
	int rc = review_query_json(rv, show_sql, 1, params, out, errstr, errstr_size);
	if (rc == RISKD_ERR_NOT_FOUND)
		snprintf(errstr, errstr_size, "alert %s not found", alert_id);
	return rc;
}

int review_call_lifecycle(struct review_store *rv, const char *sql, int n,
                          const char *const *params, int *result, char *errstr,
                          size_t errstr_size)
{
	PGresult *res;
	int rc = review_query_row(rv, sql, n, params, &res, errstr, errstr_size);
	if (rc)
		return rc;
	if (result)
		*result = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return 0;
}

int review_claim(struct review_store *rv, const char *alert_id, const char *analyst,
                 int *changed, char *errstr, size_t errstr_size)
{
	const char *params[2] = {alert_id, analyst};
	return review_call_lifecycle(rv, "select risk.alert_claim($1, $2)", 2, params, changed, errstr,
	                      errstr_size);
}

int review_resolve(struct review_store *rv, const char *alert_id, const char *analyst,
                   const char *disposition, const char *note, int suppress_days, int *closed,
                   char *errstr, size_t errstr_size)
{
	char days[16];
	snprintf(days, sizeof(days), "%d", suppress_days);
	const char *params[5] = {alert_id, analyst, disposition, note,
	                         suppress_days >= 0 ? days : NULL};
	return review_call_lifecycle(rv, "select risk.alert_resolve($1, $2, $3, $4, $5::integer)", 5,
	                             params, closed, errstr, errstr_size);
}

int review_release(struct review_store *rv, const char *alert_id, const char *note,
                   char *errstr, size_t errstr_size)
{
	const char *params[2] = {alert_id, note};
	return review_call_lifecycle(rv, "select risk.alert_release($1, $2)", 2, params, NULL, errstr,
	                      errstr_size);
}

int review_reopen(struct review_store *rv, const char *alert_id, const char *analyst,
                  const char *note, char *errstr, size_t errstr_size)
{
	const char *params[3] = {alert_id, analyst, note};
	return review_call_lifecycle(rv, "select risk.alert_reopen($1, $2, $3)", 3, params, NULL, errstr,
	                      errstr_size);
}

static const char *const inspection_sql =
    "select coalesce(json_agg(v order by v.rank), '[]')::text from ("
    " select * from risk.v_inspection_list l"
    " where $1::text is null or l.transformer_id = $1::text"
    " order by l.rank limit $2::integer) v";

int review_inspection_list(struct review_store *rv, const char *area, int budget, json_t **out,
                           char *errstr, size_t errstr_size)
{
	char limit[16];
	snprintf(limit, sizeof(limit), "%d", budget);
	const char *params[2] = {area, budget > 0 ? limit : NULL};
	return review_query_json(rv, inspection_sql, 2, params, out, errstr, errstr_size);
}

static const char *const rule_stats_sql =
    "select coalesce(json_agg((to_jsonb(v) - 'median_time_to_disposition')"
    "   || jsonb_build_object('median_time_to_disposition_s',"
    "        extract(epoch from v.median_time_to_disposition)::float8)"
    "   order by v.ruleset_name, v.ruleset_version, v.rule_id), '[]')::text"
    " from risk.v_rule_performance v where $1::text is null or v.ruleset_name = $1::text";

int review_rule_stats(struct review_store *rv, const char *ruleset, json_t **out,
                      char *errstr, size_t errstr_size)
{
	const char *params[1] = {ruleset};
	return review_query_json(rv, rule_stats_sql, 1, params, out, errstr, errstr_size);
}
