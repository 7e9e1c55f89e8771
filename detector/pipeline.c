/*
 * pipeline.c - the detector's loop: Kafka batch -> decode/validate -> per-customer state ->
 * one PostgreSQL transaction (results, snapshots, offsets) -> outbox relay.
 *
 * Input topics are co-partitioned: every customer-keyed topic has the same partition count
 * and the consumer assigns partition p of the billing and profile topics with partition p of
 * the readings topic (streams/kafka_consumer.c), so a customer's readings, bills and profile
 * meet in one instance whatever the assignor. Customer state rows carry that partition
 * number; transformer state rows carry the transformer topic's partition. A rebalance hands
 * over only the partitions that change owner (all of them with an eager assignor): the state
 * of revoked partitions is committed and dropped, that of assigned ones loaded, and the rest
 * stays in memory.
 */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../scoring/cstate.h"
#include "../scoring/daily.h"
#include "../scoring/localday.h"
#include "../streams/event.h"
#include "../streams/kafka.h"
#include "attributor.h"
#include "rescore.h"
#include "batch.h"
#include "committer.h"
#include "grader.h"
#include "health.h"
#include "ingest.h"
#include "scorer.h"
#include "log.h"
#include "metrics.h"
#include "open_hours.h"
#include "pipeline_int.h"
#include "store.h"

static const char *const role_event_types[ROLE__COUNT] = {
	"meter_reading or meter_event", "bill, payment or payment_reversal", "customer",
	"transformer_reading",
};

/* The batch being filled. */
static struct batch *cur_batch(struct pipeline *pl)
{
	return &committer_current(&pl->committer)->batch;
}

static int role_of_topic(const struct pipeline *pl, const char *topic)
{
	for (int r = 0; r < ROLE__COUNT; r++)
		if (strcmp(pl->topics[r], topic) == 0)
			return r;
	return -1;
}

static int role_accepts(enum topic_role role, enum event_type type)
{
	switch (role) {
	case ROLE_READINGS: return type == EVENT_METER_READING || type == EVENT_METER_EVENT;
	case ROLE_BILLING:
		return type == EVENT_BILL || type == EVENT_PAYMENT || type == EVENT_PAYMENT_REVERSAL;
	case ROLE_PROFILES: return type == EVENT_CUSTOMER;
	case ROLE_TRANSFORMER: return type == EVENT_TRANSFORMER_READING;
	default: return 0;
	}
}

static struct part *part_find(struct pipeline *pl, int role, int32_t partition)
{
	if (role < 0 || partition < 0 || partition >= PARTITIONS_MAX)
		return NULL;
	int idx = pl->part_index[role][partition];
	return idx ? &pl->parts[idx - 1] : NULL;
}

static int group_of_role(int role)
{
	return role == ROLE_TRANSFORMER ? GROUP_TRANSFORMERS : GROUP_CUSTOMERS;
}

/*
 * Tells Kafka the offsets PostgreSQL holds for the newly loaded partitions parts[from..], so
 * that lag tools see the new owner's position at once: the previous owner's commit at its
 * revoke can be refused while the group rebalances, and a partition without new input would
 * otherwise keep an older (or no) committed offset until its next message.
 */
static void commit_loaded_offsets(struct pipeline *pl, int from)
{
	int n = 0;
	struct kafka_partition loaded[pl->part_count > from ? pl->part_count - from : 1];
	for (int i = from; i < pl->part_count; i++)
		if (pl->parts[i].committed >= 0)
			loaded[n++] = (struct kafka_partition){pl->topics[pl->parts[i].role],
			                                       pl->parts[i].partition,
			                                       pl->parts[i].committed};
	kafka_consumer_commit_async(pl->consumer, loaded, n);
}

/* Forgets revoked partitions: their parts[] entries and their entities' state. */
static void parts_remove(struct pipeline *pl, const struct kafka_partition *tps, int n)
{
	for (int i = 0; i < n; i++) {
		int role = role_of_topic(pl, tps[i].topic);
		struct part *p = part_find(pl, role, tps[i].partition);
		if (!p)
			continue;
		int group = group_of_role(role);
		/* the open-day hours point at the entities: forget them first */
		open_hours_remove_partition(pl->open_hours, group == GROUP_TRANSFORMERS, p->partition);
		if (group == GROUP_CUSTOMERS)
			pipeline_side_forget_partition(pl, p->partition);
		cstate_table_remove_partition(group == GROUP_TRANSFORMERS ? pl->ingest.transformers
		                                                          : pl->ingest.customers,
		                              p->partition);
		if (group == GROUP_CUSTOMERS)
			grader_forget_partition(pl->ingest.grader, p->partition);
		pl->checkpoint_now[group][p->partition] = 0;
		pl->replaying[group][p->partition] = 0;
		pl->open_days_owed[group][p->partition] = 0;
		pl->part_index[role][p->partition] = 0;
		struct part *last = &pl->parts[--pl->part_count];
		if (p != last) {
			*p = *last;
			pl->part_index[p->role][p->partition] = (int16_t)(p - pl->parts + 1);
		}
	}
}

/* Forgets everything not yet committed: the batch and all in-memory state. */
static void drop_uncommitted(struct pipeline *pl)
{
	struct commit_job *running = committer_wait(&pl->committer);
	if (running) /* its outcome no longer matters: state is reloaded from PostgreSQL */
		committer_release(&pl->committer, running);
	batch_reset(cur_batch(pl));
	scorer_rule_counts_reset(pl->ingest.scorer);
	pipeline_operating_rule_counts_reset(pl);
	cstate_table_clear(pl->ingest.customers);
	cstate_table_clear(pl->ingest.transformers);
	open_hours_clear(pl->open_hours);
	pipeline_side_clear(pl);
	grader_forget_all(pl->ingest.grader);
	silent_sweep_forget(&pl->silent);
	memset(pl->open_days_owed, 0, sizeof(pl->open_days_owed)); /* the reload replays again */
	for (int i = 0; i < pl->part_count; i++)
		pl->parts[i].pending = pl->parts[i].state_committed;
}

/* ---- state loading ---- */

static void set_fatal(struct pipeline *pl, const char *msg)
{
	pl->fatal = 1;
	snprintf(pl->fatal_msg, sizeof(pl->fatal_msg), "%s", msg);
}

/*
 * Reloads state and offsets of the whole assignment from PostgreSQL and seeks there.
 * Returns 0, or a riskd_err (RISKD_ERR_UNAVAILABLE: try again later).
 */
