/*
 * test_scorer.c - theft scoring in the detector (detector/scorer.h): a rule set loaded from a
 * directory of YAML files, a customer scored when one of its days closes, the alert and its
 * evidence, shadow rules, per-rule counts (on, off, reset), the observer, the transformer's
 * area features, and reloads: nothing changed, an edit, a bad edit that leaves the old set
 * live, and its fix.
 *
 * Each test writes its rule files into its own mkdtemp directory. Days are fed as one daily
 * reading each, through daily_apply_reading and scorer_on_reading as detector/ingest.c does:
 * a day closes (and is scored) when the reading of a later day arrives.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detector/rescore.h"
#include "detector/scorer.h"

/* 2026-01-01. */
#define D0 20454

/* Alert at 50. big_day alone alerts (60); busy_day alone does not (20); every_day is a shadow
 * rule whose score would alert if shadow rules counted; needs_history reads a feature that
 * stays missing for the first ten days. */
static const char theft_rules[] =
    "ruleset: unit-theft\n"
    "version: \"1.0\"\n"
    "kind: theft\n"
    "thresholds:\n"
    "  alert: 50\n"
    "rules:\n"
    "  - id: big_day\n"
    "    title: A day of 30 kWh or more\n"
    "    when: kwh_day >= 30\n"
    "    score: 60\n"
    "    severity: critical\n"
    "    evidence: [kwh_day, days_observed]\n"
    "    tests:\n"
    "      - given: {kwh_day: 31}\n"
    "        expect: fire\n"
    "      - given: {kwh_day: 1}\n"
    "        expect: quiet\n"
    "  - id: busy_day\n"
    "    title: A day of 10 kWh or more\n"
    "    when: kwh_day >= 10\n"
    "    score: 20\n"
    "    severity: medium\n"
    "    evidence: [kwh_day]\n"
    "    tests:\n"
    "      - given: {kwh_day: 11}\n"
    "        expect: fire\n"
    "      - given: {kwh_day: 1}\n"
    "        expect: quiet\n"
    "  - id: every_day\n"
    "    title: Any closed day\n"
    "    when: kwh_day >= 0\n"
    "    score: 100\n"
    "    severity: low\n"
    "    mode: shadow\n"
    "    tests:\n"
    "      - given: {kwh_day: 1}\n"
    "        expect: fire\n"
    "      - given: {}\n"
    "        expect: quiet\n"
    "  - id: needs_history\n"
    "    title: Two weeks of history\n"
    "    when: kwh_avg_14d >= 0\n"
    "    score: 5\n"
    "    severity: low\n"
    "    tests:\n"
    "      - given: {kwh_avg_14d: 1}\n"
    "        expect: fire\n"
    "      - given: {}\n"
    "        expect: quiet\n";

/* One rule; alerts on any area loss rate of 20% or more. */
static const char area_rules[] =
    "ruleset: unit-area\n"
    "version: \"1\"\n"
    "kind: theft\n"
    "thresholds:\n"
    "  alert: 50\n"
    "rules:\n"
    "  - id: lossy_area\n"
    "    title: The area loses a fifth of its energy\n"
    "    when: area_loss_rate >= 0.2\n"
    "    score: 50\n"
    "    severity: high\n"
    "    evidence: [area_loss_rate]\n"
    "    tests:\n"
    "      - given: {area_loss_rate: 0.3}\n"
    "        expect: fire\n"
    "      - given: {area_loss_rate: 0.1}\n"
    "        expect: quiet\n";

static char rules_dir[64];

/* The path of file `name` in rules_dir (valid until the next call). */
static const char *rules_file(const char *name)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", rules_dir, name);
	return path;
}

static void write_file(const char *name, const char *text)
{
	const char *path = rules_file(name);
	FILE *fp = fopen(path, "w");
	cr_assert_not_null(fp, "cannot write %s", path);
	fputs(text, fp);
	cr_assert_eq(fclose(fp), 0);
}

static void remove_file(const char *name)
{
	cr_assert_eq(unlink(rules_file(name)), 0, "cannot remove %s", rules_file(name));
}

/* A fresh directory holding theft.yaml = text. */
static void make_rules_dir(const char *text)
{
	snprintf(rules_dir, sizeof(rules_dir), "/tmp/riskd-scorer-XXXXXX");
	cr_assert_not_null(mkdtemp(rules_dir));
	write_file("theft.yaml", text);
}

static void remove_rules_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rules_dir);
	cr_assert_eq(system(cmd), 0);
}

static struct scorer *new_scorer(const char *path)
{
	struct rbuf diag = {0};
	struct scorer *sc = scorer_new(path, &diag);
	rbuf_append(&diag, "", 1);
	cr_assert_not_null(sc, "scorer_new(%s): %s", path, diag.data);
	rbuf_free(&diag);
	return sc;
}

static void fresh_customer(struct cstate *cs)
{
	memset(cs, 0, sizeof(*cs));
	cstate_id_bind(cs, "C1");
	cs->segment = SEGMENT_RESIDENTIAL;
}

/* Feeds one daily reading of kwh for local day `day` (closing the open day when day is
 * later) with area transformer_id; returns scorer_on_reading's result. */
static int feed_day_in(struct scorer *sc, struct cstate *cs, const char *transformer_id,
                       int32_t day, double kwh, struct scorer_alert *alert)
{
	struct event ev;
	struct daily_closed closed;
	memset(&ev, 0, sizeof(ev));
	ev.type = EVENT_METER_READING;
	snprintf(ev.entity_id, sizeof(ev.entity_id), "%s", cstate_id(cs));
	snprintf(ev.event_id, sizeof(ev.event_id), "r-%d", day);
	ev.ts = (int64_t)day * 86400;
	ev.u.reading.kwh = kwh;
	ev.u.reading.interval_s = 86400;
	memset(&closed, 0, sizeof(closed));
	enum daily_result result = daily_apply_reading(cs, day, daily_kwh_to_uwh(kwh), 86400, &closed);
	return scorer_on_reading(sc, cs, transformer_id, &ev, day, 0, result, &closed, alert);
}

static int feed_day(struct scorer *sc, struct cstate *cs, int32_t day, double kwh,
                    struct scorer_alert *alert)
{
	return feed_day_in(sc, cs, "", day, kwh, alert);
}

/* A scorer of theft_rules in a fresh rules_dir, and a fresh customer cs. */
static struct scorer *start(struct cstate *cs)
{
	make_rules_dir(theft_rules);
	fresh_customer(cs);
	return new_scorer(rules_dir);
}

/* Frees sc and removes rules_dir. */
static void finish(struct scorer *sc)
{
	scorer_free(sc);
	remove_rules_dir();
}

static int rule_index(const struct scorer *sc, const char *id)
{
	int idx = ruleset_rule_find(scorer_rules(sc), id);
	cr_assert_geq(idx, 0, "rule %s not in the live set", id);
	return idx;
}

static json_t *parse_json(const struct rbuf *b)
{
	json_error_t err;
	json_t *j = json_loadb(b->data, b->len, 0, &err);
	cr_assert_not_null(j, "bad JSON (%s): %.*s", err.text, (int)b->len, b->data);
	return j;
}

