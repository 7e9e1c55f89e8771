/*
 * mock_kafka.c - bin/mock-kafka: a launcher around librdkafka's built-in mock Kafka cluster.
 *
 * No Kafka broker is packaged for Debian, so the local stack, the demo and the end-to-end tests
 * run riskd against librdkafka's mock cluster (rdkafka_mock.h). The mock speaks the real Kafka
 * protocol on loopback, but only the process that created it can create topics or inject
 * faults, and its ports are random. This launcher owns the cluster and exposes both:
 *
 *   mock-kafka serve --bootstrap-file PATH --control PATH [--brokers N]
 *                    [--topic NAME[:PARTITIONS] ...] [--default-partitions N]
 *     Creates an N-broker cluster (ids 1..N), creates the topics (the mock does not support
 *     CreateTopics), listens on a Unix stream socket at the control PATH, and only then writes
 *     the bootstrap list ("127.0.0.1:p1,127.0.0.1:p2", no trailing newline) to the bootstrap
 *     file atomically (tmp file + rename): a script that sees the file can use both the
 *     brokers and the control socket. Runs until SIGTERM, SIGINT or the `shutdown` command,
 *     then removes the socket and the bootstrap file and exits 0.
 *
 *   mock-kafka ctl --control PATH COMMAND [ARGS...]
 *     Sends one command line, prints the one-line reply on stdout. Exit status: 0 when the
 *     reply starts with "ok", 1 otherwise, 2 when the socket cannot be reached.
 *
 * Control protocol: one command line per connection, one reply line "ok ..." or "error: ...".
 *   ping                                  -> ok pong pid=P bootstrap=... brokers=N
 *   topic-create NAME [PARTITIONS]        create a topic (error if it exists)
 *   broker-down ID | broker-up ID         ID 1..N, or -1 / all for every broker
 *   request-errors APIKEY ERRCODE COUNT   the next COUNT requests of APIKEY fail with ERRCODE
 *   clear-errors APIKEY                   drop errors still queued for APIKEY
 *   latency BROKER_ID MS                  round-trip delay added by a broker (-1 / all: every)
 *   shutdown                              reply, then stop the cluster and exit 0
 * APIKEY is a number or a name (Produce, Fetch, Metadata, OffsetCommit, JoinGroup, ...);
 * ERRCODE is a number or a librdkafka error name without its prefix (NOT_COORDINATOR,
 * REQUEST_TIMED_OUT, _TRANSPORT to make the broker drop the connection, ...).
 *
 * Log lines go to stderr as key=value pairs, librdkafka's own log lines included.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "config/riskd_base.h"

#define MOCK_BROKERS_MAX 16
#define MOCK_PARTITIONS_MAX 1024
#define MOCK_TOPICS_MAX 64
#define MOCK_LINE_MAX 512
#define MOCK_ARGS_MAX 8
#define MOCK_ERRORS_MAX 100000
#define MOCK_CLIENT_TIMEOUT_MS 2000
#define MOCK_CTL_TIMEOUT_S 30

/* Kafka's own limit on a topic name's length. */
#define MOCK_TOPIC_NAME_MAX 249

/* One --topic argument. */
struct mock_topic_spec {
	char name[MOCK_TOPIC_NAME_MAX + 1];
	int partition_cnt;
};

/* Everything `serve` owns; torn down by mock_server_close(). */
struct mock_server {
	rd_kafka_t *rk;                    /* dummy producer the cluster is attached to */
	rd_kafka_mock_cluster_t *mcluster; /* the cluster itself */
	int broker_cnt;
	int default_partition_cnt;
	const char *bootstrap_path;
	const char *control_path;
	int listen_fd;
	int wrote_bootstrap;
	char bootstrap[MOCK_LINE_MAX];
};

/* Self-pipe written by the signal handler so poll() in the main loop wakes up. */
static int mock_signal_pipe[2] = {-1, -1};
static volatile sig_atomic_t mock_signal_seen;

/* ---------------------------------------------------------------------------------------- */
/* Logging: one key=value line per event on stderr. */

