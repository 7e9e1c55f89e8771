/*
 * riskctl_produce.c - `riskctl produce`: publishes one JSON event per stdin line to Kafka with
 * the idempotent producer, keyed by customer_id (transformer_id for transformer readings),
 * either to one --topic or, with --route, to the input topic that carries each event's type.
 * Lines are sent byte for byte, valid or not: riskd is the judge, and dead-letters bad ones.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../config/config.h"
#include "../streams/kafka.h"
#include "riskctl.h"

enum { ROUTE_READINGS, ROUTE_BILLING, ROUTE_PROFILES, ROUTE_TRANSFORMER, ROUTE__COUNT };

/*
 * Finds "name": "value" in a one-line JSON object and returns a pointer to value (len in
 * *len), or NULL when absent or when the value holds an escape (the caller then parses
 * the line properly).
 */
static const char *scan_string_field(const char *line, size_t n, const char *name, size_t *len)
{
	size_t name_len = strlen(name);
	const char *end = line + n;
	for (const char *p = line; p + name_len + 2 < end; p++) {
		p = memchr(p, '"', (size_t)(end - p));
		if (!p || p + name_len + 2 >= end)
			return NULL;
		if (memcmp(p + 1, name, name_len) != 0 || p[name_len + 1] != '"')
			continue;
		const char *v = p + name_len + 2;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		if (v >= end || *v != ':')
			continue;
		v++;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		if (v >= end || *v != '"')
			continue;
		v++;
		const char *q = v;
		while (q < end && *q != '"' && *q != '\\')
			q++;
		if (q >= end || *q == '\\')
			return NULL;
		*len = (size_t)(q - v);
		return v;
	}
	return NULL;
}

/* Key and type of one line; fast scan first, jansson when the scan is unsure. */
struct line_info {
	char key[256];
	size_t key_len;
	char type[32];
};

static void line_info_parse(const char *line, size_t n, struct line_info *info)
{
	size_t len;
	const char *v;

	info->key_len = 0;
	info->type[0] = '\0';
	if ((v = scan_string_field(line, n, "type", &len)) && len < sizeof(info->type)) {
		memcpy(info->type, v, len);
		info->type[len] = '\0';
	}
	const char *key_name =
	    strcmp(info->type, "transformer_reading") == 0 ? "transformer_id" : "customer_id";
	if ((v = scan_string_field(line, n, key_name, &len)) && len < sizeof(info->key)) {
		memcpy(info->key, v, len);
		info->key_len = len;
		return;
	}
	json_t *root = json_loadb(line, n, 0, NULL);
	if (!root)
		return;
	const char *type = json_string_value(json_object_get(root, "type"));
	if (type && strlen(type) < sizeof(info->type))
		strcpy(info->type, type);
	key_name = type && strcmp(type, "transformer_reading") == 0 ? "transformer_id"
	                                                               : "customer_id";
	json_t *key = json_object_get(root, key_name);
	if (json_is_string(key) && json_string_length(key) < sizeof(info->key)) {
		info->key_len = json_string_length(key);
		memcpy(info->key, json_string_value(key), info->key_len);
	}
	json_decref(root);
}

static int route_of_type(const char *type)
{
	static const char *const types[] = {"meter_reading", "meter_event", "bill", "payment",
	                                    "payment_reversal", "customer", "transformer_reading"};
	static const int routes[] = {ROUTE_READINGS, ROUTE_READINGS, ROUTE_BILLING, ROUTE_BILLING,
	                             ROUTE_BILLING, ROUTE_PROFILES, ROUTE_TRANSFORMER};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(type, types[i]) == 0)
			return routes[i];
	return ROUTE_READINGS; /* unknown: the readings topic, where riskd dead-letters it */
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: riskctl produce (--topic TOPIC | --route) [--config PATH] [--brokers LIST]\n"
	        "                       < events.jsonl\n"
	        "Publishes one JSON event per line, keyed by customer_id (transformer_id for\n"
	        "transformer readings), with an idempotent producer. --route sends each line to the\n"
	        "input topic of its type (topics.* in the configuration); lines whose type is unknown\n"
	        "go to the readings topic. Prints counts on stderr; exits 1 if any delivery failed.\n");
}

int produce_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"topic", required_argument, NULL, 't'}, {"route", no_argument, NULL, 'r'},
		{"config", required_argument, NULL, 'c'}, {"brokers", required_argument, NULL, 'b'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	const char *topic = NULL, *config_path = NULL, *brokers = NULL;
	int route = 0, opt, rc = 1;
	char errstr[1024];
	static struct riskd_config cfg;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "t:rc:b:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 't': topic = optarg; break;
		case 'r': route = 1; break;
		case 'c': config_path = optarg; break;
		case 'b': brokers = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if ((!topic) == (!route)) {
		fprintf(stderr, "riskctl produce: give exactly one of --topic TOPIC or --route\n");
		return 2;
	}
	if (config_load(&cfg, config_path, errstr, sizeof(errstr)) != 0 ||
	    kafka_config_check(&cfg, config_path ? config_path : "(defaults)", errstr,
	                       sizeof(errstr)) != 0) {
		fprintf(stderr, "%s\n", errstr);
		return 1;
	}
	const char *topics[ROUTE__COUNT] = {cfg.topic_readings, cfg.topic_billing, cfg.topic_profiles,
	                                    cfg.topic_transformer};
	uint64_t per_topic[ROUTE__COUNT] = {0};
	const struct kafka_props props = {&cfg.kafka_properties, &cfg.kafka_producer_properties,
	                                  "kafka.producer_properties"};
	struct kafka_producer *kp =
	    kafka_producer_new(brokers ? brokers : cfg.kafka_brokers, &props, errstr, sizeof(errstr));
	if (!kp) {
		fprintf(stderr, "riskctl produce: %s\n", errstr);
		return 1;
	}

	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t lines = 0, sent = 0, unkeyed = 0, empty = 0;
	struct line_info info;
	while ((n = getline(&line, &cap, stdin)) != -1) {
		lines++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (n == 0) {
			empty++;
			continue;
		}
		line_info_parse(line, (size_t)n, &info);
		int r = route ? route_of_type(info.type) : 0;
		if (!info.key_len)
			unkeyed++;
		if (kafka_producer_send(kp, route ? topics[r] : topic, info.key, info.key_len, line,
		                        (size_t)n, NULL, 0, errstr, sizeof(errstr)) != 0) {
			fprintf(stderr, "riskctl produce: line %llu: %s\n", (unsigned long long)lines,
			        errstr);
			goto done;
		}
		sent++;
		per_topic[r]++;
	}
	int failed = kafka_producer_flush(kp, 120000, errstr, sizeof(errstr));
	if (failed != 0) {
		fprintf(stderr, "riskctl produce: %s\n", errstr);
		goto done;
	}
	rc = 0;
done:
	fprintf(stderr, "produced=%llu delivered=%llu unkeyed=%llu empty_lines=%llu",
	        (unsigned long long)sent, (unsigned long long)kafka_producer_delivered(kp),
	        (unsigned long long)unkeyed, (unsigned long long)empty);
	if (route)
		for (int r = 0; r < ROUTE__COUNT; r++)
			fprintf(stderr, " %s=%llu", topics[r], (unsigned long long)per_topic[r]);
	fprintf(stderr, "\n");
	free(line);
	kafka_producer_destroy(kp);
	return rc;
}