/* ---- loading ---- */

Test(scorer, loads_the_theft_rules_of_a_directory)
{
	make_rules_dir(theft_rules);
	/* A credit file beside it is read (and must be valid) but contributes no theft rule. */
	write_file("credit.yaml", "ruleset: unit-credit\n"
	                          "version: \"1\"\n"
	                          "kind: credit\n"
	                          "rules:\n"
	                          "  - id: in_arrears\n"
	                          "    title: In arrears\n"
	                          "    when: days_past_due > 30\n"
	                          "    cap: B\n"
	                          "    tests:\n"
	                          "      - given: {days_past_due: 40}\n"
	                          "        expect: fire\n"
	                          "      - given: {days_past_due: 0}\n"
	                          "        expect: quiet\n");
	/* Files of other extensions are not rule files. */
	write_file("notes.txt", "not: [yaml\n");
	struct scorer *sc = new_scorer(rules_dir);
	const struct ruleset *rs = scorer_rules(sc);
	cr_assert_eq(ruleset_kind(rs), RULE_KIND_THEFT);
	cr_assert_str_eq(ruleset_name(rs), "unit-theft");
	cr_assert_str_eq(ruleset_version(rs), "1.0");
	cr_assert_eq(ruleset_rule_count(rs), 4);
	cr_assert_float_eq(ruleset_alert_threshold(rs), 50, 1e-9);
	cr_assert_eq(ruleset_rule_find(rs, "in_arrears"), -1);

	struct scorer_stats st;
	scorer_stats(sc, &st);
	cr_assert_eq(st.scored + st.alerts + st.reloads + st.reload_failures, 0);
	for (size_t i = 0; i < ruleset_rule_count(rs); i++)
		cr_assert_eq(scorer_rule_counts(sc)[i].evaluations, 0);
	finish(sc);
}

Test(scorer, loads_a_single_file_and_the_shipped_rules)
{
	make_rules_dir(theft_rules);
	struct scorer *sc = new_scorer(rules_file("theft.yaml"));
	cr_assert_str_eq(ruleset_name(scorer_rules(sc)), "unit-theft");
	scorer_free(sc);
	remove_rules_dir();

	sc = new_scorer("rules");
	cr_assert_str_eq(ruleset_name(scorer_rules(sc)), "theft-core");
	cr_assert_geq(ruleset_rule_find(scorer_rules(sc), "sustained_drop"), 0);
	scorer_free(sc);
	scorer_free(NULL);
}

Test(scorer, a_bad_rule_file_fails_with_positioned_diagnostics)
{
	make_rules_dir("ruleset: unit-theft\n"
	               "version: \"1\"\n"
	               "kind: theft\n"
	               "thresholds:\n"
	               "  alert: 50\n"
	               "rules:\n"
	               "  - id: typo\n"
	               "    title: A misspelt feature\n"
	               "    when: kwh_dayy >= 30\n"
	               "    score: 60\n"
	               "    severity: high\n");
	struct rbuf diag = {0};
	cr_assert_null(scorer_new(rules_dir, &diag));
	rbuf_append(&diag, "", 1);
	char want[128];
	snprintf(want, sizeof(want), "%s/theft.yaml:9:11: error: unknown feature 'kwh_dayy'",
	         rules_dir);
	cr_assert(strstr(diag.data, want), "want '%s' in:\n%s", want, diag.data);
	cr_assert(strstr(diag.data, "did you mean 'kwh_day'"), "%s", diag.data);
	rbuf_free(&diag);
	remove_rules_dir();

	struct rbuf missing = {0};
	cr_assert_null(scorer_new("/nonexistent-riskd-rules", &missing));
	rbuf_append(&missing, "", 1);
	cr_assert(strstr(missing.data, "/nonexistent-riskd-rules"), "%s", missing.data);
	rbuf_free(&missing);
}

/* ---- scoring ---- */

Test(scorer, a_day_over_the_threshold_raises_an_alert_with_its_evidence)
{
	struct cstate cs;
	struct scorer_alert alert;
	struct scorer *sc = start(&cs);

	memset(&alert, 0, sizeof(alert));
	cr_assert_eq(feed_day(sc, &cs, D0, 40, &alert), 0, "an open day is not scored");
	cr_assert_null(alert.rules_json, "no alert, *alert untouched");
	cr_assert_eq(feed_day(sc, &cs, D0 + 1, 5, &alert), 1, "40 kWh closes: big_day + busy_day");
	cr_assert_eq(alert.day, D0, "the alert is for the day that closed");
	cr_assert_float_eq(alert.score, 80, 1e-9, "active rules only: 60 + 20, not the shadow 100");
	cr_assert_str_eq(alert.severity, "critical", "the highest severity of the fired rules");

	json_t *rules = parse_json(alert.rules_json);
	cr_assert(json_is_array(rules));
	cr_assert_eq(json_array_size(rules), 2, "the fired active rules, not the shadow one");
	json_t *big = json_array_get(rules, 0);
	cr_assert_str_eq(json_string_value(json_object_get(big, "id")), "big_day");
	cr_assert_str_eq(json_string_value(json_object_get(big, "title")), "A day of 30 kWh or more");
	cr_assert_float_eq(json_number_value(json_object_get(big, "score")), 60, 1e-9);
	cr_assert_str_eq(json_string_value(json_object_get(big, "severity")), "critical");
	json_t *evidence = json_object_get(big, "evidence");
	cr_assert_eq(json_object_size(evidence), 2);
	cr_assert_float_eq(json_number_value(json_object_get(evidence, "kwh_day")), 40, 1e-9);
	cr_assert_float_eq(json_number_value(json_object_get(evidence, "days_observed")), 1, 1e-9);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(rules, 1), "id")),
	                 "busy_day");
	json_decref(rules);

	json_t *curve = parse_json(alert.curve_json);
	cr_assert_eq(json_array_size(curve), 60, "60 days of energy against the baseline");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(curve, 59), "day")),
	                 "2026-01-01", "the curve ends with the scored day");
	json_decref(curve);

	/* the first day has no baseline and the area no attribution: no estimate, and the
	 * probability from the score alone, 1 - 2^(-80 / 50) */
	static const char want_stolen[] =
	                 "{\"method\":\"none\",\"from\":\"2026-01-01\",\"to\":\"2026-01-01\","
	                 "\"days\":1,\"known_days\":0,\"kwh\":null,\"kwh_low\":null,"
	                 "\"kwh_high\":null,\"kwh_day\":null,\"kwh_day_se\":null,\"z\":null,"
	                 "\"probability\":0.6701}";
	const struct rbuf *stolen = alert.stolen_json;
	cr_assert(stolen->len == strlen(want_stolen) &&
	              memcmp(stolen->data, want_stolen, stolen->len) == 0,
	          "%.*s", (int)stolen->len, stolen->data);

	struct scorer_stats st;
	scorer_stats(sc, &st);
	cr_assert_eq(st.scored, 1);
	cr_assert_eq(st.alerts, 1);
	finish(sc);
}

