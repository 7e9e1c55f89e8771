/*
 * scorecard_load.h - credit scorecard files (scoring/cards/, one YAML file a card) read into
 * the plain cards of scoring/scorecard.h, on the same YAML reader and diagnostics as rule
 * files: every error is reported as `path:line:col: error: ...` with the source line and a
 * caret (struct rules_diags), and a file with any error yields nothing. docs/credit.md
 * documents the format.
 *
 * Checks: keys at every level (with suggestions), the card's name, version and segments,
 * features against the registry, bins that cover every value exactly once (numeric bins
 * follow on from minus to plus infinity; boolean and symbol bins list each value once) plus
 * exactly one bin for a missing value, points and cut-offs in range and in order, reason
 * codes unique. A set of cards additionally has unique names, each segment on at most one
 * card and at most one default card.
 */
#ifndef RISKD_SCORECARD_LOAD_H
#define RISKD_SCORECARD_LOAD_H

#include <stddef.h>

#include "../config/riskd_base.h"
#include "../scoring/scorecard.h"
#include "ruleset.h"

/*
 * Loads one card from a file (scorecard_load_path) or from memory (scorecard_load_text: path
 * is only used in diagnostics; text need not be NUL-terminated). Every error is appended to
 * diags (at most RULES_FILE_ERRORS_MAX, then one line saying the rest were cut), sorted by
 * line and column. Returns 0 and *out (free with scorecard_free), or RISKD_ERR_INVALID with
 * *out NULL. The file is checked against the feature registry.
 */
int scorecard_load_path(const char *path, struct scorecard **out, struct rules_diags *diags);
int scorecard_load_text(const char *path, const char *text, size_t len, struct scorecard **out,
                        struct rules_diags *diags);

/*
 * scorecard_load_text with the diagnostics rendered: on failure their text is appended to
 * why. The shape of scorecard_fit_opts.load_card (scoring/scorecard_fit.h).
 */
int scorecard_load_yaml(const char *path, const char *text, size_t len, struct scorecard **out,
                        struct rbuf *why);

/*
 * Loads every card of paths (files, or directories whose *.yaml / *.yml files are all cards,
 * in name order: rules/policy_files.h) into one set. Besides each file's own checks: at most
 * SCORECARD_CARDS_MAX cards, card names unique, no segment listed by two cards, at most one
 * default card. Returns 0 and *out (free with scorecard_set_free), or RISKD_ERR_INVALID with
 * every error in diags and *out NULL.
 */
int scorecard_set_load_paths(const char *const *paths, size_t n_paths,
                             struct scorecard_set **out, struct rules_diags *diags);

#endif
