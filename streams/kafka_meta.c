/*
 * kafka_meta.c - topic metadata asked of the brokers, for the consumer (partition counts at
 * startup) and the producer (its output topics' leaders before the first message).
 */
#include "kafka_int.h"

#include <stdio.h>

int kafka_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                           size_t errstr_size)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md = NULL;
	int count = -1;

	rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
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
