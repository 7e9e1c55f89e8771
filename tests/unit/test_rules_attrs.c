/*
 * test_rules_attrs.c - Criterion suite for customer attributes in rule conditions: declared
 * attributes are read like features (a number as a number, a category compared with its
 * value texts), undeclared names and unknown values are load errors with their position and
 * a suggestion, an attribute the customer has no value for is missing (the comparison is
 * false and counted), theft and operating rules read attributes as credit rules do (and a
 * rule naming one without a schema fails at its position), `tests:` cases give attribute
 * values, `rules explain` names them, and a load against a schema that lacks an attribute
 * fails while the rule set loaded before keeps working.
 */
#include "config/riskd_base.h"
#include "rules/attributes_load.h"
#include "rules/ruleset.h"
#include "scoring/attributes.h"
#include "scoring/features.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

static const char schema_yaml[] =
    "attributes:\n"
    "  - name: business_type\n"
    "    type: category\n"
    "    values: [retail, hospitality, manufacturing]\n"
    "    reason: \"Type of business\"\n"
    "  - name: years_at_address\n"
    "    type: number\n"
    "    range: {min: 0, max: 150}\n"
    "    reason: \"Short time at the address\"\n";

enum { SLOT_BUSINESS, SLOT_YEARS };

static struct attr_schema *schema;

static void use_schema(void)
{
	struct rules_diags diags = {0};
	cr_assert_eq(attributes_load_text("attrs.yaml", schema_yaml, strlen(schema_yaml), &schema,
	                                  &diags),
	             0);
	rules_diags_free(&diags);
	ruleset_use_attributes(schema);
}

static void drop_schema(void)
{
	ruleset_use_attributes(NULL);
	attr_schema_free(schema);
	schema = NULL;
}

TestSuite(rules_attrs, .init = use_schema, .fini = drop_schema);

static const char credit_head[] = "ruleset: attr-credit\nversion: \"1\"\nkind: credit\nrules:\n";

/* Loads credit_head + rules; returns the set, or NULL with the rendered errors in *errors. */
static struct ruleset *load_credit(const char *rules, struct rbuf *errors)
{
	struct rbuf text = {0};
	struct rules_diags diags = {0};
	struct ruleset *rs = NULL;
	rbuf_puts(&text, credit_head);
	rbuf_puts(&text, rules);
	ruleset_load_text("mem.yaml", text.data, text.len, RULE_KIND_CREDIT, &rs, &diags);
	rules_diags_render(&diags, errors);
	rbuf_append(errors, "", 1);
	errors->len--;
	rules_diags_free(&diags);
	rbuf_free(&text);
	return rs;
}

static const char two_rules[] =
    "  - id: new_retail\n"
    "    title: New retail business\n"
    "    when: business_type == \"retail\" and years_at_address < 2\n"
    "    cap: B\n"
    "  - id: settled_trade\n"
    "    title: Settled trade\n"
    "    when: business_type in [\"hospitality\", \"manufacturing\"] or years_at_address >= 20\n"
    "    floor: A\n";

/* No features; a retail business one year at its address. */
static void new_retail_business(struct feature_vec *fv, struct attr_vec *av)
{
	feature_vec_clear(fv);
	attr_vec_clear(av);
	attr_vec_set(av, SLOT_BUSINESS, 0);
	attr_vec_set(av, SLOT_YEARS, 1);
}