static int resync(struct pipeline *pl)
{
	char errstr[512];
	int rc;

	kafka_consumer_pause_all(pl->consumer, 1);
	drop_uncommitted(pl);
	if ((rc = store_ensure(pl->store, errstr, sizeof(errstr))) ||
	    (rc = pipeline_load_assignment(pl, 0, errstr, sizeof(errstr)))) {
		cstate_table_clear(pl->ingest.customers);
		cstate_table_clear(pl->ingest.transformers);
		open_hours_clear(pl->open_hours);
		pipeline_side_clear(pl);
		if (rc == RISKD_ERR_UNAVAILABLE) {
			char q[600];
			log_kv(LOG_WARN, "resync_failed", "error=%s", log_quote(q, sizeof(q), errstr));
		} else {
			set_fatal(pl, errstr);
		}
		health_postgres(rc);
		return rc;
	}
	struct kafka_partition seek[pl->part_count > 0 ? pl->part_count : 1];
	for (int i = 0; i < pl->part_count; i++) {
		seek[i].topic = pl->topics[pl->parts[i].role];
		seek[i].partition = pl->parts[i].partition;
		seek[i].offset = pl->parts[i].state_committed >= 0 ? pl->parts[i].state_committed
		                                                    : KAFKA_OFFSET_BEGINNING;
	}
	if (pl->part_count && kafka_consumer_seek(pl->consumer, seek, pl->part_count, errstr,
	                                          sizeof(errstr)) != 0) {
		char q[600];
		log_kv(LOG_WARN, "seek_failed", "error=%s", log_quote(q, sizeof(q), errstr));
		return RISKD_ERR_UNAVAILABLE;
	}
	kafka_consumer_pause_all(pl->consumer, 0);
	pl->needs_resync = 0;
	pl->totals.resyncs++;
	pl->last_message_ms = now_ms(); /* --until-idle counts from here, not from before the outage */
	health_loaded(pl->last_message_ms);
	log_kv(LOG_INFO, "resynced", "partitions=%d customers=%zu transformers=%zu", pl->part_count,
	       cstate_table_count(pl->ingest.customers), cstate_table_count(pl->ingest.transformers));
	return 0;
}

/* The producer learns the output topics' leaders at startup rather than at the first
 * relay, which would otherwise wait about a second for them while the next batch waits for
 * the relay. A topic the brokers do not know is reported: its messages wait in risk.outbox,
 * and are published once it exists. */
static void prepare_outputs(struct pipeline *pl)
{
	const char *const outputs[] = {pl->cfg->topic_review_queue, pl->cfg->topic_credit_grades,
	                               pl->cfg->topic_dead_letter};
	char why[512], q[600];
	int unknown = kafka_producer_prepare(pl->producer, outputs, 3, OUTPUT_METADATA_MS, why,
	                                     sizeof(why));
	if (unknown > 0)
		log_kv(LOG_WARN, "output_topics_unknown", "count=%d error=%s", unknown,
		       log_quote(q, sizeof(q), why));
}

/* ---- committing ---- */

/* Whether input has paused, after a poll that returned nothing: the consumer has read every
 * message it knows of (no assigned partition is known to hold messages past its position), or
 * nothing has come for INPUT_PAUSED_AFTER_MS whatever it knows (partitions held back by the
 * read order, a broker that stopped answering). An empty poll with messages known to be left
 * is librdkafka's queue running dry while a fetch is on its way, not a quiet spell. */
static int input_paused(struct pipeline *pl, int64_t now)
{
	if (now - pl->last_message_ms >= INPUT_PAUSED_AFTER_MS)
		return 1;
	struct kafka_lag lag;
	kafka_consumer_lag(pl->consumer, &lag);
	return lag.messages == 0;
}

/* Sets the lag gauges and updates the stall watch (and readiness) with the lag now; fills
 * lag. */
static void report_lag(struct pipeline *pl, int64_t now, struct kafka_lag *lag)
{
	kafka_consumer_lag(pl->consumer, lag);
	metrics_set_lag(lag->messages, (uint32_t)pl->part_count);
	health_watch_update(&pl->health, now, pl->totals.messages, lag);
}

struct checkpoint_ctx {
	const uint8_t *due;                /* pl->checkpoint_now[group] */
	const uint8_t *replaying;          /* pl->replaying[group] */
	struct batch *batch;
	const struct cstate_table *table;
	const struct open_hours *open_hours;
	char kind;                         /* 'c' or 't' */
	uint8_t *owed;                     /* pl->open_days_owed[group] */
};

/* Whether the entity's open day holds readings (one opened by the silent sweep holds none
 * yet, and has no usage row to write). */
static int has_reading_day(const struct cstate *cs)
{
	return (cs->flags & (CSTATE_F_HAS_DAY | CSTATE_F_SILENT)) == CSTATE_F_HAS_DAY;
}

/*
 * cstate_table_drain_dirty taker: a dirty entity of a group being checkpointed goes into
 * the batch, with its open day's usage so far (what the snapshot holds of it). While the
 * group is still replaying, the open day waits: the stored row may be ahead of the state (the
 * day may even have closed and been written whole), or missing (the first pass writes an open
 * day only at its checkpoints, and may have died before the next). The group then owes its
 * open days, which open_days_after_replay marks for the first checkpoint after the replay.
 */
static int checkpoint_entity(struct cstate *cs, void *arg)
{
	struct checkpoint_ctx *ctx = arg;
	if (!ctx->due[cs->partition])
		return 0;
	struct usage_map *map = ctx->kind == 't' ? &ctx->batch->transformer : &ctx->batch->usage;
	const struct daily_hours *hours = open_hours_get(ctx->open_hours, cs, cs->open_day);
	batch_add_snapshot(ctx->batch, ctx->kind, ctx->table, cs);
	if ((cs->flags & CSTATE_F_HAS_DAY) && hours)
		batch_add_snapshot_hours(ctx->batch, cs->open_day, hours);
	if (!has_reading_day(cs))
		return 1;
	if (ctx->replaying[cs->partition]) {
		ctx->owed[cs->partition] = 1;
		return 1;
	}
	batch_set_usage(map, cs, cs->open_day, cs->open_uwh, cs->open_readings, cs->open_covered_s);
	if (hours)
		batch_set_hours(map, cs, cs->open_day, hours);
	return 1;
}

struct owed_ctx {
	struct cstate_table *table;
	int32_t partition;
};

/* cstate_table_foreach callback: marks an entity of the partition with an open day. */
static int mark_open_day(struct cstate *cs, void *arg)
{
	struct owed_ctx *ctx = arg;
	if (cs->partition == ctx->partition && has_reading_day(cs))
		cstate_table_mark_dirty(ctx->table, cs);
	return 0;
}

/*
 * A message just brought p to its committed offset: when that ends its group's replay and a
 * checkpoint during the replay left open days unwritten, marks every open day of the group's
 * partition for the next checkpoint, which writes them as an undisturbed run would (the state
 * is where the first pass's results end). Once per replay, O(entities).
 */
static void open_days_after_replay(struct pipeline *pl, const struct part *p)
{
	int group = group_of_role(p->role);
	if (!pl->open_days_owed[group][p->partition])
		return;
	for (int role = 0; role < ROLE__COUNT; role++) {
		const struct part *q = group_of_role(role) == group ? part_find(pl, role, p->partition)
		                                                     : NULL;
		if (q && q->pending < q->committed)
			return; /* another topic of the group is still replaying */
	}
	pl->open_days_owed[group][p->partition] = 0;
	struct owed_ctx ctx = {group == GROUP_TRANSFORMERS ? pl->ingest.transformers
	                                                   : pl->ingest.customers,
	                       p->partition};
	cstate_table_foreach(ctx.table, mark_open_day, &ctx);
}

/*
 * Chooses the groups the sealing batch checkpoints - all of them when `all` is set or the
 * interval is 0, else those with a partition whose time has come - notes which of them are
 * still replaying, and moves their next checkpoint one interval on.
 */
