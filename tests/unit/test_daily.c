/*
 * test_daily.c - Criterion suite for scoring/daily.c: kWh to integer micro-kWh conversion and
 * the open/close/late logic of the per-customer daily rollup.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <string.h>

#include "scoring/daily.h"

static void fresh(struct cstate *cs)
{
	memset(cs, 0, sizeof(*cs));
	cstate_id_bind(cs, "C1");
}

Test(daily, kwh_to_uwh_rounding)
{
	cr_assert_eq(daily_kwh_to_uwh(0.0), 0);
	cr_assert_eq(daily_kwh_to_uwh(0.001), 1000);
	cr_assert_eq(daily_kwh_to_uwh(1.5), 1500000);
	cr_assert_eq(daily_kwh_to_uwh(0.1), 100000);
	cr_assert_eq(daily_kwh_to_uwh(0.3), 300000);
	cr_assert_eq(daily_kwh_to_uwh(123.456789), 123456789);
	cr_assert_eq(daily_kwh_to_uwh(0.0000004), 0, "rounds to nearest, down");
	cr_assert_eq(daily_kwh_to_uwh(0.0000006), 1, "rounds to nearest, up");
	cr_assert_eq(daily_kwh_to_uwh(1e-9), 0);
	cr_assert_eq(daily_kwh_to_uwh(9000000.25), 9000000250000LL);
	cr_assert_eq(daily_kwh_to_uwh(9e12), 9000000000000000000LL, "near the documented limit");
	/* Outside the contract: clamped, never undefined. */
	cr_assert_eq(daily_kwh_to_uwh(-1.0), 0);
	cr_assert_eq(daily_kwh_to_uwh(NAN), 0);
	cr_assert_eq(daily_kwh_to_uwh(INFINITY), 9200000000000000000LL);
	cr_assert_eq(daily_kwh_to_uwh(1e300), 9200000000000000000LL);
}

Test(daily, first_reading_opens_day)
{
	struct cstate cs;
	struct daily_closed closed = {-7, -7, -7, -7};
	fresh(&cs);
	cr_assert_eq(daily_apply_reading(&cs, 20513, 250000, 1800, &closed), DAILY_SAME_DAY);
	cr_assert(cs.flags & CSTATE_F_HAS_DAY);
	cr_assert_eq(cs.open_day, 20513);
	cr_assert_eq(cs.open_uwh, 250000);
	cr_assert_eq(cs.open_readings, 1);
	cr_assert_eq(cs.days_closed, 0);
	cr_assert_eq(closed.day, -7, "*closed untouched unless a day closed");
}

Test(daily, first_day_may_be_day_zero_or_negative)
{
	struct cstate cs;
	fresh(&cs);
	/* HAS_DAY, not open_day != 0, says whether a day is open. */
	cr_assert_eq(daily_apply_reading(&cs, 0, 5, 1800, NULL), DAILY_SAME_DAY);
	cr_assert_eq(daily_apply_reading(&cs, 0, 5, 1800, NULL), DAILY_SAME_DAY);
	cr_assert_eq(cs.open_uwh, 10);
	cr_assert_eq(cs.open_readings, 2);
	cr_assert_eq(daily_apply_reading(&cs, -1, 5, 1800, NULL), DAILY_LATE);
}

Test(daily, same_day_accumulates)
{
	struct cstate cs;
	fresh(&cs);
	for (int i = 0; i < 96; i++)
		cr_assert_eq(daily_apply_reading(&cs, 100, 1000 + i, 1800, NULL), DAILY_SAME_DAY);
	cr_assert_eq(cs.open_day, 100);
	cr_assert_eq(cs.open_readings, 96);
	cr_assert_eq(cs.open_uwh, 96 * 1000 + 95 * 96 / 2);
	cr_assert_eq(cs.days_closed, 0);
}

