/*
 * rules_ynode.c - reading values out of a parsed YAML file (rules_yaml.c) for every policy
 * file format: rule files (rules_schema.c) and scorecards (rules_card.c). Each reader checks
 * the node's shape and reports a wrong one through the file's diagnostics (rules_diag.c) in
 * the same words, whichever format asked, then returns a failure the caller skips past, so
 * one run shows an author every problem of a file.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"

const char *ynode_noun(const struct ynode *n)
{
	return n->type == YNODE_MAP ? "a mapping" : n->type == YNODE_SEQ ? "a sequence" : "a scalar";
}

int ynode_is(const struct ynode *n, const char *text)
{
	return n->type == YNODE_SCALAR && strlen(text) == n->len && memcmp(n->value, text, n->len) == 0;
}

int ynode_is_null(const struct ynode *n)
{
	if (n->type != YNODE_SCALAR || n->style != YSTYLE_PLAIN)
		return 0;
	return n->len == 0 || ynode_is(n, "~") || ynode_is(n, "null") || ynode_is(n, "Null") ||
	       ynode_is(n, "NULL");
}

size_t ynode_find(const struct ynode *n, const char *const *names, size_t count)
{
	size_t i;
	for (i = 0; i < count; i++)
		if (ynode_is(n, names[i]))
			break;
	return i;
}

const char *ynode_suggest(const struct ynode *n, const char *const *names, size_t count)
{
	return n->type == YNODE_SCALAR ? suggest_name(n->value, n->len, names, count) : NULL;
}

const struct ynode *ynode_get(const struct ynode *map, const char *key)
{
	for (size_t i = 0; i < map->count; i++)
		if (ynode_is(map->items[2 * i], key))
			return map->items[2 * i + 1];
	return NULL;
}

size_t ynode_key_pos(const struct ynode *map, const char *key)
{
	for (size_t i = 0; i < map->count; i++)
		if (ynode_is(map->items[2 * i], key))
			return map->items[2 * i]->start;
	return map->start;
}

int rules_src_line(struct rules_src *src, size_t pos)
{
	int line, col;
	rules_src_line_col(src, pos, &line, &col);
	return line;
}

void ynode_check_keys(struct rules_src *src, const struct ynode *map, const char *const *keys,
                      size_t nkeys, const char *const *notes, const char *where)
{
	char shown[48];
	for (size_t i = 0; i < map->count; i++) {
		const struct ynode *key = map->items[2 * i];
		if (key->type != YNODE_SCALAR) {
			rules_src_error(src, key->start, "keys %s must be plain names, not %s", where,
			                ynode_noun(key));
			continue;
		}
		rules_show(shown, sizeof shown, key->value, key->len);
		size_t j;
		for (j = 0; j < i; j++)
			if (map->items[2 * j]->type == YNODE_SCALAR && map->items[2 * j]->len == key->len &&
			    memcmp(map->items[2 * j]->value, key->value, key->len) == 0)
				break;
		if (j < i) {
			rules_src_error(src, key->start, "duplicate key '%s' (first on line %d)", shown,
			                rules_src_line(src, map->items[2 * j]->start));
			continue;
		}
		size_t k;
		for (k = 0; k < nkeys; k++)
			if (ynode_is(key, keys[k]))
				break;
		if (k < nkeys) {
			if (notes && notes[k])
				rules_src_error(src, key->start, "key '%s' %s", shown, notes[k]);
			continue;
		}
		const char *hint = suggest_name(key->value, key->len, keys, nkeys);
		if (hint)
			rules_src_error(src, key->start, "unknown key '%s' %s (did you mean '%s'?)", shown,
			                where, hint);
		else
			rules_src_error(src, key->start, "unknown key '%s' %s", shown, where);
	}
}

const char *ynode_text(struct rules_src *src, const struct ynode *n, const char *key)
{
	if (n->type != YNODE_SCALAR) {
		rules_src_error(src, n->start, "'%s' must be text, not %s", key, ynode_noun(n));
		return NULL;
	}
	if (ynode_is_null(n)) {
		rules_src_error(src, n->start, "'%s' is empty", key);
		return NULL;
	}
	return n->value;
}

int ynode_number(struct rules_src *src, const struct ynode *n, const char *key, double min,
                 double max, double *out)
{
	char shown[48];
	if (n->type != YNODE_SCALAR) {
		rules_src_error(src, n->start, "'%s' must be a number, not %s", key, ynode_noun(n));
		return -1;
	}
	rules_show(shown, sizeof shown, n->value, n->len);
	if (n->style != YSTYLE_PLAIN) {
		rules_src_error(src, n->start, "'%s' must be a number, not quoted text '%s'", key,
		                shown);
		return -1;
	}
	char *end = NULL;
	double v = n->len ? strtod(n->value, &end) : 0;
	if (n->len == 0 || end != n->value + n->len || !isfinite(v) || strpbrk(n->value, "xXnN")) {
		rules_src_error(src, n->start, "'%s' must be a number, got '%s'", key, shown);
		return -1;
	}
	if (v < min || v > max) {
		rules_src_error(src, n->start, "'%s' must be between %g and %g, got %s", key, min, max,
		                shown);
		return -1;
	}
	*out = v;
	return 0;
}

int ynode_bool(struct rules_src *src, const struct ynode *n, const char *key, int *out)
{
	char shown[48];
	if (n->type == YNODE_SCALAR && n->style == YSTYLE_PLAIN) {
		if (ynode_is(n, "true")) {
			*out = 1;
			return 0;
		}
		if (ynode_is(n, "false")) {
			*out = 0;
			return 0;
		}
	}
	if (n->type != YNODE_SCALAR)
		rules_src_error(src, n->start, "'%s' must be true or false, not %s", key, ynode_noun(n));
	else
		rules_src_error(src, n->start, "'%s' must be true or false, got '%s'", key,
		                rules_show(shown, sizeof shown, n->value, n->len));
	return -1;
}
