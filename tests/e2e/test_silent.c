/*
 * test_silent.c - end to end: meters that stop reporting (detector/silent.h,
 * deploy/sql/022_silent_meters.sql, docs/detection.md "Silent meters").
 *
 * Two areas of four customers read every hour, with transformers reading every hour their
 * customers' energy plus a technical loss. From day SILENT_FROM on, C4's meter (area T1) is
 * cut while the house takes its usual load past it (the transformer still counts it), and
 * C8's meter (area T2) loses its link on a house that takes nothing (the transformer does
 * not count it either).
 *
 * silent_days_close_and_alert: once the stream has passed each day's end plus
 * days.lateness_s, the two silent meters' days are in risk.daily_usage marked silent (their
 * areas balance with them), C4 has a theft alert from silent_meter_area_loss, C8 a no_data
 * alert and no theft alert, and risk.v_silent_meters lists C8.
 *
 * killed_equals_undisturbed: the same stream through riskd killed with SIGKILL three times,
 * then an undisturbed instance into a fresh database: the same results (daily usage with its
 * silent days, balances, attribution, alerts of both kinds).
 *
 * two_instances_equal_one: the stream on two partitions through two instances at once gives
 * what one instance gives.
 *
 * a_clock_ahead_closes_no_neighbours_day: every meter reports, and at the end of day
 * AHEAD_DAY C6's meter also sends one reading dated CLOCK_AHEAD_DAYS later (a clock set
 * wrong). It closes C6's own day, and no other: no day closes silent, no no_data alert.
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
#define SILENT_FROM 12   /* first day (1-based) without a reading of C4 and C8 */
#define CUSTOMERS 8      /* C1-C4 in T1, C5-C8 in T2 */
#define AHEAD_DAY 8      /* the day whose last hour C6's meter also sends far ahead */
#define CLOCK_AHEAD_DAYS 30

/* What happens in a stream besides hourly readings of every meter. */
enum city_kind {
	CITY_SILENT,      /* C4 and C8 stop reporting from day SILENT_FROM */
	CITY_CLOCK_AHEAD  /* C6 sends one reading CLOCK_AHEAD_DAYS ahead at the end of AHEAD_DAY */
};

/* Customer c's true consumption in hour h of day d (kWh): its own level and daily shape,
 * with a small day-to-day wobble. C8's house takes nothing once its meter is silent. */
static double true_kwh(enum city_kind kind, int c, int d, int h)
{
	static const double level[CUSTOMERS] = {0.6, 1.1, 0.8, 1.5, 0.7, 1.2, 0.9, 1.4};
	if (kind == CITY_SILENT && c == 7 && d >= SILENT_FROM)
		return 0;
	double shape = 1.0 + 0.6 * sin(2 * M_PI * (h + 5 * c) / 24.0) +
	               0.3 * cos(2 * M_PI * (2 * h + c) / 24.0);
	double wobble = 1.0 + 0.08 * (double)((d * 7 + c * 3 + h) % 5) / 4.0;
	return level[c] * shape * wobble;
}

/* Writes one hourly reading of customer c (0-based) at ts. */
static void write_reading(FILE *f, int c, const char *event_id, const char *ts, double kwh)
{
	fprintf(f,
	        "{\"type\":\"meter_reading\",\"event_id\":\"%s\",\"ts\":\"%s\","
	        "\"customer_id\":\"C%d\",\"meter_id\":\"M%d\",\"kwh\":%.6f,"
	        "\"interval_s\":3600}\n",
	        event_id, ts, c + 1, c + 1, kwh);
}

/* Writes the stream of a city of `kind` (profiles, then hour by hour every meter that
 * reports and both transformers) to path. */
