/*
 * scorecard_fit.h - fitting and evaluating credit scorecards on a table of customers (one row
 * per customer: registry features and a 0/1 target, as `riskctl scorecard features` writes, or
 * any other columns, read as customer attributes: numbers or categories).
 *
 * Fitting: each usable column is binned (numeric columns: fine classes, then merged so the bad
 * rate is monotonic, every bin holds enough rows and neighbouring bins differ significantly,
 * down to at most `bins` bins, plus a bin for missing values; boolean and symbol columns: one
 * bin per value; categories: rare values pooled, then values of neighbouring bad rates
 * together, plus a bin for values never seen), scored by weight of evidence and information value, and the strongest that
 * do not repeat a stronger one are fed to an L2-regularised logistic regression (Newton /
 * IRLS, in C). Coefficients that take the wrong sign next to the others
 * are dropped and the model refitted. The model is scaled to points (points to double the
 * odds, base odds, base points) and written as a scorecard YAML that riskd loads
 * (rules/scorecard_load.h); grade cut-offs are the points at which the fitted probability
 * of going bad crosses given bounds. Evaluation grades every row with a card set and reports AUC, KS, Gini and a
 * table of grade -> rows and bad rate.
 *
 * Pure computation over memory: the tool (tools/riskctl_scorecard.c) reads and writes files,
 * and hands in the card loader and the credit policy as functions (scoring/ parses no YAML
 * and evaluates no rules).
 * Deterministic: the same table and options give the same card, byte for byte.
 */
#ifndef RISKD_SCORECARD_FIT_H
#define RISKD_SCORECARD_FIT_H

#include <stddef.h>
#include <stdint.h>

#include "../config/riskd_base.h"
#include "attributes.h"
#include "grade.h"
#include "scorecard.h"

/* A table of text cells (a CSV file with a header row). "" is an empty (missing) cell. */
struct fit_table {
	size_t n_cols, n_rows;
	char **names;        /* n_cols column names */
	char **cells;        /* n_rows * n_cols, row-major */
	char sep;            /* the separator the text used */
};

/* How to read a table's text. */
struct fit_csv_opts {
	char sep;            /* ',', ';' or '\t'; 0: detected (fit_csv_detect_sep) */
	const char *na;      /* comma-separated cell texts that mean missing ("NA,?"), as an
	                        empty cell always does; NULL: none */
};

/*
 * Splits CSV text (RFC 4180: fields separated by sep, double quotes around fields holding
 * the separator, quotes or line breaks, "" for a quote; CRLF or LF) with a header row into
 * t, in place: t's names and cells point into text, which must outlive t. Every row must have
 * as many fields as the header; blank lines are skipped. Cells equal to a token of o->na
 * become empty. Returns 0, or RISKD_ERR_INVALID with errstr naming the line (t is then
 * empty). Free with fit_table_free.
 */
int fit_table_parse(char *text, size_t len, const struct fit_csv_opts *o, struct fit_table *t,
                    char *errstr, size_t errstr_size);

/* Frees what fit_table_parse allocated (not the text). */
void fit_table_free(struct fit_table *t);

/* The separator of a table's text: whichever of ',', ';' and tab occurs most often in its
 * first line outside quotes (',' when none does). */
char fit_csv_detect_sep(const char *text, size_t len);

/*
 * Loads the YAML of a card as riskd loads card files (rules/scorecard_load.h's
 * scorecard_load_yaml): path names the text in diagnostics. Returns 0 and *out (free with
 * scorecard_free), or non-zero with the rendered diagnostics appended to why.
 */
typedef int scorecard_fit_load_fn(const char *path, const char *text, size_t len,
                                  struct scorecard **out, struct rbuf *why);

/*
 * The credit policy's limits for a customer with features fv and attributes av (by the
 * slots of the schema the caller gave with the function; NULL: none): detector/grader.h's
 * grader_limits_attrs over a credit rule set, through arg.
 */
typedef void scorecard_limits_fn(void *arg, const struct feature_vec *fv,
                                 const struct attr_vec *av, struct grade_limits *out);

