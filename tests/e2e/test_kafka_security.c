/*
 * test_kafka_security.c - end to end against the local stack: riskd configured for a secured
 * Kafka cluster (the shipped examples config/examples/kafka-sasl-scram.yaml and
 * kafka-mtls.yaml, with the brokers and the database pointed at the local stack). The mock
 * cluster speaks neither TLS nor SASL, so what can be checked here is the failure an operator
 * would see against a plaintext listener: riskd says in its log that the TLS handshake failed,
 * exits non-zero, and never writes a secret (the SCRAM password, the key's passphrase) to
 * its log. That the examples pass librdkafka's own checks with real certificate files is
 * tests/unit/test_kafka_conf.c's job.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/e2e.h"

/* Writes dir/creds with a CA, a client certificate and key (passphrase "key-phrase-1") and
 * the password files the examples read; points CREDENTIALS_DIRECTORY there. */
static void make_credentials(const struct e2e_world *w)
{
	char creds[1400];
	snprintf(creds, sizeof(creds), "%s/creds", w->dir);
	e2e_sh("mkdir -p '%s' && cd '%s'"
	       " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out kafka-ca.pem"
	       " -days 2 -subj /CN=riskd-test-ca >/dev/null 2>&1"
	       " && openssl req -newkey rsa:2048 -passout pass:key-phrase-1 -keyout riskd.key"
	       " -out riskd.csr -subj /CN=riskd >/dev/null 2>&1"
	       " && openssl x509 -req -in riskd.csr -CA kafka-ca.pem -CAkey ca.key -CAcreateserial"
	       " -out riskd.crt -days 2 >/dev/null 2>&1"
	       " && printf 'key-phrase-1\\n' > riskd.key.password"
	       " && printf 'scram-secret-1\\n' > kafka-password",
	       creds, creds);
	setenv("CREDENTIALS_DIRECTORY", creds, 1);
	setenv("HOSTNAME", "e2e-host", 1);
}

/* Rewrites w's config from the example, with the local stack's brokers, database and topics. */
static void config_from_example(struct e2e_world *w, const char *example)
{
	e2e_sh("sed -e 's|^  brokers: .*|  brokers: \"%s\"|' -e 's|^  dsn: .*|  dsn: \"%s\"|'"
	       " -e 's|^  group_id: .*|  group_id: \"riskd-%s\"|' '%s/%s' > '%s'"
	       " && printf 'topics:\\n  readings: \"%s\"\\n  billing: \"%s\"\\n  profiles: \"%s\"\\n"
	       "  transformer: \"%s\"\\nmetrics:\\n  port: 0\\n' >> '%s'",
	       w->env.brokers, w->dsn, w->name, w->env.root, example, w->config, w->topics[0],
	       w->topics[1], w->topics[2], w->topics[3], w->config);
}

/* Runs riskd on the example (its brokers and database pointed at the local stack), expecting
 * it to give up at startup over the TLS handshake; secret must not be in its log. */
static void example_fails_without_secret(const char *name, const char *example,
                                         const char *secret)
{
	struct e2e_world w;
	e2e_world_new(&w, name, 2, 100);
	make_credentials(&w);
	config_from_example(&w, example);
	pid_t pid = e2e_riskd_start(&w, "--until-idle 5");
	int rc = e2e_wait(pid, 120);
	cr_assert(rc > 0, "riskd exited with %d against a plaintext listener (logs in %s)", rc,
	          w.dir);
	e2e_sh("grep -q 'event=kafka .*SSL handshake failed' '%s'/riskd-1.log", w.dir);
	e2e_sh("grep -q 'event=startup_failed' '%s'/riskd-1.log", w.dir);
	e2e_sh("! grep -q '%s' '%s'/riskd-1.log", secret, w.dir);
}

Test(kafka_security, sasl_ssl_example_reports_the_tls_failure_and_no_secret, .timeout = 300)
{
	example_fails_without_secret("sasl", "config/examples/kafka-sasl-scram.yaml",
	                             "scram-secret-1");
}

Test(kafka_security, mtls_example_reports_the_tls_failure_and_no_secret, .timeout = 300)
{
	example_fails_without_secret("mtls", "config/examples/kafka-mtls.yaml", "key-phrase-1");
}
