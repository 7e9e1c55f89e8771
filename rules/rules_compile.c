/*
 * rules_compile.c - turns a checked condition into a flat program of fixed-size instructions
 * (rules_opcodes.h) for rules_vm.c, and verifies programs before they may run.
 *
 * A feature compared with a constant becomes one fused instruction (GE_F64_FK and friends);
 * `and`/`or` become forward jumps that keep the deciding value, so evaluation stops as soon as
 * the outcome is known and every program ends. Booleans read as conditions use TEST_F, so a
 * missing boolean feature counts as false there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"

const struct rules_opinfo rules_ops[OP__COUNT] = {
#define OP(name, pops, pushes, operand, text) {#name, pops, pushes, operand, text},
#include "rules_opcodes.h"
#undef OP
};

struct compiler {
	struct rules_code *code;
	size_t start; /* first instruction of this program */
	int depth, max_depth;
	int failed;
	const struct expr *root;
	rules_expr_error_fn *error;
	void *user;
};

static size_t emit(struct compiler *c, enum rules_op op, uint16_t a, uint32_t b, double k)
{
	struct rules_code *code = c->code;
	if (code->n - c->start >= RULES_PROG_MAX) {
		if (!c->failed)
			c->error(c->user, c->root->off, "condition too long: more than %d instructions",
			         RULES_PROG_MAX);
		c->failed = 1;
		return code->n > c->start ? code->n - 1 : c->start;
	}
	if (code->n == code->cap) {
		code->cap = code->cap ? code->cap * 2 : 64;
		code->insns = xrealloc(code->insns, code->cap * sizeof *code->insns);
	}
	struct rules_insn *in = &code->insns[code->n];
	memset(in, 0, sizeof *in);
	in->op = (uint16_t)op;
	in->a = a;
	in->b = b;
	in->k = k;
	c->depth += rules_ops[op].pushes - rules_ops[op].pops;
	if (c->depth > c->max_depth)
		c->max_depth = c->depth;
	return code->n++;
}

static uint32_t pool_add(struct compiler *c, double value)
{
	struct rules_code *code = c->code;
	if (code->npool == code->poolcap) {
		code->poolcap = code->poolcap ? code->poolcap * 2 : 32;
		code->pool = xrealloc(code->pool, code->poolcap * sizeof *code->pool);
	}
	code->pool[code->npool] = value;
	return (uint32_t)code->npool++;
}

static int is_const(const struct expr *e)
{
	return e->kind == EXPR_NUM || e->kind == EXPR_BOOL || e->kind == EXPR_SYM;
}

static int is_feature(const struct expr *e)
{
	return e->kind == EXPR_FEATURE;
}

static void compile_value(struct compiler *c, const struct expr *e);

static void compile_cond(struct compiler *c, const struct expr *e)
{
	if (is_feature(e) && e->type == VT_BOOL) {
		emit(c, OP_TEST_F, (uint16_t)e->feature, 0, 0);
		return;
	}
	if (e->kind == EXPR_BINARY && (e->op == TOK_AND || e->op == TOK_OR)) {
		compile_cond(c, e->args[0]);
		size_t jump = emit(c, e->op == TOK_AND ? OP_JUMP_IF_FALSE : OP_JUMP_IF_TRUE, 0, 0, 0);
		compile_cond(c, e->args[1]);
		c->code->insns[jump].b = (uint32_t)(c->code->n - c->start);
		return;
	}
	if (e->kind == EXPR_UNARY && e->op == TOK_NOT) {
		compile_cond(c, e->args[0]);
		emit(c, OP_NOT, 0, 0, 0);
		return;
	}
	compile_value(c, e);
}

/* The comparison with its sides swapped: a < b is b > a. */
static enum tok flip(enum tok op)
{
	switch (op) {
	case TOK_LT: return TOK_GT;
	case TOK_LE: return TOK_GE;
	case TOK_GT: return TOK_LT;
	case TOK_GE: return TOK_LE;
	default: return op;
	}
}