Test(scorer, below_the_threshold_and_shadow_rules_raise_nothing)
{
	struct cstate cs;
	struct scorer_alert alert;
	struct scorer *sc = start(&cs);

	feed_day(sc, &cs, D0, 5, &alert);
	cr_assert_eq(feed_day(sc, &cs, D0 + 1, 12, &alert), 0,
	             "5 kWh: only the shadow rule (score 100) fires");
	cr_assert_eq(feed_day(sc, &cs, D0 + 2, 1, &alert), 0, "12 kWh: busy_day's 20 < 50");
	cr_assert_eq(feed_day(sc, &cs, D0 + 1, 1, &alert), 0, "a late reading scores nothing");
	cr_assert_eq(feed_day(sc, &cs, D0 + 2, 50, &alert), 0, "a same-day reading scores nothing");
	cr_assert_eq(feed_day(sc, &cs, D0 + 3, 1, &alert), 1, "51 kWh on D0 + 2 alerts");
	cr_assert_eq(alert.day, D0 + 2);

	struct scorer_stats st;
	scorer_stats(sc, &st);
	cr_assert_eq(st.scored, 3, "one scoring per closed day");
	cr_assert_eq(st.alerts, 1);
	const struct feature_vec *fv = scorer_last_features(sc);
	cr_assert(feature_known(fv, FEAT_KWH_DAY));
	cr_assert_float_eq(fv->value[FEAT_KWH_DAY], 51, 1e-6);
	cr_assert_float_eq(fv->value[FEAT_DAYS_OBSERVED], 3, 1e-9);
	cr_assert_not(feature_known(fv, FEAT_KWH_AVG_14D), "too few days for kwh_avg_14d");
	finish(sc);
}

Test(scorer, counts_evaluations_firings_and_missing_reads_per_rule)
{
	struct cstate cs;
	struct scorer_alert alert;
	struct scorer *sc = start(&cs);
	int big = rule_index(sc, "big_day"), busy = rule_index(sc, "busy_day"),
	    every = rule_index(sc, "every_day"), history = rule_index(sc, "needs_history");

	/* closes 40, 5 and 12 kWh */
	static const double kwh[] = {40, 5, 12, 1};
	for (int i = 0; i < 4; i++)
		feed_day(sc, &cs, D0 + i, kwh[i], &alert);
	const struct rule_count *n = scorer_rule_counts(sc);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(n[i].evaluations, 3, "rule %d evaluated on every closed day", i);
	cr_assert_eq(n[big].fired, 1);
	cr_assert_eq(n[busy].fired, 2);
	cr_assert_eq(n[every].fired, 3, "shadow rules are counted too");
	cr_assert_eq(n[history].fired, 0);
	cr_assert_eq(n[history].missing_reads, 3, "kwh_avg_14d is missing every time");
	cr_assert_eq(n[big].missing_reads + n[busy].missing_reads + n[every].missing_reads, 0);

	/* Off: scoring goes on (and alerts) but nothing is counted. */
	scorer_set_counting(sc, 0);
	feed_day(sc, &cs, D0 + 4, 40, &alert);
	cr_assert_eq(feed_day(sc, &cs, D0 + 5, 1, &alert), 1, "alerts while counting is off");
	n = scorer_rule_counts(sc);
	cr_assert_eq(n[big].evaluations, 3);
	cr_assert_eq(n[big].fired, 1);
	cr_assert_eq(n[history].missing_reads, 3);
	struct scorer_stats st;
	scorer_stats(sc, &st);
	cr_assert_eq(st.scored, 5, "the scorer's own counters go on");

	/* On again: counts resume where they were. */
	scorer_set_counting(sc, 1);
	feed_day(sc, &cs, D0 + 6, 1, &alert);
	cr_assert_eq(n[big].evaluations, 4);
	cr_assert_eq(n[every].fired, 4);
	cr_assert_eq(n[big].fired, 1);

	scorer_rule_counts_reset(sc);
	for (int i = 0; i < 4; i++)
		cr_assert(n[i].evaluations == 0 && n[i].fired == 0 && n[i].missing_reads == 0);
	feed_day(sc, &cs, D0 + 7, 1, &alert);
	cr_assert_eq(n[every].evaluations, 1, "counting after a reset starts from 0");
	finish(sc);
}

/* What the observer saw on its last call. */
struct observed {
	const struct scorer *sc;
	int calls;
	int32_t day;
	const struct cstate *cs;
	int alert;
	double score, shadow_score;
	unsigned n_fired;
	double kwh_day;
};

static void observe(void *arg, const struct cstate *cs, int32_t day, const struct rule_hits *hits)
{
	struct observed *o = arg;
	o->calls++;
	o->day = day;
	o->cs = cs;
	o->alert = hits->alert;
	o->score = hits->score;
	o->shadow_score = hits->shadow_score;
	o->n_fired = hits->n_fired;
	o->kwh_day = scorer_last_features(o->sc)->value[FEAT_KWH_DAY];
}

Test(scorer, the_observer_sees_every_scoring)
{
	struct cstate cs;
	struct scorer_alert alert;
	struct scorer *sc = start(&cs);
	struct observed o = {.sc = sc};
	scorer_set_observer(sc, observe, &o);

	feed_day(sc, &cs, D0, 40, &alert);
	cr_assert_eq(o.calls, 0, "nothing scored yet");
	cr_assert_eq(feed_day(sc, &cs, D0 + 1, 5, &alert), 1);
	cr_assert_eq(o.calls, 1);
	cr_assert_eq(o.cs, &cs);
	cr_assert_eq(o.day, D0);
	cr_assert(o.alert, "hits->alert set with the alert returned");
	cr_assert_float_eq(o.score, 80, 1e-9);
	cr_assert_float_eq(o.shadow_score, 100, 1e-9);
	cr_assert_eq(o.n_fired, 3);
	cr_assert_float_eq(o.kwh_day, 40, 1e-6, "the features of this scoring");

	cr_assert_eq(feed_day(sc, &cs, D0 + 2, 1, &alert), 0);
	cr_assert_eq(o.calls, 2, "quiet scorings are observed too");
	cr_assert_not(o.alert);
	cr_assert_eq(o.day, D0 + 1);

	scorer_set_observer(sc, NULL, NULL);
	feed_day(sc, &cs, D0 + 3, 1, &alert);
	cr_assert_eq(o.calls, 2, "no observer after it was unset");
	finish(sc);
}

Test(scorer, every_reading_feeds_the_interval_models)
{
	struct cstate cs;
	struct scorer_alert alert;
	struct scorer *sc = start(&cs);

	/* Three days of hourly readings, 0.5 kWh an hour and 2 kWh from 18:00; reverse energy on
	 * D0 + 1. */
	for (int32_t day = D0; day < D0 + 3; day++) {
		for (int h = 0; h < 24; h++) {
			struct event ev;
			struct daily_closed closed;
			memset(&ev, 0, sizeof(ev));
			ev.type = EVENT_METER_READING;
			ev.ts = (int64_t)day * 86400 + h * 3600;
			ev.u.reading.kwh = h >= 18 ? 2.0 : 0.5;
			ev.u.reading.interval_s = 3600;
			if (day == D0 + 1 && h == 12) {
				ev.has |= EVENT_HAS_REVERSE_KWH;
				ev.u.reading.reverse_kwh = 1.5;
			}
			enum daily_result result = daily_apply_reading(
			    &cs, day, daily_kwh_to_uwh(ev.u.reading.kwh), 3600, &closed);
			scorer_on_reading(sc, &cs, "", &ev, day, h * 3600, result, &closed, &alert);
		}
	}
	feed_day(sc, &cs, D0 + 3, 1, &alert);
	const struct feature_vec *fv = scorer_last_features(sc);
	cr_assert(feature_known(fv, FEAT_NIGHT_RATIO), "the day's shape was seen");
	cr_assert_float_eq(fv->value[FEAT_NIGHT_RATIO], 3.0 / 21.0, 0.01, "00:00-06:00 share");
	cr_assert(feature_known(fv, FEAT_REVERSE_KWH_30D));
	cr_assert_float_eq(fv->value[FEAT_REVERSE_KWH_30D], 1.5, 0.1);
	finish(sc);
}

