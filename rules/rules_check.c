/*
 * rules_check.c - the checker of rule conditions: resolves names against the feature registry
 * (scoring/features.h) and the customer attributes of the schema (rules_names.c), types every
 * node (number, boolean, symbol; a category attribute is a symbol), turns string literals into
 * symbol codes where they meet a symbol feature or a category attribute, checks functions and their arguments, and
 * folds constant subexpressions. Reports every error it finds, not just the first; a node
 * that already failed does not produce follow-on errors.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rules_int.h"

struct checker {
	struct rules_arena *arena;
	const struct attr_schema *attrs;
	uint64_t *reads;
	uint64_t *attr_reads;
	rules_expr_error_fn *error;
	void *user;
	int errors;
};

#define ERR(c, off, ...)                                                                      \
	do {                                                                                      \
		(c)->errors++;                                                                        \
		(c)->error((c)->user, (off), __VA_ARGS__);                                            \
	} while (0)

static const struct function {
	const char *name;
	int min_args, max_args;
	enum vtype result;
	const char *signature;
} functions[] = {
	{"abs", 1, 1, VT_NUM, "abs(x)"},
	{"min", 2, 255, VT_NUM, "min(a, b, ...)"},
	{"max", 2, 255, VT_NUM, "max(a, b, ...)"},
	{"between", 3, 3, VT_BOOL, "between(x, lo, hi)"},
};
#define FUNCTION_COUNT (sizeof functions / sizeof functions[0])

static const char *const function_names[] = {"abs", "min", "max", "between"};
static const char *const keyword_names[] = {"and", "or", "not", "in", "true", "false"};

static const struct function *function_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < FUNCTION_COUNT; i++)
		if (strlen(functions[i].name) == len && memcmp(functions[i].name, name, len) == 0)
			return &functions[i];
	return NULL;
}

static int is_const(const struct expr *e)
{
	return e->kind == EXPR_NUM || e->kind == EXPR_BOOL || e->kind == EXPR_STR ||
	       e->kind == EXPR_SYM;
}

/* "a number", "'segment' (a symbol)" - how a node is named in a type error. */
static const char *describe(const struct checker *c, const struct expr *e, char *buf,
                            size_t size)
{
	static const char *const nouns[] = {
		[VT_ERR] = "invalid", [VT_NUM] = "a number", [VT_BOOL] = "a boolean",
		[VT_SYM] = "a symbol", [VT_STR] = "a string", [VT_LIST] = "a list",
	};
	if (e->kind == EXPR_FEATURE && e->feature >= 0) {
		struct rules_name name;
		rules_name_of(c->attrs, e->feature, &name);
		snprintf(buf, size, "'%s' (%s)", name.name, nouns[e->type]);
		return buf;
	}
	return nouns[e->type];
}

static const char *op_text(enum tok op)
{
	switch (op) {
	case TOK_AND: return "and";
	case TOK_OR: return "or";
	case TOK_NOT: return "not";
	case TOK_PLUS: return "+";
	case TOK_MINUS: return "-";
	case TOK_STAR: return "*";
	case TOK_SLASH: return "/";
	case TOK_LT: return "<";
	case TOK_LE: return "<=";
	case TOK_GT: return ">";
	case TOK_GE: return ">=";
	case TOK_EQ: return "==";
	case TOK_NE: return "!=";
	case TOK_IN: return "in";
	default: return "?";
	}
}

/* Replaces e by a constant of its span. */
static void fold(struct checker *c, struct expr **ep, enum vtype type, double value)
{
	struct expr *e = *ep;
	struct expr *k = rules_arena_alloc(c->arena, sizeof *k);
	k->kind = type == VT_BOOL ? EXPR_BOOL : EXPR_NUM;
	k->type = type;
	k->off = e->off;
	k->end = e->end;
	k->feature = -1;
	k->num = value;
	*ep = k;
}

