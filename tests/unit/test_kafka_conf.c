/*
 * test_kafka_conf.c - Criterion suite for streams/kafka_conf.c: the config file's librdkafka
 * property maps as librdkafka itself judges them (kafka_config_check), without a broker.
 * The shipped examples config/examples/kafka-sasl-scram.yaml and kafka-mtls.yaml pass with
 * a CA, a client certificate and an encrypted key made here with openssl; bad properties are
 * reported with file:line and librdkafka's words, and values that may be secrets never appear.
 *
 * Runs from the repository root. Criterion forks a process per test, so setenv stays local.
 */
#include "config/config.h"
#include "config/riskd_base.h"
#include "streams/kafka.h"
#include "streams/kafka_int.h"

#include <criterion/criterion.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static void suite_init(void)
{
	unsetenv("RISKD_KAFKA_BROKERS");
	unsetenv("RISKD_PG_DSN");
	snprintf(dir, sizeof dir, "/tmp/riskd_test_kafka_conf_XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	setenv("HOSTNAME", "test-host", 1);
}

static void suite_fini(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

TestSuite(kafka_conf, .init = suite_init, .fini = suite_fini);

static void sh(const char *fmt, const char *arg)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd, fmt, arg, arg, arg, arg, arg, arg, arg, arg);
	cr_assert_eq(system(cmd), 0, "failed: %s", cmd);
}

/* A CA, a client certificate it signed, the client's key encrypted with passphrase "keypass",
 * and the files the examples read, in the credentials directory. */
static void make_credentials(void)
{
	sh("cd '%s' && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out kafka-ca.pem"
	   " -days 2 -subj /CN=riskd-test-ca >/dev/null 2>&1"
	   " && openssl req -newkey rsa:2048 -passout pass:keypass -keyout riskd.key -out riskd.csr"
	   " -subj /CN=riskd >/dev/null 2>&1"
	   " && openssl x509 -req -in riskd.csr -CA kafka-ca.pem -CAkey ca.key -CAcreateserial"
	   " -out riskd.crt -days 2 >/dev/null 2>&1"
	   " && printf 'keypass\\n' > riskd.key.password && printf 'scram-pass\\n' > kafka-password",
	   dir);
}

/* Loads path and runs kafka_config_check; returns its code, errstr its message. */
static int check(const char *path, char *errstr, size_t size)
{
	static struct riskd_config cfg;
	errstr[0] = '\0';
	int rc = config_load(&cfg, path, errstr, size);
	cr_assert_eq(rc, 0, "%s", errstr);
	return kafka_config_check(&cfg, path, errstr, size);
}

/* Writes text to NAME in the scratch directory; returns its path (static storage). */
static const char *write_file(const char *name, const char *text)
{
	static char path[8][256];
	static int n;
	char *p = path[n++ % 8];
	snprintf(p, 256, "%s/%s", dir, name);
	FILE *fp = fopen(p, "w");
	cr_assert_not_null(fp);
	fputs(text, fp);
	fclose(fp);
	return p;
}

Test(kafka_conf, defaults_pass)
{
	char err[1024];
	cr_assert_eq(check(NULL, err, sizeof err), 0, "%s", err);
}

Test(kafka_conf, shipped_examples_pass_librdkafka)
{
	char err[1024];
	make_credentials();
	cr_assert_eq(check("config/examples/kafka-sasl-scram.yaml", err, sizeof err), 0, "%s", err);
	cr_assert_eq(check("config/examples/kafka-mtls.yaml", err, sizeof err), 0, "%s", err);
}

Test(kafka_conf, wrong_key_passphrase_names_the_key_file_and_hides_the_passphrase)
{
	char err[1024];
	make_credentials();
	sh("printf 'wrong-phrase\\n' > '%s/riskd.key.password'", dir);
	cr_assert_eq(check("config/examples/kafka-mtls.yaml", err, sizeof err), RISKD_ERR_INVALID);
	const char *want = "config/examples/kafka-mtls.yaml:13: error: kafka.properties: "
	                   "ssl.key.location: ssl.key.location failed: ";
	cr_assert(strncmp(err, want, strlen(want)) == 0, "%s", err);
	cr_assert_null(strstr(err, "wrong-phrase"), "%s", err);
}

