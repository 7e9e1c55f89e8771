/*
 * riskctl_inspect.c - `riskctl inspect`: the field crews' inspection list. Customers with an
 * active theft alert, ranked by expected recovered energy (the alert's theft probability x
 * its estimated stolen kWh), read from risk.v_inspection_list (deploy/sql/015_inspection.sql),
 * the one place the ranking is defined: this command only filters by area, cuts the list at
 * the crew's budget and formats it. Text for a crew (two lines a customer: what to visit and
 * why), JSON (--json, the view's rows) or CSV (--csv, one header line, RFC 4180 quoting).
 *
 * It connects like `riskctl alerts` (postgres.dsn of --config, var/stack.env, RISKD_PG_DSN)
 * as role risk_analyst. Exit status: 0 done (an empty list too), 1 database error, 2 usage or
 * configuration error, 3 PostgreSQL unreachable.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../config/riskd_base.h"
#include "../detector/store_review.h"
#include "alert_view.h"
#include "riskctl.h"

#define BUDGET_MAX 1000000
/* Significant digits of a number in --json and --csv: PostgreSQL's own text of a double
 * (15 digits) without the noise of a 17-digit round trip. */
#define OUTPUT_DIGITS 15

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };
enum { OPT_CONFIG = 1, OPT_AREA, OPT_BUDGET, OPT_JSON, OPT_CSV, OPT_HELP };

/* The view's columns in the CSV, in order. */
static const char *const csv_columns[] = {
    "rank", "alert_id", "customer_id", "transformer_id", "segment", "tariff", "status",
    "score", "severity", "probability", "expected_kwh", "stolen_kwh", "stolen_kwh_low",
    "stolen_kwh_high", "stolen_from", "stolen_to", "stolen_method", "backbill_amount",
    "backbill_currency", "backbill_reason", "expected_amount", "top_rule", "top_rule_title",
    "top_evidence", "first_day", "last_day",
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: riskctl inspect [--area TRANSFORMER] [--budget N] [--json | --csv]\n"
	        "                       [--config PATH]\n"
	        "customers with an open or in-review theft alert, ranked by expected recovered\n"
	        "energy (theft probability x estimated stolen kWh; risk.v_inspection_list)\n"
	        "  --area T     only customers of transformer area T\n"
	        "  --budget N   the N inspections the crew can do (1..%d; default: the whole list)\n"
	        "  --json       the view's rows as a JSON array;  --csv  as CSV with a header\n"
	        "exit status: 0 done, 1 database error, 2 usage, 3 PostgreSQL unreachable\n",
	        BUDGET_MAX);
}

/* A number of the row as text with `decimals` decimals, "-" when null. */
static void fmt_num(const json_t *row, const char *key, int decimals, char *buf, size_t size)
{
	double v = view_num(row, key);
	if (isfinite(v))
		snprintf(buf, size, "%.*f", decimals, v);
	else
		snprintf(buf, size, "-");
}