static void mock_log(const char *level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void mock_log(const char *level, const char *event, const char *fmt, ...)
{
	char line[1024];
	char stamp[32];
	struct timespec now;
	struct tm tm_utc;
	va_list ap;
	int len;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm_utc);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm_utc);
	len = snprintf(line, sizeof(line), "ts=%s.%03ldZ prog=mock-kafka pid=%ld level=%s event=%s",
		       stamp, now.tv_nsec / 1000000L, (long)getpid(), level, event);
	if (fmt && *fmt && len > 0 && (size_t)len < sizeof(line) - 1) {
		line[len++] = ' ';
		va_start(ap, fmt);
		vsnprintf(line + len, sizeof(line) - (size_t)len, fmt, ap);
		va_end(ap);
	}
	fprintf(stderr, "%s\n", line);
}

/* Copies text into dst as a double-quoted log value: quotes and backslashes escaped,
 * control characters replaced by spaces. Always NUL-terminates. */
static const char *mock_log_quote(char *dst, size_t dst_size, const char *text)
{
	size_t out = 0;

	if (dst_size < 3)
		return "\"\"";
	dst[out++] = '"';
	for (; *text && out + 3 < dst_size; text++) {
		unsigned char ch = (unsigned char)*text;
		if (ch == '"' || ch == '\\')
			dst[out++] = '\\';
		dst[out++] = iscntrl(ch) ? ' ' : (char)ch;
	}
	dst[out++] = '"';
	dst[out] = '\0';
	return dst;
}

/* librdkafka log callback (runs on librdkafka's threads): re-emits the line as key=value. */
static void mock_rdkafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	static const char *const names[8] = {"emerg", "alert", "crit",   "error",
					     "warn",  "notice", "info", "debug"};
	char quoted[768];

	(void)rk;
	/* The launcher's own handle never connects anywhere: its missing bootstrap.servers is
	 * expected, not worth a warning in every stack log. */
	if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "bootstrap.servers"))
		return;
	mock_log(names[level >= 0 && level < 8 ? level : 7], "rdkafka", "fac=%s msg=%s", fac,
		 mock_log_quote(quoted, sizeof(quoted), buf));
}

/* ---------------------------------------------------------------------------------------- */
/* Argument and name parsing. */

/* Parses a whole decimal integer in [min, max] into *out. Returns 0 or RISKD_ERR_INVALID. */
static int mock_parse_int(const char *text, long min, long max, long *out)
{
	char *end = NULL;
	long value;

	if (!text || !*text)
		return RISKD_ERR_INVALID;
	errno = 0;
	value = strtol(text, &end, 10);
	if (errno || *end || value < min || value > max)
		return RISKD_ERR_INVALID;
	*out = value;
	return RISKD_OK;
}

/* Parses a broker id: 1..MOCK_BROKERS_MAX, or "-1" / "all" for every broker. */
static int mock_parse_broker_id(const char *text, int32_t *out)
{
	long value;

	if (text && strcmp(text, "all") == 0) {
		*out = -1;
		return RISKD_OK;
	}
	if (mock_parse_int(text, -1, MOCK_BROKERS_MAX, &value) < 0 || value == 0)
		return RISKD_ERR_INVALID;
	*out = (int32_t)value;
	return RISKD_OK;
}

/* Kafka protocol request types by name (the numbers are fixed by the protocol). */
static const struct {
	const char *name;
	int16_t api_key;
} mock_api_keys[] = {
	{"Produce", 0},
	{"Fetch", 1},
	{"ListOffsets", 2},
	{"Metadata", 3},
	{"OffsetCommit", 8},
	{"OffsetFetch", 9},
	{"FindCoordinator", 10},
	{"JoinGroup", 11},
	{"Heartbeat", 12},
	{"LeaveGroup", 13},
	{"SyncGroup", 14},
	{"DescribeGroups", 15},
	{"ListGroups", 16},
	{"SaslHandshake", 17},
	{"ApiVersions", 18},
	{"CreateTopics", 19},
	{"DeleteTopics", 20},
	{"DeleteRecords", 21},
	{"InitProducerId", 22},
	{"OffsetForLeaderEpoch", 23},
	{"AddPartitionsToTxn", 24},
	{"AddOffsetsToTxn", 25},
	{"EndTxn", 26},
	{"TxnOffsetCommit", 28},
};

/* Parses an API key given as a number (0..32767) or a name from mock_api_keys
 * (case-insensitive). Returns 0 or RISKD_ERR_INVALID. */
