/*
 * store_console.c - the analyst console's queries over libpq: analyst login as their own
 * login role, the queue page, the alert page's extra context, the customer page, and the
 * lifecycle functions of deploy/sql/013_console.sql. See store_console.h.
 *
 * Like store_review.c, PostgreSQL builds every result as one JSON text next to its SQL.
 */
#include "store_console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "../config/riskd_base.h"
#include "store_review_int.h"

/* Whether a failed connection's message says the server refused the login (as opposed to
 * not being reachable). */
static int login_was_refused(PGconn *conn)
{
	const char *msg = PQerrorMessage(conn);
	return PQconnectionUsedPassword(conn) || PQconnectionNeedsPassword(conn) ||
	       strstr(msg, "authentication") || strstr(msg, "pg_hba") || strstr(msg, "role") ||
	       strstr(msg, "password");
}

int console_login(struct review_store **out, int *is_lead, const char *dsn, const char *user,
                  const char *password, char *errstr, size_t errstr_size)
{
	const char *const keys[] = {"dbname", "user", "password", "application_name", NULL};
	const char *const values[] = {dsn, user, password, "riskd-console", NULL};
	struct review_store *rv = xcalloc(1, sizeof(*rv));
	PGresult *res = NULL;
	int rc = RISKD_ERR_IO;

	if (!*user || !*password) {
		snprintf(errstr, errstr_size, "login refused: a user name and a password are required");
		free(rv);
		return RISKD_ERR_IO;
	}
	rv->conn = PQconnectdbParams(keys, values, 1);
	if (PQstatus(rv->conn) != CONNECTION_OK) {
		if (login_was_refused(rv->conn)) {
			snprintf(errstr, errstr_size, "login refused: wrong user name or password");
		} else {
			size_t line = strcspn(PQerrorMessage(rv->conn), "\n");
			snprintf(errstr, errstr_size, "cannot connect to PostgreSQL: %.*s", (int)line,
			         PQerrorMessage(rv->conn));
			rc = RISKD_ERR_UNAVAILABLE;
		}
		goto fail;
	}
	if (!PQconnectionUsedPassword(rv->conn)) {
		snprintf(errstr, errstr_size, "login refused: the database did not ask for a password "
		                              "(console.database must require password logins)");
		goto fail;
	}
	res = PQexec(rv->conn, "select pg_has_role(session_user, 'risk_analyst', 'MEMBER'),"
	                       " pg_has_role(session_user, 'risk_lead', 'MEMBER'),"
	                       " (select rolsuper from pg_roles where rolname = session_user)");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		snprintf(errstr, errstr_size, "login refused: cannot read the role's memberships");
		goto fail;
	}
	if (PQgetvalue(res, 0, 2)[0] == 't') {
		snprintf(errstr, errstr_size, "login refused: a superuser cannot work the queue (log in "
		                              "as an analyst's own role)");
		goto fail;
	}
	if (PQgetvalue(res, 0, 0)[0] != 't') {
		snprintf(errstr, errstr_size, "login refused: %s is not a member of risk_analyst", user);
		goto fail;
	}
	*is_lead = PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	rc = review_store_setup(rv, "risk_analyst", errstr, errstr_size);
	if (rc == 0)
		*out = rv;
	return rc; /* review_store_setup closed rv on failure */

fail:
	PQclear(res);
	review_store_close(rv);
	return rc;
}

/* The filter's rows ($1..$8) go through a not-materialized CTE: counted once, then paged and
 * joined back for the columns the page shows, so 100,000 alerts never leave the server. */
