/*
 * riskctl.h - entry points of riskctl's commands. Each takes the command's own argv
 * (argv[0] is the command name) and returns the process exit code: 0 success, 1 failure,
 * 2 usage error.
 */
#ifndef RISKD_RISKCTL_H
#define RISKD_RISKCTL_H

#include <stddef.h>
#include <stdio.h>

/* A buffer size for riskctl_shown that holds any argument worth showing. */
#define RISKCTL_SHOWN_MAX 256

/*
 * text (an argument, or a server message that may quote one) made safe to print on one
 * terminal line, into buf: valid UTF-8 stays as it is; control bytes (C0, DEL and C1), bytes
 * that form no valid UTF-8 sequence and newlines become \xNN, a backslash becomes \\; when
 * buf_size is too small the text is cut at a whole character and ends in "...". NULL shows as
 * "". Returns buf ("" when buf_size < 4), for one %s of a message that echoes input.
 */
const char *riskctl_shown(const char *text, char *buf, size_t buf_size);

struct review_store;
struct attr_schema;

/* Loads the attribute schema at path (an --attributes FILE; tools/riskctl_rules.c). Returns
 * it (free with attr_schema_free), or NULL after printing its file:line:col errors to
 * stderr. */
struct attr_schema *riskctl_load_attributes(const char *path);

/* Prints "riskctl WHAT: MESSAGE" on stderr, one line, control bytes of message escaped. */
void riskctl_complain(const char *what, const char *message);

/*
 * Loads the configuration (config_path; NULL: config/riskd.yaml when present, else the
 * defaults, then var/stack.env and RISKD_PG_DSN) and connects to its database as role
 * risk_analyst (tools/riskctl_alerts.c). Returns 0 with *rv (review_store_close it), or an
 * exit code after a message naming `what`: 2 a bad configuration, 3 PostgreSQL unreachable,
 * 1 refused (the role cannot be taken, the schema lacks the review migrations).
 */
int riskctl_connect_analyst(const char *what, const char *config_path,
                            struct review_store **rv);

/* riskctl inspect: the field crews' inspection list from risk.v_inspection_list
 * (tools/riskctl_inspect.c). Exit status 0 done, 1 database error, 2 usage, 3 PostgreSQL
 * unreachable. */
int inspect_main(int argc, char **argv);

/* riskctl produce: publish JSONL from stdin to Kafka (tools/riskctl_produce.c). */
int produce_main(int argc, char **argv);

/* riskctl rules: check, test and explain rule files; list features (tools/riskctl_rules.c). */
int rules_main(int argc, char **argv);

/* riskctl alerts: the analyst's review queue: list, show, claim, release, resolve, reopen,
 * report (tools/riskctl_alerts.c). Exit status 0 done, 1 refused, 2 usage, 3 PostgreSQL unreachable. */
int alerts_main(int argc, char **argv);

/* riskctl rules stats: per-rule precision from risk.v_rule_performance (tools/riskctl_alerts.c);
 * argv[0] is "stats". Same exit status as alerts_main. */
int rules_stats_main(int argc, char **argv);

/* riskctl backtest: theft rules replayed offline over an event file; --baseline diff, --labels
 * precision and recall (tools/riskctl_backtest.c). */
int backtest_main(int argc, char **argv);

/* riskctl eval: the detection scorecard on a generated labelled city (tools/riskctl_eval.c). */
int eval_main(int argc, char **argv);

/* riskctl eval --credit: the early warning of operating risk on a generated city whose
 * businesses have stories (tools/riskctl_eval_credit.c). argv as eval_main's. */
int eval_credit_main(int argc, char **argv);

/*
 * Runs the generator for opts in a child process and hands the read end of its output to
 * consume(in, arg), which returns 0 or an error code (and sets its own message). Returns
 * consume's code, RISKD_ERR_IO with errstr set when the pipe, the fork or the generator
 * failed. Shared by the theft and the credit evals (tools/riskctl_eval.c).
 */
struct gen_options;

/* The options of riskctl eval that take no value. */
enum eval_flag { EVAL_FLAG_NONE = 0, EVAL_FLAG_HELP, EVAL_FLAG_JSON, EVAL_FLAG_CREDIT };

/* Which of them arg is ("--help" and "-h" are help), or EVAL_FLAG_NONE. */
enum eval_flag eval_flag_of(const char *arg);

int eval_generate(const struct gen_options *opts, int (*consume)(FILE *in, void *arg), void *arg,
                  char *errstr, size_t errstr_size);

/* riskctl scorecard: credit scorecards: check, features from events, fit, eval
 * (tools/riskctl_scorecard.c). */
int scorecard_main(int argc, char **argv);

/* riskctl credit explain: a customer's recorded grade, its service-policy actions and the path
 * to a better grade (tools/riskctl_credit.c). Exit status 0 shown, 1 no grade, 2 usage,
 * 3 PostgreSQL unreachable. */
int credit_main(int argc, char **argv);

/* riskctl migrate: apply deploy/sql's migrations to a database (tools/riskctl_migrate.c). */
int migrate_main(int argc, char **argv);

#endif
