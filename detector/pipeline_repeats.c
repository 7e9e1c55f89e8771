/*
 * pipeline_repeats.c - what the main loop does for input sent again (pipeline_int.h): the
 * coverage of a closed day that a late reading is checked against, read from PostgreSQL
 * into the batch (docs/events.md, "Repeated readings").
 */
#include <stdio.h>
#include <string.h>

#include "../scoring/cstate.h"
#include "health.h"
#include "log.h"
#include "pipeline_int.h"
#include "store.h"

/* ingest's closed_cover hook: the closed day's coverage the batch holds (see
 * pipeline_load_closed_cover). */
static uint16_t *closed_cover(void *arg, const struct cstate *cs, int transformer, int32_t day)
{
	struct pipeline *pl = arg;
	struct batch *b = &committer_current(&pl->committer)->batch;
	return batch_cover(transformer ? &b->transformer : &b->usage, cs, day);
}

/*
 * As declared in pipeline_int.h. Late readings are rare, so this is the one place the main
 * loop reads PostgreSQL per event: after the running commit is done, so what it reads
 * includes every batch before this one.
 */
int pipeline_load_closed_cover(struct pipeline *pl, const struct event *ev)
{
	char errstr[512], qid[160], qerr[1100];
	int transformer = ev->type == EVENT_TRANSFORMER_READING;
	if (ev->type != EVENT_METER_READING && !transformer)
		return 0;
	struct cstate_table *table = transformer ? pl->ingest.transformers : pl->ingest.customers;
	const struct cstate *cs = cstate_table_get(table, ev->entity_id, strlen(ev->entity_id));
	int32_t day = localday_of(&pl->ingest.localday, ev->ts);
	if (!cs || !(cs->flags & CSTATE_F_HAS_DAY) || day >= cs->open_day)
		return 0;
	if (closed_cover(pl, cs, transformer, day))
		return 0;
	int rc = pipeline_finish_commit(pl);
	uint16_t codes[CSTATE_COVER_SLOTS];
	if (rc == 0 && (rc = store_load_cover(pl->store, transformer ? 't' : 'c', cs->id, day,
	                                      codes, errstr, sizeof(errstr))) >= 0) {
		struct batch *b = &committer_current(&pl->committer)->batch;
		batch_set_cover(transformer ? &b->transformer : &b->usage, transformer ? 't' : 'c', cs,
		                day, codes);
		return 0;
	}
	if (!pl->needs_resync) { /* a failed commit was logged, and the resync scheduled */
		log_kv(LOG_WARN, "cover_load_failed", "entity=%s day=%d error=%s",
		       log_quote(qid, sizeof(qid), ev->entity_id), (int)day,
		       log_quote(qerr, sizeof(qerr), errstr));
		health_postgres(rc);
		pipeline_drop_uncommitted(pl);
		pl->needs_resync = 1;
	}
	return rc;
}

/* As declared in pipeline_int.h. */
void pipeline_repeats_init(struct pipeline *pl)
{
	pl->ingest.closed_cover = closed_cover;
	pl->ingest.closed_cover_arg = pl;
}