static int mock_parse_api_key(const char *text, int16_t *out)
{
	long value;
	size_t i;

	if (mock_parse_int(text, 0, INT16_MAX, &value) == 0) {
		*out = (int16_t)value;
		return RISKD_OK;
	}
	for (i = 0; text && i < sizeof(mock_api_keys) / sizeof(mock_api_keys[0]); i++) {
		if (strcasecmp(text, mock_api_keys[i].name) == 0) {
			*out = mock_api_keys[i].api_key;
			return RISKD_OK;
		}
	}
	return RISKD_ERR_INVALID;
}

/* Parses an error code given as a number or as a librdkafka error name without the
 * RD_KAFKA_RESP_ERR_ prefix (case-insensitive). Returns 0 or RISKD_ERR_INVALID. */
static int mock_parse_err(const char *text, rd_kafka_resp_err_t *out)
{
	const struct rd_kafka_err_desc *descs = NULL;
	size_t desc_cnt = 0;
	long value;
	size_t i;

	if (mock_parse_int(text, INT_MIN, INT_MAX, &value) == 0) {
		*out = (rd_kafka_resp_err_t)value;
		return RISKD_OK;
	}
	rd_kafka_get_err_descs(&descs, &desc_cnt);
	for (i = 0; text && i < desc_cnt; i++) {
		if (descs[i].name && strcasecmp(text, descs[i].name) == 0) {
			*out = descs[i].code;
			return RISKD_OK;
		}
	}
	return RISKD_ERR_INVALID;
}

/* Parses "NAME" or "NAME:PARTITIONS" into spec. Returns 0 or RISKD_ERR_INVALID. */
static int mock_parse_topic_spec(const char *arg, int default_partition_cnt,
				 struct mock_topic_spec *spec)
{
	const char *colon = strrchr(arg, ':');
	size_t name_len = colon ? (size_t)(colon - arg) : strlen(arg);
	long value = default_partition_cnt;

