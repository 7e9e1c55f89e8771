/*
 * rules_parse.c - precedence-climbing parser of rule conditions: tokens from rules_lex.c to an
 * AST in an arena, with each node's byte span for diagnostics. Stops at the first syntax error
 * of a condition (the checker then has nothing to check); the caller goes on with the next one.
 *
 * Binding, loosest first: or; and; not; comparisons and `in` (which do not chain);
 * + -; * /; unary minus. `not a < b` is `not (a < b)`.
 */
#include <string.h>

#include "rules_int.h"

enum { PREC_OR = 1, PREC_AND, PREC_NOT, PREC_CMP, PREC_ADD, PREC_MUL, PREC_NEG };

struct parser {
	struct lexer lx;
	struct token tok;
	uint32_t prev_end; /* end of the last consumed token */
	struct rules_arena *arena;
	rules_expr_error_fn *error;
	void *user;
	int failed;
	int depth;
};

static void advance(struct parser *p)
{
	p->prev_end = p->tok.off + p->tok.len;
	rules_lex_next(&p->lx, &p->tok);
}

/* Reports at the current token (its own message for an invalid token). Returns NULL. */
static struct expr *fail_at_token(struct parser *p, const char *expected)
{
	if (p->failed)
		return NULL;
	p->failed = 1;
	if (p->tok.type == TOK_ERROR)
		p->error(p->user, p->tok.off, "%s", p->tok.error);
	else
		p->error(p->user, p->tok.off, "expected %s, got %s", expected,
		         rules_tok_name(p->tok.type));
	return NULL;
}

static struct expr *new_node(struct parser *p, enum expr_kind kind, uint32_t off)
{
	struct expr *e = rules_arena_alloc(p->arena, sizeof *e);
	e->kind = kind;
	e->off = off;
	e->end = off;
	e->feature = -1;
	return e;
}

static int binary_prec(enum tok type)
{
	switch (type) {
	case TOK_OR:
		return PREC_OR;
	case TOK_AND:
		return PREC_AND;
	case TOK_LT: case TOK_LE: case TOK_GT: case TOK_GE: case TOK_EQ: case TOK_NE: case TOK_IN:
		return PREC_CMP;
	case TOK_PLUS: case TOK_MINUS:
		return PREC_ADD;
	case TOK_STAR: case TOK_SLASH:
		return PREC_MUL;
	default:
		return 0;
	}
}

static struct expr *parse_expr(struct parser *p, int min_prec);

static int enter(struct parser *p)
{
	if (++p->depth <= RULES_NEST_MAX)
		return 0;
	if (!p->failed) {
		p->failed = 1;
		p->error(p->user, p->tok.off, "condition nested too deeply (more than %d levels)",
		         RULES_NEST_MAX);
	}
	return -1;
}

/* Parses "(" expr {"," expr} ")" into e->args; the current token is "(" or "[". */
static int parse_items(struct parser *p, struct expr *e, enum tok close)
{
	struct expr *items[256];
	uint32_t n = 0;
	uint32_t open_off = p->tok.off;
	advance(p);
	if (p->tok.type != close) {
		for (;;) {
			struct expr *item = parse_expr(p, PREC_OR);
			if (!item)
				return -1;
			if (n == sizeof items / sizeof items[0]) {
				p->failed = 1;
				p->error(p->user, item->off, "more than 256 items");
				return -1;
			}
			items[n++] = item;
			if (p->tok.type != TOK_COMMA)
				break;
			advance(p);
		}
	}
	if (p->tok.type != close) {
		fail_at_token(p, close == TOK_RPAREN ? "',' or ')'" : "',' or ']'");
		return -1;
	}
	if (close == TOK_RBRACKET && n == 0) {
		p->failed = 1;
		p->error(p->user, open_off, "empty list");
		return -1;
	}
	advance(p);
	e->args = rules_arena_alloc(p->arena, (n ? n : 1) * sizeof *e->args);
	memcpy(e->args, items, n * sizeof *e->args);
	e->nargs = n;
	e->end = p->prev_end;
	return 0;
}

