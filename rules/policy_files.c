/*
 * policy_files.c - the one directory walker, content hash and change signature of policy
 * files (see policy_files.h).
 */
#include "policy_files.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rules_int.h"

#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv_update(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV_PRIME;
	}
	return h;
}

static uint64_t fnv_u64(uint64_t h, uint64_t v)
{
	unsigned char le[8];
	for (int i = 0; i < 8; i++)
		le[i] = (unsigned char)(v >> (8 * i));
	return fnv_update(h, le, sizeof le);
}

uint64_t policy_hash_add(uint64_t h, const char *text, size_t len)
{
	return fnv_update(fnv_u64(h, len), text, len);
}

void policy_hash_hex(uint64_t h, char hex[17])
{
	snprintf(hex, 17, "%016llx", (unsigned long long)h);
}

/* Reports an error about a whole path (diags NULL: none, the watch only counts it). */
static void path_error(struct rules_diags *diags, const char *path, const char *message,
                       const char *detail)
{
	if (diags)
		rules_path_error(diags, path, "%s%s", message, detail);
}

static void files_add(struct policy_files *files, char *path)
{
	if (files->count == files->cap) {
		files->cap = files->cap ? files->cap * 2 : 16;
		files->paths = xrealloc(files->paths, files->cap * sizeof *files->paths);
	}
	files->paths[files->count++] = path;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_policy_suffix(const char *name)
{
	size_t n = strlen(name);
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

/* Adds path, or the policy files of directory path in name order. Returns -1 on an error. */
static int expand_path(const char *path, const char *noun, struct policy_files *files,
                       struct rules_diags *diags)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		path_error(diags, path, "cannot read: ", strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		files_add(files, xstrdup(path));
		return 0;
	}
	DIR *dir = opendir(path);
	if (!dir) {
		path_error(diags, path, "cannot read the directory: ", strerror(errno));
		return -1;
	}
	size_t first = files->count;
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.' || !has_policy_suffix(de->d_name))
			continue;
		size_t n = strlen(path) + strlen(de->d_name) + 2;
		char *full = xmalloc(n);
		int slash = path[0] && path[strlen(path) - 1] == '/';
		snprintf(full, n, "%s%s%s", path, slash ? "" : "/", de->d_name);
		files_add(files, full);
	}
	closedir(dir);
	if (files->count == first) {
		char message[96];
		snprintf(message, sizeof message, "no %s (*.yaml) in this directory", noun);
		path_error(diags, path, message, "");
		return -1;
	}
	qsort(files->paths + first, files->count - first, sizeof *files->paths, name_cmp);
	return 0;
}

size_t policy_files_expand(const char *const *paths, size_t n_paths, const char *noun,
                           struct policy_files *files, struct rules_diags *diags)
{
	size_t failed = 0;
	for (size_t i = 0; i < n_paths; i++)
		failed += expand_path(paths[i], noun, files, diags) < 0;
	return failed;
}

void policy_files_free(struct policy_files *files)
{
	for (size_t i = 0; i < files->count; i++)
		free(files->paths[i]);
	free(files->paths);
	files->paths = NULL;
	files->count = files->cap = 0;
}

uint64_t policy_files_signature(const char *const *paths, size_t n_paths)
{
	struct policy_files files = {0};
	uint64_t sig = fnv_u64(POLICY_HASH_INIT, policy_files_expand(paths, n_paths, "", &files,
	                                                             NULL));
	for (size_t i = 0; i < files.count; i++) {
		struct stat st;
		const char *path = files.paths[i];
		sig = policy_hash_add(sig, path, strlen(path));
		if (stat(path, &st) != 0) {
			sig = fnv_u64(sig, (uint64_t)errno);
			continue;
		}
		sig = fnv_u64(sig, (uint64_t)st.st_size);
		sig = fnv_u64(sig, (uint64_t)st.st_mtim.tv_sec);
		sig = fnv_u64(sig, (uint64_t)st.st_mtim.tv_nsec);
		/* The contents too: an edit of the same size within one tick of the file system's
		 * clock, or a copy that keeps the old time, changes nothing above. Policy files are
		 * a few KiB, read every 2 s. */
		char *text = NULL, err[128];
		size_t len = 0;
		int rc = riskd_read_file(path, POLICY_FILE_MAX, &text, &len, err, sizeof err);
		sig = rc == 0 ? policy_hash_add(sig, text, len) : fnv_u64(sig, (uint64_t)-rc);
		free(text);
	}
	policy_files_free(&files);
	return sig;
}

char *policy_file_read(const char *path, const char *what, size_t *len,
                       struct rules_diags *diags)
{
	char *buf, err[256];
	int rc = riskd_read_file(path, POLICY_FILE_MAX, &buf, len, err, sizeof(err));
	if (rc == RISKD_ERR_RANGE)
		rules_path_error(diags, path, "larger than 4 MiB; not %s", what);
	else if (rc)
		rules_path_error(diags, path, "%s", err);
	return buf;
}
