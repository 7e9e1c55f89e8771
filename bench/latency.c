/*
 * latency.c - the benchmark's reading-to-alert latency probe (bench/latency.sh, bench/README.md).
 *
 *   latency --brokers B --dsn DSN --group G --readings T --billing T --profiles T
 *           --transformer T --city FILE --history-lines H --out DIR
 *           (--rate N | --catchup-fraction F) [--history-chunk C] [--poll-ms MS]
 *           [--timeout-s S]
 *
 * A producer and an observer of one riskd instance (consumer group G, database DSN), in four
 * steps:
 *   1. publishes the first H lines of FILE (riskctl gen output), the history, as fast as riskd
 *      takes them: in chunks of C lines (100,000), each sent once riskd has committed all but
 *      one chunk (riskd's next offsets in risk.kafka_offsets add up to what it committed), so
 *      no partition of the mock cluster, which keeps about 5 MiB each, drops unread data;
 *   2. waits until riskd has committed all of the history and measures that catch-up rate;
 *   3. publishes the remaining lines at a fixed rate (N events/s, or F times the catch-up
 *      rate), message i due at t0 + i / rate, while a second thread polls risk.alert_events
 *      every MS milliseconds for alerts riskd opened or updated (a day raised at its close
 *      fires then; its completion once its area is in is not another firing);
 *   4. waits until riskd has committed everything, polls once more, and writes DIR/triggers.tsv,
 *      DIR/alerts.tsv and one key=value summary line on stdout (with t0_unix_s, the wall clock
 *      at the start of the paced part, to place riskd's log lines on the same time line).
 *
 * Events are routed by type to the four input topics and keyed by customer_id (transformer_id)
 * as `riskctl produce --route` does. Every time is CLOCK_MONOTONIC in nanoseconds since the
 * start of the paced part. A trigger is the first paced meter reading of a customer's local day
 * (the day is the date of `ts`, which gen writes in the zone riskd's days.timezone names): riskd
 * closes a customer's open day, and scores it, on the first reading of a later day
 * (scoring/daily.c, detector/scorer.c). Its publish time is when producev() was called; the
 * delivery report time (the broker's acknowledgement, seen by rd_kafka_poll within about a
 * millisecond) is kept next to it. An alert event is seen at the end of the first poll whose
 * result holds it; it became visible after the start of the poll before. bench/latency.py joins
 * the two files.
 *
 * libpq is used directly here: this is a client of riskd's tables, not part of riskd.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#define ID_MAX 64              /* customer, transformer and alert ids; day strings */
#define DAY_LEN 10             /* YYYY-MM-DD */

enum route { ROUTE_READINGS, ROUTE_BILLING, ROUTE_PROFILES, ROUTE_TRANSFORMER, ROUTE__COUNT };

struct latency_args {
	const char *brokers, *dsn, *group, *city, *out;
	const char *topics[ROUTE__COUNT];
	long long history_lines, history_chunk;
	double rate, catchup_fraction;
	double poll_ms, timeout_s;
};

/* The first paced reading of one customer's local day. */
struct trigger {
	char customer[ID_MAX];
	char day[DAY_LEN + 1];
	int64_t produced_ns, delivered_ns;
};

/* One riskd firing (alert opened or updated) as the poller first saw it. */
struct alert_seen {
	long long event_id;
	char alert_id[ID_MAX], customer[ID_MAX], action[16], day[DAY_LEN + 1], revision[16];
	int64_t seen_ns, prev_poll_ns;
};

/* customer -> last local day published: open addressing, linear probing, power-of-two size */
struct day_slot {
	char customer[ID_MAX];
	char day[DAY_LEN + 1];
};
struct day_map {
	struct day_slot *slots;
	size_t size, used;
};

struct poller {
	PGconn *conn;
	long long after_id;                /* events with a larger id are new */
	int64_t t0_ns, period_ns;
	atomic_int stop;                   /* 1: poll once more, then return */
	struct alert_seen *seen;
	size_t seen_count, seen_cap;
	long long polls, out_of_order, failures;
	int64_t period_sum_ns, period_max_ns, query_max_ns;
	char error[512];
};

