/*
 * test_replay.c - Criterion suite for the offline engine (detector/replay.h and
 * detector/replay*.c), the engine of `riskctl backtest` and `riskctl eval`: the backtest diff
 * of two rule sets on a fixed event file (exact alerts added and removed, overall and rule by
 * rule), precision and recall against labels, the AUC, the energy balance rebuilt offline
 * against hand-computed loss rates and baselines (and every balanced area-day reported), the
 * labels parser, the threaded file reader against line-by-line replay, the scorecard's
 * JSON, the attribution of a hand-built area's loss (hourly and daily transformer
 * readings, a meter read every two hours) published with the balance, and profiles'
 * attributes read against a schema for theft rules that read them (backtest --attributes).
 *
 * Fixture (tests/unit/data/replay/): city.jsonl and labels.csv are
 *   riskctl gen --customers 24 --days 64 --interval-s 86400 --seed 5 --theft-rate 0.25
 * (one transformer area, daily readings); baseline/ and edited/ are two rule sets that differ
 * in one rule (deep_drop). Runs from the repository root (make test-unit does).
 */
#include "config/riskd_base.h"
#include "detector/replay.h"
#include "test_unit_noise.h"

#include <criterion/criterion.h>
#include <jansson.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DATA "tests/unit/data/replay/"

static struct replay *open_replay(const char *rules, const struct replay_labels *labels)
{
	struct replay_options opts = {.rules_path = rules, .timezone = "Asia/Shanghai"};
	struct replay *rp = NULL;
	struct rbuf diag = {0};
	char errstr[512];
	int rc = replay_new(&opts, &rp, &diag, errstr, sizeof(errstr));
	cr_assert_eq(rc, 0, "replay_new(%s): %s\n%.*s", rules, errstr, (int)diag.len,
	             diag.data ? diag.data : "");
	rbuf_free(&diag);
	replay_set_labels(rp, labels);
	return rp;
}

static void run_file(struct replay **rps, size_t n, const char *path)
{
	char errstr[256];
	FILE *in = fopen(path, "r");
	cr_assert_not_null(in, "open %s", path);
	cr_assert_eq(replay_file(rps, n, in, errstr, sizeof(errstr)), 0, "%s", errstr);
	fclose(in);
	for (size_t i = 0; i < n; i++)
		replay_finish(rps[i]);
}

static void load_labels(struct replay_labels *labels)
{
	char errstr[256];
	memset(labels, 0, sizeof(*labels));
	cr_assert_eq(replay_labels_load(labels, DATA "labels.csv", errstr, sizeof(errstr)), 0, "%s",
	             errstr);
}

/* "C1 C2" from a list of customer ids. */
static void join_ids(const char *const *ids, size_t n, char *out, size_t size)
{
	out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		size_t used = strlen(out);
		snprintf(out + used, size - used, "%s%s", i ? " " : "", ids[i]);
	}
}

static void join_customers(const struct replay_customer *const *cs, size_t n, char *out,
                           size_t size)
{
	out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		size_t used = strlen(out);
		snprintf(out + used, size - used, "%s%s", i ? " " : "", cs[i]->customer_id);
	}
}

static const struct replay_rule_diff *diff_rule(const struct replay_diff *d, const char *id)
{
	for (size_t i = 0; i < d->n_rules; i++)
		if (strcmp(d->rules[i].rule_id, id) == 0)
			return &d->rules[i];
	cr_assert_fail("no rule %s in the diff", id);
	return NULL;
}

Test(replay, backtest_diff_of_one_rule_edit)
{
	struct replay *rps[2] = {open_replay(DATA "edited", NULL), open_replay(DATA "baseline", NULL)};
	run_file(rps, 2, DATA "city.jsonl");

	struct replay_totals t;
	replay_totals(rps[0], &t);
	cr_expect_eq(t.lines, 1726);
	cr_expect_eq(t.accepted, 1726);
	cr_expect_eq(t.rejected, 0);
	cr_expect_eq(t.scored, 24 * 63, "every customer scored on each closed day");
	cr_expect_eq(t.area_days, 63, "one area, every day but the open last one balanced");
	cr_expect_eq(replay_alerted_count(rps[1]), 5);
	cr_expect_eq(replay_alerted_count(rps[0]), 4);

	struct replay_diff d;
	char text[512];
	replay_diff_build(rps[0], rps[1], &d);
	join_customers(d.added, d.n_added, text, sizeof(text));
	cr_expect_str_eq(text, "C000005", "alerts the edit adds");
	join_customers(d.removed, d.n_removed, text, sizeof(text));
	cr_expect_str_eq(text, "C000014 C000024", "alerts the edit removes");
	cr_assert_eq(d.n_rules, 3);

	const struct replay_rule_diff *deep = diff_rule(&d, "deep_drop");
	join_ids(deep->added, deep->n_added, text, sizeof(text));
	cr_expect_str_eq(text, "C000005");
	/* C000007 and C000023 stay alerted (zero_week) but their alert no longer lists deep_drop */
	join_ids(deep->removed, deep->n_removed, text, sizeof(text));
	cr_expect_str_eq(text, "C000007 C000014 C000023 C000024");
	cr_expect_eq(deep->before->alerts, 5);
	cr_expect_eq(deep->after->alerts, 2);

	const struct replay_rule_diff *zero = diff_rule(&d, "zero_week");
	cr_expect_eq(zero->n_added + zero->n_removed, 0);
	cr_expect_eq(zero->before->hits, zero->after->hits, "an unchanged rule fires the same");
	cr_expect_eq(zero->after->alerts, 2);
	const struct replay_rule_diff *watch = diff_rule(&d, "cusum_watch");
	cr_expect_eq(watch->after->alerts, 0, "a shadow rule is counted but never alerts");
	cr_expect_gt(watch->after->hits, 0);
	cr_expect_eq(watch->before->hits, watch->after->hits);

	/* the alert's record: first day, score, rules */
	const struct replay_customer *c = replay_customer_find(rps[0], "C000007");
	cr_assert_not_null(c);
	cr_expect_eq(c->max_score, 50);
	cr_expect_neq(c->first_alert_day, REPLAY_NO_DAY);
	int zero_idx = ruleset_rule_find(replay_rules(rps[0]), "zero_week");
	int deep_idx = ruleset_rule_find(replay_rules(rps[0]), "deep_drop");
	cr_expect(replay_rule_bit(c->alerted, (size_t)zero_idx));
	cr_expect(!replay_rule_bit(c->alerted, (size_t)deep_idx));

	replay_diff_free(&d);
	replay_free(rps[0]);
	replay_free(rps[1]);
}