static void choose_checkpoints(struct pipeline *pl, int64_t now, int all)
{
	all |= pl->cfg->checkpoint_interval_ms == 0;
	for (int i = 0; i < pl->part_count; i++) {
		int g = group_of_role(pl->parts[i].role);
		pl->checkpoint_now[g][pl->parts[i].partition] = 0;
		pl->replaying[g][pl->parts[i].partition] = 0;
	}
	for (int i = 0; i < pl->part_count; i++) {
		const struct part *p = &pl->parts[i];
		int g = group_of_role(p->role);
		if (all || now >= p->checkpoint_due_ms)
			pl->checkpoint_now[g][p->partition] = 1;
		if (p->pending < p->committed)
			pl->replaying[g][p->partition] = 1;
	}
	for (int i = 0; i < pl->part_count; i++) {
		struct part *p = &pl->parts[i];
		if (pl->checkpoint_now[group_of_role(p->role)][p->partition])
			p->checkpoint_due_ms = now + pl->cfg->checkpoint_interval_ms;
	}
}

/* Whether state changed since its checkpoint. */
static int has_dirty_state(const struct pipeline *pl)
{
	return cstate_table_dirty_count(pl->ingest.customers) ||
	       cstate_table_dirty_count(pl->ingest.transformers);
}

/*
 * Seals the batch being filled - its results, offsets, per-rule counts, metadata, and the
 * checkpoint of the groups whose time has come, or of all of them with checkpoint_all
 * (snapshots of their changed entities, encoded now, and their state offsets) - and starts
 * its commit on the worker thread; the next messages go into the other batch. Nothing may be
 * committing. Returns 1 when it started a commit, 0 when there was nothing to commit.
 */
static int seal_and_start(struct pipeline *pl, int64_t now, int checkpoint_all)
{
	struct commit_job *job = committer_current(&pl->committer);
	struct store_batch *sb = &job->sb;
	size_t noff = 0;

	choose_checkpoints(pl, now, checkpoint_all);
	struct checkpoint_ctx customers = {pl->checkpoint_now[GROUP_CUSTOMERS],
	                                   pl->replaying[GROUP_CUSTOMERS], &job->batch,
	                                   pl->ingest.customers, pl->open_hours, 'c',
	                                   pl->open_days_owed[GROUP_CUSTOMERS]};
	struct checkpoint_ctx transformers = {pl->checkpoint_now[GROUP_TRANSFORMERS],
	                                      pl->replaying[GROUP_TRANSFORMERS], &job->batch,
	                                      pl->ingest.transformers, pl->open_hours, 't',
	                                      pl->open_days_owed[GROUP_TRANSFORMERS]};
	cstate_table_drain_dirty(pl->ingest.customers, checkpoint_entity, &customers);
	pipeline_side_checkpoint(pl, &job->batch);
	cstate_table_drain_dirty(pl->ingest.transformers, checkpoint_entity, &transformers);
	/* snapshots are fenced by every partition of the groups they checkpoint, moved or not:
	 * a snapshot taken from state another instance has moved past since this one loaded it
	 * must not land over that instance's newer one */
	int fence_all = job->batch.snapshot_count > 0;
	commit_job_reserve_offsets(job, (size_t)(pl->part_count > 0 ? pl->part_count : 1));
	for (int i = 0; i < pl->part_count; i++) {
		struct part *p = &pl->parts[i];
		int checkpoint = pl->checkpoint_now[group_of_role(p->role)][p->partition];
		/* results move only forward: a replay below committed leaves them */
		int moves = p->pending > p->committed;
		int state_moves = checkpoint && p->pending >= 0 && p->pending != p->state_committed;
		int fences = checkpoint && fence_all && p->committed >= 0;
		if (moves || state_moves || fences)
			job->offsets[noff++] = (struct store_offset){
			    pl->topics[p->role], p->partition, p->committed, p->state_committed,
			    moves ? p->pending : p->committed, state_moves, p->pending};
	}
	if (noff == 0 && !batch_has_rows(&job->batch) && job->batch.snapshot_count == 0)
		return 0;
	batch_to_store(&job->batch, sb);
	sb->consumer_group = pl->cfg->kafka_group_id;
	sb->offsets = job->offsets;
	sb->offset_count = noff;
	const struct ruleset *rules = scorer_rules(pl->ingest.scorer);
	sb->ruleset_name = ruleset_name(rules);
	sb->ruleset_version = ruleset_version(rules);
	sb->ruleset_hash = ruleset_hash(rules);
	sb->alert_threshold = ruleset_alert_threshold(rules);
	sb->rule_count_count =
	    store_rule_counts_fill(rules, scorer_rule_counts(pl->ingest.scorer), job->rule_counts);
	sb->rule_count_count += pipeline_operating_rule_counts(pl, job->rule_counts +
	                                                           sb->rule_count_count);
	sb->rule_counts = job->rule_counts;
	sb->review_topic = pl->cfg->topic_review_queue;
	sb->tariffs = &pl->cfg->tariffs;
	sb->tariff_currency = pl->cfg->tariff_currency;
	sb->credit_policy = pl->credit_policy;
	sb->grades_topic = pl->cfg->topic_credit_grades;
	/* the area balance reads whole area-days: under load, every few seconds */
	job->drain = pl->drain_pending && now - pl->last_drain_ms >= AREA_DRAIN_EVERY_MS;
	if (job->drain) {
		pl->drain_pending = 0;
		pl->last_drain_ms = now;
	}
	/* what the batch changed is captured: the next batch starts from here */
	scorer_rule_counts_reset(pl->ingest.scorer);
	pipeline_operating_rule_counts_reset(pl);
	committer_start(&pl->committer);
	return 1;
}

/*
 * Waits for the running commit, if any, and applies its outcome: on success the offsets
 * become committed (and are committed to Kafka too, for lag monitoring); on failure logs,
 * counts, drops everything not committed and schedules a resync. Returns 0 or the commit's
 * riskd_err.
 */
