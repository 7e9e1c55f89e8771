/*
 * test_faults.c - end to end against the local stack: faults injected through the mock
 * cluster's control socket (tools/mock_kafka.c) while riskd works through a generated city,
 * and in every case the database ends equal to an undisturbed run's, digest for digest
 * (e2e_result_digest), with every dead letter published exactly once. riskd reads the city's
 * first half and catches up; the fault starts with the second half (mid-stream) and holds a
 * few seconds; riskd must finish by itself (--until-idle, exit 0). Each test also checks that
 * its fault bit:
 *
 * - the broker down and up (the stack has one broker: the whole cluster goes, the group's
 *   session expires and riskd rejoins): nothing stored while it is down;
 * - every Produce request failing (the outbox relay's alerts, grades and dead letters): rows
 *   wait in the outbox meanwhile, and none is published twice;
 * - every Fetch request failing: nothing stored meanwhile;
 * - 400 ms of added round-trip latency on every request: riskd is not done when it is lifted;
 * - riskd SIGSTOPped past its session timeout while another instance takes its partitions,
 *   then resumed: it must not commit over the new owner, in PostgreSQL (fenced offsets) or in
 *   Kafka (the committed offsets end equal to the stored ones);
 * - a theft confirmation written while riskd was down, for a customer riskd rebuilds by
 *   replaying Kafka, with latency that makes riskd poll the feedback before the replay: the
 *   confirmation reaches the customer.
 *
 * PostgreSQL restarted under an idle riskd is tested in test_health.c
 * (postgres_restart_while_idle_is_noticed_and_survived), which compares its database with an
 * undisturbed run's too.
 *
 * Every test publishes the same city into its own topics, so one undisturbed run gives the
 * reference for all: the first test that needs it runs it on its own topics
 * (e2e_reference_digest), and the others read it from a file under var/e2e named after the
 * suite's runner process and the riskd binary. The suite takes about four minutes.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/e2e.h"

#define PARTITIONS 4
#define BATCH 150
#define IDLE_ARGS "--until-idle 6"

/* riskd processes a test started, killed by the suite's fini when an assertion stops it. */
static pid_t running[2];

static void kill_leftovers(void)
{
	e2e_kill_leftover(&running[0]);
	e2e_kill_leftover(&running[1]);
}

TestSuite(faults, .fini = kill_leftovers);

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL);
}

/*
 * A fresh world with the suite's city: its first half in the topics, the second half's file
 * path in second (for the test to publish). riskd prefetches little (kafka.prefetch_messages
 * 1000 a partition), so that a fault of the fetch path stops it rather than a queue it
 * filled beforehand.
 */
static void world_with_city(struct e2e_world *w, const char *name, char *second, size_t size)
{
	char file[1400], first[1400];
	e2e_world_new(w, name, PARTITIONS, BATCH);
	e2e_world_set_kafka_extra(w, "  prefetch_messages: 1000\n");
	snprintf(file, sizeof(file), "%s/city.jsonl", w->dir);
	snprintf(first, sizeof(first), "%s/first.jsonl", w->dir);
	snprintf(second, size, "%s/second.jsonl", w->dir);
	e2e_sh("'%s/riskctl' gen --customers 120 --days 8 --seed 23 --interval-s 1800"
	       " --dup-rate 0.002 --bad-rate 0.002 > '%s' 2>/dev/null",
	       w->env.bin, file);
	/* GNU split: two files of whole lines, <dir>/half.aa and <dir>/half.ab */
	e2e_sh("cd '%s' && split -n l/2 city.jsonl half. && mv half.aa '%s' && mv half.ab '%s'",
	       w->dir, first, second);
	e2e_produce_file(w, first);
}

/* Input messages whose results riskd stored so far (the stored offsets' sum). */
static int64_t stored(const struct e2e_world *w)
{
	return e2e_query_int(w->dsn, "select coalesce(sum(next_offset), 0) from risk.kafka_offsets"
	                             " where topic not like '%transformer%'");
}

/* Waits until riskd stored at least min results; asserts it is not done with the city yet,
 * so the fault that follows comes mid-stream. */
static void await_mid_stream(const struct e2e_world *w, int64_t min, int64_t total)
{
	int64_t got = 0;
	for (int i = 0; i < 1200 && (got = stored(w)) < min; i++)
		sleep_s(0.05);
	cr_assert_geq(got, min, "riskd stored only %lld results (logs in %s)", (long long)got,
	              w->dir);
	cr_assert_lt(got, total, "riskd was done before the fault (%lld of %lld): make the city "
	             "larger", (long long)got, (long long)total);
}

