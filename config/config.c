/*
 * config.c - riskd's configuration loader: a declarative table of keys, a strict YAML reader
 * (libyaml event API) that fills struct riskd_config from it, the stack env file and the
 * environment overrides, and one finalize step for checks that span several keys.
 *
 * It runs once at startup (and in riskctl), before any Kafka or PostgreSQL connection is made.
 * Every problem stops the load with one message "path:line: error: message"; nothing is ever
 * accepted with a warning.
 */
#include "config/config.h"
#include "config/config_int.h"
#include "config/riskd_base.h"
#include "config/suggest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

enum config_type {
	CONFIG_STRING, /* text; min..max bound its length in bytes */
	CONFIG_INT,    /* int; min..max bound the value */
	CONFIG_DOUBLE, /* finite double; dmin..dmax bound the value */
	CONFIG_CHOICE, /* text that must be one of choices[] */
	CONFIG_PROPS,  /* a map of librdkafka properties (config_props.c) */
	CONFIG_TARIFFS /* a map of tariff codes to prices per kWh (config_tariffs.c) */
};

struct config_key {
	const char *name;           /* dotted YAML path: "batch.size" is `batch:` then `size:` */
	enum config_type type;
	size_t offset;              /* of the field in struct riskd_config */
	size_t size;                /* of the field */
	long long min, max;         /* CONFIG_INT: value range; CONFIG_STRING: length range */
	double dmin, dmax;          /* CONFIG_DOUBLE: value range */
	long long def_int;
	double def_double;
	const char *def_str;        /* CONFIG_STRING and CONFIG_CHOICE */
	const char *const *choices; /* CONFIG_CHOICE, NULL-terminated */
	int is_topic;               /* value must be a legal Kafka topic name */
	const char *doc;
};

/* Subtracting a pointer of the wrong type is a compile error: this pins each entry's C type. */
#define FIELD_OFFSET(f, ctype)                                                                     \
	(offsetof(struct riskd_config, f) +                                                            \
	 0 * sizeof(&((struct riskd_config *)0)->f[0] - (ctype *)0))
#define SCALAR_OFFSET(f, ctype)                                                                    \
	(offsetof(struct riskd_config, f) + 0 * sizeof(&((struct riskd_config *)0)->f - (ctype *)0))
#define FIELD_SIZE(f) sizeof(((struct riskd_config *)0)->f)

#define KEY_STRING(n, f, minlen, d, text)                                                          \
	{ .name = n, .type = CONFIG_STRING, .offset = FIELD_OFFSET(f, char), .size = FIELD_SIZE(f),    \
	  .min = minlen, .max = (long long)FIELD_SIZE(f) - 1, .def_str = d, .doc = text }
#define KEY_TOPIC(n, f, d, text)                                                                   \
	{ .name = n, .type = CONFIG_STRING, .offset = FIELD_OFFSET(f, char), .size = FIELD_SIZE(f),    \
	  .min = 1, .max = TOPIC_NAME_MAX, .def_str = d, .is_topic = 1, .doc = text }
#define KEY_INT(n, f, lo, hi, d, text)                                                             \
	{ .name = n, .type = CONFIG_INT, .offset = SCALAR_OFFSET(f, int), .size = FIELD_SIZE(f),       \
	  .min = lo, .max = hi, .def_int = d, .doc = text }
#define KEY_DOUBLE(n, f, lo, hi, d, text)                                                          \
	{ .name = n, .type = CONFIG_DOUBLE, .offset = SCALAR_OFFSET(f, double), .size = FIELD_SIZE(f), \
	  .dmin = lo, .dmax = hi, .def_double = d, .doc = text }
#define KEY_CHOICE(n, f, list, d, text)                                                            \
	{ .name = n, .type = CONFIG_CHOICE, .offset = FIELD_OFFSET(f, char), .size = FIELD_SIZE(f),    \
	  .min = 1, .max = (long long)FIELD_SIZE(f) - 1, .def_str = d, .choices = list, .doc = text }

#define KEY_PROPS(n, f, text)                                                                      \
	{ .name = n, .type = CONFIG_PROPS,                                                             \
	  .offset = offsetof(struct riskd_config, f) +                                                 \
	            0 * sizeof(&((struct riskd_config *)0)->f - (struct config_props *)0),             \
	  .size = FIELD_SIZE(f), .max = CONFIG_PROPS_MAX, .doc = text }

#define KEY_TARIFFS(n, f, text)                                                                    \
	{ .name = n, .type = CONFIG_TARIFFS,                                                           \
	  .offset = offsetof(struct riskd_config, f) +                                                 \
	            0 * sizeof(&((struct riskd_config *)0)->f - (struct config_tariffs *)0),           \
	  .size = FIELD_SIZE(f), .max = CONFIG_TARIFFS_MAX, .doc = text }

/* Kafka refuses topic names longer than this. */
#define TOPIC_NAME_MAX 249
/* Config and stack env files are small; anything bigger is a mistake (a wrong path). */
#define CONFIG_FILE_MAX (1024 * 1024)
/* Longest key text kept for messages and lookups; every real key is far shorter. */
#define KEY_TEXT_MAX 128
/* Longest piece of a value quoted in a message. */
#define SHOW_MAX CONFIG_SHOW_MAX

static const char *const log_levels[] = { "debug", "info", "warn", "error", NULL };
static const char *const on_off[] = { "on", "off", NULL };
static const char *const restatement_modes[] = { "conflict", "apply", NULL };