Test(daily, later_day_closes_open_day)
{
	struct cstate cs;
	struct daily_closed closed;
	fresh(&cs);
	daily_apply_reading(&cs, 100, 400, 1800, NULL);
	daily_apply_reading(&cs, 100, 600, 900, NULL);
	cr_assert_eq(cs.open_covered_s, 2700);

	memset(&closed, 0, sizeof(closed));
	cr_assert_eq(daily_apply_reading(&cs, 101, 70, 3600, &closed), DAILY_CLOSED_DAY);
	cr_assert_eq(closed.day, 100);
	cr_assert_eq(closed.uwh, 1000);
	cr_assert_eq(closed.readings, 2);
	cr_assert_eq(closed.covered_s, 2700, "the seconds its readings covered");
	cr_assert_eq(cs.open_covered_s, 3600, "the closing reading opens the new day");
	cr_assert_eq(cs.days_closed, 1);
	cr_assert_eq(cs.last_closed_day, 100);
	cr_assert_eq(cs.last_closed_uwh, 1000);
	cr_assert_eq(cs.open_day, 101);
	cr_assert_eq(cs.open_uwh, 70, "the closing reading opens the new day");
	cr_assert_eq(cs.open_readings, 1);

	/* A gap: only the open day closes, skipped days are not invented. */
	cr_assert_eq(daily_apply_reading(&cs, 108, 5, 1800, &closed), DAILY_CLOSED_DAY);
	cr_assert_eq(closed.day, 101);
	cr_assert_eq(closed.uwh, 70);
	cr_assert_eq(closed.readings, 1);
	cr_assert_eq(cs.days_closed, 2);
	cr_assert_eq(cs.last_closed_day, 101);
	cr_assert_eq(cs.open_day, 108);

	/* closed may be NULL. */
	cr_assert_eq(daily_apply_reading(&cs, 109, 1, 1800, NULL), DAILY_CLOSED_DAY);
	cr_assert_eq(cs.days_closed, 3);
	cr_assert_eq(cs.last_closed_uwh, 5);
}

Test(daily, earlier_day_is_late_and_changes_nothing)
{
	struct cstate cs, before;
	struct daily_closed closed = {-1, -1, -1, -1};
	fresh(&cs);
	daily_apply_reading(&cs, 200, 10, 1800, NULL);
	daily_apply_reading(&cs, 201, 20, 1800, NULL);
	memcpy(&before, &cs, sizeof(cs));

	cr_assert_eq(daily_apply_reading(&cs, 200, 999, 1800, &closed), DAILY_LATE);
	cr_assert_eq(daily_apply_reading(&cs, 150, 999, 1800, &closed), DAILY_LATE);
	cr_assert_eq(memcmp(&cs, &before, sizeof(cs)), 0);
	cr_assert_eq(closed.day, -1);
	cr_assert_eq(daily_apply_reading(&cs, 201, 1, 1800, NULL), DAILY_SAME_DAY);
	cr_assert_eq(cs.open_uwh, 21);
}

Test(daily, uwh_sums_are_exact)
{
	struct cstate cs;
	fresh(&cs);
	double naive = 0.0;
	for (int i = 0; i < 1000; i++) {
		daily_apply_reading(&cs, 7, daily_kwh_to_uwh(0.001), 1800, NULL);
		naive += 0.001;
	}
	cr_assert_eq(cs.open_uwh, 1000000, "1000 x 0.001 kWh is exactly 1 kWh");
	cr_assert_neq(naive, 1.0, "summing doubles would not be exact (why micro-kWh)");
	cr_assert_eq(cs.open_readings, 1000);
}

Test(daily, sums_do_not_depend_on_order)
{
	enum { N = 2000 };
	static double kwh[N];
	uint64_t rng = 0x1234567;
	for (int i = 0; i < N; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		kwh[i] = (double)(rng % 1000000) / 3e5; /* 0 .. 3.3 kWh with long fractions */
	}
	struct cstate fwd, rev, shuffled;
	fresh(&fwd);
	fresh(&rev);
	fresh(&shuffled);
	for (int i = 0; i < N; i++) {
		daily_apply_reading(&fwd, 9, daily_kwh_to_uwh(kwh[i]), 1800, NULL);
		daily_apply_reading(&rev, 9, daily_kwh_to_uwh(kwh[N - 1 - i]), 1800, NULL);
		daily_apply_reading(&shuffled, 9, daily_kwh_to_uwh(kwh[(i * 7919) % N]), 1800, NULL);
	}
	cr_assert_eq(fwd.open_uwh, rev.open_uwh);
	cr_assert_eq(fwd.open_uwh, shuffled.open_uwh);
	cr_assert_eq(memcmp(&fwd, &rev, sizeof(fwd)), 0, "state is bit-identical");

	/* The closed day matches too, whichever order the readings came in. */
	struct daily_closed a, b;
	daily_apply_reading(&fwd, 10, 0, 1800, &a);
	daily_apply_reading(&shuffled, 10, 0, 1800, &b);
	cr_assert_eq(a.uwh, b.uwh);
	cr_assert_eq(a.readings, N);
}