static int finish_commit(struct pipeline *pl)
{
	if (committer_busy(&pl->committer)) {
		/* /readyz judges a long wait by the lag as it grows: librdkafka keeps fetching, so
		 * the gauge and readiness follow it each second of the wait (the stall watch does
		 * not: waiting for PostgreSQL is not an input stall) */
		struct kafka_lag lag;
		report_lag(pl, now_ms(), &lag);
		while (!committer_await(&pl->committer, 1000)) {
			kafka_consumer_lag(pl->consumer, &lag);
			metrics_set_lag(lag.messages, (uint32_t)pl->part_count);
			health_ready_lag(now_ms(), &lag);
		}
	}
	struct commit_job *job = committer_wait(&pl->committer);
	if (!job)
		return 0;
	struct store_batch *sb = &job->sb;
	int rc = job->rc;
	if (rc == STORE_REPEATS) { /* read the batch again, skipping the repeats it found */
		pipeline_repeats_found(pl, sb);
		committer_release(&pl->committer, job);
		drop_uncommitted(pl);
		pl->needs_resync = 1;
		return rc;
	}
	if (rc) {
		char q[1100];
		metrics_commit_failed();
		log_kv(rc == RISKD_ERR_IO ? LOG_ERROR : LOG_WARN, "commit_failed", "error=%s reason=%s",
		       log_quote(q, sizeof(q), job->errstr), riskd_err2str(rc));
		if (rc == RISKD_ERR_IO)
			set_fatal(pl, job->errstr);
		health_postgres(rc);
		committer_release(&pl->committer, job);
		drop_uncommitted(pl);
		pl->needs_resync = 1;
		return rc;
	}
	metrics_commit_observe(job->seconds);
	metrics_batch_committed(job->batch.messages);
	for (int i = 0; i < sb->alerts_opened; i++)
		metrics_alert_raised(i < sb->no_data_opened ? METRICS_ALERT_NO_DATA : METRICS_ALERT_THEFT);
	for (int i = 0; i < sb->op_alerts_opened; i++)
		metrics_alert_raised(METRICS_ALERT_OPERATING_RISK);
	for (size_t i = 0; i < sb->grade_count; i++)
		metrics_grade_changed();
	pl->rescore_pending |= sb->pending_count > 0;
	pl->totals.alerts_opened += (uint64_t)sb->alerts_opened;
	pl->totals.alerts_updated += (uint64_t)(sb->alert_count - (size_t)sb->alerts_opened);
	pl->totals.grade_changes += sb->grade_count;
	pl->totals.published += (uint64_t)job->published;
	pl->totals.batches++;
	if (job->relay_rc)
		pl->relay_pending = 1;
	if (job->drain && job->drained > 0)
		pl->areas_stale = pl->attrib_pending = pl->rescore_pending = 1;
	pl->drain_pending = 1; /* this batch's days (or a failed drain) may leave area-days queued */
	log_kv(LOG_DEBUG, "batch_committed",
	       "messages=%zu replayed=%zu usage_rows=%zu snapshots=%zu grade_changes=%zu ms=%.1f",
	       job->batch.messages, job->batch.replayed, sb->usage_count, sb->snapshot_count,
	       sb->grade_count, job->seconds * 1000);
	struct kafka_partition done[sb->offset_count > 0 ? sb->offset_count : 1];
	for (size_t i = 0; i < sb->offset_count; i++) {
		const struct store_offset *o = &sb->offsets[i];
		struct part *p = part_find(pl, role_of_topic(pl, o->topic), o->partition);
		if (p) {
			p->committed = o->next;
			if (o->state_moved)
				p->state_committed = o->state_next;
		}
		done[i] = (struct kafka_partition){o->topic, o->partition, o->next};
	}
	kafka_consumer_commit_async(pl->consumer, done, (int)sb->offset_count);
	committer_release(&pl->committer, job);
	health_postgres(0);
	if (sb->offset_count)
		health_committed(now_ms());
	return 0;
}

/* Commits everything applied so far, with a checkpoint of all state when `checkpoint_all`
 * (before partitions are released), and waits for it. Returns 0, or the commit's riskd_err
 * (a resync is scheduled). */
static int commit_or_resync(struct pipeline *pl, int checkpoint_all)
{
	int rc = finish_commit(pl);
	if (rc)
		return rc;
	return seal_and_start(pl, now_ms(), checkpoint_all) ? finish_commit(pl) : 0;
}

/* ---- outbox relay ---- */

/* Publishes pending outbox rows (nothing may be committing). Returns 0 when all were
 * published, or a negative riskd_err (the rows stay for the next try). */
static int relay_outbox(struct pipeline *pl)
{
	int64_t n = committer_relay(&pl->committer);
	if (n > 0)
		pl->totals.published += (uint64_t)n;
	return n < 0 ? (int)n : 0;
}

/* Reloads the scorer's area table from risk.area_balance when a balance changed it (nothing
 * may be committing). Returns 0, or RISKD_ERR_UNAVAILABLE (it stays stale for the next try). */
static int reload_areas(struct pipeline *pl)
{
	char errstr[512];
	if (!pl->areas_stale)
		return 0;
	if (store_load_areas(pl->store, scorer_areas(pl->ingest.scorer), errstr, sizeof(errstr)) < 0) {
		char q[600];
		log_kv(LOG_WARN, "area_load_failed", "error=%s", log_quote(q, sizeof(q), errstr));
		return RISKD_ERR_UNAVAILABLE;
	}
	pl->areas_stale = 0;
	return 0;
}

/* Balances the area-days committed batches queued. Returns 0, or a negative riskd_err (the
 * queue stays in PostgreSQL for the next drain, by this or another instance). */
static int drain_area_balance(struct pipeline *pl)
{
	char errstr[512];
	int n = store_drain_area_balance(pl->store, errstr, sizeof(errstr));
	if (n < 0) {
		char q[600];
		log_kv(LOG_WARN, "area_balance_failed", "error=%s", log_quote(q, sizeof(q), errstr));
		return n;
	}
	if (n > 0) {
		log_kv(LOG_DEBUG, "area_balance", "area_days=%d", n);
		pl->areas_stale = pl->attrib_pending = pl->rescore_pending = 1;
	}
	return reload_areas(pl);
}

/* Attributes queued area-windows (nothing may be committing) for up to budget_ms, at most
 * max_windows of them. The area table takes the new findings with its next reload. Returns 0,
 * or a negative riskd_err (logged; the windows stay queued for the next step). */
static int attribute(struct pipeline *pl, int budget_ms, int max_windows, int64_t now)
{
	char errstr[512];
	struct attributor_step done;
	pl->last_attrib_ms = now;
	int rc = attributor_step(pl->attributor, pl->store, budget_ms, max_windows, &done, errstr,
	                         sizeof(errstr));
	if (rc != 0) {
		char q[600];
		log_kv(LOG_WARN, "attribution_failed", "error=%s", log_quote(q, sizeof(q), errstr));
		return rc;
	}
	pl->findings_stale |= done.solved > 0;
	pl->rescore_pending |= done.solved + done.dropped > 0;
	pl->attrib_pending = done.more;
	return 0;
}

/* A store call besides commits failed with rc: a lost PostgreSQL is reconnected through a
 * resync, with its back-off (and counted), rather than tried again on every turn. */
static void resync_if_lost(struct pipeline *pl, int rc)
{
	if (rc != RISKD_ERR_UNAVAILABLE)
		return;
	health_postgres(rc);
	pl->needs_resync = 1;
}

/*
 * The store's work besides commits, done while nothing commits: the area table after a
 * balance, and the analysts' confirmed-theft feedback every couple of seconds (its regrades
 * go into the batch being filled).
 */
static void between_commits(struct pipeline *pl, int64_t now)
{
	/* new findings reach the area table with the next reload, every few seconds at most */
	if (pl->findings_stale && now - pl->last_findings_ms >= AREA_DRAIN_EVERY_MS) {
		pl->areas_stale = 1;
		pl->findings_stale = 0;
		pl->last_findings_ms = now;
	}
	reload_areas(pl);
	/* a confirmation is applied to the customers in state, so it waits for the replay to
	 * rebuild them (a load re-reads every confirmation) */
	if (now - pl->last_feedback_ms >= FEEDBACK_EVERY_MS && !pipeline_replay_pending(pl)) {
		pl->last_feedback_ms = now;
		/* the feedback poll is how an idle riskd notices a lost PostgreSQL: reconnect and
		 * reload through a resync, with its back-off */
		resync_if_lost(pl, pipeline_apply_feedback(pl));
	}
}

/* ---- per-message work ---- */

static void dead_letter(struct pipeline *pl, const struct kafka_msg *m, const char *topic,
                        enum event_reject reason, const char *message, const char *type_name)
{
	static const char *const names[4] = {"x-error", "x-source-topic", "x-source-partition",
	                                     "x-source-offset"};
	char part[16], off[24];
	snprintf(part, sizeof(part), "%d", (int)m->partition);
	snprintf(off, sizeof(off), "%lld", (long long)m->offset);
	const char *values[4] = {message, m->topic, part, off};
	batch_add_outbox(cur_batch(pl), pl->cfg->topic_dead_letter, m->key, m->key_len, m->payload,
	                 m->len, names, values, 4);
	batch_count(cur_batch(pl), topic, m->partition, type_name, "dead_letter");
	metrics_dead_letter(reason);
	pl->totals.dead_letter++;
}

