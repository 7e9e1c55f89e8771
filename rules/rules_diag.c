/*
 * rules_diag.c - diagnostics of the rule loader: positions kept as byte offsets are turned into
 * "path:line:col: error: message", the source line and a caret only when an error is reported;
 * plus the "did you mean" suggestions shared by every error that names something unknown.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"

void rules_diags_free(struct rules_diags *diags)
{
	for (size_t i = 0; i < diags->count; i++) {
		free(diags->items[i].path);
		free(diags->items[i].message);
		free(diags->items[i].text);
	}
	free(diags->items);
	diags->items = NULL;
	diags->count = diags->cap = 0;
}

void rules_diags_render(const struct rules_diags *diags, struct rbuf *out)
{
	for (size_t i = 0; i < diags->count; i++)
		rbuf_puts(out, diags->items[i].text);
}

void rules_src_init(struct rules_src *src, const char *path, const char *text, size_t len,
                    struct rules_diags *diags)
{
	src->path = path;
	src->text = text;
	src->len = len;
	src->diags = diags;
	src->first_diag = diags->count;
	src->errors = 0;
	src->line_pos = 0;
	src->line_no = 1;
}

void rules_path_error(struct rules_diags *diags, const char *path, const char *fmt, ...)
{
	struct rules_src src;
	va_list ap;
	rules_src_init(&src, path, "", 0, diags);
	va_start(ap, fmt);
	rules_src_verror(&src, RULES_NO_POS, fmt, ap);
	va_end(ap);
}

/* A position at the very end of a file that ends in a newline names the last line. */
static size_t clamp_pos(const struct rules_src *src, size_t pos)
{
	if (pos > src->len)
		pos = src->len;
	if (pos == src->len && pos > 0 && src->text[pos - 1] == '\n')
		pos--;
	return pos;
}

static size_t line_start(const struct rules_src *src, size_t pos)
{
	while (pos > 0 && src->text[pos - 1] != '\n')
		pos--;
	return pos;
}

static int is_utf8_continuation(char c)
{
	return ((unsigned char)c & 0xc0) == 0x80;
}

/* Bytes of the character at text[i] (before end): a valid UTF-8 sequence, or 1 for any other
 * byte, which is then shown as '?'. Columns count these characters. */
static size_t char_len(const char *text, size_t i, size_t end, int *valid)
{
	unsigned char c = (unsigned char)text[i];
	size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
	                                                 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
	*valid = n > 0;
	if (n <= 1) {
		return 1;
	}
	for (size_t k = 1; k < n; k++) {
		if (i + k >= end || !is_utf8_continuation(text[i + k])) {
			*valid = 0;
			return 1;
		}
	}
	return n;
}

void rules_src_line_col(struct rules_src *src, size_t pos, int *line, int *col)
{
	pos = clamp_pos(src, pos);
	if (pos < src->line_pos) {
		src->line_pos = 0;
		src->line_no = 1;
	}
	int ln = src->line_no;
	for (size_t i = src->line_pos; i < pos; i++)
		ln += src->text[i] == '\n';
	src->line_pos = pos;
	src->line_no = ln;
	int cl = 1, valid;
	for (size_t i = line_start(src, pos); i < pos; i += char_len(src->text, i, pos, &valid))
		cl++;
	*line = ln;
	*col = cl;
}

/* Appends the source line holding pos and a caret line pointing at pos. Control bytes and
 * invalid UTF-8 are shown as '?'; tabs stay tabs in both lines so the caret lines up. */
static void render_source(const struct rules_src *src, size_t pos, struct rbuf *out)
{
	size_t start = line_start(src, pos);
	size_t end = pos;
	int valid;
	while (end < src->len && src->text[end] != '\n')
		end++;
	if (end > start && src->text[end - 1] == '\r')
		end--;
	for (size_t i = start, n; i < end; i += n) {
		unsigned char c = (unsigned char)src->text[i];
		n = char_len(src->text, i, end, &valid);
		if (!valid || (c < 0x20 && c != '\t') || c == 0x7f)
			rbuf_puts(out, "?");
		else
			rbuf_append(out, src->text + i, n);
	}
	rbuf_puts(out, "\n");
	for (size_t i = start; i < pos; i += char_len(src->text, i, pos, &valid))
		rbuf_puts(out, src->text[i] == '\t' ? "\t" : " ");
	rbuf_puts(out, "^\n");
}