Test(rules_attrs, numbers_and_categories_are_read_with_missing_values_false)
{
	struct rbuf errors = {0};
	struct ruleset *rs = load_credit(two_rules, &errors);
	cr_assert_not_null(rs, "%s", errors.data ? errors.data : "");
	cr_assert_eq(ruleset_attributes(rs), schema);
	struct feature_vec fv;
	struct attr_vec av;
	struct rule_hits hits;
	new_retail_business(&fv, &av);
	cr_assert_eq(ruleset_eval_attrs(rs, &fv, &av, &hits), 1);
	cr_assert_eq(hits.cap, RULE_GRADE_B);
	cr_assert_eq(hits.floor, RULE_GRADE_NONE);
	cr_assert_eq(hits.missing_reads, 0);

	attr_vec_set(&av, SLOT_YEARS, 5);
	cr_assert_eq(ruleset_eval_attrs(rs, &fv, &av, &hits), 0, "5 years is not new");

	attr_vec_set(&av, SLOT_BUSINESS, 2); /* manufacturing */
	cr_assert_eq(ruleset_eval_attrs(rs, &fv, &av, &hits), 1);
	cr_assert_eq(hits.floor, RULE_GRADE_A);
	cr_assert_eq(hits.cap, RULE_GRADE_NONE);

	/* no business type: both comparisons on it are false and counted as missing */
	attr_vec_clear(&av);
	attr_vec_set(&av, SLOT_YEARS, 1);
	cr_assert_eq(ruleset_eval_attrs(rs, &fv, &av, &hits), 0);
	cr_assert_eq(hits.missing[0], 1);
	cr_assert_eq(hits.missing[1], 1);

	/* no values at all (ruleset_eval, or a customer without attributes) */
	cr_assert_eq(ruleset_eval(rs, &fv, &hits), 0);
	cr_assert_eq(hits.missing_reads, 3, "and stops at the first missing read");
	cr_assert_eq(ruleset_eval_attrs(rs, &fv, NULL, &hits), 0);
	cr_assert_eq(hits.missing_reads, 3, "and stops at the first missing read");

	/* != is false on a missing value too, as for features */
	struct ruleset *ne = load_credit("  - id: not_retail\n    title: Not retail\n"
	                                 "    when: business_type != \"retail\"\n    cap: A\n",
	                                 &errors);
	cr_assert_not_null(ne, "%s", errors.data ? errors.data : "");
	cr_assert_eq(ruleset_eval_attrs(ne, &fv, NULL, &hits), 0);
	attr_vec_set(&av, SLOT_BUSINESS, 1);
	cr_assert_eq(ruleset_eval_attrs(ne, &fv, &av, &hits), 1);
	ruleset_free(ne);
	ruleset_free(rs);
	rbuf_free(&errors);
}

/* The load of one condition fails with exactly one diagnostic containing want. */
static void assert_error(const char *when, const char *want)
{
	char rule[512];
	snprintf(rule, sizeof rule, "  - id: r\n    title: R\n    when: %s\n    cap: B\n", when);
	struct rbuf errors = {0};
	struct ruleset *rs = load_credit(rule, &errors);
	cr_assert_null(rs, "'%s' loaded", when);
	cr_assert(strstr(errors.data, want), "for '%s' expected '%s' in:\n%s", when, want,
	          errors.data);
	rbuf_free(&errors);
}

Test(rules_attrs, names_values_and_types_are_checked_with_positions)
{
	assert_error("years_at_adress < 2",
	             "mem.yaml:7:11: error: unknown feature 'years_at_adress' (did you mean "
	             "'years_at_address'?)");
	assert_error("business_type == \"retial\"",
	             "mem.yaml:7:28: error: unknown business_type 'retial' (did you mean 'retail'?)");
	assert_error("business_type in [\"retail\", \"farm\"]",
	             "unknown business_type 'farm' (expected one of: retail, hospitality, "
	             "manufacturing)");
	assert_error("business_type < 2", "'<' compares numbers, but the left side is "
	                                  "'business_type' (a symbol)");
	assert_error("years_at_address == \"ten\"", "a string can only be compared with a symbol");
	assert_error("business_type == segment", "compares symbols of different features");
	assert_error("business_type == 1", "compare it with a string such as \"retail\"");
}

