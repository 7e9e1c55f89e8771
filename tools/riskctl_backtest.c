/*
 * riskctl_backtest.c - `riskctl backtest`: runs riskd's scoring offline over a JSONL event file
 * (detector/replay.h) and prints per rule its hits and the alerts it raised; with --baseline,
 * what the rule edit changes (alerts added and removed, rule by rule); with --labels,
 * precision and recall overall and per rule.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../detector/replay.h"
#include "../scoring/attributes.h"
#include "riskctl.h"

/* Alerted customers listed in the text report before "... N more". */
#define BACKTEST_LIST_MAX 40

struct backtest_args {
	const char *rules, *events, *baseline, *labels, *timezone, *features, *attributes;
	int json, no_area_balance, list_all;
	struct attr_schema *schema;     /* --attributes, loaded */
};

static void backtest_usage(FILE *out)
{
	fprintf(out,
	        "usage: riskctl backtest --rules DIR --events FILE.jsonl [--baseline DIR]\n"
	        "                        [--labels FILE] [--json] [--tz ZONE] [--all]\n"
	        "                        [--no-area-balance] [--features FILE.csv]\n"
	        "                        [--attributes FILE]\n"
	        "Runs riskd's theft scoring offline over the events (one JSON event a line; '-' is\n"
	        "stdin) and reports per rule its hits (customer-days it fired on) and the alerts it\n"
	        "raised.\n"
	        "  --baseline DIR     the rules before the edit: the alerts the edit adds and\n"
	        "                     removes, overall and rule by rule\n"
	        "  --labels FILE      ground truth as `riskctl gen --labels` writes it (customers not\n"
	        "                     listed are honest): precision and recall per rule and overall\n"
	        "  --json             the same report as one JSON object\n"
	        "  --tz ZONE          time zone of the local days (days.timezone; default\n"
	        "                     Asia/Shanghai)\n"
	        "  --all              list every alerted customer (the text lists %d)\n"
	        "  --no-area-balance  leave the area features missing\n"
	        "  --features FILE    write every scoring of --rules to FILE as CSV: customer_id,\n"
	        "                     day, score, alert, fired (rule ids, '|'), then every feature\n"
	        "                     of the registry (empty when missing)\n"
	        "  --attributes FILE  the customer attribute schema (scoring/attributes.yaml): rules\n"
	        "                     may read the attributes it declares, profiles' attributes are\n"
	        "                     read against it as riskd reads them (a profile it refuses is\n"
	        "                     rejected); without it they are ignored\n"
	        "exit status: 0 done, 1 rules or files that do not load, 2 usage\n",
	        BACKTEST_LIST_MAX);
}

static int parse_args(int argc, char **argv, struct backtest_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char **value = NULL;
		if (strcmp(arg, "--json") == 0)
			a->json = 1;
		else if (strcmp(arg, "--all") == 0)
			a->list_all = 1;
		else if (strcmp(arg, "--no-area-balance") == 0)
			a->no_area_balance = 1;
		else if (strcmp(arg, "--rules") == 0)
			value = &a->rules;
		else if (strcmp(arg, "--events") == 0)
			value = &a->events;
		else if (strcmp(arg, "--baseline") == 0)
			value = &a->baseline;
		else if (strcmp(arg, "--labels") == 0)
			value = &a->labels;
		else if (strcmp(arg, "--tz") == 0)
			value = &a->timezone;
		else if (strcmp(arg, "--features") == 0)
			value = &a->features;
		else if (strcmp(arg, "--attributes") == 0)
			value = &a->attributes;
		else {
			char shown[RISKCTL_SHOWN_MAX];
			fprintf(stderr, "riskctl backtest: unknown option '%s'\n",
			        riskctl_shown(arg, shown, sizeof(shown)));
			return -1;
		}
		if (value) {
			if (i + 1 >= argc) {
				fprintf(stderr, "riskctl backtest: %s needs a value\n", arg);
				return -1;
			}
			*value = argv[++i];
		}
	}
	if (!a->rules || !a->events) {
		fprintf(stderr, "riskctl backtest: --rules and --events are required\n");
		return -1;
	}
	return 0;
}