/* The city's lines bar the transformer readings: about what the stored offsets reach when
 * riskd is done (the fault must come before). */
static int64_t input_total(const struct e2e_world *w)
{
	char file[1400], out[64];
	snprintf(file, sizeof(file), "%s/city.jsonl", w->dir);
	cr_assert_eq(e2e_run_capture(out, sizeof(out), "grep -cv transformer_reading '%s'", file), 0);
	return strtoll(out, NULL, 10);
}

/*
 * Every message riskd dead-lettered is in the dead-letter topic exactly once: as many
 * messages as the stored count, each source offset once.
 */
static void assert_dead_letters_once(const struct e2e_world *w)
{
	struct e2e_dead_letter *dl;
	size_t n = e2e_read_dead_letters(w, &dl);
	int64_t want = e2e_query_int(w->dsn, "select coalesce(sum(count), 0) from"
	                                     " risk.ingest_counts where outcome = 'dead_letter'");
	cr_assert_gt(want, 0, "the city has bad lines");
	cr_assert_eq((int64_t)n, want, "%zu dead letters published, %lld stored", n,
	             (long long)want);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			cr_assert(strcmp(dl[i].source_topic, dl[j].source_topic) != 0 ||
			              dl[i].source_partition != dl[j].source_partition ||
			              dl[i].source_offset != dl[j].source_offset,
			          "%s[%d]@%lld dead-lettered twice", dl[i].source_topic,
			          (int)dl[i].source_partition, (long long)dl[i].source_offset);
	e2e_dead_letters_free(dl, n);
	cr_assert_eq(e2e_query_int(w->dsn, "select count(*) from risk.outbox"), 0,
	             "everything committed was published");
	cr_assert_eq(e2e_query_int(w->dsn, "select count(*) from risk.outbox_failed"), 0);
}

/* The file caching the undisturbed run's digest for this suite run and this riskd. */
static void reference_path(const struct e2e_world *w, char *out, size_t size)
{
	char bin[1100];
	struct stat st;
	snprintf(bin, sizeof(bin), "%s/riskd", w->env.bin);
	cr_assert_eq(stat(bin, &st), 0);
	snprintf(out, size, "%s/var/e2e/faults-reference-%d-%lld", w->env.root, (int)getppid(),
	         (long long)st.st_mtime);
}

/* The undisturbed run's digest: from the cache, or replayed from w's topics into a fresh
 * database by one instance of another group (and cached). Leaves w pointing at its run. */
static void reference_digest(struct e2e_world *w, char *ref, size_t size)
{
	char path[1400];
	reference_path(w, path, sizeof(path));
	FILE *f = fopen(path, "r");
	if (f) {
		int ok = fgets(ref, (int)size, f) != NULL;
		fclose(f);
		if (ok && ref[0])
			return;
	}
	e2e_reference_digest(w, ref, size);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "%s", ref);
	fclose(f);
}

/* The run's database equals the undisturbed run's, and its dead letters went out once. */
static void assert_as_undisturbed(struct e2e_world *w)
{
	char got[2048], ref[2048];
	assert_dead_letters_once(w);
	e2e_result_digest(w->dsn, got, sizeof(got));
	reference_digest(w, ref, sizeof(ref));
	cr_assert_str_eq(got, ref,
	                 "database after the fault differs from an undisturbed run's:\n"
	                 "  run        %s\n  undisturbed %s (logs in %s)",
	                 got, ref, w->dir);
}

/* Waits until the stored offsets stop moving (1.5 s unchanged, above 0): riskd has caught
 * up with what the topics hold. */
static void await_caught_up(const struct e2e_world *w)
{
	int64_t last = -1;
	for (int same = 0, i = 0; i < 1200; i++) {
		int64_t now = stored(w);
		same = now > 0 && now == last ? same + 1 : 0;
		if (same >= 15)
			return;
		last = now;
		sleep_s(0.1);
	}
	cr_assert_fail("riskd did not catch up with the first half (logs in %s)", w->dir);
}

/* What riskd had stored when a fault began, when it was lifted and when riskd was done, and
 * the outbox rows waiting to be published when it was lifted. */
