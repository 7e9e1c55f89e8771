/*
 * replay.h - riskd's scoring run offline over a file of events: the engine of
 * `riskctl backtest` (what would this rule edit change?) and `riskctl eval` (the detection
 * scorecard on a labelled city).
 *
 * Each JSONL line is decoded with event_decode and applied with ingest_event (partition 0),
 * the two calls riskd's pipeline makes per message, so a replay scores as riskd scores the same
 * events with the same rules. Kafka coordinates do not exist offline (no topic or key checks),
 * and what riskd reads back from PostgreSQL is rebuilt in memory: the energy balance per
 * transformer area and local day, computed by scoring/balance.h as
 * deploy/sql/002_area_balance.sql computes it, feeds the area features through scorer_areas()
 * as soon as each day is complete (docs/detection.md lists how that timing, late readings and
 * peer medians can differ). A scorer observer counts, per rule, the customer-days it fired on
 * and, per customer, the highest score and the alert.
 *
 * On top of one or two finished replays: the alerts an edit adds and removes, rule by rule
 * (replay_diff_build), precision and recall against labels (replay_quality_build), the
 * detection scorecard per labelled pattern (replay_scorecard_build), and JSON renderings.
 * A replay belongs to one thread; replay_file decodes lines on helper threads (one per other
 * core) and applies them on the calling thread in file order. A replay owns all its memory; no
 * I/O except replay_file and replay_labels_load, which read the stream or file they are given.
 */
#ifndef RISKD_REPLAY_H
#define RISKD_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../config/riskd_base.h"
#include "../rules/ruleset.h"
#include "../streams/event.h"
#include "areas.h"

/* A day that is not there: never alerted, no onset given. */
#define REPLAY_NO_DAY INT32_MIN
/* Longest pattern name in a labels file, without the NUL. */
#define REPLAY_PATTERN_MAX 47
/* Words of a per-customer rule bitset (one bit per rule index). */
#define REPLAY_RULE_WORDS ((RULESET_RULES_MAX + 63) / 64)

struct replay;

struct replay_options {
	const char *rules_path;         /* theft rule files: a directory or a file */
	const char *timezone;           /* local days (days.timezone); NULL: riskd's default */
	double max_kw_unknown_profile;  /* validation.max_kw_unknown_profile; 0: riskd's default */
	int no_area_balance;            /* 1: leave the area features missing, as without data */
	int attribution_window_days;    /* attribution.window_days; 0: riskd's default */
	int attribution_history_days;   /* attribution.history_days; 0: riskd's default */
	const struct attr_schema *attributes; /* the attribute schema (borrowed; the one set
	                                   with ruleset_use_attributes before the rules load):
	                                   profiles' attributes are read against it as riskd
	                                   reads them (a refused one rejects the profile) and
	                                   the theft rules read them. NULL: profiles'
	                                   attributes are ignored */
	int lateness_s;                 /* days.lateness_s; 0: riskd's default (1 is the least) */
};

/* Counts over everything fed to a replay. */
struct replay_totals {
	uint64_t lines;                 /* events fed (replay_file: non-empty lines) */
	uint64_t accepted;
	uint64_t duplicates;            /* a repeated event_id, skipped as riskd skips it */
	uint64_t rejected;              /* what riskd would dead-letter */
	uint64_t rejected_by[EVENT_REJECT__COUNT];
	uint64_t scored;                /* customer-days scored */
	uint64_t alert_scorings;        /* scorings that reached the alert threshold */
	uint64_t area_days;             /* area-days balanced */
	uint64_t late_usage;            /* readings of a day already balanced (not rebalanced) */
	uint64_t area_windows;          /* area-windows attributed (one per balanced area-day) */
	uint64_t area_window_errors;    /* area-windows whose attribution refused its sums */
	uint64_t silent_days;           /* customer-days closed after the lateness, their meter
	                                   silent (detector/silent.h) */
	uint64_t no_data_scorings;      /* silent days scored below the threshold: no_data */
};

