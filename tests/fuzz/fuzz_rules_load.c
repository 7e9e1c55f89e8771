/*
 * fuzz_rules_load.c - libFuzzer target for the policy file loaders (rules/): YAML reading, the
 * schema, the condition lexer, parser, checker and compiler, the program verifier, the VM,
 * the test runner and the disassembler; and the scorecard loader on the same front end.
 *
 * An input is a rule file; an input starting with "#expr\n" is instead a condition, placed in
 * a one-rule file as a literal block (so the expression stages get most of the mutations);
 * every input is also loaded as a scorecard, under the same invariants on its diagnostics.
 * Aborts when an invariant breaks: a load that fails without diagnostics or succeeds with
 * some, a diagnostic with a bad position or shape, success that depends on the kind asked
 * for, a loaded program the verifier refuses, or evaluation that is not repeatable.
 * Seeds in tests/fuzz/corpus/rules, dictionary tests/fuzz/rules.dict. `make fuzz` builds it
 * (build/fuzz/fuzz_rules_load) and runs it for FUZZ_SECONDS; for a longer run:
 *
 *   build/fuzz/fuzz_rules_load build/fuzz/corpus/fuzz_rules_load tests/fuzz/corpus/rules \
 *     -dict=tests/fuzz/rules.dict -max_total_time=180
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules_int.h"
#include "rules/ruleset.h"
#include "rules/scorecard_load.h"
#include "fuzz_check.h"

#define PATH "fuzz.yaml"
#define EXPR_MARK "#expr\n"

static const char template_head[] =
	"ruleset: fuzz\nversion: \"1\"\nkind: theft\nthresholds: {alert: 10}\nrules:\n"
	"  - id: r\n    title: t\n    severity: low\n    score: 5\n    when: |\n";

/* Builds the rule file for an input: itself, or a template around a condition. */
static void make_file(const uint8_t *data, size_t size, struct rbuf *file)
{
	size_t mark = strlen(EXPR_MARK);
	if (size < mark || memcmp(data, EXPR_MARK, mark) != 0) {
		if (size)
			rbuf_append(file, data, size);
		return;
	}
	rbuf_puts(file, template_head);
	rbuf_puts(file, "      ");
	for (size_t i = mark; i < size; i++) {
		rbuf_append(file, &data[i], 1);
		if (data[i] == '\n')
			rbuf_puts(file, "      ");
	}
	rbuf_puts(file, "\n");
}

static void check_diags(const struct rules_diags *diags, const struct rbuf *file)
{
	size_t lines = 1;
	for (size_t i = 0; i < file->len; i++)
		lines += file->data[i] == '\n';
	CHECK(diags->count >= 1 && diags->count <= RULES_FILE_ERRORS_MAX + 1);
	for (size_t i = 0; i < diags->count; i++) {
		const struct rules_diag *d = &diags->items[i];
		CHECK(strcmp(d->path, PATH) == 0);
		CHECK(d->message && d->message[0]);
		CHECK(strncmp(d->text, PATH ":", strlen(PATH) + 1) == 0 ||
		      strncmp(d->text, PATH ": error: ", strlen(PATH) + 9) == 0);
		size_t len = strlen(d->text);
		CHECK(len > 0 && d->text[len - 1] == '\n');
		if (d->line == 0) {
			CHECK(d->col == 0);
			continue;
		}
		CHECK(d->line >= 1 && (size_t)d->line <= lines);
		CHECK(d->col >= 1);
		CHECK(len >= 2 && d->text[len - 2] == '^');
		/* Exactly three lines: header, source, caret. */
		int newlines = 0;
		for (size_t k = 0; k < len; k++)
			newlines += d->text[k] == '\n';
		CHECK(newlines == 3);
		if (i > 0 && diags->items[i - 1].line > 0)
			CHECK(diags->items[i - 1].line < d->line ||
			      (diags->items[i - 1].line == d->line && diags->items[i - 1].col <= d->col));
	}
}

static void exercise(const struct ruleset *rs, const uint8_t *data, size_t size)
{
	struct feature_vec fv;
	struct rule_hits hits, again;
	char errstr[160];
	for (size_t i = 0; i < ruleset_rule_count(rs); i++) {
		const struct rule_entry *r = &rs->rules[i];
		CHECK(rules_verify(rs->code.insns + r->prog_start, r->prog_len, rs->code.pool,
		                   rs->code.npool, errstr, sizeof errstr) == 0);
		CHECK(ruleset_rule(rs, i)->id[0]);
	}
	for (int round = 0; round < 3; round++) {
		feature_vec_clear(&fv);
		for (int f = 0; f < FEAT__COUNT && round > 0; f++) {
			uint8_t b = size ? data[(size_t)f * 7 % size] : 0;
			if (round == 1 || (b & 1))
				feature_set(&fv, (enum feature_id)f, (double)(b % 16) - 4.0);
		}
		int fired = ruleset_eval(rs, &fv, &hits);
		CHECK(fired == hits.n_fired);
		CHECK(hits.n_shadow_fired <= hits.n_fired);
		CHECK(ruleset_eval(rs, &fv, &again) == fired);
		CHECK(memcmp(hits.fired, again.fired, (size_t)fired * sizeof hits.fired[0]) == 0);
		CHECK(hits.missing_reads == again.missing_reads);
		for (uint16_t k = 0; k < hits.n_fired; k++)
			CHECK(hits.fired[k] < ruleset_rule_count(rs));
	}
	struct rbuf out = {0};
	size_t passed = 0, failed = 0;
	ruleset_tests_run(rs, &out, &passed, &failed);
	CHECK((failed == 0) == (out.len == 0));
	rbuf_reset(&out);
	CHECK(ruleset_explain(rs, NULL, &out) == 0);
	CHECK(ruleset_rule_count(rs) == 0 || out.len > 0);
	rbuf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	struct rbuf file = {0};
	make_file(data, size, &file);
	struct rules_diags diags = {0};
	struct ruleset *theft = NULL, *credit = NULL;
	int rc = ruleset_load_text(PATH, file.data ? file.data : "", file.len, RULE_KIND_THEFT,
	                           &theft, &diags);
	CHECK((rc == 0) == (theft != NULL));
	CHECK((rc == 0) == (diags.count == 0));
	if (rc != 0) {
		CHECK(rc == RISKD_ERR_INVALID);
		check_diags(&diags, &file);
		struct rbuf text = {0};
		rules_diags_render(&diags, &text);
		CHECK(text.len > 0);
		rbuf_free(&text);
	} else {
		CHECK(ruleset_load_text(PATH, file.data ? file.data : "", file.len, RULE_KIND_CREDIT,
		                        &credit, &diags) == 0);
		CHECK(strlen(ruleset_hash(theft)) == 16);
		exercise(theft, data, size);
		exercise(credit, data, size);
	}
	ruleset_free(theft);
	ruleset_free(credit);
	rules_diags_free(&diags);

	struct scorecard *card = NULL;
	rc = scorecard_load_text(PATH, (const char *)data, size, &card, &diags);
	CHECK((rc == 0) == (card != NULL));
	CHECK((rc == 0) == (diags.count == 0));
	if (rc != 0) {
		struct rbuf raw = {0};
		rbuf_append(&raw, data, size);
		check_diags(&diags, &raw);
		rbuf_free(&raw);
	} else {
		CHECK(strlen(scorecard_hash(card)) == 16);
	}
	scorecard_free(card);
	rules_diags_free(&diags);
	rbuf_free(&file);
	return 0;
}
