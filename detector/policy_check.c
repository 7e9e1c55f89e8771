/*
 * policy_check.c - `riskd --check-config` (policy_check.h).
 */
#include "policy_check.h"

#include "../config/riskd_base.h"
#include "../rules/attributes_load.h"
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

/* The files riskd loads beside the theft and credit rules: the operating rules and the
 * attribute schema, which g's cards are bound to as riskd binds them. Returns 0, or 1 after
 * writing what does not load to err. */
static int check_side_files(const struct riskd_config *cfg, struct grader *g, FILE *err)
{
	struct rules_diags diags = {0};
	struct rbuf text = {0};
	struct ruleset *operating = NULL;
	struct attr_schema *schema = NULL;
	const char *rules_path = cfg->rules_path;
	char why[256];
	int rc = 1;
	if (ruleset_load_paths(&rules_path, 1, RULE_KIND_OPERATING, &operating, &diags) != 0) {
		rules_diags_render(&diags, &text);
		put_diagnostics(err, &text);
		fprintf(err, "riskd: the operating rules in '%s' do not load\n", cfg->rules_path);
		goto done;
	}
	if (cfg->attributes_path[0] &&
	    attributes_load_path(cfg->attributes_path, &schema, &diags) != 0) {
		rules_diags_render(&diags, &text);
		put_diagnostics(err, &text);
		fprintf(err, "riskd: the attribute schema '%s' does not load\n", cfg->attributes_path);
		goto done;
	}
	if (!schema)
		schema = attr_schema_new();
	if (grader_set_attributes(g, schema, NULL, NULL, why, sizeof why) != 0) {
		fprintf(err, "riskd: the scorecards in '%s' against the attribute schema '%s': %s\n",
		        cfg->scorecard_path, cfg->attributes_path, why);
		goto done;
	}
	rc = 0;
done:
	ruleset_free(operating);
	attr_schema_free(schema);
	rules_diags_free(&diags);
	rbuf_free(&text);
	return rc;
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
	if (check_side_files(cfg, g, err) != 0) {
		grader_free(g);
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
