/*
 * grader.h - credit grades in the detector: the live scorecards (scoring/cards) and credit
 * rule set (rules/credit.yaml), every customer with billing history graded once for each
 * local day in event time, and hysteresis so that a customer near a cut-off does not flap
 * between two grades.
 *
 * When: a day is graded once the billing stream of the customer's partition has passed it,
 * i.e. delivered an event of a later day (grader_on_billing, before that event is applied).
 * The payment state then holds exactly the customer's billing events up to that day, so its
 * grade history is a function of its own billing events (and profile), not of how the
 * readings, billing and profile topics interleave or of where a restart or rebalance fell.
 * A customer's grading starts with the day of its first billing event.
 *
 * The grade a customer holds lives in its state (cs->credit: the published grade and the
 * points grade that hysteresis holds; cs->pay.graded_day: the last day graded; both
 * persisted with the snapshot), so a restart continues from the checkpointed grade. A change
 * of grade - including a customer's first grade - is what the pipeline writes to
 * risk.credit_grades / risk.credit_grade_history and publishes to topics.credit_grades.
 * The grader evaluates the credit rule set into the caps and floors (struct grade_limits) that
 * the scorecard arithmetic (scoring/scorecard.h) applies.
 * Single-threaded: one grader belongs to one detector loop. No I/O besides loading files.
 */
#ifndef RISKD_GRADER_H
#define RISKD_GRADER_H

#include <stdint.h>

#include "../config/riskd_base.h"
#include "../rules/ruleset.h"
#include "../scoring/credit_policy.h"
#include "../scoring/cstate.h"
#include "../scoring/scorecard.h"

struct grader;

/* Customer partitions whose billing day the grader follows: 0 .. GRADER_PARTITIONS_MAX - 1
 * (the detector's limit of partitions per input topic). */
#define GRADER_PARTITIONS_MAX 4096

/* Days one customer is graded day by day in one catch-up at most: a partition whose billing
 * jumps further ahead grades only the last GRADER_CATCH_UP_DAYS days of the gap (older days
 * leave no rows). */
#define GRADER_CATCH_UP_DAYS 400

/* One grading of one customer. */
struct grader_result {
	int changed;                    /* the published grade changed (or this is the first) */
	enum rule_grade previous;       /* the grade before (RULE_GRADE_NONE: first grade) */
	struct credit_grade grade;      /* grade, held points grade, points, reasons */
	const struct scorecard *card;   /* the card used; valid until the next grader_reload */
	const struct credit_actions *actions; /* the service policy's actions for the grade and
	                                         segment (NULL: the policy sets none); valid
	                                         until the next grader_reload */
	struct credit_path path;        /* to the grade one step better; filled when changed */
	int32_t as_of;                  /* local day graded */
	/* payment status of the same day, for risk.customer_credit */
	int has_billing;                /* a bill, payment or reversal has been seen */
	int32_t days_past_due;
	double arrears;                 /* past-due amount */
	double balance_owed;            /* owed in total, due or not */
	int32_t last_payment_day;       /* INT32_MIN: none */
};

/*
 * Loads the credit rule set (the RULE_KIND_CREDIT rules of rules_path, which may be empty),
 * its service policy (the credit file's `actions`, rules/credit_policy_load.h) and the
 * scorecards of cards_path. hysteresis_points >= 0 (scoring.grade_hysteresis_points).
 * Returns NULL when either fails to load, with the rendered diagnostics appended to
 * *diagnostics.
 */
struct grader *grader_new(const char *rules_path, const char *cards_path,
                          double hysteresis_points, struct rbuf *diagnostics);

/* Frees the grader (NULL is fine). */
void grader_free(struct grader *g);

/*
 * Loads the rule and card files again when force is non-zero or the scorecard files changed
 * since the last load (names, sizes, modification times: rules/policy_files.h); the credit
 * rules sit beside the theft rules, whose watch (scorer_reload) says when they changed. On
 * success the new files grade from now on (held grades stay: hysteresis continues against
 * them). Returns 1 when new files are live, 0 when nothing changed, RISKD_ERR_INVALID with
 * the diagnostics appended and the old files still live (a broken file is reported once,
 * not on every check while it stays unchanged).
 */
