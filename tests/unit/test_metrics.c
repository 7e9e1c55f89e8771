/*
 * test_metrics.c - Criterion suite for detector/metrics.c: exact Prometheus lines after
 * updates, histogram buckets, the exposition format's shape, the build info, the health
 * conditions and their reason codes, docs/metrics.md against the rendered families, and the
 * HTTP server (/metrics, /healthz, /readyz, 404, 405, HEAD, its listen address, start errors, stop)
 * through a small blocking socket client.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "config/riskd_base.h"
#include "detector/health.h"
#include "rules/ruleset.h"
#include "rules/scorecard_load.h"
#include "scoring/scorecard.h"
#include "detector/log.h"
#include "detector/metrics.h"
#include "detector/version.h"

static char text[65536];

static void metrics_setup(void)
{
	metrics_init();
}

static void metrics_teardown(void)
{
	metrics_server_stop();
}

TestSuite(metrics, .init = metrics_setup, .fini = metrics_teardown);

/* Renders into text and checks it was complete. */
static const char *render(void)
{
	size_t len = metrics_render(text, sizeof(text));
	cr_assert(len < sizeof(text), "render needs %zu bytes", len);
	cr_assert_eq(strlen(text), len);
	return text;
}

/* True when body holds line as a whole line. */
static int has_line(const char *body, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = strstr(body, line); p; p = strstr(p + 1, line)) {
		if ((p == body || p[-1] == '\n') && p[n] == '\n')
			return 1;
	}
	return 0;
}

#define assert_line(body, line) \
	cr_assert(has_line((body), (line)), "missing line: %s\n--- in ---\n%s", (line), (body))

