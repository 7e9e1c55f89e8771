/*
 * console_pages.c - the console's screens. See console_pages.h.
 *
 * The alert page reuses alert_view's pieces (facts, the curve chart, evidence, audit
 * summaries), so the console and `riskctl alerts show --html` read the same.
 */
#include "console_pages.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "alert_view.h"
#include "console_hourly.h"

static const char *const console_style =
    "nav{display:flex;gap:16px;align-items:center;border-bottom:1px solid #dadce0;"
    "padding-bottom:8px;margin-bottom:16px}nav .who{margin-left:auto;color:#5f6368}"
    "nav form{display:inline;margin:0}"
    "a{color:#1a73e8}button{font:inherit;padding:3px 10px;cursor:pointer}"
    "body{max-width:1320px}table.queue{table-layout:fixed}table.queue td{overflow:hidden}"
    "table.queue th:nth-child(1){width:24px}table.queue th:nth-child(2){width:300px}"
    "table.queue th:nth-child(3){width:120px}table.queue th:nth-child(4){width:170px}"
    "table.queue th:nth-child(6){width:270px}"
    ".id{font-family:ui-monospace,Menlo,monospace;white-space:nowrap;overflow:hidden;"
    "text-overflow:ellipsis;display:block}.rules{overflow-wrap:anywhere}"
    "form.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:end;margin:8px 0}"
    "form.filters label{display:flex;flex-direction:column;font-size:12px;color:#5f6368}"
    "form.filters input{width:110px}"
    ".counts a{margin-right:14px}.msg{padding:8px 12px;background:#fce8e6;"
    "border-left:4px solid #d93025;margin:8px 0}.ok{background:#e6f4ea;border-color:#1e8e3e}"
    ".actions form{display:inline-block;margin:4px 12px 4px 0;vertical-align:top}"
    ".actions textarea{width:320px;height:48px;display:block}"
    ".pager a,.pager span{margin-right:12px}.login{max-width:360px}"
    ".login label{display:block;margin:8px 0}.login input{width:100%}"
    ".hourly .hcell{fill:#1a73e8}.hourly .hnone{fill:#fff;stroke:#bdc1c6;"
    "stroke-dasharray:2 2}.hourly text{font-size:11px;fill:#5f6368}"
    ".hourly .hl{text-anchor:end}.hourly .firing{fill:#d93025;font-weight:bold}"
    "@media print{nav,.actions,form,.pager{display:none}}";

void console_write_css(FILE *out)
{
	fputs(view_style, out);
	fputs(console_style, out);
}

/* Writes s percent-encoded for a URL path segment or query value (only unreserved bytes
 * stay as they are, so the result is also safe in HTML). */
static void url_put(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~')
			fputc(c, out);
		else
			fprintf(out, "%%%02X", c);
	}
}

/* <a href="/alerts/ID"> (or /customers/ID) with text as the link text. */
static void link_to(FILE *out, const char *kind, const char *id, const char *cls, const char *text)
{
	fprintf(out, "<a href=\"/%s/", kind);
	url_put(out, id);
	fputs("\"", out);
	if (cls) {
		fprintf(out, " class=\"%s\" title=\"", cls);
		view_html(out, id);
		fputs("\"", out);
	}
	fputs(">", out);
	view_html(out, text ? text : id);
	fputs("</a>", out);
}

/* A hidden csrf field with the session's token. */
static void csrf_field(FILE *out, const struct console_session *s)
{
	fprintf(out, "<input type=\"hidden\" name=\"csrf\" value=\"%s\"/>", s->csrf);
}

static void page_begin(FILE *out, const struct console_session *s, const char *title)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
	      "<link rel=\"stylesheet\" href=\"/console.css\"/>\n"
	      "<link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\"/>\n<title>", out);
	view_html(out, title);
	fputs(" - riskd console</title>\n</head>\n<body>\n", out);
	if (!s)
		return;
	fputs("<nav><a href=\"/queue\">Queue</a><a href=\"/queue?assigned=me&amp;status=in_review\">"
	      "My inbox</a><span class=\"who\">", out);
	view_html(out, s->user);
	fputs(s->is_lead ? " (lead)" : "", out);
	fputs("</span><form method=\"post\" action=\"/logout\">", out);
	csrf_field(out, s);
	fputs("<button type=\"submit\">Log out</button></form></nav>\n", out);
}

static void page_end(FILE *out)
{
	fputs("</body>\n</html>\n", out);
}