static struct replay *open_replay(const struct backtest_args *a, const char *rules,
                                  const struct replay_labels *labels)
{
	struct replay_options opts = {.rules_path = rules,
	                              .timezone = a->timezone,
	                              .no_area_balance = a->no_area_balance,
	                              .attributes = a->schema};
	struct replay *rp;
	struct rbuf diag = {0};
	char errstr[512];
	if (replay_new(&opts, &rp, &diag, errstr, sizeof(errstr)) != 0) {
		if (diag.len)
			fwrite(diag.data, 1, diag.len, stderr);
		fprintf(stderr, "riskctl backtest: %s\n", errstr);
		rbuf_free(&diag);
		return NULL;
	}
	rbuf_free(&diag);
	replay_set_labels(rp, labels);
	return rp;
}

static const char *day_text(int32_t day, char *buf, size_t size)
{
	if (day == REPLAY_NO_DAY)
		return "-";
	event_format_date(day, buf, size);
	return buf;
}

/* "0.875" or "-" */
static const char *ratio_text(double v, char *buf, size_t size)
{
	if (!isfinite(v))
		return "-";
	snprintf(buf, size, "%.3f", v);
	return buf;
}

static void print_alert_rules(const struct replay *rp, const struct replay_customer *c)
{
	int first = 1;
	for (size_t r = 0; r < replay_rule_count(rp); r++)
		if (replay_rule_bit(c->alerted, r)) {
			printf("%s%s", first ? "" : ",", replay_rule(rp, r)->info->id);
			first = 0;
		}
}

static void print_alert(const struct replay *rp, const struct replay_customer *c,
                        const struct replay_labels *labels)
{
	char day[16];
	printf("  %-12s first %s  score %g  max %g  days %u  rules ", c->customer_id,
	       day_text(c->first_alert_day, day, sizeof(day)), c->first_alert_score, c->max_score,
	       c->alert_days);
	print_alert_rules(rp, c);
	if (labels) {
		const struct replay_label *l = replay_labels_find(labels, c->customer_id);
		printf("  [%s]", l ? l->pattern : "honest");
	}
	printf("\n");
}

static void print_ruleset(const char *what, const struct ruleset *rs)
{
	printf("%s %s version %s (hash %s), alert threshold %g\n", what, ruleset_name(rs),
	       ruleset_version(rs), ruleset_hash(rs), ruleset_alert_threshold(rs));
}

static void print_names(const char *sign, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n && i < 12; i++)
		printf(" %s%s", sign, names[i]);
	if (n > 12)
		printf(" ... %zu more", n - 12);
}

/* How many of n alerts the text lists. */
static size_t list_count(size_t n, int list_all)
{
	return list_all || n < BACKTEST_LIST_MAX ? n : BACKTEST_LIST_MAX;
}

