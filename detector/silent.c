/*
 * silent.c - the per-partition watermark and the sweep that closes silent meters' days
 * (see silent.h).
 */
#include "silent.h"

#include <stdlib.h>
#include <string.h>

#include "../config/riskd_base.h"
#include "../scoring/daily.h"

void silent_sweep_init(struct silent_sweep *sw, int32_t lateness_s)
{
	memset(sw, 0, sizeof(*sw));
	sw->lateness_s = lateness_s;
}

void silent_sweep_free(struct silent_sweep *sw)
{
	free(sw->mark);
	free(sw->due);
	memset(sw, 0, sizeof(*sw));
}

void silent_sweep_forget(struct silent_sweep *sw)
{
	for (size_t i = 0; i < sw->n_partitions; i++)
		sw->mark[i].held = -1;
}

/* The watermark of a known mark: the quorum's newest reading, 0 before any. The quorum is
 * ceil(held / 2), which is SILENT_QUORUM once the mark is full (held = 2 * SILENT_QUORUM - 1,
 * so the partition has that many customers or more). */
static int64_t mark_watermark(const struct silent_mark *mark)
{
	if (mark->held == 0)
		return 0;
	return mark->last_ts[(mark->held + 1) / 2 - 1];
}

/*
 * Notes that customer cs of the mark's partition has last_ts `ts`, which never lowers a
 * customer's. The mark keeps its SILENT_HELD customers with the newest last_ts, newest
 * first; every customer it does not keep is no newer than its oldest. Returns 1 when an
 * entry changed.
 */
static int mark_note(struct silent_mark *mark, const struct cstate *cs, int64_t ts)
{
	/* no newer than the oldest kept: not kept, or kept and unchanged (the common case) */
	if (mark->held == SILENT_HELD && ts <= mark->last_ts[SILENT_HELD - 1])
		return 0;
	int32_t at = 0;
	while (at < mark->held && mark->customer[at] != cs)
		at++;
	if (at == mark->held) { /* not kept: it takes the oldest entry's place, or a free one */
		if (at < SILENT_HELD)
			mark->held++;
		else
			at = SILENT_HELD - 1;
	} else if (mark->last_ts[at] == ts) {
		return 0;
	}
	for (; at > 0 && mark->last_ts[at - 1] < ts; at--) {
		mark->last_ts[at] = mark->last_ts[at - 1];
		mark->customer[at] = mark->customer[at - 1];
	}
	mark->last_ts[at] = ts;
	mark->customer[at] = cs;
	return 1;
}

/* The newest day whose end lies at least the lateness before watermark w; INT32_MIN when no
 * reading was counted yet. */
static int32_t due_day(struct silent_sweep *sw, struct ingest *in, int64_t w)
{
	if (w <= 0)
		return INT32_MIN;
	return localday_of(&in->localday, w - sw->lateness_s) - 1;
}

struct learn_ctx {
	int32_t partition;
	struct silent_mark *mark;
};

static int learn_one(struct cstate *cs, void *arg)
{
	struct learn_ctx *ctx = arg;
	if (cs->partition == ctx->partition && cs->last_ts > 0)
		mark_note(ctx->mark, cs, cs->last_ts);
	return 0;
}

void silent_sweep_before(struct silent_sweep *sw, struct ingest *in, int32_t partition)
{
	if (partition < 0)
		return;
	if ((size_t)partition >= sw->n_partitions) {
		size_t n = (size_t)partition + 1;
		sw->mark = xrealloc(sw->mark, n * sizeof(*sw->mark));
		for (size_t i = sw->n_partitions; i < n; i++)
			sw->mark[i].held = -1;
		sw->n_partitions = n;
	}
	struct silent_mark *mark = &sw->mark[partition];
	if (mark->held >= 0)
		return;
	mark->held = 0;
	struct learn_ctx ctx = {partition, mark};
	cstate_table_foreach(in->customers, learn_one, &ctx);
}

int64_t silent_sweep_watermark(const struct silent_sweep *sw, int32_t partition)
{
	if (partition < 0 || (size_t)partition >= sw->n_partitions || sw->mark[partition].held < 0)
		return INT64_MIN;
	return mark_watermark(&sw->mark[partition]);
}

struct collect_ctx {
	struct silent_sweep *sw;
	int32_t partition, through;
	size_t count;
};

/* Whether cs has a day the sweep closes: an open day through `through`, and for an empty
 * silent one, within SILENT_MAX_DAYS of its last day with readings. */
static int closes(const struct cstate *cs, int32_t through)
{
	if (!(cs->flags & CSTATE_F_HAS_DAY) || cs->open_day > through)
		return 0;
	if (!(cs->flags & CSTATE_F_SILENT) || cs->days_closed == 0)
		return 1;
	return (int64_t)cs->open_day - cs->last_closed_day <= SILENT_MAX_DAYS;
}

static int collect_one(struct cstate *cs, void *arg)
{
	struct collect_ctx *ctx = arg;
	struct silent_sweep *sw = ctx->sw;
	if (cs->partition != ctx->partition || !closes(cs, ctx->through))
		return 0;
	if (ctx->count == sw->due_cap) {
		sw->due_cap = sw->due_cap ? 2 * sw->due_cap : 64;
		sw->due = xrealloc(sw->due, sw->due_cap * sizeof(*sw->due));
	}
	sw->due[ctx->count++] = cs;
	return 0;
}

static int cmp_by_id(const void *x, const void *y)
{
	const struct cstate *a = *(struct cstate *const *)x, *b = *(struct cstate *const *)y;
	return strcmp(cstate_id(a), cstate_id(b));
}

size_t silent_sweep_after(struct silent_sweep *sw, struct ingest *in, int32_t partition,
                          const struct cstate *cs, const struct silent_hooks *hooks)
{
	if (partition < 0 || (size_t)partition >= sw->n_partitions || cs->partition != partition ||
	    cs->last_ts <= 0 || sw->mark[partition].held < 0)
		return 0;
	struct silent_mark *mark = &sw->mark[partition];
	int64_t was = mark_watermark(mark);
	if (!mark_note(mark, cs, cs->last_ts))
		return 0;
	int32_t before = due_day(sw, in, was);
	int32_t through = due_day(sw, in, mark_watermark(mark));
	if (through <= before)
		return 0;
	struct collect_ctx ctx = {sw, partition, through, 0};
	cstate_table_foreach(in->customers, collect_one, &ctx);
	if (ctx.count == 0)
		return 0;
	qsort(sw->due, ctx.count, sizeof(*sw->due), cmp_by_id);
	if (hooks->due)
		hooks->due(hooks->arg, sw->due, ctx.count, through);
	size_t closed = 0;
	for (size_t i = 0; i < ctx.count; i++) {
		struct cstate *due = sw->due[i];
		while (closes(due, through)) {
			int empty = (due->flags & CSTATE_F_SILENT) != 0;
			ingest_close_silent(in, due, &sw->result);
			hooks->closed(hooks->arg, &sw->result);
			closed++;
			sw->empty_days += (uint64_t)empty;
		}
		/* a meter silent past SILENT_MAX_DAYS waits for its next reading, unscored */
		if ((due->flags & CSTATE_F_SILENT) && due->open_day <= through) {
			due->open_day = through + 1;
			cstate_table_mark_dirty(in->customers, due);
		}
	}
	sw->days_closed += closed;
	return closed;
}