static void diag_push(struct rules_diags *diags, struct rules_diag *d)
{
	if (diags->count == diags->cap) {
		diags->cap = diags->cap ? diags->cap * 2 : 16;
		diags->items = xrealloc(diags->items, diags->cap * sizeof *diags->items);
	}
	diags->items[diags->count++] = *d;
}

static void add_diag(struct rules_src *src, size_t pos, const char *message)
{
	struct rules_diag d = {0};
	struct rbuf text = {0};
	d.path = xstrdup(src->path);
	d.message = xstrdup(message);
	if (pos == RULES_NO_POS) {
		rbuf_printf(&text, "%s: error: %s\n", src->path, message);
	} else {
		pos = clamp_pos(src, pos);
		rules_src_line_col(src, pos, &d.line, &d.col);
		rbuf_printf(&text, "%s:%d:%d: error: %s\n", src->path, d.line, d.col, message);
		render_source(src, pos, &text);
	}
	rbuf_append(&text, "", 1);
	d.text = text.data;
	diag_push(src->diags, &d);
}

void rules_src_verror(struct rules_src *src, size_t pos, const char *fmt, va_list ap)
{
	src->errors++;
	if (src->errors > RULES_FILE_ERRORS_MAX + 1)
		return;
	if (src->errors == RULES_FILE_ERRORS_MAX + 1) {
		char message[96];
		snprintf(message, sizeof message, "too many errors; only the first %d are reported",
		         RULES_FILE_ERRORS_MAX);
		add_diag(src, RULES_NO_POS, message);
		return;
	}
	struct rbuf message = {0};
	va_list copy;
	va_copy(copy, ap);
	int n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	rbuf_reserve(&message, n > 0 ? (size_t)n + 1 : 1);
	vsnprintf(message.data, message.cap, fmt, ap);
	add_diag(src, pos, message.data);
	rbuf_free(&message);
}

void rules_src_error(struct rules_src *src, size_t pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rules_src_verror(src, pos, fmt, ap);
	va_end(ap);
}

/* Order: position-less first (they concern the whole file), then by line and column. The
 * "too many errors" line stays last. */
static int diag_before(const struct rules_diag *a, const struct rules_diag *b)
{
	if (a->line != b->line)
		return a->line < b->line;
	return a->col < b->col;
}

void rules_src_finish(struct rules_src *src)
{
	size_t n = src->diags->count - src->first_diag;
	if (n == 0)
		return;
	struct rules_diag *items = src->diags->items + src->first_diag;
	if (src->errors > RULES_FILE_ERRORS_MAX)
		n--; /* keep the cut notice last */
	for (size_t i = 1; i < n; i++) {
		struct rules_diag d = items[i];
		size_t j = i;
		while (j > 0 && diag_before(&d, &items[j - 1])) {
			items[j] = items[j - 1];
			j--;
		}
		items[j] = d;
	}
}

const char *rules_show(char *dst, size_t dst_size, const char *s, size_t len)
{
	size_t max = dst_size > 44 ? 40 : dst_size - 4;
	size_t n = len < max ? len : max;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	/* Do not end inside a UTF-8 sequence. */
	if (n < len)
		while (n > 0 && is_utf8_continuation(s[n]))
			n--;
	if (n < len)
		memcpy(dst + n, "...", 4);
	else
		dst[n] = '\0';
	return dst;
}

const char *rules_suggest_feature(const char *name, size_t len)
{
	const char *names[FEAT__COUNT];
	for (int i = 0; i < FEAT__COUNT; i++)
		names[i] = feature_def((enum feature_id)i)->name;
	return suggest_name(name, len, names, FEAT__COUNT);
}
