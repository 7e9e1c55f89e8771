/*
 * test_migrate.c - end to end against the local stack's PostgreSQL: `riskctl migrate` brings
 * an empty database to deploy/sql with a checksum per migration, says so when there is
 * nothing to do, changes nothing on --dry-run, refuses a migration file changed after it was
 * applied and a database migrated by a newer riskd, rolls a failing migration back naming its
 * file:line:col, and riskd refuses to start on a database whose migrations differ from the
 * ones it was built with.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/support/e2e.h"

/* Migrations in the checkout's deploy/sql. */
static int64_t shipped_migrations(void)
{
	FILE *p = popen("ls deploy/sql/*.sql | wc -l", "r");
	cr_assert_not_null(p);
	long n = 0;
	cr_assert_eq(fscanf(p, "%ld", &n), 1);
	pclose(p);
	cr_assert_gt(n, 0);
	return n;
}

/* An empty database beside w's (dropped first when it exists); its DSN into dsn. */
static void empty_database(const struct e2e_world *w, const char *suffix, char *dsn, size_t size)
{
	char db[128];
	snprintf(db, sizeof(db), "%s_%s", w->name, suffix);
	for (char *p = db; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	e2e_sh("PGOPTIONS='-c client_min_messages=warning' psql -X -q '%s' -c 'drop database if exists \"riskd_e2e_%s\"' "
	       "-c 'create database \"riskd_e2e_%s\"'", w->dsn, db, db);
	const char *at = strstr(w->dsn, "dbname=");
	cr_assert_not_null(at);
	size_t end = strcspn(at, " ");
	snprintf(dsn, size, "%.*sdbname=riskd_e2e_%s%s", (int)(at - w->dsn), w->dsn, db, at + end);
}

static int count_lines_starting(const char *text, const char *prefix)
{
	int n = 0;
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

Test(migrate, an_empty_database_is_migrated_with_checksums_then_up_to_date, .timeout = 120)
{
	struct e2e_world w;
	e2e_world_new(&w, "MigFresh", 1, 100);
	char dsn[1100], out[16384];
	empty_database(&w, "db", dsn, sizeof(dsn));
	int64_t n = shipped_migrations();

	int rc = e2e_run_capture(out, sizeof(out), "%s/riskctl migrate --dsn '%s'", w.env.bin, dsn);
	cr_assert_eq(rc, 0, "migrate failed: %s", out);
	cr_assert_eq(count_lines_starting(out, "applied "), n, "%s", out);
	cr_assert(strstr(out, "applied 001_core"), "%s", out);
	cr_assert_eq(e2e_query_int(dsn, "select count(*) from public.schema_migrations"), n);
	cr_assert_eq(e2e_query_int(dsn, "select count(*) from public.schema_migrations "
	                                "where checksum ~ '^[0-9a-f]{64}$'"), n);
	cr_assert_eq(e2e_query_int(dsn, "select (to_regclass('risk.alerts') is not null)::int"), 1);

	rc = e2e_run_capture(out, sizeof(out), "%s/riskctl migrate --dsn '%s'", w.env.bin, dsn);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "is up to date"), "%s", out);
	cr_assert_eq(count_lines_starting(out, "applied "), 0, "%s", out);
}

Test(migrate, a_dry_run_lists_the_migrations_and_changes_nothing, .timeout = 120)
{
	struct e2e_world w;
	e2e_world_new(&w, "MigDry", 1, 100);
	char dsn[1100], out[16384];
	empty_database(&w, "db", dsn, sizeof(dsn));

	int rc = e2e_run_capture(out, sizeof(out), "%s/riskctl migrate --dry-run --dsn '%s'",
	                     w.env.bin, dsn);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert_eq(count_lines_starting(out, "would apply "), shipped_migrations(), "%s", out);
	cr_assert_eq(e2e_query_int(dsn, "select (to_regclass('risk.alerts') is null)::int"), 1);
	cr_assert_eq(e2e_query_int(dsn, "select (to_regclass('public.schema_migrations') is null)::int"),
	             1, "a dry run created the tracking table");
}