static const char *const queue_sql =
    "with m as not materialized ("
    " select a.alert_id, a.score, a.opened_at, risk.severity_rank(a.severity) as sev"
    " from risk.alerts a"
    " where (case coalesce($1::text, 'active')"
    "          when 'all' then true"
    "          when 'active' then a.status in ('open', 'in_review')"
    "          else a.status = $1::text end)"
    "   and ($2::text is null or a.kind = $2::text)"
    "   and ($3::text is null or a.severity = $3::text)"
    "   and ($4::text is null or a.rules @> jsonb_build_array(jsonb_build_object('id', $4::text)))"
    "   and ($5::text is null and $6::text is null or exists (select 1 from risk.customers c"
    "        where c.customer_id = a.customer_id"
    "          and ($5::text is null or c.transformer_id = $5::text)"
    "          and ($6::text is null or c.segment = $6::text)))"
    "   and (case coalesce($7::text, '')"
    "          when 'me' then a.analyst = session_user::text"
    "          when 'anyone' then a.analyst is not null"
    "          when 'none' then a.analyst is null else true end)"
    "   and ($8::integer = 0 or a.opened_at <= now() - make_interval(days => $8::integer))"
    "), page as ("
    " select m.alert_id, row_number() over () as n from ("
    "  select m.alert_id from m"
    "  order by case when $9::boolean then m.opened_at end, m.score desc, m.sev desc,"
    "           m.opened_at, m.alert_id"
    "  limit $10::integer offset $11::integer) m"
    ")"
    "select json_build_object("
    " 'total', (select count(*) from m),"
    " 'counts', (select json_build_object("
    "     'open', coalesce(sum(n) filter (where status = 'open'), 0),"
    "     'in_review', coalesce(sum(n) filter (where status = 'in_review'), 0),"
    "     'closed', coalesce(sum(n) filter (where status = 'closed'), 0))"
    "   from (select status, count(*) as n from risk.alerts group by status) s),"
    " 'mine', (select count(*) from risk.alerts"
    "          where analyst = session_user::text and status = 'in_review'),"
    " 'rows', (select coalesce(json_agg(json_build_object("
    "     'alert_id', a.alert_id, 'customer_id', a.customer_id, 'kind', a.kind,"
    "     'status', a.status, 'analyst', a.analyst, 'score', a.score, 'severity', a.severity,"
    "     'rule_ids', risk.rule_ids(a.rules), 'first_day', a.first_day, 'last_day', a.last_day,"
    "     'firings', a.firings, 'opened_at', a.opened_at,"
    "     'age_s', extract(epoch from now() - a.opened_at)::float8,"
    "     'disposition', a.disposition, 'segment', c.segment,"
    "     'transformer_id', c.transformer_id,"
    "     'curve', case when $12::boolean then a.curve end,"
    "     'approval_pending', exists (select 1 from risk.alert_approvals p"
    "                                 where p.alert_id = a.alert_id))"
    "     order by page.n), '[]')"
    "   from page join risk.alerts a on a.alert_id = page.alert_id"
    "   left join risk.customers c on c.customer_id = a.customer_id)"
    ")::text";

int console_queue(struct review_store *rv, const struct console_queue_filter *f, json_t **out,
                  char *errstr, size_t errstr_size)
{
	char age[16], limit[16], offset[16];
	snprintf(age, sizeof(age), "%d", f->min_age_days);
	snprintf(limit, sizeof(limit), "%d", f->limit);
	snprintf(offset, sizeof(offset), "%d", f->offset);
	const char *params[12] = {f->status, f->kind,    f->severity,  f->rule,
	                          f->area,   f->segment, f->assigned,  age,
	                          f->sort_by_age ? "t" : "f", limit, offset,
	                          f->with_curve ? "t" : "f"};
	return review_query_json(rv, queue_sql, 12, params, out, errstr, errstr_size);
}

/* The customer's payment status and last grades, shared by the alert and customer pages
 * ($1 is the customer id). */
#define CUSTOMER_CREDIT_SQL(customer)                                                          \
	" 'credit', (select to_jsonb(cc) from risk.customer_credit cc"                             \
	"            where cc.customer_id = " customer "),"                                        \
	" 'grade_history', (select coalesce(json_agg(json_build_object('as_of', h.as_of,"          \
	"     'grade', h.grade, 'points', h.points, 'capped', h.capped, 'policy', h.policy)"       \
	"     order by h.as_of desc, h.id desc), '[]')"                                            \
	"   from (select * from risk.credit_grade_history x where x.customer_id = " customer       \
	"         order by x.as_of desc, x.id desc limit 12) h),"                                  \
	" 'alerts', (select coalesce(json_agg(json_build_object('alert_id', o.alert_id,"          \
	"     'status', o.status, 'score', o.score, 'severity', o.severity,"                       \
	"     'first_day', o.first_day, 'last_day', o.last_day, 'analyst', o.analyst,"             \
	"     'disposition', o.disposition, 'note', o.note)"                                       \
	"     order by o.opened_at desc, o.alert_id), '[]')"                                       \
	"   from risk.alerts o where o.customer_id = " customer ")"

/* The days of an alert's hourly picture: three before its first firing day (at most 21 in
 * all) to three after its last. */
#define HOURS_FROM "greatest(a.first_day - 3, a.last_day - 17)"
#define HOURS_TO "a.last_day + 3"
/* The customer's hourly sums on those days, [{day, kwh: 24 numbers or nulls}] in day order:
 * each day's row plus its parts (late readings not yet folded in), slot by slot; a slot no
 * reading began in stays null. */