/* A number constant that came out of folding must still be a finite number. */
static int fold_num(struct checker *c, struct expr **ep, double value)
{
	if (!isfinite(value)) {
		ERR(c, (*ep)->off, "this constant expression has no finite value");
		return VT_ERR;
	}
	fold(c, ep, VT_NUM, value);
	return VT_NUM;
}

/* The first value of symbol operand id, for messages. */
static const char *first_symbol(const struct checker *c, int id)
{
	struct rules_name name;
	rules_name_of(c->attrs, id, &name);
	return name.n_symbols ? name.symbols[0] : "";
}

/* Turns string literal *sp into the code of that symbol of feature (or category attribute)
 * `feature`. */
static int resolve_symbol(struct checker *c, struct expr *s, int feature)
{
	struct rules_name name;
	rules_name_of(c->attrs, feature, &name);
	size_t count = name.n_symbols;
	const char *const *symbols = name.symbols;
	const char *fname = name.name;
	char shown[48];
	for (size_t i = 0; i < count; i++) {
		if (strlen(symbols[i]) == s->name_len && memcmp(symbols[i], s->name, s->name_len) == 0) {
			s->kind = EXPR_SYM;
			s->type = VT_SYM;
			s->feature = feature;
			s->num = (double)i;
			return 0;
		}
	}
	rules_show(shown, sizeof shown, s->name, s->name_len);
	const char *hint = suggest_name(s->name, s->name_len, symbols, count);
	if (hint) {
		ERR(c, s->off, "unknown %s '%s' (did you mean '%s'?)", fname, shown, hint);
	} else {
		char list[256] = "";
		for (size_t i = 0; i < count; i++) {
			size_t used = strlen(list);
			snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", symbols[i]);
		}
		ERR(c, s->off, "unknown %s '%s' (expected one of: %s)", fname, shown, list);
	}
	return -1;
}

static int same_symbols(const struct checker *c, int fa, int fb)
{
	struct rules_name a, b;
	rules_name_of(c->attrs, fa, &a);
	rules_name_of(c->attrs, fb, &b);
	return a.symbols == b.symbols;
}

static enum vtype check(struct checker *c, struct expr **ep);

static enum vtype check_feature(struct checker *c, struct expr *e)
{
	char shown[48];
	struct rules_name name;
	if (rules_name_lookup(c->attrs, e->name, e->name_len, &name) == 0) {
		e->feature = name.id;
		if (name.attribute)
			*c->attr_reads |= (uint64_t)1 << (name.id - RULES_ATTR_BASE);
		else
			c->reads[name.id / 64] |= (uint64_t)1 << (name.id % 64);
		switch (name.type) {
		case FEATURE_NUM:
			return VT_NUM;
		case FEATURE_BOOL:
			return VT_BOOL;
		default:
			return VT_SYM;
		}
	}
	rules_show(shown, sizeof shown, e->name, e->name_len);
	if (function_lookup(e->name, e->name_len)) {
		ERR(c, e->off, "'%s' is a function; call it as %s", shown,
		    function_lookup(e->name, e->name_len)->signature);
		return VT_ERR;
	}
	const char *hint = rules_suggest_operand(c->attrs, e->name, e->name_len);
	const char *keyword = suggest_name(e->name, e->name_len, keyword_names,
	                                    sizeof keyword_names / sizeof keyword_names[0]);
	if (!hint && keyword && strlen(keyword) == e->name_len)
		hint = keyword; /* "AND" */
	if (hint)
		ERR(c, e->off, "unknown feature '%s' (did you mean '%s'?)", shown, hint);
	else if (!c->attrs)
		ERR(c, e->off, "unknown feature '%s' (`riskctl rules features` lists them; no customer "
		    "attribute schema is loaded)", shown);
	else
		ERR(c, e->off, "unknown feature '%s' (`riskctl rules features --attributes FILE` lists "
		    "them)", shown);
	return VT_ERR;
}

