/*
 * replay_balance.c - the energy balance per transformer area and local day, kept in memory
 * from the replayed events: the daily energy of each entity summed as riskd's batches sum it,
 * each complete area-day balanced by the model of scoring/balance.h (the figures
 * risk.refresh_area_balance stores), and the areas' latest balance published to the scorer's
 * area table when a day closes, as riskd reloads it from risk.area_balance.
 */
#include "replay_int.h"

#include <stdlib.h>
#include <string.h>

#include "../scoring/cstate.h"
#include "scorer.h"

struct replay_area *replay_area_get(struct replay *rp, const char *transformer_id, int create)
{
	if (rp->area_index_cap) {
		size_t mask = rp->area_index_cap - 1;
		size_t s = (size_t)cstate_hash(transformer_id, strlen(transformer_id)) & mask;
		for (; rp->area_index[s]; s = (s + 1) & mask) {
			struct replay_area *a = &rp->areas[rp->area_index[s] - 1];
			if (strcmp(a->id, transformer_id) == 0)
				return a;
		}
	}
	if (!create)
		return NULL;
	if (rp->n_areas == rp->cap_areas) {
		rp->cap_areas = rp->cap_areas ? 2 * rp->cap_areas : 64;
		rp->areas = xrealloc(rp->areas, sizeof(*rp->areas) * rp->cap_areas);
	}
	struct replay_area *a = &rp->areas[rp->n_areas++];
	memset(a, 0, sizeof(*a));
	riskd_strlcpy(a->id, sizeof(a->id), transformer_id, strlen(transformer_id));
	area_history_init(&a->history);
	if (2 * rp->n_areas > rp->area_index_cap) {
		free(rp->area_index);
		rp->area_index_cap = rp->area_index_cap ? 2 * rp->area_index_cap : 128;
		rp->area_index = xcalloc(rp->area_index_cap, sizeof(*rp->area_index));
		for (size_t i = 0; i < rp->n_areas; i++)
			replay_index_put(rp->area_index, rp->area_index_cap, rp->areas[i].id, i);
	} else {
		replay_index_put(rp->area_index, rp->area_index_cap, a->id, rp->n_areas - 1);
	}
	rp->area_order_stale = 1;
	return a;
}

static int cmp_area(const void *x, const void *y)
{
	const struct replay_area *a = *(struct replay_area *const *)x;
	const struct replay_area *b = *(struct replay_area *const *)y;
	return strcmp(a->id, b->id);
}

/* Reloads the scorer's area table from every area with a balanced day, by transformer_id,
 * with the findings of each area's latest attribution. */
static void areas_publish(struct replay *rp)
{
	if (rp->area_order_stale) {
		rp->area_order = xrealloc(rp->area_order, sizeof(*rp->area_order) * (rp->n_areas + 1));
		for (size_t i = 0; i < rp->n_areas; i++)
			rp->area_order[i] = &rp->areas[i];
		qsort(rp->area_order, rp->n_areas, sizeof(*rp->area_order), cmp_area);
		rp->area_order_stale = 0;
	}
	struct area_table *t = scorer_areas(rp->ingest.scorer);
	area_table_reset(t);
	for (size_t i = 0; i < rp->n_areas; i++) {
		const struct replay_area *a = rp->area_order[i];
		if (a->history.n_recent == 0)
			continue;
		struct area_balance b;
		area_history_latest(&a->history, &b);
		riskd_strlcpy(b.transformer_id, sizeof(b.transformer_id), a->id, strlen(a->id));
		replay_attrib_publish(a, &b, t);
		area_table_add(t, &b);
	}
}

/* Balances area a's complete day `day` (sums) and queues its attribution. */
static void balance_area_day(struct replay *rp, struct replay_area *a, int32_t day,
                             const struct area_day *sums)
{
	struct area_day_balance row;
	area_history_balance_day(&a->history, day, sums, a->customers, &row);
	rp->totals.area_days++;
	replay_attrib_mark_due(a);
	if (rp->balance_fn)
		rp->balance_fn(rp->balance_arg, a->id, day, &row);
}

/*
 * The open day is over (the stream reached a later day): balances every area-day of it that
 * is complete - the transformer's readings and every profiled customer of the area cover the
 * whole day, the condition risk.refresh_area_balance checks - and publishes the new balance.
 */
