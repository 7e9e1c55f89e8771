/*
 * attrib_nnls.c - non-negative least squares on a Gram matrix for the area attribution
 * (attrib.c): the Lawson-Hanson active-set method, with the Cholesky factor of the passive
 * set's Gram matrix extended by one row when a column enters and rebuilt when columns leave.
 * A column whose Gram row depends on the passive set (a pivot below the ridge) is blocked for
 * the rest of the solve: duplicated customers keep the first, a clear outcome instead of a
 * breakdown. See attrib_int.h.
 */
#include "attrib_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../config/riskd_base.h"

/* A pivot below this share of its diagonal means the column depends on the passive set. */
#define NNLS_PIVOT_MIN 1e-13
/* A column whose scaled coefficient ends below this many times the entry tolerance is dropped. */
#define PRUNE_TOL 10.0

void attrib_nnls_init(struct attrib_nnls *s, uint32_t max_n)
{
	s->max_n = max_n;
	s->chol = xcalloc((size_t)max_n * max_n, sizeof(double));
	s->grad = xcalloc(max_n, sizeof(double));
	s->z = xcalloc(max_n, sizeof(double));
	s->work = xcalloc(max_n, sizeof(double));
	s->passive = xcalloc(max_n, sizeof(uint32_t));
	s->in_passive = xcalloc(max_n, 1);
	s->blocked = xcalloc(max_n, 1);
	s->n_passive = 0;
}

void attrib_nnls_free(struct attrib_nnls *s)
{
	free(s->chol);
	free(s->grad);
	free(s->z);
	free(s->work);
	free(s->passive);
	free(s->in_passive);
	free(s->blocked);
	memset(s, 0, sizeof(*s));
}

size_t attrib_nnls_bytes(const struct attrib_nnls *s)
{
	size_t n = s->max_n;
	return n * n * sizeof(double) + 3 * n * sizeof(double) + n * sizeof(uint32_t) + 2 * n;
}

/*
 * Adds row m of the factor L (stride ld) for column j after the passive columns p[0 .. m):
 * l = L^-1 G[p, j], pivot = sqrt(G_jj + ridge - l'l). Returns 0, or -1 when the pivot is too
 * small (j depends on the passive set).
 */
static int chol_append(double *L, uint32_t ld, const double *G, uint32_t n, const uint32_t *p,
                       uint32_t m, uint32_t j, double ridge)
{
	double *row = L + (size_t)m * ld;
	double ll = 0;
	for (uint32_t k = 0; k < m; k++) {
		double v = G[(size_t)p[k] * n + j];
		const double *lk = L + (size_t)k * ld;
		for (uint32_t q = 0; q < k; q++)
			v -= lk[q] * row[q];
		row[k] = v / lk[k];
		ll += row[k] * row[k];
	}
	double diag = G[(size_t)j * n + j] + ridge;
	double d = diag - ll;
	if (!(d > NNLS_PIVOT_MIN * diag))
		return -1;
	row[m] = sqrt(d);
	return 0;
}

/* Solves L L' z = b over the first m passive columns (b and z may not alias s->work). */
static void chol_solve(const struct attrib_nnls *s, uint32_t m, const double *b, double *z)
{
	const double *L = s->chol;
	uint32_t ld = s->max_n;
	for (uint32_t k = 0; k < m; k++) {
		double v = b[k];
		for (uint32_t q = 0; q < k; q++)
			v -= L[(size_t)k * ld + q] * z[q];
		z[k] = v / L[(size_t)k * ld + k];
	}
	for (uint32_t k = m; k-- > 0;) {
		double v = z[k];
		for (uint32_t q = k + 1; q < m; q++)
			v -= L[(size_t)q * ld + k] * z[q];
		z[k] = v / L[(size_t)k * ld + k];
	}
}

/* Rebuilds the factor of the passive set from scratch, blocking and dropping any column that
 * turns out dependent. */