static void message_box(FILE *out, const char *message)
{
	if (!message || !*message)
		return;
	fprintf(out, "<p class=\"msg%s\" id=\"message\">", strncmp(message, "done:", 5) == 0 ? " ok" : "");
	view_html(out, message);
	fputs("</p>\n", out);
}

void console_page_message(FILE *out, const struct console_session *s, const char *title,
                          const char *message)
{
	page_begin(out, s, title);
	fputs("<h1>", out);
	view_html(out, title);
	fputs("</h1>\n", out);
	message_box(out, message);
	page_end(out);
}

void console_page_login(FILE *out, const char *csrf, const char *message)
{
	page_begin(out, NULL, "Log in");
	fputs("<div class=\"login\"><h1>riskd analyst console</h1>\n", out);
	message_box(out, message);
	fputs("<form method=\"post\" action=\"/login\">\n"
	      "<label>Database user name<input name=\"username\" autocomplete=\"username\" "
	      "required=\"required\"/></label>\n"
	      "<label>Password<input name=\"password\" type=\"password\" "
	      "autocomplete=\"current-password\" required=\"required\"/></label>\n", out);
	fprintf(out, "<input type=\"hidden\" name=\"csrf\" value=\"%s\"/>\n", csrf);
	fputs("<button type=\"submit\">Log in</button>\n</form>\n<p class=\"muted\">Log in with "
	      "your own PostgreSQL login role (a member of risk_analyst); everything you do is "
	      "recorded as that role.</p></div>\n", out);
	page_end(out);
}

/* ---- queue ---- */

/* One query parameter "&name=value" when value is set. */
static void query_param(FILE *out, const char *name, const char *value, int *first)
{
	if (!value || !*value)
		return;
	fputs(*first ? "?" : "&amp;", out);
	*first = 0;
	fprintf(out, "%s=", name);
	url_put(out, value);
}

/* The queue URL of view with sort and page replaced (NULL/0: as in view). */
static void queue_url(FILE *out, const char *path, const struct console_queue_view *v,
                      const char *sort, int page)
{
	const struct console_queue_filter *f = &v->filter;
	char age[16] = "", pg[16] = "", per[16] = "";
	int first = 1;
	if (f->min_age_days)
		snprintf(age, sizeof(age), "%d", f->min_age_days);
	if ((page ? page : v->page) > 1)
		snprintf(pg, sizeof(pg), "%d", page ? page : v->page);
	if (v->per_page != 50)
		snprintf(per, sizeof(per), "%d", v->per_page);
	fputs(path, out);
	query_param(out, "status", f->status, &first);
	query_param(out, "kind", f->kind, &first);
	query_param(out, "severity", f->severity, &first);
	query_param(out, "rule", f->rule, &first);
	query_param(out, "area", f->area, &first);
	query_param(out, "segment", f->segment, &first);
	query_param(out, "assigned", f->assigned, &first);
	query_param(out, "age", age, &first);
	query_param(out, "sort", sort ? sort : v->sort, &first);
	query_param(out, "page", pg, &first);
	query_param(out, "per", per, &first);
}

/* A select of filter name with choices (first: "" = any). */
static void filter_select(FILE *out, const char *label, const char *name, const char *value,
                          const char *const *choices)
{
	fprintf(out, "<label>%s<select name=\"%s\">", label, name);
	for (const char *const *c = choices; *c; c++) {
		fputs("<option value=\"", out);
		view_html(out, *c);
		fputs("\"", out);
		if ((value ? value : "")[0] == (*c)[0] && strcmp(value ? value : "", *c) == 0)
			fputs(" selected=\"selected\"", out);
		fputs(">", out);
		view_html(out, **c ? *c : "any");
		fputs("</option>", out);
	}
	fputs("</select></label>\n", out);
}

static void filter_input(FILE *out, const char *label, const char *name, const char *value)
{
	fprintf(out, "<label>%s<input name=\"%s\" value=\"", label, name);
	view_html(out, value);
	fputs("\"/></label>\n", out);
}

