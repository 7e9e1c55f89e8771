/*
 * test_attribution.c - end to end: the hourly sums riskd stores and the joint attribution of
 * each area's loss that riskd computes from them (deploy/sql/011_area_attribution.sql,
 * detector/attributor.c, docs/detection.md "Integration").
 *
 * hourly_sums_and_the_thief: area T1 feeds four customers reading every hour, each with its
 * own daily shape; the transformer reads their sum plus a technical loss of the model's form
 * (no-load plus load squared) every hour. From day 10 on C4's meter records half of what it
 * takes. The hourly sums add up to the daily ones, an hour without a reading stays NULL, and
 * the window ending on the last day gives C4 the area's loss, with about its stolen energy.
 *
 * killed_mid_run_equals_undisturbed: a generated city with hourly transformer readings and
 * thieves goes through riskd killed with SIGKILL four times (during the ingestion, then while
 * it attributes), then through an undisturbed instance into a fresh database: the hourly
 * sums, the attribution's windows and findings and the alerts are identical.
 * killed_mid_run_scoring_at_the_close_equals_undisturbed_but_alerts: the same with
 * attribution.score_after_area off, comparing everything but the alerts.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rules/ruleset.h"
#include "tests/support/e2e.h"

#define DAYS 21
#define THEFT_FROM 10   /* first day (1-based) C4 records half */
#define CUSTOMERS 4

/* Customer c's true consumption in hour h of day d (kWh): its own level and daily shape,
 * with a small day-to-day wobble. */
static double true_kwh(int c, int d, int h)
{
	static const double level[CUSTOMERS] = {0.6, 1.1, 0.8, 1.5};
	double shape = 1.0 + 0.6 * sin(2 * M_PI * (h + 5 * c) / 24.0) +
	               0.3 * cos(2 * M_PI * (2 * h + c) / 24.0);
	double wobble = 1.0 + 0.08 * (double)((d * 7 + c * 3 + h) % 5) / 4.0;
	return level[c] * shape * wobble;
}

/* What customer c's meter records in hour h of day d: from day bypass_from on (0: never), C3's
 * meter is bypassed from 18:00 to 22:00 and reads zero. */
static double metered_kwh(int c, int d, int h, int bypass_from)
{
	double kwh = true_kwh(c, d, h);
	if (c == 2 && bypass_from && d >= bypass_from && h >= 18 && h < 22)
		return 0;
	return c == CUSTOMERS - 1 && d >= THEFT_FROM ? kwh / 2 : kwh;
}

/* Writes `days` days of the area's stream: the profiles, then hour by hour every meter to
 * readings and the transformer to transformer (which may be the same file), with C3 bypassed
 * from day bypass_from (0: never). C1 sends no reading for 05:00 on day 3. */
static void write_stream(FILE *readings, FILE *transformer, int days, int bypass_from)
{
	for (int c = 0; c < CUSTOMERS; c++)
		fprintf(readings,
		        "{\"type\":\"customer\",\"event_id\":\"p%d\",\"ts\":\"2025-12-31T00:00:00+08:00\","
		        "\"customer_id\":\"C%d\",\"segment\":\"residential\",\"transformer_id\":\"T1\","
		        "\"capacity_kw\":20}\n",
		        c + 1, c + 1);
	for (int d = 1; d <= days; d++)
		for (int h = 0; h < 24; h++) {
			char ts[64];
			snprintf(ts, sizeof(ts), "2026-%02d-%02dT%02d:00:00+08:00", 1 + (d - 1) / 31,
			         1 + (d - 1) % 31, h);
			double feeder = 0;
			for (int c = 0; c < CUSTOMERS; c++) {
				feeder += true_kwh(c, d, h);
				if (c == 0 && d == 3 && h == 5)
					continue;
				fprintf(readings,
				        "{\"type\":\"meter_reading\",\"event_id\":\"r%d-%d-%d\",\"ts\":\"%s\","
				        "\"customer_id\":\"C%d\",\"meter_id\":\"M%d\",\"kwh\":%.6f,"
				        "\"interval_s\":3600}\n",
				        c + 1, d, h, ts, c + 1, c + 1, metered_kwh(c, d, h, bypass_from));
			}
			feeder += 0.05 + 0.004 * feeder * feeder;
			fprintf(transformer,
			        "{\"type\":\"transformer_reading\",\"event_id\":\"t%d-%d\",\"ts\":\"%s\","
			        "\"transformer_id\":\"T1\",\"kwh\":%.6f,\"interval_s\":3600}\n",
			        d, h, ts, feeder);
		}
}

