/*
 * test_config.c - Criterion suite for config/config.c: defaults, the shipped config/riskd.yaml,
 * golden error messages (with line numbers) for every kind of bad file, the stack env file and
 * the environment overrides, and `riskctl config keys` output.
 *
 * Runs from the repository root: fixtures are read as tests/unit/data/config/NAME.yaml.
 * Criterion forks a process per test, so setenv and chdir here never leak into other tests.
 */
#include "config/config.h"
#include "config/riskd_base.h"
#include "config/suggest.h"

#include <criterion/criterion.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DATA "tests/unit/data/config/"

/* Scratch directory of the running test and the files written into it. */
static char scratch_dir[64];
static char scratch_files[8][200];
static int scratch_count;

static void suite_init(void)
{
	/* The developer's shell or the e2e harness may export these; tests set them explicitly. */
	unsetenv("RISKD_KAFKA_BROKERS");
	unsetenv("RISKD_PG_DSN");
	unsetenv("TZDIR");
}

static void suite_fini(void)
{
	for (int i = 0; i < scratch_count; i++)
		unlink(scratch_files[i]);
	if (scratch_dir[0])
		rmdir(scratch_dir);
}

TestSuite(config, .init = suite_init, .fini = suite_fini);

static const char *scratch(void)
{
	if (!scratch_dir[0]) {
		snprintf(scratch_dir, sizeof scratch_dir, "/tmp/riskd_test_config_XXXXXX");
		cr_assert_not_null(mkdtemp(scratch_dir));
	}
	return scratch_dir;
}