static void queue_filters(FILE *out, const struct console_queue_view *v)
{
	static const char *const statuses[] = {"", "open", "in_review", "closed", "all", NULL};
	static const char *const severities[] = {"", "low", "medium", "high", "critical", NULL};
	static const char *const assigned[] = {"", "me", "anyone", "none", NULL};
	static const char *const sorts[] = {"score", "age", NULL};
	const struct console_queue_filter *f = &v->filter;
	char age[16] = "";
	if (f->min_age_days)
		snprintf(age, sizeof(age), "%d", f->min_age_days);
	fputs("<form class=\"filters\" method=\"get\" action=\"/queue\">\n", out);
	filter_select(out, "Status", "status", f->status, statuses);
	filter_input(out, "Kind", "kind", f->kind);
	filter_select(out, "Severity", "severity", f->severity, severities);
	filter_input(out, "Rule", "rule", f->rule);
	filter_input(out, "Area", "area", f->area);
	filter_input(out, "Segment", "segment", f->segment);
	filter_select(out, "Assigned", "assigned", f->assigned, assigned);
	filter_input(out, "Older than (days)", "age", age);
	filter_select(out, "Sort", "sort", v->sort, sorts);
	fputs("<button type=\"submit\">Filter</button> <a href=\"/queue\">Reset</a></form>\n", out);
}

static void queue_row(FILE *out, const json_t *r)
{
	char age[32], rules[1024];
	size_t i;
	json_t *id;
	view_duration(view_num(r, "age_s"), age, sizeof(age));
	rules[0] = '\0';
	json_array_foreach(json_object_get(r, "rule_ids"), i, id) {
		size_t len = strlen(rules);
		snprintf(rules + len, sizeof(rules) - len, "%s%s", len ? ", " : "",
		         view_nz(json_string_value(id)));
	}
	fputs("<tr><td><input type=\"checkbox\" form=\"bulk\" name=\"id\" value=\"", out);
	view_html(out, view_str(r, "alert_id"));
	fputs("\"/></td><td>", out);
	link_to(out, "alerts", view_nz(view_str(r, "alert_id")), "id", NULL);
	fputs("<span class=\"muted\">customer ", out);
	link_to(out, "customers", view_nz(view_str(r, "customer_id")), "id", NULL);
	fputs("area ", out);
	view_html(out, view_nz(view_str(r, "transformer_id")));
	fputs(", ", out);
	view_html(out, view_nz(view_str(r, "segment")));
	fputs("</span></td><td class=\"num\">", out);
	view_htmlf(out, "%g", view_num(r, "score"));
	view_badge(out, "sev-", view_str(r, "severity"));
	fputs("</td><td>", out);
	view_badge(out, "st-", view_str(r, "status"));
	if (json_is_true(json_object_get(r, "approval_pending")))
		fputs(" <span class=\"badge\">awaiting approval</span>", out);
	fputs("<br/><span class=\"muted\">", out);
	view_htmlf(out, "%s, age %s", view_str(r, "analyst") ? view_str(r, "analyst") : "unclaimed",
	           age);
	fputs("</span></td><td class=\"rules\">", out);
	view_html(out, rules);
	fputs("</td><td>", out);
	view_queue_sparkline(out, r);
	fputs("</td></tr>\n", out);
}

void console_page_queue(FILE *out, const struct console_session *s,
                        const struct console_queue_view *view, const json_t *result)
{
	const json_t *counts = json_object_get(result, "counts");
	const json_t *rows = json_object_get(result, "rows");
	long long total = json_integer_value(json_object_get(result, "total"));
	long long pages = total > 0 ? (total + view->per_page - 1) / view->per_page : 1;
	size_t i;
	json_t *r;

	page_begin(out, s, "Queue");
	fputs("<h1>Review queue</h1>\n<p class=\"counts\">", out);
	static const char *const st[] = {"open", "in_review", "closed"};
	for (int k = 0; k < 3; k++)
		fprintf(out, "<a href=\"/queue?status=%s\" id=\"count-%s\">%s: %lld</a>", st[k], st[k],
		        st[k], (long long)json_integer_value(json_object_get(counts, st[k])));
	fprintf(out, "<a href=\"/queue?assigned=me&amp;status=in_review\" id=\"count-mine\">assigned "
	             "to me: %lld</a></p>\n",
	        (long long)json_integer_value(json_object_get(result, "mine")));
	queue_filters(out, view);
	fprintf(out, "<p class=\"muted\" id=\"total\">%lld alert(s) match; page %d of %lld. ", total,
	        view->page, pages);
	fputs("<a href=\"", out);
	queue_url(out, "/queue.csv", view, NULL, 0);
	fputs("\">Download as CSV</a></p>\n", out);
	if (s->is_lead) {
		fputs("<form id=\"bulk\" method=\"post\" action=\"/queue/assign\">", out);
		csrf_field(out, s);
		fputs("Selected: <label>assign to <input name=\"to\"/></label> <button type=\"submit\">"
		      "Assign</button></form>\n", out);
	} else {
		fputs("<form id=\"bulk\" method=\"post\" action=\"/queue/claim\">", out);
		csrf_field(out, s);
		fputs("<button type=\"submit\">Claim selected</button></form>\n", out);
	}
	fputs("<table class=\"queue\" id=\"queue\">\n<tr><th></th><th>Alert</th><th class=\"num\"><a href=\"", out);
	queue_url(out, "/queue", view, "score", 1);
	fputs("\">Score</a></th><th><a href=\"", out);
	queue_url(out, "/queue", view, "age", 1);
	fputs("\">Status, age</a></th><th>Rules</th><th>Energy, 60 days</th></tr>\n", out);
	json_array_foreach(rows, i, r)
		queue_row(out, r);
	fputs("</table>\n<p class=\"pager\">", out);
	if (view->page > 1) {
		fputs("<a rel=\"prev\" href=\"", out);
		queue_url(out, "/queue", view, NULL, view->page - 1);
		fputs("\">Previous</a>", out);
	}
	if (view->page < pages) {
		fputs("<a rel=\"next\" href=\"", out);
		queue_url(out, "/queue", view, NULL, view->page + 1);
		fputs("\">Next</a>", out);
	}
	fputs("</p>\n", out);
	page_end(out);
}

