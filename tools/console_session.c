/*
 * console_session.c - the console's session table and login throttle. See console_session.h.
 *
 * Both are small fixed tables scanned linearly: a team of analysts has tens of sessions, and
 * the throttle keeps the most recent failing accounts and addresses, evicting the oldest.
 * One mutex guards both and every session's pool bookkeeping; a condition variable wakes
 * requests waiting for one of their session's connections.
 */
#include "console_session.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define LOGIN_FAILURES_MAX 5
#define LOGIN_WINDOW_S 900
#define THROTTLE_SLOTS 512

static struct {
	int idle_s, max_s;
	struct console_session *live[CONSOLE_SESSIONS_MAX];
} sessions = {1800, 43200, {0}};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t returned = PTHREAD_COND_INITIALIZER; /* a connection came back */

/* A failure count of one account ("u:" + name) or address ("a:" + address). */
struct throttle_slot {
	char key[192];
	int failures;
	time_t window_start;
};

static struct throttle_slot throttle[THROTTLE_SLOTS];

void console_sessions_init(int idle_s, int max_s)
{
	sessions.idle_s = idle_s;
	sessions.max_s = max_s;
}

/* Closes s's connections and frees it. Called without the lock: nothing else refers to s. */
static void session_free(struct console_session *s)
{
	for (int i = 0; i < s->pool_n; i++)
		review_store_close(s->pool[i]);
	memset(s, 0, sizeof(*s)); /* tokens do not linger in freed memory */
	free(s);
}

/* Takes live[i] out of the table (lock held). Returns the session when nothing refers to it
 * any more (the caller frees it after unlocking), else NULL: its last put frees it. */
static struct console_session *unlink_session(int i)
{
	struct console_session *s = sessions.live[i];
	sessions.live[i] = NULL;
	s->ended = 1;
	pthread_cond_broadcast(&returned); /* its waiting requests give up */
	return s->refs == 0 ? s : NULL;
}

void console_sessions_shutdown(void)
{
	struct console_session *gone[CONSOLE_SESSIONS_MAX];
	int n = 0;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < CONSOLE_SESSIONS_MAX; i++)
		if (sessions.live[i] && (gone[n] = unlink_session(i)))
			n++;
	pthread_mutex_unlock(&lock);
	while (n)
		session_free(gone[--n]);
}

void console_random_token(char out[CONSOLE_TOKEN_HEX])
{
	unsigned char bytes[32];
	size_t got = 0;
	while (got < sizeof(bytes)) {
		ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
		if (n < 0) {
			perror("riskd-console: getrandom");
			abort();
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(bytes); i++)
		snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

int console_token_equal(const char *a, const char *b)
{
	if (!a || !b || !*a)
		return 0;
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;
	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)(a[i] ^ (i < lb ? b[i] : 0));
	return diff == 0;
}

struct console_session *console_session_find(const char *token, time_t now)
{
	struct console_session *found = NULL, *gone[CONSOLE_SESSIONS_MAX];
	int n = 0;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < CONSOLE_SESSIONS_MAX; i++) {
		struct console_session *s = sessions.live[i];
		if (!s)
			continue;
		if (now - s->last_used > sessions.idle_s || now - s->created > sessions.max_s) {
			if ((gone[n] = unlink_session(i)))
				n++;
			continue;
		}
		if (console_token_equal(token, s->token))
			found = s;
	}
	if (found) {
		found->last_used = now;
		found->refs++;
	}
	pthread_mutex_unlock(&lock);
	while (n)
		session_free(gone[--n]);
	return found;
}

struct console_session *console_session_start(const char *user, int is_lead,
                                              struct review_store *const *pool, int n,
                                              time_t now)
{
	struct console_session *s = calloc(1, sizeof(*s));
	if (!s) {
		fprintf(stderr, "riskd-console: out of memory\n");
		abort();
	}
	console_random_token(s->token);
	console_random_token(s->csrf);
	snprintf(s->user, sizeof(s->user), "%s", user);
	s->is_lead = is_lead;
	s->created = s->last_used = now;
	for (int i = 0; i < n && i < CONSOLE_POOL_MAX; i++)
		s->pool[s->pool_n++] = pool[i];
	for (int i = CONSOLE_POOL_MAX; i < n; i++)
		review_store_close(pool[i]);
	s->refs = 1;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < CONSOLE_SESSIONS_MAX; i++)
		if (!sessions.live[i]) {
			sessions.live[i] = s;
			pthread_mutex_unlock(&lock);
			return s;
		}
	pthread_mutex_unlock(&lock);
	session_free(s);
	return NULL;
}

