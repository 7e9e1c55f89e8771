/*
 * rules_vm.c - evaluation: runs verified rule programs (rules_compile.c) against one
 * customer's features and attributes, and sums a rule set's outcome into struct rule_hits.
 *
 * This is the per-event path: no allocation, no I/O, no writes outside the caller's memory.
 * The operand stack lives on the C stack; its bound (RULES_STACK_MAX) and every index an
 * instruction carries were checked when the rule set was loaded (rules_verify).
 */
#include <math.h>
#include <string.h>

#include "rules_int.h"

/* Operand id: a feature, or from RULES_ATTR_BASE on an attribute slot of av (missing when
 * av is NULL). */
static inline double load(const struct feature_vec *fv, const struct attr_vec *av, unsigned id)
{
	if (id < RULES_ATTR_BASE)
		return feature_known(fv, (enum feature_id)id) ? fv->value[id] : NAN;
	unsigned slot = id - RULES_ATTR_BASE;
	return av && attr_vec_known(av, (int)slot) ? av->value[slot] : NAN;
}

static inline int in_list(const double *pool, uint32_t slot, double x)
{
	size_t n = (size_t)pool[slot];
	for (size_t i = 1; i <= n; i++)
		if (pool[slot + i] == x)
			return 1;
	return 0;
}

/* Two stack values compared: a NaN operand gives 0 and counts as a missing read. */
#define COMPARE2(op)                                                                          \
	do {                                                                                      \
		double rhs = *--sp, lhs = sp[-1];                                                     \
		if (isnan(lhs) || isnan(rhs)) {                                                       \
			missing++;                                                                        \
			sp[-1] = 0;                                                                       \
		} else {                                                                              \
			sp[-1] = lhs op rhs;                                                              \
		}                                                                                     \
	} while (0)

/* A feature compared with the instruction's constant. */
#define COMPARE_FK(op)                                                                        \
	do {                                                                                      \
		double x = load(fv, av, ip->a);                                                           \
		if (isnan(x)) {                                                                       \
			missing++;                                                                        \
			*sp++ = 0;                                                                        \
		} else {                                                                              \
			*sp++ = x op ip->k;                                                               \
		}                                                                                     \
	} while (0)

#define ARITH2(expr)                                                                          \
	do {                                                                                      \
		double rhs = *--sp, lhs = sp[-1];                                                     \
		sp[-1] = (expr);                                                                      \
	} while (0)

/*
 * Dispatch: with GCC and Clang each handler jumps straight to the next instruction's handler
 * through a table built from rules_opcodes.h (one indirect jump per instruction, predicted per
 * handler); other compilers (and builds with -DRULES_VM_SWITCH, to test that path) get the
 * same handlers as cases of a switch. VM_NEXT goes to the next instruction, VM_JUMP to the
 * one ip was just set to.
 */
#if defined(__GNUC__) && !defined(RULES_VM_SWITCH)
#define VM_BEGIN goto *handlers[ip->op];
#define VM_CASE(name) do_##name:
#define VM_NEXT goto *handlers[(++ip)->op]
#define VM_JUMP goto *handlers[ip->op]
#define VM_FINISH
#else
#define VM_BEGIN                                                                              \
	for (;;)                                                                                  \
		switch ((enum rules_op)ip->op) {
#define VM_CASE(name) case OP_##name:
#define VM_NEXT                                                                               \
	{                                                                                         \
		ip++;                                                                                 \
		continue;                                                                             \
	}
#define VM_JUMP continue
#define VM_FINISH                                                                             \
	default:                                                                                  \
		return;                                                                               \
		}
#endif

/* One result per rule: bit 0 fired, the rest the rule's missing reads. */
#define RESULT_FIRED 1u
#define RESULT_MISSING_SHIFT 1

/* Runs count programs of rs, the i-th starting at instruction starts[i], and stores each
 * one's result in out. */