/* Writes the whole stream of DAYS days, without a bypass, to path. */
static void write_area(const char *path)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	write_stream(f, f, DAYS, 0);
	fclose(f);
}

static double query_double(const char *dsn, const char *sql)
{
	char text[64];
	e2e_query_text(dsn, sql, text, sizeof(text));
	return strtod(text, NULL);
}

/* Every row of the hourly table has 24 slots adding up to its day's daily sum exactly. */
static void assert_hours_add_up(const char *dsn, const char *hourly, const char *daily,
                                const char *id)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "select count(*) from %s h join %s d using (%s, day) where cardinality(h.uwh) <> 24"
	         " or (select sum(x) from unnest(h.uwh) x) <> d.kwh_uwh",
	         hourly, daily, id);
	cr_assert_eq(e2e_query_int(dsn, sql), 0, "%s does not add up to %s", hourly, daily);
}

/* A fresh world (partitions, batch size) with the attribution's window and history days, and
 * the path of an input file in its directory. */
static void attribution_world(struct e2e_world *w, const char *name, int partitions,
                              int batch_size, int window_days, int history_days, char *file,
                              size_t file_size)
{
	e2e_world_new(w, name, partitions, batch_size);
	e2e_world_set_attribution(w, window_days, history_days);
	snprintf(file, file_size, "%s/input.jsonl", w->dir);
}

Test(attribution, hourly_sums_and_the_thief, .timeout = 240)
{
	struct e2e_world w;
	char file[1400];
	attribution_world(&w, "attrib", 2, 500, 14, 7, file, sizeof(file));
	write_area(file);
	e2e_produce_file(&w, file);
	e2e_riskd_run_until_idle(&w, 4, 200);

	/* hourly sums: every hour of a complete day, adding up to its daily sum exactly */
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.hourly_usage"),
	             CUSTOMERS * DAYS);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.transformer_hourly"), DAYS);
	/* the windows' claims folded every batch's parts into those rows */
	cr_assert_eq(e2e_query_int(w.dsn, "select (select count(*) from risk.hourly_usage_part) +"
	                                  " (select count(*) from risk.transformer_hourly_part)"),
	             0);
	assert_hours_add_up(w.dsn, "risk.hourly_usage", "risk.daily_usage", "customer_id");
	assert_hours_add_up(w.dsn, "risk.transformer_hourly", "risk.transformer_daily",
	                    "transformer_id");
	/* 2026-01-02 05:00 local of C2 is one reading of metered_kwh(1, 2, 5) */
	cr_assert_eq(e2e_query_int(w.dsn, "select uwh[6] from risk.hourly_usage"
	                                  " where customer_id = 'C2' and day = '2026-01-02'"),
	             llround(round(metered_kwh(1, 2, 5, 0) * 1e6)));
	/* an hour without a reading is NULL, not 0: C1's 05:00 on day 3 */
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.hourly_usage where"
	                                  " customer_id = 'C1' and day = '2026-01-03'"
	                                  " and uwh[6] is null and uwh[5] is not null"),
	             1);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.hourly_usage, unnest(uwh) x"
	                                  " where x is null"),
	             1);

	/* every balanced area-day was attributed (day 3 is not balanced: C1 missed an hour) */
	int64_t balanced = e2e_query_int(w.dsn, "select count(*) from risk.area_balance");
	cr_assert_eq(balanced, DAYS - 1);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.area_attribution_window"),
	             balanced);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.area_attribution"),
	             balanced * CUSTOMERS);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.area_attribution_queue"), 0);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.area_attribution_window"
	                                  " where window_end_day = '2026-01-21' and status = 'ok'"
	                                  " and resolution_s = 3600 and rows = 336"
	                                  " and window_days = 14 and history_days = 7"),
	             1);

	/* the last window: C4 carries the loss, the honest customers nothing of note */
	const char *last = "from risk.area_attribution where window_end_day = '2026-01-21'";
	char sql[512];
	snprintf(sql, sizeof(sql), "select customer_id %s order by z desc limit 1", last);
	char top[32];
	e2e_query_text(w.dsn, sql, top, sizeof(top));
	cr_assert_str_eq(top, "C4");
	snprintf(sql, sizeof(sql), "select share %s and customer_id = 'C4'", last);
	double share = query_double(w.dsn, sql);
	cr_assert(share > 0.9, "C4's share %.3f", share);
	snprintf(sql, sizeof(sql), "select max(share) %s and customer_id <> 'C4'", last);
	double others = query_double(w.dsn, sql);
	cr_assert(others < 0.05, "an honest customer's share %.3f", others);
	/* C4 took twice what it recorded on days 10..21 of the window 8..21 */
	double stolen = 0;
	for (int d = THEFT_FROM; d <= DAYS; d++)
		for (int h = 0; h < 24; h++)
			stolen += metered_kwh(CUSTOMERS - 1, d, h, 0);
	snprintf(sql, sizeof(sql), "select stolen_kwh %s and customer_id = 'C4'", last);
	double found = query_double(w.dsn, sql);
	cr_assert(fabs(found - stolen) < 0.1 * stolen, "C4 stole %.1f kWh, found %.1f", stolen,
	          found);
	snprintf(sql, sizeof(sql), "select carrier %s and customer_id = 'C4'", last);
	char carrier[32];
	e2e_query_text(w.dsn, sql, carrier, sizeof(carrier));
	cr_assert(strcmp(carrier, "metered") == 0 || strcmp(carrier, "shortfall") == 0,
	          "carrier %s", carrier);
	/* the attribution's metrics were counted: the log says so window by window */
	e2e_sh("grep -q 'event=stopped' '%s'/riskd-*.log", w.dir);
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL);
}

