/*
 * store.h - riskd's only door to PostgreSQL (libpq).
 *
 * The detector hands the store one struct store_batch per batch; store_commit_batch writes
 * all of it (usage and its hourly sums, profiles, counts, outbox rows, entity snapshots,
 * offsets) in ONE transaction, using COPY into session temp tables and set-based upserts. Offsets are
 * fenced: a partition's row is only moved forward from the value this instance loaded, so a
 * stale instance that lost its partitions cannot overwrite a newer owner's work.
 */
#ifndef RISKD_STORE_H
#define RISKD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../rules/ruleset.h"
#include "../scoring/cstate.h"
#include "../scoring/daily.h"
#include "../streams/event.h"

struct config_tariffs;
struct store_side_rows;

struct store;

/* Energy of one entity (customer or transformer) and local day: an addition to the stored
 * row, or (whole_day) the day's totals so far. */
struct store_usage {
	const char *id;          /* borrowed: the entity's cstate id */
	int32_t day;             /* days since 1970-01-01, local */
	int64_t uwh;             /* micro-kWh to add */
	int32_t readings;        /* readings to add */
	int32_t covered_s;       /* seconds of the day the readings cover, to add */
	int whole_day;           /* the values are the day's totals: they replace the row */
	int silent;              /* whole_day: the day closed by the lateness, its meter silent
	                            (risk.daily_usage.silent; the area balance counts it complete) */
};

/* Hourly sums of one entity and local day: an addition to the stored ones (a part of
 * risk.hourly_usage_part or risk.transformer_hourly_part), or (whole) the day's sums, which
 * replace its row of risk.hourly_usage or risk.transformer_hourly. A row whose mask is 0
 * holds nothing and is left out. */
struct store_hours {
	const char *id;          /* borrowed: the entity's cstate id */
	int32_t day;             /* days since 1970-01-01, local */
	int32_t whole;           /* the day's sums (later additions in the batch included) */
	struct daily_hours sums;
};

/* The coverage of one entity's closed local day (risk.reading_coverage): which quarter
 * hours its readings cover and with what energy (CSTATE_COVER_* codes, scoring/cstate.h).
 * It replaces the stored row. A row whose kind is 0 holds nothing and is left out. */
struct store_cover {
	const char *id;          /* borrowed: the entity's cstate id */
	int32_t day;             /* days since 1970-01-01, local */
	char kind;               /* 'c' customer, 't' transformer; 0: no coverage in this row */
	uint16_t codes[CSTATE_COVER_SLOTS];
};

/* A bill, payment or reversal the batch counted, recorded as unique for ever
 * (risk.billing_event_ids): a bill by its bill_id, a payment by its event_id, a reversal by
 * the payment_event_id it reverses, per customer. */
struct store_billing_id {
	const char *customer_id;  /* borrowed: the customer's cstate id */
	const char *kind;         /* static: "bill", "payment" or "payment_reversal" */
	const char *id;           /* set by batch_to_store */
	const char *topic;        /* static: the input topic */
	int32_t partition;
	int64_t offset;           /* the message that carried it */
};

/* An input message skipped as a repeated bill, payment or reversal (risk.billing_repeats). */
struct store_repeat {
	const char *topic;        /* static or borrowed, see where it is used */
	int32_t partition;
	int64_t offset;
};

/* A message store_commit_batch found repeating a recorded bill, payment or reversal. */
struct store_repeat_found {
	char topic[256];
	int32_t partition;
	int64_t offset;
};

/* Latest profile of a customer seen in the batch. */
struct store_profile {
	char customer_id[RISKD_ID_MAX + 1];
	enum segment segment;
	char transformer_id[RISKD_ID_MAX + 1];
	char tariff[RISKD_SHORT_TEXT_MAX + 1]; /* "" = not given */
	double capacity_kw;                    /* 0 = not given */
	int32_t since;                         /* INT32_MIN = not given */
};

/* A snapshot to write: kind 'c' (customer) or 't' (transformer), encoded (cstate_encode)
 * when the batch was sealed, so the entity may change while the batch commits, with the
 * hourly sums of its open day as they were then (detector/open_hours.h). */
struct store_snapshot {
	char kind;
	const char *id;          /* borrowed: the entity's cstate id */
	int32_t partition;
	const uint8_t *state;    /* cstate_encode bytes */
	size_t len;
	const struct daily_hours *hours; /* NULL: none; else its open day's, for hours_day */
	int32_t hours_day;
};

