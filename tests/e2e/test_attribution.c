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

/* What customer c's meter records in hour h of day d. */
static double metered_kwh(int c, int d, int h)
{
	double kwh = true_kwh(c, d, h);
	return c == CUSTOMERS - 1 && d >= THEFT_FROM ? kwh / 2 : kwh;
}

/* Writes the whole stream (profiles, then hour by hour every meter and the transformer) to
 * path. C1 sends no reading for 05:00 on day 3. */
static void write_area(const char *path)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	for (int c = 0; c < CUSTOMERS; c++)
		fprintf(f,
		        "{\"type\":\"customer\",\"event_id\":\"p%d\",\"ts\":\"2025-12-31T00:00:00+08:00\","
		        "\"customer_id\":\"C%d\",\"segment\":\"residential\",\"transformer_id\":\"T1\","
		        "\"capacity_kw\":20}\n",
		        c + 1, c + 1);
	for (int d = 1; d <= DAYS; d++)
		for (int h = 0; h < 24; h++) {
			char ts[64];
			snprintf(ts, sizeof(ts), "2026-01-%02dT%02d:00:00+08:00", d, h);
			double feeder = 0;
			for (int c = 0; c < CUSTOMERS; c++) {
				feeder += true_kwh(c, d, h);
				if (c == 0 && d == 3 && h == 5)
					continue;
				fprintf(f,
				        "{\"type\":\"meter_reading\",\"event_id\":\"r%d-%d-%d\",\"ts\":\"%s\","
				        "\"customer_id\":\"C%d\",\"meter_id\":\"M%d\",\"kwh\":%.6f,"
				        "\"interval_s\":3600}\n",
				        c + 1, d, h, ts, c + 1, c + 1, metered_kwh(c, d, h));
			}
			feeder += 0.05 + 0.004 * feeder * feeder;
			fprintf(f,
			        "{\"type\":\"transformer_reading\",\"event_id\":\"t%d-%d\",\"ts\":\"%s\","
			        "\"transformer_id\":\"T1\",\"kwh\":%.6f,\"interval_s\":3600}\n",
			        d, h, ts, feeder);
		}
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
	             llround(round(metered_kwh(1, 2, 5) * 1e6)));
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
			stolen += metered_kwh(CUSTOMERS - 1, d, h);
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
