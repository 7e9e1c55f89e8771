/*
 * kafka_int.h - private to streams/kafka_*.c: what the consumer and the producer share.
 */
#ifndef RISKD_KAFKA_INT_H
#define RISKD_KAFKA_INT_H

#include <librdkafka/rdkafka.h>

#include "kafka.h"

/* Routes the log lines of a client built from conf to the logger set by kafka_set_logger,
 * if one is set (kafka_log.c). Call it on every client's conf before rd_kafka_new. */
void kafka_conf_apply_logger(rd_kafka_conf_t *conf);

/*
 * Sets riskd's settings (n name/value pairs), then props->common's and props->specific's
 * properties on conf. Returns 0, or -1 with errstr set: librdkafka's message, for a property
 * of a map as "KEY: NAME: message" with *line its line in the config file (0 otherwise).
 */
int kafka_conf_apply(rd_kafka_conf_t *conf, const char *const (*settings)[2], size_t n,
                     const struct kafka_props *props, int *line, char *errstr,
                     size_t errstr_size);

/* Replaces each value of props that may be a secret by "(secret)" in text (size bytes), and
 * drops a trailing newline: makes a librdkafka message about props fit to show. */
void kafka_conf_mask(char *text, size_t size, const struct kafka_props *props);

/* Asks the brokers for topic's metadata, waiting up to timeout_ms: returns its partition
 * count, or -1 with errstr "metadata for topic 'T': why" (no answer) or "topic 'T': why"
 * (the brokers do not know it). The client learns the topic's leaders as it would before
 * its first message to or from it. */
int kafka_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                           size_t errstr_size);

/* The consumer's configuration: riskd's settings and conf->props, without callbacks. Returns
 * NULL with errstr and *line as kafka_conf_apply sets them. The caller owns the result. */
rd_kafka_conf_t *kafka_consumer_conf_build(const struct kafka_consumer_conf *conf, int *line,
                                           char *errstr, size_t errstr_size);

/* The producer's configuration, as kafka_consumer_conf_build. props may be NULL. */
rd_kafka_conf_t *kafka_producer_conf_build(const char *brokers, const struct kafka_props *props,
                                           int *line, char *errstr, size_t errstr_size);

#endif