static void chol_rebuild(struct attrib_nnls *s, const double *G, uint32_t n, double ridge,
                         double *x)
{
	uint32_t kept = 0;
	for (uint32_t k = 0; k < s->n_passive; k++) {
		uint32_t j = s->passive[k];
		if (chol_append(s->chol, s->max_n, G, n, s->passive, kept, j, ridge) == 0) {
			s->passive[kept++] = j;
		} else {
			s->in_passive[j] = 0;
			s->blocked[j] = 1;
			x[j] = 0;
		}
	}
	s->n_passive = kept;
}

/* The column outside the passive set with the largest gradient above tol, or n if none.
 * Fills s->grad for every column. */
static uint32_t entering_column(struct attrib_nnls *s, const double *G, const double *h,
                                uint32_t n, double tol, const double *x)
{
	uint32_t best = n;
	double best_grad = tol;
	for (uint32_t j = 0; j < n; j++) {
		double g = h[j];
		const double *row = G + (size_t)j * n;
		for (uint32_t k = 0; k < s->n_passive; k++)
			g -= row[s->passive[k]] * x[s->passive[k]];
		s->grad[j] = g;
		if (!s->in_passive[j] && !s->blocked[j] && g > best_grad && row[j] > 0) {
			best_grad = g;
			best = j;
		}
	}
	return best;
}

/* Keeps the passive columns whose value (by position in the passive set) is positive, in
 * order, and drops the others (x 0). With assign, a kept column's x takes its value. */
static void keep_positive(struct attrib_nnls *s, const double *value, int assign, double *x)
{
	uint32_t kept = 0;
	for (uint32_t k = 0; k < s->n_passive; k++) {
		uint32_t c = s->passive[k];
		if (value[k] > 0) {
			if (assign)
				x[c] = value[k];
			s->passive[kept++] = c;
		} else {
			x[c] = 0;
			s->in_passive[c] = 0;
		}
	}
	s->n_passive = kept;
}

/*
 * The inner loop once column j entered (last in the passive order): solves on the passive set
 * and, while some coefficient would turn non-positive, steps back towards the feasible point
 * and drops the columns that reach zero. A column that entered on rounding alone (its own
 * coefficient non-positive at once) is blocked. Returns the steps taken.
 */
static uint32_t settle_passive(struct attrib_nnls *s, const double *G, const double *h,
                               uint32_t n, double ridge, uint32_t j, double *x)
{
	uint32_t steps = 0;
	for (int first = 1;; first = 0) {
		uint32_t m = s->n_passive;
		for (uint32_t k = 0; k < m; k++)
			s->work[k] = h[s->passive[k]];
		chol_solve(s, m, s->work, s->z);
		steps++;
		double alpha = 2.0;
		uint32_t leaving = m;
		for (uint32_t k = 0; k < m; k++) {
			uint32_t c = s->passive[k];
			if (s->z[k] > 0)
				continue;
			double a = x[c] / (x[c] - s->z[k]);
			if (a < alpha) {
				alpha = a;
				leaving = k;
			}
		}
		if (leaving == m) {
			for (uint32_t k = 0; k < m; k++)
				x[s->passive[k]] = s->z[k];
			return steps;
		}
		if (first && s->z[m - 1] <= 0) {
			/* j is the factor's last row: dropping it keeps the rest valid */
			s->n_passive--;
			s->in_passive[j] = 0;
			s->blocked[j] = 1;
			return steps;
		}
		for (uint32_t k = 0; k < m; k++) {
			uint32_t c = s->passive[k];
			s->z[k] = k == leaving ? 0 : x[c] + alpha * (s->z[k] - x[c]);
		}
		keep_positive(s, s->z, 1, x);
		chol_rebuild(s, G, n, ridge, x);
		if (s->n_passive == 0)
			return steps;
	}
}

/* Drops the passive columns whose part of the fit (their scaled coefficient) is at most
 * `below`: rounding residue of an exact fit, which would otherwise show as a tiny share with an
 * arbitrary z. */