Test(daily, energy_saturates_instead_of_overflowing)
{
	struct cstate cs;
	fresh(&cs);
	daily_apply_reading(&cs, 1, INT64_MAX - 10, 1800, NULL);
	cr_assert_eq(daily_apply_reading(&cs, 1, 100, 1800, NULL), DAILY_SAME_DAY);
	cr_assert_eq(cs.open_uwh, INT64_MAX);
}

/* Sum of the hours whose bit is set in h's mask. */
static int64_t hours_total(const struct daily_hours *h)
{
	int64_t sum = 0;
	for (int k = 0; k < DAILY_HOURS; k++)
		if (h->mask & (1u << k))
			sum += h->uwh[k];
	return sum;
}

Test(daily, hours_take_readings_of_an_hour_or_less_whole)
{
	struct daily_hours h = {0};
	daily_hours_add(&h, 0, 900, 100);         /* 00:00 */
	daily_hours_add(&h, 2700, 900, 50);       /* 00:45 */
	daily_hours_add(&h, 5 * 3600, 3600, 0);   /* 05:00, a reading of nothing */
	daily_hours_add(&h, 23 * 3600 + 1800, 1800, 7);
	cr_assert_eq(h.mask, (1u << 0) | (1u << 5) | (1u << 23));
	cr_assert_eq(h.uwh[0], 150);
	cr_assert_eq(h.uwh[5], 0, "a reading of 0 kWh is an hour with a reading");
	cr_assert_eq(h.uwh[23], 7);
	cr_assert_eq(hours_total(&h), 157);
}

Test(daily, hours_spread_longer_readings_evenly_and_exactly)
{
	struct daily_hours h = {0};
	daily_hours_add(&h, 6 * 3600, 3 * 3600, 1000); /* 06:00-09:00: 333, 333, 334 */
	cr_assert_eq(h.mask, 7u << 6);
	cr_assert_eq(h.uwh[6], 333);
	cr_assert_eq(h.uwh[7], 333);
	cr_assert_eq(h.uwh[8], 334);
	/* a reading that runs past midnight stays in its day: 22:00 + 4 h puts 1 in hour 22 and
	 * its other three hours (1, 1, 2) in hour 23 */
	daily_hours_add(&h, 22 * 3600, 4 * 3600, 5);
	cr_assert_eq(h.uwh[22], 1);
	cr_assert_eq(h.uwh[23], 4);
	/* the extra hour of a 25-hour day counts in hour 23 */
	daily_hours_add(&h, 24 * 3600 + 10, 3600, 11);
	cr_assert_eq(h.uwh[23], 15);
	cr_assert_eq(hours_total(&h), 1016);
	/* 90 minutes starting 10:30 covers two hours: ceil(5400 / 3600) */
	struct daily_hours g = {0};
	daily_hours_add(&g, 10 * 3600 + 1800, 5400, 9);
	cr_assert_eq(g.mask, 3u << 10);
	cr_assert_eq(g.uwh[10], 4);
	cr_assert_eq(g.uwh[11], 5);
	/* a daily meter's day over the 24 hours: 1,000,001 uWh is 41,666 or 41,667 an hour */
	struct daily_hours d = {0};
	daily_hours_add(&d, 0, 86400, 1000001);
	cr_assert_eq(d.mask, 0xffffffu);
	cr_assert_eq(d.uwh[0], 41666);
	cr_assert_eq(d.uwh[23], 41667);
	cr_assert_eq(hours_total(&d), 1000001);
}

/* ---- a closed day's coverage (risk.reading_coverage's codes) ---- */

#define QUARTER CSTATE_COVER_SLOT_S

