/*
 * alert_view.c - how an alert reads for a person, shared by riskctl's pages (`alerts show`,
 * `alerts report`) and the analyst console: JSON field access, durations and times, the
 * 60-day curve as an inline SVG chart, the facts table, rule evidence and one-line summaries
 * of audit rows and suppressions. See alert_view.h.
 */
#include "alert_view.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- JSON access ---- */

/* s, or "?" for a missing value (never hand NULL to printf). */
const char *view_nz(const char *s)
{
	return s ? s : "?";
}

const char *view_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* The number at key, or NAN when absent or not a number. */
double view_num(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

void view_duration(double seconds, char *buf, size_t size)
{
	if (!isfinite(seconds) || seconds < 0) {
		snprintf(buf, size, "-");
		return;
	}
	long s = (long)seconds;
	if (s >= 86400)
		snprintf(buf, size, "%ldd %ldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, size, "%ldh %ldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, size, "%ldm", s / 60);
	else
		snprintf(buf, size, "%lds", s);
}

/* "2026-01-05T10:00:00.123+00:00" -> "2026-01-05 10:00 UTC" (other text unchanged). */
void view_time(const char *ts, char *buf, size_t size)
{
	if (!ts) {
		snprintf(buf, size, "-");
		return;
	}
	if (strlen(ts) >= 16 && ts[10] == 'T')
		snprintf(buf, size, "%.10s %.5s UTC", ts, ts + 11);
	else
		snprintf(buf, size, "%s", ts);
}

/* A JSON scalar as text: numbers to 4 significant digits, null as "missing". */
void view_value(const json_t *v, char *buf, size_t size)
{
	if (json_is_string(v))
		snprintf(buf, size, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, size, "%.4g", json_real_value(v));
	else if (json_is_true(v))
		snprintf(buf, size, "true");
	else if (json_is_false(v))
		snprintf(buf, size, "false");
	else
		snprintf(buf, size, "missing");
}

/* Comma-separated strings of a JSON array. */
void view_join(const json_t *arr, char *buf, size_t size)
{
	size_t i, len = 0;
	json_t *v;
	buf[0] = '\0';
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		if (!s)
			continue;
		int n = snprintf(buf + len, size - len, "%s%s", len ? "," : "", s);
		if (n < 0 || (size_t)n >= size - len)
			break;
		len += (size_t)n;
	}
}

/* ---- the curve: 60 days of energy against the baseline, with markers ---- */



void view_put_text(FILE *out, const char *s)
{
	if (!s)
		s = "-";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		fputc(c < 0x20 || c == 0x7f ? '?' : c, out);
	}
}

void view_put_cell(FILE *out, const char *s, int width)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s ? s : "-");
	int len = (int)strlen(buf);
	if (len > width) {
		buf[width > 1 ? width - 1 : 0] = '\0';
		view_put_text(out, buf);
		fputc(width > 1 ? '~' : ' ', out);
		return;
	}
	view_put_text(out, buf);
	for (; len < width; len++)
		fputc(' ', out);
}

static int curve_find(const struct view_curve *cv, const char *day)
{
	for (int i = 0; day && i < cv->n; i++)
		if (strncmp(cv->day[i], day, 10) == 0)
			return i;
	return -1;
}

static void curve_mark(struct view_curve *cv, const json_t *days, unsigned char *marks)
{
	size_t i;
	json_t *v;
	json_array_foreach(days, i, v) {
		int at = curve_find(cv, json_string_value(v));
		if (at >= 0)
			marks[at] = 1;
	}
}

/* Marks every day from first to last (YYYY-MM-DD strings compare as dates). */
void view_curve_span(struct view_curve *cv, const char *first, const char *last)
{
	for (int i = 0; first && last && i < cv->n; i++)
		if (strncmp(cv->day[i], first, 10) >= 0 && strncmp(cv->day[i], last, 10) <= 0)
			cv->fired[i] = 1;
}

/* The smallest 1, 2, 2.5 or 5 times a power of ten that is at least v (1 for v <= 0), so the
 * chart's axis reads in round numbers. */
