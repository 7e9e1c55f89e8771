/*
 * riskctl_alerts.c - `riskctl alerts` (the analyst's review queue: list, show, claim, release,
 * resolve, reopen, report) and `riskctl rules stats` (rule performance).
 *
 * Every command connects with the configured DSN (postgres.dsn, var/stack.env, RISKD_PG_DSN)
 * and then runs `SET ROLE risk_analyst`, so it can read alerts and change them only through
 * the lifecycle functions, whatever else the login role may do. The acting analyst is the
 * login role (the database's session_user): --analyst only confirms it, and a different name
 * is refused. Output is text for a terminal, JSON (--json) for scripts, or one self-contained
 * HTML page (--html: inline CSS and SVG, no script, nothing loaded from anywhere). Every value
 * that comes from the database is data: control characters are masked in text, and everything
 * is escaped in HTML; arguments and server messages echoed in an error are shown with
 * control bytes escaped (riskctl_shown).
 *
 * Exit status: 0 done, 1 refused (unknown id, wrong status, held by someone else, bad
 * disposition, --analyst not the login role, or another database error), 2 usage or
 * configuration error, 3 PostgreSQL unreachable.
 */
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../config/config.h"
#include "../config/riskd_base.h"
#include "../detector/store_dsn.h"
#include "../detector/store_review.h"
#include "riskctl.h"

#define ANALYST_ROLE "risk_analyst"
#define CURVE_DAYS_MAX 120
#define LIMIT_MAX 100000

