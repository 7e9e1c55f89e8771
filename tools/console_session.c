/*
 * console_session.c - the console's session table and login throttle. See console_session.h.
 *
 * Both are small fixed tables scanned linearly: a team of analysts has tens of sessions, and
 * the throttle keeps the most recent failing accounts and addresses, evicting the oldest.
 */
#include "console_session.h"

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

static void session_free(struct console_session *s)
{
	review_store_close(s->rv);
	memset(s, 0, sizeof(*s)); /* tokens do not linger in freed memory */
	free(s);
}

void console_sessions_shutdown(void)
{
	for (int i = 0; i < CONSOLE_SESSIONS_MAX; i++)
		if (sessions.live[i]) {
			session_free(sessions.live[i]);
			sessions.live[i] = NULL;
		}
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
	struct console_session *found = NULL;
	for (int i = 0; i < CONSOLE_SESSIONS_MAX; i++) {
		struct console_session *s = sessions.live[i];
		if (!s)
			continue;
		if (now - s->last_used > sessions.idle_s || now - s->created > sessions.max_s) {
			session_free(s);
			sessions.live[i] = NULL;
			continue;
		}
		if (console_token_equal(token, s->token))
			found = s;
	}
	if (found)
		found->last_used = now;
	return found;
}

struct console_session *console_session_start(const char *user, int is_lead,
                                              struct review_store *rv, time_t now)
{
	for (int i = 0; i < CONSOLE_SESSIONS_MAX; i++) {
		if (sessions.live[i])
			continue;
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
		s->rv = rv;
		sessions.live[i] = s;
		return s;
	}
	review_store_close(rv);
	return NULL;
}

void console_session_end(struct console_session *s)
{
	for (int i = 0; i < CONSOLE_SESSIONS_MAX; i++)
		if (sessions.live[i] == s) {
			session_free(s);
			sessions.live[i] = NULL;
			return;
		}
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
	for (int k = 0; k < 2; k++) {
		throttle_key(key, sizeof(key), kinds[k], names[k]);
		struct throttle_slot *t = throttle_slot(key, 0, now);
		if (t && t->failures >= LOGIN_FAILURES_MAX) {
			*retry_s = (int)(t->window_start + LOGIN_WINDOW_S - now) + 1;
			return 0;
		}
	}
	return 1;
}

void console_login_record(const char *user, const char *addr, int ok, time_t now)
{
	char key[192];
	throttle_key(key, sizeof(key), 'u', user);
	if (ok) {
		struct throttle_slot *t = throttle_slot(key, 0, now);
		if (t)
			t->key[0] = '\0';
		return;
	}
	throttle_slot(key, 1, now)->failures++;
	throttle_key(key, sizeof(key), 'a', addr);
	throttle_slot(key, 1, now)->failures++;
}