struct fault_window {
	int64_t at_start, at_end, at_finish, outbox_at_end;
};

/*
 * One fault's test, in a world of its own (name): riskd (--until-idle) reads the city's first
 * half until it has caught up, then the mock cluster's command on starts the fault and the
 * second half is published - before the fault when publish_first, for faults that would stop
 * the publishing too - the fault holds 4 s and off lifts it. Asserts riskd finishes by itself
 * with exit 0 and ends as an undisturbed run (assert_as_undisturbed); fills *seen for the
 * test's evidence that its fault bit.
 */
static void run_fault(const char *name, const char *on, const char *off, int publish_first,
                      struct fault_window *seen)
{
	struct e2e_world w;
	char second[1400];
	world_with_city(&w, name, second, sizeof(second));
	running[0] = e2e_riskd_start(&w, IDLE_ARGS);
	await_caught_up(&w);
	if (publish_first)
		e2e_produce_file(&w, second);
	e2e_mock_ctl(&w, "%s", on);
	seen->at_start = stored(&w);
	if (!publish_first)
		e2e_produce_file(&w, second);
	sleep_s(4);
	seen->at_end = stored(&w);
	seen->outbox_at_end = e2e_query_int(w.dsn, "select count(*) from risk.outbox");
	e2e_mock_ctl(&w, "%s", off);
	int rc = e2e_wait(running[0], 240);
	running[0] = 0;
	cr_assert_eq(rc, 0, "riskd exited %d after the fault (logs in %s)", rc, w.dir);
	seen->at_finish = stored(&w);
	cr_log_info("%s: stored %lld at the fault, %lld when lifted, %lld at the end; %lld outbox "
	            "rows waiting when lifted", name, (long long)seen->at_start,
	            (long long)seen->at_end, (long long)seen->at_finish,
	            (long long)seen->outbox_at_end);
	assert_as_undisturbed(&w);
}

Test(faults, broker_down_and_up_mid_stream, .timeout = 400)
{
	struct fault_window seen;
	run_fault("fault_broker", "broker-down all", "broker-up all", 1, &seen);
	cr_assert_lt(seen.at_end, seen.at_finish, "riskd was done before the broker went down");
}

Test(faults, produce_requests_failing, .timeout = 400)
{
	struct fault_window seen;
	run_fault("fault_produce", "request-errors Produce NOT_LEADER_FOR_PARTITION 100000",
	          "clear-errors Produce", 1, &seen);
	cr_assert_gt(seen.outbox_at_end, 0, "the relay published while Produce failed");
}

Test(faults, fetch_requests_failing, .timeout = 400)
{
	struct fault_window seen;
	run_fault("fault_fetch", "request-errors Fetch NOT_LEADER_FOR_PARTITION 100000",
	          "clear-errors Fetch", 0, &seen);
	cr_assert_eq(seen.at_end, seen.at_start, "riskd read input while every Fetch failed");
	cr_assert_lt(seen.at_end, seen.at_finish);
}

Test(faults, added_latency, .timeout = 400)
{
	struct fault_window seen;
	run_fault("fault_latency", "latency all 400", "latency all 0", 0, &seen);
	cr_assert_lt(seen.at_end, seen.at_finish, "riskd was done before the latency was lifted");
}

/* Lines of file matching the extended regex pattern. */
static long log_count(const struct e2e_world *w, int n, const char *pattern)
{
	char out[64];
	e2e_run_capture(out, sizeof(out), "grep -Ec '%s' '%s/riskd-%d.log'", pattern, w->dir, n);
	return strtol(out, NULL, 10);
}

/*
 * The first instance is stopped mid-stream; a second joins and, once the first's session
 * has timed out, takes every partition, loads them from PostgreSQL and works on. Then the
 * first resumes with a batch it had not committed: its stale offsets are refused (fenced),
 * it gives its partitions up, rejoins, and both finish the city. Kafka's committed offsets
 * end where PostgreSQL's are.
 */