enum exit_code { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

/* ---- options ---- */

enum opt_id {
	OPT_CONFIG, OPT_STATUS, OPT_KIND, OPT_AREA, OPT_LIMIT, OPT_JSON, OPT_HTML, OPT_ANALYST,
	OPT_DISPOSITION, OPT_NOTE, OPT_SUPPRESS_DAYS, OPT_RULESET, OPT_HELP, OPT__COUNT
};

static const struct option long_options[] = {
	{"config", required_argument, NULL, OPT_CONFIG},
	{"status", required_argument, NULL, OPT_STATUS},
	{"kind", required_argument, NULL, OPT_KIND},
	{"area", required_argument, NULL, OPT_AREA},
	{"limit", required_argument, NULL, OPT_LIMIT},
	{"json", no_argument, NULL, OPT_JSON},
	{"html", no_argument, NULL, OPT_HTML},
	{"analyst", required_argument, NULL, OPT_ANALYST},
	{"disposition", required_argument, NULL, OPT_DISPOSITION},
	{"note", required_argument, NULL, OPT_NOTE},
	{"suppress-days", required_argument, NULL, OPT_SUPPRESS_DAYS},
	{"ruleset", required_argument, NULL, OPT_RULESET},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

struct opts {
	const char *value[OPT__COUNT]; /* argument, or "" for a flag given */
	const char *id;                /* the one positional argument, if any */
	int limit;
	int suppress_days;
};

#define BIT(o) (1u << (o))

static void alerts_usage(FILE *out)
{
	fprintf(out,
	        "usage: riskctl alerts list [--status open|in_review|closed|all] [--kind K]\n"
	        "                           [--area TRANSFORMER] [--limit N] [--json]\n"
	        "       riskctl alerts show ID [--json | --html]\n"
	        "       riskctl alerts claim ID\n"
	        "       riskctl alerts release ID [--note TEXT]\n"
	        "       riskctl alerts resolve ID --disposition D --note TEXT [--suppress-days N]\n"
	        "       riskctl alerts reopen ID [--note TEXT]\n"
	        "       riskctl alerts report --html [--status S] [--kind K] [--area T] [--limit N]\n"
	        "every command takes --config PATH (default config/riskd.yaml when present).\n"
	        "dispositions: confirmed_theft meter_fault billing_error false_positive no_access\n"
	        "You act as the database login role of the connection; claim, release, resolve and\n"
	        "reopen also take --analyst NAME (or $RISKCTL_ANALYST), which must be that role.\n"
	        "Only the holder or a risk_lead member may release or resolve a claimed alert.\n"
	        "The commands run as database role " ANALYST_ROLE " (docs/review-queue.md).\n"
	        "exit status: 0 done, 1 refused (unknown id, wrong status, held by someone else,\n"
	        "bad disposition, --analyst not the login role), 2 usage, 3 PostgreSQL unreachable\n");
}

static void stats_usage(FILE *out)
{
	fprintf(out, "usage: riskctl rules stats [--ruleset NAME] [--json] [--config PATH]\n"
	             "per rule and rule set version: hits, alerts, confirmed, dismissed, precision\n"
	             "and median time to disposition (risk.v_rule_performance)\n"
	             "exit status: 0 done, 1 database error, 2 usage, 3 PostgreSQL unreachable\n");
}

static int parse_int(const char *text, int min, int max, int *out)
{
	char *end;
	long v = strtol(text, &end, 10);
	if (end == text || *end || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/*
 * Parses argv (argv[0] = the subcommand) into o. allowed: BIT()s of the options the
 * subcommand takes; want_id: 1 when it takes exactly one ID. Returns 0, 1 for --help
 * (usage printed), or EXIT_USAGE after a message.
 */
static int opts_parse(int argc, char **argv, const char *what, unsigned allowed, int want_id,
                      void (*usage)(FILE *), struct opts *o)
{
	int c;
	memset(o, 0, sizeof(*o));
	o->limit = 50;
	o->suppress_days = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", long_options, NULL)) != -1) {
		if (c == OPT_HELP) {
			usage(stdout);
			return 1;
		}
		if (c == '?' || c == ':') {
			char shown[RISKCTL_SHOWN_MAX];
			fprintf(stderr, "riskctl %s: %s '%s'\n", what,
			        c == ':' ? "missing value for option" : "unknown option",
			        riskctl_shown(argv[optind - 1], shown, sizeof(shown)));
			return EXIT_USAGE;
		}
		if (!(allowed & BIT(c))) {
			fprintf(stderr, "riskctl %s: option --%s does not apply here\n", what,
			        long_options[c].name);
			return EXIT_USAGE;
		}
		o->value[c] = optarg ? optarg : "";
	}
	int positional = argc - optind;
	if (want_id && positional != 1) {
		fprintf(stderr, "riskctl %s: give exactly one alert id\n", what);
		return EXIT_USAGE;
	}
	if (!want_id && positional != 0) {
		char shown[RISKCTL_SHOWN_MAX];
		fprintf(stderr, "riskctl %s: unexpected argument '%s'\n", what,
		        riskctl_shown(argv[optind], shown, sizeof(shown)));
		return EXIT_USAGE;
	}
	o->id = want_id ? argv[optind] : NULL;
	if (o->id && !*o->id) {
		fprintf(stderr, "riskctl %s: the alert id is empty\n", what);
		return EXIT_USAGE;
	}
	if (o->value[OPT_LIMIT] && parse_int(o->value[OPT_LIMIT], 1, LIMIT_MAX, &o->limit)) {
		fprintf(stderr, "riskctl %s: --limit must be a number in 1..%d\n", what, LIMIT_MAX);
		return EXIT_USAGE;
	}
	if (o->value[OPT_SUPPRESS_DAYS] &&
	    parse_int(o->value[OPT_SUPPRESS_DAYS], 0, 3650, &o->suppress_days)) {
		fprintf(stderr, "riskctl %s: --suppress-days must be a number in 0..3650\n", what);
		return EXIT_USAGE;
	}
	const char *status = o->value[OPT_STATUS];
	if (status && strcmp(status, "open") != 0 && strcmp(status, "in_review") != 0 &&
	    strcmp(status, "closed") != 0 && strcmp(status, "all") != 0) {
		fprintf(stderr, "riskctl %s: --status must be open, in_review, closed or all\n", what);
		return EXIT_USAGE;
	}
	return 0;
}

/* Prints "riskctl WHAT: MESSAGE" on stderr, one line, control bytes of message escaped. */
static void complain(const char *what, const char *message)
{
	char shown[4 * 1024 + 4];
	fprintf(stderr, "riskctl %s: %s\n", what, riskctl_shown(message, shown, sizeof(shown)));
}

/* The analyst's name the caller gave: --analyst, else $RISKCTL_ANALYST, else NULL. */
static const char *opts_analyst(const struct opts *o)
{
	if (o->value[OPT_ANALYST])
		return o->value[OPT_ANALYST];
	const char *env = getenv("RISKCTL_ANALYST");
	return env && *env ? env : NULL;
}

/*
 * Refuses an analyst name (--analyst or $RISKCTL_ANALYST) other than the connection's login
 * role, which the database records as the acting analyst whatever is passed. Returns 0 or
 * EXIT_REFUSED after a message.
 */
static int check_analyst(const char *what, const struct opts *o, const struct review_store *rv)
{
	const char *named = opts_analyst(o);
	const char *login = review_store_login(rv);
	if (!named || strcmp(named, login) == 0)
		return EXIT_OK;
	char shown_named[RISKCTL_SHOWN_MAX], shown_login[RISKCTL_SHOWN_MAX];
	fprintf(stderr, "riskctl %s: %s '%s' is not the login role '%s': you act as the role you "
	                "connect as (drop it, or connect as that role)\n", what,
	        o->value[OPT_ANALYST] ? "--analyst" : "$RISKCTL_ANALYST",
	        riskctl_shown(named, shown_named, sizeof(shown_named)),
	        riskctl_shown(login, shown_login, sizeof(shown_login)));
	return EXIT_REFUSED;
}

/* Loads the configuration and connects as the analyst role. Returns 0 or an exit code. */
static int connect_analyst(const char *what, const struct opts *o, struct review_store **rv)
{
	static struct riskd_config cfg;
	char errstr[1024];
	const char *path = o->value[OPT_CONFIG];

	if (!path && access("config/riskd.yaml", R_OK) == 0)
		path = "config/riskd.yaml";
	if (config_load(&cfg, path, errstr, sizeof(errstr)) != 0) {
		complain(what, errstr);
		return EXIT_USAGE;
	}
	/* libpq's message about a DSN it cannot parse quotes the DSN, password and all */
	char shown[STORE_DSN_SHOWN_MAX];
	if (store_dsn_shown(cfg.pg_dsn, shown, sizeof(shown)) != 0) {
		snprintf(errstr, sizeof(errstr), "postgres.dsn: %s", shown);
		complain(what, errstr);
		return EXIT_USAGE;
	}
	int rc = review_store_open(rv, cfg.pg_dsn, ANALYST_ROLE, errstr, sizeof(errstr));
	if (rc == 0)
		return EXIT_OK;
	store_dsn_scrub(cfg.pg_dsn, errstr, sizeof(errstr));
	if (rc == RISKD_ERR_UNAVAILABLE) { /* name the database it tried, password masked */
		size_t n = strlen(errstr);
		snprintf(errstr + n, sizeof(errstr) - n, " (postgres.dsn: %s)", shown);
	}
	complain(what, errstr);
	return rc == RISKD_ERR_UNAVAILABLE ? EXIT_UNREACHABLE : EXIT_REFUSED;
}

/* Prints a store error (the server's message may quote an argument) and maps it to the exit
 * code. */
static int store_failed(const char *what, int rc, const char *errstr)
{
	complain(what, errstr);
	return rc == RISKD_ERR_UNAVAILABLE ? EXIT_UNREACHABLE : EXIT_REFUSED;
}

/* ---- JSON access ---- */

/* s, or "?" for a missing value (never hand NULL to printf). */
static const char *nz(const char *s)
{
	return s ? s : "?";
}

static const char *jstr(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* The number at key, or NAN when absent or not a number. */
static double jnum(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* ---- text output ---- */

/* Writes s with control characters masked, so stored data cannot drive the terminal. */
static void put_text(FILE *out, const char *s)
{
	if (!s)
		s = "-";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		fputc(c < 0x20 || c == 0x7f ? '?' : c, out);
	}
}

/* put_text padded with spaces (or cut) to width bytes. */
static void put_cell(FILE *out, const char *s, int width)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s ? s : "-");
	int len = (int)strlen(buf);
	if (len > width) {
		buf[width > 1 ? width - 1 : 0] = '\0';
		put_text(out, buf);
		fputc(width > 1 ? '~' : ' ', out);
		return;
	}
	put_text(out, buf);
	for (; len < width; len++)
		fputc(' ', out);
}

static void format_duration(double seconds, char *buf, size_t size)
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
static void format_time(const char *ts, char *buf, size_t size)
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
static void format_value(const json_t *v, char *buf, size_t size)
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
static void join_strings(const json_t *arr, char *buf, size_t size)
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

struct curve {
	int n;
	char day[CURVE_DAYS_MAX][11];
	double kwh[CURVE_DAYS_MAX];       /* NAN = no data */
	double baseline[CURVE_DAYS_MAX];  /* NAN = not warmed up */
	unsigned char fired[CURVE_DAYS_MAX];
	unsigned char tamper[CURVE_DAYS_MAX];
	double ymax;
};

static int curve_find(const struct curve *cv, const char *day)
{
	for (int i = 0; day && i < cv->n; i++)
		if (strncmp(cv->day[i], day, 10) == 0)
			return i;
	return -1;
}

static void curve_mark(struct curve *cv, const json_t *days, unsigned char *marks)
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
static void curve_mark_span(struct curve *cv, const char *first, const char *last)
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

static void curve_load(struct curve *cv, const json_t *points)
{
	size_t i;
	json_t *p;
	memset(cv, 0, sizeof(*cv));
	json_array_foreach(points, i, p) {
		if (cv->n == CURVE_DAYS_MAX)
			break;
		snprintf(cv->day[cv->n], sizeof(cv->day[0]), "%.10s", jstr(p, "day") ? jstr(p, "day") : "");
		cv->kwh[cv->n] = jnum(p, "kwh");
		cv->baseline[cv->n] = jnum(p, "baseline");
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

#define CHART_ROWS 10

/* The curve as a text chart, one column per day. */
static void curve_print_text(FILE *out, const struct curve *cv)
{
	if (cv->n == 0) {
		fprintf(out, "  (no energy data)\n");
		return;
	}
	for (int r = CHART_ROWS; r >= 1; r--) {
		if (r == CHART_ROWS)
			fprintf(out, "  %8g |", cv->ymax);
		else if (r == CHART_ROWS / 2)
			fprintf(out, "  %8g |", cv->ymax / 2);
		else
			fprintf(out, "  %8s |", "");
		double level = cv->ymax * (r - 0.5) / CHART_ROWS;
		for (int d = 0; d < cv->n; d++) {
			int bar = isfinite(cv->kwh[d]) && cv->kwh[d] > 0 && cv->kwh[d] >= level;
			int base_row = -1;
			if (isfinite(cv->baseline[d])) {
				base_row = (int)lround(cv->baseline[d] / cv->ymax * CHART_ROWS);
				base_row = base_row < 1 ? 1 : base_row > CHART_ROWS ? CHART_ROWS : base_row;
			}
			fputc(bar && r == base_row ? '=' : bar ? '#' : r == base_row ? '-' : ' ', out);
		}
		fputc('\n', out);
	}
	fprintf(out, "  %8d +", 0);
	for (int d = 0; d < cv->n; d++)
		fputc(!isfinite(cv->kwh[d]) ? '?' : cv->kwh[d] == 0 ? '0' : '-', out);
	fprintf(out, "\n  %8s  ", "fired");
	for (int d = 0; d < cv->n; d++)
		fputc(cv->fired[d] ? '^' : ' ', out);
	fprintf(out, "\n  %8s  ", "tamper");
	for (int d = 0; d < cv->n; d++)
		fputc(cv->tamper[d] ? 'T' : ' ', out);
	fprintf(out, "\n  %8s  %-10s", "", cv->day[0]);
	if (cv->n > 20)
		fprintf(out, "%*s", cv->n - 10, cv->day[cv->n - 1]);
	fprintf(out, "\n  kWh per day: # energy, - baseline, = energy at the baseline, 0 zero day, "
	             "? no data;\n  ^ a rule fired that day, T a tamper event (from the evidence)\n");
}

/* ---- HTML ---- */

/* Writes s escaped for HTML/XML text and attribute values. Control characters (not allowed
 * in XML) become U+FFFD. */
static void html_text(FILE *out, const char *s)
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

/* html_text of printf-formatted text. */
static void html_printf(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void html_printf(FILE *out, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	html_text(out, buf);
}

static const char *const page_style =
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

static void page_begin(FILE *out, const char *title)
{
	fputs("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n"
	      "<meta charset=\"utf-8\"/>\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'\"/>\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>",
	      out);
	html_text(out, title);
	fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n", page_style);
}

static void page_end(FILE *out)
{
	char now[64];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%d %H:%M UTC", &tm);
	fprintf(out, "<p class=\"muted\">Written by riskctl at %s. This page is self-contained: it "
	             "runs no script and loads nothing.</p>\n</body>\n</html>\n", now);
}

static void badge(FILE *out, const char *cls_prefix, const char *value)
{
	fprintf(out, "<span class=\"badge %s", cls_prefix);
	html_text(out, value);
	fputs("\">", out);
	html_text(out, value);
	fputs("</span>", out);
}

/* One polyline per run of finite values of v. */
static void svg_series(FILE *out, const struct curve *cv, const double *v, double x0, double step,
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
static void curve_svg(FILE *out, const struct curve *cv, const char *label, int small)
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
	html_text(out, label);
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
		html_text(out, small ? "alert span " : "a rule fired on ");
		html_text(out, cv->day[d]);
		if (end > d) {
			html_text(out, " .. ");
			html_text(out, cv->day[end]);
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
		             "text-anchor=\"middle\">kWh per day</text>\n",
		        mt + ph / 2, mt + ph / 2);
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
			html_printf(out, "%s: %.2f kWh", cv->day[d], cv->kwh[d]);
			if (isfinite(cv->baseline[d]))
				html_printf(out, " (baseline %.2f)", cv->baseline[d]);
			fputs("</title></circle>\n", out);
		} else {
			fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"none\" "
			             "stroke=\"#9aa0a6\"><title>",
			        x, mt + ph);
			html_text(out, cv->day[d]);
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
			html_text(out, cv->day[d]);
			fputs("</title></path>\n", out);
		}
	if (!small && cv->n > 0) {
		int marks[3] = {0, cv->n / 2, cv->n - 1};
		const char *anchor[3] = {"start", "middle", "end"};
		for (int k = 0; k < 3; k++) {
			fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" fill=\"#5f6368\">",
			        ml + step * (marks[k] + 0.5), mt + ph + 26, anchor[k]);
			html_text(out, cv->day[marks[k]]);
			fputs("</text>\n", out);
		}
		double ly = height - 16;
		fprintf(out,
		        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1a73e8\" "
		        "stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\">daily energy</text>\n"
		        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#5f6368\" "
		        "stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/><text x=\"%.1f\" y=\"%.1f\">"
		        "baseline</text>\n"
		        "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"10\" fill=\"#f28b82\" "
		        "fill-opacity=\"0.35\"/><text x=\"%.1f\" y=\"%.1f\">a rule fired</text>\n"
		        "<path d=\"M %.1f %.1f l -6 9 l 12 0 z\" fill=\"#d93025\"/><text x=\"%.1f\" "
		        "y=\"%.1f\">tamper event</text>\n",
		        ml, ly, ml + 24, ly, ml + 30, ly + 4, ml + 130, ly, ml + 154, ly, ml + 160,
		        ly + 4, ml + 240, ly - 5, ml + 258, ly + 4, ml + 356, ly - 5, ml + 368, ly + 4);
	}
	if (cv->n == 0)
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#5f6368\">"
		             "no energy data</text>\n",
		        width / 2, height / 2);
	fputs("</svg>\n", out);
}

/* One row of the facts table; value escaped. */
static void fact(FILE *out, const char *name, const char *value)
{
	fprintf(out, "<tr><th>%s</th><td>", name);
	html_text(out, value && *value ? value : "-");
	fputs("</td></tr>\n", out);
}

/* The evidence of one rule as an HTML list. */
static void evidence_html(FILE *out, const json_t *evidence)
{
	const char *name;
	json_t *v;
	char value[256];
	fputs("<table class=\"ev\">", out);
	json_object_foreach((json_t *)evidence, name, v) {
		format_value(v, value, sizeof(value));
		fputs("<tr><td><code>", out);
		html_text(out, name);
		fputs("</code></td><td class=\"num\">", out);
		html_text(out, value);
		fputs("</td></tr>", out);
	}
	fputs("</table>", out);
}

/* A one-line summary of an audit row's change. */
static void event_summary(const json_t *ev, char *buf, size_t size)
{
	const char *action = jstr(ev, "action");
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
			const char *id = jstr(r, "id");
			int n = snprintf(rules + len, sizeof(rules) - len, "%s%s", len ? "," : "",
			                 id ? id : "?");
			if (n < 0 || (size_t)n >= sizeof(rules) - len)
				break;
			len += (size_t)n;
		}
		if (json_array_size(json_object_get(after, "suppressed_rules"))) {
			char dropped[256];
			join_strings(json_object_get(after, "suppressed_rules"), dropped, sizeof(dropped));
			snprintf(extra, sizeof(extra), "; suppressed: %s", dropped);
		}
		const json_t *rev = json_object_get(after, "published_revision");
		snprintf(buf, size, "day %s, score %g %s, rules %s%s%s",
		         jstr(after, "day") ? jstr(after, "day") : "?", jnum(after, "score"),
		         jstr(after, "severity") ? jstr(after, "severity") : "?", rules, extra,
		         json_is_integer(rev) ? "; published" : "");
	} else if (strcmp(action, "claimed") == 0) {
		snprintf(buf, size, "%s -> in_review", jstr(before, "status") ? jstr(before, "status") : "?");
	} else if (strcmp(action, "resolved") == 0) {
		if (json_array_size(json_object_get(after, "suppressed_rules"))) {
			char dropped[256];
			join_strings(json_object_get(after, "suppressed_rules"), dropped, sizeof(dropped));
			snprintf(extra, sizeof(extra), "; suppressed %s until %s", dropped,
			         jstr(after, "suppressed_until") ? jstr(after, "suppressed_until") : "?");
		}
		snprintf(buf, size, "closed as %s: %s%s",
		         jstr(after, "disposition") ? jstr(after, "disposition") : "?",
		         jstr(after, "note") ? jstr(after, "note") : "", extra);
	} else if (strcmp(action, "released") == 0) {
		snprintf(buf, size, "in_review (held by %s) -> open%s%s",
		         jstr(before, "analyst") ? jstr(before, "analyst") : "?",
		         jstr(after, "note") ? ": " : "", jstr(after, "note") ? jstr(after, "note") : "");
	} else if (strcmp(action, "reopened") == 0) {
		if (json_array_size(json_object_get(after, "lifted_suppressions"))) {
			char lifted[256];
			join_strings(json_object_get(after, "lifted_suppressions"), lifted, sizeof(lifted));
			snprintf(extra, sizeof(extra), "; lifted suppression of %s", lifted);
		}
		snprintf(buf, size, "was %s (%s)%s%s%s",
		         jstr(before, "status") ? jstr(before, "status") : "?",
		         jstr(before, "disposition") ? jstr(before, "disposition") : "-", extra,
		         jstr(after, "note") ? ": " : "", jstr(after, "note") ? jstr(after, "note") : "");
	} else {
		snprintf(buf, size, "%s", action);
	}
}