/* Unescapes a string token (quotes included) into the node's name. */
static void set_string(struct parser *p, struct expr *e, const char *text, size_t len)
{
	char *out = rules_arena_alloc(p->arena, len + 1);
	size_t n = 0;
	for (size_t i = 1; i + 1 < len; i++) {
		char c = text[i];
		if (c == '\\' && i + 2 < len) {
			c = text[++i];
			c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	e->name = out;
	e->name_len = n;
}

static struct expr *parse_primary(struct parser *p)
{
	struct token t = p->tok;
	struct expr *e;
	switch (t.type) {
	case TOK_NUM:
		e = new_node(p, EXPR_NUM, t.off);
		e->num = t.num;
		advance(p);
		break;
	case TOK_TRUE:
	case TOK_FALSE:
		e = new_node(p, EXPR_BOOL, t.off);
		e->num = t.type == TOK_TRUE;
		advance(p);
		break;
	case TOK_STR:
		e = new_node(p, EXPR_STR, t.off);
		set_string(p, e, p->lx.text + t.off, t.len);
		advance(p);
		break;
	case TOK_IDENT:
		advance(p);
		if (p->tok.type == TOK_LPAREN) {
			e = new_node(p, EXPR_CALL, t.off);
			e->name = p->lx.text + t.off;
			e->name_len = t.len;
			if (parse_items(p, e, TOK_RPAREN) < 0)
				return NULL;
			return e;
		}
		e = new_node(p, EXPR_FEATURE, t.off);
		e->name = p->lx.text + t.off;
		e->name_len = t.len;
		break;
	case TOK_LPAREN: {
		advance(p);
		e = parse_expr(p, PREC_OR);
		if (!e)
			return NULL;
		if (p->tok.type != TOK_RPAREN)
			return fail_at_token(p, "')'");
		advance(p);
		return e;
	}
	case TOK_LBRACKET:
		p->failed = 1;
		p->error(p->user, t.off, "a list [...] can only follow 'in'");
		return NULL;
	default:
		return fail_at_token(p, "a value");
	}
	e->end = p->prev_end;
	return e;
}

static struct expr *parse_prefix(struct parser *p)
{
	if (p->tok.type != TOK_NOT && p->tok.type != TOK_MINUS)
		return parse_primary(p);
	if (enter(p) < 0)
		return NULL;
	struct token t = p->tok;
	advance(p);
	struct expr *operand = t.type == TOK_NOT ? parse_expr(p, PREC_CMP) : parse_prefix(p);
	p->depth--;
	if (!operand)
		return NULL;
	struct expr *e = new_node(p, EXPR_UNARY, t.off);
	e->op = t.type;
	e->op_off = t.off;
	e->args = rules_arena_alloc(p->arena, sizeof *e->args);
	e->args[0] = operand;
	e->nargs = 1;
	e->end = operand->end;
	return e;
}

static struct expr *parse_expr(struct parser *p, int min_prec)
{
	if (enter(p) < 0)
		return NULL;
	struct expr *lhs = parse_prefix(p);
	int lhs_is_cmp = 0;
	while (lhs) {
		int prec = binary_prec(p->tok.type);
		if (prec == 0 || prec < min_prec)
			break;
		struct token op = p->tok;
		if (prec == PREC_CMP && lhs_is_cmp) {
			p->failed = 1;
			p->error(p->user, op.off, "comparisons do not chain; join them with 'and'");
			lhs = NULL;
			break;
		}
		struct expr *e = new_node(p, op.type == TOK_IN ? EXPR_IN : EXPR_BINARY, lhs->off);
		e->op = op.type;
		e->op_off = op.off;
		e->args = rules_arena_alloc(p->arena, 2 * sizeof *e->args);
		e->nargs = 2;
		e->args[0] = lhs;
		advance(p);
		if (op.type == TOK_IN) {
			if (p->tok.type != TOK_LBRACKET) {
				lhs = fail_at_token(p, "a list [...] after 'in'");
				break;
			}
			struct expr *list = new_node(p, EXPR_LIST, p->tok.off);
			if (parse_items(p, list, TOK_RBRACKET) < 0) {
				lhs = NULL;
				break;
			}
			e->args[1] = list;
		} else {
			e->args[1] = parse_expr(p, prec + 1);
			if (!e->args[1]) {
				lhs = NULL;
				break;
			}
		}
		e->end = e->args[1]->end;
		lhs = e;
		lhs_is_cmp = prec == PREC_CMP;
	}
	p->depth--;
	return lhs;
}

struct expr *rules_parse(const char *text, size_t len, struct rules_arena *arena,
                         rules_expr_error_fn *error, void *user)
{
	struct parser p = {.arena = arena, .error = error, .user = user};
	rules_lex_init(&p.lx, text, len);
	rules_lex_next(&p.lx, &p.tok);
	if (p.tok.type == TOK_EOF) {
		error(user, p.tok.off, "the condition is empty");
		return NULL;
	}
	struct expr *root = parse_expr(&p, PREC_OR);
	if (!root)
		return NULL;
	if (p.tok.type != TOK_EOF)
		return fail_at_token(&p, "an operator or the end of the condition");
	return root;
}
