/*
 * kafka_consumer.c - the input side of riskd: a librdkafka group consumer.
 *
 * Offsets are riskd's own business: PostgreSQL holds them (risk.kafka_offsets) and the
 * detector's rebalance handler chooses where each assigned partition starts. Kafka's own
 * committed offsets are written only so that lag tools see progress.
 *
 * Co-partitioning: a customer's readings, bills and profile must meet in one instance, so
 * partition p of the billing and profile topics must go where partition p of the readings
 * topic goes. No Kafka assignor promises that across topics (cooperative-sticky moves each
 * topic-partition on its own), so the group is subscribed to the driver topic only, and each
 * driver partition assigned or revoked brings the same partition of its follower topics, and
 * a share of the spread topic (transformer partition q goes with driver partition q mod N),
 * with it (with_followers): the assignor balances the driver's partitions, which carry the
 * load, and every other partition is owned exactly once. This goes through
 * rd_kafka_incremental_assign/unassign under the cooperative protocol and rd_kafka_assign
 * under the eager one. Any assignor then keeps the customer topics together.
 *
 * Read order: partition p of each gated topic waits, after each assignment or seek, until the
 * gate topic's partition p has been read to the end it had then (gate_close, gates opened as
 * the poll returns their last message), so that riskd applies the profiles a partition holds
 * before its readings and its billing. The gate topic is a follower, assigned and revoked
 * with the driver partition it gates, and it is never paused by a gate, so a closed gate
 * always has something being read that opens it (or its deadline does); a gate partition
 * with nothing to read from where it starts closes no gate at all.
 *
 * Messages are taken from the consumer queue a batch at a time (rd_kafka_consume_batch_queue,
 * which serves rebalance callbacks like rd_kafka_consumer_poll does) rather than with one
 * poll call per message.
 */
#include "kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "../config/riskd_base.h"
#include "kafka_int.h"

/* How long an assignment waits for its gate partitions' offsets. */
#define KAFKA_GATE_QUERY_MS 5000

struct kafka_consumer {
	rd_kafka_t *rk;
	kafka_rebalance_fn rebalance;
	void *opaque;
	rd_kafka_topic_partition_list_t *assigned; /* current assignment (copy), never NULL */
	struct kafka_partition *scratch;           /* handler's view of a rebalance list */
	int scratch_cap;
	rd_kafka_queue_t *queue;                   /* the consumer queue, messages and events */
	rd_kafka_message_t **batch;                /* one poll's messages, batch_cap of them */
	size_t batch_cap;
	char *driver_topic;                        /* co-partitioning (kafka_consumer_conf); NULL:
	                                              none */
	int driver_partitions;                     /* its partition count */
	char **follower_topics;                    /* follower topics, then spread topics */
	int follower_count, spread_count;
	int *spread_partitions;                    /* each spread topic's partition count */
	char rebalance_error[256];                 /* a failed (incremental) assign, for the next
	                                              poll to report; "" = none */
	char *gate_topic;                          /* read order (kafka_consumer_conf); NULL:
	                                              none */
	char **gated_topics;                       /* the topics a closed gate pauses */
	int gated_count;
	rd_kafka_topic_partition_list_t *gates;    /* closed gates: gate_topic partitions, offset
	                                              = the end to read up to */
	int64_t *gate_deadline_ms;                 /* per gates entry: when it opens anyway */
	int gate_cap;
	uint8_t *gate_held;                        /* by partition number: a gate paused the gated
	                                              topics' partition, no resume undid it yet */
	int gate_held_cap;
	int all_paused;                            /* kafka_consumer_pause_all holds everything */
	uint64_t gates_expired;                    /* gates opened by their deadline */
};

static void partitions_to_view(struct kafka_consumer *kc,
                               const rd_kafka_topic_partition_list_t *parts)
{
	if (parts->cnt > kc->scratch_cap) {
		kc->scratch_cap = parts->cnt;
		kc->scratch = xrealloc(kc->scratch, sizeof(*kc->scratch) * (size_t)kc->scratch_cap);
	}
	for (int i = 0; i < parts->cnt; i++) {
		kc->scratch[i].topic = parts->elems[i].topic;
		kc->scratch[i].partition = parts->elems[i].partition;
		kc->scratch[i].offset = KAFKA_OFFSET_BEGINNING;
	}
}