/*
 * Runs a generated city through riskd killed four times, then through an undisturbed instance
 * into a fresh database, and compares their digests: with the alerts (scoring after the area,
 * riskd's default) or without them (scoring at the close: with_alerts 0).
 */
static void killed_mid_run(const char *name, int with_alerts)
{
	struct e2e_world w;
	char file[1400];
	attribution_world(&w, name, 4, 400, 7, 7, file, sizeof(file));
	if (!with_alerts)
		e2e_world_set_score_after_area(&w, 0);
	e2e_sh("'%s/riskctl' gen --customers 120 --transformers 4 --days 16 --seed 11"
	       " --interval-s 1800 --transformer-interval-s 3600 --loss-model load"
	       " --theft-rate 0.1 > '%s' 2>/dev/null",
	       w.env.bin, file);
	e2e_produce_file(&w, file);

	/* kill points by progress (the first join takes seconds): in the middle of the
	 * ingestion, then while windows are being attributed, a random moment after each mark */
	static const char *const marks[4] = {
	    "select (coalesce(sum(next_offset), 0) >= 20000)::int from risk.kafka_offsets",
	    "select (count(*) >= 5)::int from risk.area_attribution_window",
	    "select (count(*) >= 25)::int from risk.area_attribution_window",
	    "select (count(*) >= 45)::int from risk.area_attribution_window"};
	unsigned seed = (unsigned)getpid();
	fprintf(stderr, "test_attribution: seed=%u\n", seed);
	srand(seed);
	for (int round = 0; round < 4; round++) {
		pid_t pid = e2e_riskd_start(&w, NULL);
		for (int i = 0; i < 2400 && !e2e_query_int(w.dsn, marks[round]); i++)
			sleep_s(0.05);
		sleep_s((double)(rand() % 500) / 1000.0);
		cr_assert_eq(kill(pid, SIGKILL), 0);
		waitpid(pid, NULL, 0);
	}
	cr_log_info("killed 4 times with %lld windows attributed",
	            (long long)e2e_query_int(w.dsn, "select count(*) from"
	                                            " risk.area_attribution_window"));
	e2e_riskd_run_until_idle(&w, 4, 300);
	char got[4096], ref[4096], run_dsn[1024];
	void (*digest)(const char *, char *, size_t) =
	    with_alerts ? e2e_result_digest : e2e_result_digest_except_alerts;
	digest(w.dsn, got, sizeof(got));
	int64_t windows = e2e_query_int(w.dsn, "select count(*) from risk.area_attribution_window");
	cr_assert_eq(windows, e2e_query_int(w.dsn, "select count(*) from risk.area_balance"));
	cr_assert_gt(e2e_query_int(w.dsn, "select count(*) from risk.area_attribution"
	                                  " where z >= 4 and resolution_s = 3600"),
	             0, "some thief is attributed");

	snprintf(run_dsn, sizeof(run_dsn), "%s", w.dsn);
	e2e_world_new_database(&w, "ref");
	e2e_world_set_group(&w, "riskd-attrib-reference");
	e2e_riskd_run_until_idle(&w, 4, 300);
	digest(w.dsn, ref, sizeof(ref));
	cr_assert_str_eq(got, ref, "killed run differs from the undisturbed one:\n  run       %s\n"
	                           "  reference %s", got, ref);
	if (with_alerts)
		cr_assert_gt(e2e_query_int(w.dsn, "select count(*) from risk.alerts"), 0);
}

