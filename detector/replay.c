/*
 * replay.c - riskd's scoring run offline: the per-event path riskd's pipeline takes
 * (event_decode, ingest_event on partition 0) applied to each event of a file, with the area
 * balance riskd reads back from PostgreSQL rebuilt in memory (replay_balance.c) and the
 * scorer's observer keeping the accounts (replay_accounts.c). See replay.h; replay_int.h
 * lists the other files of the engine.
 */
#include "replay_int.h"

#include <stdlib.h>
#include <string.h>

#include "../config/config.h"
#include "../scoring/cstate.h"
#include "../scoring/localday.h"
#include "scorer.h"

/* The scorer's view of a customer's attributes (arg: the replay's attribute table). */
static const struct attr_vec *attributes_of(void *arg, const struct cstate *cs)
{
	return attr_table_get(arg, cs);
}

int replay_new(const struct replay_options *opts, struct replay **out, struct rbuf *diagnostics,
               char *errstr, size_t errstr_size)
{
	struct riskd_config *defaults = xcalloc(1, sizeof(*defaults));
	struct replay *rp = xcalloc(1, sizeof(*rp));
	struct rbuf diag = {0};
	int rc;

	*out = NULL;
	config_defaults(defaults);
	const char *tz = opts->timezone ? opts->timezone : defaults->timezone;
	rp->ingest.max_kw_unknown_profile = opts->max_kw_unknown_profile > 0
	                                        ? opts->max_kw_unknown_profile
	                                        : defaults->max_kw_unknown_profile;
	rp->balance = !opts->no_area_balance;
	if (rp->balance)
		rp->attrib = replay_attrib_new(opts->attribution_window_days > 0
		                                   ? opts->attribution_window_days
		                                   : defaults->attribution_window_days,
		                               opts->attribution_history_days > 0
		                                   ? opts->attribution_history_days
		                                   : defaults->attribution_history_days);
	rp->customers_sorted = 1;
	silent_sweep_init(&rp->silent, opts->lateness_s > 0 ? opts->lateness_s
	                                                   : defaults->day_lateness_s);
	batch_init(&rp->day_usage);
	rp->ingest.customers = cstate_table_new(1024);
	rp->ingest.transformers = cstate_table_new(64);
	if ((rc = localday_init(&rp->ingest.localday, tz, errstr, errstr_size)) != 0 ||
	    (rc = config_timezone_check(tz, errstr, errstr_size)) != 0)
		goto done;
	rp->ingest.scorer = scorer_new(opts->rules_path, &diag);
	if (!rp->ingest.scorer) {
		snprintf(errstr, errstr_size, "the theft rules in '%s' do not load", opts->rules_path);
		if (diagnostics && diag.len)
			rbuf_append(diagnostics, diag.data, diag.len);
		rc = RISKD_ERR_INVALID;
		goto done;
	}
	scorer_set_observer(rp->ingest.scorer, replay_on_scored, rp);
	if (opts->attributes) {
		rp->attributes = attr_table_new(opts->attributes);
		scorer_set_attributes(rp->ingest.scorer, opts->attributes, attributes_of,
		                      rp->attributes);
	}
	const struct ruleset *rs = scorer_rules(rp->ingest.scorer);
	rp->n_rules = ruleset_rule_count(rs);
	rp->rules = xcalloc(rp->n_rules + 1, sizeof(*rp->rules));
	for (size_t i = 0; i < rp->n_rules; i++)
		rp->rules[i].info = ruleset_rule(rs, i);
	*out = rp;
	rp = NULL;
	rc = 0;
done:
	replay_free(rp);
	rbuf_free(&diag);
	free(defaults);
	return rc;
}

void replay_free(struct replay *rp)
{
	if (!rp)
		return;
	scorer_free(rp->ingest.scorer);
	cstate_table_destroy(rp->ingest.customers);
	cstate_table_destroy(rp->ingest.transformers);
	batch_free(&rp->day_usage);
	free(rp->rules);
	free(rp->customers);
	free(rp->customer_index);
	replay_balance_free(rp);
	replay_attrib_free(rp->attrib);
	attr_table_free(rp->attributes);
	silent_sweep_free(&rp->silent);
	free(rp);
}

void replay_set_labels(struct replay *rp, const struct replay_labels *labels)
{
	rp->labels = labels;
}

/* A profile's attributes (with a schema), read as riskd reads them before it applies the
 * profile. Returns EVENT_REJECT_NONE or why riskd would dead-letter the profile. */
static enum event_reject read_attributes(struct replay *rp, const struct event *ev,
                                         const char *line, size_t len)
{
	char errstr[512];
	attr_vec_clear(&rp->profile_attrs);
	if (!rp->attributes || ev->type != EVENT_CUSTOMER || !(ev->has & EVENT_HAS_ATTRIBUTES))
		return EVENT_REJECT_NONE;
	return event_attributes_read(line, len, attr_table_schema(rp->attributes),
	                             &rp->profile_attrs, errstr, sizeof(errstr));
}

/* silent_hooks.closed: offline, a silent meter's day needs nothing besides its scoring (the
 * observer's) and its area-day (replay_balance_silent_due). */
