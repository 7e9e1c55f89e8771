/*
 * committer.c - batch commits and the outbox relay on a worker thread (see committer.h).
 */
#include "committer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"

#define RELAY_ROWS 1000 /* outbox rows per relay transaction */

void committer_init(struct committer *c, struct store *store, struct kafka_producer *producer)
{
	memset(c, 0, sizeof(*c));
	c->store = store;
	c->producer = producer;
	batch_init(&c->jobs[0].batch);
	batch_init(&c->jobs[1].batch);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->done_cond, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&c->done_lock, NULL);
}

void committer_free(struct committer *c)
{
	committer_wait(c);
	for (int i = 0; i < 2; i++) {
		batch_free(&c->jobs[i].batch);
		free(c->jobs[i].offsets);
	}
	pthread_cond_destroy(&c->done_cond);
	pthread_mutex_destroy(&c->done_lock);
	memset(c, 0, sizeof(*c));
}

void commit_job_reserve_offsets(struct commit_job *job, size_t n)
{
	if (n > job->offset_cap) {
		job->offset_cap = n;
		job->offsets = xrealloc(job->offsets, n * sizeof(*job->offsets));
	}
	job->sb.offsets = job->offsets;
}

#define RELAY_TIMEOUT_MS 30000 /* how long one relay step waits for delivery reports */

/* The relay's publish callback: sends the rows and sets each row's outcome from its own
 * delivery report. Logs each row moved aside, and the first of the rows left waiting. */
static void publish_rows(struct store_outbox_row *rows, int n, void *arg)
{
	struct committer *c = arg;
	struct kafka_message *msgs = xcalloc((size_t)n, sizeof(*msgs));
	struct kafka_header *hdrs = xcalloc((size_t)n * 8, sizeof(*hdrs));
	struct kafka_outcome *out = xcalloc((size_t)n, sizeof(*out));
	char q[600], t[300];
	int waiting = 0;

	for (int i = 0; i < n; i++) {
		struct kafka_header *h = &hdrs[(size_t)i * 8];
		for (int k = 0; k < rows[i].header_count; k++)
			h[k] = (struct kafka_header){rows[i].header_names[k], rows[i].header_values[k],
			                             strlen(rows[i].header_values[k])};
		msgs[i] = (struct kafka_message){rows[i].topic, rows[i].key, rows[i].key_len,
		                                 rows[i].payload, rows[i].len, h,
		                                 rows[i].header_count};
	}
	kafka_producer_publish(c->producer, msgs, n, RELAY_TIMEOUT_MS, out);
	for (int i = 0; i < n; i++) {
		switch (out[i].delivery) {
		case KAFKA_DELIVERED:
			rows[i].outcome = STORE_OUTBOX_PUBLISHED;
			break;
		case KAFKA_REJECTED:
			rows[i].outcome = STORE_OUTBOX_FAILED;
			snprintf(rows[i].error, sizeof(rows[i].error), "%s", out[i].error);
			log_kv(LOG_ERROR, "outbox_failed", "id=%lld topic=%s bytes=%zu error=%s",
			       (long long)rows[i].id, log_quote(t, sizeof(t), rows[i].topic), rows[i].len,
			       log_quote(q, sizeof(q), out[i].error));
			break;
		case KAFKA_RETRIABLE:
			rows[i].outcome = STORE_OUTBOX_WAIT;
			if (waiting++ == 0)
				log_kv(LOG_WARN, "publish_failed", "id=%lld error=%s", (long long)rows[i].id,
				       log_quote(q, sizeof(q), out[i].error));
			break;
		}
	}
	free(msgs);
	free(hdrs);
	free(out);
}

/* Sets the outbox gauges from PostgreSQL (left as they were when it cannot answer). */
static void update_outbox_gauges(struct committer *c)
{
	char errstr[512];
	int64_t pending, oldest_s;
	if (store_outbox_pending(c->store, &pending, &oldest_s, errstr, sizeof(errstr)) == 0)
		metrics_outbox_pending((uint64_t)pending, oldest_s);
}

int64_t committer_relay(struct committer *c)
{
	char errstr[512];
	struct store_relay done;
	int64_t total = 0;
	int rc;
	while ((rc = store_relay_outbox(c->store, RELAY_ROWS, publish_rows, c, &done, errstr,
	                                sizeof(errstr))) == 0) {
		total += done.published;
		metrics_outbox_published((uint64_t)done.published, (uint64_t)done.failed);
		if (done.waiting) {
			snprintf(errstr, sizeof(errstr), "%d outbox message(s) wait for a retry",
			         done.waiting);
			rc = RISKD_ERR_UNAVAILABLE;
			break;
		}
		if (done.published + done.failed == 0)
			break;
	}
	update_outbox_gauges(c);
	if (rc < 0) {
		char q[600];
		log_kv(LOG_WARN, "relay_failed", "error=%s", log_quote(q, sizeof(q), errstr));
		return rc;
	}
	return total;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *commit_worker(void *arg)
{
	struct committer *c = arg;
	struct commit_job *job = &c->jobs[1 - c->current];
	double t0 = now_s();
	job->errstr[0] = '\0';
	job->rc = store_commit_batch(c->store, &job->sb, job->errstr, sizeof(job->errstr));
	job->seconds = now_s() - t0;
	job->published = 0;
	job->relay_rc = 0;
	if (job->rc == 0 && job->sb.outbox_count + job->sb.alert_count + job->sb.grade_count > 0) {
		int64_t n = committer_relay(c);
		if (n < 0)
			job->relay_rc = (int)n;
		else
			job->published = n;
	}
	job->drained = 0;
	if (job->rc == 0 && job->drain) {
		char errstr[512];
		job->drained = store_drain_area_balance(c->store, errstr, sizeof(errstr));
		if (job->drained < 0) {
			char q[600];
			log_kv(LOG_WARN, "area_balance_failed", "error=%s", log_quote(q, sizeof(q), errstr));
		}
	}
	pthread_mutex_lock(&c->done_lock);
	atomic_store_explicit(&c->done, 1, memory_order_release);
	pthread_cond_broadcast(&c->done_cond);
	pthread_mutex_unlock(&c->done_lock);
	return NULL;
}

void committer_start(struct committer *c)
{
	if (c->running)
		abort(); /* the caller must wait for the running job first */
	c->current = 1 - c->current;
	c->running = 1;
	atomic_store_explicit(&c->done, 0, memory_order_relaxed);
	if (pthread_create(&c->thread, NULL, commit_worker, c) != 0) {
		fprintf(stderr, "riskd: cannot create the commit thread\n");
		abort();
	}
}

int committer_await(struct committer *c, int timeout_ms)
{
	if (!c->running)
		return 1;
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->done_lock);
	/* woken (or spuriously): look again; timed out (or failed): answer with what is */
	while (!atomic_load_explicit(&c->done, memory_order_acquire) &&
	       pthread_cond_timedwait(&c->done_cond, &c->done_lock, &until) == 0)
		;
	int done = atomic_load_explicit(&c->done, memory_order_acquire);
	pthread_mutex_unlock(&c->done_lock);
	return done;
}

struct commit_job *committer_wait(struct committer *c)
{
	if (!c->running)
		return NULL;
	pthread_join(c->thread, NULL);
	c->running = 0;
	return &c->jobs[1 - c->current];
}

void committer_release(struct committer *c, struct commit_job *job)
{
	(void)c;
	batch_reset(&job->batch);
	memset(&job->sb, 0, sizeof(job->sb));
}
