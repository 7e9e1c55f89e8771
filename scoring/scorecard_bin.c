/*
 * scorecard_bin.c - binning of the scorecard fit (see scorecard_fit.c for the steps): fine
 * classes merged by pool-adjacent violators into a monotonic bad rate, small and similar bins
 * merged, round cut points; weight of evidence and information value per bin.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scorecard_fit_int.h"

/* ---- weight of evidence ---- */

static double woe_of(double good, double bad, double goods, double bads)
{
	if (good + bad == 0)
		return 0;
	return log(((good + FIT_SMOOTH) / (goods + FIT_SMOOTH)) / ((bad + FIT_SMOOTH) /
	                                                            (bads + FIT_SMOOTH)));
}

static double iv_term(double good, double bad, double goods, double bads)
{
	if (good + bad == 0)
		return 0;
	return (good / goods - bad / bads) * woe_of(good, bad, goods, bads);
}

/* ---- numeric binning ---- */

struct block {
	double lo, hi;   /* smallest and largest value in the block */
	size_t n, bad;
};

struct vpair {
	double v;
	uint8_t bad;
};

static int vpair_cmp(const void *a, const void *b)
{
	double x = ((const struct vpair *)a)->v, y = ((const struct vpair *)b)->v;
	return x < y ? -1 : x > y;
}

static double block_rate(const struct block *b)
{
	return b->n ? (double)b->bad / (double)b->n : 0;
}

static void block_merge(struct block *blocks, size_t *n, size_t i)
{
	blocks[i].hi = blocks[i + 1].hi;
	blocks[i].n += blocks[i + 1].n;
	blocks[i].bad += blocks[i + 1].bad;
	memmove(&blocks[i + 1], &blocks[i + 2], (*n - i - 2) * sizeof *blocks);
	(*n)--;
}

static double blocks_iv(const struct block *blocks, size_t n, double goods, double bads)
{
	double iv = 0;
	for (size_t i = 0; i < n; i++)
		iv += iv_term((double)(blocks[i].n - blocks[i].bad), (double)blocks[i].bad, goods, bads);
	return iv;
}

/* Pool adjacent violators: merges fine classes until the bad rate never falls (rising = 1)
 * or never rises (rising = 0) from one block to the next. */
static void pava(struct block *blocks, size_t *n, int rising)
{
	size_t out = 0;
	for (size_t i = 0; i < *n; i++) {
		blocks[out++] = blocks[i];
		while (out > 1) {
			double a = block_rate(&blocks[out - 2]), b = block_rate(&blocks[out - 1]);
			if (rising ? a <= b : a >= b)
				break;
			size_t m = out;
			block_merge(blocks, &m, out - 2);
			out--;
		}
	}
	*n = out;
}

/*
 * Bins n sorted (value, bad) pairs into at most max_bins monotonic blocks of at least
 * min_rows rows each (when possible): bad rate rising with the value (rising 1), falling
 * (-1), or whichever keeps more information (0). goods and bads are the totals of every
 * fitted row. Returns the number of blocks written to out (room for FIT_FINE_CLASSES * 2 + 2).
 */
