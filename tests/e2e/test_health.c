/*
 * test_health.c - end to end against the local stack: riskd's health tells the truth and its
 * messages keep secrets.
 *
 * - PostgreSQL restarted while riskd idles: /healthz and /readyz say postgres_unreachable (a
 *   reason code, not libpq's text), retries are counted, riskd reconnects by itself and
 *   applies the analysts' theft confirmations again.
 * - /readyz: lagging above health.ready_max_lag, stalled when a hung commit makes no progress
 *   for health.stall_s while messages wait, ready once caught up.
 * - A riskd restarted caught up reports a consumer lag of 0, not the whole topics.
 * - A fetch stall with messages left: /healthz says kafka_stalled, /readyz stalled, and
 *   --until-idle gives up
 *   (exit 3, one line saying why) instead of exiting 0; once fetching works it finishes.
 * - A DSN's password appears in no log line or error of riskd or riskctl, whether libpq can
 *   parse the DSN or not; riskctl gen escapes control bytes of a rejected argument.
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

#define PASSWORD "Zq7secretPw"

/* The riskd a test left running when an assertion stopped it: killed by the suite's fini. */
static pid_t running;

static void kill_leftover(void)
{
	e2e_kill_leftover(&running);
}

TestSuite(health, .fini = kill_leftover);

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL);
}

/* A small generated city in w's topics; returns its line count. */
static int64_t publish_city(const struct e2e_world *w, int customers, int days)
{
	char file[1400];
	snprintf(file, sizeof(file), "%s/city.jsonl", w->dir);
	e2e_sh("'%s/riskctl' gen --customers %d --days %d --interval-s 21600 --seed 11 > '%s' "
	       "2>/dev/null",
	       w->env.bin, customers, days, file);
	e2e_produce_file(w, file);
	FILE *f = fopen(file, "r");
	cr_assert_not_null(f);
	int64_t lines = 0;
	for (int c; (c = fgetc(f)) != EOF;)
		lines += c == '\n';
	fclose(f);
	return lines;
}

/* A world for one test with the metrics endpoint on a free port; returns the port. */
static int world_with_port(struct e2e_world *w, const char *name, int partitions,
                           int batch_size)
{
	e2e_world_new(w, name, partitions, batch_size);
	int port = e2e_free_port();
	e2e_world_set_metrics_port(w, port);
	return port;
}

/* A world for one test with the metrics endpoint on a free port (*port) and a city in its
 * topics; returns the city's line count. */
static int64_t world_with_city(struct e2e_world *w, const char *name, int partitions, int *port)
{
	*port = world_with_port(w, name, partitions, 500);
	return publish_city(w, 40, 10);
}

/* Appends a health section to w's config (after the last e2e_world_set_* rewrite). */
static void set_health(const struct e2e_world *w, int stall_s, int ready_max_lag)
{
	e2e_sh("printf 'health:\\n  stall_s: %d\\n  ready_max_lag: %d\\n' >> '%s'", stall_s,
	       ready_max_lag, w->config);
}

/* Polls path (/healthz, /readyz) until it answers status with body want (NULL: any), for up
 * to timeout_s. Returns 1 when it did; the last body is left in body. */
static int await_path(int port, const char *path, int status, const char *want,
                      double timeout_s, char *body, size_t body_size)
{
	for (double t = 0; t < timeout_s; t += 0.1) {
		int got = e2e_http_get(port, path, body, body_size);
		if (got == status && (!want || strcmp(body, want) == 0))
			return 1;
		sleep_s(0.1);
	}
	return 0;
}

/* await_path on /healthz. */
static int await_health(int port, int status, const char *want, double timeout_s, char *body,
                        size_t body_size)
{
	return await_path(port, "/healthz", status, want, timeout_s, body, body_size);
}

/* await_path on /readyz. */
static int await_ready(int port, int status, const char *want, double timeout_s, char *body,
                       size_t body_size)
{
	return await_path(port, "/readyz", status, want, timeout_s, body, body_size);
}

/* The value of an unlabelled metric from /metrics; asserts it is there. */
static long long metric(int port, const char *name)
{
	static char body[65536];
	char head[128];
	cr_assert_eq(e2e_http_get(port, "/metrics", body, sizeof(body)), 200);
	snprintf(head, sizeof(head), "\n%s ", name);
	const char *at = strstr(body, head);
	cr_assert_not_null(at, "no %s in /metrics", name);
	return strtoll(at + strlen(head), NULL, 10);
}

