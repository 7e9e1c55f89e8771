/*
 * test_detection.c - end to end against the local stack: theft detection on a small labelled
 * city. `riskctl gen --theft-rate` writes a city with injected thieves and honest confounders
 * and their labels; the city goes through mock Kafka into bin/riskd until it is idle; then
 * risk.alerts must show the thieves alerted and the honest customers and confounders not,
 * at the goals: at least 90% recall per attack pattern within a median of 14 days,
 * at most 1% of honest customers and at most 2% of each confounder alerted.
 *
 * The goals are asserted, unloosened, for the patterns the detection scorecard
 * (`make eval`, other seeds) shows meeting them; the patterns that miss them there are
 * measured and logged here but not asserted (docs/detection.md, "Goals"), so this suite
 * neither pretends they are met nor fails on a known, documented miss.
 *
 * Last, the offline engine (detector/replay.h, the backtest's and the scorecard's) runs over
 * the same file: every alert that owes nothing to the area balance or the peer medians - the
 * two inputs riskd reads at a different time or from a different set of customers
 * (docs/detection.md, "How the offline run matches riskd") - must be raised by both, for the
 * same customer on the same first day; and the area table riskd loads from PostgreSQL
 * (store_load_areas, over risk.area_balance) must equal the one the offline engine computed,
 * series included, once both have balanced every day.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "detector/areas.h"
#include "detector/replay.h"
#include "detector/store.h"
#include "tests/support/e2e.h"

/* The city: hourly readings (the shape rules need an hour or less), onsets on days 21..31. */
#define CITY_CUSTOMERS 400
#define CITY_DAYS 45
#define CITY_SEED 7 /* not a seed of `make eval`, which measures the rules */
#define CITY_THEFT_RATE "0.06"

#define GOAL_RECALL 0.90
#define GOAL_DELAY_DAYS 14.0
#define GOAL_HONEST_ALERTED 0.01
#define GOAL_CONFOUNDER_ALERTED 0.02

/* Patterns whose goals the scorecard shows met, asserted here; the rest are logged. */
static const char *const attacks_meeting_goals[] = {"partial_bypass", "peak_clipping",
                                                    "full_bypass", "meter_reversed"};
static const char *const confounders_meeting_goals[] = {"meter_replaced"};

/* One riskd alert: customer, first and last day of its firings, the rules it lists. */
struct alert_row {
	char customer_id[RISKD_ID_MAX + 1];
	int32_t first_day, last_day;
	int area_or_peer;          /* lists a rule reading the area balance or the peer median */
};

struct alert_set {
	struct alert_row *rows;
	size_t count;
};

static const struct alert_row *alert_find(const struct alert_set *s, const char *customer_id)
{
	for (size_t i = 0; i < s->count; i++)
		if (strcmp(s->rows[i].customer_id, customer_id) == 0)
			return &s->rows[i];
	return NULL;
}

/* Rules whose firing depends on what riskd read from risk.area_balance (or the area's
 * attribution) or its peers. */
static int rule_reads_area_or_peers(const char *rule_id)
{
	return strcmp(rule_id, "area_step_explained") == 0 ||
	       strcmp(rule_id, "area_loss_suspect") == 0 ||
	       strcmp(rule_id, "area_attributed_loss") == 0 ||
	       strcmp(rule_id, "area_attributed_drop") == 0 || strcmp(rule_id, "peer_deviation") == 0;
}

