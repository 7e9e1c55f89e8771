/*
 * rules_load.c - the rule set lifecycle: expands paths into rule files (policy_files.c),
 * reads them, runs each through the YAML reader and the schema (rules_yaml.c,
 * rules_schema.c), and builds the rule set of the requested kind only when every file loaded
 * cleanly. Also the accessors of a loaded, immutable rule set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_files.h"
#include "rules_int.h"



struct load {
	struct ruleset *sets[RULE_KIND__COUNT];
	struct rules_idtab ids;
	struct rules_diags *diags;
	size_t errors;
};

static void load_init(struct load *ld, struct rules_diags *diags)
{
	memset(ld, 0, sizeof *ld);
	ld->diags = diags;
	for (int k = 0; k < RULE_KIND__COUNT; k++) {
		ld->sets[k] = xcalloc(1, sizeof *ld->sets[k]);
		ld->sets[k]->kind = (enum rule_kind)k;
		ld->sets[k]->attrs = ruleset_attributes_in_use();
		ld->sets[k]->fnv = POLICY_HASH_INIT;
	}
}

static void load_file(struct load *ld, const char *path, const char *text, size_t len)
{
	struct rules_src src;
	struct rules_arena scratch = {0};
	rules_src_init(&src, path, text, len, ld->diags);
	struct ynode *root = rules_yaml_parse(&src, &scratch);
	if (root) {
		int kind = rules_schema_load(&src, root, ld->sets, &ld->ids, &scratch);
		if (kind >= 0)
			ld->sets[kind]->fnv = policy_hash_add(ld->sets[kind]->fnv, text, len);
	}
	rules_src_finish(&src);
	ld->errors += src.errors;
	rules_arena_free(&scratch);
}

/* Hands over sets[kind] when nothing failed; frees the rest. */
static int load_finish(struct load *ld, enum rule_kind kind, struct ruleset **out)
{
	int rc = RISKD_ERR_INVALID;
	*out = NULL;
	if (ld->errors == 0 && (unsigned)kind < RULE_KIND__COUNT) {
		struct ruleset *rs = ld->sets[kind];
		ld->sets[kind] = NULL;
		rs->name = rules_arena_strndup(&rs->arena, rs->names.len ? rs->names.data : "",
		                               rs->names.len);
		rs->version = rules_arena_strndup(&rs->arena, rs->versions.len ? rs->versions.data : "",
		                                  rs->versions.len);
		rbuf_free(&rs->names);
		rbuf_free(&rs->versions);
		policy_hash_hex(rs->fnv, rs->hash);
		for (size_t i = 0; i < rs->n_rules; i++) {
			rs->attr_reads |= rs->rules[i].attr_reads;
			rs->prog_starts[i] = rs->rules[i].prog_start;
		}
		*out = rs;
		rc = 0;
	}
	for (int k = 0; k < RULE_KIND__COUNT; k++)
		ruleset_free(ld->sets[k]);
	rules_idtab_free(&ld->ids);
	return rc;
}

int ruleset_load_text(const char *path, const char *text, size_t len, enum rule_kind kind,
                      struct ruleset **out, struct rules_diags *diags)
{
	struct load ld;
	load_init(&ld, diags);
	load_file(&ld, path, text ? text : "", text ? len : 0);
	return load_finish(&ld, kind, out);
}

int ruleset_load_paths(const char *const *paths, size_t n_paths, enum rule_kind kind,
                       struct ruleset **out, struct rules_diags *diags)
{
	struct load ld;
	struct policy_files files = {0};
	load_init(&ld, diags);
	ld.errors += policy_files_expand(paths, n_paths, "rule files", &files, diags);
	if (n_paths == 0) {
		rules_path_error(diags, "riskd", "no rule files given");
		ld.errors++;
	}
	for (size_t i = 0; i < files.count; i++) {
		size_t len = 0;
		char *text = policy_file_read(files.paths[i], "a rule file", &len, diags);
		if (text)
			load_file(&ld, files.paths[i], text, len);
		else
			ld.errors++;
		free(text);
	}
	int rc = load_finish(&ld, kind, out);
	policy_files_free(&files);
	return rc;
}

void ruleset_free(struct ruleset *rs)
{
	if (!rs)
		return;
	free(rs->code.insns);
	free(rs->code.pool);
	rbuf_free(&rs->names);
	rbuf_free(&rs->versions);
	rules_arena_free(&rs->arena);
	free(rs);
}

enum rule_kind ruleset_kind(const struct ruleset *rs)
{
	return rs->kind;
}

const char *ruleset_name(const struct ruleset *rs)
{
	return rs->name;
}

const char *ruleset_version(const struct ruleset *rs)
{
	return rs->version;
}

const char *ruleset_hash(const struct ruleset *rs)
{
	return rs->hash;
}

const struct attr_schema *ruleset_attributes(const struct ruleset *rs)
{
	return rs->attrs;
}

int ruleset_reads_attributes(const struct ruleset *rs)
{
	return rs->attr_reads != 0;
}

double ruleset_alert_threshold(const struct ruleset *rs)
{
	return rule_kind_scored(rs->kind) ? rs->alert_threshold : 0;
}

size_t ruleset_rule_count(const struct ruleset *rs)
{
	return rs->n_rules;
}

const struct rule_info *ruleset_rule(const struct ruleset *rs, size_t idx)
{
	return &rs->rules[idx].info;
}

int ruleset_rule_find(const struct ruleset *rs, const char *id)
{
	for (size_t i = 0; i < rs->n_rules; i++)
		if (strcmp(rs->rules[i].info.id, id) == 0)
			return (int)i;
	return -1;
}