Test(migrate, a_migration_changed_after_it_was_applied_is_refused, .timeout = 120)
{
	struct e2e_world w;
	e2e_world_new(&w, "MigChanged", 1, 100);
	char out[16384];
	e2e_sh("rm -rf '%s/sql' && cp -r deploy/sql '%s/sql' && "
	       "printf '\\n-- an edit after the fact\\n' >> '%s/sql/003_alerts.sql'",
	       w.dir, w.dir, w.dir);

	int rc = e2e_run_capture(out, sizeof(out), "%s/riskctl migrate --dir '%s/sql' --dsn '%s'",
	                     w.env.bin, w.dir, w.dsn);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "003_alerts.sql: changed since it was applied"), "%s", out);
	cr_assert(strstr(out, "new migration"), "%s", out);
}

Test(migrate, a_failing_migration_rolls_back_and_names_its_line, .timeout = 120)
{
	struct e2e_world w;
	e2e_world_new(&w, "MigBroken", 1, 100);
	char out[16384];
	e2e_sh("rm -rf '%s/sql' && cp -r deploy/sql '%s/sql' && "
	       "printf 'create table public.migrate_probe (x int);\\nselect  no_such_column from "
	       "public.migrate_probe;\\n' > '%s/sql/900_broken.sql'", w.dir, w.dir, w.dir);

	int rc = e2e_run_capture(out, sizeof(out), "%s/riskctl migrate --dir '%s/sql' --dsn '%s'",
	                     w.env.bin, w.dir, w.dsn);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "900_broken.sql:2:9: error: column \"no_such_column\" does not exist"),
	          "%s", out);
	cr_assert_eq(e2e_query_int(w.dsn, "select (to_regclass('public.migrate_probe') is null)::int"),
	             1, "the failed migration's first statement was not rolled back");
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from public.schema_migrations "
	                                  "where version = '900_broken'"), 0);
}

Test(migrate, a_database_migrated_by_a_newer_riskd_is_refused, .timeout = 120)
{
	struct e2e_world w;
	e2e_world_new(&w, "MigNewer", 1, 100);
	char out[16384];
	e2e_sh("psql -X -q '%s' -c \"insert into public.schema_migrations (version, checksum) "
	       "values ('999_from_the_future', 'x')\"", w.dsn);

	int rc = e2e_run_capture(out, sizeof(out), "%s/riskctl migrate --dsn '%s'", w.env.bin, w.dsn);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "has migration 999_from_the_future"), "%s", out);

	rc = e2e_run_capture(out, sizeof(out), "%s/riskd --config '%s' --until-idle 1", w.env.bin,
	                 w.config);
	cr_assert_neq(rc, 0, "riskd started on a schema it does not know: %s", out);
	cr_assert(strstr(out, "has migration 999_from_the_future, which this riskd does not know"),
	          "%s", out);
}

Test(migrate, riskd_refuses_a_database_that_lacks_a_migration, .timeout = 120)
{
	struct e2e_world w;
	e2e_world_new(&w, "MigLacks", 1, 100);
	char out[16384], last[256];
	e2e_query_text(w.dsn, "select max(version) from public.schema_migrations", last,
	               sizeof(last));
	e2e_sh("psql -X -q '%s' -c \"delete from public.schema_migrations where version = '%s'\"",
	       w.dsn, last);

	int rc = e2e_run_capture(out, sizeof(out), "%s/riskd --config '%s' --until-idle 1", w.env.bin,
	                     w.config);
	cr_assert_neq(rc, 0, "riskd started on an old schema: %s", out);
	char want[512];
	snprintf(want, sizeof(want), "lacks migration %s: run `riskctl migrate`", last);
	cr_assert(strstr(out, want), "%s", out);
}

Test(migrate, versions_recorded_without_checksums_take_their_files, .timeout = 120)
{
	struct e2e_world w;
	e2e_world_new(&w, "MigAdopt", 1, 100);
	char out[16384];
	e2e_sh("psql -X -q '%s' -c 'update public.schema_migrations set checksum = null'", w.dsn);

	int rc = e2e_run_capture(out, sizeof(out), "%s/riskctl migrate --dsn '%s'", w.env.bin, w.dsn);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert_eq(count_lines_starting(out, "recorded the checksum of "), shipped_migrations(), "%s", out);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from public.schema_migrations "
	                                  "where checksum is null"), 0);
}
