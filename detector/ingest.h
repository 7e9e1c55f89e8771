/*
 * ingest.h - what riskd does with one decoded event, Kafka and PostgreSQL aside: the checks
 * that need the customer's state (energy against capacity, a reading for time its open day
 * already counts, a repeated event_id), the daily roll-up, the models and theft scoring.
 *
 * The pipeline turns each result into batch rows; the offline tools (backtest, eval) feed
 * events from a file through the very same function, so what they measure is what riskd
 * does. Single-threaded; no I/O.
 */
#ifndef RISKD_INGEST_H
#define RISKD_INGEST_H

#include <stdint.h>

#include "../scoring/cstate.h"
#include "../scoring/daily.h"
#include "../scoring/localday.h"
#include "../streams/event.h"
#include "grader.h"
#include "scorer.h"

struct ingest {
	struct localday localday;
	struct scorer *scorer;
	struct grader *grader;           /* NULL: no credit grading (offline tools) */
	struct cstate_table *customers;
	struct cstate_table *transformers;
	double max_kw_unknown_profile;   /* validation.max_kw_unknown_profile */
	int restatements_apply;          /* ingest.restatements: apply (1) or conflict (0) */
	/* The coverage of a closed day (CSTATE_COVER_SLOTS codes, cstate.h) that a late reading
	 * of entity cs (transformer: of the transformer table) for `day` is checked against and
	 * recorded in, owned by arg's side and valid until the event is done; NULL when not
	 * known. The detector keeps it in the batch, read from PostgreSQL beforehand; without
	 * the hook (the offline tools) late readings are counted unchecked. */
	uint16_t *(*closed_cover)(void *arg, const struct cstate *cs, int transformer, int32_t day);
	void *closed_cover_arg;
};

/* INGEST_CONFLICT: a reading for time the open day counts already, with another energy (a
 * restatement) that is not applied: the caller dead-letters it with reason `conflict`. */
enum ingest_outcome { INGEST_ACCEPTED, INGEST_DUPLICATE, INGEST_REJECTED, INGEST_CONFLICT };

struct ingest_result {
	enum ingest_outcome outcome;
	enum event_reject reason;       /* INGEST_REJECTED, INGEST_CONFLICT: why (errstr has the
	                                   message) */
	struct cstate *cs;              /* ACCEPTED/DUPLICATE: the entity */
	int transformer;                /* cs lives in the transformer table */
	int has_usage;                  /* a reading: energy to add to (cs, day) */
	int32_t day;
	int32_t second;                 /* with has_usage: seconds of `day` before the reading */
	int64_t uwh;                    /* the reading's energy; for a restatement the change it
	                                   made to the day (new - old, may be negative) */
	int32_t interval_s;
	int restated;                   /* with has_usage: the reading replaced a counted one
	                                   (ingest.restatements: apply) */
	int64_t restated_uwh;           /* restated, DAILY_SAME_DAY: the energy and length of the
	                                   open day's reading it replaced */
	int32_t restated_interval_s;
	enum daily_result day_result;   /* with has_usage: what the reading did to the open day */
	int silent;                     /* no reading: ingest_close_silent closed the day, which
	                                   the area balance counts as complete */
	int has_alert;                  /* a theft alert to raise (alert is filled); with deferred
	                                   too, raised at the close and completed when the day is
	                                   scored after its area (SCORER_ALERT_PENDING) */
	int deferred;                   /* the closed day waits for its area: its snapshot is
	                                   scorer_deferred(scorer) (scorer_set_deferral) */
	int decided;                    /* the closed day of a customer with an area was final at
	                                   its close: quiet whatever its area says */
	/* filled only when has_alert / day_result say so (not cleared per event) */
	struct scorer_alert alert;
	struct daily_closed closed;     /* DAILY_CLOSED_DAY: the whole day that closed */
	uint16_t closed_cover[CSTATE_COVER_SLOTS]; /* DAILY_CLOSED_DAY: its coverage */
	struct daily_hours closed_hours; /* DAILY_CLOSED_DAY: the hourly sums of the readings its
	                                    slots held (scoring/daily.h: the others are
	                                    detector/open_hours.c's) */
};

/*
 * Checks and applies one decoded, routed event whose entity belongs to `partition`:
 * rejects energy above capacity (or above max_kw_unknown_profile without a profile), skips a
 * duplicate event_id, then updates the entity's state (marking it dirty in its table), the
 * daily roll-up, the models and, when a day closed, scores the customer. Credit grades are
 * not computed here: they follow the billing stream of the customer's partition
 * (grader_on_billing, called by the pipeline before a billing event is applied).
 * errstr receives the reason of a rejection or conflict. Never fails otherwise.
 */
void ingest_event(struct ingest *in, const struct event *ev, int32_t partition,
                  struct ingest_result *out, char *errstr, size_t errstr_size);

/*
 * Closes customer cs's open day because its meter stayed silent past the lateness
 * (detector/silent.h decides which and when): daily_close_silent, then scoring as for a day
 * a reading closes (scorer_on_silent_day). Fills *out as ingest_event does for a reading that
 * closed a day - outcome ACCEPTED, has_usage, day_result DAILY_CLOSED_DAY, closed with its
 * coverage and hourly sums, the alert or deferral - with `silent` set, `day` the empty day
 * opened, interval_s 86400, uwh 0 and no `second`: the caller writes it as any closed day.
 * cs must be an entry of in->customers with an open day; it is marked dirty.
 */
void ingest_close_silent(struct ingest *in, struct cstate *cs, struct ingest_result *out);

#endif
