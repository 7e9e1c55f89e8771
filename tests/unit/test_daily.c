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
	strcpy(cs->id, "C1");
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

/* ---- the open day's coverage ---- */

#define QUARTER CSTATE_COVER_SLOT_S

Test(daily, coverage_records_a_reading_by_its_quarter_hours_and_energy)
{
	struct cstate cs;
	int64_t old;
	fresh(&cs);
	cr_assert_eq(daily_apply_reading(&cs, 100, 500000, 1800, NULL), DAILY_SAME_DAY);
	cr_assert_eq(daily_cover_check(cs.cover, 2 * QUARTER, 1800, 500000, &old), DAILY_COVER_NEW);
	daily_cover_add(cs.cover, 2 * QUARTER, 1800, 500000);
	cr_assert_eq(cs.cover[2], 501, "500 Wh + 1 where it starts");
	cr_assert_eq(cs.cover[3], CSTATE_COVER_CONT, "and the quarter hour it goes on into");
	cr_assert_eq(cs.cover[4], CSTATE_COVER_NONE);
	cr_assert_eq(cs.cover[1], CSTATE_COVER_NONE);

	cr_assert_eq(daily_cover_check(cs.cover, 2 * QUARTER, 1800, 500000, &old), DAILY_COVER_SAME);
	cr_assert_eq(daily_cover_check(cs.cover, 2 * QUARTER, 1800, 600000, &old),
	             DAILY_COVER_DIFFERS);
	cr_assert_eq(old, 500000, "the counted energy, to replace it");
	/* other shapes over it: no energy to replace */
	cr_assert_eq(daily_cover_check(cs.cover, 2 * QUARTER, 900, 500000, &old), DAILY_COVER_DIFFERS);
	cr_assert_eq(old, -1);
	cr_assert_eq(daily_cover_check(cs.cover, 3 * QUARTER, 900, 500000, &old), DAILY_COVER_DIFFERS);
	cr_assert_eq(daily_cover_check(cs.cover, 0, 3600, 500000, &old), DAILY_COVER_DIFFERS);
	cr_assert_eq(daily_cover_check(cs.cover, 2 * QUARTER + 60, 60, 1000, &old),
	             DAILY_COVER_DIFFERS, "untracked, over tracked time");
	cr_assert_eq(daily_cover_check(cs.cover, 0, 1800, 500000, &old), DAILY_COVER_NEW);
	cr_assert_eq(daily_cover_check(cs.cover, 4 * QUARTER, 1800, 500000, &old), DAILY_COVER_NEW);

	/* an untracked reading leaves the coverage as it is */
	uint16_t before[CSTATE_COVER_SLOTS];
	memcpy(before, cs.cover, sizeof(before));
	daily_cover_add(cs.cover, 60, 300, 1000);
	cr_assert_eq(memcmp(before, cs.cover, sizeof(before)), 0);

	/* the last quarter hour of a 25-hour day, and a day-long reading */
	daily_cover_add(cs.cover, 99 * QUARTER, 900, 0);
	cr_assert_eq(cs.cover[99], 1, "a reading of nothing is covered too");
	cr_assert_eq(daily_cover_check(cs.cover, 0, 86400, 100, &old), DAILY_COVER_DIFFERS);

	/* a new day starts with no coverage */
	cr_assert_eq(daily_apply_reading(&cs, 101, 1000, 900, NULL), DAILY_CLOSED_DAY);
	for (int i = 0; i < CSTATE_COVER_SLOTS; i++)
		cr_assert_eq(cs.cover[i], CSTATE_COVER_NONE, "slot %d", i);
}

Test(daily, energies_beyond_the_exact_codes_are_compared_by_hash)
{
	struct cstate cs;
	int64_t old;
	fresh(&cs);
	daily_cover_add(cs.cover, 0, 900, 32766000);       /* 32,766 Wh: the last exact code */
	cr_assert_eq(cs.cover[0], CSTATE_COVER_EXACT_MAX);
	daily_cover_add(cs.cover, QUARTER, 900, 32767000); /* one Wh more: hashed */
	cr_assert_geq(cs.cover[1], CSTATE_COVER_HASHED);
	cr_assert_lt(cs.cover[1], CSTATE_COVER_CONT);
	daily_cover_add(cs.cover, 2 * QUARTER, 900, 1500); /* 1.5 Wh: hashed */
	cr_assert_geq(cs.cover[2], CSTATE_COVER_HASHED);
	cr_assert_eq(daily_cover_check(cs.cover, QUARTER, 900, 32767000, &old), DAILY_COVER_SAME);
	cr_assert_eq(daily_cover_check(cs.cover, 2 * QUARTER, 900, 1500, &old), DAILY_COVER_SAME);
	cr_assert_eq(daily_cover_check(cs.cover, 2 * QUARTER, 900, 1501, &old), DAILY_COVER_DIFFERS);
	cr_assert_eq(old, -1, "a hashed energy cannot be replaced");
	/* the hash spreads: nearby energies rarely share a code */
	int same = 0;
	for (int64_t uwh = 1; uwh <= 10000; uwh++) {
		uint16_t c[CSTATE_COVER_SLOTS] = {0};
		daily_cover_add(c, 0, 900, 1500 + uwh);
		same += c[0] == cs.cover[2];
	}
	cr_assert_leq(same, 3, "%d of 10,000 nearby energies share the hash", same);
}

Test(daily, a_restatement_moves_the_open_days_total)
{
	struct cstate cs;
	fresh(&cs);
	daily_apply_reading(&cs, 100, 500000, 900, NULL);
	daily_cover_add(cs.cover, 0, 900, 500000);
	daily_apply_reading(&cs, 100, 250000, 900, NULL);
	daily_cover_add(cs.cover, QUARTER, 900, 250000);
	daily_restate(&cs, 0, 900, 500000, 800000);
	cr_assert_eq(cs.open_uwh, 1050000);
	cr_assert_eq(cs.open_readings, 2);
	cr_assert_eq(cs.open_covered_s, 1800);
	cr_assert_eq(cs.cover[0], 801);
	daily_restate(&cs, 0, 900, 800000, 0);
	cr_assert_eq(cs.open_uwh, 250000);
	cr_assert_eq(cs.cover[0], 1);
}
