/*
 * test_credit_policy.c - the service policy by grade and the path to a better grade end to
 * end: a generated city with payment trouble through the real mock Kafka cluster, riskd and
 * PostgreSQL. Every grade row and history row carries the shipped policy's actions for its
 * grade and segment and a path one grade up; the credit-grades messages carry the same under
 * `actions` and `path_to_better_grade` beside the keys they always had; the collection
 * worklist shows them; and `riskctl credit explain` prints them from the grade row.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/e2e.h"

#define GRADES_TOPIC(w) ((w)->topics[5])

/* rules/credit.yaml's actions as SQL over a grade row g and the customer's segment seg. */
#define SHIPPED_DEPOSIT                                                                        \
	"case g.grade when 'AAA' then 0 when 'AA' then 0 when 'A' then 0.5"                        \
	" when 'B' then case when seg in ('commercial', 'industrial') then 1.5 else 1 end"         \
	" else case when seg in ('commercial', 'industrial') then 3 else 2 end end"
#define SHIPPED_REMINDER                                                                       \
	"case g.grade when 'AAA' then 30 when 'AA' then 21 when 'A' then 14"                       \
	" when 'B' then case when seg in ('commercial', 'industrial') then 7 else 10 end"          \
	" else case when seg in ('commercial', 'industrial') then 5 else 7 end end"
#define SHIPPED_PLAN "not (g.grade = 'C' and seg in ('commercial', 'industrial'))"

/* Rows of table (risk.credit_grades or its history) whose actions or path are not the
 * shipped policy's for their grade and the segment riskd knew when it graded: a commercial or
 * industrial customer graded by the residential (default) card had no profile yet, and gets
 * the grade's row for every segment, as its scorecard column shows. */
static int64_t rows_off_policy(const struct e2e_world *w, const char *table)
{
	char sql[2048];
	snprintf(sql, sizeof sql,
	         "select count(*) from (select g.*, case when g.scorecard = 'residential' and"
	         " c.segment in ('commercial', 'industrial') then 'unknown'"
	         " else coalesce(c.segment, 'unknown') end as seg from %s g"
	         " left join risk.customers c using (customer_id)) g where"
	         " g.deposit_multiple is distinct from (" SHIPPED_DEPOSIT ")"
	         " or g.reminder_days is distinct from (" SHIPPED_REMINDER ")"
	         " or g.payment_plan_eligible is distinct from (" SHIPPED_PLAN ")"
	         " or g.prepayment_required is distinct from (g.grade = 'C')"
	         " or g.disconnection_notice_eligible is distinct from (g.grade in ('B', 'C'))"
	         " or (g.grade = 'AAA') <> (g.path_to_better_grade is null)"
	         " or (g.grade <> 'AAA' and risk.grade_rank(g.path_to_better_grade->>'target_grade')"
	         "     <> risk.grade_rank(g.grade) - 1)",
	         table);
	return e2e_query_int(w->dsn, sql);
}

/* Checks every credit-grades message: the keys riskd always published and the new ones. */
static void check_messages(const struct e2e_world *w, int64_t changes)
{
	struct e2e_message *msgs;
	size_t n = e2e_read_topic(w, GRADES_TOPIC(w), &msgs);
	cr_assert_eq((int64_t)n, changes, "one message per change");
	static const char *const keys[] = {"customer_id", "segment", "grade", "previous_grade",
	                                   "points", "points_grade", "capped", "floored", "reasons",
	                                   "scorecard", "policy", "as_of", "changed_at", "actions",
	                                   "path_to_better_grade"};
	size_t with_steps = 0;
	for (size_t i = 0; i < n; i++) {
		json_error_t err;
		json_t *m = json_loads(msgs[i].payload, 0, &err);
		cr_assert_not_null(m, "message %zu: %s", i, err.text);
		cr_assert_eq(json_object_size(m), sizeof keys / sizeof keys[0], "%s", msgs[i].payload);
		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
			cr_assert_not_null(json_object_get(m, keys[k]), "no %s in %s", keys[k],
			                   msgs[i].payload);
		const char *grade = json_string_value(json_object_get(m, "grade"));
		json_t *actions = json_object_get(m, "actions");
		cr_assert(json_is_integer(json_object_get(actions, "reminder_days")), "%s",
		          msgs[i].payload);
		cr_assert_eq(json_is_true(json_object_get(actions, "prepayment_required")),
		             strcmp(grade, "C") == 0, "%s", msgs[i].payload);
		json_t *path = json_object_get(m, "path_to_better_grade");
		cr_assert_eq(json_is_null(path), strcmp(grade, "AAA") == 0, "%s", msgs[i].payload);
		with_steps += json_array_size(json_object_get(path, "steps")) > 0;
		json_decref(m);
	}
	cr_assert_gt(with_steps, n / 4, "paths have steps (%zu of %zu)", with_steps, n);
	e2e_messages_free(msgs, n);
}

/* riskctl credit explain on the worst-graded customer, in text and JSON, and on an unknown
 * one. */
