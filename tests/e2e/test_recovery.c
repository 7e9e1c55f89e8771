/*
 * test_recovery.c - end to end against the local stack: riskd's database ends the same
 * whatever happens on the way. Each test runs riskd over one generated city while something
 * goes wrong (SIGKILL at random moments, a second instance joining the group, PostgreSQL
 * stopping and starting), then replays the same topics into a fresh database with an
 * uninterrupted single instance, and compares the result tables (daily usage, transformer
 * days, customers, per-partition counts, offsets, credit grades and their history) digest for
 * digest.
 *
 * The random moments come from one seed, logged to stderr as "test_recovery: seed=N"; run
 * with RISKD_TEST_SEED=N in the environment to make the same choices again.
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

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL);
}

/*
 * Seeds rand() for a test: from RISKD_TEST_SEED (a decimal number) when it is set, else from
 * the process id. Logs the seed to stderr in one line, so any run can be repeated.
 */
static void seed_random(void)
{
	const char *given = getenv("RISKD_TEST_SEED");
	unsigned long seed = (unsigned long)getpid();
	if (given && *given) {
		char *end;
		seed = strtoul(given, &end, 10);
		cr_assert(*end == '\0' && seed <= 0xffffffffUL,
		          "RISKD_TEST_SEED must be a decimal number below 2^32, not '%s'", given);
	}
	fprintf(stderr, "test_recovery: seed=%lu (set RISKD_TEST_SEED=%lu to reproduce)\n", seed,
	        seed);
	srand((unsigned)seed);
}

/* Generates a city into w's topics. */
static void publish_city(struct e2e_world *w, int customers, int days)
{
	char file[1400];
	snprintf(file, sizeof(file), "%s/city.jsonl", w->dir);
	e2e_sh("'%s/riskctl' gen --customers %d --days %d --seed 5 --interval-s 1800"
	       " --dup-rate 0.002 --bad-rate 0.001 > '%s' 2>/dev/null",
	       w->env.bin, customers, days, file);
	e2e_produce_file(w, file);
}

/* Replays the topics into a fresh database with one uninterrupted instance; returns its
 * digest in ref. */
static void reference_digest(struct e2e_world *w, char *ref, size_t size)
{
	char run_dsn[1024];
	snprintf(run_dsn, sizeof(run_dsn), "%s", w->dsn);
	e2e_world_new_database(w, "ref");
	e2e_world_set_group(w, "riskd-reference");
	e2e_riskd_run_until_idle(w, 4, 300);
	e2e_result_digest(w->dsn, ref, size);
	snprintf(w->dsn, sizeof(w->dsn), "%s", run_dsn);
}

static void assert_same_as_reference(struct e2e_world *w)
{
	char got[2048], ref[2048];
	e2e_result_digest(w->dsn, got, sizeof(got));
	cr_assert_gt(e2e_query_int(w->dsn, "select count(*) from risk.daily_usage"), 0);
	reference_digest(w, ref, sizeof(ref));
	cr_assert_str_eq(got, ref,
	                 "database after the disturbed run differs from the reference:\n"
	                 "  run       %s\n  reference %s", got, ref);
}

Test(recovery, sigkill_at_random_points_changes_nothing, .timeout = 600)
{
	struct e2e_world w;
	e2e_world_new(&w, "kill9", 4, 400);
	publish_city(&w, 150, 8);

	seed_random();
	int kills = 0;
	for (int round = 0; round < 5; round++) {
		pid_t pid = e2e_riskd_start(&w, NULL);
		/* the first join takes ~3 s; kill anywhere from before it to well into processing */
		sleep_s(1.0 + (double)(rand() % 4000) / 1000.0);
		if (kill(pid, SIGKILL) == 0)
			kills++;
		waitpid(pid, NULL, 0);
	}
	cr_assert_eq(kills, 5);
	int64_t rows_before_final = e2e_query_int(w.dsn, "select count(*) from risk.daily_usage");
	cr_log_info("after %d kills: %lld daily_usage rows stored", kills,
	            (long long)rows_before_final);
	e2e_riskd_run_until_idle(&w, 4, 300);
	assert_same_as_reference(&w);
}

