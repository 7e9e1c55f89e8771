/*
 * e2e.c - shared helpers of the end-to-end suites: worlds (database + topics + config),
 * processes, queries and reading topics back. See e2e.h.
 */
#include "e2e.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include "config/riskd_base.h"
#include <libpq-fe.h>

static const char *const topic_suffix[7] = {
	"meter.readings", "billing.events", "customer.profiles", "transformer.readings",
	"risk.review-queue", "risk.credit-grades", "risk.dead-letter",
};

static void find_root(char *root, size_t size)
{
	char cwd[1024];
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)), "working directory path too long");
	/* the suites run from the checkout root (the Makefile's working directory) */
	cr_assert(access("deploy/local-stack.sh", X_OK) == 0,
	          "run the end-to-end suites from the checkout root (cwd is %s)", cwd);
	riskd_strlcpy(root, size, cwd, strlen(cwd));
}

void e2e_env_load(struct e2e_env *env)
{
	memset(env, 0, sizeof(*env));
	find_root(env->root, sizeof(env->root));
	const char *bin = getenv("RISKD_BIN");
	snprintf(env->bin, sizeof(env->bin), "%s", bin && *bin ? bin : "bin");
	FILE *f = fopen("var/stack.env", "r");
	cr_assert_not_null(f, "var/stack.env missing: run deploy/local-stack.sh up");
	char line[2048];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		char *value = eq + 1;
		size_t n = strlen(value);
		if (n >= 2 && (value[0] == '\'' || value[0] == '"') && value[n - 1] == value[0]) {
			value[n - 1] = '\0';
			value++;
		}
		if (strcmp(line, "RISKD_KAFKA_BROKERS") == 0)
			snprintf(env->brokers, sizeof(env->brokers), "%s", value);
		else if (strcmp(line, "RISKD_MOCK_CONTROL") == 0)
			snprintf(env->control, sizeof(env->control), "%s", value);
		else if (strcmp(line, "RISKD_PG_CA") == 0)
			snprintf(env->pg_ca, sizeof(env->pg_ca), "%s", value);
		else if (strcmp(line, "RISKD_PG_PORT") == 0)
			env->pg_port = atoi(value);
	}
	fclose(f);
	cr_assert(env->brokers[0] && env->control[0], "var/stack.env lacks brokers or control");
}

int e2e_run_capture(char *out, size_t size, const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p, "popen %s", cmd);
	size_t n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	int status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void e2e_sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int status = system(cmd);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	          "command failed (status %d): %s", status, cmd);
}

static void sh_capture(char *out, size_t size, const char *cmd)
{
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p, "popen %s", cmd);
	size_t n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	int status = pclose(p);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "command failed: %s", cmd);
	out[strcspn(out, "\n")] = '\0';
}

static int world_metrics_port;
static int world_checkpoint_ms = -1; /* -1: riskd's default */
static char world_rules[1024] = "rules";
static char world_group[128];
static char world_kafka_extra[2048]; /* lines inside `kafka:` */
static char world_attribution[128]; /* lines inside `attribution:`, or "" */
/* "on" (riskd's default, written out) unless a test sets it: the suites compare digests that
 * include risk.alerts, and only scoring after the area makes alerts independent of when area
 * results arrive (off scores a customer-day at its close with whatever area results are in by
 * then). */
static const char *world_score_after_area = "on";