	if (colon && mock_parse_int(colon + 1, 1, MOCK_PARTITIONS_MAX, &value) < 0)
		return RISKD_ERR_INVALID;
	if (name_len == 0 || riskd_strlcpy(spec->name, sizeof(spec->name), arg, name_len) < 0)
		return RISKD_ERR_INVALID;
	spec->partition_cnt = (int)value;
	return RISKD_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Cluster operations. */

/* Creates topic name with partition_cnt partitions, replicated on min(3, brokers).
 * Returns 0, or RISKD_ERR_CONFLICT if it exists, RISKD_ERR_INVALID for other failures. */
static int mock_topic_create(struct mock_server *srv, const char *name, int partition_cnt,
			     char *errstr, size_t errstr_size)
{
	int replication = srv->broker_cnt < 3 ? srv->broker_cnt : 3;
	rd_kafka_resp_err_t err;

	err = rd_kafka_mock_topic_create(srv->mcluster, name, partition_cnt, replication);
	if (err) {
		snprintf(errstr, errstr_size, "topic %s: %s", name, rd_kafka_err2str(err));
		return err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS ? RISKD_ERR_CONFLICT
								     : RISKD_ERR_INVALID;
	}
	mock_log("info", "topic_created", "topic=%s partitions=%d replication=%d", name,
		 partition_cnt, replication);
	return RISKD_OK;
}

/* Splits line in place on blanks into at most MOCK_ARGS_MAX words. Returns the count,
 * or -1 when there are more words than that. */
static int mock_line_split(char *line, char **words)
{
	int cnt = 0;
	char *save = NULL;
	char *word;

	for (word = strtok_r(line, " \t\r\n", &save); word; word = strtok_r(NULL, " \t\r\n", &save)) {
		if (cnt == MOCK_ARGS_MAX)
			return -1;
		words[cnt++] = word;
	}
	return cnt;
}

/* Runs one control command line and writes the one-line reply (without newline) into
 * reply. Sets *stop when the command asks the server to exit. */
static void mock_command_run(struct mock_server *srv, char *line, char *reply, size_t reply_size,
			     int *stop)
{
	char *words[MOCK_ARGS_MAX];
	char errstr[256];
	int word_cnt = mock_line_split(line, words);
	const char *cmd = word_cnt > 0 ? words[0] : "";
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
	int32_t broker_id;
	int16_t api_key;
	long value;

	if (word_cnt <= 0) {
		snprintf(reply, reply_size, "error: empty or overlong command");
	} else if (strcmp(cmd, "ping") == 0 && word_cnt == 1) {
		snprintf(reply, reply_size, "ok pong pid=%ld bootstrap=%s brokers=%d",
			 (long)getpid(), srv->bootstrap, srv->broker_cnt);
	} else if (strcmp(cmd, "topic-create") == 0 && (word_cnt == 2 || word_cnt == 3)) {
		value = srv->default_partition_cnt;
		if (word_cnt == 3 && mock_parse_int(words[2], 1, MOCK_PARTITIONS_MAX, &value) < 0)
			snprintf(reply, reply_size, "error: partitions must be 1..%d",
				 MOCK_PARTITIONS_MAX);
		else if (mock_topic_create(srv, words[1], (int)value, errstr, sizeof(errstr)) < 0)
			snprintf(reply, reply_size, "error: %s", errstr);
		else
			snprintf(reply, reply_size, "ok topic=%s partitions=%ld", words[1], value);
	} else if ((strcmp(cmd, "broker-down") == 0 || strcmp(cmd, "broker-up") == 0) &&
		   word_cnt == 2) {
		if (mock_parse_broker_id(words[1], &broker_id) < 0) {
			snprintf(reply, reply_size, "error: broker id must be 1..%d, -1 or all",
				 srv->broker_cnt);
		} else {
			err = strcmp(cmd, "broker-down") == 0
				      ? rd_kafka_mock_broker_set_down(srv->mcluster, broker_id)
				      : rd_kafka_mock_broker_set_up(srv->mcluster, broker_id);
			if (err)
				snprintf(reply, reply_size, "error: %s %s: %s", cmd, words[1],
					 rd_kafka_err2str(err));
			else
				snprintf(reply, reply_size, "ok %s broker=%d", cmd, (int)broker_id);
		}
	} else if (strcmp(cmd, "request-errors") == 0 && word_cnt == 4) {
		rd_kafka_resp_err_t inject;
		rd_kafka_resp_err_t *errors = NULL;
		long i;

		if (mock_parse_api_key(words[1], &api_key) < 0)
			snprintf(reply, reply_size, "error: unknown api key '%s'", words[1]);
		else if (mock_parse_err(words[2], &inject) < 0)
			snprintf(reply, reply_size, "error: unknown error code '%s'", words[2]);
		else if (mock_parse_int(words[3], 1, MOCK_ERRORS_MAX, &value) < 0)
			snprintf(reply, reply_size, "error: count must be 1..%d", MOCK_ERRORS_MAX);
		else {
			errors = xmalloc((size_t)value * sizeof(*errors));
			for (i = 0; i < value; i++)
				errors[i] = inject;
			rd_kafka_mock_push_request_errors_array(srv->mcluster, api_key, (size_t)value,
								errors);
			free(errors);
			snprintf(reply, reply_size, "ok api_key=%d error=%s count=%ld", (int)api_key,
				 rd_kafka_err2name(inject), value);
		}
	} else if (strcmp(cmd, "clear-errors") == 0 && word_cnt == 2) {
		if (mock_parse_api_key(words[1], &api_key) < 0) {
			snprintf(reply, reply_size, "error: unknown api key '%s'", words[1]);
		} else {
			rd_kafka_mock_clear_request_errors(srv->mcluster, api_key);
			snprintf(reply, reply_size, "ok api_key=%d cleared", (int)api_key);
		}
	} else if (strcmp(cmd, "latency") == 0 && word_cnt == 3) {
		if (mock_parse_broker_id(words[1], &broker_id) < 0)
			snprintf(reply, reply_size, "error: broker id must be 1..%d, -1 or all",
				 srv->broker_cnt);
		else if (mock_parse_int(words[2], 0, 600000, &value) < 0)
			snprintf(reply, reply_size, "error: latency must be 0..600000 ms");
		else if ((err = rd_kafka_mock_broker_set_rtt(srv->mcluster, broker_id, (int)value)))
			snprintf(reply, reply_size, "error: latency %s: %s", words[1],
				 rd_kafka_err2str(err));
		else
			snprintf(reply, reply_size, "ok broker=%d rtt_ms=%ld", (int)broker_id, value);
	} else if (strcmp(cmd, "shutdown") == 0 && word_cnt == 1) {
		snprintf(reply, reply_size, "ok shutting down");
		*stop = 1;
	} else {
		snprintf(reply, reply_size,
			 "error: unknown command or wrong arguments '%s' (commands: ping, "
			 "topic-create NAME [PARTITIONS], broker-down ID, broker-up ID, "
			 "request-errors APIKEY ERRCODE COUNT, clear-errors APIKEY, "
			 "latency BROKER_ID MS, shutdown)",
			 cmd);
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Control socket. */

/* Fills addr for a Unix socket at path. Returns 0 or RISKD_ERR_RANGE if the path is too long. */
static int mock_unix_addr(const char *path, struct sockaddr_un *addr, char *errstr,
			  size_t errstr_size)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr->sun_path)) {
		snprintf(errstr, errstr_size, "control socket path is %zu bytes, limit is %zu: %s",
			 strlen(path), sizeof(addr->sun_path) - 1, path);
		return RISKD_ERR_RANGE;
	}
	memcpy(addr->sun_path, path, strlen(path) + 1);
	return RISKD_OK;
}

