/*
 * pipeline.h - riskd's main loop: consume a batch, apply it to per-customer state, commit
 * results + state snapshots + offsets in one PostgreSQL transaction, relay the outbox.
 *
 * Exactly-once effect: nothing is acknowledged (offsets in risk.kafka_offsets) that is not
 * stored in the same transaction. Whenever the in-memory state might disagree with the
 * database (PostgreSQL went away, another instance moved an offset, partitions were
 * assigned), the pipeline drops what it holds, reloads state and offsets for its partitions
 * from PostgreSQL and seeks there ("resync").
 */
#ifndef RISKD_PIPELINE_H
#define RISKD_PIPELINE_H

#include <signal.h>
#include <stdint.h>

#include "../config/config.h"

struct pipeline;

struct pipeline_options {
	double until_idle_s;          /* > 0: return once idle this long with everything committed
	                                 and every partition read to its end */
	volatile sig_atomic_t *stop;  /* set non-zero (by a signal handler) to drain and return */
	volatile sig_atomic_t *reload; /* set non-zero (SIGHUP) to reload the rule files; may be NULL */
	void (*on_turn)(int64_t now_ms); /* called at the top of every loop turn (the service
	                                    watchdog); may be NULL */
};

/* Totals over the pipeline's life, for the exit summary. */
struct pipeline_totals {
	uint64_t messages;        /* messages consumed (including replays after a resync) */
	uint64_t replayed;        /* of those, messages applied to state only: their results
	                             were stored before the last state checkpoint moved */
	uint64_t accepted;        /* events applied */
	uint64_t dead_letter;     /* messages sent to the dead-letter topic */
	uint64_t duplicates;      /* duplicate event_ids skipped */
	uint64_t batches;         /* batches committed */
	uint64_t resyncs;         /* times state was reloaded from PostgreSQL */
	uint64_t published;       /* outbox messages published */
	uint64_t input_gaps;      /* input offsets skipped over (retention removed them unread) */
	uint64_t alerts_opened;   /* theft alerts opened */
	uint64_t alerts_updated;  /* firings that updated an active alert */
	uint64_t grade_changes;   /* credit grade changes committed (first grades included) */
	uint64_t confirmations;   /* confirmed-theft changes applied to owned customers */
	uint64_t days_pending;    /* closed customer-days left to wait for their area's results
	                             (attribution.score_after_area on), those whose alert was
	                             raised at the close among them */
	uint64_t days_final;      /* closed days of customers with an area final at the close:
	                             quiet whatever the area says (score_after_area on) */
	uint64_t read_order_expired; /* readings and billing partitions that stopped waiting for
	                                their profiles partition after KAFKA_GATE_MAX_MS */
};

/*
 * Connects to Kafka and PostgreSQL per cfg (which must outlive the pipeline) and subscribes.
 * Returns NULL with errstr set when the configuration cannot work (bad time zone, topics
 * with different partition counts, schema missing). PostgreSQL being down at start is an
 * error too (the operator sees it at once); later outages are retried.
 */
struct pipeline *pipeline_new(const struct riskd_config *cfg, char *errstr, size_t errstr_size);

/*
 * Runs until *opts->stop is set or the idle condition holds, then commits what it holds,
 * publishes the outbox and leaves the consumer group. The idle condition: no message for
 * opts->until_idle_s, everything committed and published, and every assigned partition read
 * to its end (lag 0). Returns 0; RISKD_ERR_UNAVAILABLE with errstr set when it gave up
 * waiting for the end because input stalled (messages left and none processed for
 * health.stall_s); or another negative riskd_err with errstr set on a fatal error (a
 * database error that retrying cannot fix).
 */
int pipeline_run(struct pipeline *pl, const struct pipeline_options *opts, char *errstr,
                 size_t errstr_size);

/* Copies the life totals; read_order_expired is filled in when pipeline_run returns. */
void pipeline_totals(const struct pipeline *pl, struct pipeline_totals *out);

/* Frees everything. NULL is a no-op. */
void pipeline_destroy(struct pipeline *pl);

#endif
