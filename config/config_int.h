/*
 * config_int.h - private to config/config*.c: what the property maps (config_props.c) and the
 * ${ENV} expansion (config_expand.c) share with the YAML loader of config.c.
 */
#ifndef RISKD_CONFIG_INT_H
#define RISKD_CONFIG_INT_H

#include <stddef.h>

#include <yaml.h>

#include "config/config.h"

/* Longest piece of a value quoted in a message. */
#define CONFIG_SHOW_MAX 48

/* The YAML reader of config.c; one event is live at a time. */
struct config_loader;

/* Frees the live event and parses the next one. Returns 0 or a riskd_err (errstr set). */
int config_loader_next(struct config_loader *ld);

/* The live event, owned by the loader until the next config_loader_next. */
const yaml_event_t *config_loader_event(const struct config_loader *ld);

/* 1-based line where the live event starts. */
int config_loader_line(const struct config_loader *ld);

/* Refuses anchors, aliases and tags on the live event. Returns 0 or a riskd_err. */
int config_loader_check_node(struct config_loader *ld);

/* Writes "path:line: error: message" into the loader's errstr; returns err. */
int config_loader_fail(struct config_loader *ld, int line, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Whether a scalar event is YAML's null (plain "", "~", "null"). */
int config_scalar_is_null(const yaml_event_t *ev);

/* Describes a non-scalar event for "expected X, got Y" messages ("a mapping", ...). */
const char *config_node_noun(const yaml_event_t *ev);

/* Copies at most CONFIG_SHOW_MAX bytes of src[0..len) into dst for a message, control bytes
 * as '?', "..." when cut. Returns dst. dst_size must be at least CONFIG_SHOW_MAX + 4. */
const char *config_value_show(char *dst, size_t dst_size, const char *src, size_t len);

/*
 * Expands ${NAME} in text[0..len) from the environment into out (NUL-terminated, at most
 * out_size - 1 bytes; *out_len its length); "$${" stands for a literal "${". Sets *expanded
 * when a variable was substituted. On error returns RISKD_ERR_INVALID (unset variable, bad
 * name, no closing '}') or RISKD_ERR_RANGE (the result does not fit), with why naming the
 * variable but never its value.
 */
int config_expand_env(const char *text, size_t len, char *out, size_t out_size, size_t *out_len,
                      int *expanded, char *why, size_t why_size);

/* Longest name of a map entry (a librdkafka property, a tariff code), in bytes. */
#define CONFIG_MAP_NAME_MAX 128

/* What a map of named entries accepts, for config_map_read's messages and checks. */
struct config_map_shape {
	const char *entries;   /* "librdkafka properties": "expected a mapping of ..." */
	const char *name_noun; /* "a property name": "... must be a scalar" */
	const char *bad_name;  /* "a librdkafka property name": "'x' is not ..." */
	int (*name_ok)(const char *name, size_t len);  /* len <= CONFIG_MAP_NAME_MAX */
	/* stores one entry: its value node is the live event; name is NUL-terminated */
	int (*add)(struct config_loader *ld, void *arg, const char *key_name, const char *name,
	           size_t name_len, int line);
};

/*
 * Reads the value node of a map key (the live event: a mapping, or null for an empty map):
 * each entry's name is checked with shape->name_ok, then shape->add(ld, arg, ...) stores it
 * with its value node live. key_name ("kafka.properties") starts every message. Returns 0 or
 * a riskd_err with the loader's errstr set.
 */
int config_map_read(struct config_loader *ld, const char *key_name,
                    const struct config_map_shape *shape, void *arg);

/*
 * Reads the value of a property map key (the live event is its value node: a mapping, or
 * null for an empty map) into props: entries NAME: VALUE, and NAME_file: PATH which sets NAME
 * to the file's content. key_name ("kafka.properties") starts every message. Returns 0 or a
 * riskd_err with the loader's errstr set.
 */
int config_props_read(struct config_loader *ld, const char *key_name, struct config_props *props);

/*
 * Reads the value of tariffs.prices (the live event is its value node: a mapping of tariff
 * codes to prices per kWh, or null for an empty map) into tariffs. Returns 0 or a riskd_err
 * with the loader's errstr set ("path:line: error: tariffs.prices: ...").
 */
int config_tariffs_read(struct config_loader *ld, const char *key_name,
                        struct config_tariffs *tariffs);

/*
 * Parses one line of a stack env file in place. Sets *name and *value for a KEY=VALUE line
 * (an `export ` prefix and quotes around the value removed), leaves *name NULL for a blank
 * or comment line. Returns 0, or RISKD_ERR_INVALID with the reason in why.
 */
int config_stack_env_parse_line(char *line, char **name, char **value, char *why,
                                size_t why_size);

#endif
