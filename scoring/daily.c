/*
 * daily.c - rolls a customer's interval readings up into local days (integer micro-kWh).
 *
 * Called by the detector for every accepted meter reading, after scoring/localday.c has
 * mapped the reading's ts to a local day. The open day lives in struct cstate; when a reading
 * for a later day arrives the open day is handed back to the caller (struct daily_closed),
 * which feeds the daily models and the daily-usage table. Pure arithmetic, no allocation.
 */
#include "daily.h"

#include <math.h>
#include <string.h>

/* Largest kWh value that converts without overflow: just below INT64_MAX micro-kWh. */
#define DAILY_KWH_MAX 9.2e12

/*
 * As declared in daily.h. llround(kwh * 1e6): exact for every value the event contract
 * allows, since |kwh| < DAILY_KWH_MAX (about 9.2e12 kWh, the int64 limit in micro-kWh).
 * Inputs outside the contract are clamped rather than trusted to llround: NaN and negative
 * values give 0, values at or above DAILY_KWH_MAX give DAILY_KWH_MAX * 1e6.
 */
int64_t daily_kwh_to_uwh(double kwh)
{
	if (!(kwh > 0.0))
		return 0;
	if (kwh >= DAILY_KWH_MAX)
		return (int64_t)(DAILY_KWH_MAX * 1e6);
	return (int64_t)llround(kwh * 1e6);
}

/* Adds two non-negative energies, saturating at INT64_MAX instead of overflowing. */
static int64_t uwh_add(int64_t a, int64_t b)
{
	int64_t sum;
	if (__builtin_add_overflow(a, b, &sum))
		return INT64_MAX;
	return sum;
}

/*
 * As declared in daily.h. The first reading of a customer opens its first day (and counts
 * as DAILY_SAME_DAY). A reading for a later day closes the open day even if days were
 * skipped: days without readings are not invented here. DAILY_LATE leaves cs unchanged.
 * closed may be NULL when the caller only needs the counters in cs.
 */
/* Opens `day` in cs with its first reading (the coverage starts empty). */
static void open_day(struct cstate *cs, int32_t day, int64_t uwh, int32_t interval_s)
{
	cs->open_day = day;
	cs->open_uwh = uwh;
	cs->open_readings = 1;
	cs->open_covered_s = interval_s;
	memset(cs->cover, 0, sizeof(cs->cover));
}

enum daily_result daily_apply_reading(struct cstate *cs, int32_t day, int64_t uwh,
                                      int32_t interval_s, struct daily_closed *closed)
{
	if (!(cs->flags & CSTATE_F_HAS_DAY)) {
		cs->flags |= CSTATE_F_HAS_DAY;
		open_day(cs, day, uwh, interval_s);
		return DAILY_SAME_DAY;
	}
	if (day == cs->open_day) {
		cs->open_uwh = uwh_add(cs->open_uwh, uwh);
		if (cs->open_readings < INT32_MAX)
			cs->open_readings++;
		if (__builtin_add_overflow(cs->open_covered_s, interval_s, &cs->open_covered_s))
			cs->open_covered_s = INT32_MAX;
		return DAILY_SAME_DAY;
	}
	if (day < cs->open_day)
		return DAILY_LATE;

	if (closed) {
		closed->day = cs->open_day;
		closed->uwh = cs->open_uwh;
		closed->readings = cs->open_readings;
		closed->covered_s = cs->open_covered_s;
	}
	if (cs->days_closed < INT32_MAX)
		cs->days_closed++;
	cs->last_closed_day = cs->open_day;
	cs->last_closed_uwh = cs->open_uwh;
	open_day(cs, day, uwh, interval_s);
	return DAILY_CLOSED_DAY;
}

/* ---- the open day's coverage ---- */

/* The quarter hours [first, first + count) a reading covers, clipped to the day's
 * CSTATE_COVER_SLOTS; returns whether it is tracked (starts on a quarter hour and lasts a
 * whole number of them). An untracked reading gets the quarter hours it touches. */
static int cover_span(int32_t second_of_day, int32_t interval_s, int32_t *first, int32_t *count)
{
	int32_t start = second_of_day < 0 ? 0 : second_of_day;
	int64_t end = (int64_t)start + (interval_s > 0 ? interval_s : 1);
	*first = start / CSTATE_COVER_SLOT_S;
	int64_t last = (end - 1) / CSTATE_COVER_SLOT_S;
	if (*first >= CSTATE_COVER_SLOTS)
		*first = CSTATE_COVER_SLOTS - 1;
	if (last >= CSTATE_COVER_SLOTS)
		last = CSTATE_COVER_SLOTS - 1;
	*count = (int32_t)(last - *first + 1);
	return start % CSTATE_COVER_SLOT_S == 0 && interval_s % CSTATE_COVER_SLOT_S == 0;
}

