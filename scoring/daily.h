/*
 * daily.h - rolls a customer's interval readings up into local days.
 *
 * Local days are days since 1970-01-01 in the configured time zone (scoring/localday.h).
 * A day closes when a reading for a later day arrives, or when the meter stays silent past the
 * lateness (daily_close_silent). Energy is kept in integer micro-kWh so
 * that sums do not depend on the order or grouping of readings: replaying a partition after a
 * crash gives bit-identical totals.
 */
#ifndef RISKD_DAILY_H
#define RISKD_DAILY_H

#include <stdint.h>

#include "cstate.h"

struct daily_closed {
	int32_t day;        /* the local day that closed */
	int64_t uwh;        /* its energy in micro-kWh */
	int32_t readings;   /* how many readings it had */
	int32_t covered_s;  /* seconds of the day its readings cover */
};

enum daily_result {
	DAILY_SAME_DAY = 0,   /* counted into the open day */
	DAILY_CLOSED_DAY = 1, /* the open day closed (*closed filled) and a later one opened */
	DAILY_LATE = 2        /* a reading for an earlier day: not part of the open day */
};

/* Converts kWh to integer micro-kWh, rounding to nearest. kwh must be finite and >= 0. */
int64_t daily_kwh_to_uwh(double kwh);

/*
 * Applies one reading of uwh micro-kWh covering interval_s seconds of local day `day` to
 * cs's open day. Returns which case happened; for DAILY_CLOSED_DAY fills *closed with the
 * day that closed.
 */
enum daily_result daily_apply_reading(struct cstate *cs, int32_t day, int64_t uwh,
                                      int32_t interval_s, struct daily_closed *closed);

/*
 * Closes cs's open day without a later reading: its meter has been silent past the lateness
 * (detector/silent.h decides when). cs must hold an open day (CSTATE_F_HAS_DAY). Fills
 * *closed with the day, as daily_apply_reading would have for a reading of a later day,
 * then opens the next local day empty and marks it silent (CSTATE_F_SILENT): it holds no
 * reading, and closes the same way when the meter stays silent. Returns 1 when the closed
 * day had readings (a day of data: days_closed and last_closed_* move, as for any close),
 * 0 when it was an empty silent day (*closed has no energy, readings or coverage; the
 * customer's counters stay). A reading for the silent open day or a later one opens its own
 * day without closing anything (daily_apply_reading); one for an earlier day is late.
 * The open day's slots are left alone: they hold another day from then on.
 */
int daily_close_silent(struct cstate *cs, struct daily_closed *closed);

/* What a day's coverage says about a reading for that day. */
enum daily_cover {
	DAILY_COVER_NEW = 0,     /* no counted reading covers any of its time: count it */
	DAILY_COVER_SAME = 1,    /* a counted reading of the same interval and energy: a duplicate */
	DAILY_COVER_DIFFERS = 2  /* it overlaps counted readings, with another energy or shape:
	                            a restatement */
};

/*
 * A closed day's coverage (CSTATE_COVER_SLOTS codes, cstate.h), as risk.reading_coverage
 * keeps it. daily_cover_check checks a reading of uwh micro-kWh that starts second_of_day
 * seconds into the day and lasts interval_s seconds against cover. A reading is tracked when
 * it starts on a quarter hour and lasts a whole number of them (CSTATE_COVER_SLOT_S); an
 * untracked one is NEW unless it overlaps tracked readings (DIFFERS). Energies are compared
 * exactly when both are whole numbers of Wh below 32,767 Wh; otherwise by a 15-bit hash, so a
 * restatement of such a reading passes for a duplicate once in 32,766 (and is skipped: the
 * day keeps the counted energy). For DIFFERS, *old_uwh is the energy of the counted reading
 * when it has the same interval and its energy is known exactly, else -1: only then can a
 * restatement replace it. daily_cover_add records a reading counted into that day (a late
 * one, or a restatement replacing a counted one); untracked readings leave it unchanged.
 */
enum daily_cover daily_cover_check(const uint16_t *cover, int32_t second_of_day,
                                   int32_t interval_s, int64_t uwh, int64_t *old_uwh);
