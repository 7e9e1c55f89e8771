/*
 * riskctl_rules.c - `riskctl rules`: the rule author's tools. check loads rule files and prints
 * every error; test runs every rule's tests; explain shows what a rule reads and its compiled
 * program; features lists the feature registry rules can read (and, with --attributes, the
 * customer attributes a schema declares, which cards and rules read beside them). check,
 * test and explain take --attributes FILE too: the schema their rule files are checked
 * against, so that rules of every kind (theft, credit, operating) may name its attributes.
 */
#include <stdio.h>
#include <string.h>

#include "../rules/attributes_load.h"
#include "../rules/ruleset.h"
#include "riskctl.h"

static void rules_usage(FILE *out)
{
	fprintf(out,
	        "usage: riskctl rules check PATH...          load rule files (or directories of "
	        "*.yaml), print every error\n"
	        "       riskctl rules test PATH...           run every rule's tests\n"
	        "       riskctl rules explain PATH [RULE_ID] show rules' features and compiled "
	        "programs\n"
	        "         (check, test, explain: --attributes FILE first checks rule files against\n"
	        "          the attribute schema FILE, so that theft, credit and operating rules may\n"
	        "          read its attributes)\n"
	        "       riskctl rules features [--markdown] [--attributes FILE]\n"
	        "                                      list the features rules can read, and the\n"
	        "                                      attributes FILE declares (cards and rules\n"
	        "                                      read them)\n"
	        "       riskctl rules stats [--json]         per rule and rule-set version: hits, "
	        "alerts, precision\n"
	        "exit status: 0 success, 1 errors or failed tests, 2 usage\n");
}

/* Loads both kinds from paths. Prints the diagnostics to stderr and returns -1 on failure. */
static int load_both(char **paths, int n, struct ruleset *sets[RULE_KIND__COUNT])
{
	for (int k = 0; k < RULE_KIND__COUNT; k++) {
		struct rules_diags diags = {0};
		sets[k] = NULL;
		if (ruleset_load_paths((const char *const *)paths, (size_t)n, (enum rule_kind)k,
		                       &sets[k], &diags) < 0) {
			struct rbuf text = {0};
			rules_diags_render(&diags, &text);
			fwrite(text.data, 1, text.len, stderr);
			fprintf(stderr, "%zu error%s\n", diags.count, diags.count == 1 ? "" : "s");
			rbuf_free(&text);
			rules_diags_free(&diags);
			for (int j = 0; j < k; j++)
				ruleset_free(sets[j]);
			return -1;
		}
		rules_diags_free(&diags);
	}
	return 0;
}

static void free_both(struct ruleset *sets[RULE_KIND__COUNT])
{
	for (int k = 0; k < RULE_KIND__COUNT; k++)
		ruleset_free(sets[k]);
}

static int cmd_check(int argc, char **argv)
{
	struct ruleset *sets[RULE_KIND__COUNT];
	if (argc < 2) {
		rules_usage(stderr);
		return 2;
	}
	if (load_both(argv + 1, argc - 1, sets) < 0)
		return 1;
	for (int k = 0; k < RULE_KIND__COUNT; k++) {
		const struct ruleset *rs = sets[k];
		size_t n = ruleset_rule_count(rs), shadow = 0;
		if (n == 0)
			continue;
		for (size_t i = 0; i < n; i++)
			shadow += ruleset_rule(rs, i)->mode == RULE_MODE_SHADOW;
		printf("%s: %s version %s hash %s: %zu rules (%zu shadow)\n",
		       rule_kind_name((enum rule_kind)k), ruleset_name(rs), ruleset_version(rs),
		       ruleset_hash(rs), n, shadow);
	}
	free_both(sets);
	return 0;
}

static int cmd_test(int argc, char **argv)
{
	struct ruleset *sets[RULE_KIND__COUNT];
	size_t passed = 0, failed = 0;
	if (argc < 2) {
		rules_usage(stderr);
		return 2;
	}
	if (load_both(argv + 1, argc - 1, sets) < 0)
		return 1;
	struct rbuf failures = {0};
	for (int k = 0; k < RULE_KIND__COUNT; k++) {
		size_t p = 0, f = 0;
		ruleset_tests_run(sets[k], &failures, &p, &f);
		passed += p;
		failed += f;
	}
	if (failures.len)
		fwrite(failures.data, 1, failures.len, stdout);
	printf("%zu passed, %zu failed\n", passed, failed);
	rbuf_free(&failures);
	free_both(sets);
	return failed ? 1 : 0;
}

static int cmd_explain(int argc, char **argv)
{
	struct ruleset *sets[RULE_KIND__COUNT];
	if (argc != 2 && argc != 3) {
		rules_usage(stderr);
		return 2;
	}
	const char *rule_id = argc == 3 ? argv[2] : NULL;
	if (load_both(argv + 1, 1, sets) < 0)
		return 1;
	struct rbuf out = {0};
	int found = 0;
	for (int k = 0; k < RULE_KIND__COUNT; k++) {
		if (ruleset_rule_count(sets[k]) == 0)
			continue;
		if (rule_id && ruleset_rule_find(sets[k], rule_id) < 0)
			continue;
		if (out.len)
			rbuf_puts(&out, "\n");
		if (!rule_id)
			rbuf_printf(&out, "# %s rule set %s version %s hash %s\n\n",
			            rule_kind_name((enum rule_kind)k), ruleset_name(sets[k]),
			            ruleset_version(sets[k]), ruleset_hash(sets[k]));
		ruleset_explain(sets[k], rule_id, &out);
		found = 1;
	}
	if (out.len)
		fwrite(out.data, 1, out.len, stdout);
	rbuf_free(&out);
	free_both(sets);
	if (rule_id && !found) {
		char shown[RISKCTL_SHOWN_MAX], shown_path[RISKCTL_SHOWN_MAX];
		fprintf(stderr, "riskctl rules explain: no rule '%s' in %s\n",
		        riskctl_shown(rule_id, shown, sizeof(shown)),
		        riskctl_shown(argv[1], shown_path, sizeof(shown_path)));
		return 1;
	}
	return 0;
}