int grader_reload(struct grader *g, int force, struct rbuf *diagnostics);

/*
 * Evaluates a credit rule set (NULL or empty: no limits) for a customer with features fv:
 * the worst cap and best floor of the active rules that fire, and the first such rule of
 * each (its id and title name the limit in the grade's reasons; they live as long as
 * credit_rules). Allocation-free; uses about 1 KiB of stack.
 */
void grader_limits(const struct ruleset *credit_rules, const struct feature_vec *fv,
                   struct grade_limits *out);

/*
 * Binds the live cards (and every card a reload loads) to the attribute schema, which must
 * outlive g, and sets how a customer's attribute values are found: attributes_of(arg, cs)
 * returns them by the schema's slots, or NULL when cs has none (valid until the next call).
 * Returns 0, or RISKD_ERR_INVALID with errstr naming the card and the attribute when a card
 * names an attribute the schema does not declare as the card reads it.
 */
int grader_set_attributes(struct grader *g, const struct attr_schema *schema,
                          const struct attr_vec *(*attributes_of)(void *arg,
                                                                  const struct cstate *cs),
                          void *arg, char *errstr, size_t errstr_size);

/* The live credit rule set (for its name and version). */
const struct ruleset *grader_rules(const struct grader *g);

/* The live scorecards (for riskd_policy_info); valid until the next grader_reload. */
const struct scorecard_set *grader_cards(const struct grader *g);

/*
 * Grades customer cs as of local day today (its payment features on that day, the card of
 * its segment, the credit rules), with hysteresis against the grade it holds, and records
 * the new held grade in cs (the caller marks cs dirty). The service policy's actions for the
 * grade come with it, and on a change of grade the path to the next better grade. Returns 1 with *out filled, or 0
 * when no card grades cs's segment (nothing changes). Allocates nothing.
 */
int grader_grade(struct grader *g, struct cstate *cs, int32_t today, struct grader_result *out);

/* Receives a grading worth a row: a change of grade (r->changed), or the payment status of
 * the last day of a customer's catch-up (r->has_billing). r is valid during the call. */
typedef void (*grader_emit_fn)(struct cstate *cs, const struct grader_result *r, void *arg);

/*
 * A billing event of local day `day` of customer partition `partition` is about to be
 * applied. When it is the first of a day later than the partition's billing has shown since
 * the watermark was forgotten, every customer of that partition in `customers` with billing
 * history is graded for each day after its graded_day up to day - 1 (at most the last
 * GRADER_CATCH_UP_DAYS), in day order with hysteresis, its graded_day moves to day - 1 and it
 * is marked dirty. emit (NULL: state only, for a replay whose rows are stored already)
 * receives each change and each customer's last grading. Billing events are expected in day
 * order per partition: an event of an earlier day than the newest applies to the grades of
 * the days not graded yet. Returns how many customers were graded. Allocates nothing.
 */
size_t grader_on_billing(struct grader *g, struct cstate_table *customers, int32_t partition,
                         int32_t day, grader_emit_fn emit, void *arg);

/* Forgets the billing day of a partition (its state was removed or is reloaded): the next
 * billing event of the partition grades its customers up to the day before it. */
void grader_forget_partition(struct grader *g, int32_t partition);

/* grader_forget_partition for every partition. */
void grader_forget_all(struct grader *g);

/*
 * Grades cs again as of its graded_day (an analyst's disposition changed confirmed_theft):
 * returns what grader_grade returns, or 0 (nothing changes) when cs has no billing history
 * or holds no grade yet. The caller marks cs dirty.
 */
int grader_regrade(struct grader *g, struct cstate *cs, struct grader_result *out);

/* Appends a grade's reasons as a JSON array [{"code", "text", "points_lost"}, ...]. */
void grader_reasons_json(const struct credit_grade *grade, struct rbuf *out);

/* The grade a customer holds (RULE_GRADE_NONE: not graded yet). */
enum rule_grade grader_held_grade(const struct cstate *cs);

#endif
