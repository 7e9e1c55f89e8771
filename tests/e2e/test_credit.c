/*
 * test_credit.c - credit grades end to end: a generated city with payment trouble through the
 * real mock Kafka cluster, riskd and PostgreSQL. Checks risk.credit_grades against its
 * history and the credit-grades topic, the payment status against `riskctl scorecard
 * features` on the same events, the collection views and their role, hysteresis, and the
 * analysts' confirmed-theft disposition capping a grade while riskd runs and after a restart.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/e2e.h"

#define GRADES_TOPIC(w) ((w)->topics[5])

static void gen_city(const struct e2e_world *w, const char *path, int customers, int days,
                     int seed)
{
	e2e_sh("'%s/riskctl' gen --customers %d --days %d --interval-s 21600 --seed %d"
	       " --distress-rate 0.15 --catch-up-rate 0.3 > '%s' 2>/dev/null",
	       w->env.bin, customers, days, seed, path);
}

static int64_t lines_of(const char *path)
{
	FILE *fp = fopen(path, "r");
	cr_assert_not_null(fp, "%s", path);
	int64_t n = 0;
	int c;
	while ((c = fgetc(fp)) != EOF)
		n += c == '\n';
	fclose(fp);
	return n;
}

/* The grades of each customer in publish order, "C1:A,B;C2:AA" sorted by customer, from the
 * credit-grades topic (one customer's messages share a partition, so its order is kept). */
static void topic_grade_sequences(const struct e2e_world *w, size_t *count, char *out,
                                  size_t out_size)
{
	struct e2e_message *msgs;
	size_t n = e2e_read_topic(w, GRADES_TOPIC(w), &msgs);
	json_t *per = json_object();
	for (size_t i = 0; i < n; i++) {
		json_error_t err;
		json_t *m = json_loads(msgs[i].payload, 0, &err);
		cr_assert_not_null(m, "message %zu is not JSON: %s", i, err.text);
		const char *customer = json_string_value(json_object_get(m, "customer_id"));
		const char *grade = json_string_value(json_object_get(m, "grade"));
		cr_assert_not_null(customer);
		cr_assert_not_null(grade);
		cr_assert_str_eq(msgs[i].key, customer, "keyed by customer_id");
		json_t *reasons = json_object_get(m, "reasons");
		cr_assert(json_is_array(reasons) && json_array_size(reasons) <= 3);
		cr_assert(json_is_string(json_object_get(json_object_get(m, "scorecard"), "version")));
		cr_assert(json_is_string(json_object_get(m, "as_of")));
		cr_assert(json_is_number(json_object_get(m, "points")));
		json_t *seq = json_object_get(per, customer);
		if (!seq) {
			seq = json_array();
			json_object_set_new(per, customer, seq);
		}
		json_array_append_new(seq, json_string(grade));
		json_decref(m);
	}
	size_t used = 0;
	out[0] = '\0';
	const char *keys[4096];
	size_t nkeys = 0;
	const char *key;
	json_t *value;
	json_object_foreach(per, key, value) {
		cr_assert_lt(nkeys, sizeof keys / sizeof keys[0]);
		keys[nkeys++] = key;
	}
	for (size_t i = 1; i < nkeys; i++) /* insertion sort: a few hundred keys */
		for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *t = keys[j];
			keys[j] = keys[j - 1];
			keys[j - 1] = t;
		}
	for (size_t i = 0; i < nkeys; i++) {
		json_t *seq = json_object_get(per, keys[i]);
		used += (size_t)snprintf(out + used, out_size - used, "%s%s:", i ? ";" : "", keys[i]);
		for (size_t j = 0; j < json_array_size(seq); j++)
			used += (size_t)snprintf(out + used, out_size - used, "%s%s", j ? "," : "",
			                         json_string_value(json_array_get(seq, j)));
		cr_assert_lt(used, out_size, "sequence buffer too small");
	}
	*count = n;
	json_decref(per);
	e2e_messages_free(msgs, n);
}

