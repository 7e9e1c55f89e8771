/*
 * test_rules_lang.c - Criterion suite for the rule language: a table of conditions, feature
 * values (some missing) and expected outcomes - fires or not, and how many comparisons met a
 * missing operand - run end to end through the loader, checker, compiler and VM; conditions
 * that must be refused, with the message they get; and the compiled form (fused instructions,
 * forward jumps, folded constants) seen through `explain`.
 */
#include "config/riskd_base.h"
#include "rules/ruleset.h"
#include "scoring/features.h"

#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Wraps a condition in a one-rule theft file (as a literal block) and loads it. */
static struct ruleset *load_when(const char *when, struct rules_diags *diags)
{
	struct rbuf text = {0};
	rbuf_printf(&text,
	            "ruleset: lang\nversion: \"1\"\nkind: theft\nthresholds: {alert: 1}\nrules:\n"
	            "  - id: r\n    title: t\n    severity: low\n    score: 1\n    when: |\n      %s\n",
	            when);
	struct ruleset *rs = NULL;
	ruleset_load_text("lang.yaml", text.data, text.len, RULE_KIND_THEFT, &rs, diags);
	rbuf_free(&text);
	return rs;
}

/* "kwh_day=5 segment=residential confirmed_theft=true": the listed features, others missing. */
static void parse_given(const char *given, struct feature_vec *fv)
{
	feature_vec_clear(fv);
	char buf[512];
	snprintf(buf, sizeof buf, "%s", given);
	for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		cr_assert_not_null(eq, "bad given '%s'", tok);
		*eq = '\0';
		const struct feature_def *def = feature_lookup(tok, strlen(tok));
		cr_assert_not_null(def, "unknown feature '%s' in the table", tok);
		const char *value = eq + 1;
		if (def->type == FEATURE_BOOL) {
			feature_set(fv, def->id, strcmp(value, "true") == 0);
		} else if (def->type == FEATURE_SYM) {
			size_t count = 0;
			const char *const *symbols = feature_symbols(def->id, &count);
			size_t i = 0;
			while (i < count && strcmp(symbols[i], value) != 0)
				i++;
			cr_assert_lt(i, count, "unknown symbol '%s'", value);
			feature_set(fv, def->id, (double)i);
		} else {
			feature_set(fv, def->id, strtod(value, NULL));
		}
	}
}

struct lang_case {
	const char *when;
	const char *given;
	int fires;
	unsigned missing;
};