/* One rule of the replay's rule set and what it did. */
struct replay_rule {
	const struct rule_info *info;   /* id, mode, score, ...; owned by the replay's rule set */
	uint64_t hits;                  /* customer-days it fired on */
	uint64_t customers;             /* customers it fired for at least once */
	uint64_t alerts;                /* alerted customers whose alert lists it (active rules) */
	uint64_t missing_reads;         /* comparisons made false by a missing feature */
};

/*
 * One customer who was scored at least once. riskd keeps at most one open alert per customer
 * and updates it on later firings; offline nobody resolves it, so a customer has one alert for
 * the whole run, listing every active rule that fired on a day that reached the threshold.
 */
struct replay_customer {
	const char *customer_id;        /* owned by the replay */
	uint32_t scored_days;
	uint32_t alert_days;            /* days whose scoring reached the threshold */
	uint32_t no_data_days;          /* days without any reading scored below it: no_data */
	double max_score;               /* highest active score of any day (the risk score) */
	int32_t first_alert_day;        /* local day (days since 1970-01-01), or REPLAY_NO_DAY */
	int32_t last_alert_day;
	int32_t first_alert_from_onset; /* first alert day on or after the label's onset day
	                                   (any alert day when the label has none); REPLAY_NO_DAY
	                                   when unlabelled or never */
	double first_alert_score;       /* score on first_alert_day (0 if none) */
	double attrib_share;            /* area_attrib_share at its latest scoring (0 when
	                                   missing): breaks ties of max_score in the area
	                                   rankings */
	uint64_t fired[REPLAY_RULE_WORDS];   /* rule indices that fired on some day */
	uint64_t alerted[REPLAY_RULE_WORDS]; /* active rule indices listed in its alert */
};

/* Non-zero when bit idx is set in a replay_customer rule bitset. */
static inline int replay_rule_bit(const uint64_t *bits, size_t idx)
{
	return (int)((bits[idx / 64] >> (idx % 64)) & 1u);
}

/* ---- labels: the ground truth of a labelled city ---- */

struct replay_label {
	char customer_id[RISKD_ID_MAX + 1];
	char pattern[REPLAY_PATTERN_MAX + 1];
	int attack;                     /* 1: a thief (a positive); 0: confounder or honest */
	int confounder;                 /* 1: an honest change that looks like theft */
	int32_t onset_day;              /* first day of the pattern, or REPLAY_NO_DAY */
};

/* Labels by customer. Zero-initialise; replay_labels_free releases. */
struct replay_labels {
	struct replay_label *items;     /* in file order */
	size_t count, cap;
	uint32_t *index;                /* open addressing by customer_id: item + 1, 0 = empty */
	size_t index_cap;
};

/*
 * Adds the labels of a CSV text (len bytes, need not be NUL-terminated), as `riskctl gen
 * --labels` writes it: an optional header line starting with "customer_id", then
 * `customer_id,pattern[,confounder[,onset_day]]` per line; confounder is true or false
 * (default false), onset_day YYYY-MM-DD or empty. A customer is a thief unless it is a
 * confounder or its pattern is "none", "honest" or empty; customers not listed are honest.
 * path names the text in messages. Returns 0, or RISKD_ERR_INVALID with
 * "path:line: message" in errstr (labels added before the bad line stay).
 */
int replay_labels_parse(struct replay_labels *labels, const char *path, const char *text,
                        size_t len, char *errstr, size_t errstr_size);

/* Reads the labels file at path and parses it (replay_labels_parse). RISKD_ERR_IO when the
 * file cannot be read. */
int replay_labels_load(struct replay_labels *labels, const char *path, char *errstr,
                       size_t errstr_size);

/* The label of customer_id, or NULL (an honest customer). */
const struct replay_label *replay_labels_find(const struct replay_labels *labels,
                                              const char *customer_id);

/* Releases the labels; the struct is empty and reusable afterwards. */
void replay_labels_free(struct replay_labels *labels);

/* ---- running a replay ---- */

