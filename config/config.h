/*
 * config.h - riskd's configuration: one struct, filled from a declarative table of keys.
 *
 * Precedence, lowest first: built-in defaults, config/riskd.yaml (or --config PATH), the local
 * stack file named by `stack_env` (var/stack.env by default, read when it exists), then the
 * environment variables RISKD_KAFKA_BROKERS and RISKD_PG_DSN.
 * An unknown key, a wrong type or an out-of-range value is an error "file:line: error: ...".
 * Every string value of the file may name environment variables as ${NAME} ("$${" is a
 * literal "${"); an unset variable is an error (docs/config.md, docs/kafka.md).
 */
#ifndef RISKD_CONFIG_H
#define RISKD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "config/riskd_base.h"

#define CONFIG_STR_MAX 512
#define CONFIG_PATH_MAX 1024

#define CONFIG_PROPS_MAX 32          /* properties in one property map */
#define CONFIG_PROP_VALUE_MAX 4095   /* bytes of one property value */
#define CONFIG_PROPS_TEXT 16384      /* bytes of one map's names and values, NULs included */

/*
 * One map of librdkafka client properties (kafka.properties, kafka.consumer_properties,
 * kafka.producer_properties), in file order: names as written, values after ${ENV} expansion
 * and NAME_file reading. riskd passes them to librdkafka after its own settings. Read them
 * with config_prop_name / config_prop_value.
 */
struct config_props {
	int count;
	struct config_prop {
		uint16_t name_at;  /* offset of the name in text */
		uint16_t value_at; /* offset of the value in text */
		int line;          /* 1-based line of the entry in the config file */
		uint8_t secret;    /* the value came from ${ENV} or a file, or the name is a password's,
		                      a key's or a token's: never show it */
	} items[CONFIG_PROPS_MAX];
	char text[CONFIG_PROPS_TEXT];
};

#define CONFIG_TARIFFS_MAX 256      /* tariff codes in tariffs.prices */
#define CONFIG_CURRENCY_MAX 3       /* an ISO 4217 code: three capital letters */

/*
 * The price table of tariffs.prices, in file order: each tariff code a customer profile may
 * name (its `tariff`, as written) with its price per kWh in tariffs.currency. riskd prices
 * the stolen energy of a theft alert with it (docs/detection.md, "Stolen energy and
 * back-billing"); a code it does not hold has no price.
 */
struct config_tariffs {
	int count;
	struct config_tariff {
		char code[RISKD_SHORT_TEXT_MAX + 1];
		double price;      /* per kWh, finite, >= 0 */
		int line;          /* 1-based line of the entry in the config file */
	} items[CONFIG_TARIFFS_MAX];
};