Test(kafka_conf, missing_ca_file_is_named)
{
	char err[1024];
	make_credentials();
	sh("rm '%s/kafka-ca.pem'", dir);
	cr_assert_eq(check("config/examples/kafka-sasl-scram.yaml", err, sizeof err),
	             RISKD_ERR_INVALID);
	const char *want = "config/examples/kafka-sasl-scram.yaml:15: error: kafka.properties: "
	                   "ssl.ca.location: ssl.ca.location failed: ";
	cr_assert(strncmp(err, want, strlen(want)) == 0, "%s", err);
}

Test(kafka_conf, librdkafka_messages_name_file_line_and_property)
{
	char err[1024];
	const char *path = write_file("unknown.yaml", "kafka:\n  properties:\n    client.id: x\n"
	                                              "    no.such.property: 1\n");
	cr_assert_eq(check(path, err, sizeof err), RISKD_ERR_INVALID);
	char want[512];
	snprintf(want, sizeof want, "%s:4: error: kafka.properties: no.such.property: No such "
	         "configuration property: \"no.such.property\"", path);
	cr_assert_str_eq(err, want);

	path = write_file("range.yaml", "kafka:\n  consumer_properties:\n    fetch.min.bytes: 0\n");
	cr_assert_eq(check(path, err, sizeof err), RISKD_ERR_INVALID);
	snprintf(want, sizeof want, "%s:3: error: kafka.consumer_properties: fetch.min.bytes: "
	         "Configuration property \"fetch.min.bytes\" value 0 is outside allowed range "
	         "1..100000000", path);
	cr_assert_str_eq(err, want, "librdkafka's trailing newline is dropped");

	path = write_file("assignor.yaml",
	                  "kafka:\n  consumer_properties:\n    partition.assignment.strategy: sticky\n");
	cr_assert_eq(check(path, err, sizeof err), RISKD_ERR_INVALID);
	snprintf(want, sizeof want, "%s:3: error: kafka.consumer_properties: "
	         "partition.assignment.strategy: Unsupported partition.assignment.strategy: sticky",
	         path);
	cr_assert_str_eq(err, want, "checked when the client is made");
}

Test(kafka_conf, assignors_librdkafka_knows_are_accepted)
{
	char err[1024];
	const char *path = write_file("range.yaml", "kafka:\n  consumer_properties:\n"
	                                            "    partition.assignment.strategy: range\n"
	                                            "    group.instance.id: \"riskd-${HOSTNAME}\"\n");
	cr_assert_eq(check(path, err, sizeof err), 0, "%s", err);
	path = write_file("rr.yaml", "kafka:\n  consumer_properties:\n"
	                             "    partition.assignment.strategy: roundrobin\n");
	cr_assert_eq(check(path, err, sizeof err), 0, "%s", err);
}

/* The consumer's librdkafka value of property name, as kafka_consumer_conf_build sets it. */
static const char *consumer_value(const struct kafka_consumer_conf *kconf, const char *name)
{
	static char value[64];
	char err[256];
	int line = 0;
	rd_kafka_conf_t *rconf = kafka_consumer_conf_build(kconf, &line, err, sizeof err);
	cr_assert_not_null(rconf, "%s", err);
	size_t size = sizeof value;
	cr_assert_eq(rd_kafka_conf_get(rconf, name, value, &size), RD_KAFKA_CONF_OK, "%s", name);
	rd_kafka_conf_destroy(rconf);
	return value;
}