Test(recovery, two_instances_equal_one, .timeout = 600)
{
	struct e2e_world w;
	e2e_world_new(&w, "two", 6, 400);
	publish_city(&w, 150, 8);

	pid_t a = e2e_riskd_start(&w, "--until-idle 8");
	sleep_s(1.5);
	pid_t b = e2e_riskd_start(&w, "--until-idle 8");
	cr_assert_eq(e2e_wait(a, 300), 0, "first instance failed (logs in %s)", w.dir);
	cr_assert_eq(e2e_wait(b, 300), 0, "second instance failed (logs in %s)", w.dir);
	assert_same_as_reference(&w);
}

/* Takes PostgreSQL away for 3 s while riskd commits batches (stack_command: pg-stop, or
 * pg-crash, which also forgets commits not yet flushed: riskd commits without waiting for the
 * flush by default) and checks that the same process recovers to the reference result. */
static void postgres_outage(const char *name, const char *stack_command)
{
	struct e2e_world w;
	e2e_world_new(&w, name, 4, 400);
	publish_city(&w, 150, 8);

	pid_t pid = e2e_riskd_start(&w, "--until-idle 6");
	sleep_s(4.0); /* joined the group and busy committing batches */
	e2e_sh("deploy/local-stack.sh %s >/dev/null 2>&1", stack_command);
	sleep_s(3.0);
	int alive = waitpid(pid, NULL, WNOHANG) == 0;
	e2e_sh("deploy/local-stack.sh pg-start >/dev/null 2>&1");
	cr_assert(alive, "riskd must wait for PostgreSQL, not exit");
	/* the same process recovers: resyncs from PostgreSQL and finishes the topics */
	cr_assert_eq(e2e_wait(pid, 300), 0, "riskd failed after the restart (logs in %s)", w.dir);
	e2e_sh("grep -q 'event=commit_failed' '%s'/riskd-*.log", w.dir);
	e2e_sh("grep -q 'event=resynced' '%s'/riskd-*.log", w.dir);
	assert_same_as_reference(&w);
}

Test(recovery, postgres_restart_loses_nothing, .timeout = 600)
{
	postgres_outage("pgdown", "pg-stop");
}

Test(recovery, postgres_crash_loses_nothing, .timeout = 600)
{
	postgres_outage("pgcrash", "pg-crash");
}

/*
 * State checkpoints run on their own cadence: riskd killed while it works through a backlog
 * (results committed, state checkpointed only when input paused) restarts from each
 * partition's checkpoint, rebuilds state from the messages whose results are stored without
 * storing them again (exactly those messages are counted as replayed), and ends where an
 * undisturbed run ends.
 */
