/*
 * pipeline_operating.c - the early warning of operating risk while riskd consumes
 * (pipeline_int.h; docs/credit.md, "Early warning of operating risk"), and the side state it
 * shares with the customer attributes (pipeline_attributes.c).
 *
 * Every accepted reading of a customer whose profile says commercial or industrial is
 * followed in the customer's operating state (scoring/operating.h: the day's peak power); when its day
 * closes the day is folded into the customer's weeks and the operating rules (the
 * `kind: operating` files of rules.path) are evaluated on the operating features. When the
 * active rules reach thresholds.alert, an operating_risk warning goes into the batch, and
 * risk.raise_alert opens it in the review queue or updates the open one, as for theft.
 * The states live in a side table keyed by the customer's state entry, households have none;
 * each checkpointed customer's side state (weeks and attributes) is written beside its
 * snapshot (risk.customer_side) and loaded with it, and a message replayed for state only
 * feeds the weeks as its first pass did (without the warnings, which are stored already).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../rules/policy_files.h"
#include "../scoring/operating.h"
#include "../streams/event.h"
#include "alerts.h"
#include "log.h"
#include "pipeline_int.h"
#include "store_side.h"

/* Closed weeks an operating-risk warning shows, against the same weeks a year earlier. */
#define OP_CURVE_WEEKS 16
#define OP_YEAR_WEEKS 52

struct pipeline_operating {
	char *rules_path;
	struct op_table *states;         /* by struct cstate address: businesses only */
	struct ruleset *rules;           /* kind operating; may have no rule (no warnings) */
	uint64_t rules_signature;        /* of rules_path's files when `rules` was loaded */
	struct feature_vec fv;           /* scratch */
	struct rule_hits hits;
	struct rule_count counts[RULESET_RULES_MAX]; /* per rule of `rules`, since the last batch */
	struct rbuf rules_json, curve_json;
};

/* Loads the operating rules of path; on failure logs the diagnostics and returns -1. */
static int load_rules(const char *path, struct ruleset **out)
{
	struct rules_diags diags = {0};
	int rc = ruleset_load_paths(&path, 1, RULE_KIND_OPERATING, out, &diags);
	if (rc) {
		struct rbuf text = {0};
		rules_diags_render(&diags, &text);
		pipeline_log_rule_diagnostics(LOG_ERROR, &text);
		rbuf_free(&text);
	}
	rules_diags_free(&diags);
	return rc ? -1 : 0;
}

int pipeline_operating_init(struct pipeline *pl, char *errstr, size_t errstr_size)
{
	struct pipeline_operating *po = xcalloc(1, sizeof(*po));
	pl->operating = po;
	po->rules_path = xstrdup(pl->cfg->rules_path);
	po->states = op_table_new();
	po->rules_signature = policy_files_signature((const char *const *)&po->rules_path, 1);
	if (load_rules(po->rules_path, &po->rules) != 0) {
		snprintf(errstr, errstr_size,
		         "the operating rules in '%s' do not load (see rules_error)", po->rules_path);
		return RISKD_ERR_INVALID;
	}
	log_kv(LOG_INFO, "operating_rules_loaded", "ruleset=%s version=%s hash=%s rules=%zu",
	       ruleset_name(po->rules), ruleset_version(po->rules), ruleset_hash(po->rules),
	       ruleset_rule_count(po->rules));
	return 0;
}

void pipeline_operating_free(struct pipeline *pl)
{
	struct pipeline_operating *po = pl->operating;
	if (!po)
		return;
	op_table_free(po->states);
	ruleset_free(po->rules);
	rbuf_free(&po->rules_json);
	rbuf_free(&po->curve_json);
	free(po->rules_path);
	free(po);
	pl->operating = NULL;
}