static void alerts_load(const char *dsn, struct alert_set *out)
{
	PGconn *conn = PQconnectdb(dsn);
	cr_assert_eq(PQstatus(conn), CONNECTION_OK, "connect: %s", PQerrorMessage(conn));
	PGresult *res = PQexec(conn,
	                       "select customer_id, first_day - date '1970-01-01',"
	                       " last_day - date '1970-01-01',"
	                       " (select string_agg(r->>'id', ',') from jsonb_array_elements(rules) r)"
	                       " from risk.alerts where kind = 'theft' order by customer_id");
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(conn));
	out->count = (size_t)PQntuples(res);
	out->rows = calloc(out->count + 1, sizeof(*out->rows));
	for (size_t i = 0; i < out->count; i++) {
		struct alert_row *a = &out->rows[i];
		snprintf(a->customer_id, sizeof(a->customer_id), "%s", PQgetvalue(res, (int)i, 0));
		a->first_day = (int32_t)atol(PQgetvalue(res, (int)i, 1));
		a->last_day = (int32_t)atol(PQgetvalue(res, (int)i, 2));
		char rules[4096];
		snprintf(rules, sizeof(rules), "%s", PQgetvalue(res, (int)i, 3));
		for (char *save = NULL, *id = strtok_r(rules, ",", &save); id;
		     id = strtok_r(NULL, ",", &save))
			a->area_or_peer |= rule_reads_area_or_peers(id);
	}
	PQclear(res);
	PQfinish(conn);
}

static int listed(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Recall, alerted share and median delay of one labelled pattern from riskd's alerts. */
struct pattern_score {
	size_t customers, detected, alerted;
	double median_delay;
};

static void pattern_score(const struct replay_labels *labels, const char *pattern,
                          const struct alert_set *alerts, struct pattern_score *out)
{
	int delays[CITY_CUSTOMERS];
	size_t n_delays = 0;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < labels->count; i++) {
		const struct replay_label *l = &labels->items[i];
		if (strcmp(l->pattern, pattern) != 0)
			continue;
		out->customers++;
		const struct alert_row *a = alert_find(alerts, l->customer_id);
		if (!a)
			continue;
		out->alerted++;
		/* one open alert per customer: a firing on or after the onset updates it */
		if (a->last_day >= l->onset_day) {
			out->detected++;
			if (a->first_day >= l->onset_day)
				delays[n_delays++] = a->first_day - l->onset_day;
		}
	}
	out->median_delay = NAN;
	if (n_delays > 0) {
		qsort(delays, n_delays, sizeof(delays[0]), cmp_int);
		out->median_delay = n_delays % 2 ? delays[n_delays / 2]
		                                 : (delays[n_delays / 2 - 1] + delays[n_delays / 2]) / 2.0;
	}
}

/* The offline engine over the same file, with the same rules and time zone as riskd. */
static struct replay *replay_city(const char *city, const char *rules)
{
	struct replay *rp = NULL;
	char errstr[512];
	struct replay_options opts = {.rules_path = rules, .timezone = "Asia/Shanghai"};
	cr_assert_eq(replay_new(&opts, &rp, NULL, errstr, sizeof(errstr)), 0, "%s", errstr);
	FILE *in = fopen(city, "r");
	cr_assert_not_null(in);
	cr_assert_eq(replay_file(&rp, 1, in, errstr, sizeof(errstr)), 0, "%s", errstr);
	fclose(in);
	replay_finish(rp);
	return rp;
}

/* The area tables riskd (from PostgreSQL) and the offline engine (in memory) read. */
static void compare_area_tables(const char *dsn, const struct area_table *offline)
{
	struct store *st = NULL;
	struct area_table stored = {0};
	char errstr[512];
	cr_assert_eq(store_open(&st, dsn, errstr, sizeof(errstr)), 0, "%s", errstr);
	int n = store_load_areas(st, &stored, errstr, sizeof(errstr));
	cr_assert_geq(n, 0, "%s", errstr);
	cr_assert_gt(stored.count, 0);
	cr_assert_eq(stored.count, offline->count, "areas: PostgreSQL %zu, offline %zu", stored.count,
	             offline->count);
	for (size_t i = 0; i < stored.count; i++) {
		const struct area_balance *a = &stored.areas[i], *b = &offline->areas[i];
		cr_assert_str_eq(a->transformer_id, b->transformer_id);
		cr_assert_eq(a->last_day, b->last_day, "%s", a->transformer_id);
		cr_assert_float_eq(a->loss_rate, b->loss_rate, 1e-9, "%s", a->transformer_id);
		cr_assert_float_eq(a->loss_excess, b->loss_excess, 1e-9, "%s", a->transformer_id);
		cr_assert_float_eq(a->excess_kwh, b->excess_kwh, 1e-6, "%s", a->transformer_id);
		cr_assert_float_eq(a->rate_noise, b->rate_noise, 1e-7, "%s", a->transformer_id);
		for (int d = 0; d < AREA_SERIES_DAYS; d++) {
			cr_assert_eq(isnan(a->rate[d]), isnan(b->rate[d]), "%s index %d", a->transformer_id, d);
			if (isnan(a->rate[d]))
				continue;
			cr_assert_float_eq(a->rate[d], b->rate[d], 1e-6, "%s index %d", a->transformer_id, d);
			cr_assert_float_eq(a->feeder_kwh[d], b->feeder_kwh[d], 1e-2, "%s index %d",
			                   a->transformer_id, d);
		}
	}
	area_table_free(&stored);
	store_close(st);
}