Test(replay, backtest_json_lists_the_diff)
{
	struct replay *rps[2] = {open_replay(DATA "edited", NULL), open_replay(DATA "baseline", NULL)};
	run_file(rps, 2, DATA "city.jsonl");
	struct rbuf out = {0};
	replay_backtest_json(rps[0], rps[1], NULL, &out);
	json_error_t jerr;
	json_t *root = json_loadb(out.data, out.len, 0, &jerr);
	cr_assert_not_null(root, "backtest JSON does not parse: %s", jerr.text);
	cr_expect_eq(json_integer_value(json_object_get(root, "alerts")), 4);
	json_t *base = json_object_get(root, "baseline");
	cr_assert(json_is_object(base));
	json_t *added = json_object_get(base, "added");
	cr_assert_eq(json_array_size(added), 1);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(added, 0), "customer_id")),
	                 "C000005");
	cr_expect_eq(json_array_size(json_object_get(base, "removed")), 2);
	cr_expect_null(json_object_get(root, "labels"), "no labels given");
	json_decref(root);
	rbuf_free(&out);
	replay_free(rps[0]);
	replay_free(rps[1]);
}

Test(replay, precision_and_recall_arithmetic)
{
	struct replay_pr pr;
	replay_pr_compute(3, 1, 2, &pr);
	cr_expect_float_eq(pr.precision, 0.75, 1e-12);
	cr_expect_float_eq(pr.recall, 0.6, 1e-12);
	replay_pr_compute(0, 0, 0, &pr);
	cr_expect(isnan(pr.precision) && isnan(pr.recall), "undefined, not 0");
	replay_pr_compute(0, 4, 0, &pr);
	cr_expect_float_eq(pr.precision, 0.0, 1e-12);
	cr_expect(isnan(pr.recall));
}

Test(replay, precision_and_recall_against_labels)
{
	struct replay_labels labels;
	load_labels(&labels);
	cr_assert_eq(labels.count, 15);
	struct replay *rp = open_replay(DATA "edited", &labels);
	run_file(&rp, 1, DATA "city.jsonl");

	/* alerted: C000007 full_bypass, C000023 meter_reversed (thieves); C000001 vacancy,
	 * C000005 household_change (confounders: honest) - of the 7 thieves labelled */
	struct replay_quality q;
	replay_quality_build(rp, &labels, &q);
	cr_expect_eq(q.thieves, 7);
	cr_expect_eq(q.overall.tp, 2);
	cr_expect_eq(q.overall.fp, 2);
	cr_expect_eq(q.overall.fn, 5);
	cr_expect_float_eq(q.overall.precision, 0.5, 1e-12);
	cr_expect_float_eq(q.overall.recall, 2.0 / 7.0, 1e-12);
	int zero_idx = ruleset_rule_find(replay_rules(rp), "zero_week");
	int deep_idx = ruleset_rule_find(replay_rules(rp), "deep_drop");
	cr_expect_eq(q.alert[zero_idx].tp, 2);
	cr_expect_eq(q.alert[zero_idx].fp, 0);
	cr_expect_float_eq(q.alert[zero_idx].precision, 1.0, 1e-12);
	cr_expect_eq(q.alert[deep_idx].tp, 0);
	cr_expect_eq(q.alert[deep_idx].fp, 2);
	cr_expect_float_eq(q.alert[deep_idx].precision, 0.0, 1e-12);
	cr_expect_float_eq(q.alert[deep_idx].recall, 0.0, 1e-12);
	replay_quality_free(&q);
	replay_free(rp);
	replay_labels_free(&labels);
}

Test(replay, auc_counts_ties_as_half)
{
	double pos[] = {1, 2, 3};
	double neg[] = {2, 0};
	/* 1 beats 0; 2 beats 0 and ties 2; 3 beats both: (1 + 1.5 + 2) / 6 */
	cr_expect_float_eq(replay_auc(pos, 3, neg, 2), 0.75, 1e-12);
	double all_lower[] = {0, 0, 0};
	cr_expect_float_eq(replay_auc(pos, 3, all_lower, 3), 1.0, 1e-12);
	double same[] = {5};
	double five[] = {5};
	cr_expect_float_eq(replay_auc(same, 1, five, 1), 0.5, 1e-12);
	cr_expect(isnan(replay_auc(pos, 3, neg, 0)));
}

