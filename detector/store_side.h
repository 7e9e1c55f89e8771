/*
 * store_side.h - what riskd keeps beside a customer's state, in PostgreSQL: the rows a batch
 * writes for it (the operating-risk warnings raised into the review queue, and the side
 * snapshots of the customers that have side state: a business's operating weeks, a
 * customer's attributes) and their load when partitions are assigned.
 *
 * The side snapshots (risk.customer_side, deploy/sql/020) are written in the same
 * transaction as the customers' state snapshots (risk.entity_state), so that a restart,
 * a replay or another instance taking the partition restores side state and customer state
 * as of the same offset.
 */
#ifndef RISKD_STORE_SIDE_H
#define RISKD_STORE_SIDE_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* An operating-risk warning raised (or an open one updated) by the batch: an alert of kind
 * operating_risk for risk.raise_alert. */
struct store_op_alert {
	const char *customer_id;  /* borrowed: the customer's cstate id */
	int32_t day;              /* local day of the firing */
	double score;
	const char *severity;     /* static name */
	const char *rules_json;   /* the fired rules with their evidence (alert_rules_json) */
	const char *curve_json;   /* the weeks' energy against the same weeks a year earlier */
};

/* A customer's side state as of the batch's checkpoint; a part without bytes (len 0) is
 * stored as null. */
struct store_side_snapshot {
	const char *customer_id;  /* borrowed: the customer's cstate id */
	int32_t partition;
	const uint8_t *operating; /* op_state_encode bytes */
	size_t operating_len;
	const uint8_t *attributes; /* attr_side_encode bytes */
	size_t attributes_len;
};

/* The side rows of one batch (struct store_batch.side). */
struct store_side_rows {
	const struct store_op_alert *alerts;
	size_t alert_count;
	const char *ruleset_name, *ruleset_version, *ruleset_hash; /* the operating rules' */
	double alert_threshold;                                    /* their thresholds.alert */
	const struct store_side_snapshot *snapshots;
	size_t snapshot_count;
};

/*
 * Calls fn for each stored side snapshot of the customer partitions partitions[0..n): the
 * customer's id and its parts' bytes (NULL with length 0 when null); stops when fn returns
 * non-zero and returns that value. Returns 0 or a negative riskd_err.
 */
int store_load_side(struct store *st, const int32_t *partitions, int n,
                    int (*fn)(const char *id, const uint8_t *operating, size_t operating_len,
                              const uint8_t *attributes, size_t attributes_len, void *arg),
                    void *arg, char *errstr, size_t errstr_size);

#endif
