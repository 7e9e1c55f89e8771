/*
 * rules_schema.c - the format of a rule file: walks the YAML tree of one file (rules_yaml.c),
 * checks every key and value, compiles each rule's condition (rules_parse, rules_check,
 * rules_compile) and its tests, and adds the rules to the rule set of the file's kind.
 * Reports every error it finds through the file's diagnostics and keeps going, so an author
 * sees all of a file's problems in one run.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"
#include "../scoring/credit_policy.h"

#define ID_MAX 64
#define NAME_MAX_LEN 64
#define TITLE_MAX 200
#define SCORE_LIMIT 1000.0
#define THRESHOLD_LIMIT 100000.0

struct rules_idtab_entry {
	char *id;
	const char *path;
	int line;
};

void rules_idtab_free(struct rules_idtab *tab)
{
	for (size_t i = 0; i < tab->count; i++)
		free(tab->items[i].id);
	free(tab->items);
	tab->items = NULL;
	tab->count = tab->cap = 0;
}

struct schema {
	struct rules_src *src;
	struct ruleset **sets;
	struct rules_idtab *ids;
	struct rules_arena *scratch;
	const struct attr_schema *attrs; /* the attributes conditions may read, or NULL */
	int kind;           /* the file's kind, -1 until known */
	struct ruleset *rs; /* sets[kind] */
};

static const char *const kind_names[] = {"theft", "credit", "operating"};
static const char *const severity_names[] = {"low", "medium", "high", "critical"};
static const char *const mode_names[] = {"active", "shadow"};
static const char *const expect_names[] = {"fire", "quiet"};

static const char *const file_keys[] = {"ruleset",     "version", "kind",
                                        "description", "rules",   "thresholds", "actions"};
enum rule_key {
	RK_ID, RK_TITLE, RK_DESCRIPTION, RK_WHEN, RK_SCORE, RK_SEVERITY, RK_MODE, RK_EVIDENCE,
	RK_TESTS, RK_CAP, RK_FLOOR, RK__COUNT
};
static const char *const rule_keys[RK__COUNT] = {
	[RK_ID] = "id",         [RK_TITLE] = "title",       [RK_DESCRIPTION] = "description",
	[RK_WHEN] = "when",     [RK_SCORE] = "score",       [RK_SEVERITY] = "severity",
	[RK_MODE] = "mode",     [RK_EVIDENCE] = "evidence", [RK_TESTS] = "tests",
	[RK_CAP] = "cap",       [RK_FLOOR] = "floor",
};
static const char *const test_keys[] = {"given", "expect"};
static const char *const theft_threshold_keys[] = {"alert"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *rule_kind_name(enum rule_kind kind)
{
	return (unsigned)kind < RULE_KIND__COUNT ? kind_names[kind] : "";
}

const char *rule_severity_name(enum rule_severity severity)
{
	return (unsigned)severity < COUNT(severity_names) ? severity_names[severity] : "";
}

const char *rule_mode_name(enum rule_mode mode)
{
	return (unsigned)mode < COUNT(mode_names) ? mode_names[mode] : "";
}

const char *rule_grade_name(enum rule_grade grade)
{
	return credit_grade_name(grade);
}

/* One of names; a close misspelling gets a suggestion. Returns the index or -1. */
static int get_choice(struct schema *s, const struct ynode *n, const char *key,
                      const char *const *names, size_t count)
{
	char shown[48], list[128] = "";
	for (size_t i = 0; i < count; i++) {
		size_t used = strlen(list);
		snprintf(list + used, sizeof list - used, "%s%s", i == 0 ? "" : i + 1 == count ? " or " : ", ",
		         names[i]);
	}
	if (n->type != YNODE_SCALAR) {
		rules_src_error(s->src, n->start, "'%s' must be %s, not %s", key, list, ynode_noun(n));
		return -1;
	}
	for (size_t i = 0; i < count; i++)
		if (ynode_is(n, names[i]))
			return (int)i;
	rules_show(shown, sizeof shown, n->value, n->len);
	const char *hint = suggest_name(n->value, n->len, names, count);
	if (hint)
		rules_src_error(s->src, n->start, "bad %s '%s' (expected %s; did you mean '%s'?)", key,
		                shown, list, hint);
	else
		rules_src_error(s->src, n->start, "bad %s '%s' (expected %s)", key, shown, list);
	return -1;
}

static int valid_name(const char *text, size_t len, size_t max, int lower_only)
{
	if (len == 0 || len > max)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
		         (!lower_only && ((c >= 'A' && c <= 'Z') || c == '-' || c == '.'));
		if (!ok)
			return 0;
	}
	return lower_only ? (text[0] >= 'a' && text[0] <= 'z') : 1;
}

