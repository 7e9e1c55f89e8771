/*
 * committer.h - commits sealed batches to PostgreSQL on a thread of their own, so the
 * detector's loop processes the next batch while the previous one commits.
 *
 * Two jobs alternate: the loop fills the current one (its batch, then its offsets and
 * metadata when it seals it), committer_start hands it to a worker thread - which commits it
 * with store_commit_batch and, when that succeeded, publishes the outbox rows - and makes the
 * other job current. At most one job runs at a time: committer_wait joins it and returns its
 * results. While a job runs the worker owns the store connection and the producer; the loop
 * may use the store only when nothing runs. A sealed batch holds its own copies (snapshot
 * bytes, offsets, JSON) and borrows only entity ids, which stay valid because entities are
 * removed only after committer_wait.
 */
#ifndef RISKD_COMMITTER_H
#define RISKD_COMMITTER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../rules/ruleset.h"
#include "../streams/kafka.h"
#include "batch.h"
#include "store.h"

struct commit_job {
	struct batch batch;
	struct store_batch sb;                     /* filled when sealed (batch_to_store + metadata) */
	struct store_offset *offsets;              /* sb.offsets points here */
	size_t offset_cap;
	/* sb.rule_counts points here: the theft rules' counts, then the operating rules' */
	struct store_rule_count rule_counts[2 * RULESET_RULES_MAX];
	/* results, valid after committer_wait returned the job */
	int rc;                                    /* store_commit_batch's result */
	char errstr[1024];                         /* its message when rc != 0 */
	double seconds;                            /* time the commit took */
	int64_t published;                         /* outbox rows published after the commit */
	int relay_rc;                              /* 0, or the relay's riskd_err (rows stay) */
	int drain;                                 /* set when sealing: balance queued area-days
	                                              after the commit */
	int drained;                               /* area-days balanced, or a negative riskd_err */
};

struct committer {
	struct store *store;
	struct kafka_producer *producer;
	struct commit_job jobs[2];
	int current;        /* index of the job being filled */
	int running;        /* jobs[1 - current] was started and not yet waited for */
	atomic_int done;    /* ... and its worker has finished */
	pthread_t thread;
	pthread_mutex_t done_lock;  /* with done_cond: the worker's "done" for committer_await */
	pthread_cond_t done_cond;   /* on CLOCK_MONOTONIC */
};

/* Sets up both jobs over a store and producer that outlive the committer. */
void committer_init(struct committer *c, struct store *store, struct kafka_producer *producer);

/* Waits for a running job and frees both jobs' memory. */
void committer_free(struct committer *c);

/* The job being filled (its batch is where the loop adds a message's effects). */
static inline struct commit_job *committer_current(struct committer *c)
{
	return &c->jobs[c->current];
}

/* Makes room for n offsets in job (sb.offsets is set to them). */
void commit_job_reserve_offsets(struct commit_job *job, size_t n);

/*
 * Hands the current job (sealed: job->sb filled) to the worker thread and makes the other job
 * current, with an empty batch. Nothing may be running (call committer_wait first). Aborts
 * when a thread cannot be created.
 */
void committer_start(struct committer *c);

/* Whether a started job is still committing (committer_wait would block). */
static inline int committer_busy(struct committer *c)
{
	return c->running && !atomic_load_explicit(&c->done, memory_order_acquire);
}

/* Waits up to timeout_ms (>= 0) for the running job's worker to finish. Returns 1 when it has
 * (committer_wait then returns at once) or when nothing runs, 0 when the time ran out. */
int committer_await(struct committer *c, int timeout_ms);

/* Waits for the running job and returns it with its results (NULL when none runs). The job
 * stays untouched until committer_release. */
struct commit_job *committer_wait(struct committer *c);

/* Empties a finished job's batch for reuse (call once its results were applied). */
void committer_release(struct committer *c, struct commit_job *job);

/*
 * Publishes pending outbox rows from the calling thread (nothing may be running), each
 * delivered row once: a row Kafka rejects for good (too large, invalid topic) is moved to
 * risk.outbox_failed, counted and logged, and the rows around it are published. Then sets the
 * outbox gauges (pending rows, oldest row's age). Returns the rows published (>= 0), or a
 * negative riskd_err when PostgreSQL failed or some rows could not be published for now
 * (broker down, timeout: those rows stay for the next try).
 */
int64_t committer_relay(struct committer *c);

#endif
