/*
 * metrics.c - renders riskd's fixed set of metrics (struct riskd_metrics) as Prometheus text
 * and serves them, with the /healthz flag and the /readyz verdict (health.c), over HTTP from
 * libmicrohttpd's internal thread.
 *
 * Writers are the detector loop and the outbox relay (relaxed atomics, see metrics.h); the
 * only reader is the HTTP thread. The health conditions are one atomic bit set, so the whole
 * of it is lock-free.
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "../config/riskd_base.h"
#include "../rules/ruleset.h"
#include "../scoring/scorecard.h"
#include "health.h"
#include "log.h"
#include "version.h"

#define METRICS_REASON_MAX 64
/* First guess for a /metrics body; grown when the text needs more. */
#define METRICS_RENDER_GUESS 16384

struct riskd_metrics riskd_metrics;

const double metrics_commit_bounds[METRICS_COMMIT_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

/* The bounds as they appear in le="..." (written out so they never depend on %g rounding). */
static const char *const metrics_commit_le[METRICS_COMMIT_BUCKETS + 1] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5",
	"5", "10", "+Inf",
};

static const char *const metrics_alert_kind_names[METRICS_ALERT_KIND__COUNT] = {
	"theft", "operating_risk", "no_data",
};

static const char *const metrics_reload_kind_names[METRICS_RELOAD_KIND__COUNT] = {
	"theft", "credit", "operating",
};

/* One live policy, labels of riskd_policy_info. */
struct metrics_policy {
	const char *kind; /* "theft", "credit", "operating" (rule sets), "scorecard" */
	char name[SCORECARD_NAME_MAX + RISKD_ID_MAX + 2];
	char version[SCORECARD_NAME_MAX + RISKD_ID_MAX + 2];
	char hash[72];
};

/* The live policies: written on load and reload, read by the renderer, under the lock. */
static pthread_mutex_t metrics_policy_lock = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_policy metrics_policies[METRICS_POLICIES_MAX];
static size_t metrics_policy_count;

static const char *const metrics_health_codes[HEALTH__COUNT] = {
	"starting", "postgres_error", "postgres_unreachable", "kafka_stalled",
};

/* Bit c set: health condition c is active. */
static _Atomic unsigned metrics_health_bits = 1u << HEALTH_STARTING;

static struct MHD_Daemon *metrics_daemon;

/* While metrics_server_start() runs, libmicrohttpd's messages go to this buffer instead of
 * the log, so that a failed start can report why in errstr. */
static _Atomic int metrics_starting;
static char metrics_start_msg[256];

void metrics_init(void)
{
	memset(&riskd_metrics, 0, sizeof(riskd_metrics));
	atomic_store_explicit(&riskd_metrics.start_time_s, (int64_t)time(NULL),
	                      memory_order_relaxed);
	atomic_store_explicit(&metrics_health_bits, 1u << HEALTH_STARTING, memory_order_release);
	pthread_mutex_lock(&metrics_policy_lock);
	metrics_policy_count = 0;
	pthread_mutex_unlock(&metrics_policy_lock);
}

/* Appends one policy to the table (the lock held); drops it when the table is full. */
static void metrics_policy_add(const char *kind, const char *name, const char *version,
                               const char *hash)
{
	if (metrics_policy_count >= METRICS_POLICIES_MAX)
		return;
	struct metrics_policy *p = &metrics_policies[metrics_policy_count++];
	p->kind = kind;
	snprintf(p->name, sizeof(p->name), "%s", name ? name : "");
	snprintf(p->version, sizeof(p->version), "%s", version ? version : "");
	snprintf(p->hash, sizeof(p->hash), "%s", hash ? hash : "");
}

