/*
 * riskctl.h - entry points of riskctl's commands. Each takes the command's own argv
 * (argv[0] is the command name) and returns the process exit code: 0 success, 1 failure,
 * 2 usage error.
 */
#ifndef RISKD_RISKCTL_H
#define RISKD_RISKCTL_H

/* riskctl produce: publish JSONL from stdin to Kafka (tools/riskctl_produce.c). */
int produce_main(int argc, char **argv);

/* riskctl rules: check, test and explain rule files; list features (tools/riskctl_rules.c). */
int rules_main(int argc, char **argv);

/* riskctl alerts: the analyst's review queue: list, show, claim, resolve, reopen, report
 * (tools/riskctl_alerts.c). Exit status 0 done, 1 refused, 2 usage, 3 PostgreSQL unreachable. */
int alerts_main(int argc, char **argv);

/* riskctl rules stats: per-rule precision from risk.v_rule_performance (tools/riskctl_alerts.c);
 * argv[0] is "stats". Same exit status as alerts_main. */
int rules_stats_main(int argc, char **argv);

/* riskctl backtest: theft rules replayed offline over an event file; --baseline diff, --labels
 * precision and recall (tools/riskctl_backtest.c). */
int backtest_main(int argc, char **argv);

/* riskctl eval: the detection scorecard on a generated labelled city (tools/riskctl_eval.c). */
int eval_main(int argc, char **argv);

/* riskctl scorecard: credit scorecards: check, features from events, fit, eval
 * (tools/riskctl_scorecard.c). */
int scorecard_main(int argc, char **argv);

#endif
