/*
 * stolen.h - how much energy a theft alert's customer has taken since the theft began, with
 * a range, and how likely the alert is to be a theft: the figures back-billing and the field
 * crews' inspection list read (docs/detection.md, "Stolen energy and back-billing").
 *
 * The estimate uses what scoring holds when an alert is raised: the customer's 60 days of
 * energy against its baseline (models_history), the day its consumption stepped down
 * (models_drop_split) and the area attribution's finding for it (attrib_finding). Pure
 * computation: no I/O, no allocation; the same inputs give the same estimate.
 */
#ifndef RISKD_STOLEN_H
#define RISKD_STOLEN_H

#include <stdint.h>

#include "attrib_window.h"
#include "models.h"

/* The attribution rate is used when its z reaches this (two standard errors from zero). */
#define STOLEN_ATTRIB_Z_MIN 2.0
/* Normal quantile of the range's ends: kwh_low .. kwh_high is a 95% interval. */
#define STOLEN_RANGE_Z 1.959963984540054
/* Days before the period whose residuals give the day-to-day spread, at least. */
#define STOLEN_SPREAD_DAYS_MIN 7

/* Which evidence gave the daily rate. */
enum stolen_method {
	STOLEN_NONE = 0,      /* no baseline over the period and no attribution: no estimate */
	STOLEN_SHORTFALL,     /* the customer's mean shortfall against its baseline */
	STOLEN_ATTRIBUTION    /* the area attribution's kWh a day (z >= STOLEN_ATTRIB_Z_MIN) */
};

/* The estimate of one alert. Energies in kWh; days are local days since 1970-01-01. */
struct stolen_estimate {
	enum stolen_method method;
	int32_t from_day, to_day;  /* the period, both included: onset .. the alert's day */
	int32_t days;              /* to_day - from_day + 1 */
	int32_t known_days;        /* days of the period with energy and a baseline */
	double kwh_day;            /* estimated stolen energy a day (may be < 0 for shortfall) */
	double kwh_day_se;         /* its standard error */
	double kwh;                /* max(0, kwh_day x days) */
	double kwh_low, kwh_high;  /* max(0, (kwh_day -+ STOLEN_RANGE_Z x kwh_day_se) x days) */
	double z;                  /* the attribution's z (STOLEN_ATTRIBUTION), else 0 */
	double probability;        /* stolen_probability of the alert, 0..1 */
};

/* The short name of a method: "none", "shortfall", "attribution". */
const char *stolen_method_name(enum stolen_method m);

/*
 * Estimates the energy stolen by a customer whose alert fires on local day to_day.
 *   h         the customer's history as models_history filled it (ending with to_day)
 *   split     the drop models_drop_split found, or NULL: its day is the onset; without one
 *             the period starts at the first day of h with energy (what riskd can see)
 *   finding   the area attribution's finding for the customer, or NULL
 * The daily rate is the attribution's kwh_day when finding->z >= STOLEN_ATTRIB_Z_MIN and
 * kwh_day > 0 (standard error kwh_day / z); otherwise the mean of baseline - energy over the
 * period's known days, with standard error sd / sqrt(known_days), sd the sample standard
 * deviation of energy - baseline over the days of h before the period (at least
 * STOLEN_SPREAD_DAYS_MIN of them), else over the period's own days. The period's energy is
 * the rate times its days (days without a reading count at the rate). With neither evidence
 * the method is STOLEN_NONE and every energy 0. probability is left 0: see
 * stolen_probability. Fills *out.
 */
void stolen_estimate(const struct models_history *h, const struct models_split *split,
                     const struct attrib_finding *finding, int32_t to_day,
                     struct stolen_estimate *out);

/*
 * How likely an alert is to be a theft, 0..1: the larger of
 *   the rules' part  1 - 2^(-score / threshold)   (0.5 at the threshold, 0.75 at twice it)
 *   the area's part  erf(z / sqrt 2)               (the two-sided confidence that the
 *                                                   attributed stolen energy is not zero)
 * score: the alert's score; threshold: the rule set's thresholds.alert (> 0, else the rules'
 * part is 0); z: the attribution's z for the customer (<= 0 or not finite: no area part).
 */
double stolen_probability(double score, double threshold, double z);

#endif