Test(recovery, replay_from_the_last_checkpoint_repeats_no_result, .timeout = 600)
{
	struct e2e_world w;
	e2e_world_new(&w, "ckpt", 4, 400);
	e2e_world_set_checkpoint_interval(&w, 3600000); /* no timed checkpoint during the test */
	publish_city(&w, 150, 8);

	pid_t pid = e2e_riskd_start(&w, NULL);
	int64_t committed = 0;
	for (int i = 0; i < 1200 && committed < 20000; i++) {
		sleep_s(0.05);
		committed = e2e_query_int(w.dsn, "select coalesce(sum(next_offset), 0)"
		                                 " from risk.kafka_offsets");
	}
	cr_assert_eq(kill(pid, SIGKILL), 0);
	waitpid(pid, NULL, 0);
	e2e_wait_sessions_gone(w.dsn); /* a commit riskd sent before it died has landed or not */
	committed = e2e_query_int(w.dsn, "select coalesce(sum(next_offset), 0)"
	                                 " from risk.kafka_offsets");
	int64_t behind = e2e_query_int(w.dsn, "select coalesce(sum(next_offset -"
	                                      " greatest(state_offset, 0)), 0)"
	                                      " from risk.kafka_offsets");
	cr_log_info("killed with %lld messages' results committed, %lld of them not in the "
	            "state checkpoint", (long long)committed, (long long)behind);
	cr_assert_geq(committed, 20000);
	cr_assert_gt(behind, 0, "the kill came after a checkpoint of everything");

	/* the restart checkpoints often, so checkpoints fall inside the replay too */
	e2e_world_set_checkpoint_interval(&w, 20);
	e2e_riskd_run_until_idle(&w, 4, 300);
	/* the restart read every partition from its checkpoint: up to the committed offset for
	 * state only */
	e2e_sh("grep -q 'event=stopped messages=[0-9]* replayed=%lld ' '%s'/riskd-*.log",
	       (long long)behind, w.dir);
	/* stopping checkpoints everything: state and results meet again */
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.kafka_offsets"
	                                  " where state_offset <> next_offset"),
	             0);
	/* every dead letter was published (at least once: a kill between the relay's publish
	 * and its delete repeats a message: README, "Outputs through an outbox") */
	struct e2e_dead_letter *dl;
	size_t n = e2e_read_dead_letters(&w, &dl), distinct = 0;
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;
		while (j < i && !(dl[j].source_partition == dl[i].source_partition &&
		                  dl[j].source_offset == dl[i].source_offset &&
		                  strcmp(dl[j].source_topic, dl[i].source_topic) == 0))
			j++;
		distinct += j == i;
	}
	e2e_dead_letters_free(dl, n);
	cr_log_info("%zu dead letters on the topic, %zu distinct", n, distinct);
	cr_assert_gt(distinct, 0);
	cr_assert_eq((int64_t)distinct, e2e_query_int(w.dsn, "select coalesce(sum(count), 0) from"
	                                                     " risk.ingest_counts where outcome ="
	                                                     " 'dead_letter'"));
	assert_same_as_reference(&w);
}

/*
 * The first pass writes a customer's open day only at its checkpoints. Put the database as a
 * riskd killed after committing one customer partition's results but before checkpointing
 * its state leaves it: no snapshots, state offsets back to "none", and the open days (the
 * city's last day) not written. The restart replays the partition, checkpointing after every
 * batch (so checkpoints fall inside the replay), and must end with the same results as before,
 * the open days included.
 */
Test(recovery, replay_writes_the_open_day_its_first_pass_never_wrote, .timeout = 300)
{
	struct e2e_world w;
	char before[2048], after[2048];
	e2e_world_new(&w, "openday", 4, 10);
	e2e_world_set_checkpoint_interval(&w, 0);
	publish_city(&w, 60, 3);
	e2e_riskd_run_until_idle(&w, 4, 240);
	e2e_result_digest(w.dsn, before, sizeof(before));
	int64_t open_days = e2e_query_int(
	    w.dsn, "select count(*) from risk.daily_usage d join risk.entity_state e on"
	           " e.kind = 'c' and e.entity_id = d.customer_id and e.partition = 0"
	           " where d.day = (select max(day) from risk.daily_usage)");
	cr_assert_gt(open_days, 5, "partition 0 has customers with an open day");

	e2e_sh("psql '%s' -qAt -v ON_ERROR_STOP=1 -c \"create temp table c as select entity_id"
	       " from risk.entity_state where kind = 'c' and partition = 0;"
	       " create temp table last as select max(day) as day from risk.daily_usage;"
	       " delete from risk.daily_usage d using c, last where d.customer_id = c.entity_id"
	       " and d.day = last.day; delete from risk.hourly_usage h using c, last"
	       " where h.customer_id = c.entity_id and h.day = last.day;"
	       " delete from risk.entity_state e using c where e.kind = 'c'"
	       " and e.entity_id = c.entity_id; update risk.kafka_offsets set state_offset = -1"
	       " where partition = 0 and topic not like '%%transformer%%'\" > /dev/null",
	       w.dsn);
	e2e_riskd_run_until_idle(&w, 4, 240);
	e2e_sh("grep -q 'event=stopped messages=[0-9]* replayed=[1-9]' '%s/riskd-2.log'", w.dir);
	e2e_result_digest(w.dsn, after, sizeof(after));
	cr_assert_str_eq(after, before, "the replay left results other than the first pass's "
	                 "(logs in %s)", w.dir);
}
