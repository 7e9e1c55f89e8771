/*
 * scorer.c - models -> features -> theft rules -> alert evidence, and rule-set reloads.
 */
#include "scorer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../rules/policy_files.h"
#include "../scoring/balance.h"
#include "../scoring/models.h"
#include "alerts.h"

struct scorer {
	char *rules_path;
	struct ruleset *rules;
	uint64_t files_signature;      /* of the rule files when `rules` was loaded */
	struct peer_stats peers;
	struct area_table areas;
	struct feature_vec fv;
	struct rule_hits hits;
	struct models_history history;
	struct scorer_deferred deferred; /* the last SCORER_DEFERRED's snapshot */
	enum scorer_deferral deferral; /* customers with an area wait for it (riskd) */
	uint64_t area_unknown[(FEAT__COUNT + 63) / 64]; /* the area's features (area_features_mark) */
	struct rule_bound bound;       /* of the last day deferral bounded */
	struct rbuf rules_json, curve_json, stolen_json;
	struct scorer_stats stats;
	struct scorer_rule_count rule_counts[RULESET_RULES_MAX];
	int counting_off;              /* replaying input whose counts are stored already */
	scorer_observer_fn observer;   /* offline tools only */
	void *observer_arg;
};

static struct ruleset *load_rules(const char *path, struct rbuf *diagnostics)
{
	struct ruleset *rs = NULL;
	struct rules_diags diags = {0};
	if (ruleset_load_paths(&path, 1, RULE_KIND_THEFT, &rs, &diags) != 0) {
		rules_diags_render(&diags, diagnostics);
		rs = NULL;
	}
	rules_diags_free(&diags);
	return rs;
}

struct scorer *scorer_new(const char *rules_path, struct rbuf *diagnostics)
{
	struct scorer *sc = xcalloc(1, sizeof(*sc));
	sc->rules_path = xstrdup(rules_path);
	sc->files_signature = policy_files_signature((const char *const *)&sc->rules_path, 1);
	sc->rules = load_rules(rules_path, diagnostics);
	if (!sc->rules) {
		scorer_free(sc);
		return NULL;
	}
	peer_stats_init(&sc->peers);
	area_features_mark(sc->area_unknown);
	return sc;
}

void scorer_free(struct scorer *sc)
{
	if (!sc)
		return;
	ruleset_free(sc->rules);
	area_table_free(&sc->areas);
	rbuf_free(&sc->rules_json);
	rbuf_free(&sc->curve_json);
	rbuf_free(&sc->stolen_json);
	free(sc->rules_path);
	free(sc);
}

const struct ruleset *scorer_rules(const struct scorer *sc)
{
	return sc->rules;
}

int scorer_reload(struct scorer *sc, int force, struct rbuf *diagnostics)
{
	uint64_t sig = policy_files_signature((const char *const *)&sc->rules_path, 1);
	if (!force && sig == sc->files_signature)
		return 0;
	sc->files_signature = sig; /* a broken file is reported once, not on every check */
	struct ruleset *fresh = load_rules(sc->rules_path, diagnostics);
	if (!fresh) {
		sc->stats.reload_failures++;
		return RISKD_ERR_INVALID;
	}
	ruleset_free(sc->rules);
	sc->rules = fresh;
	scorer_rule_counts_reset(sc); /* indices follow the new set; the caller committed first */
	sc->stats.reloads++;
	return 1;
}

struct area_table *scorer_areas(struct scorer *sc)
{
	return &sc->areas;
}

void scorer_features(struct scorer *sc, const struct cstate *cs, const char *transformer_id,
                     int32_t today, struct feature_vec *fv)
{
	struct models_split split;
	int has_split = models_drop_split(cs, &split);
	feature_vec_clear(fv);
	models_features(cs, &sc->peers, today, fv);
	area_features(transformer_id[0] ? area_table_find(&sc->areas, transformer_id) : NULL,
	              area_table_find_finding(&sc->areas, cstate_id(cs)),
	              area_table_find_prev_finding(&sc->areas, cstate_id(cs)), has_split ? &split : NULL,
	              fv);
}