static double nice_ceiling(double v)
{
	if (!(v > 0) || !isfinite(v))
		return 1.0;
	double p = pow(10, floor(log10(v)));
	const double steps[] = {1, 2, 2.5, 5, 10};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i] * p >= v * (1 - 1e-12))
			return steps[i] * p;
	return 10 * p;
}

void view_curve_load(struct view_curve *cv, const json_t *points)
{
	size_t i;
	json_t *p;
	memset(cv, 0, sizeof(*cv));
	cv->axis = "kWh per day";
	cv->series = "daily energy";
	cv->value_unit = "kWh";
	json_array_foreach(points, i, p) {
		if (cv->n == VIEW_CURVE_DAYS_MAX)
			break;
		snprintf(cv->day[cv->n], sizeof(cv->day[0]), "%.10s", view_str(p, "day") ? view_str(p, "day") : "");
		cv->kwh[cv->n] = view_num(p, "kwh");
		cv->baseline[cv->n] = view_num(p, "baseline");
		cv->n++;
	}
	cv->ymax = 0;
	for (int d = 0; d < cv->n; d++) {
		if (isfinite(cv->kwh[d]) && cv->kwh[d] > cv->ymax)
			cv->ymax = cv->kwh[d];
		if (isfinite(cv->baseline[d]) && cv->baseline[d] > cv->ymax)
			cv->ymax = cv->baseline[d];
	}
	cv->ymax = nice_ceiling(cv->ymax * 1.05);
}

/* ---- HTML ---- */

/* Writes s escaped for HTML/XML text and attribute values. Control characters (not allowed
 * in XML) become U+FFFD. */
void view_html(FILE *out, const char *s)
{
	if (!s)
		s = "";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default:
			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
				fputs("\xef\xbf\xbd", out);
			else
				fputc(c, out);
		}
	}
}

/* view_html of printf-formatted text. */
void view_htmlf(FILE *out, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	view_html(out, buf);
}

const char *const view_style =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;"
    "max-width:1040px;padding:0 16px;color:#202124}"
    "h1{font-size:21px;margin:0 0 12px}h2{font-size:16px;margin:28px 0 8px;"
    "border-bottom:1px solid #dadce0;padding-bottom:4px}"
    "table{border-collapse:collapse;width:100%}"
    "td,th{padding:4px 8px;text-align:left;vertical-align:top;border-bottom:1px solid #eee}"
    "th{background:#f1f3f4;font-weight:600}.num{text-align:right;"
    "font-variant-numeric:tabular-nums}table.facts th{width:190px;background:none;"
    "color:#5f6368;font-weight:normal}code{font-family:ui-monospace,Menlo,monospace}"
    ".badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;"
    "font-weight:600;vertical-align:middle;margin-left:6px;background:#e8eaed}"
    ".sev-critical{background:#b3261e;color:#fff}.sev-high{background:#f29900;color:#fff}"
    ".sev-medium{background:#fbbc04}.sev-low{background:#ceead6}"
    ".st-open{background:#d2e3fc}.st-in_review{background:#fde293}.st-closed{background:#e8eaed}"
    ".muted{color:#5f6368}.ev td{border:none;padding:0 12px 0 0}ul.tight{margin:0;padding-left:18px}"
    "svg{display:block;max-width:100%;height:auto}";

void view_badge(FILE *out, const char *cls_prefix, const char *value)
{
	fprintf(out, "<span class=\"badge %s", cls_prefix);
	view_html(out, value);
	fputs("\">", out);
	view_html(out, value);
	fputs("</span>", out);
}

/* One polyline per run of finite values of v. */
static void svg_series(FILE *out, const struct view_curve *cv, const double *v, double x0, double step,
                       double y0, double h, const char *attrs)
{
	int open = 0;
	for (int d = 0; d <= cv->n; d++) {
		int ok = d < cv->n && isfinite(v[d]);
		if (ok && !open) {
			fprintf(out, "<polyline %s points=\"", attrs);
			open = 1;
		} else if (!ok && open) {
			fputs("\"/>\n", out);
			open = 0;
		}
		if (ok) {
			double y = y0 + h * (1 - (v[d] < 0 ? 0 : v[d]) / cv->ymax);
			fprintf(out, "%.1f,%.1f ", x0 + step * (d + 0.5), y);
		}
	}
}

