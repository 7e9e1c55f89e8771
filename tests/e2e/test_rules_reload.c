/*
 * test_rules_reload.c - end to end: a running riskd picks up a good edit of its rule files
 * (on SIGHUP and when a file changes) and keeps the old set live when an edit does not load.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/e2e.h"

/* Waits up to timeout_s for the riskd log(s) in w->dir to contain needle `count` times. */
static int log_count_reaches(const struct e2e_world *w, const char *needle, int count,
                             double timeout_s)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "cat '%s'/riskd-*.log | grep -c -- '%s'", w->dir, needle);
	for (double t = 0; t < timeout_s; t += 0.2) {
		FILE *p = popen(cmd, "r");
		int n = 0;
		if (p) {
			if (fscanf(p, "%d", &n) != 1)
				n = 0;
			pclose(p);
		}
		if (n >= count)
			return 1;
		usleep(200000);
	}
	return 0;
}

Test(rules_reload, bad_edit_keeps_old_set_good_edit_goes_live, .timeout = 120)
{
	struct e2e_world w;
	char rules[1400];
	e2e_world_new(&w, "reload", 2, 200);
	snprintf(rules, sizeof(rules), "%s/rules", w.dir);
	e2e_sh("mkdir -p '%s' && cp rules/theft.yaml rules/credit.yaml '%s/'", rules, rules);
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

	/* the fix, made live by SIGHUP (or the file watch, whichever comes first) */
	e2e_sh("sed -i 's/drop_ratio_14dd/drop_ratio_14d/; s/^version: .*/version: \"1.0.1-test\"/'"
	       " '%s/theft.yaml'", rules);
	kill(pid, SIGHUP);
	cr_assert(log_count_reaches(&w, "event=rules_reloaded", 1, 20), "the fixed set did not load");
	cr_assert(log_count_reaches(&w, "version=1.0.1-test", 1, 1), "the new version is live");

	kill(pid, SIGTERM);
	cr_assert_eq(e2e_wait(pid, 30), 0, "riskd exits 0 on SIGTERM");
}
