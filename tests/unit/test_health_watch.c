/*
 * test_health_watch.c - Criterion suite for detector/health.c: when lagging input counts as
 * stalled (and /healthz says kafka_stalled), what ends a stall, --until-idle's verdicts and
 * their message, the PostgreSQL health conditions, and /readyz's verdict. Pure: the lag is
 * given, time is a number.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "config/riskd_base.h"
#include "detector/health.h"
#include "detector/log.h"
#include "detector/metrics.h"

static void setup(void)
{
	log_set_stream(tmpfile());
	metrics_init();
	metrics_health_set(HEALTH_STARTING, 0);
}

TestSuite(health, .init = setup);

static const char *reason(void)
{
	static char buf[64];
	metrics_health(buf, sizeof(buf));
	return buf;
}

static const struct kafka_lag caught_up = {.messages = 0, .partitions = 4};
static const struct kafka_lag behind = {.messages = 500, .partitions = 4, .behind = 2,
                                        .first = "meter.readings[3]"};
static const struct kafka_lag unknown_end = {.messages = 0, .partitions = 4, .unknown = 1};

Test(health, lag_without_progress_for_stall_s_is_a_stall)
{
	struct health_watch hw;
	health_watch_init(&hw, 10, 1000);
	health_watch_update(&hw, 1000, 7, &behind); /* 7 processed since the start: progress */
	for (int64_t t = 2000; t < 11000; t += 1000)
		cr_assert_eq(health_watch_update(&hw, t, 7, &behind), 0, "at %lld", (long long)t);
	cr_assert_str_eq(reason(), "");
	cr_assert_eq(health_watch_update(&hw, 11000, 7, &behind), 1);
	cr_assert_str_eq(reason(), "kafka_stalled");
	/* one processed message ends it */
	cr_assert_eq(health_watch_update(&hw, 12000, 8, &behind), 0);
	cr_assert_str_eq(reason(), "");
}

Test(health, nothing_left_to_read_is_never_a_stall)
{
	struct health_watch hw;
	health_watch_init(&hw, 1, 0);
	for (int64_t t = 0; t <= 60000; t += 1000)
		cr_assert_eq(health_watch_update(&hw, t, 0, &caught_up), 0);
	/* and the patience starts when messages appear, not at the last message */
	cr_assert_eq(health_watch_update(&hw, 60500, 0, &behind), 0);
	cr_assert_eq(health_watch_update(&hw, 61500, 0, &behind), 1);
	/* caught up again: over */
	cr_assert_eq(health_watch_update(&hw, 62000, 0, &caught_up), 0);
	cr_assert_str_eq(reason(), "");
}

Test(health, an_unknown_partition_end_counts_as_behind)
{
	struct health_watch hw;
	health_watch_init(&hw, 2, 0);
	health_watch_update(&hw, 1000, 0, &unknown_end); /* assigned: the patience starts */
	cr_assert_eq(health_watch_update(&hw, 2000, 0, &unknown_end), 0);
	cr_assert_eq(health_watch_update(&hw, 3000, 0, &unknown_end), 1);
}

Test(health, a_long_pause_between_updates_restarts_the_patience)
{
	struct health_watch hw;
	health_watch_init(&hw, 10, 0);
	health_watch_update(&hw, 1000, 0, &behind);
	/* 30 s without an update (riskd waited for PostgreSQL with its partitions paused) */
	for (int64_t t = 31000; t < 41000; t += 1000)
		cr_assert_eq(health_watch_update(&hw, t, 0, &behind), 0, "at %lld", (long long)t);
	cr_assert_eq(health_watch_update(&hw, 41000, 0, &behind), 1);
}

Test(health, a_new_assignment_restarts_the_patience)
{
	struct health_watch hw;
	const struct kafka_lag more = {.messages = 500, .partitions = 8, .behind = 2};
	health_watch_init(&hw, 10, 0);
	for (int64_t t = 1000; t <= 10000; t += 1000)
		health_watch_update(&hw, t, 0, &behind);
	cr_assert_eq(health_watch_update(&hw, 11000, 0, &more), 0, "8 partitions assigned now");
	for (int64_t t = 12000; t <= 20000; t += 1000)
		cr_assert_eq(health_watch_update(&hw, t, 0, &more), 0, "at %lld", (long long)t);
	cr_assert_eq(health_watch_update(&hw, 21000, 0, &more), 1);
}

Test(health, until_idle_verdicts)
{
	struct health_watch hw;
	char why[300] = "";
	health_watch_init(&hw, 5, 0);
	cr_assert_eq(health_idle_verdict(&hw, 1000, 0, &caught_up, why, sizeof(why)),
	             HEALTH_IDLE_DONE);
	cr_assert_eq(health_idle_verdict(&hw, 2000, 0, &behind, why, sizeof(why)), HEALTH_IDLE_WAIT);
	cr_assert_eq(health_idle_verdict(&hw, 5000, 0, &unknown_end, why, sizeof(why)),
	             HEALTH_IDLE_WAIT);
	cr_assert_str_eq(why, "");
	cr_assert_eq(health_idle_verdict(&hw, 6000, 0, &behind, why, sizeof(why)),
	             HEALTH_IDLE_GIVE_UP);
	cr_assert_str_eq(why, "--until-idle gave up: input stalled with 500 messages left on 2 of 4 "
	                      "partitions (0 more with an unknown end) and none processed for 5 s "
	                      "(health.stall_s); one of them: meter.readings[3]");
}