static void check_explain(const struct e2e_world *w)
{
	char customer[64], sql[256], expect[128];
	static char out[1 << 14];
	e2e_query_text(w->dsn,
	               "select customer_id from risk.credit_grades g join risk.customers c"
	               " using (customer_id) where g.grade = 'C' and c.segment = 'residential'"
	               " order by customer_id limit 1",
	               customer, sizeof customer);
	cr_assert_neq(customer[0], '\0', "a residential C customer");
	int rc = e2e_run_capture(out, sizeof out, "'%s/riskctl' credit explain '%s' --config '%s'",
	                         w->env.bin, customer, w->config);
	cr_assert_eq(rc, 0, "%s", out);
	snprintf(expect, sizeof expect, "customer %s (residential): grade C as of ", customer);
	cr_assert_not_null(strstr(out, expect), "%s", out);
	cr_assert_not_null(strstr(out, "actions for grade C, residential"), "%s", out);
	cr_assert_not_null(strstr(out, "  security deposit:     2 x the average bill\n"), "%s", out);
	cr_assert_not_null(strstr(out, "  prepayment:           required\n"), "%s", out);
	cr_assert_not_null(strstr(out, "  payment reminders:    every 7 days while in arrears\n"),
	                   "%s", out);
	cr_assert_not_null(strstr(out, "path to grade B, as of "), "%s", out);
	cr_assert_not_null(strstr(out, "  1. "), "%s", out);

	rc = e2e_run_capture(out, sizeof out, "'%s/riskctl' credit explain '%s' --json --config '%s'",
	                     w->env.bin, customer, w->config);
	cr_assert_eq(rc, 0, "%s", out);
	json_error_t err;
	json_t *j = json_loads(out, 0, &err);
	cr_assert_not_null(j, "%s: %s", err.text, out);
	json_t *grade = json_object_get(j, "grade");
	cr_assert_str_eq(json_string_value(json_object_get(j, "segment")), "residential");
	cr_assert_str_eq(json_string_value(json_object_get(grade, "grade")), "C");
	cr_assert_eq(json_integer_value(json_object_get(grade, "reminder_days")), 7);
	snprintf(sql, sizeof sql,
	         "select (path_to_better_grade->'steps'->0->>'text') from risk.credit_grades"
	         " where customer_id = '%s'",
	         customer);
	char first_step[256];
	e2e_query_text(w->dsn, sql, first_step, sizeof first_step);
	json_t *steps = json_object_get(json_object_get(grade, "path_to_better_grade"), "steps");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(steps, 0), "text")),
	                 first_step);
	json_decref(j);

	rc = e2e_run_capture(out, sizeof out, "'%s/riskctl' credit explain NOBODY --config '%s'",
	                     w->env.bin, w->config);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert_not_null(strstr(out, "riskctl credit: customer NOBODY has no credit grade"), "%s",
	                   out);
}

Test(credit_policy, grades_messages_worklist_and_explain_carry_actions_and_path, .timeout = 420)
{
	struct e2e_world w;
	char city[1300];
	e2e_world_new(&w, "creditpolicy", 6, 2000);
	snprintf(city, sizeof city, "%s/city.jsonl", w.dir);
	e2e_sh("'%s/riskctl' gen --customers 120 --days 150 --interval-s 86400 --seed 5"
	       " --distress-rate 0.2 --catch-up-rate 0.3 > '%s' 2>/dev/null",
	       w.env.bin, city);
	e2e_produce_file(&w, city);
	e2e_riskd_run_until_idle(&w, 3.0, 300);

	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.credit_grades"), 120);
	cr_assert_geq(e2e_query_int(w.dsn, "select count(distinct grade) from risk.credit_grades"),
	              4, "a city with payment trouble uses most grades");
	cr_assert_eq(rows_off_policy(&w, "risk.credit_grades"), 0);
	cr_assert_eq(rows_off_policy(&w, "risk.credit_grade_history"), 0);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.outbox"), 0);
	check_messages(&w, e2e_query_int(w.dsn, "select count(*) from risk.credit_grade_history"));

	/* the worklist shows the grade row's actions and path, and the dashboards may read it */
	cr_assert_gt(e2e_query_int(w.dsn, "select count(*) from risk.v_collection_worklist"), 5);
	cr_assert_eq(e2e_query_int(w.dsn,
	                           "select count(*) from risk.v_collection_worklist v join"
	                           " risk.credit_grades g using (customer_id) where"
	                           " row(v.deposit_multiple, v.prepayment_required,"
	                           " v.payment_plan_eligible, v.reminder_days,"
	                           " v.disconnection_notice_eligible, v.path_to_better_grade::text)"
	                           " is distinct from row(g.deposit_multiple, g.prepayment_required,"
	                           " g.payment_plan_eligible, g.reminder_days,"
	                           " g.disconnection_notice_eligible, g.path_to_better_grade::text)"),
	             0);
	char state[8];
	e2e_sql_state(w.dsn, "risk_dashboard",
	              "select reminder_days, path_to_better_grade from risk.v_collection_worklist",
	              state, sizeof state);
	cr_assert_str_eq(state, "", "the dashboard role reads the new columns (%s)", state);

	check_explain(&w);
}
