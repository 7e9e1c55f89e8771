/*
 * policy_check.c - `riskd --check-config` (policy_check.h).
 */
#include "policy_check.h"

#include "../config/riskd_base.h"
#include "../rules/ruleset.h"
#include "grader.h"
#include "scorer.h"

/* Writes the diagnostics collected so far to err. */
static void put_diagnostics(FILE *err, const struct rbuf *diag)
{
	if (diag->len)
		fprintf(err, "%.*s%s", (int)diag->len, diag->data,
		        diag->data[diag->len - 1] == '\n' ? "" : "\n");
}

int policy_check(const struct riskd_config *cfg, const char *config_path, FILE *out, FILE *err)
{
	struct rbuf diag = {0};
	struct scorer *sc = scorer_new(cfg->rules_path, &diag);
	if (!sc) {
		put_diagnostics(err, &diag);
		fprintf(err, "riskd: the theft rules in '%s' do not load\n", cfg->rules_path);
		rbuf_free(&diag);
		return 1;
	}
	struct grader *g = grader_new(cfg->rules_path, cfg->scorecard_path,
	                              cfg->grade_hysteresis_points, &diag);
	if (!g) {
		put_diagnostics(err, &diag);
		fprintf(err, "riskd: the credit rules in '%s' or the scorecards in '%s' do not load\n",
		        cfg->rules_path, cfg->scorecard_path);
		scorer_free(sc);
		rbuf_free(&diag);
		return 1;
	}
	const struct ruleset *theft = scorer_rules(sc), *credit = grader_rules(g);
	fprintf(out, "riskd: configuration %s loads: theft rules %s %s (%zu rules) from '%s', "
	        "credit policy %s %s from '%s', scorecards from '%s', time zone %s (Kafka and "
	        "PostgreSQL not contacted)\n",
	        config_path ? config_path : "(built-in defaults)", ruleset_name(theft),
	        ruleset_version(theft), ruleset_rule_count(theft), cfg->rules_path,
	        ruleset_name(credit), ruleset_version(credit), cfg->rules_path, cfg->scorecard_path,
	        cfg->timezone);
	grader_free(g);
	scorer_free(sc);
	rbuf_free(&diag);
	return 0;
}