/* Writes text to NAME in the scratch directory; returns the file's path (static storage). */
static const char *scratch_write(const char *name, const char *text)
{
	cr_assert_lt(scratch_count, 8);
	char *path = scratch_files[scratch_count++];
	snprintf(path, sizeof scratch_files[0], "%s/%s", scratch(), name);
	FILE *fp = fopen(path, "w");
	cr_assert_not_null(fp, "cannot write %s", path);
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* Leaves the repository root so that no var/stack.env of a running local stack is seen. */
static void leave_repo(void)
{
	cr_assert_eq(chdir(scratch()), 0);
}

static void assert_config_eq(const struct riskd_config *got, const struct riskd_config *want)
{
	cr_assert_str_eq(got->kafka_brokers, want->kafka_brokers);
	cr_assert_str_eq(got->kafka_group_id, want->kafka_group_id);
	cr_assert_eq(got->kafka_session_timeout_ms, want->kafka_session_timeout_ms);
	cr_assert_str_eq(got->topic_readings, want->topic_readings);
	cr_assert_str_eq(got->topic_billing, want->topic_billing);
	cr_assert_str_eq(got->topic_profiles, want->topic_profiles);
	cr_assert_str_eq(got->topic_transformer, want->topic_transformer);
	cr_assert_str_eq(got->topic_review_queue, want->topic_review_queue);
	cr_assert_str_eq(got->topic_credit_grades, want->topic_credit_grades);
	cr_assert_str_eq(got->topic_dead_letter, want->topic_dead_letter);
	cr_assert_eq(got->batch_size, want->batch_size);
	cr_assert_eq(got->batch_max_wait_ms, want->batch_max_wait_ms);
	cr_assert_str_eq(got->pg_dsn, want->pg_dsn);
	cr_assert_eq(got->pg_retry_max_ms, want->pg_retry_max_ms);
	cr_assert_str_eq(got->timezone, want->timezone);
	cr_assert_eq(got->day_lateness_s, want->day_lateness_s);
	cr_assert_eq(got->max_kw_unknown_profile, want->max_kw_unknown_profile);
	cr_assert_str_eq(got->restatements, want->restatements);
	cr_assert_str_eq(got->rules_path, want->rules_path);
	cr_assert_str_eq(got->scorecard_path, want->scorecard_path);
	cr_assert_eq(got->metrics_port, want->metrics_port);
	cr_assert_str_eq(got->metrics_listen, want->metrics_listen);
	cr_assert_eq(got->health_stall_s, want->health_stall_s);
	cr_assert_str_eq(got->console_listen, want->console_listen);
	cr_assert_eq(got->console_port, want->console_port);
	cr_assert_str_eq(got->console_tls_cert, want->console_tls_cert);
	cr_assert_str_eq(got->console_tls_key, want->console_tls_key);
	cr_assert_str_eq(got->console_database, want->console_database);
	cr_assert_eq(got->console_session_idle_s, want->console_session_idle_s);
	cr_assert_eq(got->console_session_max_s, want->console_session_max_s);
	cr_assert_str_eq(got->log_level, want->log_level);
	cr_assert_str_eq(got->stack_env, want->stack_env);
	cr_assert_eq(got->kafka_properties.count, want->kafka_properties.count);
	cr_assert_eq(got->kafka_consumer_properties.count, want->kafka_consumer_properties.count);
	cr_assert_eq(got->kafka_producer_properties.count, want->kafka_producer_properties.count);
}

/* Loads path and checks the return code and the exact error text. */
static void expect_error(const char *path, int want_rc, const char *want_err)
{
	struct riskd_config cfg;
	char err[1024] = "";
	int rc = config_load(&cfg, path, err, sizeof err);
	cr_assert_eq(rc, want_rc, "%s: rc %d (%s), want %d", path, rc, err, want_rc);
	cr_assert_str_eq(err, want_err);
}

static void load_ok(const char *path, struct riskd_config *cfg)
{
	char err[1024] = "";
	int rc = config_load(cfg, path, err, sizeof err);
	cr_assert_eq(rc, 0, "%s: %s", path ? path : "(defaults)", err);
}

/* ---- defaults and the shipped file ---- */

Test(config, defaults_fill_every_key)
{
	struct riskd_config cfg;
	memset(&cfg, 0x5a, sizeof cfg);
	config_defaults(&cfg);
	cr_assert_str_eq(cfg.kafka_brokers, "localhost:9092");
	cr_assert_str_eq(cfg.kafka_group_id, "riskd");
	cr_assert_eq(cfg.kafka_session_timeout_ms, 6000);
	cr_assert_str_eq(cfg.topic_readings, "meter.readings");
	cr_assert_str_eq(cfg.topic_billing, "billing.events");
	cr_assert_str_eq(cfg.topic_profiles, "customer.profiles");
	cr_assert_str_eq(cfg.topic_transformer, "transformer.readings");
	cr_assert_str_eq(cfg.topic_review_queue, "risk.review-queue");
	cr_assert_str_eq(cfg.topic_credit_grades, "risk.credit-grades");
	cr_assert_str_eq(cfg.topic_dead_letter, "risk.dead-letter");
	cr_assert_eq(cfg.batch_size, 100000);
	cr_assert_eq(cfg.batch_max_wait_ms, 500);
	cr_assert_str_eq(cfg.pg_dsn, "dbname=riskd");
	cr_assert_eq(cfg.pg_retry_max_ms, 10000);
	cr_assert_str_eq(cfg.timezone, "Asia/Shanghai");
	cr_assert_eq(cfg.day_lateness_s, 7200);
	cr_assert_eq(cfg.max_kw_unknown_profile, 2000.0);
	cr_assert_str_eq(cfg.restatements, "conflict");
	cr_assert_str_eq(cfg.rules_path, "rules");
	cr_assert_str_eq(cfg.scorecard_path, "scoring/cards");
	cr_assert_eq(cfg.metrics_port, 9464);
	cr_assert_str_eq(cfg.metrics_listen, "127.0.0.1");
	cr_assert_eq(cfg.health_stall_s, 60);
	cr_assert_str_eq(cfg.log_level, "info");
	cr_assert_str_eq(cfg.stack_env, "var/stack.env");
}

Test(config, shipped_file_equals_defaults)
{
	char shipped[PATH_MAX];
	struct riskd_config loaded, defaults;
	cr_assert_not_null(realpath("config/riskd.yaml", shipped));
	leave_repo();
	load_ok(shipped, &loaded);
	config_defaults(&defaults);
	assert_config_eq(&loaded, &defaults);
}

Test(config, no_file_gives_defaults)
{
	struct riskd_config loaded, defaults;
	leave_repo();
	load_ok(NULL, &loaded);
	config_defaults(&defaults);
	assert_config_eq(&loaded, &defaults);
}

Test(config, comment_only_file_gives_defaults)
{
	char path[PATH_MAX];
	struct riskd_config loaded, defaults;
	cr_assert_not_null(realpath(DATA "empty.yaml", path));
	leave_repo();
	load_ok(path, &loaded);
	config_defaults(&defaults);
	assert_config_eq(&loaded, &defaults);
}

Test(config, file_sets_every_key)
{
	struct riskd_config cfg;
	load_ok(DATA "full.yaml", &cfg);
	cr_assert_str_eq(cfg.kafka_brokers, "kafka-a:9092,kafka-b:9092");
	cr_assert_str_eq(cfg.kafka_group_id, "riskd-test");
	cr_assert_eq(cfg.kafka_session_timeout_ms, 3001);
	cr_assert_str_eq(cfg.topic_readings, "t.readings");
	cr_assert_str_eq(cfg.topic_billing, "t.billing");
	cr_assert_str_eq(cfg.topic_profiles, "t.profiles");
	cr_assert_str_eq(cfg.topic_transformer, "t.transformer");
	cr_assert_str_eq(cfg.topic_review_queue, "t.review_queue");
	cr_assert_str_eq(cfg.topic_credit_grades, "t.credit_grades");
	cr_assert_str_eq(cfg.topic_dead_letter, "t.dead_letter");
	cr_assert_eq(cfg.batch_size, 1000000);
	cr_assert_eq(cfg.batch_max_wait_ms, 1);
	cr_assert_str_eq(cfg.pg_dsn, "host=db1 dbname=risk user=detector");
	cr_assert_eq(cfg.pg_retry_max_ms, 600000);
	cr_assert_str_eq(cfg.timezone, "UTC");
	cr_assert_eq(cfg.day_lateness_s, 0);
	cr_assert_eq(cfg.max_kw_unknown_profile, 0.1);
	cr_assert_str_eq(cfg.rules_path, "/etc/riskd/rules");
	cr_assert_str_eq(cfg.scorecard_path, "/etc/riskd/cards");
	cr_assert_eq(cfg.metrics_port, 0);
	cr_assert_str_eq(cfg.log_level, "debug");
	cr_assert_str_eq(cfg.stack_env, "");
}

Test(config, flow_style_mappings_are_accepted)
{
	struct riskd_config cfg;
	const char *path = scratch_write(
		"flow.yaml", "{batch: {size: 7, max_wait_ms: 9}, stack_env: '', log: {level: warn}}\n");
	load_ok(path, &cfg);
	cr_assert_eq(cfg.batch_size, 7);
	cr_assert_eq(cfg.batch_max_wait_ms, 9);
	cr_assert_str_eq(cfg.log_level, "warn");
}

Test(config, longest_topic_name_fits)
{
	struct riskd_config cfg;
	load_ok(DATA "topic_max_len.yaml", &cfg);
	cr_assert_eq(strlen(cfg.topic_billing), 249);
}

/* ---- unknown keys ---- */

Test(config, unknown_key_suggests_near_key)
{
	expect_error(DATA "unknown_key.yaml", RISKD_ERR_INVALID,
	             DATA "unknown_key.yaml:7: error: unknown key 'batch.sise' "
	                  "(did you mean 'batch.size'?)");
}

Test(config, swapped_letters_count_as_one_edit_each)
{
	expect_error(DATA "unknown_key_swap.yaml", RISKD_ERR_INVALID,
	             DATA "unknown_key_swap.yaml:2: error: unknown key 'batch.amx_wiat_ms' "
	                  "(did you mean 'batch.max_wait_ms'?)");
}

Test(config, unknown_key_far_from_any_has_no_suggestion)
{
	expect_error(DATA "unknown_key_far.yaml", RISKD_ERR_INVALID,
	             DATA "unknown_key_far.yaml:3: error: unknown key 'colour'");
}

Test(config, unknown_section_suggests_section)
{
	expect_error(DATA "unknown_section.yaml", RISKD_ERR_INVALID,
	             DATA "unknown_section.yaml:1: error: unknown key 'kafak' "
	                  "(did you mean 'kafka'?)");
}

Test(config, dotted_key_must_be_nested)
{
	expect_error(DATA "dotted_key.yaml", RISKD_ERR_INVALID,
	             DATA "dotted_key.yaml:1: error: key 'batch.size' must be nested: "
	                  "write 'batch:' and under it 'size:'");
}

/* ---- wrong types ---- */

Test(config, word_for_integer)
{
	expect_error(DATA "not_integer.yaml", RISKD_ERR_INVALID,
	             DATA "not_integer.yaml:2: error: batch.size: expected an integer, got 'many'");
}

Test(config, fraction_for_integer)
{
	expect_error(DATA "fraction_int.yaml", RISKD_ERR_INVALID,
	             DATA "fraction_int.yaml:2: error: metrics.port: expected an integer, got '1.5'");
}

Test(config, quoted_integer)
{
	expect_error(DATA "quoted_int.yaml", RISKD_ERR_INVALID,
	             DATA "quoted_int.yaml:2: error: batch.size: expected an integer, "
	                  "got the quoted string '20000'");
}

Test(config, infinite_double)
{
	expect_error(DATA "not_finite.yaml", RISKD_ERR_INVALID,
	             DATA "not_finite.yaml:2: error: validation.max_kw_unknown_profile: "
	                  "expected a finite number, got '.inf'");
}

Test(config, nan_double)
{
	expect_error(DATA "nan.yaml", RISKD_ERR_INVALID,
	             DATA "nan.yaml:2: error: validation.max_kw_unknown_profile: "
	                  "expected a finite number, got 'nan'");
}

Test(config, missing_value)
{
	expect_error(DATA "missing_value.yaml", RISKD_ERR_INVALID,
	             DATA "missing_value.yaml:2: error: postgres.retry_max_ms: missing value");
}

Test(config, null_for_string_that_may_be_empty)
{
	expect_error(DATA "null_stack_env.yaml", RISKD_ERR_INVALID,
	             DATA "null_stack_env.yaml:1: error: stack_env: missing value "
	                  "(write \"\" for an empty one)");
}

Test(config, sequence_for_scalar)
{
	expect_error(DATA "sequence.yaml", RISKD_ERR_INVALID,
	             DATA "sequence.yaml:3: error: kafka.brokers: expected a string, got a sequence");
}

Test(config, mapping_for_scalar)
{
	expect_error(DATA "value_mapping.yaml", RISKD_ERR_INVALID,
	             DATA "value_mapping.yaml:2: error: batch.size: expected an integer, "
	                  "got a mapping");
}

Test(config, sequence_at_top_level)
{
	expect_error(DATA "top_sequence.yaml", RISKD_ERR_INVALID,
	             DATA "top_sequence.yaml:1: error: expected a mapping of keys at the top level, "
	                  "got a sequence");
}

Test(config, scalar_for_section)
{
	expect_error(DATA "section_scalar.yaml", RISKD_ERR_INVALID,
	             DATA "section_scalar.yaml:1: error: kafka: expected a mapping of keys, "
	                  "got 'localhost:9092'");
}

Test(config, anchor_rejected)
{
	expect_error(DATA "anchor.yaml", RISKD_ERR_INVALID,
	             DATA "anchor.yaml:2: error: anchor '&r' is not allowed; write the values out");
}

Test(config, alias_rejected)
{
	expect_error(DATA "alias.yaml", RISKD_ERR_INVALID,
	             DATA "alias.yaml:3: error: alias '*r' is not allowed; write the value out");
}

Test(config, tag_rejected)
{
	expect_error(DATA "tag.yaml", RISKD_ERR_INVALID,
	             DATA "tag.yaml:2: error: tag 'tag:yaml.org,2002:int' is not allowed");
}

Test(config, word_outside_enum)
{
	expect_error(DATA "bad_level.yaml", RISKD_ERR_INVALID,
	             DATA "bad_level.yaml:2: error: log.level: 'verbose' is not one of "
	                  "debug, info, warn, error");
}

/* ---- ranges and lengths ---- */

Test(config, integer_below_range)
{
	expect_error(DATA "out_of_range.yaml", RISKD_ERR_RANGE,
	             DATA "out_of_range.yaml:3: error: batch.size: 0 is out of range 1..1000000");
}

Test(config, integer_overflow_is_out_of_range)
{
	expect_error(DATA "int_overflow.yaml", RISKD_ERR_RANGE,
	             DATA "int_overflow.yaml:2: error: days.lateness_s: 99999999999999999999 "
	                  "is out of range 0..604800");
}

Test(config, session_timeout_must_exceed_3000)
{
	expect_error(DATA "session_timeout_low.yaml", RISKD_ERR_RANGE,
	             DATA "session_timeout_low.yaml:2: error: kafka.session_timeout_ms: 3000 "
	                  "is out of range 3001..300000");
}

Test(config, double_below_range)
{
	expect_error(DATA "double_range.yaml", RISKD_ERR_RANGE,
	             DATA "double_range.yaml:2: error: validation.max_kw_unknown_profile: 0.05 "
	                  "is out of range 0.1..1e+06");
}

Test(config, string_too_long_for_buffer)
{
	expect_error(DATA "too_long.yaml", RISKD_ERR_RANGE,
	             DATA "too_long.yaml:2: error: kafka.brokers: value is 600 bytes long, "
	                  "at most 511 allowed");
}

Test(config, topic_longer_than_kafka_allows)
{
	expect_error(DATA "topic_too_long.yaml", RISKD_ERR_RANGE,
	             DATA "topic_too_long.yaml:2: error: topics.billing: value is 250 bytes long, "
	                  "at most 249 allowed");
}

Test(config, empty_string_rejected)
{
	expect_error(DATA "empty_string.yaml", RISKD_ERR_INVALID,
	             DATA "empty_string.yaml:2: error: kafka.group_id: must not be empty");
}

Test(config, control_character_rejected)
{
	expect_error(DATA "control_char.yaml", RISKD_ERR_INVALID,
	             DATA "control_char.yaml:2: error: postgres.dsn: control character 0x09 "
	                  "at byte 13 of the value");
}

Test(config, illegal_topic_name)
{
	expect_error(DATA "bad_topic.yaml", RISKD_ERR_INVALID,
	             DATA "bad_topic.yaml:2: error: topics.readings: 'meter readings' is not a "
	                  "Kafka topic name (letters, digits, '.', '_', '-')");
}

/* ---- structure and syntax ---- */

Test(config, duplicate_key)
{
	expect_error(DATA "duplicate_key.yaml", RISKD_ERR_INVALID,
	             DATA "duplicate_key.yaml:4: error: duplicate key 'batch.size' "
	                  "(first on line 2)");
}

Test(config, duplicate_section)
{
	expect_error(DATA "duplicate_section.yaml", RISKD_ERR_INVALID,
	             DATA "duplicate_section.yaml:5: error: duplicate key 'batch' "
	                  "(first on line 1)");
}

Test(config, second_document_rejected)
{
	expect_error(DATA "two_documents.yaml", RISKD_ERR_INVALID,
	             DATA "two_documents.yaml:3: error: a second YAML document; "
	                  "the config file holds exactly one");
}

Test(config, syntax_error_has_line)
{
	expect_error(DATA "syntax_error.yaml", RISKD_ERR_INVALID,
	             DATA "syntax_error.yaml:3: error: syntax error: did not find expected key "
	                  "(while parsing a block mapping started on line 1)");
}

Test(config, unclosed_quote_has_line)
{
	expect_error(DATA "unclosed_quote.yaml", RISKD_ERR_INVALID,
	             DATA "unclosed_quote.yaml:4: error: syntax error: found unexpected end of "
	                  "stream (while scanning a quoted scalar started on line 2)");
}

Test(config, invalid_utf8_has_line)
{
	expect_error(DATA "bad_utf8.yaml", RISKD_ERR_INVALID,
	             DATA "bad_utf8.yaml:4: error: syntax error: invalid leading UTF-8 octet");
}

Test(config, missing_file)
{
	expect_error(DATA "no_such_file.yaml", RISKD_ERR_NOT_FOUND,
	             DATA "no_such_file.yaml: error: cannot open: No such file or directory");
}

Test(config, long_message_is_cut_and_terminated)
{
	struct riskd_config cfg;
	char err[24];
	memset(err, 'x', sizeof err);
	int rc = config_load(&cfg, DATA "unknown_key.yaml", err, sizeof err);
	cr_assert_eq(rc, RISKD_ERR_INVALID);
	cr_assert_str_eq(err, "tests/unit/data/config/");
}

/* ---- finalize: checks across keys ---- */

Test(config, topic_equal_to_another_default)
{
	expect_error(DATA "same_topic_default.yaml", RISKD_ERR_INVALID,
	             DATA "same_topic_default.yaml:3: error: topics.readings: 'risk.dead-letter' "
	                  "is also topics.dead_letter; topics must be distinct");
}

Test(config, topic_set_twice_blames_later_line)
{
	expect_error(DATA "same_topic_both.yaml", RISKD_ERR_INVALID,
	             DATA "same_topic_both.yaml:4: error: topics.review_queue: 'risk.out' "
	                  "is also topics.credit_grades; topics must be distinct");
}

Test(config, unknown_timezone)
{
	expect_error(DATA "bad_timezone.yaml", RISKD_ERR_NOT_FOUND,
	             DATA "bad_timezone.yaml:3: error: days.timezone: 'Mars/Olympus_Mons' "
	                  "is not a time zone under /usr/share/zoneinfo");
}

Test(config, timezone_cannot_leave_zoneinfo)
{
	expect_error(DATA "timezone_escape.yaml", RISKD_ERR_NOT_FOUND,
	             DATA "timezone_escape.yaml:2: error: days.timezone: '../../../etc/passwd' "
	                  "is not a time zone under /usr/share/zoneinfo");
}

Test(config, timezone_file_must_be_tzif)
{
	const char *path = scratch_write("tz.yaml", "days:\n  timezone: zone.tab\n");
	char want[256];
	snprintf(want, sizeof want,
	         "%s:2: error: days.timezone: 'zone.tab' is not a time zone under /usr/share/zoneinfo",
	         path);
	expect_error(path, RISKD_ERR_NOT_FOUND, want);
}

static void expect_zone_unknown(const char *tz)
{
	char err[512] = "", want[512];
	snprintf(want, sizeof want, "unknown time zone '%s' (no zone file /usr/share/zoneinfo/%s; "
	         "is tzdata installed?)", tz, tz);
	cr_assert_eq(config_timezone_check(tz, err, sizeof err), RISKD_ERR_NOT_FOUND, "%s", tz);
	cr_assert_str_eq(err, want);
}

Test(config, timezone_check_finds_zone_files)
{
	char err[512] = "";
	unsetenv("TZDIR");
	cr_assert_eq(config_timezone_check("Asia/Shanghai", err, sizeof err), 0, "%s", err);
	cr_assert_eq(config_timezone_check("UTC", err, sizeof err), 0, "%s", err);
	cr_assert_eq(config_timezone_check("Europe/Berlin", err, sizeof err), 0, "%s", err);
	expect_zone_unknown("Mars/Olympus_Mons");
	expect_zone_unknown("Asia/Shang");
	expect_zone_unknown("Asia");          /* a directory */
	expect_zone_unknown("leapseconds");   /* a table, not TZif */
	expect_zone_unknown("CST-8");
	expect_zone_unknown("../../../etc/passwd");
}

Test(config, default_value_error_has_no_line)
{
	/* An empty TZDIR lacks the default zone: the blamed value comes from no line. */
	char want[256];
	setenv("TZDIR", scratch(), 1);
	snprintf(want, sizeof want,
	         DATA "empty.yaml: error: days.timezone: 'Asia/Shanghai' is not a time zone under %s",
	         scratch());
	expect_error(DATA "empty.yaml", RISKD_ERR_NOT_FOUND, want);
}

/* ---- stack env file and environment ---- */

Test(config, environment_beats_file)
{
	struct riskd_config cfg;
	setenv("RISKD_KAFKA_BROKERS", "env-broker:19092", 1);
	setenv("RISKD_PG_DSN", "host=/tmp/pg port=55432 dbname=riskd", 1);
	load_ok(DATA "full.yaml", &cfg);
	cr_assert_str_eq(cfg.kafka_brokers, "env-broker:19092");
	cr_assert_str_eq(cfg.pg_dsn, "host=/tmp/pg port=55432 dbname=riskd");
	cr_assert_str_eq(cfg.kafka_group_id, "riskd-test"); /* the rest still from the file */
}

Test(config, empty_environment_value_is_not_set)
{
	struct riskd_config cfg;
	setenv("RISKD_KAFKA_BROKERS", "", 1);
	setenv("RISKD_PG_DSN", "", 1);
	load_ok(DATA "full.yaml", &cfg);
	cr_assert_str_eq(cfg.kafka_brokers, "kafka-a:9092,kafka-b:9092");
	cr_assert_str_eq(cfg.pg_dsn, "host=db1 dbname=risk user=detector");
}

Test(config, environment_value_too_long)
{
	char dsn[600];
	memset(dsn, 'd', sizeof dsn - 1);
	dsn[sizeof dsn - 1] = '\0';
	setenv("RISKD_PG_DSN", dsn, 1);
	expect_error(DATA "full.yaml", RISKD_ERR_RANGE,
	             "environment: error: RISKD_PG_DSN: value is 599 bytes long, at most 511 allowed");
}

Test(config, stack_env_beats_file_and_environment_beats_both)
{
	struct riskd_config cfg;
	char yaml[512];
	const char *env_path = scratch_write("stack.env", "# written by the local stack\n"
	                                                  "RISKD_KAFKA_BROKERS=\"127.0.0.1:40123\"\n"
	                                                  "RISKD_PG_DSN='host=/tmp/s port=5999'\n"
	                                                  "RISKD_PG_PORT=5999\n");
	snprintf(yaml, sizeof yaml,
	         "kafka:\n  brokers: file:9092\npostgres:\n  dsn: dbname=file\nstack_env: %s\n",
	         env_path);
	const char *cfg_path = scratch_write("riskd.yaml", yaml);

	load_ok(cfg_path, &cfg);
	cr_assert_str_eq(cfg.kafka_brokers, "127.0.0.1:40123");
	cr_assert_str_eq(cfg.pg_dsn, "host=/tmp/s port=5999");

	setenv("RISKD_PG_DSN", "dbname=from_env", 1);
	load_ok(cfg_path, &cfg);
	cr_assert_str_eq(cfg.kafka_brokers, "127.0.0.1:40123");
	cr_assert_str_eq(cfg.pg_dsn, "dbname=from_env");
}

Test(config, missing_stack_env_is_ignored)
{
	struct riskd_config cfg;
	const char *cfg_path = scratch_write(
		"riskd.yaml", "kafka:\n  brokers: file:9092\nstack_env: /nonexistent/stack.env\n");
	load_ok(cfg_path, &cfg);
	cr_assert_str_eq(cfg.kafka_brokers, "file:9092");
}

Test(config, bad_stack_env_fails_load)
{
	char yaml[256], want[512];
	const char *env_path = scratch_write("stack.env", "RISKD_KAFKA_BROKERS=a:1\nnot a pair\n");
	snprintf(yaml, sizeof yaml, "stack_env: %s\n", env_path);
	const char *cfg_path = scratch_write("riskd.yaml", yaml);
	snprintf(want, sizeof want, "%s:2: error: expected KEY=VALUE, got 'not a pair'", env_path);
	expect_error(cfg_path, RISKD_ERR_INVALID, want);
}

Test(config, stack_env_lines)
{
	struct riskd_config cfg;
	char err[512] = "";
	const char *path = scratch_write("stack.env", "\n"
	                                              "# comment\n"
	                                              "   \n"
	                                              "RISKD_STACK_DIR=/tmp/x\n"
	                                              "export RISKD_KAFKA_BROKERS = 'h1:1,h2:2' \r\n"
	                                              "RISKD_PG_DSN=host=/tmp/s port=6000\r\n"
	                                              "RISKD_PG_DSN=\"host=/tmp/s port=6001\"");
	config_defaults(&cfg);
	cr_assert_eq(config_apply_stack_env(&cfg, path, err, sizeof err), 0, "%s", err);
	cr_assert_str_eq(cfg.kafka_brokers, "h1:1,h2:2");
	cr_assert_str_eq(cfg.pg_dsn, "host=/tmp/s port=6001"); /* the last line wins */
	cr_assert_str_eq(cfg.kafka_group_id, "riskd");
}

Test(config, stack_env_empty_value_is_not_set)
{
	struct riskd_config cfg;
	char err[512] = "";
	const char *path = scratch_write("stack.env", "RISKD_KAFKA_BROKERS=\nRISKD_PG_DSN=\"\"\n");
	config_defaults(&cfg);
	cr_assert_eq(config_apply_stack_env(&cfg, path, err, sizeof err), 0, "%s", err);
	cr_assert_str_eq(cfg.kafka_brokers, "localhost:9092");
	cr_assert_str_eq(cfg.pg_dsn, "dbname=riskd");
}

Test(config, stack_env_missing_file_leaves_config_alone)
{
	struct riskd_config cfg, before;
	char err[512] = "";
	config_defaults(&cfg);
	memcpy(&before, &cfg, sizeof cfg);
	int rc = config_apply_stack_env(&cfg, "/nonexistent/stack.env", err, sizeof err);
	cr_assert_eq(rc, RISKD_ERR_NOT_FOUND);
	cr_assert_str_eq(err, "/nonexistent/stack.env: error: cannot open: No such file or directory");
	cr_assert_eq(memcmp(&cfg, &before, sizeof cfg), 0);
}

Test(config, stack_env_error_changes_nothing)
{
	struct riskd_config cfg, before;
	char err[512] = "", want[512];
	const char *path =
		scratch_write("stack.env", "RISKD_KAFKA_BROKERS=h:1\n\nRISKD_PG_DSN=\"dbname=x\n");
	config_defaults(&cfg);
	memcpy(&before, &cfg, sizeof cfg);
	int rc = config_apply_stack_env(&cfg, path, err, sizeof err);
	cr_assert_eq(rc, RISKD_ERR_INVALID);
	snprintf(want, sizeof want, "%s:3: error: RISKD_PG_DSN: the value's opening quote is never closed",
	         path);
	cr_assert_str_eq(err, want);
	cr_assert_eq(memcmp(&cfg, &before, sizeof cfg), 0);
}

Test(config, stack_env_value_checked)
{
	struct riskd_config cfg;
	char err[512] = "", want[512];
	const char *path = scratch_write("stack.env", "RISKD_KAFKA_BROKERS=h:1\tx\n");
	config_defaults(&cfg);
	cr_assert_eq(config_apply_stack_env(&cfg, path, err, sizeof err), RISKD_ERR_INVALID);
	snprintf(want, sizeof want,
	         "%s:1: error: RISKD_KAFKA_BROKERS: control character 0x09 at byte 4 of the value",
	         path);
	cr_assert_str_eq(err, want);
}

/* ---- riskctl config keys ---- */

Test(config, describe_lists_every_key_once)
{
	static const char *const names[] = {
		"kafka.brokers", "kafka.group_id", "kafka.session_timeout_ms",
		"kafka.fetch_wait_max_ms", "kafka.prefetch_messages", "kafka.prefetch_kbytes",
		"kafka.properties",
		"kafka.consumer_properties", "kafka.producer_properties", "topics.readings",
		"topics.billing", "topics.profiles", "topics.transformer", "topics.review_queue",
		"topics.credit_grades", "topics.dead_letter", "batch.size", "batch.max_wait_ms",
		"batch.checkpoint_interval_ms",
		"postgres.dsn", "postgres.retry_max_ms", "postgres.synchronous_commit", "days.timezone", "days.lateness_s",
		"attribution.window_days", "attribution.history_days", "attribution.score_after_area",
		"validation.max_kw_unknown_profile", "ingest.restatements", "rules.path",
		"scoring.scorecards", "scoring.attributes", "scoring.grade_hysteresis_points",
		"tariffs.currency",
		"tariffs.prices", "metrics.port", "metrics.listen", "health.stall_s",
		"health.ready_max_lag",
		"console.listen", "console.port", "console.tls_cert", "console.tls_key",
		"console.database", "console.session_idle_s", "console.session_max_s",
		"console.threads", "console.session_connections",
		"log.level", "stack_env",
	};
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	cr_assert_not_null(fp);
	config_describe(fp);
	fclose(fp);

	size_t nlines = 0;
	for (size_t i = 0; i < len; i++)
		nlines += text[i] == '\n';
	cr_assert_eq(nlines, sizeof names / sizeof names[0]);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char start[64];
		snprintf(start, sizeof start, "%s ", names[i]);
		const char *at = strstr(text, start);
		cr_assert_not_null(at, "%s missing", names[i]);
		cr_assert(at == text || at[-1] == '\n', "%s not at a line start", names[i]);
	}
	cr_assert_not_null(strstr(text, "batch.size                         int    1..1000000"
	                                "             100000                 most events"));
	cr_assert_not_null(strstr(text, "log.level                          enum   "
	                                "debug|info|warn|error  \"info\""));
	cr_assert_not_null(strstr(text, "validation.max_kw_unknown_profile  double 0.1..1e+06"
	                                "             2000 "));
	cr_assert_not_null(strstr(text, "kafka.consumer_properties          map    0..32 entries"
	                                "          {}                     librdkafka properties"));
	free(text);
}

