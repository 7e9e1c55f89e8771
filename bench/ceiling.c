/*
 * ceiling.c - the benchmark's reference consumers and its data check (bench/run.sh).
 *
 *   ceiling read  --brokers B --group G --count N TOPIC...   ceiling A: a plain librdkafka
 *                                                             group consumer that only reads
 *   ceiling parse --brokers B --group G --count N TOPIC...   ceiling B: the same, plus
 *                                                             json_loadb/json_decref per message
 *   ceiling watermarks --brokers B TOPIC...                   per topic: partitions, messages
 *                                                             held, and whether any were dropped
 *
 * The consumers subscribe to every TOPIC with their own group id (roundrobin assignor, offsets
 * from the beginning), poll one message at a time, commit asynchronously every
 * --commit-every messages, and stop after N messages. The clock runs from the first message
 * to the N-th, so the group join (about 3 s on the mock cluster) is not counted; it is
 * reported apart as join_s. One line of key=value results goes to stdout.
 *
 * The mock cluster keeps about 5 MiB per partition and drops the oldest data past that by
 * moving the partition's low watermark: `watermarks` exits 1 when any low watermark is above
 * 0, so the benchmark never measures a data set that lost messages.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#define TOPICS_MAX 16
#define IDLE_TIMEOUT_S 60.0      /* give up when no message arrives for this long */
#define JOIN_TIMEOUT_S 120.0     /* ... or when the first message takes longer than this */

enum ceiling_mode { MODE_READ, MODE_PARSE, MODE_WATERMARKS };

struct ceiling_args {
	enum ceiling_mode mode;
	const char *brokers;
	const char *group;
	const char *assignor;
	long long count;
	long long commit_every;
	const char *topics[TOPICS_MAX];
	int topic_count;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: ceiling read|parse --brokers LIST --group ID --count N [--commit-every N]\n"
	        "                          [--assignor roundrobin|range] TOPIC...\n"
	        "       ceiling watermarks --brokers LIST TOPIC...\n");
}

static int parse_count(const char *s, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v <= 0)
		return -1;
	*out = v;
	return 0;
}

/* Fills *args from argv. Returns 0, or 2 (usage error, already reported). */
static int args_parse(int argc, char **argv, struct ceiling_args *args)
{
	memset(args, 0, sizeof(*args));
	args->assignor = "roundrobin";
	args->commit_every = 20000;
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "read") == 0)
		args->mode = MODE_READ;
	else if (strcmp(argv[1], "parse") == 0)
		args->mode = MODE_PARSE;
	else if (strcmp(argv[1], "watermarks") == 0)
		args->mode = MODE_WATERMARKS;
	else {
		usage(stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		const char *opt = argv[i];
		if (opt[0] != '-' || opt[1] != '-') {
			if (args->topic_count == TOPICS_MAX) {
				fprintf(stderr, "ceiling: at most %d topics\n", TOPICS_MAX);
				return 2;
			}
			args->topics[args->topic_count++] = opt;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "ceiling: %s needs a value\n", opt);
			return 2;
		}
		const char *val = argv[++i];
		if (strcmp(opt, "--brokers") == 0)
			args->brokers = val;
		else if (strcmp(opt, "--group") == 0)
			args->group = val;
		else if (strcmp(opt, "--assignor") == 0)
			args->assignor = val;
		else if (strcmp(opt, "--count") == 0 && parse_count(val, &args->count) == 0)
			;
		else if (strcmp(opt, "--commit-every") == 0 && parse_count(val, &args->commit_every) == 0)
			;
		else {
			fprintf(stderr, "ceiling: bad option or value: %s %s\n", opt, val);
			return 2;
		}
	}
	if (!args->brokers || args->topic_count == 0 ||
	    (args->mode != MODE_WATERMARKS && (!args->group || args->count == 0))) {
		usage(stderr);
		return 2;
	}
	return 0;
}

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
	char errstr[512];
	if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "ceiling: %s=%s: %s\n", name, value, errstr);
		return -1;
	}
	return 0;
}

