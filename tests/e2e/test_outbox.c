/*
 * test_outbox.c - end to end against the local stack: Kafka outputs never jam. An input too
 * large to publish whole is dead-lettered as a truncated copy with its length and SHA-256,
 * and every output after it is published; an outbox row Kafka refuses for good is moved to
 * risk.outbox_failed while the rows around it are published exactly once.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "tests/support/e2e.h"

#define BIG_INPUT_BYTES 1500000 /* larger than the producer's 1,000,000-byte limit */
#define DEAD_LETTER_PAYLOAD_MAX 524288

/* A message read back with the headers this suite checks. */
struct read_msg {
	char *payload; /* malloc'ed copy, NUL-terminated (len bytes before the NUL) */
	size_t len;
	char error[512], truncated[16], original_length[32], original_sha256[80], tag[64];
};

struct read_set {
	struct read_msg *m;
	size_t n, cap;
};

static void header(rd_kafka_headers_t *hdrs, const char *name, char *out, size_t size)
{
	const void *value;
	size_t len;
	out[0] = '\0';
	if (hdrs && rd_kafka_header_get_last(hdrs, name, &value, &len) == RD_KAFKA_RESP_ERR_NO_ERROR)
		snprintf(out, size, "%.*s", (int)len, (const char *)value);
}

static void add_read_msg(const rd_kafka_message_t *m, void *arg)
{
	struct read_set *set = arg;
	if (set->n == set->cap) {
		set->cap = set->cap ? 2 * set->cap : 64;
		set->m = realloc(set->m, set->cap * sizeof(*set->m));
		cr_assert_not_null(set->m);
	}
	struct read_msg *r = &set->m[set->n++];
	rd_kafka_headers_t *hdrs = NULL;
	memset(r, 0, sizeof(*r));
	r->len = m->len;
	r->payload = malloc(m->len + 1);
	memcpy(r->payload, m->payload ? m->payload : "", m->len);
	r->payload[m->len] = '\0';
	rd_kafka_message_headers(m, &hdrs);
	header(hdrs, "x-error", r->error, sizeof(r->error));
	header(hdrs, "x-truncated", r->truncated, sizeof(r->truncated));
	header(hdrs, "x-original-length", r->original_length, sizeof(r->original_length));
	header(hdrs, "x-original-sha256", r->original_sha256, sizeof(r->original_sha256));
	header(hdrs, "x-test", r->tag, sizeof(r->tag));
}

/* Reads every message of topic with the headers this suite checks. */
static void read_all(const struct e2e_world *w, const char *topic, struct read_set *set)
{
	memset(set, 0, sizeof(*set));
	e2e_read_topic_each(w, topic, add_read_msg, set);
}

static void read_set_free(struct read_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->m[i].payload);
	free(set->m);
}

/* The hex SHA-256 of a file, by sha256sum. */
static void file_sha256(const char *path, char *out, size_t size)
{
	char cmd[1500];
	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_eq(fscanf(p, "%64s", out), 1);
	cr_assert_lt(strlen(out), size);
	pclose(p);
}