/*
 * The curve as an SVG chart: daily energy (line and points), the baseline (dashed), the days
 * a rule fired (shaded) and tamper events (triangles under the axis). small: a sparkline
 * without axes, labels or points, for the queue page.
 */
void view_curve_svg(FILE *out, const struct view_curve *cv, const char *label, int small)
{
	const double width = small ? 260 : 980, height = small ? 64 : 300;
	const double ml = small ? 2 : 64, mr = small ? 2 : 16, mt = small ? 4 : 14;
	const double mb = small ? 10 : 70;
	const double pw = width - ml - mr, ph = height - mt - mb;
	const double step = pw / (cv->n > 0 ? cv->n : 1);

	fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
	             "viewBox=\"0 0 %.0f %.0f\" role=\"img\" font-family=\"sans-serif\" "
	             "font-size=\"11\">\n<title>",
	        width, height, width, height);
	view_html(out, label);
	fputs("</title>\n", out);
	fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n",
	        width, height);
	for (int d = 0; d < cv->n; d++) {
		if (!cv->fired[d])
			continue;
		int end = d; /* one band per run of firing days */
		while (end + 1 < cv->n && cv->fired[end + 1])
			end++;
		fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
		             "fill=\"#f28b82\" fill-opacity=\"0.35\"><title>",
		        ml + step * d, mt, step * (end - d + 1), ph);
		view_html(out, small ? "alert span " : "a rule fired on ");
		view_html(out, cv->day[d]);
		if (end > d) {
			view_html(out, " .. ");
			view_html(out, cv->day[end]);
		}
		fputs("</title></rect>\n", out);
		d = end;
	}
	if (!small) {
		for (int g = 0; g <= 2; g++) {
			double y = mt + ph * (1 - g / 2.0);
			fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n"
			             "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#5f6368\">"
			             "%g</text>\n",
			        ml, y, ml + pw, y, g ? "#e8eaed" : "#9aa0a6", ml - 6, y + 4,
			        cv->ymax * g / 2.0);
		}
		fprintf(out, "<text x=\"14\" y=\"%.1f\" fill=\"#5f6368\" transform=\"rotate(-90 14 %.1f)\" "
		             "text-anchor=\"middle\">",
		        mt + ph / 2, mt + ph / 2);
		view_html(out, cv->axis);
		fputs("</text>\n", out);
	} else {
		fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9aa0a6\"/>\n",
		        ml, mt + ph, ml + pw, mt + ph);
	}
	svg_series(out, cv, cv->baseline, ml, step, mt, ph,
	           "fill=\"none\" stroke=\"#5f6368\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"");
	svg_series(out, cv, cv->kwh, ml, step, mt, ph,
	           small ? "fill=\"none\" stroke=\"#1a73e8\" stroke-width=\"1.5\""
	                 : "fill=\"none\" stroke=\"#1a73e8\" stroke-width=\"2\"");
	for (int d = 0; d < cv->n && !small; d++) {
		double x = ml + step * (d + 0.5);
		if (isfinite(cv->kwh[d])) {
			fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"#1a73e8\"><title>",
			        x, mt + ph * (1 - (cv->kwh[d] < 0 ? 0 : cv->kwh[d]) / cv->ymax));
			view_htmlf(out, "%s: %.2f %s", cv->day[d], cv->kwh[d], cv->value_unit);
			if (isfinite(cv->baseline[d]))
				view_htmlf(out, " (baseline %.2f)", cv->baseline[d]);
			fputs("</title></circle>\n", out);
		} else {
			fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"none\" "
			             "stroke=\"#9aa0a6\"><title>",
			        x, mt + ph);
			view_html(out, cv->day[d]);
			fputs(": no data</title></circle>\n", out);
		}
	}
	for (int d = 0; d < cv->n; d++)
		if (cv->tamper[d]) {
			double x = ml + step * (d + 0.5), y = mt + ph + (small ? 1 : 4);
			double s = small ? 4 : 6;
			fprintf(out, "<path d=\"M %.1f %.1f l %.1f %.1f l %.1f 0 z\" fill=\"#d93025\">",
			        x, y, -s, s * 1.5, 2 * s);
			fputs("<title>tamper event on ", out);
			view_html(out, cv->day[d]);
			fputs("</title></path>\n", out);
		}
	if (!small && cv->n > 0) {
		int marks[3] = {0, cv->n / 2, cv->n - 1};
		const char *anchor[3] = {"start", "middle", "end"};
		for (int k = 0; k < 3; k++) {
			fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" fill=\"#5f6368\">",
			        ml + step * (marks[k] + 0.5), mt + ph + 26, anchor[k]);
			view_html(out, cv->day[marks[k]]);
			fputs("</text>\n", out);
		}
		double ly = height - 16;
		fprintf(out,
		        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1a73e8\" "
		        "stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\">%s</text>\n"
		        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#5f6368\" "
		        "stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/><text x=\"%.1f\" y=\"%.1f\">"
		        "baseline</text>\n"
		        "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"10\" fill=\"#f28b82\" "
		        "fill-opacity=\"0.35\"/><text x=\"%.1f\" y=\"%.1f\">a rule fired</text>\n"
		        "<path d=\"M %.1f %.1f l -6 9 l 12 0 z\" fill=\"#d93025\"/><text x=\"%.1f\" "
		        "y=\"%.1f\">tamper event</text>\n",
		        ml, ly, ml + 24, ly, ml + 30, ly + 4, cv->series, ml + 130, ly, ml + 154, ly, ml + 160,
		        ly + 4, ml + 240, ly - 5, ml + 258, ly + 4, ml + 356, ly - 5, ml + 368, ly + 4);
	}
	if (cv->n == 0)
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#5f6368\">"
		             "no energy data</text>\n",
		        width / 2, height / 2);
	fputs("</svg>\n", out);
}

