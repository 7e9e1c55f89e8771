/*
 * test_grader.c - credit grades in the detector: hysteresis at the cut-offs, first grades and
 * changes, the confirmed-theft cap and its withdrawal, the credit rules' limits
 * (grader_limits), the watch of the scorecard files and reloads that fail, the reasons'
 * JSON, the regrade of a disposition and the cap on a catch-up's days.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detector/grader.h"
#include "tests/support/credit_fixture.h"
#include "rules/scorecard_load.h"
#include "scoring/payments.h"
#include "scoring/scorecard.h"

#define DATA "tests/unit/data/scorecard/"

static struct scorecard *load_known(void)
{
	struct rules_diags diags = {0};
	struct scorecard *card = NULL;
	cr_assert_eq(scorecard_load_path(DATA "known.yaml", &card, &diags), 0);
	rules_diags_free(&diags);
	return card;
}

/* known.yaml's cut-offs: AAA 660, AA 620, A 580, B 520. */
Test(grader, hysteresis_holds_a_grade_until_the_margin_is_crossed)
{
	struct scorecard *card = load_known();
	static const struct {
		double points;
		enum rule_grade held;
		double margin;
		enum rule_grade want;
	} cases[] = {
		{622, RULE_GRADE_A, 5, RULE_GRADE_A},     /* AA by points, 617 is still A */
		{625, RULE_GRADE_A, 5, RULE_GRADE_AA},    /* 620 reaches AA: moves */
		{624.9, RULE_GRADE_A, 5, RULE_GRADE_A},
		{578, RULE_GRADE_A, 5, RULE_GRADE_A},     /* B by points, 583 is still A */
		{575, RULE_GRADE_A, 5, RULE_GRADE_A},     /* 580 reaches A: stays */
		{574.9, RULE_GRADE_A, 5, RULE_GRADE_B},   /* 579.9 is B: moves */
		{700, RULE_GRADE_A, 5, RULE_GRADE_AAA},   /* far above: straight to AAA */
		{400, RULE_GRADE_AA, 5, RULE_GRADE_C},    /* far below: straight to C */
		{663, RULE_GRADE_A, 5, RULE_GRADE_AA},    /* AAA by points, 658 only AA */
		{622, RULE_GRADE_NONE, 5, RULE_GRADE_AA}, /* nothing held: the plain grade */
		{622, RULE_GRADE_A, 0, RULE_GRADE_AA},    /* no margin: the plain grade */
		{600, RULE_GRADE_A, 50, RULE_GRADE_A},    /* inside its own band */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum rule_grade got = scorecard_points_grade_held(card, cases[i].points, cases[i].held,
		                                                  cases[i].margin);
		cr_assert_eq(got, cases[i].want, "case %zu: %g held %s: got %s want %s", i,
		             cases[i].points, credit_grade_name(cases[i].held), credit_grade_name(got),
		             credit_grade_name(cases[i].want));
	}
	scorecard_free(card);
}

Test(grader, first_grade_then_changes_only)
{
	struct grader *g = fixture_shipped_grader(5);
	struct cstate cs;
	struct grader_result r;
	fixture_paying_customer(&cs, SEGMENT_RESIDENTIAL, 14);
	int32_t today = 20400 + 30 * 14;

	cr_assert_eq(grader_held_grade(&cs), RULE_GRADE_NONE);
	cr_assert_eq(grader_grade(g, &cs, today, &r), 1);
	cr_assert(r.changed, "the first grade is a change");
	cr_assert_eq(r.previous, RULE_GRADE_NONE);
	cr_assert_lt(r.grade.grade, RULE_GRADE_B, "a good payer grades A or better, got %s",
	             credit_grade_name(r.grade.grade));
	cr_assert_eq(grader_held_grade(&cs), r.grade.grade);
	cr_assert_str_eq(scorecard_name(r.card), "residential");
	cr_assert(r.has_billing);
	cr_assert_eq(r.days_past_due, 0);
	cr_assert_float_eq(r.arrears, 0, 1e-9);
	cr_assert_eq(r.as_of, today);
	enum rule_grade first = r.grade.grade;

	cr_assert_eq(grader_grade(g, &cs, today + 1, &r), 1);
	cr_assert_not(r.changed, "the same state grades the same");
	cr_assert_eq(r.previous, first);

	/* An unpaid bill going past due, day by day, lowers the grade at some point; each
	 * change names the grade before it. */
	payments_bill(&cs.pay, "late", 4, 300, today + 5, today);
	enum rule_grade held = first;
	int changes = 0;
	for (int32_t d = today + 6; d < today + 200; d++) {
		cr_assert_eq(grader_grade(g, &cs, d, &r), 1);
		if (r.changed) {
			cr_assert_eq(r.previous, held);
			cr_assert_gt(r.grade.grade, held, "past due only lowers the grade");
			held = r.grade.grade;
			changes++;
		}
		cr_assert_eq(r.days_past_due, d - (today + 5));
	}
	cr_assert_eq(held, RULE_GRADE_C, "200 days past due ends in C");
	cr_assert_geq(changes, 1);
	grader_free(g);
}

