/*
 * test_rules_set.c - Criterion suite for loaded rule sets: the shipped rules/theft.yaml and
 * rules/credit.yaml load and pass their own tests; names, versions and the content hash;
 * evaluation sums (score, alert, shadow rules, credit caps and floors, missing reads); the
 * test runner's failure lines; a failed reload leaves the old set usable; evaluation allocates
 * nothing and can run on several threads; and the program verifier refuses malformed code.
 *
 * Runs from the repository root (make test-unit does).
 */
#include "config/riskd_base.h"
#include "rules/rules_int.h"
#include "rules/ruleset.h"
#include "scoring/features.h"

#include <criterion/criterion.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- allocation counter: malloc, calloc and realloc of this process are counted while
 * counting is on. AddressSanitizer and valgrind supply their own allocators, so the count is
 * off there (the test then skips). ---- */

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ALLOC_COUNT 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ALLOC_COUNT 0
#endif
#endif
#ifndef HAVE_ALLOC_COUNT
#define HAVE_ALLOC_COUNT 1
#endif

#if HAVE_ALLOC_COUNT
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t nmemb, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
static volatile int alloc_counting;
static volatile size_t alloc_count;

void *malloc(size_t size)
{
	if (alloc_counting)
		alloc_count++;
	return __libc_malloc(size);
}

void *calloc(size_t nmemb, size_t size)
{
	if (alloc_counting)
		alloc_count++;
	return __libc_calloc(nmemb, size);
}

void *realloc(void *ptr, size_t size)
{
	if (alloc_counting)
		alloc_count++;
	return __libc_realloc(ptr, size);
}
#endif

static struct ruleset *load_ok(const char *const *paths, size_t n, enum rule_kind kind)
{
	struct rules_diags diags = {0};
	struct ruleset *rs = NULL;
	int rc = ruleset_load_paths(paths, n, kind, &rs, &diags);
	struct rbuf text = {0};
	rules_diags_render(&diags, &text);
	rbuf_append(&text, "", 1);
	cr_assert_eq(rc, 0, "load failed:\n%s", text.data);
	cr_assert_not_null(rs);
	rbuf_free(&text);
	rules_diags_free(&diags);
	return rs;
}

static struct ruleset *load_text_ok(const char *text, enum rule_kind kind)
{
	struct rules_diags diags = {0};
	struct ruleset *rs = NULL;
	int rc = ruleset_load_text("mem.yaml", text, strlen(text), kind, &rs, &diags);
	struct rbuf out = {0};
	rules_diags_render(&diags, &out);
	rbuf_append(&out, "", 1);
	cr_assert_eq(rc, 0, "load failed:\n%s", out.data);
	rbuf_free(&out);
	rules_diags_free(&diags);
	return rs;
}

TestSuite(rules_set);

/* ---- the shipped rule sets ---- */

Test(rules_set, shipped_rules_load_and_pass_their_tests)
{
	const char *paths[] = {"rules"};
	for (int k = 0; k < RULE_KIND__COUNT; k++) {
		struct ruleset *rs = load_ok(paths, 1, (enum rule_kind)k);
		struct rbuf failures = {0};
		size_t passed = 0, failed = 0;
		int rc = ruleset_tests_run(rs, &failures, &passed, &failed);
		rbuf_append(&failures, "", 1);
		cr_assert_eq(rc, 0, "%s", failures.data);
		cr_assert_eq(failed, 0);
		cr_assert_geq(passed, 2 * ruleset_rule_count(rs));
		rbuf_free(&failures);
		ruleset_free(rs);
	}
}

Test(rules_set, shipped_theft_rules_cover_the_patterns)
{
	const char *paths[] = {"rules/theft.yaml"};
	struct ruleset *rs = load_ok(paths, 1, RULE_KIND_THEFT);
	cr_assert_geq(ruleset_rule_count(rs), 10);
	cr_assert_str_eq(ruleset_name(rs), "theft-core");
	cr_assert_gt(ruleset_alert_threshold(rs), 0);
	/* Every theft pattern of the design is read by some rule. */
	static const enum feature_id needed[] = {
		FEAT_DROP_RATIO_14D, FEAT_CUSUM_DROP,    FEAT_ZERO_RUN_DAYS,     FEAT_FLAT_RUN_DAYS,
		FEAT_TAMPER_EVENTS_30D, FEAT_REVERSE_KWH_30D, FEAT_PEER_RATIO,    FEAT_AREA_LOSS_EXCESS,
		FEAT_AREA_SUSPECT_SHARE, FEAT_NIGHT_RATIO_CHANGE,
	};
	struct rbuf all = {0};
	ruleset_explain(rs, NULL, &all);
	rbuf_append(&all, "", 1);
	for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
		char pattern[64];
		snprintf(pattern, sizeof pattern, " %s (", feature_def(needed[i])->name);
		cr_expect(strstr(all.data, pattern) != NULL, "no rule reads %s",
		          feature_def(needed[i])->name);
	}
	rbuf_free(&all);
	/* Combination rules: at least one rule reads three or more features. */
	int combined = 0;
	for (size_t i = 0; i < ruleset_rule_count(rs); i++)
		combined |= ruleset_rule(rs, i)->n_evidence >= 3;
	cr_assert(combined);
	ruleset_free(rs);
}

