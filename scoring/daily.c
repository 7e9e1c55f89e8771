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
enum daily_result daily_apply_reading(struct cstate *cs, int32_t day, int64_t uwh,
                                      int32_t interval_s, struct daily_closed *closed)
{
	if (!(cs->flags & CSTATE_F_HAS_DAY)) {
		cs->flags |= CSTATE_F_HAS_DAY;
		cs->open_day = day;
		cs->open_uwh = uwh;
		cs->open_readings = 1;
		cs->open_covered_s = interval_s;
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
	cs->open_day = day;
	cs->open_uwh = uwh;
	cs->open_readings = 1;
	cs->open_covered_s = interval_s;
	return DAILY_CLOSED_DAY;
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
