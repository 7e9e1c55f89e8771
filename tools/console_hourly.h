/*
 * console_hourly.h - the alert page's hour-by-hour picture: the customer's hourly energy
 * around the alert's firing days as a grid of days by hours of the day, beside the hours'
 * usual level, so that shape evidence (hours read as zero, a clipped peak) can be seen.
 */
#ifndef RISKD_CONSOLE_HOURLY_H
#define RISKD_CONSOLE_HOURLY_H

#include <stdio.h>

#include <jansson.h>

/*
 * Writes the hourly section of the alert page to out. alert is the alert row (first_day,
 * last_day as ISO dates); context holds "hours" (an array of {day, kwh: 24 numbers or nulls}
 * in day order, from risk.hourly_usage and its parts) and "hour_baseline" (24 numbers or
 * nulls: the mean of each hour over the days before). Writes a short note instead when the
 * customer has no hourly sums for those days (a meter that reads daily, or days not yet
 * written). Every value is escaped; the grid is an SVG without script.
 */
void console_hourly_section(FILE *out, const json_t *alert, const json_t *context);

#endif
