/*
 * metrics.h - riskd's operational counters and gauges, their Prometheus text rendering, and
 * the small HTTP server that serves GET /metrics, GET /healthz and GET /readyz
 * (docs/metrics.md).
 *
 * The set of metrics is fixed: one global struct riskd_metrics of C11 atomics. The detector's
 * main loop (and the outbox relay) update it through the metrics_* helpers below, which are
 * relaxed atomic operations with no allocation and no lock, cheap enough for the per-event
 * path. The HTTP server's own thread reads it when a scraper asks; a scrape sees each value
 * as it was at some moment during the scrape, not one snapshot of all of them.
 */
#ifndef RISKD_METRICS_H
#define RISKD_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../streams/event.h"

/* Finite upper bounds of the riskd_commit_seconds histogram; a +Inf bucket follows them. */
#define METRICS_COMMIT_BUCKETS 13

/* Kinds of policy reload counted by riskd_policy_reloads_total (label kind): the theft rules,
 * the credit rules with the scorecards (they reload together), and the operating rules. */
enum metrics_reload_kind {
	METRICS_RELOAD_THEFT = 0,
	METRICS_RELOAD_CREDIT,
	METRICS_RELOAD_OPERATING,
	METRICS_RELOAD_KIND__COUNT
};

/* Most policies riskd_policy_info lists: the three rule sets and the scorecards. */
#define METRICS_POLICIES_MAX 16

/* Kinds of alert counted by riskd_alerts_total (label kind). */
enum metrics_alert_kind {
	METRICS_ALERT_THEFT = 0,
	METRICS_ALERT_OPERATING_RISK,   /* operating-risk warnings */
	METRICS_ALERT_NO_DATA,          /* no_data alerts of silent meters */
	METRICS_ALERT_KIND__COUNT
};

/*
 * Every metric riskd exports. Counters only grow (until metrics_init()); gauges are set.
 * Update through the helpers below rather than touching fields directly.
 */
struct riskd_metrics {
	_Atomic uint64_t events[EVENT_TYPE__COUNT];          /* riskd_events_total{type} */
	_Atomic uint64_t dead_letter[EVENT_REJECT__COUNT];   /* riskd_dead_letter_total{reason} */
	_Atomic uint64_t duplicates[EVENT_TYPE__COUNT];      /* riskd_duplicates_total{type} */
	_Atomic uint64_t batches;                            /* riskd_batches_total */
	_Atomic uint64_t batch_events;                       /* riskd_batch_events (gauge) */
	/* riskd_commit_seconds: per-bucket counts, not cumulative; the last is +Inf only */
	_Atomic uint64_t commit_bucket[METRICS_COMMIT_BUCKETS + 1];
	_Atomic uint64_t commit_sum_ns;                      /* riskd_commit_seconds_sum, in ns */
	_Atomic uint64_t commit_failures;                    /* riskd_commit_failures_total */
	_Atomic uint64_t pg_retries;                         /* riskd_pg_retries_total */
	_Atomic int64_t consumer_lag;                        /* riskd_consumer_lag (gauge) */
	_Atomic uint64_t assigned_partitions;                /* riskd_assigned_partitions (gauge) */
	_Atomic uint64_t outbox_published;                   /* riskd_outbox_published_total */
	_Atomic uint64_t outbox_failed;                      /* riskd_outbox_failed_total */
	_Atomic uint64_t outbox_pending;                     /* riskd_outbox_pending (gauge) */
	/* creation time (Unix s) of the oldest pending row, 0 when none: the exporter turns it
	 * into riskd_outbox_oldest_age_seconds */
	_Atomic int64_t outbox_oldest_s;
	_Atomic uint64_t alerts[METRICS_ALERT_KIND__COUNT];  /* riskd_alerts_total{kind} */
	_Atomic uint64_t grade_changes;                      /* riskd_grade_changes_total */
	_Atomic uint64_t input_gaps;                         /* riskd_input_gap_messages_total */
	_Atomic uint64_t attributions;                       /* riskd_attributions_total */
	_Atomic uint64_t attribution_queue;                  /* riskd_attribution_queue (gauge) */
	_Atomic uint64_t attribution_ns;                     /* riskd_attribution_seconds_total */
	_Atomic uint64_t customers;                          /* riskd_customers (gauge) */
	_Atomic uint64_t transformers;                       /* riskd_transformers (gauge) */
	_Atomic uint64_t state_bytes;                        /* riskd_state_bytes (gauge) */
	_Atomic int64_t start_time_s;                        /* riskd_start_time_seconds */
	/* riskd_policy_reloads_total{kind,result}: [kind][0] ok, [kind][1] failed */
	_Atomic uint64_t reloads[METRICS_RELOAD_KIND__COUNT][2];
};

/* The process's metrics. Zero (and start time 0) until metrics_init() runs. */
extern struct riskd_metrics riskd_metrics;

