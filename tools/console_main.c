/*
 * console_main.c - bin/riskd-console, the analyst console: a small web server over
 * libmicrohttpd that lets analysts work the review queue in a browser (docs/console.md).
 *
 *   riskd-console [-c config/riskd.yaml]
 *
 * It reads the `console:` section of riskd's configuration, listens on console.listen:port
 * (HTTPS when console.tls_cert and tls_key are set), and routes requests (the routes are a
 * contract for scripts and proxies):
 *
 *   GET  /login, POST /login (username, password, csrf), POST /logout (csrf)
 *   GET  /queue (filters as query parameters), GET /queue.csv
 *   GET  /alerts/ID, POST /alerts/ID/claim|unclaim|assign|comment|resolve|reopen|approve
 *   POST /queue/claim, /queue/assign (the queue's selected alerts)
 *   GET  /customers/ID, GET /healthz, GET /console.css
 *
 * An analyst logs in with their PostgreSQL login role; the session keeps a small pool of
 * connections opened with it (console.session_connections), so the database enforces
 * privileges and records who acted. Every POST but the login form's needs the session's CSRF
 * token (403 and nothing changed without it). Requests are served by console.threads
 * libmicrohttpd threads, each request on one of its session's connections (waiting up to
 * LEASE_WAIT_S seconds for one, then 503); the main thread waits for SIGINT/SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "../config/config.h"
#include "../config/riskd_base.h"
#include "../detector/store_console.h"
#include "console_http.h"
#include "console_pages.h"
#include "console_session.h"

#define SESSION_COOKIE "riskd_session"
#define LOGIN_COOKIE "riskd_login"
#define CSV_ROWS_MAX 100000
#define LEASE_WAIT_S 10  /* how long a request waits for one of its session's connections */

static struct {
	struct riskd_config cfg;
	const char *login_dsn;
} console;

/* Writes text for a log line with control bytes replaced, so a user name cannot forge lines. */
static void log_text(char *out, size_t size, const char *text)
{
	size_t n = 0;
	for (; text && *text && n + 1 < size; text++)
		out[n++] = (unsigned char)*text < 0x20 || *text == 0x7f ? '?' : *text;
	out[n] = '\0';
}

static void console_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void console_log(const char *fmt, ...)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s riskd-console: ", when);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- page replies ---- */

/* A page written by a page writer into memory and queued with status. */
struct page {
	char *text;
	size_t len;
	FILE *out;
};

static FILE *page_open(struct page *p)
{
	p->text = NULL;
	p->len = 0;
	p->out = open_memstream(&p->text, &p->len);
	if (!p->out) {
		perror("riskd-console: open_memstream");
		abort();
	}
	return p->out;
}

static enum MHD_Result page_send(struct MHD_Connection *conn, struct page *p, unsigned int status,
                                 const char *content_type, const char *cookie)
{
	fclose(p->out);
	enum MHD_Result ret = console_reply(conn, status, content_type, p->text, p->len,
	                                    cookie ? MHD_HTTP_HEADER_SET_COOKIE : NULL, cookie,
	                                    NULL, NULL);
	free(p->text);
	return ret;
}

static enum MHD_Result reply_message(struct MHD_Connection *conn, unsigned int status,
                                     const struct console_session *s, const char *title,
                                     const char *message)
{
	struct page p;
	console_page_message(page_open(&p), s, title, message);
	return page_send(conn, &p, status, "text/html; charset=utf-8", NULL);
}

/* The HTTP status of a store error. */
static unsigned int store_status(int rc)
{
	switch (rc) {
	case RISKD_ERR_NOT_FOUND: return MHD_HTTP_NOT_FOUND;
	case RISKD_ERR_CONFLICT: return MHD_HTTP_CONFLICT;
	case RISKD_ERR_INVALID: return MHD_HTTP_BAD_REQUEST;
	case RISKD_ERR_UNAVAILABLE: return MHD_HTTP_SERVICE_UNAVAILABLE;
	default: return MHD_HTTP_FORBIDDEN;
	}
}

/* A request's hold on its session and on one of the session's connections. */
struct lease {
	struct console_session *s;
	struct review_store *rv;
	int lost;               /* rv failed: it leaves the session's pool */
};

/*
 * Replies to a failed store call: the status of rc with errstr. A lost connection ends the
 * session (its connections are the analyst's login), so the next request logs in afresh.
 */
