/*
 * credit_policy_load.c - the `actions` section of credit rule files read into a service policy
 * (see credit_policy_load.h). rules_schema.c calls credit_policy_read for every credit file it
 * loads, so the rule loader reports the section's errors; credit_policy_load_paths reads the
 * files again for the table itself.
 */
#include "credit_policy_load.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "policy_files.h"
#include "rules_int.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

enum action_key {
	AK_GRADE, AK_SEGMENTS, AK_DEPOSIT, AK_PREPAYMENT, AK_PLAN, AK_REMINDER, AK_NOTICE, AK__COUNT
};
static const char *const action_keys[AK__COUNT] = {
	[AK_GRADE] = "grade",
	[AK_SEGMENTS] = "segments",
	[AK_DEPOSIT] = "deposit_multiple",
	[AK_PREPAYMENT] = "prepayment_required",
	[AK_PLAN] = "payment_plan_eligible",
	[AK_REMINDER] = "reminder_days",
	[AK_NOTICE] = "disconnection_notice_eligible",
};

/* Where each grade's rows start while a section is read: RULES_NO_POS none yet. */
struct row_marks {
	size_t every[RULE_GRADE__COUNT];                  /* the row without segments */
	size_t segment[RULE_GRADE__COUNT][SEGMENT__COUNT]; /* the row naming the segment */
};

/* The index of scalar n among names, or count after reporting what was expected. */
static size_t read_choice(struct rules_src *src, const struct ynode *n, const char *what,
                          const char *const *names, size_t count)
{
	char shown[48];
	size_t i = ynode_find(n, names, count);
	if (i < count)
		return i;
	if (n->type != YNODE_SCALAR) {
		rules_src_error(src, n->start, "a %s must be a name, not %s", what, ynode_noun(n));
		return count;
	}
	const char *hint = ynode_suggest(n, names, count);
	rules_show(shown, sizeof shown, n->value, n->len);
	if (hint)
		rules_src_error(src, n->start, "unknown %s '%s' (did you mean '%s'?)", what, shown, hint);
	else
		rules_src_error(src, n->start, "unknown %s '%s' (expected %s, %s, %s, %s or %s)", what,
		                shown, names[0], names[1], names[2], names[3], names[count - 1]);
	return count;
}

/* A required key of an action row; reports its absence. */
static const struct ynode *row_key(struct rules_src *src, const struct ynode *row,
                                   enum action_key k)
{
	const struct ynode *n = ynode_get(row, action_keys[k]);
	if (!n)
		rules_src_error(src, row->start, "missing required key '%s' in an action row",
		                action_keys[k]);
	return n;
}

/* The five actions of a row into *a. Returns 0, or -1 after reporting. */
static int read_actions(struct rules_src *src, const struct ynode *row, struct credit_actions *a)
{
	const struct ynode *n;
	double days = 0;
	int bad = 0;
	if ((n = row_key(src, row, AK_DEPOSIT)) == NULL ||
	    ynode_number(src, n, action_keys[AK_DEPOSIT], 0, CREDIT_DEPOSIT_MULTIPLE_MAX,
	                 &a->deposit_multiple) < 0)
		bad = 1;
	if ((n = row_key(src, row, AK_REMINDER)) == NULL ||
	    ynode_number(src, n, action_keys[AK_REMINDER], 1, CREDIT_REMINDER_DAYS_MAX, &days) < 0)
		bad = 1;
	else if (days != floor(days)) {
		rules_src_error(src, n->start, "'reminder_days' must be a whole number of days, got %g",
		                days);
		bad = 1;
	}
	a->reminder_days = (int)days;
	static const enum action_key flags[] = {AK_PREPAYMENT, AK_PLAN, AK_NOTICE};
	int *dst[] = {&a->prepayment_required, &a->payment_plan_eligible,
	              &a->disconnection_notice_eligible};
	for (size_t i = 0; i < COUNT(flags); i++)
		if ((n = row_key(src, row, flags[i])) == NULL ||
		    ynode_bool(src, n, action_keys[flags[i]], dst[i]) < 0)
			bad = 1;
	return bad ? -1 : 0;
}

/* Records that row (at pos) sets grade g for segment seg; reports a second row for them. */
static int claim(struct rules_src *src, size_t *mark, size_t pos, const char *grade,
                 const char *segment)
{
	if (*mark == RULES_NO_POS) {
		*mark = pos;
		return 0;
	}
	if (segment)
		rules_src_error(src, pos, "grade %s already has actions for segment '%s' (line %d)",
		                grade, segment, rules_src_line(src, *mark));
	else
		rules_src_error(src, pos, "grade %s already has a row for every segment (line %d); "
		                "name the segments a second row is for", grade, rules_src_line(src, *mark));
	return -1;
}

