/*
 * test_area_balance.c - end to end: the energy balance of a small transformer area with one
 * known thief, computed in PostgreSQL from what riskd stored, and the thief's alert.
 *
 * Area T1 feeds three customers using 10, 20 and 30 kWh a day; the feeder meter reads their
 * sum plus 4% technical loss (62.4 kWh). From day 20 on, C3 reports half of its 30 kWh, so
 * the feeder sees 15 kWh a day that no customer meter records.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/e2e.h"

#define DAYS 45
#define THEFT_FROM 20 /* first day (1-based) C3 under-reports */

/* Writes the profiles (day 0) or one day's readings (day 1..DAYS) to path. */
static void write_day(const char *path, int d)
{
	static const double use[3] = {10, 20, 30};
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	for (int c = 0; c < 3 && d == 0; c++)
		fprintf(f,
		        "{\"type\":\"customer\",\"event_id\":\"p%d\",\"ts\":\"2025-12-31T00:00:00+08:00\","
		        "\"customer_id\":\"C%d\",\"segment\":\"residential\",\"transformer_id\":\"T1\","
		        "\"capacity_kw\":10}\n",
		        c + 1, c + 1);
	if (d > 0) {
		char ts[40];
		int month = d <= 31 ? 1 : 2, mday = d <= 31 ? d : d - 31;
		snprintf(ts, sizeof(ts), "2026-%02d-%02dT00:00:00+08:00", month, mday);
		for (int c = 0; c < 3; c++) {
			double kwh = use[c];
			if (c == 2 && d >= THEFT_FROM)
				kwh /= 2;
			fprintf(f,
			        "{\"type\":\"meter_reading\",\"event_id\":\"r%d-%d\",\"ts\":\"%s\","
			        "\"customer_id\":\"C%d\",\"meter_id\":\"M%d\",\"kwh\":%.3f,"
			        "\"interval_s\":86400}\n",
			        c + 1, d, ts, c + 1, c + 1, kwh);
		}
		fprintf(f,
		        "{\"type\":\"transformer_reading\",\"event_id\":\"t%d\",\"ts\":\"%s\","
		        "\"transformer_id\":\"T1\",\"kwh\":62.4,\"interval_s\":86400}\n",
		        d, ts);
	}
	fclose(f);
}

static double query_double(const char *dsn, const char *sql)
{
	char text[64];
	e2e_query_text(dsn, sql, text, sizeof(text));
	return strtod(text, NULL);
}

Test(area_balance, one_thief_explains_the_excess, .timeout = 180)
{
	struct e2e_world w;
	char file[1400];
	e2e_world_new(&w, "area", 2, 200);
	snprintf(file, sizeof(file), "%s/day.jsonl", w.dir);
	/* a live stream, day by day, so each day's balance exists when the next day is scored
	 * (a backfill scores customers before their areas balance: docs/features.md) */
	pid_t pid = e2e_riskd_start(&w, "--until-idle 5");
	for (int d = 0; d <= DAYS; d++) {
		write_day(file, d);
		e2e_produce_file(&w, file);
		usleep(d == 0 ? 4000000 : 400000);
	}
	cr_assert_eq(e2e_wait(pid, 120), 0, "riskd failed (logs in %s)", w.dir);

	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.area_balance"), DAYS);
	/* before the theft: only the technical loss, (62.4 - 60) / 62.4 */
	double before = query_double(w.dsn, "select loss_rate from risk.area_balance"
	                                    " where day = '2026-01-10'");
	cr_assert(fabs(before - 2.4 / 62.4) < 1e-9, "loss before theft %.6f", before);
	/* during it: (62.4 - 45) / 62.4, and 15 kWh a day above the area's own baseline */
	double during = query_double(w.dsn, "select loss_rate from risk.area_balance"
	                                    " where day = '2026-02-05'");
	cr_assert(fabs(during - 17.4 / 62.4) < 1e-9, "loss during theft %.6f", during);
	double baseline = query_double(w.dsn, "select baseline_loss_rate from risk.area_balance"
	                                      " where day = '2026-02-05'");
	cr_assert(fabs(baseline - 2.4 / 62.4) < 1e-9, "baseline %.6f", baseline);
	double excess = query_double(w.dsn, "select excess_kwh from risk.area_balance"
	                                    " where day = '2026-02-05'");
	cr_assert(fabs(excess - 15.0) < 1e-6, "excess %.6f kWh", excess);

	/* the thief is alerted, with the area's figures in the evidence; the others are not */
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.alerts"
	                                  " where customer_id = 'C3' and kind = 'theft'"), 1);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.alerts"
	                                  " where customer_id in ('C1', 'C2')"), 0);
	/* every rule of the live set is counted, shadow rules included, exactly once per
	 * scoring: 3 customers scored on each closed day after their first (DAYS - 1 closes) */
	cr_assert_eq(e2e_query_int(w.dsn, "select min(evaluations) from risk.rule_counts"),
	             3 * (DAYS - 1));
	cr_assert_eq(e2e_query_int(w.dsn, "select max(evaluations) from risk.rule_counts"),
	             3 * (DAYS - 1));
	cr_assert_gt(e2e_query_int(w.dsn, "select count(*) from risk.rule_counts"
	                                  " where mode = 'shadow'"), 0);
	cr_assert_gt(e2e_query_int(w.dsn, "select fired from risk.rule_counts"
	                                  " where rule_id = 'area_loss_suspect'"), 0);
	cr_assert_gt(e2e_query_int(w.dsn, "select sum(missing_reads) from risk.rule_counts"), 0,
	             "early days read features that are not known yet");
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.alerts a,"
	                                  " jsonb_array_elements(a.rules) r"
	                                  " where a.customer_id = 'C3'"
	                                  " and (r->'evidence'->>'area_suspect_share')::float8 > 0.9"),
	             1, "an area rule fired for C3 with its share of the excess");
}