static size_t count_prefix(const char *body, const char *prefix)
{
	size_t n = 0, plen = strlen(prefix);
	for (const char *p = body; *p;) {
		if (strncmp(p, prefix, plen) == 0)
			n++;
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return n;
}

Test(metrics, fresh_render_has_every_series_at_zero)
{
	const char *body = render();
	assert_line(body, "riskd_up 1");
	assert_line(body, "riskd_events_total{type=\"meter_reading\"} 0");
	assert_line(body, "riskd_events_total{type=\"transformer_reading\"} 0");
	assert_line(body, "riskd_duplicates_total{type=\"payment\"} 0");
	assert_line(body, "riskd_dead_letter_total{reason=\"json\"} 0");
	assert_line(body, "riskd_batches_total 0");
	assert_line(body, "riskd_batch_events 0");
	assert_line(body, "riskd_commit_seconds_bucket{le=\"+Inf\"} 0");
	assert_line(body, "riskd_commit_seconds_sum 0");
	assert_line(body, "riskd_commit_seconds_count 0");
	assert_line(body, "riskd_commit_failures_total 0");
	assert_line(body, "riskd_pg_retries_total 0");
	assert_line(body, "riskd_consumer_lag 0");
	assert_line(body, "riskd_assigned_partitions 0");
	assert_line(body, "riskd_outbox_published_total 0");
	assert_line(body, "riskd_outbox_pending 0");
	assert_line(body, "riskd_alerts_total{kind=\"theft\"} 0");
	assert_line(body, "riskd_alerts_total{kind=\"operating_risk\"} 0");
	assert_line(body, "riskd_grade_changes_total 0");
	assert_line(body, "riskd_customers 0");
	assert_line(body, "riskd_transformers 0");
	assert_line(body, "riskd_state_bytes 0");
	cr_assert_eq(count_prefix(body, "riskd_events_total{"), EVENT_TYPE__COUNT);
	cr_assert_eq(count_prefix(body, "riskd_duplicates_total{"), EVENT_TYPE__COUNT);
	/* every reason but NONE */
	cr_assert_eq(count_prefix(body, "riskd_dead_letter_total{"), EVENT_REJECT__COUNT - 1);
}

Test(metrics, start_time_is_now)
{
	time_t before = time(NULL);
	metrics_init();
	time_t after = time(NULL);
	const char *body = render();
	const char *p = strstr(body, "\nriskd_start_time_seconds ");
	cr_assert_not_null(p);
	long long t = strtoll(p + strlen("\nriskd_start_time_seconds "), NULL, 10);
	cr_assert(t >= before && t <= after, "start time %lld", t);
}

Test(metrics, labelled_counters_count_by_label)
{
	for (int i = 0; i < 3; i++)
		metrics_event_accepted(EVENT_METER_READING);
	metrics_event_accepted(EVENT_PAYMENT);
	metrics_dead_letter(EVENT_REJECT_BAD_VALUE);
	metrics_dead_letter(EVENT_REJECT_BAD_VALUE);
	metrics_dead_letter(EVENT_REJECT_UTF8);
	metrics_dead_letter(EVENT_REJECT_NONE);          /* ignored */
	metrics_dead_letter(EVENT_REJECT__COUNT);        /* ignored, no out-of-bounds write */
	metrics_event_accepted(EVENT_TYPE__COUNT);       /* ignored */
	metrics_duplicate(EVENT_BILL);
	metrics_alert_raised(METRICS_ALERT_THEFT);
	metrics_alert_raised(METRICS_ALERT_OPERATING_RISK);
	metrics_alert_raised(METRICS_ALERT_OPERATING_RISK);

	const char *body = render();
	assert_line(body, "riskd_events_total{type=\"meter_reading\"} 3");
	assert_line(body, "riskd_events_total{type=\"payment\"} 1");
	assert_line(body, "riskd_events_total{type=\"bill\"} 0");
	assert_line(body, "riskd_dead_letter_total{reason=\"bad_value\"} 2");
	assert_line(body, "riskd_dead_letter_total{reason=\"utf8\"} 1");
	assert_line(body, "riskd_dead_letter_total{reason=\"json\"} 0");
	assert_line(body, "riskd_duplicates_total{type=\"bill\"} 1");
	assert_line(body, "riskd_duplicates_total{type=\"meter_reading\"} 0");
	assert_line(body, "riskd_alerts_total{kind=\"theft\"} 1");
	assert_line(body, "riskd_alerts_total{kind=\"operating_risk\"} 2");
	cr_assert_str_eq(metrics_alert_kind_name(METRICS_ALERT_THEFT), "theft");
	cr_assert_str_eq(metrics_alert_kind_name(METRICS_ALERT_OPERATING_RISK), "operating_risk");
}

Test(metrics, policy_reloads_count_by_kind_and_result)
{
	metrics_policy_reloaded(METRICS_RELOAD_THEFT, 1);
	metrics_policy_reloaded(METRICS_RELOAD_CREDIT, 0);
	metrics_policy_reloaded(METRICS_RELOAD_CREDIT, 0);
	metrics_policy_reloaded(METRICS_RELOAD_OPERATING, 1);
	metrics_policy_reloaded(METRICS_RELOAD_OPERATING, 1);
	metrics_policy_reloaded(METRICS_RELOAD_OPERATING, 0);
	metrics_policy_reloaded(METRICS_RELOAD_KIND__COUNT, 1); /* ignored */
	const char *body = render();
	assert_line(body, "riskd_policy_reloads_total{kind=\"theft\",result=\"ok\"} 1");
	assert_line(body, "riskd_policy_reloads_total{kind=\"theft\",result=\"failed\"} 0");
	assert_line(body, "riskd_policy_reloads_total{kind=\"credit\",result=\"ok\"} 0");
	assert_line(body, "riskd_policy_reloads_total{kind=\"credit\",result=\"failed\"} 2");
	assert_line(body, "riskd_policy_reloads_total{kind=\"operating\",result=\"ok\"} 2");
	assert_line(body, "riskd_policy_reloads_total{kind=\"operating\",result=\"failed\"} 1");
	cr_assert_str_eq(metrics_reload_kind_name(METRICS_RELOAD_CREDIT), "credit");
	cr_assert_str_eq(metrics_reload_kind_name(METRICS_RELOAD_OPERATING), "operating");
	cr_assert_str_eq(metrics_reload_kind_name(METRICS_RELOAD_KIND__COUNT), "unknown");
}

/* Loads a credit rule set from text; asserts it loads. */
static struct ruleset *credit_rules(const char *text)
{
	struct rules_diags diags = {0};
	struct ruleset *rs = NULL;
	cr_assert_eq(ruleset_load_text("credit.yaml", text, strlen(text), RULE_KIND_CREDIT, &rs,
	                               &diags), 0);
	rules_diags_free(&diags);
	return rs;
}

Test(metrics, policy_info_names_each_live_policy)
{
	struct rules_diags diags = {0};
	struct ruleset *theft = NULL, *operating = NULL;
	struct scorecard_set *cards = NULL;
	const char *rules_path = "rules/theft.yaml", *cards_path = "scoring/cards";
	const char *operating_path = "rules/operating.yaml";
	cr_assert_eq(ruleset_load_paths(&rules_path, 1, RULE_KIND_THEFT, &theft, &diags), 0);
	cr_assert_eq(ruleset_load_paths(&operating_path, 1, RULE_KIND_OPERATING, &operating, &diags),
	             0);
	cr_assert_eq(scorecard_set_load_paths(&cards_path, 1, &cards, &diags), 0);
	struct ruleset *credit = credit_rules("ruleset: limits-b\nversion: \"2.1\"\n"
	                                      "kind: credit\nrules: []\n");

	cr_assert_eq(count_prefix(render(), "riskd_policy_info{"), 0, "nothing loaded yet");
	metrics_set_policies(theft, credit, operating, cards);
	const char *body = render();
	char line[512];
	snprintf(line, sizeof(line),
	         "riskd_policy_info{kind=\"theft\",name=\"%s\",version=\"%s\",hash=\"%s\"} 1",
	         ruleset_name(theft), ruleset_version(theft), ruleset_hash(theft));
	assert_line(body, line);
	snprintf(line, sizeof(line),
	         "riskd_policy_info{kind=\"credit\",name=\"limits-b\",version=\"2.1\",hash=\"%s\"} 1",
	         ruleset_hash(credit));
	assert_line(body, line);
	snprintf(line, sizeof(line),
	         "riskd_policy_info{kind=\"operating\",name=\"%s\",version=\"%s\",hash=\"%s\"} 1",
	         ruleset_name(operating), ruleset_version(operating), ruleset_hash(operating));
	assert_line(body, line);
	cr_assert_str_eq(ruleset_name(operating), "operating-risk", "the shipped operating rules");
	cr_assert_eq(count_prefix(body, "riskd_policy_info{"), 3 + scorecard_set_count(cards),
	             "one series per rule set and scorecard");
	cr_assert_eq(count_prefix(body, "riskd_policy_info{kind=\"scorecard\""),
	             scorecard_set_count(cards));
	const struct scorecard *card = scorecard_set_card(cards, 0);
	snprintf(line, sizeof(line),
	         "riskd_policy_info{kind=\"scorecard\",name=\"%s\",version=\"%s\",hash=\"%s\"} 1",
	         scorecard_name(card), scorecard_version(card), scorecard_hash(card));
	assert_line(body, line);

	/* a reload replaces the list; metrics_init empties it */
	metrics_set_policies(theft, NULL, NULL, NULL);
	cr_assert_eq(count_prefix(render(), "riskd_policy_info{"), 1);
	metrics_set_policies(NULL, NULL, operating, NULL);
	cr_assert_eq(count_prefix(render(), "riskd_policy_info{kind=\"operating\""), 1);
	cr_assert_eq(count_prefix(render(), "riskd_policy_info{"), 1);
	metrics_init();
	cr_assert_eq(count_prefix(render(), "riskd_policy_info{"), 0);
	ruleset_free(theft);
	ruleset_free(credit);
	ruleset_free(operating);
	scorecard_set_free(cards);
	rules_diags_free(&diags);
}

Test(metrics, scalar_counters_and_gauges)
{
	metrics_batch_committed(500);
	metrics_batch_committed(200);
	metrics_commit_failed();
	metrics_pg_retry();
	metrics_pg_retry();
	metrics_pg_retry();
	metrics_set_lag(123456, 32);
	metrics_outbox_published(5, 1);
	metrics_outbox_published(4, 0);
	metrics_outbox_pending(7, (int64_t)time(NULL) - 30);
	metrics_grade_changed();
	metrics_set_state(1000000, 2000, 512000000);

	const char *body = render();
	assert_line(body, "riskd_batches_total 2");
	assert_line(body, "riskd_batch_events 200");
	assert_line(body, "riskd_commit_failures_total 1");
	assert_line(body, "riskd_pg_retries_total 3");
	assert_line(body, "riskd_consumer_lag 123456");
	assert_line(body, "riskd_assigned_partitions 32");
	assert_line(body, "riskd_outbox_published_total 9");
	assert_line(body, "riskd_outbox_failed_total 1");
	assert_line(body, "riskd_outbox_pending 7");
	const char *age = strstr(body, "\nriskd_outbox_oldest_age_seconds ");
	cr_assert_not_null(age);
	long age_s = strtol(age + strlen("\nriskd_outbox_oldest_age_seconds "), NULL, 10);
	cr_assert(age_s >= 30 && age_s <= 32, "oldest age %ld", age_s);
	assert_line(body, "riskd_grade_changes_total 1");
	assert_line(body, "riskd_customers 1000000");
	assert_line(body, "riskd_transformers 2000");
	assert_line(body, "riskd_state_bytes 512000000");

	metrics_set_lag(0, 0);
	metrics_outbox_pending(0, 0);
	body = render();
	assert_line(body, "riskd_outbox_oldest_age_seconds 0");
	assert_line(body, "riskd_consumer_lag 0");
	assert_line(body, "riskd_assigned_partitions 0");
}

Test(metrics, init_resets_counters)
{
	metrics_batch_committed(10);
	metrics_dead_letter(EVENT_REJECT_JSON);
	metrics_commit_observe(0.5);
	metrics_init();
	const char *body = render();
	assert_line(body, "riskd_batches_total 0");
	assert_line(body, "riskd_dead_letter_total{reason=\"json\"} 0");
	assert_line(body, "riskd_commit_seconds_count 0");
}

Test(metrics, histogram_is_cumulative_with_sum_and_count)
{
	metrics_commit_observe(0.0005);
	metrics_commit_observe(0.001);  /* le is inclusive: lands in the 0.001 bucket */
	metrics_commit_observe(0.002);
	metrics_commit_observe(0.002);
	metrics_commit_observe(0.3);
	metrics_commit_observe(20);     /* only in +Inf */

	const char *body = render();
	static const char *const want[] = {
		"riskd_commit_seconds_bucket{le=\"0.001\"} 2",
		"riskd_commit_seconds_bucket{le=\"0.0025\"} 4",
		"riskd_commit_seconds_bucket{le=\"0.005\"} 4",
		"riskd_commit_seconds_bucket{le=\"0.01\"} 4",
		"riskd_commit_seconds_bucket{le=\"0.025\"} 4",
		"riskd_commit_seconds_bucket{le=\"0.05\"} 4",
		"riskd_commit_seconds_bucket{le=\"0.1\"} 4",
		"riskd_commit_seconds_bucket{le=\"0.25\"} 4",
		"riskd_commit_seconds_bucket{le=\"0.5\"} 5",
		"riskd_commit_seconds_bucket{le=\"1\"} 5",
		"riskd_commit_seconds_bucket{le=\"2.5\"} 5",
		"riskd_commit_seconds_bucket{le=\"5\"} 5",
		"riskd_commit_seconds_bucket{le=\"10\"} 5",
		"riskd_commit_seconds_bucket{le=\"+Inf\"} 6",
		"riskd_commit_seconds_count 6",
		"riskd_commit_seconds_sum 20.3055",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_line(body, want[i]);
	cr_assert_eq(count_prefix(body, "riskd_commit_seconds_bucket{"), METRICS_COMMIT_BUCKETS + 1);

	/* buckets appear in ascending le order and never decrease */
	const char *p = body;
	double prev_le = -1;
	unsigned long long prev_count = 0;
	while ((p = strstr(p, "riskd_commit_seconds_bucket{le=\""))) {
		p += strlen("riskd_commit_seconds_bucket{le=\"");
		double le = strncmp(p, "+Inf", 4) == 0 ? INFINITY : strtod(p, NULL);
		const char *value = strstr(p, "} ");
		unsigned long long count = strtoull(value + 2, NULL, 10);
		cr_assert(le > prev_le);
		cr_assert(count >= prev_count);
		prev_le = le;
		prev_count = count;
	}
}

Test(metrics, histogram_treats_bad_durations_as_zero)
{
	metrics_commit_observe(-1);
	metrics_commit_observe(NAN);
	const char *body = render();
	assert_line(body, "riskd_commit_seconds_bucket{le=\"0.001\"} 2");
	assert_line(body, "riskd_commit_seconds_count 2");
	assert_line(body, "riskd_commit_seconds_sum 0");
}

/* Every sample line belongs to a family announced by # HELP and # TYPE before it, and every
 * line is "# HELP|TYPE ..." or "name[{labels}] value". */
Test(metrics, exposition_format_shape)
{
	metrics_commit_observe(0.01);
	const char *body = render();
	cr_assert(body[strlen(body) - 1] == '\n');
	char family[128] = "";
	char type[32] = "";
	int helped = 0;
	size_t samples = 0;
	char copy[sizeof(text)];
	strcpy(copy, body);
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			cr_assert_eq(sscanf(line, "# HELP %127s", family), 1);
			cr_assert(strlen(line) > strlen("# HELP ") + strlen(family) + 1, "empty help");
			helped = 1;
			type[0] = '\0';
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			char name[128];
			cr_assert_eq(sscanf(line, "# TYPE %127s %31s", name, type), 2);
			cr_assert(helped);
			cr_assert_str_eq(name, family);
			cr_assert(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
			          strcmp(type, "histogram") == 0, "type %s", type);
			continue;
		}
		cr_assert_neq(line[0], '#', "unexpected comment: %s", line);
		cr_assert(type[0], "sample before # TYPE: %s", line);
		size_t flen = strlen(family);
		cr_assert(strncmp(line, family, flen) == 0, "'%s' outside family %s", line, family);
		const char *rest = line + flen;
		if (strcmp(type, "histogram") == 0) {
			if (strncmp(rest, "_bucket{le=\"", 12) == 0)
				rest = strchr(rest, '}') + 1;
			else if (strncmp(rest, "_sum", 4) == 0 || strncmp(rest, "_count", 6) == 0)
				rest = strchr(rest, ' ');
		} else if (rest[0] == '{') {
			const char *close = strchr(rest, '}');
			cr_assert_not_null(close);
			cr_assert_not_null(strstr(rest, "=\""), "bad labels: %s", line);
			rest = close + 1;
		}
		cr_assert_eq(rest[0], ' ', "no value separator: %s", line);
		char *end = NULL;
		strtod(rest + 1, &end);
		cr_assert(end != rest + 1 && *end == '\0', "bad value: %s", line);
		if (strcmp(type, "counter") == 0)
			cr_assert(strstr(family, "_total"), "counter %s lacks _total", family);
		samples++;
	}
	cr_assert(samples > 40, "only %zu samples", samples);
}