/* Waits until riskd has committed every input line. */
static void await_ingested(const struct e2e_world *w, int64_t lines, double timeout_s)
{
	int64_t got = -1;
	for (double t = 0; t < timeout_s && got != lines; t += 0.2) {
		got = e2e_query_int(w->dsn, "select coalesce(sum(count), 0) from risk.ingest_counts");
		if (got != lines)
			sleep_s(0.2);
	}
	cr_assert_eq(got, lines, "riskd committed %lld of %lld lines (logs in %s)", (long long)got,
	             (long long)lines, w->dir);
}

/* Stops riskd with SIGTERM and asserts a clean exit. */
static void stop_riskd(const struct e2e_world *w, pid_t pid)
{
	kill(pid, SIGTERM);
	running = 0;
	cr_assert_eq(e2e_wait(pid, 60), 0, "riskd did not stop cleanly (logs in %s)", w->dir);
}

/* Counts the lines of w's riskd logs that hold text. */
static int64_t log_lines(const struct e2e_world *w, const char *text)
{
	char cmd[1600], out[32] = "";
	snprintf(cmd, sizeof(cmd), "cat '%s'/riskd-*.log | grep -c -- '%s'", w->dir, text);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	if (!fgets(out, sizeof(out), p))
		out[0] = '\0';
	pclose(p);
	return strtoll(out, NULL, 10);
}

Test(health, postgres_restart_while_idle_is_noticed_and_survived, .timeout = 300)
{
	struct e2e_world w;
	char body[512];
	int port;
	int64_t lines = world_with_city(&w, "health_pg", 2, &port);
	pid_t pid = running = e2e_riskd_start(&w, NULL);
	await_ingested(&w, lines, 120);
	cr_assert(await_health(port, 200, "ok\n", 30, body, sizeof(body)), "not healthy: %s", body);
	cr_assert(await_ready(port, 200, "ready\n", 30, body, sizeof(body)), "not ready: %s", body);

	/* idle riskd, PostgreSQL restarted under it */
	e2e_sh("deploy/local-stack.sh pg-stop >/dev/null 2>&1");
	int noticed = await_health(port, 503, "unhealthy: postgres_unreachable\n", 15, body,
	                           sizeof(body));
	char ready_body[512] = "";
	int unready = noticed && await_ready(port, 503, "not ready: postgres_unreachable\n", 5,
	                                     ready_body, sizeof(ready_body));
	long long retries = noticed ? metric(port, "riskd_pg_retries_total") : 0;
	e2e_sh("deploy/local-stack.sh pg-start >/dev/null 2>&1");
	cr_assert(noticed, "an idle riskd must notice PostgreSQL is gone; /healthz said: %s", body);
	cr_assert(unready, "without PostgreSQL riskd is not ready; /readyz said: %s", ready_body);
	cr_assert_gt(retries, 0, "the reconnect attempts are counted");
	cr_assert(await_health(port, 200, "ok\n", 60, body, sizeof(body)),
	          "riskd must reconnect by itself; /healthz says: %s (logs in %s)", body, w.dir);
	cr_assert(await_ready(port, 200, "ready\n", 30, body, sizeof(body)),
	          "ready again after the reconnect; /readyz says: %s", body);

	/* the analysts' feedback flows again: a confirmation written now is applied */
	char customer[128];
	e2e_query_text(w.dsn, "select min(customer_id) from risk.daily_usage", customer,
	               sizeof(customer));
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "insert into risk.theft_confirmations (customer_id, confirmed, seq) values ('%s', "
	         "true, nextval('risk.theft_confirmation_seq')) returning 1",
	         customer);
	cr_assert_eq(e2e_query_int(w.dsn, sql), 1);
	char applied[300];
	snprintf(applied, sizeof(applied), "event=theft_confirmation customer=%s confirmed=1",
	         customer);
	for (int i = 0; i < 100 && log_lines(&w, applied) == 0; i++)
		sleep_s(0.1);
	cr_assert_eq(log_lines(&w, applied), 1, "the confirmation is applied once (logs in %s)",
	             w.dir);
	/* and the outage was reported, not repeated every 2 s forever */
	cr_assert_leq(log_lines(&w, "event=feedback_failed"), 2);
	cr_assert_leq(log_lines(&w, "event=\\(area_balance\\|attribution\\)_failed"), 2,
	              "the idle work waits for the reconnect instead of failing on every turn "
	              "(logs in %s)", w.dir);
	cr_assert_geq(log_lines(&w, "event=resynced"), 1);
	/* the same process finishes its idle work: every area-day balanced and every area-window
	 * attributed (both queues empty for a second) */
	int64_t queued = -1;
	for (int i = 0, empty = 0; i < 600 && empty < 5; i++) {
		queued = e2e_query_int(w.dsn, "select (select count(*) from risk.area_refresh_queue)"
		                              " + (select count(*) from risk.area_attribution_queue)");
		empty = queued ? 0 : empty + 1;
		sleep_s(0.2);
	}
	cr_assert_eq(queued, 0, "area work left queued after the reconnect (logs in %s)", w.dir);
	stop_riskd(&w, pid);

	/* and the database ends as an undisturbed run's (test_faults.c's other faults end so too) */
	char got[2048], ref[2048];
	e2e_result_digest(w.dsn, got, sizeof(got));
	e2e_reference_digest(&w, ref, sizeof(ref));
	cr_assert_str_eq(got, ref, "database after the restart differs from an undisturbed run's:\n"
	                 "  run         %s\n  undisturbed %s", got, ref);
}