static struct trigger *triggers;
static size_t trigger_count, trigger_cap;
static long long delivery_failures;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until(int64_t t_ns)
{
	struct timespec ts = {(time_t)(t_ns / 1000000000), (long)(t_ns % 1000000000)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (!q) {
		fprintf(stderr, "latency: out of memory\n");
		exit(1);
	}
	return q;
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: latency --brokers LIST --dsn DSN --group RISKD_GROUP --readings TOPIC\n"
	        "               --billing TOPIC --profiles TOPIC --transformer TOPIC --city FILE\n"
	        "               --history-lines H --out DIR (--rate EVENTS_PER_S |\n"
	        "               --catchup-fraction F) [--history-chunk N] [--poll-ms MS]\n"
	        "               [--timeout-s S]\n");
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

/* Fills *args from argv. Returns 0, or 2 (usage error, already reported). */
static int args_parse(int argc, char **argv, struct latency_args *args)
{
	static const char *const topic_opts[ROUTE__COUNT] = {"--readings", "--billing",
	                                                     "--profiles", "--transformer"};
	double history = -1, chunk = 100000;

	memset(args, 0, sizeof(*args));
	args->poll_ms = 10;
	args->timeout_s = 600;
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
			usage(stdout);
			exit(0);
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "latency: %s needs a value\n", opt);
			return 2;
		}
		const char *val = argv[++i];
		int ok = 1, topic = -1;
		for (int t = 0; t < ROUTE__COUNT; t++)
			if (strcmp(opt, topic_opts[t]) == 0)
				topic = t;
		if (topic >= 0)
			args->topics[topic] = val;
		else if (strcmp(opt, "--brokers") == 0)
			args->brokers = val;
		else if (strcmp(opt, "--dsn") == 0)
			args->dsn = val;
		else if (strcmp(opt, "--group") == 0)
			args->group = val;
		else if (strcmp(opt, "--city") == 0)
			args->city = val;
		else if (strcmp(opt, "--out") == 0)
			args->out = val;
		else if (strcmp(opt, "--history-lines") == 0)
			ok = parse_double(val, 0, 1e12, &history) == 0;
		else if (strcmp(opt, "--history-chunk") == 0)
			ok = parse_double(val, 1000, 1e9, &chunk) == 0;
		else if (strcmp(opt, "--rate") == 0)
			ok = parse_double(val, 1, 1e8, &args->rate) == 0;
		else if (strcmp(opt, "--catchup-fraction") == 0)
			ok = parse_double(val, 0.01, 10, &args->catchup_fraction) == 0;
		else if (strcmp(opt, "--poll-ms") == 0)
			ok = parse_double(val, 1, 1000, &args->poll_ms) == 0;
		else if (strcmp(opt, "--timeout-s") == 0)
			ok = parse_double(val, 1, 86400, &args->timeout_s) == 0;
		else
			ok = 0;
		if (!ok) {
			fprintf(stderr, "latency: bad option or value: %s %s\n", opt, val);
			return 2;
		}
	}
	args->history_lines = (long long)history;
	args->history_chunk = (long long)chunk;
	int missing = !args->brokers || !args->dsn || !args->group || !args->city || !args->out ||
	              history < 0 || (args->rate > 0) == (args->catchup_fraction > 0);
	for (int t = 0; t < ROUTE__COUNT; t++)
		missing |= !args->topics[t];
	if (missing) {
		usage(stderr);
		return 2;
	}
	return 0;
}

/*
 * The string value of "name" in one line of riskctl gen output (compact JSON: "name":"value",
 * no escapes in ids, types or timestamps). Returns a pointer to the value and its length in
 * *len, or NULL when the line has no such field.
 */
static const char *gen_field(const char *line, size_t n, const char *name, size_t *len)
{
	char pattern[48];
	int plen = snprintf(pattern, sizeof(pattern), "\"%s\":\"", name);
	const char *v = memmem(line, n, pattern, (size_t)plen);
	if (!v)
		return NULL;
	v += plen;
	const char *q = memchr(v, '"', (size_t)(line + n - v));
	if (!q)
		return NULL;
	*len = (size_t)(q - v);
	return v;
}

