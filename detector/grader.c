/*
 * grader.c - credit grades of customers as the detector sees them (see grader.h).
 */
#include "grader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../rules/credit_policy_load.h"
#include "../rules/policy_files.h"
#include "../rules/scorecard_load.h"
#include "../scoring/features.h"
#include "../scoring/payments.h"

struct grader {
	char *rules_path;
	char *cards_path;
	double hysteresis;
	struct ruleset *rules;          /* credit rules; may have no rule */
	struct scorecard_set *cards;
	struct credit_policy policy;    /* the credit file's actions */
	uint64_t cards_signature;       /* of the card files when `cards` was loaded */
	const struct attr_schema *schema; /* the cards' attributes are bound to it; NULL: none */
	const struct attr_vec *(*attributes_of)(void *arg, const struct cstate *cs);
	void *attributes_arg;
	struct feature_vec fv;          /* scratch */
	int32_t billing_through[GRADER_PARTITIONS_MAX]; /* per customer partition: the day its
	                                                   customers are graded through;
	                                                   INT32_MIN: forgotten */
};

/* Binds every card of cards to schema (scorecard_bind_attributes). Returns 0, or -1 with
 * errstr naming the card and the attribute. */
static int bind_cards(struct scorecard_set *cards, const struct attr_schema *schema,
                      char *errstr, size_t errstr_size)
{
	for (size_t i = 0; i < cards->n_cards; i++) {
		char why[200];
		if (scorecard_bind_attributes(cards->cards[i], schema, why, sizeof why) != 0) {
			snprintf(errstr, errstr_size, "card %s: %s", cards->cards[i]->name, why);
			return -1;
		}
	}
	return 0;
}

/* Loads the credit rules, the cards and the rules' service policy; on failure appends the
 * diagnostics and leaves *rules / *cards NULL. */
static int load_files(const struct grader *g, struct ruleset **rules,
                      struct scorecard_set **cards, struct credit_policy *policy,
                      struct rbuf *diagnostics)
{
	struct rules_diags diags = {0};
	const char *rules_path = g->rules_path, *cards_path = g->cards_path;
	int rc = 0;

	*rules = NULL;
	*cards = NULL;
	char why[256];
	if (ruleset_load_paths(&rules_path, 1, RULE_KIND_CREDIT, rules, &diags) != 0 ||
	    scorecard_set_load_paths(&cards_path, 1, cards, &diags) != 0 ||
	    credit_policy_load_paths(&rules_path, 1, policy, &diags) != 0 ||
	    (g->schema && bind_cards(*cards, g->schema, why, sizeof why) != 0)) {
		rules_diags_render(&diags, diagnostics);
		if (*cards && g->schema && diags.count == 0)
			rbuf_printf(diagnostics, "%s: error: %s\n", cards_path, why);
		ruleset_free(*rules);
		scorecard_set_free(*cards);
		*rules = NULL;
		*cards = NULL;
		rc = RISKD_ERR_INVALID;
	}
	rules_diags_free(&diags);
	return rc;
}

struct grader *grader_new(const char *rules_path, const char *cards_path,
                          double hysteresis_points, struct rbuf *diagnostics)
{
	struct grader *g = xcalloc(1, sizeof(*g));
	g->rules_path = xstrdup(rules_path);
	g->cards_path = xstrdup(cards_path);
	g->hysteresis = hysteresis_points > 0 ? hysteresis_points : 0;
	g->cards_signature = policy_files_signature((const char *const *)&g->cards_path, 1);
	grader_forget_all(g);
	if (load_files(g, &g->rules, &g->cards, &g->policy, diagnostics) != 0) {
		grader_free(g);
		return NULL;
	}
	return g;
}

void grader_free(struct grader *g)
{
	if (!g)
		return;
	ruleset_free(g->rules);
	scorecard_set_free(g->cards);
	free(g->rules_path);
	free(g->cards_path);
	free(g);
}

