/*
 * scorecard.h - credit scorecards: base points, binned characteristics over registry
 * features, and grade cut-offs; the grade of one customer with its points and its top three
 * adverse reasons, with the caps and floors of the credit policy applied on top.
 *
 * A card is plain data. rules/scorecard_load.h builds cards from their YAML files
 * (scoring/cards/), with every check and diagnostic; scoring/scorecard_fit.h fits new ones.
 * This module holds the arithmetic: scorecard_set_pick chooses the card for a customer's
 * segment; scorecard_grade / scorecard_grade_held turn a feature_vec and the policy's limits
 * (struct grade_limits, which detector/grader.c gets from the credit rule set) into a struct
 * credit_grade without allocating. A characteristic reads a registry feature or a customer
 * attribute (scoring/attributes.h): cards name attributes by name and category values by
 * text, and scorecard_bind_attributes maps them to a schema's slots and codes (once, after
 * loading); scorecard_grade_attrs then reads them from a struct attr_vec. A loaded and bound
 * card is never modified, so any number of threads may grade with it, and a reload can build
 * a new set beside the old one and swap a pointer.
 * docs/credit.md describes the file format, how the shipped cards were fitted and how well
 * they rank. No I/O.
 */
#ifndef RISKD_SCORECARD_H
#define RISKD_SCORECARD_H

#include <stddef.h>
#include <stdint.h>

#include "attributes.h"
#include "event_types.h"
#include "features.h"
#include "grade.h"

/* Most characteristics in one card, bins in one characteristic, cards in one set. */
#define SCORECARD_CHARS_MAX 32
#define SCORECARD_BINS_MAX 24
#define SCORECARD_CARDS_MAX 8
/* Longest card name or version, reason code and reason text, in bytes, without the NUL. */
#define SCORECARD_NAME_MAX 64
#define SCORECARD_CODE_MAX 31
#define SCORECARD_TEXT_MAX 119
/* Most values (boolean: 2; symbol: its set) a characteristic's bins can list. */
#define SCORECARD_SYMBOLS_MAX 64
/* Adverse reasons given with each grade. */
#define CREDIT_REASONS_MAX 3

/* One bin of a characteristic. */
struct scorecard_bin {
	double from, to;  /* numeric: [from, to), -INFINITY / INFINITY at the open ends */
	double points;
	uint64_t values;  /* boolean and symbol bins: bit per code (boolean: 0 false, 1 true) */
};

/* One characteristic: a feature or a customer attribute, its bins and the points of each. */
struct scorecard_char {
	enum feature_id feature;                   /* a feature's characteristic */
	enum feature_type type;                    /* attributes: FEATURE_NUM for a number,
	                                              FEATURE_SYM for a category */
	int is_attr;                               /* an attribute's characteristic */
	char attr[ATTR_NAME_MAX + 1];              /* ... its attribute's name */
	int attr_slot;                             /* ... its schema slot once bound
	                                              (scorecard_bind_attributes), -1 before */
	char **cats;                               /* category attributes: the values the bins
	                                              list (owned), bin values bit = index here */
	size_t n_cats;
	int has_other;                             /* category attributes: a bin for values no
	                                              other bin lists */
	double other_points;
	char code[SCORECARD_CODE_MAX + 1];
	char text[SCORECARD_TEXT_MAX + 1];
	char missing_text[SCORECARD_TEXT_MAX + 1]; /* reason when the feature is missing; "": text */
	struct scorecard_bin bins[SCORECARD_BINS_MAX]; /* value bins, numeric ones ascending and
	                                                  following on from -inf to +inf; boolean
	                                                  and symbol ones taking each value once */
	size_t n_bins;
	double missing_points;
	/* set by scorecard_char_finish: */
	double best;                               /* most points any bin gives */
	int8_t code_bin[SCORECARD_SYMBOLS_MAX];    /* boolean / symbol code (category attribute:
	                                              schema code, once bound) -> bin, -1 none */
};