/* Validation that needs the message's coordinates: key and topic must match the event. */
static enum event_reject check_routing(const struct kafka_msg *m, enum topic_role role,
                                       const struct event *ev, const char *topic, char *errstr,
                                       size_t errstr_size)
{
	size_t id_len = strlen(ev->entity_id);
	if (!role_accepts(role, ev->type)) {
		snprintf(errstr, errstr_size, "type %s does not belong on topic '%s' (expects %s)",
		         event_type_name(ev->type), topic, role_event_types[role]);
		return EVENT_REJECT_WRONG_TOPIC;
	}
	if (m->key_len != id_len || memcmp(m->key, ev->entity_id, id_len) != 0) {
		snprintf(errstr, errstr_size, "message key %s does not match %s '%s'",
		         m->key_len ? "differs and" : "is missing and",
		         ev->type == EVENT_TRANSFORMER_READING ? "transformer_id" : "customer_id",
		         ev->entity_id);
		return EVENT_REJECT_KEY_MISMATCH;
	}
	return EVENT_REJECT_NONE;
}

/* As declared in pipeline_int.h. */
int pipeline_finish_commit(struct pipeline *pl)
{
	return finish_commit(pl);
}

/* As declared in pipeline_int.h. */
void pipeline_drop_uncommitted(struct pipeline *pl)
{
	drop_uncommitted(pl);
}

/*
 * Applies a message whose results are stored already (it lies between the partition's state
 * checkpoint and its committed offset) to state only: no usage, alerts, grades, profiles,
 * counts, dead letters or metrics, which the first pass produced.
 */
static void replay_message(struct pipeline *pl, const struct kafka_msg *m, int role)
{
	char errstr[512];
	struct event *ev = &pl->event;
	struct ingest_result r;

	cur_batch(pl)->replayed++;
	pl->totals.replayed++;
	if (event_decode(m->payload, m->len, ev, errstr, sizeof(errstr)) != EVENT_REJECT_NONE ||
	    check_routing(m, (enum topic_role)role, ev, pl->topics[role], errstr, sizeof(errstr)) !=
	        EVENT_REJECT_NONE ||
	    pipeline_attributes_check(pl, m, ev, errstr, sizeof(errstr)) != EVENT_REJECT_NONE)
		return; /* it was dead-lettered */
	pipeline_grade_before_billing(pl, ev, m->partition, 1); /* as the first pass did, repeat or not */
	if (pipeline_known_repeat(pl, m, role))
		return; /* skipped as a repeat */
	/* the first pass checked a late reading against its closed day's coverage, which now
	 * holds what it did: the state replays it unchecked (only its models' input) */
	scorer_set_counting(pl->ingest.scorer, 0);
	uint16_t *(*hook)(void *, const struct cstate *, int, int32_t) = pl->ingest.closed_cover;
	pl->ingest.closed_cover = NULL;
	pipeline_silent_before(pl, ev, m->partition);
	ingest_event(&pl->ingest, ev, m->partition, &r, errstr, sizeof(errstr));
	pl->ingest.closed_cover = hook;
	if (r.outcome == INGEST_ACCEPTED && r.has_usage) {
		pipeline_operating_reading(pl, NULL, &r); /* state only */
		open_hours_reading(pl->open_hours, NULL, &r);
	}
	if (r.outcome == INGEST_ACCEPTED)
		pipeline_attributes_apply(pl, ev, r.cs);
	pipeline_silent_after(pl, NULL, ev, &r, m->partition);
	scorer_set_counting(pl->ingest.scorer, 1);
}

static void handle_message(struct pipeline *pl, const struct kafka_msg *m)
{
	char errstr[512];
	int role = role_of_topic(pl, m->topic);
	struct part *p = part_find(pl, role, m->partition);
	struct event *ev = &pl->event;

	if (!p || (p->pending >= 0 && m->offset < p->pending))
		return; /* not ours (any more), or already applied: a fetch from before a seek */
	int64_t expected = p->pending >= 0 ? p->pending : 0;
	if (m->offset > expected) {
		/* retention removed messages riskd never read (or compaction / transaction markers) */
		log_kv(LOG_WARN, "input_gap", "topic=%s partition=%d from=%lld to=%lld missing=%lld",
		       m->topic, (int)m->partition, (long long)expected, (long long)m->offset,
		       (long long)(m->offset - expected));
		metrics_input_gap((uint64_t)(m->offset - expected));
		pl->totals.input_gaps += (uint64_t)(m->offset - expected);
	}
	int replayed_to_committed = p->pending < p->committed && m->offset + 1 >= p->committed;
	p->pending = m->offset + 1;
	if (replayed_to_committed)
		open_days_after_replay(pl, p);
	cur_batch(pl)->messages++;
	pl->totals.messages++;
	if (cur_batch(pl)->started_ms == 0)
		cur_batch(pl)->started_ms = now_ms();
	if (m->offset < p->committed) {
		replay_message(pl, m, role);
		return;
	}

	const char *topic = pl->topics[role];
	enum event_reject reason = event_decode(m->payload, m->len, ev, errstr, sizeof(errstr));
	int decoded = reason == EVENT_REJECT_NONE;
	if (decoded)
		reason = check_routing(m, (enum topic_role)role, ev, topic, errstr, sizeof(errstr));
	if (reason == EVENT_REJECT_NONE)
		reason = pipeline_attributes_check(pl, m, ev, errstr, sizeof(errstr));
	if (reason != EVENT_REJECT_NONE) {
		dead_letter(pl, m, topic, reason, errstr, decoded ? event_type_name(ev->type) : "-");
		return;
	}

	struct ingest_result r;
	if (pipeline_load_closed_cover(pl, ev) != 0)
		return; /* everything not committed is read again after the resync */
	/* a billing message moves its partition's grading on, a known repeat too, so that every
	 * pass over the input (and replay_message) grades the same days */
	pipeline_grade_before_billing(pl, ev, m->partition, 0);
	if (pipeline_known_repeat(pl, m, role)) {
		batch_add_repeat(cur_batch(pl), pl->topics[role], m->partition, m->offset);
		r.outcome = INGEST_DUPLICATE;
	} else {
		pipeline_silent_before(pl, ev, m->partition);
		ingest_event(&pl->ingest, ev, m->partition, &r, errstr, sizeof(errstr));
	}
	const char *type_name = event_type_name(ev->type);
	switch (r.outcome) {
	case INGEST_REJECTED:
	case INGEST_CONFLICT:
		dead_letter(pl, m, topic, r.reason, errstr, type_name);
		return;
	case INGEST_DUPLICATE:
		batch_count(cur_batch(pl), topic, m->partition, type_name, "duplicate");
		metrics_duplicate(ev->type);
		pl->totals.duplicates++;
		return;
	case INGEST_ACCEPTED:
		break;
	}
	pipeline_record_billing(pl, m, role, ev, r.cs);
	if (r.has_usage) {
		pipeline_add_usage(cur_batch(pl), &r);
		pipeline_operating_reading(pl, cur_batch(pl), &r);
		open_hours_reading(pl->open_hours, cur_batch(pl), &r);
	}
	pipeline_add_scored(pl, cur_batch(pl), &r);
	pipeline_attributes_apply(pl, ev, r.cs);
	if (ev->type == EVENT_CUSTOMER)
		batch_add_profile(cur_batch(pl), ev);
	batch_count(cur_batch(pl), topic, m->partition, type_name, "accepted");
	metrics_event_accepted(ev->type);
	pl->totals.accepted++;
	pipeline_silent_after(pl, cur_batch(pl), ev, &r, m->partition);
}

