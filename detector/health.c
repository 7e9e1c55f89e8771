/*
 * health.c - the input stall watch and --until-idle's verdict (health.h), on top of the
 * health conditions that metrics.c serves at /healthz.
 */
#include "health.h"

#include <stdio.h>

#include "../config/riskd_base.h"
#include "log.h"
#include "metrics.h"

/* A longer pause between updates means the loop was not consuming on purpose. */
#define HEALTH_GAP_MS 5000

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
	hw->messages = messages;
	hw->partitions = lag->partitions;
	hw->looked_ms = now_ms;
	int stalled = now_ms - hw->calm_ms >= hw->stall_ms;
	if (stalled != hw->stalled) {
		if (stalled)
			log_kv(LOG_WARN, "input_stalled",
			       "lag=%lld behind_partitions=%d unknown_partitions=%d seconds=%.0f",
			       (long long)lag->messages, lag->behind, lag->unknown,
			       (double)(now_ms - hw->calm_ms) / 1000);
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
	         "(%d more with an unknown end) and none processed for %.0f s (health.stall_s)",
	         (long long)lag->messages, lag->behind, lag->partitions, lag->unknown,
	         (double)(now_ms - hw->calm_ms) / 1000);
	return HEALTH_IDLE_GIVE_UP;
}

void health_postgres(int rc)
{
	metrics_health_set(HEALTH_POSTGRES_UNREACHABLE, rc == RISKD_ERR_UNAVAILABLE);
	metrics_health_set(HEALTH_POSTGRES_ERROR, rc != 0 && rc != RISKD_ERR_UNAVAILABLE);
}

void health_loaded(void)
{
	health_postgres(0);
	metrics_health_set(HEALTH_STARTING, 0);
}
