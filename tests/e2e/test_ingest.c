/*
 * test_ingest.c - end to end against the local stack: every valid event is reflected exactly
 * once in risk.daily_usage, duplicates are counted and skipped, and every invalid message is
 * in the dead-letter topic with its original bytes, source coordinates and reason.
 *
 * Expected totals are computed here from the input file, independently of riskd's code: the
 * local day of a reading is the date written in its ts (the generator writes the offset of
 * Asia/Shanghai, riskd's default zone), energy is summed in integer micro-kWh.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "tests/support/e2e.h"

struct expected_day {
	char key[96]; /* customer_id|YYYY-MM-DD */
	int64_t uwh;
	int64_t readings;
};

static int cmp_day(const void *a, const void *b)
{
	return strcmp(((const struct expected_day *)a)->key, ((const struct expected_day *)b)->key);
}

/* A set of strings (event ids), open addressing. */
struct idset {
	char **slots;
	size_t cap, count;
};

static int idset_add(struct idset *s, const char *id)
{
	if (2 * (s->count + 1) > s->cap) {
		struct idset grown = {calloc(s->cap ? 2 * s->cap : 1024, sizeof(char *)),
		                        s->cap ? 2 * s->cap : 1024, 0};
		for (size_t i = 0; i < s->cap; i++)
			if (s->slots[i])
				idset_add(&grown, s->slots[i]), free(s->slots[i]);
		free(s->slots);
		*s = grown;
	}
	uint64_t h = 1469598103934665603ull;
	for (const char *p = id; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (!s->slots[i]) {
			s->slots[i] = strdup(id);
			s->count++;
			return 1;
		}
		if (strcmp(s->slots[i], id) == 0)
			return 0;
	}
}

static void idset_free(struct idset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i]);
	free(s->slots);
}

struct expectation {
	struct expected_day *days;
	size_t day_count;
	int64_t accepted, duplicates, readings;
};

/* Reads a JSONL file of valid events (possibly repeated) and computes what riskd must store. */
static void expect_from_file(const char *path, struct expectation *ex)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	struct idset ids = {0};
	size_t cap = 4096, n = 0;
	struct expected_day *raw = malloc(cap * sizeof(*raw));
	char *line = NULL;
	size_t line_cap = 0;
	memset(ex, 0, sizeof(*ex));
	while (getline(&line, &line_cap, f) > 0) {
		json_error_t jerr;
		json_t *ev = json_loads(line, 0, &jerr);
		cr_assert_not_null(ev, "generator wrote invalid JSON: %s", line);
		if (!idset_add(&ids, json_string_value(json_object_get(ev, "event_id")))) {
			ex->duplicates++;
			json_decref(ev);
			continue;
		}
		ex->accepted++;
		if (strcmp(json_string_value(json_object_get(ev, "type")), "meter_reading") == 0) {
			if (n == cap)
				raw = realloc(raw, (cap *= 2) * sizeof(*raw));
			snprintf(raw[n].key, sizeof(raw[n].key), "%s|%.10s",
			         json_string_value(json_object_get(ev, "customer_id")),
			         json_string_value(json_object_get(ev, "ts")));
			raw[n].uwh = llround(json_number_value(json_object_get(ev, "kwh")) * 1e6);
			raw[n].readings = 1;
			n++;
			ex->readings++;
		}
		json_decref(ev);
	}
	free(line);
	fclose(f);
	idset_free(&ids);
	qsort(raw, n, sizeof(*raw), cmp_day);
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		if (out && strcmp(raw[out - 1].key, raw[i].key) == 0) {
			raw[out - 1].uwh += raw[i].uwh;
			raw[out - 1].readings++;
		} else {
			raw[out++] = raw[i];
		}
	}
	ex->days = raw;
	ex->day_count = out;
}

/* Compares risk.daily_usage row by row with the expectation. */
static void assert_daily_usage(const char *dsn, const struct expectation *ex)
{
	PGconn *conn = PQconnectdb(dsn);
	cr_assert_eq(PQstatus(conn), CONNECTION_OK);
	PGresult *res = PQexec(conn, "select customer_id || '|' || day::text, kwh_uwh, readings, kwh"
	                             " from risk.daily_usage order by (customer_id || '|' || day::text) collate \"C\"");
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(conn));
	cr_assert_eq((size_t)PQntuples(res), ex->day_count, "daily_usage has %d rows, expected %zu",
	             PQntuples(res), ex->day_count);
	for (size_t i = 0; i < ex->day_count; i++) {
		const char *key = PQgetvalue(res, (int)i, 0);
		cr_assert_str_eq(key, ex->days[i].key, "row %zu", i);
		cr_assert_eq(strtoll(PQgetvalue(res, (int)i, 1), NULL, 10), ex->days[i].uwh,
		             "%s: kwh_uwh %s, expected %lld", key, PQgetvalue(res, (int)i, 1),
		             (long long)ex->days[i].uwh);
		cr_assert_eq(strtoll(PQgetvalue(res, (int)i, 2), NULL, 10), ex->days[i].readings,
		             "%s: readings", key);
		double kwh = strtod(PQgetvalue(res, (int)i, 3), NULL);
		cr_assert(fabs(kwh - (double)ex->days[i].uwh / 1e6) < 1e-9, "%s: kwh %f", key, kwh);
	}
	PQclear(res);
	PQfinish(conn);
}

