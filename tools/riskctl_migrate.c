/*
 * riskctl_migrate.c - `riskctl migrate`: brings a database to the schema of deploy/sql
 * (detector/store_schema.h), for operators upgrading riskd and for the local stack alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../config/config.h"
#include "../config/riskd_base.h"
#include "../detector/store_schema.h"
#include "riskctl.h"

enum { MIGRATE_EXIT_OK = 0, MIGRATE_EXIT_REFUSED = 1, MIGRATE_EXIT_USAGE = 2,
       MIGRATE_EXIT_UNREACHABLE = 3 };

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: riskctl migrate [--dsn DSN | --config FILE] [--dir DIR] [--dry-run]\n"
	        "\n"
	        "Applies the migrations of DIR that the database has not had,\n"
	        "in order, each in one transaction, and records each with the SHA-256 of its file\n"
	        "in public.schema_migrations. A migration changed after it was applied, or a\n"
	        "database migrated by a newer riskd, is refused. Safe to run again: it then says\n"
	        "the database is up to date.\n"
	        "\n"
	        "  --dsn DSN      libpq connection string (the password: PGPASSWORD or PGPASSFILE);\n"
	        "                without it, postgres.dsn of --config (default config/riskd.yaml\n"
	        "                when present), var/stack.env and RISKD_PG_DSN, as riskd reads them\n"
	        "  --dir DIR      the migrations directory (default: deploy/sql when it exists in\n"
	        "                the working directory, else PREFIX/share/riskd/sql beside the\n"
	        "                installed riskctl, PREFIX/bin/riskctl)\n"
	        "  --dry-run      list what would be applied; change nothing\n"
	        "\n"
	        "exit status: 0 done (or nothing to do), 1 refused or a migration failed (rolled\n"
	        "back), 2 usage, 3 the database cannot be reached\n");
}

/* The DSN of --config's postgres.dsn (and what overrides it), into cfg. */
static int configured_dsn(const char *path, struct riskd_config *cfg)
{
	char errstr[1024];
	if (!path && access("config/riskd.yaml", R_OK) == 0)
		path = "config/riskd.yaml";
	if (config_load(cfg, path, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "riskctl migrate: %s\n", errstr);
		return MIGRATE_EXIT_USAGE;
	}
	return MIGRATE_EXIT_OK;
}

/* Parses the options. Returns -1 to go on, or an exit code. */
static int parse(int argc, char **argv, const char **dsn, const char **config, const char **dir,
                 int *dry_run)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **value = strcmp(a, "--dsn") == 0      ? dsn
		                     : strcmp(a, "--config") == 0 ? config
		                     : strcmp(a, "--dir") == 0    ? dir
		                                                  : NULL;
		char shown[RISKCTL_SHOWN_MAX];
		if (value) {
			if (i + 1 >= argc) {
				fprintf(stderr, "riskctl migrate: %s needs a value\n", a);
				return MIGRATE_EXIT_USAGE;
			}
			*value = argv[++i];
		} else if (strcmp(a, "--dry-run") == 0) {
			*dry_run = 1;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return MIGRATE_EXIT_OK;
		} else {
			fprintf(stderr, "riskctl migrate: unknown argument '%s' (see riskctl migrate "
			        "--help)\n", riskctl_shown(a, shown, sizeof(shown)));
			return MIGRATE_EXIT_USAGE;
		}
	}
	if (*dsn && *config) {
		fprintf(stderr, "riskctl migrate: give --dsn or --config, not both\n");
		return MIGRATE_EXIT_USAGE;
	}
	return -1;
}

/* The default migrations directory: deploy/sql of a checkout (the working directory), else
 * the installed one, PREFIX/share/riskd/sql for this program's PREFIX/bin/riskctl. */
static const char *default_dir(char *buf, size_t size)
{
	if (access("deploy/sql", R_OK | X_OK) == 0)
		return "deploy/sql";
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	if (n <= 0)
		return "deploy/sql";
	buf[n] = '\0';
	for (int up = 0; up < 2; up++) { /* PREFIX/bin/riskctl -> PREFIX */
		char *slash = strrchr(buf, '/');
		if (!slash)
			return "deploy/sql";
		*slash = '\0';
	}
	size_t len = strlen(buf);
	snprintf(buf + len, size - len, "/share/riskd/sql");
	return buf;
}

int migrate_main(int argc, char **argv)
{
	char installed[4096];
	const char *dsn = NULL, *config = NULL, *dir = default_dir(installed, sizeof(installed));
	int dry_run = 0;
	int rc = parse(argc, argv, &dsn, &config, &dir, &dry_run);
	if (rc >= 0)
		return rc;
	static struct riskd_config cfg;
	if (!dsn) {
		rc = configured_dsn(config, &cfg);
		if (rc != MIGRATE_EXIT_OK)
			return rc;
		dsn = cfg.pg_dsn;
	}
	char errstr[1024];
	struct migration_set set;
	if (migration_set_read(&set, dir, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "riskctl migrate: %s\n", errstr);
		return MIGRATE_EXIT_USAGE;
	}
	rc = store_schema_migrate(dsn, &set, dry_run ? MIGRATE_DRY_RUN : MIGRATE_APPLY, stdout,
	                          errstr, sizeof(errstr));
	if (rc)
		fprintf(stderr, "riskctl migrate: %s\n", errstr);
	migration_set_free(&set);
	if (rc == 0)
		return MIGRATE_EXIT_OK;
	return rc == RISKD_ERR_UNAVAILABLE ? MIGRATE_EXIT_UNREACHABLE : MIGRATE_EXIT_REFUSED;
}