/* One row of the facts table; value escaped. */
void view_fact(FILE *out, const char *name, const char *value)
{
	fprintf(out, "<tr><th>%s</th><td>", name);
	view_html(out, value && *value ? value : "-");
	fputs("</td></tr>\n", out);
}

/* The evidence of one rule as an HTML list. */
void view_evidence(FILE *out, const json_t *evidence)
{
	const char *name;
	json_t *v;
	char value[256];
	fputs("<table class=\"ev\">", out);
	json_object_foreach((json_t *)evidence, name, v) {
		view_value(v, value, sizeof(value));
		fputs("<tr><td><code>", out);
		view_html(out, name);
		fputs("</code></td><td class=\"num\">", out);
		view_html(out, value);
		fputs("</td></tr>", out);
	}
	fputs("</table>", out);
}

/* A one-line summary of an audit row's change. */
void view_event_summary(const json_t *ev, char *buf, size_t size)
{
	const char *action = view_str(ev, "action");
	const json_t *after = json_object_get(ev, "after");
	const json_t *before = json_object_get(ev, "before");
	char rules[512], extra[512] = "";

	buf[0] = '\0';
	if (!action)
		return;
	if (strcmp(action, "opened") == 0 || strcmp(action, "updated") == 0) {
		size_t i, len = 0;
		rules[0] = '\0';
		json_t *r;
		json_array_foreach(json_object_get(after, "rules"), i, r) {
			const char *id = view_str(r, "id");
			int n = snprintf(rules + len, sizeof(rules) - len, "%s%s", len ? "," : "",
			                 id ? id : "?");
			if (n < 0 || (size_t)n >= sizeof(rules) - len)
				break;
			len += (size_t)n;
		}
		if (json_array_size(json_object_get(after, "suppressed_rules"))) {
			char dropped[256];
			view_join(json_object_get(after, "suppressed_rules"), dropped, sizeof(dropped));
			snprintf(extra, sizeof(extra), "; suppressed: %s", dropped);
		}
		const json_t *rev = json_object_get(after, "published_revision");
		snprintf(buf, size, "day %s, score %g %s, rules %s%s%s",
		         view_str(after, "day") ? view_str(after, "day") : "?", view_num(after, "score"),
		         view_str(after, "severity") ? view_str(after, "severity") : "?", rules, extra,
		         json_is_integer(rev) ? "; published" : "");
	} else if (strcmp(action, "claimed") == 0) {
		snprintf(buf, size, "%s -> in_review", view_str(before, "status") ? view_str(before, "status") : "?");
	} else if (strcmp(action, "resolved") == 0) {
		if (json_array_size(json_object_get(after, "suppressed_rules"))) {
			char dropped[256];
			view_join(json_object_get(after, "suppressed_rules"), dropped, sizeof(dropped));
			snprintf(extra, sizeof(extra), "; suppressed %s until %s", dropped,
			         view_str(after, "suppressed_until") ? view_str(after, "suppressed_until") : "?");
		}
		snprintf(buf, size, "closed as %s: %s%s",
		         view_str(after, "disposition") ? view_str(after, "disposition") : "?",
		         view_str(after, "note") ? view_str(after, "note") : "", extra);
	} else if (strcmp(action, "released") == 0) {
		snprintf(buf, size, "in_review (held by %s) -> open%s%s",
		         view_str(before, "analyst") ? view_str(before, "analyst") : "?",
		         view_str(after, "note") ? ": " : "", view_str(after, "note") ? view_str(after, "note") : "");
	} else if (strcmp(action, "reopened") == 0) {
		if (json_array_size(json_object_get(after, "lifted_suppressions"))) {
			char lifted[256];
			view_join(json_object_get(after, "lifted_suppressions"), lifted, sizeof(lifted));
			snprintf(extra, sizeof(extra), "; lifted suppression of %s", lifted);
		}
		snprintf(buf, size, "was %s (%s)%s%s%s",
		         view_str(before, "status") ? view_str(before, "status") : "?",
		         view_str(before, "disposition") ? view_str(before, "disposition") : "-", extra,
		         view_str(after, "note") ? ": " : "", view_str(after, "note") ? view_str(after, "note") : "");
	} else if (strcmp(action, "commented") == 0) {
		snprintf(buf, size, "%s", view_str(after, "note") ? view_str(after, "note") : "");
	} else if (strcmp(action, "assigned") == 0) {
		snprintf(buf, size, "to %s (was %s)", view_nz(view_str(after, "analyst")),
		         view_str(before, "analyst") ? view_str(before, "analyst") : "unassigned");
	} else if (strcmp(action, "proposed") == 0) {
		snprintf(buf, size, "resolved as %s, awaiting a second analyst's approval: %s",
		         view_nz(view_str(after, "disposition")), view_nz(view_str(after, "note")));
	} else if (strcmp(action, "approved") == 0) {
		snprintf(buf, size, "approved %s's %s%s%s", view_nz(view_str(before, "proposed_by")),
		         view_nz(view_str(after, "disposition")), view_str(after, "note") ? ": " : "",
		         view_str(after, "note") ? view_str(after, "note") : "");
	} else {
		snprintf(buf, size, "%s", action);
	}
}

