/*
 * daily.h - rolls a customer's interval readings up into local days.
 *
 * Local days are days since 1970-01-01 in the configured time zone (scoring/localday.h).
 * A day closes when a reading for a later day arrives. Energy is kept in integer micro-kWh so
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

#endif