/* The histogram's finite bucket bounds in seconds, ascending: 0.001 ... 10. */
extern const double metrics_commit_bounds[METRICS_COMMIT_BUCKETS];

/*
 * Why riskd is not healthy. /healthz answers 503 with the reason code (metrics_health_code) of
 * the first active condition in this order, and 200 when none is active.
 */
enum health_condition {
	HEALTH_STARTING = 0,         /* "starting": no partitions assigned and loaded yet */
	HEALTH_POSTGRES_ERROR,       /* "postgres_error": a database error retrying cannot fix */
	HEALTH_POSTGRES_UNREACHABLE, /* "postgres_unreachable": lost or refused; being retried */
	HEALTH_KAFKA_STALLED,        /* "kafka_stalled": lag > 0 and no input processed for
	                                health.stall_s */
	HEALTH__COUNT
};

/*
 * Resets every metric to zero (riskd_policy_info lists nothing), records now as
 * riskd_start_time_seconds and sets the health conditions to HEALTH_STARTING alone. Call once at start-up, before any other thread
 * reads the metrics (tests call it to start from a clean slate).
 */
void metrics_init(void);

/* Adds n to a counter (relaxed; safe from any thread). */
static inline void metrics_add(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

/* Sets a gauge (relaxed; safe from any thread). */
static inline void metrics_set(_Atomic uint64_t *gauge, uint64_t value)
{
	atomic_store_explicit(gauge, value, memory_order_relaxed);
}

/* One event of this type passed validation and was applied. Out-of-range types are ignored. */
static inline void metrics_event_accepted(enum event_type type)
{
	if ((unsigned)type < EVENT_TYPE__COUNT)
		metrics_add(&riskd_metrics.events[type], 1);
}

/* One message went to the dead-letter topic for this reason. NONE and out-of-range are ignored. */
static inline void metrics_dead_letter(enum event_reject reason)
{
	if (reason != EVENT_REJECT_NONE && (unsigned)reason < EVENT_REJECT__COUNT)
		metrics_add(&riskd_metrics.dead_letter[reason], 1);
}

/* One event of this type was skipped as a duplicate event_id. Out-of-range types are ignored. */
static inline void metrics_duplicate(enum event_type type)
{
	if ((unsigned)type < EVENT_TYPE__COUNT)
		metrics_add(&riskd_metrics.duplicates[type], 1);
}

/* A batch of n_events was committed to PostgreSQL: counts the batch and sets the size gauge. */
static inline void metrics_batch_committed(uint64_t n_events)
{
	metrics_add(&riskd_metrics.batches, 1);
	metrics_set(&riskd_metrics.batch_events, n_events);
}

/* A batch commit failed (it will be retried). */
static inline void metrics_commit_failed(void)
{
	metrics_add(&riskd_metrics.commit_failures, 1);
}

/* One PostgreSQL operation is being retried after a failure. */
static inline void metrics_pg_retry(void)
{
	metrics_add(&riskd_metrics.pg_retries, 1);
}

/* Sets the consumer lag summed over assigned partitions, and the number of those partitions. */
static inline void metrics_set_lag(int64_t lag, uint32_t assigned_partitions)
{
	atomic_store_explicit(&riskd_metrics.consumer_lag, lag, memory_order_relaxed);
	metrics_set(&riskd_metrics.assigned_partitions, assigned_partitions);
}

/* The outbox relay published n rows and moved failed rows aside (risk.outbox_failed). */
static inline void metrics_outbox_published(uint64_t n, uint64_t failed)
{
	metrics_add(&riskd_metrics.outbox_published, n);
	metrics_add(&riskd_metrics.outbox_failed, failed);
}

/* pending outbox rows wait; the oldest was created at oldest_s (Unix seconds, 0 = none). */
static inline void metrics_outbox_pending(uint64_t pending, int64_t oldest_s)
{
	metrics_set(&riskd_metrics.outbox_pending, pending);
	atomic_store_explicit(&riskd_metrics.outbox_oldest_s, pending ? oldest_s : 0,
	                      memory_order_relaxed);
}

/* An area-window was attributed and stored in `seconds` (claim, load, solve and save). */
static inline void metrics_attribution_done(double seconds)
{
	metrics_add(&riskd_metrics.attributions, 1);
	metrics_add(&riskd_metrics.attribution_ns, (uint64_t)(seconds * 1e9));
}

/* Area-windows waiting in risk.area_attribution_queue, as last counted. */
static inline void metrics_attribution_queue(uint64_t queued)
{
	metrics_set(&riskd_metrics.attribution_queue, queued);
}

/* A new alert of this kind was raised (not an update of an open one). */
static inline void metrics_alert_raised(enum metrics_alert_kind kind)
{
	if ((unsigned)kind < METRICS_ALERT_KIND__COUNT)
		metrics_add(&riskd_metrics.alerts[kind], 1);
}

/* A reload of this kind of policy files put new files live (ok non-zero) or failed to load
 * them (the old ones stay live). Out-of-range kinds are ignored. */
static inline void metrics_policy_reloaded(enum metrics_reload_kind kind, int ok)
{
	if ((unsigned)kind < METRICS_RELOAD_KIND__COUNT)
		metrics_add(&riskd_metrics.reloads[kind][ok ? 0 : 1], 1);
}

/* A customer's credit grade changed. */
static inline void metrics_grade_changed(void)
{
	metrics_add(&riskd_metrics.grade_changes, 1);
}

/* n input offsets were skipped over: messages deleted by retention before riskd read them
 * (or, harmlessly, compaction and transaction markers). */
static inline void metrics_input_gap(uint64_t n)
{
	metrics_add(&riskd_metrics.input_gaps, n);
}

/* Sets the numbers of customers and transformers held in state and the bytes that state
 * occupies (both tables). */
static inline void metrics_set_state(uint64_t customers, uint64_t transformers,
                                     uint64_t state_bytes)
{
	metrics_set(&riskd_metrics.customers, customers);
	metrics_set(&riskd_metrics.transformers, transformers);
	metrics_set(&riskd_metrics.state_bytes, state_bytes);
}

/*
 * Records one batch commit that took seconds (negative or NaN counts as 0) in the
 * riskd_commit_seconds histogram. No allocation; safe from any thread.
 */
void metrics_commit_observe(double seconds);

struct ruleset;
struct scorecard_set;

/*
 * Records the policies now live, for riskd_policy_info: the theft, credit and operating rule
 * sets (any may be NULL; labelled with the reload kind's name) and the scorecards (NULL:
 * none), each with its name, version and content hash (copied; at most METRICS_POLICIES_MAX
 * in all). Replaces what was recorded before. Call after the first load and after every
 * reload that put new files live; takes a lock the /metrics renderer shares (not for the
 * per-event path).
 */
void metrics_set_policies(const struct ruleset *theft, const struct ruleset *credit,
                          const struct ruleset *operating, const struct scorecard_set *cards);

/* Contract names for the reload kind label ("theft", "credit", "operating"); "unknown" when
 * out of range. */
const char *metrics_reload_kind_name(enum metrics_reload_kind kind);

/* Contract names for the alert kind label ("theft", "operating_risk"); "unknown" when out
 * of range. */
const char *metrics_alert_kind_name(enum metrics_alert_kind kind);

/*
 * Renders every metric in the Prometheus text exposition format 0.0.4 (# HELP and # TYPE
 * lines, one sample per line) into buf, like snprintf: writes at most size bytes including a
 * terminating NUL (nothing when size is 0) and returns the length the full text needs, NUL
 * excluded. The text is complete only when the return value is below size. About 6 KiB today.
 * Safe from any thread; allocates nothing.
 */
size_t metrics_render(char *buf, size_t size);

/*
 * Turns one health condition on (active non-zero) or off. Lock-free; safe from any thread;
 * meant to be called when a state changes, not per event. Out-of-range conditions are
 * ignored.
 */
void metrics_health_set(enum health_condition condition, int active);

/* The reason code /healthz shows for a condition ("starting", "postgres_unreachable", ...);
 * "unknown" when out of range. */
const char *metrics_health_code(enum health_condition condition);

/* 1 when this health condition is active, else 0 (out of range: 0). Thread-safe. */
int metrics_health_active(enum health_condition condition);

/*
 * Returns 1 when no condition is active, 0 when one is, and copies the reason code of the
 * first active condition (empty when healthy) into reason (reason_size bytes, may be 0 with
 * reason NULL). Thread-safe.
 */
int metrics_health(char *reason, size_t reason_size);

/*
 * Starts the HTTP server on address listen (an IPv4 or IPv6 literal: "127.0.0.1", "0.0.0.0"
 * for every IPv4 interface, "::1", "::" for every interface) at port, in its own thread
 * (libmicrohttpd's internal polling thread), serving:
 *   GET /metrics  200, text/plain; version=0.0.4, the output of metrics_render()
 *   GET /healthz  200 "ok\n", or 503 "unhealthy: <reason code>\n"
 *   GET /readyz   200 "ready\n", or 503 "not ready: <reason code>\n" (health_ready())
 *   other paths   404;  methods other than GET and HEAD: 405 with Allow: GET, HEAD
 * port 0 means disabled: returns 0 and starts nothing.
 * Returns 0, RISKD_ERR_RANGE for a port outside 0..65535, RISKD_ERR_INVALID when listen is
 * not an address literal or a server is already running, or RISKD_ERR_IO when the server could not start (port taken, ...), with a
 * message in errstr. Call from the main thread only, paired with metrics_server_stop().
 */
int metrics_server_start(const char *listen, int port, char *errstr, size_t errstr_size);

/* Stops the HTTP server and joins its thread; no-op when none is running. Main thread only. */
void metrics_server_stop(void);

#endif