static enum vtype check_call(struct checker *c, struct expr **ep)
{
	struct expr *e = *ep;
	char shown[48], desc[96];
	const struct function *fn = function_lookup(e->name, e->name_len);
	int bad = 0;
	for (uint32_t i = 0; i < e->nargs; i++)
		if (check(c, &e->args[i]) == VT_ERR)
			bad = 1;
	rules_show(shown, sizeof shown, e->name, e->name_len);
	if (!fn) {
		if (feature_lookup(e->name, e->name_len)) {
			ERR(c, e->off, "'%s' is a feature, not a function", shown);
			return VT_ERR;
		}
		const char *hint = suggest_name(e->name, e->name_len, function_names,
		                                 sizeof function_names / sizeof function_names[0]);
		if (hint)
			ERR(c, e->off, "unknown function '%s' (did you mean '%s'?)", shown, hint);
		else
			ERR(c, e->off, "unknown function '%s' (functions: abs, min, max, between)", shown);
		return VT_ERR;
	}
	if ((int)e->nargs < fn->min_args || (int)e->nargs > fn->max_args) {
		if (fn->min_args == fn->max_args)
			ERR(c, e->off, "'%s' takes %d argument%s, got %u: %s", fn->name, fn->min_args,
			    fn->min_args == 1 ? "" : "s", e->nargs, fn->signature);
		else
			ERR(c, e->off, "'%s' takes at least %d arguments, got %u: %s", fn->name,
			    fn->min_args, e->nargs, fn->signature);
		return VT_ERR;
	}
	if (bad)
		return VT_ERR;
	int all_const = 1;
	for (uint32_t i = 0; i < e->nargs; i++) {
		struct expr *a = e->args[i];
		if (a->type != VT_NUM) {
			ERR(c, a->off, "'%s' needs numbers, but argument %u is %s", fn->name, i + 1,
			    describe(c, a, desc, sizeof desc));
			bad = 1;
		}
		all_const &= is_const(a);
	}
	if (bad)
		return VT_ERR;
	if (!all_const)
		return fn->result;
	double x = e->args[0]->num;
	if (strcmp(fn->name, "abs") == 0)
		return fold_num(c, ep, fabs(x));
	if (strcmp(fn->name, "between") == 0) {
		fold(c, ep, VT_BOOL, e->args[1]->num <= x && x <= e->args[2]->num);
		return VT_BOOL;
	}
	for (uint32_t i = 1; i < e->nargs; i++) {
		double y = e->args[i]->num;
		x = fn->name[1] == 'i' ? (y < x ? y : x) : (y > x ? y : x);
	}
	return fold_num(c, ep, x);
}

static enum vtype check_unary(struct checker *c, struct expr **ep)
{
	struct expr *e = *ep;
	char desc[96];
	enum vtype t = check(c, &e->args[0]);
	struct expr *a = e->args[0];
	if (t == VT_ERR)
		return VT_ERR;
	if (e->op == TOK_NOT) {
		if (t != VT_BOOL) {
			ERR(c, a->off, "'not' needs true or false, but its operand is %s",
			    describe(c, a, desc, sizeof desc));
			return VT_ERR;
		}
		if (is_const(a))
			fold(c, ep, VT_BOOL, !a->num);
		return VT_BOOL;
	}
	if (t != VT_NUM) {
		ERR(c, a->off, "'-' needs a number, but its operand is %s",
		    describe(c, a, desc, sizeof desc));
		return VT_ERR;
	}
	if (is_const(a))
		return fold_num(c, ep, -a->num);
	return VT_NUM;
}