/* Looks a feature name up, or with attributes set also an attribute of the schema; reports
 * an unknown one with a suggestion. Returns 0 and *out, or -1. */
static int get_name(struct schema *s, const struct ynode *n, const char *where, int attributes,
                    struct rules_name *out)
{
	char shown[48];
	const struct attr_schema *attrs = attributes ? s->attrs : NULL;
	if (n->type != YNODE_SCALAR) {
		rules_src_error(s->src, n->start, "expected a feature name %s, not %s", where,
		                ynode_noun(n));
		return -1;
	}
	if (rules_name_lookup(attrs, n->value, n->len, out) == 0)
		return 0;
	rules_show(shown, sizeof shown, n->value, n->len);
	const char *hint = rules_suggest_operand(attrs, n->value, n->len);
	if (hint)
		rules_src_error(s->src, n->start, "unknown feature '%s' %s (did you mean '%s'?)", shown,
		                where, hint);
	else
		rules_src_error(s->src, n->start, "unknown feature '%s' %s", shown, where);
	return -1;
}

/* ---- conditions ---- */

struct expr_site {
	struct schema *s;
	const struct ynode *node;
	int errors;
};

static void expr_error(void *user, size_t off, const char *fmt, ...)
{
	struct expr_site *site = user;
	va_list ap;
	site->errors++;
	va_start(ap, fmt);
	rules_src_verror(site->s->src, rules_yaml_locate(site->s->src, site->node, off), fmt, ap);
	va_end(ap);
}

/* Parses, checks and (when the file's kind is known) compiles a rule's condition. */
static int load_when(struct schema *s, const struct ynode *n, struct rule_entry *r)
{
	if (n->type != YNODE_SCALAR) {
		rules_src_error(s->src, n->start, "'when' must be a condition (text), not %s",
		                ynode_noun(n));
		return -1;
	}
	if (n->len > RULES_WHEN_MAX) {
		rules_src_error(s->src, n->start, "condition longer than %d bytes", RULES_WHEN_MAX);
		return -1;
	}
	if (memchr(n->value, '\0', n->len)) {
		rules_src_error(s->src, n->start, "condition holds a NUL character");
		return -1;
	}
	struct expr_site site = {.s = s, .node = n};
	struct expr *root = rules_parse(n->value, n->len, s->scratch, expr_error, &site);
	if (!root)
		return -1;
	if (rules_check(&root, s->scratch, s->attrs, r->reads, &r->attr_reads, expr_error, &site) < 0)
		return -1;
	if (!s->rs)
		return 0;
	if (rules_compile(root, &s->rs->code, &r->prog_start, &r->prog_len, expr_error, &site) < 0)
		return -1;
	char errstr[160];
	if (rules_verify(s->rs->code.insns + r->prog_start, r->prog_len, s->rs->code.pool,
	                 s->rs->code.npool, s->attrs ? s->attrs->count : 0, errstr,
	                 sizeof errstr) < 0) {
		/* A compiler bug, not an author's error; still refuse the rule. */
		rules_src_error(s->src, n->start, "internal error: compiled condition rejected: %s",
		                errstr);
		return -1;
	}
	struct rule_conjunct *conjuncts;
	int n_conjuncts = rules_compile_conjuncts(root, &s->rs->code, s->attrs ? s->attrs->count : 0,
	                                          &s->rs->arena, &conjuncts, expr_error, &site);
	if (n_conjuncts < 0)
		return -1;
	r->conjuncts = conjuncts;
	r->n_conjuncts = (uint32_t)n_conjuncts;
	r->has_when = 1;
	return 0;
}