Test(grader, confirmed_theft_caps_at_c_and_its_withdrawal_lifts_the_cap)
{
	struct grader *g = fixture_shipped_grader(5);
	struct cstate cs;
	struct grader_result r;
	fixture_paying_customer(&cs, SEGMENT_RESIDENTIAL, 14);
	int32_t today = 20400 + 30 * 14;
	grader_grade(g, &cs, today, &r);
	enum rule_grade before = r.grade.grade;
	cr_assert_lt(before, RULE_GRADE_C);

	payments_set_confirmed_theft(&cs, 1);
	cr_assert_eq(grader_grade(g, &cs, today, &r), 1);
	cr_assert(r.changed);
	cr_assert_eq(r.previous, before);
	cr_assert_eq(r.grade.grade, RULE_GRADE_C);
	cr_assert(r.grade.capped);
	cr_assert_eq(r.grade.points_grade, before, "the points grade is untouched by a cap");
	cr_assert_str_eq(r.grade.reasons[0].code, "confirmed_theft");

	payments_set_confirmed_theft(&cs, 0);
	cr_assert_eq(grader_grade(g, &cs, today, &r), 1);
	cr_assert(r.changed);
	cr_assert_eq(r.previous, RULE_GRADE_C);
	cr_assert_eq(r.grade.grade, before, "back to the points grade it held");
	cr_assert_not(r.grade.capped);
	grader_free(g);
}

Test(grader, broken_files_fail_to_load_and_a_failed_reload_keeps_the_old_ones)
{
	struct rbuf diag = {0};
	cr_assert_null(grader_new("rules", "/nonexistent-riskd-cards", 5, &diag));
	rbuf_append(&diag, "", 1);
	cr_assert(strstr(diag.data, "/nonexistent-riskd-cards"), "%s", diag.data);
	rbuf_reset(&diag);

	char dir[] = "/tmp/riskd-grader-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/card.yaml", dir);
	FILE *fp = fopen(path, "w");
	cr_assert_not_null(fp);
	FILE *src = fopen("scoring/cards/residential.yaml", "r");
	cr_assert_not_null(src);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), src)) > 0)
		fwrite(buf, 1, n, fp);
	fclose(src);
	fclose(fp);

	struct grader *g = grader_new("rules", dir, 5, &diag);
	cr_assert_not_null(g);
	struct cstate cs;
	struct grader_result r;
	fixture_paying_customer(&cs, SEGMENT_RESIDENTIAL, 14);
	cr_assert_eq(grader_grade(g, &cs, 20900, &r), 1);
	enum rule_grade was = r.grade.grade;

	cr_assert_eq(grader_reload(g, 0, &diag), 0, "nothing changed");
	cr_assert_eq(grader_reload(g, 1, &diag), 1, "forced: the same files again");
	fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fputs("scorecard: broken\nversion: [\n", fp);
	fclose(fp);
	cr_assert_eq(grader_reload(g, 0, &diag), RISKD_ERR_INVALID, "the watch sees the card");
	rbuf_append(&diag, "", 1);
	cr_assert(strstr(diag.data, "card.yaml:"), "diagnostics name the file: %s", diag.data);
	cr_assert_eq(grader_grade(g, &cs, 20900, &r), 1, "the old card still grades");
	cr_assert_eq(r.grade.grade, was);
	cr_assert_str_eq(scorecard_name(r.card), "residential");
	rbuf_reset(&diag);
	cr_assert_eq(grader_reload(g, 0, &diag), 0, "a broken card is reported once");
	cr_assert_eq(diag.len, 0);

	/* The card fixed under another name: the watch picks it up. */
	struct rbuf card = {0};
	src = fopen("scoring/cards/residential.yaml", "r");
	cr_assert_not_null(src);
	while ((n = fread(buf, 1, sizeof(buf), src)) > 0)
		rbuf_append(&card, buf, n);
	fclose(src);
	rbuf_append(&card, "", 1);
	char *name = strstr(card.data, "scorecard: residential");
	cr_assert_not_null(name);
	memcpy(name, "scorecard: renamed_one", 22);
	fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fwrite(card.data, 1, card.len - 1, fp);
	fclose(fp);
	rbuf_free(&card);
	cr_assert_eq(grader_reload(g, 0, &diag), 1, "%.*s", (int)diag.len, diag.data);
	cr_assert_eq(grader_grade(g, &cs, 20900, &r), 1);
	cr_assert_str_eq(scorecard_name(r.card), "renamed_one");

	unlink(path);
	rmdir(dir);
	rbuf_free(&diag);
	grader_free(g);
}