/* A one-line description of a suppression row. */
static void suppression_summary(const json_t *s, char *buf, size_t size)
{
	const char *lifted = jstr(s, "lifted_at");
	char when[64];
	format_time(lifted, when, sizeof(when));
	snprintf(buf, size, "rule %s quiet through %s after %s of %s by %s; %lld firing(s) left out%s%s%s",
	         jstr(s, "rule_id") ? jstr(s, "rule_id") : "?",
	         jstr(s, "until_day") ? jstr(s, "until_day") : "?",
	         jstr(s, "disposition") ? jstr(s, "disposition") : "?",
	         jstr(s, "alert_id") ? jstr(s, "alert_id") : "?",
	         jstr(s, "created_by") ? jstr(s, "created_by") : "?",
	         (long long)json_integer_value(json_object_get(s, "hits")),
	         lifted ? "; lifted " : "", lifted ? when : "",
	         lifted ? (jstr(s, "lifted_by") ? " (reopened)" : "") : "");
}

/* ---- show ---- */

static void show_curve(const json_t *detail, struct curve *cv)
{
	const json_t *alert = json_object_get(detail, "alert");
	curve_load(cv, json_object_get(alert, "curve"));
	curve_mark(cv, json_object_get(detail, "fired_days"), cv->fired);
	curve_mark(cv, json_object_get(detail, "tamper_days"), cv->tamper);
}