/* ---- evidence and tests ---- */

static void load_evidence(struct schema *s, const struct ynode *n, struct rule_entry *r,
                          struct rules_arena *arena)
{
	enum feature_id ids[RULE_EVIDENCE_MAX];
	size_t count = 0;
	if (!n) {
		/* Default: the features the condition reads, in registry order. */
		for (int f = 0; f < FEAT__COUNT && count < RULE_EVIDENCE_MAX; f++)
			if ((r->reads[f / 64] >> (f % 64)) & 1u)
				ids[count++] = (enum feature_id)f;
	} else if (n->type != YNODE_SEQ) {
		rules_src_error(s->src, n->start, "'evidence' must be a list of feature names, not %s",
		                ynode_noun(n));
		return;
	} else {
		for (size_t i = 0; i < n->count; i++) {
			struct rules_name def;
			if (get_name(s, n->items[i], "in evidence", 0, &def) != 0)
				continue;
			int dup = 0;
			for (size_t j = 0; j < count; j++)
				dup |= (int)ids[j] == def.id;
			if (dup) {
				rules_src_error(s->src, n->items[i]->start, "feature '%s' is listed twice",
				                def.name);
				continue;
			}
			if (count == RULE_EVIDENCE_MAX) {
				rules_src_error(s->src, n->items[i]->start,
				                "more than %d evidence features", RULE_EVIDENCE_MAX);
				break;
			}
			ids[count++] = (enum feature_id)def.id;
		}
	}
	enum feature_id *copy = rules_arena_alloc(arena, (count ? count : 1) * sizeof *copy);
	memcpy(copy, ids, count * sizeof *copy);
	r->info.evidence = copy;
	r->info.n_evidence = count;
}

/* Sets one given feature or attribute of a test to value. */
static void given_set(struct rule_test *test, const struct rules_name *def, double value)
{
	if (def->attribute)
		attr_vec_set(&test->given_attrs, def->id - RULES_ATTR_BASE, value);
	else
		feature_set(&test->given, (enum feature_id)def->id, value);
}

/* Sets one given feature or attribute of a test from its YAML value. */
static void load_given_value(struct schema *s, const struct rules_name *def,
                             const struct ynode *v, struct rule_test *test)
{
	char shown[48];
	if (ynode_is_null(v))
		return; /* explicitly missing */
	if (v->type != YNODE_SCALAR) {
		rules_src_error(s->src, v->start, "value of '%s' must be a scalar, not %s", def->name,
		                ynode_noun(v));
		return;
	}
	rules_show(shown, sizeof shown, v->value, v->len);
	if (def->type == FEATURE_BOOL) {
		if (v->style == YSTYLE_PLAIN && (ynode_is(v, "true") || ynode_is(v, "false")))
			given_set(test, def, ynode_is(v, "true"));
		else
			rules_src_error(s->src, v->start, "'%s' is a boolean: give true or false, not '%s'",
			                def->name, shown);
		return;
	}
	if (def->type == FEATURE_SYM) {
		for (size_t i = 0; i < def->n_symbols; i++) {
			if (ynode_is(v, def->symbols[i])) {
				given_set(test, def, (double)i);
				return;
			}
		}
		const char *hint = suggest_name(v->value, v->len, def->symbols, def->n_symbols);
		if (hint)
			rules_src_error(s->src, v->start, "unknown %s '%s' (did you mean '%s'?)", def->name,
			                shown, hint);
		else
			rules_src_error(s->src, v->start, "unknown %s '%s'", def->name, shown);
		return;
	}
	char *end = NULL;
	double x = v->len ? strtod(v->value, &end) : 0;
	if (v->style != YSTYLE_PLAIN || v->len == 0 || end != v->value + v->len || !isfinite(x) ||
	    strpbrk(v->value, "xXnN")) {
		rules_src_error(s->src, v->start, "'%s' is a number (%s): got '%s'", def->name,
		                def->unit[0] ? def->unit : "no unit", shown);
		return;
	}
	given_set(test, def, x);
}

