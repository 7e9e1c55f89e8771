/*
 * batch_side.h - the side rows of one batch (detector/store_side.h): the operating-risk
 * warnings its closed days raised and the side snapshots of the customers it checkpoints,
 * with the bytes they carry. Part of struct batch (batch.h); memory is reused across
 * batches, so after warm-up adding rows does not allocate.
 */
#ifndef RISKD_BATCH_SIDE_H
#define RISKD_BATCH_SIDE_H

#include <stddef.h>
#include <stdint.h>

#include "../config/riskd_base.h"
#include "../rules/ruleset.h"
#include "../scoring/cstate.h"
#include "store_side.h"

struct batch_side {
	struct store_op_alert *alerts;      /* text pointers are set by batch_side_rows */
	size_t (*alert_at)[2];              /* where alerts[i]'s rules and curve sit in arena */
	size_t alert_count, alert_cap;
	struct store_side_snapshot *snapshots; /* byte pointers are set by batch_side_rows */
	size_t (*snapshot_at)[2];           /* where snapshots[i]'s parts sit in arena */
	size_t snapshot_count, snapshot_cap;
	size_t ruleset_at[3];               /* the warnings' rule set: name, version, hash */
	double alert_threshold;
	struct rbuf arena;
	struct store_side_rows rows;
};

/* Frees s's memory (a zeroed struct is an empty one). */
void batch_side_free(struct batch_side *s);

/* Empties s for the next batch, keeping its memory. */
void batch_side_reset(struct batch_side *s);

/* Records an operating-risk warning of customer cs (which must outlive the batch) raised by
 * rule set rs on local day `day`; the JSON texts are copied, and so are rs's name, version
 * and hash (the batch's first warning sets them: rule sets reload between batches). */
void batch_side_add_alert(struct batch_side *s, const struct cstate *cs, int32_t day,
                          double score, const char *severity, const struct rbuf *rules_json,
                          const struct rbuf *curve_json, const struct ruleset *rs);

/* Records customer cs's side snapshot (cs must outlive the batch): its parts' bytes are
 * copied (len 0: the part is null). */
void batch_side_add_snapshot(struct batch_side *s, const struct cstate *cs,
                             const uint8_t *operating, size_t operating_len,
                             const uint8_t *attributes, size_t attributes_len);

/* The rows with their pointers into s (valid until s changes). */
const struct store_side_rows *batch_side_rows(struct batch_side *s);

#endif
