/*
 * kafka_log.c - where librdkafka's own log lines go, for both Kafka clients: the process-wide
 * logger set with kafka_set_logger (kafka.h), hooked into each client's configuration by
 * kafka_conf_apply_logger (kafka_int.h) when kafka_consumer.c and kafka_producer.c build it.
 */
#include "kafka.h"

#include <librdkafka/rdkafka.h>

#include "kafka_int.h"

static kafka_log_fn logger;

void kafka_set_logger(kafka_log_fn fn)
{
	logger = fn;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	logger(level, fac, buf);
}

void kafka_conf_apply_logger(rd_kafka_conf_t *conf)
{
	if (logger)
		rd_kafka_conf_set_log_cb(conf, on_log);
}
