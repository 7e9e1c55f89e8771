/*
 * test_operating.c - what riskd keeps beside a customer's state, end to end through the real
 * mock Kafka cluster, riskd and PostgreSQL:
 *
 * - customer attributes: profiles carry `attributes`, read against scoring/attributes.yaml;
 *   a card that reads them grades by them, before and after a restart (the attributes come
 *   back from risk.customer_side, not from the profile, which is not read again), and a
 *   profile with an undeclared attribute or a value the schema does not allow is
 *   dead-lettered with its reason; an operating rule that reads an attribute warns the
 *   hospitality business live, with the attributes restored after the restart, and the
 *   operating rules' firings are counted in risk.rule_counts;
 * - the early warning of operating risk, labelled: a generated city's businesses
 *   (riskctl gen --business-distress) go through riskd, which raises operating_risk alerts;
 *   against the ground truth `riskctl eval --credit --per-business` computes offline for the
 *   same city, at least 60% of the businesses that default are warned 30 days or more before
 *   their first bill is 30 days past due, at most 5% of the healthy ones are warned, and
 *   riskd warns on the very days the offline run does - even killed part of the way through
 *   and started again.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "streams/event.h"
#include "tests/support/e2e.h"

/* ---- customer attributes ---- */

/* A card for every segment that reads both shipped attributes: retail 600 points,
 * hospitality 530 (B), a year at the address 565 (A). */
static const char attr_card[] =
    "scorecard: attributes\n"
    "version: \"1\"\n"
    "segments: [residential, commercial, industrial, agricultural]\n"
    "default: true\n"
    "base_points: 600\n"
    "grades: {AAA: 590, AA: 570, A: 550, B: 520}\n"
    "characteristics:\n"
    "  - feature: days_past_due\n"
    "    code: DAYS_PAST_DUE\n"
    "    reason: \"Bills are past due now\"\n"
    "    bins:\n"
    "      - {to: 1, points: 0}\n"
    "      - {from: 1, points: -60}\n"
    "      - {missing: true, points: 0}\n"
    "  - attribute: business_type\n"
    "    type: category\n"
    "    code: BUSINESS_TYPE\n"
    "    reason: \"Type of business\"\n"
    "    bins:\n"
    "      - {values: [hospitality], points: -70}\n"
    "      - {other: true, points: 0}\n"
    "      - {missing: true, points: 0}\n"
    "  - attribute: years_at_address\n"
    "    type: number\n"
    "    code: YEARS_AT_ADDRESS\n"
    "    reason: \"Short time at the address\"\n"
    "    bins:\n"
    "      - {to: 2, points: -35}\n"
    "      - {from: 2, points: 0}\n"
    "      - {missing: true, points: 0}\n";

#define PROFILE(id, seg, attrs)                                                                \
	"{\"type\":\"customer\",\"event_id\":\"p-" id "\",\"ts\":\"2026-01-01T08:00:00+08:00\","   \
	"\"customer_id\":\"" id "\",\"segment\":\"" seg "\",\"transformer_id\":\"T1\","            \
	"\"since\":\"2015-06-01\"" attrs "}\n"
#define BILL(id, n, day, due)                                                                  \
	"{\"type\":\"bill\",\"event_id\":\"b-" id "-" n "\",\"ts\":\"2026-01-" day                  \
	"T09:00:00+08:00\",\"customer_id\":\"" id "\",\"bill_id\":\"B-" id "-" n "\","             \
	"\"amount\":80,\"due_date\":\"2026-" due "\"}\n"
#define PAYMENT(id, n, day)                                                                    \
	"{\"type\":\"payment\",\"event_id\":\"y-" id "-" n "\",\"ts\":\"2026-01-" day               \
	"T10:00:00+08:00\",\"customer_id\":\"" id "\",\"amount\":80,\"bill_id\":\"B-" id "-" n "\"}\n"