static enum MHD_Result store_failed(struct MHD_Connection *conn, struct lease *l, int rc,
                                    const char *title, const char *errstr)
{
	if (rc != RISKD_ERR_UNAVAILABLE)
		return reply_message(conn, store_status(rc), l->s, title, errstr);
	console_log("session of %s ended: %s", l->s->user, errstr);
	l->lost = 1;
	console_session_end(l->s);
	return reply_message(conn, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, title,
	                     "The connection to the database was lost; log in again.");
}

/* ---- login and logout ---- */

static enum MHD_Result login_form(struct MHD_Connection *conn, unsigned int status,
                                  const char *message)
{
	char csrf[CONSOLE_TOKEN_HEX], cookie[256];
	struct page p;
	/* one token per browser until it logs in: a second tab, or a redirect to /login, must not
	 * invalidate the form already shown */
	const char *kept = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, LOGIN_COOKIE);
	if (kept && strlen(kept) == CONSOLE_TOKEN_HEX - 1 &&
	    strspn(kept, "0123456789abcdef") == CONSOLE_TOKEN_HEX - 1)
		memcpy(csrf, kept, CONSOLE_TOKEN_HEX);
	else
		console_random_token(csrf);
	console_cookie(cookie, sizeof(cookie), LOGIN_COOKIE, csrf, "/login");
	console_page_login(page_open(&p), csrf, message);
	return page_send(conn, &p, status, "text/html; charset=utf-8", cookie);
}

static enum MHD_Result login_post(struct MHD_Connection *conn, const struct console_request *rq)
{
	char user[128], password[1024], csrf[128], addr[64], shown[160], errstr[512];
	const char *cookie = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, LOGIN_COOKIE);
	time_t now = time(NULL);
	int retry_s, is_lead = 0;

	console_client_address(conn, addr, sizeof(addr));
	console_form_get(rq->body, "username", user, sizeof(user), NULL, NULL);
	console_form_get(rq->body, "password", password, sizeof(password), NULL, NULL);
	log_text(shown, sizeof(shown), user);
	if (!console_form_get(rq->body, "csrf", csrf, sizeof(csrf), NULL, NULL) ||
	    !console_token_equal(csrf, cookie)) {
		console_log("login refused: missing or wrong CSRF token (user %s, address %s)", shown,
		            addr);
		return reply_message(conn, MHD_HTTP_FORBIDDEN, NULL, "Forbidden",
		                     "The login form's CSRF token is missing or wrong: open /login again.");
	}
	if (!console_login_allowed(user, addr, now, &retry_s)) {
		console_log("login throttled: user %s, address %s (%d s left)", shown, addr, retry_s);
		snprintf(errstr, sizeof(errstr), "Too many failed logins for this account or address; "
		                                 "try again in %d seconds.", retry_s);
		return login_form(conn, MHD_HTTP_TOO_MANY_REQUESTS, errstr);
	}
	/* the session's whole pool now: the password is not kept for later */
	struct review_store *pool[CONSOLE_POOL_MAX];
	int n = 0, rc = 0;
	while (n < console.cfg.console_session_connections && n < CONSOLE_POOL_MAX && rc == 0)
		if ((rc = console_login(&pool[n], &is_lead, console.login_dsn, user, password, errstr,
		                        sizeof(errstr))) == 0)
			n++;
	explicit_bzero(password, sizeof(password));
	console_login_record(user, addr, n > 0, now);
	if (n == 0) {
		console_log("login failed: user %s, address %s: %s", shown, addr, errstr);
		return login_form(conn, rc == RISKD_ERR_UNAVAILABLE ? MHD_HTTP_SERVICE_UNAVAILABLE
		                                                     : MHD_HTTP_UNAUTHORIZED, errstr);
	}
	if (rc) /* the first connection worked: the session goes on with fewer */
		console_log("login: user %s got %d of %d connections: %s", shown, n,
		            console.cfg.console_session_connections, errstr);
	struct console_session *s = console_session_start(user, is_lead, pool, n, now);
	if (!s) {
		console_log("login refused: user %s, address %s: too many sessions", shown, addr);
		return login_form(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		                  "The console has too many sessions open; try again later.");
	}
	console_log("login: user %s%s, address %s", shown, is_lead ? " (lead)" : "", addr);
	char cookie_out[256];
	console_cookie(cookie_out, sizeof(cookie_out), SESSION_COOKIE, s->token, "/");
	console_session_put(s);
	return console_redirect(conn, "/queue", cookie_out);
}

