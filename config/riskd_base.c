/*
 * riskd_base.c - error names and out-of-memory-aborting allocators used across riskd.
 */
#include "riskd_base.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *riskd_err2str(int err)
{
	static const char *const names[RISKD_ERR__COUNT] = {
		"ok", "invalid", "io", "not_found", "range", "unavailable", "conflict",
	};
	int idx = -err;
	if (idx < 0 || idx >= RISKD_ERR__COUNT)
		return "unknown";
	return names[idx];
}

static void oom(size_t size)
{
	fprintf(stderr, "riskd: fatal: out of memory allocating %zu bytes\n", size);
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		oom(size);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		oom(nmemb * size);
	return p;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);
	if (!p)
		oom(size);
	return p;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = xmalloc(n);
	memcpy(p, s, n);
	return p;
}

int riskd_strlcpy(char *dst, size_t dst_size, const char *src, size_t src_len)
{
	if (dst_size == 0)
		return RISKD_ERR_RANGE;
	size_t n = src_len < dst_size - 1 ? src_len : dst_size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return n == src_len ? 0 : RISKD_ERR_RANGE;
}

void rbuf_reserve(struct rbuf *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void rbuf_append(struct rbuf *b, const void *data, size_t len)
{
	if (len == 0)
		return;
	rbuf_reserve(b, len);
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

void rbuf_puts(struct rbuf *b, const char *s)
{
	rbuf_append(b, s, strlen(s));
}

void rbuf_printf(struct rbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->data ? b->data + b->len : NULL, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		rbuf_reserve(b, (size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void rbuf_reset(struct rbuf *b)
{
	b->len = 0;
}

void rbuf_free(struct rbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void rbuf_json_string(struct rbuf *b, const char *s)
{
	rbuf_append(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			rbuf_printf(b, "\\%c", c);
		else if (c < 0x20)
			rbuf_printf(b, "\\u%04x", c);
		else
			rbuf_append(b, s, 1);
	}
	rbuf_append(b, "\"", 1);
}

void rbuf_json_number(struct rbuf *b, double v, int digits)
{
	if (isfinite(v))
		rbuf_printf(b, "%.*g", digits, v);
	else
		rbuf_puts(b, "null");
}

/* What a path that is not a regular file is, for the error. */
static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "not a plain file";
}

/* Opens path for reading without blocking on a FIFO or device, and only if it is a regular
 * file. Returns the stream, or NULL with errstr set and *rc the error. */
static FILE *open_regular(const char *path, int *rc, char *errstr, size_t errstr_size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	*rc = RISKD_ERR_IO;
	if (fd < 0) {
		snprintf(errstr, errstr_size, "cannot read: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(errstr, errstr_size, "cannot read: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(errstr, errstr_size, "cannot read: %s, not a regular file",
		         file_kind(st.st_mode));
		*rc = RISKD_ERR_INVALID;
		close(fd);
		return NULL;
	}
	FILE *fp = fdopen(fd, "rb");
	if (!fp) {
		snprintf(errstr, errstr_size, "cannot read: %s", strerror(errno));
		close(fd);
	}
	return fp;
}

int riskd_read_file(const char *path, size_t max_bytes, char **out, size_t *len, char *errstr,
                    size_t errstr_size)
{
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int rc;

	*out = NULL;
	FILE *fp = open_regular(path, &rc, errstr, errstr_size);
	if (!fp)
		return rc;
	rc = RISKD_ERR_IO;
	for (;;) {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			buf = xrealloc(buf, cap);
		}
		size_t got = fread(buf + n, 1, cap - n, fp);
		n += got;
		if (n > max_bytes) {
			snprintf(errstr, errstr_size, "larger than %zu bytes", max_bytes);
			rc = RISKD_ERR_RANGE;
			goto fail;
		}
		if (got == 0)
			break;
	}
	if (ferror(fp)) {
		snprintf(errstr, errstr_size, "cannot read: %s", strerror(errno));
		goto fail;
	}
	fclose(fp);
	*out = buf;
	*len = n;
	return 0;
fail:
	fclose(fp);
	free(buf);
	return rc;
}

int riskd_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
