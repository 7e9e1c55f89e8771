/*
 * ruleset.h - rule sets: YAML rule files loaded, type-checked against the feature registry
 * (scoring/features.h), compiled to flat programs, and evaluated per customer.
 *
 * Flow: ruleset_load_paths reads every rule file, reports every error with its file, line and
 * column, and yields one immutable struct ruleset per kind (theft or credit); ruleset_eval runs
 * the set against one customer's feature_vec (and its attr_vec) without
 * allocating. Conditions read registry features and, when a schema was given with
 * ruleset_use_attributes, the customer attributes it declares. A loaded rule set is never
 * modified, so any number of threads may evaluate it at once, and a reload can build a new set
 * beside the old one and swap a pointer. rules/README.md is the authors' guide to the format.
 */
#ifndef RISKD_RULESET_H
#define RISKD_RULESET_H

#include <stddef.h>
#include <stdint.h>

#include "../config/riskd_base.h"
#include "../scoring/attributes.h"
#include "../scoring/features.h"
#include "../scoring/grade.h"

/* Most rules in one rule set (all files of one kind together). */
#define RULESET_RULES_MAX 256
/* Most evidence features one rule lists. */
#define RULE_EVIDENCE_MAX 16
/* Most errors reported per file; one more line says that the rest were not reported. */
#define RULES_FILE_ERRORS_MAX 50

/* Theft and operating rule sets add scores and raise an alert at thresholds.alert (an
 * operating-risk warning for operating sets); credit rule sets cap and floor grades. */
enum rule_kind { RULE_KIND_THEFT, RULE_KIND_CREDIT, RULE_KIND_OPERATING, RULE_KIND__COUNT };
enum rule_severity { RULE_SEV_LOW, RULE_SEV_MEDIUM, RULE_SEV_HIGH, RULE_SEV_CRITICAL };
enum rule_mode { RULE_MODE_ACTIVE, RULE_MODE_SHADOW };
/* Names as written in rule files: "theft", "high", "shadow", "AA" ("" for RULE_GRADE_NONE;
 * rule_grade_name is credit_grade_name of scoring/grade.h). */
const char *rule_kind_name(enum rule_kind kind);
/* Non-zero for the kinds whose rules carry a score and whose sets raise alerts. */
static inline int rule_kind_scored(enum rule_kind kind)
{
	return kind == RULE_KIND_THEFT || kind == RULE_KIND_OPERATING;
}
const char *rule_severity_name(enum rule_severity severity);
const char *rule_mode_name(enum rule_mode mode);
const char *rule_grade_name(enum rule_grade grade);

/* One error found while loading. */
struct rules_diag {
	char *path;    /* the file */
	int line;      /* 1-based; 0 when the error concerns the whole file (unreadable, ...) */
	int col;       /* 1-based, counted in characters; 0 when line is 0 */
	char *message; /* the message alone, e.g. "unknown feature 'kwh_dayly' (did you mean ...)" */
	char *text;    /* "path:line:col: error: message\n" + source line + "\n" + caret line + "\n"
	                  ("path: error: message\n" without a position) */
};

/* Every error of one load, in file order and, within a file, in line and column order.
 * Zero-initialise; the loader appends; rules_diags_free releases. */
struct rules_diags {
	struct rules_diag *items;
	size_t count;
	size_t cap;
};

/* Releases every diagnostic; the list is empty and reusable afterwards. */
void rules_diags_free(struct rules_diags *diags);

/* Appends every diagnostic's text, in order, to out. */
void rules_diags_render(const struct rules_diags *diags, struct rbuf *out);

/* What an alert or a grade needs to know about one rule. Owned by the rule set. */
struct rule_info {
	const char *id;
	const char *title;
	const char *description; /* "" when the file gives none */
	const char *path;        /* the rule file */
	int line;                /* line of the rule's first key in that file */
	enum rule_kind kind;
	enum rule_severity severity;
	enum rule_mode mode;
	double score;            /* theft: added to the customer's score when the rule fires */
	enum rule_grade cap;     /* credit: the grade is at most this (RULE_GRADE_NONE: no cap) */
	enum rule_grade floor;   /* credit: the grade is at least this (RULE_GRADE_NONE: none) */
	const enum feature_id *evidence; /* features to show an analyst, n_evidence of them */
	size_t n_evidence;
	const char *when;        /* the condition's source text */
};

struct ruleset;

/*
 * Sets the customer attribute schema (scoring/attributes.h) every later load checks rule
 * conditions and tests against; NULL (the default) declares none. A declared attribute is
 * read like a feature: a number attribute as a number, a category attribute as a symbol
 * compared with its value texts, missing when the customer has no value. Rules of every kind
 * (theft, credit, operating) may read attributes; without a schema a rule naming one fails to
 * load ("unknown feature ..., no customer attribute schema is loaded", at its file:line:col).
 * schema is borrowed: it must outlive every rule set loaded while it is set. Call once at
 * start, before any load and from one thread; a reload then checks its files against the
 * same schema, so a rule naming an attribute the schema lacks fails the reload ("unknown
 * feature").
 */