static const struct config_key config_keys[] = {
	KEY_STRING("kafka.brokers", kafka_brokers, 1, "localhost:9092",
	           "Kafka bootstrap servers, host:port[,host:port...]; RISKD_KAFKA_BROKERS overrides it"),
	KEY_STRING("kafka.group_id", kafka_group_id, 1, "riskd",
	           "Kafka consumer group; riskd instances in one group split the input partitions"),
	KEY_INT("kafka.session_timeout_ms", kafka_session_timeout_ms, 3001, 300000, 6000,
	        "consumer group session timeout in ms (the mock cluster needs more than 3000)"),
	KEY_INT("kafka.fetch_wait_max_ms", kafka_fetch_wait_max_ms, 1, 10000, 50,
	        "longest a broker may hold a fetch that found no new messages, in ms: bounds the "
	        "delay of the first message after a quiet spell"),
	KEY_INT("kafka.prefetch_messages", kafka_prefetch_messages, 1000, 10000000, 1000000,
	        "messages the consumer may fetch ahead of processing: enough that fetching never "
	        "waits for a batch to be processed (costs memory: about 150 MB at 1,000,000)"),
	KEY_INT("kafka.prefetch_kbytes", kafka_prefetch_kbytes, 1024, 2097151, 524288,
	        "kilobytes of message payload the consumer may fetch ahead of processing: caps the "
	        "prefetch's memory; fetching backs off for a second whenever it is reached"),
	KEY_PROPS("kafka.properties", kafka_properties,
	          "librdkafka properties of both clients (TLS, SASL, client.id, ...), passed as "
	          "given after riskd's own settings; docs/kafka.md"),
	KEY_PROPS("kafka.consumer_properties", kafka_consumer_properties,
	          "librdkafka properties of the consumer only, applied after kafka.properties "
	          "(partition.assignment.strategy, group.instance.id, ...)"),
	KEY_PROPS("kafka.producer_properties", kafka_producer_properties,
	          "librdkafka properties of the producer only, applied after kafka.properties"),
	KEY_TOPIC("topics.readings", topic_readings, "meter.readings",
	          "input topic of meter readings and meter events"),
	KEY_TOPIC("topics.billing", topic_billing, "billing.events",
	          "input topic of bills, payments and payment reversals"),
	KEY_TOPIC("topics.profiles", topic_profiles, "customer.profiles",
	          "input topic of customer profiles"),
	KEY_TOPIC("topics.transformer", topic_transformer, "transformer.readings",
	          "input topic of transformer meter readings"),
	KEY_TOPIC("topics.review_queue", topic_review_queue, "risk.review-queue",
	          "output topic of theft alerts for the analysts' review queue"),
	KEY_TOPIC("topics.credit_grades", topic_credit_grades, "risk.credit-grades",
	          "output topic of credit grades"),
	KEY_TOPIC("topics.dead_letter", topic_dead_letter, "risk.dead-letter",
	          "output topic of rejected input (original bytes and a reason)"),
	KEY_INT("batch.size", batch_size, 1, 1000000, 100000,
	        "most events processed and committed to PostgreSQL in one transaction"),
	KEY_INT("batch.max_wait_ms", batch_max_wait_ms, 1, 60000, 500,
	        "longest wait in ms for a batch to fill before it is processed anyway"),
	KEY_INT("batch.checkpoint_interval_ms", checkpoint_interval_ms, 0, 3600000, 10000,
	        "how often in ms each partition's changed state is checkpointed to PostgreSQL (0: "
	        "with every batch); after a crash or a rebalance riskd replays at most this much "
	        "input to rebuild state, without repeating results"),
	KEY_STRING("postgres.dsn", pg_dsn, 1, "dbname=riskd",
	           "libpq connection string of the risk database; RISKD_PG_DSN overrides it"),
	KEY_INT("postgres.retry_max_ms", pg_retry_max_ms, 100, 600000, 10000,
	        "longest back-off in ms between PostgreSQL retries (partitions stay paused)"),
	KEY_CHOICE("postgres.synchronous_commit", pg_synchronous_commit, on_off, "off",
	           "whether riskd's batch commits wait for PostgreSQL's WAL flush (off: a database "
	           "crash can forget the last commits, which riskd then reprocesses from Kafka)"),
	KEY_STRING("days.timezone", timezone, 1, "Asia/Shanghai",
	           "IANA time zone of local days; must exist under /usr/share/zoneinfo (or $TZDIR)"),
	KEY_INT("days.lateness_s", day_lateness_s, 0, 604800, 7200,
	        "seconds of event time after a local day ends before a customer whose meter sent "
	        "nothing since has the day closed anyway (a silent meter): when its partition's "
	        "watermark, the newest time a quorum of its meters has reached, is this much past "
	        "the day's end"),
	KEY_INT("attribution.window_days", attribution_window_days, 7, 90, 28,
	        "days of an area's energy balance that each attribution of its loss to its "
	        "customers fits (the sliding window, ending with the newest balanced day)"),
	KEY_INT("attribution.history_days", attribution_history_days, 7, 56, 28,
	        "days before the window from which each customer's expected consumption (its "
	        "baseline per hour of the week) is taken"),
	KEY_CHOICE("attribution.score_after_area", attribution_score_after_area, on_off, "on",
	           "whether a day of a customer with an area that may alert once the area's "
	           "balance and attribution of the day are in is scored then, as the backtest "
	           "scores it (on; a day whose own rules alert is raised at its close too, and "
	           "completed then; the other days are final at the close), or every day when it "
	           "closes, with the area results riskd has then (off: an area rule can miss a "
	           "day the backtest alerts on)"),
	KEY_DOUBLE("validation.max_kw_unknown_profile", max_kw_unknown_profile, 0.1, 1e6, 2000.0,
	           "highest average power in kW accepted from a customer with no known capacity"),
	KEY_CHOICE("ingest.restatements", restatements, restatement_modes, "conflict",
	           "what a reading does that restates, with another energy, an interval its "
	           "customer's open day counts already: conflict (dead-lettered with reason "
	           "conflict) or apply (it replaces the counted reading in the day's total)"),
	KEY_STRING("rules.path", rules_path, 1, "rules",
	           "directory of the rule set files (YAML), relative to the working directory"),
	KEY_STRING("scoring.scorecards", scorecard_path, 1, "scoring/cards",
	           "directory of the credit scorecard files (YAML), relative to the working directory"),
	KEY_STRING("scoring.attributes", attributes_path, 0, "scoring/attributes.yaml",
	           "attribute schema (YAML) that customer profiles' attributes are read against, "
	           "relative to the working directory; \"\" declares none"),
	KEY_DOUBLE("scoring.grade_hysteresis_points", grade_hysteresis_points, 0, 1000, 5.0,
	           "points beyond a grade cut-off a customer must move before its credit grade "
	           "changes (0 = none)"),
	KEY_STRING("tariffs.currency", tariff_currency, 0, "",
	           "ISO 4217 code of the tariff prices (three capital letters); \"\" only while "
	           "there are none"),
	KEY_TARIFFS("tariffs.prices", tariffs,
	            "price per kWh of each tariff code customer profiles name, for the back-billing "
	            "amount of a theft alert's stolen energy; a code not listed has no price"),
	KEY_INT("metrics.port", metrics_port, 0, 65535, 9464,
	        "TCP port of the /metrics, /healthz and /readyz endpoint; 0 turns it off"),
	KEY_STRING("metrics.listen", metrics_listen, 1, "127.0.0.1",
	           "IP address the /metrics, /healthz and /readyz endpoint listens on: 127.0.0.1 (this "
	           "machine only), 0.0.0.0 (every IPv4 interface), :: (every interface) or one "
	           "interface's address"),
	KEY_INT("health.stall_s", health_stall_s, 1, 86400, 60,
	        "seconds without a processed input message, while the consumer lags behind, after "
	        "which /healthz reports kafka_stalled and --until-idle gives up; /readyz reports "
	        "stalled after as long without committed progress"),
	KEY_INT("health.ready_max_lag", health_ready_max_lag, 0, 2147483647, 100000,
	        "largest consumer lag (messages behind the partition ends, riskd_consumer_lag) at "
	        "which /readyz still answers ready; above it /readyz reports lagging"),
	KEY_STRING("console.listen", console_listen, 1, "127.0.0.1",
	           "IPv4 address the analyst console (riskd-console) listens on"),
	KEY_INT("console.port", console_port, 1, 65535, 9470, "TCP port of the analyst console"),
	KEY_STRING("console.tls_cert", console_tls_cert, 0, "",
	           "PEM certificate chain the console serves HTTPS with; \"\" = plain HTTP"),
	KEY_STRING("console.tls_key", console_tls_key, 0, "",
	           "PEM private key of console.tls_cert; \"\" = plain HTTP"),
	KEY_STRING("console.database", console_database, 0, "",
	           "libpq connection string analysts log in through (their user name and password "
	           "are added); \"\" = postgres.dsn"),
	KEY_INT("console.session_idle_s", console_session_idle_s, 10, 86400, 1800,
	        "seconds without a request after which a console session ends"),
	KEY_INT("console.session_max_s", console_session_max_s, 300, 604800, 43200,
	        "seconds after login after which a console session ends whatever its use"),
	KEY_INT("console.threads", console_threads, 1, 64, 4,
	        "threads serving the console's requests (one request at a time each)"),
	KEY_INT("console.session_connections", console_session_connections, 1, 8, 2,
	        "database connections each console session opens at login, as the analyst"),
	KEY_CHOICE("log.level", log_level, log_levels, "info",
	           "lowest severity that is logged"),
	KEY_STRING("stack_env", stack_env, 0, "var/stack.env",
	           "KEY=VALUE file of the local stack, read when it exists; \"\" turns it off"),
};

