/*
 * alerts.c - JSON evidence of theft and no_data alerts (risk.alerts.rules and .curve).
 */
#include "alerts.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../streams/event.h"

/* Significant digits of a number in the evidence: enough to read back exactly. */
#define EVIDENCE_DIGITS 17

/* Daily energy to the watt-hour; null when unknown. */
static void json_kwh(struct rbuf *out, float kwh)
{
	if (isfinite(kwh))
		rbuf_printf(out, "%.3f", (double)kwh);
	else
		rbuf_puts(out, "null");
}

static void json_feature(struct rbuf *out, const struct feature_vec *fv, enum feature_id id)
{
	if (!feature_known(fv, id)) {
		rbuf_puts(out, "null");
		return;
	}
	size_t n;
	const char *const *symbols = feature_symbols(id, &n);
	double v = fv->value[id];
	if (symbols && v >= 0 && (size_t)v < n)
		rbuf_json_string(out, symbols[(size_t)v]);
	else if (feature_def(id)->type == FEATURE_BOOL)
		rbuf_puts(out, v != 0 ? "true" : "false");
	else
		rbuf_json_number(out, v, EVIDENCE_DIGITS);
}

void alert_rules_json(const struct ruleset *rs, const struct rule_hits *hits,
                      const struct feature_vec *fv, struct rbuf *out)
{
	int first = 1;
	rbuf_append(out, "[", 1);
	for (unsigned i = 0; i < hits->n_fired; i++) {
		const struct rule_info *r = ruleset_rule(rs, hits->fired[i]);
		if (r->mode != RULE_MODE_ACTIVE)
			continue;
		rbuf_puts(out, first ? "{\"id\":" : ",{\"id\":");
		first = 0;
		rbuf_json_string(out, r->id);
		rbuf_puts(out, ",\"title\":");
		rbuf_json_string(out, r->title);
		rbuf_puts(out, ",\"score\":");
		rbuf_json_number(out, r->score, EVIDENCE_DIGITS);
		rbuf_puts(out, ",\"severity\":");
		rbuf_json_string(out, rule_severity_name(r->severity));
		rbuf_puts(out, ",\"evidence\":{");
		for (size_t e = 0; e < r->n_evidence; e++) {
			if (e)
				rbuf_append(out, ",", 1);
			rbuf_json_string(out, feature_def(r->evidence[e])->name);
			rbuf_append(out, ":", 1);
			json_feature(out, fv, r->evidence[e]);
		}
		rbuf_puts(out, "}}");
	}
	rbuf_append(out, "]", 1);
}

void alert_no_data_json(const struct feature_vec *fv, struct rbuf *out)
{
	static const enum feature_id evidence[] = {
	    FEAT_SILENT_HOURS, FEAT_KWH_AVG_14D, FEAT_AREA_ATTRIB_CARRIER, FEAT_AREA_ATTRIB_KWH_DAY,
	    FEAT_AREA_ATTRIB_Z, FEAT_AREA_LOSS_EXCESS};
	rbuf_puts(out, "[{\"id\":\"" ALERT_NO_DATA_RULE "\",\"title\":\"" ALERT_NO_DATA_TITLE
	               "\",\"score\":0,\"severity\":\"low\",\"evidence\":{");
	for (size_t e = 0; e < sizeof(evidence) / sizeof(evidence[0]); e++) {
		if (e)
			rbuf_append(out, ",", 1);
		rbuf_json_string(out, feature_def(evidence[e])->name);
		rbuf_append(out, ":", 1);
		json_feature(out, fv, evidence[e]);
	}
	rbuf_puts(out, "}}]");
}

void alert_curve_json(const struct models_history *h, struct rbuf *out)
{
	char day[16];
	rbuf_append(out, "[", 1);
	for (int i = 0; i < MODELS_HISTORY_DAYS; i++) {
		event_format_date(h->first_day + i, day, sizeof(day));
		rbuf_printf(out, "%s{\"day\":\"%s\",\"kwh\":", i ? "," : "", day);
		json_kwh(out, h->kwh[i]);
		rbuf_puts(out, ",\"baseline\":");
		json_kwh(out, h->baseline[i]);
		rbuf_append(out, "}", 1);
	}
	rbuf_append(out, "]", 1);
}

/* A key and a number with `decimals` decimals, or null. */
static void json_fixed(struct rbuf *out, const char *key, double v, int decimals, int known)
{
	rbuf_printf(out, ",\"%s\":", key);
	if (known && isfinite(v))
		rbuf_printf(out, "%.*f", decimals, v);
	else
		rbuf_puts(out, "null");
}

void alert_stolen_json(const struct stolen_estimate *e, struct rbuf *out)
{
	char from[16], to[16];
	int known = e->method != STOLEN_NONE;
	event_format_date(e->from_day, from, sizeof(from));
	event_format_date(e->to_day, to, sizeof(to));
	rbuf_puts(out, "{\"method\":");
	rbuf_json_string(out, stolen_method_name(e->method));
	rbuf_printf(out, ",\"from\":\"%s\",\"to\":\"%s\",\"days\":%d,\"known_days\":%d", from,
	            to, (int)e->days, (int)e->known_days);
	json_fixed(out, "kwh", e->kwh, 3, known);
	json_fixed(out, "kwh_low", e->kwh_low, 3, known);
	json_fixed(out, "kwh_high", e->kwh_high, 3, known);
	json_fixed(out, "kwh_day", e->kwh_day, 3, known);
	json_fixed(out, "kwh_day_se", e->kwh_day_se, 3, known);
	json_fixed(out, "z", e->z, 2, e->method == STOLEN_ATTRIBUTION);
	json_fixed(out, "probability", e->probability, 4, 1);
	rbuf_append(out, "}", 1);
}

enum rule_severity alert_severity(const struct ruleset *rs, const struct rule_hits *hits)
{
	enum rule_severity worst = RULE_SEV_LOW;
	for (unsigned i = 0; i < hits->n_fired; i++) {
		const struct rule_info *r = ruleset_rule(rs, hits->fired[i]);
		if (r->mode == RULE_MODE_ACTIVE && r->severity > worst)
			worst = r->severity;
	}
	return worst;
}
