/*
 * pipeline_int.h - what the main loop's files share: the pipeline's state (struct pipeline,
 * its assigned partitions) and the loading of a partition's offsets and state from
 * PostgreSQL. Included only by detector/pipeline*.c; pipeline.h is the public face.
 *
 *   pipeline.c       the loop: batches, commits, checkpoints, rebalances, reloads, feedback
 *   pipeline_load.c  offsets, state snapshots and open-day hours of assigned partitions, and
 *                    whether their replay is still going
 *   pipeline_repeats.c  input sent again: the closed days' coverage late readings need
 *   pipeline_credit.c   grading as each partition's billing moves on, and the analysts'
 *                       confirmed-theft feedback
 *   pipeline_policy.c   the policy files' reloads between batches
 *   pipeline_operating.c  the early warning of operating risk, and the side snapshots
 *   pipeline_attributes.c customer attributes read from profiles, for every rule set and card
 *   pipeline_days.c  closed days into the batch (usage, alerts, pending scores), and the
 *                    days of silent meters closed by the lateness
 */
#ifndef RISKD_PIPELINE_INT_H
#define RISKD_PIPELINE_INT_H

#include <stdint.h>
#include <time.h>

#include "../scoring/event_types.h"
#include "../streams/kafka.h"
#include "committer.h"
#include "health.h"
#include "ingest.h"
#include "log.h"
#include "pipeline.h"
#include "silent.h"
#include "store.h"

enum topic_role { ROLE_READINGS, ROLE_BILLING, ROLE_PROFILES, ROLE_TRANSFORMER, ROLE__COUNT };

#define PARTITIONS_MAX 4096   /* per input topic */
#define POLL_MAX 1024         /* messages taken from the consumer per poll */
#define FEEDBACK_ROWS 1000    /* theft confirmations read per poll */
#define FEEDBACK_EVERY_MS 2000
#define AREA_DRAIN_EVERY_MS 5000 /* under load: each drain balances the area-days queued
                                    since the last, so fewer drains repeat less work */
#define ATTRIB_IDLE_BUDGET_MS 200  /* attribution per idle turn (input caught up) */
#define OUTPUT_METADATA_MS 5000    /* startup's wait for each output topic's metadata */
#define INPUT_PAUSED_AFTER_MS 1000 /* an empty poll with messages known to be left is a fetch
                                      still on its way, until nothing came for this long */
#define ATTRIB_BUSY_EVERY_MS 1000  /* under load: one area-window a second at most */
#define RESCORE_IDLE_BUDGET_MS 200 /* scoring of days that waited for their area, per idle
                                      turn; under load one area every ATTRIB_BUSY_EVERY_MS */

/*
 * One assigned input partition and its offsets. Results commit with every batch; the state
 * of the partition's entities is checkpointed every batch.checkpoint_interval_ms, so after a
 * load riskd reads from state_committed and replays the messages below committed for state
 * only (their results are in PostgreSQL already).
 */
struct part {
	enum topic_role role;
	int32_t partition;
	int64_t committed;        /* next offset whose results are not stored; -1 = no row */
	int64_t state_committed;  /* next offset whose effects the stored snapshots lack; -1 =
	                             none (from the beginning) */
	int64_t pending;          /* next offset to apply; -1 = nothing read yet */
	int64_t checkpoint_due_ms;
};

/* Billing messages skipped as repeats of a recorded bill, payment or reversal (found by a
 * commit, or loaded from risk.billing_repeats); only ever added to, since repeats are rare. */
struct repeat_set {
	struct store_repeat *items;  /* topic: the billing topic's name in pl->topics */
	size_t count, cap;
};

/* Checkpoint groups: a customer partition (the customer topics' partitions of one number)
 * and a transformer partition. */
enum { GROUP_CUSTOMERS, GROUP_TRANSFORMERS, GROUP__COUNT };