static void silent_closed(void *arg, struct ingest_result *r)
{
	(void)arg;
	(void)r;
}

/* After customer cs's reading was counted: closes the silent meters' days the watermark
 * passed, as riskd does after the reading (detector/silent.h). */
static void sweep_silent(struct replay *rp, const struct cstate *cs)
{
	const struct silent_hooks hooks = {replay_balance_silent_due, silent_closed, rp};
	rp->totals.silent_days += silent_sweep_after(&rp->silent, &rp->ingest, 0, cs, &hooks);
}

enum event_reject replay_event(struct replay *rp, const struct event *ev, const char *line,
                               size_t len)
{
	char errstr[512];
	const char *old_area = ""; /* interned: stays valid while the table lives */
	struct ingest_result r;
	int reading = ev->type == EVENT_METER_READING || ev->type == EVENT_TRANSFORMER_READING;

	enum event_reject refused = read_attributes(rp, ev, line, len);
	if (refused != EVENT_REJECT_NONE) {
		replay_count_reject(rp, refused);
		return refused;
	}
	rp->totals.lines++;
	if (rp->balance && reading)
		replay_balance_advance(rp, localday_of(&rp->ingest.localday, ev->ts));
	if (rp->balance && ev->type == EVENT_CUSTOMER) {
		const struct cstate *known =
		    cstate_table_get(rp->ingest.customers, ev->entity_id, strlen(ev->entity_id));
		if (known && (known->flags & CSTATE_F_PROFILE))
			old_area = cstate_transformer_id(rp->ingest.customers, known);
	}
	if (ev->type == EVENT_METER_READING)
		silent_sweep_before(&rp->silent, &rp->ingest, 0);
	ingest_event(&rp->ingest, ev, 0, &r, errstr, sizeof(errstr));
	switch (r.outcome) {
	case INGEST_REJECTED:
	case INGEST_CONFLICT:
		rp->totals.rejected++;
		rp->totals.rejected_by[r.reason]++;
		return r.reason;
	case INGEST_DUPLICATE:
		rp->totals.duplicates++;
		return EVENT_REJECT_NONE;
	case INGEST_ACCEPTED:
		break;
	}
	rp->totals.accepted++;
	if (rp->attributes && ev->type == EVENT_CUSTOMER && (ev->has & EVENT_HAS_ATTRIBUTES))
		attr_table_set(rp->attributes, r.cs, &rp->profile_attrs);
	if (ev->type == EVENT_METER_READING && r.has_usage)
		sweep_silent(rp, r.cs);
	if (!rp->balance)
		return EVENT_REJECT_NONE;
	if (r.has_usage) {
		replay_attrib_reading(rp, ev, &r);
		if (r.day == rp->open_day)
			batch_add_usage(r.transformer ? &rp->day_usage.transformer : &rp->day_usage.usage,
			                r.cs, r.day, r.uwh, r.interval_s);
		else
			rp->totals.late_usage++;
	}
	if (ev->type == EVENT_CUSTOMER)
		replay_balance_profile_moved(rp, old_area, cstate_transformer_id(rp->ingest.customers, r.cs));
	return EVENT_REJECT_NONE;
}

enum event_reject replay_line(struct replay *rp, const char *line, size_t len)
{
	char errstr[512];
	enum event_reject reason = event_decode(line, len, &rp->event, errstr, sizeof(errstr));
	if (reason != EVENT_REJECT_NONE) {
		replay_count_reject(rp, reason);
		return reason;
	}
	return replay_event(rp, &rp->event, line, len);
}

void replay_count_reject(struct replay *rp, enum event_reject reason)
{
	rp->totals.lines++;
	rp->totals.rejected++;
	rp->totals.rejected_by[reason]++;
}

void replay_index_put(uint32_t *index, size_t cap, const char *id, size_t item)
{
	size_t mask = cap - 1;
	size_t s = (size_t)cstate_hash(id, strlen(id)) & mask;
	while (index[s])
		s = (s + 1) & mask;
	index[s] = (uint32_t)item + 1;
}

void replay_finish(struct replay *rp)
{
	replay_accounts_sort(rp);
	for (size_t r = 0; r < rp->n_rules; r++)
		rp->rules[r].alerts = 0;
	for (size_t i = 0; i < rp->n_customers; i++) {
		const struct replay_customer *c = &rp->customers[i].pub;
		if (!c->alert_days)
			continue;
		for (size_t r = 0; r < rp->n_rules; r++)
			rp->rules[r].alerts += replay_rule_bit(c->alerted, r);
	}
}

const struct ruleset *replay_rules(const struct replay *rp)
{
	return scorer_rules(rp->ingest.scorer);
}

void replay_totals(const struct replay *rp, struct replay_totals *out)
{
	*out = rp->totals;
}

size_t replay_rule_count(const struct replay *rp)
{
	return rp->n_rules;
}

const struct replay_rule *replay_rule(const struct replay *rp, size_t idx)
{
	return &rp->rules[idx];
}

size_t replay_customers_seen(const struct replay *rp)
{
	return cstate_table_count(rp->ingest.customers);
}
