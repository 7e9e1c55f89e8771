/*
 * scorecard_csv.c - the table the scorecard tools read (see scorecard_fit.h): CSV text with a
 * header row split into cells in place, the separator detected when not given, and the
 * missing-value tokens turned into empty cells. The tool reads the file; this is pure code
 * over its bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scorecard_fit.h"

static const char empty_cell[] = "";

char fit_csv_detect_sep(const char *text, size_t len)
{
	static const char seps[] = {',', ';', '\t'};
	size_t count[3] = {0, 0, 0};
	int quoted = 0;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (c == '"')
			quoted = !quoted;
		else if (!quoted && (c == '\n' || c == '\r'))
			break;
		else if (!quoted)
			for (int k = 0; k < 3; k++)
				count[k] += c == seps[k];
	}
	int best = 0;
	for (int k = 1; k < 3; k++)
		if (count[k] > count[best])
			best = k;
	return seps[best];
}

/* Whether cell (NUL-terminated) is one of the comma-separated tokens of na. */
static int is_na(const char *na, const char *cell)
{
	size_t n = strlen(cell);
	for (const char *p = na; p;) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, cell, n) == 0)
			return 1;
		p = p[len] ? p + len + 1 : NULL;
	}
	return 0;
}

void fit_table_free(struct fit_table *t)
{
	free(t->names);
	free(t->cells);
	t->names = t->cells = NULL;
	t->n_cols = t->n_rows = 0;
}

/* Splits one field at *pp (quoted or not) in place: *pp is left on the byte after it, whose
 * value is put in *delim ('\0' at the end of the text) before the field is terminated.
 * Returns the field's start, or NULL with errstr set. *line counts the line breaks passed. */
static char *csv_field(char **pp, char *end, char sep, size_t *line, char *delim, char *errstr,
                       size_t errstr_size)
{
	char *p = *pp, *start = p, *w = p;
	size_t start_line = *line;
	if (p < end && *p == '"') {
		p++;
		for (;;) {
			if (p >= end) {
				snprintf(errstr, errstr_size, "line %zu: unterminated quoted field", start_line);
				return NULL;
			}
			if (*p == '"' && p + 1 < end && p[1] == '"') {
				*w++ = '"';
				p += 2;
			} else if (*p == '"') {
				p++;
				break;
			} else {
				*line += *p == '\n';
				*w++ = *p++;
			}
		}
		if (p < end && *p != sep && *p != '\n' && *p != '\r') {
			snprintf(errstr, errstr_size, "line %zu: text after a closing quote", *line);
			return NULL;
		}
	} else {
		while (p < end && *p != sep && *p != '\n' && *p != '\r')
			*w++ = *p++;
	}
	*pp = p;
	*delim = p < end ? *p : '\0';
	*w = '\0'; /* w <= p: at most the delimiter, read above, is overwritten */
	return start;
}

int fit_table_parse(char *text, size_t len, const struct fit_csv_opts *o, struct fit_table *t,
                    char *errstr, size_t errstr_size)
{
	char sep = o && o->sep ? o->sep : fit_csv_detect_sep(text, len);
	const char *na = o ? o->na : NULL;
	char **fields = NULL;
	size_t n_fields = 0, cap = 0, row_fields = 0, line = 1, n_cols = 0;
	char *p = text, *end = text + len;
	memset(t, 0, sizeof *t);
	t->sep = sep;
	while (p < end) {
		char next;
		char *start = csv_field(&p, end, sep, &line, &next, errstr, errstr_size);
		if (!start)
			goto fail;
		int eol = p >= end || next == '\n' || next == '\r';
		if (n_fields == cap) {
			cap = cap ? cap * 2 : 1024;
			fields = xrealloc(fields, cap * sizeof *fields);
		}
		fields[n_fields++] = start;
		row_fields++;
		if (!eol) {
			p++;
			continue;
		}
		if (p < end && next == '\r')
			next = ++p < end && *p == '\n' ? '\n' : '\0'; /* CRLF, or a lone CR */
		if (p < end && next == '\n')
			p++;
		if (n_cols == 0) {
			n_cols = row_fields;
		} else if (row_fields == 1 && fields[n_fields - 1][0] == '\0' && n_cols > 1) {
			n_fields--; /* a blank line */
		} else if (row_fields != n_cols) {
			snprintf(errstr, errstr_size, "line %zu: %zu fields, the header has %zu (separator "
			         "'%s'%s)", line, row_fields, n_cols, sep == '\t' ? "\\t" : (char[]){sep, 0},
			         o && o->sep ? "" : ", detected: give --sep if it is another");
			goto fail;
		}
		row_fields = 0;
		line++;
	}
	if (n_cols == 0) {
		snprintf(errstr, errstr_size, "empty file (a header row is needed)");
		goto fail;
	}
	t->n_cols = n_cols;
	t->n_rows = n_fields / n_cols - 1;
	t->names = xmalloc(n_cols * sizeof *t->names);
	memcpy(t->names, fields, n_cols * sizeof *fields);
	t->cells = xmalloc((n_fields - n_cols + 1) * sizeof *t->cells);
	for (size_t i = n_cols; i < n_fields; i++)
		t->cells[i - n_cols] = na && is_na(na, fields[i]) ? (char *)empty_cell : fields[i];
	free(fields);
	return 0;
fail:
	free(fields);
	fit_table_free(t);
	return RISKD_ERR_INVALID;
}