static void compile_compare(struct compiler *c, const struct expr *e)
{
	const struct expr *l = e->args[0], *r = e->args[1];
	enum tok op = e->op;
	enum vtype type = l->type;
	if (is_const(l) && is_feature(r)) {
		const struct expr *t = l;
		l = r;
		r = t;
		op = flip(op);
	}
	if (is_feature(l) && is_const(r)) {
		enum rules_op fused;
		if (type == VT_BOOL)
			fused = op == TOK_EQ ? OP_EQ_BOOL_FK : OP_NE_BOOL_FK;
		else if (type == VT_SYM)
			fused = op == TOK_EQ ? OP_EQ_SYM_FK : OP_NE_SYM_FK;
		else
			fused = op == TOK_LT   ? OP_LT_F64_FK
			        : op == TOK_LE ? OP_LE_F64_FK
			        : op == TOK_GT ? OP_GT_F64_FK
			        : op == TOK_GE ? OP_GE_F64_FK
			        : op == TOK_EQ ? OP_EQ_F64_FK
			                       : OP_NE_F64_FK;
		emit(c, fused, (uint16_t)l->feature, 0, r->num);
		return;
	}
	compile_value(c, l);
	compile_value(c, r);
	enum rules_op generic;
	if (type == VT_BOOL)
		generic = op == TOK_EQ ? OP_EQ_BOOL : OP_NE_BOOL;
	else if (type == VT_SYM)
		generic = op == TOK_EQ ? OP_EQ_SYM : OP_NE_SYM;
	else
		generic = op == TOK_LT   ? OP_LT_F64
		          : op == TOK_LE ? OP_LE_F64
		          : op == TOK_GT ? OP_GT_F64
		          : op == TOK_GE ? OP_GE_F64
		          : op == TOK_EQ ? OP_EQ_F64
		                         : OP_NE_F64;
	emit(c, generic, 0, 0, 0);
}

static void compile_call(struct compiler *c, const struct expr *e)
{
	const char *name = e->name;
	if (name[0] == 'b') { /* between */
		const struct expr *x = e->args[0], *lo = e->args[1], *hi = e->args[2];
		if (is_feature(x) && is_const(lo) && is_const(hi)) {
			uint32_t slot = pool_add(c, lo->num);
			pool_add(c, hi->num);
			emit(c, OP_BETWEEN_F64_FKK, (uint16_t)x->feature, slot, 0);
			return;
		}
		compile_value(c, x);
		compile_value(c, lo);
		compile_value(c, hi);
		emit(c, OP_BETWEEN_F64, 0, 0, 0);
		return;
	}
	compile_value(c, e->args[0]);
	if (name[0] == 'a') {
		emit(c, OP_ABS_F64, 0, 0, 0);
		return;
	}
	for (uint32_t i = 1; i < e->nargs; i++) {
		compile_value(c, e->args[i]);
		emit(c, name[1] == 'i' ? OP_MIN_F64 : OP_MAX_F64, 0, 0, 0);
	}
}

static void compile_in(struct compiler *c, const struct expr *e)
{
	const struct expr *x = e->args[0], *list = e->args[1];
	uint32_t slot = pool_add(c, (double)list->nargs);
	for (uint32_t i = 0; i < list->nargs; i++)
		pool_add(c, list->args[i]->num);
	if (is_feature(x)) {
		emit(c, x->type == VT_SYM ? OP_IN_SYM_F : OP_IN_F64_F, (uint16_t)x->feature, slot, 0);
		return;
	}
	compile_value(c, x);
	emit(c, OP_IN_F64, 0, slot, 0);
}