void ruleset_use_attributes(const struct attr_schema *schema);

/* The schema set by ruleset_use_attributes (borrowed), or NULL. */
const struct attr_schema *ruleset_attributes_in_use(void);

/* The schema rs was checked against (the one set when it was loaded), or NULL. */
const struct attr_schema *ruleset_attributes(const struct ruleset *rs);

/* Non-zero when a rule of rs reads a customer attribute: an evaluator that must look a
 * customer's attributes up does so only then (ruleset_eval_attrs). */
int ruleset_reads_attributes(const struct ruleset *rs);

/*
 * Loads rule files and builds the rule set of one kind.
 *
 * paths: n_paths files or directories; a directory contributes every *.yaml and *.yml file in
 * it (not recursive), in byte order of the names. Every file is read, parsed and checked,
 * whatever its kind, and rule ids must be unique across all of them: the files form one unit,
 * so an error in any file fails the load. The rule set gets the rules of `kind`, in file
 * order; when no file has that kind it is empty (ruleset_rule_count 0, name "").
 *
 * Returns 0 and *out (free with ruleset_free), or RISKD_ERR_INVALID with *out NULL and every
 * error appended to diags (at most RULES_FILE_ERRORS_MAX per file, plus one line saying the
 * rest were cut). Unreadable files and a path list with no rule file are errors too
 * (RISKD_ERR_INVALID, with a diagnostic without position). Does no other I/O; any thread.
 */
int ruleset_load_paths(const char *const *paths, size_t n_paths, enum rule_kind kind,
                       struct ruleset **out, struct rules_diags *diags);

/*
 * The same for one rule file already in memory: path is only used in diagnostics and rule
 * metadata; text need not be NUL-terminated (NULL with len 0 is an empty file). Returns as
 * ruleset_load_paths.
 */
int ruleset_load_text(const char *path, const char *text, size_t len, enum rule_kind kind,
                      struct ruleset **out, struct rules_diags *diags);

/* Frees a rule set (NULL is fine). No evaluation may be running on it. */
void ruleset_free(struct ruleset *rs);

/* The set's kind, its name ("theft-core"; names of several files joined with '+', repeats
 * once), its version (versions of several files joined with '+'), and a content hash: 16 hex
 * digits of 64-bit FNV-1a over the length and bytes of each file of the set, in load order.
 * The same bytes give the same hash wherever the files sit. Strings live as long as rs. */
enum rule_kind ruleset_kind(const struct ruleset *rs);
const char *ruleset_name(const struct ruleset *rs);
const char *ruleset_version(const struct ruleset *rs);
const char *ruleset_hash(const struct ruleset *rs);

/* Theft sets: score at which the active rules raise an alert (thresholds.alert); 0 for credit. */
double ruleset_alert_threshold(const struct ruleset *rs);

/* Number of rules, and rule idx (0 <= idx < count) metadata. */
size_t ruleset_rule_count(const struct ruleset *rs);
const struct rule_info *ruleset_rule(const struct ruleset *rs, size_t idx);

/* Index of the rule with this id, or -1. */
int ruleset_rule_find(const struct ruleset *rs, const char *id);

/* Result of evaluating a rule set for one customer. The caller owns it; it is fixed-size so
 * one can be reused for every customer without allocation. */
struct rule_hits {
	double score;             /* sum of score over fired active rules (theft) */
	double shadow_score;      /* the same over fired shadow rules, for comparison only */
	int alert;                /* theft: 1 when score >= thresholds.alert and an active rule fired */
	enum rule_grade cap;      /* credit: worst cap among fired active rules, or RULE_GRADE_NONE */
	enum rule_grade floor;    /* credit: best floor among fired active rules, or RULE_GRADE_NONE */
	uint32_t missing_reads;   /* sum of missing[] */
	uint16_t n_fired;         /* rules that fired, active and shadow */
	uint16_t n_shadow_fired;  /* of those, shadow rules */
	uint16_t fired[RULESET_RULES_MAX];   /* indices of the fired rules, ascending */
	uint16_t missing[RULESET_RULES_MAX]; /* per rule index: comparisons made false because an
	                                        operand was missing or undefined in this evaluation */
};

/*
 * Evaluates every rule against fv and fills hits: every scalar field, fired[0 .. n_fired) and
 * missing[0 .. rule count). Shadow rules are evaluated and listed in fired[] but add nothing to
 * score, cap, floor or alert. Allocates nothing and writes only to *hits (and the C stack), so
 * any number of threads may evaluate one rs at once. Returns the number of rules fired.
 */
int ruleset_eval(const struct ruleset *rs, const struct feature_vec *fv, struct rule_hits *hits);

/* The same, with the customer's attribute values (av may be NULL: every attribute missing;
 * its slots are those of ruleset_attributes(rs)). ruleset_eval passes NULL. */
int ruleset_eval_attrs(const struct ruleset *rs, const struct feature_vec *fv,
                       const struct attr_vec *av, struct rule_hits *hits);

