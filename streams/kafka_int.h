/*
 * kafka_int.h - private to streams/kafka_*.c.
 */
#ifndef RISKD_KAFKA_INT_H
#define RISKD_KAFKA_INT_H

#include <librdkafka/rdkafka.h>

#include "kafka.h"

/* Routes conf's log lines to the logger set by kafka_set_logger, if any. */
void kafka_conf_apply_logger(rd_kafka_conf_t *conf);

#endif