Test(replay, precision_at_k_on_a_hand_built_ranking)
{
	/* k = 2 thieves; the two highest scores are a thief and an honest customer */
	double scores[] = {9, 8, 7, 1, 0};
	int thief[] = {1, 0, 1, 0, 0};
	cr_expect_float_eq(replay_precision_at_k(scores, NULL, thief, 5), 0.5, 1e-12);
	/* the order of the input does not matter */
	double shuffled[] = {0, 7, 1, 9, 8};
	int shuffled_thief[] = {0, 1, 0, 1, 0};
	cr_expect_float_eq(replay_precision_at_k(shuffled, NULL, shuffled_thief, 5), 0.5, 1e-12);
	/* both thieves on top */
	int top[] = {1, 1, 0, 0, 0};
	cr_expect_float_eq(replay_precision_at_k(scores, NULL, top, 5), 1.0, 1e-12);
	/* four tied for the 2 places, one of them a thief: it gets 2/4 of a place; the thief
	 * below the tie gets none: (0 + 1 x 2/4) / 2 */
	double tied[] = {5, 5, 5, 5, 1};
	int tied_thief[] = {0, 1, 0, 0, 1};
	cr_expect_float_eq(replay_precision_at_k(tied, NULL, tied_thief, 5), 0.25, 1e-12);
	/* one above the tie: (1 + 1 x 1/3) / 2 */
	double above[] = {6, 5, 5, 5, 1};
	int above_thief[] = {1, 1, 0, 0, 0};
	cr_expect_float_eq(replay_precision_at_k(above, NULL, above_thief, 5), 2.0 / 3.0, 1e-12);
	/* nothing scored: the random ranking's expected precision, k / n */
	double flat[30] = {0};
	int five[30] = {1, 1, 1, 1, 1};
	cr_expect_float_eq(replay_precision_at_k(flat, NULL, five, 30), 5.0 / 30.0, 1e-12);
	int none[5] = {0};
	cr_expect(isnan(replay_precision_at_k(scores, NULL, none, 5)), "no thief: undefined");
	/* a tie-break orders equal scores: the thief with the higher attribution share takes
	 * the one place left among the four tied at 5, then ties of both share as before */
	double shares[] = {0.1, 0.4, 0.2, 0.0, 0.9};
	cr_expect_float_eq(replay_precision_at_k(tied, shares, tied_thief, 5), 0.5, 1e-12);
	double equal_shares[] = {0.3, 0.3, 0.3, 0.3, 0.9};
	cr_expect_float_eq(replay_precision_at_k(tied, equal_shares, tied_thief, 5), 0.25, 1e-12);
}

/* The scorecard's area precision is that of the fixture's one area: every scored customer
 * ranked by its highest score, k = the area's thieves. */
Test(replay, area_precision_of_the_fixture)
{
	struct replay_labels labels;
	load_labels(&labels);
	struct replay *rp = open_replay("rules", &labels);
	run_file(&rp, 1, DATA "city.jsonl");
	struct replay_scorecard card;
	replay_scorecard_build(rp, &labels, NULL, 0, &card);
	size_t n = replay_customer_count(rp);
	double scores[64], shares[64];
	int thief[64];
	cr_assert_eq(n, 24);
	for (size_t i = 0; i < n; i++) {
		const struct replay_customer *c = replay_customer(rp, i);
		const struct replay_label *l = replay_labels_find(&labels, c->customer_id);
		scores[i] = c->max_score;
		shares[i] = c->attrib_share;
		thief[i] = l && l->attack;
	}
	cr_expect_eq(card.thief_areas, 1);
	double want = replay_precision_at_k(scores, shares, thief, n);
	cr_expect_float_eq(card.area_precision_at_k, want, 1e-12, "%f, want %f",
	                   card.area_precision_at_k, want);
	cr_log_info("fixture: area precision at k %f", card.area_precision_at_k);
	replay_scorecard_free(&card);
	replay_free(rp);
	replay_labels_free(&labels);
}

Test(replay, labels_parse_and_errors)
{
	struct replay_labels labels = {0};
	char errstr[256];
	const char *text = "customer_id,pattern,confounder,onset_day\n"
	                   "C1,full_bypass,false,2026-01-29\r\n"
	                   "\n"
	                   "C2,vacancy,true,2026-02-01\n"
	                   "C3,none\n"
	                   "C4,slow_ramp";
	cr_assert_eq(replay_labels_parse(&labels, "x.csv", text, strlen(text), errstr, sizeof(errstr)),
	             0, "%s", errstr);
	cr_assert_eq(labels.count, 4);
	const struct replay_label *l = replay_labels_find(&labels, "C1");
	cr_assert_not_null(l);
	cr_expect(l->attack && !l->confounder);
	cr_expect_eq(l->onset_day, 20482, "2026-01-29 is day 20482");
	l = replay_labels_find(&labels, "C2");
	cr_expect(!l->attack && l->confounder);
	l = replay_labels_find(&labels, "C3");
	cr_expect(!l->attack && !l->confounder, "pattern none is honest");
	l = replay_labels_find(&labels, "C4");
	cr_expect(l->attack);
	cr_expect_eq(l->onset_day, REPLAY_NO_DAY);
	cr_expect_null(replay_labels_find(&labels, "C5"));
	replay_labels_free(&labels);

	const char *bad = "C1,full_bypass,maybe,2026-01-29\n";
	cr_expect_eq(replay_labels_parse(&labels, "x.csv", bad, strlen(bad), errstr, sizeof(errstr)),
	             RISKD_ERR_INVALID);
	cr_expect_str_eq(errstr, "x.csv:1: confounder must be true or false, got 'maybe'");
	replay_labels_free(&labels);
	const char *twice = "C1,a\nC2,b\nC1,c\n";
	cr_expect_eq(replay_labels_parse(&labels, "y.csv", twice, strlen(twice), errstr,
	                                 sizeof(errstr)),
	             RISKD_ERR_INVALID);
	cr_expect_str_eq(errstr, "y.csv:3: customer 'C1' is labelled twice");
	replay_labels_free(&labels);
	const char *date = "C1,a,false,2026-13-01\n";
	cr_expect_eq(replay_labels_parse(&labels, "z.csv", date, strlen(date), errstr, sizeof(errstr)),
	             RISKD_ERR_INVALID);
	cr_expect_str_eq(errstr, "z.csv:1: onset_day must be YYYY-MM-DD, got '2026-13-01'");
	replay_labels_free(&labels);
}

/* Feeds one event given as JSON text; it must be accepted. */
static void feed(struct replay *rp, const char *json)
{
	cr_assert_eq(replay_line(rp, json, strlen(json)), EVENT_REJECT_NONE, "rejected: %s", json);
}