Test(daily, coverage_records_a_reading_by_its_quarter_hours_and_energy)
{
	uint16_t cover[CSTATE_COVER_SLOTS] = {0};
	int64_t old;
	cr_assert_eq(daily_cover_check(cover, 2 * QUARTER, 1800, 500000, &old), DAILY_COVER_NEW);
	daily_cover_add(cover, 2 * QUARTER, 1800, 500000);
	cr_assert_eq(cover[2], 501, "500 Wh + 1 where it starts");
	cr_assert_eq(cover[3], CSTATE_COVER_CONT, "and the quarter hour it goes on into");
	cr_assert_eq(cover[4], CSTATE_COVER_NONE);
	cr_assert_eq(cover[1], CSTATE_COVER_NONE);

	cr_assert_eq(daily_cover_check(cover, 2 * QUARTER, 1800, 500000, &old), DAILY_COVER_SAME);
	cr_assert_eq(daily_cover_check(cover, 2 * QUARTER, 1800, 600000, &old), DAILY_COVER_DIFFERS);
	cr_assert_eq(old, 500000, "the counted energy, to replace it");
	/* other shapes over it: no energy to replace */
	cr_assert_eq(daily_cover_check(cover, 2 * QUARTER, 900, 500000, &old), DAILY_COVER_DIFFERS);
	cr_assert_eq(old, -1);
	cr_assert_eq(daily_cover_check(cover, 3 * QUARTER, 900, 500000, &old), DAILY_COVER_DIFFERS);
	cr_assert_eq(daily_cover_check(cover, 0, 3600, 500000, &old), DAILY_COVER_DIFFERS);
	cr_assert_eq(daily_cover_check(cover, 2 * QUARTER + 60, 60, 1000, &old), DAILY_COVER_DIFFERS,
	             "untracked, over tracked time");
	cr_assert_eq(daily_cover_check(cover, 0, 1800, 500000, &old), DAILY_COVER_NEW);
	cr_assert_eq(daily_cover_check(cover, 4 * QUARTER, 1800, 500000, &old), DAILY_COVER_NEW);

	/* an untracked reading leaves the coverage as it is */
	uint16_t before[CSTATE_COVER_SLOTS];
	memcpy(before, cover, sizeof(before));
	daily_cover_add(cover, 60, 300, 1000);
	cr_assert_eq(memcmp(before, cover, sizeof(before)), 0);

	/* the last quarter hour of a 25-hour day, and a day-long reading */
	daily_cover_add(cover, 99 * QUARTER, 900, 0);
	cr_assert_eq(cover[99], 1, "a reading of nothing is covered too");
	cr_assert_eq(daily_cover_check(cover, 0, 86400, 100, &old), DAILY_COVER_DIFFERS);
}

Test(daily, closed_day_energies_beyond_the_exact_codes_are_compared_by_hash)
{
	uint16_t cover[CSTATE_COVER_SLOTS] = {0};
	int64_t old;
	daily_cover_add(cover, 0, 900, 32766000);       /* 32,766 Wh: the last exact code */
	cr_assert_eq(cover[0], CSTATE_COVER_EXACT_MAX);
	daily_cover_add(cover, QUARTER, 900, 32767000); /* one Wh more: hashed */
	cr_assert_geq(cover[1], CSTATE_COVER_HASHED);
	cr_assert_lt(cover[1], CSTATE_COVER_CONT);
	daily_cover_add(cover, 2 * QUARTER, 900, 1500); /* 1.5 Wh: hashed */
	cr_assert_geq(cover[2], CSTATE_COVER_HASHED);
	cr_assert_eq(daily_cover_check(cover, QUARTER, 900, 32767000, &old), DAILY_COVER_SAME);
	cr_assert_eq(daily_cover_check(cover, 2 * QUARTER, 900, 1500, &old), DAILY_COVER_SAME);
	cr_assert_eq(daily_cover_check(cover, 2 * QUARTER, 900, 1501, &old), DAILY_COVER_DIFFERS);
	cr_assert_eq(old, -1, "a hashed energy cannot be replaced");
	/* the hash spreads: nearby energies rarely share a code */
	int same = 0;
	for (int64_t uwh = 1; uwh <= 10000; uwh++) {
		uint16_t c[CSTATE_COVER_SLOTS] = {0};
		daily_cover_add(c, 0, 900, 1500 + uwh);
		same += c[0] == cover[2];
	}
	cr_assert_leq(same, 3, "%d of 10,000 nearby energies share the hash", same);
}

/* ---- the open day's slots ---- */

