/*
 * scorer.h - theft scoring of one customer: models -> features -> theft rules -> alert.
 *
 * The one implementation of scoring, shared by riskd's pipeline and by the offline tools
 * (backtest, eval), so that what an author measures offline is what riskd does. Pure
 * computation over a customer's state plus the live theft rule set, which it can reload from
 * its files (SIGHUP or a changed file) keeping the old set when the new one fails to load.
 * Single-threaded: one scorer belongs to one detector loop.
 */
#ifndef RISKD_SCORER_H
#define RISKD_SCORER_H

#include <stdint.h>

#include "../config/riskd_base.h"
#include "../rules/ruleset.h"
#include "../scoring/attributes.h"
#include "../scoring/cstate.h"
#include "../scoring/daily.h"
#include "../scoring/features.h"
#include "../scoring/models.h"
#include "../streams/event.h"
#include "areas.h"

struct scorer;

/* The kinds of alert scoring raises (risk.alerts.kind). */
enum scorer_alert_kind {
	SCORER_KIND_THEFT = 0,       /* "theft": the theft rules reached their alert threshold */
	SCORER_KIND_NO_DATA = 1      /* "no_data": a day without any reading (silent_hours >=
	                                SCORER_NO_DATA_HOURS) that the theft rules leave below it */
};

/* A day's silent_hours from which a silent meter raises no_data: a whole day unread. */
#define SCORER_NO_DATA_HOURS 24

/* Whether the day scored over fv had no reading at all (silent_hours >=
 * SCORER_NO_DATA_HOURS): below the theft threshold, such a day raises no_data. */
int scorer_no_data_day(const struct feature_vec *fv);

/* "theft" or "no_data". */
const char *scorer_alert_kind_name(enum scorer_alert_kind kind);

/* An alert to raise (or an active one to update) for a customer. Valid until the next call. */
struct scorer_alert {
	enum scorer_alert_kind kind;
	int32_t day;                 /* local day the score was computed on */
	double score;
	const char *severity;        /* highest severity among the fired active rules */
	const struct rbuf *rules_json;
	const struct rbuf *curve_json;
	const struct rbuf *stolen_json; /* alert_stolen_json: the energy stolen since onset;
	                                   NULL for no_data */
};

/*
 * Loads the theft rule set from rules_path (a directory or file). Returns NULL when it does
 * not load, with the rendered diagnostics in *diagnostics (caller frees with rbuf_free).
 */
struct scorer *scorer_new(const char *rules_path, struct rbuf *diagnostics);

/* Frees the scorer and its rule set. NULL is a no-op. */
void scorer_free(struct scorer *sc);

/* The live rule set (for alert metadata); valid until the next scorer_reload. */
const struct ruleset *scorer_rules(const struct scorer *sc);

/*
 * Reloads the rule set when force is non-zero or its files changed since the last load
 * (names, sizes and modification times: rules/policy_files.h). Returns 1 when a new set is
 * live, 0 when nothing changed, RISKD_ERR_INVALID when the new files did not load (the old
 * set stays; *diagnostics has the errors).
 */
int scorer_reload(struct scorer *sc, int force, struct rbuf *diagnostics);

/* How the scorer finds customer cs's attribute values: NULL when it has none; the pointer
 * stays valid until the next call. */
typedef const struct attr_vec *(*scorer_attributes_fn)(void *arg, const struct cstate *cs);

/*
 * Gives the theft rules the customers' attributes: when the live rule set reads one
 * (ruleset_reads_attributes), each scoring asks fn(arg, cs) for the customer's values, kept by
 * the slots of schema (borrowed; the schema the rules were checked against, set with
 * ruleset_use_attributes before the rules were loaded). A deferred day keeps its values
 * (struct scorer_deferred.attrs). fn NULL: none (the default): every attribute is missing.
 */
void scorer_set_attributes(struct scorer *sc, const struct attr_schema *schema,
                           scorer_attributes_fn fn, void *arg);

/* The schema of scorer_set_attributes, or NULL: the one a deferred day's attributes are
 * packed by (rescore_pack). */