Test(ingest, every_valid_event_counted_exactly_once, .timeout = 240)
{
	struct e2e_world w;
	struct expectation ex;
	char file[1400], sql[256];

	e2e_world_new(&w, "ingest_once", 4, 700);
	snprintf(file, sizeof(file), "%s/city.jsonl", w.dir);
	e2e_sh("'%s/riskctl' gen --customers 80 --days 6 --seed 11 --interval-s 1800 --dup-rate 0.01"
	       " > '%s' 2>/dev/null", w.env.bin, file);
	expect_from_file(file, &ex);
	cr_assert_gt(ex.duplicates, 0, "the input must contain duplicates to test skipping them");
	cr_assert_eq(ex.readings, 80 * 6 * 48);

	e2e_produce_file(&w, file);
	e2e_riskd_run_until_idle(&w, 4, 180);

	assert_daily_usage(w.dsn, &ex);
	cr_assert_eq(e2e_query_int(w.dsn, "select coalesce(sum(count), 0) from risk.ingest_counts"
	                                  " where outcome = 'accepted'"),
	             ex.accepted);
	cr_assert_eq(e2e_query_int(w.dsn, "select coalesce(sum(count), 0) from risk.ingest_counts"
	                                  " where outcome = 'duplicate'"),
	             ex.duplicates);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.customers"), 80);
	snprintf(sql, sizeof(sql), "select coalesce(sum(count), 0) from risk.ingest_counts"
	                           " where outcome = 'dead_letter'");
	cr_assert_eq(e2e_query_int(w.dsn, sql), 0);
	/* energy balance: every area-day is complete, and its loss is the generator's technical
	 * loss (2.5% to 6.5% of the feeder energy) since nobody steals here */
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.area_balance"), 2 * 6);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.area_balance"
	                                  " where loss_rate between 0.02 and 0.07"), 2 * 6);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.area_refresh_queue"), 0);
	/* offsets: the stored next offset of every partition is its end (all consumed) */
	cr_assert_eq(e2e_query_int(w.dsn, "select coalesce(sum(next_offset), 0)"
	                                  " from risk.kafka_offsets"),
	             ex.accepted + ex.duplicates);
	free(ex.days);
}

/*
 * Produces the lines of path to topic in one Kafka transaction, keyed by customer_id and
 * spread as riskctl produce spreads them (murmur2_random), so that each partition of topic
 * ends with a transaction marker, a record no consumer receives as a message.
 */
static void produce_in_one_transaction(const struct e2e_world *w, const char *topic,
                                       const char *path)
{
	char errstr[512], id[128];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	snprintf(id, sizeof(id), "%s-txn", w->name);
	cr_assert_eq(rd_kafka_conf_set(conf, "bootstrap.servers", w->env.brokers, errstr,
	                               sizeof(errstr)), RD_KAFKA_CONF_OK, "%s", errstr);
	cr_assert_eq(rd_kafka_conf_set(conf, "transactional.id", id, errstr, sizeof(errstr)),
	             RD_KAFKA_CONF_OK, "%s", errstr);
	cr_assert_eq(rd_kafka_conf_set(conf, "partitioner", "murmur2_random", errstr,
	                               sizeof(errstr)), RD_KAFKA_CONF_OK, "%s", errstr);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	cr_assert_not_null(rk, "%s", errstr);
	rd_kafka_error_t *err = rd_kafka_init_transactions(rk, 30000);
	cr_assert_null(err, "init_transactions: %s", err ? rd_kafka_error_string(err) : "");
	cr_assert_null(rd_kafka_begin_transaction(rk));
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0) {
		json_t *ev = json_loadb(line, (size_t)len, 0, NULL);
		cr_assert_not_null(ev, "%s: %s", path, line);
		const char *key = json_string_value(json_object_get(ev, "customer_id"));
		cr_assert_not_null(key, "%s: no customer_id: %s", path, line);
		rd_kafka_resp_err_t perr = rd_kafka_producev(
		    rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
		    RD_KAFKA_V_VALUE(line, (size_t)(line[len - 1] == '\n' ? len - 1 : len)),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
		cr_assert_eq(perr, RD_KAFKA_RESP_ERR_NO_ERROR, "produce: %s", rd_kafka_err2str(perr));
		json_decref(ev);
		rd_kafka_poll(rk, 0);
	}
	free(line);
	fclose(f);
	err = rd_kafka_commit_transaction(rk, 30000);
	cr_assert_null(err, "commit_transaction: %s", err ? rd_kafka_error_string(err) : "");
	rd_kafka_destroy(rk);
}