Test(config, one_suggester_for_keys_rules_and_cards)
{
	cr_assert_eq(suggest_edit_distance("kwh_day", 7, "kwh_day", 7, 0), 0);
	cr_assert_eq(suggest_edit_distance("kwh_dya", 7, "kwh_day", 7, 0), 1, "a swap is one edit");
	cr_assert_eq(suggest_edit_distance("KWH_DAY", 7, "kwh_day", 7, 0), 6);
	cr_assert_eq(suggest_edit_distance("KWH_DAY", 7, "kwh_day", 7, 1), 0, "case folded");
	cr_assert_eq(suggest_edit_distance("", 0, "abc", 3, 1), 3);
	char longer[SUGGEST_NAME_MAX + 2];
	memset(longer, 'a', sizeof longer);
	cr_assert_eq(suggest_edit_distance(longer, sizeof longer, "a", 1, 0), SUGGEST_NAME_MAX + 1);

	static const char *const names[] = {"kwh_day", "drop_ratio_14d", "zero_run_days", "AA"};
	cr_assert_str_eq(suggest_name("kwh_dayly", 9, names, 4), "kwh_day");
	cr_assert_str_eq(suggest_name("drop_ratio", 10, names, 4), "drop_ratio_14d",
	                 "a name cut short");
	cr_assert_str_eq(suggest_name("aa", 2, names, 4), "AA");
	cr_assert_null(suggest_name("price", 5, names, 4));
	cr_assert_null(suggest_name("kw", 2, names, 4), "short names need a close match");
}

