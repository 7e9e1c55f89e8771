/*
 * kafka.h - riskd's only door to Kafka: a group consumer for the input topics and an
 * idempotent producer for the outbox relay and riskctl. Every librdkafka call lives in
 * streams/kafka_*.c; the rest of riskd sees these small types.
 */
#ifndef RISKD_KAFKA_H
#define RISKD_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#define KAFKA_OFFSET_BEGINNING (-2) /* start of the partition (no stored offset) */

/*
 * Where librdkafka's own log lines go: fn(syslog level, facility, message) from librdkafka's
 * threads. Set it before creating consumers or producers; NULL (the default) keeps
 * librdkafka's stderr format. fn must be thread-safe.
 */
typedef void (*kafka_log_fn)(int level, const char *facility, const char *message);
void kafka_set_logger(kafka_log_fn fn);

/* One topic partition and a position in it. topic points into consumer-owned memory. */
struct kafka_partition {
	const char *topic;
	int32_t partition;
	int64_t offset;
};

/* One consumed message, borrowed from the consumer until kafka_msg_release(). */
struct kafka_msg {
	const char *topic;
	int32_t partition;
	int64_t offset;
	const void *key;
	size_t key_len;
	const void *payload;
	size_t len;
	void *handle; /* the librdkafka message; opaque */
};

enum kafka_rebalance { KAFKA_ASSIGN, KAFKA_REVOKE };

/*
 * Rebalance handler, called from inside kafka_consumer_poll on the polling thread, with the
 * partitions that change hands: the group's partitions and the follower partitions they bring
 * (kafka_consumer_conf). With an eager assignor (range, roundrobin) a rebalance revokes every
 * partition and assigns the new set; with cooperative-sticky only the partitions that move are
 * revoked or assigned, and the others stay as they are.
 * KAFKA_ASSIGN: the consumer now also holds parts; parts[i].offset arrives as
 *   KAFKA_OFFSET_BEGINNING and the handler sets it to the position to start from.
 * KAFKA_REVOKE: the consumer gives up parts; the handler must finish (commit or drop)
 *   whatever it holds for them before returning.
 */
typedef void (*kafka_rebalance_fn)(void *opaque, enum kafka_rebalance kind,
                                   struct kafka_partition *parts, int n);

struct config_props; /* config/config.h */

/* The config file's librdkafka properties of one client, applied after riskd's own settings. */
struct kafka_props {
	const struct config_props *common;   /* kafka.properties; NULL: none */
	const struct config_props *specific; /* the client's own map; NULL: none */
	const char *specific_key;            /* its name in messages: "kafka.consumer_properties" */
};

struct kafka_consumer_conf {
	const char *brokers;
	const char *group_id;
	int session_timeout_ms;
	int fetch_wait_max_ms;     /* longest a broker may hold a fetch that found nothing new */
	int prefetch_messages;     /* messages fetched ahead of the application (0: librdkafka's
	                              default) */
	int prefetch_kbytes;       /* payload kilobytes fetched ahead (0: librdkafka's default) */
	struct kafka_props props;  /* partition.assignment.strategy defaults to
	                              KAFKA_DEFAULT_ASSIGNOR */
	const char *const *topics; /* topics the group assigns (the subscription) */
	int topic_count;
	/* Co-partitioning: partition p of driver_topic (one of topics) comes with partition p of
	 * each follower topic, and with every partition q of each spread topic where q mod N = p
	 * (N: the driver's partition count), assigned and revoked together whatever the assignor.
	 * Each follower and spread partition is then owned exactly once. NULL: none. */
	const char *driver_topic;
	const char *const *follower_topics;
	int follower_count;
	const char *const *spread_topics;
	int spread_count;
	/* Read order: after an assignment or a seek, partition p of each gated topic (the driver
	 * or followers) is not fetched until partition p of gate_topic (a follower) has been read
	 * up to the end it had then (or for KAFKA_GATE_MAX_MS at most); a gate partition with
	 * nothing to read from where it starts holds nothing back. NULL or no gated topics: none.
	 * riskd reads the profiles a partition holds before its readings and its billing this
	 * way. */
	const char *gate_topic;
	const char *const *gated_topics;
	int gated_count;
	kafka_rebalance_fn rebalance;
	void *opaque;
};

/* Longest a gated partition waits for its gate partition (kafka_consumer_conf.gate_topic):
 * a gate partition that cannot be read to its end (a broker that stops answering) does not
 * stop the other topic for good. A gate partition whose last record is a transaction marker
 * is read to its end when the consumer's position passes the marker. */
#define KAFKA_GATE_MAX_MS 60000

