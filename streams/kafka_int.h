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

#endif