struct pipeline {
	const struct riskd_config *cfg;
	const char *topics[ROLE__COUNT];
	struct ingest ingest;                            /* state tables, scorer, local days */
	struct store *store;
	struct kafka_consumer *consumer;
	struct kafka_producer *producer;
	struct committer committer;                      /* the batch being filled, and the one
	                                                    committing on the worker thread */
	struct part *parts;
	int part_count, part_cap;
	int16_t part_index[ROLE__COUNT][PARTITIONS_MAX]; /* parts[] index + 1; 0 = not assigned */
	uint8_t checkpoint_now[GROUP__COUNT][PARTITIONS_MAX]; /* groups the sealing batch
	                                                          checkpoints */
	uint8_t replaying[GROUP__COUNT][PARTITIONS_MAX]; /* groups still below their committed
	                                                    offsets (set with checkpoint_now) */
	uint8_t open_days_owed[GROUP__COUNT][PARTITIONS_MAX]; /* a checkpoint during the group's
	                                                         replay left open days unwritten */
	struct kafka_msg msgs[POLL_MAX];
	struct event event;                              /* decode target, reused */
	int64_t last_rules_check_ms;
	int areas_stale;                                 /* reload the area balance table */
	int relay_pending;                               /* outbox rows may wait for the relay */
	int drain_pending;                               /* area-days may wait for the balance */
	int64_t last_drain_ms;
	struct attributor *attributor;                   /* the live attribution of area loss */
	struct open_hours *open_hours;                   /* entities' open-day hourly sums */
	int attrib_pending;                              /* area-windows may wait for it */
	int findings_stale;                              /* it saved findings the area table lacks */
	int64_t last_attrib_ms, last_findings_ms;
	struct rescorer *rescorer;                       /* customer-days waiting for their area */
	int rescore_pending;                             /* some may be ready to score */
	int64_t last_rescore_ms;
	int64_t feedback_seq;                            /* last theft confirmation applied */
	int64_t last_feedback_ms;
	char credit_policy[2 * RISKD_ID_MAX + 64];       /* "name version" of the credit rules */
	int needs_resync;
	int fatal;                                       /* a non-retryable error happened */
	char fatal_msg[1100];
	int64_t last_message_ms;
	int assigned_once;                               /* a rebalance has assigned partitions
	                                                    since the last revoke of all */
	int64_t last_progress_ms;
	int64_t last_gauges_ms;
	struct health_watch health;                      /* input stall watch (health.h) */
	int gave_up;                                     /* --until-idle stopped on a stall */
	int64_t unconfirmed_since_ms;                    /* --until-idle: when the brokers first
	                                                    failed to confirm the input's end; 0:
	                                                    not waiting for them */
	struct pipeline_totals totals;
	struct repeat_set repeats;                       /* billing messages to skip */
	struct pipeline_operating *operating;            /* businesses' weeks, operating rules */
	struct pipeline_attributes *attributes;          /* customers' attributes */
	struct silent_sweep silent;                      /* silent meters' days (silent.h) */
};

/*
 * A reading's daily usage into b: a day is written whole when it closes (and, while open,
 * with each checkpoint of its entity), so a live day costs one row per checkpoint rather than
 * one per batch; a late reading for a closed day is added to its row. A day closed by the
 * lateness is marked silent. Its hourly sums go the same way (open_hours_reading).
 */
void pipeline_add_usage(struct batch *b, const struct ingest_result *r);

/* The scoring of an accepted event into b: its alert (theft or no_data), or its closed day's
 * snapshot waiting for the area (risk.pending_scores); counts the day as waiting or final in
 * pl's totals. */
void pipeline_add_scored(struct pipeline *pl, struct batch *b, const struct ingest_result *r);

/* Before ev is applied to partition's state: the partition's watermark is learned again
 * when it was forgotten (silent_sweep_before). Only customer readings count. */
void pipeline_silent_before(struct pipeline *pl, const struct event *ev, int32_t partition);

/*
 * After ev (with result r) was applied and its rows added: closes the days of the
 * partition's silent meters that the watermark has passed (silent_sweep_after), each
 * written into b as a day a reading closes (usage marked silent, coverage, hourly sums,
 * alert or pending score); b NULL while replaying below the committed offset (state only).
 */
void pipeline_silent_after(struct pipeline *pl, struct batch *b, const struct event *ev,
                           const struct ingest_result *r, int32_t partition);

/* Milliseconds of the monotonic clock. */
static inline int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/*
 * Scores the pending customer-days whose area has caught up (detector/rescore.h), for up to
 * budget_ms; nothing may be committing. Alerts raised go to the relay; clears
 * rescore_pending when no day is ready. Returns 0, or a negative riskd_err (logged; the days
 * stay pending).
 */
int pipeline_rescore(struct pipeline *pl, int budget_ms, int64_t now);

/*
 * Loads offsets and state (snapshots and open-day hours) for the assigned partitions
 * pl->parts[from ..] from PostgreSQL, spreading their checkpoints over the interval.
 * Returns 0 or a riskd_err with errstr set.
 */
int pipeline_load_assignment(struct pipeline *pl, int from, char *errstr, size_t errstr_size);

/* Waits for the running commit and applies its outcome (pipeline.c): 0, or the commit's
 * riskd_err after everything not committed was dropped and a resync scheduled. */
