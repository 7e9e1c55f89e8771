/*
 * batch.h - what one batch of input messages produced, waiting to be committed.
 *
 * The pipeline adds each message's effects here (energy deltas per entity and local day,
 * profiles, outcome counts, outbox messages); batch_to_store() lays them out as a
 * struct store_batch for one PostgreSQL transaction. Memory is reused across batches: after
 * warm-up, adding to a batch does not allocate.
 */
#ifndef RISKD_BATCH_H
#define RISKD_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "../config/riskd_base.h"
#include "../scoring/cstate.h"
#include "../streams/event.h"
#include "batch_side.h"
#include "grader.h"
#include "store.h"

struct scorer_deferred;

/* Energy per (entity, day): additions to the stored rows, or whole days, for the daily sums
 * and for the hourly ones (detector/open_hours.h). A row that only carries hourly sums is an
 * empty daily addition (readings 0), which the store leaves out. */
struct usage_map {
	struct store_usage *rows;
	const struct cstate **owners; /* rows[i]'s entity, for hashing and equality */
	size_t count, cap;
	uint32_t *index;              /* 0 = empty, else row number + 1 */
	size_t index_cap;             /* power of two */
	struct store_hours *hours;    /* parallel to rows (hours[i].sums.mask 0: none); NULL
	                                 until the first hourly sum */
	size_t hours_rows;            /* rows with an hourly sum */
	struct store_cover *cover;    /* parallel to rows (cover[i].kind 0: none): closed days'
	                                 coverage (batch_set_cover); NULL until the first */
	size_t cover_rows;            /* rows with a coverage */
};

struct batch {
	size_t messages;              /* messages consumed into this batch */
	size_t replayed;              /* of those, replayed for state only */
	int64_t started_ms;           /* monotonic time of the first message */
	struct usage_map usage;       /* customers' daily energy */
	struct usage_map transformer; /* transformers' daily energy */
	struct store_profile *profiles;
	size_t profile_count, profile_cap;
	struct store_count *counts;
	size_t count_count, count_cap;
	struct store_outbox *outbox;  /* byte pointers are set by batch_to_store */
	struct outbox_at {            /* where outbox[i]'s bytes sit in the arena */
		size_t key, payload, values[4];
	} *outbox_at;
	size_t outbox_count, outbox_cap;
	struct rbuf arena;            /* bytes of outbox keys, payloads and header values */
	struct store_snapshot *snapshots; /* state pointers are set by batch_to_store */
	size_t *snapshot_at;              /* where snapshots[i]'s bytes sit in the arena */
	size_t *snapshot_hours_at;        /* where its open-day hours sit there; SIZE_MAX: none */
	size_t snapshot_count, snapshot_cap;
	struct store_alert *alerts;   /* JSON pointers are set by batch_to_store */
	struct alert_at {             /* where alerts[i]'s JSON sits in the arena */
		size_t rules, curve, stolen;
	} *alert_at;
	size_t alert_count, alert_cap;
	struct store_progress *progress; /* set by batch_to_store from `transformer` */
	size_t progress_count, progress_cap;
	struct store_pending *pending; /* snapshot pointers are set by batch_to_store */
	size_t *pending_at;            /* where pending[i]'s snapshot sits in the arena */
	size_t pending_count, pending_cap;
	struct store_grade *grades;   /* strings are set by batch_to_store */
	struct grade_at {             /* where grades[i]'s strings sit in the arena */
		size_t reasons, scorecard, version, hash, actions, path;
	} *grade_at;
	size_t grade_count, grade_cap;
	struct store_credit *credit;
	size_t credit_count, credit_cap;
	struct store_billing_id *billing_ids; /* ids are set by batch_to_store */
	size_t *billing_id_at;                /* where billing_ids[i].id sits in the arena */
	size_t billing_id_count, billing_id_cap;
	struct store_repeat *repeats;         /* topics are static */
	size_t repeat_count, repeat_cap;
	struct batch_side side;               /* operating-risk warnings, side snapshots */
};

/* Zeroes b; the first use allocates. */
void batch_init(struct batch *b);

/* Frees b's memory. */
void batch_free(struct batch *b);

/* Empties b for the next batch, keeping its memory. */
void batch_reset(struct batch *b);

/* Adds one reading of uwh micro-kWh covering interval_s seconds to cs's local day in map
 * (to the stored row, or to the whole day set earlier in the batch). cs must outlive the
 * batch. */
void batch_add_usage(struct usage_map *map, const struct cstate *cs, int32_t day, int64_t uwh,
                     int32_t interval_s);

/* Adds one reading of uwh micro-kWh shorter than a day (interval_s < 86400) that starts
 * second_of_day seconds into cs's local day to that day's hourly sums in map
 * (daily_hours_add). cs must outlive the batch. */
void batch_add_hours(struct usage_map *map, const struct cstate *cs, int32_t day,
                     int32_t second_of_day, int32_t interval_s, int64_t uwh);

/* Sets cs's local day `day` in map to its whole hourly sums (replacing the stored row and
 * what the batch added before); later additions in the batch add to it. cs must outlive the
 * batch. */