/* One action row: its grade, segments and actions into policy. */
static void read_row(struct rules_src *src, const struct ynode *row, struct credit_policy *policy,
                     struct credit_actions every[RULE_GRADE__COUNT], struct row_marks *marks)
{
	size_t nseg;
	const char *const *seg_names = feature_symbols(FEAT_SEGMENT, &nseg);
	if (row->type != YNODE_MAP) {
		rules_src_error(src, row->start, "an action row is a mapping with grade, "
		                "deposit_multiple, prepayment_required, ..., not %s", ynode_noun(row));
		return;
	}
	ynode_check_keys(src, row, action_keys, AK__COUNT, NULL, "in an action row");
	const struct ynode *n = row_key(src, row, AK_GRADE);
	size_t g = n ? read_choice(src, n, "grade", credit_grade_names, RULE_GRADE__COUNT)
	             : RULE_GRADE__COUNT;
	struct credit_actions a = {0};
	read_actions(src, row, &a); /* on an error the policy is dropped: keep checking */
	if (g == RULE_GRADE__COUNT)
		return;
	const struct ynode *segs = ynode_get(row, action_keys[AK_SEGMENTS]);
	if (!segs) {
		if (claim(src, &marks->every[g], row->start, credit_grade_names[g], NULL) == 0)
			every[g] = a;
		return;
	}
	if (segs->type != YNODE_SEQ || segs->count == 0) {
		rules_src_error(src, segs->start, "'segments' must be a list of segments (%s, %s, %s, "
		                "%s), or left out for every segment", seg_names[0], seg_names[1],
		                seg_names[2], seg_names[3]);
		return;
	}
	for (size_t i = 0; i < segs->count; i++) {
		const struct ynode *item = segs->items[i];
		size_t s = read_choice(src, item, "segment", seg_names, nseg);
		if (s == nseg)
			continue;
		enum segment seg = (enum segment)(s + 1); /* symbol codes are enum segment - 1 */
		if (claim(src, &marks->segment[g][seg], item->start, credit_grade_names[g],
		          seg_names[s]) == 0) {
			policy->actions[g][seg] = a;
			policy->set[g][seg] = 1;
		}
	}
}

void credit_policy_read(struct rules_src *src, const struct ynode *section,
                        struct credit_policy *policy)
{
	struct credit_actions every[RULE_GRADE__COUNT];
	struct row_marks marks;
	size_t errors_before = src->errors;
	memset(policy, 0, sizeof *policy);
	for (int g = 0; g < RULE_GRADE__COUNT; g++) {
		marks.every[g] = RULES_NO_POS;
		for (int s = 0; s < SEGMENT__COUNT; s++)
			marks.segment[g][s] = RULES_NO_POS;
	}
	if (section->type != YNODE_SEQ) {
		rules_src_error(src, section->start, "'actions' must be a list of action rows (grade, "
		                "optional segments, and the actions), not %s", ynode_noun(section));
		return;
	}
	for (size_t i = 0; i < section->count; i++)
		read_row(src, section->items[i], policy, every, &marks);
	for (int g = 0; g < RULE_GRADE__COUNT; g++) {
		if (marks.every[g] == RULES_NO_POS) {
			rules_src_error(src, section->start, "no actions for grade %s: add a row with grade: "
			                "%s and no segments (it covers every segment no row names)",
			                credit_grade_names[g], credit_grade_names[g]);
			continue;
		}
		for (int s = 0; s < SEGMENT__COUNT; s++)
			if (!policy->set[g][s]) {
				policy->actions[g][s] = every[g];
				policy->set[g][s] = 1;
			}
	}
	if (src->errors != errors_before)
		memset(policy, 0, sizeof *policy);
}

/* Whether root (a parsed rule file) says kind: credit. */
static int is_credit_file(const struct ynode *root)
{
	const struct ynode *kind = root->type == YNODE_MAP ? ynode_get(root, "kind") : NULL;
	return kind && ynode_is(kind, rule_kind_name(RULE_KIND_CREDIT));
}

/* Reads one file's actions into *out when it is a credit file with some; *from is the file
 * that gave them first (NULL none yet). */
static void load_file(struct rules_src *src, struct credit_policy *out, const char **from)
{
	struct rules_arena arena = {0};
	struct ynode *root = rules_yaml_parse(src, &arena);
	const struct ynode *section = root && is_credit_file(root) ? ynode_get(root, "actions")
	                                                           : NULL;
	if (section && *from)
		rules_src_error(src, ynode_key_pos(root, "actions"), "actions are already given in %s: "
		                "one credit file holds the service policy", *from);
	else if (section) {
		credit_policy_read(src, section, out);
		*from = src->path;
	}
	rules_arena_free(&arena);
}

int credit_policy_load_paths(const char *const *paths, size_t n_paths, struct credit_policy *out,
                             struct rules_diags *diags)
{
	struct policy_files files = {0};
	size_t diags_before = diags->count;
	const char *from = NULL;
	memset(out, 0, sizeof *out);
	policy_files_expand(paths, n_paths, "rule files", &files, diags);
	for (size_t i = 0; i < files.count; i++) {
		size_t len = 0;
		char *text = policy_file_read(files.paths[i], "a rule file", &len, diags);
		if (!text)
			continue;
		struct rules_src src;
		rules_src_init(&src, files.paths[i], text, len, diags);
		load_file(&src, out, &from);
		rules_src_finish(&src);
		free(text);
	}
	policy_files_free(&files);
	if (diags->count != diags_before) {
		memset(out, 0, sizeof *out);
		return RISKD_ERR_INVALID;
	}
	return 0;
}
