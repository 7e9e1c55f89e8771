/*
 * ingest.h - what riskd does with one decoded event, Kafka and PostgreSQL aside: the checks
 * that need the customer's state (energy against capacity, duplicate event_id), the daily
 * roll-up, the models and theft scoring.
 *
 * The pipeline turns each result into batch rows; the offline tools (backtest, eval) feed
 * events from a file through the very same function, so what they measure is what riskd
 * does. Single-threaded; no I/O.
 */
#ifndef RISKD_INGEST_H
#define RISKD_INGEST_H

#include <stdint.h>

#include "../scoring/cstate.h"
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
};

enum ingest_outcome { INGEST_ACCEPTED, INGEST_DUPLICATE, INGEST_REJECTED };

struct ingest_result {
	enum ingest_outcome outcome;
	enum event_reject reason;       /* INGEST_REJECTED: why (errstr has the message) */
	struct cstate *cs;              /* ACCEPTED/DUPLICATE: the entity */
	int transformer;                /* cs lives in the transformer table */
	int has_usage;                  /* a reading: energy to add to (cs, day) */
	int32_t day;
	int32_t second;                 /* with has_usage: seconds of `day` before the reading */
	int64_t uwh;
	int32_t interval_s;
	enum daily_result day_result;   /* with has_usage: what the reading did to the open day */
	struct daily_closed closed;     /* DAILY_CLOSED_DAY: the whole day that closed */
	int has_alert;                  /* a theft alert to raise (alert is filled) */
	/* filled only when has_alert says so (not cleared per event) */
	struct scorer_alert alert;
};

/*
 * Checks and applies one decoded, routed event whose entity belongs to `partition`:
 * rejects energy above capacity (or above max_kw_unknown_profile without a profile), skips a
 * duplicate event_id, then updates the entity's state (marking it dirty in its table), the
 * daily roll-up, the models and, when a day closed, scores the customer. Credit grades are
 * not computed here: they follow the billing stream of the customer's partition
 * (grader_on_billing, called by the pipeline before a billing event is applied).
 * errstr receives the reason of a rejection. Never fails otherwise.
 */
void ingest_event(struct ingest *in, const struct event *ev, int32_t partition,
                  struct ingest_result *out, char *errstr, size_t errstr_size);

#endif