static void prune_passive(struct attrib_nnls *s, const double *G, uint32_t n, double ridge,
                          double below, double *x)
{
	uint32_t kept = 0;
	for (uint32_t k = 0; k < s->n_passive; k++) {
		uint32_t c = s->passive[k];
		if (x[c] > below) {
			s->passive[kept++] = c;
		} else {
			x[c] = 0;
			s->in_passive[c] = 0;
		}
	}
	if (kept == s->n_passive)
		return;
	s->n_passive = kept;
	chol_rebuild(s, G, n, ridge, x);
}

/* Factors the passive set's Gram matrix with `ridge`. Returns 0, or -1 (factor unusable)
 * when a column depends on those before it. */
static int chol_factor(struct attrib_nnls *s, const double *G, uint32_t n, double ridge)
{
	for (uint32_t k = 0; k < s->n_passive; k++)
		if (chol_append(s->chol, s->max_n, G, n, s->passive, k, s->passive[k], ridge) != 0)
			return -1;
	return 0;
}

/*
 * Takes the ridge out of the solution: re-solves the passive set by plain least squares,
 * dropping columns that turn non-positive, so that an exact fit is exact rather than
 * shrunk by the ridge. When the passive set is dependent without the ridge (duplicated
 * columns, whose energy the ridge splits evenly), or it does not settle in a few rounds, the
 * ridged solution stays. Returns the ridge of the factor left in s->chol (0 or ridge).
 */
static double polish(struct attrib_nnls *s, const double *G, const double *h, uint32_t n,
                     double ridge, double *x)
{
	for (int round = 0; round < 4 && ridge > 0 && s->n_passive > 0; round++) {
		uint32_t m = s->n_passive, kept = 0;
		if (chol_factor(s, G, n, 0) != 0)
			break;
		for (uint32_t k = 0; k < m; k++)
			s->work[k] = h[s->passive[k]];
		chol_solve(s, m, s->work, s->z);
		for (uint32_t k = 0; k < m; k++)
			kept += s->z[k] > 0;
		if (kept == m) {
			for (uint32_t k = 0; k < m; k++)
				x[s->passive[k]] = s->z[k];
			return 0;
		}
		keep_positive(s, s->z, 0, x);
	}
	chol_rebuild(s, G, n, ridge, x);
	return ridge;
}

uint32_t attrib_nnls_solve(struct attrib_nnls *s, const double *G, const double *h, uint32_t n,
                           double ridge, double tol, double *x)
{
	memset(x, 0, n * sizeof(double));
	memset(s->in_passive, 0, n);
	memset(s->blocked, 0, n);
	s->n_passive = 0;
	uint32_t steps = 0, max_steps = 3 * n + 10;
	while (steps < max_steps) {
		uint32_t j = entering_column(s, G, h, n, tol, x);
		if (j == n)
			break;
		if (chol_append(s->chol, s->max_n, G, n, s->passive, s->n_passive, j, ridge) != 0) {
			s->blocked[j] = 1;
			steps++;
			continue;
		}
		s->passive[s->n_passive++] = j;
		s->in_passive[j] = 1;
		steps += settle_passive(s, G, h, n, ridge, j, x);
	}
	double ridge_left = polish(s, G, h, n, ridge, x);
	prune_passive(s, G, n, ridge_left, PRUNE_TOL * tol, x);
	return steps;
}

void attrib_nnls_factor_solve(const struct attrib_nnls *s, uint32_t m, const double *b,
                              double *z)
{
	chol_solve(s, m, b, z);
}

double attrib_nnls_quad(struct attrib_nnls *s, const double *c)
{
	/* c' (L L')^-1 c = |L^-1 c|^2 */
	const double *L = s->chol;
	uint32_t ld = s->max_n, m = s->n_passive;
	double q = 0;
	for (uint32_t k = 0; k < m; k++) {
		double v = c[k];
		for (uint32_t p = 0; p < k; p++)
			v -= L[(size_t)k * ld + p] * s->work[p];
		s->work[k] = v / L[(size_t)k * ld + k];
		q += s->work[k] * s->work[k];
	}
	return q;
}