/*
 * Creates a replay: empty state tables, local days in opts->timezone, and a scorer with the
 * theft rules of opts->rules_path. Returns 0 and *out (free with replay_free), or
 * RISKD_ERR_INVALID when the rules do not load (their diagnostics appended to *diagnostics
 * when not NULL) and RISKD_ERR_NOT_FOUND for an unknown time zone, with a message in errstr.
 * Sets the process's time zone (localday_init): one time zone per process.
 */
int replay_new(const struct replay_options *opts, struct replay **out, struct rbuf *diagnostics,
               char *errstr, size_t errstr_size);

/* Frees the replay, its rule set and every result. NULL is a no-op. */
void replay_free(struct replay *rp);

/*
 * Attaches the ground truth before any event is fed, so that each customer's first alert on
 * or after its onset day is recorded. labels must outlive rp; NULL detaches.
 */
void replay_set_labels(struct replay *rp, const struct replay_labels *labels);

/*
 * Decodes one JSONL line (len bytes without the newline) and applies it. Returns
 * EVENT_REJECT_NONE when it was accepted or skipped as a duplicate, else why riskd would
 * dead-letter it (counted in the totals).
 */
enum event_reject replay_line(struct replay *rp, const char *line, size_t len);

/*
 * Reads `in` to its end, one event per line, and applies each line to every replay of rps
 * (n_rps >= 1), decoding it once: several rule sets see the same events. Lines are decoded in
 * batches on helper threads (event_decode is thread-safe) and applied in file order on the
 * calling thread, so the result is the same as replay_line on each line. Empty lines are
 * skipped. Returns 0, or RISKD_ERR_IO with a message when reading fails.
 */
int replay_file(struct replay *const *rps, size_t n_rps, FILE *in, char *errstr,
                size_t errstr_size);

/*
 * Closes the run's accounts after the last event: per-rule alert counts, customers sorted by
 * customer_id. Call it once before reading the results below; more events may follow, and
 * then another replay_finish.
 */
void replay_finish(struct replay *rp);

/* The theft rule set the replay scores with (name, version, hash, threshold, rules). */
const struct ruleset *replay_rules(const struct replay *rp);

/* Copies the totals into *out. */
void replay_totals(const struct replay *rp, struct replay_totals *out);

/* Rules of the replay's rule set, in rule-set order (0 <= idx < replay_rule_count). */
size_t replay_rule_count(const struct replay *rp);
const struct replay_rule *replay_rule(const struct replay *rp, size_t idx);

/* Customers scored at least once, by customer_id after replay_finish. */
size_t replay_customer_count(const struct replay *rp);
const struct replay_customer *replay_customer(const struct replay *rp, size_t idx);

/* The record of customer_id, or NULL when it was never scored. */
const struct replay_customer *replay_customer_find(const struct replay *rp,
                                                   const char *customer_id);

/* Customers seen in accepted events (scored or not). */
size_t replay_customers_seen(const struct replay *rp);

/* Customers with an alert. */
size_t replay_alerted_count(const struct replay *rp);

/*
 * Calls fn for every scoring, after the replay has counted it: the customer, the local day
 * scored, the features the rules read and what they did (fn NULL: none). For feature dumps
 * and rule studies; fv and hits are valid during the call only.
 */
typedef void (*replay_scoring_fn)(void *arg, const char *customer_id, int32_t day,
                                  const struct feature_vec *fv, const struct rule_hits *hits);
void replay_set_scoring_observer(struct replay *rp, replay_scoring_fn fn, void *arg);

/* The area balance as scoring sees it now (every area with a balanced day, by id). */
const struct area_table *replay_areas(const struct replay *rp);

/*
 * Calls fn for every area-day the replay balances, when it balances it: the transformer, the
 * local day and the figures of its risk.area_balance row (fn NULL: none). Days are balanced
 * when the stream reaches a later local day. For comparing the balance with PostgreSQL's and
 * for balance studies; transformer_id and row are valid during the call only.
 */
