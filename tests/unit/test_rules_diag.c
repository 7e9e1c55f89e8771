/*
 * test_rules_diag.c - Criterion suite for the rule loader's diagnostics: for every error class
 * a bad rule file under tests/unit/data/rules/ and, beside it, the exact text riskd must print
 * (path:line:col: error: message, the source line, the caret), compared byte for byte; plus
 * the properties every diagnostic list has (sorted, capped, no rule set on any error).
 *
 * Runs from the repository root (make test-unit does): fixtures are read by relative path,
 * which is also the path the expected texts name.
 */
#include "config/riskd_base.h"
#include "rules/ruleset.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DATA "tests/unit/data/rules/"

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	cr_assert_not_null(fp, "cannot open %s", path);
	struct rbuf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		rbuf_append(&b, chunk, n);
	fclose(fp);
	rbuf_append(&b, "", 1);
	if (len)
		*len = b.len - 1;
	return b.data;
}

/* Loads DATA name (a file or directory) and compares the rendered diagnostics with
 * DATA stem.expected. */
static void expect_golden(const char *name)
{
	char path[256], expected_path[256];
	snprintf(path, sizeof path, DATA "%s", name);
	const char *dot = strrchr(name, '.');
	snprintf(expected_path, sizeof expected_path, DATA "%.*s.expected",
	         (int)(dot ? (size_t)(dot - name) : strlen(name)), name);
	char *expected = slurp(expected_path, NULL);

	for (int kind = 0; kind < RULE_KIND__COUNT; kind++) {
		struct rules_diags diags = {0};
		struct ruleset *rs = NULL;
		const char *paths[] = {path};
		int rc = ruleset_load_paths(paths, 1, (enum rule_kind)kind, &rs, &diags);
		cr_assert_eq(rc, RISKD_ERR_INVALID, "%s loaded", name);
		cr_assert_null(rs);
		cr_assert_gt(diags.count, 0);
		struct rbuf text = {0};
		rules_diags_render(&diags, &text);
		rbuf_append(&text, "", 1);
		cr_assert_str_eq(text.data, expected, "%s: diagnostics differ:\n%s", name, text.data);
		rbuf_free(&text);
		rules_diags_free(&diags);
	}
	free(expected);
}

TestSuite(rules_diag);

Test(rules_diag, yaml_syntax_error) { expect_golden("bad_yaml_syntax.yaml"); }
Test(rules_diag, invalid_utf8) { expect_golden("bad_utf8.yaml"); }
Test(rules_diag, empty_file) { expect_golden("bad_empty.yaml"); }
Test(rules_diag, anchors_and_aliases) { expect_golden("bad_anchor.yaml"); }
Test(rules_diag, unknown_keys_at_every_level) { expect_golden("bad_unknown_key.yaml"); }
Test(rules_diag, missing_file_keys) { expect_golden("bad_missing_key.yaml"); }
Test(rules_diag, missing_rule_and_test_keys) { expect_golden("bad_missing_rule_key.yaml"); }
Test(rules_diag, wrong_node_types) { expect_golden("bad_structure.yaml"); }
Test(rules_diag, duplicate_id_in_file) { expect_golden("bad_duplicate_id.yaml"); }
Test(rules_diag, duplicate_id_across_files) { expect_golden("dup_dir"); }
Test(rules_diag, unknown_features_with_suggestions) { expect_golden("bad_unknown_feature.yaml"); }
Test(rules_diag, unknown_symbols) { expect_golden("bad_symbol.yaml"); }
Test(rules_diag, type_mismatches) { expect_golden("bad_type.yaml"); }
Test(rules_diag, functions_and_arity) { expect_golden("bad_function.yaml"); }
Test(rules_diag, bad_severity) { expect_golden("bad_severity.yaml"); }
Test(rules_diag, bad_mode) { expect_golden("bad_mode.yaml"); }
Test(rules_diag, kind_specific_keys) { expect_golden("bad_kind.yaml"); }
Test(rules_diag, bad_kind_name_version) { expect_golden("bad_kind_value.yaml"); }
Test(rules_diag, tests_naming_unknown_features) { expect_golden("bad_test_feature.yaml"); }
Test(rules_diag, expression_syntax) { expect_golden("bad_expr_syntax.yaml"); }
Test(rules_diag, positions_in_literal_block) { expect_golden("bad_block_literal.yaml"); }
Test(rules_diag, positions_in_folded_block) { expect_golden("bad_folded.yaml"); }
Test(rules_diag, positions_in_quoted_scalars) { expect_golden("bad_quoted.yaml"); }
Test(rules_diag, positions_with_crlf_line_ends) { expect_golden("bad_crlf.yaml"); }
Test(rules_diag, error_cap) { expect_golden("bad_many.yaml"); }