/* Whether an offline alert lists a rule reading the area balance or the peer medians. */
static int replay_alert_area_or_peer(const struct replay *rp, const struct replay_customer *c)
{
	for (size_t r = 0; r < replay_rule_count(rp); r++)
		if (replay_rule_bit(c->alerted, r) &&
		    rule_reads_area_or_peers(replay_rule(rp, r)->info->id))
			return 1;
	return 0;
}

Test(detection, labelled_city_thieves_alerted_honest_quiet, .timeout = 400)
{
	struct e2e_world w;
	char city[1400], labels_path[1400], rules[1200], errstr[512];
	struct replay_labels labels = {0};
	struct alert_set alerts = {0};

	/* 48 partitions: about 80 MB of readings, and a mock partition keeps about 5 MiB */
	e2e_world_new(&w, "detect", 48, 5000);
	snprintf(city, sizeof(city), "%s/city.jsonl", w.dir);
	snprintf(labels_path, sizeof(labels_path), "%s/labels.csv", w.dir);
	snprintf(rules, sizeof(rules), "%s/rules", w.env.root);
	e2e_sh("'%s/riskctl' gen --customers %d --days %d --interval-s 3600 --seed %d"
	       " --theft-rate %s --labels '%s' > '%s' 2>/dev/null",
	       w.env.bin, CITY_CUSTOMERS, CITY_DAYS, CITY_SEED, CITY_THEFT_RATE, labels_path, city);
	cr_assert_eq(replay_labels_load(&labels, labels_path, errstr, sizeof(errstr)), 0, "%s",
	             errstr);

	/* riskd consumes while the city is produced */
	pid_t pid = e2e_riskd_start(&w, "--until-idle 6");
	e2e_produce_file(&w, city);
	cr_assert_eq(e2e_wait(pid, 300), 0, "riskd failed (logs in %s)", w.dir);
	cr_assert_eq(e2e_query_int(w.dsn, "select sum(count) from risk.ingest_counts"
	                                  " where event_type = 'meter_reading'"
	                                  " and outcome = 'accepted'"),
	             (int64_t)CITY_CUSTOMERS * CITY_DAYS * 24, "every reading reached riskd");
	alerts_load(w.dsn, &alerts);
	cr_assert_gt(e2e_query_int(w.dsn, "select count(*) from risk.area_balance"), 0);

	/* attack patterns */
	static const char *const attacks[] = {"constant_fraction", "random_fraction",
	                                      "partial_bypass",    "peak_clipping",
	                                      "slow_ramp",         "full_bypass",
	                                      "meter_reversed"};
	size_t asserted = 0;
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
		struct pattern_score s;
		pattern_score(&labels, attacks[i], &alerts, &s);
		double recall = s.customers ? (double)s.detected / s.customers : NAN;
		cr_log_info("%-18s %zu customers, %zu detected (recall %.2f), median delay %.1f days",
		            attacks[i], s.customers, s.detected, recall, s.median_delay);
		if (!listed(attacks_meeting_goals,
		            sizeof(attacks_meeting_goals) / sizeof(attacks_meeting_goals[0]), attacks[i]) ||
		    s.customers == 0)
			continue; /* a documented miss (docs/detection.md): measured, not asserted */
		asserted++;
		cr_assert_geq(recall, GOAL_RECALL, "%s: recall %.2f (%zu of %zu)", attacks[i], recall,
		              s.detected, s.customers);
		cr_assert_leq(s.median_delay, GOAL_DELAY_DAYS, "%s: median delay %.1f days", attacks[i],
		              s.median_delay);
	}
	cr_assert_geq(asserted, 3, "the city holds too few thieves of the asserted patterns");

	/* confounders */
	static const char *const confounders[] = {"vacancy", "household_change", "seasonal_swing",
	                                          "meter_replaced"};
	for (size_t i = 0; i < sizeof(confounders) / sizeof(confounders[0]); i++) {
		struct pattern_score s;
		pattern_score(&labels, confounders[i], &alerts, &s);
		double share = s.customers ? (double)s.alerted / s.customers : NAN;
		cr_log_info("%-18s %zu customers, %zu alerted (%.2f)", confounders[i], s.customers,
		            s.alerted, share);
		if (listed(confounders_meeting_goals,
		           sizeof(confounders_meeting_goals) / sizeof(confounders_meeting_goals[0]),
		           confounders[i]) &&
		    s.customers > 0)
			cr_assert_leq(share, GOAL_CONFOUNDER_ALERTED, "%s: %zu of %zu alerted",
			              confounders[i], s.alerted, s.customers);
	}

	/* honest customers: everyone without a label */
	size_t honest = 0, honest_alerted = 0;
	for (int n = 1; n <= CITY_CUSTOMERS; n++) {
		char id[16];
		snprintf(id, sizeof(id), "C%06d", n);
		if (replay_labels_find(&labels, id))
			continue;
		honest++;
		if (alert_find(&alerts, id)) {
			honest_alerted++;
			cr_log_info("honest customer %s alerted", id);
		}
	}
	cr_log_info("honest: %zu customers, %zu alerted", honest, honest_alerted);
	cr_assert_gt(honest, CITY_CUSTOMERS / 2);
	cr_assert_leq((double)honest_alerted / honest, GOAL_HONEST_ALERTED, "%zu of %zu honest alerted",
	              honest_alerted, honest);

	/* riskd against the offline engine, where neither side's alert reads the area or peers */
	struct replay *rp = replay_city(city, rules);
	size_t compared = 0;
	for (size_t i = 0; i < replay_customer_count(rp); i++) {
		const struct replay_customer *c = replay_customer(rp, i);
		const struct alert_row *a = alert_find(&alerts, c->customer_id);
		int offline = c->first_alert_day != REPLAY_NO_DAY;
		if ((offline && replay_alert_area_or_peer(rp, c)) || (a && a->area_or_peer))
			continue;
		if (!offline && !a)
			continue;
		compared++;
		cr_assert(offline && a, "%s: alerted by %s only", c->customer_id,
		          offline ? "the offline engine" : "riskd");
		cr_assert_eq(a->first_day, c->first_alert_day, "%s: first alert day riskd %d, offline %d",
		             c->customer_id, a->first_day, c->first_alert_day);
	}
	for (size_t i = 0; i < alerts.count; i++)
		cr_assert(alerts.rows[i].area_or_peer ||
		              replay_customer_find(rp, alerts.rows[i].customer_id),
		          "%s: alerted by riskd, never scored offline", alerts.rows[i].customer_id);
	cr_log_info("riskd and the offline engine agree on %zu alerted customers", compared);
	cr_assert_gt(compared, 0);

	/* offline, a day is balanced when the stream reaches a later day; PostgreSQL balanced
	 * the last day as soon as it was complete: one reading of the next day closes it */
	static const char next_day[] =
	    "{\"type\":\"transformer_reading\",\"event_id\":\"t-end\","
	    "\"ts\":\"2026-02-15T00:00:00+08:00\",\"transformer_id\":\"T-END\",\"kwh\":0,"
	    "\"interval_s\":3600}"; /* the city runs CITY_DAYS days from 2026-01-01 */
	cr_assert_eq(replay_line(rp, next_day, strlen(next_day)), EVENT_REJECT_NONE);
	compare_area_tables(w.dsn, replay_areas(rp));

	replay_free(rp);
	free(alerts.rows);
	replay_labels_free(&labels);
}
