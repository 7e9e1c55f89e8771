/*
 * store_schema.h - the versions of riskd's database schema: applying the migrations of deploy/sql
 * to a database (riskctl migrate), and checking that a database has exactly the versions this
 * build knows (riskd at startup).
 *
 * A migration is a file NNN_name.sql; its version is the file name without ".sql", and
 * migrations apply in the order of their number. A database records each applied version,
 * when, and the SHA-256 of the file's bytes in public.schema_migrations. Applying is
 * serialised by an advisory lock (two operators, or two stacks, cannot interleave), and each
 * file runs in one transaction together with its record: a failing file leaves nothing
 * behind. A file that changed after it was applied is refused: the database would no longer
 * match the files, and the fix is a new migration.
 */
#ifndef RISKD_STORE_SCHEMA_H
#define RISKD_STORE_SCHEMA_H

#include <stddef.h>
#include <stdio.h>

/* One migration file. */
struct migration {
	char *version;   /* "011_attribution" */
	char *path;      /* the file it was read from */
	char *sql;       /* its bytes, NUL-terminated */
	size_t len;      /* their length */
};

/* The migrations of a directory, in order. Zero-initialise; free with migration_set_free. */
struct migration_set {
	struct migration *items;
	size_t count;
};

/*
 * Reads every *.sql file of dir into *set in the order of their numbers. Every file name must
 * be NNN_name.sql (digits, '_', then letters, digits, '_', '.', '-'); two files with the same
 * number are an error. Returns 0, or RISKD_ERR_IO / RISKD_ERR_INVALID with a one-line message
 * naming the directory or file in errstr (set is then empty).
 */
int migration_set_read(struct migration_set *set, const char *dir, char *errstr,
                       size_t errstr_size);

/* Frees the set's files; it is empty afterwards. */
void migration_set_free(struct migration_set *set);

/* What store_schema_migrate does. */
enum migrate_mode {
	MIGRATE_APPLY = 0,   /* apply the pending migrations */
	MIGRATE_DRY_RUN = 1  /* only tell which would be applied; nothing is written, so a role
	                        that may only read the schema can run it */
};

/*
 * Connects to dsn and brings its database to set: takes the migration lock, creates
 * public.schema_migrations when missing (and adds its checksum column to one an older
 * local stack created), then checks every recorded version against set and applies the
 * pending ones in order, writing one line per migration (applied, or would apply) and a last
 * line with the outcome to out. A version recorded without a checksum (applied before
 * checksums were kept) takes the checksum of its file. Returns 0, or, with a one-line message
 * in errstr and nothing applied past the failure:
 *   RISKD_ERR_CONFLICT  a recorded version whose file changed, or that set does not have (the
 *                       database was migrated by a newer riskd);
 *   RISKD_ERR_INVALID   a migration failed (errstr names its file:line:col and the server's
 *                       message; its transaction rolled back);
 *   RISKD_ERR_UNAVAILABLE  the database cannot be reached; RISKD_ERR_IO  a query failed.
 */
int store_schema_migrate(const char *dsn, const struct migration_set *set,
                         enum migrate_mode mode, FILE *out, char *errstr, size_t errstr_size);

/* The versions this build of riskd was made with (deploy/sql at build time), in order. */
extern const char *const migrate_known_versions[];
extern const size_t migrate_known_count;

/* riskd's check of a database against migrate_known_versions is store_schema_check
 * (store_int.h), run on every connection the store opens. */

#endif