/* The top evidence as "name=value, ..." (values as view_value shows them). */
static void evidence_line(const json_t *evidence, char *buf, size_t size)
{
	const char *name;
	json_t *v;
	size_t used = 0;
	buf[0] = '\0';
	json_object_foreach((json_t *)evidence, name, v) {
		char value[64];
		view_value(v, value, sizeof(value));
		int n = snprintf(buf + used, size - used, "%s%s=%s", used ? ", " : "", name, value);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
}

static void print_text(FILE *out, const json_t *rows, const char *area, int budget,
                       const char *database)
{
	size_t i;
	json_t *r;
	if (json_array_size(rows) == 0) {
		fputs("nothing to inspect: no customer ", out);
		if (area) {
			fputs("of area ", out);
			view_put_text(out, area);
			fputc(' ', out);
		}
		fprintf(out, "has an open or in-review theft alert (database %s)\n", database);
		return;
	}
	fprintf(out, "inspection list: %zu customer(s)%s", json_array_size(rows),
	        budget > 0 ? " (budget " : "");
	if (budget > 0)
		fprintf(out, "%d)", budget);
	if (area) {
		fputs(", area ", out);
		view_put_text(out, area);
	}
	fprintf(out, ", ranked by expected recovered energy = theft probability x stolen kWh\n\n");
	fprintf(out, "%4s  %-10s %-8s %-12s %-20s %9s %5s %9s %-21s %-10s %s\n", "RANK", "CUSTOMER",
	        "AREA", "SEGMENT", "TARIFF", "EXPECTED", "PROB", "STOLEN", "95% RANGE kWh", "SINCE",
	        "BACK-BILL");
	json_array_foreach(rows, i, r) {
		char expected[32], prob[16], kwh[32], low[32], high[32], range[72], amount[96];
		char why[512], evidence[384];
		fmt_num(r, "expected_kwh", 1, expected, sizeof(expected));
		fmt_num(r, "probability", 2, prob, sizeof(prob));
		fmt_num(r, "stolen_kwh", 1, kwh, sizeof(kwh));
		fmt_num(r, "stolen_kwh_low", 1, low, sizeof(low));
		fmt_num(r, "stolen_kwh_high", 1, high, sizeof(high));
		snprintf(range, sizeof(range), "%s .. %s", low, high);
		if (isfinite(view_num(r, "backbill_amount")))
			snprintf(amount, sizeof(amount), "%.2f %s", view_num(r, "backbill_amount"),
			         view_nz(view_str(r, "backbill_currency")));
		else
			snprintf(amount, sizeof(amount), "no amount (%s)",
			         view_str(r, "backbill_reason") ? view_str(r, "backbill_reason")
			                                        : "not estimated");
		fprintf(out, "%4lld  ", (long long)json_integer_value(json_object_get(r, "rank")));
		view_put_cell(out, view_str(r, "customer_id"), 10);
		fputc(' ', out);
		view_put_cell(out, view_str(r, "transformer_id"), 8);
		fputc(' ', out);
		view_put_cell(out, view_str(r, "segment"), 12);
		fputc(' ', out);
		view_put_cell(out, view_str(r, "tariff"), 20);
		fprintf(out, " %9s %5s %9s %-21s ", expected, prob, kwh, range);
		view_put_cell(out, view_str(r, "stolen_from"), 10);
		fputc(' ', out);
		view_put_text(out, amount);
		evidence_line(json_object_get(r, "top_evidence"), evidence, sizeof(evidence));
		snprintf(why, sizeof(why), "alert %s: %s (%s)%s%s", view_nz(view_str(r, "alert_id")),
		         view_nz(view_str(r, "top_rule_title")), view_nz(view_str(r, "top_rule")),
		         evidence[0] ? ": " : "", evidence);
		fputs("\n      ", out);
		view_put_text(out, why);
		fputc('\n', out);
	}
}

/* One CSV field: RFC 4180 quoting for text (quotes doubled), numbers as JSON writes them,
 * objects as their compact JSON text, null as empty. */
static void csv_field(FILE *out, const json_t *v)
{
	char *text = NULL;
	const char *s = NULL;
	if (json_is_null(v) || !v)
		return;
	if (json_is_string(v)) {
		s = json_string_value(v);
	} else if (json_is_object(v) || json_is_array(v)) {
		text = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(OUTPUT_DIGITS));
		s = text;
	} else {
		text = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(OUTPUT_DIGITS));
		fputs(text ? text : "", out);
		free(text);
		return;
	}
	fputc('"', out);
	for (; s && *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
	free(text);
}

