/*
 * riskctl_eval.c - `riskctl eval`: the detection scorecard. Generates a labelled city
 * (tools/gen.h) in a child process that streams it through a pipe, replays it through riskd's
 * scoring (detector/replay.h, the backtest's engine) and reports per attack pattern and per
 * confounder: recall at the alert threshold, alerted share, median days from onset to the
 * first alert, and the AUC of the customer risk score against honest customers.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../detector/replay.h"
#include "gen.h"
#include "riskctl.h"

#define EVAL_DEFAULT_THEFT_RATE "0.05"

/* The goals docs/detection.md states. */
#define GOAL_RECALL 0.90
#define GOAL_HONEST_ALERTED 0.01
#define GOAL_DELAY_DAYS 14.0
#define GOAL_CONFOUNDER_ALERTED 0.02

static void eval_usage(FILE *out)
{
	fprintf(out,
	        "usage: riskctl eval --seed S --customers N --days D [--theft-rate R]\n"
	        "                    [--confounder-rate R] [--interval-s S] [--start YYYY-MM-DD]\n"
	        "                    [--transformers T] [--rules DIR] [--json]\n"
	        "Generates a labelled city (riskctl gen), runs riskd's theft scoring over it and\n"
	        "reports per attack pattern and confounder: customers, recall at the alert\n"
	        "threshold (alerted on or after the onset), alerted share (at any time), median days\n"
	        "from onset to the first alert, and the AUC of the risk score (highest score of the\n"
	        "run) against honest customers; and the share of honest customers alerted.\n"
	        "  --theft-rate R   share of thieves (default " EVAL_DEFAULT_THEFT_RATE "); the\n"
	        "                   confounder rate defaults to it; the city options are those of\n"
	        "                   riskctl gen\n"
	        "  --rules DIR      theft rules (default rules)\n"
	        "  --json           {\"patterns\": [...], \"honest_alerted_share\": x}\n"
	        "exit status: 0 done, 1 failure, 2 usage\n");
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The labels of the city, through the generator's own writer and the replay's parser. */
static int eval_labels(const struct gen_options *opts, struct replay_labels *labels, char *errstr,
                       size_t errstr_size)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	if (!mem) {
		snprintf(errstr, errstr_size, "labels: %s", strerror(errno));
		return RISKD_ERR_IO;
	}
	int rc = gen_labels_write(opts, mem, errstr, errstr_size);
	if (fclose(mem) != 0 && rc == 0) {
		snprintf(errstr, errstr_size, "labels: %s", strerror(errno));
		rc = RISKD_ERR_IO;
	}
	if (rc == 0)
		rc = replay_labels_parse(labels, "labels", text, len, errstr, errstr_size);
	free(text);
	return rc;
}

