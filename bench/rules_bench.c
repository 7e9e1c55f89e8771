/*
 * rules_bench.c - `make bench-rules` (bench/README-rules.md): how long riskd's rule VM takes
 * per rule evaluation, beside the same conditions run by Lua 5.4 and LuaJIT in one process.
 *
 * Flow: load a rule file with ruleset_load_paths (theft rules by default); translate each
 * rule's `when` source text to a Lua function with the small translator below, which mirrors
 * riskd's missing-value semantics; generate feature vectors from a fixed seed; evaluate every
 * (vector, rule) pair with riskd and with both Lua engines in every calling mode, and exit
 * with status 1 (printing the disagreeing cases) if any result differs from riskd's; then time
 * each mode over all vectors, several runs interleaved, and report medians as text and JSON.
 *
 * Before the shipped rules, a built-in set of conditions that uses every operator of the
 * language (division by zero, !=, not, nested booleans, min/max, boolean features) is run
 * through the same agreement check, so the translator is tested beyond what the shipped rules
 * happen to use.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../config/riskd_base.h"
#include "../rules/ruleset.h"
#include "../scoring/features.h"
#include "rules_lua.h"

#define BENCH_VECTORS_DEFAULT 100000
#define BENCH_RUNS_DEFAULT 9
#define BENCH_RUNS_MIN 5
#define BENCH_SEED_DEFAULT 20240601u
/* Each timed sample repeats its pass over the vectors until it lasts at least this long. */
#define BENCH_SAMPLE_NS 150000000.0
/* Mismatches printed before giving up. */
#define BENCH_MISMATCH_SHOW 10

/* ------------------------------------------------------------------------------------------ */
/* Translator: riskd condition text -> Lua source                                             */
/* ------------------------------------------------------------------------------------------ */

/*
 * The grammar is riskd's (rules/README.md, rules/rules_parse.c): or < and < not < comparisons
 * and `in` (not chained) < + - < * / < unary minus < primaries. The text has already been
 * accepted by riskd's checker, so the parser here only guards against crashing.
 *
 * Semantics in Lua: a missing feature is nil. A comparison (< <= > >= == != in between) is
 * emitted as "every feature its operands read is not nil, every divisor is not zero, and the
 * comparison holds": false otherwise, as in riskd. Those guards stop at boolean operands, so
 * `(a < b) == (c < d)` compares two defined booleans exactly as riskd does. A boolean feature
 * in a boolean position reads as `f == true` (missing is false). and/or/not are Lua's.
 * Numbers are emitted as floats so Lua 5.4 computes in doubles as riskd does. abs and two-
 * argument min/max are inlined (math.min/math.max for more arguments).
 */

enum tok_type {
	T_EOF, T_ERR, T_NUM, T_STR, T_IDENT, T_AND, T_OR, T_NOT, T_IN, T_TRUE, T_FALSE,
	T_PLUS, T_MINUS, T_STAR, T_SLASH, T_LT, T_LE, T_GT, T_GE, T_EQ, T_NE,
	T_LPAREN, T_RPAREN, T_LBRACKET, T_RBRACKET, T_COMMA
};

struct tok {
	enum tok_type type;
	size_t off, len;
	double num;
};

enum node_kind { N_NUM, N_BOOL, N_STR, N_FEAT, N_CALL, N_NEG, N_NOT, N_ARITH, N_CMP, N_IN,
	N_AND, N_OR };

struct node {
	enum node_kind kind;
	const char *op;                 /* N_ARITH, N_CMP: the Lua operator */
	double num;                     /* N_NUM; N_BOOL 0/1 */
	char *str;                      /* N_STR: the string; N_CALL: the function name */
	const struct feature_def *feat; /* N_FEAT */
	struct node **args;             /* operands; N_IN: the value, then the list items */
	size_t nargs;
	struct node *next_alloc;
};

struct xlat {
	const char *text;
	size_t len, pos;
	struct tok tok;
	struct node *allocs;
	int depth;
	char err[256];
	/* features read, in order of first use */
	enum feature_id reads[FEAT__COUNT];
	size_t n_reads;
	int uses_minmax_call; /* min/max with more than two arguments */
};

#define XLAT_DEPTH_MAX 64