static void print_diff(const struct replay *rp, const struct replay *baseline,
                       const struct replay_labels *labels, int list_all)
{
	struct replay_diff d;
	replay_diff_build(rp, baseline, &d);
	printf("\n");
	print_ruleset("against baseline", replay_rules(baseline));
	printf("alerts: %zu before, %zu after: %zu added, %zu removed\n",
	       replay_alerted_count(baseline), replay_alerted_count(rp), d.n_added, d.n_removed);
	printf("%-28s %21s %17s  %s\n", "rule", "hits before -> after", "alerts bef -> aft",
	       "alerts listing the rule: +added -removed");
	for (size_t r = 0; r < d.n_rules; r++) {
		const struct replay_rule_diff *rd = &d.rules[r];
		char hb[24] = "-", ha[24] = "-", ab[24] = "-", aa[24] = "-";
		if (rd->before) {
			snprintf(hb, sizeof(hb), "%llu", (unsigned long long)rd->before->hits);
			snprintf(ab, sizeof(ab), "%llu", (unsigned long long)rd->before->alerts);
		}
		if (rd->after) {
			snprintf(ha, sizeof(ha), "%llu", (unsigned long long)rd->after->hits);
			snprintf(aa, sizeof(aa), "%llu", (unsigned long long)rd->after->alerts);
		}
		printf("%-28s %10s -> %-7s %7s -> %-6s ", rd->rule_id, hb, ha, ab, aa);
		if (!rd->before)
			printf(" (new rule)");
		if (!rd->after)
			printf(" (removed rule)");
		if (rd->n_added + rd->n_removed == 0)
			printf(" unchanged");
		print_names("+", rd->added, rd->n_added);
		print_names("-", rd->removed, rd->n_removed);
		printf("\n");
	}
	size_t shown = list_count(d.n_added, list_all);
	if (d.n_added)
		printf("added alerts:\n");
	for (size_t i = 0; i < shown; i++)
		print_alert(rp, d.added[i], labels);
	if (shown < d.n_added)
		printf("  ... %zu more (--all or --json lists them)\n", d.n_added - shown);
	shown = list_count(d.n_removed, list_all);
	if (d.n_removed)
		printf("removed alerts:\n");
	for (size_t i = 0; i < shown; i++)
		print_alert(baseline, d.removed[i], labels);
	if (shown < d.n_removed)
		printf("  ... %zu more (--all or --json lists them)\n", d.n_removed - shown);
	replay_diff_free(&d);
}

static void print_report(const struct backtest_args *a, const struct replay *rp,
                         const struct replay *baseline, const struct replay_labels *labels,
                         double seconds)
{
	struct replay_totals t;
	struct replay_quality q;
	char b1[16], b2[16], b3[16], b4[16];

	replay_totals(rp, &t);
	print_ruleset("backtest of", replay_rules(rp));
	printf("events: %llu read, %llu accepted, %llu duplicates, %llu rejected (%.1f s, %.0f "
	       "events/s); %zu customers, %llu customer-days scored, %llu area-days balanced\n",
	       (unsigned long long)t.lines, (unsigned long long)t.accepted,
	       (unsigned long long)t.duplicates, (unsigned long long)t.rejected, seconds,
	       seconds > 0 ? (double)t.lines / seconds : 0, replay_customers_seen(rp),
	       (unsigned long long)t.scored, (unsigned long long)t.area_days);
	if (labels) {
		replay_quality_build(rp, labels, &q);
		printf("labels: %zu thieves; precision and recall count customers (alert: its alert "
		       "lists the rule; fired: the rule fired for it)\n",
		       q.thieves);
	}
	printf("\n%-28s %-6s %5s %9s %9s %7s", "rule", "mode", "score", "hits", "customers",
	       "alerts");
	if (labels)
		printf(" %8s %8s %8s %8s", "alert_P", "alert_R", "fired_P", "fired_R");
	printf("\n");
	for (size_t r = 0; r < replay_rule_count(rp); r++) {
		const struct replay_rule *rr = replay_rule(rp, r);
		printf("%-28s %-6s %5g %9llu %9llu %7llu", rr->info->id, rule_mode_name(rr->info->mode),
		       rr->info->score, (unsigned long long)rr->hits, (unsigned long long)rr->customers,
		       (unsigned long long)rr->alerts);
		if (labels)
			printf(" %8s %8s %8s %8s", ratio_text(q.alert[r].precision, b1, sizeof(b1)),
			       ratio_text(q.alert[r].recall, b2, sizeof(b2)),
			       ratio_text(q.fired[r].precision, b3, sizeof(b3)),
			       ratio_text(q.fired[r].recall, b4, sizeof(b4)));
		printf("\n");
	}
	printf("alerts raised: %zu customers\n", replay_alerted_count(rp));
	if (labels) {
		printf("overall: %llu true, %llu false alerts, %llu thieves missed: precision %s, "
		       "recall %s\n",
		       (unsigned long long)q.overall.tp, (unsigned long long)q.overall.fp,
		       (unsigned long long)q.overall.fn, ratio_text(q.overall.precision, b1, sizeof(b1)),
		       ratio_text(q.overall.recall, b2, sizeof(b2)));
		replay_quality_free(&q);
	}
	size_t listed = 0, alerted = replay_alerted_count(rp);
	for (size_t i = 0; i < replay_customer_count(rp); i++) {
		const struct replay_customer *c = replay_customer(rp, i);
		if (!c->alert_days)
			continue;
		if (!a->list_all && listed == BACKTEST_LIST_MAX) {
			printf("  ... %zu more (--all or --json lists them)\n", alerted - listed);
			break;
		}
		print_alert(rp, c, labels);
		listed++;
	}
	if (baseline)
		print_diff(rp, baseline, labels, a->list_all);
}