Test(config, metrics_listen_takes_an_ip_address)
{
	struct riskd_config cfg;
	const char *cfg_path = scratch_write("riskd.yaml", "metrics:\n  listen: \"::\"\n"
	                                                   "health:\n  stall_s: 5\n"
	                                                   "stack_env: \"\"\n");
	load_ok(cfg_path, &cfg);
	cr_assert_str_eq(cfg.metrics_listen, "::");
	cr_assert_eq(cfg.health_stall_s, 5);

	char want[512];
	cfg_path = scratch_write("riskd.yaml", "metrics:\n  port: 9464\n  listen: localhost\n"
	                                       "stack_env: \"\"\n");
	snprintf(want, sizeof want,
	         "%s:3: error: metrics.listen: 'localhost' is not an IPv4 or IPv6 address (such as "
	         "127.0.0.1, 0.0.0.0 or ::)",
	         cfg_path);
	expect_error(cfg_path, RISKD_ERR_INVALID, want);
}

/* ---- librdkafka property maps, ${ENV} and NAME_file ---- */

/* Loads text (written to a scratch file NAME) expecting an error; the message must equal
 * want_tail after the file's path. */
static void expect_text_error(const char *name, const char *text, int want_rc,
                              const char *want_tail)
{
	char want[1024];
	const char *path = scratch_write(name, text);
	snprintf(want, sizeof want, "%s%s", path, want_tail);
	expect_error(path, want_rc, want);
}