Test(outbox, oversized_input_is_truncated_and_later_outputs_flow, .timeout = 300)
{
	struct e2e_world w;
	char big[1400], line[1400], city[1400], sha[80];
	/* 4 partitions: a mock partition keeps about 5 MiB, riskd consumes while the input is
	 * produced */
	e2e_world_new(&w, "outbox_big", 4, 500);
	pid_t pid = e2e_riskd_start(&w, "--until-idle 5");

	/* a 1.5 MB input: a meter reading padded with varied bytes, published first */
	snprintf(big, sizeof(big), "%s/big.json", w.dir);
	FILE *f = fopen(big, "w");
	cr_assert_not_null(f);
	int head = fprintf(f, "{\"type\":\"meter_reading\",\"event_id\":\"big\","
	                      "\"customer_id\":\"C1\",\"pad\":\"");
	uint32_t x = 12345;
	for (int i = head; i < BIG_INPUT_BYTES - 2; i++) {
		x = x * 1103515245u + 12345u;
		fputc("abcdefghijklmnopqrstuvwxyz0123456789"[(x >> 16) % 36], f);
	}
	fputs("\"}", f);
	fclose(f);
	file_sha256(big, sha, sizeof(sha));
	snprintf(line, sizeof(line), "%s/big.line", w.dir);
	e2e_sh("(printf 'C1|'; cat '%s'; echo) > '%s'", big, line);
	e2e_sh("kcat -P -b '%s' -t '%s' -K '|' -X message.max.bytes=4000000 -l '%s'", w.env.brokers,
	       w.topics[0], line);

	/* then normal traffic: a city with thieves, payment trouble and some invalid lines */
	snprintf(city, sizeof(city), "%s/city.jsonl", w.dir);
	e2e_sh("'%s/riskctl' gen --customers 200 --days 60 --interval-s 21600 --seed 7"
	       " --theft-rate 0.2 --distress-rate 0.15 --bad-rate 0.002 > '%s' 2>/dev/null",
	       w.env.bin, city);
	e2e_produce_file(&w, city);
	cr_assert_eq(e2e_wait(pid, 180), 0, "riskd --until-idle exits (logs in %s)", w.dir);
	int64_t lines = 0;
	f = fopen(city, "r");
	for (int c; (c = fgetc(f)) != EOF;)
		lines += c == '\n';
	fclose(f);
	cr_assert_eq(e2e_query_int(w.dsn, "select coalesce(sum(count), 0) from risk.ingest_counts"),
	             lines + 1, "riskd read every input, the big one included");

	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.outbox"), 0,
	             "the outbox drains");
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.outbox_failed"), 0);

	struct read_set dl;
	read_all(&w, w.topics[6], &dl);
	int64_t dead = e2e_query_int(w.dsn, "select coalesce(sum(count), 0) from risk.ingest_counts"
	                                    " where outcome = 'dead_letter'");
	cr_assert_gt(dead, 10, "the city has invalid lines after the big input");
	cr_assert_eq((int64_t)dl.n, dead, "every dead letter is published once: %zu of %lld",
	             dl.n, (long long)dead);
	size_t truncated = 0;
	for (size_t i = 0; i < dl.n; i++) {
		if (!dl.m[i].truncated[0]) {
			cr_assert_lt(dl.m[i].len, DEAD_LETTER_PAYLOAD_MAX);
			continue;
		}
		truncated++;
		cr_assert_str_eq(dl.m[i].truncated, "true");
		cr_assert_eq(dl.m[i].len, DEAD_LETTER_PAYLOAD_MAX);
		cr_assert_eq(atol(dl.m[i].original_length), BIG_INPUT_BYTES);
		cr_assert_str_eq(dl.m[i].original_sha256, sha);
		cr_assert(strstr(dl.m[i].error, "8192") != NULL, "x-error kept: %s", dl.m[i].error);
		f = fopen(big, "r");
		char *orig = malloc(DEAD_LETTER_PAYLOAD_MAX);
		cr_assert_eq(fread(orig, 1, DEAD_LETTER_PAYLOAD_MAX, f), DEAD_LETTER_PAYLOAD_MAX);
		fclose(f);
		cr_assert(memcmp(orig, dl.m[i].payload, DEAD_LETTER_PAYLOAD_MAX) == 0,
		          "the dead letter is the input's first bytes");
		free(orig);
	}
	cr_assert_eq(truncated, 1, "the big input's dead letter is truncated, once");
	read_set_free(&dl);

	struct read_set review, grades;
	read_all(&w, w.topics[4], &review);
	int64_t alerts = e2e_query_int(w.dsn, "select count(*) from risk.alerts");
	cr_assert_gt(alerts, 0, "the city raises alerts");
	cr_assert_geq((int64_t)review.n, alerts, "every alert reached the review queue");
	read_set_free(&review);
	read_all(&w, w.topics[5], &grades);
	int64_t changes = e2e_query_int(w.dsn, "select count(*) from risk.credit_grade_history");
	cr_assert_gt(changes, 0);
	cr_assert_eq((int64_t)grades.n, changes, "every grade change is published");
	read_set_free(&grades);
}