/*
 * Readings wait for their partition's profiles (the read order). Profiles written by a
 * transactional producer are read (riskd reads committed records only) and open the read
 * order when read, not by its deadline, and every event counts as if they were plain
 * messages. On a real broker each partition then ends with a transaction marker, which is
 * never delivered as a message and which the read order steps over by the consumer's
 * position; the mock cluster writes no markers, so this suite cannot show that part.
 */
Test(ingest, profiles_written_in_a_transaction_are_read_first_without_waiting, .timeout = 240)
{
	struct e2e_world w;
	struct expectation ex;
	char file[1400], profiles[1400], rest[1400], log[1400], line[4096];

	e2e_world_new(&w, "ingest_txn", 4, 700);
	snprintf(file, sizeof(file), "%s/city.jsonl", w.dir);
	snprintf(profiles, sizeof(profiles), "%s/profiles.jsonl", w.dir);
	snprintf(rest, sizeof(rest), "%s/rest.jsonl", w.dir);
	e2e_sh("'%s/riskctl' gen --customers 40 --days 4 --seed 12 --interval-s 3600"
	       " > '%s' 2>/dev/null", w.env.bin, file);
	e2e_sh("grep '\"type\":\"customer\"' '%s' > '%s'", file, profiles);
	e2e_sh("grep -v '\"type\":\"customer\"' '%s' > '%s'", file, rest);
	expect_from_file(file, &ex);
	cr_assert_eq(ex.readings, 40 * 4 * 24);

	e2e_produce_file(&w, rest);
	produce_in_one_transaction(&w, w.topics[2], profiles);
	e2e_riskd_run_until_idle(&w, 3, 180);

	assert_daily_usage(w.dsn, &ex);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.customers"), 40);
	snprintf(log, sizeof(log), "%s/riskd-1.log", w.dir);
	FILE *f = fopen(log, "r");
	cr_assert_not_null(f, "%s", log);
	int stopped = 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "event=stopped")) {
			stopped = 1;
			cr_assert_not_null(strstr(line, " read_order_expired=0 "),
			                   "readings waited out the read order's deadline: %s", line);
		}
	fclose(f);
	cr_assert(stopped, "no stopped line in %s", log);
	free(ex.days);
}

/* One invalid message, the expected words of its x-error, and how to send it. */
struct bad_case {
	const char *line;      /* payload (one line) */
	const char *error_has; /* substring of x-error */
	const char *topic;     /* "readings" or "billing": produced with --topic to that topic */
	const char *key;       /* non-NULL: sent with kcat with this key instead of riskctl */
};

#define READING(extra) \
	"{\"type\":\"meter_reading\",\"event_id\":\"bad-" extra