typedef void (*replay_balance_fn)(void *arg, const char *transformer_id, int32_t day,
                                  const struct area_day_balance *row);
void replay_set_balance_observer(struct replay *rp, replay_balance_fn fn, void *arg);

/* ---- what an edit changes ---- */

/* One rule id of either rule set, before (baseline) and after (edited) the edit. */
struct replay_rule_diff {
	const char *rule_id;
	const struct replay_rule *before;   /* NULL: the rule is new */
	const struct replay_rule *after;    /* NULL: the rule was removed */
	/* customers whose alert lists the rule after but not before, and the reverse,
	 * by customer_id */
	const char **added;
	size_t n_added;
	const char **removed;
	size_t n_removed;
};

struct replay_diff {
	/* customers alerted after the edit and not before, and the reverse, by customer_id */
	const struct replay_customer **added;
	size_t n_added;
	const struct replay_customer **removed;
	size_t n_removed;
	struct replay_rule_diff *rules;     /* edited rule set's rules in order, then removed ones */
	size_t n_rules;
};

/*
 * Compares two finished replays of the same events: `edited` against `baseline`. Fills *out
 * (free with replay_diff_free; pointers into both replays, valid while they live).
 */
void replay_diff_build(const struct replay *edited, const struct replay *baseline,
                       struct replay_diff *out);
void replay_diff_free(struct replay_diff *diff);

/* ---- precision and recall against labels ---- */

struct replay_pr {
	uint64_t tp, fp, fn;
	double precision;                   /* tp / (tp + fp); NAN when nothing was flagged */
	double recall;                      /* tp / (tp + fn); NAN when there is no thief */
};

/* Fills *out from the counts. */
void replay_pr_compute(uint64_t tp, uint64_t fp, uint64_t fn, struct replay_pr *out);

struct replay_quality {
	size_t thieves;                     /* labelled thieves (seen or not) */
	struct replay_pr overall;           /* alerted customers */
	struct replay_pr *alert;            /* per rule: customers whose alert lists it */
	struct replay_pr *fired;            /* per rule: customers it fired for (shadow too) */
	size_t n_rules;                     /* replay_rule_count */
};

/*
 * Precision and recall of a finished replay's alerts, overall and per rule, counted per
 * customer: a thief alerted (or, per rule, listed in the alert / fired for) is a true
 * positive wherever the alert fell in time; every other flagged customer is a false positive;
 * thieves not flagged, including labelled ones absent from the events, are false negatives.
 * Fills *out (free with replay_quality_free).
 */
void replay_quality_build(const struct replay *rp, const struct replay_labels *labels,
                          struct replay_quality *out);
void replay_quality_free(struct replay_quality *q);

/* ---- the detection scorecard ---- */

/* A pattern to report even when no customer has it, in report order. */
struct replay_pattern {
	const char *name;
	int confounder;
};

struct replay_score_row {
	char pattern[REPLAY_PATTERN_MAX + 1];
	int confounder;
	size_t customers;                   /* labelled with the pattern */
	size_t alerted;                     /* alerted at any time */
	size_t detected;                    /* alerted on or after the onset day */
	double recall;                      /* detected / customers; NAN without customers */
	double alerted_share;               /* alerted / customers; NAN without customers */
	double median_delay_days;           /* of first alert on/after onset - onset; NAN if none */
	double auc;                         /* risk score against honest customers; NAN if either
	                                       side is empty */
	size_t no_data;                     /* given a no_data alert (a silent day below the theft
	                                       threshold) at any time */
	double no_data_share;               /* no_data / customers; NAN without customers */
};

struct replay_scorecard {
	struct replay_score_row *rows;
	size_t count;
	size_t honest;                      /* unlabelled customers seen */
	size_t honest_alerted;
	double honest_alerted_share;        /* NAN without honest customers */
	double alert_threshold;
	double area_precision_at_k;         /* mean over the areas with a thief of their
	                                       replay_precision_at_k; NAN without such areas */
	size_t thief_areas;                 /* areas with at least one thief */
	int silent;                         /* the run closed silent meters' days: the no_data
	                                       figures are reported */
	size_t honest_no_data;              /* honest customers given a no_data alert */
	double honest_no_data_share;        /* NAN without honest customers */
};