Test(scorer, meter_events_feed_the_tamper_features)
{
	struct cstate cs;
	struct feature_vec fv;
	struct scorer *sc = start(&cs);

	scorer_features(sc, &cs, "", D0, &fv);
	cr_assert_float_eq(fv.value[FEAT_TAMPER_EVENTS_30D], 0, 1e-9);
	static const enum meter_event_code codes[] = {METER_CODE_COVER_OPEN,
	                                              METER_CODE_MAGNETIC_INTERFERENCE,
	                                              METER_CODE_POWER_OUTAGE};
	for (int i = 0; i < 3; i++) {
		struct event ev;
		memset(&ev, 0, sizeof(ev));
		ev.type = EVENT_METER_EVENT;
		ev.ts = (int64_t)(D0 - 3) * 86400 + 3600;
		ev.u.meter_event.code = codes[i];
		scorer_on_meter_event(sc, &cs, &ev, D0 - 3);
	}
	scorer_features(sc, &cs, "", D0, &fv);
	cr_assert(feature_known(&fv, FEAT_TAMPER_EVENTS_30D));
	cr_assert_float_eq(fv.value[FEAT_TAMPER_EVENTS_30D], 2, 1e-9, "an outage is no tamper");
	cr_assert_float_eq(fv.value[FEAT_DAYS_SINCE_TAMPER], 3, 1e-9);
	scorer_features(sc, &cs, "", D0 + 40, &fv);
	cr_assert_float_eq(fv.value[FEAT_TAMPER_EVENTS_30D], 0, 1e-9, "out of the 30 days");
	finish(sc);
}

/* Adds area T1 losing 30% to t, its last balanced day `day`, attributed at resolution_s (0:
 * not attributed) on that day. */
static void add_lossy_area(struct area_table *t, int32_t day, int32_t resolution_s)
{
	struct area_balance a;
	memset(&a, 0, sizeof(a));
	snprintf(a.transformer_id, sizeof(a.transformer_id), "T1");
	a.loss_rate = 0.3;
	a.loss_excess = NAN;
	a.last_day = day;
	a.attrib_end_day = resolution_s ? day : 0;
	a.attrib_resolution_s = resolution_s;
	for (int i = 0; i < AREA_SERIES_DAYS; i++)
		a.rate[i] = a.feeder_kwh[i] = NAN;
	area_table_add(t, &a);
}

Test(scorer, area_features_come_from_the_customers_transformer)
{
	make_rules_dir(area_rules);
	struct scorer *sc = new_scorer(rules_dir);
	struct area_table *areas = scorer_areas(sc);
	cr_assert_not_null(areas);
	cr_assert_eq(scorer_areas(sc), areas, "one table, refreshed in place");
	add_lossy_area(areas, D0, 0);

	struct cstate c1, c2;
	struct scorer_alert alert;
	fresh_customer(&c1);
	fresh_customer(&c2);
	cstate_id_bind(&c2, "C2");
	feed_day_in(sc, &c1, "T1", D0, 10, &alert);
	cr_assert_eq(feed_day_in(sc, &c1, "T1", D0 + 1, 10, &alert), 1, "T1 loses 30%%");
	cr_assert_float_eq(scorer_last_features(sc)->value[FEAT_AREA_LOSS_RATE], 0.3, 1e-9);
	feed_day_in(sc, &c2, "T2", D0, 10, &alert);
	cr_assert_eq(feed_day_in(sc, &c2, "T2", D0 + 1, 10, &alert), 0, "T2 has no balance");
	cr_assert_not(feature_known(scorer_last_features(sc), FEAT_AREA_LOSS_RATE));
	feed_day_in(sc, &c2, "", D0 + 2, 10, &alert);
	cr_assert_not(feature_known(scorer_last_features(sc), FEAT_AREA_LOSS_RATE),
	              "an unknown transformer has no area");
	finish(sc);
}

/* ---- deferred scoring (riskd scores a customer-day once its area has the day) ---- */

/* Alerts when the area loses a fifth of its energy while the customer's use dropped. */
static const char defer_rules[] =
    "ruleset: unit-defer\n"
    "version: \"1\"\n"
    "kind: theft\n"
    "thresholds:\n"
    "  alert: 50\n"
    "rules:\n"
    "  - id: lossy_area_drop\n"
    "    title: The area loses a fifth of its energy and the customer's use dropped\n"
    "    when: area_loss_rate >= 0.2 and drop_ratio_14d >= 0.3\n"
    "    score: 50\n"
    "    severity: high\n"
    "    evidence: [area_loss_rate, drop_ratio_14d, area_attrib_z]\n"
    "    tests:\n"
    "      - given: {area_loss_rate: 0.3, drop_ratio_14d: 0.5}\n"
    "        expect: fire\n"
    "      - given: {area_loss_rate: 0.1, drop_ratio_14d: 0.5}\n"
    "        expect: quiet\n";

/* Area T1 losing 30%, its last balanced day `day`, and C1's finding (3 kWh a day, z 5). */
static void lossy_area(struct area_table *t, int32_t day)
{
	area_table_reset(t);
	add_lossy_area(t, day, 3600);
	struct attrib_finding f = {.window_end_day = day, .resolution_s = 3600, .share = 0.8f,
	                           .kwh_day = 3, .stolen_kwh = 84, .z = 5, .carrier = 0};
	area_table_add_finding(t, "C1", &f);
}

/* Whether a and b know the same features with the same values. */
static int same_features(const struct feature_vec *a, const struct feature_vec *b)
{
	for (int id = 0; id < FEAT__COUNT; id++) {
		if (feature_known(a, (enum feature_id)id) != feature_known(b, (enum feature_id)id))
			return 0;
		if (feature_known(a, (enum feature_id)id) &&
		    memcmp(&a->value[id], &b->value[id], sizeof(double)) != 0)
			return 0;
	}
	return 1;
}