static void write_config(const struct e2e_world *w, const char *group, int batch_size)
{
	FILE *f = fopen(w->config, "w");
	cr_assert_not_null(f);
	char checkpoint[64] = "";
	if (world_checkpoint_ms >= 0)
		snprintf(checkpoint, sizeof(checkpoint), "  checkpoint_interval_ms: %d\n",
		         world_checkpoint_ms);
	char attribution[256] = "";
	if (world_attribution[0] || world_score_after_area[0])
		snprintf(attribution, sizeof(attribution), "attribution:\n%s%s%s%s", world_attribution,
		         world_score_after_area[0] ? "  score_after_area: " : "", world_score_after_area,
		         world_score_after_area[0] ? "\n" : "");
	fprintf(f,
	        "kafka:\n  brokers: \"%s\"\n  group_id: \"%s\"\n  session_timeout_ms: 6000\n%s"
	        "topics:\n  readings: \"%s\"\n  billing: \"%s\"\n  profiles: \"%s\"\n"
	        "  transformer: \"%s\"\n  review_queue: \"%s\"\n  credit_grades: \"%s\"\n"
	        "  dead_letter: \"%s\"\n"
	        "batch:\n  size: %d\n  max_wait_ms: 200\n%s"
	        "postgres:\n  dsn: \"%s\"\n  retry_max_ms: 1000\n"
	        "metrics:\n  port: %d\n"
	        "rules:\n  path: \"%s\"\n%s"
	        "stack_env: \"\"\n",
	        w->env.brokers, group, world_kafka_extra, w->topics[0], w->topics[1], w->topics[2],
	        w->topics[3], w->topics[4], w->topics[5], w->topics[6], batch_size, checkpoint, w->dsn,
	        world_metrics_port, world_rules, attribution);
	fclose(f);
}

static int world_batch_size = 500;

/* Creates topic <w's name>.<suffix> and names it in w->topics[role]. */
static void world_topic_create(struct e2e_world *w, int role, const char *suffix)
{
	snprintf(w->topics[role], sizeof(w->topics[role]), "%s.%s", w->name, suffix);
	e2e_sh("'%s/mock-kafka' ctl --control '%s' topic-create '%s' %d >/dev/null", w->env.bin,
	       w->env.control, w->topics[role], w->partitions);
}

void e2e_world_new(struct e2e_world *w, const char *name, int partitions, int batch_size)
{
	memset(w, 0, sizeof(*w));
	e2e_env_load(&w->env);
	snprintf(w->name, sizeof(w->name), "%s_%d", name, (int)getpid());
	w->partitions = partitions;
	world_batch_size = batch_size;
	world_metrics_port = 0;
	world_checkpoint_ms = -1;
	world_kafka_extra[0] = '\0';
	world_attribution[0] = '\0';
	world_score_after_area = "on";
	snprintf(world_rules, sizeof(world_rules), "rules");
	snprintf(w->dir, sizeof(w->dir), "%s/var/e2e/%s", w->env.root, w->name);
	e2e_sh("rm -rf '%s' && mkdir -p '%s'", w->dir, w->dir);
	snprintf(w->config, sizeof(w->config), "%s/riskd.yaml", w->dir);
	e2e_world_new_database(w, w->name);
	for (int i = 0; i < 7; i++)
		world_topic_create(w, i, topic_suffix[i]);
	snprintf(world_group, sizeof(world_group), "riskd-%s", w->name);
	write_config(w, world_group, batch_size);
}

void e2e_world_set_topic(struct e2e_world *w, int role, const char *suffix)
{
	cr_assert(role >= 0 && role < 7, "no topic role %d", role);
	world_topic_create(w, role, suffix);
	write_config(w, world_group, world_batch_size);
}

void e2e_world_set_group(struct e2e_world *w, const char *group)
{
	snprintf(world_group, sizeof(world_group), "%s", group);
	write_config(w, group, world_batch_size);
}

void e2e_world_set_checkpoint_interval(struct e2e_world *w, int ms)
{
	world_checkpoint_ms = ms;
	write_config(w, world_group, world_batch_size);
}

void e2e_world_set_metrics_port(struct e2e_world *w, int port)
{
	world_metrics_port = port;
	write_config(w, world_group, world_batch_size);
}

void e2e_world_set_kafka_extra(struct e2e_world *w, const char *yaml)
{
	snprintf(world_kafka_extra, sizeof(world_kafka_extra), "%s", yaml);
	write_config(w, world_group, world_batch_size);
}

void e2e_world_set_rules(struct e2e_world *w, const char *path)
{
	snprintf(world_rules, sizeof(world_rules), "%s", path);
	write_config(w, world_group, world_batch_size);
}

void e2e_world_set_attribution(struct e2e_world *w, int window_days, int history_days)
{
	snprintf(world_attribution, sizeof(world_attribution),
	         "  window_days: %d\n  history_days: %d\n", window_days, history_days);
	write_config(w, world_group, world_batch_size);
}

void e2e_world_set_score_after_area(struct e2e_world *w, int on)
{
	world_score_after_area = on ? "on" : "off";
	write_config(w, world_group, world_batch_size);
}

