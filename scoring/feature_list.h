/*
 * feature_list.h - the one list of features riskd computes and rules read.
 *
 * X-macro: FEATURE(id, name, type, unit, doc). Include it with FEATURE defined to expand the
 * list (scoring/features.h builds the enum and the registry table from it). Types:
 * NUM (double), BOOL (0/1), SYM (one of a fixed set of names, see feature_symbols()).
 * docs/features.md documents formulas; keep the two in step.
 */
/* consumption level and shape (theft models, scoring/models*.c); "last closed day" is the
 * customer's newest local day that has closed, "today" the local day being scored */
FEATURE(KWH_DAY,             "kwh_day",             NUM,  "kWh",   "energy of the last closed local day")
FEATURE(KWH_AVG_7D,          "kwh_avg_7d",          NUM,  "kWh",   "mean daily energy over the 7 days ending with the last closed day (days with data, at least 5)")
FEATURE(KWH_AVG_14D,         "kwh_avg_14d",         NUM,  "kWh",   "mean daily energy over the 14 days ending with the last closed day (days with data, at least 10)")
FEATURE(BASELINE_KWH_DAY,    "baseline_kwh_day",    NUM,  "kWh",   "long-run daily level (EWMA) with day-of-week seasonality removed; frozen during a drop")
FEATURE(ZSCORE_DAY,          "zscore_day",          NUM,  "sd",    "robust z-score of the last closed day against the weekday-adjusted baseline")
FEATURE(DROP_RATIO_14D,      "drop_ratio_14d",      NUM,  "ratio", "1 - kwh_avg_14d / baseline_kwh_day (positive = consumption fell)")
FEATURE(CUSUM_DROP,          "cusum_drop",          NUM,  "sd",    "one-sided CUSUM statistic for a downward level shift (a drop is signalled at 5; capped at 7.5)")
FEATURE(DROP_DAYS,           "drop_days",           NUM,  "days",  "while a drop is signalled: days from the start of the shift to the last closed day (0 = no drop)")
FEATURE(ZERO_DAYS_30D,       "zero_days_30d",       NUM,  "days",  "complete days with zero energy among the 30 ending with the last closed day")
FEATURE(ZERO_RUN_DAYS,       "zero_run_days",       NUM,  "days",  "current run of consecutive zero-energy days")
FEATURE(FLAT_RUN_DAYS,       "flat_run_days",       NUM,  "days",  "current run of days whose interval readings are all equal and non-zero (stuck meter)")
FEATURE(NIGHT_RATIO,         "night_ratio",         NUM,  "ratio", "share of the last closed day's energy used 00:00-06:00 local (interval data)")
FEATURE(NIGHT_RATIO_CHANGE,  "night_ratio_change",  NUM,  "ratio", "night_ratio minus its long-run level")
FEATURE(PEAK_RATIO,          "peak_ratio",          NUM,  "ratio", "highest interval power of the last closed day / its mean power (interval data)")
FEATURE(PEAK_RATIO_CHANGE,   "peak_ratio_change",   NUM,  "ratio", "peak_ratio minus its long-run level (negative = peaks flattened)")
FEATURE(REVERSE_KWH_30D,     "reverse_kwh_30d",     NUM,  "kWh",   "reverse energy recorded on the 30 days ending today")
FEATURE(PEER_RATIO,          "peer_ratio",          NUM,  "ratio", "kwh_avg_14d / median kwh_avg_14d of the customer's segment")
FEATURE(TAMPER_EVENTS_30D,   "tamper_events_30d",   NUM,  "count", "tamper meter events (cover_open, magnetic_interference, reverse_flow, phase_loss) on the 30 days ending today")
FEATURE(DAYS_SINCE_TAMPER,   "days_since_tamper",   NUM,  "days",  "days from the newest tamper meter event to today")
FEATURE(TAMPER_DROP_GAP_DAYS, "tamper_drop_gap_days", NUM, "days", "while a drop is signalled: days between the newest tamper event and the start of the drop")
FEATURE(DAYS_OBSERVED,       "days_observed",       NUM,  "days",  "closed days seen for this customer")
FEATURE(SEGMENT,             "segment",             SYM,  "",      "customer segment from the profile")
FEATURE(DROP_RATIO_LONG,     "drop_ratio_long",     NUM,  "ratio", "1 - kwh_avg_14d / mean daily energy of the 14 days ending 42 days before the last closed day (a reference that a slow decline cannot drag down)")
FEATURE(STEP_DROP_RATIO,     "step_drop_ratio",     NUM,  "ratio", "1 - level after / level before the customer's step down found in the 60-day history (0 = no step down)")
FEATURE(STEP_DAYS,           "step_days",           NUM,  "days",  "days from that step down to the last closed day (0 = no step down)")
FEATURE(ZERO_INTERVAL_SHARE, "zero_interval_share", NUM,  "ratio", "recent share of interval readings of exactly zero on days with energy (interval data)")
FEATURE(PEAK_PLATEAU_SHARE,  "peak_plateau_share",  NUM,  "ratio", "recent share of a day's interval readings that equal its highest reading (a current limiter repeats its cap)")
FEATURE(AREA_LOSS_RATE,      "area_loss_rate",      NUM,  "ratio", "transformer area's loss rate on the last balanced day")
FEATURE(AREA_LOSS_EXCESS,    "area_loss_excess",    NUM,  "ratio", "area_loss_rate minus the area's own baseline loss rate")
FEATURE(AREA_SUSPECT_SHARE,  "area_suspect_share",  NUM,  "ratio", "share of the area's excess loss explained by this customer's drop")
FEATURE(AREA_STEP_KWH,       "area_step_kwh",       NUM,  "kWh",   "rise of the area's loss (kWh a day) from before to after the customer's step down")
FEATURE(AREA_STEP_Z,         "area_step_z",         NUM,  "sd",    "area_step_kwh over its noise (the area's day-to-day loss-rate noise)")
FEATURE(AREA_STEP_OFFSET_DAYS, "area_step_offset_days", NUM, "days", "where the area's loss rises most sharply, in days from the customer's step down (-7 .. 7; 0 = the same day)")
FEATURE(AREA_STEP_SHARE,     "area_step_share",     NUM,  "ratio", "area_step_kwh / the customer's own drop in kWh a day over the same days (about 1 when the missing energy is this customer's)")
FEATURE(AREA_ATTRIB_SHARE,   "area_attrib_share",   NUM,  "ratio", "this customer's share of its area's non-technical loss in the area's latest attribution (0 when it was given none)")
FEATURE(AREA_ATTRIB_KWH_DAY, "area_attrib_kwh_day", NUM,  "kWh",   "energy a day the area's latest attribution finds taken past this customer's meter")
FEATURE(AREA_ATTRIB_Z,       "area_attrib_z",       NUM,  "sd",    "area_attrib_kwh_day over its standard error (the attribution's confidence)")
FEATURE(AREA_ATTRIB_CARRIER, "area_attrib_carrier", SYM,  "",      "the regressor that carries the customer's attributed energy: its own metered load, its shortfall against its baseline, its silent meter's baseline, or none")
FEATURE(AREA_BALANCE_RESOLUTION, "area_balance_resolution", NUM, "s", "the slots of the area's latest attribution: 3600 (hourly) or 86400 (daily-only transformer)")
/* operating risk of business customers (scoring/operating.c): closed Monday-to-Sunday weeks of
 * commercial and industrial customers; missing for the other segments */