static size_t bin_numeric(const struct vpair *pairs, size_t n, int rising_wanted, int max_bins,
                          size_t min_rows, double goods, double bads, struct block *out)
{
	struct block fine[FIT_FINE_CLASSES * 2 + 2], up[FIT_FINE_CLASSES * 2 + 2];
	size_t nfine = 0, target = n / FIT_FINE_CLASSES;
	if (target < 1)
		target = 1;
	for (size_t i = 0; i < n;) {
		struct block b = {pairs[i].v, pairs[i].v, 0, 0};
		/* whole distinct values only, until the class holds about 1/20 of the rows */
		while (i < n && (b.n < target || pairs[i].v == b.hi)) {
			b.hi = pairs[i].v;
			b.n++;
			b.bad += pairs[i].bad;
			i++;
		}
		if (nfine == FIT_FINE_CLASSES * 2 + 2) { /* cannot happen: sizes add up to n */
			struct block *last = &fine[nfine - 1];
			last->hi = b.hi;
			last->n += b.n;
			last->bad += b.bad;
		} else {
			fine[nfine++] = b;
		}
	}
	size_t nup = nfine, ndown = nfine;
	memcpy(up, fine, nfine * sizeof *fine);
	pava(up, &nup, 1);
	pava(fine, &ndown, 0);
	int rising = rising_wanted ? rising_wanted > 0
	                           : blocks_iv(up, nup, goods, bads) >= blocks_iv(fine, ndown, goods,
	                                                                          bads);
	size_t nb = rising ? nup : ndown;
	memcpy(out, rising ? up : fine, nb * sizeof *out);

	/* Small blocks join the neighbour with the closer bad rate (monotonicity holds: the
	 * merged rate lies between the two). */
	for (;;) {
		size_t small = nb;
		for (size_t i = 0; i < nb; i++)
			if (out[i].n < min_rows && (small == nb || out[i].n < out[small].n))
				small = i;
		if (small == nb || nb == 1)
			break;
		size_t left;
		if (small == 0)
			left = 0;
		else if (small == nb - 1)
			left = nb - 2;
		else
			left = fabs(block_rate(&out[small]) - block_rate(&out[small - 1])) <=
			               fabs(block_rate(&out[small]) - block_rate(&out[small + 1]))
			           ? small - 1
			           : small;
		block_merge(out, &nb, left);
	}
	/* Then the pair whose merge keeps the most information, until max_bins remain. */
	while (nb > (size_t)max_bins) {
		size_t best = 0;
		double best_iv = -INFINITY;
		for (size_t i = 0; i + 1 < nb; i++) {
			struct block trial[FIT_FINE_CLASSES * 2 + 2];
			size_t nt = nb;
			memcpy(trial, out, nb * sizeof *out);
			block_merge(trial, &nt, i);
			double iv = blocks_iv(trial, nt, goods, bads);
			if (iv > best_iv) {
				best_iv = iv;
				best = i;
			}
		}
		block_merge(out, &nb, best);
	}
	/* Last, neighbours whose bad rates do not differ significantly (two-proportion z-test at
	 * 5%) are merged, the least different pair first: bins that only split noise go. */
	while (nb > 1) {
		size_t best = 0;
		double best_z = INFINITY;
		for (size_t i = 0; i + 1 < nb; i++) {
			double n1 = (double)out[i].n, n2 = (double)out[i + 1].n;
			double p = (double)(out[i].bad + out[i + 1].bad) / (n1 + n2);
			double se = sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
			double z = se > 0 ? fabs(block_rate(&out[i]) - block_rate(&out[i + 1])) / se : 0;
			if (z < best_z) {
				best_z = z;
				best = i;
			}
		}
		if (best_z >= FIT_Z_SIGNIFICANT)
			break;
		block_merge(out, &nb, best);
	}
	return nb;
}

/* The roundest number x with a < x <= b (a < b). */
static double nice_cut(double a, double b)
{
	for (int k = 15; k >= -12; k--) {
		double step = pow(10.0, k);
		double x = (floor(a / step) + 1) * step;
		char text[32];
		snprintf(text, sizeof text, "%.12g", x);
		x = strtod(text, NULL);
		if (x > a && x <= b)
			return x;
	}
	return b;
}

/* Category attribute: fc->cat_bin and fc->n_bins (see fit_bin_char). Returns the bin of the
 * pooled rare values, or -1 when there are none. */