/* Compares risk.customer_credit with `riskctl scorecard features` on the same events, for the
 * customers whose figures are as of day as_of. Returns how many were compared. */
static int64_t compare_status_as_of(const struct e2e_world *w, const char *city,
                                    const char *as_of)
{
	char csv[1400], sql[256];
	static char db[1 << 16], offline[1 << 16];
	snprintf(csv, sizeof(csv), "%s/features.csv", w->dir);
	e2e_sh("'%s/riskctl' scorecard features --events '%s' --as-of %s > '%s'", w->env.bin, city,
	       as_of, csv);
	snprintf(sql, sizeof(sql),
	         "select string_agg(customer_id || ':' || days_past_due || ':' || arrears_amount, ';'"
	         " order by customer_id) from risk.customer_credit where as_of = '%s'",
	         as_of);
	e2e_query_text(w->dsn, sql, db, sizeof(db));

	/* the same text from the CSV, for the customers the database lists */
	FILE *fp = fopen(csv, "r");
	cr_assert_not_null(fp);
	char line[1024];
	size_t used = 0;
	int64_t n = 0;
	offline[0] = '\0';
	cr_assert_not_null(fgets(line, sizeof(line), fp), "header");
	cr_assert(strncmp(line, "customer_id,segment,days_past_due,", 34) == 0, "%s", line);
	while (fgets(line, sizeof(line), fp)) {
		char *field[8] = {0};
		char *p = line;
		for (int i = 0; i < 8 && p; i++) {
			field[i] = p;
			p = strchr(p, ',');
			if (p)
				*p++ = '\0';
		}
		char probe[128];
		snprintf(probe, sizeof(probe), "%s:", field[0]);
		const char *at = strstr(db, probe);
		if (!at || (at != db && at[-1] != ';'))
			continue; /* not as of this day in riskd */
		used += (size_t)snprintf(offline + used, sizeof(offline) - used, "%s%s:%s:%.2f",
		                         n ? ";" : "", field[0], field[2], atof(field[6]));
		cr_assert_lt(used, sizeof(offline));
		n++;
	}
	fclose(fp);
	cr_assert_str_eq(db, offline, "riskd's payment status equals riskctl scorecard features");
	return n;
}

/* compare_status_as_of for every day the payment status rows are as of (each partition's
 * customers are graded through the day before its newest billing day). Returns how many
 * customers were compared. */
static int64_t compare_status_with_offline(const struct e2e_world *w, const char *city)
{
	char days[1024];
	int64_t n = 0;
	e2e_query_text(w->dsn, "select string_agg(distinct as_of::text, ' ') from risk.customer_credit",
	               days, sizeof(days));
	for (char *day = strtok(days, " "); day; day = strtok(NULL, " "))
		n += compare_status_as_of(w, city, day);
	return n;
}