/* A one-line description of a suppression row. */
void view_suppression_summary(const json_t *s, char *buf, size_t size)
{
	const char *lifted = view_str(s, "lifted_at");
	char when[64];
	view_time(lifted, when, sizeof(when));
	snprintf(buf, size, "rule %s quiet through %s after %s of %s by %s; %lld firing(s) left out%s%s%s",
	         view_str(s, "rule_id") ? view_str(s, "rule_id") : "?",
	         view_str(s, "until_day") ? view_str(s, "until_day") : "?",
	         view_str(s, "disposition") ? view_str(s, "disposition") : "?",
	         view_str(s, "alert_id") ? view_str(s, "alert_id") : "?",
	         view_str(s, "created_by") ? view_str(s, "created_by") : "?",
	         (long long)json_integer_value(json_object_get(s, "hits")),
	         lifted ? "; lifted " : "", lifted ? when : "",
	         lifted ? (view_str(s, "lifted_by") ? " (reopened)" : "") : "");
}

/* ---- show ---- */

void view_alert_curve(const json_t *detail, struct view_curve *cv)
{
	const json_t *alert = json_object_get(detail, "alert");
	view_curve_load(cv, json_object_get(alert, "curve"));
	curve_mark(cv, json_object_get(detail, "fired_days"), cv->fired);
	curve_mark(cv, json_object_get(detail, "tamper_days"), cv->tamper);
}