/* The group's partition assignor unless kafka.consumer_properties names another. */
#define KAFKA_DEFAULT_ASSIGNOR "cooperative-sticky"

struct kafka_consumer;

/*
 * Creates a group consumer (no auto commit, offsets chosen by the rebalance handler; riskd's
 * settings, then conf->props), reads the partition counts of the driver and spread topics
 * from the cluster, and subscribes to conf->topics. Returns NULL with errstr set on failure
 * (secret property values never appear in it).
 */
struct kafka_consumer *kafka_consumer_new(const struct kafka_consumer_conf *conf,
                                          char *errstr, size_t errstr_size);

/*
 * Waits up to timeout_ms for messages and fills msgs[0..max) with what is ready. Serves
 * rebalance callbacks. Returns the number of messages (0 on timeout). Consumer errors that
 * are not messages (broker down, ...) are logged by the caller through *errstr: when the
 * return is 0 and errstr[0] != '\0', errstr holds the latest transient error. Each returned
 * message must be released with kafka_msg_release().
 */
int kafka_consumer_poll(struct kafka_consumer *kc, struct kafka_msg *msgs, int max,
                        int timeout_ms, char *errstr, size_t errstr_size);

/* Releases a message returned by kafka_consumer_poll. */
void kafka_msg_release(struct kafka_msg *msg);

/* Repositions the given assigned partitions (seek) to parts[i].offset, which also becomes
 * their start position for kafka_consumer_lag; a gate partition among them closes its gate
 * again (kafka_consumer_conf.gate_topic). Returns 0 or -1. */
int kafka_consumer_seek(struct kafka_consumer *kc, const struct kafka_partition *parts, int n,
                        char *errstr, size_t errstr_size);

/* Pauses (pause != 0) or resumes fetching of every assigned partition (a gated partition
 * stays paused until its gate opens). A pause while paused, or a resume while not, does
 * nothing. */
void kafka_consumer_pause_all(struct kafka_consumer *kc, int pause);

/* Commits offsets to Kafka asynchronously, for lag monitoring only (PostgreSQL holds the
 * authoritative offsets). Errors are ignored. */
void kafka_consumer_commit_async(struct kafka_consumer *kc, const struct kafka_partition *parts,
                                 int n);

/* The consumer's lag over its assigned partitions. */
struct kafka_lag {
	int64_t messages; /* sum of (high watermark - position) over the partitions whose high
	                     watermark is known */
	int partitions;   /* assigned partitions */
	int behind;       /* of those, partitions with messages left to read */
	int unknown;      /* of those, partitions whose high watermark is not known yet (no fetch
	                     answered since the assignment): they may be behind */
	char first[96];   /* "topic[partition]" of the first partition with an unknown end, else
	                     of the first behind (for messages); "" when none is */
};

/*
 * Fills out with the lag of every assigned partition, from librdkafka's cached watermarks
 * (no request is sent). A partition's position is the offset after the last message
 * returned, or, before any, where the assignment or the latest seek started it, so a
 * consumer that starts caught up reports 0.
 */
void kafka_consumer_lag(struct kafka_consumer *kc, struct kafka_lag *out);

/*
 * Whether every assigned partition has been read to the end the broker reports now: asks the
 * brokers for every partition's end offset at once (one ListOffsets request per broker,
 * waiting up to timeout_ms for all answers), so a broker that cannot be reached, or input that
 * arrived since the last fetch, answers 0. A partition nothing was read from since its
 * assignment counts from where it started (or, when that is not known, from its first kept
 * offset).
 * Meant for the rare moments riskd decides it is done (--until-idle), not for every turn.
 */
int kafka_consumer_at_end(struct kafka_consumer *kc, int timeout_ms);

/* How many read-order gates opened because their wait ran out (KAFKA_GATE_MAX_MS) rather than
 * because their gate partition was read to its end, since kafka_consumer_new. */
uint64_t kafka_consumer_gates_expired(const struct kafka_consumer *kc);

/* Number of partitions in topic per the cluster metadata, or -1 with errstr. */
int kafka_consumer_partition_count(struct kafka_consumer *kc, const char *topic,
                                   char *errstr, size_t errstr_size);

/* Leaves the group (serving the final revoke) and destroys the consumer. NULL is a no-op. */
void kafka_consumer_destroy(struct kafka_consumer *kc);

struct kafka_header {
	const char *name;
	const void *value;
	size_t value_len;
};

struct kafka_producer;