static void write_city(const char *path, enum city_kind kind)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	for (int c = 0; c < CUSTOMERS; c++)
		fprintf(f,
		        "{\"type\":\"customer\",\"event_id\":\"p%d\",\"ts\":\"2025-12-31T00:00:00+08:00\","
		        "\"customer_id\":\"C%d\",\"segment\":\"residential\",\"transformer_id\":\"T%d\","
		        "\"capacity_kw\":20}\n",
		        c + 1, c + 1, c / 4 + 1);
	for (int d = 1; d <= DAYS; d++)
		for (int h = 0; h < 24; h++) {
			char ts[64];
			snprintf(ts, sizeof(ts), "2026-01-%02dT%02d:00:00+08:00", d, h);
			double feeder[2] = {0, 0};
			for (int c = 0; c < CUSTOMERS; c++) {
				char event_id[64];
				double kwh = true_kwh(kind, c, d, h);
				feeder[c / 4] += kwh;
				if (kind == CITY_SILENT && (c == 3 || c == 7) && d >= SILENT_FROM)
					continue;
				snprintf(event_id, sizeof(event_id), "r%d-%d-%d", c + 1, d, h);
				write_reading(f, c, event_id, ts, kwh);
				if (kind == CITY_CLOCK_AHEAD && c == 5 && d == AHEAD_DAY && h == 23) {
					char ahead[64];
					snprintf(ahead, sizeof(ahead), "2026-02-%02dT23:00:00+08:00",
					         AHEAD_DAY + CLOCK_AHEAD_DAYS - 31);
					write_reading(f, c, "r6-ahead", ahead, kwh);
				}
			}
			for (int t = 0; t < 2; t++)
				fprintf(f,
				        "{\"type\":\"transformer_reading\",\"event_id\":\"t%d-%d-%d\","
				        "\"ts\":\"%s\",\"transformer_id\":\"T%d\",\"kwh\":%.6f,"
				        "\"interval_s\":3600}\n",
				        t + 1, d, h, ts, t + 1,
				        feeder[t] + 0.05 + 0.004 * feeder[t] * feeder[t]);
		}
	fclose(f);
}

/*
 * The customers as their profiles make them, in w's database before riskd starts. riskd reads
 * the profiles topic beside the readings, not before them: a backlog's first days can close
 * before their customer's profile is read, and such a day is scored without an area when no
 * area has a balance yet (risk.claim_pending_scores). Known before, every run scores the same.
 */
static void seed_customers(const struct e2e_world *w)
{
	char sql[2048];
	int n = snprintf(sql, sizeof(sql), "insert into risk.customers (customer_id, segment,"
	                                   " transformer_id, capacity_kw) values ");
	for (int c = 0; c < CUSTOMERS; c++)
		n += snprintf(sql + n, sizeof(sql) - (size_t)n, "%s('C%d', 'residential', 'T%d', 20)",
		              c ? ", " : "", c + 1, c / 4 + 1);
	e2e_sh("psql -X -q -v ON_ERROR_STOP=1 '%s' -c \"%s\" > /dev/null", w->dsn, sql);
}

/* A fresh world of `partitions` partitions (each one's watermark moves with its customers'
 * readings) with a 7-day attribution window after 7 days of history, its customers known, and
 * the stream of a city of `kind` in its directory. */
static void city_world(struct e2e_world *w, const char *name, int partitions,
                       enum city_kind kind, char *file, size_t file_size)
{
	e2e_world_new(w, name, partitions, 500);
	e2e_world_set_attribution(w, 7, 7);
	seed_customers(w);
	snprintf(file, file_size, "%s/input.jsonl", w->dir);
	write_city(file, kind);
	e2e_produce_file(w, file);
}

/* The world of the silent city. */
static void silent_world(struct e2e_world *w, const char *name, int partitions, char *file,
                         size_t file_size)
{
	city_world(w, name, partitions, CITY_SILENT, file, file_size);
}