/* The structured fields agree with the rendered text, and a file's errors come in order. */
Test(rules_diag, fields_match_text_and_are_sorted)
{
	const char *paths[] = {DATA "bad_missing_rule_key.yaml", DATA "bad_type.yaml"};
	struct rules_diags diags = {0};
	struct ruleset *rs = NULL;
	cr_assert_eq(ruleset_load_paths(paths, 2, RULE_KIND_THEFT, &rs, &diags), RISKD_ERR_INVALID);
	cr_assert_eq(diags.count, 6 + 11);
	for (size_t i = 0; i < diags.count; i++) {
		const struct rules_diag *d = &diags.items[i];
		char prefix[512];
		snprintf(prefix, sizeof prefix, "%s:%d:%d: error: %s\n", d->path, d->line, d->col,
		         d->message);
		cr_assert_eq(strncmp(d->text, prefix, strlen(prefix)), 0, "%s", d->text);
		if (i > 0 && strcmp(diags.items[i - 1].path, d->path) == 0) {
			const struct rules_diag *p = &diags.items[i - 1];
			cr_assert(p->line < d->line || (p->line == d->line && p->col <= d->col));
		}
	}
	cr_assert_str_eq(diags.items[0].path, paths[0]);
	cr_assert_str_eq(diags.items[6].path, paths[1]);
	rules_diags_free(&diags);
	cr_assert_eq(diags.count, 0);
}

Test(rules_diag, cap_counts_fifty_then_one_notice)
{
	const char *paths[] = {DATA "bad_many.yaml"};
	struct rules_diags diags = {0};
	struct ruleset *rs = NULL;
	ruleset_load_paths(paths, 1, RULE_KIND_THEFT, &rs, &diags);
	cr_assert_eq(diags.count, RULES_FILE_ERRORS_MAX + 1);
	cr_assert_eq(diags.items[RULES_FILE_ERRORS_MAX].line, 0);
	cr_assert_eq(diags.items[RULES_FILE_ERRORS_MAX - 1].line, 129);
	rules_diags_free(&diags);
}

Test(rules_diag, unreadable_paths)
{
	const char *paths[] = {DATA "no_such_file.yaml"};
	struct rules_diags diags = {0};
	struct ruleset *rs = NULL;
	cr_assert_eq(ruleset_load_paths(paths, 1, RULE_KIND_THEFT, &rs, &diags), RISKD_ERR_INVALID);
	cr_assert_null(rs);
	cr_assert_eq(diags.count, 1);
	cr_assert_str_eq(diags.items[0].text, DATA "no_such_file.yaml: error: cannot read: No such "
	                                      "file or directory\n");
	cr_assert_eq(diags.items[0].line, 0);
	rules_diags_free(&diags);

	/* A directory without rule files is an error too (it is probably the wrong one). */
	char dir[] = "/tmp/riskd_test_rules_XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	const char *dirs[] = {dir};
	rs = NULL;
	int rc = ruleset_load_paths(dirs, 1, RULE_KIND_THEFT, &rs, &diags);
	rmdir(dir);
	cr_assert_eq(rc, RISKD_ERR_INVALID);
	cr_assert_null(rs);
	cr_assert_eq(diags.count, 1);
	char expected[128];
	snprintf(expected, sizeof expected, "%s: error: no rule files (*.yaml) in this directory\n",
	         dir);
	cr_assert_str_eq(diags.items[0].text, expected);
	rules_diags_free(&diags);

	/* No paths at all. */
	cr_assert_eq(ruleset_load_paths(NULL, 0, RULE_KIND_THEFT, &rs, &diags), RISKD_ERR_INVALID);
	cr_assert_eq(diags.count, 1);
	rules_diags_free(&diags);
}

/* One bad file among good ones fails the whole load: a directory is one unit. */
Test(rules_diag, one_bad_file_fails_the_set)
{
	const char *paths[] = {"rules/theft.yaml", "rules/credit.yaml", DATA "bad_mode.yaml"};
	struct rules_diags diags = {0};
	struct ruleset *rs = (struct ruleset *)&diags;
	cr_assert_eq(ruleset_load_paths(paths, 3, RULE_KIND_CREDIT, &rs, &diags), RISKD_ERR_INVALID);
	cr_assert_null(rs);
	cr_assert_eq(diags.count, 2);
	rules_diags_free(&diags);
}

/* Loading from memory reports the same text as loading the file. */
Test(rules_diag, text_and_path_loads_agree)
{
	size_t len;
	char *text = slurp(DATA "bad_block_literal.yaml", &len);
	char *expected = slurp(DATA "bad_block_literal.expected", NULL);
	struct rules_diags diags = {0};
	struct ruleset *rs = NULL;
	cr_assert_eq(ruleset_load_text(DATA "bad_block_literal.yaml", text, len, RULE_KIND_THEFT,
	                               &rs, &diags),
	             RISKD_ERR_INVALID);
	struct rbuf out = {0};
	rules_diags_render(&diags, &out);
	rbuf_append(&out, "", 1);
	cr_assert_str_eq(out.data, expected);
	rbuf_free(&out);
	rules_diags_free(&diags);
	free(text);
	free(expected);
}
