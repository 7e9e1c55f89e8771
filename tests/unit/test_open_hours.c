/*
 * test_open_hours.c - each entity's open-day hourly sums (detector/open_hours.h): derived from
 * the open day's slots, plus the readings the slots do not hold; a closed day goes into the
 * batch whole, a late reading as an addition, a replayed reading into the sums only; restore,
 * lookup and clear; an applied restatement moves the sums as it always did.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "detector/open_hours.h"

/* 2026-01-01 */
#define D0 20454

/* A reading through the state as detector/ingest.c puts it there (counted: its check said
 * NEW), then through m with batch b (NULL: replayed). Returns the result. */
static struct ingest_result feed(struct open_hours *m, struct batch *b,
                                 struct cstate_table *table, struct cstate *cs, int32_t day,
                                 int32_t second, int32_t interval_s, int64_t uwh)
{
	struct ingest_result r;
	memset(&r, 0, sizeof(r));
	r.outcome = INGEST_ACCEPTED;
	r.cs = cs;
	r.transformer = cstate_id(cs)[0] == 'T'; /* this suite's transformers are named T... */
	r.has_usage = 1;
	r.day = day;
	r.second = second;
	r.interval_s = interval_s;
	r.uwh = uwh;
	if ((cs->flags & CSTATE_F_HAS_DAY) && day > cs->open_day)
		daily_open_hours(cs, cs->open_day, &r.closed_hours);
	r.day_result = daily_apply_reading(cs, day, uwh, interval_s, &r.closed);
	if (r.day_result != DAILY_LATE)
		daily_open_add(table, cs, second, interval_s, uwh);
	open_hours_reading(m, b, &r);
	return r;
}

/* The batch's hourly row of (id, day), or NULL. */
static const struct store_hours *hours_row(struct batch *b, const char *id, int32_t day)
{
	struct store_batch sb;
	memset(&sb, 0, sizeof(sb));
	batch_to_store(b, &sb);
	for (size_t i = 0; i < sb.hours_count; i++)
		if (sb.hours[i].sums.mask && strcmp(sb.hours[i].id, id) == 0 && sb.hours[i].day == day)
			return &sb.hours[i];
	return NULL;
}

Test(open_hours, a_day_is_written_whole_when_it_closes)
{
	struct open_hours *m = open_hours_new();
	struct cstate_table *table = cstate_table_new(16);
	struct batch b;
	struct cstate *c1 = cstate_table_upsert(table, "C1", 2, 0, NULL);
	batch_init(&b);

	feed(m, &b, table, c1, D0, 0, 1800, 10);
	feed(m, &b, table, c1, D0, 1800, 1800, 20);
	feed(m, &b, table, c1, D0, 5 * 3600, 1800, 7);
	cr_assert_null(hours_row(&b, "C1", D0), "an open day is not written with every batch");
	const struct daily_hours *open = open_hours_get(m, c1, D0);
	cr_assert_not_null(open);
	cr_assert_eq(open->mask, 1u | (1u << 5));
	cr_assert_eq(open->uwh[0], 30);
	cr_assert_null(open_hours_get(m, c1, D0 + 1), "only its open day");
	cr_assert_eq(open_hours_count(m), 0, "the slots give them: nothing kept beside");

	/* the next day's first reading closes D0: its hours go whole into the batch */
	feed(m, &b, table, c1, D0 + 1, 0, 1800, 4);
	const struct store_hours *h = hours_row(&b, "C1", D0);
	cr_assert_not_null(h);
	cr_assert(h->whole);
	cr_assert_eq(h->sums.uwh[0], 30);
	cr_assert_eq(h->sums.uwh[5], 7);
	cr_assert_eq(open_hours_get(m, c1, D0 + 1)->uwh[0], 4);

	/* a late reading for D0 is an addition to it; replayed, nothing is written */
	feed(m, &b, table, c1, D0, 3600, 3600, 5);
	cr_assert_eq(hours_row(&b, "C1", D0)->sums.uwh[1], 5, "added to the whole day");
	batch_reset(&b);
	feed(m, NULL, table, c1, D0 + 2, 0, 1800, 9);
	cr_assert_null(hours_row(&b, "C1", D0 + 1), "a replayed close writes nothing");
	cr_assert_eq(open_hours_get(m, c1, D0 + 2)->uwh[0], 9);

	/* a daily reading closes a day of hours too, and has none of its own */
	feed(m, &b, table, c1, D0 + 3, 0, 86400, 100);
	cr_assert_eq(hours_row(&b, "C1", D0 + 2)->sums.uwh[0], 9);
	cr_assert_null(open_hours_get(m, c1, D0 + 3));

	/* readings off the quarter hours are not in the slots: kept here, and closed with them */
	feed(m, &b, table, c1, D0 + 4, 60, 300, 3);
	feed(m, &b, table, c1, D0 + 4, 1800, 1800, 40);
	cr_assert_eq(open_hours_count(m), 1);
	cr_assert_eq(open_hours_get(m, c1, D0 + 4)->uwh[0], 43);
	feed(m, &b, table, c1, D0 + 5, 0, 1800, 1);
	cr_assert_eq(hours_row(&b, "C1", D0 + 4)->sums.uwh[0], 43);
	cr_assert_eq(open_hours_get(m, c1, D0 + 5)->uwh[0], 1, "the new day's alone");

	/* restored with a snapshot: the slots' part and the rest; cleared with the tables */
	struct daily_hours saved = {.mask = 1u | 4u, .uwh = {[0] = 1, [2] = 77}};
	open_hours_set(m, c1, 0, D0 + 5, &saved);
	cr_assert_eq(open_hours_get(m, c1, D0 + 5)->uwh[2], 77);
	cr_assert_eq(open_hours_get(m, c1, D0 + 5)->uwh[0], 1, "the slots' hour not counted twice");
	cr_assert_eq(open_hours_get(m, c1, D0 + 5)->mask, 5u);
	open_hours_clear(m);
	cr_assert_eq(open_hours_get(m, c1, D0 + 5)->uwh[2], 0, "what the slots did not give is gone");
	cr_assert_eq(open_hours_count(m), 0);
	batch_free(&b);
	open_hours_free(m);
	cstate_table_destroy(table);
}