/* Adds the last evaluation to the per-rule counts. */
static void count_rules(struct scorer *sc)
{
	size_t n = ruleset_rule_count(sc->rules);
	for (size_t i = 0; i < n; i++) {
		sc->rule_counts[i].evaluations++;
		sc->rule_counts[i].missing_reads += sc->hits.missing[i];
	}
	for (unsigned i = 0; i < sc->hits.n_fired; i++)
		sc->rule_counts[sc->hits.fired[i]].fired++;
}

const struct scorer_rule_count *scorer_rule_counts(const struct scorer *sc)
{
	return sc->rule_counts;
}

void scorer_set_counting(struct scorer *sc, int on)
{
	sc->counting_off = !on;
}

void scorer_rule_counts_reset(struct scorer *sc)
{
	memset(sc->rule_counts, 0, sizeof(sc->rule_counts));
}

/* The energy customer_id has stolen up to `day` and the alert's probability, from the
 * history in sc->history, the drop split (NULL: none) and the customer's finding in areas
 * (scoring/stolen.h), into stolen_json. */
static void estimate_stolen(struct scorer *sc, const struct area_table *areas,
                            const char *customer_id, const struct models_split *split,
                            int32_t day)
{
	struct stolen_estimate est;
	const struct attrib_finding *finding = area_table_find_finding(areas, customer_id);
	stolen_estimate(&sc->history, split, finding, day, &est);
	est.probability = stolen_probability(sc->hits.score, ruleset_alert_threshold(sc->rules),
	                                     finding ? finding->z : 0);
	rbuf_reset(&sc->stolen_json);
	alert_stolen_json(&est, &sc->stolen_json);
}

/* The rules have been evaluated over sc->fv for customer_id's day `day` and sc->history
 * holds the customer's history up to it: fills *alert when they raise one. Returns
 * SCORER_ALERT or SCORER_QUIET. */
static int alert_of_hits(struct scorer *sc, const struct area_table *areas,
                         const char *customer_id, const struct models_split *split,
                         int32_t day, struct scorer_alert *alert)
{
	if (!sc->hits.alert)
		return SCORER_QUIET;
	rbuf_reset(&sc->rules_json);
	rbuf_reset(&sc->curve_json);
	alert_rules_json(sc->rules, &sc->hits, &sc->fv, &sc->rules_json);
	alert_curve_json(&sc->history, &sc->curve_json);
	estimate_stolen(sc, areas, customer_id, split, day);
	*alert = (struct scorer_alert){
	    .day = day,
	    .score = sc->hits.score,
	    .severity = rule_severity_name(alert_severity(sc->rules, &sc->hits)),
	    .rules_json = &sc->rules_json,
	    .curve_json = &sc->curve_json,
	    .stolen_json = &sc->stolen_json,
	};
	sc->stats.alerts++;
	return SCORER_ALERT;
}

/* Keeps the day that just closed for cs in sc->deferred: its models' features fv (as
 * scoring sees them on the day after), its drop split and its history. */
static void defer_day(struct scorer *sc, const struct cstate *cs, int32_t closed_day,
                      const struct feature_vec *fv)
{
	struct scorer_deferred *d = &sc->deferred;
	d->day = closed_day;
	d->has_split = models_drop_split(cs, &d->split);
	if (!d->has_split)
		memset(&d->split, 0, sizeof(d->split));
	models_history(cs, &d->history);
	d->fv = *fv;
}

/* The rules have been evaluated over sc->fv for cs's day closed_day: counts them and tells
 * the observer. */
static void scored(struct scorer *sc, const struct cstate *cs, int32_t closed_day)
{
	sc->stats.scored++;
	if (!sc->counting_off)
		count_rules(sc);
	if (sc->observer)
		sc->observer(sc->observer_arg, cs, closed_day, &sc->hits);
}