static void xlat_fail(struct xlat *x, const char *fmt, const char *detail)
{
	if (x->err[0] == '\0')
		snprintf(x->err, sizeof x->err, fmt, detail);
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static void lex(struct xlat *x)
{
	static const struct {
		const char *word;
		enum tok_type type;
	} words[] = {{"and", T_AND}, {"or", T_OR}, {"not", T_NOT}, {"in", T_IN},
	             {"true", T_TRUE}, {"false", T_FALSE}};
	const char *s = x->text;
	size_t p = x->pos;
	while (p < x->len && (s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r'))
		p++;
	struct tok *t = &x->tok;
	memset(t, 0, sizeof *t);
	t->off = p;
	if (p >= x->len) {
		t->type = T_EOF;
		x->pos = p;
		return;
	}
	char c = s[p], next = p + 1 < x->len ? s[p + 1] : '\0';
	size_t q = p + 1;
	if (is_digit(c)) {
		char buf[64];
		q = p;
		while (q < x->len && (is_digit(s[q]) || s[q] == '.' || is_alpha(s[q]) ||
		                      ((s[q] == '+' || s[q] == '-') && (s[q - 1] == 'e' || s[q - 1] == 'E'))))
			q++;
		if (q - p >= sizeof buf) {
			t->type = T_ERR;
		} else {
			memcpy(buf, s + p, q - p);
			buf[q - p] = '\0';
			char *end;
			t->num = strtod(buf, &end);
			t->type = *end == '\0' ? T_NUM : T_ERR;
		}
	} else if (is_alpha(c)) {
		while (q < x->len && (is_alpha(s[q]) || is_digit(s[q])))
			q++;
		t->type = T_IDENT;
		for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
			if (strlen(words[i].word) == q - p && memcmp(words[i].word, s + p, q - p) == 0)
				t->type = words[i].type;
	} else if (c == '"' || c == '\'') {
		while (q < x->len && s[q] != c && s[q] != '\n')
			q += s[q] == '\\' && q + 1 < x->len ? 2 : 1;
		t->type = q < x->len && s[q] == c ? T_STR : T_ERR;
		q++;
	} else {
		int two = next == '=';
		switch (c) {
		case '+': t->type = T_PLUS; break;
		case '-': t->type = T_MINUS; break;
		case '*': t->type = T_STAR; break;
		case '/': t->type = T_SLASH; break;
		case '(': t->type = T_LPAREN; break;
		case ')': t->type = T_RPAREN; break;
		case '[': t->type = T_LBRACKET; break;
		case ']': t->type = T_RBRACKET; break;
		case ',': t->type = T_COMMA; break;
		case '<': t->type = two ? T_LE : T_LT; q += two; break;
		case '>': t->type = two ? T_GE : T_GT; q += two; break;
		case '=': t->type = two ? T_EQ : T_ERR; q += two; break;
		case '!': t->type = two ? T_NE : T_ERR; q += two; break;
		default: t->type = T_ERR; break;
		}
	}
	if (q > x->len)
		q = x->len;
	t->len = q - p;
	x->pos = q;
	if (t->type == T_ERR) {
		char shown[48];
		snprintf(shown, sizeof shown, "%.*s", (int)(t->len < 40 ? t->len : 40), s + p);
		xlat_fail(x, "cannot read '%s'", shown);
	}
}

static struct node *node_new(struct xlat *x, enum node_kind kind, size_t nargs)
{
	struct node *n = xcalloc(1, sizeof *n);
	n->kind = kind;
	n->nargs = nargs;
	n->args = nargs ? xcalloc(nargs, sizeof *n->args) : NULL;
	n->next_alloc = x->allocs;
	x->allocs = n;
	return n;
}

static void node_push_arg(struct node *n, struct node *arg)
{
	n->args = xrealloc(n->args, (n->nargs + 1) * sizeof *n->args);
	n->args[n->nargs++] = arg;
}

static void xlat_free(struct xlat *x)
{
	while (x->allocs) {
		struct node *n = x->allocs;
		x->allocs = n->next_alloc;
		free(n->args);
		free(n->str);
		free(n);
	}
}

static struct node *parse_expr(struct xlat *x, int min_prec);

enum { PREC_OR = 1, PREC_AND, PREC_CMP, PREC_ADD, PREC_MUL };

static int binary_prec(enum tok_type type)
{
	switch (type) {
	case T_OR: return PREC_OR;
	case T_AND: return PREC_AND;
	case T_LT: case T_LE: case T_GT: case T_GE: case T_EQ: case T_NE: case T_IN:
		return PREC_CMP;
	case T_PLUS: case T_MINUS: return PREC_ADD;
	case T_STAR: case T_SLASH: return PREC_MUL;
	default: return 0;
	}
}

static const char *lua_op(enum tok_type type)
{
	switch (type) {
	case T_PLUS: return "+";
	case T_MINUS: return "-";
	case T_STAR: return "*";
	case T_SLASH: return "/";
	case T_LT: return "<";
	case T_LE: return "<=";
	case T_GT: return ">";
	case T_GE: return ">=";
	case T_EQ: return "==";
	case T_NE: return "~=";
	default: return "?";
	}
}

static int expect(struct xlat *x, enum tok_type type, const char *what)
{
	if (x->tok.type != type) {
		xlat_fail(x, "expected %s", what);
		return -1;
	}
	lex(x);
	return 0;
}

/* Items of a call or a list, up to the closing token. */
static int parse_items(struct xlat *x, struct node *n, enum tok_type close)
{
	lex(x); /* the opening bracket */
	if (x->tok.type == close) {
		lex(x);
		return 0;
	}
	for (;;) {
		struct node *item = parse_expr(x, PREC_OR);
		if (!item)
			return -1;
		node_push_arg(n, item);
		if (x->tok.type == T_COMMA) {
			lex(x);
			continue;
		}
		return expect(x, close, close == T_RPAREN ? "')'" : "']'");
	}
}

static void note_read(struct xlat *x, enum feature_id id)
{
	for (size_t i = 0; i < x->n_reads; i++)
		if (x->reads[i] == id)
			return;
	x->reads[x->n_reads++] = id;
}

static char *unescape(const char *s, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t n = 0;
	for (size_t i = 1; i + 1 < len; i++) {
		char c = s[i];
		if (c == '\\' && i + 2 < len) {
			c = s[++i];
			c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	return out;
}

static struct node *parse_primary(struct xlat *x)
{
	struct tok t = x->tok;
	struct node *n;
	switch (t.type) {
	case T_NUM:
		n = node_new(x, N_NUM, 0);
		n->num = t.num;
		lex(x);
		return n;
	case T_TRUE:
	case T_FALSE:
		n = node_new(x, N_BOOL, 0);
		n->num = t.type == T_TRUE;
		lex(x);
		return n;
	case T_STR:
		n = node_new(x, N_STR, 0);
		n->str = unescape(x->text + t.off, t.len);
		lex(x);
		return n;
	case T_IDENT:
		lex(x);
		if (x->tok.type == T_LPAREN) {
			n = node_new(x, N_CALL, 0);
			n->str = xmalloc(t.len + 1);
			memcpy(n->str, x->text + t.off, t.len);
			n->str[t.len] = '\0';
			return parse_items(x, n, T_RPAREN) < 0 ? NULL : n;
		}
		n = node_new(x, N_FEAT, 0);
		n->feat = feature_lookup(x->text + t.off, t.len);
		if (!n->feat) {
			char name[64];
			snprintf(name, sizeof name, "%.*s", (int)(t.len < 60 ? t.len : 60), x->text + t.off);
			xlat_fail(x, "unknown feature '%s'", name);
			return NULL;
		}
		note_read(x, n->feat->id);
		return n;
	case T_LPAREN:
		lex(x);
		n = parse_expr(x, PREC_OR);
		if (!n || expect(x, T_RPAREN, "')'") < 0)
			return NULL;
		return n;
	default:
		xlat_fail(x, "expected a value%s", "");
		return NULL;
	}
}

static struct node *parse_prefix(struct xlat *x)
{
	enum tok_type type = x->tok.type;
	if (type != T_NOT && type != T_MINUS)
		return parse_primary(x);
	if (++x->depth > XLAT_DEPTH_MAX) {
		xlat_fail(x, "nested too deeply%s", "");
		return NULL;
	}
	lex(x);
	struct node *operand = type == T_NOT ? parse_expr(x, PREC_CMP) : parse_prefix(x);
	x->depth--;
	if (!operand)
		return NULL;
	struct node *n = node_new(x, type == T_NOT ? N_NOT : N_NEG, 1);
	n->args[0] = operand;
	return n;
}

static struct node *parse_expr(struct xlat *x, int min_prec)
{
	if (++x->depth > XLAT_DEPTH_MAX) {
		xlat_fail(x, "nested too deeply%s", "");
		return NULL;
	}
	struct node *lhs = parse_prefix(x);
	while (lhs) {
		enum tok_type type = x->tok.type;
		int prec = binary_prec(type);
		if (prec == 0 || prec < min_prec)
			break;
		lex(x);
		struct node *n;
		if (type == T_IN) {
			n = node_new(x, N_IN, 1);
			n->args[0] = lhs;
			if (x->tok.type != T_LBRACKET) {
				xlat_fail(x, "expected a list after 'in'%s", "");
				lhs = NULL;
				break;
			}
			if (parse_items(x, n, T_RBRACKET) < 0) {
				lhs = NULL;
				break;
			}
		} else {
			struct node *rhs = parse_expr(x, prec + 1);
			if (!rhs) {
				lhs = NULL;
				break;
			}
			enum node_kind kind = type == T_OR    ? N_OR
			                      : type == T_AND ? N_AND
			                      : prec == PREC_CMP ? N_CMP
			                                         : N_ARITH;
			n = node_new(x, kind, 2);
			n->op = lua_op(type);
			n->args[0] = lhs;
			n->args[1] = rhs;
		}
		lhs = n;
	}
	x->depth--;
	return lhs;
}

/* Lua spelling of a double, always a float literal (and never starting a "--" comment). */
static void emit_num(struct rbuf *out, double v)
{
	if (isnan(v)) {
		rbuf_puts(out, "(0.0/0.0)");
		return;
	}
	if (isinf(v)) {
		rbuf_puts(out, v > 0 ? "(1.0/0.0)" : "(-1.0/0.0)");
		return;
	}
	char buf[40];
	snprintf(buf, sizeof buf, "%.17g", v);
	if (!strpbrk(buf, ".e"))
		strcat(buf, ".0");
	rbuf_printf(out, "(%s)", buf);
}

static void emit_str(struct rbuf *out, const char *s)
{
	rbuf_puts(out, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			rbuf_printf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			rbuf_printf(out, "\\%03u", c);
		else
			rbuf_append(out, s, 1);
	}
	rbuf_puts(out, "\"");
}

static int is_call(const struct node *n, const char *name)
{
	return n->kind == N_CALL && strcmp(n->str, name) == 0;
}

static int emit_bool(struct xlat *x, const struct node *n, struct rbuf *out);

/* A value: number, string, boolean, or a feature's local (may be nil: callers guard). */
static int emit_value(struct xlat *x, const struct node *n, struct rbuf *out)
{
	switch (n->kind) {
	case N_NUM:
		emit_num(out, n->num);
		return 0;
	case N_BOOL:
		rbuf_puts(out, n->num != 0 ? "true" : "false");
		return 0;
	case N_STR:
		emit_str(out, n->str);
		return 0;
	case N_FEAT:
		rbuf_printf(out, "f_%s", n->feat->name);
		return 0;
	case N_NEG:
		rbuf_puts(out, "(- ");
		if (emit_value(x, n->args[0], out) < 0)
			return -1;
		rbuf_puts(out, ")");
		return 0;
	case N_ARITH:
		rbuf_puts(out, "(");
		if (emit_value(x, n->args[0], out) < 0)
			return -1;
		rbuf_printf(out, " %s ", n->op);
		if (emit_value(x, n->args[1], out) < 0)
			return -1;
		rbuf_puts(out, ")");
		return 0;
	case N_CALL:
		if (is_call(n, "abs") && n->nargs == 1) {
			/* riskd's ABS_F64; the operand is guarded, so a plain select is exact */
			struct rbuf v = {0};
			int rc = emit_value(x, n->args[0], &v);
			if (rc == 0)
				rbuf_printf(out, "(%.*s < 0 and - %.*s or %.*s)", (int)v.len, v.data, (int)v.len,
				            v.data, (int)v.len, v.data);
			rbuf_free(&v);
			return rc;
		}
		if ((is_call(n, "min") || is_call(n, "max")) && n->nargs == 2) {
			/* riskd: min keeps rhs when rhs < lhs, max when rhs > lhs */
			struct rbuf a = {0}, b = {0};
			int rc = emit_value(x, n->args[0], &a) < 0 || emit_value(x, n->args[1], &b) < 0 ? -1 : 0;
			if (rc == 0)
				rbuf_printf(out, "(%.*s %s %.*s and %.*s or %.*s)", (int)b.len, b.data,
				            is_call(n, "min") ? "<" : ">", (int)a.len, a.data, (int)b.len, b.data,
				            (int)a.len, a.data);
			rbuf_free(&a);
			rbuf_free(&b);
			return rc;
		}
		if ((is_call(n, "min") || is_call(n, "max")) && n->nargs > 2) {
			x->uses_minmax_call = 1;
			rbuf_printf(out, "math_%s(", n->str);
			for (size_t i = 0; i < n->nargs; i++) {
				if (i)
					rbuf_puts(out, ", ");
				if (emit_value(x, n->args[i], out) < 0)
					return -1;
			}
			rbuf_puts(out, ")");
			return 0;
		}
		if (is_call(n, "between"))
			break;
		xlat_fail(x, "function '%s' not translated", n->str);
		return -1;
	default:
		break;
	}
	/* a boolean used as a value: (a < b) == (c < d) */
	rbuf_puts(out, "(");
	if (emit_bool(x, n, out) < 0)
		return -1;
	rbuf_puts(out, ")");
	return 0;
}

/*
 * Appends the guards of a value: "f_x ~= nil" for every feature it reads (once each), then
 * "divisor ~= 0" for every division, inner ones first. Stops at boolean nodes.
 */
static int collect_guards(struct xlat *x, const struct node *n, struct rbuf *nils,
                          struct rbuf *divs, uint64_t *seen)
{
	switch (n->kind) {
	case N_FEAT: {
		unsigned id = (unsigned)n->feat->id;
		if (seen[id / 64] & ((uint64_t)1 << (id % 64)))
			return 0;
		seen[id / 64] |= (uint64_t)1 << (id % 64);
		rbuf_printf(nils, "%sf_%s ~= nil", nils->len ? " and " : "", n->feat->name);
		return 0;
	}
	case N_NEG:
		return collect_guards(x, n->args[0], nils, divs, seen);
	case N_ARITH:
		if (collect_guards(x, n->args[0], nils, divs, seen) < 0 ||
		    collect_guards(x, n->args[1], nils, divs, seen) < 0)
			return -1;
		if (strcmp(n->op, "/") == 0) {
			rbuf_puts(divs, divs->len ? " and " : "");
			if (emit_value(x, n->args[1], divs) < 0)
				return -1;
			rbuf_puts(divs, " ~= 0");
		}
		return 0;
	case N_CALL:
		if (is_call(n, "between"))
			return 0;
		for (size_t i = 0; i < n->nargs; i++)
			if (collect_guards(x, n->args[i], nils, divs, seen) < 0)
				return -1;
		return 0;
	default:
		return 0;
	}
}

/* A comparison: its guards and, after them, the comparison itself (core). */
static int emit_guarded(struct xlat *x, struct node *const *operands, size_t n_operands,
                        const struct rbuf *core, struct rbuf *out)
{
	struct rbuf nils = {0}, divs = {0};
	uint64_t seen[(FEAT__COUNT + 63) / 64] = {0};
	int rc = 0;
	for (size_t i = 0; i < n_operands && rc == 0; i++)
		rc = collect_guards(x, operands[i], &nils, &divs, seen);
	if (rc == 0) {
		rbuf_puts(out, "(");
		if (nils.len)
			rbuf_printf(out, "%.*s and ", (int)nils.len, nils.data);
		if (divs.len)
			rbuf_printf(out, "%.*s and ", (int)divs.len, divs.data);
		rbuf_append(out, core->data, core->len);
		rbuf_puts(out, ")");
	}
	rbuf_free(&nils);
	rbuf_free(&divs);
	return rc;
}

/* A condition: an expression that is true or false (never nil). */
static int emit_bool(struct xlat *x, const struct node *n, struct rbuf *out)
{
	struct rbuf core = {0};
	int rc = 0;
	switch (n->kind) {
	case N_AND:
	case N_OR:
		rbuf_puts(out, "(");
		if (emit_bool(x, n->args[0], out) < 0)
			return -1;
		rbuf_puts(out, n->kind == N_AND ? " and " : " or ");
		if (emit_bool(x, n->args[1], out) < 0)
			return -1;
		rbuf_puts(out, ")");
		return 0;
	case N_NOT:
		rbuf_puts(out, "(not ");
		if (emit_bool(x, n->args[0], out) < 0)
			return -1;
		rbuf_puts(out, ")");
		return 0;
	case N_BOOL:
		rbuf_puts(out, n->num != 0 ? "true" : "false");
		return 0;
	case N_FEAT:
		if (n->feat->type != FEATURE_BOOL) {
			xlat_fail(x, "feature '%s' is not a condition", n->feat->name);
			return -1;
		}
		rbuf_printf(out, "(f_%s == true)", n->feat->name);
		return 0;
	case N_CMP:
		rbuf_puts(&core, "(");
		rc = emit_value(x, n->args[0], &core);
		rbuf_printf(&core, " %s ", n->op);
		if (rc == 0)
			rc = emit_value(x, n->args[1], &core);
		rbuf_puts(&core, ")");
		if (rc == 0)
			rc = emit_guarded(x, n->args, 2, &core, out);
		break;
	case N_IN: {
		struct rbuf value = {0};
		rc = emit_value(x, n->args[0], &value);
		rbuf_puts(&core, "(");
		for (size_t i = 1; i < n->nargs && rc == 0; i++) {
			rbuf_printf(&core, "%s%.*s == ", i > 1 ? " or " : "", (int)value.len, value.data);
			rc = emit_value(x, n->args[i], &core);
		}
		rbuf_puts(&core, n->nargs > 1 ? ")" : "false)");
		rbuf_free(&value);
		if (rc == 0)
			rc = emit_guarded(x, n->args, n->nargs, &core, out);
		break;
	}
	case N_CALL:
		if (is_call(n, "between") && n->nargs == 3) {
			struct rbuf v = {0}, lo = {0}, hi = {0};
			rc = emit_value(x, n->args[0], &v) < 0 || emit_value(x, n->args[1], &lo) < 0 ||
			             emit_value(x, n->args[2], &hi) < 0
			         ? -1
			         : 0;
			rbuf_printf(&core, "(%.*s <= %.*s and %.*s <= %.*s)", (int)lo.len, lo.data, (int)v.len,
			            v.data, (int)v.len, v.data, (int)hi.len, hi.data);
			rbuf_free(&v);
			rbuf_free(&lo);
			rbuf_free(&hi);
			if (rc == 0)
				rc = emit_guarded(x, n->args, 3, &core, out);
			break;
		}
		xlat_fail(x, "'%s(...)' is not a condition", n->str);
		rc = -1;
		break;
	default:
		xlat_fail(x, "a value is not a condition%s", "");
		rc = -1;
		break;
	}
	rbuf_free(&core);
	return rc;
}

/* One translated rule: its condition as a Lua expression and the features it reads. */
struct lua_rule {
	char *expr;
	enum feature_id reads[FEAT__COUNT];
	size_t n_reads;
	int uses_minmax_call;
};

/* Translates riskd condition text. Returns 0, or -1 with a message in errstr. */
static int translate_when(const char *when, struct lua_rule *out, char *errstr,
                          size_t errstr_size)
{
	struct xlat x = {.text = when, .len = strlen(when)};
	struct rbuf expr = {0};
	int rc = -1;
	lex(&x);
	struct node *root = parse_expr(&x, PREC_OR);
	if (root && x.tok.type != T_EOF)
		xlat_fail(&x, "unexpected text after the condition%s", "");
	if (root && x.err[0] == '\0' && emit_bool(&x, root, &expr) == 0 && x.err[0] == '\0') {
		rbuf_append(&expr, "", 1);
		out->expr = expr.data;
		expr.data = NULL;
		memcpy(out->reads, x.reads, x.n_reads * sizeof *x.reads);
		out->n_reads = x.n_reads;
		out->uses_minmax_call = x.uses_minmax_call;
		rc = 0;
	} else {
		snprintf(errstr, errstr_size, "%s", x.err[0] ? x.err : "cannot translate");
	}
	rbuf_free(&expr);
	xlat_free(&x);
	return rc;
}

static void emit_locals(struct rbuf *out, const char *indent, const enum feature_id *reads,
                        size_t n_reads)
{
	for (size_t i = 0; i < n_reads; i++) {
		const char *name = feature_def(reads[i])->name;
		rbuf_printf(out, "%slocal f_%s = fv[\"%s\"]\n", indent, name, name);
	}
}

static const char minmax_prelude[] = "local math_min, math_max = math.min, math.max\n";

/* "return function(fv) ... end" for one rule; NUL-terminated in out. */
static void chunk_rule(struct rbuf *out, const char *id, const struct lua_rule *lr)
{
	rbuf_printf(out, "-- rule %s\n%s", id, lr->uses_minmax_call ? minmax_prelude : "");
	rbuf_puts(out, "return function(fv)\n");
	emit_locals(out, "  ", lr->reads, lr->n_reads);
	rbuf_printf(out, "  return %s\nend\n", lr->expr);
	rbuf_append(out, "", 1);
}

/*
 * One function for every rule, returning one number per RULES_LUA_MASK_BITS rules with bit
 * (r % RULES_LUA_MASK_BITS) set when rule r fires (bench/rules_lua.h). Each rule is a block
 * of its own with its features in block locals: few values live at once, which LuaJIT's trace
 * compiler needs (with every feature hoisted and one boolean returned per rule, its side
 * traces abort on "register coalescing too complex" and the function runs interpreted).
 */
static void chunk_all(struct rbuf *out, const struct lua_rule *lrs, size_t n)
{
	size_t groups = (n + RULES_LUA_MASK_BITS - 1) / RULES_LUA_MASK_BITS;
	int minmax = 0;
	for (size_t i = 0; i < n; i++)
		minmax |= lrs[i].uses_minmax_call;
	rbuf_printf(out, "-- all rules\n%sreturn function(fv)\n", minmax ? minmax_prelude : "");
	for (size_t g = 0; g < groups; g++)
		rbuf_printf(out, "  local m%zu = 0\n", g);
	for (size_t i = 0; i < n; i++) {
		rbuf_puts(out, "  do\n");
		emit_locals(out, "    ", lrs[i].reads, lrs[i].n_reads);
		rbuf_printf(out, "    if %s then m%zu = m%zu + %lu end\n  end\n", lrs[i].expr,
		            i / RULES_LUA_MASK_BITS, i / RULES_LUA_MASK_BITS,
		            1ul << (i % RULES_LUA_MASK_BITS));
	}
	rbuf_puts(out, "  return ");
	for (size_t g = 0; g < groups; g++)
		rbuf_printf(out, "%sm%zu", g ? ", " : "", g);
	rbuf_puts(out, "\nend\n");
	rbuf_append(out, "", 1);
}

/* ------------------------------------------------------------------------------------------ */
/* Feature vectors                                                                            */
/* ------------------------------------------------------------------------------------------ */

/* splitmix64: small, fast, and the same sequence everywhere for one seed. */
struct rng {
	uint64_t state;
};

static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static double rng_uniform(struct rng *r, double lo, double hi)
{
	return lo + (hi - lo) * rng_unit(r);
}

static int rng_chance(struct rng *r, double p)
{
	return rng_unit(r) < p;
}

static double rng_normal(struct rng *r)
{
	double u = rng_unit(r), v = rng_unit(r);
	return sqrt(-2.0 * log(u + 0x1.0p-60)) * cos(6.283185307179586 * v);
}

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

enum pattern { P_NORMAL, P_DROP, P_ZERO_RUN, P_INTERMITTENT, P_FLAT, P_TAMPER, P_REVERSE,
	P_NIGHT_SHIFT, P_SHARP_DAY };

static enum pattern pick_pattern(struct rng *r)
{
	static const struct {
		double upto;
		enum pattern p;
	} mix[] = {{0.06, P_DROP},  {0.08, P_ZERO_RUN},    {0.10, P_INTERMITTENT},
	           {0.12, P_FLAT},  {0.14, P_TAMPER},      {0.155, P_REVERSE},
	           {0.175, P_NIGHT_SHIFT}, {0.19, P_SHARP_DAY}};
	double u = rng_unit(r);
	for (size_t i = 0; i < sizeof mix / sizeof mix[0]; i++)
		if (u < mix[i].upto)
			return mix[i].p;
	return P_NORMAL;
}

/*
 * One customer's theft features, as riskd's models would leave them: mostly ordinary
 * customers, about a fifth showing one theft pattern (a drop, zero or flat runs, tamper
 * events, reverse energy, a night-use shift, a sharp day drop), and features missing where
 * the models could not know them yet: a young customer has no averages or baseline, one
 * without interval data no night/peak/flat features, one outside a balanced area no area
 * features, one without a profile no segment; and about 2% of the rest missing at random.
 */
static void vector_generate(struct rng *r, struct feature_vec *fv)
{
	static const double segment_level[] = {8, 60, 400, 20}; /* kWh/day by segment code */
	feature_vec_clear(fv);
	enum pattern p = pick_pattern(r);
	double days = rng_chance(r, 0.08) ? floor(rng_uniform(r, 0, 30)) : floor(rng_uniform(r, 30, 1100));
	double u = rng_unit(r);
	int segment = u < 0.70 ? 0 : u < 0.88 ? 1 : u < 0.93 ? 2 : u < 0.97 ? 3 : -1;
	double level = segment >= 0 ? segment_level[segment] : 10;
	double baseline = level * exp(0.5 * rng_normal(r));
	int interval = rng_chance(r, 0.75), area = rng_chance(r, 0.7);

	double drop = rng_normal(r) * 0.08;
	if (p == P_DROP)
		drop = rng_uniform(r, 0.25, 0.95);
	else if (p == P_TAMPER && rng_chance(r, 0.6))
		drop = rng_uniform(r, 0.2, 0.8);
	else if (p == P_SHARP_DAY)
		drop = rng_uniform(r, 0, 0.3);
	int signalled = drop >= 0.25 && (p == P_DROP || p == P_TAMPER);
	double drop_days = signalled ? floor(rng_uniform(r, 1, 60)) : 0;
	double cusum = signalled ? rng_uniform(r, 4, 7.5) : clamp(fabs(rng_normal(r)) * 1.5, 0, 7.5);
	if (p == P_SHARP_DAY)
		baseline = fmax(baseline, rng_uniform(r, 20, 250));
	double avg14 = baseline * (1 - drop);
	double avg7 = avg14 * (1 + 0.1 * rng_normal(r));
	double kwh_day = fmax(0, avg14 * (1 + 0.2 * rng_normal(r)));
	double zscore = rng_normal(r) * 1.2;
	if (p == P_SHARP_DAY) {
		kwh_day = baseline * rng_uniform(r, 0, 0.2);
		zscore = rng_uniform(r, -9, -3.5);
	}
	double zero_run = rng_chance(r, 0.05) ? 1 : 0, zero_days = floor(rng_uniform(r, 0, 3));
	if (p == P_ZERO_RUN) {
		zero_run = floor(rng_uniform(r, 1, 30));
		zero_days = fmin(30, zero_run + floor(rng_uniform(r, 0, 5)));
		kwh_day = 0;
	} else if (p == P_INTERMITTENT) {
		zero_run = floor(rng_uniform(r, 0, 8));
		zero_days = floor(rng_uniform(r, 4, 20));
	}
	double flat_run = p == P_FLAT ? floor(rng_uniform(r, 1, 15)) : rng_chance(r, 0.1) ? 1 : 0;
	if (p == P_DROP && rng_chance(r, 0.3)) { /* a drop with a stuck or bypassed meter */
		if (rng_chance(r, 0.5))
			zero_run = floor(rng_uniform(r, 3, 10));
		else
			flat_run = floor(rng_uniform(r, 3, 10));
	}
	double night = rng_uniform(r, 0.1, 0.45), night_change = rng_normal(r) * 0.05;
	if (p == P_NIGHT_SHIFT)
		night_change = (rng_chance(r, 0.5) ? 1 : -1) * rng_uniform(r, 0.1, 0.5);
	double reverse = p == P_REVERSE ? rng_uniform(r, 1, 40)
	                 : rng_chance(r, 0.02) ? rng_uniform(r, 0, 3) : 0;
	double tamper = p == P_TAMPER ? floor(rng_uniform(r, 1, 6)) : rng_chance(r, 0.01) ? 1 : 0;

	feature_set(fv, FEAT_DAYS_OBSERVED, days);
	if (segment >= 0)
		feature_set(fv, FEAT_SEGMENT, segment);
	if (days >= 1) {
		feature_set(fv, FEAT_KWH_DAY, kwh_day);
		feature_set(fv, FEAT_ZERO_RUN_DAYS, zero_run);
		feature_set(fv, FEAT_ZERO_DAYS_30D, fmin(zero_days, days));
		feature_set(fv, FEAT_REVERSE_KWH_30D, reverse);
		feature_set(fv, FEAT_TAMPER_EVENTS_30D, tamper);
	}
	if (days >= 5)
		feature_set(fv, FEAT_KWH_AVG_7D, avg7);
	if (days >= 10)
		feature_set(fv, FEAT_KWH_AVG_14D, avg14);
	if (days >= 14) {
		feature_set(fv, FEAT_BASELINE_KWH_DAY, baseline);
		feature_set(fv, FEAT_ZSCORE_DAY, zscore);
		feature_set(fv, FEAT_DROP_RATIO_14D, drop);
		feature_set(fv, FEAT_CUSUM_DROP, cusum);
		feature_set(fv, FEAT_DROP_DAYS, drop_days);
		if (segment >= 0)
			feature_set(fv, FEAT_PEER_RATIO, avg14 / segment_level[segment]);
	}
	if (interval && days >= 1) {
		feature_set(fv, FEAT_FLAT_RUN_DAYS, flat_run);
		feature_set(fv, FEAT_NIGHT_RATIO, night);
		feature_set(fv, FEAT_NIGHT_RATIO_CHANGE, night_change);
		feature_set(fv, FEAT_PEAK_RATIO, rng_uniform(r, 1.5, 6));
		feature_set(fv, FEAT_PEAK_RATIO_CHANGE, rng_normal(r) * 0.3);
	}
	if (tamper > 0)
		feature_set(fv, FEAT_DAYS_SINCE_TAMPER, floor(rng_uniform(r, 0, 30)));
	else if (rng_chance(r, 0.1))
		feature_set(fv, FEAT_DAYS_SINCE_TAMPER, floor(rng_uniform(r, 31, 400)));
	if (tamper > 0 && drop_days > 0)
		feature_set(fv, FEAT_TAMPER_DROP_GAP_DAYS, floor(rng_uniform(r, 0, 30)));
	if (area) {
		double excess = rng_normal(r) * 0.03;
		if ((p == P_DROP || p == P_TAMPER) && rng_chance(r, 0.5))
			excess = rng_uniform(r, 0.03, 0.15);
		feature_set(fv, FEAT_AREA_LOSS_RATE, rng_uniform(r, 0.02, 0.2));
		feature_set(fv, FEAT_AREA_LOSS_EXCESS, excess);
		feature_set(fv, FEAT_AREA_SUSPECT_SHARE, rng_uniform(r, 0, 0.7));
	}
	u = rng_unit(r);
	if (u < 0.01)
		feature_set(fv, FEAT_CONFIRMED_THEFT, 1);
	else if (u < 0.2)
		feature_set(fv, FEAT_CONFIRMED_THEFT, 0);
	/* gaps: a feature the models could not compute this time */
	for (int id = 0; id < FEAT__COUNT; id++)
		if (feature_known(fv, (enum feature_id)id) && rng_chance(r, 0.02))
			feature_unset(fv, (enum feature_id)id);
}

/* ------------------------------------------------------------------------------------------ */
/* Engines, modes and the agreement check                                                     */
/* ------------------------------------------------------------------------------------------ */

struct bench {
	const struct ruleset *rs;
	size_t n_rules;
	const struct feature_vec *fvs;
	size_t n_vectors;
	struct rules_lua *lua[2]; /* [0] Lua 5.4, [1] LuaJIT */
	char errstr[512];
};

static const struct rules_lua_engine *const engines[2] = {&rules_lua54_engine,
                                                          &rules_luajit_engine};

enum mode_kind { MODE_RISKD_RULE, MODE_RISKD_VECTOR, MODE_LUA_RULE, MODE_LUA_VECTOR,
	MODE_LUA_MARSHAL };

struct mode {
	const char *key;  /* JSON key */
	const char *text; /* report line */
	enum mode_kind kind;
	int engine;       /* Lua modes: index into engines[] */
};

static const struct mode modes[] = {
	{"riskd_per_rule", "riskd VM, one call per rule (ruleset_rule_eval)", MODE_RISKD_RULE, -1},
	{"lua54_per_rule", "Lua 5.4, one lua_pcall per rule", MODE_LUA_RULE, 0},
	{"luajit_per_rule", "LuaJIT, one lua_pcall per rule", MODE_LUA_RULE, 1},
	{"riskd_per_vector", "riskd VM, one call per vector (ruleset_eval)", MODE_RISKD_VECTOR, -1},
	{"lua54_per_vector", "Lua 5.4, one lua_pcall per vector", MODE_LUA_VECTOR, 0},
	{"luajit_per_vector", "LuaJIT, one lua_pcall per vector", MODE_LUA_VECTOR, 1},
	{"lua54_per_vector_marshal", "Lua 5.4, per vector, table filled from the C vector",
	 MODE_LUA_MARSHAL, 0},
	{"luajit_per_vector_marshal", "LuaJIT, per vector, table filled from the C vector",
	 MODE_LUA_MARSHAL, 1},
};
#define N_MODES (sizeof modes / sizeof modes[0])

/* One pass of a mode over every vector; out (n_vectors * n_rules) gets each result when not
 * NULL. Returns the fired count, or -1 with b->errstr set. */
static long mode_run(struct bench *b, const struct mode *m, uint8_t *out)
{
	long fired = 0;
	const size_t n_rules = b->n_rules;
	switch (m->kind) {
	case MODE_RISKD_RULE:
		for (size_t v = 0; v < b->n_vectors; v++)
			for (size_t r = 0; r < n_rules; r++) {
				int hit = ruleset_rule_eval(b->rs, r, &b->fvs[v], NULL);
				fired += hit;
				if (out)
					out[v * n_rules + r] = (uint8_t)hit;
			}
		return fired;
	case MODE_RISKD_VECTOR: {
		static struct rule_hits hits;
		for (size_t v = 0; v < b->n_vectors; v++) {
			fired += ruleset_eval(b->rs, &b->fvs[v], &hits);
			if (out) {
				memset(out + v * n_rules, 0, n_rules);
				for (size_t i = 0; i < hits.n_fired; i++)
					out[v * n_rules + hits.fired[i]] = 1;
			}
		}
		return fired;
	}
	case MODE_LUA_RULE:
		return engines[m->engine]->run_rules(b->lua[m->engine], out, b->errstr, sizeof b->errstr);
	case MODE_LUA_VECTOR:
		return engines[m->engine]->run_vectors(b->lua[m->engine], out, b->errstr,
		                                       sizeof b->errstr);
	case MODE_LUA_MARSHAL:
		return engines[m->engine]->run_marshal(b->lua[m->engine], b->fvs, b->n_vectors, out,
		                                       b->errstr, sizeof b->errstr);
	}
	return -1;
}

/* Prints the values a rule reads on one vector, for a mismatch report. */
static void print_reads(const struct lua_rule *lr, const struct feature_vec *fv)
{
	for (size_t i = 0; i < lr->n_reads; i++) {
		enum feature_id id = lr->reads[i];
		if (feature_known(fv, id))
			fprintf(stderr, "      %s = %.17g\n", feature_def(id)->name, fv->value[id]);
		else
			fprintf(stderr, "      %s missing\n", feature_def(id)->name);
	}
}

/*
 * Evaluates every (vector, rule) pair in every mode and compares with riskd's per-rule result.
 * Fills fired_per_rule (riskd's counts) when not NULL. Returns 0 when everything agrees, -1
 * after printing the first mismatches (or an engine error) to stderr.
 */
static int check_agreement(struct bench *b, const struct lua_rule *lrs, const char *label,
                           size_t *fired_per_rule)
{
	size_t cells = b->n_vectors * b->n_rules;
	uint8_t *ref = xmalloc(cells ? cells : 1), *got = xmalloc(cells ? cells : 1);
	int rc = 0;
	if (mode_run(b, &modes[0], ref) < 0) {
		fprintf(stderr, "bench-rules: %s\n", b->errstr);
		rc = -1;
	}
	for (size_t m = 1; m < N_MODES && rc == 0; m++) {
		if (mode_run(b, &modes[m], got) < 0) {
			fprintf(stderr, "bench-rules: %s: %s: %s\n", label, modes[m].key, b->errstr);
			rc = -1;
			break;
		}
		size_t shown = 0, bad = 0;
		for (size_t i = 0; i < cells; i++) {
			if (ref[i] == got[i])
				continue;
			bad++;
			if (shown++ >= BENCH_MISMATCH_SHOW)
				continue;
			size_t v = i / b->n_rules, r = i % b->n_rules;
			const struct rule_info *info = ruleset_rule(b->rs, r);
			size_t when_len = strlen(info->when);
			while (when_len > 0 && strchr(" \t\r\n", info->when[when_len - 1]))
				when_len--;
			fprintf(stderr,
			        "bench-rules: MISMATCH (%s) vector %zu rule %s: riskd %s, %s %s\n"
			        "    when: %.*s\n    lua:  %s\n    features:\n",
			        label, v, info->id, ref[i] ? "fires" : "quiet", modes[m].key,
			        got[i] ? "fires" : "quiet", (int)when_len, info->when, lrs[r].expr);
			print_reads(&lrs[r], &b->fvs[v]);
		}
		if (bad) {
			fprintf(stderr, "bench-rules: %s: %zu of %zu results of %s differ from riskd's\n",
			        label, bad, cells, modes[m].key);
			rc = -1;
		}
	}
	if (fired_per_rule && rc == 0) {
		memset(fired_per_rule, 0, b->n_rules * sizeof *fired_per_rule);
		for (size_t i = 0; i < cells; i++)
			fired_per_rule[i % b->n_rules] += ref[i];
	}
	free(ref);
	free(got);
	return rc;
}

/* A rule set translated to Lua: one chunk per rule, one for all rules, the features read. */
struct translated {
	struct lua_rule *lrs;
	size_t n;
	char *all_chunk;
	char **rule_chunks;
	enum feature_id reads[FEAT__COUNT];
	size_t n_reads;
};

static void translated_free(struct translated *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->lrs[i].expr);
		free(t->rule_chunks[i]);
	}
	free(t->lrs);
	free(t->rule_chunks);
	free(t->all_chunk);
	memset(t, 0, sizeof *t);
}

static double clock_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static double cpu_ns(void)
{
	return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

/* Translates every rule of rs to Lua source. */
static int translate_set(const struct ruleset *rs, struct translated *t)
{
	size_t n = ruleset_rule_count(rs);
	t->n = n;
	t->lrs = xcalloc(n ? n : 1, sizeof *t->lrs);
	t->rule_chunks = xcalloc(n ? n : 1, sizeof *t->rule_chunks);
	t->n_reads = 0;
	for (size_t i = 0; i < n; i++) {
		const struct rule_info *info = ruleset_rule(rs, i);
		char err[256];
		if (translate_when(info->when, &t->lrs[i], err, sizeof err) < 0) {
			fprintf(stderr, "bench-rules: rule %s (%s:%d): cannot translate to Lua: %s\n",
			        info->id, info->path, info->line, err);
			return -1;
		}
		for (size_t k = 0; k < t->lrs[i].n_reads; k++) {
			size_t j = 0;
			while (j < t->n_reads && t->reads[j] != t->lrs[i].reads[k])
				j++;
			if (j == t->n_reads)
				t->reads[t->n_reads++] = t->lrs[i].reads[k];
		}
		struct rbuf chunk = {0};
		chunk_rule(&chunk, info->id, &t->lrs[i]);
		t->rule_chunks[i] = chunk.data;
	}
	struct rbuf all = {0};
	chunk_all(&all, t->lrs, n);
	t->all_chunk = all.data;
	return 0;
}

/* Compiles a translated set into both engines (replacing what they held); stores each
 * engine's compile time in ns in compile_ns when not NULL. */
static int compile_set(struct bench *b, const struct translated *t, double *compile_ns)
{
	for (int e = 0; e < 2; e++) {
		double t0 = now_ns();
		if (engines[e]->compile(b->lua[e], (const char *const *)t->rule_chunks, t->n,
		                        t->all_chunk, t->reads, t->n_reads, b->errstr,
		                        sizeof b->errstr) < 0) {
			fprintf(stderr, "bench-rules: %s\n", b->errstr);
			return -1;
		}
		if (compile_ns)
			compile_ns[e] = now_ns() - t0;
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Self-check: every operator of the language, through riskd and both Lua engines             */
/* ------------------------------------------------------------------------------------------ */

static const char *const selfcheck_whens[] = {
	"kwh_day / (baseline_kwh_day - baseline_kwh_day) > 1",
	"kwh_day / zero_run_days >= 1",
	"baseline_kwh_day / (kwh_day / zero_run_days) < 100",
	"segment != \"industrial\"",
	"not (segment == \"industrial\")",
	"not segment == 'industrial' and days_observed > 100",
	"peer_ratio != 1 and drop_days != 0",
	"night_ratio == peak_ratio or night_ratio != peak_ratio",
	"min(kwh_day, kwh_avg_7d, kwh_avg_14d) < 0.5 * max(kwh_day, baseline_kwh_day)",
	"min(kwh_day, kwh_avg_7d) <= max(kwh_avg_14d, 3)",
	"-zscore_day >= 2 or abs(peak_ratio_change) > 0.4",
	"- - zscore_day < -1.5",
	"drop_days in [0, 7, 14, 21] and zero_days_30d in [1, 2]",
	"segment in [\"agricultural\"] or segment == 'commercial'",
	"(drop_ratio_14d > 0.05) == (cusum_drop > 1)",
	"(drop_ratio_14d > 0.05) != (peer_ratio < 0.9)",
	"between(drop_ratio_14d * 100, 10, 50 + drop_days)",
	"not between(zscore_day, -1, 1)",
	"confirmed_theft",
	"not confirmed_theft",
	"confirmed_theft == false",
	"confirmed_theft != true or days_observed < 40",
	"confirmed_theft and drop_days > 3 or tamper_events_30d >= 1",
	"1 + 2 * 3 - 4 / 2 > kwh_day - -1",
	"kwh_day * 2 - kwh_avg_7d / 2 >= baseline_kwh_day * (1 - 0.25)",
	"days_observed > 30 and true",
	"false or reverse_kwh_30d > 0",
	"abs(night_ratio_change) * 10 >= abs(peak_ratio_change) + 1e-1",
	"max(area_loss_excess, area_loss_rate - 0.1) > 0.02 and not (area_suspect_share < 0.2)",
};

/* Builds a theft rule file with one rule per condition. */
static void selfcheck_yaml(struct rbuf *out)
{
	rbuf_puts(out, "ruleset: bench-selfcheck\nversion: \"1\"\nkind: theft\n"
	               "thresholds:\n  alert: 50\nrules:\n");
	for (size_t i = 0; i < sizeof selfcheck_whens / sizeof selfcheck_whens[0]; i++)
		rbuf_printf(out,
		            "  - id: check_%zu\n    title: self-check %zu\n    when: |\n      %s\n"
		            "    score: 1\n    severity: low\n",
		            i, i, selfcheck_whens[i]);
}

static int selfcheck_run(struct bench *b)
{
	struct rbuf yaml = {0};
	struct rules_diags diags = {0};
	struct ruleset *rs = NULL;
	struct translated t = {0};
	int rc = -1;
	selfcheck_yaml(&yaml);
	if (ruleset_load_text("<bench self-check>", yaml.data, yaml.len, RULE_KIND_THEFT, &rs,
	                      &diags) < 0) {
		struct rbuf text = {0};
		rules_diags_render(&diags, &text);
		fprintf(stderr, "bench-rules: the self-check conditions do not load:\n%.*s",
		        (int)text.len, text.data);
		rbuf_free(&text);
		goto done;
	}
	const struct ruleset *saved = b->rs;
	size_t saved_n = b->n_rules;
	b->rs = rs;
	b->n_rules = ruleset_rule_count(rs);
	if (translate_set(rs, &t) == 0 && compile_set(b, &t, NULL) == 0 &&
	    check_agreement(b, t.lrs, "self-check", NULL) == 0)
		rc = 0;
	b->rs = saved;
	b->n_rules = saved_n;
done:
	translated_free(&t);
	ruleset_free(rs);
	rules_diags_free(&diags);
	rbuf_free(&yaml);
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Timing and the report                                                                      */
/* ------------------------------------------------------------------------------------------ */

struct stats {
	double median, min, max;
};

/*
 * One mode's samples, in ns per rule evaluation: cpu from the thread's CPU clock (the
 * figure reported: time this thread ran, unaffected by other processes taking the core), wall
 * from the monotonic clock (kept in the JSON to show how busy the machine was).
 */
struct timing {
	double *cpu;
	double *wall;
	unsigned reps;
	struct stats cpu_stats, wall_stats;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static struct stats stats_of(const double *samples, unsigned runs)
{
	double *sorted = xmalloc(runs * sizeof *sorted);
	memcpy(sorted, samples, runs * sizeof *sorted);
	qsort(sorted, runs, sizeof *sorted, cmp_double);
	struct stats st = {
		.median = runs % 2 ? sorted[runs / 2] : (sorted[runs / 2 - 1] + sorted[runs / 2]) / 2,
		.min = sorted[0],
		.max = sorted[runs - 1],
	};
	free(sorted);
	return st;
}

static void read_first_line(const char *path, const char *prefix, char *out, size_t out_size)
{
	out[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, prefix, strlen(prefix)) != 0)
			continue;
		const char *v = strchr(line, ':');
		v = v ? v + 1 : line;
		while (*v == ' ' || *v == '\t')
			v++;
		(void)riskd_strlcpy(out, out_size, v, strlen(v));
		out[strcspn(out, "\n")] = '\0';
		break;
	}
	fclose(f);
}

struct options {
	const char *rules_path;
	const char *json_path;
	size_t n_vectors;
	unsigned runs;
	uint64_t seed;
	int print_lua;
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: rules_bench [--rules PATH] [--vectors N] [--runs N] [--seed N]\n"
	        "                   [--json PATH] [--print-lua]\n"
	        "  --rules PATH   theft rule file or directory (default rules/theft.yaml)\n"
	        "  --vectors N    feature vectors (default %d)\n"
	        "  --runs N       timed runs per mode, at least %d (default %d)\n"
	        "  --seed N       vector generator seed (default %u)\n"
	        "  --json PATH    write the results there (default bench/rules_results.json)\n"
	        "  --print-lua    print the Lua the rules translate to, then exit\n",
	        BENCH_VECTORS_DEFAULT, BENCH_RUNS_MIN, BENCH_RUNS_DEFAULT, BENCH_SEED_DEFAULT);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end != '\0' || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	*o = (struct options){.rules_path = "rules/theft.yaml",
	                      .json_path = "bench/rules_results.json",
	                      .n_vectors = BENCH_VECTORS_DEFAULT,
	                      .runs = BENCH_RUNS_DEFAULT,
	                      .seed = BENCH_SEED_DEFAULT};
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;
		if (strcmp(arg, "--print-lua") == 0) {
			o->print_lua = 1;
			continue;
		}
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			usage(stdout);
			exit(0);
		}
		if (!val) {
			fprintf(stderr, "rules_bench: %s needs a value\n", arg);
			return -1;
		}
		i++;
		if (strcmp(arg, "--rules") == 0) {
			o->rules_path = val;
		} else if (strcmp(arg, "--json") == 0) {
			o->json_path = val;
		} else if (strcmp(arg, "--vectors") == 0 && parse_u64(val, &n) == 0 && n >= 1 &&
		           n <= 10000000) {
			o->n_vectors = (size_t)n;
		} else if (strcmp(arg, "--runs") == 0 && parse_u64(val, &n) == 0 && n >= BENCH_RUNS_MIN &&
		           n <= 1000) {
			o->runs = (unsigned)n;
		} else if (strcmp(arg, "--seed") == 0 && parse_u64(val, &n) == 0) {
			o->seed = n;
		} else {
			fprintf(stderr, "rules_bench: bad option or value: %s %s\n", arg, val);
			usage(stderr);
			return -1;
		}
	}
	return 0;
}

static json_t *timing_json(const struct timing *t, unsigned runs)
{
	json_t *cpu = json_array(), *wall = json_array();
	for (unsigned i = 0; i < runs; i++) {
		json_array_append_new(cpu, json_real(t->cpu[i]));
		json_array_append_new(wall, json_real(t->wall[i]));
	}
	return json_pack("{s:f, s:f, s:f, s:I, s:o, s:{s:f, s:f, s:f, s:o}}", "median",
	                 t->cpu_stats.median, "min", t->cpu_stats.min, "max", t->cpu_stats.max,
	                 "passes_per_run", (json_int_t)t->reps, "runs", cpu, "wall_clock", "median",
	                 t->wall_stats.median, "min", t->wall_stats.min, "max", t->wall_stats.max,
	                 "runs", wall);
}

int main(int argc, char **argv)
{
	struct options opt;
	struct bench b = {0};
	struct ruleset *rs = NULL;
	struct rules_diags diags = {0};
	struct feature_vec *fvs = NULL;
	struct translated t = {0};
	struct timing timings[N_MODES] = {{0}};
	size_t *fired_per_rule = NULL;
	json_t *doc = NULL;
	int status = 1;

	if (parse_options(argc, argv, &opt) < 0)
		return 2;

	double t0 = now_ns();
	if (ruleset_load_paths(&opt.rules_path, 1, RULE_KIND_THEFT, &rs, &diags) < 0) {
		struct rbuf text = {0};
		rules_diags_render(&diags, &text);
		fprintf(stderr, "bench-rules: %s does not load:\n%.*s", opt.rules_path, (int)text.len,
		        text.data);
		rbuf_free(&text);
		goto done;
	}
	double riskd_compile_ns = now_ns() - t0;
	b.rs = rs;
	b.n_rules = ruleset_rule_count(rs);
	if (b.n_rules == 0) {
		fprintf(stderr, "bench-rules: %s has no theft rules\n", opt.rules_path);
		goto done;
	}

	for (int e = 0; e < 2; e++) {
		b.lua[e] = engines[e]->open(b.errstr, sizeof b.errstr);
		if (!b.lua[e]) {
			fprintf(stderr, "bench-rules: %s\n", b.errstr);
			goto done;
		}
	}
	double lua_compile_ns[2] = {0};
	if (translate_set(rs, &t) < 0)
		goto done;
	if (opt.print_lua) {
		for (size_t i = 0; i < t.n; i++)
			printf("%s\n", t.rule_chunks[i]);
		printf("%s", t.all_chunk);
		status = 0;
		goto done;
	}

	printf("bench-rules: %s (%s %s, %zu rules), %zu vectors, seed %" PRIu64 "\n",
	       opt.rules_path, ruleset_name(rs), ruleset_version(rs), b.n_rules, opt.n_vectors,
	       opt.seed);
	fflush(stdout);
	fvs = xmalloc(opt.n_vectors * sizeof *fvs);
	struct rng rng = {opt.seed};
	size_t known = 0;
	for (size_t v = 0; v < opt.n_vectors; v++) {
		vector_generate(&rng, &fvs[v]);
		for (size_t i = 0; i < t.n_reads; i++)
			known += (size_t)feature_known(&fvs[v], t.reads[i]);
	}
	b.fvs = fvs;
	b.n_vectors = opt.n_vectors;
	for (int e = 0; e < 2; e++)
		engines[e]->vectors_load(b.lua[e], fvs, opt.n_vectors);

	/* Agreement: first the self-check conditions, then the rule set under test. */
	if (selfcheck_run(&b) < 0)
		goto done;
	printf("agreement: %zu self-check conditions x %zu vectors: riskd, Lua 5.4 and LuaJIT agree\n",
	       sizeof selfcheck_whens / sizeof selfcheck_whens[0], opt.n_vectors);
	if (compile_set(&b, &t, lua_compile_ns) < 0)
		goto done;
	fired_per_rule = xcalloc(b.n_rules, sizeof *fired_per_rule);
	if (check_agreement(&b, t.lrs, opt.rules_path, fired_per_rule) < 0)
		goto done;
	size_t cells = b.n_vectors * b.n_rules, fired_total = 0;
	for (size_t r = 0; r < b.n_rules; r++)
		fired_total += fired_per_rule[r];
	printf("agreement: %zu (vector, rule) results x %zu modes: all agree (%zu fire)\n", cells,
	       N_MODES, fired_total);
	fflush(stdout);
	for (size_t r = 0; r < b.n_rules; r++)
		if (fired_per_rule[r] == 0 || fired_per_rule[r] == b.n_vectors)
			fprintf(stderr,
			        "bench-rules: warning: rule %s %s on every generated vector; its agreement "
			        "check proves little (extend vector_generate)\n",
			        ruleset_rule(rs, r)->id, fired_per_rule[r] ? "fires" : "is quiet");

	/* Timing: calibrate passes per sample, then interleave the modes run by run. */
	for (size_t m = 0; m < N_MODES; m++) {
		double s = cpu_ns();
		if (mode_run(&b, &modes[m], NULL) < 0) {
			fprintf(stderr, "bench-rules: %s: %s\n", modes[m].key, b.errstr);
			goto done;
		}
		double pass_ns = cpu_ns() - s;
		timings[m].reps =
		    pass_ns >= BENCH_SAMPLE_NS ? 1u : (unsigned)ceil(BENCH_SAMPLE_NS / pass_ns);
		timings[m].cpu = xcalloc(opt.runs, sizeof *timings[m].cpu);
		timings[m].wall = xcalloc(opt.runs, sizeof *timings[m].wall);
	}
	for (unsigned run = 0; run < opt.runs; run++) {
		for (size_t k = 0; k < N_MODES; k++) {
			size_t m = (k + run) % N_MODES;
			double wall0 = now_ns(), cpu0 = cpu_ns();
			for (unsigned rep = 0; rep < timings[m].reps; rep++) {
				long fired = mode_run(&b, &modes[m], NULL);
				if (fired != (long)fired_total) {
					fprintf(stderr, "bench-rules: %s: %ld fired in a timed pass, expected %zu%s%s\n",
					        modes[m].key, fired, fired_total, fired < 0 ? ": " : "",
					        fired < 0 ? b.errstr : "");
					goto done;
				}
			}
			double evals = (double)timings[m].reps * (double)cells;
			timings[m].cpu[run] = (cpu_ns() - cpu0) / evals;
			timings[m].wall[run] = (now_ns() - wall0) / evals;
		}
	}
	for (size_t m = 0; m < N_MODES; m++) {
		timings[m].cpu_stats = stats_of(timings[m].cpu, opt.runs);
		timings[m].wall_stats = stats_of(timings[m].wall, opt.runs);
	}

	/* Report. modes[]: 0..2 per rule (riskd, lua54, luajit), 3..5 per vector, 6..7 marshal. */
	double r_lua_rule = timings[0].cpu_stats.median / timings[1].cpu_stats.median;
	double r_jit_rule = timings[0].cpu_stats.median / timings[2].cpu_stats.median;
	double r_lua_vec = timings[3].cpu_stats.median / timings[4].cpu_stats.median;
	double r_jit_vec = timings[3].cpu_stats.median / timings[5].cpu_stats.median;
	int faster = r_lua_rule < 1 && r_jit_rule < 1 && r_lua_vec < 1 && r_jit_vec < 1;
	printf("\nns per rule evaluation (thread CPU time), median of %u runs (min .. max),"
	       " wall-clock median:\n",
	       opt.runs);
	for (size_t m = 0; m < N_MODES; m++) {
		if (m == 3 || m == 6)
			printf("\n");
		printf("  %-26s %8.2f  (%.2f .. %.2f)  wall %.2f  %s\n", modes[m].key,
		       timings[m].cpu_stats.median, timings[m].cpu_stats.min, timings[m].cpu_stats.max,
		       timings[m].wall_stats.median, modes[m].text);
	}
	printf("\nratios riskd/engine (below 1: riskd faster):\n"
	       "  per rule:   riskd/lua %.3f   riskd/luajit %.3f\n"
	       "  per vector: riskd/lua %.3f   riskd/luajit %.3f\n"
	       "riskd faster than both: %s\n",
	       r_lua_rule, r_jit_rule, r_lua_vec, r_jit_vec, faster ? "yes" : "NO");

	char cpu[256], load_avg[128];
	read_first_line("/proc/cpuinfo", "model name", cpu, sizeof cpu);
	read_first_line("/proc/loadavg", "", load_avg, sizeof load_avg);
	doc = json_object();
	json_object_set_new(doc, "bench", json_string("rules"));
	json_object_set_new(doc, "unit",
	                    json_string("ns per rule evaluation, thread CPU time (wall_clock: "
	                                "monotonic clock)"));
	json_object_set_new(doc, "ruleset",
	                    json_pack("{s:s, s:s, s:s, s:s, s:I}", "path", opt.rules_path, "name",
	                              ruleset_name(rs), "version", ruleset_version(rs), "hash",
	                              ruleset_hash(rs), "rules", (json_int_t)b.n_rules));
	json_object_set_new(
	    doc, "vectors",
	    json_pack("{s:I, s:I, s:I, s:f}", "count", (json_int_t)opt.n_vectors, "seed",
	              (json_int_t)opt.seed, "features_read", (json_int_t)t.n_reads, "known_share",
	              (double)known / ((double)opt.n_vectors * (double)(t.n_reads ? t.n_reads : 1))));
	json_object_set_new(doc, "runs", json_integer(opt.runs));
	json_object_set_new(doc, "engines",
	                    json_pack("{s:s, s:s, s:s}", "riskd", "rules/rules_vm.c, built with gcc "
#ifdef __VERSION__
	                              __VERSION__
#endif
	                              , "lua54", engines[0]->version, "luajit", engines[1]->version));
	json_object_set_new(doc, "compile_us",
	                    json_pack("{s:f, s:f, s:f}", "riskd_load_check_compile",
	                              riskd_compile_ns / 1e3, "lua54_load_translated", lua_compile_ns[0] / 1e3,
	                              "luajit_load_translated", lua_compile_ns[1] / 1e3));
	json_t *ns = json_object();
	for (size_t m = 0; m < N_MODES; m++)
		json_object_set_new(ns, modes[m].key, timing_json(&timings[m], opt.runs));
	json_object_set_new(doc, "ns_per_rule_eval", ns);
	json_object_set_new(doc, "ratios",
	                    json_pack("{s:f, s:f, s:f, s:f}", "riskd_over_lua54_per_rule", r_lua_rule,
	                              "riskd_over_luajit_per_rule", r_jit_rule,
	                              "riskd_over_lua54_per_vector", r_lua_vec,
	                              "riskd_over_luajit_per_vector", r_jit_vec));
	json_object_set_new(doc, "riskd_faster_than_both", json_boolean(faster));
	json_object_set_new(doc, "agreement",
	                    json_pack("{s:I, s:I, s:I, s:I}", "results_checked", (json_int_t)cells,
	                              "modes", (json_int_t)N_MODES, "fired", (json_int_t)fired_total,
	                              "selfcheck_conditions",
	                              (json_int_t)(sizeof selfcheck_whens / sizeof selfcheck_whens[0])));
	json_t *rules = json_array();
	for (size_t r = 0; r < b.n_rules; r++)
		json_array_append_new(rules, json_pack("{s:s, s:I}", "id", ruleset_rule(rs, r)->id,
		                                       "fired", (json_int_t)fired_per_rule[r]));
	json_object_set_new(doc, "rules", rules);
	json_object_set_new(doc, "machine",
	                    json_pack("{s:s, s:s, s:I, s:I}", "cpu", cpu, "loadavg_at_end", load_avg,
	                              "lua54_state_bytes", (json_int_t)engines[0]->mem_bytes(b.lua[0]),
	                              "luajit_state_bytes",
	                              (json_int_t)engines[1]->mem_bytes(b.lua[1])));
	if (!doc) {
		fprintf(stderr, "bench-rules: cannot build the JSON report\n");
		goto done;
	}
	if (json_dump_file(doc, opt.json_path, JSON_INDENT(2) | JSON_ENSURE_ASCII) != 0) {
		fprintf(stderr, "bench-rules: cannot write %s\n", opt.json_path);
		goto done;
	}
	printf("wrote %s\n", opt.json_path);
	status = 0;
done:
	json_decref(doc);
	for (size_t m = 0; m < N_MODES; m++) {
		free(timings[m].cpu);
		free(timings[m].wall);
	}
	free(fired_per_rule);
	translated_free(&t);
	for (int e = 0; e < 2; e++)
		if (b.lua[e])
			engines[e]->close(b.lua[e]);
	free(fvs);
	ruleset_free(rs);
	rules_diags_free(&diags);
	return status;
}