Test(config, property_maps_keep_names_values_and_lines)
{
	struct riskd_config cfg;
	const char *path = scratch_write("props.yaml",
	                                 "kafka:\n"
	                                 "  properties:\n"
	                                 "    security.protocol: SASL_SSL\n"
	                                 "    sasl.mechanism: SCRAM-SHA-512\n"
	                                 "    sasl.password: plain-secret\n"
	                                 "    socket.keepalive.enable: true\n"
	                                 "  consumer_properties: {partition.assignment.strategy: range}\n"
	                                 "  producer_properties:\n"
	                                 "stack_env: \"\"\n");
	load_ok(path, &cfg);
	const struct config_props *p = &cfg.kafka_properties;
	cr_assert_eq(p->count, 4);
	cr_assert_str_eq(config_prop_name(p, 0), "security.protocol");
	cr_assert_str_eq(config_prop_value(p, 0), "SASL_SSL");
	cr_assert_eq(p->items[0].line, 3);
	cr_assert_eq(p->items[0].secret, 0);
	cr_assert_str_eq(config_prop_name(p, 2), "sasl.password");
	cr_assert_eq(p->items[2].secret, 1, "a password is a secret even when written out");
	cr_assert_str_eq(config_prop_value(p, 3), "true", "YAML scalars are passed as written");
	cr_assert_eq(cfg.kafka_consumer_properties.count, 1);
	cr_assert_str_eq(config_prop_value(&cfg.kafka_consumer_properties, 0), "range");
	cr_assert_eq(cfg.kafka_consumer_properties.items[0].line, 7);
	cr_assert_eq(cfg.kafka_producer_properties.count, 0, "a map with nothing under it is empty");
}