void view_stolen_summary(const json_t *stolen, char *buf, size_t size)
{
	const char *method = view_str(stolen, "method");
	if (!json_is_object(stolen) || !method) {
		snprintf(buf, size, "not estimated (the alert was raised without an estimate)");
		return;
	}
	if (strcmp(method, "none") == 0) {
		snprintf(buf, size, "no estimate: no baseline over %s .. %s and no area attribution",
		         view_nz(view_str(stolen, "from")), view_nz(view_str(stolen, "to")));
		return;
	}
	char z[32] = "";
	if (isfinite(view_num(stolen, "z")))
		snprintf(z, sizeof(z), ", z %.1f", view_num(stolen, "z"));
	snprintf(buf, size, "%.1f kWh (95%% range %.1f .. %.1f) from %s to %s (%g days, %.2f kWh "
	         "a day), by %s%s; theft probability %.2f", view_num(stolen, "kwh"),
	         view_num(stolen, "kwh_low"), view_num(stolen, "kwh_high"),
	         view_nz(view_str(stolen, "from")), view_nz(view_str(stolen, "to")),
	         view_num(stolen, "days"), view_num(stolen, "kwh_day"), method, z,
	         view_num(stolen, "probability"));
}

void view_backbill_summary(const json_t *backbill, char *buf, size_t size)
{
	const char *reason = view_str(backbill, "reason");
	const char *tariff = view_str(backbill, "tariff");
	const char *currency = view_nz(view_str(backbill, "currency"));
	if (!json_is_object(backbill))
		snprintf(buf, size, "no amount (no stolen-energy estimate)");
	else if (reason && strcmp(reason, "tariff_unknown") == 0)
		snprintf(buf, size, "no amount: tariff '%s' has no price in tariffs.prices "
		         "(tariff_unknown)", view_nz(tariff));
	else if (reason && strcmp(reason, "tariff_missing") == 0)
		snprintf(buf, size, "no amount: the customer's profile names no tariff "
		         "(tariff_missing)");
	else if (reason)
		snprintf(buf, size, "no amount: no stolen-energy estimate (%s)", reason);
	else
		snprintf(buf, size, "%.2f %s (95%% range %.2f .. %.2f) at tariff %s, %g %s a kWh",
		         view_num(backbill, "amount"), currency, view_num(backbill, "amount_low"),
		         view_num(backbill, "amount_high"), view_nz(tariff),
		         view_num(backbill, "price_per_kwh"), currency);
}