struct riskd_config {
	/* kafka */
	char kafka_brokers[CONFIG_STR_MAX];        /* kafka.brokers, default "localhost:9092" */
	char kafka_group_id[CONFIG_STR_MAX];       /* kafka.group_id, default "riskd" */
	int kafka_session_timeout_ms;              /* kafka.session_timeout_ms, 3001..300000, default 6000 */
	int kafka_fetch_wait_max_ms;               /* kafka.fetch_wait_max_ms, 1..10000, default 50 */
	int kafka_prefetch_messages;               /* kafka.prefetch_messages, 1000..10000000,
	                                              default 1000000 */
	int kafka_prefetch_kbytes;                 /* kafka.prefetch_kbytes, 1024..2097151,
	                                              default 524288 */
	struct config_props kafka_properties;          /* kafka.properties, default {} */
	struct config_props kafka_consumer_properties; /* kafka.consumer_properties, default {} */
	struct config_props kafka_producer_properties; /* kafka.producer_properties, default {} */
	char topic_readings[CONFIG_STR_MAX];       /* topics.readings, default "meter.readings" */
	char topic_billing[CONFIG_STR_MAX];        /* topics.billing, default "billing.events" */
	char topic_profiles[CONFIG_STR_MAX];       /* topics.profiles, default "customer.profiles" */
	char topic_transformer[CONFIG_STR_MAX];    /* topics.transformer, default "transformer.readings" */
	char topic_review_queue[CONFIG_STR_MAX];   /* topics.review_queue, default "risk.review-queue" */
	char topic_credit_grades[CONFIG_STR_MAX];  /* topics.credit_grades, default "risk.credit-grades" */
	char topic_dead_letter[CONFIG_STR_MAX];    /* topics.dead_letter, default "risk.dead-letter" */
	/* batching */
	int batch_size;                            /* batch.size, 1..1000000, default 100000 */
	int batch_max_wait_ms;                     /* batch.max_wait_ms, 1..60000, default 500 */
	int checkpoint_interval_ms;                /* batch.checkpoint_interval_ms, 0..3600000,
	                                              default 10000 */
	/* postgres */
	char pg_dsn[CONFIG_STR_MAX];               /* postgres.dsn, default "dbname=riskd" */
	int pg_retry_max_ms;                       /* postgres.retry_max_ms, 100..600000, default 10000 */
	char pg_synchronous_commit[8];             /* postgres.synchronous_commit: on|off, default "off" */
	/* days and validation */
	char timezone[CONFIG_STR_MAX];             /* days.timezone, default "Asia/Shanghai" */
	int day_lateness_s;                        /* days.lateness_s, 0..604800, default 7200 */
	int attribution_window_days;               /* attribution.window_days, 7..90, default 28 */
	char attribution_score_after_area[8];      /* attribution.score_after_area: "on" | "off" */
	int attribution_history_days;              /* attribution.history_days, 7..56, default 28 */
	double max_kw_unknown_profile;             /* validation.max_kw_unknown_profile, 0.1..1e6, default 2000 */
	char restatements[16];                     /* ingest.restatements: conflict (default) or apply */
	/* rules and scoring */
	char rules_path[CONFIG_PATH_MAX];          /* rules.path, default "rules" */
	char scorecard_path[CONFIG_PATH_MAX];      /* scoring.scorecards, default "scoring/cards" */
	char attributes_path[CONFIG_PATH_MAX];     /* scoring.attributes, default
	                                              "scoring/attributes.yaml"; "" none */
	double grade_hysteresis_points;            /* scoring.grade_hysteresis_points, 0..1000, default 5 */
	/* back-billing */
	char tariff_currency[CONFIG_CURRENCY_MAX + 1]; /* tariffs.currency, "" or 3 capitals, default "" */
	struct config_tariffs tariffs;             /* tariffs.prices, default {} */
	/* operations */
	int metrics_port;                          /* metrics.port, 0..65535 (0 = off), default 9464 */
	char metrics_listen[64];                   /* metrics.listen: an IP address, default
	                                              "127.0.0.1" */
	int health_stall_s;                        /* health.stall_s, 1..86400, default 60 */
	int health_ready_max_lag;                  /* health.ready_max_lag, 0..2^31-1, default
	                                              100000 */
	/* analyst console (riskd-console) */
	char console_listen[64];                   /* console.listen, IPv4 address, default "127.0.0.1" */
	int console_port;                          /* console.port, 1..65535, default 9470 */
	char console_tls_cert[CONFIG_PATH_MAX];    /* console.tls_cert, PEM path, "" = plain HTTP */
	char console_tls_key[CONFIG_PATH_MAX];     /* console.tls_key, PEM path, "" = plain HTTP */
	char console_database[CONFIG_STR_MAX];     /* console.database, libpq DSN of analyst logins,
	                                              "" = postgres.dsn */
	int console_session_idle_s;                /* console.session_idle_s, 10..86400, default 1800 */
	int console_session_max_s;                 /* console.session_max_s, 300..604800, default 43200 */
	int console_threads;                       /* console.threads, 1..64, default 4 */
	int console_session_connections;           /* console.session_connections, 1..8, default 2 */
	char log_level[16];                        /* log.level: debug|info|warn|error, default "info" */
	char stack_env[CONFIG_PATH_MAX];           /* stack_env, default "var/stack.env"; "" = off */
};

/* Fills cfg with the built-in defaults of every key. */
void config_defaults(struct riskd_config *cfg);

/*
 * Loads the configuration: defaults, then the YAML file at path (NULL = defaults only), then
 * the stack env file (cfg->stack_env, if it exists), then the environment variables.
 * Returns 0, or a negative riskd_err with errstr set to "path:line: error: message"
 * (for example "config/riskd.yaml:7: error: unknown key 'batch.sise'"). On error *cfg is
 * unspecified and must not be used.
 */
int config_load(struct riskd_config *cfg, const char *path, char *errstr, size_t errstr_size);

/*
 * Applies KEY=VALUE lines of a stack env file (RISKD_KAFKA_BROKERS, RISKD_PG_DSN; '#'
 * comments and blank lines allowed, other keys ignored). Missing file: returns
 * RISKD_ERR_NOT_FOUND and leaves cfg alone.
 */
int config_apply_stack_env(struct riskd_config *cfg, const char *path, char *errstr,
                           size_t errstr_size);

/*
 * Checks that time zone tz exists on this machine: "UTC" (which needs no file), or a compiled
 * zone file (TZif) at $TZDIR/tz, /usr/share/zoneinfo/tz when TZDIR is unset: where the C
 * library will look once TZ names it. localday_init (scoring/localday.h) checks the form of
 * the name but reads no file; whoever configures a time zone calls both. Returns 0, or
 * RISKD_ERR_NOT_FOUND with errstr "unknown time zone 'X' (no zone file DIR/X; is tzdata
 * installed?)". Reads at most 4 bytes of one file.
 */
int config_timezone_check(const char *tz, char *errstr, size_t errstr_size);

/* The name of property i of props (0 <= i < props->count), NUL-terminated, owned by props. */
const char *config_prop_name(const struct config_props *props, int i);

/* The value of property i of props, NUL-terminated, owned by props. */
const char *config_prop_value(const struct config_props *props, int i);

/*
 * Appends to out the price table as the JSON object riskd hands PostgreSQL when it raises
 * alerts: {"currency": currency or null, "prices": {code: price, ...}} (prices to 15
 * significant digits, in file order).
 */
void config_tariffs_json(const struct config_tariffs *tariffs, const char *currency,
                         struct rbuf *out);

/* Writes every key with its type, range, default and doc, one per line, to out (a FILE *). */
void config_describe(void *out);

#endif
