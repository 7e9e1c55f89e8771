/*
 * replay_json.c - the JSON reports of the offline engine: the detection scorecard
 * (`riskctl eval --json`) and the backtest (`riskctl backtest --json`), keys as
 * docs/detection.md lists them.
 */
#include "replay_int.h"

/* Significant digits of a ratio or score in a report. */
#define REPORT_DIGITS 6

static void json_day(struct rbuf *out, int32_t day)
{
	char text[16];
	if (day == REPLAY_NO_DAY) {
		rbuf_puts(out, "null");
		return;
	}
	event_format_date(day, text, sizeof(text));
	rbuf_printf(out, "\"%s\"", text);
}

void replay_scorecard_json(const struct replay_scorecard *card, struct rbuf *out)
{
	rbuf_puts(out, "{\"patterns\":[");
	for (size_t i = 0; i < card->count; i++) {
		const struct replay_score_row *row = &card->rows[i];
		rbuf_puts(out, i ? ",{\"pattern\":" : "{\"pattern\":");
		rbuf_json_string(out, row->pattern);
		rbuf_printf(out, ",\"confounder\":%s,\"customers\":%zu,\"recall\":",
		            row->confounder ? "true" : "false", row->customers);
		rbuf_json_number(out, row->recall, REPORT_DIGITS);
		rbuf_puts(out, ",\"alerted_share\":");
		rbuf_json_number(out, row->alerted_share, REPORT_DIGITS);
		rbuf_puts(out, ",\"median_delay_days\":");
		rbuf_json_number(out, row->median_delay_days, REPORT_DIGITS);
		rbuf_puts(out, ",\"auc\":");
		rbuf_json_number(out, row->auc, REPORT_DIGITS);
		if (card->silent) {
			rbuf_puts(out, ",\"no_data_share\":");
			rbuf_json_number(out, row->no_data_share, REPORT_DIGITS);
		}
		rbuf_puts(out, "}");
	}
	rbuf_puts(out, "],\"honest_alerted_share\":");
	rbuf_json_number(out, card->honest_alerted_share, REPORT_DIGITS);
	if (card->silent) {
		rbuf_puts(out, ",\"honest_no_data_share\":");
		rbuf_json_number(out, card->honest_no_data_share, REPORT_DIGITS);
	}
	rbuf_puts(out, ",\"area_precision_at_k\":");
	rbuf_json_number(out, card->area_precision_at_k, REPORT_DIGITS);
	rbuf_puts(out, "}\n");
}

static void json_ruleset(struct rbuf *out, const struct ruleset *rs)
{
	rbuf_puts(out, "{\"name\":");
	rbuf_json_string(out, ruleset_name(rs));
	rbuf_puts(out, ",\"version\":");
	rbuf_json_string(out, ruleset_version(rs));
	rbuf_puts(out, ",\"hash\":");
	rbuf_json_string(out, ruleset_hash(rs));
	rbuf_puts(out, ",\"alert_threshold\":");
	rbuf_json_number(out, ruleset_alert_threshold(rs), REPORT_DIGITS);
	rbuf_puts(out, "}");
}

/* The ids of the active rules an alert lists, as a JSON array. */
static void json_alert_rules(struct rbuf *out, const struct replay *rp,
                             const struct replay_customer *c)
{
	int first = 1;
	rbuf_puts(out, "[");
	for (size_t r = 0; r < rp->n_rules; r++) {
		if (!replay_rule_bit(c->alerted, r))
			continue;
		if (!first)
			rbuf_puts(out, ",");
		first = 0;
		rbuf_json_string(out, rp->rules[r].info->id);
	}
	rbuf_puts(out, "]");
}

static void json_alert(struct rbuf *out, const struct replay *rp, const struct replay_customer *c)
{
	rbuf_puts(out, "{\"customer_id\":");
	rbuf_json_string(out, c->customer_id);
	rbuf_puts(out, ",\"first_alert_day\":");
	json_day(out, c->first_alert_day);
	rbuf_puts(out, ",\"first_score\":");
	rbuf_json_number(out, c->first_alert_score, REPORT_DIGITS);
	rbuf_puts(out, ",\"max_score\":");
	rbuf_json_number(out, c->max_score, REPORT_DIGITS);
	rbuf_printf(out, ",\"alert_days\":%u,\"rules\":", c->alert_days);
	json_alert_rules(out, rp, c);
	rbuf_puts(out, "}");
}

static void json_pr(struct rbuf *out, const struct replay_pr *pr)
{
	rbuf_printf(out, "{\"tp\":%llu,\"fp\":%llu,\"fn\":%llu,\"precision\":",
	            (unsigned long long)pr->tp, (unsigned long long)pr->fp,
	            (unsigned long long)pr->fn);
	rbuf_json_number(out, pr->precision, REPORT_DIGITS);
	rbuf_puts(out, ",\"recall\":");
	rbuf_json_number(out, pr->recall, REPORT_DIGITS);
	rbuf_puts(out, "}");
}

