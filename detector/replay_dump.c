/*
 * replay_dump.c - the feature dump of the offline engine (`riskctl backtest --features`): one
 * CSV row per scoring with its score, alert, fired rules and every feature of the registry,
 * for studying why a rule fires or does not (docs/detection.md).
 */
#include "replay_int.h"

#include <string.h>

/* Appends s as a CSV field: quoted, with '"' doubled, when it holds a comma, a quote or a
 * line break (RFC 4180). */
static void csv_field(struct rbuf *out, const char *s)
{
	if (!s[strcspn(s, ",\"\r\n")]) {
		rbuf_puts(out, s);
		return;
	}
	rbuf_puts(out, "\"");
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			rbuf_puts(out, "\"\"");
		else
			rbuf_append(out, p, 1);
	}
	rbuf_puts(out, "\"");
}

void replay_features_csv_header(struct rbuf *out)
{
	rbuf_puts(out, "customer_id,day,score,alert,fired");
	for (int f = 0; f < FEAT__COUNT; f++)
		rbuf_printf(out, ",%s", feature_def((enum feature_id)f)->name);
	rbuf_puts(out, "\n");
}

void replay_features_csv_row(const struct replay *rp, const char *customer_id, int32_t day,
                             const struct feature_vec *fv, const struct rule_hits *hits,
                             struct rbuf *out)
{
	const struct ruleset *rs = replay_rules(rp);
	char date[16];
	event_format_date(day, date, sizeof(date));
	csv_field(out, customer_id);
	rbuf_printf(out, ",%s,%.17g,%d,", date, hits->score, hits->alert);
	for (unsigned i = 0; i < hits->n_fired; i++)
		rbuf_printf(out, "%s%s", i ? "|" : "", ruleset_rule(rs, hits->fired[i])->id);
	for (int f = 0; f < FEAT__COUNT; f++) {
		size_t n_symbols = 0;
		const char *const *symbols = feature_symbols((enum feature_id)f, &n_symbols);
		double v = fv->value[f];
		if (!feature_known(fv, (enum feature_id)f))
			rbuf_puts(out, ",");
		else if (symbols && v >= 0 && (size_t)v < n_symbols)
			rbuf_printf(out, ",%s", symbols[(size_t)v]);
		else
			rbuf_printf(out, ",%.9g", v);
	}
	rbuf_puts(out, "\n");
}