/* Checks that the label values of one family are snake_case names, distinct and known: a
 * repeated series makes Prometheus reject the whole scrape. */
static void check_family_labels(const char *body, const char *prefix)
{
	char seen[32][64];
	size_t n = 0;
	size_t plen = strlen(prefix);
	for (const char *p = strstr(body, prefix); p; p = strstr(p + plen, prefix)) {
		if (p != body && p[-1] != '\n')
			continue;
		const char *value = p + plen;
		size_t vlen = strcspn(value, "\"");
		cr_assert(vlen > 0 && vlen < sizeof(seen[0]), "bad label in %.60s", p);
		for (size_t i = 0; i < vlen; i++)
			cr_assert(islower((unsigned char)value[i]) || isdigit((unsigned char)value[i]) ||
			          value[i] == '_', "label not snake_case: %.60s", p);
		cr_assert(strncmp(value, "unknown\"", 8) != 0, "name missing for %.60s", p);
		cr_assert(n < sizeof(seen) / sizeof(seen[0]));
		memcpy(seen[n], value, vlen);
		seen[n][vlen] = '\0';
		for (size_t i = 0; i < n; i++)
			cr_assert_str_neq(seen[i], seen[n], "series repeated: %s%s\"", prefix, seen[n]);
		n++;
	}
	cr_assert(n > 0, "no %s series", prefix);
}

