/*
 * test_rebalance.c - end to end against the local stack: rebalances hand over only the
 * partitions that change owner. With the cooperative-sticky assignor (riskd's default) a third
 * instance joining two takes its share and the two others keep the rest without reloading
 * anything. Each test feeds half of a generated city before the change and half after, and
 * the database must end identical (digest for digest) to one uninterrupted instance's.
 *
 * Static membership (group.instance.id from ${ENV}): on a real broker an instance killed and
 * restarted within the session timeout gets its cached assignment back with no rebalance.
 * The mock cluster (librdkafka 2.0.2) ignores group.instance.id: the restarted member joins
 * as a new one and the group rebalances once or twice, depending on whether its join
 * completes before the killed member's session expires, a matter of timing. So the test
 * checks only what riskd must get right however the group rebalances: an instance id taken
 * from ${ENV} is accepted (and an unset variable refused), the restarted instance is
 * assigned partitions and resumes them from PostgreSQL, and the results are one instance's.
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

#define PARTITIONS 6
#define TOPIC_PARTITIONS (4 * PARTITIONS) /* readings, billing, profiles, transformer */

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL);
}

/* riskd-N.log of w: the Nth riskd the test started. */
static void log_path(const struct e2e_world *w, int n, char *out, size_t size)
{
	snprintf(out, size, "%s/riskd-%d.log", w->dir, n);
}

/* Runs a shell pipeline printing one integer; returns it (-1 when it printed nothing). */
static long sh_int(const char *fmt, const char *file)
{
	char cmd[2048], out[64] = "";
	snprintf(cmd, sizeof(cmd), fmt, file);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	return out[0] ? strtol(out, NULL, 10) : -1;
}

/* Lines of file matching the extended regex pattern. */
static long log_lines(const char *file, const char *pattern)
{
	char fmt[512];
	snprintf(fmt, sizeof(fmt), "grep -Ec '%s' '%%s' 2>/dev/null", pattern);
	return sh_int(fmt, file);
}

/* The number after "field=" in the first line of file with event=event and count>0. */
static long log_field(const char *file, const char *event, const char *field)
{
	char fmt[512];
	snprintf(fmt, sizeof(fmt),
	         "grep -E 'event=%s count=[1-9]' '%%s' | head -1 | sed -E 's/.* %s=([0-9]+).*/\\1/'",
	         event, field);
	return sh_int(fmt, file);
}

/* Partitions the riskd logging to file owns after the last assignment or revoke it logged:
 * kept + count after an assignment, kept after a revoke (0 before any). */
static long log_owned(const char *file)
{
	return sh_int("awk '/event=partitions_(assigned|revoked) / { c = 0; k = 0;"
	              " for (i = 1; i <= NF; i++) { if ($i ~ /^count=/) c = substr($i, 7);"
	              " if ($i ~ /^kept=/) k = substr($i, 6) }"
	              " o = /assigned/ ? k + c : k } END { print o + 0 }' '%s' 2>/dev/null",
	              file);
}

/* Partitions the riskd logging to file gave up in the revokes that kept some. */
static long log_given_up(const char *file)
{
	return sh_int("awk '/event=partitions_revoked count=[0-9]+ kept=[1-9]/ {"
	              " for (i = 1; i <= NF; i++) if ($i ~ /^count=/) s += substr($i, 7) }"
	              " END { print s + 0 }' '%s' 2>/dev/null",
	              file);
}

/* Waits until file has a partitions_assigned line with partitions in it. */
static void wait_assigned(const char *file, double timeout_s)
{
	for (double t = 0; t < timeout_s; t += 0.25) {
		if (log_lines(file, "event=partitions_assigned count=[1-9]") > 0)
			return;
		sleep_s(0.25);
	}
	cr_assert_fail("no partitions assigned within %.0f s (%s)", timeout_s, file);
}

/* Waits until the offsets stored in w's database stop moving (2 s unchanged). */
static void wait_settled(const struct e2e_world *w, double timeout_s)
{
	int64_t last = -1;
	int same = 0;
	for (double t = 0; t < timeout_s; t += 0.5) {
		int64_t now = e2e_query_int(w->dsn, "select coalesce(sum(next_offset), 0)"
		                                    " from risk.kafka_offsets");
		same = now > 0 && now == last ? same + 1 : 0;
		if (same >= 4)
			return;
		last = now;
		sleep_s(0.5);
	}
	cr_assert_fail("stored offsets still moving after %.0f s", timeout_s);
}