Test(health, postgres_conditions)
{
	health_postgres(RISKD_ERR_UNAVAILABLE);
	cr_assert_str_eq(reason(), "postgres_unreachable");
	health_postgres(0);
	cr_assert_str_eq(reason(), "");
	health_postgres(RISKD_ERR_IO);
	cr_assert_str_eq(reason(), "postgres_error");
	health_postgres(0);
	cr_assert_eq(metrics_health(NULL, 0), 1);

	metrics_init(); /* starting */
	health_postgres(RISKD_ERR_UNAVAILABLE);
	cr_assert_str_eq(reason(), "starting");
	health_loaded(0);
	cr_assert_eq(metrics_health(NULL, 0), 1);
}

/* ---- readiness ---- */

static const char *ready_reason(int64_t now)
{
	return health_ready_code(health_ready(now));
}

/* A loaded instance with 4 partitions and stall_s 10, at time 0. */
static void ready_setup(int64_t max_lag)
{
	health_ready_init(max_lag, 10, 0);
	health_loaded(0);
	metrics_set_lag(0, 4);
}

Test(health, ready_names_the_first_condition_in_order)
{
	metrics_init(); /* starting */
	health_ready_init(100, 10, 0);
	cr_assert_str_eq(ready_reason(0), "starting");
	health_postgres(RISKD_ERR_IO);
	cr_assert_str_eq(ready_reason(0), "starting");
	metrics_health_set(HEALTH_STARTING, 0);
	cr_assert_str_eq(ready_reason(0), "postgres_error");
	health_postgres(RISKD_ERR_UNAVAILABLE);
	cr_assert_str_eq(ready_reason(0), "postgres_unreachable");
	health_postgres(0);
	cr_assert_str_eq(ready_reason(0), "no_partitions");
	metrics_set_lag(0, 4);
	health_postgres(RISKD_ERR_CONFLICT); /* fenced: PostgreSQL is fine, reload the assignment */
	cr_assert_str_eq(ready_reason(0), "loading");
	cr_assert_eq(metrics_health(NULL, 0), 1, "a fenced commit is no database error");
	health_postgres(0);
	health_loading();
	cr_assert_str_eq(ready_reason(0), "loading");
	health_loaded(0);
	metrics_set_lag(101, 4);
	cr_assert_str_eq(ready_reason(0), "lagging");
	metrics_set_lag(100, 4);
	cr_assert_eq(health_ready(0), READY__COUNT, "a lag at the bound is ready");
	cr_assert_str_eq(health_ready_code(READY__COUNT), "unknown");
	/* /healthz does not care about readiness */
	cr_assert_eq(metrics_health(NULL, 0), 1);
}

Test(health, ready_stalls_without_committed_progress_while_behind)
{
	struct health_watch hw;
	ready_setup(1000000);
	health_watch_init(&hw, 10, 0);
	health_watch_update(&hw, 0, 0, &behind);
	metrics_set_lag(behind.messages, 4);
	/* messages processed but nothing committed: still stalls (the watch is content) */
	for (int64_t t = 1000; t < 10000; t += 1000) {
		health_watch_update(&hw, t, (uint64_t)t, &behind);
		cr_assert_eq(health_ready(t), READY__COUNT, "at %lld", (long long)t);
	}
	cr_assert_str_eq(ready_reason(10000), "stalled");
	cr_assert_str_eq(reason(), "", "/healthz saw input flowing");
	/* a commit that moved the offsets ends it, for stall_s more */
	health_committed(10500);
	cr_assert_eq(health_ready(20499), READY__COUNT);
	cr_assert_str_eq(ready_reason(20500), "stalled");
	/* nothing left to read: never stalled, however long ago the last commit */
	health_watch_update(&hw, 21000, 9, &caught_up);
	metrics_set_lag(0, 4);
	health_watch_update(&hw, 89000, 9, &caught_up);
	cr_assert_eq(health_ready(90000), READY__COUNT);
	/* an unknown partition end may hide messages */
	health_watch_update(&hw, 90000, 9, &unknown_end);
	cr_assert_eq(health_ready(98999), READY__COUNT);
	cr_assert_str_eq(ready_reason(99000), "stalled");
	/* a load (a resync after an outage) starts the patience again */
	health_loaded(100000);
	cr_assert_eq(health_ready(100000), READY__COUNT);
}

Test(health, ready_lag_bound_zero_means_caught_up)
{
	ready_setup(0);
	cr_assert_eq(health_ready(0), READY__COUNT);
	metrics_set_lag(1, 4);
	cr_assert_str_eq(ready_reason(0), "lagging");
}
