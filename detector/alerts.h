/*
 * alerts.h - the evidence of a theft alert, as the JSON riskd stores in risk.alerts:
 * the rules that fired with the values of the features they show an analyst, and the
 * customer's last 60 days of energy against the baseline.
 */
#ifndef RISKD_ALERTS_H
#define RISKD_ALERTS_H

#include "../config/riskd_base.h"
#include "../rules/ruleset.h"
#include "../scoring/features.h"
#include "../scoring/models.h"
#include "../scoring/stolen.h"

/* The one entry of a no_data alert's rules (a silent meter's day that the theft rules leave
 * below their threshold): its id, which a dismissal suppresses like a rule's, and title. */
#define ALERT_NO_DATA_RULE "no_data"
#define ALERT_NO_DATA_TITLE "Meter sent no reading for a whole day (lost communication or disconnected)"

/*
 * Appends to out a no_data alert's rules: a JSON array of one object shaped as
 * alert_rules_json's, {"id": ALERT_NO_DATA_RULE, "title":..., "score": 0, "severity": "low",
 * "evidence": {silent_hours, kwh_avg_14d and the area's attribution and loss, from fv}}.
 */
void alert_no_data_json(const struct feature_vec *fv, struct rbuf *out);

/*
 * Appends to out a JSON array with one object per fired ACTIVE rule of hits:
 *   {"id":..., "title":..., "score":..., "severity":..., "evidence": {feature: value|null}}
 * (a missing feature is null; SYM features are written as their symbol name).
 */
void alert_rules_json(const struct ruleset *rs, const struct rule_hits *hits,
                      const struct feature_vec *fv, struct rbuf *out);

/* Appends to out a JSON array of {"day": "YYYY-MM-DD", "kwh": x|null, "baseline": y|null}
 * for the 60 days of h. */
void alert_curve_json(const struct models_history *h, struct rbuf *out);

/*
 * Appends to out the stolen-energy estimate of an alert as a JSON object:
 *   {"method": "attribution"|"shortfall"|"none", "from": "YYYY-MM-DD", "to": "YYYY-MM-DD",
 *    "days": n, "known_days": n, "kwh": x, "kwh_low": x, "kwh_high": x, "kwh_day": x,
 *    "kwh_day_se": x, "z": x, "probability": p}
 * energies to the watt-hour; the energies, kwh_day, kwh_day_se and z are null for "none",
 * z is null for "shortfall" (scoring/stolen.h).
 */
void alert_stolen_json(const struct stolen_estimate *e, struct rbuf *out);

/* The highest severity among hits' fired active rules (RULE_SEV_LOW when none). */
enum rule_severity alert_severity(const struct ruleset *rs, const struct rule_hits *hits);

#endif
