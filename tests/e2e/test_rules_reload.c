/*
 * test_rules_reload.c - end to end: a running riskd picks up a good edit of its policy files
 * (rule files on SIGHUP and when a file changes; scorecards when a card changes) and keeps the
 * old set live when an edit does not load: readings scored between a broken edit and its fix
 * raise the old rule set's alert, and a customer graded after a broken card edit is graded by
 * the last good card.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/e2e.h"

/* A rule that fires on any day of at least 40 kWh, enough on its own to raise an alert. */
static const char marker_rule[] =
	"  - id: e2e_marker\n"
	"    title: End-to-end marker\n"
	"    when: kwh_day >= 40\n"
	"    score: 100\n"
	"    severity: high\n";

/* Writes events (one JSON object a line) to dir/name and publishes them. */
static void publish(const struct e2e_world *w, const char *name, const char *events)
{
	char path[sizeof(w->dir) + 64];
	snprintf(path, sizeof(path), "%s/%.60s", w->dir, name);
	FILE *fp = fopen(path, "w");
	cr_assert_not_null(fp, "%s", path);
	fputs(events, fp);
	fclose(fp);
	e2e_produce_file(w, path);
}

/* Waits up to timeout_s for query to count at least one row. */
static int rows_appear(const struct e2e_world *w, const char *query, double timeout_s)
{
	for (double t = 0; t < timeout_s; t += 0.25) {
		if (e2e_query_int(w->dsn, query) > 0)
			return 1;
		usleep(250000);
	}
	return 0;
}

/* How many lines of the riskd log(s) in w->dir contain needle. */
static int log_count(const struct e2e_world *w, const char *needle)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "cat '%s'/riskd-*.log | grep -c -- '%s'", w->dir, needle);
	FILE *p = popen(cmd, "r");
	int n = 0;
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = 0;
		pclose(p);
	}
	return n;
}

/* Waits up to timeout_s for the riskd log(s) in w->dir to contain needle `count` times. */
static int log_count_reaches(const struct e2e_world *w, const char *needle, int count,
                             double timeout_s)
{
	for (double t = 0; t < timeout_s; t += 0.2) {
		if (log_count(w, needle) >= count)
			return 1;
		usleep(200000);
	}
	return log_count(w, needle) >= count;
}

Test(rules_reload, bad_edit_keeps_old_set_good_edit_goes_live, .timeout = 120)
{
	struct e2e_world w;
	char rules[1400];
	e2e_world_new(&w, "reload", 2, 200);
	snprintf(rules, sizeof(rules), "%s/rules", w.dir);
	e2e_sh("mkdir -p '%s' && cp rules/theft.yaml rules/credit.yaml '%s/' && printf '%%s' '%s' >> "
	       "'%s/theft.yaml'", rules, rules, marker_rule, rules);
	e2e_world_set_rules(&w, rules);

	pid_t pid = e2e_riskd_start(&w, NULL);
	cr_assert(log_count_reaches(&w, "event=rules_loaded", 1, 30), "riskd did not load its rules");

	/* a broken edit: riskd reports it with file:line:col and keeps the running set */
	e2e_sh("sed -i 's/drop_ratio_14d/drop_ratio_14dd/' '%s/theft.yaml'", rules);
	cr_assert(log_count_reaches(&w, "event=rules_reload_failed", 1, 20),
	          "a broken rule file was not reported");
	cr_assert(log_count_reaches(&w, "theft.yaml:", 1, 1), "the diagnostic names the file");
	cr_assert(log_count_reaches(&w, "did you mean", 1, 1), "the diagnostic suggests a fix");
	cr_assert_eq(waitpid(pid, NULL, WNOHANG), 0, "riskd must keep running");

	/* the old set is really live: a day scored now raises its marker alert, under its version */
	publish(&w, "marker.jsonl",
	        "{\"type\":\"meter_reading\",\"event_id\":\"mk-1\",\"ts\":\"2026-03-01T00:00:00+08:00\","
	        "\"customer_id\":\"E2E-MARK\",\"meter_id\":\"M-MARK\",\"kwh\":45,\"interval_s\":86400}\n"
	        "{\"type\":\"meter_reading\",\"event_id\":\"mk-2\",\"ts\":\"2026-03-02T00:00:00+08:00\","
	        "\"customer_id\":\"E2E-MARK\",\"meter_id\":\"M-MARK\",\"kwh\":45,\"interval_s\":86400}\n");
	cr_assert(rows_appear(&w, "select count(*) from risk.alerts where customer_id = 'E2E-MARK'"
	                          " and ruleset_version = '3.6.0' and rules::text like '%e2e_marker%'",
	                      30), "the old rule set's marker alert did not appear");

	/* the fix, made live by SIGHUP (or the file watch, whichever comes first) */
	e2e_sh("sed -i 's/drop_ratio_14dd/drop_ratio_14d/; s/^version: .*/version: \"1.0.1-test\"/'"
	       " '%s/theft.yaml'", rules);
	kill(pid, SIGHUP);
	cr_assert(log_count_reaches(&w, "event=rules_reloaded", 1, 20), "the fixed set did not load");
	cr_assert(log_count_reaches(&w, "version=1.0.1-test", 1, 1), "the new version is live");

	kill(pid, SIGTERM);
	cr_assert_eq(e2e_wait(pid, 30), 0, "riskd exits 0 on SIGTERM");
}

