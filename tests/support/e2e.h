/*
 * e2e.h - helpers for riskd's end-to-end suites, which run against the real local stack
 * (deploy/local-stack.sh: PostgreSQL 15 and the librdkafka mock cluster in its own process).
 *
 * Each test gets its own database (local-stack.sh newdb) and its own topics (created through
 * the mock cluster's control socket), runs the real bin/riskctl and bin/riskd processes, and
 * checks PostgreSQL and Kafka afterwards. Helpers abort the test (cr_assert) on failure.
 */
#ifndef RISKD_E2E_H
#define RISKD_E2E_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct e2e_env {
	char brokers[512];
	char control[512];    /* mock cluster control socket */
	char bin[1024];       /* directory of riskd, riskctl, mock-kafka */
	char root[1024];      /* checkout root */
	char pg_ca[1024];     /* the CA of the stack's PostgreSQL TLS certificate */
	int pg_port;          /* its TCP port on 127.0.0.1 (and the socket's) */
};

/* One test's world: a database, a topic prefix, a config file. */
struct e2e_world {
	struct e2e_env env;
	char name[64];        /* unique: test name + pid */
	char dsn[1024];
	char dir[1200];       /* scratch directory under var/e2e/NAME */
	char config[1300];    /* dir/riskd.yaml */
	char topics[7][128];  /* readings, billing, profiles, transformer, review, grades, dead */
	int partitions;
};

/* Reads var/stack.env (the stack must be up) and RISKD_BIN. */
void e2e_env_load(struct e2e_env *env);

/*
 * Creates a fresh world: database riskd_e2e_<name>, topics <name>.<topic> with partitions
 * partitions each, scratch directory, and a config file using them (group id riskd-<name>,
 * batch size batch_size, metrics off).
 */
void e2e_world_new(struct e2e_world *w, const char *name, int partitions, int batch_size);

/* Rewrites w's config with batch.checkpoint_interval_ms = ms (-1: riskd's default). */
void e2e_world_set_checkpoint_interval(struct e2e_world *w, int ms);

/* Rewrites w's config with the metrics endpoint on port (0 = off). */
void e2e_world_set_metrics_port(struct e2e_world *w, int port);

/* Rewrites w's config with yaml (lines indented by two spaces, such as
 * "  consumer_properties:\n    client.id: x\n") inside its `kafka:` section; "" for none. */
void e2e_world_set_kafka_extra(struct e2e_world *w, const char *yaml);

/* Creates topic <name>.<suffix> (w's partition count) and rewrites w's config with it in
 * place of topics[role] (0..6, the order of e2e_world.topics). */
void e2e_world_set_topic(struct e2e_world *w, int role, const char *suffix);

/* Rewrites w's config with rules.path = path (default: the checkout's rules/). */
void e2e_world_set_rules(struct e2e_world *w, const char *path);

/* Rewrites w's config with attribution.window_days and attribution.history_days. */
void e2e_world_set_attribution(struct e2e_world *w, int window_days, int history_days);

/* Rewrites w's config with attribution.score_after_area on (on != 0) or off. Without it the
 * config leaves the key out: riskd's default (on), which the digests that include
 * risk.alerts need (off scores a customer-day with the area results in at its close). */
void e2e_world_set_score_after_area(struct e2e_world *w, int on);

/* A free loopback TCP port (bound and released; a race is unlikely on a test machine). */
int e2e_free_port(void);

/* GET http://127.0.0.1:port/path; returns the status code (-1 if no answer) and copies the
 * body into body. */
int e2e_http_get(int port, const char *path, char *body, size_t body_size);

/* Rewrites w's config with another consumer group (for comparing independent runs). */
void e2e_world_set_group(struct e2e_world *w, const char *group);

/* Points w at another database: a fresh one named riskd_e2e_<suffix>. */
void e2e_world_new_database(struct e2e_world *w, const char *suffix);

/* Runs a shell command (sh -c) with its stdout and stderr into out (NUL-terminated, cut to
 * size - 1 bytes); returns its exit status (-1 when it did not exit normally). */