struct scorecard_fit_opts {
	const char *target;      /* the target column: 1 (bad) / 0 (good), or true / false */
	const char *bad_value;   /* the target's text for a bad row, any other text good; NULL:
	                            the target is 0/1 */
	const struct attr_schema *attributes; /* declared attributes (NULL none): a column of
	                            that name is read as declared */
	struct rbuf *attributes_out; /* NULL, or receives the schema of the attributes the card
	                            uses (attr_schema_write_yaml) */
	const char *source;      /* the data's name for the card's header comment (a path) */
	int bins;                /* most bins per numeric characteristic, missing bin aside: 5 */
	const char *segments;    /* comma-separated segments: rows of these (by the `segment`
	                            column) are fitted and the card lists them; NULL: every
	                            segment found in the data (all four without that column) */
	const char *ignore;      /* comma-separated columns to leave out; NULL none */
	const char *name;        /* card name; NULL: the first segment */
	const char *version;     /* card version; NULL: "1" */
	int is_default;          /* write `default: true` */
	double l2;               /* L2 penalty on the coefficients (not the intercept): 1 */
	double min_iv;           /* characteristics with a lower information value are left
	                            out: 0.02 */
	double min_bin_share;    /* least share of the rows in a numeric bin: 0.05 */
	int max_chars;           /* most characteristics, strongest IV first: 12 */
	double max_correlation;  /* a characteristic whose WoE correlates more than this with a
	                            stronger one's is left out: 0.8 */
	double pdo;              /* points to double the odds (good:bad): 20 */
	double base_odds;        /* odds (good:bad) at base_points: 50 */
	double base_points;      /* 600 */
	double grade_pd[RULE_GRADE_C]; /* AAA .. B: the grade needs a fitted probability of going
	                                  bad at most this: 0.03, 0.06, 0.12, 0.30 */
	scorecard_fit_load_fn *load_card; /* required: the written card is loaded with it, checked
	                                     to score every row as the fit does, and measured */
};

/* Fills o with the defaults listed above (target and load_card NULL: the caller must set
 * them). */
void scorecard_fit_opts_init(struct scorecard_fit_opts *o);

/*
 * Fits a card on table t under o and appends its YAML to card (a header comment with the
 * data, the in-sample AUC / KS / Gini of the card as written, each characteristic's
 * information value and coefficient, then the card). Every column is used: one named after a
 * registry feature as that feature; one named after a declared attribute (o->attributes) as
 * declared; any other as a new attribute, a number when every non-empty cell is one, else a
 * category. Each column's use, and each one left out and why (an identifier, --ignore, a
 * cell the declaration refuses, too weak, a wrong-signed coefficient) is one line appended
 * to notes. A table without a `segment` column (and no o->segments) gives a default card,
 * which grades every customer. Every text written is quoted, so the card always loads.
 * Returns 0, or RISKD_ERR_INVALID with errstr set (no target column, a target that is not
 * 0/1 and no bad_value, no bad or no good row, no usable column, bad options), saying what to
 * do. Allocates working memory proportional to the table.
 */
int scorecard_fit(const struct fit_table *t, const struct scorecard_fit_opts *o,
                  struct rbuf *card, struct rbuf *notes, char *errstr, size_t errstr_size);

/* Result of grading a labelled table. */
struct scorecard_eval {
	size_t rows;                           /* rows graded */
	size_t bads;                           /* of which target 1 */
	size_t skipped;                        /* rows without a card or an empty target */
	double auc;                            /* P(a good row has more points than a bad one),
	                                          ties counted half */
	double ks;                             /* largest gap between the cumulative point
	                                          distributions of bad and good rows */
	double gini;                           /* 2 AUC - 1 */
	size_t grade_rows[RULE_GRADE__COUNT];  /* AAA .. C */
	size_t grade_bads[RULE_GRADE__COUNT];
};

/*
 * Grades every row of t with the card of its segment (the `segment` column: the card that
 * lists the segment; a row with an empty segment, or a table without that column, gets the
 * default card, or the only card of a set of one; other rows are skipped) and measures the
 * points against the target column (bad_value as in scorecard_fit_opts). limits (may be
 * NULL: no limits) gives the credit policy's caps and floors for each row, applied as riskd
 * does, from the row's features and, with limits_attrs (the schema the credit rules were
 * checked against; NULL: none), the row's values of its attributes (each read from the
 * column of its name, as declared: a value the schema does not allow is a bad cell); AUC and
 * KS use the points. Only the columns the cards read are parsed (a feature's
 * or attribute's column as fit_find_named_column finds it; empty: missing); a category value
 * no card lists takes its card's other bin. The cards' attributes are bound to a schema made
 * from the cards (so the set's cards are bound to it afterwards). Returns 0, or RISKD_ERR_INVALID with errstr set (no target column, a bad
 * cell, no row graded).
 */
int scorecard_eval_table(struct scorecard_set *set, const struct fit_table *t,
                         const char *target, const char *bad_value, scorecard_limits_fn *limits,
                         void *limits_arg, const struct attr_schema *limits_attrs,
                         struct scorecard_eval *out, char *errstr, size_t errstr_size);

/* AUC and KS of points against bad (1) / good (0) labels, n rows; both 0.5 / 0 when a class
 * is empty. Higher points should mean good. Sorts a copy: O(n log n). */
void scorecard_metrics(const double *points, const uint8_t *bad, size_t n, double *auc,
                       double *ks);

/*
 * Reads row `row` of t into fv: every column named after a registry feature (others
 * ignored); empty cells are missing. Numbers as decimal text, booleans as true/false/1/0,
 * symbols by name. Returns 0, or RISKD_ERR_INVALID with errstr naming the row, column and cell.
 */
int fit_table_row_features(const struct fit_table *t, size_t row, struct feature_vec *fv,
                           char *errstr, size_t errstr_size);

#endif
