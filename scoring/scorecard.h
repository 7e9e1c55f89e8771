/*
 * scorecard.h - credit scorecards: YAML files (scoring/cards/) with base points,
 * binned characteristics over registry features, and grade cut-offs; the grade of one
 * customer with its points and its top three adverse reasons; caps and floors from the
 * credit rule set (rules/credit.yaml) applied on top.
 *
 * Flow: scorecard_set_load_paths reads every card of a directory (one per group of
 * segments), reports every error as `path:line:col: error: ...` with the source line and a
 * caret (the rule loader's diagnostics, struct rules_diags), and yields an immutable set;
 * scorecard_set_pick chooses the card for a customer's segment; scorecard_grade turns a
 * feature_vec into a struct credit_grade without allocating. A loaded card is never
 * modified, so any number of threads may grade with it, and a reload can build a new set
 * beside the old one and swap a pointer. docs/credit.md describes the file format, how the
 * shipped cards were fitted (scoring/scorecard_fit.h) and how well they rank.
 */
#ifndef RISKD_SCORECARD_H
#define RISKD_SCORECARD_H

#include <stddef.h>
#include <stdint.h>

#include "../rules/ruleset.h"
#include "event_types.h"
#include "features.h"

/* Most characteristics in one card, bins in one characteristic, cards in one set. */
#define SCORECARD_CHARS_MAX 32
#define SCORECARD_BINS_MAX 24
#define SCORECARD_CARDS_MAX 8
/* Longest reason code and reason text, in bytes, without the NUL. */
#define SCORECARD_CODE_MAX 31
#define SCORECARD_TEXT_MAX 119
/* Adverse reasons given with each grade. */
#define CREDIT_REASONS_MAX 3

/* One adverse reason: a characteristic that lost points against its best bin, or (with
 * points_lost 0) the credit rule that capped the grade. */
struct credit_reason {
	char code[SCORECARD_CODE_MAX + 1];  /* stable code, e.g. "DAYS_PAST_DUE" (rule: its id) */
	char text[SCORECARD_TEXT_MAX + 1];  /* readable text, e.g. "Bills are past due now" */
	double points_lost;                 /* best bin's points minus the points scored */
};

/* A customer's grade. Fixed-size; owns no memory. */
struct credit_grade {
	enum rule_grade grade;        /* after caps and floors */
	enum rule_grade points_grade; /* from the points alone */
	double points;                /* base points + every characteristic's points */
	int capped;                   /* a credit rule's cap lowered the grade */
	int floored;                  /* a credit rule's floor raised the grade */
	int n_reasons;                /* 0 .. CREDIT_REASONS_MAX */
	struct credit_reason reasons[CREDIT_REASONS_MAX]; /* most points lost first */
};

struct scorecard;
struct scorecard_set;

/*
 * Loads one card from a file (scorecard_load_path) or from memory (scorecard_load_text: path
 * is only used in diagnostics; text need not be NUL-terminated). Every error is appended to
 * diags (at most RULES_FILE_ERRORS_MAX, then one line saying the rest were cut), sorted by
 * line and column. Returns 0 and *out (free with scorecard_free), or RISKD_ERR_INVALID with
 * *out NULL. The file is checked against the feature registry.
 */
int scorecard_load_path(const char *path, struct scorecard **out, struct rules_diags *diags);
int scorecard_load_text(const char *path, const char *text, size_t len, struct scorecard **out,
                        struct rules_diags *diags);

/* Frees a card (NULL is fine). No grading may be running on it. */
void scorecard_free(struct scorecard *card);

/* The card's name ("residential"), version (as written), path, and a content hash (16 hex
 * digits of 64-bit FNV-1a over the file's length and bytes, as rule sets). Strings live as
 * long as the card. */
const char *scorecard_name(const struct scorecard *card);
const char *scorecard_version(const struct scorecard *card);
const char *scorecard_path(const struct scorecard *card);
const char *scorecard_hash(const struct scorecard *card);

/* Whether the card lists segment seg; whether it is its set's default (`default: true`). */
int scorecard_has_segment(const struct scorecard *card, enum segment seg);
int scorecard_is_default(const struct scorecard *card);