const struct attr_schema *scorer_attribute_schema(const struct scorer *sc);

/* The areas' energy balance, which the caller refreshes from PostgreSQL. */
struct area_table *scorer_areas(struct scorer *sc);

/* What scorer_on_reading did with a closed day. */
enum scorer_outcome {
	SCORER_QUIET = 0,    /* no day closed, or the rules stayed below the alert threshold */
	SCORER_ALERT = 1,    /* *alert is filled */
	SCORER_DEFERRED = 2, /* the day waits for its area: scorer_deferred() holds it */
	SCORER_DECIDED = 3,  /* deferral on: the day of a customer with an area cannot alert
	                        whatever its area says: scored at the close, quiet and final */
	SCORER_ALERT_PENDING = 4 /* deferral on: the day alerts whatever its area says (the rules
	                        that read nothing of the area reach the threshold): *alert is
	                        filled with what the close knows, and the day waits for its area
	                        too (scorer_deferred()), whose scoring completes the same alert */
};

/* Which closed days of customers with an area wait for the area's results. */
enum scorer_deferral {
	SCORER_DEFER_OFF = 0,     /* none: every day is scored at its close (the offline engine) */
	SCORER_DEFER_BOUNDED = 1, /* the days that may alert (ruleset_eval_bound with the area's
	                             features unknown); the others are final at the close (riskd) */
	SCORER_DEFER_ALL = 2      /* every one (tests compare the bounded mode with it) */
};

/*
 * What scoring a closed customer-day needs from the customer itself, kept while the day
 * waits for its area's results (scorer_set_deferral): the models' features (the area's are
 * added when it is scored), the drop the models found and the 60-day history the alert's
 * curve and stolen-energy estimate read. Plain data: detector/rescore.h stores it.
 */
struct scorer_deferred {
	int32_t day;                     /* the local day that closed */
	int has_split;                   /* split is set: models_drop_split found a drop */
	struct models_split split;
	struct models_history history;
	struct feature_vec fv;           /* every feature but the area's */
	struct attr_vec attrs;           /* the customer's attributes when the day closed, by the
	                                    scorer's schema (known 0: none, or the rules read
	                                    none) */
};

/*
 * One accepted meter reading of customer cs, after daily_apply_reading returned `result`
 * (closed filled when it is DAILY_CLOSED_DAY). Feeds the models; when a day closed, scores
 * the customer (its area features from transformer_id, cstate_transformer_id's value, ""
 * when unknown) and returns SCORER_ALERT with *alert filled if the active theft rules reach
 * the alert threshold. With deferral (scorer_set_deferral) a customer with an area (or
 * without a profile yet, transformer_id "") is scored on its own features, the area's
 * unknown: a day that may alert once the area is known is not scored here (its snapshot goes
 * to scorer_deferred() and SCORER_DEFERRED is returned, for scorer_rescore once the area has
 * the day's results); a day that alerts whatever the area says also fills *alert with the
 * rules that read nothing of the area (ruleset_hits_keep_decided) and returns
 * SCORER_ALERT_PENDING; a day that cannot alert is counted as scored, with the area's
 * features read as missing, and SCORER_DECIDED is returned. A deferred day is counted in the
 * rule counts when scorer_rescore scores it, not here. Returns SCORER_QUIET otherwise.
 */
int scorer_on_reading(struct scorer *sc, struct cstate *cs, const char *transformer_id,
                      const struct event *ev, int32_t day, int32_t second_of_day,
                      enum daily_result result, const struct daily_closed *closed,
                      struct scorer_alert *alert);

/*
 * Customer cs's open day closed without a later reading (daily_close_silent filled *closed):
 * feeds the models when the day had readings (an empty silent day teaches them nothing), then
 * scores the day as scorer_on_reading scores a closed day, on the local day after it, with
 * its silent_hours. Returns the same outcomes. A silent day that the theft rules leave below
 * their threshold raises a no_data alert (SCORER_KIND_NO_DATA), here or in scorer_rescore.
 */