Test(rules_set, shipped_credit_caps)
{
	const char *paths[] = {"rules/credit.yaml"};
	struct ruleset *rs = load_ok(paths, 1, RULE_KIND_CREDIT);
	int idx = ruleset_rule_find(rs, "confirmed_theft");
	cr_assert_geq(idx, 0);
	cr_assert_eq(ruleset_rule(rs, (size_t)idx)->cap, RULE_GRADE_C);
	struct feature_vec fv;
	struct rule_hits hits;
	feature_vec_clear(&fv);
	feature_set(&fv, FEAT_REVERSALS_12M, 1);
	feature_set(&fv, FEAT_TENURE_MONTHS, 100);
	feature_set(&fv, FEAT_BILLS_12M, 12);
	feature_set(&fv, FEAT_DAYS_SINCE_REVERSAL, 90);
	ruleset_eval(rs, &fv, &hits);
	cr_assert_eq(hits.cap, RULE_GRADE_NONE, "a reversal 90 days back no longer caps");
	feature_set(&fv, FEAT_DAYS_SINCE_REVERSAL, 89);
	ruleset_eval(rs, &fv, &hits);
	cr_assert_eq(hits.cap, RULE_GRADE_B);
	feature_set(&fv, FEAT_CONFIRMED_THEFT, 1);
	ruleset_eval(rs, &fv, &hits);
	cr_assert_eq(hits.cap, RULE_GRADE_C);
	cr_assert_eq(hits.alert, 0, "credit sets raise no alerts");
	ruleset_free(rs);
}

/* ---- names, versions, hash ---- */

static uint64_t fnv_file(uint64_t h, const char *text, size_t len)
{
	for (int i = 0; i < 8; i++) {
		h ^= (unsigned char)((uint64_t)len >> (8 * i));
		h *= 0x100000001b3ULL;
	}
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)text[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static const char small_theft[] =
	"ruleset: small\n"
	"version: \"7\"\n"
	"kind: theft\n"
	"thresholds: {alert: 50}\n"
	"rules:\n"
	"  - {id: drop, title: Drop, when: drop_ratio_14d >= 0.5, score: 30, severity: high}\n"
	"  - {id: zero, title: Zero, when: zero_run_days >= 7, score: 25, severity: high,\n"
	"     evidence: [zero_run_days, baseline_kwh_day]}\n"
	"  - {id: night, title: Night, when: night_ratio_change >= 0.2, score: 40, severity: low,\n"
	"     mode: shadow}\n";

Test(rules_set, hash_is_fnv1a_of_length_and_bytes)
{
	struct ruleset *rs = load_text_ok(small_theft, RULE_KIND_THEFT);
	char want[17];
	snprintf(want, sizeof want, "%016llx",
	         (unsigned long long)fnv_file(0xcbf29ce484222325ULL, small_theft,
	                                      strlen(small_theft)));
	cr_assert_str_eq(ruleset_hash(rs), want);
	cr_assert_str_eq(ruleset_name(rs), "small");
	cr_assert_str_eq(ruleset_version(rs), "7");
	cr_assert_eq(ruleset_kind(rs), RULE_KIND_THEFT);

	/* The same bytes under another path hash the same; one changed byte does not. */
	struct rules_diags diags = {0};
	struct ruleset *other = NULL;
	cr_assert_eq(ruleset_load_text("elsewhere/x.yaml", small_theft, strlen(small_theft),
	                               RULE_KIND_THEFT, &other, &diags),
	             0);
	cr_assert_str_eq(ruleset_hash(other), ruleset_hash(rs));
	ruleset_free(other);
	char *changed = strdup(small_theft);
	*strstr(changed, "0.5") = '1';
	cr_assert_eq(ruleset_load_text("mem.yaml", changed, strlen(changed), RULE_KIND_THEFT,
	                               &other, &diags),
	             0);
	cr_assert_str_neq(ruleset_hash(other), ruleset_hash(rs));
	ruleset_free(other);
	free(changed);
	ruleset_free(rs);
}

static char scratch_dir[64];

static void write_file(const char *name, const char *text)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", scratch_dir, name);
	FILE *fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void remove_scratch(void)
{
	static const char *const names[] = {"a.yaml", "b.yml", "c.yaml", "skip.txt", ".hidden.yaml"};
	char path[128];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", scratch_dir, names[i]);
		unlink(path);
	}
	rmdir(scratch_dir);
}