Test(rules_reload, scorecard_edit_is_watched_and_a_bad_card_keeps_the_old_one, .timeout = 120)
{
	struct e2e_world w;
	char cards[1400];
	e2e_world_new(&w, "cardreload", 2, 200);
	snprintf(cards, sizeof(cards), "%s/cards", w.dir);
	e2e_sh("mkdir -p '%s' && cp scoring/cards/*.yaml '%s/'", cards, cards);
	e2e_sh("printf 'scoring:\\n  scorecards: \"%s\"\\n' >> '%s'", cards, w.config);

	pid_t pid = e2e_riskd_start(&w, NULL);
	cr_assert(log_count_reaches(&w, "event=rules_loaded", 1, 30), "riskd did not start");

	/* a scorecard-only edit: the rule files stay as they are, the watch sees the card */
	e2e_sh("sed -i 's/^version: .*/version: \"9.9-test\"/' '%s/residential.yaml'", cards);
	cr_assert(log_count_reaches(&w, "event=credit_reloaded", 1, 20),
	          "a scorecard edit alone was not picked up");
	cr_assert_eq(log_count(&w, "event=rules_reloaded"), 0, "the rule set did not reload");

	/* a broken card: reported with file, line and a suggestion; the last good card stays */
	e2e_sh("sed -i 's/^base_points:/base_pointz:/' '%s/residential.yaml'", cards);
	cr_assert(log_count_reaches(&w, "event=credit_reload_failed", 1, 20),
	          "a broken scorecard was not reported");
	cr_assert(log_count_reaches(&w, "residential.yaml:", 1, 1), "the diagnostic names the card");
	cr_assert(log_count_reaches(&w, "did you mean", 1, 1), "the diagnostic suggests a fix");
	cr_assert_eq(waitpid(pid, NULL, WNOHANG), 0, "riskd must keep running");

	publish(&w, "grade.jsonl",
	        "{\"type\":\"customer\",\"event_id\":\"cg-1\",\"ts\":\"2026-03-01T00:00:00+08:00\","
	        "\"customer_id\":\"E2E-CARD\",\"segment\":\"residential\",\"transformer_id\":\"T-CARD\"}\n"
	        "{\"type\":\"bill\",\"event_id\":\"cg-2\",\"ts\":\"2026-03-02T00:00:00+08:00\","
	        "\"customer_id\":\"E2E-CARD\",\"bill_id\":\"B-CARD\",\"amount\":80,"
	        "\"due_date\":\"2026-03-20\"}\n"
	        "{\"type\":\"payment\",\"event_id\":\"cg-3\",\"ts\":\"2026-03-05T00:00:00+08:00\","
	        "\"customer_id\":\"E2E-CARD\",\"amount\":80,\"bill_id\":\"B-CARD\"}\n");
	cr_assert(rows_appear(&w, "select count(*) from risk.credit_grades where customer_id ="
	                          " 'E2E-CARD' and scorecard = 'residential' and scorecard_version ="
	                          " '9.9-test'", 30),
	          "the customer was not graded by the last good card");

	kill(pid, SIGTERM);
	cr_assert_eq(e2e_wait(pid, 30), 0, "riskd exits 0 on SIGTERM");
}
