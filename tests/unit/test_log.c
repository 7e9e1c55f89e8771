/*
 * test_log.c - Criterion suite for detector/log.c: the record format (ts, level, event,
 * fields), level parsing and filtering, logfmt quoting, truncation of long records, and
 * whole lines under concurrent writers.
 */
#include <criterion/criterion.h>

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/riskd_base.h"
#include "detector/log.h"

static FILE *log_file;

static void log_setup(void)
{
	log_file = tmpfile();
	cr_assert_not_null(log_file);
	log_set_stream(log_file);
	log_set_level(LOG_INFO);
}

static void log_teardown(void)
{
	log_set_stream(NULL);
	if (log_file)
		fclose(log_file);
}

/* Reads everything logged so far into a heap string; the caller frees it. */
static char *log_read_all(void)
{
	fflush(log_file);
	long end = ftell(log_file);
	cr_assert(end >= 0);
	char *text = malloc((size_t)end + 1);
	cr_assert_not_null(text);
	rewind(log_file);
	size_t n = fread(text, 1, (size_t)end, log_file);
	cr_assert_eq(n, (size_t)end);
	text[n] = '\0';
	return text;
}

static size_t count_lines(const char *text)
{
	size_t n = 0;
	for (const char *p = text; *p; p++)
		n += *p == '\n';
	return n;
}