int pipeline_operating_reload(struct pipeline *pl, int force)
{
	struct pipeline_operating *po = pl->operating;
	uint64_t sig = policy_files_signature((const char *const *)&po->rules_path, 1);
	if (!force && sig == po->rules_signature)
		return 0;
	po->rules_signature = sig; /* a broken file is reported once */
	struct ruleset *rules;
	if (load_rules(po->rules_path, &rules) != 0) {
		log_kv(LOG_ERROR, "operating_reload_failed", "kept_ruleset=%s version=%s hash=%s",
		       ruleset_name(po->rules), ruleset_version(po->rules), ruleset_hash(po->rules));
		return -1;
	}
	ruleset_free(po->rules);
	po->rules = rules;
	memset(po->counts, 0, sizeof(po->counts)); /* indices follow the new set */
	log_kv(LOG_INFO, "operating_rules_reloaded", "ruleset=%s version=%s hash=%s rules=%zu",
	       ruleset_name(rules), ruleset_version(rules), ruleset_hash(rules),
	       ruleset_rule_count(rules));
	return 1;
}

const struct ruleset *pipeline_operating_rules(const struct pipeline *pl)
{
	return pl->operating->rules;
}

static int is_business(const struct cstate *cs)
{
	return cs->segment == SEGMENT_COMMERCIAL || cs->segment == SEGMENT_INDUSTRIAL;
}

/* The warning's curve: the last closed weeks' energy against the same weeks a year earlier
 * ({"day": the week's Monday, "kwh", "baseline"}, as a theft alert's days). */
static void weeks_json(const struct op_state *op, struct rbuf *out)
{
	char day[16];
	rbuf_append(out, "[", 1);
	for (int32_t back = OP_CURVE_WEEKS; back >= 1; back--) {
		int32_t monday, monday_then;
		double kwh = op_state_week_kwh(op, back, &monday);
		double then = op_state_week_kwh(op, back + OP_YEAR_WEEKS, &monday_then);
		event_format_date(monday, day, sizeof day);
		rbuf_printf(out, "%s{\"day\":\"%s\",\"kwh\":", back == OP_CURVE_WEEKS ? "" : ",", day);
		rbuf_json_number(out, isfinite(kwh) ? round(kwh * 1000) / 1000 : NAN, 15);
		rbuf_puts(out, ",\"baseline\":");
		rbuf_json_number(out, isfinite(then) ? round(then * 1000) / 1000 : NAN, 15);
		rbuf_append(out, "}", 1);
	}
	rbuf_append(out, "]", 1);
}

/* A business's day closed (closed): folds it and, on a first pass (b set), evaluates the
 * operating rules (with the customer's attributes when they read any) and raises a warning
 * when they say so. */
static void day_closed(struct pipeline *pl, struct batch *b, const struct cstate *cs,
                       struct op_state *op, const struct daily_closed *closed)
{
	struct pipeline_operating *po = pl->operating;
	op_state_day(op, closed->day, (double)closed->uwh / 1e6, op_state_day_peak(op, closed->day),
	             cs->capacity_kw);
	if (!b || ruleset_rule_count(po->rules) == 0)
		return;
	feature_vec_clear(&po->fv);
	op_state_features(op, &po->fv);
	const struct attr_vec *av =
	    ruleset_reads_attributes(po->rules) ? pipeline_attributes_of(pl, cs) : NULL;
	ruleset_eval_attrs(po->rules, &po->fv, av, &po->hits);
	rule_counts_add(po->rules, &po->hits, po->counts);
	if (!po->hits.alert)
		return;
	rbuf_reset(&po->rules_json);
	rbuf_reset(&po->curve_json);
	alert_rules_json(po->rules, &po->hits, &po->fv, &po->rules_json);
	weeks_json(op, &po->curve_json);
	batch_side_add_alert(&b->side, cs, closed->day, po->hits.score,
	                     rule_severity_name(alert_severity(po->rules, &po->hits)),
	                     &po->rules_json, &po->curve_json, po->rules);
}