static void load_test(struct schema *s, const struct ynode *t, struct rule_test *test)
{
	feature_vec_clear(&test->given);
	attr_vec_clear(&test->given_attrs);
	test->line = rules_src_line(s->src, t->start);
	if (t->type != YNODE_MAP) {
		rules_src_error(s->src, t->start, "a test is a mapping with 'given' and 'expect', not %s",
		                ynode_noun(t));
		return;
	}
	ynode_check_keys(s->src, t, test_keys, COUNT(test_keys), NULL, "in a test");
	const struct ynode *given = ynode_get(t, "given");
	const struct ynode *expect = ynode_get(t, "expect");
	if (!given)
		rules_src_error(s->src, t->start, "test is missing required key 'given'");
	if (!expect)
		rules_src_error(s->src, t->start, "test is missing required key 'expect' (fire or quiet)");
	if (expect) {
		int e = get_choice(s, expect, "expect", expect_names, COUNT(expect_names));
		test->expect_fire = e == 0;
	}
	if (!given)
		return;
	if (given->type != YNODE_MAP) {
		if (!ynode_is_null(given))
			rules_src_error(s->src, given->start,
			                "'given' must map feature names to values, not %s",
			                ynode_noun(given));
		return;
	}
	for (size_t i = 0; i < given->count; i++) {
		const struct ynode *key = given->items[2 * i];
		struct rules_name def;
		if (get_name(s, key, "in test", 1, &def) != 0)
			continue;
		int dup = 0;
		for (size_t j = 0; j < i && !dup; j++)
			dup = given->items[2 * j]->type == YNODE_SCALAR &&
			      ynode_is(given->items[2 * j], def.name);
		if (dup) {
			rules_src_error(s->src, key->start, "feature '%s' is given twice", def.name);
			continue;
		}
		load_given_value(s, &def, given->items[2 * i + 1], test);
	}
}

static void load_tests(struct schema *s, const struct ynode *n, struct rule_entry *r,
                       struct rules_arena *arena)
{
	if (n->type != YNODE_SEQ) {
		if (!ynode_is_null(n))
			rules_src_error(s->src, n->start, "'tests' must be a list of tests, not %s",
			                ynode_noun(n));
		return;
	}
	r->tests = rules_arena_alloc(arena, (n->count ? n->count : 1) * sizeof *r->tests);
	r->n_tests = n->count;
	for (size_t i = 0; i < n->count; i++)
		load_test(s, n->items[i], &r->tests[i]);
}

/* ---- rules ---- */

/* Records id; reports one already used in any file of this load. */
static void claim_id(struct schema *s, const struct ynode *n, const char *id)
{
	struct rules_idtab *tab = s->ids;
	for (size_t i = 0; i < tab->count; i++) {
		if (strcmp(tab->items[i].id, id) == 0) {
			if (strcmp(tab->items[i].path, s->src->path) == 0)
				rules_src_error(s->src, n->start, "duplicate rule id '%s' (first on line %d)",
				                id, tab->items[i].line);
			else
				rules_src_error(s->src, n->start, "duplicate rule id '%s' (first in %s:%d)", id,
				                tab->items[i].path, tab->items[i].line);
			return;
		}
	}
	if (tab->count == tab->cap) {
		tab->cap = tab->cap ? tab->cap * 2 : 32;
		tab->items = xrealloc(tab->items, tab->cap * sizeof *tab->items);
	}
	tab->items[tab->count].id = xstrdup(id);
	tab->items[tab->count].path = s->src->path;
	tab->items[tab->count].line = rules_src_line(s->src, n->start);
	tab->count++;
}