Test(health, caught_up_restart_reports_no_lag, .timeout = 300)
{
	struct e2e_world w;
	char body[512];
	int port;
	int64_t lines = world_with_city(&w, "health_lag", 3, &port);
	e2e_riskd_run_until_idle(&w, 2, 180);
	await_ingested(&w, lines, 1);

	pid_t pid = running = e2e_riskd_start(&w, NULL);
	cr_assert(await_health(port, 200, "ok\n", 60, body, sizeof(body)), "not healthy: %s", body);
	sleep_s(2.5); /* the gauges are set once a second */
	cr_assert_eq(metric(port, "riskd_assigned_partitions"), 3 * 4);
	cr_assert_eq(metric(port, "riskd_consumer_lag"), 0,
	             "a riskd that starts caught up has no lag (the topics hold %lld messages)",
	             (long long)lines);
	stop_riskd(&w, pid);
}

/*
 * Readiness follows committed progress, judged at the probe's time: a commit that hangs (a
 * lock held on the offsets table) while messages arrive is lagging at once and stalled after
 * health.stall_s, though the loop is stuck and cannot report; once the lock goes, riskd
 * catches up and is ready again.
 */
Test(health, readyz_follows_lag_and_committed_progress, .timeout = 300)
{
	struct e2e_world w;
	char body[512];
	int port = world_with_port(&w, "health_ready", 2, 200);
	/* stall_s longer than publishing the city takes (over 3 s in a CI run), so that the
	 * probe sees it lagging before it is stalled */
	set_health(&w, 8, 50);
	pid_t pid = running = e2e_riskd_start(&w, NULL);
	cr_assert(await_ready(port, 200, "ready\n", 60, body, sizeof(body)),
	          "empty topics, partitions loaded: ready; /readyz said: %s", body);

	/* hold the offsets table for 18 s, then publish a city */
	e2e_sh("(psql '%s' -q -c 'begin; lock table risk.kafka_offsets in access exclusive mode;"
	       " select pg_sleep(18); commit' > '%s/lock.out' 2>&1 &)",
	       w.dsn, w.dir);
	for (int i = 0; i < 100 && e2e_query_int(w.dsn, "select count(*) from pg_locks where"
	                                          " relation = 'risk.kafka_offsets'::regclass"
	                                          " and mode = 'AccessExclusiveLock' and granted") == 0;
	     i++)
		sleep_s(0.05);
	int64_t lines = publish_city(&w, 40, 10);
	char lagging[512] = "", stalled[512] = "";
	int saw_lagging = await_ready(port, 503, "not ready: lagging\n", 5, lagging,
	                              sizeof(lagging));
	int saw_stalled = await_ready(port, 503, "not ready: stalled\n", 14, stalled,
	                              sizeof(stalled));
	cr_assert(saw_lagging, "a lag above health.ready_max_lag is not ready; /readyz said: %s",
	          lagging);
	cr_assert(saw_stalled, "no committed progress for health.stall_s while messages wait is "
	          "not ready; /readyz said: %s", stalled);
	await_ingested(&w, lines, 120);
	cr_assert(await_ready(port, 200, "ready\n", 30, body, sizeof(body)),
	          "caught up: ready again; /readyz says: %s (logs in %s)", body, w.dir);
	stop_riskd(&w, pid);
}

/* The mock cluster's control command, with the error it injects into every Fetch request. */
static void fetch_errors(const struct e2e_world *w, int on)
{
	if (on)
		e2e_sh("'%s/mock-kafka' ctl --control '%s' request-errors Fetch "
		       "NOT_LEADER_FOR_PARTITION 100000 >/dev/null",
		       w->env.bin, w->env.control);
	else
		e2e_sh("'%s/mock-kafka' ctl --control '%s' clear-errors Fetch >/dev/null", w->env.bin,
		       w->env.control);
}