static const struct lang_case cases[] = {
	/* arithmetic and precedence */
	{"kwh_day + 2 * 3 == 11", "kwh_day=5", 1, 0},
	{"(kwh_day + 2) * 3 == 21", "kwh_day=5", 1, 0},
	{"kwh_day - 1 - 1 == 3", "kwh_day=5", 1, 0},
	{"kwh_day / 5 / 2 == 0.5", "kwh_day=5", 1, 0},
	{"-kwh_day < 0", "kwh_day=5", 1, 0},
	{"- -kwh_day == 5", "kwh_day=5", 1, 0},
	{"-kwh_day * 2 == -10", "kwh_day=5", 1, 0},
	{"kwh_day * drop_days == 0", "kwh_day=5 drop_days=0", 1, 0},
	{"kwh_day >= 1e3", "kwh_day=1000", 1, 0},
	{"kwh_day >= 1.5e-1", "kwh_day=0.15", 1, 0},
	/* every comparison, both ways round (constant on the left is flipped) */
	{"kwh_day < 5", "kwh_day=5", 0, 0},
	{"kwh_day <= 5", "kwh_day=5", 1, 0},
	{"kwh_day > 5", "kwh_day=5", 0, 0},
	{"kwh_day >= 5", "kwh_day=5", 1, 0},
	{"kwh_day == 5", "kwh_day=5", 1, 0},
	{"kwh_day != 5", "kwh_day=5", 0, 0},
	{"5 > kwh_day", "kwh_day=4", 1, 0},
	{"5 > kwh_day", "kwh_day=5", 0, 0},
	{"5 <= kwh_day", "kwh_day=5", 1, 0},
	{"5 == kwh_day", "kwh_day=5", 1, 0},
	{"kwh_day < drop_days", "kwh_day=1 drop_days=2", 1, 0},
	{"kwh_day >= drop_days", "kwh_day=1 drop_days=2", 0, 0},
	{"kwh_day != drop_days", "kwh_day=1 drop_days=2", 1, 0},
	/* logic, short circuit, not */
	{"kwh_day > 1 and drop_days > 1", "kwh_day=2 drop_days=2", 1, 0},
	{"kwh_day > 1 and drop_days > 1", "kwh_day=2 drop_days=0", 0, 0},
	{"kwh_day > 1 or drop_days > 1", "kwh_day=0 drop_days=2", 1, 0},
	{"kwh_day > 1 or drop_days > 1 and zero_run_days > 1", "kwh_day=2", 1, 0},
	{"(kwh_day > 1 or drop_days > 1) and zero_run_days > 1", "kwh_day=2", 0, 1},
	{"not kwh_day > 1", "kwh_day=0", 1, 0},
	{"not kwh_day > 1 and drop_days > 1", "kwh_day=0 drop_days=2", 1, 0},
	{"not (kwh_day > 1 and drop_days > 1)", "kwh_day=2 drop_days=2", 0, 0},
	{"not not kwh_day > 1", "kwh_day=2", 1, 0},
	/* missing features: comparisons are false and counted; not/and/or are two-valued */
	{"kwh_day > 1", "", 0, 1},
	{"kwh_day <= 1", "", 0, 1},
	{"kwh_day == 1", "", 0, 1},
	{"kwh_day != 1", "", 0, 1},
	{"not (kwh_day > 1)", "", 1, 1},
	{"kwh_day > 1 and drop_days > 1", "", 0, 1},
	{"kwh_day > 1 or drop_days > 1", "", 0, 2},
	{"kwh_day > 1 or drop_days > 1", "drop_days=2", 1, 1},
	{"kwh_day + 1 > 0", "", 0, 1},
	{"kwh_day > drop_days", "kwh_day=1", 0, 1},
	{"abs(kwh_day) >= 0", "", 0, 1},
	{"min(kwh_day, 3) < 5", "", 0, 1},
	{"max(3, kwh_day) > 1", "", 0, 1},
	{"between(kwh_day, 1, 10)", "", 0, 1},
	{"between(5, kwh_day, 10)", "", 0, 1},
	{"kwh_day in [1, 2]", "", 0, 1},
	{"segment == \"residential\"", "", 0, 1},
	{"segment != \"residential\"", "", 0, 1},
	{"not (segment == \"residential\")", "", 1, 1},
	{"segment in [\"residential\"]", "", 0, 1},
	{"confirmed_theft", "", 0, 1},
	{"not confirmed_theft", "", 1, 1},
	{"confirmed_theft == false", "", 0, 1},
	{"confirmed_theft != true", "", 0, 1},
	/* division by zero is undefined, like a missing value */
	{"kwh_day / drop_days > 1", "kwh_day=5 drop_days=0", 0, 1},
	{"kwh_day / drop_days < 1", "kwh_day=0 drop_days=0", 0, 1},
	{"kwh_day / drop_days == 2.5", "kwh_day=5 drop_days=2", 1, 0},
	/* functions */
	{"abs(night_ratio_change) >= 0.2", "night_ratio_change=-0.25", 1, 0},
	{"abs(night_ratio_change) >= 0.2", "night_ratio_change=0.1", 0, 0},
	{"min(kwh_day, drop_days, 3) == 1", "kwh_day=4 drop_days=1", 1, 0},
	{"max(kwh_day, drop_days, 3) == 4", "kwh_day=4 drop_days=1", 1, 0},
	{"min(kwh_day, drop_days) == drop_days", "kwh_day=4 drop_days=1", 1, 0},
	{"between(kwh_day, 1, 10)", "kwh_day=1", 1, 0},
	{"between(kwh_day, 1, 10)", "kwh_day=10", 1, 0},
	{"between(kwh_day, 1, 10)", "kwh_day=10.5", 0, 0},
	{"between(kwh_day * 2, drop_days, 10)", "kwh_day=2 drop_days=4", 1, 0},
	{"between(kwh_day * 2, drop_days, 10)", "kwh_day=2 drop_days=5", 0, 0},
	/* in */
	{"days_past_due in [0, 30, 60]", "days_past_due=30", 1, 0},
	{"days_past_due in [0, 30, 60]", "days_past_due=31", 0, 0},
	{"days_past_due + 1 in [31]", "days_past_due=30", 1, 0},
	{"days_past_due in [-1, 2 * 15]", "days_past_due=30", 1, 0},
	{"not days_past_due in [0]", "days_past_due=30", 1, 0},
	{"segment in [\"commercial\", \"industrial\"]", "segment=industrial", 1, 0},
	{"segment in [\"commercial\", \"industrial\"]", "segment=residential", 0, 0},
	/* symbols and booleans */
	{"segment == \"agricultural\"", "segment=agricultural", 1, 0},
	{"\"agricultural\" == segment", "segment=agricultural", 1, 0},
	{"segment == 'commercial'", "segment=commercial", 1, 0},
	{"segment != \"commercial\"", "segment=residential", 1, 0},
	{"segment == segment", "segment=residential", 1, 0},
	{"confirmed_theft", "confirmed_theft=true", 1, 0},
	{"confirmed_theft", "confirmed_theft=false", 0, 0},
	{"not confirmed_theft", "confirmed_theft=false", 1, 0},
	{"confirmed_theft == false", "confirmed_theft=false", 1, 0},
	{"confirmed_theft != false", "confirmed_theft=true", 1, 0},
	{"confirmed_theft == confirmed_theft", "confirmed_theft=false", 1, 0},
	{"confirmed_theft and kwh_day > 1", "confirmed_theft=true kwh_day=2", 1, 0},
	{"(kwh_day > 1) == true", "kwh_day=2", 1, 0},
	{"(kwh_day > 1) != (drop_days > 1)", "kwh_day=2 drop_days=0", 1, 0},
	/* constants fold */
	{"true", "", 1, 0},
	{"false", "", 0, 0},
	{"1 + 2 == 3", "", 1, 0},
	{"not false and true", "", 1, 0},
	{"abs(-3) == 3 and min(1, 2) == 1 and max(1, 2) == 2", "", 1, 0},
	{"between(2, 1, 3) and 2 in [1, 2]", "", 1, 0},
	{"kwh_day > 10 / 4", "kwh_day=2.6", 1, 0},
	{"kwh_day > -(1 - 3)", "kwh_day=2.5", 1, 0},
	{"true or kwh_day > 1", "", 1, 0},
	{"false and kwh_day > 1", "", 0, 0},
	/* layout: several lines, comments are not part of the language */
	{"kwh_day > 1\n        and drop_days > 1", "kwh_day=2 drop_days=2", 1, 0},
};

