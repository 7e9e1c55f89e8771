/*
 * pipeline_policy.c - the policy files while riskd runs (pipeline_int.h): the theft rules,
 * the credit rules and the scorecards reloaded between batches, their diagnostics logged one
 * record per error, and the credit policy's name recorded with every grade.
 */
#include <stdio.h>
#include <string.h>

#include "grader.h"
#include "log.h"
#include "metrics.h"
#include "pipeline_int.h"
#include "scorer.h"

void pipeline_log_rule_diagnostics(enum log_level level, const struct rbuf *diag)
{
	char q[LOG_LINE_MAX];
	const char *p = diag->data, *end = diag->data + diag->len;
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		/* the first line of each diagnostic names file:line:col; the source and caret
		 * lines that follow are for terminals. The buffer is not NUL-terminated: search
		 * the line's bounded copy only. */
		char line[1024];
		riskd_strlcpy(line, sizeof(line), p, n);
		if (n > 0 && strstr(line, ": error: "))
			log_kv(level, "rules_error", "diagnostic=%s", log_quote(q, sizeof(q), line));
		p = nl ? nl + 1 : NULL;
	}
}

void pipeline_set_credit_policy(struct pipeline *pl)
{
	const struct ruleset *cr = grader_rules(pl->ingest.grader);
	snprintf(pl->credit_policy, sizeof(pl->credit_policy), "%s %s", ruleset_name(cr),
	         ruleset_version(cr));
}

void pipeline_report_policies(struct pipeline *pl)
{
	metrics_set_policies(scorer_rules(pl->ingest.scorer), grader_rules(pl->ingest.grader),
	                     pipeline_operating_rules(pl), grader_cards(pl->ingest.grader));
}

void pipeline_reload_policies(struct pipeline *pl, int force, int64_t now)
{
	if (!force && now - pl->last_rules_check_ms < 2000)
		return;
	pl->last_rules_check_ms = now;
	struct rbuf diag = {0};
	int rc = scorer_reload(pl->ingest.scorer, force, &diag);
	const struct ruleset *rs = scorer_rules(pl->ingest.scorer);
	if (rc == 1)
		log_kv(LOG_INFO, "rules_reloaded", "ruleset=%s version=%s hash=%s rules=%zu",
		       ruleset_name(rs), ruleset_version(rs), ruleset_hash(rs), ruleset_rule_count(rs));
	else if (rc < 0) {
		pipeline_log_rule_diagnostics(LOG_ERROR, &diag);
		log_kv(LOG_ERROR, "rules_reload_failed", "kept_ruleset=%s version=%s hash=%s",
		       ruleset_name(rs), ruleset_version(rs), ruleset_hash(rs));
	}
	/* the operating rules sit beside the theft rules: their watch says when files changed */
	int orc = force || rc != 0 ? pipeline_operating_reload(pl, force) : 0;
	rbuf_reset(&diag);
	int crc = grader_reload(pl->ingest.grader, (force && rc >= 0) || rc == 1, &diag);
	/* the live versions first, then the counts: a scrape that sees a reload counted sees
	 * the versions it put live */
	if (rc == 1 || orc == 1 || crc == 1)
		pipeline_report_policies(pl);
	if (rc != 0)
		metrics_policy_reloaded(METRICS_RELOAD_THEFT, rc == 1);
	if (orc != 0)
		metrics_policy_reloaded(METRICS_RELOAD_OPERATING, orc == 1);
	if (crc != 0)
		metrics_policy_reloaded(METRICS_RELOAD_CREDIT, crc == 1);
	if (crc == 1) {
		pipeline_set_credit_policy(pl);
		log_kv(LOG_INFO, "credit_reloaded", "policy=\"%s\"", pl->credit_policy);
	} else if (crc < 0) {
		pipeline_log_rule_diagnostics(LOG_ERROR, &diag);
		log_kv(LOG_ERROR, "credit_reload_failed", "kept_policy=\"%s\"", pl->credit_policy);
	}
	rbuf_free(&diag);
}