Test(credit, grades_history_topic_status_and_views, .timeout = 420)
{
	struct e2e_world w;
	char city[1300], seqs_topic[1 << 16], seqs_db[1 << 16];
	/* 27 MB of events: 12 partitions keep them all (the mock keeps about 5 MiB each) */
	e2e_world_new(&w, "credit", 12, 2000);
	snprintf(city, sizeof(city), "%s/city.jsonl", w.dir);
	gen_city(&w, city, 240, 150, 11);
	e2e_produce_file(&w, city);
	e2e_riskd_run_until_idle(&w, 3.0, 300);
	cr_assert_eq(e2e_query_int(w.dsn, "select sum(count) from risk.ingest_counts"),
	             lines_of(city), "riskd read every event");
	e2e_sh("grep -q ' input_gaps=0 ' '%s'/riskd-1.log", w.dir);

	/* every customer is graded, once per change; the current row is the last change */
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.credit_grades"), 240);
	int64_t changes = e2e_query_int(w.dsn, "select count(*) from risk.credit_grade_history");
	cr_assert_geq(changes, 240);
	cr_assert_eq(e2e_query_int(w.dsn,
	                           "select count(*) from risk.credit_grades g where row(g.grade, g.points,"
	                           " g.as_of) is distinct from (select row(h.grade, h.points, h.as_of)"
	                           " from risk.credit_grade_history h where h.customer_id ="
	                           " g.customer_id order by h.id desc limit 1)"),
	             0, "credit_grades holds each customer's last change");
	cr_assert_eq(e2e_query_int(w.dsn,
	                           "select count(*) from (select grade, previous_grade, lag(grade)"
	                           " over (partition by customer_id order by id) as before,"
	                           " as_of, lag(as_of) over (partition by customer_id order by id)"
	                           " as before_day from risk.credit_grade_history) x"
	                           " where previous_grade is distinct from before"
	                           " or grade = previous_grade or as_of < before_day"),
	             0, "each change names the grade before it, and days never go back");
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.credit_grade_history where"
	                                  " previous_grade is null"),
	             240, "one first grade per customer");
	cr_assert_eq(e2e_query_int(w.dsn, "select count(distinct grade) from risk.credit_grades"), 5,
	             "a city with payment trouble uses every grade");

	/* every change was published once, in order, and the outbox is empty */
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.outbox"), 0);
	size_t published;
	topic_grade_sequences(&w, &published, seqs_topic, sizeof(seqs_topic));
	cr_assert_eq((int64_t)published, changes, "one message per change");
	e2e_query_text(w.dsn,
	               "select string_agg(customer_id || ':' || grades, ';' order by customer_id)"
	               " from (select customer_id, string_agg(grade, ',' order by id) as grades"
	               " from risk.credit_grade_history group by customer_id) x",
	               seqs_db, sizeof(seqs_db));
	cr_assert_str_eq(seqs_topic, seqs_db, "the topic carries the history, in order");

	/* payment status agrees with the offline feature tool on the same events */
	int64_t compared = compare_status_with_offline(&w, city);
	cr_assert_eq(compared, 240, "every customer's payment status is compared (%lld)",
	             (long long)compared);

	/* the collection views */
	int64_t owing = e2e_query_int(w.dsn, "select count(*) from risk.customer_credit"
	                                     " where arrears_amount > 0");
	cr_assert_gt(owing, 10, "a city with payment trouble has arrears");
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.v_collection_worklist"), owing);
	cr_assert_eq(e2e_query_int(w.dsn, "select max(priority) from risk.v_collection_worklist"),
	             owing);
	cr_assert_eq(e2e_query_int(w.dsn,
	                           "select count(*) from (select priority, risk.grade_rank(grade) r,"
	                           " days_past_due d, lag(risk.grade_rank(grade)) over (order by"
	                           " priority) pr, lag(days_past_due) over (order by priority) pd"
	                           " from risk.v_collection_worklist) x"
	                           " where r > pr or (r = pr and d > pd)"),
	             0, "worklist: worst grade first, then the oldest debt");
	cr_assert_eq(e2e_query_int(w.dsn, "select sum(customers) from risk.v_arrears_ageing"), owing);
	cr_assert_eq(e2e_query_int(w.dsn,
	                           "select count(*) from (select (select sum(arrears_amount) from"
	                           " risk.v_arrears_ageing) a, (select sum(arrears_amount) from"
	                           " risk.customer_credit) b) x where a <> b"),
	             0, "ageing amounts add up to the arrears");
	cr_assert_eq(e2e_query_int(w.dsn,
	                           "select count(*) from risk.v_arrears_ageing a where customers <>"
	                           " (select count(*) from risk.customer_credit c join"
	                           " risk.customers u using (customer_id) where u.segment = a.segment"
	                           " and c.arrears_amount > 0 and case a.bucket"
	                           " when '0-30' then c.days_past_due <= 30"
	                           " when '31-60' then c.days_past_due between 31 and 60"
	                           " when '61-90' then c.days_past_due between 61 and 90"
	                           " else c.days_past_due > 90 end)"),
	             0, "each ageing bucket counts its customers");
	cr_assert_eq(e2e_query_int(w.dsn, "select sum(customers) from risk.v_grade_distribution"),
	             240);
	cr_assert_eq(e2e_query_int(w.dsn,
	                           "select sum(customers_30d_ago) from risk.v_grade_distribution"),
	             e2e_query_int(w.dsn,
	                           "select count(distinct customer_id) from risk.credit_grade_history"
	                           " where as_of <= (select max(as_of) from risk.v_grade_distribution)"
	                           " - 30"));
	cr_assert_eq(e2e_query_int(w.dsn,
	                           "select sum(upgrades_30d + downgrades_30d) from"
	                           " risk.v_grade_distribution"),
	             e2e_query_int(w.dsn,
	                           "select count(*) from risk.credit_grade_history where"
	                           " previous_grade is not null and as_of > (select max(as_of) from"
	                           " risk.v_grade_distribution) - 30"));

	/* dashboards read the views and nothing else; analysts see grades */
	char state[8];
	static const char *const views[] = {"risk.v_collection_worklist", "risk.v_arrears_ageing",
	                                    "risk.v_grade_distribution"};
	for (size_t i = 0; i < 3; i++) {
		char q[128];
		snprintf(q, sizeof(q), "select count(*) from %s", views[i]);
		e2e_sql_state(w.dsn, "risk_dashboard", q, state, sizeof(state));
		cr_assert_str_eq(state, "", "%s must be readable by risk_dashboard (%s)", views[i], state);
	}
	e2e_sql_state(w.dsn, "risk_dashboard", "select count(*) from risk.customer_credit", state,
	              sizeof(state));
	cr_assert_str_eq(state, "42501", "risk_dashboard must not read the table behind the views");
	e2e_sql_state(w.dsn, "risk_analyst", "select risk.customer_grade('C000001')", state,
	              sizeof(state));
	cr_assert_str_eq(state, "");

}