static int rbuf_equal(const struct rbuf *a, const struct rbuf *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* Two scorers of defer_rules in a fresh rules_dir, *now scoring at the close and *later
 * deferring with mode, and a fresh customer for each. */
static void start_deferral_pair(enum scorer_deferral mode, struct scorer **now,
                                struct scorer **later, struct cstate *c_now,
                                struct cstate *c_later)
{
	make_rules_dir(defer_rules);
	*now = new_scorer(rules_dir);
	*later = new_scorer(rules_dir);
	scorer_set_deferral(*later, mode);
	fresh_customer(c_now);
	fresh_customer(c_later);
}

Test(scorer, a_deferred_day_scores_as_it_would_have_closing_with_the_same_area)
{
	struct scorer *now, *later;
	struct cstate c_now, c_later;
	start_deferral_pair(SCORER_DEFER_ALL, &now, &later, &c_now, &c_later);
	struct area_table as_of = {0};
	struct rbuf packed = {0};
	int alerts = 0, by_attribution = 0;
	char errstr[256];

	for (int32_t d = 0; d < 60; d++) {
		double kwh = d < 40 ? 10 : 3;
		struct scorer_alert a_now, a_later;
		lossy_area(scorer_areas(now), D0 + d - 1);
		int at_close = feed_day_in(now, &c_now, "T1", D0 + d, kwh, &a_now);
		int deferred = feed_day_in(later, &c_later, "T1", D0 + d, kwh, &a_later);
		if (d == 0) {
			cr_assert_eq(deferred, SCORER_QUIET, "an open day is not scored");
			continue;
		}
		cr_assert_eq(deferred, SCORER_DEFERRED, "day %d waits for its area", d - 1);
		cr_assert_eq(scorer_deferred(later)->day, D0 + d - 1);
		rbuf_reset(&packed);
		rescore_pack(scorer_deferred(later), NULL, &packed);
		struct scorer_deferred back;
		cr_assert_eq(rescore_unpack(packed.data, packed.len, NULL, &back, errstr,
		                            sizeof(errstr)),
		             0, "%s", errstr);
		lossy_area(&as_of, D0 + d - 1);
		int rescored = scorer_rescore(later, "C1", "T1", &back, &as_of, &a_later);
		cr_assert_eq(rescored, at_close, "day %d: scored later %d, at its close %d", d - 1,
		             rescored, at_close);
		cr_assert(same_features(scorer_last_features(later), scorer_last_features(now)),
		          "day %d: the same features", d - 1);
		if (at_close != SCORER_ALERT)
			continue;
		alerts++;
		cr_assert_eq(a_later.day, a_now.day);
		cr_assert_float_eq(a_later.score, a_now.score, 1e-12);
		cr_assert(rbuf_equal(a_later.rules_json, a_now.rules_json), "day %d: rules", d - 1);
		cr_assert(rbuf_equal(a_later.curve_json, a_now.curve_json), "day %d: curve", d - 1);
		cr_assert(rbuf_equal(a_later.stolen_json, a_now.stolen_json), "day %d: %.*s", d - 1,
		          (int)a_later.stolen_json->len, a_later.stolen_json->data);
		by_attribution += strstr(a_later.stolen_json->data, "\"method\":\"attribution\"") != NULL;
	}
	cr_assert_gt(alerts, 5, "the drop under a lossy area alerts");
	cr_assert_eq(by_attribution, alerts, "the stolen energy comes from the attribution (z 5)");
	rbuf_free(&packed);
	area_table_free(&as_of);
	scorer_free(now);
	finish(later);
}

/*
 * With the bound (riskd's mode), a day the area cannot make alert is final at its close: a
 * steady customer's drop_ratio_14d stays under 0.3, so lossy_area_drop, the only rule, cannot
 * fire whatever the area says. Its days are counted as scored (with the area's features
 * missing) and none waits; the same days all wait with SCORER_DEFER_ALL.
 */
Test(scorer, a_day_far_below_the_threshold_is_final_at_its_close)
{
	struct scorer *bounded, *all;
	struct cstate c_bounded, c_all;
	start_deferral_pair(SCORER_DEFER_ALL, &bounded, &all, &c_bounded, &c_all);
	scorer_set_deferral(bounded, SCORER_DEFER_BOUNDED);
	for (int32_t d = 0; d < 30; d++) {
		struct scorer_alert a;
		int outcome = feed_day_in(bounded, &c_bounded, "T1", D0 + d, 10, &a);
		int waits = feed_day_in(all, &c_all, "T1", D0 + d, 10, &a);
		cr_assert_eq(outcome, d == 0 ? SCORER_QUIET : SCORER_DECIDED, "day %d", d);
		cr_assert_eq(waits, d == 0 ? SCORER_QUIET : SCORER_DEFERRED, "day %d", d);
		if (d > 0)
			cr_assert_not(scorer_last_bound(bounded)->may_alert);
	}
	int idx = ruleset_rule_find(scorer_rules(bounded), "lossy_area_drop");
	cr_assert_eq(scorer_rule_counts(bounded)[idx].evaluations, 29, "each final day counted");
	cr_assert_eq(scorer_rule_counts(bounded)[idx].fired, 0);
	cr_assert_eq(scorer_rule_counts(all)[idx].evaluations, 0, "the rescorer counts those");
	struct scorer_stats st;
	scorer_stats(bounded, &st);
	cr_assert_eq(st.scored, 29);
	scorer_free(all);
	finish(bounded);
}

/*
 * A day that may alert once its area is known waits, and scores as it would have closing
 * with the area: the customer drops from 10 to 3 kWh on day 40; from the day its
 * drop_ratio_14d reaches 0.3 each day may alert (lossy_area_drop scores 50) and is deferred,
 * earlier ones are final. Rescored against the lossy area, the waiting days give what a close
 * with that area gives; the final ones are quiet at their close with it too.
 */
Test(scorer, a_day_that_could_alert_with_an_area_rule_waits)
{
	struct scorer *now, *later;
	struct cstate c_now, c_later;
	start_deferral_pair(SCORER_DEFER_BOUNDED, &now, &later, &c_now, &c_later);
	struct area_table as_of = {0};
	int final = 0, waited = 0, alerts = 0;
	for (int32_t d = 1; d < 60; d++) {
		struct scorer_alert a_now, a_later;
		lossy_area(scorer_areas(now), D0 + d - 1);
		int at_close = feed_day_in(now, &c_now, "T1", D0 + d, d < 40 ? 10 : 3, &a_now);
		int outcome = feed_day_in(later, &c_later, "T1", D0 + d, d < 40 ? 10 : 3, &a_later);
		if (d == 1)
			continue;
		if (outcome == SCORER_DECIDED) {
			final++;
			cr_assert_neq(at_close, SCORER_ALERT, "day %d: final at its close, alerts", d - 1);
			continue;
		}
		cr_assert_eq(outcome, SCORER_DEFERRED, "day %d", d - 1);
		cr_assert_geq(d, 40, "day %d: no drop yet, nothing to wait for", d - 1);
		waited++;
		lossy_area(&as_of, D0 + d - 1);
		int rescored = scorer_rescore(later, "C1", "T1", scorer_deferred(later), &as_of, &a_later);
		cr_assert_eq(rescored, at_close, "day %d", d - 1);
		alerts += rescored == SCORER_ALERT;
	}
	cr_assert_geq(final, 38, "the days before the drop are final");
	cr_assert_gt(waited, 5);
	cr_assert_gt(alerts, 5);
	area_table_free(&as_of);
	scorer_free(now);
	finish(later);
}

/* A drop alone alerts (own_drop reads nothing of the area); the area adds lossy_area_drop. */
static const char signature_rules[] =
    "ruleset: unit-signature\n"
    "version: \"1\"\n"
    "kind: theft\n"
    "thresholds:\n"
    "  alert: 50\n"
    "rules:\n"
    "  - id: own_drop\n"
    "    title: The customer's use halved\n"
    "    when: drop_ratio_14d >= 0.5\n"
    "    score: 60\n"
    "    severity: high\n"
    "    evidence: [drop_ratio_14d]\n"
    "    tests:\n"
    "      - given: {drop_ratio_14d: 0.6}\n"
    "        expect: fire\n"
    "      - given: {drop_ratio_14d: 0.1}\n"
    "        expect: quiet\n"
    "  - id: lossy_area_drop\n"
    "    title: The area loses a fifth of its energy and the customer's use dropped\n"
    "    when: area_loss_rate >= 0.2 and drop_ratio_14d >= 0.3\n"
    "    score: 50\n"
    "    severity: critical\n"
    "    evidence: [area_loss_rate, drop_ratio_14d]\n"
    "    tests:\n"
    "      - given: {area_loss_rate: 0.3, drop_ratio_14d: 0.5}\n"
    "        expect: fire\n"
    "      - given: {area_loss_rate: 0.1, drop_ratio_14d: 0.5}\n"
    "        expect: quiet\n";

/*
 * A day whose own rules reach the threshold alerts at its close and waits too: its alert
 * lists only the rules that read nothing of the area (own_drop, 60); scored after the area,
 * the same day gives the close-with-the-area alert (own_drop and lossy_area_drop, 110). Days
 * that only the area can make alert just wait; neither kind is counted at the close.
 */
Test(scorer, a_day_that_alerts_whatever_its_area_says_alerts_at_its_close_and_waits)
{
	make_rules_dir(signature_rules);
	struct scorer *now = new_scorer(rules_dir), *later = new_scorer(rules_dir);
	scorer_set_deferral(later, SCORER_DEFER_BOUNDED);
	struct cstate c_now, c_later;
	fresh_customer(&c_now);
	fresh_customer(&c_later);
	struct area_table as_of = {0};
	int pending = 0, waited = 0, final = 0;
	for (int32_t d = 1; d < 60; d++) {
		struct scorer_alert a_now, a_later;
		double kwh = d < 40 ? 10 : 3;
		lossy_area(scorer_areas(now), D0 + d - 1);
		int at_close = feed_day_in(now, &c_now, "T1", D0 + d, kwh, &a_now);
		int outcome = feed_day_in(later, &c_later, "T1", D0 + d, kwh, &a_later);
		if (d == 1)
			continue;
		if (outcome == SCORER_DECIDED) {
			final++;
			continue;
		}
		double drop = scorer_last_features(later)->value[FEAT_DROP_RATIO_14D];
		if (outcome == SCORER_ALERT_PENDING) {
			pending++;
			cr_assert_geq(drop, 0.5, "day %d", d - 1);
			cr_assert(scorer_last_bound(later)->must_alert);
			cr_assert_eq(a_later.day, D0 + d - 1);
			cr_assert_float_eq(a_later.score, 60, 1e-9, "own_drop alone");
			char rules[1024];
			snprintf(rules, sizeof(rules), "%.*s", (int)a_later.rules_json->len,
			         a_later.rules_json->data);
			cr_assert(strstr(rules, "own_drop"));
			cr_assert_null(strstr(rules, "lossy_area_drop"), "the area's rule waits: %s", rules);
		} else {
			cr_assert_eq(outcome, SCORER_DEFERRED, "day %d", d - 1);
			cr_assert_lt(drop, 0.5, "day %d", d - 1);
			waited++;
		}
		cr_assert_eq(scorer_deferred(later)->day, D0 + d - 1, "the day waits in both cases");
		lossy_area(&as_of, D0 + d - 1);
		int rescored = scorer_rescore(later, "C1", "T1", scorer_deferred(later), &as_of, &a_later);
		cr_assert_eq(rescored, at_close, "day %d", d - 1);
		cr_assert_eq(rescored, SCORER_ALERT, "day %d: the lossy area makes it alert", d - 1);
		cr_assert_eq(a_later.day, a_now.day);
		cr_assert_float_eq(a_later.score, a_now.score, 1e-12);
		cr_assert(rbuf_equal(a_later.rules_json, a_now.rules_json), "day %d: rules", d - 1);
	}
	cr_assert_geq(final, 38, "the days before the drop are final");
	cr_assert_gt(waited, 0, "a drop between 0.3 and 0.5 waits without an alert");
	cr_assert_gt(pending, 5);
	int idx = ruleset_rule_find(scorer_rules(later), "own_drop");
	cr_assert_eq(scorer_rule_counts(later)[idx].evaluations, (uint64_t)final,
	             "only the final days are counted at the close");
	area_table_free(&as_of);
	scorer_free(now);
	finish(later);
}

Test(scorer, a_snapshot_of_other_bytes_is_refused)
{
	struct scorer_deferred d, back;
	char errstr[256];
	memset(&d, 0, sizeof(d));
	feature_vec_clear(&d.fv);
	feature_set(&d.fv, FEAT_KWH_DAY, 12.5);
	d.day = D0;
	d.has_split = 1;
	d.split = (struct models_split){D0 - 10, D0, 10, 4};
	d.history.first_day = D0 - 59;
	for (int i = 0; i < MODELS_HISTORY_DAYS; i++)
		d.history.kwh[i] = d.history.baseline[i] = (float)i;
	struct rbuf packed = {0};
	rescore_pack(&d, NULL, &packed);
	cr_assert_eq(rescore_unpack(packed.data, packed.len, NULL, &back, errstr, sizeof(errstr)), 0);
	cr_assert_eq(back.day, D0);
	cr_assert_eq(back.split.day, D0 - 10);
	cr_assert_float_eq(back.split.after_kwh, 4, 0);
	cr_assert_float_eq(back.history.kwh[59], 59, 0);
	cr_assert_float_eq(back.fv.value[FEAT_KWH_DAY], 12.5, 0);
	cr_assert(feature_known(&back.fv, FEAT_KWH_DAY));
	cr_assert_not(feature_known(&back.fv, FEAT_AREA_LOSS_RATE));

	cr_assert_eq(rescore_unpack(packed.data, packed.len - 1, NULL, &back, errstr,
	                            sizeof(errstr)),
	             RISKD_ERR_INVALID, "cut short");
	cr_assert(strstr(errstr, "cut or too long"), "%s", errstr);
	packed.data[0] ^= 1;
	cr_assert_eq(rescore_unpack(packed.data, packed.len, NULL, &back, errstr, sizeof(errstr)),
	             RISKD_ERR_INVALID, "another layout");
	cr_assert(strstr(errstr, "not a snapshot"), "%s", errstr);
	packed.data[0] ^= 1;
	packed.data[8] ^= 1; /* the feature registry's signature */
	cr_assert_eq(rescore_unpack(packed.data, packed.len, NULL, &back, errstr, sizeof(errstr)),
	             RISKD_ERR_INVALID, "another feature registry");
	cr_assert(strstr(errstr, "another feature registry"), "%s", errstr);
	rbuf_free(&packed);
}

/* ---- reloading ---- */

/* Sets the modification time of file `name` to epoch second `sec`. */
static void set_mtime(const char *name, time_t sec)
{
	struct timespec times[2] = {{sec, 0}, {sec, 0}};
	cr_assert_eq(utimensat(AT_FDCWD, rules_file(name), times, 0), 0);
}

static char *replace(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	cr_assert_not_null(at, "'%s' not in the rules", from);
	size_t head = (size_t)(at - text), n = strlen(text) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);
	cr_assert_not_null(out);
	snprintf(out, n, "%.*s%s%s", (int)head, text, to, at + strlen(from));
	return out;
}