/* Whether the form's csrf field is the session's token. */
static int csrf_ok(const struct console_session *s, const struct console_request *rq)
{
	char csrf[128];
	return console_form_get(rq->body, "csrf", csrf, sizeof(csrf), NULL, NULL) &&
	       console_token_equal(csrf, s->csrf);
}

/* ---- queue ---- */

/* A query parameter; "" counts as absent. */
static const char *query(struct MHD_Connection *conn, const char *name)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
	return v && *v ? v : NULL;
}

static int one_of(const char *v, const char *const *choices)
{
	for (; *choices; choices++)
		if (strcmp(v, *choices) == 0)
			return 1;
	return 0;
}

/* An integer parameter within lo..hi; def when absent. Returns 0, or -1 (errstr set). */
static int query_int(struct MHD_Connection *conn, const char *name, int lo, int hi, int def,
                     int *out, char *errstr, size_t errstr_size)
{
	const char *v = query(conn, name);
	char *end;
	*out = def;
	if (!v)
		return 0;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || *end || end == v || n < lo || n > hi) {
		snprintf(errstr, errstr_size, "query parameter %s must be a whole number in %d..%d",
		         name, lo, hi);
		return -1;
	}
	*out = (int)n;
	return 0;
}

/* Reads the queue view from the query string. Returns 0, or -1 with errstr. */
static int queue_view_parse(struct MHD_Connection *conn, struct console_queue_view *v,
                            char *errstr, size_t errstr_size)
{
	static const char *const statuses[] = {"open", "in_review", "closed", "all", NULL};
	static const char *const severities[] = {"low", "medium", "high", "critical", NULL};
	static const char *const assigned[] = {"me", "anyone", "none", NULL};
	static const char *const sorts[] = {"score", "age", NULL};
	struct console_queue_filter *f = &v->filter;
	memset(v, 0, sizeof(*v));
	f->status = query(conn, "status");
	f->kind = query(conn, "kind");
	f->severity = query(conn, "severity");
	f->rule = query(conn, "rule");
	f->area = query(conn, "area");
	f->segment = query(conn, "segment");
	f->assigned = query(conn, "assigned");
	v->sort = query(conn, "sort") ? query(conn, "sort") : "score";
	const char *bad = f->status && !one_of(f->status, statuses) ? "status"
	                  : f->severity && !one_of(f->severity, severities) ? "severity"
	                  : f->assigned && !one_of(f->assigned, assigned) ? "assigned"
	                  : !one_of(v->sort, sorts) ? "sort" : NULL;
	if (bad) {
		snprintf(errstr, errstr_size, "query parameter %s has a value the queue does not know "
		                              "(see docs/console.md)", bad);
		return -1;
	}
	if (query_int(conn, "age", 0, 3650, 0, &f->min_age_days, errstr, errstr_size) ||
	    query_int(conn, "page", 1, 1000000, 1, &v->page, errstr, errstr_size) ||
	    query_int(conn, "per", 1, CONSOLE_PAGE_SIZE_MAX, 50, &v->per_page, errstr, errstr_size))
		return -1;
	f->sort_by_age = strcmp(v->sort, "age") == 0;
	f->limit = v->per_page;
	f->offset = (v->page - 1) * v->per_page;
	return 0;
}

static enum MHD_Result queue_get(struct MHD_Connection *conn, struct lease *l, int csv)
{
	struct console_session *s = l->s;
	struct console_queue_view view;
	char errstr[512];
	json_t *result = NULL;
	struct page p;

	if (queue_view_parse(conn, &view, errstr, sizeof(errstr)))
		return reply_message(conn, MHD_HTTP_BAD_REQUEST, s, "Bad request", errstr);
	if (csv) {
		view.filter.offset = 0;
		view.filter.limit = CSV_ROWS_MAX;
	}
	view.filter.with_curve = !csv;
	int rc = console_queue(l->rv, &view.filter, &result, errstr, sizeof(errstr));
	if (rc)
		return store_failed(conn, l, rc, "Queue unavailable", errstr);
	if (csv)
		console_queue_csv(page_open(&p), result);
	else
		console_page_queue(page_open(&p), s, &view, result);
	json_decref(result);
	if (csv)
		return page_send(conn, &p, MHD_HTTP_OK, "text/csv; charset=utf-8", NULL);
	return page_send(conn, &p, MHD_HTTP_OK, "text/html; charset=utf-8", NULL);
}

