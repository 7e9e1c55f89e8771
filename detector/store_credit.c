/*
 * store_credit.c - the store's credit writes (grade changes with their history and outbox
 * messages, payment status rows) and its read of the analysts' confirmed-theft feedback.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static void write_grade_rows(struct rbuf *b, const void *rows, size_t n)
{
	const struct store_grade *g = rows;
	for (size_t i = 0; i < n; i++) {
		rbuf_printf(b, "%zu\t", i);
		store_copy_text(b, g[i].customer_id);
		rbuf_printf(b, "\t%s\t%s\t%s\t%s\t%.17g\t%s\t%s\t%d\t", g[i].segment, g[i].grade,
		            g[i].previous ? g[i].previous : "\\N", g[i].points_grade, g[i].points,
		            g[i].capped ? "t" : "f", g[i].floored ? "t" : "f", (int)g[i].as_of);
		store_copy_texts(b, 6,
		                 (const char *const[]){g[i].reasons_json, g[i].scorecard,
		                                       g[i].scorecard_version, g[i].scorecard_hash,
		                                       g[i].actions_json, g[i].path_json});
	}
}

static void write_credit_rows(struct rbuf *b, const void *rows, size_t n)
{
	const struct store_credit *c = rows;
	for (size_t i = 0; i < n; i++) {
		rbuf_printf(b, "%zu\t", i);
		store_copy_text(b, c[i].customer_id);
		rbuf_printf(b, "\t%d\t%d\t%.2f\t%.2f\t", (int)c[i].as_of, (int)c[i].days_past_due,
		            c[i].arrears, c[i].balance_owed);
		if (c[i].last_payment_day != INT32_MIN)
			rbuf_printf(b, "%d\n", (int)c[i].last_payment_day);
		else
			rbuf_puts(b, "\\N\n");
	}
}

/* The service policy's actions and the path to a better grade, as the columns that follow
 * changed_at in risk.credit_grades (deploy/sql/014_grade_actions.sql), from tmp_grades t. */
#define GRADE_ACTIONS_SQL(t)                                                                    \
	" (" t ".actions->>'deposit_multiple')::numeric,"                                         \
	" (" t ".actions->>'prepayment_required')::boolean,"                                      \
	" (" t ".actions->>'payment_plan_eligible')::boolean,"                                    \
	" (" t ".actions->>'reminder_days')::integer,"                                            \
	" (" t ".actions->>'disconnection_notice_eligible')::boolean,"                            \
	" nullif(" t ".path, 'null'::jsonb)"
#define GRADE_ACTION_COLUMNS                                                                    \
	" deposit_multiple, prepayment_required, payment_plan_eligible, reminder_days,"          \
	" disconnection_notice_eligible, path_to_better_grade"

/* Grade changes in batch order: history rows, the current grade (the batch's last change of
 * each customer), and one message per change through the outbox. */
static const char *const write_grades_sql =
    "with hist as ("
    " insert into risk.credit_grade_history (customer_id, grade, previous_grade, points,"
    "  points_grade, capped, floored, reasons, scorecard, scorecard_version, scorecard_hash,"
    "  policy, as_of," GRADE_ACTION_COLUMNS ")"
    " select customer_id, grade, previous, points, points_grade, capped, floored,"
    "  reasons, scorecard, scorecard_version, scorecard_hash, $1,"
    "  date '1970-01-01' + as_of," GRADE_ACTIONS_SQL("t")
    " from tmp_grades t order by seq), "
    "cur as ("
    " insert into risk.credit_grades as g (customer_id, grade, previous_grade, points,"
    "  points_grade, capped, floored, reasons, scorecard, scorecard_version, scorecard_hash,"
    "  policy, as_of, changed_at," GRADE_ACTION_COLUMNS ")"
    " select distinct on (customer_id) customer_id, grade, previous, points, points_grade,"
    "  capped, floored, reasons, scorecard, scorecard_version, scorecard_hash, $1,"
    "  date '1970-01-01' + as_of, now()," GRADE_ACTIONS_SQL("t")
    " from tmp_grades t order by customer_id, seq desc"
    " on conflict (customer_id) do update set grade = excluded.grade,"
    "  previous_grade = excluded.previous_grade, points = excluded.points,"
    "  points_grade = excluded.points_grade, capped = excluded.capped,"
    "  floored = excluded.floored, reasons = excluded.reasons, scorecard = excluded.scorecard,"
    "  scorecard_version = excluded.scorecard_version,"
    "  scorecard_hash = excluded.scorecard_hash, policy = excluded.policy,"
    "  as_of = excluded.as_of, changed_at = excluded.changed_at,"
    "  deposit_multiple = excluded.deposit_multiple,"
    "  prepayment_required = excluded.prepayment_required,"
    "  payment_plan_eligible = excluded.payment_plan_eligible,"
    "  reminder_days = excluded.reminder_days,"
    "  disconnection_notice_eligible = excluded.disconnection_notice_eligible,"
    "  path_to_better_grade = excluded.path_to_better_grade) "
    "insert into risk.outbox (topic, msg_key, payload, headers)"
    " select $2, convert_to(t.customer_id, 'UTF8'),"
    "  convert_to(risk.credit_grade_message(row(t.customer_id, t.grade, t.previous,"
    "   t.points, t.points_grade, t.capped, t.floored, t.reasons, t.scorecard,"
    "   t.scorecard_version, t.scorecard_hash, $1, date '1970-01-01' + t.as_of,"
    "   now()," GRADE_ACTIONS_SQL("t") ")::risk.credit_grades, t.segment)::text, 'UTF8'),"
    "  array['x-grade', t.grade]"
    " from tmp_grades t order by t.seq";