/* ---- rebalancing ---- */

static void on_rebalance(void *opaque, enum kafka_rebalance kind, struct kafka_partition *tps,
                         int n)
{
	struct pipeline *pl = opaque;
	char errstr[512];

	if (kind == KAFKA_REVOKE) {
		if (!pl->needs_resync)
			commit_or_resync(pl, 1); /* the next owner starts from all of it */
		if (pl->needs_resync)
			drop_uncommitted(pl); /* the partitions kept are reloaded by the resync */
		parts_remove(pl, tps, n);
		if (pl->part_count == 0) {
			drop_uncommitted(pl);
			pl->needs_resync = 0;
			metrics_set_lag(0, 0);
			/* --until-idle waits for the next assignment as it does at start: a member
			 * whose session expired (a broker outage) rejoins, it is not done */
			pl->assigned_once = 0;
			pl->last_message_ms = now_ms();
		}
		log_kv(LOG_INFO, "partitions_revoked", "count=%d kept=%d", n, pl->part_count);
		return;
	}
	int first_new = pl->part_count;
	health_loading();
	if (pl->part_count + n > pl->part_cap) {
		pl->part_cap = pl->part_count + n;
		pl->parts = xrealloc(pl->parts, sizeof(*pl->parts) * (size_t)pl->part_cap);
	}
	for (int i = 0; i < n; i++) {
		int role = role_of_topic(pl, tps[i].topic);
		if (role < 0 || tps[i].partition >= PARTITIONS_MAX) {
			set_fatal(pl, "assigned a partition riskd cannot track");
			continue;
		}
		if (part_find(pl, role, tps[i].partition))
			continue; /* held already */
		pl->parts[pl->part_count] = (struct part){role, tps[i].partition, -1, -1, -1, 0};
		pl->part_index[role][tps[i].partition] = (int16_t)++pl->part_count;
	}
	int rc = 0;
	if (first_new == 0)
		drop_uncommitted(pl);
	else if (!pl->needs_resync)
		finish_commit(pl); /* the loop may use the store only while no commit runs */
	/* with a resync due, it loads the whole assignment, these partitions with it */
	if ((first_new == 0 || !pl->needs_resync) &&
	    (rc = store_ensure(pl->store, errstr, sizeof(errstr))) == 0)
		rc = pipeline_load_assignment(pl, first_new, errstr, sizeof(errstr));
	if (rc) {
		char q[600];
		log_kv(LOG_WARN, "assignment_load_failed", "error=%s", log_quote(q, sizeof(q), errstr));
		if (rc != RISKD_ERR_UNAVAILABLE)
			set_fatal(pl, errstr);
		health_postgres(rc);
		cstate_table_clear(pl->ingest.customers);
		cstate_table_clear(pl->ingest.transformers);
		open_hours_clear(pl->open_hours);
		pipeline_side_clear(pl);
		pl->needs_resync = 1; /* reloads the whole assignment */
	} else if (first_new == 0 || !pl->needs_resync) {
		pl->needs_resync = 0;
		health_loaded(now_ms());
	}
	if (!rc)
		commit_loaded_offsets(pl, first_new);
	for (int i = 0; i < n; i++) {
		struct part *p = part_find(pl, role_of_topic(pl, tps[i].topic), tps[i].partition);
		tps[i].offset =
		    p && p->state_committed >= 0 ? p->state_committed : KAFKA_OFFSET_BEGINNING;
	}
	pl->last_message_ms = now_ms(); /* idle time counts from the assignment */
	pl->assigned_once = 1;
	log_kv(LOG_INFO, "partitions_assigned",
	       "count=%d kept=%d customers=%zu transformers=%zu loaded=%s", n, first_new,
	       cstate_table_count(pl->ingest.customers), cstate_table_count(pl->ingest.transformers),
	       rc ? "false" : "true");
}

/* ---- life cycle ---- */

static int check_copartitioned(struct pipeline *pl, char *errstr, size_t errstr_size)
{
	int first = -1;
	for (int r = ROLE_READINGS; r <= ROLE_PROFILES; r++) {
		int n = kafka_consumer_partition_count(pl->consumer, pl->topics[r], errstr, errstr_size);
		if (n < 0)
			return RISKD_ERR_UNAVAILABLE;
		if (first >= 0 && n != first) {
			snprintf(errstr, errstr_size,
			         "topics '%s' (%d partitions) and '%s' (%d partitions) must have the same "
			         "partition count: a customer's events must meet in one partition",
			         pl->topics[ROLE_READINGS], first, pl->topics[r], n);
			return RISKD_ERR_INVALID;
		}
		first = n;
	}
	if (first > PARTITIONS_MAX) {
		snprintf(errstr, errstr_size, "%d partitions is above riskd's limit of %d", first,
		         PARTITIONS_MAX);
		return RISKD_ERR_RANGE;
	}
	return 0;
}

struct pipeline *pipeline_new(const struct riskd_config *cfg, char *errstr, size_t errstr_size)
{
	struct pipeline *pl = xcalloc(1, sizeof(*pl));
	pl->cfg = cfg;
	pl->topics[ROLE_READINGS] = cfg->topic_readings;
	pl->topics[ROLE_BILLING] = cfg->topic_billing;
	pl->topics[ROLE_PROFILES] = cfg->topic_profiles;
	pl->topics[ROLE_TRANSFORMER] = cfg->topic_transformer;
	pl->ingest.max_kw_unknown_profile = cfg->max_kw_unknown_profile;
	pl->ingest.restatements_apply = strcmp(cfg->restatements, "apply") == 0;
	pipeline_repeats_init(pl);
	pl->ingest.customers = cstate_table_new(1024);
	pl->ingest.transformers = cstate_table_new(64);