int e2e_run_capture(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Runs a shell command (sh -c), asserting exit status 0. */
void e2e_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Starts `riskd --config w->config [extra args]` with stderr to dir/riskd-N.log; returns pid. */
pid_t e2e_riskd_start(const struct e2e_world *w, const char *extra_args);

/* Kills *pid (resumed first, should it be stopped) and reaps it when it is above 0, then
 * sets it to 0: for a suite's fini, after an assertion left a riskd running. */
void e2e_kill_leftover(pid_t *pid);

/* Waits for pid up to timeout_s; returns its exit status, or -1 on timeout (pid killed). */
int e2e_wait(pid_t pid, double timeout_s);

/* Runs riskd --until-idle idle_s to completion and asserts exit status 0. */
void e2e_riskd_run_until_idle(const struct e2e_world *w, double idle_s, double timeout_s);

/* Publishes file with riskctl produce --route using w's config. */
void e2e_produce_file(const struct e2e_world *w, const char *path);

/*
 * Waits (up to 30 s) until no other session is connected to dsn's database: after riskd is
 * killed, PostgreSQL may still be finishing a commit it sent; once its backends are gone,
 * what the database holds no longer changes.
 */
void e2e_wait_sessions_gone(const char *dsn);

/* Runs a query and returns the single value as int64 (asserts one row, one column). */
int64_t e2e_query_int(const char *dsn, const char *sql);

/* Runs a query and copies the single text value into out. */
void e2e_query_text(const char *dsn, const char *sql, char *out, size_t out_size);

/* Runs query after `SET ROLE role` (role NULL: as the connecting user) and copies the
 * SQLSTATE of its failure into state, or "" when it succeeded. */
void e2e_sql_state(const char *dsn, const char *role, const char *query, char *state,
                   size_t state_size);

/*
 * Makes login role role exist in the cluster of dsn (roles are cluster-wide, so a role an
 * earlier test created is reused) as a member of group (NULL: of none), using dsn's
 * superuser. Any name is allowed: it is quoted as an identifier.
 */
void e2e_login_role(const char *dsn, const char *role, const char *group);

/* dsn with the user replaced by role (quoted for libpq), into out. */
void e2e_dsn_as(const char *dsn, const char *role, char *out, size_t out_size);

/*
 * A digest of the result tables that must be identical between two runs over the same
 * input: daily_usage, transformer_daily, customers (without timestamps), ingest_counts,
 * kafka_offsets (without group and timestamps), area_balance, the hourly sums, the
 * attribution's windows and findings (row count and md5, without timestamps), the length
 * of its queue, the theft alerts (customer, days, firings, score, severity, rules, stolen
 * energy), the count of customer-days still waiting for their area, and the grade tables as
 * e2e_grade_digest has them. Written into out (an md5 per table).
 */
void e2e_result_digest(const char *dsn, char *out, size_t out_size);

/* The same without risk.alerts and risk.pending_scores: what must be identical between two
 * runs whose alerts may differ (attribution.score_after_area off scores a customer-day at its
 * close with the area results in by then, which a restart can change). */
void e2e_result_digest_except_alerts(const char *dsn, char *out, size_t out_size);

/* A digest (row count and md5) of risk.credit_grades and risk.credit_grade_history: every
 * column but the wall-clock times and the history's serial id (its order per customer is
 * kept). Written into out. */
void e2e_grade_digest(const char *dsn, char *out, size_t out_size);

/* Sends one command to the stack's mock cluster (tools/mock_kafka.c's control protocol:
 * "broker-down all", "request-errors Fetch NOT_LEADER_FOR_PARTITION 100", "latency all 300",
 * ...), asserting an "ok" reply. */
void e2e_mock_ctl(const struct e2e_world *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Asserts that the offsets w's consumer group (as its config names it now) committed to Kafka
 * for the four input topics (each of w->partitions partitions) equal the next offsets riskd
 * stored in PostgreSQL for them: the co-assigned billing, profile and transformer partitions
 * are committed like the readings ones, and no instance committed over the offsets another
 * stored. Every partition of the three customer topics must have a committed offset (the
 * test's input reaches every one); a transformer partition with no row in PostgreSQL must
 * have none either.
 */
void e2e_assert_kafka_commits_match(const struct e2e_world *w);

/*
 * The digest (e2e_result_digest) of an undisturbed run over w's topics: replays them into a
 * fresh database (riskd_e2e_<name>_ref) with one riskd --until-idle of group riskd-reference.
 * w's config keeps that group afterwards; w->dsn is restored to the test's database.
 */
void e2e_reference_digest(struct e2e_world *w, char *ref, size_t ref_size);

/* A dead-lettered message read back from Kafka. */
struct e2e_dead_letter {
	char *payload;         /* NUL-terminated copy */
	char error[512];       /* x-error */
	char source_topic[128];
	int32_t source_partition;
	int64_t source_offset;
};

/* Reads every message of topic (all partitions, from the beginning to the end) from w's
 * cluster. Returns the count; *out is malloc'ed (free with e2e_dead_letters_free). */
size_t e2e_read_dead_letters(const struct e2e_world *w, struct e2e_dead_letter **out);
void e2e_dead_letters_free(struct e2e_dead_letter *dl, size_t n);

/* Reads every message of topic (w->partitions partitions, from the beginning to the end) from
 * w's cluster and calls fn(m, arg) for each (m is valid during the call); asserts that the end
 * of every partition was reached. */
struct rd_kafka_message_s;
void e2e_read_topic_each(const struct e2e_world *w, const char *topic,
                         void (*fn)(const struct rd_kafka_message_s *m, void *arg), void *arg);

/* A message read back from any topic. */
struct e2e_message {
	char *key;             /* NUL-terminated copy; NULL when the message has no key */
	char *payload;         /* NUL-terminated copy */
	int32_t partition;
	int64_t offset;
};

/* Reads every message of topic (w->partitions partitions, from the beginning to the end) from
 * w's cluster. Returns the count; *out is malloc'ed (free with e2e_messages_free). */
size_t e2e_read_topic(const struct e2e_world *w, const char *topic, struct e2e_message **out);
void e2e_messages_free(struct e2e_message *m, size_t n);

#endif
