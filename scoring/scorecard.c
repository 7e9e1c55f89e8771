/*
 * scorecard.c - the arithmetic of credit scorecards (see scorecard.h; docs/credit.md
 * documents the format): points per characteristic, the points grade with its cut-offs and
 * hysteresis, the adverse reasons, and the credit policy's caps and floors. Cards are built
 * by rules/scorecard_load.c (from YAML) and scoring/scorecard_fit.c (fitted); grading is a few
 * loops over fixed arrays: no allocation, no I/O.
 */
#include "scorecard.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/riskd_base.h"

struct scorecard *scorecard_new(const char *path)
{
	struct scorecard *card = xcalloc(1, sizeof *card);
	card->path = xstrdup(path);
	return card;
}

void scorecard_char_finish(struct scorecard_char *ch)
{
	size_t n_values = 0;
	if (ch->type == FEATURE_BOOL)
		n_values = 2;
	else if (ch->type == FEATURE_SYM && !ch->is_attr)
		feature_symbols(ch->feature, &n_values);
	memset(ch->code_bin, -1, sizeof ch->code_bin);
	ch->best = ch->missing_points;
	if (ch->has_other && ch->other_points > ch->best)
		ch->best = ch->other_points;
	for (size_t i = 0; i < ch->n_bins; i++) {
		if (ch->bins[i].points > ch->best)
			ch->best = ch->bins[i].points;
		for (size_t s = 0; s < n_values && s < SCORECARD_SYMBOLS_MAX; s++)
			if (ch->bins[i].values & ((uint64_t)1 << s))
				ch->code_bin[s] = (int8_t)i;
	}
}

struct scorecard_set *scorecard_set_new(void)
{
	return xcalloc(1, sizeof(struct scorecard_set));
}

void scorecard_set_add(struct scorecard_set *set, struct scorecard *card)
{
	set->cards[set->n_cards++] = card;
}

int scorecard_char_add_category(struct scorecard_char *ch, const char *value, size_t len)
{
	if (attr_list_find(ch->cats, ch->n_cats, value, len) >= 0)
		return -1;
	return attr_list_append(&ch->cats, &ch->n_cats, SCORECARD_SYMBOLS_MAX, value, len);
}

/* Binds one attribute characteristic (see scorecard_bind_attributes). */
static int bind_char(struct scorecard_char *ch, const struct attr_schema *schema, char *errstr,
                     size_t errstr_size)
{
	int slot = attr_schema_find(schema, ch->attr, strlen(ch->attr));
	if (slot < 0) {
		snprintf(errstr, errstr_size, "attribute '%s' is not declared in the attribute schema",
		         ch->attr);
		return -1;
	}
	const struct attr_def *def = &schema->defs[slot];
	int is_category = ch->type == FEATURE_SYM;
	if (is_category != (def->type == ATTR_CATEGORY)) {
		snprintf(errstr, errstr_size, "attribute '%s' is a %s in the schema but a %s on the "
		         "card", ch->attr, def->type == ATTR_CATEGORY ? "category" : "number",
		         is_category ? "category" : "number");
		return -1;
	}
	memset(ch->code_bin, -1, sizeof ch->code_bin);
	for (size_t b = 0; is_category && b < ch->n_bins; b++)
		for (size_t k = 0; k < ch->n_cats; k++) {
			if (!(ch->bins[b].values & ((uint64_t)1 << k)))
				continue;
			int code = attr_def_code(def, ch->cats[k], strlen(ch->cats[k]));
			if (code < 0 || code >= SCORECARD_SYMBOLS_MAX) {
				snprintf(errstr, errstr_size, "value '%.40s' of attribute '%s' is not one of "
				         "the schema's values", ch->cats[k], ch->attr);
				return -1;
			}
			ch->code_bin[code] = (int8_t)b;
		}
	ch->attr_slot = slot;
	return 0;
}

int scorecard_bind_attributes(struct scorecard *card, const struct attr_schema *schema,
                              char *errstr, size_t errstr_size)
{
	for (size_t i = 0; i < card->n_chars; i++) {
		struct scorecard_char *ch = &card->chars[i];
		if (ch->is_attr && bind_char(ch, schema, errstr, errstr_size) < 0) {
			for (size_t j = 0; j < card->n_chars; j++)
				card->chars[j].attr_slot = -1;
			return RISKD_ERR_INVALID;
		}
	}
	return 0;
}

int scorecard_uses_attributes(const struct scorecard *card)
{
	for (size_t i = 0; i < card->n_chars; i++)
		if (card->chars[i].is_attr)
			return 1;
	return 0;
}