Test(faults, sigstopped_past_the_session_timeout_commits_nothing_over_the_new_owner,
     .timeout = 400)
{
	struct e2e_world w;
	char second[1400];
	world_with_city(&w, "fault_sigstop", second, sizeof(second));
	e2e_produce_file(&w, second);
	int64_t total = input_total(&w);
	running[0] = e2e_riskd_start(&w, "--until-idle 8");
	await_mid_stream(&w, total / 5, total);
	cr_assert_eq(kill(running[0], SIGSTOP), 0);
	int64_t at_stop = stored(&w);
	running[1] = e2e_riskd_start(&w, "--until-idle 8");
	/* the second takes every partition over after the first's session (6 s). Whether it can
	 * store before the first resumes depends on where the first stopped: stopped inside a
	 * batch transaction, it holds that transaction's row locks until it runs again */
	int taken = 0;
	for (int i = 0; i < 600 && !taken; i++, sleep_s(0.05))
		taken = log_count(&w, 2, "event=partitions_assigned count=16") > 0;
	cr_assert(taken, "the second instance did not take the partitions over (logs in %s)", w.dir);
	for (int i = 0; i < 100 && stored(&w) <= at_stop; i++)
		sleep_s(0.05);
	cr_assert_eq(kill(running[0], SIGCONT), 0);
	int rc_a = e2e_wait(running[0], 240), rc_b = e2e_wait(running[1], 240);
	running[0] = running[1] = 0;
	cr_assert_eq(rc_a, 0, "the resumed instance exited %d (logs in %s)", rc_a, w.dir);
	cr_assert_eq(rc_b, 0, "the second instance exited %d (logs in %s)", rc_b, w.dir);
	cr_log_info("resumed instance: %ld commits refused, %ld revokes; second: %ld assignments",
	            log_count(&w, 1, "event=commit_failed"),
	            log_count(&w, 1, "event=partitions_revoked"),
	            log_count(&w, 2, "event=partitions_assigned count=[1-9]"));
	e2e_assert_kafka_commits_match(&w);
	assert_as_undisturbed(&w);
}

/*
 * A checkpoint is fenced on every partition of the group it writes, not only on those its
 * batch moves. riskd loads a caught-up assignment; then the database is put as another
 * instance's checkpoint of one customer's meter.readings partition leaves it (its state
 * offset moved). A profile update of that customer makes the next batch move only
 * customer.profiles and checkpoint the customer's group: its snapshots are of state older
 * than the stored offset says, so the batch is refused and riskd reloads.
 */
Test(faults, checkpoint_over_state_another_instance_moved_is_refused, .timeout = 300)
{
	struct e2e_world w;
	char second[1400], customer[128], sql[900], file[1400], refused[300];
	world_with_city(&w, "fault_fence", second, sizeof(second));
	e2e_world_set_checkpoint_interval(&w, 0);
	e2e_riskd_run_until_idle(&w, 4, 240);
	e2e_query_text(w.dsn, "select min(entity_id) from risk.entity_state where kind = 'c'",
	               customer, sizeof(customer));
	snprintf(sql, sizeof(sql), "select partition from risk.entity_state where kind = 'c'"
	         " and entity_id = '%s'", customer);
	int64_t partition = e2e_query_int(w.dsn, sql);

	running[0] = e2e_riskd_start(&w, "--until-idle 6");
	int loaded = 0;
	for (int i = 0; i < 600 && !loaded; i++, sleep_s(0.05))
		loaded = log_count(&w, 2, "event=partitions_assigned count=[1-9].* loaded=true") > 0;
	cr_assert(loaded, "riskd did not load its assignment (logs in %s)", w.dir);
	snprintf(sql, sizeof(sql), "with u as (update risk.kafka_offsets set state_offset ="
	         " next_offset - 1 where topic like '%%meter.readings' and partition = %lld"
	         " and next_offset > 0 returning 1) select count(*) from u", (long long)partition);
	cr_assert_eq(e2e_query_int(w.dsn, sql), 1);
	snprintf(file, sizeof(file), "%s/profile.jsonl", w.dir);
	e2e_sh("printf '%%s\\n' '{\"type\":\"customer\",\"event_id\":\"c-fence\","
	       "\"ts\":\"2026-01-09T00:00:00+08:00\",\"customer_id\":\"%s\","
	       "\"segment\":\"residential\",\"transformer_id\":\"T0002\","
	       "\"tariff\":\"residential_tiered\",\"capacity_kw\":4,"
	       "\"since\":\"2007-08-09\"}' > '%s'", customer, file);
	e2e_produce_file(&w, file);
	int rc = e2e_wait(running[0], 240);
	running[0] = 0;
	cr_assert_eq(rc, 0, "riskd exited %d (logs in %s)", rc, w.dir);
	snprintf(refused, sizeof(refused), "event=commit_failed .*meter.readings\\[%lld\\]"
	         " is no longer [0-9]+ \\(state offset [0-9]+\\).* reason=conflict",
	         (long long)partition);
	cr_assert_eq(log_count(&w, 2, refused), 1, "the checkpoint was not refused (logs in %s)",
	             w.dir);
	cr_assert_geq(log_count(&w, 2, "event=resynced"), 1);
}

