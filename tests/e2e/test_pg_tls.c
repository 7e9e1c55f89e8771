/*
 * test_pg_tls.c - end to end against the local stack's PostgreSQL, which serves TLS with a
 * certificate of its own CA (deploy/local-stack.sh) and makes members of
 * stack_password_users log in with TLS and a password: riskctl migrate and riskd connect
 * with sslmode=verify-full and the password from PGPASSFILE, never from the DSN; a wrong CA,
 * a missing password and a connection without TLS are refused with a clear message that
 * does not show the password.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/e2e.h"

#define PASSWORD "tls-probe-Secret-4711"

/* A login role that must use TLS and a password, member of risk_detector; its name into
 * role, a password file for it into pgpass, and the verify-full DSN of w's database into dsn
 * (sslmode and CA as given). */
struct probe {
	char role[64], pgpass[1400], dsn[2048], db[128];
};

static void probe_new(struct probe *p, const struct e2e_world *w)
{
	snprintf(p->role, sizeof(p->role), "tls_probe_%d", (int)getpid());
	e2e_sh("PGOPTIONS='-c client_min_messages=warning' psql -X -q '%s' -c \"drop role if "
	       "exists %s\" -c \"create role %s login password '%s' in role stack_password_users, "
	       "risk_detector\"", w->dsn, p->role, p->role, PASSWORD);
	const char *at = strstr(w->dsn, "dbname=");
	cr_assert_not_null(at);
	snprintf(p->db, sizeof(p->db), "%.*s", (int)strcspn(at + 7, " "), at + 7);
	snprintf(p->pgpass, sizeof(p->pgpass), "%s/pgpass", w->dir);
	FILE *f = fopen(p->pgpass, "w");
	cr_assert_not_null(f);
	fprintf(f, "localhost:%d:*:%s:%s\n", w->env.pg_port, p->role, PASSWORD);
	fclose(f);
	chmod(p->pgpass, 0600);
	snprintf(p->dsn, sizeof(p->dsn),
	         "host=localhost port=%d dbname=%s user=%s sslmode=verify-full sslrootcert=%s",
	         w->env.pg_port, p->db, p->role, w->env.pg_ca);
}

Test(pg_tls, migrate_connects_with_verify_full_and_a_password_file, .timeout = 120)
{
	struct e2e_world w;
	e2e_world_new(&w, "TlsMigrate", 1, 100);
	cr_assert(w.env.pg_ca[0] && w.env.pg_port, "var/stack.env lacks RISKD_PG_CA or RISKD_PG_PORT");
	struct probe p;
	probe_new(&p, &w);
	char out[8192];

	int rc = e2e_run_capture(out, sizeof(out), "PGPASSFILE='%s' '%s/riskctl' migrate --dry-run "
	                     "--dsn '%s'", p.pgpass, w.env.bin, p.dsn);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "is up to date"), "%s", out);

	char ssl[64];
	setenv("PGPASSFILE", p.pgpass, 1);
	e2e_query_text(p.dsn, "select ssl::text || ' ' || version from pg_stat_ssl "
	                      "where pid = pg_backend_pid()", ssl, sizeof(ssl));
	unsetenv("PGPASSFILE");
	cr_assert(strncmp(ssl, "true TLSv1.", 11) == 0, "the session is not TLS: %s", ssl);
}

Test(pg_tls, a_wrong_ca_no_password_or_no_tls_is_refused_without_showing_the_password,
     .timeout = 120)
{
	struct e2e_world w;
	e2e_world_new(&w, "TlsRefused", 1, 100);
	struct probe p;
	probe_new(&p, &w);
	char out[8192], other_ca[1400];

	snprintf(other_ca, sizeof(other_ca), "%s/other-ca.crt", w.dir);
	e2e_sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
	       "-subj '/CN=not the stack CA' -keyout '%s/other-ca.key' -out '%s' >/dev/null 2>&1",
	       w.dir, other_ca);
	int rc = e2e_run_capture(out, sizeof(out), "PGPASSFILE='%s' '%s/riskctl' migrate --dsn "
	                     "'host=localhost port=%d dbname=%s user=%s sslmode=verify-full "
	                     "sslrootcert=%s'", p.pgpass, w.env.bin, w.env.pg_port, p.db, p.role,
	                     other_ca);
	cr_assert_eq(rc, 3, "%s", out);
	cr_assert(strstr(out, "certificate verify failed"), "%s", out);

	rc = e2e_run_capture(out, sizeof(out), "PGPASSFILE=/nonexistent '%s/riskctl' migrate --dsn '%s'",
	                 w.env.bin, p.dsn);
	cr_assert_eq(rc, 3, "%s", out);
	cr_assert(strstr(out, "password"), "%s", out);

	rc = e2e_run_capture(out, sizeof(out), "PGPASSFILE='%s' '%s/riskctl' migrate --dsn "
	                 "'host=localhost port=%d dbname=%s user=%s sslmode=disable'", p.pgpass,
	                 w.env.bin, w.env.pg_port, p.db, p.role);
	cr_assert_eq(rc, 3, "%s", out);
	cr_assert(strstr(out, "pg_hba.conf rejects connection"), "%s", out);
	cr_assert_null(strstr(out, PASSWORD), "the password was shown: %s", out);
}

Test(pg_tls, riskd_runs_over_verify_full_with_the_password_from_a_file, .timeout = 180)
{
	struct e2e_world w;
	e2e_world_new(&w, "TlsRiskd", 2, 100);
	struct probe p;
	probe_new(&p, &w);
	char config[1500];
	snprintf(config, sizeof(config), "%s/riskd-tls.yaml", w.dir);
	e2e_sh("sed 's|^  dsn: .*|  dsn: \"%s\"|' '%s' > '%s'", p.dsn, w.config, config);
	e2e_sh("grep -q 'sslmode=verify-full' '%s'", config);
	e2e_sh("'%s/riskctl' gen --customers 20 --days 3 --seed 5 > '%s/city.jsonl' 2>/dev/null",
	       w.env.bin, w.dir);
	e2e_sh("env -u RISKD_KAFKA_BROKERS -u RISKD_PG_DSN '%s/riskctl' produce --route --config '%s' "
	       "< '%s/city.jsonl' 2>>'%s/produce.log'", w.env.bin, config, w.dir, w.dir);

	char out[16384];
	int rc = e2e_run_capture(out, sizeof(out), "cd '%s' && env -u RISKD_PG_DSN -u RISKD_KAFKA_BROKERS "
	                     "PGPASSFILE='%s' timeout 120 '%s/riskd' --config '%s' --until-idle 2",
	                     w.env.root, p.pgpass, w.env.bin, config);
	cr_assert_eq(rc, 0, "riskd over TLS failed: %s", out);
	cr_assert_null(strstr(out, PASSWORD), "the password was logged: %s", out);
	cr_assert_gt(e2e_query_int(w.dsn, "select count(*) from risk.daily_usage"), 0,
	             "riskd stored nothing");
}