Test(rules_set, directory_is_one_set_per_kind)
{
	snprintf(scratch_dir, sizeof scratch_dir, "/tmp/riskd_test_rules_XXXXXX");
	cr_assert_not_null(mkdtemp(scratch_dir));
	const char *a = "ruleset: core\nversion: \"1\"\nkind: theft\nthresholds: {alert: 10}\n"
	                "rules:\n  - {id: a1, title: A, when: kwh_day < 1, score: 5, severity: low}\n";
	const char *b = "ruleset: extra\nversion: \"2\"\nkind: theft\nthresholds: {alert: 10}\n"
	                "rules:\n  - {id: b1, title: B, when: kwh_day < 2, score: 5, severity: low}\n";
	const char *c = "ruleset: core\nversion: \"3\"\nkind: credit\n"
	                "rules:\n  - {id: c1, title: C, when: days_past_due > 1, cap: B}\n";
	write_file("a.yaml", a);
	write_file("b.yml", b);
	write_file("c.yaml", c);
	write_file("skip.txt", "not yaml");
	write_file(".hidden.yaml", "not: [valid");
	const char *paths[] = {scratch_dir};
	struct ruleset *theft = load_ok(paths, 1, RULE_KIND_THEFT);
	struct ruleset *credit = load_ok(paths, 1, RULE_KIND_CREDIT);
	remove_scratch();

	cr_assert_eq(ruleset_rule_count(theft), 2);
	cr_assert_str_eq(ruleset_rule(theft, 0)->id, "a1");
	cr_assert_str_eq(ruleset_rule(theft, 1)->id, "b1");
	cr_assert_str_eq(ruleset_name(theft), "core+extra");
	cr_assert_str_eq(ruleset_version(theft), "1+2");
	char want[17];
	snprintf(want, sizeof want, "%016llx",
	         (unsigned long long)fnv_file(fnv_file(0xcbf29ce484222325ULL, a, strlen(a)), b,
	                                      strlen(b)));
	cr_assert_str_eq(ruleset_hash(theft), want, "theft hash covers a.yaml then b.yml only");

	cr_assert_eq(ruleset_rule_count(credit), 1);
	cr_assert_str_eq(ruleset_name(credit), "core");
	cr_assert_str_eq(ruleset_version(credit), "3");
	cr_assert_eq(ruleset_alert_threshold(credit), 0);
	cr_assert(strstr(ruleset_rule(credit, 0)->path, "/c.yaml") != NULL);
	ruleset_free(theft);
	ruleset_free(credit);
}

Test(rules_set, kind_without_files_is_empty)
{
	struct ruleset *rs = load_text_ok(small_theft, RULE_KIND_CREDIT);
	cr_assert_eq(ruleset_rule_count(rs), 0);
	cr_assert_str_eq(ruleset_name(rs), "");
	struct feature_vec fv;
	struct rule_hits hits;
	feature_vec_clear(&fv);
	cr_assert_eq(ruleset_eval(rs, &fv, &hits), 0);
	cr_assert_eq(hits.cap, RULE_GRADE_NONE);
	ruleset_free(rs);
}

/* ---- evaluation ---- */

Test(rules_set, eval_sums_active_rules_and_flags_shadow_ones)
{
	struct ruleset *rs = load_text_ok(small_theft, RULE_KIND_THEFT);
	struct feature_vec fv;
	struct rule_hits hits;
	feature_vec_clear(&fv);

	/* Nothing known: nothing fires, every comparison is a missing read. */
	cr_assert_eq(ruleset_eval(rs, &fv, &hits), 0);
	cr_assert_eq(hits.missing_reads, 3);
	cr_assert_eq(hits.missing[0], 1);
	cr_assert_eq(hits.alert, 0);

	/* drop (30) alone stays under the threshold (50); the shadow rule adds nothing. */
	feature_set(&fv, FEAT_DROP_RATIO_14D, 0.6);
	feature_set(&fv, FEAT_NIGHT_RATIO_CHANGE, 0.5);
	cr_assert_eq(ruleset_eval(rs, &fv, &hits), 2);
	cr_assert_eq(hits.n_fired, 2);
	cr_assert_eq(hits.fired[0], 0);
	cr_assert_eq(hits.fired[1], 2);
	cr_assert_eq(hits.n_shadow_fired, 1);
	cr_assert_float_eq(hits.score, 30, 1e-9);
	cr_assert_float_eq(hits.shadow_score, 40, 1e-9);
	cr_assert_eq(hits.alert, 0);
	cr_assert_eq(hits.missing_reads, 1);
	cr_assert_eq(hits.missing[1], 1);

	/* drop + zero = 55 >= 50: alert. */
	feature_set(&fv, FEAT_ZERO_RUN_DAYS, 9);
	cr_assert_eq(ruleset_eval(rs, &fv, &hits), 3);
	cr_assert_float_eq(hits.score, 55, 1e-9);
	cr_assert_eq(hits.alert, 1);
	cr_assert_eq(hits.missing_reads, 0);

	/* Metadata for the alert's reasons. */
	const struct rule_info *zero = ruleset_rule(rs, 1);
	cr_assert_str_eq(zero->id, "zero");
	cr_assert_eq(zero->severity, RULE_SEV_HIGH);
	cr_assert_eq(zero->mode, RULE_MODE_ACTIVE);
	cr_assert_eq(zero->n_evidence, 2);
	cr_assert_eq(zero->evidence[0], FEAT_ZERO_RUN_DAYS);
	cr_assert_eq(zero->evidence[1], FEAT_BASELINE_KWH_DAY);
	cr_assert_eq(zero->line, 7);
	const struct rule_info *drop = ruleset_rule(rs, 0);
	cr_assert_eq(drop->n_evidence, 1, "evidence defaults to the features read");
	cr_assert_eq(drop->evidence[0], FEAT_DROP_RATIO_14D);
	cr_assert_eq(ruleset_rule(rs, 2)->mode, RULE_MODE_SHADOW);
	cr_assert_eq(ruleset_rule_find(rs, "night"), 2);
	cr_assert_eq(ruleset_rule_find(rs, "none"), -1);
	ruleset_free(rs);
}

