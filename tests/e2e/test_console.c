/*
 * test_console.c - end-to-end suite of bin/riskd-console's HTTP contract against the local
 * stack: analysts log in as their own PostgreSQL login roles (TLS and a password, as the
 * stack's pg_hba demands of stack_password_users members), and every action is checked in
 * the database afterwards.
 *
 * Each test gets its own database and console process; the analysts' roles are
 * cluster-wide and reused. The HTTP client below is the smallest that speaks HTTP/1.1 with
 * cookies and form bodies, so the suite tests exactly the bytes a browser would get.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "../support/e2e.h"

#define REPLY_MAX (2 * 1024 * 1024)
#define ANALYST_PASSWORD "console-Secret-1"

struct console_world {
	struct e2e_world w;
	int port;
	pid_t pid;
	char log[1400];
};

struct reply {
	int status;
	char headers[8192];
	char *body;
};

/* A header line ("Name: value\r\n") every request adds, or "" (a test sets it). */
static const char *extra_header = "";

/* Sends one HTTP/1.1 request (Connection: close) to the console; body NULL for none. Returns
 * the socket to read the reply from (request_read). A reply that takes over 30 s fails. */
static int request_send(const struct console_world *cw, const char *method, const char *path,
                        const char *cookie, const char *body)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(fd >= 0);
	struct timeval patience = {30, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cw->port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect to the console");
	char head[4096];
	int n = snprintf(head, sizeof(head),
	                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s%s"
	                 "%s%zu%s\r\n",
	                 method, path, extra_header, cookie ? "Cookie: " : "", cookie ? cookie : "",
	                 cookie ? "\r\n" : "",
	                 body ? "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
	                      : "",
	                 body ? strlen(body) : 0, body ? "\r\n" : "");
	if (!body) /* drop the "0" the format wrote for a missing body */
		n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
		             "close\r\n%s%s%s%s\r\n", method, path, extra_header,
		             cookie ? "Cookie: " : "", cookie ? cookie : "", cookie ? "\r\n" : "");
	cr_assert(write(fd, head, (size_t)n) == n);
	if (body)
		cr_assert(write(fd, body, strlen(body)) == (ssize_t)strlen(body));
	return fd;
}

/* Reads the reply to the request sent on fd (request_send) into r, and closes fd. */
static void request_read(int fd, const char *what, struct reply *r)
{
	char *all = malloc(REPLY_MAX + 1);
	size_t len = 0;
	ssize_t got;
	while (len < REPLY_MAX && (got = read(fd, all + len, REPLY_MAX - len)) > 0)
		len += (size_t)got;
	all[len] = '\0';
	close(fd);
	char *end = strstr(all, "\r\n\r\n");
	cr_assert_not_null(end, "no HTTP reply to %s", what);
	*end = '\0';
	snprintf(r->headers, sizeof(r->headers), "%s", all);
	r->status = atoi(all + 9);
	r->body = strdup(end + 4);
	free(all);
}

/* One HTTP/1.1 request (Connection: close) to the console; body NULL for none. */
static void request(const struct console_world *cw, const char *method, const char *path,
                    const char *cookie, const char *body, struct reply *r)
{
	char what[600];
	snprintf(what, sizeof(what), "%.8s %.500s", method, path);
	request_read(request_send(cw, method, path, cookie, body), what, r);
}

static void reply_free(struct reply *r)
{
	free(r->body);
	r->body = NULL;
}

/* The value of cookie name set by a reply ("" when none) into out. */
static void set_cookie(const struct reply *r, const char *name, char *out, size_t size)
{
	char key[64];
	snprintf(key, sizeof(key), "Set-Cookie: %s=", name);
	const char *at = strstr(r->headers, key);
	out[0] = '\0';
	if (at)
		snprintf(out, size, "%.*s", (int)strcspn(at + strlen(key), ";\r\n"), at + strlen(key));
}

/* The first hidden csrf value of a page into out. */
static void csrf_of(const char *page, char *out, size_t size)
{
	const char *at = strstr(page, "name=\"csrf\" value=\"");
	cr_assert_not_null(at, "no csrf field in the page");
	at += strlen("name=\"csrf\" value=\"");
	snprintf(out, size, "%.*s", (int)strcspn(at, "\""), at);
}

