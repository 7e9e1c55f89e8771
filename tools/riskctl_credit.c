/*
 * riskctl_credit.c - `riskctl credit explain CUSTOMER [--json]`: a customer's credit grade as
 * riskd last recorded it (risk.credit_grades), with its reasons, the service policy's actions
 * for it and the path to the next better grade - what customer service tells a customer who
 * asks why, and how to improve.
 *
 * Reads PostgreSQL only: riskd computes the actions and the path with each change of grade
 * (detector/grader.c) and stores them in the grade row, so the answer is the one the
 * collection worklist and the credit-grades message carry. Connects with the configured DSN
 * (postgres.dsn, var/stack.env, RISKD_PG_DSN) as the analyst role, as `riskctl alerts` does.
 * Text output masks control characters in everything read from the database.
 *
 * Exit status: 0 shown, 1 the customer has no grade (or is unknown), 2 usage or
 * configuration error, 3 PostgreSQL unreachable.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../config/config.h"
#include "../config/riskd_base.h"
#include "../detector/store_console.h"
#include "../detector/store_dsn.h"
#include "../detector/store_review.h"
#include "riskctl.h"

enum exit_code { EXIT_OK = 0, EXIT_NO_GRADE = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

static void credit_usage(FILE *out)
{
	fprintf(out,
	        "usage: riskctl credit explain CUSTOMER [--json] [--config FILE]\n\n"
	        "A customer's credit grade as riskd last recorded it (risk.credit_grades): points,\n"
	        "reasons, the service policy's actions for the grade (deposit, prepayment, payment\n"
	        "plan, reminders, disconnection notice) and the smallest changes that would lift it\n"
	        "one grade. --json prints {\"customer_id\", \"segment\", \"grade\": the grade row,\n"
	        "\"credit\": the payment status}. Connects as risk_analyst with postgres.dsn.\n"
	        "Exit status: 0 shown, 1 no grade, 2 usage, 3 PostgreSQL unreachable.\n");
}

/* Prints "riskctl credit: MESSAGE" on stderr, control bytes escaped. */
static void complain(const char *message)
{
	char shown[1024];
	fprintf(stderr, "riskctl credit: %s\n", riskctl_shown(message, shown, sizeof shown));
}

/* Text from the database made safe for a terminal. */
static const char *shown_text(const char *text, char *buf, size_t size)
{
	return riskctl_shown(text ? text : "", buf, size);
}