Test(kafka_conf, prefetch_limits_reach_librdkafka)
{
	/* both limits stop fetching for a second when reached: riskd's consumer starts from
	 * kafka_consumer_conf_of, so the config's values reach librdkafka, not its 100000 and
	 * 65536 */
	static struct riskd_config cfg;
	char err[1024];
	cr_assert_eq(config_load(&cfg, NULL, err, sizeof err), 0, "%s", err);
	struct kafka_consumer_conf kconf = kafka_consumer_conf_of(&cfg);
	cr_assert_str_eq(consumer_value(&kconf, "queued.min.messages"), "1000000");
	cr_assert_str_eq(consumer_value(&kconf, "queued.max.messages.kbytes"), "524288",
	                 "the default holds 1,000,000 messages of up to 512 bytes");

	const char *path = write_file("prefetch.yaml", "kafka:\n  prefetch_messages: 750000\n"
	                                               "  prefetch_kbytes: 300000\n");
	cr_assert_eq(config_load(&cfg, path, err, sizeof err), 0, "%s", err);
	kconf = kafka_consumer_conf_of(&cfg);
	cr_assert_str_eq(consumer_value(&kconf, "queued.min.messages"), "750000");
	cr_assert_str_eq(consumer_value(&kconf, "queued.max.messages.kbytes"), "300000");

	path = write_file("kb.yaml", "kafka:\n  consumer_properties:\n"
	                             "    queued.max.messages.kbytes: 1024\n");
	cr_assert_neq(config_load(&cfg, path, err, sizeof err), 0);
	cr_assert(strstr(err, ":3: error: kafka.consumer_properties: queued.max.messages.kbytes is "
	                      "set by riskd itself: set kafka.prefetch_kbytes instead"),
	          "%s", err);
}

static atomic_int refused_lines; /* librdkafka's log lines about the refused connection */

static void count_refused(int level, const char *facility, const char *message)
{
	(void)level;
	(void)facility;
	if (strstr(message, "127.0.0.1:1"))
		atomic_fetch_add(&refused_lines, 1);
}

Test(kafka_conf, output_topics_without_an_answer_are_counted_and_named)
{
	/* nothing listens on port 1: no broker answers for any of the topics */
	char err[512] = "";
	kafka_set_logger(count_refused); /* librdkafka's lines go here, not to the test's stderr */
	struct kafka_producer *kp = kafka_producer_new("127.0.0.1:1", NULL, err, sizeof err);
	cr_assert_not_null(kp, "%s", err);
	const char *const topics[] = {"out.a", "out.b"};
	cr_assert_eq(kafka_producer_prepare(kp, topics, 2, 300, err, sizeof err), 2);
	cr_assert(strncmp(err, "metadata for topic 'out.a': ", 28) == 0, "%s", err);
	kafka_producer_destroy(kp);
	cr_assert_gt(atomic_load(&refused_lines), 0, "librdkafka said why it got no answer");
}

Test(kafka_conf, secret_values_never_appear_in_messages)
{
	char err[1024];
	setenv("RISKD_TEST_MECHANISM", "hunter2-not-a-mechanism", 1);
	const char *path = write_file("mech.yaml", "kafka:\n  properties:\n"
	                                           "    security.protocol: SASL_PLAINTEXT\n"
	                                           "    sasl.username: u\n"
	                                           "    sasl.password: p\n"
	                                           "    sasl.mechanism: \"${RISKD_TEST_MECHANISM}\"\n");
	cr_assert_eq(check(path, err, sizeof err), RISKD_ERR_INVALID);
	char want[512];
	/* librdkafka's message names no property: the file is blamed, without a line */
	snprintf(want, sizeof want, "%s: error: the Kafka consumer's properties: Unsupported SASL "
	         "mechanism: (secret)", path);
	cr_assert_str_eq(err, want, "a one-letter password does not mangle the words around it");

	const char *secret = write_file("pw", "Sup3rSecret\n");
	char yaml[512];
	snprintf(yaml, sizeof yaml, "kafka:\n  producer_properties:\n"
	                            "    security.protocol_file: %s\n", secret);
	path = write_file("proto.yaml", yaml);
	cr_assert_eq(check(path, err, sizeof err), RISKD_ERR_INVALID);
	cr_assert_null(strstr(err, "Sup3rSecret"), "%s", err);
	snprintf(yaml, sizeof yaml, "%s:3: error: kafka.producer_properties: security.protocol: "
	         "Invalid value \"(secret)\" for configuration property \"security.protocol\"", path);
	cr_assert_str_eq(err, yaml);
}