void batch_set_hours(struct usage_map *map, const struct cstate *cs, int32_t day,
                     const struct daily_hours *sums);

/* Sets cs's local day in map to its whole energy so far (replacing the stored row and what
 * the batch added before); later additions in the batch add to it. cs must outlive the
 * batch. */
void batch_set_usage(struct usage_map *map, const struct cstate *cs, int32_t day, int64_t uwh,
                     int32_t readings, int32_t covered_s);

/* Adds uwh_change micro-kWh (may be negative) to cs's local day in map, with no reading or
 * covered time: a restatement replacing a counted reading of a closed day. cs must outlive
 * the batch. */
void batch_restate_usage(struct usage_map *m, const struct cstate *cs, int32_t day,
                         int64_t uwh_change);

/* The coverage codes (CSTATE_COVER_SLOTS, scoring/cstate.h) of cs's closed day `day` held in
 * map, which the caller may change in place until a row is next added to map (rows move as
 * it grows), or NULL when map has none. */
uint16_t *batch_cover(struct usage_map *m, const struct cstate *cs, int32_t day);

/* Sets the coverage of cs's closed day `day` in map to codes (copied): kind 'c' for a
 * customer, 't' for a transformer. It replaces the stored row at commit. Returns the codes
 * as held in map (valid as batch_cover's). cs must outlive the batch. */
uint16_t *batch_set_cover(struct usage_map *m, char kind, const struct cstate *cs, int32_t day,
                          const uint16_t *codes);

/* Records that customer cs (which must outlive the batch) counted a bill, payment or
 * reversal (kind "bill", "payment" or "payment_reversal", static) of id `id` (copied),
 * carried by message (topic, partition, offset) (topic static). */
void batch_add_billing_id(struct batch *b, const struct cstate *cs, const char *kind,
                          const char *id, const char *topic, int32_t partition, int64_t offset);

/* Records that message (topic, partition, offset) (topic static) was skipped as a repeated
 * bill, payment or reversal. */
void batch_add_repeat(struct batch *b, const char *topic, int32_t partition, int64_t offset);

/* Records a customer profile event (the latest one per customer wins at commit). */
void batch_add_profile(struct batch *b, const struct event *ev);

/* Adds one to the count of (topic, partition, event_type, outcome); topic and strings must be
 * static or outlive the batch. */
void batch_count(struct batch *b, const char *topic, int32_t partition, const char *event_type,
                 const char *outcome);

/*
 * Queues a message for the outbox. key/payload are copied; header values are copied.
 * At most 4 headers.
 */
void batch_add_outbox(struct batch *b, const char *topic, const void *key, size_t key_len,
                      const void *payload, size_t len, const char *const *header_names,
                      const char *const *header_values, int header_count);

/* Encodes a snapshot of cs (kind 'c' or 't'), an entry of table, now, to be written at
 * commit; cs (whose id is borrowed) must outlive the batch but may change meanwhile. */
void batch_add_snapshot(struct batch *b, char kind, const struct cstate_table *table,
                        const struct cstate *cs);

/* Adds the open day's hourly sums (copied) to the snapshot batch_add_snapshot added last. */
void batch_add_snapshot_hours(struct batch *b, int32_t day, const struct daily_hours *hours);

/* Records customer cs's closed day d->day, whose scoring waits for its area
 * transformer_id (interned: it must outlive the batch, as cs must), with its snapshot packed
 * (rescore_pack, its attributes by schema's slots; NULL: none) into the batch. */
void batch_add_pending(struct batch *b, const struct cstate *cs, const char *transformer_id,
                       const struct scorer_deferred *d, const struct attr_schema *schema);

/* Records an alert of `kind` ("theft" or "no_data", a static name) firing for cs (which must
 * outlive the batch) on local day `day`, scored at `stage` (STORE_STAGE_FINAL, or
 * STORE_STAGE_CLOSE for a day that also waits for its area); the JSON texts
 * (detector/alerts.h: rules, curve, stolen-energy estimate, NULL for none) are copied. */
void batch_add_alert(struct batch *b, const struct cstate *cs, const char *kind, int32_t day,
                     double score, const char *severity, const struct rbuf *rules_json,
                     const struct rbuf *curve_json, const struct rbuf *stolen_json,
                     const char *stage);

/* Marks cs's whole day `day` in the batch (set with batch_set_usage) as closed by the
 * lateness without a later reading: risk.daily_usage.silent, which the area balance counts
 * as complete. */
void batch_set_silent(struct usage_map *m, const struct cstate *cs, int32_t day);

/*
 * Records a grading of customer cs (which must outlive the batch): its payment status when
 * it has billing history and, when the grade changed, the change with its reasons (copied).
 */
void batch_add_grade(struct batch *b, const struct cstate *cs, const struct grader_result *r);

/* Whether b holds anything to commit besides consumed messages (e.g. feedback grades). */
int batch_has_rows(const struct batch *b);

/* Fills *sb with pointers into b (valid until b changes). Offsets are the caller's. */
void batch_to_store(struct batch *b, struct store_batch *sb);

#endif