static void load_rule(struct schema *s, const struct ynode *m, struct rule_entry *r,
                      struct rules_arena *arena)
{
	/* Keys of the other kind: allowed words, wrong place. */
	static const char *const theft_notes[RK__COUNT] = {
		[RK_CAP] = "is only allowed in credit rules (kind: credit)",
		[RK_FLOOR] = "is only allowed in credit rules (kind: credit)",
	};
	static const char *const credit_notes[RK__COUNT] = {
		[RK_SCORE] = "is only allowed in theft rules (kind: theft); credit rules set 'cap' or "
		             "'floor'",
	};
	char shown[48];
	const char *id = NULL;
	const char *rule_name = "rule";
	char rule_label[ID_MAX + 16];

	ynode_check_keys(s->src, m, rule_keys, COUNT(rule_keys),
	           rule_kind_scored((enum rule_kind)s->kind) ? theft_notes : s->kind == RULE_KIND_CREDIT ? credit_notes : NULL,
	           "in a rule");
	r->info.kind = s->kind >= 0 ? (enum rule_kind)s->kind : RULE_KIND_THEFT;
	r->info.severity = RULE_SEV_MEDIUM;
	r->info.mode = RULE_MODE_ACTIVE;
	r->info.cap = RULE_GRADE_NONE;
	r->info.floor = RULE_GRADE_NONE;
	r->info.line = rules_src_line(s->src, m->start);

	const struct ynode *n = ynode_get(m, "id");
	if (n && (id = ynode_text(s->src, n, "id")) != NULL) {
		if (!valid_name(n->value, n->len, ID_MAX, 1)) {
			rules_src_error(s->src, n->start,
			                "bad rule id '%s': use lower-case letters, digits and '_', starting "
			                "with a letter, at most %d characters",
			                rules_show(shown, sizeof shown, n->value, n->len), ID_MAX);
			id = NULL;
		} else {
			claim_id(s, n, id);
			snprintf(rule_label, sizeof rule_label, "rule '%s'", id);
			rule_name = rule_label;
		}
	}
	if (!n)
		rules_src_error(s->src, m->start, "rule is missing required key 'id'");
	r->info.id = rules_arena_strndup(arena, id ? id : "", id ? strlen(id) : 0);

	const char *title = NULL;
	if ((n = ynode_get(m, "title")) != NULL && (title = ynode_text(s->src, n, "title")) != NULL &&
	    n->len > TITLE_MAX) {
		rules_src_error(s->src, n->start, "'title' longer than %d bytes", TITLE_MAX);
		title = NULL;
	}
	if (!n)
		rules_src_error(s->src, m->start, "%s is missing required key 'title'", rule_name);
	r->info.title = rules_arena_strndup(arena, title ? title : "", title ? strlen(title) : 0);

	const char *description = NULL;
	if ((n = ynode_get(m, "description")) != NULL)
		description = ynode_text(s->src, n, "description");
	r->info.description =
		rules_arena_strndup(arena, description ? description : "", description ? strlen(description) : 0);

	const struct ynode *when = ynode_get(m, "when");
	if (when) {
		load_when(s, when, r);
		if (when->type == YNODE_SCALAR)
			r->info.when = rules_arena_strndup(arena, when->value, when->len);
	} else {
		rules_src_error(s->src, m->start, "%s is missing required key 'when'", rule_name);
	}
	if (!r->info.when)
		r->info.when = "";

	if ((n = ynode_get(m, "severity")) != NULL) {
		int v = get_choice(s, n, "severity", severity_names, COUNT(severity_names));
		if (v >= 0)
			r->info.severity = (enum rule_severity)v;
	} else if (rule_kind_scored((enum rule_kind)s->kind)) {
		rules_src_error(s->src, m->start,
		                "%s is missing required key 'severity' (low, medium, high or critical)",
		                rule_name);
	}
	if ((n = ynode_get(m, "mode")) != NULL) {
		int v = get_choice(s, n, "mode", mode_names, COUNT(mode_names));
		if (v >= 0)
			r->info.mode = (enum rule_mode)v;
	}
	if (rule_kind_scored((enum rule_kind)s->kind)) {
		if ((n = ynode_get(m, "score")) != NULL)
			ynode_number(s->src, n, "score", -SCORE_LIMIT, SCORE_LIMIT, &r->info.score);
		else
			rules_src_error(s->src, m->start, "%s is missing required key 'score'", rule_name);
	} else if (s->kind == RULE_KIND_CREDIT) {
		const struct ynode *cap = ynode_get(m, "cap"), *floor = ynode_get(m, "floor");
		if (cap) {
			int v = get_choice(s, cap, "cap", credit_grade_names, RULE_GRADE__COUNT);
			r->info.cap = v >= 0 ? (enum rule_grade)v : RULE_GRADE_NONE;
		}
		if (floor) {
			int v = get_choice(s, floor, "floor", credit_grade_names, RULE_GRADE__COUNT);
			r->info.floor = v >= 0 ? (enum rule_grade)v : RULE_GRADE_NONE;
		}
		if (!cap && !floor)
			rules_src_error(s->src, m->start,
			                "%s is missing required key 'cap' (or 'floor'): the grade it sets",
			                rule_name);
	}
	load_evidence(s, ynode_get(m, "evidence"), r, arena);
	if ((n = ynode_get(m, "tests")) != NULL)
		load_tests(s, n, r, arena);
}