/*
 * Hysteresis on a history whose grades cannot depend on timing: billing events only (one
 * input topic keeps each customer's events in order), published after riskd applied every
 * profile. Returns the number of grade changes with a band of `band` points.
 */
static int64_t grade_changes_with_band(const char *profiles, const char *billing, int band)
{
	struct e2e_world w;
	char name[64];
	snprintf(name, sizeof(name), "credit_band%d", band);
	e2e_world_new(&w, name, 4, 2000);
	e2e_sh("printf 'scoring:\\n  grade_hysteresis_points: %d\\n' >> '%s'", band, w.config);
	e2e_produce_file(&w, profiles);
	e2e_riskd_run_until_idle(&w, 3.0, 120);
	e2e_produce_file(&w, billing);
	e2e_riskd_run_until_idle(&w, 3.0, 300);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.credit_grades"), 400);
	return e2e_query_int(w.dsn, "select count(*) from risk.credit_grade_history");
}

/* A generated city split by topic under var/e2e/NAME_PID: profiles, billing (bills, payments,
 * reversals) and everything else. */
struct split_city {
	char dir[1100], city[1300], profiles[1400], billing[1400], readings[1400];
};

/* Generates `riskctl gen gen_args` into s's files. */
static void split_city(struct split_city *s, const char *name, const char *gen_args)
{
	struct e2e_env env;
	e2e_env_load(&env);
	snprintf(s->dir, sizeof(s->dir), "%s/var/e2e/%s_%d", env.root, name, (int)getpid());
	e2e_sh("mkdir -p '%s'", s->dir);
	snprintf(s->city, sizeof(s->city), "%s/city.jsonl", s->dir);
	snprintf(s->profiles, sizeof(s->profiles), "%s/profiles.jsonl", s->dir);
	snprintf(s->billing, sizeof(s->billing), "%s/billing.jsonl", s->dir);
	snprintf(s->readings, sizeof(s->readings), "%s/readings.jsonl", s->dir);
	e2e_sh("'%s/riskctl' gen %s > '%s' 2>/dev/null", env.bin, gen_args, s->city);
	e2e_sh("grep '\"type\":\"customer\"' '%s' > '%s'", s->city, s->profiles);
	e2e_sh("grep -E '\"type\":\"(bill|payment|payment_reversal)\"' '%s' > '%s'", s->city,
	       s->billing);
	e2e_sh("grep -vE '\"type\":\"(customer|bill|payment|payment_reversal)\"' '%s' > '%s' || true",
	       s->city, s->readings);
}