/* Offset move for one input partition: expected and expected_state are the next and state
 * offsets this instance last loaded or committed (expected -1 = no row yet), next the new
 * value. The move is fenced on both: a row another instance moved since, results or state,
 * refuses the batch. When state_moved is set, the batch also checkpoints the partition's
 * state and state_next is the next offset whose effects the snapshots do not hold (-1: none,
 * replay from the beginning); otherwise the stored state offset stays (a new row gets -1). A
 * row with next == expected and no state move moves nothing: it only fences the batch's
 * snapshots of the partition's entities. */
struct store_offset {
	const char *topic;
	int32_t partition;
	int64_t expected;
	int64_t expected_state;
	int64_t next;
	int state_moved;
	int64_t state_next;
};

/* Count of messages by outcome. */
struct store_count {
	const char *topic;
	int32_t partition;
	const char *event_type;  /* event_type_name(), or "-" */
	const char *outcome;     /* "accepted" | "dead_letter" | "duplicate" */
	int64_t n;
};

/* One Kafka message to publish after commit. Byte ranges point into the batch's arena. */
struct store_outbox {
	const char *topic;       /* borrowed, static for the process */
	const void *key;
	size_t key_len;
	const void *payload;
	size_t len;
	int header_count;
	const char *header_names[4];
	const char *header_values[4]; /* NUL-terminated */
};

/* A theft alert raised (or an active one updated) by this batch. */
struct store_alert {
	const char *customer_id;  /* borrowed: the customer's cstate id */
	const char *kind;         /* static name: "theft" or "no_data" (risk.alerts.kind) */
	int32_t day;              /* local day of the firing */
	double score;
	const char *severity;     /* static name */
	const char *rules_json;   /* alerts.h formats; NUL-terminated, in the batch's arena */
	const char *curve_json;
	const char *stolen_json;  /* the stolen-energy estimate (alert_stolen_json); "" for none
	                             (no_data), stored as null */
	const char *stage;        /* static name, risk.raise_alert's p_stage: STORE_STAGE_FINAL
	                             (the day's only scoring), STORE_STAGE_CLOSE (raised at the
	                             day's close before its area is known; a scoring after the area
	                             completes it) or STORE_STAGE_COMPLETE (that scoring) */
};

#define STORE_STAGE_FINAL "final"
#define STORE_STAGE_CLOSE "close"
#define STORE_STAGE_COMPLETE "complete"

/* How far one partition of the transformer topic has come: the newest local day one of its
 * transformers closed (risk.transformer_progress). */
struct store_progress {
	int32_t partition;
	int32_t day;
};

/* A closed customer-day whose theft scoring waits for its area (risk.pending_scores). */
struct store_pending {
	const char *customer_id;     /* borrowed: the customer's cstate id */
	const char *transformer_id;  /* borrowed: the customer's area when the day closed */
	int32_t day;                 /* the closed local day */
	const uint8_t *snapshot;     /* rescore_pack's bytes, in the batch's arena */
	size_t len;
};

/* A change of a customer's credit grade (risk.credit_grades, its history, the topic). */
struct store_grade {
	const char *customer_id;   /* borrowed: the customer's cstate id */
	const char *segment;       /* static name */
	const char *grade;         /* static names ("AAA" .. "C") */
	const char *previous;      /* NULL: the customer's first grade */
	const char *points_grade;
	double points;
	int capped, floored;
	int32_t as_of;             /* local day */
	const char *reasons_json;  /* NUL-terminated, in the batch's arena */
	const char *scorecard, *scorecard_version, *scorecard_hash; /* in the batch's arena */
	const char *actions_json;  /* the service policy's actions (JSON object or null), and */
	const char *path_json;     /* the path to a better grade (JSON or null): in the arena */
};

/* A customer's payment status after a grading (risk.customer_credit; the latest per
 * customer in a batch wins). */
struct store_credit {
	const char *customer_id;   /* borrowed: the customer's cstate id */
	int32_t as_of;             /* local day */
	int32_t days_past_due;
	double arrears, balance_owed;
	int32_t last_payment_day;  /* INT32_MIN: none */
};

/* One rule's counts in this batch (risk.rule_counts). */
struct store_rule_count {
	const char *ruleset_name;    /* borrowed from the live rule set (theft or operating) */
	const char *ruleset_version;
	const char *rule_id;
	const char *mode;         /* "active" | "shadow" */
	uint64_t evaluations, fired, missing_reads;
};

/* Fills rows with the counts of rs's rules that were evaluated (counts: one per rule, as
 * rule_counts_add keeps them), borrowing rs's names. Returns the number of rows written (at
 * most ruleset_rule_count(rs)). */
