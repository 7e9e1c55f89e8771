/*
 * test_store.c - the store against a real PostgreSQL: fenced offsets (a batch commits only
 * when every one of its partitions is where this instance left it; otherwise nothing of the
 * batch is written and the error names a partition that moved), state offsets that move
 * only with a checkpoint, and daily usage written as whole days or additions.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "detector/store.h"
#include "tests/support/e2e.h"

static struct store *open_store(const struct e2e_world *w)
{
	struct store *st;
	char err[512];
	cr_assert_eq(store_open(&st, w->dsn, err, sizeof(err)), 0, "%s", err);
	return st;
}

/* Commits offsets (and one usage row for customer id, so a refused batch shows it wrote
 * nothing). Returns the store's result; err receives its message. */
static int commit(struct store *st, const struct store_offset *offs, size_t n, const char *id,
                  char *err, size_t err_size)
{
	struct store_usage usage = {id, 20500, 1000000, 1, 3600, 0, 0};
	struct store_batch b = {0};
	b.consumer_group = "g";
	b.offsets = offs;
	b.offset_count = n;
	b.usage = &usage;
	b.usage_count = 1;
	err[0] = '\0';
	return store_commit_batch(st, &b, err, err_size);
}

static int64_t offset_of(const struct e2e_world *w, const char *topic, int partition)
{
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "select coalesce((select next_offset from risk.kafka_offsets where consumer_group"
	         " = 'g' and topic = '%s' and partition = %d), -1)",
	         topic, partition);
	return e2e_query_int(w->dsn, sql);
}

static int64_t usage_rows(const struct e2e_world *w, const char *id)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "select count(*) from risk.daily_usage where customer_id = '%s'",
	         id);
	return e2e_query_int(w->dsn, sql);
}