int e2e_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
	          getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
	close(fd);
	return ntohs(addr.sin_port);
}

int e2e_http_get(int port, const char *path, char *body, size_t body_size)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	char buf[65536];
	size_t n = 0;
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int len = snprintf(buf, sizeof(buf), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
	if (write(fd, buf, (size_t)len) != len) {
		close(fd);
		return -1;
	}
	ssize_t r;
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	buf[n] = '\0';
	int status = -1;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	const char *sep = strstr(buf, "\r\n\r\n");
	snprintf(body, body_size, "%s", sep ? sep + 4 : "");
	return status;
}

void e2e_world_new_database(struct e2e_world *w, const char *suffix)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "deploy/local-stack.sh newdb riskd_e2e_%s 2>/dev/null", suffix);
	for (char *p = cmd + strlen("deploy/local-stack.sh newdb "); *p != ' '; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	sh_capture(w->dsn, sizeof(w->dsn), cmd);
	cr_assert(w->dsn[0], "newdb printed no DSN");
}

pid_t e2e_riskd_start(const struct e2e_world *w, const char *extra_args)
{
	static int seq;
	char log[1400], riskd[1100];
	snprintf(log, sizeof(log), "%s/riskd-%d.log", w->dir, ++seq);
	snprintf(riskd, sizeof(riskd), "%s/riskd", w->env.bin);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
			close(fd);
		}
		unsetenv("RISKD_KAFKA_BROKERS");
		unsetenv("RISKD_PG_DSN");
		char args[4096];
		snprintf(args, sizeof(args), "exec '%s' --config '%s' %s", riskd, w->config,
		         extra_args ? extra_args : "");
		execl("/bin/sh", "sh", "-c", args, (char *)NULL);
		_exit(127);
	}
	return pid;
}