static const char attr_events[] =
    PROFILE("CA", "commercial", ",\"attributes\":{\"business_type\":\"hospitality\","
                                "\"years_at_address\":8}")
    PROFILE("CB", "commercial", ",\"attributes\":{\"business_type\":\"retail\","
                                "\"years_at_address\":8}")
    PROFILE("CC", "residential", ",\"attributes\":{\"years_at_address\":1}")
    PROFILE("CD", "residential", "")
    PROFILE("CE", "commercial", ",\"attributes\":{\"business_kind\":\"retail\"}")
    PROFILE("CF", "residential", ",\"attributes\":{\"years_at_address\":200}")
    BILL("CA", "1", "02", "01-20") BILL("CB", "1", "02", "01-20") BILL("CC", "1", "02", "01-20")
    BILL("CD", "1", "02", "01-20")
    PAYMENT("CA", "1", "03") PAYMENT("CB", "1", "03") PAYMENT("CC", "1", "03")
    PAYMENT("CD", "1", "03")
    BILL("CA", "2", "05", "02-20") BILL("CB", "2", "05", "02-20") BILL("CC", "2", "05", "02-20")
    BILL("CD", "2", "05", "02-20");

#define READING(id, day)                                                                       \
	"{\"type\":\"meter_reading\",\"event_id\":\"r-" id "-" day "\",\"ts\":\"2026-01-" day   \
	"T00:00:00+08:00\",\"customer_id\":\"" id "\",\"meter_id\":\"M-" id "\",\"kwh\":40,"      \
	"\"interval_s\":86400}\n"

/* The day after: every customer's grading moves on to the 5th; the businesses' readings of
 * three days close two of their days. */
static const char attr_later[] =
    PAYMENT("CA", "2", "06") PAYMENT("CB", "2", "06") PAYMENT("CC", "2", "06")
    PAYMENT("CD", "2", "06")
    READING("CA", "05") READING("CB", "05") READING("CA", "06") READING("CB", "06")
    READING("CA", "07") READING("CB", "07");

/* An operating rule beside the shipped ones that reads an attribute alone: a hospitality
 * business is warned at its first closed day. */
static const char attr_operating_rule[] =
    "ruleset: attr-operating\n"
    "version: \"1\"\n"
    "kind: operating\n"
    "thresholds: {alert: 50}\n"
    "rules:\n"
    "  - id: hospitality_business\n"
    "    title: A hospitality business\n"
    "    severity: low\n"
    "    score: 50\n"
    "    when: business_type == \"hospitality\"\n";

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

static void grade_of(const struct e2e_world *w, const char *customer, char *grade, size_t size)
{
	char sql[256];
	snprintf(sql, sizeof sql,
	         "select g.grade || ' ' || g.points || ' ' || c.as_of from risk.credit_grades g join"
	         " risk.customer_credit c using (customer_id) where customer_id = '%s'",
	         customer);
	e2e_query_text(w->dsn, sql, grade, size);
}