Test(store, offsets_are_fenced_per_partition_and_a_refused_batch_writes_nothing, .timeout = 60)
{
	struct e2e_world w;
	char err[512];
	e2e_world_new(&w, "store_fence", 1, 100);
	struct store *a = open_store(&w), *b = open_store(&w);

	/* a creates three rows, in one statement */
	struct store_offset first[3] = {
	    {"t", 0, -1, -1, 10, 0, 0}, {"t", 1, -1, -1, 10, 0, 0}, {"u", 0, -1, -1, 7, 0, 0}};
	cr_assert_eq(commit(a, first, 3, "A1", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(offset_of(&w, "t", 0), 10);
	cr_assert_eq(offset_of(&w, "t", 1), 10);
	cr_assert_eq(offset_of(&w, "u", 0), 7);

	/* b believes t[1] has no row yet: refused, and its usage row is not written */
	struct store_offset stale_new[1] = {{"t", 1, -1, -1, 5, 0, 0}};
	cr_assert_eq(commit(b, stale_new, 1, "B1", err, sizeof(err)), RISKD_ERR_CONFLICT);
	cr_assert(strstr(err, "t[1]") && strstr(err, "another instance"), "%s", err);
	cr_assert_eq(usage_rows(&w, "B1"), 0);
	cr_assert_eq(offset_of(&w, "t", 1), 10);

	/* a moves on; b, one step behind on t[0] only, is refused as a whole: its good move of
	 * u[0] is rolled back with the rest */
	struct store_offset second[2] = {{"t", 0, 10, -1, 20, 0, 0}, {"t", 1, 10, -1, 20, 0, 0}};
	cr_assert_eq(commit(a, second, 2, "A2", err, sizeof(err)), 0, "%s", err);
	struct store_offset mixed[2] = {{"u", 0, 7, -1, 9, 0, 0}, {"t", 0, 10, -1, 15, 0, 0}};
	cr_assert_eq(commit(b, mixed, 2, "B2", err, sizeof(err)), RISKD_ERR_CONFLICT);
	cr_assert(strstr(err, "t[0] is no longer 10"), "%s", err);
	cr_assert(strstr(err, "1 of 2"), "%s", err);
	cr_assert_eq(offset_of(&w, "u", 0), 7, "the batch's other offset did not move");
	cr_assert_eq(offset_of(&w, "t", 0), 20);
	cr_assert_eq(usage_rows(&w, "B2"), 0);

	/* where b is right, it commits */
	struct store_offset right[2] = {{"u", 0, 7, -1, 9, 0, 0}, {"t", 2, -1, -1, 3, 0, 0}};
	cr_assert_eq(commit(b, right, 2, "B3", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(offset_of(&w, "u", 0), 9);
	cr_assert_eq(offset_of(&w, "t", 2), 3);
	cr_assert_eq(usage_rows(&w, "B3"), 1);

	/* many partitions in one batch (a batch can carry thousands) */
	struct store_offset many[1500];
	for (int i = 0; i < 1500; i++)
		many[i] = (struct store_offset){"m", i, -1, -1, i + 1, 0, 0};
	cr_assert_eq(commit(a, many, 1500, "A3", err, sizeof(err)), 0, "%s", err);
	for (int i = 0; i < 1500; i++)
		many[i] = (struct store_offset){"m", i, i + 1, -1, i + 2, 0, 0};
	cr_assert_eq(commit(a, many, 1500, "A4", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(e2e_query_int(w.dsn, "select sum(next_offset) from risk.kafka_offsets"
	                                  " where topic = 'm'"),
	             1500 * 1501 / 2 + 1500);
	store_close(a);
	store_close(b);
}

/* Loads (next, state_next) of g/topic[partition] through the store. */
static void load_offsets(struct store *st, const char *topic, int partition, int64_t *next,
                         int64_t *state_next)
{
	char err[512];
	cr_assert_eq(store_load_offset(st, "g", topic, partition, next, state_next, err,
	                               sizeof(err)),
	             0, "%s", err);
}

Test(store, state_offsets_move_only_with_a_checkpoint, .timeout = 60)
{
	struct e2e_world w;
	char err[512];
	int64_t next, state;
	e2e_world_new(&w, "store_state_offsets", 1, 100);
	struct store *a = open_store(&w);

	load_offsets(a, "t", 0, &next, &state);
	cr_assert(next == -1 && state == -1, "no row: %lld %lld", (long long)next, (long long)state);

	/* a new row without a checkpoint: state from the beginning; with one: where it was taken */
	struct store_offset created[2] = {{"t", 0, -1, -1, 10, 0, 0}, {"t", 1, -1, -1, 10, 1, 8}};
	cr_assert_eq(commit(a, created, 2, "S1", err, sizeof(err)), 0, "%s", err);
	load_offsets(a, "t", 0, &next, &state);
	cr_assert(next == 10 && state == -1, "%lld %lld", (long long)next, (long long)state);
	load_offsets(a, "t", 1, &next, &state);
	cr_assert(next == 10 && state == 8, "%lld %lld", (long long)next, (long long)state);

	/* results move on without a checkpoint: the state offset stays */
	struct store_offset results[1] = {{"t", 1, 10, 8, 30, 0, 0}};
	cr_assert_eq(commit(a, results, 1, "S2", err, sizeof(err)), 0, "%s", err);
	load_offsets(a, "t", 1, &next, &state);
	cr_assert(next == 30 && state == 8, "%lld %lld", (long long)next, (long long)state);

	/* a checkpoint alone (a replay below next_offset): next_offset stays, state moves */
	struct store_offset checkpoint[1] = {{"t", 1, 30, 8, 30, 1, 25}};
	cr_assert_eq(commit(a, checkpoint, 1, "S3", err, sizeof(err)), 0, "%s", err);
	load_offsets(a, "t", 1, &next, &state);
	cr_assert(next == 30 && state == 25, "%lld %lld", (long long)next, (long long)state);

	/* an instance that loaded the row before that checkpoint is refused, even where its
	 * batch moves nothing: its snapshots would land over the newer state */
	struct store *b = open_store(&w);
	struct store_offset stale_state[1] = {{"t", 1, 30, 8, 30, 0, 0}};
	cr_assert_eq(commit(b, stale_state, 1, "S3b", err, sizeof(err)), RISKD_ERR_CONFLICT);
	cr_assert(strstr(err, "t[1] is no longer 30 (state offset 8)"), "%s", err);
	cr_assert_eq(usage_rows(&w, "S3b"), 0);
	load_offsets(a, "t", 1, &next, &state);
	cr_assert(next == 30 && state == 25, "%lld %lld", (long long)next, (long long)state);
	store_close(b);

	/* the database refuses state ahead of results */
	struct store_offset ahead[1] = {{"t", 1, 30, 25, 30, 1, 31}};
	cr_assert_eq(commit(a, ahead, 1, "S4", err, sizeof(err)), RISKD_ERR_IO);
	cr_assert(strstr(err, "kafka_offsets_state_behind"), "%s", err);
	cr_assert_eq(usage_rows(&w, "S4"), 0);

	/* a row from before state offsets existed: its state is at its next offset */
	cr_assert_eq(e2e_query_int(w.dsn, "with u as (update risk.kafka_offsets set state_offset ="
	                                  " null where consumer_group = 'g' and topic = 't' and"
	                                  " partition = 1 returning 1) select count(*) from u"),
	             1);
	load_offsets(a, "t", 1, &next, &state);
	cr_assert(next == 30 && state == 30, "%lld %lld", (long long)next, (long long)state);
	struct store_offset legacy[1] = {{"t", 1, 30, 30, 40, 0, 0}};
	cr_assert_eq(commit(a, legacy, 1, "S5", err, sizeof(err)), 0, "%s", err);
	load_offsets(a, "t", 1, &next, &state);
	cr_assert(next == 40 && state == 30, "%lld %lld", (long long)next, (long long)state);
	store_close(a);
}

/* Commits usage rows alone (no offsets). */
static void commit_usage(struct store *st, const struct store_usage *u, size_t n)
{
	char err[512];
	struct store_batch b = {0};
	b.consumer_group = "g";
	b.usage = u;
	b.usage_count = n;
	cr_assert_eq(store_commit_batch(st, &b, err, sizeof(err)), 0, "%s", err);
}

static void assert_usage(const struct e2e_world *w, const char *id, int day, long long uwh,
                         int readings, int covered_s)
{
	char sql[300], got[200], want[200];
	snprintf(sql, sizeof(sql),
	         "select format('%%s %%s %%s %%s', kwh_uwh, readings, covered_s, kwh * 1e6)"
	         " from risk.daily_usage where customer_id = '%s' and day = date '1970-01-01' + %d",
	         id, day);
	e2e_query_text(w->dsn, sql, got, sizeof(got));
	snprintf(want, sizeof(want), "%lld %d %d %lld", uwh, readings, covered_s, uwh);
	cr_assert_str_eq(got, want, "%s day %d", id, day);
}

Test(store, whole_days_replace_their_rows_and_late_readings_add, .timeout = 60)
{
	struct e2e_world w;
	e2e_world_new(&w, "store_whole_days", 1, 100);
	struct store *st = open_store(&w);

	/* an open day written at a checkpoint, then again later: the later totals replace it */
	struct store_usage open1[1] = {{"c1", 20500, 3000000, 6, 10800, 1, 0}};
	commit_usage(st, open1, 1);
	assert_usage(&w, "c1", 20500, 3000000, 6, 10800);
	struct store_usage open2[1] = {{"c1", 20500, 9000000, 48, 86400, 1, 0}};
	commit_usage(st, open2, 1);
	commit_usage(st, open2, 1); /* a replay writes the same totals: nothing changes */
	assert_usage(&w, "c1", 20500, 9000000, 48, 86400);

	/* a late reading for the closed day adds to it; a new customer-day is created */
	struct store_usage late[2] = {{"c1", 20500, 250000, 1, 1800, 0, 0},
	                              {"c2", 20499, 100, 1, 900, 0, 0}};
	commit_usage(st, late, 2);
	assert_usage(&w, "c1", 20500, 9250000, 49, 88200);
	assert_usage(&w, "c2", 20499, 100, 1, 900);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(distinct day) from"
	                                  " risk.area_refresh_queue"),
	             2, "both days queued for the area balance");
	store_close(st);
}

/* Commits one batch of usage, transformer readings and profiles, then drains the area
 * balance queue as riskd does after a commit. */
static void commit_area_batch(struct store *st, const struct store_usage *u, size_t n_usage,
                              const struct store_usage *t, size_t n_transformer,
                              const struct store_profile *p, size_t n_profiles)
{
	char err[512];
	struct store_batch b = {0};
	b.consumer_group = "g";
	b.usage = u;
	b.usage_count = n_usage;
	b.transformer = t;
	b.transformer_count = n_transformer;
	b.profiles = p;
	b.profile_count = n_profiles;
	cr_assert_eq(store_commit_batch(st, &b, err, sizeof(err)), 0, "%s", err);
	cr_assert_geq(store_drain_area_balance(st, err, sizeof(err)), 0, "%s", err);
}

static void assert_area(const struct e2e_world *w, const char *transformer, int day,
                        const char *want)
{
	char sql[300], got[200];
	snprintf(sql, sizeof(sql),
	         "select format('%%s %%s', customers, round(loss_rate::numeric, 6)) from"
	         " risk.area_balance where transformer_id = '%s' and day = date '1970-01-01' + %d",
	         transformer, day);
	e2e_query_text(w->dsn, sql, got, sizeof(got));
	cr_assert_str_eq(got, want, "%s day %d", transformer, day);
}

/* A customer-day its readings do not cover waits; closed silent (its meter stopped reporting,
 * risk.daily_usage.silent) it counts as complete, and the area-day balances with the energy
 * the meter did send. */
Test(store, a_silent_day_completes_its_area_day, .timeout = 60)
{
	struct e2e_world w;
	e2e_world_new(&w, "store_silent_day", 1, 100);
	struct store *st = open_store(&w);
	const int day = 20500;
	struct store_usage feeder[1] = {{"T1", day, 10000000, 48, 86400, 1, 0}};
	struct store_usage c1[2] = {{"c1", day, 4000000, 48, 86400, 1, 0},
	                            {"c2", day, 1000000, 10, 36000, 1, 0}};
	struct store_profile p[2] = {{.customer_id = "c1", .segment = SEGMENT_RESIDENTIAL,
	                              .transformer_id = "T1", .since = INT32_MIN},
	                             {.customer_id = "c2", .segment = SEGMENT_RESIDENTIAL,
	                              .transformer_id = "T1", .since = INT32_MIN}};
	commit_area_batch(st, c1, 2, feeder, 1, p, 2);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.area_balance"), 0,
	             "c2 covers 10 hours: the area-day waits");
	struct store_usage silent[1] = {{"c2", day, 1000000, 10, 36000, 1, 1}};
	commit_area_batch(st, silent, 1, NULL, 0, NULL, 0);
	assert_area(&w, "T1", day, "2 0.500000");
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.daily_usage where silent"), 1);
	store_close(st);
}

Test(store, a_profile_read_after_its_area_day_was_balanced_rebalances_it, .timeout = 60)
{
	struct e2e_world w;
	e2e_world_new(&w, "store_late_profile", 1, 100);
	struct store *st = open_store(&w);
	const int day = 20500;

	/* the feeder read 10 kWh; c1 (profiled) used 4: the area is c1 alone, 60% loss */
	struct store_usage feeder[1] = {{"T1", day, 10000000, 48, 86400, 1, 0}};
	struct store_usage c1[1] = {{"c1", day, 4000000, 48, 86400, 1, 0}};
	struct store_profile p1 = {.customer_id = "c1", .segment = SEGMENT_RESIDENTIAL,
	                           .transformer_id = "T1", .since = INT32_MIN};
	commit_area_batch(st, c1, 1, feeder, 1, &p1, 1);
	assert_area(&w, "T1", day, "1 0.600000");

	/* c2's readings come first, its profile in a later batch: only then is c2 in the area,
	 * and the day's balance must be computed again with it (4 + 5 of 10 kWh: 10% loss) */
	struct store_usage c2[1] = {{"c2", day, 5000000, 48, 86400, 1, 0}};
	commit_area_batch(st, c2, 1, NULL, 0, NULL, 0);
	assert_area(&w, "T1", day, "1 0.600000");
	struct store_profile p2 = p1;
	snprintf(p2.customer_id, sizeof(p2.customer_id), "c2");
	commit_area_batch(st, NULL, 0, NULL, 0, &p2, 1);
	assert_area(&w, "T1", day, "2 0.100000");

	/* a profile that changes nothing queues nothing; one that moves c2 away does */
	commit_area_batch(st, NULL, 0, NULL, 0, &p2, 1);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.area_refresh_queue"), 0);
	snprintf(p2.transformer_id, sizeof(p2.transformer_id), "T2");
	commit_area_batch(st, NULL, 0, NULL, 0, &p2, 1);
	assert_area(&w, "T1", day, "1 0.600000");
	store_close(st);
}