static int bin_categories(struct fit_char *fc, const uint8_t *bad, size_t n, int max_bins,
                           size_t min_rows, double goods, double bads)
{
	size_t rows[ATTR_VALUES_MAX] = {0}, nbad[ATTR_VALUES_MAX] = {0};
	size_t grows[ATTR_VALUES_MAX] = {0}, gbad[ATTR_VALUES_MAX] = {0};
	int group_of[ATTR_VALUES_MAX], rank_of[ATTR_VALUES_MAX], order[ATTR_VALUES_MAX];
	int ng = 0, rare = -1;
	for (size_t i = 0; i < n; i++)
		if (!isnan(fc->value[i])) {
			rows[(size_t)fc->value[i]]++;
			nbad[(size_t)fc->value[i]] += bad[i];
		}
	for (size_t c = 0; c < fc->n_codes; c++) {
		group_of[c] = -1;
		if (rows[c] == 0)
			continue;
		if (rows[c] < min_rows) /* rare values are pooled: their own rates are noise */
			group_of[c] = rare >= 0 ? rare : (rare = ng++);
		else
			group_of[c] = ng++;
		grows[group_of[c]] += rows[c];
		gbad[group_of[c]] += nbad[c];
	}
	/* Groups by smoothed bad rate (ties in group order): the rank is the value binned. */
	for (int g = 0; g < ng; g++) {
		int j = g;
		double rate = ((double)gbad[g] + 0.5) / ((double)grows[g] + 1);
		while (j > 0 && ((double)gbad[order[j - 1]] + 0.5) / ((double)grows[order[j - 1]] + 1) >
		                    rate) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = g;
	}
	for (int r = 0; r < ng; r++)
		rank_of[order[r]] = r;
	struct vpair *pairs = xmalloc((n ? n : 1) * sizeof *pairs);
	size_t np = 0;
	for (size_t i = 0; i < n; i++)
		if (!isnan(fc->value[i]))
			pairs[np++] = (struct vpair){rank_of[group_of[(size_t)fc->value[i]]], bad[i]};
	qsort(pairs, np, sizeof *pairs, vpair_cmp);
	struct block blocks[FIT_FINE_CLASSES * 2 + 2];
	size_t nb = np ? bin_numeric(pairs, np, 1, max_bins, min_rows, goods, bads, blocks) : 0;
	free(pairs);
	fc->n_bins = nb ? nb : 1;
	for (size_t c = 0; c < fc->n_codes; c++) {
		fc->cat_bin[c] = -1;
		for (size_t b = 0; group_of[c] >= 0 && b < nb; b++)
			if (rank_of[group_of[c]] <= blocks[b].hi)
				fc->cat_bin[c] = (int8_t)(fc->cat_bin[c] < 0 ? (int)b : fc->cat_bin[c]);
	}
	for (size_t c = 0; c < fc->n_codes && rare >= 0; c++)
		if (group_of[c] == rare)
			return fc->cat_bin[c];
	return -1;
}

void fit_bin_char(struct fit_char *fc, const uint8_t *bad, size_t n, int rising, int max_bins,
                  size_t min_rows, double goods, double bads)
{
	memset(fc->rows, 0, sizeof fc->rows);
	memset(fc->bads, 0, sizeof fc->bads);
	int category = fc->type == FEATURE_SYM && !fc->def, rare_bin = -1;
	if (category) {
		rare_bin = bin_categories(fc, bad, n, max_bins, min_rows, goods, bads);
	} else if (fc->type == FEATURE_NUM) {
		struct vpair *pairs = xmalloc((n ? n : 1) * sizeof *pairs);
		size_t np = 0;
		for (size_t i = 0; i < n; i++)
			if (!isnan(fc->value[i]))
				pairs[np++] = (struct vpair){fc->value[i], bad[i]};
		qsort(pairs, np, sizeof *pairs, vpair_cmp);
		struct block blocks[FIT_FINE_CLASSES * 2 + 2];
		size_t nb = np ? bin_numeric(pairs, np, rising, max_bins, min_rows, goods, bads, blocks)
		               : 0;
		free(pairs);
		if (nb == 0)
			nb = 1; /* no values at all: one bin covering everything */
		fc->n_bins = nb;
		for (size_t i = 0; i + 1 < nb; i++)
			fc->cut[i] = nice_cut(blocks[i].hi, blocks[i + 1].lo);
	} else {
		size_t nsym = 2;
		if (fc->type == FEATURE_SYM)
			feature_symbols(fc->def->id, &nsym);
		fc->n_bins = nsym;
	}
	for (size_t i = 0; i < n; i++) {
		double v = fc->value[i];
		size_t b;
		if (isnan(v))
			b = fc->n_bins;
		else if (category)
			b = (size_t)fc->cat_bin[(size_t)v];
		else if (fc->type != FEATURE_NUM)
			b = (size_t)v;
		else
			for (b = 0; b + 1 < fc->n_bins && !(v < fc->cut[b]); b++)
				;
		fc->bin[i] = (uint8_t)b;
		fc->rows[b]++;
		fc->bads[b] += bad[i];
	}
	fc->iv = 0;
	for (size_t b = 0; b <= fc->n_bins; b++) {
		double good = (double)(fc->rows[b] - fc->bads[b]), nbad = (double)fc->bads[b];
		fc->woe[b] = woe_of(good, nbad, goods, bads);
		fc->iv += iv_term(good, nbad, goods, bads);
	}
	/* Values never seen in the fit are weighed as the rare ones, else as average (WoE 0). */
	fc->other_woe = rare_bin >= 0 ? fc->woe[rare_bin] : 0;
}
