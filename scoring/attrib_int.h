/*
 * attrib_int.h - inside scoring/attrib*.c only: the non-negative least-squares solver on a
 * Gram matrix (attrib_nnls.c) that the attribution (attrib.c) drives, and the robust scale
 * both the attribution and the technical-loss fit (attrib_tech.c) re-weight with.
 */
#ifndef RISKD_ATTRIB_INT_H
#define RISKD_ATTRIB_INT_H

#include <stddef.h>
#include <stdint.h>

/*
 * The solver's memory for problems of up to max_n columns: the Cholesky factor of the passive
 * set's Gram matrix (kept in step with `passive` on return), the passive set in the order its
 * factor holds it, and per-column scratch. Allocated once by attrib_ws_new.
 */
struct attrib_nnls {
	uint32_t max_n;
	double *chol;       /* max_n * max_n, lower triangle, row stride max_n */
	double *grad;       /* h - G x per column */
	double *z;          /* the unconstrained solution on the passive set */
	double *work;       /* a right-hand side gathered over the passive set */
	uint32_t *passive;  /* passive (positive) columns, in factor order */
	uint8_t *in_passive;
	uint8_t *blocked;   /* columns left out: dependent on the passive set */
	uint32_t n_passive;
};

/* Allocates s for up to max_n columns (aborts on out-of-memory). */
void attrib_nnls_init(struct attrib_nnls *s, uint32_t max_n);

/* Frees what attrib_nnls_init allocated. */
void attrib_nnls_free(struct attrib_nnls *s);

/* Bytes the arrays of s hold. */
size_t attrib_nnls_bytes(const struct attrib_nnls *s);

/*
 * Minimises 1/2 x'(G + ridge I)x - h'x over x >= 0 (Lawson-Hanson active set): G is n x n,
 * row stride n, symmetric with unit diagonal (columns scaled to unit norm) or zero rows for
 * columns to leave out; tol is the smallest gradient that lets a column in, and a column
 * whose coefficient ends at most 10 tol is dropped (rounding residue of an exact fit).
 * Fills x[0 .. n); on return s->passive[0 .. s->n_passive) are the positive columns and
 * s->chol their factor.
 * Returns the number of active-set steps.
 */
uint32_t attrib_nnls_solve(struct attrib_nnls *s, const double *G, const double *h, uint32_t n,
                           double ridge, double tol, double *x);

/*
 * With the factor L of the passive set left by attrib_nnls_solve (m columns): returns
 * c' (G_PP + ridge I)^-1 c for the vector c over the passive set, in its order.
 * Overwrites s->work.
 */
double attrib_nnls_quad(struct attrib_nnls *s, const double *c);

/*
 * Solves (G_PP + ridge I) z = b over the passive set left by attrib_nnls_solve (m =
 * s->n_passive columns, in its order) with its factor. b and z hold m values; neither may be
 * s->work.
 */
void attrib_nnls_factor_solve(const struct attrib_nnls *s, uint32_t m, const double *b,
                              double *z);

/*
 * Robust sd of v[0 .. n): 1.4826 x the median absolute deviation about the median, which it
 * stores in *median (both 0 when n is 0). Reorders and overwrites v.
 */
double attrib_robust_sd(double *v, uint32_t n, double *median);

#define MAD_TO_SD 1.4826       /* median absolute deviation -> sd of a normal */

#endif
