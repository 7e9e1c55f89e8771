/*
 * store_dsn.c - DSNs without their secrets (store_dsn.h), on libpq's own parser.
 */
#include "store_dsn.h"

#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "../config/riskd_base.h"

/* Whether libpq hides this option's value in dialogs (its password-type options). */
static int option_secret(const PQconninfoOption *o)
{
	return o->dispchar && o->dispchar[0] == '*';
}

/* Appends text to out at *len, cut to out_size (always NUL-terminated). */
static void append(char *out, size_t out_size, size_t *len, const char *text, size_t n)
{
	if (*len + 1 >= out_size)
		return;
	if (n > out_size - 1 - *len)
		n = out_size - 1 - *len;
	memcpy(out + *len, text, n);
	*len += n;
	out[*len] = '\0';
}

/* Appends value as libpq's key=value syntax reads it: bare, or in single quotes with ' and \
 * escaped when it holds a space, a quote or a backslash (or is empty). */
static void append_value(char *out, size_t out_size, size_t *len, const char *value)
{
	if (value[0] && !strpbrk(value, " \t\n'\\")) {
		append(out, out_size, len, value, strlen(value));
		return;
	}
	append(out, out_size, len, "'", 1);
	for (const char *p = value; *p; p++) {
		if (*p == '\'' || *p == '\\')
			append(out, out_size, len, "\\", 1);
		append(out, out_size, len, p, 1);
	}
	append(out, out_size, len, "'", 1);
}

/* libpq's parse error without what it quotes: every "..." becomes "...", and an unclosed
 * quote ends the message. */
static void append_unquoted(char *out, size_t out_size, size_t *len, const char *reason)
{
	const char *p = reason;
	while (*p && *p != '\n') {
		const char *q = strchr(p, '"');
		const char *nl = strchr(p, '\n');
		if (!q || (nl && nl < q)) {
			append(out, out_size, len, p, nl ? (size_t)(nl - p) : strlen(p));
			return;
		}
		append(out, out_size, len, p, (size_t)(q - p));
		append(out, out_size, len, "\"...\"", 5);
		const char *close = strchr(q + 1, '"');
		if (!close)
			return;
		p = close + 1;
	}
}

int store_dsn_shown(const char *dsn, char *out, size_t out_size)
{
	char *reason = NULL;
	size_t len = 0;

	if (out_size == 0)
		return RISKD_ERR_INVALID;
	out[0] = '\0';
	PQconninfoOption *opts = PQconninfoParse(dsn, &reason);
	if (!opts) {
		char head[96];
		int n = snprintf(head, sizeof(head), "the DSN (%zu bytes) cannot be parsed: ",
		                 strlen(dsn));
		append(out, out_size, &len, head, (size_t)n);
		append_unquoted(out, out_size, &len, reason ? reason : "out of memory");
		PQfreemem(reason);
		return RISKD_ERR_INVALID;
	}
	for (const PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		if (len)
			append(out, out_size, &len, " ", 1);
		append(out, out_size, &len, o->keyword, strlen(o->keyword));
		append(out, out_size, &len, "=", 1);
		append_value(out, out_size, &len, option_secret(o) ? STORE_DSN_HIDDEN : o->val);
	}
	PQconninfoFree(opts);
	return 0;
}

/* Replaces every occurrence of secret in text with STORE_DSN_HIDDEN. */
static void scrub_value(const char *secret, char *text, size_t text_size)
{
	size_t n = strlen(secret), hidden = strlen(STORE_DSN_HIDDEN);
	char *p = text;
	while (n && (p = strstr(p, secret)) != NULL) {
		size_t tail = strlen(p + n);
		size_t at = (size_t)(p - text);
		if (at + hidden + tail + 1 > text_size) /* cut the tail to what fits */
			tail = at + hidden + 1 > text_size ? 0 : text_size - 1 - at - hidden;
		if (at + hidden + 1 > text_size) {
			*p = '\0'; /* not even the mark fits: end the text before the secret */
			return;
		}
		memmove(p + hidden, p + n, tail);
		memcpy(p, STORE_DSN_HIDDEN, hidden);
		p[hidden + tail] = '\0';
		p += hidden;
	}
}

void store_dsn_scrub(const char *dsn, char *text, size_t text_size)
{
	PQconninfoOption *opts = PQconninfoParse(dsn, NULL);
	if (!opts)
		return;
	for (const PQconninfoOption *o = opts; o->keyword; o++)
		if (o->val && option_secret(o))
			scrub_value(o->val, text, text_size);
	PQconninfoFree(opts);
}