/* Generates the city in a child process and replays it as it streams in. */
static int eval_stream(const struct gen_options *opts, struct replay *rp, char *errstr,
                       size_t errstr_size)
{
	int fds[2];
	if (pipe(fds) != 0) {
		snprintf(errstr, errstr_size, "pipe: %s", strerror(errno));
		return RISKD_ERR_IO;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t child = fork();
	if (child < 0) {
		snprintf(errstr, errstr_size, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return RISKD_ERR_IO;
	}
	if (child == 0) {
		char why[256];
		close(fds[0]);
		FILE *out = fdopen(fds[1], "w");
		int rc = out ? gen_write(opts, out, NULL, why, sizeof(why)) : RISKD_ERR_IO;
		if (out && fclose(out) != 0 && rc == 0)
			rc = RISKD_ERR_IO;
		if (rc)
			fprintf(stderr, "riskctl eval: generator: %s\n", out ? why : strerror(errno));
		_exit(rc ? 1 : 0);
	}
	close(fds[1]);
	FILE *in = fdopen(fds[0], "r");
	int rc = in ? replay_file(&rp, 1, in, errstr, errstr_size) : RISKD_ERR_IO;
	if (in)
		fclose(in);
	else
		close(fds[0]);
	int status = 0;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		snprintf(errstr, errstr_size, "the generator failed");
		rc = RISKD_ERR_IO;
	}
	return rc;
}

static const char *pct(double v, char *buf, size_t size)
{
	if (!isfinite(v))
		return "-";
	snprintf(buf, size, "%.1f%%", 100 * v);
	return buf;
}

static const char *num(double v, const char *fmt, char *buf, size_t size)
{
	if (!isfinite(v))
		return "-";
	snprintf(buf, size, fmt, v);
	return buf;
}

/* Which goals a row misses, as text ("" when it meets them all). */
static void row_goals(const struct replay_score_row *row, char *buf, size_t size)
{
	buf[0] = 0;
	if (row->customers == 0) {
		snprintf(buf, size, "no customers");
		return;
	}
	if (row->confounder) {
		snprintf(buf, size, "%s", row->alerted_share <= GOAL_CONFOUNDER_ALERTED ? "met" :
		                          "MISS alerted > 2%");
		return;
	}
	int recall = row->recall >= GOAL_RECALL;
	int delay = isfinite(row->median_delay_days) && row->median_delay_days <= GOAL_DELAY_DAYS;
	if (recall && delay)
		snprintf(buf, size, "met");
	else
		snprintf(buf, size, "MISS%s%s", recall ? "" : " recall", delay ? "" : " delay");
}

static void print_table(const struct replay_scorecard *card, const struct gen_options *opts,
                        const struct replay *rp, double seconds)
{
	const struct ruleset *rs = replay_rules(rp);
	struct replay_totals t;
	char b1[32], b2[32], b3[32], b4[32], goals[64];

	replay_totals(rp, &t);
	printf("detection scorecard: seed %llu, %u customers, %u days, theft rate %g, confounder "
	       "rate %g\n",
	       (unsigned long long)opts->seed, opts->customers, opts->days, opts->theft_rate,
	       gen_confounder_rate(opts));
	printf("rules %s version %s (hash %s), alert threshold %g; %llu events in %.1f s\n",
	       ruleset_name(rs), ruleset_version(rs), ruleset_hash(rs), card->alert_threshold,
	       (unsigned long long)t.lines, seconds);
	printf("%-18s %-10s %9s %7s %8s %8s %6s  %s\n", "pattern", "kind", "customers", "recall",
	       "alerted", "delay_d", "AUC", "goal");
	for (size_t i = 0; i < card->count; i++) {
		const struct replay_score_row *row = &card->rows[i];
		row_goals(row, goals, sizeof(goals));
		printf("%-18s %-10s %9zu %7s %8s %8s %6s  %s\n", row->pattern,
		       row->confounder ? "confounder" : "attack", row->customers,
		       pct(row->recall, b1, sizeof(b1)), pct(row->alerted_share, b2, sizeof(b2)),
		       num(row->median_delay_days, "%.1f", b3, sizeof(b3)),
		       num(row->auc, "%.3f", b4, sizeof(b4)), goals);
	}
	printf("honest: %zu customers, %zu alerted (%s)  goal %s\n", card->honest,
	       card->honest_alerted, pct(card->honest_alerted_share, b1, sizeof(b1)),
	       card->honest_alerted_share <= GOAL_HONEST_ALERTED ? "met" : "MISS alerted > 1%");
}

int eval_main(int argc, char **argv)
{
	struct gen_options opts;
	struct replay_labels labels = {0};
	struct replay *rp = NULL;
	struct replay_scorecard card = {0};
	const char *rules = "rules";
	int json = 0, status = 1;
	char errstr[512];
	/* the generator's own parser reads the city options */
	char **gen_argv = xcalloc((size_t)argc + 3, sizeof(char *));
	int gen_argc = 0, theft_rate_given = 0;

	gen_argv[gen_argc++] = "gen";
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			eval_usage(stdout);
			status = 0;
			goto done;
		}
		if (strcmp(arg, "--json") == 0) {
			json = 1;
			continue;
		}
		if (strcmp(arg, "--rules") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "riskctl eval: --rules needs a value\n");
				status = 2;
				goto done;
			}
			rules = argv[++i];
			continue;
		}
		if (strcmp(arg, "--seed") && strcmp(arg, "--customers") && strcmp(arg, "--days") &&
		    strcmp(arg, "--theft-rate") && strcmp(arg, "--confounder-rate") &&
		    strcmp(arg, "--interval-s") && strcmp(arg, "--start") &&
		    strcmp(arg, "--transformers")) {
			fprintf(stderr, "riskctl eval: unknown option '%s'\n", arg);
			eval_usage(stderr);
			status = 2;
			goto done;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "riskctl eval: %s needs a value\n", arg);
			status = 2;
			goto done;
		}
		theft_rate_given |= strcmp(arg, "--theft-rate") == 0;
		gen_argv[gen_argc++] = argv[i];
		gen_argv[gen_argc++] = argv[++i];
	}
	if (!theft_rate_given) {
		gen_argv[gen_argc++] = "--theft-rate";
		gen_argv[gen_argc++] = EVAL_DEFAULT_THEFT_RATE;
	}
	gen_options_init(&opts);
	if (gen_options_parse(&opts, gen_argc, gen_argv, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "riskctl eval: %s\n", errstr);
		status = 2;
		goto done;
	}
	if (eval_labels(&opts, &labels, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "riskctl eval: %s\n", errstr);
		goto done;
	}
	struct replay_options ropts = {.rules_path = rules, .timezone = opts.tz_name};
	struct rbuf diag = {0};
	if (replay_new(&ropts, &rp, &diag, errstr, sizeof(errstr)) != 0) {
		if (diag.len)
			fwrite(diag.data, 1, diag.len, stderr);
		rbuf_free(&diag);
		fprintf(stderr, "riskctl eval: %s\n", errstr);
		goto done;
	}
	rbuf_free(&diag);
	replay_set_labels(rp, &labels);
	double t0 = now_seconds();
	if (eval_stream(&opts, rp, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "riskctl eval: %s\n", errstr);
		goto done;
	}
	double seconds = now_seconds() - t0;
	replay_finish(rp);

	struct replay_pattern patterns[GEN_PATTERN__COUNT];
	size_t n_patterns = 0;
	for (int p = GEN_PATTERN_FIRST_ATTACK; p < GEN_PATTERN__COUNT; p++)
		patterns[n_patterns++] = (struct replay_pattern){
		    gen_pattern_name((enum gen_pattern)p), p >= GEN_PATTERN_FIRST_CONFOUNDER};
	replay_scorecard_build(rp, &labels, patterns, n_patterns, &card);
	if (json) {
		struct rbuf out = {0};
		replay_scorecard_json(&card, &out);
		fwrite(out.data, 1, out.len, stdout);
		rbuf_free(&out);
	} else {
		print_table(&card, &opts, rp, seconds);
	}
	status = fflush(stdout) == 0 ? 0 : 1;
done:
	replay_scorecard_free(&card);
	replay_free(rp);
	replay_labels_free(&labels);
	free(gen_argv);
	return status;
}
