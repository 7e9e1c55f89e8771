/*
 * rules_explain.c - `riskctl rules explain`: a rule's metadata, the features its condition
 * reads, and its compiled program disassembled one instruction a line from the opcode table
 * (rules_opcodes.h), in words an author can follow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"

/* Shortest text that reads back as the same double. */
static void put_num(struct rbuf *out, double v)
{
	char buf[40];
	for (int prec = 6; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	rbuf_puts(out, buf);
}

static const char *type_noun(enum feature_type type)
{
	return type == FEATURE_NUM ? "number" : type == FEATURE_BOOL ? "boolean" : "symbol";
}

/* A constant shown as the type of operand id (a feature or an attribute): number,
 * true/false, or "symbol" (a category attribute's value text). */
static void put_value(struct rbuf *out, const struct ruleset *rs, int id, double v)
{
	struct rules_name def;
	rules_name_of(rs->attrs, id, &def);
	if (def.type == FEATURE_BOOL) {
		rbuf_puts(out, v != 0 ? "true" : "false");
	} else if (def.type == FEATURE_SYM) {
		size_t count = def.n_symbols;
		size_t code = v >= 0 && v < (double)count ? (size_t)v : 0;
		rbuf_printf(out, "\"%s\"", count ? def.symbols[code] : "?");
	} else {
		put_num(out, v);
	}
}

static const char *fk_operator(enum rules_op op)
{
	switch (op) {
	case OP_LT_F64_FK: return "<";
	case OP_LE_F64_FK: return "<=";
	case OP_GT_F64_FK: return ">";
	case OP_GE_F64_FK: return ">=";
	case OP_EQ_F64_FK:
	case OP_EQ_BOOL_FK:
	case OP_EQ_SYM_FK: return "==";
	default: return "!=";
	}
}

static void put_list(struct rbuf *out, const struct ruleset *rs, uint32_t slot, int feature)
{
	const double *pool = rs->code.pool;
	size_t n = (size_t)pool[slot];
	rbuf_puts(out, "[");
	for (size_t i = 1; i <= n; i++) {
		if (i > 1)
			rbuf_puts(out, ", ");
		if (feature >= 0)
			put_value(out, rs, feature, pool[slot + i]);
		else
			put_num(out, pool[slot + i]);
	}
	rbuf_puts(out, "]");
}

static void disassemble(const struct ruleset *rs, const struct rule_entry *r, struct rbuf *out)
{
	const struct rules_insn *prog = rs->code.insns + r->prog_start;
	const double *pool = rs->code.pool;
	rbuf_printf(out, "  program (%u instructions):\n", r->prog_len);
	for (uint32_t pc = 0; pc < r->prog_len; pc++) {
		const struct rules_insn *in = &prog[pc];
		const struct rules_opinfo *info = &rules_ops[in->op];
		struct rules_name operand;
		rules_name_of(rs->attrs, in->a, &operand);
		const char *fname = operand.name;
		struct rbuf line = {0};
		switch (info->operand) {
		case OPD_K:
			put_num(&line, in->k);
			break;
		case OPD_F:
			rbuf_puts(&line, fname);
			break;
		case OPD_FK:
			rbuf_printf(&line, "%s %s ", fname, fk_operator((enum rules_op)in->op));
			put_value(&line, rs, in->a, in->k);
			break;
		case OPD_FKK:
			put_num(&line, pool[in->b]);
			rbuf_printf(&line, " <= %s <= ", fname);
			put_num(&line, pool[in->b + 1]);
			break;
		case OPD_JUMP:
			rbuf_printf(&line, "-> %u", in->b);
			break;
		case OPD_LIST:
			rbuf_puts(&line, "in ");
			put_list(&line, rs, in->b, -1);
			break;
		case OPD_FLIST:
			rbuf_printf(&line, "%s in ", fname);
			put_list(&line, rs, in->b, in->op == OP_IN_SYM_F ? (int)in->a : -1);
			break;
		default:
			rbuf_printf(&line, "; %s", info->text);
			break;
		}
		rbuf_printf(out, "    %3u  %-16s %.*s\n", pc, info->name, (int)line.len,
		            line.data ? line.data : "");
		rbuf_free(&line);
	}
}

static void explain_rule(const struct ruleset *rs, const struct rule_entry *r, struct rbuf *out)
{
	const struct rule_info *info = &r->info;
	rbuf_printf(out, "rule %s  (%s:%d)\n", info->id, info->path, info->line);
	rbuf_printf(out, "  title:    %s\n", info->title);
	if (info->description[0])
		rbuf_printf(out, "  about:    %s\n", info->description);
	rbuf_printf(out, "  kind %s, mode %s, severity %s", rule_kind_name(info->kind),
	            rule_mode_name(info->mode), rule_severity_name(info->severity));
	if (rule_kind_scored(info->kind)) {
		rbuf_puts(out, ", score ");
		put_num(out, info->score);
	}
	if (info->cap != RULE_GRADE_NONE)
		rbuf_printf(out, ", grade at most %s", rule_grade_name(info->cap));
	if (info->floor != RULE_GRADE_NONE)
		rbuf_printf(out, ", grade at least %s", rule_grade_name(info->floor));
	rbuf_puts(out, "\n  when:     ");
	for (const char *p = info->when; *p; p++) {
		if (*p == '\n') {
			if (p[1])
				rbuf_puts(out, "\n            ");
			continue;
		}
		rbuf_append(out, p, 1);
	}
	rbuf_puts(out, "\n  reads:    ");
	int any = 0;
	for (int f = 0; f < FEAT__COUNT; f++) {
		if (!((r->reads[f / 64] >> (f % 64)) & 1u))
			continue;
		const struct feature_def *def = feature_def((enum feature_id)f);
		rbuf_printf(out, "%s%s (%s%s%s)", any ? ", " : "", def->name, type_noun(def->type),
		            def->unit[0] ? ", " : "", def->unit);
		any = 1;
	}
	for (int slot = 0; slot < ATTR_MAX; slot++) {
		if (!((r->attr_reads >> slot) & 1u))
			continue;
		const struct attr_def *def = &rs->attrs->defs[slot];
		rbuf_printf(out, "%s%s (customer attribute, %s)", any ? ", " : "", def->name,
		            def->type == ATTR_NUMBER ? "number" : "category");
		any = 1;
	}
	if (!any)
		rbuf_puts(out, "(no features)");
	rbuf_puts(out, "\n  evidence: ");
	for (size_t i = 0; i < info->n_evidence; i++)
		rbuf_printf(out, "%s%s", i ? ", " : "", feature_def(info->evidence[i])->name);
	if (!info->n_evidence)
		rbuf_puts(out, "(none)");
	rbuf_printf(out, "\n  tests:    %zu\n", r->n_tests);
	disassemble(rs, r, out);
}

int ruleset_explain(const struct ruleset *rs, const char *rule_id, struct rbuf *out)
{
	int found = 0;
	for (size_t i = 0; i < rs->n_rules; i++) {
		if (rule_id && strcmp(rs->rules[i].info.id, rule_id) != 0)
			continue;
		if (found)
			rbuf_puts(out, "\n");
		explain_rule(rs, &rs->rules[i], out);
		found = 1;
	}
	return rule_id && !found ? RISKD_ERR_NOT_FOUND : 0;
}
