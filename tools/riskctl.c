/*
 * riskctl.c - the riskd command-line tool: dispatches `riskctl COMMAND ...` to its command
 * (rejected arguments are shown through riskctl_shown, tools/riskctl_shown.c).
 */
#include <stdio.h>
#include <string.h>

#include "../config/config.h"
#include "../detector/version.h"
#include "gen.h"
#include "riskctl.h"

static int config_main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "keys") == 0) {
		config_describe(stdout);
		return 0;
	}
	fprintf(stderr, "usage: riskctl config keys\n");
	return 2;
}

static const struct riskctl_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"gen", gen_main, "write a synthetic, seeded city as JSONL events on stdout"},
	{"produce", produce_main, "publish JSONL events from stdin to Kafka, keyed by customer"},
	{"migrate", migrate_main, "apply deploy/sql's migrations to a database, with checksums"},
	{"config", config_main, "config keys: list every configuration key"},
	{"rules", rules_main, "rules check|test|explain|features: check, test and explain rule files"},
	{"alerts", alerts_main, "alerts list|show|claim|release|resolve|reopen|report: work the review queue"},
	{"inspect", inspect_main, "the field crews' inspection list: customers ranked by expected recovered energy"},
	{"backtest", backtest_main, "run the theft rules offline over an event file: hits, alerts, edit diff"},
	{"eval", eval_main, "detection scorecard: generate a labelled city and measure the rules on it"},
	{"scorecard", scorecard_main, "scorecard check|features|fit|eval: credit scorecards from payment history"},
	{"credit", credit_main, "credit explain CUSTOMER: a grade, its actions and the path to a better one"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: riskctl COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n`riskctl COMMAND --help` describes a command; `riskctl --version` prints the\n"
	             "version and git commit riskctl was built from.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("riskctl %s (commit %s)\n", riskd_version(), riskd_commit());
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	char shown[RISKCTL_SHOWN_MAX];
	fprintf(stderr, "riskctl: unknown command '%s'\n",
	        riskctl_shown(argv[1], shown, sizeof(shown)));
	usage(stderr);
	return 2;
}
