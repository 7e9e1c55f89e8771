/*
 * kafka_producer.c - the output side of riskd: an idempotent librdkafka producer used by the
 * outbox relay (review queue, credit grades, dead letters) and by `riskctl produce`.
 */
#include "kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "../config/riskd_base.h"
#include "kafka_int.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

struct kafka_producer {
	rd_kafka_t *rk;
	uint64_t delivered;
	int failed;               /* failures since the last flush */
	char first_error[256];    /* first failure since the last flush */
	/* the kafka_producer_publish call in progress: its outcomes, and the tag its messages
	 * carry (a report with another tag is from an earlier call, and ignored) */
	struct kafka_outcome *track;
	int track_n;
	uint32_t track_gen;
};

/* Whether a delivery error is for good: sending the same message again cannot succeed. */
static int rejected_for_good(rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
	case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_INVALID_RECORD:
	case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
	case RD_KAFKA_RESP_ERR__INVALID_ARG:
		return 1;
	default:
		return 0;
	}
}

/* The tag of message i of the current publish call (in the message's opaque). */
static void *track_tag(const struct kafka_producer *kp, int i)
{
	return (void *)(uintptr_t)(((uintptr_t)(kp->track_gen & 0x7fff) << 16) | (uintptr_t)(i + 1));
}

static void record_outcome(struct kafka_producer *kp, void *tag, const char *topic,
                           rd_kafka_resp_err_t err)
{
	uintptr_t t = (uintptr_t)tag;
	int i = (int)(t & 0xffff) - 1;
	if (!kp->track || i < 0 || i >= kp->track_n || (t >> 16) != (kp->track_gen & 0x7fff))
		return;
	struct kafka_outcome *o = &kp->track[i];
	o->delivery = err ? rejected_for_good(err) ? KAFKA_REJECTED : KAFKA_RETRIABLE
	                  : KAFKA_DELIVERED;
	o->error[0] = '\0';
	if (err)
		snprintf(o->error, sizeof(o->error), "%s: %s", topic, rd_kafka_err2str(err));
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
	struct kafka_producer *kp = opaque;
	(void)rk;
	if (rkm->err) {
		if (kp->failed++ == 0)
			snprintf(kp->first_error, sizeof(kp->first_error), "%s[%d]: %s",
			         rd_kafka_topic_name(rkm->rkt), rkm->partition,
			         rd_kafka_err2str(rkm->err));
	} else {
		kp->delivered++;
	}
	if (rkm->_private)
		record_outcome(kp, rkm->_private, rd_kafka_topic_name(rkm->rkt), rkm->err);
}

rd_kafka_conf_t *kafka_producer_conf_build(const char *brokers, const struct kafka_props *props,
                                           int *line, char *errstr, size_t errstr_size)
{
	const struct kafka_props none = {NULL, NULL, "kafka.producer_properties"};
	const char *const settings[][2] = {
		{"bootstrap.servers", brokers},
		{"enable.idempotence", "true"},
		{"acks", "all"},
		{"partitioner", "murmur2_random"},
		{"linger.ms", "5"},
		{"compression.codec", "none"},
		{"message.timeout.ms", "60000"},
		{"log.connection.close", "false"},
		{"queue.buffering.max.messages", "500000"},
		{"message.max.bytes", STRINGIFY(KAFKA_MESSAGE_MAX_BYTES)},
	};
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (kafka_conf_apply(conf, settings, sizeof(settings) / sizeof(settings[0]),
	                     props ? props : &none, line, errstr, errstr_size) == 0)
		return conf;
	rd_kafka_conf_destroy(conf);
	return NULL;
}

struct kafka_producer *kafka_producer_new(const char *brokers, const struct kafka_props *props,
                                          char *errstr, size_t errstr_size)
{
	struct kafka_producer *kp = xcalloc(1, sizeof(*kp));
	int line;
	rd_kafka_conf_t *conf = kafka_producer_conf_build(brokers, props, &line, errstr, errstr_size);
	if (!conf)
		goto fail;
	rd_kafka_conf_set_opaque(conf, kp);
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	kafka_conf_apply_logger(conf);
	kp->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
	if (!kp->rk) {
		rd_kafka_conf_destroy(conf);
		if (props)
			kafka_conf_mask(errstr, errstr_size, props);
		goto fail;
	}
	return kp;

fail:
	free(kp);
	return NULL;
}

/* Queues one message with tag in its opaque (NULL: untracked), waiting while the local queue
 * is full. Returns librdkafka's error (0 = queued). */