void console_session_put(struct console_session *s)
{
	pthread_mutex_lock(&lock);
	int free_it = --s->refs == 0 && s->ended;
	pthread_mutex_unlock(&lock);
	if (free_it)
		session_free(s);
}

struct review_store *console_session_lease(struct console_session *s, int wait_s)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_s;
	struct review_store *rv = NULL;
	pthread_mutex_lock(&lock);
	while (!s->ended) {
		for (int i = 0; i < s->pool_n && !rv; i++)
			if (!(s->lent & (1u << i))) {
				s->lent |= 1u << i;
				rv = s->pool[i];
			}
		if (rv || pthread_cond_timedwait(&returned, &lock, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&lock);
	return rv;
}

void console_session_return(struct console_session *s, struct review_store *rv, int lost)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < s->pool_n; i++) {
		if (s->pool[i] != rv)
			continue;
		s->lent &= ~(1u << i);
		if (lost) { /* the last entry takes its place */
			s->pool[i] = s->pool[--s->pool_n];
			s->pool[s->pool_n] = NULL;
			if (s->lent & (1u << s->pool_n))
				s->lent = (s->lent & ~(1u << s->pool_n)) | (1u << i);
		}
		break;
	}
	if (lost && s->pool_n == 0 && !s->ended)
		for (int i = 0; i < CONSOLE_SESSIONS_MAX; i++)
			if (sessions.live[i] == s)
				unlink_session(i); /* the caller's reference is held: its put frees s */
	pthread_cond_broadcast(&returned);
	pthread_mutex_unlock(&lock);
	if (lost)
		review_store_close(rv);
}

void console_session_end(struct console_session *s)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < CONSOLE_SESSIONS_MAX; i++)
		if (sessions.live[i] == s)
			unlink_session(i); /* the caller holds a reference: its put frees s */
	pthread_mutex_unlock(&lock);
}

/* The slot of key; when absent and create, a free slot or else the one with the oldest
 * window, reset for key. NULL when absent and !create. Forgets windows that are over. */
static struct throttle_slot *throttle_slot(const char *key, int create, time_t now)
{
	struct throttle_slot *spare = NULL;
	for (int i = 0; i < THROTTLE_SLOTS; i++) {
		struct throttle_slot *t = &throttle[i];
		if (t->key[0] && now - t->window_start > LOGIN_WINDOW_S)
			t->key[0] = '\0';
		if (t->key[0] && strcmp(t->key, key) == 0)
			return t;
		if (!spare || (spare->key[0] && (!t->key[0] || t->window_start < spare->window_start)))
			spare = t;
	}
	if (!create)
		return NULL;
	snprintf(spare->key, sizeof(spare->key), "%s", key);
	spare->failures = 0;
	spare->window_start = now;
	return spare;
}

static void throttle_key(char *key, size_t size, char kind, const char *name)
{
	snprintf(key, size, "%c:%.180s", kind, name ? name : "");
}

int console_login_allowed(const char *user, const char *addr, time_t now, int *retry_s)
{
	char key[192];
	const char kinds[2] = {'u', 'a'};
	const char *names[2] = {user, addr};
	int allowed = 1;
	pthread_mutex_lock(&lock);
	for (int k = 0; k < 2 && allowed; k++) {
		throttle_key(key, sizeof(key), kinds[k], names[k]);
		struct throttle_slot *t = throttle_slot(key, 0, now);
		if (t && t->failures >= LOGIN_FAILURES_MAX) {
			*retry_s = (int)(t->window_start + LOGIN_WINDOW_S - now) + 1;
			allowed = 0;
		}
	}
	pthread_mutex_unlock(&lock);
	return allowed;
}

void console_login_record(const char *user, const char *addr, int ok, time_t now)
{
	char key[192];
	pthread_mutex_lock(&lock);
	throttle_key(key, sizeof(key), 'u', user);
	if (ok) {
		struct throttle_slot *t = throttle_slot(key, 0, now);
		if (t)
			t->key[0] = '\0';
	} else {
		throttle_slot(key, 1, now)->failures++;
		throttle_key(key, sizeof(key), 'a', addr);
		throttle_slot(key, 1, now)->failures++;
	}
	pthread_mutex_unlock(&lock);
}
