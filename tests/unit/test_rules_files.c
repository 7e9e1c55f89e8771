/*
 * test_rules_files.c - Criterion suite for rules/policy_files.c: the one directory walker of
 * policy files (order, suffixes, hidden files, errors), the content hash rule sets and
 * scorecards share, and the change signature behind the file watch.
 */
#include "config/riskd_base.h"
#include "rules/policy_files.h"
#include "rules/ruleset.h"
#include "rules/scorecard_load.h"

#include <criterion/criterion.h>

#include <fcntl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof dir, "/tmp/riskd-policy-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void write_file(const char *name, const char *text)
{
	char path[160];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *fp = fopen(path, "w");
	cr_assert_not_null(fp, "%s", path);
	fputs(text, fp);
	fclose(fp);
}

static void remove_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(policy_files);

Test(policy_files, directories_give_yaml_files_in_name_order)
{
	make_dir();
	write_file("b.yaml", "x");
	write_file("a.yml", "x");
	write_file("c.txt", "x");
	write_file(".hidden.yaml", "x");
	write_file("Z.yaml", "x");
	struct policy_files files = {0};
	struct rules_diags diags = {0};
	char slashed[80];
	snprintf(slashed, sizeof slashed, "%s/", dir);
	const char *paths[] = {dir, slashed};
	cr_assert_eq(policy_files_expand(paths, 2, "rule files", &files, &diags), 0);
	cr_assert_eq(diags.count, 0);
	cr_assert_eq(files.count, 6);
	static const char *const want[] = {"Z.yaml", "a.yml", "b.yaml"};
	for (size_t i = 0; i < 6; i++) {
		char expect[160];
		snprintf(expect, sizeof expect, "%s/%s", dir, want[i % 3]);
		cr_assert_str_eq(files.paths[i], expect, "a trailing '/' is not doubled");
	}
	policy_files_free(&files);
	cr_assert_eq(files.count, 0);
	remove_dir();
}

Test(policy_files, unreadable_paths_and_empty_directories_are_reported)
{
	make_dir();
	struct policy_files files = {0};
	struct rules_diags diags = {0};
	const char *paths[] = {"/nonexistent-riskd-policy.yaml", dir, "rules/theft.yaml"};
	cr_assert_eq(policy_files_expand(paths, 3, "scorecards", &files, &diags), 2);
	cr_assert_eq(files.count, 1, "the readable file is still listed");
	cr_assert_str_eq(files.paths[0], "rules/theft.yaml");
	cr_assert_eq(diags.count, 2);
	cr_assert_str_eq(diags.items[0].text, "/nonexistent-riskd-policy.yaml: error: cannot read: "
	                                      "No such file or directory\n");
	char want[160];
	snprintf(want, sizeof want, "%s: error: no scorecards (*.yaml) in this directory\n", dir);
	cr_assert_str_eq(diags.items[1].text, want);
	cr_assert_eq(diags.items[1].line, 0);
	policy_files_free(&files);
	rules_diags_free(&diags);
	remove_dir();
}

/* A FIFO (or socket, or device) among the policy files is an error naming it, never a read
 * that waits for a writer: the load returns at once and the regular files still load. */
