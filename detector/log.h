/*
 * log.h - riskd's structured log: one logfmt line per record, written to stderr.
 *
 * Every record is a single line of key=value pairs that starts with the same three keys:
 *
 *   ts=2026-11-26T17:47:35.123Z level=info event=batch_committed events=500 ms=12.4
 *
 * ts is UTC with milliseconds, level is debug|info|warn|error, event is a fixed snake_case
 * name chosen by the caller, and the rest comes from a printf-style format. Values that may
 * hold spaces, quotes or control characters (error messages, ids from input) go through
 * log_quote() first so that every line stays parseable. The line is built in a fixed stack
 * buffer and handed to the stream in one write, so records from different threads never
 * interleave; a record longer than LOG_LINE_MAX is cut and ends with truncated=true.
 *
 * The log is for riskd's programs and for the detector loop; library modules report errors
 * through errstr and leave the printing to their callers.
 */
#ifndef RISKD_LOG_H
#define RISKD_LOG_H

#include <stddef.h>
#include <stdio.h>

/* Longest record in bytes, newline included; longer records are truncated with a marker. */
#define LOG_LINE_MAX 2048

enum log_level {
	LOG_DEBUG = 0,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR
};

/*
 * Parses a level name as written in config and on command lines: "debug", "info", "warn"
 * or "error" (lower case, exact).
 * Returns 0 and sets *out, or RISKD_ERR_INVALID (and leaves *out alone) for anything else.
 */
int log_level_parse(const char *name, enum log_level *out);

/* Returns the level's name as it appears after level= ("info", ...); "unknown" if out of range. */
const char *log_level_name(enum log_level level);

/*
 * Sets the lowest level that is written; records below it are dropped before formatting.
 * The default is LOG_INFO. Thread-safe; takes effect for records started after it returns.
 */
void log_set_level(enum log_level level);

/* Returns the level set by log_set_level() (LOG_INFO by default). Thread-safe. */
enum log_level log_get_level(void);

/*
 * Sends records to f instead of stderr; NULL restores stderr. The caller keeps ownership of f
 * and must keep it open until it sets another stream. Thread-safe, but a record being written
 * while the stream changes may go to either stream.
 */
void log_set_stream(FILE *f);

/*
 * Writes one record at level (if level is not filtered out):
 *   event   a fixed snake_case name for what happened (written as is, never quoted)
 *   fmt     printf-style format for the remaining key=value pairs, e.g. "partition=%d lag=%lld";
 *           NULL for a record with no further pairs. Values that may contain spaces, quotes or
 *           control characters must be passed through log_quote().
 * The record is flushed before returning. Thread-safe: one fwrite per record, no allocation.
 */
void log_kv(enum log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Formats value as a logfmt value into buf (size bytes) and returns buf:
 *   - as is when it is non-empty and has no space, '"', '=' or control character (a bare
 *     backslash is literal in logfmt);
 *   - otherwise in double quotes, with \" \\ \n \r \t escapes and \u00XX for other control
 *     bytes. Bytes >= 0x80 (UTF-8) are copied unchanged.
 * NULL and "" give "". When the result does not fit, the value is cut (never inside an escape
 * or a UTF-8 sequence) and written quoted with "..." before the closing quote.
 * size should be at least 8; with a smaller buffer the result is the constant "\"\"" (not buf).
 * Thread-safe (uses only buf).
 */
const char *log_quote(char *buf, size_t size, const char *value);

#endif