Test(scorer, reload_reports_nothing_changed_an_edit_and_a_new_file)
{
	make_rules_dir(theft_rules);
	struct scorer *sc = new_scorer(rules_dir);
	struct rbuf diag = {0};
	cr_assert_eq(scorer_reload(sc, 0, &diag), 0, "nothing changed");
	cr_assert_eq(scorer_reload(sc, 0, &diag), 0);
	cr_assert_eq(diag.len, 0);

	/* An edit of the threshold (the file changes size). */
	char *edited = replace(theft_rules, "alert: 50", "alert: 150");
	write_file("theft.yaml", edited);
	cr_assert_eq(scorer_reload(sc, 0, &diag), 1, "an edit is loaded");
	cr_assert_eq(diag.len, 0);
	cr_assert_float_eq(ruleset_alert_threshold(scorer_rules(sc)), 150, 1e-9);
	cr_assert_eq(scorer_reload(sc, 0, &diag), 0, "and is loaded once");

	/* The new set scores: 80 no longer alerts. */
	struct cstate cs;
	struct scorer_alert alert;
	fresh_customer(&cs);
	feed_day(sc, &cs, D0, 40, &alert);
	cr_assert_eq(feed_day(sc, &cs, D0 + 1, 1, &alert), 0, "80 < 150");

	/* A new modification time alone reloads; same size and time, other bytes: the contents
	 * tell. */
	set_mtime("theft.yaml", 1000000000);
	cr_assert_eq(scorer_reload(sc, 0, &diag), 1, "a new modification time");
	char *same_size = replace(theft_rules, "alert: 50", "alert: 250");
	write_file("theft.yaml", same_size);
	set_mtime("theft.yaml", 1000000000);
	cr_assert_eq(scorer_reload(sc, 0, &diag), 1, "same size and time, other contents");
	cr_assert_float_eq(ruleset_alert_threshold(scorer_rules(sc)), 250, 1e-9);
	cr_assert_eq(scorer_reload(sc, 0, &diag), 0, "and is loaded once");

	/* The set of files: one added, then removed. */
	write_file("more.yml", "ruleset: unit-more\n"
	                       "version: \"2\"\n"
	                       "kind: theft\n"
	                       "thresholds:\n"
	                       "  alert: 250\n"
	                       "rules:\n"
	                       "  - id: tiny_day\n"
	                       "    title: A day under a kWh\n"
	                       "    when: kwh_day < 1\n"
	                       "    score: 1\n"
	                       "    severity: low\n"
	                       "    tests:\n"
	                       "      - given: {kwh_day: 0.5}\n"
	                       "        expect: fire\n"
	                       "      - given: {kwh_day: 5}\n"
	                       "        expect: quiet\n");
	cr_assert_eq(scorer_reload(sc, 0, &diag), 1, "a new .yml file");
	cr_assert_eq(ruleset_rule_count(scorer_rules(sc)), 5);
	cr_assert_geq(ruleset_rule_find(scorer_rules(sc), "tiny_day"), 0);
	cr_assert_eq(scorer_reload(sc, 0, &diag), 0);
	remove_file("more.yml");
	cr_assert_eq(scorer_reload(sc, 0, &diag), 1, "a file removed");
	cr_assert_eq(ruleset_rule_count(scorer_rules(sc)), 4);

	/* Files that are not rule files do not count. */
	write_file("README.txt", "notes\n");
	cr_assert_eq(scorer_reload(sc, 0, &diag), 0, "not a rule file");

	cr_assert_eq(scorer_reload(sc, 1, &diag), 1, "forced: loaded though nothing changed");
	struct scorer_stats st;
	scorer_stats(sc, &st);
	cr_assert_eq(st.reloads, 6);
	cr_assert_eq(st.reload_failures, 0);
	cr_assert_eq(diag.len, 0);
	free(edited);
	free(same_size);
	rbuf_free(&diag);
	finish(sc);
}