size_t store_rule_counts_fill(const struct ruleset *rs, const struct rule_count *counts,
                              struct store_rule_count *rows);

struct store_batch {
	const char *consumer_group;
	const struct store_usage *usage;          size_t usage_count;
	const struct store_usage *transformer;    size_t transformer_count;
	const struct store_progress *progress;    size_t progress_count; /* by partition */
	const struct store_hours *hours;          size_t hours_count; /* customers' */
	const struct store_hours *transformer_hours; size_t transformer_hours_count;
	const struct store_cover *cover;          size_t cover_count;  /* customers' */
	const struct store_cover *transformer_cover; size_t transformer_cover_count;
	const struct store_billing_id *billing_ids; size_t billing_id_count;
	const struct store_repeat *repeats;       size_t repeat_count;
	const struct store_profile *profiles;     size_t profile_count;
	const struct store_snapshot *snapshots;   size_t snapshot_count;
	const struct store_offset *offsets;       size_t offset_count;
	const struct store_count *counts;         size_t count_count;
	const struct store_outbox *outbox;        size_t outbox_count;
	const struct store_alert *alerts;         size_t alert_count;
	const struct store_pending *pending;      size_t pending_count;
	const char *ruleset_name, *ruleset_version, *ruleset_hash; /* of the alerts' rule set */
	double alert_threshold;   /* the rule set's thresholds.alert */
	const char *review_topic; /* where alerts are published (topics.review_queue) */
	const struct config_tariffs *tariffs; /* the price table alerts are back-billed at */
	const char *tariff_currency;          /* its currency (tariffs.currency) */
	const struct store_rule_count *rule_counts; size_t rule_count_count;
	const struct store_grade *grades;         size_t grade_count;
	const struct store_credit *credit;        size_t credit_count;
	const char *credit_policy;  /* the credit rule set as "name version" */
	const char *grades_topic;   /* where grade changes are published (topics.credit_grades) */
	const struct store_side_rows *side; /* operating-risk warnings and side snapshots
	                                       (store_side.h); NULL: none */
	int alerts_opened;        /* out: how many of alerts opened a new alert (the rest updated) */
	int op_alerts_opened;     /* out: how many of side's warnings opened a new one */
	int no_data_opened;       /* out: of those, alerts of kind no_data */
	/* out, with STORE_REPEATS: the messages whose bill, payment or reversal was recorded
	 * before (malloc'ed; the caller frees it) */
	struct store_repeat_found *repeats_found; size_t repeats_found_count;
};

/* What became of an outbox row handed to the relay's publish callback (which sets it). */
enum store_outbox_outcome {
	STORE_OUTBOX_PUBLISHED = 0, /* delivered: the row is deleted */
	STORE_OUTBOX_WAIT,          /* not delivered for now: the row stays for the next attempt */
	STORE_OUTBOX_FAILED,        /* can never be published: moved to risk.outbox_failed */
};

/* An outbox row read back by the relay. */
struct store_outbox_row {
	enum store_outbox_outcome outcome; /* set by publish; STORE_OUTBOX_WAIT on entry */
	char error[200];                   /* set by publish with STORE_OUTBOX_FAILED: why */
	int64_t id;
	const char *topic;
	const void *key;
	size_t key_len;
	const void *payload;
	size_t len;
	int header_count;
	const char *header_names[8];
	const char *header_values[8];
};

/*
 * Connects to PostgreSQL with dsn, checks that the database has exactly the schema versions
 * this build knows (store_schema_check) and prepares the session (temp tables). Returns 0
 * and *out, or RISKD_ERR_UNAVAILABLE (cannot connect; retry later) / RISKD_ERR_INVALID (a
 * migration missing or unknown: errstr names it and `riskctl migrate`) with errstr set.
 */
int store_open(struct store **out, const char *dsn, char *errstr, size_t errstr_size);

/* Closes the connection and frees the store. NULL is a no-op. */
void store_close(struct store *st);

/*
 * Makes sure the connection works, reconnecting if it was lost.
 * Returns 0 or RISKD_ERR_UNAVAILABLE.
 */
int store_ensure(struct store *st, char *errstr, size_t errstr_size);

/*
 * Starts a read-only transaction at repeatable read: the loads until store_read_end see the
 * database as of one moment, so no other instance's commit lands between two of them.
 * Returns 0 or a riskd_err.
 */
int store_read_begin(struct store *st, char *errstr, size_t errstr_size);

/* Ends store_read_begin's transaction: commits when rc is 0 and returns commit's result,
 * else rolls back (errstr left as the failed load set it) and returns rc. */
int store_read_end(struct store *st, int rc, char *errstr, size_t errstr_size);