void metrics_set_policies(const struct ruleset *theft, const struct ruleset *credit,
                          const struct ruleset *operating, const struct scorecard_set *cards)
{
	pthread_mutex_lock(&metrics_policy_lock);
	metrics_policy_count = 0;
	const struct ruleset *sets[METRICS_RELOAD_KIND__COUNT] = {
	    [METRICS_RELOAD_THEFT] = theft,
	    [METRICS_RELOAD_CREDIT] = credit,
	    [METRICS_RELOAD_OPERATING] = operating,
	};
	for (int i = 0; i < METRICS_RELOAD_KIND__COUNT; i++)
		if (sets[i])
			metrics_policy_add(metrics_reload_kind_names[i], ruleset_name(sets[i]),
			                   ruleset_version(sets[i]), ruleset_hash(sets[i]));
	for (size_t i = 0; cards && i < scorecard_set_count(cards); i++) {
		const struct scorecard *card = scorecard_set_card(cards, i);
		metrics_policy_add("scorecard", scorecard_name(card), scorecard_version(card),
		                   scorecard_hash(card));
	}
	pthread_mutex_unlock(&metrics_policy_lock);
}

const char *metrics_reload_kind_name(enum metrics_reload_kind kind)
{
	if ((unsigned)kind >= METRICS_RELOAD_KIND__COUNT)
		return "unknown";
	return metrics_reload_kind_names[kind];
}

void metrics_commit_observe(double seconds)
{
	if (!(seconds > 0))
		seconds = 0; /* also catches NaN */
	if (seconds > 1e9)
		seconds = 1e9; /* keeps the nanosecond sum far from overflow */
	size_t bucket = 0;
	while (bucket < METRICS_COMMIT_BUCKETS && seconds > metrics_commit_bounds[bucket])
		bucket++;
	metrics_add(&riskd_metrics.commit_bucket[bucket], 1);
	metrics_add(&riskd_metrics.commit_sum_ns, (uint64_t)llround(seconds * 1e9));
}

const char *metrics_alert_kind_name(enum metrics_alert_kind kind)
{
	if ((unsigned)kind >= METRICS_ALERT_KIND__COUNT)
		return "unknown";
	return metrics_alert_kind_names[kind];
}

/* Milliseconds of the monotonic clock: the main loop's (pipeline_int.h), for health_ready(). */
static int64_t metrics_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* snprintf-style appender: keeps counting the needed length after the buffer is full. */
struct metrics_out {
	char *buf;
	size_t size;
	size_t len; /* length the full text needs so far */
};