/* ---- bounds with features not known yet ---- */

/* Two own rules, three that read the area (area_*), one with a negative score, one shadow. */
static const char bound_theft[] =
	"ruleset: bound\n"
	"version: \"1\"\n"
	"kind: theft\n"
	"thresholds: {alert: 50}\n"
	"rules:\n"
	"  - {id: drop, title: Drop, when: drop_ratio_14d >= 0.5, score: 30, severity: high}\n"
	"  - {id: zero, title: Zero, when: zero_run_days >= 7, score: 25, severity: high}\n"
	"  - {id: area_drop, title: Area drop,\n"
	"     when: area_loss_excess >= 0.05 and drop_ratio_14d >= 0.25 and kwh_day < 10,\n"
	"     score: 30, severity: high}\n"
	"  - {id: area_any, title: Area any, when: area_attrib_z >= 6 or kwh_day < 1, score: 15,\n"
	"     severity: low}\n"
	"  - {id: area_honest, title: Area honest, when: area_loss_rate < 0.01, score: -40,\n"
	"     severity: low}\n"
	"  - {id: area_shadow, title: Area shadow, when: area_attrib_z >= 1, score: 90,\n"
	"     severity: low, mode: shadow}\n";

static void area_unknown(uint64_t *unknown)
{
	memset(unknown, 0, RULES_FEATURE_WORDS * sizeof(uint64_t));
	for (int f = 0; f < FEAT__COUNT; f++)
		if (strncmp(feature_def((enum feature_id)f)->name, "area_", 5) == 0)
			unknown[f / 64] |= (uint64_t)1 << (f % 64);
}

Test(rules_set, a_bound_decides_the_rules_that_read_no_unknown_feature)
{
	struct ruleset *rs = load_text_ok(bound_theft, RULE_KIND_THEFT);
	uint64_t unknown[RULES_FEATURE_WORDS];
	area_unknown(unknown);
	struct feature_vec fv;
	struct rule_hits hits, plain;
	struct rule_bound bound;

	/* an honest day: area_drop is closed by its own operand, area_any stays open (an `or`
	 * reads the area as a whole): 15 < 50, final */
	feature_vec_clear(&fv);
	feature_set(&fv, FEAT_DROP_RATIO_14D, 0.1);
	feature_set(&fv, FEAT_KWH_DAY, 8);
	cr_assert_eq(ruleset_eval_bound(rs, &fv, NULL, unknown, &hits, &bound), 0);
	cr_assert_eq(bound.may_alert, 0);
	cr_assert_eq(bound.open, 2, "area_any and area_honest are open");
	cr_assert_float_eq(bound.reach, 15, 1e-9);
	/* hits are ruleset_eval's on the same vector */
	ruleset_eval(rs, &fv, &plain);
	cr_assert_eq(hits.n_fired, plain.n_fired);
	cr_assert_eq(hits.missing_reads, plain.missing_reads);
	cr_assert_float_eq(hits.score, plain.score, 0);

	/* a drop of 0.3 opens area_drop: 30 + 15 = 45, still final */
	feature_set(&fv, FEAT_DROP_RATIO_14D, 0.3);
	cr_assert_eq(ruleset_eval_bound(rs, &fv, NULL, unknown, &hits, &bound), 0);
	cr_assert_float_eq(bound.reach, 45, 1e-9);
	cr_assert_eq(bound.open, 3);

	/* a drop of 0.6 fires drop (30): 30 + 30 + 15 = 75 may alert; area_honest (-40) may
	 * lower it, which the bound leaves out */
	feature_set(&fv, FEAT_DROP_RATIO_14D, 0.6);
	cr_assert_eq(ruleset_eval_bound(rs, &fv, NULL, unknown, &hits, &bound), 1);
	cr_assert_float_eq(bound.reach, 75, 1e-9);
	cr_assert_float_eq(hits.score, 30, 1e-9);
	cr_assert_eq(hits.alert, 0);

	/* kwh_day 12 closes area_drop again (an operand of its own): 30 + 15 = 45, final */
	feature_set(&fv, FEAT_KWH_DAY, 12);
	cr_assert_eq(ruleset_eval_bound(rs, &fv, NULL, unknown, &hits, &bound), 0);
	cr_assert_float_eq(bound.reach, 45, 1e-9);

	/* drop and zero alert on their own, whatever the area says: may alert */
	feature_set(&fv, FEAT_ZERO_RUN_DAYS, 9);
	cr_assert_eq(ruleset_eval_bound(rs, &fv, NULL, unknown, &hits, &bound), 1);
	cr_assert_eq(hits.alert, 1);

	/* nothing unknown: the bound is the evaluation itself */
	uint64_t none[RULES_FEATURE_WORDS] = {0};
	feature_set(&fv, FEAT_AREA_LOSS_RATE, 0.005);
	cr_assert_eq(ruleset_eval_bound(rs, &fv, NULL, none, &hits, &bound), 0,
	             "30 + 25 - 40 = 15: area_honest fired");
	cr_assert_eq(bound.open, 0);
	cr_assert_float_eq(bound.reach, hits.score, 0, "the rules that fired, in rule order");
	cr_assert_float_eq(bound.reach, 15, 1e-9);
	ruleset_free(rs);
}

