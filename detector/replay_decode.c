/*
 * replay_decode.c - reading a file of events for replay_file: batches of lines decoded on
 * helper threads (one per other core; event_decode is thread-safe) while the calling thread
 * reads the next batch, then applied in file order on the calling thread.
 */
#include "replay_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DECODE_BATCH_LINES 4096   /* lines per batch */
#define DECODE_CHUNK_LINES 64     /* lines a decoder takes at a time */
#define DECODE_THREADS_MAX 8

/* A batch of lines and their decoded events. */
struct decode_batch {
	struct rbuf text;             /* the lines, back to back, without newlines */
	size_t *start, *len;          /* each line's bytes in text */
	struct event *events;
	enum event_reject *reason;
	size_t count;
};

/* Decoders share one batch at a time; the reading thread decodes too. */
struct decode_pool {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct decode_batch *batch;   /* being decoded */
	uint64_t generation;          /* bumped for each batch published */
	atomic_size_t next;           /* next line to take */
	int busy;                     /* decoder threads still on the batch */
	int stop;
	int threads;
	pthread_t tid[DECODE_THREADS_MAX];
};

static void decode_batch_init(struct decode_batch *b)
{
	memset(b, 0, sizeof(*b));
	b->start = xcalloc(DECODE_BATCH_LINES, sizeof(*b->start));
	b->len = xcalloc(DECODE_BATCH_LINES, sizeof(*b->len));
	b->events = xcalloc(DECODE_BATCH_LINES, sizeof(*b->events));
	b->reason = xcalloc(DECODE_BATCH_LINES, sizeof(*b->reason));
}

static void decode_batch_free(struct decode_batch *b)
{
	rbuf_free(&b->text);
	free(b->start);
	free(b->len);
	free(b->events);
	free(b->reason);
}

/* Reads up to DECODE_BATCH_LINES non-empty lines. Returns the count (0 at the end). */
static size_t decode_batch_fill(struct decode_batch *b, FILE *in, char **line, size_t *cap)
{
	ssize_t n;
	rbuf_reset(&b->text);
	b->count = 0;
	while (b->count < DECODE_BATCH_LINES && (n = getline(line, cap, in)) >= 0) {
		size_t len = (size_t)n;
		if (len && (*line)[len - 1] == '\n')
			len--;
		if (len == 0)
			continue;
		b->start[b->count] = b->text.len;
		b->len[b->count++] = len;
		rbuf_append(&b->text, *line, len);
	}
	return b->count;
}

/* Decodes lines of the pool's batch, a chunk at a time, until none is left. */
static void decode_take(struct decode_pool *pool, struct decode_batch *b)
{
	char why[512];
	for (;;) {
		size_t first = atomic_fetch_add(&pool->next, DECODE_CHUNK_LINES);
		if (first >= b->count)
			return;
		size_t last = first + DECODE_CHUNK_LINES < b->count ? first + DECODE_CHUNK_LINES : b->count;
		for (size_t i = first; i < last; i++)
			b->reason[i] = event_decode(b->text.data + b->start[i], b->len[i], &b->events[i],
			                            why, sizeof(why));
	}
}

static void *decode_thread(void *arg)
{
	struct decode_pool *pool = arg;
	uint64_t seen = 0;
	pthread_mutex_lock(&pool->mu);
	for (;;) {
		while (!pool->stop && pool->generation == seen)
			pthread_cond_wait(&pool->work, &pool->mu);
		if (pool->stop)
			break;
		seen = pool->generation;
		struct decode_batch *b = pool->batch;
		pthread_mutex_unlock(&pool->mu);
		decode_take(pool, b);
		pthread_mutex_lock(&pool->mu);
		if (--pool->busy == 0)
			pthread_cond_signal(&pool->done);
	}
	pthread_mutex_unlock(&pool->mu);
	return NULL;
}

/* Hands batch b to the decoder threads (they start at once). */
static void decode_publish(struct decode_pool *pool, struct decode_batch *b)
{
	pthread_mutex_lock(&pool->mu);
	pool->batch = b;
	atomic_store(&pool->next, 0);
	pool->busy = pool->threads;
	pool->generation++;
	pthread_cond_broadcast(&pool->work);
	pthread_mutex_unlock(&pool->mu);
}

/* Decodes what is left of the published batch here, then waits for the threads. */
static void decode_finish(struct decode_pool *pool, struct decode_batch *b)
{
	decode_take(pool, b);
	pthread_mutex_lock(&pool->mu);
	while (pool->busy > 0)
		pthread_cond_wait(&pool->done, &pool->mu);
	pthread_mutex_unlock(&pool->mu);
}

static void decode_pool_start(struct decode_pool *pool)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	memset(pool, 0, sizeof(*pool));
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->work, NULL);
	pthread_cond_init(&pool->done, NULL);
	atomic_init(&pool->next, 0);
	int want = cpus > 1 ? (int)(cpus - 1) : 0;
	if (want > DECODE_THREADS_MAX)
		want = DECODE_THREADS_MAX;
	for (int i = 0; i < want; i++) {
		if (pthread_create(&pool->tid[pool->threads], NULL, decode_thread, pool) != 0)
			break; /* fewer threads only make it slower */
		pool->threads++;
	}
}

static void decode_pool_stop(struct decode_pool *pool)
{
	pthread_mutex_lock(&pool->mu);
	pool->stop = 1;
	pthread_cond_broadcast(&pool->work);
	pthread_mutex_unlock(&pool->mu);
	for (int i = 0; i < pool->threads; i++)
		pthread_join(pool->tid[i], NULL);
	pthread_mutex_destroy(&pool->mu);
	pthread_cond_destroy(&pool->work);
	pthread_cond_destroy(&pool->done);
}

/* Applies a decoded batch, in line order, to every replay. */
static void apply_batch(struct replay *const *rps, size_t n_rps, const struct decode_batch *b)
{
	for (size_t i = 0; i < b->count; i++)
		for (size_t r = 0; r < n_rps; r++) {
			if (b->reason[i] == EVENT_REJECT_NONE)
				replay_event(rps[r], &b->events[i], b->text.data + b->start[i], b->len[i]);
			else
				replay_count_reject(rps[r], b->reason[i]);
		}
}

int replay_file(struct replay *const *rps, size_t n_rps, FILE *in, char *errstr,
                size_t errstr_size)
{
	struct decode_pool pool;
	struct decode_batch batches[2];
	struct decode_batch *cur = &batches[0], *next = &batches[1];
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	decode_batch_init(cur);
	decode_batch_init(next);
	decode_pool_start(&pool);
	/* while the threads decode one batch, this thread reads the next one and then applies
	 * the one before: events reach ingest_event in file order */
	if (decode_batch_fill(cur, in, &line, &cap) > 0) {
		decode_publish(&pool, cur);
		for (;;) {
			size_t more = decode_batch_fill(next, in, &line, &cap);
			decode_finish(&pool, cur);
			if (more)
				decode_publish(&pool, next);
			apply_batch(rps, n_rps, cur);
			if (!more)
				break;
			struct decode_batch *t = cur;
			cur = next;
			next = t;
		}
	}
	if (ferror(in)) {
		snprintf(errstr, errstr_size, "reading events: %s", strerror(errno));
		rc = RISKD_ERR_IO;
	}
	decode_pool_stop(&pool);
	decode_batch_free(&batches[0]);
	decode_batch_free(&batches[1]);
	free(line);
	return rc;
}
