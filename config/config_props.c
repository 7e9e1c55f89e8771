/*
 * config_props.c - the librdkafka property maps of the config file: kafka.properties (both
 * clients), kafka.consumer_properties and kafka.producer_properties. Each is a mapping of
 * librdkafka property names to scalar values, kept as text in struct config_props and handed
 * to librdkafka after riskd's own settings (streams/kafka_conf.c checks them with
 * librdkafka's own messages).
 *
 * Here: the names riskd governs itself are refused with the reason; NAME_file: PATH sets NAME
 * to the content of a file (secrets kept outside the YAML); ${ENV} is expanded in values;
 * values that may be secret are marked so that no message ever shows them.
 */
#include "config/config_int.h"
#include "config/riskd_base.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define FILE_SUFFIX "_file"

/* Properties riskd sets itself, and why a map may not set them. */
static const struct {
	const char *name;
	const char *why;
} governed[] = {
	{"bootstrap.servers", "set kafka.brokers instead"},
	{"metadata.broker.list", "set kafka.brokers instead"},
	{"group.id", "set kafka.group_id instead"},
	{"session.timeout.ms", "set kafka.session_timeout_ms instead"},
	{"fetch.wait.max.ms", "set kafka.fetch_wait_max_ms instead"},
	{"queued.min.messages", "set kafka.prefetch_messages instead"},
	{"queued.max.messages.kbytes", "set kafka.prefetch_kbytes instead"},
	{"enable.auto.commit", "riskd keeps offsets in PostgreSQL, committed with each batch"},
	{"auto.commit.enable", "riskd keeps offsets in PostgreSQL, committed with each batch"},
	{"auto.commit.interval.ms", "riskd keeps offsets in PostgreSQL, committed with each batch"},
	{"enable.auto.offset.store", "riskd keeps offsets in PostgreSQL, committed with each batch"},
	{"offset.store.method", "riskd keeps offsets in PostgreSQL, committed with each batch"},
	{"enable.partition.eof", "riskd keeps offsets in PostgreSQL and reads on past the end"},
	{"auto.offset.reset", "a partition with no offset in PostgreSQL is read from its "
	                      "beginning; anything else would skip input"},
	{"enable.idempotence", "exactly-once output depends on riskd's idempotent producer"},
	{"acks", "exactly-once output depends on acks=all (the idempotent producer's)"},
	{"request.required.acks", "exactly-once output depends on acks=all (the idempotent "
	                          "producer's)"},
	{"transactional.id", "riskd's producer is idempotent, not transactional: exactly-once "
	                     "output comes from the outbox"},
	{"delivery.report.only.error", "the outbox relay deletes a row only on its message's "
	                               "delivery report"},
	{"partitioner", "co-partitioning depends on it: keys go where Java clients put them "
	                "(murmur2_random)"},
	{"message.max.bytes", "riskd refuses larger messages itself before queueing them "
	                      "(docs/kafka.md)"},
};

/* Names whose values are secrets whatever their source (librdkafka's sensitive properties:
 * passwords, inline keys, JAAS and OAUTHBEARER configs, client secrets). */
static int name_is_secret(const char *name)
{
	static const char *const marks[] = {"password", "secret", "jaas", "token",
	                                    "oauthbearer.config", ".pem"};
	for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
		if (strstr(name, marks[i]))
			return 1;
	return 0;
}

const char *config_prop_name(const struct config_props *props, int i)
{
	return props->text + props->items[i].name_at;
}

const char *config_prop_value(const struct config_props *props, int i)
{
	return props->text + props->items[i].value_at;
}

