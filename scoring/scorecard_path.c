/*
 * scorecard_path.c - the path to a better grade: the smallest changes of a customer's
 * characteristics that lift its grade one step, worded for customer service (see
 * scorecard_better_grade_path in scorecard.h). detector/grader.c computes it with every change of grade;
 * the grade row and the credit-grades message carry it as `path_to_better_grade`.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scorecard.h"

/* Which way a feature's value can move by what a customer does (or by waiting). */
enum direction { MOVE_EITHER, MOVE_UP, MOVE_DOWN };

/* How a payment feature moves and how its step is worded: `text` takes (target, value now) -
 * the bin's start for a feature moving up (or how much longer, for counts of months, days and
 * bills), the largest value below the bin's end for one moving down; `none` takes (value now)
 * when a feature moving down has to get below 1. */
struct phrasing {
	enum feature_id feature;
	enum direction direction;
	const char *text; /* printf format of (target, value now) */
	const char *none; /* down to the bin below 1: printf format of (value now); NULL: text */
};

static const struct phrasing phrasings[] = {
	{FEAT_DAYS_PAST_DUE, MOVE_DOWN,
	 "pay the oldest bills so that none is %g days or more past due (now %g)",
	 "pay the bills past due (%g days now)"},
	{FEAT_MAX_DAYS_PAST_DUE_12M, MOVE_DOWN,
	 "no bill %g days or more past due for 12 months (the worst in 12 months: %g days)",
	 "no bill past due for 12 months (the worst in 12 months: %g days)"},
	{FEAT_LATE_PAYMENTS_12M, MOVE_DOWN,
	 "at most %g late payments in 12 months (now %g): pay every bill on time while older "
	 "ones age out",
	 "no late payment in 12 months (now %g): pay every bill on time while older ones age out"},
	{FEAT_ON_TIME_SHARE_12M, MOVE_UP,
	 "pay bills on time: %.0f%% of the last 12 months' bills or more (now %.0f%%)", NULL},
	{FEAT_ARREARS_AMOUNT, MOVE_DOWN, "bring the arrears below %.2f (now %.2f)", NULL},
	{FEAT_ARREARS_RATIO, MOVE_DOWN, "bring the arrears below %g average bills (now %.1f)", NULL},
	{FEAT_REVERSALS_12M, MOVE_DOWN,
	 "no bounced payment until at most %g are within 12 months (now %g)",
	 "no bounced payment within 12 months (now %g): no new one while the last ages out"},
	{FEAT_TENURE_MONTHS, MOVE_UP, "%g more months as a customer (now %g)", NULL},
	{FEAT_MONTHS_SINCE_LAST_LATE, MOVE_UP, "%g more months without a late payment (now %g)", NULL},
	{FEAT_DAYS_SINCE_REVERSAL, MOVE_UP, "%g more days without a bounced payment (now %g)", NULL},
	{FEAT_BILLS_12M, MOVE_UP, "%g more bills in 12 months (now %g)", NULL},
};

/* Features whose step says how much longer (months, days, bills) rather than where to. */
static int counts_up(enum feature_id f)
{
	return f == FEAT_TENURE_MONTHS || f == FEAT_MONTHS_SINCE_LAST_LATE ||
	       f == FEAT_DAYS_SINCE_REVERSAL || f == FEAT_BILLS_12M;
}

/* Whole-number features: "below 14" is "at most 13". */
static int whole_numbers(enum feature_id f)
{
	return f == FEAT_LATE_PAYMENTS_12M || f == FEAT_REVERSALS_12M;
}

static const struct phrasing *phrasing_of(enum feature_id f)
{
	for (size_t i = 0; i < sizeof phrasings / sizeof phrasings[0]; i++)
		if (phrasings[i].feature == f)
			return &phrasings[i];
	return NULL;
}

/* Whether characteristic ch can be part of a path: a numeric registry feature with a value. */
static int movable(const struct scorecard_char *ch, const struct feature_vec *fv)
{
	return !ch->is_attr && ch->type == FEATURE_NUM && feature_known(fv, ch->feature) &&
	       !isnan(fv->value[ch->feature]);
}

/* The nearest bin to bin `at` (fewest bins away, the more points on a tie) in the directions
 * the feature can move that gives more than `points`; -1 none. */