Test(attribution, killed_mid_run_equals_undisturbed, .timeout = 600)
{
	killed_mid_run("attribkill", 1);
}

/* Scoring at the close, the alerts depend on which area results were in at each close, which
 * a restart changes: everything else is still exact across the kills. */
Test(attribution, killed_mid_run_scoring_at_the_close_equals_undisturbed_but_alerts,
     .timeout = 600)
{
	killed_mid_run("attribkillclose", 0);
}

#define BYPASS_DAYS 30
#define BYPASS_FROM 20   /* first day (1-based) C3's meter reads zero from 18:00 to 22:00 */

static int cmp_id(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The theft alerts of customer C3: how many, and the one's fields as text. */
static void c3_alert(const char *dsn, char *out, size_t out_size)
{
	e2e_query_text(dsn,
	               "select count(*) over () || ' ' || alert_id || ' ' || first_day || ' ' ||"
	               " last_day || ' ' || firings || ' ' || score || ' ' ||"
	               " (select string_agg(r->>'id', ',' order by r->>'id' collate \"C\")"
	               "  from jsonb_array_elements(rules) r)"
	               " from risk.alerts where customer_id = 'C3' and kind = 'theft'",
	               out, out_size);
}

/*
 * A partial bypass alerts on the customer's own readings (zeroed_hours reads nothing of the
 * area): scoring after the area, riskd raises it at the day's close, before the area's
 * transformer has sent anything, and completes that same alert once the area is balanced and
 * attributed: one alert, with the backtest's days, firings, score and rules, opened once.
 */
Test(attribution, a_bypass_alerts_before_its_area_and_ends_as_the_backtest, .timeout = 400)
{
	struct e2e_world w;
	char readings[1400], transformer[1400], both[1400], features[1400];
	attribution_world(&w, "attribclose", 2, 500, 14, 7, readings, sizeof(readings));
	snprintf(transformer, sizeof(transformer), "%s/transformer.jsonl", w.dir);
	snprintf(both, sizeof(both), "%s/both.jsonl", w.dir);
	snprintf(features, sizeof(features), "%s/features.csv", w.dir);
	FILE *r = fopen(readings, "w"), *t = fopen(transformer, "w"), *b = fopen(both, "w");
	cr_assert(r && t && b);
	write_stream(r, t, BYPASS_DAYS, BYPASS_FROM);
	write_stream(b, b, BYPASS_DAYS, BYPASS_FROM);
	fclose(r);
	fclose(t);
	fclose(b);

	/* the meters only: no area-day can balance, the bypass alerts at its close */
	e2e_produce_file(&w, readings);
	e2e_riskd_run_until_idle(&w, 4, 200);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.transformer_daily"), 0);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.area_balance"), 0);
	char before[512];
	c3_alert(w.dsn, before, sizeof(before));
	cr_log_info("C3 before its area: %s", before);
	cr_assert(strncmp(before, "1 theft-C3-", 11) == 0, "the bypass alerted at its close: %s",
	          before);
	cr_assert(strstr(before, "zeroed_hours"), "%s", before);
	cr_assert_gt(e2e_query_int(w.dsn, "select count(*) from risk.pending_scores"
	                                  " where customer_id = 'C3' and raised"),
	             0, "the days raised at their close wait for their area");
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.pending_scores p"
	                                  " where p.customer_id = 'C3' and not p.raised"
	                                  " and p.day >= (select first_day - date '1970-01-01'"
	                                  " from risk.alerts where customer_id = 'C3')"
	                                  " and exists (select 1 from risk.alert_events e"
	                                  " where (e.after->>'day')::date - date '1970-01-01' = p.day)"),
	             0, "a day raised at its close is marked raised");

	/* the transformer: every pending day is scored after its area, completing the alert */
	e2e_produce_file(&w, transformer);
	e2e_riskd_run_until_idle(&w, 4, 300);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.pending_scores"), 0);
	cr_assert_gt(e2e_query_int(w.dsn, "select count(*) from risk.area_balance"), 0);
	char after[512];
	c3_alert(w.dsn, after, sizeof(after));
	cr_log_info("C3 after its area: %s", after);
	size_t id_len = strcspn(before + 2, " ");
	cr_assert(strncmp(before, after, 2 + id_len) == 0, "the same alert: %s, then %s", before,
	          after);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.alert_events e"
	                                  " join risk.alerts a using (alert_id)"
	                                  " where a.customer_id = 'C3' and e.action = 'opened'"),
	             1, "opened once");

	/* the backtest over the same events: C3's alerting days, the last one's score and rules */
	e2e_sh("'%s/riskctl' backtest --rules '%s/rules' --events '%s' --features '%s'"
	       " > /dev/null",
	       w.env.bin, w.env.root, both, features);
	char offline[512];
	e2e_sh("awk -F, 'NR > 1 && $1 == \"C3\" && $4 == 1 { n++; if (!first) first = $2;"
	       " last = $2; score = $3; fired = $5 } END { printf \"%%d %%s %%s %%s %%s\", n, first,"
	       " last, score, fired }' '%s' > '%s.c3'",
	       features, features);
	char path[1500];
	snprintf(path, sizeof(path), "%s.c3", features);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(offline, sizeof(offline), f));
	fclose(f);
	cr_log_info("C3 offline: %s", offline);
	int n;
	char first[32], last[32], fired[256];
	double score;
	cr_assert_eq(sscanf(offline, "%d %31s %31s %lf %255s", &n, first, last, &score, fired), 5,
	             "%s", offline);
	char expect_tail[512];
	snprintf(expect_tail, sizeof(expect_tail), " %s %s %d ", first, last, n);
	cr_assert(strstr(after, expect_tail), "riskd %s, offline first %s last %s firings %d",
	          after, first, last, n);
	char *end;
	double live_score = strtod(strstr(after, expect_tail) + strlen(expect_tail), &end);
	cr_assert_float_eq(live_score, score, 1e-9 * fabs(score), "score riskd %.17g, offline %.17g",
	                   live_score, score);
	/* the last day's active rules (riskd lists no shadow rule), sorted as riskd's */
	char rules_dir[1200];
	snprintf(rules_dir, sizeof(rules_dir), "%s/rules", w.env.root);
	const char *paths[1] = {rules_dir};
	struct ruleset *rs = NULL;
	struct rules_diags diags = {0};
	cr_assert_eq(ruleset_load_paths(paths, 1, RULE_KIND_THEFT, &rs, &diags), 0);
	rules_diags_free(&diags);
	const char *ids[32];
	size_t n_ids = 0;
	for (char *id = strtok(fired, "|"); id && n_ids < 32; id = strtok(NULL, "|"))
		if (ruleset_rule(rs, (size_t)ruleset_rule_find(rs, id))->mode == RULE_MODE_ACTIVE)
			ids[n_ids++] = id;
	qsort(ids, n_ids, sizeof(*ids), cmp_id);
	char rules[512] = "";
	for (size_t i = 0; i < n_ids; i++)
		snprintf(rules + strlen(rules), sizeof(rules) - strlen(rules), "%s%s", i ? "," : "",
		         ids[i]);
	cr_assert_str_eq(end + 1, rules, "the last firing's rules: riskd %s, offline %s", end + 1,
	                 rules);
	ruleset_free(rs);
}