/* ---- the file ---- */

static void load_thresholds(struct schema *s, const struct ynode *n)
{
	if (!rule_kind_scored((enum rule_kind)s->kind)) {
		if (n && n->type == YNODE_MAP)
			ynode_check_keys(s->src, n, NULL, 0, NULL,
			                 "in thresholds (credit rule sets have none)");
		return;
	}
	if (!n) {
		return;
	}
	if (n->type != YNODE_MAP) {
		rules_src_error(s->src, n->start, "'thresholds' must be a mapping with 'alert', not %s",
		                ynode_noun(n));
		return;
	}
	ynode_check_keys(s->src, n, theft_threshold_keys, COUNT(theft_threshold_keys), NULL,
	                 "in thresholds");
	const struct ynode *alert = ynode_get(n, "alert");
	if (!alert) {
		rules_src_error(s->src, n->start,
		                "thresholds is missing required key 'alert' (the score that raises an "
		                "alert)");
		return;
	}
	double v;
	if (ynode_number(s->src, alert, "alert", 0.001, THRESHOLD_LIMIT, &v) < 0 || !s->rs)
		return;
	if (s->rs->have_threshold && s->rs->alert_threshold != v) {
		rules_src_error(s->src, alert->start,
		                "thresholds.alert is %g here but %g in %s:%d; the theft files of one "
		                "rule set must agree",
		                v, s->rs->alert_threshold, s->rs->threshold_path, s->rs->threshold_line);
		return;
	}
	s->rs->alert_threshold = v;
	s->rs->have_threshold = 1;
	s->rs->threshold_path = s->src->path;
	s->rs->threshold_line = rules_src_line(s->src, alert->start);
}

/* Appends text to a '+'-joined list unless it is already there. */
static void join_once(struct rbuf *list, const char *text, int dedupe)
{
	if (dedupe && list->len) {
		size_t n = strlen(text);
		const char *p = list->data;
		const char *end = list->data + list->len;
		while (p < end) {
			const char *q = memchr(p, '+', (size_t)(end - p));
			size_t len = q ? (size_t)(q - p) : (size_t)(end - p);
			if (len == n && memcmp(p, text, n) == 0)
				return;
			p += len + 1;
		}
	}
	if (list->len)
		rbuf_puts(list, "+");
	rbuf_puts(list, text);
}

/* The service policy of a credit file: checked here, read by credit_policy_load_paths. */
static void load_actions(struct schema *s, const struct ynode *root)
{
	const struct ynode *n = ynode_get(root, "actions");
	if (!n)
		return;
	if (s->kind == RULE_KIND_CREDIT) {
		struct credit_policy checked;
		credit_policy_read(s->src, n, &checked);
	} else if (s->kind == RULE_KIND_THEFT)
		rules_src_error(s->src, ynode_key_pos(root, "actions"),
		                "'actions' is only allowed in credit rule files (kind: credit)");
}

