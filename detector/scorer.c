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
	struct rule_count rule_counts[RULESET_RULES_MAX];
	int counting_off;              /* replaying input whose counts are stored already */
	scorer_observer_fn observer;   /* offline tools only */
	void *observer_arg;
	const struct attr_schema *attr_schema; /* scorer_set_attributes */
	scorer_attributes_fn attributes_of;
	void *attributes_arg;
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

void scorer_set_attributes(struct scorer *sc, const struct attr_schema *schema,
                           scorer_attributes_fn fn, void *arg)
{
	sc->attr_schema = fn ? schema : NULL;
	sc->attributes_of = fn;
	sc->attributes_arg = arg;
}

const struct attr_schema *scorer_attribute_schema(const struct scorer *sc)
{
	return sc->attr_schema;
}

/* cs's attribute values when the live rules read attributes, else NULL (no lookup). */
static const struct attr_vec *attributes_for_rules(struct scorer *sc, const struct cstate *cs)
{
	if (!sc->attributes_of || !ruleset_reads_attributes(sc->rules))
		return NULL;
	return sc->attributes_of(sc->attributes_arg, cs);
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

const struct rule_count *scorer_rule_counts(const struct scorer *sc)
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

int scorer_no_data_day(const struct feature_vec *fv)
{
	return feature_known(fv, FEAT_SILENT_HOURS) &&
	       fv->value[FEAT_SILENT_HOURS] >= SCORER_NO_DATA_HOURS;
}

/* The rules have been evaluated over sc->fv for customer_id's day `day` and sc->history
 * holds the customer's history up to it: fills *alert when they raise one, or a no_data
 * alert when they do not and the day had no reading. Returns SCORER_ALERT or SCORER_QUIET. */
static int alert_of_hits(struct scorer *sc, const struct area_table *areas,
                         const char *customer_id, const struct models_split *split,
                         int32_t day, struct scorer_alert *alert)
{
	int no_data = !sc->hits.alert && scorer_no_data_day(&sc->fv);
	if (!sc->hits.alert && !no_data)
		return SCORER_QUIET;
	rbuf_reset(&sc->rules_json);
	rbuf_reset(&sc->curve_json);
	alert_curve_json(&sc->history, &sc->curve_json);
	if (no_data) {
		alert_no_data_json(&sc->fv, &sc->rules_json);
		*alert = (struct scorer_alert){
		    .kind = SCORER_KIND_NO_DATA,
		    .day = day,
		    .score = 0,
		    .severity = rule_severity_name(RULE_SEV_LOW),
		    .rules_json = &sc->rules_json,
		    .curve_json = &sc->curve_json,
		    .stolen_json = NULL,
		};
		sc->stats.no_data++;
		return SCORER_ALERT;
	}
	alert_rules_json(sc->rules, &sc->hits, &sc->fv, &sc->rules_json);
	estimate_stolen(sc, areas, customer_id, split, day);
	*alert = (struct scorer_alert){
	    .kind = SCORER_KIND_THEFT,
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
 * scoring sees them on the day after, silent_hours included), its attributes, its drop split
 * and its history. */
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
	const struct attr_vec *av = attributes_for_rules(sc, cs);
	if (av)
		d->attrs = *av;
	else
		attr_vec_clear(&d->attrs);
}

/* The rules have been evaluated over sc->fv for cs's day closed_day: counts them and tells
 * the observer. */
static void scored(struct scorer *sc, const struct cstate *cs, int32_t closed_day)
{
	sc->stats.scored++;
	if (!sc->counting_off)
		rule_counts_add(sc->rules, &sc->hits, sc->rule_counts);
	if (sc->observer)
		sc->observer(sc->observer_arg, cs, closed_day, &sc->hits);
}

/* The day just kept in sc->deferred alerts whatever its area says: fills *alert with what
 * the rules that read nothing of the area say (the area's own rules wait for the day's
 * rescoring), its curve and the stolen-energy estimate over the area results sc has now. */
static int alert_at_close(struct scorer *sc, const struct cstate *cs, struct scorer_alert *alert)
{
	const struct scorer_deferred *d = &sc->deferred;
	ruleset_hits_keep_decided(sc->rules, sc->area_unknown, &sc->hits);
	sc->history = d->history;
	alert_of_hits(sc, &sc->areas, cstate_id(cs), d->has_split ? &d->split : NULL, d->day, alert);
	return SCORER_ALERT_PENDING;
}

/*
 * The day closed_day of cs, a customer whose area's results of the day are not in yet:
 * evaluates the rules on the customer's own features (and attributes) with the area's
 * unknown. A day that cannot alert whatever the area says is final and quiet
 * (SCORER_DECIDED: counted as scored, the area's features read as missing); one that may
 * alert waits (SCORER_DEFERRED), and so does a day without readings, whose no_data alert or
 * theft alert the area decides; one that alerts whatever the area says waits too, its alert
 * raised now (SCORER_ALERT_PENDING).
 */
static int score_or_defer(struct scorer *sc, const struct cstate *cs, int32_t closed_day,
                          int32_t today, double silent_hours, struct scorer_alert *alert)
{
	feature_vec_clear(&sc->fv);
	models_features(cs, &sc->peers, today, &sc->fv);
	feature_set(&sc->fv, FEAT_SILENT_HOURS, silent_hours);
	if (scorer_no_data_day(&sc->fv)) {
		defer_day(sc, cs, closed_day, &sc->fv);
		return SCORER_DEFERRED;
	}
	int may_alert = ruleset_eval_bound(sc->rules, &sc->fv, attributes_for_rules(sc, cs),
	                                   sc->area_unknown, &sc->hits, &sc->bound);
	if (!may_alert && sc->deferral != SCORER_DEFER_ALL) {
		scored(sc, cs, closed_day);
		return SCORER_DECIDED;
	}
	defer_day(sc, cs, closed_day, &sc->fv);
	return sc->bound.must_alert ? alert_at_close(sc, cs, alert) : SCORER_DEFERRED;
}

/* The silent_hours of a closed day (feature_list.h): the hours its readings leave
 * uncovered; for a day without any reading, 24 a day since cs's last day with readings. */
static double closed_silent_hours(const struct cstate *cs, const struct daily_closed *closed)
{
	if (closed->readings == 0)
		return cs->days_closed > 0 ? 24.0 * ((int64_t)closed->day - cs->last_closed_day)
		                           : (double)SCORER_NO_DATA_HOURS;
	int32_t open_s = 86400 - closed->covered_s;
	return open_s > 0 ? open_s / 3600.0 : 0.0;
}

/* Scores cs's closed day (its models already fed) as seen on local day `today`, or defers it
 * to its area: the outcome of scorer_on_reading. */
static int score_closed(struct scorer *sc, struct cstate *cs, const char *transformer_id,
                        const struct daily_closed *closed, int32_t today,
                        struct scorer_alert *alert)
{
	double silent_hours = closed_silent_hours(cs, closed);
	/* a customer whose profile riskd has not read yet may have an area too */
	if (sc->deferral && (transformer_id[0] || !(cs->flags & CSTATE_F_PROFILE)))
		return score_or_defer(sc, cs, closed->day, today, silent_hours, alert);
	scorer_features(sc, cs, transformer_id, today, &sc->fv);
	feature_set(&sc->fv, FEAT_SILENT_HOURS, silent_hours);
	ruleset_eval_attrs(sc->rules, &sc->fv, attributes_for_rules(sc, cs), &sc->hits);
	scored(sc, cs, closed->day);
	if (!sc->hits.alert && !scorer_no_data_day(&sc->fv))
		return SCORER_QUIET;
	struct models_split split;
	int has_split = models_drop_split(cs, &split);
	models_history(cs, &sc->history);
	return alert_of_hits(sc, &sc->areas, cstate_id(cs), has_split ? &split : NULL, closed->day,
	                     alert);
}

const char *scorer_alert_kind_name(enum scorer_alert_kind kind)
{
	return kind == SCORER_KIND_NO_DATA ? "no_data" : "theft";
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
		outcome = score_closed(sc, cs, transformer_id, closed, day, alert);
	}
	models_on_reading(cs, ev, day, second_of_day);
	return outcome;
}

int scorer_on_silent_day(struct scorer *sc, struct cstate *cs, const char *transformer_id,
                         const struct daily_closed *closed, struct scorer_alert *alert)
{
	if (closed->readings > 0) {
		models_on_day_closed(cs, closed);
		peer_stats_update(&sc->peers, cs, closed->day);
	}
	return score_closed(sc, cs, transformer_id, closed, closed->day + 1, alert);
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
	ruleset_eval_attrs(sc->rules, &sc->fv, d->attrs.known ? &d->attrs : NULL, &sc->hits);
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