struct open_fixture {
	struct cstate_table *table;
	struct cstate *cs;
};

static void open_init(struct open_fixture *f)
{
	f->table = cstate_table_new(16);
	f->cs = cstate_table_upsert(f->table, "C1", 2, 0, NULL);
}

/* Counts a reading into the open day as detector/ingest.c does (after its check said NEW). */
static void count_reading(struct open_fixture *f, int32_t day, int32_t second, int32_t interval_s,
                          int64_t uwh)
{
	daily_apply_reading(f->cs, day, uwh, interval_s, NULL);
	daily_open_add(f->table, f->cs, second, interval_s, uwh);
}

static enum daily_cover open_check(const struct open_fixture *f, int32_t second,
                                   int32_t interval_s, int64_t uwh, int64_t *old)
{
	return daily_open_check(f->cs, f->cs->open_day, second, interval_s, uwh, old, NULL);
}

Test(daily, the_open_days_slots_follow_the_meters_interval)
{
	struct open_fixture f;
	int64_t old;
	int32_t old_interval;
	open_init(&f);
	cr_assert_eq(open_check(&f, 0, 1800, 1000, &old), DAILY_COVER_NEW, "no day yet");
	for (int k = 0; k < 4; k++)
		count_reading(&f, 100, k * 1800, 1800, 250000 + 1000 * k);
	const struct cstate_slots *slots = f.cs->slots;
	cr_assert_not_null(slots);
	cr_assert_eq(slots->day, 100);
	cr_assert_eq(slots->grid, 2, "a half hour a slot");
	cr_assert_eq(slots->count, 50, "a 25-hour day of half hours");
	cr_assert_not(slots->exact, "whole Wh: compact codes");
	cr_assert_eq(cstate_slot_code(slots, 1), 252, "251 Wh + 1");
	cr_assert_eq(cstate_slot_code(slots, 0), 251, "its neighbour in the same three bytes");
	cr_assert_eq(cstate_slot_code(slots, 2), 253);
	cr_assert_eq(cstate_slot_code(slots, 4), CSTATE_SLOT_NONE);
	size_t size_before = cstate_table_slots_memory(f.table);

	/* the verdicts of a closed day's coverage, exact */
	cr_assert_eq(open_check(&f, 1800, 1800, 251000, &old), DAILY_COVER_SAME);
	cr_assert_eq(daily_open_check(f.cs, 100, 1800, 1800, 251001, &old, &old_interval),
	             DAILY_COVER_DIFFERS);
	cr_assert_eq(old, 251000, "the counted energy, to replace it");
	cr_assert_eq(old_interval, 1800);
	cr_assert_eq(open_check(&f, 1800, 900, 251000, &old), DAILY_COVER_DIFFERS, "another shape");
	cr_assert_eq(old, -1);
	cr_assert_eq(open_check(&f, 2700, 900, 1, &old), DAILY_COVER_DIFFERS, "inside a half hour");
	cr_assert_eq(open_check(&f, 0, 3600, 1, &old), DAILY_COVER_DIFFERS, "over two of them");
	cr_assert_eq(open_check(&f, 1860, 60, 1, &old), DAILY_COVER_DIFFERS, "untracked, over them");
	cr_assert_eq(open_check(&f, 7200, 1800, 1, &old), DAILY_COVER_NEW);
	cr_assert_eq(daily_open_check(f.cs, 99, 0, 1800, 250000, &old, NULL), DAILY_COVER_NEW,
	             "another day's readings are not the open day's");

	/* a quarter hour off the half hours makes the slots finer, the readings kept */
	count_reading(&f, 100, 7200 + 900, 900, 5000);
	slots = f.cs->slots;
	cr_assert_eq(slots->grid, 1);
	cr_assert_eq(slots->count, 100);
	cr_assert_eq(open_check(&f, 1800, 1800, 251000, &old), DAILY_COVER_SAME);
	cr_assert_eq(open_check(&f, 1800, 900, 251000, &old), DAILY_COVER_DIFFERS);
	cr_assert_eq(open_check(&f, 8100, 900, 5000, &old), DAILY_COVER_SAME);
	cr_assert_gt(cstate_table_slots_memory(f.table), size_before);

	/* an untracked reading is not held: the slots stay as they are */
	uint8_t copy[512];
	memcpy(copy, slots, cstate_slots_size(slots->count, slots->exact));
	count_reading(&f, 100, 10000, 300, 7000);
	cr_assert_eq(f.cs->slots, slots);
	cr_assert_eq(memcmp(copy, slots, cstate_slots_size(slots->count, slots->exact)), 0);

	/* the next day starts over with its own meter's interval */
	count_reading(&f, 101, 0, 86400, 12000000);
	slots = f.cs->slots;
	cr_assert_eq(slots->day, 101);
	cr_assert_eq(slots->grid, 96, "a daily meter: a day a slot");
	cr_assert_eq(slots->count, 2);
	cr_assert_eq(open_check(&f, 0, 86400, 12000000, &old), DAILY_COVER_SAME);
	cr_assert_eq(open_check(&f, 1800, 1800, 251000, &old), DAILY_COVER_DIFFERS);
	cstate_table_destroy(f.table);
}