Test(credit, hysteresis_band_cuts_grade_changes, .timeout = 400)
{
	struct split_city c;
	split_city(&c, "credit_band", "--billing-only --customers 400 --days 365 --seed 3"
	                              " --distress-rate 0.2 --catch-up-rate 0.5");
	const char *profiles = c.profiles, *billing = c.billing;
	int64_t n0 = grade_changes_with_band(profiles, billing, 0);
	int64_t n5 = grade_changes_with_band(profiles, billing, 5);
	int64_t n40 = grade_changes_with_band(profiles, billing, 40);
	cr_log_info("grade changes of 400 customers over a year: %lld without a band, %lld with 5"
	            " points, %lld with 40",
	            (long long)n0, (long long)n5, (long long)n40);
	cr_assert_gt(n0, n5, "5 points cut changes (%lld vs %lld)", (long long)n0, (long long)n5);
	cr_assert_gt(n5, n40, "40 points cut more (%lld vs %lld)", (long long)n5, (long long)n40);
}

/*
 * One run over a city split in three files: profiles first, then `first` and `second`, each
 * consumed to the end before the next is published. Writes the grade tables' digest.
 */
static void run_in_turns(const char *name, const char *profiles, const char *first,
                         const char *second, char *digest, size_t size)
{
	struct e2e_world w;
	e2e_world_new(&w, name, 4, 2000);
	e2e_produce_file(&w, profiles);
	e2e_riskd_run_until_idle(&w, 3.0, 120);
	e2e_produce_file(&w, first);
	e2e_riskd_run_until_idle(&w, 3.0, 300);
	e2e_produce_file(&w, second);
	e2e_riskd_run_until_idle(&w, 3.0, 300);
	cr_assert_gt(e2e_query_int(w.dsn, "select count(*) from risk.credit_grade_history"), 100);
	e2e_grade_digest(w.dsn, digest, size);
}

/*
 * A customer's grades are a function of its own events in event time: billing consumed
 * entirely before the readings, or entirely after them, gives the same grade tables, every
 * column (points, as_of, reasons, previous grade) included.
 */
Test(credit, grades_do_not_depend_on_how_the_topics_interleave, .timeout = 600)
{
	char billing_first[512], readings_first[512];
	struct split_city c;
	split_city(&c, "credit_turns", "--customers 120 --days 75 --interval-s 21600 --seed 7"
	                               " --distress-rate 0.2 --catch-up-rate 0.4");
	const char *profiles = c.profiles, *billing = c.billing, *readings = c.readings;
	run_in_turns("credit_bills_first", profiles, billing, readings, billing_first,
	             sizeof(billing_first));
	run_in_turns("credit_readings_first", profiles, readings, billing, readings_first,
	             sizeof(readings_first));
	cr_log_info("billing first: %s; readings first: %s", billing_first, readings_first);
	cr_assert_str_eq(billing_first, readings_first,
	                 "the grade tables differ with the order the topics were read in");
}

/* Waits up to timeout_s for `sql` (one text value) to return want. */
static void await_text(const char *dsn, const char *sql, const char *want, double timeout_s)
{
	char got[128] = "";
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		e2e_query_text(dsn, sql, got, sizeof(got));
		if (strcmp(got, want) == 0)
			return;
		clock_gettime(CLOCK_MONOTONIC, &now);
		double waited = (double)(now.tv_sec - start.tv_sec) +
		                (double)(now.tv_nsec - start.tv_nsec) / 1e9;
		cr_assert_lt(waited, timeout_s, "%s: still '%s', want '%s'", sql, got, want);
		usleep(200 * 1000);
	}
}

static void analyst(const struct e2e_world *w, const char *args)
{
	e2e_sh("'%s/riskctl' alerts %s --config '%s' > /dev/null", w->env.bin, args, w->config);
}