static void feed_day(struct replay *rp, int day, double c1, double c2, double feeder)
{
	char line[512];
	char ts[40];
	snprintf(ts, sizeof(ts), "2026-01-%02dT00:00:00+08:00", day + 1);
	if (c1 >= 0) {
		snprintf(line, sizeof(line),
		         "{\"type\":\"meter_reading\",\"event_id\":\"r1-%d\",\"ts\":\"%s\","
		         "\"customer_id\":\"C1\",\"meter_id\":\"M1\",\"kwh\":%g,\"interval_s\":86400}",
		         day, ts, c1);
		feed(rp, line);
	}
	if (c2 >= 0) {
		snprintf(line, sizeof(line),
		         "{\"type\":\"meter_reading\",\"event_id\":\"r2-%d\",\"ts\":\"%s\","
		         "\"customer_id\":\"C2\",\"meter_id\":\"M2\",\"kwh\":%g,\"interval_s\":86400}",
		         day, ts, c2);
		feed(rp, line);
	}
	snprintf(line, sizeof(line),
	         "{\"type\":\"transformer_reading\",\"event_id\":\"t-%d\",\"ts\":\"%s\","
	         "\"transformer_id\":\"T1\",\"kwh\":%g,\"interval_s\":86400}",
	         day, ts, feeder);
	feed(rp, line);
}

/* The balanced area-days a replay reports (replay_set_balance_observer). */
struct balance_rows {
	int count;
	int32_t day[16];
	struct area_day_balance row[16];
};

static void note_balance(void *arg, const char *transformer_id, int32_t day,
                         const struct area_day_balance *row)
{
	struct balance_rows *rows = arg;
	cr_assert_str_eq(transformer_id, "T1");
	cr_assert_lt(rows->count, 16);
	rows->day[rows->count] = day;
	rows->row[rows->count++] = *row;
}

Test(replay, area_balance_by_hand)
{
	struct replay *rp = open_replay(DATA "baseline", NULL);
	struct balance_rows rows = {0};
	replay_set_balance_observer(rp, note_balance, &rows);
	feed(rp, "{\"type\":\"customer\",\"event_id\":\"p1\",\"ts\":\"2026-01-01T00:00:00+08:00\","
	         "\"customer_id\":\"C1\",\"segment\":\"residential\",\"transformer_id\":\"T1\"}");
	feed(rp, "{\"type\":\"customer\",\"event_id\":\"p2\",\"ts\":\"2026-01-01T00:00:00+08:00\","
	         "\"customer_id\":\"C2\",\"segment\":\"residential\",\"transformer_id\":\"T1\"}");
	/* customers use 20 kWh a day together; the feeder reads F: loss = (F - 20) / F */
	static const double feeder[9] = {25, 40, 20, 50, 25, 100, 40, 20, 50};
	/* losses 0.2 0.5 0 0.6 0.2 0.8 0.5 0 | 0.6 */
	for (int d = 0; d < 9; d++)
		feed_day(rp, d, 12, 8, feeder[d]);
	/* day 9: C2 has no reading, so the area-day is not complete and is not balanced */
	feed_day(rp, 9, 12, -1, 30);
	feed_day(rp, 10, 12, 8, 21);

	struct replay_totals t;
	replay_totals(rp, &t);
	cr_expect_eq(t.area_days, 9, "days 0-8 balanced; day 9 incomplete; day 10 still open");
	const struct area_table *areas = replay_areas(rp);
	cr_assert_eq(areas->count, 1);
	const struct area_balance *a = &areas->areas[0];
	cr_expect_str_eq(a->transformer_id, "T1");
	/* the latest balanced day is day 8: loss 0.6 against the 20th percentile of days 0-7
	 * (sorted 0 0 .2 .2 .5 .5 .6 .8: position 0.2 * 7 = 1.4 -> 0 + 0.4 * 0.2 = 0.08) */
	cr_expect_float_eq(a->loss_rate, 0.6, 1e-9);
	cr_expect_float_eq(a->loss_excess, 0.52, 1e-9);
	/* excess energy of the last 7 balanced days with a baseline: day 7 had 7 earlier days
	 * (sorted 0 .2 .2 .5 .5 .6 .8: position 1.2 -> 0.2), so (0 - 0.2) * 20 = -4; day 8
	 * (0.6 - 0.08) * 50 = 26; days 2-6 had no baseline yet: mean 11 */
	cr_expect_float_eq(a->excess_kwh, 11.0, 1e-9);
	/* the step features' series: days 0-8 at the end of the 56 days, the feeder's energy
	 * as read, nothing before day 0 */
	for (int i = 0; i < AREA_SERIES_DAYS; i++) {
		int d = i - (AREA_SERIES_DAYS - 9);
		if (d < 0) {
			cr_expect(isnan(a->rate[i]) && isnan(a->feeder_kwh[i]), "index %d", i);
			continue;
		}
		cr_expect_float_eq(a->feeder_kwh[i], feeder[d], 1e-9, "day %d", d);
		cr_expect(isfinite(a->rate[i]), "day %d", d);
	}
	/* every balanced area-day, in order, with its risk.area_balance figures */
	cr_assert_eq(rows.count, 9);
	for (int d = 0; d < 9; d++) {
		cr_expect_eq(rows.day[d], rows.day[0] + d);
		cr_expect_float_eq(rows.row[d].feeder_kwh, feeder[d], 1e-9, "day %d", d);
		cr_expect_float_eq(rows.row[d].customers_kwh, 20.0, 1e-9, "day %d", d);
		cr_expect_eq(rows.row[d].customers, 2);
		cr_expect_eq(isnan(rows.row[d].baseline_loss_rate), d < 7, "day %d", d);
	}
	cr_expect_float_eq(rows.row[7].excess_kwh, -4.0, 1e-9);
	cr_expect_float_eq(rows.row[8].excess_kwh, 26.0, 1e-9);
	replay_free(rp);
}