void view_facts_fill(const json_t *detail, struct view_facts *f)
{
	const json_t *a = json_object_get(detail, "alert");
	const json_t *c = json_object_get(detail, "customer");
	const json_t *area = json_object_get(detail, "area");
	const json_t *queue = json_object_get(detail, "queue");
	char claimed[64];

	if (json_is_object(c))
		snprintf(f->customer, sizeof(f->customer), "%s (%s, area %s%s%s)",
		         view_nz(view_str(a, "customer_id")), view_str(c, "segment") ? view_str(c, "segment") : "?",
		         view_str(c, "transformer_id") ? view_str(c, "transformer_id") : "?",
		         view_str(c, "tariff") ? ", tariff " : "", view_str(c, "tariff") ? view_str(c, "tariff") : "");
	else
		snprintf(f->customer, sizeof(f->customer), "%s (no profile)", view_nz(view_str(a, "customer_id")));
	if (json_is_object(area) && isfinite(view_num(area, "loss_rate")))
		snprintf(f->area, sizeof(f->area), "%.1f%% on %s (area baseline %s%.1f%%)",
		         100 * view_num(area, "loss_rate"), view_str(area, "day") ? view_str(area, "day") : "?",
		         isfinite(view_num(area, "baseline_loss_rate")) ? "" : "not known yet, ",
		         isfinite(view_num(area, "baseline_loss_rate")) ? 100 * view_num(area, "baseline_loss_rate") : 0.0);
	else
		snprintf(f->area, sizeof(f->area), "no balanced day for the area yet");
	snprintf(f->grade, sizeof(f->grade), "%s",
	         view_str(detail, "grade") ? view_str(detail, "grade") : "not graded yet");
	snprintf(f->score, sizeof(f->score), "%g (%s)", view_num(a, "score"),
	         view_str(a, "severity") ? view_str(a, "severity") : "?");
	snprintf(f->ruleset, sizeof(f->ruleset), "%s %s (hash %.12s)", view_nz(view_str(a, "ruleset_name")),
	         view_nz(view_str(a, "ruleset_version")), view_str(a, "ruleset_hash") ? view_str(a, "ruleset_hash") : "");
	snprintf(f->firings, sizeof(f->firings), "%lld, days %s .. %s",
	         (long long)json_integer_value(json_object_get(a, "firings")),
	         view_nz(view_str(a, "first_day")), view_nz(view_str(a, "last_day")));
	view_time(view_str(a, "opened_at"), f->opened, sizeof(f->opened));
	view_time(view_str(a, "last_seen"), f->last_seen, sizeof(f->last_seen));
	if (json_is_object(queue))
		snprintf(f->queue, sizeof(f->queue), "%lld of %lld",
		         (long long)json_integer_value(json_object_get(queue, "position")),
		         (long long)json_integer_value(json_object_get(queue, "size")));
	else
		snprintf(f->queue, sizeof(f->queue), "not in the queue");
	view_time(view_str(a, "claimed_at"), claimed, sizeof(claimed));
	if (view_str(a, "analyst"))
		snprintf(f->holder, sizeof(f->holder), "%s (claimed %s)", view_str(a, "analyst"), claimed);
	else
		snprintf(f->holder, sizeof(f->holder), "nobody");
	if (view_str(a, "disposition")) {
		char closed[64];
		view_time(view_str(a, "closed_at"), closed, sizeof(closed));
		snprintf(f->closed, sizeof(f->closed), "%s at %s", view_nz(view_str(a, "disposition")), closed);
	} else {
		f->closed[0] = '\0';
	}
	view_stolen_summary(json_object_get(detail, "stolen_energy"), f->stolen, sizeof(f->stolen));
	view_backbill_summary(json_object_get(detail, "backbill"), f->backbill,
	                      sizeof(f->backbill));
	const char *kind = view_str(a, "kind");
	if (kind && strcmp(kind, "no_data") == 0) { /* a meter to visit, not a theft */
		snprintf(f->stolen, sizeof(f->stolen), "none: a no_data alert (the meter sent no "
		         "reading for a whole day, and its area's loss did not show its load)");
		snprintf(f->backbill, sizeof(f->backbill), "none (no_data)");
	}
}


void view_queue_sparkline(FILE *out, const json_t *row)
{
	struct view_curve cv;
	char title[256];
	view_curve_load(&cv, json_object_get(row, "curve"));
	view_curve_span(&cv, view_str(row, "first_day"), view_str(row, "last_day"));
	snprintf(title, sizeof(title), "Daily energy of customer %s",
	         view_nz(view_str(row, "customer_id")));
	view_curve_svg(out, &cv, title, 1);
}

/* ---- the alert page's sections (riskctl alerts show --html and the console) ---- */

void view_alert_heading(FILE *out, const json_t *detail)
{
	const json_t *a = json_object_get(detail, "alert");
	fputs("<h1>Alert <code id=\"alert-id\">", out);
	view_html(out, view_str(a, "alert_id"));
	fputs("</code>", out);
	view_badge(out, "sev-", view_str(a, "severity"));
	view_badge(out, "st-", view_str(a, "status"));
	fputs("</h1>\n", out);
}