/* Fills the facts an analyst reads first (shared by text and HTML). */
struct alert_facts {
	char customer[256], area[256], grade[64], score[128], ruleset[256], firings[256];
	char opened[64], last_seen[64], queue[64], holder[256], closed[256];
};

static void alert_facts_fill(const json_t *detail, struct alert_facts *f)
{
	const json_t *a = json_object_get(detail, "alert");
	const json_t *c = json_object_get(detail, "customer");
	const json_t *area = json_object_get(detail, "area");
	const json_t *queue = json_object_get(detail, "queue");
	char claimed[64];

	if (json_is_object(c))
		snprintf(f->customer, sizeof(f->customer), "%s (%s, area %s%s%s)",
		         nz(jstr(a, "customer_id")), jstr(c, "segment") ? jstr(c, "segment") : "?",
		         jstr(c, "transformer_id") ? jstr(c, "transformer_id") : "?",
		         jstr(c, "tariff") ? ", tariff " : "", jstr(c, "tariff") ? jstr(c, "tariff") : "");
	else
		snprintf(f->customer, sizeof(f->customer), "%s (no profile)", nz(jstr(a, "customer_id")));
	if (json_is_object(area) && isfinite(jnum(area, "loss_rate")))
		snprintf(f->area, sizeof(f->area), "%.1f%% on %s (area baseline %s%.1f%%)",
		         100 * jnum(area, "loss_rate"), jstr(area, "day") ? jstr(area, "day") : "?",
		         isfinite(jnum(area, "baseline_loss_rate")) ? "" : "not known yet, ",
		         isfinite(jnum(area, "baseline_loss_rate")) ? 100 * jnum(area, "baseline_loss_rate") : 0.0);
	else
		snprintf(f->area, sizeof(f->area), "no balanced day for the area yet");
	snprintf(f->grade, sizeof(f->grade), "%s",
	         jstr(detail, "grade") ? jstr(detail, "grade") : "not graded yet");
	snprintf(f->score, sizeof(f->score), "%g (%s)", jnum(a, "score"),
	         jstr(a, "severity") ? jstr(a, "severity") : "?");
	snprintf(f->ruleset, sizeof(f->ruleset), "%s %s (hash %.12s)", nz(jstr(a, "ruleset_name")),
	         nz(jstr(a, "ruleset_version")), jstr(a, "ruleset_hash") ? jstr(a, "ruleset_hash") : "");
	snprintf(f->firings, sizeof(f->firings), "%lld, days %s .. %s",
	         (long long)json_integer_value(json_object_get(a, "firings")),
	         nz(jstr(a, "first_day")), nz(jstr(a, "last_day")));
	format_time(jstr(a, "opened_at"), f->opened, sizeof(f->opened));
	format_time(jstr(a, "last_seen"), f->last_seen, sizeof(f->last_seen));
	if (json_is_object(queue))
		snprintf(f->queue, sizeof(f->queue), "%lld of %lld",
		         (long long)json_integer_value(json_object_get(queue, "position")),
		         (long long)json_integer_value(json_object_get(queue, "size")));
	else
		snprintf(f->queue, sizeof(f->queue), "not in the queue");
	format_time(jstr(a, "claimed_at"), claimed, sizeof(claimed));
	if (jstr(a, "analyst"))
		snprintf(f->holder, sizeof(f->holder), "%s (claimed %s)", jstr(a, "analyst"), claimed);
	else
		snprintf(f->holder, sizeof(f->holder), "nobody");
	if (jstr(a, "disposition")) {
		char closed[64];
		format_time(jstr(a, "closed_at"), closed, sizeof(closed));
		snprintf(f->closed, sizeof(f->closed), "%s at %s", nz(jstr(a, "disposition")), closed);
	} else {
		f->closed[0] = '\0';
	}
}