Test(grader, a_card_edit_alone_is_seen_even_at_the_same_size_and_time)
{
	char dir[] = "/tmp/riskd-grader-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/card.yaml", dir);
	struct rbuf card = {0};
	char buf[4096];
	size_t n;
	FILE *src = fopen("scoring/cards/residential.yaml", "r");
	cr_assert_not_null(src);
	while ((n = fread(buf, 1, sizeof(buf), src)) > 0)
		rbuf_append(&card, buf, n);
	fclose(src);
	rbuf_append(&card, "", 1);
	FILE *fp = fopen(path, "w");
	fwrite(card.data, 1, card.len - 1, fp);
	fclose(fp);
	struct stat before;
	cr_assert_eq(stat(path, &before), 0);

	struct rbuf diag = {0};
	struct grader *g = grader_new("rules", dir, 5, &diag);
	cr_assert_not_null(g);
	/* The same number of bytes, and the old modification time put back (a copy that keeps
	 * times, or two writes within one tick of the file system's clock). */
	char *version = strstr(card.data, "version: \"2026.1\"");
	cr_assert_not_null(version);
	memcpy(version, "version: \"2026.9\"", 17);
	fp = fopen(path, "w");
	fwrite(card.data, 1, card.len - 1, fp);
	fclose(fp);
	struct timespec times[2] = {before.st_atim, before.st_mtim};
	cr_assert_eq(utimensat(AT_FDCWD, path, times, 0), 0);
	cr_assert_eq(grader_reload(g, 0, &diag), 1, "the edit was not seen");
	struct cstate cs;
	struct grader_result r;
	fixture_paying_customer(&cs, SEGMENT_RESIDENTIAL, 14);
	cr_assert_eq(grader_grade(g, &cs, 20900, &r), 1);
	cr_assert_str_eq(scorecard_version(r.card), "2026.9");
	cr_assert_eq(grader_reload(g, 0, &diag), 0, "then nothing changed");
	unlink(path);
	rmdir(dir);
	rbuf_free(&card);
	rbuf_free(&diag);
	grader_free(g);
}