/* == and != : numbers, booleans, or a symbol with a string or a symbol of the same set. */
static enum vtype check_equality(struct checker *c, struct expr *e)
{
	struct expr *l = e->args[0], *r = e->args[1];
	char dl[96], dr[96];
	if (l->type == VT_SYM && r->type == VT_STR)
		return resolve_symbol(c, r, l->feature) < 0 ? VT_ERR : VT_BOOL;
	if (l->type == VT_STR && r->type == VT_SYM)
		return resolve_symbol(c, l, r->feature) < 0 ? VT_ERR : VT_BOOL;
	if (l->type == VT_SYM && r->type == VT_SYM) {
		if (!same_symbols(c, l->feature, r->feature)) {
			ERR(c, e->op_off, "'%s' compares symbols of different features", op_text(e->op));
			return VT_ERR;
		}
		return VT_BOOL;
	}
	if (l->type == r->type && (l->type == VT_NUM || l->type == VT_BOOL))
		return VT_BOOL;
	if (l->type == VT_STR || r->type == VT_STR) {
		const struct expr *other = l->type == VT_STR ? r : l;
		const struct expr *str = l->type == VT_STR ? l : r;
		if (other->type == VT_STR)
			ERR(c, str->off, "a string can only be compared with a symbol feature such as "
			                 "'segment'");
		else
			ERR(c, str->off, "a string can only be compared with a symbol feature such as "
			                 "'segment', not with %s",
			    describe(c, other, dl, sizeof dl));
		return VT_ERR;
	}
	if (l->type == VT_SYM || r->type == VT_SYM) {
		const struct expr *sym = l->type == VT_SYM ? l : r;
		ERR(c, sym->off, "%s is compared with %s; compare it with a string such as \"%s\"",
		    describe(c, sym, dl, sizeof dl), describe(c, sym == l ? r : l, dr, sizeof dr),
		    first_symbol(c, sym->feature));
		return VT_ERR;
	}
	ERR(c, e->op_off, "'%s' cannot compare %s with %s", op_text(e->op),
	    describe(c, l, dl, sizeof dl), describe(c, r, dr, sizeof dr));
	return VT_ERR;
}

static double fold_compare(enum tok op, double a, double b)
{
	switch (op) {
	case TOK_LT: return a < b;
	case TOK_LE: return a <= b;
	case TOK_GT: return a > b;
	case TOK_GE: return a >= b;
	case TOK_EQ: return a == b;
	default: return a != b;
	}
}

static enum vtype check_binary(struct checker *c, struct expr **ep)
{
	struct expr *e = *ep;
	char desc[96];
	enum vtype tl = check(c, &e->args[0]);
	enum vtype tr = check(c, &e->args[1]);
	struct expr *l = e->args[0], *r = e->args[1];
	if (tl == VT_ERR || tr == VT_ERR)
		return VT_ERR;
	const char *op = op_text(e->op);
	switch (e->op) {
	case TOK_AND:
	case TOK_OR:
		if (tl != VT_BOOL || tr != VT_BOOL) {
			const struct expr *bad = tl != VT_BOOL ? l : r;
			ERR(c, bad->off, "'%s' needs true or false on both sides, but the %s side is %s",
			    op, bad == l ? "left" : "right", describe(c, bad, desc, sizeof desc));
			return VT_ERR;
		}
		if (is_const(l) && is_const(r))
			fold(c, ep, VT_BOOL, e->op == TOK_AND ? (l->num && r->num) : (l->num || r->num));
		return VT_BOOL;
	case TOK_PLUS:
	case TOK_MINUS:
	case TOK_STAR:
	case TOK_SLASH:
		if (tl != VT_NUM || tr != VT_NUM) {
			const struct expr *bad = tl != VT_NUM ? l : r;
			ERR(c, bad->off, "'%s' needs numbers, but the %s side is %s", op,
			    bad == l ? "left" : "right", describe(c, bad, desc, sizeof desc));
			return VT_ERR;
		}
		if (!is_const(l) || !is_const(r))
			return VT_NUM;
		if (e->op == TOK_SLASH && r->num == 0) {
			ERR(c, r->off, "division by zero");
			return VT_ERR;
		}
		return fold_num(c, ep,
		                e->op == TOK_PLUS    ? l->num + r->num
		                : e->op == TOK_MINUS ? l->num - r->num
		                : e->op == TOK_STAR  ? l->num * r->num
		                                     : l->num / r->num);
	case TOK_EQ:
	case TOK_NE:
		if (check_equality(c, e) == VT_ERR)
			return VT_ERR;
		break;
	default: /* < <= > >= */
		if (tl != VT_NUM || tr != VT_NUM) {
			const struct expr *bad = tl != VT_NUM ? l : r;
			ERR(c, bad->off, "'%s' compares numbers, but the %s side is %s", op,
			    bad == l ? "left" : "right", describe(c, bad, desc, sizeof desc));
			return VT_ERR;
		}
		break;
	}
	if (is_const(l) && is_const(r)) {
		fold(c, ep, VT_BOOL, fold_compare(e->op, l->num, r->num));
		return VT_BOOL;
	}
	return VT_BOOL;
}