static void compile_value(struct compiler *c, const struct expr *e)
{
	switch (e->kind) {
	case EXPR_NUM:
	case EXPR_BOOL:
	case EXPR_SYM:
		emit(c, OP_PUSH, 0, 0, e->num);
		return;
	case EXPR_FEATURE:
		emit(c, OP_LOAD, (uint16_t)e->feature, 0, 0);
		return;
	case EXPR_CALL:
		compile_call(c, e);
		return;
	case EXPR_IN:
		compile_in(c, e);
		return;
	case EXPR_UNARY:
		if (e->op == TOK_NOT) {
			compile_cond(c, e);
		} else {
			compile_value(c, e->args[0]);
			emit(c, OP_NEG_F64, 0, 0, 0);
		}
		return;
	case EXPR_BINARY:
		switch (e->op) {
		case TOK_AND:
		case TOK_OR:
			compile_cond(c, e);
			return;
		case TOK_PLUS:
		case TOK_MINUS:
		case TOK_STAR:
		case TOK_SLASH:
			compile_value(c, e->args[0]);
			compile_value(c, e->args[1]);
			emit(c, e->op == TOK_PLUS    ? OP_ADD_F64
			        : e->op == TOK_MINUS ? OP_SUB_F64
			        : e->op == TOK_STAR  ? OP_MUL_F64
			                             : OP_DIV_F64,
			     0, 0, 0);
			return;
		default:
			compile_compare(c, e);
			return;
		}
	default: /* strings and lists never reach the compiler after checking */
		emit(c, OP_PUSH, 0, 0, 0);
		return;
	}
}

/* A value that made a jump jump makes a jump of the same kind at the target jump too: go
 * straight to the final target. `a and b and c` then leaves at the first false value in one
 * jump. Targets only move forward, and the stack depth at the new target is the same. */
static void thread_jumps(struct compiler *c)
{
	struct rules_insn *prog = c->code->insns + c->start;
	size_t len = c->code->n - c->start;
	for (size_t pc = len; pc-- > 0;) {
		struct rules_insn *in = &prog[pc];
		if (in->op != OP_JUMP_IF_FALSE && in->op != OP_JUMP_IF_TRUE)
			continue;
		if (in->b < len && prog[in->b].op == in->op)
			in->b = prog[in->b].b;
	}
}

int rules_compile(const struct expr *root, struct rules_code *code, uint32_t *start,
                  uint32_t *len, rules_expr_error_fn *error, void *user)
{
	struct compiler c = {.code = code, .start = code->n, .root = root, .error = error,
	                     .user = user};
	compile_cond(&c, root);
	emit(&c, OP_RET, 0, 0, 0);
	thread_jumps(&c);
	if (!c.failed && c.max_depth > RULES_STACK_MAX) {
		error(user, root->off, "condition too complex: it needs more than %d stack slots",
		      RULES_STACK_MAX);
		c.failed = 1;
	}
	if (c.failed) {
		code->n = c.start;
		return -1;
	}
	*start = (uint32_t)c.start;
	*len = (uint32_t)(code->n - c.start);
	return 0;
}