/* Checks "ts=YYYY-MM-DDTHH:MM:SS.mmmZ " at the start of line and returns its Unix time. */
static time_t check_ts(const char *line)
{
	static const char pattern[] = "ts=dddd-dd-ddTdd:dd:dd.dddZ ";
	for (size_t i = 0; i < sizeof(pattern) - 1; i++) {
		if (pattern[i] == 'd')
			cr_assert(isdigit((unsigned char)line[i]), "ts digit at %zu in: %s", i, line);
		else
			cr_assert_eq(line[i], pattern[i], "ts char at %zu in: %s", i, line);
	}
	struct tm tm = { 0 };
	int ms = 0;
	cr_assert_eq(sscanf(line, "ts=%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
	                    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms), 7);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

/* True when the unescaped double quotes in line balance (every quoted value is closed). */
static int quotes_balanced(const char *line)
{
	int in_quote = 0;
	for (const char *p = line; *p; p++) {
		if (*p == '"')
			in_quote = !in_quote;
		else if (in_quote && *p == '\\' && p[1])
			p++;
	}
	return !in_quote;
}

TestSuite(log, .init = log_setup, .fini = log_teardown);

Test(log, line_has_ts_level_event_and_fields)
{
	time_t before = time(NULL);
	log_kv(LOG_INFO, "batch_committed", "events=%d ms=%.1f topic=%s", 500, 12.5,
	       "meter.readings");
	time_t after = time(NULL);
	char *text = log_read_all();

	cr_assert_eq(count_lines(text), 1, "got: %s", text);
	time_t ts = check_ts(text);
	/* time() may run on a coarse clock a tick behind the log's CLOCK_REALTIME */
	cr_assert(ts >= before && ts <= after + 1, "ts %lld not in [%lld, %lld]", (long long)ts,
	          (long long)before, (long long)after);
	const char *rest = text + strlen("ts=2026-11-26T17:47:35.123Z ");
	cr_assert_str_eq(rest,
	                 "level=info event=batch_committed events=500 ms=12.5 topic=meter.readings\n");
	free(text);
}

Test(log, null_format_gives_no_fields)
{
	log_kv(LOG_ERROR, "shutdown", NULL);
	char *text = log_read_all();
	check_ts(text);
	cr_assert_str_eq(text + strlen("ts=2026-11-26T17:47:35.123Z "),
	                 "level=error event=shutdown\n");
	free(text);
}

Test(log, level_names_parse)
{
	static const struct {
		const char *name;
		enum log_level level;
	} ok[] = {
		{ "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "warn", LOG_WARN }, { "error", LOG_ERROR },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		enum log_level level = LOG_ERROR + 1;
		cr_assert_eq(log_level_parse(ok[i].name, &level), 0, "%s", ok[i].name);
		cr_assert_eq(level, ok[i].level, "%s", ok[i].name);
		cr_assert_str_eq(log_level_name(level), ok[i].name);
	}
	static const char *const bad[] = { "WARN", "warning", "", "info ", "fatal" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum log_level level = LOG_WARN;
		cr_assert_eq(log_level_parse(bad[i], &level), RISKD_ERR_INVALID, "'%s'", bad[i]);
		cr_assert_eq(level, LOG_WARN, "'%s' changed the output", bad[i]);
	}
	enum log_level level = LOG_WARN;
	cr_assert_eq(log_level_parse(NULL, &level), RISKD_ERR_INVALID);
}

Test(log, records_below_level_are_dropped)
{
	cr_assert_eq(log_get_level(), LOG_INFO);
	log_kv(LOG_DEBUG, "d1", NULL);
	log_kv(LOG_INFO, "i1", NULL);
	log_set_level(LOG_WARN);
	cr_assert_eq(log_get_level(), LOG_WARN);
	log_kv(LOG_DEBUG, "d2", NULL);
	log_kv(LOG_INFO, "i2", NULL);
	log_kv(LOG_WARN, "w2", "n=%d", 1);
	log_kv(LOG_ERROR, "e2", NULL);
	log_set_level(LOG_DEBUG);
	log_kv(LOG_DEBUG, "d3", NULL);

	char *text = log_read_all();
	cr_assert_eq(count_lines(text), 4, "got:\n%s", text);
	cr_assert_not_null(strstr(text, "level=info event=i1\n"));
	cr_assert_not_null(strstr(text, "level=warn event=w2 n=1\n"));
	cr_assert_not_null(strstr(text, "level=error event=e2\n"));
	cr_assert_not_null(strstr(text, "level=debug event=d3\n"));
	cr_assert_null(strstr(text, "event=d1"));
	cr_assert_null(strstr(text, "event=d2"));
	cr_assert_null(strstr(text, "event=i2"));
	free(text);
}

Test(log, quote_table)
{
	static const struct {
		const char *value;
		const char *want;
	} cases[] = {
		{ "abc", "abc" },
		{ "C-000123", "C-000123" },
		{ "back\\slash", "back\\slash" },
		{ "Z\xc3\xbcrich", "Z\xc3\xbcrich" },
		{ "", "\"\"" },
		{ "a b", "\"a b\"" },
		{ "k=v", "\"k=v\"" },
		{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
		{ "a \\ b", "\"a \\\\ b\"" },
		{ "line1\nline2", "\"line1\\nline2\"" },
		{ "cr\rtab\t", "\"cr\\rtab\\t\"" },
		{ "bell\x07", "\"bell\\u0007\"" },
		{ "del\x7f", "\"del\\u007f\"" },
		{ "connection refused: could not connect to server",
		  "\"connection refused: could not connect to server\"" },
	};
	char buf[128];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = log_quote(buf, sizeof(buf), cases[i].value);
		cr_assert_eq(got, buf);
		cr_assert_str_eq(got, cases[i].want, "value #%zu", i);
	}
	cr_assert_str_eq(log_quote(buf, sizeof(buf), NULL), "\"\"");
}

Test(log, quote_cuts_long_values_cleanly)
{
	char buf[10];
	cr_assert_str_eq(log_quote(buf, sizeof(buf), "abcdefghijklmnop"), "\"abcd...\"");
	/* exactly fitting bare value is left bare; one more byte makes it cut and quoted */
	cr_assert_str_eq(log_quote(buf, sizeof(buf), "123456789"), "123456789");
	cr_assert_str_eq(log_quote(buf, sizeof(buf), "1234567890"), "\"1234...\"");

	char small[8];
	/* an escape that does not fit whole is dropped, not split */
	cr_assert_str_eq(log_quote(small, sizeof(small), "ab\"cdefgh"), "\"ab...\"");
	/* a UTF-8 sequence that does not fit whole is dropped, not split */
	cr_assert_str_eq(log_quote(small, sizeof(small), "a\xc3\xa9\xc3\xa9xyz"), "\"a...\"");
	cr_assert_str_eq(log_quote(small, sizeof(small), "\xc3\xa9\xc3\xa9wxyz"), "\"\xc3\xa9...\"");

	char tiny[4];
	cr_assert_str_eq(log_quote(tiny, sizeof(tiny), "abc"), "\"\"");
}

Test(log, long_record_is_truncated_with_marker)
{
	static char big[3 * LOG_LINE_MAX];
	memset(big, 'x', sizeof(big) - 1);
	big[100] = ' '; /* forces quoting, so the cut falls inside a quoted value */
	static char quoted[4 * LOG_LINE_MAX];
	log_kv(LOG_WARN, "pg_error", "code=%d msg=%s", 7, log_quote(quoted, sizeof(quoted), big));
	log_kv(LOG_WARN, "bare", "v=%s", big + 101);
	log_kv(LOG_INFO, "after", NULL);

	char *text = log_read_all();
	cr_assert_eq(count_lines(text), 3);
	char *line = strtok(text, "\n");
	for (int i = 0; i < 2; i++) {
		cr_assert_not_null(line);
		size_t len = strlen(line);
		cr_assert(len + 1 <= LOG_LINE_MAX, "line %d is %zu bytes", i, len + 1);
		cr_assert(len + 1 > LOG_LINE_MAX - 40, "line %d cut too short: %zu", i, len);
		/* the quoted value is closed before the marker; the bare one is just cut */
		const char *marker = i == 0 ? "xxx\" truncated=true" : "xxx truncated=true";
		cr_assert_str_eq(line + len - strlen(marker), marker, "line %d", i);
		cr_assert(quotes_balanced(line), "unbalanced quotes in line %d", i);
		line = strtok(NULL, "\n");
	}
	cr_assert_not_null(line);
	cr_assert_not_null(strstr(line, "level=info event=after"));
	free(text);
}

Test(log, escape_is_never_split_by_truncation)
{
	/* a value of escaped quotes: whichever byte the cut lands on, no lone backslash remains */
	for (size_t pad = 0; pad < 4; pad++) {
		log_set_stream(NULL);
		fclose(log_file);
		log_setup();
		static char value[LOG_LINE_MAX];
		memset(value, '"', sizeof(value) - 1);
		value[sizeof(value) - 1] = '\0';
		static char quoted[3 * LOG_LINE_MAX];
		log_kv(LOG_INFO, "esc", "%.*sv=%s", (int)pad, "pppp",
		       log_quote(quoted, sizeof(quoted), value));
		char *text = log_read_all();
		cr_assert_eq(count_lines(text), 1);
		text[strlen(text) - 1] = '\0';
		cr_assert(quotes_balanced(text), "pad %zu: unbalanced", pad);
		cr_assert_not_null(strstr(text, "\\\"\" truncated=true"), "pad %zu: %s", pad,
		                   text + strlen(text) - 40);
		free(text);
	}
}

#define WRITERS 4
#define RECORDS 2000

static pthread_barrier_t writers_ready;

static void *log_writer(void *arg)
{
	int id = (int)(intptr_t)arg;
	pthread_barrier_wait(&writers_ready);
	char payload[1200];
	memset(payload, 'a' + id, sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	for (int i = 0; i < RECORDS; i++)
		log_kv(LOG_INFO, "tick", "writer=%d seq=%d payload=%s end=1", id, i, payload);
	return NULL;
}

Test(log, concurrent_records_stay_whole)
{
	pthread_t threads[WRITERS];
	cr_assert_eq(pthread_barrier_init(&writers_ready, NULL, WRITERS), 0);
	for (int i = 0; i < WRITERS; i++)
		cr_assert_eq(pthread_create(&threads[i], NULL, log_writer, (void *)(intptr_t)i), 0);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&writers_ready);

	char *text = log_read_all();
	cr_assert_eq(count_lines(text), WRITERS * RECORDS);
	int next_seq[WRITERS] = { 0 };
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		check_ts(line);
		int writer = -1, seq = -1, consumed = 0;
		const char *fields = strstr(line, "event=tick writer=");
		cr_assert_not_null(fields, "mangled line: %.80s", line);
		cr_assert_eq(sscanf(fields, "event=tick writer=%d seq=%d payload=%n", &writer, &seq,
		                    &consumed), 2);
		cr_assert(writer >= 0 && writer < WRITERS);
		cr_assert_eq(seq, next_seq[writer], "writer %d out of order", writer);
		next_seq[writer]++;
		const char *payload = fields + consumed;
		size_t plen = strspn(payload, (char[]){ (char)('a' + writer), '\0' });
		cr_assert_eq(plen, 1199, "writer %d payload cut at %zu", writer, plen);
		cr_assert_str_eq(payload + plen, " end=1");
	}
	free(text);
}