static void vm_run(const struct ruleset *rs, const uint32_t *starts, size_t count,
                   const struct feature_vec *fv, const struct attr_vec *av, uint32_t *out)
{
#if defined(__GNUC__) && !defined(RULES_VM_SWITCH)
	static const void *const handlers[OP__COUNT] = {
#define OP(name, pops, pushes, operand, text) [OP_##name] = &&do_##name,
#include "rules_opcodes.h"
#undef OP
	};
#endif
	if (count == 0)
		return;
	const uint32_t *start = starts;
	const uint32_t *const end = starts + count;
	const double *const pool = rs->code.pool;
	double stack[RULES_STACK_MAX];
	double *sp = stack;
	const struct rules_insn *prog = rs->code.insns + *start;
	const struct rules_insn *ip = prog;
	uint32_t missing = 0;
	VM_BEGIN
	VM_CASE(PUSH)
		*sp++ = ip->k;
		VM_NEXT;
	VM_CASE(LOAD)
		*sp++ = load(fv, av, ip->a);
		VM_NEXT;
	VM_CASE(TEST_F) {
		double x = load(fv, av, ip->a);
		if (isnan(x)) {
			missing++;
			*sp++ = 0;
		} else {
			*sp++ = x != 0;
		}
		VM_NEXT;
	}
	VM_CASE(NEG_F64)
		sp[-1] = -sp[-1];
		VM_NEXT;
	VM_CASE(ADD_F64)
		ARITH2(lhs + rhs);
		VM_NEXT;
	VM_CASE(SUB_F64)
		ARITH2(lhs - rhs);
		VM_NEXT;
	VM_CASE(MUL_F64)
		ARITH2(lhs * rhs);
		VM_NEXT;
	VM_CASE(DIV_F64)
		ARITH2(rhs == 0 ? NAN : lhs / rhs);
		VM_NEXT;
	VM_CASE(ABS_F64)
		sp[-1] = fabs(sp[-1]);
		VM_NEXT;
	VM_CASE(MIN_F64)
		ARITH2(isnan(lhs) || isnan(rhs) ? NAN : rhs < lhs ? rhs : lhs);
		VM_NEXT;
	VM_CASE(MAX_F64)
		ARITH2(isnan(lhs) || isnan(rhs) ? NAN : rhs > lhs ? rhs : lhs);
		VM_NEXT;
	VM_CASE(LT_F64)
		COMPARE2(<);
		VM_NEXT;
	VM_CASE(LE_F64)
		COMPARE2(<=);
		VM_NEXT;
	VM_CASE(GT_F64)
		COMPARE2(>);
		VM_NEXT;
	VM_CASE(GE_F64)
		COMPARE2(>=);
		VM_NEXT;
	VM_CASE(EQ_F64)
	VM_CASE(EQ_BOOL)
	VM_CASE(EQ_SYM)
		COMPARE2(==);
		VM_NEXT;
	VM_CASE(NE_F64)
	VM_CASE(NE_BOOL)
	VM_CASE(NE_SYM)
		COMPARE2(!=);
		VM_NEXT;
	VM_CASE(BETWEEN_F64) {
		double hi = *--sp, lo = *--sp, x = sp[-1];
		if (isnan(x) || isnan(lo) || isnan(hi)) {
			missing++;
			sp[-1] = 0;
		} else {
			sp[-1] = lo <= x && x <= hi;
		}
		VM_NEXT;
	}
	VM_CASE(IN_F64) {
		double x = sp[-1];
		if (isnan(x)) {
			missing++;
			sp[-1] = 0;
		} else {
			sp[-1] = in_list(pool, ip->b, x);
		}
		VM_NEXT;
	}
	VM_CASE(LT_F64_FK)
		COMPARE_FK(<);
		VM_NEXT;
	VM_CASE(LE_F64_FK)
		COMPARE_FK(<=);
		VM_NEXT;
	VM_CASE(GT_F64_FK)
		COMPARE_FK(>);
		VM_NEXT;
	VM_CASE(GE_F64_FK)
		COMPARE_FK(>=);
		VM_NEXT;
	VM_CASE(EQ_F64_FK)
	VM_CASE(EQ_BOOL_FK)
	VM_CASE(EQ_SYM_FK)
		COMPARE_FK(==);
		VM_NEXT;
	VM_CASE(NE_F64_FK)
	VM_CASE(NE_BOOL_FK)
	VM_CASE(NE_SYM_FK)
		COMPARE_FK(!=);
		VM_NEXT;
	VM_CASE(BETWEEN_F64_FKK) {
		double x = load(fv, av, ip->a);
		if (isnan(x)) {
			missing++;
			*sp++ = 0;
		} else {
			*sp++ = pool[ip->b] <= x && x <= pool[ip->b + 1];
		}
		VM_NEXT;
	}
	VM_CASE(IN_F64_F)
	VM_CASE(IN_SYM_F) {
		double x = load(fv, av, ip->a);
		if (isnan(x)) {
			missing++;
			*sp++ = 0;
		} else {
			*sp++ = in_list(pool, ip->b, x);
		}
		VM_NEXT;
	}
	VM_CASE(NOT)
		sp[-1] = sp[-1] == 0;
		VM_NEXT;
	VM_CASE(JUMP_IF_FALSE)
		if (sp[-1] == 0) {
			ip = prog + ip->b;
			VM_JUMP;
		}
		sp--;
		VM_NEXT;
	VM_CASE(JUMP_IF_TRUE)
		if (sp[-1] != 0) {
			ip = prog + ip->b;
			VM_JUMP;
		}
		sp--;
		VM_NEXT;
	VM_CASE(RET)
		*out++ = (sp[-1] != 0 ? RESULT_FIRED : 0) | missing << RESULT_MISSING_SHIFT;
		if (++start == end)
			return;
		prog = ip = rs->code.insns + *start;
		sp = stack;
		missing = 0;
		VM_JUMP;
	VM_FINISH
}