static int route_of(const char *type, size_t len)
{
	static const struct {
		const char *type;
		int route;
	} routes[] = {
	    {"meter_reading", ROUTE_READINGS}, {"meter_event", ROUTE_READINGS},
	    {"bill", ROUTE_BILLING},           {"payment", ROUTE_BILLING},
	    {"payment_reversal", ROUTE_BILLING}, {"customer", ROUTE_PROFILES},
	    {"transformer_reading", ROUTE_TRANSFORMER},
	};
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strlen(routes[i].type) == len && memcmp(routes[i].type, type, len) == 0)
			return routes[i].route;
	return -1;
}

/* The customer and local day (the date of ts) of a meter reading line, or 0 for other lines. */
static int reading_day(const char *line, size_t n, const char **customer, size_t *len,
                       const char **day)
{
	size_t type_len, ts_len;
	const char *type = gen_field(line, n, "type", &type_len);
	if (!type || type_len != 13 || memcmp(type, "meter_reading", 13) != 0)
		return 0;
	*customer = gen_field(line, n, "customer_id", len);
	*day = gen_field(line, n, "ts", &ts_len);
	return *customer && *len > 0 && *len < ID_MAX && *day && ts_len >= DAY_LEN;
}

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static struct day_slot *day_map_slot(struct day_map *m, const char *customer, size_t len)
{
	if (m->used * 2 >= m->size) {
		struct day_map bigger = {calloc(m->size ? m->size * 2 : 4096, sizeof(struct day_slot)),
		                         m->size ? m->size * 2 : 4096, 0};
		if (!bigger.slots) {
			fprintf(stderr, "latency: out of memory\n");
			exit(1);
		}
		for (size_t i = 0; i < m->size; i++) {
			struct day_slot *s = &m->slots[i];
			if (!s->customer[0])
				continue;
			*day_map_slot(&bigger, s->customer, strlen(s->customer)) = *s;
		}
		free(m->slots);
		*m = bigger;
	}
	size_t i = fnv1a(customer, len) & (m->size - 1);
	for (;; i = (i + 1) & (m->size - 1)) {
		struct day_slot *s = &m->slots[i];
		if (!s->customer[0]) {
			memcpy(s->customer, customer, len);
			s->customer[len] = '\0';
			m->used++;
			return s;
		}
		if (strlen(s->customer) == len && memcmp(s->customer, customer, len) == 0)
			return s;
	}
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (rkm->err) {
		if (delivery_failures++ == 0)
			fprintf(stderr, "latency: delivery failed: %s\n", rd_kafka_err2str(rkm->err));
		return;
	}
	size_t idx = (size_t)(uintptr_t)rkm->_private;
	if (idx > 0)
		triggers[idx - 1].delivered_ns = now_ns();
}

static rd_kafka_t *producer_new(const char *brokers)
{
	static const char *const settings[][2] = {
	    {"enable.idempotence", "true"},     {"acks", "all"},
	    {"partitioner", "murmur2_random"},  {"linger.ms", "5"},
	    {"log.connection.close", "false"},  {"queue.buffering.max.messages", "500000"},
	};
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)))
		goto fail;
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (rd_kafka_conf_set(conf, settings[i][0], settings[i][1], errstr, sizeof(errstr)))
			goto fail;
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk)
		return rk; /* conf is owned by rk; on failure it is still ours */
fail:
	fprintf(stderr, "latency: producer: %s\n", errstr);
	if (conf)
		rd_kafka_conf_destroy(conf);
	return NULL;
}

/* Publishes one line; waits for queue space. Returns 0, or -1 (reported). */
static int publish(rd_kafka_t *rk, const struct latency_args *args, long long lineno,
                   const char *line, size_t n, size_t trigger_idx)
{
	size_t tlen, klen;
	const char *type = gen_field(line, n, "type", &tlen);
	int route = type ? route_of(type, tlen) : -1;
	if (route < 0) {
		fprintf(stderr, "latency: %s:%lld: no known \"type\" (the city must be riskctl gen "
		        "output without bad lines)\n", args->city, lineno);
		return -1;
	}
	const char *key = gen_field(line, n, route == ROUTE_TRANSFORMER ? "transformer_id"
	                                                               : "customer_id", &klen);
	if (!key) {
		fprintf(stderr, "latency: %s:%lld: no entity id\n", args->city, lineno);
		return -1;
	}
	for (;;) {
		rd_kafka_resp_err_t err = rd_kafka_producev(
		    rk, RD_KAFKA_V_TOPIC(args->topics[route]), RD_KAFKA_V_KEY(key, klen),
		    RD_KAFKA_V_VALUE((void *)line, n), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		    RD_KAFKA_V_OPAQUE((void *)(uintptr_t)trigger_idx), RD_KAFKA_V_END);
		if (!err)
			return 0;
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			fprintf(stderr, "latency: %s:%lld: produce: %s\n", args->city, lineno,
			        rd_kafka_err2str(err));
			return -1;
		}
		rd_kafka_poll(rk, 10);
	}
}