Test(credit, confirmed_theft_caps_the_grade_and_reopening_lifts_it, .timeout = 300)
{
	struct e2e_world w;
	char city[1300], sql[512], customer[64], before[8], alert[128], args[512];
	e2e_world_new(&w, "credit_theft", 2, 1000);
	/* one analyst confirms in one step here; four-eyes closure is test_console's */
	e2e_sh("psql -X -q '%s' -c 'update risk.review_settings set theft_approval = false'", w.dsn);
	snprintf(city, sizeof(city), "%s/city.jsonl", w.dir);
	gen_city(&w, city, 60, 120, 5);
	e2e_produce_file(&w, city);

	pid_t pid = e2e_riskd_start(&w, NULL);
	snprintf(sql, sizeof(sql), "select coalesce(sum(next_offset), 0)::text from risk.kafka_offsets");
	char lines[32];
	snprintf(lines, sizeof(lines), "%lld", (long long)lines_of(city));
	await_text(w.dsn, sql, lines, 120);

	e2e_query_text(w.dsn,
	               "select customer_id from risk.credit_grades where grade in ('AAA', 'AA', 'A')"
	               " order by points desc, customer_id limit 1",
	               customer, sizeof(customer));
	snprintf(sql, sizeof(sql), "select grade from risk.credit_grades where customer_id = '%s'",
	         customer);
	e2e_query_text(w.dsn, sql, before, sizeof(before));

	/* an alert as riskd raises it, confirmed by an analyst while riskd runs */
	snprintf(sql, sizeof(sql),
	         "select alert_id from risk.raise_alert('%s', 'theft', date '2026-04-20', 80, 'high',"
	         " '[{\"id\":\"x\",\"title\":\"X\",\"score\":80,\"severity\":\"high\","
	         "\"evidence\":{}}]', 'theft-test', '1', 'h', '[]', 50, null)",
	         customer);
	e2e_query_text(w.dsn, sql, alert, sizeof(alert));
	snprintf(args, sizeof(args), "claim '%s'", alert);
	analyst(&w, args);
	snprintf(args, sizeof(args),
	         "resolve '%s' --disposition confirmed_theft --note 'bypass found on site'", alert);
	analyst(&w, args);

	snprintf(sql, sizeof(sql),
	         "select grade || ' ' || (reasons->0->>'code') || ' ' || capped || ' ' ||"
	         " previous_grade from risk.credit_grades where customer_id = '%s'",
	         customer);
	char want[64];
	snprintf(want, sizeof(want), "C confirmed_theft true %s", before);
	await_text(w.dsn, sql, want, 20);

	/* reopening withdraws the confirmation: back to the grade the points give */
	snprintf(args, sizeof(args), "reopen '%s' --note 'wrong meter'", alert);
	analyst(&w, args);
	snprintf(sql, sizeof(sql), "select grade from risk.credit_grades where customer_id = '%s'",
	         customer);
	await_text(w.dsn, sql, before, 20);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	cr_assert_eq(e2e_wait(pid, 60), 0, "riskd stops cleanly on SIGTERM");

	/* confirmed while riskd is down: applied when it starts */
	snprintf(args, sizeof(args), "claim '%s'", alert);
	analyst(&w, args);
	snprintf(args, sizeof(args), "resolve '%s' --disposition confirmed_theft --note 'confirmed'",
	         alert);
	analyst(&w, args);
	e2e_riskd_run_until_idle(&w, 4.0, 120);
	await_text(w.dsn, sql, "C", 1);

	snprintf(sql, sizeof(sql),
	         "select string_agg(grade, ',' order by id) from (select id, grade from"
	         " risk.credit_grade_history where customer_id = '%s' order by id desc limit 3) x",
	         customer);
	char tail[64];
	e2e_query_text(w.dsn, sql, tail, sizeof(tail));
	snprintf(want, sizeof(want), "C,%s,C", before);
	cr_assert_str_eq(tail, want, "history: capped, lifted, capped again");
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.outbox"), 0);
}
