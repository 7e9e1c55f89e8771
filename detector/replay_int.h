/*
 * replay_int.h - what the files of the offline engine share: the replay's state and the
 * calls between its concerns. Included only by detector/replay*.c; replay.h is the public
 * face.
 *
 *   replay.c          the run: create, apply an event as riskd applies it, the accessors
 *   replay_accounts.c per-rule and per-customer accounts (the scorer's observer)
 *   replay_balance.c  the energy balance per area and local day, in memory
 *   replay_attrib.c   the hourly sums per customer and area, and each balanced area-day's
 *                     attribution of the area's loss to its customers
 *   replay_decode.c   reading a file: lines decoded on helper threads, applied in order
 *   replay_labels.c   the labels CSV
 *   replay_diff.c     what a rule edit changes
 *   replay_quality.c  precision and recall, the detection scorecard
 *   replay_json.c     the JSON reports
 *   replay_dump.c     the feature dump (CSV, one row per scoring)
 */
#ifndef RISKD_REPLAY_INT_H
#define RISKD_REPLAY_INT_H

#include "../scoring/attr_table.h"
#include "../scoring/balance.h"
#include "batch.h"
#include "ingest.h"
#include "replay.h"
#include "silent.h"

/* A transformer area: its profiled customers, the open day's sums and its balanced days. */
struct replay_area {
	char id[RISKD_ID_MAX + 1];
	uint32_t customers;        /* customers whose profile names this transformer */
	struct area_day day;       /* the day being balanced */
	struct area_day held;      /* has_held: the sums of held_day, which was not complete when
	                              the stream passed it: silent meters may complete it */
	int32_t held_day;
	int has_held;
	struct area_history history;
	struct replay_area_attrib *attrib; /* replay_attrib.c: its sums and latest findings;
	                                      NULL until its transformer reports */
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
	struct replay_attrib *attrib;        /* the attribution (with the balance), or NULL */
	struct attr_table *attributes;       /* customers' attributes (options.attributes), or
	                                        NULL */
	struct attr_vec profile_attrs;       /* the attributes of the profile being applied */
	struct silent_sweep silent;          /* silent meters' days, closed after the lateness */
};

/* A hash of an address (the replay's indexes keyed by entries that stay put). */
static inline uint64_t replay_pointer_hash(const void *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

/* ---- replay.c ---- */

/*
 * Applies one decoded event (from the len bytes at line) as riskd applies an event it has
 * decoded and routed. Returns EVENT_REJECT_NONE when it was accepted or skipped as a
 * duplicate, else why riskd would dead-letter it (energy above what the customer's capacity
 * allows, attributes the schema refuses).
 */
enum event_reject replay_event(struct replay *rp, const struct event *ev, const char *line,
                               size_t len);

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

/*
 * The silent meters' sweep is about to close the open days through `through` of the n
 * customers due (silent_hooks.due; arg is the replay): each completes its area's held day
 * `through` (risk.daily_usage.silent, which PostgreSQL counts as complete), and the areas so
 * completed are balanced, attributed and published before the customers' days are scored.
 */
void replay_balance_silent_due(void *arg, struct cstate *const *due, size_t n, int32_t through);

/* Frees the balance's areas (replay_free). */
void replay_balance_free(struct replay *rp);

/* The area of transformer_id; created (with no customers) when create is set, else NULL. */
struct replay_area *replay_area_get(struct replay *rp, const char *transformer_id, int create);

/* ---- replay_attrib.c ---- */

/* The attribution's state for windows of window_days after history_days (each >= 1). */
struct replay_attrib *replay_attrib_new(int32_t window_days, int32_t history_days);

/* Frees it (NULL is fine); each area's part goes with replay_attrib_area_free. */
void replay_attrib_free(struct replay_attrib *ra);

/* Frees area a's attribution state. */
void replay_attrib_area_free(struct replay_area *a);

/* An accepted reading (r->has_usage) of a customer or a transformer: adds it to the entity's
 * hourly sums. */
void replay_attrib_reading(struct replay *rp, const struct event *ev,
                           const struct ingest_result *r);

/* Area a's open day was balanced: replay_attrib_day attributes it. */
void replay_attrib_mark_due(struct replay_area *a);

/* Attributes the window ending with `day` of every area marked due, keeping its findings. */
void replay_attrib_day(struct replay *rp, int32_t day);

/* Sets the attribution fields of b, area a's balance about to be published to t, and adds
 * a's findings to t (nothing when a was never attributed). */
void replay_attrib_publish(const struct replay_area *a, struct area_balance *b,
                           struct area_table *t);

#endif