/* The one integer a query returns (sql takes one text parameter $1, or none when param is
 * NULL), or -1 after reporting the error. */
static long long query_number(PGconn *conn, const char *sql, const char *param)
{
	const char *params[1] = {param};
	PGresult *res = PQexecParams(conn, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);
	long long v = -1;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		v = atoll(PQgetvalue(res, 0, 0));
	else
		fprintf(stderr, "latency: %s", PQerrorMessage(conn));
	PQclear(res);
	return v;
}

/* The sum of riskd's next offsets for its group (the messages it committed), or -1. */
static long long committed_offsets(PGconn *conn, const char *group)
{
	return query_number(conn,
	                    "select coalesce(sum(next_offset), 0) from risk.kafka_offsets "
	                    "where consumer_group = $1",
	                    group);
}

/* Waits until riskd's committed offsets reach target. Sets *first_ns (when still 0) and
 * *first_sum at the first commit seen (for the catch-up rate), and *done_ns to the time target
 * was reached. first_ns may be NULL. Returns 0, or -1 on timeout or query failure (reported). */
static int wait_committed(PGconn *conn, const struct latency_args *args, long long target,
                          int64_t deadline_ns, int64_t *first_ns, long long *first_sum,
                          int64_t *done_ns)
{
	long long sum = 0;
	int64_t period = (int64_t)(args->poll_ms * 1e6);
	for (;;) {
		int64_t t = now_ns();
		sum = committed_offsets(conn, args->group);
		if (sum < 0)
			return -1;
		if (first_ns && !*first_ns && sum > 0) {
			*first_ns = t;
			*first_sum = sum;
		}
		if (sum >= target) {
			*done_ns = t;
			return 0;
		}
		if (t > deadline_ns) {
			fprintf(stderr, "latency: riskd committed %lld of %lld messages in %.0f s: is it "
			        "running (group %s)?\n", sum, target, args->timeout_s, args->group);
			return -1;
		}
		sleep_until(t + period);
	}
}

static long long max_event_id(PGconn *conn)
{
	return query_number(conn, "select coalesce(max(id), 0) from risk.alert_events", NULL);
}

static void copy_field(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

/* One poll: records the firings committed since the last one. Returns 0 or -1. */
static int poll_once(struct poller *pl, int64_t prev_send_ns)
{
	char after[32];
	snprintf(after, sizeof(after), "%lld", pl->after_id);
	const char *params[1] = {after};
	int64_t t_send = now_ns();
	PGresult *res = PQexecPrepared(pl->conn, "firings", 1, params, NULL, NULL, 0);
	int64_t t_recv = now_ns();
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(pl->error, sizeof(pl->error), "%s", PQerrorMessage(pl->conn));
		PQclear(res);
		pl->failures++;
		return -1;
	}
	if (t_recv - t_send > pl->query_max_ns)
		pl->query_max_ns = t_recv - t_send;
	int rows = PQntuples(res);
	for (int r = 0; r < rows; r++) {
		if (pl->seen_count == pl->seen_cap) {
			pl->seen_cap = pl->seen_cap ? pl->seen_cap * 2 : 1024;
			pl->seen = xrealloc(pl->seen, pl->seen_cap * sizeof(*pl->seen));
		}
		struct alert_seen *a = &pl->seen[pl->seen_count++];
		a->event_id = atoll(PQgetvalue(res, r, 0));
		copy_field(a->alert_id, sizeof(a->alert_id), PQgetvalue(res, r, 1));
		copy_field(a->customer, sizeof(a->customer), PQgetvalue(res, r, 2));
		copy_field(a->action, sizeof(a->action), PQgetvalue(res, r, 3));
		copy_field(a->day, sizeof(a->day), PQgetvalue(res, r, 4));
		copy_field(a->revision, sizeof(a->revision), PQgetvalue(res, r, 5));
		a->seen_ns = t_recv - pl->t0_ns;
		a->prev_poll_ns = prev_send_ns - pl->t0_ns;
		if (a->event_id > pl->after_id)
			pl->after_id = a->event_id;
	}
	PQclear(res);
	pl->polls++;
	return 0;
}