Test(config, properties_riskd_governs_are_refused_with_the_key_to_use)
{
	expect_text_error("gov1.yaml", "kafka:\n  properties:\n    client.id: x\n    group.id: g\n",
	                  RISKD_ERR_INVALID,
	                  ":4: error: kafka.properties: group.id is set by riskd itself: set "
	                  "kafka.group_id instead");
	expect_text_error("gov2.yaml",
	                  "kafka:\n  consumer_properties:\n    enable.auto.commit: true\n",
	                  RISKD_ERR_INVALID,
	                  ":3: error: kafka.consumer_properties: enable.auto.commit is set by riskd "
	                  "itself: riskd keeps offsets in PostgreSQL, committed with each batch");
	expect_text_error("gov3.yaml", "kafka:\n  producer_properties:\n    acks: 1\n",
	                  RISKD_ERR_INVALID,
	                  ":3: error: kafka.producer_properties: acks is set by riskd itself: "
	                  "exactly-once output depends on acks=all (the idempotent producer's)");
	expect_text_error("gov4.yaml", "kafka:\n  properties:\n    bootstrap.servers_file: /x\n",
	                  RISKD_ERR_NOT_FOUND,
	                  ":3: error: kafka.properties: bootstrap.servers_file: cannot open '/x': "
	                  "No such file or directory");
}

