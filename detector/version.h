/*
 * version.h - what riskd was built from: the version (`git describe` of the checkout at
 * build time) and the full git commit, passed in by the Makefile. Shown by `riskd --version`,
 * `riskctl --version` and the riskd_build_info metric.
 */
#ifndef RISKD_VERSION_H
#define RISKD_VERSION_H

/* The version, e.g. "906228b" or "v1.2-3-g906228b-dirty"; "unknown" when built outside git.
 * A static string. */
const char *riskd_version(void);

/* The full commit hash; "unknown" when built outside git. A static string. */
const char *riskd_commit(void);

#endif
