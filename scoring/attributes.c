/*
 * attributes.c - the customer attribute schema (see attributes.h): building one, looking up
 * names and values, reading a value's text, and writing the schema as YAML that
 * rules/attributes_load.c reads back.
 */
#include "attributes.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct attr_schema *attr_schema_new(void)
{
	return xcalloc(1, sizeof(struct attr_schema));
}

void attr_schema_free(struct attr_schema *schema)
{
	if (!schema)
		return;
	for (size_t i = 0; i < schema->count; i++) {
		struct attr_def *def = &schema->defs[i];
		for (size_t v = 0; v < def->n_values; v++)
			free(def->values[v]);
		free(def->values);
		free(def->description);
	}
	free(schema);
}

int attr_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > ATTR_NAME_MAX || !(name[0] >= 'a' && name[0] <= 'z'))
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

int attr_schema_find(const struct attr_schema *schema, const char *name, size_t len)
{
	for (size_t i = 0; i < schema->count; i++)
		if (strlen(schema->defs[i].name) == len && memcmp(schema->defs[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

int attr_schema_add(struct attr_schema *schema, const char *name, enum attr_type type)
{
	size_t len = strlen(name);
	if (schema->count == ATTR_MAX || len > ATTR_NAME_MAX ||
	    attr_schema_find(schema, name, len) >= 0)
		return -1;
	struct attr_def *def = &schema->defs[schema->count];
	memset(def, 0, sizeof *def);
	memcpy(def->name, name, len + 1);
	def->type = type;
	def->min = -INFINITY;
	def->max = INFINITY;
	def->description = xstrdup("");
	riskd_strlcpy(def->reason, sizeof def->reason, name, len);
	return (int)schema->count++;
}

int attr_list_find(char *const *list, size_t n, const char *value, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && memcmp(list[i], value, len) == 0)
			return (int)i;
	return -1;
}

int attr_list_append(char ***list, size_t *n, size_t max, const char *value, size_t len)
{
	if (*n >= max)
		return -1;
	*list = xrealloc(*list, (*n + 1) * sizeof **list);
	char *copy = xmalloc(len + 1);
	memcpy(copy, value, len);
	copy[len] = '\0';
	(*list)[*n] = copy;
	return (int)(*n)++;
}

int attr_def_code(const struct attr_def *def, const char *value, size_t len)
{
	return attr_list_find(def->values, def->n_values, value, len);
}

int attr_def_add_value(struct attr_def *def, const char *value, size_t len)
{
	int code = attr_def_code(def, value, len);
	return code >= 0 ? code
	                 : attr_list_append(&def->values, &def->n_values, ATTR_VALUES_MAX, value, len);
}

void attr_def_set_description(struct attr_def *def, const char *text)
{
	free(def->description);
	def->description = xstrdup(text);
}

void attr_def_set_reason(struct attr_def *def, const char *text)
{
	attr_text_line(def->reason, sizeof def->reason, text);
}

void attr_text_line(char *dst, size_t dst_size, const char *text)
{
	size_t n = strlen(text);
	if (n > dst_size - 1) {
		n = dst_size - 1;
		while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
			n--; /* not inside a UTF-8 sequence */
	}
	for (size_t i = 0; i < n; i++)
		dst[i] = (unsigned char)text[i] < 0x20 || text[i] == 0x7f ? ' ' : text[i];
	dst[n] = '\0';
}

int attr_name_of_column(const char *column, char *out)
{
	size_t n = 0;
	int gap = 0;
	for (const char *p = column; *p && n < ATTR_NAME_MAX; p++) {
		unsigned char c = (unsigned char)*p;
		if (isalnum(c) && c < 0x80) {
			if (n == 0 && isdigit(c)) {
				out[n++] = 'a';
				gap = 1;
			}
			if (gap && n > 0 && n < ATTR_NAME_MAX)
				out[n++] = '_';
			gap = 0;
			if (n < ATTR_NAME_MAX)
				out[n++] = (char)tolower(c);
		} else {
			gap = n > 0;
		}
	}
	out[n] = '\0';
	return n ? 0 : -1;
}

int attr_def_parse(const struct attr_def *def, const char *text, double *out, char *errstr,
                   size_t errstr_size)
{
	if (def->type == ATTR_CATEGORY) {
		int code = attr_def_code(def, text, strlen(text));
		if (code < 0) {
			snprintf(errstr, errstr_size, "'%.40s' is not one of the values of attribute %s",
			         text, def->name);
			return -1;
		}
		*out = code;
		return 0;
	}
	char *end;
	double v = *text && !isspace((unsigned char)*text) ? strtod(text, &end) : NAN;
	if (isnan(v) || *end || !isfinite(v)) {
		snprintf(errstr, errstr_size, "'%.40s' is not a number (attribute %s is a number)",
		         text, def->name);
		return -1;
	}
	if (v < def->min || v > def->max) {
		snprintf(errstr, errstr_size, "%g is outside the range %g .. %g of attribute %s", v,
		         def->min, def->max, def->name);
		return -1;
	}
	*out = v;
	return 0;
}

/* ---- a customer's values ---- */

size_t attr_record_size(const struct attr_schema *schema)
{
	return sizeof(uint64_t) + schema->count * sizeof(double);
}

void attr_record_store(void *record, const struct attr_schema *schema, const struct attr_vec *av)
{
	memcpy(record, &av->known, sizeof av->known);
	memcpy((unsigned char *)record + sizeof av->known, av->value, schema->count * sizeof(double));
}

void attr_record_load(const void *record, const struct attr_schema *schema, struct attr_vec *av)
{
	memcpy(&av->known, record, sizeof av->known);
	memcpy(av->value, (const unsigned char *)record + sizeof av->known,
	       schema->count * sizeof(double));
}

#define ATTR_ENCODING_VERSION 1

void attr_vec_encode(const struct attr_schema *schema, const struct attr_vec *av,
                     struct rbuf *out)
{
	uint8_t version = ATTR_ENCODING_VERSION;
	rbuf_append(out, &version, 1);
	for (size_t i = 0; i < schema->count; i++) {
		const struct attr_def *def = &schema->defs[i];
		if (!attr_vec_known(av, (int)i))
			continue;
		uint8_t head[2] = {(uint8_t)strlen(def->name), (uint8_t)def->type};
		rbuf_append(out, head, 1);
		rbuf_append(out, def->name, head[0]);
		rbuf_append(out, head + 1, 1);
		if (def->type == ATTR_CATEGORY) {
			const char *text = def->values[(size_t)av->value[i]];
			uint8_t n = (uint8_t)strlen(text);
			rbuf_append(out, &n, 1);
			rbuf_append(out, text, n);
		} else {
			uint64_t bits;
			uint8_t le[8];
			memcpy(&bits, &av->value[i], sizeof bits);
			for (int k = 0; k < 8; k++)
				le[k] = (uint8_t)(bits >> (8 * k));
			rbuf_append(out, le, 8);
		}
	}
}

int attr_vec_decode(const struct attr_schema *schema, const uint8_t *in, size_t len,
                    struct attr_vec *av)
{
	int dropped = 0;
	attr_vec_clear(av);
	if (len < 1 || in[0] != ATTR_ENCODING_VERSION)
		return -1;
	for (size_t at = 1; at < len;) {
		size_t name_len = in[at++];
		if (at + name_len + 1 > len)
			return -1;
		const char *name = (const char *)in + at;
		at += name_len;
		uint8_t type = in[at++];
		double v = 0.0;
		const char *text = NULL;
		size_t text_len = 0;
		if (type == ATTR_CATEGORY) {
			if (at >= len || at + 1 + in[at] > len)
				return -1;
			text_len = in[at];
			text = (const char *)in + at + 1;
			at += 1 + text_len;
		} else if (type == ATTR_NUMBER && at + 8 <= len) {
			uint64_t bits = 0;
			for (int k = 0; k < 8; k++)
				bits |= (uint64_t)in[at + (size_t)k] << (8 * k);
			memcpy(&v, &bits, sizeof v);
			at += 8;
		} else {
			return -1;
		}
		int slot = attr_schema_find(schema, name, name_len);
		const struct attr_def *def = slot >= 0 ? &schema->defs[slot] : NULL;
		if (def && def->type == ATTR_CATEGORY && type == ATTR_CATEGORY) {
			int code = attr_def_code(def, text, text_len);
			v = code;
			def = code >= 0 ? def : NULL;
		} else if (!def || def->type != type || !(v >= def->min && v <= def->max)) {
			def = NULL;
		}
		if (!def) {
			dropped++;
			continue;
		}
		attr_vec_set(av, slot, v);
	}
	return dropped;
}

/* ---- YAML ---- */

size_t attr_utf8_len(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	if (len == 0 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	unsigned cp = s[0] & (0x7fu >> len);
	for (size_t i = 1; i < len; i++)
		cp = cp << 6 | (s[i] & 0x3fu);
	static const unsigned least[5] = {0, 0, 0x80, 0x800, 0x10000};
	if (cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0; /* overlong, beyond Unicode, or a surrogate */
	return len;
}

int attr_value_valid(const char *text)
{
	size_t n = strlen(text);
	if (n == 0 || n > ATTR_VALUE_MAX)
		return 0;
	for (size_t i = 0; i < n;) {
		size_t len = attr_utf8_len((const unsigned char *)text + i, n - i);
		if (len == 0 || (unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			return 0;
		i += len;
	}
	return 1;
}

void attr_yaml_quote(struct rbuf *out, const char *text)
{
	size_t n = strlen(text);
	rbuf_puts(out, "\"");
	for (const unsigned char *p = (const unsigned char *)text, *end = p + n; p < end;) {
		size_t len = attr_utf8_len(p, (size_t)(end - p));
		if (len == 0)
			rbuf_puts(out, "?");
		else if (*p == '"' || *p == '\\')
			rbuf_printf(out, "\\%c", *p);
		else if (*p == '\n')
			rbuf_puts(out, "\\n");
		else if (*p == '\t')
			rbuf_puts(out, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			rbuf_printf(out, "\\x%02x", *p);
		else
			rbuf_append(out, p, len);
		p += len ? len : 1;
	}
	rbuf_puts(out, "\"");
}

/* The len bytes at text, control characters as spaces, invalid UTF-8 as '?'. */
static void one_line_n(struct rbuf *out, const char *text, size_t len)
{
	for (size_t i = 0; i < len;) {
		const unsigned char *p = (const unsigned char *)text + i;
		size_t n = attr_utf8_len(p, len - i);
		if (n == 0)
			rbuf_puts(out, "?");
		else if (*p < 0x20 || *p == 0x7f)
			rbuf_puts(out, " ");
		else
			rbuf_append(out, p, n);
		i += n ? n : 1;
	}
}

void attr_one_line(struct rbuf *out, const char *text)
{
	one_line_n(out, text, strlen(text));
}

void attr_comment_lines(struct rbuf *out, const char *prefix, const char *text, size_t len)
{
	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		rbuf_puts(out, prefix);
		one_line_n(out, p, n);
		rbuf_puts(out, "\n");
		p += n + 1;
	}
}

/* A range bound as YAML: the shortest decimal text that reads back as the same double. */
static void write_bound(struct rbuf *out, double v)
{
	char text[40];
	for (int digits = 6; digits <= 17; digits++) {
		snprintf(text, sizeof text, "%.*g", digits, v);
		if (strtod(text, NULL) == v)
			break;
	}
	rbuf_puts(out, text);
}

void attr_schema_write_yaml(const struct attr_schema *schema, uint64_t which,
                            const char *comment, struct rbuf *out)
{
	if (comment)
		attr_comment_lines(out, "# ", comment, strlen(comment));
	size_t written = 0;
	for (size_t i = 0; i < schema->count; i++)
		written += (which >> i) & 1u;
	rbuf_puts(out, written ? "attributes:\n" : "attributes: []\n");
	for (size_t i = 0; i < schema->count; i++) {
		const struct attr_def *def = &schema->defs[i];
		if (!((which >> i) & 1u))
			continue;
		rbuf_puts(out, "  - name: ");
		attr_yaml_quote(out, def->name);
		rbuf_printf(out, "\n    type: %s\n", def->type == ATTR_NUMBER ? "number" : "category");
		if (def->type == ATTR_NUMBER && (isfinite(def->min) || isfinite(def->max))) {
			rbuf_puts(out, "    range: {");
			if (isfinite(def->min)) {
				rbuf_puts(out, "min: ");
				write_bound(out, def->min);
			}
			if (isfinite(def->max)) {
				rbuf_puts(out, isfinite(def->min) ? ", max: " : "max: ");
				write_bound(out, def->max);
			}
			rbuf_puts(out, "}\n");
		}
		if (def->type == ATTR_CATEGORY) {
			rbuf_puts(out, "    values: [");
			for (size_t v = 0; v < def->n_values; v++) {
				if (v)
					rbuf_puts(out, ", ");
				attr_yaml_quote(out, def->values[v]);
			}
			rbuf_puts(out, "]\n");
		}
		if (def->description[0]) {
			rbuf_puts(out, "    description: ");
			attr_yaml_quote(out, def->description);
			rbuf_puts(out, "\n");
		}
		rbuf_puts(out, "    reason: ");
		attr_yaml_quote(out, def->reason);
		rbuf_puts(out, "\n");
	}
}
