/*
 * pipeline_days.c - closed days into the batch: a reading's daily usage, the scoring's alert
 * or pending score, and the days of silent meters that the partition's watermark closes
 * after the lateness (detector/silent.h), written as any closed day is.
 */
#include "pipeline_int.h"

#include "batch.h"
#include "open_hours.h"
#include "scorer.h"

void pipeline_add_usage(struct batch *b, const struct ingest_result *r)
{
	struct usage_map *map = r->transformer ? &b->transformer : &b->usage;
	if (r->day_result == DAILY_CLOSED_DAY) {
		batch_set_usage(map, r->cs, r->closed.day, r->closed.uwh, r->closed.readings,
		                r->closed.covered_s);
		if (r->silent)
			batch_set_silent(map, r->cs, r->closed.day);
		batch_set_cover(map, r->transformer ? 't' : 'c', r->cs, r->closed.day,
		                r->closed_cover);
	} else if (r->day_result == DAILY_LATE && r->restated) {
		batch_restate_usage(map, r->cs, r->day, r->uwh);
	} else if (r->day_result == DAILY_LATE) {
		batch_add_usage(map, r->cs, r->day, r->uwh, r->interval_s);
	}
}

void pipeline_add_scored(struct pipeline *pl, struct batch *b, const struct ingest_result *r)
{
	if (r->has_alert)
		batch_add_alert(b, r->cs, scorer_alert_kind_name(r->alert.kind), r->alert.day,
		                r->alert.score, r->alert.severity, r->alert.rules_json,
		                r->alert.curve_json, r->alert.stolen_json,
		                r->deferred ? STORE_STAGE_CLOSE : STORE_STAGE_FINAL);
	if (r->deferred) {
		batch_add_pending(b, r->cs, cstate_transformer_id(pl->ingest.customers, r->cs),
		                  scorer_deferred(pl->ingest.scorer),
		                  scorer_attribute_schema(pl->ingest.scorer));
		pl->totals.days_pending++;
	}
	pl->totals.days_final += (uint64_t)r->decided;
}

void pipeline_silent_before(struct pipeline *pl, const struct event *ev, int32_t partition)
{
	if (ev->type == EVENT_METER_READING)
		silent_sweep_before(&pl->silent, &pl->ingest, partition);
}

struct silent_ctx {
	struct pipeline *pl;
	struct batch *b;    /* NULL: replaying, state only */
};

/* silent_hooks.closed: one day a silent meter's watermark closed, into the batch. */
static void silent_closed(void *arg, struct ingest_result *r)
{
	struct silent_ctx *ctx = arg;
	open_hours_reading(ctx->pl->open_hours, ctx->b, r);
	if (!ctx->b)
		return;
	pipeline_add_usage(ctx->b, r);
	pipeline_add_scored(ctx->pl, ctx->b, r);
}

void pipeline_silent_after(struct pipeline *pl, struct batch *b, const struct event *ev,
                           const struct ingest_result *r, int32_t partition)
{
	if (ev->type != EVENT_METER_READING || r->outcome != INGEST_ACCEPTED || !r->has_usage)
		return;
	struct silent_ctx ctx = {pl, b};
	const struct silent_hooks hooks = {NULL, silent_closed, &ctx};
	silent_sweep_after(&pl->silent, &pl->ingest, partition, r->cs, &hooks);
}