/* A theft set alerting at 50: `own` (zero_run_days >= 7, 60), `lower` (an area rule scoring
 * `lower`), then the rules of `more` (YAML list items). */
static struct ruleset *own_and_lower(int lower, const char *more)
{
	char text[1024];
	snprintf(text, sizeof(text),
	         "ruleset: neg\nversion: \"1\"\nkind: theft\nthresholds: {alert: 50}\nrules:\n"
	         "  - {id: own, title: Own, when: zero_run_days >= 7, score: 60, severity: high}\n"
	         "  - {id: lower, title: Lower, when: area_loss_rate < 0.01, score: %d,"
	         " severity: low}\n%s",
	         lower, more);
	return load_text_ok(text, RULE_KIND_THEFT);
}

/* An open rule with a negative score can only lower the score: the bound leaves it out of
 * reach (with nothing else able to fire the day is final) and counts it in least, the score
 * a day must keep to alert whatever the area says. */
Test(rules_set, an_open_rule_with_a_negative_score_only_lowers_the_bound)
{
	struct ruleset *rs = own_and_lower(-20, "");
	uint64_t unknown[RULES_FEATURE_WORDS];
	area_unknown(unknown);
	struct feature_vec fv;
	struct rule_hits hits;
	struct rule_bound bound;
	feature_vec_clear(&fv);
	cr_assert_eq(ruleset_eval_bound(rs, &fv, NULL, unknown, &hits, &bound), 0);
	cr_assert_eq(bound.open, 1);
	cr_assert_float_eq(bound.reach, 0, 0);
	feature_set(&fv, FEAT_ZERO_RUN_DAYS, 9);
	cr_assert_eq(ruleset_eval_bound(rs, &fv, NULL, unknown, &hits, &bound), 1,
	             "60 alerts unless the area lowers it");
	cr_assert_float_eq(bound.reach, 60, 1e-9);
	cr_assert_float_eq(bound.least, 40, 1e-9);
	cr_assert_not(bound.must_alert, "the area may lower it to 40");
	ruleset_free(rs);

	/* must_alert: a decided rule fired and even the open rules that lower the score leave
	 * it at the threshold; the decided hits keep only the rules that read nothing unknown */
	rs = own_and_lower(-5, "  - {id: not_area, title: Not area,"
	                       " when: not (area_loss_rate > 0.5), score: 30, severity: medium}\n");
	feature_vec_clear(&fv);
	cr_assert_eq(ruleset_eval_bound(rs, &fv, NULL, unknown, &hits, &bound), 0,
	             "only not_area (30) may fire");
	cr_assert_not(bound.must_alert);
	feature_set(&fv, FEAT_ZERO_RUN_DAYS, 9);
	cr_assert_eq(ruleset_eval_bound(rs, &fv, NULL, unknown, &hits, &bound), 1);
	cr_assert(bound.must_alert, "60 - 5 = 55 >= 50 whatever the area says");
	cr_assert_float_eq(bound.least, 55, 1e-9);
	cr_assert_float_eq(bound.reach, 90, 1e-9);
	cr_assert_eq(hits.n_fired, 2, "own and not_area (the area missing) fired");
	ruleset_hits_keep_decided(rs, unknown, &hits);
	cr_assert_eq(hits.n_fired, 1);
	cr_assert_eq(hits.fired[0], 0);
	cr_assert_float_eq(hits.score, 60, 1e-9);
	cr_assert(hits.alert);
	ruleset_free(rs);
}

/* The bound holds for the shipped rules: on vectors whose own features vary, no completion
 * of the area's features alerts when the bound says it cannot, nor scores above reach. */
