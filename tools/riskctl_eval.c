/*
 * riskctl_eval.c - `riskctl eval`: the detection scorecard. Generates a labelled city
 * (tools/gen.h) in a child process that streams it through a pipe, replays it through riskd's
 * scoring (detector/replay.h, the backtest's engine) and reports per attack pattern and per
 * confounder: recall at the alert threshold, alerted share, median days from onset to the
 * first alert, and the AUC of the customer risk score against honest customers; and per area
 * the precision at k of the ranking by risk score. With --observer-sets N it generates N
 * observer-style sets instead (riskctl gen --observer-set) and reports the mean precision at 5
 * and the recall per false-data-injection attack.
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
#define EVAL_MAX_OBSERVER_SETS 10000

/* The goals docs/detection.md states. */
#define GOAL_RECALL 0.90
#define GOAL_HONEST_ALERTED 0.01
#define GOAL_DELAY_DAYS 14.0
#define GOAL_CONFOUNDER_ALERTED 0.02

/* Report digits of a ratio in the observer-set JSON (as the scorecard's). */
#define EVAL_DIGITS 6

static void eval_usage(FILE *out)
{
	fprintf(out,
	        "usage: riskctl eval --seed S --customers N --days D [--theft-rate R]\n"
	        "                    [--confounder-rate R] [--interval-s S] [--start YYYY-MM-DD]\n"
	        "                    [--transformers T] [--transformer-interval-s S]\n"
	        "                    [--loss-model proportional|load] [--silent-rate R]\n"
	        "                    [--rules DIR] [--json]\n"
	        "       riskctl eval --observer-sets N --seed S [--customers N] [--days D] [--json]\n"
	        "       riskctl eval --credit --seed S --customers N [--days D] [--json]\n"
	        "                    (the early warning of operating risk: riskctl eval --credit --help)\n"
	        "Generates a labelled city (riskctl gen), runs riskd's theft scoring over it and\n"
	        "reports per attack pattern and confounder: customers, recall at the alert\n"
	        "threshold (alerted on or after the onset), alerted share (at any time), median days\n"
	        "from onset to the first alert, and the AUC of the risk score (highest score of the\n"
	        "run) against honest customers; the share of honest customers alerted; and the\n"
	        "precision at k of each area's ranking by risk score (k = its thieves), averaged\n"
	        "over the areas with a thief.\n"
	        "  --theft-rate R   share of thieves (default " EVAL_DEFAULT_THEFT_RATE "); the\n"
	        "                   confounder rate defaults to it; the city options are those of\n"
	        "                   riskctl gen\n"
	        "  --silent-rate R  share of the other customers whose meter goes silent\n"
	        "                   (meter_silenced thieves, meter_offline confounders); adds\n"
	        "                   no_data_share per pattern and honest_no_data_share\n"
	        "  --observer-sets N\n"
	        "                   N observer-style sets (riskctl gen --observer-set, seeds S ..\n"
	        "                   S + N - 1): mean precision at 5 and recall per attack\n"
	        "  --rules DIR      theft rules (default rules)\n"
	        "  --json           {\"patterns\": [...], \"honest_alerted_share\": x,\n"
	        "                   \"area_precision_at_k\": x}\n"
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

enum eval_flag eval_flag_of(const char *arg)
{
	if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
		return EVAL_FLAG_HELP;
	if (strcmp(arg, "--json") == 0)
		return EVAL_FLAG_JSON;
	return strcmp(arg, "--credit") == 0 ? EVAL_FLAG_CREDIT : EVAL_FLAG_NONE;
}

int eval_generate(const struct gen_options *opts, int (*consume)(FILE *in, void *arg), void *arg,
                  char *errstr, size_t errstr_size)
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
	int rc = in ? consume(in, arg) : RISKD_ERR_IO;
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

struct replay_consume {
	struct replay *rp;
	char *errstr;
	size_t errstr_size;
};

static int replay_consume(FILE *in, void *arg)
{
	struct replay_consume *rc = arg;
	return replay_file(&rc->rp, 1, in, rc->errstr, rc->errstr_size);
}

/* Generates the city in a child process and replays it as it streams in. */
static int eval_stream(const struct gen_options *opts, struct replay *rp, char *errstr,
                       size_t errstr_size)
{
	struct replay_consume rc = {rp, errstr, errstr_size};
	return eval_generate(opts, replay_consume, &rc, errstr, errstr_size);
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
	if (gen_transformer_interval(opts) != opts->interval_s || opts->loss_model)
		printf("transformer readings every %d s, %s loss model\n",
		       (int)gen_transformer_interval(opts), gen_loss_model_name(opts->loss_model));
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
	printf("area precision@k: %s over %zu areas with a thief (k = the area's thieves)\n",
	       num(card->area_precision_at_k, "%.3f", b1, sizeof(b1)), card->thief_areas);
	if (!card->silent)
		return;
	printf("silent meters: %llu customer-days closed after the lateness; no_data alerted:",
	       (unsigned long long)t.silent_days);
	for (size_t i = 0; i < card->count; i++)
		if (card->rows[i].no_data)
			printf(" %s %s,", card->rows[i].pattern,
			       pct(card->rows[i].no_data_share, b1, sizeof(b1)));
	printf(" honest %s\n", pct(card->honest_no_data_share, b1, sizeof(b1)));
}

/*
 * Generates the labelled data set of opts, replays it through the rules and builds the
 * scorecard with `patterns` first. Returns 0 and *rp (the finished replay, for the caller to
 * free), or 1 after printing why.
 */
static int eval_run(const struct gen_options *opts, const char *rules,
                    const struct replay_pattern *patterns, size_t n_patterns,
                    struct replay_labels *labels, struct replay **rp,
                    struct replay_scorecard *card, double *seconds)
{
	char errstr[512];
	struct rbuf diag = {0};
	if (eval_labels(opts, labels, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "riskctl eval: %s\n", errstr);
		return 1;
	}
	struct replay_options ropts = {.rules_path = rules, .timezone = opts->tz_name};
	if (replay_new(&ropts, rp, &diag, errstr, sizeof(errstr)) != 0) {
		if (diag.len)
			fwrite(diag.data, 1, diag.len, stderr);
		rbuf_free(&diag);
		fprintf(stderr, "riskctl eval: %s\n", errstr);
		return 1;
	}
	rbuf_free(&diag);
	replay_set_labels(*rp, labels);
	double t0 = now_seconds();
	if (eval_stream(opts, *rp, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "riskctl eval: %s\n", errstr);
		return 1;
	}
	*seconds = now_seconds() - t0;
	replay_finish(*rp);
	replay_scorecard_build(*rp, labels, patterns, n_patterns, card);
	return 0;
}

/* The labelled city's scorecard (opts parsed), as a table or JSON. */
static int eval_city(const struct gen_options *opts, const char *rules, int json)
{
	struct replay_labels labels = {0};
	struct replay *rp = NULL;
	struct replay_scorecard card = {0};
	struct replay_pattern patterns[GEN_PATTERN__COUNT];
	size_t n_patterns = 0;
	double seconds = 0;
	int status = 1;

	for (int p = GEN_PATTERN_FIRST_ATTACK; p < GEN_PATTERN__COUNT; p++)
		if (p < GEN_PATTERN_FIRST_FDI || (p >= GEN_PATTERN_FIRST_SILENT && opts->silent_rate > 0))
			patterns[n_patterns++] = (struct replay_pattern){
			    gen_pattern_name((enum gen_pattern)p), gen_pattern_confounder((enum gen_pattern)p)};
	if (eval_run(opts, rules, patterns, n_patterns, &labels, &rp, &card, &seconds) != 0)
		goto done;
	if (json) {
		struct rbuf out = {0};
		replay_scorecard_json(&card, &out);
		fwrite(out.data, 1, out.len, stdout);
		rbuf_free(&out);
	} else {
		print_table(&card, opts, rp, seconds);
	}
	status = fflush(stdout) == 0 ? 0 : 1;
done:
	replay_scorecard_free(&card);
	replay_free(rp);
	replay_labels_free(&labels);
	return status;
}

/* What the observer-style sets add up to, per attack and overall. */
struct observer_totals {
	size_t thieves[GEN_PATTERN_FDI_COUNT];
	size_t detected[GEN_PATTERN_FDI_COUNT];
	double precision_sum;
	size_t sets;
	size_t honest, honest_alerted;
};

static void observer_report(const struct observer_totals *tot, const struct gen_options *opts,
                            uint64_t first_seed, int json)
{
	size_t n_fdi = GEN_PATTERN_FDI_COUNT;
	double precision = tot->sets ? tot->precision_sum / (double)tot->sets : NAN;
	double random = (double)GEN_OBSERVER_THIEVES / opts->customers;
	double honest = tot->honest ? (double)tot->honest_alerted / (double)tot->honest : NAN;
	char b1[32], b2[32];
	if (!json) {
		printf("observer-style sets: %zu (seeds %llu .. %llu), %u households over %u days, "
		       "%d thieves each\n", tot->sets, (unsigned long long)first_seed,
		       (unsigned long long)(first_seed + tot->sets - 1), opts->customers, opts->days,
		       GEN_OBSERVER_THIEVES);
		printf("%-18s %8s %7s\n", "attack", "thieves", "recall");
		for (size_t a = 0; a < n_fdi; a++)
			printf("%-18s %8zu %7s\n", gen_pattern_name((enum gen_pattern)(GEN_PATTERN_FIRST_FDI + (int)a)),
			       tot->thieves[a],
			       pct(tot->thieves[a] ? (double)tot->detected[a] / (double)tot->thieves[a] : NAN,
			           b1, sizeof(b1)));
		printf("honest alerted: %s\n", pct(honest, b1, sizeof(b1)));
		printf("precision@5: %s (random ranking: %s)\n", num(precision, "%.3f", b1, sizeof(b1)),
		       num(random, "%.3f", b2, sizeof(b2)));
		return;
	}
	struct rbuf out = {0};
	rbuf_printf(&out, "{\"observer_sets\":%zu,\"seed\":%llu,\"customers\":%u,\"days\":%u,"
	            "\"observer_precision_at_5\":", tot->sets, (unsigned long long)first_seed,
	            opts->customers, opts->days);
	rbuf_json_number(&out, precision, EVAL_DIGITS);
	rbuf_puts(&out, ",\"random_precision_at_5\":");
	rbuf_json_number(&out, random, EVAL_DIGITS);
	rbuf_puts(&out, ",\"honest_alerted_share\":");
	rbuf_json_number(&out, honest, EVAL_DIGITS);
	rbuf_puts(&out, ",\"attacks\":[");
	for (size_t a = 0; a < n_fdi; a++) {
		rbuf_puts(&out, a ? ",{\"pattern\":" : "{\"pattern\":");
		rbuf_json_string(&out, gen_pattern_name((enum gen_pattern)(GEN_PATTERN_FIRST_FDI + (int)a)));
		rbuf_printf(&out, ",\"thieves\":%zu,\"recall\":", tot->thieves[a]);
		rbuf_json_number(&out, tot->thieves[a] ? (double)tot->detected[a] / (double)tot->thieves[a]
		                                        : NAN, EVAL_DIGITS);
		rbuf_puts(&out, "}");
	}
	rbuf_puts(&out, "]}\n");
	fwrite(out.data, 1, out.len, stdout);
	rbuf_free(&out);
}

/* `sets` observer-style sets of opts (parsed with --observer-set) at seeds opts->seed, +1, ... */
static int eval_observer(const struct gen_options *opts, uint32_t sets, const char *rules,
                         int json)
{
	struct observer_totals tot;
	struct replay_pattern patterns[GEN_PATTERN_FDI_COUNT];
	size_t n_fdi = GEN_PATTERN_FDI_COUNT;
	struct gen_options one = *opts;

	memset(&tot, 0, sizeof(tot));
	for (size_t a = 0; a < n_fdi; a++)
		patterns[a] = (struct replay_pattern){
		    gen_pattern_name((enum gen_pattern)(GEN_PATTERN_FIRST_FDI + (int)a)), 0};
	for (uint32_t i = 0; i < sets; i++) {
		struct replay_labels labels = {0};
		struct replay *rp = NULL;
		struct replay_scorecard card = {0};
		double seconds;
		one.seed = opts->seed + i;
		int rc = eval_run(&one, rules, patterns, n_fdi, &labels, &rp, &card, &seconds);
		if (rc == 0) {
			/* one area whose k is its GEN_OBSERVER_THIEVES thieves: precision at 5 */
			if (!isnan(card.area_precision_at_k)) {
				tot.precision_sum += card.area_precision_at_k;
				tot.sets++;
			}
			for (size_t a = 0; a < n_fdi; a++) {
				tot.thieves[a] += card.rows[a].customers;
				tot.detected[a] += card.rows[a].detected;
			}
			tot.honest += card.honest;
			tot.honest_alerted += card.honest_alerted;
		}
		replay_scorecard_free(&card);
		replay_free(rp);
		replay_labels_free(&labels);
		if (rc != 0)
			return 1;
	}
	observer_report(&tot, opts, opts->seed, json);
	return fflush(stdout) == 0 ? 0 : 1;
}

int eval_main(int argc, char **argv)
{
	static const char *const city_options[] = {
		"--seed", "--customers", "--days", "--theft-rate", "--confounder-rate", "--interval-s",
		"--start", "--transformers", "--transformer-interval-s", "--loss-model", "--silent-rate",
	};
	struct gen_options opts;
	const char *rules = "rules";
	int json = 0, status = 2;
	unsigned long observer_sets = 0;
	char errstr[512];
	/* the generator's own parser reads the city options */
	char **gen_argv = xcalloc((size_t)argc + 3, sizeof(char *));
	int gen_argc = 0, theft_rate_given = 0;
	const char *city_only = NULL; /* an option that shapes a city, not an observer-style set */

	for (int i = 1; i < argc; i++)
		if (eval_flag_of(argv[i]) == EVAL_FLAG_CREDIT) {
			free(gen_argv);
			return eval_credit_main(argc, argv);
		}
	gen_argv[gen_argc++] = "gen";
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		enum eval_flag flag = eval_flag_of(arg);
		if (flag == EVAL_FLAG_HELP) {
			eval_usage(stdout);
			status = 0;
			goto done;
		}
		if (flag == EVAL_FLAG_JSON) {
			json = 1;
			continue;
		}
		size_t k = 0;
		while (k < sizeof(city_options) / sizeof(city_options[0]) && strcmp(arg, city_options[k]))
			k++;
		int own = strcmp(arg, "--rules") == 0 || strcmp(arg, "--observer-sets") == 0;
		if (!own && k == sizeof(city_options) / sizeof(city_options[0])) {
			char shown[RISKCTL_SHOWN_MAX];
			fprintf(stderr, "riskctl eval: unknown option '%s'\n",
			        riskctl_shown(arg, shown, sizeof(shown)));
			eval_usage(stderr);
			goto done;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "riskctl eval: %s needs a value\n", arg);
			goto done;
		}
		if (strcmp(arg, "--rules") == 0) {
			rules = argv[++i];
		} else if (strcmp(arg, "--observer-sets") == 0) {
			char *end;
			errno = 0;
			observer_sets = strtoul(argv[++i], &end, 10);
			if (errno || *end || argv[i][0] < '0' || argv[i][0] > '9' || observer_sets < 1 ||
			    observer_sets > EVAL_MAX_OBSERVER_SETS) {
				char shown[RISKCTL_SHOWN_MAX];
				fprintf(stderr, "riskctl eval: --observer-sets '%s': must be 1 .. %d\n",
				        riskctl_shown(argv[i], shown, sizeof(shown)), EVAL_MAX_OBSERVER_SETS);
				goto done;
			}
		} else {
			theft_rate_given |= strcmp(arg, "--theft-rate") == 0;
			if (strcmp(arg, "--theft-rate") == 0 || strcmp(arg, "--confounder-rate") == 0 ||
			    strcmp(arg, "--transformers") == 0 || strcmp(arg, "--silent-rate") == 0)
				city_only = arg;
			gen_argv[gen_argc++] = argv[i];
			gen_argv[gen_argc++] = argv[++i];
		}
	}
	if (observer_sets && city_only) {
		fprintf(stderr, "riskctl eval: %s does not apply to --observer-sets (each set has one "
		        "area and %d thieves)\n", city_only, GEN_OBSERVER_THIEVES);
		goto done;
	}
	if (observer_sets)
		gen_argv[gen_argc++] = "--observer-set";
	else if (!theft_rate_given) {
		gen_argv[gen_argc++] = "--theft-rate";
		gen_argv[gen_argc++] = EVAL_DEFAULT_THEFT_RATE;
	}
	gen_options_init(&opts);
	if (gen_options_parse(&opts, gen_argc, gen_argv, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "riskctl eval: %s\n", errstr);
		goto done;
	}
	status = observer_sets ? eval_observer(&opts, (uint32_t)observer_sets, rules, json)
	                       : eval_city(&opts, rules, json);
done:
	free(gen_argv);
	return status;
}