void scorecard_free(struct scorecard *card)
{
	if (!card)
		return;
	for (size_t i = 0; i < card->n_chars; i++) {
		for (size_t k = 0; k < card->chars[i].n_cats; k++)
			free(card->chars[i].cats[k]);
		free(card->chars[i].cats);
	}
	free(card->path);
	free(card);
}

void scorecard_set_free(struct scorecard_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n_cards; i++)
		scorecard_free(set->cards[i]);
	free(set);
}

const struct scorecard *scorecard_set_pick(const struct scorecard_set *set, enum segment seg)
{
	const struct scorecard *fallback = NULL;
	for (size_t i = 0; i < set->n_cards; i++) {
		if (seg != SEGMENT_UNKNOWN && (unsigned)seg < SEGMENT__COUNT &&
		    (set->cards[i]->segments & (1u << seg)))
			return set->cards[i];
		if (set->cards[i]->is_default)
			fallback = set->cards[i];
	}
	return fallback;
}

size_t scorecard_set_count(const struct scorecard_set *set)
{
	return set->n_cards;
}

const struct scorecard *scorecard_set_card(const struct scorecard_set *set, size_t idx)
{
	return set->cards[idx];
}

const char *scorecard_name(const struct scorecard *card)
{
	return card->name;
}

const char *scorecard_version(const struct scorecard *card)
{
	return card->version;
}

const char *scorecard_path(const struct scorecard *card)
{
	return card->path;
}

const char *scorecard_hash(const struct scorecard *card)
{
	return card->hash;
}

int scorecard_has_segment(const struct scorecard *card, enum segment seg)
{
	return (unsigned)seg < SEGMENT__COUNT && (card->segments & (1u << seg)) != 0;
}

int scorecard_is_default(const struct scorecard *card)
{
	return card->is_default;
}

double scorecard_cutoff(const struct scorecard *card, enum rule_grade g)
{
	return g >= RULE_GRADE_AAA && g < RULE_GRADE_C ? card->cutoff[g] : -INFINITY;
}

size_t scorecard_char_count(const struct scorecard *card)
{
	return card->n_chars;
}

enum feature_id scorecard_char_feature(const struct scorecard *card, size_t idx)
{
	return card->chars[idx].feature;
}

/* ---- grading ---- */

/* The best grade whose cut-off `points` reaches (C below B's cut-off). */
static enum rule_grade grade_of_points(const struct scorecard *card, double points)
{
	for (int k = RULE_GRADE_AAA; k < RULE_GRADE_C; k++)
		if (points >= card->cutoff[k])
			return (enum rule_grade)k;
	return RULE_GRADE_C;
}

/*
 * The value characteristic ch reads for a customer: into *v, returning 1, or 0 when it is
 * missing (unknown, not a number, an attribute of an unbound card or without values).
 */
static int char_value(const struct scorecard_char *ch, const struct feature_vec *fv,
                      const struct attr_vec *av, double *v)
{
	if (ch->is_attr) {
		if (!av || ch->attr_slot < 0 || !attr_vec_known(av, ch->attr_slot))
			return 0;
		*v = av->value[ch->attr_slot];
	} else {
		if (!feature_known(fv, ch->feature))
			return 0;
		*v = fv->value[ch->feature];
	}
	return !isnan(*v);
}

int scorecard_char_bin(const struct scorecard_char *ch, double v)
{
	if (ch->type == FEATURE_NUM) {
		size_t i = 0;
		while (i + 1 < ch->n_bins && !(v < ch->bins[i].to))
			i++;
		return (int)i;
	}
	int code = ch->type == FEATURE_BOOL ? v != 0 : (int)v;
	if (code >= 0 && code < SCORECARD_SYMBOLS_MAX && ch->code_bin[code] >= 0)
		return ch->code_bin[code];
	return ch->has_other ? SCORECARD_BINS_MAX : -1;
}

/* Points of ch for a customer; *missing says whether the missing bin gave them. */
static double char_points(const struct scorecard_char *ch, const struct feature_vec *fv,
                          const struct attr_vec *av, int *missing)
{
	double v;
	int bin = char_value(ch, fv, av, &v) ? scorecard_char_bin(ch, v) : -1;
	*missing = bin < 0;
	if (bin < 0)
		return ch->missing_points;
	return bin == SCORECARD_BINS_MAX ? ch->other_points : ch->bins[bin].points;
}