int rules_schema_load(struct rules_src *src, const struct ynode *root,
                      struct ruleset *sets[RULE_KIND__COUNT], struct rules_idtab *ids,
                      struct rules_arena *scratch)
{
	struct schema s = {.src = src, .sets = sets, .ids = ids, .scratch = scratch,
	                   .attrs = sets[0]->attrs, .kind = -1};
	char shown[48];
	if (root->type != YNODE_MAP) {
		rules_src_error(src, root->start,
		                "a rule file is a mapping with ruleset, version, kind and rules, not %s",
		                ynode_noun(root));
		return -1;
	}
	ynode_check_keys(src, root, file_keys, COUNT(file_keys), NULL, "at the top of a rule file");

	const struct ynode *n = ynode_get(root, "kind");
	if (n)
		s.kind = get_choice(&s, n, "kind", kind_names, COUNT(kind_names));
	else
		rules_src_error(src, root->start, "missing required key 'kind' (theft or credit)");
	if (s.kind >= 0)
		s.rs = sets[s.kind];

	const char *name = NULL;
	if ((n = ynode_get(root, "ruleset")) != NULL && (name = ynode_text(src, n, "ruleset")) != NULL &&
	    !valid_name(n->value, n->len, NAME_MAX_LEN, 0)) {
		rules_src_error(src, n->start,
		                "bad ruleset name '%s': use letters, digits, '_', '-' and '.', at most %d",
		                rules_show(shown, sizeof shown, n->value, n->len), NAME_MAX_LEN);
		name = NULL;
	}
	if (!n)
		rules_src_error(src, root->start, "missing required key 'ruleset' (the rule set's name)");

	const char *version = NULL;
	if ((n = ynode_get(root, "version")) != NULL &&
	    (version = ynode_text(src, n, "version")) != NULL &&
	    !valid_name(n->value, n->len, NAME_MAX_LEN, 0)) {
		rules_src_error(src, n->start,
		                "bad version '%s': use letters, digits, '_', '-' and '.', at most %d",
		                rules_show(shown, sizeof shown, n->value, n->len), NAME_MAX_LEN);
		version = NULL;
	}
	if (!n)
		rules_src_error(src, root->start, "missing required key 'version'");

	if ((n = ynode_get(root, "description")) != NULL)
		ynode_text(src, n, "description");

	const struct ynode *thresholds = ynode_get(root, "thresholds");
	if (!thresholds && rule_kind_scored((enum rule_kind)s.kind))
		rules_src_error(src, root->start,
		                "missing required key 'thresholds' (theft files set thresholds.alert)");
	load_thresholds(&s, thresholds);
	load_actions(&s, root);

	if (s.rs && name && version) {
		join_once(&s.rs->names, name, 1);
		join_once(&s.rs->versions, version, 0);
	}

	const struct ynode *rules = ynode_get(root, "rules");
	if (!rules) {
		rules_src_error(src, root->start, "missing required key 'rules' (a list of rules)");
		return s.kind;
	}
	if (rules->type != YNODE_SEQ) {
		if (!ynode_is_null(rules))
			rules_src_error(src, rules->start, "'rules' must be a list of rules, not %s",
			                ynode_noun(rules));
		return s.kind;
	}
	for (size_t i = 0; i < rules->count; i++) {
		const struct ynode *m = rules->items[i];
		if (m->type != YNODE_MAP) {
			rules_src_error(src, m->start,
			                "a rule is a mapping with id, title, when, ..., not %s",
			                ynode_noun(m));
			continue;
		}
		struct rule_entry scratch_rule;
		struct rule_entry *r = &scratch_rule;
		struct rules_arena *arena = scratch;
		if (s.rs) {
			if (s.rs->n_rules == RULESET_RULES_MAX) {
				rules_src_error(src, m->start, "more than %d rules in the %s rule set",
				                RULESET_RULES_MAX, kind_names[s.kind]);
				return s.kind;
			}
			r = &s.rs->rules[s.rs->n_rules++];
			arena = &s.rs->arena;
		}
		memset(r, 0, sizeof *r);
		r->info.path = s.rs ? rules_arena_strndup(arena, src->path, strlen(src->path)) : src->path;
		load_rule(&s, m, r, arena);
	}
	return s.kind;
}