Test(policy_files, a_fifo_is_refused_with_its_name_and_never_blocks)
{
	make_dir();
	char fifo[160];
	snprintf(fifo, sizeof fifo, "%s/b.yaml", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	struct rules_diags diags = {0};
	size_t len = 0;
	alarm(20); /* a blocking open would hang here: fail the test instead */
	char *text = policy_file_read(fifo, "a rule file", &len, &diags);
	alarm(0);
	cr_assert_null(text);
	cr_assert_eq(diags.count, 1);
	char want[260];
	snprintf(want, sizeof want, "%s: error: cannot read: a FIFO, not a regular file\n", fifo);
	cr_assert_str_eq(diags.items[0].text, want);
	rules_diags_free(&diags);

	/* the same through the rule-set loader over the directory */
	write_file("a.yaml", "kind: theft\n");
	struct ruleset *rs = NULL;
	const char *paths[] = {dir};
	alarm(20);
	int rc = ruleset_load_paths(paths, 1, RULE_KIND_THEFT, &rs, &diags);
	alarm(0);
	cr_assert_neq(rc, 0);
	cr_assert_null(rs);
	int named = 0;
	for (size_t i = 0; i < diags.count; i++)
		named += strstr(diags.items[i].text, want) != NULL;
	cr_assert_eq(named, 1, "the FIFO is named once among the diagnostics");
	rules_diags_free(&diags);
	remove_dir();
}

Test(policy_files, one_content_hash_for_rule_sets_and_cards)
{
	/* FNV-1a 64 of the 8-byte length and the bytes; empty input: length 0 only. */
	char hex[17];
	policy_hash_hex(POLICY_HASH_INIT, hex);
	cr_assert_str_eq(hex, "cbf29ce484222325");
	uint64_t h = policy_hash_add(POLICY_HASH_INIT, "", 0);
	cr_assert_neq(h, POLICY_HASH_INIT, "the length is hashed too");
	cr_assert_neq(policy_hash_add(POLICY_HASH_INIT, "ab", 2),
	              policy_hash_add(policy_hash_add(POLICY_HASH_INIT, "a", 1), "b", 1),
	              "file boundaries count");

	/* A card's hash is the hash of its one file; a rule set's, of its files of its kind. */
	struct rules_diags diags = {0};
	struct scorecard *card = NULL;
	cr_assert_eq(scorecard_load_path("scoring/cards/residential.yaml", &card, &diags), 0);
	size_t len;
	char *text = policy_file_read("scoring/cards/residential.yaml", "a scorecard", &len, &diags);
	cr_assert_not_null(text);
	policy_hash_hex(policy_hash_add(POLICY_HASH_INIT, text, len), hex);
	cr_assert_str_eq(scorecard_hash(card), hex);
	free(text);
	scorecard_free(card);

	struct ruleset *rs = NULL;
	const char *paths[] = {"rules/theft.yaml"};
	cr_assert_eq(ruleset_load_paths(paths, 1, RULE_KIND_THEFT, &rs, &diags), 0);
	text = policy_file_read("rules/theft.yaml", "a rule file", &len, &diags);
	policy_hash_hex(policy_hash_add(POLICY_HASH_INIT, text, len), hex);
	cr_assert_str_eq(ruleset_hash(rs), hex);
	free(text);
	ruleset_free(rs);
	cr_assert_eq(diags.count, 0);
}

Test(policy_files, too_large_files_are_refused)
{
	make_dir();
	char path[160];
	snprintf(path, sizeof path, "%s/big.yaml", dir);
	FILE *fp = fopen(path, "w");
	cr_assert_not_null(fp);
	cr_assert_eq(fseek(fp, POLICY_FILE_MAX, SEEK_SET), 0);
	fputc('x', fp);
	fclose(fp);
	struct rules_diags diags = {0};
	size_t len;
	cr_assert_null(policy_file_read(path, "a scorecard", &len, &diags));
	char want[256];
	snprintf(want, sizeof want, "%s: error: larger than 4 MiB; not a scorecard\n", path);
	cr_assert_str_eq(diags.items[0].text, want);
	rules_diags_free(&diags);
	remove_dir();
}

Test(policy_files, signature_changes_with_any_file_and_only_then)
{
	make_dir();
	write_file("a.yaml", "one");
	const char *paths[] = {dir};
	uint64_t sig = policy_files_signature(paths, 1);
	cr_assert_eq(policy_files_signature(paths, 1), sig, "stable while nothing changes");
	write_file("notes.txt", "not a policy file");
	cr_assert_eq(policy_files_signature(paths, 1), sig, "other files do not count");

	write_file("a.yaml", "two"); /* same size: the modification time tells */
	char path[160];
	snprintf(path, sizeof path, "%s/a.yaml", dir);
	struct timespec times[2] = {{0, UTIME_OMIT}, {12345, 678}};
	cr_assert_eq(utimensat(AT_FDCWD, path, times, 0), 0);
	uint64_t touched = policy_files_signature(paths, 1);
	cr_assert_neq(touched, sig);

	write_file("b.yaml", "new");
	uint64_t added = policy_files_signature(paths, 1);
	cr_assert_neq(added, touched, "a new file");
	snprintf(path, sizeof path, "%s/b.yaml", dir);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(policy_files_signature(paths, 1), touched, "removed again");

	const char *single[] = {path};
	uint64_t gone = policy_files_signature(single, 1);
	write_file("b.yaml", "back");
	cr_assert_neq(policy_files_signature(single, 1), gone, "a file path appears");
	remove_dir();
}
