/*
 * policy_files.h - the files of a policy: which files a list of paths names, what their
 * contents hash to, and whether they changed. Shared by every policy file format (rule sets,
 * rules/ruleset.h; scorecards, rules/scorecard_load.h) and by the detector's file watch
 * (detector/scorer.c, detector/grader.c), so that a directory means the same files to the
 * loader, the hash and the watch.
 */
#ifndef RISKD_POLICY_FILES_H
#define RISKD_POLICY_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "ruleset.h"

/* A list of policy files, in load order. Zero-initialise; policy_files_free releases. */
struct policy_files {
	char **paths;
	size_t count, cap;
};

/*
 * Appends the files of paths[0 .. n_paths) to files: a path that is not a directory as it is;
 * a directory's *.yaml and *.yml files (not recursive, no hidden files), in byte order of the
 * names. Each path that cannot be read, and each directory without such a file, gets one
 * diagnostic without position in diags ("no <noun> (*.yaml) in this directory": noun is
 * "rule files", "scorecards"). Returns the number of paths that failed (0: all expanded).
 */
size_t policy_files_expand(const char *const *paths, size_t n_paths, const char *noun,
                           struct policy_files *files, struct rules_diags *diags);

/* Largest policy file read, in bytes. */
#define POLICY_FILE_MAX (4u << 20)

/*
 * Reads the whole file at path into a malloc'd buffer (not NUL-terminated; *len bytes). On
 * failure appends one diagnostic without position to diags ("cannot read: ...", or "larger
 * than 4 MiB; not <what>": what is "a rule file", "a scorecard") and returns NULL.
 */
char *policy_file_read(const char *path, const char *what, size_t *len,
                       struct rules_diags *diags);

/* Frees the list; it is empty and reusable afterwards. */
void policy_files_free(struct policy_files *files);

/*
 * A signature of what policy_files_expand finds at paths now: each file's name, size,
 * modification time and contents, and the paths that cannot be read. Equal signatures mean
 * no file was added, removed, touched or changed - an edit that keeps the size and the
 * modification time included. For a watch that polls (policy files are small).
 */
uint64_t policy_files_signature(const char *const *paths, size_t n_paths);

/* Content hash of a policy: 64-bit FNV-1a, started at POLICY_HASH_INIT, over the length
 * (8 bytes, little-endian) and the bytes of each file in load order. The same bytes give
 * the same hash wherever the files sit. */
#define POLICY_HASH_INIT 0xcbf29ce484222325ULL

/* Adds one file of len bytes to hash h; returns the new hash. */
uint64_t policy_hash_add(uint64_t h, const char *text, size_t len);

/* Writes h as 16 lower-case hex digits and a NUL into hex. */
void policy_hash_hex(uint64_t h, char hex[17]);

#endif
