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

struct kafka_producer {
	rd_kafka_t *rk;
	uint64_t delivered;
	int failed;               /* failures since the last flush */
	char first_error[256];    /* first failure since the last flush */
};

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
}

struct kafka_producer *kafka_producer_new(const char *brokers, char *errstr, size_t errstr_size)
{
	struct kafka_producer *kp = xcalloc(1, sizeof(*kp));
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	static const char *const settings[][2] = {
		{"enable.idempotence", "true"},
		{"acks", "all"},
		{"partitioner", "murmur2_random"},
		{"linger.ms", "5"},
		{"compression.codec", "none"},
		{"message.timeout.ms", "60000"},
		{"log.connection.close", "false"},
		{"queue.buffering.max.messages", "500000"},
	};

	if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, errstr_size))
		goto fail;
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (rd_kafka_conf_set(conf, settings[i][0], settings[i][1], errstr, errstr_size))
			goto fail;
	rd_kafka_conf_set_opaque(conf, kp);
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	kafka_conf_apply_logger(conf);
	kp->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
	if (!kp->rk)
		goto fail;
	return kp;

fail:
	if (!kp->rk)
		rd_kafka_conf_destroy(conf);
	free(kp);
	return NULL;
}

int kafka_producer_send(struct kafka_producer *kp, const char *topic, const void *key,
                        size_t key_len, const void *payload, size_t len,
                        const struct kafka_header *headers, int header_count,
                        char *errstr, size_t errstr_size)
{
	for (;;) {
		rd_kafka_headers_t *hdrs = NULL;
		if (header_count > 0) {
			hdrs = rd_kafka_headers_new((size_t)header_count);
			for (int i = 0; i < header_count; i++)
				rd_kafka_header_add(hdrs, headers[i].name, -1, headers[i].value,
				                    (ssize_t)headers[i].value_len);
		}
		rd_kafka_resp_err_t err = rd_kafka_producev(
		    kp->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		    RD_KAFKA_V_KEY(key_len ? key : NULL, key_len),
		    RD_KAFKA_V_VALUE((void *)payload, len), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
		if (!err)
			return 0;
		if (hdrs)
			rd_kafka_headers_destroy(hdrs); /* not consumed on failure */
		if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			rd_kafka_poll(kp->rk, 50);
			continue;
		}
		snprintf(errstr, errstr_size, "produce to '%s': %s", topic, rd_kafka_err2str(err));
		return -1;
	}
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