Test(operating_live, profile_attributes_grade_and_dead_letter, .timeout = 300)
{
	struct e2e_world w;
	char path[1400], grade[64];
	e2e_world_new(&w, "attrs", 1, 500);
	snprintf(path, sizeof path, "%s/rules", w.dir);
	e2e_sh("mkdir -p '%s' && cp '%s'/rules/*.yaml '%s'", path, w.env.root, path);
	e2e_world_set_rules(&w, path);
	snprintf(path, sizeof path, "%s/rules/zz_attributes.yaml", w.dir);
	write_text(path, attr_operating_rule);
	snprintf(path, sizeof path, "%s/cards", w.dir);
	e2e_sh("mkdir -p '%s'", path);
	snprintf(path, sizeof path, "%s/cards/attributes.yaml", w.dir);
	write_text(path, attr_card);
	FILE *f = fopen(w.config, "a");
	cr_assert_not_null(f);
	fprintf(f, "scoring:\n  scorecards: \"%s/cards\"\n  attributes: \"scoring/attributes.yaml\"\n",
	        w.dir);
	cr_assert_eq(fclose(f), 0);

	snprintf(path, sizeof path, "%s/events.jsonl", w.dir);
	write_text(path, attr_events);
	e2e_produce_file(&w, path);
	e2e_riskd_run_until_idle(&w, 3.0, 120);

	/* (a customer with fewer than 3 bills is capped at A by the shipped thin_file rule) */
	grade_of(&w, "CA", grade, sizeof grade);
	cr_assert_str_eq(grade, "B 530 2026-01-04", "hospitality costs 70 points");
	grade_of(&w, "CB", grade, sizeof grade);
	cr_assert_str_eq(grade, "A 600 2026-01-04", "retail costs nothing");
	grade_of(&w, "CC", grade, sizeof grade);
	cr_assert_str_eq(grade, "A 565 2026-01-04", "a year at the address costs 35 points");
	grade_of(&w, "CD", grade, sizeof grade);
	cr_assert_str_eq(grade, "A 600 2026-01-04", "no attributes: their missing bins");
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.credit_grades g,"
	                                  " jsonb_array_elements(g.reasons) r where"
	                                  " g.customer_id = 'CA' and r->>'code' = 'BUSINESS_TYPE'"
	                                  " and r->>'text' = 'Type of business'"),
	             1, "the attribute is the grade's reason");
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.credit_grades"
	                                  " where customer_id in ('CE', 'CF')"),
	             0, "the refused profiles' customers have only billing: none");

	/* the attributes stand beside the customers' snapshots */
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.customer_side"
	                                  " where attributes is not null"),
	             3);

	struct e2e_dead_letter *dl;
	size_t n = e2e_read_dead_letters(&w, &dl);
	cr_assert_eq(n, 2, "the two refused profiles");
	int unknown = 0, range = 0;
	for (size_t i = 0; i < n; i++) {
		unknown += strcmp(dl[i].error, "unknown attribute 'business_kind': not declared in "
		                               "the attribute schema") == 0;
		range += strcmp(dl[i].error, "attribute 'years_at_address': 200 is outside its range "
		                             "0 .. 150") == 0;
		cr_assert_not_null(strstr(dl[i].payload, "\"attributes\""), "%s", dl[i].payload);
	}
	e2e_dead_letters_free(dl, n);
	cr_assert_eq(unknown, 1);
	cr_assert_eq(range, 1);
	cr_assert_eq(e2e_query_int(w.dsn, "select coalesce(sum(count), 0) from risk.ingest_counts"
	                                  " where event_type = 'customer' and outcome ="
	                                  " 'dead_letter'"),
	             2);

	/* a restart grades a later day with the attributes restored from risk.customer_side */
	snprintf(path, sizeof path, "%s/later.jsonl", w.dir);
	write_text(path, attr_later);
	e2e_produce_file(&w, path);
	e2e_riskd_run_until_idle(&w, 3.0, 120);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.credit_grade_history"
	                                  " where customer_id = 'CA'"),
	             1, "CA's grade never changed");
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.customer_credit"
	                                  " where customer_id = 'CA' and as_of = '2026-01-05'"),
	             1, "CA was graded on the 5th, after the restart");
	grade_of(&w, "CA", grade, sizeof grade);
	cr_assert_str_eq(grade, "B 530 2026-01-05", "still 70 points off");

	/* the operating rule read the restored attributes: the hospitality business alone, on
	 * its two closed days (the rule evaluated on both businesses' two days), its counts
	 * under its rule set's name as the shipped operating rules' */
	char text[256];
	e2e_query_text(w.dsn, "select string_agg(customer_id || ' ' || (rules @> '[{\"id\":"
	                      " \"hospitality_business\"}]')::text, ',') from risk.alerts"
	                      " where kind = 'operating_risk'", text, sizeof text);
	cr_assert_str_eq(text, "CA true", "the hospitality business is warned, the retail one not");
	e2e_query_text(w.dsn, "select string_agg(rule_id || ' ' || evaluations || ' ' || fired, ','"
	                      " order by rule_id) from risk.rule_counts where rule_id in"
	                      " ('hospitality_business', 'sustained_decline')"
	                      " and ruleset_name like '%attr-operating%'", text, sizeof text);
	cr_assert_str_eq(text, "hospitality_business 4 2,sustained_decline 4 0");
}

/* ---- the early warning of operating risk, labelled ---- */

#define EW_CUSTOMERS "1200"
#define EW_CITY                                                                                \
	"--seed 21 --customers " EW_CUSTOMERS " --days 730 --interval-s 86400 "                    \
	"--business-distress 0.2"

/* One business of the offline ground truth, and riskd's first warning. */
struct business {
	char id[32];
	char story[32];
	long default_day;  /* days since 1970; -1 never */
	long warn_day;     /* offline */
	long live_warn;    /* riskd's first operating_risk warning; -1 none */
};

/* A local day of the ground truth (days since 1970-01-01), -1 when empty. */
static long day_of(const char *text)
{
	int32_t day;
	if (!*text)
		return -1;
	cr_assert_eq(event_parse_date(text, strlen(text), &day), 0, "%s", text);
	return day;
}