/* Generates a city and splits it in two files of whole lines, first and second. */
static void split_city(const struct e2e_world *w, char *first, char *second, size_t size)
{
	char file[1400];
	snprintf(file, sizeof(file), "%s/city.jsonl", w->dir);
	snprintf(first, size, "%s/first.jsonl", w->dir);
	snprintf(second, size, "%s/second.jsonl", w->dir);
	e2e_sh("'%s/riskctl' gen --customers 150 --days 8 --seed 5 --interval-s 1800"
	       " --dup-rate 0.002 --bad-rate 0.001 > '%s' 2>/dev/null",
	       w->env.bin, file);
	e2e_sh("n=$(wc -l < '%s'); head -n $((n / 2)) '%s' > '%s'; tail -n +$((n / 2 + 1)) '%s' > '%s'",
	       file, file, first, file, second);
}

/* Replays the topics into a fresh database with one uninterrupted instance (no static
 * membership) and compares the result tables with the run's. */
static void assert_same_as_reference(struct e2e_world *w)
{
	char got[2048], ref[2048];
	e2e_result_digest(w->dsn, got, sizeof(got));
	cr_assert_gt(e2e_query_int(w->dsn, "select count(*) from risk.daily_usage"), 0);
	e2e_world_set_kafka_extra(w, "");
	e2e_world_new_database(w, "ref");
	e2e_world_set_group(w, "riskd-reference");
	e2e_riskd_run_until_idle(w, 4, 300);
	e2e_result_digest(w->dsn, ref, sizeof(ref));
	cr_assert_str_eq(got, ref,
	                 "database after the rebalances differs from one instance's:\n"
	                 "  run       %s\n  reference %s", got, ref);
}

/*
 * Starts the test's first two instances (riskd-1.log and riskd-2.log: log_a, log_b), with the
 * environment variable member_var (NULL: none) set to "a" and "b" for them, waits until both
 * hold partitions and the input so far is processed.
 */
static void start_two(struct e2e_world *w, const char *member_var, const char *args, pid_t *a,
                      pid_t *b, char *log_a, char *log_b, size_t size)
{
	if (member_var)
		setenv(member_var, "a", 1);
	*a = e2e_riskd_start(w, args);
	if (member_var)
		setenv(member_var, "b", 1);
	*b = e2e_riskd_start(w, args);
	log_path(w, 1, log_a, size);
	log_path(w, 2, log_b, size);
	wait_assigned(log_a, 60);
	wait_assigned(log_b, 60);
	wait_settled(w, 120);
}

/* Copies riskd-N.log to riskd-N.at-join, the log as it stood at the rebalance under test. */
static void snapshot(const struct e2e_world *w, int n, char *out, size_t size)
{
	char file[1400];
	log_path(w, n, file, sizeof(file));
	snprintf(out, size, "%s/riskd-%d.at-join", w->dir, n);
	e2e_sh("cp '%s' '%s'", file, out);
}

