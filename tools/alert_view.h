/*
 * alert_view.h - how an alert reads for a person: the rendering pieces riskctl's HTML and
 * text pages and the analyst console (riskd-console) share.
 *
 * Everything reads the JSON shapes of detector/store_review.h and store_console.h. Every
 * HTML writer escapes each value it writes (view_html), so data from the database is always
 * text, never markup. Nothing here allocates: buffers are the caller's.
 */
#ifndef RISKD_ALERT_VIEW_H
#define RISKD_ALERT_VIEW_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#define VIEW_CURVE_DAYS_MAX 120

/* The daily energy curve of an alert, with the days its rules fired and tamper days. */
struct view_curve {
	int n;
	char day[VIEW_CURVE_DAYS_MAX][11];
	double kwh[VIEW_CURVE_DAYS_MAX];       /* NAN = no data */
	double baseline[VIEW_CURVE_DAYS_MAX];  /* NAN = not warmed up */
	unsigned char fired[VIEW_CURVE_DAYS_MAX];
	unsigned char tamper[VIEW_CURVE_DAYS_MAX];
	double ymax;
	const char *axis;       /* the y axis label: "kWh per day" unless set after loading */
	const char *series;     /* the line's legend: "daily energy" */
	const char *value_unit; /* after a point's value: "kWh" */
};

/* The facts an analyst reads first, as text. */
struct view_facts {
	char customer[256], area[256], grade[64], score[128], ruleset[256], firings[256];
	char opened[64], last_seen[64], queue[64], holder[256], closed[256];
	char stolen[256], backbill[256]; /* the energy stolen since onset and its back-billing */
};

/* s, or "?" for a missing value (never hand NULL to printf). */
const char *view_nz(const char *s);
/* The string at key of obj, or NULL. */
const char *view_str(const json_t *obj, const char *key);
/* The number at key, or NAN when absent or not a number. */
double view_num(const json_t *obj, const char *key);
/* seconds as "3d 4h", "2h 5m", "7m" or "12s" ("-" for a negative or non-finite value). */
void view_duration(double seconds, char *buf, size_t size);
/* "2026-01-05T10:00:00.123+00:00" -> "2026-01-05 10:00 UTC" (other text unchanged, NULL "-"). */
void view_time(const char *ts, char *buf, size_t size);
/* A JSON scalar as text: numbers to 4 significant digits, null as "missing". */
void view_value(const json_t *v, char *buf, size_t size);
/* The strings of a JSON array, comma-separated, cut to size. */
void view_join(const json_t *arr, char *buf, size_t size);

/* Writes s ("-" for NULL) to a terminal with control characters masked as '?', so stored
 * data cannot drive the terminal. */
void view_put_text(FILE *out, const char *s);
/* view_put_text padded with spaces, or cut with a trailing '~', to width bytes. */
void view_put_cell(FILE *out, const char *s, int width);

/* Loads a curve from [{day, kwh, baseline}] (at most VIEW_CURVE_DAYS_MAX points), labelled as
 * daily energy in kWh. */
void view_curve_load(struct view_curve *cv, const json_t *points);
/* Marks every day from first to last as fired (YYYY-MM-DD compare as dates). */
void view_curve_span(struct view_curve *cv, const char *first, const char *last);
/* The curve of review_show's detail, with its firing and tamper days marked. */
void view_alert_curve(const json_t *detail, struct view_curve *cv);
/* What the curve of review_show's detail shows, after "last N": "weeks, against the same weeks
 * a year earlier" for an operating-risk warning (its curve is weekly), "days, against the
 * baseline" for a theft alert. */
const char *view_curve_caption(const json_t *detail);

/* Writes s escaped for HTML text and attribute values (control characters become U+FFFD). */
void view_html(FILE *out, const char *s);
/* view_html of printf-formatted text (cut at 2 KiB). */
void view_htmlf(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The pages' CSS (no url(), nothing loaded). */
extern const char *const view_style;
/* A coloured badge: class cls_prefix+value, text value. */
void view_badge(FILE *out, const char *cls_prefix, const char *value);
/* The curve as an inline SVG chart titled label; small: a sparkline without axes. */
void view_curve_svg(FILE *out, const struct view_curve *cv, const char *label, int small);
/* A queue row's 60-day curve as a sparkline, shaded from its first to its latest firing. */
void view_queue_sparkline(FILE *out, const json_t *row);
/* One row of a facts table (name is trusted markup, value is escaped; empty value "-"). */
void view_fact(FILE *out, const char *name, const char *value);
/* The evidence object of one rule as an HTML table. */
void view_evidence(FILE *out, const json_t *evidence);

/* A one-line summary of an audit row (review_show's "events") into buf. */
void view_event_summary(const json_t *ev, char *buf, size_t size);
/* A one-line description of a suppression row into buf. */
void view_suppression_summary(const json_t *s, char *buf, size_t size);
/* The stolen-energy estimate (review_show's "stolen_energy", the review message's key) as
 * one line into buf. */
void view_stolen_summary(const json_t *stolen, char *buf, size_t size);
/* The back-billing amount ("backbill") as one line into buf. */
void view_backbill_summary(const json_t *backbill, char *buf, size_t size);
/* Fills f from review_show's detail. */
void view_facts_fill(const json_t *detail, struct view_facts *f);

/* The alert page's sections, from review_show's detail: the heading (id and badges), the
 * facts table, the evidence (curve chart, rules with their evidence, suppressions) and the
 * history (every audit row in one table). */
void view_alert_heading(FILE *out, const json_t *detail);
void view_alert_facts(FILE *out, const json_t *detail);
void view_alert_evidence(FILE *out, const json_t *detail);
void view_alert_history(FILE *out, const json_t *detail);

#endif
