/*
 * health.h - whether riskd's input is flowing, for /healthz and --until-idle, and whether this
 * instance is ready, for /readyz.
 *
 * A consumer is stalled when messages are left to read (lag > 0, or a partition whose end is
 * not known yet) and none was processed for health.stall_s: fetches failing, a broker gone,
 * partitions paused. The watch turns /healthz's kafka_stalled condition on and off, and gives
 * `riskd --until-idle` its verdict: stop when every partition is read to its end, give up when
 * stalled, else wait. The PostgreSQL conditions are set through health_postgres().
 *
 * Readiness is stricter than health: PostgreSQL reachable, partitions assigned and loaded, no
 * stall of committed progress (messages left to read and no batch moved the stored offsets for
 * health.stall_s) and the lag within health.ready_max_lag. The main loop publishes its inputs
 * (the health_ready_* calls, health_loaded, health_committed, the watch's updates); /readyz's
 * thread asks health_ready() with its own clock, so a loop that hangs in a commit while
 * messages wait turns not ready too.
 * Main loop only, except health_ready() (the metrics and inputs it reads are atomics).
 */
#ifndef RISKD_HEALTH_H
#define RISKD_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "../streams/kafka.h"

struct health_watch {
	int64_t stall_ms;      /* health.stall_s in ms */
	int64_t calm_ms;       /* last time input progressed or nothing was left to read */
	int64_t looked_ms;     /* last update; 0 = never */
	uint64_t messages;     /* messages processed as of the last update */
	int partitions;        /* assigned partitions as of the last update */
	int stalled;
};

/* What --until-idle does once riskd has been quiet for its seconds. */
enum health_idle {
	HEALTH_IDLE_WAIT = 0,  /* messages are left to read and input has not stalled yet */
	HEALTH_IDLE_DONE,      /* every assigned partition is read to its end */
	HEALTH_IDLE_GIVE_UP,   /* messages are left and input has stalled */
};

/* Starts a watch at now_ms with stall_s seconds of patience (>= 1). */
void health_watch_init(struct health_watch *hw, int stall_s, int64_t now_ms);

/*
 * Updates the watch with the messages processed so far (a running total) and the consumer's
 * lag; sets or clears HEALTH_KAFKA_STALLED and logs the change (input_stalled,
 * input_flowing). A new assignment (another partition count) or a gap of more than 5 s since
 * the previous update (the loop was waiting for PostgreSQL) restarts the patience. Returns 1
 * while stalled, else 0.
 */
int health_watch_update(struct health_watch *hw, int64_t now_ms, uint64_t messages,
                        const struct kafka_lag *lag);

/*
 * The --until-idle verdict after an update with these values. On HEALTH_IDLE_GIVE_UP writes
 * one line saying why into errstr (the lag, its partitions, the seconds without progress).
 */
enum health_idle health_idle_verdict(struct health_watch *hw, int64_t now_ms, uint64_t messages,
                                     const struct kafka_lag *lag, char *errstr,
                                     size_t errstr_size);

/*
 * Records the outcome of a PostgreSQL operation in the health conditions: rc 0 clears
 * postgres_unreachable and postgres_error, RISKD_ERR_UNAVAILABLE sets postgres_unreachable,
 * RISKD_ERR_CONFLICT (a fenced commit: another instance took a partition) clears both and
 * makes readiness say loading until the assignment is reloaded (health_loaded), any other
 * riskd_err sets postgres_error.
 */
void health_postgres(int rc);

/* The assigned partitions' offsets and state are loaded from PostgreSQL at monotonic now_ms:
 * clears starting, loading and the PostgreSQL conditions, and counts as progress. */
void health_loaded(int64_t now_ms);

/* Why /readyz says not ready (health_ready_code()); ready when none holds. */
enum ready_condition {
	READY_STARTING = 0,          /* "starting": no assignment loaded yet */
	READY_POSTGRES_ERROR,        /* "postgres_error" */
	READY_POSTGRES_UNREACHABLE,  /* "postgres_unreachable" */
	READY_NO_PARTITIONS,         /* "no_partitions": the group assigned this instance none */
	READY_LOADING,               /* "loading": partitions assigned, offsets and state not loaded */
	READY_STALLED,               /* "stalled": messages left and no committed progress for
	                                health.stall_s */
	READY_LAGGING,               /* "lagging": riskd_consumer_lag above health.ready_max_lag */
	READY__COUNT
};

/*
 * Sets readiness's bounds (health.ready_max_lag messages, health.stall_s seconds, >= 1) and
 * resets its inputs: nothing loading, progress at now_ms. Main thread, at startup.
 */
void health_ready_init(int64_t max_lag, int stall_s, int64_t now_ms);

/*
 * Readiness's view of the lag at monotonic now_ms, without the stall watch: whether messages
 * are left, and, when none is, progress. health_watch_update does this too; the loop calls it
 * alone while it waits for PostgreSQL, which is not an input stall.
 */
void health_ready_lag(int64_t now_ms, const struct kafka_lag *lag);

/* Newly assigned partitions are being loaded: not ready until health_loaded(). */
void health_loading(void);

/* A batch commit moved the stored offsets forward at monotonic now_ms. */
void health_committed(int64_t now_ms);

/*
 * The readiness verdict at monotonic now_ms: returns READY__COUNT when ready, else the first
 * condition that holds in enum order. Thread-safe (the metrics HTTP thread calls it).
 */
enum ready_condition health_ready(int64_t now_ms);

/* The reason code /readyz shows for a condition ("lagging", ...); "unknown" when out of
 * range (READY__COUNT included). */
const char *health_ready_code(enum ready_condition condition);

#endif