void daily_cover_add(uint16_t *cover, int32_t second_of_day, int32_t interval_s, int64_t uwh);

/* Whether a reading is held in the open day's slots (and tracked in a closed day's coverage):
 * it starts on a quarter hour and lasts a whole number of them. */
int daily_reading_tracked(int32_t second_of_day, int32_t interval_s);

/*
 * Checks a reading for local day `day` against cs's open day, which must be that day for
 * there to be anything to check (else NEW): the same verdicts as daily_cover_check, over the
 * same quarter hours, but energies are always compared exactly (only a reading restored from
 * a version 9 snapshot with a hashed code is compared by its hash). For DIFFERS, *old_uwh and
 * *old_interval_s are the counted reading's energy and length when it has the reading's
 * shape and a known energy, else -1 and 0: only then can a restatement replace it
 * (daily_restate). old_interval_s may be NULL.
 */
enum daily_cover daily_open_check(const struct cstate *cs, int32_t day, int32_t second_of_day,
                                  int32_t interval_s, int64_t uwh, int64_t *old_uwh,
                                  int32_t *old_interval_s);

/*
 * Holds a reading just counted into cs's open day (after daily_apply_reading returned
 * DAILY_SAME_DAY or DAILY_CLOSED_DAY for it) in its slots, from table's slab (cs an entry of
 * table): slots of another day start over, a reading off the slots' grid makes them finer,
 * and one the compact codes cannot hold exactly makes them wide (cstate.h). An untracked
 * reading leaves them as they are. O(slots) at most; allocates only from the slab.
 */
void daily_open_add(struct cstate_table *table, struct cstate *cs, int32_t second_of_day,
                    int32_t interval_s, int64_t uwh);

/*
 * Replaces a counted reading of the open day by its restatement: the day's energy moves by
 * uwh - old_uwh and the slots hold the new energy; its reading count and covered time stay.
 * old_uwh must be what daily_open_check returned (>= 0) for this reading; table as for
 * daily_open_add.
 */
void daily_restate(struct cstate_table *table, struct cstate *cs, int32_t second_of_day,
                   int32_t interval_s, int64_t old_uwh, int64_t uwh);

/* Writes the coverage of cs's open day `day` as a closed day keeps it (CSTATE_COVER_SLOTS
 * codes, all CSTATE_COVER_NONE when cs holds no slots of that day): what
 * risk.reading_coverage stores when the day closes. */
void daily_open_cover(const struct cstate *cs, int32_t day, uint16_t cover[CSTATE_COVER_SLOTS]);

/* Hours of a local day (the hourly sums risk.hourly_usage keeps). */
#define DAILY_HOURS 24

/* A day's energy per local hour: uwh[h] counts when bit h of mask is set (a reading began in
 * hour h; 0 is a reading of nothing), else the hour had no reading. */
struct daily_hours {
	uint32_t mask;
	int64_t uwh[DAILY_HOURS];
};

/*
 * Adds a reading of uwh micro-kWh that starts second_of_day seconds after local midnight and
 * covers interval_s seconds to the hourly sums *h. Its hour is second_of_day / 3600, at most
 * 23 (the extra hour of a 25-hour day counts in hour 23). A reading of up to an hour goes
 * whole into its hour; a longer one is spread evenly over the n = ceil(interval_s / 3600)
 * hours from its own, in whole micro-kWh (hour k of n gets uwh (k + 1) / n - uwh k / n,
 * rounded down each), hours past 23 folding into hour 23 (a reading belongs to the day it
 * starts in). So the hours always add up to the energy added, in exact integers. riskd
 * stores sums of readings shorter than a day; a daily meter's day is spread the same way
 * (second 0, 86400 s) when an hourly attribution window reads it (detector/store_attrib.h).
 */
void daily_hours_add(struct daily_hours *h, int32_t second_of_day, int32_t interval_s,
                     int64_t uwh);

/* Adds to *h the hourly sums of the readings shorter than a day that cs's slots of its open
 * day `day` hold, as daily_hours_add would have for each (nothing when it holds none). The
 * readings the slots do not hold (untracked ones) are the caller's to add. */
void daily_open_hours(const struct cstate *cs, int32_t day, struct daily_hours *h);

#endif