/* ---- alerts and customers ---- */

static enum MHD_Result alert_page(struct MHD_Connection *conn, struct lease *l,
                                  const char *alert_id, unsigned int status, const char *message)
{
	struct console_session *s = l->s;
	json_t *detail = NULL, *context = NULL;
	char errstr[512];
	struct page p;
	int rc = review_show(l->rv, alert_id, &detail, errstr, sizeof(errstr));
	if (!rc)
		rc = console_alert_context(l->rv, alert_id, &context, errstr, sizeof(errstr));
	if (rc) {
		json_decref(detail);
		return store_failed(conn, l, rc, "Alert", errstr);
	}
	console_page_alert(page_open(&p), s, detail, context, message);
	json_decref(detail);
	json_decref(context);
	return page_send(conn, &p, status, "text/html; charset=utf-8", NULL);
}

/* The confirmation shown after a redirect (?done=ACTION); only known words are echoed. */
static const char *done_message(struct MHD_Connection *conn)
{
	static const char *const done[][2] = {
		{"claim", "done: claimed"}, {"unclaim", "done: back in the queue"},
		{"assign", "done: assigned"}, {"comment", "done: comment added"},
		{"resolve", "done: resolved"}, {"reopen", "done: reopened"},
		{"approve", "done: approved; the alert is closed as confirmed_theft"},
		{"propose", "done: resolved as confirmed_theft; it takes effect when a second analyst "
		            "approves it"},
	};
	const char *v = query(conn, "done");
	for (size_t i = 0; v && i < sizeof(done) / sizeof(done[0]); i++)
		if (strcmp(v, done[i][0]) == 0)
			return done[i][1];
	return NULL;
}

/* Runs one action on alert_id with the form's fields. Returns 0 or a store error (errstr);
 * *done names the confirmation to show. */
static int alert_action(struct lease *l, const char *alert_id, const char *action,
                        const struct console_request *rq, const char **done, char *errstr,
                        size_t errstr_size)
{
	char note[4200], field[256];
	int changed = 0;
	int has_note = console_form_get(rq->body, "note", note, sizeof(note), NULL, NULL) && note[0];
	*done = action;
	if (strcmp(action, "claim") == 0)
		return review_claim(l->rv, alert_id, NULL, &changed, errstr, errstr_size);
	if (strcmp(action, "unclaim") == 0)
		return review_release(l->rv, alert_id, has_note ? note : NULL, errstr, errstr_size);
	if (strcmp(action, "assign") == 0) {
		console_form_get(rq->body, "to", field, sizeof(field), NULL, NULL);
		return review_assign(l->rv, alert_id, field, &changed, errstr, errstr_size);
	}
	if (strcmp(action, "comment") == 0)
		return review_comment(l->rv, alert_id, note, errstr, errstr_size);
	if (strcmp(action, "resolve") == 0) {
		console_form_get(rq->body, "disposition", field, sizeof(field), NULL, NULL);
		int closed = 1;
		int rc = review_resolve(l->rv, alert_id, NULL, field, note, -1, &closed, errstr,
		                        errstr_size);
		if (rc == 0 && !closed)
			*done = "propose";
		return rc;
	}
	if (strcmp(action, "reopen") == 0)
		return review_reopen(l->rv, alert_id, NULL, has_note ? note : NULL, errstr, errstr_size);
	if (strcmp(action, "approve") == 0)
		return review_approve(l->rv, alert_id, has_note ? note : NULL, errstr, errstr_size);
	snprintf(errstr, errstr_size, "unknown action");
	return RISKD_ERR_NOT_FOUND;
}

/* Writes "/alerts/<percent-encoded id>?done=what" into out. */
static void alert_location(char *out, size_t size, const char *alert_id, const char *done)
{
	size_t n = (size_t)snprintf(out, size, "/alerts/");
	for (const char *c = alert_id; *c && n + 4 < size; c++) {
		unsigned char b = (unsigned char)*c;
		if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
		    b == '-' || b == '_' || b == '.')
			out[n++] = (char)b;
		else
			n += (size_t)snprintf(out + n, size - n, "%%%02X", b);
	}
	snprintf(out + n, size - n, done ? "?done=%s" : "", done);
}