Test(scorer, reload_of_a_single_file)
{
	make_rules_dir(theft_rules);
	struct scorer *sc = new_scorer(rules_file("theft.yaml"));
	struct rbuf diag = {0};
	cr_assert_eq(scorer_reload(sc, 0, &diag), 0);
	/* Another size: a same-size rewrite within one tick of the file clock can keep its mtime. */
	char *edited = replace(theft_rules, "alert: 50", "alert: 700");
	write_file("theft.yaml", edited);
	cr_assert_eq(scorer_reload(sc, 0, &diag), 1);
	cr_assert_float_eq(ruleset_alert_threshold(scorer_rules(sc)), 700, 1e-9);
	cr_assert_eq(scorer_reload(sc, 0, &diag), 0);
	free(edited);
	rbuf_free(&diag);
	finish(sc);
}

Test(scorer, a_bad_edit_keeps_the_old_set_live_until_it_is_fixed)
{
	struct cstate cs;
	struct scorer_alert alert;
	struct scorer *sc = start(&cs);
	feed_day(sc, &cs, D0, 40, &alert);
	feed_day(sc, &cs, D0 + 1, 40, &alert);
	int big = rule_index(sc, "big_day");
	cr_assert_eq(scorer_rule_counts(sc)[big].fired, 1);

	/* Line 9, column 11: the misspelt feature. */
	char *bad = replace(theft_rules, "when: kwh_day >= 30", "when: kwh_dayy >= 30");
	write_file("theft.yaml", bad);
	struct rbuf diag = {0};
	int rc = scorer_reload(sc, 0, &diag);
	cr_assert_lt(rc, 0);
	cr_assert_eq(rc, RISKD_ERR_INVALID);
	rbuf_append(&diag, "", 1);
	char want[128];
	snprintf(want, sizeof(want), "%s/theft.yaml:9:11: error: unknown feature 'kwh_dayy'",
	         rules_dir);
	cr_assert(strstr(diag.data, want), "want '%s' in:\n%s", want, diag.data);
	cr_assert(strstr(diag.data, "\n    when: kwh_dayy >= 30\n          ^"),
	          "the source line and a caret:\n%s", diag.data);
	rbuf_reset(&diag);

	/* The old set is live: same rules, still scoring and alerting, counts kept. */
	cr_assert_str_eq(ruleset_name(scorer_rules(sc)), "unit-theft");
	cr_assert_eq(ruleset_rule_find(scorer_rules(sc), "big_day"), big);
	cr_assert_eq(scorer_rule_counts(sc)[big].fired, 1, "a failed reload keeps the counts");
	cr_assert_eq(feed_day(sc, &cs, D0 + 2, 1, &alert), 1, "40 kWh still alerts");
	cr_assert_str_eq(alert.severity, "critical");
	cr_assert_eq(scorer_rule_counts(sc)[big].fired, 2);

	cr_assert_eq(scorer_reload(sc, 0, &diag), 0, "a broken file is reported once");
	cr_assert_eq(diag.len, 0);
	struct scorer_stats st;
	scorer_stats(sc, &st);
	cr_assert_eq(st.reload_failures, 1);
	cr_assert_eq(st.reloads, 0);

	/* The fix: a new rule id, so that the new set is told from the old, of another size than
	 * the bad edit (a same-size rewrite within one tick of the file clock can keep its mtime). */
	char *fixed = replace(theft_rules, "id: big_day", "id: biggest_day");
	write_file("theft.yaml", fixed);
	cr_assert_eq(scorer_reload(sc, 0, &diag), 1);
	cr_assert_eq(diag.len, 0);
	cr_assert_eq(ruleset_rule_find(scorer_rules(sc), "big_day"), -1);
	int biggest = rule_index(sc, "biggest_day");
	for (size_t i = 0; i < ruleset_rule_count(scorer_rules(sc)); i++)
		cr_assert_eq(scorer_rule_counts(sc)[i].evaluations, 0, "counts restart with a new set");
	feed_day(sc, &cs, D0 + 3, 40, &alert);
	cr_assert_eq(feed_day(sc, &cs, D0 + 4, 1, &alert), 1);
	json_t *rules = parse_json(alert.rules_json);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(rules, 0), "id")),
	                 "biggest_day", "the alert names the new set's rule");
	json_decref(rules);
	cr_assert_eq(scorer_rule_counts(sc)[biggest].fired, 1);
	scorer_stats(sc, &st);
	cr_assert_eq(st.reloads, 1);
	cr_assert_eq(st.reload_failures, 1);

	/* A forced reload of a broken file fails too, and keeps the set. */
	write_file("theft.yaml", bad);
	cr_assert_eq(scorer_reload(sc, 1, &diag), RISKD_ERR_INVALID);
	cr_assert_gt(diag.len, 0);
	cr_assert_geq(ruleset_rule_find(scorer_rules(sc), "biggest_day"), 0);
	free(bad);
	free(fixed);
	rbuf_free(&diag);
	finish(sc);
}