Test(health, fetch_stall_is_unhealthy_and_until_idle_gives_up, .timeout = 300)
{
	struct e2e_world w;
	char body[512];
	int port;
	int64_t lines = world_with_city(&w, "health_stall", 2, &port);
	set_health(&w, 4, 100000);

	/* a service: unhealthy while stalled */
	fetch_errors(&w, 1);
	pid_t pid = e2e_riskd_start(&w, NULL);
	int healthy = await_health(port, 200, "ok\n", 60, body, sizeof(body));
	int stalled = await_health(port, 503, "unhealthy: kafka_stalled\n", 60, body, sizeof(body));
	char ready_body[512] = "";
	int unready = await_ready(port, 503, "not ready: stalled\n", 10, ready_body,
	                          sizeof(ready_body));
	kill(pid, SIGTERM);
	int rc_service = e2e_wait(pid, 60);
	/* --until-idle: gives up rather than stop as if it had caught up */
	pid = e2e_riskd_start(&w, "--until-idle 2");
	int rc = e2e_wait(pid, 60);
	fetch_errors(&w, 0);
	cr_assert(healthy, "healthy once the partitions are loaded; /healthz said: %s", body);
	cr_assert(stalled, "a fetch stall with messages left is unhealthy; /healthz said: %s", body);
	cr_assert(unready, "and not ready; /readyz said: %s", ready_body);
	cr_assert_eq(rc_service, 0);
	cr_assert_eq(rc, 3, "--until-idle gives up with exit 3, not %d (logs in %s)", rc, w.dir);
	cr_assert_eq(log_lines(&w, "gave up: input stalled with"), 1, "one line says why");
	cr_assert_eq(e2e_query_int(w.dsn, "select coalesce(sum(count), 0) from risk.ingest_counts"),
	             0, "nothing was fetched");

	/* fetching works again: the next run reads everything and exits 0 */
	e2e_riskd_run_until_idle(&w, 2, 180);
	await_ingested(&w, lines, 1);
}

/* Writes w's config with postgres.dsn = dsn into path. */
static void config_with_dsn(const struct e2e_world *w, const char *dsn, char *path,
                            size_t path_size)
{
	snprintf(path, path_size, "%s/bad-dsn.yaml", w->dir);
	e2e_sh("sed 's|^  dsn: .*|  dsn: \"%s\"|' '%s' > '%s'", dsn, w->config, path);
}

/* Runs riskd and riskctl with config; asserts both fail without showing PASSWORD and with
 * want in what they print. */
static void assert_dsn_kept_secret(const struct e2e_world *w, const char *config,
                                   const char *want)
{
	char out[1400];
	snprintf(out, sizeof(out), "%s/secret.out", w->dir);
	e2e_sh("cd '%s' && ! timeout 60 '%s/riskd' --config '%s' --until-idle 1 > '%s' 2>&1",
	       w->env.root, w->env.bin, config, out);
	e2e_sh("cd '%s' && ! '%s/riskctl' alerts list --config '%s' >> '%s' 2>&1", w->env.root,
	       w->env.bin, config, out);
	e2e_sh("! grep -q -- '%s' '%s' || { cat '%s'; false; }", PASSWORD, out, out);
	e2e_sh("test \"$(grep -c -- '%s' '%s')\" -ge 2 || { cat '%s'; false; }", want, out, out);
}

Test(secrets, a_dsn_password_never_shows, .timeout = 180)
{
	struct e2e_world w;
	char config[1400];
	e2e_world_new(&w, "secret_dsn", 1, 100);

	/* libpq cannot parse it, and its own message would quote the password */
	config_with_dsn(&w, "postgresql://riskd:" PASSWORD "%zz@127.0.0.1/riskd", config,
	                sizeof(config));
	assert_dsn_kept_secret(&w, config, "cannot be parsed: invalid percent-encoded token");

	/* parsed, but nothing listens there: the error names the DSN with the password masked */
	config_with_dsn(&w, "host=127.0.0.1 port=1 dbname=riskd user=riskd password=" PASSWORD,
	                config, sizeof(config));
	assert_dsn_kept_secret(&w, config, "password=\\*\\*\\*\\*\\*\\*\\*\\*");
}

Test(secrets, riskctl_gen_escapes_control_bytes, .timeout = 60)
{
	struct e2e_env env;
	char out[256];
	e2e_env_load(&env);
	snprintf(out, sizeof(out), "/tmp/riskd-e2e-gen-%d.err", (int)getpid());
	e2e_sh("! '%s/riskctl' gen --seed \"$(printf 'x\\033[31mred')\" 2> '%s'", env.bin, out);
	e2e_sh("! grep -q \"$(printf '\\033')\" '%s' || { cat -v '%s'; false; }", out, out);
	e2e_sh("grep -qF -- \"--seed 'x\\x1b[31mred'\" '%s' || { cat -v '%s'; false; }", out, out);
	unlink(out);
}