/* Property names are librdkafka's: letters, digits, '.', '_' and '-'. */
static int name_ok(const char *name, size_t len)
{
	if (len == 0 || len > 128)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Reads the file at path into value (at most CONFIG_PROP_VALUE_MAX bytes, one trailing newline
 * dropped). Returns 0, or a riskd_err with why naming the file. */
static int value_from_file(const char *path, char *value, size_t *len, char *why, size_t why_size)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		int e = errno;
		snprintf(why, why_size, "cannot open '%s': %s", path, strerror(e));
		return e == ENOENT ? RISKD_ERR_NOT_FOUND : RISKD_ERR_IO;
	}
	size_t n = fread(value, 1, CONFIG_PROP_VALUE_MAX + 1, fp);
	int failed = ferror(fp);
	fclose(fp);
	if (failed) {
		snprintf(why, why_size, "cannot read '%s'", path);
		return RISKD_ERR_IO;
	}
	if (n > 0 && value[n - 1] == '\n')
		n -= (n > 1 && value[n - 2] == '\r') ? 2 : 1;
	if (n > CONFIG_PROP_VALUE_MAX) {
		snprintf(why, why_size, "'%s' is larger than %d bytes (give librdkafka a file with an "
		         "ssl.*.location property instead)", path, CONFIG_PROP_VALUE_MAX);
		return RISKD_ERR_RANGE;
	}
	if (memchr(value, '\0', n)) {
		snprintf(why, why_size, "'%s' holds a NUL byte", path);
		return RISKD_ERR_INVALID;
	}
	value[n] = '\0';
	*len = n;
	return 0;
}

/* Appends text[0..len) and a NUL to props' text; returns its offset, or -1 when full. */
static int text_add(struct config_props *props, size_t *used, const char *text, size_t len)
{
	if (len + 1 > sizeof props->text - *used)
		return -1;
	size_t at = *used;
	memcpy(props->text + at, text, len);
	props->text[at + len] = '\0';
	*used += len + 1;
	return (int)at;
}

/* Stores one entry; the live event is its value scalar, name the key as written. */
static int prop_add(struct config_loader *ld, const char *key_name, struct config_props *props,
                    size_t *used, const char *name, size_t name_len, int line)
{
	char why[CONFIG_PATH_MAX + 200];
	char value[CONFIG_PROP_VALUE_MAX + 1];
	size_t len = 0;
	int expanded = 0, from_file = 0;
	const yaml_event_t *ev = config_loader_event(ld);
	if (ev->type != YAML_SCALAR_EVENT)
		return config_loader_fail(ld, config_loader_line(ld), RISKD_ERR_INVALID,
		                          "%s: %.*s: expected a value, got %s", key_name, (int)name_len,
		                          name, config_node_noun(ev));
	if (config_scalar_is_null(ev))
		return config_loader_fail(ld, config_loader_line(ld), RISKD_ERR_INVALID,
		                          "%s: %.*s: missing value", key_name, (int)name_len, name);
	if (name_len > strlen(FILE_SUFFIX) &&
	    memcmp(name + name_len - strlen(FILE_SUFFIX), FILE_SUFFIX, strlen(FILE_SUFFIX)) == 0) {
		from_file = 1;
		name_len -= strlen(FILE_SUFFIX);
	}
	const char *written = (const char *)ev->data.scalar.value;
	int rc = config_expand_env(written, ev->data.scalar.length, value, sizeof value, &len,
	                           &expanded, why, sizeof why);
	if (rc == 0 && !from_file && memchr(value, '\0', len)) {
		snprintf(why, sizeof why, "the value holds a NUL byte");
		rc = RISKD_ERR_INVALID;
	}
	if (rc == 0 && from_file && len >= CONFIG_PATH_MAX) {
		snprintf(why, sizeof why, "the path is longer than %d bytes", CONFIG_PATH_MAX - 1);
		rc = RISKD_ERR_RANGE;
	} else if (rc == 0 && from_file) {
		char path[CONFIG_PATH_MAX];
		memcpy(path, value, len + 1);
		rc = value_from_file(path, value, &len, why, sizeof why);
	}
	if (rc)
		return config_loader_fail(ld, config_loader_line(ld), rc, "%s: %.*s%s: %s", key_name,
		                          (int)name_len, name, from_file ? FILE_SUFFIX : "", why);
	for (size_t i = 0; i < sizeof governed / sizeof governed[0]; i++) {
		if (strlen(governed[i].name) == name_len && memcmp(governed[i].name, name, name_len) == 0)
			return config_loader_fail(ld, line, RISKD_ERR_INVALID,
			                          "%s: %s is set by riskd itself: %s", key_name,
			                          governed[i].name, governed[i].why);
	}
	for (int i = 0; i < props->count; i++) {
		const char *other = config_prop_name(props, i);
		if (strlen(other) == name_len && memcmp(other, name, name_len) == 0)
			return config_loader_fail(ld, line, RISKD_ERR_INVALID,
			                          "%s: duplicate property '%s' (first on line %d)", key_name,
			                          other, props->items[i].line);
	}
	if (props->count == CONFIG_PROPS_MAX)
		return config_loader_fail(ld, line, RISKD_ERR_RANGE, "%s: more than %d properties",
		                          key_name, CONFIG_PROPS_MAX);
	struct config_prop *item = &props->items[props->count];
	int name_at = text_add(props, used, name, name_len);
	int value_at = name_at < 0 ? -1 : text_add(props, used, value, len);
	if (value_at < 0)
		return config_loader_fail(ld, line, RISKD_ERR_RANGE,
		                          "%s: the names and values of the map exceed %d bytes",
		                          key_name, CONFIG_PROPS_TEXT);
	item->name_at = (uint16_t)name_at;
	item->value_at = (uint16_t)value_at;
	item->line = line;
	item->secret = (uint8_t)(expanded || from_file || name_is_secret(props->text + name_at));
	props->count++;
	return 0;
}