struct scoring_count {
	uint64_t calls, with_days_observed;
};

static void count_scoring(void *arg, const char *customer_id, int32_t day,
                          const struct feature_vec *fv, const struct rule_hits *hits)
{
	struct scoring_count *c = arg;
	(void)day;
	(void)hits;
	cr_assert_not_null(customer_id);
	c->calls++;
	c->with_days_observed += feature_known(fv, FEAT_DAYS_OBSERVED);
}

/* The scoring observer sees every scoring the totals count, with the features the rules read. */
Test(replay, scoring_observer_sees_every_scoring)
{
	struct replay *rp = open_replay("rules", NULL);
	struct scoring_count count = {0};
	replay_set_scoring_observer(rp, count_scoring, &count);
	run_file(&rp, 1, DATA "city.jsonl");
	struct replay_totals t;
	replay_totals(rp, &t);
	cr_assert_gt(t.scored, 0);
	cr_assert_eq(count.calls, t.scored);
	cr_assert_eq(count.with_days_observed, t.scored);
	replay_free(rp);
}

Test(replay, threaded_file_equals_line_by_line)
{
	struct replay *by_file = open_replay("rules", NULL);
	struct replay *by_line = open_replay("rules", NULL);
	run_file(&by_file, 1, DATA "city.jsonl");

	FILE *in = fopen(DATA "city.jsonl", "r");
	cr_assert_not_null(in);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, in)) > 0)
		replay_line(by_line, line, (size_t)n - 1);
	free(line);
	fclose(in);
	replay_finish(by_line);

	struct replay_totals a, b;
	replay_totals(by_file, &a);
	replay_totals(by_line, &b);
	cr_expect_eq(memcmp(&a, &b, sizeof(a)), 0, "same totals");
	cr_assert_eq(replay_customer_count(by_file), replay_customer_count(by_line));
	for (size_t i = 0; i < replay_customer_count(by_file); i++) {
		const struct replay_customer *x = replay_customer(by_file, i),
		                             *y = replay_customer(by_line, i);
		cr_expect_str_eq(x->customer_id, y->customer_id);
		cr_expect_eq(x->max_score, y->max_score);
		cr_expect_eq(x->first_alert_day, y->first_alert_day);
		cr_expect_eq(x->alert_days, y->alert_days);
		cr_expect_eq(memcmp(x->alerted, y->alerted, sizeof(x->alerted)), 0);
	}
	for (size_t r = 0; r < replay_rule_count(by_file); r++)
		cr_expect_eq(replay_rule(by_file, r)->hits, replay_rule(by_line, r)->hits);
	replay_free(by_file);
	replay_free(by_line);
}

Test(replay, bad_lines_are_counted_as_riskd_rejects_them)
{
	struct replay *rp = open_replay(DATA "baseline", NULL);
	const char *ok = "{\"type\":\"customer\",\"event_id\":\"p1\",\"ts\":\"2026-01-01T00:00:00+08:00\","
	                 "\"customer_id\":\"C1\",\"segment\":\"residential\",\"transformer_id\":\"T1\","
	                 "\"capacity_kw\":2}";
	cr_expect_eq(replay_line(rp, ok, strlen(ok)), EVENT_REJECT_NONE);
	cr_expect_eq(replay_line(rp, ok, strlen(ok)), EVENT_REJECT_NONE, "a duplicate is skipped");
	cr_expect_eq(replay_line(rp, "{\"type\":", 8), EVENT_REJECT_JSON);
	/* 10 kWh in 30 minutes is above a 2 kW capacity */
	const char *big = "{\"type\":\"meter_reading\",\"event_id\":\"r1\","
	                  "\"ts\":\"2026-01-01T00:00:00+08:00\",\"customer_id\":\"C1\","
	                  "\"meter_id\":\"M1\",\"kwh\":10,\"interval_s\":1800}";
	cr_expect_eq(replay_line(rp, big, strlen(big)), EVENT_REJECT_IMPOSSIBLE);
	struct replay_totals t;
	replay_totals(rp, &t);
	cr_expect_eq(t.lines, 4);
	cr_expect_eq(t.accepted, 1);
	cr_expect_eq(t.duplicates, 1);
	cr_expect_eq(t.rejected, 2);
	cr_expect_eq(t.rejected_by[EVENT_REJECT_JSON], 1);
	cr_expect_eq(t.rejected_by[EVENT_REJECT_IMPOSSIBLE], 1);
	replay_free(rp);
}

static int in_unit(json_t *v)
{
	return json_is_null(v) || (json_is_number(v) && json_number_value(v) >= 0 &&
	                           json_number_value(v) <= 1);
}