int grader_reload(struct grader *g, int force, struct rbuf *diagnostics)
{
	uint64_t sig = policy_files_signature((const char *const *)&g->cards_path, 1);
	if (!force && sig == g->cards_signature)
		return 0;
	g->cards_signature = sig; /* a broken card is reported once, not on every check */
	struct ruleset *rules;
	struct scorecard_set *cards;
	struct credit_policy policy;
	int rc = load_files(g, &rules, &cards, &policy, diagnostics);
	if (rc)
		return rc;
	ruleset_free(g->rules);
	scorecard_set_free(g->cards);
	g->rules = rules;
	g->cards = cards;
	g->policy = policy;
	return 1;
}

int grader_set_attributes(struct grader *g, const struct attr_schema *schema,
                          const struct attr_vec *(*attributes_of)(void *arg,
                                                                  const struct cstate *cs),
                          void *arg, char *errstr, size_t errstr_size)
{
	if (bind_cards(g->cards, schema, errstr, errstr_size) != 0)
		return RISKD_ERR_INVALID;
	g->schema = schema;
	g->attributes_of = attributes_of;
	g->attributes_arg = arg;
	return 0;
}

const struct ruleset *grader_rules(const struct grader *g)
{
	return g->rules;
}

const struct scorecard_set *grader_cards(const struct grader *g)
{
	return g->cards;
}

void grader_limits(const struct ruleset *credit_rules, const struct feature_vec *fv,
                   struct grade_limits *out)
{
	struct rule_hits hits;
	grade_limits_clear(out);
	if (!credit_rules || ruleset_rule_count(credit_rules) == 0)
		return;
	ruleset_eval(credit_rules, fv, &hits);
	out->cap = hits.cap;
	out->floor = hits.floor;
	/* The active rules that set the binding cap and floor, first in file order. */
	for (size_t i = 0; i < hits.n_fired; i++) {
		const struct rule_info *info = ruleset_rule(credit_rules, hits.fired[i]);
		if (info->mode != RULE_MODE_ACTIVE)
			continue;
		if (!out->cap_code && hits.cap != RULE_GRADE_NONE && info->cap == hits.cap) {
			out->cap_code = info->id;
			out->cap_text = info->title;
		}
		if (!out->floor_code && hits.floor != RULE_GRADE_NONE && info->floor == hits.floor) {
			out->floor_code = info->id;
			out->floor_text = info->title;
		}
	}
}

/* cs->credit: low nibble the published grade + 1, high nibble the points grade + 1. */
static enum rule_grade nibble_grade(unsigned nibble)
{
	return nibble ? (enum rule_grade)(nibble - 1) : RULE_GRADE_NONE;
}

enum rule_grade grader_held_grade(const struct cstate *cs)
{
	return nibble_grade(cs->credit & 0x0fu);
}

int grader_grade(struct grader *g, struct cstate *cs, int32_t today, struct grader_result *out)
{
	const struct scorecard *card = scorecard_set_pick(g->cards, (enum segment)cs->segment);
	if (!card)
		return 0;
	enum rule_grade held_points = nibble_grade(cs->credit >> 4);
	feature_vec_clear(&g->fv);
	payments_features(cs, today, &g->fv);
	out->previous = grader_held_grade(cs);
	struct grade_limits limits;
	grader_limits(g->rules, &g->fv, &limits);
	const struct attr_vec *av = g->attributes_of ? g->attributes_of(g->attributes_arg, cs) : NULL;
	scorecard_grade_attrs(card, &g->fv, av, &limits, held_points, g->hysteresis, &out->grade);
	out->changed = out->previous != out->grade.grade;
	out->card = card;
	out->actions = credit_policy_actions(&g->policy, out->grade.grade, (enum segment)cs->segment);
	if (out->changed)
		scorecard_better_grade_path(card, &g->fv, &out->grade, &limits, g->hysteresis,
		                            &out->path);
	out->as_of = today;
	cs->credit = (uint8_t)((unsigned)(out->grade.grade + 1) |
	                       (unsigned)(out->grade.points_grade + 1) << 4);

	const struct pay_state *ps = &cs->pay;
	out->has_billing = (ps->flags & PAY_F_BILLING) != 0;
	out->days_past_due = payments_days_past_due(ps, today);
	out->arrears = payments_arrears(ps, today);
	out->balance_owed = payments_balance_owed(ps);
	out->last_payment_day = payments_last_payment_day(ps);
	return 1;
}

