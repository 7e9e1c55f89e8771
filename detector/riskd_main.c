/*
 * riskd_main.c - the riskd service: reads the configuration, starts the metrics endpoint
 * and runs the pipeline until SIGTERM/SIGINT (or until idle with --until-idle).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../config/config.h"
#include "../config/riskd_base.h"
#include "../rules/attributes_load.h"
#include "../streams/kafka.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "policy_check.h"
#include "service.h"
#include "version.h"

/* Reads the attribute schema of scoring.attributes (when set) and makes it the one every rule
 * load checks conditions against (ruleset_use_attributes), so that credit rules may read
 * attributes from the first load on; the schema is read at start only. Returns 0 and *out
 * (NULL without a schema; freed by the caller after the last rule set), or 1 after printing
 * the schema's errors to stderr. */
static int use_attribute_schema(const struct riskd_config *cfg, struct attr_schema **out)
{
	struct rules_diags diags = {0};
	*out = NULL;
	if (!cfg->attributes_path[0])
		return 0;
	if (attributes_load_path(cfg->attributes_path, out, &diags) != 0) {
		struct rbuf text = {0};
		rules_diags_render(&diags, &text);
		fwrite(text.data, 1, text.len, stderr);
		fprintf(stderr, "riskd: the attribute schema '%s' does not load\n", cfg->attributes_path);
		rbuf_free(&text);
		rules_diags_free(&diags);
		return 1;
	}
	rules_diags_free(&diags);
	ruleset_use_attributes(*out);
	return 0;
}

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
}