/* One bad file and the message it must give, after the file's path. */
struct bad_text {
	const char *name, *text;
	int rc;
	const char *tail;
};

static void expect_text_errors(const struct bad_text *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_text_error(cases[i].name, cases[i].text, cases[i].rc, cases[i].tail);
}

Test(config, property_map_shape_errors)
{
	static const struct bad_text cases[] = {
		{"shape1.yaml", "kafka:\n  properties: SASL_SSL\n", RISKD_ERR_INVALID,
		 ":2: error: kafka.properties: expected a mapping of librdkafka properties, got "
		 "'SASL_SSL'"},
		{"shape2.yaml", "kafka:\n  properties:\n    - a\n", RISKD_ERR_INVALID,
		 ":3: error: kafka.properties: expected a mapping of librdkafka properties, got a "
		 "sequence"},
		{"shape3.yaml", "kafka:\n  properties:\n    debug: [a, b]\n", RISKD_ERR_INVALID,
		 ":3: error: kafka.properties: debug: expected a value, got a sequence"},
		{"shape4.yaml", "kafka:\n  properties:\n    client.id:\n", RISKD_ERR_INVALID,
		 ":3: error: kafka.properties: client.id: missing value"},
		{"shape5.yaml", "kafka:\n  properties:\n    client.id: a\n    x: 1\n    client.id: b\n",
		 RISKD_ERR_INVALID,
		 ":5: error: kafka.properties: duplicate property 'client.id' (first on line 3)"},
		{"shape6.yaml", "kafka:\n  properties:\n    \"client id\": a\n", RISKD_ERR_INVALID,
		 ":3: error: kafka.properties: 'client id' is not a librdkafka property name"},
	};
	expect_text_errors(cases, sizeof cases / sizeof cases[0]);
}

Test(config, property_map_holds_at_most_32)
{
	char text[4096] = "kafka:\n  properties:\n";
	for (int i = 0; i <= CONFIG_PROPS_MAX; i++) {
		size_t n = strlen(text);
		snprintf(text + n, sizeof text - n, "    p%d: v\n", i);
	}
	expect_text_error("many.yaml", text, RISKD_ERR_RANGE,
	                  ":35: error: kafka.properties: more than 32 properties");
}

Test(config, environment_variables_expand_in_every_string_value)
{
	struct riskd_config cfg;
	setenv("RISKD_TEST_PW", "pa ss", 1);
	setenv("RISKD_TEST_USER", "svc", 1);
	const char *path = scratch_write("env.yaml",
	                                 "kafka:\n"
	                                 "  group_id: \"riskd-${RISKD_TEST_USER}\"\n"
	                                 "  properties:\n"
	                                 "    sasl.username: ${RISKD_TEST_USER}\n"
	                                 "    client.id: \"id-$${HOST}-${RISKD_TEST_USER}\"\n"
	                                 "postgres:\n"
	                                 "  dsn: \"password='${RISKD_TEST_PW}' dbname=$x $${RISKD_TEST_PW}\"\n"
	                                 "stack_env: \"\"\n");
	load_ok(path, &cfg);
	cr_assert_str_eq(cfg.kafka_group_id, "riskd-svc");
	cr_assert_str_eq(cfg.pg_dsn, "password='pa ss' dbname=$x ${RISKD_TEST_PW}",
	                 "$${ is a literal ${, a lone $ stays");
	cr_assert_str_eq(config_prop_value(&cfg.kafka_properties, 0), "svc");
	cr_assert_eq(cfg.kafka_properties.items[0].secret, 1, "anything from ${ENV} is secret");
	cr_assert_str_eq(config_prop_value(&cfg.kafka_properties, 1), "id-${HOST}-svc");
}

Test(config, unset_variable_is_an_error_naming_key_line_and_variable)
{
	static const struct bad_text cases[] = {
		{"unset.yaml", "batch:\n  size: 5\npostgres:\n  dsn: \"x=${RISKD_TEST_NOPE}\"\n",
		 RISKD_ERR_INVALID,
		 ":4: error: postgres.dsn: environment variable RISKD_TEST_NOPE is not set"},
		{"unset2.yaml", "kafka:\n  properties:\n    sasl.password: ${RISKD_TEST_NOPE}\n",
		 RISKD_ERR_INVALID,
		 ":3: error: kafka.properties: sasl.password: environment variable RISKD_TEST_NOPE is "
		 "not set"},
		{"badname.yaml", "postgres:\n  dsn: \"${1X}\"\n", RISKD_ERR_INVALID,
		 ":2: error: postgres.dsn: '${1X}' does not name an environment variable (letters, "
		 "digits and '_'; write $${ for a literal ${)"},
		{"open.yaml", "postgres:\n  dsn: \"a ${PW\"\n", RISKD_ERR_INVALID,
		 ":2: error: postgres.dsn: '${' without a closing '}' (write $${ for a literal ${)"},
	};
	unsetenv("RISKD_TEST_NOPE");
	expect_text_errors(cases, sizeof cases / sizeof cases[0]);
}