static const char theft_shop[] =
    "ruleset: attr-theft\nversion: \"1\"\nkind: theft\nthresholds: {alert: 5}\nrules:\n"
    "  - id: shop\n    title: Shop\n    severity: low\n    score: 5\n"
    "    when: business_type == \"retail\"\n";
static const char operating_shop[] =
    "ruleset: attr-operating\nversion: \"1\"\nkind: operating\nthresholds: {alert: 5}\n"
    "rules:\n"
    "  - id: shop_stopped\n    title: A shop that stopped\n    severity: high\n    score: 5\n"
    "    when: business_type == \"retail\" and stop_days >= 14\n";

/* Loads text as a rule set of kind; asserts it loads. */
static struct ruleset *load_kind(const char *text, enum rule_kind kind)
{
	struct rules_diags diags = {0};
	struct ruleset *rs = NULL;
	cr_assert_eq(ruleset_load_text("k.yaml", text, strlen(text), kind, &rs, &diags), 0,
	             "%s", diags.count ? diags.items[0].text : "");
	rules_diags_free(&diags);
	return rs;
}

Test(rules_attrs, theft_and_operating_rules_read_attributes)
{
	struct feature_vec fv;
	struct attr_vec av;
	struct rule_hits hits;
	new_retail_business(&fv, &av);

	struct ruleset *theft = load_kind(theft_shop, RULE_KIND_THEFT);
	cr_assert(ruleset_reads_attributes(theft));
	cr_assert_eq(ruleset_eval_attrs(theft, &fv, &av, &hits), 1);
	cr_assert(hits.alert, "a retail business reaches the threshold");
	cr_assert_eq(ruleset_eval_attrs(theft, &fv, NULL, &hits), 0, "no attributes: missing");
	cr_assert_eq(hits.missing_reads, 1);
	attr_vec_set(&av, SLOT_BUSINESS, 1); /* hospitality */
	cr_assert_eq(ruleset_eval_attrs(theft, &fv, &av, &hits), 0);
	cr_assert_not(hits.alert);

	struct ruleset *operating = load_kind(operating_shop, RULE_KIND_OPERATING);
	cr_assert(ruleset_reads_attributes(operating));
	feature_set(&fv, FEAT_STOP_DAYS, 20);
	cr_assert_eq(ruleset_eval_attrs(operating, &fv, &av, &hits), 0, "not a shop");
	attr_vec_set(&av, SLOT_BUSINESS, 0);
	cr_assert_eq(ruleset_eval_attrs(operating, &fv, &av, &hits), 1);
	cr_assert(hits.alert);

	/* a set whose conditions read features only says so: evaluators skip the lookup */
	struct ruleset *plain = load_kind("ruleset: plain\nversion: \"1\"\nkind: theft\n"
	                                  "thresholds: {alert: 5}\nrules:\n"
	                                  "  - id: big\n    title: Big\n    severity: low\n"
	                                  "    score: 5\n    when: kwh_day > 100\n",
	                                  RULE_KIND_THEFT);
	cr_assert_not(ruleset_reads_attributes(plain));
	ruleset_free(plain);
	ruleset_free(operating);
	ruleset_free(theft);
}

Test(rules_attrs, without_a_schema_a_rule_naming_an_attribute_fails_at_its_position)
{
	ruleset_use_attributes(NULL);
	static const struct {
		const char *text;
		enum rule_kind kind;
		int line;
	} cases[] = {{theft_shop, RULE_KIND_THEFT, 10}, {operating_shop, RULE_KIND_OPERATING, 10}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct rules_diags diags = {0};
		struct ruleset *rs = NULL;
		cr_assert_eq(ruleset_load_text("t.yaml", cases[i].text, strlen(cases[i].text),
		                               cases[i].kind, &rs, &diags),
		             RISKD_ERR_INVALID);
		cr_assert_null(rs);
		cr_assert_eq(diags.count, 1);
		cr_assert_eq(diags.items[0].line, cases[i].line);
		cr_assert_eq(diags.items[0].col, 11);
		cr_assert_str_eq(diags.items[0].message,
		                 "unknown feature 'business_type' (`riskctl rules features` lists them; "
		                 "no customer attribute schema is loaded)");
		rules_diags_free(&diags);
	}
}