Test(silent, silent_days_close_and_alert, .timeout = 300)
{
	struct e2e_world w;
	char file[1400];
	silent_world(&w, "silent", 1, file, sizeof(file));
	e2e_riskd_run_until_idle(&w, 4, 240);

	/* the stream ends at 23:00 of day 21: with 2 h of lateness, days up to 20 close */
	int64_t expected = 20 - SILENT_FROM + 1;
	for (int c = 4; c <= 8; c += 4) {
		char sql[512];
		snprintf(sql, sizeof(sql),
		         "select count(*) from risk.daily_usage where customer_id = 'C%d' and silent"
		         " and readings = 0 and kwh_uwh = 0 and day >= date '2026-01-%02d'",
		         c, SILENT_FROM);
		cr_assert_eq(e2e_query_int(w.dsn, sql), expected, "C%d's empty silent days", c);
		/* the last day with readings closed with the lateness too, whole */
		snprintf(sql, sizeof(sql),
		         "select count(*) from risk.daily_usage where customer_id = 'C%d' and silent"
		         " and readings = 24 and day = date '2026-01-%02d'",
		         c, SILENT_FROM - 1);
		cr_assert_eq(e2e_query_int(w.dsn, sql), 1, "C%d's last day with readings", c);
	}
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.daily_usage where silent"
	                                  " and customer_id not in ('C4', 'C8')"),
	             0, "only the silent meters");
	/* their areas balance every day the silent days closed */
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.area_balance"
	                                  " where day between date '2026-01-01' and date '2026-01-20'"),
	             2 * 20);
	cr_assert_gt(e2e_query_int(w.dsn, "select count(*) from risk.area_attribution"
	                                  " where customer_id = 'C4' and carrier = 'silent'"
	                                  " and z >= 4"),
	             0, "the attribution carries C4's load on its silent regressor");

	/* C4: theft, from silent_meter_area_loss; C8: no_data, not theft */
	static const struct {
		const char *sql, *what;
		int64_t expected;
	} alerts[] = {
	    {"select count(*) from risk.alerts where customer_id = 'C4' and kind = 'theft'"
	     " and rules @> '[{\"id\": \"silent_meter_area_loss\"}]'", "C4's theft alert", 1},
	    {"select count(*) from risk.alerts where customer_id = 'C8' and kind = 'no_data'"
	     " and rules @> '[{\"id\": \"no_data\"}]'", "C8's no_data alert", 1},
	    {"select count(*) from risk.alerts where customer_id = 'C8' and kind = 'theft'",
	     "C8 is no thief", 0},
	    {"select count(*) from risk.alerts where customer_id not in ('C4', 'C8')",
	     "the meters that report stay quiet", 0},
	    {"select count(*) from risk.v_silent_meters where customer_id = 'C8'"
	     " and silent_hours >= 24", "C8 among the silent meters", 1},
	};
	for (size_t i = 0; i < sizeof(alerts) / sizeof(alerts[0]); i++)
		cr_assert_eq(e2e_query_int(w.dsn, alerts[i].sql), alerts[i].expected, "%s",
		             alerts[i].what);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.v_review_queue"
	                                  " where kind = 'no_data'"),
	             e2e_query_int(w.dsn, "select count(*) from risk.alerts where kind = 'no_data'"));
}

/* The digest of one undisturbed instance over w's topics into a fresh database whose
 * customers are known (seed_customers); w->dsn is that database's afterwards. */
static void reference_digest(struct e2e_world *w, char *ref, size_t ref_size)
{
	char suffix[sizeof(w->name) + 8];
	snprintf(suffix, sizeof(suffix), "%s_ref", w->name);
	e2e_world_new_database(w, suffix);
	seed_customers(w);
	e2e_world_set_group(w, "riskd-silent-reference");
	e2e_riskd_run_until_idle(w, 4, 300);
	e2e_result_digest(w->dsn, ref, ref_size);
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL);
}