/* One CSV cell: quoted, quotes doubled, a leading = + - @ tab or CR defused with '. */
static void csv_cell(FILE *out, const char *s, int last)
{
	fputc('"', out);
	if (s && strchr("=+-@\t\r", s[0]) && s[0])
		fputc('\'', out);
	for (; s && *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputs(last ? "\"\r\n" : "\",", out);
}

void console_queue_csv(FILE *out, const json_t *result)
{
	static const char *const cols[] = {"alert_id", "customer_id", "kind", "status", "analyst",
	                                   "score", "severity", "rules", "first_day", "last_day",
	                                   "firings", "opened_at", "segment", "transformer_id",
	                                   "disposition"};
	const size_t n = sizeof(cols) / sizeof(cols[0]);
	size_t i;
	json_t *r;
	for (size_t c = 0; c < n; c++)
		csv_cell(out, cols[c], c + 1 == n);
	json_array_foreach(json_object_get(result, "rows"), i, r) {
		for (size_t c = 0; c < n; c++) {
			char text[1024];
			const json_t *v = json_object_get(r, cols[c]);
			if (strcmp(cols[c], "rules") == 0)
				view_join(json_object_get(r, "rule_ids"), text, sizeof(text));
			else if (json_is_null(v) || !v)
				text[0] = '\0';
			else
				view_value(v, text, sizeof(text));
			csv_cell(out, text, c + 1 == n);
		}
	}
}

/* ---- alert ---- */

/* A POST form to /alerts/ID/action with a submit button and optional extra fields. */
static void action_begin(FILE *out, const struct console_session *s, const char *alert_id,
                         const char *action)
{
	fputs("<form method=\"post\" action=\"/alerts/", out);
	url_put(out, alert_id);
	fprintf(out, "/%s\" id=\"form-%s\">", action, action);
	csrf_field(out, s);
}

static void action_end(FILE *out, const char *label)
{
	fprintf(out, "<button type=\"submit\">%s</button></form>\n", label);
}

static void alert_actions(FILE *out, const struct console_session *s, const json_t *a,
                          const json_t *context)
{
	const char *id = view_nz(view_str(a, "alert_id"));
	const char *status = view_nz(view_str(a, "status"));
	const char *holder = view_str(a, "analyst");
	const json_t *approval = json_object_get(context, "approval");
	int mine = holder && strcmp(holder, s->user) == 0;

	fputs("<h2>Actions</h2>\n<div class=\"actions\">\n", out);
	if (json_is_object(approval)) {
		fputs("<p class=\"msg\" id=\"approval\">Resolved as confirmed_theft by ", out);
		view_html(out, view_str(approval, "proposed_by"));
		fputs(" with the note \"", out);
		view_html(out, view_str(approval, "note"));
		fputs("\"; it takes effect when a second analyst approves it.</p>\n", out);
	}
	if (json_is_object(approval) &&
	    strcmp(view_nz(view_str(approval, "proposed_by")), s->user) != 0) {
		action_begin(out, s, id, "approve");
		fputs("<textarea name=\"note\" placeholder=\"approval note (optional)\"></textarea>", out);
		action_end(out, "Approve confirmed theft");
	}
	if (strcmp(status, "open") == 0) {
		action_begin(out, s, id, "claim");
		action_end(out, "Claim");
	}
	if (strcmp(status, "in_review") == 0 && (mine || s->is_lead)) {
		action_begin(out, s, id, "unclaim");
		action_end(out, "Unclaim (back to the queue)");
		action_begin(out, s, id, "resolve");
		fputs("<select name=\"disposition\"><option>confirmed_theft</option>"
		      "<option>meter_fault</option><option>billing_error</option>"
		      "<option>false_positive</option><option>no_access</option></select>"
		      "<textarea name=\"note\" placeholder=\"note (required)\"></textarea>", out);
		action_end(out, "Resolve");
	}
	if (strcmp(status, "closed") != 0 && s->is_lead) {
		action_begin(out, s, id, "assign");
		fputs("<input name=\"to\" placeholder=\"analyst login\"/>", out);
		action_end(out, "Assign");
	}
	if (strcmp(status, "closed") == 0) {
		action_begin(out, s, id, "reopen");
		fputs("<textarea name=\"note\" placeholder=\"why (optional)\"></textarea>", out);
		action_end(out, "Reopen");
	}
	action_begin(out, s, id, "comment");
	fputs("<textarea name=\"note\" placeholder=\"comment\"></textarea>", out);
	action_end(out, "Comment");
	fputs("</div>\n", out);
}

/* The customer's other alerts, payment status and grade history (alert and customer pages). */
static void customer_context(FILE *out, const json_t *context, const char *skip_alert)
{
	size_t i;
	json_t *v;
	char text[512];
	const json_t *credit = json_object_get(context, "credit");

	fputs("<h2>Alerts of this customer</h2>\n<table id=\"customer-alerts\">\n<tr><th>Alert</th>"
	      "<th>Status</th><th class=\"num\">Score</th><th>Days</th><th>Analyst</th>"
	      "<th>Disposition</th></tr>\n", out);
	json_array_foreach(json_object_get(context, "alerts"), i, v) {
		const char *id = view_nz(view_str(v, "alert_id"));
		if (skip_alert && strcmp(id, skip_alert) == 0)
			continue;
		fputs("<tr><td>", out);
		link_to(out, "alerts", id, "id", NULL);
		fputs("</td><td>", out);
		view_badge(out, "st-", view_str(v, "status"));
		fputs("</td><td class=\"num\">", out);
		view_htmlf(out, "%g", view_num(v, "score"));
		fputs("</td><td>", out);
		view_htmlf(out, "%s .. %s", view_nz(view_str(v, "first_day")),
		           view_nz(view_str(v, "last_day")));
		fputs("</td><td>", out);
		view_html(out, view_str(v, "analyst") ? view_str(v, "analyst") : "-");
		fputs("</td><td>", out);
		view_html(out, view_str(v, "disposition") ? view_str(v, "disposition") : "-");
		if (view_str(v, "note")) {
			fputs(": ", out);
			view_html(out, view_str(v, "note"));
		}
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n<h2>Payment status</h2>\n", out);
	if (json_is_object(credit)) {
		view_value(json_object_get(credit, "arrears_amount"), text, sizeof(text));
		fputs("<table class=\"facts\">", out);
		view_fact(out, "Arrears", text);
		view_value(json_object_get(credit, "days_past_due"), text, sizeof(text));
		view_fact(out, "Days past due", text);
		view_value(json_object_get(credit, "balance_owed"), text, sizeof(text));
		view_fact(out, "Balance owed", text);
		view_fact(out, "Last payment", view_str(credit, "last_payment"));
		view_fact(out, "As of", view_str(credit, "as_of"));
		fputs("</table>\n", out);
	} else {
		fputs("<p class=\"muted\">No billing figures yet.</p>\n", out);
	}
	fputs("<h2>Credit grade history</h2>\n", out);
	if (json_array_size(json_object_get(context, "grade_history")) == 0)
		fputs("<p class=\"muted\">Not graded yet.</p>\n", out);
	else
		fputs("<table><tr><th>As of</th><th>Grade</th><th class=\"num\">Points</th>"
		      "<th>Capped</th><th>Policy</th></tr>\n", out);
	json_array_foreach(json_object_get(context, "grade_history"), i, v) {
		fputs("<tr><td>", out);
		view_html(out, view_str(v, "as_of"));
		fputs("</td><td>", out);
		view_html(out, view_str(v, "grade"));
		fputs("</td><td class=\"num\">", out);
		view_htmlf(out, "%.1f", view_num(v, "points"));
		fputs("</td><td>", out);
		fputs(json_is_true(json_object_get(v, "capped")) ? "yes" : "no", out);
		fputs("</td><td>", out);
		view_html(out, view_str(v, "policy"));
		fputs("</td></tr>\n", out);
	}
	if (json_array_size(json_object_get(context, "grade_history")))
		fputs("</table>\n", out);
}

/* The area's balance (loss rate against its normal loss) over the same days as the
 * customer's curve, shaded over the alert's firing span. */
static void area_chart(FILE *out, const json_t *a, const json_t *context)
{
	struct view_curve cv;
	view_curve_load(&cv, json_object_get(context, "area_balance"));
	cv.axis = "area loss %";
	cv.series = "area loss rate";
	cv.value_unit = "%";
	view_curve_span(&cv, view_str(a, "first_day"), view_str(a, "last_day"));
	fputs("<h2>The area's balance over the same days</h2>\n", out);
	if (cv.n == 0) {
		fputs("<p class=\"muted\" id=\"area-balance\">No balanced day for the customer's area "
		      "in these days.</p>\n", out);
		return;
	}
	view_curve_svg(out, &cv, "Loss rate of the customer's area against its normal loss", 0);
	fputs("<p class=\"muted\" id=\"area-balance\">Energy the area's transformer delivered and "
	      "its customers' meters did not record, in % of the transformer's energy; dashed: the "
	      "area's normal (technical) loss.</p>\n", out);
}

void console_page_alert(FILE *out, const struct console_session *s, const json_t *detail,
                        const json_t *context, const char *message)
{
	const json_t *a = json_object_get(detail, "alert");
	char title[512];

	snprintf(title, sizeof(title), "Alert %s", view_nz(view_str(a, "alert_id")));
	page_begin(out, s, title);
	message_box(out, message);
	view_alert_heading(out, detail);
	fputs("<p><a href=\"/queue\">Back to the queue</a> &middot; customer ", out);
	link_to(out, "customers", view_nz(view_str(a, "customer_id")), NULL, NULL);
	fputs("</p>\n", out);
	view_alert_facts(out, detail);
	alert_actions(out, s, a, context);
	view_alert_evidence(out, detail);
	console_hourly_section(out, a, context);
	area_chart(out, a, context);
	view_alert_history(out, detail);
	customer_context(out, context, view_str(a, "alert_id"));
	page_end(out);
}

void console_page_customer(FILE *out, const struct console_session *s, const json_t *customer)
{
	const json_t *c = json_object_get(customer, "customer");
	const json_t *grade = json_object_get(customer, "grade");
	const json_t *area = json_object_get(customer, "area");
	char title[256], text[256];

	snprintf(title, sizeof(title), "Customer %s", view_nz(view_str(customer, "customer_id")));
	page_begin(out, s, title);
	fputs("<h1>Customer <code id=\"customer-id\">", out);
	view_html(out, view_str(customer, "customer_id"));
	fputs("</code></h1>\n<p><a href=\"/queue\">Back to the queue</a></p>\n"
	      "<table class=\"facts\">\n", out);
	view_fact(out, "Segment", view_str(c, "segment"));
	view_fact(out, "Area (transformer)", view_str(c, "transformer_id"));
	view_fact(out, "Tariff", view_str(c, "tariff"));
	view_value(json_object_get(c, "capacity_kw"), text, sizeof(text));
	view_fact(out, "Capacity (kW)", json_is_object(c) ? text : NULL);
	view_fact(out, "Customer since", view_str(c, "since"));
	if (json_is_object(grade))
		snprintf(text, sizeof(text), "%s (%.1f points, %s%s)", view_nz(view_str(grade, "grade")),
		         view_num(grade, "points"), view_nz(view_str(grade, "scorecard")),
		         json_is_true(json_object_get(grade, "capped")) ? ", capped" : "");
	else
		snprintf(text, sizeof(text), "not graded yet");
	view_fact(out, "Credit grade", text);
	if (json_is_object(area) && isfinite(view_num(area, "loss_rate")))
		snprintf(text, sizeof(text), "%.1f%% on %s", 100 * view_num(area, "loss_rate"),
		         view_nz(view_str(area, "day")));
	else
		snprintf(text, sizeof(text), "no balanced day yet");
	view_fact(out, "Area loss rate", text);
	fputs("</table>\n", out);
	customer_context(out, customer, NULL);
	page_end(out);
}