	if (localday_init(&pl->ingest.localday, cfg->timezone, errstr, errstr_size) != 0)
		goto fail;
	struct rbuf diag = {0};
	pl->ingest.scorer = scorer_new(cfg->rules_path, &diag);
	if (!pl->ingest.scorer) {
		pipeline_log_rule_diagnostics(LOG_ERROR, &diag);
		snprintf(errstr, errstr_size, "the theft rules in '%s' do not load (see rules_error)",
		         cfg->rules_path);
		rbuf_free(&diag);
		goto fail;
	}
	rbuf_free(&diag);
	const struct ruleset *rs = scorer_rules(pl->ingest.scorer);
	log_kv(LOG_INFO, "rules_loaded", "ruleset=%s version=%s hash=%s rules=%zu", ruleset_name(rs),
	       ruleset_version(rs), ruleset_hash(rs), ruleset_rule_count(rs));
	pl->ingest.grader = grader_new(cfg->rules_path, cfg->scorecard_path,
	                               cfg->grade_hysteresis_points, &diag);
	if (!pl->ingest.grader) {
		pipeline_log_rule_diagnostics(LOG_ERROR, &diag);
		snprintf(errstr, errstr_size,
		         "the credit rules in '%s' or the scorecards in '%s' do not load (see rules_error)",
		         cfg->rules_path, cfg->scorecard_path);
		rbuf_free(&diag);
		goto fail;
	}
	rbuf_free(&diag);
	if (pipeline_attributes_init(pl, errstr, errstr_size) ||
	    pipeline_operating_init(pl, errstr, errstr_size))
		goto fail;
	pipeline_set_credit_policy(pl);
	pipeline_report_policies(pl);
	log_kv(LOG_INFO, "credit_loaded", "policy=\"%s\" scorecards=%s hysteresis_points=%g",
	       pl->credit_policy, cfg->scorecard_path, cfg->grade_hysteresis_points);
	pl->areas_stale = 1;
	pl->attributor = attributor_new(cfg->attribution_window_days, cfg->attribution_history_days);
	pl->rescorer = rescorer_new();
	scorer_set_deferral(pl->ingest.scorer, strcmp(cfg->attribution_score_after_area, "on") == 0
	                                           ? SCORER_DEFER_BOUNDED
	                                           : SCORER_DEFER_OFF);
	pl->open_hours = open_hours_new();
	silent_sweep_init(&pl->silent, cfg->day_lateness_s);
	if (store_open(&pl->store, cfg->pg_dsn, errstr, errstr_size) != 0 ||
	    store_set_synchronous_commit(pl->store, strcmp(cfg->pg_synchronous_commit, "on") == 0,
	                                 errstr, errstr_size) != 0)
		goto fail;
	const struct kafka_props producer_props = {&cfg->kafka_properties,
	                                           &cfg->kafka_producer_properties,
	                                           "kafka.producer_properties"};
	pl->producer = kafka_producer_new(cfg->kafka_brokers, &producer_props, errstr, errstr_size);
	if (!pl->producer)
		goto fail;
	committer_init(&pl->committer, pl->store, pl->producer);
	/* the group assigns readings partitions; billing and profile partition p follow readings
	 * partition p, transformer partition q readings partition q mod N (co-partitioning,
	 * streams/kafka_consumer.c) */
	const char *const gated[] = {pl->topics[ROLE_READINGS], pl->topics[ROLE_BILLING]};
	struct kafka_consumer_conf kconf = kafka_consumer_conf_of(cfg);
	kconf.topics = pl->topics + ROLE_READINGS;
	kconf.topic_count = 1;
	kconf.driver_topic = pl->topics[ROLE_READINGS];
	kconf.follower_topics = pl->topics + ROLE_BILLING;
	kconf.follower_count = 2;
	kconf.spread_topics = pl->topics + ROLE_TRANSFORMER;
	kconf.spread_count = 1;
	/* the profiles a partition holds are read before its readings, whose days are scored
	 * with the profile's fields (docs/detection.md, "Scoring after the area"), and before
	 * its billing, which grades (docs/credit.md, "When a day is graded") */
	kconf.gate_topic = pl->topics[ROLE_PROFILES];
	kconf.gated_topics = gated;
	kconf.gated_count = 2;
	kconf.rebalance = on_rebalance;
	kconf.opaque = pl;
	pl->consumer = kafka_consumer_new(&kconf, errstr, errstr_size);
	if (!pl->consumer)
		goto fail;
	if (check_copartitioned(pl, errstr, errstr_size) != 0)
		goto fail;
	prepare_outputs(pl);
	health_watch_init(&pl->health, cfg->health_stall_s, now_ms());
	health_ready_init(cfg->health_ready_max_lag, cfg->health_stall_s, now_ms());
	return pl;

fail:
	pipeline_destroy(pl);
	return NULL;
}

static void report_progress(struct pipeline *pl, int64_t now)
{
	if (now - pl->last_gauges_ms < 1000)
		return; /* the lag walks every assigned partition: once a second is plenty */
	pl->last_gauges_ms = now;
	struct kafka_lag lag;
	report_lag(pl, now, &lag);
	metrics_set_state(cstate_table_count(pl->ingest.customers),
	                  cstate_table_count(pl->ingest.transformers),
	                  cstate_table_memory(pl->ingest.customers) + cstate_table_memory(pl->ingest.transformers));
	if (now - pl->last_progress_ms >= 10000) {
		log_kv(LOG_INFO, "progress",
		       "messages=%llu accepted=%llu dead_letter=%llu duplicates=%llu batches=%llu "
		       "customers=%zu lag=%lld",
		       (unsigned long long)pl->totals.messages, (unsigned long long)pl->totals.accepted,
		       (unsigned long long)pl->totals.dead_letter,
		       (unsigned long long)pl->totals.duplicates,
		       (unsigned long long)pl->totals.batches, cstate_table_count(pl->ingest.customers),
		       (long long)lag.messages);
		pl->last_progress_ms = now;
	}
}

/*
 * --until-idle, after a poll that found nothing: whether to stop. Quiet for until_idle_s with
 * nothing committing or waiting is not enough: every partition must be read to its end too
 * (done), unless input has stalled with messages left (gives up: sets gave_up and writes why
 * into errstr).
 */
static int until_idle_ends(struct pipeline *pl, const struct pipeline_options *opts, int64_t now,
                           char *errstr, size_t errstr_size)
{
	/* idle counts from the first assignment (joining a group takes seconds), but a member
	 * that is never given a partition stops too, after a minute */
	int64_t idle_ms = (int64_t)(opts->until_idle_s * 1000) + (pl->assigned_once ? 0 : 60000);
	if (cur_batch(pl)->messages || pl->committer.running || pl->relay_pending ||
	    pl->drain_pending || pl->attrib_pending || pl->rescore_pending ||
	    now - pl->last_message_ms < idle_ms)
		return 0;
	struct kafka_lag lag;
	kafka_consumer_lag(pl->consumer, &lag);
	switch (health_idle_verdict(&pl->health, now, pl->totals.messages, &lag, errstr,
	                            errstr_size)) {
	case HEALTH_IDLE_DONE:
		/* the lag comes from the last fetches: a broker that went away (or input that
		 * arrived since) is only seen by asking it; try again in a second */
		if (!kafka_consumer_at_end(pl->consumer, 2000)) {
			if (!pl->unconfirmed_since_ms)
				pl->unconfirmed_since_ms = now;
			if (now - pl->unconfirmed_since_ms < pl->health.stall_ms) {
				pl->last_message_ms = now - idle_ms + 1000;
				return 0;
			}
			snprintf(errstr, errstr_size, "--until-idle: the brokers did not confirm the end "
			         "of the input for %lld s", (long long)pl->health.stall_ms / 1000);
			pl->gave_up = 1;
			return 1;
		}
		log_kv(LOG_INFO, "idle", "seconds=%.1f", opts->until_idle_s);
		return 1;
	case HEALTH_IDLE_GIVE_UP:
		pl->gave_up = 1;
		return 1;
	case HEALTH_IDLE_WAIT:
		break;
	}
	return 0;
}