Test(rebalance, third_instance_moves_only_its_share, .timeout = 600)
{
	struct e2e_world w;
	char first[1400], second[1400], log_a[1400], log_b[1400], log_c[1400];
	e2e_world_new(&w, "join3", PARTITIONS, 400);
	split_city(&w, first, second, sizeof(first));
	e2e_produce_file(&w, first);

	pid_t a, b;
	/* idle long enough that neither first instance stops before the third one's join has
	 * settled (on a loaded machine the second round of the join took 10 s) */
	start_two(&w, NULL, "--until-idle 45", &a, &b, log_a, log_b, sizeof(log_a));

	pid_t c = e2e_riskd_start(&w, "--until-idle 45");
	log_path(&w, 3, log_c, sizeof(log_c));
	wait_assigned(log_c, 60);
	/* the cooperative rebalance may hand the third instance its share in more than one
	 * assignment (one per instance that gives partitions up, when they do it in different
	 * rounds): wait until it owns what the others gave up */
	long taken = 0;
	for (double t = 0; t < 120; t += 0.25) {
		taken = log_owned(log_c);
		long given = log_given_up(log_a) + log_given_up(log_b);
		if (given > 0 && taken == given)
			break;
		sleep_s(0.25);
	}
	sleep_s(0.5);
	char snap_a[1400], snap_b[1400];
	snapshot(&w, 1, snap_a, sizeof(snap_a));
	snapshot(&w, 2, snap_b, sizeof(snap_b));
	e2e_produce_file(&w, second);
	cr_assert_eq(e2e_wait(a, 300), 0, "first instance failed (logs in %s)", w.dir);
	cr_assert_eq(e2e_wait(b, 300), 0, "second instance failed (logs in %s)", w.dir);
	cr_assert_eq(e2e_wait(c, 300), 0, "third instance failed (logs in %s)", w.dir);

	/* the two first instances split everything, then each gave up part and kept the rest:
	 * one assignment each (no reload), one revoke that kept partitions, no resync */
	long moved = 0, kept = 0;
	const char *snaps[] = {snap_a, snap_b};
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(log_lines(snaps[i], "event=partitions_assigned count=[1-9]"), 1,
		             "%s: assigned more than once before the third instance joined", snaps[i]);
		cr_assert_eq(log_lines(snaps[i], "event=partitions_revoked count=[1-9][0-9]* kept=[1-9]"),
		             1, "%s: no partial revoke", snaps[i]);
		cr_assert_eq(log_lines(snaps[i], "event=partitions_revoked .*kept=0"), 0,
		             "%s: gave up everything", snaps[i]);
		cr_assert_eq(log_lines(snaps[i], "event=resynced"), 0);
		moved += log_field(snaps[i], "partitions_revoked", "count");
		kept += log_field(snaps[i], "partitions_revoked", "kept");
	}
	cr_log_info("the third instance took %ld partitions; the two others kept %ld", taken, kept);
	cr_assert_eq(taken, moved, "what the third instance took is what the others gave up");
	cr_assert_eq(kept + taken, TOPIC_PARTITIONS);
	cr_assert(taken >= TOPIC_PARTITIONS / 4 && taken <= TOPIC_PARTITIONS / 2,
	          "about a third of the partitions moved, not %ld", taken);
	/* the moved partitions' state came from the checkpoint the revoke wrote */
	cr_assert_gt(log_field(log_c, "partitions_assigned", "customers"), 0);
	e2e_assert_kafka_commits_match(&w);
	assert_same_as_reference(&w);
}

Test(rebalance, static_member_restart_resumes_from_postgresql, .timeout = 600)
{
	struct e2e_world w;
	char first[1400], second[1400], log_a[1400], log_b[1400], log_b2[1400], out[4096];
	e2e_world_new(&w, "static", PARTITIONS, 400);
	e2e_world_set_kafka_extra(&w, "  consumer_properties:\n"
	                              "    group.instance.id: \"riskd-${RISKD_TEST_MEMBER}\"\n");
	/* the instance id comes from the environment: unset, the config is refused by name */
	unsetenv("RISKD_TEST_MEMBER");
	cr_assert_neq(e2e_run_capture(out, sizeof(out), "'%s/riskd' --config '%s' --check-config",
	                              w.env.bin, w.config),
	              0, "an unset ${RISKD_TEST_MEMBER} was accepted");
	cr_assert(strstr(out, "RISKD_TEST_MEMBER") != NULL, "%s", out);
	setenv("RISKD_TEST_MEMBER", "a", 1);
	cr_assert_eq(e2e_run_capture(out, sizeof(out), "'%s/riskd' --config '%s' --check-config",
	                             w.env.bin, w.config),
	             0, "%s", out);

	split_city(&w, first, second, sizeof(first));
	setenv("RISKD_TEST_MEMBER", "producer", 1); /* riskctl produce reads the config too */
	e2e_produce_file(&w, first);

	pid_t a, b;
	start_two(&w, "RISKD_TEST_MEMBER", "--until-idle 25", &a, &b, log_a, log_b, sizeof(log_a));
	cr_assert_gt(log_field(log_b, "partitions_assigned", "count"), 0);

	/* no goodbye: the member stays in the group until its session times out */
	cr_assert_eq(kill(b, SIGKILL), 0);
	waitpid(b, NULL, 0);
	pid_t b2 = e2e_riskd_start(&w, "--until-idle 25"); /* RISKD_TEST_MEMBER is still b */
	log_path(&w, 3, log_b2, sizeof(log_b2));
	wait_assigned(log_b2, 60);
	setenv("RISKD_TEST_MEMBER", "producer", 1);
	e2e_produce_file(&w, second);
	cr_assert_eq(e2e_wait(a, 300), 0, "first instance failed (logs in %s)", w.dir);
	cr_assert_eq(e2e_wait(b2, 300), 0, "restarted instance failed (logs in %s)", w.dir);

	/* the restarted instance loaded its partitions' customers from PostgreSQL: the first
	 * half of the city was checkpointed before the kill */
	cr_assert_gt(log_field(log_b2, "partitions_assigned", "customers"), 0);
	cr_assert_eq(log_lines(log_b2, "event=resynced"), 0);
	assert_same_as_reference(&w);
}