int e2e_wait(pid_t pid, double timeout_s)
{
	struct timespec step = {0, 50 * 1000 * 1000};
	for (double waited = 0; waited < timeout_s; waited += 0.05) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		nanosleep(&step, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

void e2e_riskd_run_until_idle(const struct e2e_world *w, double idle_s, double timeout_s)
{
	char extra[64];
	snprintf(extra, sizeof(extra), "--until-idle %.1f", idle_s);
	pid_t pid = e2e_riskd_start(w, extra);
	int rc = e2e_wait(pid, timeout_s);
	cr_assert_eq(rc, 0, "riskd exited with %d (see logs in %s)", rc, w->dir);
}

void e2e_produce_file(const struct e2e_world *w, const char *path)
{
	e2e_sh("env -u RISKD_KAFKA_BROKERS -u RISKD_PG_DSN '%s/riskctl' produce --route "
	       "--config '%s' < '%s' 2>>'%s/produce.log'",
	       w->env.bin, w->config, path, w->dir);
}

static PGresult *query(const char *dsn, const char *sql, PGconn **conn)
{
	*conn = PQconnectdb(dsn);
	cr_assert_eq(PQstatus(*conn), CONNECTION_OK, "connect %s: %s", dsn, PQerrorMessage(*conn));
	PGresult *res = PQexec(*conn, sql);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(*conn));
	cr_assert_eq(PQntuples(res), 1, "%s: %d rows", sql, PQntuples(res));
	return res;
}

void e2e_wait_sessions_gone(const char *dsn)
{
	struct timespec step = {0, 50 * 1000 * 1000};
	for (int i = 0; i < 600; i++) {
		if (e2e_query_int(dsn, "select count(*) from pg_stat_activity where datname = "
		                       "current_database() and pid <> pg_backend_pid() and "
		                       "backend_type = 'client backend'") == 0)
			return;
		nanosleep(&step, NULL);
	}
	cr_assert_fail("sessions of a killed process are still connected to %s after 30 s", dsn);
}

int64_t e2e_query_int(const char *dsn, const char *sql)
{
	PGconn *conn;
	PGresult *res = query(dsn, sql, &conn);
	int64_t v = PQgetisnull(res, 0, 0) ? 0 : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	PQfinish(conn);
	return v;
}

void e2e_query_text(const char *dsn, const char *sql, char *out, size_t out_size)
{
	PGconn *conn;
	PGresult *res = query(dsn, sql, &conn);
	snprintf(out, out_size, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(conn);
}

void e2e_sql_state(const char *dsn, const char *role, const char *query, char *state,
                   size_t state_size)
{
	PGconn *conn = PQconnectdb(dsn);
	cr_assert_eq(PQstatus(conn), CONNECTION_OK, "connect %s: %s", dsn, PQerrorMessage(conn));
	PQclear(PQexec(conn, "set client_min_messages = warning"));
	if (role) {
		char set[128];
		snprintf(set, sizeof(set), "set role %s", role);
		PGresult *res = PQexec(conn, set);
		cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s: %s", set, PQerrorMessage(conn));
		PQclear(res);
	}
	PGresult *res = PQexec(conn, query);
	ExecStatusType st = PQresultStatus(res);
	const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	snprintf(state, state_size, "%s",
	         st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK ? "" : code ? code : "?????");
	PQclear(res);
	PQfinish(conn);
}

/* Runs sql (one statement, no parameters) on conn, asserting success. */
static void exec_ok(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(conn));
	PQclear(res);
}

void e2e_login_role(const char *dsn, const char *role, const char *group)
{
	char sql[1024];
	PGconn *conn = PQconnectdb(dsn);
	cr_assert_eq(PQstatus(conn), CONNECTION_OK, "connect %s: %s", dsn, PQerrorMessage(conn));
	PQclear(PQexec(conn, "set client_min_messages = warning"));
	char *ident = PQescapeIdentifier(conn, role, strlen(role));
	cr_assert_not_null(ident, "%s", PQerrorMessage(conn));
	const char *params[1] = {role};
	PGresult *res = PQexecParams(conn, "select 1 from pg_roles where rolname = $1", 1, NULL,
	                             params, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(conn));
	int exists = PQntuples(res) == 1;
	PQclear(res);
	if (!exists) {
		snprintf(sql, sizeof(sql), "create role %s login", ident);
		exec_ok(conn, sql);
	}
	if (group) {
		snprintf(sql, sizeof(sql), "grant %s to %s", group, ident);
		exec_ok(conn, sql);
	}
	PQfreemem(ident);
	PQfinish(conn);
}

void e2e_dsn_as(const char *dsn, const char *role, char *out, size_t out_size)
{
	char quoted[512];
	size_t n = 0;
	for (const char *c = role; *c && n + 3 < sizeof(quoted); c++) {
		if (*c == '\'' || *c == '\\')
			quoted[n++] = '\\';
		quoted[n++] = *c;
	}
	quoted[n] = '\0';
	int len = snprintf(out, out_size, "%s user='%s'", dsn, quoted);
	cr_assert(len > 0 && (size_t)len < out_size, "DSN too long for role %s", role);
}

/* The md5 of an hourly table's sums per entity-day: its rows and the parts not yet folded
 * into them (table_part), added slot by slot, so the digest does not depend on when the
 * attribution folded them. */
#define HOURLY_DIGEST_SQL(table, id)                                                         \
	"select md5(coalesce(string_agg(format('%s|%s|%s', " id ", day, uwh), ','"                \
	" order by " id ", day), '')) from (select " id ", day, array_agg(x order by i) uwh"       \
	" from (select " id ", day, i, sum(x) x from (select " id ", day, uwh from " table        \
	" union all select " id ", date '1970-01-01' + day, uwh from " table "_part) r,"          \
	" unnest(r.uwh) with ordinality u(x, i) group by 1, 2, 3) s group by 1, 2) h"

/* The md5 of a grade table's rows with every column a run determines (not the wall-clock
 * changed_at / recorded_at, nor the history's serial id, whose order within a customer is
 * kept), and its row count. */
#define GRADES_DIGEST_SQL(table, order)                                                      \
	"select count(*) || ':' || md5(coalesce(string_agg(format("                             \
	"'%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', customer_id, grade, previous_grade, points,"  \
	" points_grade, capped, floored, reasons, scorecard, scorecard_version, scorecard_hash," \
	" policy, as_of), ',' order by " order "), '')) from " table

void e2e_grade_digest(const char *dsn, char *out, size_t out_size)
{
	e2e_query_text(dsn,
	               "select concat_ws(' ',"
	               " 'credit_grades=' || (" GRADES_DIGEST_SQL("risk.credit_grades",
	                                                          "customer_id") "),"
	               " 'credit_grade_history=' || ("
	               GRADES_DIGEST_SQL("risk.credit_grade_history", "customer_id, id") "))",
	               out, out_size);
}

/* The digest's tables before the alerts (a concat_ws list, each item followed by a comma). */
#define RESULT_DIGEST_TABLES_SQL                                                              \
	" 'daily_usage=' || (select md5(coalesce(string_agg(format('%s|%s|%s|%s|%s|%s',"          \
	"   customer_id, day, kwh, readings, kwh_uwh, silent), ',' order by customer_id, day),"   \
	"   '')) from risk.daily_usage),"                                                         \
	" 'transformer_daily=' || (select md5(coalesce(string_agg(format('%s|%s|%s|%s',"          \
	"   transformer_id, day, kwh, readings), ',' order by transformer_id, day), ''))"         \
	"   from risk.transformer_daily),"                                                        \
	" 'customers=' || (select md5(coalesce(string_agg(format('%s|%s|%s|%s|%s|%s',"            \
	"   customer_id, segment, transformer_id, tariff, capacity_kw, since), ','"               \
	"   order by customer_id), '')) from risk.customers),"                                    \
	" 'ingest_counts=' || (select md5(coalesce(string_agg(format('%s|%s|%s|%s|%s',"           \
	"   regexp_replace(topic, '^[^.]*\\.', ''), partition, event_type, outcome, count), ','"  \
	"   order by topic, partition, event_type, outcome), '')) from risk.ingest_counts),"      \
	" 'offsets=' || (select md5(coalesce(string_agg(format('%s|%s|%s',"                       \
	"   regexp_replace(topic, '^[^.]*\\.', ''), partition, next_offset), ','"                 \
	"   order by topic, partition), '')) from risk.kafka_offsets),"                           \
	" 'area_balance=' || (select md5(coalesce(string_agg(format('%s|%s|%s|%s|%s|%s|%s',"      \
	"   transformer_id, day, feeder_kwh, customers_kwh, loss_rate, excess_kwh,"               \
	"   baseline_loss_rate), ',' order by transformer_id, day), '')) from risk.area_balance)," \
	" 'hourly_usage=' || (" HOURLY_DIGEST_SQL("risk.hourly_usage", "customer_id") "),"        \
	" 'transformer_hourly=' || ("                                                             \
	HOURLY_DIGEST_SQL("risk.transformer_hourly", "transformer_id") "),"                       \
	" 'attribution_windows=' || (select count(*) || ':' ||"                                   \
	"   md5(coalesce(string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s',"          \
	"   transformer_id, window_end_day, window_days, history_days, status, resolution_s, rows," \
	"   customers, columns_active, ntl_kwh, technical_kwh, noise_sd, fit_r2, iterations), ','" \
	"   order by transformer_id, window_end_day), '')) from risk.area_attribution_window),"   \
	" 'attribution=' || (select count(*) || ':' ||"                                           \
	"   md5(coalesce(string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s',"                   \
	"   transformer_id, window_end_day, customer_id, resolution_s, share, kwh_day, stolen_kwh," \
	"   z, carrier, reversed_coef, reversed_z), ','"                                          \
	"   order by transformer_id, window_end_day, customer_id), ''))"                          \
	"   from risk.area_attribution),"                                                         \
	" 'attribution_queue=' || (select count(*) from risk.area_attribution_queue),"            \
	" 'transformer_progress=' || (select coalesce(string_agg(partition || ':' || day, ','"    \
	"   order by partition), '') from risk.transformer_progress),"

/* risk.alerts (every column a run determines: not the wall-clock opened_at and last_seen, nor
 * the review-queue revisions, whose order against the days around them a restart may change
 * when a day raised at its close is completed later) and the customer-days still waiting to be
 * scored. */
#define RESULT_DIGEST_ALERTS_SQL                                                              \
	" 'alerts=' || (select count(*) || ':' ||"                                                \
	"   md5(coalesce(string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s',"    \
	"   alert_id, customer_id, kind, status, first_day, last_day, firings, score, severity,"  \
	"   rules, curve, ruleset_version, stolen_method, stolen_from, stolen_kwh,"               \
	"   stolen_kwh_high, theft_probability), ',' order by customer_id, kind, first_day), ''))" \
	"   from risk.alerts),"                                                                   \
	" 'pending_scores=' || (select count(*) from risk.pending_scores),"

/* The digest of every result table, the alerts with them when with_alerts is set. */
static void result_digest(const char *dsn, int with_alerts, char *out, size_t out_size)
{
	char grades[512];
	size_t used;
	e2e_query_text(dsn,
	               with_alerts ? "select concat_ws(' '," RESULT_DIGEST_TABLES_SQL
	                             RESULT_DIGEST_ALERTS_SQL
	                             " 'entities=' || (select count(*) from risk.entity_state))"
	                           : "select concat_ws(' '," RESULT_DIGEST_TABLES_SQL
	                             " 'entities=' || (select count(*) from risk.entity_state))",
	               out, out_size);
	e2e_grade_digest(dsn, grades, sizeof(grades));
	used = strlen(out);
	cr_assert_lt(used + 1 + strlen(grades), out_size, "digest buffer too small");
	snprintf(out + used, out_size - used, " %s", grades);
}

void e2e_result_digest(const char *dsn, char *out, size_t out_size)
{
	result_digest(dsn, 1, out, out_size);
}

void e2e_result_digest_except_alerts(const char *dsn, char *out, size_t out_size)
{
	result_digest(dsn, 0, out, out_size);
}

static void header_copy(rd_kafka_headers_t *hdrs, const char *name, char *out, size_t size)
{
	const void *value;
	size_t len;
	out[0] = '\0';
	if (hdrs && rd_kafka_header_get_last(hdrs, name, &value, &len) == RD_KAFKA_RESP_ERR_NO_ERROR)
		snprintf(out, size, "%.*s", (int)len, (const char *)value);
}

void e2e_read_topic_each(const struct e2e_world *w, const char *topic,
                         void (*fn)(const rd_kafka_message_t *m, void *arg), void *arg)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	cr_assert_eq(rd_kafka_conf_set(conf, "bootstrap.servers", w->env.brokers, errstr,
	                               sizeof(errstr)), RD_KAFKA_CONF_OK);
	rd_kafka_conf_set(conf, "group.id", "e2e-topic-reader", errstr, sizeof(errstr));
	rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof(errstr));
	rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr));
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	cr_assert_not_null(rk, "%s", errstr);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(w->partitions);
	for (int p = 0; p < w->partitions; p++)
		rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
	cr_assert_eq(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_topic_partition_list_destroy(parts);

	int eofs = 0;
	time_t deadline = time(NULL) + 30;
	while (eofs < w->partitions && time(NULL) < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
		if (!m)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
			eofs++;
		else if (!m->err)
			fn(m, arg);
		rd_kafka_message_destroy(m);
	}
	cr_assert_eq(eofs, w->partitions, "did not reach the end of %s", topic);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
}