Test(grader, limits_come_from_the_active_credit_rules)
{
	struct rules_diags diags = {0};
	struct ruleset *rs = NULL;
	const char *text =
		"ruleset: limits\nversion: \"1\"\nkind: credit\nrules:\n"
		"  - {id: shadow_cap, title: Shadow, when: \"confirmed_theft\", cap: C, mode: shadow}\n"
		"  - {id: theft_cap, title: Theft caps, when: \"confirmed_theft\", cap: C}\n"
		"  - {id: theft_cap_b, title: Theft B, when: \"confirmed_theft\", cap: B}\n"
		"  - {id: tenure_floor, title: Loyal, when: \"tenure_months >= 120\", floor: A}\n";
	cr_assert_eq(ruleset_load_text("limits.yaml", text, strlen(text), RULE_KIND_CREDIT, &rs,
	                               &diags), 0);
	struct feature_vec fv;
	struct grade_limits limits;
	feature_vec_clear(&fv);
	grader_limits(rs, &fv, &limits);
	cr_assert_eq(limits.cap, RULE_GRADE_NONE);
	cr_assert_eq(limits.floor, RULE_GRADE_NONE);
	cr_assert_null(limits.cap_code);
	cr_assert_null(limits.floor_code);

	feature_set(&fv, FEAT_CONFIRMED_THEFT, 1);
	feature_set(&fv, FEAT_TENURE_MONTHS, 200);
	grader_limits(rs, &fv, &limits);
	cr_assert_eq(limits.cap, RULE_GRADE_C, "the worst cap binds");
	cr_assert_str_eq(limits.cap_code, "theft_cap", "the first active rule setting it");
	cr_assert_str_eq(limits.cap_text, "Theft caps");
	cr_assert_eq(limits.floor, RULE_GRADE_A);
	cr_assert_str_eq(limits.floor_code, "tenure_floor");

	grader_limits(NULL, &fv, &limits);
	cr_assert_eq(limits.cap, RULE_GRADE_NONE, "no rule set: no limits");
	ruleset_free(rs);
	rules_diags_free(&diags);
}

Test(grader, reasons_are_valid_json_with_every_reason)
{
	struct credit_grade grade = {0};
	grade.n_reasons = 3;
	snprintf(grade.reasons[0].code, sizeof grade.reasons[0].code, "confirmed_theft");
	snprintf(grade.reasons[0].text, sizeof grade.reasons[0].text, "Quote \" and \\ and\ttab");
	snprintf(grade.reasons[1].code, sizeof grade.reasons[1].code, "DAYS_PAST_DUE");
	snprintf(grade.reasons[1].text, sizeof grade.reasons[1].text, "Bills are past due now");
	grade.reasons[1].points_lost = 31.25;
	snprintf(grade.reasons[2].code, sizeof grade.reasons[2].code, "TENURE");
	snprintf(grade.reasons[2].text, sizeof grade.reasons[2].text, "Short tenure");
	grade.reasons[2].points_lost = 4;
	struct rbuf out = {0};
	grader_reasons_json(&grade, &out);
	json_error_t err;
	json_t *v = json_loadb(out.data, out.len, 0, &err);
	cr_assert_not_null(v, "%s: %.*s", err.text, (int)out.len, out.data);
	cr_assert_eq(json_array_size(v), 3);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(v, 0), "text")),
	                 "Quote \" and \\ and\ttab");
	cr_assert_float_eq(json_real_value(json_object_get(json_array_get(v, 1), "points_lost")),
	                   31.25, 1e-9);
	json_decref(v);
	rbuf_reset(&out);
	grade.n_reasons = 0;
	grader_reasons_json(&grade, &out);
	cr_assert_eq(out.len, 2);
	cr_assert_eq(memcmp(out.data, "[]", 2), 0);
	rbuf_free(&out);
}

static void count_grading(struct cstate *cs, const struct grader_result *r, void *arg)
{
	(void)cs;
	int *days = arg;
	if (r->has_billing)
		days[0] = r->as_of;
	days[1]++;
}

/* A disposition regrades as of the day graded last; a customer never graded, or without
 * billing, is not regraded. */
Test(grader, a_regrade_is_as_of_the_day_graded_last)
{
	struct grader *g = fixture_shipped_grader(5);
	struct cstate cs;
	struct grader_result r;
	memset(&cs, 0, sizeof(cs));
	cr_assert_eq(grader_regrade(g, &cs, &r), 0, "no billing");
	fixture_paying_customer(&cs, SEGMENT_RESIDENTIAL, 14);
	cr_assert_eq(cs.pay.graded_day, 20399, "the day before the first bill");
	cr_assert_eq(grader_regrade(g, &cs, &r), 0, "billing, but no grade held yet");

	struct cstate_table *table = cstate_table_new(4);
	struct cstate *entry = cstate_table_upsert(table, "C1", 2, 0, NULL);
	memcpy(entry, &cs, sizeof(cs));
	int last[2] = {0, 0};
	cr_assert_eq(grader_on_billing(g, table, 0, 20400 + 30 * 14, count_grading, last), 1);
	cr_assert_eq(last[0], 20399 + 30 * 14, "status as of the day before the billing day");
	cr_assert_eq(entry->pay.graded_day, 20399 + 30 * 14);
	cr_assert_eq(grader_regrade(g, entry, &r), 1);
	cr_assert_eq(r.as_of, 20399 + 30 * 14);
	cr_assert_not(r.changed, "nothing new: the same grade");

	/* a jump of 1000 days grades the last GRADER_CATCH_UP_DAYS of them, one payment status */
	last[1] = 0;
	cr_assert_eq(grader_on_billing(g, table, 0, 20400 + 30 * 14 + 1000, count_grading, last), 1);
	cr_assert_leq(last[1], GRADER_CATCH_UP_DAYS);
	cr_assert_eq(last[0], 20399 + 30 * 14 + 1000);
	cstate_table_destroy(table);
	grader_free(g);
}