/* Points, adverse reasons and the points grade of one customer (no caps or floors yet). */
static void score_points(const struct scorecard *card, const struct feature_vec *fv,
                         const struct attr_vec *av, struct credit_grade *out)
{
	struct {
		double lost;
		size_t idx;
		int missing;
	} losses[SCORECARD_CHARS_MAX];
	size_t n_losses = 0;
	memset(out, 0, sizeof *out);
	double points = card->base_points;
	for (size_t i = 0; i < card->n_chars; i++) {
		const struct scorecard_char *ch = &card->chars[i];
		int missing;
		double got = char_points(ch, fv, av, &missing);
		points += got;
		double lost = ch->best - got;
		if (!(lost > 0))
			continue;
		size_t j = n_losses++;
		while (j > 0 && losses[j - 1].lost < lost) { /* stable: ties keep card order */
			losses[j] = losses[j - 1];
			j--;
		}
		losses[j].lost = lost;
		losses[j].idx = i;
		losses[j].missing = missing;
	}
	for (size_t k = 0; k < n_losses && k < CREDIT_REASONS_MAX; k++) {
		const struct scorecard_char *ch = &card->chars[losses[k].idx];
		struct credit_reason *r = &out->reasons[out->n_reasons++];
		memcpy(r->code, ch->code, sizeof r->code);
		memcpy(r->text, losses[k].missing && ch->missing_text[0] ? ch->missing_text : ch->text,
		       sizeof r->text);
		r->points_lost = losses[k].lost;
	}
	out->points = points;
	out->points_grade = grade_of_points(card, points);
}

/* Applies the policy's floor, then its cap, to out->points_grade. */
static void apply_limits(struct credit_grade *out, const struct grade_limits *limits_or_NULL)
{
	enum rule_grade g = out->points_grade;
	if (limits_or_NULL) {
		enum rule_grade floor = limits_or_NULL->floor, cap = limits_or_NULL->cap;
		if (floor >= RULE_GRADE_AAA && floor < RULE_GRADE__COUNT && g > floor)
			g = floor;
		if (cap >= RULE_GRADE_AAA && cap < RULE_GRADE__COUNT && g < cap)
			g = cap;
	}
	out->grade = g;
	out->capped = g > out->points_grade;
	out->floored = g < out->points_grade;
}

/* Puts the rule that set the binding cap (or floor) first among the reasons. */
static void add_limit_reason(struct credit_grade *out, const struct grade_limits *limits)
{
	const char *code = out->capped ? limits->cap_code : out->floored ? limits->floor_code : NULL;
	const char *text = out->capped ? limits->cap_text : limits->floor_text;
	if (!code)
		return;
	if (!text)
		text = "";
	int keep = out->n_reasons < CREDIT_REASONS_MAX ? out->n_reasons : CREDIT_REASONS_MAX - 1;
	memmove(&out->reasons[1], &out->reasons[0], (size_t)keep * sizeof out->reasons[0]);
	struct credit_reason *r = &out->reasons[0];
	memset(r, 0, sizeof *r);
	riskd_strlcpy(r->code, sizeof r->code, code, strlen(code));
	riskd_strlcpy(r->text, sizeof r->text, text, strlen(text));
	out->n_reasons = keep + 1;
}

enum rule_grade scorecard_points_grade_held(const struct scorecard *card, double points,
                                            enum rule_grade held, double margin)
{
	enum rule_grade plain = grade_of_points(card, points);
	if (held < RULE_GRADE_AAA || held >= RULE_GRADE__COUNT || !(margin > 0))
		return plain;
	enum rule_grade moved = plain;
	if (plain < held) /* better: only once the points clear the better cut-off by margin */
		moved = grade_of_points(card, points - margin);
	else if (plain > held) /* worse: only once the points fall below held's cut-off by margin */
		moved = grade_of_points(card, points + margin);
	if ((plain < held && moved < held) || (plain > held && moved > held))
		return moved;
	return held;
}

int scorecard_grade(const struct scorecard *card, const struct feature_vec *fv,
                    const struct grade_limits *limits_or_NULL, struct credit_grade *out)
{
	return scorecard_grade_held(card, fv, limits_or_NULL, RULE_GRADE_NONE, 0, out);
}

int scorecard_grade_held(const struct scorecard *card, const struct feature_vec *fv,
                         const struct grade_limits *limits_or_NULL, enum rule_grade held,
                         double margin, struct credit_grade *out)
{
	return scorecard_grade_attrs(card, fv, NULL, limits_or_NULL, held, margin, out);
}

int scorecard_grade_attrs(const struct scorecard *card, const struct feature_vec *fv,
                          const struct attr_vec *av_or_NULL,
                          const struct grade_limits *limits_or_NULL, enum rule_grade held,
                          double margin, struct credit_grade *out)
{
	score_points(card, fv, av_or_NULL, out);
	out->points_grade = scorecard_points_grade_held(card, out->points, held, margin);
	apply_limits(out, limits_or_NULL);
	if (limits_or_NULL)
		add_limit_reason(out, limits_or_NULL);
	return 0;
}