static void show_text(FILE *out, const json_t *detail)
{
	const json_t *a = json_object_get(detail, "alert");
	struct alert_facts f;
	struct curve cv;
	size_t i;
	json_t *v;
	char line[1024];

	alert_facts_fill(detail, &f);
	fputs("alert ", out);
	put_text(out, jstr(a, "alert_id"));
	fprintf(out, "  [%s]  queue position %s\n", nz(jstr(a, "status")), f.queue);
	const char *names[] = {"customer", "score", "rule set", "firings", "opened", "last seen",
	                       "area loss rate", "credit grade", "analyst"};
	const char *values[] = {f.customer, f.score, f.ruleset, f.firings, f.opened, f.last_seen,
	                        f.area, f.grade, f.holder};
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		fprintf(out, "  %-15s ", names[k]);
		put_text(out, values[k]);
		fputc('\n', out);
	}
	if (f.closed[0]) {
		fprintf(out, "  %-15s ", "disposition");
		put_text(out, f.closed);
		fprintf(out, "\n  %-15s ", "note");
		put_text(out, jstr(a, "note"));
		fputc('\n', out);
	}

	fprintf(out, "\nrules that fired (latest firing)\n");
	json_array_foreach(json_object_get(a, "rules"), i, v) {
		fputs("  ", out);
		put_cell(out, jstr(v, "id"), 24);
		fprintf(out, " %-8s %6g  ", jstr(v, "severity") ? jstr(v, "severity") : "?",
		        jnum(v, "score"));
		put_text(out, jstr(v, "title"));
		fputc('\n', out);
		const char *name;
		json_t *ev;
		json_object_foreach(json_object_get(v, "evidence"), name, ev) {
			char value[256];
			format_value(ev, value, sizeof(value));
			fputs("      ", out);
			put_cell(out, name, 24);
			fputc(' ', out);
			put_text(out, value);
			fputc('\n', out);
		}
	}

	show_curve(detail, &cv);
	fprintf(out, "\nenergy, last %d days, against the baseline\n", cv.n);
	curve_print_text(out, &cv);

	const json_t *sup = json_object_get(detail, "suppressions");
	fprintf(out, "\nsuppressions for this customer\n");
	if (json_array_size(sup) == 0)
		fprintf(out, "  none\n");
	json_array_foreach(sup, i, v) {
		suppression_summary(v, line, sizeof(line));
		fputs("  ", out);
		put_text(out, line);
		fputc('\n', out);
	}

	fprintf(out, "\nhistory\n");
	size_t quiet = 0;
	json_array_foreach(json_object_get(detail, "events"), i, v) {
		const char *action = jstr(v, "action");
		const json_t *after = json_object_get(v, "after");
		/* firings that changed nothing material are counted, not listed */
		if (action && strcmp(action, "updated") == 0 &&
		    !json_is_integer(json_object_get(after, "published_revision")) &&
		    !json_array_size(json_object_get(after, "suppressed_rules"))) {
			quiet++;
			continue;
		}
		char when[64];
		format_time(jstr(v, "at"), when, sizeof(when));
		event_summary(v, line, sizeof(line));
		fprintf(out, "  %s  ", when);
		put_cell(out, jstr(v, "actor"), 12);
		fputc(' ', out);
		put_cell(out, action, 9);
		fputc(' ', out);
		put_text(out, line);
		fputc('\n', out);
	}
	if (quiet)
		fprintf(out, "  (%zu more firing(s) refreshed the evidence without a material change)\n",
		        quiet);
}