Test(rules_set, the_shipped_rules_never_alert_past_their_bound)
{
	const char *paths[] = {"rules"};
	struct ruleset *rs = load_ok(paths, 1, RULE_KIND_THEFT);
	uint64_t unknown[RULES_FEATURE_WORDS];
	area_unknown(unknown);
	uint64_t seed = 88172645463325252ull;
	size_t final = 0, open = 0;
	for (int i = 0; i < 4000; i++) {
		struct feature_vec own, full;
		struct rule_hits hits;
		struct rule_bound bound;
		feature_vec_clear(&own);
		for (int f = 0; f < FEAT__COUNT; f++) {
			seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
			if (!((unknown[f / 64] >> (f % 64)) & 1) && seed % 5)
				feature_set(&own, (enum feature_id)f, (double)(seed >> 11 & 1023) / 100.0 - 1);
		}
		/* own features near the rules' thresholds half of the time */
		if (i % 2) {
			feature_set(&own, FEAT_DROP_RATIO_14D, 0.1 * (i % 10));
			feature_set(&own, FEAT_KWH_AVG_7D, 2.4);
			feature_set(&own, FEAT_KWH_AVG_14D, 2.5);
			feature_set(&own, FEAT_KWH_DAY, 2.6);
			feature_set(&own, FEAT_BASELINE_KWH_DAY, 6.2);
			feature_set(&own, FEAT_STEP_DROP_RATIO, 0.5);
			feature_set(&own, FEAT_STEP_DAYS, 9);
		}
		int may = ruleset_eval_bound(rs, &own, NULL, unknown, &hits, &bound);
		final += !may;
		open += (size_t)may;
		for (int k = 0; k < 200; k++) {
			full = own;
			for (int f = 0; f < FEAT__COUNT; f++) {
				if (!((unknown[f / 64] >> (f % 64)) & 1))
					continue;
				seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
				double choices[] = {0, 0.02, 0.06, 0.3, 0.5, 1, 1.05, 2, 4, 5.5, 7, 12, 3600};
				if (seed % 7)
					feature_set(&full, (enum feature_id)f, choices[(seed >> 8) % 13]);
			}
			if (seed % 3 == 0)
				feature_set(&full, FEAT_AREA_BALANCE_RESOLUTION, 3600);
			struct rule_hits completed;
			ruleset_eval(rs, &full, &completed);
			cr_assert(may || !completed.alert, "vector %d: final at the bound but alerts", i);
			cr_assert_leq(completed.score, bound.reach, "vector %d", i);
		}
	}
	cr_assert_gt(final, 0);
	cr_assert_gt(open, 0);
	ruleset_free(rs);
}

Test(rules_set, credit_caps_and_floors)
{
	static const char credit[] =
		"ruleset: c\nversion: \"1\"\nkind: credit\nrules:\n"
		"  - {id: late, title: Late, when: days_past_due >= 30, cap: B}\n"
		"  - {id: very_late, title: Very late, when: days_past_due >= 90, cap: C}\n"
		"  - {id: loyal, title: Loyal, when: tenure_months >= 60, floor: A}\n"
		"  - {id: loyal2, title: Loyal 2, when: tenure_months >= 120, floor: AA}\n"
		"  - {id: trial, title: Trial, when: tenure_months >= 1, floor: AAA, mode: shadow}\n";
	struct ruleset *rs = load_text_ok(credit, RULE_KIND_CREDIT);
	struct feature_vec fv;
	struct rule_hits hits;
	feature_vec_clear(&fv);
	feature_set(&fv, FEAT_DAYS_PAST_DUE, 100);
	feature_set(&fv, FEAT_TENURE_MONTHS, 130);
	cr_assert_eq(ruleset_eval(rs, &fv, &hits), 5);
	cr_assert_eq(hits.cap, RULE_GRADE_C, "the worst cap wins");
	cr_assert_eq(hits.floor, RULE_GRADE_AA, "the best active floor wins; shadow is ignored");
	cr_assert_eq(hits.n_shadow_fired, 1);
	cr_assert_str_eq(rule_grade_name(hits.cap), "C");
	cr_assert_str_eq(rule_grade_name(RULE_GRADE_NONE), "");
	ruleset_free(rs);
}

/* ---- tests runner ---- */

Test(rules_set, test_runner_reports_each_failure)
{
	static const char text[] =
		"ruleset: t\nversion: \"1\"\nkind: theft\nthresholds: {alert: 1}\nrules:\n"
		"  - id: drop\n"
		"    title: Drop\n"
		"    when: drop_ratio_14d >= 0.5\n"
		"    score: 1\n"
		"    severity: low\n"
		"    tests:\n"
		"      - given: {drop_ratio_14d: 0.6}\n"
		"        expect: fire\n"
		"      - given: {drop_ratio_14d: 0.6}\n"
		"        expect: quiet\n"
		"      - given: {}\n"
		"        expect: fire\n"
		"  - id: lonely\n"
		"    title: Only fires\n"
		"    when: kwh_day < 1\n"
		"    score: 1\n"
		"    severity: low\n"
		"    tests:\n"
		"      - given: {kwh_day: 0}\n"
		"        expect: fire\n";
	struct ruleset *rs = load_text_ok(text, RULE_KIND_THEFT);
	struct rbuf out = {0};
	size_t passed = 0, failed = 0;
	cr_assert_eq(ruleset_tests_run(rs, &out, &passed, &failed), RISKD_ERR_INVALID);
	rbuf_append(&out, "", 1);
	cr_assert_str_eq(out.data,
	                 "mem.yaml:14: rule drop test 2: expected quiet, got fire\n"
	                 "mem.yaml:16: rule drop test 3: expected fire, got quiet\n"
	                 "mem.yaml:18: rule lonely: no test expects quiet\n");
	cr_assert_eq(passed, 2);
	cr_assert_eq(failed, 3);
	rbuf_free(&out);
	ruleset_free(rs);
}