static const char *key_text(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

static const char *yes_no(const json_t *obj, const char *key, const char *yes, const char *no)
{
	return json_is_true(json_object_get(obj, key)) ? yes : no;
}

static void print_reasons(const json_t *grade)
{
	const json_t *reasons = json_object_get(grade, "reasons");
	size_t i;
	const json_t *r;
	char code[RISKCTL_SHOWN_MAX], text[RISKCTL_SHOWN_MAX];
	if (json_array_size(reasons) == 0)
		return;
	printf("reasons:\n");
	json_array_foreach(reasons, i, r)
		printf("  %-24s %s (%.2f points lost)\n", shown_text(key_text(r, "code"), code, sizeof code),
		       shown_text(key_text(r, "text"), text, sizeof text),
		       json_number_value(json_object_get(r, "points_lost")));
}

static void print_actions(const json_t *grade, const char *grade_name, const char *segment)
{
	if (!json_is_integer(json_object_get(grade, "reminder_days"))) {
		printf("actions: none recorded (graded before the service policy, or it sets none)\n");
		return;
	}
	printf("actions for grade %s, %s (the credit policy's service policy):\n", grade_name, segment);
	printf("  security deposit:     %g x the average bill\n",
	       json_number_value(json_object_get(grade, "deposit_multiple")));
	printf("  prepayment:           %s\n", yes_no(grade, "prepayment_required", "required",
	                                                 "not required"));
	printf("  payment plan:         %s\n", yes_no(grade, "payment_plan_eligible", "may be offered",
	                                                 "not offered"));
	printf("  payment reminders:    every %lld days while in arrears\n",
	       (long long)json_integer_value(json_object_get(grade, "reminder_days")));
	printf("  disconnection notice: %s\n",
	       yes_no(grade, "disconnection_notice_eligible",
	              "may be sent (a collector decides; riskd never sends one)", "not to be sent"));
}

static void print_path(const json_t *grade)
{
	const json_t *path = json_object_get(grade, "path_to_better_grade");
	char target[RISKCTL_SHOWN_MAX], text[RISKCTL_SHOWN_MAX];
	if (!json_is_object(path)) {
		printf("path to a better grade: %s\n", strcmp(key_text(grade, "grade"), "AAA") == 0
		                                           ? "none: AAA is the best grade"
		                                           : "not recorded");
		return;
	}
	printf("path to grade %s, as of %s (%.2f more points needed%s):\n",
	       shown_text(key_text(path, "target_grade"), target, sizeof target),
	       key_text(grade, "as_of"),
	       json_number_value(json_object_get(path, "points_needed")),
	       json_is_true(json_object_get(path, "reachable"))
	           ? "" : "; what the customer can change does not give them all");
	const json_t *steps = json_object_get(path, "steps");
	size_t i;
	const json_t *s;
	json_array_foreach(steps, i, s) {
		printf("  %zu. %s", i + 1, shown_text(key_text(s, "text"), text, sizeof text));
		if (json_is_true(json_object_get(s, "rule")))
			printf(" [rule %s]\n", shown_text(key_text(s, "code"), target, sizeof target));
		else
			printf(" (+%.2f points)\n", json_number_value(json_object_get(s, "points_gained")));
	}
}

static void print_text(const json_t *customer, const json_t *grade, const char *segment)
{
	char id[RISKCTL_SHOWN_MAX], g[16], prev[16], card[RISKCTL_SHOWN_MAX], policy[RISKCTL_SHOWN_MAX];
	const json_t *credit = json_object_get(customer, "credit");
	printf("customer %s (%s): grade %s as of %s",
	       shown_text(key_text(customer, "customer_id"), id, sizeof id), segment,
	       shown_text(key_text(grade, "grade"), g, sizeof g), key_text(grade, "as_of"));
	if (json_is_string(json_object_get(grade, "previous_grade")))
		printf(" (was %s)", shown_text(key_text(grade, "previous_grade"), prev, sizeof prev));
	printf("\n  %.1f points (points grade %s%s), scorecard %s %s, policy %s\n",
	       json_number_value(json_object_get(grade, "points")), key_text(grade, "points_grade"),
	       json_is_true(json_object_get(grade, "capped")) ? ", capped by the policy" : "",
	       shown_text(key_text(grade, "scorecard"), card, sizeof card),
	       key_text(grade, "scorecard_version"),
	       shown_text(key_text(grade, "policy"), policy, sizeof policy));
	if (json_is_object(credit))
		printf("  payment status: %lld days past due, arrears %.2f, owed %.2f (as of %s)\n",
		       (long long)json_integer_value(json_object_get(credit, "days_past_due")),
		       json_number_value(json_object_get(credit, "arrears_amount")),
		       json_number_value(json_object_get(credit, "balance_owed")),
		       key_text(credit, "as_of"));
	print_reasons(grade);
	print_actions(grade, g, segment);
	print_path(grade);
}

/* Loads the configuration and connects as risk_analyst. Returns 0 or an exit code. */
static int connect(const char *config_path, struct review_store **rv)
{
	static struct riskd_config cfg;
	char errstr[1024], shown[STORE_DSN_SHOWN_MAX];
	if (!config_path && access("config/riskd.yaml", R_OK) == 0)
		config_path = "config/riskd.yaml";
	if (config_load(&cfg, config_path, errstr, sizeof errstr) != 0) {
		complain(errstr);
		return EXIT_USAGE;
	}
	if (store_dsn_shown(cfg.pg_dsn, shown, sizeof shown) != 0) {
		fprintf(stderr, "riskctl credit: postgres.dsn: %s\n", shown);
		return EXIT_USAGE;
	}
	int rc = review_store_open(rv, cfg.pg_dsn, "risk_analyst", errstr, sizeof errstr);
	if (rc == 0)
		return EXIT_OK;
	store_dsn_scrub(cfg.pg_dsn, errstr, sizeof errstr);
	complain(errstr);
	return rc == RISKD_ERR_UNAVAILABLE ? EXIT_UNREACHABLE : EXIT_USAGE;
}

/* riskctl credit explain: argv[0] is "explain". */
static int cmd_explain(int argc, char **argv)
{
	static const struct option options[] = {{"json", no_argument, NULL, 'j'},
	                                        {"config", required_argument, NULL, 'c'},
	                                        {"help", no_argument, NULL, 'h'},
	                                        {NULL, 0, NULL, 0}};
	const char *config_path = NULL;
	int as_json = 0, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 'j')
			as_json = 1;
		else if (c == 'c')
			config_path = optarg;
		else {
			credit_usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? EXIT_OK : EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		credit_usage(stderr);
		return EXIT_USAGE;
	}
	const char *customer_id = argv[optind];
	struct review_store *rv = NULL;
	int rc = connect(config_path, &rv);
	if (rc)
		return rc;
	json_t *customer = NULL;
	char errstr[1024], id[RISKCTL_SHOWN_MAX];
	int qrc = console_customer(rv, customer_id, &customer, errstr, sizeof errstr);
	review_store_close(rv);
	if (qrc == RISKD_ERR_UNAVAILABLE) {
		complain(errstr);
		return EXIT_UNREACHABLE;
	}
	const json_t *grade = customer ? json_object_get(customer, "grade") : NULL;
	if (qrc != 0 || !json_is_object(grade)) {
		fprintf(stderr, "riskctl credit: customer %s has no credit grade%s\n",
		        riskctl_shown(customer_id, id, sizeof id),
		        qrc == RISKD_ERR_NOT_FOUND ? " (riskd knows no such customer)" : "");
		json_decref(customer);
		return EXIT_NO_GRADE;
	}
	const json_t *profile = json_object_get(customer, "customer");
	const char *segment = json_is_object(profile) ? key_text(profile, "segment") : "";
	char seg[RISKCTL_SHOWN_MAX];
	shown_text(*segment ? segment : "unknown", seg, sizeof seg);
	if (as_json) {
		json_t *out = json_pack("{s:s, s:s, s:O, s:O}", "customer_id", customer_id, "segment",
		                        *segment ? segment : "unknown", "grade", grade, "credit",
		                        json_object_get(customer, "credit") ? json_object_get(customer,
		                                                                             "credit")
		                                                           : json_null());
		json_dumpf(out, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(out);
	} else
		print_text(customer, grade, seg);
	json_decref(customer);
	return EXIT_OK;
}

int credit_main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "explain") == 0)
		return cmd_explain(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		credit_usage(stdout);
		return EXIT_OK;
	}
	credit_usage(stderr);
	return EXIT_USAGE;
}