/*
 * Loads the stored offsets of (group, topic, partition): *next, where results stop, and
 * *state_next, where the stored state snapshots stop (at most *next; both -1 when there is
 * no row). Returns 0 or a negative riskd_err.
 */
int store_load_offset(struct store *st, const char *group, const char *topic, int32_t partition,
                      int64_t *next, int64_t *state_next, char *errstr, size_t errstr_size);

/*
 * Calls fn(id, state bytes, len, arg) for every stored entity snapshot of kind in one of
 * partitions[0..n). Stops early if fn returns non-zero (and returns that value).
 * Returns 0 or a negative riskd_err.
 */
int store_load_snapshots(struct store *st, char kind, const int32_t *partitions, int n,
                         int (*fn)(const char *id, const uint8_t *state, size_t len, void *arg),
                         void *arg, char *errstr, size_t errstr_size);

/*
 * Reads the stored coverage of entity id's (kind 'c' or 't') closed local day `day`
 * (risk.reading_coverage) into codes. Returns 1 when found, 0 when the day has no row
 * (codes all CSTATE_COVER_NONE), or a negative riskd_err (errstr says why).
 */
int store_load_cover(struct store *st, char kind, const char *id, int32_t day,
                     uint16_t codes[CSTATE_COVER_SLOTS], char *errstr, size_t errstr_size);

/*
 * Calls fn(partition, offset, arg) for every message of topic's partitions[0..n) skipped as a
 * repeated bill, payment or reversal (risk.billing_repeats). Stops early if fn returns
 * non-zero (and returns that value). Returns 0 or a negative riskd_err.
 */
int store_load_repeats(struct store *st, const char *topic, const int32_t *partitions, int n,
                       int (*fn)(int32_t partition, int64_t offset, void *arg), void *arg,
                       char *errstr, size_t errstr_size);

/*
 * Calls fn(id, day, hours, arg) for every stored snapshot of kind in one of partitions[0..n)
 * that holds its open day's hourly sums (risk.entity_state.hours_day, .hours). Stops early if
 * fn returns non-zero (and returns that value). Returns 0 or a negative riskd_err.
 */
int store_load_open_hours(struct store *st, char kind, const int32_t *partitions, int n,
                          int (*fn)(const char *id, int32_t day, const struct daily_hours *hours,
                                    void *arg),
                          void *arg, char *errstr, size_t errstr_size);

/* store_commit_batch's answer when the batch would record a bill, payment or reversal a
 * second time: nothing was written, batch->repeats_found lists the messages to skip. */
#define STORE_REPEATS 1

/*
 * Writes the whole batch in one transaction. Returns 0; STORE_REPEATS (see above);
 * RISKD_ERR_CONFLICT when an offset
 * row no longer holds its expected value (another instance owns the partition now; nothing
 * was written); RISKD_ERR_UNAVAILABLE when the server went away (nothing was written;
 * retry after store_ensure); RISKD_ERR_IO for any other database error (a bug or a schema
 * problem; errstr has the server's message).
 */
int store_commit_batch(struct store *st, struct store_batch *batch, char *errstr,
                       size_t errstr_size);

/* What one relay step did with the rows it read. */
struct store_relay {
	int published; /* delivered and deleted */
	int failed;    /* moved to risk.outbox_failed */
	int waiting;   /* left in the outbox for the next attempt */
};

/*
 * Outbox relay step: in one transaction, locks up to max unpublished rows (oldest first,
 * skipping rows locked by another instance), calls publish(rows, n, arg), which sets each
 * row's outcome, then deletes the published rows, moves the failed ones (with their error
 * and the time) to risk.outbox_failed, keeps the waiting ones and commits. A row is thus
 * published at most once per step whatever becomes of its neighbours. Row memory is valid
 * only during the call. Fills *done and returns 0 (done all 0 = none pending), or a negative
 * riskd_err (nothing was changed; rows published by the call are published again next time).
 */
int store_relay_outbox(struct store *st, int max,
                       void (*publish)(struct store_outbox_row *rows, int n, void *arg),
                       void *arg, struct store_relay *done, char *errstr, size_t errstr_size);

/*
 * Computes the energy balance of the area-days that committed batches queued
 * (risk.drain_area_balance), in its own transaction. Returns the number of area-days
 * balanced, or a negative riskd_err (the queue is kept for the next drain).
 */
int store_drain_area_balance(struct store *st, char *errstr, size_t errstr_size);