Test(metrics, label_values_are_distinct_names)
{
	const char *body = render();
	check_family_labels(body, "riskd_events_total{type=\"");
	check_family_labels(body, "riskd_duplicates_total{type=\"");
	check_family_labels(body, "riskd_dead_letter_total{reason=\"");
	check_family_labels(body, "riskd_alerts_total{kind=\"");
}

Test(metrics, render_reports_needed_size_like_snprintf)
{
	size_t full = metrics_render(NULL, 0);
	cr_assert(full > 1000);
	char small[100];
	memset(small, 'z', sizeof(small));
	cr_assert_eq(metrics_render(small, sizeof(small)), full);
	cr_assert_eq(strlen(small), sizeof(small) - 1);
	cr_assert_eq(strncmp(small, render(), sizeof(small) - 1), 0);
}

Test(metrics, build_info_names_version_and_commit)
{
	char line[512];
	snprintf(line, sizeof(line), "riskd_build_info{version=\"%s\",commit=\"%s\"} 1",
	         riskd_version(), riskd_commit());
	assert_line(render(), line);
	cr_assert_str_neq(riskd_version(), "", "the Makefile passes a version");
}

Test(metrics, health_conditions_give_the_first_reason_code)
{
	char reason[64];
	cr_assert_eq(metrics_health(reason, sizeof(reason)), 0);
	cr_assert_str_eq(reason, "starting");
	metrics_health_set(HEALTH_STARTING, 0);
	cr_assert_eq(metrics_health(reason, sizeof(reason)), 1);
	cr_assert_str_eq(reason, "");

	metrics_health_set(HEALTH_KAFKA_STALLED, 1);
	cr_assert_eq(metrics_health(reason, sizeof(reason)), 0);
	cr_assert_str_eq(reason, "kafka_stalled");
	/* PostgreSQL comes first: a paused consumer is stalled because of it */
	metrics_health_set(HEALTH_POSTGRES_UNREACHABLE, 1);
	cr_assert_eq(metrics_health(reason, sizeof(reason)), 0);
	cr_assert_str_eq(reason, "postgres_unreachable");
	metrics_health_set(HEALTH_POSTGRES_UNREACHABLE, 0);
	cr_assert_eq(metrics_health(NULL, 0), 0);
	cr_assert_eq(metrics_health(reason, sizeof(reason)), 0);
	cr_assert_str_eq(reason, "kafka_stalled");
	char shortbuf[5];
	metrics_health(shortbuf, sizeof(shortbuf));
	cr_assert_str_eq(shortbuf, "kafk");
	metrics_health_set(HEALTH_KAFKA_STALLED, 0);
	metrics_health_set(HEALTH__COUNT, 1); /* ignored */
	cr_assert_eq(metrics_health(reason, sizeof(reason)), 1);

	for (int c = 0; c < HEALTH__COUNT; c++) {
		const char *code = metrics_health_code((enum health_condition)c);
		cr_assert(strlen(code) > 0 && strspn(code, "abcdefghijklmnopqrstuvwxyz_") == strlen(code),
		          "reason code '%s' is not snake_case", code);
	}
	cr_assert_str_eq(metrics_health_code(HEALTH__COUNT), "unknown");
}