/* A card for every segment: 600 points, hospitality costs 70 (B under 550 .. 520). */
static const char attribute_card[] =
    "scorecard: attrs\nversion: \"1\"\nsegments: [residential, commercial]\ndefault: true\n"
    "base_points: 600\ngrades: {AAA: 590, AA: 570, A: 550, B: 520}\ncharacteristics:\n"
    "  - attribute: business_type\n    type: category\n    code: BUSINESS_TYPE\n"
    "    reason: \"Type of business\"\n    bins:\n"
    "      - {values: [hospitality], points: -70}\n      - {other: true, points: 0}\n"
    "      - {missing: true, points: 0}\n";

static struct attr_vec lookup_values;
static int lookup_calls;

static const struct attr_vec *lookup(void *arg, const struct cstate *cs)
{
	(void)cs;
	lookup_calls++;
	return arg ? &lookup_values : NULL;
}

Test(grader, cards_read_the_customers_attributes_by_the_schema)
{
	char dir[] = "/tmp/riskd-grader-XXXXXX", path[128];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/attrs.yaml", dir);
	FILE *fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fputs(attribute_card, fp);
	fclose(fp);
	struct rbuf diag = {0};
	struct grader *g = grader_new("rules", dir, 5, &diag);
	cr_assert_not_null(g, "%.*s", (int)diag.len, diag.data);

	struct attr_schema *schema = attr_schema_new();
	char why[256];
	cr_assert_eq(grader_set_attributes(g, schema, lookup, &lookup_values, why, sizeof why),
	             RISKD_ERR_INVALID, "the card's attribute is not declared");
	cr_assert_str_eq(why, "card attrs: attribute 'business_type' is not declared in the "
	                      "attribute schema");
	int slot = attr_schema_add(schema, "business_type", ATTR_CATEGORY);
	attr_def_add_value(&schema->defs[slot], "retail", 6);
	attr_def_add_value(&schema->defs[slot], "hospitality", 11);
	cr_assert_eq(grader_set_attributes(g, schema, lookup, &lookup_values, why, sizeof why), 0,
	             "%s", why);

	struct cstate cs;
	struct grader_result r;
	good_payer(&cs);
	attr_vec_clear(&lookup_values);
	attr_vec_set(&lookup_values, slot, 1); /* hospitality */
	cr_assert_eq(grader_grade(g, &cs, 20900, &r), 1);
	cr_assert_eq(r.grade.grade, RULE_GRADE_B);
	cr_assert_gt(lookup_calls, 0);
	attr_vec_set(&lookup_values, slot, 0); /* retail */
	memset(&cs.credit, 0, sizeof cs.credit); /* nothing held */
	cr_assert_eq(grader_grade(g, &cs, 20900, &r), 1);
	cr_assert_eq(r.grade.grade, RULE_GRADE_AAA);

	/* a reload binds the new cards to the schema too */
	cr_assert_eq(grader_reload(g, 1, &diag), 1, "%.*s", (int)diag.len, diag.data);
	attr_vec_set(&lookup_values, slot, 1);
	memset(&cs.credit, 0, sizeof cs.credit);
	cr_assert_eq(grader_grade(g, &cs, 20900, &r), 1);
	cr_assert_eq(r.grade.grade, RULE_GRADE_B);

	unlink(path);
	rmdir(dir);
	rbuf_free(&diag);
	grader_free(g);
	attr_schema_free(schema);
}
