/*
 * scorecard_fit_int.h - private to the scorecard fit (scorecard_fit.c: the fit and the card it
 * writes; scorecard_bin.c: binning, weight of evidence and information value;
 * scorecard_eval.c: reading table cells, metrics and grading a table).
 */
#ifndef RISKD_SCORECARD_FIT_INT_H
#define RISKD_SCORECARD_FIT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "attributes.h"
#include "scorecard_fit.h"

#define FIT_BINS_MAX 20          /* most value bins a numeric characteristic may ask for */
#define FIT_FINE_CLASSES 20      /* fine classes before merging */
#define FIT_SYMBOLS_MAX 8        /* boolean and symbol values a characteristic may have */
#define FIT_ITER_MAX 100
#define FIT_SMOOTH 0.5           /* rows added to each count in WoE */
#define FIT_Z_SIGNIFICANT 1.96   /* neighbouring bins must differ at the 5% level */

/* One candidate characteristic: a table column over the fitted rows, its bins and fit. */
struct fit_char {
	size_t col;
	const struct feature_def *def;      /* a registry feature's column; NULL: an attribute's */
	int slot;                           /* an attribute's slot in the fit's schema */
	const char *name;                   /* the feature's or attribute's name */
	enum feature_type type;             /* NUM; BOOL and SYM features; SYM: a category
	                                       attribute */
	size_t n_codes;                     /* category attributes: values in the schema */
	size_t n_bins;                      /* value bins; index n_bins is the missing bin */
	double cut[FIT_BINS_MAX];           /* numeric: bin i < n_bins - 1 ends at cut[i] */
	int8_t cat_bin[ATTR_VALUES_MAX];    /* category attributes: value code -> bin, -1 for a
	                                       value without rows (it takes the other bin) */
	double other_woe;                   /* ... WoE of the other bin: the rare values' bin */
	int other_points;
	double woe[FIT_BINS_MAX + 1];
	size_t rows[FIT_BINS_MAX + 1], bads[FIT_BINS_MAX + 1];
	double iv;
	double beta;
	int points[FIT_BINS_MAX + 1];
	uint8_t *bin;                       /* per fitted row: its bin */
	double *value;                      /* per fitted row: value or code, NAN missing */
};

/* A number cell (decimal, no leading blank, finite) into *out. Returns 0 or -1. */
int fit_parse_number(const char *s, double *out);
/* A boolean or symbol cell's code for feature def, or -1. */
int fit_parse_code(const struct feature_def *def, const char *s);
/* Target cell: 1 bad, 0 good, -1 empty, -2 anything else. With bad_value (may be NULL):
 * that text is bad and any other non-empty text good. */
int fit_parse_target(const char *s, const char *bad_value);
/* The error for a target cell that is not 0 or 1 (row r of t, column col), with the values
 * the column holds and what to do. */
void fit_target_error(const struct fit_table *t, size_t r, size_t col, const char *target,
                      char *errstr, size_t errstr_size);
/* Index of the column for a feature or attribute name: the column of that exact name, else
 * the one whose attribute name (attr_name_of_column) it is; -1 none. */
int fit_find_named_column(const struct fit_table *t, const char *name);
/* The text of a cell ("" for a missing one). */
const char *fit_cell(const struct fit_table *t, size_t row, size_t col);
/* Index of the column named name, or -1. */
int fit_find_column(const struct fit_table *t, const char *name);

/*
 * Bins one characteristic over the n fitted rows (fc->value, bad) and computes its bins' WoE
 * and its IV: numeric values into at most max_bins bins of at least min_rows rows each, with
 * a bad rate that rises with the value (rising 1), falls (-1) or either (0); boolean and
 * symbol features one bin per value; category attributes by value: values with fewer than
 * min_rows rows pooled as one, then ranked by bad rate and binned as numbers on that rank
 * (at most max_bins bins of neighbouring bad rates), the other bin weighed as the pooled
 * rare values. goods and bads count the fitted rows. Sets the binning fields of fc (n_bins,
 * cut, cat_bin, other_woe, bin, rows, bads, woe, iv).
 */
void fit_bin_char(struct fit_char *fc, const uint8_t *bad, size_t n, int rising, int max_bins,
                  size_t min_rows, double goods, double bads);

#endif