#define KEY_COUNT (sizeof config_keys / sizeof config_keys[0])

/* Where the YAML reader is; one event is live at a time and freed by the next read. */
struct config_loader {
	yaml_parser_t parser;
	yaml_event_t event;
	int have_event;
	const char *path;
	const char *text;
	size_t text_len;
	struct riskd_config *cfg;
	int key_line[KEY_COUNT];     /* 1-based line where the file set key i, 0 = not set */
	int section_line[KEY_COUNT]; /* indexed by a section's first key; 0 = not seen */
	char *errstr;
	size_t errstr_size;
};

static void report_va(char *errstr, size_t errstr_size, const char *path, int line,
                      const char *fmt, va_list ap)
{
	int n;
	if (line > 0)
		n = snprintf(errstr, errstr_size, "%s:%d: error: ", path, line);
	else
		n = snprintf(errstr, errstr_size, "%s: error: ", path);
	if (n >= 0 && (size_t)n < errstr_size)
		vsnprintf(errstr + n, errstr_size - (size_t)n, fmt, ap);
}

/* Writes "path:line: error: message" (or "path: error: message" when line is 0); returns err. */
static int report(char *errstr, size_t errstr_size, int err, const char *path, int line,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int report(char *errstr, size_t errstr_size, int err, const char *path, int line,
                  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report_va(errstr, errstr_size, path, line, fmt, ap);
	va_end(ap);
	return err;
}

static int fail_va(struct config_loader *ld, int line, int err, const char *fmt, va_list ap)
{
	/* libyaml puts end-of-file problems on the line after a final newline: name the last one. */
	int last_line = 1;
	for (size_t i = 0; i + 1 < ld->text_len; i++)
		last_line += ld->text[i] == '\n';
	if (line > last_line)
		line = last_line;
	report_va(ld->errstr, ld->errstr_size, ld->path, line, fmt, ap);
	return err;
}

static int fail(struct config_loader *ld, int line, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct config_loader *ld, int line, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fail_va(ld, line, err, fmt, ap);
	va_end(ap);
	return err;
}

int config_loader_fail(struct config_loader *ld, int line, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fail_va(ld, line, err, fmt, ap);
	va_end(ap);
	return err;
}

/* Copies at most SHOW_MAX bytes of a value for a message, control bytes as '?'. */
const char *config_value_show(char *dst, size_t dst_size, const char *src, size_t len)
{
	size_t n = len < SHOW_MAX ? len : SHOW_MAX;
	if (n > dst_size - 4)
		n = dst_size - 4;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (n < len) {
		memcpy(dst + n, "...", 4);
	} else {
		dst[n] = '\0';
	}
	return dst;
}

static void *field_of(struct riskd_config *cfg, const struct config_key *key)
{
	return (char *)cfg + key->offset;
}

static void field_set_string(struct riskd_config *cfg, const struct config_key *key,
                             const char *text, size_t len)
{
	char *dst = field_of(cfg, key);
	memset(dst, 0, key->size);
	memcpy(dst, text, len);
}

static const char *type_noun(const struct config_key *key)
{
	switch (key->type) {
	case CONFIG_INT:
		return "an integer";
	case CONFIG_DOUBLE:
		return "a finite number";
	case CONFIG_CHOICE:
		return "one of its words";
	case CONFIG_PROPS:
		return "a mapping of librdkafka properties";
	case CONFIG_TARIFFS:
		return "a mapping of tariff codes to prices";
	case CONFIG_STRING:
		break;
	}
	return "a string";
}

static const char *type_name(const struct config_key *key)
{
	switch (key->type) {
	case CONFIG_INT:
		return "int";
	case CONFIG_DOUBLE:
		return "double";
	case CONFIG_CHOICE:
		return "enum";
	case CONFIG_PROPS:
	case CONFIG_TARIFFS:
		return "map";
	case CONFIG_STRING:
		break;
	}
	return "string";
}

static void choices_join(char *dst, size_t dst_size, const char *const *choices, const char *sep)
{
	size_t used = 0;
	dst[0] = '\0';
	for (size_t i = 0; choices[i] && used < dst_size; i++) {
		int n = snprintf(dst + used, dst_size - used, "%s%s", i ? sep : "", choices[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

static int is_topic_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/*
 * Checks a text value for a string or choice key, whatever its source (YAML, stack env file,
 * environment). label names the value in the message ("kafka.brokers", "RISKD_PG_DSN").
 * Writes the message part after "error: " into why; hide_value: never quote the value (it
 * holds an expanded ${ENV}).
 */
static int string_check(const struct config_key *key, const char *label, const char *text,
                        size_t len, int hide_value, char *why, size_t why_size)
{
	char shown[SHOW_MAX + 4];
	if (hide_value)
		snprintf(shown, sizeof shown, "(expanded ${...})");
	if (len > (size_t)key->max) {
		snprintf(why, why_size, "%s: value is %zu bytes long, at most %lld allowed", label, len,
		         key->max);
		return RISKD_ERR_RANGE;
	}
	if (len < (size_t)key->min) {
		snprintf(why, why_size, "%s: must not be empty", label);
		return RISKD_ERR_INVALID;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c < 0x20 || c == 0x7f) {
			snprintf(why, why_size, "%s: control character 0x%02x at byte %zu of the value",
			         label, c, i + 1);
			return RISKD_ERR_INVALID;
		}
	}
	if (key->is_topic) {
		int ok = !(len == 1 && text[0] == '.') && !(len == 2 && text[0] == '.' && text[1] == '.');
		for (size_t i = 0; ok && i < len; i++)
			ok = is_topic_char((unsigned char)text[i]);
		if (!ok) {
			snprintf(why, why_size,
			         "%s: '%s' is not a Kafka topic name (letters, digits, '.', '_', '-')",
			         label, hide_value ? shown : config_value_show(shown, sizeof shown, text, len));
			return RISKD_ERR_INVALID;
		}
	}
	if (key->type == CONFIG_CHOICE) {
		for (size_t i = 0; key->choices[i]; i++) {
			if (strlen(key->choices[i]) == len && memcmp(key->choices[i], text, len) == 0)
				return 0;
		}
		char list[128];
		choices_join(list, sizeof list, key->choices, ", ");
		snprintf(why, why_size, "%s: '%s' is not one of %s", label,
		         hide_value ? shown : config_value_show(shown, sizeof shown, text, len), list);
		return RISKD_ERR_INVALID;
	}
	return 0;
}

static int key_find(const char *name, size_t len)
{
	for (size_t i = 0; i < KEY_COUNT; i++) {
		if (strlen(config_keys[i].name) == len && memcmp(config_keys[i].name, name, len) == 0)
			return (int)i;
	}
	return -1;
}

/* The table entry of a key riskd's own code names; the name must exist. */
static const struct config_key *key_by_name(const char *name)
{
	return &config_keys[key_find(name, strlen(name))];
}

/* Length of the section part of a key name ("batch" of "batch.size"); 0 for a top-level key. */
static size_t section_len(const char *name)
{
	const char *dot = strchr(name, '.');
	return dot ? (size_t)(dot - name) : 0;
}

/* Returns the index of the first key in section name[0..len), or -1 when there is none. */
static int section_find(const char *name, size_t len)
{
	for (size_t i = 0; i < KEY_COUNT; i++) {
		if (section_len(config_keys[i].name) == len &&
		    memcmp(config_keys[i].name, name, len) == 0)
			return (int)i;
	}
	return -1;
}

/*
 * Finds the known name closest to an unknown key path: among the full key names for a key
 * inside a section, among section names and top-level keys for a top-level key. Writes it to
 * hint when it is at most 2 edits away, else writes "".
 */
static void key_suggest(const char *path, size_t path_len, int top_level, char *hint,
                        size_t hint_size)
{
	size_t best = 3;
	hint[0] = '\0';
	for (size_t i = 0; i < KEY_COUNT; i++) {
		const char *name = config_keys[i].name;
		size_t sec = section_len(name);
		size_t len = strlen(name);
		if (top_level && sec > 0)
			len = sec; /* compare with the section name */
		else if (!top_level && sec == 0)
			continue;
		size_t d = suggest_edit_distance(path, path_len, name, len, 0);
		if (d < best) {
			best = d;
			snprintf(hint, hint_size, "%.*s", (int)len, name);
		}
	}
}

static void loader_release_event(struct config_loader *ld)
{
	if (ld->have_event) {
		yaml_event_delete(&ld->event);
		ld->have_event = 0;
	}
}

static int loader_syntax_error(struct config_loader *ld)
{
	const yaml_parser_t *p = &ld->parser;
	int line;
	if (p->error == YAML_READER_ERROR) {
		/* The reader reports a byte offset, not a mark. */
		size_t end = p->problem_offset < ld->text_len ? p->problem_offset : ld->text_len;
		line = 1;
		for (size_t i = 0; i < end; i++)
			line += ld->text[i] == '\n';
	} else {
		line = (int)p->problem_mark.line + 1;
	}
	const char *problem = p->problem ? p->problem : "unreadable YAML";
	if (p->context)
		return fail(ld, line, RISKD_ERR_INVALID, "syntax error: %s (%s started on line %d)",
		            problem, p->context, (int)p->context_mark.line + 1);
	return fail(ld, line, RISKD_ERR_INVALID, "syntax error: %s", problem);
}

/* Frees the live event and parses the next one. */
static int loader_next(struct config_loader *ld)
{
	loader_release_event(ld);
	if (!yaml_parser_parse(&ld->parser, &ld->event))
		return loader_syntax_error(ld);
	ld->have_event = 1;
	return 0;
}

static int event_line(const struct config_loader *ld)
{
	return (int)ld->event.start_mark.line + 1;
}

int config_loader_next(struct config_loader *ld)
{
	return loader_next(ld);
}

const yaml_event_t *config_loader_event(const struct config_loader *ld)
{
	return &ld->event;
}

int config_loader_line(const struct config_loader *ld)
{
	return event_line(ld);
}

/* Rejects anchors, aliases and tags: riskd's config is plain nested mappings of scalars. */
static int loader_check_node(struct config_loader *ld)
{
	const yaml_event_t *ev = &ld->event;
	const yaml_char_t *anchor = NULL, *tag = NULL;
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return fail(ld, event_line(ld), RISKD_ERR_INVALID,
		            "alias '*%s' is not allowed; write the value out", ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	default:
		break;
	}
	if (anchor)
		return fail(ld, event_line(ld), RISKD_ERR_INVALID,
		            "anchor '&%s' is not allowed; write the values out", anchor);
	if (tag)
		return fail(ld, event_line(ld), RISKD_ERR_INVALID, "tag '%s' is not allowed", tag);
	return 0;
}

int config_loader_check_node(struct config_loader *ld)
{
	return loader_check_node(ld);
}

/* A plain empty, "~" or "null" scalar: YAML's null, which no riskd key accepts. */
int config_scalar_is_null(const yaml_event_t *ev)
{
	const char *text = (const char *)ev->data.scalar.value;
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return text[0] == '\0' || strcmp(text, "~") == 0 || strcmp(text, "null") == 0 ||
	       strcmp(text, "Null") == 0 || strcmp(text, "NULL") == 0;
}

/* Describes a non-scalar node for "expected X, got Y" messages. */
const char *config_node_noun(const yaml_event_t *ev)
{
	return ev->type == YAML_SEQUENCE_START_EVENT ? "a sequence" : "a mapping";
}

static int set_int(struct config_loader *ld, const struct config_key *key, const char *text,
                   size_t len, int line)
{
	char shown[SHOW_MAX + 4];
	char *end = NULL;
	config_value_show(shown, sizeof shown, text, len);
	if (ld->event.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return fail(ld, line, RISKD_ERR_INVALID,
		            "%s: expected an integer, got the quoted string '%s'", key->name, shown);
	errno = 0;
	long long value = strtoll(text, &end, 10);
	if (len == 0 || end != text + len || text[0] == ' ' || text[0] == '\t')
		return fail(ld, line, RISKD_ERR_INVALID, "%s: expected an integer, got '%s'",
		            key->name, shown);
	if (errno == ERANGE || value < key->min || value > key->max)
		return fail(ld, line, RISKD_ERR_RANGE, "%s: %s is out of range %lld..%lld", key->name,
		            shown, key->min, key->max);
	int stored = (int)value;
	memcpy(field_of(ld->cfg, key), &stored, sizeof stored);
	return 0;
}

static int set_double(struct config_loader *ld, const struct config_key *key, const char *text,
                      size_t len, int line)
{
	char shown[SHOW_MAX + 4];
	char *end = NULL;
	config_value_show(shown, sizeof shown, text, len);
	if (ld->event.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return fail(ld, line, RISKD_ERR_INVALID,
		            "%s: expected a finite number, got the quoted string '%s'", key->name, shown);
	double value = strtod(text, &end);
	if (len == 0 || end != text + len || text[0] == ' ' || text[0] == '\t' || !isfinite(value))
		return fail(ld, line, RISKD_ERR_INVALID, "%s: expected a finite number, got '%s'",
		            key->name, shown);
	if (value < key->dmin || value > key->dmax)
		return fail(ld, line, RISKD_ERR_RANGE, "%s: %s is out of range %g..%g", key->name, shown,
		            key->dmin, key->dmax);
	memcpy(field_of(ld->cfg, key), &value, sizeof value);
	return 0;
}

/* Stores the live scalar event as the value of key. */
static int loader_set_scalar(struct config_loader *ld, const struct config_key *key)
{
	const yaml_event_t *ev = &ld->event;
	const char *text = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	int line = event_line(ld);
	char why[256];

	if (config_scalar_is_null(ev)) {
		if (key->type == CONFIG_STRING && key->min == 0)
			return fail(ld, line, RISKD_ERR_INVALID,
			            "%s: missing value (write \"\" for an empty one)", key->name);
		return fail(ld, line, RISKD_ERR_INVALID, "%s: missing value", key->name);
	}
	switch (key->type) {
	case CONFIG_INT:
		return set_int(ld, key, text, len, line);
	case CONFIG_DOUBLE:
		return set_double(ld, key, text, len, line);
	case CONFIG_STRING:
	case CONFIG_CHOICE:
	case CONFIG_PROPS:
	case CONFIG_TARIFFS:
		break;
	}
	char value[CONFIG_PATH_MAX + 1];
	int expanded = 0;
	int rc = config_expand_env(text, len, value, sizeof value, &len, &expanded, why, sizeof why);
	if (rc)
		return fail(ld, line, rc, "%s: %s", key->name, why);
	rc = string_check(key, key->name, value, len, expanded, why, sizeof why);
	if (rc)
		return fail(ld, line, rc, "%s", why);
	field_set_string(ld->cfg, key, value, len);
	return 0;
}

/* Reads the value node of key (the live event is its key scalar, on line key_line). */
static int loader_read_value(struct config_loader *ld, int idx, int key_line)
{
	const struct config_key *key = &config_keys[idx];
	int rc = loader_next(ld);
	if (rc)
		return rc;
	rc = loader_check_node(ld);
	if (rc)
		return rc;
	if (key->type == CONFIG_PROPS)
		rc = config_props_read(ld, key->name, field_of(ld->cfg, key));
	else if (key->type == CONFIG_TARIFFS)
		rc = config_tariffs_read(ld, key->name, field_of(ld->cfg, key));
	else if (ld->event.type != YAML_SCALAR_EVENT)
		return fail(ld, event_line(ld), RISKD_ERR_INVALID, "%s: expected %s, got %s",
		            key->name, type_noun(key), config_node_noun(&ld->event));
	else
		rc = loader_set_scalar(ld, key);
	if (rc)
		return rc;
	ld->key_line[idx] = key_line;
	return 0;
}

static int loader_read_mapping(struct config_loader *ld, int section);

/* Reads the value node of a section key such as `kafka:`: a mapping of its keys, or null. */
static int loader_read_section(struct config_loader *ld, int section, size_t name_len)
{
	char shown[SHOW_MAX + 4];
	const char *name = config_keys[section].name;
	int rc = loader_next(ld);
	if (rc)
		return rc;
	rc = loader_check_node(ld);
	if (rc)
		return rc;
	const yaml_event_t *ev = &ld->event;
	if (ev->type == YAML_MAPPING_START_EVENT)
		return loader_read_mapping(ld, section);
	if (ev->type == YAML_SCALAR_EVENT && config_scalar_is_null(ev))
		return 0; /* `kafka:` with nothing under it sets nothing */
	if (ev->type == YAML_SCALAR_EVENT)
		return fail(ld, event_line(ld), RISKD_ERR_INVALID,
		            "%.*s: expected a mapping of keys, got '%s'", (int)name_len, name,
		            config_value_show(shown, sizeof shown, (const char *)ev->data.scalar.value,
		                       ev->data.scalar.length));
	return fail(ld, event_line(ld), RISKD_ERR_INVALID, "%.*s: expected a mapping of keys, got %s",
	            (int)name_len, name, config_node_noun(ev));
}

/* Handles one key of a mapping: the live event is its key node. section is -1 at top level. */
static int loader_read_entry(struct config_loader *ld, int section)
{
	char path[KEY_TEXT_MAX + 1];
	char hint[KEY_TEXT_MAX + 1];
	const yaml_event_t *ev = &ld->event;
	int line = event_line(ld);
	int rc = loader_check_node(ld);
	if (rc)
		return rc;
	if (ev->type != YAML_SCALAR_EVENT)
		return fail(ld, line, RISKD_ERR_INVALID, "a key must be a scalar, got %s",
		            config_node_noun(ev));

	const char *key_text = (const char *)ev->data.scalar.value;
	size_t key_len = ev->data.scalar.length;
	size_t path_len = 0;
	if (section >= 0) {
		size_t sec_len = section_len(config_keys[section].name);
		memcpy(path, config_keys[section].name, sec_len + 1); /* with the dot */
		path_len = sec_len + 1;
	}
	int truncated = key_len > KEY_TEXT_MAX - path_len;
	size_t copy = truncated ? KEY_TEXT_MAX - path_len : key_len;
	memcpy(path + path_len, key_text, copy);
	path_len += copy;
	path[path_len] = '\0';
	/* A NUL or control byte can never be part of a key name; show it safely. */
	int mangled = truncated;
	for (size_t i = 0; i < path_len; i++) {
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f) {
			path[i] = '?';
			mangled = 1;
		}
	}

	int idx = mangled ? -1 : key_find(path, path_len);
	if (idx >= 0 && section < 0 && section_len(path) > 0) {
		size_t sec = section_len(path);
		return fail(ld, line, RISKD_ERR_INVALID,
		            "key '%s' must be nested: write '%.*s:' and under it '%s:'", path, (int)sec,
		            path, path + sec + 1);
	}
	if (idx >= 0) {
		if (ld->key_line[idx])
			return fail(ld, line, RISKD_ERR_INVALID, "duplicate key '%s' (first on line %d)",
			            path, ld->key_line[idx]);
		return loader_read_value(ld, idx, line);
	}
	int sec_idx = (section < 0 && !mangled) ? section_find(path, path_len) : -1;
	if (sec_idx >= 0) {
		if (ld->section_line[sec_idx])
			return fail(ld, line, RISKD_ERR_INVALID, "duplicate key '%s' (first on line %d)",
			            path, ld->section_line[sec_idx]);
		ld->section_line[sec_idx] = line;
		return loader_read_section(ld, sec_idx, path_len);
	}
	key_suggest(path, path_len, section < 0, hint, sizeof hint);
	if (hint[0])
		return fail(ld, line, RISKD_ERR_INVALID, "unknown key '%s%s' (did you mean '%s'?)",
		            path, truncated ? "..." : "", hint);
	return fail(ld, line, RISKD_ERR_INVALID, "unknown key '%s%s'", path,
	            truncated ? "..." : "");
}

/* Reads the entries of the mapping whose start event was just read, up to its end event. */
static int loader_read_mapping(struct config_loader *ld, int section)
{
	for (;;) {
		int rc = loader_next(ld);
		if (rc)
			return rc;
		if (ld->event.type == YAML_MAPPING_END_EVENT)
			return 0;
		rc = loader_read_entry(ld, section);
		if (rc)
			return rc;
	}
}

/* Reads the whole event stream: at most one document whose root is a mapping (or empty). */
static int loader_read_stream(struct config_loader *ld)
{
	char shown[SHOW_MAX + 4];
	int rc = loader_next(ld); /* stream start */
	if (rc)
		return rc;
	rc = loader_next(ld);
	if (rc || ld->event.type == YAML_STREAM_END_EVENT)
		return rc; /* an empty file (or only comments) sets nothing */

	rc = loader_next(ld); /* the root node */
	if (rc)
		return rc;
	rc = loader_check_node(ld);
	if (rc)
		return rc;
	const yaml_event_t *ev = &ld->event;
	if (ev->type == YAML_MAPPING_START_EVENT) {
		rc = loader_read_mapping(ld, -1);
	} else if (ev->type == YAML_SCALAR_EVENT && !config_scalar_is_null(ev)) {
		rc = fail(ld, event_line(ld), RISKD_ERR_INVALID,
		          "expected a mapping of keys at the top level, got '%s'",
		          config_value_show(shown, sizeof shown, (const char *)ev->data.scalar.value,
		                     ev->data.scalar.length));
	} else if (ev->type != YAML_SCALAR_EVENT) {
		rc = fail(ld, event_line(ld), RISKD_ERR_INVALID,
		          "expected a mapping of keys at the top level, got %s", config_node_noun(ev));
	}
	if (rc)
		return rc;

	rc = loader_next(ld); /* document end */
	if (rc)
		return rc;
	rc = loader_next(ld);
	if (rc)
		return rc;
	if (ld->event.type != YAML_STREAM_END_EVENT)
		return fail(ld, event_line(ld), RISKD_ERR_INVALID,
		            "a second YAML document; the config file holds exactly one");
	return 0;
}

/* Reads a whole small file into a NUL-terminated buffer the caller frees. */
static int file_slurp(const char *path, char **text_out, size_t *len_out, char *errstr,
                      size_t errstr_size)
{
	int rc = 0;
	char *text = NULL;
	size_t len = 0, cap = 4096;
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		int e = errno;
		rc = (e == ENOENT || e == ENOTDIR) ? RISKD_ERR_NOT_FOUND : RISKD_ERR_IO;
		report(errstr, errstr_size, rc, path, 0, "cannot open: %s", strerror(e));
		goto out;
	}
	text = xmalloc(cap + 1);
	for (;;) {
		size_t got = fread(text + len, 1, cap - len, fp);
		len += got;
		if (len > CONFIG_FILE_MAX) {
			rc = report(errstr, errstr_size, RISKD_ERR_INVALID, path, 0,
			            "file is larger than %d bytes", CONFIG_FILE_MAX);
			goto out;
		}
		if (got == 0)
			break;
		if (len == cap) {
			cap *= 2;
			text = xrealloc(text, cap + 1);
		}
	}
	if (ferror(fp)) {
		rc = report(errstr, errstr_size, RISKD_ERR_IO, path, 0, "cannot read: %s",
		            strerror(errno));
		goto out;
	}
	text[len] = '\0';
	*text_out = text;
	*len_out = len;
	text = NULL;
out:
	free(text);
	if (fp)
		fclose(fp);
	return rc;
}

/* Reads the YAML file at path into cfg, recording in key_line where each key was set. */
static int config_read_yaml(struct riskd_config *cfg, const char *path, int *key_line,
                            char *errstr, size_t errstr_size)
{
	struct config_loader *ld = xcalloc(1, sizeof *ld);
	char *text = NULL;
	size_t len = 0;
	int parser_ready = 0;
	int rc = file_slurp(path, &text, &len, errstr, errstr_size);
	if (rc)
		goto out;
	if (!yaml_parser_initialize(&ld->parser)) {
		rc = report(errstr, errstr_size, RISKD_ERR_IO, path, 0, "cannot start the YAML parser");
		goto out;
	}
	parser_ready = 1;
	yaml_parser_set_input_string(&ld->parser, (const unsigned char *)text, len);
	ld->path = path;
	ld->text = text;
	ld->text_len = len;
	ld->cfg = cfg;
	ld->errstr = errstr;
	ld->errstr_size = errstr_size;
	rc = loader_read_stream(ld);
	if (rc == 0)
		memcpy(key_line, ld->key_line, sizeof ld->key_line);
out:
	loader_release_event(ld);
	if (parser_ready)
		yaml_parser_delete(&ld->parser);
	free(ld);
	free(text);
	return rc;
}

/* The zoneinfo directory the C library reads: $TZDIR, else /usr/share/zoneinfo. */
static const char *zoneinfo_dir(void)
{
	const char *dir = getenv("TZDIR");
	return dir && dir[0] ? dir : "/usr/share/zoneinfo";
}

/* Whether dir/tz is a compiled zone file (TZif; the directory also holds tables). Writes the
 * file's path to file. */
static int timezone_file_ok(const char *dir, const char *tz, char *file, size_t file_size)
{
	struct stat st;
	char magic[4];
	int n = snprintf(file, file_size, "%s/%s", dir, tz);
	if (tz[0] == '/' || strstr(tz, "..") || n < 0 || (size_t)n >= file_size)
		return 0;
	if (stat(file, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	FILE *fp = fopen(file, "rb");
	if (!fp)
		return 0;
	size_t got = fread(magic, 1, sizeof magic, fp);
	fclose(fp);
	return got == sizeof magic && memcmp(magic, "TZif", sizeof magic) == 0;
}

int config_timezone_check(const char *tz, char *errstr, size_t errstr_size)
{
	char file[CONFIG_PATH_MAX + CONFIG_STR_MAX];
	if (strcmp(tz, "UTC") == 0 || timezone_file_ok(zoneinfo_dir(), tz, file, sizeof file))
		return 0;
	snprintf(errstr, errstr_size, "unknown time zone '%s' (no zone file %s; is tzdata "
	         "installed?)", tz, file);
	return RISKD_ERR_NOT_FOUND;
}

/* tariffs.currency: "" or three capital letters, and not "" when tariffs.prices has any. */
static int tariffs_check(const struct riskd_config *cfg, const char *path, const int *key_line,
                         char *errstr, size_t errstr_size)
{
	char shown[SHOW_MAX + 4];
	const char *cur = cfg->tariff_currency;
	int line = key_line[key_by_name("tariffs.currency") - config_keys];
	int ok = cur[0] == '\0' || strlen(cur) == CONFIG_CURRENCY_MAX;
	for (size_t i = 0; ok && cur[i]; i++)
		ok = cur[i] >= 'A' && cur[i] <= 'Z';
	if (!ok)
		return report(errstr, errstr_size, RISKD_ERR_INVALID, path, line,
		              "tariffs.currency: '%s' is not an ISO 4217 code (three capital letters, "
		              "such as EUR)", config_value_show(shown, sizeof shown, cur, strlen(cur)));
	if (cfg->tariffs.count > 0 && cur[0] == '\0')
		return report(errstr, errstr_size, RISKD_ERR_INVALID, path,
		              key_line[key_by_name("tariffs.prices") - config_keys],
		              "tariffs.prices: prices need their currency: set tariffs.currency");
	return 0;
}

/*
 * Checks that span keys, or that look outside the file, once every source has been applied.
 * A message names the line of the offending key when the file set it, else it has no line.
 */
static int config_finalize(const struct riskd_config *cfg, const char *path, const int *key_line,
                           char *errstr, size_t errstr_size)
{
	char shown[SHOW_MAX + 4];
	/* Topics: every input and output topic distinct, else events would loop or mix. */
	for (size_t j = 0; j < KEY_COUNT; j++) {
		if (!config_keys[j].is_topic)
			continue;
		const char *tj = (const char *)cfg + config_keys[j].offset;
		for (size_t i = 0; i < j; i++) {
			if (!config_keys[i].is_topic)
				continue;
			const char *ti = (const char *)cfg + config_keys[i].offset;
			if (strcmp(ti, tj) != 0)
				continue;
			/* Blame the key the file set last; a default loses to a value from the file. */
			size_t blamed = j, other = i;
			if (key_line[i] > key_line[j]) {
				blamed = i;
				other = j;
			}
			return report(errstr, errstr_size, RISKD_ERR_INVALID, path, key_line[blamed],
			              "%s: '%s' is also %s; topics must be distinct",
			              config_keys[blamed].name, config_value_show(shown, sizeof shown, tj, strlen(tj)),
			              config_keys[other].name);
		}
	}
	unsigned char addr[sizeof(struct in6_addr)];
	if (inet_pton(AF_INET, cfg->metrics_listen, addr) != 1 &&
	    inet_pton(AF_INET6, cfg->metrics_listen, addr) != 1)
		return report(errstr, errstr_size, RISKD_ERR_INVALID, path,
		              key_line[key_by_name("metrics.listen") - config_keys],
		              "metrics.listen: '%s' is not an IPv4 or IPv6 address (such as 127.0.0.1, "
		              "0.0.0.0 or ::)",
		              config_value_show(shown, sizeof shown, cfg->metrics_listen,
		                         strlen(cfg->metrics_listen)));
	int rc = tariffs_check(cfg, path, key_line, errstr, errstr_size);
	if (rc)
		return rc;
	const char *dir = zoneinfo_dir();
	char file[CONFIG_PATH_MAX + CONFIG_STR_MAX];
	int tz_line = key_line[key_by_name("days.timezone") - config_keys];
	if (!timezone_file_ok(dir, cfg->timezone, file, sizeof file))
		return report(errstr, errstr_size, RISKD_ERR_NOT_FOUND, path, tz_line,
		              "days.timezone: '%s' is not a time zone under %s",
		              config_value_show(shown, sizeof shown, cfg->timezone, strlen(cfg->timezone)),
		              dir);
	return 0;
}

static int config_apply_environment(struct riskd_config *cfg, char *errstr, size_t errstr_size)
{
	static const struct {
		const char *var;
		const char *key;
	} overrides[] = {
		{ "RISKD_KAFKA_BROKERS", "kafka.brokers" },
		{ "RISKD_PG_DSN", "postgres.dsn" },
	};
	char why[256];
	for (size_t i = 0; i < sizeof overrides / sizeof overrides[0]; i++) {
		const char *value = getenv(overrides[i].var);
		if (!value || !value[0])
			continue; /* empty means not set */
		const struct config_key *key = key_by_name(overrides[i].key);
		int rc = string_check(key, overrides[i].var, value, strlen(value), 0, why, sizeof why);
		if (rc)
			return report(errstr, errstr_size, rc, "environment", 0, "%s", why);
		field_set_string(cfg, key, value, strlen(value));
	}
	return 0;
}

/* Fills cfg from the table's defaults; zeroes the rest, so two default configs compare equal. */
void config_defaults(struct riskd_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < KEY_COUNT; i++) {
		const struct config_key *key = &config_keys[i];
		switch (key->type) {
		case CONFIG_INT: {
			int value = (int)key->def_int;
			memcpy(field_of(cfg, key), &value, sizeof value);
			break;
		}
		case CONFIG_DOUBLE:
			memcpy(field_of(cfg, key), &key->def_double, sizeof key->def_double);
			break;
		case CONFIG_STRING:
		case CONFIG_CHOICE:
			field_set_string(cfg, key, key->def_str, strlen(key->def_str));
			break;
		case CONFIG_PROPS:
			break; /* empty: every property at librdkafka's or riskd's own setting */
		case CONFIG_TARIFFS:
			break; /* empty: no tariff has a price */
		}
	}
}

/*
 * Defaults, then the YAML file, then the stack env file (a missing one is skipped), then the
 * environment, then the finalize checks. Reads the environment: call it before starting threads.
 * See config.h for the contract and docs/config.md for the messages.
 */
int config_load(struct riskd_config *cfg, const char *path, char *errstr, size_t errstr_size)
{
	int key_line[KEY_COUNT] = { 0 };
	int rc;
	config_defaults(cfg);
	if (path) {
		rc = config_read_yaml(cfg, path, key_line, errstr, errstr_size);
		if (rc)
			goto out;
	}
	if (cfg->stack_env[0]) {
		rc = config_apply_stack_env(cfg, cfg->stack_env, errstr, errstr_size);
		if (rc == RISKD_ERR_NOT_FOUND)
			rc = 0; /* no local stack running: nothing to apply */
		if (rc)
			goto out;
	}
	rc = config_apply_environment(cfg, errstr, errstr_size);
	if (rc)
		goto out;
	rc = config_finalize(cfg, path ? path : "(defaults)", key_line, errstr, errstr_size);
out:
	return rc;
}

/*
 * Reads the whole stack env file first and changes cfg only if all of it is valid; errors are
 * "path:line: error: ..." (RISKD_ERR_INVALID or RISKD_ERR_RANGE), a missing file is
 * RISKD_ERR_NOT_FOUND with "path: error: cannot open: ...".
 */
int config_apply_stack_env(struct riskd_config *cfg, const char *path, char *errstr,
                           size_t errstr_size)
{
	static const struct {
		const char *var;
		const char *key;
	} wanted[] = {
		{ "RISKD_KAFKA_BROKERS", "kafka.brokers" },
		{ "RISKD_PG_DSN", "postgres.dsn" },
	};
	char found[sizeof wanted / sizeof wanted[0]][CONFIG_STR_MAX] = { "" };
	char why[256];
	char *text = NULL;
	size_t len = 0;
	int rc = file_slurp(path, &text, &len, errstr, errstr_size);
	if (rc)
		goto out;
	int line_no = 0;
	for (char *line = text, *end = text + len; line < end;) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		char *line_end = nl ? nl : end;
		char *next = nl ? nl + 1 : end;
		char *name = NULL, *value = NULL;
		line_no++;
		*line_end = '\0';
		if (strlen(line) != (size_t)(line_end - line)) {
			rc = report(errstr, errstr_size, RISKD_ERR_INVALID, path, line_no,
			            "NUL byte in the line");
			goto out;
		}
		rc = config_stack_env_parse_line(line, &name, &value, why, sizeof why);
		if (rc) {
			report(errstr, errstr_size, rc, path, line_no, "%s", why);
			goto out;
		}
		for (size_t i = 0; name && i < sizeof wanted / sizeof wanted[0]; i++) {
			if (strcmp(name, wanted[i].var) != 0)
				continue;
			/* An empty value means not set, as in the environment; other keys are ignored. */
			if (value[0]) {
				rc = string_check(key_by_name(wanted[i].key), name, value, strlen(value), 0,
				                  why, sizeof why);
				if (rc) {
					report(errstr, errstr_size, rc, path, line_no, "%s", why);
					goto out;
				}
			}
			memcpy(found[i], value, strlen(value) + 1);
		}
		line = next;
	}
	/* Applied only once the whole file is read: a bad file changes nothing. */
	for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
		if (found[i][0])
			field_set_string(cfg, key_by_name(wanted[i].key), found[i], strlen(found[i]));
	}
out:
	free(text);
	return rc;
}

/* One line per key, in table order: name, type, range, default, meaning (riskctl config keys). */
void config_describe(void *out)
{
	FILE *fp = out;
	for (size_t i = 0; i < KEY_COUNT; i++) {
		const struct config_key *key = &config_keys[i];
		char range[64], def[64];
		switch (key->type) {
		case CONFIG_INT:
			snprintf(range, sizeof range, "%lld..%lld", key->min, key->max);
			snprintf(def, sizeof def, "%lld", key->def_int);
			break;
		case CONFIG_DOUBLE:
			snprintf(range, sizeof range, "%g..%g", key->dmin, key->dmax);
			snprintf(def, sizeof def, "%g", key->def_double);
			break;
		case CONFIG_STRING:
			snprintf(range, sizeof range, "%lld..%lld bytes", key->min, key->max);
			snprintf(def, sizeof def, "\"%s\"", key->def_str);
			break;
		case CONFIG_CHOICE:
			choices_join(range, sizeof range, key->choices, "|");
			snprintf(def, sizeof def, "\"%s\"", key->def_str);
			break;
		case CONFIG_PROPS:
		case CONFIG_TARIFFS:
			snprintf(range, sizeof range, "0..%lld entries", key->max);
			snprintf(def, sizeof def, "{}");
			break;
		}
		fprintf(fp, "%-34s %-6s %-22s %-22s %s\n", key->name, type_name(key), range, def,
		        key->doc);
	}
}
