/*
 * policy_check.h - `riskd --check-config`: loads what riskd would load at startup before it
 * connects anywhere (the configuration, the time zone, the theft and credit rules and the
 * scorecards) and says whether it would start, without touching Kafka or PostgreSQL.
 */
#ifndef RISKD_POLICY_CHECK_H
#define RISKD_POLICY_CHECK_H

#include <stdio.h>

#include "../config/config.h"

/*
 * Loads the policy files that cfg names (config_load has already checked the file and the
 * time zone). On success writes one line to out naming the configuration (config_path, NULL:
 * the built-in defaults) and what was loaded, and returns 0; otherwise writes every
 * diagnostic (file:line:col: ...) to err, then one line saying what did not load, and
 * returns 1.
 */
int policy_check(const struct riskd_config *cfg, const char *config_path, FILE *out, FILE *err);

#endif