FEATURE(YOY_CHANGE_8W,       "yoy_change_8w",       NUM,  "ratio", "energy of the last 8 closed weeks / energy of the same 8 weeks a year (52 weeks) earlier - 1 (negative = lower than last year)")
FEATURE(YOY_DOWN_WEEKS_8W,   "yoy_down_weeks_8w",   NUM,  "weeks", "of the last 8 closed weeks, those at least 10% below the same week a year earlier")
FEATURE(QUARTER_CHANGE_4W,   "quarter_change_4w",   NUM,  "ratio", "mean weekly energy of the last 4 closed weeks / that of the 13 weeks before them - 1")
FEATURE(WORK_DAYS_4W,        "work_days_4w",        NUM,  "days",  "working days a week over the last 4 closed weeks (a working day reaches half the usual working day's energy)")
FEATURE(WORK_DAYS_CHANGE,    "work_days_change",    NUM,  "days",  "work_days_4w minus the working days a week of the 13 weeks before them")
FEATURE(CAPACITY_UTIL_4W,    "capacity_util_4w",    NUM,  "ratio", "highest interval power of each of the last 4 closed weeks / contracted capacity, averaged")
FEATURE(CAPACITY_UTIL_CHANGE, "capacity_util_change", NUM, "ratio", "capacity_util_4w minus the same of the 13 weeks before them (negative = utilisation falling)")
FEATURE(STOP_DAYS,           "stop_days",           NUM,  "days",  "current run of closed days under a tenth of the usual working day's energy (a sudden stop)")
/* payment behaviour (credit) */
FEATURE(DAYS_PAST_DUE,       "days_past_due",       NUM,  "days",  "days the oldest unpaid bill is past due today (0 = none)")
FEATURE(MAX_DAYS_PAST_DUE_12M, "max_days_past_due_12m", NUM, "days", "largest days past due reached in the last 12 months")
FEATURE(LATE_PAYMENTS_12M,   "late_payments_12m",   NUM,  "count", "bills paid after their due date in the last 12 months")
FEATURE(ON_TIME_SHARE_12M,   "on_time_share_12m",   NUM,  "ratio", "share of bills due in the last 12 months paid in full by the due date")
FEATURE(ARREARS_AMOUNT,      "arrears_amount",      NUM,  "money", "unpaid amount of bills past due")
FEATURE(ARREARS_RATIO,       "arrears_ratio",       NUM,  "ratio", "arrears_amount / average monthly bill")
FEATURE(REVERSALS_12M,       "reversals_12m",       NUM,  "count", "payment reversals in the last 12 months")
FEATURE(DAYS_SINCE_REVERSAL, "days_since_reversal", NUM,  "days",  "days from the newest payment reversal in the last 12 months to today (missing: none)")
FEATURE(TENURE_MONTHS,       "tenure_months",       NUM,  "months", "months since the customer's start date")
FEATURE(MONTHS_SINCE_LAST_LATE, "months_since_last_late", NUM, "months", "months since the last late payment")
FEATURE(BILLS_12M,           "bills_12m",           NUM,  "count", "bills issued in the last 12 months")
FEATURE(CONFIRMED_THEFT,     "confirmed_theft",     BOOL, "",      "an analyst confirmed theft for this customer")
/* the attribution beside the meter, and the area's window a week before the latest
 * (scoring/balance.c): appended here so that the ids of the features above stay put */