/* The group's partitions plus, for each partition p of the driver topic, partition p of every
 * follower topic and partitions p, p + N, p + 2N, ... of every spread topic: the list the
 * consumer assigns or revokes. The caller destroys it. */
static rd_kafka_topic_partition_list_t *
with_followers(const struct kafka_consumer *kc, const rd_kafka_topic_partition_list_t *given)
{
	rd_kafka_topic_partition_list_t *parts =
	    rd_kafka_topic_partition_list_new(given->cnt * (1 + kc->follower_count + kc->spread_count));
	for (int i = 0; i < given->cnt; i++) {
		const rd_kafka_topic_partition_t *tp = &given->elems[i];
		rd_kafka_topic_partition_list_add(parts, tp->topic, tp->partition);
		if (!kc->driver_topic || strcmp(tp->topic, kc->driver_topic) != 0)
			continue;
		for (int f = 0; f < kc->follower_count; f++)
			rd_kafka_topic_partition_list_add(parts, kc->follower_topics[f], tp->partition);
		for (int s = 0; s < kc->spread_count; s++) {
			for (int32_t q = tp->partition; q < kc->spread_partitions[s];
			     q += kc->driver_partitions)
				rd_kafka_topic_partition_list_add(
				    parts, kc->follower_topics[kc->follower_count + s], q);
		}
	}
	return parts;
}

/* ---- read order: gated partitions wait for their gate partition ---- */