static void json_names(struct rbuf *out, const char *const *names, size_t n)
{
	rbuf_puts(out, "[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			rbuf_puts(out, ",");
		rbuf_json_string(out, names[i]);
	}
	rbuf_puts(out, "]");
}

static void json_rule_counts(struct rbuf *out, const struct replay_rule *r)
{
	if (!r) {
		rbuf_puts(out, "null");
		return;
	}
	rbuf_printf(out, "{\"hits\":%llu,\"customers\":%llu,\"alerts\":%llu}",
	            (unsigned long long)r->hits, (unsigned long long)r->customers,
	            (unsigned long long)r->alerts);
}

static void json_baseline(struct rbuf *out, const struct replay *rp, const struct replay *baseline)
{
	struct replay_diff d;
	replay_diff_build(rp, baseline, &d);
	rbuf_puts(out, ",\"baseline\":{\"ruleset\":");
	json_ruleset(out, replay_rules(baseline));
	rbuf_printf(out, ",\"alerts\":%zu,\"added\":[", replay_alerted_count(baseline));
	for (size_t i = 0; i < d.n_added; i++) {
		if (i)
			rbuf_puts(out, ",");
		json_alert(out, rp, d.added[i]);
	}
	rbuf_puts(out, "],\"removed\":[");
	for (size_t i = 0; i < d.n_removed; i++) {
		if (i)
			rbuf_puts(out, ",");
		json_alert(out, baseline, d.removed[i]);
	}
	rbuf_puts(out, "],\"rules\":[");
	for (size_t r = 0; r < d.n_rules; r++) {
		const struct replay_rule_diff *rd = &d.rules[r];
		rbuf_puts(out, r ? ",{\"id\":" : "{\"id\":");
		rbuf_json_string(out, rd->rule_id);
		rbuf_puts(out, ",\"before\":");
		json_rule_counts(out, rd->before);
		rbuf_puts(out, ",\"after\":");
		json_rule_counts(out, rd->after);
		rbuf_puts(out, ",\"added\":");
		json_names(out, rd->added, rd->n_added);
		rbuf_puts(out, ",\"removed\":");
		json_names(out, rd->removed, rd->n_removed);
		rbuf_puts(out, "}");
	}
	rbuf_puts(out, "]}");
	replay_diff_free(&d);
}

void replay_backtest_json(const struct replay *rp, const struct replay *baseline,
                          const struct replay_labels *labels, struct rbuf *out)
{
	const struct replay_totals *t = &rp->totals;
	struct replay_quality q;
	if (labels)
		replay_quality_build(rp, labels, &q);

	rbuf_puts(out, "{\"ruleset\":");
	json_ruleset(out, replay_rules(rp));
	rbuf_printf(out,
	            ",\"events\":{\"lines\":%llu,\"accepted\":%llu,\"duplicates\":%llu,"
	            "\"rejected\":%llu,\"scored_days\":%llu,\"area_days\":%llu}",
	            (unsigned long long)t->lines, (unsigned long long)t->accepted,
	            (unsigned long long)t->duplicates, (unsigned long long)t->rejected,
	            (unsigned long long)t->scored, (unsigned long long)t->area_days);
	rbuf_printf(out, ",\"customers\":%zu,\"alerts\":%zu,\"rules\":[",
	            replay_customers_seen(rp), rp->alerted);
	for (size_t r = 0; r < rp->n_rules; r++) {
		const struct replay_rule *rr = &rp->rules[r];
		rbuf_puts(out, r ? ",{\"id\":" : "{\"id\":");
		rbuf_json_string(out, rr->info->id);
		rbuf_printf(out, ",\"mode\":\"%s\",\"score\":", rule_mode_name(rr->info->mode));
		rbuf_json_number(out, rr->info->score, REPORT_DIGITS);
		rbuf_printf(out, ",\"hits\":%llu,\"customers\":%llu,\"alerts\":%llu,\"missing_reads\":%llu",
		            (unsigned long long)rr->hits, (unsigned long long)rr->customers,
		            (unsigned long long)rr->alerts, (unsigned long long)rr->missing_reads);
		if (labels) {
			rbuf_puts(out, ",\"alert_quality\":");
			json_pr(out, &q.alert[r]);
			rbuf_puts(out, ",\"fired_quality\":");
			json_pr(out, &q.fired[r]);
		}
		rbuf_puts(out, "}");
	}
	rbuf_puts(out, "],\"alerted\":[");
	int first = 1;
	for (size_t i = 0; i < rp->n_customers; i++) {
		const struct replay_customer *c = &rp->customers[i].pub;
		if (!c->alert_days)
			continue;
		if (!first)
			rbuf_puts(out, ",");
		first = 0;
		json_alert(out, rp, c);
	}
	rbuf_puts(out, "]");
	if (baseline)
		json_baseline(out, rp, baseline);
	if (labels) {
		rbuf_printf(out, ",\"labels\":{\"thieves\":%zu,\"overall\":", q.thieves);
		json_pr(out, &q.overall);
		rbuf_puts(out, "}");
		replay_quality_free(&q);
	}
	rbuf_puts(out, "}\n");
}