int ruleset_rule_eval(const struct ruleset *rs, size_t idx, const struct feature_vec *fv,
                      unsigned *missing_reads)
{
	return ruleset_rule_eval_attrs(rs, idx, fv, NULL, missing_reads);
}

int ruleset_rule_eval_attrs(const struct ruleset *rs, size_t idx, const struct feature_vec *fv,
                            const struct attr_vec *av, unsigned *missing_reads)
{
	uint32_t result = 0;
	vm_run(rs, &rs->prog_starts[idx], 1, fv, av, &result);
	if (missing_reads)
		*missing_reads = result >> RESULT_MISSING_SHIFT;
	return (int)(result & RESULT_FIRED);
}

int ruleset_eval(const struct ruleset *rs, const struct feature_vec *fv, struct rule_hits *hits)
{
	return ruleset_eval_attrs(rs, fv, NULL, hits);
}

/* Sums hits->fired[0 .. n_fired) into score, shadow_score, cap, floor, n_shadow_fired and
 * alert, in rule order. */
static void sum_fired(const struct ruleset *rs, struct rule_hits *hits)
{
	int active_fired = 0;
	hits->score = 0;
	hits->shadow_score = 0;
	hits->cap = RULE_GRADE_NONE;
	hits->floor = RULE_GRADE_NONE;
	hits->n_shadow_fired = 0;
	for (unsigned k = 0; k < hits->n_fired; k++) {
		const struct rule_info *info = &rs->rules[hits->fired[k]].info;
		if (info->mode == RULE_MODE_SHADOW) {
			hits->n_shadow_fired++;
			hits->shadow_score += info->score;
			continue;
		}
		active_fired = 1;
		hits->score += info->score;
		if (info->cap != RULE_GRADE_NONE && (hits->cap == RULE_GRADE_NONE || info->cap > hits->cap))
			hits->cap = info->cap;
		if (info->floor != RULE_GRADE_NONE &&
		    (hits->floor == RULE_GRADE_NONE || info->floor < hits->floor))
			hits->floor = info->floor;
	}
	hits->alert = rule_kind_scored(rs->kind) && active_fired && hits->score >= rs->alert_threshold;
}