/* Binds and listens on the control socket. A stale socket file left by a dead launcher is
 * replaced; a live one (something accepts connections) is an error, as is any non-socket
 * file at that path. Returns the listening fd or a negative riskd_err. */
static int mock_control_listen(const char *path, char *errstr, size_t errstr_size)
{
	struct sockaddr_un addr;
	struct stat st;
	int fd = -1;
	int ret;

	if ((ret = mock_unix_addr(path, &addr, errstr, errstr_size)) < 0)
		goto done;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(errstr, errstr_size, "%s exists and is not a socket", path);
			ret = RISKD_ERR_CONFLICT;
			goto done;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
			snprintf(errstr, errstr_size, "another launcher is serving on %s", path);
			ret = RISKD_ERR_CONFLICT;
			goto done;
		}
		if (fd >= 0)
			close(fd);
		fd = -1;
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 16) < 0) {
		snprintf(errstr, errstr_size, "control socket %s: %s", path, strerror(errno));
		ret = RISKD_ERR_IO;
		goto done;
	}
	ret = fd;
	fd = -1;
done:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Reads one line (up to the first newline, EOF or timeout) from fd into line.
 * Returns its length, or -1 on timeout / error / overlong line. */
static int mock_line_read(int fd, char *line, size_t line_size, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	size_t len = 0;
	ssize_t got;

	while (len + 1 < line_size) {
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -1;
		got = read(fd, line + len, line_size - 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		len += (size_t)got;
		line[len] = '\0';
		if (memchr(line, '\n', len)) {
			*strchr(line, '\n') = '\0';
			return (int)strlen(line);
		}
	}
	line[len] = '\0';
	return len + 1 < line_size ? (int)len : -1;
}

/* Writes all of buf to fd, retrying short writes. Returns 0 or RISKD_ERR_IO. */
static int mock_write_all(int fd, const char *buf, size_t len)
{
	ssize_t put;

	while (len > 0) {
		put = write(fd, buf, len);
		if (put < 0 && errno == EINTR)
			continue;
		if (put <= 0)
			return RISKD_ERR_IO;
		buf += put;
		len -= (size_t)put;
	}
	return RISKD_OK;
}

/* Accepts one control connection, runs its command and replies. Sets *stop on shutdown. */
static void mock_control_serve_one(struct mock_server *srv, int *stop)
{
	char line[MOCK_LINE_MAX];
	char logged[MOCK_LINE_MAX + 8];
	char reply[1024];
	char quoted[1100];
	int got;
	int fd = accept(srv->listen_fd, NULL, NULL);
	size_t len;

	if (fd < 0)
		return;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	got = mock_line_read(fd, line, sizeof(line), MOCK_CLIENT_TIMEOUT_MS);
	if (got == 0) {
		/* Connected and closed without a word: a liveness probe (another launcher
		 * checking whether this socket is live). Nothing to answer. */
		close(fd);
		return;
	}
	if (got < 0) {
		snprintf(reply, sizeof(reply), "error: no command line within %d ms or line too long",
			 MOCK_CLIENT_TIMEOUT_MS);
		mock_log("warn", "control_bad_request", NULL);
	} else {
		mock_log_quote(logged, sizeof(logged), line);
		mock_command_run(srv, line, reply, sizeof(reply), stop);
		mock_log(strncmp(reply, "ok", 2) == 0 ? "info" : "warn", "control", "cmd=%s reply=%s",
			 logged, mock_log_quote(quoted, sizeof(quoted), reply));
	}
	len = strlen(reply);
	reply[len++] = '\n';
	(void)mock_write_all(fd, reply, len);
	close(fd);
}

/* ---------------------------------------------------------------------------------------- */
/* serve. */

/* Signal handler: records the signal and wakes the main loop through the self-pipe. */
static void mock_signal_handler(int signo)
{
	int saved = errno;
	char byte = (char)signo;

	mock_signal_seen = signo;
	if (mock_signal_pipe[1] >= 0)
		(void)!write(mock_signal_pipe[1], &byte, 1);
	errno = saved;
}

/* Writes the bootstrap list to path atomically: a sibling tmp file, fsync, rename, so a
 * reader never sees a partial list. Returns 0, RISKD_ERR_RANGE or RISKD_ERR_IO. */
static int mock_bootstrap_write(const char *path, const char *bootstrap, char *errstr,
				size_t errstr_size)
{
	char tmp_path[PATH_MAX];
	int created = 0;
	int fd = -1;
	int ret = RISKD_ERR_IO;

	if ((size_t)snprintf(tmp_path, sizeof(tmp_path), "%s.tmp.%ld", path, (long)getpid()) >=
	    sizeof(tmp_path)) {
		snprintf(errstr, errstr_size, "bootstrap file path too long: %s", path);
		ret = RISKD_ERR_RANGE;
		goto done;
	}
	fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto io_error;
	created = 1;
	if (mock_write_all(fd, bootstrap, strlen(bootstrap)) < 0 || fsync(fd) < 0)
		goto io_error;
	ret = close(fd);
	fd = -1;
	if (ret < 0 || rename(tmp_path, path) < 0)
		goto io_error;
	created = 0;
	ret = RISKD_OK;
	goto done;
io_error:
	snprintf(errstr, errstr_size, "write %s: %s", path, strerror(errno));
	ret = RISKD_ERR_IO;
done:
	if (fd >= 0)
		close(fd);
	if (created)
		unlink(tmp_path);
	return ret;
}

/* Stops the cluster and removes the files serve created. Safe on a partly opened server. */
static void mock_server_close(struct mock_server *srv)
{
	if (srv->listen_fd >= 0) {
		close(srv->listen_fd);
		unlink(srv->control_path);
	}
	if (srv->wrote_bootstrap)
		unlink(srv->bootstrap_path);
	if (srv->mcluster)
		rd_kafka_mock_cluster_destroy(srv->mcluster);
	if (srv->rk)
		rd_kafka_destroy(srv->rk);
	srv->listen_fd = -1;
	srv->wrote_bootstrap = 0;
	srv->mcluster = NULL;
	srv->rk = NULL;
}

/* Creates the dummy producer and the mock cluster attached to it (stored in srv, released by
 * mock_server_close even on failure). Returns 0 or a negative riskd_err. */
static int mock_cluster_open(struct mock_server *srv, char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *bootstrap;
	int ret = RISKD_ERR_INVALID;

	rd_kafka_conf_set_log_cb(conf, mock_rdkafka_log_cb);
	if (rd_kafka_conf_set(conf, "client.id", "riskd-mock-kafka", errstr, errstr_size) !=
	    RD_KAFKA_CONF_OK)
		goto done;
	srv->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
	if (!srv->rk)
		goto done;
	conf = NULL; /* rd_kafka_new consumed it */
	srv->mcluster = rd_kafka_mock_cluster_new(srv->rk, srv->broker_cnt);
	if (!srv->mcluster) {
		snprintf(errstr, errstr_size, "rd_kafka_mock_cluster_new failed (%d brokers)",
			 srv->broker_cnt);
		ret = RISKD_ERR_UNAVAILABLE;
		goto done;
	}
	bootstrap = rd_kafka_mock_cluster_bootstraps(srv->mcluster);
	if (riskd_strlcpy(srv->bootstrap, sizeof(srv->bootstrap), bootstrap, strlen(bootstrap)) < 0) {
		snprintf(errstr, errstr_size, "bootstrap list too long: %s", bootstrap);
		ret = RISKD_ERR_RANGE;
		goto done;
	}
	ret = RISKD_OK;
done:
	if (conf)
		rd_kafka_conf_destroy(conf);
	return ret;
}

static void mock_usage(FILE *out)
{
	fprintf(out,
		"usage: mock-kafka serve --bootstrap-file PATH --control PATH [--brokers N]\n"
		"                        [--topic NAME[:PARTITIONS] ...] [--default-partitions N]\n"
		"       mock-kafka ctl --control PATH COMMAND [ARGS...]\n"
		"commands: ping | topic-create NAME [PARTITIONS] | broker-down ID | broker-up ID |\n"
		"          request-errors APIKEY ERRCODE COUNT | clear-errors APIKEY |\n"
		"          latency BROKER_ID MS | shutdown\n");
}

/* `serve`: see the file header. Returns the process exit status. */
static int mock_serve_main(int argc, char **argv)
{
	struct mock_server srv = {.broker_cnt = 1, .default_partition_cnt = 1, .listen_fd = -1};
	struct mock_topic_spec topics[MOCK_TOPICS_MAX];
	const char *topic_args[MOCK_TOPICS_MAX];
	struct sigaction sa;
	sigset_t block, saved_mask;
	char errstr[512];
	char quoted[600];
	int topic_cnt = 0;
	int status = 1;
	int stop = 0;
	long value;
	int i;

	for (i = 0; i < argc; i++) {
		const char *opt = argv[i];
		const char *arg = i + 1 < argc ? argv[i + 1] : NULL;

		if (!arg) {
			fprintf(stderr, "mock-kafka: %s needs a value\n", opt);
			goto usage;
		}
		i++;
		if (strcmp(opt, "--brokers") == 0) {
			if (mock_parse_int(arg, 1, MOCK_BROKERS_MAX, &value) < 0) {
				fprintf(stderr, "mock-kafka: --brokers must be 1..%d\n", MOCK_BROKERS_MAX);
				goto usage;
			}
			srv.broker_cnt = (int)value;
		} else if (strcmp(opt, "--default-partitions") == 0) {
			if (mock_parse_int(arg, 1, MOCK_PARTITIONS_MAX, &value) < 0) {
				fprintf(stderr, "mock-kafka: --default-partitions must be 1..%d\n",
					MOCK_PARTITIONS_MAX);
				goto usage;
			}
			srv.default_partition_cnt = (int)value;
		} else if (strcmp(opt, "--bootstrap-file") == 0) {
			srv.bootstrap_path = arg;
		} else if (strcmp(opt, "--control") == 0) {
			srv.control_path = arg;
		} else if (strcmp(opt, "--topic") == 0) {
			if (topic_cnt == MOCK_TOPICS_MAX) {
				fprintf(stderr, "mock-kafka: at most %d --topic\n", MOCK_TOPICS_MAX);
				goto usage;
			}
			topic_args[topic_cnt++] = argv[i];
		} else {
			fprintf(stderr, "mock-kafka: unknown option %s\n", opt);
			goto usage;
		}
	}
	if (!srv.bootstrap_path || !srv.control_path) {
		fprintf(stderr, "mock-kafka: serve needs --bootstrap-file and --control\n");
		goto usage;
	}
	/* Topic specs are parsed after all options so --default-partitions may come last. */
	for (i = 0; i < topic_cnt; i++) {
		if (mock_parse_topic_spec(topic_args[i], srv.default_partition_cnt, &topics[i]) < 0) {
			fprintf(stderr, "mock-kafka: bad --topic '%s' (NAME or NAME:1..%d)\n",
				topic_args[i], MOCK_PARTITIONS_MAX);
			goto usage;
		}
	}

	/* librdkafka's threads must never take SIGTERM/SIGINT: block them before the threads
	 * are created (threads inherit the mask), unblock in this thread once they exist. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &saved_mask);
	if (pipe(mock_signal_pipe) < 0) {
		snprintf(errstr, sizeof(errstr), "pipe: %s", strerror(errno));
		goto fail;
	}
	fcntl(mock_signal_pipe[0], F_SETFD, FD_CLOEXEC);
	fcntl(mock_signal_pipe[1], F_SETFD, FD_CLOEXEC);
	fcntl(mock_signal_pipe[1], F_SETFL, O_NONBLOCK);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = mock_signal_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (mock_cluster_open(&srv, errstr, sizeof(errstr)) < 0)
		goto fail;
	pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
	for (i = 0; i < topic_cnt; i++) {
		if (mock_topic_create(&srv, topics[i].name, topics[i].partition_cnt, errstr,
				      sizeof(errstr)) < 0)
			goto fail;
	}
	srv.listen_fd = mock_control_listen(srv.control_path, errstr, sizeof(errstr));
	if (srv.listen_fd < 0)
		goto fail;
	if (mock_bootstrap_write(srv.bootstrap_path, srv.bootstrap, errstr, sizeof(errstr)) < 0)
		goto fail;
	srv.wrote_bootstrap = 1;
	mock_log("info", "ready", "bootstrap=%s brokers=%d topics=%d control=%s bootstrap_file=%s",
		 srv.bootstrap, srv.broker_cnt, topic_cnt, srv.control_path, srv.bootstrap_path);

	while (!stop && !mock_signal_seen) {
		struct pollfd pfds[2] = {{.fd = srv.listen_fd, .events = POLLIN},
					 {.fd = mock_signal_pipe[0], .events = POLLIN}};

		if (poll(pfds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(errstr, sizeof(errstr), "poll: %s", strerror(errno));
			goto fail;
		}
		if (pfds[0].revents & POLLIN)
			mock_control_serve_one(&srv, &stop);
	}
	if (mock_signal_seen)
		mock_log("info", "stopping", "signal=%d", (int)mock_signal_seen);
	else
		mock_log("info", "stopping", "reason=shutdown_command");
	mock_server_close(&srv);
	mock_log("info", "stopped", NULL);
	status = 0;
	goto done;
fail:
	mock_log("error", "failed", "error=%s", mock_log_quote(quoted, sizeof(quoted), errstr));
	mock_server_close(&srv);
	goto done;
usage:
	mock_usage(stderr);
	status = 2;
done:
	if (mock_signal_pipe[0] >= 0)
		close(mock_signal_pipe[0]);
	if (mock_signal_pipe[1] >= 0)
		close(mock_signal_pipe[1]);
	mock_signal_pipe[0] = mock_signal_pipe[1] = -1;
	return status;
}

/* ---------------------------------------------------------------------------------------- */
/* ctl. */

/* `ctl`: sends argv (joined by spaces) as one command line, prints the reply.
 * Returns 0 for an "ok" reply, 1 for any other reply, 2 when the socket is unreachable. */
static int mock_ctl_main(int argc, char **argv)
{
	struct sockaddr_un addr;
	struct timeval timeout = {.tv_sec = MOCK_CTL_TIMEOUT_S};
	const char *control_path = NULL;
	char line[MOCK_LINE_MAX];
	char reply[2048];
	size_t len = 0;
	int status = 2;
	int fd = -1;
	int i = 0;

	if (argc >= 2 && strcmp(argv[0], "--control") == 0) {
		control_path = argv[1];
		i = 2;
	}
	if (!control_path || i >= argc) {
		mock_usage(stderr);
		goto done;
	}
	for (; i < argc; i++) {
		int put = snprintf(line + len, sizeof(line) - len, "%s%s", argv[i],
				   i + 1 < argc ? " " : "\n");
		if (put < 0 || (size_t)put >= sizeof(line) - len) {
			fprintf(stderr, "mock-kafka: command too long\n");
			goto done;
		}
		len += (size_t)put;
	}
	if (mock_unix_addr(control_path, &addr, reply, sizeof(reply)) < 0) {
		fprintf(stderr, "mock-kafka: %s\n", reply);
		goto done;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "mock-kafka: cannot connect to %s: %s\n", control_path,
			strerror(errno));
		goto done;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	signal(SIGPIPE, SIG_IGN);
	if (mock_write_all(fd, line, len) < 0) {
		fprintf(stderr, "mock-kafka: send to %s: %s\n", control_path, strerror(errno));
		goto done;
	}
	shutdown(fd, SHUT_WR);
	if (mock_line_read(fd, reply, sizeof(reply), MOCK_CTL_TIMEOUT_S * 1000) <= 0) {
		fprintf(stderr, "mock-kafka: no reply from %s\n", control_path);
		status = 1;
		goto done;
	}
	printf("%s\n", reply);
	status = strncmp(reply, "ok", 2) == 0 ? 0 : 1;
done:
	if (fd >= 0)
		close(fd);
	return status;
}

/*
 * Entry point: `mock-kafka serve ...` or `mock-kafka ctl ...` (see the file header).
 * Exit status: serve 0 after a clean stop, 1 on a start-up failure, 2 on bad arguments;
 * ctl 0 for an "ok" reply, 1 for an error reply, 2 when the socket cannot be reached.
 */
int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return mock_serve_main(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "ctl") == 0)
		return mock_ctl_main(argc - 2, argv + 2);
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		mock_usage(stdout);
		return 0;
	}
	mock_usage(stderr);
	return 2;
}
