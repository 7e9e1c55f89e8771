/*
 * store_schema.c - applies deploy/sql's migrations with their checksums, and checks a database
 * against the versions this build knows (store_schema.h).
 */
#include "store_schema.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "../config/riskd_base.h"
#include "store_int.h"

/* The versions of deploy/sql when this file was compiled: the Makefile writes one quoted
 * version per line into its build directory's gen/schema_versions.h. */
const char *const migrate_known_versions[] = {
#include "schema_versions.h"
};
const size_t migrate_known_count =
	sizeof migrate_known_versions / sizeof migrate_known_versions[0];

/* Largest migration file read. */
#define MIGRATION_MAX_BYTES (16u << 20)
/* The key of the advisory lock that serialises migrations. */
#define MIGRATE_LOCK_SQL "hashtext('riskd.migrate')"
/* SHA-256 in hex, and its NUL. */
#define CHECKSUM_LEN 65

static void say(char *errstr, size_t errstr_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *errstr, size_t errstr_size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errstr, errstr_size, fmt, ap);
	va_end(ap);
}

/* The number of a migration file name "NNN_name.sql", or -1 when the name is not one. */
static long version_number(const char *name)
{
	size_t len = strlen(name), digits = 0;
	while (isdigit((unsigned char)name[digits]))
		digits++;
	if (digits == 0 || digits > 9 || name[digits] != '_' || len < digits + 6 ||
	    strcmp(name + len - 4, ".sql") != 0)
		return -1;
	for (size_t i = digits + 1; i < len - 4; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '_' && c != '.' && c != '-')
			return -1;
	}
	return strtol(name, NULL, 10);
}

static int cmp_migration(const void *x, const void *y)
{
	const struct migration *a = x, *b = y;
	long na = strtol(a->version, NULL, 10), nb = strtol(b->version, NULL, 10);
	if (na != nb)
		return na < nb ? -1 : 1;
	return strcmp(a->version, b->version);
}

/* Reads dir/name into a new entry of set. Returns 0 or a riskd_err with errstr set. */
static int set_add(struct migration_set *set, const char *dir, const char *name, char *errstr,
                   size_t errstr_size)
{
	size_t path_len = strlen(dir) + 1 + strlen(name) + 1;
	char *path = xmalloc(path_len);
	snprintf(path, path_len, "%s/%s", dir, name);
	char *data;
	size_t len;
	char why[256];
	int rc = riskd_read_file(path, MIGRATION_MAX_BYTES, &data, &len, why, sizeof(why));
	if (rc) {
		say(errstr, errstr_size, "%s: %s", path, why);
		free(path);
		return rc;
	}
	if (memchr(data, '\0', len)) {
		say(errstr, errstr_size, "%s: holds a NUL byte: not an SQL text file", path);
		free(data);
		free(path);
		return RISKD_ERR_INVALID;
	}
	data = xrealloc(data, len + 1);
	data[len] = '\0';
	set->items = xrealloc(set->items, sizeof(*set->items) * (set->count + 1));
	struct migration *m = &set->items[set->count++];
	m->version = xstrdup(name);
	m->version[strlen(name) - 4] = '\0';
	m->path = path;
	m->sql = data;
	m->len = len;
	return 0;
}

int migration_set_read(struct migration_set *set, const char *dir, char *errstr,
                       size_t errstr_size)
{
	memset(set, 0, sizeof(*set));
	DIR *d = opendir(dir);
	if (!d) {
		say(errstr, errstr_size, "%s: cannot read the migrations directory: %s", dir,
		    strerror(errno));
		return RISKD_ERR_IO;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 4 || strcmp(e->d_name + len - 4, ".sql") != 0)
			continue;
		if (version_number(e->d_name) < 0) {
			say(errstr, errstr_size, "%s/%s: a migration is named NNN_name.sql (digits, "
			    "'_', then letters, digits, '_', '.' or '-')", dir, e->d_name);
			rc = RISKD_ERR_INVALID;
			break;
		}
		rc = set_add(set, dir, e->d_name, errstr, errstr_size);
	}
	closedir(d);
	if (rc == 0 && set->count)
		qsort(set->items, set->count, sizeof(*set->items), cmp_migration);
	for (size_t i = 1; rc == 0 && i < set->count; i++) {
		if (strtol(set->items[i].version, NULL, 10) ==
		    strtol(set->items[i - 1].version, NULL, 10)) {
			say(errstr, errstr_size, "%s and %s: two migrations with one number",
			    set->items[i - 1].path, set->items[i].path);
			rc = RISKD_ERR_INVALID;
		}
	}
	if (rc == 0 && set->count == 0) {
		say(errstr, errstr_size, "%s: no migration (*.sql) in the directory", dir);
		rc = RISKD_ERR_NOT_FOUND;
	}
	if (rc)
		migration_set_free(set);
	return rc;
}

