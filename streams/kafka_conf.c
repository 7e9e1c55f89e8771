/*
 * kafka_conf.c - the librdkafka configuration of riskd's two Kafka clients: riskd's own
 * settings first, then the config file's property maps (kafka.properties, then
 * kafka.consumer_properties or kafka.producer_properties) exactly as written, so an operator
 * can set TLS, SASL, client.id, static membership or any other client property.
 *
 * Every message from librdkafka about them passes through kafka_conf_mask, which hides the
 * values that may be secrets (config_props' secret flag). kafka_config_check runs the whole
 * configuration through librdkafka once at startup, so a bad property stops riskd with
 * librdkafka's own words, the file and the line.
 */
#include "kafka.h"

#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "../config/config.h"
#include "../config/riskd_base.h"
#include "kafka_int.h"

#define HIDDEN "(secret)"

static int is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Replaces every occurrence of value in text (of size bytes) that is not part of a longer
 * word by HIDDEN: librdkafka quotes values or ends its message with them, and a short
 * secret ("p") must not mangle the words around it. */
static void mask_value(char *text, size_t size, const char *value)
{
	size_t vlen = strlen(value), hlen = strlen(HIDDEN);
	char *at = text;
	if (vlen == 0)
		return;
	while ((at = strstr(at, value)) != NULL) {
		if ((at > text && is_word_char(at[-1]) && is_word_char(value[0])) ||
		    (is_word_char(at[vlen]) && is_word_char(value[vlen - 1]))) {
			at++;
			continue;
		}
		size_t tail = strlen(at + vlen);
		size_t room = size - (size_t)(at - text) - 1; /* bytes after at, NUL excluded */
		if (hlen > room)
			hlen = room;
		if (tail > room - hlen)
			tail = room - hlen;
		memmove(at + hlen, at + vlen, tail);
		memcpy(at, HIDDEN, hlen);
		at[hlen + tail] = '\0';
		at += hlen;
	}
}

void kafka_conf_mask(char *text, size_t size, const struct kafka_props *props)
{
	size_t n = strlen(text);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
		text[--n] = '\0'; /* some of librdkafka's messages end in a newline */
	const struct config_props *maps[] = {props->common, props->specific};
	for (size_t m = 0; m < 2; m++) {
		for (int i = 0; maps[m] && i < maps[m]->count; i++)
			if (maps[m]->items[i].secret)
				mask_value(text, size, config_prop_value(maps[m], i));
	}
}

/* Sets the properties of one map on conf. On failure writes "KEY: NAME: librdkafka's text"
 * (masked) to errstr and the entry's line to *line. */
static int apply_map(rd_kafka_conf_t *conf, const struct config_props *map, const char *key,
                     const struct kafka_props *props, int *line, char *errstr,
                     size_t errstr_size)
{
	char why[512];
	for (int i = 0; map && i < map->count; i++) {
		const char *name = config_prop_name(map, i);
		if (rd_kafka_conf_set(conf, name, config_prop_value(map, i), why, sizeof why) ==
		    RD_KAFKA_CONF_OK)
			continue;
		kafka_conf_mask(why, sizeof why, props);
		snprintf(errstr, errstr_size, "%s: %s: %s", key, name, why);
		*line = map->items[i].line;
		return -1;
	}
	return 0;
}

int kafka_conf_apply(rd_kafka_conf_t *conf, const char *const (*settings)[2], size_t n,
                     const struct kafka_props *props, int *line, char *errstr,
                     size_t errstr_size)
{
	*line = 0;
	for (size_t i = 0; i < n; i++) {
		if (rd_kafka_conf_set(conf, settings[i][0], settings[i][1], errstr, errstr_size) !=
		    RD_KAFKA_CONF_OK)
			return -1;
	}
	if (apply_map(conf, props->common, "kafka.properties", props, line, errstr, errstr_size))
		return -1;
	return apply_map(conf, props->specific, props->specific_key, props, line, errstr,
	                 errstr_size);
}