Test(rules_attrs, tests_give_attribute_values_and_explain_names_them)
{
	static const char tested[] =
	    "  - id: new_retail\n"
	    "    title: New retail business\n"
	    "    when: business_type == \"retail\" and years_at_address < 2\n"
	    "    cap: B\n"
	    "    tests:\n"
	    "      - {given: {business_type: retail, years_at_address: 1}, expect: fire}\n"
	    "      - {given: {business_type: hospitality, years_at_address: 1}, expect: quiet}\n"
	    "      - {given: {years_at_address: 1}, expect: fire}\n";
	struct rbuf errors = {0};
	struct ruleset *rs = load_credit(tested, &errors);
	cr_assert_not_null(rs, "%s", errors.data ? errors.data : "");
	struct rbuf failures = {0};
	size_t passed = 0, failed = 0;
	cr_assert_eq(ruleset_tests_run(rs, &failures, &passed, &failed), RISKD_ERR_INVALID);
	cr_assert_eq(passed, 2);
	cr_assert_eq(failed, 1, "a missing business type does not fire");
	rbuf_append(&failures, "", 1);
	cr_assert(strstr(failures.data, "rule new_retail test 3: expected fire, got quiet"), "%s",
	          failures.data);

	struct rbuf out = {0};
	cr_assert_eq(ruleset_explain(rs, "new_retail", &out), 0);
	rbuf_append(&out, "", 1);
	cr_assert(strstr(out.data, "reads:    business_type (customer attribute, category), "
	                           "years_at_address (customer attribute, number)"),
	          "%s", out.data);
	cr_assert(strstr(out.data, "EQ_SYM_FK        business_type == \"retail\""), "%s", out.data);
	cr_assert(strstr(out.data, "LT_F64_FK        years_at_address < 2"), "%s", out.data);
	rbuf_free(&out);
	rbuf_free(&failures);
	rbuf_free(&errors);
	ruleset_free(rs);

	static const char bad_value[] =
	    "  - id: r\n    title: R\n    when: years_at_address < 2\n    cap: B\n"
	    "    tests:\n      - {given: {business_type: retial}, expect: fire}\n";
	cr_assert_null(load_credit(bad_value, &errors));
	cr_assert(strstr(errors.data, "unknown business_type 'retial' (did you mean 'retail'?)"),
	          "%s", errors.data);
	rbuf_free(&errors);
}

Test(rules_attrs, a_load_against_a_schema_without_the_attribute_fails_and_the_old_set_stays)
{
	struct rbuf errors = {0};
	struct ruleset *old = load_credit(two_rules, &errors);
	cr_assert_not_null(old, "%s", errors.data ? errors.data : "");

	struct attr_schema *smaller = attr_schema_new();
	attr_schema_add(smaller, "years_at_address", ATTR_NUMBER);
	ruleset_use_attributes(smaller);
	cr_assert_null(load_credit(two_rules, &errors));
	cr_assert(strstr(errors.data, "mem.yaml:7:11: error: unknown feature 'business_type'"),
	          "%s", errors.data);
	ruleset_use_attributes(NULL);
	cr_assert_null(load_credit(two_rules, &errors), "without a schema nothing is declared");

	struct feature_vec fv;
	struct attr_vec av;
	struct rule_hits hits;
	new_retail_business(&fv, &av);
	cr_assert_eq(ruleset_eval_attrs(old, &fv, &av, &hits), 1, "the old set still evaluates");
	cr_assert_eq(hits.cap, RULE_GRADE_B);
	ruleset_free(old);
	attr_schema_free(smaller);
	rbuf_free(&errors);
}
