/*
 * attributes.h - customer attributes: facts about a customer that riskd does not compute but
 * is told (business type, years at the address, ...), declared in a schema so that cards and
 * tools agree on their names, types and values.
 *
 * A schema (struct attr_schema) lists attributes in slot order. Each is a number (optionally
 * within a range) or a category (one of a list of allowed values, coded by their position in
 * that list), with a description and the reason text a card shows when the attribute costs a
 * customer points. rules/attributes_load.h reads a schema from its YAML file
 * (scoring/attributes.yaml) with file:line:col diagnostics; the scorecard fitter builds one
 * from a table's columns and writes it back (attr_schema_write_yaml). A customer's values are
 * a struct attr_vec indexed by slot: a number, or a category's code.
 *
 * Pure code over memory: no I/O. A finished schema is never modified, so it may be shared.
 */
#ifndef RISKD_ATTRIBUTES_H
#define RISKD_ATTRIBUTES_H

#include <stddef.h>
#include <stdint.h>

#include "../config/riskd_base.h"

/* Most attributes in a schema, allowed values of a category, bytes of a name or value. */
#define ATTR_MAX 64
#define ATTR_VALUES_MAX 64
#define ATTR_NAME_MAX 48
#define ATTR_VALUE_MAX 63
/* Longest reason text (as a card's, scoring/scorecard.h) and description, in bytes. */
#define ATTR_REASON_MAX 119
#define ATTR_DESCRIPTION_MAX 400

enum attr_type { ATTR_NUMBER, ATTR_CATEGORY };

/* One declared attribute. Strings are owned by the schema. */
struct attr_def {
	char name[ATTR_NAME_MAX + 1];   /* letters, digits and '_', starting with a letter */
	enum attr_type type;
	double min, max;                /* numbers: the allowed range (-INFINITY / INFINITY when
	                                   open) */
	char **values;                  /* categories: the allowed values, code = index */
	size_t n_values;
	char *description;              /* "" when none */
	char reason[ATTR_REASON_MAX + 1]; /* one line: text of a card reason on this attribute */
};

struct attr_schema {
	struct attr_def defs[ATTR_MAX];
	size_t count;
};

/* One customer's attribute values, by schema slot. */
struct attr_vec {
	double value[ATTR_MAX];         /* number, or category code */
	uint64_t known;                 /* bit per slot: value present */
};

/* A new empty schema (free with attr_schema_free). */
struct attr_schema *attr_schema_new(void);

/* Frees a schema and its strings (NULL is fine). */
void attr_schema_free(struct attr_schema *schema);

/*
 * Adds an attribute named name (copied; attr_name_valid) of type type and returns its slot,
 * or -1 when the schema is full or already has the name. A number starts with an open range,
 * a category with no values (attr_def_add_value), both with no description and the reason
 * "<name>".
 */
int attr_schema_add(struct attr_schema *schema, const char *name, enum attr_type type);

/* Adds an allowed value (len bytes, copied) to category def and returns its code, or -1
 * when def already has ATTR_VALUES_MAX values. A value already listed returns its code. */
int attr_def_add_value(struct attr_def *def, const char *value, size_t len);

/* Sets def's description or reason (copied; the reason is cut to ATTR_REASON_MAX bytes). */
void attr_def_set_description(struct attr_def *def, const char *text);
void attr_def_set_reason(struct attr_def *def, const char *text);

/* Copies text into dst (dst_size bytes) as one line: control characters become spaces, and a
 * text too long is cut at a UTF-8 character boundary. For reason texts, which must load as
 * one line of at most a card's SCORECARD_TEXT_MAX bytes. */
void attr_text_line(char *dst, size_t dst_size, const char *text);

/* The index of value (len bytes) in list[0 .. n), or -1. */
int attr_list_find(char *const *list, size_t n, const char *value, size_t len);

/* Appends a copy of value (len bytes) to the growable *list of *n strings (owned by the
 * caller, freed string by string and then the array); returns its index, or -1 when *n is
 * already max. */
int attr_list_append(char ***list, size_t *n, size_t max, const char *value, size_t len);

/* Slot of the attribute named name (len bytes), or -1. */
int attr_schema_find(const struct attr_schema *schema, const char *name, size_t len);

