/*
 * kafka_consumer.c - the input side of riskd: a librdkafka group consumer.
 *
 * Offsets are riskd's own business: PostgreSQL holds them (risk.kafka_offsets) and the
 * detector's rebalance handler chooses where each assigned partition starts. Kafka's own
 * committed offsets are written only so that lag tools see progress.
 *
 * Messages are taken from the consumer queue a batch at a time (rd_kafka_consume_batch_queue,
 * which serves rebalance callbacks like rd_kafka_consumer_poll does) rather than with one
 * poll call per message.
 */
#include "kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "../config/riskd_base.h"
#include "kafka_int.h"

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
};

static int set_conf(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
                    size_t errstr_size)
{
	if (rd_kafka_conf_set(conf, name, value, errstr, errstr_size) != RD_KAFKA_CONF_OK)
		return -1;
	return 0;
}

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

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct kafka_consumer *kc = opaque;

	partitions_to_view(kc, parts);
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		kc->rebalance(kc->opaque, KAFKA_ASSIGN, kc->scratch, parts->cnt);
		for (int i = 0; i < parts->cnt; i++)
			parts->elems[i].offset = kc->scratch[i].offset == KAFKA_OFFSET_BEGINNING
			                             ? RD_KAFKA_OFFSET_BEGINNING
			                             : kc->scratch[i].offset;
		rd_kafka_topic_partition_list_destroy(kc->assigned);
		kc->assigned = rd_kafka_topic_partition_list_copy(parts);
		rd_kafka_assign(rk, parts);
	} else {
		kc->rebalance(kc->opaque, KAFKA_REVOKE, kc->scratch, parts->cnt);
		rd_kafka_topic_partition_list_destroy(kc->assigned);
		kc->assigned = rd_kafka_topic_partition_list_new(0);
		rd_kafka_assign(rk, NULL);
	}
}

struct kafka_consumer *kafka_consumer_new(const struct kafka_consumer_conf *conf,
                                          char *errstr, size_t errstr_size)
{
	struct kafka_consumer *kc = xcalloc(1, sizeof(*kc));
	rd_kafka_conf_t *rconf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *subs = NULL;
	char session[32], fetch_wait[32], prefetch[32];

	snprintf(session, sizeof(session), "%d", conf->session_timeout_ms);
	snprintf(fetch_wait, sizeof(fetch_wait), "%d",
	         conf->fetch_wait_max_ms > 0 ? conf->fetch_wait_max_ms : 500);
	/* librdkafka stops fetching while its queue holds queued.min.messages and backs off
	 * before looking again: a queue smaller than what a batch takes while the previous one
	 * commits leaves the loop waiting for input */
	snprintf(prefetch, sizeof(prefetch), "%d",
	         conf->prefetch_messages > 0 ? conf->prefetch_messages : 100000);
	if (set_conf(rconf, "bootstrap.servers", conf->brokers, errstr, errstr_size) ||
	    set_conf(rconf, "group.id", conf->group_id, errstr, errstr_size) ||
	    set_conf(rconf, "session.timeout.ms", session, errstr, errstr_size) ||
	    set_conf(rconf, "fetch.wait.max.ms", fetch_wait, errstr, errstr_size) ||
	    set_conf(rconf, "queued.min.messages", prefetch, errstr, errstr_size) ||
	    set_conf(rconf, "partition.assignment.strategy", "range", errstr, errstr_size) ||
	    set_conf(rconf, "enable.auto.commit", "false", errstr, errstr_size) ||
	    set_conf(rconf, "enable.auto.offset.store", "false", errstr, errstr_size) ||
	    set_conf(rconf, "auto.offset.reset", "earliest", errstr, errstr_size) ||
	    set_conf(rconf, "enable.partition.eof", "false", errstr, errstr_size) ||
	    set_conf(rconf, "log.connection.close", "false", errstr, errstr_size))
		goto fail;
	kafka_conf_apply_logger(rconf);
	kc->rebalance = conf->rebalance;
	kc->opaque = conf->opaque;
	kc->assigned = rd_kafka_topic_partition_list_new(0);
	rd_kafka_conf_set_opaque(rconf, kc);
	rd_kafka_conf_set_rebalance_cb(rconf, on_rebalance);

	kc->rk = rd_kafka_new(RD_KAFKA_CONSUMER, rconf, errstr, errstr_size);
	if (!kc->rk)
		goto fail;
	rconf = NULL; /* owned by rk now */
	rd_kafka_poll_set_consumer(kc->rk);
	kc->queue = rd_kafka_queue_get_consumer(kc->rk);

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
	for (ssize_t i = 0; i < got; i++) {
		rd_kafka_message_t *rkm = kc->batch[i];
		if (rkm->err) {
			snprintf(errstr, errstr_size, "%s", rd_kafka_message_errstr(rkm));
			rd_kafka_message_destroy(rkm);
			continue;
		}
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
done:
	rd_kafka_topic_partition_list_destroy(list);
	return rc;
}

void kafka_consumer_pause_all(struct kafka_consumer *kc, int pause)
{
	if (kc->assigned->cnt == 0)
		return;
	if (pause)
		rd_kafka_pause_partitions(kc->rk, kc->assigned);
	else
		rd_kafka_resume_partitions(kc->rk, kc->assigned);
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
			out->unknown++;
			continue;
		}
		if (hi > at) {
			out->messages += hi - at;
			out->behind++;
		}
	}
	rd_kafka_topic_partition_list_destroy(pos);
}

int kafka_consumer_partition_count(struct kafka_consumer *kc, const char *topic,
                                   char *errstr, size_t errstr_size)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(kc->rk, topic, NULL);
	const struct rd_kafka_metadata *md = NULL;
	int count = -1;

	rd_kafka_resp_err_t err = rd_kafka_metadata(kc->rk, 0, rkt, &md, 10000);
	if (err) {
		snprintf(errstr, errstr_size, "metadata for topic '%s': %s", topic,
		         rd_kafka_err2str(err));
	} else if (md->topic_cnt != 1 || md->topics[0].err) {
		snprintf(errstr, errstr_size, "topic '%s': %s", topic,
		         md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not found");
	} else {
		count = md->topics[0].partition_cnt;
	}
	if (md)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	return count;
}

void kafka_consumer_destroy(struct kafka_consumer *kc)
{
	if (!kc)
		return;
	rd_kafka_consumer_close(kc->rk);
	rd_kafka_queue_destroy(kc->queue);
	rd_kafka_destroy(kc->rk);
	rd_kafka_topic_partition_list_destroy(kc->assigned);
	free(kc->scratch);
	free(kc->batch);
	free(kc);
}