void view_alert_facts(FILE *out, const json_t *detail)
{
	const json_t *a = json_object_get(detail, "alert");
	struct view_facts f;
	view_facts_fill(detail, &f);
	fputs("<table class=\"facts\">\n", out);
	view_fact(out, "Customer", f.customer);
	view_fact(out, "Score", f.score);
	view_fact(out, "Stolen energy", f.stolen);
	view_fact(out, "Back-bill", f.backbill);
	view_fact(out, "Area loss rate", f.area);
	view_fact(out, "Credit grade", f.grade);
	view_fact(out, "Rule set", f.ruleset);
	view_fact(out, "Firings", f.firings);
	view_fact(out, "Opened", f.opened);
	view_fact(out, "Last seen", f.last_seen);
	view_fact(out, "Queue position", f.queue);
	view_fact(out, "Analyst", f.holder);
	if (f.closed[0]) {
		view_fact(out, "Disposition", f.closed);
		view_fact(out, "Note", view_str(a, "note"));
	}
	fputs("</table>\n", out);
}

const char *view_curve_caption(const json_t *detail)
{
	const char *kind = view_str(json_object_get(detail, "alert"), "kind");
	return kind && strcmp(kind, "operating_risk") == 0
	           ? "weeks, against the same weeks a year earlier"
	           : "days, against the baseline";
}

void view_alert_evidence(FILE *out, const json_t *detail)
{
	const json_t *a = json_object_get(detail, "alert");
	struct view_curve cv;
	size_t i;
	json_t *v;
	char title[512], line[1024];

	view_alert_curve(detail, &cv);
	fprintf(out, "<h2>Energy, last %d %s</h2>\n", cv.n, view_curve_caption(detail));
	snprintf(title, sizeof(title), "Daily energy of customer %s against its baseline",
	         view_nz(view_str(a, "customer_id")));
	view_curve_svg(out, &cv, title, 0);
	fputs("<p class=\"muted\">Shaded: days a rule fired. Triangles: tamper events, as dated by "
	      "the days_since_tamper evidence of the firings. Hover a point for its value.</p>\n",
	      out);

	fputs("<h2>Rules that fired (latest firing)</h2>\n<table id=\"rules\">\n<tr><th>Rule</th>"
	      "<th>Title</th><th>Severity</th><th class=\"num\">Score</th><th>Evidence</th></tr>\n",
	      out);
	json_array_foreach(json_object_get(a, "rules"), i, v) {
		fputs("<tr><td><code>", out);
		view_html(out, view_str(v, "id"));
		fputs("</code></td><td>", out);
		view_html(out, view_str(v, "title"));
		fputs("</td><td>", out);
		view_badge(out, "sev-", view_str(v, "severity"));
		fputs("</td><td class=\"num\">", out);
		view_htmlf(out, "%g", view_num(v, "score"));
		fputs("</td><td>", out);
		view_evidence(out, json_object_get(v, "evidence"));
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n<h2>Suppressions for this customer</h2>\n", out);
	const json_t *sup = json_object_get(detail, "suppressions");
	if (json_array_size(sup) == 0)
		fputs("<p class=\"muted\">None.</p>\n", out);
	else
		fputs("<ul class=\"tight\">\n", out);
	json_array_foreach(sup, i, v) {
		view_suppression_summary(v, line, sizeof(line));
		fputs("<li>", out);
		view_html(out, line);
		fputs("</li>\n", out);
	}
	if (json_array_size(sup))
		fputs("</ul>\n", out);
}

void view_alert_history(FILE *out, const json_t *detail)
{
	size_t i;
	json_t *v;
	char when[64], line[1024];
	fputs("<h2>History</h2>\n<table id=\"history\">\n<tr><th>When</th><th>Who</th><th>What</th>"
	      "<th>Details</th></tr>\n", out);
	json_array_foreach(json_object_get(detail, "events"), i, v) {
		view_time(view_str(v, "at"), when, sizeof(when));
		view_event_summary(v, line, sizeof(line));
		fputs("<tr><td>", out);
		view_html(out, when);
		fputs("</td><td>", out);
		view_html(out, view_str(v, "actor"));
		fputs("</td><td>", out);
		view_html(out, view_str(v, "action"));
		fputs("</td><td>", out);
		view_html(out, line);
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n", out);
}