/* Code of value (len bytes) among category def's values, or -1. */
int attr_def_code(const struct attr_def *def, const char *value, size_t len);

/* Whether name (len bytes) is a valid attribute name: 1 .. ATTR_NAME_MAX bytes of lower-case
 * letters, digits and '_', starting with a letter. */
int attr_name_valid(const char *name, size_t len);

/*
 * The attribute name for a table column: lower case, every run of other characters than
 * letters and digits one '_', none at either end, "a_" in front of a leading digit, cut to
 * ATTR_NAME_MAX bytes ("Duration in month" -> "duration_in_month"). Writes a NUL-terminated
 * name into out (ATTR_NAME_MAX + 1 bytes); returns 0, or -1 when no letter or digit is left.
 */
int attr_name_of_column(const char *column, char *out);

/*
 * Reads the text of one value of def into *out: a number (decimal, finite, within the
 * range) or a category's code. Returns 0, or -1 with errstr saying what is wrong.
 */
int attr_def_parse(const struct attr_def *def, const char *text, double *out, char *errstr,
                   size_t errstr_size);

/* Marks every value missing / sets the value of slot. */
static inline void attr_vec_clear(struct attr_vec *av)
{
	av->known = 0;
}

static inline void attr_vec_set(struct attr_vec *av, int slot, double value)
{
	av->value[slot] = value;
	av->known |= (uint64_t)1 << slot;
}

static inline int attr_vec_known(const struct attr_vec *av, int slot)
{
	return (int)((av->known >> slot) & 1u);
}

/* ---- a customer's values beside its state (the detector's side table) ---- */

/* Bytes of one customer's record of a schema's values: the known bits and a double per
 * attribute (8 + 8 x count). */
size_t attr_record_size(const struct attr_schema *schema);

/* Copies av into / out of a record of attr_record_size(schema) bytes. */
void attr_record_store(void *record, const struct attr_schema *schema, const struct attr_vec *av);
void attr_record_load(const void *record, const struct attr_schema *schema, struct attr_vec *av);

/*
 * Appends av's known values to out, each by name with its type and value (a number, or a
 * category's value as text), so that the bytes read back (attr_vec_decode) under an edited
 * schema: a snapshot of a customer's attributes.
 */
void attr_vec_encode(const struct attr_schema *schema, const struct attr_vec *av,
                     struct rbuf *out);

/*
 * Reads bytes written by attr_vec_encode into *av by the slots of schema: an attribute the
 * schema no longer declares (or whose type or value it no longer allows) is left missing.
 * Returns how many values were left out that way, or -1 when the bytes are not an encoding.
 */
int attr_vec_decode(const struct attr_schema *schema, const uint8_t *in, size_t len,
                    struct attr_vec *av);

/*
 * Appends the YAML of the schema's attributes whose bit is set in which (bit per slot; all:
 * UINT64_MAX) to out, in the format rules/attributes_load.h reads. Every text is written as
 * a double-quoted scalar with escapes, so any name, value, description or reason loads back
 * as it was. comment (may be NULL) becomes the file's header comment, one '#' line per line,
 * with control characters shown as spaces.
 */
void attr_schema_write_yaml(const struct attr_schema *schema, uint64_t which,
                            const char *comment, struct rbuf *out);

/* Length of the valid UTF-8 sequence at s (n bytes left, n > 0), or 0 when it is not one. */
size_t attr_utf8_len(const unsigned char *s, size_t n);

/* Whether text can be a category value: 1 .. ATTR_VALUE_MAX bytes of valid UTF-8 without
 * control characters. */
int attr_value_valid(const char *text);

/* Appends text as a YAML double-quoted scalar (with \" \\ \n \t \xNN escapes; a byte that is
 * not valid UTF-8, which YAML cannot hold, is written as '?'). */
void attr_yaml_quote(struct rbuf *out, const char *text);

/* Appends text to out with every control character (and DEL) replaced by a space and every
 * byte that is not valid UTF-8 by '?': for comments and one-line texts. */
void attr_one_line(struct rbuf *out, const char *text);

/* Appends each line of the len bytes at text (split at '\n') to out as prefix, the line
 * (attr_one_line) and a line break: outside text kept inside YAML comment lines. */
void attr_comment_lines(struct rbuf *out, const char *prefix, const char *text, size_t len);

#endif