Test(rules_lang, expression_table)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct lang_case *c = &cases[i];
		struct rules_diags diags = {0};
		struct ruleset *rs = load_when(c->when, &diags);
		struct rbuf text = {0};
		rules_diags_render(&diags, &text);
		rbuf_append(&text, "", 1);
		cr_assert_not_null(rs, "case %zu '%s' did not load:\n%s", i, c->when, text.data);
		rbuf_free(&text);
		struct feature_vec fv;
		parse_given(c->given, &fv);
		unsigned missing = 99;
		int fired = ruleset_rule_eval(rs, 0, &fv, &missing);
		cr_expect_eq(fired, c->fires, "case %zu '%s' with {%s}: got %d, want %d", i, c->when,
		             c->given, fired, c->fires);
		cr_expect_eq(missing, c->missing, "case %zu '%s' with {%s}: %u missing reads, want %u",
		             i, c->when, c->given, missing, c->missing);
		ruleset_free(rs);
		rules_diags_free(&diags);
	}
}

/* Values the models may produce that are not plain numbers are treated as missing. */
Test(rules_lang, nan_feature_counts_as_missing)
{
	struct rules_diags diags = {0};
	struct ruleset *rs = load_when("kwh_day != 1", &diags);
	cr_assert_not_null(rs);
	struct feature_vec fv;
	feature_vec_clear(&fv);
	feature_set(&fv, FEAT_KWH_DAY, NAN);
	unsigned missing = 0;
	cr_assert_eq(ruleset_rule_eval(rs, 0, &fv, &missing), 0);
	cr_assert_eq(missing, 1);
	ruleset_free(rs);
}

struct refused_case {
	const char *when;
	const char *message; /* the first diagnostic's message */
};

static const struct refused_case refused[] = {
	{"kwh_day", "the condition must be true or false, but it is 'kwh_day' (a number)"},
	{"\"residential\"", "the condition must be true or false, but it is a string"},
	{"segment", "the condition must be true or false, but it is 'segment' (a symbol)"},
	{"kwh_day + true > 1", "'+' needs numbers, but the right side is a boolean"},
	{"kwh_day > \"5\"", "'>' compares numbers, but the right side is a string"},
	{"segment == 1", "'segment' (a symbol) is compared with a number; compare it with a "
	                 "string such as \"residential\""},
	{"segment == \"shop\"", "unknown segment 'shop' (expected one of: residential, commercial, "
	                        "industrial, agricultural)"},
	{"kwh_day == \"x\"", "a string can only be compared with a symbol feature such as "
	                     "'segment', not with 'kwh_day' (a number)"},
	{"confirmed_theft == 1", "'==' cannot compare 'confirmed_theft' (a boolean) with a number"},
	{"confirmed_theft < true", "'<' compares numbers, but the left side is 'confirmed_theft' "
	                           "(a boolean)"},
	{"kwh_day in [drop_days]", "list items must be constants"},
	{"confirmed_theft in [true]", "'in' needs a number or a symbol feature on its left, but it "
	                              "is 'confirmed_theft' (a boolean)"},
	{"min(kwh_day, true) > 1", "'min' needs numbers, but argument 2 is a boolean"},
	{"between(kwh_day, 1, 2) > 1", "'>' compares numbers, but the left side is a boolean"},
	{"kwh_day > 1e999", "number too long or too large"},
	{"kwh_day > 1e300 * 1e300", "this constant expression has no finite value"},
	{"kwh_day > 1 and not", "expected a value, got the end of the condition"},
	{"kwh_day > 1)", "expected an operator or the end of the condition, got ')'"},
	{"abs(kwh_day > 1", "expected ',' or ')', got the end of the condition"},
	{"kwh_day in [1, 2", "expected ',' or ']', got the end of the condition"},
	{"kwh_day > 1 or or", "expected a value, got 'or'"},
	{"kwh_day > 1 || drop_days > 1", "'||' is not an operator; use 'or'"},
	{"kwh_day ≥ 1", "unexpected character '≥'; names are ASCII letters, digits and '_'"},
	{"kwh_day > .5", "unexpected character '.'"},
	{"segment == \"a", "unterminated string"},
	{"kwh_day == 1 == 1", "comparisons do not chain; join them with 'and'"},
	{"kwh_day in 1", "expected a list [...] after 'in', got a number"},
};