/* Alerts on a retail customer's day of 5 kWh or more: reads the attribute business_type. */
static const char attr_rules[] =
    "ruleset: unit-attrs\n"
    "version: \"1\"\n"
    "kind: theft\n"
    "thresholds:\n"
    "  alert: 50\n"
    "rules:\n"
    "  - id: retail_day\n"
    "    title: A retail customer's day of 5 kWh or more\n"
    "    when: business_type == \"retail\" and kwh_day >= 5\n"
    "    score: 50\n"
    "    severity: high\n"
    "    evidence: [kwh_day]\n"
    "    tests:\n"
    "      - given: {business_type: retail, kwh_day: 6}\n"
    "        expect: fire\n"
    "      - given: {kwh_day: 6}\n"
    "        expect: quiet\n";

static int attribute_lookups;

/* The scorer's attribute lookup in these tests: arg is the customer's attr_vec. */
static const struct attr_vec *given_attributes(void *arg, const struct cstate *cs)
{
	(void)cs;
	attribute_lookups++;
	return arg;
}

Test(scorer, theft_rules_read_the_customers_attributes_also_in_a_deferred_day)
{
	struct attr_schema *schema = attr_schema_new();
	int slot = attr_schema_add(schema, "business_type", ATTR_CATEGORY);
	attr_def_add_value(&schema->defs[slot], "retail", 6);
	attr_def_add_value(&schema->defs[slot], "office", 6);
	ruleset_use_attributes(schema);
	make_rules_dir(attr_rules);
	struct scorer *sc = new_scorer(rules_dir), *later = new_scorer(rules_dir);
	struct attr_vec av;
	attr_vec_clear(&av);
	attr_vec_set(&av, slot, 0); /* retail */
	struct cstate cs, cs_later;
	fresh_customer(&cs);
	fresh_customer(&cs_later);
	struct scorer_alert alert;

	feed_day(sc, &cs, D0, 6, &alert);
	cr_assert_eq(feed_day(sc, &cs, D0 + 1, 6, &alert), SCORER_QUIET, "no lookup: missing");
	scorer_set_attributes(sc, schema, given_attributes, &av);
	cr_assert_eq(scorer_attribute_schema(sc), schema);
	cr_assert_eq(feed_day(sc, &cs, D0 + 2, 6, &alert), SCORER_ALERT);
	attr_vec_set(&av, slot, 1); /* office */
	cr_assert_eq(feed_day(sc, &cs, D0 + 3, 6, &alert), SCORER_QUIET);

	/* a day that waits for its area keeps the values it closed with */
	attr_vec_set(&av, slot, 0);
	scorer_set_attributes(later, schema, given_attributes, &av);
	scorer_set_deferral(later, SCORER_DEFER_ALL);
	feed_day_in(later, &cs_later, "T1", D0, 6, &alert);
	cr_assert_eq(feed_day_in(later, &cs_later, "T1", D0 + 1, 6, &alert), SCORER_ALERT_PENDING,
	             "retail alerts whatever its area says: raised at the close, and it waits");
	attr_vec_set(&av, slot, 1); /* a later profile: the closed day stays retail */
	struct rbuf packed = {0};
	rescore_pack(scorer_deferred(later), schema, &packed);
	struct scorer_deferred back;
	char errstr[256];
	cr_assert_eq(rescore_unpack(packed.data, packed.len, schema, &back, errstr,
	                            sizeof(errstr)),
	             0, "%s", errstr);
	cr_assert(attr_vec_known(&back.attrs, slot));
	cr_assert_float_eq(back.attrs.value[slot], 0, 0);
	struct area_table no_area = {0};
	cr_assert_eq(scorer_rescore(later, "C1", "T1", &back, &no_area, &alert), SCORER_ALERT);
	cr_assert_eq(rescore_unpack(packed.data, packed.len, NULL, &back, errstr, sizeof(errstr)),
	             0, "%s", errstr);
	cr_assert_eq(back.attrs.known, 0, "without a schema the values are left missing");
	cr_assert_eq(scorer_rescore(later, "C1", "T1", &back, &no_area, &alert), SCORER_QUIET);
	cr_assert_eq(rescore_unpack(packed.data, packed.len - 1, schema, &back, errstr,
	                            sizeof(errstr)),
	             RISKD_ERR_INVALID, "attributes cut short");
	rbuf_free(&packed);
	area_table_free(&no_area);
	scorer_free(later);
	finish(sc);
	ruleset_use_attributes(NULL);

	/* rules that read no attribute never look them up */
	struct scorer *plain = start(&cs);
	scorer_set_attributes(plain, schema, given_attributes, &av);
	attribute_lookups = 0;
	for (int32_t d = 0; d < 5; d++)
		feed_day(plain, &cs, D0 + d, 31, &alert);
	cr_assert_eq(attribute_lookups, 0);
	finish(plain);
	attr_schema_free(schema);
}