void pipeline_operating_reading(struct pipeline *pl, struct batch *b,
                                const struct ingest_result *r)
{
	struct pipeline_operating *po = pl->operating;
	const struct cstate *cs = r->cs;
	/* a household's reading costs no lookup: only businesses are followed */
	if (r->transformer || r->day_result == DAILY_LATE || r->restated || !is_business(cs))
		return;
	struct op_state *op = op_table_get(po->states, cs, 1);
	if (r->day_result == DAILY_CLOSED_DAY)
		day_closed(pl, b, cs, op, &r->closed);
	op_state_reading(op, r->day, (double)r->uwh / 1e6 * 3600.0 / r->interval_s);
}

size_t pipeline_operating_rule_counts(struct pipeline *pl, struct store_rule_count *rows)
{
	return store_rule_counts_fill(pl->operating->rules, pl->operating->counts, rows);
}

void pipeline_operating_rule_counts_reset(struct pipeline *pl)
{
	memset(pl->operating->counts, 0, sizeof(pl->operating->counts));
}

/* ---- side snapshots: the weeks and the attributes beside each customer's snapshot ---- */

void pipeline_side_checkpoint(struct pipeline *pl, struct batch *b)
{
	uint8_t op_bytes[OP_STATE_ENCODED_BYTES];
	struct rbuf *attrs = pipeline_attributes_scratch(pl);
	for (size_t i = 0; i < b->snapshot_count; i++) {
		if (b->snapshots[i].kind != 'c')
			continue;
		const char *id = b->snapshots[i].id;
		const struct cstate *cs = cstate_table_get(pl->ingest.customers, id, strlen(id));
		const struct op_state *op = cs ? op_table_get(pl->operating->states, cs, 0) : NULL;
		rbuf_reset(attrs);
		int has_attributes = cs && pipeline_attributes_encode(pl, cs, attrs);
		if (!op && !has_attributes)
			continue; /* no side state: no row (a part emptied writes both null: deleted) */
		batch_side_add_snapshot(&b->side, cs, op_bytes, op ? op_state_encode(op, op_bytes) : 0,
		                        (const uint8_t *)attrs->data, attrs->len);
	}
}

struct side_load {
	struct pipeline *pl;
	char *errstr;
	size_t errstr_size;
};

static int load_side(const char *id, const uint8_t *operating, size_t operating_len,
                     const uint8_t *attributes, size_t attributes_len, void *arg)
{
	struct side_load *ctx = arg;
	const struct cstate *cs = cstate_table_get(ctx->pl->ingest.customers, id, strlen(id));
	if (!cs)
		return 0; /* its customer's snapshot is gone: nothing to stand beside */
	if (operating_len) {
		struct op_state *op = op_table_get(ctx->pl->operating->states, cs, 1);
		if (op_state_decode(operating, operating_len, op) != 0) {
			snprintf(ctx->errstr, ctx->errstr_size,
			         "risk.customer_side row '%s': operating state of %zu bytes is not one "
			         "riskd wrote", id, operating_len);
			return RISKD_ERR_INVALID;
		}
	}
	if (attributes_len &&
	    pipeline_attributes_restore(ctx->pl, cs, attributes, attributes_len) != 0) {
		snprintf(ctx->errstr, ctx->errstr_size,
		         "risk.customer_side row '%s': attributes of %zu bytes are not ones riskd "
		         "wrote", id, attributes_len);
		return RISKD_ERR_INVALID;
	}
	return 0;
}

int pipeline_side_load(struct pipeline *pl, const int32_t *partitions, int n, char *errstr,
                       size_t errstr_size)
{
	struct side_load ctx = {pl, errstr, errstr_size};
	return store_load_side(pl->store, partitions, n, load_side, &ctx, errstr, errstr_size);
}

static int in_partition(const void *key, void *record, void *arg)
{
	(void)record;
	return ((const struct cstate *)key)->partition == *(const int32_t *)arg;
}

void pipeline_side_forget_partition(struct pipeline *pl, int32_t partition)
{
	op_table_remove_if(pl->operating->states, in_partition, &partition);
	pipeline_attributes_forget(pl, in_partition, &partition);
}

void pipeline_side_clear(struct pipeline *pl)
{
	op_table_clear(pl->operating->states);
	pipeline_attributes_forget(pl, NULL, NULL);
}