/* The poller thread: polls every period until stop is set, then once more. Events committed
 * out of id order would be seen late, not lost: a second query at the end counts them. */
static void *poller_main(void *arg)
{
	struct poller *pl = arg;
	/* one plan for every poll: planning per poll would cost PostgreSQL more than the query */
	PQclear(PQexec(pl->conn, "set plan_cache_mode = force_generic_plan"));
	PGresult *res = PQprepare(
	    pl->conn, "firings",
	    "select e.id, e.alert_id, a.customer_id, e.action, e.after->>'day', "
	    "coalesce(e.after->>'published_revision', '') "
	    "from risk.alert_events e join risk.alerts a on a.alert_id = e.alert_id "
	    "where e.id > $1 and e.actor = 'riskd' and e.action in ('opened', 'updated') "
	    "and coalesce(e.after->>'stage', '') <> 'complete' "
	    "order by e.id",
	    1, NULL);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok) {
		snprintf(pl->error, sizeof(pl->error), "%s", PQerrorMessage(pl->conn));
		pl->failures++;
	}
	PQclear(res);
	if (!ok)
		return NULL;
	int64_t prev_send = now_ns();
	for (;;) {
		int last = atomic_load(&pl->stop);
		int64_t t = now_ns();
		if (pl->polls > 0) {
			pl->period_sum_ns += t - prev_send;
			if (t - prev_send > pl->period_max_ns)
				pl->period_max_ns = t - prev_send;
		}
		if (poll_once(pl, prev_send) != 0 && pl->failures > 100)
			return NULL;
		prev_send = t;
		if (last)
			return NULL;
		sleep_until(t + pl->period_ns);
	}
}

/* Firings after first_id that the poller did not see (committed out of id order), or -1. */
static long long unseen_events(PGconn *conn, long long first_id, const struct poller *pl)
{
	char after[32];
	snprintf(after, sizeof(after), "%lld", first_id);
	long long n = query_number(conn,
	                           "select count(*) from risk.alert_events where id > $1::bigint and "
	                           "actor = 'riskd' and action in ('opened', 'updated')",
	                           after);
	return n < 0 ? -1 : n - (long long)pl->seen_count;
}

static int write_outputs(const struct latency_args *args, const struct poller *pl)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/triggers.tsv", args->out);
	FILE *f = fopen(path, "w");
	if (!f)
		goto fail;
	fprintf(f, "customer\tday\tproduced_ns\tdelivered_ns\n");
	for (size_t i = 0; i < trigger_count; i++)
		fprintf(f, "%s\t%s\t%" PRId64 "\t%" PRId64 "\n", triggers[i].customer, triggers[i].day,
		        triggers[i].produced_ns, triggers[i].delivered_ns);
	if (fclose(f) != 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/alerts.tsv", args->out);
	f = fopen(path, "w");
	if (!f)
		goto fail;
	fprintf(f, "event_id\talert_id\tcustomer\taction\tday\trevision\tseen_ns\tprev_poll_ns\n");
	for (size_t i = 0; i < pl->seen_count; i++) {
		const struct alert_seen *a = &pl->seen[i];
		fprintf(f, "%lld\t%s\t%s\t%s\t%s\t%s\t%" PRId64 "\t%" PRId64 "\n", a->event_id,
		        a->alert_id, a->customer, a->action, a->day, a->revision, a->seen_ns,
		        a->prev_poll_ns);
	}
	if (fclose(f) != 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "latency: %s: %s\n", path, strerror(errno));
	return -1;
}