/* A growing array of records of `size` bytes, for the readers' callbacks. */
struct records {
	void *items;
	size_t size, count, cap;
};

static void *records_add(struct records *r)
{
	if (r->count == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->items = realloc(r->items, r->size * r->cap);
		cr_assert_not_null(r->items);
	}
	void *item = (char *)r->items + r->size * r->count++;
	memset(item, 0, r->size);
	return item;
}

static void add_dead_letter(const rd_kafka_message_t *m, void *arg)
{
	struct e2e_dead_letter *d = records_add(arg);
	rd_kafka_headers_t *hdrs = NULL;
	char num[32];
	d->payload = strndup(m->payload ? m->payload : "", m->len);
	rd_kafka_message_headers(m, &hdrs);
	header_copy(hdrs, "x-error", d->error, sizeof(d->error));
	header_copy(hdrs, "x-source-topic", d->source_topic, sizeof(d->source_topic));
	header_copy(hdrs, "x-source-partition", num, sizeof(num));
	d->source_partition = num[0] ? atoi(num) : -1;
	header_copy(hdrs, "x-source-offset", num, sizeof(num));
	d->source_offset = num[0] ? atoll(num) : -1;
}

size_t e2e_read_dead_letters(const struct e2e_world *w, struct e2e_dead_letter **out)
{
	struct records r = {.size = sizeof(struct e2e_dead_letter)};
	e2e_read_topic_each(w, w->topics[6], add_dead_letter, &r);
	*out = r.items;
	return r.count;
}

