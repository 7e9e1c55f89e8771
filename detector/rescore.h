/*
 * rescore.h - theft scoring of the customer-days that waited for their area. When a day of a
 * customer with an area closes, the area's balance and attribution of that day are not in
 * yet (they come later, from PostgreSQL): a day that may alert once they are known is not
 * scored then, or only on its own rules when they alert whatever the area says (an alert
 * raised at the close, which this scoring completes: STORE_STAGE_COMPLETE); the others are
 * final and quiet at the close (scorer_set_deferral). Its snapshot
 * (struct scorer_deferred, packed here) goes to risk.pending_scores in the batch's
 * transaction; between batches the rescorer takes the pending days of an area whose results
 * are final (risk.claim_pending_scores), loads the area as it stood on each day, scores the
 * days in order (scorer_rescore) and raises their alerts, in one transaction per area. Live
 * alerts are then the offline engine's: docs/detection.md, "Scoring after the area".
 *
 * Single-threaded: called from the main loop while nothing else uses the store.
 */
#ifndef RISKD_RESCORE_H
#define RISKD_RESCORE_H

#include <stddef.h>
#include <stdint.h>

#include "../config/config.h"
#include "scorer.h"
#include "store.h"

/* Days past a pending day its transformer's partition of the transformer topic may close a
 * transformer day (risk.transformer_progress; the slowest partition's when riskd has no state
 * of the transformer) before the day is scored without its own area's balance: an area whose
 * transformer stopped or never reports is not waited for for ever, and one whose partition is
 * merely behind is. */
#define RESCORE_LATE_DAYS 7

/* The signature a snapshot carries of the feature registry's first n features (1 ..
 * FEAT__COUNT): FNV-1a over their names and types in id order, never 0. */
uint64_t rescore_registry_signature(int n);

/* Appends d packed (the snapshot's stored form: native byte order, checked against the
 * feature registry when unpacked) to out; d->attrs by the slots of schema (NULL: left out;
 * nothing is written for them when none is known). */
void rescore_pack(const struct scorer_deferred *d, const struct attr_schema *schema,
                  struct rbuf *out);

/*
 * Unpacks len bytes of a snapshot into *d, its attributes by name into the slots of schema
 * (NULL: left missing; an attribute the schema no longer declares is left missing). Returns
 * 0, or RISKD_ERR_INVALID when the bytes are not a snapshot of this build's feature registry
 * or of an earlier one (the registry only appends: a snapshot of its first n features reads,
 * the features after them missing), or are damaged: errstr says which.
 */
int rescore_unpack(const void *bytes, size_t len, const struct attr_schema *schema,
                   struct scorer_deferred *d, char *errstr, size_t errstr_size);

struct rescorer;

/* Creates a rescorer. Aborts on out-of-memory. */
struct rescorer *rescorer_new(void);

/* Frees r (NULL is fine). */
void rescorer_free(struct rescorer *r);

/* What one rescorer_step did. */
struct rescorer_step {
	int areas;          /* areas whose ready days were scored and stored */
	int days;           /* customer-days scored */
	int alerts;         /* alerts raised or updated */
	int opened;         /* of those, alerts opened */
	int no_data_opened; /* of the opened, alerts of kind no_data */
	int dropped;        /* snapshots that did not unpack (logged, not scored) */
	int more;           /* pending days may still be ready */
};

/*
 * Scores the ready pending days of areas, one area and one transaction at a time, until
 * none is ready or budget_ms milliseconds have passed (checked between areas), with sc's
 * rule set; alerts are raised as a batch's are (cfg: review topic, tariffs). Fills *done.
 * Returns 0, or a negative riskd_err from the store (the area's days stay pending).
 */
int rescorer_step(struct rescorer *r, struct store *st, struct scorer *sc,
                  const struct riskd_config *cfg, int budget_ms, struct rescorer_step *done,
                  char *errstr, size_t errstr_size);

#endif