int pipeline_finish_commit(struct pipeline *pl);

/* Forgets everything not yet committed: the batch and all in-memory state (pipeline.c). */
void pipeline_drop_uncommitted(struct pipeline *pl);

/* Sets the ingest step's closed_cover hook to the batch's coverage rows. */
void pipeline_repeats_init(struct pipeline *pl);

/* Frees the repeat set. */
void pipeline_repeats_free(struct pipeline *pl);

/* Whether message m of topic role `role` is a known repeat of a bill, payment or reversal:
 * the caller skips it (and, on its first pass, records it with batch_add_repeat). */
int pipeline_known_repeat(const struct pipeline *pl, const struct kafka_msg *m, int role);

/* After ev (read from message m of topic role `role`) was accepted: a bill, payment or
 * reversal is recorded in the batch for risk.billing_event_ids. */
void pipeline_record_billing(struct pipeline *pl, const struct kafka_msg *m, int role,
                             const struct event *ev, const struct cstate *cs);

/* After a commit answered STORE_REPEATS: adds the messages it found to the repeat set (and
 * frees sb's list), so that the batch read again skips them. */
void pipeline_repeats_found(struct pipeline *pl, struct store_batch *sb);

/* Loads the repeats of the assigned billing partitions from risk.billing_repeats. Returns 0
 * or a riskd_err. */
int pipeline_load_repeats(struct pipeline *pl, const int32_t *partitions, int n, char *errstr,
                          size_t errstr_size);

/*
 * Before ev is ingested: when it is a reading for one of its entity's closed days, puts that
 * day's coverage into the batch (from risk.reading_coverage, once per entity-day and batch)
 * for the closed_cover hook. Returns 0, or a riskd_err when the coverage could not be read:
 * everything not committed is dropped then and a resync scheduled (the message is read
 * again after it).
 */
int pipeline_load_closed_cover(struct pipeline *pl, const struct event *ev);

/*
 * Before a billing event is applied (pipeline_credit.c): when it is the partition's first of a
 * later day, its customers are graded through the day before (grader_on_billing), into the
 * batch being filled unless the message is replayed for state only (replay: its grades are
 * stored already). Only the billing stream moves grading on, so the grades a message
 * produces are the same on every pass. Other events do nothing.
 */
void pipeline_grade_before_billing(struct pipeline *pl, const struct event *ev,
                                   int32_t partition, int replay);

/* Applies the analysts' confirmed-theft changes to owned customers (pipeline_credit.c); their
 * new grades go into the batch being filled (nothing may be committing). Returns how many
 * customers changed, or a negative riskd_err (the rest is tried again on the next poll). */
int pipeline_apply_feedback(struct pipeline *pl);

/* Logs each diagnostic of a failed policy load (diag: rules_diag's text), one record per
 * error, at level (pipeline_policy.c). */
void pipeline_log_rule_diagnostics(enum log_level level, const struct rbuf *diag);

/* Records the live credit policy's "name version" in pl->credit_policy, as grades record it
 * (pipeline_policy.c). */
void pipeline_set_credit_policy(struct pipeline *pl);

/* Records the live theft, credit and operating rule sets and scorecards for
 * riskd_policy_info (pipeline_policy.c): after the first load and every reload that put new
 * files live. */
void pipeline_report_policies(struct pipeline *pl);

/* ---- beside the customer state (pipeline_operating.c, pipeline_attributes.c) ---- */

/* Loads the operating rules (the kind operating files of rules.path) into pl->operating.
 * Returns 0, or RISKD_ERR_INVALID with errstr set (the diagnostics logged). */
int pipeline_operating_init(struct pipeline *pl, char *errstr, size_t errstr_size);

/* Frees pl->operating (NULL is fine). */
void pipeline_operating_free(struct pipeline *pl);

/* Reloads the operating rules when force is set or their files changed; a file that fails
 * to load is logged (operating_reload_failed) and the old rules stay live. Returns 1 when new
 * rules went live, -1 when the files did not load, 0 when there was nothing to reload. */
int pipeline_operating_reload(struct pipeline *pl, int force);

/* The live operating rules (never NULL after pipeline_operating_init); valid until the next
 * reload that puts new rules live. */
const struct ruleset *pipeline_operating_rules(const struct pipeline *pl);

/*
 * After an accepted reading r: the reading of a customer whose profile says commercial or
 * industrial is followed in its weeks (its state kept while the profile says so), and a
 * day it closed is folded; with a batch b (a first pass) the operating rules are evaluated
 * then and a warning they raise goes into b. Without (replayed for state only) only the
 * weeks move. Other readings do nothing. Allocates only the first time a business is seen.
 */