Test(replay, scorecard_json_keys_and_ranges)
{
	struct replay_labels labels;
	load_labels(&labels);
	struct replay *rp = open_replay("rules", &labels);
	run_file(&rp, 1, DATA "city.jsonl");
	static const struct replay_pattern patterns[] = {
	    {"constant_fraction", 0}, {"peak_clipping", 0}, {"vacancy", 1}};
	struct replay_scorecard card;
	replay_scorecard_build(rp, &labels, patterns, 3, &card);
	struct rbuf out = {0};
	replay_scorecard_json(&card, &out);

	json_error_t jerr;
	json_t *root = json_loadb(out.data, out.len, 0, &jerr);
	cr_assert_not_null(root, "scorecard JSON does not parse: %s", jerr.text);
	cr_expect_eq(json_object_size(root), 3,
	             "patterns, honest_alerted_share and area_precision_at_k only");
	cr_expect(in_unit(json_object_get(root, "honest_alerted_share")));
	cr_expect(in_unit(json_object_get(root, "area_precision_at_k")));
	json_t *rows = json_object_get(root, "patterns");
	cr_assert(json_is_array(rows));
	size_t customers = 0, i;
	json_t *row;
	json_array_foreach(rows, i, row) {
		static const char *const keys[] = {"pattern", "confounder", "customers", "recall",
		                                   "alerted_share", "median_delay_days", "auc"};
		cr_expect_eq(json_object_size(row), 7);
		for (size_t k = 0; k < 7; k++)
			cr_expect_not_null(json_object_get(row, keys[k]), "row %zu lacks %s", i, keys[k]);
		cr_expect(json_is_string(json_object_get(row, "pattern")));
		cr_expect(json_is_boolean(json_object_get(row, "confounder")));
		cr_expect(json_is_integer(json_object_get(row, "customers")));
		customers += (size_t)json_integer_value(json_object_get(row, "customers"));
		cr_expect(in_unit(json_object_get(row, "recall")));
		cr_expect(in_unit(json_object_get(row, "alerted_share")));
		cr_expect(in_unit(json_object_get(row, "auc")));
		json_t *delay = json_object_get(row, "median_delay_days");
		cr_expect(json_is_null(delay) || json_number_value(delay) >= 0);
	}
	/* the given patterns first, in order, even without customers; then the labels' others,
	 * thieves before confounders */
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "pattern")),
	                 "constant_fraction");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(rows, 1), "pattern")),
	                 "peak_clipping");
	cr_expect_eq(json_integer_value(json_object_get(json_array_get(rows, 1), "customers")), 0);
	cr_expect(json_is_null(json_object_get(json_array_get(rows, 1), "recall")));
	cr_expect(json_is_true(json_object_get(json_array_get(rows, 2), "confounder")));
	cr_expect_eq(json_array_size(rows), 3 + 5 + 3,
	             "3 given, 5 more attack patterns and 3 more confounders in the labels");
	cr_expect_eq(customers, labels.count, "every labelled customer in one row");
	cr_expect_eq(card.honest, 24 - labels.count);
	json_t *bypass = NULL;
	json_array_foreach(rows, i, row)
	    if (strcmp(json_string_value(json_object_get(row, "pattern")), "full_bypass") == 0)
	        bypass = row;
	cr_assert_not_null(bypass);
	cr_expect_float_eq(json_number_value(json_object_get(bypass, "recall")), 1.0, 1e-9,
	                   "the full bypass (zero readings after a tamper event) is caught");
	json_decref(root);
	rbuf_free(&out);
	replay_scorecard_free(&card);
	replay_free(rp);
	replay_labels_free(&labels);
}

/* ---- the attribution of an area's loss, offline ---- */

/* What customer i (0..2: C1..C3) takes in hour h of day d, in whole micro-kWh. C3's meter
 * reads every two hours, so its two hours take the same. */
static double hour_truth(int i, int d, int h)
{
	if (i == 2)
		h -= h % 2;
	double shape = 1 + 0.5 * sin(2 * M_PI * (h - 7 - 5 * i) / 24.0);
	return round((0.4 + 0.3 * i) * shape * (0.6 + 0.8 * unit((uint64_t)i, (uint64_t)d,
	                                                          (uint64_t)h)) * 1e6) / 1e6;
}

/* 15 days of an area T1 whose C2 records 60% of what it takes: meters hourly (C3 every two
 * hours), the transformer hourly or once a day, reading the customers' truth plus a
 * technical loss (0.05 kWh an hour no-load, plus 0.002 F^2 hourly). Days 0-13 are balanced
 * and attributed when day 14 starts. Returns C2's stolen kWh over days 0-13. */
static double feed_theft_area(struct replay *rp, int daily_transformer)
{
	static const char *const profiled[] = {"C3", "C1", "C2"}; /* not in id order */
	char line[512], ts[64];
	double stolen = 0;
	for (int k = 0; k < 3; k++) {
		snprintf(line, sizeof(line), "{\"type\":\"customer\",\"event_id\":\"p%d\",\"ts\":"
		         "\"2026-01-01T00:00:00+08:00\",\"customer_id\":\"%s\",\"segment\":"
		         "\"residential\",\"transformer_id\":\"T1\"}", k, profiled[k]);
		feed(rp, line);
	}
	for (int d = 0; d < 15; d++) {
		double day_feeder = 0;
		for (int h = 0; h < 24; h++) {
			snprintf(ts, sizeof(ts), "2026-01-%02dT%02d:00:00+08:00", d + 1, h);
			double sum = 0;
			for (int i = 0; i < 3; i++) {
				double truth = hour_truth(i, d, h);
				double metered = i == 1 ? round(0.6 * truth * 1e6) / 1e6 : truth;
				sum += truth;
				if (i == 1 && d < 14)
					stolen += truth - metered;
				if (i == 2 && h % 2)
					continue;
				snprintf(line, sizeof(line), "{\"type\":\"meter_reading\",\"event_id\":"
				         "\"r%d-%d-%d\",\"ts\":\"%s\",\"customer_id\":\"C%d\",\"meter_id\":"
				         "\"M%d\",\"kwh\":%.6f,\"interval_s\":%d}", i, d, h, ts, i + 1,
				         i + 1, i == 2 ? 2 * metered : metered, i == 2 ? 7200 : 3600);
				feed(rp, line);
			}
			double f = sum;
			for (int it = 0; it < 60; it++)
				f = sum + 0.05 + (daily_transformer ? 0 : 0.002 * f * f);
			f = round(f * 1e6) / 1e6;
			day_feeder += f;
			if (daily_transformer)
				continue;
			snprintf(line, sizeof(line), "{\"type\":\"transformer_reading\",\"event_id\":"
			         "\"t-%d-%d\",\"ts\":\"%s\",\"transformer_id\":\"T1\",\"kwh\":%.6f,"
			         "\"interval_s\":3600}", d, h, ts, f);
			feed(rp, line);
		}
		if (daily_transformer && d < 14) {
			snprintf(line, sizeof(line), "{\"type\":\"transformer_reading\",\"event_id\":"
			         "\"t-%d\",\"ts\":\"2026-01-%02dT00:00:00+08:00\",\"transformer_id\":"
			         "\"T1\",\"kwh\":%.6f,\"interval_s\":86400}", d, d + 1, day_feeder);
			feed(rp, line);
		}
	}
	return stolen;
}