int ruleset_eval_attrs(const struct ruleset *rs, const struct feature_vec *fv,
                       const struct attr_vec *av, struct rule_hits *hits)
{
	uint32_t results[RULESET_RULES_MAX];
	vm_run(rs, rs->prog_starts, rs->n_rules, fv, av, results);
	hits->missing_reads = 0;
	hits->n_fired = 0;
	for (size_t i = 0; i < rs->n_rules; i++) {
		uint32_t missing = results[i] >> RESULT_MISSING_SHIFT;
		hits->missing[i] = (uint16_t)(missing > UINT16_MAX ? UINT16_MAX : missing);
		hits->missing_reads += missing;
		if (results[i] & RESULT_FIRED)
			hits->fired[hits->n_fired++] = (uint16_t)i;
	}
	sum_fired(rs, hits);
	return hits->n_fired;
}

void rule_counts_add(const struct ruleset *rs, const struct rule_hits *hits,
                     struct rule_count *counts)
{
	for (size_t i = 0; i < rs->n_rules; i++) {
		counts[i].evaluations++;
		counts[i].missing_reads += hits->missing[i];
	}
	for (unsigned i = 0; i < hits->n_fired; i++)
		counts[hits->fired[i]].fired++;
}

/* Whether two feature bit sets share a feature. */
static int reads_any(const uint64_t *reads, const uint64_t *unknown)
{
	for (size_t w = 0; w < RULES_FEATURE_WORDS; w++)
		if (reads[w] & unknown[w])
			return 1;
	return 0;
}

/* Whether rule r may still fire once the unknown features are known: no operand of its
 * top-level `and` chain that reads none of them is false on fv. */
static int may_fire(const struct ruleset *rs, const struct rule_entry *r,
                    const struct feature_vec *fv, const struct attr_vec *av,
                    const uint64_t *unknown)
{
	for (uint32_t i = 0; i < r->n_conjuncts; i++) {
		const struct rule_conjunct *c = &r->conjuncts[i];
		uint32_t result = 0;
		if (reads_any(c->reads, unknown))
			continue;
		vm_run(rs, &c->prog_start, 1, fv, av, &result);
		if (!(result & RESULT_FIRED))
			return 0;
	}
	return 1;
}

int ruleset_eval_bound(const struct ruleset *rs, const struct feature_vec *fv,
                       const struct attr_vec *av, const uint64_t *unknown, struct rule_hits *hits, struct rule_bound *bound)
{
	size_t next_fired = 0;
	int active = 0, decided_fired = 0;
	ruleset_eval_attrs(rs, fv, av, hits);
	memset(bound, 0, sizeof(*bound));
	if (!rule_kind_scored(rs->kind))
		return 0;
	/* the score is summed in rule order, as ruleset_eval sums it: reach over the rules that
	 * fired and the open ones that can only add (a score of 0 or more), the highest
	 * reachable; least over the rules that fired and the open ones that can only lower it */
	for (size_t i = 0; i < rs->n_rules; i++) {
		const struct rule_entry *r = &rs->rules[i];
		int fired = next_fired < hits->n_fired && (size_t)hits->fired[next_fired] == i;
		next_fired += fired;
		if (r->info.mode == RULE_MODE_SHADOW)
			continue;
		if (reads_any(r->reads, unknown)) {
			if (!may_fire(rs, r, fv, av, unknown))
				continue;
			bound->open++;
			if (r->info.score < 0) {
				bound->least += r->info.score;
				continue; /* it would only lower the score */
			}
		} else if (!fired) {
			continue;
		} else {
			decided_fired = 1;
			bound->least += r->info.score;
		}
		active = 1;
		bound->reach += r->info.score;
	}
	/* with no active rule able to fire but open ones that lower the score, an alert needs
	 * one of those to fire: reach without it is still a bound */
	if (!active && bound->open)
		active = 1;
	bound->may_alert = active && bound->reach >= rs->alert_threshold;
	bound->must_alert = decided_fired && bound->least >= rs->alert_threshold;
	return bound->may_alert;
}

void ruleset_hits_keep_decided(const struct ruleset *rs, const uint64_t *unknown,
                               struct rule_hits *hits)
{
	uint16_t kept = 0;
	for (unsigned k = 0; k < hits->n_fired; k++)
		if (!reads_any(rs->rules[hits->fired[k]].reads, unknown))
			hits->fired[kept++] = hits->fired[k];
	hits->n_fired = kept;
	sum_fired(rs, hits);
}
