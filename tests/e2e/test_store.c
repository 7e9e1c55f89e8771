/*
 * test_store.c - the store's fenced offsets against a real PostgreSQL: a batch commits only
 * when every one of its partitions is where this instance left it; otherwise nothing of the
 * batch is written and the error names a partition that moved.
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
	struct store_usage usage = {id, 20500, 1000000, 1, 3600};
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
	struct store_offset first[3] = {{"t", 0, -1, 10}, {"t", 1, -1, 10}, {"u", 0, -1, 7}};
	cr_assert_eq(commit(a, first, 3, "A1", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(offset_of(&w, "t", 0), 10);
	cr_assert_eq(offset_of(&w, "t", 1), 10);
	cr_assert_eq(offset_of(&w, "u", 0), 7);

	/* b believes t[1] has no row yet: refused, and its usage row is not written */
	struct store_offset stale_new[1] = {{"t", 1, -1, 5}};
	cr_assert_eq(commit(b, stale_new, 1, "B1", err, sizeof(err)), RISKD_ERR_CONFLICT);
	cr_assert(strstr(err, "t[1]") && strstr(err, "another instance"), "%s", err);
	cr_assert_eq(usage_rows(&w, "B1"), 0);
	cr_assert_eq(offset_of(&w, "t", 1), 10);

	/* a moves on; b, one step behind on t[0] only, is refused as a whole: its good move of
	 * u[0] is rolled back with the rest */
	struct store_offset second[2] = {{"t", 0, 10, 20}, {"t", 1, 10, 20}};
	cr_assert_eq(commit(a, second, 2, "A2", err, sizeof(err)), 0, "%s", err);
	struct store_offset mixed[2] = {{"u", 0, 7, 9}, {"t", 0, 10, 15}};
	cr_assert_eq(commit(b, mixed, 2, "B2", err, sizeof(err)), RISKD_ERR_CONFLICT);
	cr_assert(strstr(err, "t[0] is no longer 10"), "%s", err);
	cr_assert(strstr(err, "1 of 2"), "%s", err);
	cr_assert_eq(offset_of(&w, "u", 0), 7, "the batch's other offset did not move");
	cr_assert_eq(offset_of(&w, "t", 0), 20);
	cr_assert_eq(usage_rows(&w, "B2"), 0);

	/* where b is right, it commits */
	struct store_offset right[2] = {{"u", 0, 7, 9}, {"t", 2, -1, 3}};
	cr_assert_eq(commit(b, right, 2, "B3", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(offset_of(&w, "u", 0), 9);
	cr_assert_eq(offset_of(&w, "t", 2), 3);
	cr_assert_eq(usage_rows(&w, "B3"), 1);

	/* many partitions in one batch (a batch can carry thousands) */
	struct store_offset many[1500];
	for (int i = 0; i < 1500; i++)
		many[i] = (struct store_offset){"m", i, -1, i + 1};
	cr_assert_eq(commit(a, many, 1500, "A3", err, sizeof(err)), 0, "%s", err);
	for (int i = 0; i < 1500; i++)
		many[i] = (struct store_offset){"m", i, i + 1, i + 2};
	cr_assert_eq(commit(a, many, 1500, "A4", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(e2e_query_int(w.dsn, "select sum(next_offset) from risk.kafka_offsets"
	                                  " where topic = 'm'"),
	             1500 * 1501 / 2 + 1500);
	store_close(a);
	store_close(b);
}