/* Reads docs/metrics.md (tests run from the checkout root) into buf. */
static void read_metrics_doc(char *buf, size_t size)
{
	FILE *f = fopen("docs/metrics.md", "r");
	cr_assert_not_null(f, "docs/metrics.md: %s (run from the checkout root)", strerror(errno));
	size_t n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
}

/*
 * docs/metrics.md's table lists every family riskd renders, with its type, and nothing else:
 * rows "| `name` | type | ...".
 */
Test(metrics, docs_table_matches_the_rendered_families)
{
	static char doc[65536];
	read_metrics_doc(doc, sizeof(doc));
	char rendered[4096] = " ", documented[4096] = " ";
	char copy[sizeof(text)];
	strcpy(copy, render());
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128], type[32], entry[200];
		if (sscanf(line, "# TYPE %127s %31s", name, type) != 2)
			continue;
		snprintf(entry, sizeof(entry), "%s:%s ", name, type);
		cr_assert(strlen(rendered) + strlen(entry) < sizeof(rendered));
		strcat(rendered, entry);
	}
	for (char *row = strstr(doc, "\n| `riskd_"); row; row = strstr(row + 1, "\n| `riskd_")) {
		char name[128], type[32], entry[200];
		cr_assert_eq(sscanf(row, "\n| `%127[a-z_]` | %31[a-z] |", name, type), 2,
		             "unreadable row: %.80s", row + 1);
		snprintf(entry, sizeof(entry), " %s:%s ", name, type);
		cr_assert_not_null(strstr(rendered, entry), "docs/metrics.md documents %s %s, which "
		                   "riskd does not render as such", name, type);
		cr_assert(strlen(documented) + strlen(entry) < sizeof(documented));
		strcat(documented, entry + 1);
	}
	save = NULL;
	for (char *entry = strtok_r(rendered, " ", &save); entry; entry = strtok_r(NULL, " ", &save)) {
		char want[200];
		snprintf(want, sizeof(want), " %s ", entry);
		cr_assert_not_null(strstr(documented, want), "riskd renders %s, which docs/metrics.md "
		                   "does not document", entry);
	}
}