/* A card. The builder fills every field; scorecard_free releases it. */
struct scorecard {
	char name[SCORECARD_NAME_MAX + 1];
	char version[SCORECARD_NAME_MAX + 1];
	char hash[17];                          /* content hash of its file */
	char *path;                             /* owned */
	double base_points;
	double cutoff[RULE_GRADE_C];            /* least points of AAA .. B, descending */
	unsigned segments;                      /* bit per enum segment */
	int is_default;
	struct scorecard_char chars[SCORECARD_CHARS_MAX];
	size_t n_chars;
};

/* Cards of distinct names and segments, at most one of them the default. */
struct scorecard_set {
	struct scorecard *cards[SCORECARD_CARDS_MAX];
	size_t n_cards;
};

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

/* A zeroed card of file path (copied), for a builder to fill. Free with scorecard_free. */
struct scorecard *scorecard_new(const char *path);

/* Frees a card (NULL is fine). No grading may be running on it. */
void scorecard_free(struct scorecard *card);

/* Derives what grading needs from a filled characteristic's bins (best, code_bin). */
void scorecard_char_finish(struct scorecard_char *ch);

/* Adds value (len bytes, copied) to a category attribute characteristic's values; returns
 * its index, or -1 when it already has SCORECARD_SYMBOLS_MAX or lists the value. */
int scorecard_char_add_category(struct scorecard_char *ch, const char *value, size_t len);

/*
 * Binds the card's attribute characteristics to a schema: each attribute must be declared
 * there with the same type, and each value a category's bins list must be one of its
 * allowed values; the schema's values that no bin lists take the `other` bin. Until bound,
 * an attribute scores its missing bin. The schema must outlive nothing: the card keeps slots
 * and codes, not pointers. Returns 0, or RISKD_ERR_INVALID with errstr naming the attribute
 * (the card is then left unbound).
 */
int scorecard_bind_attributes(struct scorecard *card, const struct attr_schema *schema,
                              char *errstr, size_t errstr_size);

/* Whether the card has attribute characteristics. */
int scorecard_uses_attributes(const struct scorecard *card);

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

/* The bin value v of characteristic ch falls in (an index of ch->bins), SCORECARD_BINS_MAX
 * for the `other` bin of a category attribute, or -1 for the missing bin (a boolean or symbol
 * value no bin takes). */
int scorecard_char_bin(const struct scorecard_char *ch, double v);

/*
 * Grades one customer: points = base points + for each characteristic the points of the bin
 * its feature falls in (a missing feature: the missing bin); the grade is the best one whose
 * cut-off the points reach. Reasons: the characteristics that scored below their best bin,
 * most points lost first (ties in card order), at most CREDIT_REASONS_MAX.
 * limits_or_NULL: the credit policy's limits for the same customer; its floor raises and its
 * cap lowers the grade (the cap wins when they disagree). When the cap lowered (or the floor
 * raised) the grade and limits names the rule behind it, that rule comes first among the
 * reasons (code: the rule id, text: its title, points_lost 0), keeping at most
 * CREDIT_REASONS_MAX. Returns 0. Allocates nothing, writes only *out; thread-safe on a
 * shared card.
 */
int scorecard_grade(const struct scorecard *card, const struct feature_vec *fv,
                    const struct grade_limits *limits_or_NULL, struct credit_grade *out);

/*
 * scorecard_grade with hysteresis: `held` is the points grade the customer holds
 * (RULE_GRADE_NONE: none yet, no hysteresis). The points grade only moves away from held
 * once the points clear the cut-off being crossed by more than margin points: up to the best
 * grade whose cut-off points - margin reaches, down to the grade of points + margin. Caps and
 * floors then apply without hysteresis (a policy rule takes effect at once). out->points_grade
 * is the held-or-moved points grade. Allocates nothing.
 */
int scorecard_grade_held(const struct scorecard *card, const struct feature_vec *fv,
                         const struct grade_limits *limits_or_NULL, enum rule_grade held,
                         double margin, struct credit_grade *out);

/*
 * scorecard_grade_held for a customer with attribute values too: av_or_NULL holds them by the
 * slots of the schema the card was bound to (NULL: every attribute missing).
 */
int scorecard_grade_attrs(const struct scorecard *card, const struct feature_vec *fv,
                          const struct attr_vec *av_or_NULL,
                          const struct grade_limits *limits_or_NULL, enum rule_grade held,
                          double margin, struct credit_grade *out);

