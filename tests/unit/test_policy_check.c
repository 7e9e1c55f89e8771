/*
 * test_policy_check.c - Criterion suite for detector/policy_check.c (`riskd --check-config`):
 * the shipped policy files load and are named on one line; a broken rule file or scorecard
 * is reported with its file:line:col and the check fails.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "detector/policy_check.h"

/* Runs policy_check on cfg; its out and err into the buffers. Returns its result. */
static int run(const struct riskd_config *cfg, char *out, char *err, size_t size)
{
	FILE *o = fmemopen(out, size, "w"), *e = fmemopen(err, size, "w");
	cr_assert(o && e);
	int rc = policy_check(cfg, "test.yaml", o, e);
	fclose(o);
	fclose(e);
	return rc;
}

/* A copy of the shipped rules and cards in a scratch directory; its path into dir. */
static void scratch_policies(char *dir, size_t size)
{
	snprintf(dir, size, "/tmp/riskd-policy-check-%d", (int)getpid());
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s && cp -r rules %s/rules && "
	         "cp -r scoring/cards %s/cards", dir, dir, dir, dir);
	cr_assert_eq(system(cmd), 0);
}

Test(policy_check, the_shipped_files_load)
{
	struct riskd_config cfg;
	config_defaults(&cfg);
	char out[4096] = "", err[4096] = "";
	cr_assert_eq(run(&cfg, out, err, sizeof(out)), 0, "%s", err);
	cr_assert(strstr(out, "configuration test.yaml loads: theft rules theft-core"), "%s", out);
	cr_assert(strstr(out, "credit policy"), "%s", out);
	cr_assert_eq(err[0], '\0', "%s", err);
}

Test(policy_check, a_broken_rule_file_fails_with_its_place)
{
	struct riskd_config cfg;
	config_defaults(&cfg);
	char dir[256], cmd[700];
	scratch_policies(dir, sizeof(dir));
	snprintf(cmd, sizeof(cmd), "printf 'ruleset: broken\\nversion: 1.0.0\\nrules: [\\n' > "
	         "%s/rules/broken.yaml", dir);
	cr_assert_eq(system(cmd), 0);
	snprintf(cfg.rules_path, sizeof(cfg.rules_path), "%s/rules", dir);
	snprintf(cfg.scorecard_path, sizeof(cfg.scorecard_path), "%s/cards", dir);
	char out[4096] = "", err[4096] = "";
	cr_assert_eq(run(&cfg, out, err, sizeof(out)), 1);
	cr_assert(strstr(err, "/rules/broken.yaml:"), "%s", err);
	cr_assert(strstr(err, "do not load"), "%s", err);
	cr_assert_eq(out[0], '\0', "%s", out);
}

Test(policy_check, a_broken_scorecard_fails_with_its_place)
{
	struct riskd_config cfg;
	config_defaults(&cfg);
	char dir[256], cmd[700];
	scratch_policies(dir, sizeof(dir));
	snprintf(cmd, sizeof(cmd), "printf 'scorecard: [\\n' > %s/cards/broken.yaml", dir);
	cr_assert_eq(system(cmd), 0);
	snprintf(cfg.rules_path, sizeof(cfg.rules_path), "%s/rules", dir);
	snprintf(cfg.scorecard_path, sizeof(cfg.scorecard_path), "%s/cards", dir);
	char out[4096] = "", err[4096] = "";
	cr_assert_eq(run(&cfg, out, err, sizeof(out)), 1);
	cr_assert(strstr(err, "/cards/broken.yaml:"), "%s", err);
	cr_assert(strstr(err, "scorecards"), "%s", err);
}

Test(policy_check, a_broken_schema_or_a_card_on_an_undeclared_attribute_fails)
{
	struct riskd_config cfg;
	config_defaults(&cfg);
	char dir[256], cmd[900];
	scratch_policies(dir, sizeof(dir));
	snprintf(cmd, sizeof(cmd), "printf 'attributes:\\n  - name: staff\\n    type: nmber\\n"
	         "    reason: Staff\\n' > %s/attributes.yaml", dir);
	cr_assert_eq(system(cmd), 0);
	snprintf(cfg.rules_path, sizeof(cfg.rules_path), "%s/rules", dir);
	snprintf(cfg.scorecard_path, sizeof(cfg.scorecard_path), "%s/cards", dir);
	snprintf(cfg.attributes_path, sizeof(cfg.attributes_path), "%s/attributes.yaml", dir);
	char out[4096] = "", err[4096] = "";
	cr_assert_eq(run(&cfg, out, err, sizeof(out)), 1);
	cr_assert(strstr(err, "/attributes.yaml:3:11: error: unknown type 'nmber'"), "%s", err);
	cr_assert(strstr(err, "riskd: the attribute schema '"), "%s", err);

	/* a card that reads an attribute the (empty) schema does not declare */
	snprintf(cmd, sizeof(cmd), "sed -i 's/^characteristics:/characteristics:\\n  - attribute: "
	         "staff\\n    type: number\\n    code: STAFF\\n    reason: Staff\\n    bins:\\n"
	         "      - {to: 5, points: -5}\\n      - {from: 5, points: 0}\\n"
	         "      - {missing: true, points: 0}/' %s/cards/residential.yaml", dir);
	cr_assert_eq(system(cmd), 0);
	cfg.attributes_path[0] = '\0';
	out[0] = err[0] = '\0';
	cr_assert_eq(run(&cfg, out, err, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(err, "card residential: attribute 'staff' is not declared in the "
	                      "attribute schema"), "%s", err);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}