Test(daily, the_open_day_holds_every_energy_exactly)
{
	struct open_fixture f;
	int64_t old;
	open_init(&f);
	count_reading(&f, 100, 0, 900, 4093000);
	cr_assert_not(f.cs->slots->exact, "4,093 Wh still fit the compact codes");
	cr_assert_eq(cstate_slot_code(f.cs->slots, 0), CSTATE_SLOT_WH_MAX + 1);
	count_reading(&f, 100, 3 * 900, 900, 4094000);
	cr_assert(f.cs->slots->exact, "4,094 Wh make the slots wide");
	cr_assert_eq(open_check(&f, 0, 900, 4093000, &old), DAILY_COVER_SAME, "kept on widening");
	cr_assert_eq(open_check(&f, 2700, 900, 4094000, &old), DAILY_COVER_SAME);
	/* afresh: past the closed days' exact codes, and a part of a Wh */
	cstate_table_destroy(f.table);
	open_init(&f);
	count_reading(&f, 100, 0, 900, 32767000);
	count_reading(&f, 100, 900, 900, 65533000);
	cr_assert(f.cs->slots->exact);
	count_reading(&f, 100, 1800, 900, 1500);          /* 1.5 Wh */
	cr_assert(f.cs->slots->exact, "a part of a Wh needs the slots wide");
	count_reading(&f, 100, 2700, 900, 9000000000000LL); /* 9 GWh */
	cr_assert_eq(open_check(&f, 900, 900, 65533000, &old), DAILY_COVER_SAME, "kept on widening");
	cr_assert_eq(open_check(&f, 1800, 900, 1500, &old), DAILY_COVER_SAME);
	cr_assert_eq(open_check(&f, 1800, 900, 1501, &old), DAILY_COVER_DIFFERS,
	             "a micro-kWh apart is a restatement, never a duplicate");
	cr_assert_eq(old, 1500, "and the counted energy is known, to replace it");
	cr_assert_eq(open_check(&f, 2700, 900, 9000000000000LL, &old), DAILY_COVER_SAME);
	cr_assert_eq(open_check(&f, 2700, 900, 9000000000001LL, &old), DAILY_COVER_DIFFERS);
	cr_assert_eq(old, 9000000000000LL);
	/* no two energies share a code: every one of 10,000 nearby energies is told apart */
	for (int64_t uwh = 1; uwh <= 10000; uwh++)
		cr_assert_eq(open_check(&f, 1800, 900, 1500 + uwh, &old), DAILY_COVER_DIFFERS);

	/* the closed day's coverage written from them is what the codes always were */
	uint16_t cover[CSTATE_COVER_SLOTS] = {0}, from_slots[CSTATE_COVER_SLOTS];
	daily_cover_add(cover, 0, 900, 32767000);
	daily_cover_add(cover, 900, 900, 65533000);
	daily_cover_add(cover, 1800, 900, 1500);
	daily_cover_add(cover, 2700, 900, 9000000000000LL);
	daily_open_cover(f.cs, 100, from_slots);
	cr_assert_eq(memcmp(cover, from_slots, sizeof(cover)), 0);
	cstate_table_destroy(f.table);
}