static const char *type_name(enum feature_type type)
{
	return type == FEATURE_NUM ? "number" : type == FEATURE_BOOL ? "boolean" : "symbol";
}

/* Appends ` (one of "a", "b")` to the text in doc (size bytes) for count values (none: nothing). */
static void append_values(char *doc, size_t size, const char *const *values, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		size_t used = strlen(doc);
		snprintf(doc + used, size - used, "%s\"%s\"%s", i ? ", " : " (one of ", values[i],
		         i + 1 == count ? ")" : "");
	}
}

struct attr_schema *riskctl_load_attributes(const char *path)
{
	struct attr_schema *schema = NULL;
	struct rules_diags diags = {0};
	if (attributes_load_path(path, &schema, &diags) != 0) {
		struct rbuf text = {0};
		rules_diags_render(&diags, &text);
		fwrite(text.data, 1, text.len, stderr);
		rbuf_free(&text);
	}
	rules_diags_free(&diags);
	return schema;
}

/* Prints the attributes of the schema at path as rows of the feature list. Returns 0, or 1
 * after printing the schema's errors. */
static int print_attributes(const char *path, int markdown)
{
	struct attr_schema *schema = riskctl_load_attributes(path);
	if (!schema)
		return 1;
	for (size_t i = 0; i < schema->count; i++) {
		const struct attr_def *def = &schema->defs[i];
		const char *type = def->type == ATTR_NUMBER ? "number" : "category";
		char doc[600];
		snprintf(doc, sizeof doc, "customer attribute (cards and rules read it)%s%s",
		         def->description[0] ? ": " : "", def->description);
		append_values(doc, sizeof doc, (const char *const *)def->values, def->n_values);
		if (markdown)
			printf("| `%s` | %s | - | %s |\n", def->name, type, doc);
		else
			printf("%-24s %-8s %-7s %s\n", def->name, type, "-", doc);
	}
	attr_schema_free(schema);
	return 0;
}

static int cmd_features(int argc, char **argv)
{
	int markdown = 0;
	const char *attributes = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--markdown") == 0 && !markdown) {
			markdown = 1;
		} else if (strcmp(argv[i], "--attributes") == 0 && !attributes && i + 1 < argc) {
			attributes = argv[++i];
		} else {
			rules_usage(stderr);
			return 2;
		}
	}
	if (markdown)
		printf("| feature | type | unit | meaning |\n|---|---|---|---|\n");
	else
		printf("%-24s %-8s %-7s %s\n", "FEATURE", "TYPE", "UNIT", "MEANING");
	for (int f = 0; f < FEAT__COUNT; f++) {
		const struct feature_def *def = feature_def((enum feature_id)f);
		char doc[512];
		size_t count = 0;
		const char *const *symbols = feature_symbols(def->id, &count);
		snprintf(doc, sizeof doc, "%s", def->doc);
		append_values(doc, sizeof doc, symbols, count);
		if (markdown)
			printf("| `%s` | %s | %s | %s |\n", def->name, type_name(def->type), def->unit,
			       doc);
		else
			printf("%-24s %-8s %-7s %s\n", def->name, type_name(def->type),
			       def->unit[0] ? def->unit : "-", doc);
	}
	return attributes ? print_attributes(attributes, markdown) : 0;
}

int rules_main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		rules_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *cmd = argv[1];
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} loaders[] = {{"check", cmd_check}, {"test", cmd_test}, {"explain", cmd_explain}};
	for (size_t i = 0; i < sizeof loaders / sizeof loaders[0]; i++) {
		if (strcmp(cmd, loaders[i].name) != 0)
			continue;
		if (argc < 4 || strcmp(argv[2], "--attributes") != 0)
			return loaders[i].run(argc - 1, argv + 1);
		struct attr_schema *schema = riskctl_load_attributes(argv[3]);
		if (!schema)
			return 1;
		ruleset_use_attributes(schema);
		argv[3] = argv[1]; /* the command's own argv[0] */
		int rc = loaders[i].run(argc - 3, argv + 3);
		ruleset_use_attributes(NULL);
		attr_schema_free(schema);
		return rc;
	}
	if (strcmp(cmd, "features") == 0)
		return cmd_features(argc - 1, argv + 1);
	if (strcmp(cmd, "stats") == 0)
		return rules_stats_main(argc - 1, argv + 1);
	char shown[RISKCTL_SHOWN_MAX];
	fprintf(stderr, "riskctl rules: unknown command '%s'\n",
	        riskctl_shown(cmd, shown, sizeof(shown)));
	rules_usage(stderr);
	return 2;
}