int scorer_on_silent_day(struct scorer *sc, struct cstate *cs, const char *transformer_id,
                         const struct daily_closed *closed, struct scorer_alert *alert);

/* Sets which days wait for their area: SCORER_DEFER_OFF (the default, which the offline
 * engine keeps: it publishes a day's area results before the customers' days close),
 * SCORER_DEFER_BOUNDED (riskd with attribution.score_after_area on) or SCORER_DEFER_ALL. */
void scorer_set_deferral(struct scorer *sc, enum scorer_deferral mode);

/* The bound of the last day scorer_on_reading bounded with SCORER_DEFER_BOUNDED (its
 * SCORER_DEFERRED or SCORER_DECIDED); valid until the next scorer call. */
const struct rule_bound *scorer_last_bound(const struct scorer *sc);

/* The snapshot of the last SCORER_DEFERRED; valid until the next scorer call. */
const struct scorer_deferred *scorer_deferred(const struct scorer *sc);

/*
 * Scores the deferred day d of customer customer_id (whose area was transformer_id when the
 * day closed) against areas, a table holding the area's balance and findings as they stood
 * on d->day (detector/store.h store_load_area_as_of), exactly as scorer_on_reading scores a
 * day that closes with that table: the same features, rules, alert JSON and stolen-energy
 * estimate. Returns SCORER_ALERT with *alert filled, or SCORER_QUIET. Not counted in
 * scorer_rule_counts (the caller stores the counts of what it scores, scorer_last_hits) and
 * not reported to the observer.
 */
int scorer_rescore(struct scorer *sc, const char *customer_id, const char *transformer_id,
                   const struct scorer_deferred *d, const struct area_table *areas,
                   struct scorer_alert *alert);

/* The rule hits of the last scoring (valid until the next scorer call). */
const struct rule_hits *scorer_last_hits(const struct scorer *sc);

/* One accepted meter event of customer cs on local day `day`. */
void scorer_on_meter_event(struct scorer *sc, struct cstate *cs, const struct event *ev,
                           int32_t day);

/* Features of cs (whose transformer is transformer_id, "" when unknown) as scoring sees
 * them on local day `today` (for tools and tests). */
void scorer_features(struct scorer *sc, const struct cstate *cs, const char *transformer_id,
                     int32_t today, struct feature_vec *fv);

/*
 * Called after every scoring, once the theft rules were evaluated for customer cs on the
 * local day `day` that just closed: hits are the rule set's hits (hits->alert set when
 * scorer_on_reading returns an alert for this scoring). Both pointers are valid during the
 * call only; the rule set is scorer_rules(). For the offline tools (backtest, eval), which
 * count per rule and per customer; riskd sets none.
 */
typedef void (*scorer_observer_fn)(void *arg, const struct cstate *cs, int32_t day,
                                   const struct rule_hits *hits);

/* Sets the observer of every scoring (fn NULL: none, the default). Changes nothing else. */
void scorer_set_observer(struct scorer *sc, scorer_observer_fn fn, void *arg);

/* The features of the last scoring (valid inside an observer call, until the next event). */
const struct feature_vec *scorer_last_features(const struct scorer *sc);

/* The live set's per-rule counts (ruleset_rule_count(scorer_rules(sc)) entries) since the
 * last scorer_rule_counts_reset. */
const struct rule_count *scorer_rule_counts(const struct scorer *sc);

/* Turns the per-rule counts on (the default) or off: off while riskd replays input whose
 * results, counts included, are already in PostgreSQL. */
void scorer_set_counting(struct scorer *sc, int on);

/* Zeroes the per-rule counts (after they were stored, or when uncommitted work is dropped). */
void scorer_rule_counts_reset(struct scorer *sc);

/* Counters since creation: customers scored, theft and no_data alerts returned, rule-set
 * reloads. */
struct scorer_stats {
	uint64_t scored, alerts, reloads, reload_failures, no_data;
};
void scorer_stats(const struct scorer *sc, struct scorer_stats *out);

#endif
