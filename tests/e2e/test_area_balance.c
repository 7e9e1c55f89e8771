/*
 * test_area_balance.c - end to end: the energy balance per transformer area and local day,
 * computed in PostgreSQL from what riskd stored (deploy/sql/002_area_balance.sql, the source
 * of truth for stored results).
 *
 * one_thief_explains_the_excess: area T1 feeds three customers using 10, 20 and 30 kWh a
 * day; the feeder meter reads their sum plus 4% technical loss (62.4 kWh). From day 20 on, C3
 * reports half of its 30 kWh, so the feeder sees 15 kWh a day that no customer meter records.
 * The thief is alerted.
 *
 * c_balance_agrees_with_sql: a generated city goes through riskd into PostgreSQL; the C model
 * of the balance (scoring/balance.h, run by the offline engine over the same file) must give
 * every area-day PostgreSQL balanced, and no other, with the same figures.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "detector/replay.h"
#include "streams/event.h"
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
	/* a live stream, day by day (each customer-day is scored once its area's day is
	 * balanced: docs/detection.md, "Scoring after the area") */
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

/* ---- the C balance against PostgreSQL's on a generated city ---- */

#define CITY_CUSTOMERS 120
#define CITY_TRANSFORMERS 6
#define CITY_DAYS 70        /* past the 60-day baseline window and the C history's 64 slots */
#define CITY_FIRST_DAY 20454 /* 2026-01-01, the generator's first day */

/*
 * How close the two must be. Both sum the same integer micro-kWh and divide by 1e6 in IEEE
 * double, compute the loss rate and excess with the same operations in the same order, and
 * interpolate percentile_cont as PostgreSQL does; PostgreSQL prints float8 in the shortest
 * form that reads back exactly. The figures agree to the last bit today; the bounds leave
 * room only for a last-digit difference in a sum or a product.
 */
#define SAME_KWH 1e-9       /* feeder_kwh, customers_kwh, excess_kwh: relative */
#define SAME_RATE 1e-12     /* loss_rate, baseline_loss_rate: absolute */

/* One area-day's balance, from either side. */
struct balance_row {
	char transformer_id[RISKD_ID_MAX + 1];
	int32_t day;
	struct area_day_balance b;
};

struct balance_rows {
	struct balance_row *rows;
	size_t count, cap;
};

static struct balance_row *rows_push(struct balance_rows *r)
{
	if (r->count == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 256;
		r->rows = realloc(r->rows, sizeof(*r->rows) * r->cap);
		cr_assert_not_null(r->rows);
	}
	struct balance_row *row = &r->rows[r->count++];
	memset(row, 0, sizeof(*row));
	return row;
}

static void note_offline_row(void *arg, const char *transformer_id, int32_t day,
                             const struct area_day_balance *b)
{
	struct balance_row *row = rows_push(arg);
	snprintf(row->transformer_id, sizeof(row->transformer_id), "%s", transformer_id);
	row->day = day;
	row->b = *b;
}

static int cmp_row(const void *x, const void *y)
{
	const struct balance_row *a = x, *b = y;
	int c = strcmp(a->transformer_id, b->transformer_id);
	return c ? c : (a->day > b->day) - (a->day < b->day);
}

static double column_double(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? NAN : strtod(PQgetvalue(res, r, c), NULL);
}

/* Every row of risk.area_balance, by transformer_id (bytewise) and day. */
static void sql_rows_load(const char *dsn, struct balance_rows *out)
{
	PGconn *conn = PQconnectdb(dsn);
	cr_assert_eq(PQstatus(conn), CONNECTION_OK, "connect: %s", PQerrorMessage(conn));
	PGresult *res = PQexec(conn,
	                       "select transformer_id, day - date '1970-01-01', feeder_kwh,"
	                       " customers_kwh, loss_rate, baseline_loss_rate, excess_kwh, customers"
	                       " from risk.area_balance order by transformer_id collate \"C\", day");
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(conn));
	for (int r = 0; r < PQntuples(res); r++) {
		struct balance_row *row = rows_push(out);
		snprintf(row->transformer_id, sizeof(row->transformer_id), "%s", PQgetvalue(res, r, 0));
		row->day = (int32_t)atol(PQgetvalue(res, r, 1));
		row->b.feeder_kwh = column_double(res, r, 2);
		row->b.customers_kwh = column_double(res, r, 3);
		row->b.loss_rate = column_double(res, r, 4);
		row->b.baseline_loss_rate = column_double(res, r, 5);
		row->b.excess_kwh = column_double(res, r, 6);
		row->b.customers = (uint32_t)atol(PQgetvalue(res, r, 7));
	}
	PQclear(res);
	PQfinish(conn);
}

/* The largest difference seen per figure, for the log. */
struct balance_diff {
	double kwh, rate;
};

/* Asserts sql and c agree on one figure (both NAN, SQL null, or within tol: relative
 * when relative is set) and records the difference. */