Test(rules_lang, refused_conditions)
{
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		struct rules_diags diags = {0};
		struct ruleset *rs = load_when(refused[i].when, &diags);
		cr_assert_null(rs, "case %zu '%s' loaded", i, refused[i].when);
		cr_assert_geq(diags.count, 1);
		cr_expect_str_eq(diags.items[0].message, refused[i].message, "case %zu '%s'", i,
		                 refused[i].when);
		cr_expect_eq(diags.items[0].line, 11, "case %zu: the condition is on line 11", i);
		rules_diags_free(&diags);
	}
}

/* Parentheses nested past the limit are refused, not a stack overflow. */
Test(rules_lang, deep_nesting_refused)
{
	struct rbuf when = {0};
	for (int i = 0; i < 200; i++)
		rbuf_puts(&when, "(");
	rbuf_puts(&when, "kwh_day > 1");
	for (int i = 0; i < 200; i++)
		rbuf_puts(&when, ")");
	rbuf_append(&when, "", 1);
	struct rules_diags diags = {0};
	cr_assert_null(load_when(when.data, &diags));
	cr_assert_eq(diags.count, 1);
	cr_assert(strstr(diags.items[0].message, "nested too deeply") != NULL);
	rules_diags_free(&diags);

	/* A long flat chain is fine: and/or do not nest the stack. */
	rbuf_reset(&when);
	for (int i = 0; i < 300; i++)
		rbuf_printf(&when, "%skwh_day > %d", i ? " or " : "", i);
	rbuf_append(&when, "", 1);
	struct ruleset *rs = load_when(when.data, &diags);
	cr_assert_not_null(rs);
	struct feature_vec fv;
	feature_vec_clear(&fv);
	feature_set(&fv, FEAT_KWH_DAY, 150);
	unsigned missing = 0;
	cr_assert_eq(ruleset_rule_eval(rs, 0, &fv, &missing), 1);
	ruleset_free(rs);
	rbuf_free(&when);
}

/* The program an author sees: fused compare, forward jumps, folded constants. */
Test(rules_lang, compiled_form)
{
	struct rules_diags diags = {0};
	struct ruleset *rs = load_when(
		"drop_ratio_14d >= 0.5 and (3 < drop_days or segment in [\"industrial\"]) and "
		"kwh_day > 2 * 0.5 and between(zscore_day, -10, -4)",
		&diags);
	cr_assert_not_null(rs);
	struct rbuf out = {0};
	cr_assert_eq(ruleset_explain(rs, "r", &out), 0);
	rbuf_append(&out, "", 1);
	const char *program = strstr(out.data, "  program (10 instructions):\n");
	cr_assert_not_null(program, "%s", out.data);
	cr_assert_str_eq(program,
	                 "  program (10 instructions):\n"
	                 "      0  GE_F64_FK        drop_ratio_14d >= 0.5\n"
	                 "      1  JUMP_IF_FALSE    -> 9\n"
	                 "      2  GT_F64_FK        drop_days > 3\n"
	                 "      3  JUMP_IF_TRUE     -> 5\n"
	                 "      4  IN_SYM_F         segment in [\"industrial\"]\n"
	                 "      5  JUMP_IF_FALSE    -> 9\n"
	                 "      6  GT_F64_FK        kwh_day > 1\n"
	                 "      7  JUMP_IF_FALSE    -> 9\n"
	                 "      8  BETWEEN_F64_FKK  -10 <= zscore_day <= -4\n"
	                 "      9  RET              ; the rule fires when the value is 1\n");
	cr_assert_eq(ruleset_explain(rs, "nope", &out), RISKD_ERR_NOT_FOUND);
	rbuf_free(&out);
	ruleset_free(rs);
}
