/*
 * test_metrics.c - end to end against the local stack: /metrics tells which policies are live
 * and counts their reloads. riskd runs with a copy of the shipped rules and scorecards; an
 * edit that breaks the theft rules is counted as a failed reload and leaves the live versions
 * in riskd_policy_info; a good edit is counted ok and shows its new version; a broken
 * scorecard fails the credit reload; the operating rules are listed and their reloads
 * counted under their own kind.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/e2e.h"

static pid_t running;

static void kill_leftover(void)
{
	e2e_kill_leftover(&running);
}

TestSuite(metrics, .fini = kill_leftover);

static char body[65536];

/* Polls /metrics until it has a line equal to line, for up to timeout_s; returns 1 if so. */
static int await_line(int port, const char *line, double timeout_s)
{
	char want[512];
	snprintf(want, sizeof(want), "\n%s\n", line);
	for (double t = 0; t < timeout_s; t += 0.2) {
		if (e2e_http_get(port, "/metrics", body, sizeof(body)) == 200 && strstr(body, want))
			return 1;
		struct timespec ts = {0, 200000000};
		nanosleep(&ts, NULL);
	}
	return 0;
}

Test(metrics, policy_reloads_are_counted_and_live_versions_shown, .timeout = 180)
{
	struct e2e_world w;
	char rules[1400], cards[1400];
	e2e_world_new(&w, "policy_metrics", 1, 100);
	snprintf(rules, sizeof(rules), "%s/rules", w.dir);
	snprintf(cards, sizeof(cards), "%s/cards", w.dir);
	e2e_sh("mkdir -p '%s' '%s' && cp '%s'/rules/*.yaml '%s' && cp '%s'/scoring/cards/*.yaml '%s'",
	       rules, cards, w.env.root, rules, w.env.root, cards);
	e2e_world_set_rules(&w, rules);
	int port = e2e_free_port();
	e2e_world_set_metrics_port(&w, port);
	e2e_sh("printf 'scoring:\\n  scorecards: \"%s\"\\n' >> '%s'", cards, w.config);
	running = e2e_riskd_start(&w, NULL);

	cr_assert(await_line(port, "riskd_policy_reloads_total{kind=\"theft\",result=\"ok\"} 0", 30),
	          "no reload counted at start (logs in %s)", w.dir);
	cr_assert(strstr(body, "riskd_policy_info{kind=\"theft\",name=\"theft-core\",version=\"3.6.0\""),
	          "the shipped theft rules are live:\n%s", body);
	cr_assert(strstr(body, "riskd_policy_info{kind=\"credit\",name=\"credit-policy\",version=\"1.2.0\""));
	cr_assert(strstr(body, "riskd_policy_info{kind=\"scorecard\",name=\"residential\""));
	cr_assert(strstr(body, "riskd_policy_info{kind=\"operating\",name=\"operating-risk\","
	                       "version=\"1.0.0\""),
	          "the shipped operating rules are live:\n%s", body);
	cr_assert(strstr(body, "\nriskd_policy_reloads_total{kind=\"operating\",result=\"ok\"} 0\n"));

	/* a broken theft rule file: counted once as failed, the old versions stay live */
	e2e_sh("printf 'rules: [\\n' >> '%s/theft.yaml'", rules);
	cr_assert(await_line(port, "riskd_policy_reloads_total{kind=\"theft\",result=\"failed\"} 1",
	                     15), "the failed reload is counted (logs in %s)", w.dir);
	cr_assert(strstr(body, "version=\"3.6.0\""), "the old set stays live");

	/* fixed, with a new version: counted ok and shown */
	e2e_sh("sed -e '$d' -e 's/^version: \"3.6.0\"/version: \"3.6.1\"/' '%s/theft.yaml' > "
	       "'%s/theft.new' && mv '%s/theft.new' '%s/theft.yaml'",
	       rules, rules, rules, rules);
	cr_assert(await_line(port, "riskd_policy_reloads_total{kind=\"theft\",result=\"ok\"} 1", 15),
	          "the good reload is counted (logs in %s)", w.dir);
	cr_assert(strstr(body, "riskd_policy_info{kind=\"theft\",name=\"theft-core\",version=\"3.6.1\""),
	          "the new version is live:\n%s", body);
	cr_assert(!strstr(body, "version=\"3.6.0\""));
	cr_assert(strstr(body, "riskd_policy_reloads_total{kind=\"theft\",result=\"failed\"} 1\n"),
	          "a broken file is counted once, not at every check");
	/* the operating rules load from the same files: the broken one failed their reload too,
	 * the fixed one reloaded them */
	cr_assert(strstr(body, "riskd_policy_reloads_total{kind=\"operating\",result=\"failed\"} 1\n"));
	cr_assert(strstr(body, "riskd_policy_reloads_total{kind=\"operating\",result=\"ok\"} 1\n"));

	/* a broken scorecard fails the credit reload */
	e2e_sh("printf 'bins: [\\n' >> '%s/residential.yaml'", cards);
	cr_assert(await_line(port, "riskd_policy_reloads_total{kind=\"credit\",result=\"failed\"} 1",
	                     15), "the failed credit reload is counted (logs in %s)", w.dir);

	/* the operating rules, edited with a new version: counted ok under their kind, shown */
	e2e_sh("sed -e 's/^version: \"1.0.0\"/version: \"1.0.1\"/' '%s/operating.yaml' > "
	       "'%s/operating.new' && mv '%s/operating.new' '%s/operating.yaml'",
	       rules, rules, rules, rules);
	cr_assert(await_line(port, "riskd_policy_reloads_total{kind=\"operating\",result=\"ok\"} 2",
	                     15), "the operating reload is counted (logs in %s)", w.dir);
	cr_assert(strstr(body, "riskd_policy_info{kind=\"operating\",name=\"operating-risk\","
	                       "version=\"1.0.1\""),
	          "the new operating version is live:\n%s", body);
	/* then broken: counted once as failed, the edited version stays live */
	e2e_sh("printf 'rules: [\\n' >> '%s/operating.yaml'", rules);
	cr_assert(await_line(port,
	                     "riskd_policy_reloads_total{kind=\"operating\",result=\"failed\"} 2",
	                     15), "the failed operating reload is counted (logs in %s)", w.dir);
	cr_assert(strstr(body, "riskd_policy_info{kind=\"operating\",name=\"operating-risk\","
	                       "version=\"1.0.1\""),
	          "the edited operating rules stay live");

	kill(running, SIGTERM);
	cr_assert_eq(e2e_wait(running, 60), 0);
	running = 0;
}