/* ---- reload: a failed load leaves the set in use untouched ---- */

Test(rules_set, failed_reload_keeps_old_set)
{
	struct ruleset *live = load_text_ok(small_theft, RULE_KIND_THEFT);
	char hash[17];
	memcpy(hash, ruleset_hash(live), sizeof hash);
	char *broken = strdup(small_theft);
	memcpy(strstr(broken, "zero_run_days >= 7"), "zero_rundays >= 7", 17);
	struct rules_diags diags = {0};
	struct ruleset *next = (struct ruleset *)&diags;
	cr_assert_eq(ruleset_load_text("mem.yaml", broken, strlen(broken), RULE_KIND_THEFT, &next,
	                               &diags),
	             RISKD_ERR_INVALID);
	cr_assert_null(next);
	cr_assert_eq(diags.count, 1);
	cr_assert(strstr(diags.items[0].message, "did you mean 'zero_run_days'") != NULL);
	/* The live set still evaluates as before. */
	struct feature_vec fv;
	struct rule_hits hits;
	feature_vec_clear(&fv);
	feature_set(&fv, FEAT_ZERO_RUN_DAYS, 9);
	cr_assert_eq(ruleset_eval(live, &fv, &hits), 1);
	cr_assert_str_eq(ruleset_hash(live), hash);
	rules_diags_free(&diags);
	free(broken);
	ruleset_free(live);
}

/* ---- evaluation allocates nothing ---- */

Test(rules_set, eval_allocates_nothing)
{
#if HAVE_ALLOC_COUNT
	/* Prove the counter works: an allocation while counting is seen. Under valgrind (which
	 * replaces malloc everywhere, this file's too) it is not, and the check cannot run. */
	alloc_count = 0;
	alloc_counting = 1;
	void *volatile probe = malloc(16); /* volatile: the pair must not be optimised away */
	free(probe);
	alloc_counting = 0;
	if (alloc_count == 0)
		cr_skip_test("malloc is not interposed here (valgrind?); allocation not counted");
	cr_assert_eq(alloc_count, 1);
	const char *paths[] = {"rules"};
	struct ruleset *rs = load_ok(paths, 1, RULE_KIND_THEFT);
	struct feature_vec fv;
	struct rule_hits hits;
	unsigned missing;

	alloc_count = 0;
	alloc_counting = 1;
	size_t fired = 0;
	for (int i = 0; i < 20000; i++) {
		feature_vec_clear(&fv);
		for (int f = 0; f < FEAT__COUNT; f++)
			if ((i >> (f % 13)) & 1)
				feature_set(&fv, (enum feature_id)f, (double)((i * 7 + f * 13) % 50) / 10.0);
		fired += (size_t)ruleset_eval(rs, &fv, &hits);
		fired += (size_t)ruleset_rule_eval(rs, (size_t)i % ruleset_rule_count(rs), &fv, &missing);
	}
	alloc_counting = 0;
	cr_assert_eq(alloc_count, 0, "evaluation allocated %zu times", (size_t)alloc_count);
	cr_assert_gt(fired, 0);
	ruleset_free(rs);
#else
	cr_skip_test("allocation counting is off under AddressSanitizer");
#endif
}

/* ---- several threads share one set ---- */

struct eval_job {
	const struct ruleset *rs;
	uint64_t digest;
};

static void *eval_worker(void *arg)
{
	struct eval_job *job = arg;
	struct feature_vec fv;
	struct rule_hits hits;
	uint64_t digest = 0;
	for (int i = 0; i < 20000; i++) {
		feature_vec_clear(&fv);
		feature_set(&fv, FEAT_DROP_RATIO_14D, (i % 10) / 10.0);
		feature_set(&fv, FEAT_DROP_DAYS, i % 30);
		feature_set(&fv, FEAT_DAYS_OBSERVED, 100);
		feature_set(&fv, FEAT_ZERO_RUN_DAYS, i % 11);
		feature_set(&fv, FEAT_BASELINE_KWH_DAY, 5);
		ruleset_eval(job->rs, &fv, &hits);
		digest = digest * 31 + (uint64_t)hits.score + hits.n_fired;
	}
	job->digest = digest;
	return NULL;
}