/* Per rule of a set (index as in ruleset_rule): evaluations, firings and comparisons made
 * false by a missing operand, summed over evaluations (risk.rule_counts). */
struct rule_count {
	uint64_t evaluations, fired, missing_reads;
};

/* Adds one evaluation of rs (hits, from ruleset_eval) to counts (ruleset_rule_count(rs)
 * entries). Allocation-free. */
void rule_counts_add(const struct ruleset *rs, const struct rule_hits *hits,
                     struct rule_count *counts);

/* What the active rules of a theft set can still reach on a customer whose features are
 * partly unknown yet (ruleset_eval_bound). */
struct rule_bound {
	double reach;      /* the highest score they can reach once the unknown features are known */
	double least;      /* the lowest: the decided rules that fired and every open rule with a
	                      negative score, in rule order */
	int may_alert;     /* 1: some values of the unknown features raise an alert */
	int must_alert;    /* 1: every value of them raises one (a decided active rule fired and
	                      least is at or above the alert threshold) */
	unsigned open;     /* active rules whose outcome waits for an unknown feature */
};

/*
 * Evaluates rs on fv (and the customer's attributes av, or NULL) as ruleset_eval_attrs does (hits as ruleset_eval fills them, every feature
 * missing from fv read as missing), and bounds what the active rules can still do once the
 * features in unknown (a bit per feature id, feature_vec.known's layout; they must be missing
 * from fv) are known, whatever their values:
 *   - a rule that reads none of them is decided: it fired or not, as in hits;
 *   - a rule that reads one of them stays open unless an operand of its condition's top-level
 *     `and` chain that reads none of them is false on fv (then it cannot fire);
 *   - reach adds, in rule order, the scores of the decided rules that fired and of the open
 *     rules whose score is 0 or more (a rule with a negative score only lowers it);
 *   - may_alert is 1 when reach is at or above the alert threshold and some active rule fired
 *     or is open;
 *   - least adds, in the same order, the decided rules that fired and the open rules whose
 *     score is negative; must_alert is 1 when a decided active rule fired and least is at or
 *     above the threshold.
 * When may_alert is 0, ruleset_eval on fv completed with any values of the unknown features
 * raises no alert; when must_alert is 1, it raises one whatever their values (the sums keep
 * the evaluation's order, so rounding cannot cross the threshold the other way). Shadow rules never count. For sets that raise no alerts (credit) *bound is
 * zero. Allocation-free and thread-safe as ruleset_eval. Returns bound->may_alert.
 */
int ruleset_eval_bound(const struct ruleset *rs, const struct feature_vec *fv,
                       const struct attr_vec *av, const uint64_t *unknown, struct rule_hits *hits, struct rule_bound *bound);

/*
 * Keeps in hits (filled by ruleset_eval_bound with the same unknown) only the rules that read
 * none of the unknown features: fired[] loses the others, and score, shadow_score, cap, floor
 * and alert are summed again, in rule order, over what stays (missing[] is left as it was).
 * What the decided rules alone say: the alert of a day whose bound says must_alert, before
 * the unknown features are known. Allocation-free.
 */
void ruleset_hits_keep_decided(const struct ruleset *rs, const uint64_t *unknown,
                               struct rule_hits *hits);

/*
 * Evaluates one rule (0 <= idx < count). Returns 1 when it fires, 0 when not; when
 * missing_reads is not NULL, stores the rule's count of comparisons made false by a missing
 * or undefined operand. Allocation-free and thread-safe as ruleset_eval.
 */
int ruleset_rule_eval(const struct ruleset *rs, size_t idx, const struct feature_vec *fv,
                      unsigned *missing_reads);
/* The same with attribute values (av may be NULL), as ruleset_eval_attrs. */
int ruleset_rule_eval_attrs(const struct ruleset *rs, size_t idx, const struct feature_vec *fv,
                            const struct attr_vec *av, unsigned *missing_reads);

/*
 * Runs every rule's `tests:` cases: each sets the listed features and attributes (all
 * others missing),
 * evaluates the rule, and compares with `expect`. Each failure appends one line to failures:
 *   "path:line: rule ID test N: expected fire, got quiet\n"   (N counts from 1, line is the test's)
 * and a rule with no `expect: fire` or no `expect: quiet` case appends
 *   "path:line: rule ID: no test expects fire\n"               (counted as one failure).
 * Stores the counts of passed and failed cases. Returns 0 when nothing failed, else
 * RISKD_ERR_INVALID.
 */
int ruleset_tests_run(const struct ruleset *rs, struct rbuf *failures, size_t *passed,
                      size_t *failed);

/*
 * Appends an author-readable account of the rule with this id (every rule when rule_id is
 * NULL): its metadata, condition, the features it reads with type and unit, and its compiled
 * program one instruction a line. Returns 0, or RISKD_ERR_NOT_FOUND when rule_id names no rule
 * (nothing appended).
 */
int ruleset_explain(const struct ruleset *rs, const char *rule_id, struct rbuf *out);

#endif