/* The --features dump: one CSV row per scoring of the edited rules. */
struct feature_dump {
	FILE *out;
	const struct replay *rp;
	struct rbuf line;
};

static void feature_dump_row(void *arg, const char *customer_id, int32_t day,
                             const struct feature_vec *fv, const struct rule_hits *hits)
{
	struct feature_dump *d = arg;
	rbuf_reset(&d->line);
	replay_features_csv_row(d->rp, customer_id, day, fv, hits, &d->line);
	fwrite(d->line.data, 1, d->line.len, d->out);
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int backtest_main(int argc, char **argv)
{
	struct backtest_args a;
	struct replay_labels labels = {0};
	struct replay *rps[2] = {NULL, NULL};
	struct feature_dump dump = {0};
	FILE *in = NULL;
	char errstr[512];
	int status = 1;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		backtest_usage(stdout);
		return 0;
	}
	if (parse_args(argc, argv, &a) != 0) {
		backtest_usage(stderr);
		return 2;
	}
	if (a.labels && replay_labels_load(&labels, a.labels, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "riskctl backtest: --labels %s\n", errstr);
		goto done;
	}
	if (a.attributes) {
		if (!(a.schema = riskctl_load_attributes(a.attributes)))
			goto done;
		ruleset_use_attributes(a.schema); /* before the rules load */
	}
	const struct replay_labels *lab = a.labels ? &labels : NULL;
	if (!(rps[0] = open_replay(&a, a.rules, lab)))
		goto done;
	if (a.baseline && !(rps[1] = open_replay(&a, a.baseline, lab)))
		goto done;
	if (a.features) {
		if (!(dump.out = fopen(a.features, "w"))) {
			perror(a.features);
			goto done;
		}
		dump.rp = rps[0];
		replay_features_csv_header(&dump.line);
		fwrite(dump.line.data, 1, dump.line.len, dump.out);
		replay_set_scoring_observer(rps[0], feature_dump_row, &dump);
	}
	in = strcmp(a.events, "-") == 0 ? stdin : fopen(a.events, "r");
	if (!in) {
		perror(a.events);
		goto done;
	}
	double t0 = now_seconds();
	if (replay_file(rps, a.baseline ? 2 : 1, in, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "riskctl backtest: %s: %s\n", a.events, errstr);
		goto done;
	}
	double seconds = now_seconds() - t0;
	replay_finish(rps[0]);
	if (rps[1])
		replay_finish(rps[1]);
	if (a.json) {
		struct rbuf out = {0};
		replay_backtest_json(rps[0], rps[1], lab, &out);
		fwrite(out.data, 1, out.len, stdout);
		rbuf_free(&out);
	} else {
		print_report(&a, rps[0], rps[1], lab, seconds);
	}
	status = fflush(stdout) == 0 ? 0 : 1;
	if (dump.out && fclose(dump.out) != 0) {
		perror(a.features);
		status = 1;
	}
	dump.out = NULL;
done:
	if (dump.out)
		fclose(dump.out);
	rbuf_free(&dump.line);
	if (in && in != stdin)
		fclose(in);
	replay_free(rps[0]);
	replay_free(rps[1]);
	replay_labels_free(&labels);
	ruleset_use_attributes(NULL);
	attr_schema_free(a.schema);
	return status;
}