FEATURE(AREA_ATTRIB_RATIO,   "area_attrib_ratio",   NUM,  "ratio", "area_attrib_kwh_day / kwh_avg_14d: energy attributed past the meter against what it reads (k / (1 - k) for a meter recording 1 - k)")
FEATURE(AREA_ATTRIB_PREV_SHARE, "area_attrib_prev_share", NUM, "ratio", "area_attrib_share in the area's window ending 7 days before its latest one")
FEATURE(AREA_ATTRIB_PREV_Z,  "area_attrib_prev_z",  NUM,  "sd",    "area_attrib_z in the area's window ending 7 days before its latest one")
FEATURE(AREA_ATTRIB_PREV_RATIO, "area_attrib_prev_ratio", NUM, "ratio", "area_attrib_kwh_day of the window ending 7 days before the latest / kwh_avg_14d")
/* meters that stop reporting (scoring/daily.h, a day closed after days.lateness_s): appended
 * so that the ids above stay put */
FEATURE(SILENT_HOURS,        "silent_hours",        NUM,  "hours", "hours of the scored local day that no reading covers (24 - covered hours, at least 0); for a day without any reading, 24 x the days since the customer's last day with readings")
/* the day-reversed regressor of the attribution (scoring/attrib.h): appended so that the ids
 * above stay put */
FEATURE(AREA_ATTRIB_REVERSED_COEF, "area_attrib_reversed_coef", NUM, "ratio", "the attribution's coefficient on the customer's day-reversed readings (its reading of the mirrored hour less its own): about 1 for a meter that reports its days in reversed order, 0 when the regressor did not pass the screen or ended at 0")
FEATURE(AREA_ATTRIB_REVERSED_Z, "area_attrib_reversed_z", NUM, "sd", "area_attrib_reversed_coef over its standard error in the area's latest window (0: none)")
