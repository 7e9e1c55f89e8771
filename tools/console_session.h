/*
 * console_session.h - the analyst console's sessions and login throttle.
 *
 * A session belongs to one analyst who logged in with their PostgreSQL login role; it owns a
 * small pool of that analyst's own database connections (review stores), opened at login
 * (the password is not kept), so every action runs with their privileges and is recorded as
 * them, and two requests of one analyst (two tabs) run side by side. Tokens are 256 random
 * bits from getrandom(2), sent only in an HttpOnly, SameSite=Strict cookie; each session has
 * its own CSRF token, which every state-changing form carries. A session ends at logout, after
 * idle_s seconds without a request, after max_s seconds from login, or when its last
 * connection is lost, whichever comes first; its connections close then.
 *
 * Thread-safe: the console serves requests on several threads. The session table and the
 * login throttle are guarded by one lock held only for table work, never across a database
 * call. A request holds a reference to its session (find/start ... put), so a session ended
 * meanwhile (logout in another tab, expiry) is freed only when its last request is done.
 */
#ifndef RISKD_CONSOLE_SESSION_H
#define RISKD_CONSOLE_SESSION_H

#include <stddef.h>
#include <time.h>

#include "../detector/store_review.h"

#define CONSOLE_TOKEN_HEX 65   /* 256 bits as 64 hex digits and a NUL */
#define CONSOLE_SESSIONS_MAX 256
#define CONSOLE_POOL_MAX 8     /* connections a session may hold */

/* token, csrf, user and is_lead never change after the session starts: read them freely
 * while holding a reference. The rest belongs to console_session.c. */
struct console_session {
	char token[CONSOLE_TOKEN_HEX];
	char csrf[CONSOLE_TOKEN_HEX];
	char user[128];        /* the login role */
	int is_lead;           /* member of risk_lead */
	time_t created, last_used;
	struct review_store *pool[CONSOLE_POOL_MAX]; /* the analyst's own connections; owned */
	int pool_n;            /* connections in pool[0 .. pool_n) */
	unsigned lent;         /* bit i: pool[i] is in use by a request */
	int refs;              /* requests holding the session */
	int ended;             /* out of the table; freed with its last reference */
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
 * The live session whose token is token, with a reference the caller gives back with
 * console_session_put, after ending every session past its idle or absolute lifetime at now.
 * Marks the session used at now. Returns NULL when none.
 */
struct console_session *console_session_find(const char *token, time_t now);

/* Starts a session for user on the connections pool[0 .. n) (1 <= n <= CONSOLE_POOL_MAX;
 * consumed, also on failure). Returns the session with a reference (console_session_put), or
 * NULL when CONSOLE_SESSIONS_MAX sessions are live. */
struct console_session *console_session_start(const char *user, int is_lead,
                                              struct review_store *const *pool, int n,
                                              time_t now);

/* Gives back a reference taken by find or start; frees an ended session with its last. */
void console_session_put(struct console_session *s);

/*
 * Lends one of s's connections to the calling request, waiting up to wait_s seconds while
 * all are in use. Returns it, or NULL when none came free or the session has ended. Give it
 * back with console_session_return.
 */
struct review_store *console_session_lease(struct console_session *s, int wait_s);

/* Gives back rv, lent by console_session_lease. lost: the connection failed (it is closed
 * and leaves the pool; the session ends with its last connection). */
void console_session_return(struct console_session *s, struct review_store *rv, int lost);

/* Ends session s (logout, or its database lost): out of the table at once, so its token no
 * longer finds it; its connections close when its last request is done. */
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