void e2e_dead_letters_free(struct e2e_dead_letter *dl, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(dl[i].payload);
	free(dl);
}

static void add_message(const rd_kafka_message_t *m, void *arg)
{
	struct e2e_message *d = records_add(arg);
	d->key = m->key ? strndup(m->key, m->key_len) : NULL;
	d->payload = strndup(m->payload ? m->payload : "", m->len);
	d->partition = m->partition;
	d->offset = m->offset;
}

size_t e2e_read_topic(const struct e2e_world *w, const char *topic, struct e2e_message **out)
{
	struct records r = {.size = sizeof(struct e2e_message)};
	e2e_read_topic_each(w, topic, add_message, &r);
	*out = r.items;
	return r.count;
}

void e2e_messages_free(struct e2e_message *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].key);
		free(m[i].payload);
	}
	free(m);
}

void e2e_mock_ctl(const struct e2e_world *w, const char *fmt, ...)
{
	char command[512], out[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(command, sizeof(command), fmt, ap);
	va_end(ap);
	int rc = e2e_run_capture(out, sizeof(out), "'%s/mock-kafka' ctl --control '%s' %s",
	                         w->env.bin, w->env.control, command);
	cr_assert_eq(rc, 0, "mock-kafka ctl %s: %s", command, out);
}

void e2e_assert_kafka_commits_match(const struct e2e_world *w)
{
	const char *group = world_group;
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	cr_assert_eq(rd_kafka_conf_set(conf, "bootstrap.servers", w->env.brokers, errstr,
	                               sizeof(errstr)), RD_KAFKA_CONF_OK);
	cr_assert_eq(rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)),
	             RD_KAFKA_CONF_OK);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	cr_assert_not_null(rk, "%s", errstr);
	rd_kafka_topic_partition_list_t *tps = rd_kafka_topic_partition_list_new(4 * w->partitions);
	for (int role = 0; role < 4; role++)
		for (int p = 0; p < w->partitions; p++)
			rd_kafka_topic_partition_list_add(tps, w->topics[role], p);
	cr_assert_eq(rd_kafka_committed(rk, tps, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
	for (int i = 0; i < tps->cnt; i++) {
		const rd_kafka_topic_partition_t *tp = &tps->elems[i];
		char sql[600];
		snprintf(sql, sizeof(sql),
		         "select coalesce(max(next_offset), %d) from risk.kafka_offsets"
		         " where topic = '%s' and partition = %d",
		         (int)RD_KAFKA_OFFSET_INVALID, tp->topic, (int)tp->partition);
		int64_t stored = e2e_query_int(w->dsn, sql);
		if (i < 3 * w->partitions)
			cr_assert_gt(tp->offset, 0, "%s[%d]: nothing committed to Kafka", tp->topic,
			             (int)tp->partition);
		cr_assert_eq(tp->offset, stored,
		             "%s[%d]: Kafka has offset %lld committed for group %s, PostgreSQL %lld",
		             tp->topic, (int)tp->partition, (long long)tp->offset, group,
		             (long long)stored);
	}
	rd_kafka_topic_partition_list_destroy(tps);
	rd_kafka_destroy(rk);
}

void e2e_reference_digest(struct e2e_world *w, char *ref, size_t ref_size)
{
	char run_dsn[sizeof(w->dsn)], suffix[sizeof(w->name) + 8];
	snprintf(run_dsn, sizeof(run_dsn), "%s", w->dsn);
	snprintf(suffix, sizeof(suffix), "%s_ref", w->name);
	e2e_world_new_database(w, suffix);
	e2e_world_set_group(w, "riskd-reference");
	e2e_riskd_run_until_idle(w, 4, 300);
	e2e_result_digest(w->dsn, ref, ref_size);
	snprintf(w->dsn, sizeof(w->dsn), "%s", run_dsn);
}

void e2e_kill_leftover(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGCONT);
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}