static int better_bin(const struct scorecard_char *ch, int at, double points)
{
	const struct phrasing *ph = phrasing_of(ch->feature);
	enum direction dir = ph ? ph->direction : MOVE_EITHER;
	for (int d = 1; d < (int)ch->n_bins; d++) {
		int up = at + d < (int)ch->n_bins && dir != MOVE_DOWN &&
		         ch->bins[at + d].points > points ? at + d : -1;
		int down = at - d >= 0 && dir != MOVE_UP && ch->bins[at - d].points > points
		               ? at - d : -1;
		if (up >= 0 && down >= 0)
			return ch->bins[up].points >= ch->bins[down].points ? up : down;
		if (up >= 0 || down >= 0)
			return up >= 0 ? up : down;
	}
	return -1;
}

/* Words step s (its feature, value and bin) into s->text. */
static void word_step(struct credit_step *s, const struct feature_vec *fv)
{
	const struct phrasing *ph = phrasing_of(s->feature);
	int up = s->value < s->from;
	double target = up ? s->from : s->to, now = s->value;
	if (up && counts_up(s->feature))
		target = ceil(s->from - s->value);
	else if (!up && whole_numbers(s->feature))
		target = ceil(s->to) - 1;
	if (s->feature == FEAT_ON_TIME_SHARE_12M) {
		target *= 100;
		now *= 100;
	}
	double arrears = feature_known(fv, FEAT_ARREARS_AMOUNT) ? fv->value[FEAT_ARREARS_AMOUNT] : 0;
	if (s->feature == FEAT_DAYS_PAST_DUE && s->to <= 1 && arrears > 0)
		snprintf(s->text, sizeof s->text, "pay the %.2f past due", arrears);
	else if (ph && ph->none && !up && s->to <= 1)
		snprintf(s->text, sizeof s->text, ph->none, now);
	else if (ph && (ph->direction == MOVE_UP) == up)
		snprintf(s->text, sizeof s->text, ph->text, target, now);
	else
		snprintf(s->text, sizeof s->text, "%s %s %g (now %g)", feature_def(s->feature)->name,
		         up ? "at least" : "below", target, now);
}

/* Work state of one characteristic while the path is chosen. */
struct char_move {
	int bin;       /* the bin the path has it in; -1 not movable */
	double points; /* that bin's points */
	int step;      /* its index in out->steps; -1 none yet */
};

/* The next move: among the characteristics' better bins, the fewest points that still give
 * `need` when one does, else the most points (ties: card order). Returns the characteristic
 * and sets *bin, or -1 when none can move (or a new step would pass max_steps). */
static int choose_move(const struct scorecard *card, const struct char_move *moves, double need,
                       int n_steps, int max_steps, int *bin)
{
	int pick = -1, pick_bin = -1, pick_enough = 0;
	double pick_gain = 0;
	for (size_t i = 0; i < card->n_chars; i++) {
		const struct scorecard_char *ch = &card->chars[i];
		if (moves[i].bin < 0 || (moves[i].step < 0 && n_steps >= max_steps))
			continue;
		int b = better_bin(ch, moves[i].bin, moves[i].points);
		if (b < 0)
			continue;
		double gain = ch->bins[b].points - moves[i].points;
		int enough = gain >= need;
		if (pick < 0 || (enough && !pick_enough) ||
		    (enough && pick_enough && gain < pick_gain) ||
		    (!enough && !pick_enough && gain > pick_gain)) {
			pick = (int)i;
			pick_bin = b;
			pick_gain = gain;
			pick_enough = enough;
		}
	}
	*bin = pick_bin;
	return pick;
}

/* Drops the steps (from `first` on) not needed to give `needed`, fewest points first. */
static void drop_spare_steps(struct credit_path *out, int first, double needed)
{
	double total = 0;
	for (int k = first; k < out->n_steps; k++)
		total += out->steps[k].points_gained;
	for (;;) {
		int spare = -1;
		for (int k = first; k < out->n_steps; k++)
			if (total - out->steps[k].points_gained >= needed &&
			    (spare < 0 || out->steps[k].points_gained < out->steps[spare].points_gained))
				spare = k;
		if (spare < 0)
			return;
		total -= out->steps[spare].points_gained;
		memmove(&out->steps[spare], &out->steps[spare + 1],
		        (size_t)(out->n_steps - spare - 1) * sizeof out->steps[0]);
		out->n_steps--;
	}
}

