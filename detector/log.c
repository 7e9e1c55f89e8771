/*
 * log.c - riskd's structured log: formats logfmt records (ts, level, event, key=value pairs)
 * into a stack buffer and writes each with one fwrite to stderr or a stream set by tests.
 *
 * Used by riskd's main loop and programs (never by pure library code). The level and stream
 * are atomics so any thread may log while another changes them.
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "../config/riskd_base.h"

/* Appended to a record that did not fit in LOG_LINE_MAX bytes. */
#define LOG_TRUNC_MARKER " truncated=true"

static const char *const log_level_names[] = { "debug", "info", "warn", "error" };
#define LOG_LEVEL_COUNT (sizeof(log_level_names) / sizeof(log_level_names[0]))

static _Atomic int log_min_level = LOG_INFO;
static _Atomic(FILE *) log_stream = NULL; /* NULL means stderr */

int log_level_parse(const char *name, enum log_level *out)
{
	if (!name)
		return RISKD_ERR_INVALID;
	for (size_t i = 0; i < LOG_LEVEL_COUNT; i++) {
		if (strcmp(name, log_level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return RISKD_ERR_INVALID;
}

const char *log_level_name(enum log_level level)
{
	if ((unsigned)level >= LOG_LEVEL_COUNT)
		return "unknown";
	return log_level_names[level];
}

void log_set_level(enum log_level level)
{
	atomic_store_explicit(&log_min_level, (int)level, memory_order_relaxed);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load_explicit(&log_min_level, memory_order_relaxed);
}

void log_set_stream(FILE *f)
{
	atomic_store_explicit(&log_stream, f, memory_order_release);
}

/*
 * Shortens a record of len bytes in line (capacity LOG_LINE_MAX) so that it ends with the
 * truncation marker and a newline, without splitting a UTF-8 sequence or an escape and with
 * any open quoted value closed. Returns the new length.
 */
static size_t log_truncate(char *line, size_t len)
{
	size_t marker_len = sizeof(LOG_TRUNC_MARKER) - 1;
	/* room for a closing quote, the marker and the newline */
	size_t keep = LOG_LINE_MAX - marker_len - 2;
	if (keep > len)
		keep = len;
	while (keep > 0 && keep < len && ((unsigned char)line[keep] & 0xC0) == 0x80)
		keep--;

	int in_quote = 0;
	for (size_t i = 0; i < keep; i++) {
		if (line[i] == '"') {
			in_quote = !in_quote;
		} else if (in_quote && line[i] == '\\') {
			if (i + 1 >= keep) {
				keep = i; /* drop an escape whose second byte was cut off */
				break;
			}
			i++;
		}
	}
	size_t out = keep;
	if (in_quote)
		line[out++] = '"';
	memcpy(line + out, LOG_TRUNC_MARKER, marker_len);
	out += marker_len;
	line[out++] = '\n';
	return out;
}

void log_kv(enum log_level level, const char *event, const char *fmt, ...)
{
	if ((int)level < atomic_load_explicit(&log_min_level, memory_order_relaxed))
		return;

	/* one extra byte so vsnprintf's NUL never costs a byte of the record */
	char line[LOG_LINE_MAX + 1];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);

	int n = snprintf(line, sizeof(line),
	                 "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=%s",
	                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	                 tm.tm_sec, now.tv_nsec / 1000000L, log_level_name(level),
	                 event ? event : "unknown");
	size_t len = n < 0 ? 0 : (size_t)n;

	if (fmt && fmt[0] != '\0' && len + 1 < sizeof(line)) {
		line[len++] = ' ';
		va_list ap;
		va_start(ap, fmt);
		n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
		va_end(ap);
		if (n > 0)
			len += (size_t)n;
	}

	if (len + 1 <= LOG_LINE_MAX) {
		line[len++] = '\n';
	} else {
		len = log_truncate(line, len < LOG_LINE_MAX ? len : LOG_LINE_MAX);
	}

	FILE *f = atomic_load_explicit(&log_stream, memory_order_acquire);
	if (!f)
		f = stderr;
	fwrite(line, 1, len, f);
	fflush(f);
}

/* True when c cannot appear in a bare logfmt value. */
static int log_byte_needs_quote(unsigned char c)
{
	return c <= 0x20 || c == 0x7F || c == '"' || c == '=';
}

/* Writes the escaped form of c into esc (at least 7 bytes); returns its length. */
static size_t log_escape_byte(unsigned char c, char *esc)
{
	static const char hex[] = "0123456789abcdef";
	switch (c) {
	case '"':  memcpy(esc, "\\\"", 2); return 2;
	case '\\': memcpy(esc, "\\\\", 2); return 2;
	case '\n': memcpy(esc, "\\n", 2); return 2;
	case '\r': memcpy(esc, "\\r", 2); return 2;
	case '\t': memcpy(esc, "\\t", 2); return 2;
	default:
		break;
	}
	if (c < 0x20 || c == 0x7F) {
		memcpy(esc, "\\u00", 4);
		esc[4] = hex[c >> 4];
		esc[5] = hex[c & 0xF];
		return 6;
	}
	esc[0] = (char)c;
	return 1;
}

const char *log_quote(char *buf, size_t size, const char *value)
{
	if (!buf || size < 8)
		return "\"\"";
	if (!value)
		value = "";

	const unsigned char *src = (const unsigned char *)value;
	size_t src_len = strlen(value);
	int quote = src_len == 0;
	for (size_t i = 0; i < src_len && !quote; i++)
		quote = log_byte_needs_quote(src[i]);

	if (!quote && src_len < size) {
		memcpy(buf, value, src_len + 1);
		return buf;
	}

	/* Quoted form: first see whether it fits whole (content + 2 quotes + NUL). */
	char esc[8];
	size_t quoted_len = 2;
	for (size_t i = 0; i < src_len; i++)
		quoted_len += log_escape_byte(src[i], esc);
	int cut = quoted_len + 1 > size;
	/* when cut, leave room for "...", the closing quote and the NUL */
	size_t limit = cut ? size - 5 : size - 2;

	size_t out = 0;
	buf[out++] = '"';
	size_t i = 0;
	for (; i < src_len; i++) {
		size_t n = log_escape_byte(src[i], esc);
		if (out + n > limit)
			break;
		memcpy(buf + out, esc, n);
		out += n;
	}
	if (cut) {
		/* bytes >= 0x80 are copied one to one, so backing up the source backs up the output */
		while (i > 0 && i < src_len && (src[i] & 0xC0) == 0x80) {
			i--;
			out--;
		}
		memcpy(buf + out, "...", 3);
		out += 3;
	}
	buf[out++] = '"';
	buf[out] = '\0';
	return buf;
}