static size_t read_truth(const char *path, struct business **out)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	char line[256];
	size_t n = 0, cap = 0;
	struct business *b = NULL;
	cr_assert_not_null(fgets(line, sizeof line, f));
	cr_assert_str_eq(line, "customer_id,segment,story,default_day,warn_day\n");
	while (fgets(line, sizeof line, f)) {
		char *fields[5], *p = line;
		line[strcspn(line, "\n")] = '\0';
		for (int k = 0; k < 5; k++) {
			fields[k] = p;
			p = strchr(p, ',');
			cr_assert(k == 4 || p, "%s", line);
			if (p)
				*p++ = '\0';
		}
		if (n == cap)
			b = realloc(b, (cap = cap ? 2 * cap : 256) * sizeof *b);
		snprintf(b[n].id, sizeof b[n].id, "%s", fields[0]);
		snprintf(b[n].story, sizeof b[n].story, "%s", fields[2]);
		b[n].default_day = day_of(fields[3]);
		b[n].warn_day = day_of(fields[4]);
		n++;
	}
	fclose(f);
	*out = b;
	return n;
}

Test(operating_live, early_warning_through_kafka_and_postgresql, .timeout = 900)
{
	struct e2e_world w;
	char full[1400], profiles[1400], rest[1400], truth[1400];
	e2e_world_new(&w, "earlywarn", 16, 2000);
	snprintf(full, sizeof full, "%s/city.jsonl", w.dir);
	snprintf(profiles, sizeof profiles, "%s/profiles.jsonl", w.dir);
	snprintf(rest, sizeof rest, "%s/business.jsonl", w.dir);
	snprintf(truth, sizeof truth, "%s/truth.csv", w.dir);
	e2e_sh("'%s/riskctl' gen " EW_CITY " > '%s' 2>/dev/null", w.env.bin, full);
	/* the businesses' events only: their profiles first, so that riskd knows every business
	 * before its first reading, as the offline run does */
	e2e_sh("awk 'NR == FNR { if ($0 ~ /\"type\":\"customer\"/ &&"
	       " $0 ~ /\"segment\":\"(commercial|industrial)\"/ &&"
	       " match($0, /\"customer_id\":\"[^\"]*\"/)) biz[substr($0, RSTART, RLENGTH)] = 1; next }"
	       " match($0, /\"customer_id\":\"[^\"]*\"/) && (substr($0, RSTART, RLENGTH) in biz) {"
	       " if ($0 ~ /\"type\":\"customer\"/) print > \"%s\"; else print > \"%s\" }' '%s' '%s'",
	       profiles, rest, full, full);
	e2e_sh("'%s/riskctl' eval --credit " EW_CITY " --per-business '%s' > /dev/null", w.env.bin,
	       truth);

	e2e_produce_file(&w, profiles);
	e2e_riskd_run_until_idle(&w, 3.0, 120);
	e2e_produce_file(&w, rest);
	/* killed part of the way through, its checkpoints lagging, then run to the end: the weeks
	 * come back from risk.customer_side and the replay, and warn on the same days */
	e2e_world_set_checkpoint_interval(&w, 1000);
	pid_t pid = e2e_riskd_start(&w, "");
	struct timespec step = {0, 50 * 1000 * 1000};
	int64_t stored = 0;
	for (int i = 0; i < 1200 && stored < 20000; i++) {
		nanosleep(&step, NULL);
		stored = e2e_query_int(w.dsn, "select coalesce(sum(next_offset), 0) from"
		                              " risk.kafka_offsets where topic like '%meter.readings'");
	}
	e2e_kill_leftover(&pid);
	cr_assert_geq(stored, 20000, "riskd stored part of the readings before it was killed");
	e2e_riskd_run_until_idle(&w, 5.0, 600);

	struct business *b;
	size_t n = read_truth(truth, &b);
	cr_assert_gt(n, 100, "businesses in the city: %zu", n);
	size_t defaulted = 0, warned_before = 0, healthy = 0, healthy_warned = 0, same_day = 0;
	for (size_t i = 0; i < n; i++) {
		char sql[256];
		snprintf(sql, sizeof sql,
		         "select coalesce(min(first_day) - date '1970-01-01', -1) from risk.alerts"
		         " where customer_id = '%s' and kind = 'operating_risk'",
		         b[i].id);
		b[i].live_warn = e2e_query_int(w.dsn, sql);
		same_day += b[i].live_warn == b[i].warn_day;
		if (b[i].default_day >= 0) {
			defaulted++;
			warned_before += b[i].live_warn >= 0 && b[i].live_warn <= b[i].default_day - 30;
		} else {
			healthy++;
			healthy_warned += b[i].live_warn >= 0;
		}
	}
	double warned_share = (double)warned_before / (double)defaulted;
	double healthy_share = (double)healthy_warned / (double)healthy;
	fprintf(stderr, "early warning through riskd: %zu businesses, %zu defaulted, %zu warned >= 30 "
	        "days before (%.1f%%), %zu of %zu healthy warned (%.1f%%), %zu warned on the offline "
	        "day\n", n, defaulted, warned_before, 100 * warned_share, healthy_warned, healthy,
	        100 * healthy_share, same_day);
	cr_assert_geq(defaulted, 10, "enough defaults to measure: %zu", defaulted);
	cr_assert_geq(warned_share, 0.60, "warned >= 30 days before default: %.3f", warned_share);
	cr_assert_leq(healthy_share, 0.05, "healthy businesses warned: %.3f", healthy_share);
	cr_assert_eq(same_day, n, "riskd warns when the offline run does (%zu of %zu)", same_day,
	             n);
	free(b);

	/* the warnings are in the review queue, the worklist and their own view */
	int64_t warned = e2e_query_int(w.dsn, "select count(distinct customer_id) from risk.alerts"
	                                      " where kind = 'operating_risk'");
	cr_assert_gt(warned, 0);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.v_operating_risk_warnings"),
	             warned);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.alerts where kind ="
	                                  " 'operating_risk' and (jsonb_array_length(rules) = 0"
	                                  " or jsonb_array_length(curve) <> 16)"),
	             0, "every warning names its rules and shows 16 weeks");
	cr_assert_gt(e2e_query_int(w.dsn, "select count(*) from risk.v_collection_worklist_operating"
	                                  " where operating_risk_alert is not null"),
	             0, "warned customers in arrears are on the worklist with their warning");
	/* Every warning's opening reaches the review queue. riskd was killed above, so a message
	 * the relay published just before the kill, whose outbox row was not yet deleted, is
	 * published again by the next run (at least once, with a stable alert_id for readers to
	 * drop the repeat: docs/review-queue.md): count distinct alert ids. */
	struct e2e_message *msgs;
	size_t nm = e2e_read_topic(&w, w.topics[4], &msgs);
	char **opened_ids = calloc(nm + 1, sizeof(*opened_ids));
	size_t opened = 0;
	for (size_t i = 0; i < nm; i++) {
		json_t *m = json_loads(msgs[i].payload, 0, NULL);
		cr_assert_not_null(m, "%s", msgs[i].payload);
		if (strcmp(json_string_value(json_object_get(m, "kind")), "operating_risk") == 0 &&
		    strcmp(json_string_value(json_object_get(m, "change")), "opened") == 0) {
			const char *id = json_string_value(json_object_get(m, "alert_id"));
			cr_assert_not_null(id, "an opened warning without alert_id: %s", msgs[i].payload);
			size_t k = 0;
			while (k < opened && strcmp(opened_ids[k], id) != 0)
				k++;
			if (k == opened)
				opened_ids[opened++] = strdup(id);
		}
		json_decref(m);
	}
	e2e_messages_free(msgs, nm);
	cr_assert_eq((int64_t)opened, e2e_query_int(w.dsn, "select count(*) from risk.alerts"
	                                                   " where kind = 'operating_risk'"),
	             "every warning opened is published to the review queue");
	for (size_t k = 0; k < opened; k++) {
		char sql[256];
		snprintf(sql, sizeof(sql), "select count(*) from risk.alerts where alert_id = '%s'",
		         opened_ids[k]);
		cr_assert_eq(e2e_query_int(w.dsn, sql), 1, "published %s is an alert", opened_ids[k]);
		free(opened_ids[k]);
	}
	free(opened_ids);
	cr_assert_gt(e2e_query_int(w.dsn, "select count(*) from risk.customer_side"
	                                  " where operating is not null"),
	             100, "the businesses' weeks stand beside their snapshots");
}