static void balance_open_day(struct replay *rp)
{
	const struct usage_map *feeders = &rp->day_usage.transformer;
	const struct usage_map *usage = &rp->day_usage.usage;
	int changed = 0;

	for (size_t i = 0; i < feeders->count; i++)
		area_day_add_feeder(&replay_area_get(rp, cstate_id(feeders->owners[i]), 1)->day, feeders->rows[i].uwh,
		                    feeders->rows[i].covered_s);
	for (size_t i = 0; i < usage->count; i++) {
		const struct cstate *cs = usage->owners[i];
		const char *transformer_id = cstate_transformer_id(rp->ingest.customers, cs);
		if (!(cs->flags & CSTATE_F_PROFILE) || !transformer_id[0])
			continue;
		struct replay_area *a = replay_area_get(rp, transformer_id, 0);
		if (a)
			area_day_add_customer(&a->day, usage->rows[i].uwh, usage->rows[i].covered_s);
	}
	for (size_t i = 0; i < rp->n_areas; i++) {
		struct replay_area *a = &rp->areas[i];
		a->has_held = 0;
		if (area_day_complete(&a->day, a->customers)) {
			balance_area_day(rp, a, rp->open_day, &a->day);
			changed = 1;
		} else if (a->day.has_feeder) {
			a->held = a->day;
			a->held_day = rp->open_day;
			a->has_held = 1;
		}
		area_day_reset(&a->day);
	}
	if (changed && rp->attrib)
		replay_attrib_day(rp, rp->open_day);
	if (changed)
		areas_publish(rp);
	batch_reset(&rp->day_usage);
}

void replay_balance_advance(struct replay *rp, int32_t day)
{
	if (!rp->has_day) {
		rp->has_day = 1;
		rp->open_day = day;
	} else if (day > rp->open_day) {
		balance_open_day(rp);
		rp->open_day = day;
	}
}

/* Whether cs's sweep closes local day `day` as a day its readings do not cover: its open
 * day is that day and not covered whole, or an earlier one (the days after it close empty). */
static int closes_uncovered(const struct cstate *cs, int32_t day)
{
	if (cs->open_day > day)
		return 0;
	return cs->open_day < day || (cs->flags & CSTATE_F_SILENT) ||
	       cs->open_covered_s < AREA_DAY_SECONDS;
}

void replay_balance_silent_due(void *arg, struct cstate *const *due, size_t n, int32_t through)
{
	struct replay *rp = arg;
	int changed = 0;
	if (!rp->balance)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct cstate *cs = due[i];
		const char *transformer_id = cstate_transformer_id(rp->ingest.customers, cs);
		if (!(cs->flags & CSTATE_F_PROFILE) || !transformer_id[0])
			continue;
		struct replay_area *a = replay_area_get(rp, transformer_id, 0);
		if (!a || !a->has_held || a->held_day != through || !closes_uncovered(cs, through))
			continue;
		area_day_add_silent(&a->held);
		if (area_day_complete(&a->held, a->customers) &&
		    (a->history.n_recent == 0 || a->history.newest_day < through)) {
			balance_area_day(rp, a, through, &a->held);
			a->has_held = 0;
			changed = 1;
		}
	}
	if (changed && rp->attrib)
		replay_attrib_day(rp, through);
	if (changed)
		areas_publish(rp);
}

void replay_balance_profile_moved(struct replay *rp, const char *old_area, const char *new_area)
{
	if (strcmp(old_area, new_area) == 0)
		return;
	if (old_area[0]) {
		struct replay_area *a = replay_area_get(rp, old_area, 0);
		if (a && a->customers > 0)
			a->customers--;
	}
	if (new_area[0])
		replay_area_get(rp, new_area, 1)->customers++;
}

void replay_balance_free(struct replay *rp)
{
	for (size_t i = 0; i < rp->n_areas; i++)
		replay_attrib_area_free(&rp->areas[i]);
	free(rp->areas);
	free(rp->area_index);
	free(rp->area_order);
}

void replay_set_balance_observer(struct replay *rp, replay_balance_fn fn, void *arg)
{
	rp->balance_fn = fn;
	rp->balance_arg = arg;
}

const struct area_table *replay_areas(const struct replay *rp)
{
	return scorer_areas(rp->ingest.scorer);
}
