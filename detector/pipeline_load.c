/*
 * pipeline_load.c - an assignment's offsets and state from PostgreSQL, and whether the replay
 * that rebuilds the rest of the state is still going (pipeline_int.h).
 */
#include <stdio.h>
#include <string.h>

#include "../scoring/cstate.h"
#include "open_hours.h"
#include "pipeline_int.h"
#include "store.h"

struct load_ctx {
	struct pipeline *pl;
	struct cstate_table *table;
	char *errstr;
	size_t errstr_size;
};

static int load_snapshot(const char *id, const uint8_t *state, size_t len, void *arg)
{
	struct load_ctx *ctx = arg;
	struct cstate snap;
	if (cstate_decode(ctx->table, id, state, len, &snap, ctx->errstr, ctx->errstr_size) != 0) {
		size_t n = strlen(ctx->errstr);
		snprintf(ctx->errstr + n, ctx->errstr_size - n, " (entity '%s')", id);
		return RISKD_ERR_INVALID;
	}
	struct cstate *cs = cstate_table_upsert(ctx->table, id, strlen(id), snap.partition, NULL);
	snap.flags &= (uint8_t)~CSTATE_F_DIRTY;
	*cs = snap;
	return 0;
}

/* The open-day hours stored with a snapshot, for the entity's restored open day. */
static int load_open_hours(const char *id, int32_t day, const struct daily_hours *hours,
                           void *arg)
{
	struct load_ctx *ctx = arg;
	const struct cstate *cs = cstate_table_get(ctx->table, id, strlen(id));
	if (cs && (cs->flags & CSTATE_F_HAS_DAY) && cs->open_day == day)
		open_hours_set(ctx->pl->open_hours, cs, ctx->table == ctx->pl->ingest.transformers, day,
		               hours);
	return 0;
}

static int load_assignment(struct pipeline *pl, int from, char *errstr, size_t errstr_size)
{
	int32_t cust[PARTITIONS_MAX], trans[PARTITIONS_MAX];
	int ncust = 0, ntrans = 0, rc;
	static uint8_t seen[PARTITIONS_MAX];

	memset(seen, 0, sizeof(seen));
	silent_sweep_forget(&pl->silent); /* learned again from the loaded state */
	int64_t now = now_ms();
	for (int i = from; i < pl->part_count; i++) {
		struct part *p = &pl->parts[i];
		rc = store_load_offset(pl->store, pl->cfg->kafka_group_id, pl->topics[p->role],
		                       p->partition, &p->committed, &p->state_committed, errstr,
		                       errstr_size);
		if (rc)
			return rc;
		p->pending = p->state_committed;
		/* spread the partitions' checkpoints over the interval */
		p->checkpoint_due_ms = now + (int64_t)pl->cfg->checkpoint_interval_ms * (i - from + 1) /
		                                 (pl->part_count - from);
		if (p->role == ROLE_TRANSFORMER)
			trans[ntrans++] = p->partition;
		else if (!seen[p->partition]++)
			cust[ncust++] = p->partition;
	}
	pl->feedback_seq = 0; /* re-apply every confirmation to the newly loaded customers */
	struct load_ctx ctx = {pl, pl->ingest.customers, errstr, errstr_size};
	if (ncust && ((rc = pipeline_load_repeats(pl, cust, ncust, errstr, errstr_size)) ||
	              (rc = store_load_snapshots(pl->store, 'c', cust, ncust, load_snapshot, &ctx,
	                                         errstr, errstr_size)) ||
	              (rc = store_load_open_hours(pl->store, 'c', cust, ncust, load_open_hours, &ctx,
	                                          errstr, errstr_size)) ||
	              (rc = pipeline_side_load(pl, cust, ncust, errstr, errstr_size))))
		return rc;
	ctx.table = pl->ingest.transformers;
	if (ntrans && ((rc = store_load_snapshots(pl->store, 't', trans, ntrans, load_snapshot, &ctx,
	                                          errstr, errstr_size)) ||
	               (rc = store_load_open_hours(pl->store, 't', trans, ntrans, load_open_hours,
	                                           &ctx, errstr, errstr_size))))
		return rc;
	return 0;
}

/* Loads offsets and state for the assigned partitions parts[from..], all as of one moment:
 * in one repeatable-read transaction, so that another instance's commit cannot land between
 * the offsets and the snapshots read. Returns 0 or a riskd_err. */
int pipeline_load_assignment(struct pipeline *pl, int from, char *errstr, size_t errstr_size)
{
	int rc = store_read_begin(pl->store, errstr, errstr_size);
	if (rc)
		return rc;
	return store_read_end(pl->store, load_assignment(pl, from, errstr, errstr_size), errstr,
	                      errstr_size);
}

int pipeline_replay_pending(const struct pipeline *pl)
{
	for (int i = 0; i < pl->part_count; i++) {
		const struct part *p = &pl->parts[i];
		int64_t at = p->pending >= 0 ? p->pending
		                             : p->state_committed > 0 ? p->state_committed : 0;
		if (at < p->committed)
			return 1;
	}
	return 0;
}