static void metrics_printf(struct metrics_out *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void metrics_printf(struct metrics_out *out, const char *fmt, ...)
{
	char *dst = NULL;
	size_t room = 0;
	if (out->len < out->size) {
		dst = out->buf + out->len;
		room = out->size - out->len;
	}
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		out->len += (size_t)n;
}

static void metrics_header(struct metrics_out *out, const char *name, const char *type,
                           const char *help)
{
	metrics_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static uint64_t metrics_get(_Atomic uint64_t *value)
{
	return atomic_load_explicit(value, memory_order_relaxed);
}

/* A label value from another module's name table; NULL would be undefined in printf. */
static const char *metrics_label(const char *name)
{
	return name ? name : "unknown";
}

/* riskd_policy_reloads_total and riskd_policy_info. */
static void metrics_render_policies(struct metrics_out *out)
{
	static const char *const results[2] = {"ok", "failed"};
	metrics_header(out, "riskd_policy_reloads_total", "counter",
	               "Policy file reloads (SIGHUP or a changed file) by kind and result: ok put "
	               "new files live, failed kept the old ones.");
	for (int k = 0; k < METRICS_RELOAD_KIND__COUNT; k++)
		for (int r = 0; r < 2; r++)
			metrics_printf(out, "riskd_policy_reloads_total{kind=\"%s\",result=\"%s\"} %llu\n",
			               metrics_reload_kind_names[k], results[r],
			               (unsigned long long)metrics_get(&riskd_metrics.reloads[k][r]));
	metrics_header(out, "riskd_policy_info", "gauge",
	               "1 for each live rule set (theft, credit, operating) and scorecard, labelled "
	               "with its kind, name, version and content hash.");
	pthread_mutex_lock(&metrics_policy_lock);
	/* the loaders allow letters, digits, '_', '-' and '.' in names and versions, and hashes
	 * are hex: nothing to escape in a label value */
	for (size_t i = 0; i < metrics_policy_count; i++) {
		const struct metrics_policy *p = &metrics_policies[i];
		metrics_printf(out,
		               "riskd_policy_info{kind=\"%s\",name=\"%s\",version=\"%s\",hash=\"%s\"} 1\n",
		               p->kind, p->name, p->version, p->hash);
	}
	pthread_mutex_unlock(&metrics_policy_lock);
}

/* A metric with no labels: header and one sample. */
static void metrics_scalar(struct metrics_out *out, const char *name, const char *type,
                           const char *help, uint64_t value)
{
	metrics_header(out, name, type, help);
	metrics_printf(out, "%s %llu\n", name, (unsigned long long)value);
}

static void metrics_render_histogram(struct metrics_out *out)
{
	const char *name = "riskd_commit_seconds";
	metrics_header(out, name, "histogram",
	               "Time to commit one batch to PostgreSQL (results, state, offsets), "
	               "in seconds.");
	/* _count is the +Inf bucket, so the two always agree within one scrape */
	uint64_t cumulative = 0;
	for (size_t i = 0; i <= METRICS_COMMIT_BUCKETS; i++) {
		cumulative += metrics_get(&riskd_metrics.commit_bucket[i]);
		metrics_printf(out, "%s_bucket{le=\"%s\"} %llu\n", name, metrics_commit_le[i],
		               (unsigned long long)cumulative);
	}
	uint64_t sum_ns = metrics_get(&riskd_metrics.commit_sum_ns);
	metrics_printf(out, "%s_sum %.9g\n", name, (double)sum_ns / 1e9);
	metrics_printf(out, "%s_count %llu\n", name, (unsigned long long)cumulative);
}

size_t metrics_render(char *buf, size_t size)
{
	struct metrics_out out = { buf, size, 0 };
	struct riskd_metrics *m = &riskd_metrics;

	metrics_header(&out, "riskd_up", "gauge", "1 while riskd is running.");
	metrics_printf(&out, "riskd_up 1\n");
	metrics_header(&out, "riskd_ready", "gauge",
	               "1 when /readyz answers ready, else 0 (its body says why).");
	metrics_printf(&out, "riskd_ready %d\n",
	               health_ready(metrics_monotonic_ms()) == READY__COUNT);
	metrics_header(&out, "riskd_build_info", "gauge",
	               "1, labelled with the version and git commit riskd was built from.");
	metrics_printf(&out, "riskd_build_info{version=\"%s\",commit=\"%s\"} 1\n", riskd_version(),
	               riskd_commit());
	metrics_header(&out, "riskd_start_time_seconds", "gauge",
	               "Unix time at which riskd started.");
	metrics_printf(&out, "riskd_start_time_seconds %lld\n",
	               (long long)atomic_load_explicit(&m->start_time_s, memory_order_relaxed));

	metrics_header(&out, "riskd_events_total", "counter",
	               "Input events that passed validation and were applied, by event type.");
	for (int t = 0; t < EVENT_TYPE__COUNT; t++)
		metrics_printf(&out, "riskd_events_total{type=\"%s\"} %llu\n",
		               metrics_label(event_type_name((enum event_type)t)),
		               (unsigned long long)metrics_get(&m->events[t]));

	metrics_header(&out, "riskd_dead_letter_total", "counter",
	               "Input messages sent to the dead-letter topic, by rejection reason.");
	for (int r = EVENT_REJECT_NONE + 1; r < EVENT_REJECT__COUNT; r++)
		metrics_printf(&out, "riskd_dead_letter_total{reason=\"%s\"} %llu\n",
		               metrics_label(event_reject_name((enum event_reject)r)),
		               (unsigned long long)metrics_get(&m->dead_letter[r]));

	metrics_header(&out, "riskd_duplicates_total", "counter",
	               "Input events skipped because their event_id was already seen, by type.");
	for (int t = 0; t < EVENT_TYPE__COUNT; t++)
		metrics_printf(&out, "riskd_duplicates_total{type=\"%s\"} %llu\n",
		               metrics_label(event_type_name((enum event_type)t)),
		               (unsigned long long)metrics_get(&m->duplicates[t]));

	metrics_scalar(&out, "riskd_batches_total", "counter",
	               "Batches committed to PostgreSQL.", metrics_get(&m->batches));
	metrics_scalar(&out, "riskd_batch_events", "gauge",
	               "Events in the last committed batch.", metrics_get(&m->batch_events));
	metrics_render_histogram(&out);
	metrics_scalar(&out, "riskd_commit_failures_total", "counter",
	               "Batch commits to PostgreSQL that failed and were retried.",
	               metrics_get(&m->commit_failures));
	metrics_scalar(&out, "riskd_pg_retries_total", "counter",
	               "PostgreSQL operations retried after a failure.",
	               metrics_get(&m->pg_retries));

	metrics_header(&out, "riskd_consumer_lag", "gauge",
	               "Messages behind the partition ends, summed over assigned partitions.");
	metrics_printf(&out, "riskd_consumer_lag %lld\n",
	               (long long)atomic_load_explicit(&m->consumer_lag, memory_order_relaxed));
	metrics_scalar(&out, "riskd_assigned_partitions", "gauge",
	               "Input partitions assigned to this instance.",
	               metrics_get(&m->assigned_partitions));

	metrics_scalar(&out, "riskd_outbox_published_total", "counter",
	               "Outbox rows published to Kafka by the relay.",
	               metrics_get(&m->outbox_published));
	metrics_scalar(&out, "riskd_outbox_failed_total", "counter",
	               "Outbox rows Kafka rejected for good, moved to risk.outbox_failed.",
	               metrics_get(&m->outbox_failed));
	metrics_scalar(&out, "riskd_outbox_pending", "gauge",
	               "Outbox rows committed but not yet published (as of the last relay).",
	               metrics_get(&m->outbox_pending));
	int64_t oldest = atomic_load_explicit(&m->outbox_oldest_s, memory_order_relaxed);
	int64_t age = oldest > 0 ? (int64_t)time(NULL) - oldest : 0;
	metrics_header(&out, "riskd_outbox_oldest_age_seconds", "gauge",
	               "Age of the oldest outbox row not yet published (0 when none).");
	metrics_printf(&out, "riskd_outbox_oldest_age_seconds %lld\n",
	               (long long)(age > 0 ? age : 0));

	metrics_header(&out, "riskd_alerts_total", "counter", "New alerts raised, by kind.");
	for (int k = 0; k < METRICS_ALERT_KIND__COUNT; k++)
		metrics_printf(&out, "riskd_alerts_total{kind=\"%s\"} %llu\n",
		               metrics_alert_kind_names[k],
		               (unsigned long long)metrics_get(&m->alerts[k]));
	metrics_render_policies(&out);
	metrics_scalar(&out, "riskd_grade_changes_total", "counter",
	               "Credit grade changes emitted.", metrics_get(&m->grade_changes));
	metrics_scalar(&out, "riskd_input_gap_messages_total", "counter",
	               "Input offsets skipped: messages removed by retention before riskd read them.",
	               metrics_get(&m->input_gaps));

	metrics_scalar(&out, "riskd_attributions_total", "counter",
	               "Area-windows whose loss this instance attributed and stored.",
	               metrics_get(&m->attributions));
	metrics_scalar(&out, "riskd_attribution_queue", "gauge",
	               "Area-windows waiting in risk.area_attribution_queue (as last counted).",
	               metrics_get(&m->attribution_queue));
	metrics_header(&out, "riskd_attribution_seconds_total", "counter",
	               "Time spent attributing area-windows: claim, load, solve and save.");
	metrics_printf(&out, "riskd_attribution_seconds_total %.6f\n",
	               (double)metrics_get(&m->attribution_ns) / 1e9);

	metrics_scalar(&out, "riskd_customers", "gauge", "Customers held in per-customer state.",
	               metrics_get(&m->customers));
	metrics_scalar(&out, "riskd_transformers", "gauge",
	               "Transformers held in per-transformer state.", metrics_get(&m->transformers));
	metrics_scalar(&out, "riskd_state_bytes", "gauge",
	               "Bytes of memory held by per-entity state (customers and transformers).", metrics_get(&m->state_bytes));

	if (size > 0 && out.len >= size)
		buf[size - 1] = '\0'; /* vsnprintf may have stopped writing before the last byte */
	return out.len;
}

void metrics_health_set(enum health_condition condition, int active)
{
	if ((unsigned)condition >= HEALTH__COUNT)
		return;
	unsigned bit = 1u << condition;
	if (active)
		atomic_fetch_or_explicit(&metrics_health_bits, bit, memory_order_acq_rel);
	else
		atomic_fetch_and_explicit(&metrics_health_bits, ~bit, memory_order_acq_rel);
}

const char *metrics_health_code(enum health_condition condition)
{
	if ((unsigned)condition >= HEALTH__COUNT)
		return "unknown";
	return metrics_health_codes[condition];
}

int metrics_health_active(enum health_condition condition)
{
	if ((unsigned)condition >= HEALTH__COUNT)
		return 0;
	unsigned bits = atomic_load_explicit(&metrics_health_bits, memory_order_acquire);
	return (bits >> condition) & 1u;
}

int metrics_health(char *reason, size_t reason_size)
{
	unsigned bits = atomic_load_explicit(&metrics_health_bits, memory_order_acquire);
	const char *code = "";
	for (int c = 0; c < HEALTH__COUNT; c++) {
		if (bits & (1u << c)) {
			code = metrics_health_codes[c];
			break;
		}
	}
	if (reason_size > 0)
		riskd_strlcpy(reason, reason_size, code, strlen(code));
	return code[0] == '\0';
}

/* libmicrohttpd's error messages: kept for errstr during start, logged afterwards. */
static void metrics_http_logger(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\r\n")] = '\0';
	if (atomic_load_explicit(&metrics_starting, memory_order_acquire)) {
		riskd_strlcpy(metrics_start_msg, sizeof(metrics_start_msg), msg, strlen(msg));
		return;
	}
	char quoted[600];
	log_kv(LOG_WARN, "http_error", "msg=%s", log_quote(quoted, sizeof(quoted), msg));
}

/* Queues a response with body (copied) and content type; returns MHD's verdict. */
static enum MHD_Result metrics_http_reply(struct MHD_Connection *conn, unsigned int status,
                                          const char *content_type, const char *body,
                                          size_t body_len, int allow_header)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(body_len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	enum MHD_Result ret = MHD_NO;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES)
		goto done;
	if (allow_header &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES)
		goto done;
	ret = MHD_queue_response(conn, status, resp);
done:
	MHD_destroy_response(resp);
	return ret;
}

/* Serves /metrics: renders into a heap buffer that MHD frees once the body is sent. */
static enum MHD_Result metrics_http_metrics(struct MHD_Connection *conn)
{
	size_t size = METRICS_RENDER_GUESS;
	char *body = xmalloc(size);
	size_t len = metrics_render(body, size);
	while (len >= size) { /* counters grew between sizing and rendering: try again */
		size = len + 1024;
		body = xrealloc(body, size);
		len = metrics_render(body, size);
	}
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	enum MHD_Result ret = MHD_NO;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	                            "text/plain; version=0.0.4; charset=utf-8") != MHD_YES)
		goto done;
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
done:
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result metrics_http_healthz(struct MHD_Connection *conn)
{
	char reason[METRICS_REASON_MAX + 1];
	if (metrics_health(reason, sizeof(reason)))
		return metrics_http_reply(conn, MHD_HTTP_OK, "text/plain; charset=utf-8", "ok\n", 3,
		                          0);
	char body[METRICS_REASON_MAX + 32];
	int n = snprintf(body, sizeof(body), "unhealthy: %s\n", reason);
	return metrics_http_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
	                          body, (size_t)n, 0);
}