/* librdkafka's log lines, as riskd log records (syslog levels: 0..3 error, 4 warning). */
static void kafka_log(int level, const char *facility, const char *message)
{
	char q[LOG_LINE_MAX];
	enum log_level lv = level <= 3 ? LOG_ERROR : level == 4 ? LOG_WARN : level <= 6 ? LOG_INFO
	                                                                                 : LOG_DEBUG;
	log_kv(lv, "kafka", "facility=%s message=%s", facility, log_quote(q, sizeof(q), message));
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: riskd [--config PATH] [--until-idle SECONDS] [--log-level LEVEL]\n"
	        "       riskd --config-keys | --version\n"
	        "       riskd [--config PATH] --check-config\n"
	        "\n"
	        "Scores smart-meter and billing events from Kafka into PostgreSQL.\n"
	        "  --config PATH        configuration file (default: config/riskd.yaml if present)\n"
	        "  --until-idle SECONDS exit 0 once no message arrived for SECONDS, all is committed\n"
	        "                       and every partition is read to its end; exit 3 when input\n"
	        "                       stalls with messages left (health.stall_s) instead\n"
	        "  --log-level LEVEL    debug|info|warn|error (overrides log.level)\n"
	        "  --config-keys        list every configuration key with its default and range\n"
	        "  --check-config       load the configuration, rules and scorecards, say whether\n"
	        "                       riskd would start, and exit (0 yes, 1 no); offline\n"
	        "  --version            print the version and git commit riskd was built from\n"
	        "SIGTERM/SIGINT drain and commit the current batch, then exit 0. SIGHUP reloads the\n"
	        "rule files (a set that does not load is reported and the old one stays live).\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"until-idle", required_argument, NULL, 'i'},
		{"log-level", required_argument, NULL, 'l'},
		{"config-keys", no_argument, NULL, 'k'},
		{"check-config", no_argument, NULL, 'C'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config_path = NULL;
	const char *level_arg = NULL;
	double until_idle = 0;
	char errstr[1024];
	int opt, check_only = 0;

	while ((opt = getopt_long(argc, argv, "c:i:l:khCV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'i': {
			char *end;
			until_idle = strtod(optarg, &end);
			if (*end || until_idle <= 0) {
				fprintf(stderr, "riskd: --until-idle: expected seconds > 0, got '%s'\n", optarg);
				return 2;
			}
			break;
		}
		case 'l': level_arg = optarg; break;
		case 'k': config_describe(stdout); return 0;
		case 'C': check_only = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("riskd %s (commit %s)\n", riskd_version(), riskd_commit()); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "riskd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!config_path && access("config/riskd.yaml", R_OK) == 0)
		config_path = "config/riskd.yaml";

	static struct riskd_config cfg;
	if (config_load(&cfg, config_path, errstr, sizeof(errstr)) != 0 ||
	    kafka_config_check(&cfg, config_path ? config_path : "(defaults)", errstr,
	                       sizeof(errstr)) != 0) {
		fprintf(stderr, "%s\n", errstr);
		return 1;
	}
	static struct attr_schema *rule_attributes; /* lives until exit, as the rule sets */
	if (use_attribute_schema(&cfg, &rule_attributes) != 0)
		return 1;
	if (check_only)
		return policy_check(&cfg, config_path, stdout, stderr);
	enum log_level level;
	if (log_level_parse(level_arg ? level_arg : cfg.log_level, &level) != 0) {
		fprintf(stderr, "riskd: --log-level: expected debug|info|warn|error, got '%s'\n",
		        level_arg);
		return 2;
	}
	log_set_level(level);
	kafka_set_logger(kafka_log);
	metrics_init();
	service_init();

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	char q1[600], q2[600];
	log_kv(LOG_INFO, "starting", "version=%s config=%s brokers=%s group=%s timezone=%s",
	       riskd_version(), log_quote(q1, sizeof(q1), config_path ? config_path : "(defaults)"),
	       log_quote(q2, sizeof(q2), cfg.kafka_brokers), cfg.kafka_group_id, cfg.timezone);
	if (metrics_server_start(cfg.metrics_listen, cfg.metrics_port, errstr, sizeof(errstr)) != 0) {
		log_kv(LOG_ERROR, "metrics_failed", "error=%s", log_quote(q1, sizeof(q1), errstr));
		return 1;
	}

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct pipeline *pl = pipeline_new(&cfg, errstr, sizeof(errstr));
	if (!pl) {
		log_kv(LOG_ERROR, "startup_failed", "error=%s", log_quote(q1, sizeof(q1), errstr));
		metrics_server_stop();
		return 1;
	}
	struct pipeline_options opts = {.until_idle_s = until_idle,
	                                .stop = &stop_requested,
	                                .reload = &reload_requested,
	                                .on_turn = service_watchdog};
	service_ready("consuming");
	int rc = pipeline_run(pl, &opts, errstr, sizeof(errstr));
	service_stopping();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	struct pipeline_totals tot;
	pipeline_totals(pl, &tot);
	log_kv(rc ? LOG_ERROR : LOG_INFO, "stopped",
	       "messages=%llu replayed=%llu accepted=%llu dead_letter=%llu duplicates=%llu batches=%llu "
	       "resyncs=%llu published=%llu input_gaps=%llu alerts_opened=%llu alerts_updated=%llu "
	       "grade_changes=%llu confirmations=%llu days_pending=%llu days_final=%llu "
	       "read_order_expired=%llu seconds=%.2f%s%s",
	       (unsigned long long)tot.messages, (unsigned long long)tot.replayed,
	       (unsigned long long)tot.accepted,
	       (unsigned long long)tot.dead_letter, (unsigned long long)tot.duplicates,
	       (unsigned long long)tot.batches, (unsigned long long)tot.resyncs,
	       (unsigned long long)tot.published, (unsigned long long)tot.input_gaps,
	       (unsigned long long)tot.alerts_opened, (unsigned long long)tot.alerts_updated,
	       (unsigned long long)tot.grade_changes, (unsigned long long)tot.confirmations,
	       (unsigned long long)tot.days_pending, (unsigned long long)tot.days_final,
	       (unsigned long long)tot.read_order_expired, elapsed,
	       rc ? " error=" : "",
	       rc ? log_quote(q1, sizeof(q1), errstr) : "");
	pipeline_destroy(pl);
	metrics_server_stop();
	/* 3: --until-idle gave up on stalled input; 1: a fatal error */
	return rc == RISKD_ERR_UNAVAILABLE ? 3 : rc ? 1 : 0;
}