/* Finds the entry of props whose name librdkafka's message mentions (the first one). */
static void blame_property(const struct kafka_props *props, const char *message,
                           const char **key, const char **name, int *line)
{
	const struct config_props *maps[] = {props->specific, props->common};
	const char *keys[] = {props->specific_key, "kafka.properties"};
	for (size_t m = 0; m < 2; m++) {
		for (int i = 0; maps[m] && i < maps[m]->count; i++) {
			if (strstr(message, config_prop_name(maps[m], i))) {
				*key = keys[m];
				*name = config_prop_name(maps[m], i);
				*line = maps[m]->items[i].line;
				return;
			}
		}
	}
}

static void discard_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk, (void)level, (void)fac, (void)buf;
}

/* Creates a client of type from conf (consumed) and destroys it at once: librdkafka checks
 * the combination of properties (assignors, SASL mechanisms, TLS files) only here. */
static int try_client(rd_kafka_type_t type, rd_kafka_conf_t *conf, const struct kafka_props *props,
                      const char *path, const char *client, char *errstr, size_t errstr_size)
{
	char why[512];
	rd_kafka_conf_set_log_cb(conf, discard_log);
	rd_kafka_t *rk = rd_kafka_new(type, conf, why, sizeof why);
	if (rk) {
		rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
		return 0;
	}
	rd_kafka_conf_destroy(conf);
	kafka_conf_mask(why, sizeof why, props);
	const char *key = NULL, *name = NULL;
	int line = 0;
	blame_property(props, why, &key, &name, &line);
	if (key)
		snprintf(errstr, errstr_size, "%s:%d: error: %s: %s: %s", path, line, key, name, why);
	else
		snprintf(errstr, errstr_size, "%s: error: the Kafka %s's properties: %s", path, client,
		         why);
	return RISKD_ERR_INVALID;
}

struct kafka_consumer_conf kafka_consumer_conf_of(const struct riskd_config *cfg)
{
	return (struct kafka_consumer_conf){
	    .brokers = cfg->kafka_brokers,
	    .group_id = cfg->kafka_group_id,
	    .session_timeout_ms = cfg->kafka_session_timeout_ms,
	    .fetch_wait_max_ms = cfg->kafka_fetch_wait_max_ms,
	    .prefetch_messages = cfg->kafka_prefetch_messages,
	    .prefetch_kbytes = cfg->kafka_prefetch_kbytes,
	    .props = {&cfg->kafka_properties, &cfg->kafka_consumer_properties,
	              "kafka.consumer_properties"},
	};
}

int kafka_config_check(const struct riskd_config *cfg, const char *path, char *errstr,
                       size_t errstr_size)
{
	char why[700];
	int line = 0;
	const struct kafka_props producer = {&cfg->kafka_properties, &cfg->kafka_producer_properties,
	                                     "kafka.producer_properties"};
	const struct kafka_consumer_conf kconf = kafka_consumer_conf_of(cfg);
	rd_kafka_conf_t *conf = kafka_consumer_conf_build(&kconf, &line, why, sizeof why);
	if (!conf)
		goto fail;
	if (try_client(RD_KAFKA_CONSUMER, conf, &kconf.props, path, "consumer", errstr,
	               errstr_size))
		return RISKD_ERR_INVALID;
	conf = kafka_producer_conf_build(cfg->kafka_brokers, &producer, &line, why, sizeof why);
	if (!conf)
		goto fail;
	return try_client(RD_KAFKA_PRODUCER, conf, &producer, path, "producer", errstr, errstr_size);
fail:
	if (line)
		snprintf(errstr, errstr_size, "%s:%d: error: %s", path, line, why);
	else
		snprintf(errstr, errstr_size, "%s: error: %s", path, why);
	return RISKD_ERR_INVALID;
}