static enum MHD_Result metrics_http_readyz(struct MHD_Connection *conn)
{
	enum ready_condition why = health_ready(metrics_monotonic_ms());
	if (why == READY__COUNT)
		return metrics_http_reply(conn, MHD_HTTP_OK, "text/plain; charset=utf-8", "ready\n", 6,
		                          0);
	char body[METRICS_REASON_MAX + 32];
	int n = snprintf(body, sizeof(body), "not ready: %s\n", health_ready_code(why));
	return metrics_http_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
	                          body, (size_t)n, 0);
}

/* MHD_AccessHandlerCallback: answers every request on its first call (no request bodies). */
static enum MHD_Result metrics_http_answer(void *cls, struct MHD_Connection *conn,
                                           const char *url, const char *method,
                                           const char *version, const char *upload_data,
                                           size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	static const char not_allowed[] = "method not allowed\n";
	static const char not_found[] = "not found\n";

	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return metrics_http_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
		                          "text/plain; charset=utf-8", not_allowed,
		                          sizeof(not_allowed) - 1, 1);
	if (strcmp(url, "/metrics") == 0)
		return metrics_http_metrics(conn);
	if (strcmp(url, "/healthz") == 0)
		return metrics_http_healthz(conn);
	if (strcmp(url, "/readyz") == 0)
		return metrics_http_readyz(conn);
	return metrics_http_reply(conn, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", not_found,
	                          sizeof(not_found) - 1, 0);
}