void pipeline_operating_reading(struct pipeline *pl, struct batch *b,
                                const struct ingest_result *r);

/* Fills rows with the operating rules' per-rule counts since the last reset (evaluated
 * rules only, risk.rule_counts); returns how many (at most RULESET_RULES_MAX). */
size_t pipeline_operating_rule_counts(struct pipeline *pl, struct store_rule_count *rows);

/* Zeroes those counts (once a batch took them, or when uncommitted work is dropped). */
void pipeline_operating_rule_counts_reset(struct pipeline *pl);

/* After the batch b's customer snapshots were added: adds the side snapshot (weeks,
 * attributes) of each of those customers that has side state. */
void pipeline_side_checkpoint(struct pipeline *pl, struct batch *b);

/* Loads the side snapshots of the customer partitions partitions[0..n) for the customers
 * already loaded. Returns 0 or a riskd_err with errstr set. */
int pipeline_side_load(struct pipeline *pl, const int32_t *partitions, int n, char *errstr,
                       size_t errstr_size);

/* Forgets the side state of one customer partition's customers (before the table removes
 * them), or of every customer (pipeline_side_clear: the tables are cleared). */
void pipeline_side_forget_partition(struct pipeline *pl, int32_t partition);
void pipeline_side_clear(struct pipeline *pl);

/* Takes the attribute schema (scoring.attributes: the one rule loads check against, which
 * riskd's main sets) into pl->attributes, binds the grader's cards to it and gives the grader
 * and the scorer the customers' values. Returns 0, or RISKD_ERR_INVALID with errstr set. */
int pipeline_attributes_init(struct pipeline *pl, char *errstr, size_t errstr_size);

/* Frees pl->attributes (NULL is fine). */
void pipeline_attributes_free(struct pipeline *pl);

/* After a message m was decoded into ev and routed: a customer event's `attributes` are read
 * against the schema (event_attributes_read) and kept for pipeline_attributes_apply. Returns
 * EVENT_REJECT_NONE, or the reason to dead-letter the profile with (errstr set). */
enum event_reject pipeline_attributes_check(struct pipeline *pl, const struct kafka_msg *m,
                                            const struct event *ev, char *errstr,
                                            size_t errstr_size);

/* After ev was accepted for customer cs: a profile with `attributes` replaces cs's attribute
 * values with those pipeline_attributes_check read. Other events do nothing. */
void pipeline_attributes_apply(struct pipeline *pl, const struct event *ev,
                               const struct cstate *cs);

/* Customer cs's attribute values, or NULL when it has none (valid until the next call):
 * for the operating rules. Allocation-free. */
const struct attr_vec *pipeline_attributes_of(struct pipeline *pl, const struct cstate *cs);

/* The side snapshots' scratch buffer for encoded attributes. */
struct rbuf *pipeline_attributes_scratch(struct pipeline *pl);

/* Appends cs's attribute values, encoded (attr_vec_encode), to out (nothing when it has none
 * known). Returns whether cs has an attribute record (possibly emptied by a profile's `{}`). */
int pipeline_attributes_encode(struct pipeline *pl, const struct cstate *cs, struct rbuf *out);

/* Restores cs's attribute values from a side snapshot (attr_vec_decode; values the schema no
 * longer allows are dropped and logged). Returns 0, or -1 when the bytes are not an encoding. */
int pipeline_attributes_restore(struct pipeline *pl, const struct cstate *cs,
                                const uint8_t *bytes, size_t len);

/* Forgets the attribute values of the customers for which drop returns non-zero (drop NULL:
 * of every customer). */
void pipeline_attributes_forget(struct pipeline *pl,
                                int (*drop)(const void *key, void *record, void *arg), void *arg);

/*
 * Between batches (pipeline_policy.c): reloads the policy files on SIGHUP (force) or when
 * they changed, at most every 2 s. The theft rules first; the operating and credit rules
 * live beside them and reload with them, and the scorecards whenever their own files changed.
 * A file that fails to load leaves the old set live and is logged (rules_reload_failed,
 * operating_reload_failed, credit_reload_failed) with its diagnostics; every reload is
 * counted in the metrics.
 */
void pipeline_reload_policies(struct pipeline *pl, int force, int64_t now);

/* Whether an assigned partition is still replayed up to its committed offset after a load:
 * the customers it rebuilds may not be in state yet. */
int pipeline_replay_pending(const struct pipeline *pl);

#endif
