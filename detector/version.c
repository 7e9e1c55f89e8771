/*
 * version.c - the build's version and commit. The Makefile compiles this one file with
 * -DRISKD_VERSION and -DRISKD_COMMIT and rebuilds it whenever either changes.
 */
#include "version.h"

#ifndef RISKD_VERSION
#define RISKD_VERSION "unknown"
#endif
#ifndef RISKD_COMMIT
#define RISKD_COMMIT "unknown"
#endif

const char *riskd_version(void)
{
	return RISKD_VERSION;
}

const char *riskd_commit(void)
{
	return RISKD_COMMIT;
}