/* The points grade with hysteresis, as scorecard_grade_held computes it. */
enum rule_grade scorecard_points_grade_held(const struct scorecard *card, double points,
                                            enum rule_grade held, double margin);

/* ---- the path to a better grade (scorecard_path.c) ---- */

/* Most steps of a path; longest text of a step, in bytes, without the NUL. */
#define CREDIT_PATH_STEPS_MAX 4
#define CREDIT_STEP_TEXT_MAX 159

/* One change that lifts a customer's points (a characteristic moving to a better bin), or
 * the credit rule whose cap holds the grade down (is_rule: it has to stop firing). */
struct credit_step {
	int is_rule;
	char code[SCORECARD_CODE_MAX + 1]; /* the characteristic's reason code; a rule's id */
	enum feature_id feature;           /* the characteristic's feature (not for a rule) */
	double value;                      /* the feature's value now */
	double from, to;                   /* the better bin: from <= value < to (+-INFINITY:
	                                      open); the value has to get there */
	double points_gained;              /* the bin's points minus the points now (rule: 0) */
	char text[CREDIT_STEP_TEXT_MAX + 1]; /* what it takes, in words for a customer */
};

/* The smallest changes that lift a grade one step. Fixed-size; owns no memory. */
struct credit_path {
	enum rule_grade target;  /* the grade one step better; RULE_GRADE_NONE: AAA already */
	double points_needed;    /* points the card still has to give (0: enough already) */
	int reachable;           /* the steps give points_needed (a rule step aside) */
	int n_steps;
	struct credit_step steps[CREDIT_PATH_STEPS_MAX]; /* in the order they were chosen */
};

/*
 * The path from graded (scorecard_grade_held's result for this card and fv) to the grade one
 * step better. Points needed: the target's cut-off plus the hysteresis margin (the held points
 * grade moves up only past it) minus the points, when the points grade is worse than the
 * target. Steps: a numeric feature characteristic (attributes, booleans and symbols are facts
 * a customer does not change; missing values too) moves to the nearest bin, in the direction
 * the feature can move (scorecard_path.c lists them), that gives more points. While points
 * are needed: when one move alone gives enough, the one that gives the fewest points does
 * (the smallest change); else the one that gives the most, and that characteristic may move
 * on to its next better bin (still one step). Then steps that turn out not to be needed are
 * dropped, fewest points first. limits_or_NULL: when a cap is worse than the target, the rule
 * behind it comes first (is_rule). At most CREDIT_PATH_STEPS_MAX steps; reachable says
 * whether they suffice. Allocates nothing; writes only *out.
 */
void scorecard_better_grade_path(const struct scorecard *card, const struct feature_vec *fv,
                    const struct credit_grade *graded, const struct grade_limits *limits_or_NULL,
                    double margin, struct credit_path *out);

/*
 * Appends path as JSON: {"target_grade", "points_needed", "reachable", "steps": [{"code",
 * "rule", "feature", "value", "from", "to", "points_gained", "text"}]} (a rule step's feature,
 * value, from and to are null, as are open bin ends), or `null` when there is no better grade.
 */
void credit_path_json(const struct credit_path *path, struct rbuf *out);

/* An empty set (free with scorecard_set_free), and adding a card to it (the set owns it from
 * then on; at most SCORECARD_CARDS_MAX: the builder checks the set's rules first). */
struct scorecard_set *scorecard_set_new(void);
void scorecard_set_add(struct scorecard_set *set, struct scorecard *card);

/* Frees a set and its cards (NULL is fine). */
void scorecard_set_free(struct scorecard_set *set);

/* The card for a customer of segment seg: the card listing seg, else the default card, else
 * NULL. SEGMENT_UNKNOWN (no profile yet) gets the default card. */
const struct scorecard *scorecard_set_pick(const struct scorecard_set *set, enum segment seg);

/* Number of cards, and card idx in load order. */
size_t scorecard_set_count(const struct scorecard_set *set);
const struct scorecard *scorecard_set_card(const struct scorecard_set *set, size_t idx);

#endif
