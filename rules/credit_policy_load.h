/*
 * credit_policy_load.h - the service policy by grade (scoring/credit_policy.h) read from the
 * `actions` section of the credit rule files (kind: credit, e.g. rules/credit.yaml), on the
 * rule files' YAML reader and diagnostics: every error is `path:line:col: error: ...` with the
 * source line and a caret. The rule loader checks the same section when it loads the file
 * (so `riskctl rules check` reports its errors); this loader builds the table riskd grades
 * with. docs/credit.md documents the format.
 */
#ifndef RISKD_CREDIT_POLICY_LOAD_H
#define RISKD_CREDIT_POLICY_LOAD_H

#include <stddef.h>

#include "../scoring/credit_policy.h"
#include "ruleset.h"

/*
 * Reads the actions of the credit rule files among paths (files or directories, as
 * ruleset_load_paths takes them; files of kind theft are skipped) into *out, zeroed first.
 * At most one file gives `actions`; none at all leaves *out empty (no actions for any grade).
 * Returns 0, or RISKD_ERR_INVALID with every error in diags (*out then empty).
 */
int credit_policy_load_paths(const char *const *paths, size_t n_paths, struct credit_policy *out,
                             struct rules_diags *diags);

#endif