static void print_csv(FILE *out, const json_t *rows)
{
	size_t i, n = sizeof(csv_columns) / sizeof(csv_columns[0]);
	json_t *r;
	for (size_t c = 0; c < n; c++)
		fprintf(out, "%s%s", c ? "," : "", csv_columns[c]);
	fputs("\r\n", out);
	json_array_foreach(rows, i, r) {
		for (size_t c = 0; c < n; c++) {
			if (c)
				fputc(',', out);
			csv_field(out, json_object_get(r, csv_columns[c]));
		}
		fputs("\r\n", out);
	}
}

/* Parses argv into the options; returns 0, 1 after --help, or EXIT_USAGE after a message. */
static int parse_args(int argc, char **argv, const char **config, const char **area,
                      int *budget, int *format)
{
	static const struct option longs[] = {
	    {"config", required_argument, NULL, OPT_CONFIG},
	    {"area", required_argument, NULL, OPT_AREA},
	    {"budget", required_argument, NULL, OPT_BUDGET},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"csv", no_argument, NULL, OPT_CSV},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	char shown[RISKCTL_SHOWN_MAX];
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longs, NULL)) != -1) {
		char *end;
		long v;
		switch (c) {
		case OPT_CONFIG:
			*config = optarg;
			break;
		case OPT_AREA:
			if (!*optarg) {
				fprintf(stderr, "riskctl inspect: --area needs a transformer id\n");
				return EXIT_USAGE;
			}
			*area = optarg;
			break;
		case OPT_BUDGET:
			v = strtol(optarg, &end, 10);
			if (end == optarg || *end || v < 1 || v > BUDGET_MAX) {
				fprintf(stderr, "riskctl inspect: --budget must be a number of inspections "
				                "in 1..%d, not '%s'\n", BUDGET_MAX,
				        riskctl_shown(optarg, shown, sizeof(shown)));
				return EXIT_USAGE;
			}
			*budget = (int)v;
			break;
		case OPT_JSON:
		case OPT_CSV:
			if (*format && *format != c) {
				fprintf(stderr, "riskctl inspect: give at most one of --json and --csv\n");
				return EXIT_USAGE;
			}
			*format = c;
			break;
		case OPT_HELP:
			usage(stdout);
			return 1;
		default:
			fprintf(stderr, "riskctl inspect: %s '%s'\n",
			        c == ':' ? "missing value for option" : "unknown option",
			        riskctl_shown(argv[optind - 1], shown, sizeof(shown)));
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "riskctl inspect: unexpected argument '%s'\n",
		        riskctl_shown(argv[optind], shown, sizeof(shown)));
		return EXIT_USAGE;
	}
	return 0;
}

int inspect_main(int argc, char **argv)
{
	const char *config = NULL, *area = NULL;
	int budget = 0, format = 0;
	struct review_store *rv = NULL;
	json_t *rows = NULL;
	char errstr[1024];
	int rc = parse_args(argc, argv, &config, &area, &budget, &format);
	if (rc)
		return rc == 1 ? EXIT_OK : rc;
	if ((rc = riskctl_connect_analyst("inspect", config, &rv)))
		return rc;
	int err = review_inspection_list(rv, area, budget, &rows, errstr, sizeof(errstr));
	if (err) {
		if (err == RISKD_ERR_IO && strstr(errstr, "v_inspection_list"))
			strncat(errstr, " (apply deploy/sql up to 015_inspection.sql: riskctl migrate)",
			        sizeof(errstr) - strlen(errstr) - 1);
		riskctl_complain("inspect", errstr);
		rc = err == RISKD_ERR_UNAVAILABLE ? EXIT_UNREACHABLE : EXIT_REFUSED;
		goto done;
	}
	if (format == OPT_JSON) {
		json_dumpf(rows, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(OUTPUT_DIGITS));
		fputc('\n', stdout);
	} else if (format == OPT_CSV) {
		print_csv(stdout, rows);
	} else {
		print_text(stdout, rows, area, budget, review_store_database(rv));
	}
	rc = EXIT_OK;
done:
	json_decref(rows);
	review_store_close(rv);
	return rc;
}