/*
 * Loads every area's latest balance (risk.area_balance: latest day's loss rate and excess
 * rate, mean excess energy over its last 7 balanced days, and the daily loss rates and feeder
 * energy of its last AREA_SERIES_DAYS days) and its latest attribution (the end day and
 * resolution of its newest risk.area_attribution_window, its customers' findings) into t,
 * sorted by transformer_id.
 * Returns the number of areas, or a negative riskd_err (t is then empty).
 */
struct area_table;
int store_load_areas(struct store *st, struct area_table *t, char *errstr, size_t errstr_size);

/*
 * Loads area transformer_id as it stood on local day `day` into t, as store_load_areas would
 * have loaded it then: its balance over the balanced days up to `day` and its newest
 * attribution window ending on or before `day`, with that window's findings. t is empty when
 * the area had no balanced day by then. Returns the number of areas (0 or 1), or a negative
 * riskd_err (t is then empty).
 */
int store_load_area_as_of(struct store *st, struct area_table *t, const char *transformer_id,
                          int32_t day, char *errstr, size_t errstr_size);

/* One pending customer-day taken by store_rescore_claim; the pointers are valid until the
 * next claim or store_rescore_claim_free. */
struct store_pending_day {
	const char *customer_id, *transformer_id;
	int32_t day;
	int raised;                  /* an alert was raised at the day's close (STORE_STAGE_CLOSE):
	                                its scoring completes that alert (STORE_STAGE_COMPLETE) */
	const uint8_t *snapshot;
	size_t len;
};

/* The pending days of one area, claimed in a transaction that stays open. Zero-initialise. */
struct store_rescore_claim {
	struct store_pending_day *days;   /* in day, then customer_id order */
	size_t count, cap;
	void *result;                     /* the rows the pointers point into */
};

/*
 * Begins a transaction and takes the ready pending days of one area (risk.claim_pending_scores
 * with late_days), deleting them in it. Returns the number of days (the transaction stays
 * open: finish it with store_rescore_commit or store_rescore_abort), 0 when no area has a
 * ready day (no transaction is left open), or a negative riskd_err (rolled back).
 */
int store_rescore_claim(struct store *st, int late_days, struct store_rescore_claim *c,
                        char *errstr, size_t errstr_size);

/*
 * Raises b's alerts (as store_commit_batch does: suppressions, prices, the review-queue
 * outbox row) and adds b's rule counts, then commits the claim's transaction. Only b's
 * alerts, rule counts and their rule set, threshold, review topic and tariffs are read.
 * Returns 0 (b->alerts_opened set) or a negative riskd_err (rolled back: the days are
 * pending again).
 */
int store_rescore_commit(struct store *st, struct store_batch *b, char *errstr,
                         size_t errstr_size);

/* Rolls the claim's transaction back: its days are pending again. */
void store_rescore_abort(struct store *st);

/* Frees the claim's memory; it is reusable (zeroed) afterwards. */
void store_rescore_claim_free(struct store_rescore_claim *c);

/* One row of risk.theft_confirmations (the analysts' confirmed-theft feedback). */
struct store_confirmation {
	const char *customer_id;   /* valid during the callback */
	int confirmed;
	int64_t seq;
};

/*
 * Sets whether the session's commits wait for the WAL flush (PostgreSQL's synchronous_commit),
 * now and after every reconnection. riskd's writes can run without: every transaction is
 * derived from Kafka input it commits offsets for, so a PostgreSQL crash that forgets the last
 * few commits rolls state, results and offsets back together; the next commit's fenced
 * offsets then fail and riskd resyncs and reprocesses (outbox messages published from the
 * forgotten commits are published again: repeated, never lost). Returns 0 or a riskd_err.
 */
int store_set_synchronous_commit(struct store *st, int on, char *errstr, size_t errstr_size);

/*
 * Calls fn for each confirmed-theft change with seq > after, in seq order, at most max rows.
 * Returns the number of rows, or a negative riskd_err (fn's non-zero return stops the scan
 * and is returned).
 */
int store_load_confirmations(struct store *st, int64_t after, int max,
                             int (*fn)(const struct store_confirmation *c, void *arg), void *arg,
                             char *errstr, size_t errstr_size);

/*
 * Counts the messages waiting in the outbox (rows of risk.outbox that committed batches
 * queued and the relay has not yet published, deleted or moved aside) into *count, and the
 * creation time of the oldest of them (Unix seconds, PostgreSQL's clock; 0 when none) into
 * *oldest_s, in one statement outside any transaction of the store's. Returns 0, or a
 * negative riskd_err with errstr set.
 */
int store_outbox_pending(struct store *st, int64_t *count, int64_t *oldest_s, char *errstr,
                         size_t errstr_size);

#endif