/* A day as pay_state keeps it (1 .. 65535). */
static uint16_t graded_day16(int32_t day)
{
	return (uint16_t)(day < 1 ? 1 : day > UINT16_MAX ? UINT16_MAX : day);
}

struct catch_up {
	struct grader *g;
	struct cstate_table *customers;
	int32_t partition;
	int32_t through;             /* grade up to this day */
	grader_emit_fn emit;
	void *arg;
	size_t graded;
};

/* cstate_table_foreach visitor: grades one customer of the partition up to ctx->through. */
static int catch_up_customer(struct cstate *cs, void *arg)
{
	struct catch_up *ctx = arg;
	struct pay_state *ps = &cs->pay;
	if (cs->partition != ctx->partition || !(ps->flags & PAY_F_BILLING))
		return 0;
	/* graded_day 0 with billing: a snapshot from before graded_day existed; its grades
	 * continue from the day being graded now */
	int32_t from = ps->graded_day ? (int32_t)ps->graded_day + 1 : ctx->through;
	if (from > ctx->through)
		return 0;
	if (ctx->through - from >= GRADER_CATCH_UP_DAYS)
		from = ctx->through - GRADER_CATCH_UP_DAYS + 1;
	struct grader_result r;
	for (int32_t day = from; day <= ctx->through; day++) {
		if (!grader_grade(ctx->g, cs, day, &r))
			break; /* no card grades its segment */
		r.has_billing = day == ctx->through; /* the payment status once, as of the last day */
		if (ctx->emit && (r.changed || r.has_billing))
			ctx->emit(cs, &r, ctx->arg);
	}
	ps->graded_day = graded_day16(ctx->through);
	cstate_table_mark_dirty(ctx->customers, cs);
	ctx->graded++;
	return 0;
}

size_t grader_on_billing(struct grader *g, struct cstate_table *customers, int32_t partition,
                         int32_t day, grader_emit_fn emit, void *arg)
{
	if (partition < 0 || partition >= GRADER_PARTITIONS_MAX)
		return 0;
	int32_t through = day - 1;
	int32_t *known = &g->billing_through[partition];
	if (*known != INT32_MIN && through <= *known)
		return 0;
	*known = through;
	struct catch_up ctx = {g, customers, partition, through, emit, arg, 0};
	cstate_table_foreach(customers, catch_up_customer, &ctx);
	return ctx.graded;
}

void grader_forget_partition(struct grader *g, int32_t partition)
{
	if (partition >= 0 && partition < GRADER_PARTITIONS_MAX)
		g->billing_through[partition] = INT32_MIN;
}

void grader_forget_all(struct grader *g)
{
	for (int32_t p = 0; p < GRADER_PARTITIONS_MAX; p++)
		g->billing_through[p] = INT32_MIN;
}

int grader_regrade(struct grader *g, struct cstate *cs, struct grader_result *out)
{
	if (!(cs->pay.flags & PAY_F_BILLING) || grader_held_grade(cs) == RULE_GRADE_NONE)
		return 0;
	return grader_grade(g, cs, cs->pay.graded_day, out);
}

void grader_reasons_json(const struct credit_grade *grade, struct rbuf *out)
{
	rbuf_puts(out, "[");
	for (int i = 0; i < grade->n_reasons; i++) {
		const struct credit_reason *r = &grade->reasons[i];
		rbuf_puts(out, i ? ",{\"code\":" : "{\"code\":");
		rbuf_json_string(out, r->code);
		rbuf_puts(out, ",\"text\":");
		rbuf_json_string(out, r->text);
		rbuf_printf(out, ",\"points_lost\":%.2f}", r->points_lost);
	}
	rbuf_puts(out, "]");
}