Test(daily, a_restatement_moves_the_open_days_total)
{
	struct open_fixture f;
	int64_t old;
	open_init(&f);
	count_reading(&f, 100, 0, 900, 500000);
	count_reading(&f, 100, QUARTER, 900, 250000);
	daily_restate(f.table, f.cs, 0, 900, 500000, 800000);
	cr_assert_eq(f.cs->open_uwh, 1050000);
	cr_assert_eq(f.cs->open_readings, 2);
	cr_assert_eq(f.cs->open_covered_s, 1800);
	cr_assert_eq(cstate_slot_code(f.cs->slots, 0), 801);
	cr_assert_eq(open_check(&f, 0, 900, 800000, &old), DAILY_COVER_SAME);
	daily_restate(f.table, f.cs, 0, 900, 800000, 0);
	cr_assert_eq(f.cs->open_uwh, 250000);
	cr_assert_eq(cstate_slot_code(f.cs->slots, 0), 1);
	daily_restate(f.table, f.cs, 0, 900, 0, 333);
	cr_assert(f.cs->slots->exact, "a restatement to a part of a Wh widens the slots");
	cr_assert_eq(open_check(&f, 0, 900, 333, &old), DAILY_COVER_SAME);
	cr_assert_eq(f.cs->open_uwh, 250333);
	cstate_table_destroy(f.table);
}

/* A small deterministic generator (xorshift). */
static uint64_t next_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

/*
 * The slots and a closed day's codes are two views of one day: for any sequence of readings
 * (aligned and not, of any length, whole Wh and not, some running past the day), counted when
 * the closed-day check says NEW, both give the same verdict for every probe whose energies
 * the codes hold exactly, the same codes when the day closes, and hourly sums (the slots'
 * plus the untracked readings') equal to those of every counted reading.
 */
Test(daily, the_slots_agree_with_the_closed_day_codes_and_the_hourly_sums)
{
	static const int32_t lengths[] = {900, 1800, 3600, 2700, 5400, 7200, 14400, 43200, 86400, 300, 60};
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	for (int round = 0; round < 300; round++) {
		struct open_fixture f;
		uint16_t cover[CSTATE_COVER_SLOTS] = {0};
		struct daily_hours expected = {0}, untracked = {0};
		open_init(&f);
		int whole_wh = round % 3 != 0;
		for (int n = 0; n < 60; n++) {
			uint64_t r = next_rand(&seed);
			int32_t interval = lengths[r % (round % 2 ? 4 : 11)];
			int32_t second = (int32_t)((r >> 8) % 100) * QUARTER;
			if (interval < QUARTER)
				second += (int32_t)((r >> 16) % QUARTER);
			if (second >= 90000)
				second = 89100;
			int64_t uwh = whole_wh ? 1000 * (int64_t)((r >> 24) % 40000)
			                       : (int64_t)((r >> 24) % 70000000);
			int64_t old_cover, old_open;
			enum daily_cover v = daily_cover_check(cover, second, interval, uwh, &old_cover);
			enum daily_cover w = f.cs->flags & CSTATE_F_HAS_DAY
			                         ? daily_open_check(f.cs, 100, second, interval, uwh,
			                                            &old_open, NULL)
			                         : DAILY_COVER_NEW;
			if (whole_wh && uwh < 32767000)
				cr_assert_eq(v, w, "round %d reading %d: %d s at %d", round, n, interval,
				             second);
			if (v != DAILY_COVER_NEW)
				continue;
			cr_assert_eq(w, DAILY_COVER_NEW);
			daily_cover_add(cover, second, interval, uwh);
			count_reading(&f, 100, second, interval, uwh);
			if (interval < 86400) {
				daily_hours_add(&expected, second, interval, uwh);
				if (!daily_reading_tracked(second, interval))
					daily_hours_add(&untracked, second, interval, uwh);
			}
		}
		uint16_t from_slots[CSTATE_COVER_SLOTS];
		daily_open_cover(f.cs, 100, from_slots);
		cr_assert_eq(memcmp(cover, from_slots, sizeof(cover)), 0, "round %d", round);
		struct daily_hours derived = untracked;
		daily_open_hours(f.cs, 100, &derived);
		cr_assert_eq(derived.mask, expected.mask, "round %d", round);
		for (int h = 0; h < DAILY_HOURS; h++)
			cr_assert_eq(derived.uwh[h], expected.uwh[h], "round %d hour %d", round, h);
		cstate_table_destroy(f.table);
	}
}
