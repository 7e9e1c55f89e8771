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
#include "alert_view.h"
#include "riskctl.h"

#define ANALYST_ROLE "risk_analyst"
#define VIEW_CURVE_DAYS_MAX 120
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

void riskctl_complain(const char *what, const char *message)
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

int riskctl_connect_analyst(const char *what, const char *config_path,
                            struct review_store **rv)
{
	static struct riskd_config cfg;
	char errstr[1024];
	const char *path = config_path;

	if (!path && access("config/riskd.yaml", R_OK) == 0)
		path = "config/riskd.yaml";
	if (config_load(&cfg, path, errstr, sizeof(errstr)) != 0) {
		riskctl_complain(what, errstr);
		return EXIT_USAGE;
	}
	/* libpq's message about a DSN it cannot parse quotes the DSN, password and all */
	char shown[STORE_DSN_SHOWN_MAX];
	if (store_dsn_shown(cfg.pg_dsn, shown, sizeof(shown)) != 0) {
		snprintf(errstr, sizeof(errstr), "postgres.dsn: %s", shown);
		riskctl_complain(what, errstr);
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
	riskctl_complain(what, errstr);
	return rc == RISKD_ERR_UNAVAILABLE ? EXIT_UNREACHABLE : EXIT_REFUSED;
}

/* Prints a store error (the server's message may quote an argument) and maps it to the exit
 * code. */
static int store_failed(const char *what, int rc, const char *errstr)
{
	riskctl_complain(what, errstr);
	return rc == RISKD_ERR_UNAVAILABLE ? EXIT_UNREACHABLE : EXIT_REFUSED;
}

/* ---- text output ---- */

#define CHART_ROWS 10

/* The curve as a text chart, one column per day. */
static void curve_print_text(FILE *out, const struct view_curve *cv)
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

static void page_begin(FILE *out, const char *title)
{
	fputs("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n"
	      "<meta charset=\"utf-8\"/>\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'\"/>\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>",
	      out);
	view_html(out, title);
	fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n", view_style);
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

static void show_text(FILE *out, const json_t *detail)
{
	const json_t *a = json_object_get(detail, "alert");
	struct view_facts f;
	struct view_curve cv;
	size_t i;
	json_t *v;
	char line[1024];

	view_facts_fill(detail, &f);
	fputs("alert ", out);
	view_put_text(out, view_str(a, "alert_id"));
	fprintf(out, "  [%s]  queue position %s\n", view_nz(view_str(a, "status")), f.queue);
	const char *names[] = {"customer", "score", "stolen energy", "back-bill", "rule set",
	                       "firings", "opened", "last seen", "area loss rate", "credit grade",
	                       "analyst"};
	const char *values[] = {f.customer, f.score, f.stolen, f.backbill, f.ruleset, f.firings,
	                        f.opened, f.last_seen, f.area, f.grade, f.holder};
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		fprintf(out, "  %-15s ", names[k]);
		view_put_text(out, values[k]);
		fputc('\n', out);
	}
	if (f.closed[0]) {
		fprintf(out, "  %-15s ", "disposition");
		view_put_text(out, f.closed);
		fprintf(out, "\n  %-15s ", "note");
		view_put_text(out, view_str(a, "note"));
		fputc('\n', out);
	}

	fprintf(out, "\nrules that fired (latest firing)\n");
	json_array_foreach(json_object_get(a, "rules"), i, v) {
		fputs("  ", out);
		view_put_cell(out, view_str(v, "id"), 24);
		fprintf(out, " %-8s %6g  ", view_str(v, "severity") ? view_str(v, "severity") : "?",
		        view_num(v, "score"));
		view_put_text(out, view_str(v, "title"));
		fputc('\n', out);
		const char *name;
		json_t *ev;
		json_object_foreach(json_object_get(v, "evidence"), name, ev) {
			char value[256];
			view_value(ev, value, sizeof(value));
			fputs("      ", out);
			view_put_cell(out, name, 24);
			fputc(' ', out);
			view_put_text(out, value);
			fputc('\n', out);
		}
	}

	view_alert_curve(detail, &cv);
	fprintf(out, "\nenergy, last %d %s\n", cv.n, view_curve_caption(detail));
	curve_print_text(out, &cv);

	const json_t *sup = json_object_get(detail, "suppressions");
	fprintf(out, "\nsuppressions for this customer\n");
	if (json_array_size(sup) == 0)
		fprintf(out, "  none\n");
	json_array_foreach(sup, i, v) {
		view_suppression_summary(v, line, sizeof(line));
		fputs("  ", out);
		view_put_text(out, line);
		fputc('\n', out);
	}

	fprintf(out, "\nhistory\n");
	size_t quiet = 0;
	json_array_foreach(json_object_get(detail, "events"), i, v) {
		const char *action = view_str(v, "action");
		const json_t *after = json_object_get(v, "after");
		/* firings that changed nothing material are counted, not listed */
		if (action && strcmp(action, "updated") == 0 &&
		    !json_is_integer(json_object_get(after, "published_revision")) &&
		    !json_array_size(json_object_get(after, "suppressed_rules"))) {
			quiet++;
			continue;
		}
		char when[64];
		view_time(view_str(v, "at"), when, sizeof(when));
		view_event_summary(v, line, sizeof(line));
		fprintf(out, "  %s  ", when);
		view_put_cell(out, view_str(v, "actor"), 12);
		fputc(' ', out);
		view_put_cell(out, action, 9);
		fputc(' ', out);
		view_put_text(out, line);
		fputc('\n', out);
	}
	if (quiet)
		fprintf(out, "  (%zu more firing(s) refreshed the evidence without a material change)\n",
		        quiet);
}

static void show_html(FILE *out, const json_t *detail)
{
	const json_t *a = json_object_get(detail, "alert");
	char title[512];

	snprintf(title, sizeof(title), "Theft alert %s", view_nz(view_str(a, "alert_id")));
	page_begin(out, title);
	view_alert_heading(out, detail);
	view_alert_facts(out, detail);
	view_alert_evidence(out, detail);
	view_alert_history(out, detail);
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
	if ((rc = riskctl_connect_analyst("alerts show", o.value[OPT_CONFIG], &rv)))
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
		int n = (int)strlen(view_str(r, "alert_id") ? view_str(r, "alert_id") : "");
		id_w = n > id_w ? (n > 40 ? 40 : n) : id_w;
		n = (int)strlen(view_str(r, "customer_id") ? view_str(r, "customer_id") : "");
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
		view_duration(view_num(r, "age_s"), age, sizeof(age));
		view_join(json_object_get(r, "rule_ids"), rules, sizeof(rules));
		fprintf(out, "%4lld  ", (long long)json_integer_value(json_object_get(r, "priority")));
		view_put_cell(out, view_str(r, "alert_id"), id_w);
		fputs("  ", out);
		view_put_cell(out, view_str(r, "customer_id"), cust_w);
		fprintf(out, "  %6g  %-8s  %-9s  ", view_num(r, "score"),
		        view_str(r, "severity") ? view_str(r, "severity") : "?",
		        view_str(r, "status") ? view_str(r, "status") : "?");
		view_put_cell(out, view_str(r, "analyst"), 12);
		fprintf(out, "  %-8s  ", age);
		view_put_text(out, rules);
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
	if ((rc = riskctl_connect_analyst("alerts list", o.value[OPT_CONFIG], &rv)))
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

	page_begin(out, "Review queue");
	fprintf(out, "<h1>Review queue</h1>\n<p class=\"muted\">");
	view_htmlf(out, "%zu alert(s), status %s%s%s%s%s, by priority (score, severity, age); "
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
		view_duration(view_num(r, "age_s"), age, sizeof(age));
		view_join(json_object_get(r, "rule_ids"), rules, sizeof(rules));
		fprintf(out, "<tr><td class=\"num\">%lld</td><td><code>",
		        (long long)json_integer_value(json_object_get(r, "priority")));
		view_html(out, view_str(r, "alert_id"));
		fputs("</code><br/><span class=\"muted\">customer ", out);
		view_html(out, view_str(r, "customer_id"));
		fputs(", area ", out);
		view_html(out, view_str(r, "transformer_id") ? view_str(r, "transformer_id") : "?");
		fputs("</span></td><td class=\"num\">", out);
		view_htmlf(out, "%g", view_num(r, "score"));
		view_badge(out, "sev-", view_str(r, "severity"));
		fputs("</td><td>", out);
		view_badge(out, "st-", view_str(r, "status"));
		fputs("<br/><span class=\"muted\">", out);
		view_htmlf(out, "%s, age %s", view_str(r, "analyst") ? view_str(r, "analyst") : "unclaimed", age);
		fputs("</span></td><td>", out);
		view_html(out, rules);
		fputs("</td><td>", out);
		view_queue_sparkline(out, r);
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
	if ((rc = riskctl_connect_analyst("alerts report", o.value[OPT_CONFIG], &rv)))
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
	if ((rc = riskctl_connect_analyst(what, o->value[OPT_CONFIG], rv)))
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
	view_put_text(stdout, id);
	fprintf(stdout, " %s ", verb);
	view_put_text(stdout, review_store_login(rv));
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
	int closed = 1;
	int err = review_resolve(rv, o.id, opts_analyst(&o), o.value[OPT_DISPOSITION],
	                         o.value[OPT_NOTE], o.suppress_days, &closed, errstr, sizeof(errstr));
	if (err) {
		rc = store_failed("alerts resolve", err, errstr);
		goto done;
	}
	if (!closed) {
		say_done(o.id, "resolved as confirmed_theft by", rv,
		         "; it stays in review until a second analyst approves it (four-eyes: "
		         "risk.alert_approve, or Approve in riskd-console)\n");
		rc = EXIT_OK;
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
			const char *from = view_str(s, "alert_id");
			if (!from || strcmp(from, o.id) != 0 || view_str(s, "lifted_at"))
				continue;
			view_suppression_summary(s, line, sizeof(line));
			fputs("  ", stdout);
			view_put_text(stdout, line);
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
		double p = view_num(r, "precision");
		if (isfinite(p))
			snprintf(precision, sizeof(precision), "%.1f%%", 100 * p);
		else
			snprintf(precision, sizeof(precision), "-");
		view_duration(view_num(r, "median_time_to_disposition_s"), ttd, sizeof(ttd));
		view_put_cell(out, view_str(r, "ruleset_name"), 16);
		fputc(' ', out);
		view_put_cell(out, view_str(r, "ruleset_version"), 8);
		fputc(' ', out);
		view_put_cell(out, view_str(r, "rule_id"), 24);
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
	if ((rc = riskctl_connect_analyst("rules stats", o.value[OPT_CONFIG], &rv)))
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
