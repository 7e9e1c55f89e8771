/*
 * riskd_base.h - limits, error codes and allocation helpers shared by every riskd module.
 *
 * Every fallible boundary call in riskd returns 0 or a negative riskd_err and writes a
 * one-line human message into a caller-supplied (errstr, errstr_size) buffer.
 */
#ifndef RISKD_BASE_H
#define RISKD_BASE_H

#include <stddef.h>
#include <stdint.h>

/* Longest identifier (customer, meter, transformer, bill id) in bytes, without the NUL. */
#define RISKD_ID_MAX 63
/* Longest event_id in bytes, without the NUL (the event contract says at most 128). */
#define RISKD_EVENT_ID_MAX 128
/* Longest short free-text field (channel, reason, tariff) in bytes, without the NUL. */
#define RISKD_SHORT_TEXT_MAX 63

enum riskd_err {
	RISKD_OK = 0,
	RISKD_ERR_INVALID = -1,     /* bad input: a value, a file, an event */
	RISKD_ERR_IO = -2,          /* a file or socket could not be read or written */
	RISKD_ERR_NOT_FOUND = -3,   /* a named thing does not exist */
	RISKD_ERR_RANGE = -4,       /* a value is outside its allowed range */
	RISKD_ERR_UNAVAILABLE = -5, /* a server (Kafka, PostgreSQL) cannot be reached now; retry */
	RISKD_ERR_CONFLICT = -6,    /* someone else changed what we expected to own (fencing) */
	RISKD_ERR__COUNT = 7
};

/* Returns a short constant name for err ("invalid", "io", ...). Never NULL. */
const char *riskd_err2str(int err);

/* The value of hexadecimal digit c (0-9, a-f, A-F), or -1 when c is not one. */
int riskd_hex_digit(char c);

/* malloc/calloc/realloc/strdup that abort the process with a message on out-of-memory.
 * riskd treats running out of memory as fatal: there is no partial state to recover. */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);

/* Copies src (at most src_len bytes) into dst of size dst_size, always NUL-terminating.
 * Returns 0 when it fitted, RISKD_ERR_RANGE when src was truncated. */
int riskd_strlcpy(char *dst, size_t dst_size, const char *src, size_t src_len);

/* A growable byte buffer. Zero-initialise it ({0}); reuse it with rbuf_reset. */
struct rbuf {
	char *data;
	size_t len;
	size_t cap;
};

/* Makes room for at least extra more bytes; aborts on out-of-memory. */
void rbuf_reserve(struct rbuf *b, size_t extra);
/* Appends len bytes. */
void rbuf_append(struct rbuf *b, const void *data, size_t len);
/* Appends a NUL-terminated string (without the NUL). */
void rbuf_puts(struct rbuf *b, const char *s);
/* Appends printf-style formatted text. */
void rbuf_printf(struct rbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties the buffer, keeping its memory. */
void rbuf_reset(struct rbuf *b);
/* Frees the memory; the buffer is empty and reusable afterwards. */
void rbuf_free(struct rbuf *b);

/* Appends s as a JSON string literal: quoted, with '"' and '\\' escaped and control
 * characters written as \u00XX (bytes >= 0x80 are copied: s is UTF-8). */
void rbuf_json_string(struct rbuf *b, const char *s);

/* Appends v as a JSON number in printf's %g form with `digits` significant digits (17 reads
 * back exactly; fewer round for reports), or null when v is not finite (NAN, infinity). */
void rbuf_json_number(struct rbuf *b, double v, int digits);

/*
 * Reads the whole file at path into a malloc'd buffer (*out, *len; not NUL-terminated).
 * Only a regular file is read, and opening never blocks: a FIFO, socket, device or directory
 * is RISKD_ERR_INVALID ("cannot read: a FIFO, not a regular file").
 * Returns 0; RISKD_ERR_IO with errstr "cannot read: <reason>"; or RISKD_ERR_RANGE when the
 * file is larger than max_bytes (errstr "larger than N bytes"). *out is NULL on failure.
 */
int riskd_read_file(const char *path, size_t max_bytes, char **out, size_t *len, char *errstr,
                    size_t errstr_size);

#endif
