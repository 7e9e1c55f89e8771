/*
 * console_session.h - the analyst console's sessions and login throttle.
 *
 * A session belongs to one analyst who logged in with their PostgreSQL login role; it owns
 * that analyst's own database connection (a review store), so every action runs with their
 * privileges and is recorded as them. Tokens are 256 random bits from getrandom(2), sent only
 * in an HttpOnly, SameSite=Strict cookie; each session has its own CSRF token, which every
 * state-changing form carries. A session ends at logout, after idle_s seconds without a
 * request, or max_s seconds after login, whichever comes first; its connection closes then.
 *
 * All functions run on the console's single HTTP thread (libmicrohttpd's internal polling
 * thread), so nothing here locks.
 */
#ifndef RISKD_CONSOLE_SESSION_H
#define RISKD_CONSOLE_SESSION_H

#include <stddef.h>
#include <time.h>

#include "../detector/store_review.h"

#define CONSOLE_TOKEN_HEX 65   /* 256 bits as 64 hex digits and a NUL */
#define CONSOLE_SESSIONS_MAX 256

struct console_session {
	char token[CONSOLE_TOKEN_HEX];
	char csrf[CONSOLE_TOKEN_HEX];
	char user[128];        /* the login role */
	int is_lead;           /* member of risk_lead */
	time_t created, last_used;
	struct review_store *rv; /* the analyst's own connection; owned */
};

/* Sets the lifetimes of every session: idle_s without a request, max_s after login. */
void console_sessions_init(int idle_s, int max_s);

/* Ends every session (closing their connections). */
void console_sessions_shutdown(void);

/* Fills out with 64 random hex digits (256 bits from getrandom). Aborts when the kernel's
 * random source fails. */
void console_random_token(char out[CONSOLE_TOKEN_HEX]);

/* Compares two NUL-terminated tokens in time independent of where they differ; NULL or
 * empty never matches. Returns 1 when equal. */
int console_token_equal(const char *a, const char *b);

/*
 * The live session whose token is token (NULL: none), after ending every session past its
 * idle or absolute lifetime at now. Marks the session used at now. Returns NULL when none.
 */
struct console_session *console_session_find(const char *token, time_t now);

/* Starts a session for user on rv (consumed, also on failure). Returns the session, or NULL
 * when CONSOLE_SESSIONS_MAX sessions are live. */
struct console_session *console_session_start(const char *user, int is_lead,
                                              struct review_store *rv, time_t now);

/* Ends session s (logout), closing its connection. */
void console_session_end(struct console_session *s);

/*
 * Login throttle: whether a login attempt for account user from address addr may go ahead
 * at now. After LOGIN_FAILURES_MAX failures within LOGIN_WINDOW_S seconds, the account and
 * the address (each counted on its own) are refused until the window has passed.
 * Returns 1 when allowed; otherwise 0 and *retry_s, the seconds until it is.
 */
int console_login_allowed(const char *user, const char *addr, time_t now, int *retry_s);

/* Records the outcome of a login attempt: a failure counts against user and addr, a success
 * clears the account's count. */
void console_login_record(const char *user, const char *addr, int ok, time_t now);

#endif