int main(int argc, char **argv)
{
	struct latency_args args;
	int rc = args_parse(argc, argv, &args);
	if (rc)
		return rc;

	int status = 1, poller_started = 0;
	rd_kafka_t *rk = NULL;
	PGconn *conn = NULL;
	FILE *city = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct day_map days = {0};
	struct poller pl = {0};
	pthread_t poller_thread;
	long long lineno = 0, paced = 0, behind_10ms = 0;
	const char *cust, *ts;
	size_t cl;
	int64_t behind_max = 0, t_first = 0, t_last = 0, t0 = 0;

	conn = PQconnectdb(args.dsn);
	pl.conn = PQconnectdb(args.dsn);
	if (PQstatus(conn) != CONNECTION_OK || PQstatus(pl.conn) != CONNECTION_OK) {
		fprintf(stderr, "latency: %s", PQerrorMessage(PQstatus(conn) != CONNECTION_OK
		                                                  ? conn : pl.conn));
		goto done;
	}
	city = fopen(args.city, "r");
	if (!city) {
		fprintf(stderr, "latency: %s: %s\n", args.city, strerror(errno));
		goto done;
	}
	rk = producer_new(args.brokers);
	if (!rk)
		goto done;

	/* 1-2. the history, in chunks as fast as riskd takes them */
	int64_t t_start = now_ns(), first_commit = 0, caught_up = 0;
	long long first_sum = 0;
	int64_t deadline = t_start + (int64_t)(args.timeout_s * 1e9);
	while (lineno < args.history_lines && (n = getline(&line, &cap, city)) > 0) {
		if (lineno % args.history_chunk == 0 && lineno >= 2 * args.history_chunk &&
		    wait_committed(conn, &args, lineno - args.history_chunk, deadline, &first_commit,
		                   &first_sum, &caught_up) != 0)
			goto done;
		lineno++;
		while (n > 0 && line[n - 1] == '\n')
			n--;
		if (reading_day(line, (size_t)n, &cust, &cl, &ts))
			memcpy(day_map_slot(&days, cust, cl)->day, ts, DAY_LEN);
		if (publish(rk, &args, lineno, line, (size_t)n, 0) != 0)
			goto done;
		rd_kafka_poll(rk, 0);
	}
	if (lineno < args.history_lines) {
		fprintf(stderr, "latency: %s has %lld lines, fewer than the history's %lld\n",
		        args.city, lineno, args.history_lines);
		goto done;
	}
	if (rd_kafka_flush(rk, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR || delivery_failures) {
		fprintf(stderr, "latency: the history was not delivered\n");
		goto done;
	}
	if (wait_committed(conn, &args, args.history_lines, deadline, &first_commit, &first_sum,
	                   &caught_up) != 0)
		goto done;
	double catchup_rate = caught_up > first_commit
	                          ? (double)(args.history_lines - first_sum) /
	                                ((double)(caught_up - first_commit) / 1e9)
	                          : 0;
	double rate = args.rate > 0 ? args.rate : args.catchup_fraction * catchup_rate;
	if (!(rate >= 1)) {
		fprintf(stderr, "latency: no catch-up rate to pace at (history too short?): give "
		        "--rate\n");
		goto done;
	}

	/* 3. the paced part, observed by the poller */
	pl.after_id = max_event_id(conn);
	if (pl.after_id < 0)
		goto done;
	long long first_id = pl.after_id;
	pl.period_ns = (int64_t)(args.poll_ms * 1e6);
	struct timespec t0_wall;
	clock_gettime(CLOCK_REALTIME, &t0_wall);
	t0 = now_ns();
	pl.t0_ns = t0;
	if (pthread_create(&poller_thread, NULL, poller_main, &pl) != 0) {
		fprintf(stderr, "latency: cannot start the poller thread\n");
		goto done;
	}
	poller_started = 1;
	while ((n = getline(&line, &cap, city)) > 0) {
		lineno++;
		while (n > 0 && line[n - 1] == '\n')
			n--;
		int64_t due = t0 + (int64_t)((double)paced * 1e9 / rate);
		int64_t t = now_ns();
		while (t < due) {
			rd_kafka_poll(rk, 0);
			sleep_until(due);
			t = now_ns();
		}
		if (t - due > behind_max)
			behind_max = t - due;
		behind_10ms += t - due > 10000000;
		size_t idx = 0;
		if (reading_day(line, (size_t)n, &cust, &cl, &ts)) {
			struct day_slot *s = day_map_slot(&days, cust, cl);
			if (memcmp(s->day, ts, DAY_LEN) != 0) {
				memcpy(s->day, ts, DAY_LEN);
				if (trigger_count == trigger_cap) {
					trigger_cap = trigger_cap ? trigger_cap * 2 : 4096;
					triggers = xrealloc(triggers, trigger_cap * sizeof(*triggers));
				}
				struct trigger *tr = &triggers[trigger_count++];
				memcpy(tr->customer, cust, cl);
				tr->customer[cl] = '\0';
				memcpy(tr->day, ts, DAY_LEN);
				tr->day[DAY_LEN] = '\0';
				tr->delivered_ns = 0;
				idx = trigger_count;
			}
		}
		t = now_ns();
		if (idx)
			triggers[idx - 1].produced_ns = t - t0;
		if (publish(rk, &args, lineno, line, (size_t)n, idx) != 0)
			goto done;
		if (!paced)
			t_first = t;
		t_last = t;
		paced++;
		rd_kafka_poll(rk, 0);
	}
	if (rd_kafka_flush(rk, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR || delivery_failures) {
		fprintf(stderr, "latency: the paced part was not delivered\n");
		goto done;
	}
	for (size_t i = 0; i < trigger_count; i++)
		if (triggers[i].delivered_ns)
			triggers[i].delivered_ns -= t0;

	/* 4. riskd commits the rest; one more poll sees its last alerts */
	int64_t all_done;
	deadline = now_ns() + (int64_t)(args.timeout_s * 1e9);
	if (wait_committed(conn, &args, args.history_lines + paced, deadline, NULL, NULL,
	                   &all_done) != 0)
		goto done;
	atomic_store(&pl.stop, 1);
	pthread_join(poller_thread, NULL);
	poller_started = 0;
	if (pl.failures) {
		fprintf(stderr, "latency: %lld polls failed: %s", pl.failures, pl.error);
		goto done;
	}
	long long unseen = unseen_events(conn, first_id, &pl);
	if (unseen < 0 || write_outputs(&args, &pl) != 0)
		goto done;

	double paced_s = (double)(t_last - t_first) / 1e9;
	printf("history_messages=%lld catchup_s=%.3f catchup_events_per_s=%.0f "
	       "paced_messages=%lld target_events_per_s=%.0f achieved_events_per_s=%.0f "
	       "paced_s=%.3f behind_max_ms=%.2f behind_10ms=%lld drain_s=%.3f triggers=%zu "
	       "polls=%lld poll_period_ms=%.2f poll_period_max_ms=%.2f poll_query_max_ms=%.2f "
	       "alert_events=%zu unseen_events=%lld t0_unix_s=%lld.%06ld\n",
	       args.history_lines, (double)(caught_up - t_start) / 1e9, catchup_rate, paced, rate,
	       paced_s > 0 ? (double)(paced - 1) / paced_s : 0, paced_s, (double)behind_max / 1e6,
	       behind_10ms, (double)(all_done - t_last) / 1e9, trigger_count, pl.polls,
	       pl.polls > 1 ? (double)pl.period_sum_ns / (double)(pl.polls - 1) / 1e6 : 0,
	       (double)pl.period_max_ns / 1e6, (double)pl.query_max_ns / 1e6, pl.seen_count,
	       unseen, (long long)t0_wall.tv_sec, t0_wall.tv_nsec / 1000);
	fflush(stdout);
	status = unseen == 0 ? 0 : 1;
	if (unseen)
		fprintf(stderr, "latency: %lld firings were committed out of id order or not seen\n",
		        unseen);

done:
	if (poller_started) {
		atomic_store(&pl.stop, 1);
		pthread_join(poller_thread, NULL);
	}
	if (rk) {
		rd_kafka_flush(rk, 10000);
		rd_kafka_destroy(rk);
	}
	if (city)
		fclose(city);
	PQfinish(conn);
	PQfinish(pl.conn);
	free(line);
	free(days.slots);
	free(pl.seen);
	free(triggers);
	return status;
}