static enum vtype check_in(struct checker *c, struct expr **ep)
{
	struct expr *e = *ep;
	struct expr *x = e->args[0], *list = e->args[1];
	char desc[96];
	enum vtype tx = check(c, &e->args[0]);
	x = e->args[0];
	int bad = tx == VT_ERR;
	if (tx != VT_ERR && tx != VT_NUM && tx != VT_SYM) {
		ERR(c, x->off, "'in' needs a number or a symbol feature on its left, but it is %s",
		    describe(c, x, desc, sizeof desc));
		bad = 1;
	}
	for (uint32_t i = 0; i < list->nargs; i++) {
		enum vtype ti = check(c, &list->args[i]);
		struct expr *item = list->args[i];
		if (ti == VT_ERR) {
			bad = 1;
			continue;
		}
		if (!is_const(item)) {
			ERR(c, item->off, "list items must be constants");
			bad = 1;
			continue;
		}
		if (tx == VT_SYM) {
			if (ti != VT_STR) {
				struct rules_name name;
				rules_name_of(c->attrs, x->feature, &name);
				ERR(c, item->off, "'%s' is a symbol: list items must be strings such as \"%s\"",
				    name.name, first_symbol(c, x->feature));
				bad = 1;
			} else if (resolve_symbol(c, item, x->feature) < 0) {
				bad = 1;
			}
		} else if (tx == VT_NUM && ti != VT_NUM) {
			ERR(c, item->off, "list items must be numbers like the left side, not %s",
			    describe(c, item, desc, sizeof desc));
			bad = 1;
		}
	}
	list->type = VT_LIST;
	if (bad)
		return VT_ERR;
	if (is_const(x)) {
		int found = 0;
		for (uint32_t i = 0; i < list->nargs; i++)
			found |= list->args[i]->num == x->num;
		fold(c, ep, VT_BOOL, found);
	}
	return VT_BOOL;
}

static enum vtype check(struct checker *c, struct expr **ep)
{
	struct expr *e = *ep;
	enum vtype t;
	switch (e->kind) {
	case EXPR_NUM:
		t = VT_NUM;
		break;
	case EXPR_BOOL:
		t = VT_BOOL;
		break;
	case EXPR_STR:
		t = VT_STR;
		break;
	case EXPR_SYM:
		t = VT_SYM;
		break;
	case EXPR_FEATURE:
		t = check_feature(c, e);
		break;
	case EXPR_CALL:
		t = check_call(c, ep);
		break;
	case EXPR_UNARY:
		t = check_unary(c, ep);
		break;
	case EXPR_BINARY:
		t = check_binary(c, ep);
		break;
	case EXPR_IN:
		t = check_in(c, ep);
		break;
	default: /* a list outside 'in' does not parse */
		t = VT_ERR;
		break;
	}
	(*ep)->type = t;
	return t;
}

int rules_check(struct expr **root, struct rules_arena *arena, const struct attr_schema *attrs,
                uint64_t *reads, uint64_t *attr_reads, rules_expr_error_fn *error, void *user)
{
	struct checker c = {.arena = arena, .attrs = attrs, .reads = reads,
	                    .attr_reads = attr_reads, .error = error, .user = user};
	char desc[96];
	enum vtype t = check(&c, root);
	if (t != VT_ERR && t != VT_BOOL)
		ERR(&c, (*root)->off, "the condition must be true or false, but it is %s",
		    describe(&c, *root, desc, sizeof desc));
	return c.errors ? -1 : 0;
}