/* Hashed codes: CSTATE_COVER_HASHED plus 0 .. COVER_HASH_SPAN - 1, below CSTATE_COVER_CONT. */
#define COVER_HASH_SPAN (CSTATE_COVER_CONT - CSTATE_COVER_HASHED)

/* The coverage code of a reading of uwh micro-kWh: its whole Wh + 1 when that fits, else a
 * hash of its energy (two energies share a hashed code once in 32,766). */
static uint16_t cover_code(int64_t uwh)
{
	if (uwh >= 0 && uwh % 1000 == 0 && uwh / 1000 < CSTATE_COVER_EXACT_MAX)
		return (uint16_t)(uwh / 1000 + 1);
	uint8_t bytes[8];
	for (int i = 0; i < 8; i++)
		bytes[i] = (uint8_t)((uint64_t)uwh >> (8 * i));
	return (uint16_t)(CSTATE_COVER_HASHED + cstate_hash(bytes, sizeof(bytes)) % COVER_HASH_SPAN);
}

/* Whether the tracked reading [first, first + count) has exactly the shape of a counted
 * one: a start code at first, continuations after it, and no continuation past its end. */
static int cover_same_shape(const uint16_t *cover, int32_t first, int32_t count)
{
	uint16_t head = cover[first];
	if (head == CSTATE_COVER_NONE || head == CSTATE_COVER_CONT)
		return 0;
	for (int32_t i = first + 1; i < first + count; i++)
		if (cover[i] != CSTATE_COVER_CONT)
			return 0;
	return first + count >= CSTATE_COVER_SLOTS || cover[first + count] != CSTATE_COVER_CONT;
}

enum daily_cover daily_cover_check(const uint16_t *cover, int32_t second_of_day,
                                   int32_t interval_s, int64_t uwh, int64_t *old_uwh)
{
	int32_t first, count;
	int tracked = cover_span(second_of_day, interval_s, &first, &count);
	int overlaps = 0;
	*old_uwh = -1;
	for (int32_t i = first; i < first + count; i++)
		overlaps |= cover[i] != CSTATE_COVER_NONE;
	if (!overlaps)
		return DAILY_COVER_NEW;
	if (!tracked || !cover_same_shape(cover, first, count))
		return DAILY_COVER_DIFFERS;
	uint16_t counted = cover[first];
	if (counted == cover_code(uwh))
		return DAILY_COVER_SAME;
	if (counted <= CSTATE_COVER_EXACT_MAX)
		*old_uwh = (int64_t)(counted - 1) * 1000;
	return DAILY_COVER_DIFFERS;
}

void daily_cover_add(uint16_t *cover, int32_t second_of_day, int32_t interval_s, int64_t uwh)
{
	int32_t first, count;
	if (!cover_span(second_of_day, interval_s, &first, &count))
		return;
	cover[first] = cover_code(uwh);
	for (int32_t i = first + 1; i < first + count; i++)
		cover[i] = CSTATE_COVER_CONT;
}

void daily_restate(struct cstate *cs, int32_t second_of_day, int32_t interval_s, int64_t old_uwh,
                   int64_t uwh)
{
	int64_t day_uwh = cs->open_uwh - old_uwh;
	cs->open_uwh = uwh_add(day_uwh > 0 ? day_uwh : 0, uwh);
	daily_cover_add(cs->cover, second_of_day, interval_s, uwh);
}

void daily_hours_add(struct daily_hours *h, int32_t second_of_day, int32_t interval_s,
                     int64_t uwh)
{
	int32_t first = second_of_day / 3600;
	if (first < 0)
		first = 0;
	if (first > DAILY_HOURS - 1)
		first = DAILY_HOURS - 1;
	int64_t hours = interval_s <= 3600 ? 1 : ((int64_t)interval_s + 3599) / 3600;
	for (int64_t k = 0; k < hours; k++) {
		int32_t at = first + k < DAILY_HOURS ? first + (int32_t)k : DAILY_HOURS - 1;
		h->uwh[at] += uwh * (k + 1) / hours - uwh * k / hours;
		h->mask |= 1u << at;
	}
}
