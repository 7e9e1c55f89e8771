/*
 * health.c - the input stall watch and --until-idle's verdict (health.h), on top of the
 * health conditions that metrics.c serves at /healthz, and the readiness verdict it serves at
 * /readyz.
 */
#include "health.h"

#include <stdatomic.h>
#include <stdio.h>

#include "../config/riskd_base.h"
#include "log.h"
#include "metrics.h"

/* A longer pause between updates means the loop was not consuming on purpose. */
#define HEALTH_GAP_MS 5000

/* Readiness's inputs: written by the main loop, read by the HTTP thread. */
static struct {
	_Atomic int64_t max_lag;      /* health.ready_max_lag */
	_Atomic int64_t stall_ms;     /* health.stall_s in ms */
	_Atomic int64_t progress_ms;  /* last committed progress, load, new assignment, or moment
	                                 nothing was left to read */
	_Atomic int behind;           /* messages are, or may be, left (as of the last update) */
	_Atomic int loading;          /* assigned partitions not loaded yet */
} ready;

static const char *const ready_codes[READY__COUNT] = {
	"starting", "postgres_error", "postgres_unreachable", "no_partitions",
	"loading", "stalled", "lagging",
};

void health_watch_init(struct health_watch *hw, int stall_s, int64_t now_ms)
{
	*hw = (struct health_watch){.stall_ms = (int64_t)(stall_s > 0 ? stall_s : 1) * 1000,
	                            .calm_ms = now_ms};
}

/* Whether messages are, or may be, left to read. */
static int lag_behind(const struct kafka_lag *lag)
{
	return lag->messages > 0 || lag->unknown > 0;
}

int health_watch_update(struct health_watch *hw, int64_t now_ms, uint64_t messages,
                        const struct kafka_lag *lag)
{
	int gap = hw->looked_ms && now_ms - hw->looked_ms > HEALTH_GAP_MS;
	if (messages != hw->messages || !lag_behind(lag) || gap || lag->partitions != hw->partitions)
		hw->calm_ms = now_ms;
	if (lag->partitions != hw->partitions)
		atomic_store(&ready.progress_ms, now_ms);
	health_ready_lag(now_ms, lag);
	hw->messages = messages;
	hw->partitions = lag->partitions;
	hw->looked_ms = now_ms;
	int stalled = now_ms - hw->calm_ms >= hw->stall_ms;
	if (stalled != hw->stalled) {
		if (stalled)
			log_kv(LOG_WARN, "input_stalled",
			       "lag=%lld behind_partitions=%d unknown_partitions=%d one_of_them=%s seconds=%.0f",
			       (long long)lag->messages, lag->behind, lag->unknown,
			       lag->first[0] ? lag->first : "-", (double)(now_ms - hw->calm_ms) / 1000);
		else
			log_kv(LOG_INFO, "input_flowing", "lag=%lld", (long long)lag->messages);
		metrics_health_set(HEALTH_KAFKA_STALLED, stalled);
		hw->stalled = stalled;
	}
	return stalled;
}

enum health_idle health_idle_verdict(struct health_watch *hw, int64_t now_ms, uint64_t messages,
                                     const struct kafka_lag *lag, char *errstr,
                                     size_t errstr_size)
{
	int stalled = health_watch_update(hw, now_ms, messages, lag);
	if (!lag_behind(lag))
		return HEALTH_IDLE_DONE;
	if (!stalled)
		return HEALTH_IDLE_WAIT;
	snprintf(errstr, errstr_size,
	         "--until-idle gave up: input stalled with %lld messages left on %d of %d partitions "
	         "(%d more with an unknown end) and none processed for %.0f s (health.stall_s); "
	         "one of them: %s",
	         (long long)lag->messages, lag->behind, lag->partitions, lag->unknown,
	         (double)(now_ms - hw->calm_ms) / 1000, lag->first[0] ? lag->first : "-");
	return HEALTH_IDLE_GIVE_UP;
}

void health_ready_lag(int64_t now_ms, const struct kafka_lag *lag)
{
	if (!lag_behind(lag))
		atomic_store(&ready.progress_ms, now_ms);
	atomic_store(&ready.behind, lag_behind(lag));
}

void health_postgres(int rc)
{
	int answered = rc == 0 || rc == RISKD_ERR_CONFLICT;
	metrics_health_set(HEALTH_POSTGRES_UNREACHABLE, rc == RISKD_ERR_UNAVAILABLE);
	metrics_health_set(HEALTH_POSTGRES_ERROR, !answered && rc != RISKD_ERR_UNAVAILABLE);
	if (rc == RISKD_ERR_CONFLICT)
		health_loading();
}

void health_loaded(int64_t now_ms)
{
	health_postgres(0);
	metrics_health_set(HEALTH_STARTING, 0);
	atomic_store(&ready.progress_ms, now_ms);
	atomic_store(&ready.loading, 0);
}

void health_ready_init(int64_t max_lag, int stall_s, int64_t now_ms)
{
	atomic_store(&ready.max_lag, max_lag);
	atomic_store(&ready.stall_ms, (int64_t)(stall_s > 0 ? stall_s : 1) * 1000);
	atomic_store(&ready.progress_ms, now_ms);
	atomic_store(&ready.behind, 0);
	atomic_store(&ready.loading, 0);
}

void health_loading(void)
{
	atomic_store(&ready.loading, 1);
}

void health_committed(int64_t now_ms)
{
	atomic_store(&ready.progress_ms, now_ms);
}

enum ready_condition health_ready(int64_t now_ms)
{
	if (metrics_health_active(HEALTH_STARTING))
		return READY_STARTING;
	if (metrics_health_active(HEALTH_POSTGRES_ERROR))
		return READY_POSTGRES_ERROR;
	if (metrics_health_active(HEALTH_POSTGRES_UNREACHABLE))
		return READY_POSTGRES_UNREACHABLE;
	if (atomic_load_explicit(&riskd_metrics.assigned_partitions, memory_order_relaxed) == 0)
		return READY_NO_PARTITIONS;
	if (atomic_load(&ready.loading))
		return READY_LOADING;
	if (atomic_load(&ready.behind) &&
	    now_ms - atomic_load(&ready.progress_ms) >= atomic_load(&ready.stall_ms))
		return READY_STALLED;
	if (atomic_load_explicit(&riskd_metrics.consumer_lag, memory_order_relaxed) >
	    atomic_load(&ready.max_lag))
		return READY_LAGGING;
	return READY__COUNT;
}

const char *health_ready_code(enum ready_condition condition)
{
	if ((unsigned)condition >= READY__COUNT)
		return "unknown";
	return ready_codes[condition];
}
