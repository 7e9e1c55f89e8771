/*
 * replay_int.h - what the files of the offline engine share: the replay's state and the
 * calls between its concerns. Included only by detector/replay*.c; replay.h is the public
 * face.
 *
 *   replay.c          the run: create, apply an event as riskd applies it, the accessors
 *   replay_accounts.c per-rule and per-customer accounts (the scorer's observer)
 *   replay_balance.c  the energy balance per area and local day, in memory
 *   replay_decode.c   reading a file: lines decoded on helper threads, applied in order
 *   replay_labels.c   the labels CSV
 *   replay_diff.c     what a rule edit changes
 *   replay_quality.c  precision and recall, the detection scorecard
 *   replay_json.c     the JSON reports
 */
#ifndef RISKD_REPLAY_INT_H
#define RISKD_REPLAY_INT_H

#include "../scoring/balance.h"
#include "batch.h"
#include "ingest.h"
#include "replay.h"

/* A transformer area: its profiled customers, the open day's sums and its balanced days. */
struct replay_area {
	char id[RISKD_ID_MAX + 1];
	uint32_t customers;        /* customers whose profile names this transformer */
	struct area_day day;       /* the day being balanced */
	struct area_history history;
};

/* A scored customer: the public record and its label's onset. */
struct replay_account {
	struct replay_customer pub;
	int32_t onset_day;         /* REPLAY_NO_DAY: unlabelled or no onset */
	int labelled;
};

struct replay {
	struct ingest ingest;
	struct event event;                  /* decode target, reused */
	const struct replay_labels *labels;
	struct replay_totals totals;
	struct replay_rule *rules;
	size_t n_rules;
	/* scored customers, and an index by the address of their cstate id */
	struct replay_account *customers;
	size_t n_customers, cap_customers;
	uint32_t *customer_index;            /* record + 1; 0 = empty; power-of-two size */
	size_t customer_index_cap;
	int customers_sorted;
	size_t alerted;
	/* the energy balance */
	int balance;
	int has_day;
	int32_t open_day;                    /* local day whose energy day_usage holds */
	struct batch day_usage;              /* energy per (entity, day), as riskd's batches */
	struct replay_area *areas;
	size_t n_areas, cap_areas;
	uint32_t *area_index;                /* area + 1; 0 = empty; power-of-two size */
	size_t area_index_cap;
	struct replay_area **area_order;     /* areas by id, for the area table */
	int area_order_stale;
	replay_scoring_fn scoring_fn;        /* replay_set_scoring_observer */
	void *scoring_arg;
	replay_balance_fn balance_fn;        /* replay_set_balance_observer */
	void *balance_arg;
};

/* ---- replay.c ---- */

/*
 * Applies one decoded event as riskd applies an event it has decoded and routed. Returns
 * EVENT_REJECT_NONE when it was accepted or skipped as a duplicate, else why riskd would
 * dead-letter it (energy above what the customer's capacity allows).
 */
enum event_reject replay_event(struct replay *rp, const struct event *ev);

/* Counts a line riskd would dead-letter before decoding it into an event (why: reason). */
void replay_count_reject(struct replay *rp, enum event_reject reason);

/*
 * Puts item (its index in the indexed array) under key id into an open-addressing index of
 * cap slots (a power of two, more than the items): slot value item + 1, 0 = empty, probed
 * linearly from cstate_hash(id). The labels and the areas are indexed by id this way.
 */
void replay_index_put(uint32_t *index, size_t cap, const char *id, size_t item);

/* ---- replay_accounts.c ---- */

/* The scorer observer (scorer_set_observer) that keeps the accounts; arg is the replay. */
void replay_on_scored(void *arg, const struct cstate *cs, int32_t day,
                      const struct rule_hits *hits);

/* Sorts the accounts by customer_id (replay_finish). */
void replay_accounts_sort(struct replay *rp);

/* ---- replay_balance.c ---- */

/* Before a reading of local day `day` is applied: a later day closes the open one,
 * balancing its complete area-days and publishing the new balance to the scorer. */
void replay_balance_advance(struct replay *rp, int32_t day);

/* A profile moved a customer from area old_area to new_area ("" for none). */
void replay_balance_profile_moved(struct replay *rp, const char *old_area, const char *new_area);

/* Frees the balance's areas (replay_free). */
void replay_balance_free(struct replay *rp);

#endif