/* Reads args->count messages; prints the result line. Returns the exit status. */
static int consume_run(const struct ceiling_args *args)
{
	char errstr[512];
	rd_kafka_t *rk = NULL;
	rd_kafka_topic_partition_list_t *subs = NULL;
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	int status = 1;

	if (conf_set(conf, "bootstrap.servers", args->brokers) ||
	    conf_set(conf, "group.id", args->group) ||
	    conf_set(conf, "session.timeout.ms", "6000") ||
	    conf_set(conf, "partition.assignment.strategy", args->assignor) ||
	    conf_set(conf, "enable.auto.commit", "false") ||
	    conf_set(conf, "auto.offset.reset", "earliest") ||
	    conf_set(conf, "enable.partition.eof", "false") ||
	    conf_set(conf, "log.connection.close", "false"))
		goto done;
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "ceiling: rd_kafka_new: %s\n", errstr);
		goto done;
	}
	conf = NULL; /* owned by rk */
	rd_kafka_poll_set_consumer(rk);
	subs = rd_kafka_topic_partition_list_new(args->topic_count);
	for (int i = 0; i < args->topic_count; i++)
		rd_kafka_topic_partition_list_add(subs, args->topics[i], RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, subs);
	if (err) {
		fprintf(stderr, "ceiling: subscribe: %s\n", rd_kafka_err2str(err));
		goto done;
	}

	long long got = 0, parse_errors = 0, since_commit = 0;
	unsigned long long bytes = 0;
	double t_start = now_s(), t_first = 0, t_last = 0, t_recv = t_start;
	while (got < args->count) {
		rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 100);
		double t = now_s();
		if (!rkm) {
			if (got == 0 ? t - t_start > JOIN_TIMEOUT_S : t - t_recv > IDLE_TIMEOUT_S) {
				fprintf(stderr, "ceiling: no message for %.0f s after %lld of %lld\n",
				        t - t_recv, got, args->count);
				goto done;
			}
			continue;
		}
		if (rkm->err) {
			if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				fprintf(stderr, "ceiling: consumer error: %s\n", rd_kafka_message_errstr(rkm));
			rd_kafka_message_destroy(rkm);
			continue;
		}
		if (got == 0)
			t_first = t;
		if (args->mode == MODE_PARSE) {
			json_error_t jerr;
			json_t *root = json_loadb(rkm->payload, rkm->len, 0, &jerr);
			if (root)
				json_decref(root);
			else
				parse_errors++;
		}
		bytes += rkm->len;
		rd_kafka_message_destroy(rkm);
		got++;
		t_recv = t;
		if (++since_commit == args->commit_every) {
			rd_kafka_commit(rk, NULL, 1);
			since_commit = 0;
		}
	}
	t_last = now_s();
	rd_kafka_commit(rk, NULL, 0);
	double seconds = t_last - t_first;
	printf("mode=%s messages=%lld bytes=%llu seconds=%.3f events_per_s=%.0f join_s=%.3f "
	       "parse_errors=%lld\n",
	       args->mode == MODE_PARSE ? "parse" : "read", got, bytes, seconds,
	       seconds > 0 ? (double)got / seconds : 0.0, t_first - t_start, parse_errors);
	fflush(stdout);
	status = 0;

done:
	if (subs)
		rd_kafka_topic_partition_list_destroy(subs);
	if (rk) {
		rd_kafka_consumer_close(rk);
		rd_kafka_destroy(rk);
	}
	if (conf)
		rd_kafka_conf_destroy(conf);
	return status;
}

/* Prints partitions, messages and dropped messages per topic. Returns the exit status:
 * 0 when nothing was dropped, 1 when something was or a query failed. */
static int watermarks_run(const struct ceiling_args *args)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk = NULL;
	int status = 1;

	if (conf_set(conf, "bootstrap.servers", args->brokers) ||
	    conf_set(conf, "log.connection.close", "false"))
		goto done;
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "ceiling: rd_kafka_new: %s\n", errstr);
		goto done;
	}
	conf = NULL;
	status = 0;
	for (int t = 0; t < args->topic_count; t++) {
		rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, args->topics[t], NULL);
		const struct rd_kafka_metadata *md = NULL;
		rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
		rd_kafka_topic_destroy(rkt);
		if (err || md->topic_cnt != 1 || md->topics[0].err) {
			fprintf(stderr, "ceiling: metadata for %s: %s\n", args->topics[t],
			        rd_kafka_err2str(err ? err : md->topics[0].err));
			if (md)
				rd_kafka_metadata_destroy(md);
			status = 1;
			continue;
		}
		int partitions = md->topics[0].partition_cnt;
		long long messages = 0, dropped = 0, largest = 0;
		for (int p = 0; p < partitions; p++) {
			int64_t low = 0, high = 0;
			err = rd_kafka_query_watermark_offsets(rk, args->topics[t],
			                                       md->topics[0].partitions[p].id, &low, &high,
			                                       10000);
			if (err) {
				fprintf(stderr, "ceiling: watermarks of %s [%d]: %s\n", args->topics[t], p,
				        rd_kafka_err2str(err));
				status = 1;
				continue;
			}
			messages += high - low;
			dropped += low;
			if (high - low > largest)
				largest = high - low;
		}
		rd_kafka_metadata_destroy(md);
		printf("topic=%s partitions=%d messages=%lld dropped=%lld largest_partition=%lld\n",
		       args->topics[t], partitions, messages, dropped, largest);
		if (dropped)
			status = 1;
	}
	fflush(stdout);

done:
	if (rk)
		rd_kafka_destroy(rk);
	if (conf)
		rd_kafka_conf_destroy(conf);
	return status;
}

int main(int argc, char **argv)
{
	struct ceiling_args args;
	int rc = args_parse(argc, argv, &args);
	if (rc)
		return rc;
	return args.mode == MODE_WATERMARKS ? watermarks_run(&args) : consume_run(&args);
}