/* ---- HTTP ---- */

struct http_reply {
	int status;
	char head[4096];   /* status line and headers, lower-cased */
	char body[65536];
	size_t body_len;
};

/* Sends request to ipv4:port (network order) and reads the reply until the server closes.
 * 0 or -errno. */
static int http_request_to(uint32_t ipv4, int port, const char *request, struct http_reply *reply)
{
	static char raw[sizeof(reply->head) + sizeof(reply->body)];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(fd >= 0);
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	addr.sin_addr.s_addr = ipv4;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	size_t want = strlen(request);
	cr_assert_eq(send(fd, request, want, MSG_NOSIGNAL), (ssize_t)want);
	size_t len = 0;
	for (;;) {
		ssize_t n = recv(fd, raw + len, sizeof(raw) - 1 - len, 0);
		cr_assert(n >= 0, "recv: %s", strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
		cr_assert(len < sizeof(raw) - 1, "reply too large");
	}
	close(fd);
	raw[len] = '\0';

	char *sep = strstr(raw, "\r\n\r\n");
	cr_assert_not_null(sep, "no header end in: %s", raw);
	size_t head_len = (size_t)(sep - raw);
	cr_assert(head_len < sizeof(reply->head));
	for (size_t i = 0; i < head_len; i++)
		reply->head[i] = (char)tolower((unsigned char)raw[i]);
	reply->head[head_len] = '\0';
	reply->body_len = len - head_len - 4;
	memcpy(reply->body, sep + 4, reply->body_len);
	reply->body[reply->body_len] = '\0';
	cr_assert_eq(sscanf(reply->head, "http/1.%*d %d", &reply->status), 1, "%s", reply->head);
	return 0;
}

/* Sends request to 127.0.0.1:port, as http_request_to. */
static int http_request(int port, const char *request, struct http_reply *reply)
{
	return http_request_to(htonl(INADDR_LOOPBACK), port, request, reply);
}

static void http_get(int port, const char *method, const char *path, struct http_reply *reply)
{
	char request[256];
	snprintf(request, sizeof(request),
	         "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", method, path);
	int rc = http_request(port, request, reply);
	cr_assert_eq(rc, 0, "connect: %s", strerror(-rc));
}

/* A loopback port the kernel just handed out (free at that moment). */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(fd >= 0);
	struct sockaddr_in addr = { .sin_family = AF_INET };
	addr.sin_addr.s_addr = htonl(INADDR_ANY);
	cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	socklen_t alen = sizeof(addr);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&addr, &alen), 0);
	close(fd);
	return ntohs(addr.sin_port);
}