/* Creates an idempotent producer (acks=all, murmur2_random partitioner so keys land where
 * Java producers would put them, message.max.bytes KAFKA_MESSAGE_MAX_BYTES), then props
 * (NULL: none). Returns NULL with errstr set on failure (secret values never in it). */
struct kafka_producer *kafka_producer_new(const char *brokers, const struct kafka_props *props,
                                          char *errstr, size_t errstr_size);

struct riskd_config;

/*
 * The consumer settings the config file gives (brokers, group, session timeout, fetch wait,
 * prefetch limits, property maps), which riskd's consumer and kafka_config_check both start
 * from; the caller adds topics, gates and callbacks. The result points into cfg.
 */
struct kafka_consumer_conf kafka_consumer_conf_of(const struct riskd_config *cfg);

/*
 * Checks the Kafka client properties of cfg as librdkafka sees them, before any client is
 * made: builds the consumer's and the producer's configuration (riskd's settings, then the
 * maps) and creates each client once, without joining or sending anything. path names the
 * config file in messages. Returns 0, or RISKD_ERR_INVALID with errstr "PATH:LINE: error:
 * KEY: PROPERTY: librdkafka's message" (secret values shown as "(secret)"; "PATH: error:
 * ..." when no one property is to blame).
 */
int kafka_config_check(const struct riskd_config *cfg, const char *path, char *errstr,
                       size_t errstr_size);

/*
 * Queues one message (copies key, payload and headers). Waits while the local queue is full.
 * Returns 0, or -1 with errstr set (unknown topic, message too large, ...).
 */
int kafka_producer_send(struct kafka_producer *kp, const char *topic, const void *key,
                        size_t key_len, const void *payload, size_t len,
                        const struct kafka_header *headers, int header_count,
                        char *errstr, size_t errstr_size);

/*
 * The largest message (key + value + headers + record overhead) the producer sends: its
 * librdkafka message.max.bytes, kept at or below Kafka's default topic limit (1,048,588) so
 * anything the producer accepts, a default topic accepts too. Larger messages are refused
 * before they are queued.
 */
#define KAFKA_MESSAGE_MAX_BYTES 1000000

/* One message for kafka_producer_publish (nothing is copied until the call). */
struct kafka_message {
	const char *topic;
	const void *key;
	size_t key_len;
	const void *payload;
	size_t len;
	const struct kafka_header *headers;
	int header_count;
};

/* How one message of kafka_producer_publish ended. */
enum kafka_delivery {
	KAFKA_DELIVERED = 0, /* acknowledged by the cluster */
	KAFKA_RETRIABLE,     /* not delivered, for a reason that may pass (broker down, timeout,
	                        unknown topic, authorization): send it again later */
	KAFKA_REJECTED,      /* can never be delivered as it is (message too large, invalid topic
	                        name or record) */
};

struct kafka_outcome {
	enum kafka_delivery delivery;
	char error[200]; /* why, when not delivered */
};

/*
 * Sends msgs[0..n) (n <= 65535; key, payload and headers are copied) and waits up to
 * timeout_ms for each message's delivery report; out[i] (caller-owned, n entries) says how
 * msgs[i] ended. Messages still undelivered at the timeout are purged and reported
 * KAFKA_RETRIABLE (the cluster may still have them: sending them again can repeat them).
 * Returns the number of messages not delivered (0 = all delivered).
 */
int kafka_producer_publish(struct kafka_producer *kp, const struct kafka_message *msgs, int n,
                           int timeout_ms, struct kafka_outcome *out);

/*
 * Waits up to timeout_ms for every queued message to be delivered or fail. Returns the
 * number of messages that failed since the previous flush (0 = all delivered), or -1 on
 * timeout; errstr names the first failure.
 */
int kafka_producer_flush(struct kafka_producer *kp, int timeout_ms, char *errstr,
                         size_t errstr_size);

/* Messages delivered since creation. */
uint64_t kafka_producer_delivered(const struct kafka_producer *kp);

/* Flushes (up to 10 s) and destroys the producer. NULL is a no-op. */
void kafka_producer_destroy(struct kafka_producer *kp);

/*
 * Asks the brokers for the metadata of the n topics the producer will publish to, waiting up
 * to timeout_ms for each, so that it knows their leaders and is connected before its first
 * message (which otherwise waits for that: about a second with librdkafka 2.0, the first
 * outbox relay's). Returns how many topics the brokers did not answer for or do not know,
 * with errstr saying why for the first of them ("topic 'T': Broker: Unknown topic or
 * partition"); 0 when all are known.
 */
int kafka_producer_prepare(struct kafka_producer *kp, const char *const *topics, int n,
                           int timeout_ms, char *errstr, size_t errstr_size);

#endif