int pipeline_run(struct pipeline *pl, const struct pipeline_options *opts, char *errstr,
                 size_t errstr_size)
{
	int backoff_ms = 100;
	char kerr[512];

	pl->relay_pending = 1; /* rows a previous run committed but did not publish */
	pl->drain_pending = 1; /* area-days a previous run queued but did not balance */
	pl->attrib_pending = 1; /* and area-windows it queued but did not attribute */
	pl->rescore_pending = 1; /* and customer-days it left waiting for their area */

	pl->last_message_ms = pl->last_progress_ms = now_ms();
	while (!*opts->stop && !pl->fatal) {
		if (opts->on_turn)
			opts->on_turn(now_ms());
		if (pl->needs_resync) {
			if (resync(pl) != 0) {
				metrics_pg_retry();
				/* keep serving the group while waiting; anything fetched is dropped and
				 * re-read after the resync seeks back to the stored offsets */
				int n = kafka_consumer_poll(pl->consumer, pl->msgs, POLL_MAX, backoff_ms, kerr,
				                            sizeof(kerr));
				for (int i = 0; i < n; i++)
					kafka_msg_release(&pl->msgs[i]);
				backoff_ms = backoff_ms * 2 > pl->cfg->pg_retry_max_ms
				                 ? pl->cfg->pg_retry_max_ms
				                 : backoff_ms * 2;
				continue;
			}
			backoff_ms = 100;
		}

		int64_t now = now_ms();
		int timeout = 100;
		if (cur_batch(pl)->messages) {
			int64_t left = cur_batch(pl)->started_ms + pl->cfg->batch_max_wait_ms - now;
			timeout = left <= 0 ? 0 : left < timeout ? (int)left : timeout;
		}
		int want = POLL_MAX;
		if ((size_t)pl->cfg->batch_size - cur_batch(pl)->messages < (size_t)want)
			want = (int)((size_t)pl->cfg->batch_size - cur_batch(pl)->messages);
		int n = kafka_consumer_poll(pl->consumer, pl->msgs, want > 0 ? want : 1, timeout, kerr,
		                            sizeof(kerr));
		for (int i = 0; i < n; i++) {
			if (!pl->needs_resync)
				handle_message(pl, &pl->msgs[i]);
			kafka_msg_release(&pl->msgs[i]);
		}
		now = now_ms();
		if (n > 0) {
			pl->last_message_ms = now;
			pl->unconfirmed_since_ms = 0;
		}
		if (pl->needs_resync)
			continue;
		struct batch *b = cur_batch(pl);
		int force = opts->reload && *opts->reload;
		/* a batch closes when full, when it waited batch.max_wait_ms, or as soon as riskd
		 * has caught up with its input and the previous commit is done: under load batches
		 * grow to what arrives while one commits; a live stream gets small, quick ones */
		int caught_up = n < want && !committer_busy(&pl->committer);
		if (b->messages && (b->messages >= (size_t)pl->cfg->batch_size || caught_up ||
		                    now - b->started_ms >= pl->cfg->batch_max_wait_ms)) {
			/* the previous batch has had this one's time to commit: apply its outcome, do
			 * the store's other work while it is free, and start committing this one */
			if (finish_commit(pl) != 0)
				continue;
			between_commits(pl, now);
			/* under load the attribution takes a window now and then, so that a stream
			 * that never pauses still gets its findings */
			if (pl->attrib_pending && now - pl->last_attrib_ms >= ATTRIB_BUSY_EVERY_MS)
				attribute(pl, 1, 1, now);
			if (pl->rescore_pending && now - pl->last_rescore_ms >= ATTRIB_BUSY_EVERY_MS)
				pipeline_rescore(pl, 1, now);
			seal_and_start(pl, now, 0);
			if (force || now - pl->last_rules_check_ms >= 2000) {
				/* a new rule set must not start under a batch counted with the old one */
				if (finish_commit(pl) != 0)
					continue;
				if (force)
					*opts->reload = 0;
				pipeline_reload_policies(pl, force, now);
			}
		} else if (n == 0 && b->messages == 0 && input_paused(pl, now)) {
			/* idle: finish what is committing, then catch up on the store's other work */
			if (finish_commit(pl) != 0)
				continue;
			between_commits(pl, now);
			/* input paused: commit what the batch holds, with a checkpoint of all changed
			 * state while it is cheap (a crash in a quiet spell then replays nothing), in
			 * the background; the store's other work waits for the next idle round */
			if ((batch_has_rows(cur_batch(pl)) || has_dirty_state(pl)) &&
			    seal_and_start(pl, now, has_dirty_state(pl)))
				continue;
			if (pl->relay_pending)
				pl->relay_pending = relay_outbox(pl) != 0;
			if (pl->drain_pending) {
				int rc = drain_area_balance(pl);
				pl->drain_pending = rc != 0;
				pl->last_drain_ms = now;
				resync_if_lost(pl, rc);
			}
			if (pl->attrib_pending && !pl->drain_pending)
				resync_if_lost(pl, attribute(pl, ATTRIB_IDLE_BUDGET_MS, INT32_MAX, now));
			if (pl->rescore_pending && !pl->attrib_pending && !pl->drain_pending)
				resync_if_lost(pl, pipeline_rescore(pl, RESCORE_IDLE_BUDGET_MS, now));
			if (force)
				*opts->reload = 0;
			pipeline_reload_policies(pl, force, now);
		}
		report_progress(pl, now);
		if (opts->until_idle_s > 0 && n == 0 && until_idle_ends(pl, opts, now, errstr, errstr_size))
			break;
	}

	if (!pl->fatal && !pl->needs_resync) {
		if (commit_or_resync(pl, 1) == 0) {
			relay_outbox(pl);
			drain_area_balance(pl);
			/* --until-idle leaves nothing queued that its last drain added */
			while (opts->until_idle_s > 0 && pl->attrib_pending && !*opts->stop &&
			       attribute(pl, ATTRIB_IDLE_BUDGET_MS, INT32_MAX, now_ms()) == 0)
				;
			/* and scores the days that waited for those windows */
			while (opts->until_idle_s > 0 && pl->rescore_pending && !*opts->stop &&
			       pipeline_rescore(pl, RESCORE_IDLE_BUDGET_MS, now_ms()) == 0)
				;
			relay_outbox(pl);
		}
	} else {
		drop_uncommitted(pl); /* waits for a commit still running */
	}
	pl->totals.read_order_expired = kafka_consumer_gates_expired(pl->consumer);
	kafka_consumer_destroy(pl->consumer); /* serves the final revoke */
	pl->consumer = NULL;
	if (pl->fatal) {
		snprintf(errstr, errstr_size, "%s", pl->fatal_msg);
		return RISKD_ERR_IO;
	}
	if (pl->gave_up)
		return RISKD_ERR_UNAVAILABLE; /* errstr says why */
	return 0;
}

void pipeline_totals(const struct pipeline *pl, struct pipeline_totals *out)
{
	*out = pl->totals;
}

void pipeline_destroy(struct pipeline *pl)
{
	if (!pl)
		return;
	committer_free(&pl->committer); /* waits for a commit still running */
	kafka_consumer_destroy(pl->consumer);
	kafka_producer_destroy(pl->producer);
	store_close(pl->store);
	attributor_free(pl->attributor);
	rescorer_free(pl->rescorer);
	open_hours_free(pl->open_hours);
	silent_sweep_free(&pl->silent);
	pipeline_operating_free(pl);
	pipeline_attributes_free(pl);
	pipeline_repeats_free(pl);
	scorer_free(pl->ingest.scorer);
	grader_free(pl->ingest.grader);
	cstate_table_destroy(pl->ingest.customers);
	cstate_table_destroy(pl->ingest.transformers);
	free(pl->parts);
	free(pl);
}
