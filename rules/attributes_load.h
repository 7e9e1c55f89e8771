/*
 * attributes_load.h - customer attribute schema files (scoring/attributes.yaml) read into the
 * plain schema of scoring/attributes.h, on the YAML reader and diagnostics of the rule files:
 * every error is reported as `path:line:col: error: ...` with the source line and a caret
 * (struct rules_diags), and a file with any error yields nothing. docs/credit.md documents
 * the format.
 *
 * Checks: keys at every level (with suggestions); names (lower-case letters, digits and '_',
 * unique, not the name of a feature riskd computes); type number or category; a category's
 * values (a non-empty list of distinct one-line texts, at most ATTR_VALUES_MAX); a number's
 * optional range (min below max); a one-line reason text of at most ATTR_REASON_MAX bytes.
 */
#ifndef RISKD_ATTRIBUTES_LOAD_H
#define RISKD_ATTRIBUTES_LOAD_H

#include <stddef.h>

#include "../scoring/attributes.h"
#include "ruleset.h"

/*
 * Loads a schema from a file (attributes_load_path) or from memory (attributes_load_text:
 * path only names it in diagnostics; text need not be NUL-terminated). Every error is
 * appended to diags. Returns 0 and *out (free with attr_schema_free), or RISKD_ERR_INVALID
 * with *out NULL.
 */
int attributes_load_path(const char *path, struct attr_schema **out, struct rules_diags *diags);
int attributes_load_text(const char *path, const char *text, size_t len,
                         struct attr_schema **out, struct rules_diags *diags);

#endif