int config_map_read(struct config_loader *ld, const char *key_name,
                    const struct config_map_shape *shape, void *arg)
{
	char shown[CONFIG_SHOW_MAX + 4];
	const yaml_event_t *ev = config_loader_event(ld);
	if (ev->type == YAML_SCALAR_EVENT && config_scalar_is_null(ev))
		return 0; /* the key with nothing under it: an empty map */
	if (ev->type == YAML_SCALAR_EVENT)
		return config_loader_fail(ld, config_loader_line(ld), RISKD_ERR_INVALID,
		                          "%s: expected a mapping of %s, got '%s'", key_name,
		                          shape->entries,
		                          config_value_show(shown, sizeof shown,
		                                            (const char *)ev->data.scalar.value,
		                                            ev->data.scalar.length));
	if (ev->type != YAML_MAPPING_START_EVENT)
		return config_loader_fail(ld, config_loader_line(ld), RISKD_ERR_INVALID,
		                          "%s: expected a mapping of %s, got %s", key_name,
		                          shape->entries, config_node_noun(ev));
	for (;;) {
		int rc = config_loader_next(ld);
		if (rc)
			return rc;
		ev = config_loader_event(ld);
		if (ev->type == YAML_MAPPING_END_EVENT)
			return 0;
		if ((rc = config_loader_check_node(ld)))
			return rc;
		int line = config_loader_line(ld);
		if (ev->type != YAML_SCALAR_EVENT)
			return config_loader_fail(ld, line, RISKD_ERR_INVALID,
			                          "%s: %s must be a scalar, got %s", key_name,
			                          shape->name_noun, config_node_noun(ev));
		char name[CONFIG_MAP_NAME_MAX + 1];
		size_t name_len = ev->data.scalar.length;
		if (name_len > CONFIG_MAP_NAME_MAX ||
		    !shape->name_ok((const char *)ev->data.scalar.value, name_len))
			return config_loader_fail(ld, line, RISKD_ERR_INVALID, "%s: '%s' is not %s",
			                          key_name,
			                          config_value_show(shown, sizeof shown,
			                                            (const char *)ev->data.scalar.value,
			                                            name_len),
			                          shape->bad_name);
		memcpy(name, ev->data.scalar.value, name_len);
		name[name_len] = '\0';
		if ((rc = config_loader_next(ld)) || (rc = config_loader_check_node(ld)) ||
		    (rc = shape->add(ld, arg, key_name, name, name_len, line)))
			return rc;
	}
}

/* The map being filled, for prop_entry. */
struct props_fill {
	struct config_props *props;
	size_t used;
};

static int prop_entry(struct config_loader *ld, void *arg, const char *key_name,
                      const char *name, size_t name_len, int line)
{
	struct props_fill *fill = arg;
	return prop_add(ld, key_name, fill->props, &fill->used, name, name_len, line);
}

int config_props_read(struct config_loader *ld, const char *key_name, struct config_props *props)
{
	static const struct config_map_shape shape = {
	    "librdkafka properties", "a property name", "a librdkafka property name", name_ok,
	    prop_entry};
	struct props_fill fill = {props, 0};
	memset(props, 0, sizeof *props);
	return config_map_read(ld, key_name, &shape, &fill);
}
