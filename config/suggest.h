/*
 * suggest.h - "did you mean" for every name an author or operator can misspell: config keys
 * (config/config.c), and the keys, features, segments and symbols of rule files and
 * scorecards (rules/). One edit distance and one choice of the closest name, so the same typo
 * gets the same suggestion wherever it is made.
 */
#ifndef RISKD_SUGGEST_H
#define RISKD_SUGGEST_H

#include <stddef.h>

/* Longest name, in bytes, that suggest_edit_distance compares. */
#define SUGGEST_NAME_MAX 128

/*
 * Optimal string alignment distance between a[0 .. na) and b[0 .. nb): inserting, deleting or
 * replacing a byte, or swapping two neighbours, each count one. With fold_case, ASCII letters
 * are replaced for free by the same letter in the other case (a swap still needs the exact
 * bytes). Returns SUGGEST_NAME_MAX + 1 when either string is longer than SUGGEST_NAME_MAX.
 * Uses about 3 KiB of stack; allocates nothing.
 */
size_t suggest_edit_distance(const char *a, size_t na, const char *b, size_t nb, int fold_case);

/*
 * The candidate closest to name[0 .. len) (letters compared without case): the first of the
 * nearest within 1 edit for names up to 4 bytes, 2 up to 8, 3 beyond; failing that, for a
 * name of at least 4 bytes, the first candidate that it starts, or that starts it ("drop_ratio"
 * for "drop_ratio_14d"). Returns one of candidates[0 .. n), or NULL when none is close.
 */
const char *suggest_name(const char *name, size_t len, const char *const *candidates, size_t n);

#endif
