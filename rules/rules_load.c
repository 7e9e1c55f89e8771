/*
 * rules_load.c - the rule set lifecycle: expands paths into rule files, reads them, runs each
 * through the YAML reader and the schema (rules_yaml.c, rules_schema.c), and builds the rule
 * set of the requested kind only when every file loaded cleanly. Also the content hash and the
 * accessors of a loaded, immutable rule set.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rules_int.h"

/* Largest rule file read, in bytes. */
#define RULE_FILE_MAX (4u << 20)

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

struct load {
	struct ruleset *sets[RULE_KIND__COUNT];
	struct rules_idtab ids;
	struct rules_diags *diags;
	size_t errors;
};

static uint64_t fnv_update(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV_PRIME;
	}
	return h;
}

static void load_init(struct load *ld, struct rules_diags *diags)
{
	memset(ld, 0, sizeof *ld);
	ld->diags = diags;
	for (int k = 0; k < RULE_KIND__COUNT; k++) {
		ld->sets[k] = xcalloc(1, sizeof *ld->sets[k]);
		ld->sets[k]->kind = (enum rule_kind)k;
		ld->sets[k]->fnv = FNV_OFFSET;
	}
}

/* Reports an error about a whole file or path. */
static void path_error(struct load *ld, const char *path, const char *fmt, const char *detail)
{
	struct rules_src src;
	rules_src_init(&src, path, "", 0, ld->diags);
	rules_src_error(&src, RULES_NO_POS, fmt, detail);
	ld->errors++;
}

static void load_file(struct load *ld, const char *path, const char *text, size_t len)
{
	struct rules_src src;
	struct rules_arena scratch = {0};
	rules_src_init(&src, path, text, len, ld->diags);
	struct ynode *root = rules_yaml_parse(&src, &scratch);
	if (root) {
		int kind = rules_schema_load(&src, root, ld->sets, &ld->ids, &scratch);
		if (kind >= 0) {
			uint64_t n = len;
			unsigned char size_le[8];
			for (int i = 0; i < 8; i++)
				size_le[i] = (unsigned char)(n >> (8 * i));
			ld->sets[kind]->fnv = fnv_update(ld->sets[kind]->fnv, size_le, sizeof size_le);
			ld->sets[kind]->fnv = fnv_update(ld->sets[kind]->fnv, text, len);
		}
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
		snprintf(rs->hash, sizeof rs->hash, "%016llx", (unsigned long long)rs->fnv);
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

static int has_rule_suffix(const char *name)
{
	size_t n = strlen(name);
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct pathlist {
	char **items;
	size_t count, cap;
};

static void pathlist_add(struct pathlist *pl, char *path)
{
	if (pl->count == pl->cap) {
		pl->cap = pl->cap ? pl->cap * 2 : 16;
		pl->items = xrealloc(pl->items, pl->cap * sizeof *pl->items);
	}
	pl->items[pl->count++] = path;
}

/* Adds path, or the rule files of directory path in name order. */
static void expand_path(struct load *ld, const char *path, struct pathlist *files)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		path_error(ld, path, "cannot read: %s", strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		pathlist_add(files, xstrdup(path));
		return;
	}
	DIR *dir = opendir(path);
	if (!dir) {
		path_error(ld, path, "cannot read the directory: %s", strerror(errno));
		return;
	}
	size_t first = files->count;
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.' || !has_rule_suffix(de->d_name))
			continue;
		size_t n = strlen(path) + strlen(de->d_name) + 2;
		char *full = xmalloc(n);
		int slash = path[0] && path[strlen(path) - 1] == '/';
		snprintf(full, n, "%s%s%s", path, slash ? "" : "/", de->d_name);
		pathlist_add(files, full);
	}
	closedir(dir);
	if (files->count == first)
		path_error(ld, path, "%s", "no rule files (*.yaml) in this directory");
	else
		qsort(files->items + first, files->count - first, sizeof *files->items, name_cmp);
}

/* Reads a whole file into a malloc'd buffer; reports and returns NULL on failure. */
static char *read_file(struct load *ld, const char *path, size_t *len)
{
	char *buf, err[256];
	int rc = riskd_read_file(path, RULE_FILE_MAX, &buf, len, err, sizeof(err));
	if (rc == RISKD_ERR_RANGE)
		path_error(ld, path, "%s", "larger than 4 MiB; not a rule file");
	else if (rc)
		path_error(ld, path, "%s", err);
	return buf;
}

int ruleset_load_paths(const char *const *paths, size_t n_paths, enum rule_kind kind,
                       struct ruleset **out, struct rules_diags *diags)
{
	struct load ld;
	struct pathlist files = {0};
	load_init(&ld, diags);
	for (size_t i = 0; i < n_paths; i++)
		expand_path(&ld, paths[i], &files);
	if (n_paths == 0)
		path_error(&ld, "riskd", "%s", "no rule files given");
	for (size_t i = 0; i < files.count; i++) {
		size_t len = 0;
		char *text = read_file(&ld, files.items[i], &len);
		if (text)
			load_file(&ld, files.items[i], text, len);
		free(text);
	}
	int rc = load_finish(&ld, kind, out);
	for (size_t i = 0; i < files.count; i++)
		free(files.items[i]);
	free(files.items);
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

double ruleset_alert_threshold(const struct ruleset *rs)
{
	return rs->kind == RULE_KIND_THEFT ? rs->alert_threshold : 0;
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