/* After a balanced area-day, the scorer's area table holds the area's attribution: C2's
 * share of the loss above the technical loss (all of it), its stolen energy a day, the
 * resolution and the window's end (the newest balanced day); its neighbours get about 0. */
static void check_theft_area(int daily_transformer)
{
	struct replay *rp = open_replay(DATA "baseline", NULL);
	double stolen = feed_theft_area(rp, daily_transformer);
	struct replay_totals t;
	replay_totals(rp, &t);
	cr_assert_eq(t.area_days, 14);
	cr_assert_eq(t.area_windows, 14, "every balanced area-day is attributed");
	cr_assert_eq(t.area_window_errors, 0);
	const struct area_table *areas = replay_areas(rp);
	const struct area_balance *a = area_table_find(areas, "T1");
	cr_assert_not_null(a);
	cr_assert_eq(a->attrib_resolution_s, daily_transformer ? 86400 : 3600);
	cr_assert_eq(a->attrib_end_day, a->last_day);
	const struct attrib_finding *thief = area_table_find_finding(areas, "C2");
	cr_assert_not_null(thief);
	cr_expect_float_eq(thief->share, 1.0, 2e-3);
	cr_expect_float_eq(thief->kwh_day, stolen / 14, 2e-3 * stolen / 14);
	cr_expect_eq(thief->carrier, ATTRIB_REG_METERED);
	cr_expect_eq(thief->window_end_day, a->last_day);
	for (int i = 0; i < 2; i++) {
		const char *id = i ? "C3" : "C1";
		const struct attrib_finding *f = area_table_find_finding(areas, id);
		cr_assert_not_null(f, "%s", id);
		cr_expect_lt(fabs(f->share), 2e-3, "%s: share %g", id, f->share);
	}
	/* the window a week before the latest is kept beside it: C2 was the thief then too */
	const struct attrib_finding *prev = area_table_find_prev_finding(areas, "C2");
	cr_assert_not_null(prev, "the window ending ATTRIB_PREV_DAYS before is kept");
	cr_expect_eq(prev->window_end_day, a->last_day - ATTRIB_PREV_DAYS);
	cr_expect_float_eq(prev->share, 1.0, 2e-3);
	cr_expect_eq(prev->carrier, ATTRIB_REG_METERED);
	cr_assert_not_null(area_table_find_prev_finding(areas, "C1"));
	cr_expect_lt(fabs(area_table_find_prev_finding(areas, "C1")->share), 2e-3);
	replay_free(rp);
}

Test(replay, attribution_hourly_by_hand)
{
	check_theft_area(0);
}

Test(replay, attribution_daily_by_hand)
{
	check_theft_area(1);
}

/* ---- the feature dump ---- */

static void dump_row(void *arg, const char *customer_id, int32_t day, const struct feature_vec *fv,
                     const struct rule_hits *hits)
{
	struct { struct replay *rp; struct rbuf *out; } *d = arg;
	replay_features_csv_row(d->rp, customer_id, day, fv, hits, d->out);
}

/* Fields of one CSV line (no quoted field in it). */
static size_t csv_fields(const char *line, size_t len)
{
	size_t n = 1;
	for (size_t i = 0; i < len; i++)
		n += line[i] == ',';
	return n;
}

/* The dump has a header naming every feature and one line per scoring with as many fields;
 * a missing feature is empty, a symbol reads as its name, an odd customer_id is quoted. */
Test(replay, feature_dump_one_line_per_scoring)
{
	struct replay *rp = open_replay("rules", NULL);
	struct rbuf out = {0};
	struct { struct replay *rp; struct rbuf *out; } d = {rp, &out};
	replay_features_csv_header(&out);
	size_t header_len = strchr(out.data, '\n') - out.data;
	cr_assert_eq(csv_fields(out.data, header_len), 5 + (size_t)FEAT__COUNT);
	cr_assert(strncmp(out.data, "customer_id,day,score,alert,fired,kwh_day,", 42) == 0);
	replay_set_scoring_observer(rp, dump_row, &d);
	run_file(&rp, 1, DATA "city.jsonl");
	struct replay_totals t;
	replay_totals(rp, &t);
	size_t lines = 0;
	for (const char *p = out.data, *end = out.data + out.len; p < end; lines++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		cr_assert_not_null(nl);
		cr_assert_eq(csv_fields(p, (size_t)(nl - p)), 5 + (size_t)FEAT__COUNT, "line %zu", lines);
		p = nl + 1;
	}
	cr_assert_eq(lines, t.scored + 1, "a header and one line per scoring");
	cr_assert_not_null(strstr(out.data, ",residential,"), "a symbol by its name");

	struct feature_vec fv;
	struct rule_hits hits;
	memset(&hits, 0, sizeof(hits));
	feature_vec_clear(&fv);
	feature_set(&fv, FEAT_KWH_DAY, 7.25);
	rbuf_reset(&out);
	replay_features_csv_row(rp, "C,\"1\"", 20454, &fv, &hits, &out);
	cr_assert(strncmp(out.data, "\"C,\"\"1\"\"\",2026-01-01,0,0,,7.25,,", 31) == 0, "%.*s",
	          (int)out.len, out.data);
	rbuf_free(&out);
	replay_free(rp);
}

/* ---- attributes (riskctl backtest --attributes) ---- */

static const char attr_theft_rules[] =
    "ruleset: attr-theft\nversion: \"1\"\nkind: theft\nthresholds: {alert: 50}\nrules:\n"
    "  - id: retail_day\n    title: A retail customer's closed day\n    severity: high\n"
    "    score: 50\n    when: business_type == \"retail\" and kwh_day >= 0\n";

