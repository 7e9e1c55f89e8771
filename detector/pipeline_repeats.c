/*
 * pipeline_repeats.c - what the main loop does for input sent again (pipeline_int.h): the
 * coverage of a closed day that a late reading is checked against, read from PostgreSQL
 * into the batch; and bills, payments and reversals, recorded with each batch in
 * risk.billing_event_ids, whose repeats a commit finds and the batch read again skips
 * (docs/events.md, "Repeated readings").
 */
#include <stdio.h>
#include <stdlib.h>
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
	if (rc == 0 && (rc = store_load_cover(pl->store, transformer ? 't' : 'c', cstate_id(cs),
	                                      day, codes, errstr, sizeof(errstr))) >= 0) {
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

void pipeline_repeats_free(struct pipeline *pl)
{
	free(pl->repeats.items);
	memset(&pl->repeats, 0, sizeof(pl->repeats));
}

int pipeline_known_repeat(const struct pipeline *pl, const struct kafka_msg *m, int role)
{
	if (role != ROLE_BILLING)
		return 0;
	for (size_t i = 0; i < pl->repeats.count; i++)
		if (pl->repeats.items[i].offset == m->offset &&
		    pl->repeats.items[i].partition == m->partition)
			return 1;
	return 0;
}

/* Adds (billing topic, partition, offset) to the repeat set unless it holds it already. */
static void repeat_add(struct pipeline *pl, int32_t partition, int64_t offset)
{
	struct repeat_set *set = &pl->repeats;
	for (size_t i = 0; i < set->count; i++)
		if (set->items[i].offset == offset && set->items[i].partition == partition)
			return;
	if (set->count == set->cap) {
		set->cap = set->cap ? 2 * set->cap : 16;
		set->items = xrealloc(set->items, sizeof(*set->items) * set->cap);
	}
	set->items[set->count++] =
	    (struct store_repeat){pl->topics[ROLE_BILLING], partition, offset};
}

void pipeline_record_billing(struct pipeline *pl, const struct kafka_msg *m, int role,
                             const struct event *ev, const struct cstate *cs)
{
	const char *kind, *id;
	if (ev->type == EVENT_BILL) {
		kind = "bill";
		id = ev->u.bill.bill_id;
	} else if (ev->type == EVENT_PAYMENT) {
		kind = "payment";
		id = ev->event_id;
	} else if (ev->type == EVENT_PAYMENT_REVERSAL) {
		kind = "payment_reversal";
		id = ev->u.reversal.payment_event_id;
	} else {
		return;
	}
	batch_add_billing_id(&committer_current(&pl->committer)->batch, cs, kind, id,
	                     pl->topics[role], m->partition, m->offset);
}

void pipeline_repeats_found(struct pipeline *pl, struct store_batch *sb)
{
	for (size_t i = 0; i < sb->repeats_found_count; i++) {
		const struct store_repeat_found *f = &sb->repeats_found[i];
		log_kv(LOG_INFO, "billing_repeat", "topic=%s partition=%d offset=%lld", f->topic,
		       (int)f->partition, (long long)f->offset);
		if (strcmp(f->topic, pl->topics[ROLE_BILLING]) == 0)
			repeat_add(pl, f->partition, f->offset);
	}
	free(sb->repeats_found);
	sb->repeats_found = NULL;
	sb->repeats_found_count = 0;
}

static int load_repeat(int32_t partition, int64_t offset, void *arg)
{
	repeat_add(arg, partition, offset);
	return 0;
}

int pipeline_load_repeats(struct pipeline *pl, const int32_t *partitions, int n, char *errstr,
                          size_t errstr_size)
{
	if (n == 0)
		return 0;
	return store_load_repeats(pl->store, pl->topics[ROLE_BILLING], partitions, n, load_repeat,
	                          pl, errstr, errstr_size);
}
