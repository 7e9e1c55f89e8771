/*
 * riskctl.c - the riskd command-line tool: dispatches `riskctl COMMAND ...` to its command,
 * and shows rejected arguments safely (riskctl_shown).
 */
#include <stdio.h>
#include <string.h>

#include "../config/config.h"
#include "gen.h"
#include "riskctl.h"

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when s does not start one. Overlong
 * forms, surrogates and code points past U+10FFFF are not valid. */
static size_t utf8_sequence(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

const char *riskctl_shown(const char *text, char *buf, size_t buf_size)
{
	static const char ellipsis[] = "...";
	const unsigned char *s = (const unsigned char *)(text ? text : "");
	size_t used = 0, fit = 0; /* fit: a piece boundary that leaves room for the ellipsis */

	if (buf_size < sizeof(ellipsis))
		return "";
	while (*s) {
		char piece[16];
		size_t n = utf8_sequence(s), piece_len = 0;
		int c1_control = n == 2 && s[0] == 0xc2 && s[1] < 0xa0;
		if (n == 1 && *s >= 0x20 && *s != 0x7f && *s != '\\') {
			piece[piece_len++] = (char)*s;
		} else if (n == 1 && *s == '\\') {
			piece[piece_len++] = '\\';
			piece[piece_len++] = '\\';
		} else if (n > 1 && !c1_control) {
			memcpy(piece, s, n);
			piece_len = n;
		} else {
			/* a control byte, a C1 control in UTF-8, or a byte of no valid sequence */
			n = c1_control ? 2 : 1;
			for (size_t i = 0; i < n; i++)
				piece_len += (size_t)snprintf(piece + piece_len, sizeof(piece) - piece_len,
				                              "\\x%02x", s[i]);
		}
		if (used + piece_len >= buf_size) {
			memcpy(buf + fit, ellipsis, sizeof(ellipsis));
			return buf;
		}
		memcpy(buf + used, piece, piece_len);
		used += piece_len;
		if (used + sizeof(ellipsis) <= buf_size)
			fit = used;
		s += n;
	}
	buf[used] = '\0';
	return buf;
}

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
	{"backtest", backtest_main, "run the theft rules offline over an event file: hits, alerts, edit diff"},
	{"eval", eval_main, "detection scorecard: generate a labelled city and measure the rules on it"},
	{"scorecard", scorecard_main, "scorecard check|features|fit|eval: credit scorecards from payment history"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: riskctl COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n`riskctl COMMAND --help` describes a command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
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
