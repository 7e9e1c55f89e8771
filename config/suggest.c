/*
 * suggest.c - the edit distance and closest-name choice behind every "did you mean"
 * (see suggest.h).
 */
#include "suggest.h"

#include <ctype.h>
#include <string.h>

static int same_byte(char a, char b, int fold_case)
{
	if (fold_case)
		return tolower((unsigned char)a) == tolower((unsigned char)b);
	return a == b;
}

size_t suggest_edit_distance(const char *a, size_t na, const char *b, size_t nb, int fold_case)
{
	size_t rows[3][SUGGEST_NAME_MAX + 1];
	size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
	if (na > SUGGEST_NAME_MAX || nb > SUGGEST_NAME_MAX)
		return SUGGEST_NAME_MAX + 1;
	for (size_t j = 0; j <= nb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= na; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t best = prev[j - 1] + !same_byte(a[i - 1], b[j - 1], fold_case);
			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < best)
				best = prev2[j - 2] + 1;
			cur[j] = best;
		}
		size_t *spare = prev2;
		prev2 = prev;
		prev = cur;
		cur = spare;
	}
	return prev[nb];
}

const char *suggest_name(const char *name, size_t len, const char *const *candidates, size_t n)
{
	size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
	const char *best = NULL;
	size_t best_d = limit + 1;
	for (size_t i = 0; i < n; i++) {
		size_t d = suggest_edit_distance(name, len, candidates[i], strlen(candidates[i]), 1);
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	if (best || len < 4)
		return best;
	for (size_t i = 0; i < n; i++) {
		size_t cl = strlen(candidates[i]);
		size_t common = len < cl ? len : cl;
		if (common >= 4 && strncmp(name, candidates[i], common) == 0)
			return candidates[i];
	}
	return NULL;
}