#define ALERT_HOURS_SQL                                                                      \
	"(select coalesce(json_agg(json_build_object('day', y.day, 'kwh', y.kwh) order by y.day),"  \
	" '[]') from (select x.day, array_agg(round(x.uwh / 1e6, 4) order by x.h) as kwh"          \
	"  from (select u.day, s.h, sum(s.v) as uwh"                                                \
	"   from (select day, uwh from risk.hourly_usage where customer_id = a.customer_id"        \
	"          and day between " HOURS_FROM " and " HOURS_TO                                      \
	"         union all select date '1970-01-01' + day, uwh from risk.hourly_usage_part"      \
	"          where customer_id = a.customer_id and day between " HOURS_FROM                    \
	"          - date '1970-01-01' and " HOURS_TO " - date '1970-01-01') u,"                     \
	"        unnest(u.uwh) with ordinality s(v, h) group by u.day, s.h) x"                     \
	"  group by x.day) y)"
/* Each hour's mean over the 28 days before the first firing day (24 numbers or nulls). */
#define HOUR_BASELINE_SQL                                                                    \
	"(select json_agg(round(b.uwh / 1e6, 4) order by b.h) from (select s.h, avg(s.v) as uwh"  \
	"  from risk.hourly_usage u, unnest(u.uwh) with ordinality s(v, h)"                        \
	"  where u.customer_id = a.customer_id"                                                      \
	"    and u.day between a.first_day - 28 and a.first_day - 1 group by s.h) b)"

static const char *const alert_context_sql =
    "select json_build_object("
    " 'approval', (select to_jsonb(p) from risk.alert_approvals p where p.alert_id = a.alert_id),"
    " 'area_balance', (select coalesce(json_agg(json_build_object('day', b.day,"
    "     'kwh', 100 * b.loss_rate, 'baseline', 100 * b.baseline_loss_rate) order by b.day), '[]')"
    "   from risk.customers c join risk.area_balance b on b.transformer_id = c.transformer_id"
    "   where c.customer_id = a.customer_id"
    "     and b.day between a.last_day - 59 and a.last_day),"
    " 'hours', " ALERT_HOURS_SQL ","
    " 'hour_baseline', " HOUR_BASELINE_SQL ","
    CUSTOMER_CREDIT_SQL("a.customer_id")
    ")::text from risk.alerts a where a.alert_id = $1";

/* Runs sql, whose one parameter is id, into *out; "<what> <id> not found" when it returns
 * nothing. Returns 0 or a riskd_err. */
static int query_by_id(struct review_store *rv, const char *sql, const char *what,
                       const char *id, json_t **out, char *errstr, size_t errstr_size)
{
	const char *params[1] = {id};
	int rc = review_query_json(rv, sql, 1, params, out, errstr, errstr_size);
	if (rc == RISKD_ERR_NOT_FOUND)
		snprintf(errstr, errstr_size, "%s %s not found", what, id);
	return rc;
}

int console_alert_context(struct review_store *rv, const char *alert_id, json_t **out,
                          char *errstr, size_t errstr_size)
{
	return query_by_id(rv, alert_context_sql, "alert", alert_id, out, errstr, errstr_size);
}

static const char *const customer_sql =
    "select case when p.customer is null and not exists (select 1 from risk.alerts"
    "   where customer_id = $1) then null else json_build_object("
    " 'customer_id', $1::text, 'customer', p.customer,"
    " 'grade', (select to_jsonb(g) from risk.credit_grades g where g.customer_id = $1),"
    " 'area', (select to_jsonb(l) from risk.v_area_latest l"
    "          where l.transformer_id = p.customer->>'transformer_id'),"
    CUSTOMER_CREDIT_SQL("$1")
    ")::text end from (select (select to_jsonb(c) from risk.customers c"
    "                          where c.customer_id = $1) as customer) p";

int console_customer(struct review_store *rv, const char *customer_id, json_t **out,
                     char *errstr, size_t errstr_size)
{
	return query_by_id(rv, customer_sql, "customer", customer_id, out, errstr, errstr_size);
}

int review_comment(struct review_store *rv, const char *alert_id, const char *note,
                   char *errstr, size_t errstr_size)
{
	const char *params[2] = {alert_id, note};
	return review_call_lifecycle(rv, "select risk.alert_comment($1, $2)", 2, params, NULL,
	                             errstr, errstr_size);
}

int review_assign(struct review_store *rv, const char *alert_id, const char *to, int *changed,
                  char *errstr, size_t errstr_size)
{
	const char *params[2] = {alert_id, to};
	return review_call_lifecycle(rv, "select risk.alert_assign($1, $2)", 2, params, changed,
	                             errstr, errstr_size);
}

int review_approve(struct review_store *rv, const char *alert_id, const char *note,
                   char *errstr, size_t errstr_size)
{
	const char *params[2] = {alert_id, note};
	return review_call_lifecycle(rv, "select risk.alert_approve($1, $2)", 2, params, NULL,
	                             errstr, errstr_size);
}