/* The claim of the pending days of areas whose results are late, on rows set by hand (days
 * as "C1@10": customer C1's 2026-01-10; "!" when raised at the close; "-" for none). */
#define CLAIM_SQL                                                                          \
	"select coalesce(string_agg(customer_id || '@' || (day - 20453) ||"                    \
	" case when raised then '!' else '' end, ','), '-') from risk.claim_pending_scores(7)"

/*
 * A pending day stops waiting for its area's balance once its transformer's partition of the
 * transformer topic has come 7 days past it, not when any other area has: T1's partition is
 * behind (day 5) while T2's is at day 30 and balanced, so T1's days 10 and 20 wait; T3's
 * transformer never reported, so its day 15 waits for the slowest partition. Once T1's
 * partition comes to day 27, T1's days through 20 are taken, then T3's.
 */
Test(attribution, a_pending_day_waits_for_its_transformers_partition, .timeout = 120)
{
	struct e2e_world w;
	char file[1400], got[256];
	attribution_world(&w, "attribclaim", 2, 500, 14, 7, file, sizeof(file));
	cr_assert_eq(
	    e2e_query_int(
	        w.dsn,
	        "with b as (insert into risk.area_balance (transformer_id, day, feeder_kwh,"
	        "  customers_kwh, customers) select t, date '2025-12-31' + d, 100, 95, 4"
	        "  from (values ('T1', 5), ('T2', 30)) v(t, n), generate_series(1, n) d returning 1),"
	        " s as (insert into risk.entity_state (kind, entity_id, partition, state)"
	        "  values ('t', 'T1', 0, '\\x00'), ('t', 'T2', 1, '\\x00') returning 1),"
	        " p as (insert into risk.transformer_progress values (0, 20453 + 5), (1, 20453 + 30)"
	        "  returning 1),"
	        " q as (insert into risk.pending_scores (customer_id, day, transformer_id, snapshot,"
	        "  raised) values ('C1', 20453 + 10, 'T1', '\\x00', true),"
	        "  ('C1', 20453 + 20, 'T1', '\\x00', false), ('C9', 20453 + 15, 'T3', '\\x00', false)"
	        "  returning 1)"
	        " select (select count(*) from b) + (select count(*) from s) +"
	        " (select count(*) from p) + (select count(*) from q)"),
	    35 + 2 + 2 + 3);
	/* the balances queued their areas' windows: attributed, as far as the claim can tell */
	cr_assert_gt(e2e_query_int(w.dsn, "with d as (delete from risk.area_attribution_queue"
	                                  " returning 1) select count(*) from d"),
	             0);
	e2e_query_text(w.dsn, CLAIM_SQL, got, sizeof(got));
	cr_assert_str_eq(got, "-", "T1's partition is behind, the slowest partition at day 5");
	cr_assert_eq(e2e_query_int(w.dsn, "with u as (update risk.transformer_progress"
	                                  " set day = 20453 + 27 where partition = 0 returning 1)"
	                                  " select count(*) from u"),
	             1);
	e2e_query_text(w.dsn, CLAIM_SQL, got, sizeof(got));
	cr_assert_str_eq(got, "C1@10!,C1@20");
	e2e_query_text(w.dsn, CLAIM_SQL, got, sizeof(got));
	cr_assert_str_eq(got, "C9@15", "the slowest partition is at day 27");
	e2e_query_text(w.dsn, CLAIM_SQL, got, sizeof(got));
	cr_assert_str_eq(got, "-");
}