static const struct bad_case bad_cases[] = {
	{"{\"type\":\"meter_reading\",\"event_id\":\"b1\",\"ts\":\"2026-01-01T00:00:00+08:00\","
	 "\"customer_id\":\"C1\",\"meter_id\":\"M1\",\"kwh\":-1.5,\"interval_s\":1800}",
	 "kwh", "readings", NULL},
	{"{\"type\":\"meter_reading\",\"event_id\":\"b2\",\"ts\":\"2026-01-01T00:00:00+08:00\","
	 "\"customer_id\":\"C1\",\"kwh\":1.5,\"interval_s\":1800}",
	 "meter_id", "readings", NULL},
	{"{\"type\":\"meter_reeding\",\"event_id\":\"b3\",\"ts\":\"2026-01-01T00:00:00+08:00\","
	 "\"customer_id\":\"C1\"}",
	 "meter_reeding", "readings", NULL},
	{"{\"type\":\"meter_reading\",\"event_id\":\"b4\",\"ts\":\"2026-02-30T00:00:00+08:00\","
	 "\"customer_id\":\"C1\",\"meter_id\":\"M1\",\"kwh\":1.5,\"interval_s\":1800}",
	 "ts", "readings", NULL},
	{"{\"type\":\"meter_reading\",\"event_id\":\"b5\",\"customer_id\":\"C1\",",
	 "JSON", "readings", NULL},
	{"{\"type\":\"meter_reading\",\"event_id\":\"b6\",\"ts\":\"2026-01-01T00:00:00+08:00\","
	 "\"customer_id\":\"C1\",\"meter_id\":\"M1\",\"kwh\":\"1.5\",\"interval_s\":1800}",
	 "kwh", "readings", NULL},
	{"{\"type\":\"meter_reading\",\"event_id\":\"b7\",\"ts\":\"2026-01-01T00:00:00+08:00\","
	 "\"customer_id\":\"C1\",\"meter_id\":\"M1\",\"kwh\":1.5,\"interval_s\":1800,\"kwhh\":1}",
	 "kwhh", "readings", NULL},
	{"{\"type\":\"meter_reading\",\"event_id\":\"b8\",\"ts\":\"2026-01-01T00:00:00+08:00\","
	 "\"customer_id\":\"C1\",\"meter_id\":\"M1\",\"kwh\":10000000,\"interval_s\":1800}",
	 "exceeds", "readings", NULL},
	{"{\"type\":\"meter_reading\",\"event_id\":\"b9\",\"ts\":\"2026-01-01T00:00:00+08:00\","
	 "\"customer_id\":\"C1\",\"meter_id\":\"M\xc3\x28\",\"kwh\":1.5,\"interval_s\":1800}",
	 "UTF-8", "readings", NULL},
	{"{\"type\":\"bill\",\"event_id\":\"b10\",\"ts\":\"2026-01-01T00:00:00+08:00\","
	 "\"customer_id\":\"C1\",\"bill_id\":\"B1\",\"amount\":10,\"due_date\":\"2026-01-15\"}",
	 "does not belong", "readings", NULL},
	{"{\"type\":\"meter_reading\",\"event_id\":\"b11\",\"ts\":\"2026-01-01T00:00:00+08:00\","
	 "\"customer_id\":\"C1\",\"meter_id\":\"M1\",\"kwh\":1.5,\"interval_s\":1800}",
	 "key", "readings", "C2"},
	{"{\"type\":\"payment\",\"event_id\":\"b12\",\"ts\":\"2026-01-01T00:00:00+08:00\","
	 "\"customer_id\":\"C1\",\"amount\":0}",
	 "amount", "billing", NULL},
};