/* Smallest points of grade g (AAA .. B, from the card's `grades`); C has no lower bound
 * (-INFINITY). */
double scorecard_cutoff(const struct scorecard *card, enum rule_grade g);

/* Number of characteristics and the feature of characteristic idx. */
size_t scorecard_char_count(const struct scorecard *card);
enum feature_id scorecard_char_feature(const struct scorecard *card, size_t idx);

/*
 * Grades one customer: points = base points + for each characteristic the points of the bin
 * its feature falls in (a missing feature: the missing bin); the grade is the best one whose
 * cut-off the points reach. Reasons: the characteristics that scored below their best bin,
 * most points lost first (ties in card order), at most CREDIT_REASONS_MAX.
 * caps_or_NULL: a credit rule set's result (ruleset_eval on RULE_KIND_CREDIT) for the same
 * customer; its floor raises and its cap lowers the grade (the cap wins when they disagree).
 * Returns 0. Allocates nothing, writes only *out; thread-safe on a shared card.
 */
int scorecard_grade(const struct scorecard *card, const struct feature_vec *fv,
                    const struct rule_hits *caps_or_NULL, struct credit_grade *out);

/*
 * scorecard_grade with the credit rules evaluated here: evaluates credit_rules on fv (NULL:
 * no caps), grades, and when a rule's cap lowered the grade (or its floor raised it) puts
 * that rule first among the reasons (code: the rule id, text: its title, points_lost 0),
 * keeping at most CREDIT_REASONS_MAX. Uses about 1 KiB of stack; allocates nothing.
 */
int scorecard_grade_with_rules(const struct scorecard *card, const struct feature_vec *fv,
                               const struct ruleset *credit_rules, struct credit_grade *out);

/*
 * scorecard_grade_with_rules with hysteresis: `held` is the points grade the customer holds
 * (RULE_GRADE_NONE: none yet, no hysteresis). The points grade only moves away from held
 * once the points clear the cut-off being crossed by more than margin points: up to the best
 * grade whose cut-off points - margin reaches, down to the grade of points + margin. Caps and
 * floors then apply without hysteresis (a policy rule takes effect at once). out->points_grade
 * is the held-or-moved points grade. Allocates nothing.
 */
int scorecard_grade_held(const struct scorecard *card, const struct feature_vec *fv,
                         const struct ruleset *credit_rules, enum rule_grade held,
                         double margin, struct credit_grade *out);

/* The best grade whose cut-off `points` reaches (C below B's cut-off). */
enum rule_grade scorecard_points_grade(const struct scorecard *card, double points);

/* The points grade with hysteresis, as scorecard_grade_held computes it. */
enum rule_grade scorecard_points_grade_held(const struct scorecard *card, double points,
                                            enum rule_grade held, double margin);

/*
 * Loads every card of paths (files, or directories whose *.yaml / *.yml files are all cards,
 * in name order) into one set. Besides each file's own checks: at most SCORECARD_CARDS_MAX
 * cards, card names unique, no segment listed by two cards, at most one default card.
 * Returns 0 and *out (free with scorecard_set_free), or RISKD_ERR_INVALID with every error in
 * diags and *out NULL.
 */
int scorecard_set_load_paths(const char *const *paths, size_t n_paths,
                             struct scorecard_set **out, struct rules_diags *diags);

/* Frees a set and its cards (NULL is fine). */
void scorecard_set_free(struct scorecard_set *set);

/* The card for a customer of segment seg: the card listing seg, else the default card, else
 * NULL. SEGMENT_UNKNOWN (no profile yet) gets the default card. */
const struct scorecard *scorecard_set_pick(const struct scorecard_set *set, enum segment seg);

/* Number of cards, and card idx in load order. */
size_t scorecard_set_count(const struct scorecard_set *set);
const struct scorecard *scorecard_set_card(const struct scorecard_set *set, size_t idx);

/* "AAA" .. "C" for a grade; "" otherwise (same names as rule files). */
const char *credit_grade_name(enum rule_grade grade);

#endif
