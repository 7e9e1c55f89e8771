/*
 * console_pages.h - the analyst console's screens as server-rendered HTML (and the queue as
 * CSV): login, queue, alert, customer and message pages.
 *
 * Pages load one stylesheet (/console.css) from the console itself and run no script; every
 * value from the database or the request is escaped (alert_view.h), and every link built
 * from data is percent-encoded. Each writer produces one whole document on out.
 */
#ifndef RISKD_CONSOLE_PAGES_H
#define RISKD_CONSOLE_PAGES_H

#include <stdio.h>

#include <jansson.h>

#include "../detector/store_console.h"
#include "console_session.h"

#define CONSOLE_PAGE_SIZE_MAX 500

/* The queue as the request asked for it. */
struct console_queue_view {
	struct console_queue_filter filter;
	const char *sort; /* "score" or "age" */
	int page;         /* 1.. */
	int per_page;     /* 1..CONSOLE_PAGE_SIZE_MAX */
};

/* Writes the console's stylesheet (served as /console.css). */
void console_write_css(FILE *out);

/* The login form (fields username, password, csrf); message (may be NULL) says why the last
 * attempt failed. */
void console_page_login(FILE *out, const char *csrf, const char *message);

/* The queue page of result (console_queue's) for view. */
void console_page_queue(FILE *out, const struct console_session *s,
                        const struct console_queue_view *view, const json_t *result);

/* The queue rows of result as CSV (a header line, one line per alert; cells that a
 * spreadsheet would read as a formula are prefixed with '). */
void console_queue_csv(FILE *out, const json_t *result);

/* The alert page: review_show's detail, console_alert_context's context, the actions the
 * analyst may take, and message (may be NULL) about the last action. */
void console_page_alert(FILE *out, const struct console_session *s, const json_t *detail,
                        const json_t *context, const char *message);

/* The customer page of console_customer's result. */
void console_page_customer(FILE *out, const struct console_session *s, const json_t *customer);

/* A page with a title and one message (errors, refusals); s may be NULL. */
void console_page_message(FILE *out, const struct console_session *s, const char *title,
                          const char *message);

#endif