/*
 * The scorecard of a finished replay whose labels were attached before the run: one row per
 * pattern, first those of `patterns` (n_patterns, may be 0) in that order, then any other
 * pattern of the labels (thieves' before confounders', in order of first appearance).
 * The risk score of a customer is its highest score of the run (0 if never scored); honest
 * customers are the negatives of every row's AUC (ties count one half).
 * area_precision_at_k ranks the customers of each transformer area (their profile's
 * transformer_id) that has a thief: every scored customer, and thieves seen but never scored
 * with score 0; customers without a profile or transformer are left out.
 * Fills *out (free with replay_scorecard_free).
 */
void replay_scorecard_build(const struct replay *rp, const struct replay_labels *labels,
                            const struct replay_pattern *patterns, size_t n_patterns,
                            struct replay_scorecard *out);
void replay_scorecard_free(struct replay_scorecard *card);

/*
 * Appends the scorecard as one JSON object:
 *   {"patterns": [{"pattern": s, "confounder": b, "customers": n, "recall": x,
 *    "alerted_share": x, "median_delay_days": x, "auc": x}, ...], "honest_alerted_share": x,
 *    "area_precision_at_k": x}
 * and, when the run closed silent meters' days (card->silent), "no_data_share" in each
 * pattern and "honest_no_data_share".
 * with null for a value that is not defined (NAN).
 */
void replay_scorecard_json(const struct replay_scorecard *card, struct rbuf *out);

/*
 * Area under the ROC curve of scores pos (positives) against neg (negatives): the chance
 * that a random positive scores above a random negative, ties counting one half. NAN when
 * either side is empty. Sorts neg in place.
 */
double replay_auc(const double *pos, size_t n_pos, double *neg, size_t n_neg);

/*
 * Precision at k of one ranking: n customers with their risk scores and whether each is a
 * thief (thief[i] non-zero), k = the number of thieves: the share of thieves among the k
 * highest. Equal scores are ordered by tiebreak (higher first; NULL: none); customers tied
 * with the k-th on both share the places left in proportion (the expected precision of a
 * random order among them), so the result depends on neither ids nor input order: 30 equal
 * scores (and tiebreaks) with 5 thieves give 5/30. NAN without a thief.
 */
double replay_precision_at_k(const double *scores, const double *tiebreak, const int *thief,
                             size_t n);

/* ---- the feature dump (riskctl backtest --features) ---- */

/* Appends the dump's CSV header line: customer_id, day, score, alert, fired, then the name of
 * every feature of the registry in registry order. */
void replay_features_csv_header(struct rbuf *out);

/*
 * Appends one scoring of rp's rules as a CSV line under that header (for a scoring observer,
 * replay_set_scoring_observer): the customer (quoted when it holds a comma, a quote or a line
 * break), the day (YYYY-MM-DD), the score, the alert (0/1), the ids of the fired rules joined
 * by '|', then each feature's value (empty when missing, a symbol by its name).
 */
void replay_features_csv_row(const struct replay *rp, const char *customer_id, int32_t day,
                             const struct feature_vec *fv, const struct rule_hits *hits,
                             struct rbuf *out);

/* ---- backtest report ---- */

/*
 * Appends the backtest of a finished replay as one JSON object: the rule set, the totals,
 * per rule its hits, customers and alerts, and every alerted customer; with baseline (a
 * finished replay of the same events under the rules before the edit; NULL for none) the
 * alerts the edit adds and removes, overall and rule by rule; with labels (NULL for none)
 * precision and recall overall and per rule. docs/detection.md lists the keys.
 */
void replay_backtest_json(const struct replay *rp, const struct replay *baseline,
                          const struct replay_labels *labels, struct rbuf *out);


#endif