static void sqlf(const struct console_world *cw, char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void sqlf(const struct console_world *cw, char *out, size_t size, const char *fmt, ...)
{
	char q[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	char buf[4096];
	e2e_query_text(cw->w.dsn, q, out ? out : buf, out ? size : sizeof(buf));
}

/* A login role with the analysts' password that must use TLS (stack_password_users). */
static void analyst_role(const struct console_world *cw, const char *role, const char *group)
{
	e2e_login_role(cw->w.dsn, role, group);
	e2e_login_role(cw->w.dsn, role, "stack_password_users");
	e2e_sh("PGOPTIONS='-c client_min_messages=warning' psql -X -q '%s' -c \"alter role %s "
	       "password '%s'\"", cw->w.dsn, role, ANALYST_PASSWORD);
}

/* Raises an alert for customer through riskd's own function; its id into id. */
static void raise_alert(const struct console_world *cw, const char *customer, const char *title,
                        char *id, size_t size)
{
	char q[2048];
	snprintf(q, sizeof(q),
	         "select alert_id from risk.raise_alert($c$%s$c$, 'theft', date '2026-03-01', 70,"
	         " 'high', jsonb_build_array(jsonb_build_object('id', 'drop', 'title', $t$%s$t$,"
	         " 'score', 70, 'severity', 'high', 'evidence', '{\"drop_days\": 9}'::jsonb)),"
	         " 'theft', '1.0.0', 'h', '[{\"day\":\"2026-03-01\",\"kwh\":1.5,\"baseline\":9}]',"
	         " 50, 'risk.review-queue')",
	         customer, title);
	e2e_query_text(cw->w.dsn, q, id, size);
}

/* A fresh database with alice, bob (analysts), lena (lead) and dora (dashboard only), and a
 * console process logging analysts in through TLS with a password; extra: more lines of the
 * console: section (NULL: none). */
static void console_up_with(struct console_world *cw, const char *name, const char *extra)
{
	e2e_world_new(&cw->w, name, 1, 500);
	analyst_role(cw, "console_alice", "risk_analyst");
	analyst_role(cw, "console_bob", "risk_analyst");
	analyst_role(cw, "console_lena", "risk_lead");
	analyst_role(cw, "console_dora", "risk_dashboard");
	const char *at = strstr(cw->w.dsn, "dbname=");
	cr_assert_not_null(at);
	cw->port = e2e_free_port();
	FILE *f = fopen(cw->w.config, "a");
	cr_assert_not_null(f);
	fprintf(f, "console:\n  port: %d\n  session_idle_s: 10\n  database: \"host=localhost "
	           "port=%d dbname=%.*s sslmode=verify-full sslrootcert=%s\"\n%s",
	        cw->port, cw->w.env.pg_port, (int)strcspn(at + 7, " "), at + 7, cw->w.env.pg_ca,
	        extra ? extra : "");
	fclose(f);
	snprintf(cw->log, sizeof(cw->log), "%s/console.log", cw->w.dir);
	cw->pid = fork();
	cr_assert(cw->pid >= 0);
	if (cw->pid == 0) {
		int fd = open(cw->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		char bin[1200];
		snprintf(bin, sizeof(bin), "%s/riskd-console", cw->w.env.bin);
		execl(bin, bin, "-c", cw->w.config, (char *)NULL);
		_exit(127);
	}
	char body[64];
	for (int i = 0; i < 100; i++) {
		if (extra || e2e_http_get(cw->port, "/healthz", body, sizeof(body)) == 200)
			return;
		usleep(50 * 1000);
	}
	cr_assert_fail("riskd-console did not answer /healthz (log: %s)", cw->log);
}

static void console_up(struct console_world *cw, const char *name)
{
	console_up_with(cw, name, NULL);
}

static void console_down(struct console_world *cw)
{
	kill(cw->pid, SIGTERM);
	cr_assert_eq(e2e_wait(cw->pid, 10), 0, "riskd-console stops cleanly (log: %s)", cw->log);
}

/* Logs role in; the session cookie ("riskd_session=...") into cookie. Returns the status of
 * the POST /login. */
static int login(const struct console_world *cw, const char *role, const char *password,
                 char *cookie, size_t size)
{
	struct reply r;
	char csrf[128], login_cookie[128], header[256], form[512];
	request(cw, "GET", "/login", NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(strstr(r.body, "name=\"username\""));
	cr_assert_not_null(strstr(r.body, "name=\"password\""));
	csrf_of(r.body, csrf, sizeof(csrf));
	set_cookie(&r, "riskd_login", login_cookie, sizeof(login_cookie));
	reply_free(&r);
	snprintf(header, sizeof(header), "riskd_login=%s", login_cookie);
	snprintf(form, sizeof(form), "username=%s&password=%s&csrf=%s", role, password, csrf);
	request(cw, "POST", "/login", header, form, &r);
	char token[128];
	set_cookie(&r, "riskd_session", token, sizeof(token));
	snprintf(cookie, size, "riskd_session=%s", token);
	int status = r.status;
	if (status == 303) {
		cr_assert_not_null(strstr(r.headers, "HttpOnly"));
		cr_assert_not_null(strstr(r.headers, "SameSite=Strict"));
		cr_assert_eq(strlen(token), 64, "a 256-bit token in hex");
	}
	reply_free(&r);
	return status;
}

/* POSTs form (with the session's csrf appended unless with_csrf is 0) to path. */
static int post(const struct console_world *cw, const char *cookie, const char *path,
                const char *form, int with_csrf, struct reply *out)
{
	struct reply page, r;
	char csrf[128] = "", body[2048];
	request(cw, "GET", "/queue", cookie, NULL, &page);
	if (page.status == 200)
		csrf_of(page.body, csrf, sizeof(csrf));
	reply_free(&page);
	snprintf(body, sizeof(body), "%s%s%s%s", form, *form && with_csrf ? "&" : "",
	         with_csrf ? "csrf=" : "", with_csrf ? csrf : "");
	request(cw, "POST", path, cookie, body, &r);
	int status = r.status;
	if (out)
		*out = r;
	else
		reply_free(&r);
	return status;
}

Test(console, login_checks_the_database_role, .timeout = 120)
{
	struct console_world cw;
	char cookie[256], log[8192];
	struct reply r;
	console_up(&cw, "console_login");

	cr_assert_eq(login(&cw, "console_alice", "wrong-password", cookie, sizeof(cookie)), 401);
	cr_assert_eq(login(&cw, "console_dora", ANALYST_PASSWORD, cookie, sizeof(cookie)), 401,
	             "a dashboard-only role is refused");
	cr_assert_eq(login(&cw, "console_alice", ANALYST_PASSWORD, cookie, sizeof(cookie)), 303);

	/* the login form's own CSRF token is required */
	request(&cw, "POST", "/login", NULL, "username=console_alice&password=" ANALYST_PASSWORD, &r);
	cr_assert_eq(r.status, 403);
	reply_free(&r);

	request(&cw, "GET", "/queue", cookie, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(strstr(r.headers, "Content-Security-Policy: default-src 'none'"));
	cr_assert_not_null(strstr(r.body, "console_alice"));
	reply_free(&r);

	/* logout ends the session */
	cr_assert_eq(post(&cw, cookie, "/logout", "", 1, NULL), 303);
	request(&cw, "GET", "/queue", cookie, NULL, &r);
	cr_assert_eq(r.status, 303, "after logout the queue redirects to the login");
	reply_free(&r);
	console_down(&cw);

	FILE *f = fopen(cw.log, "r");
	size_t n = fread(log, 1, sizeof(log) - 1, f);
	log[n] = '\0';
	fclose(f);
	cr_assert_not_null(strstr(log, "login failed: user console_alice"), "%s", log);
	cr_assert_not_null(strstr(log, "not a member of risk_analyst"), "%s", log);
	cr_assert_null(strstr(log, ANALYST_PASSWORD), "the log shows no password");
}

Test(console, failed_logins_are_throttled, .timeout = 120)
{
	struct console_world cw;
	char cookie[256];
	console_up(&cw, "console_throttle");
	for (int i = 0; i < 5; i++)
		cr_assert_eq(login(&cw, "console_bob", "nope", cookie, sizeof(cookie)), 401);
	cr_assert_eq(login(&cw, "console_bob", ANALYST_PASSWORD, cookie, sizeof(cookie)), 429,
	             "the right password is refused while the account is throttled");
	/* the address counts too: another account from that address is refused ... */
	cr_assert_eq(login(&cw, "console_alice", ANALYST_PASSWORD, cookie, sizeof(cookie)), 429);
	/* ... but behind a proxy on this host each client is the address the proxy names */
	extra_header = "X-Forwarded-For: 192.0.2.7\r\n";
	cr_assert_eq(login(&cw, "console_alice", ANALYST_PASSWORD, cookie, sizeof(cookie)), 303);
	extra_header = "";
	console_down(&cw);
}

Test(console, a_lost_database_connection_ends_the_session, .timeout = 120)
{
	struct console_world cw;
	char cookie[256];
	struct reply r;
	console_up(&cw, "console_lost");
	cr_assert_eq(login(&cw, "console_alice", ANALYST_PASSWORD, cookie, sizeof(cookie)), 303);
	int64_t ended = e2e_query_int(cw.w.dsn, "select count(pg_terminate_backend(pid)) from"
	                                        " pg_stat_activity where usename = 'console_alice'"
	                                        " and datname = current_database()");
	cr_assert_eq(ended, 2, "the session's two connections (%lld found)", (long long)ended);
	request(&cw, "GET", "/queue", cookie, NULL, &r);
	cr_assert_eq(r.status, 503);
	cr_assert_not_null(strstr(r.body, "log in again"));
	reply_free(&r);
	request(&cw, "GET", "/queue", cookie, NULL, &r);
	cr_assert_eq(r.status, 303, "the session ended with its connection");
	reply_free(&r);
	cr_assert_eq(login(&cw, "console_alice", ANALYST_PASSWORD, cookie, sizeof(cookie)), 303);
	request(&cw, "GET", "/queue", cookie, NULL, &r);
	cr_assert_eq(r.status, 200);
	reply_free(&r);
	console_down(&cw);
}

Test(console, a_post_without_csrf_changes_nothing, .timeout = 120)
{
	struct console_world cw;
	char cookie[256], id[256], path[512], row[256];
	console_up(&cw, "console_csrf");
	raise_alert(&cw, "C1", "drop", id, sizeof(id));
	cr_assert_eq(login(&cw, "console_alice", ANALYST_PASSWORD, cookie, sizeof(cookie)), 303);
	snprintf(path, sizeof(path), "/alerts/%s/claim", id);
	cr_assert_eq(post(&cw, cookie, path, "", 0, NULL), 403);
	cr_assert_eq(post(&cw, cookie, path, "csrf=0123", 0, NULL), 403);
	sqlf(&cw, row, sizeof(row), "select status || ':' || (select count(*) from "
	     "risk.alert_events) from risk.alerts where alert_id = '%s'", id);
	cr_assert_str_eq(row, "open:1", "nothing changed without the CSRF token");
	/* and without a session at all */
	struct reply r;
	request(&cw, "POST", path, NULL, "csrf=x", &r);
	cr_assert_eq(r.status, 403);
	reply_free(&r);
	console_down(&cw);
}

Test(console, actions_are_recorded_as_the_login_role, .timeout = 120)
{
	struct console_world cw;
	char alice[256], bob[256], lena[256], id[256], path[512], row[2048];
	struct reply r;
	console_up(&cw, "console_actions");
	raise_alert(&cw, "C7", "drop", id, sizeof(id));
	cr_assert_eq(login(&cw, "console_alice", ANALYST_PASSWORD, alice, sizeof(alice)), 303);
	cr_assert_eq(login(&cw, "console_bob", ANALYST_PASSWORD, bob, sizeof(bob)), 303);
	cr_assert_eq(login(&cw, "console_lena", ANALYST_PASSWORD, lena, sizeof(lena)), 303);

	snprintf(path, sizeof(path), "/alerts/%s/claim", id);
	cr_assert_eq(post(&cw, alice, path, "", 1, NULL), 303);
	cr_assert_eq(post(&cw, bob, path, "", 1, &r), 409, "a held alert is refused to another");
	cr_assert_not_null(strstr(r.body, "held by console_alice"), "%s", r.body);
	reply_free(&r);
	snprintf(path, sizeof(path), "/alerts/%s/comment", id);
	cr_assert_eq(post(&cw, alice, path, "note=meter+seal+looks+new", 1, NULL), 303);
	snprintf(path, sizeof(path), "/alerts/%s/resolve", id);
	cr_assert_eq(post(&cw, alice, path, "disposition=confirmed_theft&note=bypass+found", 1,
	                  NULL), 303);
	sqlf(&cw, row, sizeof(row), "select status from risk.alerts where alert_id = '%s'", id);
	cr_assert_str_eq(row, "in_review", "confirmed_theft waits for a second analyst");
	snprintf(path, sizeof(path), "/alerts/%s/approve", id);
	cr_assert_eq(post(&cw, alice, path, "", 1, NULL), 403, "the proposer cannot approve");
	cr_assert_eq(post(&cw, bob, path, "", 1, NULL), 303);

	sqlf(&cw, row, sizeof(row),
	     "select string_agg(action || ':' || actor || ':' || coalesce(db_user, '-'), ' '"
	     " order by id) from risk.alert_events where alert_id = '%s'", id);
	cr_assert_str_eq(row, "opened:riskd:postgres claimed:console_alice:console_alice "
	                      "commented:console_alice:console_alice "
	                      "proposed:console_alice:console_alice approved:console_bob:console_bob "
	                      "resolved:console_alice:console_bob");
	sqlf(&cw, row, sizeof(row), "select status || ':' || disposition || ':' || "
	     "(select confirmed from risk.theft_confirmations where customer_id = 'C7')"
	     " from risk.alerts where alert_id = '%s'", id);
	cr_assert_str_eq(row, "closed:confirmed_theft:true");
	sqlf(&cw, row, sizeof(row), "select string_agg(convert_from(payload, 'UTF8')::json->>'change',"
	     " ' ' order by id) from risk.outbox");
	cr_assert_str_eq(row, "opened claimed resolved", "the review-queue messages wait in the outbox");

	/* a lead hands an alert over; an analyst may not */
	char id2[256];
	raise_alert(&cw, "C8", "drop", id2, sizeof(id2));
	snprintf(path, sizeof(path), "/alerts/%s/assign", id2);
	cr_assert_eq(post(&cw, bob, path, "to=console_alice", 1, NULL), 403);
	cr_assert_eq(post(&cw, lena, path, "to=no_such_role", 1, NULL), 400);
	cr_assert_eq(post(&cw, lena, path, "to=console_dora", 1, NULL), 400,
	             "a dashboard-only role cannot hold an alert");
	cr_assert_eq(post(&cw, lena, path, "to=console_alice", 1, NULL), 303);
	sqlf(&cw, row, sizeof(row), "select status || ':' || analyst from risk.alerts"
	     " where alert_id = '%s'", id2);
	cr_assert_str_eq(row, "in_review:console_alice");
	snprintf(path, sizeof(path), "/alerts/%s/unclaim", id2);
	cr_assert_eq(post(&cw, alice, path, "", 1, NULL), 303);
	snprintf(path, sizeof(path), "/alerts/%s/reopen", id);
	cr_assert_eq(post(&cw, bob, path, "note=wrong+meter", 1, NULL), 303);
	sqlf(&cw, row, sizeof(row), "select string_agg(status, ',' order by alert_id) from risk.alerts");
	cr_assert_str_eq(row, "open,open");
	console_down(&cw);
}

Test(console, queue_filters_pages_and_exports, .timeout = 120)
{
	struct console_world cw;
	char cookie[256], id[256];
	struct reply r;
	console_up(&cw, "console_queue");
	for (int i = 0; i < 12; i++) {
		char customer[32];
		snprintf(customer, sizeof(customer), "Q%02d", i);
		raise_alert(&cw, customer, "drop", id, sizeof(id));
	}
	cr_assert_eq(login(&cw, "console_alice", ANALYST_PASSWORD, cookie, sizeof(cookie)), 303);
	request(&cw, "GET", "/queue?per=5&page=3&sort=age", cookie, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(strstr(r.body, "12 alert(s) match; page 3 of 3"), "%s", r.body);
	cr_assert_not_null(strstr(r.body, "id=\"count-open\">open: 12"));
	reply_free(&r);
	request(&cw, "GET", "/queue?assigned=me", cookie, NULL, &r);
	cr_assert_not_null(strstr(r.body, "0 alert(s) match"));
	reply_free(&r);
	request(&cw, "GET", "/queue?severity=bogus", cookie, NULL, &r);
	cr_assert_eq(r.status, 400);
	reply_free(&r);
	/* bulk claim of the selected alerts */
	cr_assert_eq(post(&cw, cookie, "/queue/claim",
	                  "id=theft-Q00-20260301&id=theft-Q01-20260301", 1, NULL), 303);
	char row[256];
	sqlf(&cw, row, sizeof(row), "select string_agg(alert_id || ':' || analyst, ' ' order by"
	     " alert_id) from risk.alerts where status = 'in_review'");
	cr_assert_str_eq(row, "theft-Q00-20260301:console_alice theft-Q01-20260301:console_alice");
	request(&cw, "GET", "/queue?assigned=me", cookie, NULL, &r);
	cr_assert_not_null(strstr(r.body, "2 alert(s) match"));
	cr_assert_not_null(strstr(r.body, "id=\"count-mine\">assigned to me: 2"));
	reply_free(&r);
	request(&cw, "GET", "/queue.csv?rule=drop", cookie, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(strstr(r.headers, "text/csv"));
	int lines = 0;
	for (const char *c = r.body; *c; c++)
		lines += *c == '\n';
	cr_assert_eq(lines, 13, "a header and 12 alerts:\n%s", r.body);
	reply_free(&r);
	console_down(&cw);
}

/*
 * A request that waits in the database (a claim on a row another transaction has locked)
 * holds one thread and one of its session's connections: the same analyst's next page and
 * another analyst's are served meanwhile.
 */
Test(console, a_waiting_request_holds_up_no_one_else, .timeout = 120)
{
	struct console_world cw;
	char alice[256], bob[256], alert[128], path[256], form[256], csrf[128];
	struct reply r;
	console_up(&cw, "console_threads");
	raise_alert(&cw, "T1", "Consumption dropped", alert, sizeof(alert));
	cr_assert_eq(login(&cw, "console_alice", ANALYST_PASSWORD, alice, sizeof(alice)), 303);
	cr_assert_eq(login(&cw, "console_bob", ANALYST_PASSWORD, bob, sizeof(bob)), 303);
	request(&cw, "GET", "/queue", alice, NULL, &r);
	csrf_of(r.body, csrf, sizeof(csrf));
	reply_free(&r);

	PGconn *locker = PQconnectdb(cw.w.dsn);
	cr_assert_eq(PQstatus(locker), CONNECTION_OK);
	char sql[300];
	snprintf(sql, sizeof(sql), "begin; select 1 from risk.alerts where alert_id = '%s' for update",
	         alert);
	PQclear(PQexec(locker, sql));
	snprintf(path, sizeof(path), "/alerts/%s/claim", alert);
	snprintf(form, sizeof(form), "csrf=%s", csrf);
	int claim = request_send(&cw, "POST", path, alice, form);
	int waiting = 0;
	for (int i = 0; i < 100 && !waiting; i++, usleep(50 * 1000))
		waiting = e2e_query_int(cw.w.dsn, "select count(*) from pg_stat_activity where"
		                                  " usename = 'console_alice' and wait_event_type = 'Lock'");
	cr_assert_eq(waiting, 1, "alice's claim waits for the row lock");

	request(&cw, "GET", "/queue", alice, NULL, &r);
	cr_assert_eq(r.status, 200, "alice's next page, on her session's other connection");
	reply_free(&r);
	request(&cw, "GET", "/queue", bob, NULL, &r);
	cr_assert_eq(r.status, 200, "bob's page");
	reply_free(&r);
	cr_assert_eq(e2e_query_int(cw.w.dsn, "select count(*) from pg_stat_activity where"
	                                     " usename = 'console_alice' and wait_event_type = 'Lock'"),
	             1, "the claim was still waiting while both pages were served");

	PQclear(PQexec(locker, "commit"));
	PQfinish(locker);
	request_read(claim, "the claim", &r);
	cr_assert_eq(r.status, 303, "the claim went through once the lock was gone");
	reply_free(&r);
	snprintf(sql, sizeof(sql), "select count(*) from risk.alerts where alert_id = '%s'"
	         " and analyst = 'console_alice'", alert);
	cr_assert_eq(e2e_query_int(cw.w.dsn, sql), 1);
	console_down(&cw);
}

Test(console, markup_in_the_data_renders_inert, .timeout = 120)
{
	struct console_world cw;
	char cookie[256], id[256], path[1024];
	struct reply r;
	console_up(&cw, "console_inert");
	raise_alert(&cw, "<script>alert(1)</script>';drop table risk.alerts;--",
	            "<img src=x onerror=alert(2)>", id, sizeof(id));
	cr_assert_eq(login(&cw, "console_alice", ANALYST_PASSWORD, cookie, sizeof(cookie)), 303);
	request(&cw, "GET", "/queue", cookie, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_null(strstr(r.body, "<script>"));
	cr_assert_not_null(strstr(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	reply_free(&r);
	/* the id travels percent-encoded */
	size_t n = (size_t)snprintf(path, sizeof(path), "/alerts/");
	for (const char *c = id; *c; c++)
		n += (size_t)snprintf(path + n, sizeof(path) - n, "%%%02X", (unsigned char)*c);
	request(&cw, "GET", path, cookie, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_null(strstr(r.body, "<script>"));
	cr_assert_null(strstr(r.body, "<img src=x"));
	cr_assert_not_null(strstr(r.body, "&lt;img src=x onerror=alert(2)&gt;"));
	reply_free(&r);
	cr_assert_eq(e2e_query_int(cw.w.dsn, "select count(*) from risk.alerts"), 1);
	console_down(&cw);
}

Test(console, an_idle_session_expires, .timeout = 120)
{
	struct console_world cw;
	char cookie[256];
	struct reply r;
	console_up(&cw, "console_idle");
	cr_assert_eq(login(&cw, "console_alice", ANALYST_PASSWORD, cookie, sizeof(cookie)), 303);
	sleep(11); /* session_idle_s: 10 */
	request(&cw, "GET", "/queue", cookie, NULL, &r);
	cr_assert_eq(r.status, 303, "an idle session ends");
	cr_assert_not_null(strstr(r.headers, "Location: /login"));
	reply_free(&r);
	console_down(&cw);
}

Test(console, serves_https_with_secure_cookies, .timeout = 120)
{
	struct console_world cw;
	char dir[] = "/tmp/riskd-console-tls.XXXXXX", extra[2600], out[8192];
	cr_assert_not_null(mkdtemp(dir));
	e2e_sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "
	       "/CN=localhost -addext subjectAltName=DNS:localhost -keyout '%s/key.pem' "
	       "-out '%s/cert.pem' 2>/dev/null", dir, dir);
	snprintf(extra, sizeof(extra), "  tls_cert: \"%s/cert.pem\"\n  tls_key: \"%s/key.pem\"\n",
	         dir, dir);
	console_up_with(&cw, "console_tls", extra);
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "for i in $(seq 100); do curl -sf --cacert '%s/cert.pem' "
	         "https://localhost:%d/healthz >/dev/null && break; sleep 0.05; done; "
	         "curl -s -D - -o /dev/null --cacert '%s/cert.pem' https://localhost:%d/login",
	         dir, cw.port, dir, cw.port);
	FILE *p = popen(cmd, "r");
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	cr_assert_not_null(strstr(out, "HTTP/1.1 200"), "%s", out);
	cr_assert_not_null(strstr(out, "HttpOnly; SameSite=Strict; Secure"), "%s", out);
	cr_assert_not_null(strstr(out, "Strict-Transport-Security: max-age="), "%s", out);
	console_down(&cw);
	e2e_sh("rm -r '%s'", dir);
}