Test(outbox, rejected_row_moved_aside_and_neighbours_published_once, .timeout = 120)
{
	struct e2e_world w;
	char sql[2048];
	e2e_world_new(&w, "outbox_reject", 1, 500);
	/* three rows for the dead-letter topic: small, 1.2 MB (no x-error header, so kept whole:
	 * Kafka's producer refuses it), small */
	snprintf(sql, sizeof(sql),
	         "insert into risk.outbox (topic, msg_key, payload, headers) values"
	         " ('%s', 'k', 'first', '{x-test,first}'),"
	         " ('%s', 'k', convert_to(repeat('x', 1200000), 'UTF8'), '{x-test,huge}'),"
	         " ('%s', 'k', 'third', '{x-test,third}')",
	         w.topics[6], w.topics[6], w.topics[6]);
	e2e_sh("psql -X -q -v ON_ERROR_STOP=1 '%s' -c \"%s\"", w.dsn, sql);

	e2e_riskd_run_until_idle(&w, 2, 60);

	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.outbox"), 0);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.outbox_failed"
	                                  " where headers = '{x-test,huge}'"
	                                  " and octet_length(payload) = 1200000"
	                                  " and error like '%too large%' and failed_at is not null"),
	             1, "the refused row is kept with its error");
	struct read_set got;
	read_all(&w, w.topics[6], &got);
	cr_assert_eq(got.n, 2, "published %zu messages, expected first and third once each", got.n);
	cr_assert_str_eq(got.m[0].tag, "first");
	cr_assert_str_eq(got.m[0].payload, "first");
	cr_assert_str_eq(got.m[1].tag, "third");
	read_set_free(&got);

	/* the relay said which row it moved aside */
	char cmd[1500];
	snprintf(cmd, sizeof(cmd), "grep -h 'outbox_failed' '%s'/riskd-*.log | grep -c 'too large'",
	         w.dir);
	FILE *p = popen(cmd, "r");
	int lines = 0;
	cr_assert_eq(fscanf(p, "%d", &lines), 1);
	pclose(p);
	cr_assert_eq(lines, 1, "one log line for the moved row");
}

/* The value of an unlabelled metric in an exposition body, or -1 when absent. */
static long long metric_value(const char *body, const char *name)
{
	char needle[128];
	snprintf(needle, sizeof(needle), "\n%s ", name);
	const char *at = strstr(body, needle);
	return at ? strtoll(at + strlen(needle), NULL, 10) : -1;
}

Test(outbox, pending_gauges_count_rows_waiting, .timeout = 120)
{
	struct e2e_world w;
	char body[65536];
	e2e_world_new(&w, "outbox_gauge", 1, 500);
	int port = e2e_free_port();
	e2e_world_set_metrics_port(&w, port);
	/* a row written an hour ago, held by another session (as another instance relaying it
	 * would), so this relay skips it and it stays pending */
	e2e_sh("psql -X -q -v ON_ERROR_STOP=1 '%s' -c \"insert into risk.outbox"
	       " (topic, msg_key, payload, created_at) values ('%s', 'k', 'held',"
	       " now() - interval '1 hour')\"", w.dsn, w.topics[6]);
	PGconn *holder = PQconnectdb(w.dsn);
	cr_assert_eq(PQstatus(holder), CONNECTION_OK);
	PQclear(PQexec(holder, "begin"));
	PGresult *res = PQexec(holder, "select id from risk.outbox for update");
	cr_assert_eq(PQntuples(res), 1);
	PQclear(res);

	pid_t pid = e2e_riskd_start(&w, NULL);
	long long pending = -1, age = -1;
	for (int i = 0; i < 300 && pending != 1; i++) {
		usleep(100000);
		if (e2e_http_get(port, "/metrics", body, sizeof(body)) != 200)
			continue;
		pending = metric_value(body, "riskd_outbox_pending");
		age = metric_value(body, "riskd_outbox_oldest_age_seconds");
	}
	kill(pid, SIGTERM);
	cr_assert_eq(e2e_wait(pid, 30), 0);
	PQclear(PQexec(holder, "rollback"));
	PQfinish(holder);
	cr_assert_eq(pending, 1, "riskd_outbox_pending counts the waiting row:\n%s", body);
	cr_assert(age >= 3590 && age <= 3700, "riskd_outbox_oldest_age_seconds is its age: %lld",
	          age);
	cr_assert_eq(metric_value(body, "riskd_outbox_failed_total"), 0);
}