static enum MHD_Result alert_post(struct MHD_Connection *conn, struct lease *l,
                                  const char *path, const struct console_request *rq)
{
	struct console_session *s = l->s;
	static const char *const actions[] = {"claim", "unclaim", "assign", "comment", "resolve",
	                                      "reopen", "approve", NULL};
	char alert_id[512], errstr[512], location[1700], shown[600];
	const char *slash = strrchr(path, '/');
	const char *done;
	if (!slash || slash == path || !one_of(slash + 1, actions) ||
	    (size_t)(slash - path) >= sizeof(alert_id))
		return reply_message(conn, MHD_HTTP_NOT_FOUND, s, "Not found", "No such action.");
	snprintf(alert_id, sizeof(alert_id), "%.*s", (int)(slash - path), path);
	int rc = alert_action(l, alert_id, slash + 1, rq, &done, errstr, sizeof(errstr));
	log_text(shown, sizeof(shown), alert_id);
	if (rc == RISKD_ERR_UNAVAILABLE)
		return store_failed(conn, l, rc, "Alert", errstr);
	if (rc) {
		console_log("%s by %s on alert %s refused: %s", slash + 1, s->user, shown, errstr);
		return alert_page(conn, l, alert_id, store_status(rc), errstr);
	}
	console_log("%s by %s on alert %s", slash + 1, s->user, shown);
	alert_location(location, sizeof(location), alert_id, done);
	return console_redirect(conn, location, NULL);
}

/* POST /queue/claim and /queue/assign: the action on every selected alert (field id). */
static enum MHD_Result queue_bulk(struct MHD_Connection *conn, struct lease *l,
                                  const char *action, const struct console_request *rq)
{
	struct console_session *s = l->s;
	char alert_id[512], to[256], errstr[512], report[2048] = "";
	const char *at = NULL;
	int done = 0, refused = 0, changed;
	console_form_get(rq->body, "to", to, sizeof(to), NULL, NULL);
	while (console_form_get(rq->body, "id", alert_id, sizeof(alert_id), at, &at)) {
		int rc = strcmp(action, "claim") == 0
		             ? review_claim(l->rv, alert_id, NULL, &changed, errstr, sizeof(errstr))
		             : review_assign(l->rv, alert_id, to, &changed, errstr, sizeof(errstr));
		if (rc == 0) {
			done++;
			continue;
		}
		refused++;
		size_t len = strlen(report);
		snprintf(report + len, sizeof(report) - len, "%s%s", len ? "; " : "", errstr);
	}
	console_log("bulk %s by %s: %d done, %d refused", action, s->user, done, refused);
	if (!refused)
		return console_redirect(conn, "/queue?assigned=me&status=in_review", NULL);
	char message[2300];
	snprintf(message, sizeof(message), "%d alert(s) done, %d refused: %s", done, refused, report);
	return reply_message(conn, MHD_HTTP_CONFLICT, s, "Some alerts were refused", message);
}

static enum MHD_Result customer_get(struct MHD_Connection *conn, struct lease *l,
                                    const char *customer_id)
{
	struct console_session *s = l->s;
	json_t *customer = NULL;
	char errstr[512];
	struct page p;
	int rc = console_customer(l->rv, customer_id, &customer, errstr, sizeof(errstr));
	if (rc)
		return store_failed(conn, l, rc, "Customer", errstr);
	console_page_customer(page_open(&p), s, customer);
	json_decref(customer);
	return page_send(conn, &p, MHD_HTTP_OK, "text/html; charset=utf-8", NULL);
}

/* ---- routing ---- */

/* The tab icon: a meter's dial, drawn in SVG. */
static const char *const console_icon =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><circle cx=\"8\" cy=\"8\" "
    "r=\"7\" fill=\"#1a73e8\"/><path d=\"M8 8 L12 4\" stroke=\"#fff\" stroke-width=\"2\"/></svg>";

static enum MHD_Result session_route(struct MHD_Connection *conn, int get, int post,
                                     const char *method, const char *url,
                                     const struct console_request *rq,
                                     struct console_session *s);
static enum MHD_Result session_page(struct MHD_Connection *conn, int get, int post,
                                    const char *url, const struct console_request *rq,
                                    struct lease *l);