static void show_html(FILE *out, const json_t *detail)
{
	const json_t *a = json_object_get(detail, "alert");
	struct alert_facts f;
	struct curve cv;
	size_t i;
	json_t *v;
	char title[512], line[1024];

	alert_facts_fill(detail, &f);
	snprintf(title, sizeof(title), "Theft alert %s", nz(jstr(a, "alert_id")));
	page_begin(out, title);
	fputs("<h1>Alert <code>", out);
	html_text(out, jstr(a, "alert_id"));
	fputs("</code>", out);
	badge(out, "sev-", jstr(a, "severity"));
	badge(out, "st-", jstr(a, "status"));
	fputs("</h1>\n<table class=\"facts\">\n", out);
	fact(out, "Customer", f.customer);
	fact(out, "Score", f.score);
	fact(out, "Area loss rate", f.area);
	fact(out, "Credit grade", f.grade);
	fact(out, "Rule set", f.ruleset);
	fact(out, "Firings", f.firings);
	fact(out, "Opened", f.opened);
	fact(out, "Last seen", f.last_seen);
	fact(out, "Queue position", f.queue);
	fact(out, "Analyst", f.holder);
	if (f.closed[0]) {
		fact(out, "Disposition", f.closed);
		fact(out, "Note", jstr(a, "note"));
	}
	fputs("</table>\n", out);

	show_curve(detail, &cv);
	fprintf(out, "<h2>Energy, last %d days, against the baseline</h2>\n", cv.n);
	snprintf(title, sizeof(title), "Daily energy of customer %s against its baseline",
	         nz(jstr(a, "customer_id")));
	curve_svg(out, &cv, title, 0);
	fputs("<p class=\"muted\">Shaded: days a rule fired. Triangles: tamper events, as dated by "
	      "the days_since_tamper evidence of the firings. Hover a point for its value.</p>\n",
	      out);

	fputs("<h2>Rules that fired (latest firing)</h2>\n<table>\n<tr><th>Rule</th><th>Title</th>"
	      "<th>Severity</th><th class=\"num\">Score</th><th>Evidence</th></tr>\n", out);
	json_array_foreach(json_object_get(a, "rules"), i, v) {
		fputs("<tr><td><code>", out);
		html_text(out, jstr(v, "id"));
		fputs("</code></td><td>", out);
		html_text(out, jstr(v, "title"));
		fputs("</td><td>", out);
		badge(out, "sev-", jstr(v, "severity"));
		fputs("</td><td class=\"num\">", out);
		html_printf(out, "%g", jnum(v, "score"));
		fputs("</td><td>", out);
		evidence_html(out, json_object_get(v, "evidence"));
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n<h2>Suppressions for this customer</h2>\n", out);
	const json_t *sup = json_object_get(detail, "suppressions");
	if (json_array_size(sup) == 0)
		fputs("<p class=\"muted\">None.</p>\n", out);
	else
		fputs("<ul class=\"tight\">\n", out);
	json_array_foreach(sup, i, v) {
		suppression_summary(v, line, sizeof(line));
		fputs("<li>", out);
		html_text(out, line);
		fputs("</li>\n", out);
	}
	if (json_array_size(sup))
		fputs("</ul>\n", out);

	fputs("<h2>History</h2>\n<table>\n<tr><th>When</th><th>Who</th><th>What</th>"
	      "<th>Details</th></tr>\n", out);
	json_array_foreach(json_object_get(detail, "events"), i, v) {
		char when[64];
		format_time(jstr(v, "at"), when, sizeof(when));
		event_summary(v, line, sizeof(line));
		fputs("<tr><td>", out);
		html_text(out, when);
		fputs("</td><td>", out);
		html_text(out, jstr(v, "actor"));
		fputs("</td><td>", out);
		html_text(out, jstr(v, "action"));
		fputs("</td><td>", out);
		html_text(out, line);
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n", out);
	page_end(out);
}

static int cmd_show(int argc, char **argv)
{
	struct opts o;
	struct review_store *rv = NULL;
	json_t *detail = NULL;
	char errstr[1024];
	int rc = opts_parse(argc, argv, "alerts show", BIT(OPT_CONFIG) | BIT(OPT_JSON) | BIT(OPT_HTML),
	                    1, alerts_usage, &o);
	if (rc)
		return rc == 1 ? EXIT_OK : rc;
	if (o.value[OPT_JSON] && o.value[OPT_HTML]) {
		fprintf(stderr, "riskctl alerts show: give at most one of --json and --html\n");
		return EXIT_USAGE;
	}
	if ((rc = connect_analyst("alerts show", &o, &rv)))
		return rc;
	int err = review_show(rv, o.id, &detail, errstr, sizeof(errstr));
	if (err) {
		rc = store_failed("alerts show", err, errstr);
		goto done;
	}
	if (o.value[OPT_JSON]) {
		json_dumpf(detail, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else if (o.value[OPT_HTML]) {
		show_html(stdout, detail);
	} else {
		show_text(stdout, detail);
	}
	rc = EXIT_OK;
done:
	json_decref(detail);
	review_store_close(rv);
	return rc;
}

/* ---- list and report ---- */

static void filter_from_opts(const struct opts *o, struct review_filter *f, int with_detail)
{
	f->status = o->value[OPT_STATUS];
	f->kind = o->value[OPT_KIND];
	f->area = o->value[OPT_AREA];
	f->limit = o->limit;
	f->with_detail = with_detail;
}

static void list_text(FILE *out, const json_t *rows, const char *database)
{
	size_t i;
	json_t *r;
	int id_w = 5, cust_w = 8;
	json_array_foreach(rows, i, r) {
		int n = (int)strlen(jstr(r, "alert_id") ? jstr(r, "alert_id") : "");
		id_w = n > id_w ? (n > 40 ? 40 : n) : id_w;
		n = (int)strlen(jstr(r, "customer_id") ? jstr(r, "customer_id") : "");
		cust_w = n > cust_w ? (n > 24 ? 24 : n) : cust_w;
	}
	if (json_array_size(rows) == 0) {
		fprintf(out, "no alerts match in database %s (riskctl connects with postgres.dsn of "
		        "--config, default config/riskd.yaml, then var/stack.env and RISKD_PG_DSN)\n",
		        database);
		return;
	}
	fprintf(out, "%4s  %-*s  %-*s  %6s  %-8s  %-9s  %-12s  %-8s  %s\n", "#", id_w, "ALERT",
	        cust_w, "CUSTOMER", "SCORE", "SEVERITY", "STATUS", "ANALYST", "AGE", "RULES");
	json_array_foreach(rows, i, r) {
		char age[32], rules[512];
		format_duration(jnum(r, "age_s"), age, sizeof(age));
		join_strings(json_object_get(r, "rule_ids"), rules, sizeof(rules));
		fprintf(out, "%4lld  ", (long long)json_integer_value(json_object_get(r, "priority")));
		put_cell(out, jstr(r, "alert_id"), id_w);
		fputs("  ", out);
		put_cell(out, jstr(r, "customer_id"), cust_w);
		fprintf(out, "  %6g  %-8s  %-9s  ", jnum(r, "score"),
		        jstr(r, "severity") ? jstr(r, "severity") : "?",
		        jstr(r, "status") ? jstr(r, "status") : "?");
		put_cell(out, jstr(r, "analyst"), 12);
		fprintf(out, "  %-8s  ", age);
		put_text(out, rules);
		fputc('\n', out);
	}
}

static int cmd_list(int argc, char **argv)
{
	struct opts o;
	struct review_store *rv = NULL;
	struct review_filter f;
	json_t *rows = NULL;
	char errstr[1024];
	int rc = opts_parse(argc, argv, "alerts list",
	                    BIT(OPT_CONFIG) | BIT(OPT_STATUS) | BIT(OPT_KIND) | BIT(OPT_AREA) |
	                        BIT(OPT_LIMIT) | BIT(OPT_JSON),
	                    0, alerts_usage, &o);
	if (rc)
		return rc == 1 ? EXIT_OK : rc;
	if ((rc = connect_analyst("alerts list", &o, &rv)))
		return rc;
	filter_from_opts(&o, &f, 0);
	int err = review_list(rv, &f, &rows, errstr, sizeof(errstr));
	if (err) {
		rc = store_failed("alerts list", err, errstr);
		goto done;
	}
	if (o.value[OPT_JSON]) {
		json_dumpf(rows, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else {
		list_text(stdout, rows, review_store_database(rv));
	}
	rc = EXIT_OK;
done:
	json_decref(rows);
	review_store_close(rv);
	return rc;
}

static void report_html(FILE *out, const json_t *rows, const struct review_filter *f)
{
	size_t i;
	json_t *r;
	struct curve cv;
	char title[256];

	page_begin(out, "Review queue");
	fprintf(out, "<h1>Review queue</h1>\n<p class=\"muted\">");
	html_printf(out, "%zu alert(s), status %s%s%s%s%s, by priority (score, severity, age); "
	                 "at most %d.",
	            json_array_size(rows), f->status ? f->status : "open or in_review",
	            f->kind ? ", kind " : "", f->kind ? f->kind : "", f->area ? ", area " : "",
	            f->area ? f->area : "", f->limit);
	fputs(" Charts: daily energy (blue) against the baseline (dashed) over the last 60 days; "
	      "shaded from the alert's first to its latest firing.</p>\n", out);
	fputs("<table>\n<tr><th class=\"num\">#</th><th>Alert</th><th class=\"num\">Score</th>"
	      "<th>Status</th><th>Rules</th><th>Energy</th></tr>\n", out);
	json_array_foreach(rows, i, r) {
		char age[32], rules[512];
		format_duration(jnum(r, "age_s"), age, sizeof(age));
		join_strings(json_object_get(r, "rule_ids"), rules, sizeof(rules));
		fprintf(out, "<tr><td class=\"num\">%lld</td><td><code>",
		        (long long)json_integer_value(json_object_get(r, "priority")));
		html_text(out, jstr(r, "alert_id"));
		fputs("</code><br/><span class=\"muted\">customer ", out);
		html_text(out, jstr(r, "customer_id"));
		fputs(", area ", out);
		html_text(out, jstr(r, "transformer_id") ? jstr(r, "transformer_id") : "?");
		fputs("</span></td><td class=\"num\">", out);
		html_printf(out, "%g", jnum(r, "score"));
		badge(out, "sev-", jstr(r, "severity"));
		fputs("</td><td>", out);
		badge(out, "st-", jstr(r, "status"));
		fputs("<br/><span class=\"muted\">", out);
		html_printf(out, "%s, age %s", jstr(r, "analyst") ? jstr(r, "analyst") : "unclaimed", age);
		fputs("</span></td><td>", out);
		html_text(out, rules);
		fputs("</td><td>", out);
		curve_load(&cv, json_object_get(r, "curve"));
		curve_mark_span(&cv, jstr(r, "first_day"), jstr(r, "last_day"));
		snprintf(title, sizeof(title), "Daily energy of customer %s", nz(jstr(r, "customer_id")));
		curve_svg(out, &cv, title, 1);
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n", out);
	page_end(out);
}

static int cmd_report(int argc, char **argv)
{
	struct opts o;
	struct review_store *rv = NULL;
	struct review_filter f;
	json_t *rows = NULL;
	char errstr[1024];
	int rc = opts_parse(argc, argv, "alerts report",
	                    BIT(OPT_CONFIG) | BIT(OPT_STATUS) | BIT(OPT_KIND) | BIT(OPT_AREA) |
	                        BIT(OPT_LIMIT) | BIT(OPT_HTML),
	                    0, alerts_usage, &o);
	if (rc)
		return rc == 1 ? EXIT_OK : rc;
	if (!o.value[OPT_HTML]) {
		fprintf(stderr, "riskctl alerts report: only --html is supported (use `alerts list` "
		                "for text or JSON)\n");
		return EXIT_USAGE;
	}
	if ((rc = connect_analyst("alerts report", &o, &rv)))
		return rc;
	filter_from_opts(&o, &f, 1);
	int err = review_list(rv, &f, &rows, errstr, sizeof(errstr));
	if (err) {
		rc = store_failed("alerts report", err, errstr);
		goto done;
	}
	report_html(stdout, rows, &f);
	rc = EXIT_OK;
done:
	json_decref(rows);
	review_store_close(rv);
	return rc;
}

/* ---- lifecycle ---- */

/*
 * The start of a lifecycle command: parses argv (one alert id; --config, --analyst and the
 * options in allowed; every option in required must be given), connects, and refuses an
 * --analyst other than the login role. Returns EXIT_OK with *rv open (NULL after --help,
 * nothing to do), or an exit code after a message.
 */
static int lifecycle_open(int argc, char **argv, const char *what, unsigned allowed,
                          unsigned required, struct opts *o, struct review_store **rv)
{
	*rv = NULL;
	int rc = opts_parse(argc, argv, what, BIT(OPT_CONFIG) | BIT(OPT_ANALYST) | allowed, 1,
	                    alerts_usage, o);
	if (rc)
		return rc == 1 ? EXIT_OK : rc;
	for (int opt = 0; opt < OPT__COUNT; opt++)
		if ((required & BIT(opt)) && !o->value[opt]) {
			fprintf(stderr, "riskctl %s: give --%s\n", what, long_options[opt].name);
			return EXIT_USAGE;
		}
	if ((rc = connect_analyst(what, o, rv)))
		return rc;
	if ((rc = check_analyst(what, o, *rv))) {
		review_store_close(*rv);
		*rv = NULL;
	}
	return rc;
}

/* Prints "alert ID VERB LOGIN" and tail on stdout (stored values masked). */
static void say_done(const char *id, const char *verb, const struct review_store *rv,
                     const char *tail)
{
	fputs("alert ", stdout);
	put_text(stdout, id);
	fprintf(stdout, " %s ", verb);
	put_text(stdout, review_store_login(rv));
	fputs(tail, stdout);
}

static int cmd_claim(int argc, char **argv)
{
	struct opts o;
	struct review_store *rv;
	char errstr[1024];
	int changed = 0;
	int rc = lifecycle_open(argc, argv, "alerts claim", 0, 0, &o, &rv);
	if (rc || !rv)
		return rc;
	int err = review_claim(rv, o.id, opts_analyst(&o), &changed, errstr, sizeof(errstr));
	if (err)
		rc = store_failed("alerts claim", err, errstr);
	else
		say_done(o.id, changed ? "claimed by" : "is already in review by", rv,
		         changed ? " (in_review)\n" : " (nothing changed)\n");
	review_store_close(rv);
	return rc;
}

/* review_reopen as the login role (check_analyst has vouched for any --analyst). */
static int reopen_as_login(struct review_store *rv, const char *alert_id, const char *note,
                           char *errstr, size_t errstr_size)
{
	return review_reopen(rv, alert_id, NULL, note, errstr, errstr_size);
}

/* release and reopen: `ID [--note TEXT]`, which put the alert back in the queue by change. */
static int requeue(int argc, char **argv, const char *what, const char *verb,
                   int (*change)(struct review_store *rv, const char *alert_id,
                                 const char *note, char *errstr, size_t errstr_size))
{
	struct opts o;
	struct review_store *rv;
	char errstr[1024];
	int rc = lifecycle_open(argc, argv, what, BIT(OPT_NOTE), 0, &o, &rv);
	if (rc || !rv)
		return rc;
	int err = change(rv, o.id, o.value[OPT_NOTE], errstr, sizeof(errstr));
	if (err)
		rc = store_failed(what, err, errstr);
	else
		say_done(o.id, verb, rv, " (open, back in the queue)\n");
	review_store_close(rv);
	return rc;
}

static int cmd_release(int argc, char **argv)
{
	return requeue(argc, argv, "alerts release", "released by", review_release);
}

static int cmd_reopen(int argc, char **argv)
{
	return requeue(argc, argv, "alerts reopen", "reopened by", reopen_as_login);
}

static int cmd_resolve(int argc, char **argv)
{
	struct opts o;
	struct review_store *rv;
	json_t *detail = NULL;
	char errstr[1024];
	int rc = lifecycle_open(argc, argv, "alerts resolve",
	                        BIT(OPT_DISPOSITION) | BIT(OPT_NOTE) | BIT(OPT_SUPPRESS_DAYS),
	                        BIT(OPT_DISPOSITION) | BIT(OPT_NOTE), &o, &rv);
	if (rc || !rv)
		return rc;
	int err = review_resolve(rv, o.id, opts_analyst(&o), o.value[OPT_DISPOSITION],
	                         o.value[OPT_NOTE], o.suppress_days, errstr, sizeof(errstr));
	if (err) {
		rc = store_failed("alerts resolve", err, errstr);
		goto done;
	}
	char closed_as[64];
	snprintf(closed_as, sizeof(closed_as), "closed as %s by", o.value[OPT_DISPOSITION]);
	say_done(o.id, closed_as, rv, "\n");
	/* what the dismissal quieted, read back (the resolution itself is already committed) */
	if (review_show(rv, o.id, &detail, errstr, sizeof(errstr)) == 0) {
		size_t i;
		json_t *s;
		char line[1024];
		json_array_foreach(json_object_get(detail, "suppressions"), i, s) {
			const char *from = jstr(s, "alert_id");
			if (!from || strcmp(from, o.id) != 0 || jstr(s, "lifted_at"))
				continue;
			suppression_summary(s, line, sizeof(line));
			fputs("  ", stdout);
			put_text(stdout, line);
			fputc('\n', stdout);
		}
	}
done:
	json_decref(detail);
	review_store_close(rv);
	return rc;
}

int alerts_main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} subcommands[] = {
		{"list", cmd_list},       {"show", cmd_show},     {"claim", cmd_claim},
		{"release", cmd_release}, {"resolve", cmd_resolve}, {"reopen", cmd_reopen},
		{"report", cmd_report},
	};
	if (argc < 2) {
		alerts_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		alerts_usage(stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	char shown[RISKCTL_SHOWN_MAX];
	fprintf(stderr, "riskctl alerts: unknown command '%s'\n",
	        riskctl_shown(argv[1], shown, sizeof(shown)));
	alerts_usage(stderr);
	return EXIT_USAGE;
}

/* ---- rules stats ---- */

static void stats_text(FILE *out, const json_t *rows)
{
	size_t i;
	json_t *r;
	if (json_array_size(rows) == 0) {
		fprintf(out, "no rule has raised an alert yet\n");
		return;
	}
	fprintf(out, "%-16s %-8s %-24s %7s %7s %7s %9s %9s %9s %11s\n", "RULE SET", "VERSION", "RULE",
	        "HITS", "ALERTS", "ACTIVE", "CONFIRMED", "DISMISSED", "PRECISION", "MEDIAN TTD");
	json_array_foreach(rows, i, r) {
		char precision[16], ttd[32];
		double p = jnum(r, "precision");
		if (isfinite(p))
			snprintf(precision, sizeof(precision), "%.1f%%", 100 * p);
		else
			snprintf(precision, sizeof(precision), "-");
		format_duration(jnum(r, "median_time_to_disposition_s"), ttd, sizeof(ttd));
		put_cell(out, jstr(r, "ruleset_name"), 16);
		fputc(' ', out);
		put_cell(out, jstr(r, "ruleset_version"), 8);
		fputc(' ', out);
		put_cell(out, jstr(r, "rule_id"), 24);
		fprintf(out, " %7lld %7lld %7lld %9lld %9lld %9s %11s\n",
		        (long long)json_integer_value(json_object_get(r, "hits")),
		        (long long)json_integer_value(json_object_get(r, "alerts")),
		        (long long)json_integer_value(json_object_get(r, "active")),
		        (long long)json_integer_value(json_object_get(r, "confirmed")),
		        (long long)json_integer_value(json_object_get(r, "dismissed")), precision, ttd);
	}
	fprintf(out, "precision = confirmed / (confirmed + dismissed); dismissed = false_positive, "
	             "meter_fault or billing_error\n");
}

int rules_stats_main(int argc, char **argv)
{
	struct opts o;
	struct review_store *rv = NULL;
	json_t *rows = NULL;
	char errstr[1024];
	int rc = opts_parse(argc, argv, "rules stats",
	                    BIT(OPT_CONFIG) | BIT(OPT_RULESET) | BIT(OPT_JSON), 0, stats_usage, &o);
	if (rc)
		return rc == 1 ? EXIT_OK : rc;
	if ((rc = connect_analyst("rules stats", &o, &rv)))
		return rc;
	int err = review_rule_stats(rv, o.value[OPT_RULESET], &rows, errstr, sizeof(errstr));
	if (err) {
		rc = store_failed("rules stats", err, errstr);
		goto done;
	}
	if (o.value[OPT_JSON]) {
		json_dumpf(rows, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else {
		stats_text(stdout, rows);
	}
	rc = EXIT_OK;
done:
	json_decref(rows);
	review_store_close(rv);
	return rc;
}