/* The grade changes' rows; write_grades_sql (with parameters) moves them on. */
static const struct store_copy_target grades_target = {"tmp_grades", NULL, NULL,
                                                       write_grade_rows};

/* Payment status: the batch's latest row of each customer wins. */
static const struct store_copy_target credit_target = {
    "tmp_credit", NULL,
    "insert into risk.customer_credit as c (customer_id, days_past_due, arrears_amount,"
    " balance_owed, last_payment, as_of, updated_at)"
    " select distinct on (customer_id) customer_id, days_past_due, arrears, balance,"
    " date '1970-01-01' + last_payment, date '1970-01-01' + as_of, now()"
    " from tmp_credit order by customer_id, seq desc"
    " on conflict (customer_id) do update set days_past_due = excluded.days_past_due,"
    " arrears_amount = excluded.arrears_amount, balance_owed = excluded.balance_owed,"
    " last_payment = excluded.last_payment, as_of = excluded.as_of, updated_at = now()",
    write_credit_rows};

int store_write_credit(struct store *st, const struct store_batch *b, char *errstr,
                        size_t errstr_size)
{
	int rc = store_copy_rows(st, &credit_target, b->credit, b->credit_count, errstr,
	                         errstr_size);
	if (rc || !b->grade_count)
		return rc;
	if ((rc = store_copy_rows(st, &grades_target, b->grades, b->grade_count, errstr,
	                          errstr_size)))
		return rc;
	const char *params[2] = {b->credit_policy ? b->credit_policy : "", b->grades_topic};
	PGresult *res = PQexecParams(st->conn, write_grades_sql, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = store_fail_result(st, res, "write grades", errstr, errstr_size);
	PQclear(res);
	return rc;
}

int store_load_confirmations(struct store *st, int64_t after, int max,
                             int (*fn)(const struct store_confirmation *c, void *arg), void *arg,
                             char *errstr, size_t errstr_size)
{
	char after_s[24], max_s[16];
	const char *params[2] = {after_s, max_s};
	int rc;

	snprintf(after_s, sizeof(after_s), "%lld", (long long)after);
	snprintf(max_s, sizeof(max_s), "%d", max);
	PGresult *res = PQexecParams(st->conn,
	                             "select customer_id, confirmed, seq from risk.theft_confirmations"
	                             " where seq > $1 order by seq limit $2",
	                             2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = store_fail_result(st, res, "load theft confirmations", errstr, errstr_size);
		PQclear(res);
		return rc;
	}
	int n = PQntuples(res);
	rc = n;
	for (int r = 0; r < n; r++) {
		struct store_confirmation c = {PQgetvalue(res, r, 0), PQgetvalue(res, r, 1)[0] == 't',
		                               strtoll(PQgetvalue(res, r, 2), NULL, 10)};
		int stop = fn(&c, arg);
		if (stop) {
			rc = stop;
			break;
		}
	}
	PQclear(res);
	return rc;
}