static void same_figure(const struct balance_row *row, const char *name, double sql, double c,
                        double tol, int relative, double *max_diff)
{
	cr_assert_eq(isnan(sql), isnan(c), "%s %d %s: SQL %.17g, C %.17g", row->transformer_id,
	             row->day, name, sql, c);
	if (isnan(sql))
		return;
	double diff = fabs(sql - c) / (relative && fabs(sql) > 1 ? fabs(sql) : 1);
	if (diff > *max_diff)
		*max_diff = diff;
	cr_assert_leq(diff, tol, "%s %d %s: SQL %.17g, C %.17g", row->transformer_id, row->day,
	              name, sql, c);
}

static void compare_rows(const struct balance_rows *sql, const struct balance_rows *c)
{
	struct balance_diff max = {0, 0};
	size_t with_baseline = 0;
	cr_assert_eq(sql->count, c->count, "area-days balanced: PostgreSQL %zu, C %zu", sql->count,
	             c->count);
	for (size_t i = 0; i < sql->count; i++) {
		const struct balance_row *s = &sql->rows[i], *o = &c->rows[i];
		cr_assert_str_eq(s->transformer_id, o->transformer_id, "row %zu", i);
		cr_assert_eq(s->day, o->day, "%s row %zu", s->transformer_id, i);
		cr_assert_eq(s->b.customers, o->b.customers, "%s %d customers", s->transformer_id,
		             s->day);
		same_figure(s, "feeder_kwh", s->b.feeder_kwh, o->b.feeder_kwh, SAME_KWH, 1, &max.kwh);
		same_figure(s, "customers_kwh", s->b.customers_kwh, o->b.customers_kwh, SAME_KWH, 1,
		            &max.kwh);
		same_figure(s, "loss_rate", s->b.loss_rate, o->b.loss_rate, SAME_RATE, 0, &max.rate);
		same_figure(s, "baseline_loss_rate", s->b.baseline_loss_rate, o->b.baseline_loss_rate,
		            SAME_RATE, 0, &max.rate);
		same_figure(s, "excess_kwh", s->b.excess_kwh, o->b.excess_kwh, SAME_KWH, 1, &max.kwh);
		with_baseline += !isnan(s->b.baseline_loss_rate);
	}
	cr_log_info("%zu area-days agree (%zu with a baseline); largest difference: energy %.3g"
	            " (relative), rates %.3g", sql->count, with_baseline, max.kwh, max.rate);
	cr_assert_gt(with_baseline, sql->count / 2, "most area-days have a baseline");
}

Test(area_balance, c_balance_agrees_with_sql, .timeout = 400)
{
	struct e2e_world w;
	struct balance_rows sql = {0}, offline = {0};
	char city[1400], rules[1200], errstr[512], next_day[256], date[16];

	e2e_world_new(&w, "areacity", 8, 2000);
	snprintf(city, sizeof(city), "%s/city.jsonl", w.dir);
	snprintf(rules, sizeof(rules), "%s/rules", w.env.root);
	/* thieves and confounders move the loss rates; duplicates must not count twice */
	e2e_sh("'%s/riskctl' gen --customers %d --transformers %d --days %d --interval-s 7200"
	       " --seed 17 --theft-rate 0.1 --dup-rate 0.01 > '%s' 2>/dev/null",
	       w.env.bin, CITY_CUSTOMERS, CITY_TRANSFORMERS, CITY_DAYS, city);
	pid_t pid = e2e_riskd_start(&w, "--until-idle 5");
	e2e_produce_file(&w, city);
	cr_assert_eq(e2e_wait(pid, 300), 0, "riskd failed (logs in %s)", w.dir);
	sql_rows_load(w.dsn, &sql);

	/* the offline engine over the same file; a reading of the day after the city closes its
	 * last day, which PostgreSQL balanced as soon as it was complete */
	struct replay *rp = NULL;
	struct replay_options opts = {.rules_path = rules, .timezone = "Asia/Shanghai"};
	cr_assert_eq(replay_new(&opts, &rp, NULL, errstr, sizeof(errstr)), 0, "%s", errstr);
	replay_set_balance_observer(rp, note_offline_row, &offline);
	FILE *in = fopen(city, "r");
	cr_assert_not_null(in);
	cr_assert_eq(replay_file(&rp, 1, in, errstr, sizeof(errstr)), 0, "%s", errstr);
	fclose(in);
	event_format_date(CITY_FIRST_DAY + CITY_DAYS, date, sizeof(date));
	snprintf(next_day, sizeof(next_day),
	         "{\"type\":\"transformer_reading\",\"event_id\":\"t-end\","
	         "\"ts\":\"%sT00:00:00+08:00\",\"transformer_id\":\"T-END\",\"kwh\":0,"
	         "\"interval_s\":3600}", date);
	cr_assert_eq(replay_line(rp, next_day, strlen(next_day)), EVENT_REJECT_NONE);
	qsort(offline.rows, offline.count, sizeof(*offline.rows), cmp_row);

	cr_assert_gt(sql.count, (size_t)CITY_TRANSFORMERS * (CITY_DAYS - 5),
	             "PostgreSQL balanced %zu area-days", sql.count);
	compare_rows(&sql, &offline);
	replay_free(rp);
	free(sql.rows);
	free(offline.rows);
}