/* The socket address of listen:port, in addr; sets *ipv6. Returns 0 or RISKD_ERR_INVALID. */
static int metrics_listen_addr(const char *listen, int port, struct sockaddr_storage *addr,
                               int *ipv6)
{
	memset(addr, 0, sizeof(*addr));
	struct sockaddr_in *in4 = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
	if (listen && inet_pton(AF_INET, listen, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*ipv6 = 0;
		return 0;
	}
	if (listen && inet_pton(AF_INET6, listen, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*ipv6 = 1;
		return 0;
	}
	return RISKD_ERR_INVALID;
}

int metrics_server_start(const char *listen, int port, char *errstr, size_t errstr_size)
{
	if (port == 0)
		return 0;
	if (port < 0 || port > 65535) {
		snprintf(errstr, errstr_size, "metrics port %d is outside 0..65535", port);
		return RISKD_ERR_RANGE;
	}
	struct sockaddr_storage addr;
	int ipv6;
	if (metrics_listen_addr(listen, port, &addr, &ipv6) != 0) {
		snprintf(errstr, errstr_size,
		         "metrics listen address '%.64s' is not an IPv4 or IPv6 address", listen ? listen : "");
		return RISKD_ERR_INVALID;
	}
	if (metrics_daemon) {
		snprintf(errstr, errstr_size, "metrics server is already running");
		return RISKD_ERR_INVALID;
	}

	metrics_start_msg[0] = '\0';
	atomic_store_explicit(&metrics_starting, 1, memory_order_release);
	metrics_daemon = MHD_start_daemon(
		MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
		    (ipv6 ? MHD_USE_IPv6 : 0),
		(uint16_t)port, NULL, NULL, metrics_http_answer, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		MHD_OPTION_EXTERNAL_LOGGER, metrics_http_logger, NULL,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)32,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
		MHD_OPTION_END);
	atomic_store_explicit(&metrics_starting, 0, memory_order_release);
	if (!metrics_daemon) {
		snprintf(errstr, errstr_size, "cannot serve metrics on %s port %d: %s", listen, port,
		         metrics_start_msg[0] ? metrics_start_msg : "libmicrohttpd failed to start");
		return RISKD_ERR_IO;
	}
	return 0;
}

void metrics_server_stop(void)
{
	if (!metrics_daemon)
		return;
	MHD_stop_daemon(metrics_daemon);
	metrics_daemon = NULL;
}