Test(config, expanded_values_never_appear_in_messages)
{
	setenv("RISKD_TEST_TOPIC", "not a topic!", 1);
	setenv("RISKD_TEST_LONG", "0123456789012345678901234567890123456789", 1);
	expect_text_error("topic.yaml", "topics:\n  readings: \"${RISKD_TEST_TOPIC}\"\n",
	                  RISKD_ERR_INVALID,
	                  ":2: error: topics.readings: '(expanded ${...})' is not a Kafka topic "
	                  "name (letters, digits, '.', '_', '-')");
	char text[512] = "postgres:\n  dsn: \"";
	for (int i = 0; i < 13; i++)
		strcat(text, "${RISKD_TEST_LONG}");
	strcat(text, "\"\n");
	expect_text_error("long.yaml", text, RISKD_ERR_RANGE,
	                  ":2: error: postgres.dsn: value is 520 bytes long, at most 511 allowed");
}

Test(config, file_keys_read_the_value_from_a_file)
{
	struct riskd_config cfg;
	char yaml[512];
	const char *secret = scratch_write("kafka.password", "s3cret pass\n");
	snprintf(yaml, sizeof yaml,
	         "kafka:\n  producer_properties:\n    sasl.password_file: \"%s\"\n"
	         "    ssl.key.password_file: %s\nstack_env: \"\"\n", secret, secret);
	load_ok(scratch_write("file.yaml", yaml), &cfg);
	const struct config_props *p = &cfg.kafka_producer_properties;
	cr_assert_eq(p->count, 2);
	cr_assert_str_eq(config_prop_name(p, 0), "sasl.password");
	cr_assert_str_eq(config_prop_value(p, 0), "s3cret pass", "one trailing newline dropped");
	cr_assert_eq(p->items[0].secret, 1);
	cr_assert_str_eq(config_prop_name(p, 1), "ssl.key.password");

	snprintf(yaml, sizeof yaml,
	         "kafka:\n  properties:\n    sasl.password: a\n    sasl.password_file: %s\n", secret);
	expect_text_error("twice.yaml", yaml, RISKD_ERR_INVALID,
	                  ":4: error: kafka.properties: duplicate property 'sasl.password' (first "
	                  "on line 3)");
	char big[CONFIG_PROP_VALUE_MAX + 3];
	memset(big, 'k', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	const char *big_path = scratch_write("big.pem", big);
	snprintf(yaml, sizeof yaml, "kafka:\n  properties:\n    ssl.key.pem_file: %s\n", big_path);
	char tail[512];
	snprintf(tail, sizeof tail,
	         ":3: error: kafka.properties: ssl.key.pem_file: '%s' is larger than 4095 bytes "
	         "(give librdkafka a file with an ssl.*.location property instead)", big_path);
	expect_text_error("big.yaml", yaml, RISKD_ERR_RANGE, tail);
}

/* ---- tariffs: the back-billing price table ---- */

Test(config, tariff_prices_keep_codes_prices_and_lines_and_read_as_json)
{
	struct riskd_config cfg;
	struct rbuf json = {0};
	load_ok(scratch_write("tariffs.yaml",
	                      "stack_env: \"\"\n"
	                      "tariffs:\n"
	                      "  currency: EUR\n"
	                      "  prices:\n"
	                      "    residential_tiered: 0.21\n"
	                      "    \"commercial flat\": 0.175\n"
	                      "    free: 0\n"),
	        &cfg);
	cr_assert_str_eq(cfg.tariff_currency, "EUR");
	cr_assert_eq(cfg.tariffs.count, 3);
	cr_assert_str_eq(cfg.tariffs.items[0].code, "residential_tiered");
	cr_assert_eq(cfg.tariffs.items[0].price, 0.21);
	cr_assert_eq(cfg.tariffs.items[0].line, 5);
	cr_assert_str_eq(cfg.tariffs.items[1].code, "commercial flat");
	cr_assert_eq(cfg.tariffs.items[1].price, 0.175);
	cr_assert_eq(cfg.tariffs.items[2].price, 0.0);
	config_tariffs_json(&cfg.tariffs, cfg.tariff_currency, &json);
	rbuf_append(&json, "", 1);
	cr_assert_str_eq(json.data, "{\"currency\":\"EUR\",\"prices\":{\"residential_tiered\":0.21,"
	                            "\"commercial flat\":0.175,\"free\":0}}");
	rbuf_free(&json);

	/* the defaults: no price at all */
	config_defaults(&cfg);
	cr_assert_eq(cfg.tariffs.count, 0);
	config_tariffs_json(&cfg.tariffs, cfg.tariff_currency, &json);
	rbuf_append(&json, "", 1);
	cr_assert_str_eq(json.data, "{\"currency\":null,\"prices\":{}}");
	rbuf_free(&json);
}

Test(config, tariff_price_errors)
{
	static const struct bad_text cases[] = {
		{"t1.yaml", "tariffs:\n  currency: EUR\n  prices:\n    a: 0.2\n    a: 0.3\n",
		 RISKD_ERR_INVALID, ":5: error: tariffs.prices: duplicate tariff 'a' (first on line 4)"},
		{"t2.yaml", "tariffs:\n  currency: EUR\n  prices:\n    a: cheap\n", RISKD_ERR_INVALID,
		 ":4: error: tariffs.prices: a: expected a price per kWh (a plain number), got 'cheap'"},
		{"t3.yaml", "tariffs:\n  currency: EUR\n  prices:\n    a: -0.1\n", RISKD_ERR_RANGE,
		 ":4: error: tariffs.prices: a: -0.1 is out of range 0..1000"},
		{"t4.yaml", "tariffs:\n  currency: EUR\n  prices:\n    a: \"0.2\"\n", RISKD_ERR_INVALID,
		 ":4: error: tariffs.prices: a: expected a price per kWh (a plain number), got '0.2'"},
		{"t5.yaml", "tariffs:\n  prices:\n    a: 0.2\n", RISKD_ERR_INVALID,
		 ":2: error: tariffs.prices: prices need their currency: set tariffs.currency"},
		{"t6.yaml", "tariffs:\n  currency: eur\n", RISKD_ERR_INVALID,
		 ":2: error: tariffs.currency: 'eur' is not an ISO 4217 code (three capital letters, "
		 "such as EUR)"},
		{"t7.yaml", "tariffs:\n  currency: EUR\n  prices: 0.2\n", RISKD_ERR_INVALID,
		 ":3: error: tariffs.prices: expected a mapping of tariff codes to prices, got '0.2'"},
		{"t8.yaml", "tariffs:\n  currency: EUR\n  prices:\n    a: .nan\n", RISKD_ERR_INVALID,
		 ":4: error: tariffs.prices: a: expected a price per kWh (a plain number), got '.nan'"},
	};
	leave_repo();
	expect_text_errors(cases, sizeof cases / sizeof cases[0]);
}