/* The capping rule's step, when a cap is worse than the target. Returns 1 when added. */
static int add_rule_step(struct credit_path *out, const struct grade_limits *limits)
{
	if (!limits || limits->cap < RULE_GRADE_AAA || limits->cap >= RULE_GRADE__COUNT ||
	    limits->cap <= out->target || !limits->cap_code)
		return 0;
	struct credit_step *s = &out->steps[out->n_steps++];
	s->is_rule = 1;
	riskd_strlcpy(s->code, sizeof s->code, limits->cap_code, strlen(limits->cap_code));
	snprintf(s->text, sizeof s->text, "the policy holds the grade at %s while this lasts: %s",
	         credit_grade_name(limits->cap), limits->cap_text ? limits->cap_text : "");
	return 1;
}

void scorecard_better_grade_path(const struct scorecard *card, const struct feature_vec *fv,
                    const struct credit_grade *graded, const struct grade_limits *limits_or_NULL,
                    double margin, struct credit_path *out)
{
	memset(out, 0, sizeof *out);
	out->target = RULE_GRADE_NONE;
	if (graded->grade <= RULE_GRADE_AAA || graded->grade >= RULE_GRADE__COUNT)
		return;
	out->target = (enum rule_grade)(graded->grade - 1);
	if (graded->points_grade > out->target)
		out->points_needed = scorecard_cutoff(card, out->target) + (margin > 0 ? margin : 0) -
		                     graded->points;
	if (out->points_needed < 0)
		out->points_needed = 0;
	int first = add_rule_step(out, limits_or_NULL);

	struct char_move moves[SCORECARD_CHARS_MAX];
	for (size_t i = 0; i < card->n_chars; i++) {
		const struct scorecard_char *ch = &card->chars[i];
		moves[i].step = -1;
		moves[i].bin = movable(ch, fv) ? scorecard_char_bin(ch, fv->value[ch->feature]) : -1;
		moves[i].points = moves[i].bin >= 0 ? ch->bins[moves[i].bin].points : 0;
	}
	double need = out->points_needed;
	int bin;
	for (int c; need > 0 && (c = choose_move(card, moves, need, out->n_steps,
	                                         CREDIT_PATH_STEPS_MAX, &bin)) >= 0;) {
		const struct scorecard_char *ch = &card->chars[c];
		double gain = ch->bins[bin].points - moves[c].points;
		if (moves[c].step < 0) {
			moves[c].step = out->n_steps++;
			struct credit_step *s = &out->steps[moves[c].step];
			memcpy(s->code, ch->code, sizeof s->code);
			s->feature = ch->feature;
			s->value = fv->value[ch->feature];
		}
		struct credit_step *s = &out->steps[moves[c].step];
		s->from = ch->bins[bin].from;
		s->to = ch->bins[bin].to;
		s->points_gained += gain;
		moves[c].bin = bin;
		moves[c].points = ch->bins[bin].points;
		need -= gain;
	}
	out->reachable = !(need > 0);
	if (out->reachable)
		drop_spare_steps(out, first, out->points_needed);
	for (int k = first; k < out->n_steps; k++)
		word_step(&out->steps[k], fv);
}

/* A number, or null for an infinite bin end. */
static void json_number(struct rbuf *out, double v)
{
	if (isfinite(v))
		rbuf_printf(out, "%.10g", v);
	else
		rbuf_puts(out, "null");
}

void credit_path_json(const struct credit_path *path, struct rbuf *out)
{
	if (path->target == RULE_GRADE_NONE) {
		rbuf_puts(out, "null");
		return;
	}
	rbuf_printf(out, "{\"target_grade\":\"%s\",\"points_needed\":%.2f,\"reachable\":%s,"
	            "\"steps\":[", credit_grade_name(path->target), path->points_needed,
	            path->reachable ? "true" : "false");
	for (int k = 0; k < path->n_steps; k++) {
		const struct credit_step *s = &path->steps[k];
		rbuf_puts(out, k ? ",{\"code\":" : "{\"code\":");
		rbuf_json_string(out, s->code);
		rbuf_printf(out, ",\"rule\":%s,\"feature\":", s->is_rule ? "true" : "false");
		if (s->is_rule)
			rbuf_puts(out, "null,\"value\":null,\"from\":null,\"to\":null");
		else {
			rbuf_json_string(out, feature_def(s->feature)->name);
			rbuf_puts(out, ",\"value\":");
			json_number(out, s->value);
			rbuf_puts(out, ",\"from\":");
			json_number(out, s->from);
			rbuf_puts(out, ",\"to\":");
			json_number(out, s->to);
		}
		rbuf_printf(out, ",\"points_gained\":%.2f,\"text\":", s->points_gained);
		rbuf_json_string(out, s->text);
		rbuf_puts(out, "}");
	}
	rbuf_puts(out, "]}");
}