/*
 * The day closed_day of cs, a customer whose area's results of the day are not in yet:
 * evaluates the rules on the customer's own features with the area's unknown. A day that
 * cannot alert whatever the area says is final and quiet (SCORER_DECIDED: counted as scored,
 * the area's features read as missing); one that may alert waits (SCORER_DEFERRED).
 */
static int score_or_defer(struct scorer *sc, const struct cstate *cs, int32_t closed_day,
                          int32_t today)
{
	feature_vec_clear(&sc->fv);
	models_features(cs, &sc->peers, today, &sc->fv);
	if (sc->deferral == SCORER_DEFER_ALL ||
	    ruleset_eval_bound(sc->rules, &sc->fv, sc->area_unknown, &sc->hits, &sc->bound)) {
		defer_day(sc, cs, closed_day, &sc->fv);
		return SCORER_DEFERRED;
	}
	scored(sc, cs, closed_day);
	return SCORER_DECIDED;
}

int scorer_on_reading(struct scorer *sc, struct cstate *cs, const char *transformer_id,
                      const struct event *ev, int32_t day, int32_t second_of_day,
                      enum daily_result result, const struct daily_closed *closed,
                      struct scorer_alert *alert)
{
	int outcome = SCORER_QUIET;
	if (result == DAILY_CLOSED_DAY) {
		models_on_day_closed(cs, closed);
		peer_stats_update(&sc->peers, cs, closed->day);
		/* a customer whose profile riskd has not read yet may have an area too */
		if (sc->deferral && (transformer_id[0] || !(cs->flags & CSTATE_F_PROFILE))) {
			outcome = score_or_defer(sc, cs, closed->day, day);
		} else {
			scorer_features(sc, cs, transformer_id, day, &sc->fv);
			ruleset_eval(sc->rules, &sc->fv, &sc->hits);
			scored(sc, cs, closed->day);
			if (sc->hits.alert) {
				struct models_split split;
				int has_split = models_drop_split(cs, &split);
				models_history(cs, &sc->history);
				outcome = alert_of_hits(sc, &sc->areas, cstate_id(cs), has_split ? &split : NULL,
				                        closed->day, alert);
			}
		}
	}
	models_on_reading(cs, ev, day, second_of_day);
	return outcome;
}

void scorer_set_deferral(struct scorer *sc, enum scorer_deferral mode)
{
	sc->deferral = mode;
}

const struct rule_bound *scorer_last_bound(const struct scorer *sc)
{
	return &sc->bound;
}

const struct scorer_deferred *scorer_deferred(const struct scorer *sc)
{
	return &sc->deferred;
}

int scorer_rescore(struct scorer *sc, const char *customer_id, const char *transformer_id,
                   const struct scorer_deferred *d, const struct area_table *areas,
                   struct scorer_alert *alert)
{
	const struct models_split *split = d->has_split ? &d->split : NULL;
	sc->fv = d->fv;
	area_features(transformer_id[0] ? area_table_find(areas, transformer_id) : NULL,
	              area_table_find_finding(areas, customer_id),
	              area_table_find_prev_finding(areas, customer_id), split, &sc->fv);
	ruleset_eval(sc->rules, &sc->fv, &sc->hits);
	sc->stats.scored++;
	sc->history = d->history;
	return alert_of_hits(sc, areas, customer_id, split, d->day, alert);
}

const struct rule_hits *scorer_last_hits(const struct scorer *sc)
{
	return &sc->hits;
}

void scorer_on_meter_event(struct scorer *sc, struct cstate *cs, const struct event *ev,
                           int32_t day)
{
	(void)sc;
	models_on_meter_event(cs, ev, day);
}

void scorer_set_observer(struct scorer *sc, scorer_observer_fn fn, void *arg)
{
	sc->observer = fn;
	sc->observer_arg = arg;
}

const struct feature_vec *scorer_last_features(const struct scorer *sc)
{
	return &sc->fv;
}

void scorer_stats(const struct scorer *sc, struct scorer_stats *out)
{
	*out = sc->stats;
}