static int64_t clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Pauses or resumes fetching partition `partition` of every gated topic, when a gate has not
 * already: only what a gate paused is resumed. A resume of a partition that is not paused is
 * not harmless in librdkafka 2.0: it moves the partition's op version on, so a fetch start
 * still queued (the assignment's, made just before) is dropped as outdated, and the partition
 * is never fetched.
 */
static void gated_pause(struct kafka_consumer *kc, int32_t partition, int pause)
{
	if (partition < 0)
		return;
	if (partition >= kc->gate_held_cap) {
		int cap = partition + 64;
		kc->gate_held = xrealloc(kc->gate_held, (size_t)cap);
		memset(kc->gate_held + kc->gate_held_cap, 0, (size_t)(cap - kc->gate_held_cap));
		kc->gate_held_cap = cap;
	}
	if (kc->gate_held[partition] == (pause != 0))
		return;
	kc->gate_held[partition] = pause != 0;
	if (kc->all_paused)
		return; /* paused already; kafka_consumer_pause_all(0) resumes what no gate holds */
	rd_kafka_topic_partition_list_t *held = rd_kafka_topic_partition_list_new(kc->gated_count);
	for (int t = 0; t < kc->gated_count; t++)
		rd_kafka_topic_partition_list_add(held, kc->gated_topics[t], partition);
	if (pause)
		rd_kafka_pause_partitions(kc->rk, held);
	else
		rd_kafka_resume_partitions(kc->rk, held);
	rd_kafka_topic_partition_list_destroy(held);
}

/* Opens the gate of partition `partition` (if closed): the gated partitions are fetched again,
 * unless `resume` is 0 (the partitions are being revoked). */
static void gate_open(struct kafka_consumer *kc, int32_t partition, int resume)
{
	int i = 0;
	while (i < kc->gates->cnt && kc->gates->elems[i].partition != partition)
		i++;
	if (i == kc->gates->cnt)
		return;
	memmove(&kc->gate_deadline_ms[i], &kc->gate_deadline_ms[i + 1],
	        sizeof(*kc->gate_deadline_ms) * (size_t)(kc->gates->cnt - i - 1));
	rd_kafka_topic_partition_list_del_by_idx(kc->gates, i); /* shifts the rest down too */
	if (resume)
		gated_pause(kc, partition, 0);
}

/*
 * Asks the brokers, in one ListOffsets round per broker for the whole list, for each
 * partition's offset at `which` (RD_KAFKA_OFFSET_END: the end a consumer of this isolation
 * level reaches; RD_KAFKA_OFFSET_BEGINNING: the first offset kept) and writes it into each
 * element's offset. Returns 0 when every partition answered within timeout_ms.
 */
static int query_offsets(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts, int64_t which,
                         int timeout_ms)
{
	for (int i = 0; i < parts->cnt; i++) {
		parts->elems[i].offset = which;
		parts->elems[i].err = RD_KAFKA_RESP_ERR_NO_ERROR;
	}
	if (rd_kafka_offsets_for_times(rk, parts, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return -1;
	for (int i = 0; i < parts->cnt; i++)
		if (parts->elems[i].err || parts->elems[i].offset < 0)
			return -1;
	return 0;
}

/* Closes the gate of partition `partition` of the gate topic, which reading starts at
 * `start` and whose end is `end` (both queried; -1: unknown), when it holds messages from
 * there: the gated partitions are paused until it has been read. An unknown start or end
 * closes nothing. A pause librdkafka kept from an earlier gate (one opened without resuming
 * when its partitions were revoked, or replaced by a seek) is lifted first, unless this gate
 * keeps it. */
static void gate_close(struct kafka_consumer *kc, int32_t partition, int64_t start, int64_t end)
{
	gate_open(kc, partition, 0);
	if (start < 0 || end < 0 || start >= end) {
		gated_pause(kc, partition, 0);
		return;
	}
	if (kc->gates->cnt == kc->gate_cap) {
		kc->gate_cap = kc->gate_cap ? 2 * kc->gate_cap : 16;
		kc->gate_deadline_ms =
		    xrealloc(kc->gate_deadline_ms, sizeof(*kc->gate_deadline_ms) * (size_t)kc->gate_cap);
	}
	kc->gate_deadline_ms[kc->gates->cnt] = clock_ms() + KAFKA_GATE_MAX_MS;
	rd_kafka_topic_partition_list_add(kc->gates, kc->gate_topic, partition)->offset = end;
	gated_pause(kc, partition, 1);
}

/* The offset a query left in element i of list (-1: no list, or the partition did not
 * answer: an error, or still the logical offset the query asked for). */
static int64_t queried(const rd_kafka_topic_partition_list_t *list, int i)
{
	if (!list || list->elems[i].err || list->elems[i].offset < 0)
		return -1;
	return list->elems[i].offset;
}

/* Closes the gates of the gate-topic partitions in parts (offsets: where each starts,
 * RD_KAFKA_OFFSET_BEGINNING its first kept offset). Called after the partitions are assigned
 * (or sought). The ends (where a consumer of this isolation level stops: a transaction still
 * open is not waited for) and the first kept offsets are asked for in one round each. */
static void gates_close(struct kafka_consumer *kc, const rd_kafka_topic_partition_list_t *parts)
{
	if (!kc->gate_topic)
		return;
	/* start holds where each gate partition starts; end and first are copies of it, queried */
	rd_kafka_topic_partition_list_t *start = rd_kafka_topic_partition_list_new(parts->cnt);
	int from_first = 0;
	for (int i = 0; i < parts->cnt; i++)
		if (strcmp(parts->elems[i].topic, kc->gate_topic) == 0) {
			rd_kafka_topic_partition_list_add(start, kc->gate_topic, parts->elems[i].partition)
			    ->offset = parts->elems[i].offset;
			from_first |= parts->elems[i].offset < 0;
		}
	rd_kafka_topic_partition_list_t *end = NULL, *first = NULL;
	if (start->cnt > 0) {
		end = rd_kafka_topic_partition_list_copy(start);
		query_offsets(kc->rk, end, RD_KAFKA_OFFSET_END, KAFKA_GATE_QUERY_MS);
	}
	if (from_first) {
		first = rd_kafka_topic_partition_list_copy(start);
		query_offsets(kc->rk, first, RD_KAFKA_OFFSET_BEGINNING, KAFKA_GATE_QUERY_MS);
	}
	for (int i = 0; i < start->cnt; i++) {
		int64_t from = start->elems[i].offset >= 0 ? start->elems[i].offset : queried(first, i);
		gate_close(kc, start->elems[i].partition, from, queried(end, i));
	}
	if (first)
		rd_kafka_topic_partition_list_destroy(first);
	if (end)
		rd_kafka_topic_partition_list_destroy(end);
	rd_kafka_topic_partition_list_destroy(start);
}

/* Opens the gate that message rkm completes: the newest read of its gate partition has
 * reached the end the gate waits for. */
static void gate_check_message(struct kafka_consumer *kc, const rd_kafka_message_t *rkm)
{
	if (strcmp(rd_kafka_topic_name(rkm->rkt), kc->gate_topic) != 0)
		return;
	const rd_kafka_topic_partition_t *g =
	    rd_kafka_topic_partition_list_find(kc->gates, kc->gate_topic, rkm->partition);
	if (g && rkm->offset + 1 >= g->offset)
		gate_open(kc, rkm->partition, 1);
}

/* Opens the gates whose gate partition has been read to its end: its position is there (the
 * consumer steps over transaction markers, which never arrive as messages, so a partition
 * whose last record is a marker is done when its position passes it), or whose wait is over
 * (KAFKA_GATE_MAX_MS; counted in gates_expired). */
static void gates_check(struct kafka_consumer *kc)
{
	rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_copy(kc->gates);
	rd_kafka_position(kc->rk, pos);
	int64_t now = clock_ms();
	/* from the last: opening gate i moves only the gates after it */
	for (int i = kc->gates->cnt - 1; i >= 0; i--) {
		int64_t at = pos->elems[i].offset;
		int read = at >= 0 && at >= kc->gates->elems[i].offset;
		if (!read && now < kc->gate_deadline_ms[i])
			continue;
		kc->gates_expired += !read;
		gate_open(kc, kc->gates->elems[i].partition, 1);
	}
	rd_kafka_topic_partition_list_destroy(pos);
}

/* Records a failed assign or unassign for the next poll to report. */
static void rebalance_failed(struct kafka_consumer *kc, const char *what, rd_kafka_error_t *error)
{
	if (!error)
		return;
	snprintf(kc->rebalance_error, sizeof(kc->rebalance_error), "%s: %s", what,
	         rd_kafka_error_string(error));
	rd_kafka_error_destroy(error);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *given, void *opaque)
{
	struct kafka_consumer *kc = opaque;
	int incremental = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	rd_kafka_topic_partition_list_t *parts = with_followers(kc, given);

	partitions_to_view(kc, parts);
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		/* a cooperative rebalance that moves nothing here calls with an empty list */
		if (parts->cnt > 0 || !incremental)
			kc->rebalance(kc->opaque, KAFKA_ASSIGN, kc->scratch, parts->cnt);
		for (int i = 0; i < parts->cnt; i++) {
			parts->elems[i].offset = kc->scratch[i].offset == KAFKA_OFFSET_BEGINNING
			                             ? RD_KAFKA_OFFSET_BEGINNING
			                             : kc->scratch[i].offset;
			/* where it starts: the lag of a partition nothing was read from yet */
			rd_kafka_topic_partition_list_add(kc->assigned, parts->elems[i].topic,
			                                  parts->elems[i].partition)
			    ->offset = parts->elems[i].offset;
		}
		if (incremental)
			rebalance_failed(kc, "incremental assign", rd_kafka_incremental_assign(rk, parts));
		else if (rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
			snprintf(kc->rebalance_error, sizeof(kc->rebalance_error), "assign failed");
		gates_close(kc, parts);
	} else {
		if (parts->cnt > 0 || !incremental)
			kc->rebalance(kc->opaque, KAFKA_REVOKE, kc->scratch, parts->cnt);
		for (int i = 0; kc->gate_topic && i < parts->cnt; i++)
			if (strcmp(parts->elems[i].topic, kc->gate_topic) == 0)
				gate_open(kc, parts->elems[i].partition, 0);
		for (int i = 0; i < parts->cnt; i++)
			rd_kafka_topic_partition_list_del(kc->assigned, parts->elems[i].topic,
			                                  parts->elems[i].partition);
		if (incremental) {
			rebalance_failed(kc, "incremental unassign",
			                 rd_kafka_incremental_unassign(rk, parts));
		} else {
			rd_kafka_topic_partition_list_destroy(kc->assigned);
			kc->assigned = rd_kafka_topic_partition_list_new(0);
			rd_kafka_assign(rk, NULL);
		}
	}
	rd_kafka_topic_partition_list_destroy(parts);
}

rd_kafka_conf_t *kafka_consumer_conf_build(const struct kafka_consumer_conf *conf, int *line,
                                           char *errstr, size_t errstr_size)
{
	char session[32], fetch_wait[32], prefetch[32], prefetch_kb[32];
	snprintf(session, sizeof(session), "%d", conf->session_timeout_ms);
	snprintf(fetch_wait, sizeof(fetch_wait), "%d",
	         conf->fetch_wait_max_ms > 0 ? conf->fetch_wait_max_ms : 500);
	/* librdkafka stops fetching while its queue holds queued.min.messages or
	 * queued.max.messages.kbytes of payload, and then looks again only a second later: a queue
	 * that the loop empties in less than that (librdkafka's 64 MB is about 0.8 s of riskd's
	 * pace with 180-byte readings) leaves the loop waiting for input */
	snprintf(prefetch, sizeof(prefetch), "%d",
	         conf->prefetch_messages > 0 ? conf->prefetch_messages : 100000);
	snprintf(prefetch_kb, sizeof(prefetch_kb), "%d",
	         conf->prefetch_kbytes > 0 ? conf->prefetch_kbytes : 65536);
	const char *const settings[][2] = {
		{"bootstrap.servers", conf->brokers},
		{"group.id", conf->group_id},
		{"session.timeout.ms", session},
		{"fetch.wait.max.ms", fetch_wait},
		{"queued.min.messages", prefetch},
		{"queued.max.messages.kbytes", prefetch_kb},
		{"partition.assignment.strategy", KAFKA_DEFAULT_ASSIGNOR},
		{"enable.auto.commit", "false"},
		{"enable.auto.offset.store", "false"},
		{"auto.offset.reset", "earliest"},
		{"enable.partition.eof", "false"},
		{"log.connection.close", "false"},
	};
	rd_kafka_conf_t *rconf = rd_kafka_conf_new();
	if (kafka_conf_apply(rconf, settings, sizeof(settings) / sizeof(settings[0]), &conf->props,
	                     line, errstr, errstr_size) == 0)
		return rconf;
	rd_kafka_conf_destroy(rconf);
	return NULL;
}

static void gates_free(struct kafka_consumer *kc)
{
	if (kc->gates)
		rd_kafka_topic_partition_list_destroy(kc->gates);
	free(kc->gate_deadline_ms);
	free(kc->gate_held);
	free(kc->gate_topic);
	for (int t = 0; kc->gated_topics && t < kc->gated_count; t++)
		free(kc->gated_topics[t]);
	free(kc->gated_topics);
}

/* Copies conf's read order. A gate topic among the topics it gates would hold itself back:
 * refused. */
static int gates_init(struct kafka_consumer *kc, const struct kafka_consumer_conf *conf,
                      char *errstr, size_t errstr_size)
{
	kc->gates = rd_kafka_topic_partition_list_new(0);
	if (!conf->gate_topic || conf->gated_count <= 0)
		return 0;
	kc->gate_topic = xstrdup(conf->gate_topic);
	kc->gated_topics = xcalloc((size_t)conf->gated_count, sizeof(char *));
	for (int t = 0; t < conf->gated_count; t++) {
		if (strcmp(conf->gated_topics[t], conf->gate_topic) == 0) {
			snprintf(errstr, errstr_size, "read order: topic '%s' cannot wait for itself",
			         conf->gate_topic);
			return -1;
		}
		kc->gated_topics[t] = xstrdup(conf->gated_topics[t]);
		kc->gated_count++;
	}
	return 0;
}

static void follower_topics_free(struct kafka_consumer *kc)
{
	for (int f = 0; kc->follower_topics && f < kc->follower_count + kc->spread_count; f++)
		free(kc->follower_topics[f]);
	free(kc->follower_topics);
	free(kc->spread_partitions);
	free(kc->driver_topic);
}

/* Copies conf's co-partitioning topics and reads the partition counts it needs. */
static int co_partitioning_init(struct kafka_consumer *kc, const struct kafka_consumer_conf *conf,
                                char *errstr, size_t errstr_size)
{
	int n = conf->follower_count + conf->spread_count;
	kc->driver_topic = xstrdup(conf->driver_topic);
	kc->follower_topics = xcalloc((size_t)n + 1, sizeof(char *));
	kc->spread_partitions = xcalloc((size_t)conf->spread_count + 1, sizeof(int));
	for (int f = 0; f < conf->follower_count; f++)
		kc->follower_topics[f] = xstrdup(conf->follower_topics[f]);
	for (int s = 0; s < conf->spread_count; s++)
		kc->follower_topics[conf->follower_count + s] = xstrdup(conf->spread_topics[s]);
	kc->follower_count = conf->follower_count;
	kc->spread_count = conf->spread_count;
	kc->driver_partitions =
	    kafka_consumer_partition_count(kc, conf->driver_topic, errstr, errstr_size);
	if (kc->driver_partitions <= 0)
		return -1;
	for (int s = 0; s < conf->spread_count; s++) {
		kc->spread_partitions[s] =
		    kafka_consumer_partition_count(kc, conf->spread_topics[s], errstr, errstr_size);
		if (kc->spread_partitions[s] < 0)
			return -1;
	}
	return 0;
}

struct kafka_consumer *kafka_consumer_new(const struct kafka_consumer_conf *conf,
                                          char *errstr, size_t errstr_size)
{
	struct kafka_consumer *kc = xcalloc(1, sizeof(*kc));
	rd_kafka_topic_partition_list_t *subs = NULL;
	int line;
	rd_kafka_conf_t *rconf = kafka_consumer_conf_build(conf, &line, errstr, errstr_size);

	if (!rconf)
		goto fail;
	kafka_conf_apply_logger(rconf);
	kc->rebalance = conf->rebalance;
	kc->opaque = conf->opaque;
	kc->assigned = rd_kafka_topic_partition_list_new(0);
	if (gates_init(kc, conf, errstr, errstr_size) != 0)
		goto fail;
	rd_kafka_conf_set_opaque(rconf, kc);
	rd_kafka_conf_set_rebalance_cb(rconf, on_rebalance);

	kc->rk = rd_kafka_new(RD_KAFKA_CONSUMER, rconf, errstr, errstr_size);
	if (!kc->rk) {
		kafka_conf_mask(errstr, errstr_size, &conf->props);
		goto fail;
	}
	rconf = NULL; /* owned by rk now */
	rd_kafka_poll_set_consumer(kc->rk);
	kc->queue = rd_kafka_queue_get_consumer(kc->rk);
	if (conf->driver_topic && co_partitioning_init(kc, conf, errstr, errstr_size) != 0)
		goto fail;

	subs = rd_kafka_topic_partition_list_new(conf->topic_count);
	for (int i = 0; i < conf->topic_count; i++)
		rd_kafka_topic_partition_list_add(subs, conf->topics[i], RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t err = rd_kafka_subscribe(kc->rk, subs);
	rd_kafka_topic_partition_list_destroy(subs);
	if (err) {
		snprintf(errstr, errstr_size, "subscribe: %s", rd_kafka_err2str(err));
		goto fail;
	}
	return kc;

fail:
	if (rconf)
		rd_kafka_conf_destroy(rconf);
	if (kc->queue)
		rd_kafka_queue_destroy(kc->queue);
	if (kc->rk)
		rd_kafka_destroy(kc->rk);
	if (kc->assigned)
		rd_kafka_topic_partition_list_destroy(kc->assigned);
	gates_free(kc);
	follower_topics_free(kc);
	free(kc->scratch);
	free(kc);
	return NULL;
}

int kafka_consumer_poll(struct kafka_consumer *kc, struct kafka_msg *msgs, int max,
                        int timeout_ms, char *errstr, size_t errstr_size)
{
	ssize_t got;
	int n = 0;

	errstr[0] = '\0';
	if (kc->rebalance_error[0]) {
		snprintf(errstr, errstr_size, "%s", kc->rebalance_error);
		kc->rebalance_error[0] = '\0';
	}
	if (max <= 0)
		return 0;
	if ((size_t)max > kc->batch_cap) {
		kc->batch_cap = (size_t)max;
		kc->batch = xrealloc(kc->batch, sizeof(*kc->batch) * kc->batch_cap);
	}
	/* Wait up to timeout_ms for the first message only, then take what else is ready:
	 * a batch call with a timeout would wait for max messages. */
	got = rd_kafka_consume_batch_queue(kc->queue, timeout_ms, kc->batch, 1);
	if (got == 1 && max > 1) {
		ssize_t more = rd_kafka_consume_batch_queue(kc->queue, 0, kc->batch + 1,
		                                            (size_t)max - 1);
		if (more > 0)
			got += more;
	}
	if (got < 0) {
		snprintf(errstr, errstr_size, "consume: %s", rd_kafka_err2str(rd_kafka_last_error()));
		return 0;
	}
	if (kc->gates->cnt > 0)
		gates_check(kc);
	for (ssize_t i = 0; i < got; i++) {
		rd_kafka_message_t *rkm = kc->batch[i];
		if (rkm->err) {
			snprintf(errstr, errstr_size, "%s", rd_kafka_message_errstr(rkm));
			rd_kafka_message_destroy(rkm);
			continue;
		}
		if (kc->gates->cnt > 0)
			gate_check_message(kc, rkm);
		struct kafka_msg *m = &msgs[n++];
		m->topic = rd_kafka_topic_name(rkm->rkt);
		m->partition = rkm->partition;
		m->offset = rkm->offset;
		m->key = rkm->key;
		m->key_len = rkm->key_len;
		m->payload = rkm->payload;
		m->len = rkm->len;
		m->handle = rkm;
	}
	return n;
}

void kafka_msg_release(struct kafka_msg *msg)
{
	if (msg->handle)
		rd_kafka_message_destroy(msg->handle);
	msg->handle = NULL;
}

int kafka_consumer_seek(struct kafka_consumer *kc, const struct kafka_partition *parts, int n,
                        char *errstr, size_t errstr_size)
{
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(n);
	int rc = 0;

	for (int i = 0; i < n; i++) {
		rd_kafka_topic_partition_t *tp =
		    rd_kafka_topic_partition_list_add(list, parts[i].topic, parts[i].partition);
		tp->offset = parts[i].offset == KAFKA_OFFSET_BEGINNING ? RD_KAFKA_OFFSET_BEGINNING
		                                                        : parts[i].offset;
	}
	rd_kafka_error_t *error = rd_kafka_seek_partitions(kc->rk, list, 10000);
	if (error) {
		snprintf(errstr, errstr_size, "seek: %s", rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
		rc = -1;
		goto done;
	}
	for (int i = 0; i < list->cnt; i++) {
		if (list->elems[i].err) {
			snprintf(errstr, errstr_size, "seek %s[%d]: %s", list->elems[i].topic,
			         list->elems[i].partition, rd_kafka_err2str(list->elems[i].err));
			rc = -1;
			continue;
		}
		rd_kafka_topic_partition_t *start = rd_kafka_topic_partition_list_find(
		    kc->assigned, list->elems[i].topic, list->elems[i].partition);
		if (start)
			start->offset = list->elems[i].offset;
	}
	gates_close(kc, list);
done:
	rd_kafka_topic_partition_list_destroy(list);
	return rc;
}

void kafka_consumer_pause_all(struct kafka_consumer *kc, int pause)
{
	if (kc->all_paused == (pause != 0))
		return; /* a second pause or resume would only move librdkafka's op version on */
	kc->all_paused = pause != 0;
	if (kc->assigned->cnt == 0)
		return;
	if (pause) {
		rd_kafka_pause_partitions(kc->rk, kc->assigned);
		return;
	}
	rd_kafka_topic_partition_list_t *open = rd_kafka_topic_partition_list_copy(kc->assigned);
	for (int i = 0; i < kc->gates->cnt; i++)
		for (int t = 0; t < kc->gated_count; t++)
			rd_kafka_topic_partition_list_del(open, kc->gated_topics[t],
			                                  kc->gates->elems[i].partition);
	rd_kafka_resume_partitions(kc->rk, open);
	rd_kafka_topic_partition_list_destroy(open);
}

void kafka_consumer_commit_async(struct kafka_consumer *kc, const struct kafka_partition *parts,
                                 int n)
{
	if (n <= 0)
		return;
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(n);
	for (int i = 0; i < n; i++)
		rd_kafka_topic_partition_list_add(list, parts[i].topic, parts[i].partition)->offset =
		    parts[i].offset;
	rd_kafka_commit(kc->rk, list, 1);
	rd_kafka_topic_partition_list_destroy(list);
}

/* Names a partition in out->first. */
static void lag_name(struct kafka_lag *out, const rd_kafka_topic_partition_t *tp)
{
	snprintf(out->first, sizeof(out->first), "%s[%d]", tp->topic, (int)tp->partition);
}

void kafka_consumer_lag(struct kafka_consumer *kc, struct kafka_lag *out)
{
	rd_kafka_topic_partition_list_t *pos;

	memset(out, 0, sizeof(*out));
	out->partitions = kc->assigned->cnt;
	if (kc->assigned->cnt == 0)
		return;
	pos = rd_kafka_topic_partition_list_copy(kc->assigned);
	rd_kafka_position(kc->rk, pos);
	for (int i = 0; i < pos->cnt; i++) {
		int64_t lo = RD_KAFKA_OFFSET_INVALID, hi = RD_KAFKA_OFFSET_INVALID;
		int64_t start = kc->assigned->elems[i].offset; /* same order: pos is a copy */
		rd_kafka_get_watermark_offsets(kc->rk, pos->elems[i].topic, pos->elems[i].partition,
		                               &lo, &hi);
		/* no message returned since the assignment or seek: the position is where it
		 * started (librdkafka reports none), the partition's start when that was logical */
		int64_t at = pos->elems[i].offset >= 0 ? pos->elems[i].offset : start >= 0 ? start : lo;
		if (hi < 0 || at < 0) {
			if (!out->unknown++)
				lag_name(out, &pos->elems[i]);
			continue;
		}
		if (hi > at) {
			out->messages += hi - at;
			if (!out->behind++ && !out->unknown)
				lag_name(out, &pos->elems[i]);
		}
	}
	rd_kafka_topic_partition_list_destroy(pos);
}

int kafka_consumer_at_end(struct kafka_consumer *kc, int timeout_ms)
{
	if (kc->assigned->cnt == 0)
		return 1;
	/* pos, end and first are copies of the assignment: element i is the same partition in each */
	rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_copy(kc->assigned);
	rd_kafka_topic_partition_list_t *end = rd_kafka_topic_partition_list_copy(kc->assigned);
	rd_kafka_topic_partition_list_t *first = NULL;
	rd_kafka_position(kc->rk, pos);
	int at_end = query_offsets(kc->rk, end, RD_KAFKA_OFFSET_END, timeout_ms) == 0;
	for (int i = 0; i < pos->cnt && at_end; i++) {
		int64_t start = kc->assigned->elems[i].offset;
		int64_t at = pos->elems[i].offset >= 0 ? pos->elems[i].offset : start;
		if (at < 0) {
			/* nothing read and no known start: where reading would begin, the first kept */
			if (!first) {
				first = rd_kafka_topic_partition_list_copy(kc->assigned);
				if (query_offsets(kc->rk, first, RD_KAFKA_OFFSET_BEGINNING, timeout_ms) != 0) {
					at_end = 0;
					break;
				}
			}
			at = first->elems[i].offset;
		}
		at_end = at >= end->elems[i].offset;
	}
	if (first)
		rd_kafka_topic_partition_list_destroy(first);
	rd_kafka_topic_partition_list_destroy(end);
	rd_kafka_topic_partition_list_destroy(pos);
	return at_end;
}

uint64_t kafka_consumer_gates_expired(const struct kafka_consumer *kc)
{
	return kc->gates_expired;
}

int kafka_consumer_partition_count(struct kafka_consumer *kc, const char *topic,
                                   char *errstr, size_t errstr_size)
{
	return kafka_topic_partitions(kc->rk, topic, 10000, errstr, errstr_size);
}

void kafka_consumer_destroy(struct kafka_consumer *kc)
{
	if (!kc)
		return;
	rd_kafka_consumer_close(kc->rk);
	rd_kafka_queue_destroy(kc->queue);
	rd_kafka_destroy(kc->rk);
	rd_kafka_topic_partition_list_destroy(kc->assigned);
	gates_free(kc);
	follower_topics_free(kc);
	free(kc->scratch);
	free(kc->batch);
	free(kc);
}