/* Starts the server on a free port, trying a few in case another process takes one first. */
static int start_server(void)
{
	char errstr[256];
	for (int attempt = 0; attempt < 10; attempt++) {
		int port = free_port();
		int rc = metrics_server_start("127.0.0.1", port, errstr, sizeof(errstr));
		if (rc == 0)
			return port;
		cr_assert_eq(rc, RISKD_ERR_IO, "%s", errstr);
	}
	cr_assert_fail("no free port for the metrics server: %s", errstr);
	return -1;
}

Test(metrics, http_serves_metrics)
{
	/* libmicrohttpd's complaints (if any) go to the log; keep them out of the test output */
	log_set_stream(tmpfile());
	int port = start_server();
	metrics_dead_letter(EVENT_REJECT_BAD_VALUE);
	metrics_dead_letter(EVENT_REJECT_BAD_VALUE);
	metrics_event_accepted(EVENT_METER_READING);

	struct http_reply *reply = malloc(sizeof(*reply));
	cr_assert_not_null(reply);
	http_get(port, "GET", "/metrics", reply);
	cr_assert_eq(reply->status, 200);
	cr_assert_not_null(strstr(reply->head, "\r\ncontent-type: text/plain; version=0.0.4"),
	                  "%s", reply->head);
	assert_line(reply->body, "riskd_up 1");
	assert_line(reply->body, "riskd_dead_letter_total{reason=\"bad_value\"} 2");
	assert_line(reply->body, "riskd_events_total{type=\"meter_reading\"} 1");
	cr_assert_eq(reply->body_len, strlen(render()));

	/* a query string does not change the route */
	http_get(port, "GET", "/metrics?x=1", reply);
	cr_assert_eq(reply->status, 200);

	http_get(port, "HEAD", "/metrics", reply);
	cr_assert_eq(reply->status, 200);
	cr_assert_eq(reply->body_len, 0);
	free(reply);
}

Test(metrics, http_healthz_follows_the_flag)
{
	log_set_stream(tmpfile());
	int port = start_server();
	struct http_reply *reply = malloc(sizeof(*reply));
	cr_assert_not_null(reply);

	http_get(port, "GET", "/healthz", reply);
	cr_assert_eq(reply->status, 503);
	cr_assert_str_eq(reply->body, "unhealthy: starting\n");

	metrics_health_set(HEALTH_STARTING, 0);
	http_get(port, "GET", "/healthz", reply);
	cr_assert_eq(reply->status, 200);
	cr_assert_str_eq(reply->body, "ok\n");

	metrics_health_set(HEALTH_POSTGRES_UNREACHABLE, 1);
	http_get(port, "GET", "/healthz", reply);
	cr_assert_eq(reply->status, 503);
	cr_assert_str_eq(reply->body, "unhealthy: postgres_unreachable\n");
	free(reply);
}

Test(metrics, http_readyz_answers_the_readiness_verdict)
{
	log_set_stream(tmpfile());
	health_ready_init(10, 60, 0);
	int port = start_server();
	struct http_reply *reply = malloc(sizeof(*reply));
	cr_assert_not_null(reply);

	http_get(port, "GET", "/readyz", reply);
	cr_assert_eq(reply->status, 503);
	cr_assert_str_eq(reply->body, "not ready: starting\n");
	assert_line(render(), "riskd_ready 0");

	health_loaded(0);
	metrics_set_lag(11, 2);
	http_get(port, "GET", "/readyz", reply);
	cr_assert_eq(reply->status, 503);
	cr_assert_str_eq(reply->body, "not ready: lagging\n");
	http_get(port, "GET", "/healthz", reply);
	cr_assert_eq(reply->status, 200, "a lagging riskd is alive");

	metrics_set_lag(3, 2);
	http_get(port, "GET", "/readyz", reply);
	cr_assert_eq(reply->status, 200);
	cr_assert_str_eq(reply->body, "ready\n");
	assert_line(render(), "riskd_ready 1");
	free(reply);
}