static rd_kafka_resp_err_t produce_one(struct kafka_producer *kp, const struct kafka_message *m,
                                       void *tag)
{
	for (;;) {
		rd_kafka_headers_t *hdrs = NULL;
		if (m->header_count > 0) {
			hdrs = rd_kafka_headers_new((size_t)m->header_count);
			for (int i = 0; i < m->header_count; i++)
				rd_kafka_header_add(hdrs, m->headers[i].name, -1, m->headers[i].value,
				                    (ssize_t)m->headers[i].value_len);
		}
		rd_kafka_resp_err_t err = rd_kafka_producev(
		    kp->rk, RD_KAFKA_V_TOPIC(m->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		    RD_KAFKA_V_KEY(m->key_len ? m->key : NULL, m->key_len),
		    RD_KAFKA_V_VALUE((void *)m->payload, m->len), RD_KAFKA_V_HEADERS(hdrs),
		    RD_KAFKA_V_OPAQUE(tag), RD_KAFKA_V_END);
		if (!err)
			return 0;
		if (hdrs)
			rd_kafka_headers_destroy(hdrs); /* not consumed on failure */
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			return err;
		rd_kafka_poll(kp->rk, 50);
	}
}

int kafka_producer_send(struct kafka_producer *kp, const char *topic, const void *key,
                        size_t key_len, const void *payload, size_t len,
                        const struct kafka_header *headers, int header_count,
                        char *errstr, size_t errstr_size)
{
	const struct kafka_message m = {topic, key, key_len, payload, len, headers, header_count};
	rd_kafka_resp_err_t err = produce_one(kp, &m, NULL);
	if (!err)
		return 0;
	snprintf(errstr, errstr_size, "produce to '%s': %s", topic, rd_kafka_err2str(err));
	return -1;
}

int kafka_producer_publish(struct kafka_producer *kp, const struct kafka_message *msgs, int n,
                           int timeout_ms, struct kafka_outcome *out)
{
	int undelivered = 0;
	if (n <= 0)
		return 0;
	if (n > 0xffff)
		abort(); /* the caller splits larger sets (see the contract) */
	kp->track_gen++;
	kp->track = out;
	kp->track_n = n;
	for (int i = 0; i < n; i++) {
		out[i].delivery = KAFKA_RETRIABLE;
		out[i].error[0] = '\0'; /* "" until a report (or the timeout below) says why */
		rd_kafka_resp_err_t err = produce_one(kp, &msgs[i], track_tag(kp, i));
		if (err)
			record_outcome(kp, track_tag(kp, i), msgs[i].topic, err);
	}
	if (rd_kafka_flush(kp->rk, timeout_ms) == RD_KAFKA_RESP_ERR__TIMED_OUT) {
		/* give up on what is left: its reports (purged) arrive on the next poll */
		rd_kafka_purge(kp->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_poll(kp->rk, 0);
	}
	kp->track = NULL;
	kp->track_n = 0;
	kp->failed = 0;
	kp->first_error[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (out[i].delivery == KAFKA_DELIVERED)
			continue;
		undelivered++;
		if (!out[i].error[0])
			snprintf(out[i].error, sizeof(out[i].error), "%s: no delivery report within %d ms",
			         msgs[i].topic, timeout_ms);
	}
	return undelivered;
}

int kafka_producer_flush(struct kafka_producer *kp, int timeout_ms, char *errstr,
                         size_t errstr_size)
{
	rd_kafka_resp_err_t err = rd_kafka_flush(kp->rk, timeout_ms);
	int failed;

	rd_kafka_poll(kp->rk, 0);
	if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
		snprintf(errstr, errstr_size, "%d message(s) not delivered within %d ms",
		         rd_kafka_outq_len(kp->rk), timeout_ms);
		return -1;
	}
	failed = kp->failed;
	if (failed)
		snprintf(errstr, errstr_size, "%d message(s) failed, first: %s", failed,
		         kp->first_error);
	kp->failed = 0;
	kp->first_error[0] = '\0';
	return failed;
}

uint64_t kafka_producer_delivered(const struct kafka_producer *kp)
{
	return kp->delivered;
}

void kafka_producer_destroy(struct kafka_producer *kp)
{
	if (!kp)
		return;
	rd_kafka_flush(kp->rk, 10000);
	rd_kafka_destroy(kp->rk);
	free(kp);
}

int kafka_producer_prepare(struct kafka_producer *kp, const char *const *topics, int n,
                           int timeout_ms, char *errstr, size_t errstr_size)
{
	int unknown = 0;
	char why[512];
	for (int i = 0; i < n; i++)
		if (kafka_topic_partitions(kp->rk, topics[i], timeout_ms, why, sizeof(why)) < 0 &&
		    unknown++ == 0)
			snprintf(errstr, errstr_size, "%s", why);
	return unknown;
}