static enum MHD_Result route(struct MHD_Connection *conn, const char *method, const char *url,
                             const struct console_request *rq)
{
	int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	int post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;

	if (!get && !post)
		return console_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
		                     "method not allowed\n", 19, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, POST",
		                     NULL, NULL);
	if (rq->too_large)
		return reply_message(conn, MHD_HTTP_CONTENT_TOO_LARGE, NULL, "Too large",
		                     "The form is larger than the console accepts.");
	if (get && strcmp(url, "/healthz") == 0)
		return console_reply(conn, MHD_HTTP_OK, "text/plain; charset=utf-8", "ok\n", 3, NULL,
		                     NULL, NULL, NULL);
	if (get && strcmp(url, "/console.css") == 0) {
		struct page p;
		console_write_css(page_open(&p));
		return page_send(conn, &p, MHD_HTTP_OK, "text/css; charset=utf-8", NULL);
	}
	if (get && strcmp(url, "/login") == 0)
		return login_form(conn, MHD_HTTP_OK, NULL);
	if (get && strcmp(url, "/favicon.svg") == 0)
		return console_reply(conn, MHD_HTTP_OK, "image/svg+xml", console_icon,
		                     strlen(console_icon), NULL, NULL, NULL, NULL);
	if (get && strcmp(url, "/favicon.ico") == 0)
		return console_reply(conn, MHD_HTTP_NO_CONTENT, "image/x-icon", "", 0, NULL, NULL, NULL,
		                     NULL);
	if (post && strcmp(url, "/login") == 0)
		return login_post(conn, rq);

	struct console_session *s = console_session_find(
	    MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, SESSION_COOKIE), time(NULL));
	if (!s) {
		if (get)
			return console_redirect(conn, "/login", NULL);
		return reply_message(conn, MHD_HTTP_FORBIDDEN, NULL, "Forbidden",
		                     "No session: log in first (a session ends after a time without "
		                     "use, and at logout).");
	}
	enum MHD_Result r = session_route(conn, get, post, method, url, rq, s);
	console_session_put(s);
	return r;
}

/* The routes of a logged-in session s. */
static enum MHD_Result session_route(struct MHD_Connection *conn, int get, int post,
                                     const char *method, const char *url,
                                     const struct console_request *rq,
                                     struct console_session *s)
{
	if (post && !csrf_ok(s, rq)) {
		console_log("%s %s by %s refused: missing or wrong CSRF token", method, url, s->user);
		return reply_message(conn, MHD_HTTP_FORBIDDEN, s, "Forbidden",
		                     "The form's CSRF token is missing or wrong; nothing was changed. "
		                     "Reload the page and try again.");
	}
	if (post && strcmp(url, "/logout") == 0) {
		char cookie[256];
		console_log("logout: user %s", s->user);
		console_session_end(s);
		console_cookie(cookie, sizeof(cookie), SESSION_COOKIE, NULL, "/");
		return console_redirect(conn, "/login", cookie);
	}
	struct lease l = {s, console_session_lease(s, LEASE_WAIT_S), 0};
	if (!l.rv)
		return reply_message(conn, MHD_HTTP_SERVICE_UNAVAILABLE, s, "Busy",
		                     "All of this session's database connections stayed busy: try "
		                     "again in a moment.");
	enum MHD_Result r = session_page(conn, get, post, url, rq, &l);
	console_session_return(s, l.rv, l.lost);
	return r;
}

/* The pages that use the database, on the connection l holds. */
static enum MHD_Result session_page(struct MHD_Connection *conn, int get, int post,
                                    const char *url, const struct console_request *rq,
                                    struct lease *l)
{
	if (get && (strcmp(url, "/") == 0 || strcmp(url, "/queue") == 0))
		return queue_get(conn, l, 0);
	if (get && strcmp(url, "/queue.csv") == 0)
		return queue_get(conn, l, 1);
	if (post && (strcmp(url, "/queue/claim") == 0 || strcmp(url, "/queue/assign") == 0))
		return queue_bulk(conn, l, url + strlen("/queue/"), rq);
	if (strncmp(url, "/alerts/", 8) == 0 && url[8]) {
		if (get)
			return alert_page(conn, l, url + 8, MHD_HTTP_OK, done_message(conn));
		return alert_post(conn, l, url + 8, rq);
	}
	if (get && strncmp(url, "/customers/", 11) == 0 && url[11])
		return customer_get(conn, l, url + 11);
	return reply_message(conn, MHD_HTTP_NOT_FOUND, l->s, "Not found", "No such page.");
}