Test(rules_set, concurrent_evaluation_agrees)
{
	const char *paths[] = {"rules/theft.yaml"};
	struct ruleset *rs = load_ok(paths, 1, RULE_KIND_THEFT);
	struct eval_job alone = {.rs = rs}, jobs[2] = {{.rs = rs}, {.rs = rs}};
	eval_worker(&alone);
	pthread_t threads[2];
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&threads[i], NULL, eval_worker, &jobs[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	cr_assert_eq(jobs[0].digest, alone.digest);
	cr_assert_eq(jobs[1].digest, alone.digest);
	ruleset_free(rs);
}

/* ---- the verifier ---- */

static int verify(const struct rules_insn *prog, size_t len, const double *pool, size_t npool)
{
	char errstr[160];
	return rules_verify(prog, len, pool, npool, 0, errstr, sizeof errstr);
}

Test(rules_set, verifier_accepts_compiled_shapes)
{
	const struct rules_insn ok[] = {
		{OP_GE_F64_FK, FEAT_KWH_DAY, 0, 1},
		{OP_JUMP_IF_FALSE, 0, 3, 0},
		{OP_IN_SYM_F, FEAT_SEGMENT, 0, 0},
		{OP_RET, 0, 0, 0},
	};
	const double pool[] = {2, 0, 1};
	cr_assert_eq(verify(ok, 4, pool, 3), 0);
}

Test(rules_set, verifier_refuses_malformed_programs)
{
	const double pool[] = {2, 0, 1};
	const struct rules_insn backward[] = {
		{OP_PUSH, 0, 0, 1}, {OP_JUMP_IF_FALSE, 0, 0, 0}, {OP_PUSH, 0, 0, 1}, {OP_RET, 0, 0, 0}};
	cr_assert_eq(verify(backward, 4, pool, 3), -1, "backward jump");
	const struct rules_insn self[] = {
		{OP_PUSH, 0, 0, 1}, {OP_JUMP_IF_TRUE, 0, 1, 0}, {OP_PUSH, 0, 0, 1}, {OP_RET, 0, 0, 0}};
	cr_assert_eq(verify(self, 4, pool, 3), -1, "jump to itself");
	const struct rules_insn outside[] = {
		{OP_PUSH, 0, 0, 1}, {OP_JUMP_IF_TRUE, 0, 9, 0}, {OP_PUSH, 0, 0, 1}, {OP_RET, 0, 0, 0}};
	cr_assert_eq(verify(outside, 4, pool, 3), -1, "jump past the end");
	const struct rules_insn underflow[] = {{OP_LT_F64, 0, 0, 0}, {OP_RET, 0, 0, 0}};
	cr_assert_eq(verify(underflow, 2, pool, 3), -1, "stack underflow");
	const struct rules_insn feature[] = {{OP_LOAD, FEAT__COUNT, 0, 0}, {OP_RET, 0, 0, 0}};
	cr_assert_eq(verify(feature, 2, pool, 3), -1, "feature out of range");
	const struct rules_insn list[] = {{OP_IN_F64_F, 0, 1, 0}, {OP_RET, 0, 0, 0}};
	cr_assert_eq(verify(list, 2, pool, 3), -1, "list count 0 at slot 1");
	const struct rules_insn list_long[] = {{OP_IN_F64_F, 0, 2, 0}, {OP_RET, 0, 0, 0}};
	cr_assert_eq(verify(list_long, 2, pool, 3), -1, "list runs past the pool");
	const struct rules_insn fkk[] = {{OP_BETWEEN_F64_FKK, 0, 2, 0}, {OP_RET, 0, 0, 0}};
	cr_assert_eq(verify(fkk, 2, pool, 3), -1, "between bounds past the pool");
	const struct rules_insn no_ret[] = {{OP_PUSH, 0, 0, 1}};
	cr_assert_eq(verify(no_ret, 1, pool, 3), -1, "no RET");
	const struct rules_insn early_ret[] = {{OP_PUSH, 0, 0, 1}, {OP_RET, 0, 0, 0},
	                                       {OP_PUSH, 0, 0, 1}};
	cr_assert_eq(verify(early_ret, 3, pool, 3), -1, "RET not last");
	const struct rules_insn two_left[] = {{OP_PUSH, 0, 0, 1}, {OP_PUSH, 0, 0, 1},
	                                      {OP_RET, 0, 0, 0}};
	cr_assert_eq(verify(two_left, 3, pool, 3), -1, "two values at RET");
	const struct rules_insn opcode[] = {{OP__COUNT, 0, 0, 0}, {OP_RET, 0, 0, 0}};
	cr_assert_eq(verify(opcode, 2, pool, 3), -1, "unknown opcode");
	const struct rules_insn uneven[] = {
		{OP_PUSH, 0, 0, 1}, {OP_JUMP_IF_FALSE, 0, 4, 0}, {OP_PUSH, 0, 0, 1},
		{OP_PUSH, 0, 0, 1}, {OP_RET, 0, 0, 0}};
	cr_assert_eq(verify(uneven, 5, pool, 3), -1, "depth differs at a join");
	cr_assert_eq(verify(NULL, 0, pool, 3), -1, "empty program");
}
