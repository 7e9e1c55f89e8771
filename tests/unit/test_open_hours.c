/*
 * test_open_hours.c - each entity's open-day hourly sums (detector/open_hours.h): readings
 * add to the open day, a closed day goes into the batch whole, a late reading as an
 * addition, a replayed reading into the sums only; restore, lookup and clear.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "detector/open_hours.h"

/* 2026-01-01 */
#define D0 20454

static struct ingest_result reading(struct cstate *cs, int32_t day, int32_t second,
                                    int32_t interval_s, int64_t uwh, enum daily_result result,
                                    int32_t closed_day)
{
	struct ingest_result r;
	memset(&r, 0, sizeof(r));
	r.outcome = INGEST_ACCEPTED;
	r.cs = cs;
	r.has_usage = 1;
	r.day = day;
	r.second = second;
	r.interval_s = interval_s;
	r.uwh = uwh;
	r.day_result = result;
	r.closed.day = closed_day;
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
	struct batch b;
	struct cstate c1;
	memset(&c1, 0, sizeof(c1));
	snprintf(c1.id, sizeof(c1.id), "C1");
	batch_init(&b);

	struct ingest_result r = reading(&c1, D0, 0, 1800, 10, DAILY_SAME_DAY, 0);
	open_hours_reading(m, &b, &r);
	r = reading(&c1, D0, 1800, 1800, 20, DAILY_SAME_DAY, 0);
	open_hours_reading(m, &b, &r);
	r = reading(&c1, D0, 5 * 3600, 1800, 7, DAILY_SAME_DAY, 0);
	open_hours_reading(m, &b, &r);
	cr_assert_null(hours_row(&b, "C1", D0), "an open day is not written with every batch");
	const struct daily_hours *open = open_hours_get(m, &c1, D0);
	cr_assert_not_null(open);
	cr_assert_eq(open->mask, 1u | (1u << 5));
	cr_assert_eq(open->uwh[0], 30);
	cr_assert_null(open_hours_get(m, &c1, D0 + 1), "only its open day");

	/* the next day's first reading closes D0: its hours go whole into the batch */
	r = reading(&c1, D0 + 1, 0, 1800, 4, DAILY_CLOSED_DAY, D0);
	open_hours_reading(m, &b, &r);
	const struct store_hours *h = hours_row(&b, "C1", D0);
	cr_assert_not_null(h);
	cr_assert(h->whole);
	cr_assert_eq(h->sums.uwh[0], 30);
	cr_assert_eq(h->sums.uwh[5], 7);
	cr_assert_eq(open_hours_get(m, &c1, D0 + 1)->uwh[0], 4);

	/* a late reading for D0 is an addition to it; replayed, nothing is written */
	r = reading(&c1, D0, 3600, 3600, 5, DAILY_LATE, 0);
	open_hours_reading(m, &b, &r);
	cr_assert_eq(hours_row(&b, "C1", D0)->sums.uwh[1], 5, "added to the whole day");
	batch_reset(&b);
	r = reading(&c1, D0 + 2, 0, 1800, 9, DAILY_CLOSED_DAY, D0 + 1);
	open_hours_reading(m, NULL, &r);
	cr_assert_null(hours_row(&b, "C1", D0 + 1), "a replayed close writes nothing");
	cr_assert_eq(open_hours_get(m, &c1, D0 + 2)->uwh[0], 9);

	/* a daily reading closes a day of hours too, and has none of its own */
	r = reading(&c1, D0 + 3, 0, 86400, 100, DAILY_CLOSED_DAY, D0 + 2);
	open_hours_reading(m, &b, &r);
	cr_assert_eq(hours_row(&b, "C1", D0 + 2)->sums.uwh[0], 9);
	cr_assert_null(open_hours_get(m, &c1, D0 + 3));

	/* restored with a snapshot; cleared with the tables */
	struct daily_hours saved = {.mask = 4, .uwh = {[2] = 77}};
	open_hours_set(m, &c1, 0, D0 + 5, &saved);
	cr_assert_eq(open_hours_get(m, &c1, D0 + 5)->uwh[2], 77);
	cr_assert_eq(open_hours_count(m), 1);
	open_hours_clear(m);
	cr_assert_null(open_hours_get(m, &c1, D0 + 5));
	cr_assert_eq(open_hours_count(m), 0);
	batch_free(&b);
	open_hours_free(m);
}

Test(open_hours, many_entities_keep_their_own_day)
{
	enum { N = 3000 };
	static struct cstate cs[N];
	struct open_hours *m = open_hours_new();
	for (int i = 0; i < N; i++) {
		snprintf(cs[i].id, sizeof(cs[i].id), "C%d", i);
		cs[i].partition = i % 2;
		struct ingest_result r = reading(&cs[i], D0 + i % 3, 3600 * (i % 24), 900, i,
		                                 DAILY_SAME_DAY, 0);
		open_hours_reading(m, NULL, &r);
	}
	cr_assert_eq(open_hours_count(m), N);
	for (int i = 0; i < N; i++) {
		const struct daily_hours *h = open_hours_get(m, &cs[i], D0 + i % 3);
		cr_assert_not_null(h, "entity %d", i);
		cr_assert_eq(h->mask, 1u << (i % 24));
		cr_assert_eq(h->uwh[i % 24], i);
	}
	/* a revoked partition's entities leave; a transformer of the same number stays */
	static struct cstate t1;
	snprintf(t1.id, sizeof(t1.id), "T1");
	t1.partition = 1;
	struct daily_hours some = {.mask = 1, .uwh = {5}};
	open_hours_set(m, &t1, 1, D0, &some);
	open_hours_remove_partition(m, 0, 1);
	cr_assert_eq(open_hours_count(m), N - N / 2 + 1);
	for (int i = 0; i < N; i++)
		cr_assert_eq(open_hours_get(m, &cs[i], D0 + i % 3) == NULL, cs[i].partition == 1,
		             "entity %d", i);
	cr_assert_not_null(open_hours_get(m, &t1, D0));
	open_hours_remove_partition(m, 1, 1);
	cr_assert_null(open_hours_get(m, &t1, D0));
	open_hours_free(m);
}
