/*
 * pipeline_attributes.c - customer attributes while riskd consumes (pipeline_int.h;
 * docs/events.md, `customer`; docs/credit.md, "Customer attributes").
 *
 * The schema (scoring.attributes, scoring/attributes.yaml by default) is read at start: riskd's
 * main reads it and sets it for every rule load (ruleset_use_attributes), and the values are
 * kept by that same schema, so that their slots are the rules' slots. A profile's
 * `attributes` are read against it after the event is decoded and routed: an attribute the
 * schema does not declare, or a value it does not allow, dead-letters the profile with its
 * reason. An accepted profile's attributes replace the customer's (a profile without the
 * field leaves them as they were); they live in an attribute table keyed by the customer's
 * state entry, only for customers that have any (scoring/attr_table.h), travel with its side
 * snapshot (pipeline_operating.c, risk.customer_side) and are what the theft rules (the
 * scorer), the operating rules and the grader's credit rules and cards read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../rules/attributes_load.h"
#include "../scoring/attr_table.h"
#include "../streams/event.h"
#include "pipeline_int.h"

struct pipeline_attributes {
	struct attr_schema *owned;       /* the schema when riskd's main set none */
	const struct attr_schema *schema; /* empty when scoring.attributes is "" */
	struct attr_table *values;       /* by struct cstate address */
	struct attr_vec checked;         /* the attributes of the profile being read */
	struct rbuf encoded;             /* scratch for side snapshots */
};

/* A customer's attributes (NULL: none), for the grader and the scorer. */
static const struct attr_vec *attributes_of(void *arg, const struct cstate *cs)
{
	struct pipeline_attributes *pa = arg;
	return attr_table_get(pa->values, cs);
}

const struct attr_vec *pipeline_attributes_of(struct pipeline *pl, const struct cstate *cs)
{
	return attr_table_get(pl->attributes->values, cs);
}

/* The schema of scoring.attributes: the one rule loads check against when riskd's main set
 * it, else read here (or empty without a path). Returns 0 or RISKD_ERR_INVALID. */
static int load_schema(struct pipeline_attributes *pa, const char *path, char *errstr,
                       size_t errstr_size)
{
	pa->schema = ruleset_attributes_in_use();
	if (pa->schema)
		return 0;
	if (path[0]) {
		struct rules_diags diags = {0};
		int rc = attributes_load_path(path, &pa->owned, &diags);
		if (rc) {
			struct rbuf text = {0};
			rules_diags_render(&diags, &text);
			pipeline_log_rule_diagnostics(LOG_ERROR, &text);
			rbuf_free(&text);
			rules_diags_free(&diags);
			snprintf(errstr, errstr_size,
			         "the attribute schema '%s' does not load (see rules_error)", path);
			return RISKD_ERR_INVALID;
		}
		rules_diags_free(&diags);
	} else {
		pa->owned = attr_schema_new();
	}
	pa->schema = pa->owned;
	return 0;
}

int pipeline_attributes_init(struct pipeline *pl, char *errstr, size_t errstr_size)
{
	struct pipeline_attributes *pa = xcalloc(1, sizeof(*pa));
	const char *path = pl->cfg->attributes_path;
	pl->attributes = pa;
	int rc = load_schema(pa, path, errstr, errstr_size);
	if (rc)
		return rc;
	pa->values = attr_table_new(pa->schema);
	char why[256];
	if (grader_set_attributes(pl->ingest.grader, pa->schema, attributes_of, pa, why,
	                          sizeof why) != 0) {
		snprintf(errstr, errstr_size, "scorecards in '%s' against the attribute schema '%s': %s",
		         pl->cfg->scorecard_path, path[0] ? path : "(none)", why);
		return RISKD_ERR_INVALID;
	}
	scorer_set_attributes(pl->ingest.scorer, pa->schema, attributes_of, pa);
	log_kv(LOG_INFO, "attributes_loaded", "schema=%s attributes=%zu",
	       path[0] ? path : "none", pa->schema->count);
	return 0;
}

void pipeline_attributes_free(struct pipeline *pl)
{
	struct pipeline_attributes *pa = pl->attributes;
	if (!pa)
		return;
	attr_table_free(pa->values);
	attr_schema_free(pa->owned);
	rbuf_free(&pa->encoded);
	free(pa);
	pl->attributes = NULL;
}

enum event_reject pipeline_attributes_check(struct pipeline *pl, const struct kafka_msg *m,
                                            const struct event *ev, char *errstr,
                                            size_t errstr_size)
{
	struct pipeline_attributes *pa = pl->attributes;
	attr_vec_clear(&pa->checked);
	if (ev->type != EVENT_CUSTOMER || !(ev->has & EVENT_HAS_ATTRIBUTES))
		return EVENT_REJECT_NONE;
	return event_attributes_read(m->payload, m->len, pa->schema, &pa->checked, errstr,
	                             errstr_size);
}

void pipeline_attributes_apply(struct pipeline *pl, const struct event *ev,
                               const struct cstate *cs)
{
	struct pipeline_attributes *pa = pl->attributes;
	if (ev->type != EVENT_CUSTOMER || !(ev->has & EVENT_HAS_ATTRIBUTES))
		return;
	attr_table_set(pa->values, cs, &pa->checked);
}

struct rbuf *pipeline_attributes_scratch(struct pipeline *pl)
{
	return &pl->attributes->encoded;
}

int pipeline_attributes_encode(struct pipeline *pl, const struct cstate *cs, struct rbuf *out)
{
	const struct attr_vec *av = attr_table_get(pl->attributes->values, cs);
	if (av && av->known)
		attr_vec_encode(pl->attributes->schema, av, out);
	return av != NULL;
}

int pipeline_attributes_restore(struct pipeline *pl, const struct cstate *cs,
                                const uint8_t *bytes, size_t len)
{
	struct pipeline_attributes *pa = pl->attributes;
	int dropped = attr_vec_decode(pa->schema, bytes, len, &pa->checked);
	if (dropped < 0)
		return -1;
	if (dropped) {
		char q[2 * RISKD_ID_MAX + 8];
		log_kv(LOG_WARN, "attributes_dropped", "customer=%s dropped=%d",
		       log_quote(q, sizeof q, cstate_id(cs)), dropped);
	}
	if (pa->checked.known)
		attr_table_set(pa->values, cs, &pa->checked);
	return 0;
}

void pipeline_attributes_forget(struct pipeline *pl,
                                int (*drop)(const void *key, void *record, void *arg), void *arg)
{
	if (drop)
		attr_table_remove_if(pl->attributes->values, drop, arg);
	else
		attr_table_clear(pl->attributes->values);
}