/* The events of the attribute test: profiles (C1 retail, C2 an office, C3 without
 * attributes), then four days of daily readings of each. */
static void attr_events(struct rbuf *out)
{
	static const char *const profiles[] = {
	    "{\"type\":\"customer\",\"event_id\":\"p1\",\"ts\":\"2026-01-01T00:00:00+08:00\","
	    "\"customer_id\":\"C1\",\"segment\":\"commercial\",\"transformer_id\":\"T1\","
	    "\"attributes\":{\"business_type\":\"retail\"}}",
	    "{\"type\":\"customer\",\"event_id\":\"p2\",\"ts\":\"2026-01-01T00:00:00+08:00\","
	    "\"customer_id\":\"C2\",\"segment\":\"commercial\",\"transformer_id\":\"T1\","
	    "\"attributes\":{\"business_type\":\"office\"}}",
	    "{\"type\":\"customer\",\"event_id\":\"p3\",\"ts\":\"2026-01-01T00:00:00+08:00\","
	    "\"customer_id\":\"C3\",\"segment\":\"commercial\",\"transformer_id\":\"T1\"}",
	};
	for (size_t i = 0; i < 3; i++)
		rbuf_printf(out, "%s\n", profiles[i]);
	for (int day = 0; day < 4; day++)
		for (int c = 1; c <= 3; c++)
			rbuf_printf(out, "{\"type\":\"meter_reading\",\"event_id\":\"r%d-%d\","
			            "\"ts\":\"2026-01-%02dT00:00:00+08:00\",\"customer_id\":\"C%d\","
			            "\"meter_id\":\"M%d\",\"kwh\":5,\"interval_s\":86400}\n",
			            c, day, day + 1, c, c);
}

static struct replay *open_attr_replay(const char *rules, const struct attr_schema *schema)
{
	struct replay_options opts = {.rules_path = rules, .timezone = "Asia/Shanghai",
	                              .no_area_balance = 1, .attributes = schema};
	struct replay *rp = NULL;
	struct rbuf diag = {0};
	char errstr[512];
	cr_assert_eq(replay_new(&opts, &rp, &diag, errstr, sizeof(errstr)), 0, "%s\n%.*s", errstr,
	             (int)diag.len, diag.data ? diag.data : "");
	rbuf_free(&diag);
	return rp;
}

Test(replay, attributes_are_read_from_profiles_and_theft_rules_read_them)
{
	struct attr_schema *schema = attr_schema_new();
	int slot = attr_schema_add(schema, "business_type", ATTR_CATEGORY);
	attr_def_add_value(&schema->defs[slot], "retail", 6);
	attr_def_add_value(&schema->defs[slot], "office", 6);
	char rules[] = "/tmp/riskd-replay-attrs-XXXXXX.yaml";
	int fd = mkstemps(rules, 5);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, attr_theft_rules, strlen(attr_theft_rules)),
	             (ssize_t)strlen(attr_theft_rules));
	close(fd);

	struct replay *no_schema = open_replay(DATA "baseline", NULL);
	struct rbuf events = {0};
	attr_events(&events);
	cr_assert_eq(replay_line(no_schema, events.data, strcspn(events.data, "\n")),
	             EVENT_REJECT_NONE, "without --attributes a profile's attributes are ignored");
	replay_free(no_schema);
	struct replay *no_declared = NULL;
	struct replay_options opts = {.rules_path = rules, .timezone = "Asia/Shanghai"};
	char errstr[512];
	struct rbuf diag = {0};
	cr_assert_neq(replay_new(&opts, &no_declared, &diag, errstr, sizeof(errstr)), 0,
	              "rules naming an attribute need the schema");
	rbuf_append(&diag, "", 1);
	cr_assert(strstr(diag.data, ":10:11: error: unknown feature 'business_type'"), "%s",
	          diag.data);
	rbuf_free(&diag);

	ruleset_use_attributes(schema);
	struct replay *by_line = open_attr_replay(rules, schema);
	struct replay *by_file = open_attr_replay(rules, schema);
	for (const char *p = events.data; *p;) {
		size_t len = strcspn(p, "\n");
		cr_assert_eq(replay_line(by_line, p, len), EVENT_REJECT_NONE, "%.*s", (int)len, p);
		p += len + 1;
	}
	FILE *in = fmemopen(events.data, events.len, "r");
	cr_assert_eq(replay_file(&by_file, 1, in, errstr, sizeof(errstr)), 0, "%s", errstr);
	fclose(in);
	struct replay *both[] = {by_line, by_file};
	for (int i = 0; i < 2; i++) {
		replay_finish(both[i]);
		const struct replay_customer *c1 = replay_customer_find(both[i], "C1");
		cr_assert_not_null(c1);
		cr_assert_eq(c1->alert_days, 3, "the retail customer's closed days alert");
		cr_assert_eq(replay_customer_find(both[i], "C2")->alert_days, 0, "an office");
		cr_assert_eq(replay_customer_find(both[i], "C3")->alert_days, 0, "no attributes");
	}

	const char *undeclared =
	    "{\"type\":\"customer\",\"event_id\":\"p9\",\"ts\":\"2026-01-05T00:00:00+08:00\","
	    "\"customer_id\":\"C1\",\"segment\":\"commercial\",\"transformer_id\":\"T1\","
	    "\"attributes\":{\"business_kind\":\"retail\"}}";
	cr_assert_eq(replay_line(by_line, undeclared, strlen(undeclared)),
	             EVENT_REJECT_UNKNOWN_FIELD, "riskd dead-letters it");
	struct replay_totals t;
	replay_totals(by_line, &t);
	cr_assert_eq(t.rejected_by[EVENT_REJECT_UNKNOWN_FIELD], 1);
	replay_free(by_line);
	replay_free(by_file);
	ruleset_use_attributes(NULL);
	attr_schema_free(schema);
	rbuf_free(&events);
	unlink(rules);
}