/* An applied restatement moved the hours by the difference, spread as the new reading is:
 * for a reading longer than an hour that rounds otherwise than the new energy spread afresh,
 * and the sums keep doing so. */
Test(open_hours, a_restatement_moves_the_hours_as_it_always_did)
{
	struct open_hours *m = open_hours_new();
	struct cstate_table *table = cstate_table_new(16);
	struct cstate *c1 = cstate_table_upsert(table, "C1", 2, 0, NULL);
	feed(m, NULL, table, c1, D0, 0, 3 * 3600, 1); /* 0, 0, 1 over three hours */
	struct daily_hours expected = {0};
	daily_hours_add(&expected, 0, 3 * 3600, 1);
	/* restated to 5: the sums move by +4 spread over three hours (1, 1, 2) */
	daily_restate(table, c1, 0, 3 * 3600, 1, 5);
	struct ingest_result r;
	memset(&r, 0, sizeof(r));
	r.outcome = INGEST_ACCEPTED;
	r.cs = c1;
	r.has_usage = 1;
	r.restated = 1;
	r.day = D0;
	r.second = 0;
	r.interval_s = 3 * 3600;
	r.uwh = 4;
	r.restated_uwh = 1;
	r.restated_interval_s = 3 * 3600;
	r.day_result = DAILY_SAME_DAY;
	open_hours_reading(m, NULL, &r);
	daily_hours_add(&expected, 0, 3 * 3600, 4);
	const struct daily_hours *h = open_hours_get(m, c1, D0);
	for (int k = 0; k < DAILY_HOURS; k++)
		cr_assert_eq(h->uwh[k], expected.uwh[k], "hour %d", k);
	cr_assert_eq(h->uwh[0] + h->uwh[1] + h->uwh[2], 5);
	open_hours_free(m);
	cstate_table_destroy(table);
}

Test(open_hours, many_entities_keep_their_own_day)
{
	enum { N = 3000 };
	struct cstate_table *table = cstate_table_new(16), *transformers = cstate_table_new(16);
	static struct cstate *cs[N];
	char id[16];
	struct open_hours *m = open_hours_new();
	for (int i = 0; i < N; i++) {
		int len = snprintf(id, sizeof(id), "C%d", i);
		cs[i] = cstate_table_upsert(table, id, (size_t)len, i % 2, NULL);
		/* every other entity reads off the quarter hours: those open_hours keeps */
		feed(m, NULL, table, cs[i], D0 + i % 3, 3600 * (i % 24) + (i % 2 ? 60 : 0), 900, i);
	}
	cr_assert_eq(open_hours_count(m), N / 2);
	for (int i = 0; i < N; i++) {
		const struct daily_hours *h = open_hours_get(m, cs[i], D0 + i % 3);
		cr_assert_not_null(h, "entity %d", i);
		cr_assert_eq(h->mask, 1u << (i % 24));
		cr_assert_eq(h->uwh[i % 24], i);
	}
	/* a revoked partition's entities leave; a transformer of the same number stays */
	struct cstate *t1 = cstate_table_upsert(transformers, "T1", 2, 1, NULL);
	feed(m, NULL, transformers, t1, D0, 60, 300, 5);
	open_hours_remove_partition(m, 0, 1);
	cr_assert_eq(open_hours_count(m), 1, "partition 1's customers left, partition 0's kept none");
	cr_assert_not_null(open_hours_get(m, t1, D0));
	open_hours_remove_partition(m, 1, 1);
	cr_assert_null(open_hours_get(m, t1, D0));
	open_hours_free(m);
	cstate_table_destroy(transformers);
	cstate_table_destroy(table);
}
