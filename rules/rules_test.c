/*
 * rules_test.c - runs the `tests:` cases of a loaded rule set: each case's given features and attributes
 * through its rule's program, compared with the expected outcome, for `riskctl rules test`.
 */
#include "rules_int.h"

int ruleset_tests_run(const struct ruleset *rs, struct rbuf *failures, size_t *passed,
                      size_t *failed)
{
	size_t ok = 0, bad = 0;
	for (size_t i = 0; i < rs->n_rules; i++) {
		const struct rule_entry *r = &rs->rules[i];
		int has_fire = 0, has_quiet = 0;
		for (size_t t = 0; t < r->n_tests; t++) {
			const struct rule_test *test = &r->tests[t];
			int fired = ruleset_rule_eval_attrs(rs, i, &test->given, &test->given_attrs, NULL);
			has_fire |= test->expect_fire;
			has_quiet |= !test->expect_fire;
			if (fired == test->expect_fire) {
				ok++;
				continue;
			}
			bad++;
			rbuf_printf(failures, "%s:%d: rule %s test %zu: expected %s, got %s\n",
			            r->info.path, test->line, r->info.id, t + 1,
			            test->expect_fire ? "fire" : "quiet", fired ? "fire" : "quiet");
		}
		if (!has_fire) {
			bad++;
			rbuf_printf(failures, "%s:%d: rule %s: no test expects fire\n", r->info.path,
			            r->info.line, r->info.id);
		}
		if (!has_quiet) {
			bad++;
			rbuf_printf(failures, "%s:%d: rule %s: no test expects quiet\n", r->info.path,
			            r->info.line, r->info.id);
		}
	}
	*passed = ok;
	*failed = bad;
	return bad ? RISKD_ERR_INVALID : 0;
}
