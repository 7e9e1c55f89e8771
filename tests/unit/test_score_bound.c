/*
 * test_score_bound.c - Criterion suite for the bound that lets riskd score most customer-days
 * of customers with an area at their close (ruleset_eval_bound, scorer_set_deferral's
 * SCORER_DEFER_BOUNDED): on a generated labelled city replayed by the offline engine, which
 * scores every day with its area's results, every day the bound calls final (its own
 * features, the area's unknown) is quiet with its area too, so riskd's alerts with the bound
 * are those of the path that holds every day back. Also reports the share of days that wait.
 *
 * Runs from the repository root (make test-unit does): it reads rules/.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "config/riskd_base.h"
#include "detector/replay.h"
#include "rules/ruleset.h"
#include "scoring/balance.h"
#include "tools/gen.h"

struct bound_check {
	const struct ruleset *rules;
	uint64_t area[(FEAT__COUNT + 63) / 64];
	uint64_t scorings, waits, alerts, waiting_alerts, final_alerts;
};

/* One scoring of the replay, with its area: the bound on the customer's own features. */
static void check_scoring(void *arg, const char *customer_id, int32_t day,
                          const struct feature_vec *fv, const struct rule_hits *hits)
{
	struct bound_check *c = arg;
	struct feature_vec own = *fv;
	struct rule_hits at_close;
	struct rule_bound bound;
	for (int id = 0; id < FEAT__COUNT; id++)
		if ((c->area[id / 64] >> (id % 64)) & 1)
			feature_unset(&own, (enum feature_id)id);
	int may = ruleset_eval_bound(c->rules, &own, NULL, c->area, &at_close, &bound);
	c->scorings++;
	c->waits += (uint64_t)may;
	c->alerts += (uint64_t)hits->alert;
	c->waiting_alerts += (uint64_t)(may && hits->alert);
	if (!may && hits->alert) {
		c->final_alerts++;
		cr_log_error("%s day %d: final at its close (reach %g) but alerts with its area (%g)",
		             customer_id, (int)day, bound.reach, hits->score);
	}
	cr_assert_leq(hits->score, bound.reach, "%s day %d", customer_id, (int)day);
}

/* Replays a labelled city of `customers` x `days` (transformers read every
 * transformer_interval_s) with the shipped rules, checking the bound on every scoring. */
static void replay_city(uint32_t customers, uint32_t days, int32_t transformer_interval_s,
                        struct bound_check *c)
{
	struct gen_options gen;
	struct gen_stats stats;
	char errstr[512];
	gen_options_init(&gen);
	gen.customers = customers;
	gen.days = days;
	gen.seed = 7;
	gen.theft_rate = 0.1;
	gen.transformer_interval_s = transformer_interval_s;
	FILE *city = tmpfile();
	cr_assert_not_null(city);
	cr_assert_eq(gen_write(&gen, city, &stats, errstr, sizeof(errstr)), 0, "%s", errstr);
	rewind(city);

	const char *paths[] = {"rules"};
	struct ruleset *rules = NULL;
	struct rules_diags diags = {0};
	cr_assert_eq(ruleset_load_paths(paths, 1, RULE_KIND_THEFT, &rules, &diags), 0);
	rules_diags_free(&diags);
	memset(c, 0, sizeof(*c));
	c->rules = rules;
	area_features_mark(c->area);

	struct replay_options opts = {.rules_path = "rules", .timezone = "Asia/Shanghai"};
	struct replay *rp = NULL;
	struct rbuf diag = {0};
	cr_assert_eq(replay_new(&opts, &rp, &diag, errstr, sizeof(errstr)), 0, "%s", errstr);
	rbuf_free(&diag);
	replay_set_scoring_observer(rp, check_scoring, c);
	cr_assert_eq(replay_file(&rp, 1, city, errstr, sizeof(errstr)), 0, "%s", errstr);
	replay_finish(rp);
	replay_free(rp);
	fclose(city);
	ruleset_free(rules);
	cr_log_info("%u customers x %u days, transformers every %d s: %llu scorings, %llu wait "
	            "(%.2f%%), %llu alert, all of them among those that wait: %llu",
	            (unsigned)customers, (unsigned)days, (int)transformer_interval_s,
	            (unsigned long long)c->scorings, (unsigned long long)c->waits,
	            100.0 * (double)c->waits / (double)c->scorings, (unsigned long long)c->alerts,
	            (unsigned long long)c->waiting_alerts);
}

Test(score_bound, hourly_areas_final_days_are_quiet_with_their_area, .timeout = 300)
{
	struct bound_check c;
	replay_city(400, 45, 3600, &c);
	cr_assert_gt(c.alerts, 0);
	cr_assert_eq(c.final_alerts, 0, "every alerting day waited for its area");
	cr_assert_eq(c.waiting_alerts, c.alerts);
	cr_assert_lt(c.waits * 5, c.scorings, "most days are final at their close");
}

Test(score_bound, daily_areas_final_days_are_quiet_with_their_area, .timeout = 300)
{
	struct bound_check c;
	replay_city(400, 45, 86400, &c);
	cr_assert_gt(c.alerts, 0);
	cr_assert_eq(c.final_alerts, 0, "every alerting day waited for its area");
	cr_assert_lt(c.waits * 5, c.scorings, "most days are final at their close");
}