int rules_verify(const struct rules_insn *prog, size_t len, const double *pool, size_t npool,
                 size_t n_attrs, char *errstr, size_t errstr_size)
{
	int rc = -1;
	int *depth = NULL;
	if (len == 0 || len > RULES_PROG_MAX) {
		snprintf(errstr, errstr_size, "program length %zu out of range", len);
		goto done;
	}
	depth = xmalloc(len * sizeof *depth);
	for (size_t i = 0; i < len; i++)
		depth[i] = -1;
	depth[0] = 0;
	for (size_t pc = 0; pc < len; pc++) {
		const struct rules_insn *in = &prog[pc];
		int d = depth[pc];
		if (d < 0) {
			snprintf(errstr, errstr_size, "instruction %zu is unreachable", pc);
			goto done;
		}
		if (in->op >= OP__COUNT) {
			snprintf(errstr, errstr_size, "instruction %zu: unknown opcode %u", pc, in->op);
			goto done;
		}
		const struct rules_opinfo *info = &rules_ops[in->op];
		if (d < info->pops) {
			snprintf(errstr, errstr_size, "instruction %zu (%s): stack underflow", pc,
			         info->name);
			goto done;
		}
		enum rules_operand opd = info->operand;
		if ((opd == OPD_F || opd == OPD_FK || opd == OPD_FKK || opd == OPD_FLIST) &&
		    in->a >= RULES_ATTR_BASE + n_attrs) {
			snprintf(errstr, errstr_size, "instruction %zu (%s): feature %u out of range", pc,
			         info->name, in->a);
			goto done;
		}
		if (opd == OPD_FKK && ((size_t)in->b + 2 > npool)) {
			snprintf(errstr, errstr_size, "instruction %zu (%s): pool slot out of range", pc,
			         info->name);
			goto done;
		}
		if (opd == OPD_LIST || opd == OPD_FLIST) {
			double count = in->b < npool ? pool[in->b] : -1;
			if (!(count >= 1 && count <= 256 && count == (double)(size_t)count &&
			      (size_t)in->b + 1 + (size_t)count <= npool)) {
				snprintf(errstr, errstr_size, "instruction %zu (%s): list out of range", pc,
				         info->name);
				goto done;
			}
		}
		int next = d - info->pops + info->pushes;
		if (next > RULES_STACK_MAX) {
			snprintf(errstr, errstr_size, "instruction %zu (%s): stack deeper than %d", pc,
			         info->name, RULES_STACK_MAX);
			goto done;
		}
		if (opd == OPD_JUMP) {
			if (in->b <= pc || in->b >= len) {
				snprintf(errstr, errstr_size, "instruction %zu (%s): jump to %u is not forward "
				         "inside the program", pc, info->name, in->b);
				goto done;
			}
			if (depth[in->b] >= 0 && depth[in->b] != d) {
				snprintf(errstr, errstr_size, "instruction %u: stack depth differs by path",
				         in->b);
				goto done;
			}
			depth[in->b] = d; /* the jump keeps the deciding value */
		}
		if (in->op == OP_RET) {
			if (pc != len - 1 || d != 1) {
				snprintf(errstr, errstr_size, "instruction %zu (RET): must be last, with one "
				         "value on the stack", pc);
				goto done;
			}
			continue;
		}
		if (pc + 1 >= len) {
			snprintf(errstr, errstr_size, "program does not end with RET");
			goto done;
		}
		if (depth[pc + 1] >= 0 && depth[pc + 1] != next) {
			snprintf(errstr, errstr_size, "instruction %zu: stack depth differs by path", pc + 1);
			goto done;
		}
		depth[pc + 1] = next;
	}
	rc = 0;
done:
	free(depth);
	return rc;
}

/* ---- the operands of a condition's top-level `and` chain ---- */

/* Stores e's operands of its top-level `and` chain into out (when not NULL) from index n;
 * returns the index past the last. */
static size_t and_operands(const struct expr *e, const struct expr **out, size_t n)
{
	if (e->kind == EXPR_BINARY && e->op == TOK_AND) {
		n = and_operands(e->args[0], out, n);
		return and_operands(e->args[1], out, n);
	}
	if (out)
		out[n] = e;
	return n + 1;
}

/* Sets in reads the bit of every feature e reads (attributes are not features). */
static void expr_reads(const struct expr *e, uint64_t *reads)
{
	if (e->kind == EXPR_FEATURE && e->feature >= 0 && e->feature < FEAT__COUNT)
		reads[e->feature / 64] |= (uint64_t)1 << (e->feature % 64);
	for (uint32_t i = 0; i < e->nargs; i++)
		expr_reads(e->args[i], reads);
}

int rules_compile_conjuncts(const struct expr *root, struct rules_code *code, size_t n_attrs,
                            struct rules_arena *arena, struct rule_conjunct **out,
                            rules_expr_error_fn *error, void *user)
{
	*out = NULL;
	size_t n = and_operands(root, NULL, 0);
	if (n < 2)
		return 0;
	const struct expr **operands = xmalloc(n * sizeof(*operands));
	and_operands(root, operands, 0);
	struct rule_conjunct *conjuncts = rules_arena_alloc(arena, n * sizeof(*conjuncts));
	int rc = (int)n;
	for (size_t i = 0; i < n && rc > 0; i++) {
		uint32_t len;
		char errstr[160];
		expr_reads(operands[i], conjuncts[i].reads);
		if (rules_compile(operands[i], code, &conjuncts[i].prog_start, &len, error, user) < 0)
			rc = -1;
		else if (rules_verify(code->insns + conjuncts[i].prog_start, len, code->pool,
		                      code->npool, n_attrs, errstr, sizeof errstr) < 0) {
			error(user, operands[i]->off, "internal error: compiled condition rejected: %s",
			      errstr);
			rc = -1;
		}
	}
	free((void *)operands);
	if (rc > 0)
		*out = conjuncts;
	return rc;
}
