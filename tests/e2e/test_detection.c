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
 * the same file: riskd scores a customer-day once its area's balance and attribution of that
 * day are in (docs/detection.md, "Scoring after the area"), so every alert firing - customer,
 * day and the rules it lists - must be the offline engine's, area rules included; only the
 * customers whose alert reads the peer medians are left out, since those depend on the
 * customers an instance has seen. No customer-day may be left waiting, and the area table
 * riskd loads from PostgreSQL (store_load_areas, over risk.area_balance) must equal the one
 * the offline engine computed, series included, once both have balanced every day.
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
	int peer;                  /* lists the rule reading the peer median */
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

/* The rule whose firing depends on which customers an instance has seen: the peer medians
 * (docs/features.md, peer_ratio). Every other rule reads what riskd and the offline engine
 * both have when they score a customer-day, the area's balance and attribution included. */
static int rule_reads_peers(const char *rule_id)
{
	return strcmp(rule_id, "peer_deviation") == 0;
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
			a->peer |= rule_reads_peers(id);
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
/* Alert firings as "customer|day|rule,rule" lines (the active rules listed, by id). */
struct firings {
	char **lines;
	size_t count, cap;
};

static void firings_add(struct firings *f, const char *line)
{
	if (f->count == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 256;
		f->lines = realloc(f->lines, f->cap * sizeof(*f->lines));
		cr_assert_not_null(f->lines);
	}
	f->lines[f->count++] = strdup(line);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The offline engine's scoring observer: each alerting scoring as a firing line. */
static void offline_firing(void *arg, const char *customer_id, int32_t day,
                           const struct feature_vec *fv, const struct rule_hits *hits)
{
	struct replay *rp = ((void **)arg)[0];
	struct firings *f = ((void **)arg)[1];
	const char *ids[RULESET_RULES_MAX];
	size_t n = 0;
	(void)fv;
	if (!hits->alert)
		return;
	for (unsigned i = 0; i < hits->n_fired; i++) {
		const struct rule_info *r = ruleset_rule(replay_rules(rp), hits->fired[i]);
		if (r->mode == RULE_MODE_ACTIVE)
			ids[n++] = r->id;
	}
	qsort(ids, n, sizeof(*ids), cmp_str);
	char line[2048];
	int len = snprintf(line, sizeof(line), "%s|%d|", customer_id, (int)day);
	for (size_t i = 0; i < n; i++)
		len += snprintf(line + len, sizeof(line) - (size_t)len, "%s%s", i ? "," : "", ids[i]);
	firings_add(f, line);
}

static struct replay *replay_city(const char *city, const char *rules, struct firings *firings)
{
	static void *observer[2];
	struct replay *rp = NULL;
	char errstr[512];
	struct replay_options opts = {.rules_path = rules, .timezone = "Asia/Shanghai"};
	cr_assert_eq(replay_new(&opts, &rp, NULL, errstr, sizeof(errstr)), 0, "%s", errstr);
	observer[0] = rp;
	observer[1] = firings;
	replay_set_scoring_observer(rp, offline_firing, observer);
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

/* Whether an offline alert lists the rule reading the peer medians. */
static int replay_alert_peer(const struct replay *rp, const struct replay_customer *c)
{
	for (size_t r = 0; r < replay_rule_count(rp); r++)
		if (replay_rule_bit(c->alerted, r) && rule_reads_peers(replay_rule(rp, r)->info->id))
			return 1;
	return 0;
}

/* riskd's firings: every opening and update of a theft alert, from its audit trail, a day
 * raised at its close by the row of its scoring after the area (the later of the two). */
static void live_firings(const char *dsn, struct firings *f)
{
	PGconn *conn = PQconnectdb(dsn);
	cr_assert_eq(PQstatus(conn), CONNECTION_OK, "connect: %s", PQerrorMessage(conn));
	PGresult *res = PQexec(
	    conn, "select distinct on (e.alert_id, e.after->>'day')"
	          " a.customer_id || '|' || ((e.after->>'day')::date - date '1970-01-01') || '|'"
	          " || coalesce((select string_agg(r->>'id', ',' order by r->>'id' collate \"C\")"
	          "   from jsonb_array_elements(e.after->'rules') r), '')"
	          " from risk.alert_events e join risk.alerts a using (alert_id)"
	          " where a.kind = 'theft' and e.actor = 'riskd' and e.action in ('opened', 'updated')"
	          " order by e.alert_id, e.after->>'day', e.id desc");
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(conn));
	for (int i = 0; i < PQntuples(res); i++)
		firings_add(f, PQgetvalue(res, i, 0));
	PQclear(res);
	PQfinish(conn);
}

/* Whether a firing line's customer is in the alert set with a peer-reading alert, or lists
 * the peer rule itself. */
static int firing_reads_peers(const char *line, const struct alert_set *alerts,
                              const struct replay *rp)
{
	char customer[RISKD_ID_MAX + 1];
	size_t n = strcspn(line, "|");
	snprintf(customer, sizeof(customer), "%.*s", (int)n, line);
	const struct alert_row *a = alert_find(alerts, customer);
	const struct replay_customer *c = replay_customer_find(rp, customer);
	return strstr(line, "peer_deviation") || (a && a->peer) || (c && replay_alert_peer(rp, c));
}

/* Asserts that riskd's firings are the offline engine's, customer, day and rules, leaving out
 * the customers whose alert reads the peer medians. Returns the firings compared. */
static size_t compare_firings(struct firings *live, struct firings *offline,
                              const struct alert_set *alerts, const struct replay *rp)
{
	qsort(live->lines, live->count, sizeof(char *), cmp_str);
	qsort(offline->lines, offline->count, sizeof(char *), cmp_str);
	size_t i = 0, j = 0, same = 0, only_live = 0, only_offline = 0;
	while (i < live->count || j < offline->count) {
		int c = i == live->count ? 1 : j == offline->count ? -1
		                                                  : strcmp(live->lines[i], offline->lines[j]);
		const char *line = c <= 0 ? live->lines[i] : offline->lines[j];
		int skip = firing_reads_peers(line, alerts, rp);
		if (c == 0) {
			same += !skip;
			i++;
			j++;
			continue;
		}
		if (!skip) {
			cr_log_error("alert firing %s by %s only", line, c < 0 ? "riskd" : "the offline engine");
			only_live += c < 0;
			only_offline += c > 0;
		}
		if (c < 0)
			i++;
		else
			j++;
	}
	cr_log_info("alert firings: %zu the same, %zu riskd only, %zu offline only", same,
	            only_live, only_offline);
	cr_assert_eq(only_live + only_offline, 0, "riskd's alert firings differ from the offline"
	             " engine's: %zu riskd only, %zu offline only", only_live, only_offline);
	return same;
}

static void firings_free(struct firings *f)
{
	for (size_t i = 0; i < f->count; i++)
		free(f->lines[i]);
	free(f->lines);
}

Test(detection, labelled_city_thieves_alerted_honest_quiet, .timeout = 400)
{
	struct e2e_world w;
	char city[1400], labels_path[1400], rules[1200], errstr[512];
	struct replay_labels labels = {0};
	struct alert_set alerts = {0};

	/* 48 partitions: about 80 MB of readings, and a mock partition keeps about 5 MiB */
	e2e_world_new(&w, "detect", 48, 5000);
	e2e_world_set_score_after_area(&w, 1);
	snprintf(city, sizeof(city), "%s/city.jsonl", w.dir);
	snprintf(labels_path, sizeof(labels_path), "%s/labels.csv", w.dir);
	snprintf(rules, sizeof(rules), "%s/rules", w.env.root);
	e2e_sh("'%s/riskctl' gen --customers %d --days %d --interval-s 3600 --seed %d"
	       " --theft-rate %s --labels '%s' > '%s' 2>/dev/null",
	       w.env.bin, CITY_CUSTOMERS, CITY_DAYS, CITY_SEED, CITY_THEFT_RATE, labels_path, city);
	cr_assert_eq(replay_labels_load(&labels, labels_path, errstr, sizeof(errstr)), 0, "%s",
	             errstr);

	/* A backfill whose profiles were published last: the readings (and the rest) first, in
	 * a bulk loader's large batches, then the profiles, all before riskd starts. The
	 * offline engine reads the file, profiles first; riskd matches it only because each
	 * readings partition waits for its profiles partition (the read-order gate,
	 * docs/detection.md "Exactness"). Without the gate riskd would read every reading
	 * before the profiles here: librdkafka starts a new assignment's partitions in
	 * topic-name order (so the profiles topic is named to come after the readings topic),
	 * and a fetch of at most 1 MB is filled by the first partitions it asks for. A day that
	 * closes before its customer's profile is read is scored without the profile's fields
	 * (C000102's first alert came 4 days late that way). */
	e2e_world_set_topic(&w, 2, "profiles");
	char profiles[1500], readings[1500];
	snprintf(profiles, sizeof(profiles), "%s/profiles.jsonl", w.dir);
	snprintf(readings, sizeof(readings), "%s/readings.jsonl", w.dir);
	e2e_sh("grep '^{\"type\":\"customer\"' '%s' > '%s'", city, profiles);
	e2e_sh("grep -v '^{\"type\":\"customer\"' '%s' > '%s'", city, readings);
	e2e_world_set_kafka_extra(&w, "  producer_properties:\n    linger.ms: \"1000\"\n");
	e2e_produce_file(&w, readings);
	e2e_world_set_kafka_extra(&w, "  consumer_properties:\n    fetch.max.bytes: \"1000000\"\n");
	e2e_produce_file(&w, profiles);
	pid_t pid = e2e_riskd_start(&w, "--until-idle 6");
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

	/* riskd against the offline engine on the same file: the same alerts, customer by
	 * customer, day by day and rule by rule, but for the customers whose alert reads the peer
	 * medians (which depend on the customers an instance has seen) */
	struct firings offline_fired = {0}, live_fired = {0};
	struct replay *rp = replay_city(city, rules, &offline_fired);
	size_t compared = 0;
	for (size_t i = 0; i < replay_customer_count(rp); i++) {
		const struct replay_customer *c = replay_customer(rp, i);
		const struct alert_row *a = alert_find(&alerts, c->customer_id);
		int offline = c->first_alert_day != REPLAY_NO_DAY;
		if ((offline && replay_alert_peer(rp, c)) || (a && a->peer))
			continue;
		if (!offline && !a)
			continue;
		compared++;
		cr_assert(offline && a, "%s: alerted by %s only", c->customer_id,
		          offline ? "the offline engine" : "riskd");
		cr_assert_eq(a->first_day, c->first_alert_day, "%s: first alert day riskd %d, offline %d",
		             c->customer_id, a->first_day, c->first_alert_day);
		cr_assert_eq(a->last_day, c->last_alert_day, "%s: last alert day riskd %d, offline %d",
		             c->customer_id, a->last_day, c->last_alert_day);
	}
	for (size_t i = 0; i < alerts.count; i++)
		cr_assert(alerts.rows[i].peer || replay_customer_find(rp, alerts.rows[i].customer_id),
		          "%s: alerted by riskd, never scored offline", alerts.rows[i].customer_id);
	cr_log_info("riskd and the offline engine agree on %zu alerted customers", compared);
	cr_assert_gt(compared, 0);
	live_firings(w.dsn, &live_fired);
	cr_assert_gt(compare_firings(&live_fired, &offline_fired, &alerts, rp), 0);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.pending_scores"), 0,
	             "every customer-day that waited for its area was scored");
	/* the signature thefts were raised at their days' close and completed after the area:
	 * one firing a day, whatever scored it twice */
	int64_t at_close = e2e_query_int(w.dsn, "select count(*) from risk.alert_events"
	                                        " where after->>'stage' = 'close'");
	cr_log_info("%lld firings raised at the close", (long long)at_close);
	cr_assert_gt(at_close, 0, "a bypass or reversed meter alerts at its close");
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.alert_events e"
	                                  " where after->>'stage' = 'close' and not exists (select 1"
	                                  " from risk.alert_events c where c.alert_id = e.alert_id"
	                                  " and c.id > e.id and c.after->>'stage' = 'complete'"
	                                  " and c.after->>'day' = e.after->>'day')"),
	             0, "every day raised at its close was completed after its area");
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.alerts a where a.kind = 'theft'"
	                                  " and a.firings <> (select count(distinct e.after->>'day')"
	                                  " from risk.alert_events e where e.alert_id = a.alert_id"
	                                  " and e.action in ('opened', 'updated'))"),
	             0, "firings count the days, not the scorings");
	firings_free(&offline_fired);
	firings_free(&live_fired);

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