void migration_set_free(struct migration_set *set)
{
	for (size_t i = 0; i < set->count; i++) {
		free(set->items[i].version);
		free(set->items[i].path);
		free(set->items[i].sql);
	}
	free(set->items);
	memset(set, 0, sizeof(*set));
}

/* ---- talking to the database ---- */

/* Maps a failed result (NULL: the connection's) to a riskd_err and "what: message" in
 * errstr (the server's message on one line). Clears res. */
static int failed(PGconn *conn, PGresult *res, const char *what, char *errstr,
                  size_t errstr_size)
{
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (!msg)
		msg = PQerrorMessage(conn);
	say(errstr, errstr_size, "%s: %s", what, msg);
	for (char *p = errstr; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	size_t n = strlen(errstr);
	while (n && errstr[n - 1] == ' ')
		errstr[--n] = '\0';
	PQclear(res);
	return PQstatus(conn) == CONNECTION_OK ? RISKD_ERR_IO : RISKD_ERR_UNAVAILABLE;
}

/* Runs sql, which returns no rows. Returns 0 or a riskd_err (what names it in errstr). */
static int run(PGconn *conn, const char *sql, const char *what, char *errstr, size_t errstr_size)
{
	PGresult *res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		return failed(conn, res, what, errstr, errstr_size);
	PQclear(res);
	return 0;
}

/* The SHA-256 of m's bytes in hex, computed by the server (out: CHECKSUM_LEN bytes). */
static int checksum(PGconn *conn, const struct migration *m, char *out, char *errstr,
                    size_t errstr_size)
{
	const char *values[1] = {m->sql};
	int lengths[1] = {(int)m->len}, formats[1] = {1};
	PGresult *res = PQexecParams(conn, "select encode(sha256($1::bytea), 'hex')", 1, NULL,
	                             values, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		return failed(conn, res, "checksum of a migration", errstr, errstr_size);
	riskd_strlcpy(out, CHECKSUM_LEN, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
	PQclear(res);
	return 0;
}

/* Where character position pos (1-based, as the server counts: characters, not bytes) of
 * text falls: *line and *col, both 1-based. */
static void text_position(const char *text, long pos, int *line, int *col)
{
	*line = 1;
	*col = 1;
	long chars = 1;
	for (const unsigned char *p = (const unsigned char *)text; *p && chars < pos; p++) {
		if ((*p & 0xC0) == 0x80)
			continue; /* a UTF-8 continuation byte */
		chars++;
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* Applies m in one transaction with its record. Returns 0 or a riskd_err. */
static int apply_one(PGconn *conn, const struct migration *m, const char *sum, char *errstr,
                     size_t errstr_size)
{
	int rc = run(conn, "begin", "begin", errstr, errstr_size);
	if (rc)
		return rc;
	PGresult *res = PQexec(conn, m->sql);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
		const char *at = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
		const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		int line = 0, col = 0;
		if (at)
			text_position(m->sql, strtol(at, NULL, 10), &line, &col);
		char where[64] = "";
		if (line)
			snprintf(where, sizeof(where), ":%d:%d", line, col);
		if (msg) {
			say(errstr, errstr_size, "%s%s: error: %s (the migration was rolled back)",
			    m->path, where, msg);
			rc = RISKD_ERR_INVALID;
			PQclear(res);
		} else {
			rc = failed(conn, res, m->path, errstr, errstr_size);
		}
		PQclear(PQexec(conn, "rollback"));
		return rc;
	}
	PQclear(res);
	const char *values[2] = {m->version, sum};
	res = PQexecParams(conn, "insert into public.schema_migrations (version, checksum) "
	                   "values ($1, $2)", 2, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = failed(conn, res, "recording a migration", errstr, errstr_size);
		PQclear(PQexec(conn, "rollback"));
		return rc;
	}
	PQclear(res);
	return run(conn, "commit", m->path, errstr, errstr_size);
}

/* The migration of set with this version, or NULL. */
static const struct migration *set_find(const struct migration_set *set, const char *version)
{
	for (size_t i = 0; i < set->count; i++)
		if (strcmp(set->items[i].version, version) == 0)
			return &set->items[i];
	return NULL;
}

/* Checks the recorded versions (rows of version, checksum, applied_at) against set; records
 * the missing checksums (unless dry). sums[i] is the checksum of set->items[i]; applied[i] is
 * set for each recorded one. Returns 0 or a riskd_err. */
static int check_recorded(PGconn *conn, PGresult *rows, const struct migration_set *set,
                          char (*sums)[CHECKSUM_LEN], char *applied, enum migrate_mode mode,
                          FILE *out, char *errstr, size_t errstr_size)
{
	for (int r = 0; r < PQntuples(rows); r++) {
		const char *version = PQgetvalue(rows, r, 0);
		const struct migration *m = set_find(set, version);
		if (!m) {
			say(errstr, errstr_size, "database %s has migration %s, which is not among the "
			    "%zu migrations given: a newer riskd migrated it (use that riskd's riskctl "
			    "migrate)", PQdb(conn), version, set->count);
			return RISKD_ERR_CONFLICT;
		}
		size_t i = (size_t)(m - set->items);
		applied[i] = 1;
		if (PQgetisnull(rows, r, 1)) {
			fprintf(out, "%s the checksum of %s (sha256 %.12s): it was applied before "
			        "checksums were kept\n", mode == MIGRATE_DRY_RUN ? "would record" : "recorded",
			        version, sums[i]);
			if (mode == MIGRATE_DRY_RUN)
				continue;
			const char *values[2] = {sums[i], version};
			PGresult *res = PQexecParams(conn, "update public.schema_migrations set "
			                             "checksum = $1 where version = $2", 2, NULL,
			                             values, NULL, NULL, 0);
			if (PQresultStatus(res) != PGRES_COMMAND_OK)
				return failed(conn, res, "recording a checksum", errstr, errstr_size);
			PQclear(res);
		} else if (strcmp(PQgetvalue(rows, r, 1), sums[i]) != 0) {
			say(errstr, errstr_size, "%s: changed since it was applied to database %s on %.19s "
			    "(sha256 %.12s then, %.12s now): restore the file and put the change in a new "
			    "migration", m->path, PQdb(conn), PQgetvalue(rows, r, 2),
			    PQgetvalue(rows, r, 1), sums[i]);
			return RISKD_ERR_CONFLICT;
		}
	}
	return 0;
}

/*
 * Makes public.schema_migrations current when applying (created when missing, its checksum
 * column added to one an older local stack created, readable by every role) and sets
 * *select to the query that reads its rows (version, checksum, applied_at). A dry run writes
 * nothing, so that a role without rights on the schema can run it: a missing table reads as
 * no rows, a missing checksum column as NULL checksums. Returns 0 or a riskd_err.
 */
static int tracking_table(PGconn *conn, enum migrate_mode mode, const char **select,
                          char *errstr, size_t errstr_size)
{
	PGresult *res = PQexec(conn, "select to_regclass('public.schema_migrations') is not null, "
	                       "exists (select from information_schema.columns where table_schema "
	                       "= 'public' and table_name = 'schema_migrations' and column_name = "
	                       "'checksum')");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		return failed(conn, res, "reading public.schema_migrations", errstr, errstr_size);
	int exists = PQgetvalue(res, 0, 0)[0] == 't', has_checksum = PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	if (mode == MIGRATE_APPLY && !(exists && has_checksum)) {
		int rc = run(conn, "create table if not exists public.schema_migrations ("
		             "version text primary key, applied_at timestamptz not null default now(), "
		             "checksum text); "
		             "alter table public.schema_migrations add column if not exists checksum "
		             "text; grant select on public.schema_migrations to public",
		             "creating public.schema_migrations", errstr, errstr_size);
		if (rc)
			return rc;
		exists = has_checksum = 1;
	}
	*select = !exists ? "select null::text, null::text, null::text where false"
	          : has_checksum ? "select version, checksum, applied_at::text from "
	                           "public.schema_migrations order by version"
	                         : "select version, null::text, applied_at::text from "
	                           "public.schema_migrations order by version";
	return 0;
}

/* migrate_conn with the lock held. */
static int apply_locked(PGconn *conn, const struct migration_set *set, enum migrate_mode mode,
                        FILE *out, char *errstr, size_t errstr_size)
{
	const char *select = NULL;
	int rc = tracking_table(conn, mode, &select, errstr, errstr_size);
	if (rc)
		return rc;
	char (*sums)[CHECKSUM_LEN] = xcalloc(set->count, sizeof(*sums));
	char *applied = xcalloc(set->count, 1);
	for (size_t i = 0; rc == 0 && i < set->count; i++)
		rc = checksum(conn, &set->items[i], sums[i], errstr, errstr_size);
	PGresult *rows = NULL;
	if (rc == 0) {
		rows = PQexec(conn, select);
		if (PQresultStatus(rows) != PGRES_TUPLES_OK) {
			rc = failed(conn, rows, "reading public.schema_migrations", errstr, errstr_size);
			rows = NULL;
		}
	}
	if (rc == 0)
		rc = check_recorded(conn, rows, set, sums, applied, mode, out, errstr, errstr_size);
	PQclear(rows);
	size_t done = 0, pending = 0;
	for (size_t i = 0; rc == 0 && i < set->count; i++) {
		if (applied[i])
			continue;
		pending++;
		if (mode == MIGRATE_DRY_RUN) {
			fprintf(out, "would apply %s (sha256 %.12s)\n", set->items[i].version, sums[i]);
			continue;
		}
		rc = apply_one(conn, &set->items[i], sums[i], errstr, errstr_size);
		if (rc == 0) {
			fprintf(out, "applied %s (sha256 %.12s)\n", set->items[i].version, sums[i]);
			fflush(out);
			done++;
		}
	}
	const char *last = set->items[set->count - 1].version;
	if (rc == 0 && pending == 0)
		fprintf(out, "database %s is up to date: %zu migrations, the last %s\n", PQdb(conn),
		        set->count, last);
	else if (rc == 0 && mode == MIGRATE_DRY_RUN)
		fprintf(out, "database %s: %zu of %zu migrations would be applied (dry run: nothing "
		        "changed)\n", PQdb(conn), pending, set->count);
	else if (rc == 0)
		fprintf(out, "database %s: applied %zu, now at %s\n", PQdb(conn), done, last);
	free(sums);
	free(applied);
	return rc;
}

/* Brings the database on conn to set (store_schema_migrate after connecting). */
static int migrate_conn(PGconn *conn, const struct migration_set *set, enum migrate_mode mode,
                        FILE *out, char *errstr, size_t errstr_size)
{
	int rc = run(conn, "set client_min_messages = warning", "session", errstr, errstr_size);
	if (rc == 0)
		rc = run(conn, "select pg_advisory_lock(" MIGRATE_LOCK_SQL ")", "taking the migration lock",
		         errstr, errstr_size);
	if (rc)
		return rc;
	rc = apply_locked(conn, set, mode, out, errstr, errstr_size);
	char ignored[256];
	run(conn, "select pg_advisory_unlock(" MIGRATE_LOCK_SQL ")", "unlock", ignored,
	    sizeof(ignored));
	return rc;
}

int store_schema_migrate(const char *dsn, const struct migration_set *set,
                         enum migrate_mode mode, FILE *out, char *errstr, size_t errstr_size)
{
	if (set->count == 0) {
		say(errstr, errstr_size, "no migration to apply");
		return RISKD_ERR_INVALID;
	}
	PGconn *conn = PQconnectdb(dsn);
	int rc;
	if (PQstatus(conn) != CONNECTION_OK) {
		const char *msg = PQerrorMessage(conn);
		say(errstr, errstr_size, "cannot connect to the database: %.*s", (int)strcspn(msg, "\n"),
		    msg);
		rc = RISKD_ERR_UNAVAILABLE;
	} else {
		rc = migrate_conn(conn, set, mode, out, errstr, errstr_size);
	}
	PQfinish(conn);
	return rc;
}

int store_schema_check(PGconn *conn, char *errstr, size_t errstr_size)
{
	PGresult *res = PQexec(conn, "select version from public.schema_migrations");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (state && strcmp(state, "42P01") == 0) { /* undefined_table */
			say(errstr, errstr_size, "database %s has no riskd schema (no "
			    "public.schema_migrations): run `riskctl migrate` with its DSN", PQdb(conn));
			PQclear(res);
			return RISKD_ERR_INVALID;
		}
		return failed(conn, res, "reading the schema version", errstr, errstr_size);
	}
	int rc = 0;
	for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
		const char *version = PQgetvalue(res, r, 0);
		size_t k = 0;
		while (k < migrate_known_count && strcmp(migrate_known_versions[k], version) != 0)
			k++;
		if (k == migrate_known_count) {
			say(errstr, errstr_size, "database %s has migration %s, which this riskd does not "
			    "know (it knows up to %s): run the riskd release that migrated it", PQdb(conn),
			    version, migrate_known_versions[migrate_known_count - 1]);
			rc = RISKD_ERR_INVALID;
		}
	}
	for (size_t k = 0; rc == 0 && k < migrate_known_count; k++) {
		int r = 0;
		while (r < PQntuples(res) && strcmp(PQgetvalue(res, r, 0), migrate_known_versions[k]))
			r++;
		if (r == PQntuples(res)) {
			say(errstr, errstr_size, "database %s lacks migration %s: run `riskctl migrate` "
			    "with its DSN (`--dry-run` lists what it would apply)", PQdb(conn),
			    migrate_known_versions[k]);
			rc = RISKD_ERR_INVALID;
		}
	}
	PQclear(res);
	return rc;
}