Test(silent, killed_equals_undisturbed, .timeout = 600)
{
	struct e2e_world w;
	char file[1400];
	silent_world(&w, "silentkill", 1, file, sizeof(file));
	e2e_world_set_checkpoint_interval(&w, 300);

	/* kill points by progress: before, around and after the silent meters' days close */
	static const char *const marks[3] = {
	    "select (coalesce(sum(next_offset), 0) >= 1500)::int from risk.kafka_offsets",
	    "select (count(*) >= 3)::int from risk.daily_usage where silent",
	    "select (count(*) >= 1)::int from risk.alerts"};
	unsigned seed = (unsigned)getpid();
	fprintf(stderr, "test_silent: seed=%u\n", seed);
	srand(seed);
	for (int round = 0; round < 3; round++) {
		pid_t pid = e2e_riskd_start(&w, NULL);
		for (int i = 0; i < 2400 && !e2e_query_int(w.dsn, marks[round]); i++)
			sleep_s(0.05);
		sleep_s((double)(rand() % 300) / 1000.0);
		cr_assert_eq(kill(pid, SIGKILL), 0);
		waitpid(pid, NULL, 0);
	}
	e2e_riskd_run_until_idle(&w, 4, 300);
	char got[4096], ref[4096];
	e2e_result_digest(w.dsn, got, sizeof(got));
	cr_assert_gt(e2e_query_int(w.dsn, "select count(*) from risk.daily_usage where silent"), 0);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.alerts where kind = 'no_data'"),
	             1);
	reference_digest(&w, ref, sizeof(ref));
	cr_assert_str_eq(got, ref, "killed run differs from the undisturbed one:\n  run       %s\n"
	                           "  reference %s", got, ref);
}

/* Two instances share the customers' two partitions and end where one instance ends. Both
 * silent meters' days close: each partition holds customers that keep reporting, whose
 * readings move its watermark. */
Test(silent, two_instances_equal_one, .timeout = 600)
{
	struct e2e_world w;
	char file[1400];
	silent_world(&w, "silenttwo", 2, file, sizeof(file));
	pid_t a = e2e_riskd_start(&w, "--until-idle 8");
	sleep_s(1.5);
	pid_t b = e2e_riskd_start(&w, "--until-idle 8");
	cr_assert_eq(e2e_wait(a, 300), 0, "first instance failed (logs in %s)", w.dir);
	cr_assert_eq(e2e_wait(b, 300), 0, "second instance failed (logs in %s)", w.dir);
	char got[4096], ref[4096];
	e2e_result_digest(w.dsn, got, sizeof(got));
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.daily_usage where silent"),
	             2 * (20 - SILENT_FROM + 2), "both silent meters' days closed");
	reference_digest(&w, ref, sizeof(ref));
	cr_assert_str_eq(got, ref, "two instances differ from one:\n  two %s\n  one %s", got, ref);
}

/* One partition of eight meters (quorum 4): C6's reading dated 30 days ahead closes its own
 * day AHEAD_DAY, as any reading of a later day does, but moves no watermark, so its seven
 * neighbours' days close with their own readings, whole, and none is silent or no_data. */
Test(silent, a_clock_ahead_closes_no_neighbours_day, .timeout = 300)
{
	struct e2e_world w;
	char file[1400];
	city_world(&w, "silentahead", 1, CITY_CLOCK_AHEAD, file, sizeof(file));
	e2e_riskd_run_until_idle(&w, 4, 240);

	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.daily_usage where silent"), 0,
	             "no day closed silent");
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.alerts where kind = 'no_data'"),
	             0, "no no_data alert");
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.daily_usage where"
	                                  " customer_id <> 'C6' and readings = 24 and day between"
	                                  " date '2026-01-01' and date '2026-01-20'"),
	             7 * 20, "the neighbours' days closed whole, with their own readings");
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "select count(*) from risk.daily_usage where customer_id = 'C6'"
	         " and day = date '2026-01-%02d' and readings = 24",
	         AHEAD_DAY);
	cr_assert_eq(e2e_query_int(w.dsn, sql), 1, "C6's day closed by its reading ahead");
}