Test(metrics, http_unknown_path_and_method)
{
	log_set_stream(tmpfile());
	int port = start_server();
	struct http_reply *reply = malloc(sizeof(*reply));
	cr_assert_not_null(reply);

	http_get(port, "GET", "/", reply);
	cr_assert_eq(reply->status, 404);
	http_get(port, "GET", "/metrics/extra", reply);
	cr_assert_eq(reply->status, 404);

	http_get(port, "DELETE", "/metrics", reply);
	cr_assert_eq(reply->status, 405);
	cr_assert_not_null(strstr(reply->head, "\r\nallow: get, head"), "%s", reply->head);

	const char *post = "POST /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
	                   "Content-Length: 5\r\n\r\nhello";
	cr_assert_eq(http_request(port, post, reply), 0);
	cr_assert_eq(reply->status, 405);
	free(reply);
}

Test(metrics, http_start_errors_and_stop)
{
	log_set_stream(tmpfile());
	char errstr[256] = "";

	/* 0 disables the server */
	cr_assert_eq(metrics_server_start("127.0.0.1", 0, errstr, sizeof(errstr)), 0);
	metrics_server_stop();

	cr_assert_eq(metrics_server_start("127.0.0.1", 70000, errstr, sizeof(errstr)),
	             RISKD_ERR_RANGE);
	cr_assert_not_null(strstr(errstr, "70000"), "%s", errstr);
	cr_assert_eq(metrics_server_start("127.0.0.1", -1, errstr, sizeof(errstr)), RISKD_ERR_RANGE);
	cr_assert_eq(metrics_server_start("localhost", 9464, errstr, sizeof(errstr)),
	             RISKD_ERR_INVALID);
	cr_assert_not_null(strstr(errstr, "'localhost' is not an IPv4 or IPv6 address"), "%s",
	                   errstr);

	/* a port someone else listens on */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = { .sin_family = AF_INET };
	addr.sin_addr.s_addr = htonl(INADDR_ANY);
	cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	cr_assert_eq(listen(fd, 1), 0);
	socklen_t alen = sizeof(addr);
	getsockname(fd, (struct sockaddr *)&addr, &alen);
	int taken = ntohs(addr.sin_port);
	errstr[0] = '\0';
	cr_assert_eq(metrics_server_start("127.0.0.1", taken, errstr, sizeof(errstr)), RISKD_ERR_IO);
	char want[64];
	snprintf(want, sizeof(want), "port %d", taken);
	cr_assert_not_null(strstr(errstr, want), "%s", errstr);
	close(fd);

	int port = start_server();
	cr_assert_eq(metrics_server_start("127.0.0.1", port, errstr, sizeof(errstr)),
	             RISKD_ERR_INVALID);
	struct http_reply *reply = malloc(sizeof(*reply));
	cr_assert_not_null(reply);
	http_get(port, "GET", "/healthz", reply);
	cr_assert_eq(reply->status, 503);

	metrics_server_stop();
	cr_assert_eq(http_request(port, "GET /healthz HTTP/1.0\r\n\r\n", reply), -ECONNREFUSED);
	metrics_server_stop(); /* second stop is a no-op */

	/* and it can start again */
	port = start_server();
	http_get(port, "GET", "/healthz", reply);
	cr_assert_eq(reply->status, 503);
	free(reply);
}

/* An IPv4 address of this machine other than loopback (network order), or 0 when none. */
static uint32_t outside_ipv4(void)
{
	struct ifaddrs *ifs = NULL;
	uint32_t found = 0;
	if (getifaddrs(&ifs) != 0)
		return 0;
	for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		uint32_t a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
		if ((ntohl(a) >> 24) != 127)
			found = a;
	}
	freeifaddrs(ifs);
	return found;
}

Test(metrics, http_listens_on_the_configured_address_only)
{
	log_set_stream(tmpfile());
	uint32_t outside = outside_ipv4();
	if (!outside)
		cr_skip_test("this machine has no IPv4 address besides loopback");
	struct http_reply *reply = malloc(sizeof(*reply));
	cr_assert_not_null(reply);
	const char *get = "GET /healthz HTTP/1.0\r\n\r\n";

	int port = start_server(); /* on 127.0.0.1 */
	cr_assert_eq(http_request(port, get, reply), 0);
	cr_assert_eq(http_request_to(outside, port, get, reply), -ECONNREFUSED,
	             "a loopback server answers on another interface");
	metrics_server_stop();

	char errstr[256];
	cr_assert_eq(metrics_server_start("0.0.0.0", port, errstr, sizeof(errstr)), 0, "%s", errstr);
	cr_assert_eq(http_request_to(outside, port, get, reply), 0);
	cr_assert_eq(reply->status, 503);
	free(reply);
}
