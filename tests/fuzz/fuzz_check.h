/*
 * fuzz_check.h - the invariant check shared by riskd's libFuzzer targets (tests/fuzz/).
 */
#ifndef RISKD_FUZZ_CHECK_H
#define RISKD_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

/* Aborts with the failed condition and its place, so libFuzzer keeps the input as a crash. */
#define CHECK(cond)                                                                           \
	do {                                                                                      \
		if (!(cond)) {                                                                        \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);     \
			abort();                                                                          \
		}                                                                                     \
	} while (0)

#endif