Test(ingest, every_invalid_event_dead_lettered_with_reason, .timeout = 180)
{
	struct e2e_world w;
	char path[1400];
	size_t ncase = sizeof(bad_cases) / sizeof(bad_cases[0]);

	e2e_world_new(&w, "ingest_dlq", 2, 100);
	/* a valid reading, sent twice (one duplicate), so good and bad traffic mix */
	snprintf(path, sizeof(path), "%s/good.jsonl", w.dir);
	FILE *f = fopen(path, "w");
	const char *good = "{\"type\":\"meter_reading\",\"event_id\":\"g1\","
	                   "\"ts\":\"2026-01-01T00:00:00+08:00\",\"customer_id\":\"C1\","
	                   "\"meter_id\":\"M1\",\"kwh\":1.5,\"interval_s\":1800}";
	fprintf(f, "%s\n%s\n", good, good);
	fclose(f);
	e2e_produce_file(&w, path);
	for (size_t i = 0; i < ncase; i++) {
		snprintf(path, sizeof(path), "%s/bad-%zu.jsonl", w.dir, i);
		f = fopen(path, "w");
		if (bad_cases[i].key)
			fprintf(f, "%s|%s\n", bad_cases[i].key, bad_cases[i].line);
		else
			fprintf(f, "%s\n", bad_cases[i].line);
		fclose(f);
		const char *topic = strcmp(bad_cases[i].topic, "billing") == 0 ? w.topics[1]
		                                                                 : w.topics[0];
		if (bad_cases[i].key)
			e2e_sh("kcat -P -b '%s' -t '%s' -K '|' -l '%s'", w.env.brokers, topic, path);
		else
			e2e_sh("env -u RISKD_KAFKA_BROKERS '%s/riskctl' produce --topic '%s' --config '%s'"
			       " < '%s' 2>/dev/null", w.env.bin, topic, w.config, path);
	}
	/* an oversized payload, built here */
	snprintf(path, sizeof(path), "%s/big.jsonl", w.dir);
	f = fopen(path, "w");
	fprintf(f, "{\"type\":\"meter_reading\",\"event_id\":\"big\",\"customer_id\":\"C1\","
	           "\"pad\":\"");
	for (int i = 0; i < 9000; i++)
		fputc('x', f);
	fprintf(f, "\"}\n");
	fclose(f);
	e2e_sh("env -u RISKD_KAFKA_BROKERS '%s/riskctl' produce --topic '%s' --config '%s' < '%s'"
	       " 2>/dev/null", w.env.bin, w.topics[0], w.config, path);

	e2e_riskd_run_until_idle(&w, 4, 120);

	struct e2e_dead_letter *dl;
	size_t n = e2e_read_dead_letters(&w, &dl);
	cr_assert_eq(n, ncase + 1, "dead letters: %zu, expected %zu", n, ncase + 1);
	for (size_t i = 0; i < ncase; i++) {
		const struct e2e_dead_letter *d = NULL;
		for (size_t j = 0; j < n; j++)
			if (strcmp(dl[j].payload, bad_cases[i].line) == 0)
				d = &dl[j];
		cr_assert_not_null(d, "case %zu not dead-lettered with its original bytes: %s", i,
		                   bad_cases[i].line);
		cr_assert(strstr(d->error, bad_cases[i].error_has) != NULL,
		          "case %zu: x-error '%s' does not mention '%s'", i, d->error,
		          bad_cases[i].error_has);
		cr_assert(strchr(d->error, '\n') == NULL, "x-error must be one line");
		const char *topic = strcmp(bad_cases[i].topic, "billing") == 0 ? w.topics[1]
		                                                                 : w.topics[0];
		cr_assert_str_eq(d->source_topic, topic);
		cr_assert(d->source_partition >= 0 && d->source_partition < w.partitions);
		cr_assert_geq(d->source_offset, 0);
	}
	size_t big = 0;
	for (size_t j = 0; j < n; j++)
		if (strlen(dl[j].payload) > 9000 && strstr(dl[j].error, "8192"))
			big++;
	cr_assert_eq(big, 1, "the oversized payload is dead-lettered whole, naming the limit");
	e2e_dead_letters_free(dl, n);

	cr_assert_eq(e2e_query_int(w.dsn, "select coalesce(sum(count), 0) from risk.ingest_counts"
	                                  " where outcome = 'dead_letter'"),
	             (int64_t)ncase + 1);
	cr_assert_eq(e2e_query_int(w.dsn, "select coalesce(sum(count), 0) from risk.ingest_counts"
	                                  " where outcome = 'duplicate'"), 1);
	cr_assert_eq(e2e_query_int(w.dsn, "select kwh_uwh from risk.daily_usage"
	                                  " where customer_id = 'C1'"), 1500000);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.outbox"), 0,
	             "the outbox is empty once published");
}

Test(ingest, health_and_metrics_served_while_running, .timeout = 120)
{
	struct e2e_world w;
	char file[1400], body[65536];
	e2e_world_new(&w, "ingest_http", 2, 200);
	int port = e2e_free_port();
	e2e_world_set_metrics_port(&w, port);
	snprintf(file, sizeof(file), "%s/city.jsonl", w.dir);
	e2e_sh("'%s/riskctl' gen --customers 10 --days 2 --seed 3 > '%s' 2>/dev/null", w.env.bin,
	       file);
	e2e_produce_file(&w, file);
	pid_t pid = e2e_riskd_start(&w, "--until-idle 6");

	/* healthy once it has loaded its partitions and committed */
	int health = -1;
	for (int i = 0; i < 200 && health != 200; i++) {
		health = e2e_http_get(port, "/healthz", body, sizeof(body));
		usleep(50000);
	}
	cr_assert_eq(health, 200, "/healthz never became 200 (last body: %s)", body);
	/* processed: the counters show the events */
	int found = 0;
	for (int i = 0; i < 100 && !found; i++) {
		cr_assert_eq(e2e_http_get(port, "/metrics", body, sizeof(body)), 200);
		found = strstr(body, "riskd_events_total{type=\"meter_reading\"} 960\n") != NULL;
		usleep(50000);
	}
	cr_assert(found, "metrics never showed 960 readings:\n%s", body);
	cr_assert(strstr(body, "riskd_batches_total ") != NULL);
	cr_assert(strstr(body, "riskd_commit_seconds_count ") != NULL);
	cr_assert(strstr(body, "riskd_consumer_lag ") != NULL);
	cr_assert_eq(e2e_http_get(port, "/nope", body, sizeof(body)), 404);
	cr_assert_eq(e2e_wait(pid, 60), 0);
}