/* The result digest without the grade tables, then the other customers' grades: what a
 * confirmation of `customer` (it regrades that customer, nobody else) must leave alone. */
static void results_but_the_customers_grades(const char *dsn, const char *customer, char *out,
                                             size_t size)
{
	char sql[700], grades[200];
	e2e_result_digest(dsn, out, size);
	char *cut = strstr(out, " credit_grades=");
	cr_assert_not_null(cut, "the result digest names the grade tables");
	snprintf(sql, sizeof(sql),
	         "select count(*) || ':' || md5(coalesce(string_agg(format('%%s|%%s|%%s|%%s|%%s',"
	         " customer_id, grade, points, as_of, reasons), ',' order by customer_id), ''))"
	         " from risk.credit_grades where customer_id <> '%s'", customer);
	e2e_query_text(dsn, sql, grades, sizeof(grades));
	snprintf(cut, size - (size_t)(cut - out), " other_grades=%s", grades);
}

/*
 * A theft confirmation written while riskd is down reaches a customer riskd rebuilds by
 * replaying Kafka. The database is put as a riskd killed before its first checkpoint of one
 * customer partition leaves it: results stored, no state snapshot (the partition's snapshots
 * deleted, its state offsets back to "none"). riskd comes back with 300 ms of added latency,
 * so that its first turns find no message yet and poll the analysts' feedback before the
 * replay has rebuilt that partition's customers: the feedback must wait for the replay rather
 * than pass the customer by. The replay stores no result twice.
 */
Test(faults, confirmation_written_while_down_reaches_a_replayed_customer, .timeout = 300)
{
	struct e2e_world w;
	char second[1400], customer[128], sql[700], applied[300], before[2048], after[2048];
	world_with_city(&w, "fault_feedback", second, sizeof(second));
	e2e_produce_file(&w, second);
	e2e_riskd_run_until_idle(&w, 4, 240);
	e2e_query_text(w.dsn, "select min(entity_id) from risk.entity_state where kind = 'c'",
	               customer, sizeof(customer));
	results_but_the_customers_grades(w.dsn, customer, before, sizeof(before));

	/* as if riskd had been killed before it first checkpointed the customer's partition */
	snprintf(sql, sizeof(sql),
	         "create temp table p as select partition from risk.entity_state where kind = 'c'"
	         " and entity_id = '%s'; delete from risk.entity_state e using p where e.kind = 'c'"
	         " and e.partition = p.partition; update risk.kafka_offsets o set state_offset = -1"
	         " from p where o.partition = p.partition and o.topic not like '%%transformer%%'",
	         customer);
	e2e_sh("psql '%s' -qAt -v ON_ERROR_STOP=1 -c \"%s\" > /dev/null", w.dsn, sql);
	snprintf(sql, sizeof(sql),
	         "insert into risk.theft_confirmations (customer_id, confirmed, seq) values ('%s', "
	         "true, nextval('risk.theft_confirmation_seq')) returning 1",
	         customer);
	cr_assert_eq(e2e_query_int(w.dsn, sql), 1);

	e2e_mock_ctl(&w, "latency all 300");
	running[0] = e2e_riskd_start(&w, "--until-idle 4");
	int rc = e2e_wait(running[0], 240);
	running[0] = 0;
	e2e_mock_ctl(&w, "latency all 0");
	cr_assert_eq(rc, 0, "riskd exited %d (logs in %s)", rc, w.dir);
	snprintf(applied, sizeof(applied), "event=theft_confirmation customer=%s confirmed=1",
	         customer);
	e2e_sh("grep -q -- '%s' '%s/riskd-2.log' || { echo 'not applied (logs in %s)'; false; }",
	       applied, w.dir, w.dir);
	e2e_sh("grep -q 'event=stopped messages=[0-9]* replayed=[1-9]' '%s/riskd-2.log'", w.dir);
	results_but_the_customers_grades(w.dsn, customer, after, sizeof(after));
	cr_assert_str_eq(after, before, "the replay changed stored results");
}