/* MHD_AccessHandlerCallback: collects the body, then routes on the last call. */
static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)version;
	struct console_request *rq = *con_cls;
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (rq->len + *upload_data_size > CONSOLE_BODY_MAX)
			rq->too_large = 1;
		else {
			memcpy(rq->body + rq->len, upload_data, *upload_data_size);
			rq->len += *upload_data_size;
			rq->body[rq->len] = '\0';
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return route(conn, method, url, rq);
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	if (*con_cls) {
		explicit_bzero(*con_cls, sizeof(struct console_request)); /* passwords */
		free(*con_cls);
	}
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	fputs("riskd-console: ", stderr);
	vfprintf(stderr, fmt, ap);
}

/* Reads the whole file at path into a NUL-terminated buffer (caller frees); NULL on error. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0;
	if (!f)
		return NULL;
	FILE *out = open_memstream(&text, &len);
	char buf[4096];
	size_t n;
	while (out && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, out);
	int bad = ferror(f);
	fclose(f);
	if (out)
		fclose(out);
	if (bad) {
		free(text);
		return NULL;
	}
	return text;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: riskd-console [-c CONFIG]\n"
	             "  the analyst console (docs/console.md); CONFIG defaults to config/riskd.yaml "
	             "when it exists\n");
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	char errstr[1024];
	int opt;
	while ((opt = getopt(argc, argv, "c:h")) != -1) {
		if (opt == 'c') {
			path = optarg;
		} else {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!path && access("config/riskd.yaml", R_OK) == 0)
		path = "config/riskd.yaml";
	if (config_load(&console.cfg, path, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "riskd-console: %s\n", errstr);
		return 2;
	}
	const struct riskd_config *cfg = &console.cfg;
	console.login_dsn = cfg->console_database[0] ? cfg->console_database : cfg->pg_dsn;
	if (!cfg->console_tls_cert[0] != !cfg->console_tls_key[0]) {
		fprintf(stderr, "riskd-console: %s: error: console.tls_cert and console.tls_key go "
		                "together (set both for HTTPS, or neither)\n", path ? path : "config");
		return 2;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->console_port)};
	if (inet_pton(AF_INET, cfg->console_listen, &sa.sin_addr) != 1) {
		fprintf(stderr, "riskd-console: %s: error: console.listen '%s' is not an IPv4 address\n",
		        path ? path : "config", cfg->console_listen);
		return 2;
	}
	int tls = cfg->console_tls_cert[0] != '\0';
	char *cert = NULL, *key = NULL;
	if (tls) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			fprintf(stderr, "riskd-console: this libmicrohttpd has no TLS; serve plain HTTP on "
			                "loopback behind a TLS proxy (docs/console.md)\n");
			return 2;
		}
		cert = read_file(cfg->console_tls_cert);
		key = read_file(cfg->console_tls_key);
		if (!cert || !key) {
			fprintf(stderr, "riskd-console: cannot read %s: %s\n",
			        cert ? cfg->console_tls_key : cfg->console_tls_cert, strerror(errno));
			return 2;
		}
	}
	console_http_set_tls(tls);
	console_sessions_init(cfg->console_session_idle_s, cfg->console_session_max_s);

	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL); /* the HTTP thread inherits the mask */
	signal(SIGPIPE, SIG_IGN);

	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_AUTO;
	unsigned int threads = (unsigned int)cfg->console_threads;
	struct MHD_Daemon *d;
	if (tls)
		d = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, answer, NULL,
		                     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		                     MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
		                     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
		                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
		                     MHD_OPTION_THREAD_POOL_SIZE, threads,
		                     MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
		                     MHD_OPTION_END);
	else
		d = MHD_start_daemon(flags, 0, NULL, NULL, answer, NULL,
		                     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		                     MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
		                     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
		                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
		                     MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "riskd-console: cannot listen on %s:%d (in use, or not an address of "
		                "this machine)\n", cfg->console_listen, cfg->console_port);
		free(cert);
		free(key);
		return 1;
	}
	console_log("listening on %s://%s:%d/ (logins through the database of console.database)",
	            tls ? "https" : "http", cfg->console_listen, cfg->console_port);
	int sig = 0;
	sigwait(&stop, &sig);
	console_log("stopping (signal %d)", sig);
	MHD_stop_daemon(d);
	console_sessions_shutdown();
	free(cert);
	free(key);
	return 0;
}
